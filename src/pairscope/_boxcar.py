"""Fused boxcar kernels behind :mod:`pairscope.coherence`.

One pass over the data computes, for every output pixel, the window sums of the cross product
``s1 * conj(s2)``, of the two powers ``|s1|^2``, ``|s2|^2`` and of the number of valid samples, and
turns them into coherence and phase. The window sums are separable: each image row is summed along
range with a prefix sum (float64), and a running sum down the rows (float64) adds the newest row and
drops the oldest. Rows are processed in independent blocks, one per thread (``numba.prange``).

A sample is valid when both images are finite and non-zero there (``0 + 0j`` is the no-data value of
SLC products and of openEO's zero-filled borders). Sums run over valid samples only, so a window that
reaches over the border or into no-data is simply a smaller window, and ``valid_count`` says how small.

Window convention for a window of ``w`` samples: ``w // 2`` samples before the centre and
``w - 1 - w // 2`` after it (so an even window reaches one further back than forward).

Accuracy: all sums are float64. Running sums carry an absolute error of about 1e-16 times the
largest power that passed through the window nearby, i.e. a relative error below 1e-6 for anything
within ten orders of magnitude of its neighbours (SLC amplitudes span far less).

When numba is not importable a pure-numpy implementation with the same semantics is used.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from pairscope._types import ComplexArray, Float32Array

try:  # pragma: no cover - exercised by the import itself
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is a declared dependency
    HAVE_NUMBA = False

__all__ = ["HAVE_NUMBA", "half_widths", "coherence_sums", "power_sums", "fast_atan2"]


# Rows per parallel block: large enough that the rows re-summed at block edges (window - 1 per
# block) are cheap, small enough that both cores get several blocks.
_BLOCK_ROWS = 64


def half_widths(window: int) -> tuple[int, int]:
    """Samples before and after the centre for a boxcar of ``window`` samples."""
    before = window // 2
    return before, window - 1 - before


# atan(t) / t as a polynomial in t^2 on |t| <= tan(pi / 8) (least squares, max error 3e-13 rad).
_ATAN_COEFFS = (
    0.9999999999992716,
    -0.3333333327840884,
    0.19999993190217222,
    -0.14285391290804936,
    0.11103535284583001,
    -0.08993219490282366,
    0.06977011485882359,
    -0.037701798744198295,
)
_TAN_PI_8 = 0.41421356237309503

# Let LLVM contract, reassociate reciprocals and use fast approximations of libm calls, but keep
# NaN / infinity semantics: the validity test relies on isfinite. Kernels use numba's "numpy" error
# model (IEEE division, no ZeroDivisionError check), without which no loop with a division
# vectorises.
_FAST = {"nsz", "arcp", "contract", "afn"}

if HAVE_NUMBA:
    _C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7 = _ATAN_COEFFS

    @numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy", inline="always")
    def fast_atan2(y: float, x: float) -> float:
        """atan2 to 1e-12 rad without branches (selects written as arithmetic), in (-pi, pi].

        ``y == -0.0`` with ``x < 0`` gives +pi, as the phase convention of the estimator asks.
        """
        ax = abs(x)
        ay = abs(y)
        swap = np.float64(ay > ax)
        big = ax + swap * (ay - ax)
        small = ay + swap * (ax - ay)
        # Reduce t = small / big in [0, 1] to |u| <= tan(pi/8) with one division:
        # atan(t) = pi/4 + atan((t - 1) / (t + 1)) = pi/4 + atan((small - big) / (small + big)).
        hi = np.float64(small > _TAN_PI_8 * big)
        u = (small - hi * big) / (big + hi * small + 1e-300)
        u2 = u * u
        poly = _C7
        poly = poly * u2 + _C6
        poly = poly * u2 + _C5
        poly = poly * u2 + _C4
        poly = poly * u2 + _C3
        poly = poly * u2 + _C2
        poly = poly * u2 + _C1
        poly = poly * u2 + _C0
        a = u * poly + hi * 0.7853981633974483
        a = a + swap * (1.5707963267948966 - 2.0 * a)
        a = a + np.float64(x < 0.0) * (3.141592653589793 - 2.0 * a)
        return a - np.float64(y < 0.0) * 2.0 * a

    def _make_vertical(with_power: bool):  # type: ignore[no-untyped-def]
        def vertical(ref, sec, acc, sign):  # type: ignore[no-untyped-def]
            """acc[q, :] += sign * quantity q of one row (column sums of the azimuth window).

            Quantities: 0 cross real, 1 cross imaginary (of ref * conj(sec)), 2 power ref,
            3 power sec, 4 valid count. Invalid samples contribute exactly zero, selected without
            branches so the loop vectorises; a dropped row is recomputed bit for bit, so add and
            drop cancel exactly.
            """
            a0 = acc[0]
            a1 = acc[1]
            a2 = acc[2]
            a3 = acc[3]
            a4 = acc[4]
            # ref and sec are float32 views of complex64 rows: (re, im) interleaved, which
            # LLVM vectorises (complex element access does not).
            for j in range(ref.shape[0] // 2):
                ar = np.float64(ref[2 * j])
                ai = np.float64(ref[2 * j + 1])
                br = np.float64(sec[2 * j])
                bi = np.float64(sec[2 * j + 1])
                ok = (
                    np.isfinite(ar)
                    & np.isfinite(ai)
                    & np.isfinite(br)
                    & np.isfinite(bi)
                    & ((ar != 0.0) | (ai != 0.0))
                    & ((br != 0.0) | (bi != 0.0))
                )
                a0[j] += sign * (ar * br + ai * bi) if ok else 0.0
                a1[j] += sign * (ai * br - ar * bi) if ok else 0.0
                if with_power:  # a compile-time constant: the branch is folded away
                    a2[j] += sign * (ar * ar + ai * ai) if ok else 0.0
                    a3[j] += sign * (br * br + bi * bi) if ok else 0.0
                a4[j] += sign if ok else 0.0

        # Closures from one factory share a qualified name, and numba's disk cache keys on it:
        # give each variant its own name so that they do not overwrite each other's entries.
        vertical.__qualname__ = f"_vertical_power{int(with_power)}"
        return numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")(vertical)

    @numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
    def _horizontal(acc, sums, rlo, rhi):  # type: ignore[no-untyped-def]
        """sums[q, j] = sum of acc[q, j - rlo : j + rhi + 1] (truncated), for the five quantities.

        Running sums in float64, the five chains interleaved in one loop so that their add
        latencies overlap; the interior loop has no bounds tests.
        """
        n = acc.shape[1]
        a0 = acc[0]
        a1 = acc[1]
        a2 = acc[2]
        a3 = acc[3]
        a4 = acc[4]
        s0 = sums[0]
        s1 = sums[1]
        s2 = sums[2]
        s3 = sums[3]
        s4 = sums[4]
        r0 = 0.0
        r1 = 0.0
        r2 = 0.0
        r3 = 0.0
        r4 = 0.0
        for k in range(min(rhi, n)):
            r0 += a0[k]
            r1 += a1[k]
            r2 += a2[k]
            r3 += a3[k]
            r4 += a4[k]
        j_mid = min(rlo + 1, n)  # from here on the dropped column exists
        j_end = max(n - rhi, j_mid)  # up to here the added column exists
        for j in range(j_mid):
            k = j + rhi
            if k < n:
                r0 += a0[k]
                r1 += a1[k]
                r2 += a2[k]
                r3 += a3[k]
                r4 += a4[k]
            s0[j] = r0
            s1[j] = r1
            s2[j] = r2
            s3[j] = r3
            s4[j] = r4
        for j in range(j_mid, j_end):
            k = j + rhi
            d = j - rlo - 1
            r0 += a0[k] - a0[d]
            r1 += a1[k] - a1[d]
            r2 += a2[k] - a2[d]
            r3 += a3[k] - a3[d]
            r4 += a4[k] - a4[d]
            s0[j] = r0
            s1[j] = r1
            s2[j] = r2
            s3[j] = r3
            s4[j] = r4
        for j in range(j_end, n):
            k = j + rhi
            if k < n:
                r0 += a0[k]
                r1 += a1[k]
                r2 += a2[k]
                r3 += a3[k]
                r4 += a4[k]
            d = j - rlo - 1
            if d >= 0:
                r0 -= a0[d]
                r1 -= a1[d]
                r2 -= a2[d]
                r3 -= a3[d]
                r4 -= a4[d]
            s0[j] = r0
            s1[j] = r1
            s2[j] = r2
            s3[j] = r3
            s4[j] = r4

    @numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
    def _finish(s0, s1, s4, p1, p2, coh, pha, count):  # type: ignore[no-untyped-def]
        """Coherence, phase and count of one output row from its window sums (vectorised):
        cross product ``s0 + i s1``, powers ``p1``, ``p2``, valid count ``s4``."""
        nan = np.float32(np.nan)
        for j in range(s0.shape[0]):
            n = s4[j]
            count[j] = np.int32(n + 0.5)
            p = np.float64(p1[j]) * np.float64(p2[j])
            cr = s0[j]
            ci = s1[j]
            bad = (n < 0.5) | (p <= 0.0)
            g = np.sqrt((cr * cr + ci * ci) / p)
            g = g if g < 1.0 else 1.0
            coh[j] = nan if bad else np.float32(g)
            pha[j] = nan if bad else np.float32(fast_atan2(ci, cr))

    # Module-level dispatchers (not closures) so that the parallel kernel caches on disk.
    _vertical_all = _make_vertical(True)
    _vertical_cross = _make_vertical(False)

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def _vertical(ref, sec, acc, sign, with_power):  # type: ignore[no-untyped-def]
        if with_power:
            _vertical_all(ref, sec, acc, sign)
        else:
            _vertical_cross(ref, sec, acc, sign)

    @numba.njit(cache=True, parallel=True, nogil=True, fastmath=_FAST, error_model="numpy")
    def _kernel(  # type: ignore[no-untyped-def]
        ref, sec, wa, wr, pow1, pow2, mode, coh, pha, count
    ):
        """mode 0: coherence with its own power sums; 1: with given ``pow1``/``pow2`` (shared
        per-date sums, powers not summed again); 2: power sums of ``ref`` over samples valid in
        both, written to ``coh``. ``ref``/``sec`` are float32 views of complex64 rows."""
        nrows = ref.shape[0]
        ncols = ref.shape[1] // 2
        alo = wa // 2
        ahi = wa - 1 - alo
        rlo = wr // 2
        rhi = wr - 1 - rlo
        with_power = mode != 1
        nblocks = (nrows + _BLOCK_ROWS - 1) // _BLOCK_ROWS
        for blk in numba.prange(nblocks):
            r0 = blk * _BLOCK_ROWS
            r1 = min(r0 + _BLOCK_ROWS, nrows)
            acc = np.zeros((5, ncols), dtype=np.float64)
            sums = np.empty((5, ncols), dtype=np.float64)
            for r in range(max(r0 - alo, 0), min(r0 + ahi, nrows - 1) + 1):
                _vertical(ref[r], sec[r], acc, 1.0, with_power)
            for i in range(r0, r1):
                if i > r0:
                    drop = i - alo - 1
                    if drop >= 0:
                        _vertical(ref[drop], sec[drop], acc, -1.0, with_power)
                    add = i + ahi
                    if add < nrows:
                        _vertical(ref[add], sec[add], acc, 1.0, with_power)
                _horizontal(acc, sums, rlo, rhi)
                if mode == 2:
                    for j in range(ncols):
                        coh[i, j] = sums[2, j]
                elif mode == 1:
                    _finish(sums[0], sums[1], sums[4], pow1[i], pow2[i], coh[i], pha[i], count[i])
                else:
                    _finish(sums[0], sums[1], sums[4], sums[2], sums[3], coh[i], pha[i], count[i])


def _valid(img: ComplexArray) -> npt.NDArray[np.bool_]:
    valid: npt.NDArray[np.bool_] = np.isfinite(img) & (img != 0)
    return valid


def _box_sum_numpy(values: npt.NDArray[np.float64], wa: int, wr: int) -> npt.NDArray[np.float64]:
    """Truncated boxcar window sums with cumulative sums along both axes (numpy fallback)."""
    out = values
    for axis, w in ((0, wa), (1, wr)):
        lo, hi = half_widths(w)
        n = out.shape[axis]
        c = np.cumsum(out, axis=axis)
        c = np.concatenate([np.zeros_like(np.take(c, [0], axis=axis)), c], axis=axis)
        idx = np.arange(n)
        a = np.clip(idx - lo, 0, n)
        b = np.clip(idx + hi + 1, 0, n)
        out = np.take(c, b, axis=axis) - np.take(c, a, axis=axis)
    return out


def _coherence_numpy(
    ref: ComplexArray,
    sec: ComplexArray,
    wa: int,
    wr: int,
    pow1: Float32Array | None,
    pow2: Float32Array | None,
) -> tuple[Float32Array, Float32Array, npt.NDArray[np.int32]]:
    ok = _valid(ref) & _valid(sec)
    r = np.where(ok, ref, 0).astype(np.complex128)
    s = np.where(ok, sec, 0).astype(np.complex128)
    cross = r * np.conj(s)
    cr = _box_sum_numpy(cross.real, wa, wr)
    ci = _box_sum_numpy(cross.imag, wa, wr)
    n = _box_sum_numpy(ok.astype(np.float64), wa, wr)
    if pow1 is None or pow2 is None:
        p1 = _box_sum_numpy(np.abs(r) ** 2, wa, wr)
        p2 = _box_sum_numpy(np.abs(s) ** 2, wa, wr)
    else:
        p1 = pow1.astype(np.float64)
        p2 = pow2.astype(np.float64)
    bad = (n < 0.5) | (p1 <= 0) | (p2 <= 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.minimum(np.hypot(cr, ci) / np.sqrt(p1 * p2), 1.0)
    ph = np.arctan2(ci, cr)
    ph[ph <= -np.pi] = np.pi
    g[bad] = np.nan
    ph[bad] = np.nan
    return g.astype(np.float32), ph.astype(np.float32), np.rint(n).astype(np.int32)


def coherence_sums(
    ref: ComplexArray,
    sec: ComplexArray,
    window: tuple[int, int],
    pow1: Float32Array | None = None,
    pow2: Float32Array | None = None,
    out: tuple[Float32Array, Float32Array, npt.NDArray[np.int32]] | None = None,
) -> tuple[Float32Array, Float32Array, npt.NDArray[np.int32]]:
    """Coherence, phase and valid count of one pair on one 2-D block.

    ``pow1``/``pow2`` are window power sums computed beforehand (shared between pairs); when given
    they must have been computed over the same valid samples as this pair. ``out`` receives the
    results in place (C-contiguous float32, float32, int32 arrays of the block's shape).
    """
    wa, wr = window
    ref = np.ascontiguousarray(ref, dtype=np.complex64)
    sec = np.ascontiguousarray(sec, dtype=np.complex64)
    if not HAVE_NUMBA:  # pragma: no cover - numba is a declared dependency
        return _coherence_numpy(ref, sec, wa, wr, pow1, pow2)
    if out is None:
        coh = np.empty(ref.shape, dtype=np.float32)
        pha = np.empty(ref.shape, dtype=np.float32)
        count = np.empty(ref.shape, dtype=np.int32)
    else:
        coh, pha, count = out
    have_power = pow1 is not None and pow2 is not None
    dummy = np.zeros((1, 1), dtype=np.float32)
    _kernel(
        ref.view(np.float32),
        sec.view(np.float32),
        wa,
        wr,
        np.ascontiguousarray(pow1, dtype=np.float32) if have_power else dummy,
        np.ascontiguousarray(pow2, dtype=np.float32) if have_power else dummy,
        1 if have_power else 0,
        coh,
        pha,
        count,
    )
    return coh, pha, count


def power_sums(img: ComplexArray, mask_from: ComplexArray, window: tuple[int, int]) -> Float32Array:
    """Window sums of ``|img|^2`` over samples valid in both ``img`` and ``mask_from``."""
    wa, wr = window
    img = np.ascontiguousarray(img, dtype=np.complex64)
    mask_from = np.ascontiguousarray(mask_from, dtype=np.complex64)
    if not HAVE_NUMBA:  # pragma: no cover
        ok = _valid(img) & _valid(mask_from)
        p = np.where(ok, np.abs(img.astype(np.complex128)) ** 2, 0.0)
        return _box_sum_numpy(p, wa, wr).astype(np.float32)
    out = np.empty(img.shape, dtype=np.float32)
    dummy_f = np.zeros((1, 1), dtype=np.float32)
    dummy_i = np.zeros((1, 1), dtype=np.int32)
    _kernel(
        img.view(np.float32), mask_from.view(np.float32), wa, wr, dummy_f, dummy_f, 2, out, dummy_f,
        dummy_i,
    )
    return out
