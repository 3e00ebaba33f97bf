"""Solve the pool program: pick the path, run it, report status in one shape.

Two paths reach the same optimum:

* **network path** (default when the program is a pure transportation
  problem, i.e. capacities count accounts and nothing else binds): an exact
  min-cost-flow algorithm (:mod:`tierplan.transport`), orders of magnitude
  faster than a general MIP solver on large account bases;
* **MIP path**: the program built as arrays (:mod:`tierplan.formulation`)
  and handed to CBC (bundled with PuLP, the default MIP solver), HiGHS or
  any PuLP solver. Chosen when the user names a solver, or when side
  constraints break the network structure.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from tierplan.formulation import SideRow, build_pool_program
from tierplan.mip import (
    DEFAULT_MIP_GAP,
    ArrayProgram,
    SolveStatus,
    relative_gap,
    resolve_solver,
    solve_program,
)
from tierplan.pools import PoolSet

__all__ = ["PoolSolution", "solve_pools"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


_LABELS = {"cbc": "CBC", "highs": "HiGHS"}

#: A column value farther than this from 0 and 1 counts as fractional.
_INTEGRAL_TOL = 1e-6

#: Accounts re-optimized in the first repair round (then ×4 per round).
_REPAIR_START = 2_000


def _switch_margin(objective: FloatArray, account: IntArray, x: FloatArray) -> FloatArray:
    """Per account: value of its current pool minus its best other pool (small = near a switch)."""
    n = int(account.max()) + 1
    current = np.bincount(account, weights=objective * x, minlength=n)
    other = np.full(n, -np.inf)
    np.maximum.at(other, account[x < 0.5], objective[x < 0.5])
    return np.asarray(np.abs(current - other), dtype=np.float64)


@dataclass(frozen=True)
class PoolSolution:
    """The pool chosen for every account, with the solve's status and bounds."""

    status: SolveStatus
    choice: IntArray
    objective: float
    bound: float
    gap: float
    seconds: float
    info: dict[str, Any] = field(default_factory=dict)


def _label(backend: object) -> str:
    """The solver's name as reports show it."""
    return _LABELS.get(backend, backend) if isinstance(backend, str) else type(backend).__name__


def _network_available() -> bool:
    try:
        import tierplan.transport  # noqa: F401
    except ImportError:  # pragma: no cover - the module ships with the package
        return False
    return True


