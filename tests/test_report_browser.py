"""The report in a real browser: headless Chromium (Debian's ``chromium``, installed by .ci/run).

Chromium opens the file with every host name unresolvable, so a figure that
needed the network would not load. The page's inline script marks on load how
many images rendered (``data-images-loaded="ok/total"``); ``--dump-dom`` gives
the DOM after it ran. The screenshot is kept under results/ as a CI artifact.
"""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from hpcplan import report
from tests.test_report_build import make_results

ROOT = Path(__file__).resolve().parents[1]
SCREENSHOT = ROOT / "results" / "report-screenshot.png"
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--host-resolver-rules=MAP * ~NOTFOUND")

pytestmark = pytest.mark.browser


def chromium() -> str:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("Chromium is not installed: apt-get install chromium (or run .ci/run)")


def render(page: Path, tmp: Path, screenshot: Path | None = None,
           size: str = "1280,3000") -> str:
    """The DOM after load, as headless Chromium sees it (and a screenshot if asked)."""
    profile = tmp / f"profile-{page.stem}"
    cmd = [chromium(), *FLAGS, f"--user-data-dir={profile}", f"--window-size={size}",
           "--dump-dom"]
    if screenshot is not None:
        cmd.append(f"--screenshot={screenshot}")
    proc = subprocess.run([*cmd, page.as_uri()], capture_output=True, text=True, timeout=120)
    shutil.rmtree(profile, ignore_errors=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def text_of(dom: str) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom)))


def test_report_renders_with_every_figure(tmp_path):
    built = report.build(make_results(tmp_path / "results"), None, samples=2000, seed=3)
    written = report.write(built, tmp_path / "out" / "report.html")
    SCREENSHOT.parent.mkdir(exist_ok=True)
    SCREENSHOT.unlink(missing_ok=True)
    dom = render(written.html, tmp_path, SCREENSHOT)

    images = len(re.findall(r"<img\b", written.html.read_text()))
    assert images == 2 + 4  # compute, storage; roofline+history (Xeon), roofline+scaling (EPYC)
    loaded = re.search(r'<body[^>]*data-images-loaded="(\d+)/(\d+)"', dom)
    assert loaded, "the page's load script did not run"
    assert loaded.groups() == (str(images), str(images)), "some figure did not render"

    targets = re.search(r'<table id="targets">.*?<tbody>(.*?)</tbody>', dom, re.S)
    assert targets, "no target table"
    rows = re.findall(r"<tr>(.*?)</tr>", targets.group(1), re.S)
    assert len(rows) == len(built.projection.targets)
    text = text_of(dom)
    for t in built.projection.targets:
        row = text_of(next(r for r in rows if t.name in r))
        assert t.deadline in row and (t.p50_date or "not by end") in row
        assert f"{t.probability_by_deadline * 100:.0f}%" in row
        assert f"{t.power_at_p50_mw:.1f} MW" in row
    assert "1000 PF mixed precision (> 1000 PF) by 2030-12" in text
    assert "100 PB storage (> 100 PB) by 2030-12" in text
    assert "Test Xeon 8480+" in text and "Test EPYC 9654" in text

    png = SCREENSHOT.read_bytes()
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    from PIL import Image

    with Image.open(SCREENSHOT) as im:
        assert im.size == (1280, 3000)
        colours = im.convert("RGB").resize((64, 150)).getcolors(64 * 150)
        assert colours is not None and len(colours) > 20, "the screenshot is blank"


def test_no_results_report_renders(tmp_path):
    built = report.build(tmp_path / "nothing", None, samples=200)
    written = report.write(built, tmp_path / "empty.html")
    dom = render(written.html, tmp_path, size="1280,900")
    assert 'data-images-loaded="2/2"' in dom
    assert "No results yet" in text_of(dom) and 'id="targets"' in dom
