# mypy: disable-error-code="no-untyped-call"
"""Pair network: acquisition dates against perpendicular baseline, pairs as edges.

Edges of computed pairs are coloured by their mean coherence over the map view; pairs of the
network not computed yet are thin grey, pairs pruned by the minimum coherence dotted grey, pairs
kept only to hold the network together (under the minimum) dashed. Dates taken out (excluded by a
click, or outside the kept months) are hollow; dates outside the date range small and grey. When
the network falls apart into groups, the nodes take one colour per group and a warning names the
groups (an SBAS inversion cannot tie them together).

What a click does depends on the mode above the plot: open the pair of the nearest edge; exclude
or bring back the nearest date; or drop the nearest pair / add a pair by clicking its two dates.

:func:`network_frames` (what to draw, from the state) and :func:`draw_network` (its glyphs on a
figure) are plain functions; a new layer (e.g. the critical-baseline band,
:func:`pairscope.geometry.critical_baseline`) is one more glyph or annotation there.

The figure is plain Bokeh: as a HoloViews overlay it was ~0.3-0.8 s of every served page's loop
per build (HoloViews' plotting machinery for a few dozen segments and points).
"""

from __future__ import annotations

import datetime as dt
import html
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
from bokeh.events import Tap
from bokeh.models import ColumnDataSource, DataRange1d, HoverTool, Range1d
from bokeh.models.annotations.geometry import BoxAnnotation
from bokeh.models.widgets.markups import Div
from bokeh.plotting import figure

from pairscope.ui.backend import day
from pairscope.ui.session_loop import Coalesced
from pairscope.ui.state import ExplorerState, pair_key
from pairscope.ui.views.style import OUTDATED, mean_coherence_colours, unfaded

HEIGHT = 300
#: Height of one more line of the title (outdated, the critical baseline: see ``draw_network``).
TITLE_LINE = 16
#: A click selects the nearest edge within this fraction of the plot's diagonal.
TAP_TOLERANCE = 0.08
#: A click selects the nearest node within this fraction (nodes win over edges when this close).
NODE_TOLERANCE = 0.04
MODES = {"open": "Open a pair", "exclude": "Exclude a date", "edit": "Add / drop a pair"}
GROUP_COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf")
EDGE_COLUMNS = ["x0", "y0", "x1", "y1", "pair", "temporal_baseline", "perpendicular_baseline",
                "coherence", "status"]  # fmt: skip
NODE_COLUMNS = ["date", "baseline", "day", "status", "group"]


def to_ms(value: Any) -> float:
    """Bokeh's datetime axis unit (ms since 1970) from whatever the tap stream gives."""
    if isinstance(value, int | float | np.integer | np.floating):
        return float(value)
    if isinstance(value, dt.datetime | np.datetime64 | pd.Timestamp | str):
        return float(pd.Timestamp(value).value) / 1e6
    raise TypeError(f"not a time: {value!r}")


def nearest_segment(
    segments: np.ndarray, x: float, y: float, spans: tuple[float, float]
) -> tuple[int, float]:
    """Index of the segment (rows x0, y0, x1, y1) closest to (x, y), and its normalised distance."""
    sx, sy = (s if s > 0 else 1.0 for s in spans)
    p = np.array([x / sx, y / sy])
    a = segments[:, :2] / [sx, sy]
    b = segments[:, 2:] / [sx, sy]
    ab = b - a
    denom = np.maximum((ab**2).sum(axis=1), 1e-30)
    t = np.clip(((p - a) * ab).sum(axis=1) / denom, 0.0, 1.0)
    d = np.hypot(*(a + t[:, None] * ab - p).T)
    i = int(np.argmin(d))
    return i, float(d[i])


def nearest_point(points: np.ndarray, x: float, y: float, spans: tuple[float, float]
                  ) -> tuple[int, float]:  # fmt: skip
    """Index of the point (rows x, y) closest to (x, y), and its normalised distance."""
    sx, sy = (s if s > 0 else 1.0 for s in spans)
    d = np.hypot((points[:, 0] - x) / sx, (points[:, 1] - y) / sy)
    i = int(np.argmin(d))
    return i, float(d[i])


