# mypy: disable-error-code="no-untyped-call"
"""Coherence of the clicked pixel for every computed pair, against temporal baseline."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import pandas as pd
import panel as pn

from pairscope.ui.state import ExplorerState

HEIGHT = 300


class PixelView(pn.viewable.Viewer):

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self._pane = pn.pane.HoloViews(self._plot(), sizing_mode="stretch_width")
        self.state.param.watch(self._refresh, ["pixel", "version", "pair"])

    def _refresh(self, *_: Any) -> None:
        self._pane.object = self._plot()

    def _plot(self) -> Any:
        state = self.state
        rows = state.pixel_series()
        if not rows:
            text = (
                "Pixel: click a map to see that pixel's coherence in every pair."
                if state.pixel is None
                else "Pixel: the clicked point is outside the computed maps."
            )
            return hv.Div(f"<p class='ps-empty'>{text}</p>").opts(height=80)
        df = pd.DataFrame(rows).drop(columns=["reference", "secondary"])
        df["selected"] = df["pair"] == (state.pair or "")
        x, y = state.pixel or (0.0, 0.0)
        vdims = ["coherence", "pair"]
        points = hv.Scatter(df, kdims=["temporal_baseline"], vdims=vdims).opts(
            size=9, color="#1f77b4", tools=["hover"]
        )
        chosen = hv.Scatter(df[df["selected"]], kdims=["temporal_baseline"], vdims=vdims).opts(
            size=14, color="#d62728", marker="circle", fill_alpha=0.4
        )
        return (chosen * points).opts(
            responsive=True, height=HEIGHT, ylim=(0.0, 1.0), xlabel="temporal baseline [days]",
            ylabel="coherence [0-1]", title=f"Pixel ({x:.0f}, {y:.0f}): coherence per pair",
            toolbar="above",
        )  # fmt: skip

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane
