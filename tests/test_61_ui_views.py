"""The QA and Learn views' logic without a browser, on the real core and the small demo catalog.

What the views draw is checked against the core it is built on: the product's render in physical
units, the statistics of the view against :func:`pairscope.qa.compare` on the same pixels, the
Touzi curve and phase noise, the demo truth beside the estimate, and a pixel's look geometry
against its definition (unit vectors, incidence from the ENU up component).
"""

from __future__ import annotations

import math
import pathlib
from typing import Any

import numpy as np
import pytest
import xarray as xr

from pairscope import coherence, geometry, qa, render
from pairscope.ui.app import make_backend
from pairscope.ui.settings import Settings
from pairscope.ui.state import ExplorerState, format_pairs
from pairscope.ui.views import learn
from pairscope.ui.views import maps as maps_view
from pairscope.ui.views import qa as qa_view

BURST = "T117_249435_IW2"


@pytest.fixture(scope="module")
def backend() -> Any:
    return make_backend()


@pytest.fixture(scope="module")
def state(demo_catalog: pathlib.Path, backend: Any) -> ExplorerState:
    """A session's state on the demo with its first pair computed (radar geometry, 5 x 21)."""
    location = str(demo_catalog)
    settings = Settings(catalog=location, tiles=None, url_sync=False)
    s = ExplorerState(settings, backend, default_catalog=location)
    s.connect()
    s.burst = BURST
    s.load()
    s.wait(120)
    dates = s.burst_dates.dates
    s.param.update(rule="manual", manual_pairs=format_pairs([(dates[0], dates[1])]))
    s.compute()
    s.wait(120)
    assert s.status_kind == "success", s.status
    return s


@pytest.fixture(scope="module")
def qa_view_on_demo(state: ExplorerState) -> qa_view.QAView:
    view = qa_view.QAView(state=state)
    view.activate()  # outside a server the work runs inline
    assert view.comparison is not None, view.message.object
    return view


# -- QA ----------------------------------------------------------------------------------------
def test_products_listed_with_their_pair_and_render(demo_catalog: pathlib.Path,
                                                    backend: Any) -> None:
    found = qa_view.list_qa_products(backend, str(demo_catalog), BURST)
    assert len(found) >= 3
    assert all(set(c.assets) == {"VH", "VV"} for c in found)
    first = found[0]
    assert first.pair == "20250605_20250611" and first.label.startswith("20250605 / 20250611 (6 d)")
    text, window = qa_view.product_estimator(first.item, "VV")
    assert window == (4, 19) and "boxcar" in text
    from pairscope.io.rasters import open_product

    product = open_product(first.item, "VV")
    r = qa_view.product_render(product)
    # the Terrascope render: DN 38..216 x 0.004 = coherence 0.152..0.864, viridis
    assert r.limits == (0.152, 0.864) and r.colormap_name == "viridis"
    assert "[[38, 216]]" in r.note
    # no render: pairscope's default coherence render, and said so
    bare = product.copy()
    bare.attrs = {k: v for k, v in product.attrs.items() if k != "renders"}
    d = qa_view.product_render(bare)
    assert d.limits == (0.0, 1.0) and "no render" in d.note


def test_estimator_window_from_description_when_no_property() -> None:
    class Asset:
        description = "Coherence, boxcar 3 x 10 (azimuth x range)"

    class Item:
        properties: dict[str, Any] = {}
        assets = {"coh": Asset()}

    text, window = qa_view.product_estimator(Item(), "coh")
    assert window == (3, 10) and text.startswith("Coherence")
    Item.assets = {}
    assert qa_view.product_estimator(Item(), "coh") == ("not stated by the product", None)


