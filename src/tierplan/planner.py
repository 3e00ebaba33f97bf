"""``tp.plan`` and ``tp.baseline_plan``: from an account export and a team to a Plan.

The layers run one way: validate (accounts, team, model) → value matrix →
pools and eligibility → diagnosis → solve → books → :class:`~tierplan.Plan`.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.accounts import Accounts, load_accounts
from tierplan.books import split_books
from tierplan.config import CoverageModel
from tierplan.diagnosis import diagnose
from tierplan.errors import ConfigError
from tierplan.impact import user_values, value_matrix
from tierplan.mip import resolve_solver
from tierplan.pools import PoolSet, build_pools, eligibility
from tierplan.result import Plan
from tierplan.solve import PoolSolution, solve_pools
from tierplan.team import Team

__all__ = ["baseline_plan", "plan"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class _Prepared:
    model: CoverageModel
    accounts: Accounts
    roster: pd.DataFrame
    pools: PoolSet
    value: FloatArray
    eligible: BoolArray
    clock: _Clock


class _Clock:
    """Wall-clock time of each phase, reported in ``plan.solver_info["phases"]``."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self._last
        self._last = now


def _as_team(team: Any) -> Team:
    if isinstance(team, Team):
        return team
    return Team.from_roster(team)


def _prepare(
    accounts: Any,
    team: Any,
    model: CoverageModel | None,
    values: Any,
    require_specialist: bool | None,
    *,
    solver: object = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
) -> _Prepared:
    model = model if model is not None else CoverageModel()
    if solver is not None:
        resolve_solver(solver)
    if time_limit is not None and (
        isinstance(time_limit, bool)
        or not isinstance(time_limit, (int, float))
        or not time_limit > 0
    ):
        raise ConfigError(f"time_limit: must be a positive number of seconds, got {time_limit!r}")
    if mip_gap is not None and (
        isinstance(mip_gap, bool) or not isinstance(mip_gap, (int, float)) or not mip_gap >= 0
    ):
        raise ConfigError(f"mip_gap: must be a number >= 0, got {mip_gap!r}")
    if not isinstance(model, CoverageModel):
        raise ConfigError(f"model: expected a tp.CoverageModel, got {type(model).__name__}")
    if require_specialist is not None:
        model = model.with_changes(require_specialist=bool(require_specialist))
    clock = _Clock()
    acc = (
        accounts
        if isinstance(accounts, Accounts)
        else load_accounts(accounts, tiers=model.tier_names)
    )
    roster = _as_team(team).resolved(model)
    clock.lap("validate")
    value = value_matrix(acc, model) if values is None else user_values(values, acc, model)
    clock.lap("values")
    pools = build_pools(roster, model)
    elig = eligibility(acc, pools, model, value)
    clock.lap("pools")
    return _Prepared(model, acc, roster, pools, value, elig, clock)


def _assemble(
    prep: _Prepared,
    solution: PoolSolution,
    name: str,
    diagnosis: list[str],
    objective_value: FloatArray | None = None,
) -> Plan:
    choice = solution.choice
    prep.clock.lap("solve")
    if solution.status != "infeasible" and (choice >= 0).all():
        csm = split_books(choice, prep.accounts.arr, prep.pools, prep.roster)
    else:
        csm = np.full(choice.shape[0], -1, dtype=np.int64)
    prep.clock.lap("books")
    objective = solution.objective
    if objective_value is not None and (choice >= 0).all():
        tiers = prep.pools.tier[choice]
        objective = float(objective_value[np.arange(choice.shape[0]), tiers].sum())
    return Plan(
        name=name,
        status=solution.status,
        objective=objective,
        bound=solution.bound,
        gap=solution.gap,
        solve_seconds=solution.seconds,
        diagnosis=tuple(diagnosis),
        solver_info={**solution.info, "phases": dict(prep.clock.phases)},
        model=prep.model,
        accounts_data=prep.accounts,
        roster=prep.roster,
        pools=prep.pools,
        value=prep.value,
        pool_choice=choice,
        csm_choice=csm,
    )


def _infeasible(prep: _Prepared, reasons: list[str], name: str) -> Plan:
    n = prep.accounts.n
    solution = PoolSolution(
        "infeasible",
        np.full(n, -1, dtype=np.int64),
        math.nan,
        math.nan,
        math.nan,
        0.0,
        {"path": "diagnosis", "method": "feasibility checks before solving"},
    )
    return _assemble(prep, solution, name, reasons)