def network_frames(state: ExplorerState) -> tuple[pd.DataFrame, pd.DataFrame, str]:
    """(nodes, edges, y-axis label) of the state's network.

    nodes: ``date, baseline, day, status`` (``used``, ``excluded``, ``out of range``),
    ``group`` (connected group, -1 when not in the network); edges: ``x0 y0 x1 y1 pair
    temporal_baseline perpendicular_baseline coherence status`` with status ``computed``,
    ``not computed``, ``rescued`` (kept under the minimum coherence to stay connected) or
    ``pruned``.
    """
    bd = state.burst_dates
    if bd is None:
        return pd.DataFrame(columns=NODE_COLUMNS), pd.DataFrame(columns=EDGE_COLUMNS), ""
    dates = np.asarray(bd.dates, dtype="datetime64[ns]")
    if bd.perpendicular_baselines is not None:
        ys = np.asarray(bd.perpendicular_baselines, dtype=float)
        ylabel = baseline_label(bd)
    else:
        ys = np.arange(dates.size, dtype=float)
        ylabel = "date index (no orbits)"
    net = state.network
    used = {day(d) for d in net.dates} if net is not None else {day(d) for d in dates}
    left_out = {day(d) for d in net.left_out} if net is not None else set()
    group = {}
    if net is not None:
        for g, members in enumerate(net.components):
            for d in members:
                group[day(d)] = g
    nodes = pd.DataFrame({
        "date": dates, "baseline": ys, "day": [day(d) for d in dates],
        "status": ["used" if day(d) in used else "excluded" if day(d) in left_out
                   else "out of range" for d in dates],
        "group": [group.get(day(d), -1) for d in dates],
    }, columns=NODE_COLUMNS)  # fmt: skip
    where = {day(d): (d, y) for d, y in zip(dates, ys, strict=True)}
    if net is not None:
        pairs = [(p.reference, p.secondary) for p in net.candidates]
        pruned = {p.label for p in net.pruned}
        rescued = {p.label for p in net.rescued}
    else:  # no network (the rule cannot be read): what was computed
        pairs, pruned, rescued = list(state.pair_list), set(), set()
    rows = []
    for a, b in pairs:
        key = pair_key(a, b)
        if day(a) not in where or day(b) not in where:
            continue
        (xa, ya), (xb, yb) = where[day(a)], where[day(b)]
        if key in pruned:
            status = "pruned"
        elif key in rescued:
            status = "rescued"
        elif key in state.results:
            status = "computed"
        else:
            status = "not computed"
        rows.append({
            "x0": xa, "y0": ya, "x1": xb, "y1": yb, "pair": key,
            "temporal_baseline": int((np.datetime64(b) - np.datetime64(a)) / np.timedelta64(1, "D")),
            "perpendicular_baseline": float(yb - ya) if bd.perpendicular_baselines is not None
            else float("nan"),
            "coherence": float(state.view_means.get(key, np.nan)),
            "status": status,
        })  # fmt: skip
    return nodes, pd.DataFrame(rows, columns=EDGE_COLUMNS), ylabel


def baseline_label(bd: Any) -> str:
    """The baseline axis says what the numbers are: sign convention and where they are taken."""
    sign = "ASF Vertex sign" if getattr(bd, "convention", "vertex") == "vertex" else "ISCE sign"
    point = getattr(bd, "baseline_point", None)
    where = ("burst centre on the ellipsoid" if point is None or not point[2]
             else f"burst centre, h {point[2]:.0f} m")  # fmt: skip
    return f"perpendicular baseline [m] ({sign}, {where})"