def test_comparison_on_the_product_grid(qa_view_on_demo: qa_view.QAView) -> None:
    c = qa_view_on_demo.comparison
    assert c is not None
    assert c.ours.shape == c.product.shape and c.window == (5, 21) and c.asset == "VV"
    np.testing.assert_array_equal(c.ours["x"].values, c.product["x"].values)
    diff = c.ours.values - c.product.values
    np.testing.assert_allclose(c.difference.values, diff, atol=1e-6, equal_nan=True)
    # the statistics shown for the whole grid are qa.compare's
    whole = qa_view.view_statistics(c)
    ref = qa.compare(c.product, c.ours, bins=qa_view.HIST_BINS)
    for key in ("bias", "rmse", "correlation", "n_both", "n_product", "n_ours"):
        assert whole[key] == pytest.approx(ref[key]), key
    assert abs(whole["bias"]) < 0.02 and whole["correlation"] > 0.95
    md = qa_view_on_demo.stats.object
    assert "whole product" in md or "current view" in md
    assert f"{whole['n_both']} of {whole['n_pixels']}" in md
    text = qa_view_on_demo.estimators.object
    assert "4 x 19" in text and "5 x 21" in text and "EPSG:32632" in text and "0.152" in text


def test_statistics_follow_the_view(qa_view_on_demo: qa_view.QAView) -> None:
    view = qa_view_on_demo
    c = view.comparison
    assert c is not None
    x, y = c.product["x"].values, c.product["y"].values
    x_range, y_range = (x[10], x[60]), (y[90], y[30])  # y descends on the product grid
    import panel as pn

    root = pn.panel(view.histogram).get_root()  # drawn: a zoom changes it in place
    view._view_changed(x_range=x_range, y_range=y_range)
    stats = qa_view.view_statistics(c, x_range, y_range)
    sub_p = c.product.sel(x=slice(x[10], x[60]), y=slice(y[30], y[90]))
    sub_o = c.ours.sel(x=slice(x[10], x[60]), y=slice(y[30], y[90]))
    assert stats["n_pixels"] == sub_p.size == 51 * 61
    ref = qa.compare(sub_p.values, sub_o.values)
    assert stats["rmse"] == pytest.approx(ref["rmse"]) and stats["n_both"] == ref["n_both"]
    assert "current view" in view.stats.object and f"of {51 * 61}" in view.stats.object
    # the histogram holds exactly the pixels valid in both, each in its bin (empty bins blank)
    drawn = view.histogram.object
    assert drawn.title.text == f"Product vs ours: 2-D histogram of {ref['n_both']} pixels"
    image = view._histogram.source.data["image"][0]
    p, o = sub_p.values.ravel(), sub_o.values.ravel()
    both = np.isfinite(p) & np.isfinite(o)
    bins = np.minimum((np.stack([o[both], p[both]]) * qa_view.HIST_BINS).astype(int),
                      qa_view.HIST_BINS - 1)  # fmt: skip
    expected = np.zeros((qa_view.HIST_BINS, qa_view.HIST_BINS))
    np.add.at(expected, (bins[0], bins[1]), 1)
    np.testing.assert_array_equal(np.nan_to_num(image), expected)
    assert np.isnan(image[expected == 0]).all() and np.nansum(image) == ref["n_both"]
    titles = {m.text for m in root.references() if type(m).__name__ == "Title"}
    assert f"Product vs ours: 2-D histogram of {ref['n_both']} pixels" in titles, titles
    empty = qa_view.view_statistics(c, (0.0, 1.0), (0.0, 1.0))
    assert empty["n_pixels"] == 0 and math.isnan(empty["bias"])
    view._view_changed(x_range=(0.0, 1.0), y_range=(0.0, 1.0))  # a view beside the product
    assert drawn.title.text == "Product vs ours: 2-D histogram of 0 pixels"
    assert np.isnan(view._histogram.source.data["image"][0]).all()
    view._view_changed(None, None)
    assert "whole product" in view.stats.object
    # the same histogram, fed the whole product's pixels (a new one per zoom was ~0.2-0.5 s)
    assert view.histogram.object is drawn
    assert drawn.title.text.endswith(f"2-D histogram of {qa_view.view_statistics(c)['n_both']} pixels")


