"""The explorer offline and on the screen, in a real browser (Debian chromium via Playwright)
against ``pairscope serve`` on the small demo catalog.

One long session at 1280 x 800 visits every tab and the main interactions (Compute through the
URL, the Learn window slider, QA's product comparison, "Pair shown" switched on every tab, the
sidebar's window) with every request outside loopback aborted and recorded: none may be tried,
the browser must typeset the formulas (MathML) and Panel's alert styling must apply (from the server).
No tab is wider than the window (Explore also with a clicked pixel's plots) and Compute is on
screen without scrolling; at 1920 x 1080 the maps grow. The QA tab follows "Pair shown" (at once
when shown, else when next shown) and says "Outdated: ... Press Compare." when its inputs changed
since it was drawn.
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

import pytest

from pairscope.ui.app import make_backend
from pairscope.ui.backend import day
from tests.plugins.browser import assert_typeset

pytestmark = [pytest.mark.browser, pytest.mark.timeout(420)]

# The page's width as the browser lays it out, and the window's.
_JS_WIDTH = "() => [document.scrollingElement.scrollWidth, window.innerWidth, window.innerHeight]"
# Computed background of an element (the alert's host element, inside Panel's shadow roots).
_JS_BACKGROUND = "(el) => getComputedStyle(el).backgroundColor"
UNSTYLED = ("rgba(0, 0, 0, 0)", "transparent", "")
# The ranges of the figure whose title starts with the argument: [x start, x end, y start, y end].
_JS_RANGES = """(prefix) => { for (const m of Bokeh.documents[0].all_models)
    if (m.constructor.__name__ === "Figure" && m.title && m.title.text.startsWith(prefix))
      return [m.x_range.start, m.x_range.end, m.y_range.start, m.y_range.end];
  return null; }"""


@pytest.fixture(scope="module")
def demo_pairs(demo_catalog: pathlib.Path) -> tuple[str, list[str]]:
    """The burst and its dates (YYYYMMDD); the demo publishes products of (d0, d1) and (d1, d2),
    not of (d0, d3)."""
    from pairscope.io.catalog import list_products

    backend = make_backend()
    burst = backend.open_catalog(str(demo_catalog)).bursts[0].burst_id
    dates = [day(d) for d in backend.burst_dates(str(demo_catalog), burst, "VV").dates]
    products = list_products(str(demo_catalog), burst)
    published = {(day(p.reference), day(p.secondary)) for p in products}
    assert {(dates[0], dates[1]), (dates[1], dates[2])} <= published
    assert (dates[0], dates[3]) not in published
    return burst, dates


def open_tab(s: Any, name: str) -> None:
    s.page.locator(".ps-tabs .bk-tab", has_text=name).first.click()


def wait_text(s: Any, css: str, needle: str, timeout: float = 90.0) -> str:
    loc = s.page.locator(f"{css} div").first
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        if loc.count() and loc.is_visible():
            text = loc.inner_text()
            if needle in text:
                return str(text)
        s.page.wait_for_timeout(200)
    raise AssertionError(f"{css} never showed {needle!r}; last {text!r}; status {s.status()!r}")


def wait_hidden(s: Any, css: str, timeout: float = 60.0) -> None:
    s.page.locator(css).first.wait_for(state="hidden", timeout=timeout * 1000)


def assert_fits(s: Any, where: str) -> int:
    """The page is no wider than the window, and Compute lies inside it without scrolling."""
    s.page.evaluate("window.scrollTo(0, 0)")  # (clicks scroll elements into view)
    s.page.wait_for_timeout(300)  # a tab switch lays out in the next frames
    width, inner, height = s.page.evaluate(_JS_WIDTH)
    assert width <= inner, f"{where}: the page is {width} px wide in a {inner} px window"
    box = s.page.locator(".ps-compute button").bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= height, (where, box)
    return int(width)


def map_widths(s: Any, css: str) -> list[float]:
    boxes = [s.page.locator(css).nth(i).bounding_box() for i in range(s.page.locator(css).count())]
    return [b["width"] for b in boxes if b]


def test_offline_every_tab_fits_and_qa_follows_the_pair(open_session: Any, demo_pairs: Any) -> None:
    burst, d = demo_pairs
    first, second, unpublished = f"{d[0]}_{d[1]}", f"{d[1]}_{d[2]}", f"{d[0]}_{d[3]}"
    s = open_session(viewport=(1280, 800))
    s.open(f"burst={burst}&pairs={first},{second},{unpublished}",
           wait_for_title=f"coherence {d[0]} / {d[1]}")  # fmt: skip
    s.wait_for_status("3 pair")
    # the server's paint.js ran before the document was drawn (from loopback, like every file):
    # BokehJS's visuals take their models' values instead of reading CSS on every paint
    assert s.page.evaluate("() => window.pairscopeVisualsFromModels") is True
    assert s.page.evaluate(
        "() => Bokeh.require('core/visuals/visual').VisualProperties.prototype._get_css_value()"
    ) == ""
    assert_fits(s, "Explore")
    # a clicked pixel adds three plots beside the network and the matrix: their titles (one
    # line each, Bokeh sizes a figure to its title) made the page 1373-1446 px wide
    s.wait_for_title("Pair network")
    x0, x1, y0, y1 = s.page.evaluate(_JS_RANGES, f"coherence {d[0]} / {d[1]}")
    s.page.mouse.click(*s.screen_point(f"coherence {d[0]} / {d[1]}", (x0 + x1) / 2, (y0 + y1) / 2))
    s.wait_for_title("Coherence matrix of\npixel (")
    assert_fits(s, "Explore with a clicked pixel")

    # Learn: the browser typesets the formulas (MathML); the alert carries Panel's alert style
    open_tab(s, "Learn")
    assert_typeset(s, ".ps-learn-formulas")
    assert s.page.locator(".ps-learn math").count() >= 5
    wait_text(s, ".ps-learn-message", "mean coherence")
    alert = s.page.locator(".ps-learn-message").first
    assert alert.evaluate(_JS_BACKGROUND) not in UNSTYLED, "the Learn alert is not styled"
    s.wait_for_title("True coherence (simulation)")
    assert_fits(s, "Learn")
    learn_maps = map_widths(s, ".ps-learn-map")

    # QA: the product of the pair shown, beside ours
    open_tab(s, "QA")
    wait_text(s, ".ps-qa-stats", "RMSE")
    s.wait_for_title(f"Product VV {d[0]} / {d[1]}")
    s.wait_for_title("Difference (ours - product)")
    assert s.page.locator(".ps-qa-message").first.evaluate(_JS_BACKGROUND) not in UNSTYLED
    assert_fits(s, "QA")
    qa_maps = map_widths(s, ".ps-qa-map")
    assert len(qa_maps) == 3 and min(qa_maps) > 300, qa_maps

    # 1920 x 1080: still fits, and the maps grow into the width
    s.page.set_viewport_size({"width": 1920, "height": 1080})
    assert_fits(s, "QA at 1920")
    wide_qa = map_widths(s, ".ps-qa-map")
    assert min(wide_qa) > max(qa_maps[:2]) + 20, (qa_maps, wide_qa)
    open_tab(s, "Learn")
    assert_fits(s, "Learn at 1920")
    wide_learn = map_widths(s, ".ps-learn-map")
    assert min(wide_learn) > max(learn_maps[:2]) + 20, (learn_maps, wide_learn)
    open_tab(s, "Explore")
    assert_fits(s, "Explore at 1920")

    # "Pair shown" moves the QA tab: when hidden, compared when it is shown again...
    s.select("ps-pair", second)
    open_tab(s, "QA")
    s.wait_for_title(f"Product VV {d[1]} / {d[2]}")
    wait_text(s, ".ps-qa-message", f"{d[1]}_{d[2]}")
    # ... when shown, at once
    s.select("ps-pair", first)
    s.wait_for_title(f"Product VV {d[0]} / {d[1]}")
    wait_text(s, ".ps-qa-message", f"{d[0]}_{d[1]}")
    assert not s.page.locator(".ps-qa-outdated").first.is_visible()
    # a pair with no published product: the maps stay, and say they are of another pair
    s.select("ps-pair", unpublished)
    wait_text(s, ".ps-qa-outdated", f"Pair shown is {unpublished}, which has no published product")
    s.select("ps-pair", first)
    wait_hidden(s, ".ps-qa-outdated")
    # the sidebar's window changes what "ours" is: outdated until Compare
    s.type_into("ps-win-az", "4")
    text = wait_text(s, ".ps-qa-outdated", "indow changed from 5x21 to 4x21")
    assert text.rstrip().endswith("Press Compare."), text
    s.page.locator(".ps-qa-compare button").click()
    s.wait_for_title("Ours 4x21, geocoded")
    wait_hidden(s, ".ps-qa-outdated")

    # no request left loopback at any step (the plugin records and aborts them)
    assert not s.blocked, f"requests outside loopback: {sorted(set(s.blocked))}"
    s.assert_clean()
