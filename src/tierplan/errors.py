"""The exception family of tierplan.

Every error raised on bad input derives from :class:`TierplanError`, so a
caller can catch the whole family with one ``except`` clause.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

__all__ = [
    "ConfigError",
    "InputError",
    "SolverError",
    "TierplanError",
    "format_ids",
]


class TierplanError(Exception):
    """Base class of every error tierplan raises on purpose."""


class InputError(TierplanError, ValueError):
    """An account or team frame breaks a rule.

    Parameters
    ----------
    message
        The rule that is broken, in plain words.
    column
        The column (or field) at fault.
    ids
        The offending row ids (account or CSM ids).
    """

    def __init__(self, message: str, *, column: str | None = None, ids: Sequence[object] = ()):
        self.column = column
        self.ids = list(ids)
        parts = []
        if column is not None:
            parts.append(f"column '{column}'")
        parts.append(message)
        text = ": ".join(parts)
        if self.ids:
            text += f" ({format_ids(self.ids)})"
        super().__init__(text)


class ConfigError(TierplanError, ValueError):
    """A coverage model, team or option is inconsistent."""


class SolverError(TierplanError, RuntimeError):
    """The solver itself failed (not an infeasible or time-limited problem)."""


def format_ids(ids: Iterable[object], limit: int = 5) -> str:
    """Format offending ids as ``"3 ids: a, b, c"`` with the first few shown.

    Parameters
    ----------
    ids
        The ids to list.
    limit
        How many to spell out before summarizing the rest.

    Returns
    -------
    str
        A short human-readable listing.
    """
    items = [str(i) for i in ids]
    shown = ", ".join(items[:limit])
    more = f", … and {len(items) - limit} more" if len(items) > limit else ""
    noun = "id" if len(items) == 1 else "ids"
    return f"{len(items)} {noun}: {shown}{more}"
