"""``tp.plan`` and ``tp.baseline_plan``: from an account export and a team to a Plan.

The layers run one way: validate (accounts, team, model) → value matrix →
pools and eligibility → diagnosis → solve → books → :class:`~tierplan.Plan`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.accounts import Accounts, label_index, load_accounts
from tierplan.bands import POLICIES, Bands, BandSearch, PriceOfExplainability, search_bands
from tierplan.books import fit_books, fit_books_to_hours, split_books
from tierplan.borrowing import borrow, borrow_rules
from tierplan.config import CoverageModel
from tierplan.diagnosis import diagnose
from tierplan.disruption import Disruption, keep_current, solve_by_csm
from tierplan.errors import ConfigError
from tierplan.formulation import SideRow
from tierplan.impact import user_values, value_matrix
from tierplan.mip import DEFAULT_MIP_GAP, relative_gap, resolve_solver
from tierplan.packing import lp_prices, net_values, pack_books
from tierplan.pools import PoolSet, build_pools, eligibility
from tierplan.result import ATTENTION_POLICIES, Plan, redistribute_attention
from tierplan.solve import PoolSolution, solve_pools
from tierplan.team import Team

__all__ = ["baseline_plan", "plan"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True, eq=False)
class _Prepared:
    model: CoverageModel
    accounts: Accounts
    roster: pd.DataFrame
    pools: PoolSet
    value: FloatArray
    eligible: BoolArray
    clock: _Clock

    @property
    def current_csm(self) -> IntArray:
        """Roster row of each account's current CSM, ``-1`` when none or gone."""
        if not self.accounts.has("current_csm"):
            return np.full(self.accounts.n, -1, dtype=np.int64)
        return label_index(self.accounts.current_csm, self.roster["csm_id"].tolist())

    @property
    def current_tier(self) -> IntArray:
        """Tier index of each account's current tier, ``-1`` when none."""
        if not self.accounts.has("current_tier"):
            return np.full(self.accounts.n, -1, dtype=np.int64)
        return label_index(self.accounts.current_tier, self.model.tier_names)

    @property
    def workload(self) -> FloatArray:
        """Hours each account takes in each tier: the tier's hours × (1 + complexity)."""
        hours = np.array([t.attention_hours for t in self.model.tiers])
        return np.asarray((1.0 + self.accounts.complexity)[:, None] * hours[None, :])


class _Clock:
    """Wall-clock time of each phase, reported in ``plan.solver_info["phases"]``."""

    def __init__(self) -> None:
        self.phases: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, phase: str) -> None:
        now = time.perf_counter()
        self.phases[phase] = self.phases.get(phase, 0.0) + now - self._last
        self._last = now


@functools.cache
def _default_model() -> CoverageModel:
    # Immutable, so every plan without a model of its own can share one.
    return CoverageModel()


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
    match: tuple[str, ...] = (),
) -> _Prepared:
    model = model if model is not None else _default_model()
    unknown = [m for m in match if m not in MATCH_ATTRIBUTES]
    if unknown:
        raise ConfigError(
            f"match: unknown attribute(s) {unknown}; CSMs can be matched on {MATCH_ATTRIBUTES}"
        )
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
    team_ = _as_team(team)
    roster = team_.resolved(model)
    clock.lap("validate")
    value = value_matrix(acc, model) if values is None else user_values(values, acc, model)
    clock.lap("values")
    # Pools hold read-only arrays: plans of one team and model share them.
    pools = team_._cached(("pools", model, match), lambda: build_pools(roster, model, match))
    elig = eligibility(acc, pools, model, value)
    clock.lap("pools")
    return _Prepared(model, acc, roster, pools, value, elig, clock)


