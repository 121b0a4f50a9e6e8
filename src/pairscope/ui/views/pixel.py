# mypy: disable-error-code="no-untyped-call"
"""The clicked pixel: its coherence (the estimate over its window) in every computed pair of the
network, against temporal baseline, against acquisition date (each pair a bar from its reference
to its secondary date), and as a date x date matrix (MintPy's ``plot_coherence_matrix``); with its
latitude, longitude and height. Clicking a point, bar or cell opens that pair.
"""

from __future__ import annotations

import html
import math
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn

from pairscope.ui.session_loop import Coalesced
from pairscope.ui.state import ExplorerState, pixel_matrix
from pairscope.ui.views.style import layer_style

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
        first, second, third = self._plots() or (None, None, None)
        self._panes = [pn.pane.HoloViews(p, sizing_mode="stretch_width", linked_axes=False)
                       for p in (first, second, third)]  # fmt: skip
        # redrawn once per tick, after the maps (see session_loop.Coalesced)
        self._redraw = Coalesced(self._refresh)
        self.state.param.watch(self._redraw, ["pixel", "version", "pair", "network", "stale"])

    def _refresh(self, *_: Any) -> None:
        plots = self._plots()
        if plots is None:
            return  # the same message as drawn: nothing to send (another pair, no pixel)
        for pane, plot in zip(self._panes, plots, strict=True):
            pane.object = plot

    def _plots(self) -> tuple[Any, Any, Any] | None:
        """The three plots for the state now; None when they would be the empty message already
        drawn."""
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
            if message == self._empty:
                return None
            self._empty = message
            empty = hv.Div(f"<p class='ps-empty'>{message}</p>").opts(height=80)
            return empty, hv.Div("").opts(height=10), hv.Div("").opts(height=10)
        self._empty = None
        x, y = state.pixel or (0.0, 0.0)
        outdated = " (outdated: press Compute)" if state.stale else ""
        df = pd.DataFrame(rows)
        df["selected"] = df["pair"] == (state.pair or "")
        return (self._by_baseline(df, x, y, outdated), self._by_date(df, x, y, outdated),
                self._matrix(rows, x, y, outdated))  # fmt: skip

    def _by_baseline(self, df: pd.DataFrame, x: float, y: float, outdated: str) -> Any:
        frame = df.drop(columns=["reference", "secondary"])
        vdims = ["coherence", "pair", "perpendicular_baseline"]
        tips = [("pair", "@pair"), ("coherence", "@coherence{0.000}"),
                ("temporal baseline [d]", "@temporal_baseline")]  # fmt: skip
        points = hv.Scatter(frame, kdims=["temporal_baseline"], vdims=vdims).opts(
            size=9, color="#1f77b4", tools=["hover", "tap"], hover_tooltips=tips,
            nonselection_alpha=1.0, selection_alpha=1.0,
        )  # fmt: skip
        chosen = hv.Scatter(frame[frame["selected"]], kdims=["temporal_baseline"],
                            vdims=["coherence"]).opts(
            size=16, color="#d62728", marker="circle", fill_alpha=0.4)  # fmt: skip
        tap = hv.streams.Tap(source=points, x=None, y=None)
        tap.add_subscriber(self._tapped_baseline)
        return (points * chosen).opts(
            responsive=True, height=HEIGHT, ylim=(0.0, 1.0), xlabel="temporal baseline [days]",
            ylabel="coherence [0-1]", title=f"Pixel ({x:.0f}, {y:.0f}): coherence per pair"
            + outdated, toolbar="above",
        )  # fmt: skip

    def _by_date(self, df: pd.DataFrame, x: float, y: float, outdated: str) -> Any:
        frame = df.assign(
            reference=pd.to_datetime(df["reference"]), secondary=pd.to_datetime(df["secondary"]),
            level=df["coherence"],
        )
        style = layer_style("coherence")
        tips = [("pair", "@pair"), ("coherence", "@coherence{0.000}")]
        bars = hv.Segments(frame, kdims=["reference", "level", "secondary", "coherence"],
                           vdims=["pair", "temporal_baseline"]).opts(
            color="coherence", cmap=list(style.cmap), clim=(0.0, 1.0), line_width=4,
            tools=["hover"], hover_tooltips=tips)  # fmt: skip
        ends = pd.concat([
            frame[["reference", "coherence", "pair"]].rename(columns={"reference": "date"}),
            frame[["secondary", "coherence", "pair"]].rename(columns={"secondary": "date"}),
        ])  # fmt: skip
        dots = hv.Scatter(ends, kdims=["date"], vdims=["coherence", "pair"]).opts(
            size=6, color="#333333", tools=["hover"], hover_tooltips=tips)
        chosen = frame[frame["selected"]]
        mark = hv.Segments(chosen, kdims=["reference", "level", "secondary", "coherence"]).opts(
            color="#d62728", line_width=9, alpha=0.5)
        return (mark * bars * dots).opts(
            responsive=True, height=HEIGHT, ylim=(0.0, 1.0), xlabel="acquisition date",
            ylabel="coherence [0-1]", xrotation=30,
            title=f"Coherence of pixel ({x:.0f}, {y:.0f}) against date" + outdated,
            toolbar="above",
        )  # fmt: skip

    def _matrix(self, rows: list[dict[str, Any]], x: float, y: float, outdated: str) -> Any:
        bd = self.state.burst_dates
        dates = sorted({d for r in rows for d in (r["reference"], r["secondary"])})
        if bd is not None:
            net = self.state.network
            dates = sorted(net.dates) if net is not None else sorted(bd.dates)
        labels, m = pixel_matrix(dates, rows)
        cells = [{"reference": labels[j], "secondary": labels[i], "coherence": float(m[i, j])}
                 for i in range(len(labels)) for j in range(len(labels))
                 if i != j and not math.isnan(m[i, j])]  # fmt: skip
        frame = pd.DataFrame(cells, columns=["reference", "secondary", "coherence"])
        style = layer_style("coherence")
        heat = hv.HeatMap(frame, kdims=["reference", "secondary"], vdims=["coherence"])
        heat = heat.redim.values(reference=labels, secondary=labels).opts(
            cmap=list(style.cmap), clim=(0.0, 1.0), colorbar=True, clabel="coherence [0-1]",
            tools=["hover", "tap"], responsive=True, height=MATRIX_HEIGHT, xrotation=45,
            title=f"Coherence matrix of pixel ({x:.0f}, {y:.0f})" + outdated, toolbar="above",
            selection_alpha=1.0, nonselection_alpha=1.0, xlabel="date", ylabel="date",
        )  # fmt: skip
        tap = hv.streams.Tap(source=heat, x=None, y=None)
        tap.add_subscriber(self._tapped_cell)
        return heat

    def _open(self, key: str | None) -> None:
        if key and key in self.state.results:
            self.state.pair = key

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
        return pn.Column(self._info, *self._panes, sizing_mode="stretch_width")
