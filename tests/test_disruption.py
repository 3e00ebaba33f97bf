"""Disruption controls of a re-plan: prices, budgets, hysteresis, locks, frontier, borrowing."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tierplan as tp


def with_state(accounts: pd.DataFrame, plan: tp.Plan) -> pd.DataFrame:
    out = accounts.copy()
    out["current_tier"] = plan.assignments["tier"].to_numpy()
    out["current_csm"] = plan.assignments["csm_id"].to_numpy()
    return out


def jitter(frame: pd.DataFrame, low: float, high: float, seed: int) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = frame.copy()
    out["arr"] = out["arr"] * rng.uniform(low, high, len(out))
    return out


@pytest.fixture(scope="module")
def small():
    accounts = tp.synthetic_accounts(n=1_000, seed=5)
    team = tp.Team.from_headcount({"tier1": 3, "tier2": 2})
    first = tp.plan(accounts, team)
    return first, with_state(accounts, first), team


@pytest.fixture(scope="module")
def perturbed(small):
    return jitter(small[1], 0.3, 3.0, seed=3)


def per_csm_changes(moves: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    left = moves[moves["from_csm"].notna() & (moves["from_csm"] != moves["to_csm"])]
    joined = moves[moves["to_csm"].notna() & (moves["to_csm"] != moves["from_csm"])]
    return left.groupby("from_csm").size(), joined.groupby("to_csm").size()


# -- the checks ---------------------------------------------------------
@pytest.mark.parametrize(
    "options",
    [
        {},
        {"hysteresis": 0.1},
        {"move_penalty": {"tier": 1_000, "csm": 500, "move": 10}},
        {"max_moves": 3, "solver": "highs"},
        {"max_moves_per_csm": 2, "solver": "highs"},
    ],
)
def test_replanning_unchanged_data_moves_nothing_under_any_control(small, options):
    first, current, team = small
    again = tp.plan(current, team, **options)
    assert again.moves.empty
    assert again.objective == pytest.approx(first.objective, rel=1e-9)
    pd.testing.assert_series_equal(again.assignments["csm_id"], first.assignments["csm_id"])


@pytest.mark.parametrize("options", [{"hours": True}, {"hours": True, "budget": 5e6}])
def test_replanning_unchanged_data_on_the_mip_path_moves_nothing(options):
    # The MIP stops within its gap; here it would find another plan inside
    # the gap and move accounts for it, unless the current state is kept.
    accounts = tp.synthetic_accounts(n=800, seed=9)
    roster = pd.DataFrame({"csm_id": list("abcdpq"), "tier": ["tier1"] * 4 + ["tier2"] * 2})
    team = tp.Team.from_roster(roster)
    first = tp.plan(accounts, team, **options)
    assert first.solver_info["path"] == "mip"
    again = tp.plan(with_state(accounts, first), team, **options)
    assert again.status == "optimal"
    assert again.moves.empty
    assert again.objective == pytest.approx(first.objective, rel=1e-12)
    assert again.gap <= 2 * 1e-4
    assert again.solver_info["current_state_kept"]


@pytest.mark.parametrize("k", [0, 4, 10])
def test_max_moves_caps_every_kind_of_move(small, perturbed, k):
    team = small[2]
    plan = tp.plan(perturbed, team, max_moves=k, solver="highs")
    assert plan.status == "optimal"
    assert len(plan.moves) <= k
    assert plan.moves["reason"].str.len().gt(0).all()


@settings(max_examples=5)
@given(
    seed=st.integers(0, 10_000),
    budgets=st.lists(st.integers(0, 12), min_size=2, max_size=3, unique=True),
)
def test_move_budget_is_kept_and_never_costs_impact_as_it_grows(seed, budgets):
    accounts = tp.synthetic_accounts(n=300, seed=seed)
    team = tp.Team.from_headcount({"tier1": 2, "tier2": 1})
    data = jitter(with_state(accounts, tp.plan(accounts, team)), 0.4, 2.5, seed=seed + 1)
    previous = -np.inf
    for k in sorted(budgets):
        plan = tp.plan(data, team, max_moves=k, solver="highs")
        assert plan.status == "optimal"
        assert len(plan.moves) <= k
        assert plan.moves["reason"].str.len().gt(0).all()
        # Each plan is optimal within the MIP gap (1e-4): a larger budget is
        # never worse by more than that (the frontier is exactly monotone).
        assert plan.objective >= previous * (1 - 1e-4)
        previous = plan.objective


def test_max_moves_per_csm_holds_for_leaving_and_joining(small, perturbed):
    team = small[2]
    free = tp.plan(perturbed, team)
    left, joined = per_csm_changes(free.moves)
    assert max(left.max(), joined.max()) > 2  # the limit below binds
    plan = tp.plan(perturbed, team, max_moves_per_csm=2, solver="highs")
    assert plan.status == "optimal"
    left, joined = per_csm_changes(plan.moves)
    assert left.max() <= 2
    assert joined.max() <= 2
    assert plan.objective <= free.objective + 1e-6
    assert (plan.books["accounts"] <= plan.books["max_accounts"]).all()


def test_max_moves_per_csm_spreads_a_departure(small):
    first = small[0]
    leaving = "tier1-gen-01"
    after = first.reassign(departing=[leaving], max_moves_per_csm=3, solver="highs")
    assert after.status == "optimal"
    _, joined = per_csm_changes(after.moves)
    assert joined.max() <= 3
    assert (after.books["accounts"] <= after.books["max_accounts"]).all()
    assert leaving not in set(after.assignments["csm_id"].dropna())


def test_options_are_validated(small):
    _, current, team = small
    with pytest.raises(tp.ConfigError, match="move_penalty"):
        tp.plan(current, team, move_penalty={"owner": 5})
    with pytest.raises(tp.ConfigError, match="move_penalty"):
        tp.plan(current, team, move_penalty=-1)
    with pytest.raises(tp.ConfigError, match="max_moves_per_csm"):
        tp.plan(current, team, max_moves_per_csm=1.5)
    with pytest.raises(tp.ConfigError, match="hysteresis"):
        tp.plan(current, team, hysteresis=1.0)


# -- prices ---------------------------------------------------------------------
@pytest.fixture(scope="module")
def regional():
    accounts = tp.synthetic_accounts(n=600, seed=9)
    roster = pd.DataFrame(
        {
            "csm_id": ["a", "b", "c", "d", "p"],
            "tier": ["tier1", "tier1", "tier1", "tier1", "tier2"],
            "region": ["NA", "EMEA", "NA", "EMEA", ""],
        }
    )
    team = tp.Team.from_roster(roster)
    first = tp.plan(accounts, team)
    return with_state(accounts, first), team


def test_csm_change_price_decides_who_keeps_an_account(regional):
    current, team = regional
    fit = {"region": 1_000}
    free = tp.plan(current, team, fit_bonus=fit)
    owners = (free.moves["move"] == "new owner").sum()
    assert owners > 0  # the region fit alone reshuffles books
    assert (free.moves["move"] == "new owner").all()
    cheap = tp.plan(current, team, fit_bonus=fit, move_penalty={"csm": 500})
    dear = tp.plan(current, team, fit_bonus=fit, move_penalty={"csm": 5_000})
    # Cheap changes are made where the fit pays for them, not to make room
    # for nothing; dear ones are not made at all.
    assert 0 < (cheap.moves["move"] == "new owner").sum() <= owners
    assert cheap.moves["reason"].str.contains("shares the account's region").all()
    assert dear.moves.empty
    # The tier plan itself is the same: only who holds an account changed.
    assert dear.objective == pytest.approx(free.objective)


def test_move_budget_holds_when_fit_redeals_books(regional):
    current, team = regional
    fitted = tp.plan(current, team, fit_bonus={"region": 1_000}, max_moves=4, solver="highs")
    assert fitted.status == "optimal"
    assert 0 < len(fitted.moves) <= 4
    moved = fitted.assignments.set_index("account_id").loc[fitted.moves["account_id"]]
    assert moved["csm_id"].notna().all()


def test_number_and_mapping_forms_of_move_penalty_agree(small, perturbed):
    team = small[2]
    a = tp.plan(perturbed, team, move_penalty=5_000)
    b = tp.plan(perturbed, team, move_penalty={"tier": 5_000})
    pd.testing.assert_frame_equal(a.assignments, b.assignments)


# -- hysteresis -----------------------------------------------------------------
def test_hysteresis_ignores_small_changes_and_follows_large_ones(small, perturbed):
    current, team = small[1], small[2]
    nudged = jitter(current, 0.9, 1.1, seed=3)
    assert len(tp.plan(nudged, team).moves) > 0  # without a band, noise moves accounts
    assert tp.plan(nudged, team, hysteresis=0.1).moves.empty
    banded = tp.plan(perturbed, team, hysteresis=0.1)
    assert len(banded.moves) > 0
    assert len(banded.moves) < len(tp.plan(perturbed, team).moves)
    assert banded.solver_info["path"] == "network"


# -- locks ------------------------------------------------------------------------
def test_locked_accounts_never_move(small, perturbed):
    team = small[2]
    free = tp.plan(perturbed, team)
    would_move = free.moves["account_id"].tolist()[:8]
    data = perturbed.copy()
    data["locked"] = data["account_id"].isin(would_move)
    plan = tp.plan(data, team)
    assert plan.status == "optimal"
    assert not set(plan.moves["account_id"]) & set(would_move)
    kept = plan.assignments.set_index("account_id").loc[would_move]
    before = data.set_index("account_id").loc[would_move]
    assert (kept["tier"] == before["current_tier"]).all()
    assert (kept["csm_id"].fillna("") == before["current_csm"].fillna("")).all()


def test_locked_column_must_be_boolean(small):
    _, current, team = small
    data = current.copy()
    data["locked"] = False
    data["locked"] = data["locked"].astype(object)
    data.loc[[3, 7], "locked"] = "yes"
    bad = data.loc[[3, 7], "account_id"].tolist()
    with pytest.raises(tp.InputError, match="locked") as err:
        tp.plan(data, team)
    assert err.value.ids == bad


def test_locks_need_a_place_to_stay(small):
    _, current, team = small
    data = current.copy()
    data["locked"] = False
    data.loc[0, "locked"] = True
    data.loc[0, "current_tier"] = None
    with pytest.raises(tp.InputError, match="current_tier"):
        tp.plan(data, team)
    data = current.copy()
    data["locked"] = data["current_csm"].eq("tier1-gen-01") & (data.index < 300)
    assert data["locked"].any()
    without = pd.DataFrame(
        {
            "csm_id": ["tier1-gen-02", "tier1-gen-03", "tier2-gen-01", "tier2-gen-02"],
            "tier": ["tier1", "tier1", "tier2", "tier2"],
        }
    )
    with pytest.raises(tp.InputError, match="not on the team"):
        tp.plan(data, tp.Team.from_roster(without))


def test_locks_that_overfill_a_book_are_infeasible_not_an_error(small):
    _, current, team = small
    data = current.copy()
    tier2 = data.index[data["current_csm"] == "tier2-gen-02"][:5]
    data.loc[tier2, ["current_tier", "current_csm"]] = ["tier1", "tier1-gen-01"]
    data["locked"] = data["current_csm"].eq("tier1-gen-01")
    plan = tp.plan(data, team)
    assert plan.status == "infeasible"
    assert any("locked" in reason and "tier1-gen-01" in reason for reason in plan.diagnosis)


# -- departures -----------------------------------------------------------------
def test_departure_moves_only_the_leavers_accounts_when_there_is_room():
    accounts = tp.synthetic_accounts(n=150, seed=2)
    team = tp.Team.from_headcount({"tier1": 5, "tier2": 3})
    first = tp.plan(accounts, team)
    books = first.books.set_index("csm_id")
    assert books.loc["tier2-gen-01", "accounts"] < books.loc["tier2-gen-01", "max_accounts"]
    leaving = "tier2-gen-01"
    held = set(first.assignments.loc[first.assignments["csm_id"] == leaving, "account_id"])
    after = first.reassign(departing=[leaving])
    assert after.status == "optimal"
    assert set(after.moves["account_id"]) == held
    assert (after.moves["reason"] == f"CSM {leaving} left").all()
    assert (after.moves["to_tier"] == after.moves["from_tier"]).all()
    assert after.moves["to_csm"].nunique() == 2  # spread, not handed to one CSM
    assert (after.books["accounts"] <= after.books["max_accounts"]).all()


def test_departure_with_fit_sends_the_leavers_accounts_to_matching_csms():
    accounts = tp.synthetic_accounts(n=60, seed=3)
    roster = pd.DataFrame(
        {
            "csm_id": ["a", "b", "c", "d", "p"],
            "tier": ["tier1", "tier1", "tier1", "tier1", "tier2"],
            "region": ["NA", "EMEA", "NA", "EMEA", ""],
        }
    )
    first = tp.plan(accounts, tp.Team.from_roster(roster))
    held = set(first.assignments.loc[first.assignments["csm_id"] == "a", "account_id"])
    plain = first.reassign(departing=["a"])
    fitted = first.reassign(departing=["a"], fit_bonus={"region": 1_000})
    for after in (plain, fitted):
        assert set(after.moves["account_id"]) == held
        assert (after.books["accounts"] <= after.books["max_accounts"]).all()
    region = accounts.set_index("account_id")["region"]

    def matches(plan: tp.Plan) -> int:
        moved = plan.moves.set_index("account_id")
        theirs = moved["to_csm"].map(roster.set_index("csm_id")["region"])
        return int((theirs == region.loc[moved.index]).sum())

    assert matches(fitted) > matches(plain)


# -- frontier -------------------------------------------------------------------
def test_frontier_is_monotone_bounded_and_exact_where_it_says(small, perturbed):
    team = small[2]
    front = tp.disruption_frontier(perturbed, team, moves=[0, 3, 10, 30, 1_000])
    assert list(front["max_moves"]) == [0, 3, 10, 30, 1_000]
    assert (front["moves"] <= front["max_moves"]).all()
    assert front["expected_impact"].is_monotonic_increasing
    assert (front["expected_impact"] <= front["bound"] * (1 + 1e-9)).all()
    assert front.loc[0, "moves"] == 0
    assert front.loc[0, "gain"] == pytest.approx(0.0)
    free = tp.plan(perturbed, team)
    assert front["expected_impact"].iloc[-1] == pytest.approx(free.objective, rel=1e-9)
    from tierplan.plots import disruption

    fig = disruption(front)
    assert fig.axes[0].get_xlabel() == "accounts moved"
    for row in front[front["exact"]].itertuples():
        mip = tp.plan(perturbed, team, max_moves=int(row.max_moves), solver="highs")
        assert row.expected_impact >= mip.objective * (1 - 1e-4)


@settings(max_examples=4)
@given(seed=st.integers(0, 10_000), budgets=st.lists(st.integers(0, 60), min_size=2, max_size=5))
def test_frontier_impact_never_decreases_with_the_budget(small, seed, budgets):
    team = small[2]
    data = jitter(small[1], 0.5, 2.0, seed=seed)
    front = tp.disruption_frontier(data, team, moves=budgets)
    assert front["max_moves"].is_monotonic_increasing
    assert front["expected_impact"].is_monotonic_increasing
    assert (front["moves"] <= front["max_moves"]).all()


def test_frontier_exact_mode_and_mip_only_options(small, perturbed):
    team = small[2]
    front = tp.disruption_frontier(perturbed, team, moves=[0, 3], exact=True)
    assert front["exact"].all()
    mip = tp.disruption_frontier(perturbed, team, moves=[0, 4], max_moves_per_csm=2, solver="highs")
    assert mip["expected_impact"].is_monotonic_increasing
    assert (mip["moves"] <= mip["max_moves"]).all()
    with pytest.raises(tp.ConfigError, match="max_moves"):
        tp.disruption_frontier(perturbed, team, max_moves=3)
    with pytest.raises(tp.InputError, match="current"):
        tp.disruption_frontier(tp.synthetic_accounts(n=100, seed=1), team)


def test_default_frontier_spans_no_moves_to_the_free_replan(small, perturbed):
    team = small[2]
    front = tp.disruption_frontier(perturbed, team)
    free = tp.plan(perturbed, team)
    assert front["max_moves"].iloc[0] == 0
    assert front["moves"].iloc[-1] == len(free.moves)


# -- temporary borrowing -------------------------------------------------------------
@pytest.fixture(scope="module")
def alerted(small):
    current, team = small[1], small[2]
    rng = np.random.default_rng(4)
    data = current.copy()
    data["health_drop"] = rng.normal(0.0, 8.0, len(data))
    data["renewal_days"] = rng.integers(0, 365, len(data)).astype(float)
    data["alert"] = False
    data.loc[:4, "alert"] = True
    return data, team


def test_tech_touch_accounts_on_alert_are_borrowed_not_retiered(small, alerted):
    data, team = alerted
    plain = tp.plan(small[1], team)
    plan = tp.plan(data, team)
    borrowed = plan.borrowed
    assert len(borrowed) > 0
    assert plan.objective == plain.objective
    pd.testing.assert_series_equal(plan.assignments["tier"], plain.assignments["tier"])
    assert (borrowed["tier"] == "tier3").all()
    assert borrowed["borrowed_by"].str.startswith("tier2").all()
    assert borrowed["reason"].str.len().gt(0).all()
    table = plan.assignments.set_index("account_id")
    assert set(table.index[table["borrowed_by"].notna()]) == set(borrowed["account_id"])
    # Who is on alert: a 15-point health drop, a renewal within 90 days at
    # 30% risk, or the alert flag; the rest of tech-touch stays unborrowed.
    tech = table[table["tier"] == "tier3"]
    source = data.set_index("account_id").loc[tech.index]
    expected = (
        source["alert"]
        | (source["health_drop"] >= 15)
        | ((source["renewal_days"] <= 90) & (source["risk"] >= 0.3))
    )
    assert set(tech.index[expected.to_numpy()]) == set(borrowed["account_id"])
    counts = borrowed["borrowed_by"].value_counts()
    assert counts.max() - counts.min() <= 1  # equal books: spread evenly
    assert "temporary borrowing" in plan.summary()
    assert len(plan.moves) == len(plain.moves)


def test_alert_thresholds_are_options(alerted):
    data, team = alerted
    strict = tp.plan(data, team, alerts={"health_drop": 100, "renewal_days": 0})
    assert set(strict.borrowed["reason"]) <= {"alert raised"}
    with pytest.raises(tp.ConfigError, match="alerts"):
        tp.plan(data, team, alerts={"nps": 3})
    with pytest.raises(tp.ConfigError, match="alert columns"):
        tp.plan(tp.synthetic_accounts(n=100, seed=1), team, alerts={"health_drop": 10})
    bad = data.copy()
    bad["renewal_days"] = bad["renewal_days"] - 400
    with pytest.raises(tp.InputError, match="renewal_days"):
        tp.plan(bad, team)


def test_no_alert_columns_means_no_borrowing(small):
    plan = tp.plan(small[1], small[2])
    assert plan.borrowed.empty
    assert "borrowed_by" not in plan.assignments.columns


def test_frontier_reports_locks_that_cannot_hold(small):
    _, current, team = small
    data = current.copy()
    tier2 = data.index[data["current_csm"] == "tier2-gen-02"][:5]
    data.loc[tier2, ["current_tier", "current_csm"]] = ["tier1", "tier1-gen-01"]
    data["locked"] = data["current_csm"].eq("tier1-gen-01")
    front = tp.disruption_frontier(data, team, moves=[0, 5])
    assert (front["status"] == "infeasible").all()
    assert any("tier1-gen-01" in reason for reason in front.attrs["diagnosis"])


def test_hysteresis_with_forbidden_tiers_in_a_user_value_matrix(small, perturbed):
    first, _, team = small
    values = first.values.copy()
    values.iloc[:50, 0] = np.nan  # these accounts may not be tier 1
    data = perturbed.copy()
    plan = tp.plan(data, team, values=values.to_numpy(), hysteresis=0.1)
    assert plan.status == "optimal"
    assert np.isfinite(plan.objective)
    blocked = set(values.index[:50])
    tier1 = plan.assignments.loc[plan.assignments["tier"] == "tier1", "account_id"]
    assert not blocked & set(tier1)


def test_a_move_budget_below_the_departures_is_infeasible_with_a_reason(small):
    first = small[0]
    after = first.reassign(departing=["tier1-gen-02"], max_moves=3, solver="highs")
    assert after.status == "infeasible"
    assert any("no longer on the team" in reason for reason in after.diagnosis)
    assert "max_moves=3" in after.summary()


def test_excel_report_has_moves_and_borrowed_sheets(alerted, tmp_path):
    from openpyxl import load_workbook

    data, team = alerted
    data = jitter(data, 0.3, 3.0, seed=5)
    plan = tp.plan(data, team)
    assert not plan.moves.empty and not plan.borrowed.empty
    book = load_workbook(plan.to_excel(tmp_path / "plan.xlsx"), read_only=True)
    assert {"moves", "borrowed"} <= set(book.sheetnames)
    assert book["moves"].max_row == len(plan.moves) + 1


def test_per_csm_program_too_large_is_refused_in_words(small, monkeypatch):
    import tierplan.disruption as disruption

    monkeypatch.setattr(disruption, "MAX_CSM_PAIRS", 100)
    _, current, team = small
    with pytest.raises(tp.ConfigError, match="one column per account and CSM"):
        tp.plan(current, team, max_moves_per_csm=2)