def plan(
    accounts: Any,
    team: Any,
    model: CoverageModel | None = None,
    *,
    values: Any = None,
    solver: object = None,
    time_limit: float | None = None,
    mip_gap: float | None = None,
    require_specialist: bool | None = None,
    verbose: bool = False,
    name: str = "optimized",
) -> Plan:
    """Plan coverage: a tier and (for human tiers) a CSM for every account.

    Maximizes the expected NRR impact of the team's attention subject to the
    headcount, each tier's book caps, specialist rules and pins.

    Parameters
    ----------
    accounts
        DataFrame or CSV/Parquet path: ``account_id``, ``arr`` and optional
        ``potential``, ``risk``, ``vertical``, ``complexity``,
        ``strategic``, ``pinned_tier`` (see :func:`tierplan.load_accounts`).
    team
        A :class:`tierplan.Team`, or a roster frame/path.
    model
        Coverage model (tiers, response, policies); defaults to
        ``tp.CoverageModel()``.
    values
        Optional value matrix (accounts × tiers) from your own uplift model,
        replacing the built-in response; ``NaN`` forbids a tier.
    solver
        ``None`` (default): the exact network algorithm when the program is
        a transportation problem (always, for now), else CBC. ``"cbc"``
        (bundled) or ``"highs"`` force the MIP path; a PuLP solver instance
        is accepted too.
    time_limit
        Seconds for the MIP path; the best plan found is returned with its gap.
    mip_gap
        Relative optimality gap for the MIP path (default 1e-6).
    require_specialist
        Override the model's policy: a vertical's accounts must go to its
        specialists in tiers that have them.
    verbose
        Show the solver log.
    name
        Label of the plan in comparisons.

    Returns
    -------
    Plan
        The plan; ``plan.status`` is ``"optimal"``, ``"time_limit"`` or
        ``"infeasible"`` (then ``plan.diagnosis`` says why).

    Raises
    ------
    TierplanError
        On invalid accounts, team, model or options (never for an infeasible
        problem, which is a status).

    Examples
    --------
    >>> import tierplan as tp
    >>> accounts = tp.synthetic_accounts(n=500, seed=1)
    >>> team = tp.Team.from_headcount({"tier1": 2, "tier2": 1})
    >>> p = tp.plan(accounts, team)
    >>> p.status
    'optimal'
    >>> int(p.tiers.loc[p.tiers.tier == "tier1", "accounts"].iloc[0])
    40
    """
    prep = _prepare(
        accounts,
        team,
        model,
        values,
        require_specialist,
        solver=solver,
        time_limit=time_limit,
        mip_gap=mip_gap,
    )
    reasons = diagnose(prep.accounts, prep.pools, prep.model, prep.eligible)
    prep.clock.lap("diagnose")
    if reasons:
        return _infeasible(prep, reasons, name)
    pool_values = prep.value[:, prep.pools.tier]
    solution = solve_pools(
        np.where(prep.eligible, pool_values, 0.0),
        prep.eligible,
        prep.pools,
        solver=solver,
        time_limit=time_limit,
        mip_gap=mip_gap,
        verbose=verbose,
    )
    diagnosis: list[str] = []
    if solution.status == "infeasible":
        diagnosis = [
            "the solver proved that no assignment fits the book caps, minimum books, "
            "pins and specialist rules together; relax pins or add CSMs"
        ]
    elif solution.status == "time_limit" and not (solution.choice >= 0).all():
        diagnosis = ["the time limit ran out before any plan was found; allow more time"]
    return _assemble(prep, solution, name, diagnosis)


def baseline_plan(
    accounts: Any,
    team: Any,
    model: CoverageModel | None = None,
    *,
    values: Any = None,
    solver: object = None,
    require_specialist: bool | None = None,
    name: str = "ARR-band baseline",
) -> Plan:
    """The practitioners' rule at the same headcount: ARR bands sized to capacity.

    The highest-ARR accounts fill the highest-touch tier until its book
    places run out, then the next tier, and so on (specialists take their
    vertical's largest accounts first). Pins and specialist rules hold, so
    the baseline is feasible whenever the optimized plan is. Its expected
    impact is measured with the same value matrix as :func:`plan`, so the
    two compare directly.

    Parameters
    ----------
    accounts, team, model, values, solver, require_specialist
        As in :func:`plan`.
    name
        Label of the plan in comparisons.

    Returns
    -------
    Plan
        The baseline (``bound`` and ``gap`` are ``nan``: it is a rule, not an
        optimum).

    Examples
    --------
    >>> import tierplan as tp
    >>> accounts = tp.synthetic_accounts(n=500, seed=1)
    >>> team = tp.Team.from_headcount({"tier1": 2, "tier2": 1})
    >>> base = tp.baseline_plan(accounts, team)
    >>> best = tp.plan(accounts, team)
    >>> best.objective >= base.objective
    True
    """
    prep = _prepare(accounts, team, model, values, require_specialist, solver=solver)
    reasons = diagnose(prep.accounts, prep.pools, prep.model, prep.eligible)
    if reasons:
        return _infeasible(prep, reasons, name)
    n_tiers = len(prep.model.tiers)
    # ARR bands as a program: value of tier t is ARR × (number of tiers below
    # t), so filling higher tiers with larger accounts always pays.
    weight = (n_tiers - 1 - prep.pools.tier).astype(np.float64)
    rule_values = prep.accounts.arr[:, None] * weight[None, :]
    solution = solve_pools(
        np.where(prep.eligible, rule_values, 0.0), prep.eligible, prep.pools, solver=solver
    )
    info = {**solution.info, "method": "ARR-band rule (bands sized to the headcount)"}
    solution = PoolSolution(
        solution.status,
        solution.choice,
        solution.objective,
        math.nan,
        math.nan,
        solution.seconds,
        info,
    )
    return _assemble(prep, solution, name, [], objective_value=prep.value)