def test_qa_maps_are_kept_and_a_zoom_gives_the_view_statistics(
    qa_view_on_demo: qa_view.QAView,
) -> None:
    """The three QA maps are built at the first comparison and kept: they show the product, ours
    and the difference on the product grid (as many metres across as up), pan and zoom together,
    and a zoom gives the statistics and histogram of the range shown; a new comparison changes
    the figures drawn."""
    view = qa_view_on_demo
    c, linked = view.comparison, view.maps
    assert c is not None and linked is not None
    figures = [pane.object for pane in view.map_panes]
    assert figures == [m.fig for m in linked.maps]
    assert len({id(m.fig.x_range) for m in linked.maps}) == 1
    for m, da in zip(linked.maps, (c.product, c.ours, c.difference), strict=True):
        assert m.frame is not None
        np.testing.assert_array_equal(m.frame.values[::-1], np.asarray(da.values, np.float32))
    assert [m.fig.title.text for m in linked.maps][1:] == ["Ours 5x21, geocoded",
                                                           "Difference (ours - product)"]
    fig = linked.maps[0].fig
    (h, w) = linked.maps[0].pixels
    dx, dy = fig.x_range.end - fig.x_range.start, fig.y_range.end - fig.y_range.start
    assert dx / w == pytest.approx(dy / h)  # one metre as long across as up
    x, y = c.product["x"].values, c.product["y"].values
    linked.show_range((float(x[10]), float(x[60]), float(y[90]), float(y[30])))
    assert view._range == ((float(x[10]), float(x[60])), (float(y[90]), float(y[30])))
    ref = qa_view.view_statistics(c, (x[10], x[60]), (y[90], y[30]))
    assert "current view" in view.stats.object and f"of {ref['n_pixels']}" in view.stats.object
    assert view._histogram is not None
    assert view._histogram.fig.title.text.endswith(f"of {ref['n_both']} pixels")
    for m in linked.maps:  # the samples of the range, one cell per sample
        assert m.source.data["image"][0].shape == (61, 51)
    view.compare()  # again (inline here): the same figures, still showing the range zoomed to
    assert [pane.object for pane in view.map_panes] == figures and view.maps is linked
    assert view._range == ((float(x[10]), float(x[60])), (float(y[90]), float(y[30])))
    assert "current view" in view.stats.object
    linked.show_range((float(x[0]), float(x[-1]), float(y[-1]), float(y[0])))  # all of it
    assert view._range == (None, None) and "whole product" in view.stats.object


def test_best_window_search_and_use(qa_view_on_demo: qa_view.QAView, state: ExplorerState) -> None:
    view = qa_view_on_demo
    c = view.comparison
    assert c is not None
    found = qa_view.best_window(state.backend, state.catalog, BURST, c,
                                windows=((2, 8), (4, 19), (7, 28)))
    assert found["best"] == (4, 19)
    frame = qa_view.best_window_frame(found)
    assert frame["window"].iloc[0] == "4x19" and frame["RMSE"].iloc[0] < 0.004
    view.best = found
    view.use_best()
    assert (state.window_azimuth, state.window_range) == (4, 19)
    assert view.comparison is not None and view.comparison.window == (4, 19)
    assert qa_view.view_statistics(view.comparison)["rmse"] < 0.004
    state.param.update(window_azimuth=5, window_range=21)


def test_no_product_is_said(state: ExplorerState) -> None:
    view = qa_view.QAView(state=state)
    view.choices = {}
    view.compare()
    assert "Pick a published product" in view.message.object


# -- Learn -------------------------------------------------------------------------------------
def test_bias_curves_and_histogram() -> None:
    curves = learn.bias_curves(105)
    np.testing.assert_allclose(curves["expected"], coherence.expected_sample_coherence(
        curves["true"].to_numpy(), 105))  # fmt: skip
    assert np.all(np.diff(curves["expected"]) >= 0) and curves["expected"].iloc[0] > 0.05
    # fewer looks: more bias at zero coherence, more phase noise at 0.5
    few = learn.bias_curves(9)
    assert few["expected"].iloc[0] > curves["expected"].iloc[0]
    half = int(np.argmin(np.abs(curves["true"].to_numpy() - 0.5)))
    expected_deg = math.degrees(math.sqrt(1 - 0.25) / (0.5 * math.sqrt(2 * 105)))
    assert curves["phase_std_deg"].iloc[half] == pytest.approx(expected_deg, rel=1e-6)
    assert few["phase_std_deg"].iloc[half] > curves["phase_std_deg"].iloc[half]
    assert curves["phase_std_deg"].max() == pytest.approx(math.degrees(math.pi / math.sqrt(3)))
    share, edges = learn.coherence_histogram(np.array([0.1, 0.1, 0.9, np.nan, 1.0]), bins=10)
    assert share.sum() == pytest.approx(1.0) and share[1] == pytest.approx(0.5) and len(edges) == 11
    assert learn.fringe_cycle() == pytest.approx(geometry.SENTINEL1_WAVELENGTH / 2)
    assert 0.0277 < learn.fringe_cycle() < 0.0278


