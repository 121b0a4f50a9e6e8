"""Geocoding radar grids onto map grids: checked on synthetic grids with a known mapping."""

from __future__ import annotations

import numpy as np
import pyproj
import pytest
import xarray as xr

from pairscope.geometry.geocoding import geocode, map_grid, project, utm_crs

UTM33 = pyproj.CRS.from_epsg(32633)
RES = 20.0


def radar_grid(
    na: int = 240, nr: int = 600
) -> tuple[np.ndarray, np.ndarray, xr.DataArray, xr.DataArray]:
    """A radar grid (range 2.86 m, azimuth 6.67 m, sheared by whole cells) with known UTM 33N
    positions; every sample sits >= 1.4 m from a cell edge, so its cell is unambiguous."""
    a = np.arange(na, dtype=float)[:, None]
    r = np.arange(nr, dtype=float)[None, :]
    x = 501_000.0 + RES / 7 * (r + 0.5) + RES * (a // 9)
    y = 4_600_000.0 - RES / 3 * (a + 0.5) - RES * (r // 50)
    to_ll = pyproj.Transformer.from_crs(UTM33, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(x, y)
    dims = ("azimuth", "range")
    return x, y, xr.DataArray(lat, dims=dims), xr.DataArray(lon, dims=dims)


def oracle_cells(
    x: np.ndarray, y: np.ndarray, x0: float, y0: float
) -> tuple[np.ndarray, np.ndarray]:
    return np.floor((y0 - y) / RES).astype(int), np.floor((x - x0) / RES).astype(int)


@pytest.fixture(scope="module")
def synthetic() -> tuple[np.ndarray, np.ndarray, xr.Dataset, xr.Dataset]:
    x, y, lat, lon = radar_grid()
    dims = ("pair", "azimuth", "range")
    ramp = np.stack([x / 45.0, -y / 37.0 + 0.3 * x / 45.0])
    ds = xr.Dataset(
        {
            "east": (dims, np.stack([x, x + 1.0])),
            "coherence": (
                dims,
                np.stack([np.full_like(x, 0.25), (y - y.min()) / np.ptp(y)]).astype(np.float32),
            ),
            "phase": (dims, np.angle(np.exp(1j * ramp)).astype(np.float32)),
            "layover_mask": (
                ("azimuth", "range"),
                ((np.arange(x.shape[1]) // 50) % 2 * np.ones_like(x)).astype(np.uint8),
            ),
        },
        coords={
            "pair": [0, 1],
            "reference": ("pair", np.array(["2024-01-01", "2024-01-13"], dtype="datetime64[ns]")),
            "azimuth": np.arange(x.shape[0]),
        },
        attrs={"burst_id": "T117_249435_IW2"},
    )
    ds["phase"].attrs["units"] = "rad"
    out = geocode(ds, lat, lon, resolution=RES)
    return x, y, ds, out


def test_grid_crs_origin_and_dims(
    synthetic: tuple[np.ndarray, np.ndarray, xr.Dataset, xr.Dataset],
) -> None:
    x, y, ds, out = synthetic
    assert out.rio.crs.to_epsg() == 32633  # UTM zone from the footprint (15 E, 41.5 N)
    t = out.rio.transform()
    assert t.a == RES and t.e == -RES
    assert t.c % RES == 0 and t.f % RES == 0  # CEOS-ARD: origin on multiples of the spacing
    assert t.c <= x.min() < t.c + RES and t.f - RES < y.max() <= t.f
    assert out.coherence.dims == ("pair", "y", "x") and out.layover_mask.dims == ("y", "x")
    np.testing.assert_array_equal(out.reference.values, ds.reference.values)
    assert out.attrs["burst_id"] == "T117_249435_IW2"
    assert float(out.x[0]) == t.c + RES / 2 and float(out.y[0]) == t.f - RES / 2
    assert out.phase.attrs["aggregation"] == "circular_mean"
    assert out.coherence.attrs["aggregation"] == "mean"
    assert out.layover_mask.attrs["aggregation"] == "nearest"


def test_every_sample_lands_in_its_cell(
    synthetic: tuple[np.ndarray, np.ndarray, xr.Dataset, xr.Dataset],
) -> None:
    x, y, ds, out = synthetic
    t = out.rio.transform()
    rows, cols = oracle_cells(x, y, t.c, t.f)
    # slow obvious oracle: per-cell mean of the true easting with np.add.at
    ny, nx = out.sizes["y"], out.sizes["x"]
    sums = np.zeros((ny, nx))
    counts = np.zeros((ny, nx), dtype=int)
    np.add.at(sums, (rows, cols), x)
    np.add.at(counts, (rows, cols), 1)
    np.testing.assert_array_equal(out.sample_count.values, counts)
    hit = counts > 0
    np.testing.assert_allclose(out.east.values[0][hit], sums[hit] / counts[hit], rtol=0, atol=1e-6)
    np.testing.assert_allclose(out.east.values[1][hit], sums[hit] / counts[hit] + 1.0, atol=1e-6)
    # hence each cell's mean easting lies inside that cell
    left = t.c + np.arange(nx) * RES
    assert np.all((out.east.values[0] >= left) & (out.east.values[0] < left + RES) | ~hit)
    assert np.all(out.coherence.values[0][hit] == np.float32(0.25))
    assert np.isnan(out.coherence.values[0][~hit & (out.coherence.values[0] != 0.25)]).all()


def test_phase_ramp_survives_without_wrap_artefacts(
    synthetic: tuple[np.ndarray, np.ndarray, xr.Dataset, xr.Dataset],
) -> None:
    x, y, ds, out = synthetic
    hit = out.sample_count.values > 0
    east = out.east.values[0]
    t = out.rio.transform()
    rows, cols = oracle_cells(x, y, t.c, t.f)
    north = np.full(hit.shape, np.nan)
    sums = np.zeros(hit.shape)
    np.add.at(sums, (rows, cols), y)
    north[hit] = sums[hit] / out.sample_count.values[hit]
    # a linear phase averages to the phase at the samples' centroid: compare on the circle
    for p, expected in enumerate([east / 45.0, -north / 37.0 + 0.3 * east / 45.0]):
        err = np.angle(np.exp(1j * (out.phase.values[p] - expected)))[hit]
        assert np.abs(err).max() < 2e-3
        # the ramp wraps many times across the grid: those cells are there and fine
        wraps = np.abs(np.diff(out.phase.values[p], axis=1)) > np.pi
        assert wraps.sum() > 100
    # a naive real mean would not survive: check the test can fail
    naive = geocode(ds[["phase"]], *radar_grid()[2:], aggregation={"phase": "mean"})
    err = np.angle(np.exp(1j * (naive.phase.values[0] - east / 45.0)))[hit]
    assert np.abs(err).max() > 1.0


def test_masks_use_nearest_and_keep_dtype(
    synthetic: tuple[np.ndarray, np.ndarray, xr.Dataset, xr.Dataset],
) -> None:
    x, y, ds, out = synthetic
    mask = out.layover_mask.values
    assert mask.dtype == np.uint8
    hit = out.sample_count.values > 0
    assert set(np.unique(mask[hit])) == {0, 1}
    assert (mask[~hit] == 255).sum() > 0  # outside the footprint: the dtype's fill value
    # nearest: each cell takes the value of the sample nearest its centre
    t = out.rio.transform()
    cx = out.x.values[None, :]
    cy = out.y.values[:, None]
    r = np.arange(x.shape[1])
    for i, j in zip(*np.nonzero(hit)[:2], strict=True):
        if (i + j) % 97:
            continue
        d2 = (x - cx[0, j]) ** 2 + (y - cy[i, 0]) ** 2
        a_best, r_best = np.unravel_index(np.argmin(d2), d2.shape)
        assert mask[i, j] == (r[r_best] // 50) % 2
    assert t.c % RES == 0


def test_small_holes_are_filled_but_the_outline_does_not_grow() -> None:
    x, y, lat, lon = radar_grid()
    values = np.ones_like(x)
    full = geocode(xr.Dataset({"coherence": (lat.dims, values)}), lat, lon, resolution=RES)
    t = full.rio.transform()
    rows, cols = oracle_cells(x, y, t.c, t.f)
    hit = full.sample_count.values > 0
    # outline: no cell outside the footprint got a value
    assert np.array_equal(np.isfinite(full.coherence.values), hit)
    # knock out every sample of one inner cell: it is refilled from its neighbours
    r0, c0 = np.argwhere(hit)[len(np.argwhere(hit)) // 2]
    holed = np.where((rows == r0) & (cols == c0), np.nan, values * 0.5)
    out = geocode(xr.Dataset({"coherence": (lat.dims, holed)}), lat, lon, resolution=RES)
    assert out.coherence.values[r0, c0] == pytest.approx(0.5)
    no_fill = geocode(
        xr.Dataset({"coherence": (lat.dims, holed)}), lat, lon, resolution=RES, fill_holes=False
    )
    assert np.isnan(no_fill.coherence.values[r0, c0])


def test_dataarray_numpy_grids_and_explicit_crs() -> None:
    x, y, lat, lon = radar_grid(60, 120)
    da = xr.DataArray(np.exp(1j * x / 100.0).astype(np.complex64), dims=lat.dims, name="slc")
    out = geocode(da, lat.values, lon.values, crs="EPSG:4326", resolution=0.001)
    assert out.rio.crs.to_epsg() == 4326 and out.slc.dtype == np.complex64
    assert out.x.attrs["units"] == "deg"
    t = out.rio.transform()
    assert np.isclose(t.c / 0.001, round(t.c / 0.001))
    assert np.nanmax(np.abs(out.slc.values)) <= 1.0 + 1e-6


def test_projection_table_matches_pyproj() -> None:
    rng = np.random.default_rng(0)
    lat = rng.uniform(41.0, 42.0, 5000)
    lon = rng.uniform(13.0, 16.0, 5000)
    x, y = project(lat, lon, UTM33)
    ex, ey = pyproj.Transformer.from_crs("EPSG:4326", UTM33, always_xy=True).transform(lon, lat)
    assert np.abs(x - ex).max() < 1e-3 and np.abs(y - ey).max() < 1e-3
    assert utm_crs(41.5, 15.0).to_epsg() == 32633
    assert utm_crs(-33.9, 151.2).to_epsg() == 32756
    assert utm_crs(0.0, 179.99).to_epsg() == 32660
    assert map_grid(np.array([10.0, 55.0]), np.array([-5.0, 39.0]), 20.0) == (0.0, 40.0, 3, 3)


def test_bad_inputs_say_what_is_wrong() -> None:
    x, y, lat, lon = radar_grid(10, 20)
    ds = xr.Dataset({"coherence": (lat.dims, np.ones(lat.shape))})
    with pytest.raises(ValueError, match="resolution"):
        geocode(ds, lat, lon, resolution=0)
    with pytest.raises(ValueError, match="same shape"):
        geocode(ds, lat, lon[:, :5])
    with pytest.raises(ValueError, match="too large"):
        geocode(ds, lat, lon, resolution=1e-6)
    with pytest.raises(ValueError, match="no finite"):
        geocode(ds, lat * np.nan, lon)
    with pytest.raises(ValueError, match="unknown aggregation"):
        geocode(ds, lat, lon, aggregation={"coherence": "median"})  # type: ignore[dict-item]
