# mypy: disable-error-code="no-untyped-call"
"""Downloads of what the explorer shows, made on demand in memory (:mod:`pairscope.io.bundle`).

Beside the maps (:class:`DownloadsView`): the pairs of the current network (CSV), the shown map
as drawn (PNG) and the shown pair's layers as COGs + STAC item (zip). In the QA tab
(:class:`QADownloads`): the statistics of the current view (CSV) and the comparison figure (PNG).

Each button is a Panel ``FileDownload`` with an async callback: the request is read from the
session's state on the event loop, the bytes are made on a worker thread (the loop stays free),
and nothing is written to the server's disk (the COG writer works in a temporary folder that is
removed before the callback returns). Asking before anything is computed, or a failed export,
gives a message in the status area and no file; the app stays usable.
"""

from __future__ import annotations

import asyncio
import io
import math
import re
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import panel as pn

from pairscope._version import __version__
from pairscope.io import bundle
from pairscope.ui.backend import GEOMETRY_LAYERS, UserError, day
from pairscope.ui.services import Comparison, view_statistics
from pairscope.ui.state import ExplorerState, pair_key, parse_pairs
from pairscope.ui.views.style import layer_style

__all__ = [
    "DownloadsView", "Job", "OnDemandDownload", "QADownloads", "Unavailable", "current_view",
    "map_job", "network_pairs", "pair_zip_job", "pairs_job", "qa_figure_job",
    "qa_statistics_job",
]  # fmt: skip

LABELS = {
    "pairs": "Download pairs (CSV)",
    "map": "Download map (PNG)",
    "pair": "Download pair (COG + STAC zip)",
    "qa_statistics": "Download QA statistics (CSV)",
    "qa_figure": "Download QA figure (PNG)",
}
NOTHING_COMPUTED = (
    "Nothing computed yet, so there is nothing to download: pick a burst, dates and a pair rule "
    "and press Compute first."
)

Say = Callable[[str, str], None]
Range = tuple[float, float] | None


class Unavailable(Exception):
    """Nothing to download yet; the message says what to do first."""


@dataclass(frozen=True)
class Job:
    """A download request read from the state: ``work`` (run off the event loop) makes it."""

    what: str
    work: Callable[[], bundle.Bundle]


class OnDemandDownload(pn.widgets.FileDownload):
    """A ``FileDownload`` whose callback may return None: then nothing is sent to the browser
    (the callback has said why in the status area) instead of an error or an empty file."""

    def _sync_data(self, fileobj: Any) -> None:
        if fileobj is None:
            return
        super()._sync_data(fileobj)


def _size(n: int) -> str:
    return f"{n / 1e6:.2f} MB" if n >= 1e6 else f"{n / 1e3:.1f} kB"


def download_button(
    name: str, prepare: Callable[[], Job], say: Say, *, width: int = 230
) -> OnDemandDownload:
    """A download button labelled ``LABELS[name]``: ``prepare`` (on the event loop) reads the
    request or raises :class:`Unavailable`; its ``work`` runs on a worker thread."""
    button = OnDemandDownload(
        label=LABELS[name], filename=f"{name}.bin", button_type="primary", button_style="outline",
        width=width, css_classes=[f"ps-dl-{name.replace('_', '-')}"],
    )  # fmt: skip

    async def callback() -> io.BytesIO | None:
        try:
            job = prepare()
        except (Unavailable, UserError) as exc:
            say(str(exc), "warning")
            return None
        start = time.perf_counter()
        try:
            made = await asyncio.to_thread(job.work)
        except Exception as exc:  # noqa: BLE001 - every failure goes to the status area
            if not isinstance(exc, UserError | ValueError):
                traceback.print_exception(exc)
            say(f"Could not make the {job.what}: {type(exc).__name__}: {exc}. Nothing was "
                "downloaded; the results on screen are unchanged.", "danger")  # fmt: skip
            return None
        if not made.data:
            say(f"The {job.what} came out empty; nothing was downloaded.", "danger")
            return None
        seconds = time.perf_counter() - start
        button.filename = made.filename
        say(f"{made.filename} ({_size(len(made.data))}, made in {seconds:.2f} s) sent to your "
            "browser; nothing is kept on the server.", "success")  # fmt: skip
        return io.BytesIO(made.data)

    button.callback = callback
    return button


