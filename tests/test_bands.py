"""policy='bands': tiers follow cut points exactly; the price of explainability."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tierplan as tp
from tierplan.rules import apply_rules


def obeys(plan, accounts):
    """Accounts whose plan tier differs from the plan's own rules."""
    by_rule = apply_rules(plan.rules, accounts).to_numpy()
    tier = plan.assignments.set_index("account_id").loc[accounts["account_id"], "tier"]
    return set(accounts["account_id"][by_rule != tier.to_numpy()])


@pytest.fixture(scope="module")
def pair(accounts, team):
    return tp.plan(accounts, team), tp.plan(accounts, team, policy="bands", name="bands")


def test_bands_plan_follows_its_rules_exactly(pair, accounts):
    _, bands = pair
    assert bands.status == "optimal" and bands.policy == "bands"
    assert obeys(bands, accounts) == set()
    assert bands.exceptions.empty
    assert (bands.rules["exceptions"] == 0).all()
    assert set(bands.rules["scope"]) == {"all"}


def test_price_is_what_the_free_optimum_gains(pair):
    free, bands = pair
    price = bands.price_of_explainability
    assert price.absolute >= 0
    assert bands.objective <= free.objective + 1e-6
    assert price.free_objective == pytest.approx(free.objective)
    assert price.bands_objective == pytest.approx(bands.objective)
    assert price.absolute == pytest.approx(free.objective - bands.objective, abs=1e-6)
    assert price.relative == pytest.approx(price.absolute / free.objective)
    assert "price of explainability" in bands.summary()


def test_bands_respect_capacity(pair):
    _, bands = pair
    books = bands.books
    assert (books["accounts"] <= books["max_accounts"]).all()


@settings(max_examples=15)
@given(
    seed=st.integers(0, 10_000), n1=st.integers(1, 3), n2=st.integers(0, 2), pins=st.integers(0, 3)
)
def test_bands_invariants_on_random_data(seed, n1, n2, pins):
    accounts = tp.synthetic_accounts(n=250, seed=seed)
    rng = np.random.default_rng(seed)
    pinned = rng.choice(len(accounts), size=pins, replace=False)
    accounts["pinned_tier"] = None
    accounts.loc[pinned, "pinned_tier"] = "tier1"
    team = tp.Team.from_headcount({"tier1": n1, "tier2": n2}, specialists={"tier1": {"finance": 1}})
    free = tp.plan(accounts, team)
    bands = tp.plan(accounts, team, policy="bands")
    assert bands.feasible
    assert bands.objective <= free.objective + 1e-6
    assert bands.price_of_explainability.absolute >= 0
    # Only pinned accounts may break the rule, and they are listed.
    off = obeys(bands, accounts)
    assert off <= set(accounts["account_id"].iloc[pinned])
    assert off == set(bands.exceptions["account_id"])
    assert (bands.exceptions["cause"] == "pinned").all()
    tiers = bands.assignments.set_index("account_id")["tier"]
    assert (tiers.loc[accounts["account_id"].iloc[pinned]] == "tier1").all()


def test_bands_equal_free_when_the_optimum_is_a_band_rule():
    # Value grows with ARR alone (no whitespace, same risk and complexity):
    # the free optimum is an ARR band, so explainability costs nothing.
    rng = np.random.default_rng(4)
    n = 600
    accounts = pd.DataFrame(
        {
            "account_id": [f"A{k:04d}" for k in range(n)],
            "arr": rng.permutation(np.arange(1, n + 1) * 1_000.0),
            "potential": 0.0,
            "risk": 0.2,
        }
    )
    team = tp.Team.from_headcount({"tier1": 2, "tier2": 1})
    free = tp.plan(accounts, team)
    bands = tp.plan(accounts, team, policy="bands")
    assert bands.price_of_explainability.absolute == pytest.approx(0.0, abs=1e-6)
    assert bands.objective == pytest.approx(free.objective)
    pd.testing.assert_series_equal(free.assignments["tier"], bands.assignments["tier"])
    rule = bands.rules.set_index("tier")
    assert rule.loc["tier1", "rule"] == "ARR ≥ $561k"
    assert free.exceptions.empty


def test_bands_do_not_depend_on_row_order(accounts, team, pair):
    _, bands = pair
    other = tp.plan(accounts.sample(frac=1.0, random_state=5), team, policy="bands", name="bands")
    pd.testing.assert_frame_equal(other.rules, bands.rules)
    a = bands.assignments.set_index("account_id")["tier"].sort_index()
    b = other.assignments.set_index("account_id")["tier"].sort_index()
    pd.testing.assert_series_equal(a, b)
    assert other.objective == pytest.approx(bands.objective)


