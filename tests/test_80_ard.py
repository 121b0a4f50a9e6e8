"""CEOS-ARD inputs (pairscope.io.ard, pairscope.sim.ard): GSLC and NRB + flattened phase in map geometry.

Checks: the GSLC and NRB collections of the demo give the same coherence and phase to float32
precision; both agree with the radar-geometry estimate after geocoding within what resampling
explains; their phase is flattened (it follows the simulated truth, no topographic fringes); the
real OPERA CSLC-S1 file's grid, CRS, burst id and dates; the look vector grid against
pairscope.geometry; grids that differ are refused; the data mask is honoured by the estimator.
"""

from __future__ import annotations

import json
import pathlib
import warnings
from typing import Any

import dask.array
import numpy as np
import pyproj
import pytest
import rasterio
import rasterio.errors
import xarray as xr
from affine import Affine

from pairscope import coherence, geometry, pipeline
from pairscope.bursts import parse_burst_id
from pairscope.errors import AssetError, GridMismatchError
from pairscope.geometry.geocoding import geocode
from pairscope.io import ard
from pairscope.io.export import validate_item
from pairscope.io.rasters import open_slc_stack
from pairscope.sim.ard import GSLC_COLLECTION, NRB_COLLECTION

BURST = "T117_249435_IW2"
MAP_WINDOW = (7, 15)  # 70 m x 75 m on the 10 m x 5 m grid, the ground size of the radar 5 x 21
RADAR_WINDOW = (5, 21)  # 5 lines x 14 m, 21 samples x 3.7 m on the ground


# ----------------------------------------------------------------------------------------------
# fixtures
@pytest.fixture(scope="module")
def stacks(ard_catalog: pathlib.Path) -> dict[str, xr.DataArray]:
    gslc = ard.open_ard_stack(ard_catalog, BURST, collection=GSLC_COLLECTION).load()
    nrb = ard.open_ard_stack(ard_catalog, BURST, collection=NRB_COLLECTION).load()
    return {"gslc": gslc, "nrb": nrb}


@pytest.fixture(scope="module")
def pair(stacks: dict[str, xr.DataArray]) -> tuple[np.datetime64, np.datetime64]:
    dates = stacks["gslc"]["date"].values
    return dates[2], dates[3]  # 6 days, around the reference date


@pytest.fixture(scope="module")
def map_estimates(
    stacks: dict[str, xr.DataArray], pair: tuple[np.datetime64, np.datetime64]
) -> dict[str, xr.Dataset]:
    return {k: coherence.estimate_pairs(s, [pair], MAP_WINDOW).isel(pair=0) for k, s in stacks.items()}


def _read(path: pathlib.Path, names: list[str] | None = None) -> dict[str, np.ndarray]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            desc = list(src.descriptions)
            return {n: src.read(desc.index(n) + 1) for n in (names or desc)}


# ----------------------------------------------------------------------------------------------
# the demo collections
def test_demo_collections_carry_ceos_ard_fields(ard_catalog: pathlib.Path, test_data: pathlib.Path) -> None:
    root = ard_catalog.parent
    children = [
        link["href"] for link in json.loads(ard_catalog.read_text())["links"] if link["rel"] == "child"
    ]
    assert f"./{GSLC_COLLECTION}/collection.json" in children
    assert f"./{NRB_COLLECTION}/collection.json" in children
    for cid, spec in ((GSLC_COLLECTION, "GSLC"), (NRB_COLLECTION, "NRB")):
        coll = json.loads((root / cid / "collection.json").read_text())
        assert coll["summaries"]["ceosard:specification"] == [spec]
        items = [json.loads((root / cid / link["href"]).read_text()) for link in coll["links"] if link["rel"] == "item"]
        assert len(items) == 6
        for item in items:
            p = item["properties"]
            assert (p["ceosard:type"], p["ceosard:specification"], p["sar:product_type"]) == ("radar", spec, spec)
            assert ard.ard_specification(p) == spec
            assert p["sat:relative_orbit"] == 117 and p["sat:orbit_state"] == "ascending"
            assert p["proj:code"] == "EPSG:32632"
            for key in ("s1:asf_burst_id", "s1:opera_burst_id", "pairscope:burst_id"):
                assert parse_burst_id(p[key]).canonical == BURST
            assert any(link["rel"] == "ceos-ard-specification" for link in item["links"])
            mask = item["assets"]["data-mask"]
            assert {c["value"] for c in mask["classification:classes"]} == set(ard.DATA_MASK_CLASSES)
            has_look = "look-vector-grid" in item["assets"]
            assert has_look == (spec == "GSLC")  # NRB: computed from the orbit asset
            assert "orbit" in item["assets"]
        # offline schema validation: STAC core and the sar/sat extensions (schemas in tests/data)
        result = validate_item(items[0], test_data / "stac" / "schemas")
        assert {v for k, v in result.items() if "item-spec" in k or "/sar/" in k or "/sat/" in k} == {"valid"}
    # ARD products of the first burst only: the neighbour bursts have radar-geometry SLCs alone
    for cid in (GSLC_COLLECTION, NRB_COLLECTION):
        bursts = {json.loads(p.read_text())["properties"]["pairscope:burst_id"]
                  for p in (root / cid).glob("*/*.json")}  # fmt: skip
        assert bursts == {BURST}
    # the radar-geometry SLCs of the same burst are still what the SLC reader returns
    slc = open_slc_stack(ard_catalog, BURST, dates=["2025-06-17"])
    assert slc.dims == ("date", "azimuth", "range")


