"""The report in a real browser: headless Chromium (Debian's ``chromium``, installed by .ci/run).

Chromium is driven over the DevTools protocol on a pipe (tests/cdp.py): the page
is opened at 1280 px, at 390 px (a phone) and with print emulation at the width
of an A4 page less its margins; what the test checks it reads from the live DOM
(``document.documentElement.scrollWidth`` and the figures' rendered size). Every
host name is unresolvable, so anything that needed the network would fail.
Screenshots (and the printed PDF) are kept under results/ as CI artifacts.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest

from hpcplan import report
from tests.cdp import Browser, chromium
from tests.test_report_build import FIXTURES, make_results

ROOT = Path(__file__).resolve().parents[1]
SHOTS = ROOT / "results"
#: an A4 page (210 mm) less the report's 12 mm print margins, in CSS px (96 per inch)
PRINT_WIDTH = round((210 - 2 * 12) / 25.4 * 96)

pytestmark = pytest.mark.browser

FIGURES_JS = """(() => Array.from(document.querySelectorAll('figure')).map(f => {
  const svg = f.querySelector('svg.chart'), r = svg ? svg.getBoundingClientRect() : null;
  const title = svg && svg.querySelector(':scope > title');
  const desc = svg && svg.querySelector(':scope > desc');
  return {id: f.id, svg: !!svg, img: f.querySelectorAll('img').length,
          title: title ? title.textContent : '', desc: desc ? desc.textContent : '',
          width: r ? r.width : 0, height: r ? r.height : 0};
}))()"""
#: the smallest rendered size (px) of the tick labels and legends inside the figures
FONT_JS = """(() => { const h = Array.from(document.querySelectorAll('svg.chart text'))
  .map(t => t.getBoundingClientRect().height).filter(x => x > 0).sort((a, b) => a - b);
  return h.length ? h[Math.floor(h.length * 0.1)] : 0; })()"""
OVERFLOW_JS = """(() => Array.from(document.querySelectorAll('.wide'))
  .filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.firstElementChild.id))()"""
WIDTH_JS = "[document.documentElement.scrollWidth, window.innerWidth]"


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    if chromium() is None:
        pytest.fail("Chromium is not installed: apt-get install chromium (or run .ci/run)")
    with Browser(tmp_path_factory.mktemp("chromium") / "profile") as b:
        yield b


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The report on the test records (two machines, nothing calibrated)."""
    tmp = tmp_path_factory.mktemp("browser")
    built = report.build(make_results(tmp / "results"), None, samples=2000, seed=3)
    return built, report.write(built, tmp / "out" / "report.html")


def test_desktop_figures_tables_and_links(browser, page):
    built, written = page
    browser.open(written.html.as_uri(), 1280, 900)
    shot = SHOTS / "report-1280.png"
    SHOTS.mkdir(exist_ok=True)
    browser.screenshot(shot)
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    scroll, inner = browser.js(WIDTH_JS)
    assert inner == 1280 and scroll <= inner

    figures = browser.js(FIGURES_JS)
    expected = [f.id for f in built.figures] + [f.id for g in built.groups
                                                for f in built.group_figures[g.key]]
    assert [f["id"] for f in figures] == expected
    for f in figures:  # every figure an inline <svg> with a title and its finding, drawn
        assert f["svg"] and not f["img"], f["id"]
        assert f["title"] and len(f["desc"]) > 20, f["id"]
        assert f["width"] > 600 and f["height"] > 150, f
    assert browser.js("document.images.length") == 0

    cards = browser.js("Array.from(document.querySelectorAll('.card')).map(c => "
                       "[c.dataset.target, c.querySelector('.verdict').textContent])")
    assert [c[0] for c in cards] == [t.key for t in built.projection.targets]
    for (_key, verdict), t in zip(cards, built.projection.targets, strict=True):
        assert t.deadline in verdict and f"{t.probability_by_deadline * 100:.0f}%" in verdict
    rows = browser.js("Array.from(document.querySelectorAll('#targets-table tbody tr'))"
                      ".map(r => r.textContent)")
    assert len(rows) == sum(len(t.readings) for t in built.projection.targets)
    text = browser.js("document.body.innerText")
    assert "1000 PF mixed precision (> 1000 PF)" in text and "Test EPYC 9654" in text

    # every CSV link resolves to a file beside the page, and every CSV is linked
    hrefs = browser.js("Array.from(document.querySelectorAll('a[href$=\".csv\"]'))"
                       ".map(a => a.href)")
    files = {Path(unquote(urlparse(h).path)) for h in hrefs}
    assert files and all(f.is_file() and f.stat().st_size > 0 for f in files)
    assert files == set(written.csvs)


