# mypy: disable-error-code="no-untyped-call"
"""Sidebar: catalog, burst (typed in any spelling or picked on a footprint map), polarization,
dates, pair rule, network limits (maximum temporal and perpendicular baselines, excluded dates,
months to keep, hand edits, minimum coherence keeping the network connected), window, bias
correction, output geometry, layer and colormap (cyclic ones marked), Compute.

Text that comes from a catalog (its notes) is shown escaped, as text.
"""

from __future__ import annotations

import html
import math
from functools import partial
from typing import Any

import numpy as np
import panel as pn
import param

from pairscope.ui.backend import day
from pairscope.ui.session_loop import after_shown
from pairscope.ui.settings import tile_url
from pairscope.ui.state import COLORMAPS, MONTH_NAMES, RULES, ExplorerState
from pairscope.ui.views.style import colormap_options

FOOTPRINT_HEIGHT = 220
HALF = 145
#: Catalog notes in plain words (the core's wording on the left, what a visitor reads on the right).
PLAIN_NOTES = {
    "static catalog: every filter was applied here after reading all items":
        "This is a static catalog (files, no search server), so pairscope reads every item and "
        "picks the burst's dates itself.",
    "This catalog cannot filter on the server: filtered here after reading.":
        "This catalog cannot search on its server, so pairscope reads the items and picks the "
        "burst's dates itself.",
    "relative orbit and orbit state were filtered here after reading the items":
        "The catalog cannot search by orbit, so pairscope picks the orbit itself after reading "
        "the items.",
}  # fmt: skip
WINDOW_LIMITS = {"window_azimuth": ("Azimuth looks", 501), "window_range": ("Range looks", 2001)}


def plain_note(note: str) -> str:
    """A catalog note in plain words (known wordings rephrased, others as they are)."""
    text = note.strip()
    found = PLAIN_NOTES.get(text) or PLAIN_NOTES.get(text.rstrip("."))
    if found:
        return found
    return text if text.endswith(".") else text + "."


def _link(widget: pn.widgets.Widget, state: param.Parameterized, name: str) -> None:
    """Two-way link between ``widget.value`` and ``state.<name>``."""
    widget.param.watch(lambda e: setattr(state, name, e.new), "value")
    state.param.watch(lambda e: setattr(widget, "value", e.new), name)


def mercator_to_lonlat(x: float, y: float) -> tuple[float, float]:
    r = 6378137.0
    return math.degrees(x / r), math.degrees(2 * math.atan(math.exp(y / r)) - math.pi / 2)


def lonlat_to_mercator(lon: Any, lat: Any) -> tuple[Any, Any]:
    """Web Mercator metres of longitudes / latitudes in degrees (arrays or numbers)."""
    r = 6378137.0
    lat = np.clip(np.asarray(lat, dtype=float), -85.0511, 85.0511)
    return np.radians(np.asarray(lon, dtype=float)) * r, r * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


