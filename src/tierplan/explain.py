"""Why an account got its tier, and what would move it.

The pool program is a transportation problem, so a plan comes with *prices*:
what a place in each full pool costs, measured as the value the plan would
lose by freeing one. The marginal account of a pool is the one that gains
least from its place over its best lower alternative; its gain is the pool's
price. An account sits in a tier because its gain clears that price; an
account below a tier would move up once its gain clears the price of the
tier's places, and because the value of attention is linear in the account's
stake (see :mod:`tierplan.impact`) the ARR or whitespace that gets it there
has a closed form.

Prices are computed from the plan itself (``plan.values``,
``plan.assignments`` and the eligibility rules), bottom tier first, in one
vectorized pass per pool; no program is solved again.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.errors import ConfigError, InputError
from tierplan.impact import attention_scale, response_stakes, saturation
from tierplan.pools import eligibility
from tierplan.result import Plan, _money

__all__ = ["AccountExplanation", "TierMove", "explain", "pool_prices"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Relative tolerance when checking that a plan's values follow the built-in response.
_BUILTIN_RTOL = 1e-9


@dataclass(frozen=True)
class TierMove:
    """What would put an account into a higher tier.

    Attributes
    ----------
    tier
        The higher tier (the account would land in this tier or above).
    pool
        The pool of that tier the account would enter most cheaply.
    required_gain
        The value gain over the account's current tier that clears the
        marginal account of that pool (the price of a place there, net of
        what freeing the account's current place is worth to others).
    current_gain
        The account's value gain from that tier over its current tier now.
    stake
        The account's stake (``arr·risk·save_max + potential·conv_max +
        strategic·strategic_value``) at which it moves, ``None`` when no
        stake does (no place can be freed) or the plan used a custom value
        matrix.
    arr
        The ARR at which it moves, other fields held; ``None`` when ARR
        cannot move it (``risk`` is 0, or no stake does).
    potential
        The whitespace at which it moves, other fields held; ``None`` when
        whitespace cannot move it (``conv_max`` is 0, or no stake does).
    """

    tier: str
    pool: str
    required_gain: float
    current_gain: float
    stake: float | None
    arr: float | None
    potential: float | None

    def __str__(self) -> str:
        return _move_line(self, {})


def _move_line(move: TierMove, current: dict[str, float]) -> str:
    if not math.isfinite(move.required_gain):
        return f"{move.tier}: no gain is enough (no account there can give up its place)"
    text = (
        f"{move.tier} ({move.pool}): a gain of {_usd(move.required_gain)} over its tier "
        f"(now {_usd(move.current_gain)})"
    )
    ways = []
    for key, label in (("arr", "ARR"), ("potential", "whitespace")):
        target = getattr(move, key)
        if target is not None:
            now = f" (now {_usd(current[key])})" if key in current else ""
            ways.append(f"{label} {_usd(target)}{now}")
    return text + (", reached at " + " or ".join(ways) if ways else "")


@dataclass(frozen=True)
class AccountExplanation:
    """Why an account sits in its tier, and what would move it up.

    Build it with :func:`explain`. ``str()`` and ``repr()`` give a readable
    report.

    Attributes
    ----------
    account_id
        The account.
    tier, pool, csm_id
        Where the plan put it (``csm_id`` is ``None`` for tech-touch).
    values
        Expected impact of each tier's attention for this account (its row
        of ``plan.values``; ``-inf`` where a tier is not allowed).
    runner_up
        The best other tier at the plan's prices (``None`` when the account
        has no other allowed tier).
    value_difference
        ``values[tier] - values[runner_up]`` (``nan`` without a runner-up).
    prices
        Price of a place in each pool: the value gain of the pool's marginal
        account over its best lower alternative (0 for pools with free
        places and for tech-touch).
    marginal_value
        The price the account's own pool charges (``nan`` in tech-touch).
    margin
        By how much the account's gain from its pool exceeds that price
        (``nan`` in tech-touch or when pinned).
    pinned
        Whether the account is pinned to its tier.
    specialist
        Whether it holds a place in a specialist pool.
    reason
        Why it won its tier, in words.
    moves
        For each higher tier, what would move it there.
    current
        The account's ``arr``, ``potential``, ``risk``, ``complexity`` and
        ``strategic``.
    notes
        Caveats (custom value matrix, side constraints, non-optimal plan).
    """

    account_id: Any
    tier: str
    pool: str
    csm_id: str | None
    values: dict[str, float]
    runner_up: str | None
    value_difference: float
    prices: dict[str, float]
    marginal_value: float
    margin: float
    pinned: bool
    specialist: bool
    reason: str
    moves: tuple[TierMove, ...] = ()
    current: dict[str, float] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __str__(self) -> str:
        where = f"Account {self.account_id}: {self.tier} ({self.pool}"
        where += f", CSM {self.csm_id})" if self.csm_id else ")"
        lines = [where]
        vals = " · ".join(f"{t} {_usd(v)}" for t, v in self.values.items())
        lines.append(f"  value by tier: {vals}")
        if self.runner_up is not None:
            diff = self.value_difference
            word = "less" if diff >= 0 else "more"
            lines.append(
                f"  runner-up: {self.runner_up} (value {_usd(abs(diff))} {word} than {self.tier})"
            )
        lines.append(f"  why: {self.reason}")
        prices = " · ".join(f"{p} {_usd(v)}" for p, v in self.prices.items())
        lines.append(f"  price of a place: {prices}")
        if self.moves:
            lines.append("  to move up (other accounts held):")
            lines += [f"    {_move_line(m, self.current)}" for m in self.moves]
        lines += [f"  note: {note}" for note in self.notes]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.__str__()


@dataclass(frozen=True, eq=False)
class _Market:
    """A plan's values, pools and prices in input row order."""

    ids: npt.NDArray[np.object_]
    value: FloatArray  # accounts × tiers
    pool_value: FloatArray  # accounts × pools (value of the pool's tier)
    eligible: BoolArray  # accounts × pools
    choice: IntArray  # pool per account
    pool_tier: IntArray
    full: BoolArray
    price: FloatArray
    bid: FloatArray
    marginal: IntArray  # row of each full pool's marginal account, -1 if none
    side: bool


