"""The LP relaxation of a large pool program with side rows, solved on a core.

With side constraints (hours, a budget, a move limit) the pool program is no
longer a transportation problem, and a simplex run on every (account, pool)
column of a hundred thousand accounts takes minutes. Yet prices decide almost
every account: given a price per pool row and per side row, an account's
best pool is the one with the highest value net of the prices it pays, and
only accounts whose best and second-best pools are close could go either way.

Sifting exploits that. Prices are first estimated on a random sample of the
accounts with every limit scaled to the sample. Accounts far from a switch
are fixed in their best priced pool; the others (the *core*) are solved as
an LP against what the fixed accounts leave of every limit. The core LP's
duals then price every fixed account; any whose fixed pool is no longer its
best joins the core, until none does. The core LP plus the fixed accounts is
then the LP optimum of the whole program, and the duals give a proven
Lagrangian bound computed over every account, so the MIP step downstream
works on the core alone and still reports an honest gap.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tierplan.formulation import PoolProgram, SideRow, build_pool_program
from tierplan.mip import solve_lp

__all__ = ["Core", "lagrangian_bound", "sift"]

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]

#: Accounts in the sample whose LP estimates the first prices.
SAMPLE_SIZE = 4_000

#: Smallest core, and the core as a share of all accounts.
CORE_MIN = 3_000
CORE_SHARE = 0.04

#: Rounds of pricing-out before giving up on a closed core.
MAX_ROUNDS = 20


@dataclass(frozen=True, eq=False)
class Core:
    """The core of a sifted LP and what the fixed accounts leave to it.

    Attributes
    ----------
    accounts
        Indices of the core accounts (sorted).
    fixed_choice
        Pool of every account outside the core (``-1`` for core accounts).
    program
        The core's pool program, limits reduced by the fixed accounts.
    fixed_value
        Total value of the fixed accounts.
    lp_objective
        LP optimum of the whole program (core LP plus fixed accounts).
    bound
        Lagrangian bound from the final duals, valid for the whole program.
    rounds
        Pricing rounds run.
    converged
        Whether no fixed account priced out at the end (the LP is then
        optimal for the whole program).
    pool_price, side_price
        The final LP duals: price of each pool row and of each side row.
    """

    accounts: IntArray
    fixed_choice: IntArray
    program: PoolProgram
    fixed_value: float
    lp_objective: float
    bound: float
    rounds: int
    converged: bool
    pool_price: FloatArray
    side_price: FloatArray


def _priced(
    pool_values: FloatArray,
    eligible: BoolArray,
    side: tuple[SideRow, ...],
    pool_price: FloatArray,
    side_price: FloatArray,
) -> FloatArray:
    """Value of every (account, pool) pair net of the prices it pays; ``-inf`` if barred."""
    net = pool_values - pool_price[None, :]
    for row, price in zip(side, side_price, strict=True):
        if price != 0.0:
            net = net - price * row.matrix()
    return np.where(eligible, net, -np.inf)


def _limits(
    capacity: FloatArray, minimum: FloatArray, pool_price: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Prices allowed on each pool row (sign by which bound they price) and the bound priced."""
    price = np.where((pool_price > 0) & ~np.isfinite(capacity), 0.0, pool_price)
    price = np.where((price < 0) & (minimum <= 0), 0.0, price)
    priced_bound = np.where(price > 0, capacity, np.where(price < 0, minimum, 0.0))
    return price, np.where(price != 0, priced_bound, 0.0)


def lagrangian_bound(
    pool_values: FloatArray,
    eligible: BoolArray,
    capacity: FloatArray,
    minimum: FloatArray,
    side: tuple[SideRow, ...],
    pool_price: FloatArray,
    side_price: FloatArray,
) -> float:
    """An upper bound on the pool program from any prices on its rows.

    Every account takes its best pool net of prices; the prices times the
    limits they price are added back. Valid for every choice of prices (a
    price is only counted on a bound that exists), tight at the LP duals.

    Parameters
    ----------
    pool_values
        Value of each account in each pool.
    eligible
        Allowed (account, pool) pairs.
    capacity, minimum
        Pool limits.
    side
        Side rows.
    pool_price
        Price per pool (positive: on its cap; negative: on its minimum).
    side_price
        Price per side row (clipped at 0: side rows are upper limits).

    Returns
    -------
    float
        The bound (``inf`` if some account has no allowed pool).
    """
    price, priced = _limits(capacity, minimum, pool_price)
    side_price = np.maximum(side_price, 0.0)
    net = _priced(pool_values, eligible, side, price, side_price)
    best = net.max(axis=1)
    if not np.isfinite(best).all():
        return math.inf
    upper = np.array([r.upper for r in side], dtype=np.float64)
    return float(best.sum() + price @ priced + side_price @ upper)


