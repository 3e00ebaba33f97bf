"""Bad input: every rule broken gives a TierplanError naming the column and the ids.

Infeasible teams are not errors: they give ``plan.status == "infeasible"`` and a
diagnosis in business words. Inputs are never mutated; file paths are accepted.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import tierplan as tp

N = 60


@pytest.fixture
def acc() -> pd.DataFrame:
    """A fresh small account frame per test (tests corrupt it)."""
    return tp.synthetic_accounts(n=N, seed=5)


@pytest.fixture(scope="module")
def team() -> tp.Team:
    return tp.Team.from_headcount({"tier1": 1, "tier2": 1})


def check_input_error(
    exc: BaseException, column: str, ids: list[object] | None = None
) -> tp.InputError:
    """The error is an InputError naming ``column`` and (all of) ``ids``."""
    assert isinstance(exc, tp.TierplanError)
    assert isinstance(exc, ValueError)
    assert isinstance(exc, tp.InputError)
    assert exc.column == column
    message = str(exc)
    assert column in message
    if ids is not None:
        assert sorted(map(str, exc.ids)) == sorted(map(str, ids))
        assert str(ids[0]) in message
    return exc


def ids_at(frame: pd.DataFrame, rows: list[int]) -> list[object]:
    return frame["account_id"].iloc[rows].tolist()


# -- accounts -------------------------------------------------------------------


def _duplicate_ids(df: pd.DataFrame) -> tuple[str, list[object]]:
    df.loc[7, "account_id"] = df.loc[3, "account_id"]
    return "account_id", [df.loc[3, "account_id"]]


def _negative_arr(df: pd.DataFrame) -> tuple[str, list[object]]:
    df.loc[[4, 9], "arr"] = [-100.0, -0.5]
    return "arr", ids_at(df, [4, 9])


def _nan_arr(df: pd.DataFrame) -> tuple[str, list[object]]:
    df.loc[11, "arr"] = np.nan
    return "arr", ids_at(df, [11])


def _text_arr(df: pd.DataFrame) -> tuple[str, list[object]]:
    df["arr"] = df["arr"].astype(object)
    df.loc[2, "arr"] = "12k"
    return "arr", ids_at(df, [2])


def _risk_high(df: pd.DataFrame) -> tuple[str, list[object]]:
    df.loc[5, "risk"] = 1.5
    return "risk", ids_at(df, [5])


def _risk_negative(df: pd.DataFrame) -> tuple[str, list[object]]:
    df.loc[6, "risk"] = -0.1
    return "risk", ids_at(df, [6])


def _negative_potential(df: pd.DataFrame) -> tuple[str, list[object]]:
    df.loc[8, "potential"] = -1.0
    return "potential", ids_at(df, [8])


def _text_complexity(df: pd.DataFrame) -> tuple[str, list[object]]:
    df["complexity"] = df["complexity"].astype(object)
    df.loc[[1, 12], "complexity"] = ["high", "n/a"]
    return "complexity", ids_at(df, [1, 12])


def _unknown_pin(df: pd.DataFrame) -> tuple[str, list[object]]:
    df["pinned_tier"] = pd.Series([None] * len(df), dtype=object)
    df.loc[0, "pinned_tier"] = "tier1"
    df.loc[10, "pinned_tier"] = "platinum"
    return "pinned_tier", ids_at(df, [10])


def _unknown_current_tier(df: pd.DataFrame) -> tuple[str, list[object]]:
    df["current_tier"] = "tier2"
    df.loc[13, "current_tier"] = "gold"
    return "current_tier", ids_at(df, [13])


BREAKERS: dict[str, Callable[[pd.DataFrame], tuple[str, list[object]]]] = {
    "duplicate_ids": _duplicate_ids,
    "negative_arr": _negative_arr,
    "nan_arr": _nan_arr,
    "text_arr": _text_arr,
    "risk_above_1": _risk_high,
    "risk_below_0": _risk_negative,
    "negative_potential": _negative_potential,
    "text_complexity": _text_complexity,
    "unknown_pinned_tier": _unknown_pin,
    "unknown_current_tier": _unknown_current_tier,
}


@pytest.mark.parametrize("planner", [tp.plan, tp.baseline_plan], ids=["plan", "baseline"])
@pytest.mark.parametrize("case", list(BREAKERS))
def test_bad_account_value_names_column_and_ids(acc, team, case, planner):
    column, bad_ids = BREAKERS[case](acc)
    with pytest.raises(tp.InputError) as info:
        planner(acc, team)
    check_input_error(info.value, column, bad_ids)


def test_error_lists_few_ids_and_counts_the_rest(acc, team):
    acc.loc[: N - 1, "arr"] = -1.0  # every account
    with pytest.raises(tp.InputError) as info:
        tp.plan(acc, team)
    check_input_error(info.value, "arr", acc["account_id"].tolist())
    assert f"{N} ids" in str(info.value)
    assert "more" in str(info.value)


def test_whole_family_is_caught_by_one_clause(acc, team):
    acc.loc[0, "risk"] = 2.0
    with pytest.raises(tp.TierplanError):
        tp.plan(acc, team)
    with pytest.raises(ValueError, match="risk"):
        tp.plan(acc, team)


@pytest.mark.parametrize("column", ["account_id", "arr"])
def test_missing_required_account_column(acc, team, column):
    with pytest.raises(tp.InputError) as info:
        tp.plan(acc.drop(columns=column), team)
    check_input_error(info.value, column)
    assert "missing" in str(info.value)


def test_text_arr_in_csv_keeps_text_ids_in_message(tmp_path, team):
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,arr\n007,1000\n008,12k\n009,500\n")
    with pytest.raises(tp.InputError) as info:
        tp.plan(path, team)
    check_input_error(info.value, "arr", ["008"])


def test_missing_file_is_an_input_error(tmp_path, team):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(tp.InputError, match=re.escape("nowhere.csv")):
        tp.plan(path, team)
    with pytest.raises(tp.InputError, match=re.escape("roster.csv")):
        tp.Team.from_roster(tmp_path / "roster.csv")


def test_wrong_accounts_type_is_an_input_error(team):
    with pytest.raises(tp.InputError, match="list"):
        tp.plan([{"account_id": "a", "arr": 1.0}], team)


@pytest.mark.parametrize("name, content", [("empty.csv", ""), ("bad.parquet", "not parquet")])
def test_unreadable_file_is_a_tierplan_error(tmp_path, team, name, content):
    path = tmp_path / name
    path.write_text(content)
    with pytest.raises(tp.TierplanError, match=re.escape(name)):
        tp.plan(path, team)


# -- roster / team --------------------------------------------------------------


@pytest.mark.parametrize("column", ["csm_id", "tier"])
def test_missing_required_roster_column(column):
    roster = pd.DataFrame({"csm_id": ["ana", "bo"], "tier": ["tier1", "tier2"]})
    with pytest.raises(tp.InputError) as info:
        tp.Team.from_roster(roster.drop(columns=column))
    check_input_error(info.value, column)
    assert "missing" in str(info.value)


def test_duplicate_csm_ids():
    roster = pd.DataFrame({"csm_id": ["ana", "bo", "ana"], "tier": ["tier1", "tier2", "tier2"]})
    with pytest.raises(tp.InputError) as info:
        tp.Team.from_roster(roster)
    check_input_error(info.value, "csm_id", ["ana"])


def test_unknown_tier_in_roster(acc):
    roster = pd.DataFrame({"csm_id": ["ana", "bo"], "tier": ["tier1", "gold"]})
    team = tp.Team.from_roster(roster)  # tiers are checked against the model at plan time
    with pytest.raises(tp.InputError) as info:
        tp.plan(acc, team)
    check_input_error(info.value, "tier", ["bo"])
    assert "gold" in str(info.value)


def test_roster_csm_in_tech_touch_tier(acc):
    roster = pd.DataFrame({"csm_id": ["ana", "cy"], "tier": ["tier1", "tier3"]})
    with pytest.raises(tp.InputError) as info:
        tp.plan(acc, roster)
    check_input_error(info.value, "tier", ["cy"])
    assert "tech-touch" in str(info.value)


@pytest.mark.parametrize("bad", [0, -3, 2.5, "lots"], ids=["zero", "negative", "fraction", "text"])
def test_bad_max_accounts(bad):
    roster = pd.DataFrame(
        {"csm_id": ["ana", "bo"], "tier": ["tier1", "tier2"], "max_accounts": [15, bad]}
    )
    with pytest.raises(tp.InputError) as info:
        tp.Team.from_roster(roster)
    check_input_error(info.value, "max_accounts", ["bo"])


def test_min_accounts_above_max_accounts(acc):
    roster = pd.DataFrame(
        {
            "csm_id": ["ana", "bo"],
            "tier": ["tier1", "tier2"],
            "max_accounts": [10, np.nan],
            "min_accounts": [12, 0],
        }
    )
    with pytest.raises(tp.InputError) as info:
        tp.plan(acc, roster)
    check_input_error(info.value, "min_accounts", ["ana"])


def test_nullable_integer_roster_column_means_tier_default(acc):
    roster = pd.DataFrame(
        {
            "csm_id": ["ana", "bo"],
            "tier": ["tier1", "tier2"],
            "max_accounts": pd.array([10, None], dtype="Int64"),
        }
    )
    result = tp.plan(acc, tp.Team.from_roster(roster))
    assert result.status == "optimal"
    assert result.books["max_accounts"].tolist() == [10, 120]


@pytest.mark.parametrize(
    "kwargs, field, shown",
    [
        ({"generalists": {"tier1": -1}}, "generalists['tier1']", "-1"),
        ({"generalists": {"tier1": 2.5}}, "generalists['tier1']", "2.5"),
        ({"generalists": {"tier2": 2.0}}, "generalists['tier2']", "2.0"),
        (
            {"generalists": {"tier1": 1}, "specialists": {"tier1": {"finance": -2}}},
            "specialists['tier1']['finance']",
            "-2",
        ),
        (
            {"generalists": {"tier1": 1}, "specialists": {"tier1": {"finance": 0.5}}},
            "specialists['tier1']['finance']",
            "0.5",
        ),
    ],
)
def test_bad_headcount(kwargs, field, shown):
    with pytest.raises(tp.ConfigError) as info:
        tp.Team.from_headcount(**kwargs)
    assert isinstance(info.value, tp.TierplanError)
    assert isinstance(info.value, ValueError)
    assert field in str(info.value)
    assert shown in str(info.value)


# -- coverage model and options -------------------------------------------------


def _tier(name: str, **kw: object) -> tp.Tier:
    return tp.Tier(name=name, attention_hours=kw.pop("attention_hours", 5.0), **kw)


def test_duplicate_tier_names():
    with pytest.raises(tp.ConfigError) as info:
        tp.CoverageModel(tiers=(_tier("gold", max_book=10), _tier("gold", max_book=50)))
    assert isinstance(info.value, tp.TierplanError)
    assert "duplicate" in str(info.value)
    assert "gold" in str(info.value)


def test_min_book_above_max_book():
    with pytest.raises(tp.ConfigError) as info:
        _tier("gold", min_book=30, max_book=20)
    assert isinstance(info.value, tp.TierplanError)
    assert "gold" in str(info.value)
    assert "min_book" in str(info.value)


def test_human_tier_without_max_book():
    with pytest.raises(tp.ConfigError) as info:
        _tier("gold", human=True)
    assert "gold" in str(info.value)
    assert "max_book" in str(info.value)


def test_with_changes_revalidates():
    model = tp.CoverageModel()
    tiers = [t.model_dump() for t in model.tiers]
    tiers[1]["name"] = "tier1"
    with pytest.raises(tp.ConfigError, match="duplicate"):
        model.with_changes(tiers=tiers)


def test_model_of_wrong_type(acc, team):
    with pytest.raises(tp.ConfigError, match="CoverageModel"):
        tp.plan(acc, team, model={"tiers": []})


@pytest.mark.parametrize("planner", [tp.plan, tp.baseline_plan], ids=["plan", "baseline"])
def test_unknown_solver_name(acc, team, planner):
    with pytest.raises(tp.ConfigError) as info:
        planner(acc, team, solver="gurobi")
    assert isinstance(info.value, tp.TierplanError)
    assert "gurobi" in str(info.value)


def test_unknown_solver_name_rejected_even_when_infeasible(acc):
    acc["pinned_tier"] = "tier1"  # 60 pins, 20 places
    team = tp.Team.from_headcount({"tier1": 1})
    with pytest.raises(tp.ConfigError, match="gurobi"):
        tp.plan(acc, team, solver="gurobi")


def test_value_matrix_wrong_shape(acc, team):
    with pytest.raises(tp.InputError) as info:
        tp.plan(acc, team, values=np.zeros((N - 1, 3)))
    check_input_error(info.value, "values")
    assert f"({N}, 3)" in str(info.value)
    with pytest.raises(tp.InputError, match="shape"):
        tp.plan(acc, team, values=np.zeros((N, 2)))


def test_value_matrix_missing_account(acc, team):
    values = pd.DataFrame(
        np.ones((N, 3)), columns=["tier1", "tier2", "tier3"], index=acc["account_id"]
    )
    missing = acc["account_id"].iloc[[4, 17]].tolist()
    with pytest.raises(tp.InputError) as info:
        tp.plan(acc, team, values=values.drop(index=missing))
    check_input_error(info.value, "values", missing)


def test_value_matrix_missing_tier_column(acc, team):
    values = pd.DataFrame(np.ones((N, 2)), columns=["tier1", "tier2"], index=acc["account_id"])
    with pytest.raises(tp.InputError, match="tier3"):
        tp.plan(acc, team, values=values)


# -- infeasible problems are a status, not an error -----------------------------


def _available(sentence: str) -> int:
    found = re.search(r"(\d+) (?:is|are) available", sentence)
    assert found, sentence
    return int(found.group(1))


def _needed(sentence: str) -> int:
    found = re.search(r"needs? at least (\d+) CSMs", sentence)
    assert found, sentence
    return int(found.group(1))


@pytest.mark.parametrize("planner", [tp.plan, tp.baseline_plan], ids=["plan", "baseline"])
def test_pins_that_cannot_fit(acc, planner):
    acc["pinned_tier"] = pd.Series([None] * N, dtype=object)
    acc.loc[:29, "pinned_tier"] = "tier1"  # 30 pins, one tier-1 CSM with a cap of 20
    team = tp.Team.from_headcount({"tier1": 1, "tier2": 1})
    result = planner(acc, team)
    assert result.status == "infeasible"
    assert not result.feasible
    assert result.diagnosis
    sentence = " ".join(result.diagnosis)
    assert "tier1" in sentence
    assert "30" in sentence
    assert _needed(sentence) == 2
    assert _available(sentence) == 1
    assert str(acc.loc[0, "account_id"]) in sentence
    summary = result.summary()
    assert "infeasible" in summary
    for reason in result.diagnosis:
        assert reason in summary
    text = repr(result)
    assert "infeasible" in text
    assert result.name in text
    # An infeasible plan assigns nobody.
    assert result.assignments["tier"].isna().all()
    assert len(result.assignments) == N


def test_pins_that_fit_are_honoured(acc):
    acc["pinned_tier"] = pd.Series([None] * N, dtype=object)
    acc.loc[:19, "pinned_tier"] = "tier1"  # exactly the cap
    result = tp.plan(acc, tp.Team.from_headcount({"tier1": 1, "tier2": 1}))
    assert result.status == "optimal"
    assert (result.assignments["tier"].iloc[:20] == "tier1").all()


def test_pin_diagnosis_uses_roster_caps(acc):
    acc["pinned_tier"] = pd.Series([None] * N, dtype=object)
    acc.loc[:29, "pinned_tier"] = "tier1"
    roster = pd.DataFrame(
        {"csm_id": ["ana", "bo", "cy"], "tier": ["tier1", "tier1", "tier2"]}
    ).assign(max_accounts=[10, 10, np.nan])
    result = tp.plan(acc, roster)
    assert result.status == "infeasible"
    sentence = " ".join(result.diagnosis)
    assert _available(sentence) == 2
    assert _needed(sentence) == 3  # 30 pins at 10 per book


def test_pinned_finance_accounts_beyond_specialist_capacity():
    acc = tp.synthetic_accounts(n=300, seed=6)
    finance = acc.index[acc["vertical"] == "finance"][:25]
    assert len(finance) == 25
    acc["pinned_tier"] = pd.Series([None] * len(acc), dtype=object)
    acc.loc[finance, "pinned_tier"] = "tier1"
    team = tp.Team.from_headcount({"tier1": 3, "tier2": 1}, specialists={"tier1": {"finance": 1}})

    # Without the specialist rule, generalists take the overflow.
    free = tp.plan(acc, team)
    assert free.status == "optimal"
    assert (free.assignments.loc[finance, "tier"] == "tier1").all()

    result = tp.plan(acc, team, require_specialist=True)
    assert result.status == "infeasible"
    sentence = " ".join(result.diagnosis)
    assert "tier1" in sentence
    assert "finance" in sentence
    assert "25" in sentence
    assert _needed(sentence) == 2
    assert _available(sentence) == 1
    assert "finance" in result.summary()


def test_minimum_books_that_cannot_be_filled():
    few = tp.synthetic_accounts(n=10, seed=2)
    roster = pd.DataFrame(
        {"csm_id": ["ana", "bo"], "tier": ["tier1", "tier2"], "min_accounts": [15, 0]}
    )
    result = tp.plan(few, roster)
    assert result.status == "infeasible"
    sentence = " ".join(result.diagnosis)
    assert "tier1" in sentence
    assert "minimum" in sentence
    assert "15" in sentence
    assert "10" in sentence
    for reason in result.diagnosis:
        assert reason in result.summary()
    assert "infeasible" in repr(result)


# -- inputs are never changed; files are accepted -------------------------------


def test_inputs_are_not_mutated():
    acc = tp.synthetic_accounts(n=80, seed=4)
    acc["account_id"] = [f"{k:03d}" for k in range(80)]
    acc["pinned_tier"] = pd.Series([None] * 80, dtype=object)
    acc.loc[2, "pinned_tier"] = "tier1"
    acc.loc[5, "pinned_tier"] = ""
    acc["strategic"] = acc["strategic"].astype("Int64")
    acc["vertical"] = acc["vertical"].astype("category")
    acc = acc.iloc[::-1]  # not sorted by id, index not a range
    roster = pd.DataFrame(
        {
            "csm_id": ["ana", "bo", "cy"],
            "tier": ["tier1", "tier1", "tier2"],
            "vertical": ["finance", None, ""],
            "max_accounts": [10, np.nan, 50],
        }
    )
    values = pd.DataFrame(
        np.arange(240, dtype=float).reshape(80, 3),
        columns=["tier1", "tier2", "tier3"],
        index=acc["account_id"],
    )
    frames = {"accounts": acc, "roster": roster, "values": values}
    before = copy.deepcopy(frames)
    tp.plan(acc, roster)
    tp.baseline_plan(acc, roster)
    tp.plan(acc, tp.Team.from_roster(roster), values=values, require_specialist=True)
    tp.baseline_plan(acc, roster, values=values)
    for key, frame in frames.items():
        pd.testing.assert_frame_equal(frame, before[key], check_exact=True)
        assert frame.dtypes.equals(before[key].dtypes), key
        assert frame.index.equals(before[key].index), key


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_file_paths_are_accepted(tmp_path: Path, suffix):
    pytest.importorskip("pyarrow")
    frame = tp.synthetic_accounts(n=50, seed=9)
    frame["account_id"] = [f"{k:03d}" for k in range(7, 57)]
    frame = frame.iloc[::-1].reset_index(drop=True)
    path = tmp_path / f"accounts{suffix}"
    if suffix == ".csv":
        frame.to_csv(path, index=False)
    else:
        frame.to_parquet(path, index=False)
    team = tp.Team.from_headcount({"tier1": 1, "tier2": 1})
    from_file = tp.plan(path, team)
    from_frame = tp.plan(frame, team)
    assert from_file.status == "optimal"
    ids = from_file.assignments["account_id"].tolist()
    assert ids == frame["account_id"].tolist()
    assert "007" in ids
    assert all(isinstance(i, str) for i in ids)
    loaded = tp.load_accounts(path)
    assert "007" in loaded.ids.tolist()
    assert from_file.objective == pytest.approx(from_frame.objective)
    assert (from_file.assignments["tier"] == from_frame.assignments["tier"]).all()
    # str paths too
    assert tp.plan(str(path), team).status == "optimal"


def test_csv_keeps_na_as_a_label(tmp_path) -> None:
    # "NA" is a region (North America), not a missing value.
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,arr,region,vertical\na1,1000,NA,None\na2,2000,EMEA,\n")
    acc = tp.load_accounts(path)
    assert list(acc.region) == ["NA", "EMEA"]
    assert acc.vertical[0] == "None"


def test_plan_keeps_its_own_copy_of_the_input():
    frame = tp.synthetic_accounts(n=80, seed=12)
    team = tp.Team.from_headcount({"tier1": 1, "tier2": 1}, specialists={"tier1": {"finance": 1}})
    expected = tp.plan(frame.copy(), team).assignments
    plan = tp.plan(frame, team)
    # Edit the caller's frame in place before the plan builds its tables.
    frame.loc[0, "account_id"] = "changed"
    frame.loc[:, "vertical"] = "changed"
    frame.loc[1, "arr"] = 1e12
    pd.testing.assert_frame_equal(plan.assignments, expected)


def test_one_team_planned_under_several_models():
    frame = tp.synthetic_accounts(n=300, seed=13)
    team = tp.Team.from_headcount({"tier1": 2, "tier2": 1})
    base = tp.CoverageModel()
    tiers = list(base.tiers)
    tiers[0] = tiers[0].model_copy(update={"max_book": 5})
    small = base.with_changes(tiers=tuple(tiers))
    for _ in range(2):  # the second round reads what the first one kept
        wide, narrow = tp.plan(frame, team, base), tp.plan(frame, team, small)
        assert wide.books.loc[wide.books.tier == "tier1", "max_accounts"].tolist() == [20, 20]
        assert narrow.books.loc[narrow.books.tier == "tier1", "max_accounts"].tolist() == [5, 5]
        assert (narrow.tiers.set_index("tier").loc["tier1", "accounts"]) == 10
    # A plan's roster is its own: editing it changes no later plan.
    wide.roster.loc[:, "max_accounts"] = 1
    wide.roster["extra"] = 1
    again = tp.plan(frame, team, base)
    assert "extra" not in again.roster.columns
    assert again.books.loc[again.books.tier == "tier1", "max_accounts"].tolist() == [20, 20]
    with pytest.raises(ValueError, match="read-only"):
        again.pools.capacity[0] = 0.0


@pytest.mark.parametrize(
    "labels",
    [
        ["finance", "telco", None, "finance", "  ", "telco"],
        pd.Series(["b", "a", "", "b", None, "a"], dtype="string"),
        [1, 2.5, None, 1, "x", 2.5],
        pd.Series(["x", "y", "x", "y", "x", "y"], dtype="category"),
    ],
)
def test_accounts_hold_fit_labels_as_codes(labels):
    frame = pd.DataFrame({"account_id": ["f", "e", "d", "c", "b", "a"], "arr": 1000.0})
    frame["vertical"] = labels
    accounts = tp.load_accounts(frame)
    codes, distinct = accounts.codes("vertical")
    assert len(set(distinct)) == len(distinct)
    assert all(isinstance(x, str) for x in distinct)
    assert set(distinct) == set(accounts.vertical.tolist())  # no label unused
    assert np.asarray(distinct, dtype=object)[codes].tolist() == accounts.vertical.tolist()
    assert accounts.ids.tolist() == ["a", "b", "c", "d", "e", "f"]
    absent = tp.load_accounts(frame.drop(columns="vertical"))
    codes, distinct = absent.codes("region")
    assert distinct == [""] and (codes == 0).all()
