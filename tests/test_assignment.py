"""Tests of the book assignment (generalized assignment problem)."""

from __future__ import annotations

import dataclasses
import itertools
import math
from pathlib import Path

import numpy as np
import pulp
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import Bounds, LinearConstraint, milp

from tierplan.assignment import BookAssignment, assign_books
from tierplan.errors import ConfigError, InputError, TierplanError

DATA = Path(__file__).parent / "data" / "gap"


# --------------------------------------------------------------------------
# helpers


def check_feasible(
    res: BookAssignment,
    value: np.ndarray,
    workload: np.ndarray,
    capacity: np.ndarray,
    max_accounts: np.ndarray | None = None,
) -> None:
    """Assert the returned books obey every rule and the objective adds up."""
    n, m = value.shape
    csm = res.csm
    assert csm.dtype == np.int64
    assert csm.shape == (n,)
    assert ((csm >= 0) & (csm < m)).all()
    rows = np.arange(n)
    chosen = value[rows, csm]
    assert np.isfinite(chosen).all(), "a forbidden pair was used"
    hours = np.bincount(csm, weights=workload[rows, csm], minlength=m)
    assert (hours <= capacity + 1e-9).all()
    if max_accounts is not None:
        assert (np.bincount(csm, minlength=m) <= max_accounts).all()
    assert res.objective == pytest.approx(float(chosen.sum()), abs=1e-9)


def brute_force(
    value: np.ndarray,
    workload: np.ndarray,
    capacity: np.ndarray,
    max_accounts: np.ndarray | None = None,
) -> float | None:
    """Best total value over every assignment (``None`` if none is feasible)."""
    n, m = value.shape
    combos = np.array(list(itertools.product(range(m), repeat=n)), dtype=np.int64)
    rows = np.arange(n)
    vals = value[rows, combos]
    ok = np.isfinite(vals).all(axis=1)
    w = workload[rows, combos]
    for c in range(m):
        mine = combos == c
        ok &= np.where(mine, w, 0.0).sum(axis=1) <= capacity[c]
        if max_accounts is not None:
            ok &= mine.sum(axis=1) <= max_accounts[c]
    if not ok.any():
        return None
    return float(np.where(np.isfinite(vals), vals, 0.0).sum(axis=1)[ok].max())


def scipy_reference(
    value: np.ndarray,
    workload: np.ndarray,
    capacity: np.ndarray,
    max_accounts: np.ndarray | None = None,
) -> float | None:
    """The GAP over the full ``n × m`` grid with scipy's ``milp``, written independently."""
    n, m = value.shape
    allowed = np.isfinite(value)
    c = -np.where(allowed, value, 0.0).ravel()  # x[i * m + j]
    assign = np.kron(np.eye(n), np.ones(m))
    load = np.zeros((m, n * m))
    count = np.zeros((m, n * m))
    for j in range(m):
        load[j, j::m] = np.where(allowed[:, j], workload[:, j], 0.0)
        count[j, j::m] = 1.0
    constraints = [
        LinearConstraint(assign, 1.0, 1.0),
        LinearConstraint(load, -np.inf, capacity),
    ]
    if max_accounts is not None:
        constraints.append(LinearConstraint(count, -np.inf, max_accounts))
    res = milp(
        c,
        constraints=constraints,
        integrality=np.ones(n * m),
        bounds=Bounds(0.0, allowed.ravel().astype(float)),
        options={"mip_rel_gap": 1e-9},
    )
    if res.status == 2:  # infeasible
        return None
    assert res.status == 0, res.message
    return float(-res.fun)


