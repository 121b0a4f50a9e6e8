# mypy: disable-error-code="no-untyped-call"
"""Linked maps of the selected pair: the chosen layer beside a companion layer.

Datashader rasterizes on every pan/zoom (so a full burst stays smooth); wrapped phase is
resampled with ``first`` (never a mean of angles) and drawn with its cyclic colormap unless the
person picks another; colours come from render definitions. Map grids are titled with their CRS
(``easting [m], EPSG:32632``) with plain tick labels; hover gives the grid coordinates, latitude
and longitude and the value. The view (pan/zoom) is the state's ``view``, so the statistics of
the other views follow it and a shared URL keeps it; the clicked pixel is marked on both maps
(with its estimation window in radar geometry).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import holoviews as hv
import numpy as np
import panel as pn
import xarray as xr
from bokeh.models import ColumnDataSource, NumeralTickFormatter
from holoviews.operation.datashader import rasterize

from pairscope.ui.session_loop import batched
from pairscope.ui.state import ExplorerState
from pairscope.ui.views.style import layer_style, map_axis_labels

MAP_HEIGHT = 330
#: A range within this fraction of the data extent on every side counts as "the whole map".
WHOLE_TOLERANCE = 0.02
_LATLON_CACHE = 8


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


def image(da: xr.DataArray, layer: str, latlon: tuple[np.ndarray, np.ndarray] | None = None
          ) -> hv.Image:  # fmt: skip
    """An :class:`hv.Image` of a 2-D DataArray with ascending coordinates; with ``latlon`` the
    latitude and longitude ride along as extra value dimensions (shown on hover)."""
    ydim, xdim = str(da.dims[-2]), str(da.dims[-1])
    xs, ys = _axes(da)
    planes = [np.asarray(da.values, dtype=np.float32)]
    if latlon is not None:
        planes += [latlon[0], latlon[1]]
    if xs.size > 1 and xs[0] > xs[-1]:
        xs, planes = xs[::-1], [p[:, ::-1] for p in planes]
    if ys.size > 1 and ys[0] > ys[-1]:
        ys, planes = ys[::-1], [p[::-1, :] for p in planes]
    style = layer_style(layer)
    vdims = [hv.Dimension(layer, label=style.label, unit=style.unit or None)]
    if latlon is not None:
        vdims += [hv.Dimension("latitude", unit="deg"), hv.Dimension("longitude", unit="deg")]
    return hv.Image((xs, ys, *planes), kdims=[xdim, ydim], vdims=vdims)


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
    if doc is not None and getattr(doc, "session_context", None) is not None:
        def apply() -> None:
            # a figure replaced meanwhile has left the page: changing its source would send
            # the browser an update of a model it no longer knows
            if source.document is doc:
                with batched(doc):
                    source.data = data

        doc.add_next_tick_callback(apply)
    else:
        source.data = data


class _Live:
    """One map slot's plot kept across pairs: its look (``key``), the pipe its frames arrive on,
    the rasterized DynamicMap shown, and its pixel-marker sources."""

    def __init__(self, key: tuple[Any, ...], pipe: hv.streams.Pipe, plot: Any) -> None:
        self.key = key
        self.pipe = pipe
        self.plot = plot
        self.markers: list[ColumnDataSource] = []


class MapsView(pn.viewable.Viewer):
    """Two linked, rasterized maps; a click on either sets ``state.pixel``, pan/zoom sets
    ``state.view``.

    A new pair, or an outdated mark, only sends the new image to the plot already shown (its
    frame arrives on a ``Pipe``; Datashader re-rasterizes the shown range and Bokeh updates the
    existing glyph): the figure is built anew only when the look changes (layer, colormap,
    geometry, limits), which is what makes switching pairs fast."""

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self._latlon: OrderedDict[tuple[Any, ...], tuple[np.ndarray, np.ndarray] | None] = (
            OrderedDict())  # fmt: skip
        self._live: dict[int, _Live] = {}
        self._extent: tuple[float, float, float, float] | None = None
        # two panes (not one HoloViews Layout/GridPlot, which does not lay out inside Tabs);
        # Panel links the axes of HoloViews panes that share dimension names (linked_axes)
        first, second = self._plots()
        self._panes = [
            pn.pane.HoloViews(plot, sizing_mode="stretch_width", min_height=MAP_HEIGHT + 20,
                              linked_axes=True, css_classes=[f"ps-map-{i}"])
            for i, plot in enumerate((first, second))
        ]  # fmt: skip
        self.state.param.watch(
            self._refresh, ["version", "pair", "layer", "colormap", "geometry_layers", "stale"]
        )
        self.state.param.watch(self._pixel_moved, ["pixel"])

    def _refresh(self, *_: Any) -> None:
        for pane, plot in zip(self._panes, self._plots(), strict=True):
            if pane.object is not plot:  # the same plot got its new frame through its pipe
                pane.object = plot

    @property
    def _markers(self) -> list[ColumnDataSource]:
        return [m for live in self._live.values() for m in live.markers]

    # -- the clicked pixel ------------------------------------------------------------------------
    def _marker_data(self, radar: bool) -> dict[str, list[float]]:
        px = self.state.pixel
        if px is None:
            return {"x": [], "y": [], "w": [], "h": []}
        az, rg = (self.state.window_azimuth, self.state.window_range) if radar else (0, 0)
        return {"x": [float(px[0])], "y": [float(px[1])], "w": [float(rg)], "h": [float(az)]}

    def _marker_hook(self, radar: bool, markers: list[ColumnDataSource]) -> Any:
        def hook(plot: Any, element: Any) -> None:
            fig = plot.state
            data = self._marker_data(radar)
            for r in fig.renderers:
                if getattr(r, "name", None) == "ps-pixel":
                    if dict(r.data_source.data) != data:
                        r.data_source.data = data
                    return
            source = ColumnDataSource(data=data)
            if radar:
                fig.rect(x="x", y="y", width="w", height="h", source=source, fill_alpha=0,
                         line_color="#ff2a2a", line_width=1.5, name="ps-pixel-window")  # fmt: skip
            fig.scatter(x="x", y="y", source=source, size=16, marker="circle_cross",
                        fill_alpha=0, line_color="#ff2a2a", line_width=2.5, name="ps-pixel")  # fmt: skip
            markers.append(source)

        return hook

    def _pixel_moved(self, *_: Any) -> None:
        data = self._marker_data(self._radar())
        for source in self._markers:
            set_data(source, data)

    def _radar(self) -> bool:
        da = self.state.layer_data(self.state.layer)
        if da is None:
            da = self.state.layer_data("coherence")
        return da is None or da.dims[-1] == "range"

    # -- the view -------------------------------------------------------------------------------
    def exercise_zoom(self) -> None:
        """Pan and zoom every drawn map as a visitor would (in, deep in, out past the data's
        edges, over one edge, back to the whole extent). Datashader compiles its resampling
        kernel for each array layout and direction it meets, ~8 s each on first use: the server
        calls this while warming up, so no visitor's first zoom waits for a compiler."""
        if self._extent is None:
            return
        x0, x1, y0, y1 = self._extent
        w, h = x1 - x0, y1 - y0
        ranges = [
            ((x0 + w / 4, x0 + 3 * w / 4), (y0 + h / 4, y0 + 3 * h / 4)),
            ((x0 + 0.48 * w, x0 + 0.52 * w), (y0 + 0.48 * h, y0 + 0.52 * h)),
            ((x0 - w / 2, x1 + w / 2), (y0 - h / 2, y1 + h / 2)),
            ((x0 - w / 4, x0 + w / 2), (y0, y1)),
            ((x0, x1), (y0, y1)),
        ]
        for live in list(self._live.values()):
            for stream in live.plot.streams:
                if isinstance(stream, hv.streams.RangeXY):
                    for x_range, y_range in ranges:
                        stream.event(x_range=x_range, y_range=y_range)

    def _ranged(self, x_range: Any = None, y_range: Any = None, **_: Any) -> None:
        if x_range is None or y_range is None or self._extent is None:
            return
        try:
            view = (float(x_range[0]), float(x_range[1]), float(y_range[0]), float(y_range[1]))
        except (TypeError, ValueError):
            return
        if not all(np.isfinite(view)):
            return
        view = (min(view[:2]), max(view[:2]), min(view[2:]), max(view[2:]))
        self.state.view = None if is_whole(view, self._extent) else view

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

    def _one(self, slot: int, layer: str) -> Any:
        state = self.state
        da = state.layer_data(layer)
        if da is None:
            self._live.pop(slot, None)
            what = "look-vector layers (computing or unavailable)" if layer.startswith(
                ("look", "los", "inc")
            ) else "a computed pair"
            return hv.Div(f"<p class='ps-empty'>{layer}: waiting for {what}.</p>").opts(
                height=MAP_HEIGHT, width=420
            )
        colormap = state.colormap if layer == state.layer else "render"
        style = layer_style(layer, colormap, np.asarray(da.values))
        latlon = self._latlon_of(da)
        radar = da.dims[-1] == "range"
        pair = state.pair or ""
        title = f"{layer} {pair.replace('_', ' / ')}" if layer in ("coherence", "phase",
                                                                   "amplitude") else layer
        if state.stale:
            title += " (outdated: press Compute)"
        img = image(da, layer, latlon).relabel(title)
        xs, ys = _axes(da)
        self._extent = (float(xs.min()), float(xs.max()), float(ys.min()), float(ys.max()))
        crs = da.rio.crs if (not radar and hasattr(da, "rio")) else None
        xlabel, ylabel = map_axis_labels(radar, crs)
        view = state.view
        key = (layer, tuple(style.cmap), style.clim, style.axis_label, radar, latlon is not None,
               xlabel, ylabel, str(da.dims[-2]), str(da.dims[-1]))
        live = self._live.get(slot)
        if live is not None and live.key == key:
            live.pipe.send(img)  # same look: only the frame changes (the shown range is kept)
            return live.plot
        xname, yname = (("range sample", "azimuth line") if radar else ("easting [m]",
                                                                        "northing [m]"))  # fmt: skip
        tips = [(xname, "$x{0.0}"), (yname, "$y{0.0}"), (style.axis_label, "@image{0.000}")]
        if latlon is not None:
            tips += [("latitude", "@{latitude}{0.00000}"), ("longitude", "@{longitude}{0.00000}")]
        pipe = hv.streams.Pipe(data=img)
        frames = hv.DynamicMap(lambda data: data, streams=[pipe])
        raster = rasterize(
            frames,
            aggregator="first" if layer == "phase" else "mean",
            interpolation=None if layer == "phase" else "linear",
            dynamic=True,
        )
        markers: list[ColumnDataSource] = []
        opts: dict[str, Any] = dict(
            cmap=list(style.cmap),
            colorbar=True,
            clabel=style.axis_label,
            tools=["hover", "tap"],
            hover_tooltips=tips,
            responsive=True,
            height=MAP_HEIGHT,
            title="{label}",
            invert_yaxis=radar,
            active_tools=["wheel_zoom"],
            default_tools=["pan", "wheel_zoom", "box_zoom", "reset", "save"],
            xlabel=xlabel,
            ylabel=ylabel,
            xformatter=NumeralTickFormatter(format="0"),
            yformatter=NumeralTickFormatter(format="0"),
            hooks=[self._marker_hook(radar, markers)],
        )
        if style.clim is not None:
            opts["clim"] = style.clim
        if not radar:
            opts["data_aspect"] = 1
        if view is not None:
            opts["xlim"], opts["ylim"] = (view[0], view[1]), (view[2], view[3])
        raster = raster.opts(**opts)
        tap = hv.streams.Tap(source=raster, x=None, y=None)
        tap.add_subscriber(self._tapped)
        for stream in raster.streams:
            if isinstance(stream, hv.streams.RangeXY):
                stream.add_subscriber(self._ranged)
        live = _Live(key, pipe, raster)
        live.markers = markers
        self._live[slot] = live
        return raster

    def _tapped(self, x: float | None, y: float | None) -> None:
        if x is None or y is None:
            return
        self.state.pixel = (float(x), float(y))

    def _plots(self) -> tuple[Any, Any]:
        layer = self.state.layer
        return self._one(0, layer), self._one(1, companion(layer))

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(*self._panes, sizing_mode="stretch_width")
