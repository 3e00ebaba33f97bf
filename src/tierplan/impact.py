"""Expected NRR impact of attention: the value matrix the planner maximizes.

``value[i, t]`` is the expected impact of giving account ``i`` the standard
attention of tier ``t`` rather than the attention of the lowest-touch tier.
All functions are vectorized over accounts.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.accounts import Accounts
from tierplan.config import CoverageModel, Response
from tierplan.errors import InputError

__all__ = ["attention_scale", "response_stakes", "saturation", "user_values", "value_matrix"]

FloatArray = npt.NDArray[np.float64]


def saturation(hours: npt.ArrayLike, scale: npt.ArrayLike) -> FloatArray:
    """Share of the possible effect that ``hours`` of attention achieve: ``1 − exp(−h/k)``.

    Parameters
    ----------
    hours
        Attention hours (broadcastable against ``scale``).
    scale
        Attention scale ``k_i`` per account.

    Returns
    -------
    numpy.ndarray
        Values in ``[0, 1)``.
    """
    h = np.asarray(hours, dtype=np.float64)
    k = np.asarray(scale, dtype=np.float64)
    return np.asarray(-np.expm1(-h / k), dtype=np.float64)


def attention_scale(accounts: Accounts, response: Response) -> FloatArray:
    """Per-account attention scale ``k_i = k · (1 + complexity_i)``.

    Parameters
    ----------
    accounts
        Validated accounts.
    response
        Response parameters.

    Returns
    -------
    numpy.ndarray
        Hours scale per account.
    """
    return response.k_hours * (1.0 + accounts.complexity)


def response_stakes(accounts: Accounts, response: Response) -> dict[str, FloatArray]:
    """What full attention could win per account, split by source.

    Parameters
    ----------
    accounts
        Validated accounts.
    response
        Response parameters.

    Returns
    -------
    dict
        ``save`` (at-risk ARR that attention can save), ``expansion``
        (whitespace it can convert) and ``strategic`` (strategic bonus),
        each the asymptote of the response as hours grow.
    """
    return {
        "save": accounts.arr * accounts.risk * response.save_max,
        "expansion": accounts.potential * response.conv_max,
        "strategic": accounts.strategic * response.strategic_value,
    }


def value_matrix(accounts: Accounts, model: CoverageModel) -> FloatArray:
    """Expected impact of each tier's attention over the lowest-touch tier.

    ``value[i, t] = S_i · (f(h_t / k_i) − f(h_min / k_i))`` where ``S_i`` is
    the account's total stake (saved at-risk ARR, converted whitespace,
    strategic bonus) and ``h_min`` the attention of the lowest-touch tier.

    Parameters
    ----------
    accounts
        Validated accounts.
    model
        Coverage model (tiers' attention hours and the response).

    Returns
    -------
    numpy.ndarray
        Shape ``(n_accounts, n_tiers)``, tiers in model order.
    """
    stakes = response_stakes(accounts, model.response)
    total = stakes["save"] + stakes["expansion"] + stakes["strategic"]
    k = attention_scale(accounts, model.response)
    hours = np.array([t.attention_hours for t in model.tiers])
    floor = hours.min()
    gain = saturation(hours[None, :], k[:, None]) - saturation(floor, k)[:, None]
    return np.asarray(total[:, None] * gain, dtype=np.float64)


def user_values(values: Any, accounts: Accounts, model: CoverageModel) -> FloatArray:
    """Check and align a user-supplied value matrix (accounts × tiers).

    Parameters
    ----------
    values
        DataFrame indexed by ``account_id`` with one column per tier name,
        or an array of shape ``(n_accounts, n_tiers)`` in the input row
        order. ``NaN`` or ``-inf`` marks a tier the account may not take.
    accounts
        Validated accounts.
    model
        Coverage model.

    Returns
    -------
    numpy.ndarray
        Values in canonical account order, ``-inf`` where not allowed.
    """
    names = model.tier_names
    if isinstance(values, pd.DataFrame):
        missing_cols = [t for t in names if t not in values.columns]
        if missing_cols:
            raise InputError(f"value matrix lacks tier column(s) {missing_cols}", column="values")
        if values.index.duplicated().any():
            dupes = values.index[values.index.duplicated()].unique().tolist()
            raise InputError(
                "value matrix index has duplicate account ids", column="values", ids=dupes
            )
        present = pd.Index(accounts.ids).isin(values.index)
        if not present.all():
            raise InputError(
                "value matrix has no row for these accounts",
                column="values",
                ids=accounts.ids[~present].tolist(),
            )
        matrix = values.loc[accounts.ids, names].to_numpy(dtype=np.float64)
    else:
        raw = np.asarray(values, dtype=np.float64)
        if raw.shape != (accounts.n, len(names)):
            raise InputError(
                f"value matrix must have shape ({accounts.n}, {len(names)}), got {raw.shape}",
                column="values",
            )
        matrix = raw[accounts.order]
    bad = np.isposinf(matrix).any(axis=1)
    if bad.any():
        raise InputError("value matrix holds +inf", column="values", ids=accounts.ids[bad].tolist())
    return np.where(np.isnan(matrix), -np.inf, matrix)
