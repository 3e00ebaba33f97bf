"""Temporary borrowing: tech-touch accounts on alert go to the pooled queue.

A tech-touch account has no human owner; a human steps in only when an
alert crosses a threshold, and then the pooled team borrows the account for
the quarter instead of re-tiering it. After a plan is made, every account
the plan leaves in the lowest (tech-touch) tier that raises an alert is
routed to a CSM of the pooled tier (the lowest-touch tier with people):

* the alert is the ``alert`` column, a health-score drop of at least
  ``health_drop`` points (``health_drop`` column), or a renewal within
  ``renewal_days`` days (``renewal_days`` column) while the account's
  ``risk`` is at least ``renewal_risk``;
* borrowed accounts are spread over the pooled tier's generalists (all its
  CSMs if it has none) by load, so the least loaded CSMs take the most:
  each CSM's queue slots are ranked by the hours they would reach, and the
  most urgent accounts (nearest renewal, then largest ARR) take the
  earliest slots;
* an account takes a quarter of the pooled tier's yearly hours for it
  (× (1 + complexity)).

Tiers, books, caps and the objective are untouched: borrowing is coverage
for this quarter, reported in ``plan.borrowed``, the ``borrowed_by`` column
of ``plan.assignments`` and ``plan.summary()``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.errors import ConfigError

if TYPE_CHECKING:
    from tierplan.accounts import Accounts
    from tierplan.result import Plan

__all__ = ["BORROWED_COLUMNS", "DEFAULT_ALERTS", "Borrowing", "borrow", "borrow_rules"]

#: Default alert thresholds: a health-score drop of 15 points, or a renewal
#: within 90 days (the pooled motion's renewal trigger) at 30% churn risk.
DEFAULT_ALERTS: dict[str, float] = {
    "health_drop": 15.0,
    "renewal_days": 90.0,
    "renewal_risk": 0.30,
}

#: Columns of ``plan.borrowed``.
BORROWED_COLUMNS = [
    "account_id",
    "tier",
    "borrowed_by",
    "pooled_tier",
    "reason",
    "hours_this_quarter",
    "arr",
    "risk",
]

#: Alert columns of an account table.
ALERT_COLUMNS = ("alert", "health_drop", "renewal_days")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, eq=False)
class Borrowing:
    """Accounts borrowed by the pooled team this quarter.

    Attributes
    ----------
    csm
        Roster row of the borrowing CSM per account (canonical order;
        ``-1`` when not borrowed or no pooled CSM exists).
    borrowed
        Whether each account is borrowed (on alert in tech-touch).
    table
        One row per borrowed account (:data:`BORROWED_COLUMNS`), input order.
    pooled_tier
        Name of the tier whose CSMs borrow.
    """

    csm: IntArray
    borrowed: npt.NDArray[np.bool_]
    table: pd.DataFrame
    pooled_tier: str | None


def borrow_rules(alerts: Mapping[str, float] | None, accounts: Accounts) -> dict[str, float] | None:
    """Validate the alert thresholds; ``None`` when the accounts carry no alert signal.

    Parameters
    ----------
    alerts
        Overrides of :data:`DEFAULT_ALERTS`.
    accounts
        Validated accounts.

    Returns
    -------
    dict or None
        The thresholds, or ``None`` when no alert column is present.

    Raises
    ------
    ConfigError
        On unknown keys, bad values, or thresholds without alert columns.
    """
    rules = dict(DEFAULT_ALERTS)
    if alerts is not None:
        if not isinstance(alerts, Mapping):
            raise ConfigError(f"alerts: expected a mapping of thresholds, got {alerts!r}")
        unknown = sorted(str(k) for k in alerts if k not in DEFAULT_ALERTS)
        if unknown:
            raise ConfigError(f"alerts: unknown key(s) {unknown}; use {list(DEFAULT_ALERTS)}")
        for key, value in alerts.items():
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not math.isfinite(value)
                or value < 0
            ):
                raise ConfigError(f"alerts[{key!r}]: must be a number >= 0, got {value!r}")
            rules[key] = float(value)
        if rules["renewal_risk"] > 1:
            raise ConfigError(
                f"alerts['renewal_risk']: a churn probability in [0, 1], got {alerts!r}"
            )
    present = (
        accounts.alert is not None
        or accounts.health_drop is not None
        or accounts.renewal_days is not None
    )
    if not present:
        if alerts is not None:
            raise ConfigError(
                "alerts: the accounts have none of the alert columns "
                f"{list(ALERT_COLUMNS)}, so no account can raise an alert"
            )
        return None
    return rules


def _reasons(acc: Accounts, rules: dict[str, float]) -> tuple[np.ndarray, pd.Series]:
    n = acc.n
    parts: list[tuple[np.ndarray, pd.Series]] = []
    if acc.alert is not None:
        parts.append((acc.alert, pd.Series("alert raised", index=range(n))))
    if acc.health_drop is not None:
        hit = acc.health_drop >= rules["health_drop"]
        text = "health score fell " + pd.Series(acc.health_drop).round().astype(int).astype(str)
        parts.append((hit, text + " points"))
    if acc.renewal_days is not None:
        hit = (acc.renewal_days <= rules["renewal_days"]) & (acc.risk >= rules["renewal_risk"])
        days = pd.Series(acc.renewal_days).round().astype(int).astype(str)
        risk = (pd.Series(acc.risk) * 100).round().astype(int).astype(str)
        parts.append((hit, "renewal in " + days + " days at " + risk + "% risk"))
    flagged = np.zeros(n, dtype=bool)
    reason = pd.Series("", index=range(n), dtype=object)
    for hit, text in parts:
        joined = np.where(reason.eq(""), text, reason + "; " + text)
        reason = pd.Series(np.where(hit, joined, reason), index=range(n), dtype=object)
        flagged |= hit
    return flagged, reason


def borrow(plan: Plan, rules: dict[str, float]) -> Plan:
    """Route tech-touch accounts on alert to the pooled tier for this quarter.

    Parameters
    ----------
    plan
        A feasible plan.
    rules
        Alert thresholds (:func:`borrow_rules`).

    Returns
    -------
    Plan
        The same plan (tiers, books, objective) with ``borrowing`` set.

    Examples
    --------
    >>> import tierplan as tp
    >>> accounts = tp.synthetic_accounts(n=300, seed=4)
    >>> accounts["health_drop"] = 0.0
    >>> accounts.loc[:9, "health_drop"] = 30.0
    >>> p = tp.plan(accounts, tp.Team.from_headcount({"tier1": 1, "tier2": 1}))
    >>> bool((p.borrowed["tier"] == "tier3").all())
    True
    """
    acc, model, roster = plan.accounts_data, plan.model, plan.roster
    tiers = model.tiers
    lowest = len(tiers) - 1
    human = [k for k, t in enumerate(tiers) if t.human]
    pooled = max(human) if human and not tiers[lowest].human else None
    flagged, reason = _reasons(acc, rules)
    borrowed = flagged & (plan.tier_choice == lowest) if pooled is not None else flagged & False
    csm = np.full(acc.n, -1, dtype=np.int64)
    hours = np.zeros(acc.n)
    if pooled is not None and borrowed.any():
        tier_rows = np.flatnonzero(roster["tier_index"].to_numpy(dtype=np.int64) == pooled)
        generalists = tier_rows[roster["vertical"].to_numpy(dtype=object)[tier_rows] == ""]
        crew = generalists if generalists.size else tier_rows
        hours = np.where(
            borrowed, tiers[pooled].attention_hours * (1.0 + acc.complexity) / 4.0, 0.0
        )
        if crew.size:
            csm[borrowed] = _spread(plan, crew, borrowed, hours)
    from tierplan.disruption import _take

    ids = np.asarray(roster["csm_id"].to_numpy(dtype=object))
    rows = np.flatnonzero(borrowed)
    table = pd.DataFrame(
        {
            "account_id": acc.ids[rows],
            "tier": tiers[lowest].name,
            "borrowed_by": _take(ids, csm[rows], None),
            "pooled_tier": tiers[pooled].name if pooled is not None else None,
            "reason": reason.to_numpy(dtype=object)[rows],
            "hours_this_quarter": hours[rows],
            "arr": acc.arr[rows],
            "risk": acc.risk[rows],
        },
        columns=BORROWED_COLUMNS,
    )
    table = table.iloc[np.argsort(acc.order[rows])].reset_index(drop=True)
    result = Borrowing(
        csm=csm,
        borrowed=borrowed,
        table=table,
        pooled_tier=tiers[pooled].name if pooled is not None else None,
    )
    return replace(plan, borrowing=result)


def _spread(plan: Plan, crew: IntArray, borrowed: np.ndarray, hours: FloatArray) -> IntArray:
    """CSM (roster row) for each borrowed account, filling the least loaded first."""
    acc = plan.accounts_data
    capacity = plan.roster["hours"].to_numpy(dtype=np.float64)[crew] / 4.0
    has = plan.csm_choice >= 0
    booked = np.bincount(
        plan.csm_choice[has], weights=np.nan_to_num(plan.attention[has]), minlength=len(plan.roster)
    )[crew]
    load = booked / 4.0
    rows = np.flatnonzero(borrowed)
    m = rows.shape[0]
    step = float(hours[rows].mean())
    # Slot j of CSM c is reached at load (booked + j·step) / capacity: the m
    # lowest slots over all CSMs give a least-loaded-first spread.
    level = (load[:, None] + step * np.arange(m)[None, :]) / np.maximum(capacity, 1e-9)[:, None]
    order = np.argsort(level.ravel(), kind="stable")[:m]
    owner = crew[order // m]
    days = acc.renewal_days[rows] if acc.renewal_days is not None else np.zeros(m)
    urgent = np.lexsort((rows, -acc.arr[rows], days))
    out = np.empty(m, dtype=np.int64)
    out[urgent] = owner
    return out


def borrowed_frame(borrowing: Any) -> pd.DataFrame:
    """The borrowed accounts of a plan (empty frame when none).

    Parameters
    ----------
    borrowing
        A :class:`Borrowing` or ``None``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BORROWED_COLUMNS`.
    """
    if borrowing is None:
        return pd.DataFrame(columns=BORROWED_COLUMNS)
    return borrowing.table.copy()


def borrowing_line(borrowing: Borrowing) -> str:
    """One summary line about temporary borrowing.

    Parameters
    ----------
    borrowing
        The plan's borrowing.

    Returns
    -------
    str
        The line, indented for :meth:`tierplan.Plan.summary`.
    """
    table = borrowing.table
    if table.empty:
        return "  temporary borrowing: no tech-touch account on alert this quarter"
    covered = int(table["borrowed_by"].notna().sum())
    if covered == 0:
        return (
            f"  temporary borrowing: {len(table):,} tech-touch accounts on alert, but the "
            f"{borrowing.pooled_tier or 'pooled'} tier has no CSM to borrow them"
        )
    return (
        f"  temporary borrowing: {len(table):,} tech-touch accounts on alert routed to the "
        f"{borrowing.pooled_tier} queue this quarter ({covered:,} with a CSM, "
        f"{table['hours_this_quarter'].sum():,.0f} h), tiers unchanged"
    )
