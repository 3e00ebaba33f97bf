"""Cut points: the ARR and whitespace thresholds a plan's tiers imply.

For each boundary between a tier and the next, the threshold ``c`` such that
the rule "ARR >= c → this tier or higher" misplaces the fewest accounts of
the plan; likewise for whitespace (``potential``). Reported for all accounts
and, where the team has specialists, for each of their verticals, since
specialist capacity moves the cut. One sort per scope; no loop per account.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["best_threshold", "cut_points"]

FloatArray = npt.NDArray[np.float64]
BoolArray = npt.NDArray[np.bool_]


def best_threshold(score: FloatArray, upper: BoolArray) -> tuple[float, int]:
    """Threshold on ``score`` that best separates ``upper`` from the rest.

    Parameters
    ----------
    score
        A score per account (ARR, potential).
    upper
        Whether each account sits at or above the boundary.

    Returns
    -------
    tuple
        ``(threshold, misplaced)``: the rule is ``score >= threshold``;
        ``misplaced`` counts accounts on the wrong side of it. The threshold
        is the smallest score of an account the rule puts above (``inf``
        when it puts none above). Among equally good thresholds the highest
        is returned.
    """
    n = score.shape[0]
    if n == 0:
        return float("nan"), 0
    order = np.argsort(-score, kind="stable")
    s = score[order]
    u = upper[order].astype(np.int64)
    # Predict "upper" for the top m accounts, m = 0..n; only cuts between
    # distinct scores are rules.
    cum_upper = np.concatenate([[0], np.cumsum(u)])
    cum_lower = np.arange(n + 1) - cum_upper
    errors = cum_lower + (cum_upper[-1] - cum_upper)
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = s[1:] < s[:-1]
    errors = np.where(valid, errors, np.iinfo(np.int64).max)
    m = int(np.argmin(errors))
    threshold = float(s[m - 1]) if m > 0 else float("inf")
    return threshold, int(errors[m])


def cut_points(
    tier_of: npt.NDArray[np.int64],
    tier_names: list[str],
    arr: FloatArray,
    potential: FloatArray,
    vertical: npt.NDArray[np.object_],
    specialist_verticals: list[str],
) -> pd.DataFrame:
    """Thresholds separating each tier from the next in a plan.

    Parameters
    ----------
    tier_of
        Tier index per account.
    tier_names
        Tier names in order.
    arr, potential
        Account ARR and whitespace.
    vertical
        Account verticals.
    specialist_verticals
        Verticals with specialist pools, reported on their own.

    Returns
    -------
    pandas.DataFrame
        One row per boundary and scope with columns ``boundary``,
        ``upper_tier``, ``lower_tier``, ``scope``, ``accounts_upper``,
        ``accounts_lower``, ``arr_cut``, ``arr_misplaced``,
        ``arr_upper_min``, ``arr_lower_max``, ``potential_cut``,
        ``potential_misplaced``.
    """
    rows: list[dict[str, object]] = []
    scopes: list[tuple[str, BoolArray]] = [("all", np.ones(arr.shape[0], dtype=bool))]
    scopes += [(v, vertical == v) for v in specialist_verticals]
    for k in range(len(tier_names) - 1):
        for scope, mask in scopes:
            upper = tier_of[mask] <= k
            a, w = arr[mask], potential[mask]
            arr_cut, arr_bad = best_threshold(a, upper)
            pot_cut, pot_bad = best_threshold(w, upper)
            rows.append(
                {
                    "boundary": f"{tier_names[k]} | {tier_names[k + 1]}",
                    "upper_tier": tier_names[k],
                    "lower_tier": tier_names[k + 1],
                    "scope": scope,
                    "accounts_upper": int(upper.sum()),
                    "accounts_lower": int((~upper).sum()),
                    "arr_cut": arr_cut,
                    "arr_misplaced": arr_bad,
                    "arr_upper_min": float(a[upper].min()) if upper.any() else np.nan,
                    "arr_lower_max": float(a[~upper].max()) if (~upper).any() else np.nan,
                    "potential_cut": pot_cut,
                    "potential_misplaced": pot_bad,
                }
            )
    return pd.DataFrame(rows)
