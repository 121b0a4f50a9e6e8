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

Baselines (:func:`baselines`, :func:`stack_baselines`): each orbit at its own zero-Doppler time of
the ground point; ``convention="isce"`` (default, ISCE2 / dolphin: positive = larger look angle)
or ``"vertex"`` (ASF Vertex / asf_search: positive = towards the scene, along-track part excluded),
evaluated for a burst at :func:`baseline_point` (its footprint's centroid, ASF's centre point).
:func:`critical_baseline` gives the bound beyond which a pair shares no range spectrum.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Literal, cast

import numba
import numpy as np
import numpy.typing as npt
import xarray as xr

from pairscope._types import FloatArray, TimeLike
from pairscope.errors import GeometryError, InputError
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
from pairscope.geometry.orbit import (
    LAGRANGE_POINTS,
    MAX_EXTRAPOLATION,
    Orbit,
    OrbitSource,
    write_eof,
)
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
    "MAX_EXTRAPOLATION",
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
    "stack_baselines",
    "BASELINE_CONVENTIONS",
    "BaselineConvention",
    "baseline_point",
    "critical_baseline",
    "SENTINEL1_IW_RANGE_BANDWIDTH",
    "DemLike",
    "local_incidence_angle",
    "layover_shadow_mask",
    "LAYOVER",
    "SHADOW",
]

SPEED_OF_LIGHT = 299_792_458.0
SENTINEL1_FREQUENCY = 5.405e9
SENTINEL1_WAVELENGTH = SPEED_OF_LIGHT / SENTINEL1_FREQUENCY

#: Range processing bandwidth (Hz) of the Sentinel-1 IW SLC subswaths: the IPF annotation's
#: ``imageAnnotation/processingInformation/swathProcParamsList/.../rangeProcessing/processingBandwidth``
#: (Sentinel-1 product specification S1-RS-MDA-52-7441; the same in every annotation of
#: ``tests/data``): IW1 56.5 MHz, IW2 48.3 MHz, IW3 42.79 MHz.
SENTINEL1_IW_RANGE_BANDWIDTH: dict[str, float] = {"IW1": 56.5e6, "IW2": 48.3e6, "IW3": 42.79e6}

LookSide = Literal["right", "left"]
ArrayOrDA = npt.ArrayLike | xr.DataArray


#: Inputs up to this many points run the parallel kernels on the calling thread only: the kernels
#: work in chunks of 512, so more threads cannot help, and waking them costs more than the work
#: (~10 ms per call on a loaded machine, against ~0.03 ms; the baselines of a 166-date stack make
#: ~700 such calls).
_SERIAL_POINTS = 512


@contextlib.contextmanager
def _threads_for(points: int) -> Iterator[None]:
    if points > _SERIAL_POINTS:
        yield
        return
    threads = numba.get_num_threads()
    numba.set_num_threads(1)
    try:
        yield
    finally:
        numba.set_num_threads(threads)


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
    with _threads_for(xb.size):
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


#: How far (s) outside its span an orbit's zero-Doppler time may be estimated for a message;
#: further, the linear estimate means nothing and the point is simply not seen.
_DIAGNOSE_SECONDS = 300.0
_GM_EARTH = 3.986004418e14