class FootprintMap:
    """The bursts' footprints on a small Web Mercator map (tiles under them when the operator set
    a tile source): hover names a burst and its dates, a click picks it (``on_pick(x, y)`` in Web
    Mercator metres). A plain Bokeh figure whose data change with the catalog, built once per
    session (the GeoViews overlay it replaces cost ~0.3 s of every page's first document)."""

    def __init__(self, tiles: str | None, on_pick: Any) -> None:
        from bokeh.events import Tap
        from bokeh.models import ColumnDataSource, HoverTool, Range1d, WMTSTileSource
        from bokeh.plotting import figure

        self.source = ColumnDataSource(data={"xs": [], "ys": [], "burst": [], "dates": []})
        fig = figure(
            height=FOOTPRINT_HEIGHT, sizing_mode="stretch_width", title="Bursts (click to pick)",
            tools="pan,wheel_zoom,reset,tap", toolbar_location="below", x_range=Range1d(start=0, end=1),
            y_range=Range1d(start=0, end=1), x_axis_type=None, y_axis_type=None, min_border=4,
        )  # fmt: skip
        fig.grid.visible = False
        if tiles:
            # the tiles join the map once the page has loaded: Bokeh reports a page loaded only
            # when all its tiles have come, and tiles that never come (a browser offline or behind
            # a firewall, a tile server down) held back for ever what waits for the load: a shared
            # URL's maps and the network views (slow tiles held them as long)
            url, credit = tile_url(tiles)

            def add_tiles() -> None:
                fig.add_tile(WMTSTileSource(url=url, attribution=credit))

            after_shown(pn.state.curdoc, add_tiles)
        shapes = fig.patches(xs="xs", ys="ys", source=self.source, fill_color="#1f77b4",
                             fill_alpha=0.35, line_color="#0b3d91", line_width=1.5)  # fmt: skip
        fig.add_tools(HoverTool(renderers=[shapes], tooltips=[("burst", "@burst"), ("dates", "@dates")]))
        fig.on_event(Tap, lambda event: on_pick(event.x, event.y))
        self.figure = fig
        self.empty = pn.pane.HTML("<p class='ps-empty'>Burst footprints appear once a catalog is open.</p>",
                                  sizing_mode="stretch_width")  # fmt: skip
        self.pane = pn.pane.Bokeh(fig, sizing_mode="stretch_width")
        self.panel = pn.Column(self.empty, sizing_mode="stretch_width", css_classes=["ps-footprints"])

    def show(self, info: Any) -> None:
        """Draw the footprints of ``info``'s bursts (a catalog's :class:`CatalogInfo`, or None)."""
        bursts = [b for b in (info.bursts if info is not None else ()) if b.footprint]
        data: dict[str, list[Any]] = {"xs": [], "ys": [], "burst": [], "dates": []}
        for b in bursts:
            ring = np.asarray(b.footprint, dtype=float)
            x, y = lonlat_to_mercator(ring[:, 0], ring[:, 1])
            data["xs"].append(x.tolist())
            data["ys"].append(y.tolist())
            data["burst"].append(str(b.burst_id))
            data["dates"].append(int(b.n_dates or 0))
        self.source.data = data
        if bursts:
            x0, x1, y0, y1 = _framed(np.concatenate(data["xs"]), np.concatenate(data["ys"]))
            self.figure.x_range.update(start=x0, end=x1)
            self.figure.y_range.update(start=y0, end=y1)
        shown = self.pane if bursts else self.empty
        if self.panel.objects != [shown]:
            self.panel.objects = [shown]


#: Width / height of the footprint map's plotting area in the sidebar (its frame keeps the
#: footprints' shape: Web Mercator metres are square).
_MAP_ASPECT = 1.5


