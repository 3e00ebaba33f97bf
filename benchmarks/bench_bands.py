"""Explainable plans: time of ``policy="bands"`` against the free optimum, and its price.

Usage::

    python benchmarks/bench_bands.py --sizes 10000 100000 --repeat 3
"""

from __future__ import annotations

import argparse
import statistics
import time

import tierplan as tp
from bench_plan import make_team


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print("| accounts | free (s) | bands (s) | rule search (s) | candidates | price | price (%) |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for n in args.sizes:
        accounts = tp.synthetic_accounts(n=n, seed=2026)
        team = make_team(n)
        free_times, band_times = [], []
        for _ in range(args.repeat):
            start = time.perf_counter()
            tp.plan(accounts, team)
            free_times.append(time.perf_counter() - start)
            start = time.perf_counter()
            bands = tp.plan(accounts, team, policy="bands")
            band_times.append(time.perf_counter() - start)
        price = bands.price_of_explainability
        info = bands.solver_info
        print(
            f"| {n:,} | {statistics.median(free_times):.2f} | "
            f"{statistics.median(band_times):.2f} | {info['bands_search_seconds']:.2f} | "
            f"{' / '.join(f'{c:,}' for c in info['bands_candidates'])} | "
            f"${price.absolute:,.0f} | {price.relative:.2%} |"
        )


if __name__ == "__main__":
    main()
