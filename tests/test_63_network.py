"""Network building and honest views in the explorer's state and views, without a browser.

The state runs on the instant fake backend of ``test_60_ui_state`` (coherence exp(-dt / 30 days)
plus a ramp across range; five dates 12 days apart with perpendicular baselines 0, 35, -20, 60,
10 m); numbers are checked against :mod:`pairscope.pairs` and against direct numpy on the
results. The same behaviours in a real browser: ``test_64_ui_network_browser.py``.
"""

from __future__ import annotations

import math
import pathlib
import time
from typing import Any

import numpy as np
import pytest
import xarray as xr

from pairscope.pairs import NetworkLimits, connected_components, make_network
from pairscope.ui.settings import Settings
from pairscope.ui.state import (
    BURST_HELP_URL,
    ExplorerState,
    pair_key,
    parse_months,
    pixel_matrix,
    region_mean,
)
from pairscope.ui.views import matrix as matrix_view
from pairscope.ui.views import network as network_view
from pairscope.ui.views import style
from pairscope.ui.views.status import status_html
from tests.test_60_ui_state import DATES, FakeBackend

BASELINES = dict(zip(DATES, (0.0, 35.0, -20.0, 60.0, 10.0), strict=True))


class CountingBackend(FakeBackend):
    def __init__(self, delay: float = 0.0) -> None:
        super().__init__(delay)
        self.pairs: list[str] = []

    def compute_pair(self, catalog, burst_id, polarization, reference, secondary, *args,
                     **kwargs):  # fmt: skip
        self.pairs.append(pair_key(reference, secondary))
        return super().compute_pair(catalog, burst_id, polarization, reference, secondary,
                                    *args, **kwargs)  # fmt: skip


@pytest.fixture
def settings(tmp_path: pathlib.Path) -> Settings:
    cat = tmp_path / "cat" / "catalog.json"
    cat.parent.mkdir()
    cat.write_text("{}")
    return Settings(catalog=str(cat), tiles=None, demo_dir=tmp_path / "demo", url_sync=False)


def loaded(settings: Settings, backend: FakeBackend | None = None, **values: object) -> ExplorerState:
    state = ExplorerState(settings, backend or CountingBackend(), default_catalog=settings.catalog)
    state.connect()
    state.param.update(**values)
    state.load()
    state.wait()
    assert state.burst_dates is not None, state.status
    return state


def computed(state: ExplorerState) -> ExplorerState:
    state.compute()
    state.wait()
    assert state.status_kind in ("success", "warning"), state.status
    return state


def keys(pairs) -> list[str]:
    return [p.label for p in pairs]


# -- the network of the selection -------------------------------------------------------------
def test_network_follows_rule_limits_and_edits(settings: Settings) -> None:
    state = loaded(settings, rule="all")
    assert len(state.network.candidates) == 10 and state.network.connected
    # the same numbers as pairscope.pairs with the burst's baselines
    state.param.update(max_days=24, max_bperp=40)
    want = make_network(DATES, "all", limits=NetworkLimits(max_temporal_baseline=24,
                        max_perpendicular_baseline=40), baselines=BASELINES)  # fmt: skip
    assert keys(state.network.candidates) == keys(want.candidates)
    assert all(abs(p.perpendicular_baseline) <= 40 for p in state.network.candidates)
    # a click on a date excludes it (and again brings it back)
    state.param.update(max_days=None, max_bperp=None)
    state.toggle_date("2024-08-21")
    assert state.excluded == ["20240821"] and "excluded" in state.status
    assert all("20240821" not in k for k in keys(state.network.candidates))
    assert len(state.network.candidates) == 6
    state.toggle_date("20240821")
    assert state.excluded == [] and len(state.network.candidates) == 10
    # months to keep: only the September dates
    state.months = parse_months("sep")
    assert keys(state.network.candidates) == ["20240902_20240914", "20240902_20240926",
                                              "20240914_20240926"]  # fmt: skip
    state.months = []
    # drop a pair of the rule, add one outside it
    state.param.update(rule="sequential", rule_value="1")
    state.toggle_pair("20240821_20240809")
    assert state.dropped == ["20240809_20240821"] and "dropped" in state.status
    state.toggle_pair("20240809_20240926")
    assert state.added == ["20240809_20240926"] and "press Compute" in state.status
    assert keys(state.network.candidates) == ["20240809_20240926", "20240821_20240902",
                                              "20240902_20240914", "20240914_20240926"]  # fmt: skip
    # the dropped pair split the network: 20240809-20240926 links it again through the end
    assert state.network.connected