def pulp_reference(value: np.ndarray, workload: np.ndarray, capacity: np.ndarray) -> float:
    """The GAP written out with PuLP's lpSum and solved with bundled CBC."""
    n, m = value.shape
    prob = pulp.LpProblem("gap_reference", pulp.LpMaximize)
    pairs = [(i, j) for i in range(n) for j in range(m) if np.isfinite(value[i, j])]
    x = {p: pulp.LpVariable(f"x_{p[0]}_{p[1]}", cat="Binary") for p in pairs}
    prob += pulp.lpSum(float(value[i, j]) * x[i, j] for i, j in pairs)
    for i in range(n):
        prob += pulp.lpSum(x[i, j] for j in range(m) if (i, j) in x) == 1
    for j in range(m):
        prob += pulp.lpSum(float(workload[i, j]) * x[i, j] for i in range(n) if (i, j) in x) <= (
            float(capacity[j])
        )
    prob.solve(pulp.PULP_CBC_CMD(msg=False))
    assert pulp.LpStatus[prob.status] == "Optimal"
    return float(pulp.value(prob.objective))


def random_instance(
    rng: np.random.Generator, n: int, m: int, *, forbid: float = 0.2, slack: float = 1.0
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer-success-like data: big accounts take more hours, some pairs forbidden."""
    size = rng.lognormal(1.5, 0.5, n)
    speed = rng.uniform(0.8, 1.25, m)
    workload = np.round(size[:, None] * speed[None, :])
    value = np.round(rng.normal(10.0, 3.0, (n, m)) + size[:, None], 2)
    value[rng.random((n, m)) < forbid] = np.nan
    value[np.arange(n), rng.integers(0, m, n)] = 5.0  # every account keeps one CSM
    capacity = np.full(m, np.ceil(slack * workload.mean() * n / m))
    return value, workload, capacity


# --------------------------------------------------------------------------
# OR-Library benchmark


def read_orlib_gap(path: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Parse an OR-Library GAP file into ``(cost, resource, capacity)`` per problem.

    ``cost`` and ``resource`` come back as jobs × agents (accounts × CSMs).
    """
    tokens = [int(t) for t in path.read_text().split()]
    pos = 0

    def take(k: int) -> list[int]:
        nonlocal pos
        out = tokens[pos : pos + k]
        assert len(out) == k, f"{path.name}: file ends early"
        pos += k
        return out

    problems = []
    for _ in range(take(1)[0]):
        m, n = take(2)
        cost = np.array(take(m * n), dtype=float).reshape(m, n)
        resource = np.array(take(m * n), dtype=float).reshape(m, n)
        capacity = np.array(take(m), dtype=float)
        problems.append((cost.T.copy(), resource.T.copy(), capacity))
    assert pos == len(tokens), f"{path.name}: {len(tokens) - pos} numbers left over"
    return problems


# (file, problem index, minimum, maximum or None)
ORLIB_OPTIMA = [
    *[
        ("gap1.txt", k, lo, hi)
        for k, (lo, hi) in enumerate([(261, 336), (269, 327), (256, 339), (274, 341), (251, 326)])
    ],
    *[
        ("gap5.txt", k, lo, hi)
        for k, (lo, hi) in enumerate([(403, 563), (389, 558), (383, 564), (384, 568), (396, 559)])
    ],
    *[
        ("gap12.txt", k, lo, hi)
        for k, (lo, hi) in enumerate(
            [(974, 1451), (956, 1449), (941, 1433), (954, 1447), (945, 1446)]
        )
    ],
    ("c05100.txt", 0, 1931, None),
    ("c10100.txt", 0, 1402, None),
]


@pytest.mark.parametrize(
    ("filename", "index", "minimum", "maximum"),
    ORLIB_OPTIMA,
    ids=[f"{f.removesuffix('.txt')}-{k + 1}" for f, k, _, _ in ORLIB_OPTIMA],
)
def test_orlib_known_optimum(filename: str, index: int, minimum: int, maximum: int | None) -> None:
    cost, resource, capacity = read_orlib_gap(DATA / filename)[index]

    res = assign_books(-cost, resource, capacity)
    assert res.status == "optimal"
    assert res.solver == "highs"
    assert -res.objective == pytest.approx(minimum, abs=1e-6)
    assert res.gap <= 1e-6
    check_feasible(res, -cost, resource, capacity)

    if maximum is not None:
        res = assign_books(cost, resource, capacity)
        assert res.status == "optimal"
        assert res.objective == pytest.approx(maximum, abs=1e-6)
        check_feasible(res, cost, resource, capacity)


def test_orlib_files_parse_to_expected_sizes() -> None:
    sizes = {
        "gap1.txt": (5, 15, 5),
        "gap5.txt": (5, 24, 8),
        "gap12.txt": (5, 60, 10),
        "c05100.txt": (1, 100, 5),
        "c10100.txt": (1, 100, 10),
    }
    for name, (count, n, m) in sizes.items():
        problems = read_orlib_gap(DATA / name)
        assert len(problems) == count
        for cost, resource, capacity in problems:
            assert cost.shape == resource.shape == (n, m)
            assert capacity.shape == (m,)


def test_orlib_with_cbc_matches() -> None:
    cost, resource, capacity = read_orlib_gap(DATA / "gap1.txt")[0]
    res = assign_books(-cost, resource, capacity, solver="cbc")
    assert res.status == "optimal"
    assert res.solver == "cbc"
    assert -res.objective == pytest.approx(261)
    check_feasible(res, -cost, resource, capacity)


# --------------------------------------------------------------------------
# brute force on tiny instances


@st.composite
def tiny_instances(
    draw: st.DrawFn,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    n = draw(st.integers(1, 7))
    m = draw(st.integers(1, 3))
    k = n * m
    value = np.array(
        draw(st.lists(st.floats(-10, 10, allow_nan=False), min_size=k, max_size=k))
    ).round(2)
    # About one pair in six is forbidden, as nan or as -inf.
    forbid = np.array(draw(st.lists(st.integers(0, 11), min_size=k, max_size=k)))
    value[forbid == 0] = math.nan
    value[forbid == 1] = -math.inf
    value = value.reshape(n, m)
    workload = np.array(draw(st.lists(st.integers(0, 10), min_size=k, max_size=k)))
    capacity = np.array(draw(st.lists(st.integers(0, 30), min_size=m, max_size=m)))
    if draw(st.booleans()):
        max_accounts = np.array(draw(st.lists(st.integers(0, n), min_size=m, max_size=m)))
    else:
        max_accounts = None
    return (
        value,
        workload.reshape(n, m).astype(float),
        capacity.astype(float),
        None if max_accounts is None else max_accounts.astype(float),
    )


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tiny_instances())
def test_matches_brute_force(
    instance: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None],
) -> None:
    value, workload, capacity, max_accounts = instance
    best = brute_force(value, workload, capacity, max_accounts)
    res = assign_books(value, workload, capacity, max_accounts=max_accounts)
    if best is None:
        assert res.status == "infeasible"
        assert res.diagnosis, "an infeasible answer must say why"
        assert (res.csm == -1).all()
        assert math.isnan(res.objective)
    else:
        assert res.status == "optimal"
        assert res.diagnosis == []
        check_feasible(res, value, workload, capacity, max_accounts)
        assert res.objective == pytest.approx(best, abs=1e-6)


