# mypy: disable-error-code="no-untyped-call"
"""Pair network: acquisition dates against perpendicular baseline, pairs as edges.

Edges are coloured by the mean coherence of each computed pair; a click on (or next to) an edge
opens that pair; hover gives dates, baselines and mean coherence.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn

from pairscope.ui.backend import day
from pairscope.ui.state import ExplorerState, pair_key
from pairscope.ui.views.style import layer_style

HEIGHT = 300
#: A click selects the nearest edge within this fraction of the plot's diagonal.
TAP_TOLERANCE = 0.08


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


class NetworkView(pn.viewable.Viewer):

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self._segments = np.zeros((0, 4))
        self._keys: list[str] = []
        self._spans = (1.0, 1.0)
        self._pane = pn.pane.HoloViews(self._plot(), sizing_mode="stretch_width")
        self.state.param.watch(self._refresh, ["version", "pair", "burst_dates"])

    def _refresh(self, *_: Any) -> None:
        self._pane.object = self._plot()

    def _plot(self) -> Any:
        state = self.state
        bd = state.burst_dates
        if bd is None:
            return hv.Div("<p class='ps-empty'>Pair network: open a burst.</p>").opts(height=80)
        dates = np.asarray(bd.dates, dtype="datetime64[ns]")
        if bd.perpendicular_baselines is not None:
            ys = np.asarray(bd.perpendicular_baselines, dtype=float)
            ylabel = "perpendicular baseline [m]"
        else:
            ys = np.arange(dates.size, dtype=float)
            ylabel = "date index (no orbits)"
        where = {day(d): (d, y) for d, y in zip(dates, ys, strict=True)}
        points = hv.Points(
            pd.DataFrame({"date": dates, "baseline": ys, "day": [day(d) for d in dates]}),
            kdims=["date", "baseline"],
            vdims=["day"],
        ).opts(size=9, color="#222222", tools=["hover"])
        rows = []
        for a, b in state.pair_list:
            key = pair_key(a, b)
            if day(a) not in where or day(b) not in where:
                continue
            (xa, ya), (xb, yb) = where[day(a)], where[day(b)]
            rows.append(
                {
                    "x0": xa, "y0": ya, "x1": xb, "y1": yb, "pair": key,
                    "temporal_baseline": int((b - a) / np.timedelta64(1, "D")),
                    "perpendicular_baseline": float(yb - ya) if bd.perpendicular_baselines
                    is not None else float("nan"),
                    "coherence": float(state.pair_means.get(key, np.nan)),
                }
            )  # fmt: skip
        df = pd.DataFrame(
            rows,
            columns=["x0", "y0", "x1", "y1", "pair", "temporal_baseline",
                     "perpendicular_baseline", "coherence"],
        )  # fmt: skip
        vdims = ["coherence", "pair", "temporal_baseline", "perpendicular_baseline"]
        style = layer_style("coherence")
        segments = hv.Segments(df, kdims=["x0", "y0", "x1", "y1"], vdims=vdims).opts(
            color="coherence", cmap=list(style.cmap), clim=(0.0, 1.0), colorbar=True,
            clabel="mean coherence [0-1]", line_width=5, tools=["hover", "tap"],
            hover_tooltips=[
                ("pair", "@pair"), ("temporal baseline [d]", "@temporal_baseline"),
                ("perpendicular baseline [m]", "@perpendicular_baseline{0.0}"),
                ("mean coherence", "@coherence{0.000}"),
            ],
        )  # fmt: skip
        chosen = df[df["pair"] == (state.pair or "")]
        highlight = hv.Segments(chosen, kdims=["x0", "y0", "x1", "y1"], vdims=vdims).opts(
            color="#d62728", line_width=11, alpha=0.6
        )
        # remember the geometry (in plot units) for click -> nearest edge
        if len(df):
            xs0 = df["x0"].to_numpy("datetime64[ns]").astype(np.int64) / 1e6
            xs1 = df["x1"].to_numpy("datetime64[ns]").astype(np.int64) / 1e6
            self._segments = np.column_stack([xs0, df["y0"], xs1, df["y1"]]).astype(float)
        else:
            self._segments = np.zeros((0, 4))
        self._keys = list(df["pair"])
        xms = dates.astype(np.int64) / 1e6
        self._spans = (float(np.ptp(xms)) or 1.0, float(np.ptp(ys)) or 1.0)
        overlay = (highlight * segments * points).opts(
            responsive=True, height=HEIGHT, xlabel="acquisition date", ylabel=ylabel,
            title="Pair network (click an edge)", padding=0.08, xrotation=30,
            toolbar="above",
        )  # fmt: skip
        tap = hv.streams.Tap(source=segments, x=None, y=None)
        tap.add_subscriber(self._tapped)
        return overlay

    def _tapped(self, x: Any, y: Any) -> None:
        if x is None or y is None or not len(self._segments):
            return
        i, dist = nearest_segment(self._segments, to_ms(x), float(y), self._spans)
        if dist <= TAP_TOLERANCE:
            self.state.pair = self._keys[i]

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane
