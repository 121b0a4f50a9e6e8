"""The QA and Learn tabs in a real browser (Debian chromium via Playwright) against ``pairscope
serve`` on the small demo catalog: no fakes. Each scenario fails on any console error or any
request outside loopback (every resource comes from the server, not a CDN), and leaves a screenshot in
``test-artifacts/`` when it fails.
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

import numpy as np
import pytest

from pairscope.coherence import expected_sample_coherence
from pairscope.ui.app import make_backend
from pairscope.ui.backend import day
from tests.plugins.browser import assert_typeset

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

# Values of the figure titled ``prefix``: every line glyph's x/y arrays.
_JS_LINES = """
(prefix) => {
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text.startsWith(prefix)) continue;
    if (!owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } })) continue;
    const out = [];
    for (const r of m.renderers) {
      if (!r.glyph || r.glyph.constructor.__name__ !== "Line") continue;
      const d = r.data_source.data;
      const x = d[r.glyph.x.field], y = d[r.glyph.y.field];
      if (x && y) out.push({x: [...x], y: [...y]});
    }
    return out;
  }
  return null;
}
"""


@pytest.fixture(scope="module")
def demo_pair(demo_catalog: pathlib.Path) -> tuple[str, str, str]:
    """The burst and the first published product's pair (YYYYMMDD) as the core sees them."""
    from pairscope.io.catalog import list_products

    backend = make_backend()
    burst = backend.open_catalog(str(demo_catalog)).bursts[0].burst_id
    product = list_products(str(demo_catalog), burst)[0]
    return burst, day(product.reference), day(product.secondary)


def open_tab(session: Any, name: str) -> None:
    session.page.locator(".ps-tabs .bk-tab", has_text=name).first.click()


def wait_text(session: Any, css: str, needle: str, timeout: float = 90.0) -> str:
    loc = session.page.locator(f"{css} div").first
    deadline = timeout * 1000
    step = 250
    waited = 0
    text = ""
    while waited < deadline:
        if loc.count():
            text = loc.inner_text()
            if needle in text:
                return str(text)
        session.page.wait_for_timeout(step)
        waited += step
    raise AssertionError(f"{css} never showed {needle!r}; last {text!r}; status {session.status()!r}")


def test_qa_view_statistics_and_histogram(open_session: Any, demo_pair: Any) -> None:
    burst, d1, d2 = demo_pair
    s = open_session()
    s.open(f"burst={burst}&pairs={d1}_{d2}", wait_for_title=f"coherence {d1} / {d2}")
    open_tab(s, "QA")
    stats = wait_text(s, ".ps-qa-stats", "RMSE")
    s.wait_for_title("Product vs ours: 2-D histogram")
    for title in (f"Product VV {d1} / {d2}", "Ours 5x21, geocoded", "Difference (ours - product)"):
        s.wait_for_title(title, timeout=30)
    # the statistics of the whole product: ours (105 looks) is close to the product (76 looks)
    rows = {line.split("\t")[0].strip(): line.split("\t")[-1].strip()
            for line in stats.splitlines() if "\t" in line}  # fmt: skip
    assert abs(float(rows["bias"])) < 0.02, rows
    assert float(rows["correlation"]) > 0.95, rows
    assert 0.0 < float(rows["RMSE"]) < 0.06, rows
    product, ours, both, total = (
        int(v) for v in rows["valid pixels: product / ours / both"].replace(" of ", " / ").split(" / ")
    )
    assert 0 < both <= min(product, ours) <= total
    # the maps and the histogram are drawn (the histogram holds finite counts)
    deadline = time.monotonic() + 30
    while True:  # panes update one after another: wait (bounded) for all four images
        images = s.models()["images"]
        if len(images) >= 4 and all(i["finite"] > 0 for i in images):
            break
        assert time.monotonic() < deadline, images
        s.page.wait_for_timeout(250)
    estimators = s.page.locator(".ps-qa-estimators div").first.inner_text()
    assert "4 x 19" in estimators and "5 x 21" in estimators and "geocoded" in estimators
    assert "[0.152, 0.864]" in estimators
    s.assert_clean()


def test_learn_view_window_slider_updates_the_curve(open_session: Any, demo_pair: Any) -> None:
    burst, d1, d2 = demo_pair
    s = open_session()
    s.open(f"burst={burst}&pairs={d1}_{d2}", wait_for_title=f"coherence {d1} / {d2}")
    open_tab(s, "Learn")
    s.wait_for_title("Sample coherence bias, 105 looks")
    wait_text(s, ".ps-learn-message", "mean coherence")
    # the formulas are MathML, typeset by the browser (no script to load)
    assert_typeset(s, ".ps-learn-formulas")
    s.wait_for_title("True coherence (simulation)")
    s.wait_for_title("Look geometry of the clicked pixel")
    s.wait_for_title("Fringe scale: one cycle = lambda/2 = 2.77 cm", timeout=30)
    # move the azimuth slider one step left: 4 x 21 = 84 looks, recomputed live
    s.page.locator(".ps-learn-azimuth .noUi-handle").first.press("ArrowLeft")
    s.wait_for_title("Sample coherence bias, 84 looks")
    wait_text(s, ".ps-learn-message", "window 4x21")
    lines = s.page.evaluate(_JS_LINES, "Sample coherence bias, 84 looks")
    assert lines, "no curves in the bias plot"

    def matches(looks: int) -> list[np.ndarray]:
        out = []
        for line in lines:
            x, y = np.asarray(line["x"], dtype=float), np.asarray(line["y"], dtype=float)
            if x.size > 100 and np.allclose(y, expected_sample_coherence(x, looks), atol=1e-6):
                out.append(y)
        return out

    # the new window's curve, and the sidebar's (5 x 21) for comparison
    assert len(matches(84)) == 1 and len(matches(105)) == 1, [line["y"][:3] for line in lines]
    assert matches(84)[0][0] > matches(105)[0][0] > 0.05  # fewer looks: noise reads higher
    s.assert_clean()
