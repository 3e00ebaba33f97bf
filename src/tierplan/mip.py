"""A mixed-integer program held as arrays, and the solvers that take it.

Every program tierplan builds (the pool program, the book assignment) is a
:class:`ArrayProgram`: an objective vector, a sparse constraint matrix and
bounds. Building from arrays keeps model construction vectorized; the
solver backends translate the arrays once:

* ``"highs"``: HiGHS through its own array interface (no per-variable Python
  objects), the fast open solver;
* ``"cbc"``: CBC, bundled with PuLP, through PuLP's modelling layer;
* any ``pulp.LpSolver`` instance, for users who have another solver set up
  in PuLP (Gurobi, CPLEX, ...).

Infeasible and time-limited programs are statuses, never exceptions; only a
solver that breaks raises :class:`~tierplan.errors.SolverError`.
"""

from __future__ import annotations

import math
import os
import re
import sys
import tempfile
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pulp
import scipy.sparse as sp

from tierplan.errors import ConfigError, SolverError

__all__ = [
    "ArrayProgram",
    "LPResult",
    "MIPResult",
    "SolveStatus",
    "new_highs",
    "resolve_solver",
    "solve_lp",
    "solve_program",
]

SolveStatus = Literal["optimal", "time_limit", "infeasible"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Relative gap under which a MIP counts as solved to optimality.
DEFAULT_MIP_GAP = 1e-6


@dataclass(frozen=True)
class ArrayProgram:
    """``max (or min) c·x`` s.t. ``row_lower <= A x <= row_upper``, bounds, integrality.

    Attributes
    ----------
    objective
        Objective coefficient per column.
    matrix
        Constraint matrix (rows × columns), any scipy sparse format.
    row_lower, row_upper
        Row bounds; ``-inf``/``inf`` for one-sided rows.
    col_lower, col_upper
        Column bounds.
    integer
        Which columns are integer.
    maximize
        Sense of the objective.
    """

    objective: FloatArray
    matrix: sp.csr_array
    row_lower: FloatArray
    row_upper: FloatArray
    col_lower: FloatArray
    col_upper: FloatArray
    integer: BoolArray
    maximize: bool = True

    @property
    def n_cols(self) -> int:
        """Number of columns (variables)."""
        return int(self.objective.shape[0])

    @property
    def n_rows(self) -> int:
        """Number of rows (constraints)."""
        return int(self.matrix.shape[0])

    @classmethod
    def binary(
        cls,
        objective: npt.ArrayLike,
        matrix: Any,
        row_lower: npt.ArrayLike,
        row_upper: npt.ArrayLike,
        *,
        maximize: bool = True,
    ) -> ArrayProgram:
        """Build a program whose columns are all binary.

        Parameters
        ----------
        objective
            Objective coefficient per column.
        matrix
            Constraint matrix, dense or sparse.
        row_lower, row_upper
            Row bounds.
        maximize
            Sense of the objective.

        Returns
        -------
        ArrayProgram
            The program.
        """
        c = np.asarray(objective, dtype=np.float64)
        n = c.shape[0]
        return cls(
            objective=c,
            matrix=sp.csr_array(matrix),
            row_lower=np.asarray(row_lower, dtype=np.float64),
            row_upper=np.asarray(row_upper, dtype=np.float64),
            col_lower=np.zeros(n),
            col_upper=np.ones(n),
            integer=np.ones(n, dtype=bool),
            maximize=maximize,
        )


@dataclass(frozen=True)
class MIPResult:
    """What a solver returned for an :class:`ArrayProgram`.

    Attributes
    ----------
    status
        ``"optimal"``, ``"time_limit"`` (a feasible solution, maybe not
        optimal; or none if ``x`` is ``None``) or ``"infeasible"``.
    x
        Column values, or ``None`` when no feasible solution was found.
    objective
        Objective of ``x`` (``nan`` without a solution).
    bound
        Best proven bound on the optimum (upper bound when maximizing).
    gap
        Relative gap ``|bound - objective| / max(|objective|, 1e-9)``.
    seconds
        Wall-clock solve time.
    solver
        Name of the backend that ran.
    """

    status: SolveStatus
    x: FloatArray | None
    objective: float
    bound: float
    gap: float
    seconds: float
    solver: str


def relative_gap(objective: float, bound: float) -> float:
    """Relative optimality gap, 0 when both are equal (also when both are 0).

    Parameters
    ----------
    objective
        Value of the incumbent.
    bound
        Proven bound.

    Returns
    -------
    float
        ``|bound - objective| / max(|objective|, |bound|, 1e-9)``.
    """
    if not (math.isfinite(objective) and math.isfinite(bound)):
        return math.inf
    diff = abs(bound - objective)
    if diff <= 1e-9 * max(1.0, abs(bound)):
        return 0.0
    return diff / max(abs(objective), abs(bound), 1e-9)


def resolve_solver(solver: object) -> object:
    """Normalize the ``solver`` option: ``None``/``"cbc"``/``"highs"``/PuLP solver.

    Parameters
    ----------
    solver
        What the user passed.

    Returns
    -------
    object
        ``"cbc"``, ``"highs"`` or the PuLP solver instance.

    Raises
    ------
    ConfigError
        For an unknown solver name.
    """
    if solver is None:
        return "cbc"
    if isinstance(solver, str):
        name = solver.lower()
        if name in {"cbc", "pulp_cbc", "pulp_cbc_cmd"}:
            return "cbc"
        if name in {"highs", "highspy"}:
            return "highs"
        raise ConfigError(
            f"solver: unknown solver '{solver}'; use 'cbc' (bundled), 'highs', "
            "or a pulp solver instance"
        )
    if isinstance(solver, pulp.LpSolver):
        return solver
    raise ConfigError(f"solver: expected a name or a pulp solver, got {type(solver).__name__}")


def solve_program(
    program: ArrayProgram,
    *,
    solver: object = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    threads: int | None = None,
    verbose: bool = False,
) -> MIPResult:
    """Solve an :class:`ArrayProgram`.

    Parameters
    ----------
    program
        The program.
    solver
        ``"cbc"`` (default), ``"highs"`` or a ``pulp.LpSolver`` instance.
    time_limit
        Seconds; the best solution found by then is returned with its gap.
    mip_gap
        Relative gap at which to stop (default ``1e-6``).
    threads
        Solver threads where the backend supports it.
    verbose
        Show the solver log.

    Returns
    -------
    MIPResult
        Status, solution, objective, bound and gap.
    """
    if time_limit is not None and not time_limit > 0:
        raise ConfigError(f"time_limit: must be a positive number of seconds, got {time_limit}")
    backend = resolve_solver(solver)
    gap = DEFAULT_MIP_GAP if mip_gap is None else float(mip_gap)
    start = time.perf_counter()
    if program.n_cols == 0:
        return MIPResult("optimal", np.zeros(0), 0.0, 0.0, 0.0, 0.0, "none")
    if backend == "highs":
        result = _solve_highs(program, time_limit, gap, threads, verbose)
    else:
        result = _solve_pulp(program, backend, time_limit, gap, threads, verbose)
    status, x, objective, bound, name = result
    seconds = time.perf_counter() - start
    if x is not None:
        # Round integer columns: solvers return 0.9999999 for 1.
        x = np.where(program.integer, np.round(x), x)
        objective = float(program.objective @ x)
    if status == "optimal" and x is not None:
        bound = objective if not math.isfinite(bound) else bound
    gap_value = relative_gap(objective, bound) if x is not None else math.inf
    if status == "optimal":
        gap_value = min(gap_value, gap) if gap_value <= gap else gap_value
    return MIPResult(status, x, objective, bound, gap_value, seconds, name)


_Raw = tuple[SolveStatus, FloatArray | None, float, float, str]

_HIGHS_GREETED = False


def new_highs() -> Any:
    """A silent ``highspy.Highs`` instance.

    HiGHS prints its banner on the process's standard output the first time
    an instance is made, before any option can turn output off; a command
    line tool's output should not carry it, so the first construction runs
    with file descriptor 1 pointed at the null device.

    Returns
    -------
    highspy.Highs
        A solver instance with ``output_flag`` off.
    """
    global _HIGHS_GREETED
    import highspy

    if _HIGHS_GREETED:
        h = highspy.Highs()  # type: ignore[no-untyped-call]
    else:
        sys.stdout.flush()
        saved = os.dup(1)
        try:
            with open(os.devnull, "w") as null:
                os.dup2(null.fileno(), 1)
                h = highspy.Highs()  # type: ignore[no-untyped-call]
        finally:
            os.dup2(saved, 1)
            os.close(saved)
        _HIGHS_GREETED = True
    h.setOptionValue("output_flag", False)
    return h


def _highs_lp(program: ArrayProgram) -> Any:
    """The program as a ``highspy.HighsLp``, passed as column-wise arrays."""
    import highspy

    csc = sp.csc_array(program.matrix)
    csc.sort_indices()
    lp = highspy.HighsLp()
    lp.num_col_ = program.n_cols
    lp.num_row_ = program.n_rows
    lp.col_cost_ = program.objective
    lp.col_lower_ = program.col_lower
    lp.col_upper_ = program.col_upper
    lp.row_lower_ = program.row_lower
    lp.row_upper_ = program.row_upper
    lp.sense_ = highspy.ObjSense.kMaximize if program.maximize else highspy.ObjSense.kMinimize
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = csc.indptr.astype(np.int32)
    lp.a_matrix_.index_ = csc.indices.astype(np.int32)
    lp.a_matrix_.value_ = csc.data.astype(np.float64)
    lp.a_matrix_.num_col_ = program.n_cols
    lp.a_matrix_.num_row_ = program.n_rows
    if program.integer.any():
        lp.integrality_ = [
            highspy.HighsVarType.kInteger if flag else highspy.HighsVarType.kContinuous
            for flag in program.integer.tolist()
        ]
    return lp


@dataclass(frozen=True)
class LPResult:
    """A linear program's solution with its row duals.

    Attributes
    ----------
    status
        ``"optimal"``, ``"time_limit"`` or ``"infeasible"``.
    x
        Column values (``None`` unless optimal).
    objective
        Objective value (``nan`` unless optimal).
    row_dual
        Change of the objective per unit of each row's active bound
        (``None`` unless optimal).
    """

    status: SolveStatus
    x: FloatArray | None
    objective: float
    row_dual: FloatArray | None


def solve_lp(program: ArrayProgram, *, time_limit: float | None = None) -> LPResult:
    """Solve the linear relaxation of a program with HiGHS, returning row duals.

    Parameters
    ----------
    program
        The program; integrality is ignored.
    time_limit
        Seconds.

    Returns
    -------
    LPResult
        Status, solution, objective and duals.
    """
    import highspy

    relaxed = ArrayProgram(
        program.objective,
        program.matrix,
        program.row_lower,
        program.row_upper,
        program.col_lower,
        program.col_upper,
        np.zeros(program.n_cols, dtype=bool),
        program.maximize,
    )
    h = new_highs()
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    h.passModel(_highs_lp(relaxed))
    h.run()
    status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    if status == ms.kOptimal:
        solution = h.getSolution()
        return LPResult(
            "optimal",
            np.asarray(solution.col_value, dtype=np.float64),
            float(h.getInfo().objective_function_value),
            np.asarray(solution.row_dual, dtype=np.float64),
        )
    if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return LPResult("infeasible", None, math.nan, None)
    if status in (ms.kTimeLimit, ms.kIterationLimit, ms.kInterrupt):
        return LPResult("time_limit", None, math.nan, None)
    raise SolverError(f"HiGHS stopped with status {h.modelStatusToString(status)}")


def _solve_highs(
    program: ArrayProgram,
    time_limit: float | None,
    gap: float,
    threads: int | None,
    verbose: bool,
) -> _Raw:
    import highspy

    h = new_highs()
    h.setOptionValue("output_flag", bool(verbose))
    h.setOptionValue("mip_rel_gap", gap)
    if time_limit is not None:
        h.setOptionValue("time_limit", float(time_limit))
    if threads is not None:
        h.setOptionValue("threads", int(threads))
    lp = _highs_lp(program)
    h.passModel(lp)
    h.run()
    status = h.getModelStatus()
    ms = highspy.HighsModelStatus
    info = h.getInfo()
    has_solution = info.primal_solution_status == 2  # kSolutionStatusFeasible
    x = np.asarray(h.getSolution().col_value, dtype=np.float64) if has_solution else None
    objective = float(info.objective_function_value) if has_solution else math.nan
    is_mip = bool(program.integer.any())
    bound = float(info.mip_dual_bound) if is_mip else objective
    if status == ms.kOptimal:
        return "optimal", x, objective, bound if math.isfinite(bound) else objective, "highs"
    if status in (ms.kInfeasible, ms.kUnboundedOrInfeasible):
        return "infeasible", None, math.nan, math.nan, "highs"
    if status in (ms.kTimeLimit, ms.kIterationLimit, ms.kSolutionLimit, ms.kInterrupt):
        return "time_limit", x, objective, bound, "highs"
    raise SolverError(f"HiGHS stopped with status {h.modelStatusToString(status)}")


def _solve_pulp(
    program: ArrayProgram,
    backend: object,
    time_limit: float | None,
    gap: float,
    threads: int | None,
    verbose: bool,
) -> _Raw:
    sense = pulp.LpMaximize if program.maximize else pulp.LpMinimize
    prob = pulp.LpProblem("tierplan", sense)
    n = program.n_cols
    lower = [None if not math.isfinite(v) else float(v) for v in program.col_lower.tolist()]
    upper = [None if not math.isfinite(v) else float(v) for v in program.col_upper.tolist()]
    cats = ["Integer" if f else "Continuous" for f in program.integer.tolist()]
    variables = [
        prob.add_variable(f"x{j}", lowBound=lower[j], upBound=upper[j], cat=cats[j])
        for j in range(n)
    ]
    nz = np.flatnonzero(program.objective)
    prob.setObjective(
        pulp.LpAffineExpression(
            [
                (variables[j], c)
                for j, c in zip(nz.tolist(), program.objective[nz].tolist(), strict=True)
            ]
        )
    )
    csr = sp.csr_array(program.matrix)
    indptr, indices, data = csr.indptr, csr.indices.tolist(), csr.data.tolist()
    lo, hi = program.row_lower.tolist(), program.row_upper.tolist()
    for r in range(program.n_rows):
        a, b = int(indptr[r]), int(indptr[r + 1])
        terms = [(variables[j], v) for j, v in zip(indices[a:b], data[a:b], strict=True)]
        if lo[r] == hi[r]:
            prob.addConstraint(
                pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintEQ, rhs=lo[r])
            )
            continue
        if math.isfinite(lo[r]):
            prob.addConstraint(
                pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintGE, rhs=lo[r])
            )
        if math.isfinite(hi[r]):
            prob.addConstraint(
                pulp.LpConstraint(pulp.LpAffineExpression(terms), pulp.LpConstraintLE, rhs=hi[r])
            )

    if backend == "cbc":
        with tempfile.TemporaryDirectory(prefix="tierplan-") as tmp:
            log_path = os.path.join(tmp, "cbc.log")
            options: dict[str, Any] = {
                "msg": verbose,
                "gapRel": gap,
                "timeLimit": time_limit,
                "logPath": log_path,
            }
            if threads is not None:
                options["threads"] = threads
            with warnings.catch_warnings():
                # PuLP 3.x announces that its bundled CBC moves to an extra in
                # 4.0; the dependency pins PuLP below 4, so the warning is noise.
                warnings.simplefilter("ignore", DeprecationWarning)
                cmd = pulp.PULP_CBC_CMD(**options)
                try:
                    prob.solve(cmd)
                except pulp.PulpSolverError as exc:
                    raise SolverError(f"CBC failed: {exc}") from exc
            log_file = Path(log_path)
            log = (
                log_file.read_text(encoding="utf-8", errors="replace") if log_file.exists() else ""
            )
        name = "cbc"
    else:
        solver_obj: Any = backend
        try:
            prob.solve(solver_obj)
        except pulp.PulpSolverError as exc:
            raise SolverError(f"{type(solver_obj).__name__} failed: {exc}") from exc
        log = ""
        name = type(solver_obj).__name__

    sol_status = prob.sol_status
    if prob.status == pulp.LpStatusInfeasible or sol_status == pulp.LpSolutionInfeasible:
        return "infeasible", None, math.nan, math.nan, name
    if sol_status in (pulp.LpSolutionOptimal, pulp.LpSolutionIntegerFeasible):
        x = np.array([v.varValue if v.varValue is not None else 0.0 for v in variables])
        objective = float(program.objective @ x)
        stopped = "Stopped on time" in log or "Stopped on iterations" in log
        if sol_status == pulp.LpSolutionOptimal and not stopped:
            if not program.integer.any() or "within gap tolerance" not in log:
                return "optimal", x, objective, objective, name
            # CBC stopped at the relative gap asked for: its bound may sit
            # above the incumbent. Read it off the log, or assume the whole gap.
            bound = _cbc_bound(log, program.maximize)
            if not math.isfinite(bound):
                slack = gap * max(abs(objective), 1e-9)
                bound = objective + slack if program.maximize else objective - slack
            return "optimal", x, objective, bound, name
        return "time_limit", x, objective, _cbc_bound(log, program.maximize), name
    if prob.status == pulp.LpStatusNotSolved or sol_status == pulp.LpSolutionNoSolutionFound:
        if time_limit is not None:
            return "time_limit", None, math.nan, _cbc_bound(log, program.maximize), name
        return "infeasible", None, math.nan, math.nan, name
    raise SolverError(f"{name} returned status {pulp.LpStatus.get(prob.status, prob.status)}")


_BOUND = re.compile(r"^(?:Lower|Upper) bound:\s*(-?[0-9.eE+\-]+)", re.MULTILINE)


def _cbc_bound(log: str, maximize: bool) -> float:
    """Best bound CBC proved, read off its closing summary (in the program's sense)."""
    match = _BOUND.search(log)
    if match is None:
        return math.inf if maximize else -math.inf
    value = float(match.group(1))
    # CBC reports in its internal minimization sense when PuLP hands it a
    # maximization, so flip the sign back when the summary disagrees with it.
    if maximize and "Objective value" in log:
        obj = re.search(r"^Objective value:\s*(-?[0-9.eE+\-]+)", log, re.MULTILINE)
        if obj is not None and float(obj.group(1)) * value < 0:
            value = -value
    return value
