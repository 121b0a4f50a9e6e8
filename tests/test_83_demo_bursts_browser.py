"""The demo's three bursts in a real browser (Debian chromium via Playwright, every request outside
loopback blocked) against ``pairscope serve`` on the small demo catalog: a newcomer clicks a
neighbour burst's footprint on the sidebar's footprint map, the burst field, the URL and the
dates follow, and Compute draws that burst's coherence map."""

from __future__ import annotations

import pathlib
import re
from typing import Any

import numpy as np
import pytest

from pairscope.ui.app import make_backend
from pairscope.ui.backend import day
from tests.plugins.browser import until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(400)]

FIRST, NEIGHBOUR = "T117_249435_IW2", "T117_249437_IW2"
MAP_TITLE = "Bursts (click to pick)"

# The footprint figure's data ranges (to tell Web Mercator metres from degrees).
_JS_RANGES = """
(prefix) => {
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text) continue;
    if (!m.title.text.startsWith(prefix)) continue;
    return [m.x_range.start, m.x_range.end, m.y_range.start, m.y_range.end];
  }
  return null;
}
"""
# The images shown (coherence / phase maps): finite share of each.
_JS_IMAGES = """
() => {
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  const shown = m => owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } });
  const out = [];
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "GlyphRenderer" || m.glyph.constructor.__name__ !== "Image") continue;
    if (!shown(m)) continue;
    let finite = 0, total = 0;
    for (const img of m.data_source.data.image || []) for (const v of img) { total++; if (Number.isFinite(v)) finite++; }
    out.push({finite, total});
  }
  return out;
}
"""


def _mercator(lon: float, lat: float) -> tuple[float, float]:
    r = 6378137.0
    return np.radians(lon) * r, r * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


@pytest.fixture(scope="module")
def bursts(demo_catalog: pathlib.Path) -> dict[str, Any]:
    """Burst id -> (footprint centre lon/lat, its dates) as the app's backend sees them."""
    backend = make_backend()
    info = backend.open_catalog(str(demo_catalog))
    out = {}
    for b in info.bursts:
        ring = np.asarray(b.footprint, dtype=float)
        dates = [day(d) for d in backend.burst_dates(str(demo_catalog), b.burst_id, "VV").dates]
        out[b.burst_id] = (tuple(ring[:-1].mean(axis=0)), dates)
    return out


def test_pick_a_neighbour_burst_on_the_footprint_map(open_session: Any, bursts: dict[str, Any]) -> None:
    assert sorted(bursts) == [FIRST, "T117_249436_IW2", NEIGHBOUR]
    (lon, lat), dates = bursts[NEIGHBOUR]
    assert dates == bursts[FIRST][1]  # one pass: the bursts share their dates
    s = open_session()
    s.open()
    # the catalog opens on its first burst
    until(s, lambda: s.page.locator(".ps-burst input").first.input_value() == FIRST
          or re.search(rf"{FIRST}: {len(dates)} dates", s.status()), "the first burst", 120)  # fmt: skip
    ranges = until(s, lambda: s.page.evaluate(_JS_RANGES, MAP_TITLE), "the footprint map")
    # the map in the middle of the window (the sticky Compute button holds the bottom edge)
    s.page.locator(".ps-footprints").first.evaluate("e => e.scrollIntoView({block: 'center'})")
    # three footprints drawn, all inside the map's view
    x, y = (lon, lat) if abs(ranges[0]) <= 180 else _mercator(lon, lat)
    assert ranges[0] < x < ranges[1] and ranges[2] < y < ranges[3], (x, y, ranges)
    s.page.wait_for_timeout(500)  # let the plot settle before clicking on it
    sx, sy = s.screen_point(MAP_TITLE, x, y)
    s.page.mouse.click(sx, sy)
    # the burst field, the URL and the dates follow the click
    s.wait_for_status(rf"{NEIGHBOUR}: {len(dates)} dates", timeout=120)
    until(s, lambda: s.page.locator(".ps-burst input").first.input_value() == NEIGHBOUR,
          "the burst field")  # fmt: skip
    until(s, lambda: s.query().get("burst") == NEIGHBOUR, "burst= in the URL")
    options = [o.strip() for o in s.page.locator(".ps-start select option").all_inner_texts()]
    assert [o for o in options if o] == [f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in dates], options
    # Compute: the neighbour's coherence map
    s.page.locator(".ps-compute button").click()
    s.wait_for_status(r"pair\(s\) of .* computed", timeout=120)
    s.wait_for_title("coherence")
    drawn = until(s, lambda: (imgs := s.page.evaluate(_JS_IMAGES)) and all(
        i["total"] > 0 and i["finite"] > 0.3 * i["total"] for i in imgs) and imgs,
        "a drawn coherence map", timeout=60)  # fmt: skip
    assert drawn
    assert s.query().get("burst") == NEIGHBOUR
    s.assert_clean()
