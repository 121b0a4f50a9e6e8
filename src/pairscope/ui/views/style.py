"""Colour, limits and labels of each layer, taken from :mod:`pairscope.render` definitions; which
colormaps are cyclic (the only honest ones for wrapped phase); map axis labels with the CRS; rows
that wrap when the window is narrow (:func:`wrap_row`)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np
import panel as pn
from bokeh.models import LinearColorMapper
from bokeh.models.annotations.legends import ColorBar

from pairscope import render
from pairscope.ui.state import CYCLIC_COLORMAPS

#: Layers whose stored values are not calibrated: colour limits come from the data (2-98 %).
DATA_LIMITS = ("amplitude",)


@dataclass(frozen=True)
class LayerStyle:
    cmap: tuple[str, ...]
    clim: tuple[float, float] | None
    label: str
    unit: str
    colormap_name: str

    @property
    def axis_label(self) -> str:
        return f"{self.label} [{self.unit}]" if self.unit else self.label


@lru_cache(maxsize=64)
def _palette(name: str) -> tuple[str, ...]:
    return tuple(render.palette(name))


def render_definition(layer: str) -> dict[str, object]:
    if layer not in render.DEFAULT_RENDERS:
        raise KeyError(f"no render definition for layer {layer!r}")
    return dict(render.DEFAULT_RENDERS[layer])


def colormap_choices(preferred: tuple[str, ...]) -> list[str]:
    """``"render"`` (the definition's colormap) plus the preferred names titiler knows."""
    known = set(render.colormap_names())
    return ["render", *[n for n in preferred if n in known]]


def layer_style(layer: str, colormap: str = "render", data: np.ndarray | None = None) -> LayerStyle:
    """Colormap and colour limits of ``layer`` from its render definition.

    ``colormap="render"`` keeps the definition's colormap; another name overrides it. Layers in
    ``DATA_LIMITS`` (uncalibrated amplitude) take the 2-98 % range of ``data`` when given.
    """
    definition = render_definition(layer)
    name = str(definition.get("colormap_name") or "viridis") if colormap == "render" else colormap
    clim: tuple[float, float] | None = None
    rescale = definition.get("rescale")
    if layer in DATA_LIMITS and data is not None and np.isfinite(data).any():
        clim = render.robust_limits(data)
    elif isinstance(rescale, list | tuple) and rescale:
        lo, hi = rescale[0]
        clim = (float(lo), float(hi))
    unit = str(definition.get("units") or "")
    unit = "" if unit == "1" else unit
    title = str(definition.get("title") or layer)
    return LayerStyle(_palette(name), clim, title, unit, name)


def mean_coherence_colours(fig: Any) -> LinearColorMapper:
    """The coherence layer's palette over 0-1 for the mean coherence of pairs (the network's
    edges, the matrix's cells; grey when unknown), with its colour bar at ``fig``'s right."""
    style = layer_style("coherence")
    mapper = LinearColorMapper(palette=list(style.cmap), low=0.0, high=1.0, nan_color="#bbbbbb")
    fig.add_layout(ColorBar(color_mapper=mapper, title="mean coherence [0-1]", width=12), "right")
    return mapper


#: What a figure's title adds while the sidebar's inputs changed since its results were computed.
OUTDATED = "(outdated: press Compute)"


def cell_at(event: Any, factors: list[str]) -> tuple[str, str] | None:
    """The (x, y) factors of the cell under a click on a figure with ``factors`` on both
    categorical axes (they sit at 0.5, 1.5, ... in Bokeh's categorical coordinates); None off
    the cells."""
    if event.x is None or event.y is None or not factors:
        return None
    i, j = int(np.floor(event.x)), int(np.floor(event.y))
    if 0 <= i < len(factors) and 0 <= j < len(factors):
        return factors[i], factors[j]
    return None


def unfaded(renderer: Any) -> Any:
    """``renderer`` with its glyphs' look kept when a click selects some of them (Bokeh fades
    the others by default)."""
    renderer.selection_glyph = renderer.glyph.clone()
    renderer.nonselection_glyph = renderer.glyph.clone()
    return renderer


def is_cyclic(name: str, layer: str | None = None) -> bool:
    """True for a colormap whose ends meet (``"render"``: the layer's definition's colormap)."""
    if name == "render" and layer is not None:
        name = str(render_definition(layer).get("colormap_name") or "")
    return name in CYCLIC_COLORMAPS


def colormap_label(name: str, layer: str | None = None) -> str:
    """What the colormap list shows: the name, the render definition's colormap for
    ``"render"``, and whether it is cyclic (e.g. ``"twilight (cyclic)"``)."""
    if name == "render":
        own = str(render_definition(layer).get("colormap_name") or "viridis") if layer else ""
        base = f"layer default ({own})" if own else "layer default"
    else:
        base = name
    return f"{base} (cyclic)" if is_cyclic(name, layer) else base


def colormap_options(names: tuple[str, ...] | list[str], layer: str) -> dict[str, str]:
    """``{label: name}`` for a select widget (labels say which colormaps are cyclic)."""
    return {colormap_label(n, layer): n for n in names}


def crs_name(crs: object) -> str:
    """``EPSG:32632`` for a CRS with an EPSG code, else its short string ('' for None)."""
    if crs is None:
        return ""
    to_epsg = getattr(crs, "to_epsg", None)
    code = to_epsg() if callable(to_epsg) else None
    return f"EPSG:{code}" if code else str(crs)[:40]


def map_axis_labels(radar: bool, crs: object = None) -> tuple[str, str]:
    """Axis titles of a map: sample/line in radar geometry, easting/northing with the CRS on a
    map grid (``easting [m], EPSG:32632``)."""
    if radar:
        return "range [sample]", "azimuth [line]"
    name = crs_name(crs)
    suffix = f", {name}" if name else ""
    return f"easting [m]{suffix}", f"northing [m]{suffix}"


def wrap_row(*objects: object, **params: object) -> pn.Row:
    """A row whose items wrap onto the next line when they do not fit (CSS ``flex-wrap``), so
    no row is wider than the main area; items with ``sizing_mode="stretch_width"`` and a
    ``min_width`` grow to share a wide window. A plain Bokeh row (not :class:`panel.FlexBox`,
    whose plots in a hidden tab never finish rendering, which holds back ``pn.state.onload``)."""
    styles = {"flex-wrap": "wrap", **dict(params.pop("styles", None) or {})}  # type: ignore[call-overload]
    params.setdefault("sizing_mode", "stretch_width")
    return pn.Row(*objects, styles=styles, **params)
