"""The :class:`Plan`: an immutable coverage plan and its reports.

A plan holds arrays (canonical account order) and builds its tables on first
access: ``assignments``, ``books``, ``tiers``, ``cut_points``, ``values``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.accounts import Accounts
from tierplan.config import CoverageModel
from tierplan.cutpoints import cut_points
from tierplan.errors import ConfigError, InputError
from tierplan.mip import SolveStatus
from tierplan.pools import PoolSet

if TYPE_CHECKING:
    from tierplan.bands import Bands, PriceOfExplainability
    from tierplan.rules import RuleSet

__all__ = ["ATTENTION_POLICIES", "Plan", "redistribute_attention"]

#: Ways a CSM's hours can be spread over their book (see ``tp.plan``).
ATTENTION_POLICIES = ("flat", "value", "need", "expansion")

IntArray = npt.NDArray[np.int64]
FloatArray = npt.NDArray[np.float64]


def _money(x: float) -> str:
    if not math.isfinite(x):
        return "–"
    for unit, scale in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= scale:
            return f"${x / scale:,.2f}{unit}" if unit != "k" else f"${x / scale:,.0f}k"
    return f"${x:,.0f}"


def _inferred_text_dtype() -> Any:
    """The dtype pandas gives a column built from Python strings (``str`` or ``object``)."""
    return pd.Series(np.array(["a"], dtype=object)).dtype


#: The dtype of a frame column built from an object array of strings.
_TEXT_DTYPE = _inferred_text_dtype()


def _coded_text(labels: Sequence[object], codes: IntArray) -> Any:
    """``labels[codes]`` (``-1``: missing) as a frame column, of the dtype pandas infers for it.

    Converting every row's Python string to pandas' text dtype is what
    dominates building the account table; a column of a few distinct labels
    is built from the labels and the codes instead. pandas infers a column's
    dtype from the kinds of values in it, so the distinct values in use
    decide it as the full column would.
    """
    lookup = np.empty(len(labels) + 1, dtype=object)
    lookup[:-1] = list(labels)
    used = np.bincount(codes + 1, minlength=lookup.shape[0]) > 0
    present = lookup[:-1][used[1:]].tolist()
    # pandas reads a column of strings and missing values (at least one
    # string) as its text dtype; anything else keeps the per-row path.
    if (
        isinstance(_TEXT_DTYPE, pd.StringDtype)
        and present
        and all(isinstance(x, str) for x in present)
    ):
        return pd.array(lookup[:-1], dtype=_TEXT_DTYPE).take(codes, allow_fill=True)
    return lookup[codes]


def _text(values: npt.NDArray[np.object_]) -> Any:
    """An object array of labels as a frame column (see :func:`_coded_text`)."""
    codes, labels = pd.factorize(values, use_na_sentinel=True)
    return _coded_text(list(labels), np.asarray(codes, dtype=np.int64))


def _label_column(acc: Accounts, name: str, inverse: IntArray) -> Any:
    """A fit label (``vertical``, ``region``, ``language``) in input order as a frame column.

    Validation keeps a text column's values, with ``""`` for missing or
    blank ones: when it has none of those, the input column is the answer
    as it stands.
    """
    frame = acc.frame
    values = getattr(acc, name)
    if len(frame) == inverse.shape[0]:
        if name not in frame.columns:
            return _coded_text([""], np.zeros(inverse.shape[0], dtype=np.int64))
        column = frame[name]
        if isinstance(column.dtype, pd.StringDtype) and column.dtype == _TEXT_DTYPE:
            # Validation's distinct labels: missing and blank ones became "",
            # and text conversion drops trailing NULs.
            _, labels = acc.codes(name)
            if all(u.strip() and not u.endswith("\x00") for u in labels):
                return column.array
    return _text(values[inverse])


def _id_column(acc: Accounts, inverse: IntArray) -> Any:
    """Account ids in input order as a frame column.

    The validated input frame holds them in that order already, as the text
    column pandas would build from them: reuse it rather than convert ten
    thousand strings again.
    """
    frame = acc.frame
    if "account_id" in frame.columns and len(frame) == inverse.shape[0]:
        column = frame["account_id"]
        if isinstance(column.dtype, pd.StringDtype) and column.dtype == _TEXT_DTYPE:
            return column.array
    return acc.ids[inverse]


@dataclass(frozen=True, eq=False)
class Plan:
    """A coverage plan: every account's tier, pool and CSM.

    Build it with :func:`tierplan.plan` or :func:`tierplan.baseline_plan`.

    Attributes
    ----------
    name
        Label used in comparisons (``"optimized"``, ``"ARR-band baseline"``).
    status
        ``"optimal"``, ``"time_limit"`` (best plan found in the time limit,
        see ``gap``) or ``"infeasible"`` (see ``diagnosis``).
    objective
        Total expected impact of the plan (the value the program maximized).
    bound
        Best proven upper bound on the objective.
    gap
        Relative gap between ``objective`` and ``bound`` (0 when optimal).
    solve_seconds
        Time spent in the solver.
    diagnosis
        Why no plan exists, in business words (empty unless infeasible).
    solver_info
        Which solver and path ran, and why; ``phases`` holds the seconds
        spent in each phase (validate, values, pools, diagnose, solve, books).
    model
        The coverage model.
    policy
        ``"free"`` or ``"bands"`` (tiers forced onto cut points, see
        :func:`tierplan.plan`).
    bands
        For a ``"bands"`` plan, the rule it follows and its price
        (:class:`tierplan.bands.Bands`); ``None`` otherwise.
    """

    name: str
    status: SolveStatus
    objective: float
    bound: float
    gap: float
    solve_seconds: float
    diagnosis: tuple[str, ...]
    solver_info: dict[str, Any]
    model: CoverageModel
    accounts_data: Accounts = field(repr=False)
    roster: pd.DataFrame = field(repr=False)
    pools: PoolSet = field(repr=False)
    value: FloatArray = field(repr=False)
    pool_choice: IntArray = field(repr=False)
    csm_choice: IntArray = field(repr=False)
    attention: FloatArray = field(repr=False)
    attention_policy: str = "flat"
    account_impact: FloatArray | None = field(default=None, repr=False)
    policy: str = "free"
    bands: Bands | None = field(default=None, repr=False)
    borrowing: Any = field(default=None, repr=False)

    # -- basic facts --------------------------------------------------------
    @property
    def feasible(self) -> bool:
        """Whether the plan assigns every account."""
        return self.status != "infeasible" and bool((self.pool_choice >= 0).all())

    @cached_property
    def tier_choice(self) -> IntArray:
        """Tier index per account (canonical order; ``-1`` if unassigned)."""
        out = np.full(self.pool_choice.shape[0], -1, dtype=np.int64)
        ok = self.pool_choice >= 0
        out[ok] = self.pools.tier[self.pool_choice[ok]]
        return out

    @cached_property
    def _impact(self) -> FloatArray:
        if self.account_impact is not None:
            return self.account_impact
        return self._tier_impact

    @cached_property
    def _tier_impact(self) -> FloatArray:
        idx = np.arange(self.tier_choice.shape[0])
        out = np.full(idx.shape[0], np.nan)
        ok = self.tier_choice >= 0
        out[ok] = self.value[idx[ok], self.tier_choice[ok]]
        return out

    @cached_property
    def outcomes(self) -> dict[str, FloatArray]:
        """Expected retained ARR and expansion per account under the plan's attention.

        With attention ``h``: churn probability ``risk · (1 − save_max · f(h/k))``,
        retained ARR ``arr · (1 − churn)``, expansion ``potential · conv_max ·
        f(h/k)`` (the same response curve as the value matrix).
        """
        from tierplan.impact import attention_scale, saturation

        acc, response = self.accounts_data, self.model.response
        reach = saturation(np.nan_to_num(self.attention), attention_scale(acc, response))
        churn = acc.risk * (1.0 - response.save_max * reach)
        return {
            "expected_retained_arr": acc.arr * (1.0 - churn),
            "expected_expansion": acc.potential * response.conv_max * reach,
        }

    # -- tables ---------------------------------------------------------------
    @cached_property
    def values(self) -> pd.DataFrame:
        """The value matrix the program maximized (accounts × tiers).

        Indexed by ``account_id`` (input order), one column per tier;
        ``-inf`` where a tier was not allowed.
        """
        frame = pd.DataFrame(self.value, columns=self.model.tier_names)
        frame.index = pd.Index(self.accounts_data.ids, name="account_id")
        return frame.iloc[np.argsort(self.accounts_data.order)]

    @cached_property
    def assignments(self) -> pd.DataFrame:
        """One row per account, in the input's row order.

        Columns: ``account_id``, ``tier``, ``tier_label``, ``pool``,
        ``csm_id`` (empty for tech-touch), ``vertical``, ``region``,
        ``language``, ``arr``,
        ``potential``, ``risk``, ``pinned_tier``, ``attention_hours``,
        ``expected_impact``, ``expected_retained_arr``,
        ``expected_expansion``; ``borrowed_by`` (the pooled CSM covering a
        tech-touch account on alert this quarter) when the accounts carry
        alert signals.
        """
        acc = self.accounts_data
        # Built in input order directly: every column is taken by ``inverse``.
        inverse = np.empty_like(acc.order)
        inverse[acc.order] = np.arange(acc.order.shape[0])
        tier = self.tier_choice[inverse]
        ok = tier >= 0
        csm_ids = self.roster["csm_id"].tolist()
        pinned = acc.pinned_tier[inverse]
        outcomes = self.outcomes
        columns: dict[str, Any] = {
            "account_id": _id_column(acc, inverse),
            "tier": _coded_text(self.model.tier_names, tier),
            "tier_label": _coded_text([t.label for t in self.model.tiers], tier),
            "pool": _coded_text(self.pools.names, self.pool_choice[inverse]),
            "csm_id": _coded_text(csm_ids, self.csm_choice[inverse]),
            "vertical": _label_column(acc, "vertical", inverse),
            "region": _label_column(acc, "region", inverse),
            "language": _label_column(acc, "language", inverse),
            "arr": acc.arr[inverse],
            "potential": acc.potential[inverse],
            "risk": acc.risk[inverse],
            "pinned_tier": (
                _text(pinned)
                if pd.notna(pinned).any()
                else pd.Series(pinned, dtype=object, copy=False)
            ),
            "attention_hours": np.where(ok, self.attention[inverse], np.nan),
            "expected_impact": self._impact[inverse],
            **{name: values[inverse] for name, values in outcomes.items()},
        }
        if self.borrowing is not None:
            columns["borrowed_by"] = _coded_text(csm_ids, self.borrowing.csm[inverse])
        return pd.DataFrame(columns, index=pd.RangeIndex(inverse.shape[0]))

    @cached_property
    def books(self) -> pd.DataFrame:
        """One row per CSM: accounts, ARR, hours and how full the book is.

        Columns: ``csm_id``, ``tier``, ``pool``, ``vertical``, ``accounts``,
        ``max_accounts``, ``utilization`` (accounts / cap), ``arr``,
        ``potential``, ``attention_hours``, ``hours``,
        ``hours_utilization``, ``expected_impact``, ``cost``.
        """
        roster = self.roster
        n_csm = len(roster)
        has = self.csm_choice >= 0
        idx = self.csm_choice[has]
        acc = self.accounts_data

        def total(weights: FloatArray) -> FloatArray:
            return np.bincount(idx, weights=weights[has], minlength=n_csm).astype(np.float64)

        attention = np.where(self.tier_choice >= 0, self.attention, 0.0)
        counts = np.bincount(idx, minlength=n_csm)
        max_accounts = roster["max_accounts"].to_numpy()
        hours = roster["hours"].to_numpy()
        attention_hours = total(attention)
        with np.errstate(divide="ignore", invalid="ignore"):
            # As pandas divides: x/0 is inf (or nan), without a warning.
            hours_utilization = attention_hours / hours
        # One constructor call: a roster has few rows, so pandas' per-call
        # cost is what building this table takes.
        return pd.DataFrame(
            {
                "csm_id": roster["csm_id"].to_numpy(),
                "tier": roster["tier"].to_numpy(),
                "pool": np.array(self.pools.names, dtype=object)[self.pools.csm_pool],
                "vertical": roster["vertical"].to_numpy(),
                "accounts": counts,
                "max_accounts": max_accounts,
                "utilization": counts / max_accounts,
                "arr": total(acc.arr),
                "potential": total(acc.potential),
                "attention_hours": attention_hours,
                "hours": hours,
                "expected_impact": total(np.nan_to_num(self._impact)),
                "cost": roster["cost"].to_numpy(),
                "hours_utilization": hours_utilization,
            }
        )

    @cached_property
    def moves(self) -> pd.DataFrame:
        """Accounts whose tier or CSM changed from ``current_tier`` / ``current_csm``.

        Columns: ``account_id``, ``move`` (promotion, demotion, new owner),
        ``from_tier``, ``to_tier``, ``from_csm``, ``to_csm``, ``arr``,
        ``potential``, ``risk``, ``impact_change``, ``reason``.
        """
        from tierplan.moves import moves_table

        return moves_table(self)

    @property
    def borrowed(self) -> pd.DataFrame:
        """Tech-touch accounts on alert, borrowed by the pooled tier this quarter.

        Columns: ``account_id``, ``tier`` (unchanged), ``borrowed_by``,
        ``pooled_tier``, ``reason``, ``hours_this_quarter``, ``arr``,
        ``risk``. Empty without alert signals (see :mod:`tierplan.borrowing`).
        """
        from tierplan.borrowing import borrowed_frame

        return borrowed_frame(self.borrowing)

    def moves_to_csv(self, path: str | Path) -> Path:
        """Write the moves as a CRM import: ``account_id``, ``new_owner``, ``new_segment``.

        Parameters
        ----------
        path
            Output file.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        out = Path(path)
        moves = self.moves
        pd.DataFrame(
            {
                "account_id": moves["account_id"],
                "new_owner": moves["to_csm"],
                "new_segment": moves["to_tier"],
            }
        ).to_csv(out, index=False)
        return out

    def reassign(
        self,
        departing: Sequence[str] = (),
        joining: pd.DataFrame | None = None,
        **options: Any,
    ) -> Plan:
        """Re-plan after CSMs leave or join, moving as little as possible.

        This plan becomes the current state: accounts keep their tier and
        CSM unless the departure forces a move, and the departing CSMs'
        accounts spread over the CSMs with room in their pool (by balance,
        not to one person; by fit first when ``fit_bonus`` is given, which
        then only steers the accounts that must move).

        Parameters
        ----------
        departing
            ``csm_id`` of the CSMs who leave.
        joining
            Roster rows of CSMs who join (``csm_id``, ``tier``, ...).
        **options
            Passed to :func:`tierplan.plan` (e.g. ``move_penalty``).

        Returns
        -------
        Plan
            The new plan; ``moves`` lists who moved and why.
        """
        from tierplan.planner import plan as make_plan
        from tierplan.team import Team

        unknown = sorted(set(departing) - set(self.roster["csm_id"]))
        if unknown:
            raise InputError("departing CSMs are not on the roster", column="csm_id", ids=unknown)
        keep = ~self.roster["csm_id"].isin(list(departing))
        columns = [
            "csm_id",
            "tier",
            "vertical",
            "region",
            "language",
            "max_accounts",
            "min_accounts",
            "hours",
            "cost",
        ]
        roster = self.roster.loc[keep, columns]
        if joining is not None:
            roster = pd.concat([roster, joining], ignore_index=True)
        accounts = self.accounts_data.frame.copy()
        current = self.assignments
        accounts["current_tier"] = current["tier"].to_numpy()
        accounts["current_csm"] = current["csm_id"].to_numpy()
        options.setdefault("name", f"{self.name} (reassigned)")
        if options.get("fit_bonus") and "continuity_bonus" not in options:
            # Fit steers where the leavers' accounts go; it does not reshuffle
            # the books of those who stay. Moving a stayer to make room for a
            # better-fitting leaver gains at most twice the fit.
            options["continuity_bonus"] = 1.0 + 2.0 * float(sum(options["fit_bonus"].values()))
        return make_plan(accounts, Team.from_roster(roster), self.model, **options)

    @cached_property
    def balance(self) -> pd.DataFrame:
        """How even the books are within each pool.

        Columns: ``pool``, ``csms``, ``accounts_min``, ``accounts_max``,
        ``arr_min``, ``arr_max``, ``arr_mean``, ``arr_spread`` (max / min),
        ``arr_cv`` (coefficient of variation), ``hours_utilization_max``.
        Balance never costs expected impact here: books are split after the
        tiers are chosen, so these figures are the price of nothing.
        """
        books = self.books
        grouped = books.groupby("pool", sort=False)
        frame = grouped.agg(
            csms=("csm_id", "size"),
            accounts_min=("accounts", "min"),
            accounts_max=("accounts", "max"),
            arr_min=("arr", "min"),
            arr_max=("arr", "max"),
            arr_mean=("arr", "mean"),
            arr_std=("arr", "std"),
            hours_utilization_max=("hours_utilization", "max"),
        ).reset_index()
        with np.errstate(divide="ignore", invalid="ignore"):
            frame["arr_spread"] = frame["arr_max"] / frame["arr_min"]
            frame["arr_cv"] = frame["arr_std"].fillna(0.0) / frame["arr_mean"]
        return frame.drop(columns="arr_std")[
            [
                "pool",
                "csms",
                "accounts_min",
                "accounts_max",
                "arr_min",
                "arr_max",
                "arr_mean",
                "arr_spread",
                "arr_cv",
                "hours_utilization_max",
            ]
        ]

    @cached_property
    def tiers(self) -> pd.DataFrame:
        """One row per tier: accounts, ARR, headcount, ARR per CSM, cost, impact.

        Columns: ``tier``, ``label``, ``accounts``, ``share_of_accounts``,
        ``arr``, ``share_of_arr``, ``headcount``, ``accounts_per_csm``,
        ``arr_per_csm``, ``cost``, ``expected_impact``, ``impact_per_cost``,
        ``expected_expansion``, ``expected_nrr`` (expected retained ARR plus
        expansion over current ARR).
        """
        n_tiers = len(self.model.tiers)
        ok = self.tier_choice >= 0
        t = self.tier_choice[ok]
        acc = self.accounts_data
        counts = np.bincount(t, minlength=n_tiers)
        arr = np.bincount(t, weights=acc.arr[ok], minlength=n_tiers)
        impact = np.bincount(t, weights=self._impact[ok], minlength=n_tiers)
        retained = np.bincount(
            t, weights=self.outcomes["expected_retained_arr"][ok], minlength=n_tiers
        )
        expansion = np.bincount(
            t, weights=self.outcomes["expected_expansion"][ok], minlength=n_tiers
        )
        tier_idx = self.roster["tier_index"].to_numpy(dtype=np.int64)
        headcount = np.bincount(tier_idx, minlength=n_tiers)
        cost = np.bincount(tier_idx, weights=self.roster["cost"].to_numpy(), minlength=n_tiers)
        with np.errstate(divide="ignore", invalid="ignore"):
            frame = pd.DataFrame(
                {
                    "tier": self.model.tier_names,
                    "label": [x.label for x in self.model.tiers],
                    "accounts": counts,
                    "share_of_accounts": counts / max(acc.n, 1),
                    "arr": arr,
                    "share_of_arr": arr / max(acc.arr.sum(), 1e-9),
                    "headcount": headcount,
                    "accounts_per_csm": np.where(headcount > 0, counts / headcount, np.nan),
                    "arr_per_csm": np.where(headcount > 0, arr / headcount, np.nan),
                    "cost": cost,
                    "expected_impact": impact,
                    "impact_per_cost": np.where(cost > 0, impact / cost, np.nan),
                    "expected_expansion": expansion,
                    "expected_nrr": np.where(arr > 0, (retained + expansion) / arr, np.nan),
                }
            )
        return frame

    @cached_property
    def cut_points(self) -> pd.DataFrame:
        """ARR and whitespace thresholds that separate the tiers in this plan.

        See :func:`tierplan.cutpoints.cut_points` for the columns.
        """
        acc = self.accounts_data
        specialists = sorted({str(v) for v in self.pools.vertical if v})
        return cut_points(
            self.tier_choice,
            self.model.tier_names,
            acc.arr,
            acc.potential,
            acc.codes("vertical"),
            specialists,
        )

    @cached_property
    def _rule_set(self) -> RuleSet:
        # Fitting the rules takes seconds at 100,000 accounts, and both
        # ``rules`` and ``exceptions`` (so every report) need them: fit once.
        from tierplan.rules import plan_rules

        return plan_rules(self)

    @cached_property
    def rules(self) -> pd.DataFrame:
        """The plan's tiers as cut points in words, read top-down (first rule met wins).

        Each tier but the last has a rule "ARR ≥ a, or ARR ≥ b with
        whitespace ≥ w"; the last takes every other account. For a free plan
        the rules are fitted to it (fewest exceptions), for all accounts and
        for specialist verticals whose own cuts explain more of their
        accounts; for a ``policy="bands"`` plan they are the cut points it
        was built from. See :func:`tierplan.rules.rules_table` for the
        columns; :func:`tierplan.rules.apply_rules` applies them to any
        account frame.
        """
        from tierplan.rules import rules_table

        return rules_table(self)

    @cached_property
    def exceptions(self) -> pd.DataFrame:
        """Accounts whose tier differs from what ``plan.rules`` gives them, and why.

        Columns ``account_id``, ``scope``, ``tier``, ``rule_tier``, ``arr``,
        ``potential``, ``vertical``, ``cause``, ``reason`` (pinned, strategic value,
        renewal risk, whitespace, specialist pool full, capacity...). Every
        account not listed here gets exactly its tier from the rules. A
        ``policy="bands"`` plan lists only pinned accounts.
        """
        from tierplan.rules import exceptions_table

        return exceptions_table(self)

    @cached_property
    def quadrants(self) -> pd.DataFrame:
        """The ARR × whitespace 2×2 (invest, protect, grow, digital) crossed with tiers.

        One row per quadrant and tier: ``quadrant``, ``meaning``, ``tier``,
        ``accounts``, ``arr``, ``potential``, ``share_of_quadrant``. The
        thresholds (the plan's tier-1 ARR cut on both axes) are in
        ``plan.quadrants.attrs["cuts"]``; see :func:`tierplan.guards.quadrant_cuts`.
        """
        from tierplan.guards import quadrant_table

        return quadrant_table(self)

    @cached_property
    def review_list(self) -> pd.DataFrame:
        """Low-ARR / high-whitespace accounts to review by hand, largest whitespace first.

        See :func:`tierplan.guards.review_list`.
        """
        from tierplan.guards import review_list

        return review_list(self)

    @cached_property
    def checks(self) -> pd.DataFrame:
        """Guards: tier-1 inflation, the grow-quadrant review, ARR per CSM against benchmarks.

        Columns ``check``, ``status`` (``"ok"`` or ``"warn"``), ``detail``.
        See :func:`tierplan.guards.checks_table`.
        """
        from tierplan.guards import checks_table

        return checks_table(self)

    @property
    def price_of_explainability(self) -> PriceOfExplainability | None:
        """For a ``policy="bands"`` plan, the expected impact the rule gives up.

        A :class:`tierplan.bands.PriceOfExplainability` (``absolute`` >= 0,
        ``relative`` to the free optimum); ``None`` for a free plan or when
        no rule fits.
        """
        return None if self.bands is None else self.bands.price

    # -- reading --------------------------------------------------------------
    def __repr__(self) -> str:
        acc = self.accounts_data
        head = (
            f"Plan({self.name!r}, status={self.status!r}, accounts={acc.n:,}, "
            f"csms={len(self.roster):,}"
        )
        if self.status == "infeasible":
            return head + f", diagnosis={len(self.diagnosis)} problem(s))"
        mix = ", ".join(f"{r.tier}={r.accounts:,}" for r in self.tiers.itertuples())
        gap = f", gap={self.gap:.2%}" if self.gap and math.isfinite(self.gap) else ""
        return head + f", expected_impact={_money(self.objective)}{gap}, {mix})"

    def summary(self) -> str:
        """A readable report: status, tier table, cut points, books.

        Returns
        -------
        str
            Plain text, ready to print.
        """
        lines = [f"Coverage plan: {self.name}", f"  status: {self.status}"]
        if self.status == "infeasible":
            lines.append("  No plan fits the team and the rules:")
            lines += [f"   - {reason}" for reason in self.diagnosis]
            return "\n".join(lines)
        acc = self.accounts_data
        lines.append(
            f"  {acc.n:,} accounts, {_money(acc.arr.sum())} ARR, {len(self.roster):,} CSMs"
        )
        lines.append(f"  expected NRR impact of attention: {_money(self.objective)} per year")
        retained = float(self.outcomes["expected_retained_arr"].sum())
        expansion = float(self.outcomes["expected_expansion"].sum())
        total_arr = float(acc.arr.sum())
        if total_arr > 0:
            lines.append(
                f"  expected NRR {(retained + expansion) / total_arr:.1%} "
                f"(retained {_money(retained)}, expansion {_money(expansion)})"
            )
        if self.status == "time_limit":
            lines.append(
                f"  stopped at the time limit: within {self.gap:.2%} of the best possible "
                f"({_money(self.bound)})"
            )
        if self.attention_policy != "flat":
            spread = float(np.nansum(self._impact))
            flat = float(np.nansum(self._tier_impact))
            change = spread - flat
            lines.append(
                f"  attention spread by {self.attention_policy}: {_money(spread)} expected impact, "
                f"{_money(abs(change))} {'more' if change >= 0 else 'less'} than every account "
                "at its tier's standard hours"
            )
        if (
            pd.notna(self.accounts_data.current_tier).any()
            or pd.notna(self.accounts_data.current_csm).any()
        ):
            counts = self.moves["move"].value_counts()
            lines.append(
                f"  moves from the current state: {int(counts.get('promotion', 0)):,} promotions, "
                f"{int(counts.get('demotion', 0)):,} demotions, "
                f"{int(counts.get('new owner', 0)):,} new owners"
            )
        if self.borrowing is not None:
            from tierplan.borrowing import borrowing_line

            lines.append(borrowing_line(self.borrowing))
        method = self.solver_info.get("method")
        if method:
            lines.append(f"  solved by {method} in {self.solve_seconds:.2f}s")
        if self.bands is not None:
            lines.append(f"  tiers follow cut points (policy='bands'); {self.bands.price}")
        lines.append("")
        lines.append("Tiers")
        table = self.tiers.copy()
        shown = pd.DataFrame(
            {
                "tier": table["tier"],
                "coverage": table["label"],
                "accounts": table["accounts"].map("{:,}".format),
                "ARR": table["arr"].map(_money),
                "CSMs": table["headcount"],
                "accounts/CSM": table["accounts_per_csm"].map(
                    lambda x: "–" if not math.isfinite(x) else f"{x:,.1f}"
                ),
                "ARR/CSM": table["arr_per_csm"].map(_money),
                "expected impact": table["expected_impact"].map(_money),
            }
        )
        lines += ["  " + s for s in shown.to_string(index=False).splitlines()]
        cuts = self.cut_points
        if not cuts.empty:
            lines.append("")
            lines.append("Cut points (rule: ARR >= cut → this tier or higher)")
            for row in cuts.itertuples():
                scope = "" if row.scope == "all" else f" [{row.scope}]"
                lines.append(
                    f"  {row.upper_tier} vs {row.lower_tier}{scope}: ARR >= {_money(row.arr_cut)}"
                    f" ({row.arr_misplaced:,} of {row.accounts_upper + row.accounts_lower:,} "
                    f"accounts on the other side of the rule)"
                )
        from tierplan.guards import summary_lines

        lines += summary_lines(self)
        books = self.books
        if len(books):
            lines.append("")
            lines.append("Books")
            for pool, group in books.groupby("pool", sort=False):
                lines.append(
                    f"  {pool}: {len(group)} CSM{'' if len(group) == 1 else 's'}, "
                    f"{group['accounts'].min()}–"
                    f"{group['accounts'].max()} accounts per book "
                    f"(cap {group['max_accounts'].max()}), ARR per book "
                    f"{_money(group['arr'].min())}–{_money(group['arr'].max())}"
                )
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        if self.status == "infeasible":
            items = "".join(f"<li>{r}</li>" for r in self.diagnosis)
            return f"<b>Plan {self.name}: infeasible</b><ul>{items}</ul>"
        return (
            f"<b>Plan {self.name}</b>: {self.status}, expected impact "
            f"{_money(self.objective)}<br>" + str(self.tiers.to_html(index=False))
        )

    # -- comparing and exporting ----------------------------------------------
    def compare(self, other: Plan) -> pd.DataFrame:
        """Side-by-side table of two plans of the same accounts.

        Parameters
        ----------
        other
            Another plan (e.g. the ARR-band baseline).

        Returns
        -------
        pandas.DataFrame
            One row per metric (expected impact, accounts, headcount and
            ARR per CSM per tier, accounts whose tier or CSM differs); columns
            are the two plans' names and ``difference`` (this minus other).
        """
        left, right = self.name, other.name
        if left == right:
            right = f"{right} (other)"
        rows: dict[str, tuple[float, float]] = {
            "expected_impact": (self.objective, other.objective),
        }
        mine, theirs = self.tiers.set_index("tier"), other.tiers.set_index("tier")
        for tier in self.model.tier_names:
            a = mine.loc[tier] if tier in mine.index else None
            b = theirs.loc[tier] if tier in theirs.index else None
            for metric in ("accounts", "headcount", "arr_per_csm", "expected_impact"):
                va = float(a[metric]) if a is not None else math.nan
                vb = float(b[metric]) if b is not None else math.nan
                rows[f"{tier} {metric}"] = (va, vb)
        a_assign = self.assignments.set_index("account_id")
        b_assign = other.assignments.set_index("account_id")
        common = a_assign.index.intersection(b_assign.index)
        tier_diff = int((a_assign.loc[common, "tier"] != b_assign.loc[common, "tier"]).sum())
        csm_a = a_assign.loc[common, "csm_id"].astype(object).fillna("")
        csm_b = b_assign.loc[common, "csm_id"].astype(object).fillna("")
        rows["accounts in another tier"] = (float(tier_diff), float(tier_diff))
        rows["accounts with another CSM"] = (
            float((csm_a != csm_b).sum()),
            float((csm_a != csm_b).sum()),
        )
        frame = pd.DataFrame.from_dict(rows, orient="index", columns=[left, right])
        frame["difference"] = frame[left] - frame[right]
        frame.loc[["accounts in another tier", "accounts with another CSM"], "difference"] = np.nan
        frame.index.name = "metric"
        return frame

    def explain(self, account_id: object) -> Any:
        """Why an account sits in its tier, and what would move it.

        Parameters
        ----------
        account_id
            The account.

        Returns
        -------
        tierplan.explain.AccountExplanation
            Values per tier, the runner-up, the tier's marginal account and
            the ARR or whitespace at which the account would change tier.
        """
        from tierplan.explain import explain

        return explain(self, account_id)

    def to_excel(self, path: str | Path, *, baseline: Plan | None = None) -> Path:
        """Write an Excel workbook (summary, tiers, cut points, assignments, books).

        Parameters
        ----------
        path
            Output ``.xlsx`` file.
        baseline
            Optional plan to add a comparison sheet for.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        from tierplan.reports import to_excel

        return to_excel(self, path, baseline=baseline)

    def to_html(self, path: str | Path, *, baseline: Plan | None = None) -> Path:
        """Write one self-contained HTML report with tables and charts.

        Parameters
        ----------
        path
            Output ``.html`` file.
        baseline
            Optional plan to compare against.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        from tierplan.reports import to_html

        return to_html(self, path, baseline=baseline)

    def plot(self, kind: str = "quadrant", other: Plan | None = None) -> Any:
        """A matplotlib figure of the plan (never shown, returned).

        Parameters
        ----------
        kind
            ``"quadrant"`` (ARR × whitespace with the cut lines), ``"books"``
            (accounts and hours per CSM) or ``"compare"`` (needs ``other``).
        other
            The plan to compare with.

        Returns
        -------
        matplotlib.figure.Figure
            The figure.
        """
        from tierplan import plots

        if kind == "compare":
            if other is None:
                raise ConfigError("plot: kind='compare' needs other=")
            return plots.compare(self, other)
        if kind not in {"quadrant", "books"}:
            raise ConfigError(f"plot: unknown kind {kind!r}; use quadrant, books or compare")
        return getattr(plots, kind)(self)

    def to_csv(self, path: str | Path) -> Path:
        """Write the assignment table as CSV (the file a CRM import takes).

        Parameters
        ----------
        path
            Output file.

        Returns
        -------
        pathlib.Path
            The path written.
        """
        out = Path(path)
        self.assignments.to_csv(out, index=False)
        return out


