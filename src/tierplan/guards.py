"""Guards from practice: the ARR × whitespace 2×2, the review list, and plan checks.

Practitioners collapse a 2×2 of current ARR and potential into tiers:
large accounts with whitespace are an **invest** play, large maxed-out ones
need **protect**-ing, small ones with large whitespace are **grow** plays
(where hidden expansion sits) and small maxed-out ones go **digital**. Three
guards go with it, run as checks on every plan:

* **tier-1 inflation**: tier 1 may not hold more accounts than its named
  CSMs can carry at their book cap, or books grow and high-touch stops being
  high-touch. Checked on the plan and, when accounts carry ``current_tier``,
  on the current segmentation;
* **review the grow quadrant by hand**: small accounts with large whitespace
  are listed (``plan.review_list``), whatever tier the plan gives them;
* **ARR per CSM** against the common benchmarks (about $1M of ARR per
  tier-1 CSM, about $2M per CSM overall), with the caveat that the plan's
  own figures follow from capacity (headcount × book caps) and the value of
  attention, not from a benchmark.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.rules import money_exact

if TYPE_CHECKING:
    from tierplan.result import Plan

__all__ = [
    "CHECK_COLUMNS",
    "OVERALL_ARR_PER_CSM_BENCHMARK",
    "QUADRANTS",
    "QUADRANT_COLUMNS",
    "REVIEW_COLUMNS",
    "TIER1_ARR_PER_CSM_BENCHMARK",
    "QuadrantCuts",
    "checks_table",
    "quadrant_cuts",
    "quadrant_of",
    "quadrant_table",
    "review_list",
]

#: Common industry benchmark of ARR per named (tier-1) CSM.
TIER1_ARR_PER_CSM_BENCHMARK = 1_000_000.0

#: Common industry benchmark of managed ARR per CSM, all tiers together.
OVERALL_ARR_PER_CSM_BENCHMARK = 2_000_000.0

#: A plan's ARR per CSM more than this factor away from a benchmark is flagged.
BENCHMARK_FACTOR = 2.0

#: The four quadrants: (name, high ARR, high whitespace, meaning).
QUADRANTS: tuple[tuple[str, bool, bool, str], ...] = (
    ("invest", True, True, "large with whitespace: strategic investment"),
    ("protect", True, False, "large and maxed out: protect the renewal"),
    ("grow", False, True, "small with large whitespace: growth play, review by hand"),
    ("digital", False, False, "small and maxed out: digital and pooled programs"),
)

QUADRANT_COLUMNS = [
    "quadrant",
    "meaning",
    "tier",
    "accounts",
    "arr",
    "potential",
    "share_of_quadrant",
]

REVIEW_COLUMNS = [
    "account_id",
    "arr",
    "potential",
    "risk",
    "vertical",
    "tier",
    "csm_id",
    "expected_impact",
    "note",
]

CHECK_COLUMNS = ["check", "status", "detail"]


@dataclass(frozen=True)
class QuadrantCuts:
    """Where the 2×2 splits, and why.

    Attributes
    ----------
    arr
        ARR at or above which an account is "large".
    whitespace
        Whitespace at or above which an account has "high potential".
    source
        Where the thresholds come from, in words.
    """

    arr: float
    whitespace: float
    source: str

    def __str__(self) -> str:
        return (
            f"large: ARR ≥ {_money_short(self.arr)}; high potential: whitespace ≥ "
            f"{_money_short(self.whitespace)}; from {self.source}"
        )


def quadrant_cuts(plan: Plan) -> QuadrantCuts:
    """The thresholds of a plan's 2×2.

    Large means at or above the plan's tier-1 ARR cut (``plan.cut_points``,
    all accounts): the ARR at which capacity starts naming a CSM. High
    potential means whitespace of at least that much, so a grow account sits
    on as much expansion as a tier-1 account spends. When the plan has a
    single tier or no positive cut, the median ARR is used for both.

    Parameters
    ----------
    plan
        A plan.

    Returns
    -------
    QuadrantCuts
        The two thresholds and their source.
    """
    cut = math.nan
    names = plan.model.tier_names
    if plan.feasible and len(names) > 1:
        cuts = plan.cut_points
        row = cuts[(cuts["upper_tier"] == names[0]) & (cuts["scope"] == "all")]
        if len(row):
            cut = float(row["arr_cut"].iloc[0])
    if math.isfinite(cut) and cut > 0:
        return QuadrantCuts(cut, cut, f"the plan's {names[0]} ARR cut")
    median = float(np.median(plan.accounts_data.arr)) if plan.accounts_data.n else 0.0
    return QuadrantCuts(median, median, "the median ARR")


def quadrant_of(
    arr: npt.NDArray[np.float64], potential: npt.NDArray[np.float64], cuts: QuadrantCuts
) -> npt.NDArray[np.object_]:
    """Quadrant name of each account.

    Parameters
    ----------
    arr, potential
        Account ARR and whitespace.
    cuts
        The thresholds.

    Returns
    -------
    numpy.ndarray
        ``"invest"``, ``"protect"``, ``"grow"`` or ``"digital"`` per account.
    """
    large = arr >= cuts.arr
    high = potential >= cuts.whitespace
    return np.select(
        [large & high, large & ~high, ~large & high],
        ["invest", "protect", "grow"],
        "digital",
    ).astype(object)


def quadrant_table(plan: Plan) -> pd.DataFrame:
    """``plan.quadrants``: accounts and ARR per quadrant and tier.

    Parameters
    ----------
    plan
        A plan.

    Returns
    -------
    pandas.DataFrame
        One row per quadrant × tier (quadrants in the order invest,
        protect, grow, digital): columns :data:`QUADRANT_COLUMNS`. The
        thresholds are in ``df.attrs["cuts"]`` (a :class:`QuadrantCuts`).
    """
    acc = plan.accounts_data
    cuts = quadrant_cuts(plan)
    names = plan.model.tier_names
    quadrant = quadrant_of(acc.arr, acc.potential, cuts)
    tier = plan.tier_choice
    n_tiers = len(names)
    rows = []
    for name, _large, _high, meaning in QUADRANTS:
        mask = (quadrant == name) & (tier >= 0)
        t = tier[mask]
        counts = np.bincount(t, minlength=n_tiers)
        arr = np.bincount(t, weights=acc.arr[mask], minlength=n_tiers)
        potential = np.bincount(t, weights=acc.potential[mask], minlength=n_tiers)
        total = max(int(mask.sum()), 1)
        for k, tier_name in enumerate(names):
            rows.append(
                {
                    "quadrant": name,
                    "meaning": meaning,
                    "tier": tier_name,
                    "accounts": int(counts[k]),
                    "arr": float(arr[k]),
                    "potential": float(potential[k]),
                    "share_of_quadrant": counts[k] / total,
                }
            )
    frame = pd.DataFrame(rows, columns=QUADRANT_COLUMNS)
    frame.attrs["cuts"] = cuts
    return frame


def review_list(plan: Plan) -> pd.DataFrame:
    """``plan.review_list``: the low-ARR / high-potential accounts, for review by hand.

    Parameters
    ----------
    plan
        A plan.

    Returns
    -------
    pandas.DataFrame
        The grow quadrant (see :func:`quadrant_cuts`), largest whitespace
        first: columns :data:`REVIEW_COLUMNS`; ``note`` says whether the plan
        gives the account a human owner.
    """
    assign = plan.assignments
    cuts = quadrant_cuts(plan)
    arr = assign["arr"].to_numpy(dtype=np.float64)
    potential = assign["potential"].to_numpy(dtype=np.float64)
    grow = quadrant_of(arr, potential, cuts) == "grow"
    frame = assign.loc[grow, REVIEW_COLUMNS[:-1]].copy()
    human = {t.name for t in plan.model.tiers if t.human}
    covered = frame["tier"].isin(list(human)).to_numpy(dtype=bool)
    frame["note"] = np.where(
        covered,
        "covered by " + frame["tier"].astype(str) + ": check the expansion plan",
        "no human owner in the plan: confirm the digital motion will catch the expansion",
    )
    return frame.sort_values("potential", ascending=False, kind="stable").reset_index(drop=True)


def _named_capacity(plan: Plan) -> tuple[int, int, float]:
    """Tier-1 named CSMs, their book places, and the tier's book cap."""
    tier = plan.model.tiers[0]
    members = plan.pools.tier == 0
    headcount = int(plan.pools.headcount[members].sum())
    places = float(plan.pools.capacity[members].sum()) if members.any() else 0.0
    return headcount, int(places), float(tier.max_book or 0)


