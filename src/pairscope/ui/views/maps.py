# mypy: disable-error-code="no-untyped-call"
"""Linked maps of the selected pair: the chosen layer beside a companion layer.

Datashader rasterizes on every pan/zoom (so a full burst stays smooth); wrapped phase is
resampled with ``first`` (never a mean of angles); colours come from render definitions.
"""

from __future__ import annotations

from typing import Any

import holoviews as hv
import numpy as np
import panel as pn
import xarray as xr
from holoviews.operation.datashader import rasterize

from pairscope.ui.state import ExplorerState
from pairscope.ui.views.style import layer_style

MAP_HEIGHT = 330


def companion(layer: str) -> str:
    """The second map: phase beside coherence, coherence beside anything else."""
    return "phase" if layer == "coherence" else "coherence"


def image(da: xr.DataArray, layer: str) -> hv.Image:
    """An :class:`hv.Image` of a 2-D DataArray with ascending coordinates."""
    ydim, xdim = str(da.dims[-2]), str(da.dims[-1])
    xs = da[xdim].values if xdim in da.coords else np.arange(da.sizes[xdim])
    ys = da[ydim].values if ydim in da.coords else np.arange(da.sizes[ydim])
    values = np.asarray(da.values, dtype=np.float32)
    if xs.size > 1 and xs[0] > xs[-1]:
        xs, values = xs[::-1], values[:, ::-1]
    if ys.size > 1 and ys[0] > ys[-1]:
        ys, values = ys[::-1], values[::-1, :]
    style = layer_style(layer)
    vdim = hv.Dimension(layer, label=style.label, unit=style.unit or None)
    return hv.Image(
        (np.asarray(xs, dtype=np.float64), np.asarray(ys, dtype=np.float64), values),
        kdims=[xdim, ydim],
        vdims=[vdim],
    )


class MapsView(pn.viewable.Viewer):
    """Two linked, rasterized maps; a click on either sets ``state.pixel``."""


    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        # two panes (not one HoloViews Layout/GridPlot, which does not lay out inside Tabs);
        # Panel links the axes of HoloViews panes that share dimension names (linked_axes)
        first, second = self._plots()
        self._panes = [
            pn.pane.HoloViews(plot, sizing_mode="stretch_width", min_height=MAP_HEIGHT + 20,
                              linked_axes=True, css_classes=[f"ps-map-{i}"])
            for i, plot in enumerate((first, second))
        ]  # fmt: skip
        self.state.param.watch(
            self._refresh, ["version", "pair", "layer", "colormap", "geometry_layers"]
        )

    def _refresh(self, *_: Any) -> None:
        for pane, plot in zip(self._panes, self._plots(), strict=True):
            pane.object = plot

    def _one(self, layer: str) -> Any:
        state = self.state
        da = state.layer_data(layer)
        if da is None:
            what = "look-vector layers (computing or unavailable)" if layer.startswith(
                ("look", "los", "inc")
            ) else "a computed pair"
            return hv.Div(f"<p class='ps-empty'>{layer}: waiting for {what}.</p>").opts(
                height=MAP_HEIGHT, width=420
            )
        colormap = state.colormap if layer == state.layer else "render"
        style = layer_style(layer, colormap, np.asarray(da.values))
        img = image(da, layer)
        radar = da.dims[-1] == "range"
        raster = rasterize(
            img,
            aggregator="first" if layer == "phase" else "mean",
            interpolation=None if layer == "phase" else "linear",
            dynamic=True,
        )
        clabel = style.axis_label
        pair = state.pair or ""
        title = f"{layer} {pair.replace('_', ' / ')}" if layer in ("coherence", "phase",
                                                                   "amplitude") else layer
        opts: dict[str, Any] = dict(
            cmap=list(style.cmap),
            colorbar=True,
            clabel=clabel,
            tools=["hover", "tap"],
            responsive=True,
            height=MAP_HEIGHT,
            title=title,
            invert_yaxis=radar,
            active_tools=["wheel_zoom"],
            default_tools=["pan", "wheel_zoom", "box_zoom", "reset", "save"],
        )
        if style.clim is not None:
            opts["clim"] = style.clim
        if not radar:
            opts["data_aspect"] = 1
            opts["xlabel"], opts["ylabel"] = "easting [m]", "northing [m]"
        else:
            opts["xlabel"], opts["ylabel"] = "range [sample]", "azimuth [line]"
        raster = raster.opts(**opts)
        tap = hv.streams.Tap(source=raster, x=None, y=None)
        tap.add_subscriber(self._tapped)
        return raster

    def _tapped(self, x: float | None, y: float | None) -> None:
        if x is None or y is None:
            return
        self.state.pixel = (float(x), float(y))

    def _plots(self) -> tuple[Any, Any]:
        layer = self.state.layer
        return self._one(layer), self._one(companion(layer))

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(*self._panes, sizing_mode="stretch_width")
