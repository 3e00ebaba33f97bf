"""Cut points: the best single threshold, checked against brute force."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tierplan as tp
from tierplan.cutpoints import best_threshold


def misplaced(score, upper, c):
    return int(((score >= c) != upper).sum())


@given(st.lists(st.tuples(st.integers(0, 20).map(float), st.booleans()), min_size=1, max_size=40))
def test_best_threshold_is_best(rows):
    score = np.array([r[0] for r in rows])
    upper = np.array([r[1] for r in rows])
    c, bad = best_threshold(score, upper)
    assert bad == misplaced(score, upper, c)
    candidates = [*np.unique(score).tolist(), np.inf]
    assert bad == min(misplaced(score, upper, x) for x in candidates)


def test_separable_tiers_give_exact_rule():
    score = np.array([5.0, 9.0, 1.0, 7.0])
    upper = score >= 7
    assert best_threshold(score, upper) == (7.0, 0)


def test_plan_cut_points_follow_capacity():
    accounts = tp.synthetic_accounts(n=2_000, seed=9)
    small = tp.plan(accounts, tp.Team.from_headcount({"tier1": 2, "tier2": 2}))
    large = tp.plan(accounts, tp.Team.from_headcount({"tier1": 8, "tier2": 2}))
    cut = lambda p: p.cut_points.query("upper_tier == 'tier1' and scope == 'all'")  # noqa: E731
    # More named CSMs cover more accounts, so the tier-1 ARR cut comes down.
    assert cut(large)["arr_cut"].item() < cut(small)["arr_cut"].item()
    row = cut(large).iloc[0]
    assert row["accounts_upper"] == 160
    assert 0 <= row["arr_misplaced"] <= 2_000


def test_baseline_is_an_exact_arr_rule():
    accounts = tp.synthetic_accounts(n=1_000, seed=2)
    accounts["arr"] += np.arange(len(accounts)) * 1e-3  # no ties at the cuts
    base = tp.baseline_plan(accounts, tp.Team.from_headcount({"tier1": 2, "tier2": 1}))
    cuts = base.cut_points.query("scope == 'all'")
    assert (cuts["arr_misplaced"] == 0).all()
    top = accounts.nlargest(40, "arr")["account_id"]
    tiers = base.assignments.set_index("account_id").loc[top, "tier"]
    assert (tiers == "tier1").all()
    assert base.bound != base.bound  # a rule has no bound (NaN)
    assert base.objective == pytest.approx(base.assignments["expected_impact"].sum())