# -- reading the state ------------------------------------------------------------------------------
def current_view(maps: Any, state: ExplorerState | None = None) -> tuple[Range, Range]:
    """The (x_range, y_range) shown by the maps of a :class:`~pairscope.ui.views.maps.MapsView`:
    the range the browser last reported after a pan / zoom; before it reported one, the state's
    ``view`` (a shared URL's); (None, None) for the whole extent."""
    found: tuple[Range, Range] = (None, None)
    shown = getattr(maps, "current_view", None)
    if callable(shown):
        x_range, y_range = shown()
        found = (_range(x_range), _range(y_range))
    view = getattr(state, "view", None)
    if found == (None, None) and view:
        x0, x1, y0, y1 = view
        found = (_range((x0, x1)), _range((y0, y1)))
    return found


def _range(value: Any) -> Range:
    if value is None:
        return None
    lo, hi = (float(v) for v in value)
    return (lo, hi) if math.isfinite(lo) and math.isfinite(hi) and lo != hi else None


def rule_text(state: ExplorerState) -> str:
    """The network's recipe: the pair rule in the one grammar (``seq:1``, ``max:24``...), the
    date range, and the limits and hand edits when any."""
    try:
        text = str(state.rule_text())
    except (UserError, AttributeError):
        text = str(state.rule)
    if state.start and state.end:
        text += f" over {state.start}..{state.end}"
    limits = []
    for name, label in (("max_days", "max days"), ("max_bperp", "max |Bperp| m"),
                        ("min_coherence", "min coherence")):  # fmt: skip
        value = getattr(state, name, None)
        if value is not None:
            limits.append(f"{label} {value:g}")
    for name, label in (("excluded", "excluded"), ("months", "months"), ("added", "added"),
                        ("dropped", "dropped")):  # fmt: skip
        values = getattr(state, name, None)
        if values:
            limits.append(f"{label} {','.join(str(v) for v in values)}")
    return "; ".join([text, *limits])


def _window_text(state: ExplorerState) -> str:
    return f"{state.window_azimuth}x{state.window_range}"


def _pair_dates(key: str) -> tuple[np.datetime64, np.datetime64]:
    return parse_pairs(key)[0]


def network_pairs(state: ExplorerState) -> tuple[list[tuple[Any, Any]], dict[str, str]]:
    """The pairs of the current network (its candidates: what Compute computes) and how each
    stands in it (``kept``, ``pruned``, ``rescued``); without a network, the computed pairs."""
    network = getattr(state, "network", None)
    if network is None:
        return list(state.pair_list), {}
    status = {p.label: "kept" for p in network.kept}
    status.update({p.label: "pruned (mean coherence below the minimum)" for p in network.pruned})
    status.update({p.label: "rescued (kept to stay connected)" for p in network.rescued})
    pairs = [(p.reference, p.secondary) for p in network.candidates]
    return pairs, {k: status.get(k, "kept") for k in (pair_key(a, b) for a, b in pairs)}


def pairs_job(state: ExplorerState) -> Job:
    """Every pair of the current network with the mean coherence of those computed."""
    bd = state.burst_dates
    if bd is None or not state.results:
        raise Unavailable(NOTHING_COMPUTED)
    pairs, membership = network_pairs(state)
    view_means = getattr(state, "view_means", {}) if getattr(state, "view", None) else {}
    computed = {}
    for key, ds in state.results.items():
        mean = state.pair_means.get(key)
        computed[key] = bundle.ComputedPair(
            mean_coherence=float("nan") if mean is None else float(mean),
            window=str(ds.attrs.get("window") or _window_text(state)),
            bias_corrected=bool(ds.attrs.get("bias_corrected", state.bias_corrected)),
            mean_coherence_view=view_means.get(key),
        )
    rule = rule_text(state)
    rows = bundle.network_table(
        pairs, dates=bd.dates, item_ids=bd.item_ids, perpendicular_baselines=bd.perpendicular_baselines,
        convention=bd.convention, computed=computed, rule=rule, window=_window_text(state),
        bias_corrected=bool(state.bias_corrected), burst_id=bd.burst_id,
        polarization=state.polarization, membership=membership,
    )  # fmt: skip
    slug = re.sub(r"[^A-Za-z0-9]+", "-", rule.split(" over ")[0])[:40].strip("-")
    filename = f"pairs_{bd.burst_id}_{state.polarization}_{slug}.csv"
    return Job("pairs table", lambda: bundle.Bundle(filename, bundle.csv_bytes(rows,
                                                                                bundle.PAIRS_COLUMNS)))


def _unit(unit: str) -> str:
    return unit if unit and unit != "1" else "unitless"