def _side_rows(prep: _Prepared, hours: bool, budget: float | None) -> tuple[SideRow, ...]:
    pools, model = prep.pools, prep.model
    rows: list[SideRow] = []
    if hours:
        tier_hours = np.array([t.attention_hours for t in model.tiers])[pools.tier]
        stretch = 1.0 + prep.accounts.complexity
        for p in np.flatnonzero(pools.human):
            coef = np.zeros(len(pools))
            coef[p] = tier_hours[p]
            rows.append(SideRow(f"hours of {pools.names[p]}", stretch, coef, pools.hours[p]))
    if budget is not None:
        cost = np.array([t.account_cost for t in model.tiers])[pools.tier]
        rows.append(SideRow("coverage budget", np.ones(prep.accounts.n), cost, float(budget)))
    return tuple(rows)


def _side_diagnosis(prep: _Prepared, side: tuple[SideRow, ...]) -> list[str]:
    """Side constraints that no plan can meet, found before solving."""
    reasons = []
    elig = prep.eligible
    for row in side:
        least = np.where(elig, row.matrix(), np.inf).min(axis=1)
        need = float(least.sum())
        if need > row.upper * (1 + 1e-9):
            if row.name == "coverage budget":
                reasons.append(
                    f"the coverage budget ${row.upper:,.0f} is below the ${need:,.0f} that even "
                    "the cheapest allowed tier for every account costs (pins count)."
                )
            else:
                reasons.append(
                    f"{row.name}: pinned accounts need {need:,.0f} hours but the pool's CSMs "
                    f"have {row.upper:,.0f}; add CSMs or hours, or unpin accounts."
                )
    return reasons


