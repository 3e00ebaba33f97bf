"""What changed since the current state, and why, in the words of a CS leader.

A plan made from accounts with ``current_tier`` / ``current_csm`` reports
one row per moved account: promotion, demotion or a new owner, the change in
expected impact, and a reason read off the data (ARR past a cut, whitespace
opened, renewal risk up, the CSM left, capacity). Built with array and
string operations over the moved accounts, no loop per account.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:
    from tierplan.result import Plan

__all__ = ["MOVE_COLUMNS", "moves_table"]

MOVE_COLUMNS = [
    "account_id",
    "move",
    "from_tier",
    "to_tier",
    "from_csm",
    "to_csm",
    "arr",
    "potential",
    "risk",
    "impact_change",
    "reason",
]

#: Renewal risk from which a promotion is put down to risk.
_HIGH_RISK = 0.30


def _money(values: pd.Series) -> pd.Series:
    finite = np.isfinite(values.to_numpy(dtype=np.float64))
    thousands = (values.where(finite, 0.0) / 1_000).round().astype(np.int64)
    text = "$" + thousands.astype(str) + "k"
    return text.where(finite, "–")


def moves_table(plan: Plan) -> pd.DataFrame:
    """One row per account whose tier or CSM differs from its current state.

    Parameters
    ----------
    plan
        A plan whose accounts carry ``current_tier`` and/or ``current_csm``.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MOVE_COLUMNS`; ``move`` is ``"promotion"``,
        ``"demotion"`` or ``"new owner"``; ``impact_change`` is the expected
        impact of the new tier minus the current one.
    """
    acc = plan.accounts_data
    names = plan.model.tier_names
    index = {name: k for k, name in enumerate(names)}
    now_tier = pd.Series(acc.current_tier).map(index).fillna(-1).to_numpy(dtype=np.int64)
    new_tier = plan.tier_choice
    roster_ids = plan.roster["csm_id"].to_numpy(dtype=object)
    new_csm = np.full(plan.csm_choice.shape[0], None, dtype=object)
    owned = plan.csm_choice >= 0
    new_csm[owned] = roster_ids[plan.csm_choice[owned]]
    old_csm = acc.current_csm
    known_tier = now_tier >= 0
    known_csm = pd.notna(old_csm)
    tier_moved = known_tier & (new_tier != now_tier)
    csm_moved = known_csm & ~pd.Series(old_csm).eq(pd.Series(new_csm)).to_numpy(dtype=bool)
    moved = (tier_moved | csm_moved) & (new_tier >= 0)
    if not moved.any():
        return pd.DataFrame(columns=MOVE_COLUMNS)
    rows = np.flatnonzero(moved)
    old_t, new_t = now_tier[rows], new_tier[rows]
    promotion = (old_t >= 0) & (new_t < old_t)
    demotion = (old_t >= 0) & (new_t > old_t)
    value = plan.value
    change = np.where(old_t >= 0, value[rows, new_t] - value[rows, np.maximum(old_t, 0)], np.nan)
    frame = pd.DataFrame(
        {
            "account_id": acc.ids[rows],
            "move": np.select([promotion, demotion], ["promotion", "demotion"], "new owner"),
            "from_tier": np.where(old_t >= 0, np.array(names, dtype=object)[old_t], None),
            "to_tier": np.array(names, dtype=object)[new_t],
            "from_csm": old_csm[rows],
            "to_csm": new_csm[rows],
            "arr": acc.arr[rows],
            "potential": acc.potential[rows],
            "risk": acc.risk[rows],
            "impact_change": change,
        }
    )
    frame["reason"] = _reasons(plan, frame, promotion, demotion)
    fit = _better_fit(plan, frame, rows)
    frame["reason"] = frame["reason"].where(fit.eq(""), fit)
    # Rows in the input's order, like the assignments table.
    return frame.iloc[np.argsort(acc.order[rows])].reset_index(drop=True)[MOVE_COLUMNS]


def _better_fit(plan: Plan, frame: pd.DataFrame, rows: np.ndarray) -> pd.Series:
    """Reason for owner changes made for fit ("CSM x shares the account's region"), else ""."""
    out = pd.Series("", index=frame.index, dtype=object)
    roster = plan.roster.set_index("csm_id")
    same_tier = frame["from_tier"].eq(frame["to_tier"])
    kept_on = frame["from_csm"].isin(roster.index) & frame["to_csm"].notna() & same_tier
    if not kept_on.any():
        return out
    acc = plan.accounts_data
    for label in ("language", "region", "vertical"):
        if label not in roster.columns:
            continue
        mine = pd.Series(getattr(acc, label)[rows], index=frame.index)
        theirs_new = frame["to_csm"].map(roster[label]).fillna("")
        theirs_old = frame["from_csm"].map(roster[label]).fillna("")
        better = kept_on & mine.ne("") & theirs_new.eq(mine) & theirs_old.ne(mine)
        text = (
            "CSM " + frame["to_csm"].astype(str) + f" shares the account's {label} (" + mine + ")"
        )
        out = out.where(~better | out.ne(""), text)
    return out


def _reasons(
    plan: Plan,
    frame: pd.DataFrame,
    promotion: np.ndarray,
    demotion: np.ndarray,
) -> pd.Series:
    cuts = plan.cut_points.query("scope == 'all'").set_index("upper_tier")
    arr_cut = frame["to_tier"].map(cuts["arr_cut"]).astype(float)
    pot_cut = frame["to_tier"].map(cuts["potential_cut"]).astype(float)
    from_arr_cut = frame["from_tier"].map(cuts["arr_cut"]).astype(float)
    left = frame["from_csm"].notna() & ~frame["from_csm"].isin(plan.roster["csm_id"])
    arr, potential = frame["arr"], frame["potential"]
    to, frm = frame["to_tier"].astype(str), frame["from_tier"].astype(str)
    risk_pct = (frame["risk"] * 100).round().astype(np.int64).astype(str)
    options = [
        (left.to_numpy(dtype=bool), "CSM " + frame["from_csm"].astype(str) + " left"),
        (
            promotion & (arr >= arr_cut).to_numpy(dtype=bool),
            "ARR " + _money(arr) + " grew past the " + to + " cut (" + _money(arr_cut) + ")",
        ),
        (
            promotion & (potential >= pot_cut).to_numpy(dtype=bool),
            "whitespace of "
            + _money(potential)
            + " opened ("
            + to
            + " rule: "
            + _money(pot_cut)
            + ")",
        ),
        (
            promotion & (frame["risk"] >= _HIGH_RISK).to_numpy(dtype=bool),
            "renewal risk rose to " + risk_pct + "%",
        ),
        (promotion, "capacity freed in " + to),
        (
            demotion & (arr < from_arr_cut).to_numpy(dtype=bool),
            "ARR " + _money(arr) + " is below the " + frm + " cut (" + _money(from_arr_cut) + ")",
        ),
        (demotion, "higher-value accounts took the " + frm + " places (capacity)"),
    ]
    reason = pd.Series("books rebalanced within " + to, index=frame.index, dtype=object)
    for mask, text in reversed(options):
        reason = reason.where(~np.asarray(mask, dtype=bool), text)
    return reason