# --------------------------------------------------------------------------
# independent formulations on mid-size instances


@pytest.mark.parametrize("seed", range(5))
def test_matches_scipy_milp(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n, m = int(rng.integers(40, 80)), int(rng.integers(3, 8))
    value, workload, capacity = random_instance(rng, n, m, slack=float(rng.uniform(1.05, 1.4)))
    expected = scipy_reference(value, workload, capacity)
    res = assign_books(value, workload, capacity)
    if expected is None:
        assert res.status == "infeasible"
    else:
        assert res.status == "optimal"
        check_feasible(res, value, workload, capacity)
        assert res.objective == pytest.approx(expected, rel=1e-6)
        assert res.bound == pytest.approx(res.objective, rel=1e-6)


@pytest.mark.parametrize("seed", range(3))
def test_count_cap_matches_scipy_milp(seed: int) -> None:
    rng = np.random.default_rng(100 + seed)
    n, m = 50, 5
    value, workload, capacity = random_instance(rng, n, m, slack=1.5)
    max_accounts = rng.integers(9, 14, m).astype(float)
    expected = scipy_reference(value, workload, capacity, max_accounts)
    res = assign_books(value, workload, capacity, max_accounts=max_accounts)
    assert expected is not None
    assert res.status == "optimal"
    check_feasible(res, value, workload, capacity, max_accounts)
    assert res.objective == pytest.approx(expected, rel=1e-6)
    # The caps bind: without them the books are worth at least as much.
    free = assign_books(value, workload, capacity)
    assert free.objective >= res.objective - 1e-9


def test_matches_pulp_lpsum_and_cbc_backend() -> None:
    rng = np.random.default_rng(7)
    value, workload, capacity = random_instance(rng, 30, 4, slack=1.2)
    expected = pulp_reference(value, workload, capacity)
    for solver in ("highs", "cbc", None):
        res = assign_books(value, workload, capacity, solver=solver)
        assert res.status == "optimal"
        check_feasible(res, value, workload, capacity)
        assert res.objective == pytest.approx(expected, rel=1e-6)


def test_pulp_solver_instance_is_accepted() -> None:
    rng = np.random.default_rng(8)
    value, workload, capacity = random_instance(rng, 15, 3, slack=1.3)
    res = assign_books(value, workload, capacity, solver=pulp.PULP_CBC_CMD(msg=False))
    assert res.status == "optimal"
    assert res.objective == pytest.approx(scipy_reference(value, workload, capacity), rel=1e-6)


def test_count_cap_changes_the_answer() -> None:
    # CSM 0 is best for everyone but may only take two accounts.
    value = np.array([[10.0, 1.0], [9.0, 1.0], [8.0, 1.0], [7.0, 1.0]])
    workload = np.ones((4, 2))
    capacity = np.array([10.0, 10.0])
    free = assign_books(value, workload, capacity)
    assert free.csm.tolist() == [0, 0, 0, 0]
    capped = assign_books(value, workload, capacity, max_accounts=[2, np.inf])
    assert capped.csm.tolist() == [0, 0, 1, 1]
    assert capped.objective == pytest.approx(21.0)


# --------------------------------------------------------------------------
# infeasible inputs and their diagnosis


def test_account_without_allowed_csm() -> None:
    value = np.array([[1.0, 2.0], [np.nan, -np.inf], [3.0, 1.0]])
    res = assign_books(value, np.ones((3, 2)), [5.0, 5.0])
    assert res.status == "infeasible"
    assert res.solver == "none"
    assert (res.csm == -1).all()
    assert len(res.diagnosis) == 1
    assert "account index 1" in res.diagnosis[0]
    assert "no allowed CSM" in res.diagnosis[0]


def test_account_too_big_for_every_allowed_csm() -> None:
    value = np.array([[1.0, 2.0, np.nan], [1.0, 1.0, 1.0]])
    workload = np.array([[40.0, 45.0, 1.0], [1.0, 1.0, 1.0]])
    res = assign_books(value, workload, [30.0, 35.0, 100.0])
    assert res.status == "infeasible"
    (reason,) = res.diagnosis
    assert "account index 0 fits no CSM" in reason
    assert "40 h" in reason
    assert "35 h" in reason


def test_account_whose_workload_differs_by_csm_fits_none() -> None:
    workload = np.array([[40.0, 60.0], [1.0, 1.0]])
    res = assign_books(np.ones((2, 2)), workload, [30.0, 50.0])
    assert res.status == "infeasible"
    (reason,) = res.diagnosis
    assert "account index 0 fits no CSM" in reason
    assert "CSM index 0: 40 h > 30 h" in reason and "CSM index 1: 60 h > 50 h" in reason


def test_account_only_fits_a_csm_with_zero_count_cap() -> None:
    value = np.array([[1.0, 2.0], [1.0, 1.0]])
    res = assign_books(value, np.ones((2, 2)), [5.0, 5.0], max_accounts=[0, 0])
    assert res.status == "infeasible"
    assert all("account cap of 0" in r for r in res.diagnosis)


def test_total_workload_above_total_capacity() -> None:
    res = assign_books(np.zeros((4, 2)), np.full((4, 2), 6.0), [10.0, 10.0])
    assert res.status == "infeasible"
    (reason,) = res.diagnosis
    assert "24 h" in reason and "20 h" in reason


def test_more_accounts_than_count_caps() -> None:
    res = assign_books(np.zeros((5, 2)), np.zeros((5, 2)), [10.0, 10.0], max_accounts=[2, 2])
    assert res.status == "infeasible"
    assert any("at most 4" in r for r in res.diagnosis)


def test_forced_accounts_overload_their_only_csm() -> None:
    # Accounts 0-2 can only go to CSM 0 and need 15 h of its 10 h.
    value = np.array([[1.0, np.nan], [1.0, np.nan], [1.0, np.nan], [1.0, 1.0]])
    workload = np.full((4, 2), 5.0)
    res = assign_books(value, workload, [10.0, 100.0])
    assert res.status == "infeasible"
    (reason,) = res.diagnosis
    assert "CSM index 0" in reason and "15 h" in reason


def test_infeasible_only_in_combination_reaches_the_solver() -> None:
    # Three 6 h accounts, two 10 h CSMs: each fits, totals fit (18 <= 20), books don't.
    res = assign_books(np.zeros((3, 2)), np.full((3, 2), 6.0), [10.0, 10.0])
    assert res.status == "infeasible"
    assert res.solver == "highs"
    (reason,) = res.diagnosis
    assert "too tight in combination" in reason


def test_many_bad_accounts_are_summarized() -> None:
    value = np.full((30, 2), np.nan)
    res = assign_books(value, np.ones((30, 2)), [1.0, 1.0])
    assert res.status == "infeasible"
    assert len(res.diagnosis) == 21
    assert "10 more" in res.diagnosis[-1]


# --------------------------------------------------------------------------
# input validation


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"value": np.zeros(3)}, InputError, "2-D"),
        ({"workload": np.zeros((3, 3))}, InputError, "shape"),
        ({"capacity": np.ones(3)}, InputError, "one entry per CSM"),
        ({"value": np.full((3, 2), np.inf)}, InputError, r"\+inf"),
        ({"workload": np.full((3, 2), np.nan)}, InputError, "finite"),
        ({"workload": np.full((3, 2), np.inf)}, InputError, "finite"),
        ({"workload": np.full((3, 2), -1.0)}, InputError, "negative"),
        ({"capacity": np.array([-1.0, 5.0])}, InputError, "non-negative"),
        ({"capacity": np.array([np.nan, 5.0])}, InputError, "non-negative"),
        ({"value": [["a", "b"], ["c", "d"], ["e", "f"]]}, InputError, "numeric"),
        ({"max_accounts": np.array([1.5, 2.0])}, InputError, "whole number"),
        ({"max_accounts": np.array([-1.0, 2.0])}, InputError, "whole number"),
        ({"max_accounts": np.array([1.0])}, InputError, "one entry per CSM"),
        ({"time_limit": 0}, ConfigError, "time_limit"),
        ({"time_limit": -5.0}, ConfigError, "time_limit"),
        ({"mip_gap": -0.1}, ConfigError, "mip_gap"),
        ({"solver": "gurobi-please"}, ConfigError, "unknown solver"),
        ({"solver": 42}, ConfigError, "solver"),
    ],
)
def test_bad_input_raises(kwargs: dict[str, object], error: type[Exception], match: str) -> None:
    args: dict[str, object] = {
        "value": np.ones((3, 2)),
        "workload": np.ones((3, 2)),
        "capacity": np.array([5.0, 5.0]),
    }
    args.update(kwargs)
    with pytest.raises(error, match=match) as info:
        assign_books(**args)  # type: ignore[arg-type]
    assert isinstance(info.value, TierplanError)


