"""The benchmark script runs (CI smoke only; figures live in docs/performance.md)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_bench_plan_quick_smoke():
    result = subprocess.run(
        [sys.executable, "benchmarks/bench_plan.py", "--quick", "--sizes", "1000", "--repeat", "1"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "| 1,000 |" in result.stdout
    assert "optimal" in result.stdout
