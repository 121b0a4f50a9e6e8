# mypy: disable-error-code="no-untyped-call"
"""Sidebar: catalog, burst (typed in any spelling or picked on a footprint map), polarization,
dates, pair rule, window, bias correction, output geometry, layer and colormap, Compute."""

from __future__ import annotations

import math
from functools import partial
from typing import Any

import numpy as np
import panel as pn
import param

from pairscope.ui.state import RULES, ExplorerState

FOOTPRINT_HEIGHT = 220
HALF = 145


def _link(widget: pn.widgets.Widget, state: param.Parameterized, name: str) -> None:
    """Two-way link between ``widget.value`` and ``state.<name>``."""
    widget.param.watch(lambda e: setattr(state, name, e.new), "value")
    state.param.watch(lambda e: setattr(widget, "value", e.new), name)


def mercator_to_lonlat(x: float, y: float) -> tuple[float, float]:
    r = 6378137.0
    return math.degrees(x / r), math.degrees(2 * math.atan(math.exp(y / r)) - math.pi / 2)


def burst_at(bursts: Any, lon: float, lat: float) -> str | None:
    """The burst whose footprint holds (lon, lat), else the one with the nearest centre."""
    from matplotlib.path import Path

    best, best_d = None, math.inf
    for b in bursts:
        if not b.footprint:
            continue
        ring = np.asarray(b.footprint, dtype=float)
        if Path(ring).contains_point((lon, lat)):
            return str(b.burst_id)
        d = float(np.hypot(*(ring.mean(axis=0) - (lon, lat))))
        if d < best_d:
            best, best_d = b.burst_id, d
    return str(best) if best is not None and best_d < 1.0 else None


