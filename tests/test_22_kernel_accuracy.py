"""The boxcar kernel's error bound is local: an output is as accurate as direct window sums whatever
lies more than a window length away (``pairscope._boxcar``'s docstring states the bound).

The oracle is the slowest, most obvious thing: for every pixel, take the window, keep the valid
samples, sum in float64.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pairscope import _boxcar, coherence
from tests.test_20_coherence import valid, window_slices


def direct_sums(ref: np.ndarray, sec: np.ndarray, window: tuple[int, int]):
    """Coherence and phase from direct float64 window sums over the valid samples (NaN: none)."""
    r = ref.astype(np.complex128)
    s = sec.astype(np.complex128)
    ok = valid(r, s)
    r = np.where(ok, r, 0)
    s = np.where(ok, s, 0)
    coh = np.full(ref.shape, np.nan)
    pha = np.full(ref.shape, np.nan)
    for i, j, win in window_slices(ref.shape, window):
        if not ok[win].any():
            continue
        cross = np.sum(r[win] * np.conj(s[win]))
        p1 = np.sum(np.abs(r[win]) ** 2)
        p2 = np.sum(np.abs(s[win]) ** 2)
        coh[i, j] = abs(cross) / np.sqrt(p1 * p2)
        pha[i, j] = np.angle(cross)
    return coh, pha


def direct_amplitude(ref: np.ndarray, sec: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """Amplitude (dB) from direct float64 window sums over the valid samples (NaN: none):
    10 log10 sqrt(p1 p2) / n."""
    r = ref.astype(np.complex128)
    s = sec.astype(np.complex128)
    ok = valid(r, s)
    p1 = np.where(ok, np.abs(r) ** 2, 0.0)
    p2 = np.where(ok, np.abs(s) ** 2, 0.0)
    out = np.full(ref.shape, np.nan)
    for i, j, win in window_slices(ref.shape, window):
        n = np.count_nonzero(ok[win])
        if n:
            out[i, j] = 10 * np.log10(np.sqrt(np.sum(p1[win]) * np.sum(p2[win])) / n)
    return out


def assert_amplitude_matches(amp, want, where=""):
    """Same NaNs; within 1e-6 dB or 1e-7 relative (float32 holds ~6e-8 relative)."""
    np.testing.assert_array_equal(np.isnan(amp), np.isnan(want), err_msg=where)
    ok = np.isfinite(want)
    err = np.abs(amp[ok].astype(np.float64) - want[ok])
    bound = np.maximum(1e-6, 1e-7 * np.abs(want[ok]))
    assert np.all(err <= bound), f"{where}: amplitude off by {err.max():.3g} dB"


def correlated(rng: np.random.Generator, shape, gamma=0.6, phase=0.8):
    """Two unit-power circular complex Gaussian images with coherence ``gamma`` (complex128)."""

    def cn():
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)

    x, y = cn(), cn()
    return x, (gamma * x + np.sqrt(1 - gamma**2) * y) * np.exp(-1j * phase)


def assert_matches(coh, pha, want_c, want_p, tol=1e-5, where=""):
    np.testing.assert_array_equal(np.isnan(coh), np.isnan(want_c), err_msg=where)
    ok = np.isfinite(want_c)
    err = np.abs(coh[ok].astype(np.float64) - want_c[ok])
    assert err.max(initial=0.0) <= tol, f"{where}: coherence off by {err.max():.3g}"
    # Phase on the circle, as an error of the complex coherence (phase is undefined at 0).
    dphi = np.abs(np.angle(np.exp(1j * (pha[ok].astype(np.float64) - want_p[ok]))))
    assert (dphi * want_c[ok]).max(initial=0.0) <= tol, f"{where}: phase off"
    strong = want_c[ok] > 0.1
    assert dphi[strong].max(initial=0.0) <= 10 * tol, f"{where}: phase off"


# ---------------------------------------------------------------------------------------------
# The robustness case of the issue: a bright strip, zero-filled columns, a dim region.

BRIGHT = 3e3  # amplitude factor: power 9e6 times normal
DIM = 1e-3  # amplitude factor: power 1e-6 times normal


def strip_scene(window: tuple[int, int], rotate: bool = False, seed: int = 5):
    """Columns: bright strip | zero fill (two windows wide) | dim region | normal region.

    The zero fill is ``2 * wr`` columns, so that every window holding a dim sample lies more than
    one window length from the bright strip (``rotate``: the same along rows, with ``2 * wa``)."""
    wa, wr = window
    w = wa if rotate else wr
    cols = [("bright", 40), ("gap", 2 * w), ("dim", 60), ("normal", 30)]
    n = sum(c for _, c in cols)
    rng = np.random.default_rng(seed)
    shape = (n, 3 * wr + 7) if rotate else (3 * wa + 7, n)
    a, b = correlated(rng, shape)
    scale = np.ones(n)
    start = 0
    spans = {}
    for name, width in cols:
        scale[start : start + width] = {"bright": BRIGHT, "gap": 0.0, "dim": DIM, "normal": 1.0}[name]
        spans[name] = (start, start + width)
        start += width
    scale = scale[:, None] if rotate else scale[None, :]
    return (a * scale).astype(np.complex64), (b * scale).astype(np.complex64), spans


@pytest.mark.parametrize("rotate", [False, True], ids=["columns", "rows"])
@pytest.mark.parametrize("window", [(5, 21), (3, 9), (4, 6)], ids=lambda w: f"{w[0]}x{w[1]}")
def test_bright_strip_does_not_reach_the_dim_region(window, rotate):
    a, b, _ = strip_scene(window, rotate)
    want_c, want_p = direct_sums(a, b, window)
    coh, pha = coherence.estimate(a, b, window)
    assert_matches(coh, pha, want_c, want_p, where="estimate")
    # the windows at the no-data edge (few valid samples) are among them
    # the shared-power path of estimate_pairs and the numpy fallback too
    p1 = _boxcar.power_sums(a, a, window)
    p2 = _boxcar.power_sums(b, b, window)
    c2, ph2, _ = _boxcar.coherence_sums(a, b, window, p1, p2)
    assert_matches(c2, ph2, want_c, want_p, where="shared powers")
    c3, ph3, _ = _boxcar._coherence_numpy(a, b, window[0], window[1], None, None)
    assert_matches(c3, ph3, want_c, want_p, where="numpy fallback")


@pytest.mark.parametrize("rotate", [False, True], ids=["columns", "rows"])
@pytest.mark.parametrize("window", [(5, 21), (3, 9), (4, 6)], ids=lambda w: f"{w[0]}x{w[1]}")
def test_amplitude_of_the_strip_scene(window, rotate):
    """The one-pass amplitude in the bright strip (~70 dB), at the zero fill's edges and in the
    dim region (~-60 dB) equals direct window sums: the bright strip's rounding does not reach
    the dim region."""
    a, b, spans = strip_scene(window, rotate)
    want = direct_amplitude(a, b, window)
    amp = coherence.estimate_amplitude(a, b, window)
    assert_amplitude_matches(amp, want, "estimate_amplitude")
    axis = 0 if rotate else 1
    inside = range(spans["dim"][0] + window[axis], spans["dim"][1] - window[axis])
    assert np.nanmax(np.take(want, inside, axis=axis)) < -55  # the dim region is in the test
    assert np.nanmin(np.take(want, range(*spans["bright"]), axis=axis)) > 60
    assert np.isnan(np.take(amp, [spans["gap"][0] + window[axis]], axis=axis)).all()


def test_no_data_edge_points_of_the_strip_scene():
    """Points whose windows hold one to a few dim samples next to the zero fill: each equals its
    direct window sums (one valid sample: coherence 1, the sample's phase)."""
    window = (5, 21)
    a, b, spans = strip_scene(window)
    start = spans["dim"][0]
    rlo = window[1] // 2
    coh, pha = coherence.estimate(a, b, window)
    _, _, count = _boxcar.coherence_sums(a, b, window)
    for j in range(start - rlo, start - rlo + 4):  # windows holding 1 .. 4 dim columns
        for i in (0, 4, a.shape[0] - 1):
            wc, wp = direct_sums(a[:, j - rlo : j + rlo + 1], b[:, j - rlo : j + rlo + 1], window)
            assert count[i, j] > 0
            assert coh[i, j] == pytest.approx(wc[i, rlo], abs=1e-5)
            assert np.angle(np.exp(1j * (pha[i, j] - wp[i, rlo]))) == pytest.approx(0, abs=1e-5)


def test_output_is_unchanged_by_anything_more_than_a_window_away():
    """Stronger than 1e-5: an output's arithmetic never touches samples outside its window and
    one window length before it, so changing them (even to 1e12 times the power) changes
    nothing, bit for bit."""
    window = (5, 21)
    wa, wr = window
    rng = np.random.default_rng(9)
    a, b = correlated(rng, (90, 400))
    a, b = a.astype(np.complex64), b.astype(np.complex64)
    coh, pha = coherence.estimate(a, b, window)
    # outputs in rows 40..49, columns 200..259; their windows reach rows 38..51, columns
    # 190..269; one window length before that: rows 33.., columns 169..
    keep = (slice(33, 52), slice(169, 270))
    far_a = (rng.standard_normal(a.shape) * 1e6).astype(np.complex64)
    far_b = (rng.standard_normal(b.shape) * 1e-6).astype(np.complex64)
    far_a[keep] = a[keep]
    far_b[keep] = b[keep]
    far_b[:20, :100] = 0  # and some no-data
    coh2, pha2 = coherence.estimate(far_a, far_b, window)
    out = (slice(40, 50), slice(200, 260))
    np.testing.assert_array_equal(coh2[out], coh[out])
    np.testing.assert_array_equal(pha2[out], pha[out])
    assert not np.array_equal(coh2, coh)  # the rest did change
    amp = coherence.estimate_amplitude(a, b, window)
    amp2 = coherence.estimate_amplitude(far_a, far_b, window)
    np.testing.assert_array_equal(amp2[out], amp[out])
    assert not np.array_equal(amp2, amp)


# ---------------------------------------------------------------------------------------------
# Property: dynamic ranges up to 1e12 in power.


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    window=st.tuples(st.integers(1, 6), st.integers(1, 12)),
    decades=st.floats(0.0, 12.0),
    n_regions=st.integers(1, 5),
)
def test_regions_spanning_twelve_decades(seed, window, decades, n_regions):
    """Column strips whose powers span up to 12 decades (log-uniform levels), separated by
    zero fill two windows wide, with random no-data holes and a smooth power ramp in each
    strip (up to a decade): every output matches direct window sums to 1e-5."""
    wa, wr = window
    rng = np.random.default_rng(seed)
    widths = rng.integers(1, 3 * wr + 2, n_regions)
    widths[0] = max(widths[0], wr)  # the image is at least a window wide
    gap = 2 * wr
    n = int(widths.sum() + gap * (n_regions - 1))
    rows = int(rng.integers(max(wa, 2), 3 * wa + 4))
    a, b = correlated(rng, (rows, n), gamma=float(rng.uniform(0, 1)), phase=float(rng.uniform(-3, 3)))
    amp = np.zeros(n)
    start = 0
    for width in widths:
        level = 10 ** (0.5 * rng.uniform(0, decades))  # amplitude: power spans `decades`
        ramp = 10 ** (0.5 * rng.uniform(0, min(decades, 1.0)) * np.linspace(0, 1, width))
        amp[start : start + width] = level * ramp
        start += width + gap
    a = (a * amp).astype(np.complex64)
    b = (b * amp * rng.uniform(0.5, 2)).astype(np.complex64)
    holes = rng.random(a.shape) < 0.05
    a[holes] = 0
    b[rng.random(b.shape) < 0.05] = np.nan
    want_c, want_p = direct_sums(a, b, window)
    coh, pha = coherence.estimate(a, b, window)
    assert_matches(coh, pha, want_c, want_p)
    c3, ph3, _ = _boxcar._coherence_numpy(a, b, wa, wr, None, None)
    assert_matches(c3, ph3, want_c, want_p, where="numpy fallback")
    amp = coherence.estimate_amplitude(a, b, window)
    assert_amplitude_matches(amp, direct_amplitude(a, b, window), "amplitude")


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    window=st.tuples(st.integers(1, 6), st.integers(1, 12)),
    decades=st.floats(0.0, 12.0),
)
def test_smooth_power_field_spanning_twelve_decades(seed, window, decades):
    """A power field that rises over up to 12 decades across the image (no neighbour within a
    window length more than ~1e4 brighter than a window) and varies sample to sample by a factor
    of 100: every output matches direct window sums to 1e-5."""
    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(max(3, window[0]), 30)), int(rng.integers(max(3, window[1]), 160)))
    a, b = correlated(rng, shape, gamma=float(rng.uniform(0, 1)))
    ii, jj = np.meshgrid(np.linspace(0, 1, shape[0]), np.linspace(0, 1, shape[1]), indexing="ij")
    log_power = decades * (0.3 * ii + 0.7 * jj) + rng.uniform(-1, 1, shape)
    amp = 10 ** (0.5 * log_power)
    a = (a * amp).astype(np.complex64)
    b = (b * amp).astype(np.complex64)
    want_c, want_p = direct_sums(a, b, window)
    coh, pha = coherence.estimate(a, b, window)
    assert_matches(coh, pha, want_c, want_p)


