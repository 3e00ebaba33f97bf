"""Finance sizing: size_team against brute force, frontier, executors, Monte Carlo, CLI."""

from __future__ import annotations

import itertools
import math
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tierplan as tp
from tierplan.cli import main, parse_amount
from tierplan.sizing import (
    Sizing,
    frontier,
    headcount_grid,
    plot_frontier,
    simulate_outcomes,
    size_team,
    team_from_headcount,
)

N = 400
TWO = {"tier1": 180_000, "tier2": 150_000}
THREE = {"tier1": 180_000, "tier2": 150_000, "tier1.finance": 185_000}
CHEAP_SPECIALISTS = {"tier1": 180_000, "tier2": 150_000, "tier1.finance": 150_000}


@pytest.fixture(scope="module")
def small() -> pd.DataFrame:
    return tp.synthetic_accounts(n=N, seed=3)


def outcomes(plan: tp.Plan) -> tuple[float, float]:
    """Expected expansion and expected NRR of a plan, from its own outcomes."""
    out = plan.outcomes
    expansion = float(out["expected_expansion"].sum())
    retained = float(out["expected_retained_arr"].sum())
    return expansion, (retained + expansion) / float(plan.accounts_data.arr.sum())


def meets(plan: tp.Plan, target_expansion: float | None, target_nrr: float | None) -> bool:
    if not plan.feasible:
        return False
    expansion, nrr = outcomes(plan)
    ok = target_expansion is None or expansion >= target_expansion
    return ok and (target_nrr is None or nrr >= target_nrr)


def pool_counts(plan: tp.Plan) -> dict[str, int]:
    roster = plan.roster
    keys = [t if not v else f"{t}.{v}" for t, v in zip(roster["tier"], roster["vertical"])]
    return dict(pd.Series(keys, dtype=object).value_counts().items())


def cheaper_that_meet(accounts, sizing: Sizing, lower: dict[str, int] | None = None, **options):
    """Brute force: every headcount in the box that costs less than the answer and meets it."""
    keys = list(sizing.costs)
    lower = lower or {}
    ranges = [range(lower.get(k, 0), sizing.max_headcount[k] + 1) for k in keys]
    found, checked = [], 0
    for counts in itertools.product(*ranges):
        cost = sum(sizing.costs[k] * n for k, n in zip(keys, counts))
        if cost >= sizing.cost:
            continue
        checked += 1
        plan = tp.plan(accounts, team_from_headcount(dict(zip(keys, counts))), **options)
        if meets(plan, sizing.target_expansion, sizing.target_nrr):
            found.append(counts)
    return found, checked


# -- size_team ----------------------------------------------------------------
@pytest.mark.parametrize(
    ("costs", "target", "options"),
    [
        (TWO, {"target_expansion": 800_000}, {}),
        (THREE, {"target_expansion": 750_000}, {"require_specialist": True}),
        (CHEAP_SPECIALISTS, {"target_nrr": 0.93}, {}),
        (THREE, {"target_expansion": 600_000, "target_nrr": 0.92}, {}),
    ],
    ids=["two-pools", "specialists-required", "cheap-specialists-nrr", "both-targets"],
)
def test_answer_meets_target_and_nothing_cheaper_does(small, costs, target, options):
    sizing = size_team(small, costs=costs, **target, **options)
    assert sizing.feasible and sizing.optimal
    assert isinstance(sizing.plan, tp.Plan)
    assert meets(sizing.plan, target.get("target_expansion"), target.get("target_nrr"))
    expansion, nrr = outcomes(sizing.plan)
    assert sizing.expected_expansion == pytest.approx(expansion, rel=1e-12)
    assert sizing.expected_nrr == pytest.approx(nrr, rel=1e-12)
    assert sizing.cost == pytest.approx(sum(costs[k] * n for k, n in sizing.headcount.items()))
    assert set(sizing.headcount) == set(costs)
    # The plan is the plan at that headcount.
    assert pool_counts(sizing.plan) == {k: n for k, n in sizing.headcount.items() if n}
    found, checked = cheaper_that_meet(small, sizing, **options)
    assert checked > 0
    assert found == [], f"cheaper headcounts meet the target: {found}"


