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
        ``None`` (automatic: the network path, which is exact), ``"cbc"``,
        ``"highs"`` or a PuLP solver instance (the MIP path).
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
    built = build_pool_program(pool_values, eligible, pools.capacity, pools.minimum, side)
    build_seconds = time.perf_counter() - start
    status, x, objective, bound, gap, steps = _lp_then_mip(
        built.program, built.account, backend, time_limit, mip_gap, verbose
    )
    seconds = time.perf_counter() - start
    label = _LABELS.get(backend, backend) if isinstance(backend, str) else type(backend).__name__
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

    # Repair: re-solve the accounts the LP split, plus the accounts closest
    # to switching pools, with everything else fixed; widen the neighbourhood
    # until the plan is provably within the gap.
    rounded = np.round(x)
    split = np.zeros(int(account.max()) + 1, dtype=bool)
    split[account[fractional]] = True
    margin = _switch_margin(program.objective, account, rounded)
    best_x: FloatArray | None = None
    best_obj = -math.inf
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