def test_gslc_and_nrb_give_the_same_pair_to_float32_precision(
    stacks: dict[str, xr.DataArray], map_estimates: dict[str, xr.Dataset]
) -> None:
    g, n = stacks["gslc"], stacks["nrb"]
    assert g.dims == n.dims == ("date", "y", "x") and g.dtype == n.dtype == np.complex64
    assert g.rio.crs == n.rio.crs and g.rio.transform() == n.rio.transform()
    # the samples: sqrt(gamma0) * exp(i * phase) gives the GSLC back to float32 rounding
    gz, nz = g.values, n.values
    valid = gz != 0
    assert valid.mean() > 0.5 and np.array_equal(valid, nz != 0)
    rel = np.abs(gz[valid] - nz[valid]) / np.abs(gz[valid])
    assert rel.max() < 4 * np.finfo(np.float32).eps
    # the pair: complex coherence rho = coherence * exp(i phase) equal to float32 precision
    eg, en = map_estimates["gslc"], map_estimates["nrb"]
    rho_g = eg["coherence"].values * np.exp(1j * eg["phase"].values)
    rho_n = en["coherence"].values * np.exp(1j * en["phase"].values)
    assert np.array_equal(np.isnan(rho_g), np.isnan(rho_n))
    assert np.array_equal(eg["valid_count"].values, en["valid_count"].values)
    ok = np.isfinite(rho_g)
    assert np.abs(rho_g[ok] - rho_n[ok]).max() < 1e-5
    assert eg.rio.crs == g.rio.crs  # the estimate keeps the map grid


def _distinct_looks(stack: xr.DataArray, window: tuple[int, int]) -> int:
    """Fewest distinct samples in a full map window: nearest-neighbour geocoding repeats some
    radar samples on neighbouring map pixels (identical complex values) and skips others."""
    z = stack.isel(date=0).values
    wy, wx = window
    counts = [
        len(np.unique(z[i : i + wy, j : j + wx]))
        for i in range(0, z.shape[0] - wy, wy)
        for j in range(0, z.shape[1] - wx, wx)
        if (z[i : i + wy, j : j + wx] != 0).all()
    ]
    assert len(counts) > 100
    return int(min(counts))


