"""Books that fill each CSM's hours, chosen with the pool program's prices.

With ``hours=True`` the pool program caps each pool's *total* hours, a
relaxation of every CSM's own hours. Its optimum fills a pool to the hour,
and a set of accounts that fills a pool to the hour almost never splits into
books that each fit: dropping accounts until they do leaves idle hours in
nearly every book (a tier-1 book of a dozen accounts of 60 to 150 hours ends
about half an account short).

So the books of such a pool are built here directly, choosing *which*
accounts the pool takes as well as who holds them, so that each book fills
its CSM's hours nearly to the hour:

1. **Gains from prices.** The LP duals of the pool program price every limit
   it has: pool caps, the hours of the other pools, the budget. An account's
   gain from a pool is its value there, net of the prices that pool still
   charges (not its own hours and cap, which the books now hold exactly),
   minus the best it gets net of prices anywhere else it may go.
2. **Bulk.** Each CSM keeps their locked accounts, then the accounts they
   already hold, then takes accounts in decreasing gain per hour, up to
   their hours less a reserve of a few accounts' hours.
3. **Fill.** The reserve is filled by an exact 0/1 knapsack (dynamic
   programming over hours, on the data's own grid of hours where it has
   one) over the accounts still free, maximizing the gain.

Pools are packed one after another, higher-touch tiers first; an account a
book took is no longer free for the next pool. The planner then re-solves
the pool program with each packed pool restricted to what it packed, so
the accounts left out find their best place with every limit exact.

Deterministic: nothing here depends on time, and ties go by account order.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.formulation import SideRow
from tierplan.pools import PoolSet

__all__ = ["Packing", "Prices", "lp_prices", "net_values", "pack_books"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: The bulk step leaves this many typical accounts' hours to the knapsack.
RESERVE_ACCOUNTS = 12.0

#: Accounts a CSM keeps with them leave this many typical accounts' hours.
CONTINUITY_RESERVE_ACCOUNTS = 4.0

#: Accounts per book whose room the polish step re-fills on a finer grid.
POLISH_ACCOUNTS = 3

#: Up to this many CSMs in a pool, every pair of books is re-filled together.
ALL_PAIRS_BOOKS = 8

#: Rounds of re-filling pairs of books while one pays (few books only).
POLISH_ROUNDS = 3

#: Most cells of a knapsack over hours (its grid is coarser beyond that).
MAX_CELLS = 4_000

#: Most accounts a knapsack considers (the best by gain per hour).
MAX_ITEMS = 400

#: Decimals of hours searched for a common grid (hours in 1/10,000ths).
_GRID_SCALE = 10_000.0


@dataclass(frozen=True, eq=False)
class Packing:
    """Books built by :func:`pack_books`.

    Attributes
    ----------
    csm
        Roster row of every account placed in a book of a packed pool
        (``-1`` for the others).
    pool
        Pool of every placed account (``-1`` for the others).
    packed
        Pools whose books were built.
    failed
        Pools whose books could not be built: a locked book over its hours,
        an account with nowhere else to go that fits no book, or a minimum
        book left short. The planner keeps its other means for those.
    """

    csm: IntArray
    pool: IntArray
    packed: tuple[int, ...]
    failed: tuple[int, ...]


def net_values(
    pool_values: FloatArray,
    allowed: BoolArray,
    side: tuple[SideRow, ...],
    pool_price: FloatArray,
    side_price: FloatArray,
    hours_row: Mapping[int, int],
    capacity: FloatArray,
) -> tuple[FloatArray, FloatArray]:
    """Values net of prices, elsewhere and inside a packed pool.

    Parameters
    ----------
    pool_values
        Value of each account in each pool (accounts × pools).
    allowed
        Allowed (account, pool) pairs.
    side
        The pool program's side rows.
    pool_price, side_price
        Its LP duals: per pool row and per side row.
    hours_row
        Side row holding each human pool's hours.
    capacity
        Most accounts per pool (a price on a pool without a cap is void).

    Returns
    -------
    tuple of numpy.ndarray
        ``net``: value net of every price (``-inf`` where not allowed), what
        an account gets in a pool that keeps pooled limits; ``inside``: the
        same with each pool's own cap and hours prices added back, what it
        gets in a pool whose books hold those limits one CSM at a time.
    """
    # A cap price is only meaningful where there is a cap; minimums keep theirs.
    price = np.where((pool_price > 0) & ~np.isfinite(capacity), 0.0, pool_price)
    side_price = np.maximum(side_price, 0.0)
    net = pool_values - price[None, :]
    own = np.zeros_like(pool_values)
    for k, (row, charge) in enumerate(zip(side, side_price, strict=True)):
        if charge == 0.0:
            continue
        paid = charge * row.matrix()
        net = net - paid
        for p, r in hours_row.items():
            if r == k:
                own[:, p] += paid[:, p]
    inside = net + own + np.maximum(price, 0.0)[None, :]
    return np.where(allowed, net, -np.inf), np.where(allowed, inside, -np.inf)


def pack_books(
    targets: Sequence[int],
    net: FloatArray,
    inside: FloatArray,
    allowed: BoolArray,
    workload: FloatArray,
    pools: PoolSet,
    roster: pd.DataFrame,
    current: IntArray,
    locked: BoolArray,
) -> Packing:
    """Build the books of the ``targets`` pools, in that order.

    Parameters
    ----------
    targets
        Pools to pack, packed in this order.
    net, inside
        From :func:`net_values`.
    allowed
        Allowed (account, pool) pairs.
    workload
        Hours each account takes in each pool (accounts × pools).
    pools
        The pools.
    roster
        Resolved roster (``hours``, ``max_accounts``, ``min_accounts``).
    current
        Roster row of each account's current CSM (``-1`` for none).
    locked
        Accounts that stay with their current CSM.

    Returns
    -------
    Packing
        The books.
    """
    n, n_pools = net.shape
    hours = roster["hours"].to_numpy(dtype=np.float64)
    caps = roster["max_accounts"].to_numpy(dtype=np.int64)
    mins = roster["min_accounts"].to_numpy(dtype=np.int64)
    csm_out = np.full(n, -1, dtype=np.int64)
    pool_out = np.full(n, -1, dtype=np.int64)
    free = np.ones(n, dtype=bool)
    open_pools = np.ones(n_pools, dtype=bool)
    scale = float(np.abs(np.where(np.isfinite(inside), inside, 0.0)).max(initial=0.0))
    packed: list[int] = []
    failed: list[int] = []
    for p in targets:
        open_pools[p] = False
        rows = np.flatnonzero(allowed[:, p] & free)
        csms = np.flatnonzero(pools.csm_pool == p)
        if rows.shape[0] == 0 or csms.shape[0] == 0:
            continue
        elsewhere = np.where(open_pools[None, :], net[rows], -np.inf).max(axis=1)
        forced = ~np.isfinite(elsewhere)
        # An account with nowhere else to go outranks every other.
        gain = np.where(forced, 2.0 * scale + 1.0, inside[rows, p] - elsewhere)
        book = _pack_pool(
            rows,
            gain,
            workload[rows, p],
            forced,
            csms,
            hours[csms],
            caps[csms],
            current[rows],
            locked[rows],
        )
        if (
            book is None
            or (np.bincount(book[book >= 0], minlength=csms.shape[0]) < mins[csms]).any()
        ):
            failed.append(int(p))
            continue
        placed = book >= 0
        csm_out[rows[placed]] = csms[book[placed]]
        pool_out[rows[placed]] = p
        free[rows[placed]] = False
        packed.append(int(p))
    return Packing(csm_out, pool_out, tuple(packed), tuple(failed))


def _pack_pool(
    rows: IntArray,
    gain: FloatArray,
    weight: FloatArray,
    forced: BoolArray,
    csms: IntArray,
    hours: FloatArray,
    caps: IntArray,
    current: IntArray,
    locked: BoolArray,
) -> IntArray | None:
    """Book (position in ``csms``) of each candidate, ``-1`` if left out; ``None`` if stuck."""
    m, k = rows.shape[0], csms.shape[0]
    book = np.full(m, -1, dtype=np.int64)
    position = np.full(int(max(csms.max(), current.max(initial=-1))) + 1, -1, dtype=np.int64)
    position[csms] = np.arange(k)
    mine = np.where(current >= 0, position[np.maximum(current, 0)], -1)
    # Locked accounts stay with their CSM whatever it costs.
    stay = locked & (mine >= 0)
    book[stay] = mine[stay]
    load = np.bincount(mine[stay], weights=weight[stay], minlength=k).astype(np.float64)
    count = np.bincount(mine[stay], minlength=k)
    if (load > hours * (1 + 1e-9)).any() or (count > caps).any():
        return None
    wanted = (gain > 0) & ~stay
    density = gain / np.maximum(weight, 1e-12)
    order = np.lexsort((rows, -density))
    typical = float(np.median(weight[wanted])) if wanted.any() else 0.0
    reserve = np.minimum(hours, RESERVE_ACCOUNTS * typical)
    # Current holders first (continuity), best gain per hour first, up to a
    # smaller reserve: moving an account between CSMs has a cost the gains
    # do not see.
    kept_room = hours - np.minimum(reserve, CONTINUITY_RESERVE_ACCOUNTS * typical)
    keep = order[wanted[order] & (mine[order] >= 0)]
    if keep.shape[0]:
        keep = keep[np.argsort(mine[keep], kind="stable")]
        owner = mine[keep]
        starts = np.searchsorted(owner, owner)
        cum = np.cumsum(weight[keep])
        within = cum - np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
        rank = np.arange(keep.shape[0]) - starts
        fits = (within + load[owner] <= kept_room[owner]) & (rank + count[owner] < caps[owner])
        book[keep[fits]] = owner[fits]
        load += np.bincount(owner[fits], weights=weight[keep[fits]], minlength=k)
        count += np.bincount(owner[fits], minlength=k)
    # Bulk: each CSM takes the next accounts of the best gain per hour.
    stream = order[wanted[order] & (book[order] < 0)]
    start = 0
    for j in range(k):
        room = hours[j] - reserve[j] - load[j]
        slots = int(caps[j] - count[j])
        if room <= 0 or slots <= 0 or start >= stream.shape[0]:
            continue
        window = stream[start : start + slots]
        take = int(np.searchsorted(np.cumsum(weight[window]), room, side="right"))
        book[window[:take]] = j
        load[j] += float(weight[window[:take]].sum())
        count[j] += take
        start += take
    # Fill: an exact knapsack over what each book has left.
    for j in range(k):
        room = hours[j] - load[j]
        slots = int(caps[j] - count[j])
        if slots <= 0:
            continue
        left = order[wanted[order] & (book[order] < 0)]
        left = left[weight[left] <= room * (1 + 1e-12)][:MAX_ITEMS]
        if left.shape[0] == 0:
            continue
        chosen = _knapsack(gain[left], weight[left], room, slots)
        book[left[chosen]] = j
        load[j] += float(weight[left[chosen]].sum())
        count[j] += chosen.shape[0]

    # Polish: re-fill the room of each book's last few accounts, on a grid
    # that much finer, then of two neighbouring books at once, so accounts
    # can trade places between books.
    def refill(group: list[int]) -> bool:
        parts = []
        for j in group:
            inside = np.flatnonzero((book == j) & ~stay)
            parts.append(inside[np.lexsort((rows[inside], density[inside]))[:POLISH_ACCOUNTS]])
        released = np.concatenate(parts)
        if released.shape[0] == 0:
            return False
        rooms = [
            hours[j] - load[j] + float(weight[r].sum()) for j, r in zip(group, parts, strict=True)
        ]
        slots = [int(caps[j] - count[j]) + r.shape[0] for j, r in zip(group, parts, strict=True)]
        left = order[wanted[order] & (book[order] < 0)]
        left = left[weight[left] <= max(rooms) * (1 + 1e-12)][:MAX_ITEMS]
        options = np.concatenate([released, left])
        open_ = np.ones(options.shape[0], dtype=bool)
        picks = []
        for room, slot in zip(rooms, slots, strict=True):
            idx = np.flatnonzero(open_)
            chosen = idx[_knapsack(gain[options[idx]], weight[options[idx]], room, slot)]
            open_[chosen] = False
            picks.append(options[chosen])
        before = float(gain[released].sum())
        if sum(float(gain[pick].sum()) for pick in picks) <= before + 1e-12 * abs(before):
            return False
        book[released] = -1
        for j, pick in zip(group, picks, strict=True):
            book[pick] = j
        load[:] = np.bincount(book[book >= 0], weights=weight[book >= 0], minlength=k)
        count[:] = np.bincount(book[book >= 0], minlength=k)
        return True

    for j in range(k):
        refill([j])
    # Few books: every pair, while it pays; many: neighbours, once.
    pairs = (
        [[a, b] for a in range(k) for b in range(a + 1, k)]
        if k <= ALL_PAIRS_BOOKS
        else [[j, j + 1] for j in range(k - 1)]
    )
    for _ in range(POLISH_ROUNDS if k <= ALL_PAIRS_BOOKS else 1):
        if not any([refill(pair) for pair in pairs]):
            break
    if (forced & (book < 0)).any():
        return None
    return book


def _grid(weight: FloatArray, room: float) -> tuple[IntArray, int]:
    """Weights and room in cells of one grid, rounded down.

    Hours often sit on a grid of their own (a tier's hours times a
    complexity with two decimals); that grid is used when it is fine
    enough. Otherwise cells are ``room / MAX_CELLS`` wide.
    """
    scaled = weight * _GRID_SCALE
    whole = np.round(scaled)
    if whole.shape[0] and np.allclose(scaled, whole, rtol=0.0, atol=1e-6) and (whole > 0).all():
        unit = int(np.gcd.reduce(whole.astype(np.int64))) / _GRID_SCALE
        cells = math.floor(room / unit + 1e-9)
        if cells <= MAX_CELLS:
            return np.round(weight / unit).astype(np.int64), cells
    unit = room / MAX_CELLS
    return np.floor(weight / unit + 1e-9).astype(np.int64), MAX_CELLS


def _knapsack(gain: FloatArray, weight: FloatArray, room: float, slots: int) -> IntArray:
    """Items of most total gain within ``room`` hours and ``slots`` accounts.

    Dynamic programming over cells of hours. Off the data's own grid, cells
    round weights down and each cell also carries the exact hours of its
    best set, so a set is only extended while it truly fits: rounding up
    instead would leave a fraction of a cell idle per account, which adds
    up to hours per book.
    """
    size, cells = _grid(weight, room)
    limit = room * (1 + 1e-12)
    best = np.full(cells + 1, -np.inf)
    best[0] = 0.0
    used = np.zeros(cells + 1)
    took = np.zeros((gain.shape[0], cells + 1), dtype=bool)
    for i in range(gain.shape[0]):
        s = int(size[i])
        if s > cells:
            continue
        head = cells + 1 - s
        value = best[:head] + gain[i]
        hours = used[:head] + weight[i]
        better = (hours <= limit) & (value > best[s:])
        took[i, s:] = better
        best[s:] = np.where(better, value, best[s:])
        used[s:] = np.where(better, hours, used[s:])
    cell = int(np.argmax(best))
    chosen = []
    for i in range(gain.shape[0] - 1, -1, -1):
        if took[i, cell]:
            chosen.append(i)
            cell -= int(size[i])
    picked = np.array(chosen[::-1], dtype=np.int64)
    if picked.shape[0] > slots:
        # Rare: a book short of places more than hours keeps the best gains.
        picked = np.sort(picked[np.argsort(-gain[picked], kind="stable")[:slots]])
    return picked


@dataclass(frozen=True, eq=False)
class Prices:
    """LP duals of the pool program and the bound they prove.

    Attributes
    ----------
    pool
        Price of each pool row (0 for pools without one).
    side
        Price of each side row.
    bound
        Upper bound on the pool program (and so on every plan).
    """

    pool: FloatArray
    side: FloatArray
    bound: float


def lp_prices(
    pool_values: FloatArray,
    allowed: BoolArray,
    capacity: FloatArray,
    minimum: IntArray,
    side: tuple[SideRow, ...],
    time_limit: float | None = None,
) -> Prices | None:
    """Solve the pool program's LP relaxation for its prices and bound.

    From :data:`tierplan.solve.SIFT_MIN_ACCOUNTS` accounts on the LP is
    solved on a core of accounts (:func:`tierplan.sifting.sift`), whose
    Lagrangian bound holds for all of them.

    Parameters
    ----------
    pool_values
        Value of each account in each pool.
    allowed
        Allowed (account, pool) pairs.
    capacity, minimum
        Most and fewest accounts per pool.
    side
        Side rows.
    time_limit
        Seconds for the LP.

    Returns
    -------
    Prices or None
        ``None`` when the LP is infeasible or did not solve in time.
    """
    from tierplan.formulation import build_pool_program
    from tierplan.mip import solve_lp
    from tierplan.sifting import capped_rows, row_prices, sift
    from tierplan.solve import SIFT_MIN_ACCOUNTS

    values = np.where(allowed, pool_values, 0.0)
    if allowed.shape[0] >= SIFT_MIN_ACCOUNTS:
        core = sift(values, allowed, capacity, minimum, side, time_limit=time_limit)
        if core is not None:
            return Prices(core.pool_price, core.side_price, core.bound)
    built = build_pool_program(values, allowed, capacity, minimum, side)
    lp = solve_lp(built.program, time_limit=time_limit)
    if lp.status != "optimal" or lp.row_dual is None:
        return None
    capped = capped_rows(capacity, minimum.astype(np.float64))
    pool, side_price = row_prices(
        lp.row_dual, allowed.shape[0], capped, allowed.shape[1], len(side)
    )
    return Prices(pool, side_price, float(lp.objective))
