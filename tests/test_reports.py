"""Excel and HTML reports: sheets, headers, formats; one self-contained page."""

from __future__ import annotations

import base64
import re
import sys

import pytest

import tierplan as tp
from tierplan.reports import EXCEL_SHEETS, to_excel, to_html

openpyxl = pytest.importorskip("openpyxl")

IMG = '<img src="data:image/png;base64,'


@pytest.fixture(scope="module")
def accounts():
    return tp.synthetic_accounts(n=300, seed=4)


@pytest.fixture(scope="module")
def team():
    return tp.Team.from_headcount({"tier1": 2, "tier2": 1})


@pytest.fixture(scope="module")
def plan(accounts, team):
    return tp.plan(accounts, team)


@pytest.fixture(scope="module")
def baseline(accounts, team):
    return tp.baseline_plan(accounts, team)


@pytest.fixture(scope="module")
def workbook(plan, baseline, tmp_path_factory):
    path = to_excel(plan, tmp_path_factory.mktemp("xl") / "plan.xlsx", baseline=baseline)
    return openpyxl.load_workbook(path)


@pytest.fixture(scope="module")
def page(plan, baseline, tmp_path_factory):
    path = to_html(plan, tmp_path_factory.mktemp("html") / "plan.html", baseline=baseline)
    return path.read_text(encoding="utf-8")


def header(ws, row=1):
    return [c.value for c in ws[row] if c.value is not None]


def column(ws, name):
    return header(ws).index(name) + 1


def test_sheets_and_headers(workbook, plan, baseline):
    assert workbook.sheetnames == list(EXCEL_SHEETS)
    assert header(workbook["summary"]) == ["figure", "value"]
    assert header(workbook["tiers"]) == list(plan.tiers.columns)
    assert header(workbook["cut points"]) == list(plan.cut_points.columns)
    assert header(workbook["assignments"]) == list(plan.assignments.columns)
    assert header(workbook["books"]) == list(plan.books.columns)
    assert header(workbook["comparison"]) == ["metric", plan.name, baseline.name, "difference"]
    assert workbook["assignments"].max_row == len(plan.assignments) + 1


def test_formats_panes_and_filters(workbook):
    for name in ("tiers", "assignments", "books"):
        ws = workbook[name]
        assert "$" in ws.cell(row=2, column=column(ws, "arr")).number_format
        assert "$" in ws.cell(row=2, column=column(ws, "expected_impact")).number_format
    assert (
        "$"
        in workbook["tiers"]
        .cell(row=2, column=column(workbook["tiers"], "arr_per_csm"))
        .number_format
    )
    assert (
        "%"
        in workbook["tiers"]
        .cell(row=2, column=column(workbook["tiers"], "share_of_arr"))
        .number_format
    )
    assert (
        "%"
        in workbook["books"]
        .cell(row=2, column=column(workbook["books"], "utilization"))
        .number_format
    )
    assert (
        "$"
        in workbook["cut points"]
        .cell(row=2, column=column(workbook["cut points"], "arr_cut"))
        .number_format
    )
    for ws in workbook:
        assert ws.freeze_panes in {"A2", "B2"}
        cell = ws.cell(row=1, column=1)
        assert cell.font.bold
        assert cell.fill.fill_type == "solid"
        if ws.title != "summary":
            assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert ws.column_dimensions["A"].width >= 8


def test_summary_key_figures_and_motions(workbook, plan, baseline):
    ws = workbook["summary"]
    rows = {r[0]: r[1] for r in ws.iter_rows(values_only=True) if r[0] is not None}
    assert rows["status"] == "optimal"
    assert rows["expected NRR impact per year"] == pytest.approx(plan.objective)
    assert rows["accounts"] == len(plan.assignments)
    assert rows["CSMs"] == len(plan.books)
    assert rows[f"gain over {baseline.name}"] == pytest.approx(plan.objective - baseline.objective)
    impact_row = next(
        r for r in ws.iter_rows(min_row=2) if r[0].value == "expected NRR impact per year"
    )
    assert "$" in impact_row[1].number_format
    values = [c for row in ws.iter_rows(values_only=True) for c in row if c is not None]
    for tier in plan.model.tiers:
        assert tier.motion is not None
        assert tier.motion.cadence in values
        assert tier.motion.owner in values
        assert "; ".join(tier.motion.escalation_triggers) in values
    assert "renewal lead days" in values