def row_prices(
    row_dual: FloatArray, n_accounts: int, capped: IntArray, n_pools: int, n_side: int
) -> tuple[FloatArray, FloatArray]:
    """Pool and side-row prices from the row duals of a pool program's LP.

    Parameters
    ----------
    row_dual
        Duals of the program's rows, in :func:`build_pool_program`'s order.
    n_accounts
        Accounts (one row each, first).
    capped
        Pools with a row (from :func:`capped_rows`).
    n_pools, n_side
        Pools and side rows.

    Returns
    -------
    tuple of numpy.ndarray
        Price per pool (0 without a row) and per side row.
    """
    pool_price = np.zeros(n_pools)
    pool_price[capped] = row_dual[n_accounts : n_accounts + capped.shape[0]]
    side_price = np.asarray(row_dual[n_accounts + capped.shape[0] :][:n_side], dtype=np.float64)
    return pool_price, side_price


def capped_rows(capacity: FloatArray, minimum: FloatArray) -> IntArray:
    """Pools that get a row in :func:`build_pool_program` (a cap or a minimum), in order.

    Parameters
    ----------
    capacity, minimum
        Most and fewest accounts per pool.

    Returns
    -------
    numpy.ndarray
        Pool indices.
    """
    return np.flatnonzero(np.isfinite(capacity) | (minimum > 0)).astype(np.int64)


def _restrict(row: SideRow, rows: IntArray, upper: float) -> SideRow:
    return dataclasses.replace(
        row,
        account_coef=row.account_coef[rows],
        upper=upper,
        pair_coef=None if row.pair_coef is None else row.pair_coef[rows],
    )


def _sample_prices(
    pool_values: FloatArray,
    eligible: BoolArray,
    capacity: FloatArray,
    minimum: FloatArray,
    side: tuple[SideRow, ...],
    time_limit: float | None,
) -> tuple[FloatArray, FloatArray]:
    n, n_pools = eligible.shape
    # A fixed seed: the same input gives the same core and the same plan.
    rng = np.random.default_rng(0)
    rows = np.sort(rng.choice(n, size=min(SAMPLE_SIZE, n), replace=False)).astype(np.int64)
    share = rows.shape[0] / n
    cap = capacity * share
    low = np.floor(minimum * share)
    rows_side = tuple(_restrict(r, rows, r.upper * share) for r in side)
    built = build_pool_program(
        pool_values[rows], eligible[rows], cap, low.astype(np.int64), rows_side
    )
    lp = solve_lp(built.program, time_limit=time_limit)
    if lp.row_dual is None:
        return np.zeros(n_pools), np.zeros(len(side))
    capped = capped_rows(cap, low)
    return row_prices(lp.row_dual, rows.shape[0], capped, n_pools, len(side))


#: Share of every limit the fixed accounts may use, so the core has room to
#: move: sampled prices are estimates.
FIXED_SHARE = 0.97


def _release(
    in_core: BoolArray,
    fixed_choice: IntArray,
    margin: FloatArray,
    capacity: FloatArray,
    side: tuple[SideRow, ...],
    upper: FloatArray,
) -> None:
    """Move fixed accounts into the core until they use at most FIXED_SHARE of each limit.

    Within each limit the accounts closest to a switch go first.
    """
    n = fixed_choice.shape[0]
    uses: list[tuple[FloatArray, float]] = []
    for p in np.flatnonzero(np.isfinite(capacity)):
        uses.append(((fixed_choice == p).astype(np.float64), float(capacity[p])))
    for row, limit in zip(side, upper, strict=True):
        uses.append((row.matrix()[np.arange(n), fixed_choice], float(limit)))
    for use, limit in uses:
        fixed_use = np.where(in_core, 0.0, use)
        excess = float(fixed_use.sum()) - FIXED_SHARE * max(limit, 0.0)
        if excess <= 0:
            continue
        holders = np.flatnonzero(fixed_use > 0)
        holders = holders[np.argsort(margin[holders], kind="stable")]
        released = np.searchsorted(np.cumsum(fixed_use[holders]), excess) + 1
        in_core[holders[:released]] = True


