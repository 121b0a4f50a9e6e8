"""A physically based simulator of a coregistered Sentinel-1 IW burst stack (the truth is known).

What the simulator produces, and why each term is there (a teacher's walk-through)
----------------------------------------------------------------------------------
1. **Orbit.** A circular Keplerian orbit with Sentinel-1's parameters (693 km altitude above the
   equator, 98.18 deg inclination, 7.59 km/s), propagated analytically in an inertial frame and
   rotated into the Earth-fixed (ECEF) frame, written as state vectors every 10 s (what an ESA EOF
   file holds). The node longitude and the time since the ascending node are solved so that the
   real burst ``249435 IW2`` of relative orbit 117 (South Tyrol, 46.8 N 11.3 E, UTM zone 32N) is seen
   right-looking, at zero Doppler, under ~39 deg incidence in the middle of the scene.
2. **Orbital tube.** Each date flies a copy of that orbit shifted by a constant radial and
   cross-track offset (tens of metres, as the real orbit is kept inside a ~100 m tube). The
   perpendicular component of the difference of two offsets is the pair's perpendicular baseline.
3. **Radar grid.** Azimuth times every ``2.055556 ms`` (the IW azimuth line time) and slant ranges
   every ``2.329562 m`` (the IW range sampling), centred on the scene. Every sample is geolocated
   on the terrain by the range-Doppler equations (:func:`pairscope.geometry.geolocate` over the
   DEM), and :func:`pairscope.geometry.look_geometry` gives its look vector and incidence angle
   (exactly at nodes every 2 lines x 8 samples, bilinear in between: ~1 mm in range). All dates
   share the reference date's grid: the stack is *coregistered*.
4. **Terrain.** A smooth synthetic alpine valley (relief of a few hundred metres) laid out along
   the track (:class:`pairscope.sim.landcover.Landscape`), or a real DEM if one is given; the DEM
   users get is this terrain. The true surface differs from it by a smooth *DEM error* (a few
   metres, more in the town, whose buildings the DEM misses).
5. **Land cover and speckle.** Each pixel belongs to a class (water, urban, fields, forest, rock)
   with a backscatter level and a temporal coherence model ``g(dt) = g_inf + (g0 - g_inf)
   exp(-dt/tau)``; the stack of complex reflectivities is drawn exactly with that coherence matrix
   (:func:`pairscope.sim.landcover.realise_speckle`).
6. **Phase.** Each date ``k`` gets a deterministic phase ``psi_k = -4 pi / lambda * dR_k``, where
   ``dR_k`` is the extra one-way path length of that date (the factor 2 of the two-way path and
   the 2 pi per wavelength give 4 pi / lambda: one fringe is lambda/2 = 2.8 cm of path):

   - *deformation*: a Mogi point source (an inflating magma chamber or a pressurised reservoir)
     whose volume grows linearly in time; its 3-D surface displacement ``u`` projected on the line
     of sight (target to sensor, ``los_east/north/up``) shortens the range: ``dR = -u . los``;
   - *atmosphere*: a turbulent delay with a power-law spectrum (``k^-8/3``) drawn anew for each
     date, plus a stratified delay proportional to height (the lower troposphere is wetter), both
     given as zenith delays and mapped to the slant by ``1 / cos(incidence)``;
   - *residual topography*: the SLCs are delivered *flattened* (the phase that the orbits predict
     over the DEM is removed, as in a GSLC), so only the DEM error ``dh`` is left; it shows in date
     ``k`` as ``psi = -4 pi / lambda * B_perp,k * dh / (R sin(theta))`` with ``B_perp,k`` the
     perpendicular baseline of date ``k`` against the reference date (ISCE sign convention, see
     :func:`pairscope.geometry.baselines`). Its size is set by the *height of ambiguity*
     ``lambda R sin(theta) / (2 B_perp)``, the DEM error that makes one fringe (~150 m when
     ``B_perp`` = 100 m).

   The interferogram ``s_ref * conj(s_sec)`` of a pair then has the phase ``psi_ref - psi_sec``
   plus decorrelation noise.
7. **Amplitude.** ``|s|^2`` has the mean ``sigma0`` of the pixel's class and polarization.

**Neighbour bursts.** ``make_scene(size, burst_offset=k)`` is the k-th burst after 249435 on the
same pass: the same orbits (the same solution, tube offsets and state vectors), its azimuth times
``k * BURST_CYCLE`` (2.758 s) later, the same slant ranges (same subswath), so its footprint lies
~19 km further along the track; its terrain, land cover, turbulence, speckle and Mogi source are
drawn anew from the seed and ``k`` (offset 0 draws exactly the one-burst scene), the per-date
stratification (the weather of the date) is the pass's.

Everything is deterministic from the seed. The scene is computed in blocks of azimuth lines
(:meth:`BurstScene.block`) so that a full-size burst never has to fit in memory at once.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Iterator, Sequence
from typing import cast

import numpy as np
import numpy.typing as npt
import xarray as xr

from pairscope import geometry
from pairscope._types import FloatArray
from pairscope.geometry import SENTINEL1_WAVELENGTH, Orbit
from pairscope.sim.landcover import (
    DEFAULT_LAND_COVER,
    LandCover,
    Landscape,
    gaussian_random_field,
    power_law_field,
    realise_speckle,
)

__all__ = [
    "SIZES",
    "BURST_CYCLE",
    "SimulationConfig",
    "MogiSource",
    "OrbitOffset",
    "BurstScene",
    "make_scene",
    "simulate",
    "mogi_displacement",
    "line_of_sight_phase",
    "residual_topography_phase",
    "sentinel1_orbit",
    "true_coherence",
]


GM_EARTH = 3.986004418e14  # m^3 s^-2
OMEGA_EARTH = 7.2921151467e-5  # rad/s, Earth's rotation rate
WAVELENGTH = SENTINEL1_WAVELENGTH
AZIMUTH_TIME_INTERVAL = 2.055556e-3  # s, Sentinel-1 IW
#: Time from one IW burst to the next of the same subswath (s): the burst-ID grid's cycle.
BURST_CYCLE = 2.758273
RANGE_PIXEL_SPACING = 2.329562  # m, Sentinel-1 IW slant-range sampling
ORBIT_ALTITUDE = 693_000.0  # m above the equatorial radius
ORBIT_INCLINATION = 98.18  # deg
STATE_VECTOR_INTERVAL = 10  # s
#: Azimuth lines per simulation block (with the seed, it fixes the random streams): 256, fewer
#: for wide scenes so that a block holds at most ~2 M samples per date (memory).
BLOCK_LINES = 256
BLOCK_SAMPLES = 2**21
POLARIZATIONS = ("VV", "VH")
#: Exact geolocation every (2 lines, 8 samples); bilinear in between. Linear interpolation of
#: exact points of a smooth mapping errs by ~|step|^2 / R: about a millimetre in range.
NODE_STEP = (2, 8)
GEOMETRY_LAYERS = (
    "incidence_angle",
    "look_x",
    "look_y",
    "look_z",
    "los_east",
    "los_north",
    "los_up",
)

#: Scene sizes: (azimuth lines, range samples, number of dates). ``default`` and ``full`` span a
#: whole burst in azimuth (1500 lines = 3.08 s > BURST_CYCLE), so consecutive bursts overlap by
#: ~0.32 s as real IW bursts do; ``small`` is a 150-line crop around the burst centre.
SIZES: dict[str, tuple[int, int, int]] = {
    "small": (150, 600, 6),
    "default": (1500, 640, 8),
    "full": (1500, 21000, 10),
}


@dataclasses.dataclass(frozen=True)
class MogiSource:
    """A Mogi point source: a small sphere at ``depth`` whose volume changes at ``volume_rate``.

    ``east``/``north`` (m) from the scene centre, ``depth`` (m), ``volume_rate`` (m^3/day,
    positive = inflation, the surface rises), ``poisson`` the Poisson ratio of the elastic
    half-space.
    """

    east: float
    north: float
    depth: float
    volume_rate: float
    poisson: float = 0.25


@dataclasses.dataclass(frozen=True)
class OrbitOffset:
    """Constant offset of one date's orbit from the nominal one: radial and cross-track (m)."""

    radial: float
    normal: float