def _usd(x: float) -> str:
    """Money with enough digits to compare values (``$7,576``, ``$1.23M``)."""
    if math.isfinite(x) and abs(x) < 100_000:
        return f"-${-x:,.0f}" if x < 0 else f"${x:,.0f}"
    return "-" + _money(-x) if x < 0 else _money(x)


def _market(plan: Plan) -> _Market:
    if not plan.feasible:
        raise ConfigError(
            f"plan {plan.name!r} is {plan.status}: no account has a tier to explain "
            "(see plan.diagnosis)"
        )
    values = plan.values
    value = values.to_numpy(dtype=np.float64)
    pools = plan.pools
    n_pools = len(pools)
    index = {name: k for k, name in enumerate(pools.names)}
    assign = plan.assignments
    choice = assign["pool"].map(index).to_numpy(dtype=np.int64)
    acc = plan.accounts_data
    to_input = np.argsort(acc.order)
    elig = eligibility(acc, pools, plan.model, plan.value)[to_input]
    pool_tier = pools.tier.astype(np.int64)
    pool_value = value[:, pool_tier]
    counts = np.bincount(choice, minlength=n_pools)
    why = str(plan.solver_info.get("why", ""))
    side = plan.solver_info.get("path") == "mip" and why.startswith("side constraints")
    full = pools.human & ((counts >= pools.capacity - 1e-9) | side)
    price = np.zeros(n_pools)
    bid = np.zeros(n_pools)
    marginal = np.full(n_pools, -1, dtype=np.int64)
    n = value.shape[0]
    own_value = value[np.arange(n), pool_tier[choice]]
    # Bottom tier first: a place's price depends on the prices of the places below.
    for t in sorted(set(pool_tier.tolist()), reverse=True):
        lower = pool_tier > t
        if lower.any():
            net = np.where(elig[:, lower], pool_value[:, lower] - price[lower], -np.inf)
            alternative = net.max(axis=1)
        else:
            alternative = np.full(n, -np.inf)
        for p in np.flatnonzero(pool_tier == t):
            if not full[p]:
                continue
            inside = np.flatnonzero(choice == p)
            with np.errstate(invalid="ignore"):
                surplus = pool_value[inside, p] - alternative[inside]
            movable = np.isfinite(surplus)
            if movable.any():
                k = int(np.argmin(np.where(movable, surplus, np.inf)))
                price[p] = float(surplus[k])
                marginal[p] = int(inside[k])
            else:
                price[p] = math.inf
            below = (pool_tier[choice] > t) & elig[:, p]
            if below.any():
                offer = pool_value[below, p] - own_value[below] + bid[choice[below]]
                bid[p] = max(0.0, float(offer.max()))
    return _Market(
        ids=values.index.to_numpy(dtype=object),
        value=value,
        pool_value=pool_value,
        eligible=elig,
        choice=choice,
        pool_tier=pool_tier,
        full=full,
        price=price,
        bid=bid,
        marginal=marginal,
        side=bool(side),
    )


