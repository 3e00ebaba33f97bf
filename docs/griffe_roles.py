"""Turn the Sphinx markup of tierplan's docstrings into Markdown for the API reference.

The docstrings follow numpydoc and cross-reference with Sphinx roles
(``:func:`tierplan.plan```, ``:class:`~tierplan.errors.InputError```), which
the Markdown renderer would show verbatim. This griffe extension rewrites
each role as inline code, linked (``[`plan`][tierplan.plan]``) when the
target is an object the reference documents: a public name of
``tierplan.__all__`` (or one of its members), or a member of a module the
reference renders whole. Other targets (private helpers, other libraries)
stay plain code, so the strict build never meets a dangling link. A
one-line ``.. math::`` directive becomes a code block.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import griffe

_ROLE = re.compile(r":(?:func|class|meth|attr|data|mod|exc|obj):`(~?)\.?([\w.]+)`")
_MATH = re.compile(r"^( *)\.\. math:: (.+)$", flags=re.MULTILINE)

#: Modules the reference renders with all their public members.
_WHOLE_MODULES = ("tierplan.reports", "tierplan.explain")


def _public_names() -> frozenset[str]:
    """``tierplan.__all__``, read from the source without importing the package."""
    init = Path(__file__).resolve().parents[1] / "src" / "tierplan" / "__init__.py"
    for node in ast.parse(init.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return frozenset(ast.literal_eval(node.value))
    raise RuntimeError(f"no __all__ in {init}")


_PUBLIC = _public_names()


def _target(name: str, module: str) -> str | None:
    """The reference anchor a role's target points to, or ``None``."""
    parts = name.split(".")
    rest = parts[1:] if parts[0] == "tierplan" else parts
    if rest and rest[0] in _PUBLIC:
        return "tierplan." + ".".join(rest)
    if len(rest) >= 2 and rest[1] in _PUBLIC:  # tierplan.errors.InputError
        return "tierplan." + ".".join(rest[1:])
    full = name if parts[0] == "tierplan" else f"{module}.{name}"
    if full.rsplit(".", 1)[0] in _WHOLE_MODULES and not full.rsplit(".", 1)[1].startswith("_"):
        return full
    return None


class SphinxRoles(griffe.Extension):
    """Rewrite Sphinx roles in docstrings as (linked) inline code, math as code blocks."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Rewrite the Sphinx markup of one object's docstring."""
        docstring = obj.docstring
        if docstring is None:
            return
        docstring.value = _MATH.sub(r"\1```text\n\1\2\n\1```", docstring.value)
        if ":`" not in docstring.value:
            return
        module = obj.module.path

        def replace(match: re.Match[str]) -> str:
            short, name = match.group(1) == "~", match.group(2)
            shown = name.rsplit(".", 1)[-1] if short else name
            target = _target(name, module)
            return f"[`{shown}`][{target}]" if target else f"`{shown}`"

        docstring.value = _ROLE.sub(replace, docstring.value)
