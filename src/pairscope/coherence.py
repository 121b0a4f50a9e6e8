"""Coherence and differential phase: the sample estimator, vectorised over pairs, and its theory.

The estimator is the one of CEOS-ARD (GSLC eq. 18-19) and of the openEO notebook::

    rho = sum(s1 * conj(s2)) / sqrt(sum |s1|^2 * sum |s2|^2)      (boxcar window)
    coherence = |rho|,  phase = arg(rho) in (-pi, pi]

The sums run over valid samples only (finite and non-zero in both images). openEO's
``apply_kernel`` zero-fills outside the image instead; for the ratio this is the same as a truncated
window, which is what we compute, and ``valid_count`` records how many samples each estimate used.

The sample coherence is biased high, most at low coherence and few looks: Touzi et al. (1999)
give its expectation for ``L`` independent looks, :func:`expected_sample_coherence`.
:func:`bias_corrected_coherence` inverts that curve. A boxcar over oversampled SLCs holds fewer
*independent* looks than samples, so the nominal ``azimuth x range`` looks overstate ``L`` somewhat
(Sentinel-1 IW is oversampled about 1.2 x in range and 1.3 x in azimuth); the correction is an
honest first-order one, not a substitute for a larger window.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr
from scipy.special import gammaln

from pairscope import _boxcar
from pairscope._types import FloatArray, Window
from pairscope.pairs import Pair, as_date

__all__ = [
    "estimate",
    "estimate_amplitude",
    "estimate_pairs",
    "expected_sample_coherence",
    "bias_corrected_coherence",
    "phase_std",
    "check_window",
]



def check_window(window: Sequence[int], shape: tuple[int, ...] | None = None) -> Window:
    """Validate ``(azimuth_looks, range_looks)``; say what is wrong and how to fix it."""
    try:
        wa, wr = (int(w) for w in window)
    except (TypeError, ValueError):
        raise ValueError(
            f"window must be two positive integers (azimuth_looks, range_looks), e.g. (5, 21); "
            f"got {window!r}"
        ) from None
    if wa < 1 or wr < 1:
        raise ValueError(f"window sizes must be >= 1, got azimuth={wa}, range={wr}")
    if shape is not None and (wa > shape[-2] or wr > shape[-1]):
        raise ValueError(
            f"window {wa} x {wr} (azimuth x range) is larger than the image "
            f"{shape[-2]} x {shape[-1]}; choose a smaller window"
        )
    return wa, wr


def _check_pair_arrays(reference: Any, secondary: Any) -> tuple[Any, Any]:
    ref = np.asarray(reference)
    sec = np.asarray(secondary)
    if ref.ndim != 2 or sec.ndim != 2:
        raise ValueError(
            f"reference and secondary must be 2-D (azimuth, range) arrays; got shapes "
            f"{ref.shape} and {sec.shape}"
        )
    if ref.shape != sec.shape:
        raise ValueError(
            f"reference and secondary differ in shape: {ref.shape} vs {sec.shape}; "
            "coregister them onto one grid first"
        )
    return ref, sec


def estimate_amplitude(
    reference: npt.ArrayLike,
    secondary: npt.ArrayLike,
    window: Sequence[int] = (5, 21),
) -> npt.NDArray[np.float32]:
    """Multilooked amplitude of one pair, in dB (uncalibrated): ``10 log10 sqrt(I1 I2)`` with ``Ik``
    the mean intensity ``|sk|^2`` over the window's samples valid in both images (the samples the
    coherence uses). float32 of the input shape; NaN where the window holds no valid sample."""
    ref, sec = _check_pair_arrays(reference, secondary)
    wa, wr = check_window(window, ref.shape)
    p1 = _boxcar.power_sums(ref, sec, (wa, wr)).astype(np.float64)
    p2 = _boxcar.power_sums(sec, ref, (wa, wr)).astype(np.float64)
    _, _, count = _boxcar.coherence_sums(ref, sec, (wa, wr))
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 10.0 * np.log10(np.sqrt(p1 * p2) / count)
    out = np.where((count > 0) & np.isfinite(db), db, np.nan).astype(np.float32)
    return out


def estimate(
    reference: npt.ArrayLike,
    secondary: npt.ArrayLike,
    window: Sequence[int] = (5, 21),
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Coherence and phase of one pair of 2-D complex images (azimuth, range).

    Returns float32 arrays of the input shape; NaN where the window holds no valid sample.
    """
    ref, sec = _check_pair_arrays(reference, secondary)
    wa, wr = check_window(window, ref.shape)
    coh, pha, _ = _boxcar.coherence_sums(ref, sec, (wa, wr))
    return coh, pha


