"""Time the reports of a plan: the Excel workbook and the HTML page.

Plans ``tp.synthetic_accounts(n, seed=2026)`` with the team of
``bench_plan.py``'s ``make_team(n)``, then times ``plan.to_excel`` (with the
baseline's comparison sheet) and ``plan.to_html``; the median of the repeats
is reported.

Usage::

    python benchmarks/bench_reports.py                 # 100,000 accounts
    python benchmarks/bench_reports.py --n 10000 --repeat 3
    python benchmarks/bench_reports.py --engine openpyxl   # without xlsxwriter
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import sys
import tempfile
import time
from pathlib import Path

import tierplan as tp
from bench_plan import make_team


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--engine",
        choices=["auto", "openpyxl"],
        default="auto",
        help="'openpyxl' hides xlsxwriter to time the fallback",
    )
    args = parser.parse_args()
    if args.engine == "openpyxl":
        # A None entry makes ``import xlsxwriter`` raise ImportError.
        sys.modules["xlsxwriter"] = None  # type: ignore[assignment]
    engine = (
        "xlsxwriter"
        if args.engine == "auto" and importlib.util.find_spec("xlsxwriter") is not None
        else "openpyxl"
    )
    accounts = tp.synthetic_accounts(n=args.n, seed=2026)
    team = make_team(args.n)
    plan = tp.plan(accounts, team)
    baseline = tp.baseline_plan(accounts, team)
    excel: list[float] = []
    page: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.repeat):
            start = time.perf_counter()
            xlsx = plan.to_excel(Path(tmp) / "plan.xlsx", baseline=baseline)
            excel.append(time.perf_counter() - start)
            start = time.perf_counter()
            html = plan.to_html(Path(tmp) / "plan.html", baseline=baseline)
            page.append(time.perf_counter() - start)
        size_xlsx = xlsx.stat().st_size / 1e6
        size_html = html.stat().st_size / 1e6
    print(f"accounts: {args.n:,}  CSMs: {len(plan.books):,}  repeats: {args.repeat}")
    print(f"to_excel ({engine}): {statistics.median(excel):.2f} s  ({size_xlsx:.1f} MB)")
    print(f"to_html: {statistics.median(page):.2f} s  ({size_html:.1f} MB)")


if __name__ == "__main__":
    main()