def test_gslc_agrees_with_radar_geometry_after_geocoding(
    ard_catalog: pathlib.Path, stacks: dict[str, xr.DataArray], pair: tuple[np.datetime64, np.datetime64]
) -> None:
    """The same pair estimated on the radar grid (5 x 21) then geocoded to 20 m (mean per cell),
    against the GSLC and NRB estimates (7 x 15 map pixels, the same ground size) averaged over the
    same 20 m cells (2 x 4 map pixels; both grids snap to multiples of 20 m).

    Tolerances, from the estimator's theory, not from this data: the two estimates use different
    samples (the windows are rotated against each other by the track heading, and the map window
    holds only L_map distinct radar samples, measured below, against 105), so
    - their mean differs at most by the gap between the Touzi bias curves of L_map and 105
      looks (largest at coherence 0);
    - their RMS difference is below sqrt(2) times the standard deviation of a sample coherence
      of L_map looks at coherence 0 (its largest), the value for two independent estimates;
      shared samples only make it smaller;
    - on coherent cells (> 0.6) the phase difference is below sqrt(2) times the Cramer-Rao phase
      standard deviation at 0.6, and its circular mean below a tenth of that (no offset).
    """
    c = pipeline.compare_representations(ard_catalog, BURST, pair[0], pair[1], radar_window=RADAR_WINDOW)
    assert c.attrs["map_window"] == f"{MAP_WINDOW[0]}x{MAP_WINDOW[1]}"
    assert c.rio.crs == stacks["gslc"].rio.crs
    interior = c["full_window"].values & np.isfinite(c["coherence_radar"].values)
    assert interior.sum() > 2000
    # GSLC and NRB: the same numbers after aggregation too
    assert np.nanmax(np.abs(c["coherence_gslc"] - c["coherence_nrb"]).values) < 1e-5

    full = RADAR_WINDOW[0] * RADAR_WINDOW[1]
    looks_map = _distinct_looks(stacks["gslc"], MAP_WINDOW)
    assert 40 <= looks_map < full
    g_grid = np.linspace(0.0, 0.99, 100)
    bias_gap = np.max(
        np.abs(
            coherence.expected_sample_coherence(g_grid, looks_map)
            - coherence.expected_sample_coherence(g_grid, full)
        )
    )
    sigma0 = np.sqrt(1.0 / looks_map - coherence.expected_sample_coherence(0.0, looks_map) ** 2)
    phase_tol = np.sqrt(2.0) * float(coherence.phase_std(0.6, looks_map))
    radar = c["coherence_radar"].values
    coherent = interior & (radar > 0.6)
    assert coherent.sum() > 500
    for kind in ("gslc", "nrb"):
        diff = (c[f"coherence_{kind}"].values - radar)[interior]
        assert abs(diff.mean()) < bias_gap
        assert np.sqrt(np.mean(diff**2)) < np.sqrt(2.0) * sigma0
        dphi = np.angle(np.exp(1j * (c[f"phase_{kind}"].values - c["phase_radar"].values)))[coherent]
        assert np.sqrt(np.mean(dphi**2)) < phase_tol
        assert abs(np.angle(np.mean(np.exp(1j * dphi)))) < phase_tol / 10


def test_gslc_phase_is_flattened(ard_catalog: pathlib.Path, stacks: dict[str, xr.DataArray]) -> None:
    """The GSLC pair's phase is the simulated truth (deformation + atmosphere + residual DEM
    error): the topographic phase of the relief, 4 pi / lambda * B_perp * h / (R sin(theta)),
    is not in it (flattening, eq. 3-7). Shown on the pair with the longest perpendicular
    baseline, where leaving the topography in would miss the truth by radians."""
    root = ard_catalog.parent
    items = {}
    for path in (root / GSLC_COLLECTION).glob("*/*.json"):
        item = json.loads(path.read_text())
        items[item["properties"]["datetime"][:10]] = item["properties"]["pairscope:perpendicular_baseline"]
    days = sorted(items)
    i, j = max(
        ((a, b) for a in range(len(days)) for b in range(a + 1, len(days))),
        key=lambda p: abs(items[days[p[1]]] - items[days[p[0]]]),
    )
    pair = (np.datetime64(days[i], "ns"), np.datetime64(days[j], "ns"))
    est = coherence.estimate_pairs(stacks["gslc"], [pair], MAP_WINDOW).isel(pair=0)
    compact = [d.replace("-", "") for d in (days[i], days[j])]
    truth = _read(root / "pairscope-demo-slc" / "truth.tif", [f"phase_{d}" for d in compact])
    geo = _read(next((root / "pairscope-demo-slc").glob(f"*_{compact[0]}_*/slc.tif")), ["grid_lat", "grid_lon"])
    true_rho = np.exp(1j * (truth[f"phase_{compact[0]}"] - truth[f"phase_{compact[1]}"]).astype(np.float64))
    mapped = geocode(
        xr.Dataset({"truth": (("azimuth", "range"), true_rho)}),
        geo["grid_lat"], geo["grid_lon"], crs="EPSG:32632", resolution=20.0, fill_holes=False,
    )
    layers = ard.open_ard_layers(ard_catalog, BURST, collection=GSLC_COLLECTION, compute_look_vectors=False)
    h, r, inc = (layers[v].astype(np.float64) for v in ("height", "slant_range", "incidence_angle"))
    dbperp = items[days[j]] - items[days[i]]
    topo = 4 * np.pi / geometry.SENTINEL1_WAVELENGTH * dbperp * h / (r * np.sin(np.radians(inc)))
    cells = {"y": 2, "x": 4}
    m_coh = est["coherence"].coarsen(cells).mean()
    m_rho = (est["coherence"] * np.exp(1j * est["phase"])).coarsen(cells).mean()
    m_topo = topo.coarsen(cells).mean()
    t, g, c, tp = xr.align(mapped["truth"], m_rho, m_coh, m_topo, join="inner")
    ok = np.isfinite(g.values) & np.isfinite(t.values) & np.isfinite(tp.values) & (c.values > 0.6)
    assert ok.sum() > 500
    residual = np.angle(g.values[ok] * np.conj(t.values[ok]))
    assert np.sqrt(np.mean(residual**2)) < 0.2
    assert np.ptp(np.angle(t.values[ok])) > 0.5  # there is a signal to match
    # the same comparison with the relief's phase left in (up to a constant) misses by radians
    unflattened = np.angle(np.exp(1j * (residual + tp.values[ok] - tp.values[ok].mean())))
    assert np.sqrt(np.mean(unflattened**2)) > 1.0


