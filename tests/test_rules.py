"""Rules in words, their exceptions, the 2×2 and the guards."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tierplan as tp
from tierplan.rules import (
    BoundaryRule,
    apply_rules,
    fit_boundary,
    money_exact,
    roundest_between,
)


def misplaced(arr, pot, upper, rule):
    return int((rule.contains(arr, pot) != upper).sum())


@given(
    st.lists(
        st.tuples(st.integers(0, 12), st.integers(0, 12), st.booleans()), min_size=1, max_size=30
    )
)
def test_fit_boundary_is_best_two_clause_rule(rows):
    arr = np.array([r[0] for r in rows], dtype=float)
    pot = np.array([r[1] for r in rows], dtype=float)
    upper = np.array([r[2] for r in rows])
    rule, bad = fit_boundary(arr, pot, upper)
    assert bad == misplaced(arr, pot, upper, rule)
    cuts = [*np.unique(arr).tolist(), math.inf]
    whitespace = [*np.unique(pot[pot > 0]).tolist()]
    best = min(misplaced(arr, pot, upper, BoundaryRule(a)) for a in cuts)
    for a in cuts:
        for b in cuts[:-1]:
            for w in whitespace:
                best = min(best, misplaced(arr, pot, upper, BoundaryRule(a, b, w)))
    assert bad == best


@given(st.floats(0, 1e9), st.floats(1e-3, 1e9))
def test_roundest_between_stays_in_the_gap(low, width):
    high = low + width
    c = roundest_between(low, high)
    assert low < c <= high


def test_round_thresholds_read_well():
    assert roundest_between(141_230.0, 143_870.0) == 143_000.0
    assert roundest_between(139_230.0, 143_870.0) == 140_000.0
    assert money_exact(142_000) == "$142k"
    assert money_exact(1_250_000) == "$1.25M"
    assert money_exact(55_500) == "$55.5k"


@pytest.fixture(scope="module")
def free_plan(accounts, team):
    return tp.plan(accounts, team)


def test_rules_table_shape_and_counts(free_plan):
    rules = free_plan.rules
    assert list(rules.columns[:6]) == [
        "scope",
        "tier",
        "arr_cut",
        "arr_with_whitespace_cut",
        "whitespace_cut",
        "rule",
    ]
    n = len(free_plan.assignments)
    assert rules["accounts"].sum() == n
    assert rules["rule_accounts"].sum() == n
    assert (rules["explained"] + rules["exceptions"] == rules["accounts"]).all()
    assert rules["exceptions"].sum() == len(free_plan.exceptions)
    last = rules[rules["tier"] == "tier3"]
    assert (last["rule"] == "every other account").all()
    first = rules[(rules["tier"] == "tier1") & (rules["scope"] == "all")].iloc[0]
    assert first["rule"].startswith("ARR ≥ $")
    # Existing cut points keep working next to the rules.
    assert len(free_plan.cut_points) > 0


def test_rules_reproduce_tiers_except_listed_exceptions(free_plan, accounts):
    by_rule = apply_rules(free_plan.rules, accounts)
    plan_tier = free_plan.assignments.set_index("account_id")["tier"]
    ids = accounts["account_id"]
    differs = set(ids[by_rule.to_numpy() != plan_tier.loc[ids].to_numpy()])
    assert differs == set(free_plan.exceptions["account_id"])
    exc = free_plan.exceptions.set_index("account_id")
    assert (exc.loc[list(differs), "rule_tier"] == by_rule.set_axis(ids).loc[list(differs)]).all()
    assert exc["reason"].str.len().gt(0).all()


@given(
    seed=st.integers(0, 10_000),
    n1=st.integers(1, 3),
    n2=st.integers(0, 2),
    fin=st.integers(0, 2),
    pins=st.integers(0, 4),
)
def test_rules_invariant_on_random_data(seed, n1, n2, fin, pins):
    accounts = tp.synthetic_accounts(n=250, seed=seed)
    rng = np.random.default_rng(seed)
    pinned = rng.choice(len(accounts), size=pins, replace=False)
    accounts["pinned_tier"] = None
    accounts.loc[pinned, "pinned_tier"] = "tier1"
    team = tp.Team.from_headcount(
        {"tier1": n1, "tier2": n2}, specialists={"tier1": {"finance": fin}} if fin else None
    )
    plan = tp.plan(accounts, team)
    assert plan.feasible
    by_rule = apply_rules(plan.rules, accounts).to_numpy()
    tier = plan.assignments["tier"].to_numpy()
    listed = plan.exceptions["account_id"]
    assert set(accounts["account_id"][by_rule != tier]) == set(listed)
    # Every pinned account that the rules place elsewhere is listed as pinned.
    exc = plan.exceptions.set_index("account_id")
    pinned_ids = set(accounts["account_id"].iloc[pinned]) & set(listed)
    assert (exc.loc[list(pinned_ids), "cause"] == "pinned").all()


def test_rules_do_not_depend_on_row_order(accounts, team, free_plan):
    shuffled = accounts.sample(frac=1.0, random_state=3)
    other = tp.plan(shuffled, team)
    pd.testing.assert_frame_equal(other.rules, free_plan.rules)
    a = free_plan.exceptions.sort_values("account_id").reset_index(drop=True)
    b = other.exceptions.sort_values("account_id").reset_index(drop=True)
    pd.testing.assert_frame_equal(a, b)


def test_exception_reasons_name_pins_and_capacity():
    accounts = tp.synthetic_accounts(n=400, seed=5)
    smallest = accounts.nsmallest(1, "arr")["account_id"].item()
    accounts["pinned_tier"] = np.where(accounts["account_id"] == smallest, "tier1", None)
    plan = tp.plan(accounts, tp.Team.from_headcount({"tier1": 1, "tier2": 1}))
    exc = plan.exceptions.set_index("account_id")
    assert exc.loc[smallest, "cause"] == "pinned"
    assert exc.loc[smallest, "reason"] == "pinned to tier1 (pinned_tier)"
    demoted = exc[exc["tier"] > exc["rule_tier"]]
    assert len(demoted) and demoted["cause"].isin(["capacity", "pinned"]).all()


def test_specialist_verticals_get_their_own_rules_only_when_better(free_plan):
    rules = free_plan.rules
    own = set(rules["scope"]) - {"all"}
    assert own <= {"finance", "telco"}


def test_quadrants_cross_tiers(free_plan):
    table = free_plan.quadrants
    assert list(table["quadrant"].unique()) == ["invest", "protect", "grow", "digital"]
    assert table["accounts"].sum() == len(free_plan.assignments)
    assert table["arr"].sum() == pytest.approx(free_plan.assignments["arr"].sum())
    cuts = table.attrs["cuts"]
    assign = free_plan.assignments
    grow = (assign["arr"] < cuts.arr) & (assign["potential"] >= cuts.whitespace)
    assert table.loc[table["quadrant"] == "grow", "accounts"].sum() == grow.sum()
    review = free_plan.review_list
    assert set(review["account_id"]) == set(assign.loc[grow, "account_id"])
    assert review["potential"].is_monotonic_decreasing


def test_checks_flag_tier1_inflation_in_the_current_segmentation():
    accounts = tp.synthetic_accounts(n=500, seed=8)
    top = accounts["arr"].rank(ascending=False) <= 100
    accounts["current_tier"] = np.where(top, "tier1", "tier3")
    plan = tp.plan(accounts, tp.Team.from_headcount({"tier1": 2, "tier2": 1}))
    checks = plan.checks.set_index("check")
    assert checks.loc["tier-1 inflation (current)", "status"] == "warn"
    assert "100 accounts in tier1" in checks.loc["tier-1 inflation (current)", "detail"]
    assert checks.loc["tier-1 inflation (plan)", "status"] == "ok"
    assert set(checks["status"]) <= {"ok", "warn"}
    detail = checks.loc["ARR per tier-1 CSM", "detail"]
    assert "$1M" in detail and "capacity" in detail
    assert "$2M" in checks.loc["ARR per CSM", "detail"]
    assert checks.loc["ARR per tier2 CSM", "status"] == "ok"


def test_checks_without_current_tier_skip_the_current_check(free_plan):
    assert "tier-1 inflation (current)" not in set(free_plan.checks["check"])


def test_summary_shows_rules_quadrants_and_checks(free_plan):
    text = free_plan.summary()
    assert "Rules (top-down" in text
    assert "2×2" in text and "invest" in text
    assert "Checks" in text and "tier-1 inflation (plan)" in text
    assert free_plan.price_of_explainability is None


def test_infeasible_plan_has_empty_rules(accounts):
    accounts = accounts.copy()
    accounts["pinned_tier"] = "tier1"
    plan = tp.plan(accounts, tp.Team.from_headcount({"tier1": 1}))
    assert plan.status == "infeasible"
    assert plan.rules.empty and plan.exceptions.empty
    assert "tier-1 inflation (plan)" not in set(plan.checks["check"])


def contains(outer, inner):
    """Whether rule row ``outer`` holds wherever rule row ``inner`` does (any account)."""

    def meets(row, arr, pot):
        a = row.arr_cut if pd.notna(row.arr_cut) else math.inf
        if arr >= a:
            return True
        if pd.isna(row.whitespace_cut):
            return False
        b = row.arr_with_whitespace_cut if pd.notna(row.arr_with_whitespace_cut) else 0.0
        return arr >= b and pot >= row.whitespace_cut

    a = inner.arr_cut if pd.notna(inner.arr_cut) else math.inf
    corners = [(a, 0.0)]
    if pd.notna(inner.whitespace_cut):
        corners.append((inner.arr_with_whitespace_cut, inner.whitespace_cut))
    return all(meets(outer, x, y) for x, y in corners if math.isfinite(x))


@pytest.mark.parametrize(("n", "named", "pooled", "seed"), [(1_000, 6, 1, 9), (2_000, 4, 1, 27)])
def test_fitted_rules_are_nested(n, named, pooled, seed):
    # Fitted boundary by boundary without the containment constraint, these
    # plans' rules are not nested. Nested rules mean any account (seen or
    # not) that meets a tier's rule meets the next tier's too, so reading the
    # rules top-down or as "this tier or higher" gives the same tier.
    accounts = tp.synthetic_accounts(n=n, seed=seed)
    plan = tp.plan(accounts, tp.Team.from_headcount({"tier1": named, "tier2": pooled}))
    for _, rules in plan.rules.groupby("scope", sort=False):
        rows = list(rules.itertuples())
        for k in range(len(rows) - 2):
            assert contains(rows[k + 1], rows[k]), (rows[k].rule, rows[k + 1].rule)


def test_baseline_is_explained_exactly_with_vertical_cuts(accounts, team):
    # The ARR-band baseline fills specialists with their vertical's largest
    # accounts: one ARR cut per vertical explains it, with no exception.
    accounts = accounts.assign(arr=accounts["arr"] + np.arange(len(accounts)) * 1e-3)
    base = tp.baseline_plan(accounts, team)
    assert base.exceptions.empty
    rules = base.rules
    assert {"finance", "telco"} <= set(rules["scope"])
    assert rules["whitespace_cut"].isna().all()
    assert (rules["explained"] == rules["accounts"]).all()


def test_apply_rules_names_what_is_missing(free_plan, accounts):
    with pytest.raises(tp.InputError, match="arr"):
        apply_rules(free_plan.rules, accounts.drop(columns="arr"))
    assert set(free_plan.rules["scope"]) > {"all"}
    with pytest.raises(tp.InputError, match="vertical"):
        apply_rules(free_plan.rules, accounts.drop(columns="vertical"))
    with pytest.raises(tp.InputError, match="whitespace_cut"):
        apply_rules(free_plan.rules.drop(columns="whitespace_cut"), accounts)
    # The top-level name is the same function.
    assert tp.apply_rules is apply_rules
