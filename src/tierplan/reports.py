"""Reports of a plan for people without Python: an Excel workbook and one HTML page.

:func:`to_excel` writes a formatted workbook (summary with the coverage
motions, tiers, cut points, assignments, books and, given a baseline, the
comparison); :func:`to_html` writes a single self-contained HTML file (inline
CSS, charts embedded as PNG) that opens in any browser or mail client.
openpyxl (``pip install 'tierplan[excel]'``) and matplotlib (``'tierplan[plot]'``)
are optional extras, imported on first use; the ``excel`` extra also brings
XlsxWriter, which writes large workbooks about three times faster and is used
when installed.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import importlib
import io
import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from tierplan.errors import ConfigError
from tierplan.result import Plan, _money

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = ["EXCEL_SHEETS", "column_format", "key_figures", "to_excel", "to_html"]

#: Sheets of the workbook, in order (``comparison`` only with a baseline).
EXCEL_SHEETS = (
    "summary",
    "tiers",
    "cut points",
    "rules",
    "exceptions",
    "quadrants",
    "checks",
    "assignments",
    "books",
    "comparison",
)

#: Excel number formats.
MONEY_FORMAT = '"$"#,##0'
PERCENT_FORMAT = "0.0%"
INTEGER_FORMAT = "#,##0"
DECIMAL_FORMAT = "#,##0.0"
RATIO_FORMAT = "0.00"

_MONEY = frozenset(
    {
        "arr",
        "potential",
        "expected_impact",
        "cost",
        "arr_per_csm",
        "arr_cut",
        "arr_with_whitespace_cut",
        "whitespace_cut",
        "arr_upper_min",
        "arr_lower_max",
        "potential_cut",
        "price",
        "best_bid",
        "expected_retained_arr",
        "expected_expansion",
    }
)
_PERCENT = frozenset(
    {
        "share_of_accounts",
        "share_of_arr",
        "utilization",
        "hours_utilization",
        "risk",
        "gap",
        "expected_nrr",
        "share_of_quadrant",
    }
)
_INTEGER = frozenset(
    {
        "accounts",
        "headcount",
        "max_accounts",
        "min_accounts",
        "accounts_upper",
        "accounts_lower",
        "arr_misplaced",
        "potential_misplaced",
        "rule_accounts",
        "explained",
        "exceptions",
        "renewal_lead_days",
    }
)
_DECIMAL = frozenset({"attention_hours", "hours", "accounts_per_csm", "complexity"})
_RATIO = frozenset({"impact_per_cost", "strategic"})

_FORMATS = (
    (_MONEY, MONEY_FORMAT),
    (_PERCENT, PERCENT_FORMAT),
    (_INTEGER, INTEGER_FORMAT),
    (_DECIMAL, DECIMAL_FORMAT),
    (_RATIO, RATIO_FORMAT),
)

_HEADER_FILL = "1F4E79"
_HEADER_FONT = "FFFFFF"


def column_format(name: str) -> str | None:
    """Excel number format of a report column, by its name.

    Parameters
    ----------
    name
        A column of ``plan.tiers``, ``plan.books``, ``plan.assignments`` or
        ``plan.cut_points`` (or a comparison metric such as
        ``"tier1 expected_impact"``, judged by its last word).

    Returns
    -------
    str or None
        ``'"$"#,##0'`` for money, ``"0.0%"`` for shares and utilization,
        ``"#,##0"`` for counts, ``"#,##0.0"`` for hours; ``None`` for text.
        Unknown names ending in ``_arr`` or starting with ``expected_`` count
        as money, names ending in ``_share`` or ``_utilization`` as shares.

    Examples
    --------
    >>> column_format("arr_per_csm"), column_format("utilization"), column_format("tier")
    ('"$"#,##0', '0.0%', None)
    """
    for key in (name.strip().replace(" ", "_"), name.split(" ")[-1]):
        for names, fmt in _FORMATS:
            if key in names:
                return fmt
    key = name.split(" ")[-1]
    if key.endswith("_arr") or key.startswith(("arr_", "expected_")):
        return MONEY_FORMAT
    if key.endswith(("_share", "_utilization", "_rate")) or key.startswith("share_"):
        return PERCENT_FORMAT
    return None


def _kind_of(fmt: str | None) -> str:
    return {
        MONEY_FORMAT: "money",
        PERCENT_FORMAT: "percent",
        INTEGER_FORMAT: "integer",
        DECIMAL_FORMAT: "decimal",
        RATIO_FORMAT: "ratio",
    }.get(fmt or "", "text")


def key_figures(plan: Plan, baseline: Plan | None = None) -> list[tuple[str, Any, str]]:
    """The headline numbers of a plan, for the report's summary.

    Parameters
    ----------
    plan
        The plan.
    baseline
        Optional plan to compare with (e.g. ``tp.baseline_plan``).

    Returns
    -------
    list of tuple
        ``(label, value, kind)`` with ``kind`` one of ``"text"``,
        ``"money"``, ``"integer"``, ``"percent"``.
    """
    assign = plan.assignments
    rows: list[tuple[str, Any, str]] = [
        ("plan", plan.name, "text"),
        ("status", plan.status, "text"),
    ]
    if plan.status == "infeasible":
        rows += [(f"problem {k}", reason, "text") for k, reason in enumerate(plan.diagnosis, 1)]
    else:
        rows.append(("expected NRR impact per year", float(plan.objective), "money"))
        if math.isfinite(plan.bound) and math.isfinite(plan.gap) and plan.gap > 0:
            rows.append(("best possible (proven bound)", float(plan.bound), "money"))
        rows.append(("gap to the best possible", float(plan.gap), "percent"))
        price = plan.price_of_explainability
        if price is not None:
            rows.append(("price of explainability (bands)", float(price.absolute), "money"))
            rows.append(("price of explainability (%)", float(price.relative), "percent"))
    rows += [
        ("accounts", len(assign), "integer"),
        ("ARR", float(assign["arr"].sum()), "money"),
        ("whitespace", float(assign["potential"].sum()), "money"),
        ("CSMs", len(plan.books), "integer"),
        ("yearly CSM cost", float(plan.books["cost"].sum()), "money"),
        ("attention", plan.attention_policy, "text"),
    ]
    method = plan.solver_info.get("method")
    if method:
        rows.append(("solved by", str(method), "text"))
    if baseline is not None and plan.status != "infeasible":
        gain = float(plan.objective - baseline.objective)
        rows.append((f"expected impact of {baseline.name}", float(baseline.objective), "money"))
        rows.append((f"gain over {baseline.name}", gain, "money"))
        if baseline.objective > 0:
            rows.append(
                (f"gain over {baseline.name} (%)", gain / float(baseline.objective), "percent")
            )
    return rows


def _motions(plan: Plan) -> pd.DataFrame:
    rows = []
    for tier in plan.model.tiers:
        motion = tier.motion
        rows.append(
            {
                "tier": tier.name,
                "coverage": tier.label,
                "owner": motion.owner if motion else "",
                "cadence": motion.cadence if motion else "",
                "escalation triggers": "; ".join(motion.escalation_triggers) if motion else "",
                "renewal lead days": motion.renewal_lead_days if motion else None,
                "plays": "; ".join(motion.plays) if motion else "",
            }
        )
    return pd.DataFrame(rows)


# -- Excel ---------------------------------------------------------------------


def _import_optional(module: str, extra: str, what: str) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"{what} needs {module.split('.')[0]}, an optional extra: "
            f"pip install 'tierplan[{extra}]'"
        ) from exc


def _width(values: pd.Series, header: str, fmt: str | None) -> float:
    """Column width in characters: the longest header or shown value, capped."""
    sample = values.iloc[:5000]
    longest = len(header)
    if fmt is not None and pd.api.types.is_numeric_dtype(sample):
        finite = pd.to_numeric(sample, errors="coerce").replace([np.inf, -np.inf], np.nan).dropna()
        if len(finite):
            biggest = float(finite.abs().max())
            digits = len(f"{biggest:,.0f}") + (1 if fmt == MONEY_FORMAT else 0)
            digits += 2 if fmt in (DECIMAL_FORMAT, PERCENT_FORMAT, RATIO_FORMAT) else 0
            longest = max(longest, digits + 1)
    elif len(sample):
        shown = sample.dropna().map(str)
        if len(shown):
            longest = max(longest, int(shown.str.len().max()))
    return float(min(max(longest + 2, 8), 60))


def _style_table(
    ws: Any,
    frame: pd.DataFrame,
    styles: ModuleType,
    utils: ModuleType,
    *,
    start_row: int = 1,
    formats: dict[str, str | None] | None = None,
    row_format: Callable[[int], str | None] | None = None,
) -> None:
    """Bold filled headers, number formats and widths for a table written at ``start_row``."""
    font = styles.Font(bold=True, color=_HEADER_FONT)
    fill = styles.PatternFill(fill_type="solid", start_color=_HEADER_FILL, end_color=_HEADER_FILL)
    align = styles.Alignment(horizontal="center", vertical="center", wrap_text=True)
    n_rows = len(frame)
    for c, name in enumerate(frame.columns, start=1):
        cell = ws.cell(row=start_row, column=c)
        cell.font, cell.fill, cell.alignment = font, fill, align
        cell.border = styles.Border()
        fmt = (formats or {}).get(str(name), column_format(str(name)))
        if fmt is not None and n_rows:
            for (cell,) in ws.iter_rows(
                min_row=start_row + 1, max_row=start_row + n_rows, min_col=c, max_col=c
            ):
                cell.number_format = fmt
        letter = utils.get_column_letter(c)
        width = _width(frame[name], str(name), fmt)
        current = ws.column_dimensions[letter].width or 0
        ws.column_dimensions[letter].width = max(width, current)
    if row_format is not None:
        for r in range(n_rows):
            fmt = row_format(r)
            if fmt is None:
                continue
            for c in range(2, len(frame.columns) + 1):
                ws.cell(row=start_row + 1 + r, column=c).number_format = fmt


def _finish_sheet(ws: Any, frame: pd.DataFrame, utils: ModuleType, freeze: str) -> None:
    ws.freeze_panes = freeze
    last = utils.get_column_letter(max(len(frame.columns), 1))
    ws.auto_filter.ref = f"A1:{last}{len(frame) + 1}"


#: Excel's largest sheet: rows and columns.
_EXCEL_MAX_ROWS = 1_048_576
_EXCEL_MAX_COLS = 16_384


@dataclass
class _Workbook:
    """What the workbook holds, whichever library writes it."""

    key: pd.DataFrame
    kinds: list[str]
    motions: pd.DataFrame
    tables: list[tuple[str, pd.DataFrame, str]]
    comparison: pd.DataFrame | None

    @property
    def motion_row(self) -> int:
        """0-based row of the motions' header; one blank row and a title sit above it."""
        return len(self.key) + 3

    def key_format(self, r: int) -> str | None:
        return _KIND_FORMAT.get(self.kinds[r])

    def row_format(self, name: str) -> Callable[[int], str | None] | None:
        """Per-row formats of a sheet whose rows are metrics (the comparison)."""
        if name != "comparison" or self.comparison is None:
            return None
        metrics = self.comparison["metric"].astype(str).tolist()
        return lambda r: column_format(metrics[r]) or INTEGER_FORMAT