def solve_pools(
    pool_values: FloatArray,
    eligible: BoolArray,
    pools: PoolSet,
    *,
    solver: object = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    verbose: bool = False,
    side: tuple[SideRow, ...] = (),
) -> PoolSolution:
    """Maximize total value over (account, pool) choices.

    Parameters
    ----------
    pool_values
        Value of each account in each pool (accounts × pools).
    eligible
        Allowed (account, pool) pairs.
    pools
        The pools (capacities and minimums).
    solver
        ``None`` (automatic: the network path, which is exact; with side
        rows, CBC, or HiGHS from :data:`SIFT_MIN_ACCOUNTS` accounts on),
        ``"cbc"``, ``"highs"`` or a PuLP solver instance (the MIP path).
    time_limit
        Seconds for the MIP path.
    mip_gap
        Relative gap for the MIP path.
    verbose
        Show the solver log.
    side
        Side constraints (hours, budget); any forces the MIP path.

    Returns
    -------
    PoolSolution
        Choice per account (``-1`` everywhere when infeasible).
    """
    n = eligible.shape[0]
    if solver is None and not side and _network_available():
        from tierplan.transport import solve_transport

        start = time.perf_counter()
        sol = solve_transport(pool_values, eligible, pools.capacity, pools.minimum)
        seconds = time.perf_counter() - start
        info: dict[str, Any] = {
            "path": "network",
            "method": sol.method,
            "why": "capacities count accounts and nothing else binds: the program is a "
            "transportation problem, solved exactly as a min-cost flow",
        }
        if sol.status == "infeasible":
            return PoolSolution(
                "infeasible",
                np.full(n, -1, dtype=np.int64),
                math.nan,
                math.nan,
                math.nan,
                seconds,
                info,
            )
        return PoolSolution(
            "optimal",
            sol.choice.astype(np.int64),
            sol.objective,
            sol.objective,
            0.0,
            seconds,
            info,
        )

    backend = resolve_solver(solver if solver is not None else "cbc")
    start = time.perf_counter()
    if side and n >= SIFT_MIN_ACCOUNTS:
        # Left to choose, the core's MIP goes to HiGHS: at this size CBC
        # takes ten times longer to reach the same gap.
        core_backend = resolve_solver("highs") if solver is None else backend
        sifted = _solve_sifted(
            pool_values, eligible, pools, core_backend, side, time_limit, mip_gap, verbose
        )
        if sifted is not None:
            return sifted
    built = build_pool_program(pool_values, eligible, pools.capacity, pools.minimum, side)
    build_seconds = time.perf_counter() - start
    status, x, objective, bound, gap, steps = _lp_then_mip(
        built.program, built.account, backend, time_limit, mip_gap, verbose
    )
    seconds = time.perf_counter() - start
    label = _label(backend)
    info = {
        "path": "mip",
        "method": f"{' + '.join(steps)} ({label})",
        "why": "side constraints (" + ", ".join(r.name for r in side) + ")"
        if side
        else "solver chosen by the caller",
        "variables": built.program.n_cols,
        "constraints": built.program.n_rows,
        "build_seconds": build_seconds,
    }
    if x is None:
        return PoolSolution(
            status, np.full(n, -1, dtype=np.int64), math.nan, bound, math.inf, seconds, info
        )
    return PoolSolution(status, built.choice(x, n), objective, bound, gap, seconds, info)


#: Most split accounts the greedy rounding handles (one small step each).
_ROUND_MAX = 2_000


def _round_split(
    program: ArrayProgram, account: IntArray, x: FloatArray, fractional: BoolArray
) -> FloatArray | None:
    """Place every account the LP split in its best pool that still fits.

    Accounts go in order of their LP value; each takes the best of its
    columns whose rows stay within their upper limits. ``None`` when some
    account fits nowhere or a lower limit (a minimum book) ends up unmet.
    """
    split = np.unique(account[fractional])
    if split.shape[0] > _ROUND_MAX:
        return None
    free = np.isin(account, split)
    out = np.where(free, 0.0, np.round(x))
    activity = program.matrix @ out
    csc = sp.csc_array(program.matrix)
    tol = 1e-9 * np.maximum(1.0, np.abs(program.row_upper))
    cols = np.flatnonzero(free)
    # The split accounts' columns, grouped per account, best objective first.
    cols = cols[np.lexsort((-program.objective[cols], account[cols]))]
    starts = np.searchsorted(account[cols], split)
    ends = np.searchsorted(account[cols], split, side="right")
    weight = np.bincount(account[cols], weights=(program.objective * x)[cols])[split]
    for k in np.argsort(-weight, kind="stable"):
        for c in cols[starts[k] : ends[k]]:
            lo, hi = csc.indptr[c], csc.indptr[c + 1]
            rows, data = csc.indices[lo:hi], csc.data[lo:hi]
            if (activity[rows] + data <= program.row_upper[rows] + tol[rows]).all():
                activity[rows] += data
                out[c] = 1.0
                break
        else:
            return None
    low_tol = 1e-9 * np.maximum(1.0, np.abs(program.row_lower))
    if (activity < program.row_lower - np.where(np.isfinite(low_tol), low_tol, 0.0)).any():
        return None
    return out


#: From this many accounts on, a program with side rows is solved on a core
#: of accounts (:mod:`tierplan.sifting`) instead of all of them at once.
SIFT_MIN_ACCOUNTS = 20_000


