"""explain(): values, prices, why an account won, and what would move it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import tierplan as tp
from tierplan.explain import AccountExplanation, explain, pool_prices

ORDER = {"tier1": 0, "tier2": 1, "tier3": 2}


@pytest.fixture(scope="module")
def accounts() -> pd.DataFrame:
    return tp.synthetic_accounts(n=300, seed=5)


@pytest.fixture(scope="module")
def team() -> tp.Team:
    return tp.Team.from_headcount({"tier1": 2, "tier2": 1})


@pytest.fixture(scope="module")
def plan(accounts, team) -> tp.Plan:
    return tp.plan(accounts, team)


def first_in(plan: tp.Plan, tier: str, *, risky: bool = False) -> str:
    a = plan.assignments
    mask = a["tier"] == tier
    if risky:
        mask &= a["risk"] > 0
    return str(a.loc[mask, "account_id"].iloc[0])


def gains(accounts: pd.DataFrame, account_id: str) -> pd.Series:
    """The account's row of the built-in value matrix."""
    model = tp.CoverageModel()
    acc = tp.load_accounts(accounts, tiers=model.tier_names)
    matrix = tp.value_matrix(acc, model)
    k = int(np.flatnonzero(acc.ids == account_id)[0])
    return pd.Series(matrix[k], index=model.tier_names)


def test_tier1_account_values_match_the_plan(plan):
    aid = first_in(plan, "tier1")
    e = explain(plan, aid)
    assert isinstance(e, AccountExplanation)
    row = plan.assignments.set_index("account_id").loc[aid]
    assert (e.tier, e.pool, e.csm_id) == (row["tier"], row["pool"], row["csm_id"])
    expected = plan.values.loc[aid]
    assert e.values == pytest.approx(expected.to_dict())
    assert e.runner_up == "tier2"
    assert e.value_difference == pytest.approx(expected["tier1"] - expected["tier2"])
    # It won: its gain clears the price of a tier-1 place.
    assert e.marginal_value == pytest.approx(e.prices["tier1 generalist"])
    assert e.margin >= -1e-9
    assert "marginal" in e.reason
    assert e.moves == ()


def test_prices_are_the_marginal_accounts_gains(plan):
    """Brute force from plan.values and plan.assignments, pool by pool."""
    v = plan.values
    tier = plan.assignments.set_index("account_id")["tier"]
    price2 = float(v.loc[tier == "tier2", "tier2"].min() - 0.0)
    in1 = v.loc[tier == "tier1"]
    alt = np.maximum(in1["tier2"] - price2, in1["tier3"])
    price1 = float((in1["tier1"] - alt).min())
    table = pool_prices(plan).set_index("pool")
    assert table.loc["tier2 generalist", "price"] == pytest.approx(price2)
    assert table.loc["tier1 generalist", "price"] == pytest.approx(price1)
    assert table.loc["tier3", "price"] == 0.0
    assert table["full"].tolist() == [True, True, False]
    # The prices support the plan: nobody below bids more than a place costs.
    assert (table["best_bid"] <= table["price"] + 1e-6).all()
    marginal = table.loc["tier1 generalist", "marginal_account"]
    e = explain(plan, marginal)
    assert e.margin == pytest.approx(0.0, abs=1e-6)
    assert "it is the marginal account" in e.reason


def test_tier3_thresholds_invert_the_value_formula(plan, accounts):
    aid = first_in(plan, "tier3", risky=True)
    e = explain(plan, aid)
    assert e.tier == "tier3"
    assert [m.tier for m in e.moves] == ["tier1", "tier2"]
    before = gains(accounts, aid)
    for move in e.moves:
        assert move.current_gain == pytest.approx(before[move.tier] - before["tier3"])
        assert move.current_gain < move.required_gain
        assert move.arr is not None and move.arr > e.current["arr"]
        assert move.potential is not None and move.potential > e.current["potential"]
        for column, target in (("arr", move.arr), ("potential", move.potential)):
            changed = accounts.copy()
            changed.loc[changed["account_id"] == aid, column] = target
            after = gains(changed, aid)
            # At the threshold its gain reaches the previous marginal value.
            gain = after[move.tier] - after["tier3"]
            assert gain >= move.required_gain * (1 - 1e-9)
    assert e.moves[1].required_gain == pytest.approx(e.prices["tier2 generalist"])


