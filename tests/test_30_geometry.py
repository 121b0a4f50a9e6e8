"""Zero-Doppler geometry checked against real Sentinel-1 annotation and precise orbits."""

from __future__ import annotations

import pathlib

import numpy as np
import pytest
import xarray as xr

from pairscope import geometry as g
from tests.plugins.geometry import annotation_files, read_geolocation_grid

SHARED = pathlib.Path(__file__).resolve().parents[1].parent / "shared" / "data"
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
