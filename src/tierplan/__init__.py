"""tierplan: plan customer success coverage by optimization.

Give it an account export and a CS team; it returns, for every account, a
coverage tier (named CSM, pooled CSM, tech-touch) and a CSM, chosen so the
expected NRR impact of the team's attention is as large as possible under
the headcount, book-size limits and specialist rules.

>>> import tierplan as tp
>>> accounts = tp.synthetic_accounts(n=2_000, seed=7)
>>> team = tp.Team.from_headcount({"tier1": 4, "tier2": 2}, specialists={"tier1": {"finance": 1}})
>>> plan = tp.plan(accounts, team)
>>> plan.status
'optimal'
"""

from tierplan.accounts import Accounts, load_accounts
from tierplan.assignment import BookAssignment, assign_books
from tierplan.attention import allocate_attention, attention_gain
from tierplan.config import CoverageModel, CoverageMotion, Response, Tier
from tierplan.disruption import disruption_frontier
from tierplan.errors import ConfigError, InputError, SolverError, TierplanError
from tierplan.impact import value_matrix
from tierplan.planner import baseline_plan, plan
from tierplan.result import Plan
from tierplan.rules import apply_rules
from tierplan.sizing import (
    Sizing,
    frontier,
    headcount_grid,
    plot_frontier,
    simulate_outcomes,
    size_team,
    team_from_headcount,
)
from tierplan.synthetic import sample_accounts, sample_team, synthetic_accounts
from tierplan.team import Team

__version__ = "0.1.0"

__all__ = [
    "Accounts",
    "BookAssignment",
    "ConfigError",
    "CoverageModel",
    "CoverageMotion",
    "InputError",
    "Plan",
    "Response",
    "Sizing",
    "SolverError",
    "Team",
    "Tier",
    "TierplanError",
    "__version__",
    "allocate_attention",
    "apply_rules",
    "assign_books",
    "attention_gain",
    "baseline_plan",
    "disruption_frontier",
    "frontier",
    "headcount_grid",
    "load_accounts",
    "plan",
    "plot_frontier",
    "sample_accounts",
    "sample_team",
    "simulate_outcomes",
    "size_team",
    "synthetic_accounts",
    "team_from_headcount",
    "value_matrix",
]
