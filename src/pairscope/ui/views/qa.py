# mypy: disable-error-code="no-untyped-call"
"""Product QA: a published coherence product beside our recomputation from the SLCs.

The view is thin over the core: products come from :func:`pairscope.io.catalog.list_products` and
:func:`pairscope.io.rasters.open_product` (physical units), the render from the product's own
``renders`` (:func:`pairscope.render.renders_for`, converted to physical units with
:func:`pairscope.render.to_physical` for both sides), our coherence from the app's backend in
radar geometry, geocoded onto the product grid with :func:`pairscope.qa.to_product_grid`
(:func:`pairscope.geometry.geocoding.geocode` to the product's CRS and pixel size, then nearest product
cell), statistics from :func:`pairscope.qa.compare` and the window search from
:func:`pairscope.qa.best_matching_window` (on a worker thread).

The three maps are :class:`pairscope.ui.views.maps.LinkedImages` (pan and zoom together, each
resampled to its figure's pixels for the range shown) and the 2-D histogram a plain Bokeh image:
all built at the first comparison, then changed in place. As HoloViews + Datashader, each
comparison built four new figures, and every pan or zoom updated four plots, each update a walk
of the whole page's models on the server (~0.2 s each on a served page).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool, LogColorMapper, Range1d
from bokeh.models.annotations.legends import ColorBar
from bokeh.plotting import figure

from pairscope import render
from pairscope.ui.backend import UserError, day
from pairscope.ui.messages import as_text
from pairscope.ui.services import (
    HIST_BINS,
    Comparison,
    ProductChoice,
    ProductRender,
    Runner,
    best_window,
    list_qa_products,
    product_estimator,
    product_render,
    run_comparison,
    subset_statistics,
    view_statistics,
    view_subsets,
)
from pairscope.ui.state import ExplorerState
from pairscope.ui.views.downloads import QADownloads
from pairscope.ui.views.maps import Image, LinkedImages, View, frame, set_data
from pairscope.ui.views.style import wrap_row

#: Narrowest and widest a map may get, and its height: the maps grow with the window (their
#: ranges keep one metre as long across as up) and wrap onto the next row when it is narrow.
MAP_MIN_WIDTH = 380
MAP_MAX_WIDTH = 620
MAP_HEIGHT = 400
HISTOGRAM_WIDTH = 420
#: Symmetric colour limit of the difference map (coherence units).
DIFF_LIMIT = 0.2
ESTIMATOR = "|sum(s1 conj(s2))| / sqrt(sum|s1|^2 sum|s2|^2)"


# -- what the view shows, as plain functions ----------------------------------------------------


def statistics_markdown(stats: dict[str, Any], whole: bool) -> str:
    where = "whole product" if whole else "current view"

    def f(v: float, fmt: str = "+.4f") -> str:
        return "n/a" if not math.isfinite(v) else format(v, fmt)

    return "\n".join([
        f"#### Statistics ({where}; difference = ours - product)",
        "| | |", "|---|---|",
        f"| bias | {f(stats['bias'])} |",
        f"| RMSE | {f(stats['rmse'], '.4f')} |",
        f"| std of difference | {f(stats.get('std_difference', math.nan), '.4f')} |",
        f"| correlation | {f(stats['correlation'], '.4f')} |",
        f"| mean product / ours | {f(stats.get('mean_product', math.nan), '.3f')} / "
        f"{f(stats.get('mean_ours', math.nan), '.3f')} |",
        f"| valid pixels: product / ours / both | {stats['n_product']} / {stats['n_ours']} / "
        f"{stats['n_both']} of {stats['n_pixels']} |",
    ])  # fmt: skip


def estimator_markdown(c: Comparison) -> str:
    pw = f"{c.product_window[0]} x {c.product_window[1]}" if c.product_window else "not stated"
    az, rg = c.window
    crs = c.product.rio.crs
    res = abs(float(c.product.rio.resolution()[0]))
    bias = "bias-corrected (Touzi inverse)" if c.bias_corrected else "sample coherence, not bias-corrected"
    return (
        f"**Product** {c.choice.item_id}, asset {c.asset}: {c.product_estimator}. "
        f"Window (azimuth x range): **{pw}**.\n\n"
        f"**Ours**: {ESTIMATOR} over a boxcar of **{az} x {rg}** (azimuth x range) = {az * rg} "
        f"samples, {bias}, from the SLCs of {day(c.choice.reference)} and "
        f"{day(c.choice.secondary)} in radar geometry; then geocoded onto the product grid with "
        f"pairscope.geometry.geocoding.geocode ({crs}, {res:g} m, mean of the radar samples in each cell) and "
        "matched to the product's pixel centres (nearest cell within half a pixel, "
        "pairscope.qa.to_product_grid).\n\n" + c.render.note
    )




def best_window_frame(found: dict[str, Any]) -> pd.DataFrame:
    rows = [
        {"window": f"{r['window'][0]}x{r['window'][1]}", "looks": r["window"][0] * r["window"][1],
         "bias": r["bias"], "RMSE": r["rmse"], "correlation": r["correlation"],
         "pixels": r["n_both"]}
        for r in found["results"]
    ]  # fmt: skip
    df = pd.DataFrame(rows)
    return df.sort_values("RMSE" if found["criterion"] == "rmse" else "bias").reset_index(drop=True)


# -- plots ----------------------------------------------------------------------------------------
def map_images(c: Comparison) -> list[Image]:
    """The product, ours and their difference as :meth:`LinkedImages.show` draws them, in the
    product's render (colormap and limits; the difference on its own diverging scale)."""
    cmap = list(render.palette(c.render.colormap_name))
    coh, diff = "coherence [0-1]", "ours - product [coherence]"
    limits = (float(c.render.limits[0]), float(c.render.limits[1]))
    title = f"Product {c.asset} {day(c.choice.reference)} / {day(c.choice.secondary)}"
    return [(frame(c.product, coh), cmap, limits, coh, title),
            (frame(c.ours, coh), cmap, limits, coh, f"Ours {c.window[0]}x{c.window[1]}, geocoded"),
            (frame(c.difference, diff), list(render.palette("rdbu_r")), (-DIFF_LIMIT, DIFF_LIMIT),
             diff, "Difference (ours - product)")]  # fmt: skip


