r"""Finance sizing: what headcount buys which expansion and NRR, and the cheapest team for a target.

Two questions a finance partner asks of a coverage plan:

* **What does each team cost and deliver?** :func:`frontier` plans a grid of
  headcounts and returns one row per scenario: cost, expected expansion,
  expected NRR, expected impact and the marginal value of the last hire in
  each pool. :func:`plot_frontier` draws expected expansion against cost.
* **What is the cheapest team that reaches a target?** :func:`size_team`
  finds the cheapest whole number of CSMs per pool whose plan reaches an
  expected expansion and/or expected NRR target, optionally with a stated
  probability (Monte Carlo over account outcomes).

Pools and headcount specs
-------------------------
A *pool key* names a group of interchangeable CSMs: a tier name
(``"tier1"``) for the tier's generalists, or ``"tier.vertical"``
(``"tier1.finance"``) for the tier's specialists of a vertical. A *headcount
spec* maps pool keys to counts, e.g. ``{"tier1": 6, "tier2": 2,
"tier1.finance": 1}``; pools not named have no CSMs.

How :func:`size_team` searches
------------------------------
Let ``n`` be the vector of CSMs per pool (pools = the keys of ``costs``),
``c`` the cost per CSM and ``meets(n)`` the test "the plan ``tp.plan`` makes
with headcount ``n`` reaches the target". The program is

.. math:: \min_n\ c \cdot n \quad\text{s.t.}\quad meets(n),\ L \le n \le U,\ n \in \mathbb{Z}^P

with ``L`` the current headcount (or 0) and ``U`` the maximum headcount.
Each evaluation of ``meets`` is one ``tp.plan``. The search has three phases:

1. **Marginal-analysis ascent.** From ``L``, repeatedly add CSMs to the pool
   whose addition closes the most of the remaining shortfall per dollar
   (ties: most expected impact per dollar). A pool's step doubles each time
   it wins and the others' halve, so large teams take few plans; a step
   that overshoots the target is bisected back.
2. **Trim.** Lower each pool, most expensive first, to the fewest CSMs that
   still meet the target (bisection). This gives a minimal feasible
   headcount, the incumbent, of cost ``C``.
3. **Exact branch and bound over boxes.** Boxes ``[a, b]`` of headcounts
   are examined cheapest lower corner first. A box is dropped when ``a``
   costs at least ``C``, or when its top corner — ``b`` clipped to what
   costs less than ``C`` — misses the target (then, by monotonicity, every
   headcount in the box does). When ``a`` meets the target it is the
   cheapest headcount of its box and becomes the incumbent. Otherwise the
   box is split in two along its widest pool. Every ``meets`` answer is
   memoized, and a headcount componentwise below a failing one (above a
   passing one) is failed (passed) without planning.

Specialists who cost at least as much as their tier's generalists are held
at their floor when specialists are not required (neither
``require_specialist=True`` nor ``match``): a generalist takes every account
such a specialist can, with the same book cap and hours, for no more money,
so trading the specialist for a generalist never lowers the plan's value.
``Sizing.notes`` says when this happened.

**Guarantee.** Call ``meets`` *monotone* when adding a CSM to any pool never
turns a plan that reaches the target into one that misses it (and, where
specialists are held at their floor as above, neither does trading such a
specialist for a same-tier generalist). If ``meets`` is monotone, the answer
is a cheapest headcount in the box ``[L, U]``: no headcount in the box that
costs less reaches the target; ties in cost are broken deterministically.
``Sizing.optimal`` is ``True`` when the search completed. It is not a scan:
phases 1–2 take about ``P·log₂(U)`` plans and phase 3 as many as the shape
of the target's boundary needs — on 400-5,000 synthetic accounts, 10–75
plans for two or three pools, about 200 when a cheap specialist pool is a
close substitute for generalists. ``max_plans`` caps the work; when the cap
is hit the cheapest headcount found that meets the target is returned with
``optimal=False``.

Monotonicity holds exactly for the plan's objective (expected impact) when
plans are solved exactly (the default network path: no ``hours``,
``budget`` or time limit), books have no minimum (``min_book=0``, the
default) and ``require_specialist`` is off: the value of a transportation
problem never falls when a pool's capacity grows. It therefore holds for
expected NRR when, in addition, no account has a ``strategic`` weight and
attention is ``"flat"`` (expected NRR is then an affine function of the
objective). For expected expansion, and for Monte Carlo probabilities, it is
an empirical property: adding a CSM can in principle move an
expansion-heavy account down a tier to make room for a risk-heavy one. The
tests check the answers against brute force on small grids; the search
counts every contradiction it observes among the plans it solves, and then
reports ``optimal=False`` with a note.

The default maximum ``U`` per pool is the headcount whose book places (and
hours, with ``hours=True``) cover every account the pool may take: beyond
it the pool's capacity cannot bind, so more CSMs cannot raise the plan's
value. An unreachable target is reported against that team.

Confidence
----------
With ``confidence=p`` the target must be met with probability at least ``p``
over simulated years (:func:`simulate_outcomes`): each account churns with
its plan churn probability ``risk · (1 − save_max · f(h/k))`` and,
independently, converts its whole whitespace with probability
``conv_max · f(h/k)``, where ``h`` is the plan's attention and ``f`` the
response curve. The expected values of these draws are exactly the plan's
``expected_retained_arr`` and ``expected_expansion``. The draws are seeded
and shared across all headcounts of one search (common random numbers), so
the estimated probability moves smoothly with headcount. It is an estimate
from ``samples`` draws (standard error ``√(p(1−p)/samples)``, about 1.8
points at 500 samples and ``p = 0.8``), and the answer is the cheapest team
whose *estimate* reaches ``p``, so its true probability can sit slightly
below ``p``; raise ``samples`` for a sharper answer. Converting whole
whitespace makes expansion lumpy (a few large deals make the year), so a
confident target costs noticeably more than the same target in expectation.
"""

from __future__ import annotations

import heapq
import itertools
import math
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor, as_completed
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.accounts import Accounts, load_accounts
from tierplan.config import CoverageModel
from tierplan.errors import ConfigError
from tierplan.planner import plan as make_plan
from tierplan.result import Plan, _money
from tierplan.team import Team

if TYPE_CHECKING:
    from matplotlib.figure import Figure

__all__ = [
    "Sizing",
    "frontier",
    "headcount_grid",
    "plot_frontier",
    "pool_key",
    "simulate_outcomes",
    "size_team",
    "split_pool_key",
    "team_from_headcount",
]

FloatArray = npt.NDArray[np.float64]
Headcount = tuple[int, ...]

T = TypeVar("T")
R = TypeVar("R")

#: Plan options that :func:`frontier` and :func:`size_team` set themselves.
_RESERVED = ("team", "model", "name")

#: Uniform draws generated at once by the Monte Carlo (accounts × samples).
_CHUNK_CELLS = 1_000_000


