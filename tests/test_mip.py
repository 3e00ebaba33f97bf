"""The array MIP layer: statuses, bounds and gaps from both backends."""

from __future__ import annotations

import math

import numpy as np
import pulp
import pytest
import scipy.sparse as sp

from tierplan import ConfigError
from tierplan.mip import ArrayProgram, relative_gap, solve_program


def knapsack():
    return ArrayProgram.binary([3.0, 2.0, 4.0], [[1, 1, 1]], [-np.inf], [2])


def hard_gap_instance(n=120, m=10, seed=0):
    rng = np.random.default_rng(seed)
    cost = rng.integers(10, 50, (n, m)).astype(float)
    load = rng.integers(5, 25, (n, m)).astype(float)
    cap = np.full(m, 0.8 * load.sum() / m / m)
    assign = sp.kron(sp.eye(n), np.ones((1, m)))
    capacity = sp.hstack([sp.diags(load[i]) for i in range(n)])
    matrix = sp.vstack([assign, capacity]).tocsr()
    lower = np.r_[np.ones(n), np.full(m, -np.inf)]
    upper = np.r_[np.ones(n), cap]
    return ArrayProgram.binary(-cost.ravel(), matrix, lower, upper)


@pytest.mark.parametrize("solver", ["cbc", "highs", pulp.HiGHS(msg=False)])
def test_optimal(solver):
    result = solve_program(knapsack(), solver=solver)
    assert result.status == "optimal"
    assert result.objective == 7.0
    assert result.x.tolist() == [1.0, 0.0, 1.0]
    assert result.gap == 0.0


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_infeasible_is_a_status(solver):
    program = ArrayProgram.binary([1.0, 1.0], [[1, 1]], [3], [3])
    result = solve_program(program, solver=solver)
    assert result.status == "infeasible"
    assert result.x is None


@pytest.mark.parametrize("solver", ["cbc", "highs"])
def test_time_limit_reports_an_honest_gap(solver):
    program = hard_gap_instance()
    result = solve_program(program, solver=solver, time_limit=1.0)
    assert result.status in {"time_limit", "optimal"}
    if result.status == "time_limit" and result.x is not None:
        # Maximizing: the bound is above the incumbent and the gap says by how much.
        assert result.bound >= result.objective - 1e-6
        assert result.gap == pytest.approx(relative_gap(result.objective, result.bound))
        assert result.gap > 0


def test_bad_options():
    with pytest.raises(ConfigError, match="unknown solver"):
        solve_program(knapsack(), solver="gurobi-ish")
    with pytest.raises(ConfigError, match="time_limit"):
        solve_program(knapsack(), time_limit=0)


def test_relative_gap():
    assert relative_gap(10.0, 10.0) == 0.0
    assert relative_gap(9.0, 10.0) == pytest.approx(0.1)
    assert math.isinf(relative_gap(math.nan, 1.0))