def checks_table(plan: Plan) -> pd.DataFrame:
    """``plan.checks``: the guards, each ``ok`` or ``warn`` with a detail in words.

    Parameters
    ----------
    plan
        A plan.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`CHECK_COLUMNS`, one row per check that applies:
        ``tier-1 inflation (current)`` when accounts carry
        ``current_tier``; ``tier-1 inflation (plan)``, ``grow quadrant
        review``, ``ARR per tier-1 CSM`` (against about $1M), ``ARR per
        <tier> CSM`` for the other tiers with CSMs (figures only) and ``ARR
        per CSM`` (against about $2M) for a feasible plan.
    """
    rows: list[dict[str, str]] = []
    model = plan.model
    acc = plan.accounts_data
    first = model.tiers[0]
    named = first.human
    if named:
        headcount, places, cap = _named_capacity(plan)
        covers = f"its {headcount} named CSM{'' if headcount == 1 else 's'} cover {places:,}"
        current = acc.current_tier == first.name
        if pd.notna(acc.current_tier).any():
            count = int(current.sum())
            over = count > places
            per_book = count / headcount if headcount else math.inf
            detail = f"the current segmentation puts {count:,} accounts in {first.name}; {covers}"
            if over:
                detail += (
                    f": books would hold {per_book:,.1f} accounts against a cap of {cap:g}, and "
                    "high-touch would stop being high-touch"
                )
            rows.append(
                {
                    "check": "tier-1 inflation (current)",
                    "status": "warn" if over else "ok",
                    "detail": detail,
                }
            )
        if plan.feasible:
            count = int((plan.tier_choice == 0).sum())
            rows.append(
                {
                    "check": "tier-1 inflation (plan)",
                    "status": "warn" if count > places else "ok",
                    "detail": f"the plan puts {count:,} accounts in {first.name}; {covers} "
                    f"(book cap {cap:g}): the cut point is set by capacity",
                }
            )
    if not plan.feasible:
        return pd.DataFrame(rows, columns=CHECK_COLUMNS)
    review = review_list(plan)
    cuts = quadrant_cuts(plan)
    uncovered = int(review["note"].str.startswith("no human").sum())
    rows.append(
        {
            "check": "grow quadrant review",
            "status": "warn" if uncovered else "ok",
            "detail": f"{len(review):,} accounts have ARR under {_money_short(cuts.arr)} and "
            f"whitespace of {_money_short(cuts.whitespace)} or more; {uncovered:,} of them have "
            "no human owner in the plan. Review them by hand (plan.review_list)",
        }
    )
    tiers = plan.tiers
    note = (
        "the plan's figure follows from capacity (headcount × book caps) and the value of "
        "attention, not from the benchmark"
    )
    if named:
        row = tiers.iloc[0]
        value = float(row["arr_per_csm"])
        rows.append(_benchmark_row("ARR per tier-1 CSM", value, TIER1_ARR_PER_CSM_BENCHMARK, note))
    for row in tiers.iloc[1:].itertuples():
        if row.headcount > 0:
            # No common benchmark for pooled tiers: the figure is reported as is.
            rows.append(
                {
                    "check": f"ARR per {row.tier} CSM",
                    "status": "ok",
                    "detail": f"{_money_short(float(row.arr_per_csm))} in the plan "
                    f"({int(row.headcount)} CSMs, {int(row.accounts):,} accounts); no common "
                    f"benchmark for this tier; {note}",
                }
            )
    human = tiers["headcount"] > 0
    headcount = int(tiers.loc[human, "headcount"].sum())
    if headcount:
        managed = float(tiers.loc[human, "arr"].sum())
        rows.append(
            _benchmark_row("ARR per CSM", managed / headcount, OVERALL_ARR_PER_CSM_BENCHMARK, note)
        )
    return pd.DataFrame(rows, columns=CHECK_COLUMNS)


