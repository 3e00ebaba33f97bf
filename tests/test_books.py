"""Splitting pools into books: caps, minimums, balance."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tierplan as tp
from tierplan.books import _slot_order, split_books
from tierplan.config import CoverageModel
from tierplan.pools import build_pools


@given(
    caps=st.lists(st.integers(1, 30), min_size=1, max_size=8),
    data=st.data(),
)
def test_slots_respect_caps_and_minimums_first(caps, data):
    mins = [data.draw(st.integers(0, c)) for c in caps]
    order = _slot_order(np.array(caps), np.array(mins))
    assert np.bincount(order, minlength=len(caps)).tolist() == caps
    # Any prefix as long as the minimums gives every CSM its minimum.
    prefix = order[: sum(mins)]
    assert np.bincount(prefix, minlength=len(caps)).tolist() == mins


def test_equal_caps_fill_evenly_and_balance_arr():
    accounts = tp.synthetic_accounts(n=3_000, seed=4)
    team = tp.Team.from_headcount({"tier1": 0, "tier2": 6})
    plan = tp.plan(accounts, team)
    books = plan.books
    assert books["accounts"].tolist() == [120] * 6
    # Snake dealing of ARR-sorted accounts keeps books within 15% of each
    # other even with heavy-tailed ARR; dealing in input order would not.
    spread = books["arr"].max() / books["arr"].min()
    assert spread < 1.15


def test_partial_pool_fills_proportionally_to_caps():
    model = CoverageModel()
    roster = tp.Team.from_roster(
        pd.DataFrame({"csm_id": ["a", "b"], "tier": ["tier2", "tier2"], "max_accounts": [10, 30]})
    ).resolved(model)
    pools = build_pools(roster, model)
    p = pools.names.index("tier2 generalist")
    choice = np.full(20, p, dtype=np.int64)
    csm = split_books(choice, np.linspace(1, 2, 20), pools, roster)
    assert np.bincount(csm, minlength=2).tolist() == [5, 15]


def test_split_refuses_an_overfull_pool():
    model = CoverageModel()
    roster = tp.Team.from_headcount({"tier1": 1}).resolved(model)
    pools = build_pools(roster, model)
    choice = np.zeros(21, dtype=np.int64)
    try:
        split_books(choice, np.ones(21), pools, roster)
    except ValueError as exc:
        assert "21 accounts for 20 book places" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("an overfull pool must not be split silently")


@pytest.mark.parametrize("n_csms", [3, 16])
def test_pack_pool_keeps_every_csm_within_hours_and_caps(n_csms: int) -> None:
    from tierplan.books import pack_pool

    rng = np.random.default_rng(0)
    m = 12 * n_csms
    members = np.arange(m, dtype=np.int64)
    # As the pool program leaves them: the accounts' hours add up to the
    # team's hours exactly, so not every account can fit.
    workload = rng.uniform(60.0, 120.0, m)
    workload *= 1_000.0 * n_csms / workload.sum()
    gain = rng.uniform(1.0, 10.0, m)
    roster = pd.DataFrame({"hours": np.full(n_csms, 1_000.0), "max_accounts": np.full(n_csms, 20)})
    csms = np.arange(n_csms, dtype=np.int64)
    current = np.full(m, -1, dtype=np.int64)
    current[0] = n_csms - 1
    locked = np.zeros(m, dtype=bool)
    locked[0] = True
    got = pack_pool(members, gain, workload, csms, roster, current, time_limit=4, locked=locked)
    assert got is not None
    packed, rows = got
    assert packed[0] and rows[0] == n_csms - 1  # a locked account stays with its CSM
    assert ((rows >= 0) == packed).all()
    load = np.bincount(rows[packed], weights=workload[packed], minlength=n_csms)
    count = np.bincount(rows[packed], minlength=n_csms)
    assert (load <= 1_000.0 + 1e-6).all() and (count <= 20).all()
    assert not packed.all()
    assert load.sum() >= 0.95 * 1_000.0 * n_csms
    # With several groups of CSMs, what one group left out goes where
    # another left room: no account left out still fits in any book.
    room = 1_000.0 - load
    fits = (workload[~packed][:, None] <= room[None, :] + 1e-9) & (count < 20)[None, :]
    assert not fits.any()
