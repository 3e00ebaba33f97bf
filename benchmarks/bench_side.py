"""Plans with side constraints (hours capacity and a coverage budget).

Two figures: the pool program with its side rows (hours per pool and the
budget: what the MIP path solves, on a core of accounts by sifting), and
``tp.plan(hours=True, budget=...)`` end to end, which also holds every CSM
to their own hours (books built to fill them, the rest re-planned).

Each plan is checked: every CSM within their hours and book cap, the budget
kept. ``--complexity-noise`` adds a uniform jitter to the accounts'
complexity, so hours are off any grid (the synthetic data has two
decimals); ``--budget-share`` sets the budget as a share of what the
unconstrained plan spends (0.9 by default; below about 0.86 it binds).

Usage::

    python benchmarks/bench_side.py --n 100000 --time-limit 60 --repeat 3
    python benchmarks/bench_side.py --n 100000 --complexity-noise 0.004 --budget-share 0.75
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

import tierplan as tp
from bench_plan import make_team


def check(plan: tp.Plan, budget: float, cost: dict[str, float]) -> float:
    """Hours, caps and budget of a plan; returns the idle hours per CSM."""
    books = plan.books
    assert (books["attention_hours"] <= books["hours"] * (1 + 1e-9)).all(), "a CSM over hours"
    assert (books["accounts"] <= books["max_accounts"]).all(), "a book over its cap"
    assert plan.assignments["tier"].map(cost).sum() <= budget * (1 + 1e-12), "over budget"
    return float((books["hours"] - books["attention_hours"]).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--gap", type=float, default=1e-4)
    parser.add_argument("--solver", default="highs")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--complexity-noise", type=float, default=0.0)
    parser.add_argument("--budget-share", type=float, default=0.9)
    parser.add_argument("--skip-pool", action="store_true", help="only the end-to-end plan")
    args = parser.parse_args()
    accounts = tp.synthetic_accounts(n=args.n, seed=2026)
    if args.complexity_noise:
        jitter = np.random.default_rng(5).uniform(0.0, args.complexity_noise, args.n)
        accounts["complexity"] = accounts["complexity"] + jitter
    team = make_team(args.n)
    free = tp.plan(accounts, team)
    cost = {t.name: t.account_cost for t in free.model.tiers}
    budget = args.budget_share * free.assignments["tier"].map(cost).sum()
    if not args.skip_pool:
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
    times, gaps = [], []
    for _ in range(args.repeat):
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
        times.append(time.perf_counter() - start)
        gaps.append(plan.gap)
        idle = check(plan, budget, cost)
        print(
            f"{args.n:,} accounts, hours per CSM + budget ({budget:,.0f}, "
            f"{args.budget_share:.0%} of free spend), complexity jitter "
            f"{args.complexity_noise}: {plan.status} in {times[-1]:.1f} s, gap {plan.gap:.4%}, "
            f"objective {plan.objective:,.0f} (bound {plan.bound:,.0f}), "
            f"{idle:.2f} idle hours per CSM; {plan.solver_info['method']}",
            flush=True,
        )
    if args.repeat > 1:
        print(
            f"median of {args.repeat}: {statistics.median(times):.1f} s, "
            f"gap {statistics.median(gaps):.4%}"
        )


if __name__ == "__main__":
    main()
