# mypy: disable-error-code="no-untyped-call"
"""Coherence matrix: mean coherence over the burst for each (reference, secondary) date pair."""

from __future__ import annotations

from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn

from pairscope.ui.backend import day
from pairscope.ui.state import ExplorerState, pair_key
from pairscope.ui.views.style import layer_style

HEIGHT = 300


def matrix_frame(
    dates: list[np.datetime64], pairs: list[tuple[np.datetime64, np.datetime64]],
    means: dict[str, float],
) -> pd.DataFrame:  # fmt: skip
    """Long table (reference, secondary, coherence) for every computed pair, dates as strings."""
    rows = []
    for a, b in pairs:
        key = pair_key(a, b)
        if key in means:
            rows.append({"reference": day(a), "secondary": day(b), "coherence": means[key],
                         "pair": key})  # fmt: skip
    return pd.DataFrame(rows, columns=["reference", "secondary", "coherence", "pair"])


class MatrixView(pn.viewable.Viewer):

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self._pane = pn.pane.HoloViews(self._plot(), sizing_mode="stretch_width")
        self.state.param.watch(self._refresh, ["version"])

    def _refresh(self, *_: Any) -> None:
        self._pane.object = self._plot()

    def _plot(self) -> Any:
        state = self.state
        bd = state.burst_dates
        df = matrix_frame(list(bd.dates) if bd else [], state.pair_list, state.pair_means)
        if bd is None or df.empty:
            return hv.Div("<p class='ps-empty'>Coherence matrix: compute some pairs.</p>").opts(
                height=80
            )
        labels = [day(d) for d in bd.dates]
        style = layer_style("coherence")
        heat = hv.HeatMap(df, kdims=["reference", "secondary"], vdims=["coherence", "pair"])
        heat = heat.redim.values(reference=labels, secondary=labels).opts(
            cmap=list(style.cmap), clim=(0.0, 1.0), colorbar=True, clabel="mean coherence [0-1]",
            tools=["hover", "tap"], responsive=True, height=HEIGHT, xrotation=45,
            title="Mean coherence per pair", toolbar="above",
        )  # fmt: skip
        tap = hv.streams.Tap(source=heat, x=None, y=None)
        tap.add_subscriber(self._tapped)
        return heat

    def _tapped(self, x: Any, y: Any) -> None:
        if x is None or y is None:
            return
        key = f"{min(str(x), str(y))}_{max(str(x), str(y))}"
        if key in self.state.results:
            self.state.pair = key

    def __panel__(self) -> pn.viewable.Viewable:
        return self._pane