_KIND_FORMAT = {"money": MONEY_FORMAT, "percent": PERCENT_FORMAT, "integer": INTEGER_FORMAT}


def _workbook(plan: Plan, baseline: Plan | None) -> _Workbook:
    figures = key_figures(plan, baseline)
    key = pd.DataFrame({"figure": [r[0] for r in figures], "value": [r[1] for r in figures]})
    tables: list[tuple[str, pd.DataFrame, str]] = [
        ("tiers", plan.tiers, "B2"),
        ("cut points", plan.cut_points, "B2"),
        ("rules", plan.rules, "B2"),
        ("exceptions", plan.exceptions, "B2"),
        ("quadrants", plan.quadrants, "B2"),
        ("checks", plan.checks, "B2"),
        ("assignments", plan.assignments, "B2"),
        ("books", plan.books, "B2"),
    ]
    if plan.feasible:
        # A re-plan's moves and this quarter's borrowed accounts, when any.
        tables += [
            (name, frame, "B2")
            for name, frame in (("moves", plan.moves), ("borrowed", plan.borrowed))
            if not frame.empty
        ]
    comparison = None
    if baseline is not None:
        comparison = plan.compare(baseline).reset_index()
        tables.append(("comparison", comparison, "B2"))
    return _Workbook(key, [r[2] for r in figures], _motions(plan), tables, comparison)


def to_excel(plan: Plan, path: str | Path, *, baseline: Plan | None = None) -> Path:
    """Write the plan as a formatted Excel workbook.

    Sheets: ``summary`` (key figures and each tier's coverage motion:
    owner, cadence, escalation triggers, renewal lead days, plays),
    ``tiers``, ``cut points``, ``assignments``, ``books``, ``moves`` and
    ``borrowed`` when the plan has any, and, when a baseline is given,
    ``comparison`` (``plan.compare(baseline)``). Headers
    are bold on a fill, money columns carry a currency format, shares and
    utilization a percent format; header rows are frozen and data sheets
    have an autofilter.

    The workbook is written with xlsxwriter when it is installed (about three
    times faster on large account bases), otherwise with openpyxl; both give
    the same sheets and formats. Missing values are empty cells and
    infinite ones the text ``inf`` or ``-inf``.

    Parameters
    ----------
    plan
        The plan.
    path
        Output ``.xlsx`` file.
    baseline
        Optional plan to compare with (e.g. ``tp.baseline_plan``).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ConfigError
        If openpyxl is not installed (``pip install 'tierplan[excel]'``).
    ValueError
        If a sheet has more rows or columns than Excel allows (1,048,576 by
        16,384).
    """
    # openpyxl stays the required engine of the extra, whether or not the
    # faster writer is around, so a missing extra is reported the same way.
    _import_optional("openpyxl", "excel", "the Excel report")
    out = Path(path)
    book = _workbook(plan, baseline)
    for _name, frame, _freeze in book.tables:
        rows, cols = len(frame) + 1, len(frame.columns)
        if rows > _EXCEL_MAX_ROWS or cols > _EXCEL_MAX_COLS:
            raise ValueError(
                f"This sheet is too large! Your sheet size is: {rows}, {cols} "
                f"Max sheet size is: {_EXCEL_MAX_ROWS}, {_EXCEL_MAX_COLS}"
            )
    try:
        xlsxwriter = importlib.import_module("xlsxwriter")
    except ImportError:
        _excel_openpyxl(book, out)
    else:
        _excel_xlsxwriter(book, out, xlsxwriter)
    return out


def _excel_openpyxl(book: _Workbook, out: Path) -> None:
    """Write the workbook through pandas and style it cell by cell (slow on big sheets)."""
    styles = _import_optional("openpyxl.styles", "excel", "the Excel report")
    utils = _import_optional("openpyxl.utils", "excel", "the Excel report")
    key, motions, motion_row = book.key, book.motions, book.motion_row
    with pd.ExcelWriter(out, engine="openpyxl") as writer:
        key.to_excel(writer, sheet_name="summary", index=False)
        motions.to_excel(writer, sheet_name="summary", index=False, startrow=motion_row)
        for name, frame, _freeze in book.tables:
            frame.to_excel(writer, sheet_name=name, index=False, na_rep="")
        summary = writer.sheets["summary"]
        _style_table(summary, key, styles, utils, row_format=book.key_format)
        title = summary.cell(row=motion_row, column=1, value=_MOTIONS_TITLE)
        title.font = styles.Font(bold=True, size=12)
        _style_table(summary, motions, styles, utils, start_row=motion_row + 1)
        summary.column_dimensions["B"].width = max(
            summary.column_dimensions["B"].width or 0, _SUMMARY_VALUE_WIDTH
        )
        for row in summary.iter_rows(min_row=motion_row + 2, max_row=motion_row + 1 + len(motions)):
            for cell in row:
                cell.alignment = styles.Alignment(wrap_text=True, vertical="top")
        summary.freeze_panes = "A2"
        for name, frame, freeze in book.tables:
            ws = writer.sheets[name]
            _style_table(ws, frame, styles, utils, row_format=book.row_format(name))
            _finish_sheet(ws, frame, utils, freeze)


_MOTIONS_TITLE = "Coverage motion of each tier"
_SUMMARY_VALUE_WIDTH = 28.0


class _XlsxFormats:
    """xlsxwriter formats of one workbook, made once per distinct style."""

    def __init__(self, workbook: Any) -> None:
        self._workbook = workbook
        self._cache: dict[tuple[str | None, bool], Any] = {}
        self.header = workbook.add_format(
            {
                "bold": True,
                "font_color": "#" + _HEADER_FONT,
                "bg_color": "#" + _HEADER_FILL,
                "pattern": 1,
                "align": "center",
                "valign": "vcenter",
                "text_wrap": True,
            }
        )
        self.title = workbook.add_format({"bold": True, "font_size": 12})
        # pandas' defaults for dates, so that both engines show them alike.
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})

    def get(self, number: str | None, *, wrap: bool = False) -> Any:
        """The format with this number format (and wrapped, top-aligned text), or None."""
        if number is None and not wrap:
            return None
        key = (number, wrap)
        if key not in self._cache:
            props: dict[str, Any] = {"num_format": number} if number is not None else {}
            if wrap:
                props.update(text_wrap=True, valign="top")
            self._cache[key] = self._workbook.add_format(props)
        return self._cache[key]


def _xlsx_value(ws: Any, row: int, col: int, value: Any, fmt: Any, formats: _XlsxFormats) -> None:
    """Write one value as pandas would: missing → empty, ±inf → text, dates as dates."""
    if isinstance(value, str):
        # write_string, not write: text from a CRM must never turn into a formula or link.
        ws.write_string(row, col, value, fmt)
    elif isinstance(value, bool | np.bool_):
        ws.write_boolean(row, col, bool(value), fmt)
    elif isinstance(value, int | np.integer):
        ws.write_number(row, col, int(value), fmt)
    elif isinstance(value, float | np.floating):
        x = float(value)
        if math.isfinite(x):
            ws.write_number(row, col, x, fmt)
        elif math.isinf(x):
            ws.write_string(row, col, "inf" if x > 0 else "-inf", fmt)
        else:
            ws.write_blank(row, col, None, fmt)
    elif value is None or value is pd.NA or value is pd.NaT:
        ws.write_blank(row, col, None, fmt)
    elif isinstance(value, dt.datetime):
        ws.write_datetime(row, col, value, fmt or formats.datetime)
    elif isinstance(value, dt.date):
        ws.write_datetime(row, col, value, fmt or formats.date)
    elif isinstance(value, dt.timedelta | np.timedelta64):
        ws.write_number(row, col, pd.Timedelta(value).total_seconds() / 86_400, fmt)
    else:
        ws.write_string(row, col, str(value), fmt)


def _xlsx_column(
    ws: Any, start: int, col: int, values: pd.Series, formats: _XlsxFormats, fmt: Any = None
) -> None:
    """Write a column from row ``start``; typed fast paths for the big sheets."""
    if pd.api.types.is_float_dtype(values.dtype) and not isinstance(
        values.dtype, pd.api.extensions.ExtensionDtype
    ):
        array = values.to_numpy(dtype=float)
        finite = np.isfinite(array)
        write_number = ws.write_number
        for r, x in zip(np.flatnonzero(finite).tolist(), array[finite].tolist(), strict=True):
            write_number(start + r, col, x, fmt)
        for r in np.flatnonzero(np.isinf(array)).tolist():
            ws.write_string(start + r, col, "inf" if array[r] > 0 else "-inf", fmt)
        if fmt is not None:
            for r in np.flatnonzero(np.isnan(array)).tolist():
                ws.write_blank(start + r, col, None, fmt)
        return
    if (
        pd.api.types.is_integer_dtype(values.dtype)
        and not isinstance(values.dtype, pd.api.extensions.ExtensionDtype)
        and not pd.api.types.is_bool_dtype(values.dtype)
    ):
        write_number = ws.write_number
        for r, n in enumerate(values.tolist(), start):
            write_number(r, col, n, fmt)
        return
    write_string = ws.write_string
    for r, value in enumerate(values.tolist(), start):
        if type(value) is str:
            write_string(r, col, value, fmt)
        else:
            _xlsx_value(ws, r, col, value, fmt, formats)


def _xlsx_table(
    ws: Any,
    frame: pd.DataFrame,
    formats: _XlsxFormats,
    *,
    start_row: int = 0,
    column_formats: bool = True,
    row_format: Callable[[int], str | None] | None = None,
    wrap: bool = False,
    widths: dict[int, float] | None = None,
) -> dict[int, float]:
    """Header, cells and widths of a table at ``start_row`` (0-based); returns the widths.

    Number formats go on whole columns (``set_column``), which Excel applies
    to every cell written without its own format: one format record instead
    of one per cell. Tables sharing a sheet (the summary) pass
    ``column_formats=False`` and get their formats cell by cell.
    """
    widths = dict(widths or {})
    for c, name in enumerate(frame.columns):
        ws.write_string(start_row, c, str(name), formats.header)
        number = column_format(str(name))
        widths[c] = max(widths.get(c, 0.0), _width(frame[name], str(name), number))
        if column_formats:
            ws.set_column(c, c, widths[c], formats.get(number))
        if row_format is None:
            cell = None if column_formats else formats.get(number, wrap=wrap)
            _xlsx_column(ws, start_row + 1, c, frame[name], formats, cell)
    if row_format is not None:
        # Rows of mixed kinds (comparison metrics): the first column keeps its
        # column format, the others take the row's.
        own = [column_format(str(name)) for name in frame.columns]
        for r, values in enumerate(frame.itertuples(index=False, name=None)):
            number = row_format(r)
            for c, value in enumerate(values):
                if c > 0 and number is not None:
                    fmt = formats.get(number, wrap=wrap)
                elif column_formats:
                    fmt = None  # the column's format applies
                else:
                    fmt = formats.get(own[c], wrap=wrap)
                _xlsx_value(ws, start_row + 1 + r, c, value, fmt, formats)
    return widths


