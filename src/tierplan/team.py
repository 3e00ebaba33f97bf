"""The CS team: a roster of CSMs, each in a tier, generalist or specialist.

A :class:`Team` is immutable. Build it from a roster frame
(:meth:`Team.from_roster`) or from head counts (:meth:`Team.from_headcount`).
Per-CSM figures the roster leaves out (book caps, hours, cost) come from the
coverage model's tier at plan time, so the same team can be planned under
several coverage models.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.accounts import _COPY_ON_WRITE, read_table, require_columns
from tierplan.config import CoverageModel
from tierplan.errors import ConfigError, InputError

__all__ = ["GENERALIST", "Team"]

#: Label of the generalist pool of a tier in reports.
GENERALIST = "generalist"

_OPTIONAL = ("max_accounts", "min_accounts", "hours", "cost")

#: Results :meth:`Team._cached` keeps (a few models and match options).
_MEMO_SIZE = 8

_T = TypeVar("_T")


@dataclass(frozen=True, eq=False)
class Team:
    """A roster of CSMs.

    Attributes
    ----------
    roster
        One row per CSM: ``csm_id``, ``tier``, ``vertical`` (``""`` for a
        generalist) and, where given, ``max_accounts``, ``min_accounts``,
        ``hours``, ``cost`` (missing values mean "the tier's default").
    """

    roster: pd.DataFrame
    _memo: list[tuple[object, object]] = field(
        default_factory=list, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        object.__setattr__(self, "roster", _validate_roster(self.roster))

    def _cached(self, key: object, make: Callable[[], _T]) -> _T:
        """What ``make()`` returns, computed once per equal ``key`` (the team is immutable).

        Plans of one team under one model share the resolved roster and the
        pools; a finance sweep plans the same team hundreds of times.
        """
        for known, value in self._memo:
            if known == key:
                return value  # type: ignore[return-value]
        value = make()
        self._memo.append((key, value))
        del self._memo[:-_MEMO_SIZE]
        return value

    # -- construction -----------------------------------------------------
    @classmethod
    def from_roster(cls, roster: Any) -> Team:
        """Build a team from a roster table.

        Parameters
        ----------
        roster
            DataFrame or CSV/Parquet path with columns ``csm_id`` (unique),
            ``tier`` and optionally ``vertical`` (empty = generalist),
            ``region`` and ``language`` (empty = any; used by ``match`` and
            ``fit_bonus`` in :func:`tierplan.plan`),
            ``max_accounts``, ``min_accounts``, ``hours`` (customer-facing
            hours per year) and ``cost`` (fully loaded yearly cost).

        Returns
        -------
        Team
            The team.

        Examples
        --------
        >>> import pandas as pd, tierplan as tp
        >>> team = tp.Team.from_roster(pd.DataFrame({
        ...     "csm_id": ["ana", "bo", "cy"],
        ...     "tier": ["tier1", "tier1", "tier2"],
        ...     "vertical": ["finance", "", ""],
        ... }))
        >>> team.headcount()
        {'tier1': 2, 'tier2': 1}
        """
        return cls(read_table(roster, what="roster"))

    @classmethod
    def from_headcount(
        cls,
        generalists: Mapping[str, int],
        specialists: Mapping[str, Mapping[str, int]] | None = None,
    ) -> Team:
        """Build a team from head counts.

        Parameters
        ----------
        generalists
            Generalist CSMs per tier, e.g. ``{"tier1": 12, "tier2": 4}``.
        specialists
            Specialists per tier and vertical, in addition to the
            generalists, e.g. ``{"tier1": {"finance": 3}}``.

        Returns
        -------
        Team
            A team with generated ids (``tier1-finance-01``, ``tier1-gen-01``).

        Examples
        --------
        >>> import tierplan as tp
        >>> team = tp.Team.from_headcount({"tier1": 2, "tier2": 1},
        ...                               specialists={"tier1": {"finance": 1}})
        >>> team.roster["csm_id"].tolist()
        ['tier1-gen-01', 'tier1-gen-02', 'tier1-finance-01', 'tier2-gen-01']
        """
        rows: list[tuple[str, str, str]] = []
        tiers = list(dict.fromkeys([*generalists, *(specialists or {})]))
        for tier in tiers:
            count = generalists.get(tier, 0)
            _check_count(count, f"generalists['{tier}']")
            rows += [(f"{tier}-gen-{k + 1:02d}", tier, "") for k in range(int(count))]
            for vertical, n in (specialists or {}).get(tier, {}).items():
                _check_count(n, f"specialists['{tier}']['{vertical}']")
                if not str(vertical).strip():
                    raise ConfigError(f"specialists['{tier}']: vertical names must not be empty")
                slug = str(vertical).replace(" ", "_")
                rows += [(f"{tier}-{slug}-{k + 1:02d}", tier, str(vertical)) for k in range(int(n))]
        roster = pd.DataFrame(rows, columns=["csm_id", "tier", "vertical"])
        return cls(roster)

    # -- views ------------------------------------------------------------
    @property
    def size(self) -> int:
        """Number of CSMs."""
        return len(self.roster)

    def headcount(self) -> dict[str, int]:
        """CSMs per tier.

        Returns
        -------
        dict
            Tier name to head count, in roster order of first appearance.
        """
        counts = self.roster.groupby("tier", sort=False).size()
        return {str(k): int(v) for k, v in counts.items()}

    def resolved(self, model: CoverageModel) -> pd.DataFrame:
        """Roster with every per-CSM figure filled from the model's tiers.

        Parameters
        ----------
        model
            The coverage model that supplies defaults.

        Returns
        -------
        pandas.DataFrame
            Columns ``csm_id``, ``tier``, ``vertical``, ``region``,
            ``language``, ``max_accounts``,
            ``min_accounts``, ``hours``, ``cost``, ``tier_index``.

        Raises
        ------
        InputError
            When a CSM sits in a tier the model does not have or in a tier
            without people (tech-touch).
        """
        frame = self._cached(("resolved", model), lambda: self._resolve(model))
        # Each caller gets its own frame: with copy-on-write a shallow copy is one.
        return frame.copy(deep=not _COPY_ON_WRITE)

    def _resolve(self, model: CoverageModel) -> pd.DataFrame:
        # A roster has a few dozen rows: plain arrays, not per-column pandas
        # operations, whose fixed cost would dominate.
        roster = self.roster
        names = model.tier_names
        position = {name: k for k, name in enumerate(names)}
        tier_index = np.fromiter(
            (position.get(t, -1) for t in roster["tier"].tolist()),
            dtype=np.int64,
            count=len(roster),
        )
        known = tier_index >= 0
        if not known.all():
            raise InputError(
                f"unknown tier(s) {sorted(set(roster['tier'][~known]))}; tiers are {names}",
                column="tier",
                ids=roster["csm_id"][~known].tolist(),
            )
        human = np.array([t.human for t in model.tiers], dtype=bool)
        digital = ~human[tier_index]
        if digital.any():
            raise InputError(
                "these CSMs sit in a tier without people (tech-touch has no books)",
                column="tier",
                ids=roster["csm_id"][digital].tolist(),
            )
        defaults = {
            "max_accounts": [t.max_book for t in model.tiers],
            "min_accounts": [t.min_book for t in model.tiers],
            "hours": [t.csm_hours for t in model.tiers],
            "cost": [t.csm_cost for t in model.tiers],
        }
        figures: dict[str, npt.NDArray[Any]] = {}
        for column, per_tier in defaults.items():
            default = np.array(per_tier, dtype=float)[tier_index]
            if column in roster.columns:
                given = roster[column].to_numpy(dtype=np.float64, na_value=np.nan)
                figures[column] = np.where(np.isnan(given), default, given)
            else:
                figures[column] = default
        for column in ("max_accounts", "min_accounts"):
            values = figures[column]
            figures[column] = (
                values.astype(np.int64)
                if not np.isnan(values).any()
                else pd.Series(values).astype(np.int64).to_numpy()  # raises pandas' error
            )
        over = figures["min_accounts"] > figures["max_accounts"]
        if over.any():
            raise InputError(
                "min_accounts exceeds max_accounts",
                column="min_accounts",
                ids=roster["csm_id"][over].tolist(),
            )
        index = pd.RangeIndex(len(roster))
        labels: dict[str, Any] = {}
        for column in ("csm_id", "tier", "vertical", "region", "language"):
            col = roster[column]
            # Object columns stay object (a bare array of text would be read as str).
            labels[column] = (
                pd.Series(col.to_numpy(), index=index, dtype=object, copy=False)
                if col.dtype == object
                else col.array
            )
        return pd.DataFrame({**labels, **figures, "tier_index": tier_index}, index=index)

    def __repr__(self) -> str:
        parts = []
        for tier, group in self.roster.groupby("tier", sort=False):
            spec = group.loc[group["vertical"] != "", "vertical"].value_counts(sort=False)
            extra = ", ".join(f"{v}: {n}" for v, n in spec.items())
            gen = int((group["vertical"] == "").sum())
            parts.append(f"{tier}: {gen} generalists" + (f" + {extra}" if extra else ""))
        return f"Team({self.size} CSMs; " + "; ".join(parts) + ")"


def _check_count(value: object, field: str) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or int(value) < 0:
        raise ConfigError(f"{field}: head count must be a whole number >= 0, got {value!r}")


def _validate_roster(roster: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(roster, pd.DataFrame):
        raise InputError(f"roster must be a DataFrame, got {type(roster).__name__}")
    require_columns(roster, ("csm_id", "tier"))
    ids = roster["csm_id"]
    if ids.isna().any():
        raise InputError("must not be empty", column="csm_id")
    dup = ids.duplicated(keep=False).to_numpy(dtype=bool)
    if dup.any():
        raise InputError(
            "must be unique; these CSM ids appear more than once",
            column="csm_id",
            ids=sorted(set(ids[dup].tolist()), key=str),
        )
    no_tier = roster["tier"].isna().to_numpy(dtype=bool)
    if no_tier.any():
        raise InputError("must not be empty", column="tier", ids=ids[no_tier].tolist())
    out = roster.copy().reset_index(drop=True)
    out["tier"] = out["tier"].astype(str)
    for column in ("vertical", "region", "language"):
        if column in out.columns:
            label = out[column].astype("string").str.strip().fillna("")
            out[column] = label.astype(object)
        else:
            out[column] = ""
    for column in _OPTIONAL:
        if column not in out.columns:
            continue
        if pd.api.types.is_bool_dtype(out[column]):
            raise InputError("must be numeric, got booleans", column=column)
        # Nullable integer columns hold <NA> for "use the tier default":
        # as float64 that is NaN, which comparisons below handle.
        values = pd.to_numeric(out[column], errors="coerce").astype(np.float64)
        text = (values.isna() & out[column].notna()).to_numpy(dtype=bool)
        if text.any():
            raise InputError("must be numeric", column=column, ids=out["csm_id"][text].tolist())
        negative = (values < 0).to_numpy(dtype=bool)
        if negative.any():
            raise InputError("must be >= 0", column=column, ids=out["csm_id"][negative].tolist())
        if column in ("max_accounts", "min_accounts"):
            whole = (values.isna() | (values == np.floor(values))).to_numpy(dtype=bool)
            if not whole.all():
                raise InputError(
                    "must be a whole number of accounts",
                    column=column,
                    ids=out["csm_id"][~whole].tolist(),
                )
        if column == "max_accounts":
            zero = (values == 0).to_numpy(dtype=bool)
            if zero.any():
                raise InputError(
                    "must be > 0 (a CSM with no room has no book)",
                    column=column,
                    ids=out["csm_id"][zero].tolist(),
                )
        out[column] = values.astype(float)
    return out
