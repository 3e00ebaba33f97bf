from __future__ import annotations

import os

import pandas as pd
import pytest
from hypothesis import HealthCheck, settings

import tierplan as tp

settings.register_profile(
    "ci",
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    derandomize=True,
)
settings.register_profile(
    "dev",
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


@pytest.fixture(scope="session")
def accounts() -> pd.DataFrame:
    return tp.synthetic_accounts(n=1_500, seed=11)


@pytest.fixture(scope="session")
def team() -> tp.Team:
    return tp.Team.from_headcount(
        {"tier1": 3, "tier2": 2},
        specialists={"tier1": {"finance": 2, "telco": 1}, "tier2": {"finance": 1}},
    )
