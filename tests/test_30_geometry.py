"""Zero-Doppler geometry checked against real Sentinel-1 annotation and precise orbits."""

from __future__ import annotations

import dataclasses
import pathlib

import numpy as np
import pytest
import xarray as xr

from pairscope import geometry as g
from tests.conftest import TEST_DATA
from tests.plugins.geometry import annotation_files, read_geolocation_grid

# the same folder as the ``test_data`` fixture; needed at collection time to parametrize
SHARED = TEST_DATA
# Annotation written by the ESA IPF (grid consistent with the orbitList); the ASF single-burst
# extracts of hyp3-isce2 are checked separately below.
ESA_ANNOTATIONS = [p for p in annotation_files(SHARED) if "hyp3-isce2" not in p.parts]
HYP3_ANNOTATIONS = [p for p in annotation_files(SHARED) if "hyp3-isce2" in p.parts]


def _id(path: pathlib.Path) -> str:
    return path.name[:31]


def check_against_grid(orbit: g.Orbit, grid: object) -> xr.Dataset:
    ds = g.look_geometry(orbit, grid.latitude, grid.longitude, grid.height)  # type: ignore[attr-defined]
    dt = (ds.azimuth_time.values - grid.azimuth_time).astype("timedelta64[ns]").astype(float)  # type: ignore[attr-defined]
    assert np.abs(dt).max() < 1e5, "azimuth time off by more than 0.1 ms"
    slant_range = g.SPEED_OF_LIGHT * grid.slant_range_time / 2  # type: ignore[attr-defined]
    np.testing.assert_allclose(ds.slant_range.values, slant_range, rtol=0, atol=0.1)
    np.testing.assert_allclose(
        ds.incidence_angle_geocentric.values,
        grid.incidence_angle,
        rtol=0,
        atol=1e-3,  # type: ignore[attr-defined]
    )
    np.testing.assert_allclose(ds.elevation_angle.values, grid.elevation_angle, rtol=0, atol=1e-3)  # type: ignore[attr-defined]
    return ds


@pytest.mark.parametrize("path", ESA_ANNOTATIONS, ids=_id)
def test_look_geometry_reproduces_annotation_grid(path: pathlib.Path) -> None:
    orbit = g.Orbit.from_annotation(path)
    grid = read_geolocation_grid(path)
    ds = check_against_grid(orbit, grid)
    # CEOS-ARD ellipsoid-normal incidence differs from the annotation's (geocentric) one by a few
    # hundredths of a degree: larger than the tolerance above, so the two are really distinct.
    diff = np.abs(ds.incidence_angle.values - grid.incidence_angle)
    assert 0.01 < diff.max() < 0.06
    # the ENU line of sight of a right-looking sensor points up and, for the ground, away from it
    assert (ds.los_up > 0).all()
    look = np.stack([ds.look_x, ds.look_y, ds.look_z])
    np.testing.assert_allclose(np.linalg.norm(look, axis=0), 1.0, atol=1e-6)


def test_annotation_check_covers_all_real_products() -> None:
    assert len(ESA_ANNOTATIONS) >= 15
    folders = {p.parts[p.parts.index("data") + 1] for p in ESA_ANNOTATIONS}
    assert {"xarray-sentinel", "sarsen", "eo_tools"} <= folders


def test_geometry_with_precise_orbit_file(
    s1reader_annotation: bytes, s1reader_eof: pathlib.Path
) -> None:
    orbit = g.Orbit.from_eof(s1reader_eof)
    assert len(orbit) == 187
    grid = read_geolocation_grid(s1reader_annotation)
    check_against_grid(orbit, grid)
    # and the annotation's own state vectors give the same answer
    check_against_grid(g.Orbit.from_annotation(s1reader_annotation), grid)


def test_orbit_interpolation_between_held_out_state_vectors(s1reader_eof: pathlib.Path) -> None:
    full = g.Orbit.from_eof(s1reader_eof)
    # keep every other vector (20 s spacing) and predict the ones left out
    sparse = g.Orbit(full.times[::2], full.positions[::2], full.velocities[::2])
    held = slice(5, -5, 2)
    pos, vel = sparse.state(full.times[held])
    assert np.abs(pos - full.positions[held]).max() < 0.05  # metres
    assert np.abs(vel - full.velocities[held]).max() < 1e-4  # m/s
    # exactly at a node the node is returned
    np.testing.assert_array_equal(full.position(full.times[7]), full.positions[7])