def map_job(state: ExplorerState, view: tuple[Range, Range] = (None, None)) -> Job:
    """The shown layer as drawn (render, colormap, ``view``) as a PNG with title, axes, colourbar
    and a caption naming the pair and window."""
    layer = state.layer
    da = state.layer_data(layer)
    ds = state.current()
    if da is None:
        if not state.results:
            raise Unavailable(NOTHING_COMPUTED)
        raise Unavailable(f"The {layer} layer is not ready yet (still computing, or unavailable "
                          "for this catalog); try again when the map shows it.")  # fmt: skip
    style = layer_style(layer, state.colormap, np.asarray(da.values))
    geometry_layer = layer in GEOMETRY_LAYERS
    pair = state.pair or ""
    shown_pair = pair.replace("_", " / ")
    title = f"{style.label}, {shown_pair}" if not geometry_layer and pair else (
        f"{style.label}, burst {state.burst}")
    radar = str(da.dims[-1]) == "range"
    crs = None if radar else bundle.crs_name(da)
    caption = _map_caption(state, ds, style, view, radar, crs)
    label = f"{style.label} [{_unit(style.unit)}]"
    key = pair or layer
    filename = f"{state.burst}_{state.polarization}_{key}_{layer}_{'radar' if radar else 'map'}.png"

    def work() -> bundle.Bundle:
        fig = bundle.map_figure(da, colormap=style.colormap_name, limits=style.clim, label=label,
                                title=title, caption=caption, view=view, crs=crs,
                                nearest=layer == "phase")  # fmt: skip
        return bundle.Bundle(filename, bundle.figure_png(fig))

    return Job("map PNG", work)


def _map_caption(state: ExplorerState, ds: Any, style: Any, view: tuple[Range, Range],
                 radar: bool, crs: str | None) -> str:  # fmt: skip
    parts = []
    if ds is not None and state.pair:
        ref, sec = state.pair.split("_")
        text = f"Pair {ref} / {sec}"
        if "temporal_baseline" in ds.coords:
            text += f", {int(ds['temporal_baseline'].values)} d"
        if "perpendicular_baseline" in ds.coords:
            b = float(ds["perpendicular_baseline"].values)
            if math.isfinite(b):
                convention = getattr(state.burst_dates, "convention", "vertex")
                text += f", perpendicular baseline {b:+.1f} m ({convention} convention)"
        parts.append(text)
        window = str(ds.attrs.get("window") or _window_text(state))
        az, _, rg = window.partition("x")
        looks = int(az) * int(rg) if az.isdigit() and rg.isdigit() else None
        bias = bool(ds.attrs.get("bias_corrected", state.bias_corrected))
        parts.append(
            f"window {az} x {rg} (azimuth x range{f', {looks} looks' if looks else ''}), "
            f"{'bias-corrected' if bias else 'sample'} coherence"
        )
    parts.append(f"burst {state.burst} {state.polarization}")
    geometry = "radar geometry (azimuth / range samples)" if radar else f"map geometry ({crs})"
    x_range, y_range = view
    if x_range is None and y_range is None:
        where = "whole extent"
    else:
        where = "view " + ", ".join(
            f"{n} {r[0]:.6g}..{r[1]:.6g}" for n, r in (("x", x_range), ("y", y_range)) if r
        )
    parts.append(f"{geometry}, {where}")
    limits = f" over [{style.clim[0]:.4g}, {style.clim[1]:.4g}]" if style.clim else ""
    parts.append(f"colormap {style.colormap_name}{limits}")
    parts.append(f"pairscope {__version__}")
    return "; ".join(parts) + "."


def _inputs(backend: Any, burst_dates: Any, catalog: str, burst: str, polarization: str,
            dates: tuple[np.datetime64, np.datetime64]) -> list[Any]:  # fmt: skip
    """The pair's input SLC items: from the backend's acquisitions when it has them, else the
    item ids the burst's dates carry (id and datetime only)."""
    wanted = [day(d) for d in dates]
    acquisitions = getattr(backend, "acquisitions", None)
    if acquisitions is not None:
        try:
            found = {day(a.date): a for a in acquisitions(catalog, burst, polarization)}
            if all(w in found for w in wanted):
                return [getattr(found[w], "item", None) or {"id": "", "properties": {}}
                        for w in wanted]  # fmt: skip
        except Exception:  # noqa: BLE001 - fall back to the ids below
            pass
    bd = burst_dates
    ids = dict(zip((day(d) for d in bd.dates), bd.item_ids, strict=False)) if bd else {}
    return [{"type": "Feature", "id": ids[w],
             "properties": {"datetime": f"{w[:4]}-{w[4:6]}-{w[6:]}T00:00:00Z"}}
            for w in wanted if ids.get(w)]  # fmt: skip