def _assemble(
    prep: _Prepared,
    solution: PoolSolution,
    name: str,
    diagnosis: list[str],
    objective_value: FloatArray | None = None,
    *,
    hours: bool = False,
    csm: IntArray | None = None,
) -> Plan:
    choice = solution.choice
    prep.clock.lap("solve")
    n = choice.shape[0]
    tier_hours = np.array([t.attention_hours for t in prep.model.tiers])
    ok = choice >= 0
    tier_of = np.where(ok, prep.pools.tier[np.maximum(choice, 0)], 0)
    attention = (
        prep.workload[np.arange(n), tier_of] if hours else tier_hours[tier_of].astype(np.float64)
    )
    if csm is None:
        csm = (
            split_books(
                choice,
                prep.accounts.arr,
                prep.pools,
                prep.roster,
                prep.current_csm,
                prep.accounts.locked,
            )
            if solution.status != "infeasible" and ok.all()
            else np.full(n, -1, dtype=np.int64)
        )
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
        attention=attention,
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
    hours: bool = False,
    budget: float | None = None,
    attention: str = "flat",
    match: Sequence[str] = (),
    fit_bonus: Mapping[str, float] | None = None,
    continuity_bonus: float = 0.0,
    move_penalty: float | Mapping[str, float] = 0.0,
    max_moves: int | None = None,
    max_moves_per_csm: int | None = None,
    hysteresis: float = 0.0,
    alerts: Mapping[str, float] | None = None,
    policy: str = "free",
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
        ``strategic``, ``pinned_tier``; for a re-plan ``current_tier``,
        ``current_csm`` and ``locked``; for temporary borrowing ``alert``,
        ``health_drop``, ``renewal_days`` (see :func:`tierplan.load_accounts`).
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
        a transportation problem; with side constraints (hours, budget,
        move limits) the MIP path with CBC, or from 20,000 accounts on with
        the LP solved on a core of accounts and HiGHS for the rest.
        ``"cbc"`` (bundled) or ``"highs"`` force the MIP path; a PuLP solver
        instance is accepted too.
    time_limit
        Seconds for the MIP path; the best plan found is returned with its gap.
    mip_gap
        Relative optimality gap for the MIP path (default 1e-6).
    require_specialist
        Override the model's policy: a vertical's accounts must go to its
        specialists in tiers that have them.
    hours
        Also cap each CSM's hours: an account takes its tier's attention
        hours × (1 + complexity), a CSM has the roster's ``hours`` (default
        the tier's ``csm_hours``). Book caps still hold. The program is then
        no longer a pure transportation problem: it is solved as a MIP (LP
        relaxation, repair of split accounts, full MIP only if needed) and
        ``plan.gap`` is measured against the proven bound; ``status`` is
        ``"optimal"`` once the gap is within ``mip_gap`` (default 0.01% with
        hours, a budget or a move limit; 1e-6 otherwise).
    budget
        Coverage budget: the sum over accounts of their tier's
        ``account_cost`` may not exceed it.
    attention
        How each CSM spreads their hours over their book once books are
        set: ``"flat"`` (default: every account gets its tier's standard
        hours), ``"value"`` (equal marginal expected impact, by
        water-filling on the response curve), ``"need"`` (weighted to
        at-risk ARR) or ``"expansion"`` (weighted to whitespace). Every
        account keeps its tier's ``floor_hours``. With a policy other than
        flat, ``assignments.attention_hours`` and ``expected_impact`` show
        the recommended hours and their impact, and ``summary()`` what the
        redistribution adds; ``objective`` stays the tier-level optimum.
    match
        Hard fit: ``("region",)``, ``("language",)`` or both. A CSM with a
        region (language) in the roster only takes accounts with the same
        one; CSMs with none take any. Exact: CSMs are pooled by these labels.
    fit_bonus
        Soft fit: value per account given to a CSM with the same label,
        e.g. ``{"language": 5_000}``. Decides who holds an account within a
        pool (books are then assigned exactly per pool), not its tier.
    continuity_bonus
        Value of keeping an account with its ``current_csm`` within a pool.
        Even without it, accounts stay with their current CSM when that CSM
        is in their pool and has room.
    move_penalty
        Expected impact a move must beat, when the accounts have a
        ``current_tier`` / ``current_csm``. A number prices a change of
        tier; a mapping prices ``"tier"`` (per tier change), ``"csm"`` (per
        change of CSM: the account had one and gets another or none, also
        within a tier) and ``"move"`` (per moved account, whatever moved).
        0 by default, yet a re-plan of unchanged data still moves nothing:
        ties go to staying, and books keep each account with its current CSM.
        On the MIP path (hours, budget, move limits), which stops within
        its gap, the current state is kept whenever it fits every rule and
        the best plan found beats it by less than ``mip_gap``.
    max_moves
        At most this many accounts move: change tier or CSM, i.e. rows of
        ``plan.moves`` (a side constraint: MIP path). CSM changes are
        counted exactly: on the pool program when books keep every account
        that stays in its CSM's pool, else (a CSM over their cap, hours,
        ``fit_bonus``, ``continuity_bonus``) on a program with one pool per
        CSM. Accounts of a CSM who left always move.
    max_moves_per_csm
        At most this many accounts leave each CSM's book, and at most this
        many join it (CSMs on the team; a departed CSM's accounts are not
        limited on leaving, but the books they join are). Exact: the program
        then has one pool per CSM (MIP path), and books are what it chose.
        Together with ``hours`` it is a generalized assignment problem that
        can take long to prove; give a ``time_limit``. The program has one
        column per account and CSM it may go to: it suits tens of thousands
        of accounts (2 million columns at most, else a ``ConfigError``).
    hysteresis
        Band against flip-flopping, a share in [0, 1): an account changes
        tier only when the move gains at least this share of its value in
        the higher of the two tiers, on top of the move prices. Symmetric: a
        promotion must beat the band, and so must a demotion, so an account
        near a cut stays where it is from one quarter to the next. Priced
        on the pool values: the exact network path is kept.
    alerts
        Thresholds of temporary borrowing (see
        :func:`tierplan.borrowing.borrow`): ``health_drop`` (points, default
        15), ``renewal_days`` (default 90) and ``renewal_risk`` (default
        0.3). Tech-touch accounts that raise an alert (``alert`` column,
        a health drop of at least ``health_drop`` points, or a renewal within
        ``renewal_days`` days at a ``risk`` of at least ``renewal_risk``) are
        borrowed by the least loaded CSMs of the pooled tier for the
        quarter, without changing tier or the objective:
        ``plan.borrowed`` lists them. Applies whenever the accounts carry
        one of the alert columns.
    policy
        ``"free"`` (default): tiers fall where the optimum puts them, and
        ``plan.rules`` restates them as cut points with their exceptions.
        ``"bands"``: tiers must follow nested cut points on ARR and
        whitespace ("ARR ≥ a, or ARR ≥ b with whitespace ≥ w" per tier), so
        the rule explains every account but pinned ones; the best such rule
        under the same team is chosen, and ``plan.price_of_explainability``
        reports the expected impact it gives up against the free optimum.
        Not combined with ``hours``, ``budget``, ``max_moves`` or
        ``move_penalty`` (a ``ConfigError``); with no fitting rule the plan
        is infeasible with a diagnosis. See :mod:`tierplan.bands`.
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
        problem, which is a status). Locked accounts without a current tier,
        or whose current CSM left, are an :class:`~tierplan.InputError`;
        locked accounts that overfill a book make the plan infeasible.

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
        match=tuple(match),
    )
    if attention not in ATTENTION_POLICIES:
        raise ConfigError(
            f"attention: unknown policy {attention!r}; choose one of {list(ATTENTION_POLICIES)}"
        )
    if attention != "flat" and values is not None:
        raise ConfigError(
            "attention: spreading hours needs the built-in response curve; with your own "
            "value matrix use attention='flat'"
        )
    if budget is not None and (
        isinstance(budget, bool) or not isinstance(budget, (int, float)) or not budget >= 0
    ):
        raise ConfigError(f"budget: must be a number >= 0, got {budget!r}")
    _check_policy(
        policy,
        hours=hours,
        budget=budget,
        max_moves=max_moves,
        move_penalty=move_penalty,
        max_moves_per_csm=max_moves_per_csm,
    )
    side = _side_rows(prep, hours, budget)
    state = Disruption.build(
        prep.accounts,
        prep.roster,
        prep.model,
        move_penalty=move_penalty,
        hysteresis=hysteresis,
        max_moves=max_moves,
        max_moves_per_csm=max_moves_per_csm,
    )
    rules = borrow_rules(alerts, prep.accounts)
    # Move budgets count CSM changes. The pool program sees them exactly only
    # when the books keep every account that stays in its CSM's pool: no
    # CSM over their cap already, no fit or hours re-dealing books. Otherwise
    # (and for budgets per CSM) the program gets one pool per CSM.
    by_csm = state.max_moves_per_csm is not None or (
        state.max_moves is not None
        and (state.overfull(prep.roster) or bool(fit_bonus) or bool(continuity_bonus) or hours)
    )
    prep = dataclasses.replace(prep, eligible=state.restrict(prep.eligible, prep.pools))

    def find_reasons() -> list[str]:
        reasons = diagnose(prep.accounts, prep.pools, prep.model, prep.eligible)
        reasons += state.lock_diagnosis(prep.accounts, prep.roster)
        reasons += state.budget_diagnosis(prep.accounts)
        return reasons + _side_diagnosis(prep, side)

    # The exact network solve proves infeasibility itself, faster than the
    # checks: it runs first, and the checks only say why. Before a MIP they
    # spare a solve that cannot succeed; locks bind single books, which the
    # pool program does not see.
    network = (
        solver is None
        and not side
        and not by_csm
        and state.max_moves is None
        and not state.locked.any()
        and policy == "free"
    )
    reasons = [] if network else find_reasons()
    prep.clock.lap("diagnose")
    if reasons:
        return _infeasible(prep, reasons, name)
    pool_values = np.where(prep.eligible, prep.value[:, prep.pools.tier], 0.0)
    adjusted = state.active
    # Continuity: an account stays unless moving pays more than the move
    # prices; a tiny stay bonus breaks exact ties toward staying, so a
    # re-plan of unchanged data moves nothing.
    pool_values, moved = state.adjust(pool_values, prep.eligible, prep.value, prep.pools)
    if not by_csm:
        side = (*side, *state.side_rows(moved, prep.pools, None))

    if (side or by_csm) and mip_gap is None:
        mip_gap = SIDE_MIP_GAP

    started = time.perf_counter()

    def remaining() -> float | None:
        # One time limit for the whole plan, however many solves it takes.
        if time_limit is None:
            return None
        return max(float(time_limit) - (time.perf_counter() - started), 1e-3)

    def solve_with(
        values: FloatArray, eligible: BoolArray, pools: PoolSet, rows: tuple[SideRow, ...]
    ) -> PoolSolution:
        return solve_pools(
            values,
            eligible,
            pools,
            solver=solver,
            time_limit=remaining(),
            mip_gap=mip_gap,
            verbose=verbose,
            side=rows,
        )

    def solve(rows: tuple[SideRow, ...]) -> PoolSolution:
        return solve_with(pool_values, prep.eligible, prep.pools, rows)

    locked = prep.accounts.locked
    unpacked: list[str] = []
    hours_books: IntArray | None = None
    if by_csm:
        solution, by_csm_books, fit_total = solve_by_csm(
            prep,
            state,
            side,
            hours=hours,
            fit_bonus=dict(fit_bonus or {}),
            continuity_bonus=float(continuity_bonus),
            solve=solve_with,
        )
    elif hours:
        solution, hours_books, unpacked = _plan_hours(
            prep, pool_values, side, solve_with, remaining, mip_gap, solver
        )
    else:
        solution = solve(side)
        if network and solution.status == "infeasible":
            reasons = find_reasons()
            if reasons:
                return _infeasible(prep, reasons, name)
    bands: Bands | None = None
    if policy == "bands" and (solution.choice >= 0).all():
        search, free_objective = _band_search(prep, solution.choice)
        if not search.feasible:
            return dataclasses.replace(
                _infeasible(prep, list(search.diagnosis), name), policy=policy
            )
        # Tiers are now the rule's: accounts go to pools within their tier.
        restricted = prep.eligible & (prep.pools.tier[None, :] == search.tier[:, None])
        prep = dataclasses.replace(prep, eligible=restricted)
        pool_values = np.where(restricted, pool_values, 0.0)
        solution = solve(side)
        bands_objective = float(prep.value[np.arange(prep.accounts.n), search.tier].sum())
        bands = Bands(
            search.rules,
            PriceOfExplainability(free_objective, bands_objective),
            search.candidates,
            search.seconds,
        )
        solution = dataclasses.replace(
            solution,
            info={
                **solution.info,
                "bands_search_seconds": search.seconds,
                "bands_candidates": search.candidates,
                "bands_checks": "approximate" if search.approximate else "exact",
            },
        )
    csm: IntArray | None = hours_books if (solution.choice >= 0).all() else None
    if by_csm and (solution.choice >= 0).all():
        csm = by_csm_books
        if fit_bonus or continuity_bonus:
            solution = dataclasses.replace(
                solution, info={**solution.info, "fit_bonus_total": fit_total}
            )
    if adjusted and solution.status != "infeasible":
        kept = keep_current(
            prep,
            state,
            solution,
            side,
            hours=hours,
            target=mip_gap if mip_gap is not None else DEFAULT_MIP_GAP,
            fit_bonus=dict(fit_bonus or {}),
            continuity_bonus=float(continuity_bonus),
            by_csm=by_csm,
        )
        if kept is not None:
            solution, csm = kept
            unpacked = []
    diagnosis: list[str] = []
    if unpacked:
        diagnosis.append(
            "the accounts of " + ", ".join(unpacked) + " could not be spread over that pool's "
            "CSMs within each CSM's hours in the time given (the pool's total hours fit, the "
            "individual books do not); some CSMs in the plan are over their hours "
            "(plan.books shows who). Allow more time, or give those CSMs more hours."
        )
    if solution.status == "infeasible":
        diagnosis = [
            "the solver proved that no assignment fits the book caps, minimum books, "
            "pins, locks, specialist rules, hours, budget and move limits together; relax "
            "pins, locks or move limits, or add CSMs"
        ]
    elif solution.status == "time_limit" and not (solution.choice >= 0).all():
        diagnosis = ["the time limit ran out before any plan was found; allow more time"]
    if adjusted and (solution.choice >= 0).all():
        # Report expected impact, not the penalized objective.
        real = float(prep.value[np.arange(prep.accounts.n), prep.pools.tier[solution.choice]].sum())
        shift = solution.objective - real
        solution = dataclasses.replace(
            solution,
            objective=real,
            bound=max(real, solution.bound - shift),
            info={**solution.info, "penalized_objective": solution.objective},
        )
    bonus_total = 0.0
    if (fit_bonus or continuity_bonus) and not by_csm and (solution.choice >= 0).all():
        base = (
            csm
            if csm is not None
            else split_books(
                solution.choice,
                prep.accounts.arr,
                prep.pools,
                prep.roster,
                prep.current_csm,
                locked,
            )
        )
        hours_taken = (
            prep.workload[np.arange(prep.accounts.n), prep.pools.tier[solution.choice]]
            if hours
            else None
        )
        csm, bonus_total = fit_books(
            solution.choice,
            base,
            prep.accounts,
            prep.pools,
            prep.roster,
            fit_bonus=dict(fit_bonus or {}),
            # Keeping the current CSM is also worth the price of a CSM change.
            continuity_bonus=float(continuity_bonus) + state.penalty["csm"] + state.penalty["move"],
            workload=hours_taken,
            time_limit=time_limit,
            locked=locked,
        )
        solution = dataclasses.replace(
            solution, info={**solution.info, "fit_bonus_total": bonus_total}
        )
    plan = _assemble(prep, solution, name, diagnosis, hours=hours, csm=csm)
    if policy == "bands":
        plan = dataclasses.replace(plan, policy=policy, bands=bands)
    if attention != "flat" and plan.feasible:
        plan = redistribute_attention(plan, attention)
    if plan.feasible and rules is not None:
        plan = borrow(plan, rules)
    return plan