# ---------------------------------------------------------------------------------------------
# The numpy fallback (used when numba is missing) has the same semantics.


def test_numpy_fallback_matches_the_kernels(monkeypatch):
    import xarray as xr

    rng = np.random.default_rng(21)
    a, b = correlated(rng, (41, 97))
    a = (a * rng.uniform(0.1, 10, a.shape)).astype(np.complex64)
    b = b.astype(np.complex64)
    a[:, :4] = 0
    b[30:35, 40:70] = np.nan
    window = (5, 21)
    fast = _boxcar.coherence_sums(a, b, window)
    fast_power = _boxcar.power_sums(a, b, window)
    fast_blocks = _boxcar.block_sums(a, b, window)
    fast_ratio = _boxcar.ratio(fast_blocks, fast_blocks[2], fast_blocks[3])
    stack = xr.DataArray(np.stack([a, b, a * 0.5j]), dims=("date", "azimuth", "range"),
                         coords={"date": np.array(["2024-01-01", "2024-01-07", "2024-01-13"],
                                                  dtype="datetime64[ns]")})
    pairs = [(stack.date.values[0], stack.date.values[1]), (stack.date.values[1], stack.date.values[2])]
    fast_pairs = coherence.estimate_pairs(stack, pairs, window)
    fast_over = coherence.estimate_pairs_overview(stack, pairs, window)

    monkeypatch.setattr(_boxcar, "HAVE_NUMBA", False)
    slow = _boxcar.coherence_sums(a, b, window)
    for f, s in zip(fast, slow, strict=True):
        np.testing.assert_allclose(s, f, atol=1e-6, equal_nan=True)
    np.testing.assert_array_equal(slow[2], fast[2])
    # windows with nothing valid: 0 in numpy, a rounding residual (~1e-16 of the block's power)
    # in the kernel
    np.testing.assert_allclose(_boxcar.power_sums(a, b, window), fast_power, rtol=1e-6,
                               atol=1e-12 * fast_power.max())
    np.testing.assert_allclose(_boxcar.block_sums(a, b, window), fast_blocks, rtol=1e-9, atol=1e-6)
    blocks = _boxcar.block_sums(a, b, window)
    for f, s in zip(fast_ratio, _boxcar.ratio(blocks, blocks[2], blocks[3]), strict=True):
        np.testing.assert_allclose(s, f, atol=1e-6, equal_nan=True)
    slow_pairs = coherence.estimate_pairs(stack, pairs, window)
    slow_over = coherence.estimate_pairs_overview(stack, pairs, window)
    for name in ("coherence", "phase", "valid_count"):
        np.testing.assert_allclose(slow_pairs[name], fast_pairs[name], atol=1e-5, equal_nan=True)
        np.testing.assert_allclose(slow_over[name], fast_over[name], atol=1e-5, equal_nan=True)