def histogram_counts(product: np.ndarray, ours: np.ndarray, bins: int = HIST_BINS) -> np.ndarray:
    """The pixels valid in both (same-grid arrays: `view_subsets`), counted on a ``bins`` x
    ``bins`` grid over [0, 1]^2: rows our coherence, columns the product's (1.0 in the last bin)."""
    product, ours = np.ravel(product), np.ravel(ours)
    both = np.isfinite(product) & np.isfinite(ours)
    counts, _, _ = np.histogram2d(ours[both], product[both], bins=bins,
                                  range=((0.0, 1.0), (0.0, 1.0)))  # fmt: skip
    return np.asarray(counts)


def _ranges(view: View | None) -> tuple[Any, Any]:
    """(x range, y range) of a view; (None, None) for all of the product."""
    return (None, None) if view is None else ((view[0], view[1]), (view[2], view[3]))


class Histogram:
    """The 2-D histogram of ours against the product (pixel counts, log colour; empty bins
    blank) with the 1:1 line: one plain Bokeh figure whose image and title change in place."""

    def __init__(self) -> None:
        self.source = ColumnDataSource(data={"image": [], "x": [], "y": [], "dw": [], "dh": []})
        self.mapper = LogColorMapper(palette=list(render.palette("magma_r")), low=1, high=10,
                                     nan_color=(0, 0, 0, 0))  # fmt: skip
        fig = figure(width=HISTOGRAM_WIDTH, height=380, x_range=Range1d(start=0.0, end=1.0),
                     y_range=Range1d(start=0.0, end=1.0), x_axis_label="product coherence [0-1]",
                     y_axis_label="our coherence [0-1]", title=" ", toolbar_location="right",
                     tools="pan,wheel_zoom,box_zoom,reset,save")  # fmt: skip
        mapped: dict[str, Any] = {"color_mapper": self.mapper}  # missing in bokeh's type stub
        image = fig.image(image="image", x="x", y="y", dw="dw", dh="dh", source=self.source,
                          **mapped)  # fmt: skip
        fig.add_layout(ColorBar(color_mapper=self.mapper, title="pixels", width=12), "right")
        fig.line([0.0, 1.0], [0.0, 1.0], color="red", line_dash="dashed")
        fig.add_tools(HoverTool(renderers=[image], tooltips=[
            ("product", "$x{0.000}"), ("ours", "$y{0.000}"), ("pixels", "@image{0}")]))  # fmt: skip
        self.fig = fig

    def draw(self, counts: np.ndarray, n_both: int) -> None:
        image = np.where(counts > 0, counts, np.nan).astype(np.float32)
        high = float(np.nanmax(image)) if n_both else 1.0
        set_data(self.source, {"image": [image], "x": [0.0], "y": [0.0], "dw": [1.0], "dh": [1.0]})
        if self.mapper.high != max(high, 2.0):
            self.mapper.high = max(high, 2.0)
        title = f"Product vs ours: 2-D histogram of {n_both} pixels"
        if self.fig.title.text != title:  # type: ignore[union-attr]
            self.fig.title.text = title  # type: ignore[union-attr]


