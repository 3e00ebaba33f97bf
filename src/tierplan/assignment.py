r"""Assign accounts to individual CSMs' books: the generalized assignment problem.

Once an account is in a human tier it still needs an owner. Giving account
``i`` to CSM ``c`` is worth ``value[i, c]`` (fit, continuity, timezone, …)
and costs that CSM ``workload[i, c]`` hours of their ``capacity[c]``. The
best set of books maximizes total value with every account owned by exactly
one CSM and no CSM over their hours (and, optionally, over a count cap of
accounts):

.. math::

    \max \sum_{(i,c)} v_{ic} x_{ic} \quad\text{s.t.}\quad
    \sum_c x_{ic} = 1 \;\forall i, \qquad
    \sum_i w_{ic} x_{ic} \le h_c \;\forall c, \qquad
    \sum_i x_{ic} \le k_c \;\forall c, \qquad x_{ic} \in \{0, 1\}.

This is the generalized assignment problem (GAP), NP-hard but solved to
proven optimality by a MIP solver for instances of a few hundred accounts
and tens of CSMs in seconds. :func:`assign_books` builds the program from
arrays (one binary per allowed pair, nothing per-variable in Python), runs
cheap infeasibility checks first so an impossible request is explained in
plain words instead of a bare "infeasible", and hands the rest to HiGHS,
which also separates knapsack-cover cuts on the capacity rows.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import numpy.typing as npt
import scipy.sparse as sp

from tierplan.errors import ConfigError, InputError, SolverError
from tierplan.mip import ArrayProgram, resolve_solver, solve_program

__all__ = ["BookAssignment", "assign_books"]

BookStatus = Literal["optimal", "time_limit", "infeasible"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: How many per-account reasons a diagnosis spells out before summarizing.
_MAX_REASONS = 20

#: Types accepted as a number of seconds or a gap.
_REAL = (int, float, np.integer, np.floating)

#: Tolerance used when checking a solver's assignment against the capacities.
_FEAS_TOL = 1e-6


@dataclass(frozen=True, repr=False, eq=False)
class BookAssignment:
    """The books: which CSM owns each account, and how good that is.

    Attributes
    ----------
    csm
        Chosen CSM (column index of ``value``) per account, ``int64``;
        ``-1`` for every account when no assignment was found.
    objective
        Total value of the assignment (``nan`` without one).
    bound
        Best proven upper bound on the total value. Equal to ``objective``
        (within ``mip_gap``) when the status is ``"optimal"``; ``nan`` when
        infeasible.
    gap
        Relative optimality gap ``|bound - objective| / max(|objective|, |bound|)``;
        ``0`` when proven optimal, ``inf`` without an assignment.
    status
        ``"optimal"`` (proven within ``mip_gap``), ``"time_limit"`` (the best
        assignment found in time, or none if ``csm`` is all ``-1``) or
        ``"infeasible"`` (no assignment can satisfy the rules; see
        ``diagnosis``).
    seconds
        Wall-clock time of the whole call (checks, build and solve).
    solver
        Backend that ran (``"highs"``, ``"cbc"``, …; ``"none"`` when the
        answer was settled without a solver).
    diagnosis
        Plain-word reasons when infeasible, naming account and CSM *indices*
        (positions in the input arrays) for the caller to map to ids; empty
        otherwise.
    """

    csm: IntArray
    objective: float
    bound: float
    gap: float
    status: BookStatus
    seconds: float
    solver: str
    diagnosis: list[str] = field(default_factory=list)

    @property
    def feasible(self) -> bool:
        """Whether an assignment was found (``csm`` has no ``-1``)."""
        return self.status != "infeasible" and bool(np.all(self.csm >= 0))

    def __repr__(self) -> str:
        """Short summary: status, size, objective, bound, gap and timing."""
        n = int(self.csm.shape[0])
        parts = [f"status={self.status!r}", f"accounts={n}"]
        if self.feasible and n:
            parts.append(f"csms_used={np.unique(self.csm).size}")
        parts.append(f"objective={_fmt(self.objective)}")
        parts.append(f"bound={_fmt(self.bound)}")
        parts.append(f"gap={self.gap:.4%}" if math.isfinite(self.gap) else f"gap={self.gap}")
        parts.append(f"seconds={self.seconds:.3f}")
        parts.append(f"solver={self.solver!r}")
        text = f"BookAssignment({', '.join(parts)})"
        if self.diagnosis:
            reasons = "\n".join(f"  - {reason}" for reason in self.diagnosis)
            text += f"\n{reasons}"
        return text


def _fmt(x: float) -> str:
    return f"{x:.6g}" if math.isfinite(x) else str(x)


def _hours(x: float) -> str:
    """Format hours compactly: ``40 h``, ``12.5 h``."""
    return f"{x:g} h"


def assign_books(
    value: npt.ArrayLike,
    workload: npt.ArrayLike,
    capacity: npt.ArrayLike,
    *,
    max_accounts: npt.ArrayLike | None = None,
    time_limit: float | None = None,
    solver: object = None,
    mip_gap: float | None = None,
) -> BookAssignment:
    """Give every account to one CSM, maximizing total value within capacity.

    Solves the generalized assignment problem: maximize
    ``sum(value[i, csm[i]])`` such that every account has exactly one CSM,
    the hours ``workload[i, c]`` of each CSM's accounts fit in
    ``capacity[c]`` and, when given, each CSM has at most
    ``max_accounts[c]`` accounts.

    Parameters
    ----------
    value
        ``(n_accounts, n_csms)`` value of giving account ``i`` to CSM ``c``.
        ``nan`` or ``-inf`` marks a pair that is not allowed.
    workload
        ``(n_accounts, n_csms)`` hours account ``i`` takes CSM ``c``. Must be
        finite and non-negative on allowed pairs; ignored (may be ``nan``)
        on pairs that are not allowed.
    capacity
        ``(n_csms,)`` hours each CSM has. Non-negative; ``inf`` means no hour
        limit.
    max_accounts
        Optional ``(n_csms,)`` cap on the number of accounts per CSM.
        Non-negative whole numbers; ``inf`` means no cap. ``None`` (default):
        no count caps.
    time_limit
        Seconds for the solver; on expiry the best assignment found is
        returned with status ``"time_limit"`` and its honest ``gap``.
    solver
        ``None`` or ``"highs"`` (default: HiGHS, much faster than CBC on
        this problem), ``"cbc"``, or a ``pulp.LpSolver`` instance.
    mip_gap
        Relative gap at which the solver may stop and report ``"optimal"``
        (default ``1e-6``, i.e. exact for practical purposes).

    Returns
    -------
    BookAssignment
        Chosen CSM per account, objective, bound, gap, status, timing and,
        when infeasible, a plain-word ``diagnosis``.

    Raises
    ------
    InputError
        Shapes disagree; ``value`` is ``+inf``; a workload on an allowed pair
        is missing, infinite or negative; a capacity or count cap is
        missing or negative; a count cap is fractional.
    ConfigError
        ``time_limit`` is not positive, ``mip_gap`` is negative, or the
        solver is unknown.
    SolverError
        The solver failed, or returned an assignment that breaks the rules.

    Notes
    -----
    Before any MIP is built, pairs that cannot be used (workload above that
    CSM's whole capacity, or a count cap of zero) are dropped, and the
    problem is declared infeasible, with reasons, when

    * an account has no allowed CSM, or fits no allowed CSM on its own;
    * the accounts that can only go to one CSM overload that CSM;
    * the accounts' smallest possible workloads add up to more than the
      total capacity, or there are more accounts than the count caps allow.

    Only when these pass does the solver run; if it still proves the problem
    infeasible, the diagnosis says the limits are too tight in combination.

    Examples
    --------
    >>> import numpy as np
    >>> value = np.array([[5.0, 1.0], [4.0, 3.0], [np.nan, 2.0]])
    >>> workload = np.array([[10.0, 10.0], [10.0, 10.0], [0.0, 5.0]])
    >>> books = assign_books(value, workload, capacity=[15.0, 20.0])
    >>> books.csm.tolist(), books.objective, books.status
    ([0, 1, 1], 10.0, 'optimal')
    """
    start = time.perf_counter()
    backend = resolve_solver("highs" if solver is None else solver)
    if time_limit is not None and not (isinstance(time_limit, _REAL) and time_limit > 0):
        raise ConfigError(f"time_limit: must be a positive number of seconds, got {time_limit!r}")
    if mip_gap is not None and not (isinstance(mip_gap, _REAL) and mip_gap >= 0):
        raise ConfigError(f"mip_gap: must be a non-negative relative gap, got {mip_gap!r}")

    v, w, cap, kcap, allowed = _validate(value, workload, capacity, max_accounts)
    n = v.shape[0]

    def infeasible(reasons: list[str], solver_name: str = "none") -> BookAssignment:
        return BookAssignment(
            csm=_readonly(np.full(n, -1, dtype=np.int64)),
            objective=math.nan,
            bound=math.nan,
            gap=math.inf,
            status="infeasible",
            seconds=time.perf_counter() - start,
            solver=solver_name,
            diagnosis=reasons,
        )

    if n == 0:
        return BookAssignment(
            csm=_readonly(np.zeros(0, dtype=np.int64)),
            objective=0.0,
            bound=0.0,
            gap=0.0,
            status="optimal",
            seconds=time.perf_counter() - start,
            solver="none",
        )

    usable = allowed & (np.where(allowed, w, 0.0) <= cap[None, :]) & (kcap >= 1)[None, :]
    reasons = _quick_diagnosis(w, cap, kcap, allowed, usable)
    if reasons:
        return infeasible(reasons)

    program, rows, cols = _build_program(v, w, cap, kcap, usable)
    result = solve_program(
        program,
        solver=backend,
        time_limit=None if time_limit is None else float(time_limit),
        mip_gap=None if mip_gap is None else float(mip_gap),
    )

    if result.status == "infeasible":
        return infeasible(
            [
                "no assignment gives every account a CSM within the CSMs' hours"
                + (" and account caps" if np.isfinite(kcap).any() else "")
                + ": each account fits some CSM on its own and the totals fit, "
                "but the limits are too tight in combination"
            ],
            result.solver,
        )

    csm = np.full(n, -1, dtype=np.int64)
    objective = math.nan
    if result.x is not None:
        chosen = result.x > 0.5
        if not (np.bincount(rows[chosen], minlength=n) == 1).all():
            raise SolverError(
                f"{result.solver} returned a solution that breaks one CSM per account"
            )
        csm[rows[chosen]] = cols[chosen]
        _check_solution(csm, w, cap, kcap, usable, result.solver)
        objective = float(v[np.arange(n), csm].sum())

    return BookAssignment(
        csm=_readonly(csm),
        objective=objective,
        bound=float(result.bound),
        gap=float(result.gap),
        status=result.status,
        seconds=time.perf_counter() - start,
        solver=result.solver,
    )


def _readonly(a: IntArray) -> IntArray:
    a.setflags(write=False)
    return a


def _validate(
    value: npt.ArrayLike,
    workload: npt.ArrayLike,
    capacity: npt.ArrayLike,
    max_accounts: npt.ArrayLike | None,
) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray, BoolArray]:
    """Check the arrays and return them as float arrays plus the allowed mask."""
    v = _as_float(value, "value")
    w = _as_float(workload, "workload")
    cap = _as_float(capacity, "capacity")
    if v.ndim != 2:
        raise InputError(
            f"must be a 2-D (accounts × CSMs) array, got {v.ndim}-D shape {v.shape}",
            column="value",
        )
    m = v.shape[1]
    if w.shape != v.shape:
        raise InputError(f"shape {w.shape} differs from value's shape {v.shape}", column="workload")
    if cap.shape != (m,):
        raise InputError(
            f"must have one entry per CSM (shape ({m},)), got shape {cap.shape}",
            column="capacity",
        )

    pos_inf = np.isposinf(v)
    if pos_inf.any():
        bad = np.unique(np.nonzero(pos_inf)[0]).tolist()
        raise InputError(
            "+inf is not a value; use a large finite number (nan or -inf mark a forbidden pair)",
            column="value",
            ids=[f"account index {i}" for i in bad],
        )
    allowed = np.isfinite(v)

    w_missing = allowed & ~np.isfinite(w)
    if w_missing.any():
        bad = np.unique(np.nonzero(w_missing)[0]).tolist()
        raise InputError(
            "must be a finite number of hours on every allowed pair "
            "(mark the pair forbidden in value instead)",
            column="workload",
            ids=[f"account index {i}" for i in bad],
        )
    w_negative = allowed & (w < 0)
    if w_negative.any():
        bad = np.unique(np.nonzero(w_negative)[0]).tolist()
        raise InputError(
            "must not be negative", column="workload", ids=[f"account index {i}" for i in bad]
        )

    bad_cap = np.isnan(cap) | (cap < 0)
    if bad_cap.any():
        raise InputError(
            "must be a non-negative number of hours (inf for no limit)",
            column="capacity",
            ids=[f"CSM index {c}" for c in np.flatnonzero(bad_cap).tolist()],
        )

    if max_accounts is None:
        kcap = np.full(m, np.inf)
    else:
        kcap = _as_float(max_accounts, "max_accounts")
        if kcap.shape != (m,):
            raise InputError(
                f"must have one entry per CSM (shape ({m},)), got shape {kcap.shape}",
                column="max_accounts",
            )
        finite = np.isfinite(kcap)
        bad_k = np.isnan(kcap) | (kcap < 0) | (finite & (kcap != np.round(kcap)))
        if bad_k.any():
            raise InputError(
                "must be a non-negative whole number of accounts (inf for no cap)",
                column="max_accounts",
                ids=[f"CSM index {c}" for c in np.flatnonzero(bad_k).tolist()],
            )
    return v, np.where(allowed, w, 0.0), cap, kcap, allowed


def _as_float(a: npt.ArrayLike, name: str) -> FloatArray:
    try:
        return np.array(a, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise InputError(f"must be numeric: {exc}", column=name) from exc


def _quick_diagnosis(
    w: FloatArray, cap: FloatArray, kcap: FloatArray, allowed: BoolArray, usable: BoolArray
) -> list[str]:
    """Reasons the problem is infeasible that need no solver (empty if none found)."""
    n, m = w.shape
    reasons: list[str] = []

    no_csm = np.flatnonzero(~allowed.any(axis=1))
    for i in no_csm[:_MAX_REASONS].tolist():
        reasons.append(f"account index {i} has no allowed CSM (every value is nan or -inf)")
    too_big = np.flatnonzero(allowed.any(axis=1) & ~usable.any(axis=1))
    for i in too_big[: max(0, _MAX_REASONS - len(reasons))].tolist():
        csms = np.flatnonzero(allowed[i])
        if (kcap[csms] >= 1).any():
            ok = csms[kcap[csms] >= 1]
            smallest, largest = float(w[i, ok].min()), float(cap[ok].max())
            if smallest > largest:
                reasons.append(
                    f"account index {i} fits no CSM: its smallest workload "
                    f"{_hours(smallest)} exceeds every allowed CSM's free hours "
                    f"(at most {_hours(largest)})"
                )
            else:
                pairs = "; ".join(
                    f"CSM index {c}: {_hours(float(w[i, c]))} > {_hours(float(cap[c]))}"
                    for c in ok[:5].tolist()
                )
                more = f"; … {ok.size - 5} more" if ok.size > 5 else ""
                reasons.append(
                    f"account index {i} fits no CSM: its workload exceeds each allowed "
                    f"CSM's free hours ({pairs}{more})"
                )
        else:
            reasons.append(
                f"account index {i} fits no CSM: every allowed CSM has an account cap of 0"
            )
    shown = min(len(no_csm) + len(too_big), _MAX_REASONS)
    if len(no_csm) + len(too_big) > shown:
        reasons.append(f"… and {len(no_csm) + len(too_big) - shown} more accounts that fit no CSM")
    if reasons:
        return reasons

    # Accounts with a single usable CSM must go there: do they fit together?
    only = usable.sum(axis=1) == 1
    if only.any():
        forced_c = np.argmax(usable[only], axis=1)
        forced_i = np.flatnonzero(only)
        hours = np.bincount(forced_c, weights=w[forced_i, forced_c], minlength=m)
        count = np.bincount(forced_c, minlength=m)
        for c in range(m):
            if count[c] == 0:
                continue
            if hours[c] > cap[c]:
                reasons.append(
                    f"CSM index {c} is the only CSM that fits {count[c]} accounts, which need "
                    f"{_hours(float(hours[c]))} together, over the CSM's {_hours(float(cap[c]))}"
                )
            if count[c] > kcap[c]:
                reasons.append(
                    f"CSM index {c} is the only CSM that fits {count[c]} accounts, over the "
                    f"CSM's cap of {int(kcap[c])} accounts"
                )
    if reasons:
        return reasons

    min_hours = float(np.where(usable, w, np.inf).min(axis=1).sum())
    total_cap = float(cap[usable.any(axis=0)].sum())
    if min_hours > total_cap:
        reasons.append(
            f"the accounts need at least {_hours(min_hours)} in total (each at its smallest "
            f"workload) but the CSMs have only {_hours(total_cap)}"
        )
    total_k = float(np.minimum(kcap, usable.sum(axis=0)).sum())
    if n > total_k:
        reasons.append(
            f"{n} accounts need a CSM but the CSMs can take at most {int(total_k)} "
            "(account caps and allowed pairs)"
        )
    return reasons


def _build_program(
    v: FloatArray, w: FloatArray, cap: FloatArray, kcap: FloatArray, usable: BoolArray
) -> tuple[ArrayProgram, IntArray, IntArray]:
    """Build the GAP as an :class:`ArrayProgram`, one binary per usable pair.

    Returns the program and, per column, its account (row) and CSM indices.
    """
    n, m = v.shape
    rows, cols = np.nonzero(usable)
    rows = rows.astype(np.int64)
    cols = cols.astype(np.int64)
    k = rows.shape[0]
    col_ids = np.arange(k)

    # Assignment rows: sum_c x_ic = 1.
    blocks = [sp.csr_array((np.ones(k), (rows, col_ids)), shape=(n, k))]
    lower = [np.ones(n)]
    upper = [np.ones(n)]

    # Capacity rows, skipping CSMs whose usable accounts all fit anyway.
    wk = w[rows, cols]
    full_load = np.bincount(cols, weights=wk, minlength=m)
    binding = np.flatnonzero(full_load > cap)
    if binding.size:
        sel = np.isin(cols, binding)
        where = np.searchsorted(binding, cols[sel])
        blocks.append(sp.csr_array((wk[sel], (where, col_ids[sel])), shape=(binding.size, k)))
        lower.append(np.full(binding.size, -np.inf))
        upper.append(cap[binding])

    # Count rows, likewise only where the cap can bind.
    n_usable = np.bincount(cols, minlength=m)
    counted = np.flatnonzero(n_usable > kcap)
    if counted.size:
        sel = np.isin(cols, counted)
        where = np.searchsorted(counted, cols[sel])
        blocks.append(
            sp.csr_array((np.ones(int(sel.sum())), (where, col_ids[sel])), shape=(counted.size, k))
        )
        lower.append(np.full(counted.size, -np.inf))
        upper.append(kcap[counted])

    program = ArrayProgram.binary(
        v[rows, cols],
        sp.vstack(blocks, format="csr"),
        np.concatenate(lower),
        np.concatenate(upper),
        maximize=True,
    )
    return program, rows, cols


def _check_solution(
    csm: IntArray,
    w: FloatArray,
    cap: FloatArray,
    kcap: FloatArray,
    usable: BoolArray,
    solver: str,
) -> None:
    """Raise :class:`SolverError` if the solver's assignment breaks a rule."""
    n, m = w.shape
    if (csm < 0).any():
        raise SolverError(f"{solver} returned a solution that leaves accounts without a CSM")
    idx = np.arange(n)
    if not usable[idx, csm].all():
        raise SolverError(f"{solver} returned a solution using a forbidden pair")
    hours = np.bincount(csm, weights=w[idx, csm], minlength=m)
    over = hours > cap + _FEAS_TOL * np.maximum(1.0, np.where(np.isfinite(cap), cap, 0.0))
    if over.any() or (np.bincount(csm, minlength=m) > kcap).any():
        raise SolverError(f"{solver} returned a solution over a CSM's capacity")
