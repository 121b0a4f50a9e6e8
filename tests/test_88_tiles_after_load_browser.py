"""Failing map tiles hold nothing back, and the maps' hover planes follow their image (real
browser, Debian chromium via Playwright, loopback only).

Bokeh reports a page loaded only once every tile of a tile layer has come. Tiles that do not come
(a tile server that hangs or is slow, a firewall that drops the browser's requests) held back
what waits for the load as long: a shared URL's results, applied once the page has loaded, and
the network views. The server here takes its tiles from a loopback tile server that takes every
request and never answers.

The latitude and longitude planes of a map's image (for hover, 2/3 of its bytes) are sent after
the image; they must arrive, match the image shown, after the first page and after a zoom."""

from __future__ import annotations

import http.server
import pathlib
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from pairscope.ui.app import make_backend
from pairscope.ui.backend import day
from tests.plugins.browser import (
    ServedExplorer,
    loopback_http,
    serve_explorer,
    session_factory,
    until,
)
from tests.test_65_ui_downloads import zoom

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

BURST = "T117_249435_IW2"

# The map titled so: its image's size, and for each hover plane its size and the range of its
# finite values (null while the page has no such map).
_JS_PLANES = """
(prefix) => {
  if (!window.Bokeh || !Bokeh.documents.length) return null;
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text.startsWith(prefix)) continue;
    for (const r of m.renderers) {
      if (!r.glyph || r.glyph.constructor.__name__ !== "Image") continue;
      const d = r.data_source.data;
      if (!d.image || !d.image.length) return null;
      const out = {image: d.image[0].length, finite: 0};
      for (const v of d.image[0]) if (Number.isFinite(v)) out.finite++;
      for (const name of ["latitude", "longitude"]) {
        const p = (d[name] || [])[0] || [];
        let lo = Infinity, hi = -Infinity;
        for (const v of p) if (Number.isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        out[name] = [p.length, lo, hi];
      }
      return out;
    }
  }
  return null;
}
"""

# The footprint map's tile layers: their URL templates.
_JS_TILES = """
() => [...Bokeh.documents[0].all_models].filter(m => m.constructor.__name__ === "TileRenderer")
  .map(m => m.tile_source.url)
"""


class _HangingTiles(http.server.BaseHTTPRequestHandler):
    """Takes a tile request and never answers it (until the test ends)."""

    asked: list[str] = []
    done = threading.Event()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.asked.append(self.path)
        self.done.wait(600)


@pytest.fixture(scope="module")
def dead_tiles() -> Iterator[str]:
    with loopback_http(_HangingTiles) as base:
        try:
            yield f"{base}/{{Z}}/{{X}}/{{Y}}.png"
        finally:
            _HangingTiles.done.set()  # the requests held open end before the server stops


@pytest.fixture(scope="module")
def tiles_server(
    demo_catalog: pathlib.Path, dead_tiles: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedExplorer]:
    with serve_explorer(demo_catalog, tmp_path_factory.mktemp("dead-tiles"),
                        PAIRSCOPE_TILES=dead_tiles) as served:  # fmt: skip
        yield served


@pytest.fixture
def tiles_session(
    chromium: Any, tiles_server: ServedExplorer, request: pytest.FixtureRequest
) -> Iterator[Any]:
    yield from session_factory(chromium, tiles_server, request)


def _hover_follows(planes: Any) -> bool:
    """The hover planes hold a latitude and longitude for every cell of the image shown."""
    if not planes or not planes["finite"]:
        return False
    (nlat, lat0, lat1), (nlon, lon0, lon1) = planes["latitude"], planes["longitude"]
    return (nlat == nlon == planes["image"] and -90 <= lat0 < lat1 <= 90
            and -180 <= lon0 < lon1 <= 180)  # fmt: skip


def _visit(session: Any, url: str, title: str) -> None:
    """Open ``url``: its map, the network below it and both maps' hover planes must come."""
    session.page.goto(url)
    planes = until(session, lambda: session.page.evaluate(_JS_PLANES, title), f"the map {title!r}",
                   120)  # fmt: skip
    assert planes["finite"] > 0, planes
    until(session, lambda: any(t.startswith("Pair network") for t in session.titles()),
          "the network below the maps")  # fmt: skip
    for prefix in (title, title.replace("coherence", "phase")):
        until(session, lambda p=prefix: _hover_follows(session.page.evaluate(_JS_PLANES, p)),
              f"latitude and longitude for every cell of {prefix!r}")  # fmt: skip


def test_tiles_that_never_come_hold_back_nothing(
    tiles_session: Any, tiles_server: ServedExplorer, dead_tiles: str, demo_catalog: Any
) -> None:
    dates = make_backend().burst_dates(str(demo_catalog), BURST, "VV").dates
    a, b, c = day(dates[0]), day(dates[2]), day(dates[3])
    url = f"{tiles_server.url}?burst={BURST}&layer=coherence&pairs="
    # a pair this server has not computed: its result is applied once the page has loaded
    _visit(tiles_session(), f"{url}{a}_{b}", f"coherence {a} / {b}")
    # the same pair again: drawn into the first document, with the burst map and its tiles
    s = tiles_session()
    _visit(s, f"{url}{a}_{b}", f"coherence {a} / {b}")
    # the tiles joined the footprint map after the load and were asked for (no answer came)
    until(s, lambda: s.page.evaluate(_JS_TILES) == [dead_tiles], "the footprint map's tiles")
    until(s, lambda: _HangingTiles.asked, "the browser's tile requests")
    # another pair, not computed yet, on a page whose first document has the burst map
    _visit(tiles_session(), f"{url}{a}_{c}", f"coherence {a} / {c}")
    # a zoom: a new image, then its own hover planes (not the whole map's)
    whole = s.page.evaluate(_JS_PLANES, f"coherence {a} / {b}")
    zoom(s, "coherence")
    until(s, lambda: (lambda p: _hover_follows(p) and p["latitude"][1:] != whole["latitude"][1:])(
        s.page.evaluate(_JS_PLANES, f"coherence {a} / {b}")), "the zoomed image's hover planes")  # fmt: skip
    s.assert_clean()
