"""The simulator reproduces its own model: speckle statistics, phases, geometry, baselines."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import xarray as xr
from scipy import ndimage

from pairscope import geometry
from pairscope.coherence import estimate, expected_sample_coherence
from pairscope.sim.landcover import (
    DEFAULT_LAND_COVER,
    TemporalCoherence,
    cholesky_factor,
    coherence_matrix,
    realise_speckle,
)
from pairscope.sim.simulate import (
    AZIMUTH_TIME_INTERVAL,
    RANGE_PIXEL_SPACING,
    WAVELENGTH,
    BurstScene,
    SimulationConfig,
    make_scene,
    mogi_displacement,
    residual_topography_phase,
    true_coherence,
)

WINDOW = (5, 21)
LOOKS = WINDOW[0] * WINDOW[1]


@pytest.fixture(scope="module")
def scene() -> BurstScene:
    return make_scene("small", seed=0)


@pytest.fixture(scope="module")
def stack(scene: BurstScene) -> xr.Dataset:
    return scene.simulate()


def _interior(mask: np.ndarray) -> np.ndarray:
    """Pixels whose whole estimation window lies inside ``mask``."""
    return ndimage.binary_erosion(mask, structure=np.ones(WINDOW, dtype=bool), border_value=0)


# ----------------------------------------------------------------------------------------------
# the statistical model
def test_temporal_coherence_model() -> None:
    m = TemporalCoherence(g0=0.8, g_inf=0.2, tau=10.0)
    np.testing.assert_allclose(m([0.0, 10.0, 1e6]), [1.0, 0.2 + 0.6 * np.exp(-1.0), 0.2])
    with pytest.raises(ValueError, match="g_inf <= g0"):
        TemporalCoherence(g0=0.3, g_inf=0.5, tau=1.0)
    with pytest.raises(ValueError, match="tau"):
        TemporalCoherence(g0=0.3, g_inf=0.1, tau=0.0)


@pytest.mark.parametrize(
    "model",
    [
        *(lc.coherence["VV"] for lc in DEFAULT_LAND_COVER),
        TemporalCoherence(1.0, 1.0, 5.0),
        TemporalCoherence(1.0, 0.5, 5.0),
    ],
)
def test_cholesky_factor_reproduces_the_coherence_matrix(model: TemporalCoherence) -> None:
    dates = np.array(
        ["2025-01-01", "2025-01-07", "2025-01-13", "2025-01-25", "2025-02-18"],
        dtype="datetime64[D]",
    )
    c = coherence_matrix(model, dates)
    lower = cholesky_factor(c)
    np.testing.assert_allclose(lower @ lower.T, c, atol=1e-9)
    assert np.allclose(lower, np.tril(lower))
    np.testing.assert_allclose(np.diag(c), 1.0)


def test_realised_speckle_matches_expected_sample_coherence() -> None:
    """Large homogeneous areas, 5 x 21 looks: mean |gamma_hat| = E|gamma_hat|(g_true, 105)."""
    rows, cols = 120, 800
    class_map = np.repeat(np.array([lc.code for lc in DEFAULT_LAND_COVER]), rows)[:, None]
    class_map = np.broadcast_to(class_map, (class_map.shape[0], cols)).astype(np.int8)
    days = np.array([0, 6, 12, 24, 48])
    dates = np.datetime64("2025-06-05") + days.astype("timedelta64[D]")
    for p, pol in enumerate(("VV", "VH")):
        z = realise_speckle(class_map, dates, pol, seed=[11, p])
        assert z.dtype == np.complex64
        for lc in DEFAULT_LAND_COVER:
            power = np.mean(np.abs(z[:, class_map == lc.code]) ** 2)
            assert power == pytest.approx(1.0, abs=0.01)
        for k in range(1, len(days)):
            coh, _ = estimate(z[0], z[k], window=WINDOW)
            for lc in DEFAULT_LAND_COVER:
                g_true = float(lc.model(pol)(days[k]))
                expected = float(expected_sample_coherence(g_true, LOOKS))
                measured = float(np.mean(coh[_interior(class_map == lc.code)]))
                assert measured == pytest.approx(expected, abs=0.02), (pol, lc.name, days[k])


def test_realise_speckle_rejects_unknown_classes() -> None:
    with pytest.raises(ValueError, match="no land-cover definition"):
        realise_speckle(np.full((4, 4), 9, dtype=np.int8), np.array([0.0, 6.0]))


def test_demo_scene_reproduces_the_model(stack: xr.Dataset) -> None:
    """On the simulated burst itself: remove the known phase, compare with the class model."""
    vv = stack["slc"].sel(polarization="VV").values
    psi = (
        stack["deformation_phase"] + stack["atmosphere_phase"] + stack["topography_phase"]
    ).values
    flat = vv * np.exp(-1j * psi).astype(np.complex64)
    land = stack["land_cover"].values
    days = (stack["date"].values - stack["date"].values[0]).astype("timedelta64[D]").astype(int)
    checked = 0
    for lc in DEFAULT_LAND_COVER:
        inside = _interior(land == lc.code)
        if inside.sum() < 5000:
            continue
        for k in (1, 2, 4):
            coh, _ = estimate(flat[0], flat[k], window=WINDOW)
            expected = float(expected_sample_coherence(float(lc.model("VV")(days[k])), LOOKS))
            assert float(np.mean(coh[inside])) == pytest.approx(expected, abs=0.02), (
                lc.name,
                days[k],
            )
            checked += 1
    assert checked >= 9  # fields, forest and rock at three temporal baselines
    truth = true_coherence(land, float(days[1]))
    assert np.all(np.isfinite(truth)) and truth.min() >= 0.0 and truth.max() <= 1.0


def test_interferometric_phase_of_a_stable_area(stack: xr.Dataset) -> None:
    """The estimated phase of the town (coherent) follows psi_ref - psi_sec."""
    vv = stack["slc"].sel(polarization="VV").values
    psi = (
        stack["deformation_phase"] + stack["atmosphere_phase"] + stack["topography_phase"]
    ).values
    urban = [lc.code for lc in DEFAULT_LAND_COVER if lc.name == "urban"][0]
    inside = _interior(stack["land_cover"].values == urban)
    assert inside.sum() > 500
    for k in (1, 3, 5):
        _, phase = estimate(vv[0], vv[k], window=WINDOW)
        true = psi[0] - psi[k]
        # the simulated phase varies within the signal: it must not be a constant
        assert np.ptp(np.angle(np.exp(1j * true[inside]))) > 0.05
        error = np.angle(np.exp(1j * (phase[inside] - true[inside])))
        assert abs(float(np.angle(np.mean(np.exp(1j * error))))) < 0.03
        assert float(np.sqrt(np.mean(error**2))) < 0.15


def test_amplitude_follows_class_backscatter(stack: xr.Dataset) -> None:
    land = stack["land_cover"].values
    for p, pol in enumerate(("VV", "VH")):
        power = np.mean(np.abs(stack["slc"].values[p]) ** 2, axis=0)
        for lc in DEFAULT_LAND_COVER:
            measured_db = 10 * np.log10(power[land == lc.code].mean())
            assert measured_db == pytest.approx(lc.sigma0_db[pol], abs=0.3), (pol, lc.name)


def test_every_class_present_and_deterministic(scene: BurstScene, stack: xr.Dataset) -> None:
    counts = np.bincount(stack["land_cover"].values.ravel(), minlength=len(DEFAULT_LAND_COVER))
    assert np.all(counts > 1000), counts
    again = scene.block(0)
    np.testing.assert_array_equal(
        again["slc"].values, stack["slc"].isel(azimuth=slice(0, again.sizes["azimuth"])).values
    )
    other = make_scene("small", seed=1).block(0)
    assert not np.array_equal(other["slc"].values, again["slc"].values)


# ----------------------------------------------------------------------------------------------
# geometry
def test_orbit_is_sentinel1_like(scene: BurstScene) -> None:
    orbit = scene.reference_orbit
    steps = np.diff(orbit.times).astype("timedelta64[s]").astype(int)
    assert np.all(steps == 10)
    assert orbit.times[0] <= scene.azimuth_time[0] and orbit.times[-1] >= scene.azimuth_time[-1]
    lat, lon, h = geometry.ecef_to_llh(*orbit.positions.T)
    assert np.all((h > 680e3) & (h < 720e3))
    speed = np.linalg.norm(orbit.velocities, axis=1)
    assert np.all((speed > 7.5e3) & (speed < 7.7e3))
    assert np.all(np.diff(lat) > 0)  # ascending
    # the satellite is west of the scene: right-looking on an ascending pass looks east
    assert np.all(lon < scene.config.centre_longitude)
    # ~760 s from the ascending node, as the real burst 249435 IW2 (759.9 s)
    assert scene.time_since_node == pytest.approx(759.9, abs=5.0)


def test_incidence_across_the_burst_is_iw2(scene: BurstScene) -> None:
    """A full IW2 burst (21000 samples) around the scene centre spans ~36.8..41.5 deg."""
    centre = scene.slant_range.mean()
    ranges = centre + (np.arange(21000) - 10499.5) * RANGE_PIXEL_SPACING
    t = scene.azimuth_time[len(scene.azimuth_time) // 2]
    lat, lon, h = geometry.geolocate(scene.reference_orbit, t, ranges[::500], height=250.0)
    geo = geometry.look_geometry(scene.reference_orbit, lat, lon, h)
    inc = geo["incidence_angle"].values
    assert 36.0 < inc.min() < 37.5 and 41.0 < inc.max() < 42.0
    assert np.all(np.diff(inc) > 0)


def test_pixel_grid_is_at_zero_doppler(scene: BurstScene, stack: xr.Dataset) -> None:
    lat, lon, h = (stack[v].values for v in ("latitude", "longitude", "height"))
    sel = (slice(None, None, 7), slice(None, None, 13))
    geo = geometry.look_geometry(scene.reference_orbit, lat[sel], lon[sel], h[sel])
    dt = (geo["azimuth_time"].values - stack["azimuth_time"].values[sel[0], None]) / np.timedelta64(
        1, "s"
    )
    dr = geo["slant_range"].values - stack["slant_range"].values[None, sel[1]]
    assert np.abs(dt).max() < 1e-3 * AZIMUTH_TIME_INTERVAL
    assert np.abs(dr).max() < 0.01
    # the pixel heights lie on the DEM
    dem = scene.dem.interp(latitude=xr.DataArray(lat[sel]), longitude=xr.DataArray(lon[sel])).values
    assert np.abs(dem - h[sel]).max() < 1.0
    assert np.abs(stack["incidence_angle"].values[sel] - geo["incidence_angle"].values).max() < 1e-3
    assert np.abs(stack["los_up"].values[sel] - geo["los_up"].values).max() < 1e-5


def test_perpendicular_baselines_match_the_orbit_offsets(scene: BurstScene) -> None:
    c = scene.config
    lat, lon = c.centre_latitude, c.centre_longitude
    geo = geometry.look_geometry(scene.reference_orbit, lat, lon, 250.0)
    t = geo["azimuth_time"].values
    look = np.array([float(geo[f"look_{k}"]) for k in "xyz"])
    p_ref = scene.reference_orbit.position(t)
    bperp = []
    for k, orbit in enumerate(scene.orbits):
        delta = (
            orbit.position(scene.centre_times[k] + (t - scene.centre_times[c.reference_index]))
            - p_ref
        )
        expected = np.linalg.norm(delta - (delta @ look) * look)
        measured = float(
            geometry.perpendicular_baseline(scene.reference_orbit, orbit, lat, lon, 250.0)
        )
        assert abs(measured) == pytest.approx(expected, abs=0.5)
        offset = scene.offsets[k]
        ref = scene.offsets[c.reference_index]
        tube = np.hypot(offset.radial - ref.radial, offset.normal - ref.normal)
        assert abs(measured) <= tube + 1e-6
        bperp.append(measured)
    spread = np.ptp(bperp)
    assert 30.0 < spread < 250.0
    assert bperp[c.reference_index] == pytest.approx(0.0, abs=1e-6)


def test_residual_topography_phase_matches_exact_ranges(scene: BurstScene) -> None:
    """Raise targets by dh along the reference range circle; compare with the linear formula."""
    c = scene.config
    t = scene.azimuth_time[[10, 75, 140]][:, None]
    r = scene.slant_range[[20, 300, 580]][None, :]
    dh = 40.0
    low = geometry.geolocate(scene.reference_orbit, t, r, height=300.0)
    high = geometry.geolocate(scene.reference_orbit, t, r, height=300.0 + dh)
    inc = geometry.look_geometry(scene.reference_orbit, *low)["incidence_angle"].values
    for k, orbit in enumerate(scene.orbits):
        if k == c.reference_index:
            continue
        r_low = geometry.look_geometry(orbit, *low)["slant_range"].values
        r_high = geometry.look_geometry(orbit, *high)["slant_range"].values
        exact = -4 * np.pi / WAVELENGTH * (r_high - r_low)  # R_ref is the same for both points
        bperp = geometry.perpendicular_baseline(scene.reference_orbit, orbit, *low).values
        formula = residual_topography_phase(dh, bperp, r, inc)
        np.testing.assert_allclose(formula, exact, rtol=0.02, atol=2e-3)


def test_deformation_is_mogi_on_the_line_of_sight(scene: BurstScene, stack: xr.Dataset) -> None:
    d, dv = 2000.0, 1e6
    ue, un, uu = mogi_displacement([0.0, d], [0.0, 0.0], depth=d, volume_change=dv)
    assert uu[0] == pytest.approx(0.75 * dv / (np.pi * d**2))
    assert ue[1] == pytest.approx(uu[1]) and un[1] == 0.0  # at r = d: u_r = u_z
    # the stored LOS displacement is the Mogi field projected on los_east/north/up
    e, n = scene._east_north(stack["latitude"].values, stack["longitude"].values)
    ue, un, uu = mogi_displacement(
        e - scene.mogi.east, n - scene.mogi.north, depth=scene.mogi.depth, volume_change=1.0
    )
    los = (
        ue * stack["los_east"].values + un * stack["los_north"].values + uu * stack["los_up"].values
    )
    days = (stack["date"].values - stack["date"].values[0]) / np.timedelta64(1, "D")
    last = scene.mogi.volume_rate * days[-1] * los
    np.testing.assert_allclose(stack["los_displacement"].values[-1], last, atol=1e-5)
    assert 0.01 < last.max() < 0.07  # centimetres of uplift towards the satellite
    np.testing.assert_allclose(
        stack["deformation_phase"].values[-1], 4 * np.pi / WAVELENGTH * last, atol=2e-3
    )


def test_config_errors() -> None:
    with pytest.raises(ValueError, match="unknown size"):
        SimulationConfig.for_size("huge")
    with pytest.raises(ValueError, match="dates is empty"):
        BurstScene(SimulationConfig())
    bad = dataclasses.replace(SimulationConfig.for_size("small"), reference_index=99)
    with pytest.raises(ValueError, match="reference_index"):
        BurstScene(bad)


def test_a_given_dem_replaces_the_synthetic_terrain(scene: BurstScene) -> None:
    """A real DEM (here: a plane tilted eastwards, on lat/lon) drives heights and geolocation."""
    lat = np.linspace(46.70, 46.84, 200)
    lon = np.linspace(11.20, 11.36, 220)
    tilt = 600.0 + 2000.0 * (lon - 11.28)[None, :] + 0.0 * lat[:, None]
    dem = xr.DataArray(tilt, dims=("lat", "lon"), coords={"lat": lat, "lon": lon})
    own = BurstScene(scene.config, dem=dem)
    block = own.block(0)
    expected = 600.0 + 2000.0 * (block["longitude"].values - 11.28)
    np.testing.assert_allclose(block["height"].values, expected, atol=0.5)
    # same orbits and radar grid, other ground points: the terrain moved them in range
    np.testing.assert_array_equal(own.azimuth_time, scene.azimuth_time)
    assert not np.allclose(block["longitude"].values, scene.block(0)["longitude"].values, atol=1e-6)
    small = dem.isel(lat=slice(90, 110), lon=slice(100, 120))
    with pytest.raises(ValueError, match="does not cover the burst footprint"):
        BurstScene(scene.config, dem=small)
    with pytest.raises(ValueError, match="not latitude/longitude"):
        BurstScene(scene.config, dem=dem.rename(lat="a", lon="b"))


def test_neighbour_bursts_fly_the_same_orbits_later(scene: BurstScene) -> None:
    """Burst k after the first: same orbits and dates, azimuth times k burst cycles later, same
    slant ranges; its centre lies ~19 km along the ground track; its own content."""
    from pairscope.sim.simulate import BURST_CYCLE

    c = scene.config
    for k in (1, 2):
        other = make_scene("small", seed=0, burst_offset=k)
        assert other.config.burst_id == c.burst_id + k and other.burst == f"T117_{249435 + k}_IW2"
        np.testing.assert_array_equal(other.dates, scene.dates)
        assert other.time_since_node == scene.time_since_node
        for a, b in zip(other.orbits, scene.orbits, strict=True):
            np.testing.assert_array_equal(a.times, b.times)
            np.testing.assert_array_equal(a.positions, b.positions)
        np.testing.assert_array_equal(other.anx_times, scene.anx_times)
        dt = (other.azimuth_time - scene.azimuth_time) / np.timedelta64(1, "s")
        np.testing.assert_allclose(dt, k * BURST_CYCLE, atol=1e-9)
        np.testing.assert_array_equal(other.slant_range, scene.slant_range)
        # the centre pixel is at zero Doppler of the shared orbit at the later time
        lat, lon = other.centre_latitude, other.centre_longitude
        geo = geometry.look_geometry(scene.reference_orbit, lat, lon, 250.0)
        t = (geo["azimuth_time"].values - scene.centre_times[c.reference_index]) / np.timedelta64(1, "s")
        assert float(t) == pytest.approx(k * BURST_CYCLE, abs=1e-4)
        north = (lat - c.centre_latitude) * 111_000.0
        assert 17_000 * k < north < 20_000 * k  # ascending: the pass goes north
        assert 36.0 < float(geo["incidence_angle"]) < 42.0
    # the neighbour's content is its own (offset 0 is the one-burst scene: other tests)
    first = scene.block(0)
    second = make_scene("small", seed=0, burst_offset=1).block(0)
    assert not np.array_equal(first["land_cover"].values, second["land_cover"].values)
    assert not np.allclose(first["slc"].values, second["slc"].values)
    with pytest.raises(ValueError, match="burst_offset"):
        SimulationConfig.for_size("small", burst_offset=-1)