def pool_prices(plan: Plan) -> pd.DataFrame:
    """The price of a place in each pool, as the plan implies it.

    A pool whose places are all taken charges the value gain of its
    marginal account: the smallest gain, among the accounts it holds, of its
    tier over each one's best lower alternative (itself net of the price of
    that lower place). Freeing a place costs exactly that much. A pool with
    free places, and tech-touch, charge nothing. Computed bottom tier first,
    vectorized over accounts.

    Parameters
    ----------
    plan
        A feasible plan.

    Returns
    -------
    pandas.DataFrame
        One row per pool: ``pool``, ``tier``, ``accounts``, ``capacity``,
        ``full``, ``price``, ``marginal_account`` (whose gain sets the price)
        and ``best_bid`` (the largest gain an account below would get from a
        place there: prices between ``best_bid`` and ``price`` all support
        the plan).

    Raises
    ------
    ConfigError
        If the plan is infeasible.

    Examples
    --------
    >>> import tierplan as tp
    >>> from tierplan.explain import pool_prices
    >>> p = tp.plan(tp.synthetic_accounts(n=300, seed=1), tp.Team.from_headcount({"tier1": 2}))
    >>> table = pool_prices(p)
    >>> bool((table["best_bid"] <= table["price"] + 1e-6).all())
    True
    """
    market = _market(plan)
    pools = plan.pools
    names = plan.model.tier_names
    return pd.DataFrame(
        {
            "pool": list(pools.names),
            "tier": [names[t] for t in market.pool_tier],
            "accounts": np.bincount(market.choice, minlength=len(pools)),
            "capacity": pools.capacity,
            "full": market.full,
            "price": market.price,
            "marginal_account": [market.ids[k] if k >= 0 else None for k in market.marginal],
            "best_bid": market.bid,
        }
    )


def _entry_costs(market: _Market, j: int) -> FloatArray:
    """Value gain account ``j`` needs, over its current pool, to take a place in each pool."""
    q = int(market.choice[j])
    tq = market.pool_tier[q]
    n_pools = market.price.shape[0]
    cost = np.full(n_pools, np.inf)
    for p in range(n_pools):
        if not market.eligible[j, p]:
            continue
        if p == q:
            cost[p] = 0.0
        elif market.pool_tier[p] >= tq or not market.full[p]:
            # A lateral or lower place (or a free one): pay its price; someone
            # below takes the account's place and gains its best bid.
            cost[p] = (market.price[p] if market.full[p] else 0.0) - market.bid[q]
        else:
            # A full higher pool: its marginal account makes room, either by
            # taking the account's place (when allowed) or by moving to its
            # best lower place while someone below takes the account's place.
            inside = np.flatnonzero(market.choice == p)
            lower = market.pool_tier > market.pool_tier[p]
            net = np.where(
                market.eligible[np.ix_(inside, lower)],
                market.pool_value[np.ix_(inside, lower)] - market.price[lower],
                -np.inf,
            )
            via_lower = net.max(axis=1, initial=-np.inf) + market.bid[q]
            swap = np.where(market.eligible[inside, q], market.pool_value[inside, q], -np.inf)
            alternative = np.maximum(via_lower, swap)
            with np.errstate(invalid="ignore"):
                need = market.pool_value[inside, p] - alternative
            need = need[np.isfinite(need)]
            cost[p] = float(need.min()) if need.size else np.inf
    return cost


def _threshold(cost: FloatArray, slope: FloatArray, t: int) -> float | None:
    """Smallest stake at which some tier ``<= t`` beats every tier ``> t``.

    Each tier's net gain over the current one is ``stake · slope[r] - cost[r]``,
    slopes falling with the tier, so the account reaches tier ``t`` or above
    once ``stake >= max_{r > t} min_{u <= t} (cost[u] - cost[r]) / (slope[u] - slope[r])``.
    """
    upper = [u for u in range(t + 1) if math.isfinite(cost[u])]
    if not upper:
        return None
    need = 0.0
    for r in range(t + 1, cost.shape[0]):
        if not math.isfinite(cost[r]):
            continue
        best = math.inf
        for u in upper:
            rise = slope[u] - slope[r]
            if rise > 0:
                best = min(best, (cost[u] - cost[r]) / rise)
            elif cost[u] <= cost[r]:
                best = -math.inf
        need = max(need, best)
    return need if math.isfinite(need) else None