class QAView(pn.viewable.Viewer):
    """Pick a product; see it beside ours, their difference, a 2-D histogram and statistics of
    the current view; find the window that matches the product best."""

    def __init__(self, state: ExplorerState, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.runner = Runner()
        self.window_runner = Runner()
        self.choices: dict[str, ProductChoice] = {}
        self.comparison: Comparison | None = None
        self.best: dict[str, Any] | None = None
        self.active = False
        self._listed_for: tuple[str, str] | None = None
        self._range: tuple[Any, Any] = (None, None)
        #: Whether the tab is on screen (the app clears it when another tab is shown).
        self.shown = True
        #: The inputs the shown comparison was drawn from (None: nothing drawn yet).
        self._drawn: dict[str, Any] | None = None
        self.product = pn.widgets.Select(name="Published coherence product", options={},
                                         sizing_mode="stretch_width", min_width=260,
                                         max_width=520, css_classes=["ps-qa-product"])  # fmt: skip
        self.asset = pn.widgets.Select(name="Asset", options=[], width=90,
                                       css_classes=["ps-qa-asset"])  # fmt: skip
        self.compare_button = pn.widgets.Button(name="Compare", button_type="primary", width=110,
                                                css_classes=["ps-qa-compare"], align="end")  # fmt: skip
        self.search_button = pn.widgets.Button(
            name="Find the best-matching window", width=230, css_classes=["ps-qa-search"],
            align="end", disabled=True,
        )  # fmt: skip
        self.use_button = pn.widgets.Button(name="Use it", width=140, align="end", visible=False,
                                            css_classes=["ps-qa-use"], button_type="success")  # fmt: skip
        self.message = pn.pane.Alert("Open this tab to list the catalog's published products.",
                                     alert_type="info", css_classes=["ps-qa-message"],
                                     sizing_mode="stretch_width", margin=(5, 5))  # fmt: skip
        # says when the maps no longer match the inputs (what changed; press Compare)
        self.outdated = pn.pane.Alert("", alert_type="warning", visible=False,
                                      css_classes=["ps-qa-outdated"], sizing_mode="stretch_width",
                                      margin=(5, 5))  # fmt: skip
        self.estimators = pn.pane.Markdown("", css_classes=["ps-qa-estimators"],
                                           sizing_mode="stretch_width")  # fmt: skip
        # one pane per map (each grows with the window; they wrap under each other when it is
        # narrow); the figures are built at the first comparison and kept, sharing their ranges
        self.map_panes = [
            pn.pane.Bokeh(None, sizing_mode="stretch_width", min_width=MAP_MIN_WIDTH,
                          max_width=MAP_MAX_WIDTH, css_classes=["ps-qa-map"])
            for _ in range(3)
        ]  # fmt: skip
        self.maps: LinkedImages | None = None
        # built at the first comparison; a pan or zoom of the maps changes its image and title
        self._histogram: Histogram | None = None
        self.histogram = pn.pane.Bokeh(None, width=HISTOGRAM_WIDTH + 20,
                                       css_classes=["ps-qa-histogram"])  # fmt: skip
        self.stats = pn.pane.Markdown("", css_classes=["ps-qa-stats"], sizing_mode="stretch_width",
                                      min_width=280, max_width=430)  # fmt: skip
        self.windows = pn.pane.DataFrame(None, index=False, float_format="{:.4f}".format,
                                         css_classes=["ps-qa-windows"], max_height=300,
                                         sizing_mode="stretch_width")  # fmt: skip
        self.downloads = QADownloads(lambda: self.comparison, lambda: self._range, self.say,
                                     estimator=ESTIMATOR, difference_limit=DIFF_LIMIT)  # fmt: skip
        self.compare_button.on_click(lambda _e: self.compare())
        self.search_button.on_click(lambda _e: self.search_window())
        self.use_button.on_click(lambda _e: self.use_best())
        self.product.param.watch(self._product_changed, "value")
        self.product.param.watch(self._check_outdated, "value")
        self.asset.param.watch(self._check_outdated, "value")
        state.param.watch(self._burst_changed, ["burst_dates"])
        state.param.watch(self._pair_changed, ["pair"])
        state.param.watch(self._polarization_changed, ["polarization"])
        state.param.watch(self._check_outdated, ["catalog", "burst", "window_azimuth",
                                                 "window_range", "bias_corrected"])  # fmt: skip

    # -- reacting -------------------------------------------------------------------------------
    def activate(self) -> None:
        """Called when the tab is shown: list products (once per burst) and compare the first;
        when the sidebar's "Pair shown" moved to another pair with a product while the tab was
        hidden, compare that one."""
        self.active = self.shown = True
        key = (self.state.catalog, self.state.burst)
        if self._listed_for != key and self.state.burst:
            self.refresh_products(compare=True)
        elif self._follow_pair():
            self.compare()

    def _burst_changed(self, *_: Any) -> None:
        if self.active:
            self.refresh_products(compare=False)

    def _product_of(self, pair: str | None) -> str | None:
        return next((key for key, c in self.choices.items() if pair and c.pair == pair), None)

    def _follow_pair(self) -> bool:
        """Select the product of the sidebar's "Pair shown"; True when the shown comparison is
        of another product (so it must be compared again)."""
        key = self._product_of(self.state.pair)
        if key is not None:
            self.product.value = key
        self._check_outdated()
        drawn = self._drawn
        return (key is not None and self.comparison is not None
                and (drawn is None or drawn["product"] != key))  # fmt: skip

    def _pair_changed(self, *_: Any) -> None:
        """The QA tab follows "Pair shown": its product is selected and, when the tab is on
        screen, compared at once (else when the tab is next shown)."""
        if self._follow_pair() and self.active and self.shown:
            self.compare()

    def _polarization_changed(self, *_: Any) -> None:
        if self.state.polarization in (self.asset.options or []):
            self.asset.value = self.state.polarization

    def _inputs(self) -> dict[str, Any]:
        """What a comparison is made of, as the widgets and the sidebar say now."""
        s = self.state
        return {"catalog": s.catalog, "burst": s.burst, "product": self.product.value,
                "asset": self.asset.value, "window": (int(s.window_azimuth), int(s.window_range)),
                "bias_corrected": bool(s.bias_corrected)}  # fmt: skip

    def outdated_reasons(self) -> list[str]:
        """Why the shown comparison no longer matches the inputs ([] when it does or when
        nothing is shown)."""
        drawn = self._drawn
        if drawn is None or self.comparison is None:
            return []
        now = self._inputs()
        reasons = []
        for name, words in (("catalog", "the catalog"), ("burst", "the burst")):
            if now[name] != drawn[name]:
                reasons.append(f"{words} changed")
        if now["product"] != drawn["product"]:
            reasons.append(f"the product is now {now['product'] or 'none'}")
        elif now["asset"] and now["asset"] != drawn["asset"]:
            reasons.append(f"the asset is now {now['asset']}")
        if now["window"] != drawn["window"]:
            old, new = drawn["window"], now["window"]
            reasons.append(f"the window changed from {old[0]}x{old[1]} to {new[0]}x{new[1]}")
        if now["bias_corrected"] != drawn["bias_corrected"]:
            reasons.append("the bias correction changed")
        pair = self.state.pair
        if pair and self.comparison.choice.pair != pair and self._product_of(pair) is None:
            reasons.append(f"Pair shown is {pair}, which has no published product here (these "
                           f"maps are {self.comparison.choice.pair})")  # fmt: skip
        return reasons

    def _check_outdated(self, *_: Any) -> None:
        reasons = self.outdated_reasons()
        if reasons:
            text = "; ".join(reasons)
            self.outdated.param.update(
                object=as_text(f"Outdated: {text[0].upper()}{text[1:]}. Press Compare."),
                visible=True,
            )  # fmt: skip
        elif self.outdated.visible:
            self.outdated.param.update(object="", visible=False)

    def _product_changed(self, *_: Any) -> None:
        choice = self.choices.get(self.product.value) if self.product.value else None
        if choice is None:
            self.asset.options = []
            return
        assets = list(choice.assets)
        self.asset.options = assets
        if self.state.polarization in assets:
            self.asset.value = self.state.polarization
        self.best = None
        self.use_button.visible = False

    def say(self, text: str, kind: str = "info") -> None:
        self.message.param.update(object=text, alert_type=kind)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, UserError | ValueError | FileNotFoundError):
            self.say(str(exc), "danger")
        else:
            self.say(f"QA failed: {type(exc).__name__}: {exc}. Pick another product.", "danger")
        self.compare_button.disabled = False
        self.search_button.disabled = self.comparison is None

    # -- products -------------------------------------------------------------------------------
    def refresh_products(self, *, compare: bool = False) -> None:
        location, burst = self.state.catalog, self.state.burst
        if not burst:
            self.say("Pick a burst first (sidebar).", "warning")
            return
        self.say(f"Listing published products of {burst}...")

        def done(found: list[ProductChoice]) -> None:
            self._listed_for = (location, burst)
            self.choices = {c.item_id: c for c in found}
            self.product.options = {c.label: c.item_id for c in found}
            if not found:
                self.say(
                    f"This catalog has no published coherence product of {burst} (items with a "
                    "coherence asset with raster:scale / nodata and the pair's dates). The demo "
                    "catalog's collection pairscope-demo-coherence has them.",
                    "warning",
                )
                return
            wanted = next((c.item_id for c in found if c.pair == self.state.pair), found[0].item_id)
            self.product.value = wanted
            self._product_changed()
            self.say(f"{len(found)} published product(s) of {burst}.")
            if compare:
                self.compare()

        backend = self.state.backend
        self.runner.submit(lambda: list_qa_products(backend, location, burst), done, self._failed)

    # -- comparing ------------------------------------------------------------------------------
    def compare(self) -> None:
        choice = self.choices.get(self.product.value) if self.product.value else None
        if choice is None:
            self.say("Pick a published product first.", "warning")
            return
        asset = self.asset.value or choice.assets[0]
        state = self.state
        location, burst = state.catalog, state.burst
        window = (int(state.window_azimuth), int(state.window_range))
        bias = bool(state.bias_corrected)
        self.compare_button.disabled = True
        self.say(f"Recomputing {choice.pair} with a {window[0]}x{window[1]} window and "
                 "geocoding it onto the product grid...")  # fmt: skip

        def work() -> Comparison:
            return run_comparison(state.backend, location, burst, choice, asset, window, bias)

        drawn = {**self._inputs(), "product": choice.item_id, "asset": asset, "window": window,
                 "bias_corrected": bias}  # fmt: skip

        def done(c: Comparison) -> None:
            self.comparison = c
            self._drawn = drawn
            self._check_outdated()
            self.compare_button.disabled = False
            self.search_button.disabled = False
            self.estimators.object = estimator_markdown(c)
            if self.maps is None:  # the first comparison: the figures, kept from now on
                self.maps = LinkedImages(3, radar=False, labels=("easting [m]", "northing [m]"),
                                         height=MAP_HEIGHT, min_width=MAP_MIN_WIDTH,
                                         on_view=self._view_shown)  # fmt: skip
                for pane, m in zip(self.map_panes, self.maps.maps, strict=True):
                    pane.object = m.fig
            self.maps.show(map_images(c))  # the same grid keeps its range; another is whole
            self._range = _ranges(self.maps.view())
            self._update_statistics()
            self.say(f"{c.choice.item_id} ({c.asset}) against ours ({c.window[0]}x{c.window[1]}):"
                     " pan or zoom the maps to get the statistics of the view.", "success")  # fmt: skip

        self.runner.submit(work, done, self._failed)

    def _view_shown(self, view: View | None) -> None:
        """The maps show ``view`` (x0, x1, y0, y1; None: all of the product)."""
        self._view_changed(*_ranges(view))

    def _view_changed(self, x_range: Any = None, y_range: Any = None) -> None:
        self._range = (x_range, y_range)
        self._update_statistics()

    def _update_statistics(self) -> None:
        c = self.comparison
        if c is None:
            return
        x_range, y_range = self._range
        product, ours = view_subsets(c, x_range, y_range)  # cut once for both (~12 ms each)
        stats = subset_statistics(product, ours)
        whole = x_range is None and y_range is None
        self.stats.object = statistics_markdown(stats, whole)
        if self._histogram is None:
            self._histogram = Histogram()
            self.histogram.object = self._histogram.fig
        self._histogram.draw(histogram_counts(product.values, ours.values), int(stats["n_both"]))

    # -- best-matching window -------------------------------------------------------------------
    def search_window(self) -> None:
        c = self.comparison
        if c is None:
            self.say("Compare a product first.", "warning")
            return
        location, burst = self.state.catalog, self.state.burst
        self.search_button.disabled = True
        self.say("Searching common windows (and their neighbours) for the one that matches the "
                 "product best; each is recomputed and geocoded...")  # fmt: skip

        def done(found: dict[str, Any]) -> None:
            self.best = found
            self.search_button.disabled = False
            self.windows.object = best_window_frame(found)
            az, rg = found["best"]
            stated = c.product_window
            said = f" The product states {stated[0]}x{stated[1]}." if stated else ""
            self.use_button.name = f"Use {az}x{rg}"
            self.use_button.visible = True
            self.say(f"Best-matching window: {az}x{rg} (smallest {found['criterion']} over "
                     f"{len(found['results'])} windows).{said}", "success")  # fmt: skip

        backend = self.state.backend
        self.window_runner.submit(lambda: best_window(backend, location, burst, c), done,
                                  self._failed)  # fmt: skip

    def use_best(self) -> None:
        if self.best is None:
            return
        az, rg = self.best["best"]
        self.state.param.update(window_azimuth=int(az), window_range=int(rg))
        self.use_button.visible = False
        self.compare()

    def __panel__(self) -> pn.viewable.Viewable:
        # rows wrap (wrap_row) so that no part is wider than the main area
        controls = wrap_row(self.product, self.asset, self.compare_button, self.search_button,
                            self.use_button)  # fmt: skip
        return pn.Column(
            pn.pane.Markdown("### Product QA: a published coherence product beside our "
                             "recomputation, with the product's own render",
                             sizing_mode="stretch_width"),  # fmt: skip
            controls,
            self.message,
            self.outdated,
            self.estimators,
            wrap_row(*self.map_panes, css_classes=["ps-qa-maps"]),
            wrap_row(self.histogram, pn.Column(
                self.stats,
                # the download buttons wrap too (QADownloads lays them out in a fixed row)
                wrap_row(self.downloads.statistics_button, self.downloads.figure_button,
                         css_classes=["ps-qa-downloads"]),
                min_width=280, sizing_mode="stretch_width",
            )),  # fmt: skip
            self.windows,
            sizing_mode="stretch_width",
            css_classes=["ps-qa"],
        )


__all__ = [
    "HIST_BINS", "Comparison", "ProductChoice", "ProductRender", "QAView", "best_window",
    "best_window_frame", "list_qa_products", "product_estimator", "product_render",
    "run_comparison", "view_statistics",
]  # fmt: skip