def test_eof_round_trip(tmp_path: pathlib.Path, s1reader_eof: pathlib.Path) -> None:
    orbit = g.Orbit.from_eof(s1reader_eof).crop(
        np.datetime64("2022-08-28T04:23:00"), np.datetime64("2022-08-28T04:24:00")
    )
    out = g.write_eof(orbit, tmp_path / "orbit.EOF", mission="S1A", absolute_orbit=44748)
    back = g.Orbit.from_eof(out)
    np.testing.assert_array_equal(back.times, orbit.times)
    np.testing.assert_allclose(back.positions, orbit.positions, atol=1e-6)
    np.testing.assert_allclose(back.velocities, orbit.velocities, atol=1e-6)
    text = out.read_text()
    assert "<Ref_Frame>EARTH_FIXED</Ref_Frame>" in text and "+44748" in text
    # TAI = UTC + 37 s in 2022
    utc = str(orbit.times[0].astype("datetime64[us]"))
    tai = str((orbit.times[0] + np.timedelta64(37, "s")).astype("datetime64[us]"))
    assert f"<UTC>UTC={utc}</UTC>" in text and f"<TAI>TAI={tai}</TAI>" in text
    assert g.Orbit.from_eof(out.read_bytes()).times.shape == orbit.times.shape


def test_llh_ecef_round_trip() -> None:
    rng = np.random.default_rng(1)
    lat = rng.uniform(-90, 90, 2000)
    lon = rng.uniform(-180, 180, 2000)
    h = rng.uniform(-500, 9000, 2000)
    x, y, z = g.llh_to_ecef(lat, lon, h)
    lat2, lon2, h2 = g.ecef_to_llh(x, y, z)
    np.testing.assert_allclose(lat2, lat, atol=1e-9)
    np.testing.assert_allclose(np.cos(np.radians(lon2 - lon)), 1.0, atol=1e-15)
    np.testing.assert_allclose(h2, h, atol=1e-4)
    # known point: equator / Greenwich on the ellipsoid
    np.testing.assert_allclose(g.llh_to_ecef(0.0, 0.0, 0.0), (g.WGS84_A, 0.0, 0.0), atol=1e-9)


def test_geolocate_inverts_look_geometry() -> None:
    path = next(p for p in ESA_ANNOTATIONS if "sarsen" in p.parts)
    orbit = g.Orbit.from_annotation(path)
    grid = read_geolocation_grid(path)
    rng = np.random.default_rng(2)
    h = rng.uniform(-100, 4000, grid.latitude.shape)
    ds = g.look_geometry(orbit, grid.latitude, grid.longitude, h)
    lat, lon, hh = g.geolocate(orbit, ds.azimuth_time, ds.slant_range, height=h)
    np.testing.assert_allclose(lat, grid.latitude, atol=1e-8)  # ~1 mm
    np.testing.assert_allclose(lon, grid.longitude, atol=1e-8)
    np.testing.assert_allclose(hh, h, atol=1e-3)
    # and the annotation grid itself: its time/range give back its lat/lon
    lat, lon, _ = g.geolocate(
        orbit, grid.azimuth_time, g.SPEED_OF_LIGHT * grid.slant_range_time / 2, height=grid.height
    )
    np.testing.assert_allclose(lat, grid.latitude, atol=2e-7)
    np.testing.assert_allclose(lon, grid.longitude, atol=2e-7)


def test_look_geometry_keeps_dims_and_coords() -> None:
    path = next(p for p in ESA_ANNOTATIONS if "sarsen" in p.parts)
    orbit = g.Orbit.from_annotation(path)
    lat = xr.DataArray(
        np.linspace(41.0, 41.5, 12).reshape(3, 4),
        dims=("azimuth", "range"),
        coords={"azimuth": [0, 1, 2], "range": [10, 20, 30, 40]},
    )
    lon = lat * 0 + 11.5
    ds = g.look_geometry(orbit, lat, lon, 0.0)
    assert ds.slant_range.dims == ("azimuth", "range")
    assert list(ds.range.values) == [10, 20, 30, 40]
    assert ds.azimuth_time.dtype == np.dtype("datetime64[ns]")
    assert ds.incidence_angle.attrs["units"] == "deg"
    # ENU line of sight is the negated look vector rotated to ENU
    east, north, up = g.enu_basis(lat.values, lon.values)
    look = np.stack([ds.look_x, ds.look_y, ds.look_z], axis=-1)
    np.testing.assert_allclose(ds.los_up.values, -(look * up).sum(-1), atol=1e-6)
    np.testing.assert_allclose(ds.los_east.values, -(look * east).sum(-1), atol=1e-6)