# -- pools and headcounts -----------------------------------------------------
def pool_key(tier: str, vertical: str = "") -> str:
    """Name of a pool in headcount specs: ``"tier1"`` or ``"tier1.finance"``.

    Parameters
    ----------
    tier
        Tier name.
    vertical
        Specialty; ``""`` for the tier's generalists.

    Returns
    -------
    str
        The pool key.

    Examples
    --------
    >>> pool_key("tier1"), pool_key("tier1", "finance")
    ('tier1', 'tier1.finance')
    """
    return f"{tier}.{vertical}" if vertical else tier


def split_pool_key(key: str) -> tuple[str, str]:
    """Tier and vertical of a pool key (``""`` for generalists).

    Parameters
    ----------
    key
        ``"tier1"`` or ``"tier1.finance"``.

    Returns
    -------
    tuple of str
        ``(tier, vertical)``.

    Examples
    --------
    >>> split_pool_key("tier1.finance")
    ('tier1', 'finance')
    """
    tier, _, vertical = str(key).strip().partition(".")
    return tier.strip(), vertical.strip()


def _check_pool(key: str, model: CoverageModel, what: str) -> None:
    tier, vertical = split_pool_key(key)
    human = [t.name for t in model.tiers if t.human]
    if tier not in human:
        raise ConfigError(
            f"{what}: unknown pool '{key}'; a pool is a tier with CSMs ({human}) "
            "or tier.vertical for specialists, e.g. 'tier1.finance'"
        )
    if "." in str(key) and not vertical:
        raise ConfigError(f"{what}: pool '{key}' names no vertical after the dot")


def _check_count(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        raise ConfigError(f"{what}: head count must be a whole number >= 0, got {value!r}")
    return int(value)


def team_from_headcount(headcount: Mapping[str, int]) -> Team:
    """Build a team from a headcount spec keyed by pool.

    Parameters
    ----------
    headcount
        Pool key to number of CSMs, e.g. ``{"tier1": 6, "tier1.finance": 1}``.

    Returns
    -------
    Team
        Generalists and specialists as :meth:`Team.from_headcount` builds them.

    Examples
    --------
    >>> team_from_headcount({"tier1": 2, "tier1.finance": 1, "tier2": 1}).headcount()
    {'tier1': 3, 'tier2': 1}
    """
    generalists: dict[str, int] = {}
    specialists: dict[str, dict[str, int]] = {}
    for key, count in headcount.items():
        n = _check_count(count, f"headcount['{key}']")
        tier, vertical = split_pool_key(key)
        if vertical:
            specialists.setdefault(tier, {})[vertical] = n
        else:
            generalists[tier] = n
    return Team.from_headcount(generalists, specialists)


def headcount_grid(ranges: Mapping[str, Iterable[int]]) -> list[dict[str, int]]:
    """Every combination of counts per pool: a ``team_grid`` for :func:`frontier`.

    Parameters
    ----------
    ranges
        Pool key to the counts to try, e.g. ``{"tier1": range(4, 9), "tier2": [1, 2]}``.

    Returns
    -------
    list of dict
        Headcount specs, the last pool varying fastest.

    Examples
    --------
    >>> headcount_grid({"tier1": [1, 2], "tier2": [0, 1]})
    [{'tier1': 1, 'tier2': 0}, {'tier1': 1, 'tier2': 1},
     {'tier1': 2, 'tier2': 0}, {'tier1': 2, 'tier2': 1}]
    """
    keys = list(ranges)
    values = [[_check_count(v, f"ranges['{k}']") for v in ranges[k]] for k in keys]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*values)]


def _roster_keys(roster: pd.DataFrame) -> list[str]:
    return [
        pool_key(str(t), str(v))
        for t, v in zip(roster["tier"].tolist(), roster["vertical"].tolist(), strict=True)
    ]


def _counts_of(team: Team) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key in _roster_keys(team.roster):
        counts[key] = counts.get(key, 0) + 1
    return counts


# -- plan metrics and Monte Carlo ---------------------------------------------
@dataclass(frozen=True)
class _Metrics:
    status: str
    feasible: bool
    impact: float
    expansion: float
    nrr: float


def _metrics(plan: Plan) -> _Metrics:
    if not plan.feasible:
        return _Metrics(str(plan.status), False, math.nan, math.nan, math.nan)
    outcomes = plan.outcomes
    retained = float(outcomes["expected_retained_arr"].sum())
    expansion = float(outcomes["expected_expansion"].sum())
    arr = float(plan.accounts_data.arr.sum())
    nrr = (retained + expansion) / arr if arr > 0 else math.nan
    return _Metrics(str(plan.status), True, float(plan.objective), expansion, nrr)


