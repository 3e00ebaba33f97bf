"""Account frames: reading, validating and holding them as arrays.

The planner never works on the user's DataFrame: :func:`load_accounts`
validates it once and returns an immutable :class:`Accounts` of numpy
arrays in a canonical order (sorted by ``account_id``), so plans do not
depend on the row order of the input. Nothing is dropped, clipped or
coerced: a value that breaks a rule is an :class:`~tierplan.errors.InputError`
naming the column, the offending ids and the rule.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.errors import InputError

__all__ = [
    "ACCOUNT_COLUMNS",
    "Accounts",
    "load_accounts",
    "read_table",
    "require_columns",
]

#: Optional numeric columns, their default and the rule they obey.
ACCOUNT_COLUMNS: dict[str, tuple[float, str]] = {
    "potential": (0.0, "whitespace in currency, >= 0"),
    "risk": (0.10, "probability of churn at renewal under tech-touch, in [0, 1]"),
    "complexity": (0.0, "hours multiplier minus one, >= 0 (0 = standard account)"),
    "strategic": (0.0, "strategic weight (reference logo, design partner), >= 0"),
}

#: Text columns that match accounts to CSMs: specialists by vertical, and
#: optional fit by region and language.
FIT_COLUMNS = ("vertical", "region", "language")

#: Default churn risk when the column is missing: 10% yearly gross churn, a
#: common B2B SaaS figure. Replace with your health-score based estimate.
DEFAULT_RISK = ACCOUNT_COLUMNS["risk"][0]

FloatArray = npt.NDArray[np.float64]
ObjArray = npt.NDArray[np.object_]

_COPY_ON_WRITE = int(pd.__version__.split(".")[0]) >= 3


@dataclass(frozen=True, eq=False)
class Accounts:
    """Validated accounts as arrays, sorted by ``account_id``.

    Attributes
    ----------
    ids
        Account ids (object array), sorted.
    id_column
        The input's ``account_id`` column, in input order.
    arr, potential, risk, complexity, strategic
        Numeric attributes (float64).
    vertical, region, language
        Labels per account (object arrays of str; ``""`` when none), used by
        specialist pools and by CSM fit (``match`` / ``fit_bonus``).
    pinned_tier
        Pinned tier name per account, or ``None``.
    current_tier, current_csm
        Current state, or ``None`` per account.
    locked
        Accounts that keep their current tier and CSM whatever the plan
        (all ``False`` without a ``locked`` column).
    alert, health_drop, renewal_days
        Alert signals for temporary borrowing (``None`` when the column is
        absent): an alert raised by the CS platform, points of health score
        lost over the quarter, days to the next renewal.
    order
        ``order[k]`` is the input row of canonical account ``k``.
    frame
        The validated input frame, in input order (a copy).
    """

    id_column: pd.Series = field(repr=False)
    arr: FloatArray
    potential: FloatArray
    risk: FloatArray
    complexity: FloatArray
    strategic: FloatArray
    vertical: ObjArray
    region: ObjArray
    language: ObjArray
    pinned_tier: ObjArray
    current_tier: ObjArray
    current_csm: ObjArray
    order: npt.NDArray[np.intp]
    frame: pd.DataFrame
    locked: npt.NDArray[np.bool_] = field(default_factory=lambda: np.zeros(0, dtype=bool))
    alert: npt.NDArray[np.bool_] | None = None
    health_drop: FloatArray | None = None
    renewal_days: FloatArray | None = None
    _codes: dict[str, tuple[npt.NDArray[np.int64], list[str]]] = field(
        default_factory=dict, repr=False
    )

    def codes(self, name: str) -> tuple[npt.NDArray[np.int64], list[str]]:
        """A fit label (``vertical``, ``region``, ``language``) as codes into its distinct labels.

        Parameters
        ----------
        name
            One of :data:`FIT_COLUMNS`.

        Returns
        -------
        tuple
            ``(codes, labels)``: ``labels[codes[k]]`` is account ``k``'s label
            (canonical order); the labels are distinct, and ``""`` (no label)
            is one of them when some account has none.
        """
        if name not in self._codes:
            codes, uniques = pd.factorize(getattr(self, name))
            self._codes[name] = (np.asarray(codes, dtype=np.int64), list(uniques))
        return self._codes[name]

    @cached_property
    def ids(self) -> ObjArray:
        """Account ids (object array), sorted."""
        # Built on first use: a plan that raises nothing never names an account.
        ids: ObjArray = np.asarray(self.id_column.to_numpy(dtype=object))[self.order]
        return ids

    def has(self, column: str) -> bool:
        """Whether the input had ``column`` (absent optional columns hold their defaults).

        Parameters
        ----------
        column
            A column name, e.g. ``"current_csm"``.

        Returns
        -------
        bool
            True when the validated input frame has the column.
        """
        return column in self.frame.columns

    def __len__(self) -> int:
        return int(self.order.shape[0])

    @property
    def n(self) -> int:
        """Number of accounts."""
        return len(self)

    def __repr__(self) -> str:
        return f"Accounts(n={self.n:,}, arr_total={self.arr.sum():,.0f})"


def read_table(source: Any, *, what: str) -> pd.DataFrame:
    """Read a DataFrame, or a CSV / Parquet / Excel file, without changing it.

    Parameters
    ----------
    source
        A DataFrame, or a path to a ``.csv``, ``.parquet`` or ``.xlsx`` file.
    what
        What the table holds, for error messages (``"accounts"``).

    Returns
    -------
    pandas.DataFrame
        The table (a copy when given a frame).
    """
    if isinstance(source, pd.DataFrame):
        # With copy-on-write (pandas 3), a shallow copy cannot see later edits
        # of the caller's frame, and it copies no data.
        return source.copy(deep=not _COPY_ON_WRITE)
    if isinstance(source, (str, Path)):
        path = Path(source)
        if not path.exists():
            raise InputError(f"{what} file not found: {path}")
        if not path.is_file():
            raise InputError(f"{what} path is not a file: {path}")
        suffix = path.suffix.lower()
        try:
            if suffix in {".parquet", ".pq"}:
                return pd.read_parquet(path)
            if suffix in {".xlsx", ".xls"}:
                return pd.read_excel(path)
            # Ids and verticals stay text: reading '007' as 7 would change the id.
            # Only empty cells are missing: "NA" is North America, "None" a
            # vertical name; pandas' default would silently read them as NaN.
            return pd.read_csv(
                path,
                dtype={"account_id": str, "csm_id": str, "vertical": str},
                keep_default_na=False,
                na_values=[""],
            )
        except (ValueError, OSError, ImportError) as exc:
            # pandas' parser errors, pyarrow's ArrowInvalid and a missing
            # engine all derive from these; the file is what the user can fix.
            raise InputError(
                f"cannot read {what} file {path}: {type(exc).__name__}: {exc}"
            ) from exc
    raise InputError(
        f"{what} must be a pandas DataFrame or a path to a CSV/Parquet file, "
        f"got {type(source).__name__}"
    )


def require_columns(frame: pd.DataFrame, columns: Sequence[str]) -> None:
    """Raise an :class:`InputError` naming the required columns a frame lacks.

    Parameters
    ----------
    frame
        The table.
    columns
        Required column names.
    """
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise InputError(
            f"required column(s) missing: {missing}; got columns {list(frame.columns)}",
            column=missing[0],
        )


def _ids_where(ids: pd.Series, mask: npt.NDArray[np.bool_]) -> list[object]:
    return list(ids[mask].tolist())


def _numeric(frame: pd.DataFrame, column: str, id_col: str) -> FloatArray:
    """Column as float64; text, booleans and missing values are errors."""
    col = frame[column]
    ids = frame[id_col]
    if pd.api.types.is_bool_dtype(col):
        raise InputError("must be numeric, got booleans", column=column)
    if pd.api.types.is_numeric_dtype(col):
        values = col.to_numpy(dtype=np.float64, na_value=np.nan)
    else:
        converted = pd.to_numeric(col, errors="coerce")
        bad = (converted.isna() & col.notna()).to_numpy()
        if bad.any():
            raise InputError(
                "must be numeric; these rows hold text", column=column, ids=_ids_where(ids, bad)
            )
        values = converted.to_numpy(dtype=np.float64, na_value=np.nan)
    missing = np.isnan(values)
    if missing.any():
        raise InputError(
            "must not be missing (NaN/empty)", column=column, ids=_ids_where(ids, missing)
        )
    infinite = ~np.isfinite(values)
    if infinite.any():
        raise InputError("must be finite", column=column, ids=_ids_where(ids, infinite))
    return np.asarray(values, dtype=np.float64)


def _check_range(
    values: FloatArray,
    ids: pd.Series,
    column: str,
    *,
    low: float | None = None,
    high: float | None = None,
) -> None:
    bad = np.zeros(values.shape[0], dtype=bool)
    if low is not None:
        bad |= values < low
    if high is not None:
        bad |= values > high
    if bad.any():
        if low is not None and high is not None:
            rule = f"must be between {low:g} and {high:g}"
        elif low is not None:
            rule = f"must be >= {low:g}"
        else:
            rule = f"must be <= {high:g}"
        raise InputError(rule, column=column, ids=_ids_where(ids, bad))


def _booleans(frame: pd.DataFrame, column: str, id_col: str) -> npt.NDArray[np.bool_]:
    """Column of True/False values; anything else (text, 0/1, missing) is an error."""
    col = frame[column]
    if pd.api.types.is_bool_dtype(col) and not col.isna().any():
        return np.asarray(col.to_numpy(dtype=bool), dtype=bool)
    values = col.to_numpy(dtype=object)
    ok = col.map(type).isin([bool, np.bool_]).to_numpy(dtype=bool)
    if not ok.all():
        raise InputError(
            "must be True or False in every row (no text, numbers or empty cells)",
            column=column,
            ids=_ids_where(frame[id_col], ~ok),
        )
    return np.asarray(values.astype(bool), dtype=bool)


def _is_text(col: pd.Series) -> bool:
    """Whether every present value of a column is a ``str``."""
    return isinstance(col.dtype, pd.StringDtype) or (
        col.dtype == object and pd.api.types.infer_dtype(col, skipna=True) in ("string", "empty")
    )


def _text_codes(col: pd.Series) -> tuple[npt.NDArray[np.intp], ObjArray] | None:
    """A text column as codes into its distinct labels, ``-1`` for missing or blank.

    Label columns hold a handful of distinct values: working on those rather
    than on every row is what keeps validation cheap. ``None`` when some
    value is not text (then equality of distinct values is not that of the
    per-row rules, e.g. ``1 == 1.0``).
    """
    if not _is_text(col):
        return None
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    labels = np.asarray(uniques, dtype=object)
    # Python's whitespace is the one pandas strips for text (its own or
    # pyarrow's): a label of spaces is blank.
    blank = np.fromiter((not u.strip() for u in labels.tolist()), dtype=bool, count=labels.size)
    codes = np.asarray(codes, dtype=np.intp)
    if blank.any():
        codes = np.where(blank[np.maximum(codes, 0)], -1, codes)
    return codes, labels


def _labels(frame: pd.DataFrame, column: str) -> ObjArray:
    """Optional text column as an object array with ``None`` for missing."""
    if column not in frame.columns:
        return np.full(len(frame), None, dtype=object)
    col = frame[column]
    coded = _text_codes(col)
    if coded is not None:
        codes, labels = coded
        lookup = np.empty(labels.size + 1, dtype=object)
        lookup[:-1] = labels
        return lookup[codes]
    # Empty strings mean "none" in CRM exports: treat them like missing values.
    blank = col.astype("string").str.strip().eq("").fillna(value=False).to_numpy(dtype=bool)
    keep = col.notna().to_numpy(dtype=bool) & ~blank
    out = np.full(len(col), None, dtype=object)
    out[keep] = col.to_numpy(dtype=object)[keep]
    return out


def _fit_codes(frame: pd.DataFrame, column: str) -> tuple[npt.NDArray[np.int64], list[str]] | None:
    """Optional fit column as codes into distinct ``str`` labels (``""`` for missing).

    ``None`` when the column is absent: no account has a label.
    """
    if column not in frame.columns:
        return None
    coded = _text_codes(frame[column])
    if coded is not None:
        codes, labels = coded
        # The same conversion as below, on the distinct labels only: missing
        # and blank labels (code -1) become "", once.
        text = np.array([str(x) for x in labels.tolist()] + [""], dtype=object)
        codes = np.where(codes < 0, text.size - 1, codes)
        used = np.bincount(codes, minlength=text.size) > 0
        distinct, remap = np.unique(text[used], return_inverse=True)
        lookup = np.full(text.size, -1, dtype=np.int64)
        lookup[used] = remap
        return lookup[codes], [str(x) for x in distinct.tolist()]
    values = _labels(frame, column)
    values = np.where(pd.isna(values), "", values).astype(str).astype(object)
    codes_any, uniques = pd.factorize(values)
    return np.asarray(codes_any, dtype=np.int64), [str(u) for u in uniques]


def label_index(labels: npt.ArrayLike, keys: Sequence[object]) -> npt.NDArray[np.int64]:
    """Position of each label among ``keys``; ``-1`` for missing or unknown labels.

    The lookup runs once per distinct label, not once per account.

    Parameters
    ----------
    labels
        Labels per account (object array; ``None`` or NaN for missing).
    keys
        Distinct keys, e.g. tier names or roster CSM ids.

    Returns
    -------
    numpy.ndarray
        ``int64`` positions.
    """
    values = np.asarray(labels, dtype=object)
    present = np.asarray(pd.notna(values), dtype=bool)
    if not present.any():
        return np.full(values.shape[0], -1, dtype=np.int64)
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    table = {key: k for k, key in enumerate(keys)}
    lookup = np.full(len(uniques) + 1, -1, dtype=np.int64)
    lookup[: len(uniques)] = [table.get(u, -1) for u in uniques.tolist()]
    return np.asarray(lookup[codes], dtype=np.int64)


def load_accounts(
    source: Any,
    *,
    tiers: Sequence[str] | None = None,
) -> Accounts:
    """Validate an account table and hold it as arrays.

    Parameters
    ----------
    source
        DataFrame or path (CSV/Parquet). Required columns: ``account_id``
        (unique) and ``arr`` (>= 0). Optional: ``potential`` (>= 0, default
        0), ``risk`` (0-1, default 0.10), ``vertical``, ``region``,
        ``language`` (text, default none),
        ``complexity`` (>= 0, default 0), ``strategic`` (>= 0, default 0),
        ``pinned_tier`` (a tier name), ``current_tier``, ``current_csm``,
        ``locked`` (True/False: keep the current tier and CSM), and the
        alert signals of temporary borrowing: ``alert`` (True/False),
        ``health_drop`` (health-score points lost this quarter, any number)
        and ``renewal_days`` (days to the next renewal, >= 0).
    tiers
        Known tier names, to check ``pinned_tier`` and ``current_tier``.

    Returns
    -------
    Accounts
        The validated accounts, sorted by ``account_id``.

    Raises
    ------
    InputError
        Naming the column, the offending ids and the rule.
    """
    frame = read_table(source, what="accounts")
    require_columns(frame, ("account_id", "arr"))
    raw_ids = frame["account_id"]
    null_ids = raw_ids.isna().to_numpy()
    if null_ids.any():
        rows = np.flatnonzero(null_ids).tolist()
        raise InputError(f"must not be empty (rows {rows[:5]})", column="account_id")
    order: npt.NDArray[np.intp] | None = None
    if _is_text(raw_ids):
        # Text ids sort by code point, so equal ids are neighbours once sorted:
        # the canonical order finds duplicates as a by-product. Exports often
        # come sorted by id, which one comparison of neighbours shows.
        if _strictly_increasing(raw_ids):
            order = np.arange(len(raw_ids), dtype=np.intp)
            has_dup = False
        else:
            order = _canonical_order(raw_ids)
            ranked = raw_ids.to_numpy(dtype=object)[order]
            has_dup = bool((ranked[1:] == ranked[:-1]).any())
    else:
        has_dup = bool(raw_ids.duplicated(keep=False).any())
    if has_dup:
        dup = raw_ids.duplicated(keep=False).to_numpy()
        raise InputError(
            "must be unique; these ids appear more than once",
            column="account_id",
            ids=sorted(set(raw_ids[dup].tolist()), key=str),
        )

    arr = _numeric(frame, "arr", "account_id")
    _check_range(arr, raw_ids, "arr", low=0.0)
    numeric: dict[str, FloatArray] = {}
    for column, (default, _rule) in ACCOUNT_COLUMNS.items():
        if column in frame.columns:
            numeric[column] = _numeric(frame, column, "account_id")
        else:
            numeric[column] = np.full(len(frame), default)
    _check_range(numeric["potential"], raw_ids, "potential", low=0.0)
    _check_range(numeric["risk"], raw_ids, "risk", low=0.0, high=1.0)
    _check_range(numeric["complexity"], raw_ids, "complexity", low=0.0)
    _check_range(numeric["strategic"], raw_ids, "strategic", low=0.0)

    pinned = _labels(frame, "pinned_tier")
    current_tier = _labels(frame, "current_tier")
    if tiers is not None:
        known = set(tiers)
        for column, labels in (("pinned_tier", pinned), ("current_tier", current_tier)):
            if column not in frame.columns:
                continue
            present = pd.notna(labels)
            if not present.any():
                continue
            unknown = present & ~pd.Series(labels).isin(known).to_numpy(dtype=bool)
            if unknown.any():
                values = sorted({str(v) for v in labels[unknown]})
                raise InputError(
                    f"unknown tier(s) {values}; tiers are {list(tiers)}",
                    column=column,
                    ids=_ids_where(raw_ids, unknown),
                )
    current_csm = _labels(frame, "current_csm")
    locked = (
        _booleans(frame, "locked", "account_id")
        if "locked" in frame.columns
        else np.zeros(len(frame), dtype=bool)
    )
    alert = _booleans(frame, "alert", "account_id") if "alert" in frame.columns else None
    health_drop = (
        _numeric(frame, "health_drop", "account_id") if "health_drop" in frame.columns else None
    )
    renewal_days = None
    if "renewal_days" in frame.columns:
        renewal_days = _numeric(frame, "renewal_days", "account_id")
        _check_range(renewal_days, raw_ids, "renewal_days", low=0.0)

    if order is None:
        order = _canonical_order(raw_ids)
    n = len(frame)
    fit: dict[str, ObjArray] = {}
    fit_codes: dict[str, tuple[npt.NDArray[np.int64], list[str]]] = {}
    for column in FIT_COLUMNS:
        found = _fit_codes(frame, column)
        if found is None:
            fit[column] = np.full(n, "", dtype=object)
            fit_codes[column] = (np.zeros(n, dtype=np.int64), [""])
            continue
        codes, text = found
        codes = codes[order]
        fit[column] = np.array(text, dtype=object)[codes]
        fit_codes[column] = (codes, text)

    def canonical(values: ObjArray, column: str) -> ObjArray:
        # An absent column is the same in every order.
        return values[order] if column in frame.columns else values

    return Accounts(
        id_column=raw_ids,
        arr=arr[order],
        potential=numeric["potential"][order],
        risk=numeric["risk"][order],
        complexity=numeric["complexity"][order],
        strategic=numeric["strategic"][order],
        vertical=fit["vertical"],
        region=fit["region"],
        language=fit["language"],
        pinned_tier=canonical(pinned, "pinned_tier"),
        current_tier=canonical(current_tier, "current_tier"),
        current_csm=canonical(current_csm, "current_csm"),
        order=order,
        frame=frame,
        locked=locked[order],
        alert=None if alert is None else alert[order],
        health_drop=None if health_drop is None else health_drop[order],
        renewal_days=None if renewal_days is None else renewal_days[order],
        _codes=fit_codes,
    )


def _strictly_increasing(column: pd.Series) -> bool:
    """Whether text ids are sorted without repeats (by code point, as Python compares)."""
    data = getattr(column.array, "_pa_array", None)
    if data is not None and len(column) > 1:
        import pyarrow.compute as pc

        # Arrow compares UTF-8 bytes, whose order is the code points' order.
        return bool(pc.all(pc.greater(data[1:], data[:-1])).as_py())
    ids = column.to_numpy(dtype=object)
    return bool((ids[1:] > ids[:-1]).all())


def _canonical_order(ids: pd.Series) -> npt.NDArray[np.intp]:
    """Stable sort of the ids; mixed types sort by their text."""
    try:
        return np.asarray(ids.argsort(kind="stable").to_numpy(), dtype=np.intp)
    except TypeError:
        return np.asarray(ids.astype(str).argsort(kind="stable").to_numpy(), dtype=np.intp)