def test_bad_inputs_say_what_is_wrong(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="same N"):
        g.Orbit(
            np.array(["2020-01-01"] * 2, dtype="datetime64[ns]"), np.zeros((3, 3)), np.zeros((3, 3))
        )
    bad = tmp_path / "calibration.xml"
    bad.write_text("<calibration/>")
    with pytest.raises(ValueError, match="orbitList"):
        g.Orbit.from_annotation(bad)
    with pytest.raises(ValueError, match="List_of_OSVs"):
        g.Orbit.from_eof(bad)
    path = next(p for p in ESA_ANNOTATIONS if "sarsen" in p.parts)
    orbit = g.Orbit.from_annotation(path)
    with pytest.raises(ValueError, match="outside the orbit"):
        orbit.position(np.datetime64("2030-01-01"))
    with pytest.raises(ValueError, match="never sees"):
        g.look_geometry(orbit, -41.0, -100.0, 0.0)
    with pytest.raises(ValueError, match="look_side"):
        g.look_geometry(orbit, 41.0, 11.5, 0.0, look_side="up")  # type: ignore[arg-type]


@pytest.mark.parametrize("path", HYP3_ANNOTATIONS, ids=_id)
def test_asf_single_burst_grid_is_consistent_at_one_height(path: pathlib.Path) -> None:
    """ASF's single-burst extracts list grid heights (0 / 9.3 m) that are not the heights their
    lat/lon were computed at: range is ~100 m off at the listed heights, and everything matches
    the orbit once the grid is put at one constant height (~148 m) for all points."""
    orbit = g.Orbit.from_annotation(path)
    grid = read_geolocation_grid(path)
    slant_range = g.SPEED_OF_LIGHT * grid.slant_range_time / 2
    listed = g.look_geometry(orbit, grid.latitude, grid.longitude, grid.height)
    assert np.abs(listed.slant_range.values - slant_range).min() > 90.0
    height = grid.height.copy()
    for _ in range(4):  # Newton on height: dR/dh = -cos(incidence)
        ds = g.look_geometry(orbit, grid.latitude, grid.longitude, height)
        height += (ds.slant_range.values - slant_range) / np.cos(np.radians(ds.incidence_angle))
    assert height.std() < 0.5 and 140.0 < height.mean() < 155.0
    check_against_grid(orbit, dataclasses.replace(grid, height=height))


def _pair_orbits(pattern_ref: str, pattern_sec: str) -> tuple[g.Orbit, g.Orbit, object]:
    ref = next(SHARED.glob(pattern_ref))
    sec = next(SHARED.glob(pattern_sec))
    return g.Orbit.from_annotation(ref), g.Orbit.from_annotation(sec), read_geolocation_grid(ref)


@pytest.mark.parametrize("swath", ["iw1", "iw2", "iw3"])
def test_perpendicular_baseline_of_real_eo_tools_pair(swath: str) -> None:
    ref, sec, grid = _pair_orbits(
        f"eo_tools/S1/*20230904*/annotation/s1a-{swath}-slc-vv-*.xml",
        f"eo_tools/S1/*20230916*/annotation/s1a-{swath}-slc-vv-*.xml",
    )
    ds = g.baselines(ref, sec, grid.latitude, grid.longitude, grid.height)  # type: ignore[attr-defined]
    b_perp = ds.perpendicular_baseline.values
    # S1 orbital tube: |B_perp| well below 300 m; this pair: about -28 .. -35 m
    assert np.all(np.abs(b_perp) < 300) and np.all(b_perp < 0)
    assert -40 < b_perp.mean() < -20
    # stable: one burst (~1500 lines = 3 s) is ~1/8 of this slice, the whole slice varies < 6 m
    assert np.ptp(b_perp) < 6.0
    one_burst = grid.line < 1600  # type: ignore[attr-defined]
    assert np.ptp(b_perp[one_burst]) < 3.0
    # swapping the dates flips the sign
    back = g.perpendicular_baseline(sec, ref, grid.latitude, grid.longitude, grid.height)  # type: ignore[attr-defined]
    np.testing.assert_allclose(back.values, -b_perp, atol=0.5)


