"""A shared URL of pairs computed before arrives drawn: the session's first document already holds
the coherence map (and one of a pair not computed yet, when its job is done within the pull's
wait) (real browser, Debian chromium via Playwright, every request outside loopback
blocked, against ``pairscope serve`` on the small demo catalog).

The HTTP GET starts no work (``test_66_security_browser``): a pair not computed yet starts its job
when the page's first script sends the page's session token; what is already in the server's cache is
drawn into the page as the session is created (``ExplorerState.load_cached``), so the map needs no
job and no round trip after the page has loaded."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from pairscope.ui.app import PULL_WAIT_S, make_backend
from pairscope.ui.backend import day
from tests.plugins.browser import serve_explorer, session_factory, until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(300)]

BURST = "T117_249435_IW2"

# The coherence figure's title and the finite samples of its image, read from the document's
# models alone (no view needed): null until the browser holds a document.
_JS_FIRST = """
(prefix) => {
  if (!window.Bokeh || !Bokeh.documents || !Bokeh.documents.length) return null;
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text) continue;
    if (!m.title.text.startsWith(prefix.split(" ")[0])) continue;
    for (const r of m.renderers) {
      if (!r.glyph || r.glyph.constructor.__name__ !== "Image") continue;
      let finite = 0;
      for (const img of r.data_source.data.image || []) for (const v of img) if (Number.isFinite(v)) finite++;
      return [m.title.text, finite];
    }
  }
  return ["", 0];
}
"""


# The page's start requests: [initiator, HTTP status] of each.
_JS_START_REQUESTS = """
() => performance.getEntriesByType('resource')
  .filter(e => e.name.split('?')[0].endsWith('/pairscope-start'))
  .map(e => [e.initiatorType, e.responseStatus || 0])
"""


def _first_document(page: Any, url: str, script: str, arg: Any, timeout: float = 60.0) -> Any:
    """Go to ``url`` and return what ``script(arg)`` says of the first document the browser holds
    (polled every few milliseconds from the first byte of the page; null until there is one)."""
    page.goto(url, wait_until="commit")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = page.evaluate(script, arg)
        if found is not None:
            return found
        page.wait_for_timeout(2)
    raise AssertionError(f"no Bokeh document after {timeout} s")


def _drawn(page: Any, title: str) -> bool:
    """Whether the page's figure of ``title`` (its layer's first word picks it) holds its image."""
    found = page.evaluate(_JS_FIRST, title)
    return bool(found) and found[0].startswith(title) and found[1] > 0


def test_a_computed_pair_arrives_drawn_in_the_first_document(
    open_session: Any, explorer_server: Any, demo_catalog: Any
) -> None:
    cat = str(demo_catalog)
    dates = make_backend().burst_dates(cat, BURST, "VV").dates
    a, b = day(dates[1]), day(dates[3])
    # a window no other test uses: this pair is not in the server's cache before this test
    url = f"{explorer_server.url}?burst={BURST}&pairs={a}_{b}&window=3x11&layer=coherence"
    title = f"coherence {a} / {b}"
    log = explorer_server.log
    before = len(log.read_text().splitlines())

    first = open_session()
    seen = _first_document(first.page, url, _JS_FIRST, title)
    until(first, lambda: _drawn(first.page, title), "the first visitor's coherence map")
    lines = log.read_text().splitlines()[before:]
    computing = [line for line in lines if "computing" in line and f"{a}_{b}" in line]
    assert len(computing) == 1, computing
    # the page's first script sent its start request (`session_loop.install_early_start`)
    started = first.page.evaluate(_JS_START_REQUESTS)
    assert started == [["fetch", 204]], started
    # its job starts as the page's first script runs (or at the latest as the browser pulls the
    # document), and the reply waits for the job's first result (at most PULL_WAIT_S): then the
    # first document holds the map
    sent = [line for line in lines if "a shared page's document is sent" in line]
    assert len(sent) == 1, sent
    in_first = seen[0].startswith(title) and seen[1] > 0
    assert in_first == ("with its first result" in sent[0]), (seen, sent)
    if not in_first:  # a loaded machine: the job took longer than the wait
        assert f"not done in {PULL_WAIT_S:g} s" in sent[0], sent

    second = open_session()
    seen = _first_document(second.page, url, _JS_FIRST, title)
    assert seen[0].startswith(title) and seen[1] > 0, (
        f"the second visitor's first document has no drawn map: {seen}")  # fmt: skip
    second.page.locator(".ps-compute button").wait_for(timeout=60_000)
    # the status is in the first document too, but in another root of the template than the
    # sidebar's button: the browser may draw it a moment later
    second.wait_for_status(r"[Cc]omputed", timeout=30)
    after = [line for line in log.read_text().splitlines()[before:]
             if "computing" in line and f"{a}_{b}" in line]  # fmt: skip
    assert after == computing  # nothing computed again
    # the page is complete and alive: the network arrives, another layer can be picked
    until(second, lambda: any(t.startswith("Pair network") for t in second.titles()),
          "the network below the maps")  # fmt: skip
    second.assert_clean()


# Whether the document holds the sidebar, and the title of each of its map figures (those with an
# image): null until the browser holds a document.
_JS_SIDEBAR_AND_MAPS = """
() => {
  if (!window.Bokeh || !Bokeh.documents || !Bokeh.documents.length) return null;
  let sidebar = false;
  const maps = [];
  for (const m of Bokeh.documents[0].all_models) {
    if ((m.css_classes || []).includes("ps-catalog")) sidebar = true;
    if (m.constructor.__name__ === "Figure"
        && m.renderers.some(r => r.glyph && r.glyph.constructor.__name__ === "Image")) {
      maps.push(m.title ? m.title.text : "");
    }
  }
  return [sidebar, maps];
}
"""

# Where the figure titled ``prefix...`` is drawn on the page: [x, y, width, height], or null.
_JS_FIGURE_BOX = """
(prefix) => {
  for (const v of Bokeh.index.all_views()) {
    if (v.model.constructor.__name__ !== "Figure" || !v.model.title) continue;
    if (!v.model.title.text.startsWith(prefix)) continue;
    const r = v.el.getBoundingClientRect();
    return [r.x, r.y, r.width, r.height];
  }
  return null;
}
"""


# The range, the image's placement and the pixel marker of the figure titled ``prefix...`` (JSON);
# null without one.
_JS_SHOWN = """
(prefix) => {
  for (const v of Bokeh.index.all_views()) {
    const m = v.model;
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text.startsWith(prefix)) continue;
    const glyph = (name) => m.renderers.find(r => r.glyph && r.glyph.constructor.__name__ === name);
    const image = glyph("Image").data_source.data, marker = glyph("Scatter").data_source.data;
    return JSON.stringify({x: [m.x_range.start, m.x_range.end], y: [m.y_range.start, m.y_range.end],
                           image: [image.x[0], image.dw[0], image.y[0], image.dh[0]],
                           marker: Array.from(marker.x || [])});
  }
  return null;
}
"""


def test_the_sidebar_comes_first_on_a_bare_page_and_after_the_maps_on_a_shared_one(
    open_session: Any, explorer_server: Any, demo_catalog: Any
) -> None:
    """A page opened without a view needs the sidebar to pick one: its first document holds it,
    and both maps. A shared URL's first document holds the first map alone; the second map and
    the sidebar (~25 widgets) follow once it has gone out, and work. The first map does not
    move when the second comes: its place was kept."""
    bare = open_session()
    sidebar, maps = _first_document(bare.page, explorer_server.url, _JS_SIDEBAR_AND_MAPS, None)
    assert sidebar and len(maps) == 2, maps
    bare.page.locator(".ps-compute button").wait_for(timeout=60_000)
    dates = make_backend().burst_dates(str(demo_catalog), BURST, "VV").dates
    a, b = day(dates[0]), day(dates[1])
    shared = open_session()
    url = f"{explorer_server.url}?burst={BURST}&pairs={a}_{b}&layer=coherence"
    sidebar, maps = _first_document(shared.page, url, _JS_SIDEBAR_AND_MAPS, None)
    assert not sidebar and maps == [f"coherence {a} / {b}"], maps
    until(shared, lambda: _drawn(shared.page, f"coherence {a} / {b}"), "the shared URL's map")
    box = shared.page.evaluate(_JS_FIGURE_BOX, "coherence")
    # a zoom and a click on the first map before the second comes: the second shows them too
    before = json.loads(shared.page.evaluate(_JS_SHOWN, "coherence"))
    x, y = box[0] + 0.4 * box[2], box[1] + 0.5 * box[3]
    shared.page.mouse.move(x, y)
    for _ in range(3):
        shared.page.mouse.wheel(0, -300)
        shared.page.wait_for_timeout(30)
    shared.page.mouse.click(x + 20, y + 10)
    until(shared, lambda: _drawn(shared.page, f"phase {a} / {b}"), "the second map, after")

    def both_show_the_zoom_and_the_pixel() -> bool:
        first, second = (json.loads(shared.page.evaluate(_JS_SHOWN, name) or "null")
                         for name in ("coherence", "phase"))  # fmt: skip
        # the ranges are one pair of models; the images are redrawn for the zoom by the server
        return (first is not None and first == second and bool(first["marker"])
                and first["image"] != before["image"])  # fmt: skip

    until(shared, both_show_the_zoom_and_the_pixel,
          "the second map showing the first one's zoom and clicked pixel")  # fmt: skip
    shown = json.loads(shared.page.evaluate(_JS_SHOWN, "phase"))
    width = before["x"][1] - before["x"][0]
    assert shown["x"][1] - shown["x"][0] < 0.8 * width, (before, shown)
    now = shared.page.evaluate(_JS_FIGURE_BOX, "coherence")
    # it kept its place and size (the status line above it may change its height meanwhile)
    assert [now[0], now[2], now[3]] == [box[0], box[2], box[3]], (box, now)
    beside = shared.page.evaluate(_JS_FIGURE_BOX, "phase")
    assert abs(beside[2] - box[2]) <= 1 and beside[0] >= box[0] + box[2] - 1, (box, beside)
    assert beside[1] == now[1]  # in the same row
    shared.page.locator(".ps-compute button").wait_for(timeout=60_000)
    shared.page.locator(".ps-catalog input").wait_for(timeout=60_000)
    assert shared.page.locator(".ps-catalog input").input_value() == str(demo_catalog)
    shared.select("ps-layer", "amplitude")  # the late sidebar drives the maps
    until(shared, lambda: _drawn(shared.page, f"amplitude {a} / {b}"),
          "the amplitude map picked in the late sidebar")  # fmt: skip
    bare.assert_clean()
    shared.assert_clean()


def _page(url: str, cookie: str = "") -> tuple[str, dict[str, Any]]:
    """The served HTML of ``url`` (fetched as a browser would, with ``cookie``) and its session
    token's payload."""
    import json
    import re
    import urllib.request

    from bokeh.util.token import get_session_id, get_token_payload

    request = urllib.request.Request(url, headers={"Cookie": cookie} if cookie else {})
    with urllib.request.urlopen(request, timeout=60) as response:
        html = response.read().decode()
    tokens = re.findall(r'\\?"token\\?"\s*:\s*\\?"([^"\\]+)', html)
    assert len(tokens) == 1, f"one session token per page, found {len(tokens)}"
    payload = json.loads(json.dumps(get_token_payload(tokens[0]),
                                    default=lambda v: v.decode() if isinstance(v, bytes) else str(v)))
    return html, {**payload, "session_id": get_session_id(tokens[0])}


