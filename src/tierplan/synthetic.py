"""Realistic fake account bases and teams for demos, tests and benchmarks.

The shapes follow what B2B SaaS account bases look like: ARR heavy-tailed
(log-normal, a few accounts worth hundreds of times the median), whitespace
uneven (many maxed-out accounts, some small accounts sitting on large
expansion runway), renewal risk mostly low with a tail, and verticals skewed.
"""

from __future__ import annotations

from importlib import resources

import numpy as np
import numpy.typing as npt
import pandas as pd

from tierplan.team import Team

__all__ = ["VERTICALS", "sample_accounts", "sample_team", "synthetic_accounts"]

#: Verticals and their share of accounts in synthetic data.
VERTICALS: dict[str, float] = {
    "software": 0.24,
    "finance": 0.20,
    "retail": 0.15,
    "manufacturing": 0.12,
    "telco": 0.11,
    "healthcare": 0.10,
    "public sector": 0.08,
}

REGIONS: dict[str, float] = {"NA": 0.45, "EMEA": 0.33, "APAC": 0.15, "LATAM": 0.07}


def synthetic_accounts(n: int = 5_000, seed: int | None = 0) -> pd.DataFrame:
    """Make a realistic account base.

    Parameters
    ----------
    n
        Number of accounts.
    seed
        Random seed (same seed, same data).

    Returns
    -------
    pandas.DataFrame
        Columns ``account_id``, ``arr``, ``potential``, ``risk``,
        ``vertical``, ``region``, ``complexity``, ``strategic``.

    Examples
    --------
    >>> import tierplan as tp
    >>> df = tp.synthetic_accounts(n=1_000, seed=7)
    >>> len(df), df["account_id"].is_unique
    (1000, True)
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a whole number >= 0, got {n!r}")
    rng = np.random.default_rng(seed)
    verticals = np.array(list(VERTICALS))
    vertical = rng.choice(verticals, size=n, p=np.array(list(VERTICALS.values())))
    region = rng.choice(np.array(list(REGIONS)), size=n, p=np.array(list(REGIONS.values())))
    # ARR: log-normal, median ~$12k; finance and telco skew larger.
    uplift = np.where(np.isin(vertical, ["finance", "telco"]), 0.35, 0.0)
    arr = np.round(np.exp(rng.normal(np.log(12_000) + uplift, 1.35, size=n)), -1)
    arr = np.maximum(arr, 500.0)
    # Whitespace: 35% maxed out; the rest a multiple of ARR; 6% are growth
    # plays with runway several times their current spend.
    has_room = rng.random(n) > 0.35
    multiple = np.exp(rng.normal(np.log(0.6), 0.9, size=n))
    growth = rng.random(n) < 0.06
    multiple = np.where(growth, rng.uniform(3.0, 15.0, size=n), multiple)
    potential = np.round(np.where(has_room | growth, arr * multiple, 0.0), -1)
    # Renewal risk: mostly low (mean ~12%), a tail of at-risk accounts.
    risk: npt.NDArray[np.float64] = rng.beta(1.6, 11.0, size=n)
    at_risk = rng.random(n) < 0.08
    risk = np.where(at_risk, rng.uniform(0.35, 0.8, size=n), risk).round(3)
    # Complexity grows with size: large accounts take more hours to move.
    size = np.clip(np.log10(arr / 10_000.0), 0.0, None)
    complexity = np.round(size * 0.4 + rng.gamma(1.0, 0.15, size=n), 2)
    strategic = np.where(rng.random(n) < 0.02, 1.0, 0.0)
    strategic = np.where(rng.random(n) < 0.004, 2.0, strategic)
    width = max(6, len(str(n)))
    ids = [f"ACC-{k:0{width}d}" for k in range(1, n + 1)]
    return pd.DataFrame(
        {
            "account_id": ids,
            "arr": arr,
            "potential": potential,
            "risk": risk,
            "vertical": vertical,
            "region": region,
            "complexity": complexity,
            "strategic": strategic,
        }
    )


def sample_accounts() -> pd.DataFrame:
    """The small account base that ships with the package (2,000 accounts).

    Returns
    -------
    pandas.DataFrame
        The sample accounts.
    """
    path = resources.files("tierplan") / "data" / "sample_accounts.csv"
    with resources.as_file(path) as p:
        return pd.read_csv(p, dtype={"account_id": str, "vertical": str})


def sample_team() -> Team:
    """The team that goes with :func:`sample_accounts` (roster shipped as CSV).

    Returns
    -------
    Team
        Eight tier-1 CSMs (two finance and one telco specialist) and four
        tier-2 CSMs (one finance specialist).
    """
    path = resources.files("tierplan") / "data" / "sample_team.csv"
    with resources.as_file(path) as p:
        return Team.from_roster(p)