def test_no_band_rule_fits_is_an_infeasible_status_not_an_error():
    # Whitespace is 0, so every rule is an ARR cut and a non-empty tier 1
    # holds the largest account; that account may not be tier 1 and tier 1
    # must hold at least one account: no band rule fits, a free plan does.
    n = 50
    accounts = pd.DataFrame(
        {"account_id": [f"A{k:02d}" for k in range(n)], "arr": np.arange(1, n + 1) * 1e3}
    )
    values = pd.DataFrame(
        {"tier1": np.arange(n) * 10.0, "tier2": np.arange(n) * 5.0, "tier3": 0.0},
        index=accounts["account_id"],
    )
    values.iloc[-1, 0] = np.nan
    roster = pd.DataFrame(
        {"csm_id": ["c1"], "tier": ["tier1"], "max_accounts": [5], "min_accounts": [1]}
    )
    team = tp.Team.from_roster(roster)
    assert tp.plan(accounts, team, values=values).feasible
    bands = tp.plan(accounts, team, values=values, policy="bands")
    assert bands.status == "infeasible"
    assert "no band rule" in bands.diagnosis[0]
    assert bands.price_of_explainability is None
    assert "No plan fits" in bands.summary()


def test_policy_is_validated(accounts, team):
    with pytest.raises(tp.ConfigError, match="policy"):
        tp.plan(accounts, team, policy="rules")
    with pytest.raises(tp.ConfigError, match="hours"):
        tp.plan(accounts, team, policy="bands", hours=True)
    with pytest.raises(tp.ConfigError, match="max_moves"):
        tp.plan(accounts, team, policy="bands", max_moves=3)


@settings(max_examples=15)
@given(seed=st.integers(0, 10_000))
def test_bands_recover_a_two_clause_optimum(seed):
    # Tier 1 is worth much more to exactly the accounts of a two-clause rule,
    # and holds exactly as many: the free optimum is that rule, so the band
    # search must find it and explainability costs nothing.
    rng = np.random.default_rng(seed)
    n = 300
    arr = rng.permutation(np.arange(1, n + 1)) * 1_000.0
    potential = rng.permutation(np.arange(1, n + 1)) * 700.0
    a, b, w = np.quantile(arr, 0.93), np.quantile(arr, 0.5), np.quantile(potential, 0.85)
    inside = (arr >= a) | ((arr >= b) & (potential >= w))
    accounts = pd.DataFrame(
        {"account_id": [f"A{k:03d}" for k in range(n)], "arr": arr, "potential": potential}
    )
    values = pd.DataFrame(
        {"tier1": np.where(inside, 100.0 + arr / 1e3, 1.0), "tier2": 0.0, "tier3": 0.0},
        index=accounts["account_id"],
    )
    roster = pd.DataFrame(
        {"csm_id": ["c1"], "tier": ["tier1"], "max_accounts": [int(inside.sum())]}
    )
    team = tp.Team.from_roster(roster)
    free = tp.plan(accounts, team, values=values)
    bands = tp.plan(accounts, team, values=values, policy="bands")
    assert bands.price_of_explainability.absolute == pytest.approx(0.0, abs=1e-6)
    tiers = bands.assignments["tier"].to_numpy()
    assert ((tiers == "tier1") == inside).all()
    assert (free.assignments["tier"].to_numpy() == tiers).all()
    first = bands.rules.set_index("tier").loc["tier1"]
    assert first["whitespace_cut"] > 0 and "with whitespace" in first["rule"]


def test_bands_reach_reports_explain_and_the_command_line(pair, tmp_path, capsys):
    from openpyxl import load_workbook

    from tierplan.cli import main

    _, bands = pair
    book = load_workbook(bands.to_excel(tmp_path / "bands.xlsx"), read_only=True)
    assert {"rules", "exceptions", "quadrants", "checks"} <= set(book.sheetnames)
    summary = {row[0]: row[1] for row in book["summary"].iter_rows(values_only=True) if row[0]}
    assert summary["price of explainability (bands)"] == pytest.approx(
        bands.price_of_explainability.absolute
    )
    from tierplan.reports import to_html

    page = to_html(bands, tmp_path / "bands.html", plots=False).read_text(encoding="utf-8")
    assert "Rules in words" in page and "price of explainability" in page
    assert "ARR × whitespace 2×2" in page and "Checks" in page
    account = bands.assignments["account_id"].iloc[0]
    assert any("policy='bands'" in note for note in bands.explain(account).notes)
    accounts = tp.synthetic_accounts(n=300, seed=1)
    path = tmp_path / "accounts.csv"
    accounts.to_csv(path, index=False)
    assert main(["plan", str(path), "--team", "tier1=1,tier2=1", "--policy", "bands"]) == 0
    assert "price of explainability" in capsys.readouterr().out
