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

Then the stack case: 10 dates at 6-day spacing, all pairs up to 24 days (30 pairs), with
``estimate_pairs`` (each date's power summed once) against one ``estimate`` call per pair.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import scipy.ndimage as ndi
import xarray as xr

from pairscope import coherence
from pairscope.pairs import select_pairs


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=1500)
    parser.add_argument("--cols", type=int, default=8000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    window = (5, 21)
    shape = (args.rows, args.cols)
    a, b = make_pair(shape)
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
    t_pairs = best_time(lambda: coherence.estimate_pairs(stack, pairs, window), 1)
    # Same work as estimate_pairs: every pair's results are kept (fresh memory for each).
    t_single = best_time(
        lambda: [
            coherence.estimate(
                stack.sel(date=p.reference).values, stack.sel(date=p.secondary).values, window
            )
            for p in pairs
        ],
        1,
    )
    print(f"\n# stack: {n_dates} dates x {stack_shape[0]} x {stack_shape[1]}, "
          f"{len(pairs)} pairs up to 24 days")
    print(f"{'estimate_pairs (shared powers)':40s} {smpix / t_pairs:10.1f} MPix/s  {t_pairs:6.2f} s")
    print(f"{'estimate per pair':40s} {smpix / t_single:10.1f} MPix/s  {t_single:6.2f} s")
    print(f"{'speed-up of sharing':40s} {t_single / t_pairs:10.2f} x")


if __name__ == "__main__":
    main()
