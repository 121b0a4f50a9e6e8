"""The coherence estimator: fast kernel against a slow oracle, against theory, and its properties."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pairscope import _boxcar, coherence
from pairscope.pairs import select_pairs

# ---------------------------------------------------------------------------------------------
# The slow, obvious reference: loop over pixels, take the window, keep the valid samples, sum.


def valid(ref: np.ndarray, sec: np.ndarray) -> np.ndarray:
    """Samples valid in both images (finite and non-zero): what every estimator sums."""
    return np.isfinite(ref) & np.isfinite(sec) & (ref != 0) & (sec != 0)


def window_slices(shape: tuple[int, ...], window: tuple[int, int]):
    """(i, j, the window's slices) for every pixel, the window clipped at the edges."""
    wa, wr = window
    alo, ahi = wa // 2, wa - 1 - wa // 2
    rlo, rhi = wr // 2, wr - 1 - wr // 2
    for i in range(shape[0]):
        for j in range(shape[1]):
            yield i, j, (slice(max(i - alo, 0), i + ahi + 1), slice(max(j - rlo, 0), j + rhi + 1))


def oracle(ref: np.ndarray, sec: np.ndarray, window: tuple[int, int]):
    ref = ref.astype(np.complex128)
    sec = sec.astype(np.complex128)
    ok = valid(ref, sec)
    coh = np.full(ref.shape, np.nan)
    pha = np.full(ref.shape, np.nan)
    count = np.zeros(ref.shape, dtype=int)
    for i, j, win in window_slices(ref.shape, window):
        m = ok[win]
        count[i, j] = m.sum()
        if not m.any():
            continue
        r, s = ref[win][m], sec[win][m]
        cross = np.sum(r * np.conj(s))
        coh[i, j] = abs(cross) / np.sqrt(np.sum(abs(r) ** 2) * np.sum(abs(s) ** 2))
        pha[i, j] = np.angle(cross)
    return coh, pha, count


def circular_pair(rng: np.random.Generator, shape, gamma: float, phase: float = 0.0):
    """Two unit-power circular complex Gaussian images with coherence ``gamma``."""

    def cn(size):
        return (rng.standard_normal(size) + 1j * rng.standard_normal(size)) / np.sqrt(2)

    x, y = cn(shape), cn(shape)
    s1 = x
    s2 = (gamma * x + np.sqrt(1 - gamma**2) * y) * np.exp(-1j * phase)
    return s1.astype(np.complex64), s2.astype(np.complex64)


def with_holes(rng, a, b):
    a, b = a.copy(), b.copy()
    a.flat[rng.choice(a.size, a.size // 15, replace=False)] = np.nan
    b.flat[rng.choice(b.size, b.size // 15, replace=False)] = 0
    a[:, :3] = 0  # a zero-filled border, as openEO writes it
    b[-2:, :] = np.nan + 1j * np.nan
    a[10:16, 20:40] = 0  # a no-data patch bigger than small windows
    return a, b


WINDOWS = [(1, 1), (3, 3), (5, 21), (7, 28), (4, 6), (2, 9), (6, 2)]


@pytest.mark.parametrize("window", WINDOWS, ids=lambda w: f"{w[0]}x{w[1]}")
def test_kernel_equals_oracle(window):
    rng = np.random.default_rng(sum(window))
    a, b = circular_pair(rng, (37, 83), 0.6, 0.7)
    a *= rng.uniform(0.2, 5, a.shape).astype(np.float32)  # uneven power
    a, b = with_holes(rng, a, b)
    want_c, want_p, want_n = oracle(a, b, window)
    coh, pha = coherence.estimate(a, b, window)
    assert coh.dtype == np.float32 and pha.dtype == np.float32
    assert coh.shape == a.shape
    np.testing.assert_array_equal(np.isnan(coh), np.isnan(want_c))
    np.testing.assert_allclose(coh, want_c, atol=1e-5, equal_nan=True)
    # Compare phases on the circle (a wrap at +-pi is not an error).
    d = np.angle(np.exp(1j * (pha.astype(np.float64) - want_p)))
    assert np.nanmax(np.abs(d)) < 1e-5
    _, _, n = _boxcar.coherence_sums(a, b, window)
    np.testing.assert_array_equal(n, want_n)


def test_shared_power_sums_equal_own_power_sums():
    rng = np.random.default_rng(3)
    a, b = circular_pair(rng, (50, 70), 0.5)
    p1 = _boxcar.power_sums(a, a, (5, 7))
    p2 = _boxcar.power_sums(b, b, (5, 7))
    shared = _boxcar.coherence_sums(a, b, (5, 7), p1, p2)
    own = _boxcar.coherence_sums(a, b, (5, 7))
    np.testing.assert_allclose(shared[0], own[0], atol=1e-6)
    np.testing.assert_allclose(shared[1], own[1], atol=1e-6)


def test_window_with_nothing_valid_is_nan():
    a = np.zeros((10, 10), np.complex64)
    b = np.ones((10, 10), np.complex64)
    a[0, 0] = 1
    coh, pha = coherence.estimate(a, b, (3, 3))
    assert coh[0, 0] == pytest.approx(1.0) and pha[0, 0] == pytest.approx(0.0)
    assert np.isnan(coh[5, 5]) and np.isnan(pha[5, 5])
    assert np.count_nonzero(np.isfinite(coh)) == 4  # the 2 x 2 corner that sees (0, 0)


def test_phase_convention_minus_pi_is_pi():
    a = np.ones((3, 3), np.complex64)
    b = -np.ones((3, 3), np.complex64)
    _, pha = coherence.estimate(a, b, (3, 3))
    assert np.all(pha == np.float32(np.pi))


@pytest.mark.parametrize(
    "bad, message",
    [
        (dict(window=(0, 3)), ">= 1"),
        (dict(window=(3,)), "two positive integers"),
        (dict(window=(50, 3)), "larger than the image"),
    ],
)
def test_bad_windows_say_what_is_wrong(bad, message):
    a = np.ones((20, 20), np.complex64)
    with pytest.raises(ValueError, match=message):
        coherence.estimate(a, a, **bad)


def test_shape_mismatch_is_explained():
    with pytest.raises(ValueError, match="differ in shape"):
        coherence.estimate(np.ones((5, 5), np.complex64), np.ones((5, 6), np.complex64))


def test_fast_atan2_matches_numpy():
    rng = np.random.default_rng(0)
    y = np.concatenate([rng.standard_normal(10000), [0.0, -0.0, 1, -1, 0, 0, 1e-300]])
    x = np.concatenate([rng.standard_normal(10000), [-1.0, -1.0, 0, 0, 0, 1, -1]])
    got = np.array([_boxcar.fast_atan2(float(a), float(b)) for a, b in zip(y, x, strict=True)])
    want = np.arctan2(y, x)
    want[want <= -np.pi] = np.pi
    np.testing.assert_allclose(got, want, atol=1e-11)


def test_fast_log10_matches_numpy():
    """The branch-free log10 of the amplitude kernel, over the whole normal float64 range, at
    powers of two and at its reduction boundary sqrt(2) 2^e (both sides)."""
    rng = np.random.default_rng(0)
    edges = np.sqrt(2) * 2.0 ** np.arange(-200, 200)
    x = np.concatenate([
        10 ** rng.uniform(-307, 308, 20000), 2.0 ** np.arange(-1022, 1024), edges,
        np.nextafter(edges, 0), np.nextafter(edges, np.inf), [1.0, 10.0, 1e-300, 1.7e308],
    ])
    got = np.array([_boxcar.fast_log10(float(v)) for v in x])
    np.testing.assert_allclose(got, np.log10(x), rtol=1e-15, atol=1e-13)
    assert _boxcar.fast_log10(1.0) == 0.0


# ---------------------------------------------------------------------------------------------
# Theory: Touzi et al. (1999) bias, Cramer-Rao phase spread, bias correction.


def test_expected_coherence_closed_forms():
    # At zero coherence: Gamma(L) Gamma(3/2) / Gamma(L + 1/2); about sqrt(pi / 4L) for large L.
    from scipy.special import gamma as G

    for L in (2, 9, 105):
        want = G(L) * G(1.5) / G(L + 0.5)
        assert coherence.expected_sample_coherence(0.0, L) == pytest.approx(want, rel=1e-9)
    # One look: the sample coherence is always 1.
    np.testing.assert_allclose(coherence.expected_sample_coherence([0, 0.5, 0.9], 1), 1.0)
    # Monotone, above the truth, converging to it with looks.
    g = np.linspace(0, 1, 101)
    for L in (4, 9, 105):
        e = coherence.expected_sample_coherence(g, L)
        assert np.all(np.diff(e) >= 0) and np.all(e >= g - 1e-12)
    b9 = coherence.expected_sample_coherence(0.3, 9) - 0.3
    b105 = coherence.expected_sample_coherence(0.3, 105) - 0.3
    assert b9 > b105 > 0


def test_bias_correction_inverts_expectation():
    g = np.array([0.05, 0.2, 0.5, 0.8, 0.95, 0.999])
    for L in (9, 35, 105):
        back = coherence.bias_corrected_coherence(coherence.expected_sample_coherence(g, L), L)
        np.testing.assert_allclose(back, g, atol=2e-4)
    assert coherence.bias_corrected_coherence(0.01, 9) == 0.0
    assert np.isnan(coherence.bias_corrected_coherence(np.nan, 9))


@pytest.fixture(scope="module")
def theory_runs():
    """Sample coherence of simulated pairs with independent pixels, for each (g, window)."""
    rng = np.random.default_rng(2024)
    out = {}
    for window in [(3, 3), (5, 21)]:
        wa, wr = window
        for g in (0.0, 0.3, 0.6, 0.9):
            a, b = circular_pair(rng, (160, 840), g, phase=0.4)
            coh, pha = coherence.estimate(a, b, window)
            inner = (slice(wa, -wa), slice(wr, -wr))
            # Non-overlapping windows give independent estimates (for the spread of the phase).
            step = (slice(wa, -wa, wa), slice(wr, -wr, wr))
            out[window, g] = (coh[inner], pha[step])
    return out


@pytest.mark.parametrize("window", [(3, 3), (5, 21)], ids=["L9", "L105"])
@pytest.mark.parametrize("g", [0.0, 0.3, 0.6, 0.9])
def test_mean_sample_coherence_matches_touzi(theory_runs, window, g):
    coh, _ = theory_runs[window, g]
    L = window[0] * window[1]
    assert float(np.mean(coh)) == pytest.approx(
        float(coherence.expected_sample_coherence(g, L)), abs=0.01
    )


def test_phase_spread_matches_cramer_rao(theory_runs):
    _, pha = theory_runs[(5, 21), 0.9]
    spread = np.std(np.angle(np.exp(1j * (pha - 0.4))))
    assert spread == pytest.approx(float(coherence.phase_std(0.9, 105)), rel=0.10)
    assert np.mean(np.angle(np.exp(1j * (pha - 0.4)))) == pytest.approx(0.0, abs=0.01)


@pytest.mark.parametrize("g", [0.3, 0.6, 0.9])
def test_bias_corrected_mean_matches_truth(theory_runs, g):
    coh, _ = theory_runs[(5, 21), g]
    corrected = coherence.bias_corrected_coherence(coh, 105)
    assert float(np.mean(corrected)) == pytest.approx(g, abs=0.02)


def test_phase_std_bound():
    assert coherence.phase_std(1.0, 10) == 0.0
    assert coherence.phase_std(0.5, 8) == pytest.approx(np.sqrt(0.75) / (0.5 * 4))


# ---------------------------------------------------------------------------------------------
# Properties


# SLC-like dynamic range (power over 12 orders of magnitude) plus exact zeros (no-data). The
# running sums are float64: their absolute error is ~1e-16 of the largest power nearby, which the
# docs of pairscope._boxcar state; 1e26 : 1 neighbours are not SLC data.
complex_images = hnp.arrays(
    np.complex64,
    st.tuples(st.integers(4, 14), st.integers(6, 20)),
    elements=st.one_of(
        st.just(0j),
        st.complex_numbers(
            min_magnitude=1e-3, max_magnitude=1e3, allow_nan=False, allow_infinity=False, width=64
        ),
    ),
)
windows = st.tuples(st.integers(1, 4), st.integers(1, 6))


@settings(max_examples=60, deadline=None)
@given(complex_images, windows)
def test_self_coherence_is_one(img, window):
    coh, pha = coherence.estimate(img, img, window)
    ok = np.isfinite(coh)
    np.testing.assert_allclose(coh[ok], 1.0, atol=1e-5)
    np.testing.assert_allclose(pha[ok], 0.0, atol=1e-5)
    # NaN exactly where the window holds no non-zero sample.
    _, _, n = _boxcar.coherence_sums(img, img, window)
    np.testing.assert_array_equal(~ok, n == 0)


@settings(max_examples=60, deadline=None)
@given(st.integers(0, 2**32 - 1), windows, st.floats(0.05, 0.95))
def test_swap_negates_phase(seed, window, g):
    a, b = circular_pair(np.random.default_rng(seed), (12, 17), g)
    c1, p1 = coherence.estimate(a, b, window)
    c2, p2 = coherence.estimate(b, a, window)
    np.testing.assert_allclose(c1, c2, atol=1e-6)
    d = np.angle(np.exp(1j * (p1.astype(float) + p2)))
    assert np.max(np.abs(d)) < 1e-5


@settings(max_examples=60, deadline=None)
@given(
    st.integers(0, 2**32 - 1),
    windows,
    st.floats(0.1, 10),
    st.floats(-np.pi, np.pi),
)
def test_complex_scaling_only_shifts_phase(seed, window, magnitude, angle):
    a, b = circular_pair(np.random.default_rng(seed), (12, 17), 0.7)
    c0, p0 = coherence.estimate(a, b, window)
    k = np.complex64(magnitude * np.exp(1j * angle))
    c1, p1 = coherence.estimate(a * k, b, window)
    np.testing.assert_allclose(c1, c0, atol=1e-5)
    d = np.angle(np.exp(1j * (p1.astype(float) - p0 - angle)))
    assert np.max(np.abs(d)) < 1e-4


# ---------------------------------------------------------------------------------------------
# Pairs over a stack: numpy, dask, and one pair at a time agree.


@pytest.fixture(scope="module")
def stack():
    rng = np.random.default_rng(11)
    dates = np.array(["2024-08-09", "2024-08-15", "2024-08-21", "2024-08-27", "2024-09-02"],
                     dtype="datetime64[ns]")
    base, _ = circular_pair(rng, (61, 130), 0.0)
    images = []
    for k in range(len(dates)):
        _, noise = circular_pair(rng, base.shape, 0.0)
        images.append((0.8 * base + 0.6 * noise) * np.exp(1j * 0.3 * k))
    data = np.stack(images).astype(np.complex64)
    data[:, :, :4] = 0  # common no-data border
    data[2, 30:33, 50:60] = np.nan  # one date with a hole: its pairs need their own powers
    lat = np.linspace(45, 45.2, 61)[:, None] + np.zeros((1, 130))
    lon = np.linspace(10, 10.4, 130)[None, :] + np.zeros((61, 1))
    return xr.DataArray(
        data,
        dims=("date", "azimuth", "range"),
        coords={"date": dates, "latitude": (("azimuth", "range"), lat),
                "longitude": (("azimuth", "range"), lon)},
        attrs={"burst_id": "T117_249435_IW2", "polarization": "VV"},
    )


def test_estimate_pairs_numpy_dask_and_single_agree(stack):
    pairs = select_pairs(stack.date.values, max_temporal_baseline=12)
    assert len(pairs) == 7
    window = (5, 21)
    ds = coherence.estimate_pairs(stack, pairs, window)
    assert ds.coherence.dims == ("pair", "azimuth", "range")
    assert ds.coherence.dtype == np.float32 and ds.valid_count.dtype == np.int32
    assert list(ds.temporal_baseline.values) == [p.temporal_baseline for p in pairs]
    assert "latitude" in ds.coords and ds.latitude.dims == ("azimuth", "range")
    assert ds.attrs["window"] == "5x21" and ds.attrs["burst_id"] == "T117_249435_IW2"
    lazy = stack.chunk({"date": 1, "azimuth": 17, "range": 40})  # chunk borders inside windows
    dds = coherence.estimate_pairs(lazy, pairs, window)
    assert dds.coherence.chunks is not None  # still lazy
    dds = dds.compute()
    for k, p in enumerate(pairs):
        ref = stack.sel(date=p.reference).values
        sec = stack.sel(date=p.secondary).values
        coh, pha = coherence.estimate(ref, sec, window)
        np.testing.assert_allclose(ds.coherence[k], coh, atol=1e-6, equal_nan=True)
        np.testing.assert_allclose(dds.coherence[k], coh, atol=1e-6, equal_nan=True)
        np.testing.assert_allclose(ds.phase[k], pha, atol=1e-5, equal_nan=True)
        np.testing.assert_allclose(dds.phase[k], pha, atol=1e-5, equal_nan=True)
    np.testing.assert_array_equal(ds.valid_count.values, dds.valid_count.values)


def test_estimate_pairs_accepts_date_tuples_and_bias_correction(stack):
    d = stack.date.values
    ds = coherence.estimate_pairs(stack, [(d[0], d[1]), ("2024-08-15", "20240827")], (5, 5))
    assert list(ds.pair.values) == ["20240809_20240815", "20240815_20240827"]
    bc = coherence.estimate_pairs(stack, [(d[0], d[1])], (5, 5), bias_corrected=True)
    raw = ds.coherence[0].values
    fixed = bc.coherence[0].values
    ok = np.isfinite(raw)
    assert np.all(fixed[ok] <= raw[ok] + 1e-6)  # the correction only ever lowers
    assert bc.attrs["bias_corrected"] == 1
    lazy = coherence.estimate_pairs(stack.chunk({"azimuth": 20}), [(d[0], d[1])], (5, 5),
                                    bias_corrected=True)
    np.testing.assert_allclose(lazy.coherence.values[0], fixed, atol=1e-6, equal_nan=True)


def test_estimate_pairs_errors(stack):
    with pytest.raises(ValueError, match="not in the stack"):
        coherence.estimate_pairs(stack, [("2024-08-09", "2030-01-01")])
    with pytest.raises(ValueError, match="no pairs"):
        coherence.estimate_pairs(stack, [])
    with pytest.raises(ValueError, match="dims"):
        coherence.estimate_pairs(stack.isel(date=0), [])


def amplitude_oracle(ref: np.ndarray, sec: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """The slow, obvious amplitude: for each pixel, the window's samples valid in both images,
    10 log10 sqrt(mean |s1|^2 mean |s2|^2) in float64; NaN where none is valid."""
    ref = ref.astype(np.complex128)
    sec = sec.astype(np.complex128)
    ok = valid(ref, sec)
    out = np.full(ref.shape, np.nan)
    for i, j, win in window_slices(ref.shape, window):
        m = ok[win]
        if m.any():
            i1 = np.mean(np.abs(ref[win][m]) ** 2)
            i2 = np.mean(np.abs(sec[win][m]) ** 2)
            out[i, j] = 10 * np.log10(np.sqrt(i1 * i2))
    return out


def three_pass_amplitude(ref: np.ndarray, sec: np.ndarray, window: tuple[int, int]) -> np.ndarray:
    """estimate_amplitude as it was before its one-pass kernel: two power_sums passes and one
    coherence_sums pass for the count, then numpy (float32 power sums)."""
    p1 = _boxcar.power_sums(ref, sec, window).astype(np.float64)
    p2 = _boxcar.power_sums(sec, ref, window).astype(np.float64)
    _, _, count = _boxcar.coherence_sums(ref, sec, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        db = 10.0 * np.log10(np.sqrt(p1 * p2) / count)
    return np.where((count > 0) & np.isfinite(db), db, np.nan).astype(np.float32)


def assert_amplitude(amp: np.ndarray, want: np.ndarray, where: str = "") -> float:
    """Same NaNs; elsewhere within 1e-6 dB or 1e-7 relative (float32 holds ~6e-8 relative).
    Returns the largest difference in dB."""
    assert amp.dtype == np.float32 and amp.shape == want.shape
    np.testing.assert_array_equal(np.isnan(amp), np.isnan(want), err_msg=where)
    ok = np.isfinite(want)
    err = np.abs(amp[ok].astype(np.float64) - want[ok])
    bound = np.maximum(1e-6, 1e-7 * np.abs(want[ok]))
    assert np.all(err <= bound), f"{where}: amplitude off by {err.max():.3g} dB"
    return float(err.max(initial=0.0))


@pytest.mark.parametrize("window", WINDOWS + [(1, 12), (5, 1)], ids=lambda w: f"{w[0]}x{w[1]}")
def test_amplitude_equals_oracle(window):
    """Every pixel, edges included, against direct window sums over the samples valid in both
    (NaN and zero no-data in either image, a zero patch larger than small windows); the same
    as the three-pass implementation it replaces, and as the numpy fallback."""
    rng = np.random.default_rng(40 + sum(window))
    a, b = circular_pair(rng, (37, 83), 0.6, 0.7)
    a *= rng.uniform(0.2, 5, a.shape).astype(np.float32)  # uneven power
    b *= np.float32(30.0)  # the two images at different levels
    a, b = with_holes(rng, a, b)
    want = amplitude_oracle(a, b, window)
    amp = coherence.estimate_amplitude(a, b, window)
    assert_amplitude(amp, want, "kernel")
    assert_amplitude(three_pass_amplitude(a, b, window), want, "three passes")
    np.testing.assert_allclose(amp, three_pass_amplitude(a, b, window), rtol=1e-6, atol=1e-6)
    _, _, count = _boxcar.coherence_sums(a, b, window)
    np.testing.assert_array_equal(np.isnan(amp), count == 0)


def test_amplitude_of_windows_with_nothing_valid_is_nan():
    """No valid sample (zeros in one image, NaN in the other, never both valid) gives NaN; one
    valid sample gives its own amplitude; a window at the edge counts only what it holds."""
    a = np.zeros((10, 12), np.complex64)
    b = np.full((10, 12), 2 + 0j, np.complex64)
    a[0, 0] = 3j
    a[6:, :] = 1
    b[6:, 6:] = np.nan
    amp = coherence.estimate_amplitude(a, b, (3, 3))
    assert amp[0, 0] == pytest.approx(10 * np.log10(3 * 2), rel=1e-7)
    assert amp[1, 1] == pytest.approx(10 * np.log10(3 * 2), rel=1e-7)
    assert np.isnan(amp[0, 2]) and np.isnan(amp[3, 5])
    assert np.count_nonzero(np.isfinite(amp[:5])) == 4  # the 2 x 2 corner that sees (0, 0)
    assert np.isnan(amp[8, 8])  # a valid, b NaN
    assert amp[9, 0] == pytest.approx(10 * np.log10(2), rel=1e-7)
    assert_amplitude(amp, amplitude_oracle(a, b, (3, 3)))
    assert np.all(np.isnan(coherence.estimate_amplitude(a[2:5], b[2:5], (3, 3))))


def test_amplitude_numpy_fallback_matches_the_kernel(monkeypatch):
    rng = np.random.default_rng(11)
    a, b = circular_pair(rng, (41, 97), 0.4)
    a, b = with_holes(rng, a * np.float32(1e3), b)
    fast = _boxcar.amplitude_db(a, b, (5, 21))
    monkeypatch.setattr(_boxcar, "HAVE_NUMBA", False)
    slow = coherence.estimate_amplitude(a, b, (5, 21))
    assert_amplitude(slow, amplitude_oracle(a, b, (5, 21)), "numpy fallback")
    np.testing.assert_allclose(slow, fast, rtol=1e-7, atol=1e-6, equal_nan=True)


def test_amplitude_against_window_loops() -> None:
    """estimate_amplitude = 10 log10 sqrt(mean|s1|^2 mean|s2|^2) over the samples valid in both."""
    rng = np.random.default_rng(7)
    shape = (40, 50)
    a = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64) * 3
    b = (rng.normal(size=shape) + 1j * rng.normal(size=shape)).astype(np.complex64)
    a[:4] = 0
    b[10:12, 20:30] = np.nan
    amp = coherence.estimate_amplitude(a, b, (5, 7))
    lo_a, hi_a, lo_r, hi_r = 2, 2, 3, 3
    for i in range(shape[0]):
        for j in range(0, shape[1], 7):
            sa = a[max(0, i - lo_a): i + hi_a + 1, max(0, j - lo_r): j + hi_r + 1]
            sb = b[max(0, i - lo_a): i + hi_a + 1, max(0, j - lo_r): j + hi_r + 1]
            ok = np.isfinite(sa) & np.isfinite(sb) & (sa != 0) & (sb != 0)
            if not ok.any():
                assert np.isnan(amp[i, j])
                continue
            want = 10 * np.log10(np.sqrt(np.mean(np.abs(sa[ok]) ** 2) * np.mean(np.abs(sb[ok]) ** 2)))
            assert abs(amp[i, j] - want) < 1e-4, (i, j)


# ---------------------------------------------------------------------------------------------
# What the estimator cannot do right is refused, with a PairscopeError that is a ValueError.

from pairscope.errors import InputError, PairscopeError, WindowError  # noqa: E402


@pytest.mark.parametrize(
    "given, want",
    [
        ("5x21", (5, 21)),
        (" 3 X 9 ", (3, 9)),
        ((5, 21), (5, 21)),
        ([5, 21], (5, 21)),
        (np.array([4, 6]), (4, 6)),
        ((np.int64(2), np.int32(7)), (2, 7)),
        ((5.0, 21.0), (5, 21)),  # exactly integral floats are taken
    ],
)
def test_parse_window_accepts_the_usual_spellings(given, want):
    got = coherence.parse_window(given)
    assert got == want and all(type(w) is int for w in got)
    assert coherence.check_window is coherence.parse_window


@pytest.mark.parametrize(
    "bad, message",
    [
        ((5.7, 21), "whole"),  # never truncated to 5
        ((5, 20.5), "whole"),
        ((0, 3), ">= 1"),
        ((-1, 3), ">= 1"),
        ((3,), "two positive integers"),
        ((1, 2, 3), "two positive integers"),
        ("5x", "look like '5x21'"),
        ("5*21", "look like '5x21'"),
        (5, "two positive integers"),
        ((True, 3), "two positive integers"),
        (("5", 21), "two positive integers"),
        (None, "two positive integers"),
        ([[5], [21]], "two positive integers"),
    ],
)
def test_parse_window_refuses_with_a_window_error(bad, message):
    with pytest.raises(WindowError, match=message) as err:
        coherence.parse_window(bad)
    assert isinstance(err.value, InputError) and isinstance(err.value, PairscopeError)
    assert isinstance(err.value, ValueError)


def test_window_larger_than_the_image_names_the_largest_allowed():
    with pytest.raises(WindowError, match=r"at most 20 x 21"):
        coherence.parse_window((50, 21), shape=(3, 20, 30))
    with pytest.raises(WindowError, match=r"at most 5 x 30"):
        coherence.parse_window("5x31", shape=(20, 30))
    assert coherence.parse_window("20x30", shape=(20, 30)) == (20, 30)


def test_estimators_refuse_non_integer_windows():
    a, b = circular_pair(np.random.default_rng(1), (20, 40), 0.5)
    with pytest.raises(WindowError, match="whole"):
        coherence.estimate(a, b, (5.7, 21))
    with pytest.raises(WindowError, match="whole"):
        coherence.estimate_amplitude(a, b, (5, 2.5))
    c1, _ = coherence.estimate(a, b, (5.0, 21.0))
    c2, _ = coherence.estimate(a, b, "5x21")
    np.testing.assert_array_equal(c1, c2)


@pytest.mark.parametrize(
    "make",
    [
        lambda a: a.real,  # float32: phase would be 0 or pi
        lambda a: np.abs(a).astype(np.float64),
        lambda a: np.round(a.real * 100).astype(np.int16),
        lambda a: np.ones(a.shape, dtype=bool),
    ],
    ids=["float32", "float64", "int16", "bool"],
)
def test_non_complex_samples_are_refused(make):
    a, b = circular_pair(np.random.default_rng(2), (20, 40), 0.5)
    with pytest.raises(InputError, match="complex"):
        coherence.estimate(make(a), b)
    with pytest.raises(InputError, match="complex"):
        coherence.estimate(a, make(b))
    with pytest.raises(InputError, match="complex"):
        coherence.estimate_amplitude(make(a), b)


def test_masked_arrays_are_refused():
    a, b = circular_pair(np.random.default_rng(3), (20, 40), 0.5)
    masked = np.ma.masked_array(a, mask=np.abs(a) < 0.1)
    with pytest.raises(InputError, match="masked array.*filled"):
        coherence.estimate(masked, b)
    with pytest.raises(InputError, match="masked"):
        coherence.estimate(a, np.ma.masked_array(b))
    # the advice works: masked samples as 0 are no-data
    coh, _ = coherence.estimate(masked.filled(0), b, (3, 3))
    assert np.isfinite(coh).all()


def test_stacks_of_real_numbers_are_refused(stack):
    pairs = [(stack.date.values[0], stack.date.values[1])]
    with pytest.raises(InputError, match="complex"):
        coherence.estimate_pairs(abs(stack), pairs)
    with pytest.raises(InputError, match="complex"):
        coherence.estimate_pairs(abs(stack).chunk({"azimuth": 20}), pairs)
    with pytest.raises(InputError, match="complex"):
        coherence.estimate_pairs_overview(abs(stack), pairs)
    with pytest.raises(WindowError, match="whole"):
        coherence.estimate_pairs(stack, pairs, (5.5, 21))


def test_phase_std_refuses_coherence_outside_0_1():
    for bad in (-0.1, 1.0001, [0.5, 2.0], [-1e-9, 0.5]):
        with pytest.raises(InputError, match=r"\[0, 1\]"):
            coherence.phase_std(bad, 10)
    out = coherence.phase_std([np.nan, 0.5, 1.0], 10)
    assert np.isnan(out[0]) and out[2] == 0.0
    assert out[1] == pytest.approx(np.sqrt(0.75) / (0.5 * np.sqrt(20)))
    with pytest.raises(InputError, match="looks"):
        coherence.phase_std(0.5, 0)


@pytest.mark.parametrize("bad", [0, -3, 10.5, np.nan, "9", True])
def test_theory_refuses_bad_look_counts(bad):
    with pytest.raises(InputError, match="looks"):
        coherence.expected_sample_coherence(0.5, bad)
    with pytest.raises(InputError, match="looks"):
        coherence.bias_corrected_coherence(0.5, bad)


def test_expected_coherence_refuses_truth_outside_0_1():
    with pytest.raises(InputError, match=r"\[0, 1\]"):
        coherence.expected_sample_coherence([0.2, 1.5], 9)
    assert np.isnan(coherence.expected_sample_coherence(np.nan, 9))


# ---------------------------------------------------------------------------------------------
# Theory for any look count: bounded time, the mixture form against Touzi's series.


@pytest.mark.parametrize("looks", [65, 105, 300, 1000, 2500])
def test_mixture_form_equals_touzis_series(looks):
    """Where both apply the bounded-cost form (negative binomial mixture, its integral where
    that is wide) and the exact 3F2 series agree to 1e-4 (in fact ~1e-9)."""
    g = np.array([0.0, 0.01, 0.03, 0.1, 0.2, 0.4, 0.6, 0.8, 0.9, 0.97, 0.99, 0.995])
    series = np.array([coherence._expected_scalar(float(x), looks) for x in g])
    mixture = coherence._expected_mixture(g, looks)
    np.testing.assert_allclose(mixture, series, atol=1e-4, rtol=0)
    assert np.max(np.abs(mixture - series)) < 1e-8


@pytest.mark.parametrize("looks", [257, 300, 1500, 7777, 100_003, 10**9 + 7])
def test_curves_between_cached_look_counts(looks):
    """Beyond 256 looks curves are interpolated between look counts 2^(1/16) apart: within 1e-5
    of the curve computed for the look count itself."""
    direct = coherence._expected_mixture(coherence._GRID, looks)
    np.testing.assert_allclose(
        coherence.expected_sample_coherence(coherence._GRID, looks), direct, atol=1e-5, rtol=0
    )


def test_huge_look_counts_take_well_under_a_second():
    import time

    g = np.array([0.0, 0.1, 0.3, 0.6, 0.9])
    for looks in (150 * 600, 10**9):
        coherence._curve_exact.cache_clear()
        coherence._curve_on_grid.cache_clear()
        start = time.perf_counter()
        e = coherence.expected_sample_coherence(g, looks)
        back = coherence.bias_corrected_coherence(e, looks)
        assert time.perf_counter() - start < 5.0  # a generous bound; it takes ~0.1 s
        # Large-L limits: sqrt(pi / 4L) at g = 0, g + (1 - g^2)^2 / (4 L g) above
        assert e[0] == pytest.approx(np.sqrt(np.pi / (4 * looks)), rel=1e-3)
        bias = (1 - g[1:] ** 2) ** 2 / (4 * looks * g[1:])
        np.testing.assert_allclose(e[1:] - g[1:], bias, rtol=0.02, atol=1e-12)
        np.testing.assert_allclose(back[1:], g[1:], atol=1e-4)


def test_curve_cache_is_bounded():
    for cached in (coherence._curve_exact, coherence._curve_on_grid):
        assert cached.cache_info().maxsize is not None and cached.cache_info().maxsize <= 512
    # look counts beyond 256 share grid curves (16 per doubling): 300 .. 319 looks need the
    # curves at 256 * 2^(j/16) for j = 3 .. 6 only
    coherence._curve_on_grid.cache_clear()
    for looks in range(300, 320):
        coherence.expected_sample_coherence(0.5, looks)
    assert coherence._curve_on_grid.cache_info().currsize == 4


def test_checking_a_lazy_stack_reads_none_of_it() -> None:
    """The input checks look at a dask array's dtype only: they never compute it (a full-size
    pair's batch run read its whole stack once more for them)."""
    import dask
    import dask.array as da

    from pairscope.coherence import _check_samples

    calls: list[int] = []

    def block(x: np.ndarray) -> np.ndarray:
        calls.append(1)
        return x

    lazy = da.from_array(np.ones((8, 16), np.complex64), chunks=(4, 8)).map_blocks(block)
    calls.clear()
    with dask.config.set(scheduler="synchronous"):
        _check_samples("reference", lazy)
    assert calls == []
    with pytest.raises(Exception, match="complex"):
        _check_samples("reference", lazy.real)
    assert calls == []
