"""The core planner: invariants, optimality, determinism."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pulp
import pytest
from hypothesis import given
from hypothesis import strategies as st

import tierplan as tp

SOLVERS = [None, "cbc", "highs"]


def check_plan(plan: tp.Plan, accounts: pd.DataFrame, team: tp.Team) -> None:
    """The invariants every feasible plan obeys."""
    model = plan.model
    a = plan.assignments
    # Every account assigned exactly once.
    assert len(a) == len(accounts)
    assert a["account_id"].tolist() == accounts["account_id"].tolist()
    assert a["tier"].notna().all()
    roster = team.resolved(model).set_index("csm_id")
    human = {t.name for t in model.tiers if t.human}
    in_human = a["tier"].isin(human)
    # Human tiers have a CSM of that tier; tech-touch has none.
    assert a.loc[in_human, "csm_id"].notna().all()
    assert a.loc[~in_human, "csm_id"].isna().all()
    csm_tier = roster.loc[a.loc[in_human, "csm_id"], "tier"].to_numpy()
    assert (csm_tier == a.loc[in_human, "tier"].to_numpy()).all()
    # No book over its cap (or under its minimum).
    counts = a.loc[in_human, "csm_id"].value_counts().reindex(roster.index, fill_value=0)
    assert (counts <= roster["max_accounts"]).all()
    assert (counts >= roster["min_accounts"]).all()
    # Specialists only hold their vertical.
    held = a.loc[in_human, ["csm_id", "vertical"]]
    spec = roster.loc[held["csm_id"], "vertical"].to_numpy()
    ok = (spec == "") | (spec == held["vertical"].to_numpy())
    assert ok.all()
    # Pins hold.
    if "pinned_tier" in accounts.columns:
        pinned = accounts["pinned_tier"].notna().to_numpy()
        assert (a.loc[pinned, "tier"].to_numpy() == accounts.loc[pinned, "pinned_tier"]).all()
    # The objective is the sum of the chosen values.
    vals = plan.values.loc[a["account_id"]].to_numpy()
    tier_idx = a["tier"].map({t: k for k, t in enumerate(model.tier_names)}).to_numpy()
    chosen = vals[np.arange(len(a)), tier_idx]
    assert np.isclose(chosen.sum(), plan.objective, rtol=1e-9, atol=1e-6)
    assert np.allclose(a["expected_impact"].to_numpy(), chosen)


@pytest.mark.parametrize("solver", SOLVERS)
def test_plan_is_feasible_and_optimal_status(accounts, team, solver):
    plan = tp.plan(accounts, team, solver=solver)
    assert plan.status == "optimal"
    assert plan.gap == pytest.approx(0.0, abs=1e-6)
    assert plan.bound >= plan.objective - 1e-6 * abs(plan.objective)
    check_plan(plan, accounts, team)


def test_solvers_agree(accounts, team):
    objectives = [tp.plan(accounts, team, solver=s).objective for s in SOLVERS]
    assert objectives == pytest.approx([objectives[0]] * 3, rel=1e-9)


def test_tables_have_named_columns(accounts, team):
    plan = tp.plan(accounts, team)
    for column in ("account_id", "tier", "pool", "csm_id", "attention_hours", "expected_impact"):
        assert column in plan.assignments.columns
    for column in ("csm_id", "accounts", "arr", "attention_hours", "utilization"):
        assert column in plan.books.columns
    for column in (
        "tier",
        "accounts",
        "arr",
        "headcount",
        "arr_per_csm",
        "cost",
        "expected_impact",
    ):
        assert column in plan.tiers.columns
    assert list(plan.values.columns) == ["tier1", "tier2", "tier3"]
    assert plan.values.index.name == "account_id"
    assert plan.values.index.tolist() == accounts["account_id"].tolist()
    assert plan.tiers["accounts"].sum() == len(accounts)
    assert plan.books["accounts"].sum() == (plan.assignments["csm_id"].notna()).sum()
    assert plan.tiers.loc[plan.tiers.tier == "tier1", "headcount"].item() == 6
    assert plan.solve_seconds >= 0
    text = plan.summary()
    assert "tier1" in text and "Cut points" in text and "Books" in text
    assert "Plan('optimized', status='optimal'" in repr(plan)


def test_value_matrix_matches_the_documented_response(accounts, team):
    plan = tp.plan(accounts, team)
    model = plan.model
    r = model.response
    a = accounts.set_index("account_id")
    k = r.k_hours * (1 + a["complexity"].to_numpy())
    stake = (
        a["arr"] * a["risk"] * r.save_max
        + a["potential"] * r.conv_max
        + a["strategic"] * r.strategic_value
    ).to_numpy()
    h_min = min(t.attention_hours for t in model.tiers)
    for t in model.tiers:
        expected = stake * ((1 - np.exp(-t.attention_hours / k)) - (1 - np.exp(-h_min / k)))
        assert np.allclose(plan.values.loc[a.index, t.name].to_numpy(), expected)


def naive_optimum(accounts: pd.DataFrame, team: tp.Team, values: pd.DataFrame, model) -> float:
    """Independent formulation: one binary per account × CSM, built with lpSum."""
    roster = team.resolved(model)
    prob = pulp.LpProblem("naive", pulp.LpMaximize)
    ids = accounts["account_id"].tolist()
    verticals = dict(zip(ids, accounts["vertical"].fillna("")))
    human_tiers = [t.name for t in model.tiers if t.human]
    tech = [t.name for t in model.tiers if not t.human]
    x = {}
    for i in ids:
        for c, vert in zip(roster["csm_id"], roster["vertical"]):
            if vert and vert != verticals[i]:
                continue
            x[i, c] = pulp.LpVariable(f"x_{i}_{c}", cat="Binary")
    y = {(i, t): pulp.LpVariable(f"y_{i}_{t}", cat="Binary") for i in ids for t in tech}
    tier_of = dict(zip(roster["csm_id"], roster["tier"]))
    prob += pulp.lpSum(values.at[i, tier_of[c]] * v for (i, c), v in x.items()) + pulp.lpSum(
        values.at[i, t] * v for (i, t), v in y.items()
    )
    for i in ids:
        prob += (
            pulp.lpSum(v for (j, _), v in x.items() if j == i)
            + pulp.lpSum(v for (j, _), v in y.items() if j == i)
            == 1
        )
    for c, cap in zip(roster["csm_id"], roster["max_accounts"]):
        prob += pulp.lpSum(v for (_, d), v in x.items() if d == c) <= cap
    assert human_tiers
    prob.solve(pulp.HiGHS(msg=False))
    assert pulp.LpStatus[prob.status] == "Optimal"
    return float(pulp.value(prob.objective))


@pytest.mark.parametrize("seed", [1, 2])
def test_optimum_matches_independent_account_by_csm_formulation(seed):
    accounts = tp.synthetic_accounts(n=150, seed=seed)
    team = tp.Team.from_roster(
        pd.DataFrame(
            {
                "csm_id": ["a", "b", "c", "d", "e"],
                "tier": ["tier1", "tier1", "tier2", "tier2", "tier1"],
                "vertical": ["", "finance", "", "telco", "software"],
                "max_accounts": [7, 4, 30, 9, 3],
            }
        )
    )
    plan = tp.plan(accounts, team)
    assert plan.status == "optimal"
    expected = naive_optimum(accounts, team, plan.values, plan.model)
    assert plan.objective == pytest.approx(expected, rel=1e-9)
    check_plan(plan, accounts, team)


def brute_force(values: np.ndarray, csm_tier: list[int], caps: list[int], tech: int) -> float:
    """Best total over every assignment of accounts to CSMs or tech-touch."""
    n = values.shape[0]
    options = [*range(len(caps)), -1]
    best = -np.inf
    for combo in itertools.product(options, repeat=n):
        used = np.bincount([c for c in combo if c >= 0], minlength=len(caps))
        if (used > np.array(caps)).any():
            continue
        total = sum(values[i, csm_tier[c] if c >= 0 else tech] for i, c in enumerate(combo))
        best = max(best, total)
    return float(best)


@given(
    n=st.integers(1, 6),
    caps=st.lists(st.integers(1, 3), min_size=1, max_size=3),
    tiers=st.lists(st.sampled_from(["tier1", "tier2"]), min_size=3, max_size=3),
    data=st.data(),
)
def test_optimal_against_brute_force(n, caps, tiers, data):
    raw = data.draw(
        st.lists(
            st.tuples(
                st.floats(0, 100, allow_nan=False),
                st.floats(0, 100, allow_nan=False),
                st.floats(-20, 20, allow_nan=False),
            ),
            min_size=n,
            max_size=n,
        )
    )
    values = np.array(raw)
    accounts = pd.DataFrame({"account_id": [f"a{i}" for i in range(n)], "arr": 1.0})
    roster = pd.DataFrame(
        {
            "csm_id": [f"c{k}" for k in range(len(caps))],
            "tier": tiers[: len(caps)],
            "max_accounts": caps,
        }
    )
    team = tp.Team.from_roster(roster)
    plan = tp.plan(accounts, team, values=values)
    assert plan.status == "optimal"
    csm_tier = [0 if t == "tier1" else 1 for t in tiers[: len(caps)]]
    assert plan.objective == pytest.approx(brute_force(values, csm_tier, caps, 2), abs=1e-6)
    check_plan(plan, accounts, team)


account_rows = st.lists(
    st.tuples(
        st.floats(0, 2e6, allow_nan=False),
        st.floats(0, 2e6, allow_nan=False),
        st.floats(0, 1, allow_nan=False),
        st.sampled_from(["finance", "telco", "retail", ""]),
        st.floats(0, 3, allow_nan=False),
        st.sampled_from([None, None, None, None, "tier1", "tier2", "tier3"]),
    ),
    min_size=1,
    max_size=60,
)


def frame_from(rows) -> pd.DataFrame:
    frame = pd.DataFrame(
        rows, columns=["arr", "potential", "risk", "vertical", "complexity", "pinned_tier"]
    )
    frame.insert(0, "account_id", [f"acc{k:03d}" for k in range(len(frame))])
    return frame


team_sizes = st.tuples(st.integers(0, 3), st.integers(0, 2), st.integers(0, 2), st.integers(0, 2))


def small_team(sizes) -> tp.Team:
    t1, t1_fin, t2, t2_tel = sizes
    return tp.Team.from_headcount(
        {"tier1": t1, "tier2": t2},
        specialists={"tier1": {"finance": t1_fin}, "tier2": {"telco": t2_tel}},
    )


SMALL = tp.CoverageModel().with_changes(
    tiers=[
        {**tp.CoverageModel().tier("tier1").model_dump(), "max_book": 3},
        {**tp.CoverageModel().tier("tier2").model_dump(), "max_book": 6},
        tp.CoverageModel().tier("tier3").model_dump(),
    ]
)


@given(rows=account_rows, sizes=team_sizes, require=st.booleans())
def test_invariants(rows, sizes, require):
    accounts = frame_from(rows)
    team = small_team(sizes)
    plan = tp.plan(accounts, team, SMALL, require_specialist=require)
    if plan.status == "infeasible":
        assert plan.diagnosis
        return
    assert plan.status == "optimal"
    check_plan(plan, accounts, team)
    base = tp.baseline_plan(accounts, team, SMALL, require_specialist=require)
    assert base.status != "infeasible"
    check_plan(base, accounts, team)
    assert base.objective <= plan.objective + 1e-6 * max(1.0, abs(plan.objective))


@given(rows=account_rows, sizes=team_sizes, extra=st.sampled_from(["tier1", "tier2"]))
def test_more_headcount_never_lowers_the_optimum(rows, sizes, extra):
    accounts = frame_from(rows)
    before = tp.plan(accounts, small_team(sizes), SMALL)
    bigger = list(sizes)
    bigger[0 if extra == "tier1" else 2] += 1
    after = tp.plan(accounts, small_team(bigger), SMALL)
    if before.status == "infeasible":
        return
    assert after.status == "optimal"
    assert after.objective >= before.objective - 1e-6 * max(1.0, abs(before.objective))


@given(rows=account_rows, sizes=team_sizes, seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_change_the_plan(rows, sizes, seed):
    accounts = frame_from(rows)
    team = small_team(sizes)
    shuffled = accounts.sample(frac=1.0, random_state=seed % (2**32 - 1))
    a = tp.plan(accounts, team, SMALL)
    b = tp.plan(shuffled, team, SMALL)
    assert a.status == b.status
    if a.status == "infeasible":
        return
    left = a.assignments.set_index("account_id").sort_index()
    right = b.assignments.set_index("account_id").sort_index()
    pd.testing.assert_frame_equal(left, right)
    assert b.assignments["account_id"].tolist() == shuffled["account_id"].tolist()


def test_same_input_same_plan(accounts, team):
    a = tp.plan(accounts, team)
    b = tp.plan(accounts, team)
    pd.testing.assert_frame_equal(a.assignments, b.assignments)
    pd.testing.assert_frame_equal(a.books, b.books)


def test_pins_and_strategic_accounts():
    accounts = tp.synthetic_accounts(n=400, seed=3)
    smallest = accounts.nsmallest(5, "arr")["account_id"]
    accounts["pinned_tier"] = np.where(accounts["account_id"].isin(smallest), "tier1", None)
    team = tp.Team.from_headcount({"tier1": 2, "tier2": 1})
    plan = tp.plan(accounts, team)
    assert plan.status == "optimal"
    got = plan.assignments.set_index("account_id").loc[smallest, "tier"]
    assert (got == "tier1").all()
    check_plan(plan, accounts, team)


def test_require_specialist_keeps_vertical_with_specialists(accounts):
    team = tp.Team.from_headcount({"tier1": 4}, specialists={"tier1": {"finance": 1}})
    free = tp.plan(accounts, team)
    strict = tp.plan(accounts, team, require_specialist=True)
    fin_free = free.assignments.query("tier == 'tier1' and vertical == 'finance'")
    fin_strict = strict.assignments.query("tier == 'tier1' and vertical == 'finance'")
    assert (fin_strict["pool"] == "tier1 finance").all()
    assert len(fin_free) > len(fin_strict)  # generalists also took finance accounts
    assert strict.objective <= free.objective + 1e-6


def test_user_value_matrix_and_forbidden_tiers():
    accounts = pd.DataFrame({"account_id": ["x", "y", "z"], "arr": [1.0, 2.0, 3.0]})
    values = pd.DataFrame(
        {"tier1": [10.0, np.nan, 1.0], "tier2": [1.0, 5.0, 0.5], "tier3": [0.0, 0.0, 0.0]},
        index=["z", "y", "x"],
    )
    team = tp.Team.from_roster(
        pd.DataFrame({"csm_id": ["a", "b"], "tier": ["tier1", "tier2"], "max_accounts": [1, 1]})
    )
    plan = tp.plan(accounts, team, values=values)
    got = plan.assignments.set_index("account_id")["tier"].to_dict()
    assert got == {"z": "tier1", "y": "tier2", "x": "tier3"}
    assert plan.objective == pytest.approx(15.0)
    assert np.isneginf(plan.values.loc["y", "tier1"])


def test_time_limit_status_is_time_limit_or_optimal(accounts, team):
    plan = tp.plan(accounts, team, solver="cbc", time_limit=30)
    assert plan.status in {"optimal", "time_limit"}
    assert plan.gap >= 0


def test_min_books_are_kept():
    accounts = tp.synthetic_accounts(n=300, seed=5)
    roster = pd.DataFrame(
        {
            "csm_id": ["a", "b", "c"],
            "tier": ["tier1", "tier2", "tier2"],
            "min_accounts": [15, 100, 0],
            "max_accounts": [20, 120, 120],
        }
    )
    # Values that make tier 2 worthless: only the minimum forces accounts there.
    values = np.zeros((len(accounts), 3))
    values[:, 0] = 1.0
    values[:, 1] = -1.0
    team = tp.Team.from_roster(roster)
    plan = tp.plan(accounts, team, values=values)
    assert plan.status == "optimal"
    counts = plan.books.set_index("csm_id")["accounts"]
    assert counts["a"] == 20
    assert counts["b"] + counts["c"] == 100
    assert counts["b"] >= 100
    check_plan(plan, accounts, team)


def test_diagnosis_finds_a_pool_that_pins_overfill():
    # Tier 1 as a whole has room for its 35 pins (2 × 20), but the 25
    # non-finance pins can only go to the one generalist (the other CSM is a
    # finance specialist): Hall's condition on that pool fails.
    accounts = tp.synthetic_accounts(n=300, seed=8)
    fin = accounts.index[accounts["vertical"] == "finance"][:10]
    other = accounts.index[accounts["vertical"] != "finance"][:25]
    accounts["pinned_tier"] = None
    team = tp.Team.from_headcount({"tier1": 1}, specialists={"tier1": {"finance": 1}})
    accounts.loc[fin.union(other[:20]), "pinned_tier"] = "tier1"
    assert tp.plan(accounts, team).status == "optimal"
    accounts.loc[other, "pinned_tier"] = "tier1"
    plan = tp.plan(accounts, team)
    assert plan.status == "infeasible"
    (reason,) = plan.diagnosis
    assert "25 accounts can only go to tier1 generalist" in reason
    assert "20 book places" in reason
    assert "add about 1 CSM to tier1" in reason


@pytest.mark.parametrize("policy", ["value", "need", "expansion"])
def test_attention_policies_keep_floors_and_hours(accounts, team, policy):
    flat = tp.plan(accounts, team)
    plan = tp.plan(accounts, team, attention=policy)
    a = plan.assignments
    # Tiers and books do not change; only hours within books do.
    pd.testing.assert_series_equal(a["csm_id"], flat.assignments["csm_id"])
    assert plan.objective == flat.objective
    floors = {t.name: t.floor_hours for t in plan.model.tiers}
    assert (a["attention_hours"] >= a["tier"].map(floors) - 1e-9).all()
    used = a.groupby("csm_id")["attention_hours"].sum()
    hours = team.resolved(plan.model).set_index("csm_id")["hours"]
    assert (used <= hours.loc[used.index] * (1 + 1e-9)).all()
    tech = a["csm_id"].isna()
    assert (a.loc[tech, "attention_hours"] == 0.5).all()
    if policy == "value":
        # Equal marginal value beats flat hours when books use the same hours.
        assert a["expected_impact"].sum() >= flat.assignments["expected_impact"].sum()
    assert f"attention spread by {policy}" in plan.summary()


def test_attention_policy_rejects_unknown_and_user_values(accounts, team):
    with pytest.raises(tp.ConfigError, match="attention"):
        tp.plan(accounts, team, attention="loudest")
    values = np.zeros((len(accounts), 3))
    with pytest.raises(tp.ConfigError, match="response curve"):
        tp.plan(accounts, team, values=values, attention="value")


@pytest.fixture(scope="module")
def fit_case():
    accounts = tp.synthetic_accounts(n=1_200, seed=5)
    rng = np.random.default_rng(0)
    accounts["language"] = rng.choice(["en", "fr", "de"], size=len(accounts), p=[0.7, 0.2, 0.1])
    roster = pd.DataFrame(
        {
            "csm_id": [f"c{i}" for i in range(8)],
            "tier": ["tier1"] * 6 + ["tier2"] * 2,
            "vertical": ["finance", "", "", "", "", "", "", ""],
            "region": ["EMEA", "NA", "NA", "EMEA", "APAC", "", "", ""],
            "language": ["en", "en", "fr", "de", "en", "", "en", "fr"],
        }
    )
    return accounts, tp.Team.from_roster(roster)


def fit_share(plan, team, label):
    a = plan.assignments
    held = a["csm_id"].notna()
    theirs = team.resolved(plan.model).set_index("csm_id").loc[a.loc[held, "csm_id"], label]
    theirs = theirs.to_numpy()
    return ((theirs == a.loc[held, label].to_numpy()) | (theirs == "")).mean()


def test_hard_match_on_region_and_language(fit_case):
    accounts, team = fit_case
    free = tp.plan(accounts, team)
    strict = tp.plan(accounts, team, match=("region", "language"))
    assert strict.status == "optimal"
    assert fit_share(strict, team, "region") == 1.0
    assert fit_share(strict, team, "language") == 1.0
    assert fit_share(free, team, "language") < 1.0
    assert strict.objective <= free.objective
    check_plan(strict, accounts, team)
    with pytest.raises(tp.ConfigError, match="match"):
        tp.plan(accounts, team, match=("shoe_size",))


def test_fit_bonus_changes_books_not_tiers(fit_case):
    accounts, team = fit_case
    free = tp.plan(accounts, team)
    fitted = tp.plan(accounts, team, fit_bonus={"language": 5_000})
    assert fitted.objective == free.objective
    assert (fitted.assignments["tier"] == free.assignments["tier"]).all()
    assert fit_share(fitted, team, "language") > fit_share(free, team, "language")
    assert fitted.solver_info["fit_bonus_total"] > 0
    check_plan(fitted, accounts, team)


def test_continuity_bonus_keeps_current_csm(fit_case):
    accounts, team = fit_case
    first = tp.plan(accounts, team)
    shuffled = accounts.copy()
    # Pretend the books were dealt differently last quarter.
    current = first.assignments["csm_id"].to_numpy(copy=True)
    held = pd.notna(current)
    current[held] = np.roll(current[held], 7)
    shuffled["current_csm"] = current
    plain = tp.plan(shuffled, team)
    kept = tp.plan(shuffled, team, continuity_bonus=1_000)
    same = lambda p: (p.assignments["csm_id"] == shuffled["current_csm"]).sum()  # noqa: E731
    # Books keep the current CSM by default where that CSM is in the pool;
    # the bonus never keeps fewer.
    assert same(plain) > 0.5 * shuffled["current_csm"].notna().sum()
    assert same(kept) >= same(plain)
    check_plan(kept, accounts, team)


def test_balance_report(accounts, team):
    plan = tp.plan(accounts, team)
    balance = plan.balance
    assert set(balance["pool"]) == set(plan.books["pool"])
    assert (balance["arr_spread"] >= 1).all()
    assert (
        balance["accounts_max"]
        <= plan.books.groupby("pool")["max_accounts"].max().loc[balance["pool"]].to_numpy()
    ).all()


def test_screened_network_path_matches_the_mip_path():
    # Past a few thousand accounts the network path screens out the accounts
    # no book can take; the MIP path sees every account.
    accounts = tp.synthetic_accounts(n=6_000, seed=21)
    team = tp.Team.from_headcount(
        {"tier1": 4, "tier2": 2}, specialists={"tier1": {"finance": 2}, "tier2": {"telco": 1}}
    )
    network = tp.plan(accounts, team)
    assert "screened" in network.solver_info["method"]
    mip = tp.plan(accounts, team, solver="highs")
    assert mip.solver_info["path"] == "mip"
    assert network.objective == pytest.approx(mip.objective, rel=1e-9)
    check_plan(network, accounts, team)