def test_comparison_sheet_matches_compare(workbook, plan, baseline):
    ws = workbook["comparison"]
    expected = plan.compare(baseline)
    got = {r[0]: r[1] for r in ws.iter_rows(min_row=2, values_only=True)}
    assert got["expected_impact"] == pytest.approx(expected.loc["expected_impact", plan.name])
    first = next(r for r in ws.iter_rows(min_row=2) if r[0].value == "expected_impact")
    assert "$" in first[1].number_format


def test_no_comparison_without_baseline(plan, tmp_path):
    wb = openpyxl.load_workbook(to_excel(plan, tmp_path / "p.xlsx"))
    assert wb.sheetnames == [s for s in EXCEL_SHEETS if s != "comparison"]


def test_missing_openpyxl_says_how_to_install(plan, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "openpyxl", None)
    with pytest.raises(tp.ConfigError, match=r"tierplan\[excel\]"):
        to_excel(plan, tmp_path / "p.xlsx")


def test_html_is_one_self_contained_page(page, plan):
    assert page.startswith("<!DOCTYPE html>")
    assert '<table class="tiers">' in page
    for tier in plan.model.tiers:
        assert tier.label in page
        assert tier.motion is not None and tier.motion.cadence in page
    assert '<table class="cuts">' in page and '<table class="books">' in page
    assert '<table class="comparison">' in page
    # quadrant, books, comparison: every chart embedded, nothing fetched.
    assert page.count(IMG) == 3
    for data in re.findall(r'data:image/png;base64,([A-Za-z0-9+/=]+)"', page):
        assert base64.b64decode(data)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<script" not in page
    assert not re.search(r'(src|href)="(https?:)?//', page)


def test_html_without_plots_or_baseline(plan, tmp_path):
    page = to_html(plan, tmp_path / "p.html", plots=False).read_text(encoding="utf-8")
    assert IMG not in page
    assert '<table class="tiers">' in page
    assert '<table class="comparison">' not in page


def test_infeasible_plan_reports(accounts, tmp_path):
    changed = accounts.copy()
    changed["pinned_tier"] = None
    changed.loc[:49, "pinned_tier"] = "tier1"
    p = tp.plan(changed, tp.Team.from_headcount({"tier1": 2}))
    assert p.status == "infeasible"
    page = to_html(p, tmp_path / "p.html").read_text(encoding="utf-8")
    assert "Why there is no plan" in page and "tier1 needs at least" in page
    wb = openpyxl.load_workbook(to_excel(p, tmp_path / "p.xlsx"))
    rows = {r[0]: r[1] for r in wb["summary"].iter_rows(values_only=True) if r[0]}
    assert rows["status"] == "infeasible"
    assert "tier1 needs at least" in rows["problem 1"]


def test_plan_methods_delegate(tmp_path):
    import tierplan as tp

    plan = tp.plan(
        tp.synthetic_accounts(n=300, seed=4), tp.Team.from_headcount({"tier1": 2, "tier2": 1})
    )
    assert plan.to_excel(tmp_path / "p.xlsx").stat().st_size > 0
    assert "<table" in plan.to_html(tmp_path / "p.html").read_text()
    assert len(plan.plot("books").axes) == 2
    first = plan.assignments["account_id"].iloc[0]
    assert str(first) in str(plan.explain(first))
    with pytest.raises(tp.ConfigError, match="compare"):
        plan.plot("compare")


def hide_xlsxwriter(monkeypatch):
    # A None entry makes ``import xlsxwriter`` fail as if it were not installed.
    monkeypatch.setitem(sys.modules, "xlsxwriter", None)


def test_openpyxl_fallback_same_sheets_and_formats(plan, baseline, tmp_path, monkeypatch):
    hide_xlsxwriter(monkeypatch)
    wb = openpyxl.load_workbook(to_excel(plan, tmp_path / "p.xlsx", baseline=baseline))
    assert wb.sheetnames == list(EXCEL_SHEETS)
    assert header(wb["assignments"]) == list(plan.assignments.columns)
    for name, col, mark in [
        ("assignments", "arr", "$"),
        ("tiers", "share_of_arr", "%"),
        ("books", "utilization", "%"),
        ("cut points", "arr_cut", "$"),
    ]:
        assert mark in wb[name].cell(row=2, column=column(wb[name], col)).number_format
    for ws in wb:
        assert ws.freeze_panes in {"A2", "B2"}
        assert ws.cell(row=1, column=1).font.bold
        if ws.title != "summary":
            assert ws.auto_filter.ref.startswith("A1:")
    impact = next(
        r for r in wb["summary"].iter_rows() if r[0].value == "expected impact of " + baseline.name
    )
    assert "$" in impact[1].number_format


