"""Coherence kernel throughput against baselines measured in the same run.

One pair of 1500 x 8000 complex64 images, 5 x 21 window (azimuth x range). Printed in MPix/s
(output pixels per second, best of ``--repeat`` runs), with ratios to the uniform_filter baseline:

- pairscope: ``pairscope.coherence.estimate`` (coherence and phase, no-data aware);
- uniform_filter: ``scipy.ndimage.uniform_filter`` on the four real parts (Re and Im of the
  cross product, both powers), products included, no coherence/phase step (a generous baseline);
- uniform_filter + coherence/phase: the same plus the ratio and arctan2 in numpy (a full estimator);
- convolve 21x21: ``scipy.ndimage.convolve`` with the openEO notebook's zero-padded 21 x 21 kernel
  (timed on a 300-row strip: it is slow);
- bandwidth floor: numpy streaming the same bytes once (read both images, write two float32 planes).

Then the kernel before and after its sums were made local (running sums restarted every window
length): a bench-only copy of the previous kernel (running sums over whole rows, as of commit
4f2ddbb) against ``pairscope._boxcar`` on the same data, in interleaved rounds, with its own
power sums and with shared per-date power sums. Reported: best wall time of each and the ratio
of process CPU times (steadier than wall time on a shared machine); target: new / old <= 1.10.
And the accuracy of both on the robustness case (a strip 3e3 brighter in amplitude, zero-filled
columns two windows wide, a region 1e-3 dimmer) against direct float64 window sums.

Then the amplitude (``estimate_amplitude``, dB): the three kernel passes it used to make (a
bench-only copy of that code: two power-sum passes, one coherence pass for the count, numpy
float64 after) against its one-pass kernel and against ``estimate``, in interleaved rounds, as
time ratios measured in the same run; and both amplitudes' error on the robustness case against
direct float64 window sums. ``--amplitude-only`` runs just this part (e.g. on a full burst,
``--cols 21000``).

Then the stack case: 10 dates at 6-day spacing, all pairs up to 24 days (30 pairs), with
``estimate_pairs`` (each date's power summed once) against one ``estimate`` call per pair, and the
overview (``estimate_pairs_overview``: non-overlapping 5 x 21 windows) against full resolution.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from collections.abc import Callable

import numba
import numpy as np
import scipy.ndimage as ndi
import xarray as xr

from pairscope import _boxcar, coherence
from pairscope.pairs import select_pairs

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
# the baseline: estimate_amplitude as it was before its one-pass kernel (kept with its tests)
from tests.test_20_coherence import three_pass_amplitude  # noqa: E402

# ---------------------------------------------------------------------------------------------
# Baseline: the kernel before its sums were made local (bench-only copy, not cached on disk).
# Each row is summed along range with one running sum over the whole row, and a running sum down
# 64-row blocks adds the newest row and drops the oldest: rounding errors of bright samples
# stay in the sums of everything after them.

_OLD_BLOCK_ROWS = 64
_FAST = {"nsz", "arcp", "contract", "afn"}
_C0, _C1, _C2, _C3, _C4, _C5, _C6, _C7 = (
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


@numba.njit(nogil=True, fastmath=_FAST, error_model="numpy", inline="always")
def _old_atan2(y: float, x: float) -> float:
    ax = abs(x)
    ay = abs(y)
    swap = np.float64(ay > ax)
    big = ax + swap * (ay - ax)
    small = ay + swap * (ax - ay)
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


def _old_make_vertical(with_power: bool):
    def vertical(ref, sec, acc, sign):
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
    vertical.__qualname__ = f"_old_vertical_power{int(with_power)}"
    return numba.njit(nogil=True, fastmath=_FAST, error_model="numpy")(vertical)

@numba.njit(nogil=True, fastmath=_FAST, error_model="numpy")
def _old_horizontal(acc, sums, rlo, rhi):
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

@numba.njit(nogil=True, fastmath=_FAST, error_model="numpy")
def _old_finish(s0, s1, s4, p1, p2, coh, pha, count):
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
        pha[j] = nan if bad else np.float32(_old_atan2(ci, cr))

_old_vertical_all = _old_make_vertical(True)
_old_vertical_cross = _old_make_vertical(False)

@numba.njit(nogil=True, error_model="numpy")
def _old_vertical(ref, sec, acc, sign, with_power):
    if with_power:
        _old_vertical_all(ref, sec, acc, sign)
    else:
        _old_vertical_cross(ref, sec, acc, sign)

@numba.njit(parallel=True, nogil=True, fastmath=_FAST, error_model="numpy")
def _old_kernel(
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
    nblocks = (nrows + _OLD_BLOCK_ROWS - 1) // _OLD_BLOCK_ROWS
    for blk in numba.prange(nblocks):
        r0 = blk * _OLD_BLOCK_ROWS
        r1 = min(r0 + _OLD_BLOCK_ROWS, nrows)
        acc = np.zeros((5, ncols), dtype=np.float64)
        sums = np.empty((5, ncols), dtype=np.float64)
        for r in range(max(r0 - alo, 0), min(r0 + ahi, nrows - 1) + 1):
            _old_vertical(ref[r], sec[r], acc, 1.0, with_power)
        for i in range(r0, r1):
            if i > r0:
                drop = i - alo - 1
                if drop >= 0:
                    _old_vertical(ref[drop], sec[drop], acc, -1.0, with_power)
                add = i + ahi
                if add < nrows:
                    _old_vertical(ref[add], sec[add], acc, 1.0, with_power)
            _old_horizontal(acc, sums, rlo, rhi)
            if mode == 2:
                for j in range(ncols):
                    coh[i, j] = sums[2, j]
            elif mode == 1:
                _old_finish(sums[0], sums[1], sums[4], pow1[i], pow2[i], coh[i], pha[i], count[i])
            else:
                _old_finish(sums[0], sums[1], sums[4], sums[2], sums[3], coh[i], pha[i], count[i])


def old_coherence_sums(ref, sec, window, pow1=None, pow2=None):
    """The previous ``pairscope._boxcar.coherence_sums`` (numba path)."""
    wa, wr = window
    ref = np.ascontiguousarray(ref, dtype=np.complex64)
    sec = np.ascontiguousarray(sec, dtype=np.complex64)
    coh = np.empty(ref.shape, dtype=np.float32)
    pha = np.empty(ref.shape, dtype=np.float32)
    count = np.empty(ref.shape, dtype=np.int32)
    shared = pow1 is not None and pow2 is not None
    dummy = np.zeros((1, 1), dtype=np.float32)
    _old_kernel(ref.view(np.float32), sec.view(np.float32), wa, wr,
                pow1 if shared else dummy, pow2 if shared else dummy, 1 if shared else 0,
                coh, pha, count)
    return coh, pha, count


def best_time(fn: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def make_pair(shape: tuple[int, int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape, np.float32) + 1j * rng.standard_normal(shape, np.float32))
    y = (rng.standard_normal(shape, np.float32) + 1j * rng.standard_normal(shape, np.float32))
    a = x.astype(np.complex64)
    b = (0.7 * x + 0.71 * y).astype(np.complex64)
    return a, b


def uniform_filter_sums(a: np.ndarray, b: np.ndarray, window: tuple[int, int]) -> list[np.ndarray]:
    cross = a * np.conj(b)
    planes = [cross.real, cross.imag, (a * np.conj(a)).real, (b * np.conj(b)).real]
    return [ndi.uniform_filter(p, window, mode="constant") for p in planes]


def uniform_filter_full(a: np.ndarray, b: np.ndarray, window: tuple[int, int]) -> None:
    cr, ci, p1, p2 = uniform_filter_sums(a, b, window)
    np.hypot(cr, ci) / np.sqrt(p1 * p2)
    np.arctan2(ci, cr)


def notebook_convolve(a: np.ndarray, b: np.ndarray, window: tuple[int, int]) -> None:
    wa, wr = window
    kernel = np.pad(np.ones((wa, wr), np.float32), (((wr - wa) // 2, (wr - wa) // 2), (0, 0)))
    cross = a * np.conj(b)
    for p in (cross.real, cross.imag, (a * np.conj(a)).real, (b * np.conj(b)).real):
        ndi.convolve(p, kernel, mode="constant")


def best_times(fns: dict[str, Callable[[], object]], rounds: int) -> tuple[dict, dict]:
    """Best wall time and best process CPU time of each function, in interleaved rounds."""
    wall: dict[str, float] = {}
    cpu: dict[str, float] = {}
    for _ in range(rounds):
        for name, fn in fns.items():
            w0, c0 = time.perf_counter(), time.process_time()
            fn()
            w, c = time.perf_counter() - w0, time.process_time() - c0
            wall[name] = min(wall.get(name, np.inf), w)
            cpu[name] = min(cpu.get(name, np.inf), c)
    return wall, cpu


def direct_window_coherence(a: np.ndarray, b: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Coherence from direct float64 sums of each window (no running sums), NaN where empty."""
    wa, wr = window
    alo, rlo = wa // 2, wr // 2
    ok = np.isfinite(a) & np.isfinite(b) & (a != 0) & (b != 0)
    r = np.where(ok, a, 0).astype(np.complex128)
    s = np.where(ok, b, 0).astype(np.complex128)
    pad = ((alo, wa - 1 - alo), (rlo, wr - 1 - rlo))

    def sums(x: np.ndarray) -> np.ndarray:
        view = np.lib.stride_tricks.sliding_window_view(np.pad(x, pad), window)
        return view.sum(axis=(-2, -1))

    cross = sums(r * np.conj(s))
    p = sums(np.abs(r) ** 2) * sums(np.abs(s) ** 2)
    n = sums(ok.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        g = np.abs(cross) / np.sqrt(p)
    return np.where(n > 0, g, np.nan)


def robustness_case(window: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, slice, slice]:
    """A strip 3e3 brighter in amplitude (power 9e6), zero fill two windows wide, a region 1e-3
    dimmer (power 1e-6), then normal: columns of one pair with coherence 0.6."""
    rng = np.random.default_rng(5)
    wa, wr = window
    widths = {"bright": 40, "gap": 2 * wr, "dim": 120, "normal": 40}
    n = sum(widths.values())
    shape = (6 * wa, n)
    x = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
    y = (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)
    a, b = x, (0.6 * x + 0.8 * y) * np.exp(-0.8j)
    scale = np.concatenate([np.full(widths["bright"], 3e3), np.zeros(widths["gap"]),
                            np.full(widths["dim"], 1e-3), np.ones(widths["normal"])])
    start = widths["bright"] + widths["gap"]
    dim = slice(start + wr, start + widths["dim"] - wr)  # windows inside the dim region
    edge = slice(start - wr // 2, start + wr // 2 + 1)  # windows at the no-data edge
    return ((a * scale).astype(np.complex64), (b * scale).astype(np.complex64), dim, edge)


def kernel_before_after(a: np.ndarray, b: np.ndarray, window: tuple[int, int], rounds: int) -> None:
    mpix = a.size / 1e6
    p1 = _boxcar.power_sums(a, a, window)
    p2 = _boxcar.power_sums(b, b, window)
    old_coherence_sums(a[:64, :256], b[:64, :256], window)  # compile outside the timing
    old_coherence_sums(a[:64, :256], b[:64, :256], window, p1[:64, :256], p2[:64, :256])
    fns = {
        "old, own powers": lambda: old_coherence_sums(a, b, window),
        "new, own powers": lambda: _boxcar.coherence_sums(a, b, window),
        "old, shared powers": lambda: old_coherence_sums(a, b, window, p1, p2),
        "new, shared powers": lambda: _boxcar.coherence_sums(a, b, window, p1, p2),
    }
    wall, cpu = best_times(fns, rounds)
    print(f"\n# kernel before / after local sums: {a.shape[0]} x {a.shape[1]}, window "
          f"{window[0]} x {window[1]}, best of {rounds} interleaved rounds")
    print(f"{'kernel':40s} {'MPix/s':>10s} {'CPU s':>8s}")
    for name in fns:
        print(f"{name:40s} {mpix / wall[name]:10.1f} {cpu[name]:8.3f}")
    for mode in ("own powers", "shared powers"):
        ratio = cpu[f"new, {mode}"] / cpu[f"old, {mode}"]
        wall_ratio = wall[f"new, {mode}"] / wall[f"old, {mode}"]
        print(f"{'new / old time, ' + mode:40s} {ratio:10.3f} (CPU)  {wall_ratio:.3f} (wall)"
              f"  target <= 1.10")
    a2, b2, dim, edge = robustness_case(window)
    want = direct_window_coherence(a2, b2, window)
    print(f"\n# accuracy on the robustness case ({a2.shape[0]} x {a2.shape[1]}): max |coherence -"
          " direct window sums|")
    print(f"{'kernel':40s} {'dim region':>12s} {'no-data edge':>14s} {'anywhere':>10s}")
    for name, fn in (("old", old_coherence_sums), ("new", _boxcar.coherence_sums)):
        err = np.abs(fn(a2, b2, window)[0] - want)
        print(f"{name:40s} {np.nanmax(err[:, dim]):12.2e} {np.nanmax(err[:, edge]):14.2e}"
              f" {np.nanmax(err):10.2e}")


def direct_window_amplitude(a: np.ndarray, b: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Amplitude (dB) from direct float64 sums of each window, NaN where empty."""
    wa, wr = window
    alo, rlo = wa // 2, wr // 2
    ok = np.isfinite(a) & np.isfinite(b) & (a != 0) & (b != 0)
    pad = ((alo, wa - 1 - alo), (rlo, wr - 1 - rlo))

    def sums(x: np.ndarray) -> np.ndarray:
        view = np.lib.stride_tricks.sliding_window_view(np.pad(x, pad), window)
        return view.sum(axis=(-2, -1))

    p1 = sums(np.where(ok, np.abs(a.astype(np.complex128)) ** 2, 0.0))
    p2 = sums(np.where(ok, np.abs(b.astype(np.complex128)) ** 2, 0.0))
    n = sums(ok.astype(np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        db = 10 * np.log10(np.sqrt(p1 * p2) / n)
    return np.where(n > 0, db, np.nan)


def amplitude_before_after(a: np.ndarray, b: np.ndarray, window: tuple[int, int],
                           rounds: int) -> None:
    three_pass_amplitude(a[:64, :256], b[:64, :256], window)  # compile outside the timing
    coherence.estimate_amplitude(a[:64, :256], b[:64, :256], window)
    fns = {
        "amplitude, three passes (old)": lambda: three_pass_amplitude(a, b, window),
        "amplitude, one pass (new)": lambda: coherence.estimate_amplitude(a, b, window),
        "estimate (coherence + phase)": lambda: coherence.estimate(a, b, window),
    }
    wall, cpu = best_times(fns, rounds)
    print(f"\n# amplitude: {a.shape[0]} x {a.shape[1]}, window {window[0]} x {window[1]}, best "
          f"of {rounds} interleaved rounds")
    print(f"{'method':40s} {'wall s':>8s} {'CPU s':>8s}")
    for name in fns:
        print(f"{name:40s} {wall[name]:8.3f} {cpu[name]:8.3f}")
    old, new, est = fns
    for label, x, y in (("old / new amplitude", old, new), ("new amplitude / estimate", new, est)):
        print(f"{label:40s} {wall[x] / wall[y]:8.2f} (wall) {cpu[x] / cpu[y]:8.2f} (CPU)")
    a2, b2, dim, edge = robustness_case(window)
    want = direct_window_amplitude(a2, b2, window)
    print(f"\n# amplitude accuracy on the robustness case ({a2.shape[0]} x {a2.shape[1]}): max "
          "|dB - direct window sums| (and relative)")
    print(f"{'amplitude':40s} {'dim region':>12s} {'no-data edge':>14s} {'anywhere':>10s}"
          f" {'relative':>10s}")
    for name, fn in (("three passes (old)", three_pass_amplitude),
                     ("one pass (new)", coherence.estimate_amplitude)):
        err = np.abs(fn(a2, b2, window) - want)
        rel = np.nanmax(err / np.abs(want))
        print(f"{name:40s} {np.nanmax(err[:, dim]):12.2e} {np.nanmax(err[:, edge]):14.2e}"
              f" {np.nanmax(err):10.2e} {rel:10.2e}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--cols", type=int, default=8000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--amplitude-only", action="store_true",
                        help="only the amplitude: three passes vs one pass vs estimate")
    args = parser.parse_args()
    window = (5, 21)
    shape = (args.rows, args.cols)
    a, b = make_pair(shape)
    if args.amplitude_only:
        amplitude_before_after(a, b, window, max(args.repeat, 5))
        return
    mpix = a.size / 1e6
    coherence.estimate(a[:64, :256], b[:64, :256], window)  # compile outside the timing

    results: dict[str, float] = {}
    results["pairscope estimate"] = mpix / best_time(
        lambda: coherence.estimate(a, b, window), args.repeat
    )
    results["uniform_filter (4 real parts)"] = mpix / best_time(
        lambda: uniform_filter_sums(a, b, window), args.repeat
    )
    results["uniform_filter + coherence/phase"] = mpix / best_time(
        lambda: uniform_filter_full(a, b, window), args.repeat
    )
    strip = slice(0, 300)
    results["convolve 21x21 (notebook kernel)"] = (a[strip].size / 1e6) / best_time(
        lambda: notebook_convolve(a[strip], b[strip], window), 1
    )
    out = np.empty(a.shape, np.complex64)
    results["bandwidth floor (stream same bytes)"] = mpix / best_time(
        lambda: np.multiply(a, b, out=out), args.repeat
    )
    base = results["uniform_filter (4 real parts)"]
    print(f"# one pair, {shape[0]} x {shape[1]} complex64, window {window[0]} x {window[1]}")
    print(f"{'method':40s} {'MPix/s':>10s} {'x uniform_filter':>18s}")
    for name, rate in results.items():
        print(f"{name:40s} {rate:10.1f} {rate / base:18.2f}")
    kernel_before_after(a, b, window, max(args.repeat, 5))
    amplitude_before_after(a, b, window, max(args.repeat, 5))

    # Stack case: 10 dates, 6-day spacing, all pairs up to 24 days.
    n_dates = 10
    stack_shape = (args.rows, args.cols // 2)
    dates = np.datetime64("2024-08-09", "ns") + np.arange(n_dates) * np.timedelta64(6, "D")
    rng = np.random.default_rng(1)
    common = make_pair(stack_shape, 5)[0]
    data = np.stack(
        [
            (0.8 * common + 0.6 * make_pair(stack_shape, int(rng.integers(1 << 30)))[1])
            for _ in range(n_dates)
        ]
    ).astype(np.complex64)
    stack = xr.DataArray(data, dims=("date", "azimuth", "range"), coords={"date": dates})
    pairs = select_pairs(dates, max_temporal_baseline=24)
    smpix = len(pairs) * stack_shape[0] * stack_shape[1] / 1e6
    # Same work as estimate_pairs: every pair's results are kept (fresh memory for each).
    # Interleaved rounds; the overview (non-overlapping windows) on the same stack and pairs.
    coherence.estimate_pairs_overview(stack.isel(azimuth=slice(0, 50)), pairs[:2], window)
    fns = {
        "full": lambda: coherence.estimate_pairs(stack, pairs, window),
        "single": lambda: [
            coherence.estimate(
                stack.sel(date=p.reference).values, stack.sel(date=p.secondary).values, window
            )
            for p in pairs
        ],
        "overview": lambda: coherence.estimate_pairs_overview(stack, pairs, window),
    }
    wall, cpu = best_times(fns, args.repeat)
    t_pairs, t_single = wall["full"], wall["single"]
    print(f"\n# stack: {n_dates} dates x {stack_shape[0]} x {stack_shape[1]}, "
          f"{len(pairs)} pairs up to 24 days, best of {args.repeat} interleaved rounds")
    print(f"{'estimate_pairs (shared powers)':40s} {smpix / t_pairs:10.1f} MPix/s  {t_pairs:6.2f} s")
    print(f"{'estimate per pair':40s} {smpix / t_single:10.1f} MPix/s  {t_single:6.2f} s")
    print(f"{'speed-up of sharing':40s} {t_single / t_pairs:10.2f} x")

    full = fns["full"]()
    over = fns["overview"]()
    gap = np.abs(over.coherence.mean(dim=("azimuth", "range")).values
                 - full.coherence.mean(dim=("azimuth", "range")).values).max()
    print(f"\n# overview: {len(pairs)} pairs of {n_dates} dates, {window[0]} x {window[1]} "
          f"non-overlapping windows ({over.coherence.shape[1]} x {over.coherence.shape[2]} "
          f"per pair)")
    print(f"{'estimate_pairs (full resolution)':40s} {wall['full']:10.2f} s")
    print(f"{'estimate_pairs_overview':40s} {wall['overview']:10.2f} s")
    print(f"{'speed-up of the overview':40s} {wall['full'] / wall['overview']:10.1f} x (wall)"
          f"  {cpu['full'] / cpu['overview']:.1f} x (CPU)")
    print(f"{'max |mean coherence difference|':40s} {gap:10.4f}")


if __name__ == "__main__":
    main()
