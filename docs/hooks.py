"""MkDocs hook: every public name of tierplan gets an API reference entry.

The topical reference pages list names by hand (``::: tierplan.plan``). A
public name that is on none of them yet is appended to the reference index
under "More", so a new function is documented, and its docstring checked by
the strict build, from the day it joins ``tierplan.__all__``.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

_DOCS = Path(__file__).resolve().parent
_INIT = _DOCS.parent / "src" / "tierplan" / "__init__.py"
_ENTRY = re.compile(r"^::: tierplan\.(\w+)\s*$", flags=re.MULTILINE)


def public_names() -> list[str]:
    """``tierplan.__all__`` without dunder names, read from the source."""
    for node in ast.parse(_INIT.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "__all__" for t in node.targets
        ):
            return [n for n in ast.literal_eval(node.value) if not n.startswith("_")]
    raise RuntimeError(f"no __all__ in {_INIT}")


def unplaced_names() -> list[str]:
    """Public names that no topical reference page documents."""
    placed: set[str] = set()
    for page in (_DOCS / "reference").glob("*.md"):
        if page.name != "index.md":
            placed.update(_ENTRY.findall(page.read_text(encoding="utf-8")))
    return [name for name in public_names() if name not in placed]


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    """Append the unplaced public names to the reference index."""
    if page.file.src_uri != "reference/index.md":
        return markdown
    missing = unplaced_names()
    if not missing:
        return markdown
    entries = "\n\n".join(f"::: tierplan.{name}" for name in missing)
    return f"{markdown}\n\n## More\n\n{entries}\n"
