"""Hours capacity and coverage budget: side constraints on the pool program."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tierplan as tp
from tierplan.formulation import build_pool_program
from tierplan.mip import relative_gap, solve_program
from tierplan.planner import _prepare, _side_rows


@pytest.fixture(scope="module")
def case():
    accounts = tp.synthetic_accounts(n=600, seed=21)
    team = tp.Team.from_roster(
        pd.DataFrame(
            {
                "csm_id": ["a", "b", "c", "d"],
                "tier": ["tier1", "tier1", "tier2", "tier2"],
                "vertical": ["", "finance", "", ""],
                "hours": [900.0, 700.0, 1000.0, 600.0],
            }
        )
    )
    return accounts, team


def workload(plan: tp.Plan) -> pd.Series:
    model = plan.model
    hours = {t.name: t.attention_hours for t in model.tiers}
    a = plan.assignments
    complexity = plan.accounts_data.complexity[np.argsort(plan.accounts_data.order)]
    return a["tier"].map(hours) * (1 + complexity)


def test_hours_are_respected_per_csm(case):
    accounts, team = case
    free = tp.plan(accounts, team)
    plan = tp.plan(accounts, team, hours=True, solver="highs")
    assert plan.status == "optimal"
    a = plan.assignments
    load = workload(plan).groupby(a["csm_id"]).sum()
    hours = team.roster.set_index("csm_id")["hours"]
    assert (load <= hours.loc[load.index] + 1e-6).all()
    # attention_hours reports the stretched hours the CSM spends.
    assert np.allclose(a["attention_hours"], workload(plan))
    books = plan.books.set_index("csm_id")
    assert np.allclose(books.loc[load.index, "attention_hours"], load)
    assert (books["accounts"] <= books["max_accounts"]).all()
    # Hours bind here, so covering fewer accounts costs expected impact.
    assert plan.objective < free.objective
    assert (a["tier"] == "tier1").sum() < (free.assignments["tier"] == "tier1").sum()


def test_hours_plan_is_within_its_gap_of_the_true_optimum(case):
    accounts, team = case
    plan = tp.plan(accounts, team, hours=True, solver="highs", mip_gap=1e-4)
    prep = _prepare(accounts, team, None, None, None)
    side = _side_rows(prep, True, None)
    values = np.where(prep.eligible, prep.value[:, prep.pools.tier], 0.0)
    built = build_pool_program(values, prep.eligible, prep.pools.capacity, prep.pools.minimum, side)
    exact = solve_program(built.program, solver="highs", mip_gap=1e-9)
    assert exact.status == "optimal"
    # The pool program with pooled hours is a relaxation of per-CSM hours:
    # its optimum bounds every plan from above.
    assert plan.objective <= exact.objective * (1 + 1e-9)
    assert plan.objective >= exact.objective * (1 - 1e-4) - 1e-6
    assert plan.bound >= exact.objective * (1 - 1e-9)
    assert plan.gap <= 1e-4


def test_budget_is_respected(case):
    accounts, team = case
    free = tp.plan(accounts, team)
    cost = {t.name: t.account_cost for t in free.model.tiers}
    spend = free.assignments["tier"].map(cost).sum()
    budget = 0.8 * spend
    plan = tp.plan(accounts, team, budget=budget, solver="highs")
    assert plan.status in {"optimal", "time_limit"}
    assert plan.assignments["tier"].map(cost).sum() <= budget + 1e-6
    assert plan.objective <= free.objective
    assert "coverage budget" in plan.solver_info["why"]


def test_impossible_budget_is_diagnosed(case):
    accounts, team = case
    plan = tp.plan(accounts, team, budget=100.0)
    assert plan.status == "infeasible"
    assert "coverage budget $100" in plan.diagnosis[0]


def test_bad_budget_is_rejected(case):
    accounts, team = case
    with pytest.raises(tp.ConfigError, match="budget"):
        tp.plan(accounts, team, budget=-5)


def test_pools_full_to_the_hour_get_books_that_keep_every_csm_within_their_hours():
    # Six tier-1 CSMs whose pool hours fit in total, not book by book: the
    # pool program fills the pool to the hour, so its accounts do not split
    # into books that fit as they are.
    accounts = tp.synthetic_accounts(n=1_500, seed=4)
    roster = pd.DataFrame(
        {
            "csm_id": [f"t1-{k}" for k in range(6)] + ["t2-0", "t2-1"],
            "tier": ["tier1"] * 6 + ["tier2"] * 2,
            "vertical": [""] * 8,
            "hours": [700.0] * 6 + [1_000.0, 1_000.0],
        }
    )
    team = tp.Team.from_roster(roster)
    plan = tp.plan(accounts, team, hours=True, solver="highs", time_limit=60)
    assert plan.feasible
    a = plan.assignments
    load = workload(plan).groupby(a["csm_id"]).sum()
    hours = roster.set_index("csm_id")["hours"]
    assert (load <= hours.loc[load.index] + 1e-6).all()
    # The gap is honest: measured against a bound of the pool program.
    assert plan.bound >= plan.objective
    assert plan.gap == pytest.approx(relative_gap(plan.objective, plan.bound), rel=1e-9)
    assert plan.gap <= 1e-4