@pytest.mark.parametrize("tier", ["tier3", "tier2"])
def test_replanning_at_the_threshold_moves_the_account(plan, accounts, team, tier):
    aid = first_in(plan, tier, risky=True)
    move = next(m for m in explain(plan, aid).moves if m.tier == "tier1")
    assert move.arr is not None
    for factor, reaches in ((1.001, True), (0.99, False)):
        changed = accounts.copy()
        changed.loc[changed["account_id"] == aid, "arr"] = move.arr * factor
        again = tp.plan(changed, team)
        new_tier = again.assignments.set_index("account_id").loc[aid, "tier"]
        assert (ORDER[new_tier] <= ORDER["tier1"]) is reaches, (factor, new_tier)


def test_zero_risk_makes_arr_irrelevant(accounts, team):
    changed = accounts.copy()
    changed["risk"] = 0.0
    p = tp.plan(changed, team)
    e = explain(p, first_in(p, "tier3"))
    assert e.moves
    assert all(m.arr is None for m in e.moves)
    assert all(m.potential is not None for m in e.moves)


def test_pinned_and_specialist_accounts(accounts):
    changed = accounts.copy()
    small = str(changed.sort_values("arr")["account_id"].iloc[0])
    changed["pinned_tier"] = None
    changed.loc[changed["account_id"] == small, "pinned_tier"] = "tier1"
    team = tp.Team.from_headcount({"tier1": 2, "tier2": 1}, specialists={"tier1": {"finance": 1}})
    p = tp.plan(changed, team)
    pinned = explain(p, small)
    assert pinned.pinned and pinned.tier == "tier1"
    assert "pinned" in pinned.reason
    a = p.assignments
    special = str(a.loc[a["pool"] == "tier1 finance", "account_id"].iloc[0])
    e = explain(p, special)
    assert e.specialist and "specialist pool" in e.reason
    assert e.marginal_value == pytest.approx(e.prices["tier1 finance"])


def test_unknown_account_is_named(plan):
    with pytest.raises(tp.InputError, match="NOPE-1"):
        explain(plan, "NOPE-1")


def test_infeasible_plan_cannot_be_explained(accounts):
    changed = accounts.copy()
    changed["pinned_tier"] = None
    changed.loc[:49, "pinned_tier"] = "tier1"
    p = tp.plan(changed, tp.Team.from_headcount({"tier1": 2}))
    assert p.status == "infeasible"
    with pytest.raises(tp.ConfigError, match="infeasible"):
        explain(p, str(changed["account_id"].iloc[0]))


def test_custom_values_give_no_thresholds(accounts, team):
    model = tp.CoverageModel()
    acc = tp.load_accounts(accounts, tiers=model.tier_names)
    matrix = pd.DataFrame(tp.value_matrix(acc, model) ** 0.5, columns=model.tier_names)
    matrix.index = pd.Index(acc.ids, name="account_id")
    p = tp.plan(accounts, team, values=matrix)
    e = explain(p, first_in(p, "tier3"))
    assert all(m.stake is None and m.arr is None for m in e.moves)
    assert any("custom value matrix" in note for note in e.notes)


def test_text_is_readable(plan):
    aid = first_in(plan, "tier2")
    e = explain(plan, aid)
    text = str(e)
    assert text == repr(e)
    assert text.startswith(f"Account {aid}: tier2")
    for part in ("value by tier", "why:", "price of a place", "to move up", "tier1"):
        assert part in text