def test_each_visitor_gets_a_held_page_at_once_and_its_own_session(
    open_session: Any, explorer_server: Any, demo_catalog: Any
) -> None:
    """The HTML of a page does not depend on its session (the browser builds everything from the
    document it pulls), so the server answers every request with the page of one held session
    and builds the visitor's own session after the response (Panel's warm session reuse). Each
    visitor's token carries their own request alone, nothing of another visitor's; each page
    shows its own pair, with every stylesheet from the server (no CDN: the fixture fails any
    request outside loopback)."""
    import re

    dates = make_backend().burst_dates(str(demo_catalog), BURST, "VV").dates
    first = f"{explorer_server.url}?burst={BURST}&pairs={day(dates[0])}_{day(dates[1])}"
    second = f"{explorer_server.url}?burst={BURST}&pairs={day(dates[2])}_{day(dates[4])}"
    html_a, token_a = _page(first, cookie="visitor=alice")
    html_b, token_b = _page(second, cookie="visitor=bob")
    roots = re.compile(r"data-root-id=\\?\"([^\"\\]+)")
    assert roots.findall(html_a) and roots.findall(html_a) == roots.findall(html_b), (
        "both requests get the held session's page")  # fmt: skip
    for query in ("&theme=dark", "&theme=x1", "&theme=x2"):  # no query holds another session
        assert roots.findall(_page(second + query)[0]) == roots.findall(html_a), query
    assert token_a["session_id"] != token_b["session_id"]
    assert token_b["arguments"]["pairs"] == [f"{day(dates[2])}_{day(dates[4])}"]
    assert token_b["cookies"] == {"visitor": "bob"}
    assert "alice" not in str(token_b) and day(dates[0]) not in str(token_b["arguments"])

    for url, (a, b) in ((first, (dates[0], dates[1])), (second, (dates[2], dates[4]))):
        visitor = open_session()
        visitor.page.goto(f"{url}&layer=coherence")
        title = f"coherence {day(a)} / {day(b)}"
        until(visitor, lambda v=visitor, t=title: _drawn(v.page, t), f"the map {title}")
        # Panel's stylesheets load as the browser builds the page (they may follow the map)
        until(visitor, lambda v=visitor: v.page.evaluate(
            "performance.getEntriesByType('resource').map(r => r.name)"
            ".filter(n => n.includes('/static/extensions/panel/') && n.includes('.css'))"),
            "Panel's stylesheets loaded from the server")  # fmt: skip
        visitor.assert_clean()


