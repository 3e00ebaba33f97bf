"""Tests of the exact transportation solver (tierplan.transport)."""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import tierplan.transport as transport
from tierplan.errors import ConfigError
from tierplan.mip import ArrayProgram, solve_program
from tierplan.transport import TransportSolution, solve_transport, transport_infeasibility

# ----------------------------------------------------------------------------
# Helpers
# ----------------------------------------------------------------------------


def highs_optimum(value, eligible, capacity, minimum=None, *, relax=None):
    """Optimum of the pool program by HiGHS, one column per eligible pair.

    Binary columns (a MIP) for small programs; the LP relaxation for larger
    ones, which has the same optimum (transportation LPs have integral vertices).
    """
    value = np.asarray(value, dtype=float)
    eligible = np.asarray(eligible, dtype=bool)
    n, n_pools = eligible.shape
    minimum = np.zeros(n_pools) if minimum is None else np.asarray(minimum, dtype=float)
    ii, pp = np.nonzero(eligible)
    k = ii.shape[0]
    cols = np.arange(k)
    matrix = sp.vstack(
        [
            sp.csr_array((np.ones(k), (ii, cols)), shape=(n, k)),
            sp.csr_array((np.ones(k), (pp, cols)), shape=(n_pools, k)),
        ]
    )
    lower = np.concatenate([np.ones(n), minimum])
    upper = np.concatenate([np.ones(n), np.asarray(capacity, dtype=float)])
    program = ArrayProgram.binary(value[ii, pp], matrix, lower, upper)
    if relax if relax is not None else k > 3_000:
        program = dataclasses.replace(program, integer=np.zeros(k, dtype=bool))
    result = solve_program(program, solver="highs")
    return result.status, result.objective


def brute_force(value, eligible, capacity, minimum):
    """Best objective over every assignment (None when none is feasible)."""
    n, n_pools = eligible.shape
    options = [np.flatnonzero(eligible[i]).tolist() for i in range(n)]
    best = None
    for combo in itertools.product(*options):
        counts = np.bincount(np.asarray(combo, dtype=np.int64), minlength=n_pools)
        if (counts > capacity).any() or (counts < minimum).any():
            continue
        total = math.fsum(value[i, p] for i, p in enumerate(combo))
        best = total if best is None else max(best, total)
    return best


def scale_of(value, eligible):
    return max(1.0, float(np.abs(np.where(eligible, value, 0.0)).max(initial=0.0)))


def assert_certificate(value, eligible, capacity, minimum, sol: TransportSolution):
    """The prices prove the choice optimal (dual feasibility, complementary slackness,
    no duality gap)."""
    value = np.asarray(value, dtype=float)
    eligible = np.asarray(eligible, dtype=bool)
    capacity = np.asarray(capacity, dtype=float)
    n, n_pools = eligible.shape
    minimum = np.zeros(n_pools) if minimum is None else np.asarray(minimum, dtype=float)
    assert sol.status == "optimal"
    assert sol.choice.dtype == np.int64 and sol.choice.shape == (n,)
    assert sol.prices.shape == (n_pools,)
    rows = np.arange(n)
    assert eligible[rows, sol.choice].all()
    counts = np.bincount(sol.choice, minlength=n_pools)
    assert (counts <= capacity).all() and (counts >= minimum).all()
    assert sol.objective == pytest.approx(value[rows, sol.choice].sum(), rel=1e-12, abs=1e-12)
    tol = 1e-9 * (scale_of(value, eligible) + float(np.abs(sol.prices).max(initial=0.0)))
    # Every account's pool maximizes value - price among its eligible pools.
    net = np.where(eligible, value - sol.prices, -np.inf)
    assert (net.max(axis=1) <= net[rows, sol.choice] + tol).all()
    # Complementary slackness: positive price -> full, negative price -> at minimum.
    for p in range(n_pools):
        if sol.prices[p] > tol:
            assert counts[p] == capacity[p]
        if sol.prices[p] < -tol:
            assert counts[p] == minimum[p]
    # No duality gap.
    bound_terms = [
        capacity[p] * price if price > 0 else minimum[p] * price if price < 0 else 0.0
        for p, price in enumerate(sol.prices.tolist())
    ]
    dual = net.max(axis=1).sum() + sum(bound_terms) if n else sum(bound_terms)
    assert dual == pytest.approx(sol.objective, rel=1e-9, abs=max(1, n) * tol)