def _plan_hours(
    prep: _Prepared,
    pool_values: FloatArray,
    side: tuple[SideRow, ...],
    solve_with: Callable[[FloatArray, BoolArray, PoolSet, tuple[SideRow, ...]], PoolSolution],
    remaining: Callable[[], float | None],
    mip_gap: float | None,
    solver: object,
) -> tuple[PoolSolution, IntArray | None, list[str]]:
    """Plan with every CSM's hours, where the pool program only counts them per pool.

    The pool program's LP gives prices and the bound. Pools whose hours
    bind get books built to fill each CSM's hours
    (:mod:`tierplan.packing`) and are frozen to the accounts those books
    hold; the pool program is then solved around them. Pools whose
    count-balanced books still go over someone's hours are packed in turn.
    Returns the solution, its books and the pools whose books do not fit.
    """
    pools, roster = prep.pools, prep.roster
    n = prep.accounts.n
    locked = prep.accounts.locked
    current = prep.current_csm
    allowed = prep.eligible.copy()
    packed_csm = np.full(n, -1, dtype=np.int64)
    workload = prep.workload[:, pools.tier]
    csm_hours = roster["hours"].to_numpy(dtype=np.float64)
    hours_row = {
        int(p): k
        for k, row in enumerate(side)
        for p in np.flatnonzero(pools.human)
        if row.name == f"hours of {pools.names[p]}"
    }

    def books(choice: IntArray, packed: IntArray) -> tuple[IntArray, list[int]]:
        # Frozen pools keep their packed books; the others are split by count.
        split = split_books(choice, prep.accounts.arr, pools, roster, current, locked)
        frozen = (packed >= 0) & (pools.csm_pool[np.maximum(packed, 0)] == choice)
        csm = np.where(frozen, packed, split)
        held = csm >= 0
        load = np.bincount(
            csm[held], weights=workload[np.flatnonzero(held), choice[held]], minlength=len(roster)
        )
        over = load > csm_hours * (1 + 1e-9)
        return csm, sorted({int(p) for p in pools.csm_pool[over]})

    def refit(choice: IntArray, split: IntArray) -> tuple[IntArray, list[int]]:
        # Books re-assigned exactly (within the time left) to fit the hours.
        left = remaining()
        return fit_books_to_hours(
            choice,
            split,
            workload[np.arange(n), choice],
            pools,
            roster,
            time_limit=_PACKING_SECONDS if left is None else min(_PACKING_SECONDS, left),
            locked=locked,
        )

    prices = lp_prices(pool_values, allowed, pools.capacity, pools.minimum, side, remaining())
    bound = math.inf if prices is None else prices.bound
    # Pools whose hours bind in the LP: their books must fill each CSM's hours.
    targets = (
        []
        if prices is None
        else [p for p, k in hours_row.items() if prices.side[k] > 0 and pools.headcount[p] > 0]
    )
    packed_pools: set[int] = set()
    stuck: set[int] = set()
    solution: PoolSolution | None = None
    for _ in range(_PACKING_ROUNDS):
        trial = allowed
        packing = None
        if targets and prices is not None:
            net, inside = net_values(
                pool_values, allowed, side, prices.pool, prices.side, hours_row, pools.capacity
            )
            # Higher-touch tiers first: their accounts are the largest to pack.
            order = sorted(targets, key=lambda p: (int(pools.tier[p]), p))
            packing = pack_books(
                order, net, inside, allowed, workload, pools, roster, current, locked
            )
            stuck.update(packing.failed)
            trial = allowed.copy()
            for p in packing.packed:
                trial[:, p] &= packing.pool == p
        resolved = solve_with(np.where(trial, pool_values, 0.0), trial, pools, side)
        if not (resolved.choice >= 0).all() and trial is not allowed:
            # The frozen books leave no plan for the rest (a minimum book, the
            # budget): plan without them.
            resolved = solve_with(np.where(allowed, pool_values, 0.0), allowed, pools, side)
            packing = None
        solution = resolved
        if not (solution.choice >= 0).all():
            break
        if packing is not None:
            allowed = trial
            for p in packing.packed:
                mine = packing.pool == p
                packed_csm[mine] = packing.csm[mine]
            packed_pools.update(packing.packed)
        _, failing = books(solution.choice, packed_csm)
        targets = [p for p in failing if p not in stuck and p not in packed_pools]
        left = remaining()
        if not targets or packing is None or (left is not None and left <= _PACKING_RESERVE):
            break
        prices = lp_prices(pool_values, allowed, pools.capacity, pools.minimum, side, left)
    assert solution is not None
    if not (solution.choice >= 0).all():
        return solution, None, []
    csm, failing = books(solution.choice, packed_csm)
    target = DEFAULT_MIP_GAP if mip_gap is None else mip_gap
    left = remaining()
    if (
        packed_pools
        and relative_gap(solution.objective, bound) > target
        and n <= _PROOF_ACCOUNTS
        and (left is None or left > _PACKING_RESERVE)
    ):
        # The LP bound is loose where few accounts share few CSMs: the pool
        # program's own MIP proves a tighter one, and its plan is kept when
        # its books fit and it is better. Beyond a few thousand accounts it
        # rarely proves more than the LP in the time it takes.
        # HiGHS unless told otherwise: it proves these bounds many times
        # faster than CBC. Without a time limit the check gets a fixed one.
        whole = solve_pools(
            pool_values,
            prep.eligible,
            pools,
            solver="highs" if solver is None else solver,
            time_limit=_PROOF_SECONDS if left is None else left,
            mip_gap=mip_gap,
            side=side,
        )
        if (whole.choice >= 0).all():
            bound = min(bound, whole.bound)
            split, over = books(whole.choice, np.full(n, -1, dtype=np.int64))
            if over and whole.objective > solution.objective:
                split, over = refit(whole.choice, split)
            if not over and whole.objective > solution.objective:
                solution, csm, failing, packed_pools = whole, split, [], set()
    if failing:
        # Last resort for pools whose books could not be built: an exact
        # re-assignment of the count-balanced split within the time left.
        csm, failing = refit(solution.choice, csm)
    if not packed_pools:
        # The plan is the pool program's own solution: its bound holds.
        bound = min(bound, solution.bound)
    bound = max(bound, solution.objective)
    gap = relative_gap(solution.objective, bound)
    status = solution.status if gap <= target else "time_limit"
    if failing:
        status = "time_limit"
    names = [pools.names[p] for p in sorted(packed_pools)]
    solution = dataclasses.replace(
        solution,
        bound=bound,
        gap=gap,
        status=status,
        info={
            **solution.info,
            "method": solution.info.get("method", "")
            + (f"; books built to fill each CSM's hours in {len(names)} pools" if names else ""),
            "packing": (
                "books fit every CSM's hours as the pool program chose them"
                if not names
                else "books built to fill each CSM's hours in " + ", ".join(names) + "; "
                "those pools were frozen to the accounts their books hold and the rest "
                "re-planned; the gap is measured against the bound of the pool program, "
                "which counts hours per pool, not per CSM"
            ),
        },
    )
    return solution, csm, [pools.names[p] for p in failing]