@dataclasses.dataclass(frozen=True)
class SimulationConfig:
    """Everything that defines a simulated burst stack (the seed makes the rest)."""

    seed: int = 0
    lines: int = 600
    samples: int = 3000
    dates: tuple[np.datetime64, ...] = ()
    platforms: tuple[str, ...] = ()
    absolute_orbits: tuple[int, ...] = ()
    reference_index: int = 0
    burst_id: int = 249435
    #: Bursts after the pass's first burst (the one at ``centre_latitude/longitude``): a neighbour
    #: burst ``k`` is seen ``k * BURST_CYCLE`` s later on the same orbits (``burst_id`` + k).
    burst_offset: int = 0
    subswath: str = "IW2"
    relative_orbit: int = 117
    orbit_state: str = "ascending"
    centre_latitude: float = 46.7702  # the real footprint centre of burst 249435 IW2 (offset 0)
    centre_longitude: float = 11.2831
    centre_incidence: float = 39.2  # deg, mid IW2
    sensing_time_of_day: str = "17:07:30"  # UTC, relative orbit 117 ascending over the Alps
    tube_radius: float = 75.0  # m, largest orbit offset from the nominal orbit
    dem_error_std: float = 3.0  # m
    urban_dem_error: float = 6.0  # m, buildings missing from the DEM
    turbulence_std: float = 0.003  # m, zenith wet delay std over a 20 km scene
    stratification_std: float = 5e-6  # m of zenith delay per m of height, per date
    max_uplift: float = 0.06  # m, Mogi uplift above the source over the whole stack
    classes: tuple[LandCover, ...] = DEFAULT_LAND_COVER

    @classmethod
    def for_size(
        cls, size: str = "default", *, seed: int = 0, burst_offset: int = 0
    ) -> SimulationConfig:
        """The configuration of a named size (``small``, ``default``, ``full``); ``burst_offset``
        k > 0 gives the k-th burst after burst 249435 along the same pass (same dates, orbits)."""
        if size not in SIZES:
            raise ValueError(f"unknown size {size!r}; choose one of {sorted(SIZES)}")
        if burst_offset < 0:
            raise ValueError(f"burst_offset counts bursts after the first; got {burst_offset}")
        lines, samples, n_dates = SIZES[size]
        dates, platforms, orbits = sentinel1_dates(n_dates)
        return cls(
            seed=seed,
            lines=lines,
            samples=samples,
            dates=dates,
            platforms=platforms,
            absolute_orbits=orbits,
            reference_index=n_dates // 2,
            burst_id=cls.burst_id + burst_offset,
            burst_offset=burst_offset,
        )