def test_look_vector_grid_agrees_with_geometry(ard_catalog: pathlib.Path) -> None:
    layers = ard.open_ard_layers(ard_catalog, BURST, collection=GSLC_COLLECTION).load()
    assert layers.attrs["look_vector_source"] == "product"
    ref = layers.attrs["date"]
    item_dir = next((ard_catalog.parent / GSLC_COLLECTION).glob(f"*_{ref.replace('-', '')}_*"))
    item = json.loads(next(item_dir.glob("*.json")).read_text())
    orbit = geometry.Orbit.from_eof(item_dir / item["assets"]["orbit"]["href"])
    valid = layers["data_mask"].values == ard.MASK_VALID
    xx, yy = np.meshgrid(layers["x"].values, layers["y"].values)
    lon, lat = pyproj.Transformer.from_crs(layers.rio.crs, "EPSG:4326", always_xy=True).transform(
        xx[valid], yy[valid]
    )
    expected = geometry.look_geometry(orbit, lat, lon, layers["height"].values[valid].astype(np.float64))
    for c in "xyz":
        got = layers[f"look_{c}"].values[valid]
        assert np.max(np.abs(got - expected[f"look_{c}"].values)) < 1e-6
        assert np.nanmax(np.abs(layers[f"look_{c}_difference"].values)) < 1e-6
    norm = np.sqrt(sum(layers[f"look_{c}"].values[valid].astype(np.float64) ** 2 for c in "xyz"))
    assert np.abs(norm - 1).max() < 1e-6
    assert np.all(layers["look_z"].values[valid] < 0) == (lat.mean() > 0)  # looking down, north
    slant = layers["slant_range"].values[valid]
    assert np.abs(slant - expected["slant_range"].values).max() < 0.1  # float32 of ~880 km
    assert 30 < np.nanmean(layers["incidence_angle"].values) < 45
    # NRB products carry no look vector grid: computed from their orbit, the same vectors
    nrb = ard.open_ard_layers(ard_catalog, BURST, collection=NRB_COLLECTION).load()
    assert nrb.attrs["look_vector_source"].startswith("computed from the orbit")
    for c in "xyz":
        assert np.nanmax(np.abs(nrb[f"look_{c}"].values - layers[f"look_{c}"].values)) < 1e-6


def test_data_mask_no_data_is_excluded_from_the_window_sums(
    stacks: dict[str, xr.DataArray], map_estimates: dict[str, xr.Dataset], ard_catalog: pathlib.Path
) -> None:
    layers = ard.open_ard_layers(ard_catalog, BURST, collection=GSLC_COLLECTION, compute_look_vectors=False)
    mask = layers["data_mask"].values
    assert set(np.unique(mask)) <= set(ard.DATA_MASK_CLASSES)
    assert (mask == ard.MASK_NO_DATA).any() and (mask == ard.MASK_VALID).mean() > 0.5
    g = stacks["gslc"].values
    assert np.all(g[:, mask != ard.MASK_VALID] == 0)
    count = map_estimates["gslc"]["valid_count"].values
    assert np.all(count[mask == ard.MASK_NO_DATA] < MAP_WINDOW[0] * MAP_WINDOW[1])


# ----------------------------------------------------------------------------------------------
# estimator with a data mask: oracle
def _map_array(values: Any, x0: float = 500_000.0, y0: float = 5_000_000.0, dx: float = 5.0, dy: float = -10.0) -> xr.DataArray:
    ny, nx = values.shape[-2:]
    coords = {"y": y0 + (np.arange(ny) + 0.5) * dy, "x": x0 + (np.arange(nx) + 0.5) * dx}
    dims = ("date", "y", "x") if values.ndim == 3 else ("y", "x")
    if values.ndim == 3:
        coords["date"] = np.array(["2025-06-05", "2025-06-11"], dtype="datetime64[ns]")[: values.shape[0]]
    return xr.DataArray(values, dims=dims, coords=coords).rio.write_crs("EPSG:32632")


