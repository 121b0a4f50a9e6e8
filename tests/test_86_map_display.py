"""The maps' display resampling (pairscope.render.block_reduce) against a slow, obvious
reference, and the maps view kept in place across zooms and pairs (no browser; the browser side
is test_60 / test_65)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from bokeh.plotting import figure

from pairscope.render import block_reduce
from pairscope.ui.settings import Settings
from pairscope.ui.views.maps import Frame, MapsView, drawn, factors, fits, frame
from tests.test_63_network import computed, loaded
from tests.test_63_network import settings as settings  # noqa: F401 - the fixture


def _reference(values: np.ndarray, fy: int, fx: int) -> np.ndarray:
    """Block by block in plain Python: the mean of the finite samples, NaN when none."""
    rows, cols = values.shape
    out = np.full((-(-rows // fy), -(-cols // fx)), np.nan)
    for i in range(out.shape[0]):
        for j in range(out.shape[1]):
            block = values[i * fy:(i + 1) * fy, j * fx:(j + 1) * fx].astype(np.float64).ravel()
            block = block[np.isfinite(block)]
            if block.size:
                out[i, j] = sum(float(v) for v in block) / block.size
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fy,fx", [(1, 1), (2, 3), (4, 7), (5, 1), (1, 11), (37, 53), (64, 64)])
def test_block_reduce_is_the_mean_of_finite_samples(dtype: type, fy: int, fx: int) -> None:
    rng = np.random.default_rng(fy * 100 + fx)
    values = rng.random((37, 53)).astype(dtype)
    values[rng.random(values.shape) < 0.2] = np.nan  # scattered no-data
    values[:8, :9] = np.nan  # a block (or more) with nothing finite
    values[30, 40] = np.inf
    out = block_reduce(values, (fy, fx))
    ref = _reference(values, fy, fx)
    assert out.shape == ref.shape and out.dtype == dtype
    np.testing.assert_array_equal(np.isnan(out), np.isnan(ref))
    tol = 1e-6 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(out[np.isfinite(ref)], ref[np.isfinite(ref)], rtol=tol, atol=tol)
    # on a view (a crop that is not contiguous), the same as on a copy of it
    np.testing.assert_array_equal(block_reduce(values[3:30, 5:50], (fy, fx)),
                                  block_reduce(values[3:30, 5:50].copy(), (fy, fx)))  # fmt: skip


def test_block_reduce_first_never_averages_angles() -> None:
    phase = np.array([[3.1, -3.1, 3.1, -3.1], [-3.1, 3.1, -3.1, 3.1]], np.float32)
    first = block_reduce(phase, (2, 2), first=True)
    np.testing.assert_array_equal(first, np.float32([[3.1, 3.1]]))  # the mean would be 0: a fake fringe
    assert abs(float(block_reduce(phase, (2, 2))[0, 0])) < 1e-6
    with pytest.raises(ValueError, match="2-D"):
        block_reduce(np.zeros(5), (2, 2))


def _frame(rows: int = 300, cols: int = 800, layer: str = "coherence") -> tuple[Frame, np.ndarray]:
    rng = np.random.default_rng(1)
    values = rng.random((rows, cols)).astype(np.float32)
    lat = np.linspace(45, 46, rows, dtype=np.float32)[:, None] + np.zeros(cols, np.float32)
    lon = np.linspace(10, 11, cols, dtype=np.float32)[None, :] + np.zeros((rows, 1), np.float32)
    da = xr.DataArray(values, dims=("azimuth", "range"),
                      coords={"azimuth": np.arange(rows), "range": np.arange(cols)})  # fmt: skip
    return frame(da, layer, (lat, lon)), values


def test_drawn_sends_the_samples_in_view_at_screen_size() -> None:
    fr, values = _frame()
    whole = drawn(fr, None, (100, 400))
    assert whole["image"][0].shape == (100, 400)  # 3 x 2 samples per cell
    assert (whole["x"][0], whole["y"][0], whole["dw"][0], whole["dh"][0]) == (-0.5, -0.5, 800, 300)
    np.testing.assert_allclose(whole["image"][0], _reference(values, 3, 2), rtol=1e-6)
    # zoomed in: only the samples in view, each block whole; past one sample per pixel the
    # samples themselves (no interpolation)
    view = (100.2, 299.6, 50.0, 149.0)
    part = drawn(fr, view, (100, 400))
    img = part["image"][0]
    assert img.shape == (100, 201) and part["x"][0] == 99.5 and part["y"][0] == 49.5
    np.testing.assert_array_equal(img, values[50:150, 100:301])  # every cell meeting the view
    assert factors(fr, view, (100, 400)) == (1, 1)
    # latitude / longitude ride along for hover: each cell's middle sample
    np.testing.assert_array_equal(part["latitude"][0][:, 0], fr.latlon[0][50:150, 100])
    # a range past the data's edges draws the data there is
    out = drawn(fr, (-500.0, 2000.0, -100.0, 100.0), (100, 400))
    assert out["x"][0] == -0.5 and out["dw"][0] == 800 and out["dh"][0] == 101
    # wrapped phase: the first sample of each block
    ph, pvalues = _frame(layer="phase")
    np.testing.assert_array_equal(drawn(ph, None, (100, 400))["image"][0], pvalues[::3, ::2])


def test_an_image_that_suits_the_figure_is_kept() -> None:
    """The first image is drawn before the browser has laid the figure out; the sizes it reports
    need no second image while the first has at least one cell per pixel each way."""
    fr, _ = _frame()  # 300 x 800 samples
    drawn_for = (100, 400)  # 3 x 2 samples per cell: 100 x 400 cells
    assert fits(fr, None, drawn_for, (100, 400))
    assert fits(fr, None, drawn_for, (90, 330))  # a little smaller
    assert fits(fr, None, drawn_for, (20, 60))  # a first, narrow layout pass: the bytes are sent
    assert not fits(fr, None, drawn_for, (100, 420))  # fewer cells than pixels: a finer one
    assert not fits(fr, None, drawn_for, (101, 400))
    # every sample drawn already: any larger figure suits it
    zoom = (100.0, 199.0, 50.0, 99.0)
    assert factors(fr, zoom, drawn_for) == (1, 1)
    assert fits(fr, zoom, drawn_for, (300, 900))
    assert fits(fr, zoom, drawn_for, (20, 40))


def test_maps_follow_zooms_and_pairs_in_the_same_figures(settings: Settings) -> None:
    import panel as pn

    state = computed(loaded(settings, rule="sequential", rule_value="1"))
    maps = MapsView(state=state)
    pn.Column(maps).get_root()
    figs = [m.fig for m in maps._maps]
    titles = [f.title.text for f in figs]
    assert titles[0].startswith("coherence ") and titles[1].startswith("phase "), titles
    assert figs[0].x_range is figs[1].x_range and figs[0].y_range is figs[1].y_range  # linked
    x0, x1, y0, y1 = maps._edges
    assert figs[0].y_range.start > figs[0].y_range.end  # radar: azimuth down
    whole = maps._maps[0].source.data["dw"][0]
    # a zoom: the state's view follows, both maps get the range's samples
    view = (x0 + 0.25 * (x1 - x0), x0 + 0.5 * (x1 - x0), y0 + 0.25 * (y1 - y0), y0 + 0.75 * (y1 - y0))
    maps.show_range(view)
    assert state.view == view
    for m in maps._maps:
        dw = m.source.data["dw"][0]
        assert dw < 0.5 * whole and abs(m.source.data["x"][0] - view[0]) <= 1.0
    assert maps.current_view() == ((view[0], view[1]), (view[2], view[3]))
    # another pair: the same figures, a new image, the zoom kept
    other = next(p for p in state.param["pair"].objects if p and p != state.pair)
    before = maps._maps[0].source.data["image"][0]
    state.pair = other
    assert [m.fig for m in maps._maps] == figs
    assert figs[0].title.text.startswith(f"coherence {other.replace('_', ' / ')}")
    assert maps._maps[0].source.data["image"][0] is not before  # the new pair's image was sent
    assert state.view == view and maps._maps[0].source.data["dw"][0] < 0.5 * whole
    # back to everything: no view in the state (the URL shows none)
    maps.show_range((x0 - 1, x1 + 1, y0 - 1, y1 + 1))
    assert state.view is None


def test_a_first_page_holds_the_first_map_and_the_second_follows_at_its_size(
    settings: Settings,
) -> None:
    """``companion_later`` (a shared URL's first document): the second map is neither built nor
    drawn (no figure to make, no image to send) until `show_companion`, which builds it on the
    first map's ranges, draws it for the range shown at the size the browser measured for the
    first map, and puts it in its place."""
    import panel as pn
    from bokeh.document import Document

    state = computed(loaded(settings, rule="sequential", rule_value="1"))
    maps = MapsView(state=state, companion_later=True)
    doc = Document()
    doc.add_root(pn.Column(maps).get_root(doc))
    assert len(maps._maps) == 1
    first = maps._maps[0]
    assert first.fig.document is doc and first.source.data["image"]
    assert sum(isinstance(m, figure) for m in doc.models) == 1
    # the browser laid the first figure out (Bokeh sets these from the browser's report)
    first.fig.set_from_json("inner_width", 431)
    first.fig.set_from_json("inner_height", 257)
    view = maps._edges
    x0, x1, y0, y1 = view
    zoom = (x0, x0 + 0.5 * (x1 - x0), y0, y0 + 0.5 * (y1 - y0))
    maps.show_range(zoom)
    assert len(maps._maps) == 1
    maps.show_companion()
    second = maps._maps[1]
    assert second.fig.document is doc  # on the page now, beside the first
    assert second.fig.x_range is first.fig.x_range and second.fig.y_range is first.fig.y_range
    assert second.fig.title.text.startswith("phase ")
    assert second.pixels == (257, 431)
    assert second.source.data["image"] and second.source.data["x"] == first.source.data["x"]
    assert second.source.data["dw"] == first.source.data["dw"]  # the same range
    maps.show_companion()  # once
    assert len(maps._maps) == 2 and sum(isinstance(m, figure) for m in doc.models) == 2
    # from now on both follow zooms and pairs, as on any page
    maps.show_range(view)
    assert second.source.data["dw"] == first.source.data["dw"]
    # a page that is not a shared view's first document holds both maps at once
    both = MapsView(state=state)
    other = Document()
    other.add_root(pn.Column(both).get_root(other))
    assert all(m.fig.document is other and m.source.data["image"] for m in both._maps)