def test_rule_and_edits_round_trip_through_the_url(settings: Settings) -> None:
    state = loaded(settings, rule="max", rule_value="24")
    state.param.update(start="2024-08-21", max_bperp=70.5, months=[8, 9], min_coherence=0.4,
                       keep_connected=False, colormap="magma", view=(2.0, 30.0, 1.0, 15.0),
                       pixel=(12.0, 7.0))  # fmt: skip
    state.toggle_date("20240902")
    state.toggle_pair("20240821_20240926")
    q = state.query()
    assert q["pairs"] == "max:24" and q["start"] == "20240821" and "end" not in q
    assert q["exclude"] == "20240902" and q["add"] == "20240821_20240926"
    assert q["months"] == "8,9" and q["max_bperp"] == "70.5" and q["min_coherence"] == "0.4"
    assert q["connected"] == "0" and q["colormap"] == "magma"
    assert q["view"] == "2,30,1,15" and q["pixel"] == "12,7"
    other = ExplorerState(settings, CountingBackend(), default_catalog=settings.catalog)
    other.connect()
    other.apply_query(q)
    other.load()
    other.wait()
    assert other.query() == q
    assert keys(other.network.candidates) == keys(state.network.candidates)
    assert (other.view, other.pixel, other.colormap) == (state.view, state.pixel, "magma")
    # every rule of the one grammar stays as written; explicit pairs only when hand-picked
    for text in ("all", "max:24", "exact:12,24", "seq:2", "ref:20240821"):
        s = loaded(settings)
        s.apply_query({"pairs": text})
        assert s.query()["pairs"] == text
    s = loaded(settings)
    s.apply_query({"pairs": "20240821_20240809,20240902_20240914"})
    assert s.rule == "manual" and s.query()["pairs"] == "20240809_20240821,20240902_20240914"
    assert "start" not in s.query()


def test_every_ignored_url_parameter_is_reported_at_once(settings: Settings) -> None:
    state = ExplorerState(settings, CountingBackend(), default_catalog=settings.catalog)
    state.apply_query({"burst": "T117_249435_IW2", "months": "13", "view": "1,2,3",
                       "colormap": "rainbow", "zoom": "4", "min_coherence": "2",
                       "window": "3x9"})  # fmt: skip
    text = state.status
    assert state.status_kind == "warning" and text.count("Some URL parameters were ignored") == 1
    for word in ("'zoom'", "Month", "View", "rainbow", "Minimum coherence"):
        assert word in text, (word, text)
    assert (state.window_azimuth, state.window_range) == (3, 9)  # the good ones are applied


def test_coherence_pruning_keeps_the_network_connected(settings: Settings) -> None:
    state = computed(loaded(settings, rule="all"))
    means = state.view_means
    assert means == pytest.approx(state.pair_means)
    # 12-day pairs average 0.8 exp(-12/30) + 0.1 = 0.64, 24-day pairs 0.46: a minimum of 0.6
    # keeps the sequential chain and prunes the rest, and the chain holds the network together
    state.min_coherence = 0.6
    net = state.network
    assert net.connected and len(net.pruned) == 6 and not net.rescued
    assert all(means[p.label] < 0.6 for p in net.pruned)
    assert all(means[p.label] >= 0.6 for p in net.kept)
    kind, text = network_view.network_note(state)
    assert kind == "info" and "6 pair(s) pruned" in text
    # a minimum above every pair: the spanning tree (the chain) stays, under the minimum
    state.min_coherence = 0.75
    net = state.network
    assert net.connected and keys(net.rescued) == keys(net.kept) and len(net.kept) == 4
    # without it every pair goes and the network falls apart: a warning names the groups
    state.keep_connected = False
    cut = state.network
    assert not cut.kept and len(cut.components) == 5
    assert len(connected_components(cut.kept, cut.dates)) == len(cut.components)
    kind, text = network_view.network_note(state)
    assert kind == "warning" and "disconnected: 5 groups" in text and cut.gaps() in text
    state.param.update(keep_connected=True, min_coherence=0.6)
    assert state.network.connected
    # the shown pairs (matrix, table, pixel) are those of the network, pruned ones marked
    table = matrix_view.pairs_table(state)
    assert set(table["pair"]) == {pair_key(a, b) for a, b in state.pair_list}
    assert set(table.loc[table["network"] == "pruned", "pair"]) == {p.label for p in state.network.pruned}
    assert list(table["coherence"]) == sorted(table["coherence"])  # lowest first