def redistribute_attention(plan: Plan, policy: str) -> Plan:
    """Spread each CSM's hours over their book by equal marginal value.

    Parameters
    ----------
    plan
        A feasible plan with the built-in response curve.
    policy
        ``"value"``, ``"need"`` (weight at-risk ARR) or ``"expansion"``
        (weight whitespace).

    Returns
    -------
    Plan
        The same tiers and books with recommended hours per account and the
        expected impact of those hours.
    """
    from tierplan.attention import allocate_attention
    from tierplan.impact import attention_scale, response_stakes, saturation

    acc, model = plan.accounts_data, plan.model
    stakes = response_stakes(acc, model.response)
    total = stakes["save"] + stakes["expansion"] + stakes["strategic"]
    driver = {"value": total, "need": stakes["save"], "expansion": stakes["expansion"]}[policy]
    scale = attention_scale(acc, model.response)
    tiers = model.tiers
    tier = plan.tier_choice
    floors = np.array([t.floor_hours if t.human else 0.0 for t in tiers])[tier]
    book = plan.csm_choice
    hours = allocate_attention(
        driver, scale, floors, book, plan.roster["hours"].to_numpy(dtype=np.float64)
    )
    standard = np.array([t.attention_hours for t in tiers])[tier]
    hours = np.where(book >= 0, hours, standard)
    lowest = min(t.attention_hours for t in tiers)
    impact = total * (saturation(hours, scale) - saturation(lowest, scale))
    return replace(plan, attention=hours, attention_policy=policy, account_impact=impact)
