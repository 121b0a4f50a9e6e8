"""Coherence and differential phase: the sample estimator, vectorised over pairs, and its theory.

The estimator is the one of CEOS-ARD (GSLC eq. 18-19) and of the openEO notebook::

    rho = sum(s1 * conj(s2)) / sqrt(sum |s1|^2 * sum |s2|^2)      (boxcar window)
    coherence = |rho|,  phase = arg(rho) in (-pi, pi]

The sums run over valid samples only (finite and non-zero in both images). openEO's
``apply_kernel`` zero-fills outside the image instead; for the ratio this is the same as a truncated
window, which is what we compute, and ``valid_count`` records how many samples each estimate used.
:func:`estimate_pairs_overview` gives the same estimator on non-overlapping windows only (a
decimated grid), several times faster, for a first look at many pairs.

What the estimator cannot get right is refused with a :class:`pairscope.errors.InputError` (a
``ValueError``) that says why: real or integer samples (they would give phase 0 or pi), masked
arrays (the mask would be dropped), and windows that are not whole numbers >= 1 or do not fit the
image (:func:`parse_window`, the one window parser).

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
import math
import re
from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt
import xarray as xr
from scipy.special import gammaln

from pairscope import _boxcar
from pairscope._types import FloatArray, Window
from pairscope.errors import InputError, WindowError
from pairscope.pairs import Pair, as_date

__all__ = [
    "DateSums",
    "estimate",
    "estimate_amplitude",
    "estimate_pairs",
    "estimate_pairs_overview",
    "expected_sample_coherence",
    "bias_corrected_coherence",
    "phase_std",
    "parse_window",
    "check_window",
]

#: What a window may be given as: ``"5x21"``, ``(5, 21)``, ``[5, 21]`` (azimuth, range).
WindowLike = str | Sequence[int] | Sequence[float] | npt.NDArray[Any]

_WINDOW_TEXT = re.compile(r"^\s*(\d+)\s*[xX]\s*(\d+)\s*$")


def _window_size(value: Any, name: str, given: Any) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise WindowError(
            f"window must be two positive integers (azimuth_looks, range_looks), e.g. (5, 21) "
            f"or '5x21'; got {given!r}"
        )
    if isinstance(value, (float, np.floating)) and not float(value).is_integer():
        raise WindowError(
            f"window sizes are numbers of samples and must be whole; got {name}={value!r} in "
            f"{given!r}: choose e.g. {name}={math.floor(value)} or {math.ceil(value)}"
        )
    return int(value)


def parse_window(value: WindowLike, shape: tuple[int, ...] | None = None) -> Window:
    """The one boxcar window parser: ``"5x21"``, ``(5, 21)`` or ``[5, 21]`` -> ``(5, 21)``
    (azimuth samples, range samples).

    Sizes must be whole numbers >= 1 (a float that is exactly integral, like ``5.0``, is taken;
    ``5.7`` is refused, never truncated). With ``shape`` (``(..., rows, cols)``) the window must
    fit the image. Raises :class:`pairscope.errors.WindowError` (a ``ValueError``) that says what
    is wrong and what to use instead, with the largest allowed size when the window is too large.
    """
    items: list[Any]
    if isinstance(value, str):
        match = _WINDOW_TEXT.match(value)
        if match is None:
            raise WindowError(
                f"window text must look like '5x21' (azimuth x range samples); got {value!r}"
            )
        items = [int(match.group(1)), int(match.group(2))]
    else:
        try:
            items = list(np.asarray(value, dtype=object).reshape(-1)) if np.ndim(value) else []
        except (TypeError, ValueError):
            items = []
        if np.ndim(value) != 1 or len(items) != 2:
            raise WindowError(
                f"window must be two positive integers (azimuth_looks, range_looks), e.g. (5, 21) "
                f"or '5x21'; got {value!r}"
            )
    wa = _window_size(items[0], "azimuth", value)
    wr = _window_size(items[1], "range", value)
    if wa < 1 or wr < 1:
        raise WindowError(
            f"window sizes must be >= 1, got azimuth={wa}, range={wr}; e.g. (5, 21)"
        )
    if shape is not None and (wa > shape[-2] or wr > shape[-1]):
        raise WindowError(
            f"window {wa} x {wr} (azimuth x range) is larger than the image "
            f"{shape[-2]} x {shape[-1]}; choose a smaller window: at most "
            f"{min(wa, shape[-2])} x {min(wr, shape[-1])}"
        )
    return wa, wr


#: The window check used elsewhere in pairscope: the same function as :func:`parse_window`.
check_window = parse_window


def _check_samples(name: str, data: Any) -> None:
    """Refuse what the estimator would silently get wrong: masked arrays and non-complex samples."""
    meta = getattr(data, "_meta", None)  # a dask array's chunk type
    if isinstance(data, np.ma.MaskedArray) or isinstance(meta, np.ma.MaskedArray):
        raise InputError(
            f"{name} is a numpy masked array: pairscope would drop its mask. Mark no-data "
            f"samples as 0 (or NaN) instead and pass a plain array, e.g. {name}.filled(0)"
        )
    # (not getattr's default: it would be computed every time, and np.asarray of a dask-backed
    # stack reads all of it, ~9 s of a full-size pair's batch run)
    found = getattr(data, "dtype", None)
    dtype = np.dtype(found if found is not None else np.asarray(data).dtype)
    if not np.issubdtype(dtype, np.complexfloating):
        raise InputError(
            f"{name} must hold complex SLC samples, got dtype {dtype}: real or integer values "
            f"would be taken as complex numbers with zero imaginary part (phase 0 or pi). Build "
            f"complex samples first, e.g. i + 1j * q or amplitude * np.exp(1j * phase)"
        )


def _check_pair_arrays(reference: Any, secondary: Any) -> tuple[Any, Any]:
    _check_samples("reference", reference)
    _check_samples("secondary", secondary)
    ref = np.asarray(reference)
    sec = np.asarray(secondary)
    if ref.ndim != 2 or sec.ndim != 2:
        raise InputError(
            f"reference and secondary must be 2-D (azimuth, range) arrays; got shapes "
            f"{ref.shape} and {sec.shape}"
        )
    if ref.shape != sec.shape:
        raise InputError(
            f"reference and secondary differ in shape: {ref.shape} vs {sec.shape}; "
            "coregister them onto one grid first"
        )
    return ref, sec


def estimate_amplitude(
    reference: npt.ArrayLike,
    secondary: npt.ArrayLike,
    window: WindowLike = (5, 21),
) -> npt.NDArray[np.float32]:
    """Multilooked amplitude of one pair, in dB (uncalibrated): ``10 log10 sqrt(I1 I2)`` with ``Ik``
    the mean intensity ``|sk|^2`` over the window's samples valid in both images (the samples the
    coherence uses). float32 of the input shape; NaN where the window holds no valid sample.

    One pass of the boxcar kernel (:func:`pairscope._boxcar.amplitude_db`: both power sums and
    the valid count, with the coherence's local accuracy), about the cost of :func:`estimate`."""
    ref, sec = _check_pair_arrays(reference, secondary)
    wa, wr = parse_window(window, ref.shape)
    return _boxcar.amplitude_db(ref, sec, (wa, wr))


def estimate(
    reference: npt.ArrayLike,
    secondary: npt.ArrayLike,
    window: WindowLike = (5, 21),
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Coherence and phase of one pair of 2-D complex images (azimuth, range).

    Returns float32 arrays of the input shape; NaN where the window holds no valid sample.
    """
    ref, sec = _check_pair_arrays(reference, secondary)
    wa, wr = parse_window(window, ref.shape)
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


class DateSums:
    """Per-date work kept between `estimate_pairs` calls on one in-memory stack.

    A caller that estimates a stack's pairs a few at a time (to write each while the next
    computes, as ``pairscope compute`` does) passes one ``DateSums`` to every call: the stack is
    made contiguous once, and each date's no-data mask key and window power sums are computed
    once for all the calls, as one call over every pair would. Results are identical to calls
    without it. Memory: the stack (complex64) plus one float32 power image per date used."""

    def __init__(self, stack: xr.DataArray, window: WindowLike) -> None:
        if not isinstance(stack, xr.DataArray) or stack.ndim != 3 or _is_dask(stack.data):
            raise InputError("DateSums needs a loaded (numpy) stack with dims ('date', azimuth, range)")
        _check_samples("stack", stack.data)
        self.window: Window = parse_window(window, stack.shape)
        self.dates = stack["date"].values.astype("datetime64[ns]")
        self.block = np.ascontiguousarray(stack.data, dtype=np.complex64)
        self.mask_key: dict[int, bytes] = {}
        self.powers: dict[int, npt.NDArray[np.float32]] = {}

    def matches(self, stack: xr.DataArray, window: Window) -> bool:
        """True when ``stack`` is the stack these sums were made from (dates, shape, window)."""
        return (tuple(window) == tuple(self.window) and tuple(stack.shape) == self.block.shape
                and np.array_equal(stack["date"].values.astype("datetime64[ns]"), self.dates))


def _pairs_into(
    block: npt.NDArray[np.complex64],
    index: npt.NDArray[np.int64],
    window: Window,
    coherence: npt.NDArray[np.float32],
    phase: npt.NDArray[np.float32],
    count: npt.NDArray[np.int32],
    mask_key: dict[int, bytes] | None = None,
    powers: dict[int, npt.NDArray[np.float32]] | None = None,
) -> None:
    """Coherence, phase and valid count of every pair of one block, written in place.

    Each date's power is box-summed once and reused by every pair whose two dates share one
    no-data mask (the usual case for a coregistered stack). A pair whose masks differ gets its
    own power sums over the samples valid in both dates, so the result is always exact.
    ``mask_key``/``powers`` (date index -> value) carry that per-date work between calls.
    """
    mask_key = {} if mask_key is None else mask_key
    for d in np.unique(index):
        if int(d) not in mask_key:
            valid = np.isfinite(block[d]) & (block[d] != 0)
            mask_key[int(d)] = hashlib.blake2b(np.packbits(valid).tobytes(), digest_size=16).digest()
    powers = {} if powers is None else powers
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


def _stack_pairs(
    stack: xr.DataArray, pairs: Iterable[Any], window: WindowLike
) -> tuple[Window, list[tuple[np.datetime64, np.datetime64]], list[int], npt.NDArray[np.int64]]:
    """Check a stack and its pairs: the window, the pairs' dates, the stack dates they use and
    each pair's (reference, secondary) index among those used dates."""
    if not isinstance(stack, xr.DataArray) or stack.ndim != 3 or stack.dims[0] != "date":
        dims = getattr(stack, "dims", None)
        raise InputError(
            f"stack must be an xarray.DataArray with dims ('date', azimuth, range); got dims {dims}"
        )
    _check_samples("stack", stack.data)
    wa, wr = parse_window(window, stack.shape)
    pair_dates = _pair_dates(pairs)
    stack_dates = stack["date"].values.astype("datetime64[ns]")
    lookup = {d: k for k, d in enumerate(stack_dates)}
    index = []
    for ref, sec in pair_dates:
        missing = [str(d)[:10] for d in (ref, sec) if d not in lookup]
        if missing:
            have = ", ".join(str(d)[:10] for d in stack_dates)
            raise InputError(f"pair date(s) {', '.join(missing)} not in the stack (dates: {have})")
        index.append((lookup[ref], lookup[sec]))
    used = sorted({d for pair in index for d in pair})
    remap = {d: k for k, d in enumerate(used)}
    local_index = np.array([(remap[i], remap[j]) for i, j in index], dtype=np.int64)
    return (wa, wr), pair_dates, used, local_index


def _pair_coords(pair_dates: list[tuple[np.datetime64, np.datetime64]]) -> dict[str, Any]:
    refs = np.array([r for r, _ in pair_dates], dtype="datetime64[ns]")
    secs = np.array([s for _, s in pair_dates], dtype="datetime64[ns]")
    dt_days = ((secs - refs) / np.timedelta64(1, "D")).astype(np.float64)
    labels = [f"{str(r)[:10].replace('-', '')}_{str(s)[:10].replace('-', '')}" for r, s in pair_dates]
    return {
        "pair": ("pair", labels),
        "reference": ("pair", refs),
        "secondary": ("pair", secs),
        "temporal_baseline": ("pair", np.rint(dt_days).astype(np.int64), {"units": "days"}),
    }


def _result(
    dims: tuple[Hashable, ...],
    coherence: Any,
    phase: Any,
    valid_count: Any,
    coords: dict[str, Any],
    attrs: dict[str, Any],
) -> xr.Dataset:
    return xr.Dataset(
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


def estimate_pairs(
    stack: xr.DataArray,
    pairs: Iterable[Any],
    window: WindowLike = (5, 21),
    *,
    bias_corrected: bool = False,
    sums: DateSums | None = None,
) -> xr.Dataset:
    """Coherence and phase for every pair of a stack, as one Dataset with a ``pair`` dimension.

    ``stack`` has dims ``("date", A, B)`` with ``A, B`` either ``azimuth, range`` or ``y, x``;
    complex samples, numpy- or dask-backed (a dask stack stays lazy: halo overlap of
    ``window // 2``). ``pairs`` are ``(reference_date, secondary_date)`` tuples or
    :class:`pairscope.pairs.Pair`. ``sums``: a :class:`DateSums` of this (loaded) stack, shared
    by successive calls so each date's power sums are made once. For a fast decimated look at
    many pairs see :func:`estimate_pairs_overview`.
    """
    (wa, wr), pair_dates, used, local_index = _stack_pairs(stack, pairs, window)
    dim_a, dim_b = stack.dims[1], stack.dims[2]
    n_pairs = len(pair_dates)
    if sums is not None and not sums.matches(stack, (wa, wr)):
        raise InputError("sums were made from another stack or window: make a DateSums of this stack")

    data: Any
    if sums is not None:  # the whole contiguous stack, indexed by its own date positions
        data = sums.block
        local_index = np.array([(used[i], used[j]) for i, j in local_index], dtype=np.int64)
    else:
        data = stack.data if used == list(range(stack.shape[0])) else stack.isel(date=used).data
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
        _pairs_into(block, local_index, (wa, wr), coherence, phase, valid_count,
                    *((sums.mask_key, sums.powers) if sums is not None else ()))
    looks = wa * wr
    if bias_corrected:
        if _is_dask(coherence):
            coherence = coherence.map_blocks(
                _bias_correct_block, valid_count, dtype=np.float32
            )
        else:
            coherence = _bias_correct_block(coherence, valid_count)

    coords = _pair_coords(pair_dates)
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
    return _result(("pair", dim_a, dim_b), coherence, phase, valid_count, coords, attrs)


# --------------------------------------------------------------------------------------------
# Overview: non-overlapping windows, straight from the sums


def _overview_block(
    block: npt.NDArray[np.complex64], index: npt.NDArray[np.int64], window: Window
) -> npt.NDArray[np.float32]:
    """All pairs of one block on the decimated grid, as one (3 * n_pairs, rows, cols) float32
    array (coherence of every pair, then phase, then valid count).

    Each date's power sums (and valid counts) are computed once. A pair uses them where they
    are its own: where its valid count equals both dates' counts, the samples valid in both are
    exactly each date's valid samples. Where not (the dates' no-data differ in a window), the
    pair gets power sums over the samples valid in both."""
    block = np.ascontiguousarray(block, dtype=np.complex64)
    n_pairs = index.shape[0]
    # |s|^2 is the cross product of a date with itself: sums 0 = power, 4 = valid count
    dates = {int(d): _boxcar.block_sums(block[d], block[d], window, False) for d in np.unique(index)}
    out: npt.NDArray[np.float32] | None = None
    for p, (i, j) in enumerate(index):
        i, j = int(i), int(j)
        sums = _boxcar.block_sums(block[i], block[j], window, with_power=False)
        own = (sums[4] != dates[i][4]) | (sums[4] != dates[j][4])
        p1 = dates[i][0]
        p2 = dates[j][0]
        if own.any():
            powers = _boxcar.block_sums(block[i], block[j], window, with_power=True)
            p1 = np.where(own, powers[2], p1)
            p2 = np.where(own, powers[3], p2)
        coh, pha, count = _boxcar.ratio(sums, p1, p2)
        if out is None:
            out = np.empty((3, n_pairs) + coh.shape, dtype=np.float32)
        out[0, p], out[1, p], out[2, p] = coh, pha, count
    assert out is not None  # _pair_dates refuses an empty pair list
    return out.reshape((3 * n_pairs,) + out.shape[2:])


def _centre_coord(coord: xr.DataArray, dims: tuple[Hashable, Hashable], window: Window) -> Any:
    """A coordinate on the decimated grid: its value at each window's centre (the mean of the
    two or four central samples when the window or a cut window has an even size; the lower
    centre for coordinates that cannot be averaged, e.g. times)."""
    values = np.asarray(coord.values)
    numeric = np.issubdtype(values.dtype, np.number)
    for dim, w in zip(dims, window, strict=True):
        if dim not in coord.dims:
            continue
        axis = coord.dims.index(dim)
        n = values.shape[axis]
        start = np.arange(0, n, w)
        stop = np.minimum(start + w, n)
        lo = (start + stop - 1) // 2
        hi = (start + stop) // 2
        a = np.take(values, lo, axis=axis)
        if numeric:
            values = (a + np.take(values, hi, axis=axis)) / 2 if np.any(hi != lo) else a
        else:
            values = a
    return (coord.dims, values, coord.attrs)


def estimate_pairs_overview(
    stack: xr.DataArray,
    pairs: Iterable[Any],
    window: WindowLike = (5, 21),
) -> xr.Dataset:
    """Coherence and phase of every pair on a decimated grid: one value per non-overlapping
    window (multilooking), computed straight from the window sums, for a fast overview (network,
    coherence matrix) of a whole stack.

    Output pixel ``(p, q)`` is the sample coherence of the ``wa x wr`` window of rows
    ``p * wa ..`` and columns ``q * wr ..`` (over the samples valid in both dates; windows at
    the far edges hold what remains of the image, ``valid_count`` says how much): the same
    estimator as :func:`estimate_pairs`, so each value has the same statistics (and bias) as a
    full-resolution one, and the pair's mean coherence agrees with the full-resolution mean up to
    sampling noise. ``stack``, ``pairs`` and ``window`` as for :func:`estimate_pairs`; numpy or
    dask (lazy; chunks are aligned to whole windows, no halo is needed). Returns a Dataset like
    :func:`estimate_pairs` (``coherence``, ``phase``, ``valid_count`` on ``("pair", A, B)``) on
    the decimated grid, with coordinates on ``A``/``B`` (1-D or 2-D, e.g. ``latitude``) taken at
    the window centres, and ``attrs["overview"] = 1``.
    """
    (wa, wr), pair_dates, used, local_index = _stack_pairs(stack, pairs, window)
    dim_a, dim_b = stack.dims[1], stack.dims[2]
    n_pairs = len(pair_dates)
    rows, cols = stack.shape[1], stack.shape[2]
    out_rows, out_cols = -(-rows // wa), -(-cols // wr)

    data = stack.data if used == list(range(stack.shape[0])) else stack.isel(date=used).data
    if _is_dask(data):
        def aligned(chunks: tuple[int, ...], w: int) -> tuple[int, ...]:
            size = max(w, w * round(max(chunks) / w))
            n = sum(chunks)
            return tuple(min(size, n - k) for k in range(0, n, size))

        data = data.astype(np.complex64).rechunk(
            {0: -1, 1: aligned(data.chunks[1], wa), 2: aligned(data.chunks[2], wr)}
        )
        res = data.map_blocks(
            _overview_block,
            local_index,
            (wa, wr),
            chunks=(
                (3 * n_pairs,),
                tuple(-(-c // wa) for c in data.chunks[1]),
                tuple(-(-c // wr) for c in data.chunks[2]),
            ),
            dtype=np.float32,
            meta=np.empty((0, 0, 0), dtype=np.float32),
        )
        res = res.reshape((3, n_pairs, out_rows, out_cols))
        coherence, phase, valid_count = res[0], res[1], res[2].astype(np.int32)
    else:
        res = _overview_block(np.asarray(data), local_index, (wa, wr))
        res = res.reshape((3, n_pairs, out_rows, out_cols))
        coherence, phase, valid_count = res[0], res[1], res[2].astype(np.int32)

    coords = _pair_coords(pair_dates)
    for name, coord in stack.coords.items():
        if name == "date" or "date" in coord.dims:
            continue
        coords[str(name)] = _centre_coord(coord, (dim_a, dim_b), (wa, wr))
    attrs = dict(stack.attrs)
    attrs.update(
        {
            "estimator": "boxcar sample coherence (CEOS-ARD GSLC eq. 18-19), valid samples "
            "only, on non-overlapping windows (decimated overview)",
            "overview": 1,
            "window": f"{wa}x{wr}",
            "window_azimuth": wa,
            "window_range": wr,
            "looks": wa * wr,
            "decimation": f"{wa}x{wr}",
            "bias_corrected": 0,
        }
    )
    return _result(("pair", dim_a, dim_b), coherence, phase, valid_count, coords, attrs)


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
    """E|gamma_hat| by Touzi's series (exact; its term count grows like L / (1 - g^2))."""
    if g >= 1.0:
        return 1.0
    L = float(looks)
    log_front = float(gammaln(L) + gammaln(1.5) - gammaln(L + 0.5))
    return float(np.exp(log_front + _log_hyp3f2_series(g, looks) + L * np.log1p(-g * g)))


def _lgamma_diff(x: npt.ArrayLike, d: npt.ArrayLike) -> FloatArray:
    """log Gamma(x + d) - log Gamma(x) for x > 0, x + d > 0, accurate for huge x too: where both
    arguments are >= 1e4, Stirling's series to 1/x^3 (error < 1e-22) in a form without the
    cancellation of a plain gammaln difference."""
    x = np.asarray(x, dtype=np.float64)
    d = np.asarray(d, dtype=np.float64)
    x, d = np.broadcast_arrays(x, d)
    out = np.empty(x.shape, dtype=np.float64)
    big = (x >= 1e4) & (x + d >= 1e4)
    xs, ds = x[~big], d[~big]
    out[~big] = gammaln(xs + ds) - gammaln(xs)
    xb, db = x[big], d[big]
    yb = xb + db
    out[big] = (
        (xb - 0.5) * np.log1p(db / xb)
        + db * np.log(yb)
        - db
        + (1.0 / yb - 1.0 / xb) / 12.0
        - (1.0 / yb**3 - 1.0 / xb**3) / 360.0
    )
    return out


def _expected_mixture(g: npt.ArrayLike, looks: float) -> FloatArray:
    """E|gamma_hat| for L looks at each g, with a cost that does not grow with L.

    Touzi's density of the sample coherence, ``2 (L-1) (1-g^2)^L x (1-x^2)^(L-2)
    2F1(L, L; 1; g^2 x^2)``, expanded term by term, is a mixture: ``x^2 ~ Beta(K + 1, L - 1)``
    with ``K`` negative binomial, ``P(K = k) = (L)_k / k! g^(2k) (1 - g^2)^L``. Hence (exactly)
    ``E|gamma_hat| = E h(K)`` with ``h(k) = E sqrt(Beta(k + 1, L - 1)) = Gamma(k + 3/2)
    Gamma(k + L) / (Gamma(k + 1) Gamma(k + L + 1/2))``. K has mean ``mu = L g^2 / (1 - g^2)``
    and standard deviation ``sigma = sqrt(L) g / (1 - g^2)``.

    Where K is spread wide (``sigma >= 3``) and keeps away from 0 (``P(K = 0)`` below 1e-20 of
    ``P(K = mode)``), the sum over k is replaced by its integral over k, the large-L asymptotic
    form: by Poisson summation the two differ by O(exp(-2 pi^2 sigma^2)), below 1e-70. The
    integral is taken with the trapezoid rule on 241 points over ``mu - 16 sigma .. mu +
    32 sigma`` (steps of sigma / 5; the tails beyond hold less than 1e-50). Elsewhere the terms
    are summed (K is then small: at most a few thousand terms for L > 64). Logs of Gamma ratios
    come from :func:`_lgamma_diff`. Agrees with the series to ~1e-10 (see the tests).
    """
    g = np.atleast_1d(np.asarray(g, dtype=np.float64))
    L = float(looks)
    out = np.empty(g.shape, dtype=np.float64)
    out[g >= 1.0] = 1.0
    out[g <= 0.0] = np.exp(_lgamma_diff(1.0, 0.5) - _lgamma_diff(L, 0.5))
    inside = (g > 0.0) & (g < 1.0)
    z = g[inside] ** 2
    eps = 1.0 - z
    mu = L * z / eps
    sigma = np.sqrt(L * z) / eps
    mode = np.floor(max(L - 1.0, 0.0) * z / eps)

    def log_weight(k: FloatArray, mode: FloatArray, log_z: FloatArray) -> FloatArray:
        dk = k - mode  # log P(K = k) - log P(K = mode)
        return _lgamma_diff(L + mode, dk) - _lgamma_diff(mode + 1.0, dk) + dk * log_z

    def mean_h(k: FloatArray, logw: FloatArray) -> FloatArray:
        w = np.exp(logw - logw.max(axis=-1, keepdims=True))
        h = np.exp(_lgamma_diff(k + 1.0, 0.5) - _lgamma_diff(k + L, 0.5))
        return np.asarray(np.sum(w * h, axis=-1) / np.sum(w, axis=-1))

    log_z = np.log(z)
    edge = log_weight(np.zeros_like(z), mode, log_z)
    wide = (sigma >= 3.0) & (edge < -46.0)
    values = np.empty(z.shape, dtype=np.float64)
    if wide.any():
        t = np.linspace(0.0, 1.0, 241)
        lo = np.maximum(mu[wide] - 16.0 * sigma[wide], 0.0)
        hi = mu[wide] + 32.0 * sigma[wide]
        k = lo[:, None] + (hi - lo)[:, None] * t[None, :]
        values[wide] = mean_h(k, log_weight(k, mode[wide, None], log_z[wide, None]))
    for n in np.flatnonzero(~wide):
        k = np.arange(0.0, math.ceil(mu[n] + 40.0 * sigma[n] + 40.0) + 1.0)
        values[n] = mean_h(k, log_weight(k, mode[n], log_z[n]))
    out[inside] = values
    return out


#: Up to this many looks the expectation is Touzi's series itself; beyond, the mixture form of
#: :func:`_expected_mixture` (same values, cost independent of L).
_SERIES_LOOKS = 64
#: Curves for up to this many looks are computed for each look count; beyond, they are
#: interpolated (in 1 / sqrt(L)) between curves on a geometric grid of look counts, 16 per
#: doubling, so that memory and time stay bounded whatever the look counts asked for.
_EXACT_CURVE_LOOKS = 256
_PER_DOUBLING = 16

# Grid for the expectation curve: dense near 1 where it bends.
_GRID = np.unique(
    np.concatenate([np.linspace(0.0, 0.98, 491), 1.0 - np.geomspace(0.02, 1e-3, 60)])
)


def _curve_values(looks: float) -> FloatArray:
    if looks <= _SERIES_LOOKS and float(looks).is_integer():
        values = np.array([_expected_scalar(float(g), int(looks)) for g in _GRID])
    else:
        values = _expected_mixture(_GRID, looks)
    values = np.append(values, 1.0)
    return np.maximum.accumulate(values)


@functools.lru_cache(maxsize=256)
def _curve_exact(looks: int) -> FloatArray:
    return _curve_values(looks)


@functools.lru_cache(maxsize=256)
def _curve_on_grid(step: int) -> FloatArray:
    return _curve_values(_EXACT_CURVE_LOOKS * 2.0 ** (step / _PER_DOUBLING))


def _curve(looks: int) -> FloatArray:
    """E|gamma_hat| on :func:`_grid` for ``looks`` looks (at most 512 cached curves of 4 kB)."""
    if looks <= _EXACT_CURVE_LOOKS:
        return _curve_exact(looks)
    x = _PER_DOUBLING * math.log2(looks / _EXACT_CURVE_LOOKS)
    step = math.floor(x)
    if x == step:
        return _curve_on_grid(step)
    u = looks**-0.5
    u0 = (_EXACT_CURVE_LOOKS * 2.0 ** (step / _PER_DOUBLING)) ** -0.5
    u1 = (_EXACT_CURVE_LOOKS * 2.0 ** ((step + 1) / _PER_DOUBLING)) ** -0.5
    t = (u0 - u) / (u0 - u1)
    return np.maximum.accumulate((1.0 - t) * _curve_on_grid(step) + t * _curve_on_grid(step + 1))


def _grid() -> FloatArray:
    return np.append(_GRID, 1.0)


def _check_looks(looks: Any) -> int:
    if (
        isinstance(looks, (bool, np.bool_))
        or not isinstance(looks, (int, float, np.integer, np.floating))
        or not float(looks).is_integer()
        or looks < 1
    ):
        raise InputError(
            f"looks must be a whole number >= 1 (samples per window, e.g. 5 * 21 = 105); "
            f"got {looks!r}"
        )
    return int(looks)


def expected_sample_coherence(true_coherence: npt.ArrayLike, looks: int) -> FloatArray:
    """E|gamma_hat| for ``looks`` independent looks (Touzi et al. 1999, eq. 11).

    ``Gamma(L) Gamma(3/2) / Gamma(L + 1/2) * 3F2(3/2, L, L; L + 1/2, 1; g^2) * (1 - g^2)^L``,
    evaluated exactly on a grid of g (by the series up to 64 looks, by its negative binomial
    mixture form beyond, see :func:`_expected_mixture`), interpolated linearly in g (dense near
    1; above 0.999 the bias is below 1e-6) and, beyond 256 looks, in 1 / sqrt(L) between look
    counts 2^(1/16) apart (error below 1e-5). Any look count takes well under a second; curves
    are cached. NaN stays NaN.
    """
    L = _check_looks(looks)
    g = np.asarray(true_coherence, dtype=np.float64)
    if np.any((g < 0) | (g > 1)):
        raise InputError(
            f"true coherence must lie in [0, 1]; got values from {np.nanmin(g):.6g} to "
            f"{np.nanmax(g):.6g}"
        )
    return np.asarray(np.interp(g, _grid(), _curve(L)), dtype=np.float64)


def bias_corrected_coherence(sample_coherence: npt.ArrayLike, looks: int) -> FloatArray:
    """Invert :func:`expected_sample_coherence`: the true coherence whose expectation is given.

    Values below the expectation at zero coherence (pure noise) map to 0; NaN stays NaN.
    """
    L = _check_looks(looks)
    s = np.asarray(sample_coherence, dtype=np.float64)
    curve = _curve(L)
    grid = _grid()
    # Make the curve strictly increasing for the inverse interpolation.
    keep = np.concatenate([[True], np.diff(curve) > 0])
    return np.asarray(np.interp(s, curve[keep], grid[keep], left=0.0, right=1.0))


def phase_std(coherence: npt.ArrayLike, looks: float) -> FloatArray:
    """Cramer-Rao bound of the interferometric phase: sqrt(1 - g^2) / (g sqrt(2 L)) radians.

    Tight at high coherence and many looks; at low coherence the real spread is larger and
    saturates at pi / sqrt(3) (uniform phase), which this bound does not show. ``coherence``
    must lie in [0, 1] (NaN stays NaN; 0 gives infinity); ``looks`` >= 1.
    """
    if (
        isinstance(looks, (bool, np.bool_))
        or not isinstance(looks, (int, float, np.integer, np.floating))
        or not looks >= 1
        or not math.isfinite(looks)
    ):
        raise InputError(f"looks must be a number >= 1, got {looks!r}")
    g = np.asarray(coherence, dtype=np.float64)
    if np.any((g < 0) | (g > 1)):
        raise InputError(
            f"coherence must lie in [0, 1] for the phase standard deviation; got values from "
            f"{np.nanmin(g):.6g} to {np.nanmax(g):.6g}"
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.asarray(np.sqrt(1.0 - g * g) / (g * np.sqrt(2.0 * looks)))
