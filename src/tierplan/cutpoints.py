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
    if not (np.signbit(score).any() or np.isnan(score).any()):
        return _threshold_counts(np.sort(score), np.sort(score[upper]))
    # With negative zeros the threshold's sign depends on the account order.
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


def _distinct(ranked: FloatArray) -> tuple[FloatArray, npt.NDArray[np.intp]]:
    """Distinct scores of sorted (ascending) scores, and how many accounts reach each."""
    n = ranked.shape[0]
    first = np.ones(n, dtype=bool)
    first[1:] = ranked[1:] != ranked[:-1]
    starts = np.flatnonzero(first)
    return ranked[starts], n - starts


def _threshold_counts(
    ranked: FloatArray,
    ranked_upper: FloatArray,
    distinct: tuple[FloatArray, npt.NDArray[np.intp]] | None = None,
) -> tuple[float, int]:
    """:func:`best_threshold` from sorted scores (ascending): all accounts', the upper ones'.

    Only cuts between distinct scores are rules, so how many accounts of
    each side reach each distinct score is all that matters: two sorts of
    plain values instead of a stable sort of the accounts. ``distinct`` is
    :func:`_distinct` of ``ranked``, when already known.
    """
    cuts, reach = _distinct(ranked) if distinct is None else distinct
    n_upper = ranked_upper.shape[0]
    # Upper accounts at or above each cut: their scores are among the cuts.
    at = np.bincount(np.searchsorted(cuts, ranked_upper), minlength=cuts.shape[0])
    reach_upper = np.cumsum(at[::-1])[::-1]
    # Errors of "score >= cut": lower accounts above it, upper ones below;
    # first the rule that puts no account above, then cuts from the highest.
    errors = np.empty(cuts.shape[0] + 1, dtype=np.int64)
    errors[0] = n_upper
    errors[1:] = (reach - reach_upper + (n_upper - reach_upper))[::-1]
    m = int(np.argmin(errors))
    threshold = float(cuts[cuts.shape[0] - m]) if m > 0 else float("inf")
    return threshold, int(errors[m])


def cut_points(
    tier_of: npt.NDArray[np.int64],
    tier_names: list[str],
    arr: FloatArray,
    potential: FloatArray,
    vertical: npt.NDArray[np.object_] | tuple[npt.NDArray[np.int64], list[str]],
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
        Account verticals, or their codes and distinct labels
        (``Accounts.codes("vertical")``).
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
    scopes: list[tuple[str, BoolArray | None]] = [("all", None)]
    if specialist_verticals:
        if isinstance(vertical, tuple):
            codes, distinct = vertical
        else:
            codes, uniques = pd.factorize(vertical)
            distinct = uniques.tolist()
        where = {label: k for k, label in enumerate(distinct)}
        scopes += [(v, codes == where.get(v, -2)) for v in specialist_verticals]
    signed = bool(np.signbit(arr).any() or np.signbit(potential).any())
    signed = signed or bool(np.isnan(arr).any() or np.isnan(potential).any())
    rows: dict[tuple[int, int], tuple[object, ...]] = {}
    for j, (scope, mask) in enumerate(scopes):
        a = arr if mask is None else arr[mask]
        w = potential if mask is None else potential[mask]
        tiers = tier_of if mask is None else tier_of[mask]
        # Each scope's scores are sorted once for all its boundaries.
        a_ranked, w_ranked = np.sort(a), np.sort(w)
        a_cuts, w_cuts = _distinct(a_ranked), _distinct(w_ranked)
        for k in range(len(tier_names) - 1):
            upper = tiers <= k
            if signed or a.shape[0] == 0:
                arr_cut, arr_bad = best_threshold(a, upper)
                pot_cut, pot_bad = best_threshold(w, upper)
            else:
                arr_cut, arr_bad = _threshold_counts(a_ranked, np.sort(a[upper]), a_cuts)
                pot_cut, pot_bad = _threshold_counts(w_ranked, np.sort(w[upper]), w_cuts)
            n_upper = int(np.count_nonzero(upper))
            n_lower = int(upper.shape[0]) - n_upper
            rows[k, j] = (
                f"{tier_names[k]} | {tier_names[k + 1]}",
                tier_names[k],
                tier_names[k + 1],
                scope,
                n_upper,
                n_lower,
                arr_cut,
                arr_bad,
                float(a[upper].min()) if n_upper else np.nan,
                float(a[~upper].max()) if n_lower else np.nan,
                pot_cut,
                pot_bad,
            )
    if not rows:
        return pd.DataFrame([])
    # Rows by boundary, then scope.
    ordered = [rows[key] for key in sorted(rows)]
    return pd.DataFrame({name: [row[c] for row in ordered] for c, name in enumerate(_COLUMNS)})


#: Columns of :func:`cut_points`.
_COLUMNS = (
    "boundary",
    "upper_tier",
    "lower_tier",
    "scope",
    "accounts_upper",
    "accounts_lower",
    "arr_cut",
    "arr_misplaced",
    "arr_upper_min",
    "arr_lower_max",
    "potential_cut",
    "potential_misplaced",
)
