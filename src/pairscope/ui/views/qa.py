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
"""

from __future__ import annotations

import math
import re
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import holoviews as hv
import numpy as np
import pandas as pd
import panel as pn
import xarray as xr
from holoviews.operation.datashader import rasterize

from pairscope import qa, render
from pairscope.ui.backend import UserError, day
from pairscope.ui.state import ExplorerState, pair_key

MAP_HEIGHT = 330
MAP_WIDTH = 400
HIST_BINS = 100
#: Symmetric colour limit of the difference map (coherence units).
DIFF_LIMIT = 0.2
ESTIMATOR = "|sum(s1 conj(s2))| / sqrt(sum|s1|^2 sum|s2|^2)"


# -- running work off the event loop ---------------------------------------------------------------
class Runner:
    """Runs ``work`` on a worker thread and hands its result to ``done`` on the session's event
    loop (``Document.add_next_tick_callback``). Outside a served session (tests) it runs inline.
    A newer job makes older results stale: they are dropped, never applied."""

    def __init__(self) -> None:
        doc = pn.state.curdoc
        self._doc = doc if doc is not None and getattr(doc, "session_context", None) else None
        self._generation = 0
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def _schedule(self, fn: Callable[[], None]) -> None:
        doc = self._doc
        if doc is None:
            fn()
            return
        from panel.io.state import set_curdoc

        def run() -> None:
            with set_curdoc(doc):
                fn()

        try:
            doc.add_next_tick_callback(run)
        except Exception:  # the session is gone: nothing to update
            pass

    def submit(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None],
    ) -> None:
        with self._lock:
            self._generation += 1
            generation = self._generation

        def run() -> None:
            try:
                result = work()
            except BaseException as exc:  # noqa: BLE001 - every failure is shown
                err = exc
                if not isinstance(exc, UserError | ValueError | FileNotFoundError):
                    traceback.print_exception(exc)
                self._schedule(lambda: failed(err) if generation == self._generation else None)
                return
            self._schedule(lambda: done(result) if generation == self._generation else None)

        if self._doc is None:
            run()
            return
        self.thread = threading.Thread(target=run, name="pairscope-view-job", daemon=True)
        self.thread.start()


# -- what the view shows, as plain functions ----------------------------------------------------
_catalogs: dict[str, Any] = {}
_catalog_lock = threading.Lock()


def open_catalog_cached(location: str) -> Any:
    """The core's catalog object of ``location``, opened once per process."""
    from pairscope.io.catalog import open_catalog

    with _catalog_lock:
        cat = _catalogs.get(location)
    if cat is None:
        cat = open_catalog(location)
        with _catalog_lock:
            _catalogs[location] = cat
    return cat


