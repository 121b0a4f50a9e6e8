"""Product QA statistics: a published coherence product against our recomputation.

The QA view only draws what this module computes:

- `compare(product, ours)`: bias, RMSE, correlation, valid pixel counts and a 2-D histogram of
  ``ours`` against ``product`` on one grid (sign convention: difference = ours - product);
- `difference(product, ours)`: the difference map;
- `to_product_grid(ours, product)`: brings a radar-geometry (``latitude``/``longitude`` coords)
  or map-geometry result onto the product's map grid (``pairscope.geometry.geocoding`` + nearest cell);
- `best_matching_window(product, stack, pair, windows=COMMON_WINDOWS)`: recomputes the pair for
  each candidate window and ranks them by RMSE against the product (a product made with a small
  window is biased high at low coherence; the window that matches it best tells which estimator
  it used).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr

__all__ = [
    "COMMON_WINDOWS",
    "best_matching_window",
    "compare",
    "difference",
    "to_product_grid",
]

#: Candidate (azimuth, range) windows: the boxcar sizes of common processors (SNAP/S1TBX's small
#: 2-3 x 10 windows, ISCE/openEO-style 4-5 x 15-21 multilooks, square windows) and our default.
COMMON_WINDOWS: tuple[tuple[int, int], ...] = (
    (1, 4), (2, 8), (2, 10), (3, 3), (3, 10), (3, 12), (4, 16), (5, 5), (5, 15), (5, 20),
    (5, 21), (7, 7), (7, 28), (9, 9), (10, 40),
)


def _values(data: xr.DataArray | np.ndarray, name: str) -> np.ndarray:
    if isinstance(data, xr.DataArray):
        extra = [d for d in data.dims if data.sizes[d] == 1 and d not in ("y", "x", "azimuth", "range")]
        data = data.squeeze(extra, drop=True) if extra else data
        array = np.asarray(data.values, dtype="float64")
    else:
        array = np.asarray(data, dtype="float64")
    if array.ndim != 2:
        raise ValueError(f"{name} must be a 2-D map, got shape {array.shape}")
    return array


def _check_same_grid(product: Any, ours: Any) -> None:
    if not (isinstance(product, xr.DataArray) and isinstance(ours, xr.DataArray)):
        return
    for dim in ("y", "x"):
        if dim in product.coords and dim in ours.coords:
            a = np.asarray(product[dim].values, dtype="float64")
            b = np.asarray(ours[dim].values, dtype="float64")
            step = abs(float(a[1] - a[0])) if a.size > 1 else 1.0
            if a.shape != b.shape or not np.allclose(a, b, atol=1e-6 * step):
                raise ValueError(
                    f"product and ours are on different {dim!r} coordinates; bring ours onto the "
                    "product grid first (pairscope.qa.to_product_grid)"
                )


def compare(
    product: xr.DataArray | np.ndarray,
    ours: xr.DataArray | np.ndarray,
    *,
    bins: int = 64,
    value_range: tuple[float, float] = (0.0, 1.0),
) -> dict[str, Any]:
    """Statistics of ``ours`` against ``product`` (physical units, same grid).

    Returns a dict with ``n_pixels`` (grid size), ``n_product``, ``n_ours``, ``n_both`` (finite
    pixels in each and in both), ``bias`` (mean of ours - product), ``rmse``, ``std_difference``,
    ``mae``, ``correlation`` (Pearson), ``mean_product``, ``mean_ours``, ``histogram`` (int64
    ``(bins, bins)`` counts, axis 0 = product, axis 1 = ours) and ``edges`` (the ``bins + 1`` bin
    edges over ``value_range`` shared by both axes; values outside it go to the end bins).
    Statistics are NaN when no pixel is valid in both.
    """
    _check_same_grid(product, ours)
    p = _values(product, "product")
    o = _values(ours, "ours")
    if p.shape != o.shape:
        raise ValueError(
            f"product {p.shape} and ours {o.shape} differ in shape; bring ours onto the product "
            "grid first (pairscope.qa.to_product_grid)"
        )
    if bins < 1:
        raise ValueError(f"bins must be >= 1, got {bins}")
    lo, hi = (float(v) for v in value_range)
    if not hi > lo:
        raise ValueError(f"value_range must be increasing, got {value_range}")
    valid_p = np.isfinite(p)
    valid_o = np.isfinite(o)
    both = valid_p & valid_o
    n_both = int(both.sum())
    edges = np.linspace(lo, hi, bins + 1)
    result: dict[str, Any] = {
        "n_pixels": int(p.size),
        "n_product": int(valid_p.sum()),
        "n_ours": int(valid_o.sum()),
        "n_both": n_both,
        "edges": edges,
    }
    if n_both == 0:
        result.update(bias=math.nan, rmse=math.nan, std_difference=math.nan, mae=math.nan,
                      correlation=math.nan, mean_product=math.nan, mean_ours=math.nan,
                      histogram=np.zeros((bins, bins), dtype=np.int64))
        return result
    pv, ov = p[both], o[both]
    diff = ov - pv
    sp, so = float(pv.std()), float(ov.std())
    correlation = (
        float(np.mean((pv - pv.mean()) * (ov - ov.mean())) / (sp * so)) if sp > 0 and so > 0 else math.nan
    )
    ip = np.clip(((pv - lo) / (hi - lo) * bins).astype(np.int64), 0, bins - 1)
    io = np.clip(((ov - lo) / (hi - lo) * bins).astype(np.int64), 0, bins - 1)
    histogram = np.bincount(ip * bins + io, minlength=bins * bins).reshape(bins, bins)
    result.update(
        bias=float(diff.mean()),
        rmse=float(np.sqrt(np.mean(diff * diff))),
        std_difference=float(diff.std()),
        mae=float(np.abs(diff).mean()),
        correlation=correlation,
        mean_product=float(pv.mean()),
        mean_ours=float(ov.mean()),
        histogram=histogram.astype(np.int64),
    )
    return result


def difference(product: xr.DataArray | np.ndarray, ours: xr.DataArray | np.ndarray) -> xr.DataArray:
    """``ours - product`` (NaN where either is invalid), on the product's coords when it has any."""
    _check_same_grid(product, ours)
    p = _values(product, "product")
    o = _values(ours, "ours")
    if p.shape != o.shape:
        raise ValueError(f"product {p.shape} and ours {o.shape} differ in shape")
    diff = (o - p).astype("float32")
    if isinstance(product, xr.DataArray):
        template = product.squeeze(
            [d for d in product.dims if product.sizes[d] == 1 and d not in ("y", "x")], drop=True
        )
        out = xr.DataArray(diff, dims=template.dims, coords=template.coords, name="difference")
    else:
        out = xr.DataArray(diff, dims=("y", "x"), name="difference")
    out.attrs.update(units="1", long_name="coherence difference (ours - product)")
    return out


