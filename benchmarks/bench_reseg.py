"""Quarterly re-plan: the disruption frontier on a perturbed account base.

Usage::

    python benchmarks/bench_reseg.py --n 10000
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tierplan as tp
from bench_plan import make_team


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--share", type=float, default=0.1, help="share of accounts perturbed")
    args = parser.parse_args()
    accounts = tp.synthetic_accounts(n=args.n, seed=2026)
    team = make_team(args.n)
    first = tp.plan(accounts, team)
    data = accounts.copy()
    data["current_tier"] = first.assignments["tier"].to_numpy()
    data["current_csm"] = first.assignments["csm_id"].to_numpy()
    rng = np.random.default_rng(1)
    rows = rng.choice(args.n, int(args.share * args.n), replace=False)
    data.loc[rows, "arr"] = data.loc[rows, "arr"] * rng.uniform(0.3, 3.0, rows.shape[0])
    start = time.perf_counter()
    front = tp.disruption_frontier(data, team)
    seconds = time.perf_counter() - start
    print(f"{args.n:,} accounts, {len(team.roster):,} CSMs: default frontier in {seconds:.1f} s")
    print(front.to_string(index=False))
    if args.n > 50_000:
        return  # one column per account and CSM: too large a MIP
    start = time.perf_counter()
    again = tp.plan(data, team, max_moves_per_csm=5, solver="highs")
    seconds = time.perf_counter() - start
    print(
        f"max_moves_per_csm=5: {again.status}, {len(again.moves):,} moves "
        f"in {seconds:.1f} s ({again.solver_info['method']})"
    )


if __name__ == "__main__":
    main()
