# mypy: disable-error-code="no-untyped-call"
"""The clicked pixel: its coherence (the estimate over its window) in every computed pair of the
network, against temporal baseline, against acquisition date (each pair a bar from its reference
to its secondary date), and as a date x date matrix (MintPy's ``plot_coherence_matrix``); with its
latitude, longitude and height. Clicking a point or a cell opens that pair.

Plain Bokeh figures, built at the first clicked pixel and kept: another pixel, pair or result
changes their data sources and titles in place (as HoloViews plots each click rebuilt three
figures, ~0.5 s of the server's loop per figure set, and the browser built and laid out ~150
new models).
"""

from __future__ import annotations

import html
import math
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
from bokeh.events import Tap
from bokeh.models import (
    ColumnDataSource,
    FactorRange,
    HoverTool,
    LinearColorMapper,
    Range1d,
)
from bokeh.models.annotations.legends import ColorBar
from bokeh.models.widgets.markups import Div
from bokeh.plotting import figure

from pairscope.ui.session_loop import Coalesced
from pairscope.ui.state import ExplorerState, pixel_matrix
from pairscope.ui.views.style import OUTDATED, cell_at, layer_style, unfaded

HEIGHT = 220
MATRIX_HEIGHT = 280


def pixel_text(state: ExplorerState) -> str:
    """Where the clicked pixel is, in plain words (grid position, latitude, longitude, height,
    window); "" when none is clicked."""
    if state.pixel is None:
        return ""
    x, y = state.pixel
    radar = True
    ds = state.current()
    parts = []
    if ds is not None:
        radar = ds["coherence"].dims[-1] == "range"
        from pairscope.ui.services import pixel_location

        found = None
        try:
            found = pixel_location(ds, float(x), float(y))
        except Exception:  # noqa: BLE001 - the location is a nicety; the values still show
            found = None
        if found is not None:
            lat, lon, h = found
            parts.append(f"latitude {lat:.5f}, longitude {lon:.5f}, height {h:.0f} m")
    where = f"range {x:.0f}, azimuth {y:.0f}" if radar else f"easting {x:.1f} m, northing {y:.1f} m"
    last = state._last_compute or {}
    window = f"{last.get('window_azimuth', state.window_azimuth)}x" \
             f"{last.get('window_range', state.window_range)}"  # fmt: skip
    parts.append(f"coherence over its {window} window")
    return f"Pixel at {where}: " + "; ".join(parts) + "."