def test_outdated_views_say_so_and_compute_reuses(settings: Settings) -> None:
    backend = CountingBackend()
    state = computed(loaded(settings, backend, rule="sequential", rule_value="1"))
    assert state.stale == "" and len(backend.pairs) == 4
    state.toggle_pair("20240809_20240902")
    assert state.stale == "Outdated: 1 pair of the network is not computed. Press Compute."
    computed(state)
    assert backend.pairs[4:] == ["20240809_20240902"]  # the four others reused
    assert state.stale == "" and len(state.results) == 5
    # dropping pairs needs no computing: the views just show fewer
    state.toggle_pair("20240809_20240902")
    assert state.stale == "" and len(state.shown_pairs()) == 4
    state.window_range = 9
    assert "window changed from 5x21 to 5x9" in state.stale and "Press Compute" in state.stale
    state.bias_corrected = True
    assert "bias correction" in state.stale
    computed(state)
    assert state.stale == ""
    nodes, edges, _ = network_view.network_frames(state)
    assert set(edges["status"]) == {"computed"}


def test_cancel_counts_what_was_computed(settings: Settings) -> None:
    state = loaded(settings, CountingBackend(delay=0.12), rule="all")
    state.compute()
    deadline = time.monotonic() + 10
    while len(state.backend.pairs) < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    state.cancel()
    state.wait()
    done = len(state.results)
    assert 1 <= done < 10
    assert state.status.startswith(f"Cancelled: {done} of 10 pairs computed; {10 - done} not "
                                   "computed")  # fmt: skip
    # finishing reuses what was computed
    state.backend.delay = 0.0
    computed(state)
    assert len(state.results) == 10 and len(state.backend.pairs) == 10


def test_small_and_zero_windows_are_explained(settings: Settings) -> None:
    state = loaded(settings, rule="sequential", rule_value="1", window_azimuth=1, window_range=1)
    computed(state)
    assert state.status_kind == "warning"
    assert "1x1 window holds 1 sample" in state.status and "by construction" in state.status
    state.param.update(window_azimuth=2, window_range=2)
    computed(state)
    assert state.status_kind == "success"
    from pairscope.ui.views.sidebar import Sidebar

    bar = Sidebar(state=state)
    bar.window_range.value = 0
    assert bar.window_range.value == 1 and state.window_range == 1
    assert "Range looks 0 changed to 1" in state.status and state.status_kind == "warning"
    bar.window_azimuth.value = 99999
    assert state.window_azimuth == 501 and "largest" in state.status


def test_bad_burst_id_is_one_line_with_a_help_link(settings: Settings) -> None:
    state = loaded(settings)
    state.burst = "not-a-burst"
    state.wait()
    assert state.status_kind == "danger"
    assert state.status.count(".") <= 3 and "\n" not in state.status
    assert "T117_249435_IW2" in state.status and len(state.status) < 160
    assert state.status_link == ("How burst ids are written", BURST_HELP_URL)
    page = status_html(state.status, state.status_kind, state.status_link)
    assert page.count("<a ") == 1 and 'rel="noopener noreferrer"' in page
    # what a visitor typed is escaped, never markup; only web links are linked
    hostile = status_html("<img src=x onerror=alert(1)> [x](javascript:alert(1))", "danger",
                          ("help", "javascript:alert(1)"))  # fmt: skip
    assert "<img" not in hostile and "&lt;img" in hostile and "<a " not in hostile


