"""The explorer in a real browser (Debian chromium via Playwright) against ``pairscope serve`` on
the small demo catalog: the whole path, no fakes. Each scenario fails on any console error or any
request outside loopback, and leaves a screenshot in ``test-artifacts/`` when it fails.
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

import numpy as np
import pytest

from pairscope import render
from pairscope.ui.app import make_backend
from pairscope.ui.backend import day
from tests.plugins.browser import until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

_JS_SEGMENTS = """
(prefix) => {
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text.startsWith(prefix)) continue;
    if (!owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } })) continue;
    for (const r of m.renderers) {
      const d = r.data_source && r.data_source.data;
      if (r.glyph && r.glyph.constructor.__name__ === "Segment" && d && d.pair && d.pair.length) {
        return {pair: [...d.pair], x0: [...d.x0], y0: [...d.y0], x1: [...d.x1], y1: [...d.y1],
                coherence: [...d.coherence]};
      }
    }
  }
  return null;
}
"""
_JS_PALETTES = """
() => {
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  const out = [];
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "ColorBar") continue;
    if (!owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } })) continue;
    out.push({title: m.title, first: m.color_mapper.palette[0], low: m.color_mapper.low,
              high: m.color_mapper.high});
  }
  return out;
}
"""
_JS_RANGES = """
() => {
  const out = {images: []};
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text) continue;
    const key = m.title.text.split(" ")[0];
    if (key !== "coherence" && key !== "phase") continue;
    out[key] = [m.x_range.start, m.x_range.end, m.y_range.start, m.y_range.end];
    for (const r of m.renderers) {
      if (r.glyph && r.glyph.constructor.__name__ === "Image" && r.data_source.data.x) {
        out.images.push(r.data_source.data.x[0]);
      }
    }
  }
  return out;
}
"""
_JS_SCATTER = """
(prefix) => {
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text.startsWith(prefix)) continue;
    for (const r of m.renderers) {
      const d = r.data_source && r.data_source.data;
      if (d && d.coherence && d.pair) return {pair: [...d.pair], coherence: [...d.coherence]};
    }
  }
  return null;
}
"""


@pytest.fixture(scope="module")
def demo_dates(demo_catalog: pathlib.Path) -> tuple[str, list[str]]:
    """The burst and its dates as the core sees them (YYYYMMDD)."""
    backend = make_backend()
    info = backend.open_catalog(str(demo_catalog))
    burst = info.bursts[0].burst_id
    dates = backend.burst_dates(str(demo_catalog), burst, "VV").dates
    return burst, [day(d) for d in dates]


def iso(d: str) -> str:
    return f"{d[:4]}-{d[4:6]}-{d[6:]}"


def shown(d1: str, d2: str) -> str:
    return f"{d1} / {d2}"


def assert_map_drawn(session: Any, min_images: int = 2, timeout: float = 30.0) -> None:
    """The coherence and phase maps are two panes that update one after the other: wait (bounded)
    until both hold a mostly finite image."""
    deadline = time.monotonic() + timeout
    while True:
        images = session.models()["images"]
        drawn = [i for i in images if i["total"] > 0 and i["finite"] > 0.3 * i["total"]]
        if len(images) >= min_images and len(drawn) == len(images):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"maps not drawn after {timeout} s: {images}")
        session.page.wait_for_timeout(250)


def test_pick_burst_dates_rule_and_compute(open_session: Any, demo_dates: Any) -> None:
    burst, dates = demo_dates
    s = open_session()
    s.open()
    s.wait_for_status(r"dates\. Pick dates")
    # any spelling of the burst id: ASF
    asf = burst[1:]
    s.type_into("ps-burst", asf)
    s.wait_for_status(rf"{burst}: {len(dates)} dates")
    s.select("ps-start", iso(dates[1]))
    s.select("ps-end", iso(dates[-1]))
    s.page.locator(".ps-rule select").select_option(label="Maximum temporal baseline (days)")
    gap = (np.datetime64(iso(dates[2])) - np.datetime64(iso(dates[1]))).astype(int)
    s.type_into("ps-rule-value", str(gap))
    s.page.locator(".ps-compute button").click()
    s.wait_for_status(r"pair\(s\) of .* computed", timeout=90)
    s.wait_for_title(f"coherence {shown(dates[1], dates[2])}")
    assert any(t.startswith(f"phase {shown(dates[1], dates[2])}") for t in s.titles())
    assert_map_drawn(s)
    # each edge's mean coherence over the view follows the maps (NaN until it is known)
    until(s, lambda: (lambda n: n and n["pair"] and all(0.0 <= c <= 1.0 for c in n["coherence"]))(
        s.page.evaluate(_JS_SEGMENTS, "Pair network")), "every edge's mean coherence")  # fmt: skip
    network = s.page.evaluate(_JS_SEGMENTS, "Pair network")
    assert network is not None and network["pair"], "no pair edges in the network"
    assert all(p.split("_")[0] >= dates[1] for p in network["pair"])
    assert all(0.0 <= c <= 1.0 for c in network["coherence"])
    q = s.query()
    # the rule stays a rule in the URL (the grammar of `pairscope compute --pairs`), with the
    # date range it applies to, not an expanded list of pairs
    assert q["burst"] == burst and q["pairs"] == f"max:{gap}" and q["start"] == dates[1]
    assert any(t.startswith("Mean coherence per pair") for t in s.titles())
    s.assert_clean()


def test_shared_url_opens_that_view(open_session: Any, demo_dates: Any) -> None:
    burst, dates = demo_dates
    opera = "T" + burst[1:].replace("_", "-")
    s = open_session()
    s.open(f"burst={opera}&pairs={dates[0]}_{dates[2]}&window=3x9&layer=phase&pol=VV")
    title = s.wait_for_title(f"phase {shown(dates[0], dates[2])}")
    assert title
    assert_map_drawn(s)
    assert s.page.locator(".ps-win-az input").input_value() == "3"
    assert s.page.locator(".ps-win-rg input").input_value() == "9"
    s.wait_for_status(r"3x9 window")
    # the page's URL takes the canonical burst id once the page has loaded (`app._sync_url`:
    # a search set before would never reach the browser), which may come after the status
    q = until(s, lambda: (lambda q: q if q.get("burst") == burst else None)(s.query()),
              "the canonical burst id in the page's URL")  # fmt: skip
    assert q["burst"] == burst and q["window"] == "3x9" and q["layer"] == "phase"
    # wheel-zoom the phase map: the coherence map follows (linked axes), and both are
    # re-rasterized for the new view (Datashader), not just stretched
    before = s.page.evaluate(_JS_RANGES)
    x0, x1, y0, y1 = before["phase"]
    x, y = s.screen_point("phase", (x0 + x1) / 2, (y0 + y1) / 2)
    s.page.mouse.move(x, y)
    s.page.mouse.wheel(0, -400)
    for _ in range(200):
        now = s.page.evaluate(_JS_RANGES)
        if (now["phase"][:2] != before["phase"][:2] and now["coherence"][:2] == now["phase"][:2]
                and now["images"] and all(abs(i - now["phase"][0]) < 3 * (now["phase"][1]
                - now["phase"][0]) / 100 for i in now["images"])):  # fmt: skip
            break
        s.page.wait_for_timeout(100)
    assert now["phase"][1] - now["phase"][0] < 0.9 * (x1 - x0), (before, now)
    assert now["coherence"][:2] == now["phase"][:2], now
    assert all(i > x0 + 0.05 * (x1 - x0) for i in now["images"]), (before, now)
    s.assert_clean()


def test_switch_layers_and_colormaps(open_session: Any, demo_dates: Any) -> None:
    burst, dates = demo_dates
    s = open_session()
    s.open(f"burst={burst}&pairs={dates[0]}_{dates[1]}", wait_for_title="coherence")
    palettes = s.page.evaluate(_JS_PALETTES)
    assert any(p["low"] == 0 and p["high"] == 1 for p in palettes), palettes
    s.select("ps-layer", "amplitude")
    s.wait_for_title(f"amplitude {shown(dates[0], dates[1])}")
    s.select("ps-layer", "incidence")
    s.wait_for_title("incidence", timeout=90)
    assert_map_drawn(s)
    palettes = s.page.evaluate(_JS_PALETTES)
    assert any("Incidence" in (p["title"] or "") and "deg" in p["title"] for p in palettes)
    magma = render.palette("magma")[0].lower()
    assert not any(p["first"].lower() == magma for p in palettes)
    s.select("ps-colormap", "magma")
    for _ in range(120):
        palettes = s.page.evaluate(_JS_PALETTES)
        if any(p["first"].lower() == magma for p in palettes):
            break
        s.page.wait_for_timeout(250)
    assert any(p["first"].lower() == magma for p in palettes), palettes
    assert s.query()["layer"] == "incidence"
    s.assert_clean()


def test_click_a_network_edge_opens_the_pair(open_session: Any, demo_dates: Any) -> None:
    burst, dates = demo_dates
    s = open_session()
    pairs = f"{dates[0]}_{dates[1]},{dates[1]}_{dates[3]}"
    s.open(f"burst={burst}&pairs={pairs}", wait_for_title=f"coherence {shown(dates[0], dates[1])}")
    # the network is drawn just after the maps (their message goes out first)
    network = until(s, lambda: (lambda n: n if n and f"{dates[1]}_{dates[3]}" in n["pair"] else None)(
        s.page.evaluate(_JS_SEGMENTS, "Pair network")), "the network's edges")  # fmt: skip
    i = network["pair"].index(f"{dates[1]}_{dates[3]}")
    xm = (network["x0"][i] + network["x1"][i]) / 2
    ym = (network["y0"][i] + network["y1"][i]) / 2
    x, y = s.screen_point("Pair network", xm, ym)
    s.page.mouse.click(x, y)
    s.wait_for_title(f"coherence {shown(dates[1], dates[3])}")
    assert s.page.locator(".ps-pair select").input_value() == f"{dates[1]}_{dates[3]}"
    s.assert_clean()


def test_click_a_map_pixel_shows_it_in_every_pair(open_session: Any, demo_dates: Any) -> None:
    burst, dates = demo_dates
    s = open_session()
    pairs = f"{dates[0]}_{dates[1]},{dates[0]}_{dates[2]},{dates[1]}_{dates[2]}"
    s.open(f"burst={burst}&pairs={pairs}", wait_for_title=f"coherence {shown(dates[0], dates[1])}")
    found = s.page.evaluate(
        """(prefix) => { for (const m of Bokeh.documents[0].all_models)
             if (m.constructor.__name__ === "Figure" && m.title && m.title.text.startsWith(prefix))
               return [m.x_range.start, m.x_range.end, m.y_range.start, m.y_range.end];
           return null; }""",
        "coherence",
    )
    assert found is not None
    xc, yc = (found[0] + found[1]) / 2, (found[2] + found[3]) / 2
    x, y = s.screen_point("coherence", xc, yc)
    s.page.mouse.click(x, y)
    s.wait_for_title("Pixel (")
    series = s.page.evaluate(_JS_SCATTER, "Pixel (")
    assert series is not None and len(series["pair"]) == 3, series
    assert all(0.0 <= c <= 1.0 for c in series["coherence"])
    s.assert_clean()


def test_bad_input_shows_a_message_and_the_app_keeps_working(
    open_session: Any, demo_dates: Any, explorer_server: Any
) -> None:
    burst, dates = demo_dates
    s = open_session()
    s.open()
    s.wait_for_status(r"dates\. Pick dates")
    s.type_into("ps-burst", "not-a-burst")
    text = s.wait_for_status(r"Unknown burst id")
    assert "T117_249435_IW2" in text  # says how to spell one
    s.type_into("ps-catalog", explorer_server.unreachable_catalog)
    text = s.wait_for_status(r"unreachable", timeout=90)
    assert "reachable" in text
    s.type_into("ps-catalog", "/etc/passwd")
    s.wait_for_status(r"not allowed")
    # back to the demo: everything works again
    s.type_into("ps-catalog", str(explorer_server.catalog))
    s.wait_for_status(r"dates\. Pick dates", timeout=60)
    s.type_into("ps-burst", burst)
    s.page.locator(".ps-rule select").select_option(label="Hand-picked pairs")
    s.type_into("ps-manual", f"{dates[0]}_{dates[1]}")
    s.page.locator(".ps-compute button").click()
    s.wait_for_title(f"coherence {shown(dates[0], dates[1])}")
    assert_map_drawn(s)
    s.assert_clean()


def test_root_redirects_to_the_explorer(explorer_server: Any) -> None:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", explorer_server.port, timeout=30)
    conn.request("GET", "/")
    answer = conn.getresponse()
    assert answer.status in (301, 302, 307), answer.status
    assert answer.getheader("Location", "").rstrip("/").endswith("/explorer")
    conn.close()


def test_refused_catalog_in_the_url(open_session: Any) -> None:
    s = open_session()
    s.open("catalog=/etc/passwd")
    # the default catalog opens, and the refusal stays on screen with the outcome
    text = s.wait_for_status(r"dates\. Pick dates.*not allowed")
    assert "/etc/passwd" in text
    assert "catalog" not in s.query()
    s.assert_clean()


def test_two_sessions_keep_separate_selections(open_session: Any, demo_dates: Any) -> None:
    burst, dates = demo_dates
    a, b = open_session(), open_session()
    a.open(f"burst={burst}&pairs={dates[0]}_{dates[1]}&layer=coherence")
    b.open(f"burst={burst}&pairs={dates[2]}_{dates[3]}&layer=phase")
    a.wait_for_title(f"coherence {shown(dates[0], dates[1])}")
    b.wait_for_title(f"phase {shown(dates[2], dates[3])}")
    b.select("ps-layer", "amplitude")
    b.wait_for_title(f"amplitude {shown(dates[2], dates[3])}")
    a.page.wait_for_timeout(500)
    assert a.query()["layer"] == "coherence" and b.query()["layer"] == "amplitude"
    assert any(t.startswith(f"coherence {shown(dates[0], dates[1])}") for t in a.titles())
    assert not any(t.startswith("amplitude") for t in a.titles())
    a.assert_clean()
    b.assert_clean()