def _framed(x: np.ndarray, y: np.ndarray, pad: float = 0.15) -> tuple[float, float, float, float]:
    """(x0, x1, y0, y1): the footprints' bounds, padded and widened to the map's aspect."""
    cx, cy = (x.min() + x.max()) / 2, (y.min() + y.max()) / 2
    w = max(float(x.max() - x.min()), 1.0) * (1 + 2 * pad)
    h = max(float(y.max() - y.min()), 1.0) * (1 + 2 * pad)
    w, h = max(w, h * _MAP_ASPECT), max(h, w / _MAP_ASPECT)
    return cx - w / 2, cx + w / 2, cy - h / 2, cy + h / 2


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
        # window sizes: the widgets take any number, so a 0 or a too large size is corrected
        # here with a message (a bounded widget would change it silently in the browser)
        self.window_azimuth = pn.widgets.IntInput(
            name="Azimuth looks", value=s.window_azimuth, css_classes=["ps-win-az"], width=HALF
        )
        self.window_range = pn.widgets.IntInput(
            name="Range looks", value=s.window_range, css_classes=["ps-win-rg"], width=HALF
        )
        windows: tuple[tuple[pn.widgets.IntInput, str], ...] = (
            (self.window_azimuth, "window_azimuth"), (self.window_range, "window_range"))
        for box, name in windows:
            box.param.watch(partial(self._window_typed, box, name), "value")
            s.param.watch(partial(self._window_changed, box), name)
        # network limits and edits
        self.max_days = pn.widgets.FloatInput(
            name="Max temporal baseline [days]", value=s.max_days, start=0, placeholder="none",
            css_classes=["ps-max-days"], width=HALF,
        )  # fmt: skip
        self.max_bperp = pn.widgets.FloatInput(
            name="Max perp. baseline [m]", value=s.max_bperp, start=0, placeholder="none",
            css_classes=["ps-max-bperp"], width=HALF,
        )  # fmt: skip
        _link(self.max_days, s, "max_days")
        _link(self.max_bperp, s, "max_bperp")
        self.months = pn.widgets.MultiChoice(
            name="Months to keep (empty: every month)",
            options={n: i for i, n in enumerate(MONTH_NAMES, start=1)}, value=list(s.months),
            css_classes=["ps-months"], sizing_mode="stretch_width",
        )  # fmt: skip
        _link(self.months, s, "months")
        self.excluded = pn.widgets.MultiChoice(
            name="Excluded dates (or click a date in the network)", options=self._days(),
            value=list(s.excluded), css_classes=["ps-excluded"], sizing_mode="stretch_width",
        )  # fmt: skip
        _link(self.excluded, s, "excluded")
        self.edits = pn.pane.HTML(self._edits_text(), css_classes=["ps-edits"],
                                  sizing_mode="stretch_width", margin=(0, 10))  # fmt: skip
        self.reset_edits = pn.widgets.Button(
            name="Undo hand edits", css_classes=["ps-reset-edits"], width=HALF,
            disabled=not (s.added or s.dropped or s.excluded),
        )  # fmt: skip
        self.reset_edits.on_click(self._undo_edits)
        s.param.watch(self._edits_changed, ["added", "dropped", "excluded"])
        self.min_coherence = pn.widgets.FloatInput(
            name="Min. mean coherence", value=s.min_coherence, start=0, end=1, step=0.05,
            placeholder="none", css_classes=["ps-min-coherence"], width=HALF,
        )  # fmt: skip
        _link(self.min_coherence, s, "min_coherence")
        self.keep_connected = pn.widgets.Checkbox.from_param(
            s.param.keep_connected, name="Keep the network connected (MintPy's spanning tree)",
            css_classes=["ps-keep-connected"],
        )  # fmt: skip
        self.bias = pn.widgets.Checkbox.from_param(
            s.param.bias_corrected, name="Bias-corrected coherence", css_classes=["ps-bias"]
        )
        self.geometry = pn.widgets.RadioButtonGroup.from_param(
            s.param.geometry, name="Output geometry", css_classes=["ps-geometry"]
        )
        # sticky: held at the bottom of the window while its place in the sidebar is below it,
        # so Compute is on screen without scrolling at any window height
        self.compute = pn.widgets.Button(
            name="Compute", button_type="primary", css_classes=["ps-compute"],
            sizing_mode="stretch_width",
            styles={"position": "sticky", "bottom": "4px", "z-index": "10"},
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
        self.colormap = pn.widgets.Select(
            name="Colormap", options=colormap_options(COLORMAPS, s.layer), value=s.colormap,
            css_classes=["ps-colormap"], width=HALF,
        )  # fmt: skip
        _link(self.colormap, s, "colormap")
        s.param.watch(self._layer_changed, ["layer"])
        self._dates_changed()
        self._rule_visibility()
        s.param.watch(lambda _e: self._rule_visibility(), ["rule"])
        s.param.watch(self._catalog_changed, ["catalog_info"])
        self.catalog_notes = pn.pane.HTML(
            self._notes_html(), css_classes=["ps-catalog-notes"], sizing_mode="stretch_width",
            styles={"font-size": "0.85em", "color": "#555"}, margin=(0, 10),
        )  # fmt: skip
        s.param.watch(lambda _e: self.excluded.param.update(options=self._days()),
                      ["burst_dates"])  # fmt: skip
        self._map = FootprintMap(self.tiles, on_pick=self._footprint_tapped)
        self._map.show(s.catalog_info)
        self._footprints = self._map.panel

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
        """The catalog's notes in plain words, one per line (plain text)."""
        info = self.state.catalog_info
        if info is None:
            return ""
        n = len(info.bursts)
        lines = [f"{n} burst{'s' if n != 1 else ''} in this catalog."]
        lines += [plain_note(str(note)) for note in info.notes]
        return "\n".join(lines)

    def _notes_html(self) -> str:
        text = self._notes_text()
        return "<br>".join(html.escape(line) for line in text.split("\n")) if text else ""

    def _catalog_changed(self, *_: Any) -> None:
        self.catalog_notes.object = self._notes_html()
        self.burst.options = self._burst_options()
        self._map.show(self.state.catalog_info)

    def _days(self) -> list[str]:
        bd = self.state.burst_dates
        return [day(d) for d in bd.dates] if bd is not None else list(self.state.excluded)

    def _edits_text(self) -> str:
        s = self.state
        parts = []
        if s.added:
            parts.append("added by hand: " + ", ".join(s.added))
        if s.dropped:
            parts.append("dropped by hand: " + ", ".join(s.dropped))
        if not parts:
            return ""
        return f"<div>{html.escape('Pairs ' + '; '.join(parts) + '.')}</div>"

    def _undo_edits(self, *_: Any) -> None:
        self.state.param.update(added=[], dropped=[], excluded=[])
        self.state.say("Hand edits undone: the network is the rule's again.", "info")

    def _edits_changed(self, *_: Any) -> None:
        s = self.state
        self.edits.object = self._edits_text()
        self.reset_edits.disabled = not (s.added or s.dropped or s.excluded)

    def _window_typed(self, widget: pn.widgets.IntInput, name: str,
                      event: param.parameterized.Event) -> None:  # fmt: skip
        label, largest = WINDOW_LIMITS[name]
        value = event.new
        if value is None or value < 1:
            shown = "empty" if value is None else str(value)
            widget.value = 1
            self.state.say(
                f"{label} {shown} changed to 1: a window needs at least one sample in each "
                "direction. Note that a 1x1 window gives coherence 1 everywhere; 5x21 is usual.",
                "warning",
            )
            return
        if value > largest:
            widget.value = largest
            self.state.say(f"{label} {value} changed to {largest}, the largest this app takes.",
                           "warning")  # fmt: skip
            return
        setattr(self.state, name, int(value))

    @staticmethod
    def _window_changed(widget: pn.widgets.IntInput, event: param.parameterized.Event) -> None:
        if widget.value != event.new:
            widget.value = event.new

    def _layer_changed(self, *_: Any) -> None:
        """The "layer default" entry names the layer's own colormap (cyclic for phase)."""
        self.colormap.param.update(options=colormap_options(COLORMAPS, self.state.layer),
                                   value=self.state.colormap)  # fmt: skip

    def _rule_visibility(self) -> None:
        rule = self.state.rule
        self.rule_value.visible = rule in ("sequential", "max", "exact")
        self.rule_value.name = {"sequential": "N (neighbours)", "max": "Max days",
                                "exact": "Days (e.g. 12,24)"}.get(rule, "N or days")  # fmt: skip
        self.reference.visible = rule == "reference"
        self.manual.visible = rule == "manual"

    def _footprint_tapped(self, x: Any, y: Any) -> None:
        """A click on the footprint map (Web Mercator metres) picks the burst under it."""
        info = self.state.catalog_info
        if x is None or y is None or info is None:
            return
        lon, lat = mercator_to_lonlat(float(x), float(y))
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
            "### Network limits",
            pn.Row(self.max_days, self.max_bperp),
            self.months,
            self.excluded,
            pn.Row(self.min_coherence, self.reset_edits),
            self.keep_connected,
            self.edits,
            "### Estimate",
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
