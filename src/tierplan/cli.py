"""Command line: ``tierplan demo``, ``tierplan plan`` and ``tierplan size``.

``tierplan plan ACCOUNTS --team TEAM -o OUT`` plans coverage for a team;
``tierplan size ACCOUNTS --target-expansion 2.5M --cost tier1=180k ... -o frontier.csv``
finds the cheapest team that reaches a target.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tierplan.errors import ConfigError, TierplanError
from tierplan.planner import baseline_plan, plan
from tierplan.result import Plan, _money
from tierplan.sizing import frontier, headcount_grid, size_team
from tierplan.synthetic import sample_accounts, sample_team
from tierplan.team import Team

__all__ = ["main", "parse_amount", "parse_headcount", "parse_pool_values"]

_AMOUNT = re.compile(r"^(?P<number>[0-9]*\.?[0-9]+)(?P<unit>[kmb]?)$", re.IGNORECASE)
_UNITS = {"": 1.0, "k": 1e3, "m": 1e6, "b": 1e9}


def parse_amount(text: str, what: str = "amount") -> float:
    """Read a money amount such as ``"2.5M"``, ``"180k"``, ``"$250,000"`` or ``"1.2B"``.

    Parameters
    ----------
    text
        The amount; ``$``, thousands separators and spaces are ignored,
        suffixes ``k``, ``M`` and ``B`` (any case) scale it.
    what
        What the amount is, for the error message.

    Returns
    -------
    float
        The amount.

    Raises
    ------
    ConfigError
        If the text is not an amount.

    Examples
    --------
    >>> parse_amount("2.5M"), parse_amount("180k"), parse_amount("$1,250,000")
    (2500000.0, 180000.0, 1250000.0)
    """
    cleaned = re.sub(r"[\s$,_]", "", str(text))
    match = _AMOUNT.match(cleaned)
    if not match:
        raise ConfigError(f"{what}: cannot read '{text}'; write e.g. 2.5M, 180k or 250000")
    return float(match["number"]) * _UNITS[match["unit"].lower()]


def parse_pool_values(spec: str | Sequence[str], what: str) -> dict[str, str]:
    """Split ``"tier1=4,tier2=2"`` (or several such strings) into pool → text.

    Parameters
    ----------
    spec
        One string or several (a repeated option), each a comma-separated
        list of ``pool=value``; a pool is ``tier`` or ``tier.vertical``.
    what
        The option, for error messages.

    Returns
    -------
    dict
        Pool key to the value's text, in order.

    Examples
    --------
    >>> parse_pool_values(["tier1=180k", "tier2=150k,tier1.finance=185k"], "--cost")
    {'tier1': '180k', 'tier2': '150k', 'tier1.finance': '185k'}
    """
    items = [spec] if isinstance(spec, str) else list(spec)
    out: dict[str, str] = {}
    for part in (p.strip() for chunk in items for p in chunk.split(",")):
        if not part:
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise ConfigError(
                f"{what}: cannot read '{part}'; write pool=value, e.g. tier1=4 or tier1.finance=2"
            )
        out[key.strip()] = value.strip()
    return out


def _counts(spec: str, what: str) -> dict[str, int]:
    out = {}
    for key, value in parse_pool_values(spec, what).items():
        if not value.isdigit():
            raise ConfigError(f"{what}: '{key}={value}' is not a whole number of CSMs")
        out[key] = int(value)
    return out


def _nrr(text: str) -> float:
    cleaned = text.strip()
    try:
        if cleaned.endswith("%"):
            return float(cleaned[:-1]) / 100.0
        value = float(cleaned)
    except ValueError:
        raise ConfigError(f"--target-nrr: cannot read '{text}'; write 105% or 1.05") from None
    if value > 3:
        raise ConfigError(f"--target-nrr: {text} looks like a percentage; write {text}% or a ratio")
    return value


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
        policy=args.policy,
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


def _size(args: argparse.Namespace) -> int:
    if args.target_expansion is None and args.target_nrr is None:
        raise ConfigError("size: give --target-expansion, --target-nrr or both")
    costs = {
        key: parse_amount(value, f"--cost {key}")
        for key, value in parse_pool_values(args.cost, "--cost").items()
    }
    max_headcount: int | dict[str, int] | None = None
    if args.max_headcount:
        text = args.max_headcount.strip()
        max_headcount = int(text) if text.isdigit() else _counts(text, "--max-headcount")
    options: dict[str, Any] = {"require_specialist": True} if args.require_specialist else {}
    sizing = size_team(
        args.accounts,
        target_expansion=(
            None
            if args.target_expansion is None
            else parse_amount(args.target_expansion, "--target-expansion")
        ),
        target_nrr=None if args.target_nrr is None else _nrr(args.target_nrr),
        costs=costs,
        current=_counts(args.current, "--current") if args.current else None,
        confidence=args.confidence,
        max_headcount=max_headcount,
        samples=args.samples,
        seed=args.seed,
        solver=args.solver,
        **options,
    )
    print(sizing.summary())
    if args.output:
        ranges = {k: range(max(0, n - 1), n + 2) for k, n in sizing.headcount.items()}
        table = frontier(
            sizing.plan.accounts_data,
            headcount_grid(ranges),
            sizing.plan.model,
            costs=costs,
            progress=False,
            solver=args.solver,
            **options,
        )
        table.to_csv(args.output, index=False)
        print(f"\nFrontier of {len(table)} headcounts around the answer written to {args.output}")
    return 0 if sizing.feasible else 3


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
    run.add_argument(
        "--policy",
        choices=["free", "bands"],
        default="free",
        help="bands: tiers follow cut points on ARR and whitespace exactly, and the summary "
        "reports the price of explainability (default: free)",
    )
    run.set_defaults(func=_plan)

    size = sub.add_parser(
        "size",
        help="the cheapest headcount per pool that reaches an expansion or NRR target",
        description="Find the cheapest whole number of CSMs per pool (the pools you give a "
        "cost for) whose plan reaches the target; print the hiring plan and, with -o, write "
        "a frontier of headcounts around the answer.",
    )
    size.add_argument("accounts", help="accounts CSV or Parquet file")
    size.add_argument("--target-expansion", help="expansion ARR per year, e.g. 2.5M")
    size.add_argument("--target-nrr", help="NRR, e.g. 105%% or 1.05")
    size.add_argument(
        "--cost",
        action="append",
        required=True,
        help="fully loaded yearly cost of one CSM per pool, e.g. tier1=180k (repeat, or "
        "comma-separate; tier.vertical for specialists, e.g. tier1.finance=185k)",
    )
    size.add_argument("--current", help="current headcount, e.g. tier1=4,tier2=2")
    size.add_argument(
        "--confidence", type=float, help="probability with which to meet the target, e.g. 0.8"
    )
    size.add_argument("--samples", type=int, default=500, help="simulated years (--confidence)")
    size.add_argument("--seed", type=int, default=0, help="seed of the simulation")
    size.add_argument("--max-headcount", help="most CSMs per pool: N for all, or tier1=30,tier2=10")
    size.add_argument(
        "--require-specialist",
        action="store_true",
        help="a vertical's accounts must go to its specialists where a tier has them",
    )
    size.add_argument("--solver", default=None, help="cbc or highs (default: exact network path)")
    size.add_argument("-o", "--output", help="write a frontier around the answer to this CSV")
    size.set_defaults(func=_size)
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
        3 no plan fits the team (``plan``) or the target is out of reach (``size``).
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