def _resolution(product: xr.DataArray) -> float:
    rx, ry = product.rio.resolution()
    if not math.isclose(abs(rx), abs(ry), rel_tol=1e-6):
        raise ValueError(f"product pixels are not square ({rx} x {ry}); cannot geocode onto them")
    return abs(float(rx))


def to_product_grid(ours: xr.DataArray | xr.Dataset, product: xr.DataArray) -> xr.DataArray:
    """Our coherence (a DataArray, or the ``coherence`` of a one-pair Dataset) on the product's
    ``(y, x)`` grid.

    Radar-geometry results (dims ``azimuth, range`` with 2-D ``latitude``/``longitude`` coords) are
    geocoded with `pairscope.geometry.geocoding.geocode` to the product's CRS and pixel size, then every
    product cell takes the geocoded cell it falls in (nearest within half a pixel; NaN outside
    our footprint). Map-geometry results in the same CRS are matched the same way.
    """
    crs = product.rio.crs
    if crs is None:
        raise ValueError("the product has no CRS: open it with pairscope.io.rasters.open_product")
    res = _resolution(product)
    if isinstance(ours, xr.Dataset):
        if "coherence" not in ours:
            raise ValueError(f"no 'coherence' in ours (variables {list(ours.data_vars)})")
        da = ours["coherence"]
    else:
        da = ours
    if "pair" in da.dims:
        if da.sizes["pair"] != 1:
            raise ValueError(f"ours holds {da.sizes['pair']} pairs; select one (.isel(pair=i))")
        da = da.isel(pair=0)
    if "azimuth" in da.dims:
        if "latitude" not in da.coords or "longitude" not in da.coords:
            raise ValueError("radar-geometry coherence needs 'latitude'/'longitude' coords to geocode")
        from pairscope.geometry.geocoding import geocode

        dims = ("azimuth", "range")
        ds = xr.Dataset(
            {"coherence": (dims, np.asarray(da.transpose(*dims).values, dtype="float32"))},
            coords={
                "latitude": (dims, np.asarray(da["latitude"].transpose(*dims).values)),
                "longitude": (dims, np.asarray(da["longitude"].transpose(*dims).values)),
            },
        )
        mapped = geocode(ds, ds["latitude"], ds["longitude"], crs=crs, resolution=res)["coherence"]
    else:
        mapped = da
        if mapped.rio.crs is not None and mapped.rio.crs != crs:
            raise ValueError(f"ours is in {mapped.rio.crs}, the product in {crs}; reproject ours first")
    pdims = [d for d in product.dims if product.sizes[d] > 1 or d in ("y", "x")]
    if tuple(d for d in pdims if d in ("y", "x")) != ("y", "x"):
        raise ValueError(f"the product must have dims (y, x), got {product.dims}")
    out = mapped.reindex(
        y=product["y"].values, x=product["x"].values, method="nearest", tolerance=res / 2
    )
    result: xr.DataArray = out.astype("float32")
    return result


