# mypy: disable-error-code="no-untyped-call"
"""Linked maps of the selected pair: the chosen layer beside a companion layer.

Two plain Bokeh figures kept for the whole session. A new pair, layer or colormap changes their
image, colours and titles in place; a pan or zoom sends only the shown range again, resampled to
the figure's pixels (:func:`pairscope.render.block_reduce`: the mean of each block's finite
samples, wrapped phase its first sample, never a mean of angles; zoomed in past one sample per
pixel the samples themselves are drawn, not interpolated). Colours come from render definitions.
Map grids are titled with their CRS (``easting [m], EPSG:32632``) with plain tick labels; hover
gives the grid coordinates, latitude and longitude and the value. The view (pan/zoom) is the
state's ``view``, so the statistics of the other views follow it and a shared URL keeps it; the
clicked pixel is marked on both maps (with its estimation window in radar geometry).

Why not HoloViews + Datashader (as before): building the two maps cost ~0.4 s each for every
session and every change of look, a computed pair replaced the figures (the browser laid out the
page again), and a zoom went through HoloViews' stream machinery and a second debounce after
Bokeh's: ~1 s per zoom against ~0.1 s now.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np
import panel as pn
import xarray as xr
from bokeh.events import RangesUpdate, Tap
from bokeh.models import (
    ColumnDataSource,
    HoverTool,
    LinearColorMapper,
    NumeralTickFormatter,
    Range1d,
)
from bokeh.models.annotations.legends import ColorBar
from bokeh.plotting import figure

from pairscope.render import block_factors, block_reduce
from pairscope.ui.session_loop import Coalesced, after_shown, after_writes, batched, served
from pairscope.ui.state import ExplorerState
from pairscope.ui.views.style import OUTDATED, layer_style, map_axis_labels

MAP_HEIGHT = 330
#: A range within this fraction of the data extent on every side counts as "the whole map".
WHOLE_TOLERANCE = 0.02
_LATLON_CACHE = 8
#: How long after the last step of a wheel zoom the browser reports the new range (Bokeh's
#: ``lod_timeout``, 500 ms by default, which was half of every zoom's wait).
SETTLE_MS = 60
#: Pixels drawn per map (rows, columns) before the browser has told the figure's size.
DEFAULT_PIXELS = (MAP_HEIGHT - 70, 560)
_EMPTY_IMAGE: dict[str, list[Any]] = {"image": [], "x": [], "y": [], "dw": [], "dh": [],
                                      "latitude": [], "longitude": []}  # fmt: skip
#: The hover planes of an image sent ahead of them (see ``_Map.draw``).
_HOVER = ("latitude", "longitude")
_NO_PLANE = np.zeros((0, 0), dtype=np.float32)


View = tuple[float, float, float, float]


def companion(layer: str) -> str:
    """The second map: phase beside coherence, coherence beside anything else."""
    return "phase" if layer == "coherence" else "coherence"


def _axes(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    ydim, xdim = str(da.dims[-2]), str(da.dims[-1])
    xs = da[xdim].values if xdim in da.coords else np.arange(da.sizes[xdim])
    ys = da[ydim].values if ydim in da.coords else np.arange(da.sizes[ydim])
    return np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64)


def latlon_grids(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray] | None:
    """Latitude and longitude of every cell of a 2-D result: its 2-D coordinates in radar
    geometry, its CRS (pyproj) on a map grid; None when neither is known."""
    if "latitude" in da.coords and "longitude" in da.coords and da["latitude"].ndim == 2:
        return (np.asarray(da["latitude"].values, dtype=np.float32),
                np.asarray(da["longitude"].values, dtype=np.float32))  # fmt: skip
    crs = da.rio.crs if hasattr(da, "rio") else None
    if crs is None:
        return None
    from pyproj import Transformer

    xs, ys = _axes(da)
    gx, gy = np.meshgrid(xs, ys)
    lon, lat = Transformer.from_crs(crs, "EPSG:4326", always_xy=True).transform(gx, gy)
    return np.asarray(lat, dtype=np.float32), np.asarray(lon, dtype=np.float32)


@dataclass(frozen=True)
class Frame:
    """One layer ready to draw: values (float32) on ascending axes, the latitude and longitude
    riding along for hover, and how blocks of samples are drawn (``first`` for wrapped phase)."""

    layer: str
    values: np.ndarray
    xs: np.ndarray
    ys: np.ndarray
    latlon: tuple[np.ndarray, np.ndarray] | None
    first: bool

    @property
    def extent(self) -> tuple[float, float, float, float]:
        """Sample centres: (x first, x last, y first, y last)."""
        return float(self.xs[0]), float(self.xs[-1]), float(self.ys[0]), float(self.ys[-1])

    @property
    def edges(self) -> tuple[float, float, float, float]:
        """The outer edges of the samples (what the whole image covers)."""
        hx, hy = _step(self.xs) / 2, _step(self.ys) / 2
        return (float(self.xs[0] - hx), float(self.xs[-1] + hx), float(self.ys[0] - hy),
                float(self.ys[-1] + hy))  # fmt: skip


def _step(axis: np.ndarray) -> float:
    return float(axis[1] - axis[0]) if axis.size > 1 else 1.0


def frame(da: xr.DataArray, layer: str,
          latlon: tuple[np.ndarray, np.ndarray] | None = None) -> Frame:  # fmt: skip
    """A 2-D DataArray as a :class:`Frame` (axes made ascending, values and lat/lon with them)."""
    xs, ys = _axes(da)
    planes = [np.asarray(da.values, dtype=np.float32)]
    if latlon is not None:
        planes += [latlon[0], latlon[1]]
    if xs.size > 1 and xs[0] > xs[-1]:
        xs, planes = xs[::-1], [p[:, ::-1] for p in planes]
    if ys.size > 1 and ys[0] > ys[-1]:
        ys, planes = ys[::-1], [p[::-1, :] for p in planes]
    return Frame(layer, planes[0], xs, ys,
                 (planes[1], planes[2]) if latlon is not None else None,
                 first=layer == "phase")  # fmt: skip


def _index_range(axis: np.ndarray, lo: float, hi: float) -> tuple[int, int]:
    """Indices [i0, i1) of the samples of an ascending axis whose cells meet [lo, hi]."""
    half = _step(axis) / 2
    i0 = int(np.searchsorted(axis, lo - half, side="left"))
    i1 = int(np.searchsorted(axis, hi + half, side="right"))
    i0, i1 = max(0, min(i0, axis.size - 1)), max(1, min(i1, axis.size))
    return i0, max(i1, i0 + 1)


def _window(fr: Frame, view: View | None) -> tuple[int, int, int, int]:
    """Rows [r0, r1) and columns [c0, c1) of ``fr`` whose cells meet ``view``."""
    if view is None:
        return 0, fr.ys.size, 0, fr.xs.size
    c0, c1 = _index_range(fr.xs, min(view[:2]), max(view[:2]))
    r0, r1 = _index_range(fr.ys, min(view[2:]), max(view[2:]))
    return r0, r1, c0, c1


def factors(fr: Frame, view: View | None, pixels: tuple[int, int]) -> tuple[int, int]:
    """Samples per drawn cell (rows, columns): whole samples, at least one cell per pixel."""
    r0, r1, c0, c1 = _window(fr, view)
    return block_factors((r1 - r0, c1 - c0), pixels)


def fits(fr: Frame, view: View | None, drawn_for: tuple[int, int], pixels: tuple[int, int]) -> bool:
    """Whether the image drawn for a figure of ``drawn_for`` pixels also suits one of ``pixels``:
    at least one cell per pixel (or every sample) in both directions. The sizes a figure is
    given while the browser lays the page out (a first pass reported 286 pixels of a final 470)
    then cost no second image of the same samples; more cells than pixels cost only bytes
    already sent, and the next pan or zoom is drawn for the figure's size then."""
    r0, r1, c0, c1 = _window(fr, view)
    fy, fx = factors(fr, view, drawn_for)
    for n, f, p in ((r1 - r0, fy, pixels[0]), (c1 - c0, fx, pixels[1])):
        if -(-n // f) < p and f > 1:
            return False
    return True


def drawn(fr: Frame, view: View | None, pixels: tuple[int, int]) -> dict[str, list[Any]]:
    """The image source of ``fr`` for the range ``view`` (x0, x1, y0, y1; None: all of it) on
    a figure of ``pixels`` (rows, columns): the samples in view, in blocks of whole samples
    with at least one block per pixel."""
    r0, r1, c0, c1 = _window(fr, view)
    fy, fx = factors(fr, view, pixels)
    values = block_reduce(fr.values[r0:r1, c0:c1], (fy, fx), first=fr.first)
    sx, sy = _step(fr.xs), _step(fr.ys)
    x0, y0 = float(fr.xs[c0]) - sx / 2, float(fr.ys[r0]) - sy / 2
    data: dict[str, list[Any]] = {
        "image": [values], "x": [x0], "y": [y0],
        "dw": [(c1 - c0) * sx], "dh": [(r1 - r0) * sy],
    }  # fmt: skip
    if fr.latlon is not None:
        # hover: the position of each block's middle sample (latitude and longitude are smooth)
        ny, nx = values.shape
        rows = np.minimum(r0 + fy // 2 + fy * np.arange(ny), r1 - 1)
        cols = np.minimum(c0 + fx // 2 + fx * np.arange(nx), c1 - 1)
        data["latitude"] = [fr.latlon[0][np.ix_(rows, cols)]]
        data["longitude"] = [fr.latlon[1][np.ix_(rows, cols)]]
    return data


def is_whole(view: tuple[float, float, float, float], extent: tuple[float, float, float, float],
             tolerance: float = WHOLE_TOLERANCE) -> bool:  # fmt: skip
    """True when ``view`` (x0, x1, y0, y1) shows all of ``extent``."""
    x0, x1, y0, y1 = view
    e0, e1, f0, f1 = extent
    tx, ty = tolerance * abs(e1 - e0), tolerance * abs(f1 - f0)
    return (min(x0, x1) <= min(e0, e1) + tx and max(x0, x1) >= max(e0, e1) - tx
            and min(y0, y1) <= min(f0, f1) + ty and max(y0, y1) >= max(f0, f1) - ty)  # fmt: skip


def set_data(source: ColumnDataSource, data: dict[str, Any]) -> None:
    """Set a Bokeh data source's columns: on its session's event loop when it is served (a model
    may only change under the document's lock), at once otherwise.

    Served, the change goes to the browser through Panel's write queue, behind the messages
    queued before it (``session_loop.batched``). Set directly, Bokeh wrote it at once, ahead of
    a queued message that had added the figure: the browser got the data of a source it did not
    know yet (a "reference isn't known" page error, one served test run in four)."""
    doc = source.document
    if served(doc):
        def apply() -> None:
            # a figure replaced meanwhile has left the page: changing its source would send
            # the browser an update of a model it no longer knows
            if source.document is doc:
                with batched(doc):
                    source.data = data

        doc.add_next_tick_callback(apply)
    else:
        source.data = data


class _Map:
    """One map figure of the session, kept across pairs, layers, colours and zooms; rebuilt only
    when the geometry of what it shows changes (radar grid or map grid, and its CRS)."""

    def __init__(self, look: tuple[Any, ...], x_range: Range1d, y_range: Range1d,
                 height: int = MAP_HEIGHT, min_width: int = 280) -> None:
        radar, xlabel, ylabel = look[0], look[1], look[2]
        self.look = look
        self.frame: Frame | None = None
        self.pixels: tuple[int, int] = (height - 70, DEFAULT_PIXELS[1])
        self._default_pixels = self.pixels
        self.source = ColumnDataSource(data=dict(_EMPTY_IMAGE))
        self.mapper = LinearColorMapper(palette=["#440154"], low=0.0, high=1.0,
                                        nan_color=(0, 0, 0, 0))  # fmt: skip
        fig = figure(
            height=height, sizing_mode="stretch_width", min_width=min_width, x_range=x_range,
            y_range=y_range, tools="pan,wheel_zoom,box_zoom,reset,save",
            active_scroll="wheel_zoom", title=" ", x_axis_label=xlabel, y_axis_label=ylabel,
            toolbar_location="right",
        )  # fmt: skip
        fig.lod_timeout = SETTLE_MS
        fig.grid.visible = False
        fig.xaxis.formatter = NumeralTickFormatter(format="0")
        fig.yaxis.formatter = NumeralTickFormatter(format="0")
        mapped: dict[str, Any] = {"color_mapper": self.mapper}  # missing in bokeh's type stub
        self.renderer = fig.image(image="image", x="x", y="y", dw="dw", dh="dh",
                                  source=self.source, **mapped)  # fmt: skip
        self.colorbar = ColorBar(color_mapper=self.mapper, title="", width=12)
        fig.add_layout(self.colorbar, "right")
        self.hover = HoverTool(renderers=[self.renderer], tooltips=[])
        fig.add_tools(self.hover)
        self.marker = ColumnDataSource(data={"x": [], "y": [], "w": [], "h": []})
        if radar:
            fig.rect(x="x", y="y", width="w", height="h", source=self.marker, fill_alpha=0,
                     line_color="#ff2a2a", line_width=1.5, name="ps-pixel-window")  # fmt: skip
        fig.scatter(x="x", y="y", source=self.marker, size=16, marker="circle_cross",
                    fill_alpha=0, line_color="#ff2a2a", line_width=2.5, name="ps-pixel")  # fmt: skip
        self.fig = fig

    def measured_pixels(self) -> tuple[int, int]:
        """The figure's plotting area (rows, columns) as the browser reported it, else the
        default size."""
        return self._measured() or self._default_pixels

    def _measured(self) -> tuple[int, int] | None:
        try:  # readonly: unset until a browser has laid the figure out
            h, w = self.fig.inner_height, self.fig.inner_width
        except Exception:  # noqa: BLE001 - bokeh's UnsetValueError
            return None
        if isinstance(h, int) and isinstance(w, int) and h > 10 and w > 10:
            return h, w
        return None

    def style(self, fr: Frame, colormap: str, title: str) -> None:
        style = layer_style(fr.layer, colormap, fr.values)
        lo, hi = style.clim if style.clim is not None else _limits(fr.values)
        self.paint(fr, list(style.cmap), (lo, hi), style.axis_label, title)

    def paint(self, fr: Frame, palette: list[str], clim: tuple[float, float], label: str,
              title: str) -> None:
        """Colours (``palette`` over ``clim``), colour bar, hover and title for ``fr``."""
        radar = self.look[0]
        xname, yname = ("range sample", "azimuth line") if radar else ("easting [m]",
                                                                       "northing [m]")  # fmt: skip
        tips = [(xname, "$x{0.0}"), (yname, "$y{0.0}"), (label, "@image{0.000}")]
        if fr.latlon is not None:
            tips += [("latitude", "@latitude{0.00000}"), ("longitude", "@longitude{0.00000}")]
        _set(self.mapper, palette=palette, low=clim[0], high=clim[1])
        _set(self.colorbar, title=label)
        _set(self.hover, tooltips=tips)
        _set(self.fig.title, text=title)

    def draw(
        self, view: View | None, later: Callable[[Callable[[], None]], None] | None = None,
        pixels: tuple[int, int] | None = None,
    ) -> None:
        """Draw the range ``view`` for the figure's size. ``later(fn)``: how to send the hover
        planes (latitude and longitude, 2/3 of the bytes) after the image: the image then goes
        alone, with empty planes, and they follow once it has been written, if it is still the
        one shown (served pages: a zoom or a first page is drawn ~0.1-0.2 s sooner). Without
        ``later`` all at once. ``pixels``: the figure's plotting area
        when the browser has not measured it yet (default: as measured, else the default size)."""
        if self.frame is None:
            if self.source.data.get("image"):
                self.source.data = dict(_EMPTY_IMAGE)
            return
        self.pixels = self._measured() or pixels or self._default_pixels
        data = drawn(self.frame, view, self.pixels)
        if later is None or not all(k in data for k in _HOVER):
            self.source.data = data
            return
        hover = {k: data[k] for k in _HOVER}
        self.source.data = {**data, **{k: [_NO_PLANE] for k in _HOVER}}
        image = data["image"][0]
        later(lambda: self._add_hover(image, hover))

    def _add_hover(self, image: np.ndarray, hover: dict[str, list[Any]]) -> None:
        shown = self.source.data.get("image")
        if shown and shown[0] is image:  # else a newer image has its own planes coming
            self.source.data.update(hover)


def _set(model: Any, **values: Any) -> None:
    """Set only what changed (every change is a message to the browser)."""
    changed = {k: v for k, v in values.items() if getattr(model, k) != v}
    if changed:
        model.update(**changed)


def _limits(values: np.ndarray) -> tuple[float, float]:
    finite = values[np.isfinite(values)]
    if not finite.size:
        return 0.0, 1.0
    lo, hi = float(finite.min()), float(finite.max())
    return (lo, hi) if hi > lo else (lo - 0.5, hi + 0.5)


def _fit(edges: View, pixels: tuple[int, int], radar: bool) -> View:
    """The range showing all of ``edges``; on a map grid widened in x or y so that a metre is as
    long across as up on a figure of ``pixels`` (rows, columns)."""
    x0, x1, y0, y1 = edges
    if radar:
        return edges
    h, w = pixels
    dx, dy = x1 - x0, y1 - y0
    if dx / w > dy / h:  # wider than the figure: more room in y
        grow = (dx * h / w - dy) / 2
        return x0, x1, y0 - grow, y1 + grow
    grow = (dy * w / h - dx) / 2
    return x0 - grow, x1 + grow, y0, y1


def set_ranges(m: _Map, edges: View, view: View | None) -> None:
    """Show ``view`` (x0, x1, y0, y1; None: all of ``edges``) on ``m``'s ranges (and every
    figure sharing them), with a reset to all of it."""
    radar = bool(m.look[0])
    whole = _fit(edges, m.measured_pixels(), radar)
    x0, x1, y0, y1 = view if view is not None else whole
    ys, resets = (y0, y1), (whole[2], whole[3])
    if radar:  # azimuth down: the y range runs from the last line to the first
        ys, resets = ys[::-1], resets[::-1]
    _set(m.fig.x_range, start=x0, end=x1, reset_start=whole[0], reset_end=whole[1])
    _set(m.fig.y_range, start=ys[0], end=ys[1], reset_start=resets[0], reset_end=resets[1])


def on_ranges(fig: Any, show: Callable[[View], None]) -> None:
    """Call ``show(view)`` with the range (x0, x1, y0, y1) the browser reports after a pan or
    zoom of ``fig`` (Bokeh's ``RangesUpdate``, :data:`SETTLE_MS` after the last wheel step)."""
    def reported(event: Any) -> None:
        try:
            view = (float(event.x0), float(event.x1), float(event.y0), float(event.y1))
        except (TypeError, ValueError):  # a range not known yet
            return
        show(view)

    fig.on_event(RangesUpdate, reported)


def index_frame(values: np.ndarray, label: str) -> Frame:
    """A 2-D array on its sample indices (rows: azimuth lines, columns: range samples)."""
    rows, cols = values.shape
    return Frame(label, np.asarray(values, dtype=np.float32), np.arange(cols, dtype=np.float64),
                 np.arange(rows, dtype=np.float64), None, first=False)  # fmt: skip


def _same_frame(a: Frame, b: Frame) -> bool:
    """Whether two frames draw the same image (same samples on the same axes)."""
    return a.values is b.values or (
        a.values.shape == b.values.shape and a.first == b.first
        and np.array_equal(a.xs, b.xs) and np.array_equal(a.ys, b.ys)
        and np.array_equal(a.values, b.values, equal_nan=True))  # fmt: skip


def after_image(doc: Any, fn: Callable[[], None]) -> None:
    """Run ``fn`` once the image changed in this tick has been written to the browser (served),
    at once otherwise."""
    if served(doc):
        try:  # next tick: the image's message is queued when this tick's hold ends
            doc.add_next_tick_callback(partial(after_writes, doc, fn))
        except Exception:  # noqa: BLE001 - the session is gone
            pass
    else:
        fn()


def held(fig: Any) -> Any:
    """Changes of ``fig``'s page combined into one message through Panel's write queue when
    served (``batched``): they may come from a callback that does not hold the document's lock
    (Panel runs some callbacks as tasks), where Bokeh refuses direct changes."""
    doc = fig.document
    return batched(doc) if served(doc) else contextlib.nullcontext()


#: What `LinkedImages.show` draws in one figure: the frame, its palette, colour limits, colour
#: bar label and title.
Image = tuple[Frame, list[str], tuple[float, float], str, str]


class LinkedImages:
    """Images of one grid side by side that pan and zoom together (one range pair), each drawn
    as the explorer's maps are: the range shown, resampled to its figure's pixels (:func:`drawn`)
    when the browser reports a pan or zoom; new images of the same grid keep the range shown.
    Learn's truth, estimate and error (radar geometry, azimuth down) and QA's product, ours and
    difference (a map grid, as many metres across as up). ``on_view(view)``: called after a pan
    or zoom has been drawn, with the range shown (x0, x1, y0, y1), or None when it shows
    everything.

    :meth:`show` changes what they show in the figures drawn (data sources, colours, titles); an
    image whose samples did not change is not sent again. As HoloViews DynamicMaps (Datashader)
    each update froze the page's models and Bokeh walked all of them when the freeze ended
    (~0.2 s per map on a served page), and a new comparison built new figures."""

    def __init__(self, count: int, *, radar: bool = True, labels: tuple[str, str] | None = None,
                 height: int = MAP_HEIGHT, min_width: int = 280,
                 on_view: Callable[[View | None], None] | None = None) -> None:  # fmt: skip
        look = (radar, *(labels or map_axis_labels(radar)))
        x_range = Range1d(start=0, end=1)
        y_range = Range1d(start=1, end=0) if radar else Range1d(start=0, end=1)  # radar: azimuth down
        self.maps = [_Map(look, x_range, y_range, height, min_width) for _ in range(count)]
        self.radar = radar
        self.on_view = on_view
        self._edges: View | None = None
        self._shown: View | None = None  # the range the browser last reported
        self._redraw_soon = Coalesced(self._redraw)
        for m in self.maps:
            on_ranges(m.fig, self.show_range)
        self.maps[0].fig.on_change("inner_width", self._resized)
        self.maps[0].fig.on_change("inner_height", self._resized)

    def show(self, images: list[Image]) -> None:
        """Draw ``images`` (one per figure) for the range shown; all of each when the grid
        changed."""
        with held(self.maps[0].fig):
            changed = []
            for m, (fr, palette, clim, label, title) in zip(self.maps, images, strict=True):
                if m.frame is None or not _same_frame(m.frame, fr):
                    m.frame = fr
                    changed.append(m)
                m.paint(m.frame, palette, clim, label, title)
            first = self.maps[0].frame
            if first is not None and first.edges != self._edges:  # another grid: all of it
                self._edges, self._shown = first.edges, None
                set_ranges(self.maps[0], first.edges, None)
                changed = list(self.maps)
            for m in changed:
                m.draw(self._shown)

    def view(self) -> View | None:
        """The range shown (x0, x1, y0, y1); None when it is all of the grid."""
        first = self.maps[0].frame
        if self._shown is None or first is None or is_whole(self._shown, first.extent):
            return None
        return self._shown

    def show_range(self, view: View) -> None:
        """The figures now show ``view`` (x0, x1, y0, y1): each gets its samples, then
        ``on_view`` is told (on the next ticks when served: once for all the figures' reports,
        and after the images have gone out)."""
        if not all(np.isfinite(view)) or self._edges is None:
            return
        view = (min(view[:2]), max(view[:2]), min(view[2:]), max(view[2:]))
        if view != self._shown:
            self._shown = view
            self._redraw_soon()

    def _redraw(self) -> None:
        with held(self.maps[0].fig):
            for m in self.maps:
                m.draw(self._shown)
        if self.on_view is not None:
            view, tell = self.view(), self.on_view
            after_image(self.maps[0].fig.document, lambda: tell(view))

    def _resized(self, attr: str, old: Any, new: Any) -> None:
        m = self.maps[0]
        if m.frame is None:
            return
        pixels = m.measured_pixels()
        if self._shown is None and not self.radar and self._edges is not None:
            with held(self.maps[0].fig):  # a map grid's aspect depends on the figure's shape
                set_ranges(m, self._edges, None)
        if any(x.frame is not None and not fits(x.frame, self._shown, x.pixels, pixels)
               for x in self.maps):  # fmt: skip
            self._redraw_soon()


class MapsView(pn.viewable.Viewer):
    """Two linked maps (the second built and added later with ``companion_later``); a click on
    either sets ``state.pixel``, a pan/zoom sets ``state.view``.

    A new pair, layer or colormap changes the figures already shown (image, colours, titles):
    no figure is rebuilt, so the browser lays nothing out again. After a pan or zoom the browser
    reports the range it stopped at (Bokeh's ``RangesUpdate``, :data:`SETTLE_MS` after the last
    wheel step) and both maps get that range's samples at the figure's resolution."""

    def __init__(self, state: ExplorerState, *, companion_later: bool = False,
                 **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self._latlon: OrderedDict[tuple[Any, ...], tuple[np.ndarray, np.ndarray] | None] = (
            OrderedDict())  # fmt: skip
        self._extent: View | None = None  # sample centres of what is shown
        self._edges: View | None = None
        self._shown: View | None = None  # the range the browser last reported
        self._whole_drawn = False  # the images drawn show all the data
        self._redraw_soon = Coalesced(self._redraw)
        doc = pn.state.curdoc  # a served session's document (the figures join it later)
        self._doc = doc if served(doc) else None
        # with ``companion_later`` (a served page's first document) the first map goes alone and
        # the second is built and added later (show_companion): the browser builds and draws one
        # figure before the map a visitor waits for, and the session's build makes one (measured:
        # a shared URL's coherence map ~0.1-0.15 s sooner here). Its place beside the first is
        # kept as wide while empty, so adding it moves nothing
        self._maps = self._build((True, *map_axis_labels(True), "azimuth", "range"),
                                 1 if companion_later else 2)  # fmt: skip
        self._panes = [self._pane(m, i) for i, m in enumerate(self._maps)]
        self._companion_slot = pn.Column(*self._panes[1:], sizing_mode="stretch_width",
                                         min_height=MAP_HEIGHT + 20, styles={"flex": "1 1 0"})
        self._refresh()
        self.state.param.watch(
            self._refresh, ["version", "pair", "layer", "colormap", "geometry_layers", "stale"]
        )
        self.state.param.watch(self._pixel_moved, ["pixel"])

    # -- building -------------------------------------------------------------------------------
    def _build(self, look: tuple[Any, ...], count: int = 2) -> list[_Map]:
        """``count`` maps of ``look`` (the first, or both) on a new pair of linked ranges."""
        x_range = Range1d(start=0, end=1)
        y_range = Range1d(start=1, end=0) if look[0] else Range1d(start=0, end=1)  # radar: azimuth down
        self._ranges = (x_range, y_range)
        maps = [self._new_map(look, x_range, y_range) for _ in range(count)]
        maps[0].fig.on_change("inner_width", self._resized)
        maps[0].fig.on_change("inner_height", self._resized)
        return maps

    def _new_map(self, look: tuple[Any, ...], x_range: Range1d, y_range: Range1d) -> _Map:
        m = _Map(look, x_range, y_range)  # one range pair: linked
        m.marker.data = self._marker_data(bool(look[0]))
        on_ranges(m.fig, self.show_range)
        m.fig.on_event(Tap, self._tapped)
        return m

    @staticmethod
    def _pane(m: _Map, index: int) -> pn.pane.Bokeh:
        return pn.pane.Bokeh(m.fig, sizing_mode="stretch_width", min_height=MAP_HEIGHT + 20,
                             css_classes=[f"ps-map-{index}"])  # fmt: skip

    def show_companion(self) -> None:
        """Build the second map and put it beside the first (once; see ``companion_later``),
        drawn for the range shown at the first map's size, which the browser measured (the two
        are as wide)."""
        if len(self._maps) > 1:
            return
        first = self._maps[0]
        m = self._new_map(first.look, *self._ranges)
        self._maps.append(m)
        layer = companion(self.state.layer)
        self._fill(m, layer, self.state.layer_data(layer))
        m.draw(self._view(), self._later(), pixels=first.measured_pixels())
        self._panes.append(self._pane(m, 1))
        self._companion_slot.objects = [self._panes[1]]

    def _look(self, da: xr.DataArray) -> tuple[Any, ...]:
        radar = da.dims[-1] == "range"
        crs = da.rio.crs if (not radar and hasattr(da, "rio")) else None
        return (radar, *map_axis_labels(radar, crs), str(da.dims[-2]), str(da.dims[-1]))

    # -- state changes --------------------------------------------------------------------------
    def _refresh(self, *_: Any) -> None:
        with held(self._maps[0].fig):
            self._update()

    def _update(self) -> None:
        state = self.state
        layers = (state.layer, companion(state.layer))
        data = [state.layer_data(layer) for layer in layers]
        shown = next((da for da in data if da is not None), None)
        look = self._look(shown) if shown is not None else self._maps[0].look
        rebuilt = look != self._maps[0].look
        if rebuilt:  # another geometry: new figures, placed anew
            self._maps = self._build(look, len(self._maps))
            self._edges = None
        for m, layer, da in zip(self._maps, layers, data, strict=False):  # one until the other
            self._fill(m, layer, da)
        if rebuilt:
            for pane, m in zip(self._panes, self._maps, strict=True):
                pane.object = m.fig
        self._place()

    def _fill(self, m: _Map, layer: str, da: xr.DataArray | None) -> None:
        """Give ``m`` the frame, colours and title of ``layer`` (not yet its image)."""
        state = self.state
        if da is None:
            m.frame = None
            what = "look-vector layers (computing or unavailable)" if layer.startswith(
                ("look", "los", "inc")
            ) else "a computed pair"  # fmt: skip
            _set(m.fig.title, text=f"{layer}: waiting for {what}.")
            return
        pair = state.pair or ""
        title = (f"{layer} {pair.replace('_', ' / ')}" if layer in ("coherence", "phase",
                 "amplitude") else layer)  # fmt: skip
        if state.stale:
            title += f" {OUTDATED}"
        m.frame = frame(da, layer, self._latlon_of(da))
        m.style(m.frame, state.colormap if layer == state.layer else "render", title)

    def _place(self) -> None:
        """Set the shared ranges when the extent changed (the state's view, else everything),
        then draw both maps for the range shown."""
        fr = next((m.frame for m in self._maps if m.frame is not None), None)
        if fr is None:
            self._draw_all()
            return
        self._extent = fr.extent
        if fr.edges != self._edges:
            self._edges = fr.edges
            self._shown = None
            self._set_ranges(self.state.view)
        self._draw_all()

    def _set_ranges(self, view: View | None) -> None:
        assert self._edges is not None
        set_ranges(self._maps[0], self._edges, view)

    def _view(self) -> View | None:
        return self._shown if self._shown is not None else self.state.view

    def _later(self) -> Callable[[Callable[[], None]], None] | None:
        return partial(after_shown, self._doc) if self._doc is not None else None

    def _draw_all(self) -> None:
        view = self._view()
        later = self._later()
        for m in self._maps:
            m.draw(view, later)
        self._whole_drawn = view is None or (self._extent is not None
                                             and is_whole(view, self._extent))  # fmt: skip

    def _redraw(self) -> None:
        with held(self._maps[0].fig):
            self._draw_all()
        after_image(self._maps[0].fig.document, self._follow_shown)


    def _follow_shown(self) -> None:
        """The state's view follows the range the maps show (the views' statistics of it: the
        means of every pair, ~30-40 ms; after the image, which no longer waits for them)."""
        view = self._shown
        if view is not None and self._extent is not None:
            self.state.view = None if is_whole(view, self._extent) else view

    # -- the browser ----------------------------------------------------------------------------
    def show_range(self, view: View) -> None:
        """The maps now show ``view`` (x0, x1, y0, y1): both maps get its samples, then the
        state's view follows (on the next ticks when served: once for the two figures' reports,
        and the statistics of the view after the image has gone out)."""
        if not all(np.isfinite(view)) or self._extent is None:
            return
        view = (min(view[:2]), max(view[:2]), min(view[2:]), max(view[2:]))
        if view == self._shown:
            return
        self._shown = view
        if self._whole_drawn and is_whole(view, self._extent):
            # all of it, as drawn (the figure's first report, or a reset): the same samples
            self.state.view = None
            return
        self._redraw_soon()  # then the state's view (_follow_shown)

    def _resized(self, attr: str, old: Any, new: Any) -> None:
        with held(self._maps[0].fig):
            self._fit_to_size()

    def _fit_to_size(self) -> None:
        m = self._maps[0]
        if m.frame is None:
            return
        h, w = m.measured_pixels()
        if self._shown is None and self.state.view is None and not m.look[0]:
            self._set_ranges(None)  # the aspect of a map grid depends on the figure's shape
        view = self._view()
        if any(x.frame is not None and not fits(x.frame, view, x.pixels, (h, w))
               for x in self._maps):  # fmt: skip
            self._redraw_soon()  # else the image drawn already suits the figure: no new one

    def _tapped(self, event: Any) -> None:
        if event.x is None or event.y is None:
            return
        self.state.pixel = (float(event.x), float(event.y))

    def current_view(self) -> tuple[tuple[float, float] | None, tuple[float, float] | None]:
        """The (x_range, y_range) shown: the browser's last report, else the state's view."""
        view = self._view()
        if view is None:
            return None, None
        return (view[0], view[1]), (view[2], view[3])

    def exercise_zoom(self) -> None:
        """Pan and zoom the maps as a visitor would (in, deep in, out past the data's edges, over
        one edge, back to all): the server calls it while warming up, so the resampling kernels
        are compiled for every array layout before the first visitor zooms."""
        if self._edges is None:
            return
        x0, x1, y0, y1 = self._edges
        w, h = x1 - x0, y1 - y0
        for view in [
            (x0 + w / 4, x0 + 3 * w / 4, y0 + h / 4, y0 + 3 * h / 4),
            (x0 + 0.48 * w, x0 + 0.52 * w, y0 + 0.48 * h, y0 + 0.52 * h),
            (x0 - w / 2, x1 + w / 2, y0 - h / 2, y1 + h / 2),
            (x0 - w / 4, x0 + w / 2, y0, y1),
            (x0, x1, y0, y1),
        ]:
            self.show_range(view)

    # -- the clicked pixel ----------------------------------------------------------------------
    def _marker_data(self, radar: bool) -> dict[str, list[float]]:
        px = self.state.pixel
        if px is None:
            return {"x": [], "y": [], "w": [], "h": []}
        az, rg = (self.state.window_azimuth, self.state.window_range) if radar else (0, 0)
        return {"x": [float(px[0])], "y": [float(px[1])], "w": [float(rg)], "h": [float(az)]}

    def _pixel_moved(self, *_: Any) -> None:
        for m in self._maps:
            set_data(m.marker, self._marker_data(bool(m.look[0])))

    def _latlon_of(self, da: xr.DataArray) -> tuple[np.ndarray, np.ndarray] | None:
        xs, ys = _axes(da)
        key = (self.state.pair, self.state.geometry, da.shape, float(xs[0]), float(ys[0]),
               self.state.version)  # fmt: skip
        if key not in self._latlon:
            try:
                self._latlon[key] = latlon_grids(da)
            except Exception:  # noqa: BLE001 - hover extras only
                self._latlon[key] = None
            while len(self._latlon) > _LATLON_CACHE:
                self._latlon.popitem(last=False)
        found = self._latlon[key]
        if found is not None and found[0].shape != da.shape[-2:]:
            return None
        return found

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(self._panes[0], self._companion_slot, sizing_mode="stretch_width")
