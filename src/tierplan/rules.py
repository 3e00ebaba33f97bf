"""Cut points people can read: tier rules on ARR and whitespace, and their exceptions.

A *rule* gives each tier but the last a condition of the form

    ARR ≥ a, or ARR ≥ b with whitespace ≥ w

and reads top-down: an account takes the first tier whose condition it
meets, and the last tier takes every other account. The second clause is
optional; it is the seeds' second axis (a small account sitting on large
whitespace is a growth play). Rules are given for all accounts and, where a
specialist vertical is better explained by cuts of its own, for that
vertical.

For a plan made by the optimizer (``policy="free"``) the rules are fitted to
the plan: for each boundary between a tier and the next, top down, the
thresholds that misplace the fewest accounts among rules that contain the
rule above (so the rules are nested and read the same top-down or as "this
tier or higher"). The accounts the rules place in another tier
than the plan are the *exceptions*, each with a reason read off the data
(pinned, strategic value, renewal risk, a specialist pool full, capacity).
For a plan made with ``policy="bands"`` the rules are the ones the plan was
built from and only pinned accounts can be exceptions.

Thresholds are published as the roundest number that splits the accounts the
same way (``$142k`` rather than ``$141,873``), so the rule in words is exact
on the plan's accounts. The fit is vectorized: one sort per scope and
boundary, cumulative sums over every candidate cut; no loop per account.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

if TYPE_CHECKING:
    from tierplan.result import Plan

__all__ = [
    "EXCEPTION_COLUMNS",
    "RULE_COLUMNS",
    "BoundaryRule",
    "RuleSet",
    "apply_rules",
    "exceptions_table",
    "fit_boundary",
    "money_exact",
    "plan_rules",
    "publish",
    "roundest_between",
    "rule_text",
    "rules_table",
]

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]

#: Columns of ``plan.rules``.
RULE_COLUMNS = [
    "scope",
    "tier",
    "arr_cut",
    "arr_with_whitespace_cut",
    "whitespace_cut",
    "rule",
    "accounts",
    "rule_accounts",
    "explained",
    "exceptions",
]

#: Threshold columns of ``plan.rules``.
_CUT_COLUMNS = ("arr_cut", "arr_with_whitespace_cut", "whitespace_cut")

#: Columns of ``plan.exceptions``.
EXCEPTION_COLUMNS = [
    "account_id",
    "scope",
    "tier",
    "rule_tier",
    "arr",
    "potential",
    "vertical",
    "cause",
    "reason",
]

#: At most this many whitespace thresholds are tried per boundary (quantiles
#: of the accounts' whitespace when there are more distinct values).
MAX_WHITESPACE_CANDIDATES = 64

#: Array cells (candidates × accounts) handled at once when fitting.
_CELLS = 2_000_000

#: Renewal risk from which a promotion above the rule is put down to risk.
HIGH_RISK = 0.30


@dataclass(frozen=True)
class BoundaryRule:
    """The condition for "this tier or higher" at one boundary.

    ``ARR ≥ arr_cut``, or ``ARR ≥ arr_with_whitespace_cut`` with
    ``whitespace ≥ whitespace_cut``. ``arr_cut`` is ``inf`` when the rule
    has no ARR-only clause; ``whitespace_cut`` is ``inf`` when it has no
    second clause (``arr_with_whitespace_cut`` is then ``inf`` too).

    Attributes
    ----------
    arr_cut, arr_with_whitespace_cut, whitespace_cut
        The thresholds.
    """

    arr_cut: float
    arr_with_whitespace_cut: float = math.inf
    whitespace_cut: float = math.inf

    @property
    def two_clause(self) -> bool:
        """Whether the rule has the whitespace clause."""
        return math.isfinite(self.whitespace_cut)

    def contains(self, arr: FloatArray, potential: FloatArray) -> BoolArray:
        """Which accounts meet the condition.

        Parameters
        ----------
        arr, potential
            Account ARR and whitespace.

        Returns
        -------
        numpy.ndarray
            Boolean per account.
        """
        inside = arr >= self.arr_cut
        if self.two_clause:
            inside = inside | (
                (arr >= self.arr_with_whitespace_cut) & (potential >= self.whitespace_cut)
            )
        return np.asarray(inside, dtype=bool)


# -- numbers in words -----------------------------------------------------------


def roundest_between(low: float, high: float) -> float:
    """The roundest number ``c`` with ``low < c <= high``.

    Parameters
    ----------
    low
        Exclusive lower end (``-inf`` for none).
    high
        Inclusive upper end.

    Returns
    -------
    float
        The number with the fewest significant digits in the interval
        (``high`` itself when nothing rounder fits).

    Examples
    --------
    >>> roundest_between(141_230.0, 143_870.0)
    143000.0
    >>> roundest_between(-math.inf, 8_730.0)
    8000.0
    """
    if not math.isfinite(high) or high <= 0:
        return high
    exponent = math.floor(math.log10(high))
    for digits in range(1, 17):
        step = 10.0 ** (exponent - digits + 1)
        candidate = math.floor(high / step * (1 + 1e-15)) * step
        candidate = float(f"{candidate:.{digits}g}")
        if low < candidate <= high:
            return candidate
    return high


def money_exact(x: float) -> str:
    """Money in ``$k`` / ``$M`` with as many decimals as the number needs.

    Parameters
    ----------
    x
        An amount.

    Returns
    -------
    str
        ``"$142k"``, ``"$55.5k"``, ``"$1.25M"``, ``"$750"``.

    Examples
    --------
    >>> money_exact(142_000), money_exact(55_500), money_exact(1_250_000), money_exact(750)
    ('$142k', '$55.5k', '$1.25M', '$750')
    """
    if not math.isfinite(x):
        return "–"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0)):
        if abs(x) >= scale or unit == "":
            value = x / scale
            for decimals in range(0, 7):
                if abs(round(value, decimals) - value) <= 1e-9 * max(1.0, abs(value)):
                    break
            return f"${value:,.{decimals}f}{unit}"
    return f"${x:,.0f}"  # pragma: no cover - the loop always returns


def _previous(values: FloatArray, cut: float) -> float:
    below = values[values < cut]
    return float(below.max()) if below.size else -math.inf


def publish(rule: BoundaryRule, arr: FloatArray, potential: FloatArray) -> BoundaryRule:
    """The same rule with each threshold replaced by the roundest equivalent one.

    Each threshold moves down to the roundest number above the next smaller
    value among the accounts, so the rule splits ``arr`` / ``potential``
    exactly as before. The map is monotone, so nested rules stay nested.

    Parameters
    ----------
    rule
        A rule with thresholds taken from the data.
    arr, potential
        The accounts the rule is published for.

    Returns
    -------
    BoundaryRule
        The rule with round thresholds.
    """

    def tidy(values: FloatArray, cut: float) -> float:
        if not math.isfinite(cut):
            return cut
        below = _previous(values, cut)
        # Nothing below the cut: every account meets it, and 0 says so.
        return 0.0 if below == -math.inf else roundest_between(below, cut)

    return BoundaryRule(
        tidy(arr, rule.arr_cut),
        tidy(arr, rule.arr_with_whitespace_cut),
        tidy(potential, rule.whitespace_cut),
    )


def rule_text(rule: BoundaryRule | None) -> str:
    """The condition in words.

    Parameters
    ----------
    rule
        A boundary rule, or ``None`` for the last tier.

    Returns
    -------
    str
        E.g. ``"ARR ≥ $142k, or ARR ≥ $55k with whitespace ≥ $300k"``.
    """
    if rule is None:
        return "every other account"
    if rule.arr_cut <= 0:
        return "every account"
    parts = []
    if math.isfinite(rule.arr_cut):
        parts.append(f"ARR ≥ {money_exact(rule.arr_cut)}")
    if rule.two_clause:
        ws = f"whitespace ≥ {money_exact(rule.whitespace_cut)}"
        b = rule.arr_with_whitespace_cut
        parts.append(f"ARR ≥ {money_exact(b)} with {ws}" if b > 0 else ws)
    return ", or ".join(parts) if parts else "no account"


# -- fitting ----------------------------------------------------------------------


def _valid_cuts(sorted_desc: FloatArray) -> BoolArray:
    """Positions ``m`` (top ``m`` accounts above) that fall between distinct values."""
    n = sorted_desc.shape[0]
    valid = np.ones(n + 1, dtype=bool)
    valid[1:n] = sorted_desc[1:] < sorted_desc[:-1]
    return valid


def _whitespace_candidates(potential: FloatArray) -> FloatArray:
    values = np.unique(potential[potential > 0])
    if values.size > MAX_WHITESPACE_CANDIDATES:
        levels = np.linspace(0.0, 1.0, MAX_WHITESPACE_CANDIDATES)
        values = np.unique(np.quantile(values, levels, method="inverted_cdf"))
    return np.asarray(values, dtype=np.float64)


def fit_boundary(
    arr: FloatArray,
    potential: FloatArray,
    upper: BoolArray,
    within: BoundaryRule | None = None,
) -> tuple[BoundaryRule, int]:
    """The two-clause rule that misplaces the fewest accounts at one boundary.

    Parameters
    ----------
    arr, potential
        Account ARR and whitespace.
    upper
        Whether each account sits in this tier or a higher one.
    within
        The rule of the boundary above, with thresholds taken from these
        accounts: the fitted rule must contain it for any ARR and whitespace
        (its corners ``(a, 0)`` and ``(b, w)`` meet the new rule), so rules
        read top-down stay nested.

    Returns
    -------
    tuple
        ``(rule, misplaced)``. The ARR-only rule is kept unless the
        whitespace clause strictly lowers the number of misplaced accounts.

    Notes
    -----
    With accounts sorted by ARR (descending) and a whitespace cut ``w``, the
    rule "top ``m_a`` accounts, or top ``m_b >= m_a`` with whitespace ≥ w"
    misplaces ``(L - M)[m_a] + (M - U)[m_b] + U_total`` accounts, where
    ``L``, ``U`` count lower and upper accounts among the top ``m`` and ``M``
    those the whitespace test gets wrong. A running minimum over ``m_a``
    gives the best pair for every ``m_b``; whitespace candidates are done
    as rows of one array. Only the whitespace of upper accounts can be a
    best cut (raising ``w`` to the next such value only drops lower
    accounts from the clause); when there are more than
    :data:`MAX_WHITESPACE_CANDIDATES` of them, quantiles are tried first and
    every value between the best quantile's neighbours next, so the fit is
    exact unless the error is far from unimodal in ``w``.
    """
    n = arr.shape[0]
    if n == 0:
        return BoundaryRule(math.inf), 0
    order = np.argsort(-arr, kind="stable")
    a_s, p_s, u_s = arr[order], potential[order], upper[order]
    valid = _valid_cuts(a_s)
    zero = np.zeros(1, dtype=np.int64)
    cum_u = np.concatenate([zero, np.cumsum(u_s, dtype=np.int64)])
    cum_l = np.arange(n + 1, dtype=np.int64) - cum_u
    u_total = int(cum_u[-1])
    big = np.iinfo(np.int64).max // 4
    index = np.arange(n + 1)

    def lowest(cut: float) -> int:
        """Fewest top accounts whose smallest ARR is at most ``cut``."""
        if not math.isfinite(cut):
            return 0
        return int(min(n, 1 + int(np.searchsorted(-a_s, -cut, side="left"))))

    lo_a = lowest(within.arr_cut) if within is not None else 0
    nested_two = within is not None and within.two_clause
    lo_b = lowest(within.arr_with_whitespace_cut) if within is not None and nested_two else 0
    w_max = within.whitespace_cut if within is not None and nested_two else math.inf
    single = np.where(valid & (index >= max(lo_a, lo_b)), cum_l + (u_total - cum_u), big)
    m_single = int(np.argmin(single))
    best_single = int(single[m_single])
    single_rule = BoundaryRule(float(a_s[m_single - 1]) if m_single > 0 else math.inf)
    best: tuple[int, BoundaryRule] = (best_single, single_rule)
    if best_single == 0:
        return single_rule, best_single

    def search(
        ws: FloatArray, best: tuple[int, BoundaryRule], min_a: int, min_b: int
    ) -> tuple[int, BoundaryRule]:
        # Whitespace candidates in blocks keep memory at a few rows per account.
        block = max(1, _CELLS // (n + 1))
        for start in range(0, ws.size, block):
            w = ws[start : start + block]
            high = p_s[None, :] >= w[:, None]  # candidates × accounts
            wrong = np.where(u_s[None, :], ~high, high)
            cum_m = np.concatenate(
                [np.zeros((w.size, 1), dtype=np.int64), np.cumsum(wrong, axis=1, dtype=np.int64)],
                axis=1,
            )
            first = np.where((valid & (index >= min_a))[None, :], cum_l[None, :] - cum_m, big)
            run_min = np.minimum.accumulate(first, axis=1)
            second = cum_m - cum_u[None, :] + u_total
            total = np.where((valid & (index >= min_b))[None, :], run_min + second, big)
            i, m_b = divmod(int(np.argmin(total)), n + 1)
            if int(total[i, m_b]) >= best[0]:
                continue
            m_a = int(_running_argmin(first[i : i + 1])[0, m_b])
            if m_b == 0 or m_a >= m_b:
                continue
            a_cut = float(a_s[m_a - 1]) if m_a > 0 else math.inf
            best = (int(total[i, m_b]), BoundaryRule(a_cut, float(a_s[m_b - 1]), float(w[i])))
        return best

    values = np.unique(potential[upper & (potential > 0)])
    # Containing the rule above: either the new ARR-only cut is at most both
    # of its ARR cuts, or the new clause sits below its whitespace corner.
    cases = [(values, max(lo_a, lo_b), 0)]
    if nested_two:
        cases.append((values[values <= w_max], lo_a, lo_b))
    for pool, min_a, min_b in cases:
        if pool.size <= MAX_WHITESPACE_CANDIDATES:
            best = search(pool, best, min_a, min_b)
            continue
        coarse = _whitespace_candidates(pool)
        found = search(coarse, best, min_a, min_b)
        if found is not best and found[1].two_clause:
            k = int(np.searchsorted(coarse, found[1].whitespace_cut))
            low = coarse[max(k - 1, 0)]
            high = coarse[min(k + 1, coarse.size - 1)]
            found = search(pool[(pool > low) & (pool < high)], found, min_a, min_b)
        best = found
    return best[1], best[0]


def _running_argmin(x: IntArray) -> IntArray:
    """Per row, the index of the running minimum up to each column (first such index)."""
    cols = np.arange(x.shape[1])
    run = np.minimum.accumulate(x, axis=1)
    hit = np.where(x == run, cols[None, :], 0)
    return np.asarray(np.maximum.accumulate(hit, axis=1), dtype=np.int64)


# -- a plan's rules ---------------------------------------------------------------


@dataclass(frozen=True)
class RuleSet:
    """Published rules: per scope, one :class:`BoundaryRule` per boundary.

    Attributes
    ----------
    tier_names
        Tier names in order.
    scopes
        ``{"all": [...], "finance": [...]}``; ``"all"`` covers every account
        whose vertical has no rules of its own.
    """

    tier_names: tuple[str, ...]
    scopes: dict[str, list[BoundaryRule]]

    def scope_of(self, vertical: npt.NDArray[np.object_]) -> npt.NDArray[np.object_]:
        """Scope whose rules each account follows.

        Parameters
        ----------
        vertical
            Account verticals.

        Returns
        -------
        numpy.ndarray
            The vertical where it has rules of its own, else ``"all"``.
        """
        own = [s for s in self.scopes if s != "all"]
        scope = np.full(vertical.shape[0], "all", dtype=object)
        if own:
            mask = pd.Series(vertical).isin(own).to_numpy(dtype=bool)
            scope[mask] = vertical[mask]
        return scope

    def tiers(
        self, arr: FloatArray, potential: FloatArray, vertical: npt.NDArray[np.object_]
    ) -> IntArray:
        """Tier index the rules give each account (first condition met).

        Parameters
        ----------
        arr, potential, vertical
            Account ARR, whitespace and vertical.

        Returns
        -------
        numpy.ndarray
            Tier index per account.
        """
        scope = self.scope_of(vertical)
        last = len(self.tier_names) - 1
        out = np.full(arr.shape[0], last, dtype=np.int64)
        for name, rules in self.scopes.items():
            mask = scope == name
            tier = np.full(int(mask.sum()), last, dtype=np.int64)
            for k in reversed(range(len(rules))):
                tier = np.where(rules[k].contains(arr[mask], potential[mask]), k, tier)
            out[mask] = tier
        return out


def _fit_scope(
    tier_of: IntArray, arr: FloatArray, potential: FloatArray, n_tiers: int
) -> list[BoundaryRule]:
    rules = []
    above: BoundaryRule | None = None
    for k in range(n_tiers - 1):
        above, _ = fit_boundary(arr, potential, tier_of <= k, within=above)
        rules.append(publish(above, arr, potential))
    return rules


def plan_rules(plan: Plan) -> RuleSet:
    """The rules of a plan: the ones it was built from, or fitted to it.

    Parameters
    ----------
    plan
        A plan.

    Returns
    -------
    RuleSet
        For a ``policy="bands"`` plan, its own cut points; otherwise, per
        boundary, the two-clause rule that misplaces the fewest accounts,
        for all accounts and for each specialist vertical whose own rules
        explain strictly more of its accounts.
    """
    names = tuple(plan.model.tier_names)
    acc = plan.accounts_data
    bands = getattr(plan, "bands", None)
    if bands is not None:
        return RuleSet(names, {"all": list(bands.rules)})
    tier_of = plan.tier_choice
    n_tiers = len(names)
    if not plan.feasible:
        return RuleSet(names, {"all": []})
    general = RuleSet(names, {"all": _fit_scope(tier_of, acc.arr, acc.potential, n_tiers)})
    by_general = general.tiers(acc.arr, acc.potential, acc.vertical)
    own: dict[str, list[BoundaryRule]] = {}
    for vertical in sorted({str(v) for v in plan.pools.vertical if v}):
        mask = acc.vertical == vertical
        if not mask.any():
            continue
        rules = _fit_scope(tier_of[mask], acc.arr[mask], acc.potential[mask], n_tiers)
        mine = RuleSet(names, {"all": rules}).tiers(
            acc.arr[mask], acc.potential[mask], acc.vertical[mask]
        )
        if int((mine != tier_of[mask]).sum()) < int((by_general[mask] != tier_of[mask]).sum()):
            own[vertical] = rules
    if not own:
        return general
    rest = ~pd.Series(acc.vertical).isin(list(own)).to_numpy(dtype=bool)
    scopes = {"all": _fit_scope(tier_of[rest], acc.arr[rest], acc.potential[rest], n_tiers)}
    scopes.update(own)
    return RuleSet(names, scopes)


def rules_table(plan: Plan) -> pd.DataFrame:
    """``plan.rules``: one row per scope and tier.

    Parameters
    ----------
    plan
        A plan.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`RULE_COLUMNS`. ``arr_cut``, ``arr_with_whitespace_cut``
        and ``whitespace_cut`` are ``NaN`` where a clause is absent (and for
        the last tier, which takes every other account). ``accounts`` counts
        the plan's accounts of the scope in the tier, ``rule_accounts`` those
        the rule puts there, ``explained`` both, ``exceptions`` the plan's
        accounts of the tier that the rule puts elsewhere.
    """
    if not plan.feasible:
        return pd.DataFrame(columns=RULE_COLUMNS)
    ruleset = plan._rule_set
    acc = plan.accounts_data
    names = ruleset.tier_names
    n_tiers = len(names)
    scope = ruleset.scope_of(acc.vertical)
    by_rule = ruleset.tiers(acc.arr, acc.potential, acc.vertical)
    actual = plan.tier_choice
    rows = []
    for name, rules in ruleset.scopes.items():
        mask = scope == name
        plan_count = np.bincount(actual[mask], minlength=n_tiers)
        rule_count = np.bincount(by_rule[mask], minlength=n_tiers)
        agree = mask & (actual == by_rule)
        explained = np.bincount(actual[agree], minlength=n_tiers)
        for k, tier in enumerate(names):
            rule = rules[k] if k < len(rules) else None

            def cut(x: float | None) -> float:
                return float(x) if x is not None and math.isfinite(x) else math.nan

            rows.append(
                {
                    "scope": name,
                    "tier": tier,
                    "arr_cut": cut(rule.arr_cut) if rule else math.nan,
                    "arr_with_whitespace_cut": cut(rule.arr_with_whitespace_cut)
                    if rule
                    else math.nan,
                    "whitespace_cut": cut(rule.whitespace_cut) if rule else math.nan,
                    "rule": rule_text(rule) if n_tiers > 1 else "every account",
                    "accounts": int(plan_count[k]),
                    "rule_accounts": int(rule_count[k]),
                    "explained": int(explained[k]),
                    "exceptions": int(plan_count[k] - explained[k]),
                }
            )
    return pd.DataFrame(rows, columns=RULE_COLUMNS)


def apply_rules(rules: pd.DataFrame, accounts: pd.DataFrame) -> pd.Series:
    """Apply published rules (a ``plan.rules`` table) to an account frame.

    Parameters
    ----------
    rules
        A table with the columns of ``plan.rules`` (``scope``, ``tier``,
        ``arr_cut``, ``arr_with_whitespace_cut``, ``whitespace_cut``), rows
        of a scope in tier order.
    accounts
        Frame with ``arr``, optional ``potential`` (0 when missing) and
        ``vertical`` (needed when the rules have vertical scopes).

    Returns
    -------
    pandas.Series
        The tier the rules give each account, aligned with ``accounts``.

    Raises
    ------
    InputError
        If the rules lack a column of ``plan.rules``, or the accounts lack
        ``arr`` (or ``vertical`` when the rules have vertical scopes).

    Examples
    --------
    >>> rules = pd.DataFrame({"scope": ["all"] * 2, "tier": ["tier1", "tier2"],
    ...     "arr_cut": [100_000.0, float("nan")],
    ...     "arr_with_whitespace_cut": [20_000.0, float("nan")],
    ...     "whitespace_cut": [500_000.0, float("nan")]})
    >>> frame = pd.DataFrame({"arr": [150e3, 30e3, 30e3], "potential": [0.0, 6e5, 1e5]})
    >>> apply_rules(rules, frame).tolist()
    ['tier1', 'tier1', 'tier2']
    """
    from tierplan.errors import InputError

    missing = [c for c in ("scope", "tier", *_CUT_COLUMNS) if c not in rules]
    if missing:
        raise InputError(f"rules table lacks column(s) {missing}; pass a plan.rules table")
    if "arr" not in accounts:
        raise InputError("accounts need an 'arr' column to apply rules", column="arr")
    own_scopes = sorted(set(rules["scope"]) - {"all"})
    if own_scopes and "vertical" not in accounts:
        raise InputError(
            f"the rules have vertical scopes {own_scopes}: accounts need a 'vertical' column",
            column="vertical",
        )
    arr = accounts["arr"].to_numpy(dtype=np.float64)
    potential = (
        accounts["potential"].to_numpy(dtype=np.float64)
        if "potential" in accounts
        else np.zeros(len(accounts))
    )
    vertical = (
        accounts["vertical"].fillna("").astype(str).to_numpy(dtype=object)
        if "vertical" in accounts
        else np.full(len(accounts), "", dtype=object)
    )
    scopes = list(dict.fromkeys(rules["scope"].tolist()))
    own = [s for s in scopes if s != "all"]
    scope = np.where(pd.Series(vertical).isin(own).to_numpy(dtype=bool), vertical, "all")
    out = np.full(len(accounts), None, dtype=object)
    for name in scopes:
        rows = rules[rules["scope"] == name]
        mask = scope == name
        tier = np.full(int(mask.sum()), rows["tier"].iloc[-1], dtype=object)
        for row in reversed(list(rows.iloc[:-1].itertuples())):
            a = row.arr_cut if pd.notna(row.arr_cut) else math.inf
            inside = arr[mask] >= a
            if pd.notna(row.whitespace_cut):
                b = row.arr_with_whitespace_cut if pd.notna(row.arr_with_whitespace_cut) else 0.0
                inside |= (arr[mask] >= b) & (potential[mask] >= row.whitespace_cut)
            tier = np.where(inside, row.tier, tier)
        out[mask] = tier
    return pd.Series(out, index=accounts.index, name="tier")


# -- exceptions -------------------------------------------------------------------


def _money_k(values: FloatArray) -> npt.NDArray[np.object_]:
    thousands = np.round(values / 1_000).astype(np.int64)
    return np.asarray("$" + np.char.mod("%d", thousands).astype(object) + "k", dtype=object)


def exceptions_table(plan: Plan) -> pd.DataFrame:
    """``plan.exceptions``: accounts whose plan tier differs from the rules', and why.

    Parameters
    ----------
    plan
        A plan.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`EXCEPTION_COLUMNS`, rows in the input's order.
        ``cause`` is a short category (``"pinned"``, ``"strategic value"``,
        ``"renewal risk"``, ``"specialist room"``, ``"whitespace"``,
        ``"expected impact"``, ``"not eligible"``, ``"specialist pool
        full"``, ``"capacity"``); ``reason`` reads the cause off the data: pinned; strategic value;
        renewal risk; whitespace; room left in a specialist pool; a
        specialist pool full; the tier full (higher-value accounts took
        the places); no CSM of the tier may take it.
    """
    if not plan.feasible:
        return pd.DataFrame(columns=EXCEPTION_COLUMNS)
    ruleset = plan._rule_set
    acc = plan.accounts_data
    names = np.array(ruleset.tier_names, dtype=object)
    by_rule = ruleset.tiers(acc.arr, acc.potential, acc.vertical)
    actual = plan.tier_choice
    rows = np.flatnonzero(by_rule != actual)
    if rows.size == 0:
        return pd.DataFrame(columns=EXCEPTION_COLUMNS)
    scope = ruleset.scope_of(acc.vertical)
    pools = plan.pools
    counts = np.bincount(plan.pool_choice, minlength=len(pools))
    full = pools.human & (counts >= pools.capacity - 0.5)
    own_pool = plan.pool_choice[rows]
    t_plan, t_rule = actual[rows], by_rule[rows]
    promoted = t_plan < t_rule
    pinned = np.asarray(pd.notna(acc.pinned_tier[rows]), dtype=bool)

    # Pools of the rule's tier the account could have taken, and whether they are full.
    from tierplan.pools import eligibility

    elig = eligibility(acc, pools, plan.model, plan.value)[rows]
    in_rule_tier = pools.tier[None, :] == t_rule[:, None]
    could = elig & in_rule_tier
    specialist = (pools.vertical != "") & pools.human
    could_specialist = could & specialist[None, :]
    all_full = ~(could & ~full[None, :]).any(axis=1)
    specialist_full = could_specialist.any(axis=1) & ~(could_specialist & ~full[None, :]).any(
        axis=1
    )
    vertical = acc.vertical[rows]
    tier_plan = names[t_plan]
    tier_rule = names[t_rule]
    strategic = acc.strategic[rows]
    risk = acc.risk[rows]
    potential = acc.potential[rows]
    pool_names = np.array(pools.names, dtype=object)
    in_specialist = specialist[own_pool] & ~full[own_pool]
    risk_pct = np.char.mod("%d", np.round(risk * 100).astype(np.int64)).astype(object)
    strategic_text = np.char.mod("%g", strategic).astype(object)
    options: list[tuple[str, Any, Any]] = [
        ("pinned", pinned, "pinned to " + tier_plan + " (pinned_tier)"),
        (
            "strategic value",
            promoted & (strategic > 0),
            "strategic value (weight " + strategic_text + ") earns " + tier_plan,
        ),
        (
            "renewal risk",
            promoted & (risk >= HIGH_RISK),
            "renewal risk of " + risk_pct + "% puts its ARR at stake: " + tier_plan,
        ),
        (
            "specialist room",
            promoted & in_specialist,
            "room left in the " + pool_names[own_pool] + " specialist pool",
        ),
        (
            "whitespace",
            promoted & (potential > acc.arr[rows]),
            "whitespace of " + _money_k(potential) + " earns " + tier_plan,
        ),
        (
            "expected impact",
            promoted,
            "higher expected impact in " + tier_plan + " than the accounts the rule puts there",
        ),
        (
            "not eligible",
            ~promoted & ~could.any(axis=1),
            "no " + tier_rule + " CSM may take it (specialist, region or language rules)",
        ),
        (
            "specialist pool full",
            # Specialists full, and no generalist place it may take either.
            ~promoted & specialist_full & all_full,
            "specialist pool full: "
            + tier_rule
            + " "
            + vertical
            + " specialists have no place left",
        ),
        (
            "capacity",
            ~promoted & all_full,
            "capacity: " + tier_rule + " is full and higher-value accounts took the places",
        ),
    ]
    reason = np.asarray("the plan gains more from it in " + tier_plan, dtype=object)
    cause = np.full(rows.size, "expected impact", dtype=object)
    for kind, mask, text in reversed(options):
        reason = np.where(mask, text, reason)
        cause = np.where(mask, kind, cause)
    frame = pd.DataFrame(
        {
            "account_id": acc.ids[rows],
            "scope": scope[rows],
            "tier": tier_plan,
            "rule_tier": tier_rule,
            "arr": acc.arr[rows],
            "potential": potential,
            "vertical": vertical,
            "cause": cause,
            "reason": reason,
        }
    )
    return frame.iloc[np.argsort(acc.order[rows], kind="stable")].reset_index(drop=True)[
        EXCEPTION_COLUMNS
    ]
