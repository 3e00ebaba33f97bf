"""Pools: groups of interchangeable CSMs (a tier × a specialty), and who may go where.

The big program works on pools, not CSMs: every account goes to one pool,
and a pool's capacity is the sum of its CSMs' book caps. A tier without
people (tech-touch) is one pool of unlimited capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.accounts import Accounts
from tierplan.config import CoverageModel
from tierplan.team import GENERALIST

__all__ = ["PoolSet", "build_pools", "eligibility"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


@dataclass(frozen=True, eq=False)
class PoolSet:
    """The pools of a team under a coverage model.

    Attributes
    ----------
    names
        Pool names, e.g. ``"tier1 finance"``, ``"tier1 generalist"``, ``"tier3"``.
    tier
        Tier index of each pool.
    vertical
        Specialty of each pool (``""`` for generalist and tech-touch pools).
    human
        Whether the pool has CSMs.
    capacity
        Most accounts the pool can take (``inf`` without people).
    minimum
        Fewest accounts the pool must take (sum of its CSMs' minimum books).
    headcount
        CSMs in the pool.
    hours
        Customer-facing hours of the pool's CSMs.
    cost
        Yearly cost of the pool's CSMs.
    csm_pool
        Pool index of each CSM of the resolved roster.
    attributes
        Matched attributes of each pool (``""`` = any), by attribute name.
    """

    names: tuple[str, ...]
    tier: IntArray
    vertical: npt.NDArray[np.object_]
    human: BoolArray
    capacity: FloatArray
    minimum: IntArray
    headcount: IntArray
    hours: FloatArray
    cost: FloatArray
    csm_pool: IntArray
    attributes: dict[str, npt.NDArray[np.object_]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        # Plans of one team share their pools: nobody may write into them.
        for value in (*vars(self).values(), *self.attributes.values()):
            if isinstance(value, np.ndarray):
                value.flags.writeable = False

    def __len__(self) -> int:
        return len(self.names)

    def frame(self) -> pd.DataFrame:
        """The pools as a table.

        Returns
        -------
        pandas.DataFrame
            One row per pool.
        """
        return pd.DataFrame(
            {
                "pool": list(self.names),
                "tier_index": self.tier,
                "vertical": self.vertical,
                "headcount": self.headcount,
                "capacity": self.capacity,
                "minimum": self.minimum,
                "hours": self.hours,
                "cost": self.cost,
            }
        )


def pool_name(tier: str, vertical: str, human: bool) -> str:
    """Name of a pool in reports.

    Parameters
    ----------
    tier
        Tier name.
    vertical
        Specialty, ``""`` for generalists.
    human
        Whether the tier has CSMs.

    Returns
    -------
    str
        ``"tier1 finance"``, ``"tier1 generalist"`` or ``"tier3"``.
    """
    if not human:
        return tier
    return f"{tier} {vertical or GENERALIST}"


def build_pools(roster: pd.DataFrame, model: CoverageModel, match: tuple[str, ...] = ()) -> PoolSet:
    """Group a resolved roster into pools.

    Parameters
    ----------
    roster
        Output of :meth:`tierplan.Team.resolved`.
    model
        The coverage model.
    match
        CSM attributes (``"region"``, ``"language"``) that must match the
        account's; CSMs that differ in them go to separate pools, so CSMs
        inside a pool stay interchangeable and the pool program stays exact.

    Returns
    -------
    PoolSet
        Pools in tier order; within a tier, specialists (by vertical) first,
        then generalists. Human tiers without CSMs have no pool.
    """
    keys = ["vertical", *match]
    # A roster has a few CSMs per pool: grouping them in Python on plain
    # arrays costs far less than pandas' per-call overhead.
    labels = [roster[key].to_numpy(dtype=object) for key in keys]
    max_accounts = roster["max_accounts"].to_numpy()
    min_accounts = roster["min_accounts"].to_numpy()
    hours = roster["hours"].to_numpy(dtype=np.float64)
    cost = roster["cost"].to_numpy(dtype=np.float64)
    csm_pool = np.full(len(roster), -1, dtype=np.int64)
    tier_index = roster["tier_index"].to_numpy()
    names: list[str] = []
    tiers: list[int] = []
    human: list[bool] = []
    capacity: list[float] = []
    minimum: list[int] = []
    headcount: list[int] = []
    pool_hours: list[float] = []
    pool_cost: list[float] = []
    pool_keys: list[tuple[object, ...]] = []
    for t, tier in enumerate(model.tiers):
        if not tier.human:
            names.append(pool_name(tier.name, "", False))
            tiers.append(t)
            human.append(False)
            capacity.append(np.inf)
            minimum.append(0)
            headcount.append(0)
            pool_hours.append(0.0)
            pool_cost.append(0.0)
            pool_keys.append(("",) * len(keys))
            continue
        groups: dict[tuple[object, ...], list[int]] = {}
        for i in np.flatnonzero(tier_index == t).tolist():
            groups.setdefault(tuple(column[i] for column in labels), []).append(i)
        # Specialists (sorted by vertical) first, generalists last.
        for group in sorted(groups, key=lambda g: (g[0] == "", *g)):
            members = np.array(groups[group], dtype=np.intp)
            label = pool_name(tier.name, str(group[0]), True)
            extra = " ".join(str(v) for v in group[1:] if v)
            csm_pool[members] = len(names)
            names.append(f"{label} {extra}" if extra else label)
            tiers.append(t)
            human.append(True)
            capacity.append(float(max_accounts[members].sum()))
            minimum.append(int(min_accounts[members].sum()))
            headcount.append(len(members))
            pool_hours.append(float(hours[members].sum()))
            pool_cost.append(float(cost[members].sum()))
            pool_keys.append(group)

    def column(k: int) -> npt.NDArray[np.object_]:
        out = np.empty(len(pool_keys), dtype=object)
        out[:] = [key[k] for key in pool_keys]
        return out

    return PoolSet(
        names=tuple(names),
        tier=np.array(tiers, dtype=np.int64),
        vertical=column(0),
        human=np.array(human, dtype=bool),
        capacity=np.array(capacity, dtype=np.float64),
        minimum=np.array(minimum, dtype=np.int64),
        headcount=np.array(headcount, dtype=np.int64),
        hours=np.array(pool_hours, dtype=np.float64),
        cost=np.array(pool_cost, dtype=np.float64),
        csm_pool=csm_pool,
        attributes={key: column(k + 1) for k, key in enumerate(match)},
    )


def eligibility(
    accounts: Accounts,
    pools: PoolSet,
    model: CoverageModel,
    tier_values: FloatArray,
) -> BoolArray:
    """Which pools each account may go to.

    Rules: a specialist pool takes only accounts of its vertical; a
    generalist pool takes any account, except, when the model sets
    ``require_specialist``, accounts whose vertical has specialists in that
    tier; a pinned account goes only to pools of its pinned tier; an account
    whose value for a tier is ``-inf`` (user matrix) may not take it; a pool
    whose CSMs are matched on region or language takes only accounts with
    the same label.

    Parameters
    ----------
    accounts
        Validated accounts.
    pools
        The pools.
    model
        The coverage model.
    tier_values
        Value matrix (accounts × tiers).

    Returns
    -------
    numpy.ndarray
        Boolean matrix (accounts × pools).
    """
    n, n_pools = accounts.n, len(pools)
    # Comparing small integer codes, not every account's text, per pool.
    codes, labels = accounts.codes("vertical")
    where = {label: k for k, label in enumerate(labels)}
    elig = np.ones((n, n_pools), dtype=bool)
    for p in range(n_pools):
        if not pools.human[p]:
            continue
        if pools.vertical[p]:
            elig[:, p] = codes == where.get(pools.vertical[p], -1)
        elif model.require_specialist:
            same_tier = (pools.tier == pools.tier[p]) & (pools.vertical != "")
            covered = [where[v] for v in pools.vertical[same_tier].tolist() if v in where]
            if covered:
                elig[:, p] = ~np.isin(codes, covered)
    for attribute, wanted in pools.attributes.items():
        labels = getattr(accounts, attribute)
        for q in np.flatnonzero(wanted != ""):
            elig[:, q] &= labels == wanted[q]
    pinned = pd.notna(accounts.pinned_tier)
    if pinned.any():
        tier_of_pin = pd.Series(accounts.pinned_tier[pinned]).map(
            {name: k for k, name in enumerate(model.tier_names)}
        )
        elig[pinned] &= pools.tier[None, :] == tier_of_pin.to_numpy(dtype=np.int64)[:, None]
    elig &= np.isfinite(tier_values[:, pools.tier])
    return elig