def excel_both_ways(plan, baseline, tmp_path, monkeypatch):
    """The workbook written by xlsxwriter, then by the openpyxl fallback."""
    pytest.importorskip("xlsxwriter")
    with monkeypatch.context() as m:
        # The fast path must not fall back silently.
        m.setattr("tierplan.reports._excel_openpyxl", lambda *a: pytest.fail("fell back"))
        fast = to_excel(plan, tmp_path / "fast.xlsx", baseline=baseline)
    hide_xlsxwriter(monkeypatch)
    slow = to_excel(plan, tmp_path / "slow.xlsx", baseline=baseline)
    return openpyxl.load_workbook(fast), openpyxl.load_workbook(slow)


def test_xlsxwriter_and_openpyxl_write_the_same_workbook(plan, baseline, tmp_path, monkeypatch):
    fast, slow = excel_both_ways(plan, baseline, tmp_path, monkeypatch)
    assert fast.sheetnames == slow.sheetnames == list(EXCEL_SHEETS)
    for name in fast.sheetnames:
        a, b = fast[name], slow[name]
        assert header(a) == header(b)
        assert (a.max_row, a.max_column) == (b.max_row, b.max_column)
        assert a.freeze_panes == b.freeze_panes
        assert a.auto_filter.ref == b.auto_filter.ref
        assert a.cell(row=1, column=1).fill.fill_type == b.cell(row=1, column=1).fill.fill_type
    for name, col in [("assignments", "arr"), ("tiers", "arr_per_csm"), ("tiers", "share_of_arr")]:
        a, b = (
            fast[name].cell(row=2, column=column(fast[name], col)),
            slow[name].cell(row=2, column=column(slow[name], col)),
        )
        assert a.number_format == b.number_format
        assert a.value == pytest.approx(b.value)
    # Row-wise formats: key figures and comparison metrics.
    for name in ("summary", "comparison"):
        a_rows, b_rows = list(fast[name].iter_rows()), list(slow[name].iter_rows())
        assert [[c.value for c in r] for r in a_rows] == [[c.value for c in r] for r in b_rows]
        assert [[c.number_format for c in r[:2]] for r in a_rows] == [
            [c.number_format for c in r[:2]] for r in b_rows
        ]
    # The motions block keeps its wrapped, top-aligned text.
    motion = next(r for r in fast["summary"].iter_rows() if r[0].value == plan.model.tiers[0].name)
    assert motion[3].alignment.wrap_text and motion[3].alignment.vertical == "top"


def test_infinite_and_missing_values_in_either_engine(accounts, team, tmp_path, monkeypatch):
    plan = tp.plan(accounts, team)
    plan.assignments.loc[0, "arr"] = float("inf")
    plan.assignments.loc[1, "potential"] = float("-inf")
    plan.assignments.loc[2, "arr"] = float("nan")
    fast, slow = excel_both_ways(plan, None, tmp_path, monkeypatch)
    for wb in (fast, slow):
        ws = wb["assignments"]
        arr, potential = column(ws, "arr"), column(ws, "potential")
        assert ws.cell(row=2, column=arr).value == "inf"
        assert ws.cell(row=3, column=potential).value == "-inf"
        assert ws.cell(row=4, column=arr).value in (None, "")
        figures = {r[0]: r[1] for r in wb["summary"].iter_rows(values_only=True) if r[0]}
        assert (figures["ARR"], figures["whitespace"]) == ("inf", "-inf")


def test_sheet_too_large_for_excel(plan, tmp_path, monkeypatch):
    monkeypatch.setattr("tierplan.reports._EXCEL_MAX_ROWS", 100)
    with pytest.raises(ValueError, match="too large"):
        to_excel(plan, tmp_path / "p.xlsx")