def explain(plan: Plan, account_id: Any) -> AccountExplanation:
    """Explain one account's tier: its values, the prices it faced, what would move it.

    Parameters
    ----------
    plan
        A feasible plan.
    account_id
        The account to explain.

    Returns
    -------
    AccountExplanation
        Its values per tier, tier, pool and CSM, the runner-up tier, the
        pool prices, why it won, and for each higher tier the value gain,
        ARR and whitespace that would move it there (the value formula of
        :func:`tierplan.value_matrix` inverted; other accounts held).

    Raises
    ------
    InputError
        If the plan has no account ``account_id``.
    ConfigError
        If the plan is infeasible.

    Notes
    -----
    A full pool's price is what the cheapest chain of displacements costs:
    its marginal account makes room by moving to its best lower place, paying
    that place's price in turn. With one pool per tier the thresholds match
    re-planning (just above one, a new plan moves the account; just below,
    it does not). With specialist pools, moves between the pools of one tier
    are not counted, so a price may overstate what freeing a place costs.
    With hours or a budget, a place is counted in accounts, not hours, so
    the figures are approximate. For a plan that is not value-optimal (the
    ARR-band baseline), prices describe the plan as if it were.

    Examples
    --------
    >>> import tierplan as tp
    >>> from tierplan.explain import explain
    >>> p = tp.plan(tp.synthetic_accounts(n=300, seed=1), tp.Team.from_headcount({"tier1": 2}))
    >>> e = explain(p, "ACC-000001")
    >>> e.tier in {"tier1", "tier2", "tier3"}
    True
    """
    values = plan.values
    j = int(values.index.get_indexer(pd.Index([account_id]))[0])
    if j < 0:
        raise InputError(
            f"unknown account id {account_id!r}: the plan has no such account",
            column="account_id",
            ids=[account_id],
        )
    market = _market(plan)
    model = plan.model
    names = model.tier_names
    pools = plan.pools
    q = int(market.choice[j])
    s = int(market.pool_tier[q])
    row = market.value[j]
    assign = plan.assignments.iloc[j]
    csm = assign["csm_id"]

    acc = plan.accounts_data
    k_canon = int(np.argsort(acc.order)[j])
    stakes = response_stakes(acc, model.response)
    save = float(stakes["save"][k_canon])
    expansion = float(stakes["expansion"][k_canon])
    strategic = float(stakes["strategic"][k_canon])
    stake = save + expansion + strategic
    scale = float(attention_scale(acc, model.response)[k_canon])
    hours = np.array([t.attention_hours for t in model.tiers])
    effect = saturation(hours, scale) - saturation(hours.min(), scale)
    builtin = bool(
        np.allclose(
            np.where(np.isfinite(row), row, 0.0),
            np.where(np.isfinite(row), stake * effect, 0.0),
            rtol=_BUILTIN_RTOL,
            atol=1e-6,
        )
    )
    notes: list[str] = []
    if not builtin:
        notes.append(
            "the plan's values come from a custom value matrix: the ARR and whitespace "
            "that would move the account are not computed"
        )
    if market.side:
        notes.append(
            "hours or a budget constrain this plan; prices count places in accounts, "
            "so they are approximate"
        )
    if plan.policy == "bands":
        notes.append(
            "tiers follow the plan's cut points (policy='bands'): the rule, not the prices "
            "below, decides the tier; prices describe the program as if tiers were free"
        )
    method = str(plan.solver_info.get("method", ""))
    if "rule" in method or plan.status != "optimal":
        notes.append(
            "this plan is not value-optimal (a rule or a time limit); prices describe "
            "it as if it were"
        )

    # Cost, in value gain over the current pool, of each pool and tier.
    cost = _entry_costs(market, j)
    n_tiers = len(names)
    tier_cost = np.full(n_tiers, np.inf)
    tier_pool = np.full(n_tiers, -1, dtype=np.int64)
    for p in np.argsort(cost, kind="stable"):
        t = int(market.pool_tier[p])
        if tier_pool[t] < 0 and math.isfinite(cost[p]):
            tier_cost[t], tier_pool[t] = cost[p], p
    with np.errstate(invalid="ignore"):
        gain = row - row[s]
        net = np.where(np.isfinite(tier_cost), gain - tier_cost, -np.inf)
    others = [t for t in range(n_tiers) if t != s and np.isfinite(net[t])]
    runner = max(others, key=lambda t: net[t]) if others else None
    value_difference = float(row[s] - row[runner]) if runner is not None else math.nan

    # Why it won.
    pinned = bool(pd.notna(acc.pinned_tier[k_canon]))
    vertical = str(pools.vertical[q])
    specialist = bool(pools.human[q] and vertical)
    lower = market.pool_tier > s
    alt_net = np.where(
        market.eligible[j, lower], market.pool_value[j, lower] - market.price[lower], -np.inf
    )
    alt_pool = int(np.flatnonzero(lower)[np.argmax(alt_net)]) if lower.any() else -1
    own_gain = float(row[s] - alt_net.max()) if lower.any() and np.isfinite(alt_net).any() else 0.0
    marginal_value = float(market.price[q]) if pools.human[q] else math.nan
    margin = math.nan
    parts: list[str] = []
    if pinned:
        parts.append(f"it is pinned to {names[s]} (pinned_tier), so the plan could not move it")
    if specialist:
        parts.append(
            f"it holds a place in the {pools.names[q]} specialist pool, which only "
            f"{vertical} accounts can take"
        )
    if not pools.human[q]:
        if runner is not None:
            r = runner
            parts.append(
                f"{names[r]}, its best other tier, would add {_usd(gain[r])} of value, but a "
                f"place there costs {_usd(tier_cost[r])} (what its marginal account gains): "
                f"{_usd(tier_cost[r] - gain[r])} short"
            )
        elif not parts:
            parts.append("no other tier is allowed for it")
    elif not pinned:
        alt = "nothing"
        if alt_pool >= 0:
            alt = names[int(market.pool_tier[alt_pool])]
            if market.full[alt_pool] and market.price[alt_pool] > 0:
                alt += f" at the {_usd(market.price[alt_pool])} price of a place there"
        if market.full[q] and market.marginal[q] >= 0:
            margin = own_gain - marginal_value
            who = market.ids[market.marginal[q]]
            if who == market.ids[j]:
                parts.append(
                    f"it gains {_usd(own_gain)} from {names[s]} over its best alternative "
                    f"({alt}), the smallest gain in {pools.names[q]}: it is the marginal "
                    "account, whose gain sets the price of a place there"
                )
            else:
                parts.append(
                    f"it gains {_usd(own_gain)} from {names[s]} over its best alternative "
                    f"({alt}); the marginal account of {pools.names[q]} ({who}) gains "
                    f"{_usd(marginal_value)}, so it clears the bar by {_usd(margin)}"
                )
        else:
            margin = own_gain
            parts.append(
                f"{pools.names[q]} has free places, and it gains {_usd(own_gain)} from "
                f"{names[s]} over its best alternative ({alt})"
            )
    reason = "; ".join(parts) + "."
    reason = reason[0].upper() + reason[1:]

    # What would move it up.
    slope = effect - effect[s]
    moves: list[TierMove] = []
    if not pinned:
        for t in range(s):
            if tier_pool[t] < 0:
                continue
            needed = _threshold(tier_cost, slope, t) if builtin else None
            arr_at = pot_at = None
            if needed is not None:
                needed = max(needed, stake)
                risk_rate = float(acc.risk[k_canon]) * model.response.save_max
                if risk_rate > 0:
                    arr_at = (needed - expansion - strategic) / risk_rate
                if model.response.conv_max > 0:
                    pot_at = (needed - save - strategic) / model.response.conv_max
            moves.append(
                TierMove(
                    tier=names[t],
                    pool=pools.names[int(tier_pool[t])],
                    required_gain=float(tier_cost[t]),
                    current_gain=float(gain[t]),
                    stake=needed,
                    arr=arr_at,
                    potential=pot_at,
                )
            )
    prices = {
        name: float(market.price[p]) if market.full[p] else 0.0
        for p, name in enumerate(pools.names)
    }
    return AccountExplanation(
        account_id=market.ids[j],
        tier=names[s],
        pool=pools.names[q],
        csm_id=None if pd.isna(csm) else str(csm),
        values={name: float(v) for name, v in zip(names, row, strict=True)},
        runner_up=names[runner] if runner is not None else None,
        value_difference=value_difference,
        prices=prices,
        marginal_value=marginal_value,
        margin=margin,
        pinned=pinned,
        specialist=specialist,
        reason=reason,
        moves=tuple(moves),
        current={
            "arr": float(acc.arr[k_canon]),
            "potential": float(acc.potential[k_canon]),
            "risk": float(acc.risk[k_canon]),
            "complexity": float(acc.complexity[k_canon]),
            "strategic": float(acc.strategic[k_canon]),
        },
        notes=tuple(notes),
    )