def _solve_sifted(
    pool_values: FloatArray,
    eligible: BoolArray,
    pools: PoolSet,
    backend: object,
    side: tuple[SideRow, ...],
    time_limit: float | None,
    mip_gap: float | None,
    verbose: bool,
) -> PoolSolution | None:
    """LP on a core of accounts, then the MIP step on the core alone.

    Returns ``None`` when sifting cannot settle the core (the caller then
    solves the whole program).
    """
    from tierplan.sifting import sift

    start = time.perf_counter()
    n = eligible.shape[0]
    target = DEFAULT_MIP_GAP if mip_gap is None else float(mip_gap)
    core = sift(pool_values, eligible, pools.capacity, pools.minimum, side, time_limit=time_limit)
    if core is None:
        return None
    sift_seconds = time.perf_counter() - start
    left = None if time_limit is None else max(time_limit - sift_seconds, 1e-3)
    # The gap asked for is relative to the whole plan's value; the core
    # holds a fraction of it, so the same absolute slack is a wider gap there.
    core_value = abs(core.lp_objective - core.fixed_value)
    core_target = target * abs(core.lp_objective) / max(core_value, 1e-9)
    status, x, objective, _, _, steps = _lp_then_mip(
        core.program.program, core.program.account, backend, left, core_target, verbose
    )
    if x is None:
        # The core alone has no integral plan within what the fixed accounts
        # leave: solve the whole program instead.
        return None
    choice = core.fixed_choice.copy()
    choice[core.accounts] = core.program.choice(x, core.accounts.shape[0])
    total = objective + core.fixed_value
    bound = max(core.bound, total)
    gap = relative_gap(total, bound)
    final: SolveStatus = "optimal" if gap <= target else "time_limit"
    label = _label(backend)
    info: dict[str, Any] = {
        "path": "mip",
        "method": (
            f"LP relaxation on a core of {core.accounts.shape[0]:,} of {n:,} accounts "
            f"({core.rounds} pricing rounds, HiGHS) + "
            + " + ".join(steps[1:] or ["integral vertex"])
            + f" ({label})"
        ),
        "why": "side constraints (" + ", ".join(r.name for r in side) + ")",
        "core_accounts": int(core.accounts.shape[0]),
        "lp_bound": core.lp_objective,
        "sift_seconds": sift_seconds,
        "variables": core.program.program.n_cols,
        "constraints": core.program.program.n_rows,
    }
    seconds = time.perf_counter() - start
    if status == "infeasible":
        return None
    return PoolSolution(final, choice, total, bound, gap, seconds, info)