def test_perpendicular_baseline_of_real_hyp3_burst_pair() -> None:
    ref, sec, grid = _pair_orbits(
        "hyp3-isce2/single_burst/*20180628*/annotation/*iw3*.xml",
        "hyp3-isce2/single_burst/*20190705*/annotation/*iw3*.xml",
    )
    ds = g.baselines(ref, sec, grid.latitude, grid.longitude, 148.0)  # type: ignore[attr-defined]
    b_perp = ds.perpendicular_baseline.values
    assert np.all((b_perp > 10) & (b_perp < 18))  # 13.0 .. 14.4 m
    assert np.ptp(b_perp) < 2.0
    assert np.all(np.abs(ds.parallel_baseline.values) < 10)


def test_baseline_sign_convention_on_a_shifted_orbit() -> None:
    """A secondary displaced by +d along v x l (away from the scene, larger look angle)."""
    path = next(p for p in ESA_ANNOTATIONS if "sarsen" in p.parts)
    ref = g.Orbit.from_annotation(path)
    grid = read_geolocation_grid(path)
    centre = len(grid.latitude) // 2
    lat, lon, h = grid.latitude[centre], grid.longitude[centre], grid.height[centre]
    geo = g.look_geometry(ref, lat, lon, h)
    look = np.array([float(geo[k]) for k in ("look_x", "look_y", "look_z")])
    vel = ref.velocity(geo.azimuth_time.values)
    across = np.cross(vel / np.linalg.norm(vel), look)
    across /= np.linalg.norm(across)
    sec = g.Orbit(ref.times, ref.positions + 100.0 * across, ref.velocities)
    ds = g.baselines(ref, sec, lat, lon, h)
    assert float(ds.perpendicular_baseline) == pytest.approx(100.0, abs=0.5)
    assert float(ds.parallel_baseline) == pytest.approx(0.0, abs=0.5)
    sec_geo = g.look_geometry(sec, lat, lon, h)
    # seen from the target, the secondary sits B_perp / R further from the zenith
    d_theta = np.radians(float(sec_geo.incidence_angle) - float(geo.incidence_angle))
    assert d_theta * float(geo.slant_range) == pytest.approx(100.0, rel=0.02)
    # moving towards the target along the line of sight is a pure parallel baseline
    sec2 = g.Orbit(ref.times, ref.positions + 50.0 * look, ref.velocities)
    ds2 = g.baselines(ref, sec2, lat, lon, h)
    assert float(ds2.parallel_baseline) == pytest.approx(50.0, abs=0.1)
    assert abs(float(ds2.perpendicular_baseline)) < 0.1


@pytest.fixture(scope="module")
def rome() -> tuple[g.Orbit, xr.DataArray, xr.Dataset]:
    import rioxarray

    dem = rioxarray.open_rasterio(SHARED / "sarsen" / "Rome-30m-DEM.tif").squeeze("band", drop=True)
    assert isinstance(dem, xr.DataArray)
    orbit = g.Orbit.from_annotation(next(p for p in ESA_ANNOTATIONS if "sarsen" in p.parts))
    height = dem.where(dem != dem.rio.nodata).astype(np.float64)
    lat, lon = xr.broadcast(height.y, height.x)
    return orbit, dem, g.look_geometry(orbit, lat, lon, height)


def test_local_incidence_on_real_rome_dem(rome: tuple[g.Orbit, xr.DataArray, xr.Dataset]) -> None:
    orbit, dem, geo = rome
    lia = g.local_incidence_angle(geo, dem)
    assert lia.dims == ("y", "x") and lia.attrs["units"] == "deg"
    diff = (lia - geo.incidence_angle).values
    # gentle terrain (0..115 m): local incidence scatters around the ellipsoid one ...
    assert abs(np.median(diff)) < 0.5
    # ... and never by more than the terrain slope (the angle between normal and vertical)
    z = dem.values.astype(float)
    spacing_y = np.radians(abs(float(dem.y[1] - dem.y[0]))) * 6.3688e6
    spacing_x = np.radians(abs(float(dem.x[1] - dem.x[0]))) * 6.3882e6 * np.cos(np.radians(42.0))
    dz_dy, dz_dx = np.gradient(z, spacing_y, spacing_x)
    slope = np.degrees(np.arctan(np.hypot(dz_dx, dz_dy)))
    assert np.all(np.abs(diff) <= slope * 1.01 + 0.05)
    # slopes facing the sensor lower the local incidence, back slopes raise it
    assert lia.values.min() < geo.incidence_angle.values.min() - 5.0
    assert lia.values.max() > geo.incidence_angle.values.max() + 5.0
    mask = g.layover_shadow_mask(geo, dem)
    assert mask.dtype == np.uint8 and not mask.values.any()  # no layover/shadow in Rome at 39 deg