def _excel_xlsxwriter(book: _Workbook, out: Path, xlsxwriter: ModuleType) -> None:
    """Write the workbook cell by cell with xlsxwriter, formats per column."""
    # Opening the file first fails fast, with the usual OSError, on a bad path.
    with out.open("wb") as handle:
        workbook = xlsxwriter.Workbook(handle, {"remove_timezone": True})
        formats = _XlsxFormats(workbook)
        summary = workbook.add_worksheet("summary")
        widths = _xlsx_table(
            summary, book.key, formats, column_formats=False, row_format=book.key_format
        )
        summary.write_string(book.motion_row - 1, 0, _MOTIONS_TITLE, formats.title)
        widths = _xlsx_table(
            summary,
            book.motions,
            formats,
            start_row=book.motion_row,
            column_formats=False,
            wrap=True,
            widths=widths,
        )
        widths[1] = max(widths.get(1, 0.0), _SUMMARY_VALUE_WIDTH)
        for c, width in widths.items():
            summary.set_column(c, c, width)
        summary.freeze_panes("A2")
        for name, frame, freeze in book.tables:
            ws = workbook.add_worksheet(name)
            _xlsx_table(ws, frame, formats, row_format=book.row_format(name))
            ws.freeze_panes(freeze)
            ws.autofilter(0, 0, len(frame), max(len(frame.columns), 1) - 1)
        workbook.close()


# -- HTML ----------------------------------------------------------------------

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #1d2733;
       max-width: 1100px; margin: 2em auto; padding: 0 1.2em; line-height: 1.45; }