def random_instance(seed: int, n: int, n_pools: int, kind: int):
    """Random pool programs with the features that break naive solvers."""
    rng = np.random.default_rng(seed)
    if kind == 0:  # many ties
        value = rng.integers(0, 4, (n, n_pools)).astype(float)
    elif kind == 1:  # near ties: differences of 1e-7
        value = np.round(rng.random((n, 1)), 1) + rng.integers(0, 3, (n, n_pools)) * 1e-7
    elif kind == 2:  # heavy tailed
        value = rng.lognormal(0.0, 2.0, (n, n_pools))
    else:  # negative and fractional, with tiny perturbations
        value = np.round(rng.normal(size=(n, n_pools)), 2) * 1000 + rng.random((n, n_pools)) * 1e-7
    eligible = rng.random((n, n_pools)) < rng.uniform(0.3, 1.0)
    eligible[np.arange(n), rng.integers(0, n_pools, n)] = True
    capacity = rng.integers(0, max(2, 2 * n // n_pools), n_pools).astype(float)
    capacity[rng.random(n_pools) < 0.3] = np.inf
    if capacity.sum() < n:
        capacity[rng.integers(0, n_pools)] = np.inf
    minimum = rng.integers(0, max(1, n // (3 * n_pools)), n_pools) * (rng.random(n_pools) < 0.5)
    minimum = np.minimum(minimum, np.where(np.isinf(capacity), n, capacity)).astype(np.int64)
    return value, eligible, capacity, minimum


def coverage_instance(n: int, seed: int = 0, tier_share: float = 0.2):
    """Shaped like the real use: tier-1/tier-2 generalists and specialists, tech-touch.

    Tier 1 holds ``tier_share / 10`` of the accounts, tier 2 ``tier_share * 3 / 4``.
    """
    rng = np.random.default_rng(seed)
    arr = np.round(rng.lognormal(np.log(20_000), 1.2, n), -2)  # round ARR: ties
    vertical = rng.integers(0, 4, n)
    fit = np.round(rng.uniform(0.5, 1.5, n), 2)
    value = np.zeros((n, 9))
    eligible = np.zeros((n, 9), dtype=bool)
    value[:, 0], value[:, 4] = arr * 0.10 * fit, arr * 0.04 * fit
    eligible[:, [0, 4, 8]] = True
    for k in range(1, 4):
        rows = vertical == k
        value[rows, k] = arr[rows] * 0.12 * fit[rows]
        value[rows, 4 + k] = arr[rows] * 0.05 * fit[rows]
        eligible[rows, k] = eligible[rows, 4 + k] = True
    shares = np.array([0.04, 0.02, 0.02, 0.02, 0.3, 0.15, 0.15, 0.15, 0.0]) * tier_share
    capacity = np.round(shares * n)
    capacity[8] = np.inf
    return value, eligible, capacity


@contextlib.contextmanager
def small_base(z_band: float = 3.0):
    """Make small problems take the decomposition path (sample, bands, marginal set).

    A narrow ``z_band`` makes the bands too tight on purpose, to exercise the
    recovery paths (full certificate, cycle cancelling, wider bands, fallback).
    """
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transport, "_BASE_ACCOUNTS", 150)
        patch.setattr(transport, "_SAMPLE_MIN", 60)
        patch.setattr(transport, "_SAMPLE_RATIO", 2)
        patch.setattr(transport, "_Z_BAND", z_band)
        yield


# ----------------------------------------------------------------------------
# Exactness
# ----------------------------------------------------------------------------

_LEVELS = [0.0, 1.0, 1.0 + 1e-7, 1.0 - 1e-7, 2.5, -1.0, 1e-7, 3.0]


@st.composite
def tiny_instances(draw):
    n = draw(st.integers(0, 6))
    n_pools = draw(st.integers(1, 3))
    elements = st.one_of(
        st.sampled_from(_LEVELS), st.floats(-10, 10, allow_nan=False, allow_infinity=False)
    )
    value = draw(arrays(np.float64, (n, n_pools), elements=elements))
    eligible = draw(arrays(np.bool_, (n, n_pools)))
    capacity = np.array(
        [draw(st.one_of(st.just(math.inf), st.integers(0, 6).map(float))) for _ in range(n_pools)]
    )
    minimum = np.array([draw(st.integers(0, 3)) for _ in range(n_pools)], dtype=np.int64)
    return value, eligible, capacity, minimum


@given(tiny_instances())
def test_matches_brute_force(instance):
    value, eligible, capacity, minimum = instance
    sol = solve_transport(value, eligible, capacity, minimum)
    best = brute_force(value, eligible, capacity, minimum)
    explanations = transport_infeasibility(eligible, capacity, minimum)
    if best is None:
        assert sol.status == "infeasible"
        assert (sol.choice == -1).all() and math.isnan(sol.objective)
        assert explanations  # the Hall/Hoffman conditions are exact
    else:
        assert sol.status == "optimal"
        assert explanations == []
        assert sol.objective == pytest.approx(best, rel=0, abs=1e-12)
        assert_certificate(value, eligible, capacity, minimum, sol)


@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(1, 80),
    n_pools=st.integers(2, 8),
    kind=st.integers(0, 3),
)
def test_matches_highs(seed, n, n_pools, kind):
    value, eligible, capacity, minimum = random_instance(seed, n, n_pools, kind)
    sol = solve_transport(value, eligible, capacity, minimum)
    status, objective = highs_optimum(value, eligible, capacity, minimum)
    assert sol.status == status
    if status == "optimal":
        # Exact: never below HiGHS (whose tolerances allow ~1e-7 per account),
        # and the prices prove optimality on their own.
        assert sol.objective >= objective - 1e-9 * scale_of(value, eligible)
        assert sol.objective == pytest.approx(objective, rel=1e-7, abs=1e-6)
        assert_certificate(value, eligible, capacity, minimum, sol)


@pytest.mark.parametrize("z_band", [3.0, 0.3])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(300, 1500),
    n_pools=st.integers(2, 9),
    kind=st.integers(0, 3),
)
def test_decomposition_matches_highs(z_band, seed, n, n_pools, kind):
    value, eligible, capacity, minimum = random_instance(seed, n, n_pools, kind)
    with small_base(z_band):
        sol = solve_transport(value, eligible, capacity, minimum)
    status, objective = highs_optimum(value, eligible, capacity, minimum)
    assert sol.status == status
    if status == "optimal":
        assert sol.objective >= objective - 1e-9 * scale_of(value, eligible)
        assert sol.objective == pytest.approx(objective, rel=1e-7, abs=1e-6)
        assert_certificate(value, eligible, capacity, minimum, sol)


def screened_instance(seed: int, n: int, n_pools: int, kind: int):
    """Few book places and pools without a cap (tech touch): the screen applies."""
    value, eligible, capacity, minimum = random_instance(seed, n, n_pools, kind)
    rng = np.random.default_rng(seed + 1)
    free = rng.random(n_pools) < 0.3
    first = int(rng.integers(0, n_pools))
    free[first] = True
    free[(first + 1 + int(rng.integers(0, n_pools - 1))) % n_pools] = False  # one capped pool
    capacity = np.where(free, np.inf, rng.integers(0, max(2, n // (4 * n_pools)), n_pools))
    minimum = np.where(free, 0, np.minimum(minimum, capacity)).astype(np.int64)
    # Most accounts may go to some uncapped pool; a few may not.
    reach = rng.random(n) < 0.95
    eligible[:, free] |= reach[:, None] & (rng.random((n, int(free.sum()))) < 0.8)
    eligible[reach, np.flatnonzero(free)[0]] = True
    return value, eligible, capacity.astype(float), minimum


@pytest.mark.parametrize(
    ("base", "first", "rounds"),
    [(6_000, 3.0, 4), (20, 3.0, 4), (6_000, 0.0, 4), (6_000, 0.0, 2), (20, 0.5, 3)],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(20, 400),
    n_pools=st.integers(2, 8),
    kind=st.integers(0, 3),
)
def test_screen_matches_highs(base, first, rounds, seed, n, n_pools, kind):
    value, eligible, capacity, minimum = screened_instance(seed, n, n_pools, kind)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transport, "_SCREEN_ACCOUNTS", 0)
        # A small base also sends the working sets through the decomposition;
        # a small first guess makes the working set grow over rounds.
        patch.setattr(transport, "_BASE_ACCOUNTS", base)
        patch.setattr(transport, "_WORKING_BASE", base)
        patch.setattr(transport, "_SAMPLE_MIN", 10)
        patch.setattr(transport, "_SCREEN_FIRST", first)
        patch.setattr(transport, "_SCREEN_EXTRA", 1)
        patch.setattr(transport, "_SCREEN_ROUNDS", rounds)
        sol = solve_transport(value, eligible, capacity, minimum)
        screen = transport._screen(value, eligible, capacity, minimum)
    candidates = None if screen is None else screen.exact
    status, objective = highs_optimum(value, eligible, capacity, minimum, relax=False)
    assert sol.status == status
    if status == "optimal":
        # HiGHS stops within its own tolerances; the certificate is exact.
        assert sol.objective >= objective - 1e-9 * scale_of(value, eligible)
        assert sol.objective == pytest.approx(objective, rel=1e-7, abs=1e-6)
        assert_certificate(value, eligible, capacity, minimum, sol)
        if candidates is not None:
            # Every account the screen rules out sits in its best uncapped pool,
            # whichever way the optimum was found (the screen is a theorem).
            free = np.isinf(capacity) & (minimum == 0)
            rest = ~candidates
            assert free[sol.choice[rest]].all()
            best = np.where(eligible[rest][:, free], value[rest][:, free], -np.inf).max(axis=1)
            assert np.array_equal(value[rest, sol.choice[rest]], best)


def test_screen_keeps_the_capped_pools_top_accounts():
    # One capped pool with 2 places, one uncapped pool: the candidates are the
    # two accounts gaining most from the capped pool (ties at the cut kept).
    gain = np.array([5.0, 1.0, 3.0, 3.0, 0.5, 4.0])
    value = np.column_stack([gain, np.zeros(6)])
    eligible = np.ones((6, 2), dtype=bool)
    capacity = np.array([2.0, np.inf])
    minimum = np.zeros(2, dtype=np.int64)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transport, "_SCREEN_SHARE", 1.0)
        kept = transport._screen(value, eligible, capacity, minimum)
    assert kept is not None
    assert kept.exact.tolist() == [True, False, False, False, False, True]
    eligible[1, 1] = False  # no uncapped pool for account 1: always a candidate
    value[3, 0] = 4.0  # a tie at the cut keeps both tied accounts
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transport, "_SCREEN_SHARE", 1.0)
        kept = transport._screen(value, eligible, capacity, minimum)
    assert kept is not None
    assert kept.exact.tolist() == [True, True, False, True, False, True]
    # A minimum on the uncapped pool, or no capped pool: no screen.
    assert transport._screen(value, eligible, capacity, np.array([0, 1])) is None
    assert transport._screen(value, eligible, np.array([np.inf, np.inf]), minimum) is None


def test_screen_on_coverage_shape_matches_the_full_solve():
    value, eligible, capacity = coverage_instance(8_000, seed=3, tier_share=0.1)
    sol = solve_transport(value, eligible, capacity)
    assert "screened" in sol.method
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(transport, "_SCREEN_ACCOUNTS", 10**9)
        full = solve_transport(value, eligible, capacity)
    assert "screened" not in full.method
    assert sol.objective == pytest.approx(full.objective, rel=1e-12)
    assert_certificate(value, eligible, capacity, None, sol)


@pytest.mark.parametrize("z_band", [3.0, 0.3])
def test_decomposition_path_runs_on_coverage_shape(z_band):
    value, eligible, capacity = coverage_instance(6_000, seed=1, tier_share=1.0)
    with small_base(z_band):
        sol = solve_transport(value, eligible, capacity)
    assert "marginal accounts" in sol.method
    _, objective = highs_optimum(value, eligible, capacity)
    assert sol.objective == pytest.approx(objective, rel=1e-9)
    assert_certificate(value, eligible, capacity, None, sol)


def test_exact_where_integer_scaling_is_not():
    # One seat in pool 0; the account to seat beats the runner-up by 1e-9 on
    # values of a million, while another account is worth 1e12: costs scaled
    # to integers (and a tolerance relative to the largest value) cannot
    # tell them apart, the exact repair must.
    n = 50
    value = np.zeros((n + 1, 2))
    value[:n, 0] = 1e6 + np.arange(n) * 1e-9
    value[:n, 1] = 1e6
    value[17, 0] += 2e-9
    value[n] = [0.0, 1e12]
    eligible = np.ones((n + 1, 2), dtype=bool)
    sol = solve_transport(value, eligible, [1, np.inf])
    assert np.flatnonzero(sol.choice == 0).tolist() == [49]
    assert 47e-9 < sol.prices[0] < 49e-9  # the runner-up's gain prices the seat
    gains = value[:n, 0] - value[:n, 1]
    assert (gains - sol.prices[0] <= 1e-15)[np.arange(n) != 49].all()


def test_minimums_force_a_worse_pool():
    value = np.array([[5.0, 1.0], [4.0, 3.9], [6.0, 0.0]])
    eligible = np.ones((3, 2), dtype=bool)
    sol = solve_transport(value, eligible, [np.inf, np.inf], [0, 1])
    assert sol.choice.tolist() == [0, 1, 0]
    assert sol.objective == pytest.approx(5.0 + 3.9 + 6.0)
    assert sol.prices[1] < 0  # the minimum binds
    assert_certificate(value, eligible, [np.inf, np.inf], [0, 1], sol)


def test_capacity_prices_are_marginal_values():
    # Two seats in pool 0 for three accounts: the third best gain sets the price.
    value = np.array([[10.0, 0.0], [7.0, 0.0], [4.0, 0.0]])
    sol = solve_transport(value, np.ones((3, 2), dtype=bool), [2, np.inf])
    assert sol.choice.tolist() == [0, 0, 1]
    assert 4.0 - 1e-12 <= sol.prices[0] <= 7.0 + 1e-12
    assert sol.prices[1] == pytest.approx(0.0, abs=1e-12)


def test_ineligible_entries_are_ignored():
    value = np.array([[np.nan, 1.0], [2.0, np.inf], [3.0, -np.inf]])
    eligible = np.array([[False, True], [True, False], [True, False]])
    sol = solve_transport(value, eligible, [np.inf, np.inf])
    assert sol.choice.tolist() == [1, 0, 0]
    assert sol.objective == pytest.approx(6.0)


def test_edge_shapes():
    empty = solve_transport(np.zeros((0, 3)), np.zeros((0, 3), dtype=bool), [1, 1, np.inf])
    assert empty.status == "optimal" and empty.choice.shape == (0,) and empty.objective == 0
    assert solve_transport(np.zeros((0, 2)), np.zeros((0, 2), bool), [1, 1], [1, 0]).status == (
        "infeasible"
    )
    one = solve_transport(np.arange(5.0)[:, None], np.ones((5, 1), dtype=bool), [5])
    assert one.status == "optimal" and (one.choice == 0).all() and one.objective == 10.0
    assert solve_transport(np.ones((5, 1)), np.ones((5, 1), dtype=bool), [4]).status == (
        "infeasible"
    )
    # 0/1 integers are accepted as eligibility.
    sol = solve_transport([[1.0, 2.0]], [[1, 0]], [1, 1])
    assert sol.choice.tolist() == [0]


def test_many_pools_uses_max_flow_checks():
    rng = np.random.default_rng(3)
    n, n_pools = 400, 20
    value = rng.random((n, n_pools))
    eligible = rng.random((n, n_pools)) < 0.3
    eligible[:, 0] = True
    capacity = np.full(n_pools, 30.0)
    sol = solve_transport(value, eligible, capacity)
    status, objective = highs_optimum(value, eligible, capacity)
    assert sol.status == status == "optimal"
    assert sol.objective == pytest.approx(objective, rel=1e-9)
    assert_certificate(value, eligible, capacity, None, sol)


# ----------------------------------------------------------------------------
# Infeasibility
# ----------------------------------------------------------------------------


def _infeasible(value, eligible, capacity, minimum=None):
    sol = solve_transport(value, eligible, capacity, minimum)
    assert sol.status == "infeasible"
    assert (sol.choice == -1).all() and sol.choice.shape == (np.asarray(eligible).shape[0],)
    assert math.isnan(sol.objective)
    return transport_infeasibility(eligible, capacity, minimum)


def test_infeasible_account_without_pool():
    eligible = np.array([[True, False], [False, False], [False, True]])
    reasons = _infeasible(np.zeros((3, 2)), eligible, [np.inf, np.inf])
    assert reasons == ["1 account is eligible for no pool"]


def test_infeasible_total_capacity():
    reasons = _infeasible(np.zeros((10, 2)), np.ones((10, 2), dtype=bool), [3, 4])
    assert any("10 accounts need a pool" in r and "7" in r for r in reasons)


def test_infeasible_group_of_pools_lacks_capacity():
    eligible = np.zeros((12, 4), dtype=bool)
    eligible[:8, [1, 2]] = True  # e.g. finance accounts: finance specialists only
    eligible[8:, :] = True
    reasons = _infeasible(np.ones((12, 4)), eligible, [np.inf, 3, 4, np.inf])
    assert reasons == ["8 accounts are eligible only for pools 1 and 2, which can hold 7"]


def test_infeasible_minimums():
    eligible = np.zeros((10, 3), dtype=bool)
    eligible[:, 0] = True
    eligible[:4, 1] = True
    eligible[:, 2] = True
    reasons = _infeasible(np.ones((10, 3)), eligible, [np.inf] * 3, [0, 5, 0])
    assert reasons == [
        "pool 1 must take at least 5 accounts, but only 4 accounts are eligible for it"
    ]
    reasons = _infeasible(np.ones((10, 3)), eligible, [np.inf] * 3, [6, 0, 6])
    assert any("minimums add up to 12 accounts" in r for r in reasons)
    reasons = _infeasible(np.ones((10, 3)), eligible, [2, np.inf, np.inf], [3, 0, 0])
    assert reasons == ["pool 0 must take at least 3 accounts but can hold 2"]


def test_infeasible_with_many_pools():
    n_pools = 18
    eligible = np.ones((40, n_pools), dtype=bool)
    eligible[:10] = False
    eligible[:10, [3, 4]] = True  # ten accounts, four seats in pools 3 and 4
    capacity = np.full(n_pools, 10.0)
    capacity[[3, 4]] = 2
    reasons = _infeasible(np.ones((40, n_pools)), eligible, capacity)
    assert len(reasons) == 1 and "over-constrained" in reasons[0]


def test_feasible_has_no_explanation():
    _, eligible, capacity = coverage_instance(500)
    assert transport_infeasibility(eligible, capacity) == []


# ----------------------------------------------------------------------------
# Determinism and scale
# ----------------------------------------------------------------------------


def test_deterministic_on_ties_and_inputs_untouched():
    value, eligible, capacity, minimum = random_instance(11, 400, 5, kind=0)
    copies = [a.copy() for a in (value, eligible, capacity, minimum)]
    first = solve_transport(value, eligible, capacity, minimum)
    for original, copy in zip((value, eligible, capacity, minimum), copies, strict=True):
        assert np.array_equal(original, copy)
    second = solve_transport(
        np.asfortranarray(value), eligible.astype(int), list(capacity), list(minimum)
    )
    assert first.status == "optimal"
    assert np.array_equal(first.choice, second.choice)
    assert np.array_equal(first.prices, second.prices)
    with small_base(3.0):
        third = solve_transport(value, eligible, capacity, minimum)
        fourth = solve_transport(value, eligible, capacity, minimum)
    assert np.array_equal(third.choice, fourth.choice)
    assert third.objective == pytest.approx(first.objective, rel=1e-12)


@pytest.mark.slow
def test_large_instance_decomposes_deterministically():
    value, eligible, capacity = coverage_instance(60_000, seed=2)
    first = solve_transport(value, eligible, capacity)
    second = solve_transport(value, eligible, capacity)
    assert "marginal accounts" in first.method
    assert np.array_equal(first.choice, second.choice)
    assert_certificate(value, eligible, capacity, None, first)
    counts = np.bincount(first.choice, minlength=9)
    assert (counts[:8] == capacity[:8]).all()  # the coverage pools are full


# ----------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "eligible", "capacity", "minimum"),
    [
        (np.zeros((3, 2)), np.ones((3, 3), bool), [1, 1, 1], None),  # shape mismatch
        (np.zeros(3), np.ones(3, bool), [1], None),  # 1-D
        (np.zeros((3, 2)), np.ones((3, 2), bool), [1, 1, 1], None),  # capacity length
        (np.zeros((3, 2)), np.ones((3, 2), bool), [1.5, np.inf], None),  # fractional
        (np.zeros((3, 2)), np.ones((3, 2), bool), [-1, np.inf], None),  # negative
        (np.zeros((3, 2)), np.ones((3, 2), bool), [np.nan, np.inf], None),  # NaN capacity
        (np.zeros((3, 2)), np.ones((3, 2), bool), [3, 3], [0, -1]),  # negative minimum
        (np.zeros((3, 2)), np.ones((3, 2), bool), [3, 3], [0.5, 0]),  # fractional minimum
        (np.zeros((3, 2)), np.ones((3, 2), bool), [3, 3], [0, 0, 0]),  # minimum length
        (np.array([[np.nan, 0.0]] * 3), np.ones((3, 2), bool), [3, 3], None),  # NaN value
        (np.array([[np.inf, 0.0]] * 3), np.ones((3, 2), bool), [3, 3], None),  # inf value
        (np.zeros((3, 2)), np.full((3, 2), 2), [3, 3], None),  # not boolean
        (np.zeros((3, 0)), np.ones((3, 0), bool), [], None),  # no pools
    ],
)
def test_malformed_inputs_raise(value, eligible, capacity, minimum):
    with pytest.raises(ConfigError):
        solve_transport(value, eligible, capacity, minimum)


def test_infeasibility_helper_validates():
    with pytest.raises(ConfigError):
        transport_infeasibility(np.ones((3, 2), bool), [1, 1, 1])
    with pytest.raises(ConfigError):
        transport_infeasibility(np.ones((3, 2), bool), [1, 1], [-1, 0])