def test_geolocate_over_real_dem(rome: tuple[g.Orbit, xr.DataArray, xr.Dataset]) -> None:
    orbit, dem, geo = rome
    height = dem.where(dem != dem.rio.nodata).astype(np.float64)
    sub = geo.isel(y=slice(None, None, 7), x=slice(None, None, 7))
    lat, lon, h = g.geolocate(orbit, sub.azimuth_time, sub.slant_range, dem=height)
    lat_true, lon_true = xr.broadcast(sub.y, sub.x)
    err_m = np.hypot((lat - lat_true.values) * 111e3, (lon - lon_true.values) * 83e3)
    assert np.percentile(err_m, 99) < 0.01 and err_m.max() < 1.0
    np.testing.assert_allclose(h, height.values[::7, ::7], atol=0.5)
    # a callable DEM gives the same answer
    lat2, lon2, _ = g.geolocate(
        orbit,
        sub.azimuth_time,
        sub.slant_range,
        dem=lambda la, lo: np.interp(la, [41, 43], [0, 0]) + 50.0,
    )
    lat3, lon3, _ = g.geolocate(orbit, sub.azimuth_time, sub.slant_range, height=50.0)
    np.testing.assert_allclose(lat2, lat3, atol=1e-9)
    np.testing.assert_allclose(lon2, lon3, atol=1e-9)


def _plane_dem(slope_east: float, slope_north: float) -> xr.DataArray:
    lat = np.linspace(41.95, 41.85, 41)
    lon = np.linspace(12.40, 12.55, 61)
    la, lo = np.meshgrid(lat, lon, indexing="ij")
    radius_n = g.WGS84_A / np.sqrt(1 - g.WGS84_E2 * np.sin(np.radians(la)) ** 2)
    radius_m = radius_n * (1 - g.WGS84_E2) / (1 - g.WGS84_E2 * np.sin(np.radians(la)) ** 2)
    east = np.radians(lo - 12.4) * radius_n * np.cos(np.radians(la))
    north = np.radians(la - 41.9) * radius_m
    return xr.DataArray(
        500.0 + slope_east * east + slope_north * north,
        dims=("latitude", "longitude"),
        coords={"latitude": lat, "longitude": lon},
    )


@pytest.mark.parametrize("tilt", [-20.0, 0.0, 15.0, 45.0, -70.0])
def test_local_incidence_on_analytic_plane(tilt: float) -> None:
    """A plane facing the sensor by ``tilt`` deg (descending towards it): local incidence =
    incidence - tilt."""
    path = next(p for p in ESA_ANNOTATIONS if "sarsen" in p.parts)
    orbit = g.Orbit.from_annotation(path)
    centre = g.look_geometry(orbit, 41.9, 12.47, 500.0)
    horiz = np.array([float(centre.los_east), float(centre.los_north)])
    horiz /= np.linalg.norm(horiz)
    slope = -np.tan(np.radians(tilt)) * horiz
    dem = _plane_dem(slope[0], slope[1])
    lat, lon = xr.broadcast(dem.latitude, dem.longitude)
    geo = g.look_geometry(orbit, lat, lon, dem)
    lia = g.local_incidence_angle(geo, dem)
    inner = (slice(1, -1), slice(1, -1))
    expected = geo.incidence_angle.values[inner] - tilt
    np.testing.assert_allclose(lia.values[inner], np.abs(expected), atol=0.05)
    mask = g.layover_shadow_mask(geo, dem).values[inner]
    theta = geo.incidence_angle.values[inner]
    if tilt > theta.max():
        assert (mask == g.LAYOVER).all()
    elif -tilt > 90 - theta.min():
        assert (mask == g.SHADOW).all()
    else:
        assert (mask == 0).all()


def _read_bands(path: pathlib.Path) -> dict[str, np.ndarray]:
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return {name: src.read(k + 1) for k, name in enumerate(src.descriptions)}