def test_learn_view_recomputes_with_the_slider(state: ExplorerState) -> None:
    view = learn.LearnView(state=state)
    view.activate()
    assert "105 looks" in view.message.object, view.message.object
    assert view.truth is not None
    first = view.truth
    view.azimuth.value, view.range.value = 2, 8
    view._window_changed()
    assert "window 2x8 (16 looks)" in view.message.object
    second = view.truth
    assert second is not None and second is not first
    # fewer looks: the estimate is biased higher against the truth, as Touzi's curve says
    assert second.mean_error > first.mean_error
    assert second.predicted_bias > first.predicted_bias > 0
    assert second.mean_error == pytest.approx(second.predicted_bias, abs=0.02)
    np.testing.assert_allclose(second.error.values, second.estimate.values - second.truth.values,
                               atol=1e-6, equal_nan=True)  # fmt: skip
    title = view.curves.object.title.text
    assert title.startswith("Sample coherence bias, 16 looks")
    # the sidebar's window moves the sliders and recomputes
    state.param.update(window_azimuth=3, window_range=12)
    assert (view.azimuth.value, view.range.value) == (3, 12)
    assert "window 3x12 (36 looks)" in view.message.object
    state.param.update(window_azimuth=5, window_range=21)


def test_learn_figures_are_built_once_and_change_in_place(state: ExplorerState) -> None:
    """A new window changes the Learn tab's curves, histograms, legend, titles and truth maps in
    the figures drawn (five new figures per window were ~0.6 s of the server's loop); the curves
    are Touzi's and Cramer-Rao's for the window, the sidebar's beside them when it differs."""
    import panel as pn

    from pairscope import coherence

    state.param.update(window_azimuth=5, window_range=21)
    view = learn.LearnView(state=state)
    root = pn.panel(view).get_root()
    view.activate()
    bias, phase = view.curves.object, view.phase.object
    maps = [pane.object for pane in view.truth_panes]
    assert bias is not None and all(m is not None for m in maps)
    linked = view.truth_maps
    assert linked is not None and [m.fig for m in linked.maps] == maps
    truth_image = linked.maps[0].source.data["image"][0]
    assert not view._legend["side"].visible  # the sliders show the sidebar's window
    view.azimuth.value, view.range.value = 2, 8
    view._window_changed()
    assert view.curves.object is bias and view.phase.object is phase
    assert [pane.object for pane in view.truth_panes] == maps and view.truth_maps is linked
    assert bias.title.text.startswith("Sample coherence bias, 16 looks: pure noise reads")
    assert phase.title.text.startswith("Phase noise (Cramer-Rao), 16 looks")
    curve = view._sources["bias_curve"].data
    np.testing.assert_allclose(curve["y"], coherence.expected_sample_coherence(curve["x"], 16))
    side = view._sources["bias_side"].data
    np.testing.assert_allclose(side["y"], coherence.expected_sample_coherence(side["x"], 105))
    assert view._legend["side"].visible and view._legend["side"].label.value == "105 looks (sidebar)"
    assert view._floor.location == pytest.approx(float(curve["y"][0]))
    hist = view._sources["bias_hist"].data
    assert len(hist["top"]) == learn.HIST_BINS and max(hist["top"]) == pytest.approx(1.0)
    # the maps: the new estimate and error drawn in the same figures; the truth (the pair's,
    # not the window's) not sent again
    tc = view.truth
    shown = [m.frame.values for m in linked.maps if m.frame is not None]
    for values, expected in zip(shown, (tc.truth, tc.estimate, tc.error), strict=True):
        np.testing.assert_array_equal(values, np.asarray(expected.values, np.float32))
    assert linked.maps[0].source.data["image"][0] is truth_image
    rows, cols = tc.estimate.shape
    for m in linked.maps:  # all of the grid, in whole-sample blocks for the figure's pixels
        data = m.source.data
        assert (data["x"], data["y"], data["dw"], data["dh"]) == ([-0.5], [-0.5], [cols], [rows])
        np.testing.assert_array_equal(data["image"][0], render.block_reduce(
            m.frame.values, maps_view.factors(m.frame, None, m.pixels)))
    assert [m.fig.title.text for m in linked.maps][1:] == [
        "Estimate, 16 looks", f"Error: mean {tc.mean_error:+.3f} (Touzi {tc.predicted_bias:+.3f})"]
    assert linked.maps[2].mapper.palette == list(render.palette("rdbu_r"))
    titles = {m.text for m in root.references() if type(m).__name__ == "Title"}
    assert "Estimate, 16 looks" in titles, titles
    # a zoom: the three maps (one range pair) show the samples of the range, not resampled
    assert len({id(m.fig.x_range) for m in linked.maps}) == 1
    c0, r0 = cols // 4, rows // 4  # samples c0..c0+10, lines r0..r0+8 (cells meeting the range)
    linked.show_range((c0 + 10.0, float(c0), r0 + 8.0, float(r0)))
    for m in linked.maps:
        data = m.source.data
        assert (data["x"], data["y"], data["dw"], data["dh"]) == ([c0 - 0.5], [r0 - 0.5], [11], [9])
        np.testing.assert_array_equal(data["image"][0], m.frame.values[r0:r0 + 9, c0:c0 + 11])
    # back to the sidebar's window: no second curve
    view.azimuth.value, view.range.value = 5, 21
    view._window_changed()
    assert not view._legend["side"].visible and list(view._sources["bias_side"].data["x"]) == []


