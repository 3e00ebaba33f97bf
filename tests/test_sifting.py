"""The LP relaxation solved on a core of accounts (sifting) and its Lagrangian bound."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tierplan as tp
import tierplan.sifting as sifting
import tierplan.solve as solve
from tierplan.formulation import SideRow, build_pool_program
from tierplan.mip import relative_gap, solve_lp
from tierplan.planner import _prepare, _side_rows


def _problem(n: int, seed: int, budget_share: float = 0.9):
    accounts = tp.synthetic_accounts(n=n, seed=seed)
    team = tp.Team.from_headcount({"tier1": 4, "tier2": 2}, specialists={"tier1": {"finance": 1}})
    prep = _prepare(accounts, team, None, None, None)
    free = tp.plan(accounts, team)
    cost = {t.name: t.account_cost for t in free.model.tiers}
    budget = budget_share * float(free.assignments["tier"].map(cost).sum())
    side = _side_rows(prep, True, budget)
    values = np.where(prep.eligible, prep.value[:, prep.pools.tier], 0.0)
    return prep, values, side


@pytest.fixture
def small_core(monkeypatch: pytest.MonkeyPatch) -> None:
    # Force a core much smaller than the account base, as at scale.
    monkeypatch.setattr(sifting, "CORE_MIN", 50)
    monkeypatch.setattr(sifting, "CORE_SHARE", 0.02)
    monkeypatch.setattr(sifting, "SAMPLE_SIZE", 400)


@pytest.mark.usefixtures("small_core")
@pytest.mark.parametrize("seed", [3, 11])
def test_sifted_lp_equals_the_full_lp(seed: int) -> None:
    prep, values, side = _problem(3_000, seed)
    pools = prep.pools
    core = sifting.sift(values, prep.eligible, pools.capacity, pools.minimum, side)
    assert core is not None and core.converged
    assert core.accounts.shape[0] < 3_000
    full = build_pool_program(values, prep.eligible, pools.capacity, pools.minimum, side)
    lp = solve_lp(full.program)
    assert lp.status == "optimal"
    assert core.lp_objective == pytest.approx(lp.objective, rel=1e-7)
    # The Lagrangian bound from the core's duals is the LP optimum itself.
    assert core.bound == pytest.approx(lp.objective, rel=1e-7)
    # Fixed accounts and the core partition the accounts.
    fixed = core.fixed_choice >= 0
    assert not fixed[core.accounts].any()
    assert int(fixed.sum()) + core.accounts.shape[0] == 3_000


@pytest.mark.usefixtures("small_core")
def test_sifted_solve_keeps_every_limit_and_reports_an_honest_gap(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(solve, "SIFT_MIN_ACCOUNTS", 1_000)
    prep, values, side = _problem(3_000, 5)
    pools = prep.pools
    sol = solve.solve_pools(
        values, prep.eligible, pools, solver="highs", mip_gap=1e-3, side=side, time_limit=60
    )
    assert "core" in sol.info["method"]
    choice = sol.choice
    assert (choice >= 0).all() and prep.eligible[np.arange(3_000), choice].all()
    counts = np.bincount(choice, minlength=len(pools))
    assert (counts <= pools.capacity).all() and (counts >= pools.minimum).all()
    for row in side:
        used = float(row.matrix()[np.arange(3_000), choice].sum())
        assert used <= row.upper * (1 + 1e-9), row.name
    assert sol.objective == pytest.approx(float(values[np.arange(3_000), choice].sum()))
    full = build_pool_program(values, prep.eligible, pools.capacity, pools.minimum, side)
    lp = solve_lp(full.program)
    # The bound is never below the LP optimum, and the gap is measured to it.
    assert sol.bound >= lp.objective * (1 - 1e-7)
    assert sol.gap == pytest.approx(relative_gap(sol.objective, sol.bound), abs=1e-12)
    assert sol.bound - sol.objective >= -1e-6


def _brute_force(values, eligible, capacity, side) -> float:
    n, n_pools = eligible.shape
    best = -np.inf
    for choice in itertools.product(range(n_pools), repeat=n):
        c = np.array(choice)
        if not eligible[np.arange(n), c].all():
            continue
        if (np.bincount(c, minlength=n_pools) > capacity).any():
            continue
        if any(row.matrix()[np.arange(n), c].sum() > row.upper + 1e-9 for row in side):
            continue
        best = max(best, float(values[np.arange(n), c].sum()))
    return best


@settings(max_examples=40, deadline=None)
@given(
    data=st.data(),
    n=st.integers(2, 5),
    n_pools=st.integers(2, 3),
)
def test_lagrangian_bound_holds_for_any_prices(data: st.DataObject, n: int, n_pools: int) -> None:
    floats = st.floats(0, 10, allow_nan=False, allow_infinity=False)
    values = np.array(data.draw(st.lists(floats, min_size=n * n_pools, max_size=n * n_pools)))
    values = values.reshape(n, n_pools)
    eligible = np.ones((n, n_pools), dtype=bool)
    capacity = np.array(
        [data.draw(st.integers(1, n)) for _ in range(n_pools - 1)] + [np.inf], dtype=float
    )
    hours = np.array(data.draw(st.lists(floats, min_size=n, max_size=n)))
    pool_coef = np.zeros(n_pools)
    pool_coef[0] = 1.0
    side = (SideRow("hours", hours, pool_coef, float(data.draw(floats))),)
    optimum = _brute_force(values, eligible, capacity, side)
    prices = st.floats(-5, 5, allow_nan=False)
    pool_price = np.array([data.draw(prices) for _ in range(n_pools)])
    side_price = np.array([data.draw(prices)])
    minimum = np.zeros(n_pools)
    bound = sifting.lagrangian_bound(
        values, eligible, capacity, minimum, side, pool_price, side_price
    )
    assert bound >= optimum - 1e-9
