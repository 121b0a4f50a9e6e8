"""The overview: coherence of many pairs on non-overlapping windows (a decimated grid), against a
slow oracle, numpy against dask, its coordinates, and its mean against full resolution."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from pairscope import coherence
from pairscope.pairs import select_pairs


def window_oracle(ref: np.ndarray, sec: np.ndarray, window: tuple[int, int]):
    """Coherence, phase and count of every non-overlapping window (rows p*wa.., columns q*wr..,
    the far-edge windows cut by the image): direct float64 sums over the samples valid in both."""
    wa, wr = window
    rows, cols = ref.shape
    shape = (-(-rows // wa), -(-cols // wr))
    coh = np.full(shape, np.nan)
    pha = np.full(shape, np.nan)
    count = np.zeros(shape, dtype=int)
    for p in range(shape[0]):
        for q in range(shape[1]):
            win = (slice(p * wa, (p + 1) * wa), slice(q * wr, (q + 1) * wr))
            r = ref[win].astype(np.complex128)
            s = sec[win].astype(np.complex128)
            ok = np.isfinite(r) & np.isfinite(s) & (r != 0) & (s != 0)
            count[p, q] = ok.sum()
            if not ok.any():
                continue
            cross = np.sum(r[ok] * np.conj(s[ok]))
            coh[p, q] = abs(cross) / np.sqrt(np.sum(abs(r[ok]) ** 2) * np.sum(abs(s[ok]) ** 2))
            pha[p, q] = np.angle(cross)
    return coh, pha, count


def make_stack(shape, n_dates=5, seed=11, dims=("azimuth", "range")):
    rng = np.random.default_rng(seed)
    dates = np.datetime64("2024-08-09", "ns") + np.arange(n_dates) * np.timedelta64(6, "D")

    def cn(size):
        return (rng.standard_normal(size) + 1j * rng.standard_normal(size)) / np.sqrt(2)

    base = cn(shape)
    images = [(0.8 * base + 0.6 * cn(shape)) * np.exp(1j * 0.3 * k) for k in range(n_dates)]
    data = np.stack(images).astype(np.complex64)
    data[:, :, :3] = 0  # a common no-data border
    data[2, 20:24, 30:52] = np.nan  # one date with a hole: its pairs need their own powers
    data[:, 40:46, 60:90] = 0  # a patch bigger than a window: windows with nothing valid
    rows, cols = shape
    lat = np.linspace(45, 45.2, rows)[:, None] + np.linspace(0, 0.01, cols)[None, :]
    lon = np.linspace(10, 10.4, cols)[None, :] + np.zeros((rows, 1))
    return xr.DataArray(
        data,
        dims=("date",) + dims,
        coords={
            "date": dates,
            "latitude": (dims, lat),
            "longitude": (dims, lon),
            dims[0]: np.arange(rows) * 2.0,
            dims[1]: np.arange(cols) * 0.5 + 100.0,
        },
        attrs={"burst_id": "T117_249435_IW2", "polarization": "VV"},
    )


@pytest.fixture(scope="module")
def stack():
    return make_stack((63, 131))  # not a multiple of the windows: the far-edge windows are cut


@pytest.mark.parametrize("window", [(5, 21), (4, 6), (1, 1), (3, 10)], ids=lambda w: f"{w[0]}x{w[1]}")
def test_overview_equals_window_oracle(stack, window):
    pairs = select_pairs(stack.date.values, max_temporal_baseline=12)
    ds = coherence.estimate_pairs_overview(stack, pairs, window)
    wa, wr = window
    out_shape = (-(-63 // wa), -(-131 // wr))
    assert ds.coherence.dims == ("pair", "azimuth", "range")
    assert ds.coherence.shape == (len(pairs),) + out_shape
    assert ds.coherence.dtype == np.float32 and ds.valid_count.dtype == np.int32
    assert ds.attrs["overview"] == 1 and ds.attrs["window"] == f"{wa}x{wr}"
    assert ds.attrs["burst_id"] == "T117_249435_IW2"
    assert list(ds.temporal_baseline.values) == [p.temporal_baseline for p in pairs]
    for k, p in enumerate(pairs):
        want_c, want_p, want_n = window_oracle(
            stack.sel(date=p.reference).values, stack.sel(date=p.secondary).values, window
        )
        np.testing.assert_array_equal(ds.valid_count[k].values, want_n)
        np.testing.assert_array_equal(np.isnan(ds.coherence[k].values), np.isnan(want_c))
        np.testing.assert_allclose(ds.coherence[k].values, want_c, atol=1e-6, equal_nan=True)
        d = np.angle(np.exp(1j * (ds.phase[k].values.astype(np.float64) - want_p)))
        assert np.nanmax(np.abs(d)) < 1e-5
    assert np.isnan(ds.coherence.values).any()  # the no-data patch


def test_overview_numpy_and_dask_agree(stack):
    pairs = select_pairs(stack.date.values, max_temporal_baseline=24)
    window = (5, 21)
    ds = coherence.estimate_pairs_overview(stack, pairs, window)
    lazy = stack.chunk({"date": 1, "azimuth": 17, "range": 40})  # chunks not aligned to windows
    dds = coherence.estimate_pairs_overview(lazy, pairs, window)
    assert dds.coherence.chunks is not None  # still lazy
    dds = dds.compute()
    np.testing.assert_array_equal(dds.valid_count.values, ds.valid_count.values)
    np.testing.assert_allclose(dds.coherence.values, ds.coherence.values, atol=1e-6, equal_nan=True)
    np.testing.assert_allclose(dds.phase.values, ds.phase.values, atol=1e-6, equal_nan=True)
    for name in ("latitude", "longitude", "azimuth", "range"):
        np.testing.assert_allclose(dds[name].values, ds[name].values)


def test_overview_coordinates_at_window_centres(stack):
    pairs = [(stack.date.values[0], stack.date.values[1])]
    # odd window: the centre sample; 63 rows = 12 windows of 5 + one of 3 (centre: row 61)
    ds = coherence.estimate_pairs_overview(stack, pairs, (5, 21))
    rows = np.array([2, 7, 12, 17, 22, 27, 32, 37, 42, 47, 52, 57, 61])
    cols = np.array([10, 31, 52, 73, 94, 115, 128])  # the last window: columns 126..130
    np.testing.assert_allclose(ds.azimuth.values, stack.azimuth.values[rows])
    np.testing.assert_allclose(ds.range.values, stack.range.values[cols])
    np.testing.assert_allclose(ds.latitude.values, stack.latitude.values[np.ix_(rows, cols)])
    np.testing.assert_allclose(ds.longitude.values, stack.longitude.values[np.ix_(rows, cols)])
    assert ds.latitude.dims == ("azimuth", "range")
    # even window: the mean of the central samples; 131 columns = 21 windows of 6 + one of 5
    ds = coherence.estimate_pairs_overview(stack, pairs, (4, 6))
    lat = stack.latitude.values
    centre = (lat[1, 2] + lat[1, 3] + lat[2, 2] + lat[2, 3]) / 4
    assert ds.latitude.values[0, 0] == pytest.approx(centre)
    assert ds.range.values[-1] == pytest.approx(stack.range.values[128])  # columns 126..130
    assert ds.azimuth.values[-1] == pytest.approx(stack.azimuth.values[61])  # rows 60..62
    assert ds.latitude.shape == (16, 22)


def test_overview_on_a_map_grid():
    """Stacks on ("date", "y", "x") (CEOS-ARD GSLC) keep their dimension names."""
    stack = make_stack((40, 60), n_dates=3, dims=("y", "x"))
    d = stack.date.values
    ds = coherence.estimate_pairs_overview(stack, [(d[0], d[2])], "4x6")
    assert ds.coherence.dims == ("pair", "y", "x") and ds.coherence.shape == (1, 10, 10)
    np.testing.assert_allclose(ds.x.values, (stack.x.values[2::6] + stack.x.values[3::6]) / 2)


def test_overview_mean_agrees_with_full_resolution():
    """Each overview value is the same estimator on a window of the same size, so a pair's mean
    coherence is the full-resolution mean up to sampling noise: on 200 x 420 samples (800 windows
    of 5 x 21, per-window spread ~0.07) the means agree within 0.01 (about 4 standard errors)."""
    rng = np.random.default_rng(2024)
    shape = (200, 420)
    dates = np.datetime64("2024-08-09", "ns") + np.arange(4) * np.timedelta64(12, "D")

    def cn():
        return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)

    base = cn()
    gammas = [0.9, 0.7, 0.5, 0.3]
    data = np.stack([g * base + np.sqrt(1 - g * g) * cn() for g in gammas]).astype(np.complex64)
    stack = xr.DataArray(data, dims=("date", "azimuth", "range"), coords={"date": dates})
    pairs = select_pairs(dates)  # all 6 pairs: coherences 0.09 .. 0.63
    full = coherence.estimate_pairs(stack, pairs, (5, 21))
    over = coherence.estimate_pairs_overview(stack, pairs, (5, 21))
    assert over.coherence.shape == (6, 40, 20)
    full_mean = full.coherence.mean(dim=("azimuth", "range")).values
    over_mean = over.coherence.mean(dim=("azimuth", "range")).values
    np.testing.assert_allclose(over_mean, full_mean, atol=0.01)
    # and both sit at Touzi's expectation for 105 looks
    order = {(p.reference, p.secondary): k for k, p in enumerate(pairs)}
    for i in range(4):
        for j in range(i + 1, 4):
            k = order[(dates[i], dates[j])]
            want = float(coherence.expected_sample_coherence(gammas[i] * gammas[j], 105))
            assert over_mean[k] == pytest.approx(want, abs=0.01)


def test_overview_refuses_what_estimate_pairs_refuses(stack):
    with pytest.raises(ValueError, match="not in the stack"):
        coherence.estimate_pairs_overview(stack, [("2024-08-09", "2030-01-01")])
    with pytest.raises(ValueError, match="no pairs"):
        coherence.estimate_pairs_overview(stack, [])
    with pytest.raises(ValueError, match="larger than the image"):
        coherence.estimate_pairs_overview(stack, [tuple(stack.date.values[:2])], (64, 5))
