"""Network building, the matrix and pairs table, the clicked pixel, the shared URL and honest
messages, in a real browser (Debian chromium via Playwright) against ``pairscope serve`` on the
small demo catalog (six dates, 150 x 600 samples). Few scenarios, each a long session; every wait
is bounded and polls for what it waits for. The logic behind them: ``test_63_network.py``.
"""

from __future__ import annotations

import pathlib
import re
from typing import Any

import pytest

from pairscope import render
from pairscope.ui.app import make_backend
from pairscope.ui.backend import day
from tests.plugins.browser import until

pytestmark = [pytest.mark.browser, pytest.mark.timeout(400)]

# One shown figure (title starting with a prefix) as plain data: title, axes, tick formatter,
# hover tooltips, ranges, and each renderer's glyph, name, non-selection alpha and columns.
_JS_FIGURE = """
(prefix) => {
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  const shown = m => owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } });
  const alpha = a => (a === null || a === undefined) ? null : (typeof a === "number" ? a : a.value);
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text) continue;
    if (!m.title.text.startsWith(prefix) || !shown(m)) continue;
    const axes = side => (m[side] || []).filter(a => a.constructor.__name__.endsWith("Axis"));
    const out = {title: m.title.text, tooltips: [], renderers: [],
                 xlabel: axes("below").map(a => a.axis_label)[0] || null,
                 ylabel: axes("left").map(a => a.axis_label)[0] || null,
                 xformatter: axes("below").map(a => a.formatter.constructor.__name__)[0] || null,
                 ranges: [m.x_range.start, m.x_range.end, m.y_range.start, m.y_range.end]};
    for (const t of m.toolbar.tools) {
      if (t.constructor.__name__ === "HoverTool" && Array.isArray(t.tooltips)) {
        for (const tip of t.tooltips) out.tooltips.push(tip[0]);
      }
    }
    for (const r of m.renderers) {
      if (!r.glyph) continue;
      const d = r.data_source ? r.data_source.data : {};
      const cols = {};
      for (const k of ["pair", "day", "status", "coherence", "x", "y", "date", "baseline", "x0",
                       "y0", "x1", "y1", "reference", "secondary", "perpendicular_baseline"]) {
        if (d[k] !== undefined) cols[k] = [...d[k]];
      }
      out.renderers.push({glyph: r.glyph.constructor.__name__, name: r.name, data: cols,
        nonselection_alpha: r.nonselection_glyph ? alpha(r.nonselection_glyph.fill_alpha) : null});
    }
    return out;
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
    out.push({title: m.title, first: m.color_mapper.palette[0]});
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def demo_dates(demo_catalog: pathlib.Path) -> tuple[str, list[str]]:
    backend = make_backend()
    info = backend.open_catalog(str(demo_catalog))
    burst = info.bursts[0].burst_id
    return burst, [day(d) for d in backend.burst_dates(str(demo_catalog), burst, "VV").dates]


def figure(session: Any, prefix: str) -> dict[str, Any] | None:
    return session.page.evaluate(_JS_FIGURE, prefix)


def edges(fig: dict[str, Any]) -> dict[str, str]:
    """pair -> status of every edge drawn in the network figure."""
    out = {}
    for r in fig["renderers"]:
        d = r["data"]
        if r["glyph"] == "Segment" and "pair" in d and "status" in d:
            out.update(zip(d["pair"], d["status"], strict=True))
    return out


def node(fig: dict[str, Any], date: str) -> tuple[float, float, str]:
    """(x, y, status) of a date's node in the network figure."""
    for r in fig["renderers"]:
        d = r["data"]
        if r["glyph"] == "Scatter" and "day" in d and "status" in d and date in d["day"]:
            i = d["day"].index(date)
            return d["date"][i], d["baseline"][i], d["status"][i]
    raise AssertionError(f"no node for {date}")


def segment(fig: dict[str, Any], pair: str) -> tuple[float, float]:
    for r in fig["renderers"]:
        d = r["data"]
        if r["glyph"] == "Segment" and "status" in d and pair in d.get("pair", []):
            i = d["pair"].index(pair)
            return (d["x0"][i] + d["x1"][i]) / 2, (d["y0"][i] + d["y1"][i]) / 2
    raise AssertionError(f"no edge {pair}")


def text_of(session: Any, css_class: str) -> str:
    """The text of an HTML pane (its content sits in the pane's shadow root)."""
    loc = session.page.locator(f".{css_class} div")
    return str(loc.first.inner_text()) if loc.count() else ""


def click_data(session: Any, prefix: str, x: float, y: float) -> None:
    sx, sy = session.screen_point(prefix, x, y)
    session.page.mouse.click(sx, sy)