def test_apply_data_mask_matches_an_oracle_without_the_masked_samples() -> None:
    rng = np.random.default_rng(3)
    shape = (40, 60)
    z = (rng.normal(size=(2, *shape)) + 1j * rng.normal(size=(2, *shape))).astype(np.complex64)
    z[1] = (0.8 * z[0] + 0.6 * (rng.normal(size=shape) + 1j * rng.normal(size=shape))).astype(np.complex64)
    mask = np.zeros(shape, dtype=np.uint8)
    mask[10:20, 15:30] = ard.MASK_LAYOVER
    mask[30:, :5] = ard.MASK_NO_DATA
    mask[0, :] = ard.MASK_INVALID
    stack = ard.apply_data_mask(_map_array(z), _map_array(mask))
    window = (5, 7)
    est = coherence.estimate_pairs(stack, [tuple(stack["date"].values)], window).isel(pair=0)
    ok = mask == 0
    wa, wr = window[0] // 2, window[1] // 2
    for i, j in [(12, 20), (9, 14), (25, 3), (1, 40), (20, 30), (35, 2)]:
        sl = (slice(max(i - wa, 0), i + wa + 1), slice(max(j - wr, 0), j + wr + 1))
        a, b, w = z[0][sl], z[1][sl], ok[sl]
        if not w.any():
            assert np.isnan(est["coherence"].values[i, j])
            continue
        num = np.sum((a * np.conj(b))[w].astype(np.complex128))
        den = np.sqrt(np.sum(np.abs(a[w]) ** 2.0) * np.sum(np.abs(b[w]) ** 2.0))
        assert est["valid_count"].values[i, j] == w.sum()
        assert est["coherence"].values[i, j] == pytest.approx(abs(num) / den, abs=1e-5)
        assert est["phase"].values[i, j] == pytest.approx(np.angle(num), abs=1e-4)


def test_nrb_to_complex_is_eq20_in_linear_power() -> None:
    gamma0 = _map_array(np.array([[4.0, 0.25, -0.01], [np.nan, 1.0, 0.0]], dtype=np.float32))
    phase = _map_array(np.array([[0.5, -3.0, 1.0], [0.0, np.pi, 2.0]], dtype=np.float32))
    z = ard.nrb_to_complex(gamma0, phase).values
    assert z.dtype == np.complex64
    assert z[0, 0] == pytest.approx(2.0 * np.exp(0.5j), rel=1e-6)
    assert z[0, 1] == pytest.approx(0.5 * np.exp(-3.0j), rel=1e-6)
    assert z[0, 2] == 0 and z[1, 2] == 0  # dark (noise-subtracted) pixels: invalid
    assert np.isnan(z[1, 0])
    with pytest.raises(ValueError, match="differ"):
        ard.nrb_to_complex(gamma0, phase.isel(x=slice(0, 2)))


# ----------------------------------------------------------------------------------------------
# files: GeoTIFF readers and grid checks
def _write_tif(path: pathlib.Path, bands: list[np.ndarray], names: list[str], transform: Affine, tags: dict[str, str] | None = None) -> pathlib.Path:
    data = np.stack(bands)
    with rasterio.open(
        path, "w", driver="GTiff", height=data.shape[1], width=data.shape[2], count=len(bands),
        dtype=str(data.dtype), crs="EPSG:32632", transform=transform,
    ) as dst:
        dst.write(data)
        for i, n in enumerate(names, start=1):
            dst.set_band_description(i, n)
        if tags:
            dst.update_tags(**tags)
    return path


@pytest.fixture()
def samples() -> np.ndarray:
    rng = np.random.default_rng(7)
    return (rng.normal(size=(3, 12, 16)) + 1j * rng.normal(size=(3, 12, 16))).astype(np.complex64)


