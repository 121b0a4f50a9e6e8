"""Zero-Doppler radar geometry from orbit state vectors on the WGS84 ellipsoid.

Conventions (CEOS-ARD GSLC/NRB, OPERA):

- ``look_x, look_y, look_z``: ECEF unit vector from the antenna to the target (CEOS-ARD "Radar
  Unit Look Vector Grid Image").
- ``los_east, los_north, los_up``: unit vector from the target to the sensor in the target's local
  East-North-Up frame (OPERA convention), ``los = -look`` rotated to ENU.
- ``incidence_angle``: between ``los`` and the WGS84 ellipsoid normal (geodetic vertical) at the
  target, the CEOS-ARD definition.
- ``incidence_angle_geocentric``: between ``los`` and the geocentric radial direction at the target
  (``target / |target|``).
- ``elevation_angle``: off-nadir angle at the sensor, between ``look`` and the direction from the
  sensor towards the Earth's centre (``-sensor / |sensor|``).

The Sentinel-1 annotation geolocation grid (IPF) measures ``incidenceAngle`` from the geocentric
radial at the target and ``elevationAngle`` from the geocentric nadir at the sensor (checked point
by point on real products in ``tests/test_30_geometry.py``: they match to < 1e-4 deg, while the
ellipsoid-normal incidence differs by 0.02-0.04 deg). So ``incidence_angle_geocentric`` and
``elevation_angle`` reproduce the annotation, and ``incidence_angle`` is the CEOS-ARD quantity.
"""

from __future__ import annotations

from typing import Literal, cast

import numpy as np
import numpy.typing as npt
import xarray as xr

from pairscope._types import FloatArray, TimeLike
from pairscope.geometry._kernels import (
    WGS84_A,
    WGS84_B,
    WGS84_E2,
    WGS84_F,
    ecef_to_llh_kernel,
    geolocate_kernel,
    look_kernel,
    zero_doppler_kernel,
)
from pairscope.geometry.orbit import LAGRANGE_POINTS, Orbit, OrbitSource, write_eof
from pairscope.geometry.terrain import (
    LAYOVER,
    SHADOW,
    DemLike,
    dem_median,
    dem_sampler,
    layover_shadow_mask,
    local_incidence_angle,
)

__all__ = [
    "SPEED_OF_LIGHT",
    "SENTINEL1_FREQUENCY",
    "SENTINEL1_WAVELENGTH",
    "WGS84_A",
    "WGS84_B",
    "WGS84_E2",
    "WGS84_F",
    "LAGRANGE_POINTS",
    "Orbit",
    "OrbitSource",
    "TimeLike",
    "write_eof",
    "llh_to_ecef",
    "ecef_to_llh",
    "enu_basis",
    "zero_doppler",
    "look_geometry",
    "geolocate",
    "perpendicular_baseline",
    "parallel_baseline",
    "baselines",
    "DemLike",
    "local_incidence_angle",
    "layover_shadow_mask",
    "LAYOVER",
    "SHADOW",
]

SPEED_OF_LIGHT = 299_792_458.0
SENTINEL1_FREQUENCY = 5.405e9
SENTINEL1_WAVELENGTH = SPEED_OF_LIGHT / SENTINEL1_FREQUENCY

LookSide = Literal["right", "left"]
ArrayOrDA = npt.ArrayLike | xr.DataArray


# ----------------------------------------------------------------------------------------------
# ellipsoid
def llh_to_ecef(
    latitude: npt.ArrayLike, longitude: npt.ArrayLike, height: npt.ArrayLike = 0.0
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """WGS84 geodetic latitude, longitude (deg) and ellipsoidal height (m) to ECEF x, y, z (m)."""
    lat = np.radians(np.asarray(latitude, dtype=np.float64))
    lon = np.radians(np.asarray(longitude, dtype=np.float64))
    h = np.asarray(height, dtype=np.float64)
    sin_lat = np.sin(lat)
    n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sin_lat * sin_lat)
    xy = (n + h) * np.cos(lat)
    return xy * np.cos(lon), xy * np.sin(lon), (n * (1.0 - WGS84_E2) + h) * sin_lat