def test_truth_needs_the_demo(tmp_path: pathlib.Path, backend: Any) -> None:
    est = xr.DataArray(np.zeros((3, 4), np.float32), dims=("azimuth", "range"))
    with pytest.raises(FileNotFoundError, match="not a pairscope demo"):
        learn.truth_comparison(backend, str(tmp_path / "catalog.json"), "2025-06-05",
                               "2025-06-11", "VV", est, 105)  # fmt: skip


def test_truth_is_of_the_burst_shown(demo_catalog: pathlib.Path, backend: Any) -> None:
    """Each burst of the demo has its own scene: the Learn tab compares with that burst's truth."""
    from pairscope.sim.demo import open_truth, true_pair_coherence

    location = str(demo_catalog)
    neighbour = "T117_249436_IW2"
    ref, sec = np.datetime64("2025-06-05"), np.datetime64("2025-06-11")
    est = backend.compute_pair(location, neighbour, "VV", ref, sec, (5, 21), False, "radar")
    tc = learn.truth_comparison(backend, location, ref, sec, "VV", est["coherence"], 105,
                                burst_id=neighbour)  # fmt: skip
    own = true_pair_coherence(open_truth(location, burst_id=neighbour), ref, sec, "VV").values
    first = true_pair_coherence(open_truth(location), ref, sec, "VV").values
    assert not np.array_equal(own, first)  # the scenes differ
    np.testing.assert_array_equal(np.asarray(tc.truth.values), own)


def test_pixel_look_geometry(state: ExplorerState) -> None:
    ds = state.current()
    assert ds is not None
    found = learn.pixel_location(ds, 300.0, 75.0)
    assert found is not None
    lat, lon, h = found
    assert lat == pytest.approx(float(ds["latitude"].values[75, 300]))
    assert learn.pixel_location(ds, -50.0, 75.0) is None
    # on a map grid the point goes through the grid's CRS (UTM) back to lat/lon
    a, b = state.burst_dates.dates[:2]
    mapped = state.backend.compute_pair(state.catalog, BURST, "VV", a, b, (5, 21), False, "map")
    assert mapped.rio.crs is not None
    from pyproj import Transformer

    x0, y0 = Transformer.from_crs("EPSG:4326", mapped.rio.crs, always_xy=True).transform(lon, lat)
    on_map = learn.pixel_location(mapped, x0, y0)
    assert on_map is not None
    assert on_map[0] == pytest.approx(lat, abs=2e-4) and on_map[1] == pytest.approx(lon, abs=3e-4)
    dates = state.burst_dates.dates
    g = learn.pixel_geometry(state.backend.orbit(state.catalog, BURST, "VV", dates[0]), lat, lon, h)
    # the look vector is the unit vector from the sensor to the target
    los = g.target - g.sensor
    np.testing.assert_allclose(g.look, los / np.linalg.norm(los), atol=1e-6)
    assert np.linalg.norm(los) == pytest.approx(g.slant_range, rel=1e-6)
    assert np.linalg.norm(g.enu) == pytest.approx(1.0, abs=1e-6)
    assert g.incidence == pytest.approx(math.degrees(math.acos(g.enu[2])), abs=1e-3)
    assert 25 < g.incidence < 50 and 650e3 < np.linalg.norm(g.sensor) - 6.36e6 < 750e3
    # ascending, right-looking: the sensor is seen towards the west
    assert g.enu[0] < 0
    text = learn.look_markdown(g, "(300, 75)")
    assert f"{g.incidence:.2f} deg" in text and "ECEF" in text and "ENU" in text
    view = learn.LearnView(state=state)
    view.active = True
    state.pixel = (300.0, 75.0)
    assert "Pixel (300, 75)" in view.look_text.object
    state.pixel = None