def test_open_gslc_reads_complex_and_iq_files_alike(tmp_path: pathlib.Path, samples: np.ndarray) -> None:
    t = Affine(5.0, 0.0, 600_000.0, 0.0, -10.0, 5_100_000.0)
    days = ["20250605", "20250611", "20250617"]
    cplx = [_write_tif(tmp_path / f"gslc_{d}_VV.tif", [s], ["VV"], t) for d, s in zip(days, samples, strict=True)]
    iq = [
        _write_tif(tmp_path / f"iq_{k}.tif", [s.real, s.imag], ["i_VV", "q_VV"], t, {"ACQUISITION_DATETIME": f"{d[:4]}-{d[4:6]}-{d[6:]}T17:07:30"})
        for k, (d, s) in enumerate(zip(days, samples, strict=True))
    ]
    a = ard.open_gslc(cplx[::-1])  # dates from the file names; sorted
    b = ard.open_gslc(iq)  # dates from the GeoTIFF tags
    assert a.dims == ("date", "y", "x") and a.dtype == np.complex64
    assert list(a["date"].values) == list(b["date"].values)
    assert str(a["date"].values[0])[:10] == "2025-06-05"
    np.testing.assert_array_equal(a.values, samples)
    np.testing.assert_array_equal(b.values, samples)
    assert a.rio.crs.to_epsg() == 32632 and a.rio.transform() == t
    # NRB files of the same samples give them back (eq. 20)
    g = [_write_tif(tmp_path / f"g_{d}.tif", [np.abs(s) ** 2], ["gamma0_VV"], t) for d, s in zip(days, samples, strict=True)]
    p = [_write_tif(tmp_path / f"p_{d}.tif", [np.angle(s)], ["flattened_phase_VV"], t) for d, s in zip(days, samples, strict=True)]
    n = ard.open_nrb(g, p)
    np.testing.assert_allclose(n.values, samples, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="pass dates"):
        ard.open_gslc([_write_tif(tmp_path / "nodate.tif", [samples[0]], ["VV"], t)])
    with pytest.raises(AssetError, match="neither a complex band nor i/q"):
        ard.open_gslc([_write_tif(tmp_path / "x_20250605.tif", [samples[0].real], ["amplitude"], t)])


@pytest.mark.parametrize(
    ("transform", "what"),
    [
        (Affine(5.0, 0.0, 600_005.0, 0.0, -10.0, 5_100_000.0), "origin"),
        (Affine(5.0, 0.0, 600_000.0, 0.0, -10.0, 5_099_990.0), "origin"),
        (Affine(10.0, 0.0, 600_000.0, 0.0, -10.0, 5_100_000.0), "spacing"),
    ],
)
def test_gslc_pair_on_different_grids_is_refused(
    tmp_path: pathlib.Path, samples: np.ndarray, transform: Affine, what: str
) -> None:
    t = Affine(5.0, 0.0, 600_000.0, 0.0, -10.0, 5_100_000.0)
    a = _write_tif(tmp_path / "a_20250605.tif", [samples[0]], ["VV"], t)
    b = _write_tif(tmp_path / "b_20250611.tif", [samples[1]], ["VV"], transform)
    with pytest.raises(GridMismatchError, match=what) as err:
        ard.open_gslc([a, b])
    assert "b_20250611.tif" in str(err.value) and "reproject_match" in str(err.value)
    # the same check guards the data mask
    mask = _map_array(np.zeros((12, 16), dtype=np.uint8), x0=600_000.0, y0=5_100_000.0)
    stack = ard.open_gslc([b]).load()
    with pytest.raises(GridMismatchError, match="data mask"):
        ard.apply_data_mask(stack, mask)


# ----------------------------------------------------------------------------------------------
# OPERA CSLC-S1 (real file: real grid and metadata, zero pixels)
@pytest.fixture(scope="module")
def opera_file(test_data: pathlib.Path) -> pathlib.Path:
    return next((test_data / "opera").glob("OPERA_L2_CSLC-S1_*.h5"))


def test_opera_cslc_layout(opera_file: pathlib.Path) -> None:
    import h5py

    meta = ard.opera_cslc_metadata(opera_file)
    # what the file name says (T087-185683-IW2, 20221228T161651Z, S1A, VV) agrees with the metadata
    name = opera_file.name.split("_")
    assert parse_burst_id(name[3]).canonical == meta["burst_id"] == "T087_185683_IW2"
    assert str(meta["date"])[:10] == "2022-12-28"
    assert str(meta["acquisition_time"]).startswith("2022-12-28T16:16:51.013157")
    assert name[4] == "20221228T161651Z"
    assert meta["platform"] == "sentinel-1a" and name[6] == "S1A"
    assert meta["polarizations"] == ["VV"] and name[7] == "VV"
    assert (meta["orbit_state"], meta["relative_orbit"], meta["absolute_orbit"]) == ("descending", 87, 46534)
    assert meta["flattened"] is True
    assert meta["wavelength"] == pytest.approx(geometry.SPEED_OF_LIGHT / 5.405e9, rel=1e-6)

    stack = ard.open_gslc([opera_file])
    assert stack.dims == ("date", "y", "x") and stack.dtype == np.complex64
    assert stack.shape == (1, 4917, 20622)
    assert stack.rio.crs.to_epsg() == 32605  # WGS 84 / UTM 5N (Hawaii)
    t = stack.rio.transform()
    assert (t.a, t.e, t.c, t.f) == (5.0, -10.0, 157_320.0, 2_172_300.0)
    assert t.c % 5 == 0 and t.f % 10 == 0  # snapped grid
    assert stack.attrs["burst_id"] == "T087_185683_IW2"
    assert str(stack["acquisition_time"].values[0]).startswith("2022-12-28T16:16:51")
    with h5py.File(opera_file) as f:  # pixel centres are the file's own coordinates
        np.testing.assert_array_equal(stack["x"].values, f["data/x_coordinates"][()])
        np.testing.assert_array_equal(stack["y"].values, f["data/y_coordinates"][()])
    # lazy: a window reads only its pixels (the real file's pixels are zeros: no data)
    window = stack.isel(y=slice(2000, 2010), x=slice(10_000, 10_020)).values
    assert window.shape == (1, 10, 20) and np.all(window == 0)
    # a GSLC of another burst grid cannot be paired with it
    other = _map_array(dask.array.zeros((1, 4917, 20622), dtype=np.complex64), x0=157_325.0, y0=2_172_300.0)
    other = other.rio.write_crs(32605)
    with pytest.raises(GridMismatchError, match="origin"):
        ard.check_same_grid(stack, other, ("OPERA", "other"))