def test_means_follow_the_view(settings: Settings) -> None:
    state = computed(loaded(settings, rule="sequential", rule_value="2"))
    key = "20240809_20240821"
    whole = state.view_means[key]
    state.view = (30.0, 39.0, 0.0, 19.0)  # the high end of the fake's range ramp
    coh = state.results[key]["coherence"]
    want = float(coh.sel(range=slice(30, 39)).mean())
    assert state.view_means[key] == pytest.approx(want) and state.view_means[key] > whole
    assert math.isnan(region_mean(coh, (100.0, 200.0, 0.0, 5.0)))  # outside the grid
    assert matrix_view.where_text(state) == "current view"
    assert matrix_view.pairs_table(state).set_index("pair").loc[key, "coherence"] == pytest.approx(
        round(want, 3))  # fmt: skip
    # another grid (geometry) forgets the view and the pixel
    state.pixel = (3.0, 4.0)
    state.geometry = "map"
    assert state.view is None and state.pixel is None
    state.wait()


def test_pixel_matrix_and_series(settings: Settings) -> None:
    state = computed(loaded(settings, rule="all"))
    state.pixel = (39.0, 3.0)
    rows = state.pixel_series()
    assert len(rows) == 10
    labels, m = pixel_matrix(DATES, rows)
    assert labels[0] == "20240809" and np.allclose(m, m.T, equal_nan=True)
    assert np.all(np.diag(m) == 1.0)
    for r in rows:
        i, j = labels.index(r["reference"].astype(str)[:10].replace("-", "")), labels.index(
            r["secondary"].astype(str)[:10].replace("-", ""))  # fmt: skip
        assert m[i, j] == r["coherence"] == pytest.approx(
            float(state.results[r["pair"]]["coherence"].values[3, 39]))  # fmt: skip
    first = rows[0]
    assert first["perpendicular_baseline"] == pytest.approx(35.0)
    # a pixel on the grid's edge is inside; half a cell further is outside
    state.pixel = (39.4, 19.4)
    assert len(state.pixel_series()) == 10
    state.pixel = (40.6, 3.0)
    assert state.pixel_series() == []


def test_phase_never_keeps_a_non_cyclic_colormap_by_default(settings: Settings) -> None:
    state = loaded(settings)
    state.colormap = "magma"
    state.layer = "phase"
    assert state.colormap == "render" and "cyclic" in state.status
    state.colormap = "viridis"  # asked for on the phase: allowed
    assert state.colormap == "viridis"
    state.layer = "coherence"
    state.colormap = "hsv"
    state.layer = "phase"
    assert state.colormap == "hsv"  # cyclic: kept
    labels = style.colormap_options(("render", "viridis", "twilight", "hsv"), "phase")
    assert labels == {"layer default (twilight) (cyclic)": "render", "viridis": "viridis",
                      "twilight (cyclic)": "twilight", "hsv (cyclic)": "hsv"}  # fmt: skip
    assert "layer default (viridis)" in style.colormap_options(("render",), "coherence")


def test_map_axes_name_the_crs_and_hover_gives_latitude(settings: Settings) -> None:
    from pyproj import CRS

    from pairscope.ui.views.maps import is_whole, latlon_grids

    assert style.map_axis_labels(False, CRS.from_epsg(32632)) == (
        "easting [m], EPSG:32632", "northing [m], EPSG:32632")
    assert style.map_axis_labels(True) == ("range [sample]", "azimuth [line]")
    da = xr.DataArray(np.zeros((3, 4), np.float32), dims=("y", "x"),
                      coords={"y": [5_000_030.0, 5_000_010.0, 4_999_990.0],
                              "x": [600_010.0, 600_030.0, 600_050.0, 600_070.0]})  # fmt: skip
    da = da.rio.write_crs("EPSG:32632")
    lat, lon = latlon_grids(da)
    assert lat.shape == (3, 4) and 45.0 < float(lat.mean()) < 45.2 and 10.2 < float(lon.mean()) < 10.35
    assert is_whole((0, 10, 0, 10), (0.1, 9.9, 0, 10)) and not is_whole((0, 5, 0, 10), (0, 10, 0, 10))