def test_current_team_hires_and_cuts(small):
    current = {"tier1": 4, "tier2": 2}
    sizing = size_team(small, target_expansion=800_000, costs=TWO, current=current)
    assert sizing.feasible and sizing.optimal
    assert sizing.current == current
    assert sizing.hires == {k: sizing.headcount[k] - current[k] for k in TWO}
    assert all(h >= 0 for h in sizing.hires.values())
    assert sizing.hire_cost == pytest.approx(sum(TWO[k] * h for k, h in sizing.hires.items()))
    found, _ = cheaper_that_meet(small, sizing, lower=current)
    assert found == []

    # A team that already meets the target needs no hires ...
    done = size_team(small, target_expansion=500_000, costs=TWO, current=current)
    assert done.headcount == current and done.hires == {"tier1": 0, "tier2": 0}
    assert "already meets" in done.reason
    # ... and, when cuts are allowed, may shrink.
    cut = size_team(small, target_expansion=500_000, costs=TWO, current=current, allow_cuts=True)
    assert cut.cost < done.cost
    assert min(cut.hires.values()) < 0
    assert meets(cut.plan, 500_000, None)


def test_confidence_target_holds_in_fresh_simulations(small):
    target = 450_000
    sizing = size_team(
        small, target_expansion=target, costs=TWO, confidence=0.8, samples=1_000, seed=0
    )
    assert sizing.feasible and sizing.optimal
    assert sizing.confidence == 0.8 and sizing.samples == 1_000
    assert sizing.probability is not None and sizing.probability >= 0.8
    # Fresh simulated years with other seeds meet it at the stated rate, up to
    # sampling noise (and the selection of the cheapest team at the edge).
    for seed in (101, 202):
        sims = simulate_outcomes(sizing.plan, samples=4_000, seed=seed)
        assert (sims["expansion"] >= target).mean() >= 0.8 - 0.05
    # Expansion is lumpy (a few large whitespace deals), so 80% confidence
    # costs more than meeting the target in expectation.
    expected = size_team(small, target_expansion=target, costs=TWO)
    assert sizing.cost > expected.cost
    # One fewer CSM in the cheapest pool that has one misses the stated rate.
    for key in sorted(TWO, key=TWO.get):
        if sizing.headcount[key]:
            fewer = dict(sizing.headcount, **{key: sizing.headcount[key] - 1})
            plan = tp.plan(small, team_from_headcount(fewer))
            sims = simulate_outcomes(plan, samples=1_000, seed=0)
            assert (sims["expansion"] >= target).mean() < 0.8
            break


def test_simulate_outcomes(small):
    plan = tp.plan(small, team_from_headcount({"tier1": 4, "tier2": 1}))
    sims = simulate_outcomes(plan, samples=3_000, seed=5)
    assert list(sims.columns) == ["retained_arr", "expansion", "nrr"]
    expansion, nrr = outcomes(plan)
    retained = float(plan.outcomes["expected_retained_arr"].sum())
    assert sims["retained_arr"].mean() == pytest.approx(retained, rel=0.01)
    assert sims["expansion"].mean() == pytest.approx(expansion, rel=0.1)
    assert sims["nrr"].mean() == pytest.approx(nrr, rel=0.01)
    # Seeded; sample k does not depend on how many samples are drawn.
    again = simulate_outcomes(plan, samples=100, seed=5)
    pd.testing.assert_frame_equal(again, sims.iloc[:100])
    other = simulate_outcomes(plan, samples=100, seed=6)
    assert not np.array_equal(other["expansion"], again["expansion"])