def test_ard_stack_errors_are_clear(ard_catalog: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="collection="):
        ard.open_ard_stack(ard_catalog, BURST)  # GSLC and NRB both hold the burst
    with pytest.raises(ValueError, match="no GSLC product on 2025-06-06"):
        ard.open_ard_stack(ard_catalog, BURST, dates=["2025-06-06"], collection=GSLC_COLLECTION)



def test_opera_cslc_through_a_stac_catalog(opera_file: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """A static catalog with the real OPERA file as an item asset: read as a GSLC stack, its
    orbit (HDF5 state vectors) puts the file's own burst centre at the burst's mid range."""
    import h5py
    import pystac

    from pairscope.io.catalog import open_catalog
    from pairscope.io.items import acquisition_from_item, item_burst_id
    from pairscope.io.orbits import open_orbit

    item = pystac.Item(
        id=opera_file.name.removesuffix(".h5"),
        geometry=None,
        bbox=None,
        datetime=np.datetime64("2022-12-28T16:16:51", "s").astype(object),
        properties={"product:type": "CSLC-S1", "platform": "sentinel-1a"},
    )
    item.add_asset("VV", pystac.Asset(href=str(opera_file), media_type="application/x-hdf5", roles=["data"]))
    coll = pystac.Collection(
        id="opera-cslc", description="OPERA CSLC-S1 (test)",
        extent=pystac.Extent(pystac.SpatialExtent([[-156.0, 19.0, -155.0, 20.0]]), pystac.TemporalExtent([[None, None]])),
    )
    coll.add_item(item)
    cat = pystac.Catalog(id="t", description="t")
    cat.add_child(coll)
    cat.normalize_hrefs(str(tmp_path / "cat"))
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    path = tmp_path / "cat" / "catalog.json"
    assert ard.list_ard_collections(path) == {}  # no summaries: found per item instead
    stack = ard.open_ard_stack(path, "t087_185683_iw2")
    assert stack.shape == (1, 4917, 20622) and stack.rio.crs.to_epsg() == 32605
    assert stack.attrs["ceosard_specification"] == "GSLC" and stack.attrs["burst_id"] == "T087_185683_IW2"
    assert str(stack["date"].values[0])[:10] == "2022-12-28"
    with pytest.raises(AssetError, match="no per-pixel metadata layer"):
        ard.open_ard_layers(path, "T087_185683_IW2")  # OPERA ships them as CSLC-S1-STATIC

    stac_item = next(iter(open_catalog(path).search_items()))
    orbit = open_orbit(acquisition_from_item(stac_item, item_burst_id(stac_item)))
    assert orbit is not None
    with h5py.File(opera_file) as f:
        meta = "metadata/processing_information/input_burst_metadata/"
        lon, lat = f[meta + "center"][()]
        near = float(f[meta + "starting_range"][()])
        far = near + f[meta + "shape"][1] * float(f[meta + "range_pixel_spacing"][()])
        mid = float(f[meta + "iw2_mid_range"][()])
    geo = geometry.look_geometry(orbit, lat, lon, 0.0)
    assert near < float(geo["slant_range"]) < far
    assert abs(float(geo["slant_range"]) - mid) < 3000.0  # unknown terrain height: +-1.5 km
    assert 30.0 < float(geo["incidence_angle"]) < 46.0  # IW2
    like = stack.isel(date=0, y=slice(1000, 4000, 1000), x=slice(4000, 17000, 4000))
    grid = ard.look_vector_grid(orbit, like, 0.0)
    norm = np.sqrt(grid["look_x"] ** 2 + grid["look_y"] ** 2 + grid["look_z"] ** 2)
    assert np.abs(norm.values - 1).max() < 1e-6  # float32 components
    assert near - 5000 < grid["slant_range"].min() and grid["slant_range"].max() < far + 5000


def test_apply_data_mask_per_date() -> None:
    z = np.ones((2, 4, 5), dtype=np.complex64)
    mask = np.zeros((2, 4, 5), dtype=np.uint8)
    mask[0, 1, 1] = ard.MASK_SHADOW
    mask[1, 2, 3] = ard.MASK_NO_DATA
    out = ard.apply_data_mask(_map_array(z), _map_array(mask)).values
    assert out.dtype == np.complex64
    assert out[0, 1, 1] == 0 and out[1, 1, 1] == 1 and out[1, 2, 3] == 0 and out[0, 2, 3] == 1
    assert (out == 0).sum() == 2
    with pytest.raises(ValueError, match="one mask per date"):
        ard.apply_data_mask(_map_array(z[:1]), _map_array(mask))


def _iq_catalog(tmp_path: pathlib.Path, samples: np.ndarray, transforms: list[Affine]) -> pathlib.Path:
    """A static catalog of GSLC items whose i/q GeoTIFF bands are named only in STAC."""
    import pystac

    coll = pystac.Collection(
        id="gslc-iq", description="GSLC with i/q bands (test)",
        extent=pystac.Extent(pystac.SpatialExtent([[11.0, 46.0, 12.0, 47.0]]), pystac.TemporalExtent([[None, None]])),
        summaries=pystac.Summaries({"ceosard:type": ["radar"], "ceosard:specification": ["GSLC"]}),
    )
    for k, t in enumerate(transforms):
        day = f"2025-06-{5 + 6 * k:02d}"
        tif = _write_tif(tmp_path / f"iq_{k}.tif", [samples[k].real, samples[k].imag], ["", ""], t)
        item = pystac.Item(
            id=f"GSLC_{day}", geometry=None, bbox=None,
            datetime=np.datetime64(f"{day}T17:07:30", "s").astype(object),
            properties={"ceosard:type": "radar", "ceosard:specification": "GSLC", "s1:opera_burst_id": "T117-249435-IW2"},
        )
        item.add_asset("data", pystac.Asset(
            href=str(tif), media_type="image/tiff; application=geotiff", roles=["data"],
            extra_fields={"bands": [{"name": "i_VV"}, {"name": "q_VV"}]},
        ))
        coll.add_item(item)
    cat = pystac.Catalog(id="t", description="t")
    cat.add_child(coll)
    cat.normalize_hrefs(str(tmp_path / "cat"))
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return tmp_path / "cat" / "catalog.json"


def test_gslc_items_with_iq_bands_named_in_stac(tmp_path: pathlib.Path, samples: np.ndarray) -> None:
    t = Affine(5.0, 0.0, 600_000.0, 0.0, -10.0, 5_100_000.0)
    path = _iq_catalog(tmp_path, samples, [t, t, t])
    assert ard.list_ard_collections(path) == {"gslc-iq": "GSLC"}
    stack = ard.open_ard_stack(path, "249435 IW2")
    np.testing.assert_array_equal(stack.values, samples)
    assert stack.attrs["burst_id"] == BURST and stack.sizes["date"] == 3
    est = coherence.estimate_pairs(stack, [tuple(stack["date"].values[:2])], (3, 5))
    assert est.rio.crs.to_epsg() == 32632 and est.sizes["y"] == 12


def test_gslc_items_on_different_grids_are_refused(tmp_path: pathlib.Path, samples: np.ndarray) -> None:
    t = Affine(5.0, 0.0, 600_000.0, 0.0, -10.0, 5_100_000.0)
    shifted = Affine(5.0, 0.0, 600_000.0, 0.0, -10.0, 5_100_010.0)  # one pixel north
    path = _iq_catalog(tmp_path, samples, [t, shifted])
    with pytest.raises(GridMismatchError, match="origin") as err:
        ard.open_ard_stack(path, BURST)
    assert "GSLC_2025-06-11" in str(err.value) and "5100010.000" in str(err.value)


def test_ard_specification_from_stac_fields() -> None:
    assert ard.ard_specification({"ceosard:type": "radar", "ceosard:specification": "GSLC"}) == "GSLC"
    assert ard.ard_specification({"ceosard:type": "radar", "ceosard:specification": "NRB"}) == "NRB"
    assert ard.ard_specification({"product:type": "CSLC-S1"}) == "GSLC"  # OPERA
    assert ard.ard_specification({"product:type": "CSLC-S1-STATIC"}) is None  # its static layers
    assert ard.ard_specification({"sar:product_type": "SLC"}) is None
