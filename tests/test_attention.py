"""Water-filling of attention hours: checked against numeric optimizers and KKT."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from scipy.optimize import brentq, minimize

from tierplan.attention import (
    allocate_attention,
    attention_gain,
    attention_price,
    book_value,
    flat_attention,
    marginal_value,
)
from tierplan.errors import InputError

# --------------------------------------------------------------------------- instances

stakes = st.one_of(
    st.just(0.0),
    st.floats(1e-3, 1e4),
    st.floats(-3, 6).map(lambda e: float(10.0**e)),
)
scales = st.floats(0.1, 50.0)
# Hours are never subnormal numbers (1e-310 of an hour); allowing them only
# tests float underflow, not the allocation.
floors = st.one_of(
    st.sampled_from([0.0, 0.5, 1.0, 2.0, 4.0]), st.floats(0.0, 8.0, allow_subnormal=False)
)


@st.composite
def instances(draw, max_books=4, max_accounts=14):
    n_books = draw(st.integers(1, max_books))
    n = draw(st.integers(1, max_accounts))
    book = np.array(draw(st.lists(st.integers(-1, n_books - 1), min_size=n, max_size=n)))
    stake = np.array(draw(st.lists(stakes, min_size=n, max_size=n)))
    scale = np.array(draw(st.lists(scales, min_size=n, max_size=n)))
    floor = np.array(draw(st.lists(floors, min_size=n, max_size=n)))
    spare = np.array(
        draw(
            st.lists(
                st.one_of(st.just(0.0), st.floats(0.0, 300.0, allow_subnormal=False)),
                min_size=n_books,
                max_size=n_books,
            )
        )
    )
    inside = book >= 0
    hours = np.bincount(book[inside], weights=floor[inside], minlength=n_books) + spare
    return stake, scale, floor, book, hours


def value(stake, scale, h):
    return float(np.sum(stake * -np.expm1(-h / scale)))


def reference(stake, scale, floor, book, hours):
    """Bisection (Brent) on ln λ per book, independent of the piecewise solver."""
    h = floor.astype(float).copy()
    for b in range(hours.shape[0]):
        idx = np.flatnonzero((book == b) & (stake > 0))
        spare = hours[b] - floor[book == b].sum()
        if idx.size == 0 or spare <= 0:
            continue
        s, k, f = stake[idx], scale[idx], floor[idx]
        a = np.log(s) - np.log(k)
        top = a - f / k

        def excess(mu, a=a, k=k, f=f, spare=spare):
            return float(np.sum(np.maximum(f, k * (a - mu)) - f) - spare)

        lo = top.min() - spare / k.sum() - 1.0
        mu = brentq(excess, lo, top.max() + 1.0, xtol=1e-15, rtol=1e-15, maxiter=500)
        h[idx] = np.maximum(f, k * (a - mu))
    return h


def slsqp(stake, scale, floor, hours_b):
    """A general-purpose NLP solve of one book."""
    n = stake.shape[0]
    scale_v = max(1.0, float(stake.sum()))
    x0 = floor + (hours_b - floor.sum()) / n
    res = minimize(
        lambda x: -np.sum(stake * -np.expm1(-x / scale)) / scale_v,
        x0,
        jac=lambda x: -stake / scale * np.exp(-x / scale) / scale_v,
        bounds=[(f, None) for f in floor],
        constraints=[
            {"type": "ineq", "fun": lambda x: hours_b - x.sum(), "jac": lambda x: -np.ones(n)}
        ],
        method="SLSQP",
        options={"ftol": 1e-14, "maxiter": 500},
    )
    # Make it feasible before comparing: the extra hours above the floors
    # (not the rounded total) must fit the spare hours.
    extra, spare = np.maximum(res.x - floor, 0.0), max(hours_b - floor.sum(), 0.0)
    if extra.sum() > spare:
        extra *= spare / extra.sum()
    return floor + extra


# --------------------------------------------------------------------------- optimality


@given(instances())
def test_matches_bisection_reference(inst):
    stake, scale, floor, book, hours = inst
    h = allocate_attention(stake, scale, floor, book, hours)
    ref = reference(stake, scale, floor, book, hours)
    np.testing.assert_allclose(h, ref, rtol=1e-9, atol=1e-9 * (1.0 + hours.max()))
    for b in range(hours.shape[0]):
        m = book == b
        got, want = value(stake[m], scale[m], h[m]), value(stake[m], scale[m], ref[m])
        assert got >= want - 1e-10 * (1.0 + abs(want))


@given(instances(max_books=3, max_accounts=7))
def test_never_below_slsqp(inst):
    stake, scale, floor, book, hours = inst
    h = allocate_attention(stake, scale, floor, book, hours)
    for b in range(hours.shape[0]):
        m = book == b
        if not m.any():
            continue
        x = slsqp(stake[m], scale[m], floor[m], hours[b])
        got, other = value(stake[m], scale[m], h[m]), value(stake[m], scale[m], x)
        assert got >= other - 1e-9 * (1.0 + abs(other))


@given(instances())
def test_kkt_conditions(inst):
    stake, scale, floor, book, hours = inst
    h = allocate_attention(stake, scale, floor, book, hours)
    price = attention_price(stake, scale, floor, book, hours)
    mv = marginal_value(stake, scale, h)
    for b in range(hours.shape[0]):
        m = book == b
        if not (stake[m] > 0).any():
            assert price[b] == 0.0
            continue
        above = m & (h > floor)
        at = m & ~above
        if above.any():
            # Equal marginal values above the floors, and that is the book's price
            # (below the normal range floats lose relative precision).
            np.testing.assert_allclose(
                mv[above], price[b], rtol=1e-8, atol=np.finfo(np.float64).tiny
            )
        # At the floor the marginal value is at most the price.
        assert (mv[at] <= price[b] * (1 + 1e-8)).all()


@given(instances())
def test_hours_and_floors(inst):
    stake, scale, floor, book, hours = inst
    h = allocate_attention(stake, scale, floor, book, hours)
    assert (h >= floor).all()
    assert (h[stake == 0] == floor[stake == 0]).all()
    assert (h[book == -1] == floor[book == -1]).all()
    inside = book >= 0
    used = np.bincount(book[inside], weights=h[inside], minlength=hours.shape[0])
    tol = 1e-9 * (1.0 + hours)
    assert (used <= hours + tol).all()
    positive = np.bincount(book[inside], weights=stake[inside] > 0, minlength=hours.shape[0]) > 0
    np.testing.assert_allclose(used[positive], hours[positive], rtol=1e-9, atol=1e-9)


@given(instances(), st.randoms(use_true_random=False))
def test_permutation_invariance(inst, rnd):
    stake, scale, floor, book, hours = inst
    perm = np.array(rnd.sample(range(stake.shape[0]), stake.shape[0]))
    h = allocate_attention(stake, scale, floor, book, hours)
    hp = allocate_attention(stake[perm], scale[perm], floor[perm], book[perm], hours)
    np.testing.assert_allclose(hp, h[perm], rtol=1e-12, atol=1e-12 * (1.0 + hours.max()))


@given(instances())
def test_gain_over_flat_is_non_negative(inst):
    stake, scale, floor, book, hours = inst
    gain = attention_gain(stake, scale, floor, book, hours)
    assert list(gain.columns) == ["book", "flat_value", "allocated_value", "gain"]
    assert gain["book"].tolist() == list(range(hours.shape[0]))
    assert (gain["gain"] >= -1e-10 * (1.0 + gain["flat_value"].abs())).all()
    h = allocate_attention(stake, scale, floor, book, hours)
    np.testing.assert_allclose(
        gain["allocated_value"], book_value(stake, scale, h, book, hours.shape[0])
    )


@given(instances())
def test_flat_attention_splits_equally(inst):
    _, _, floor, book, hours = inst
    h = flat_attention(floor, book, hours)
    assert (h >= floor).all()
    for b in range(hours.shape[0]):
        m = book == b
        if not m.any():
            continue
        np.testing.assert_allclose(h[m].sum(), hours[b], rtol=1e-12, atol=1e-12)
        lifted = h[m] > floor[m]
        if lifted.any():  # one common level, above every floor left alone
            level = h[m][lifted]
            np.testing.assert_allclose(level, level[0], rtol=1e-12)
            assert (floor[m][~lifted] >= level[0] * (1 - 1e-12)).all()


# --------------------------------------------------------------------------- special cases


def test_single_account_book_gets_all_hours():
    h = allocate_attention([5.0, 2.0, 3.0], [4.0, 1.0, 2.0], [1.0, 0.0, 0.0], [0, 1, 1], [7.5, 3.0])
    assert h[0] == pytest.approx(7.5)
    assert h[1:].sum() == pytest.approx(3.0)


def test_two_equal_accounts_split_evenly_and_log_ratio_otherwise():
    assert allocate_attention([1.0, 1.0], 2.0, 0.0, 0, [6.0]) == pytest.approx([3.0, 3.0])
    h = allocate_attention([4.0, 1.0], 1.0, 0.0, 0, [2.0])
    assert h[0] - h[1] == pytest.approx(np.log(4.0))


def test_books_without_value_keep_floors():
    h = allocate_attention([0.0, 0.0, 1.0], 1.0, [1.0, 2.0, 0.0], [0, 0, -1], [10.0, 5.0])
    np.testing.assert_array_equal(h, [1.0, 2.0, 0.0])
    np.testing.assert_array_equal(attention_price([0.0, 0.0, 1.0], 1.0, 0.0, [0, 0, -1], [1, 1]), 0)


def test_floors_using_all_hours_price_is_best_marginal_value():
    stake, scale, floor = np.array([4.0, 1.0]), np.array([1.0, 1.0]), np.array([1.0, 1.0])
    h = allocate_attention(stake, scale, floor, 0, [2.0])
    np.testing.assert_array_equal(h, floor)
    price = attention_price(stake, scale, floor, 0, [2.0])
    assert price[0] == pytest.approx(marginal_value(stake, scale, floor).max())


def test_weight_multiplies_the_stake():
    rng = np.random.default_rng(3)
    stake, scale, weight = rng.lognormal(3, 1, 50), rng.uniform(1, 9, 50), rng.uniform(0, 2, 50)
    weight[:5] = 0.0
    book, hours = rng.integers(-1, 4, 50), np.full(4, 60.0)
    h = allocate_attention(stake, scale, 0.5, book, hours, weight=weight)
    np.testing.assert_array_equal(h, allocate_attention(stake * weight, scale, 0.5, book, hours))
    assert (h[:5] == 0.5).all()
    g = attention_gain(stake, scale, 0.5, book, hours, weight=weight)
    np.testing.assert_allclose(
        g["allocated_value"], book_value(stake, scale, h, book, 4, weight=weight)
    )


def test_extreme_magnitudes():
    rng = np.random.default_rng(5)
    n = 400
    stake = 10.0 ** rng.uniform(-200, 200, n)
    stake[::7] = 0.0
    scale = 10.0 ** rng.uniform(-3, 3, n)
    floor = 10.0 ** rng.uniform(-3, 3, n)
    book = rng.integers(0, 5, n)
    hours = np.bincount(book, weights=floor, minlength=5) + np.array([0, 1e-6, 1.0, 1e3, 1e9])
    h = allocate_attention(stake, scale, floor, book, hours)
    assert np.isfinite(h).all() and (h >= floor).all()
    used = np.bincount(book, weights=h, minlength=5)
    np.testing.assert_allclose(used, hours, rtol=1e-12)
    ref = reference(stake, scale, floor, book, hours)
    # Exact up to rounding at the scale of the book's hours.
    assert (np.abs(h - ref) <= 1e-9 * ref + 1e-12 * hours[book]).all()


def test_many_books_match_reference():
    rng = np.random.default_rng(11)
    n, n_books = 30_000, 60
    stake = rng.lognormal(8, 2, n) * (rng.random(n) > 0.1)
    scale = rng.uniform(2, 20, n)
    floor = rng.choice([0.0, 1.0, 2.0, 4.0], n)
    book = rng.integers(-1, n_books, n)
    inside = book >= 0
    hours = np.bincount(book[inside], weights=floor[inside], minlength=n_books)
    hours += rng.uniform(0, 3_000, n_books)
    hours[:3] = np.bincount(book[inside], weights=floor[inside], minlength=n_books)[:3]
    h = allocate_attention(stake, scale, floor, book, hours)
    ref = reference(stake, scale, floor, book, hours)
    np.testing.assert_allclose(h, ref, rtol=1e-9, atol=1e-8)
    gain = attention_gain(stake, scale, floor, book, hours)
    assert (gain["gain"] >= -1e-6).all() and gain["gain"].iloc[3:].gt(0).all()


def test_inputs_broadcast_and_float_books():
    h = allocate_attention([1.0, 3.0], 2.0, 0.0, np.array([0.0, 0.0]), [4.0])
    np.testing.assert_allclose(h, allocate_attention([1.0, 3.0], [2.0, 2.0], [0, 0], [0, 0], [4]))


# --------------------------------------------------------------------------- floors over hours


def test_floors_over_hours_raise_naming_the_book():
    with pytest.raises(InputError, match=r"book 1 by 2.5 h") as err:
        allocate_attention([1.0, 1.0, 1.0], 1.0, [1.0, 2.0, 3.0], [0, 1, 1], [4.0, 2.5])
    assert err.value.ids == [1]
    assert err.value.column == "floor"
    with pytest.raises(InputError, match="book 1"):
        attention_gain([1.0, 1.0, 1.0], 1.0, [1.0, 2.0, 3.0], [0, 1, 1], [4.0, 2.5])
    with pytest.raises(InputError, match="book 0"):
        flat_attention([3.0], [0], [2.0])


def test_floors_over_hours_scale_down_when_not_strict():
    h = allocate_attention(
        [1.0, 1.0, 1.0], 1.0, [1.0, 2.0, 3.0], [0, 1, 1], [4.0, 2.5], strict=False
    )
    np.testing.assert_allclose(h, [4.0, 1.0, 1.5])
    np.testing.assert_allclose(
        flat_attention([1.0, 2.0, 3.0], [0, 1, 1], [4.0, 2.5], strict=False), [4.0, 1.0, 1.5]
    )


def test_rounding_gap_in_floors_is_tolerated():
    floor = np.full(10, 0.1)
    h = allocate_attention(np.ones(10), 1.0, floor, 0, [0.9999999999999999])
    assert h.sum() <= 1.0 and (h <= 0.1).all()


@pytest.mark.parametrize(
    ("kwargs", "column"),
    [
        ({"stake": [-1.0, 1.0]}, "stake"),
        ({"stake": [np.nan, 1.0]}, "stake"),
        ({"scale": [1.0, 0.0]}, "scale"),
        ({"floor": [-0.1, 0.0]}, "floor"),
        ({"book": [0, 2]}, "book"),
        ({"book": [0, -2]}, "book"),
        ({"book": [0.5, 0.0]}, "book"),
        ({"book": [0, 0, 0]}, "book"),
        ({"hours": [-1.0, 3.0]}, "hours"),
        ({"hours": [[1.0, 3.0]]}, "hours"),
        ({"weight": [1.0, -1.0]}, "weight"),
        ({"scale": [1.0, 1.0, 1.0]}, "scale"),
    ],
)
def test_bad_inputs(kwargs, column):
    args = {
        "stake": [1.0, 2.0],
        "scale": [1.0, 1.0],
        "floor": [0.0, 0.0],
        "book": [0, 1],
        "hours": [1.0, 3.0],
    }
    args.update(kwargs)
    weight = args.pop("weight", None)
    with pytest.raises(InputError, match=column) as err:
        allocate_attention(**args, weight=weight)
    assert err.value.column == column
