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

from collections.abc import Callable
from typing import Literal, cast

import numba
import numpy as np
import numpy.typing as npt
import xarray as xr

from pairscope.orbit import (
    LAGRANGE_POINTS,
    FloatArray,
    Orbit,
    OrbitSource,
    TimeLike,
    interp_state,
    interp_state_acc,
    jit,
    pjit,
    write_eof,
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

WGS84_A = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
WGS84_B = WGS84_A * (1.0 - WGS84_F)
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
_EP2 = WGS84_E2 / (1.0 - WGS84_E2)

LookSide = Literal["right", "left"]
#: A DEM: a DataArray with latitude/longitude coordinates (``latitude``/``longitude``,
#: ``lat``/``lon`` or geographic ``y``/``x``), or a callable ``(lat, lon) -> height``.
DemLike = xr.DataArray | Callable[[FloatArray, FloatArray], npt.ArrayLike]
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


@jit
def _ecef_to_llh_scalar(x: float, y: float, z: float) -> tuple[float, float, float]:
    """Heikkinen's closed-form ECEF -> geodetic (radians, m); sub-millimetre for |h| < 1e6 m."""
    a, b, e2 = WGS84_A, WGS84_B, WGS84_E2
    p2 = x * x + y * y
    p = np.sqrt(p2)
    if p < 1e-9:
        lat = np.pi / 2 if z >= 0 else -np.pi / 2
        return lat, 0.0, abs(z) - b
    f_ = 54.0 * b * b * z * z
    g = p2 + (1.0 - e2) * z * z - e2 * (a * a - b * b)
    c = e2 * e2 * f_ * p2 / (g * g * g)
    s = (1.0 + c + np.sqrt(c * c + 2.0 * c)) ** (1.0 / 3.0)
    k = s + 1.0 + 1.0 / s
    pp = f_ / (3.0 * k * k * g * g)
    q = np.sqrt(1.0 + 2.0 * e2 * e2 * pp)
    r0 = -pp * e2 * p / (1.0 + q) + np.sqrt(
        max(
            0.5 * a * a * (1.0 + 1.0 / q)
            - pp * (1.0 - e2) * z * z / (q * (1.0 + q))
            - 0.5 * pp * p2,
            0.0,
        )
    )
    u = np.sqrt((p - e2 * r0) ** 2 + z * z)
    v = np.sqrt((p - e2 * r0) ** 2 + (1.0 - e2) * z * z)
    z0 = b * b * z / (a * v)
    h = u * (1.0 - b * b / (a * v))
    return np.arctan2(z + _EP2 * z0, p), np.arctan2(y, x), h


@pjit
def _ecef_to_llh_kernel(x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
    out = np.empty((3, x.shape[0]))
    for i in numba.prange(x.shape[0]):
        lat, lon, h = _ecef_to_llh_scalar(x[i], y[i], z[i])
        out[0, i] = np.degrees(lat)
        out[1, i] = np.degrees(lon)
        out[2, i] = h
    return out


def ecef_to_llh(
    x: npt.ArrayLike, y: npt.ArrayLike, z: npt.ArrayLike
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """ECEF x, y, z (m) to WGS84 latitude, longitude (deg) and ellipsoidal height (m)."""
    xb, yb, zb = np.broadcast_arrays(*(np.asarray(v, dtype=np.float64) for v in (x, y, z)))
    out = _ecef_to_llh_kernel(*(np.ascontiguousarray(v.ravel()) for v in (xb, yb, zb)))
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
@jit
def _solve_zero_doppler(
    ts: FloatArray,
    pos: FloatArray,
    vel: FloatArray,
    bary: FloatArray,
    target: FloatArray,
    t: float,
    tol: float,
    max_iter: int,
    st: FloatArray,
    acc: FloatArray,
) -> float:
    """Newton on ``f(t) = (target - P(t)) . V(t) = 0`` with the interpolant's exact derivative.

    Converges quadratically, so once a step is below ``tol`` the next one is negligible: that
    step is taken and the state ``st`` (9 values: position, velocity, acceleration) evaluated
    there (advanced from the last iterate by a Taylor step, ~1e-11 m). Returns t, or NaN when
    Newton leaves the orbit's span or does not converge.
    """
    lo = ts[0] - 1e-6
    hi = ts[-1] + 1e-6
    if not (np.isfinite(target[0]) and np.isfinite(target[1]) and np.isfinite(target[2])):
        return np.nan
    for _ in range(max_iter):
        interp_state_acc(ts, pos, vel, bary, t, st)
        f = 0.0
        fp = 0.0
        for c in range(3):
            d = target[c] - st[c]
            f += d * st[3 + c]
            fp += d * st[6 + c] - st[3 + c] * st[3 + c]
        step = -f / fp
        t += step
        if not (lo - 60.0 < t < hi + 60.0):
            return np.nan
        if abs(step) < tol:
            if lo <= t <= hi:
                # advance the state by the last (tiny) step instead of interpolating again
                for c in range(3):
                    st[c] += step * st[3 + c] + 0.5 * step * step * st[6 + c]
                    st[3 + c] += step * st[6 + c]
                return t
            return np.nan
    return np.nan


@jit
def _warm_guess(prev: float, prev2: float, default: float, warm_start: bool) -> float:
    """Newton start: linear extrapolation of the two previous solutions when allowed."""
    if not warm_start or not np.isfinite(prev):
        return default
    if np.isfinite(prev2):
        return 2.0 * prev - prev2
    return prev


@pjit
def _zero_doppler_kernel(
    ts: FloatArray,
    pos: FloatArray,
    vel: FloatArray,
    bary: FloatArray,
    targets: FloatArray,
    t0: FloatArray,
    tol: float,
    max_iter: int,
    warm_start: bool,
) -> tuple[FloatArray, FloatArray]:
    """Zero-Doppler time and state for (M, 3) targets; chunks of neighbours warm-start Newton."""
    m_count = targets.shape[0]
    t_out = np.empty(m_count)
    state_out = np.empty((m_count, 6))
    chunk = 512
    for c in numba.prange((m_count + chunk - 1) // chunk):
        st = np.empty(9)
        acc = np.empty(3)
        prev = np.nan
        prev2 = np.nan
        for m in range(c * chunk, min(m_count, (c + 1) * chunk)):
            guess = _warm_guess(prev, prev2, t0[m], warm_start)
            t = _solve_zero_doppler(ts, pos, vel, bary, targets[m], guess, tol, max_iter, st, acc)
            if not np.isfinite(t) and guess != t0[m]:
                t = _solve_zero_doppler(
                    ts, pos, vel, bary, targets[m], t0[m], tol, max_iter, st, acc
                )
            t_out[m] = t
            if np.isfinite(t):
                state_out[m] = st[:6]
                prev2, prev = prev, t
            else:
                state_out[m] = np.nan
    return t_out, state_out


@pjit
def _look_kernel(
    ts: FloatArray,
    pos: FloatArray,
    vel: FloatArray,
    bary: FloatArray,
    lat: FloatArray,
    lon: FloatArray,
    hgt: FloatArray,
    t0: FloatArray,
    tol: float,
    max_iter: int,
    warm_start: bool,
) -> tuple[FloatArray, FloatArray, npt.NDArray[np.float32]]:
    """Fused llh -> zero Doppler -> look/LOS/angles; rows of ``out``: look xyz, los enu, angles."""
    m_count = lat.shape[0]
    t_out = np.empty(m_count)
    r_out = np.empty(m_count)
    out = np.empty((9, m_count), dtype=np.float32)
    chunk = 512
    for c in numba.prange((m_count + chunk - 1) // chunk):
        st = np.empty(9)
        acc = np.empty(3)
        target = np.empty(3)
        prev = np.nan
        prev2 = np.nan
        for m in range(c * chunk, min(m_count, (c + 1) * chunk)):
            la = np.radians(lat[m])
            lo = np.radians(lon[m])
            sla, cla, slo, clo = np.sin(la), np.cos(la), np.sin(lo), np.cos(lo)
            n = WGS84_A / np.sqrt(1.0 - WGS84_E2 * sla * sla)
            target[0] = (n + hgt[m]) * cla * clo
            target[1] = (n + hgt[m]) * cla * slo
            target[2] = (n * (1.0 - WGS84_E2) + hgt[m]) * sla
            guess = _warm_guess(prev, prev2, t0[m], warm_start)
            t = _solve_zero_doppler(ts, pos, vel, bary, target, guess, tol, max_iter, st, acc)
            if not np.isfinite(t) and guess != t0[m]:
                t = _solve_zero_doppler(ts, pos, vel, bary, target, t0[m], tol, max_iter, st, acc)
            t_out[m] = t
            if not np.isfinite(t):
                r_out[m] = np.nan
                out[:, m] = np.nan
                continue
            prev2, prev = prev, t
            dx = target[0] - st[0]
            dy = target[1] - st[1]
            dz = target[2] - st[2]
            r = np.sqrt(dx * dx + dy * dy + dz * dz)
            r_out[m] = r
            lx, ly, lz = dx / r, dy / r, dz / r
            east = -slo * -lx + clo * -ly
            north = -sla * clo * -lx - sla * slo * -ly + cla * -lz
            up = cla * clo * -lx + cla * slo * -ly + sla * -lz
            rt = np.sqrt(target[0] ** 2 + target[1] ** 2 + target[2] ** 2)
            cos_geoc = -(lx * target[0] + ly * target[1] + lz * target[2]) / rt
            rs = np.sqrt(st[0] ** 2 + st[1] ** 2 + st[2] ** 2)
            cos_elev = -(lx * st[0] + ly * st[1] + lz * st[2]) / rs
            out[0, m] = lx
            out[1, m] = ly
            out[2, m] = lz
            out[3, m] = east
            out[4, m] = north
            out[5, m] = up
            out[6, m] = np.degrees(np.arccos(min(max(up, -1.0), 1.0)))
            out[7, m] = np.degrees(np.arccos(min(max(cos_geoc, -1.0), 1.0)))
            out[8, m] = np.degrees(np.arccos(min(max(cos_elev, -1.0), 1.0)))
    return t_out, r_out, out


def _look_side_sign(look_side: str) -> float:
    if look_side not in ("right", "left"):
        raise ValueError(f"look_side must be 'right' or 'left', got {look_side!r}")
    return 1.0 if look_side == "right" else -1.0


def _initial_time(orbit: Orbit, target: FloatArray, look_side: str) -> float:
    """Zero-Doppler time (s since epoch) of one target by a scan over the state vectors."""
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
    if len(candidates) > 1 and candidates[1][0] < 3.0e6:
        raise ValueError(
            f"the orbit {orbit!r} sees the same ground point from {len(candidates)} passes; crop "
            "it to the acquisition with orbit.crop(start, stop) or pass azimuth_time_guess"
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
    return _zero_doppler_kernel(*orbit.kernel_args, targets, t0, tolerance, max_iter, warm)


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
    t, rng, out = _look_kernel(*orbit.kernel_args, flat[0], flat[1], flat[2], t0, 1e-6, 50, warm)
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
@jit
def _solve_look_angle(
    p: FloatArray,
    d: FloatArray,
    c: FloatArray,
    r: float,
    h_target: float,
    theta: float,
    out: FloatArray,
) -> float:
    """Look angle ``theta`` (from ``d`` towards ``c``) putting ``p + r (cos d + sin c)`` at
    geodetic height ``h_target``; writes the point's latitude, longitude (rad) and height to
    ``out`` and returns theta (NaN if none)."""
    h_eff = h_target
    for _outer in range(6):
        aa = WGS84_A + h_eff
        bb = WGS84_B + h_eff
        ia2 = 1.0 / (aa * aa)
        ib2 = 1.0 / (bb * bb)
        if not np.isfinite(theta):
            # spherical first guess with the local ellipsoid radius under the sensor
            rp2 = p[0] * p[0] + p[1] * p[1] + p[2] * p[2]
            rt2 = (aa * aa * (p[0] * p[0] + p[1] * p[1]) + bb * bb * p[2] * p[2]) / rp2
            cos_theta = (r * r + rp2 - rt2) / (2.0 * r * np.sqrt(rp2))
            theta = np.arccos(min(max(cos_theta, -1.0), 1.0))
        for _ in range(30):
            ct = np.cos(theta)
            st = np.sin(theta)
            x0 = p[0] + r * (ct * d[0] + st * c[0])
            x1 = p[1] + r * (ct * d[1] + st * c[1])
            x2 = p[2] + r * (ct * d[2] + st * c[2])
            g = (x0 * x0 + x1 * x1) * ia2 + x2 * x2 * ib2 - 1.0
            gp = (
                2.0
                * r
                * (
                    (x0 * (ct * c[0] - st * d[0]) + x1 * (ct * c[1] - st * d[1])) * ia2
                    + x2 * (ct * c[2] - st * d[2]) * ib2
                )
            )
            step = -g / gp
            theta += step
            if abs(step) < 1e-13:
                break
        ct = np.cos(theta)
        st = np.sin(theta)
        lat, lon, h_now = _ecef_to_llh_scalar(
            p[0] + r * (ct * d[0] + st * c[0]),
            p[1] + r * (ct * d[1] + st * c[1]),
            p[2] + r * (ct * d[2] + st * c[2]),
        )
        out[0], out[1], out[2] = lat, lon, h_now
        err = h_target - h_now
        if abs(err) < 1e-4:
            return theta
        h_eff += err
    return theta if np.isfinite(theta) else np.nan


@pjit
def _geolocate_kernel(
    ts: FloatArray,
    pos: FloatArray,
    vel: FloatArray,
    bary: FloatArray,
    t: FloatArray,
    rng: FloatArray,
    h_target: FloatArray,
    side: float,
) -> FloatArray:
    """(3, M) latitude, longitude (deg), height of the points at zero Doppler, slant range
    ``rng`` and geodetic height ``h_target``.

    In the zero-Doppler plane of the sensor (``d`` towards the Earth's centre, ``c`` to the look
    side) the point is ``P + R (cos(theta) d + sin(theta) c)``; Newton finds theta on the
    ellipsoid inflated by the height, repeated until the geodetic height matches. Neighbouring
    samples warm-start theta.
    """
    m_count = t.shape[0]
    out = np.empty((3, m_count))
    chunk = 512
    for ch in numba.prange((m_count + chunk - 1) // chunk):
        st = np.empty(6)
        d = np.empty(3)
        c = np.empty(3)
        llh = np.empty(3)
        theta = np.nan
        for m in range(ch * chunk, min(m_count, (ch + 1) * chunk)):
            if not (np.isfinite(t[m]) and np.isfinite(rng[m]) and np.isfinite(h_target[m])):
                out[:, m] = np.nan
                continue
            interp_state(ts, pos, vel, bary, t[m], st)
            vn = np.sqrt(st[3] ** 2 + st[4] ** 2 + st[5] ** 2)
            v0, v1, v2 = st[3] / vn, st[4] / vn, st[5] / vn
            pv = st[0] * v0 + st[1] * v1 + st[2] * v2
            d0, d1, d2 = -(st[0] - pv * v0), -(st[1] - pv * v1), -(st[2] - pv * v2)
            dn = np.sqrt(d0 * d0 + d1 * d1 + d2 * d2)
            d[0], d[1], d[2] = d0 / dn, d1 / dn, d2 / dn
            # right of the velocity = v x up = down x v
            c[0] = side * (d[1] * v2 - d[2] * v1)
            c[1] = side * (d[2] * v0 - d[0] * v2)
            c[2] = side * (d[0] * v1 - d[1] * v0)
            theta = _solve_look_angle(st[:3], d, c, rng[m], h_target[m], theta, llh)
            if np.isfinite(theta):
                out[0, m] = np.degrees(llh[0])
                out[1, m] = np.degrees(llh[1])
                out[2, m] = llh[2]
            else:
                out[:, m] = np.nan
    return out


def _dem_grid(dem: xr.DataArray) -> xr.DataArray:
    """The DEM as a 2-D float grid with nodata as NaN (a size-1 ``band`` dim is dropped)."""
    grid = dem.squeeze(drop=True) if dem.ndim > 2 else dem
    if grid.ndim != 2:
        raise ValueError(f"the DEM must be 2-D (one band), got dims {dem.dims}")
    nodata = grid.attrs.get("_FillValue", grid.rio.nodata if hasattr(grid, "rio") else None)
    values = np.asarray(grid.values, dtype=np.float64)
    if nodata is not None:
        values = np.where(values == nodata, np.nan, values)
    return grid.copy(data=values)


def _dem_median(dem: xr.DataArray) -> float:
    values = _dem_grid(dem).values
    if not np.isfinite(values).any():
        raise ValueError("the DEM holds no valid height (all nodata)")
    return float(np.nanmedian(values))


def _dem_sampler(
    dem: DemLike, *, clamp: bool = False
) -> Callable[[FloatArray, FloatArray], FloatArray]:
    if isinstance(dem, xr.DataArray):
        return _grid_sampler(_dem_grid(dem), clamp=clamp)
    if callable(dem):
        func = dem
        return lambda la, lo: np.asarray(func(la, lo), dtype=np.float64).reshape(la.shape)
    raise TypeError(
        "dem must be an xarray.DataArray on a latitude/longitude grid or a callable "
        f"(lat, lon) -> height; got {type(dem).__name__}"
    )


def _dem_axes(dem: xr.DataArray) -> tuple[str, str]:
    for lat_name, lon_name in (("latitude", "longitude"), ("lat", "lon"), ("y", "x")):
        if lat_name in dem.dims and lon_name in dem.dims:
            if lat_name == "y":
                crs = dem.rio.crs if hasattr(dem, "rio") else None
                if crs is not None and not crs.is_geographic:
                    raise ValueError(
                        f"the DEM's CRS {crs} is projected; reproject it to geographic "
                        "coordinates (dem.rio.reproject('EPSG:4326')) before using it here"
                    )
            return lat_name, lon_name
    raise ValueError(
        f"DEM dims {dem.dims} hold no latitude/longitude axes; name them ('latitude', "
        "'longitude'), ('lat', 'lon') or geographic ('y', 'x')"
    )


def _grid_sampler(
    dem: xr.DataArray, *, clamp: bool = False
) -> Callable[[FloatArray, FloatArray], FloatArray]:
    """Bilinear sampler of a regular lat/lon DEM grid; edge values up to one sample outside the
    outer sample centres, NaN further out (or edge values everywhere outside with ``clamp``)."""
    lat_name, lon_name = _dem_axes(dem)
    grid = _dem_grid(dem).transpose(lat_name, lon_name)
    values = np.asarray(grid.values, dtype=np.float64)
    la = np.asarray(grid[lat_name].values, dtype=np.float64)
    lo = np.asarray(grid[lon_name].values, dtype=np.float64)
    if la.size < 2 or lo.size < 2:
        raise ValueError("the DEM needs at least 2 x 2 samples")

    def sample(lat: FloatArray, lon: FloatArray) -> FloatArray:
        fi = (lat - la[0]) / (la[1] - la[0])
        fj = (lon - lo[0]) / (lo[1] - lo[0])
        # cells extend half a sample beyond the outer centres: clamp within one sample
        inside = (fi >= -1) & (fi <= la.size) & (fj >= -1) & (fj <= lo.size)
        if clamp:
            inside = np.isfinite(fi) & np.isfinite(fj)
        fi = np.clip(np.where(inside, fi, 0.0), 0, la.size - 1)
        fj = np.clip(np.where(inside, fj, 0.0), 0, lo.size - 1)
        i0 = np.minimum(np.floor(fi).astype(np.int64), la.size - 2)
        j0 = np.minimum(np.floor(fj).astype(np.int64), lo.size - 2)
        wi, wj = fi - i0, fj - j0
        out = (
            values[i0, j0] * (1 - wi) * (1 - wj)
            + values[i0 + 1, j0] * wi * (1 - wj)
            + values[i0, j0 + 1] * (1 - wi) * wj
            + values[i0 + 1, j0 + 1] * wi * wj
        )
        result: FloatArray = np.where(inside, out, np.nan)
        return result

    return sample


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
    llh = _geolocate_kernel(*args, t_f, r_f, h_default, side)
    lat, lon, h = llh[0], llh[1], llh[2]
    if dem is not None:
        sample = _dem_sampler(dem)
        h_cur = h_default
        if isinstance(dem, xr.DataArray):
            # start from the DEM's median height so the first solution lands near the terrain
            h_cur = np.full_like(h_default, _dem_median(dem))
            llh = _geolocate_kernel(*args, t_f, r_f, h_cur, side)
            lat, lon, h = llh[0], llh[1], llh[2]
        clamped = _dem_sampler(dem, clamp=True)
        for _ in range(max_dem_iterations):
            # edge heights extrapolated while iterating: a first guess may land outside the DEM
            h_new = clamped(lat, lon)
            h_new = np.where(np.isfinite(h_new), h_new, h_default)
            change = np.nanmax(np.abs(h_new - h_cur), initial=0.0)
            h_cur = np.ascontiguousarray(h_new)
            llh = _geolocate_kernel(*args, t_f, r_f, h_cur, side)
            lat, lon, h = llh[0], llh[1], llh[2]
            if change < dem_tolerance:
                break
        outside = ~np.isfinite(sample(lat, lon))
        if outside.any():
            llh[:, outside] = _geolocate_kernel(
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


# ----------------------------------------------------------------------------------------------
# terrain: local incidence, layover and shadow
def _terrain_gradient(dem: xr.DataArray) -> tuple[xr.DataArray, xr.DataArray]:
    """East and north height gradients (m/m) of a DEM on a regular latitude/longitude grid."""
    lat_name, lon_name = _dem_axes(dem)
    z = _dem_grid(dem).transpose(lat_name, lon_name)
    values = np.asarray(z.values, dtype=np.float64)
    lat = np.asarray(z[lat_name].values, dtype=np.float64)
    lon = np.asarray(z[lon_name].values, dtype=np.float64)
    if lat.size < 3 or lon.size < 3:
        raise ValueError(f"the DEM needs at least 3 x 3 samples to take a slope, got {z.shape}")
    sin_lat = np.sin(np.radians(lat))
    w = np.sqrt(1.0 - WGS84_E2 * sin_lat**2)
    radius_n = WGS84_A / w  # prime vertical radius
    radius_m = WGS84_A * (1.0 - WGS84_E2) / w**3  # meridian radius
    dz_dlat, dz_dlon = np.gradient(values, np.radians(lat), np.radians(lon))
    north = dz_dlat / radius_m[:, None]
    east = dz_dlon / (radius_n * np.cos(np.radians(lat)))[:, None]
    coords = {lat_name: lat, lon_name: lon}
    dims = (lat_name, lon_name)
    return xr.DataArray(east, dims=dims, coords=coords), xr.DataArray(
        north, dims=dims, coords=coords
    )


def _on_geometry_grid(field: xr.DataArray, geometry: xr.Dataset) -> FloatArray:
    """``field`` (on the DEM grid) at the geometry's points: same grid, or sampled at lat/lon."""
    ref = geometry["los_up"]
    if ref.dims == field.dims and ref.shape == field.shape:
        return np.asarray(field.values, dtype=np.float64)
    for lat_name, lon_name in (("latitude", "longitude"), ("lat", "lon")):
        if lat_name in geometry.variables and lon_name in geometry.variables:
            lat = np.broadcast_to(geometry[lat_name].values, ref.shape).astype(np.float64)
            lon = np.broadcast_to(geometry[lon_name].values, ref.shape).astype(np.float64)
            return _grid_sampler(field)(lat, lon)
    raise ValueError(
        f"geometry dims {ref.dims} {ref.shape} are not the DEM's {field.dims} {field.shape} and "
        "it has no latitude/longitude to sample the DEM at; compute it with "
        "look_geometry(orbit, latitude, longitude, height) on the DEM grid or with lat/lon coords"
    )


def local_incidence_angle(geometry: xr.Dataset, dem: xr.DataArray) -> xr.DataArray:
    """Angle (deg) between the line of sight and the terrain normal of ``dem``.

    ``geometry`` comes from :func:`look_geometry` (``los_east/north/up`` used), either on the DEM's
    own latitude/longitude grid or with ``latitude``/``longitude`` coordinates at which the DEM
    slope is sampled. The DEM must be on a regular geographic grid (dims latitude/longitude,
    lat/lon, or y/x with a geographic CRS); the terrain normal is ``(-dz/dE, -dz/dN, 1)``
    normalised, from centred differences in metres on the WGS84 ellipsoid. A slope facing the
    sensor by ``alpha`` in the plane of incidence gives ``|incidence - alpha|``; values above 90
    deg face away from the sensor (shadow).
    """
    east, north = _terrain_gradient(dem)
    ge = _on_geometry_grid(east, geometry)
    gn = _on_geometry_grid(north, geometry)
    le, ln, lu = (np.asarray(geometry[k].values, dtype=np.float64) for k in _LOS)
    cos_lia = (-ge * le - gn * ln + lu) / np.sqrt(ge * ge + gn * gn + 1.0)
    lia = np.degrees(np.arccos(np.clip(cos_lia, -1.0, 1.0)))
    ref = geometry["los_up"]
    return xr.DataArray(
        lia.astype(np.float32),
        dims=ref.dims,
        coords=ref.coords,
        attrs={"units": "deg", "long_name": "local incidence angle from the DEM terrain normal"},
        name="local_incidence_angle",
    )


_LOS = ("los_east", "los_north", "los_up")
LAYOVER = 1
SHADOW = 2


def layover_shadow_mask(geometry: xr.Dataset, dem: xr.DataArray) -> xr.DataArray:
    """Per-pixel (active) layover / shadow flags: 0 none, 1 layover, 2 shadow (CEOS-ARD bits).

    With ``alpha`` the tilt of the terrain towards the sensor in the plane of incidence (positive
    for a slope facing the sensor, i.e. descending towards it) and ``theta`` the ellipsoid
    incidence angle: layover where ``alpha > theta`` (the foreslope is steeper than the
    incidence: its top is imaged before its foot), shadow where ``-alpha > 90 - theta`` (the
    backslope faces away beyond grazing). Passive layover and shadow cast by distant terrain
    along the range line are not included.
    """
    east, north = _terrain_gradient(dem)
    ge = _on_geometry_grid(east, geometry)
    gn = _on_geometry_grid(north, geometry)
    le, ln, lu = (np.asarray(geometry[k].values, dtype=np.float64) for k in _LOS)
    horizontal = np.hypot(le, ln)
    with np.errstate(invalid="ignore", divide="ignore"):
        facing = np.degrees(np.arctan(-(ge * le + gn * ln) / horizontal))
    theta = np.degrees(np.arccos(np.clip(lu, -1.0, 1.0)))
    mask = np.zeros(theta.shape, dtype=np.uint8)
    mask[facing > theta] = LAYOVER
    mask[-facing > 90.0 - theta] = SHADOW
    ref = geometry["los_up"]
    return xr.DataArray(
        mask,
        dims=ref.dims,
        coords=ref.coords,
        attrs={
            "long_name": "layover/shadow mask",
            "flag_values": [0, 1, 2],
            "flag_meanings": "none layover shadow",
        },
        name="layover_shadow_mask",
    )