def pair_zip_job(state: ExplorerState) -> Job:
    """The shown pair's layers (and the look-vector layers when computed on the same grid) as
    COGs + STAC item, zipped."""
    ds = state.current()
    if ds is None or not state.pair:
        raise Unavailable(NOTHING_COMPUTED if not state.results else
                          "Pick a computed pair first (sidebar or network).")  # fmt: skip
    ref, sec = _pair_dates(state.pair)
    catalog = str(ds.attrs.get("catalog") or state.catalog)
    burst = str(ds.attrs.get("burst_id") or state.burst)
    polarization = str(ds.attrs.get("polarization") or state.polarization)
    window_text = str(ds.attrs.get("window") or _window_text(state))
    az, _, rg = window_text.partition("x")
    window = (int(az), int(rg))
    bias = bool(ds.attrs.get("bias_corrected", state.bias_corrected))
    geometry = state.geometry_layers
    backend, burst_dates = state.backend, state.burst_dates

    def work() -> bundle.Bundle:
        inputs = _inputs(backend, burst_dates, catalog, burst, polarization, (ref, sec))
        return bundle.pair_zip(ds, ref, sec, inputs=inputs, geometry=geometry, burst_id=burst,
                               polarization=polarization, window=window, bias_corrected=bias)  # fmt: skip

    return Job("COG + STAC zip", work)


# -- QA ---------------------------------------------------------------------------------------------
def _finite(value: Any) -> Any:
    if isinstance(value, int | np.integer):
        return int(value)
    try:
        v = float(value)
    except (TypeError, ValueError):
        return value
    return v if math.isfinite(v) else None


def qa_statistics_row(c: Comparison, stats: dict[str, Any], view: tuple[Range, Range],
                      estimator: str) -> dict[str, Any]:  # fmt: skip
    """One CSV row: the comparison's statistics over ``view``, both estimators and windows."""
    x_range, y_range = view
    xs, ys = c.product["x"].values, c.product["y"].values
    dx = abs(float(xs[1] - xs[0])) if xs.size > 1 else 0.0
    dy = abs(float(ys[1] - ys[0])) if ys.size > 1 else 0.0
    x_lo, x_hi = sorted(x_range) if x_range else (float(xs.min()) - dx / 2, float(xs.max()) + dx / 2)
    y_lo, y_hi = sorted(y_range) if y_range else (float(ys.min()) - dy / 2, float(ys.max()) + dy / 2)
    pw = f"{c.product_window[0]}x{c.product_window[1]}" if c.product_window else ""
    row: dict[str, Any] = {
        "product_item": c.choice.item_id, "asset": c.asset,
        "reference": day(c.choice.reference), "secondary": day(c.choice.secondary),
        "view": "whole product" if x_range is None and y_range is None else "current view",
        "x_min": x_lo, "x_max": x_hi, "y_min": y_lo, "y_max": y_hi,
        "crs": bundle.crs_name(c.product) or "",
        "difference": "ours - product",
    }  # fmt: skip
    for key in ("bias", "rmse", "std_difference", "mae", "correlation", "mean_product",
                "mean_ours", "n_product", "n_ours", "n_both", "n_pixels"):  # fmt: skip
        row[key] = _finite(stats.get(key))
    row.update({
        "product_estimator": c.product_estimator, "product_window": pw,
        "our_estimator": estimator, "our_window": f"{c.window[0]}x{c.window[1]}",
        "our_bias_corrected": bool(c.bias_corrected),
        "render": f"{c.render.colormap_name} [{c.render.limits[0]:g}, {c.render.limits[1]:g}]",
        "software": f"pairscope {__version__}",
    })  # fmt: skip
    return row


def qa_statistics_job(c: Comparison | None, view: tuple[Range, Range], estimator: str) -> Job:
    if c is None:
        raise Unavailable("No comparison yet, so there are no QA statistics to download: pick a "
                          "published product and press Compare first.")  # fmt: skip
    x_range, y_range = view
    filename = f"qa_{c.choice.item_id}_{c.asset}_{c.window[0]}x{c.window[1]}_statistics.csv"

    def work() -> bundle.Bundle:
        stats = view_statistics(c, x_range, y_range)
        return bundle.Bundle(filename, bundle.csv_bytes([qa_statistics_row(c, stats, view,
                                                                            estimator)]))

    return Job("QA statistics CSV", work)


