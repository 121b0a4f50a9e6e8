# mypy: disable-error-code="no-untyped-call"
"""What the QA and Learn tabs compute, beside the backend: views draw, these functions compute.

- :class:`Runner`: work off the event loop, results handed back on the session's loop;
- QA: the products of a burst, a product against our recomputation on its grid (through the
  backend and so :mod:`pairscope.pipeline`, with the catalog's credentials), the statistics of the
  current view, the best-matching window;
- Learn: Touzi's bias and phase-noise curves, the simulated truth against the estimate, the look
  geometry of a pixel.

Everything reads through the :class:`~pairscope.ui.backend.Backend`, never around it.
"""

from __future__ import annotations

import math
import re
import threading
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import panel as pn
import xarray as xr

from pairscope import coherence, geometry, qa, render
from pairscope.ui.backend import UserError, day
from pairscope.ui.session_loop import served, session_scheduler
from pairscope.ui.state import pair_key

#: Bins of the QA 2-D histogram and statistics.
HIST_BINS = 100
#: Bins of the Learn coherence histogram.
LEARN_HIST_BINS = 50
#: pi / sqrt(3): the standard deviation of a uniform phase (no coherence at all), radians.
PHASE_STD_NOISE = math.pi / math.sqrt(3.0)


# -- running work off the event loop, and QA ------------------------------------------------------
class Runner:
    """Runs ``work`` on a worker thread and hands its result to ``done`` on the session's event
    loop (``Document.add_next_tick_callback``). Outside a served session (tests) it runs inline.
    A newer job makes older results stale: they are dropped, never applied."""

    def __init__(self) -> None:
        doc = pn.state.curdoc
        self._doc = doc if served(doc) else None
        self._run_on_loop = session_scheduler(self._doc, wait_for_load=False)
        self._generation = 0
        self._lock = threading.Lock()
        self.thread: threading.Thread | None = None

    def _schedule(self, fn: Callable[[], None]) -> None:
        if self._run_on_loop is None:
            fn()
        else:
            self._run_on_loop(fn)

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


def list_qa_products(backend: Any, location: str, burst_id: str) -> list[ProductChoice]:
    """Published coherence products of ``burst_id`` in the catalog at ``location`` (read by the
    backend, with the catalog's credentials)."""
    found = backend.products(location, burst_id)
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
    if asset not in choice.assets:
        raise UserError(
            f"Product {choice.item_id} has no coherence asset {asset!r}.",
            f"Pick one of {', '.join(choice.assets)}.",
        )
    product = backend.open_product(location, choice.item, asset)
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


def subset_view(da: xr.DataArray, x_range: Any, y_range: Any) -> xr.DataArray:
    out = da
    if x_range is not None and None not in tuple(x_range):
        lo, hi = sorted(float(v) for v in x_range)
        out = out.where((out["x"] >= lo) & (out["x"] <= hi), drop=True)
    if y_range is not None and None not in tuple(y_range):
        lo, hi = sorted(float(v) for v in y_range)
        out = out.where((out["y"] >= lo) & (out["y"] <= hi), drop=True)
    return out


def view_subsets(
    comparison: Comparison, x_range: Any = None, y_range: Any = None
) -> tuple[xr.DataArray, xr.DataArray]:
    """The product and ours inside the view (whole grid when no range)."""
    return (subset_view(comparison.product, x_range, y_range),
            subset_view(comparison.ours, x_range, y_range))  # fmt: skip


def view_statistics(
    comparison: Comparison, x_range: Any = None, y_range: Any = None, bins: int = HIST_BINS
) -> dict[str, Any]:
    """:func:`pairscope.qa.compare` over the pixels inside the view (whole grid when no range)."""
    return subset_statistics(*view_subsets(comparison, x_range, y_range), bins=bins)


def subset_statistics(product: xr.DataArray, ours: xr.DataArray,
                      bins: int = HIST_BINS) -> dict[str, Any]:  # fmt: skip
    """:func:`pairscope.qa.compare` of two subsets of the same grid (`view_subsets`)."""
    if product.size == 0:
        stats = qa.compare(np.full((1, 1), np.nan), np.full((1, 1), np.nan), bins=bins)
        stats["n_pixels"] = 0
        return stats
    return qa.compare(product.values, ours.values, bins=bins)


def best_window(
    backend: Any, location: str, burst_id: str, comparison: Comparison,
    windows: tuple[tuple[int, int], ...] = qa.COMMON_WINDOWS,
) -> dict[str, Any]:  # fmt: skip
    """:func:`pairscope.qa.best_matching_window` of the compared product (recomputes the pair
    from the two dates, read once through the backend)."""
    choice = comparison.choice
    pol = comparison.asset.upper() if comparison.asset.upper() in ("VV", "VH", "HH", "HV") else "VV"
    stack = backend.pair_stack(location, burst_id, pol, [choice.reference, choice.secondary])
    return qa.best_matching_window(
        comparison.product, stack, (choice.reference, choice.secondary), windows,
        bias_corrected=comparison.bias_corrected,
    )  # fmt: skip


# -- Learn ----------------------------------------------------------------------------------------
def bias_curves(looks: int, n: int = 201) -> pd.DataFrame:
    """True coherence against the expected sample coherence and the phase standard deviation
    (Cramer-Rao, capped at the uniform-phase pi / sqrt(3)) for ``looks`` looks."""
    g = np.linspace(0.0, 1.0, n)
    expected = coherence.expected_sample_coherence(g, looks)
    with np.errstate(divide="ignore", invalid="ignore"):
        std = np.minimum(coherence.phase_std(g, looks), PHASE_STD_NOISE)
    return pd.DataFrame({"true": g, "expected": expected, "phase_std_deg": np.degrees(std)})


