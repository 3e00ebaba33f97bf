"""Plots: Figures built with the object API, with the expected axes and artists."""

from __future__ import annotations

import inspect
import re
import sys

import numpy as np
import pytest

import tierplan as tp

pytest.importorskip("matplotlib")
from matplotlib.figure import Figure

from tierplan import plots


@pytest.fixture(scope="module")
def accounts():
    return tp.synthetic_accounts(n=300, seed=8)


@pytest.fixture(scope="module")
def team():
    return tp.Team.from_headcount({"tier1": 2, "tier2": 1})


@pytest.fixture(scope="module")
def plan(accounts, team):
    return tp.plan(accounts, team)


def test_quadrant_draws_every_account_and_the_cuts(plan):
    fig = plots.quadrant(plan)
    assert isinstance(fig, Figure)
    (ax,) = fig.axes
    counts = [len(c.get_offsets()) for c in ax.collections]
    assert sum(counts) == len(plan.assignments)
    assert counts == plan.tiers["accounts"].tolist()
    assert ax.get_xscale() == ax.get_yscale() == "log"
    dashed = [line for line in ax.get_lines() if line.get_linestyle() == "--"]
    assert len(dashed) == 2
    cut = plan.cut_points.query("upper_tier == 'tier1' and scope == 'all'")["arr_cut"].item()
    xs = {float(np.asarray(line.get_xdata())[0]) for line in dashed}
    ys = {float(np.asarray(line.get_ydata())[0]) for line in dashed}
    assert cut in xs
    assert plan.quadrants.attrs["cuts"].whitespace in ys
    texts = {t.get_text() for t in ax.texts}
    assert {"invest", "protect", "grow", "digital"} <= texts


def test_books_bars_per_csm(plan):
    fig = plots.books(plan)
    assert isinstance(fig, Figure)
    ax_accounts, ax_hours = fig.axes
    n = len(plan.books)
    assert len(ax_accounts.patches) == n and len(ax_hours.patches) == n
    heights = [p.get_height() for p in ax_accounts.patches]
    assert heights == plan.books["accounts"].astype(float).tolist()
    hours = [p.get_height() for p in ax_hours.patches]
    assert hours == pytest.approx(plan.books["attention_hours"].tolist())


def test_compare_side_by_side(plan, accounts, team):
    base = tp.baseline_plan(accounts, team)
    fig = plots.compare(plan, base)
    ax_impact, ax_accounts = fig.axes
    n_tiers = len(plan.model.tiers)
    assert len(ax_impact.patches) == len(ax_accounts.patches) == 2 * n_tiers
    heights = [p.get_height() for p in ax_impact.patches]
    assert heights[:n_tiers] == pytest.approx(plan.tiers["expected_impact"].tolist())
    assert heights[n_tiers:] == pytest.approx(base.tiers["expected_impact"].tolist())


def test_infeasible_plan_still_plots(accounts):
    changed = accounts.copy()
    changed["pinned_tier"] = None
    changed.loc[:49, "pinned_tier"] = "tier1"
    p = tp.plan(changed, tp.Team.from_headcount({"tier1": 2}))
    fig = plots.quadrant(p)
    assert sum(len(c.get_offsets()) for c in fig.axes[0].collections) == len(changed)


def test_no_pyplot_and_missing_matplotlib(plan, monkeypatch):
    source = inspect.getsource(plots)
    assert not re.search(r"import\s+matplotlib\.pyplot|from\s+matplotlib\s+import\s+pyplot", source)
    assert ".show(" not in source
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(tp.ConfigError, match=r"tierplan\[plot\]"):
        plots.quadrant(plan)
