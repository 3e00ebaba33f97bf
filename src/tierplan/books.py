"""Split each pool's accounts into individual CSM books.

Inside a pool every CSM gives the same tier of attention, so the value of an
account does not depend on which of the pool's CSMs holds it: any split that
respects the book caps keeps the pool program's optimum. The split therefore
only has to respect caps and minimum books and balance the books:

* every CSM first gets its minimum book, then books fill in proportion to
  their caps (a CSM with a cap of 30 fills 1.5× faster than one with 20);
* accounts are dealt in decreasing ARR in a snake order (1, 2, …, k, k, …, 2,
  1), so each CSM gets a similar mix of large and small accounts.

All of it is a few sorts per pool: no loop per account.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.accounts import Accounts
from tierplan.pools import PoolSet

__all__ = ["fit_books", "fit_books_to_hours", "split_books"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _slot_order(caps: IntArray, mins: IntArray) -> IntArray:
    """CSM (position in the pool) of each book slot, in the order slots fill."""
    caps = caps.astype(np.int64)
    total = int(caps.sum())
    owner = np.repeat(np.arange(caps.shape[0]), caps)
    starts = np.repeat(np.cumsum(caps) - caps, caps)
    rank = np.arange(total) - starts  # 0-based slot number inside the book
    min_of = mins[owner]
    cap_of = caps[owner]
    in_minimum = rank < min_of
    # Minimum slots come first, filled evenly; then the rest fill evenly in
    # proportion to the room left above each minimum.
    room = np.maximum(cap_of - min_of, 1)
    fill = np.where(
        in_minimum,
        (rank + 0.5) / np.maximum(min_of, 1),
        (rank - min_of + 0.5) / room,
    )
    # Snake: odd rounds deal the CSMs in reverse so ARR evens out.
    snake = np.where(rank % 2 == 0, owner, -owner)
    order = np.lexsort((snake, fill, ~in_minimum))
    return np.asarray(owner[order], dtype=np.int64)


def _keep_current(
    members: IntArray,
    slots: IntArray,
    csms: IntArray,
    caps_all: IntArray,
    arr: FloatArray,
    current: IntArray,
    csm: IntArray,
    locked: npt.NDArray[np.bool_],
) -> tuple[IntArray, IntArray]:
    """Keep accounts with their current CSM; return who and which slots are left."""
    position = np.searchsorted(csms, current[members])
    inside = (position < csms.shape[0]) & (
        csms[np.minimum(position, csms.shape[0] - 1)] == current[members]
    )
    if not inside.any():
        return members, slots
    stayers, where = members[inside], position[inside]
    # Locked accounts are kept first, then the largest.
    order = np.lexsort((stayers, -arr[stayers], ~locked[stayers], where))
    stayers, where = stayers[order], where[order]
    rank = np.arange(where.shape[0]) - np.searchsorted(where, where)
    keep = rank < caps_all[csms][where]
    csm[stayers[keep]] = csms[where[keep]]
    kept = np.bincount(where[keep], minlength=csms.shape[0])
    # Drop each CSM's first `kept` places from the filling order.
    slot_order = np.argsort(slots, kind="stable")
    occurrence = np.empty_like(slots)
    occurrence[slot_order] = np.arange(slots.shape[0]) - np.searchsorted(
        slots[slot_order], slots[slot_order]
    )
    left = slots[occurrence >= kept[slots]]
    rest = np.setdiff1d(members, stayers[keep], assume_unique=True)
    return rest, left


def split_books(
    pool_choice: IntArray,
    arr: FloatArray,
    pools: PoolSet,
    roster: pd.DataFrame,
    current: IntArray | None = None,
    locked: npt.NDArray[np.bool_] | None = None,
) -> IntArray:
    """Give every account of a human pool to one of the pool's CSMs.

    Parameters
    ----------
    pool_choice
        Pool index per account (canonical order).
    arr
        ARR per account, for balancing.
    pools
        The pools.
    roster
        Resolved roster (``max_accounts``, ``min_accounts``).
    current
        Roster row of each account's current CSM (``-1`` for none). Accounts
        whose current CSM is in their pool stay with them while the CSM's cap
        allows (largest ARR first); only the rest are dealt.
    locked
        Accounts kept with their current CSM before any other (the planner
        has checked that they fit the caps).

    Returns
    -------
    numpy.ndarray
        Roster row per account; ``-1`` for accounts in pools without people.

    Raises
    ------
    ValueError
        If a pool holds more accounts than its CSMs' caps (a solver bug).
    """
    csm = np.full(pool_choice.shape[0], -1, dtype=np.int64)
    if locked is None or locked.shape != pool_choice.shape:
        locked = np.zeros(pool_choice.shape[0], dtype=bool)
    caps_all = roster["max_accounts"].to_numpy(dtype=np.int64)
    mins_all = roster["min_accounts"].to_numpy(dtype=np.int64)
    for p in np.flatnonzero(pools.human):
        members = np.flatnonzero(pool_choice == p)
        if members.shape[0] == 0:
            continue
        csms = np.flatnonzero(pools.csm_pool == p)
        slots = _slot_order(caps_all[csms], mins_all[csms])
        if members.shape[0] > slots.shape[0]:
            raise ValueError(
                f"pool {pools.names[p]} holds {members.shape[0]} accounts for "
                f"{slots.shape[0]} book places"
            )
        if current is not None:
            members, slots = _keep_current(
                members, slots, csms, caps_all, arr, current, csm, locked
            )
        # Largest ARR first; ties by canonical account order for determinism.
        by_arr = members[np.lexsort((members, -arr[members]))]
        csm[by_arr] = csms[slots[: by_arr.shape[0]]]
    return csm


def fit_books_to_hours(
    pool_choice: IntArray,
    csm: IntArray,
    workload: FloatArray,
    pools: PoolSet,
    roster: pd.DataFrame,
    *,
    time_limit: float | None = None,
    locked: npt.NDArray[np.bool_] | None = None,
) -> tuple[IntArray, list[int]]:
    """Move accounts between a pool's CSMs until no CSM is over their hours.

    The pool program caps a pool's total hours, which does not guarantee
    that the accounts pack into the individual CSMs' hours. Pools whose
    count-balanced split already fits are left alone; the others are packed
    exactly (:func:`tierplan.assign_books`) into their CSMs' hours and caps.

    Parameters
    ----------
    pool_choice
        Pool per account.
    csm
        Roster row per account from :func:`split_books`.
    workload
        Hours each account takes in its pool's tier.
    pools
        The pools.
    roster
        Resolved roster (``hours``, ``max_accounts``).
    time_limit
        Seconds per pool for the exact re-assignment.
    locked
        Accounts that stay with the CSM ``csm`` gives them.

    Returns
    -------
    tuple
        The repaired roster row per account, and the pools whose accounts
        cannot be packed into their CSMs' hours.
    """
    from tierplan.assignment import assign_books

    out = csm.copy()
    hours = roster["hours"].to_numpy(dtype=np.float64)
    caps = roster["max_accounts"].to_numpy(dtype=np.float64)
    failed: list[int] = []
    for p in np.flatnonzero(pools.human):
        members = np.flatnonzero(pool_choice == p)
        if members.shape[0] == 0:
            continue
        csms = np.flatnonzero(pools.csm_pool == p)
        position = np.searchsorted(csms, out[members])
        load = np.bincount(position, weights=workload[members], minlength=csms.shape[0])
        if (load <= hours[csms] * (1 + 1e-9)).all():
            continue
        # A pure feasibility problem: with a flat objective the solver stops
        # at the first packing, where rewarding the old split made it prove
        # optimality of a hard knapsack-like program instead.
        books = assign_books(
            _pin(np.zeros((members.shape[0], csms.shape[0])), members, csms, out, locked),
            np.repeat(workload[members][:, None], csms.shape[0], axis=1),
            hours[csms],
            max_accounts=caps[csms],
            time_limit=time_limit,
        )
        if books.feasible:
            out[members] = csms[books.csm]
        else:
            failed.append(int(p))
    return out, failed


def fit_books(
    pool_choice: IntArray,
    csm: IntArray,
    accounts: Accounts,
    pools: PoolSet,
    roster: pd.DataFrame,
    *,
    fit_bonus: dict[str, float],
    continuity_bonus: float = 0.0,
    workload: FloatArray | None = None,
    time_limit: float | None = None,
    locked: npt.NDArray[np.bool_] | None = None,
) -> tuple[IntArray, float]:
    """Re-assign each pool's accounts to its CSMs to maximize fit and continuity.

    Value of giving account ``i`` to CSM ``c`` in its pool: the sum of
    ``fit_bonus[label]`` over labels (``region``, ``language``,
    ``vertical``) that the CSM has and the account shares, plus
    ``continuity_bonus`` when ``c`` is the account's ``current_csm``. Book
    caps (and hours, when ``workload`` is given) hold; the assignment is
    exact per pool (:func:`tierplan.assign_books`). Pools where no account
    gains anything keep the balanced split.

    Parameters
    ----------
    pool_choice
        Pool per account.
    csm
        Current roster row per account (the balanced split).
    accounts
        Validated accounts.
    pools
        The pools.
    roster
        Resolved roster.
    fit_bonus
        Bonus per matching label.
    continuity_bonus
        Bonus for keeping the current CSM.
    workload
        Hours per account, to respect CSM hours; ``None`` for counts only.
    time_limit
        Seconds per pool.
    locked
        Accounts that stay with the CSM ``csm`` gives them.

    Returns
    -------
    tuple
        Roster row per account, and the total bonus of the books.
    """
    from tierplan.assignment import assign_books

    out = csm.copy()
    caps = roster["max_accounts"].to_numpy(dtype=np.float64)
    hours = roster["hours"].to_numpy(dtype=np.float64)
    ids = roster["csm_id"].to_numpy(dtype=object)
    total = 0.0
    for p in np.flatnonzero(pools.human):
        members = np.flatnonzero(pool_choice == p)
        if members.shape[0] == 0:
            continue
        csms = np.flatnonzero(pools.csm_pool == p)
        value = np.zeros((members.shape[0], csms.shape[0]))
        for label, bonus in fit_bonus.items():
            theirs = roster[label].to_numpy(dtype=object)[csms]
            mine = getattr(accounts, label)[members]
            value += bonus * ((mine[:, None] == theirs[None, :]) & (theirs[None, :] != ""))
        if continuity_bonus:
            current = accounts.current_csm[members].astype(object)
            value += continuity_bonus * (current[:, None] == ids[csms][None, :])
        if not value.any():
            continue
        # A small reward for the balanced split breaks ties toward balance.
        position = np.searchsorted(csms, out[members])
        value[np.arange(members.shape[0]), position] += 1e-6 * max(float(value.max()), 1.0)
        load = (
            np.repeat(workload[members][:, None], csms.shape[0], axis=1)
            if workload is not None
            else np.zeros_like(value)
        )
        books = assign_books(
            _pin(value, members, csms, out, locked),
            load,
            hours[csms] if workload is not None else np.full(csms.shape[0], np.inf),
            max_accounts=caps[csms],
            time_limit=time_limit,
        )
        if books.feasible:
            out[members] = csms[books.csm]
        chosen = np.searchsorted(csms, out[members])
        total += float(value[np.arange(members.shape[0]), chosen].sum())
    return out, total


def _pin(
    value: FloatArray,
    members: IntArray,
    csms: IntArray,
    csm: IntArray,
    locked: npt.NDArray[np.bool_] | None,
) -> FloatArray:
    """Forbid (``nan``) every CSM but their own to locked accounts."""
    if locked is None or locked.shape != csm.shape or not locked[members].any():
        return value
    own = csms[None, :] == csm[members][:, None]
    return np.where(locked[members][:, None] & ~own, np.nan, value)