def _check_policy(
    policy: str,
    *,
    hours: bool,
    budget: float | None,
    max_moves: int | None,
    move_penalty: object,
    max_moves_per_csm: int | None,
) -> None:
    if policy not in POLICIES:
        raise ConfigError(f"policy: unknown policy {policy!r}; choose one of {list(POLICIES)}")
    if policy == "bands":
        clash = [
            option
            for option, used in (
                ("hours", bool(hours)),
                ("budget", budget is not None),
                ("max_moves", max_moves is not None),
                ("move_penalty", bool(move_penalty)),
                ("max_moves_per_csm", max_moves_per_csm is not None),
            )
            if used
        ]
        if clash:
            raise ConfigError(
                f"policy='bands' does not combine with {', '.join(clash)}: a band rule fixes "
                "every account's tier from its ARR and whitespace, so tier-level side "
                "constraints would have to be searched over rules; plan with policy='free'"
            )


def _band_search(prep: _Prepared, free_choice: IntArray) -> tuple[BandSearch, float]:
    """The best band rule for a prepared problem, and the free optimum's objective."""
    acc = prep.accounts
    names = prep.model.tier_names
    index = {name: k for k, name in enumerate(names)}
    pinned = pd.Series(acc.pinned_tier).map(index).fillna(-1).to_numpy(dtype=np.int64)
    free_tier = prep.pools.tier[free_choice]
    search = search_bands(
        prep.value, prep.eligible, prep.pools, names, acc.arr, acc.potential, pinned, free_tier
    )
    free_objective = float(prep.value[np.arange(acc.n), free_tier].sum())
    return search, free_objective