def test_views_are_built_when_added_in_two_steps(state: ExplorerState) -> None:
    """A served (progressive) page gets, after its first maps, the sidebar and the downloads in
    one step, then the network, the matrix and the pixel plots together in the next (so another
    session's request waits for one step at most, and the browser lays the page out twice, not
    four times); a view is built only when it is added, and QA and Learn only when their tab is
    first shown."""
    from pairscope.ui.app import SECONDARY, Explorer

    app = Explorer(state=state, progressive=True)
    assert not any(app.built(name) for name in ("sidebar", "downloads", *SECONDARY, "qa", "learn"))
    side, rest = app._side, app._rest
    assert not side.objects and not app._downloads_slot.objects and not rest.objects
    assert app.add_next_view() and app.built("sidebar") and len(side.objects) == 1
    assert app.built("downloads") and len(app._downloads_slot.objects) == 1
    assert not any(app.built(name) for name in SECONDARY) and not app.completed
    assert not app.add_next_view() and app.completed
    assert all(app.built(name) for name in SECONDARY) and len(rest.objects) == len(SECONDARY)
    assert app._side is side and app._rest is rest  # the same places on the page
    assert not app.add_next_view()  # nothing more to add
    assert len(side.objects) == 1 and len(rest.objects) == len(SECONDARY)
    assert not app.built("qa") and not app.built("learn")
    assert Explorer(state=state)._side.objects  # not progressive: the sidebar from the start
    app._show_tab(2)
    assert app.built("learn") and not app.built("qa")


def test_whole_page_passes_bokehs_document_check(state: ExplorerState) -> None:
    """`pairscope serve` turns off Bokeh's check of every new session's document (~0.07 s of each
    page's response): the check runs here instead, on the whole page (sidebar, maps, network,
    matrix, pixel plots, QA, Learn), and finds no error and no warning."""
    import panel as pn
    from bokeh.core.validation.check import check_integrity
    from bokeh.document import Document

    from pairscope.ui.app import Explorer

    app = Explorer(state=state)
    app.complete()
    doc = Document()
    pn.panel(app).server_doc(doc)
    models = list(doc.models)
    assert len(models) > 200  # the whole page, not an empty shell
    issues = check_integrity(models)
    assert issues.error == [] and issues.warning == [], issues


def test_no_figure_of_the_whole_page_draws_with_webgl(state: ExplorerState) -> None:
    """Served pages leave BokehJS's WebGL bundle out (`ui.app.leave_out_webgl`): no model of the
    whole page may need it, by the check Bokeh itself uses to pick the bundles of a page."""
    import panel as pn
    from bokeh.document import Document
    from bokeh.embed.bundle import _all_objs, _use_gl
    from bokeh.plotting import figure

    from pairscope.ui.app import Explorer

    app = Explorer(state=state)
    app.complete()
    app._show_tab(1)  # QA's and Learn's views too
    app._show_tab(2)
    doc = Document()
    pn.panel(app).server_doc(doc)
    models = _all_objs(doc.roots)
    assert len(models) > 200 and app.built("qa") and app.built("learn")
    assert not _use_gl(models)
    assert _use_gl(_all_objs([figure(output_backend="webgl")]))  # the check sees one
