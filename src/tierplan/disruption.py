"""The cost of change: move penalties, hysteresis, locks and move budgets.

A quarterly re-plan starts from the current state (``current_tier``,
``current_csm``) and should move an account only when the move pays. This
module turns the disruption controls of :func:`tierplan.plan` into terms
of the pool program:

* **penalties** are value adjustments on (account, pool) pairs, so the
  program stays a transportation problem and keeps its exact network
  solver: a price per moved account, per tier change and per CSM change,
  and a hysteresis band on tier changes;
* **locks** are eligibility: a locked account may only go to its current
  CSM (or its current tier when it has no CSM);
* **move budgets** are side rows. An overall budget counts moved accounts;
  a budget per CSM counts accounts leaving and joining each book, which the
  pool program cannot see, so with it the program is solved with one pool
  per CSM (exact, and a MIP).

:func:`disruption_frontier` traces expected impact against the number of
moves by pricing moves (a Lagrangian relaxation of the move budget).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.accounts import label_index
from tierplan.errors import ConfigError, InputError, format_ids
from tierplan.formulation import SideRow
from tierplan.pools import PoolSet

if TYPE_CHECKING:
    from tierplan.accounts import Accounts
    from tierplan.config import CoverageModel

__all__ = [
    "PENALTY_KEYS",
    "Disruption",
    "csm_pools",
    "disruption_frontier",
    "fit_matrix",
    "parse_move_penalty",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: What a move penalty can price: a moved account (counted once), a change
#: of tier, a change of CSM.
PENALTY_KEYS = ("move", "tier", "csm")

#: Most (account, CSM) columns of the program with one pool per CSM: beyond
#: this the MIP takes gigabytes and minutes.
MAX_CSM_PAIRS = 2_000_000

#: Stay bonus, relative to the largest value, that breaks ties toward the
#: current tier and CSM: small enough to never trade real impact for it.
STAY_BONUS = 1e-9


def _number(name: str, value: Any, *, low: float = 0.0, high: float = math.inf) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not (low <= float(value) <= high)
        or not math.isfinite(float(value))
    ):
        rule = f">= {low:g}" if high == math.inf else f"in [{low:g}, {high:g})"
        raise ConfigError(f"{name}: must be a finite number {rule}, got {value!r}")
    return float(value)


def parse_move_penalty(value: Any) -> dict[str, float]:
    """Read ``move_penalty``: a number (per tier change) or a mapping.

    Parameters
    ----------
    value
        A number: expected impact a tier change must beat. A mapping with
        keys among ``"move"`` (per moved account, whatever changed),
        ``"tier"`` (per change of tier) and ``"csm"`` (per change of CSM,
        i.e. the account had a CSM and ends up with another one or none).

    Returns
    -------
    dict
        The three prices, 0 where not given.

    Raises
    ------
    ConfigError
        On unknown keys or negative or non-numeric prices.

    Examples
    --------
    >>> parse_move_penalty(5_000)
    {'move': 0.0, 'tier': 5000.0, 'csm': 0.0}
    >>> parse_move_penalty({"csm": 2_000})
    {'move': 0.0, 'tier': 0.0, 'csm': 2000.0}
    """
    if isinstance(value, Mapping):
        unknown = sorted(str(k) for k in value if k not in PENALTY_KEYS)
        if unknown:
            raise ConfigError(
                f"move_penalty: unknown key(s) {unknown}; use {list(PENALTY_KEYS)} "
                "(per moved account, per tier change, per CSM change)"
            )
        return {k: _number(f"move_penalty[{k!r}]", value.get(k, 0.0)) for k in PENALTY_KEYS}
    return {"move": 0.0, "tier": _number("move_penalty", value), "csm": 0.0}


def _whole(name: str, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ConfigError(f"{name}: must be a whole number >= 0, got {value!r}")
    return int(value)


def _take(values: npt.NDArray[Any], rows: IntArray, fill: Any) -> npt.NDArray[Any]:
    """``values[rows]`` with ``fill`` where ``rows`` is -1 (also for an empty roster)."""
    out = np.full(rows.shape[0], fill, dtype=values.dtype if values.size else object)
    ok = rows >= 0
    out[ok] = values[rows[ok]]
    return out


def csm_pools(pools: PoolSet, roster: pd.DataFrame) -> tuple[PoolSet, IntArray, IntArray]:
    """One pool per CSM (pools without people stay whole).

    Parameters
    ----------
    pools
        The pools of the team.
    roster
        The resolved roster.

    Returns
    -------
    tuple
        The per-CSM pools; the original pool of each; the roster row of
        each (``-1`` for pools without people).
    """
    parent_parts: list[IntArray] = []
    row_parts: list[IntArray] = []
    for p in range(len(pools)):
        if pools.human[p]:
            rows = np.flatnonzero(pools.csm_pool == p).astype(np.int64)
            parent_parts.append(np.full(rows.shape[0], p, dtype=np.int64))
            row_parts.append(rows)
        else:
            parent_parts.append(np.array([p], dtype=np.int64))
            row_parts.append(np.array([-1], dtype=np.int64))
    parent = np.concatenate(parent_parts)
    row = np.concatenate(row_parts)
    human = row >= 0
    ids = roster["csm_id"].astype(str).to_numpy(dtype=object)
    names = tuple(
        f"{pools.names[p]} {ids[r]}" if r >= 0 else pools.names[p]
        for p, r in zip(parent.tolist(), row.tolist(), strict=True)
    )

    def per_csm(column: str, fallback: FloatArray | IntArray) -> Any:
        return np.where(human, _take(roster[column].to_numpy(), row, 0), fallback[parent])

    csm_pool = np.full(len(roster), -1, dtype=np.int64)
    csm_pool[row[human]] = np.flatnonzero(human)
    split = PoolSet(
        names=names,
        tier=pools.tier[parent],
        vertical=pools.vertical[parent],
        human=pools.human[parent],
        capacity=per_csm("max_accounts", pools.capacity).astype(np.float64),
        minimum=per_csm("min_accounts", pools.minimum).astype(np.int64),
        headcount=human.astype(np.int64),
        hours=per_csm("hours", pools.hours).astype(np.float64),
        cost=per_csm("cost", pools.cost).astype(np.float64),
        csm_pool=csm_pool,
        attributes={k: v[parent] for k, v in pools.attributes.items()},
    )
    return split, parent, row


def fit_matrix(
    accounts: Accounts,
    roster: pd.DataFrame,
    rows: IntArray,
    fit_bonus: Mapping[str, float],
    continuity_bonus: float,
) -> FloatArray:
    """Fit and continuity value of giving each account to each roster row.

    Parameters
    ----------
    accounts
        Validated accounts.
    roster
        Resolved roster.
    rows
        Roster row of each column (``-1``: no CSM, no fit).
    fit_bonus
        Value per shared label (``region``, ``language``, ``vertical``).
    continuity_bonus
        Value of keeping the current CSM.

    Returns
    -------
    numpy.ndarray
        Accounts × columns.
    """
    out = np.zeros((accounts.n, rows.shape[0]))
    human = rows >= 0
    for label, bonus in fit_bonus.items():
        theirs = _take(roster[label].to_numpy(dtype=object), rows, "")
        mine = getattr(accounts, label)
        same = (mine[:, None] == theirs[None, :]) & (theirs != "")[None, :] & human[None, :]
        out += float(bonus) * same
    if continuity_bonus:
        ids = _take(roster["csm_id"].to_numpy(dtype=object), rows, None)
        current = accounts.current_csm.astype(object)
        out += float(continuity_bonus) * ((current[:, None] == ids[None, :]) & human[None, :])
    return out


@dataclass(frozen=True, eq=False)
class Disruption:
    """The current state of every account and the disruption controls.

    Attributes
    ----------
    current_tier
        Tier index of each account's current tier (``-1``: none).
    current_csm
        Roster row of each account's current CSM (``-1``: none, or gone).
    had_csm
        Whether the account has a ``current_csm`` (on the roster or not).
    locked
        Accounts that keep their current tier and CSM.
    penalty
        Prices per moved account, tier change and CSM change.
    hysteresis
        Share of the higher tier's value a tier change must gain.
    max_moves
        Most accounts that may move (``None``: no limit).
    max_moves_per_csm
        Most accounts that may leave, and most that may join, each CSM's
        book (``None``: no limit).
    """

    current_tier: IntArray
    current_csm: IntArray
    had_csm: BoolArray
    locked: BoolArray
    penalty: dict[str, float]
    hysteresis: float
    max_moves: int | None
    max_moves_per_csm: int | None

    @classmethod
    def build(
        cls,
        accounts: Accounts,
        roster: pd.DataFrame,
        model: CoverageModel,
        *,
        move_penalty: Any = 0.0,
        hysteresis: Any = 0.0,
        max_moves: Any = None,
        max_moves_per_csm: Any = None,
    ) -> Disruption:
        """Validate the options against the accounts and the team.

        Parameters
        ----------
        accounts
            Validated accounts.
        roster
            Resolved roster.
        model
            The coverage model.
        move_penalty, hysteresis, max_moves, max_moves_per_csm
            As in :func:`tierplan.plan`.

        Returns
        -------
        Disruption
            The state and controls.

        Raises
        ------
        ConfigError
            On invalid options.
        InputError
            On locked accounts that cannot stay where they are.
        """
        penalty = parse_move_penalty(move_penalty)
        band = _number("hysteresis", hysteresis, high=1.0)
        if band >= 1.0:
            raise ConfigError(f"hysteresis: must be below 1 (a share of value), got {hysteresis!r}")
        current_tier = (
            label_index(accounts.current_tier, model.tier_names)
            if accounts.has("current_tier")
            else np.full(accounts.n, -1, dtype=np.int64)
        )
        current_csm = np.full(accounts.n, -1, dtype=np.int64)
        had_csm = np.zeros(accounts.n, dtype=bool)
        if accounts.has("current_csm"):
            current_csm = label_index(accounts.current_csm, roster["csm_id"].tolist())
            had_csm = np.asarray(pd.notna(accounts.current_csm), dtype=bool)
        locked = np.asarray(accounts.locked, dtype=bool)
        if locked.shape[0] != accounts.n:
            locked = np.zeros(accounts.n, dtype=bool)
        state = cls(
            current_tier=current_tier,
            current_csm=current_csm,
            had_csm=had_csm,
            locked=locked,
            penalty=penalty,
            hysteresis=band,
            max_moves=_whole("max_moves", max_moves),
            max_moves_per_csm=_whole("max_moves_per_csm", max_moves_per_csm),
        )
        state._check_locks(accounts, roster, model)
        return state

    def _check_locks(self, accounts: Accounts, roster: pd.DataFrame, model: CoverageModel) -> None:
        locked = self.locked
        if not locked.any():
            return
        ids = accounts.ids

        def fail(mask: BoolArray, rule: str) -> None:
            if mask.any():
                raise InputError(rule, column="locked", ids=list(ids[mask]))

        fail(
            locked & (self.current_tier < 0),
            "a locked account must have a current_tier to stay in; give one or unlock it",
        )
        human = np.array([t.human for t in model.tiers])
        in_human = locked & human[np.maximum(self.current_tier, 0)]
        fail(
            in_human & ~self.had_csm,
            "a locked account in a tier with CSMs must have a current_csm to stay with",
        )
        fail(
            in_human & self.had_csm & (self.current_csm < 0),
            "the current CSM of these locked accounts is not on the team (has the CSM left?); "
            "unlock them or reassign them first",
        )
        roster_tier = roster["tier_index"].to_numpy(dtype=np.int64)
        wrong = in_human & (self.current_csm >= 0)
        wrong &= _take(roster_tier, self.current_csm, -1) != self.current_tier
        fail(wrong, "a locked account's current_csm works in another tier than its current_tier")
        pinned = pd.notna(accounts.pinned_tier)
        clash = locked & pinned & (accounts.pinned_tier != accounts.current_tier)
        fail(clash, "a locked account is pinned to another tier than its current_tier")

    # -- what counts as a move ----------------------------------------------
    def overfull(self, roster: pd.DataFrame) -> bool:
        """Whether some CSM holds more current accounts than their book cap.

        Parameters
        ----------
        roster
            Resolved roster.

        Returns
        -------
        bool
            True when keeping every current account is impossible for a CSM.
        """
        held = self.current_csm[self.current_csm >= 0]
        count = np.bincount(held, minlength=len(roster))
        return bool((count > roster["max_accounts"].to_numpy(dtype=np.float64)).any())

    @property
    def active(self) -> bool:
        """Whether any account has a current state to keep."""
        return bool((self.current_tier >= 0).any() or self.had_csm.any())

    def move_masks(
        self, pools: PoolSet, by_csm_row: IntArray | None = None
    ) -> tuple[BoolArray, BoolArray]:
        """Tier change and CSM change of every (account, pool) pair.

        Parameters
        ----------
        pools
            Pool-level pools, or per-CSM pools.
        by_csm_row
            For per-CSM pools, the roster row of each (``-1`` without
            people); ``None`` for pool-level pools, where a CSM change is a
            change of pool away from the current CSM's pool.

        Returns
        -------
        tuple of numpy.ndarray
            ``tier_change`` and ``csm_change`` (accounts × pools).
        """
        cur_t = self.current_tier
        tier_change = (cur_t[:, None] >= 0) & (pools.tier[None, :] != cur_t[:, None])
        if by_csm_row is None:
            on_team = self.current_csm >= 0
            owner_now = np.full(self.current_csm.shape[0], -1, dtype=np.int64)
            owner_now[on_team] = pools.csm_pool[self.current_csm[on_team]]
            owner_col = np.arange(len(pools))
            owner_col = np.where(pools.human, owner_col, -2)
        else:
            owner_now = self.current_csm
            owner_col = np.where(by_csm_row >= 0, by_csm_row, -2)
        csm_change = self.had_csm[:, None] & (owner_col[None, :] != owner_now[:, None])
        return tier_change, csm_change

    def adjust(
        self,
        values: FloatArray,
        eligible: BoolArray,
        tier_values: FloatArray,
        pools: PoolSet,
        by_csm_row: IntArray | None = None,
        *,
        extra: float = 0.0,
    ) -> tuple[FloatArray, BoolArray]:
        """Subtract move prices from the pool values; return them and the move mask.

        Parameters
        ----------
        values
            Value of each (account, pool) pair.
        eligible
            Allowed pairs.
        tier_values
            The value matrix (accounts × tiers), for hysteresis.
        pools
            The pools of ``values``' columns.
        by_csm_row
            Roster row per column for per-CSM pools (see :meth:`move_masks`).
        extra
            An additional price per moved account (the frontier's multiplier).

        Returns
        -------
        tuple
            Adjusted values, and which pairs move the account.
        """
        if not self.active:
            # No current state: nothing can move (and nothing is priced).
            return values, np.zeros(values.shape, dtype=bool)
        tier_change, csm_change = self.move_masks(pools, by_csm_row)
        moved = tier_change | csm_change
        finite = np.abs(values[eligible])
        stay = STAY_BONUS * max(1.0, float(finite.max()) if finite.size else 1.0)
        price = (
            tier_change * (self.penalty["tier"] + stay)
            + csm_change * (self.penalty["csm"] + stay)
            + moved * (self.penalty["move"] + extra)
        )
        if self.hysteresis > 0:
            now = tier_values[np.arange(values.shape[0]), np.maximum(self.current_tier, 0)]
            there = tier_values[:, pools.tier]
            # The band is a share of the larger of the two values: a promotion
            # must gain that share of what the higher tier is worth, and a
            # demotion must save it, so an account near a cut does not flip.
            there = np.where(np.isfinite(there), np.abs(there), 0.0)
            now = np.where(np.isfinite(now), np.abs(now), 0.0)
            higher = np.maximum(there, now[:, None])
            price = price + tier_change * self.hysteresis * higher
        return values - price, moved

    def restrict(
        self, eligible: BoolArray, pools: PoolSet, by_csm_row: IntArray | None = None
    ) -> BoolArray:
        """Eligibility with locked accounts confined to their current place.

        Parameters
        ----------
        eligible
            Eligibility (accounts × pools).
        pools
            The pools of its columns.
        by_csm_row
            Roster row per column for per-CSM pools.

        Returns
        -------
        numpy.ndarray
            The restricted eligibility.
        """
        if not self.locked.any():
            return eligible
        tier_change, csm_change = self.move_masks(pools, by_csm_row)
        stays = ~(tier_change | csm_change)
        return np.where(self.locked[:, None], eligible & stays, eligible)

    def lock_diagnosis(self, accounts: Accounts, roster: pd.DataFrame) -> list[str]:
        """Books that locked accounts alone overfill, in words.

        Parameters
        ----------
        accounts
            Validated accounts.
        roster
            Resolved roster.

        Returns
        -------
        list of str
            One sentence per overfilled book.
        """
        held = self.locked & (self.current_csm >= 0)
        if not held.any():
            return []
        count = np.bincount(self.current_csm[held], minlength=len(roster))
        caps = roster["max_accounts"].to_numpy(dtype=np.float64)
        over = np.flatnonzero(count > caps)
        ids = roster["csm_id"].to_numpy(dtype=object)
        return [
            f"CSM {ids[c]} holds {int(count[c])} locked accounts but the book cap is "
            f"{int(caps[c])}; unlock some of them or raise the cap "
            f"({format_ids(accounts.ids[held & (self.current_csm == c)])})."
            for c in over
        ]

    def budget_diagnosis(self, accounts: Accounts) -> list[str]:
        """Move budgets that the departures alone exceed, in words.

        Parameters
        ----------
        accounts
            Validated accounts.

        Returns
        -------
        list of str
            Empty when the budget can be met.
        """
        orphans = self.had_csm & (self.current_csm < 0)
        forced = int(orphans.sum())
        if self.max_moves is None or forced <= self.max_moves:
            return []
        return [
            f"{forced} accounts must move because their CSM is no longer on the team, more "
            f"than max_moves={self.max_moves}; raise the limit "
            f"({format_ids(accounts.ids[orphans])})."
        ]

    def side_rows(
        self, moved: BoolArray, pools: PoolSet, by_csm_row: IntArray | None
    ) -> tuple[SideRow, ...]:
        """The move budgets as side rows of the pool program.

        Parameters
        ----------
        moved
            Which (account, pool) pairs move the account.
        pools
            The pools of the program's columns.
        by_csm_row
            Roster row per column (per-CSM pools, needed for the budget
            per CSM).

        Returns
        -------
        tuple of SideRow
            The overall budget and, per CSM, the accounts leaving and joining.
        """
        n = moved.shape[0]
        rows: list[SideRow] = []
        if self.max_moves is not None:
            rows.append(
                SideRow(
                    "moves from the current state",
                    np.ones(n),
                    np.ones(len(pools)),
                    float(self.max_moves),
                    pair_coef=moved.astype(np.float64),
                )
            )
        if self.max_moves_per_csm is not None and by_csm_row is not None:
            k = float(self.max_moves_per_csm)
            for col in np.flatnonzero(by_csm_row >= 0):
                c = by_csm_row[col]
                mine = (self.current_csm == c).astype(np.float64)
                unit = np.zeros(len(pools))
                unit[col] = 1.0
                # Leaving: current accounts not kept, i.e. -kept <= k - held.
                rows.append(
                    SideRow(f"accounts leaving {pools.names[col]}", -mine, unit, k - mine.sum())
                )
                rows.append(SideRow(f"accounts joining {pools.names[col]}", 1.0 - mine, unit, k))
        return tuple(rows)


def solve_by_csm(
    prep: Any,
    state: Disruption,
    side: tuple[SideRow, ...],
    *,
    hours: bool,
    fit_bonus: Mapping[str, float],
    continuity_bonus: float,
    solve: Any,
) -> tuple[Any, IntArray, float]:
    """Solve the program with one pool per CSM, exact for budgets per CSM.

    Parameters
    ----------
    prep
        The planner's prepared inputs (pool-level).
    state
        Current state and controls.
    side
        Side rows of the pool-level program other than hours (the budget).
    hours
        Cap each CSM's hours (exact here: one row per CSM).
    fit_bonus, continuity_bonus
        Fit and continuity values, added to the program's values.
    solve
        ``solve(values, eligible, pools, side)`` returning a PoolSolution.

    Returns
    -------
    tuple
        The solution with pool-level choices, the roster row per account
        and the total fit and continuity value.
    """
    from tierplan.books import split_books
    from tierplan.planner import _side_rows

    pools, parent, row = csm_pools(prep.pools, prep.roster)
    eligible = state.restrict(prep.eligible[:, parent], pools, row)
    pairs = int(eligible.sum())
    if pairs > MAX_CSM_PAIRS:
        raise ConfigError(
            f"move limits per CSM (or a move budget with hours or fit) need a program with "
            f"one column per account and CSM it may go to: {pairs:,} here, above the "
            f"{MAX_CSM_PAIRS:,} that solve in reasonable time and memory. Use max_moves "
            "with the pool program (no hours or fit), tp.disruption_frontier, or plan "
            "regions or segments separately."
        )
    values = np.where(eligible, prep.value[:, pools.tier], 0.0)
    bonus = fit_matrix(prep.accounts, prep.roster, row, fit_bonus, continuity_bonus)
    values, moved = state.adjust(values + bonus, eligible, prep.value, pools, row)
    split_prep = dataclasses.replace(prep, pools=pools, eligible=eligible)
    rows = (
        *_side_rows(split_prep, hours, None),
        *(r for r in side if r.name == "coverage budget"),
        *state.side_rows(moved, pools, row),
    )
    # The budget row was built for pool-level columns: rebuild it per CSM.
    rows = tuple(
        dataclasses.replace(r, pool_coef=r.pool_coef[parent]) if r.name == "coverage budget" else r
        for r in rows
    )
    solution = solve(values, eligible, pools, rows)
    choice = solution.choice
    ok = choice >= 0
    csm = np.where(ok, row[np.maximum(choice, 0)], -1)
    pool_choice = np.where(ok, parent[np.maximum(choice, 0)], -1)
    fit_total = float(bonus[np.flatnonzero(ok), choice[ok]].sum())
    if ok.all() and state.max_moves_per_csm is None and not hours and not fit_bonus:
        # Only the overall budget binds: re-deal each pool's newcomers for
        # balance. Current CSMs keep at least the accounts the program kept,
        # so no more accounts move.
        csm = split_books(
            pool_choice,
            prep.accounts.arr,
            prep.pools,
            prep.roster,
            state.current_csm,
            state.locked,
        )
    return dataclasses.replace(solution, choice=pool_choice), csm, fit_total


def keep_current(
    prep: Any,
    state: Disruption,
    solution: Any,
    side: tuple[SideRow, ...],
    *,
    hours: bool,
    target: float,
    fit_bonus: Mapping[str, float],
    continuity_bonus: float,
    by_csm: bool,
) -> tuple[Any, IntArray] | None:
    """The current state, when the MIP's plan gains less than the gap over it.

    A MIP answer is optimal only up to its gap, so a re-plan of unchanged
    data could trade the current state for another plan inside the gap and
    move accounts for nothing. When the current state itself fits every
    rule (eligibility, book caps and minimums, side rows, CSM hours) and the
    plan found beats it by less than ``target`` (relative to the bound), the
    current state is the answer, with the status of the plan found: within
    twice the gap of the optimum when that plan is within it, and ``gap``
    reports its distance to the bound honestly.

    Parameters
    ----------
    prep
        The planner's prepared inputs.
    state
        Current state and controls.
    solution
        The MIP path's solution (pool-level choices).
    side
        Side rows of the pool-level program.
    hours
        Whether CSM hours are capped.
    target
        Relative gain (over the bound) below which the current state is kept.
    fit_bonus, continuity_bonus, by_csm
        Fit values that were part of the program's objective (only with
        one pool per CSM).

    Returns
    -------
    tuple or None
        The solution with the current state and the roster row per account,
        or ``None`` when the current state does not qualify.
    """
    from tierplan.mip import relative_gap

    if solution.info.get("path") != "mip" or not math.isfinite(solution.bound):
        return None
    pools, roster = prep.pools, prep.roster
    n = prep.accounts.n
    on_team = state.current_csm >= 0
    if (state.had_csm & ~on_team).any():
        return None  # a CSM left: their accounts must move
    current = np.full(n, -1, dtype=np.int64)
    current[on_team] = pools.csm_pool[state.current_csm[on_team]]
    digital = np.full(len(prep.model.tiers), -1, dtype=np.int64)
    digital[pools.tier[~pools.human]] = np.flatnonzero(~pools.human)
    loose = ~on_team & (state.current_tier >= 0)
    current[loose] = digital[state.current_tier[loose]]
    if (current < 0).any() or (pools.tier[current] != state.current_tier).any():
        return None
    rows = np.arange(n)
    if not prep.eligible[rows, current].all():
        return None
    held = np.bincount(state.current_csm[on_team], minlength=len(roster))
    if (held > roster["max_accounts"].to_numpy()).any() or (
        held < roster["min_accounts"].to_numpy()
    ).any():
        return None
    for row in side:
        if float(row.matrix()[rows, current].sum()) > row.upper * (1 + 1e-9) + 1e-9:
            return None
    if hours:
        load = np.bincount(
            state.current_csm[on_team],
            weights=prep.workload[rows, state.current_tier][on_team],
            minlength=len(roster),
        )
        if (load > roster["hours"].to_numpy(dtype=np.float64) * (1 + 1e-9)).any():
            return None
    objective = float(prep.value[rows, state.current_tier].sum())
    if by_csm and (fit_bonus or continuity_bonus):
        # Fit of each account with its own CSM: the diagonal of fit_matrix.
        for label, bonus in fit_bonus.items():
            theirs = _take(roster[label].to_numpy(dtype=object), state.current_csm, "")
            mine = getattr(prep.accounts, label)
            objective += float(bonus) * float(((mine == theirs) & (theirs != "")).sum())
        objective += float(continuity_bonus) * float(on_team.sum())
    gain = float(solution.objective) - objective
    if not gain <= target * max(abs(float(solution.bound)), 1e-9):
        return None
    gap = relative_gap(objective, solution.bound)
    info = {
        **solution.info,
        "method": f"{solution.info.get('method', '')}; current state kept (within the gap)",
        "current_state_kept": True,
    }
    # Within the gap of the plan found: as optimal as that plan, no more.
    kept = dataclasses.replace(solution, choice=current, objective=objective, gap=gap, info=info)
    return kept, np.where(on_team, state.current_csm, -1)


def count_moves(
    state: Disruption, tier_choice: IntArray, csm_choice: IntArray
) -> dict[str, IntArray | int]:
    """Moves of a finished plan: tier changes, CSM changes, promotions, demotions.

    Parameters
    ----------
    state
        The current state.
    tier_choice
        New tier per account.
    csm_choice
        New roster row per account (``-1``: none).

    Returns
    -------
    dict
        ``moved`` (mask) and counts ``moves``, ``promotions``,
        ``demotions``, ``new_owners``.
    """
    known = state.current_tier >= 0
    promotion = known & (tier_choice < state.current_tier)
    demotion = known & (tier_choice > state.current_tier)
    csm_change = state.had_csm & (csm_choice != state.current_csm)
    csm_change |= state.had_csm & (state.current_csm < 0)
    moved = promotion | demotion | csm_change
    return {
        "moved": moved,
        "moves": int(moved.sum()),
        "promotions": int(promotion.sum()),
        "demotions": int(demotion.sum()),
        "new_owners": int((moved & ~promotion & ~demotion).sum()),
    }


FRONTIER_COLUMNS = [
    "max_moves",
    "moves",
    "promotions",
    "demotions",
    "new_owners",
    "expected_impact",
    "gain",
    "bound",
    "exact",
    "method",
    "status",
]


def disruption_frontier(
    accounts: Any,
    team: Any,
    model: CoverageModel | None = None,
    *,
    moves: Sequence[int] | None = None,
    exact: bool = False,
    max_rounds: int = 24,
    **plan_kwargs: Any,
) -> pd.DataFrame:
    """Expected impact against the number of accounts moved from the current state.

    For every move budget ``k`` the best plan that moves at most ``k``
    accounts (tier or CSM changes, as counted by ``plan.moves``). The
    frontier is traced by pricing moves: each point is the optimal plan
    with a price ``λ`` per moved account, found by the exact network
    algorithm, and ``λ`` is searched until the plan moves ``k`` accounts.
    Such a plan is optimal for its own number of moves (Lagrangian
    duality), so a point whose ``moves`` equals ``max_moves`` is exact.
    Where the frontier is not concave no price lands exactly on ``k``; the
    point is then the best priced plan within the budget, ``bound`` is the
    proven upper bound ``min over λ of (priced optimum + λ·k)``, and with
    ``exact=True`` the point is re-solved as a MIP with the budget as a
    constraint.

    Parameters
    ----------
    accounts
        Accounts with ``current_tier`` / ``current_csm`` (as for
        :func:`tierplan.plan`).
    team
        The team.
    model
        Coverage model.
    moves
        Move budgets to evaluate. Default: 0 and fractions (5% to 100%)
        of the moves of the unconstrained re-plan.
    exact
        Re-solve points the pricing does not hit exactly as MIPs.
    max_rounds
        Price searches per budget before settling for the best plan found.
    **plan_kwargs
        Other options of :func:`tierplan.plan` (``move_penalty``,
        ``hysteresis``, ``values``, ``match``, ...). With ``hours``,
        ``budget``, ``max_moves_per_csm``, ``fit_bonus``,
        ``continuity_bonus`` or a named ``solver`` every point is a MIP
        (give ``moves`` then).

    Returns
    -------
    pandas.DataFrame
        One row per budget: ``max_moves``, ``moves`` made, ``promotions``,
        ``demotions``, ``new_owners``, ``expected_impact``, ``gain`` (over
        the plan with the fewest moves, usually the current state),
        ``bound`` (best possible impact within the budget; ``nan`` when
        ``move_penalty`` or ``hysteresis`` are given, since the plans then
        maximize impact net of those prices), ``exact`` (the plan is
        optimal for :func:`tierplan.plan` with ``max_moves`` set to the
        budget and the same options), ``method`` and ``status``.
        Expected impact never decreases with the budget; draw it with
        :func:`tierplan.plots.disruption`. When no plan fits
        (e.g. locks overfill a book) every row is ``"infeasible"`` and
        ``frame.attrs["diagnosis"]`` says why.

    Raises
    ------
    ConfigError
        On invalid options (``max_moves`` is set by the frontier).

    Examples
    --------
    >>> import tierplan as tp
    >>> accounts = tp.synthetic_accounts(n=400, seed=2)
    >>> team = tp.Team.from_headcount({"tier1": 2, "tier2": 1})
    >>> first = tp.plan(accounts, team)
    >>> accounts["current_tier"] = first.assignments["tier"]
    >>> accounts["current_csm"] = first.assignments["csm_id"]
    >>> accounts.loc[:40, "arr"] *= 3
    >>> front = tp.disruption_frontier(accounts, team, moves=[0, 5, 20])
    >>> front["expected_impact"].is_monotonic_increasing
    True
    """
    from tierplan.planner import plan as make_plan

    rounds = _whole("max_rounds", max_rounds)
    if not rounds:
        raise ConfigError(f"max_rounds: must be a whole number >= 1, got {max_rounds!r}")
    for key in ("max_moves", "name"):
        if key in plan_kwargs:
            raise ConfigError(f"disruption_frontier: {key} is set by the frontier, not passed")
    given = None if moves is None else [int(_whole("moves", k) or 0) for k in moves]
    # These options change the program or the books beyond what a priced
    # network solve sees: every point is then a plan with a move budget.
    heavy = ("hours", "budget", "max_moves_per_csm", "fit_bonus", "continuity_bonus")
    mip_only = any(plan_kwargs.get(k) for k in heavy) or plan_kwargs.get("solver") is not None
    if mip_only:
        if given is None:
            raise ConfigError(
                "disruption_frontier: with hours, a budget, a per-CSM limit or a named solver "
                "every point is a MIP; give the budgets as moves=[...]"
            )
        return _mip_frontier(accounts, team, model, given, plan_kwargs)

    priced = _Pricer(accounts, team, model, plan_kwargs)
    if priced.reasons:
        frame = pd.DataFrame(
            {"max_moves": sorted(set(given or [0])), "status": "infeasible", "exact": False}
        ).reindex(columns=FRONTIER_COLUMNS)
        frame["status"] = "infeasible"
        frame.attrs["diagnosis"] = list(priced.reasons)
        return frame
    free = priced.at(0.0)
    if given is None:
        given = [round(free.moves * f) for f in (0, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1)]
    wanted = sorted(set(given))
    rows = []
    for k in wanted:
        best = priced.search(k, rounds)
        bound = priced.bound(k)
        hit = best is not None and best.moves == k
        # The unconstrained optimum is exact for every budget it fits in.
        hit = priced.provable and (hit or (best is not None and best is free))
        row: dict[str, Any] = {
            "max_moves": k,
            "best": best,
            "bound": bound,
            "exact": bool(hit),
            "method": "priced moves (network)",
        }
        if not hit and exact:
            mip = make_plan(
                accounts, team, model, max_moves=k, solver="highs", name="frontier", **plan_kwargs
            )
            row["mip"] = mip
        rows.append(row)
    return priced.table(rows)


@dataclass
class _Point:
    price: float
    priced_objective: float
    impact: float
    moves: int
    promotions: int
    demotions: int
    new_owners: int


class _Pricer:
    """Re-solves the network program with a price per move, memoized by price."""

    def __init__(self, accounts: Any, team: Any, model: Any, options: dict[str, Any]) -> None:
        from tierplan.books import split_books
        from tierplan.planner import _prepare

        known = {
            "values",
            "require_specialist",
            "match",
            "move_penalty",
            "hysteresis",
            "attention",
            "verbose",
            "time_limit",
            "mip_gap",
            "alerts",
        }
        unknown = sorted(set(options) - known)
        if unknown:
            raise ConfigError(f"disruption_frontier: unknown option(s) {unknown}")
        prep = _prepare(
            accounts,
            team,
            model,
            options.get("values"),
            options.get("require_specialist"),
            match=tuple(options.get("match", ())),
        )
        self.prep = prep
        self.state = Disruption.build(
            prep.accounts,
            prep.roster,
            prep.model,
            move_penalty=options.get("move_penalty", 0.0),
            hysteresis=options.get("hysteresis", 0.0),
        )
        if not self.state.active:
            raise InputError(
                "disruption_frontier needs the current state: give the accounts a "
                "current_tier and/or current_csm column",
                column="current_tier",
            )
        self.eligible = self.state.restrict(prep.eligible, prep.pools)
        self.base = np.where(self.eligible, prep.value[:, prep.pools.tier], 0.0)
        self._split = split_books
        self.points: dict[float, _Point] = {}
        largest = float(np.abs(self.base).max(initial=0.0))
        self.cap = 1.0 + 2.0 * largest
        # Each move carries at most two stay bonuses (tier and CSM): with them
        # a priced optimum at λ is a Lagrangian optimum at most 2·stay higher.
        # Prices set by the caller make the bound meaningless for impact.
        priced = any(self.state.penalty.values()) or self.state.hysteresis > 0
        self.slack = math.nan if priced else 2.0 * STAY_BONUS * max(1.0, largest)
        # A CSM already over their cap must shed accounts the pool program
        # does not price: the points stay valid plans but prove nothing.
        self.provable = not self.state.overfull(prep.roster)
        if not self.provable:
            self.slack = math.nan
        self.reasons = self._diagnose()

    def _diagnose(self) -> list[str]:
        from tierplan.diagnosis import diagnose

        prep = self.prep
        reasons = diagnose(prep.accounts, prep.pools, prep.model, self.eligible)
        return reasons + self.state.lock_diagnosis(prep.accounts, prep.roster)

    def at(self, price: float) -> _Point:
        """The priced optimum at one price (memoized)."""
        from tierplan.errors import TierplanError
        from tierplan.solve import solve_pools

        if self.reasons:
            raise TierplanError("no plan fits: " + " ".join(self.reasons))
        cached = self.points.get(price)
        if cached is not None:
            return cached
        prep = self.prep
        values, _ = self.state.adjust(self.base, self.eligible, prep.value, prep.pools, extra=price)
        sol = solve_pools(values, self.eligible, prep.pools)
        if sol.status == "infeasible":
            raise TierplanError("no plan fits the team: " + "; ".join(self.reasons))
        choice = sol.choice
        current = self.state.current_csm
        csm = self._split(
            choice, prep.accounts.arr, prep.pools, prep.roster, current, self.state.locked
        )
        tier = prep.pools.tier[choice]
        counted = count_moves(self.state, tier, csm)
        impact = float(prep.value[np.arange(prep.accounts.n), tier].sum())
        point = _Point(
            price=price,
            priced_objective=float(sol.objective),
            impact=impact,
            moves=int(counted["moves"]),
            promotions=int(counted["promotions"]),
            demotions=int(counted["demotions"]),
            new_owners=int(counted["new_owners"]),
        )
        self.points[price] = point
        return point

    def search(self, k: int, rounds: int) -> _Point | None:
        """Best priced plan with at most ``k`` moves; bisects the price."""
        known = sorted(self.points.values(), key=lambda p: p.price)
        within = [p for p in known if p.moves <= k]
        if not within:
            within = [self.at(self.cap)]
            if within[0].moves > k:
                return None
        lo = max((p.price for p in known if p.moves > k), default=None)
        hi = min(p.price for p in within)
        if lo is None:
            return max(within, key=lambda p: p.impact)
        for _ in range(rounds):
            best = max(within, key=lambda p: p.impact)
            if best.moves == k or hi - lo <= 1e-9 * max(hi, 1.0):
                break
            # Bisect in the log of the price: prices span orders of magnitude.
            mid = math.sqrt(lo * hi) if lo > 0 else hi / 64.0
            if lo > 0 and not lo < mid < hi:
                mid = 0.5 * (lo + hi)
            point = self.at(mid)
            if point.moves > k:
                lo = mid
            else:
                hi = mid
                within.append(point)
        return max(within, key=lambda p: p.impact)

    def bound(self, k: int) -> float:
        """Lagrangian bound on the best impact with at most ``k`` moves."""
        if math.isnan(self.slack):
            return math.nan
        return min(
            (p.priced_objective + (p.price + self.slack) * k for p in self.points.values()),
            default=math.inf,
        )

    def table(self, rows: list[dict[str, Any]]) -> pd.DataFrame:
        base = min((p for p in self.points.values()), key=lambda p: (p.moves, -p.impact))
        out: list[dict[str, Any]] = []
        best_so_far: dict[str, Any] | None = None
        for row in rows:
            best = row["best"]
            record: dict[str, Any] = {
                "max_moves": row["max_moves"],
                "bound": row["bound"],
                "exact": row["exact"],
                "method": row["method"],
                "status": "optimal" if row["exact"] else "feasible",
            }
            if best is None:
                record.update(
                    moves=np.nan,
                    promotions=np.nan,
                    demotions=np.nan,
                    new_owners=np.nan,
                    expected_impact=np.nan,
                    status="infeasible",
                )
            else:
                record.update(
                    moves=best.moves,
                    promotions=best.promotions,
                    demotions=best.demotions,
                    new_owners=best.new_owners,
                    expected_impact=best.impact,
                )
            mip = row.get("mip")
            if mip is not None and mip.feasible:
                better = mip.objective > record["expected_impact"]
                if better or math.isnan(record["expected_impact"]):
                    counts = mip.moves["move"].value_counts()
                    record.update(
                        moves=len(mip.moves),
                        promotions=int(counts.get("promotion", 0)),
                        demotions=int(counts.get("demotion", 0)),
                        new_owners=int(counts.get("new owner", 0)),
                        expected_impact=mip.objective,
                        method="MIP with a move budget",
                    )
                # The MIP's bound proves the point, whichever plan is kept.
                record["bound"] = min(record["bound"], mip.bound)
                if mip.status == "optimal":
                    record.update(exact=True, status="optimal")
            # A larger budget can always repeat a smaller budget's plan.
            if (
                best_so_far is not None
                and best_so_far["expected_impact"] > record["expected_impact"]
            ):
                keep = {k: record[k] for k in ("max_moves", "bound")}
                record = {**best_so_far, **keep, "exact": False, "status": "feasible"}
            if record["status"] != "infeasible":
                best_so_far = record
            out.append(record)
        frame = pd.DataFrame(out)
        frame["gain"] = frame["expected_impact"] - base.impact
        return frame[FRONTIER_COLUMNS]


def _mip_frontier(
    accounts: Any,
    team: Any,
    model: Any,
    budgets: list[int],
    options: dict[str, Any],
) -> pd.DataFrame:
    from tierplan.planner import plan as make_plan

    out: list[dict[str, Any]] = []
    for k in sorted(set(budgets)):
        result = make_plan(accounts, team, model, max_moves=k, name="frontier", **options)
        counts = result.moves["move"].value_counts() if result.feasible else pd.Series(dtype=int)
        out.append(
            {
                "max_moves": k,
                "moves": len(result.moves) if result.feasible else np.nan,
                "promotions": int(counts.get("promotion", 0)),
                "demotions": int(counts.get("demotion", 0)),
                "new_owners": int(counts.get("new owner", 0)),
                "expected_impact": result.objective if result.feasible else np.nan,
                "bound": result.bound,
                "exact": result.status == "optimal",
                "method": "MIP with a move budget",
                "status": result.status,
            }
        )
    for prev, row in itertools.pairwise(out):
        # A larger budget can always repeat a smaller budget's plan.
        if prev["expected_impact"] > row["expected_impact"] or (
            math.isnan(row["expected_impact"]) and not math.isnan(prev["expected_impact"])
        ):
            row.update({k: v for k, v in prev.items() if k not in ("max_moves", "bound")})
            row["exact"] = False
    frame = pd.DataFrame(out)
    first = frame["expected_impact"].dropna()
    frame["gain"] = frame["expected_impact"] - (first.iloc[0] if len(first) else np.nan)
    return frame[FRONTIER_COLUMNS]