def test_input_error_names_the_accounts() -> None:
    workload = np.ones((4, 2))
    workload[2, 1] = -3.0
    with pytest.raises(InputError) as info:
        assign_books(np.ones((4, 2)), workload, [5.0, 5.0])
    assert info.value.column == "workload"
    assert info.value.ids == ["account index 2"]


def test_workload_ignored_on_forbidden_pairs() -> None:
    value = np.array([[1.0, np.nan], [np.nan, 2.0]])
    workload = np.array([[1.0, np.nan], [-7.0, 1.0]])  # junk only where forbidden
    res = assign_books(value, workload, [1.0, 1.0])
    assert res.status == "optimal"
    assert res.csm.tolist() == [0, 1]
    assert res.objective == 3.0


# --------------------------------------------------------------------------
# result object and edge cases


def test_result_is_frozen_and_readable() -> None:
    res = assign_books(np.array([[2.0, 1.0]]), np.ones((1, 2)), [1.0, 1.0])
    assert res.csm.tolist() == [0]
    with pytest.raises(dataclasses.FrozenInstanceError):
        res.status = "infeasible"  # type: ignore[misc]
    with pytest.raises(ValueError):
        res.csm[0] = 1
    text = repr(res)
    assert text.startswith("BookAssignment(status='optimal'")
    assert "objective=2" in text and "solver='highs'" in text
    assert res.feasible


