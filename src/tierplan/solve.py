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

import math
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt

from tierplan.formulation import build_pool_program
from tierplan.mip import SolveStatus, resolve_solver, solve_program
from tierplan.pools import PoolSet

__all__ = ["PoolSolution", "solve_pools"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


_LABELS = {"cbc": "CBC", "highs": "HiGHS"}


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

    Returns
    -------
    PoolSolution
        Choice per account (``-1`` everywhere when infeasible).
    """
    n = eligible.shape[0]
    if solver is None and _network_available():
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

    backend = resolve_solver(solver)
    start = time.perf_counter()
    built = build_pool_program(pool_values, eligible, pools.capacity, pools.minimum)
    build_seconds = time.perf_counter() - start
    result = solve_program(
        built.program, solver=backend, time_limit=time_limit, mip_gap=mip_gap, verbose=verbose
    )
    name = result.solver if isinstance(backend, str) else type(backend).__name__
    info = {
        "path": "mip",
        "method": f"MIP ({_LABELS.get(name, name)})",
        "why": "solver chosen by the caller" if solver is not None else "side constraints",
        "variables": built.program.n_cols,
        "constraints": built.program.n_rows,
        "build_seconds": build_seconds,
    }
    if result.x is None:
        return PoolSolution(
            "infeasible" if result.status == "infeasible" else "time_limit",
            np.full(n, -1, dtype=np.int64),
            math.nan,
            result.bound,
            math.inf,
            result.seconds,
            info,
        )
    choice = built.choice(result.x, n)
    return PoolSolution(
        result.status, choice, result.objective, result.bound, result.gap, result.seconds, info
    )
