"""One-pass kernels behind the export's compact encoding and its band statistics.

Each is the numpy expression in its docstring, in one pass over the data instead of a chain of
temporaries (the writer of ``pairscope compute`` spent ~30 % of its time there). The numpy forms
stay in the tests as the reference.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from pairscope._numba import jit

__all__ = ["band_statistics", "encode_scaled", "encode_with_statistics"]


@jit
def _step(v: float, offset: float, scale: float, lo: float, hi: float) -> Any:  # pragma: no cover
    """A finite value's stored step: ``clip(rint((v - offset) / scale), lo, hi)``."""
    s = np.rint((v - offset) / scale)
    if s < lo:
        return lo
    if s > hi:
        return hi
    return s


@jit
def _encode(values: Any, offset: float, scale: float, lo: float, hi: float, nodata: Any,
            empty: Any, has_empty: bool, out: Any) -> None:  # pragma: no cover - numba
    for k in range(values.size):
        v = np.float64(values[k])
        if not math.isfinite(v) or (has_empty and empty[k]):
            out[k] = nodata
            continue
        out[k] = _step(v, offset, scale, lo, hi)


def encode_scaled(values: np.ndarray, dtype: str, offset: float, scale: float, lo: float, hi: float,
                  nodata: int, empty: np.ndarray | None = None) -> np.ndarray:
    """``clip(rint((float64(values) - offset) / scale), lo, hi)`` as ``dtype``, with ``nodata``
    where a value is not finite or ``empty`` is True (bit-identical to that numpy expression)."""
    src = np.ascontiguousarray(values)
    if src.dtype.kind not in "fiub":
        src = src.astype("float64")
    out = np.empty(src.shape, dtype=dtype)
    mask = np.ascontiguousarray(empty, dtype=np.bool_) if empty is not None else np.zeros(1, np.bool_)
    _encode(src.reshape(-1), float(offset), float(scale), float(lo), float(hi),
            out.dtype.type(nodata), mask.reshape(-1), empty is not None, out.reshape(-1))
    return out


@jit
def _moments(values: Any, nodata: float, use_nodata: bool) -> tuple[int, float, float, float]:  # pragma: no cover
    n = 0
    total = 0.0
    lo = np.inf
    hi = -np.inf
    for k in range(values.size):
        v = np.float64(values[k])
        if not math.isfinite(v) or (use_nodata and v == nodata):
            continue
        n += 1
        total += v
        if v < lo:
            lo = v
        if v > hi:
            hi = v
    return n, total, lo, hi


@jit
def _spread(values: Any, nodata: float, use_nodata: bool, mean: float) -> float:  # pragma: no cover
    acc = 0.0
    for k in range(values.size):
        v = np.float64(values[k])
        if not math.isfinite(v) or (use_nodata and v == nodata):
            continue
        acc += (v - mean) * (v - mean)
    return acc


def band_statistics(band: np.ndarray, nodata: float | None = None) -> dict[str, float | int]:
    """STAC ``raster:bands`` statistics of the stored values of one band, NaN and ``nodata``
    left out: minimum, maximum, mean, stddev (population) and valid_percent. Integers stay
    integers; the mean and stddev are float64 sums (within 1e-12 of numpy's pairwise sums)."""
    flat = np.ascontiguousarray(band).reshape(-1)
    use = nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata))
    n, total, lo, hi = _moments(flat, float(nodata) if use else 0.0, use)  # type: ignore[arg-type]
    if n == 0:
        return {"valid_percent": 0.0}
    mean = total / n
    spread = _spread(flat, float(nodata) if use else 0.0, use, mean)  # type: ignore[arg-type]
    integer = np.issubdtype(flat.dtype, np.integer)
    return {
        "minimum": int(lo) if integer else float(np.asarray(lo, dtype=flat.dtype)),
        "maximum": int(hi) if integer else float(np.asarray(hi, dtype=flat.dtype)),
        "mean": float(mean),
        "stddev": float(math.sqrt(spread / n)),
        "valid_percent": round(100.0 * n / flat.size, 4),
    }


@jit
def _encode_counting(values: Any, offset: float, scale: float, lo: float, hi: float, nodata: Any,
                     empty: Any, has_empty: bool, out: Any, counts: Any) -> None:  # pragma: no cover
    base = np.int64(lo)
    for k in range(values.size):
        v = np.float64(values[k])
        if not math.isfinite(v) or (has_empty and empty[k]):
            out[k] = nodata
            continue
        s = _step(v, offset, scale, lo, hi)
        out[k] = s
        counts[np.int64(s) - base] += 1


@jit
def _count_moments(counts: Any, lo: int) -> tuple[int, float, int, int, float]:  # pragma: no cover
    n = 0
    total = 0  # exact: integer values
    first = -1
    last = -1
    for b in range(counts.size):
        c = counts[b]
        if c:
            n += c
            total += c * (b + lo)
            if first < 0:
                first = b
            last = b
    spread = 0.0
    if n:
        mean = total / n
        for b in range(counts.size):
            c = counts[b]
            if c:
                d = (b + lo) - mean
                spread += c * d * d
    return n, float(total), first + lo, last + lo, spread


def encode_with_statistics(values: np.ndarray, dtype: str, offset: float, scale: float, lo: float,
                           hi: float, nodata: int, empty: np.ndarray | None = None,
                           ) -> tuple[np.ndarray, dict[str, float | int]]:
    """`encode_scaled` and the `band_statistics` of its result (nodata left out) in the same pass:
    a count of each stored value (``hi - lo + 1`` counters, so at most 16-bit types) gives the
    minimum, maximum, mean (exact integer sum) and stddev (sum over the distinct values: within
    1e-12 of the element-wise sums). The stored values are bit-identical to `encode_scaled`'s."""
    if hi - lo + 1 > 2**16:
        stored = encode_scaled(values, dtype, offset, scale, lo, hi, nodata, empty)
        return stored, band_statistics(stored, nodata)
    src = np.ascontiguousarray(values)
    if src.dtype.kind not in "fiub":
        src = src.astype("float64")
    out = np.empty(src.shape, dtype=dtype)
    mask = np.ascontiguousarray(empty, dtype=np.bool_) if empty is not None else np.zeros(1, np.bool_)
    counts = np.zeros(int(hi - lo) + 1, dtype=np.int64)
    _encode_counting(src.reshape(-1), float(offset), float(scale), float(lo), float(hi),
                     out.dtype.type(nodata), mask.reshape(-1), empty is not None, out.reshape(-1),
                     counts)
    n, total, minimum, maximum, spread = _count_moments(counts, int(lo))
    if n == 0:
        return out, {"valid_percent": 0.0}
    return out, {
        "minimum": int(minimum),
        "maximum": int(maximum),
        "mean": float(total / n),
        "stddev": float(math.sqrt(spread / n)),
        "valid_percent": round(100.0 * n / max(out.size, 1), 4),
    }