def _draws(plan: Plan, samples: int, seed: int) -> tuple[FloatArray, FloatArray, float]:
    """Simulated retained ARR and expansion per sample, and the total ARR."""
    acc, out = plan.accounts_data, plan.outcomes
    # The plan's own outcome model, read back as probabilities: churn is
    # 1 − expected retained / ARR, conversion expected expansion / whitespace.
    with np.errstate(divide="ignore", invalid="ignore"):
        churn = np.where(acc.arr > 0, 1.0 - out["expected_retained_arr"] / acc.arr, 0.0)
        convert = np.where(acc.potential > 0, out["expected_expansion"] / acc.potential, 0.0)
    churn, convert = np.clip(churn, 0.0, 1.0), np.clip(convert, 0.0, 1.0)
    n = acc.n
    retained = np.zeros(samples)
    expansion = np.zeros(samples)
    # A fixed chunk size makes sample k the same draw whatever ``samples`` is.
    chunk = max(1, _CHUNK_CELLS // max(n, 1))
    for j, start in enumerate(range(0, samples, chunk)):
        m = min(chunk, samples - start)
        # One stream per chunk and per draw, so a prefix of samples is a prefix.
        stays = np.random.default_rng([int(seed), j, 0]).random((m, n)) >= churn[None, :]
        converts = np.random.default_rng([int(seed), j, 1]).random((m, n)) < convert[None, :]
        retained[start : start + m] = stays.astype(np.float64) @ acc.arr
        expansion[start : start + m] = converts.astype(np.float64) @ acc.potential
    return retained, expansion, float(acc.arr.sum())


def simulate_outcomes(plan: Plan, samples: int = 1_000, seed: int = 0) -> pd.DataFrame:
    """Simulate yearly outcomes of a plan: retained ARR, expansion and NRR.

    In each simulated year every account churns with its plan churn
    probability ``risk · (1 − save_max · f(h/k))`` and, independently,
    converts its whole whitespace (``potential``) with probability
    ``conv_max · f(h/k)``, ``h`` being the plan's attention hours. The
    means of these draws are the plan's ``expected_retained_arr`` and
    ``expected_expansion``; the spread shows how lumpy a year can be.

    Parameters
    ----------
    plan
        A feasible plan.
    samples
        Simulated years.
    seed
        Random seed; the same seed gives the same draws for every plan of the
        same accounts (common random numbers), and sample ``k`` does not
        depend on ``samples``.

    Returns
    -------
    pandas.DataFrame
        One row per sample: ``retained_arr``, ``expansion``, ``nrr``.

    Raises
    ------
    ConfigError
        If ``samples`` is not a positive whole number or the plan is infeasible.

    Examples
    --------
    >>> import tierplan as tp
    >>> p = tp.plan(tp.synthetic_accounts(n=300, seed=1), tp.Team.from_headcount({"tier1": 2}))
    >>> sims = simulate_outcomes(p, samples=2_000, seed=1)
    >>> expected = p.outcomes["expected_expansion"].sum()
    >>> bool(abs(sims["expansion"].mean() / expected - 1) < 0.1)
    True
    """
    samples = _positive_int(samples, "samples")
    seed = _check_count(seed, "seed")
    if not plan.feasible:
        raise ConfigError("simulate_outcomes: the plan is infeasible; there is nothing to simulate")
    retained, expansion, arr = _draws(plan, samples, seed)
    with np.errstate(divide="ignore", invalid="ignore"):
        nrr = (retained + expansion) / arr if arr > 0 else np.full(samples, np.nan)
    frame = pd.DataFrame({"retained_arr": retained, "expansion": expansion, "nrr": nrr})
    frame.index.name = "sample"
    return frame


def _positive_int(value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 1:
        raise ConfigError(f"{what}: must be a whole number >= 1, got {value!r}")
    return int(value)


# -- the frontier -------------------------------------------------------------
@dataclass(frozen=True)
class _Scenario:
    """One frontier scenario: everything a worker process needs to plan it."""

    accounts: Accounts
    roster: pd.DataFrame
    model: CoverageModel
    keys: tuple[str, ...]
    marginal: bool
    options: dict[str, Any]


def _plan_roster(
    accounts: Accounts, roster: pd.DataFrame, model: CoverageModel, options: Mapping[str, Any]
) -> Plan:
    return make_plan(accounts, Team(roster), model, **options)


def _run_scenario(task: _Scenario) -> dict[str, Any]:
    """Plan one scenario (and, with ``marginal``, one plan per pool minus a CSM).

    Top-level so that process pools and dask can pickle it.
    """
    plan = _plan_roster(task.accounts, task.roster, task.model, task.options)
    m = _metrics(plan)
    row: dict[str, Any] = {
        "expected_expansion": m.expansion,
        "expected_nrr": m.nrr,
        "expected_impact": m.impact,
        "status": m.status,
    }
    if task.marginal:
        keys = _roster_keys(task.roster)
        for key in task.keys:
            rows = [k for k, pool in enumerate(keys) if pool == key]
            value = math.nan
            if rows and m.feasible:
                fewer = task.roster.drop(index=task.roster.index[rows[-1]])
                less = _metrics(_plan_roster(task.accounts, fewer, task.model, task.options))
                value = m.impact - less.impact if less.feasible else math.inf
            row[f"marginal_{key}"] = value
    return row


class _Bar(Protocol):
    def update(self, n: int = 1) -> Any: ...

    def close(self) -> None: ...


class _NoBar:
    def update(self, n: int = 1) -> None:
        return None

    def close(self) -> None:
        return None


def _progress_bar(total: int, progress: bool | None, desc: str) -> _Bar:
    show = sys.stderr.isatty() if progress is None else bool(progress)
    if not show:
        return _NoBar()
    try:
        from tqdm.auto import tqdm
    except ImportError as exc:  # pragma: no cover - tqdm is in the dev extras
        if progress:
            raise ConfigError("progress=True needs tqdm: pip install 'tierplan[progress]'") from exc
        return _NoBar()
    bar: _Bar = tqdm(total=total, desc=desc, unit="scenario", file=sys.stderr)
    return bar


def _map(
    fn: Callable[[T], R],
    tasks: Sequence[T],
    executor: Executor | None,
    progress: bool | None,
    desc: str,
) -> list[R]:
    """``[fn(t) for t in tasks]``, in process or on an executor, in input order."""
    bar = _progress_bar(len(tasks), progress, desc)
    try:
        if executor is None:
            out: list[R] = []
            for task in tasks:
                out.append(fn(task))
                bar.update(1)
            return out
        futures = [executor.submit(fn, task) for task in tasks]
        where = {future: k for k, future in enumerate(futures)}
        results: dict[int, R] = {}
        for future in as_completed(futures):
            results[where[future]] = future.result()
            bar.update(1)
        return [results[k] for k in range(len(tasks))]
    finally:
        bar.close()


def _load(accounts: Any, model: CoverageModel) -> Accounts:
    if isinstance(accounts, Accounts):
        return accounts
    return load_accounts(accounts, tiers=model.tier_names)


def _check_options(options: Mapping[str, Any]) -> dict[str, Any]:
    clash = [k for k in _RESERVED if k in options]
    if clash:
        raise ConfigError(f"plan options {clash} are set by the sizing functions themselves")
    return dict(options)


def _check_costs(costs: Mapping[str, float] | None, model: CoverageModel) -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in (costs or {}).items():
        _check_pool(key, model, "costs")
        if (
            isinstance(value, bool)
            or not isinstance(value, (int, float, np.integer, np.floating))
            or not math.isfinite(float(value))
            or not float(value) > 0
        ):
            raise ConfigError(f"costs['{key}']: must be a positive amount, got {value!r}")
        out[str(key)] = float(value)
    return out


def _as_roster(spec: Any, model: CoverageModel, k: int) -> tuple[pd.DataFrame, dict[str, int]]:
    """Roster and CSMs per pool of one ``team_grid`` entry (validated against the model)."""
    if isinstance(spec, Team):
        team = spec
        counts = _counts_of(team)
    elif isinstance(spec, Mapping):
        counts = {str(key): _check_count(v, f"team_grid[{k}]['{key}']") for key, v in spec.items()}
        team = team_from_headcount(counts)
    else:
        raise ConfigError(
            f"team_grid[{k}]: expected a headcount dict like {{'tier1': 6, 'tier1.finance': 1}} "
            f"or a tp.Team, got {type(spec).__name__}"
        )
    for key in counts:
        _check_pool(key, model, f"team_grid[{k}]")
    team.resolved(model)  # unknown tiers and tech-touch CSMs fail here, in the caller's process
    return team.roster, counts


def _roster_cost(roster: pd.DataFrame, model: CoverageModel, costs: Mapping[str, float]) -> float:
    resolved = Team(roster).resolved(model)
    keys = _roster_keys(resolved)
    given = resolved["cost"].to_numpy(dtype=np.float64)
    return float(sum(costs.get(key, float(c)) for key, c in zip(keys, given, strict=True)))


def frontier(
    accounts: Any,
    team_grid: Iterable[Mapping[str, int] | Team],
    model: CoverageModel | None = None,
    *,
    executor: Executor | None = None,
    progress: bool | None = None,
    marginal: bool = True,
    costs: Mapping[str, float] | None = None,
    **plan_options: Any,
) -> pd.DataFrame:
    """Plan a grid of headcounts: cost, expected expansion, NRR and the value of the last hire.

    Parameters
    ----------
    accounts
        DataFrame or CSV/Parquet path (as for :func:`tierplan.plan`),
        validated once.
    team_grid
        Headcount specs, one per scenario. A spec maps pool keys to CSMs:
        a tier name (``"tier1"``) counts the tier's generalists,
        ``"tier.vertical"`` (``"tier1.finance"``) its specialists of that
        vertical; pools not named have no CSMs. A :class:`tierplan.Team`
        is accepted too (its roster's caps, hours and costs are kept).
        :func:`headcount_grid` builds grids.
    model
        Coverage model; defaults to ``tp.CoverageModel()``.
    executor
        Any :class:`concurrent.futures.Executor`, e.g.
        ``ProcessPoolExecutor()`` or dask's ``client.get_executor()``. One
        task per scenario, each carrying the validated accounts; results are
        the same as in process, in input order.
    progress
        Show a tqdm progress bar; default: only when stderr is a terminal.
    marginal
        Also plan every scenario with one CSM fewer in each pool (one more
        plan per pool and scenario) to report the value of the last hire.
    costs
        Fully loaded yearly cost per CSM by pool key; pools not given cost
        the roster's ``cost`` (by default the tier's ``csm_cost``).
    **plan_options
        Passed to :func:`tierplan.plan` (``hours``, ``solver``, ``budget``,
        ``require_specialist``, ...). They must be picklable to use an
        executor.

    Returns
    -------
    pandas.DataFrame
        One row per scenario, in input order: ``scenario`` (its position),
        one column per pool key (CSMs), ``csms``, ``cost``,
        ``expected_expansion``, ``expected_nrr`` (expected retained ARR plus
        expansion over ARR), ``expected_impact`` (the plan objective),
        ``status`` and, with ``marginal``, ``marginal_<pool>``: the drop in
        expected impact when the pool loses one CSM (``nan`` for an empty
        pool or an infeasible plan, ``inf`` when the plan needs that CSM to
        be feasible at all). Expected figures are ``nan`` for infeasible plans.

    Examples
    --------
    >>> import tierplan as tp
    >>> accounts = tp.synthetic_accounts(n=300, seed=1)
    >>> grid = headcount_grid({"tier1": [1, 2], "tier2": [1]})
    >>> table = frontier(accounts, grid, costs={"tier1": 180_000, "tier2": 150_000})
    >>> table[["tier1", "tier2", "csms", "cost", "status"]]
       tier1  tier2  csms      cost   status
    0      1      1     2  330000.0  optimal
    1      2      1     3  510000.0  optimal
    >>> bool((table["marginal_tier1"] > 0).all())
    True
    """
    model = model if model is not None else CoverageModel()
    options = _check_options(plan_options)
    pool_costs = _check_costs(costs, model)
    acc = _load(accounts, model)
    specs = [_as_roster(spec, model, k) for k, spec in enumerate(team_grid)]
    rosters = [roster for roster, _ in specs]
    counts = [spec for _, spec in specs]
    keys = tuple(dict.fromkeys(itertools.chain.from_iterable(counts)))
    tasks = [_Scenario(acc, r, model, keys, bool(marginal), options) for r in rosters]
    results = _map(_run_scenario, tasks, executor, progress, "frontier")
    rows = []
    for k, (roster, spec, result) in enumerate(zip(rosters, counts, results, strict=True)):
        row: dict[str, Any] = {"scenario": k}
        row.update({key: int(spec.get(key, 0)) for key in keys})
        row["csms"] = len(roster)
        row["cost"] = _roster_cost(roster, model, pool_costs)
        row.update(result)
        rows.append(row)
    columns = [
        "scenario",
        *keys,
        "csms",
        "cost",
        "expected_expansion",
        "expected_nrr",
        "expected_impact",
        "status",
    ]
    if marginal:
        columns += [f"marginal_{key}" for key in keys]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.astype({key: np.int64 for key in (*keys, "csms")})


def _label(row: pd.Series, keys: Sequence[str]) -> str:
    return " ".join(f"{key}={int(row[key])}" for key in keys if int(row[key]))


def plot_frontier(
    frame: pd.DataFrame,
    *,
    x: str = "cost",
    y: str = "expected_expansion",
    annotate: bool = True,
) -> Figure:
    """Draw expected expansion (or another column) against cost for a frontier table.

    Every feasible scenario is a dot; the efficient ones (no other scenario
    costs less and delivers more) are joined by a line and, with
    ``annotate``, labelled with their headcount.

    Parameters
    ----------
    frame
        A table from :func:`frontier`.
    x, y
        Columns to draw (``"cost"`` and ``"expected_expansion"`` by default;
        ``"expected_nrr"`` or ``"expected_impact"`` work too).
    annotate
        Label efficient scenarios with their headcount.

    Returns
    -------
    matplotlib.figure.Figure
        A figure built with the object API (no pyplot state, nothing shown).

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"tier1": [1, 2], "csms": [1, 2], "cost": [1e5, 2e5],
    ...                       "expected_expansion": [1e6, 1.5e6], "status": "optimal"})
    >>> fig = plot_frontier(table)
    >>> fig.axes[0].get_xlabel()
    'cost per year'
    """
    try:
        from matplotlib.figure import Figure
        from matplotlib.ticker import FuncFormatter
    except ImportError as exc:  # pragma: no cover - matplotlib is in the dev extras
        raise ConfigError("plot_frontier needs matplotlib: pip install 'tierplan[plot]'") from exc
    for column in (x, y):
        if column not in frame.columns:
            raise ConfigError(f"plot_frontier: the table has no column '{column}'")
    data = frame[frame[y].notna() & frame[x].notna()].sort_values([x, y], ascending=[True, False])
    keys = [c for c in frame.columns if c not in _FRAME_COLUMNS and not c.startswith("marginal_")]
    best = -math.inf
    efficient = []
    for idx, value in zip(data.index, data[y].to_numpy(dtype=np.float64), strict=True):
        if value > best:
            efficient.append(idx)
            best = value
    fig = Figure(figsize=(7.0, 4.5), layout="constrained")
    ax = fig.add_subplot()
    ax.scatter(data[x], data[y], s=18, color="#9aa5b1", label="scenario", zorder=2)
    eff = data.loc[efficient]
    ax.plot(eff[x], eff[y], "-o", color="#1f6feb", ms=5, label="efficient", zorder=3)
    if annotate:
        for _, row in eff.iterrows():
            ax.annotate(
                _label(row, keys),
                (row[x], row[y]),
                textcoords="offset points",
                xytext=(4, -10),
                fontsize=7,
            )

    def money(value: float, _pos: int) -> str:
        return _money(value)

    def ratio(value: float, _pos: int) -> str:
        return f"{value:.0%}"

    for axis, column in ((ax.xaxis, x), (ax.yaxis, y)):
        if column == "expected_nrr":
            axis.set_major_formatter(FuncFormatter(ratio))
        elif column in _MONEY_COLUMNS or column.startswith("marginal_"):
            axis.set_major_formatter(FuncFormatter(money))
    ax.set_xlabel(_axis_label(x))
    ax.set_ylabel(_axis_label(y))
    ax.set_title(f"{_axis_label(y).capitalize()} by {_axis_label(x)}")
    ax.grid(True, alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    return fig


def _axis_label(column: str) -> str:
    if column == "cost":
        return "cost per year"
    return column.replace("_", " ").replace("nrr", "NRR")


_MONEY_COLUMNS = {"cost", "expected_expansion", "expected_impact"}

_FRAME_COLUMNS = {
    "scenario",
    "csms",
    "cost",
    "expected_expansion",
    "expected_nrr",
    "expected_impact",
    "status",
}


# -- sizing -------------------------------------------------------------------
@dataclass(frozen=True, eq=False, repr=False)
class Sizing:
    """The cheapest headcount per pool that reaches a target, and what it delivers.

    Build it with :func:`size_team`.

    Attributes
    ----------
    headcount
        CSMs per pool (pool key to count).
    hires
        ``headcount − current`` per pool (negative means fewer CSMs).
    cost
        Yearly cost of the whole headcount at the given cost per CSM.
    expected_expansion, expected_nrr
        Of the plan at that headcount.
    plan
        The :class:`tierplan.Plan` at that headcount.
    marginal_value
        Gain in expected impact (the plan objective) from one more CSM in
        each pool.
    feasible
        Whether the target is reached within the maximum headcount.
    reason
        In plain words: why this headcount, or why the target is out of reach.
    confidence
        The required probability of meeting the target (``None``: expected values).
    probability
        Monte Carlo estimate of the probability the plan meets the target
        (``None`` without ``confidence``).
    samples
        Simulated years behind ``probability`` (``None`` without ``confidence``).
    target_expansion, target_nrr
        The targets.
    costs
        Cost per CSM by pool.
    current
        The current headcount per pool.
    expected_impact
        Expected impact (plan objective) at that headcount.
    hire_cost
        Yearly cost of the hires (``cost`` of ``hires``).
    optimal
        ``True`` when the search proved that no cheaper headcount in the
        search box meets the target (under monotonicity, see the module notes).
    plans_solved
        Plans solved by the search.
    max_headcount
        The upper end of the search box per pool.
    notes
        Remarks on the search: pools held at their floor because another pool
        does the same work for less, contradictions of monotonicity.
    marginal
        Per pool: cost of a CSM and the gain in expected impact, expansion and
        NRR from one more.
    """

    headcount: dict[str, int]
    hires: dict[str, int]
    cost: float
    expected_expansion: float
    expected_nrr: float
    plan: Plan
    marginal_value: dict[str, float]
    feasible: bool
    reason: str
    confidence: float | None = None
    probability: float | None = None
    samples: int | None = None
    target_expansion: float | None = None
    target_nrr: float | None = None
    costs: dict[str, float] = field(default_factory=dict)
    current: dict[str, int] = field(default_factory=dict)
    expected_impact: float = math.nan
    hire_cost: float = 0.0
    optimal: bool = False
    plans_solved: int = 0
    max_headcount: dict[str, int] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    marginal: pd.DataFrame = field(default_factory=pd.DataFrame)

    def _target_text(self) -> str:
        parts = []
        if self.target_expansion is not None:
            parts.append(f"expansion ≥ {_money(self.target_expansion)}")
        if self.target_nrr is not None:
            parts.append(f"NRR ≥ {self.target_nrr:.1%}")
        text = " and ".join(parts)
        if self.confidence is not None:
            return f"{text} with probability ≥ {self.confidence:.0%}"
        return f"expected {text}"

    def __repr__(self) -> str:
        head = ", ".join(f"{k}={v}" for k, v in self.headcount.items())
        hires = ", ".join(f"{k}={v:+d}" for k, v in self.hires.items() if v)
        prob = (
            f", probability={self.probability:.2f} ({self.samples} samples)"
            if self.probability is not None
            else ""
        )
        nrr = f"{self.expected_nrr:.1%}" if math.isfinite(self.expected_nrr) else "–"
        return (
            f"Sizing({'feasible' if self.feasible else 'UNREACHABLE'}: {self._target_text()}; "
            f"headcount {head}; hires {hires or 'none'}; cost {_money(self.cost)}/yr; "
            f"expected expansion {_money(self.expected_expansion)}, NRR {nrr}{prob})"
        )

    def summary(self) -> str:
        """A readable hiring plan: target, headcount per pool, cost, outcomes.

        Returns
        -------
        str
            Plain text, ready to print.
        """
        title = "Team sizing" if self.feasible else "Team sizing: target out of reach"
        lines = [title, f"  target: {self._target_text()}", f"  {self.reason}"]
        lines += [f"  note: {note}" for note in self.notes]
        lines.append("")
        table = pd.DataFrame(
            {
                "pool": list(self.headcount),
                "now": [self.current.get(k, 0) for k in self.headcount],
                "plan": list(self.headcount.values()),
                "hires": [f"{self.hires[k]:+d}" for k in self.headcount],
                "cost/CSM": [_money(self.costs[k]) for k in self.headcount],
                "cost": [_money(self.costs[k] * v) for k, v in self.headcount.items()],
                "next hire: impact": [
                    _money(self.marginal_value.get(k, math.nan)) for k in self.headcount
                ],
                "next hire: expansion": [_money(gain) for gain in self._gain("expected_expansion")],
            }
        )
        lines += ["  " + s for s in table.to_string(index=False).splitlines()]
        lines.append("")
        lines.append(
            f"  total: {sum(self.headcount.values())} CSMs, {_money(self.cost)} per year"
            f" ({_money(self.hire_cost)} for the hires)"
        )
        nrr = f"{self.expected_nrr:.1%}" if math.isfinite(self.expected_nrr) else "–"
        lines.append(
            f"  expected expansion {_money(self.expected_expansion)}, expected NRR {nrr}, "
            f"expected impact {_money(self.expected_impact)} per year"
        )
        if self.probability is not None:
            lines.append(
                f"  probability of meeting the target: {self.probability:.1%} "
                f"({self.samples:,} simulated years)"
            )
        lines.append(
            "  (next hire: what one more CSM in the pool adds to expected impact and expansion)"
        )
        return "\n".join(lines)

    def _gain(self, column: str) -> list[float]:
        if self.marginal.empty:
            return [math.nan] * len(self.headcount)
        by_pool = self.marginal.set_index("pool")[column]
        return [float(by_pool.get(k, math.nan)) for k in self.headcount]

    def _repr_html_(self) -> str:
        body = self.summary().replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return f"<pre>{body}</pre>"


@dataclass(frozen=True)
class _Goal:
    target_expansion: float | None
    target_nrr: float | None
    confidence: float | None
    samples: int
    seed: int


@dataclass(frozen=True)
class _Eval:
    plan: Plan
    metrics: _Metrics
    probability: float | None
    shortfall: float
    meets: bool


class _OutOfPlansError(Exception):
    """The search used up ``max_plans``."""


class _Search:
    """The target test ``meets(n)`` with memo, dominance inference and a plan budget."""

    def __init__(
        self,
        accounts: Accounts,
        keys: tuple[str, ...],
        model: CoverageModel,
        options: dict[str, Any],
        goal: _Goal,
        costs: FloatArray,
        max_plans: int,
    ) -> None:
        self.accounts = accounts
        self.keys = keys
        self.model = model
        self.options = options
        self.goal = goal
        self.costs = costs
        self.max_plans = max_plans
        self.cache: dict[Headcount, _Eval] = {}
        self.passed: list[Headcount] = []
        self.failed: list[Headcount] = []
        self.solved = 0
        self.violations = 0
        self.best: Headcount | None = None

    def cost(self, n: Sequence[int]) -> float:
        return float(np.dot(self.costs, np.asarray(n, dtype=np.float64)))

    def evaluate(self, n: Headcount, *, limited: bool = True) -> _Eval:
        if n in self.cache:
            return self.cache[n]
        if limited and self.solved >= self.max_plans:
            raise _OutOfPlansError
        team = team_from_headcount(dict(zip(self.keys, n, strict=True)))
        plan = make_plan(self.accounts, team, self.model, **self.options)
        self.solved += 1
        ev = self._judge(plan)
        self.cache[n] = ev
        if limited:
            self._record(n, ev.meets)
        return ev

    def _judge(self, plan: Plan) -> _Eval:
        goal, m = self.goal, _metrics(plan)
        if not m.feasible:
            return _Eval(plan, m, 0.0 if goal.confidence is not None else None, math.inf, False)
        levels: list[tuple[float, float]] = []
        probability: float | None = None
        if goal.confidence is None:
            if goal.target_expansion is not None:
                levels.append((goal.target_expansion, m.expansion))
            if goal.target_nrr is not None:
                levels.append((goal.target_nrr, m.nrr))
            meets = all(level >= target for target, level in levels)
        else:
            retained, expansion, arr = _draws(plan, goal.samples, goal.seed)
            ok = np.ones(goal.samples, dtype=bool)
            tail = 1.0 - goal.confidence
            if goal.target_expansion is not None:
                ok &= expansion >= goal.target_expansion
                levels.append((goal.target_expansion, float(np.quantile(expansion, tail))))
            if goal.target_nrr is not None:
                nrr = (retained + expansion) / arr
                ok &= nrr >= goal.target_nrr
                levels.append((goal.target_nrr, float(np.quantile(nrr, tail))))
            probability = float(ok.mean())
            meets = probability >= goal.confidence
        shortfall = sum(max(0.0, (t - v) / max(abs(t), 1e-12)) for t, v in levels)
        if not meets and goal.confidence is not None and probability is not None:
            shortfall += goal.confidence - probability
        return _Eval(plan, m, probability, shortfall, meets)

    def _record(self, n: Headcount, meets: bool) -> None:
        v = np.asarray(n)
        if meets:
            if self.failed and bool((np.asarray(self.failed) >= v).all(axis=1).any()):
                self.violations += 1
            self.passed.append(n)
            if self.best is None or self.cost(n) < self.cost(self.best):
                self.best = n
        else:
            if self.passed and bool((np.asarray(self.passed) <= v).all(axis=1).any()):
                self.violations += 1
            self.failed.append(n)

    def meets(self, n: Headcount) -> bool:
        if n in self.cache:
            return self.cache[n].meets
        v = np.asarray(n)
        if self.failed and bool((np.asarray(self.failed) >= v).all(axis=1).any()):
            return False
        if self.passed and bool((np.asarray(self.passed) <= v).all(axis=1).any()):
            return True
        return self.evaluate(n).meets


def _with(n: Headcount, p: int, value: int) -> Headcount:
    out = list(n)
    out[p] = int(value)
    return tuple(out)


def _smallest(search: _Search, n: Headcount, p: int, low: int, high: int) -> int:
    """Fewest CSMs in pool ``p`` in ``[low, high]`` that meet the target (``high`` does)."""
    lo, hi = low - 1, high
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if search.meets(_with(n, p, mid)):
            hi = mid
        else:
            lo = mid
    return hi


def _ascent(search: _Search, lower: Headcount, upper: Headcount) -> Headcount:
    """Phase 1: marginal analysis from ``lower`` up to a headcount that meets the target."""
    n = lower
    current = search.evaluate(n)
    steps = [1] * len(n)
    while not current.meets:
        # Rank the pools by shortfall closed per dollar, then expected impact
        # gained per dollar, then room left; the lowest index wins ties.
        ranked: list[tuple[tuple[float, float, int, int], int, Headcount, _Eval]] = []
        for p in range(len(n)):
            if n[p] >= upper[p]:
                continue
            y = _with(n, p, min(upper[p], n[p] + steps[p]))
            ev = search.evaluate(y)
            added = search.cost(y) - search.cost(n)
            closes = (current.shortfall - ev.shortfall) / added
            if not math.isfinite(closes):
                closes = math.inf if ev.metrics.feasible else -math.inf
            gain = (ev.metrics.impact - current.metrics.impact) / added
            if not math.isfinite(gain):
                gain = -math.inf
            ranked.append(((closes, gain, upper[p] - n[p], -p), p, y, ev))
        if not ranked:  # pragma: no cover - upper meets the target, so some pool has room
            break
        _, p, y, ev = max(ranked, key=lambda item: item[0])
        taken = y[p] - n[p]
        steps = [max(1, s // 2) for s in steps]
        steps[p] = max(1, min(2 * taken, upper[p] - y[p]))
        if ev.meets and taken > 1:
            y = _with(y, p, _smallest(search, y, p, n[p] + 1, y[p]))
            ev = search.evaluate(y)
        n, current = y, ev
    return n


def _trim(search: _Search, n: Headcount, lower: Headcount) -> Headcount:
    """Phase 2: lower each pool, most expensive first, while the target is still met."""
    for p in sorted(range(len(n)), key=lambda q: -search.costs[q]):
        n = _with(n, p, _smallest(search, n, p, lower[p], n[p]))
    return n


def _exact(search: _Search, best: Headcount, lower: Headcount, upper: Headcount) -> Headcount:
    """Phase 3: branch and bound over boxes of headcounts, cheapest lower corner first.

    A box ``[a, b]`` is dropped when ``a`` costs at least the incumbent, or
    when its top corner (clipped to what costs less than the incumbent)
    misses the target: under monotonicity every headcount in it misses. When
    ``a`` meets the target it is the cheapest headcount of the box and
    becomes the incumbent. Otherwise the box is split in two along its
    widest pool.
    """
    c = search.costs
    size = len(best)

    def budget_top(a: Headcount, b: Headcount) -> Headcount:
        spare = search.cost(best) * (1 - 1e-12) - search.cost(a)
        return tuple(min(b[p], a[p] + math.ceil(spare / c[p]) - 1) for p in range(size))

    heap: list[tuple[float, Headcount, Headcount]] = [(search.cost(lower), lower, upper)]
    while heap:
        cost_a, a, b = heapq.heappop(heap)
        if cost_a >= search.cost(best) * (1 - 1e-12):
            continue
        b = budget_top(a, b)
        if any(b[p] < a[p] for p in range(size)):
            continue
        if not search.meets(b):
            continue
        if search.meets(a):
            best = a
            continue
        p = max(range(size), key=lambda k: (b[k] - a[k], -k))
        mid = (a[p] + b[p]) // 2
        heapq.heappush(heap, (cost_a, a, _with(b, p, mid)))
        high = _with(a, p, mid + 1)
        heapq.heappush(heap, (search.cost(high), high, b))
    return best


def _reason_unreachable(goal: _Goal, ev: _Eval, upper: dict[str, int], default: bool) -> str:
    head = ", ".join(f"{k}={v}" for k, v in upper.items())
    cap = (
        " (enough book places for every account each pool may take)"
        if default
        else " (the maximum headcount)"
    )
    if not ev.metrics.feasible:
        why = "; ".join(ev.plan.diagnosis) or f"status {ev.metrics.status}"
        return f"The target is out of reach: even with {head}{cap} no plan fits: {why}."
    reach = []
    if goal.target_expansion is not None:
        reach.append(
            f"expected expansion is at most {_money(ev.metrics.expansion)} "
            f"(target {_money(goal.target_expansion)})"
        )
    if goal.target_nrr is not None:
        reach.append(f"expected NRR is at most {ev.metrics.nrr:.1%} (target {goal.target_nrr:.1%})")
    text = f"The target is out of reach: even with {head}{cap}, " + " and ".join(reach)
    if goal.confidence is not None and ev.probability is not None:
        text += (
            f"; the target is met in {ev.probability:.1%} of {goal.samples:,} simulated "
            f"years, short of the {goal.confidence:.0%} required"
        )
    return text + "."


def _pool_cap(acc: Accounts, key: str, model: CoverageModel, hours: bool) -> int:
    """CSMs beyond which a pool's book places (and hours) cover every account it may take."""
    tier_name, vertical = split_pool_key(key)
    tier = model.tier(tier_name)
    may = np.array([p is None or p == tier_name for p in acc.pinned_tier], dtype=bool)
    if vertical:
        may &= acc.vertical == vertical
    count = int(may.sum())
    cap = math.ceil(count / (tier.max_book or 1))
    if hours:
        need = float((tier.attention_hours * (1.0 + acc.complexity[may])).sum())
        cap = max(cap, math.ceil(need / tier.csm_hours) + 1)
    return cap


def _check_target(value: object, what: str) -> float | None:
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not math.isfinite(float(value))
    ):
        raise ConfigError(f"{what}: must be a finite number, got {value!r}")
    return float(value)


def size_team(
    accounts: Any,
    *,
    target_expansion: float | None = None,
    target_nrr: float | None = None,
    costs: Mapping[str, float],
    current: Mapping[str, int] | None = None,
    confidence: float | None = None,
    model: CoverageModel | None = None,
    max_headcount: int | Mapping[str, int] | None = None,
    samples: int = 500,
    seed: int = 0,
    allow_cuts: bool = False,
    max_plans: int = 1_000,
    **plan_options: Any,
) -> Sizing:
    """Find the cheapest headcount per pool whose plan reaches an expansion or NRR target.

    The pools are the keys of ``costs``; the team has CSMs in no other pool.
    For each headcount the plan is :func:`tierplan.plan`'s (maximum expected
    impact); the target is met when its expected expansion is at least
    ``target_expansion`` and its expected NRR at least ``target_nrr`` (both
    when both are given), or, with ``confidence``, when the simulated
    outcomes meet them together in at least that share of simulated years.
    The search (marginal-analysis ascent, trim, then an exact branch and
    bound over boxes of headcounts; see the module documentation) returns a
    cheapest headcount in the box ``[current, max_headcount]`` whenever
    more CSMs never make a plan miss the target; it solves a few dozen
    plans on typical inputs, not one per combination.

    Parameters
    ----------
    accounts
        DataFrame or CSV/Parquet path (as for :func:`tierplan.plan`).
    target_expansion
        Expected (or, with ``confidence``, realized) expansion ARR per year.
    target_nrr
        Expected (or realized) NRR as a ratio, e.g. ``1.05`` for 105%.
    costs
        Fully loaded yearly cost of one CSM per pool key, e.g.
        ``{"tier1": 180_000, "tier2": 150_000, "tier1.finance": 185_000}``.
    current
        The current headcount per pool (default none); ``hires`` are counted
        from it and, unless ``allow_cuts``, the search never goes below it.
    confidence
        Probability with which the target must be met (Monte Carlo, see
        :func:`simulate_outcomes`); ``None`` (default) uses expected values.
    model
        Coverage model; defaults to ``tp.CoverageModel()``.
    max_headcount
        Most CSMs per pool to consider: one number for all pools or a dict.
        Default: per pool, the headcount whose book places (and hours, with
        ``hours=True``) cover every account the pool may take, beyond which
        a CSM adds nothing; never below ``current``.
    samples
        Simulated years per headcount with ``confidence``.
    seed
        Seed of the simulation (the same draws for every headcount).
    allow_cuts
        Let the answer have fewer CSMs than ``current`` in a pool.
    max_plans
        Most plans the search may solve; when reached, the cheapest
        headcount found that meets the target is returned with
        ``optimal=False``.
    **plan_options
        Passed to :func:`tierplan.plan` (``solver``, ``hours``, ``budget``,
        ``require_specialist``, ...). Without ``require_specialist``,
        specialists who cost at least their tier's generalists are not
        hired beyond ``current`` (a generalist does their work for less;
        ``Sizing.notes`` says so).

    Returns
    -------
    Sizing
        The headcount, hires, cost, expected outcomes, the plan, the
        marginal value of one more hire per pool, whether the search proved
        the answer cheapest (``optimal``), and whether and why the target is
        reachable. An unreachable target is not an exception:
        ``feasible`` is ``False``, ``reason`` says why and the expected
        figures are the most the maximum headcount reaches.

    Raises
    ------
    ConfigError
        On no target, unknown pools, non-positive costs, or invalid options.

    Examples
    --------
    >>> import tierplan as tp
    >>> accounts = tp.synthetic_accounts(n=300, seed=1)
    >>> sizing = size_team(accounts, target_expansion=400_000,
    ...                    costs={"tier1": 180_000, "tier2": 150_000})
    >>> sizing.feasible, sizing.optimal
    (True, True)
    >>> bool(sizing.expected_expansion >= 400_000)
    True
    """
    model = model if model is not None else CoverageModel()
    options = _check_options(plan_options)
    goal_exp = _check_target(target_expansion, "target_expansion")
    goal_nrr = _check_target(target_nrr, "target_nrr")
    if goal_exp is None and goal_nrr is None:
        raise ConfigError("size_team: give target_expansion, target_nrr or both")
    if not isinstance(costs, Mapping) or not costs:
        raise ConfigError(
            "costs: give the yearly cost of one CSM per pool, e.g. "
            "{'tier1': 180_000, 'tier2': 150_000}; its keys are the pools to size"
        )
    pool_costs = _check_costs(costs, model)
    keys = tuple(pool_costs)
    now = {k: 0 for k in keys}
    for key, count in (current or {}).items():
        if key not in pool_costs:
            raise ConfigError(f"current: pool '{key}' has no cost; add it to costs")
        now[key] = _check_count(count, f"current['{key}']")
    if confidence is not None and (
        isinstance(confidence, bool)
        or not isinstance(confidence, (int, float))
        or not 0 < confidence < 1
    ):
        raise ConfigError(f"confidence: must be a probability in (0, 1), got {confidence!r}")
    samples = _positive_int(samples, "samples")
    seed = _check_count(seed, "seed")
    max_plans = _positive_int(max_plans, "max_plans")
    acc = _load(accounts, model)
    cap = _max_headcount(max_headcount, acc, keys, now, model, options)
    low = {k: 0 if allow_cuts else now[k] for k in keys}
    short = [k for k in keys if cap[k] < low[k]]
    if short:
        raise ConfigError(
            f"max_headcount: below the current headcount in {short}; "
            "raise it or pass allow_cuts=True"
        )
    goal = _Goal(
        goal_exp, goal_nrr, None if confidence is None else float(confidence), samples, seed
    )
    c = np.array([pool_costs[k] for k in keys], dtype=np.float64)
    search = _Search(acc, keys, model, options, goal, c, max_plans)
    lower = tuple(low[k] for k in keys)
    upper = tuple(cap[k] for k in keys)
    notes: list[str] = []
    optimal, feasible = True, True
    try:
        if search.meets(lower):
            answer = lower
            reason = (
                "The current team already meets the target; no hires are needed."
                if any(lower)
                else "The target is met without any CSM in these pools."
            )
        elif not search.meets(upper):
            answer, feasible = upper, False
            reason = _reason_unreachable(goal, search.evaluate(upper), cap, max_headcount is None)
        else:
            box, notes = _without_dominated(search, lower, upper, acc, options)
            answer = _trim(search, _ascent(search, lower, box), lower)
            if search.best is not None and search.cost(search.best) < search.cost(answer):
                answer = search.best
            answer = _exact(search, answer, lower, box)
            floor = "the current headcount" if any(lower) else "zero"
            reason = (
                f"Cheapest headcount that meets the target: no headcount between {floor} and "
                f"the maximum that costs less meets it ({search.solved} plans solved)."
            )
    except _OutOfPlansError:
        optimal = False
        feasible = search.best is not None
        answer = search.best if search.best is not None else upper
        reason = (
            f"Best headcount found within max_plans={max_plans} plans; a cheaper one may "
            "exist (raise max_plans to complete the proof)."
        )
        if not feasible and not search.evaluate(upper, limited=False).meets:
            reason = _reason_unreachable(
                goal, search.evaluate(upper, limited=False), cap, max_headcount is None
            )
        feasible = feasible or search.evaluate(upper, limited=False).meets
    final = search.evaluate(answer, limited=False)
    if feasible and not final.meets and search.best is not None:
        # Only possible when monotonicity fails and an inferred pass was wrong.
        answer = search.best
        final = search.evaluate(answer, limited=False)
    if search.violations:
        optimal = False
        notes.append(
            f"{search.violations} plan(s) contradicted monotonicity (more CSMs made the target "
            "harder to meet), so a cheaper headcount might exist."
        )
    return _sizing(search, answer, final, now, cap, feasible, optimal, reason, notes)


def _max_headcount(
    given: int | Mapping[str, int] | None,
    acc: Accounts,
    keys: tuple[str, ...],
    now: Mapping[str, int],
    model: CoverageModel,
    options: Mapping[str, Any],
) -> dict[str, int]:
    hours = bool(options.get("hours", False))

    def default(key: str) -> int:
        return max(now[key], _pool_cap(acc, key, model, hours))

    if given is None:
        return {k: default(k) for k in keys}
    if isinstance(given, Mapping):
        unknown = [k for k in given if k not in keys]
        if unknown:
            raise ConfigError(f"max_headcount: pools {unknown} have no cost; add them to costs")
        return {
            k: _check_count(given[k], f"max_headcount['{k}']") if k in given else default(k)
            for k in keys
        }
    return dict.fromkeys(keys, _check_count(given, "max_headcount"))


def _without_dominated(
    search: _Search,
    lower: Headcount,
    upper: Headcount,
    acc: Accounts,
    options: Mapping[str, Any],
) -> tuple[Headcount, list[str]]:
    """Keep specialists who cost at least their tier's generalists at their floor.

    When specialists are not required and CSMs are not matched on labels, a
    generalist can take every account a specialist of the same tier can, with
    the same book cap and hours, so trading such a specialist for a
    generalist never lowers the plan's value and never costs more. Applied
    only while the generalists' maximum covers every account they may take,
    and only if the target is still met at the reduced maximum.
    """
    model = search.model
    required = options.get("require_specialist")
    if (model.require_specialist if required is None else bool(required)) or options.get("match"):
        return upper, []
    hours = bool(options.get("hours", False))
    keys, costs = search.keys, search.costs
    box = list(upper)
    notes = []
    for p, key in enumerate(keys):
        tier, vertical = split_pool_key(key)
        if not vertical or tier not in keys or upper[p] <= lower[p]:
            continue
        g = keys.index(tier)
        if costs[p] < costs[g] or upper[g] < _pool_cap(acc, tier, model, hours):
            continue
        box[p] = lower[p]
        notes.append(
            f"{key} kept at {lower[p]}: specialists are not required, and a {tier} generalist "
            f"takes every account a {vertical} specialist can for {_money(costs[g])} instead of "
            f"{_money(costs[p])} (pass require_specialist=True to size specialists)."
        )
    reduced = tuple(box)
    if reduced == upper or not search.meets(reduced):
        return upper, []
    return reduced, notes


def _sizing(
    search: _Search,
    answer: Headcount,
    final: _Eval,
    now: Mapping[str, int],
    cap: Mapping[str, int],
    feasible: bool,
    optimal: bool,
    reason: str,
    notes: list[str],
) -> Sizing:
    keys, goal = search.keys, search.goal
    costs = {k: float(v) for k, v in zip(keys, search.costs, strict=True)}
    base = final.metrics
    rows = []
    for p, key in enumerate(keys):
        more = search.evaluate(_with(answer, p, answer[p] + 1), limited=False).metrics
        rows.append(
            {
                "pool": key,
                "cost_per_csm": costs[key],
                "expected_impact": more.impact - base.impact,
                "expected_expansion": more.expansion - base.expansion,
                "expected_nrr": more.nrr - base.nrr,
            }
        )
    marginal = pd.DataFrame(rows)
    marginal["impact_per_cost"] = marginal["expected_impact"] / marginal["cost_per_csm"]
    headcount = dict(zip(keys, answer, strict=True))
    hires = {k: headcount[k] - now[k] for k in keys}
    return Sizing(
        headcount=headcount,
        hires=hires,
        cost=search.cost(answer),
        expected_expansion=base.expansion,
        expected_nrr=base.nrr,
        plan=final.plan,
        marginal_value={
            k: float(v) for k, v in zip(keys, marginal["expected_impact"], strict=True)
        },
        feasible=feasible,
        reason=reason,
        confidence=goal.confidence,
        probability=final.probability,
        samples=goal.samples if goal.confidence is not None else None,
        target_expansion=goal.target_expansion,
        target_nrr=goal.target_nrr,
        costs=costs,
        current=dict(now),
        expected_impact=base.impact,
        hire_cost=float(sum(costs[k] * hires[k] for k in keys)),
        optimal=optimal and feasible,
        plans_solved=search.solved,
        max_headcount=dict(cap),
        notes=tuple(notes),
        marginal=marginal,
    )