def sentinel1_dates(
    n_dates: int, first: str = "2025-06-05"
) -> tuple[tuple[np.datetime64, ...], tuple[str, ...], tuple[int, ...]]:
    """Dates, platforms and absolute orbits of ``n_dates`` passes over relative orbit 117.

    Sentinel-1A and -1C fly the same orbit half a cycle apart, so the track is seen every 6 days,
    alternately by each. S1A absolute orbits are exact (S1A saw relative orbit 117 on 2022-01-04 in
    absolute orbit 41314, and repeats every 175 orbits in 12 days); S1C's are approximate (orbits
    since its launch on 2024-12-05, kept on the relation ``relative = (absolute - 172) % 175 + 1``).
    """
    start = np.datetime64(first, "D")
    anchor = np.datetime64("2022-01-04", "D")
    if (start - anchor).astype(int) % 12:
        raise ValueError(f"{first} is not a Sentinel-1A pass of relative orbit 117")
    dates, platforms, orbits = [], [], []
    for k in range(n_dates):
        d = start + np.timedelta64(6 * k, "D")
        days = int((d - anchor).astype(int))
        if k % 2 == 0:
            platforms.append("sentinel-1a")
            orbits.append(41314 + 175 * (days // 12))
        else:
            platforms.append("sentinel-1c")
            since_launch = float((d - np.datetime64("2024-12-05", "D")).astype(int)) * 175 / 12
            orbits.append(113 + 175 * round((since_launch - 113) / 175))
        dates.append(d)
    return tuple(dates), tuple(platforms), tuple(orbits)


# ----------------------------------------------------------------------------------------------
# physics
def mogi_displacement(
    east: npt.ArrayLike,
    north: npt.ArrayLike,
    *,
    depth: float,
    volume_change: float,
    poisson: float = 0.25,
) -> tuple[FloatArray, FloatArray, FloatArray]:
    """Surface displacement (east, north, up; m) of a Mogi source below the origin.

    For a point source at ``depth`` d in an elastic half-space whose volume changes by ``dV``,
    at horizontal distance ``r``: ``u_up = (1 - nu) dV / pi * d / R^3`` and the radial horizontal
    displacement ``u_r = (1 - nu) dV / pi * r / R^3`` with ``R = sqrt(r^2 + d^2)`` (Mogi 1958;
    Segall 2010, eq. 7.14). The surface is taken flat (topography is ignored).
    """
    e = np.asarray(east, dtype=np.float64)
    n = np.asarray(north, dtype=np.float64)
    if depth <= 0:
        raise ValueError(f"the Mogi source depth must be positive (m); got {depth}")
    c = (1.0 - poisson) * volume_change / np.pi
    r3 = (e * e + n * n + depth * depth) ** 1.5
    return c * e / r3, c * n / r3, c * depth / r3


def line_of_sight_phase(path_change: npt.ArrayLike, wavelength: float = WAVELENGTH) -> FloatArray:
    """Phase (rad) of a one-way path-length change ``dR`` (m): ``-4 pi dR / lambda``."""
    return -4.0 * np.pi / wavelength * np.asarray(path_change, dtype=np.float64)


def residual_topography_phase(
    dem_error: npt.ArrayLike,
    perpendicular_baseline: npt.ArrayLike,
    slant_range: npt.ArrayLike,
    incidence_angle: npt.ArrayLike,
    wavelength: float = WAVELENGTH,
) -> FloatArray:
    """Phase (rad) of a DEM error ``dh`` (m) in a date with perpendicular baseline ``B_perp`` (m).

    Raising a target by ``dh`` moves it along the reference's range circle by
    ``dh / sin(theta)``; a second antenna displaced by ``B_perp`` across the line of sight sees its
    range change by ``B_perp * dh / (R sin(theta))``, so the phase is
    ``-4 pi / lambda * B_perp * dh / (R sin(theta))`` (``theta`` the incidence angle in degrees,
    ``B_perp`` positive when the date sees the target under a larger look angle than the reference).
    """
    theta = np.radians(np.asarray(incidence_angle, dtype=np.float64))
    dr = (
        np.asarray(perpendicular_baseline, dtype=np.float64)
        * np.asarray(dem_error, dtype=np.float64)
        / (np.asarray(slant_range, dtype=np.float64) * np.sin(theta))
    )
    return line_of_sight_phase(dr, wavelength)


# ----------------------------------------------------------------------------------------------
# orbit
def _circular_orbit_ecef(
    tau: FloatArray, node_longitude: float, offset: OrbitOffset = OrbitOffset(0.0, 0.0)
) -> tuple[FloatArray, FloatArray]:
    """ECEF position and velocity at ``tau`` seconds after the ascending node.

    Inertial frame = ECEF at the node crossing; argument of latitude ``u = n tau``; Earth angle
    ``omega_E tau``. The offset is applied in the orbit's radial / normal directions (the normal is
    fixed in the inertial frame; the radial offset scales the velocity by ``1 + dr / a``).
    """
    a = geometry.WGS84_A + ORBIT_ALTITUDE
    n = math.sqrt(GM_EARTH / a**3)
    inc = math.radians(ORBIT_INCLINATION)
    om = node_longitude
    u = n * tau
    cu, su, co, so, ci, si = (
        np.cos(u),
        np.sin(u),
        math.cos(om),
        math.sin(om),
        math.cos(inc),
        math.sin(inc),
    )
    r = a * np.stack([co * cu - so * su * ci, so * cu + co * su * ci, su * si], axis=-1)
    v = a * n * np.stack([-co * su - so * cu * ci, -so * su + co * cu * ci, cu * si], axis=-1)
    normal = np.array([so * si, -co * si, ci])
    scale = 1.0 + offset.radial / a
    r = r * scale + offset.normal * normal
    v = v * scale
    theta = OMEGA_EARTH * tau
    ct, st = np.cos(theta), np.sin(theta)
    xe = r[:, 0] * ct + r[:, 1] * st
    ye = -r[:, 0] * st + r[:, 1] * ct
    vx = v[:, 0] * ct + v[:, 1] * st + OMEGA_EARTH * ye
    vy = -v[:, 0] * st + v[:, 1] * ct - OMEGA_EARTH * xe
    return np.stack([xe, ye, r[:, 2]], axis=-1), np.stack([vx, vy, v[:, 2]], axis=-1)


def sentinel1_orbit(
    centre_time: np.datetime64,
    time_since_node: float,
    node_longitude: float,
    offset: OrbitOffset = OrbitOffset(0.0, 0.0),
    *,
    half_span: int = 60,
) -> Orbit:
    """State vectors every 10 s (on whole 10 s of UTC) within ``half_span`` s of ``centre_time``.

    ``time_since_node`` (s) is the time from the ascending node to ``centre_time``;
    ``node_longitude`` (rad) the ECEF longitude of the ascending node at that crossing.
    """
    t_c = np.asarray(centre_time).astype("datetime64[ns]")[()]
    step = np.timedelta64(STATE_VECTOR_INTERVAL, "s")
    first = (t_c - np.timedelta64(half_span, "s")).astype("datetime64[s]")
    first = first - np.timedelta64(int(first.astype(np.int64)) % STATE_VECTOR_INTERVAL, "s")
    count = (2 * half_span) // STATE_VECTOR_INTERVAL + 2
    times = (first + step * np.arange(count)).astype("datetime64[ns]")
    tau = time_since_node + (times - t_c).astype(np.int64) * 1e-9
    pos, vel = _circular_orbit_ecef(tau, node_longitude, offset)
    return Orbit(times, pos, vel)


def _solve_orbit(
    config: SimulationConfig, centre_time: np.datetime64, height: float
) -> tuple[float, float]:
    """(time since node, node longitude) that put the scene centre at zero Doppler at
    ``centre_time`` under ``config.centre_incidence`` (Gauss-Newton on the two residuals).
    Memoized: the bursts of one pass share the solution (and so their orbits)."""
    key = (
        config.centre_latitude,
        config.centre_longitude,
        config.centre_incidence,
        int(np.asarray(centre_time).astype("datetime64[ns]").astype(np.int64)),
        float(height),
    )
    if key not in _ORBIT_SOLUTIONS:
        _ORBIT_SOLUTIONS[key] = _solve_orbit_uncached(config, centre_time, height)
    return _ORBIT_SOLUTIONS[key]


_ORBIT_SOLUTIONS: dict[tuple[float, float, float, int, float], tuple[float, float]] = {}


def _solve_orbit_uncached(
    config: SimulationConfig, centre_time: np.datetime64, height: float
) -> tuple[float, float]:
    lat, lon = config.centre_latitude, config.centre_longitude
    x = np.array(
        [760.0, math.radians(lon + 5.0)]
    )  # ~ the real node  # near burst 249435's time from the node

    def residual(p: FloatArray) -> FloatArray:
        orbit = sentinel1_orbit(centre_time, float(p[0]), float(p[1]), half_span=400)
        g = geometry.look_geometry(orbit, lat, lon, height)
        dt = (g["azimuth_time"].values - centre_time).astype(np.int64) * 1e-9
        return np.array([float(dt), float(g["incidence_angle"]) - config.centre_incidence])

    for _ in range(30):
        f = residual(x)
        if abs(f[0]) < 1e-6 and abs(f[1]) < 1e-4:
            break
        jac = np.empty((2, 2))
        for j, h in enumerate((1e-2, 1e-4)):
            step = np.zeros(2)
            step[j] = h
            jac[:, j] = (residual(x + step) - f) / h
        x = x - np.linalg.solve(jac, f)
    else:
        raise RuntimeError("the simulator's orbit solution did not converge")
    return float(x[0]), float(x[1])


def true_coherence(
    land_cover: npt.ArrayLike,
    temporal_baseline: float,
    polarization: str = "VV",
    classes: Sequence[LandCover] = DEFAULT_LAND_COVER,
) -> npt.NDArray[np.float32]:
    """Map of the true coherence of a pair ``temporal_baseline`` days apart, from a class map."""
    cmap = np.asarray(land_cover)
    out = np.full(cmap.shape, np.nan, dtype=np.float32)
    for lc in classes:
        out[cmap == lc.code] = float(lc.model(polarization)(temporal_baseline))
    return out


# ----------------------------------------------------------------------------------------------
# the scene
def _local_frame(lat0: float, lon0: float) -> tuple[float, float]:
    """Metres per degree of longitude and latitude at ``lat0`` (the scene's local tangent plane)."""
    s = math.sin(math.radians(lat0))
    w = math.sqrt(1.0 - geometry.WGS84_E2 * s * s)
    prime_vertical = geometry.WGS84_A / w
    meridional = geometry.WGS84_A * (1.0 - geometry.WGS84_E2) / w**3
    return math.radians(1.0) * prime_vertical * math.cos(math.radians(lat0)), math.radians(
        1.0
    ) * meridional


def _grid_interpolate(values: FloatArray, rows: FloatArray, cols: FloatArray) -> FloatArray:
    """Bilinear interpolation of ``values[..., i, j]`` at fractional node indices rows x cols."""
    r0 = np.minimum(rows.astype(np.intp), values.shape[-2] - 2)
    c0 = np.minimum(cols.astype(np.intp), values.shape[-1] - 2)
    wr, wc = (rows - r0)[:, None], cols - c0
    along = values[..., r0, :] * (1 - wr) + values[..., r0 + 1, :] * wr
    return cast(FloatArray, along[..., c0] * (1 - wc) + along[..., c0 + 1] * wc)


def _fractional_index(points: npt.ArrayLike, nodes: npt.ArrayLike) -> FloatArray:
    nodes = np.asarray(nodes, dtype=np.float64)
    return np.interp(
        np.asarray(points, dtype=np.float64), nodes, np.arange(nodes.size, dtype=np.float64)
    )


def _checked_dem(dem: xr.DataArray, lat: FloatArray, lon: FloatArray) -> xr.DataArray:
    """A user DEM renamed to (latitude, longitude), checked to cover the scene's corners."""
    if not isinstance(dem, xr.DataArray) or dem.ndim != 2:
        raise TypeError(
            "dem must be a 2-D xarray.DataArray of heights on a latitude/longitude grid"
        )
    for lat_name, lon_name in (("latitude", "longitude"), ("lat", "lon"), ("y", "x")):
        if lat_name in dem.dims and lon_name in dem.dims:
            dem = dem.rename({lat_name: "latitude", lon_name: "longitude"})
            dem = dem.transpose("latitude", "longitude")
            break
    else:
        raise ValueError(
            f"dem dims {dem.dims} are not latitude/longitude (or lat/lon, or geographic y/x)"
        )
    margin = 0.01  # deg: terrain displaces the footprint by up to a few hundred metres
    la, lo = dem["latitude"].values, dem["longitude"].values
    if not (
        la.min() <= lat.min() - margin
        and la.max() >= lat.max() + margin
        and lo.min() <= lon.min() - margin
        and lo.max() >= lon.max() + margin
    ):
        raise ValueError(
            f"the DEM (lat {la.min():.4f}..{la.max():.4f}, lon {lo.min():.4f}..{lo.max():.4f}) "
            f"does not cover the burst footprint (lat {lat.min():.4f}..{lat.max():.4f}, lon "
            f"{lon.min():.4f}..{lon.max():.4f}) with a {margin} deg margin"
        )
    return dem


class BurstScene:
    """A simulated burst stack: orbits, radar grid, terrain, fields; pixels made block by block.

    Build it with :func:`make_scene`; get all lines with :meth:`simulate` (small and default sizes)
    or iterate :meth:`blocks` (any size, bounded memory).
    """

    def __init__(self, config: SimulationConfig, *, dem: xr.DataArray | None = None):
        """``dem``: optional real DEM (ellipsoidal heights, m, on a latitude/longitude grid that
        covers the burst) used instead of the synthetic terrain for geolocation, pixel heights
        and the stratified delay; the land-cover layout stays the synthetic valley's."""
        if not config.dates:
            raise ValueError("SimulationConfig.dates is empty; use SimulationConfig.for_size()")
        if not 0 <= config.reference_index < len(config.dates):
            raise ValueError(f"reference_index {config.reference_index} outside the dates")
        if config.lines < 8 or config.samples < 8:
            raise ValueError(
                f"the scene needs at least 8 x 8 samples; got {config.lines} x {config.samples}"
            )
        self.config = c = config
        if c.burst_offset < 0:
            raise ValueError(f"burst_offset counts bursts after the first; got {c.burst_offset}")
        self.dates = np.array(c.dates).astype("datetime64[D]")
        self.days = (self.dates - self.dates[0]).astype(np.float64)
        # The pass (orbits, orbital tube, stratification: the weather of the date) comes from
        # the seed alone; the burst's own content (terrain, land cover, turbulence, speckle) from
        # the seed and the burst offset (offset 0: the same streams as a one-burst scene).
        seq = np.random.SeedSequence([c.seed, 20250605])
        rngs = [np.random.default_rng(s) for s in seq.spawn(8)]
        if c.burst_offset:
            seq = np.random.SeedSequence([c.seed, 20250605, c.burst_offset])
            own = [np.random.default_rng(s) for s in seq.spawn(8)]
            rngs = [rngs[0], *own[1:6], rngs[6], own[7]]

        # 1. orbits: nominal orbit solved for the pass's first burst centre, one offset per date
        # (orbital tube); a neighbour burst flies the very same orbits, BURST_CYCLE s per burst
        # later (its state vectors are those of the first burst's: one EOF per date)
        pass_times = np.array(
            [np.datetime64(f"{d}T{c.sensing_time_of_day}", "ns") for d in self.dates]
        )
        shift = np.timedelta64(int(round(c.burst_offset * BURST_CYCLE * 1e9)), "ns")
        self.centre_times = pass_times + shift
        t_pass = pass_times[c.reference_index]
        t_ref = self.centre_times[c.reference_index]
        self.time_since_node, self.node_longitude = _solve_orbit(c, t_pass, 250.0)
        self.anx_times = pass_times - np.timedelta64(int(round(self.time_since_node * 1e9)), "ns")
        radius = c.tube_radius * np.sqrt(rngs[0].uniform(0.05, 1.0, len(self.dates)))
        angle = rngs[0].uniform(0.0, 2.0 * np.pi, len(self.dates))
        self.offsets = [
            OrbitOffset(float(r * np.cos(a)), float(r * np.sin(a)))
            for r, a in zip(radius, angle, strict=True)
        ]
        self.orbits = [
            sentinel1_orbit(t, self.time_since_node, self.node_longitude, off)
            for t, off in zip(pass_times, self.offsets, strict=True)
        ]
        self.reference_orbit = self.orbits[c.reference_index]

        # 2. radar grid of the reference date: the subswath's slant ranges centred on the first
        # burst's centre, azimuth times centred on this burst's centre time
        ref_geo = geometry.look_geometry(
            self.reference_orbit, c.centre_latitude, c.centre_longitude, 250.0
        )
        centre_range = float(ref_geo["slant_range"])
        if c.burst_offset:
            clat0, clon0, _ = geometry.geolocate(
                self.reference_orbit, np.array([t_ref]), np.array([centre_range]), height=250.0
            )
            self.centre_latitude = float(np.asarray(clat0).ravel()[0])
            self.centre_longitude = float(np.asarray(clon0).ravel()[0])
        else:
            self.centre_latitude, self.centre_longitude = c.centre_latitude, c.centre_longitude
        line_ns = np.round((np.arange(c.lines) - (c.lines - 1) / 2) * AZIMUTH_TIME_INTERVAL * 1e9)
        self.azimuth_time = t_ref + line_ns.astype(np.int64).astype("timedelta64[ns]")
        self.slant_range = (
            centre_range + (np.arange(c.samples) - (c.samples - 1) / 2) * RANGE_PIXEL_SPACING
        )

        # 3. local frame: along-track / across-track axes on the ground, scene extent
        self.metres_per_deg = _local_frame(self.centre_latitude, self.centre_longitude)
        vel = self.reference_orbit.velocity(t_ref)
        east, north, _ = geometry.enu_basis(self.centre_latitude, self.centre_longitude)
        ve, vn = float(vel @ east), float(vel @ north)
        norm = math.hypot(ve, vn)
        self.along = np.array([ve, vn]) / norm  # ground-track heading (east, north)
        self.across = np.array([vn, -ve]) / norm  # to the right of the track: the look direction
        corners_t = self.azimuth_time[[0, 0, -1, -1]]
        corners_r = self.slant_range[[0, -1, 0, -1]]
        clat, clon, _ = geometry.geolocate(self.reference_orbit, corners_t, corners_r, height=250.0)
        ce, cn = self._east_north(clat, clon)
        ca, cc = ce * self.along[0] + cn * self.along[1], ce * self.across[0] + cn * self.across[1]
        self.length = float(np.ptp(ca)) * c.lines / max(c.lines - 1, 1)
        self.width = float(np.ptp(cc)) * c.samples / max(c.samples - 1, 1)
        self.a0, self.c0 = float(ca.mean()), float(cc.mean())
        self.landscape = Landscape(
            relief=min(700.0, 0.075 * self.width), valley_phase=float(rngs[1].uniform())
        )

        # 4. random fields on a local metric grid (east, north), at least 20 km wide
        margin = max(2000.0, 0.15 * max(self.width, self.length)) + 2.0 * self.landscape.relief
        half = max(10_000.0, max(np.abs(ce).max(), np.abs(cn).max()) + margin)
        self.grid_origin, self.grid_extent = -half, 2.0 * half
        spacing = self.grid_extent / 1023  # 1024 x 1024 nodes (fast FFTs)
        shape = (1024, 1024)
        self.hills_noise = gaussian_random_field(shape, spacing, self.width / 10, rngs[2])
        self.class_noise_a = gaussian_random_field(shape, spacing, self.width / 25, rngs[3])
        self.class_noise_b = gaussian_random_field(shape, spacing, self.width / 40, rngs[4])
        self.dem_error_noise = gaussian_random_field(
            shape, spacing, max(300.0, 3 * spacing), rngs[5]
        )
        # the turbulent delay has little power at short scales: a 256 x 256 grid is plenty
        self.turbulence = np.stack(
            [
                power_law_field((256, 256), self.grid_extent / 255, np.random.default_rng(s))
                for s in seq.spawn(len(self.dates))
            ]
        )
        self.stratification = rngs[6].normal(0.0, c.stratification_std, len(self.dates))

        # 5. the DEM on a ~1 arc-second geographic grid covering the scene
        mlon, mlat = self.metres_per_deg
        dlat = 1.0 / 3600.0
        dlon = dlat * mlat / mlon
        ext = max(np.abs(ce).max(), np.abs(cn).max()) + margin
        lats = self.centre_latitude + np.arange(-ext / mlat, ext / mlat + dlat, dlat)
        lons = self.centre_longitude + np.arange(-ext / mlon, ext / mlon + dlon, dlon)
        if dem is None:
            glat, glon = np.meshgrid(lats, lons, indexing="ij")
            self.dem = xr.DataArray(
                self._terrain(glat, glon).astype(np.float32),
                dims=("latitude", "longitude"),
                coords={"latitude": lats, "longitude": lons},
                attrs={"units": "m", "long_name": "synthetic DEM, ellipsoidal height"},
            )
        else:
            self.dem = _checked_dem(dem, clat, clon)

        # 6. exact range-Doppler geolocation over the DEM and look geometry at nodes every
        # NODE_STEP samples; pixels in between are interpolated (see :meth:`block`)
        self._node_lines = np.unique(np.r_[np.arange(0, c.lines, NODE_STEP[0]), c.lines - 1])
        self._node_samples = np.unique(np.r_[np.arange(0, c.samples, NODE_STEP[1]), c.samples - 1])
        node_t = self.azimuth_time[self._node_lines][:, None]
        nlat, nlon, nh = geometry.geolocate(
            self.reference_orbit,
            node_t,
            self.slant_range[self._node_samples][None, :],
            dem=self.dem,
        )
        ngeo = geometry.look_geometry(
            self.reference_orbit,
            nlat,
            nlon,
            nh,
            azimuth_time_guess=np.broadcast_to(node_t, nlat.shape),
        )
        self._node_names = ("latitude", "longitude", "height") + GEOMETRY_LAYERS
        self._nodes = np.stack(
            [nlat, nlon, nh] + [ngeo[name].values.astype(np.float64) for name in GEOMETRY_LAYERS]
        )
        self.geometry_attrs = {name: dict(ngeo[name].attrs) for name in GEOMETRY_LAYERS}

        # 7. deformation source under the far slope, sized to the scene
        depth = 0.3 * min(self.width, self.length)
        span = max(float(self.days[-1]), 1.0)
        src_a, src_c = self.a0 + 0.1 * self.length, self.c0 + 0.15 * self.width
        self.mogi = MogiSource(
            east=float(src_a * self.along[0] + src_c * self.across[0]),
            north=float(src_a * self.along[1] + src_c * self.across[1]),
            depth=depth,
            volume_rate=c.max_uplift * math.pi * depth**2 / (1.0 - 0.25) / span,
        )

        # 8. perpendicular baselines on a coarse grid (they vary slowly over the burst)
        self._bperp_lines = np.unique(
            np.linspace(0, c.lines - 1, min(c.lines, 9)).round().astype(int)
        )
        self._bperp_samples = np.unique(
            np.linspace(0, c.samples - 1, min(c.samples, 33)).round().astype(int)
        )
        blat, blon, bh = geometry.geolocate(
            self.reference_orbit,
            self.azimuth_time[self._bperp_lines][:, None],
            self.slant_range[self._bperp_samples][None, :],
            dem=self.dem,
        )
        self._bperp = np.stack(
            [
                geometry.perpendicular_baseline(self.reference_orbit, o, blat, blon, bh).values
                for o in self.orbits
            ]
        )

    # helpers -------------------------------------------------------------------------------
    def _east_north(self, lat: npt.ArrayLike, lon: npt.ArrayLike) -> tuple[FloatArray, FloatArray]:
        mlon, mlat = self.metres_per_deg
        e = (np.asarray(lon, dtype=np.float64) - self.centre_longitude) * mlon
        n = (np.asarray(lat, dtype=np.float64) - self.centre_latitude) * mlat
        return e, n

    def _uv(self, e: FloatArray, n: FloatArray) -> tuple[FloatArray, FloatArray]:
        a = e * self.along[0] + n * self.along[1]
        c = e * self.across[0] + n * self.across[1]
        return (c - self.c0) / self.width, (a - self.a0) / self.length

    def _sampler(
        self, e: FloatArray, n: FloatArray, nodes: int
    ) -> Callable[[FloatArray], FloatArray]:
        """Bilinear sampler of fields of the local metric grid (``nodes`` x ``nodes``, leading
        dims allowed) at ground points (east, north); weights computed once for many fields."""
        last = nodes - 1
        spacing = self.grid_extent / last
        r = np.clip((n - self.grid_origin) / spacing, 0.0, last - 1e-9)
        q = np.clip((e - self.grid_origin) / spacing, 0.0, last - 1e-9)
        r0, q0 = r.astype(np.intp), q.astype(np.intp)
        wr, wq = r - r0, q - q0
        i00 = r0 * nodes + q0
        w = [(1 - wr) * (1 - wq), (1 - wr) * wq, wr * (1 - wq), wr * wq]
        offsets = [0, 1, nodes, nodes + 1]

        def sample(field: FloatArray) -> FloatArray:
            flat = field.reshape(field.shape[:-2] + (-1,))
            out = flat[..., i00] * w[0]
            for k in range(1, 4):
                out += flat[..., i00 + offsets[k]] * w[k]
            return cast(FloatArray, out)

        return sample

    def _sample(self, field: FloatArray, e: FloatArray, n: FloatArray) -> FloatArray:
        return self._sampler(e, n, field.shape[-1])(field)

    def _terrain(self, lat: FloatArray, lon: FloatArray) -> FloatArray:
        e, n = self._east_north(lat, lon)
        u, v = self._uv(e, n)
        return self.landscape.height(
            u, v, self._sample(self.hills_noise, e, n), self._sample(self.class_noise_b, e, n)
        )

    def _speckle_seed(self, polarization: int, block: int) -> list[int]:
        seed = [self.config.seed, 7, polarization, block]
        return seed + [self.config.burst_offset] if self.config.burst_offset else seed

    @property
    def burst(self) -> str:
        """The burst's id, ``T117_249435_IW2``."""
        c = self.config
        return f"T{c.relative_orbit:03d}_{c.burst_id:06d}_{c.subswath}"

    @property
    def n_blocks(self) -> int:
        return -(-self.config.lines // self.block_lines)

    @property
    def block_lines(self) -> int:
        """Azimuth lines per block: 256, or a multiple of 16 down to 16 for wide scenes."""
        fit = BLOCK_SAMPLES // self.config.samples // 16 * 16
        return int(min(BLOCK_LINES, max(16, fit)))

    def perpendicular_baseline(self, lines: npt.ArrayLike, samples: npt.ArrayLike) -> FloatArray:
        """(date, lines, samples) perpendicular baselines (m) against the reference date."""
        rows = _fractional_index(lines, self._bperp_lines)
        cols = _fractional_index(samples, self._bperp_samples)
        return _grid_interpolate(self._bperp, rows, cols)

    # pixels ---------------------------------------------------------------------------------
    def block(self, index: int) -> xr.Dataset:
        """Lines ``[index * n, (index + 1) * n)`` (``n`` = :attr:`block_lines`) with every layer.

        Variables: ``slc`` (polarization, date, azimuth, range; complex64, coregistered and
        flattened), ``height`` (the DEM at the pixel), ``dem_error``, ``land_cover``, the look
        geometry of the reference date (``incidence_angle``, ``look_x/y/z``, ``los_east/north/up``,
        ``slant_range_m``), and per date ``perpendicular_baseline``, ``los_displacement`` (m,
        towards the satellite), ``deformation_phase``, ``atmosphere_phase``,
        ``topography_phase`` (rad; their sum is the date's phase ``psi``).
        """
        c = self.config
        if not 0 <= index < self.n_blocks:
            raise IndexError(f"block {index} outside 0..{self.n_blocks - 1}")
        step = self.block_lines
        l0, l1 = index * step, min((index + 1) * step, c.lines)
        az = self.azimuth_time[l0:l1]
        rows = _fractional_index(np.arange(l0, l1), self._node_lines)
        cols = _fractional_index(np.arange(c.samples), self._node_samples)
        px = dict(zip(self._node_names, _grid_interpolate(self._nodes, rows, cols), strict=True))
        lat, lon, h = px["latitude"], px["longitude"], px["height"]
        inc = px["incidence_angle"]
        los = [px["los_east"], px["los_north"], px["los_up"]]
        e, n = self._east_north(lat, lon)
        u, v = self._uv(e, n)
        sample = self._sampler(e, n, self.class_noise_a.shape[-1])
        land = self.landscape.classes(
            u, v, self.width, sample(self.class_noise_a), sample(self.class_noise_b), c.classes
        )
        urban = [lc.code for lc in c.classes if lc.name == "urban"]
        dem_error = c.dem_error_std * sample(self.dem_error_noise)
        dem_error += np.where(np.isin(land, urban), c.urban_dem_error, 0.0)

        # deformation: Mogi displacement per unit volume, projected on the line of sight
        ue, un, uu = mogi_displacement(
            e - self.mogi.east,
            n - self.mogi.north,
            depth=self.mogi.depth,
            volume_change=1.0,
            poisson=self.mogi.poisson,
        )
        los_per_volume = ue * los[0] + un * los[1] + uu * los[2]
        volume = self.mogi.volume_rate * self.days
        los_disp = volume[:, None, None] * los_per_volume[None]
        # atmosphere: turbulent + stratified zenith delay, mapped to the slant
        turbulence = self._sampler(e, n, self.turbulence.shape[-1])(self.turbulence)
        zenith = c.turbulence_std * turbulence + self.stratification[:, None, None] * (
            h - self.landscape.floor_height
        )
        bperp = self.perpendicular_baseline(np.arange(l0, l1), np.arange(c.samples))
        r = self.slant_range[None, :]
        phases = {
            "deformation_phase": line_of_sight_phase(-los_disp).astype(np.float32),
            "atmosphere_phase": line_of_sight_phase(zenith / np.cos(np.radians(inc))[None]).astype(
                np.float32
            ),
            "topography_phase": residual_topography_phase(
                dem_error[None], bperp, r[None], inc[None]
            ).astype(np.float32),
        }
        total = (
            phases["deformation_phase"] + phases["atmosphere_phase"] + phases["topography_phase"]
        )
        rotation = np.empty(total.shape, dtype=np.complex64)
        rotation.real = np.cos(total)
        rotation.imag = np.sin(total)

        slc = np.empty((len(POLARIZATIONS), len(self.dates)) + lat.shape, dtype=np.complex64)
        for p, pol in enumerate(POLARIZATIONS):
            z = realise_speckle(
                land, self.dates, pol, classes=c.classes, seed=self._speckle_seed(p, index)
            )
            amp = np.zeros(lat.shape, dtype=np.float32)
            for lc in c.classes:
                amp[land == lc.code] = 10.0 ** (lc.sigma0_db[pol] / 20.0)
            slc[p] = z * amp[None] * rotation

        dims2 = ("azimuth", "range")
        dims3 = ("date",) + dims2

        def f32(
            values: npt.ArrayLike, dims: tuple[str, ...], units: str, name: str
        ) -> xr.DataArray:
            return xr.DataArray(
                np.asarray(values, dtype=np.float32),
                dims=dims,
                attrs={"units": units, "long_name": name},
            )

        data = {
            "slc": xr.DataArray(
                slc,
                dims=("polarization",) + dims3,
                attrs={"long_name": "coregistered, flattened single-look complex", "units": "1"},
            ),
            "height": f32(h, dims2, "m", "DEM height (ellipsoidal)"),
            "dem_error": f32(dem_error, dims2, "m", "true height minus DEM height"),
            "land_cover": xr.DataArray(
                land, dims=dims2, attrs={"long_name": "land-cover class code"}
            ),
            "slant_range_m": f32(np.broadcast_to(r, lat.shape), dims2, "m", "slant range"),
            "perpendicular_baseline": f32(
                bperp, dims3, "m", "perpendicular baseline to the reference date"
            ),
            "los_displacement": f32(
                los_disp, dims3, "m", "cumulative displacement towards the satellite"
            ),
        }
        for name in GEOMETRY_LAYERS:
            attrs = self.geometry_attrs[name]
            data[name] = f32(px[name], dims2, attrs.get("units", "1"), attrs.get("long_name", name))
        for name, values in phases.items():
            data[name] = f32(values, dims3, "rad", name.replace("_", " "))
        return xr.Dataset(
            data,
            coords={
                "polarization": list(POLARIZATIONS),
                "date": self.dates.astype("datetime64[ns]"),
                "azimuth": np.arange(l0, l1),
                "range": np.arange(c.samples),
                "azimuth_time": ("azimuth", az),
                "slant_range": ("range", self.slant_range),
                "latitude": (dims2, lat),
                "longitude": (dims2, lon),
            },
            attrs=self.attrs(),
        )

    def blocks(self) -> Iterator[xr.Dataset]:
        """All blocks in azimuth order."""
        for k in range(self.n_blocks):
            yield self.block(k)

    def simulate(self) -> xr.Dataset:
        """The whole stack in memory (fine for the small and default sizes)."""
        return xr.concat(
            list(self.blocks()),
            dim="azimuth",
            data_vars="minimal",
            coords="minimal",
            compat="override",
            join="override",
        )

    def attrs(self) -> dict[str, object]:
        c = self.config
        return {
            "burst_id": self.burst,
            "relative_orbit": c.relative_orbit,
            "orbit_state": c.orbit_state,
            "wavelength": WAVELENGTH,
            "azimuth_time_interval": AZIMUTH_TIME_INTERVAL,
            "range_pixel_spacing": RANGE_PIXEL_SPACING,
            "reference_date": str(self.dates[c.reference_index]),
            "seed": c.seed,
        }

    def truth(self) -> dict[str, object]:
        """The model parameters as plain JSON-able values (the ``truth`` asset of the demo)."""
        c = self.config
        return {
            "seed": c.seed,
            "burst_id": self.burst,
            "burst_offset": c.burst_offset,
            "centre_time": str(self.centre_times[c.reference_index]),
            "wavelength_m": WAVELENGTH,
            "reference_date": str(self.dates[c.reference_index]),
            "dates": [str(d) for d in self.dates],
            "land_cover": [lc.as_dict() for lc in c.classes],
            "coherence_model": "g(dt) = g_inf + (g0 - g_inf) * exp(-dt / tau), g(0) = 1",
            "phase_convention": (
                "psi_k = -4*pi/wavelength * (extra one-way path of date k); the interferogram "
                "s_ref * conj(s_sec) has phase psi_ref - psi_sec"
            ),
            "mogi_source": dataclasses.asdict(self.mogi)
            | {
                "east_north_origin": [self.centre_latitude, self.centre_longitude],
                "volume_change": "volume_rate * (date - first date) in days",
            },
            "atmosphere": {
                "turbulence_zenith_std_m": c.turbulence_std,
                "turbulence_spectrum": "power law k^-8/3, outer scale 50 km",
                "stratification_m_per_m": [float(k) for k in self.stratification],
                "stratification_reference_height_m": self.landscape.floor_height,
                "mapping": "slant delay = zenith delay / cos(incidence)",
            },
            "dem_error": {
                "std_m": c.dem_error_std,
                "urban_offset_m": c.urban_dem_error,
                "phase": "-4*pi/wavelength * B_perp * dem_error / (slant_range * sin(incidence))",
            },
            "orbit": {
                "altitude_m": ORBIT_ALTITUDE,
                "inclination_deg": ORBIT_INCLINATION,
                "time_since_ascending_node_s": self.time_since_node,
                "node_longitude_deg": math.degrees(self.node_longitude),
                "offsets_m": [
                    {"date": str(d), "radial": o.radial, "normal": o.normal}
                    for d, o in zip(self.dates, self.offsets, strict=True)
                ],
            },
            "terrain": {
                "relief_m": self.landscape.relief,
                "floor_height_m": self.landscape.floor_height,
            },
        }


def make_scene(
    size: str = "default",
    *,
    seed: int = 0,
    dem: xr.DataArray | None = None,
    burst_offset: int = 0,
) -> BurstScene:
    """The simulated scene of a named size (``small``, ``default``, ``full``), optionally over a
    real DEM (see :class:`BurstScene`); ``burst_offset`` k > 0: the k-th burst after the first
    along the same pass (same dates and orbits, ``BURST_CYCLE`` s per burst later)."""
    return BurstScene(
        SimulationConfig.for_size(size, seed=seed, burst_offset=burst_offset), dem=dem
    )


def simulate(
    size: str = "default", *, seed: int = 0, dem: xr.DataArray | None = None
) -> xr.Dataset:
    """Simulate a whole burst stack of a named size in memory (see :meth:`BurstScene.block`)."""
    return make_scene(size, seed=seed, dem=dem).simulate()