def test_views_render_the_network_and_pixel(settings: Settings) -> None:
    """The network, matrix and pixel views draw to Bokeh models with what they say (no browser)."""
    import panel as pn

    from pairscope.ui.views import MapsView, MatrixView, NetworkView, PixelView

    state = computed(loaded(settings, rule="sequential", rule_value="2"))
    state.toggle_date("20240902")
    state.toggle_pair("20240809_20240926")
    state.pixel = (10.0, 5.0)
    views = [NetworkView(state=state), MatrixView(state=state), PixelView(state=state),
             MapsView(state=state)]  # fmt: skip
    root = pn.Column(*views).get_root()
    models = list(root.references())
    titles = {m.text for m in models if type(m).__name__ == "Title"}
    assert any(t.startswith("Pair network") and "outdated: press Compute" in t for t in titles), titles
    assert any(t.startswith("Mean coherence per pair\n(whole burst)") for t in titles), titles
    assert any(t.startswith("Coherence matrix of\npixel (10, 5)") for t in titles), titles
    assert any(t.startswith("Coherence of pixel\n(10, 5) by date") for t in titles), titles
    # the excluded date is hollow (its own renderer, no fill), the added pair is not computed
    nodes, edges, _ = network_view.network_frames(state)
    assert nodes.set_index("day").loc["20240902", "status"] == "excluded"
    assert edges.set_index("pair").loc["20240809_20240926", "status"] == "not computed"
    # the clicked pixel is marked on the maps, with its window in radar geometry
    markers = [m for m in models if getattr(m, "name", None) in ("ps-pixel", "ps-pixel-window")]
    assert {m.name for m in markers} == {"ps-pixel", "ps-pixel-window"}
    source = markers[0].data_source
    assert list(source.data["x"]) == [10.0] and list(source.data["w"]) == [21.0]
    state.pixel = (12.0, 6.0)
    assert list(source.data["x"]) == [12.0]
    # the pairs table beside the matrix: baselines and mean coherence, lowest first
    table = views[1].table.value
    assert list(table.columns) == list(matrix_view.TABLE_COLUMNS)
    assert table["coherence"].is_monotonic_increasing
    views[1].table.selection = [0]
    assert state.pair == table["pair"].iloc[0]


def test_a_new_range_recolours_the_network_and_matrix_in_place(settings: Settings) -> None:
    """Pan or zoom changes only the means of the shown range: the network's computed edges, the
    matrix cells, its title and the table take the new values in the figures already drawn
    (a new figure made the browser lay the page out again)."""
    import panel as pn

    from pairscope.ui.views import MatrixView, NetworkView

    state = computed(loaded(settings, rule="sequential", rule_value="1"))
    network, matrix = NetworkView(state=state), MatrixView(state=state)
    root = pn.Column(network, matrix).get_root()

    from bokeh.models import Plot

    def figures() -> dict[str, Any]:
        return {m.title.text: m for m in root.references()
                if isinstance(m, Plot) and m.title is not None}  # fmt: skip

    before = figures()
    net_fig = next(f for t, f in before.items() if t.startswith("Pair network"))
    mat_fig = next(f for t, f in before.items() if t.startswith("Mean coherence per pair"))
    assert network._computed is not None and matrix._heat is not None
    whole = dict(state.view_means)
    state.view = (30.0, 39.0, 0.0, 19.0)  # the high end of the fake's range ramp
    assert state.view_means != whole
    after = figures()
    assert net_fig in after.values() and mat_fig in after.values()  # the same figures
    assert mat_fig.title.text == "Mean coherence per pair\n(current view)"
    _, edges, _ = network_view.network_frames(state)
    computed_edges = edges[edges["status"] == "computed"]
    np.testing.assert_allclose(network._computed.data["coherence"],
                               computed_edges["coherence"].to_numpy(float))  # fmt: skip
    cells = matrix._heat.data
    got = {(str(a), str(b)): float(v) for a, b, v in zip(cells["reference"], cells["secondary"],
                                                          cells["zvalues"], strict=True)
           if np.isfinite(v)}  # fmt: skip
    want = {(k[:8], k[9:]): v for k, v in state.view_means.items()}
    assert got == pytest.approx(want)
    table = matrix.table.value.set_index("pair")["coherence"]
    assert table.to_dict() == pytest.approx({k: round(v, 3) for k, v in want.items() for k in
                                             [f"{k[0]}_{k[1]}"]})  # fmt: skip
    # a change of the network itself still draws a new figure
    state.toggle_date("20240902")
    assert net_fig not in figures().values()


