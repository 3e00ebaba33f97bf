"""Figures of a plan: the ARR × whitespace quadrant, books, and two plans side by side.

Every function returns a :class:`matplotlib.figure.Figure` built with the
object API (no ``pyplot``, no display needed, never ``show()``): save it with
``fig.savefig("plan.png")`` or let a notebook render it. matplotlib is an
optional extra (``pip install 'tierplan[plot]'``) imported on first use.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from tierplan.errors import ConfigError
from tierplan.result import Plan, _money

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["TIER_COLORS", "books", "compare", "disruption", "quadrant", "tier_color"]

#: Colors of the tiers, highest touch first (colorblind-safe, Okabe-Ito).
TIER_COLORS = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")

#: Color of accounts without a tier (infeasible plans).
UNASSIGNED_COLOR = "#999999"

FloatArray = npt.NDArray[np.float64]


def tier_color(index: int) -> str:
    """Color of the tier at ``index`` (highest touch is 0).

    Parameters
    ----------
    index
        Tier index in the coverage model.

    Returns
    -------
    str
        A hex color; unassigned (``-1``) is grey.
    """
    if index < 0:
        return UNASSIGNED_COLOR
    return TIER_COLORS[index % len(TIER_COLORS)]


def _new_figure(figsize: tuple[float, float]) -> Figure:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:  # pragma: no cover - exercised without matplotlib
        raise ConfigError(
            "plots need matplotlib, an optional extra: pip install 'tierplan[plot]'"
        ) from exc
    return Figure(figsize=figsize, layout="constrained")


def _money_axis(ax: Axes, axis: str = "y") -> None:
    from matplotlib.ticker import FuncFormatter

    formatter = FuncFormatter(lambda v, _pos: _money(float(v)))
    (ax.yaxis if axis == "y" else ax.xaxis).set_major_formatter(formatter)


def _log_floor(values: FloatArray) -> float:
    """Where zeros go on a log axis: half the smallest positive value (1 if none)."""
    positive = values[values > 0]
    return float(positive.min()) / 2 if positive.size else 1.0


def quadrant(plan: Plan, *, figsize: tuple[float, float] = (10.0, 6.0)) -> Figure:
    """The ARR × whitespace 2×2: every account, colored by its tier.

    Log axes; zeros are drawn at half the smallest positive value. A dashed
    vertical line marks the tier-1 ARR cut (``plan.cut_points``, all
    accounts; the median ARR when the plan has a single tier) and a dashed
    horizontal line the whitespace threshold of ``plan.quadrants`` (the
    same amount: a grow account sits on as much whitespace as a tier-1
    account spends). The quadrants read: **invest**
    (large and with whitespace), **protect** (large, little whitespace),
    **grow** (small with whitespace), **digital** (small, little whitespace).

    Parameters
    ----------
    plan
        A plan.
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        One axes; one scatter per tier holding its accounts.

    Examples
    --------
    >>> import tierplan as tp
    >>> from tierplan.plots import quadrant
    >>> p = tp.plan(tp.synthetic_accounts(n=200, seed=1), tp.Team.from_headcount({"tier1": 2}))
    >>> fig = quadrant(p)
    >>> sum(len(c.get_offsets()) for c in fig.axes[0].collections)
    200
    """
    fig = _new_figure(figsize)
    ax = fig.add_subplot()
    frame = plan.assignments
    arr = frame["arr"].to_numpy(dtype=np.float64)
    potential = frame["potential"].to_numpy(dtype=np.float64)
    x_floor, y_floor = _log_floor(arr), _log_floor(potential)
    x = np.maximum(arr, x_floor)
    y = np.maximum(potential, y_floor)
    names = plan.model.tier_names
    labels = {t.name: t.label for t in plan.model.tiers}
    tier = frame["tier"].to_numpy(dtype=object)
    groups: list[tuple[str, int, npt.NDArray[np.bool_]]] = [
        (name, k, tier == name) for k, name in enumerate(names)
    ]
    groups.append(("unassigned", -1, np.asarray(frame["tier"].isna(), dtype=bool)))
    for name, k, mask in groups:
        if not mask.any():
            continue
        text = f"{name}: {labels[name]}" if labels.get(name) else name
        ax.scatter(
            x[mask],
            y[mask],
            s=14,
            alpha=0.75,
            color=tier_color(k),
            edgecolors="none",
            label=f"{text} ({int(mask.sum()):,})",
        )
    ax.set_xscale("log")
    ax.set_yscale("log")

    cuts = plan.cut_points
    x_cut = math.nan
    if len(cuts) and len(names) > 1:
        row = cuts[(cuts["upper_tier"] == names[0]) & (cuts["scope"] == "all")]
        if len(row):
            x_cut = float(row["arr_cut"].iloc[0])
    x_note = f"{names[0]} ARR cut {_money(x_cut)}"
    if not (math.isfinite(x_cut) and x_cut > 0):
        x_cut = float(np.median(x))
        x_note = f"median ARR {_money(x_cut)}"
    from tierplan.guards import quadrant_cuts

    # The horizontal line is the 2×2's own whitespace threshold (plan.quadrants).
    y_mid = quadrant_cuts(plan).whitespace
    y_note = f"high potential: whitespace {_money(y_mid)}"
    y_line = y_mid if y_mid > 0 else y_floor
    ax.axvline(x_cut, color="#333333", linestyle="--", linewidth=1, label=x_note)
    ax.axhline(y_line, color="#777777", linestyle="--", linewidth=1, label=y_note)

    # Quadrant labels at the middle (in log space) of each region.
    x_lo, x_hi = ax.get_xlim()
    y_lo, y_hi = ax.get_ylim()

    def middle(lo: float, hi: float) -> float:
        return float(math.sqrt(max(lo, 1e-12) * max(hi, 1e-12)))

    left, right = middle(x_lo, min(x_cut, x_hi)), middle(max(x_cut, x_lo), x_hi)
    low, high = middle(y_lo, min(y_line, y_hi)), middle(max(y_line, y_lo), y_hi)
    style: dict[str, Any] = {
        "ha": "center",
        "va": "center",
        "fontsize": 13,
        "fontweight": "bold",
        "color": "#444444",
        "alpha": 0.55,
        "zorder": 0,
    }
    ax.text(right, high, "invest", **style)
    ax.text(right, low, "protect", **style)
    ax.text(left, high, "grow", **style)
    ax.text(left, low, "digital", **style)
    ax.set_xlim(x_lo, x_hi)
    ax.set_ylim(y_lo, y_hi)

    _money_axis(ax, "x")
    _money_axis(ax, "y")
    ax.set_xlabel("ARR (log scale)")
    ax.set_ylabel(f"whitespace (log scale; 0 shown at {_money(y_floor)})")
    ax.set_title(f"{plan.name}: accounts by ARR and whitespace, colored by tier")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)
    ax.grid(True, which="major", alpha=0.2)
    return fig


def books(plan: Plan, *, figsize: tuple[float, float] | None = None) -> Figure:
    """Each CSM's book: accounts against the book cap, hours against capacity.

    Parameters
    ----------
    plan
        A plan.
    figsize
        Figure size in inches (default grows with the number of CSMs).

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (accounts, hours), one bar per CSM in each, colored by
        tier; dashed marks show each CSM's cap. A team without CSMs gives
        one axes that says so.

    Examples
    --------
    >>> import tierplan as tp
    >>> from tierplan.plots import books
    >>> p = tp.plan(tp.synthetic_accounts(n=200, seed=1), tp.Team.from_headcount({"tier1": 2}))
    >>> [len(ax.patches) for ax in books(p).axes]
    [2, 2]
    """
    table = plan.books
    n = len(table)
    size = figsize or (max(6.0, 0.45 * n + 2.5), 6.5)
    fig = _new_figure(size)
    if n == 0:
        ax = fig.add_subplot()
        ax.text(0.5, 0.5, "no CSMs in this team", ha="center", va="center")
        ax.set_axis_off()
        return fig
    ax_accounts, ax_hours = fig.subplots(2, 1, sharex=True)
    pos = np.arange(n, dtype=np.float64)
    index = {name: k for k, name in enumerate(plan.model.tier_names)}
    colors = [tier_color(index.get(str(t), -1)) for t in table["tier"]]
    panels = (
        (ax_accounts, "accounts", "max_accounts", "accounts", "book cap"),
        (ax_hours, "attention_hours", "hours", "hours per year", "hours capacity"),
    )
    for ax, used, cap, ylabel, cap_label in panels:
        ax.bar(pos, table[used].to_numpy(dtype=np.float64), color=colors, width=0.7)
        ax.hlines(
            table[cap].to_numpy(dtype=np.float64),
            pos - 0.42,
            pos + 0.42,
            colors="#222222",
            linestyles="dashed",
            linewidth=1.2,
            label=cap_label,
        )
        ax.set_ylabel(ylabel)
        ax.legend(loc="upper right", fontsize=8)
        ax.grid(True, axis="y", alpha=0.2)
    ax_accounts.set_title(f"{plan.name}: books per CSM (bars) against their caps (dashes)")
    ax_hours.set_xticks(pos)
    ax_hours.set_xticklabels(table["csm_id"].astype(str).tolist(), rotation=60, ha="right")
    return fig


def compare(plan: Plan, other: Plan, *, figsize: tuple[float, float] = (10.0, 4.5)) -> Figure:
    """Two plans side by side: expected impact and accounts per tier.

    Parameters
    ----------
    plan
        A plan (e.g. the optimized one).
    other
        Another plan of the same accounts (e.g. ``tp.baseline_plan``).
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Two axes (expected impact, accounts), each with one bar per tier and
        plan.

    Examples
    --------
    >>> import tierplan as tp
    >>> from tierplan.plots import compare
    >>> accounts = tp.synthetic_accounts(n=200, seed=1)
    >>> team = tp.Team.from_headcount({"tier1": 2})
    >>> fig = compare(tp.plan(accounts, team), tp.baseline_plan(accounts, team))
    >>> [len(ax.patches) for ax in fig.axes]
    [6, 6]
    """
    fig = _new_figure(figsize)
    ax_impact, ax_accounts = fig.subplots(1, 2)
    names = plan.model.tier_names
    pos = np.arange(len(names), dtype=np.float64)
    width = 0.38
    mine = plan.tiers.set_index("tier").reindex(names)
    theirs = other.tiers.set_index("tier").reindex(names)
    left_name, right_name = plan.name, other.name
    if left_name == right_name:
        right_name = f"{right_name} (other)"
    for ax, column, ylabel in (
        (ax_impact, "expected_impact", "expected impact per year"),
        (ax_accounts, "accounts", "accounts"),
    ):
        a = mine[column].to_numpy(dtype=np.float64)
        b = theirs[column].to_numpy(dtype=np.float64)
        ax.bar(pos - width / 2, np.nan_to_num(a), width, color="#0072B2", label=left_name)
        ax.bar(pos + width / 2, np.nan_to_num(b), width, color="#BBBBBB", label=right_name)
        ax.set_xticks(pos)
        ax.set_xticklabels(names)
        ax.set_ylabel(ylabel)
        ax.grid(True, axis="y", alpha=0.2)
        ax.legend(fontsize=8)
    _money_axis(ax_impact)
    gain = plan.objective - other.objective
    ax_impact.set_title(
        f"expected impact: {_money(plan.objective)} vs {_money(other.objective)} "
        f"({'+' if gain >= 0 else '−'}{_money(abs(gain))})",
        fontsize=10,
    )
    ax_accounts.set_title("accounts per tier", fontsize=10)
    return fig


def disruption(frame: Any, *, figsize: tuple[float, float] = (8.0, 4.5)) -> Figure:
    """Expected impact gained against accounts moved, from a disruption frontier.

    Parameters
    ----------
    frame
        A table from :func:`tierplan.disruption_frontier`.
    figsize
        Figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Gain over the fewest-moves plan (exact points filled, others hollow)
        and, where known, the bound on the best possible gain.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"max_moves": [0, 4, 10], "moves": [0, 4, 10],
    ...                       "gain": [0.0, 3e4, 5e4], "bound": [2e6, 2.03e6, 2.05e6],
    ...                       "expected_impact": [2e6, 2.03e6, 2.05e6],
    ...                       "exact": [True, False, True]})
    >>> disruption(table).axes[0].get_xlabel()
    'accounts moved'
    """
    fig = _new_figure(figsize)
    ax = fig.add_subplot()
    base = frame["expected_impact"] - frame["gain"]
    ax.step(frame["moves"], frame["gain"], where="post", color=TIER_COLORS[0], linewidth=1.5)
    exact = frame["exact"].to_numpy(dtype=bool)
    ax.scatter(
        frame["moves"][exact],
        frame["gain"][exact],
        color=TIER_COLORS[0],
        zorder=3,
        label="optimal for its budget",
    )
    ax.scatter(
        frame["moves"][~exact],
        frame["gain"][~exact],
        facecolors="none",
        edgecolors=TIER_COLORS[0],
        zorder=3,
        label="best found (see bound)",
    )
    bound = frame["bound"] - base
    if bound.notna().any():
        ax.plot(
            frame["max_moves"],
            bound,
            linestyle=":",
            color=TIER_COLORS[1],
            label="bound on the best gain",
        )
    ax.set_xlabel("accounts moved")
    ax.set_ylabel("expected impact gained")
    ax.set_title("What moving accounts is worth")
    _money_axis(ax)
    ax.legend(loc="lower right", frameon=False)
    return fig