@dataclass(frozen=True)
class ProductChoice:
    """A published pair product of the current burst, as the picker lists it."""

    item_id: str
    reference: np.datetime64
    secondary: np.datetime64
    assets: tuple[str, ...]
    item: Any = field(repr=False, compare=False)

    @property
    def pair(self) -> str:
        return pair_key(self.reference, self.secondary)

    @property
    def label(self) -> str:
        dt = int((self.secondary - self.reference) // np.timedelta64(1, "D"))
        return f"{day(self.reference)} / {day(self.secondary)} ({dt} d): {self.item_id}"


def list_qa_products(location: str, burst_id: str) -> list[ProductChoice]:
    """Published coherence products of ``burst_id`` in the catalog at ``location``."""
    from pairscope.io.catalog import list_products

    found = list_products(open_catalog_cached(location), burst_id)
    out = []
    for p in found:
        assets = tuple(a for a in p.assets if _has_scale_or_nodata(p.item, a))
        if assets:
            out.append(ProductChoice(p.item.id, p.reference, p.secondary, assets, p.item))
    return out


def _has_scale_or_nodata(item: Any, asset: str) -> bool:
    from pairscope.io.items import asset_raster_info

    info = asset_raster_info(item, asset)
    return "scale" in info or "nodata" in info


@dataclass(frozen=True)
class ProductRender:
    """The render applied to both sides, in physical units (coherence)."""

    colormap_name: str
    limits: tuple[float, float]
    note: str


def product_render(product: xr.DataArray) -> ProductRender:
    """The product's own render (from ``open_product``'s ``renders`` attr) in physical units.

    The render's ``rescale`` applies to stored values (DN): it is converted with the asset's
    ``raster:scale``/``raster:offset`` (:func:`pairscope.render.to_physical`) so our float
    coherence is drawn with exactly the same colours. Without a render, pairscope's coherence
    default (viridis, 0..1) is used and said so.
    """
    renders = product.attrs.get("renders") or {}
    scale = float(product.attrs.get("scale", 1.0))
    offset = float(product.attrs.get("offset", 0.0))
    for key, definition in renders.items():
        physical = render.to_physical(definition, scale, offset)
        rescale = physical.get("rescale")
        if not rescale:
            continue
        lo, hi = (float(v) for v in rescale[0])
        name = str(physical.get("colormap_name") or "viridis")
        stored = definition.get("rescale")
        note = (
            f"Both sides drawn with the product's render {key!r}: rescale {stored} of stored "
            f"values x raster:scale {scale:g} + offset {offset:g} = [{lo:g}, {hi:g}] coherence, "
            f"colormap {name}."
        )
        return ProductRender(name, (lo, hi), note)
    default = render.DEFAULT_RENDERS["coherence"]
    lo, hi = default["rescale"][0]
    return ProductRender(
        str(default["colormap_name"]),
        (float(lo), float(hi)),
        "The product declares no render for this asset: both sides use pairscope's coherence "
        f"render (viridis, [{lo:g}, {hi:g}]).",
    )


_WINDOW = re.compile(r"(\d+)\s*[x\u00d7]\s*(\d+)")


def product_estimator(item: Any, asset: str) -> tuple[str, tuple[int, int] | None]:
    """What the product says of its estimator and window (item properties, asset description)."""
    props = item.properties
    a = item.assets.get(asset)
    description = (a.description or "") if a is not None else ""
    text = str(props.get("pairscope:estimator") or props.get("processing:expression") or "")
    window: tuple[int, int] | None = None
    if isinstance(props.get("pairscope:window"), list | tuple) and len(props["pairscope:window"]) == 2:
        window = (int(props["pairscope:window"][0]), int(props["pairscope:window"][1]))
    else:
        m = _WINDOW.search(text) or _WINDOW.search(description)
        if m:
            window = (int(m[1]), int(m[2]))
    if not text:
        text = description or "not stated by the product"
    return text, window


@dataclass
class Comparison:
    """One product against our recomputation on the product's grid."""

    choice: ProductChoice
    asset: str
    product: xr.DataArray
    ours: xr.DataArray
    difference: xr.DataArray
    render: ProductRender
    window: tuple[int, int]
    bias_corrected: bool
    product_estimator: str
    product_window: tuple[int, int] | None


def run_comparison(
    backend: Any,
    location: str,
    burst_id: str,
    choice: ProductChoice,
    asset: str,
    window: tuple[int, int],
    bias_corrected: bool,
) -> Comparison:
    """Open the product, recompute its pair in radar geometry and geocode it onto the product grid."""
    from pairscope.io.rasters import open_product

    if asset not in choice.assets:
        raise UserError(
            f"Product {choice.item_id} has no coherence asset {asset!r}.",
            f"Pick one of {', '.join(choice.assets)}.",
        )
    product = open_product(choice.item, asset).load()
    if "band" in product.dims:
        product = product.isel(band=0, drop=True)
    if product.rio.crs is None:
        raise UserError(
            f"Asset {asset!r} of {choice.item_id} has no CRS, so it cannot be compared on a map.",
            "Pick a georeferenced product.",
        )
    pol = asset.upper() if asset.upper() in ("VV", "VH", "HH", "HV") else "VV"
    ours_radar = backend.compute_pair(
        location, burst_id, pol, choice.reference, choice.secondary, window, bias_corrected,
        "radar",
    )  # fmt: skip
    ours = qa.to_product_grid(ours_radar, product)
    text, product_window = product_estimator(choice.item, asset)
    return Comparison(
        choice=choice,
        asset=asset,
        product=product,
        ours=ours,
        difference=qa.difference(product, ours),
        render=product_render(product),
        window=window,
        bias_corrected=bias_corrected,
        product_estimator=text,
        product_window=product_window,
    )


def _subset(da: xr.DataArray, x_range: Any, y_range: Any) -> xr.DataArray:
    out = da
    if x_range is not None and None not in tuple(x_range):
        lo, hi = sorted(float(v) for v in x_range)
        out = out.where((out["x"] >= lo) & (out["x"] <= hi), drop=True)
    if y_range is not None and None not in tuple(y_range):
        lo, hi = sorted(float(v) for v in y_range)
        out = out.where((out["y"] >= lo) & (out["y"] <= hi), drop=True)
    return out


def view_statistics(
    comparison: Comparison, x_range: Any = None, y_range: Any = None, bins: int = HIST_BINS
) -> dict[str, Any]:
    """:func:`pairscope.qa.compare` over the pixels inside the view (whole grid when no range)."""
    product = _subset(comparison.product, x_range, y_range)
    ours = _subset(comparison.ours, x_range, y_range)
    if product.size == 0:
        stats = qa.compare(np.full((1, 1), np.nan), np.full((1, 1), np.nan), bins=bins)
        stats["n_pixels"] = 0
        return stats
    return qa.compare(product.values, ours.values, bins=bins)


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


def best_window(
    location: str, burst_id: str, comparison: Comparison,
    windows: tuple[tuple[int, int], ...] = qa.COMMON_WINDOWS,
) -> dict[str, Any]:  # fmt: skip
    """:func:`pairscope.qa.best_matching_window` of the compared product (recomputes the pair)."""
    from pairscope.io.rasters import open_slc_stack

    choice = comparison.choice
    pol = comparison.asset.upper() if comparison.asset.upper() in ("VV", "VH", "HH", "HV") else "VV"
    stack = open_slc_stack(
        open_catalog_cached(location), burst_id, [choice.reference, choice.secondary], pol
    )
    return qa.best_matching_window(
        comparison.product, stack, (choice.reference, choice.secondary), windows,
        bias_corrected=comparison.bias_corrected,
    )  # fmt: skip


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
def map_image(da: xr.DataArray, name: str, label: str) -> hv.Image:
    xs = np.asarray(da["x"].values, dtype=np.float64)
    ys = np.asarray(da["y"].values, dtype=np.float64)
    values = np.asarray(da.values, dtype=np.float32)
    if xs.size > 1 and xs[0] > xs[-1]:
        xs, values = xs[::-1], values[:, ::-1]
    if ys.size > 1 and ys[0] > ys[-1]:
        ys, values = ys[::-1], values[::-1, :]
    kdims = [hv.Dimension("qa_x", label="easting"), hv.Dimension("qa_y", label="northing")]
    return hv.Image((xs, ys, values), kdims=kdims, vdims=[hv.Dimension(name, label=label)])


def histogram_plot(c: Comparison, x_range: Any, y_range: Any, n_both: int) -> Any:
    """Datashader 2-D histogram (pixel counts, log colour) of ours against the product."""
    product = _subset(c.product, x_range, y_range).values.ravel()
    ours = _subset(c.ours, x_range, y_range).values.ravel()
    both = np.isfinite(product) & np.isfinite(ours)
    df = pd.DataFrame({"product": product[both], "ours": ours[both]})
    points = hv.Points(df, kdims=["product", "ours"])
    raster = rasterize(
        points, x_range=(0.0, 1.0), y_range=(0.0, 1.0), width=HIST_BINS, height=HIST_BINS,
        dynamic=False,
    )  # fmt: skip
    line = hv.Curve(([0.0, 1.0], [0.0, 1.0]), "product", "ours").opts(color="red", line_dash="dashed")
    return (raster.opts(cmap=list(render.palette("magma_r")), cnorm="log", colorbar=True,
                        clabel="pixels", tools=["hover"]) * line).opts(
        width=420, height=380, xlim=(0.0, 1.0), ylim=(0.0, 1.0),
        xlabel="product coherence [0-1]", ylabel="our coherence [0-1]",
        title=f"Product vs ours: 2-D histogram of {n_both} pixels",
    )  # fmt: skip


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
        self.product = pn.widgets.Select(name="Published coherence product", options={},
                                         width=470, css_classes=["ps-qa-product"])  # fmt: skip
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
        self.estimators = pn.pane.Markdown("", css_classes=["ps-qa-estimators"],
                                           sizing_mode="stretch_width")  # fmt: skip
        # one pane per map; Panel links their axes (dimension names unique to this view)
        self.map_panes = [pn.pane.HoloViews(None, linked_axes=True) for _ in range(3)]
        self.histogram = pn.pane.HoloViews(None, width=440, css_classes=["ps-qa-histogram"],
                                           linked_axes=False)  # fmt: skip
        self.stats = pn.pane.Markdown("", css_classes=["ps-qa-stats"], width=430)
        self.windows = pn.pane.DataFrame(None, index=False, float_format="{:.4f}".format,
                                         css_classes=["ps-qa-windows"], max_height=300,
                                         sizing_mode="stretch_width")  # fmt: skip
        self.compare_button.on_click(lambda _e: self.compare())
        self.search_button.on_click(lambda _e: self.search_window())
        self.use_button.on_click(lambda _e: self.use_best())
        self.product.param.watch(self._product_changed, "value")
        state.param.watch(self._burst_changed, ["burst_dates"])
        state.param.watch(self._pair_changed, ["pair"])

    # -- reacting -------------------------------------------------------------------------------
    def activate(self) -> None:
        """Called when the tab is shown: list products (once per burst) and compare the first."""
        self.active = True
        key = (self.state.catalog, self.state.burst)
        if self._listed_for != key and self.state.burst:
            self.refresh_products(compare=True)

    def _burst_changed(self, *_: Any) -> None:
        if self.active:
            self.refresh_products(compare=False)

    def _pair_changed(self, *_: Any) -> None:
        pair = self.state.pair
        for key, choice in self.choices.items():
            if choice.pair == pair:
                self.product.value = key
                return

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

        self.runner.submit(lambda: list_qa_products(location, burst), done, self._failed)

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

        def done(c: Comparison) -> None:
            self.comparison = c
            self._range = (None, None)
            self.compare_button.disabled = False
            self.search_button.disabled = False
            self.estimators.object = estimator_markdown(c)
            for pane, plot in zip(self.map_panes, self._maps(c), strict=True):
                pane.object = plot
            self._update_statistics()
            self.say(f"{c.choice.item_id} ({c.asset}) against ours ({c.window[0]}x{c.window[1]}):"
                     " pan or zoom the maps to get the statistics of the view.", "success")  # fmt: skip

        self.runner.submit(work, done, self._failed)

    def _maps(self, c: Comparison) -> list[Any]:
        cmap = list(render.palette(c.render.colormap_name))
        common: dict[str, Any] = dict(
            width=MAP_WIDTH, height=MAP_HEIGHT, data_aspect=1, colorbar=True, tools=["hover"],
            xlabel="easting [m]", ylabel="northing [m]", active_tools=["wheel_zoom"],
            xformatter="%.0f", yformatter="%.0f", xticks=3,
        )  # fmt: skip
        coh = "coherence [0-1]"
        product = rasterize(map_image(c.product, "coherence", coh), aggregator="mean")
        product = product.opts(cmap=cmap, clim=c.render.limits, clabel=coh,
                               title=f"Product {c.asset} {day(c.choice.reference)} / "
                                     f"{day(c.choice.secondary)}", **common)  # fmt: skip
        ours = rasterize(map_image(c.ours, "coherence", coh), aggregator="mean").opts(
            cmap=cmap, clim=c.render.limits, clabel=coh,
            title=f"Ours {c.window[0]}x{c.window[1]}, geocoded", **common,
        )  # fmt: skip
        diff_label = "ours - product [coherence]"
        diff = rasterize(map_image(c.difference, "difference", diff_label), aggregator="mean").opts(
            cmap=list(render.palette("rdbu_r")), clim=(-DIFF_LIMIT, DIFF_LIMIT), clabel=diff_label,
            title="Difference (ours - product)", **common,
        )  # fmt: skip
        stream = hv.streams.RangeXY(source=product)
        stream.add_subscriber(self._view_changed)
        return [product, ours, diff]

    def _view_changed(self, x_range: Any = None, y_range: Any = None) -> None:
        self._range = (x_range, y_range)
        self._update_statistics()

    def _update_statistics(self) -> None:
        c = self.comparison
        if c is None:
            return
        x_range, y_range = self._range
        stats = view_statistics(c, x_range, y_range)
        whole = x_range is None and y_range is None
        self.stats.object = statistics_markdown(stats, whole)
        self.histogram.object = histogram_plot(c, x_range, y_range, stats["n_both"])

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

        self.window_runner.submit(lambda: best_window(location, burst, c), done, self._failed)

    def use_best(self) -> None:
        if self.best is None:
            return
        az, rg = self.best["best"]
        self.state.param.update(window_azimuth=int(az), window_range=int(rg))
        self.use_button.visible = False
        self.compare()

    def __panel__(self) -> pn.viewable.Viewable:
        controls = pn.Row(self.product, self.asset, self.compare_button, self.search_button,
                          self.use_button, sizing_mode="stretch_width")  # fmt: skip
        return pn.Column(
            pn.pane.Markdown("### Product QA: a published coherence product beside our "
                             "recomputation, with the product's own render"),  # fmt: skip
            controls,
            self.message,
            self.estimators,
            pn.Row(*self.map_panes, sizing_mode="stretch_width"),
            pn.Row(self.histogram, self.stats, sizing_mode="stretch_width"),
            self.windows,
            sizing_mode="stretch_width",
            css_classes=["ps-qa"],
        )