def test_unreachable_target(small):
    sizing = size_team(small, target_expansion=5_000_000, costs=THREE)
    assert not sizing.feasible and not sizing.optimal
    assert "out of reach" in sizing.reason
    assert sizing.headcount == sizing.max_headcount
    top = tp.plan(small, team_from_headcount(sizing.max_headcount))
    assert sizing.expected_expansion == pytest.approx(outcomes(top)[0])
    assert sizing.expected_expansion < 5_000_000
    assert "$5.00M" in sizing.reason and "out of reach" in sizing.summary()
    # More CSMs than the default maximum add nothing: that is the most reachable.
    more = {k: n + 3 for k, n in sizing.max_headcount.items()}
    assert outcomes(tp.plan(small, team_from_headcount(more)))[1] == pytest.approx(
        sizing.expected_nrr, rel=1e-9
    )
    # A lower explicit maximum and a probability target can be out of reach too.
    capped = size_team(small, target_expansion=800_000, costs=TWO, max_headcount=2)
    assert not capped.feasible and capped.headcount == {"tier1": 2, "tier2": 2}
    sure = size_team(small, target_nrr=0.93, costs=TWO, confidence=0.99, samples=200)
    assert not sure.feasible
    assert sure.probability is not None and sure.probability < 0.99
    assert "simulated years" in sure.reason


def test_sizing_reads_well(small):
    sizing = size_team(small, target_expansion=800_000, costs=THREE, current={"tier1": 4})
    text = repr(sizing)
    assert text.startswith("Sizing(feasible") and "tier1=" in text and "hires" in text
    summary = sizing.summary()
    for words in ("Team sizing", "tier1.finance", "next hire", "expected NRR", "total"):
        assert words in summary
    # Specialists costing more than generalists are not hired unless required.
    assert sizing.headcount["tier1.finance"] == 0
    assert any("tier1.finance kept at 0" in note for note in sizing.notes)
    assert set(sizing.marginal_value) == set(THREE)
    assert sizing.marginal_value["tier1"] > 0
    assert list(sizing.marginal["pool"]) == list(THREE)
    with pytest.raises(AttributeError):
        sizing.cost = 0.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"costs": TWO}, "target"),
        ({"costs": {}, "target_expansion": 1.0}, "costs"),
        ({"costs": {"tier1": -5}, "target_expansion": 1.0}, "positive"),
        ({"costs": {"tier3": 1e5}, "target_expansion": 1.0}, "unknown pool"),
        ({"costs": {"tier9": 1e5}, "target_expansion": 1.0}, "unknown pool"),
        ({"costs": TWO, "target_expansion": 1.0, "confidence": 1.5}, "confidence"),
        ({"costs": TWO, "target_expansion": 1.0, "current": {"tier1.telco": 1}}, "no cost"),
        (
            {"costs": TWO, "target_expansion": 1.0, "current": {"tier1": 3}, "max_headcount": 2},
            "below",
        ),
        ({"costs": TWO, "target_expansion": 1.0, "team": None}, "set by the sizing"),
    ],
)
def test_size_team_rejects_bad_options(small, kwargs, match):
    with pytest.raises(tp.TierplanError, match=match):
        size_team(small, **kwargs)


# -- frontier -----------------------------------------------------------------
def test_frontier_is_monotone_in_headcount(small):
    grid = headcount_grid({"tier1": range(0, 6), "tier2": range(0, 3), "tier1.finance": [0, 1]})
    table = frontier(small, grid, marginal=False, costs=THREE)
    assert len(table) == len(grid)
    assert (table["status"] == "optimal").all()
    assert list(table["scenario"]) == list(range(len(grid)))
    keys = list(THREE)
    by_counts = table.set_index(keys)
    for counts, row in by_counts.iterrows():
        for p, key in enumerate(keys):
            more = tuple(n + (q == p) for q, n in enumerate(counts))
            if more not in by_counts.index:
                continue
            bigger = by_counts.loc[more]
            tol = 1e-9 * max(1.0, abs(row["expected_impact"]))
            assert bigger["expected_impact"] >= row["expected_impact"] - tol, (counts, key)
            assert bigger["expected_nrr"] >= row["expected_nrr"] - 1e-12, (counts, key)
            assert bigger["expected_expansion"] >= row["expected_expansion"] - 1e-6, (counts, key)