def critical_band(bd: Any, ys: np.ndarray) -> tuple[list[Any], tuple[float, float] | None]:
    """The critical baseline as a shaded band around the first date (as ASF Vertex shades it),
    and the y range to show: the dates' baselines with a margin (the band, usually kilometres
    wide for Sentinel-1, must not squeeze them)."""
    crit = getattr(bd, "critical_baseline", None)
    if crit is None or not np.isfinite(crit) or ys.size == 0:
        return [], None
    lo, hi = float(np.nanmin(ys)), float(np.nanmax(ys))
    pad = 0.12 * (hi - lo) + 10.0
    band = BoxAnnotation(bottom=-crit, top=crit, fill_color="#2ca02c", fill_alpha=0.08,
                         line_alpha=0.0, level="underlay")  # fmt: skip
    return [band], (min(lo - pad, -crit) if lo - pad < -crit else lo - pad,
                    max(hi + pad, crit) if hi + pad > crit else hi + pad)


def draw_network(
    fig: Any, nodes: pd.DataFrame, edges: pd.DataFrame, selected: str | None = None,
    pending: str | None = None, disconnected: bool = False,
) -> dict[str, ColumnDataSource]:  # fmt: skip
    """Draw the network on ``fig`` (a datetime x axis), bottom to top: the selected pair's
    highlight, edges by status, nodes by status, the first date of a pair being added. Returns
    the data sources changed in place later: ``"highlight"`` (the selected pair's coordinates)
    and ``"computed"`` (the computed edges, coloured by their ``coherence`` column)."""
    columns = ["x0", "y0", "x1", "y1", "coherence", "pair", "temporal_baseline",
               "perpendicular_baseline", "status"]  # fmt: skip
    tips = [("pair", "@pair"), ("temporal baseline [d]", "@temporal_baseline"),
            ("perpendicular baseline [m]", "@perpendicular_baseline{0.0}"),
            ("mean coherence", "@coherence{0.000}"), ("status", "@status")]  # fmt: skip

    def source(frame: pd.DataFrame, names: list[str]) -> ColumnDataSource:
        data: dict[str, Any] = {}
        for name in names:
            values = frame[name].to_numpy()
            if name in ("x0", "x1", "date"):
                values = values.astype("datetime64[ns]")
            elif name in ("y0", "y1", "coherence", "baseline", "perpendicular_baseline"):
                values = values.astype(float)
            else:
                values = [v.item() if isinstance(v, np.generic) else v for v in values]
            data[name] = values
        return ColumnDataSource(data=data)

    def part(status: str) -> pd.DataFrame:
        return edges[edges["status"] == status]

    # the highlight carries coordinates only (readers of the plot find the pairs below)
    highlight = source(edges.loc[edges["pair"] == (selected or "")], ["x0", "y0", "x1", "y1"])
    fig.segment("x0", "y0", "x1", "y1", source=highlight, line_color="#d62728", line_width=11,
                line_alpha=0.6)  # fmt: skip
    mapper = mean_coherence_colours(fig)
    colour: Any = {"field": "coherence", "transform": mapper}
    hovered = []
    for status, look in (
        ("not computed", {"line_color": "#9a9a9a", "line_width": 2, "line_dash": "dashed"}),
        ("pruned", {"line_color": "#b0b0b0", "line_width": 2, "line_dash": "dotted"}),
        ("rescued", {"line_color": colour, "line_width": 4, "line_dash": "dashed"}),
    ):
        if len(part(status)):  # an empty layer still costs a renderer, a source and a hover
            hovered.append(fig.segment("x0", "y0", "x1", "y1", source=source(part(status), columns),
                                       **look))  # fmt: skip
    # the computed edges, coloured by mean coherence (and carrying the colour bar)
    computed = source(part("computed"), columns)
    hovered.append(unfaded(fig.segment("x0", "y0", "x1", "y1", source=computed, line_color=colour,
                                       line_width=5)))  # fmt: skip
    fig.add_tools(HoverTool(renderers=hovered, tooltips=tips))
    node_tips = [("date", "@day"), ("baseline [m]", "@baseline{0.0}"), ("status", "@status")]
    names = ["date", "baseline", "day", "status"]
    used = nodes[nodes["status"] == "used"]
    colours = ([GROUP_COLOURS[g % len(GROUP_COLOURS)] for g in used["group"]]
               if disconnected else ["#222222"] * len(used))  # fmt: skip
    points = [fig.scatter("date", "baseline", source=source(used.assign(colour=colours),
                                                            [*names, "colour"]),
                          size=10, fill_color="colour", line_color="#222222")]  # fmt: skip
    excluded = nodes[nodes["status"] == "excluded"]
    if len(excluded):
        points.append(fig.scatter("date", "baseline", source=source(excluded, names), size=10,
                                  fill_alpha=0.0, fill_color="white", line_color="#222222",
                                  line_width=2))  # fmt: skip
    outside = nodes[nodes["status"] == "out of range"]
    if len(outside):
        points.append(fig.scatter("date", "baseline", source=source(outside, names), size=6,
                                  color="#c8c8c8"))  # fmt: skip
    fig.add_tools(HoverTool(renderers=points, tooltips=node_tips))
    if pending:
        first = fig.scatter("date", "baseline", source=source(nodes[nodes["day"] == pending],
                                                              ["date", "baseline", "day"]),
                            size=20, fill_alpha=0.0, line_color="#d62728", line_width=3)  # fmt: skip
        fig.add_tools(HoverTool(renderers=[first], tooltips=[("first date", "@day")]))
    return {"highlight": highlight, "computed": computed}