def test_another_pixel_or_pair_changes_the_pixel_plots_in_place(settings: Settings) -> None:
    """The pixel's three figures are built at the first clicked pixel and kept: another pixel or
    pair changes their data and titles (a new set of figures per click was ~0.5 s of the
    server's loop and ~150 new models for the browser); no pixel shows the message alone; a
    click on a matrix cell or a baseline point opens its pair."""
    import panel as pn
    from bokeh.events import Tap
    from bokeh.models import Plot

    from pairscope.ui.views import PixelView

    state = computed(loaded(settings, rule="sequential", rule_value="2"))
    view = PixelView(state=state)
    root = pn.panel(view).get_root()
    assert view._figures == {} and view._message.visible
    assert "click a map" in view._message.text
    state.pixel = (10.0, 5.0)
    figures = dict(view._figures)
    sources = dict(view._sources)
    assert set(figures) == {"baseline", "date", "matrix"}
    assert not view._message.visible and all(f.visible for f in view._figures.values())
    rows = state.pixel_series()
    points = sources["points"].data
    assert sorted(points["pair"]) == sorted(r["pair"] for r in rows)
    assert dict(zip(points["pair"], points["coherence"], strict=True)) == pytest.approx(
        {r["pair"]: r["coherence"] for r in rows})
    assert figures["matrix"].title.text.startswith("Coherence matrix of\npixel (10, 5)")
    labels, m = pixel_matrix(sorted(state.network.dates), rows)
    cells = sources["cells"].data
    assert len(cells["coherence"]) == int(np.isfinite(m).sum()) - len(labels)  # off-diagonal
    for a, b, v in zip(cells["reference"], cells["secondary"], cells["coherence"], strict=True):
        assert v == pytest.approx(m[labels.index(b), labels.index(a)])
    chosen = state.pair
    assert list(sources["outline"].data["reference"]) != [] and chosen
    # another pixel, then another pair: the same figures and sources, new values
    state.pixel = (30.0, 12.0)
    assert view._figures == figures and view._sources == sources
    assert figures["baseline"].title.text.startswith("Pixel (30, 12):\ncoherence per pair")
    assert sources["points"].data["coherence"] == pytest.approx(
        [r["coherence"] for r in state.pixel_series()])
    other = next(r["pair"] for r in rows if r["pair"] != chosen)
    state.pair = other
    assert view._figures == figures
    mark = sources["mark"].data
    assert len(mark["coherence"]) == 1
    assert sources["chosen"].data["coherence"] == pytest.approx(
        [r["coherence"] for r in state.pixel_series() if r["pair"] == other])
    plots = [m for m in root.references() if isinstance(m, Plot)]
    assert {id(f) for f in figures.values()} <= {id(p) for p in plots}
    # a click on a cell opens its pair (categorical centres 0.5, 1.5, ...), on the diagonal not
    a, b = chosen.split("_")
    i, j = view._factors.index(a), view._factors.index(b)
    figures["matrix"]._trigger_event(Tap(figures["matrix"], x=i + 0.5, y=j + 0.5))
    assert state.pair == chosen
    figures["matrix"]._trigger_event(Tap(figures["matrix"], x=i + 0.5, y=i + 0.5))
    assert state.pair == chosen
    # a click near a point of the baseline plot opens that pair
    row = next(r for r in state.pixel_series() if r["pair"] == other)
    figures["baseline"]._trigger_event(Tap(figures["baseline"], x=row["temporal_baseline"] + 1.0,
                                           y=row["coherence"]))  # fmt: skip
    assert state.pair == other
    # outside the maps: the message alone, the figures kept for the next pixel
    state.pixel = (40.6, 3.0)
    assert view._message.visible and not any(f.visible for f in view._figures.values())
    assert "outside the computed maps" in view._message.text
    state.pixel = (12.0, 6.0)
    assert view._figures == figures and not view._message.visible