def test_phone_width_has_no_page_scroll(browser, page):
    _built, written = page
    browser.open(written.html.as_uri(), 390, 844, mobile=True)
    browser.screenshot(SHOTS / "report-390.png")
    scroll, inner = browser.js(WIDTH_JS)
    assert inner == 390 and scroll <= 390, f"the page scrolls sideways: {scroll} px"
    body = browser.js("[document.body.dataset.scrollWidth, document.body.dataset.clientWidth]")
    assert int(body[0]) <= int(body[1]) == 390  # the page's own measurement, written on load
    assert browser.js("(() => { const n = document.querySelector('nav ul');"
                      " return n.scrollWidth <= n.clientWidth; })()"), "navigation overflows"
    # figures scroll inside their box, so their text stays readable (not shrunk to 3 px)
    assert browser.js(FONT_JS) >= 8
    assert browser.js("document.querySelector('.card').getBoundingClientRect().right") <= 390


def test_print_keeps_every_table_whole(browser, page):
    _built, written = page
    browser.open(written.html.as_uri(), PRINT_WIDTH, 1000, media="print")
    assert browser.js("matchMedia('print').matches")
    browser.screenshot(SHOTS / "report-print.png")
    browser.pdf(SHOTS / "report-print.pdf")
    scroll, inner = browser.js(WIDTH_JS)
    assert scroll <= inner == PRINT_WIDTH
    assert browser.js(OVERFLOW_JS) == [], "a table is cut at the page width in print"
    assert browser.js("getComputedStyle(document.querySelector('nav')).display") == "none"
    widest = browser.js("Math.max(...Array.from(document.querySelectorAll('svg.chart'))"
                        ".map(s => s.getBoundingClientRect().right))")
    assert widest <= PRINT_WIDTH


def test_calibration_box_exactly_when_nothing_is_calibrated(browser, page, tmp_path):
    _built, written = page
    box_js = "(() => { const b = document.getElementById('calibrate');" \
             " return b ? b.innerText : null; })()"
    browser.open(written.html.as_uri(), 1280, 900)
    box = browser.js(box_js)
    assert box and "[site]" in box and 'node_type = "' in box and "laptop" in box
    # the box sits above the answer
    assert browser.js("document.getElementById('calibrate').getBoundingClientRect().top < "
                      "document.getElementById('answer').getBoundingClientRect().top")

    calibrated = report.build(FIXTURES / "results", str(FIXTURES / "small.toml"), samples=0)
    assert calibrated.calibrated
    cal = report.write(calibrated, tmp_path / "cal" / "report.html")
    browser.open(cal.html.as_uri(), 1280, 900)
    assert browser.js(box_js) is None
    assert "calibrated from the measurements" in browser.js("document.body.innerText")

    empty = report.write(report.build(tmp_path / "nothing", None, samples=200),
                         tmp_path / "empty" / "report.html")
    browser.open(empty.html.as_uri(), 390, 844, mobile=True)
    assert "Nothing is measured yet" in browser.js(box_js)
    assert browser.js(WIDTH_JS)[0] <= 390
    assert re.search(r"No results yet", browser.js("document.body.innerText"))
