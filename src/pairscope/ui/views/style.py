"""Colour and label choices for the app, taken from :mod:`pairscope.render` definitions."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

#: Layer -> (label, unit) for axes, colourbars and hover.
LABELS: dict[str, tuple[str, str]] = {
    "coherence": ("coherence", "0-1"),
    "phase": ("interferometric phase", "rad"),
    "amplitude": ("amplitude", "DN"),
    "look_x": ("look vector x (ECEF)", "unit"),
    "look_y": ("look vector y (ECEF)", "unit"),
    "look_z": ("look vector z (ECEF)", "unit"),
    "los_east": ("line of sight east", "unit"),
    "los_north": ("line of sight north", "unit"),
    "los_up": ("line of sight up", "unit"),
    "incidence": ("incidence angle", "deg"),
}


@dataclass(frozen=True)
class LayerStyle:
    cmap: tuple[str, ...]
    clim: tuple[float, float] | None
    label: str
    unit: str
    colormap_name: str


@lru_cache(maxsize=64)
def _hex_colors(name: str) -> tuple[str, ...]:
    from pairscope.render import get_colormap

    table = np.asarray(get_colormap(name))
    return tuple(f"#{r:02x}{g:02x}{b:02x}" for r, g, b in table[:, :3].astype(int))


def render_definition(layer: str) -> dict[str, object]:
    from pairscope.render import DEFAULT_RENDERS

    for key in (layer, "incidence_angle" if layer == "incidence" else layer):
        if key in DEFAULT_RENDERS:
            return dict(DEFAULT_RENDERS[key])
    raise KeyError(f"no render definition for layer {layer!r}")


def layer_style(layer: str, colormap: str = "render", data: np.ndarray | None = None) -> LayerStyle:
    """Colormap and colour limits of ``layer`` from its render definition.

    ``colormap="render"`` keeps the definition's colormap; another name overrides it. A layer whose
    definition has no ``rescale`` gets the 2-98 % range of ``data``.
    """
    render = render_definition(layer)
    name = str(render.get("colormap_name") or "viridis") if colormap == "render" else colormap
    rescale = render.get("rescale")
    clim: tuple[float, float] | None = None
    if rescale:
        lo, hi = rescale[0]  # type: ignore[index]
        clim = (float(lo), float(hi))
    elif data is not None and np.isfinite(data).any():
        lo, hi = np.nanpercentile(data, [2, 98])
        clim = (float(lo), float(hi) if hi > lo else float(lo) + 1.0)
    label, unit = LABELS.get(layer, (layer, ""))
    return LayerStyle(_hex_colors(name), clim, label, unit, name)
