"""Plans with side constraints (hours capacity and a coverage budget).

Two figures: the pool program with its side rows (hours per pool and the
budget: what the MIP path solves, on a core of accounts by sifting), and
``tp.plan(hours=True, budget=...)`` end to end, which also packs every
pool's accounts into its CSMs' individual hours.

Usage::

    python benchmarks/bench_side.py --n 100000 --time-limit 60 --gap 1e-4
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import tierplan as tp
from bench_plan import make_team


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--solver", default="highs")
    args = parser.parse_args()
    accounts = tp.synthetic_accounts(n=args.n, seed=2026)
    team = make_team(args.n)
    free = tp.plan(accounts, team)
    cost = {t.name: t.account_cost for t in free.model.tiers}
    budget = 0.9 * free.assignments["tier"].map(cost).sum()
    from tierplan.planner import _prepare, _side_rows
    from tierplan.solve import solve_pools

    start = time.perf_counter()
    prep = _prepare(accounts, team, None, None, None)
    side = _side_rows(prep, True, budget)
    values = np.where(prep.eligible, prep.value[:, prep.pools.tier], 0.0)
    sol = solve_pools(
        values,
        prep.eligible,
        prep.pools,
        solver=args.solver,
        time_limit=args.time_limit,
        mip_gap=args.gap,
        side=side,
    )
    seconds = time.perf_counter() - start
    print(
        f"{args.n:,} accounts, pool program with hours per pool + budget, {args.solver}: "
        f"{sol.status} in {seconds:.1f} s, gap {sol.gap:.4%}; {sol.info['method']}",
        flush=True,
    )
    start = time.perf_counter()
    plan = tp.plan(
        accounts,
        team,
        hours=True,
        budget=budget,
        solver=args.solver,
        time_limit=args.time_limit,
        mip_gap=args.gap,
    )
    seconds = time.perf_counter() - start
    print(
        f"{args.n:,} accounts, hours + budget ({budget:,.0f}), {args.solver}: "
        f"{plan.status} in {seconds:.1f} s, gap {plan.gap:.4%}, "
        f"objective {plan.objective:,.0f} (bound {plan.bound:,.0f}); "
        f"{plan.solver_info['method']}"
    )


if __name__ == "__main__":
    main()
