"""Books that fill each CSM's hours: the knapsack, the packer and the planner."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tierplan as tp
from tierplan.mip import relative_gap
from tierplan.packing import MAX_CELLS, _knapsack, pack_books
from tierplan.pools import PoolSet


def brute_force(gain: np.ndarray, weight: np.ndarray, room: float, slots: int) -> float:
    best = 0.0
    for r in range(1, min(slots, gain.shape[0]) + 1):
        for subset in itertools.combinations(range(gain.shape[0]), r):
            pick = list(subset)
            if weight[pick].sum() <= room + 1e-9:
                best = max(best, float(gain[pick].sum()))
    return best


@settings(max_examples=60, deadline=None)
@given(
    tenths=st.lists(st.integers(5, 300), min_size=1, max_size=9),
    seed=st.integers(0, 2**16),
    room_tenths=st.integers(1, 900),
    slots=st.integers(1, 9),
)
def test_knapsack_is_exact_on_the_data_grid(tenths, seed, room_tenths, slots):
    # Hours in tenths, as a tier's hours times a complexity with decimals give.
    weight = np.array(tenths, dtype=np.float64) / 10.0
    gain = np.random.default_rng(seed).uniform(0.1, 100.0, weight.shape[0])
    room = room_tenths / 10.0
    picked = _knapsack(gain, weight, room, slots)
    assert np.unique(picked).shape[0] == picked.shape[0]
    assert weight[picked].sum() <= room * (1 + 1e-12)
    assert picked.shape[0] <= slots
    if picked.shape[0] < slots:  # the count never bound: the optimum over hours
        assert gain[picked].sum() == pytest.approx(brute_force(gain, weight, room, 99), rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    weights=st.lists(st.floats(0.5, 40.0), min_size=1, max_size=9),
    seed=st.integers(0, 2**16),
    room=st.floats(1.0, 120.0),
)
def test_knapsack_off_the_grid_fits_and_loses_at_most_a_cell_per_account(weights, seed, room):
    weight = np.array(weights)
    gain = np.random.default_rng(seed).uniform(0.1, 100.0, weight.shape[0])
    picked = _knapsack(gain, weight, room, 99)
    assert weight[picked].sum() <= room * (1 + 1e-12)
    # Whatever the brute force packs into a room one cell per account
    # smaller, the knapsack matches.
    cell = room / MAX_CELLS
    shrunk = brute_force(gain, weight + cell, room, 99)
    assert gain[picked].sum() >= shrunk - 1e-9


def one_pool(k: int, hours: float, cap: int) -> tuple[PoolSet, pd.DataFrame]:
    pools = PoolSet(
        names=("tier1 generalist", "tier3"),
        tier=np.array([0, 2]),
        vertical=np.array(["", ""], dtype=object),
        human=np.array([True, False]),
        capacity=np.array([float(k * cap), np.inf]),
        minimum=np.array([0, 0]),
        headcount=np.array([k, 0]),
        hours=np.array([k * hours, 0.0]),
        cost=np.zeros(2),
        csm_pool=np.zeros(k, dtype=np.int64),
    )
    roster = pd.DataFrame(
        {
            "hours": np.full(k, hours),
            "max_accounts": np.full(k, cap),
            "min_accounts": np.zeros(k, dtype=np.int64),
        }
    )
    return pools, roster


@pytest.mark.parametrize("k", [1, 2, 12])
def test_pack_books_keeps_hours_caps_locks_and_accounts_with_nowhere_else(k):
    rng = np.random.default_rng(k)
    n = 60 * k
    pools, roster = one_pool(k, 1_000.0, 14)
    work = np.round(rng.uniform(60.0, 150.0, n), 1)
    workload = np.column_stack([work, np.full(n, 0.5)])
    value = np.column_stack([rng.uniform(50.0, 200.0, n) * work, rng.uniform(0.0, 10.0, n)])
    allowed = np.ones((n, 2), dtype=bool)
    allowed[:3, 1] = False  # three accounts may only go to the human pool
    net = np.where(allowed, value, -np.inf)
    current = np.full(n, -1, dtype=np.int64)
    locked = np.zeros(n, dtype=bool)
    current[5], locked[5] = k - 1, True
    packing = pack_books([0], net, net, allowed, workload, pools, roster, current, locked)
    assert packing.packed == (0,) and packing.failed == ()
    placed = packing.csm >= 0
    assert (packing.pool[placed] == 0).all() and (packing.pool[~placed] == -1).all()
    load = np.bincount(packing.csm[placed], weights=work[placed], minlength=k)
    count = np.bincount(packing.csm[placed], minlength=k)
    assert (load <= 1_000.0 * (1 + 1e-12)).all() and (count <= 14).all()
    assert packing.csm[5] == k - 1
    assert placed[:3].all()
    if k <= 2:
        # Against the exact program (one binary per account and CSM): books
        # are filled one after another, which costs a little with few CSMs.
        gain = value[:, 0] - value[:, 1]
        gain[:3] = value[:3, 0]
        assert gain[placed].sum() >= (1 - 5e-3) * exact_books(gain, work, k, 1_000.0, 14)


def exact_books(gain: np.ndarray, work: np.ndarray, k: int, hours: float, cap: int) -> float:
    from scipy.optimize import Bounds, LinearConstraint, milp

    n = gain.shape[0]
    once = np.kron(np.eye(n), np.ones((1, k)))
    load = np.kron(work[None, :], np.eye(k))
    count = np.kron(np.ones((1, n)), np.eye(k))
    lower = np.zeros(n)
    lower[:3] = 1.0
    fixed = np.zeros(n * k)
    fixed[5 * k + k - 1] = 1.0  # the locked account stays with its CSM
    result = milp(
        -np.repeat(gain, k),
        constraints=[
            LinearConstraint(once, lower, np.ones(n)),
            LinearConstraint(load, 0.0, hours),
            LinearConstraint(count, 0.0, cap),
        ],
        integrality=np.ones(n * k),
        bounds=Bounds(fixed, 1.0),
        options={"time_limit": 20},
    )
    assert result.x is not None
    return float(-result.fun)


def test_a_locked_book_over_its_hours_is_reported_not_packed():
    pools, roster = one_pool(1, 100.0, 5)
    work = np.array([80.0, 70.0, 10.0])
    workload = np.column_stack([work, np.full(3, 0.5)])
    net = np.ones((3, 2))
    current = np.zeros(3, dtype=np.int64)
    locked = np.array([True, True, False])
    packing = pack_books(
        [0], net, net, np.ones((3, 2), dtype=bool), workload, pools, roster, current, locked
    )
    assert packing.failed == (0,) and packing.packed == ()
    assert (packing.csm == -1).all()


@pytest.fixture(scope="module")
def sifted_case():
    accounts = tp.synthetic_accounts(n=20_000, seed=2026)
    team = tp.Team.from_headcount(
        {"tier1": 10, "tier2": 5},
        specialists={
            "tier1": {"finance": 4, "telco": 2, "healthcare": 2},
            "tier2": {"finance": 2, "telco": 1},
        },
    )
    free = tp.plan(accounts, team)
    cost = {t.name: t.account_cost for t in free.model.tiers}
    budget = 0.8 * float(free.assignments["tier"].map(cost).sum())
    return accounts, team, budget, cost


def test_hours_and_budget_on_a_core_of_accounts_fill_books_within_every_limit(sifted_case):
    accounts, team, budget, cost = sifted_case
    plan = tp.plan(accounts, team, hours=True, budget=budget)
    assert plan.feasible
    assert "books built to fill each CSM's hours" in plan.solver_info["packing"]
    books = plan.books
    assert (books["attention_hours"] <= books["hours"] * (1 + 1e-9)).all()
    assert (books["accounts"] <= books["max_accounts"]).all()
    assert plan.assignments["tier"].map(cost).sum() <= budget * (1 + 1e-12)
    assert plan.bound >= plan.objective
    assert plan.gap == pytest.approx(relative_gap(plan.objective, plan.bound), rel=1e-9)
    # Books fill their CSMs' hours: little is left idle against the bound.
    assert plan.gap < 1e-3
    idle = (books["hours"] - books["attention_hours"]).sum() / books["hours"].sum()
    assert idle < 1e-3
    # Nothing here depends on time: the same input gives the same plan.
    again = tp.plan(accounts, team, hours=True, budget=budget)
    pd.testing.assert_frame_equal(again.assignments, plan.assignments)


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**16), k1=st.integers(1, 4), k2=st.integers(1, 3))
def test_pack_books_invariants_over_random_pools(seed, k1, k2):
    # Two human pools (tier 1 and tier 2) and tech touch; random eligibility,
    # locks, values and hours: whatever is packed fits every limit.
    rng = np.random.default_rng(seed)
    n = int(rng.integers(5, 120))
    k = k1 + k2
    pools = PoolSet(
        names=("tier1 generalist", "tier2 generalist", "tier3"),
        tier=np.array([0, 1, 2]),
        vertical=np.array(["", "", ""], dtype=object),
        human=np.array([True, True, False]),
        capacity=np.array([k1 * 6.0, k2 * 30.0, np.inf]),
        minimum=np.zeros(3, dtype=np.int64),
        headcount=np.array([k1, k2, 0]),
        hours=np.array([k1 * 400.0, k2 * 400.0, 0.0]),
        cost=np.zeros(3),
        csm_pool=np.array([0] * k1 + [1] * k2, dtype=np.int64),
    )
    roster = pd.DataFrame(
        {
            "hours": np.full(k, 400.0),
            "max_accounts": np.array([6] * k1 + [30] * k2),
            "min_accounts": np.zeros(k, dtype=np.int64),
        }
    )
    stretch = 1.0 + rng.uniform(0.0, 1.5, n)
    workload = np.column_stack([60.0 * stretch, 10.0 * stretch, 0.5 * stretch])
    value = rng.uniform(0.0, 1_000.0, (n, 3)) * np.array([3.0, 2.0, 1.0])
    allowed = rng.random((n, 3)) < 0.8
    allowed[np.arange(n), rng.integers(0, 3, n)] = True
    current = np.where(rng.random(n) < 0.3, rng.integers(0, k, n), -1)
    locked = (current >= 0) & (rng.random(n) < 0.2)
    # A lock keeps the account in its CSM's pool.
    allowed[locked] = False
    allowed[locked, pools.csm_pool[current[locked]]] = True
    net = np.where(allowed, value, -np.inf)
    packing = pack_books([0, 1], net, net, allowed, workload, pools, roster, current, locked)
    assert set(packing.packed) | set(packing.failed) <= {0, 1}
    assert not set(packing.packed) & set(packing.failed)
    placed = packing.csm >= 0
    assert ((packing.pool >= 0) == placed).all()
    assert np.isin(packing.pool[placed], packing.packed).all()
    assert (pools.csm_pool[packing.csm[placed]] == packing.pool[placed]).all()
    assert allowed[np.flatnonzero(placed), packing.pool[placed]].all()
    rows = np.flatnonzero(placed)
    load = np.bincount(
        packing.csm[placed], weights=workload[rows, packing.pool[placed]], minlength=k
    )
    count = np.bincount(packing.csm[placed], minlength=k)
    assert (load <= 400.0 * (1 + 1e-9)).all()
    assert (count <= roster["max_accounts"].to_numpy()).all()
    for p in packing.packed:
        mine = locked & (pools.csm_pool[np.maximum(current, 0)] == p)
        assert (packing.csm[mine] == current[mine]).all()
        # An account with no other pool is in a book of its only one.
        only = allowed[:, p] & (allowed.sum(axis=1) == 1)
        assert (packing.pool[only] == p).all()