def test_repr_lists_the_diagnosis() -> None:
    res = assign_books(np.full((1, 1), np.nan), np.ones((1, 1)), [1.0])
    assert not res.feasible
    assert "account index 0 has no allowed CSM" in repr(res)


def test_no_accounts() -> None:
    res = assign_books(np.zeros((0, 3)), np.zeros((0, 3)), [1.0, 2.0, 3.0])
    assert res.status == "optimal"
    assert res.csm.shape == (0,)
    assert res.objective == 0.0


def test_no_csms() -> None:
    res = assign_books(np.zeros((2, 0)), np.zeros((2, 0)), np.zeros(0))
    assert res.status == "infeasible"
    assert len(res.diagnosis) == 2


def test_unlimited_capacity_and_plain_lists() -> None:
    res = assign_books([[1, 5], [4, 2]], [[100, 100], [100, 100]], [math.inf, math.inf])
    assert res.status == "optimal"
    assert res.csm.tolist() == [1, 0]
    assert res.objective == 9.0


def test_time_limit_returns_honest_gap() -> None:
    # Correlated values (type D): hard for any MIP at this size.
    rng = np.random.default_rng(3)
    n, m = 300, 20
    workload = rng.integers(1, 101, (n, m)).astype(float)
    value = -(111.0 - workload + rng.integers(-10, 11, (n, m)))
    capacity = 0.8 * workload.sum(axis=0) / m
    res = assign_books(value, workload, capacity, time_limit=1.0)
    assert res.status == "time_limit"
    assert res.seconds < 20
    if res.feasible:
        check_feasible(res, value, workload, capacity)
        assert res.bound >= res.objective - 1e-6
        assert res.gap == pytest.approx(
            abs(res.bound - res.objective) / max(abs(res.bound), abs(res.objective)), rel=1e-6
        )
    else:
        assert (res.csm == -1).all()
        assert math.isnan(res.objective)
        assert res.gap == math.inf


def test_mip_gap_allows_early_stop() -> None:
    rng = np.random.default_rng(11)
    value, workload, capacity = random_instance(rng, 60, 5, slack=1.1)
    exact = assign_books(value, workload, capacity)
    loose = assign_books(value, workload, capacity, mip_gap=0.05)
    assert loose.status == "optimal"
    check_feasible(loose, value, workload, capacity)
    assert loose.objective >= exact.objective * (1 - 0.05) - 1e-9
    assert loose.objective <= exact.objective + 1e-6
