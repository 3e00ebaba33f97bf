"""End-to-end benchmark of ``tp.plan``, phase by phase, from 1k to 1M accounts.

Each size runs in a fresh process (so peak memory is that size's own).
Each measurement is repeated back to back (as ``timeit`` does) and its
median reported: ``tp.plan`` end to end, from the account frame to the
``Plan``; the report tables of a fresh plan (``assignments``, ``books``,
``tiers``, ``cut_points``, built on first access). Alongside it measures:

* a bare min-cost-flow solve of the same value matrix (OR-Tools, integer
  costs), the floor any exact method has to beat;
* the naive formulation (one binary per account × CSM built with ``lpSum``
  and solved by CBC) where it finishes within its time limit;
* the ARR-band baseline's expected impact, to show what optimizing buys.

Usage::

    python benchmarks/bench_plan.py --quick            # CI smoke: 1k and 10k
    python benchmarks/bench_plan.py                    # full: 1k … 1M, writes docs
    python benchmarks/bench_plan.py --sizes 200000 --repeat 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]


def make_team(n: int):
    import tierplan as tp

    def k(divisor: int) -> int:
        return max(1, round(n / divisor))

    return tp.Team.from_headcount(
        {"tier1": k(2_000), "tier2": k(4_000)},
        specialists={
            "tier1": {"finance": k(5_000), "telco": k(10_000), "healthcare": k(10_000)},
            "tier2": {"finance": k(10_000), "telco": k(20_000)},
        },
    )


def bare_min_cost_flow(values: np.ndarray, eligible: np.ndarray, capacity: np.ndarray) -> float:
    """Seconds to build and solve the transportation problem as a min-cost flow."""
    from ortools.graph.python import min_cost_flow

    start = time.perf_counter()
    n, n_pools = eligible.shape
    acc, pool = np.nonzero(eligible)
    scale = 1e12 / max(float(np.abs(values[eligible]).max()), 1.0) / max(n, 1)
    cost = -np.round(values[acc, pool] * scale).astype(np.int64)
    source, sink = n + n_pools, n + n_pools + 1
    finite = np.isfinite(capacity)
    cap = np.where(finite, capacity, n).astype(np.int64)
    tails = np.concatenate([np.full(n, source), acc, n + np.arange(n_pools)])
    heads = np.concatenate([np.arange(n), n + pool, np.full(n_pools, sink)])
    caps = np.concatenate([np.ones(n + acc.shape[0], dtype=np.int64), cap])
    costs = np.concatenate([np.zeros(n, dtype=np.int64), cost, np.zeros(n_pools, np.int64)])
    smcf = min_cost_flow.SimpleMinCostFlow()
    smcf.add_arcs_with_capacity_and_unit_cost(
        tails.astype(np.int32), heads.astype(np.int32), caps, costs
    )
    supplies = np.zeros(n + n_pools + 2, dtype=np.int64)
    supplies[source], supplies[sink] = n, -n
    smcf.set_nodes_supplies(np.arange(n + n_pools + 2, dtype=np.int32), supplies)
    status = smcf.solve()
    assert status == smcf.OPTIMAL, status
    return time.perf_counter() - start


def naive_plan(accounts, team, time_limit: float) -> tuple[float, float | None]:
    """The naive model: account × CSM binaries with lpSum, solved by CBC."""
    import pulp

    import tierplan as tp

    start = time.perf_counter()
    model = tp.CoverageModel()
    acc = tp.load_accounts(accounts, tiers=model.tier_names)
    values = tp.value_matrix(acc, model)
    roster = team.resolved(model)
    prob = pulp.LpProblem("naive", pulp.LpMaximize)
    n = acc.n
    csm_tier = roster["tier_index"].to_numpy()
    csm_vert = roster["vertical"].to_numpy()
    x = {}
    for i in range(n):
        for c in range(len(roster)):
            if csm_vert[c] and csm_vert[c] != acc.vertical[i]:
                continue
            x[i, c] = prob.add_variable(f"x_{i}_{c}", cat="Binary")
    tech = {i: prob.add_variable(f"t_{i}", cat="Binary") for i in range(n)}
    prob += pulp.lpSum(values[i, csm_tier[c]] * v for (i, c), v in x.items())
    by_acc: dict[int, list] = {i: [tech[i]] for i in range(n)}
    by_csm: dict[int, list] = {c: [] for c in range(len(roster))}
    for (i, c), v in x.items():
        by_acc[i].append(v)
        by_csm[c].append(v)
    for i in range(n):
        prob += pulp.lpSum(by_acc[i]) == 1
    for c, cap in enumerate(roster["max_accounts"]):
        prob += pulp.lpSum(by_csm[c]) <= int(cap)
    prob.solve(pulp.PULP_CBC_CMD(msg=False, timeLimit=time_limit))
    seconds = time.perf_counter() - start
    if pulp.LpStatus[prob.status] != "Optimal" or seconds >= time_limit:
        return seconds, None
    return seconds, float(pulp.value(prob.objective))


def run_one(n: int, repeat: int, naive_limit: float) -> dict:
    import tierplan as tp
    from tierplan.planner import _prepare

    # Warm up imports and solver libraries so the first repeat is not an outlier.
    tp.plan(tp.synthetic_accounts(n=200, seed=1), make_team(2_000))
    accounts = tp.synthetic_accounts(n=n, seed=2026)
    team = make_team(n)
    plans, phases, reports, bares = [], [], [], []
    # Each measurement is repeated back to back, as timeit does: tp.plan from
    # the account frame to the Plan; then the report tables of fresh plans
    # (built on first access); then the bare min-cost flow.
    plan = None
    for _ in range(repeat):
        start = time.perf_counter()
        plan = tp.plan(accounts, team)
        plans.append(time.perf_counter() - start)
        phases.append(plan.solver_info["phases"])
    assert plan is not None
    for _ in range(repeat):
        fresh = tp.plan(accounts, team)
        start = time.perf_counter()
        _ = (fresh.assignments, fresh.books, fresh.tiers, fresh.cut_points)
        reports.append(time.perf_counter() - start)
        del fresh
    prep = _prepare(accounts, team, None, None, None)
    pool_values = np.where(prep.eligible, prep.value[:, prep.pools.tier], 0.0)
    for _ in range(repeat):
        bares.append(bare_min_cost_flow(pool_values, prep.eligible, prep.pools.capacity))
    base = tp.baseline_plan(accounts, team)
    row = {
        "accounts": n,
        "csms": team.size,
        "pools": len(plan.pools),
        "status": plan.status,
        "path": plan.solver_info["path"],
        "objective": plan.objective,
        "baseline_objective": base.objective,
        "total_s": statistics.median(plans) + statistics.median(reports),
        "plan_s": statistics.median(plans),
        "report_s": statistics.median(reports),
        "bare_mcf_s": statistics.median(bares),
        "phases": {k: statistics.median(p[k] for p in phases) for k in phases[0]},
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "repeat": repeat,
    }
    if naive_limit > 0:
        seconds, objective = naive_plan(accounts, team, naive_limit)
        row["naive_s"] = seconds
        row["naive_objective"] = objective
    return row


def markdown(rows: list[dict]) -> str:
    head = (
        "| accounts | CSMs | pools | status | validate | values | pools+eligibility | "
        "diagnose | solve | books | **`tp.plan`** | report tables | plan + tables | "
        "bare min-cost flow | `tp.plan` / bare | peak RSS | naive CBC | "
        "optimized vs ARR bands |\n"
        "|---:|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    lines = []
    for r in rows:
        p = r["phases"]
        naive = r.get("naive_s")
        naive_text = "–"
        if naive is not None:
            naive_text = (
                f"{naive:.1f} s ({naive / r['plan_s']:,.0f}× `tp.plan`, "
                f"{naive / r['total_s']:,.0f}× with tables)"
                if r.get("naive_objective") is not None
                else f"> {naive:.0f} s"
            )
        gain = r["objective"] / r["baseline_objective"] - 1 if r["baseline_objective"] else 0
        lines.append(
            f"| {r['accounts']:,} | {r['csms']:,} | {r['pools']} | {r['status']} | "
            f"{p['validate']:.3f} | {p['values']:.3f} | {p['pools']:.3f} | {p['diagnose']:.3f} | "
            f"{p['solve']:.3f} | {p['books']:.3f} | **{r['plan_s']:.3f} s** | "
            f"{r['report_s']:.3f} s | {r['total_s']:.3f} s | {r['bare_mcf_s']:.3f} s | "
            f"{r['plan_s'] / r['bare_mcf_s']:.2f} | {r['peak_rss_mb']:,.0f} MB | {naive_text} | "
            f"+{gain:.0%} |"
        )
    return head + "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [r["accounts"] for r in rows]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.loglog(n, [r["plan_s"] for r in rows], "o-", label="tp.plan end to end")
    ax.loglog(n, [r["total_s"] for r in rows], "o:", label="tp.plan + report tables")
    ax.loglog(n, [r["phases"]["solve"] for r in rows], "s--", label="solve phase")
    ax.loglog(n, [r["bare_mcf_s"] for r in rows], "^:", label="bare min-cost flow")
    naive = [(r["accounts"], r["naive_s"]) for r in rows if r.get("naive_objective")]
    if naive:
        ax.loglog(*zip(*naive, strict=True), "x-", label="naive account×CSM (CBC)")
    ax.set_xlabel("accounts")
    ax.set_ylabel("seconds (median)")
    ax.grid(True, which="both", alpha=0.3)
    ax.legend()
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="CI smoke: small sizes, 1 repeat")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--repeat", type=int, default=None)
    parser.add_argument("--naive-limit", type=float, default=600.0, help="seconds for naive CBC")
    parser.add_argument("--naive-max", type=int, default=10_000, help="largest size for naive")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--write-docs", action="store_true", help="update docs/performance.md")
    args = parser.parse_args()

    if args.one is not None:
        limit = args.naive_limit if args.one <= args.naive_max else 0.0
        print(json.dumps(run_one(args.one, args.repeat or 1, limit)))
        return

    sizes = args.sizes or (
        [1_000, 10_000] if args.quick else [1_000, 10_000, 100_000, 200_000, 1_000_000]
    )
    repeat = args.repeat or (1 if args.quick else 5)
    naive_max = 1_000 if args.quick else args.naive_max
    rows = []
    for n in sizes:
        r = min(repeat, 3) if n >= 1_000_000 else repeat
        cmd = [
            sys.executable,
            __file__,
            "--one",
            str(n),
            "--repeat",
            str(r),
            "--naive-limit",
            str(args.naive_limit),
            "--naive-max",
            str(naive_max),
        ]
        out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
        row = json.loads(out.strip().splitlines()[-1])
        rows.append(row)
        print(
            f"{n:>9,} accounts: {row['plan_s']:.3f} s tp.plan "
            f"({row['total_s']:.3f} s with tables), "
            f"solve {row['phases']['solve']:.3f} s, "
            f"bare MCF {row['bare_mcf_s']:.3f} s, {row['peak_rss_mb']:,.0f} MB, {row['status']}"
            + (f", naive {row['naive_s']:.1f} s" if "naive_s" in row else ""),
            flush=True,
        )
        if row.get("naive_objective") is not None:
            assert abs(row["naive_objective"] - row["objective"]) <= 1e-6 * abs(row["objective"]), (
                "naive and tierplan optima differ"
            )
    table = markdown(rows)
    print(table)
    if args.write_docs:
        stamp = dt.date.today().isoformat()
        (ROOT / "benchmarks" / "results.json").write_text(json.dumps(rows, indent=1))
        plot(rows, ROOT / "docs" / "img" / "scaling.png")
        machine = (
            f"{platform.machine()}, {platform.python_implementation()} {platform.python_version()}"
        )
        section = (
            f"<!-- bench_plan:begin -->\nMeasured {stamp} on {machine}, 2 cores, with "
            "`python benchmarks/bench_plan.py --write-docs` "
            f"(median of {repeat} runs; 3 at 1M).\n\n"
            + table
            + "\n![time vs accounts](img/scaling.png)\n<!-- bench_plan:end -->"
        )
        doc = ROOT / "docs" / "performance.md"
        text = doc.read_text() if doc.exists() else ""
        if "<!-- bench_plan:begin -->" in text:
            pre, rest = text.split("<!-- bench_plan:begin -->", 1)
            post = rest.split("<!-- bench_plan:end -->", 1)[1]
            text = pre + section + post
        else:
            text = text + "\n" + section + "\n"
        doc.write_text(text)


if __name__ == "__main__":
    main()
