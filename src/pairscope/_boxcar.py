"""Fused boxcar kernels behind :mod:`pairscope.coherence`.

One pass over the data computes, for every output pixel, the window sums of the cross product
``s1 * conj(s2)``, of the two powers ``|s1|^2``, ``|s2|^2`` and of the number of valid samples, and
turns them into coherence and phase. The window sums are separable and built from running sums
(float64) that restart at every block of ``w`` samples, blocks counted from a tile's first row and
column: a window ending in block ``n`` is (running sum of block ``n`` up to the window's last
sample) + (total of block ``n - 1`` minus its running sum up to the sample before the window).
Down the rows, each row's running sums are summed along range in this way, and an output row
combines three such rows. The valid count, whole numbers, is summed exactly. Tiles of rows x
columns run in parallel (``numba.prange``). The same pass, summing only the powers and the count,
gives the multilooked amplitude in dB (:func:`amplitude_db`) and the power sums alone
(:func:`power_sums`).

A sample is valid when both images are finite and non-zero there (``0 + 0j`` is the no-data value of
SLC products and of openEO's zero-filled borders). Sums run over valid samples only, so a window that
reaches over the border or into no-data is simply a smaller window, and ``valid_count`` says how small.

Window convention for a window of ``w`` samples: ``w // 2`` samples before the centre and
``w - 1 - w // 2`` after it (so an even window reaches one further back than forward).

Accuracy (local): only the samples of an output's window and of at most one window length before
it (``wa`` rows up, ``wr`` columns left) enter its arithmetic; nothing further away does, however
bright. Each sum carries an absolute error of a few 1e-16 times the power in that region, so
coherence and phase match direct window sums to ~1e-16 times (power within one window length) /
(power in the window): 1e-5 unless a neighbour within one window length is ~1e10 times brighter than
the window itself (a window at a no-data edge counts only its valid samples). The amplitude
``5 log10(p1 p2 / n^2)`` (dB) moves by 2.17 eps for a relative error eps of either power sum.

When numba is not importable a pure-numpy implementation with the same semantics and the same
block-restarted sums is used.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from pairscope._types import ComplexArray, Float32Array, FloatArray

try:  # pragma: no cover - exercised by the import itself
    import numba
    from llvmlite import ir as llvm_ir
    from numba.core import types
    from numba.extending import intrinsic

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover - numba is a declared dependency
    HAVE_NUMBA = False

__all__ = [
    "HAVE_NUMBA",
    "half_widths",
    "block_sums",
    "ratio",
    "coherence_sums",
    "power_sums",
    "amplitude_db",
    "fast_atan2",
    "fast_log10",
]


# A parallel work item is a tile of _TILE_ROWS x _TILE_COLS output pixels: large enough that the
# rows and columns re-read at its edges (window - 1 of each) are cheap, small enough that its
# float64 running sums stay in the core's cache and both cores get many tiles.
_TILE_ROWS = 256
_TILE_COLS = 1024


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
        """atan2 to 1e-12 rad without branches (selects, which vectorise), in (-pi, pi].

        ``y == -0.0`` with ``x < 0`` gives +pi, as the phase convention of the estimator asks.
        """
        ax = abs(x)
        ay = abs(y)
        swap = ay > ax
        big = ay if swap else ax
        small = ax if swap else ay
        # Reduce t = small / big in [0, 1] to |u| <= tan(pi/8) with one division:
        # atan(t) = pi/4 + atan((t - 1) / (t + 1)) = pi/4 + atan((small - big) / (small + big)).
        hi = small > _TAN_PI_8 * big
        u = ((small - big) if hi else small) / (((big + small) if hi else big) + 1e-300)
        u2 = u * u
        poly = _C7
        poly = poly * u2 + _C6
        poly = poly * u2 + _C5
        poly = poly * u2 + _C4
        poly = poly * u2 + _C3
        poly = poly * u2 + _C2
        poly = poly * u2 + _C1
        poly = poly * u2 + _C0
        a = u * poly + (0.7853981633974483 if hi else 0.0)
        a = (1.5707963267948966 - a) if swap else a
        a = (3.141592653589793 - a) if x < 0.0 else a
        return -a if y < 0.0 else a

    def _bits_typer(typingctx, x):  # type: ignore[no-untyped-def]
        """The IEEE bits of a float64 as a uint64 (a bitcast, which vectorises)."""
        if x != types.float64:
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.bitcast(args[0], llvm_ir.IntType(64))

        return types.uint64(types.float64), codegen

    def _from_bits_typer(typingctx, u):  # type: ignore[no-untyped-def]
        """The float64 whose IEEE bits are the uint64 ``u`` (a bitcast)."""
        if u != types.uint64:
            return None

        def codegen(context, builder, signature, args):  # type: ignore[no-untyped-def]
            return builder.bitcast(args[0], llvm_ir.DoubleType())

        return types.float64(types.uint64), codegen

    # Typed as Any: numba's stubs describe an intrinsic's Python-side call, not its use in a kernel.
    _bits: Any = intrinsic(_bits_typer)
    _from_bits: Any = intrinsic(_from_bits_typer)

    _EXP_MAGIC = np.uint64(0x4330000000000000)  # the bits of 2^52
    _MANTISSA = np.uint64(0x000FFFFFFFFFFFFF)
    _ONE = np.uint64(0x3FF0000000000000)  # the bits of 1.0
    _L0, _L1, _L2, _L3, _L4, _L5, _L6, _L7, _L8, _L9 = (1.0 / (2 * k + 1) for k in range(10))

    @numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy", inline="always")
    def fast_log10(v: float) -> float:
        """log10 of a positive normal float64 to ~1e-15 relative (of the log), without branches
        or calls, so that a loop over it vectorises (numba has no vector libm here). Garbage,
        not NaN, for zero, negative, subnormal, infinite or NaN ``v``: callers select those away.

        ``v = m 2^e`` (``m`` in [sqrt(1/2), sqrt(2))) read from the bits; ``ln m = 2 atanh(t)``,
        ``t = (m - 1) / (m + 1)``, ``|t| <= 0.172``: the series to ``t^19`` (its next term is
        below 1e-17). The exponent is converted exactly through the bits of ``2^52 + e``.
        """
        u = _bits(v)
        e = _from_bits((u >> np.uint64(52)) | _EXP_MAGIC) - 4503599627371519.0  # 2^52 + 1023
        m = _from_bits((u & _MANTISSA) | _ONE)
        big = m > 1.4142135623730951
        m = m * 0.5 if big else m
        e = e + 1.0 if big else e
        t = (m - 1.0) / (m + 1.0)
        z = t * t
        poly = _L9
        poly = poly * z + _L8
        poly = poly * z + _L7
        poly = poly * z + _L6
        poly = poly * z + _L5
        poly = poly * z + _L4
        poly = poly * z + _L3
        poly = poly * z + _L2
        poly = poly * z + _L1
        poly = poly * z + _L0
        ln = 2.0 * t * poly + e * 0.6931471805599453
        return float(ln * 0.4342944819032518)

    def _make_row(with_cross: bool, with_power: bool):  # type: ignore[no-untyped-def]
        def row(ref, sec, prev, p, first):  # type: ignore[no-untyped-def]
            """p[k, :] = prev[k, :] + quantity k of one image row (``prev`` ignored on the first
            row of a block): the azimuth running sum from the block's first row.

            ``ref``, ``sec``: float32 views of the row's complex64 columns, (re, im) interleaved,
            which LLVM vectorises (complex element access does not). Quantities: 0 cross real,
            1 cross imaginary (of ref * conj(sec)) (``with_cross``), 2 power ref, 3 power sec
            (``with_power``), 4 valid count (always). Invalid samples contribute exactly zero,
            selected without branches.
            """
            p0 = p[0]
            p1 = p[1]
            p2 = p[2]
            p3 = p[3]
            p4 = p[4]
            q0 = prev[0]
            q1 = prev[1]
            q2 = prev[2]
            q3 = prev[3]
            q4 = prev[4]
            for j in range(p.shape[1]):
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
                p4[j] = (1.0 if ok else 0.0) + (0.0 if first else q4[j])
                if with_cross:  # compile-time constants: the branches are folded away
                    p0[j] = ((ar * br + ai * bi) if ok else 0.0) + (0.0 if first else q0[j])
                    p1[j] = ((ai * br - ar * bi) if ok else 0.0) + (0.0 if first else q1[j])
                if with_power:
                    p2[j] = ((ar * ar + ai * ai) if ok else 0.0) + (0.0 if first else q2[j])
                    p3[j] = ((br * br + bi * bi) if ok else 0.0) + (0.0 if first else q3[j])

        # Closures from one factory share a qualified name, and numba's disk cache keys on it:
        # give each variant its own name so that they do not overwrite each other's entries.
        row.__qualname__ = f"_row_cross{int(with_cross)}_power{int(with_power)}"
        return numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")(row)

    def _make_horizontal(with_cross: bool, with_power: bool):  # type: ignore[no-untyped-def]
        def horizontal(v, out, wr, o1):  # type: ignore[no-untyped-def]
            """out[k, j] = sum of v[k, j - rlo : j + rhi + 1] (truncated to the row) for the
            quantities, on columns j < max(o1, m - rhi).

            Blocks of ``wr`` columns from column 0. The window ending at column b of block n is
            x + r: x the running sum of block n up to b, r the total of block n - 1 minus its
            running sum up to b - wr. Both restart at every block start (r from x's final
            value, x from zero), so only the window and at most ``wr`` samples before it enter
            a sum. The valid count (whole numbers, summed exactly) is one plain running sum.
            The quantities' chains run interleaved in one loop so that their add latencies
            overlap; unsigned indices need no wraparound test for negative indices. Quantities
            0, 1 only ``with_cross``, 2, 3 only ``with_power`` (compile-time constants: the
            other branches are folded away).
            """
            m = v.shape[1]
            rhi = wr - 1 - wr // 2
            w = np.uint64(wr)
            h = np.uint64(rhi)
            v0 = v[0]
            v1 = v[1]
            v2 = v[2]
            v3 = v[3]
            v4 = v[4]
            s0 = out[0]
            s1 = out[1]
            s2 = out[2]
            s3 = out[3]
            s4 = out[4]
            x0 = 0.0
            x1 = 0.0
            x2 = 0.0
            x3 = 0.0
            x4 = 0.0
            r0 = 0.0
            r1 = 0.0
            r2 = 0.0
            r3 = 0.0
            # Block 0: the windows ending here start at column 0 (r = 0).
            for j in range(np.uint64(min(wr, m))):
                x4 += v4[j]
                if with_cross:
                    x0 += v0[j]
                    x1 += v1[j]
                if with_power:
                    x2 += v2[j]
                    x3 += v3[j]
                if j >= h:
                    s4[j - h] = x4
                    if with_cross:
                        s0[j - h] = x0
                        s1[j - h] = x1
                    if with_power:
                        s2[j - h] = x2
                        s3[j - h] = x3
            for blk in range(1, (m + wr - 1) // wr):
                r0 = x0
                r1 = x1
                r2 = x2
                r3 = x3
                x0 = 0.0
                x1 = 0.0
                x2 = 0.0
                x3 = 0.0
                for j in range(np.uint64(blk * wr), np.uint64(min(blk * wr + wr, m))):
                    d = j - w
                    x4 += v4[j] - v4[d]
                    s4[j - h] = x4
                    if with_cross:
                        x0 += v0[j]
                        x1 += v1[j]
                        r0 -= v0[d]
                        r1 -= v1[d]
                        s0[j - h] = x0 + r0
                        s1[j - h] = x1 + r1
                    if with_power:
                        x2 += v2[j]
                        x3 += v3[j]
                        r2 -= v2[d]
                        r3 -= v3[d]
                        s2[j - h] = x2 + r2
                        s3[j - h] = x3 + r3
            # Windows cut by the right edge: go on as if v were 0 beyond the row.
            for j in range(m, min(m + rhi, o1 + rhi)):
                if j % wr == 0:
                    r0 = x0
                    r1 = x1
                    r2 = x2
                    r3 = x3
                    x0 = 0.0
                    x1 = 0.0
                    x2 = 0.0
                    x3 = 0.0
                d = j - wr
                if d >= 0:
                    x4 -= v4[d]
                    if with_cross:
                        r0 -= v0[d]
                        r1 -= v1[d]
                    if with_power:
                        r2 -= v2[d]
                        r3 -= v3[d]
                if j >= rhi:
                    s4[j - rhi] = x4
                    if with_cross:
                        s0[j - rhi] = x0 + r0
                        s1[j - rhi] = x1 + r1
                    if with_power:
                        s2[j - rhi] = x2 + r2
                        s3[j - rhi] = x3 + r3

        horizontal.__qualname__ = f"_horizontal_cross{int(with_cross)}_power{int(with_power)}"
        return numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")(horizontal)

    def _make_finish(given_power: bool):  # type: ignore[no-untyped-def]
        def finish(ring, sb, st, sa, o0, pow1, pow2, coh, pha, count):  # type: ignore[no-untyped-def]
            """Coherence, phase and count of one output row (vectorised). Its window sums are
            ``ring[sb] + (ring[st] - ring[sa])`` on columns ``o0 ..``: the range window sums of
            the azimuth running sums at the window's last row, plus (the total of the block of
            rows before) minus (its running sum before the window's first row). Cross product:
            sums 0 and 1; valid count: sum 4; powers: ``pow1``, ``pow2`` (``given_power``) or
            sums 2 and 3."""
            nan = np.float32(np.nan)
            for jj in range(coh.shape[0]):
                j = np.uint64(o0) + np.uint64(jj)
                n = ring[sb, 4, j] + (ring[st, 4, j] - ring[sa, 4, j])
                cr = ring[sb, 0, j] + (ring[st, 0, j] - ring[sa, 0, j])
                ci = ring[sb, 1, j] + (ring[st, 1, j] - ring[sa, 1, j])
                if given_power:  # a compile-time constant: the branch is folded away
                    p = np.float64(pow1[jj]) * np.float64(pow2[jj])
                else:
                    p1 = ring[sb, 2, j] + (ring[st, 2, j] - ring[sa, 2, j])
                    p2 = ring[sb, 3, j] + (ring[st, 3, j] - ring[sa, 3, j])
                    p = p1 * p2
                count[jj] = np.int32(n + 0.5)
                bad = (n < 0.5) | (p <= 0.0)
                g = np.sqrt((cr * cr + ci * ci) / p)
                g = g if g < 1.0 else 1.0
                coh[jj] = nan if bad else np.float32(g)
                pha[jj] = nan if bad else np.float32(fast_atan2(ci, cr))

        finish.__qualname__ = f"_finish_given{int(given_power)}"
        return numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")(finish)

    @numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
    def _power_out(pb, pt, pa, o0, out):  # type: ignore[no-untyped-def]
        """out = pb + (pt - pa) on columns o0 .. (vectorised), as float32."""
        for jj in range(out.shape[0]):
            j = np.uint64(o0) + np.uint64(jj)
            out[jj] = np.float32(pb[j] + (pt[j] - pa[j]))

    @numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
    def _amplitude_out(ring, sb, st, sa, o0, out):  # type: ignore[no-untyped-def]
        """Amplitude in dB of one output row: ``10 log10(sqrt(p1 p2) / n)`` = ``5 log10(p1 p2 /
        n^2)`` from the window sums (as ``_finish_*``) of the powers (sums 2, 3) and the valid
        count (sum 4), in float64, written as float32; NaN where the window holds no valid
        sample (its power sums are then zero or a rounding residue: ``p1 p2 <= 0`` is NaN too)."""
        nan = np.float32(np.nan)
        for jj in range(out.shape[0]):
            j = np.uint64(o0) + np.uint64(jj)
            n = ring[sb, 4, j] + (ring[st, 4, j] - ring[sa, 4, j])
            p1 = ring[sb, 2, j] + (ring[st, 2, j] - ring[sa, 2, j])
            p2 = ring[sb, 3, j] + (ring[st, 3, j] - ring[sa, 3, j])
            p = p1 * p2
            bad = (n < 0.5) | (p <= 0.0)
            db = 5.0 * fast_log10(p / (n * n))
            out[jj] = nan if bad else np.float32(db)

    # Module-level dispatchers (not closures) so that the parallel kernel caches on disk.
    # Quantities summed: _ALL cross product, powers and count; _CROSS cross product and count;
    # _POWER powers and count.
    _ALL, _CROSS, _POWER = 0, 1, 2
    _row_all = _make_row(True, True)
    _row_cross = _make_row(True, False)
    _row_power = _make_row(False, True)
    _horizontal_all = _make_horizontal(True, True)
    _horizontal_cross = _make_horizontal(True, False)
    _horizontal_power = _make_horizontal(False, True)
    _finish_own = _make_finish(False)
    _finish_shared = _make_finish(True)

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def _row(ref, sec, prev, p, first, what):  # type: ignore[no-untyped-def]
        if what == _ALL:
            _row_all(ref, sec, prev, p, first)
        elif what == _CROSS:
            _row_cross(ref, sec, prev, p, first)
        else:
            _row_power(ref, sec, prev, p, first)

    @numba.njit(cache=True, nogil=True, error_model="numpy")
    def _horizontal(v, out, wr, o1, what):  # type: ignore[no-untyped-def]
        if what == _ALL:
            _horizontal_all(v, out, wr, o1)
        elif what == _CROSS:
            _horizontal_cross(v, out, wr, o1)
        else:
            _horizontal_power(v, out, wr, o1)

    @numba.njit(cache=True, parallel=True, nogil=True, fastmath=_FAST, error_model="numpy")
    def _kernel(  # type: ignore[no-untyped-def]
        ref, sec, wa, wr, pow1, pow2, mode, coh, pha, count
    ):
        """mode 0: coherence with its own power sums; 1: with given ``pow1``/``pow2`` (shared
        per-date sums, powers not summed again); 2: power sums of ``ref`` over samples valid in
        both, written to ``coh``; 3: amplitude in dB (``_amplitude_out``), written to ``coh``.
        Modes 2 and 3 sum no cross product. ``ref``/``sec`` are float32 views of complex64 rows.

        Work items are tiles of output pixels (``_TILE_ROWS`` x ``_TILE_COLS``); a tile reads its
        outputs' windows and counts its blocks of ``wa`` rows and ``wr`` columns from their
        first row (``x_start``) and column (``e0``). For each input row x: ``pv`` holds the
        azimuth running sums of x's block up to x (``_row``), and ``ring`` the range window sums
        of those for the last wa + 1 rows (``_horizontal``). The output rows whose window ends
        at row x then combine three rows of ``ring`` (``_finish_*``): the window is (x's block up
        to x) + (the block before, minus its part above the window).
        """
        nrows = ref.shape[0]
        ncols = ref.shape[1] // 2
        alo = wa // 2
        ahi = wa - 1 - alo
        what = _CROSS if mode == 1 else (_POWER if mode >= 2 else _ALL)
        n_row_tiles = (nrows + _TILE_ROWS - 1) // _TILE_ROWS
        n_col_tiles = (ncols + _TILE_COLS - 1) // _TILE_COLS
        for item in numba.prange(n_row_tiles * n_col_tiles):
            r0 = (item // n_col_tiles) * _TILE_ROWS
            r1 = min(r0 + _TILE_ROWS, nrows)
            c0 = (item % n_col_tiles) * _TILE_COLS
            c1 = min(c0 + _TILE_COLS, ncols)
            # The tile reads columns e0 .. e0 + m (its outputs' windows), and its blocks of wr
            # columns start at e0: the first output's window starts a block, so nothing before
            # it is needed. Likewise for rows, from x_start.
            e0 = max(c0 - wr // 2, 0)
            m = min(c1 + (wr - 1 - wr // 2), ncols) - e0
            o0 = c0 - e0  # the tile's output columns, in tile coordinates
            o1 = c1 - e0
            # Azimuth running sums of the last two rows; range window sums of those of the last
            # wa + 1 rows (slots 0 .. wa), and a slot of zeros (wa + 1).
            pv = np.zeros((2, 5, m), dtype=np.float64)
            ring = np.zeros((wa + 2, 5, m), dtype=np.float64)
            nothing = np.zeros(0, dtype=np.float32)
            x_start = max(r0 - alo, 0)
            x_end = min(r1 - 1 + ahi, nrows - 1)
            for x in range(x_start, x_end + 1):
                _row(ref[x, 2 * e0 : 2 * (e0 + m)], sec[x, 2 * e0 : 2 * (e0 + m)],
                     pv[(x - 1) % 2], pv[x % 2], (x - x_start) % wa == 0, what)
                sb = x % (wa + 1)
                _horizontal(pv[x % 2], ring[sb], wr, o1, what)
                # Output rows whose window (rows a .. x) ends at row x: their sums are
                # ring[sb] + (ring[st] - ring[sa]), with sa the row a - 1 and st the last row of
                # its block; the zero slot for both when the window starts at x_start, for st
                # when a - 1 is in x's block (a window cut by the bottom edge).
                i_lo = max(x - ahi, r0)
                i_hi = min(x - ahi if x < nrows - 1 else nrows - 1, r1 - 1)
                for i in range(i_lo, i_hi + 1):
                    a = max(i - alo, 0)
                    sa = wa + 1
                    st = wa + 1
                    if a > x_start:
                        sa = (a - 1) % (wa + 1)
                        blk = (a - 1 - x_start) // wa
                        if blk != (x - x_start) // wa:
                            st = (x_start + blk * wa + wa - 1) % (wa + 1)
                    if mode == 2:
                        _power_out(ring[sb, 2], ring[st, 2], ring[sa, 2], o0, coh[i, c0:c1])
                    elif mode == 3:
                        _amplitude_out(ring, sb, st, sa, o0, coh[i, c0:c1])
                    elif mode == 1:
                        _finish_shared(ring, sb, st, sa, o0, pow1[i, c0:c1], pow2[i, c0:c1],
                                       coh[i, c0:c1], pha[i, c0:c1], count[i, c0:c1])
                    else:
                        _finish_own(ring, sb, st, sa, o0, nothing, nothing, coh[i, c0:c1],
                                    pha[i, c0:c1], count[i, c0:c1])


    @numba.njit(cache=True, parallel=True, nogil=True, fastmath=_FAST, error_model="numpy")
    def _block_kernel(ref, sec, wa, wr, with_power, out):  # type: ignore[no-untyped-def]
        """out[k, p, q] = sum of quantity k over rows p*wa .. and columns q*wr .. (a window of
        ``wa`` x ``wr`` samples, cut by the image's far edges): column sums over the window's
        rows (vectorised, two buffers in turn), then each window's columns summed directly.
        Without ``with_power`` the powers (k = 2, 3) are zero. Eight output rows per work
        item share the buffers."""
        nrows = ref.shape[0]
        ncols = ref.shape[1] // 2
        n_out = out.shape[1]
        for item in numba.prange((n_out + 7) // 8):
            buf = np.empty((2, 5, ncols), dtype=np.float64)
            for p in range(item * 8, min(item * 8 + 8, n_out)):
                start = p * wa
                stop = min(start + wa, nrows)
                for r in range(start, stop):
                    t = r - start
                    _row(ref[r], sec[r], buf[(t + 1) % 2], buf[t % 2], t == 0,
                         _ALL if with_power else _CROSS)
                acc = buf[(stop - 1 - start) % 2]
                for k in range(5):
                    if not with_power and (k == 2 or k == 3):
                        out[k, p, :] = 0.0
                        continue
                    ak = acc[k]
                    for q in range(out.shape[2]):
                        total = 0.0
                        for j in range(np.uint64(q * wr), np.uint64(min(q * wr + wr, ncols))):
                            total += ak[j]
                        out[k, p, q] = total

    @numba.njit(cache=True, nogil=True, fastmath=_FAST, error_model="numpy")
    def _ratio_kernel(s0, s1, s4, p1, p2, coh, pha, count):  # type: ignore[no-untyped-def]
        """Coherence, phase and count from window sums (vectorised): cross product
        ``s0 + i s1``, powers ``p1``, ``p2``, valid count ``s4``; NaN where no valid sample."""
        nan = np.float32(np.nan)
        for j in range(s0.shape[0]):
            n = s4[j]
            count[j] = np.int32(n + 0.5)
            p = p1[j] * p2[j]
            cr = s0[j]
            ci = s1[j]
            bad = (n < 0.5) | (p <= 0.0)
            g = np.sqrt((cr * cr + ci * ci) / p)
            g = g if g < 1.0 else 1.0
            coh[j] = nan if bad else np.float32(g)
            pha[j] = nan if bad else np.float32(fast_atan2(ci, cr))


def _valid(img: ComplexArray) -> npt.NDArray[np.bool_]:
    valid: npt.NDArray[np.bool_] = np.isfinite(img) & (img != 0)
    return valid


def _box_sum_axis(values: npt.NDArray[np.float64], w: int, axis: int) -> npt.NDArray[np.float64]:
    """Truncated boxcar sums of ``w`` samples along ``axis``, from running sums restarted every
    ``w`` samples (blocks from index 0), as the kernels do: a window (samples a .. b) is
    ``p[b]`` (a = 0), ``p[b] - p[a - 1]`` (a - 1 in b's block) or
    ``p[b] + (total of a - 1's block - p[a - 1])``."""
    x = np.moveaxis(values, axis, -1)
    n = x.shape[-1]
    lo, hi = half_widths(w)
    nb = -(-n // w)
    padded = np.zeros(x.shape[:-1] + (nb * w,), dtype=np.float64)
    padded[..., :n] = x
    blocks = padded.reshape(x.shape[:-1] + (nb, w))
    run = np.cumsum(blocks, axis=-1)
    total = np.broadcast_to(run[..., -1:], run.shape).reshape(padded.shape)
    run = run.reshape(padded.shape)
    idx = np.arange(n)
    a = np.clip(idx - lo, 0, n - 1)
    b = np.clip(idx + hi, 0, n - 1)
    before = np.maximum(a - 1, 0)
    same = (a > 0) & (before // w == b // w)
    other = (a > 0) & ~same
    out = run[..., b] + np.where(
        other, total[..., before] - run[..., before], np.where(same, -run[..., before], 0.0)
    )
    return np.moveaxis(out, -1, axis)


def _box_sum_numpy(values: npt.NDArray[np.float64], wa: int, wr: int) -> npt.NDArray[np.float64]:
    """Truncated boxcar window sums (numpy fallback): along azimuth, then along range."""
    return _box_sum_axis(_box_sum_axis(values, wa, 0), wr, 1)


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
    if not HAVE_NUMBA:  # numba is a declared dependency; tested by switching it off
        result = _coherence_numpy(ref, sec, wa, wr, pow1, pow2)
        if out is None:
            return result
        for target, value in zip(out, result, strict=True):
            target[...] = value
        return out
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
    if not HAVE_NUMBA:  # numba is a declared dependency; tested by switching it off
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


def amplitude_db(ref: ComplexArray, sec: ComplexArray, window: tuple[int, int]) -> Float32Array:
    """Multilooked amplitude of a pair in dB, ``10 log10 sqrt(I1 I2)`` with ``Ik`` the mean of
    ``|sk|^2`` over the window's samples valid in both images, as float32; NaN where the window
    holds no valid sample. One pass: both power sums and the valid count of each window (the
    block-restarted float64 sums of :func:`coherence_sums`, so the same local accuracy), the dB
    value from them in float64."""
    wa, wr = window
    ref = np.ascontiguousarray(ref, dtype=np.complex64)
    sec = np.ascontiguousarray(sec, dtype=np.complex64)
    if not HAVE_NUMBA:  # numba is a declared dependency; tested by switching it off
        ok = _valid(ref) & _valid(sec)
        p1 = _box_sum_numpy(np.where(ok, np.abs(ref.astype(np.complex128)) ** 2, 0.0), wa, wr)
        p2 = _box_sum_numpy(np.where(ok, np.abs(sec.astype(np.complex128)) ** 2, 0.0), wa, wr)
        n = _box_sum_numpy(ok.astype(np.float64), wa, wr)
        p = p1 * p2
        with np.errstate(divide="ignore", invalid="ignore"):
            db = 5.0 * np.log10(p / (n * n))
        return np.where((n < 0.5) | ~(p > 0.0), np.nan, db).astype(np.float32)
    out = np.empty(ref.shape, dtype=np.float32)
    dummy_f = np.zeros((1, 1), dtype=np.float32)
    dummy_i = np.zeros((1, 1), dtype=np.int32)
    _kernel(
        ref.view(np.float32), sec.view(np.float32), wa, wr, dummy_f, dummy_f, 3, out, dummy_f,
        dummy_i,
    )
    return out


def block_sums(
    ref: ComplexArray, sec: ComplexArray, window: tuple[int, int], with_power: bool = True
) -> FloatArray:
    """Sums over non-overlapping windows (multilooking), as a (5, ceil(rows / wa),
    ceil(cols / wr)) float64 array: Re and Im of ``ref * conj(sec)``, ``|ref|^2``, ``|sec|^2`` and
    the number of samples, over the samples valid in both (the powers are zero without
    ``with_power``). Windows start at row and column 0; those at the far edges hold what remains
    of the image. Each window is summed directly."""
    wa, wr = window
    ref = np.ascontiguousarray(ref, dtype=np.complex64)
    sec = np.ascontiguousarray(sec, dtype=np.complex64)
    rows, cols = ref.shape
    shape = (5, -(-rows // wa), -(-cols // wr))
    if not HAVE_NUMBA:  # numba is a declared dependency; tested by switching it off
        ok = _valid(ref) & _valid(sec)
        r = np.where(ok, ref, 0).astype(np.complex128)
        s = np.where(ok, sec, 0).astype(np.complex128)
        cross = r * np.conj(s)
        power = 1.0 if with_power else 0.0
        planes = [
            cross.real, cross.imag, power * np.abs(r) ** 2, power * np.abs(s) ** 2,
            ok.astype(np.float64),
        ]
        out = np.zeros(shape, dtype=np.float64)
        for k, plane in enumerate(planes):
            padded = np.zeros((shape[1] * wa, shape[2] * wr), dtype=np.float64)
            padded[:rows, :cols] = plane
            out[k] = padded.reshape(shape[1], wa, shape[2], wr).sum(axis=(1, 3))
        return out
    out = np.empty(shape, dtype=np.float64)
    _block_kernel(ref.view(np.float32), sec.view(np.float32), wa, wr, with_power, out)
    return out


def ratio(
    sums: FloatArray, p1: FloatArray, p2: FloatArray
) -> tuple[Float32Array, Float32Array, npt.NDArray[np.int32]]:
    """Coherence, phase (in (-pi, pi]) and valid count from window sums as :func:`block_sums`
    gives them (cross product: sums 0 and 1, count: sum 4) and power sums ``p1``, ``p2``;
    NaN where a window holds no valid sample."""
    shape = sums.shape[1:]
    s0, s1, s4 = (np.ascontiguousarray(sums[k], dtype=np.float64).ravel() for k in (0, 1, 4))
    q1 = np.ascontiguousarray(p1, dtype=np.float64).ravel()
    q2 = np.ascontiguousarray(p2, dtype=np.float64).ravel()
    if not HAVE_NUMBA:  # numba is a declared dependency; tested by switching it off
        cross = s0 + 1j * s1
        with np.errstate(invalid="ignore", divide="ignore"):
            g = np.minimum(np.abs(cross) / np.sqrt(q1 * q2), 1.0)
        ph = np.angle(cross)
        ph[ph <= -np.pi] = np.pi
        bad = (s4 < 0.5) | ~(q1 * q2 > 0)
        g[bad] = np.nan
        ph[bad] = np.nan
        return (g.astype(np.float32).reshape(shape), ph.astype(np.float32).reshape(shape),
                np.rint(s4).astype(np.int32).reshape(shape))
    coh = np.empty(s0.shape, dtype=np.float32)
    pha = np.empty(s0.shape, dtype=np.float32)
    count = np.empty(s0.shape, dtype=np.int32)
    _ratio_kernel(s0, s1, s4, q1, q2, coh, pha, count)
    return coh.reshape(shape), pha.reshape(shape), count.reshape(shape)
