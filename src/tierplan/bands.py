"""Explainable plans: tiers that follow cut points on ARR and whitespace exactly.

``tp.plan(..., policy="bands")`` looks for the best plan whose tiers follow
nested rules of the form "ARR ≥ a, or ARR ≥ b with whitespace ≥ w", one per
boundary between a tier and the next (read top-down: the first rule an
account meets gives its tier). Pinned accounts keep their pins and are the
only exceptions. The *price of explainability* is the expected impact the
rule gives up against the free optimum, under the same team.

Search
------
Once the rule is fixed, every account's tier is fixed, and the plan is
feasible exactly when, tier by tier, the accounts fit the tier's pools:
for every set ``S`` of the tier's pools, the accounts that may only go to
``S`` fit in its book places, and the accounts that may go to ``S`` are
enough to fill its minimum books (Hall's condition with lower bounds, which
is also sufficient). Those are count conditions on accounts grouped by
their eligibility pattern, so each candidate rule is checked with a few
array operations, and the objective of a rule is a sum of per-boundary
terms. A dynamic program over boundaries (a candidate rule per boundary,
pairs checked for nesting and for the capacity of the tier between them)
finds the best rule among the candidates:

* whitespace clause: ARR and whitespace cuts at geometrically spaced ranks
  (fine among the largest accounts, where tiers are decided), plus the
  cuts of the rule fitted to the free optimum;
* ARR-only cut: the positions where the upper tiers reach the sizes, per
  tier and per eligibility group, of the free optimum (and a little less,
  for ties and nesting), plus a coarse grid.

A second round searches a finer grid of clause cuts around the ones the
first round chose (keeping them, so it can only do better). The result is
the best rule among the candidates searched; a finer grid could only lower
the price. Within each tier, accounts then go to pools by the exact
pool solver with eligibility restricted to the rule's tier.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tierplan.pools import PoolSet
from tierplan.rules import BoundaryRule, fit_boundary, publish

__all__ = ["POLICIES", "BandSearch", "Bands", "PriceOfExplainability", "search_bands"]

#: Values of ``tp.plan(policy=...)``.
POLICIES = ("free", "bands")

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Geometric rank grid sizes for the whitespace clause's ARR and whitespace cuts.
GRID_ARR = 9
GRID_WHITESPACE = 9
#: Coarse grid of ARR-only cuts per clause shape.
GRID_COARSE = 10
#: How far below the free optimum's tier sizes ARR-only cuts are also tried.
WINDOW = (0, 1, 2, 3, 5, 8, 13, 21, 34)
#: ARR-only cuts aim at the free optimum's sizes for at most this many
#: eligibility groups (the largest), which bounds the candidates per shape.
MAX_GROUP_TARGETS = 6
#: ARR and whitespace cuts tried around each chosen clause in the refinement round.
REFINE = 8
#: Exhaustive subset checks for tiers with at most this many pools.
EXHAUSTIVE_POOLS = 10
#: Pairs of candidate rules evaluated at once in the dynamic program.
_PAIR_CELLS = 4_000_000


@dataclass(frozen=True)
class PriceOfExplainability:
    """What forcing tiers onto cut points costs.

    Attributes
    ----------
    free_objective
        Expected impact of the free optimum (same team, same rules).
    bands_objective
        Expected impact of the best band rule found.
    """

    free_objective: float
    bands_objective: float

    @property
    def absolute(self) -> float:
        """Expected impact lost, in currency per year (>= 0)."""
        return max(0.0, self.free_objective - self.bands_objective)

    @property
    def relative(self) -> float:
        """Expected impact lost as a share of the free optimum."""
        if self.free_objective <= 0:
            return 0.0
        return self.absolute / self.free_objective

    def __str__(self) -> str:
        from tierplan.result import _money

        return (
            f"price of explainability: {_money(self.absolute)} of expected impact per year "
            f"({self.relative:.2%} of the free optimum's {_money(self.free_objective)})"
        )


@dataclass(frozen=True)
class Bands:
    """The rule a ``policy="bands"`` plan follows, and its price.

    Attributes
    ----------
    rules
        Published rule per boundary (tier 1 vs the rest, tiers 1–2 vs the
        rest, ...), thresholds rounded without changing any account's tier.
    price
        The price of explainability.
    candidates
        Candidate rules searched per boundary.
    seconds
        Time the search took.
    """

    rules: tuple[BoundaryRule, ...]
    price: PriceOfExplainability
    candidates: tuple[int, ...] = ()
    seconds: float = 0.0


@dataclass(frozen=True)
class BandSearch:
    """Outcome of :func:`search_bands`.

    Attributes
    ----------
    tier
        Tier index per account under the rule (pins kept); empty when no
        rule fits.
    rules
        Published rules, one per boundary.
    diagnosis
        Why no rule fits, in words (empty when one does).
    candidates
        Candidate rules per boundary.
    seconds
        Search time.
    approximate
        Whether a tier had too many pools for every set of them to be
        checked (the plan's own solve then has the last word).
    """

    tier: IntArray
    rules: tuple[BoundaryRule, ...]
    diagnosis: tuple[str, ...] = ()
    candidates: tuple[int, ...] = ()
    seconds: float = 0.0
    approximate: bool = field(default=False)

    @property
    def feasible(self) -> bool:
        """Whether a rule fits."""
        return not self.diagnosis


@dataclass(frozen=True)
class _Rows:
    """Count conditions of one tier: ``ub_matrix @ n <= ub``, ``lb_matrix @ n >= lb``."""

    ub_matrix: FloatArray
    ub: FloatArray
    ub_text: list[str]
    lb_matrix: FloatArray
    lb: FloatArray
    lb_text: list[str]
    exact: bool


def _tier_rows(t: int, tier_name: str, patterns: BoolArray, pools: PoolSet) -> _Rows:
    members = np.flatnonzero(pools.tier == t)
    sub = patterns[:, members]  # classes × pools of the tier
    n_pools = members.size
    exact = n_pools <= EXHAUSTIVE_POOLS
    if exact:
        subsets = [
            np.array([(s >> j) & 1 for j in range(n_pools)], dtype=bool)
            for s in range(1 << n_pools)
        ]
    else:
        eye = np.eye(n_pools, dtype=bool)
        subsets = [np.zeros(n_pools, dtype=bool), np.ones(n_pools, dtype=bool), *eye, *~eye]
    ub_rows, ub, ub_text, lb_rows, lb, lb_text = [], [], [], [], [], []
    for s in subsets:
        chosen = members[s]
        names = ", ".join(pools.names[p] for p in chosen)
        cap = float(pools.capacity[chosen].sum())
        if math.isfinite(cap):
            ub_rows.append((~(sub & ~s[None, :]).any(axis=1)).astype(np.float64))
            ub.append(cap)
            ub_text.append(
                f"accounts that no {tier_name} CSM may take cannot be {tier_name}"
                if not s.any()
                else f"{names} {'has' if chosen.size == 1 else 'have'} {cap:,.0f} book places "
                "for the accounts only they may take"
            )
        low = float(pools.minimum[chosen].sum())
        if low > 0:
            lb_rows.append((sub & s[None, :]).any(axis=1).astype(np.float64))
            lb.append(low)
            lb_text.append(f"{names} must hold at least {low:,.0f} accounts (minimum books)")
    n_classes = patterns.shape[0]

    def stack(rows: list[FloatArray]) -> FloatArray:
        return np.array(rows, dtype=np.float64).reshape(len(rows), n_classes)

    return _Rows(
        stack(ub_rows),
        np.array(ub, dtype=np.float64),
        ub_text,
        stack(lb_rows),
        np.array(lb, dtype=np.float64),
        lb_text,
        exact,
    )


@dataclass
class _Candidates:
    a: FloatArray
    b: FloatArray
    w: FloatArray
    counts: FloatArray  # candidates × classes
    gain: FloatArray

    def __len__(self) -> int:
        return int(self.a.shape[0])

    def take(self, keep: npt.NDArray[np.intp] | BoolArray) -> _Candidates:
        return _Candidates(
            self.a[keep], self.b[keep], self.w[keep], self.counts[keep], self.gain[keep]
        )


def _geometric_ranks(n: int, size: int) -> IntArray:
    if n <= 0:
        return np.zeros(0, dtype=np.int64)
    return np.unique(np.round(np.geomspace(1, n, size)).astype(np.int64))


def _last_at_most(levels: FloatArray, targets: FloatArray, last_valid: IntArray) -> IntArray:
    """Largest valid position whose (non-decreasing) level is at most each target."""
    pos = np.searchsorted(levels, targets, side="right") - 1
    ok = pos >= 0
    out = np.where(ok, last_valid[np.maximum(pos, 0)], -1)
    return np.asarray(out[out >= 0], dtype=np.int64)


def _boundary_candidates(
    a_s: FloatArray,
    p_s: FloatArray,
    onehot: FloatArray,
    gain_s: FloatArray,
    shapes: list[tuple[float, float]],
    targets: FloatArray,
    groups: IntArray,
) -> _Candidates:
    """Candidate rules at one boundary, with their class counts and value gain.

    ``targets`` holds the sizes to reach (total first, then per class); for
    each clause shape the ARR-only cut is placed where the rule's upper set
    reaches the total and each class of ``groups`` (and a little less), plus
    a coarse grid.
    """
    n = a_s.shape[0]
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = a_s[1:] < a_s[:-1]
    index = np.arange(n + 1)
    last_valid = np.maximum.accumulate(np.where(valid, index, -1))
    window = np.array(WINDOW, dtype=np.float64)
    coarse = np.concatenate([[0, n], _geometric_ranks(n, GRID_COARSE)])
    out_a, out_b, out_w, out_c, out_g = [], [], [], [], []
    for b, w in shapes:
        two = math.isfinite(w)
        in_c = (a_s >= b) & (p_s >= w) if two else np.zeros(n, dtype=bool)
        if two and not in_c.any():
            continue
        not_c = ~in_c
        base_counts = onehot[in_c].sum(axis=0)
        base_gain = float(gain_s[in_c].sum())
        cum_counts = np.vstack([np.zeros(onehot.shape[1]), np.cumsum(onehot * not_c[:, None], 0)])
        cum_gain = np.concatenate([[0.0], np.cumsum(gain_s * not_c)])
        levels = np.column_stack([cum_counts.sum(axis=1), cum_counts])
        base = np.concatenate([[base_counts.sum()], base_counts])
        positions = [coarse]
        for j in [0, *(groups + 1).tolist()]:
            wanted = targets[j] - base[j] - window
            positions.append(_last_at_most(levels[:, j], wanted[wanted >= 0], last_valid))
        m = np.unique(np.concatenate(positions))
        m = m[valid[m]]
        if two:
            # The whitespace clause must add accounts the ARR-only cut misses.
            m_b = int((a_s >= b).sum())
            last = int(np.flatnonzero(in_c).max())
            m = m[(m < m_b) & (m <= last)]
        if m.size == 0:
            continue
        a = np.where(m > 0, a_s[np.maximum(m - 1, 0)], np.inf)
        out_a.append(a)
        out_b.append(np.full(m.size, b if two else np.inf))
        out_w.append(np.full(m.size, w))
        out_c.append(base_counts[None, :] + cum_counts[m])
        out_g.append(base_gain + cum_gain[m])
    n_classes = onehot.shape[1]
    if not out_a:
        empty = np.zeros(0)
        return _Candidates(empty, empty, empty, np.zeros((0, n_classes)), empty)
    return _Candidates(
        np.concatenate(out_a),
        np.concatenate(out_b),
        np.concatenate(out_w),
        np.vstack(out_c),
        np.concatenate(out_g),
    )


def _nested(p: _Candidates, q: _Candidates) -> BoolArray:
    """Whether each rule of ``p`` is contained in each rule of ``q`` for any account.

    A rule's accounts form an up-set in (ARR, whitespace) with corners
    ``(a, 0)`` and ``(b, w)``; containment holds when both corners of ``p``
    meet ``q``.
    """
    first = p.a[:, None] >= q.a[None, :]
    two = np.isfinite(p.w)[:, None]
    corner = (p.b[:, None] >= q.a[None, :]) | (
        (p.b[:, None] >= q.b[None, :]) & (p.w[:, None] >= q.w[None, :])
    )
    return np.asarray(first & (~two | corner), dtype=bool)


def _violations(rows: _Rows, counts: FloatArray) -> BoolArray:
    """Broken conditions per candidate: ``counts`` is (..., classes) tier counts."""
    over = counts @ rows.ub_matrix.T > rows.ub + 1e-9
    under = counts @ rows.lb_matrix.T < rows.lb - 1e-9
    return np.concatenate([over, under], axis=-1)


def search_bands(
    value: FloatArray,
    eligible: BoolArray,
    pools: PoolSet,
    tier_names: list[str],
    arr: FloatArray,
    potential: FloatArray,
    pinned_tier: IntArray,
    free_tier: IntArray,
) -> BandSearch:
    """Find the best nested band rule for the value matrix under the team's capacities.

    Parameters
    ----------
    value
        Value matrix (accounts × tiers); ``-inf`` forbids a tier.
    eligible
        Eligibility (accounts × pools), pins included.
    pools
        The pools.
    tier_names
        Tier names in order.
    arr, potential
        Account ARR and whitespace.
    pinned_tier
        Pinned tier index per account, ``-1`` when not pinned.
    free_tier
        Tier per account in the free optimum (guides where cuts are tried).

    Returns
    -------
    BandSearch
        Tier per account and the published rules, or a diagnosis.
    """
    start = time.perf_counter()
    n, n_tiers = value.shape
    pinned = pinned_tier >= 0
    if n_tiers == 1:
        return BandSearch(np.zeros(n, dtype=np.int64), ())
    patterns, cls = np.unique(eligible, axis=0, return_inverse=True)
    cls = np.asarray(cls, dtype=np.int64).reshape(-1)
    n_classes = patterns.shape[0]
    rows = [_tier_rows(t, name, patterns, pools) for t, name in enumerate(tier_names)]
    pin_counts = np.zeros((n_tiers, n_classes))
    np.add.at(pin_counts, (pinned_tier[pinned], cls[pinned]), 1.0)

    free_rows = np.flatnonzero(~pinned)
    order = free_rows[np.argsort(-arr[free_rows], kind="stable")]
    a_s, p_s = arr[order], potential[order]
    onehot = np.zeros((order.size, n_classes))
    onehot[np.arange(order.size), cls[order]] = 1.0
    total = onehot.sum(axis=0)
    filled = np.where(np.isfinite(value), value, 0.0)
    groups = np.argsort(-total, kind="stable")[: min(MAX_GROUP_TARGETS, n_classes)]
    groups = groups[total[groups] > 0] if n_classes > 1 else groups[:0]

    # Clause shapes: ARR and whitespace cuts at geometric ranks, plus the
    # cuts of the rule fitted to the free optimum.
    b_grid = a_s[_geometric_ranks(order.size, GRID_ARR) - 1] if order.size else np.zeros(0)
    p_desc = np.sort(p_s[p_s > 0])[::-1]
    w_grid = p_desc[_geometric_ranks(p_desc.size, GRID_WHITESPACE) - 1] if p_desc.size else p_desc
    fitted = [fit_boundary(a_s, p_s, free_tier[order] <= k)[0] for k in range(n_tiers - 1)]
    b_set = set(b_grid.tolist()) | {r.arr_with_whitespace_cut for r in fitted if r.two_clause}
    w_set = set(w_grid.tolist()) | {r.whitespace_cut for r in fitted if r.two_clause}
    shapes = [(math.inf, math.inf)] + [(b, w) for b in sorted(b_set) for w in sorted(w_set)]

    n_rows = [r.ub.size + r.lb.size for r in rows]

    def run(
        shape_lists: list[list[tuple[float, float]]],
    ) -> tuple[FloatArray, list[_Candidates], list[IntArray], list[IntArray]]:
        """Candidates per boundary and the dynamic program over them."""
        candidates: list[_Candidates] = []
        for k in range(n_tiers - 1):
            upper = free_tier[order] <= k
            targets = np.concatenate([[upper.sum()], onehot[upper].sum(axis=0)])
            cand = _boundary_candidates(
                a_s,
                p_s,
                onehot,
                filled[order, k] - filled[order, k + 1],
                shape_lists[k],
                targets,
                groups,
            )
            # Drop duplicates (same thresholds) and rules too large for the
            # book places of the tiers above the boundary.
            key = np.column_stack([cand.a, cand.b, cand.w])
            _, first = np.unique(key, axis=0, return_index=True)
            cand = cand.take(np.sort(first))
            human_above = [
                t for t in range(k + 1) if np.isfinite(pools.capacity[pools.tier == t]).all()
            ]
            if len(human_above) == k + 1:
                places = float(pools.capacity[np.isin(pools.tier, human_above)].sum())
                cand = cand.take(
                    cand.counts.sum(axis=1) + pin_counts[: k + 1].sum() <= places + 1e-9
                )
            candidates.append(cand)

        tally = [np.zeros(m, dtype=np.int64) for m in n_rows]

        # Dynamic program over boundaries: best[j] = best total gain of rules
        # down to this boundary ending with candidate j.
        first_c = candidates[0]
        broken = _violations(rows[0], first_c.counts + pin_counts[0])
        tally[0] += broken.sum(axis=0)
        best = np.where(broken.any(axis=1), -np.inf, first_c.gain)
        backs: list[IntArray] = []
        for k in range(1, n_tiers - 1):
            prev, cur = candidates[k - 1], candidates[k]
            alive = np.flatnonzero(np.isfinite(best))
            prev_alive = prev.take(alive)
            new_best = np.full(len(cur), -np.inf)
            back = np.full(len(cur), -1, dtype=np.int64)
            if alive.size and len(cur):
                step = max(1, _PAIR_CELLS // (alive.size * max(n_classes, n_rows[k], 1)))
                for s in range(0, len(cur), step):
                    q = cur.take(np.arange(s, min(s + step, len(cur))))
                    counts = q.counts[None, :, :] - prev_alive.counts[:, None, :] + pin_counts[k]
                    broken3 = _violations(rows[k], counts)
                    nested = _nested(prev_alive, q)
                    tally[k] += (broken3 & nested[:, :, None]).sum(axis=(0, 1))
                    ok = nested & ~broken3.any(axis=2)
                    score = np.where(ok, best[alive][:, None], -np.inf)
                    arg = np.argmax(score, axis=0)
                    top = score[arg, np.arange(q.a.size)]
                    new_best[s : s + q.a.size] = top + q.gain
                    back[s : s + q.a.size] = alive[arg]
            backs.append(back)
            best = new_best
        last = candidates[-1]
        broken = _violations(rows[-1], total - last.counts + pin_counts[-1])
        tally[-1] += (broken & np.isfinite(best)[:, None]).sum(axis=0)
        best = np.where(broken.any(axis=1), -np.inf, best)
        return best, candidates, backs, tally

    # Round 1: the common grid; round 2: a finer grid around the clause
    # shapes round 1 chose (which round 2 keeps, so it can only do better).
    best, candidates, backs, tally = run([shapes] * (n_tiers - 1))
    searched = [len(c) for c in candidates]
    if np.isfinite(best).any():
        chosen = _trace(best, backs)
        b_all = np.unique(a_s)
        w_all = np.unique(p_s[p_s > 0])
        local = [
            _local_shapes(candidates[k], j, sorted(b_set), sorted(w_set), b_all, w_all)
            for k, j in enumerate(chosen)
        ]
        refined = run(local)
        searched = [x + len(c) for x, c in zip(searched, refined[1], strict=True)]
        if np.isfinite(refined[0]).any() and refined[0].max() > best.max():
            best, candidates, backs, tally = refined
    sizes = tuple(searched)
    seconds = time.perf_counter() - start
    if not np.isfinite(best).any():
        return BandSearch(
            np.zeros(0, dtype=np.int64),
            (),
            diagnosis=(_diagnose(rows, tally, tier_names),),
            candidates=sizes,
            seconds=seconds,
        )
    chosen = _trace(best, backs)
    raw = [
        BoundaryRule(float(c.a[j]), float(c.b[j]), float(c.w[j]))
        for c, j in zip(candidates, chosen, strict=True)
    ]
    tier = np.full(n, n_tiers - 1, dtype=np.int64)
    for k in reversed(range(n_tiers - 1)):
        tier = np.where(raw[k].contains(arr, potential), k, tier)
    tier = np.where(pinned, pinned_tier, tier)
    published = tuple(publish(r, arr, potential) for r in raw)
    return BandSearch(
        tier,
        published,
        candidates=sizes,
        seconds=seconds,
        approximate=not all(r.exact for r in rows),
    )


def _trace(best: FloatArray, backs: list[IntArray]) -> list[int]:
    """Candidate chosen at each boundary, from the dynamic program's back pointers."""
    chosen = [int(np.argmax(best))]
    for back in reversed(backs):
        chosen.append(int(back[chosen[-1]]))
    chosen.reverse()
    return chosen


def _between(values: FloatArray, grid: list[float], x: float) -> FloatArray:
    """Up to ``REFINE`` values strictly between ``x``'s neighbours in ``grid``."""
    below = [g for g in grid if g < x]
    above = [g for g in grid if g > x]
    low = below[-1] if below else -math.inf
    high = above[0] if above else math.inf
    inside = values[(values > low) & (values < high)]
    if inside.size > REFINE:
        levels = np.linspace(0.0, 1.0, REFINE)
        inside = np.unique(np.quantile(inside, levels, method="inverted_cdf"))
    return np.asarray(inside, dtype=np.float64)


def _local_shapes(
    cand: _Candidates,
    j: int,
    b_grid: list[float],
    w_grid: list[float],
    b_all: FloatArray,
    w_all: FloatArray,
) -> list[tuple[float, float]]:
    """Clause shapes near the one of candidate ``j`` (itself included)."""
    b, w = float(cand.b[j]), float(cand.w[j])
    shapes = [(math.inf, math.inf)]
    if not math.isfinite(w):
        return shapes
    bs = sorted({b, *_between(b_all, b_grid, b).tolist()})
    ws = sorted({w, *_between(w_all, w_grid, w).tolist()})
    return shapes + [(x, y) for x in bs for y in ws]


def _diagnose(rows: list[_Rows], tally: list[IntArray], tier_names: list[str]) -> str:
    worst_tier = max(range(len(rows)), key=lambda t: int(tally[t].max(initial=0)))
    texts = rows[worst_tier].ub_text + rows[worst_tier].lb_text
    detail = texts[int(np.argmax(tally[worst_tier]))] if texts and tally[worst_tier].size else ""
    where = f" ({tier_names[worst_tier]}: {detail})" if detail else ""
    return (
        "no band rule (ARR and whitespace cut points applied to every unpinned account) fits "
        f"the team: every rule searched breaks a book-place or minimum-book condition{where}. "
        "Lower the minimum books, unpin accounts, or plan with policy='free'."
    )
