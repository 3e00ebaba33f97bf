"""Time the exact transportation solver on data shaped like a real coverage plan.

    python benchmarks/bench_transport.py --n 1000000
    python benchmarks/bench_transport.py --n 200000 --repeat 3

Nine pools: tier-1 generalist and three tier-1 specialist verticals, tier-2
generalist and three tier-2 specialist verticals, and tech-touch with
unlimited capacity. ARR is lognormal (median 20k, heavy tail, rounded to
dollars); tier-1 value > tier-2 value > tech-touch value = 0. Capacities are
tight: tier 1 holds ~2% of the accounts, tier 2 ~15%. Accounts eligible for
3 to 5 pools (small accounts are not eligible for tier 1; accounts outside
the three verticals have no specialist pools).

Reports wall time of the solve, peak memory traced during it (numpy and
Python allocations, via tracemalloc) and the process's peak resident size,
and checks the returned certificate (dual feasibility, complementary
slackness) in O(n P).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
import tracemalloc

import numpy as np

from tierplan.transport import TransportSolution, solve_transport

POOLS = [
    "tier1 generalist",
    "tier1 finance",
    "tier1 healthcare",
    "tier1 technology",
    "tier2 generalist",
    "tier2 finance",
    "tier2 healthcare",
    "tier2 technology",
    "tech-touch",
]


def make_instance(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Value, eligibility and capacity of a synthetic coverage plan."""
    rng = np.random.default_rng(seed)
    arr = np.round(rng.lognormal(np.log(20_000), 1.2, n))
    vertical = rng.choice(4, size=n, p=[0.4, 0.2, 0.2, 0.2])  # 0: no specialist vertical
    fit = rng.uniform(0.5, 1.5, n)  # how much coverage lifts this account
    value = np.zeros((n, 9))
    eligible = np.zeros((n, 9), dtype=bool)
    big_enough = arr >= 5_000
    value[:, 0] = 0.10 * arr * fit
    eligible[:, 0] = big_enough
    value[:, 4] = 0.04 * arr * fit
    eligible[:, 4] = True
    for k in range(1, 4):
        rows = vertical == k
        lift = rng.uniform(1.05, 1.35, rows.sum())  # specialists do better in their vertical
        value[rows, k] = 0.10 * arr[rows] * fit[rows] * lift
        eligible[rows, k] = big_enough[rows]
        value[rows, 4 + k] = 0.04 * arr[rows] * fit[rows] * lift
        eligible[rows, 4 + k] = True
    eligible[:, 8] = True  # tech-touch: value 0, unlimited
    tier1, tier2 = 0.02 * n, 0.15 * n
    capacity = np.array(
        [
            *np.round(np.array([0.4, 0.2, 0.2, 0.2]) * tier1),
            *np.round(np.array([0.4, 0.2, 0.2, 0.2]) * tier2),
            np.inf,
        ]
    )
    return value, eligible, capacity


def check_certificate(
    value: np.ndarray, eligible: np.ndarray, capacity: np.ndarray, sol: TransportSolution
) -> float:
    """Largest violation of the price certificate (0 up to rounding); raises if broken."""
    n, n_pools = eligible.shape
    rows = np.arange(n)
    net = np.where(eligible, value - sol.prices, -np.inf)
    gap = float((net.max(axis=1) - net[rows, sol.choice]).max())
    counts = np.bincount(sol.choice, minlength=n_pools)
    if not eligible[rows, sol.choice].all() or (counts > capacity).any():
        raise AssertionError("assignment breaks eligibility or capacity")
    scale = float(np.abs(value).max()) + float(np.abs(sol.prices).max())
    if gap > 1e-9 * scale:
        raise AssertionError(f"prices do not certify the choice (gap {gap})")
    for p in range(n_pools):
        if sol.prices[p] > 1e-9 * scale and counts[p] != capacity[p]:
            raise AssertionError(f"pool {p} has a positive price but spare capacity")
    return gap


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000, help="accounts")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=1, help="solves to time")
    parser.add_argument(
        "--no-trace", action="store_true", help="skip tracemalloc (it adds a little overhead)"
    )
    args = parser.parse_args(argv)

    start = time.perf_counter()
    value, eligible, capacity = make_instance(args.n, args.seed)
    print(
        f"instance: {args.n:,} accounts x {eligible.shape[1]} pools, "
        f"{eligible.sum(axis=1).mean():.2f} eligible pools per account, "
        f"built in {time.perf_counter() - start:.2f} s"
    )
    print(f"value matrix: {value.nbytes / 2**20:.0f} MiB")

    # Warm-up: first import of OR-Tools' graph module and numpy code paths.
    solve_transport(value[:1000], eligible[:1000], np.ceil(capacity * 1000 / args.n))

    times = []
    traced_peak = 0.0
    sol = None
    for run in range(args.repeat):
        trace = not args.no_trace and run == 0
        if trace:
            tracemalloc.start()
        start = time.perf_counter()
        sol = solve_transport(value, eligible, capacity)
        elapsed = time.perf_counter() - start
        if trace:
            traced_peak = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
        times.append(elapsed)
        print(f"run {run + 1}: {elapsed:.3f} s{' (traced)' if trace else ''}")
    assert sol is not None
    gap = check_certificate(value, eligible, capacity, sol)
    counts = np.bincount(sol.choice, minlength=len(POOLS))
    print(f"status: {sol.status}; objective {sol.objective:,.2f}")
    print(f"method: {sol.method}")
    print(f"solve time: best {min(times):.3f} s, median {statistics.median(times):.3f} s")
    if traced_peak:
        print(f"peak memory traced during the solve: {traced_peak:.0f} MiB")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux
    print(f"process peak RSS (instance included): {rss:.0f} MiB")
    print(f"certificate: largest violation {gap:.2e}")
    for name, count, cap, price in zip(POOLS, counts, capacity, sol.prices, strict=True):
        print(f"  {name:18s} {count:>9,} / {cap:>11,.0f}  price {price:12,.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
