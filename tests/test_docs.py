"""The documentation site builds strictly and covers the public API.

``mkdocs build --strict`` turns every warning into a failure: a broken link
between pages, a docstring whose parameters do not match the signature, a
page missing from the navigation.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import tierplan as tp

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("site")
    # The theme prints a notice about a future MkDocs release; it is not a build problem.
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "-f", "mkdocs.yml", "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, f"mkdocs build --strict failed:\n{done.stderr[-5000:]}"
    return out


def test_every_public_name_is_in_the_reference(site):
    # Names no topical page lists yet are added to the index by docs/hooks.py.
    pages = "\n".join(p.read_text(encoding="utf-8") for p in (site / "reference").glob("*.html"))
    public = [name for name in tp.__all__ if not name.startswith("_")]
    assert [name for name in public if f'id="tierplan.{name}"' not in pages] == []


def test_site_builds_strictly_with_every_page(site):
    for page in (
        "index.html",
        "concepts.html",
        "performance.html",
        "how-to/index.html",
        "reference/planning.html",
    ):
        assert (site / page).is_file(), page
    guides = sorted(p.stem for p in (DOCS / "how-to").glob("*.md") if p.stem != "index")
    assert len(guides) >= 6
    for guide in guides:
        assert (site / "how-to" / f"{guide}.html").is_file(), guide


def test_reference_renders_docstrings(site):
    page = (site / "reference" / "planning.html").read_text(encoding="utf-8")
    assert 'id="tierplan.plan"' in page
    assert 'id="tierplan.Plan.to_html"' in page
    assert "move_penalty" in page
    # Sphinx roles in the docstrings become code or links, never raw markup.
    for html in (site / "reference").rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert ":func:`" not in text and ".. math::" not in text, html


def test_pages_need_no_network(site):
    # The site is read offline too: no web fonts or scripts from a CDN.
    for html in site.rglob("*.html"):
        text = html.read_text(encoding="utf-8")
        assert not re.search(r"<(?:link|script)[^>]+(?:href|src)=\"https?://", text), html


GUIDES = sorted(p.name for p in (DOCS / "how-to").glob("*.md"))


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The files the guides read: a small account export, a roster, last quarter's plan."""
    monkeypatch.chdir(tmp_path)
    tp.synthetic_accounts(n=300, seed=7).to_csv("accounts.csv", index=False)
    roster = (
        "csm_id,tier,vertical\nana,tier1,finance\nbo,tier1,\ncy,tier1,\ndee,tier2,\neli,tier2,\n"
    )
    Path("roster.csv").write_text(roster, encoding="utf-8")
    tp.plan("accounts.csv", tp.Team.from_roster("roster.csv")).to_csv("assignments.csv")
    return tmp_path


@pytest.mark.parametrize("page", ["../index.md", *GUIDES], ids=["home", *GUIDES])
def test_guide_code_runs(page: str, workdir: Path) -> None:
    # Every Python block of a page runs, in order, in one namespace: the
    # guides must stay true to the API.
    import matplotlib.pyplot as plt

    text = (DOCS / "how-to" / page).read_text(encoding="utf-8")
    namespace: dict[str, object] = {}
    for k, code in enumerate(re.findall(r"```python\n(.*?)```", text, flags=re.DOTALL)):
        exec(compile(code, f"{page} block {k + 1}", "exec"), namespace)
    plt.close("all")