def test_demo_catalog_geometry_matches_its_own_orbit(demo_catalog: pathlib.Path) -> None:
    """The simulator's look vectors, incidence and range agree with look_geometry on its EOF."""
    import json

    slc = demo_catalog.parent / "pairscope-demo-slc"
    items = [json.loads(p.read_text()) for p in sorted(slc.glob("*/*.json"))]
    ref = next(
        i
        for i in items
        if i["properties"]["datetime"][:10] == i["properties"]["pairscope:coregistration_reference"]
    )
    folder = slc / ref["id"]
    orbit = g.Orbit.from_eof(folder / ref["assets"]["orbit"]["href"])
    grid = _read_bands(folder / ref["assets"]["slc"]["href"])
    stored = _read_bands(slc / "geometry.tif")
    lat, lon = grid["grid_lat"].astype(float), grid["grid_lon"].astype(float)
    geo = g.look_geometry(orbit, lat, lon, stored["height"].astype(float))
    # stored as float32 (lat/lon to ~0.4 m): ranges to a metre, unit vectors to 1e-5
    np.testing.assert_allclose(geo.slant_range.values, stored["slant_range"], atol=1.5)
    for name in ("look_x", "look_y", "look_z", "los_east", "los_north", "los_up"):
        np.testing.assert_allclose(geo[name].values, stored[name], atol=1e-5, err_msg=name)
    np.testing.assert_allclose(geo.incidence_angle.values, stored["incidence_angle"], atol=2e-3)
    # and each date's perpendicular baseline (item property) from the EOF files
    c = (lat.shape[0] // 2, lat.shape[1] // 2)
    for item in items:
        sec = g.Orbit.from_eof(slc / item["id"] / item["assets"]["orbit"]["href"])
        b = float(g.perpendicular_baseline(orbit, sec, lat[c], lon[c], float(stored["height"][c])))
        assert b == pytest.approx(item["properties"]["pairscope:perpendicular_baseline"], abs=2.0)


def test_missing_points_give_nan_and_nat() -> None:
    path = next(p for p in ESA_ANNOTATIONS if "sarsen" in p.parts)
    orbit = g.Orbit.from_annotation(path)
    lat = np.array([[41.5, np.nan], [41.6, 41.7]])
    lon = np.array([[11.6, 11.7], [np.nan, 11.8]])
    ds = g.look_geometry(orbit, lat, lon, 0.0)
    assert np.isnat(ds.azimuth_time.values[0, 1]) and np.isnat(ds.azimuth_time.values[1, 0])
    assert np.isnan(ds.slant_range.values[0, 1]) and np.isnan(ds.look_x.values[1, 0])
    assert np.isfinite(ds.slant_range.values[[0, 1], [0, 1]]).all()
    lat2, lon2, _ = g.geolocate(
        orbit, ds.azimuth_time.values, np.where(np.isfinite(ds.slant_range), ds.slant_range, np.nan)
    )
    seen = np.isfinite(lat) & np.isfinite(lon)
    np.testing.assert_allclose(lat2, np.where(seen, lat, np.nan), atol=1e-8)
    np.testing.assert_allclose(lon2, np.where(seen, lon, np.nan), atol=1e-8)


def _rotated_copy(orbit: g.Orbit, angle_deg: float, delay_s: float) -> g.Orbit:
    """The orbit flown again ``delay_s`` later over an Earth turned by ``angle_deg`` (about z)."""
    a = np.radians(angle_deg)
    rot = np.array([[np.cos(a), -np.sin(a), 0.0], [np.sin(a), np.cos(a), 0.0], [0.0, 0.0, 1.0]])
    return g.Orbit(
        orbit.times + np.timedelta64(int(delay_s * 1e9), "ns"),
        orbit.positions @ rot.T,
        orbit.velocities @ rot.T,
    )


def test_orbit_with_several_passes(s1reader_annotation: bytes, s1reader_eof: pathlib.Path) -> None:
    """A multi-pass orbit: the closest pass is used, a near-duplicate pass is refused."""
    orbit = g.Orbit.from_eof(s1reader_eof)
    grid = read_geolocation_grid(s1reader_annotation)
    nxt = _rotated_copy(orbit, -24.7, 5924.0)  # the next orbit, 24.7 deg further west
    both = g.Orbit(
        np.concatenate([orbit.times, nxt.times]),
        np.concatenate([orbit.positions, nxt.positions]),
        np.concatenate([orbit.velocities, nxt.velocities]),
    )
    check_against_grid(both, grid)
    twin = _rotated_copy(orbit, -0.5, 5924.0)
    close = g.Orbit(
        np.concatenate([orbit.times, twin.times]),
        np.concatenate([orbit.positions, twin.positions]),
        np.concatenate([orbit.velocities, twin.velocities]),
    )
    with pytest.raises(ValueError, match="crop"):
        g.look_geometry(close, grid.latitude, grid.longitude, grid.height)
    check_against_grid(close.crop(orbit.times[0], orbit.times[-1]), grid)


def test_dem_errors_say_what_is_wrong(rome: tuple[g.Orbit, xr.DataArray, xr.Dataset]) -> None:
    orbit, dem, geo = rome
    utm = dem.rio.reproject("EPSG:32633")
    with pytest.raises(ValueError, match="projected"):
        g.local_incidence_angle(geo, utm)
    metres = xr.DataArray(
        np.zeros((4, 4)),
        dims=("y", "x"),
        coords={"y": np.arange(4) * 30.0 + 4.6e6, "x": np.arange(4) * 30.0},
    )
    with pytest.raises(ValueError, match="not degrees"):
        g.geolocate(
            orbit, geo.azimuth_time.values[:2, :2], geo.slant_range.values[:2, :2], dem=metres
        )
    with pytest.raises(ValueError, match="no latitude/longitude"):
        g.local_incidence_angle(geo, dem.rename(y="row", x="col"))


def test_extrapolation_range_leaves_the_interpolant_unchanged(s1reader_eof: pathlib.Path) -> None:
    """The kernel's extra nodes at both ends lie on the end windows' polynomials: within the span
    the orbit interpolates exactly as without them; beyond, up to max_extrapolation s only."""
    full = g.Orbit.from_eof(s1reader_eof)
    bare = g.Orbit(full.times, full.positions, full.velocities, max_extrapolation=0.0)
    span = float(full.seconds(full.times[-1]))
    t = full.times[0] + (np.linspace(0.0, span, 2001) * 1e9).astype("timedelta64[ns]")
    (p, v), (p0, v0) = full.state(t), bare.state(t)
    np.testing.assert_allclose(p, p0, rtol=0, atol=1e-6)
    np.testing.assert_allclose(v, v0, rtol=0, atol=1e-9)
    after = full.times[-1] + np.timedelta64(5, "s")
    full.position(after)  # extrapolated, within a stated bound far below a millimetre
    assert float(full.error_bound(after)) < 1e-6
    with pytest.raises(ValueError, match="outside the orbit"):
        bare.position(after)
    from pairscope.errors import GeometryError

    with pytest.raises(GeometryError, match=r"7\.0 s after the last state vector"):
        full.position(after + np.timedelta64(2, "s"))


@pytest.mark.parametrize("count", [2, 3, 5, 7])
def test_few_state_vectors_interpolate_by_cubic_hermite(
    s1reader_eof: pathlib.Path, count: int
) -> None:
    full = g.Orbit.from_eof(s1reader_eof)
    few = g.Orbit(*(a[60 : 60 + count] for a in (full.times, full.positions, full.velocities)))
    assert few.interpolation == "hermite" and len(few) == count
    s = np.linspace(-5.0, 10.0 * (count - 1) + 5.0, 301)
    t = few.times[0] + (s * 1e9).astype("timedelta64[ns]")
    err = np.linalg.norm(few.position(t) - full.position(t), axis=-1)
    # within the stated bound (+ the precise orbit's own ~1e-7 m next to the vectors)
    assert np.all(err <= few.error_bound(t) + 1e-6) and err.max() < 3e-3  # m, 5 s extrapolated
    inside = (s >= 0) & (s <= 10.0 * (count - 1))
    assert err[inside].max() < 5e-4
    # look geometry from a few vectors equals that from the whole orbit
    geo = g.look_geometry(full, 19.6, -154.0)
    mid = full.seconds(geo.azimuth_time.values)
    k = int(np.searchsorted(full.seconds(full.times), mid)) - 1
    part = g.Orbit(*(a[k : k + count] for a in (full.times, full.positions, full.velocities)))
    geo_part = g.look_geometry(part, 19.6, -154.0)
    assert abs(float(geo_part.slant_range - geo.slant_range)) < 1e-3
    dt = (geo_part.azimuth_time.values - geo.azimuth_time.values).astype(np.int64)
    assert abs(int(dt)) < 1000  # ns