# --------------------------------------------------------------------------------------------
# Pairs over a stack


def _pair_dates(pairs: Iterable[Any]) -> list[tuple[np.datetime64, np.datetime64]]:
    out = []
    for p in pairs:
        if isinstance(p, Pair):
            out.append((p.reference, p.secondary))
        elif hasattr(p, "reference") and hasattr(p, "secondary"):
            out.append((as_date(p.reference), as_date(p.secondary)))
        else:
            try:
                ref, sec = p
            except (TypeError, ValueError):
                raise ValueError(
                    f"a pair must be (reference_date, secondary_date) or a Pair; got {p!r}"
                ) from None
            out.append((as_date(ref), as_date(sec)))
    if not out:
        raise ValueError("no pairs given: select at least one (reference, secondary) pair")
    return out


def _pairs_into(
    block: npt.NDArray[np.complex64],
    index: npt.NDArray[np.int64],
    window: Window,
    coherence: npt.NDArray[np.float32],
    phase: npt.NDArray[np.float32],
    count: npt.NDArray[np.int32],
) -> None:
    """Coherence, phase and valid count of every pair of one block, written in place.

    Each date's power is box-summed once and reused by every pair whose two dates share one
    no-data mask (the usual case for a coregistered stack). A pair whose masks differ gets its
    own power sums over the samples valid in both dates, so the result is always exact.
    """
    mask_key = {}
    for d in np.unique(index):
        valid = np.isfinite(block[d]) & (block[d] != 0)
        mask_key[int(d)] = hashlib.blake2b(np.packbits(valid).tobytes(), digest_size=16).digest()
    powers: dict[int, npt.NDArray[np.float32]] = {}
    for p, (i, j) in enumerate(index):
        i, j = int(i), int(j)
        shared = mask_key[i] == mask_key[j]
        if shared:
            for d in (i, j):
                if d not in powers:
                    powers[d] = _boxcar.power_sums(block[d], block[d], window)
        _boxcar.coherence_sums(
            block[i],
            block[j],
            window,
            powers[i] if shared else None,
            powers[j] if shared else None,
            out=(coherence[p], phase[p], count[p]),
        )


def _block_pairs(
    block: npt.NDArray[np.complex64], index: npt.NDArray[np.int64], window: Window
) -> npt.NDArray[np.float32]:
    """All pairs of one dask block as one (3 * n_pairs, rows, cols) float32 array: coherence of
    every pair, then phase, then valid count (map_blocks returns a single array)."""
    n_pairs = index.shape[0]
    shape = block.shape[1:]
    out = np.empty((3, n_pairs) + shape, dtype=np.float32)
    count = np.empty((n_pairs,) + shape, dtype=np.int32)
    _pairs_into(block, index, window, out[0], out[1], count)
    out[2] = count
    return out.reshape((3 * n_pairs,) + shape)