def _initial_time(orbit: Orbit, target: FloatArray, look_side: str) -> float:
    """Zero-Doppler time (s since epoch) of one target by a scan over the kernel's nodes (the
    state vectors and the extrapolation range).

    Among the passes that see the target on ``look_side``, the one at the shortest range. A target
    seen just outside the span raises :class:`GeometryError` saying by how many seconds.
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
    lat, lon, _ = ecef_to_llh(*target)
    where = f"({float(lat):.4f}, {float(lon):.4f})"
    if not candidates:
        # before the first node the sensor has passed the target (f < 0), after the last it has
        # not reached it (f > 0): one Newton step from that end estimates how far outside
        for end in [e for e, beyond in ((0, f[0] < 0), (-1, f[-1] > 0)) if beyond]:
            acc = -_GM_EARTH * pos[end] / float(np.linalg.norm(pos[end])) ** 3
            step = -f[end] / (float(np.dot(d[end], acc)) - float(np.dot(vel[end], vel[end])))
            right = float(np.dot(d[end], np.cross(vel[end], pos[end])))
            if abs(step) < _DIAGNOSE_SECONDS and side * right > 0:
                outside = float(orbit.seconds_outside(orbit.datetimes(ts[end] + step)))
                raise GeometryError(
                    orbit.outside_message(
                        outside, what=f"the zero-Doppler time of the ground point {where}"
                    )
                )
        raise GeometryError(
            f"the orbit {orbit!r} never sees the ground point {where} at zero Doppler looking "
            f"{look_side}; is it the right orbit, pass and look side for these coordinates?"
        )
    candidates.sort()
    if len(candidates) > 1 and candidates[1][0] < AMBIGUOUS_RANGE_RATIO * candidates[0][0]:
        raise GeometryError(
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
    with _threads_for(targets.shape[0]):
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
    with _threads_for(flat[0].size):
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
    if np.isfinite(t_f).any():
        ends = np.array([np.nanmin(t_f), np.nanmax(t_f)])
        orbit.check_span(orbit.datetimes(ends), what="azimuth time")
    with _threads_for(t_f.size):
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
#: Sign conventions of the perpendicular baseline (see :func:`baselines`).
BaselineConvention = Literal["isce", "vertex"]
BASELINE_CONVENTIONS: tuple[str, ...] = ("isce", "vertex")


def _check_convention(convention: str) -> None:
    if convention not in BASELINE_CONVENTIONS:
        raise InputError(
            f"convention must be one of {', '.join(map(repr, BASELINE_CONVENTIONS))}; "
            f"got {convention!r}"
        )


_POSITIVE = {
    "isce": "secondary further from the scene (larger look angle)",
    "vertex": "secondary towards the scene (smaller look angle)",
}


def _components(
    s_ref: FloatArray, s_sec: FloatArray, targets: FloatArray, convention: str
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """(perpendicular, parallel, along-track) baselines of sensor states (M, 6) at targets."""
    b = s_sec[:, :3] - s_ref[:, :3]
    los = targets - s_ref[:, :3]
    los /= np.linalg.norm(los, axis=1)[:, None]
    across = np.cross(s_ref[:, 3:], los)
    across /= np.linalg.norm(across, axis=1)[:, None]
    along = np.cross(los, across)
    b_across = np.einsum("ij,ij->i", b, across)
    b_along = np.einsum("ij,ij->i", b, along)
    if convention == "isce":
        b_perp = np.sign(b_across) * np.hypot(b_across, b_along)
    else:
        b_perp = -b_across
    return b_perp, np.einsum("ij,ij->i", b, los), b_along


def _seen_state(orbit: Orbit, name: str, targets: FloatArray, look_side: LookSide) -> FloatArray:
    """Zero-Doppler sensor states (M, 6) of targets; a finite target the orbit does not see
    raises :class:`GeometryError` naming the orbit (``name``) and why."""
    try:
        t, state = zero_doppler(orbit, targets, look_side=look_side)
        failed = np.flatnonzero(np.all(np.isfinite(targets), axis=1) & ~np.isfinite(t))
        if failed.size:
            _initial_time(orbit, targets[failed[0]], look_side)  # raises with the reason
            raise GeometryError(
                f"no zero-Doppler solution for {failed.size} of {targets.shape[0]} ground points "
                f"(the iteration left the span or did not converge) with {orbit!r}"
            )
    except GeometryError as err:
        raise GeometryError(f"{name} orbit: {err}") from None
    return state


def baselines(
    reference_orbit: Orbit,
    secondary_orbit: Orbit,
    latitude: ArrayOrDA,
    longitude: ArrayOrDA,
    height: ArrayOrDA = 0.0,
    *,
    look_side: LookSide = "right",
    convention: BaselineConvention = "isce",
) -> xr.Dataset:
    """Perpendicular, parallel and along-track baselines (m) of a pair at ground points.

    Each orbit is taken at its own zero-Doppler time of the target (as ISCE2 and dolphin do) and
    ``B = P_sec - P_ref`` is split in the reference's orthonormal frame at the target: the line of
    sight ``l = (target - P_ref) / R_ref`` (antenna to target), ``c = (V_ref x l) / |V_ref x l|``
    across it in the zero-Doppler plane, and ``a = l x c`` along the track (~ ``V_ref / |V_ref|``):

    - ``parallel_baseline = B . l`` (~ ``R_ref - R_sec``): positive when the secondary is closer to
      the target (ISCE2 and dolphin define it so; ASF publishes none): the same in both
      conventions.
    - ``along_track_baseline = B . a``: the separation of the two zero-Doppler positions along
      the track (up to ~20 m between Sentinel-1 dates: the orbit planes tilt slightly).
    - ``perpendicular_baseline``, signed by ``convention``, each exactly as its tools compute it:

      - ``"isce"`` (the default; ISCE2 topsStack, dolphin, and pairscope until now):
        ``sign(((target - P_ref) x B) . V_ref) * |B - (B . l) l|``, i.e. ``sign(B . c) *
        sqrt((B . c)^2 + (B . a)^2)``: all of B across the line of sight, along-track part
        included. Positive when the secondary is further from the scene (away from the look side
        and lower), so it sees the target under a *larger* look angle:
        ``theta_sec ~ theta_ref + (B . c) / R``.
      - ``"vertex"`` (ASF Vertex and asf_search ``perpendicularBaseline``): ``-(B . c)``, the
        projection on asf_search's up-beam vector ``(l x V) / |l x V|``, along-track part
        excluded. Positive towards the scene (a *smaller* look angle,
        ``theta_sec ~ theta_ref - B_perp / R``).

      So the two differ in sign and, when the along-track separation is not small against the
      baseline, in magnitude: ``isce^2 = vertex^2 + along_track^2``. Only ``B . c`` changes the
      phase against height; ``"vertex"`` is that component.

    ``convention`` changes ``perpendicular_baseline`` only. A finite ground point that an orbit
    does not see within its span (plus ``max_extrapolation``) raises :class:`GeometryError`
    saying which orbit and how far outside; NaN coordinates give NaN.
    """
    _check_convention(convention)
    lat, lon, h = _as_dataarrays(latitude, longitude, height)
    x, y, z = llh_to_ecef(lat.values, lon.values, h.values)
    targets = np.stack([x.ravel(), y.ravel(), z.ravel()], axis=-1)
    s_ref = _seen_state(reference_orbit, "reference", targets, look_side)
    s_sec = _seen_state(secondary_orbit, "secondary", targets, look_side)
    b_perp, b_par, b_along = _components(s_ref, s_sec, targets, convention)
    dims, coords, shape = lat.dims, lat.coords, lat.shape

    def var(values: FloatArray, long_name: str, **attrs: str) -> xr.DataArray:
        return xr.DataArray(
            values.reshape(shape),
            dims=dims,
            coords=coords,
            attrs={"units": "m", "long_name": long_name, **attrs},
        )

    ds = xr.Dataset(
        {
            "perpendicular_baseline": var(
                b_perp,
                "perpendicular baseline (secondary - reference)",
                convention=convention,
                positive=_POSITIVE[convention],
            ),
            "parallel_baseline": var(
                b_par,
                "parallel baseline, along the reference line of sight",
                positive="secondary closer to the target",
            ),
            "along_track_baseline": var(
                b_along,
                "along-track separation of the zero-Doppler positions",
            ),
        }
    )
    ds.attrs["convention"] = convention
    return ds


def stack_baselines(
    orbits: Sequence[Orbit],
    latitude: float,
    longitude: float,
    height: float = 0.0,
    *,
    reference: int = 0,
    look_side: LookSide = "right",
    convention: BaselineConvention = "isce",
) -> xr.Dataset:
    """The baselines of every date of a stack against one of them, at one ground point: what a
    pair-network plot draws (time against perpendicular baseline).

    ``orbits`` one per date, ``reference`` the index of the reference date; the point is
    typically :func:`baseline_point` of the burst's footprint. Returns ``perpendicular_baseline``,
    ``parallel_baseline`` and ``along_track_baseline`` (m) along a ``date`` dimension (0 at the
    reference), exactly as :func:`baselines` computes them pair by pair, with the reference's
    zero-Doppler solution computed once. A date whose orbit does not see the point raises
    :class:`GeometryError` naming the date's index.
    """
    _check_convention(convention)
    if not orbits:
        raise InputError("stack_baselines needs at least one orbit")
    if not -len(orbits) <= reference < len(orbits):
        raise InputError(f"reference index {reference} is outside the {len(orbits)} orbits")
    ref = reference % len(orbits)
    target = np.array(llh_to_ecef(latitude, longitude, height), dtype=np.float64).reshape(1, 3)
    if not np.all(np.isfinite(target)):
        raise InputError(f"the ground point ({latitude}, {longitude}, {height}) is not finite")
    states = np.concatenate(
        [
            _seen_state(o, f"{'reference ' if k == ref else ''}date {k}", target, look_side)
            for k, o in enumerate(orbits)
        ]
    )
    b_perp, b_par, b_along = _components(
        np.repeat(states[ref : ref + 1], len(orbits), axis=0),
        states,
        np.repeat(target, len(orbits), axis=0),
        convention,
    )

    def var(values: FloatArray, long_name: str, **attrs: str) -> xr.DataArray:
        return xr.DataArray(
            values, dims=("date",), attrs={"units": "m", "long_name": long_name, **attrs}
        )

    ds = xr.Dataset(
        {
            "perpendicular_baseline": var(
                b_perp,
                "perpendicular baseline (date - reference)",
                convention=convention,
                positive=_POSITIVE[convention],
            ),
            "parallel_baseline": var(
                b_par,
                "parallel baseline, along the reference line of sight",
                positive="date closer to the target",
            ),
            "along_track_baseline": var(
                b_along, "along-track separation of the zero-Doppler positions"
            ),
        }
    )
    ds.attrs.update(
        convention=convention,
        reference=ref,
        latitude=float(latitude),
        longitude=float(longitude),
        height=float(height),
    )
    return ds


def perpendicular_baseline(
    reference_orbit: Orbit,
    secondary_orbit: Orbit,
    latitude: ArrayOrDA,
    longitude: ArrayOrDA,
    height: ArrayOrDA = 0.0,
    *,
    look_side: LookSide = "right",
    convention: BaselineConvention = "isce",
) -> xr.DataArray:
    """Signed perpendicular baseline (m). ``convention="isce"`` (default): positive when the
    secondary sees the target under a larger look angle; ``"vertex"``: the sign ASF Vertex and
    asf_search show (positive towards the scene). Details in :func:`baselines`."""
    ds = baselines(
        reference_orbit,
        secondary_orbit,
        latitude,
        longitude,
        height,
        look_side=look_side,
        convention=convention,
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
    convention: BaselineConvention = "isce",
) -> xr.DataArray:
    """Parallel baseline (m, ~ ``R_reference - R_secondary``, positive when the secondary is
    closer to the target); the same in both conventions (``convention`` is accepted so the
    baseline functions share one signature). See :func:`baselines`."""
    ds = baselines(
        reference_orbit,
        secondary_orbit,
        latitude,
        longitude,
        height,
        look_side=look_side,
        convention=convention,
    )
    return ds["parallel_baseline"]


# ----------------------------------------------------------------------------------------------
# where to evaluate a burst's baselines, and the critical baseline
FootprintLike = Mapping[str, Any] | Sequence[Sequence[float]]


def _rings(footprint: Any) -> list[list[FloatArray]]:
    """Polygons (each a list of rings, exterior first) of a GeoJSON geometry, Feature, object
    with ``__geo_interface__``, or one ring of (lon, lat) pairs."""
    geo = getattr(footprint, "__geo_interface__", footprint)
    if isinstance(geo, Mapping):
        kind = geo.get("type")
        if kind == "Feature":
            return _rings(geo.get("geometry"))
        coords = geo.get("coordinates")
        if kind == "Polygon" and isinstance(coords, Sequence):
            polygons = [coords]
        elif kind == "MultiPolygon" and isinstance(coords, Sequence):
            polygons = list(coords)
        else:
            raise InputError(
                f"a burst footprint must be a GeoJSON Polygon or MultiPolygon (or a Feature of "
                f"one, or a ring of (lon, lat) pairs); got a {kind or 'mapping without type'}"
            )
        return [[np.asarray(r, dtype=np.float64)[:, :2] for r in poly] for poly in polygons]
    try:
        ring = np.asarray(geo, dtype=np.float64)
    except (TypeError, ValueError):
        ring = np.empty((0,))
    if ring.ndim != 2 or ring.shape[0] < 1 or ring.shape[1] < 2:
        raise InputError(
            "a burst footprint must be a GeoJSON Polygon or MultiPolygon (or a Feature of one, or "
            f"a ring of (lon, lat) pairs); got {type(footprint).__name__}"
        )
    return [[ring[:, :2]]]


def baseline_point(
    footprint: FootprintLike | Any, height: float | DemLike = 0.0
) -> tuple[float, float, float]:
    """The point where pairscope evaluates a burst's baselines: ``(latitude, longitude, height)``.

    The footprint's area centroid in longitude/latitude (GeoJSON order; longitudes unwrapped
    across the antimeridian, holes subtracted, the parts of a MultiPolygon weighted by area),
    which is the point ASF gives as ``centerLat``/``centerLon`` in its burst records (equal to
    1e-9 deg on the ASF stack in ``tests/data``), at ``height``: ellipsoidal metres, or a DEM
    (DataArray on a lat/lon grid or callable ``(lat, lon) -> height``) sampled there. The app,
    ``pairscope compute`` and the pairs CSV all evaluate baselines at this one point.
    """
    polygons = _rings(footprint)
    first = next((r for poly in polygons for r in poly if r.shape[0]), None)
    if first is None:
        raise InputError("the burst footprint has no vertices")
    lon0 = float(first[0, 0])
    area_sum, cx, cy, count, mx, my = 0.0, 0.0, 0.0, 0, 0.0, 0.0
    for poly in polygons:
        for k, ring in enumerate(poly):
            if ring.shape[0] == 0:
                continue
            x = lon0 + (ring[:, 0] - lon0 + 180.0) % 360.0 - 180.0
            y = ring[:, 1]
            mx, my, count = mx + float(x.sum()), my + float(y.sum()), count + x.shape[0]
            x1, y1 = np.roll(x, -1), np.roll(y, -1)
            cross = x * y1 - x1 * y
            a = 0.5 * float(cross.sum())
            if a == 0.0:
                continue
            weight = abs(a) if k == 0 else -abs(a)  # exterior ring, then holes
            area_sum += weight
            cx += weight * float(((x + x1) * cross).sum()) / (6.0 * a)
            cy += weight * float(((y + y1) * cross).sum()) / (6.0 * a)
    if abs(area_sum) > 1e-12:
        lon, lat = cx / area_sum, cy / area_sum
    else:  # a degenerate footprint (a point or a line): the mean of its vertices
        lon, lat = mx / count, my / count
    lon = (lon + 180.0) % 360.0 - 180.0
    if not (-90.0 <= lat <= 90.0):
        raise InputError(f"the footprint's centre has latitude {lat}: are the pairs (lon, lat)?")
    if isinstance(height, int | float):
        return float(lat), float(lon), float(height)
    h = float(dem_sampler(height)(np.array([lat]), np.array([lon]))[0])
    if not math.isfinite(h):
        raise GeometryError(
            f"the DEM has no height at the footprint's centre ({lat:.4f}, {lon:.4f}); pass a DEM "
            "that covers the burst, or height=<metres>"
        )
    return float(lat), float(lon), h


def _bandwidth(subswath: str | None, range_bandwidth: float | None) -> float:
    if (subswath is None) == (range_bandwidth is None):
        raise InputError(
            "critical_baseline needs exactly one of subswath= ('IW1', 'IW2', 'IW3', or a burst id "
            "ending with one) and range_bandwidth= (Hz)"
        )
    if range_bandwidth is not None:
        if not (math.isfinite(range_bandwidth) and range_bandwidth > 0):
            raise InputError(f"range_bandwidth must be positive Hz, got {range_bandwidth}")
        return float(range_bandwidth)
    name = str(subswath).strip().upper()[-3:]
    if name not in SENTINEL1_IW_RANGE_BANDWIDTH:
        raise InputError(
            f"unknown Sentinel-1 subswath {subswath!r}: use IW1, IW2 or IW3 (or a burst id ending "
            "with one), or give range_bandwidth= in Hz"
        )
    return SENTINEL1_IW_RANGE_BANDWIDTH[name]


def critical_baseline(
    incidence_angle: ArrayOrDA,
    slant_range: ArrayOrDA,
    *,
    subswath: str | None = None,
    range_bandwidth: float | None = None,
    wavelength: float = SENTINEL1_WAVELENGTH,
    terrain_slope: ArrayOrDA = 0.0,
) -> xr.DataArray:
    """The critical perpendicular baseline (m): beyond it the two images share no range spectrum
    and a distributed scatterer decorrelates completely (Gatelli et al. 1994; Hanssen 2001,
    eq. 4.4.11):

    ``B_crit = wavelength * R * B_r * tan(theta - alpha) / c``

    from the range spectral shift ``df = c B_perp / (wavelength R tan(theta - alpha))`` set
    equal to the range bandwidth ``B_r``. ``incidence_angle`` theta (deg, at the target, e.g.
    ``look_geometry(...).incidence_angle``), ``slant_range`` R (m), ``terrain_slope`` alpha (deg,
    positive facing the sensor; 0 for the flat-Earth value Vertex shades). ``B_r`` is the
    subswath's range processing bandwidth (:data:`SENTINEL1_IW_RANGE_BANDWIDTH`; ``subswath`` may be
    a burst id such as ``T174_372326_IW3``) or ``range_bandwidth`` (Hz); ``wavelength`` defaults
    to Sentinel-1's 5.405 GHz. The same bound applies to both signs of ``B_perp``. NaN where
    ``theta - alpha <= 0`` (slopes steeper than the incidence: layover). E.g. IW2 at 39 deg and
    850 km: 6.2 km; IW3 at 45 deg and 900 km: 7.1 km.
    """
    bandwidth = _bandwidth(subswath, range_bandwidth)
    theta, rng, alpha = _as_dataarrays(incidence_angle, slant_range, terrain_slope)
    local = np.radians(theta.values - alpha.values)
    value = wavelength * rng.values * bandwidth * np.tan(local) / SPEED_OF_LIGHT
    value = np.where(local > 0.0, value, np.nan)
    return xr.DataArray(
        value,
        dims=theta.dims,
        coords=theta.coords,
        attrs={
            "units": "m",
            "long_name": "critical perpendicular baseline",
            "range_bandwidth": bandwidth,
            "wavelength": wavelength,
        },
    )
