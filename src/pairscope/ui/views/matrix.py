# mypy: disable-error-code="no-untyped-call"
"""Coherence matrix and pairs table: the mean coherence of each computed pair of the network over
the map view (the whole burst when the maps are not zoomed).

The matrix has the dates in order on both axes (reference across, secondary up); the table beside
it lists the same pairs with their temporal and perpendicular baselines, mean coherence and place
in the network, lowest coherence first, and sorts on any column. Clicking a cell or a row opens
that pair; the chosen cell is outlined, the others keep their colour.

The matrix is a plain Bokeh figure (rectangles on two date axes): as a HoloViews heat map it was
~0.15-0.3 s of every served page's loop per build (HoloViews' plotting machinery), for a
figure of at most a few hundred cells.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import panel as pn
from bokeh.events import Tap
from bokeh.models import ColumnDataSource, FactorRange, HoverTool
from bokeh.models.widgets.markups import Div
from bokeh.plotting import figure

from pairscope.ui.backend import day
from pairscope.ui.session_loop import Coalesced
from pairscope.ui.state import ExplorerState, pair_key
from pairscope.ui.views.style import OUTDATED, cell_at, mean_coherence_colours, unfaded

HEIGHT = 300
TABLE_HEIGHT = 230
TABLE_COLUMNS = {
    "pair": "pair",
    "temporal_baseline": "days",
    "perpendicular_baseline": "B_perp [m]",
    "coherence": "mean coherence",
    "network": "in network",
}


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


def pairs_table(state: ExplorerState) -> pd.DataFrame:
    """The shown pairs with their baselines, mean coherence over the view and place in the
    network (``kept``, ``pruned``, ``kept to connect``), lowest coherence first."""
    bd = state.burst_dates
    baselines: dict[str, float] = {}
    if bd is not None and bd.perpendicular_baselines is not None:
        baselines = {day(d): b for d, b in zip(bd.dates, bd.perpendicular_baselines,
                                               strict=True)}  # fmt: skip
    net = state.network
    pruned = {p.label for p in net.pruned} if net is not None else set()
    rescued = {p.label for p in net.rescued} if net is not None else set()
    rows = []
    for a, b in state.shown_pairs():
        key = pair_key(a, b)
        ra, rb = day(a), day(b)
        bperp = baselines[rb] - baselines[ra] if ra in baselines and rb in baselines else np.nan
        rows.append({
            "pair": key,
            "temporal_baseline": int((b - a) / np.timedelta64(1, "D")),
            "perpendicular_baseline": round(float(bperp), 1),
            "coherence": round(float(state.view_means.get(key, np.nan)), 3),
            "network": "pruned" if key in pruned else "kept to connect" if key in rescued
            else "kept",
        })  # fmt: skip
    df = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    return df.sort_values(["coherence", "pair"], na_position="last").reset_index(drop=True)


def where_text(state: ExplorerState) -> str:
    return "current view" if state.view is not None else "whole burst"


class MatrixView(pn.viewable.Viewer):

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self._rows: list[str] = []
        self._syncing = False
        self._outline: Any = None  # the shown plot's outline data source
        self._plotted_pair: str | None = None
        self._cells: dict[str, tuple[str, str, float]] = {}
        self._heat: Any = None  # the shown plot's cells' data source and its figure
        self._figure: Any = None
        self._factors: list[str] = []  # the dates on both axes of the shown plot
        self._pane = pn.pane.Bokeh(self._plot(), sizing_mode="stretch_width")
        self.table = pn.widgets.DataFrame(
            self._table(), show_index=False, sortable=True, disabled=True, selection=[],
            height=TABLE_HEIGHT, sizing_mode="stretch_width", css_classes=["ps-pairs-table"],
            titles=TABLE_COLUMNS,  # (autosize_mode="fit_columns" breaks bokeh-tables 3.9)
        )  # fmt: skip
        self.table.param.watch(self._row_picked, "selection")
        # (the means and the network follow every result change; another pair shown only
        # moves the outline and the table's selection)
        # redrawn once per tick, after the maps (see session_loop.Coalesced)
        self._redraw = Coalesced(self._refresh)
        self.state.param.watch(self._redraw, ["network", "stale"])
        # new means of the shown range (every pan and zoom, once the range is still): the cells,
        # title and table change in what is drawn, not in a new figure
        self._recolour_soon = Coalesced(self._recolour, settle=("view_means",))
        self.state.param.watch(self._recolour_soon, ["view_means"])
        self.state.param.watch(self._pair_moved, ["pair"])

    def _recolour(self) -> None:
        """The means of the shown range into the cells, title and table drawn; a redraw when
        the computed pairs changed."""
        state = self.state
        bd = state.burst_dates
        source = self._heat
        df = matrix_frame(list(bd.dates) if bd else [], state.shown_pairs(), state.view_means)
        if source is None or bd is None or sorted(df["pair"]) != sorted(self._cells):
            self._redraw()
            return
        from pairscope.ui.views.maps import set_data

        means = {(str(r.reference), str(r.secondary)): float(r.coherence)
                 for r in df.itertuples()}  # fmt: skip
        self._cells = {str(r.pair): (str(r.reference), str(r.secondary), float(r.coherence))
                       for r in df.itertuples()}  # fmt: skip
        data = dict(source.data)
        values = np.array([means.get((str(a), str(b)), np.nan)
                           for a, b in zip(data["reference"], data["secondary"], strict=True)])
        for column in ("zvalues", "coherence"):
            if column in data:
                data[column] = values
        set_data(source, data)
        title = self._title()
        if self._figure is not None and self._figure.title is not None \
                and self._figure.title.text != title:  # fmt: skip
            self._figure.title.text = title
        self._sync_table()

    def _sync_table(self) -> None:
        """The pairs table for the state now, its shown pair selected (no pick of a pair)."""
        self._syncing = True
        try:
            self.table.selection = []
            self.table.value = self._table()
            self.table.selection = self._selected_rows()
        finally:
            self._syncing = False

    def _title(self) -> str:
        title = f"Mean coherence per pair\n({where_text(self.state)})"  # short lines, see network
        return title + (f"\n{OUTDATED}" if self.state.stale else "")

    def _pair_moved(self, *_: Any) -> None:
        """Outline the pair now shown and select its table row, in what is already drawn."""
        if self.state.pair == self._plotted_pair:
            return  # the plot was built for this pair
        if self._outline is None:  # not drawn yet: build it for this pair
            self._redraw()
            return
        from pairscope.ui.views.maps import set_data

        self._plotted_pair = self.state.pair
        row = self._cells.get(self.state.pair or "")
        set_data(self._outline, {"reference": [row[0]] if row else [],
                                 "secondary": [row[1]] if row else [],
                                 "zvalues": np.array([row[2]] if row else [], dtype=float)})
        self._syncing = True
        try:
            self.table.selection = self._selected_rows()
        finally:
            self._syncing = False

    def _table(self) -> pd.DataFrame:
        df = pairs_table(self.state)
        self._rows = list(df["pair"])
        return df

    def _refresh(self, *_: Any) -> None:
        self._pane.object = self._plot()
        self._sync_table()

    def _selected_rows(self) -> list[int]:
        pair = self.state.pair
        return [self._rows.index(pair)] if pair in self._rows else []

    def _row_picked(self, event: Any) -> None:
        if self._syncing or not event.new:
            return
        key = self._rows[event.new[0]] if event.new[0] < len(self._rows) else None
        if key and key in self.state.results and key != self.state.pair:
            self.state.pair = key

    def _plot(self) -> Any:
        """A new figure for the state's network: one cell per computed pair (reference across,
        secondary up, every date on both axes), the shown pair outlined."""
        state = self.state
        self._heat = self._figure = self._outline = None
        self._factors = []
        bd = state.burst_dates
        df = matrix_frame(list(bd.dates) if bd else [], state.shown_pairs(), state.view_means)
        self._plotted_pair = state.pair
        self._cells = {str(r.pair): (str(r.reference), str(r.secondary), float(r.coherence))
                       for r in df.itertuples()}  # fmt: skip
        if bd is None or df.empty:
            return Div(text="<p class='ps-empty'>Coherence matrix: compute some pairs.</p>",
                       height=80)  # fmt: skip
        labels = sorted(day(d) for d in bd.dates)
        self._factors = labels
        fig = figure(
            x_range=FactorRange(factors=labels), y_range=FactorRange(factors=labels), height=HEIGHT,
            sizing_mode="stretch_width", min_width=200, title=self._title(),
            toolbar_location="above", tools="pan,wheel_zoom,box_zoom,reset,save",
            x_axis_label="reference date", y_axis_label="secondary date",
        )  # fmt: skip
        fig.grid.visible = False
        fig.axis.major_tick_line_color = None
        fig.xaxis.major_label_orientation = np.pi / 4
        mapper = mean_coherence_colours(fig)
        values = df["coherence"].to_numpy(float)
        heat = ColumnDataSource(data={
            "reference": list(df["reference"]), "secondary": list(df["secondary"]),
            "zvalues": values, "coherence": values.copy(), "pair": list(df["pair"]),
        })  # fmt: skip
        fill: Any = {"field": "zvalues", "transform": mapper}
        cells = unfaded(fig.rect(x="reference", y="secondary", width=1, height=1, source=heat,
                                 fill_color=fill, line_color=None))  # fmt: skip
        row = self._cells.get(state.pair or "")
        outline = ColumnDataSource(data={
            "reference": [row[0]] if row else [], "secondary": [row[1]] if row else [],
            "zvalues": np.array([row[2]] if row else [], dtype=float),
        })  # fmt: skip
        fig.rect(x="reference", y="secondary", width=1, height=1, source=outline, fill_alpha=0.0,
                 line_color="#d62728", line_width=3)  # fmt: skip
        fig.add_tools(HoverTool(renderers=[cells], tooltips=[
            ("pair", "@pair"), ("reference", "@reference"), ("secondary", "@secondary"),
            ("mean coherence", "@zvalues{0.000}"),
        ]))  # fmt: skip
        fig.on_event(Tap, self._tap_event)
        self._heat, self._figure, self._outline = heat, fig, outline
        return fig

    def _tap_event(self, event: Any) -> None:
        """A click on the matrix: the dates of the cell under it."""
        found = cell_at(event, self._factors)
        if found is not None:
            self._tapped(*found)

    def _tapped(self, x: Any, y: Any) -> None:
        if x is None or y is None:
            return
        key = f"{min(str(x), str(y))}_{max(str(x), str(y))}"
        if key in self.state.results:
            self.state.pair = key

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Column(self._pane, self.table, sizing_mode="stretch_width")