MODE_TITLES = {"Open a pair": "open it", "Exclude a date": "exclude it",
               "Add / drop a pair": "drop it"}  # fmt: skip


def mode(session: Any, label: str) -> dict[str, Any]:
    """Switch the network's click mode; returns the redrawn network figure."""
    session.page.locator(".ps-network-mode button", has_text=label).first.click()
    return until(session, lambda: (f := figure(session, "Pair network"))
                 and MODE_TITLES[label] in f["title"] and f, f"network in mode {label!r}")  # fmt: skip


def test_network_editing(open_session: Any, demo_dates: Any) -> None:
    """Rule kept in the URL; exclude a date by its node (hollow), drop an edge, add a pair by two
    nodes (not computed: outdated), compute, prune by coherence keeping the network connected,
    and the warning once it is not."""
    burst, dates = demo_dates
    s = open_session()
    s.open(f"burst={burst}&pairs=seq:2", wait_for_title="coherence")
    s.wait_for_status(r"pair\(s\) of .* computed", timeout=120)
    assert s.query()["pairs"] == "seq:2"
    net = until(s, lambda: figure(s, "Pair network"), "network")
    assert len(edges(net)) == 9 and set(edges(net).values()) == {"computed"}
    # exclude the third date by clicking its node: hollow, its pairs gone, in the URL
    net = mode(s, "Exclude a date")
    x, y, status = node(net, dates[2])
    assert status == "used"
    click_data(s, "Pair network", x, y)
    until(s, lambda: s.query().get("exclude") == dates[2], "exclude= in the URL")
    net = until(s, lambda: (f := figure(s, "Pair network")) and node(f, dates[2])[2] == "excluded"
                and f, "the excluded node")  # fmt: skip
    hollow = [r for r in net["renderers"] if r["glyph"] == "Scatter" and dates[2] in
              r["data"].get("day", [])]  # fmt: skip
    assert hollow and hollow[0]["data"]["status"] == ["excluded"]
    assert not any(dates[2] in p for p in edges(net))
    # the sequence re-formed around it: two new pairs, not computed, so the views say so
    assert edges(net)[f"{dates[1]}_{dates[3]}"] == "computed"
    assert edges(net)[f"{dates[0]}_{dates[3]}"] == "not computed"
    assert "outdated: press Compute" in net["title"]
    until(s, lambda: any("outdated: press Compute" in t for t in s.titles()
                         if t.startswith("coherence")), "outdated map title")  # fmt: skip
    # drop one pair by clicking its edge, add one by clicking its two dates
    net = mode(s, "Add / drop a pair")
    click_data(s, "Pair network", *segment(net, f"{dates[0]}_{dates[1]}"))
    until(s, lambda: s.query().get("drop") == f"{dates[0]}_{dates[1]}", "drop= in the URL")
    net = until(s, lambda: (f := figure(s, "Pair network"))
                and f"{dates[0]}_{dates[1]}" not in edges(f) and f, "the dropped edge gone")  # fmt: skip
    click_data(s, "Pair network", *node(net, dates[0])[:2])
    s.wait_for_status(rf"Date {dates[0]} picked")
    net = until(s, lambda: (f := figure(s, "Pair network")) and any(
        r["data"].get("day") == [dates[0]] and "status" not in r["data"] for r in f["renderers"])
        and f, "the first date ringed")  # fmt: skip
    click_data(s, "Pair network", *node(net, dates[5])[:2])
    until(s, lambda: s.query().get("add") == f"{dates[0]}_{dates[5]}", "add= in the URL")
    s.wait_for_status(r"added to the network; press Compute")
    assert s.query()["pairs"] == "seq:2"  # still the rule, with its edits beside it
    s.page.locator(".ps-compute button").click()
    s.wait_for_status(r"pair\(s\) of .* computed", timeout=120)
    net = until(s, lambda: (f := figure(s, "Pair network")) and "outdated" not in f["title"]
                and f, "the network computed")  # fmt: skip
    assert edges(net)[f"{dates[0]}_{dates[5]}"] == "computed"
    assert set(edges(net).values()) == {"computed"}
    # prune: a minimum above every pair keeps only a spanning tree, dashed, still connected
    s.type_into("ps-min-coherence", "0.99")
    until(s, lambda: s.query().get("min_coherence") == "0.99", "min_coherence= in the URL")
    net = until(s, lambda: (f := figure(s, "Pair network")) and "rescued" in edges(f).values()
                and f, "pruned network")  # fmt: skip
    kept = [p for p, st in edges(net).items() if st == "rescued"]
    assert len(kept) == 4 and "pruned" in edges(net).values()  # a tree over the 5 dates left
    until(s, lambda: "kept to stay connected" in text_of(s, "ps-network-note"), "the pruning note")
    # not keeping it connected: every pair pruned, the nodes split, a warning names the groups
    s.page.locator(".ps-keep-connected input").first.click()
    until(s, lambda: s.query().get("connected") == "0", "connected=0 in the URL")
    until(s, lambda: "disconnected" in text_of(s, "ps-network-note"), "the disconnection warning")
    assert figure(s, "Pair network: disconnected") is not None
    # back to a connected network without a minimum, then a perpendicular-baseline limit
    s.page.locator(".ps-keep-connected input").first.click()
    s.type_into("ps-min-coherence", "")
    s.type_into("ps-max-bperp", "50")
    until(s, lambda: s.query().get("max_bperp") == "50" and "min_coherence" not in s.query(),
          "max_bperp= in the URL")  # fmt: skip

    def limited() -> bool:
        f = figure(s, "Pair network")
        found = [b for r in f["renderers"] if r["glyph"] == "Segment"
                 for b in r["data"].get("perpendicular_baseline", [])]  # fmt: skip
        return bool(found) and all(abs(b) <= 50 for b in found)

    until(s, limited, "only pairs within 50 m")
    s.assert_clean()