#: Roster and account labels a CSM can be matched on.
MATCH_ATTRIBUTES = ("region", "language")

#: Default relative gap when hours, a budget or a move limit make the program
#: a true MIP: closing the last hundredth of a percent of a knapsack-like
#: program can take orders of magnitude longer than reaching it.
SIDE_MIP_GAP = 1e-4

#: How many times pools whose accounts do not pack into CSM hours are
#: tightened and the pool program re-solved.
_PACKING_ROUNDS = 5

#: Seconds per pool for packing accounts into CSM hours, at most.
_PACKING_SECONDS = 10.0

#: Up to this many accounts, a plan whose books were built is checked
#: against the pool program's own MIP, for a tighter bound.
_PROOF_ACCOUNTS = 5_000

#: Seconds that check may take without a time limit for the plan.
_PROOF_SECONDS = 30.0

#: Seconds of the time limit below which no further re-plan is started.
_PACKING_RESERVE = 1.0


def baseline_plan(
    accounts: Any,
    team: Any,
    model: CoverageModel | None = None,
    *,
    values: Any = None,
    solver: object = None,
    require_specialist: bool | None = None,
    match: Sequence[str] = (),
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
    accounts, team, model, values, solver, require_specialist, match
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
    prep = _prepare(
        accounts, team, model, values, require_specialist, solver=solver, match=tuple(match)
    )
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