def estimate_pairs(
    stack: xr.DataArray,
    pairs: Iterable[Any],
    window: Sequence[int] = (5, 21),
    *,
    bias_corrected: bool = False,
) -> xr.Dataset:
    """Coherence and phase for every pair of a stack, as one Dataset with a ``pair`` dimension.

    ``stack`` has dims ``("date", A, B)`` with ``A, B`` either ``azimuth, range`` or ``y, x``;
    numpy- or dask-backed (a dask stack stays lazy: halo overlap of ``window // 2``).
    ``pairs`` are ``(reference_date, secondary_date)`` tuples or :class:`pairscope.pairs.Pair`.
    """
    if not isinstance(stack, xr.DataArray) or stack.ndim != 3 or stack.dims[0] != "date":
        dims = getattr(stack, "dims", None)
        raise ValueError(
            f"stack must be an xarray.DataArray with dims ('date', azimuth, range); got dims {dims}"
        )
    wa, wr = check_window(window, stack.shape)
    dim_a, dim_b = stack.dims[1], stack.dims[2]
    pair_dates = _pair_dates(pairs)
    stack_dates = stack["date"].values.astype("datetime64[ns]")
    lookup = {d: k for k, d in enumerate(stack_dates)}
    index = []
    for ref, sec in pair_dates:
        missing = [str(d)[:10] for d in (ref, sec) if d not in lookup]
        if missing:
            have = ", ".join(str(d)[:10] for d in stack_dates)
            raise ValueError(f"pair date(s) {', '.join(missing)} not in the stack (dates: {have})")
        index.append((lookup[ref], lookup[sec]))
    used = sorted({d for pair in index for d in pair})
    remap = {d: k for k, d in enumerate(used)}
    local_index = np.array([(remap[i], remap[j]) for i, j in index], dtype=np.int64)
    n_pairs = len(index)

    data = stack.isel(date=used).data
    depth = {0: 0, 1: wa // 2, 2: wr // 2}
    if _is_dask(data):
        import dask.array as da

        data = data.rechunk({0: -1}).astype(np.complex64)
        halo = da.overlap.overlap(data, depth=depth, boundary="none")  # type: ignore[no-untyped-call]
        res = halo.map_blocks(
            _block_pairs,
            local_index,
            (wa, wr),
            chunks=((3 * n_pairs,), halo.chunks[1], halo.chunks[2]),
            dtype=np.float32,
            meta=np.empty((0, 0, 0), dtype=np.float32),
        )
        res = da.overlap.trim_internal(res, depth, boundary="none")  # type: ignore[no-untyped-call]
        res = res.reshape((3, n_pairs) + tuple(stack.shape[1:]))
        coherence, phase, valid_count = res[0], res[1], res[2].astype(np.int32)
    else:
        out_shape = (n_pairs,) + tuple(stack.shape[1:])
        coherence = np.empty(out_shape, dtype=np.float32)
        phase = np.empty(out_shape, dtype=np.float32)
        valid_count = np.empty(out_shape, dtype=np.int32)
        block = np.ascontiguousarray(data, dtype=np.complex64)
        _pairs_into(block, local_index, (wa, wr), coherence, phase, valid_count)
    looks = wa * wr
    if bias_corrected:
        if _is_dask(coherence):
            coherence = coherence.map_blocks(
                _bias_correct_block, valid_count, dtype=np.float32
            )
        else:
            coherence = _bias_correct_block(coherence, valid_count)

    dims = ("pair", dim_a, dim_b)
    refs = np.array([r for r, _ in pair_dates], dtype="datetime64[ns]")
    secs = np.array([s for _, s in pair_dates], dtype="datetime64[ns]")
    dt_days = ((secs - refs) / np.timedelta64(1, "D")).astype(np.float64)
    labels = [f"{str(r)[:10].replace('-', '')}_{str(s)[:10].replace('-', '')}" for r, s in pair_dates]
    coords: dict[str, Any] = {
        "pair": ("pair", labels),
        "reference": ("pair", refs),
        "secondary": ("pair", secs),
        "temporal_baseline": ("pair", np.rint(dt_days).astype(np.int64), {"units": "days"}),
    }
    for name, coord in stack.coords.items():
        if name == "date" or "date" in coord.dims:
            continue
        coords[str(name)] = coord
    estimator = "boxcar sample coherence (CEOS-ARD GSLC eq. 18-19), valid samples only"
    if bias_corrected:
        estimator += ", Touzi et al. (1999) bias correction with L = valid samples per window"
    attrs = dict(stack.attrs)
    attrs.update(
        {
            "estimator": estimator,
            "window": f"{wa}x{wr}",
            "window_azimuth": wa,
            "window_range": wr,
            "looks": looks,
            "bias_corrected": int(bias_corrected),
        }
    )
    ds = xr.Dataset(
        {
            "coherence": (dims, coherence, {"long_name": "coherence", "units": "1"}),
            "phase": (dims, phase, {"long_name": "differential phase", "units": "rad"}),
            "valid_count": (
                dims,
                valid_count,
                {"long_name": "valid samples in the window", "units": "1"},
            ),
        },
        coords=coords,
        attrs=attrs,
    )
    return ds


def _is_dask(data: Any) -> bool:
    return type(data).__module__.startswith("dask")


def _bias_correct_block(
    coherence: npt.NDArray[np.float32], valid_count: npt.NDArray[np.int32]
) -> npt.NDArray[np.float32]:
    out = np.full(coherence.shape, np.nan, dtype=np.float32)
    for looks in np.unique(valid_count):
        if looks < 1:
            continue
        sel = valid_count == looks
        out[sel] = bias_corrected_coherence(coherence[sel], int(looks)).astype(np.float32)
    return out


# --------------------------------------------------------------------------------------------
# Theory


def _log_hyp3f2_series(g: float, looks: int) -> float:
    """log of 3F2(3/2, L, L; L + 1/2, 1; g^2), summed in log space (all terms are positive).

    Terms follow from the ratio t[k+1] / t[k] = (3/2 + k) (L + k)^2 z / ((L + 1/2 + k) (1 + k)^2);
    the sum runs in chunks until the terms have passed their peak and fallen 45 e-folds below it.
    """
    z = g * g
    if z == 0.0:
        return 0.0
    L = float(looks)
    logz = float(np.log(z))
    chunk = 512
    start = 0
    last = 0.0  # log of the term t[start]
    peak = -np.inf
    total = 0.0  # sum of exp(logt - peak) so far
    while True:
        k = np.arange(start, start + chunk, dtype=np.float64)
        log_ratio = (
            np.log1p(k + 0.5) + 2.0 * np.log(L + k) - np.log(L + 0.5 + k) - 2.0 * np.log1p(k) + logz
        )
        logt = last + np.concatenate([[0.0], np.cumsum(log_ratio[:-1])])
        m = float(logt.max())
        if m > peak:
            total *= float(np.exp(peak - m)) if np.isfinite(peak) else 0.0
            peak = m
        total += float(np.exp(logt - peak).sum())
        last = float(logt[-1] + log_ratio[-1])
        start += chunk
        chunk = min(chunk * 2, 65536)
        if log_ratio[-1] < 0.0 and last < peak - 45.0:
            return peak + float(np.log(total))


def _expected_scalar(g: float, looks: int) -> float:
    if g >= 1.0:
        return 1.0
    L = float(looks)
    log_front = float(gammaln(L) + gammaln(1.5) - gammaln(L + 0.5))
    return float(np.exp(log_front + _log_hyp3f2_series(g, looks) + L * np.log1p(-g * g)))


# Grid for the expectation curve: dense near 1 where it bends.
_GRID = np.unique(
    np.concatenate([np.linspace(0.0, 0.98, 491), 1.0 - np.geomspace(0.02, 1e-3, 60)])
)


@functools.lru_cache(maxsize=512)
def _curve(looks: int) -> FloatArray:
    values = np.array([_expected_scalar(float(g), looks) for g in _GRID])
    values = np.append(values, 1.0)
    return np.maximum.accumulate(values)


def _grid() -> FloatArray:
    return np.append(_GRID, 1.0)


def expected_sample_coherence(true_coherence: npt.ArrayLike, looks: int) -> FloatArray:
    """E|gamma_hat| for ``looks`` independent looks (Touzi et al. 1999, eq. 11).

    ``Gamma(L) Gamma(3/2) / Gamma(L + 1/2) * 3F2(3/2, L, L; L + 1/2, 1; g^2) * (1 - g^2)^L``,
    evaluated exactly (log-space series) for g up to 0.999 and interpolated to 1 above (where
    the bias is below 1e-6).
    """
    if looks < 1:
        raise ValueError(f"looks must be >= 1, got {looks}")
    g = np.asarray(true_coherence, dtype=np.float64)
    if np.any((g < 0) | (g > 1)):
        raise ValueError("true coherence must lie in [0, 1]")
    return np.asarray(np.interp(g, _grid(), _curve(int(looks))), dtype=np.float64)


def bias_corrected_coherence(sample_coherence: npt.ArrayLike, looks: int) -> FloatArray:
    """Invert :func:`expected_sample_coherence`: the true coherence whose expectation is given.

    Values below the expectation at zero coherence (pure noise) map to 0; NaN stays NaN.
    """
    if looks < 1:
        raise ValueError(f"looks must be >= 1, got {looks}")
    s = np.asarray(sample_coherence, dtype=np.float64)
    curve = _curve(int(looks))
    grid = _grid()
    # Make the curve strictly increasing for the inverse interpolation.
    keep = np.concatenate([[True], np.diff(curve) > 0])
    return np.asarray(np.interp(s, curve[keep], grid[keep], left=0.0, right=1.0))


def phase_std(coherence: npt.ArrayLike, looks: int) -> FloatArray:
    """Cramer-Rao bound of the interferometric phase: sqrt(1 - g^2) / (g sqrt(2 L)) radians.

    Tight at high coherence and many looks; at low coherence the real spread is larger and
    saturates at pi / sqrt(3) (uniform phase), which this bound does not show.
    """
    if looks < 1:
        raise ValueError(f"looks must be >= 1, got {looks}")
    g = np.asarray(coherence, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.sqrt(1.0 - g * g) / (g * np.sqrt(2.0 * looks)))