def sift(
    pool_values: FloatArray,
    eligible: BoolArray,
    capacity: FloatArray,
    minimum: IntArray,
    side: tuple[SideRow, ...],
    *,
    time_limit: float | None = None,
) -> Core | None:
    """Solve the LP relaxation of the pool program on a core of accounts.

    Parameters
    ----------
    pool_values
        Value of each account in each pool (accounts × pools).
    eligible
        Allowed (account, pool) pairs.
    capacity, minimum
        Most and fewest accounts per pool.
    side
        Side rows.
    time_limit
        Seconds for the whole sifting.

    Returns
    -------
    Core or None
        The core and its bound; ``None`` when the core LP could not be
        made feasible or time ran out (the caller then solves the whole
        program).
    """
    start = time.perf_counter()
    n, n_pools = eligible.shape
    low = minimum.astype(np.float64)

    def left() -> float | None:
        if time_limit is None:
            return None
        return max(time_limit - (time.perf_counter() - start), 1e-3)

    pool_price, side_price = _sample_prices(pool_values, eligible, capacity, low, side, left())
    price, _ = _limits(capacity, low, pool_price)
    net = _priced(pool_values, eligible, side, price, np.maximum(side_price, 0.0))
    fixed_choice = np.argmax(net, axis=1).astype(np.int64)
    best = net[np.arange(n), fixed_choice]
    runner_up = np.where(np.arange(n_pools)[None, :] == fixed_choice[:, None], -np.inf, net)
    margin = best - runner_up.max(axis=1)
    order = np.argsort(margin, kind="stable")
    size = max(CORE_MIN, int(CORE_SHARE * n))
    in_core = np.zeros(n, dtype=bool)
    in_core[order[: min(size, n)]] = True
    upper = np.array([r.upper for r in side], dtype=np.float64)
    _release(in_core, fixed_choice, margin, capacity, side, upper)
    scale = max(1.0, float(np.abs(np.where(eligible, pool_values, 0.0)).max()))

    for rounds in range(1, MAX_ROUNDS + 1):
        core = np.flatnonzero(in_core).astype(np.int64)
        fixed = np.flatnonzero(~in_core)
        fixed_pool = fixed_choice[fixed]
        count = np.bincount(fixed_pool, minlength=n_pools).astype(np.float64)
        used = np.array(
            [float(r.matrix()[fixed, fixed_pool].sum()) for r in side], dtype=np.float64
        )
        core_side = tuple(
            _restrict(r, core, u - f) for r, u, f in zip(side, upper, used, strict=True)
        )
        core_cap = capacity - count
        core_min = np.maximum(low - count, 0.0)
        if (core_cap < 0).any() or (upper - used < -1e-9 * np.maximum(1.0, upper)).any():
            lp_status = "infeasible"
            built = None
        else:
            built = build_pool_program(
                pool_values[core], eligible[core], core_cap, core_min.astype(np.int64), core_side
            )
            lp = solve_lp(built.program, time_limit=left())
            lp_status = lp.status
        if lp_status != "optimal":
            if lp_status == "time_limit" or in_core.all():
                return None
            # The fixed accounts took too much of some limit: widen the core.
            grow = min(n, 2 * int(in_core.sum()))
            in_core[order[:grow]] = True
            continue
        assert built is not None and lp.row_dual is not None
        capped = capped_rows(core_cap, core_min)
        pool_price, side_price = row_prices(lp.row_dual, core.shape[0], capped, n_pools, len(side))
        price, _ = _limits(capacity, low, pool_price)
        net = _priced(pool_values, eligible, side, price, np.maximum(side_price, 0.0))
        slack = net.max(axis=1) - net[np.arange(n), fixed_choice]
        out = ~in_core & (slack > 1e-9 * scale)
        fixed_value = float(pool_values[fixed, fixed_pool].sum())
        bound = lagrangian_bound(pool_values, eligible, capacity, low, side, pool_price, side_price)
        converged = not out.any()
        remaining = left()
        if converged or rounds == MAX_ROUNDS or (remaining is not None and remaining <= 1e-3):
            choice = np.where(in_core, -1, fixed_choice)
            return Core(
                accounts=core,
                fixed_choice=choice,
                program=built,
                fixed_value=fixed_value,
                lp_objective=lp.objective + fixed_value,
                bound=bound,
                rounds=rounds,
                converged=converged,
                pool_price=pool_price,
                side_price=side_price,
            )
        in_core |= out
    return None  # pragma: no cover - the loop always returns