def _pair_dates(pair: Any) -> tuple[np.datetime64, np.datetime64]:
    if hasattr(pair, "reference") and hasattr(pair, "secondary"):
        return np.datetime64(pair.reference, "ns"), np.datetime64(pair.secondary, "ns")
    ref, sec = pair
    return np.datetime64(ref, "ns"), np.datetime64(sec, "ns")


def best_matching_window(
    product: xr.DataArray | np.ndarray,
    stack: xr.DataArray,
    pair: Any,
    windows: Sequence[tuple[int, int]] = COMMON_WINDOWS,
    *,
    refine: bool = True,
    max_evaluations: int = 40,
    bias_corrected: bool = False,
    criterion: str = "rmse",
) -> dict[str, Any]:
    """Recompute ``pair`` from ``stack`` with each window and compare with ``product``.

    ``product``: coherence in physical units, either on a map grid (a DataArray with ``y, x`` and
    a CRS: ours is geocoded onto it with `to_product_grid`) or on the stack's own grid.
    With ``refine`` the best of ``windows`` is then improved by a local search over its
    neighbours (azimuth +-1, range +-1, +-2) until none is better, so a product made with an
    uncommon window (say 4 x 19) is still found; at most ``max_evaluations`` windows in all.

    Returns ``{"best": (az, rg), "criterion": ..., "results": [...]}`` where each result holds the
    window and the `compare` statistics (without the histogram), in evaluation order.
    ``criterion`` is ``"rmse"`` (smallest), ``"abs_bias"`` (smallest absolute bias) or
    ``"correlation"`` (largest).
    """
    from pairscope.coherence import estimate_pairs

    if criterion not in ("rmse", "abs_bias", "correlation"):
        raise ValueError(f"criterion must be 'rmse', 'abs_bias' or 'correlation', got {criterion!r}")
    if not windows:
        raise ValueError("windows is empty: give at least one (azimuth, range) window")
    ref, sec = _pair_dates(pair)
    days = stack["date"].values.astype("datetime64[D]")
    missing = [str(d)[:10] for d in (ref, sec) if d.astype("datetime64[D]") not in days]
    if missing:
        have = ", ".join(str(d) for d in days)
        raise ValueError(f"pair date(s) {', '.join(missing)} not in the stack (dates: {have})")
    index = [int(np.flatnonzero(days == d.astype("datetime64[D]"))[0]) for d in (ref, sec)]
    sub = stack.isel(date=index).load()  # the two dates once, for every window
    dates = sub["date"].values
    rows, cols = sub.shape[1], sub.shape[2]
    on_map = isinstance(product, xr.DataArray) and "y" in product.dims
    results: dict[tuple[int, int], dict[str, Any]] = {}

    def evaluate(az: int, rg: int) -> float:
        if (az, rg) not in results:
            ours = estimate_pairs(sub, [(dates[0], dates[1])], (az, rg), bias_corrected=bias_corrected)
            if on_map:
                gridded = to_product_grid(ours, product)  # type: ignore[arg-type]
            else:  # a product in the stack's own (radar) geometry
                gridded = ours["coherence"].isel(pair=0)
            stats = compare(product, gridded.values)
            stats.pop("histogram")
            stats.pop("edges")
            results[(az, rg)] = {"window": (az, rg), **stats}
        return score(results[(az, rg)])

    def score(r: Mapping[str, Any]) -> float:
        if r["n_both"] == 0:
            return math.inf
        if criterion == "rmse":
            return float(r["rmse"])
        if criterion == "abs_bias":
            return abs(float(r["bias"]))
        return -float(r["correlation"]) if math.isfinite(r["correlation"]) else math.inf

    for window in windows:
        az, rg = int(window[0]), int(window[1])
        if 1 <= az <= rows and 1 <= rg <= cols:
            evaluate(az, rg)
    if not results:
        raise ValueError(f"no candidate window fits the {rows} x {cols} stack")
    best = min(results, key=lambda w: score(results[w]))
    while refine and len(results) < max_evaluations:
        az, rg = best
        neighbours = [(az + da, rg + dr) for da in (-1, 0, 1) for dr in (-2, -1, 0, 1, 2)
                      if (da, dr) != (0, 0)]
        candidates = [w for w in neighbours
                      if 1 <= w[0] <= rows and 1 <= w[1] <= cols and w not in results]
        if not candidates:
            break
        for w in candidates[: max_evaluations - len(results)]:
            evaluate(*w)
        step = min(results, key=lambda w: score(results[w]))
        if step == best:
            break
        best = step
    if not math.isfinite(score(results[best])):
        raise ValueError("no window gave any pixel valid in both the product and ours: do they overlap?")
    return {"best": best, "criterion": criterion, "results": list(results.values())}
