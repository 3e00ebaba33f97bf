"""An exact, fast solver for the pool program (a transportation problem).

The pool program gives each of ``n`` accounts exactly one of ``P`` pools it
is eligible for, keeps the number of accounts in pool ``p`` between
``minimum[p]`` and ``capacity[p]``, and maximizes the summed value. Its
linear relaxation has integral vertices, so it is a min-cost flow. With few
pools (up to a few dozen) and many accounts it is solved here without a
general MIP solver, and without a Python loop over accounts:

0. **Screen.** When pools without a capacity (tech touch) take most
   accounts, an account that at least ``C`` others (``C`` = the capped
   pools' places) beat on a capped pool, all of them able to swap into an
   uncapped pool, is in no optimum of that pool: an exchange argument. A
   working set of each capped pool's top accounts (three times its places)
   is solved by the steps below with the others in their best uncapped
   pool; exact arcs for the others' cheapest moves join the certificate,
   and accounts its prices would draw in join the working set until it
   holds. At 10,000 accounts and 660 book places about 1,200 accounts are
   solved.
1. **Exact core.** A min-cost flow (OR-Tools) with integer-scaled costs,
   interchangeable accounts merged, then an exact repair in floating
   point on the ``P + 1``-node *exchange graph*: arc ``p -> q`` costs the
   cheapest move of one account from ``p`` to ``q``, and a slack node
   stands for spare capacity and for accounts above a minimum. Negative
   cycles are cancelled until none is left (the assignment is then
   optimal) and shortest-path potentials give the dual prices.
2. **Prices from a sample.** For large problems, a random sample of the
   accounts (capacities scaled down) is solved by the same routine,
   recursively; its dual prices estimate those of the full problem.
3. **Price bands.** How far each estimated price may be off: the sample
   misjudges pool counts by a known multinomial error, which the prices
   absorb through the density of accounts on each boundary between pools
   (delta method, three standard deviations).
4. **Decided and marginal accounts.** An account whose best pool stays
   best wherever the prices lie within their bands is decided; the others
   (a few percent) are marginal and get the exact core, with the decided
   counts taken off the capacities.
5. **Certificate.** A decided account cannot gain by moving more than the
   band allows, so arcs with that weight stand in for all of them in the
   exchange graph of the marginal accounts; with no negative cycle the
   potentials certify every account at once. Otherwise the full exchange
   graph is built and a few cycles cancelled, or the bands are widened and
   step 4 repeats; at worst every account is marginal, which is step 1 on
   the whole problem.

The result is exact in floating point (not merely for costs rounded to
integers) and comes with its certificate, the ``prices``: every account's
pool maximizes ``value - price`` among its eligible pools, a pool with a
positive price is full and a pool with a negative price is at its minimum.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt

from tierplan.errors import ConfigError, SolverError

__all__ = ["TransportSolution", "solve_transport", "transport_infeasibility"]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Problems with at most this many accounts go straight to the exact solve.
#: Above it, prices from a sample let the exact solve skip most accounts; the
#: flow costs a few microseconds per account, the decomposition's own work a
#: few milliseconds, so it pays from a few thousand accounts on.
_BASE_ACCOUNTS = 6_000
#: The price sample holds one account in this many (but at least ``_SAMPLE_MIN``).
_SAMPLE_RATIO = 8
_SAMPLE_MIN = 2_000
#: Accounts nearest to a boundary used to estimate its density (and the
#: fewest for an estimate at all).
_DENSITY_ACCOUNTS = 100
_DENSITY_MIN = 10
#: The joint price band is at most this many times the per-pool one.
_JOINT_CAP = 10.0
#: Price bands cover this many standard deviations of the sample's count error.
_Z_BAND = 3.0
#: Cycles cancelled over all accounts before a decomposition round is given up.
_MAX_MOVES = 12
#: Decomposition rounds before falling back to the exact solve of all accounts.
_MAX_ROUNDS = 6
#: Fixed seed of the price sample: the solver is deterministic.
_SEED = 20_240_601
#: Rounding allowance, in units of the machine epsilon times the magnitudes compared.
_ROUNDING = 8.0
#: Up to this many pools, feasibility is checked over every set of pools.
_EXHAUSTIVE_POOLS = 16
#: Largest number of pools (eligibility patterns are packed into 63 bits).
_MAX_POOLS = 63
#: Problems with more accounts than this are screened first (see :func:`_screen`).
_SCREEN_ACCOUNTS = 2_000
#: Screening pays when it leaves at most this share of the accounts.
_SCREEN_SHARE = 0.5
#: The screen's first working set: each capped pool's top accounts, this many
#: times its capacity plus ``_SCREEN_EXTRA`` (see :func:`_screen`).
_SCREEN_FIRST = 3.0
_SCREEN_EXTRA = 10
#: Working sets solved before the screen gives way to the full solve.
_SCREEN_ROUNDS = 4
#: Working sets up to this size go straight to the exact solve: their
#: accounts crowd the pools' boundaries, which leaves price bands little to
#: decide.
_WORKING_BASE = 15_000


@dataclass(frozen=True)
class TransportSolution:
    """Result of :func:`solve_transport`.

    Attributes
    ----------
    status
        ``"optimal"`` or ``"infeasible"``.
    choice
        Pool index per account (``int64``, shape ``(n,)``); ``-1`` for every
        account when infeasible.
    objective
        Total value of the choice (``nan`` when infeasible).
    prices
        Optimal dual prices of pool capacity, shape ``(P,)``. They certify
        the choice: every account's pool maximizes ``value - price`` among
        its eligible pools (up to rounding), a pool with a positive price is
        full, and a pool with a negative price is at its minimum. Zero when
        infeasible.
    seconds
        Wall-clock time of the solve.
    method
        Short description of what ran.
    """

    status: Literal["optimal", "infeasible"]
    choice: IntArray
    objective: float
    prices: FloatArray
    seconds: float
    method: str


# ----------------------------------------------------------------------------
# Validation
# ----------------------------------------------------------------------------


def _as_eligible(eligible: npt.ArrayLike) -> BoolArray:
    e = np.asarray(eligible)
    if e.ndim != 2:
        raise ConfigError(f"eligible: expected a 2-D array (accounts × pools), got {e.ndim}-D")
    if e.dtype == np.bool_:
        return e
    if not (np.issubdtype(e.dtype, np.integer) or np.issubdtype(e.dtype, np.floating)):
        raise ConfigError(f"eligible: expected booleans, got dtype {e.dtype}")
    if not np.isin(e, (0, 1)).all():
        raise ConfigError("eligible: expected booleans (or 0/1), found other values")
    return e.astype(bool)


def _as_pool_vector(name: str, array: npt.ArrayLike, n_pools: int) -> FloatArray:
    try:
        a = np.asarray(array, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{name}: expected numbers, one per pool ({exc})") from exc
    if a.shape != (n_pools,):
        raise ConfigError(f"{name}: expected shape ({n_pools},), one per pool, got {a.shape}")
    return a


def _validate_pools(
    capacity: npt.ArrayLike, minimum: npt.ArrayLike | None, n_pools: int
) -> tuple[FloatArray, IntArray]:
    cap = _as_pool_vector("capacity", capacity, n_pools)
    if np.isnan(cap).any() or (cap < 0).any():
        raise ConfigError("capacity: must be a non-negative whole number or inf per pool")
    finite = np.isfinite(cap)
    if (cap[finite] != np.floor(cap[finite])).any():
        bad = np.flatnonzero(finite & (cap != np.floor(np.where(finite, cap, 0.0))))
        raise ConfigError(
            f"capacity: must be a whole number of accounts or inf (pool {int(bad[0])} "
            f"has {cap[bad[0]]})"
        )
    if minimum is None:
        mn = np.zeros(n_pools, dtype=np.int64)
    else:
        m = _as_pool_vector("minimum", minimum, n_pools)
        if not np.isfinite(m).all() or (m != np.floor(m)).any():
            raise ConfigError("minimum: must be a whole number of accounts per pool")
        if (m < 0).any():
            raise ConfigError(
                f"minimum: must be non-negative (pool {int(np.flatnonzero(m < 0)[0])})"
            )
        mn = m.astype(np.int64)
    return cap, mn


def _validate(
    value: npt.ArrayLike,
    eligible: npt.ArrayLike,
    capacity: npt.ArrayLike,
    minimum: npt.ArrayLike | None,
) -> tuple[FloatArray, BoolArray, FloatArray, IntArray]:
    e = _as_eligible(eligible)
    try:
        v = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"value: expected a numeric array ({exc})") from exc
    if v.shape != e.shape:
        raise ConfigError(f"value: shape {v.shape} differs from eligible's {e.shape}")
    n_pools = e.shape[1]
    if n_pools == 0:
        raise ConfigError("eligible: there must be at least one pool")
    if n_pools > _MAX_POOLS:
        raise ConfigError(f"eligible: at most {_MAX_POOLS} pools are supported, got {n_pools}")
    cap, mn = _validate_pools(capacity, minimum, n_pools)
    finite = np.isfinite(v)
    if not finite.all():
        if (e & ~finite).any():
            rows = np.flatnonzero((e & ~finite).any(axis=1))
            raise ConfigError(
                f"value: must be finite where eligible ({rows.size} accounts are not, "
                f"e.g. account {int(rows[0])})"
            )
        v = np.where(e, v, 0.0)  # NaN/inf only where ineligible: never read, but keep clean
    return np.ascontiguousarray(v), np.ascontiguousarray(e), cap, mn


# ----------------------------------------------------------------------------
# Feasibility (Hall / Hoffman conditions over sets of pools)
# ----------------------------------------------------------------------------


def _pattern_keys(e: BoolArray) -> npt.NDArray[np.uint64]:
    """Eligibility pattern of each account as a bit mask (bit ``p`` = pool ``p``)."""
    keys = np.zeros(e.shape[0], dtype=np.uint64)
    for p in range(e.shape[1]):
        keys |= e[:, p].astype(np.uint64) << np.uint64(p)
    return keys


def _subset_sums(values: FloatArray, n_pools: int) -> FloatArray:
    """``out[S] = sum(values[T] for T subset of S)`` over bit masks (in place)."""
    for b in range(n_pools):
        view = values.reshape(-1, 2, 1 << b)
        view[:, 1, :] += view[:, 0, :]
    return values


def _pool_set_sums(per_pool: FloatArray) -> FloatArray:
    """``out[S] = sum(per_pool[p] for p in S)`` for every bit mask ``S``."""
    n_pools = per_pool.shape[0]
    out = np.zeros(1 << n_pools)
    for p in range(n_pools):
        out.reshape(-1, 2, 1 << p)[:, 1, :] += per_pool[p]
    return out


@dataclass(frozen=True)
class _Violations:
    """Sets of pools whose conditions fail (bit masks), with their numbers."""

    no_pool: int  # accounts eligible for no pool
    min_over_cap: list[tuple[int, int, float]]  # (pool, minimum, capacity), minimum too high
    capacity: list[tuple[int, int, float]]  # (pools, accounts only eligible there, capacity)
    minimum: list[tuple[int, int, int]]  # (pools, accounts eligible for any, minimums)
    other: bool  # infeasible for a reason not itemized above

    @property
    def feasible(self) -> bool:
        return not (
            self.no_pool or self.min_over_cap or self.capacity or self.minimum or self.other
        )


def _minimal_sets(flags: BoolArray, n_pools: int) -> npt.NDArray[np.intp]:
    """Masks flagged in ``flags`` none of whose proper subsets is flagged."""
    if not flags.any():
        return np.zeros(0, dtype=np.intp)
    below = flags.copy()  # below[S]: some subset of S (S included) is flagged
    for b in range(n_pools):
        view = below.reshape(-1, 2, 1 << b)
        view[:, 1, :] |= view[:, 0, :]
    proper = np.zeros_like(flags)  # some proper subset of S is flagged
    for b in range(n_pools):
        view_p = proper.reshape(-1, 2, 1 << b)
        view_b = below.reshape(-1, 2, 1 << b)
        view_p[:, 1, :] |= view_b[:, 0, :]
    masks = np.flatnonzero(flags & ~proper)
    sizes = np.array([int(m).bit_count() for m in masks.tolist()], dtype=np.int64)
    return masks[np.lexsort((masks, sizes))]


def _violations(
    e: BoolArray,
    cap: FloatArray,
    mn: IntArray,
    *,
    limit: int = 10,
    keys: npt.NDArray[np.uint64] | None = None,
) -> _Violations:
    """Check the feasibility conditions of the pool program.

    An assignment exists if and only if, for every set ``S`` of pools, the
    accounts eligible only for pools in ``S`` fit in the capacity of ``S``,
    and the accounts eligible for some pool of ``S`` cover the minimums of
    ``S`` (Hoffman's circulation theorem on the flow network), and each
    minimum is at most its capacity.
    """
    n, n_pools = e.shape
    no_pool = int(n - np.count_nonzero(e.any(axis=1))) if n else 0
    min_over_cap = [(p, int(mn[p]), float(cap[p])) for p in range(n_pools) if mn[p] > cap[p]]
    capacity: list[tuple[int, int, float]] = []
    minimum: list[tuple[int, int, int]] = []
    other = False
    full = (1 << n_pools) - 1
    if n_pools <= _EXHAUSTIVE_POOLS:
        keys = _pattern_keys(e) if keys is None else keys
        counts = np.bincount(keys.astype(np.intp), minlength=1 << n_pools)
        counts[0] = 0  # accounts eligible for no pool are reported on their own
        only = _subset_sums(counts.astype(np.float64), n_pools)  # accounts with pattern ⊆ S
        cap_s = _pool_set_sums(cap)
        min_s = _pool_set_sums(mn.astype(np.float64))
        over = only > cap_s
        sets = _minimal_sets(over, n_pools)[:limit].tolist()
        if over[full] and full not in sets:  # the totals, always worth saying
            sets.append(full)
        for s in sets:
            capacity.append((s, int(only[s]), float(cap_s[s])))
        # Accounts eligible for some pool of S: the placeable ones, less those
        # eligible only for pools outside S.
        reach = (n - no_pool) - only[::-1]
        short = min_s > reach
        sets = _minimal_sets(short, n_pools)[:limit].tolist()
        if short[full] and full not in sets:
            sets.append(full)
        for s in sets:
            minimum.append((s, int(reach[s]), int(min_s[s])))
        return _Violations(no_pool, min_over_cap, capacity, minimum, other)

    # Many pools: the business-sized sets (single pools, all pools), then a flow check.
    col = np.count_nonzero(e, axis=0)
    deg = np.count_nonzero(e, axis=1)
    for p in range(n_pools):
        only_p = int(np.count_nonzero(e[:, p] & (deg == 1)))
        if only_p > cap[p]:
            capacity.append((1 << p, only_p, float(cap[p])))
        if mn[p] > col[p]:
            minimum.append((1 << p, int(col[p]), int(mn[p])))
    if n - no_pool > cap.sum():
        capacity.append((full, n - no_pool, float(cap.sum())))
    if mn.sum() > n:
        minimum.append((full, n, int(mn.sum())))
    found = bool(no_pool or min_over_cap or capacity or minimum)
    if not found and not _flow_feasible(e, cap, mn):
        other = True
    return _Violations(no_pool, min_over_cap, capacity[:limit], minimum[:limit], other)


def _flow_feasible(e: BoolArray, cap: FloatArray, mn: IntArray) -> bool:
    """Feasibility by a max-flow on eligibility patterns (accounts aggregated).

    Lower bounds (the minimums) are removed the standard way: a super source
    feeds every account and the minimum of each pool; a super sink takes
    every account and the minimum of each pool; feasible iff the max flow
    saturates them all.
    """
    from ortools.graph.python import max_flow

    n, n_pools = e.shape
    total_min = int(mn.sum())
    if total_min > n or (mn > cap).any():
        return False
    if n == 0:
        return total_min == 0
    _, first, counts = np.unique(_pattern_keys(e), return_index=True, return_counts=True)
    k = first.shape[0]
    kk, pp = np.nonzero(e[first])
    # Nodes: patterns 0..k-1, pools k..k+P-1, collector t, super source, super sink.
    t, source, sink = k + n_pools, k + n_pools + 1, k + n_pools + 2
    pools = k + np.arange(n_pools)
    spare = np.where(np.isinf(cap), n, np.minimum(cap, n)) - mn
    tails = np.concatenate([np.full(k, source), kk, pools, pools, [source, t]])
    heads = np.concatenate(
        [np.arange(k), k + pp, np.full(n_pools, t), np.full(n_pools, sink), [t, sink]]
    )
    caps = np.concatenate([counts, counts[kk], spare, mn, [total_min, n]])
    flow = max_flow.SimpleMaxFlow()
    flow.add_arcs_with_capacity(
        tails.astype(np.int32), heads.astype(np.int32), caps.astype(np.int64)
    )
    if flow.solve(source, sink) != flow.OPTIMAL:  # pragma: no cover - small integer capacities
        raise SolverError("OR-Tools max flow failed on the feasibility check")
    return bool(flow.optimal_flow() == n + total_min)


def _pools_text(mask: int, n_pools: int) -> str:
    members = [p for p in range(n_pools) if mask >> p & 1]
    if len(members) == 1:
        return f"pool {members[0]}"
    if len(members) == n_pools and n_pools > 2:
        return "all pools together"
    return "pools " + ", ".join(str(p) for p in members[:-1]) + f" and {members[-1]}"


def _count_text(x: float) -> str:
    return "unlimited" if math.isinf(x) else f"{int(x):,}"


def _accounts(k: int) -> str:
    return f"{k:,} account" + ("" if k == 1 else "s")


def _explain(found: _Violations, n_pools: int) -> list[str]:
    lines: list[str] = []
    full = (1 << n_pools) - 1
    if found.no_pool:
        verb = "is" if found.no_pool == 1 else "are"
        lines.append(f"{_accounts(found.no_pool)} {verb} eligible for no pool")
    for p, needed, capacity in found.min_over_cap:
        lines.append(
            f"pool {p} must take at least {_accounts(needed)} but can hold {_count_text(capacity)}"
        )
    for mask, accounts, capacity in found.capacity:
        if mask == full:
            lines.append(
                f"{_accounts(accounts)} need a pool but the pools hold "
                f"{_count_text(capacity)} in total"
            )
        else:
            verb = "is" if accounts == 1 else "are"
            lines.append(
                f"{_accounts(accounts)} {verb} eligible only for "
                f"{_pools_text(mask, n_pools)}, which can hold {_count_text(capacity)}"
            )
    for mask, accounts, needed in found.minimum:
        if mask == full:
            lines.append(
                f"the pool minimums add up to {_accounts(needed)}, "
                f"but only {_accounts(accounts)} can be placed"
            )
        else:
            them = "it" if mask.bit_count() == 1 else "any of them"
            verb = "is" if accounts == 1 else "are"
            lines.append(
                f"{_pools_text(mask, n_pools)} must take at least {_accounts(needed)}, "
                f"but only {_accounts(accounts)} {verb} eligible for {them}"
            )
    if found.other:
        lines.append(
            "no assignment meets every pool's capacity and minimum at once "
            "(a combination of several pools is over-constrained)"
        )
    return lines


def transport_infeasibility(
    eligible: npt.ArrayLike,
    capacity: npt.ArrayLike,
    minimum: npt.ArrayLike | None = None,
) -> list[str]:
    """Explain, in plain words, why no assignment of accounts to pools exists.

    Checks the conditions that are necessary and sufficient for an
    assignment to exist (Hall's condition over sets of pools, for the
    capacities and for the minimums). With up to 16 pools every set of
    pools is examined and the smallest failing sets are reported; with more
    pools, single pools and all pools together are examined, and a
    combination that fails otherwise is reported without naming the pools.

    Parameters
    ----------
    eligible
        Boolean matrix, accounts × pools.
    capacity
        Most accounts per pool (a whole number, or ``inf`` for unlimited).
    minimum
        Fewest accounts per pool (default 0).

    Returns
    -------
    list of str
        One sentence per failing condition, naming pools by index
        (``"pool 3"``); empty when an assignment exists.

    Raises
    ------
    ConfigError
        For malformed arrays.
    """
    e = _as_eligible(eligible)
    if e.shape[1] == 0 or e.shape[1] > _MAX_POOLS:
        raise ConfigError(f"eligible: expected 1 to {_MAX_POOLS} pools, got {e.shape[1]}")
    cap, mn = _validate_pools(capacity, minimum, e.shape[1])
    return _explain(_violations(e, cap, mn), e.shape[1])


def _quick_infeasible(
    e: BoolArray, cap: FloatArray, mn: IntArray, keys: npt.NDArray[np.uint64] | None = None
) -> bool:
    """The cheap necessary conditions: totals, and every account has a pool."""
    n = e.shape[0]
    if (mn > cap).any() or mn.sum() > n or cap.sum() < n:
        return True
    placed = e.any(axis=1) if keys is None else keys != 0
    return not bool(placed.all())


def _feasible(
    e: BoolArray, cap: FloatArray, mn: IntArray, keys: npt.NDArray[np.uint64] | None = None
) -> bool:
    """Whether some assignment meets eligibility, capacities and minimums."""
    if _quick_infeasible(e, cap, mn, keys):
        return False
    if e.shape[1] <= _EXHAUSTIVE_POOLS:
        return _violations(e, cap, mn, limit=1, keys=keys).feasible
    return _flow_feasible(e, cap, mn)


# ----------------------------------------------------------------------------
# Exact solve: min-cost flow, then exact repair on the exchange graph
# ----------------------------------------------------------------------------


@dataclass
class _Stats:
    """What ran, for the ``method`` text."""

    levels: int = 0
    rounds: int = 0
    marginal: int = 0
    cycles: int = 0
    full_checks: int = 0
    full: bool = False
    screened: int | None = None  # candidates left by the screen, if it ran


def _group_rows(v: FloatArray, e: BoolArray) -> tuple[npt.NDArray[np.intp], IntArray] | None:
    """Group interchangeable accounts (same eligibility, same values where eligible).

    Returns the accounts ordered group by group (by index within a group)
    and the size of each group, or ``None`` when there are too few
    duplicates to be worth it.
    """
    m, n_pools = e.shape
    if m < 64:
        return None
    key = np.where(e, v, 0.0)
    weights = np.random.default_rng(_SEED).uniform(1.0, 2.0, (2, n_pools))
    h = np.zeros(m)
    for p in range(n_pools):  # elementwise, so equal rows hash equally
        h += key[:, p] * weights[0, p] + e[:, p] * weights[1, p]
    # Counting distinct hashes needs no permutation: try that first.
    hs = np.sort(h)
    if np.count_nonzero(hs[1:] != hs[:-1]) + 1 > 0.8 * m:
        return None
    order = np.argsort(h, kind="stable")
    hs = h[order]
    new = np.empty(m, dtype=bool)
    new[0] = True
    np.not_equal(hs[1:], hs[:-1], out=new[1:])
    starts = np.flatnonzero(new)
    head = order[np.repeat(starts, np.diff(np.append(starts, m)))]
    same = (key[order] == key[head]).all(axis=1) & (e[order] == e[head]).all(axis=1)
    if not same.all():  # different rows share a hash: sort on the rows themselves
        columns = [e[:, p] for p in range(n_pools)] + [key[:, p] for p in range(n_pools)]
        order = np.lexsort(columns[::-1])
        rows_sorted = np.concatenate([key[order], e[order]], axis=1)
        new[1:] = (rows_sorted[1:] != rows_sorted[:-1]).any(axis=1)
        # lexsort is stable, so equal rows stay in index order
        starts = np.flatnonzero(new)
    return order, np.diff(np.append(starts, m)).astype(np.int64)


def _flow_start(
    v: FloatArray,
    e: BoolArray,
    cap_rest: FloatArray,
    min_rest: IntArray,
) -> IntArray | None:
    """Optimal assignment for integer-rounded costs (OR-Tools min-cost flow).

    Interchangeable accounts are merged into one supply node first; the flow
    of a merged node is handed out to its accounts in index order.
    """
    from ortools.graph.python import min_cost_flow

    m, n_pools = e.shape
    grouped = _group_rows(v, e)
    if grouped is None:
        order = np.arange(m)
        size = np.ones(m, dtype=np.int64)
        vg, eg = v, e
    else:
        order, size = grouped
        heads_of_groups = order[np.cumsum(size) - size]
        vg, eg = v[heads_of_groups], e[heads_of_groups]
    k = size.shape[0]
    ii, pp = np.nonzero(eg)
    vals = vg[ii, pp]
    row_best = np.where(eg, vg, -np.inf).max(axis=1)
    regret = row_best[ii] - vals  # >= 0; a constant per account does not change the optimum
    top = float(regret.max()) if regret.size else 0.0
    nodes = k + n_pools + 1
    # OR-Tools scales costs by (nodes + 1) internally and sums flow costs in int64.
    limit = min(2.0**62 / (4.0 * (nodes + 1)), 2.0**62 / (m + 1), 2.0**50)
    sink = k + n_pools
    spare = np.where(np.isinf(cap_rest), m, np.minimum(cap_rest, m)) - min_rest
    tails = np.concatenate([ii, k + np.arange(n_pools)]).astype(np.int32)
    heads = np.concatenate([k + pp, np.full(n_pools, sink)]).astype(np.int32)
    caps = np.concatenate([size[ii], spare]).astype(np.int64)
    supplies = np.concatenate([size, -min_rest, [-(m - int(min_rest.sum()))]]).astype(np.int64)
    unit = regret / top if top > 0 else regret  # in [0, 1], also for subnormal values
    for _attempt in range(6):
        costs = np.concatenate([np.rint(unit * limit), np.zeros(n_pools)]).astype(np.int64)
        flow = min_cost_flow.SimpleMinCostFlow()
        flow.add_arcs_with_capacity_and_unit_cost(tails, heads, caps, costs)
        flow.set_nodes_supplies(np.arange(nodes, dtype=np.int32), supplies)
        status = flow.solve()
        if status == flow.OPTIMAL:
            sent = flow.flows(np.arange(ii.shape[0])).astype(np.int64)
            # Arcs run group by group, so repeating each arc's pool by its flow
            # lists the pools of the accounts in ``order``.
            choice = np.empty(m, dtype=np.int64)
            choice[order] = np.repeat(pp, sent)
            return choice
        if status == flow.INFEASIBLE:
            return None
        if status != flow.BAD_COST_RANGE:
            raise SolverError(f"OR-Tools min-cost flow stopped with status {status}")
        limit /= 1024.0
    raise SolverError("OR-Tools min-cost flow: costs out of range even after rescaling")


def _pred_cycle(pred: npt.NDArray[np.intp]) -> list[int] | None:
    """A cycle of the predecessor graph (nodes in forward order), if any."""
    size = pred.shape[0]
    state = [0] * size  # 0 new, 1 on current walk, 2 done
    parent = pred.tolist()
    for start in range(size):
        walk: list[int] = []
        node = start
        while node >= 0 and state[node] == 0:
            state[node] = 1
            walk.append(node)
            node = parent[node]
        if node >= 0 and state[node] == 1:
            cycle = walk[walk.index(node) :]
            cycle.reverse()  # walk follows predecessors; reverse to follow arcs
            return cycle
        for w in walk:
            state[w] = 2
    return None


def _negative_cycle(weights: FloatArray) -> tuple[list[int] | None, FloatArray]:
    """Bellman-Ford from a virtual root: a negative cycle beyond rounding, and potentials.

    Rounding never creates or hides a cycle: every arc weight is first raised
    by ``_ROUNDING`` of its own magnitude (more than the rounding of the
    difference of two values that it is), and a distance only improves by
    more than the rounding of the sums that compare it. So a cycle returned
    costs less than ``-_ROUNDING * sum(|weight|)`` over its arcs, exactly;
    and when none is returned the distances satisfy every arc up to
    rounding, relative to the values involved (not to the largest value in
    the problem).
    """
    eps = float(np.finfo(np.float64).eps)
    raised = weights + _ROUNDING * eps * np.abs(np.where(np.isfinite(weights), weights, 0.0))
    size = raised.shape[0]
    dist = np.zeros(size)
    pred = np.full(size, -1, dtype=np.intp)
    cols = np.arange(size)
    for _ in range(4 * size + 4):
        cand = dist[:, None] + raised
        via = cand.argmin(axis=0)
        new = cand[via, cols]
        better = new < dist - _ROUNDING * eps * (np.abs(dist) + np.abs(new))
        if not better.any():
            return None, dist
        dist = np.where(better, new, dist)
        pred = np.where(better, via, pred)
        cycle = _pred_cycle(pred)
        if cycle is not None:
            return cycle, dist
    return None, dist  # pragma: no cover - only cycles within rounding keep relaxing


class _Exchange:
    """The exchange graph of an assignment, kept up to date as accounts move.

    ``weight[p, q]`` is the cheapest move of one account from pool ``p`` to
    pool ``q``: the least ``value[i, p] - value[i, q]`` over the accounts
    ``i`` in ``p`` eligible for ``q``. A slack node (index ``P``) joins the
    pools: ``slack -> p`` while ``p`` is above its minimum (it may give an
    account away), ``p -> slack`` while ``p`` is below its capacity (it may
    take one). The assignment is optimal iff this graph has no negative
    cycle; shortest-path potentials then give the dual prices.
    """

    def __init__(
        self,
        v: FloatArray,
        e: BoolArray,
        choice: IntArray,
        counts: IntArray,
        cap: FloatArray,
        mn: IntArray,
    ) -> None:
        self.v, self.e, self.choice = v, e, choice
        self.counts, self.cap, self.mn = counts, cap, mn
        n, n_pools = e.shape
        self.n_pools = n_pools
        self.weight = np.full((n_pools, n_pools), np.inf)
        rows = np.arange(n)
        cost = v[rows, choice][:, None] - v
        np.putmask(cost, ~e, np.inf)
        order = np.argsort(choice.astype(np.int8), kind="stable")
        size = np.bincount(choice, minlength=n_pools)
        used = np.flatnonzero(size)
        if used.size:
            starts = (np.cumsum(size) - size)[used]
            self.weight[used] = np.minimum.reduceat(cost[order], starts, axis=0)
        np.fill_diagonal(self.weight, np.inf)

    def _row(self, p: int) -> None:
        members = np.flatnonzero(self.choice == p)
        if members.size == 0:
            self.weight[p] = np.inf
            return
        sub = self.v[members]
        cost = sub[:, p : p + 1] - sub
        np.putmask(cost, ~self.e[members], np.inf)
        self.weight[p] = cost.min(axis=0)
        self.weight[p, p] = np.inf

    def _cheapest(self, p: int, q: int) -> int:
        """The account (lowest index among ties) that moves most cheaply from ``p`` to ``q``."""
        members = np.flatnonzero((self.choice == p) & self.e[:, q])
        cost = self.v[members, p] - self.v[members, q]
        return int(members[int(cost.argmin())])

    def graph(self, bound: FloatArray | None = None) -> FloatArray:
        """Arc weights over pools plus the slack node (index ``P``).

        ``bound`` (pools × pools) adds arcs standing for accounts not held
        here: a lower bound on their cheapest moves.
        """
        n_pools = self.n_pools
        g = np.full((n_pools + 1, n_pools + 1), np.inf)
        g[:n_pools, :n_pools] = self.weight if bound is None else np.minimum(self.weight, bound)
        g[n_pools, :n_pools] = np.where(self.counts > self.mn, 0.0, np.inf)
        g[:n_pools, n_pools] = np.where(self.counts < self.cap, 0.0, np.inf)
        return g

    def cancel(self, cycle: list[int]) -> None:
        """Move one account along every pool-to-pool arc of the cycle."""
        n_pools = self.n_pools
        arcs = [
            (a, b)
            for a, b in zip(cycle, cycle[1:] + cycle[:1], strict=True)
            if a < n_pools and b < n_pools
        ]
        moves = [(self._cheapest(a, b), a, b) for a, b in arcs]  # before anyone moves
        for i, a, b in moves:
            self.choice[i] = b
            self.counts[a] -= 1
            self.counts[b] += 1
        for p in sorted({a for a, _ in arcs} | {b for _, b in arcs}):
            self._row(p)

    def repair(self, stats: _Stats, limit: int) -> FloatArray | None:
        """Cancel negative cycles; the certifying prices, or ``None`` past ``limit`` cycles."""
        for _ in range(limit + 1):
            cycle, dist = _negative_cycle(self.graph())
            if cycle is None:
                return _prices(dist)
            self.cancel(cycle)
            stats.cycles += 1
        return None


def _prices(dist: FloatArray) -> FloatArray:
    """Dual prices from shortest-path potentials (slack node last, priced at zero)."""
    prices: FloatArray = dist[-1] - dist[:-1]
    return prices


def _solve_exact(
    v: FloatArray,
    e: BoolArray,
    cap: FloatArray,
    mn: IntArray,
    fixed: IntArray,
    stats: _Stats,
) -> tuple[_Exchange, FloatArray] | None:
    """Exact optimum with some accounts already placed (``fixed`` counts per pool).

    Returns the exchange graph of the optimal choice of the given accounts
    (``.choice``) and dual prices valid for them with the totals (``fixed``
    + chosen), or ``None`` if the accounts cannot be placed.
    """
    m, n_pools = e.shape
    cap_rest = cap - fixed
    if (cap_rest < 0).any():
        return None
    min_rest = np.maximum(mn - fixed, 0)
    if min_rest.sum() > m:
        return None
    choice = _flow_start(v, e, cap_rest, min_rest)
    if choice is None:
        return None
    counts = fixed + np.bincount(choice, minlength=n_pools).astype(np.int64)
    exchange = _Exchange(v, e, choice, counts, cap, mn)
    # Each cancellation gains more than rounding, so this ends; the limit only
    # guards against a broken invariant.
    prices = exchange.repair(stats, 10 * m + 1000)
    if prices is None:  # pragma: no cover
        raise SolverError("exact repair did not converge")
    return exchange, prices


# ----------------------------------------------------------------------------
# Decomposition: prices from a sample, exact solve of the marginal accounts
# ----------------------------------------------------------------------------


def _sample_prices(
    v: FloatArray,
    e: BoolArray,
    cap: FloatArray,
    mn: IntArray,
    keys: npt.NDArray[np.uint64],
    stats: _Stats,
) -> tuple[FloatArray, int]:
    """Estimate the dual prices by solving a random sample of the accounts.

    Returns the estimate and the sample size (0 when no sample could be
    solved; the estimate is then zero).
    """
    n, n_pools = e.shape
    m = max(_SAMPLE_MIN, n // _SAMPLE_RATIO)
    rng = np.random.default_rng(_SEED)
    rows = np.sort(rng.choice(n, size=m, replace=False))
    share = m / n
    vs, es, ks = v[rows], e[rows], keys[rows]
    attempts = (
        (np.ceil(cap * share), np.floor(mn * share).astype(np.int64)),
        (np.ceil(cap * share * 1.25) + 1.0, np.zeros(n_pools, dtype=np.int64)),
    )
    for cap_s, min_s in attempts:
        # With many pools the exact check costs a max-flow over eligibility
        # patterns; an infeasible sample then shows up in its solve instead.
        if n_pools <= _EXHAUSTIVE_POOLS and not _feasible(es, cap_s, min_s, ks):
            continue
        found = _solve_level(vs, es, cap_s, min_s, stats, top=False, keys=ks)
        if found is not None:
            return found[1], m
    return np.zeros(n_pools), 0


def _kth_smallest(values: FloatArray, k: int) -> float:
    """The ``k``-th smallest value (0-based, clipped to the last), ``inf`` if empty."""
    if values.size == 0:
        return math.inf
    k = min(k, values.size - 1)
    return float(np.partition(values, k)[k])


def _price_bands(
    r: FloatArray,
    best: npt.NDArray[np.intp],
    gain: FloatArray,
    runner: npt.NDArray[np.intp],
    leave: FloatArray,
    estimate: FloatArray,
    cap: FloatArray,
    mn: IntArray,
    noise: float,
) -> FloatArray:
    """How far each estimated price may be off (``_Z_BAND`` standard deviations).

    A sample of ``m`` out of ``n`` accounts misjudges the pool counts by a
    multinomial error with covariance ``(n/m - 1) * (diag(c) - c c'/n)``
    (``noise = n/m - 1``). Two readings of it, the wider taken:

    * per pool, the price move that sweeps that many accounts (``_Z_BAND``
      standard deviations) across the pool's boundary, in either direction;
    * jointly (delta method), through the Jacobian of the counts: a weighted
      Laplacian whose weight between two pools is the density of accounts
      on their boundary, per unit of price difference. This one sees pools
      that move together; it is capped at ``_JOINT_CAP`` times the first
      where boundaries are too sparse to estimate a density.

    Pools with a zero price and a count far from their bounds get no band.
    ``r`` holds ``value - price`` with each account's best entry at ``-inf``;
    ``best``/``gain`` and ``runner`` are the best and second-best pools, and
    ``leave = gain - r[runner]`` is the rise of its pool's price that makes
    an account leave.
    """
    n_pools = r.shape[1]
    size = np.bincount(best, minlength=n_pools)
    deviation = _Z_BAND * np.sqrt(np.maximum(size, 1) * noise)
    room = np.minimum(cap - size, size - mn)
    held = (estimate != 0.0) | (room <= deviation)
    sweep = np.zeros(n_pools)
    order = np.argsort(best.astype(np.int8), kind="stable")
    ends = np.cumsum(size)
    for p in np.flatnonzero(held).tolist():
        k = int(deviation[p])
        out = _kth_smallest(leave[order[ends[p] - size[p] : ends[p]]], k)
        enter = gain - r[:, p]  # drop of p's price that draws the account in
        into = _kth_smallest(enter[np.isfinite(enter)], k)
        sides = [x for x in (out, into) if math.isfinite(x)]
        sweep[p] = max(sides) if sides else 0.0
    joint = _joint_bands(leave, best, runner, size, held, noise, n_pools)
    band = np.where(held, np.maximum(sweep, np.minimum(joint, _JOINT_CAP * sweep)), 0.0)
    # Keep 3 significant digits: a last-bit difference in the linear algebra
    # must not change which accounts are marginal (determinism).
    return _round_significant(band, 3)


def _joint_bands(
    leave: FloatArray,
    best: npt.NDArray[np.intp],
    runner: npt.NDArray[np.intp],
    size: IntArray,
    held: BoolArray,
    noise: float,
    n_pools: int,
) -> FloatArray:
    """Delta-method price deviations (``_Z_BAND`` standard deviations) of the held pools."""
    n = best.shape[0]
    torn = np.isfinite(leave)
    lo = np.minimum(best, runner)[torn]
    hi = np.maximum(best, runner)[torn]
    pair = (lo * n_pools + hi).astype(np.int16)
    margin = leave[torn]
    order = np.argsort(pair, kind="stable")
    counts = np.bincount(pair, minlength=n_pools * n_pools)
    ends = np.cumsum(counts)
    spread = float(np.abs(margin).max(initial=0.0))
    lap = np.zeros((n_pools, n_pools))
    for key in np.flatnonzero(counts >= _DENSITY_MIN).tolist():
        p, q = divmod(key, n_pools)
        k = min(_DENSITY_ACCOUNTS, int(counts[key]))
        h = _kth_smallest(margin[order[ends[key] - counts[key] : ends[key]]], k - 1)
        lap[p, q] = lap[q, p] = -k / (2.0 * max(h, 1e-12 * spread, 1e-300))
    np.fill_diagonal(lap, -lap.sum(axis=1))
    band = np.full(n_pools, np.inf)
    idx = np.flatnonzero(held)
    if idx.size == 0:
        return band
    f = size / max(n, 1)
    cov = noise * (np.diag(size.astype(np.float64)) - n * np.outer(f, f))
    sub = lap[np.ix_(idx, idx)]
    scale = float(np.abs(np.diag(sub)).max(initial=0.0)) or 1.0
    inv = np.linalg.pinv(sub + 1e-9 * scale * np.eye(idx.size))
    var = np.einsum("ij,jk,ik->i", inv, cov[np.ix_(idx, idx)], inv)
    band[idx] = _Z_BAND * np.sqrt(np.maximum(var, 0.0))
    return band


def _round_significant(x: FloatArray, digits: int) -> FloatArray:
    """Round to ``digits`` significant digits (zeros and non-finite values kept)."""
    out = x.copy()
    ok = np.isfinite(x) & (x != 0.0)
    exponent = np.floor(np.log10(np.abs(x[ok])))
    factor = 10.0 ** (digits - 1 - exponent)
    out[ok] = np.round(x[ok] * factor) / factor
    return out


def _solve_level(
    v: FloatArray,
    e: BoolArray,
    cap: FloatArray,
    mn: IntArray,
    stats: _Stats,
    *,
    top: bool,
    keys: npt.NDArray[np.uint64] | None = None,
) -> tuple[IntArray, FloatArray] | None:
    """Exact optimum of a problem: choice and certifying prices (``None`` if infeasible).

    ``keys`` are the eligibility patterns (:func:`_pattern_keys`), if known.
    """
    n, n_pools = e.shape
    no_fixed = np.zeros(n_pools, dtype=np.int64)
    if n_pools == 1:  # feasible: everyone in the one pool, whose price may be zero
        return np.zeros(n, dtype=np.int64), np.zeros(1)
    if n <= _BASE_ACCOUNTS:
        return _plain(_solve_exact(v, e, cap, mn, no_fixed, stats))
    stats.levels += 1
    if keys is None:
        keys = _pattern_keys(e)
    estimate, m = _sample_prices(v, e, cap, mn, keys, stats)
    rows = np.arange(n)
    r = v - estimate
    np.putmask(r, ~e, -np.inf)
    best = r.argmax(axis=1)
    gain = r[rows, best]
    r[rows, best] = -np.inf
    runner = r.argmax(axis=1)
    leave = gain - r[rows, runner]  # inf for accounts with one eligible pool
    del rows
    noise = n / m - 1.0 if m else float(n)
    band = _price_bands(r, best, gain, runner, leave, estimate, cap, mn, noise)
    fixed_choice = best.astype(np.int64)
    # With few pools feasibility was checked over every set of pools; with
    # many it costs a max-flow, paid only if a round finds no assignment.
    checked = n_pools <= _EXHAUSTIVE_POOLS
    for _round in range(_MAX_ROUNDS):
        # Marginal accounts could prefer another pool once prices move within
        # their bands: the best other pool, every price moved against the
        # account, comes within reach. The others are decided. The runner-up
        # settles most accounts; the rest need every pool.
        marginal = leave <= band[best] + band[runner]
        unsure = np.flatnonzero(~marginal & (leave <= band[best] + band.max()))
        marginal[unsure] = (r[unsure] + band).max(axis=1) >= gain[unsure] - band[best[unsure]]
        active = np.flatnonzero(marginal)
        if active.size > n // 2:
            break
        fixed = np.bincount(fixed_choice[~marginal], minlength=n_pools).astype(np.int64)
        found = _solve_exact(v[active], e[active], cap, mn, fixed, stats)
        if top:
            stats.rounds += 1
            stats.marginal = int(active.size)
        if found is None:  # the decided accounts overfill a pool, or no assignment exists
            if not checked:
                if not _flow_feasible(e, cap, mn):
                    return None
                checked = True
            band *= 2.0
            continue
        exchange = found[0]
        choice = fixed_choice.copy()
        choice[active] = exchange.choice
        # A decided account i in pool p has value - estimate in p ahead of
        # any other pool q by more than band[p] + band[q], so moving it costs
        # more than estimate[p] - estimate[q] + band[p] + band[q]: arcs with
        # that weight stand in for every decided account. No negative cycle
        # with them means the potentials certify all accounts at once.
        bound = estimate[:, None] - estimate[None, :] + band[:, None] + band[None, :]
        bound[~_reachable(keys, fixed_choice, ~marginal, n_pools)] = np.inf
        cycle, dist = _negative_cycle(exchange.graph(bound))
        if cycle is None:
            return choice, _prices(dist)
        # The stand-in arcs are too loose or some decided accounts must move:
        # certify on the full exchange graph, moving a few accounts if need be.
        del exchange
        stats.full_checks += 1
        counts = np.bincount(choice, minlength=n_pools).astype(np.int64)
        prices = _Exchange(v, e, choice, counts, cap, mn).repair(stats, _MAX_MOVES)
        if prices is not None:
            return choice, prices
        band *= 2.0
    del r, best, runner, leave, gain
    if top:
        stats.full = True
    return _plain(_solve_exact(v, e, cap, mn, no_fixed, stats))


@dataclass(frozen=True)
class _Screen:
    """Result of :func:`_screen`."""

    exact: BoolArray  # accounts that may sit in a capped pool in some optimum
    first: BoolArray  # a smaller first guess at the accounts that do
    free: BoolArray  # pools without capacity or minimum
    gain: FloatArray  # value in each pool less the best free pool's (-inf: not eligible)


def _screen(v: FloatArray, e: BoolArray, cap: FloatArray, mn: IntArray) -> _Screen | None:
    """Accounts that may sit in a capped pool; ``None`` if the screen does not apply.

    Pools without a capacity or a minimum (tech touch) take every account
    the capped pools do not. Let ``C`` be the capped pools' total capacity
    and ``d[i, p]`` how much more account ``i`` is worth in capped pool
    ``p`` than in its best uncapped pool. If ``C`` accounts eligible for
    ``p`` and for some uncapped pool have a larger ``d`` than account ``i``,
    ``i`` is in no optimal assignment to ``p``: with ``i`` in ``p``, one of
    those accounts sits in an uncapped pool, and swapping the two gains,
    with every pool keeping its count. So only each capped pool's top ``C``
    accounts (and the accounts without an uncapped pool) are candidates
    (``exact``); every other account is in its best uncapped pool in every
    optimum. In practice a pool's accounts come from far fewer than its top
    ``C``: ``first`` keeps the top ``_SCREEN_FIRST`` times its capacity.
    """
    n = e.shape[0]
    free = np.isinf(cap) & (mn == 0)
    if not free.any() or free.all():
        return None
    slots = float(cap[~free].sum())
    if slots >= _SCREEN_SHARE * n:
        return None
    k = int(slots)
    gain = np.where(e, v, -np.inf)
    fallback = gain[:, free].max(axis=1)
    swappable = np.isfinite(fallback)
    gain -= np.where(swappable, fallback, 0.0)[:, None]
    exact = ~swappable
    first = exact.copy()
    for p in np.flatnonzero(~free).tolist():
        # Only accounts that can swap into an uncapped pool count; the
        # others are candidates anyway.
        rows = np.flatnonzero(e[:, p] & swappable)
        if rows.size <= k:
            exact[rows] = True
        elif k > 0:
            column = gain[rows, p]
            top = min(k, int(_SCREEN_FIRST * cap[p]) + _SCREEN_EXTRA)
            cuts = np.partition(column, [rows.size - k, rows.size - top])
            exact[rows[column >= cuts[rows.size - k]]] = True
            first[rows[column >= cuts[rows.size - top]]] = True
            continue
        first[rows] = True
    if np.count_nonzero(first) > _SCREEN_SHARE * n:
        return None
    return _Screen(exact, first, free, gain)


def _solve_screened(
    v: FloatArray,
    e: BoolArray,
    cap: FloatArray,
    mn: IntArray,
    stats: _Stats,
    keys: npt.NDArray[np.uint64],
) -> tuple[IntArray, FloatArray] | None:
    """Exact optimum via :func:`_screen`, or ``None`` to solve the whole problem.

    A working set of accounts (first ``screen.first``) is solved exactly,
    the others placed in their best uncapped pool. The certificate covers
    every account: the exchange graph of the working set, plus exact arcs
    for the cheapest moves of the others. When it fails, the accounts the
    working set's prices would draw into a capped pool join it (only
    ``screen.exact`` ones can) and the working set is solved again.
    """
    screen = _screen(v, e, cap, mn)
    if screen is None:
        return None
    capped = ~screen.free
    work = screen.first
    for _round in range(_SCREEN_ROUNDS):
        found = _solve_working_set(v, e, cap, mn, stats, keys, work, screen)
        if found is None:
            if (work == screen.exact).all():
                return None
            # Too few accounts for the minimums: go to the exact set at once.
            work = screen.exact
            continue
        choice, dist, prices = found
        if dist is not None:
            stats.screened = int(np.count_nonzero(work))
            return choice, _prices(dist)
        # Accounts left out that gain from a capped pool at the working set's prices.
        out = np.flatnonzero(screen.exact & ~work)
        if out.size == 0:
            return None  # pragma: no cover - rounding only: the exact set is certified
        drawn = out[(screen.gain[out][:, capped] - prices[capped]).max(axis=1) > 0.0]
        work = work.copy()
        if drawn.size == 0 or _round == _SCREEN_ROUNDS - 2:
            work |= screen.exact
        else:
            work[drawn] = True
        if np.count_nonzero(work) > _SCREEN_SHARE * work.shape[0]:
            return None  # as many accounts as the whole problem: solve that
    return None  # pragma: no cover - the exact set is certified in its round


def _solve_working_set(
    v: FloatArray,
    e: BoolArray,
    cap: FloatArray,
    mn: IntArray,
    stats: _Stats,
    keys: npt.NDArray[np.uint64],
    work: BoolArray,
    screen: _Screen,
) -> tuple[IntArray, FloatArray | None, FloatArray] | None:
    """Solve the working set with the other accounts in their best free pool.

    Returns the choice of every account, the certifying potentials over all
    accounts (``None`` when some account left out would gain by moving) and
    the working set's own prices; ``None`` when the working set has no
    assignment.
    """
    n, n_pools = e.shape
    rest = np.flatnonzero(~work)
    # Each other account goes to its best uncapped pool (lowest index among ties).
    free = np.flatnonzero(screen.free)
    if free.size == 1:
        rest_choice = np.full(rest.size, free[0], dtype=np.int64)
    else:
        best = np.where(e[rest][:, free], v[rest][:, free], -np.inf).argmax(axis=1)
        rest_choice = free[best].astype(np.int64)
    fixed = np.bincount(rest_choice, minlength=n_pools).astype(np.int64)
    cand = np.flatnonzero(work)
    vc, ec = v[cand], e[cand]
    if cand.size <= _WORKING_BASE:
        found = _solve_exact(vc, ec, cap, mn, fixed, stats)
        if found is None:
            return None
        exchange, prices = found
    else:
        # The others sit in pools without capacity or minimum: nothing to shift.
        level = _solve_level(vc, ec, cap, mn, stats, top=True, keys=keys[cand])
        if level is None:
            return None
        counts = fixed + np.bincount(level[0], minlength=n_pools).astype(np.int64)
        exchange, prices = _Exchange(vc, ec, level[0], counts, cap, mn), level[1]
    # Arcs of the other accounts: exact cheapest moves out of their pools. An
    # account in free pool u moves to q at v[i, u] - v[i, q] = -gain[i, q].
    others = np.full((n_pools, n_pools), np.inf)
    for u in np.flatnonzero(fixed).tolist():
        among = ~work
        if fixed[u] < rest.size:
            among = np.zeros(n, dtype=bool)
            among[rest[rest_choice == u]] = True
        others[u] = -np.max(screen.gain, axis=0, where=among[:, None], initial=-np.inf)
        others[u, u] = np.inf
    cycle, dist = _negative_cycle(exchange.graph(others))
    choice = np.empty(n, dtype=np.int64)
    choice[cand] = exchange.choice
    choice[rest] = rest_choice
    return choice, (None if cycle is not None else dist), prices


def _reachable(
    keys: npt.NDArray[np.uint64], choice: IntArray, among: BoolArray, n_pools: int
) -> BoolArray:
    """``out[p, q]``: some account of ``among`` in pool ``p`` is eligible for ``q`` (not ``p``)."""
    sel = np.flatnonzero(among)
    pools = choice[sel]
    order = np.argsort(pools.astype(np.int8), kind="stable")
    size = np.bincount(pools, minlength=n_pools)
    used = np.flatnonzero(size)
    union = np.zeros(n_pools, dtype=np.uint64)
    if used.size:
        starts = (np.cumsum(size) - size)[used]
        union[used] = np.bitwise_or.reduceat(keys[sel[order]], starts)
    bits = np.uint64(1) << np.arange(n_pools, dtype=np.uint64)
    out: BoolArray = (union[:, None] & bits[None, :]) != 0
    np.fill_diagonal(out, False)
    return out


def _plain(found: tuple[_Exchange, FloatArray] | None) -> tuple[IntArray, FloatArray] | None:
    return None if found is None else (found[0].choice, found[1])


def solve_transport(
    value: npt.ArrayLike,
    eligible: npt.ArrayLike,
    capacity: npt.ArrayLike,
    minimum: npt.ArrayLike | None = None,
) -> TransportSolution:
    """Assign every account to one eligible pool, maximizing total value, exactly.

    Parameters
    ----------
    value
        Value of each account in each pool, shape ``(n, P)``; finite where
        eligible (entries where ineligible are ignored).
    eligible
        Which (account, pool) pairs are allowed, boolean ``(n, P)``.
    capacity
        Most accounts per pool, shape ``(P,)``: a whole number, or ``inf``
        for an unlimited pool.
    minimum
        Fewest accounts per pool, shape ``(P,)``, whole numbers >= 0
        (default 0).

    Returns
    -------
    TransportSolution
        ``"optimal"`` with the choice, objective and certifying dual prices,
        or ``"infeasible"`` (see :func:`transport_infeasibility` for why).

    Raises
    ------
    ConfigError
        For malformed inputs: wrong shapes, non-finite values where
        eligible, negative or fractional capacities or minimums.

    Notes
    -----
    The solve is deterministic (same input, same choice). It is exact: the
    returned prices certify that no exchange of accounts between pools
    gains more than floating-point rounding. See the module docstring for
    the algorithm.
    """
    start = time.perf_counter()
    v, e, cap, mn = _validate(value, eligible, capacity, minimum)
    n, n_pools = e.shape
    # Values beyond ~1e200 would overflow in differences: scale them by a
    # power of two (exact), which changes neither the choice nor the certificate.
    magnitude = float(np.abs(v).max(initial=0.0))
    shift = max(0, math.frexp(magnitude)[1] - 664) if magnitude > 0 else 0
    scaled = np.ldexp(v, -shift) if shift else v
    stats = _Stats()
    found: tuple[IntArray, FloatArray] | None = None
    # With many pools the full check is left to the solve (see _solve_level).
    keys = _pattern_keys(e)
    infeasible = _quick_infeasible(e, cap, mn, keys)
    if not infeasible and n > _SCREEN_ACCOUNTS:
        # A screened solve that finds an assignment proves feasibility itself.
        found = _solve_screened(scaled, e, cap, mn, stats, keys)
    if found is None and not infeasible:
        infeasible = n_pools <= _EXHAUSTIVE_POOLS and not _feasible(e, cap, mn, keys)
    how = "feasibility check (Hall's condition over sets of pools)"
    if not infeasible and n > 0 and found is None:
        found = _solve_level(scaled, e, cap, mn, stats, top=True, keys=keys)
        infeasible = found is None
        how = "min-cost flow / max-flow: no assignment meets the capacities and minimums"
    if infeasible or found is None:
        if not infeasible:  # no accounts, no minimums: the empty assignment
            return TransportSolution(
                "optimal",
                np.zeros(0, dtype=np.int64),
                0.0,
                np.zeros(n_pools),
                time.perf_counter() - start,
                "no accounts",
            )
        return TransportSolution(
            "infeasible",
            np.full(n, -1, dtype=np.int64),
            math.nan,
            np.zeros(n_pools),
            time.perf_counter() - start,
            how,
        )
    choice, prices = found
    prices = np.ldexp(prices, shift) if shift else prices
    objective = float(v[np.arange(n), choice].sum())
    return TransportSolution(
        "optimal", choice, objective, prices, time.perf_counter() - start, _describe(stats, n)
    )


def _describe(stats: _Stats, n: int) -> str:
    core = "min-cost flow (OR-Tools) + exact cycle repair"
    screen = (
        f"; {n - stats.screened:,} of {n:,} accounts screened to their uncapped pool"
        if stats.screened is not None
        else ""
    )
    if stats.full or stats.rounds == 0:
        return core + screen
    return (
        f"{core} on {stats.marginal:,} marginal accounts, prices from "
        f"{stats.levels} nested sample(s), {stats.rounds} round(s){screen}"
    )