h1 { color: #1F4E79; margin-bottom: 0.1em; }
h2 { color: #1F4E79; border-bottom: 2px solid #d9e2ec; padding-bottom: 0.2em; margin-top: 1.8em; }
.meta { color: #627d98; font-size: 0.9em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th { background: #1F4E79; color: #fff; text-align: left; padding: 6px 10px; }
td { padding: 5px 10px; border-bottom: 1px solid #e4e7eb; vertical-align: top; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tr:nth-child(even) td { background: #f5f7fa; }
table.figures td:first-child { color: #486581; }
pre { background: #f5f7fa; padding: 1em; overflow-x: auto; font-size: 0.85em; }
figure { margin: 1.2em 0; }
figure img { max-width: 100%; border: 1px solid #e4e7eb; }
figcaption { color: #627d98; font-size: 0.9em; }
.problem { color: #b42318; }
p.note { color: #486581; font-size: 0.92em; }
"""


_NUM = ' class="num"'

_WORDS = {"arr": "ARR", "nrr": "NRR", "csm": "CSM", "csms": "CSMs", "id": "id"}


def _humanize(name: str) -> str:
    """``"tier1 arr_per_csm"`` → ``"tier1 ARR per CSM"``."""
    return " ".join(_WORDS.get(w, w) for w in name.replace("_", " ").split())


def _show(value: Any, kind: str) -> str:
    """A value as a finance reader would want it."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if kind == "money":
        x = float(value)
        return "−" + _money(-x) if x < 0 else _money(x)
    if kind == "percent":
        return f"{float(value):.1%}" if math.isfinite(float(value)) else "–"
    if kind == "integer":
        return f"{float(value):,.0f}" if math.isfinite(float(value)) else "–"
    if kind == "decimal":
        return f"{float(value):,.1f}" if math.isfinite(float(value)) else "–"
    if kind == "ratio":
        return f"{float(value):,.2f}" if math.isfinite(float(value)) else "–"
    return str(value)


def _html_table(
    frame: pd.DataFrame,
    *,
    kinds: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    css: str = "",
    row_kinds: list[str] | None = None,
) -> str:
    """An HTML table with numbers formatted and right-aligned; all text escaped."""
    cols = [str(c) for c in frame.columns]
    col_kind = {c: (kinds or {}).get(c) or _kind_of(column_format(c)) for c in cols}
    head = "".join(
        f"<th{_NUM if col_kind[c] != 'text' else ''}>"
        f"{html.escape((headers or {}).get(c, _humanize(c)))}</th>"
        for c in cols
    )
    body: list[str] = []
    for r, values in enumerate(frame.itertuples(index=False, name=None)):
        cells = []
        for c, value in zip(cols, values, strict=True):
            kind = col_kind[c]
            if row_kinds is not None and kind != "text":
                kind = row_kinds[r]
            cls = _NUM if kind != "text" else ""
            cells.append(f"<td{cls}>{html.escape(_show(value, kind))}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    attr = f' class="{html.escape(css)}"' if css else ""
    return f"<table{attr}><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _png(fig: Figure) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tierplan")
    except PackageNotFoundError:  # pragma: no cover - source checkout without install
        return "unknown"


def _section(title: str, *parts: str) -> str:
    return f"<h2>{html.escape(title)}</h2>\n" + "\n".join(parts)


def _paragraph(text: str, css: str = "note") -> str:
    return f'<p class="{css}">{html.escape(text)}</p>'


def _figures(plan: Plan, baseline: Plan | None) -> Iterable[tuple[str, str, str]]:
    from tierplan import plots

    yield (
        "quadrant",
        _png(plots.quadrant(plan)),
        "Every account by ARR and whitespace, colored by the tier the plan gives it. "
        "Dashed lines: the tier-1 ARR cut and the median whitespace.",
    )
    if len(plan.books):
        yield (
            "books",
            _png(plots.books(plan)),
            "Each CSM's book: accounts against the book cap, hours against capacity.",
        )
    if baseline is not None:
        yield (
            "comparison",
            _png(plots.compare(plan, baseline)),
            f"Expected impact and accounts per tier: {plan.name} against {baseline.name}.",
        )


def _rules_sections(plan: Plan) -> list[str]:
    """HTML sections for the rules in words, the 2×2 and the checks."""
    parts = []
    rules = plan.rules
    if len(rules) and len(plan.model.tiers) > 1:
        price = plan.price_of_explainability
        note = (
            f"The plan follows these cut points exactly (policy 'bands'); {price}."
            if price is not None
            else "Fitted to the plan: the rules that leave the fewest exceptions. "
            "Exceptions are listed in the workbook with their reason."
        )
        parts.append(
            _section(
                "Rules in words",
                _paragraph(
                    "Read top-down: an account takes the first tier whose rule it meets. " + note
                ),
                _html_table(
                    rules[["scope", "tier", "rule", "accounts", "explained", "exceptions"]],
                    css="rules",
                ),
            )
        )
    table = plan.quadrants
    if len(table):
        pivot = table.pivot_table(
            index="quadrant", columns="tier", values="accounts", aggfunc="sum", sort=False
        )[plan.model.tier_names].reset_index()
        pivot["ARR"] = table.groupby("quadrant", sort=False)["arr"].sum().to_numpy()
        parts.append(
            _section(
                "ARR × whitespace 2×2",
                _paragraph(str(table.attrs["cuts"])),
                _html_table(
                    pivot,
                    css="quadrants",
                    kinds={**{t: "integer" for t in plan.model.tier_names}, "ARR": "money"},
                ),
            )
        )
    checks = plan.checks
    if len(checks):
        parts.append(_section("Checks", _html_table(checks, css="checks")))
    return parts


def to_html(
    plan: Plan, path: str | Path, *, baseline: Plan | None = None, plots: bool = True
) -> Path:
    """Write the plan as one self-contained HTML page.

    The page holds the key figures, the plan in plain words, the tier table,
    each tier's coverage motion, the cut points, the books, the comparison
    with a baseline (when given) and the charts (the ARR × whitespace
    quadrant, the books and the comparison) embedded as PNG: one file, no
    scripts, no external links, readable in a browser or attached to an
    email.

    Parameters
    ----------
    plan
        The plan.
    path
        Output ``.html`` file.
    baseline
        Optional plan to compare with (e.g. ``tp.baseline_plan``).
    plots
        Embed the charts (needs matplotlib, ``pip install 'tierplan[plot]'``).

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    ConfigError
        If ``plots`` is set and matplotlib is not installed.
    """
    if plots:
        _import_optional("matplotlib", "plot", "the charts of the HTML report")
    out = Path(path)
    title = f"Coverage plan: {plan.name}"
    stamp = dt.datetime.now().strftime("%Y-%m-%d %H:%M")
    parts = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">Generated {stamp} by tierplan {html.escape(_version())}.</p>',
    ]
    # Key figures hold mixed kinds: format them row by row.
    rows = "".join(
        f"<tr><td>{html.escape(label)}</td>"
        f"<td{_NUM if kind != 'text' else ''}>{html.escape(_show(value, kind))}</td></tr>"
        for label, value, kind in key_figures(plan, baseline)
    )
    parts.append(f'<table class="figures"><tbody>{rows}</tbody></table>')
    if plan.status == "infeasible":
        items = "".join(f'<li class="problem">{html.escape(r)}</li>' for r in plan.diagnosis)
        parts.append(_section("Why there is no plan", f"<ul>{items}</ul>"))
    else:
        parts.append(
            _section(
                "How to read this",
                _paragraph(
                    "Each account gets a coverage tier. The plan maximizes the expected "
                    "net-revenue-retention impact of the team's attention: at-risk ARR that "
                    "attention can save plus whitespace it can convert, within the headcount "
                    "and book sizes. Expected impact is a model estimate per year, not booked "
                    "revenue. Cut points restate the plan as ARR bands; accounts on the "
                    "'other side' of a cut are the ones whose risk or whitespace makes ARR a "
                    "poor guide."
                ),
            )
        )
        parts.append(
            _section("The plan in plain words", f"<pre>{html.escape(plan.summary())}</pre>")
        )
        parts.append(
            _section(
                "Tiers",
                _html_table(
                    plan.tiers,
                    css="tiers",
                    headers={
                        "label": "coverage",
                        "share_of_accounts": "share of accounts",
                        "arr": "ARR",
                        "share_of_arr": "share of ARR",
                        "headcount": "CSMs",
                        "accounts_per_csm": "accounts per CSM",
                        "arr_per_csm": "ARR per CSM",
                        "cost": "CSM cost",
                        "expected_impact": "expected impact",
                        "impact_per_cost": "impact per $ of CSM cost",
                    },
                ),
            )
        )
        parts.append(
            _section(
                "Coverage motion of each tier",
                _html_table(_motions(plan), css="motions", kinds={"renewal lead days": "integer"}),
            )
        )
        cuts = plan.cut_points
        if len(cuts):
            shown = cuts[
                [
                    "boundary",
                    "scope",
                    "arr_cut",
                    "arr_misplaced",
                    "potential_cut",
                    "potential_misplaced",
                    "accounts_upper",
                    "accounts_lower",
                ]
            ]
            parts.append(
                _section(
                    "Cut points",
                    _paragraph(
                        "Rule: ARR at or above the cut → this tier or higher. 'Other side' "
                        "counts the accounts the plan places differently from that rule."
                    ),
                    _html_table(
                        shown,
                        css="cuts",
                        headers={
                            "arr_cut": "ARR cut",
                            "arr_misplaced": "other side of the ARR rule",
                            "potential_cut": "whitespace cut",
                            "potential_misplaced": "other side of the whitespace rule",
                            "accounts_upper": "accounts at or above",
                            "accounts_lower": "accounts below",
                        },
                    ),
                )
            )
        parts += _rules_sections(plan)
        if len(plan.books):
            book_cols = [
                "csm_id",
                "tier",
                "pool",
                "vertical",
                "accounts",
                "max_accounts",
                "utilization",
                "arr",
                "potential",
                "attention_hours",
                "hours",
                "hours_utilization",
                "expected_impact",
            ]
            parts.append(
                _section(
                    "Books",
                    _html_table(
                        plan.books[book_cols],
                        css="books",
                        headers={
                            "csm_id": "CSM",
                            "max_accounts": "book cap",
                            "arr": "ARR",
                            "potential": "whitespace",
                            "attention_hours": "hours planned",
                            "hours": "hours capacity",
                            "hours_utilization": "hours utilization",
                            "expected_impact": "expected impact",
                        },
                    ),
                )
            )
        if baseline is not None:
            comparison = plan.compare(baseline).reset_index()
            metrics = comparison["metric"].astype(str).tolist()
            parts.append(
                _section(
                    f"Against {baseline.name}",
                    _html_table(
                        comparison.assign(metric=[_humanize(m) for m in metrics]),
                        css="comparison",
                        kinds={c: "integer" for c in comparison.columns[1:]},
                        row_kinds=[
                            _kind_of(column_format(m)) if column_format(m) else "integer"
                            for m in metrics
                        ],
                    ),
                )
            )
        if plots:
            images = [
                f'<figure><img src="data:image/png;base64,{data}" alt="{html.escape(name)} chart">'
                f"<figcaption>{html.escape(caption)}</figcaption></figure>"
                for name, data, caption in _figures(plan, baseline)
            ]
            parts.append(_section("Charts", *images))
    document = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(parts)
        + "\n</body>\n</html>\n"
    )
    out.write_text(document, encoding="utf-8")
    return out