@pytest.fixture(scope="module")
def panel_served(demo_catalog: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The same app served by ``panel serve app/explorer.py`` on the small demo catalog."""
    with serve_explorer(demo_catalog, tmp_path_factory.mktemp("panel-serve"), panel=True) as served:
        yield served


@pytest.fixture
def open_panel_session(chromium: Any, panel_served: Any, request: pytest.FixtureRequest) -> Any:
    yield from session_factory(chromium, panel_served, request)


def test_panel_serve_draws_a_shared_url_with_bokeh_visuals_from_models(
    open_panel_session: Any, demo_catalog: Any
) -> None:
    """``panel serve app/explorer.py`` runs ``static/paint.js`` too (it did not: the script was a
    route only ``pairscope serve`` published), from the page itself: no request for it."""
    dates = make_backend().burst_dates(str(demo_catalog), BURST, "VV").dates
    a, b = day(dates[0]), day(dates[2])
    s = open_panel_session()
    requested: list[str] = []
    s.page.on("request", lambda r: requested.append(r.url))
    s.open(f"burst={BURST}&pairs={a}_{b}&layer=coherence", wait_for_title=f"coherence {a} / {b}")
    until(s, lambda: _drawn(s.page, f"coherence {a} / {b}"), "the coherence map")
    assert s.page.evaluate("() => window.pairscopeVisualsFromModels") is True
    assert s.page.evaluate(
        "() => Bokeh.require('core/visuals/visual').VisualProperties.prototype._get_css_value()"
    ) == ""
    assert not [u for u in requested if "paint" in u], requested
    scripts = s.page.evaluate(
        "() => [...document.scripts].map(e => e.src.startsWith('data:') ? e.src.slice(0, 28)"
        " : e.src.split('/').pop().split('?')[0])"
    )
    assert "data:text/javascript;base64," in scripts, scripts
    # it runs after BokehJS, whose module it changes
    assert scripts.index("data:text/javascript;base64,") > scripts.index("bokeh.min.js"), scripts
    s.assert_clean()