class Sidebar(pn.viewable.Viewer):
    tiles = param.String(default=None, allow_None=True, doc="tile source name or XYZ URL")

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        s = self.state
        self.catalog = pn.widgets.TextInput.from_param(
            s.param.catalog, name="Catalog (STAC API URL or catalog.json path; Enter to open)",
            css_classes=["ps-catalog"], sizing_mode="stretch_width",
        )  # fmt: skip
        self.burst = pn.widgets.AutocompleteInput.from_param(
            s.param.burst, name="Burst id (any spelling; Enter)", options=self._burst_options(),
            restrict=False, case_sensitive=False, min_characters=1, css_classes=["ps-burst"],
            placeholder="T117_249435_IW2", sizing_mode="stretch_width",
        )  # fmt: skip
        self.polarization = pn.widgets.Select.from_param(
            s.param.polarization, name="Polarization", css_classes=["ps-pol"], width=HALF
        )
        # date pickers: options and value always set together (see _dates_changed)
        self._syncing = False
        self.start = pn.widgets.Select(name="From", css_classes=["ps-start"], width=HALF)
        self.end = pn.widgets.Select(name="To", css_classes=["ps-end"], width=HALF)
        self.reference = pn.widgets.Select(
            name="Reference date", css_classes=["ps-reference"], width=HALF
        )
        for widget, name in self._date_widgets():
            widget.param.watch(partial(self._date_picked, name), "value")
        s.param.watch(self._dates_changed, ["burst_dates", "start", "end", "reference"])
        self.rule = pn.widgets.Select(
            name="Pair rule", options={label: key for key, label in RULES.items()},
            value=s.rule, css_classes=["ps-rule"], sizing_mode="stretch_width",
        )  # fmt: skip
        _link(self.rule, s, "rule")
        self.rule_value = pn.widgets.TextInput.from_param(
            s.param.rule_value, name="N or days", css_classes=["ps-rule-value"], width=HALF
        )
        self.manual = pn.widgets.TextInput.from_param(
            s.param.manual_pairs, name="Pairs (YYYYMMDD_YYYYMMDD, ...)", css_classes=["ps-manual"],
            sizing_mode="stretch_width",
        )  # fmt: skip
        self.window_azimuth = pn.widgets.IntInput.from_param(
            s.param.window_azimuth, name="Azimuth looks", css_classes=["ps-win-az"], width=HALF
        )
        self.window_range = pn.widgets.IntInput.from_param(
            s.param.window_range, name="Range looks", css_classes=["ps-win-rg"], width=HALF
        )
        self.bias = pn.widgets.Checkbox.from_param(
            s.param.bias_corrected, name="Bias-corrected coherence", css_classes=["ps-bias"]
        )
        self.geometry = pn.widgets.RadioButtonGroup.from_param(
            s.param.geometry, name="Output geometry", css_classes=["ps-geometry"]
        )
        self.compute = pn.widgets.Button(
            name="Compute", button_type="primary", css_classes=["ps-compute"],
            sizing_mode="stretch_width",
        )  # fmt: skip
        self.compute.on_click(lambda _e: s.compute())
        self.pair = pn.widgets.Select(
            name="Pair shown", css_classes=["ps-pair"], sizing_mode="stretch_width"
        )
        self.pair.param.watch(partial(self._date_picked, "pair"), "value")
        s.param.watch(self._dates_changed, ["pair", "version"])
        self.layer = pn.widgets.Select.from_param(
            s.param.layer, name="Layer", css_classes=["ps-layer"], width=HALF
        )
        self.colormap = pn.widgets.Select.from_param(
            s.param.colormap, name="Colormap", css_classes=["ps-colormap"], width=HALF
        )
        self._dates_changed()
        self._rule_visibility()
        s.param.watch(lambda _e: self._rule_visibility(), ["rule"])
        s.param.watch(self._catalog_changed, ["catalog_info"])
        self.catalog_notes = pn.pane.Markdown(
            self._notes_text(), css_classes=["ps-catalog-notes"], sizing_mode="stretch_width",
            styles={"font-size": "0.85em", "color": "#555"}, margin=(0, 10),
        )  # fmt: skip
        self._footprints = pn.pane.HoloViews(
            self._footprint_map(), sizing_mode="stretch_width", css_classes=["ps-footprints"]
        )

    def _date_widgets(self) -> list[tuple[pn.widgets.Select, str]]:
        return [(self.start, "start"), (self.end, "end"), (self.reference, "reference")]

    def _date_picked(self, name: str, event: param.parameterized.Event) -> None:
        if not self._syncing and event.new is not None:
            setattr(self.state, name, event.new)

    def _dates_changed(self, *_: Any) -> None:
        self._syncing = True
        try:
            for widget, name in [*self._date_widgets(), (self.pair, "pair")]:
                options = [str(o) for o in self.state.param[name].objects]
                value = getattr(self.state, name)
                widget.param.update(options=options, value=value if value in options else None)
        finally:
            self._syncing = False

    def _burst_options(self) -> list[str]:
        info = self.state.catalog_info
        return [b.burst_id for b in info.bursts] if info is not None else []

    def _notes_text(self) -> str:
        info = self.state.catalog_info
        if info is None:
            return ""
        n = len(info.bursts)
        lines = [f"{n} burst{'s' if n != 1 else ''} in this catalog."]
        lines += [f"Note: {note}." if not note.endswith(".") else f"Note: {note}"
                  for note in info.notes]  # fmt: skip
        return "  \n".join(lines)

    def _catalog_changed(self, *_: Any) -> None:
        self.catalog_notes.object = self._notes_text()
        self.burst.options = self._burst_options()
        self._footprints.object = self._footprint_map()

    def _rule_visibility(self) -> None:
        rule = self.state.rule
        self.rule_value.visible = rule in ("sequential", "max", "exact")
        self.rule_value.name = {"sequential": "N (neighbours)", "max": "Max days",
                                "exact": "Days (e.g. 12,24)"}.get(rule, "N or days")  # fmt: skip
        self.reference.visible = rule == "reference"
        self.manual.visible = rule == "manual"

    def _footprint_map(self) -> Any:
        import geoviews as gv
        import holoviews as hv

        info = self.state.catalog_info
        if info is None or not any(b.footprint for b in info.bursts):
            return hv.Div("<p class='ps-empty'>Burst footprints appear once a catalog is open.</p>")
        polys = [
            {"Longitude": [p[0] for p in b.footprint], "Latitude": [p[1] for p in b.footprint],
             "burst": b.burst_id, "dates": b.n_dates or 0}
            for b in info.bursts if b.footprint
        ]  # fmt: skip
        shapes = gv.Polygons(polys, kdims=["Longitude", "Latitude"], vdims=["burst", "dates"]).opts(
            color="#1f77b4", fill_alpha=0.35, line_color="#0b3d91", tools=["hover", "tap"],
            responsive=True, height=FOOTPRINT_HEIGHT, title="Bursts (click to pick)",
            xaxis=None, yaxis=None, toolbar="above",
        )  # fmt: skip
        tap = hv.streams.Tap(source=shapes, x=None, y=None)
        tap.add_subscriber(self._footprint_tapped)
        if self.tiles:
            tile = (
                gv.WMTS(self.tiles) if "{" in self.tiles else getattr(gv.tile_sources, self.tiles)
            )
            return (tile * shapes).opts(responsive=True, height=FOOTPRINT_HEIGHT)
        return shapes

    def _footprint_tapped(self, x: Any, y: Any) -> None:
        info = self.state.catalog_info
        if x is None or y is None or info is None:
            return
        lon, lat = (float(x), float(y))
        if abs(lon) > 180 or abs(lat) > 90:
            lon, lat = mercator_to_lonlat(lon, lat)
        found = burst_at(info.bursts, lon, lat)
        if found:
            self.state.burst = found

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(
            "### Data",
            self.catalog,
            self.catalog_notes,
            self.burst,
            self._footprints,
            self.polarization,
            pn.Row(self.start, self.end),
            "### Pairs",
            self.rule,
            self.rule_value,
            self.reference,
            self.manual,
            pn.Row(self.window_azimuth, self.window_range),
            self.bias,
            self.geometry,
            self.compute,
            "### View",
            self.pair,
            pn.Row(self.layer, self.colormap),
            sizing_mode="stretch_width",
            css_classes=["ps-sidebar"],
        )
