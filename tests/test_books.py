"""Splitting pools into books: caps, minimums, balance."""

from __future__ import annotations

import numpy as np
import pandas as pd
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