def test_frontier_columns_costs_and_marginals(small):
    grid = [
        {"tier1": 2, "tier2": 1},
        {"tier1": 3, "tier2": 1, "tier1.finance": 1},
        tp.Team.from_headcount({"tier1": 3, "tier2": 1}),
    ]
    table = frontier(small, grid, costs={"tier1": 200_000})
    assert list(table.columns) == [
        "scenario",
        "tier1",
        "tier2",
        "tier1.finance",
        "csms",
        "cost",
        "expected_expansion",
        "expected_nrr",
        "expected_impact",
        "status",
        "marginal_tier1",
        "marginal_tier2",
        "marginal_tier1.finance",
    ]
    assert table[["tier1", "tier2", "tier1.finance"]].to_numpy().tolist() == [
        [2, 1, 0],
        [3, 1, 1],
        [3, 1, 0],
    ]
    assert table["csms"].tolist() == [3, 5, 4]
    # tier1 at the given cost; other pools at the tier's csm_cost.
    model = tp.CoverageModel()
    c2, c1 = model.tier("tier2").csm_cost, model.tier("tier1").csm_cost
    assert table["cost"].tolist() == [400_000 + c2, 600_000 + c2 + c1, 600_000 + c2]
    # Marginal value of the last hire = objective drop without that CSM.
    reference = tp.plan(small, team_from_headcount({"tier1": 2, "tier2": 1})).objective
    assert table.loc[2, "marginal_tier1"] == pytest.approx(
        table.loc[2, "expected_impact"]
        - frontier(small, [{"tier1": 2, "tier2": 1}], marginal=False).loc[0, "expected_impact"]
    )
    assert table.loc[0, "expected_impact"] == pytest.approx(reference)
    assert math.isnan(table.loc[0, "marginal_tier1.finance"])  # empty pool
    assert (table[["marginal_tier1", "marginal_tier2"]] > 0).all().all()


def test_frontier_marginal_is_inf_when_the_plan_needs_the_csm(small):
    pinned = small.assign(pinned_tier=None)
    pinned.loc[:25, "pinned_tier"] = "tier1"  # 26 pinned: two tier-1 books are needed
    table = frontier(pinned, [{"tier1": 2, "tier2": 1}, {"tier1": 1}])
    assert table.loc[0, "marginal_tier1"] == math.inf
    assert table.loc[1, "status"] == "infeasible"
    assert math.isnan(table.loc[1, "expected_expansion"])


def test_frontier_rejects_bad_specs(small):
    with pytest.raises(tp.ConfigError, match="unknown pool"):
        frontier(small, [{"tier7": 1}])
    with pytest.raises(tp.ConfigError, match="whole number"):
        frontier(small, [{"tier1": -1}])
    with pytest.raises(tp.ConfigError, match="expected a headcount dict"):
        frontier(small, ["tier1=3"])
    with pytest.raises(tp.ConfigError, match="set by the sizing"):
        frontier(small, [{"tier1": 1}], name="x")


def test_frontier_progress_bar(small, capsys):
    frontier(small, [{"tier1": 1}, {"tier1": 2}], marginal=False, progress=True)
    assert "frontier" in capsys.readouterr().err
    frontier(small, [{"tier1": 1}], marginal=False)  # stderr is not a terminal here
    assert capsys.readouterr().err == ""


def test_plot_frontier(small):
    from matplotlib.figure import Figure

    grid = headcount_grid({"tier1": [1, 2, 3], "tier2": [0, 1]})
    table = frontier(small, grid, marginal=False, costs=TWO)
    fig = plot_frontier(table)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "cost per year"
    assert ax.get_ylabel() == "expected expansion"
    assert len(ax.lines) == 1 and len(ax.collections) == 1
    assert len(ax.texts) >= 1  # efficient points are labelled
    assert isinstance(plot_frontier(table, y="expected_nrr", annotate=False), Figure)
    with pytest.raises(tp.ConfigError, match="no column"):
        plot_frontier(table, y="nope")