def _benchmark_row(name: str, value: float, benchmark: float, note: str) -> dict[str, str]:
    if not math.isfinite(value):
        return {
            "check": name,
            "status": "ok",
            "detail": f"no CSMs; benchmark {money_exact(benchmark)}",
        }
    ratio = value / benchmark
    off = ratio > BENCHMARK_FACTOR or ratio < 1 / BENCHMARK_FACTOR
    return {
        "check": name,
        "status": "warn" if off else "ok",
        "detail": f"{_money_short(value)} in the plan against a common benchmark of "
        f"{money_exact(benchmark)} ({ratio:.1f}×); {note}",
    }


def _money_short(x: float) -> str:
    from tierplan.result import _money

    return _money(x)


def summary_lines(plan: Plan) -> list[str]:
    """The rules, exceptions, 2×2 and checks sections of ``plan.summary()``.

    Parameters
    ----------
    plan
        A feasible plan.

    Returns
    -------
    list of str
        Lines of text (each section starts with a blank line).
    """
    lines: list[str] = []
    rules = plan.rules
    if len(rules) and len(plan.model.tiers) > 1:
        how = (
            "the cut points the plan follows"
            if plan.bands is not None
            else "fitted to the plan, fewest exceptions"
        )
        lines += ["", f"Rules (top-down, first rule met gives the tier; {how})"]
        for row in rules.itertuples():
            scope = "" if row.scope == "all" else f" [{row.scope}]"
            lines.append(
                f"  {row.tier}{scope}: {row.rule} — explains {row.explained:,} of "
                f"{row.accounts:,} accounts"
            )
        exceptions = plan.exceptions
        if len(exceptions):
            top = exceptions["cause"].value_counts()
            listed = "; ".join(f"{reason} {count:,}" for reason, count in top.items())
            lines.append(f"  exceptions: {len(exceptions):,} (plan.exceptions): {listed}")
        else:
            lines.append("  exceptions: none; the rules give every account its tier")
    table = plan.quadrants
    if len(table):
        cuts = table.attrs["cuts"]
        lines += ["", f"ARR × whitespace 2×2 ({cuts})"]
        pivot = table.pivot_table(
            index="quadrant", columns="tier", values="accounts", aggfunc="sum", sort=False
        )
        pivot = pivot[plan.model.tier_names]
        pivot["ARR"] = table.groupby("quadrant", sort=False)["arr"].sum().map(_money_short)
        shown = pivot.reset_index()
        lines += ["  " + s for s in shown.to_string(index=False).splitlines()]
    checks = plan.checks
    if len(checks):
        lines += ["", "Checks"]
        for row in checks.itertuples():
            lines.append(f"  [{row.status}] {row.check}: {row.detail}")
    return lines