def test_matrix_table_pixel_and_shared_view(open_session: Any, demo_dates: Any) -> None:
    """Map geometry: CRS-titled axes, plain ticks, lat/lon hover; the pairs table and the matrix
    open pairs (no fading); a clicked pixel is marked, located and shown as a matrix and against
    date; zooming makes the statistics the view's; the URL reopens the same view."""
    burst, dates = demo_dates
    s = open_session()
    s.open(f"burst={burst}&pairs=seq:1&geometry=map", wait_for_title="coherence")
    s.wait_for_status(r"5 pair\(s\) of .* computed", timeout=120)
    coh = until(s, lambda: figure(s, "coherence"), "coherence map")
    assert re.fullmatch(r"easting \[m\], EPSG:32[67]\d\d", coh["xlabel"]), coh["xlabel"]
    assert coh["ylabel"].startswith("northing [m], EPSG:32")
    assert coh["xformatter"] == "NumeralTickFormatter"
    assert {"easting [m]", "northing [m]", "latitude", "longitude"} <= set(coh["tooltips"])
    # the pairs table: lowest mean coherence first; a row opens its pair
    rows = s.page.locator(".ps-pairs-table .slick-row")
    until(s, lambda: rows.count() == 5, "five table rows")
    heads = s.page.locator(".ps-pairs-table .slick-header-column").all_inner_texts()
    heads = [h.strip() for h in heads]
    texts = [rows.nth(i).inner_text().split("\n") for i in range(5)]
    assert {"pair", "days", "B_perp [m]", "mean coherence", "in network"} <= set(heads), heads
    values = [float(t[heads.index("mean coherence")]) for t in texts]
    assert values == sorted(values), texts
    lowest = texts[0][heads.index("pair")]
    rows.nth(0).click()
    a, b = lowest.split("_")
    s.wait_for_title(f"coherence {a} / {b}")
    # the matrix: a click on a cell opens that pair, and no cell fades
    matrix = figure(s, "Mean coherence per pair\n(whole burst)")
    assert matrix is not None
    cells = [r for r in matrix["renderers"] if r["glyph"] == "Rect" and "coherence" in r["data"]]
    assert cells and all(r["nonselection_alpha"] == 1 for r in cells), cells
    click_data(s, "Mean coherence per pair", 2.5, 3.5)  # categorical centres: cell (2, 3)
    s.wait_for_title(f"coherence {dates[2]} / {dates[3]}")
    # click a pixel in the middle of the coherence map
    x0, x1, y0, y1 = coh["ranges"]
    xc, yc = (x0 + x1) / 2, (y0 + y1) / 2
    click_data(s, "coherence", xc, yc)
    s.wait_for_title("Coherence matrix of\npixel (")
    s.wait_for_title("Coherence of pixel\n(")
    info = until(s, lambda: text_of(s, "ps-pixel-info"), "pixel info")
    assert re.search(r"latitude -?\d+\.\d{5}, longitude -?\d+\.\d{5}, height -?\d+ m", info), info

    def marked() -> bool:
        found = [r for r in figure(s, "coherence")["renderers"] if r["name"] == "ps-pixel"]
        return bool(found and found[0]["data"]["x"] and
                    abs(found[0]["data"]["x"][0] - xc) < 0.01 * (x1 - x0))  # fmt: skip

    until(s, marked, "the pixel marked on the map")
    assert "pixel" in s.query()
    # zoom the map: the matrix and the means become the view's, the URL keeps the view
    s.select("ps-colormap", "magma")
    magma = render.palette("magma")[0].lower()
    until(s, lambda: any(p["first"].lower() == magma for p in s.page.evaluate(_JS_PALETTES)),
          "the magma colour bar")  # fmt: skip
    sx, sy = s.screen_point("coherence", xc, yc)
    s.page.mouse.move(sx, sy)
    s.page.mouse.wheel(0, -500)
    until(s, lambda: figure(s, "Mean coherence per pair\n(current view)"), "matrix of the view")
    q = until(s, lambda: (q := s.query()).get("view") and q, "view= in the URL")
    assert q["colormap"] == "magma"
    view = [float(v) for v in q["view"].split(",")]
    assert view[1] - view[0] < 0.9 * (x1 - x0)
    # the shared URL opens the same view, colormap and pixel in a new session
    t = open_session()
    t.open(s.page.url.split("?", 1)[1], wait_for_title="coherence")
    t.wait_for_title("Coherence matrix of\npixel (")
    again = until(t, lambda: (f := figure(t, "coherence")) and abs(f["ranges"][0] - view[0])
                  < 0.02 * (view[1] - view[0]) and f, "the shared view")  # fmt: skip
    assert abs(again["ranges"][1] - view[1]) < 0.02 * (view[1] - view[0])
    assert any(p["first"].lower() == magma for p in t.page.evaluate(_JS_PALETTES))
    until(t, lambda: "latitude" in text_of(t, "ps-pixel-info"), "the shared pixel's place")
    s.assert_clean()
    t.assert_clean()


def test_honest_messages(open_session: Any, demo_dates: Any) -> None:
    """Every ignored URL parameter at once; a 1 x 1 window warns; 0 and oversize windows are
    explained; a changed window outdates the maps; phase never keeps a non-cyclic colormap; the
    colormap list marks the cyclic ones; a bad burst id is one line with a help link."""
    burst, dates = demo_dates
    s = open_session()
    s.open(f"burst={burst}&pairs={dates[0]}_{dates[1]}&window=1x1&frobnicate=1&months=13&"
           "view=1,2")  # fmt: skip
    text = s.wait_for_status(r"1x1 window holds 1 sample", timeout=120)
    assert "by construction" in text and text.count("Some URL parameters were ignored") == 1
    for word in ("'frobnicate'", "Month '13'", "View"):
        assert word in text, (word, text)
    # window sizes: 0 is changed to 1 and said; a window larger than the burst is refused
    s.type_into("ps-win-az", "0")
    s.wait_for_status(r"Azimuth looks 0 changed to 1")
    assert s.page.locator(".ps-win-az input").input_value() == "1"
    s.type_into("ps-win-rg", "900")
    until(s, lambda: any("outdated: press Compute" in t for t in s.titles()
                         if t.startswith("coherence")), "outdated map title")  # fmt: skip
    s.page.locator(".ps-compute button").click()
    text = s.wait_for_status(r"larger than the image", timeout=90)
    assert re.search(r"at most \d+ azimuth x \d+ range looks", text), text
    s.type_into("ps-win-rg", "21")
    s.type_into("ps-win-az", "5")
    # colormaps: the list says which are cyclic; phase drops a non-cyclic one picked before
    options = s.page.locator(".ps-colormap select option").all_inner_texts()
    assert "twilight (cyclic)" in options and "magma" in options, options
    s.select("ps-colormap", "magma")
    s.select("ps-layer", "phase")
    s.wait_for_status(r"not cyclic")
    until(s, lambda: s.page.locator(".ps-colormap select").input_value()
          == "layer default (twilight) (cyclic)", "colormap back to the layer's")  # fmt: skip
    twilight = render.palette("twilight")[0].lower()
    until(s, lambda: any(p["first"].lower() == twilight for p in s.page.evaluate(_JS_PALETTES)),
          "a cyclic phase colour bar")  # fmt: skip
    # a bad burst id: one line and a help link, shown as text
    s.type_into("ps-burst", "<b>not-a-burst</b>")
    text = s.wait_for_status(r"Unknown burst id")
    assert "\n" not in text.strip() and "T117_249435_IW2" in text and "<b>" in text
    link = s.page.locator(".ps-status a.ps-help")
    assert link.count() == 1 and link.first.get_attribute("href").startswith("https://")
    assert s.page.locator(".ps-status b").count() == 0
    s.assert_clean()