# -- executors ----------------------------------------------------------------
GRID = [{"tier1": 2, "tier2": 1}, {"tier1": 3, "tier2": 1, "tier1.finance": 1}, {"tier1": 4}]


@pytest.fixture(scope="module")
def in_process(small) -> pd.DataFrame:
    return frontier(small, GRID, costs=THREE)


def test_frontier_identical_on_a_process_pool(small, in_process):
    with ProcessPoolExecutor(2) as pool:
        table = frontier(small, GRID, costs=THREE, executor=pool)
    pd.testing.assert_frame_equal(table, in_process, check_exact=True)


@pytest.fixture(scope="module")
def dask_client():
    distributed = pytest.importorskip("dask.distributed")
    cluster = distributed.LocalCluster(
        n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None
    )
    client = distributed.Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def test_frontier_identical_on_dask(small, in_process, dask_client):
    table = frontier(small, GRID, costs=THREE, executor=dask_client.get_executor())
    pd.testing.assert_frame_equal(table, in_process, check_exact=True)


# -- command line ---------------------------------------------------------------
def test_parse_amount():
    assert parse_amount("2.5M") == 2_500_000
    assert parse_amount("180k") == 180_000
    assert parse_amount("$1,250,000") == 1_250_000
    assert parse_amount("1.2b") == 1_200_000_000
    assert parse_amount(".5K") == 500
    with pytest.raises(tp.ConfigError, match="cannot read"):
        parse_amount("lots")


@pytest.fixture
def accounts_csv(tmp_path: Path, small) -> Path:
    path = tmp_path / "accounts.csv"
    small.to_csv(path, index=False)
    return path


def test_cli_size_prints_plan_and_writes_frontier(tmp_path, accounts_csv, capsys):
    out = tmp_path / "frontier.csv"
    code = main(
        [
            "size",
            str(accounts_csv),
            "--target-expansion",
            "800k",
            "--cost",
            "tier1=180k",
            "--cost",
            "tier2=150k",
            "--current",
            "tier1=4,tier2=2",
            "-o",
            str(out),
        ]
    )
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Team sizing" in captured.out
    assert "tier1" in captured.out and "hires" in captured.out
    assert "written to" in captured.out
    table = pd.read_csv(out)
    assert {"tier1", "tier2", "cost", "expected_expansion", "marginal_tier1"} <= set(table.columns)
    answer = size_team(
        accounts_csv, target_expansion=800_000, costs=TWO, current={"tier1": 4, "tier2": 2}
    )
    assert (
        (table["tier1"] == answer.headcount["tier1"])
        & (table["tier2"] == answer.headcount["tier2"])
    ).any()
    assert len(table) == 9  # a 3 × 3 grid around the answer


def test_cli_size_confidence_unreachable_and_errors(accounts_csv, capsys):
    code = main(
        ["size", str(accounts_csv), "--target-nrr", "99%", "--cost", "tier1=180k,tier2=150k"]
    )
    assert code == 3
    assert "out of reach" in capsys.readouterr().out
    code = main(
        [
            "size",
            str(accounts_csv),
            "--target-expansion",
            "450k",
            "--cost",
            "tier1=180k,tier2=150k",
            "--confidence",
            "0.8",
            "--samples",
            "300",
        ]
    )
    assert code == 0
    assert "probability of meeting the target" in capsys.readouterr().out
    assert main(["size", str(accounts_csv), "--cost", "tier1=180k"]) == 1
    assert "--target-expansion" in capsys.readouterr().err
    assert main(["size", str(accounts_csv), "--target-expansion", "1M", "--cost", "tier1"]) == 1
    assert "pool=value" in capsys.readouterr().err
    assert main(["size", str(accounts_csv), "--target-nrr", "105", "--cost", "tier1=1k"]) == 1
    assert "percentage" in capsys.readouterr().err
