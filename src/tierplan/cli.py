"""Command line: ``tierplan demo`` and ``tierplan plan ACCOUNTS --team TEAM -o OUT``."""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Sequence
from pathlib import Path

from tierplan.errors import ConfigError, TierplanError
from tierplan.planner import baseline_plan, plan
from tierplan.result import Plan, _money
from tierplan.synthetic import sample_accounts, sample_team
from tierplan.team import Team

__all__ = ["main", "parse_headcount"]


def parse_headcount(spec: str) -> Team:
    """Build a team from ``"tier1=12,tier2=4,tier1.finance=3"``.

    Parameters
    ----------
    spec
        Comma-separated ``tier=count`` (generalists) and
        ``tier.vertical=count`` (specialists) items.

    Returns
    -------
    Team
        The team.
    """
    generalists: dict[str, int] = {}
    specialists: dict[str, dict[str, int]] = {}
    for item in filter(None, (part.strip() for part in spec.split(","))):
        key, sep, count = item.partition("=")
        if not sep or not count.strip().isdigit():
            raise ConfigError(
                f"--team: cannot read '{item}'; write tier=count or tier.vertical=count "
                "(e.g. tier1=12,tier2=4,tier1.finance=3) or give a roster CSV"
            )
        tier, dot, vertical = key.strip().partition(".")
        if dot:
            specialists.setdefault(tier, {})[vertical] = int(count)
        else:
            generalists[tier] = int(count)
    return Team.from_headcount(generalists, specialists)


def _team(value: str) -> Team:
    path = Path(value)
    if path.suffix.lower() in {".csv", ".parquet", ".xlsx"} or path.exists():
        return Team.from_roster(path)
    return parse_headcount(value)


def _gain(best: Plan, base: Plan) -> str:
    if not (math.isfinite(best.objective) and math.isfinite(base.objective)):
        return ""
    gain = best.objective - base.objective
    rel = gain / base.objective if base.objective > 0 else math.nan
    rel_text = f" (+{rel:.0%})" if math.isfinite(rel) else ""
    return (
        f"Gain over the ARR-band rule at the same headcount: {_money(gain)} expected "
        f"impact per year{rel_text}; {_money(base.objective)} → {_money(best.objective)}"
    )


def _demo(args: argparse.Namespace) -> int:
    accounts = sample_accounts()
    team = sample_team()
    print(f"Sample data: {len(accounts):,} accounts; {team!r}\n")
    best = plan(accounts, team, solver=args.solver)
    base = baseline_plan(accounts, team, solver=args.solver)
    print(best.summary())
    print()
    print(_gain(best, base))
    moved = int((best.assignments["tier"] != base.assignments["tier"]).sum())
    print(f"{moved:,} accounts sit in another tier than the ARR bands would put them.")
    return 0


def _plan(args: argparse.Namespace) -> int:
    team = _team(args.team)
    best = plan(
        args.accounts,
        team,
        solver=args.solver,
        time_limit=args.time_limit,
        require_specialist=True if args.require_specialist else None,
    )
    print(best.summary())
    if best.status == "infeasible":
        return 3
    if args.baseline:
        base = baseline_plan(
            args.accounts,
            team,
            solver=args.solver,
            require_specialist=True if args.require_specialist else None,
        )
        print()
        print(_gain(best, base))
    if args.output:
        out = best.to_csv(args.output)
        print(f"\nAssignments written to {out}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tierplan`` command.

    Returns
    -------
    argparse.ArgumentParser
        The parser.
    """
    parser = argparse.ArgumentParser(
        prog="tierplan",
        description="Plan customer success coverage (tiers and CSM books) by optimization.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    demo = sub.add_parser("demo", help="plan the bundled sample accounts and team")
    demo.add_argument("--solver", default=None, help="cbc or highs (default: exact network path)")
    demo.set_defaults(func=_demo)

    run = sub.add_parser("plan", help="plan an account export for a team")
    run.add_argument("accounts", help="accounts CSV or Parquet file")
    run.add_argument(
        "--team",
        required=True,
        help="roster CSV (csm_id, tier, vertical, ...) or head counts, "
        "e.g. tier1=12,tier2=4,tier1.finance=3",
    )
    run.add_argument("-o", "--output", help="write the assignments to this CSV")
    run.add_argument("--solver", default=None, help="cbc or highs (default: exact network path)")
    run.add_argument("--time-limit", type=float, default=None, help="seconds (MIP path)")
    run.add_argument(
        "--require-specialist",
        action="store_true",
        help="a vertical's accounts must go to its specialists where a tier has them",
    )
    run.add_argument(
        "--baseline", action="store_true", help="also report the gain over the ARR-band rule"
    )
    run.set_defaults(func=_plan)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line.

    Parameters
    ----------
    argv
        Arguments (default: ``sys.argv[1:]``).

    Returns
    -------
    int
        Exit code: 0 done, 1 bad input, 2 bad command line (argparse),
        3 no plan fits the team.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.func(args)
    except TierplanError as exc:
        print(f"tierplan: error: {exc}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