class PixelView(pn.viewable.Viewer):

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self._info = pn.pane.HTML("", css_classes=["ps-pixel-info"], sizing_mode="stretch_width",
                                  margin=(0, 5))  # fmt: skip
        self._empty: str | None = None  # the message drawn when there is no pixel series
        self._message = Div(text="", height=80)
        self._message_pane = pn.pane.Bokeh(self._message, sizing_mode="stretch_width")
        self._plots: list[Any] = []  # the figures' panes, once built
        self._body = pn.Column(self._message_pane, sizing_mode="stretch_width")
        self._sources: dict[str, ColumnDataSource] = {}
        self._figures: dict[str, Any] = {}
        self._factors: list[str] = []  # the dates on both axes of the pixel's matrix
        self._refresh()
        # redrawn once per tick, after the maps (see session_loop.Coalesced)
        self._redraw = Coalesced(self._refresh)
        self.state.param.watch(self._redraw, ["pixel", "version", "pair", "network", "stale"])

    # -- what is drawn ---------------------------------------------------------------------------
    def _refresh(self, *_: Any) -> None:
        """The state's pixel into the figures (built at the first pixel, then changed in place),
        or the message saying why there is none."""
        state = self.state
        text = pixel_text(state)
        self._info.object = f"<div>{html.escape(text)}</div>" if text else ""
        rows = state.pixel_series()
        if not rows:
            message = (
                "Pixel: click a map to see that pixel's coherence in every pair."
                if state.pixel is None
                else "Pixel: the clicked point is outside the computed maps."
            )
            if message != self._empty:  # else the same message as drawn: nothing to send
                self._empty = message
                self._message.text = f"<p class='ps-empty'>{html.escape(message)}</p>"
                self._show(message=True)
            return
        self._empty = None
        x, y = state.pixel or (0.0, 0.0)
        outdated = "\n" + OUTDATED.replace(" Compute", "\nCompute") if state.stale else ""
        df = pd.DataFrame(rows)
        df["selected"] = df["pair"] == (state.pair or "")
        labels, cells = self._matrix_cells(rows)
        if not self._figures:
            self._build(labels)
            self._plots = [pn.pane.Bokeh(self._figures[name], sizing_mode="stretch_width")
                           for name in ("baseline", "date", "matrix")]  # fmt: skip
            self._body.objects = [self._message_pane, *self._plots]
        self._draw(df, labels, cells)
        where = f"({x:.0f}, {y:.0f})"
        # short lines: a figure is as wide as its title's longest (at 1280 px a pixel plot's
        # frame is ~190 px; titles of one line made the page up to 1446 px wide)
        titles = {"baseline": f"Pixel {where}:\ncoherence per pair{outdated}",
                  "date": f"Coherence of pixel\n{where} by date{outdated}",
                  "matrix": f"Coherence matrix of\npixel {where}{outdated}"}  # fmt: skip
        for name, title in titles.items():
            if self._figures[name].title.text != title:
                self._figures[name].title.text = title
        self._show(message=False)

    def _show(self, *, message: bool) -> None:
        """The message or the figures (both stay in the page: showing one hides the other). The
        Bokeh models' own ``visible`` (a Bokeh pane's ``visible`` set back to True reads False)."""
        if self._message.visible != message:
            self._message.visible = message
        for fig in self._figures.values():
            if fig.visible == message:
                fig.visible = not message

    def _draw(self, df: pd.DataFrame, labels: list[str], cells: pd.DataFrame) -> None:
        """New columns for every data source drawn (served: through Panel's write queue)."""
        from pairscope.ui.views.maps import set_data

        reference = pd.to_datetime(df["reference"]).to_numpy("datetime64[ms]")
        secondary = pd.to_datetime(df["secondary"]).to_numpy("datetime64[ms]")
        coherence = df["coherence"].to_numpy(float)
        days = df["temporal_baseline"].to_numpy(float)
        pairs = list(df["pair"])
        picked = df["selected"].to_numpy(bool)
        if self._factors != labels:  # another network's dates: the matrix's axes follow
            self._factors = labels
            matrix = self._figures["matrix"]
            matrix.x_range.factors = list(labels)
            matrix.y_range.factors = list(labels)
        row = cells[cells["pair"] == (self.state.pair or "")]
        columns = {
            "points": {"temporal_baseline": days, "coherence": coherence, "pair": pairs,
                       "perpendicular_baseline": df["perpendicular_baseline"].to_numpy(float)},
            "chosen": {"temporal_baseline": days[picked], "coherence": coherence[picked]},
            "bars": {"reference": reference, "secondary": secondary, "coherence": coherence,
                     "pair": pairs},
            "ends": {"date": np.concatenate([reference, secondary]),
                     "coherence": np.concatenate([coherence, coherence]), "pair": pairs + pairs},
            "mark": {"reference": reference[picked], "secondary": secondary[picked],
                     "coherence": coherence[picked]},
            "cells": {"reference": list(cells["reference"]), "secondary": list(cells["secondary"]),
                      "coherence": cells["coherence"].to_numpy(float)},
            "outline": {"reference": list(row["reference"]), "secondary": list(row["secondary"])},
        }  # fmt: skip
        for name, data in columns.items():
            set_data(self._sources[name], data)

    def _matrix_cells(self, rows: list[dict[str, Any]]) -> tuple[list[str], pd.DataFrame]:
        """The dates of the matrix's axes (the network's, else the pixel's pairs') and one cell
        per computed pair, on both sides of the diagonal, with its pair's key."""
        bd = self.state.burst_dates
        dates = sorted({d for r in rows for d in (r["reference"], r["secondary"])})
        if bd is not None:
            net = self.state.network
            dates = sorted(net.dates) if net is not None else sorted(bd.dates)
        labels, m = pixel_matrix(dates, rows)
        cells = [{"reference": labels[j], "secondary": labels[i], "coherence": float(m[i, j]),
                  "pair": f"{min(labels[i], labels[j])}_{max(labels[i], labels[j])}"}
                 for i in range(len(labels)) for j in range(len(labels))
                 if i != j and not math.isnan(m[i, j])]  # fmt: skip
        return labels, pd.DataFrame(cells, columns=["reference", "secondary", "coherence", "pair"])

    def _build(self, labels: list[str]) -> None:
        """The three figures and their (empty) data sources, once."""
        cmap = list(layer_style("coherence").cmap)
        src = self._sources = {name: ColumnDataSource(data={}) for name in (
            "points", "chosen", "bars", "ends", "mark", "cells", "outline")}  # fmt: skip
        tools = "pan,wheel_zoom,box_zoom,reset,save"
        common: dict[str, Any] = {"sizing_mode": "stretch_width", "min_width": 200,
                                  "toolbar_location": "above", "tools": tools, "title": " "}

        base = figure(height=HEIGHT, y_range=Range1d(start=0.0, end=1.0), x_axis_label="temporal baseline [days]",
                      y_axis_label="coherence [0-1]", **common)  # fmt: skip
        points = unfaded(base.scatter("temporal_baseline", "coherence", source=src["points"],
                                      size=9, color="#1f77b4"))  # fmt: skip
        base.scatter("temporal_baseline", "coherence", source=src["chosen"], size=16,
                     color="#d62728", fill_alpha=0.4)  # fmt: skip
        base.add_tools(HoverTool(renderers=[points], tooltips=[
            ("pair", "@pair"), ("coherence", "@coherence{0.000}"),
            ("temporal baseline [d]", "@temporal_baseline")]))  # fmt: skip
        base.on_event(Tap, lambda e: self._tapped_baseline(e.x, e.y))

        by_date = figure(height=HEIGHT, y_range=Range1d(start=0.0, end=1.0), x_axis_type="datetime",
                         x_axis_label="acquisition date", y_axis_label="coherence [0-1]", **common)
        by_date.xaxis.major_label_orientation = math.radians(30)
        tips = [("pair", "@pair"), ("coherence", "@coherence{0.000}")]
        by_date.segment("reference", "coherence", "secondary", "coherence", source=src["mark"],
                        color="#d62728", line_width=9, alpha=0.5)  # fmt: skip
        colours = LinearColorMapper(palette=cmap, low=0.0, high=1.0)
        bars = by_date.segment("reference", "coherence", "secondary", "coherence",
                               source=src["bars"], line_width=4,
                               color={"field": "coherence", "transform": colours})  # fmt: skip
        dots = by_date.scatter("date", "coherence", source=src["ends"], size=6, color="#333333")
        by_date.add_tools(HoverTool(renderers=[bars, dots], tooltips=tips))

        matrix = figure(height=MATRIX_HEIGHT, x_range=FactorRange(factors=list(labels)),
                        y_range=FactorRange(factors=list(labels)), x_axis_label="date",
                        y_axis_label="date", **common)  # fmt: skip
        self._factors = list(labels)
        matrix.grid.visible = False
        matrix.axis.major_tick_line_color = None
        matrix.xaxis.major_label_orientation = math.radians(45)
        mapper = LinearColorMapper(palette=cmap, low=0.0, high=1.0, nan_color="#bbbbbb")
        matrix.add_layout(ColorBar(color_mapper=mapper, title="coherence [0-1]", width=12), "right")
        heat = unfaded(matrix.rect("reference", "secondary", width=1, height=1, source=src["cells"],
                                   fill_color={"field": "coherence", "transform": mapper},
                                   line_color=None))  # fmt: skip
        matrix.rect("reference", "secondary", width=1, height=1, source=src["outline"],
                    fill_alpha=0.0, line_color="#d62728", line_width=3)  # fmt: skip
        matrix.add_tools(HoverTool(renderers=[heat], tooltips=[
            ("reference", "@reference"), ("secondary", "@secondary"),
            ("coherence", "@coherence{0.000}")]))  # fmt: skip
        matrix.on_event(Tap, self._tap_cell)
        self._figures = {"baseline": base, "date": by_date, "matrix": matrix}

    # -- clicks ----------------------------------------------------------------------------------
    def _open(self, key: str | None) -> None:
        if key and key in self.state.results:
            self.state.pair = key

    def _tap_cell(self, event: Any) -> None:
        """A click on the matrix: the pair of the cell under it (none on the diagonal)."""
        found = cell_at(event, self._factors)
        if found is not None and found[0] != found[1]:
            self._tapped_cell(*found)

    def _tapped_cell(self, x: Any, y: Any) -> None:
        if x is None or y is None:
            return
        self._open(f"{min(str(x), str(y))}_{max(str(x), str(y))}")

    def _tapped_baseline(self, x: Any, y: Any) -> None:
        if x is None or y is None:
            return
        rows = self.state.pixel_series()
        if not rows:
            return
        d = [np.hypot((r["temporal_baseline"] - float(x)) / 30.0, r["coherence"] - float(y))
             for r in rows]  # fmt: skip
        i = int(np.argmin(d))
        if d[i] < 0.15:
            self._open(rows[i]["pair"])

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._info, self._body, sizing_mode="stretch_width")
