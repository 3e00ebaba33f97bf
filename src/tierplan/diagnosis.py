"""Why a plan cannot exist, in the words of a CS leader.

The checks run before any solve. They are necessary conditions of
feasibility (Hall's condition over groups of pools): pinned accounts that
need more book places than a tier or a specialist pool has, minimum books
that there are not enough accounts to fill, accounts that no pool may take.
For the pool program, which is a transportation problem, these conditions
taken over every set of pools are also sufficient; the checks below cover
every set of pools when there are few of them, and the business-relevant
sets (a tier, a specialist pool) always.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.accounts import Accounts
from tierplan.config import CoverageModel
from tierplan.errors import format_ids
from tierplan.pools import PoolSet

__all__ = ["diagnose"]

BoolArray = npt.NDArray[np.bool_]

#: Up to this many pools, every set of pools is checked (2**P sets).
_EXHAUSTIVE_POOLS = 14


def _csms_needed(accounts: int, pools: PoolSet, members: npt.NDArray[np.intp]) -> int:
    """CSMs needed to hold ``accounts`` at the average cap of the given pools."""
    per_csm = pools.capacity[members].sum() / max(int(pools.headcount[members].sum()), 1)
    return math.ceil(accounts / per_csm) if per_csm > 0 else 0


def _available(count: int) -> str:
    return f"{count} {'is' if count == 1 else 'are'} available"


def diagnose(
    accounts: Accounts,
    pools: PoolSet,
    model: CoverageModel,
    eligible: BoolArray,
) -> list[str]:
    """Reasons, in business words, why no plan fits; empty when none is found.

    Parameters
    ----------
    accounts
        Validated accounts.
    pools
        The pools.
    model
        The coverage model.
    eligible
        Eligibility matrix (accounts × pools).

    Returns
    -------
    list of str
        One sentence per problem found.
    """
    reasons: list[str] = []
    names = model.tier_names
    n_pools = len(pools)

    # Eligibility patterns as bit masks (also used by Hall's condition below);
    # a zero mask is an account no pool may take.
    patterns = None
    if n_pools < 63:
        bits = np.left_shift(np.int64(1), np.arange(n_pools, dtype=np.int64))
        patterns = eligible.astype(np.int64) @ bits
        homeless = patterns == 0
    else:
        homeless = ~eligible.any(axis=1)
    if homeless.any():
        pinned = accounts.pinned_tier[homeless]
        pinned_tiers = sorted({str(t) for t in pinned if t is not None})
        detail = (
            f"they are pinned to {', '.join(pinned_tiers)}, which has no CSM who may take them"
            if pinned_tiers
            else "no tier is open to them (check the value matrix and specialist rules)"
        )
        reasons.append(
            f"{int(homeless.sum())} accounts cannot be placed anywhere: {detail} "
            f"({format_ids(accounts.ids[homeless])})."
        )

    # Pins per tier against the tier's book places.
    pinned_mask = np.asarray(pd.notna(accounts.pinned_tier), dtype=bool)
    for t, tier in enumerate(model.tiers):
        if not tier.human or not pinned_mask.any():
            # Without pins no count below can exceed a capacity.
            continue
        pinned_here = pinned_mask & (accounts.pinned_tier == tier.name)
        count = int(pinned_here.sum())
        members = np.flatnonzero(pools.tier == t)
        capacity = float(pools.capacity[members].sum()) if members.size else 0.0
        if count > capacity:
            have = int(pools.headcount[members].sum())
            cap = capacity / have if have else float(tier.max_book or 0)
            need = math.ceil(count / cap) if cap > 0 else 0
            reasons.append(
                f"{tier.name} needs at least {need} CSMs for its {count} pinned accounts "
                f"(book cap {cap:g}); {_available(have)} "
                f"({format_ids(accounts.ids[pinned_here])})."
            )
        # Pinned accounts of one vertical that must go to its specialists.
        if model.require_specialist:
            for p in members:
                vertical = pools.vertical[p]
                if not vertical:
                    continue
                group = pinned_here & (accounts.vertical == vertical)
                k = int(group.sum())
                if k > pools.capacity[p]:
                    need = _csms_needed(k, pools, np.array([p]))
                    reasons.append(
                        f"{tier.name} {vertical} specialists need at least {need} CSMs for their "
                        f"{k} pinned {vertical} accounts; {_available(int(pools.headcount[p]))} "
                        f"({format_ids(accounts.ids[group])})."
                    )

    # Minimum books.
    for q in range(n_pools):
        if pools.minimum[q] <= 0:
            continue
        available = int(eligible[:, q].sum())
        if available < pools.minimum[q]:
            who = f"{pools.vertical[q]} accounts" if pools.vertical[q] else "accounts"
            reasons.append(
                f"{pools.names[q]} CSMs must hold at least {int(pools.minimum[q])} accounts "
                f"(minimum books) but only {available} {who} may go to them."
            )
    total_min = int(pools.minimum.sum())
    if total_min > accounts.n:
        reasons.append(
            f"minimum books add up to {total_min} accounts but there are only {accounts.n}."
        )
    if reasons:
        return reasons

    # Hall's condition over sets of capped pools: accounts that may go only to
    # pools in S must fit in S's book places. Patterns of eligibility are
    # encoded as bit masks, so all sets are checked with a few array ops.
    finite = np.flatnonzero(np.isfinite(pools.capacity))
    n_finite = finite.shape[0]
    if 0 < n_finite <= _EXHAUSTIVE_POOLS and patterns is not None:
        codes, counts = np.unique(patterns, return_counts=True)
        subsets = np.arange(1, 1 << n_finite, dtype=np.int64)
        members = (subsets[:, None] >> np.arange(n_finite)) & 1
        masks = members @ bits[finite]
        confined = ((codes[None, :] & ~masks[:, None]) == 0) & (codes[None, :] != 0)
        need = confined.astype(np.int64) @ counts
        room = members @ pools.capacity[finite]
        short = np.flatnonzero(need > room)
        if short.size:
            # Report the smallest offending set of pools: the most specific cause.
            k = short[np.argmin(members[short].sum(axis=1))]
            subset = finite[members[k].astype(bool)]
            chosen = [pools.names[p] for p in subset]
            tiers = sorted({names[pools.tier[p]] for p in subset})
            extra = _csms_needed(int(need[k] - room[k]), pools, subset)
            reasons.append(
                f"{int(need[k])} accounts can only go to {', '.join(chosen)} "
                f"(pins and specialist rules), which have {int(room[k])} book places; "
                f"add about {extra} CSM{'' if extra == 1 else 's'} to {' / '.join(tiers)} "
                "or unpin accounts."
            )
    return reasons
