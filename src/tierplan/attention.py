r"""Water-filling of a CSM's hours across the accounts of their book.

Account ``i`` answers ``h`` hours of attention with the expected impact
``S_i · (1 − exp(−h/k_i))`` (see :mod:`tierplan.impact`): stake ``S_i ≥ 0``,
scale ``k_i > 0``. Within each book ``b`` the allocator solves exactly

.. math::

    \max_h \sum_{i \in b} S_i (1 − e^{−h_i / k_i})
    \quad\text{s.t.}\quad \sum_{i \in b} h_i ≤ H_b,\; h_i ≥ \text{floor}_i .

The objective is separable and concave, so the optimum is characterized by
its KKT conditions: every account above its floor has the same marginal value
``λ_b`` (the value of one more hour in the book),

.. math::

    h_i = \max\bigl(\text{floor}_i,\; k_i \ln \tfrac{S_i}{k_i λ_b}\bigr),

and an account left at its floor has a marginal value at most ``λ_b``. The
response never saturates, so a book with any positive stake uses all of its
hours; accounts with zero stake keep their floor.

**Policies.** The optional ``weight`` multiplies the stake. Attention *by
value* uses the stakes as they are; *by need* weights them by risk; *by
expansion* passes the expansion stake only (see
:func:`tierplan.impact.response_stakes`). The caller builds the stakes and
weights; this module only honours the multiplier.

**Algorithm.** Everything is vectorized over all books at once (no Python
loop over accounts or books). In log space, ``μ = ln λ``, account ``i``
leaves its floor when ``μ`` drops below its breakpoint
``t_i = ln(S_i/k_i) − floor_i/k_i``, and the hours above the floors,
``Σ_i k_i · max(0, t_i − μ)``, are a decreasing piecewise-linear function
of ``μ``. One global sort by (book, −t) lays every book out with its
breakpoints in descending order; segmented cumulative sums give the extra
hours used when ``μ`` sits exactly at each breakpoint, a per-book count of
the breakpoints within budget picks the linear piece, and the piece gives
``μ_b`` in closed form. A Newton step on per-book sums (``np.bincount``)
then polishes ``μ_b`` against rounding in the global cumulative sums; it is
exact once the active set is right, so one step (rarely two) suffices.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.errors import InputError
from tierplan.impact import saturation

__all__ = [
    "allocate_attention",
    "attention_gain",
    "attention_price",
    "book_value",
    "flat_attention",
    "marginal_value",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Floors may exceed a book's hours by this relative amount (rounding) without an error.
_FLOOR_RTOL = 1e-9
#: At most this many Newton steps polish the water levels (one or two in practice).
_MAX_POLISH = 50
#: A book whose poured hours miss its budget by this relative amount is solved.
_ROUNDING = 4 * float(np.finfo(np.float64).eps)


# --------------------------------------------------------------------------- validation


def _vector(values: npt.ArrayLike, name: str, n: int, *, positive: bool = False) -> FloatArray:
    """A finite, non-negative (or positive) float vector of length ``n``; scalars broadcast."""
    raw = np.asarray(values)
    if raw.dtype == np.bool_ or not (
        np.issubdtype(raw.dtype, np.integer) or np.issubdtype(raw.dtype, np.floating)
    ):
        raise InputError(f"must be numeric, got dtype {raw.dtype}", column=name)
    if raw.ndim > 1 or (raw.ndim == 1 and raw.shape[0] != n):
        raise InputError(f"must be a scalar or have shape ({n},), got {raw.shape}", column=name)
    arr = np.array(np.broadcast_to(raw.astype(np.float64), (n,)))
    bad = ~np.isfinite(arr)
    if bad.any():
        raise InputError("must be finite", column=name, ids=np.flatnonzero(bad).tolist())
    bad = arr <= 0 if positive else arr < 0
    if bad.any():
        rule = "must be > 0" if positive else "must be >= 0"
        raise InputError(rule, column=name, ids=np.flatnonzero(bad).tolist())
    return arr


def _stake(stake: npt.ArrayLike, weight: npt.ArrayLike | None) -> FloatArray:
    """The effective stake ``stake · weight`` as a validated 1-D vector."""
    raw = np.asarray(stake)
    if raw.ndim != 1:
        raise InputError(f"must be one-dimensional, got shape {raw.shape}", column="stake")
    s = _vector(raw, "stake", raw.shape[0])
    if weight is not None:
        s = s * _vector(weight, "weight", s.shape[0])
    return s


def _books(book: npt.ArrayLike, n: int, n_books: int) -> IntArray:
    """Book indices as int64 in ``[-1, n_books)``; a scalar puts every account in one book."""
    raw = np.asarray(book)
    if raw.ndim > 1 or (raw.ndim == 1 and raw.shape[0] != n):
        raise InputError(f"must be a scalar or have shape ({n},), got {raw.shape}", column="book")
    if raw.dtype == np.bool_:
        raise InputError("must hold integer book indices, got booleans", column="book")
    if np.issubdtype(raw.dtype, np.floating):
        bad = ~np.isfinite(raw) | (raw != np.round(raw))
        if np.any(bad):
            ids = np.flatnonzero(np.broadcast_to(bad, (n,))).tolist()
            raise InputError("must hold integer book indices", column="book", ids=ids)
    elif not np.issubdtype(raw.dtype, np.integer):
        raise InputError(f"must hold integer book indices, got dtype {raw.dtype}", column="book")
    b = np.array(np.broadcast_to(raw.astype(np.int64), (n,)))
    bad = (b < -1) | (b >= n_books)
    if bad.any():
        raise InputError(
            f"must be -1 (no book) or a book index in [0, {n_books})",
            column="book",
            ids=np.flatnonzero(bad).tolist(),
        )
    return b


def _hours(hours: npt.ArrayLike) -> FloatArray:
    """The hours of every book: a finite, non-negative 1-D vector."""
    raw = np.asarray(hours)
    if raw.ndim != 1:
        raise InputError(
            f"must be one-dimensional (one entry per book), got shape {raw.shape}", column="hours"
        )
    return _vector(raw, "hours", raw.shape[0])


def _fit_floors(
    floor: FloatArray, book: IntArray, hours: FloatArray, strict: bool
) -> tuple[FloatArray, FloatArray]:
    """Check the floors against the hours; return (floors, hours above the floors per book).

    With ``strict`` a book whose floors exceed its hours raises; otherwise its
    floors shrink proportionally to fit and its spare hours are zero.
    """
    inside = book >= 0
    floor_sum = np.bincount(book[inside], weights=floor[inside], minlength=hours.shape[0])
    short = floor_sum - hours
    over = short > 0
    if not over.any():
        return floor, hours - floor_sum
    if strict:
        bad = np.flatnonzero(short > _FLOOR_RTOL * np.maximum(floor_sum, 1.0))
        if bad.size:
            shown = ", ".join(f"book {b} by {short[b]:.6g} h" for b in bad[:5])
            more = f", … and {bad.size - 5} more" if bad.size > 5 else ""
            raise InputError(
                f"the floors exceed the book's hours in {bad.size} book(s): {shown}{more}; "
                "add hours, lower the floors, or pass strict=False to scale them down",
                column="floor",
                ids=bad.tolist(),
            )
    factor = np.ones_like(hours)
    factor[over] = hours[over] / floor_sum[over]
    fitted = floor.copy()
    fitted[inside] *= factor[book[inside]]
    return fitted, np.where(over, 0.0, hours - floor_sum)


@dataclass(frozen=True)
class _Problem:
    """Validated inputs of the allocation: per account and per book."""

    stake: FloatArray
    scale: FloatArray
    floor: FloatArray
    book: IntArray
    hours: FloatArray
    spare: FloatArray


def _problem(
    stake: npt.ArrayLike,
    scale: npt.ArrayLike,
    floor: npt.ArrayLike,
    book: npt.ArrayLike,
    hours: npt.ArrayLike,
    weight: npt.ArrayLike | None,
    strict: bool,
) -> _Problem:
    s = _stake(stake, weight)
    n = s.shape[0]
    k = _vector(scale, "scale", n, positive=True)
    f = _vector(floor, "floor", n)
    hb = _hours(hours)
    b = _books(book, n, hb.shape[0])
    f, spare = _fit_floors(f, b, hb, strict)
    return _Problem(s, k, f, b, hb, spare)


# --------------------------------------------------------------------------- water levels


def _group_order(top: FloatArray, group: IntArray, n_groups: int) -> IntArray:
    """Order by group, then ``top`` descending (``lexsort((-top, group))``, faster).

    A float sort by ``top`` and then a stable sort by group, whose narrow
    integer key numpy sorts by radix.
    """
    by_top = np.argsort(-top)
    key = group[by_top]
    if n_groups <= np.iinfo(np.uint16).max:
        key = key.astype(np.uint16)
    elif n_groups <= np.iinfo(np.uint32).max:
        key = key.astype(np.uint32)
    return np.asarray(by_top[np.argsort(key, kind="stable")], dtype=np.int64)


def _water_levels(
    top: FloatArray, width: FloatArray, group: IntArray, budget: FloatArray
) -> FloatArray:
    """Solve ``Σ_{i in g} width_i · max(0, top_i − level_g) = budget_g`` for every group.

    ``top`` finite, ``width > 0``, ``budget ≥ 0``, ``group`` in ``[0, G)``.
    Groups without members get ``+inf`` (nothing is poured).
    """
    n_groups = budget.shape[0]
    level = np.full(n_groups, np.inf)
    if top.shape[0] == 0:
        return level

    # Each group contiguous, breakpoints descending within it.
    order = _group_order(top, group, n_groups)
    t, w, g = top[order], width[order], group[order]
    counts = np.bincount(g, minlength=n_groups)
    starts = np.cumsum(counts) - counts
    first = starts[g]

    # K[j]: width of the first j+1 members of the group (those active just below t[j]).
    cw = np.cumsum(w)
    cw0 = np.concatenate(([0.0], cw))
    slope = np.maximum(cw - cw0[first], w)
    # used[j]: spare hours used when the level sits at t[j] (nondecreasing in j).
    step = np.empty_like(t)
    step[0] = 0.0
    step[1:] = slope[:-1] * (t[:-1] - t[1:])
    step[starts[counts > 0]] = 0.0
    cu = np.cumsum(step)
    cu0 = np.concatenate(([0.0], cu))
    used = cu - cu0[first]

    # The last breakpoint still within budget fixes the linear piece of the level.
    fits = np.bincount(g[used <= budget[g]], minlength=n_groups)
    live = counts > 0
    j = starts[live] + np.maximum(fits[live], 1) - 1
    level[live] = t[j] - (budget[live] - used[j]) / slope[j]

    # Newton polish on per-group sums: exact once the active set is right, and
    # monotone (the poured hours are convex in the level), so it ends.
    active = top > level[group]
    for _ in range(_MAX_POLISH):
        gap = np.where(active, top - level[group], 0.0)
        poured = np.bincount(group, weights=width * gap, minlength=n_groups)
        rate = np.bincount(group, weights=np.where(active, width, 0.0), minlength=n_groups)
        miss = poured - budget
        move = (rate > 0) & (np.abs(miss) > _ROUNDING * (poured + budget))
        if not move.any():
            break
        level[move] += miss[move] / rate[move]
        now = top > level[group]
        if np.array_equal(now, active):
            break
        active = now
    return level


def _solve(p: _Problem) -> tuple[FloatArray, FloatArray]:
    """Attention per account and ``ln λ`` per book (``-inf`` where hours are worth nothing)."""
    h = p.floor.copy()
    log_price = np.full(p.hours.shape[0], -np.inf)
    cand = np.flatnonzero((p.book >= 0) & (p.stake > 0))
    k = p.scale[cand]
    with np.errstate(over="ignore"):
        log_ratio = np.log(p.stake[cand]) - np.log(k)
        top = log_ratio - p.floor[cand] / k
    keep = np.isfinite(top)
    cand, k, log_ratio, top = cand[keep], k[keep], log_ratio[keep], top[keep]
    group = p.book[cand]
    level = _water_levels(top, k, group, p.spare)
    h[cand] = np.maximum(p.floor[cand], k * (log_ratio - level[group]))
    has = np.isfinite(level)
    log_price[has] = level[has]
    return h, log_price


# --------------------------------------------------------------------------- public API


def allocate_attention(
    stake: npt.ArrayLike,
    scale: npt.ArrayLike,
    floor: npt.ArrayLike,
    book: npt.ArrayLike,
    hours: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    strict: bool = True,
) -> FloatArray:
    """Water-fill each book's hours across its accounts (exact, vectorized).

    Maximizes ``Σ_i S_i · (1 − exp(−h_i/k_i))`` within every book subject
    to ``Σ_{i in b} h_i ≤ hours[b]`` and ``h_i ≥ floor_i``. The solution is
    ``h_i = max(floor_i, k_i · ln(S_i / (k_i · λ_b)))`` with ``λ_b`` the
    book's price of an hour (see :func:`attention_price`).

    Parameters
    ----------
    stake
        ``S_i ≥ 0``: what full attention could win on account ``i``.
    scale
        ``k_i > 0``: hours scale of the account's response (scalar allowed).
    floor
        Minimum hours per account, ``≥ 0`` (its tier's cadence; scalar allowed).
    book
        Book index per account in ``[0, len(hours))``, or ``-1`` for an
        account without a book (it gets its floor).
    hours
        Hours of each book, ``≥ 0``.
    weight
        Optional multiplier ``≥ 0`` of the stake (attention by need, by
        expansion, …).
    strict
        If true (the default) a book whose floors add up to more than its
        hours raises :class:`~tierplan.errors.InputError` naming the book and
        the shortfall. If false, the floors of such a book shrink
        proportionally to fit its hours exactly and nothing is left to
        water-fill there. (A gap within rounding, relative ``1e-9``, is
        always scaled silently.)

    Returns
    -------
    numpy.ndarray
        Hours per account, in input order. A book with any positive stake
        uses all its hours; one with none gives every account its floor and
        leaves the rest unused. Zero-stake accounts get their floor.

    Raises
    ------
    InputError
        On malformed inputs, or (``strict``) floors exceeding a book's hours.

    Examples
    --------
    >>> h = allocate_attention([4.0, 1.0, 3.0], 1.0, 0.0, [0, 0, -1], [2.0])
    >>> np.round(h, 3)  # h0 - h1 = ln 4; account 2 has no book
    array([1.693, 0.307, 0.   ])
    >>> np.round(allocate_attention([4.0, 1.0], 1.0, [0.0, 1.0], 0, [2.0]), 3)
    array([1., 1.])
    """
    h, _ = _solve(_problem(stake, scale, floor, book, hours, weight, strict))
    return h


def attention_price(
    stake: npt.ArrayLike,
    scale: npt.ArrayLike,
    floor: npt.ArrayLike,
    book: npt.ArrayLike,
    hours: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    strict: bool = True,
) -> FloatArray:
    """Value of one more hour in each book: the multiplier ``λ_b`` of its hours.

    Every account above its floor has marginal value exactly ``λ_b``, every
    account at its floor at most ``λ_b``. When the floors use all the hours
    ``λ_b`` is the best marginal value at the floors; a book without positive
    stake has ``λ_b = 0``. Parameters as in :func:`allocate_attention`.

    Parameters
    ----------
    stake, scale, floor, book, hours, weight, strict
        As in :func:`allocate_attention`.

    Returns
    -------
    numpy.ndarray
        ``λ_b ≥ 0`` per book (impact per hour).

    Examples
    --------
    >>> round(float(attention_price([4.0, 1.0], 1.0, 0.0, 0, [2.0])[0]), 4)
    0.7358
    """
    _, log_price = _solve(_problem(stake, scale, floor, book, hours, weight, strict))
    return np.exp(log_price)


def flat_attention(
    floor: npt.ArrayLike,
    book: npt.ArrayLike,
    hours: npt.ArrayLike,
    *,
    strict: bool = True,
) -> FloatArray:
    """Stake-blind attention: each book's hours split equally, floors respected.

    Account ``i`` of book ``b`` gets ``max(floor_i, c_b)`` with the level
    ``c_b`` that spends exactly ``hours[b]`` (accounts whose floor is above
    the equal share keep their floor; the others share the rest equally).

    Parameters
    ----------
    floor
        Minimum hours per account, ``≥ 0`` (one-dimensional, or a scalar if
        ``book`` is an array).
    book
        Book index per account, ``-1`` for none (those get their floor).
    hours
        Hours of each book.
    strict
        As in :func:`allocate_attention`.

    Returns
    -------
    numpy.ndarray
        Hours per account.

    Examples
    --------
    >>> flat_attention([0.0, 0.0, 3.0], 0, [5.0])
    array([1., 1., 3.])
    """
    f_raw, b_raw = np.asarray(floor), np.asarray(book)
    n = f_raw.shape[0] if f_raw.ndim == 1 else (b_raw.shape[0] if b_raw.ndim == 1 else 1)
    hb = _hours(hours)
    b = _books(b_raw, n, hb.shape[0])
    f, spare = _fit_floors(_vector(f_raw, "floor", n), b, hb, strict)
    h = f.copy()
    inside = np.flatnonzero(b >= 0)
    level = _water_levels(-f[inside], np.ones(inside.shape[0]), b[inside], spare)
    h[inside] = np.maximum(f[inside], -level[b[inside]])
    return h


def marginal_value(
    stake: npt.ArrayLike,
    scale: npt.ArrayLike,
    attention: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
) -> FloatArray:
    """Value of one more hour per account: ``S_i / k_i · exp(−h_i / k_i)``.

    Parameters
    ----------
    stake
        ``S_i ≥ 0`` per account.
    scale
        ``k_i > 0`` (scalar allowed).
    attention
        Hours ``h_i ≥ 0`` per account (scalar allowed).
    weight
        Optional multiplier of the stake.

    Returns
    -------
    numpy.ndarray
        Marginal impact per hour.

    Examples
    --------
    >>> marginal_value([2.0], 2.0, [0.0])
    array([1.])
    """
    s = _stake(stake, weight)
    k = _vector(scale, "scale", s.shape[0], positive=True)
    h = _vector(attention, "attention", s.shape[0])
    return np.asarray(s / k * np.exp(-h / k), dtype=np.float64)


def book_value(
    stake: npt.ArrayLike,
    scale: npt.ArrayLike,
    attention: npt.ArrayLike,
    book: npt.ArrayLike,
    n_books: int,
    *,
    weight: npt.ArrayLike | None = None,
) -> FloatArray:
    """Expected impact of given attention, summed per book.

    Parameters
    ----------
    stake
        ``S_i ≥ 0`` per account.
    scale
        ``k_i > 0`` (scalar allowed).
    attention
        Hours per account (scalar allowed).
    book
        Book index per account, ``-1`` for none (not counted).
    n_books
        Number of books (length of the result).
    weight
        Optional multiplier of the stake.

    Returns
    -------
    numpy.ndarray
        ``Σ_{i in b} S_i · (1 − exp(−h_i/k_i))`` for ``b = 0 … n_books−1``.

    Examples
    --------
    >>> np.round(book_value([1.0, 1.0], 1.0, [np.log(2), 0.0], [1, -1], 2), 3)
    array([0. , 0.5])
    """
    s = _stake(stake, weight)
    n = s.shape[0]
    k = _vector(scale, "scale", n, positive=True)
    h = _vector(attention, "attention", n)
    b = _books(book, n, n_books)
    inside = b >= 0
    impact = s[inside] * saturation(h[inside], k[inside])
    return np.bincount(b[inside], weights=impact, minlength=n_books).astype(np.float64)


def attention_gain(
    stake: npt.ArrayLike,
    scale: npt.ArrayLike,
    floor: npt.ArrayLike,
    book: npt.ArrayLike,
    hours: npt.ArrayLike,
    *,
    weight: npt.ArrayLike | None = None,
    strict: bool = True,
) -> pd.DataFrame:
    """Per book, the impact of water-filled attention against flat attention.

    Flat attention is :func:`flat_attention` (hours split equally, floors
    respected); water-filled attention is :func:`allocate_attention`. Both
    spend the same hours under the same floors, so ``gain ≥ 0``.

    Parameters
    ----------
    stake, scale, floor, book, hours, weight, strict
        As in :func:`allocate_attention`.

    Returns
    -------
    pandas.DataFrame
        One row per book: ``book``, ``flat_value``, ``allocated_value`` and
        ``gain`` (``allocated_value − flat_value``).

    Examples
    --------
    >>> attention_gain([4.0, 1.0], 1.0, 0.0, 0, [2.0]).round(3)
       book  flat_value  allocated_value   gain
    0     0       3.161            3.528  0.368
    """
    p = _problem(stake, scale, floor, book, hours, weight, strict)
    n_books = p.hours.shape[0]
    h, _ = _solve(p)
    flat = flat_attention(p.floor, p.book, p.hours, strict=False)
    flat_value = book_value(p.stake, p.scale, flat, p.book, n_books)
    allocated = book_value(p.stake, p.scale, h, p.book, n_books)
    return pd.DataFrame(
        {
            "book": np.arange(n_books, dtype=np.int64),
            "flat_value": flat_value,
            "allocated_value": allocated,
            "gain": allocated - flat_value,
        }
    )