def network_note(state: ExplorerState) -> tuple[str, str]:
    """(kind, plain text) said under the plot: why there is no network, limits not applied, a
    disconnected network; ("", "") when all is well."""
    if state.network_error:
        return "danger", f"No network: {state.network_error}"
    lines = list(state.network_notes)
    kind = "info" if lines else ""
    net = state.network
    if net is not None and not net.connected:
        kind = "warning"
        lines.insert(0, (
            f"Warning: the network is disconnected: {len(net.components)} groups of dates with no "
            f"pair between them ({net.gaps()}). A time series cannot tie the groups together; "
            "relax the limits, keep the network connected, or add a pair between the groups."))  # fmt: skip
    if net is not None and (net.pruned or net.rescued):
        kept = len(net.kept)
        lines.append(f"{len(net.pruned)} pair(s) pruned under the minimum coherence, {kept} kept"
                     + (f" ({len(net.rescued)} under it, kept to stay connected)."
                        if net.rescued else "."))  # fmt: skip
        kind = kind or "info"
    return kind, " ".join(lines)


class NetworkView(pn.viewable.Viewer):

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self._segments = np.zeros((0, 4))
        self._keys: list[str] = []
        self._nodes = np.zeros((0, 2))
        self._days: list[str] = []
        self._spans = (1.0, 1.0)
        self._pending: str | None = None
        self.mode = pn.widgets.RadioButtonGroup(
            options={label: key for key, label in MODES.items()}, value="open",
            css_classes=["ps-network-mode"], button_type="default", sizing_mode="stretch_width",
        )  # fmt: skip
        self.mode.param.watch(self._mode_changed, "value")
        self._note = pn.pane.HTML("", css_classes=["ps-network-note"],
                                  sizing_mode="stretch_width", margin=(0, 5))  # fmt: skip
        self._highlight: Any = None  # the shown plot's highlight data source
        self._plotted_pair: str | None = None
        self._edge_coords: dict[str, dict[str, Any]] = {}
        self._computed: Any = None  # the shown plot's computed edges' data source
        self._computed_pairs: list[str] = []
        self._pane = pn.pane.Bokeh(self._plot(), sizing_mode="stretch_width")
        # (the network, the means and the outdated note follow every result change; another
        # pair shown only moves the highlight) redrawn once per tick, after the maps
        # (see session_loop.Coalesced)
        self._redraw = Coalesced(self._refresh)
        self.state.param.watch(self._redraw, ["burst_dates", "network", "network_error",
                                               "network_notes", "stale"])  # fmt: skip
        # the means of the shown range change on every pan and zoom: once the range is still,
        # the computed edges are recoloured in the figure drawn (a new figure made the browser
        # lay out the whole page again, during the visitor's next zoom)
        self._recolour_soon = Coalesced(self._recolour, settle=("view_means",))
        self.state.param.watch(self._recolour_soon, ["view_means"])
        self.state.param.watch(self._pair_moved, ["pair"])

    def _recolour(self) -> None:
        """New means of the shown range: the computed edges take their colours (and hover
        values) in the figure drawn; anything else that changed redraws it."""
        source = self._computed
        if source is None or self.state.burst_dates is None:
            self._redraw()
            return
        _, edges, _ = network_frames(self.state)
        computed = edges[edges["status"] == "computed"]
        if list(computed["pair"]) != self._computed_pairs or (edges["status"] == "rescued").any():
            self._redraw()
            return
        from pairscope.ui.views.maps import set_data

        data = dict(source.data)
        data["coherence"] = computed["coherence"].to_numpy(dtype=float)
        set_data(source, data)

    def _pair_moved(self, *_: Any) -> None:
        """Move the highlight to the pair now shown, in the figure already drawn."""
        if self.state.pair == self._plotted_pair:
            return  # the plot was built for this pair
        if self._highlight is None:  # not drawn yet: build it for this pair
            self._redraw()
            return
        from pairscope.ui.views.maps import set_data

        self._plotted_pair = self.state.pair
        empty = {"x0": np.array([], "datetime64[ns]"), "x1": np.array([], "datetime64[ns]"),
                 "y0": np.array([], float), "y1": np.array([], float)}  # fmt: skip
        set_data(self._highlight, self._edge_coords.get(self.state.pair or "", empty))

    def _mode_changed(self, *_: Any) -> None:
        self._pending = None
        hints = {
            "open": "Click an edge of the network to open that pair.",
            "exclude": "Click a date to exclude it from the network; click it again to bring "
                       "it back.",
            "edit": "Click an edge to drop that pair, or click two dates to add the pair "
                    "between them.",
        }  # fmt: skip
        self.state.say(hints[self.mode.value], "info")
        self._refresh()

    def _refresh(self, *_: Any) -> None:
        self._pane.object = self._plot()

    def _update_note(self) -> None:
        kind, text = network_note(self.state)
        if not text:
            self._note.object = ""
            return
        colours = {"danger": "#842029", "warning": "#664d03", "info": "#084298"}
        self._note.object = (f'<div class="ps-note-{kind}" style="color:{colours[kind]};'
                             f'font-size:0.9em">{html.escape(text)}</div>')  # fmt: skip

    def _plot(self) -> Any:
        state = self.state
        self._update_note()
        nodes, edges, ylabel = network_frames(state)
        if state.burst_dates is None:
            return Div(text="<p class='ps-empty'>Pair network: open a burst.</p>", height=80)
        net = state.network
        disconnected = net is not None and not net.connected
        self._highlight = None
        self._computed = None
        self._computed_pairs = list(edges.loc[edges["status"] == "computed", "pair"])
        self._plotted_pair = state.pair
        self._edge_coords = {
            str(row.pair): {"x0": np.array([row.x0], "datetime64[ns]"),
                            "x1": np.array([row.x1], "datetime64[ns]"),
                            "y0": np.array([row.y0], float), "y1": np.array([row.y1], float)}
            for row in edges.itertuples()
        }  # fmt: skip
        bd = state.burst_dates
        band: list[Any] = []
        ylim: tuple[float, float] | None = None
        if bd.perpendicular_baselines is not None:
            band, ylim = critical_band(bd, np.asarray(bd.perpendicular_baselines, dtype=float))
        # remember the geometry (in plot units) for click -> nearest edge or node
        if len(edges):
            xs0 = edges["x0"].to_numpy("datetime64[ns]").astype(np.int64) / 1e6
            xs1 = edges["x1"].to_numpy("datetime64[ns]").astype(np.int64) / 1e6
            self._segments = np.column_stack([xs0, edges["y0"], xs1, edges["y1"]]).astype(float)
        else:
            self._segments = np.zeros((0, 4))
        self._keys = list(edges["pair"])
        xms = nodes["date"].to_numpy("datetime64[ns]").astype(np.int64) / 1e6
        ys = nodes["baseline"].to_numpy(float)
        self._nodes = np.column_stack([xms, ys]) if len(nodes) else np.zeros((0, 2))
        self._days = list(nodes["day"])
        self._spans = (float(np.ptp(xms)) or 1.0, float(np.ptp(ys)) or 1.0)
        lines = [f"Pair network: disconnected,\n{len(net.components)} groups" if disconnected else
                 "Pair network\n(" + {
                     "open": "click an edge to open it", "exclude": "click a date to exclude it",
                     "edit": "click an edge to drop it,\ntwo dates to add one"}[self.mode.value] + ")"]
        if state.stale:
            lines.append(OUTDATED)
        if bd.critical_baseline is not None and band:
            lines.append(f"shaded: critical baseline\n+-{bd.critical_baseline / 1000:.1f} km")
        title = "\n".join(lines)  # short lines: Bokeh sizes a figure to its title's longest
        fig = figure(
            height=HEIGHT + TITLE_LINE * (title.count("\n") - 1),  # the plot keeps its height
            sizing_mode="stretch_width", min_width=200, x_axis_type="datetime", title=title, x_axis_label="acquisition date", y_axis_label=ylabel,
            toolbar_location="above", tools="pan,wheel_zoom,box_zoom,reset,save",
            x_range=DataRange1d(range_padding=0.16),  # 8 % on each side
            y_range=(DataRange1d(range_padding=0.16) if ylim is None
                     else Range1d(start=ylim[0], end=ylim[1])),
        )  # fmt: skip
        fig.xaxis.major_label_orientation = np.pi / 6
        fig.grid.visible = False
        for annotation in band:
            fig.add_layout(annotation)
        sources = draw_network(fig, nodes, edges, state.pair, self._pending, disconnected)
        self._highlight, self._computed = sources["highlight"], sources["computed"]
        fig.on_event(Tap, lambda event: self._tapped(event.x, event.y))
        return fig

    def _tapped(self, x: Any, y: Any) -> None:
        if x is None or y is None:
            return
        xm, ym = to_ms(x), float(y)
        node, node_d = (nearest_point(self._nodes, xm, ym, self._spans) if len(self._nodes)
                        else (-1, np.inf))  # fmt: skip
        edge, edge_d = (nearest_segment(self._segments, xm, ym, self._spans)
                        if len(self._segments) else (-1, np.inf))  # fmt: skip
        mode = self.mode.value
        state = self.state
        if mode == "exclude":
            if node_d <= TAP_TOLERANCE:
                state.toggle_date(self._days[node])
            return
        if mode == "edit":
            if node_d <= NODE_TOLERANCE or (node_d <= TAP_TOLERANCE and edge_d > NODE_TOLERANCE):
                here = self._days[node]
                if self._pending is None:
                    self._pending = here
                    state.say(f"Date {here} picked: click the other date of the pair.", "info")
                    self._refresh()
                elif self._pending == here:
                    self._pending = None
                    state.say("No pair added.", "info")
                    self._refresh()
                else:
                    first, self._pending = self._pending, None
                    a, b = sorted((first, here))
                    state.toggle_pair(f"{a}_{b}")
            elif edge_d <= TAP_TOLERANCE:
                self._pending = None
                state.toggle_pair(self._keys[edge])
            return
        if edge_d <= TAP_TOLERANCE:
            key = self._keys[edge]
            if key in state.results:
                state.pair = key
            else:
                state.say(f"Pair {key} is not computed yet: press Compute.", "info")

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self.mode, self._pane, self._note, sizing_mode="stretch_width")