def ecef_to_llh(
    x: npt.ArrayLike, y: npt.ArrayLike, z: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ECEF x, y, z (m) to WGS84 latitude, longitude (deg) and ellipsoidal height (m)."""
    xb, yb, zb = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, y, z)))
    out = ecef_to_llh_kernel(*(np.ascontiguousarray(v.ravel()) for v in (xb, yb, zb)))
    return out[0].reshape(xb.shape), out[1].reshape(xb.shape), out[2].reshape(xb.shape)


def enu_basis(
    latitude: npt.ArrayLike, longitude: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """East, north, up (geodetic normal) ECEF unit vectors, each of shape ``lat.shape + (3,)``."""
    lat = np.radians(np.asarray(latitude, dtype=np.float64))
    lon = np.radians(np.asarray(longitude, dtype=np.float64))
    sl, cl, so, co = np.sin(lat), np.cos(lat), np.sin(lon), np.cos(lon)
    east = np.stack([-so, co, np.zeros_like(so)], axis=-1)
    north = np.stack([-sl * co, -sl * so, cl], axis=-1)
    up = np.stack([cl * co, cl * so, sl], axis=-1)
    return east, north, up


# ----------------------------------------------------------------------------------------------
# zero-Doppler (geo -> radar)


def _look_side_sign(look_side: str) -> float:
    if look_side not in ("right", "left"):
        raise ValueError(f"look_side must be 'right' or 'left', got {look_side!r}")
    return 1.0 if look_side == "right" else -1.0


#: An orbit spanning several passes (e.g. a 26 h POEORB) may see a point at zero Doppler more
#: than once; the closest pass is taken unless another one is within this range ratio.
AMBIGUOUS_RANGE_RATIO = 1.25


def _initial_time(orbit: Orbit, target: FloatArray, look_side: str) -> float:
    """Zero-Doppler time (s since epoch) of one target by a scan over the state vectors.

    Among the passes that see the target on ``look_side``, the one at the shortest range.
    """
    ts, pos, vel, _ = orbit.kernel_args
    d = target[None, :] - pos
    f = np.einsum("ij,ij->i", d, vel)
    crossing = np.flatnonzero((f[:-1] > 0) & (f[1:] <= 0))
    side = _look_side_sign(look_side)
    candidates: list[tuple[float, float]] = []
    for i in crossing:
        t = ts[i] + (ts[i + 1] - ts[i]) * f[i] / (f[i] - f[i + 1])
        rng = float(np.linalg.norm(d[i]))
        right = float(np.dot(d[i], np.cross(vel[i], pos[i])))
        if side * right > 0:
            candidates.append((rng, float(t)))
    if not candidates:
        lat, lon, _ = ecef_to_llh(*target)
        raise ValueError(
            f"the orbit {orbit!r} never sees the ground point ({float(lat):.4f}, "
            f"{float(lon):.4f}) at zero Doppler looking {look_side}; is it the right orbit, "
            "pass and look side for these coordinates?"
        )
    candidates.sort()
    if len(candidates) > 1 and candidates[1][0] < AMBIGUOUS_RANGE_RATIO * candidates[0][0]:
        raise ValueError(
            f"the orbit {orbit!r} sees the same ground point from {len(candidates)} passes at "
            f"similar ranges ({candidates[0][0] / 1e3:.0f} and {candidates[1][0] / 1e3:.0f} km); "
            "crop it to the acquisition with orbit.crop(start, stop) or pass azimuth_time_guess"
        )
    return candidates[0][1]


def _start_times(
    orbit: Orbit, targets: FloatArray, azimuth_time_guess: TimeLike | None, look_side: str
) -> tuple[FloatArray, bool]:
    """Per-target Newton start times (s) and whether neighbours may warm-start each other."""
    n = targets.shape[0]
    if azimuth_time_guess is not None:
        guess = orbit.seconds(azimuth_time_guess).ravel()
        if guess.size not in (1, n):
            raise ValueError(
                f"azimuth_time_guess has {guess.size} values for {n} targets; pass one or one each"
            )
        return np.ascontiguousarray(np.broadcast_to(guess, (n,)), dtype=np.float64), guess.size == 1
    finite = np.all(np.isfinite(targets), axis=1)
    centre = targets[finite].mean(axis=0)
    lat, lon, _ = ecef_to_llh(*centre)
    centre = np.array(llh_to_ecef(lat, lon, 0.0))
    return np.full(n, _initial_time(orbit, centre, look_side)), True


def zero_doppler(
    orbit: Orbit,
    targets: FloatArray,
    *,
    azimuth_time_guess: TimeLike | None = None,
    look_side: LookSide = "right",
    tolerance: float = 1e-6,
    max_iter: int = 50,
) -> tuple[FloatArray, FloatArray]:
    """Zero-Doppler time (s since ``orbit.epoch``) and sensor state (M, 6) for ECEF targets (M, 3).

    Newton iteration on ``f(t) = (target - P(t)) . V(t)``, started from ``azimuth_time_guess`` or
    from the solution for the centre of the targets (then each target also tries its
    predecessor's solution first). Targets not seen within the orbit's span give NaN.
    """
    targets = np.ascontiguousarray(targets, dtype=np.float64).reshape(-1, 3)
    if not np.all(np.isfinite(targets), axis=1).any():
        return np.full(targets.shape[0], np.nan), np.full((targets.shape[0], 6), np.nan)
    t0, warm = _start_times(orbit, targets, azimuth_time_guess, look_side)
    return zero_doppler_kernel(*orbit.kernel_args, targets, t0, tolerance, max_iter, warm)


def _as_dataarrays(
    latitude: ArrayOrDA, longitude: ArrayOrDA, height: ArrayOrDA
) -> tuple[xr.DataArray, xr.DataArray, xr.DataArray]:
    def wrap(v: ArrayOrDA) -> xr.DataArray:
        if isinstance(v, xr.DataArray):
            return v
        arr = np.asarray(v, dtype=np.float64)
        return xr.DataArray(arr, dims=[f"dim_{i}" for i in range(arr.ndim)])

    lat, lon, h = xr.broadcast(wrap(latitude), wrap(longitude), wrap(height))
    return lat, lon, h


def look_geometry(
    orbit: Orbit,
    latitude: ArrayOrDA,
    longitude: ArrayOrDA,
    height: ArrayOrDA = 0.0,
    *,
    azimuth_time_guess: TimeLike | None = None,
    look_side: LookSide = "right",
) -> xr.Dataset:
    """Zero-Doppler geometry of ground points (WGS84 lat/lon deg, ellipsoidal height m).

    Returns a Dataset with the input's dims and coords holding ``azimuth_time``
    (datetime64[ns]), ``slant_range`` (m), ``look_x/y/z`` (ECEF, antenna -> target),
    ``los_east/north/up`` (ENU, target -> sensor), ``incidence_angle`` (deg, ellipsoid normal,
    CEOS-ARD), ``incidence_angle_geocentric`` (deg, geocentric radial, as the Sentinel-1
    annotation ``incidenceAngle``) and
    ``elevation_angle`` (deg, off-nadir at the sensor). Points never seen are NaN / NaT.
    """
    lat, lon, h = _as_dataarrays(latitude, longitude, height)
    flat = [np.ascontiguousarray(v.values.ravel(), dtype=np.float64) for v in (lat, lon, h)]
    valid = np.isfinite(flat[0]) & np.isfinite(flat[1]) & np.isfinite(flat[2])
    if not valid.any():
        raise ValueError("look_geometry needs at least one finite latitude/longitude/height")
    if azimuth_time_guess is None:
        sample = np.flatnonzero(valid)[:: max(1, int(valid.sum()) // 4096)]
        probe = np.stack(llh_to_ecef(flat[0][sample], flat[1][sample], flat[2][sample]), axis=-1)
        t_start, warm = _start_times(orbit, probe, None, look_side)
        t0 = np.full(flat[0].shape, t_start[0])
    else:
        probe = np.zeros((flat[0].size, 3))
        t0, warm = _start_times(orbit, probe, azimuth_time_guess, look_side)
    t, rng, out = look_kernel(*orbit.kernel_args, flat[0], flat[1], flat[2], t0, 1e-6, 50, warm)
    names = ("look_x", "look_y", "look_z", "los_east", "los_north", "los_up")
    results = dict(zip(names, out[:6], strict=True))
    incidence, inc_geocentric, elevation = out[6], out[7], out[8]

    dims, shape, coords = lat.dims, lat.shape, lat.coords

    def var(values: npt.NDArray[np.generic], units: str, long_name: str) -> xr.DataArray:
        return xr.DataArray(
            values.reshape(shape),
            dims=dims,
            coords=coords,
            attrs={"units": units, "long_name": long_name},
        )

    ds = xr.Dataset(
        {
            "azimuth_time": var(orbit.datetimes(t), "UTC", "zero-Doppler azimuth time"),
            "slant_range": var(rng, "m", "slant range, antenna phase centre to target"),
            "look_x": var(
                results["look_x"], "1", "ECEF x of the unit look vector, antenna to target"
            ),
            "look_y": var(
                results["look_y"], "1", "ECEF y of the unit look vector, antenna to target"
            ),
            "look_z": var(
                results["look_z"], "1", "ECEF z of the unit look vector, antenna to target"
            ),
            "los_east": var(
                results["los_east"], "1", "east of the unit line of sight, target to sensor"
            ),
            "los_north": var(
                results["los_north"], "1", "north of the unit line of sight, target to sensor"
            ),
            "los_up": var(results["los_up"], "1", "up of the unit line of sight, target to sensor"),
            "incidence_angle": var(
                incidence, "deg", "incidence angle from the WGS84 ellipsoid normal at the target"
            ),
            "incidence_angle_geocentric": var(
                inc_geocentric, "deg", "incidence angle from the geocentric radial at the target"
            ),
            "elevation_angle": var(
                elevation, "deg", "off-nadir (elevation) angle at the sensor, geocentric nadir"
            ),
        }
    )
    ds.attrs["look_side"] = look_side
    return ds


# ----------------------------------------------------------------------------------------------
# range-Doppler forward solution (radar -> geo)


def geolocate(
    orbit: Orbit,
    azimuth_time: ArrayOrDA,
    slant_range: ArrayOrDA,
    *,
    height: ArrayOrDA = 0.0,
    dem: DemLike | None = None,
    look_side: LookSide = "right",
    max_dem_iterations: int = 20,
    dem_tolerance: float = 0.01,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Range-Doppler forward solution: (latitude, longitude, height) of radar samples.

    ``azimuth_time`` (datetime64) and ``slant_range`` (m) broadcast together. Without ``dem``
    the points lie at ellipsoidal ``height`` (m); with ``dem`` (DataArray on a lat/lon grid or a
    callable ``(lat, lon) -> height``, heights taken as ellipsoidal) the height is iterated until
    it changes by less than ``dem_tolerance`` metres; points that fall outside the DEM use the
    ``height`` argument.
    """
    side = _look_side_sign(look_side)
    t_in = azimuth_time.values if isinstance(azimuth_time, xr.DataArray) else azimuth_time
    r_in = slant_range.values if isinstance(slant_range, xr.DataArray) else slant_range
    h_in = height.values if isinstance(height, xr.DataArray) else height
    t_s = orbit.seconds(cast(TimeLike, np.asarray(t_in)))
    t_b, r_b, h_b = np.broadcast_arrays(
        t_s, np.asarray(r_in, dtype=np.float64), np.asarray(h_in, dtype=np.float64)
    )
    shape = t_b.shape
    t_f = np.ascontiguousarray(t_b.ravel())
    r_f = np.ascontiguousarray(r_b.ravel())
    h_default = np.ascontiguousarray(h_b.ravel(), dtype=np.float64)
    if (
        np.nanmin(t_f, initial=np.inf) < orbit.kernel_args[0][0] - 1e-6
        or np.nanmax(t_f, initial=-np.inf) > orbit.kernel_args[0][-1] + 1e-6
    ):
        raise ValueError(f"azimuth times outside the orbit's span ({orbit!r})")
    args = orbit.kernel_args
    llh = geolocate_kernel(*args, t_f, r_f, h_default, side)
    lat, lon, h = llh[0], llh[1], llh[2]
    if dem is not None:
        sample = dem_sampler(dem)
        h_cur = h_default
        if isinstance(dem, xr.DataArray):
            # start from the DEM's median height so the first solution lands near the terrain
            h_cur = np.full_like(h_default, dem_median(dem))
            llh = geolocate_kernel(*args, t_f, r_f, h_cur, side)
            lat, lon, h = llh[0], llh[1], llh[2]
        clamped = dem_sampler(dem, clamp=True)
        for _ in range(max_dem_iterations):
            # edge heights extrapolated while iterating: a first guess may land outside the DEM
            h_new = clamped(lat, lon)
            h_new = np.where(np.isfinite(h_new), h_new, h_default)
            change = np.nanmax(np.abs(h_new - h_cur), initial=0.0)
            h_cur = np.ascontiguousarray(h_new)
            llh = geolocate_kernel(*args, t_f, r_f, h_cur, side)
            lat, lon, h = llh[0], llh[1], llh[2]
            if change < dem_tolerance:
                break
        outside = ~np.isfinite(sample(lat, lon))
        if outside.any():
            llh[:, outside] = geolocate_kernel(
                *args, t_f[outside], r_f[outside], h_default[outside], side
            )
            lat, lon, h = llh[0], llh[1], llh[2]
    return lat.reshape(shape), lon.reshape(shape), h.reshape(shape)


# ----------------------------------------------------------------------------------------------
# baselines
def baselines(
    reference_orbit: Orbit,
    secondary_orbit: Orbit,
    latitude: ArrayOrDA,
    longitude: ArrayOrDA,
    height: ArrayOrDA = 0.0,
    *,
    look_side: LookSide = "right",
) -> xr.Dataset:
    """Perpendicular and parallel baselines (m) of a pair at ground points.

    Each orbit is taken at its own zero-Doppler time of the target (as isce3 / dolphin do);
    ``B = P_sec - P_ref`` is split along and across the reference line of sight
    ``l = (target - P_ref) / R_ref``:

    - ``parallel_baseline = B . l`` (~ ``R_ref - R_sec``, positive when the secondary is closer);
    - ``perpendicular_baseline = sign * |B - (B . l) l|`` with
      ``sign = sign(((target - P_ref) x B) . V_ref)``, the ISCE2 / isce3 / dolphin convention:
      positive when the secondary sees the target under a larger look angle than the reference
      (``theta_sec ~ theta_ref + B_perp / R``), i.e. the secondary lies further from the scene.
    """
    lat, lon, h = _as_dataarrays(latitude, longitude, height)
    x, y, z = llh_to_ecef(lat.values, lon.values, h.values)
    targets = np.stack([x.ravel(), y.ravel(), z.ravel()], axis=-1)
    _, s_ref = zero_doppler(reference_orbit, targets, look_side=look_side)
    _, s_sec = zero_doppler(secondary_orbit, targets, look_side=look_side)
    b = s_sec[:, :3] - s_ref[:, :3]
    look = targets - s_ref[:, :3]
    look /= np.linalg.norm(look, axis=1)[:, None]
    b_par = np.einsum("ij,ij->i", b, look)
    sign = np.sign(np.einsum("ij,ij->i", np.cross(look, b), s_ref[:, 3:]))
    b_perp = sign * np.linalg.norm(b - b_par[:, None] * look, axis=1)
    dims, coords, shape = lat.dims, lat.coords, lat.shape
    return xr.Dataset(
        {
            "perpendicular_baseline": xr.DataArray(
                b_perp.reshape(shape),
                dims=dims,
                coords=coords,
                attrs={"units": "m", "long_name": "perpendicular baseline (secondary - reference)"},
            ),
            "parallel_baseline": xr.DataArray(
                b_par.reshape(shape),
                dims=dims,
                coords=coords,
                attrs={
                    "units": "m",
                    "long_name": "parallel baseline, along the reference line of sight",
                },
            ),
        }
    )


def perpendicular_baseline(
    reference_orbit: Orbit,
    secondary_orbit: Orbit,
    latitude: ArrayOrDA,
    longitude: ArrayOrDA,
    height: ArrayOrDA = 0.0,
    *,
    look_side: LookSide = "right",
) -> xr.DataArray:
    """Signed perpendicular baseline (m); sign convention in :func:`baselines`."""
    ds = baselines(
        reference_orbit, secondary_orbit, latitude, longitude, height, look_side=look_side
    )
    return ds["perpendicular_baseline"]


def parallel_baseline(
    reference_orbit: Orbit,
    secondary_orbit: Orbit,
    latitude: ArrayOrDA,
    longitude: ArrayOrDA,
    height: ArrayOrDA = 0.0,
    *,
    look_side: LookSide = "right",
) -> xr.DataArray:
    """Parallel baseline (m, ~ ``R_reference - R_secondary``); see :func:`baselines`."""
    ds = baselines(
        reference_orbit, secondary_orbit, latitude, longitude, height, look_side=look_side
    )
    return ds["parallel_baseline"]