def qa_figure_job(c: Comparison | None, view: tuple[Range, Range], estimator: str,
                  difference_limit: float) -> Job:  # fmt: skip
    if c is None:
        raise Unavailable("No comparison yet, so there is no QA figure to download: pick a "
                          "published product and press Compare first.")  # fmt: skip
    x_range, y_range = view
    filename = f"qa_{c.choice.item_id}_{c.asset}_{c.window[0]}x{c.window[1]}.png"

    def work() -> bundle.Bundle:
        stats = view_statistics(c, x_range, y_range)
        row = qa_statistics_row(c, stats, view, estimator)

        def f(key: str, fmt: str = ".4f") -> str:
            v = row.get(key)
            return "n/a" if v is None else format(v, fmt)

        caption = (
            f"{row['view']} ({row['crs']}, x {row['x_min']:.0f}..{row['x_max']:.0f}, "
            f"y {row['y_min']:.0f}..{row['y_max']:.0f}); difference = ours - product: bias "
            f"{f('bias', '+.4f')}, RMSE {f('rmse')}, correlation {f('correlation')}, pixels "
            f"product / ours / both {row['n_product']} / {row['n_ours']} / {row['n_both']} of "
            f"{row['n_pixels']}.\nProduct {c.choice.item_id} asset {c.asset}: "
            f"{c.product_estimator}, window {row['product_window'] or 'not stated'}. Ours: "
            f"{estimator}, window {row['our_window']} (azimuth x range), "
            f"{'bias-corrected' if c.bias_corrected else 'sample coherence'}, geocoded onto the "
            f"product grid. Render {row['render']}. pairscope {__version__}."
        )
        fig = bundle.comparison_figure(
            c.product, c.ours, c.difference, colormap=c.render.colormap_name,
            limits=c.render.limits, difference_limit=difference_limit,
            histogram=stats["histogram"], edges=stats["edges"],
            title=f"QA: {c.choice.item_id} ({c.asset}) against ours "
                  f"({c.window[0]}x{c.window[1]}), {day(c.choice.reference)} / "
                  f"{day(c.choice.secondary)}",
            caption=caption, view=view, product_title=f"Product {c.asset}",
            ours_title=f"Ours {c.window[0]}x{c.window[1]}, geocoded",
        )  # fmt: skip
        return bundle.Bundle(filename, bundle.figure_png(fig))

    return Job("QA figure PNG", work)


# -- views ------------------------------------------------------------------------------------------
class DownloadsView(pn.viewable.Viewer):
    """The download area beside the maps: pairs (CSV), map (PNG), pair (COG + STAC zip)."""

    def __init__(self, state: ExplorerState, maps: Any = None, **params: Any) -> None:
        super().__init__(**params)
        self.state = state
        self.maps = maps
        say = self.state.say
        self.pairs_button = download_button("pairs", lambda: pairs_job(self.state), say)
        self.map_button = download_button(
            "map", lambda: map_job(self.state, current_view(self.maps, self.state)), say
        )
        self.pair_button = download_button("pair", lambda: pair_zip_job(self.state), say)

    def __panel__(self) -> pn.viewable.Viewable:
        note = pn.pane.Markdown(
            "Made on demand from what is shown; nothing is kept on the server.",
            css_classes=["ps-empty"], width=230, margin=(0, 5),
        )  # fmt: skip
        return pn.Column(
            pn.pane.Markdown("#### Downloads", margin=(0, 5)),
            self.pairs_button, self.map_button, self.pair_button, note,
            width=250, css_classes=["ps-downloads"],
        )  # fmt: skip


class QADownloads(pn.viewable.Viewer):
    """The QA tab's downloads: statistics of the current view (CSV) and the comparison (PNG).

    ``comparison`` and ``view`` return the QA view's current comparison and (x_range, y_range);
    ``say`` shows a message in the QA tab's status area."""

    def __init__(
        self,
        comparison: Callable[[], Comparison | None],
        view: Callable[[], tuple[Range, Range]],
        say: Say,
        *,
        estimator: str,
        difference_limit: float,
        **params: Any,
    ) -> None:
        super().__init__(**params)

        def current() -> tuple[Range, Range]:
            x_range, y_range = view()
            return _range(x_range), _range(y_range)

        self.statistics_button = download_button(
            "qa_statistics", lambda: qa_statistics_job(comparison(), current(), estimator), say
        )
        self.figure_button = download_button(
            "qa_figure",
            lambda: qa_figure_job(comparison(), current(), estimator, difference_limit), say,
        )  # fmt: skip

    def __panel__(self) -> pn.viewable.Viewable:
        return pn.Row(self.statistics_button, self.figure_button, css_classes=["ps-qa-downloads"])