def _lp_then_mip(
    program: ArrayProgram,
    account: IntArray,
    backend: object,
    time_limit: float | None,
    mip_gap: float | None,
    verbose: bool,
) -> tuple[SolveStatus, FloatArray | None, float, float, float, list[str]]:
    """Solve the LP relaxation, repair split accounts, then (if needed) the full MIP.

    The full MIP runs only when the repaired plan is not provably within
    ``mip_gap`` of the LP bound.
    Without side constraints the pool program's LP has integral vertices, so
    the simplex answer is the MIP optimum. With k side constraints a vertex
    has at most about k accounts split between pools; re-solving just those
    accounts as a small MIP (everything else fixed) gives a feasible plan
    whose distance to the LP bound is an honest gap. General MIP search on
    hundreds of thousands of binaries is the last resort, not the first.
    """
    start = time.perf_counter()
    target = DEFAULT_MIP_GAP if mip_gap is None else float(mip_gap)

    def remaining() -> float | None:
        if time_limit is None:
            return None
        return max(time_limit - (time.perf_counter() - start), 1e-3)

    relaxed = dataclasses.replace(program, integer=np.zeros(program.n_cols, dtype=bool))
    lp = solve_program(relaxed, solver=backend, time_limit=remaining(), verbose=verbose)
    steps = ["LP relaxation"]
    if lp.status == "infeasible":
        return "infeasible", None, math.nan, math.nan, math.nan, steps
    if lp.x is None:
        return "time_limit", None, math.nan, math.inf, math.inf, steps
    bound = lp.objective
    x = lp.x
    fractional = (x > _INTEGRAL_TOL) & (x < 1.0 - _INTEGRAL_TOL)
    if not fractional.any():
        x = np.round(x)
        objective = float(program.objective @ x)
        return "optimal", x, objective, max(bound, objective), 0.0, [*steps, "integral vertex"]

    # Round first: a vertex splits only a handful of accounts, and placing
    # each where it still fits usually lands within the gap at no cost.
    best_x = _round_split(program, account, x, fractional)
    best_obj = -math.inf
    if best_x is not None:
        best_obj = float(program.objective @ best_x)
        if relative_gap(best_obj, bound) <= target:
            split_count = np.unique(account[fractional]).shape[0]
            return (
                "optimal",
                best_x,
                best_obj,
                max(bound, best_obj),
                relative_gap(best_obj, bound),
                [*steps, f"rounding of {split_count:,} split accounts"],
            )

    # Repair: re-solve the accounts the LP split, plus the accounts closest
    # to switching pools, with everything else fixed; widen the neighbourhood
    # until the plan is provably within the gap.
    rounded = np.round(x)
    split = np.zeros(int(account.max()) + 1, dtype=bool)
    split[account[fractional]] = True
    margin = _switch_margin(program.objective, account, rounded)
    n_accounts = split.shape[0]
    size = _REPAIR_START
    while True:
        near = np.argsort(margin, kind="stable")[: min(size, n_accounts)]
        chosen = split.copy()
        chosen[near] = True
        free = chosen[account]
        fixed = np.where(free, 0.0, rounded)
        used = program.matrix @ fixed
        sub_matrix = program.matrix[:, np.flatnonzero(free)]
        touched = np.unique(sp.coo_array(sub_matrix).row)
        repair = ArrayProgram(
            objective=program.objective[free],
            matrix=sp.csr_array(sub_matrix[touched]),
            row_lower=program.row_lower[touched] - used[touched],
            row_upper=program.row_upper[touched] - used[touched],
            col_lower=program.col_lower[free],
            col_upper=program.col_upper[free],
            integer=program.integer[free],
            maximize=program.maximize,
        )
        result = solve_program(repair, solver=backend, time_limit=remaining(), mip_gap=target)
        if result.x is not None:
            candidate = fixed.copy()
            candidate[free] = result.x
            objective = float(program.objective @ candidate)
            if objective > best_obj:
                best_x, best_obj = candidate, objective
        freed = int(chosen.sum())
        if freed >= n_accounts:
            # Nothing was fixed: this was the full MIP, and its bound holds.
            if result.status == "infeasible":
                return "infeasible", None, math.nan, math.nan, math.nan, [*steps, "full MIP"]
            if math.isfinite(result.bound):
                # A solver that stops at `target` only promises that much:
                # never report a tighter bound than it proved.
                proved = result.bound
                if result.status == "optimal" and proved == result.objective:
                    proved = result.objective + target * max(abs(result.objective), 1e-9)
                bound = min(bound, proved)
        if best_x is not None and relative_gap(best_obj, bound) <= target:
            steps.append(f"repair of {freed:,} accounts near a switch")
            return "optimal", best_x, best_obj, bound, relative_gap(best_obj, bound), steps
        left = remaining()
        out_of_time = left is not None and left <= 1e-3
        if freed >= n_accounts or out_of_time:
            steps.append(f"repair of {freed:,} accounts near a switch")
            if out_of_time and best_x is not None:
                gap = relative_gap(best_obj, bound)
                return "time_limit", best_x, best_obj, bound, gap, steps
            break
        size *= 4

    if best_x is None:
        return "time_limit", None, math.nan, bound, math.inf, steps
    gap = relative_gap(best_obj, bound)
    status: SolveStatus = "optimal" if gap <= target else "time_limit"
    return status, best_x, best_obj, max(bound, best_obj), gap, steps
