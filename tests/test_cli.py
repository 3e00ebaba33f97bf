"""The ``tierplan`` command line: demo, plan, exit codes and error messages."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import tierplan as tp
from tierplan.cli import main

N = 300


@pytest.fixture
def accounts_csv(tmp_path: Path) -> Path:
    path = tmp_path / "accounts.csv"
    tp.synthetic_accounts(n=N, seed=21).to_csv(path, index=False)
    return path


def read_output(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype={"account_id": str, "csm_id": str})


def check_assignments(out: pd.DataFrame, accounts_csv: Path, roster: pd.DataFrame) -> None:
    """One row per account, each human-tier account with a CSM of its tier."""
    accounts = pd.read_csv(accounts_csv, dtype={"account_id": str})
    assert {"account_id", "tier", "csm_id"} <= set(out.columns)
    assert len(out) == len(accounts)
    assert out["account_id"].tolist() == accounts["account_id"].tolist()
    assert out["tier"].isin(["tier1", "tier2", "tier3"]).all()
    human = out["tier"] != "tier3"
    assert out.loc[~human, "csm_id"].isna().all()
    assert out.loc[human, "csm_id"].notna().all()
    csm_tier = roster.set_index("csm_id")["tier"]
    assert (csm_tier.loc[out.loc[human, "csm_id"]].to_numpy() == out.loc[human, "tier"]).all()


def test_demo(capsys):
    assert main(["demo"]) == 0
    captured = capsys.readouterr()
    out = captured.out
    assert "status: optimal" in out
    assert "Tiers" in out
    for tier in ("tier1", "tier2", "tier3"):
        assert tier in out
    assert "Cut points" in out
    assert "Gain over the ARR-band rule" in out
    assert "2,000 accounts" in out
    assert captured.err == ""


def test_plan_with_roster_csv(tmp_path, accounts_csv, capsys):
    roster = pd.DataFrame(
        {
            "csm_id": ["ana", "bo", "cy", "dee"],
            "tier": ["tier1", "tier1", "tier2", "tier2"],
            "vertical": ["finance", "", "", ""],
            "max_accounts": [12, None, 50, None],
        }
    )
    roster_path = tmp_path / "roster.csv"
    roster.to_csv(roster_path, index=False)
    out_path = tmp_path / "out.csv"
    code = main(["plan", str(accounts_csv), "--team", str(roster_path), "-o", str(out_path)])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "status: optimal" in captured.out
    assert "Assignments written to" in captured.out
    assert out_path.exists()
    out = read_output(out_path)
    check_assignments(out, accounts_csv, roster)
    counts = out["csm_id"].value_counts()
    caps = {"ana": 12, "bo": 20, "cy": 50, "dee": 120}
    for csm, count in counts.items():
        assert count <= caps[csm]
    # The finance specialist only holds finance accounts.
    assert (out.loc[out["csm_id"] == "ana", "vertical"] == "finance").all()
    # With this little headcount every place is used (the value of attention is > 0).
    assert counts.sum() == sum(caps.values())


def test_plan_with_headcount_spec(tmp_path, accounts_csv, capsys):
    out_path = tmp_path / "out.csv"
    spec = "tier1=3,tier1.finance=1,tier2=2"
    code = main(["plan", str(accounts_csv), "--team", spec, "-o", str(out_path), "--baseline"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "Gain over the ARR-band rule" in captured.out
    out = read_output(out_path)
    team = tp.Team.from_headcount({"tier1": 3, "tier2": 2}, specialists={"tier1": {"finance": 1}})
    check_assignments(out, accounts_csv, team.roster)
    assert set(out["csm_id"].dropna()) <= set(team.roster["csm_id"])
    assert (out["tier"] == "tier1").sum() == 4 * 20
    assert (out["tier"] == "tier2").sum() == min(2 * 120, N - 4 * 20)
    specialist = out["csm_id"] == "tier1-finance-01"
    assert specialist.sum() == 20
    assert (out.loc[specialist, "vertical"] == "finance").all()


def test_plan_without_output_writes_nothing(tmp_path, accounts_csv, capsys):
    assert main(["plan", str(accounts_csv), "--team", "tier1=1,tier2=1"]) == 0
    out = capsys.readouterr().out
    assert "status: optimal" in out
    assert "written" not in out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["accounts.csv"]


@pytest.mark.parametrize(
    "argv, shown",
    [
        (["plan", "{tmp}/missing.csv", "--team", "tier1=2"], "missing.csv"),
        (["plan", "{accounts}", "--team", "{tmp}/no_roster.csv"], "no_roster.csv"),
        (["plan", "{accounts}", "--team", "tier1=two"], "tier1=two"),
        (["plan", "{accounts}", "--team", "tier9=2"], "tier9"),
        (["plan", "{accounts}", "--team", "tier1=2", "--solver", "gurobi"], "gurobi"),
    ],
    ids=["missing-accounts", "missing-roster", "bad-spec", "unknown-tier", "unknown-solver"],
)
def test_bad_input_exits_1_with_message(tmp_path, accounts_csv, capsys, argv, shown):
    argv = [a.format(tmp=tmp_path, accounts=accounts_csv) for a in argv]
    out_path = tmp_path / "out.csv"
    code = main([*argv, "-o", str(out_path)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("tierplan: error:")
    assert shown in captured.err
    assert "Traceback" not in captured.err
    assert not out_path.exists()


def test_bad_account_value_exits_1_naming_column_and_id(tmp_path, capsys):
    path = tmp_path / "accounts.csv"
    path.write_text("account_id,arr,risk\n007,1000,0.1\n008,2000,1.7\n")
    code = main(["plan", str(path), "--team", "tier1=1"])
    err = capsys.readouterr().err
    assert code == 1
    assert "risk" in err
    assert "008" in err
    assert "Traceback" not in err


def test_unreadable_accounts_file_exits_1(tmp_path, capsys):
    path = tmp_path / "empty.csv"
    path.write_text("")
    code = main(["plan", str(path), "--team", "tier1=1"])
    err = capsys.readouterr().err
    assert code == 1
    assert "empty.csv" in err


def test_infeasible_team_exits_3(tmp_path, capsys):
    accounts = tp.synthetic_accounts(n=100, seed=3)
    accounts["pinned_tier"] = None
    accounts.loc[:29, "pinned_tier"] = "tier1"
    path = tmp_path / "pinned.csv"
    accounts.to_csv(path, index=False)
    out_path = tmp_path / "out.csv"
    code = main(["plan", str(path), "--team", "tier1=1,tier2=1", "-o", str(out_path)])
    captured = capsys.readouterr()
    assert code == 3
    assert "status: infeasible" in captured.out
    assert "tier1 needs at least 2 CSMs" in captured.out
    assert not out_path.exists()


def test_console_script_demo():
    exe = shutil.which("tierplan")
    cmd = [exe, "demo"] if exe else [sys.executable, "-m", "tierplan.cli", "demo"]
    result = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "Cut points" in result.stdout
    assert "Gain over the ARR-band rule" in result.stdout
    assert "Traceback" not in result.stderr
