"""The HTML report in a real headless browser: it renders, with its tier table and charts.

The report is a file a finance team opens in a browser, so the test opens it
in headless Chromium rather than parsing the markup: a copy of the report
gets a small probe script that, once the page has loaded, writes into the
DOM what the browser made of it (each chart's decoded size and place, the
rows of the tier table, the page height). The DOM is dumped after the
scripts ran, and a screenshot shows that the chart areas were painted.

Without Chromium the test is skipped, unless ``TIERPLAN_REQUIRE_BROWSER=1``
(set by CI, which installs Chromium), when it fails. ``TIERPLAN_BROWSER``
names the browser binary when it is not on ``PATH`` as ``chromium``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pytest

import tierplan as tp

_CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")

#: Width of the browser window, in CSS pixels (device scale factor 1).
_WIDTH = 1280

#: Runs in the report's copy once everything (including the data-URI
#: images) has loaded, and leaves its findings in a <pre id="probe">.
_PROBE = """
<script>
window.addEventListener("load", function () {
  var images = Array.prototype.map.call(document.images, function (img) {
    var box = img.getBoundingClientRect();
    return {alt: img.alt, complete: img.complete, width: img.naturalWidth,
            height: img.naturalHeight, left: box.left + window.scrollX,
            top: box.top + window.scrollY, shown_width: box.width, shown_height: box.height};
  });
  var tiers = document.querySelector("table.tiers");
  var rows = tiers ? Array.prototype.map.call(tiers.querySelectorAll("tbody tr"), function (tr) {
    return Array.prototype.map.call(tr.cells, function (td) { return td.textContent; });
  }) : null;
  var headers = tiers ? Array.prototype.map.call(tiers.querySelectorAll("thead th"),
    function (th) { return th.textContent; }) : null;
  var probe = document.createElement("pre");
  probe.id = "probe";
  probe.style.display = "none";
  probe.textContent = JSON.stringify({
    title: document.title, images: images, tier_headers: headers, tier_rows: rows,
    page_height: document.documentElement.scrollHeight,
    headings: Array.prototype.map.call(document.querySelectorAll("h2"),
      function (h) { return h.textContent; })
  });
  document.body.appendChild(probe);
});
</script>
"""


def _browser() -> str | None:
    named = os.environ.get("TIERPLAN_BROWSER")
    if named:
        return shutil.which(named) or named
    for name in _CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


@pytest.fixture(scope="module")
def browser() -> str:
    found = _browser()
    if found is None:
        message = "headless Chromium not found (install the 'chromium' package)"
        if os.environ.get("TIERPLAN_REQUIRE_BROWSER") == "1":
            pytest.fail(message + "; TIERPLAN_REQUIRE_BROWSER=1 requires it")
        pytest.skip(message)
    return found


def _run(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # Flags for a machine without network: no first-run, sync, component or
    # background traffic, a fresh profile, and no sandbox (CI runs as root).
    command = [
        browser,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--hide-scrollbars",
        "--force-device-scale-factor=1",
        f"--user-data-dir={profile}",
        *args,
    ]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, f"{command} failed:\n{done.stderr[-3000:]}"
    return done


class _ProbeReader(HTMLParser):
    """Pulls the text of <pre id="probe"> out of the dumped DOM."""

    def __init__(self) -> None:
        super().__init__()
        self.inside = False
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.inside = tag == "pre" and ("id", "probe") in attrs

    def handle_endtag(self, tag: str) -> None:
        self.inside = False

    def handle_data(self, data: str) -> None:
        if self.inside:
            self.text += data


@pytest.fixture(scope="module")
def rendered(browser, tmp_path_factory):
    """The report of a small plan (with a baseline), as Chromium rendered it."""
    work = tmp_path_factory.mktemp("browser")
    accounts = tp.synthetic_accounts(n=300, seed=4)
    team = tp.Team.from_headcount({"tier1": 2, "tier2": 1})
    plan = tp.plan(accounts, team)
    base = tp.baseline_plan(accounts, team)
    report = plan.to_html(work / "plan.html", baseline=base)
    page = report.read_text(encoding="utf-8")
    assert page.count("</body>") == 1
    probed = work / "probed.html"
    probed.write_text(page.replace("</body>", _PROBE + "</body>"), encoding="utf-8")
    url = probed.resolve().as_uri()
    window = f"--window-size={_WIDTH},1000"
    done = _run(
        browser, work / "profile-dom", window, "--virtual-time-budget=10000", "--dump-dom", url
    )
    reader = _ProbeReader()
    reader.feed(done.stdout)
    assert reader.text, "the probe script did not run; DOM:\n" + done.stdout[:2000]
    probe = json.loads(reader.text)
    # A window as tall as the page, so the screenshot holds every chart.
    height = int(probe["page_height"])
    shot = work / "page.png"
    _run(
        browser,
        work / "profile-shot",
        f"--window-size={_WIDTH},{height}",
        "--virtual-time-budget=10000",
        f"--screenshot={shot}",
        url,
    )
    return {"plan": plan, "baseline": base, "probe": probe, "screenshot": shot}


def test_page_renders_with_its_sections(rendered):
    probe = rendered["probe"]
    assert probe["title"] == "Coverage plan: optimized"
    for section in ("Tiers", "Books", "Cut points", "Charts", "Against ARR-band baseline"):
        assert section in probe["headings"]
    assert probe["page_height"] > 1000


def test_tier_table_has_one_row_per_tier(rendered):
    probe, plan = rendered["probe"], rendered["plan"]
    headers, rows = probe["tier_headers"], probe["tier_rows"]
    assert rows is not None, "no table.tiers in the rendered page"
    assert headers[:3] == ["tier", "coverage", "accounts"]
    assert [r[0] for r in rows] == plan.tiers["tier"].tolist()
    shown = [int(r[2].replace(",", "")) for r in rows]
    assert shown == plan.tiers["accounts"].tolist()
    assert sum(shown) == 300


def test_every_chart_decoded(rendered):
    images = rendered["probe"]["images"]
    assert [img["alt"] for img in images] == [
        "quadrant chart",
        "books chart",
        "comparison chart",
    ]
    for img in images:
        # naturalWidth is 0 when the browser could not decode the PNG.
        assert img["complete"], img
        assert img["width"] > 200 and img["height"] > 150, img
        assert img["shown_width"] > 200 and img["shown_height"] > 100, img


def test_charts_are_painted_on_screen(rendered):
    import matplotlib.image as mpimg

    pixels = mpimg.imread(rendered["screenshot"])[..., :3]
    assert pixels.shape[1] == _WIDTH
    for img in rendered["probe"]["images"]:
        top, left = round(img["top"]), round(img["left"])
        bottom = top + round(img["shown_height"])
        right = left + round(img["shown_width"])
        assert bottom <= pixels.shape[0], f"{img['alt']} lies below the screenshot"
        area = pixels[top + 2 : bottom - 2, left + 2 : right - 2]
        # A painted chart has ink (dark axes and labels) and color (the
        # series); an unpainted box is one flat color.
        dark = float((area.max(axis=2) < 0.35).mean())
        colored = float((np.ptp(area, axis=2) > 0.25).mean())
        assert dark > 0.002, f"{img['alt']}: no dark pixels (axes, labels)"
        assert colored > 0.002, f"{img['alt']}: no colored pixels (series)"
        assert float(area.std()) > 0.05, f"{img['alt']}: flat area"