def coherence_histogram(values: np.ndarray, bins: int = LEARN_HIST_BINS) -> tuple[np.ndarray, np.ndarray]:
    """Share of the finite pixels in each of ``bins`` coherence bins over [0, 1]."""
    v = np.asarray(values, dtype=np.float64).ravel()
    v = v[np.isfinite(v)]
    counts, edges = np.histogram(np.clip(v, 0.0, 1.0), bins=bins, range=(0.0, 1.0))
    share = counts / max(1, v.size)
    return share, edges


def fringe_cycle(wavelength: float = geometry.SENTINEL1_WAVELENGTH) -> float:
    """Line-of-sight motion of one phase cycle (2 pi), metres: lambda / 2."""
    return wavelength / 2.0


@dataclass(frozen=True)
class TruthComparison:
    truth: xr.DataArray
    estimate: xr.DataArray
    error: xr.DataArray
    mean_error: float
    predicted_bias: float
    rmse: float






def truth_comparison(
    backend: Any, location: str, reference: Any, secondary: Any, polarization: str,
    estimate: xr.DataArray, looks: int, *, burst_id: str | None = None,
) -> TruthComparison:  # fmt: skip
    """The demo's true coherence of the pair beside ``estimate`` (radar geometry) and the error.

    ``predicted_bias`` is the mean of E|gamma_hat|(truth, looks) - truth: what Touzi's curve says
    the error should be if the window's samples were independent; ``burst_id``: the burst the
    estimate is of (default: the catalog's first). Raises ``FileNotFoundError``
    for a catalog that is not a pairscope demo (no truth).
    """
    truth = backend.true_coherence(location, reference, secondary, polarization, burst_id=burst_id)
    est = np.asarray(estimate.values, dtype=np.float64)
    if truth.shape != est.shape:
        raise UserError(
            f"The truth grid {truth.shape} differs from the estimate's {est.shape}.",
            "Use radar geometry on the demo catalog.",
        )
    true = np.asarray(truth.values, dtype=np.float64)
    err = est - true
    ok = np.isfinite(err)
    predicted = coherence.expected_sample_coherence(np.clip(true[ok], 0.0, 1.0), looks) - true[ok]
    dims = estimate.dims
    return TruthComparison(
        truth=xr.DataArray(true.astype(np.float32), dims=dims),
        estimate=xr.DataArray(est.astype(np.float32), dims=dims),
        error=xr.DataArray(err.astype(np.float32), dims=dims),
        mean_error=float(err[ok].mean()) if ok.any() else math.nan,
        predicted_bias=float(predicted.mean()) if ok.any() else math.nan,
        rmse=float(np.sqrt(np.mean(err[ok] ** 2))) if ok.any() else math.nan,
    )


@dataclass(frozen=True)
class PixelGeometry:
    latitude: float
    longitude: float
    height: float
    sensor: np.ndarray  # ECEF m
    target: np.ndarray  # ECEF m
    look: np.ndarray  # ECEF unit vector, antenna -> target
    enu: np.ndarray  # east, north, up unit vector, target -> sensor
    incidence: float  # deg, ellipsoid normal
    slant_range: float  # m
    azimuth_time: np.datetime64


def pixel_geometry(orbit: Any, latitude: float, longitude: float, height: float) -> PixelGeometry:
    """Sensor, target, look vector (ECEF) and line of sight (ENU) of one ground point."""
    look = geometry.look_geometry(orbit, np.array([latitude]), np.array([longitude]),
                                  np.array([height]))  # fmt: skip
    t = look["azimuth_time"].values.ravel()[0]
    if np.isnat(t):
        raise UserError("This pixel is never seen by the orbit.", "Click another pixel.")
    sensor = np.asarray(orbit.position(np.array([t]))).reshape(-1)[:3]
    target = np.array([float(np.asarray(v).ravel()[0])
                       for v in geometry.llh_to_ecef(latitude, longitude, height)])  # fmt: skip

    def one(name: str) -> float:
        return float(np.asarray(look[name].values).ravel()[0])

    return PixelGeometry(
        latitude=latitude, longitude=longitude, height=height, sensor=sensor, target=target,
        look=np.array([one("look_x"), one("look_y"), one("look_z")]),
        enu=np.array([one("los_east"), one("los_north"), one("los_up")]),
        incidence=one("incidence_angle"), slant_range=one("slant_range"), azimuth_time=t,
    )  # fmt: skip


def pixel_location(ds: xr.Dataset, x: float, y: float) -> tuple[float, float, float] | None:
    """(latitude, longitude, height) of map point (x, y) of a pair result; None outside it."""
    coh = ds["coherence"]
    ydim, xdim = coh.dims[-2], coh.dims[-1]
    xs = coh[xdim].values if xdim in coh.coords else np.arange(coh.sizes[xdim])
    ys = coh[ydim].values if ydim in coh.coords else np.arange(coh.sizes[ydim])
    if not (min(xs[0], xs[-1]) <= x <= max(xs[0], xs[-1])) or not (
        min(ys[0], ys[-1]) <= y <= max(ys[0], ys[-1])
    ):
        return None
    ix, iy = int(np.abs(xs - x).argmin()), int(np.abs(ys - y).argmin())
    height = float(ds["height"].values[iy, ix]) if "height" in ds.coords and ds[
        "height"].ndim == 2 else 0.0  # fmt: skip
    if "latitude" in ds.coords and ds["latitude"].ndim == 2:
        return float(ds["latitude"].values[iy, ix]), float(ds["longitude"].values[iy, ix]), height
    crs = ds.rio.crs if hasattr(ds, "rio") else None
    if crs is None:
        return None
    from pyproj import Transformer

    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(float(xs[ix]), float(ys[iy]))
    return float(lat), float(lon), height
