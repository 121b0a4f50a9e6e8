"""Satellite orbits: state vectors, interpolation, ESA EOF and Sentinel-1 annotation I/O.

An :class:`Orbit` holds ECEF (Earth-fixed, WGS84/ITRF) state vectors and interpolates position and
velocity:

- 8 or more vectors: an 8-point Lagrange polynomial (barycentric form, windows centred on the query
  time) of positions and, separately, of velocities. Between 10 s state vectors of a Sentinel-1
  orbit this is accurate to well under a millimetre, far below the ~5 cm accuracy of a precise
  (POEORB) orbit itself.
- 2 to 7 vectors (e.g. the two ``SV_*_PRE/POST`` vectors of an ASF burst record): piecewise cubic
  Hermite, on each interval the cubic through both positions and velocities, velocity its
  derivative. Two vectors 10 s apart: 0.25 mm and 1.2 mm/s at most between them against a precise
  orbit (``tests/test_32_baselines.py``).

Extrapolation: up to ``max_extrapolation`` seconds (default :data:`MAX_EXTRAPOLATION` = 5 s)
before the first or after the last vector the interpolating polynomial is extended; further out
:meth:`Orbit.state` and the baseline functions raise :class:`~pairscope.errors.GeometryError`
saying how far outside the span the time is (``look_geometry`` gives NaN there, as for any point
not seen). :meth:`Orbit.error_bound` states the interpolation or extrapolation error (m) at any
time, from the remainder term of the polynomial with the position's k-th derivative bounded by
``2 |r| (n + omega_E)^k`` (``n`` the mean motion): two vectors 10 s apart, 0.6 mm between them
and 5.5 mm at 5 s beyond (0.25 and 2.3 mm measured).

The numba kernels see every orbit as 8-point Lagrange nodes (:attr:`Orbit.kernel_args`): the state
vectors plus one node at each end of the extrapolation range lying on the end window's polynomial
(so the interpolant inside the span is unchanged), or, for fewer than 8 vectors, the cubic pieces
sampled 8 times per interval, which 8-point Lagrange windows reproduce (exactly within a piece,
to ~1e-6 m across a join).

The public import is :mod:`pairscope.geometry`, which re-exports everything here.
"""

from __future__ import annotations

import io
import math
import os
import pathlib
import xml.etree.ElementTree as ET
from typing import IO, cast

import numpy as np
import numpy.typing as npt

from pairscope._numba import jit
from pairscope._types import FloatArray, TimeLike
from pairscope.errors import GeometryError

__all__ = ["Orbit", "write_eof", "OrbitSource", "LAGRANGE_POINTS", "MAX_EXTRAPOLATION"]

OrbitSource = str | os.PathLike[str] | bytes | IO[bytes]

#: Number of state vectors in each interpolation window.
LAGRANGE_POINTS = 8

#: Kernel nodes per interval between state vectors of a cubic Hermite orbit.
HERMITE_SAMPLES = 8

#: Seconds before the first / after the last state vector that an orbit extrapolates by default.
MAX_EXTRAPOLATION = 5.0

# Earth constants used by the approximate ECEF acceleration (only for Newton steps).
_GM = 3.986004418e14
_OMEGA_EARTH = 7.292115e-5


@jit
def ecef_acceleration(p: FloatArray, v: FloatArray, out: FloatArray) -> None:
    """Approximate ECEF acceleration (central gravity + Coriolis + centrifugal), for Newton steps."""
    r = np.sqrt(p[0] * p[0] + p[1] * p[1] + p[2] * p[2])
    g = -_GM / (r * r * r)
    w2 = _OMEGA_EARTH * _OMEGA_EARTH
    out[0] = g * p[0] + 2.0 * _OMEGA_EARTH * v[1] + w2 * p[0]
    out[1] = g * p[1] - 2.0 * _OMEGA_EARTH * v[0] + w2 * p[1]
    out[2] = g * p[2]


@jit
def interp_state(
    ts: FloatArray,
    pos: FloatArray,
    vel: FloatArray,
    bary: FloatArray,
    t: float,
    out: FloatArray,
) -> None:
    """Position (out[0:3]) and velocity (out[3:6]) at ``t`` seconds, barycentric Lagrange."""
    n = ts.shape[0]
    k = bary.shape[1]
    i = np.searchsorted(ts, t)
    start = min(max(i - k // 2, 0), n - k)
    for c in range(6):
        out[c] = 0.0
    den = 0.0
    for j in range(k):
        dt = t - ts[start + j]
        if dt == 0.0:
            for c in range(3):
                out[c] = pos[start + j, c]
                out[3 + c] = vel[start + j, c]
            return
        w = bary[start, j] / dt
        den += w
        for c in range(3):
            out[c] += w * pos[start + j, c]
            out[3 + c] += w * vel[start + j, c]
    for c in range(6):
        out[c] /= den


@jit
def interp_state_acc(
    ts: FloatArray,
    pos: FloatArray,
    vel: FloatArray,
    bary: FloatArray,
    t: float,
    out: FloatArray,
) -> None:
    """Like :func:`interp_state`, plus out[6:9] = derivative of the velocity interpolant.

    Within 1 ms of a node the derivative formula loses precision, so the approximate
    force model :func:`ecef_acceleration` is used there instead (only Newton steps use it).
    """
    n = ts.shape[0]
    k = bary.shape[1]
    i = np.searchsorted(ts, t)
    start = min(max(i - k // 2, 0), n - k)
    for c in range(9):
        out[c] = 0.0
    den = 0.0
    s1 = 0.0
    nearest = np.inf
    for j in range(k):
        dt = t - ts[start + j]
        nearest = min(nearest, abs(dt))
        if dt == 0.0:
            for c in range(3):
                out[c] = pos[start + j, c]
                out[3 + c] = vel[start + j, c]
            ecef_acceleration(out[:3], out[3:6], out[6:9])
            return
        inv = 1.0 / dt
        w = bary[start, j] * inv
        den += w
        s1 += w * inv
        for c in range(3):
            out[c] += w * pos[start + j, c]
            out[3 + c] += w * vel[start + j, c]
            out[6 + c] += w * inv * vel[start + j, c]
    for c in range(6):
        out[c] /= den
    if nearest < 1e-3:
        ecef_acceleration(out[:3], out[3:6], out[6:9])
        return
    # barycentric derivative: p'(t) = sum_j w_j (p(t) - y_j) / (t - t_j)^2 / sum_j w_j/(t - t_j)
    for c in range(3):
        out[6 + c] = (out[3 + c] * s1 - out[6 + c]) / den


@jit
def interp_many(
    ts: FloatArray, pos: FloatArray, vel: FloatArray, bary: FloatArray, t: FloatArray
) -> FloatArray:
    """``interp_state`` over a 1-D array of times; returns (M, 6)."""
    out = np.empty((t.shape[0], 6))
    for m in range(t.shape[0]):
        interp_state(ts, pos, vel, bary, t[m], out[m])
    return out


def _barycentric_weights(ts: FloatArray, k: int) -> FloatArray:
    """Barycentric weights of every window of ``k`` consecutive nodes: (n - k + 1, k)."""
    n = ts.shape[0]
    idx = np.arange(n - k + 1)[:, None] + np.arange(k)[None, :]
    nodes = ts[idx]
    diff = nodes[:, :, None] - nodes[:, None, :]
    diff[:, np.arange(k), np.arange(k)] = 1.0
    return cast(FloatArray, 1.0 / np.prod(diff, axis=2))


def _to_datetime64(t: TimeLike) -> npt.NDArray[np.datetime64]:
    arr = np.asarray(t)
    if arr.dtype.kind in "UO":
        arr = arr.astype("datetime64[ns]")
    if arr.dtype.kind != "M":
        raise TypeError(
            f"times must be numpy datetime64 (or ISO strings / datetimes), got dtype {arr.dtype}; "
            "convert with numpy.datetime64(...) or numpy.asarray(..., dtype='datetime64[ns]')"
        )
    return arr.astype("datetime64[ns]")


def _cubic_hermite(
    ts: FloatArray, pos: FloatArray, vel: FloatArray, t: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Piecewise cubic Hermite position and velocity at ``t`` (s): on each interval between
    consecutive vectors the cubic matching both positions and velocities; before the first
    (after the last) vector the first (last) cubic extended."""
    j = np.clip(np.searchsorted(ts, t) - 1, 0, ts.shape[0] - 2)
    h = (ts[j + 1] - ts[j])[:, None]
    u = ((t - ts[j])[:, None]) / h
    p0, p1, v0, v1 = pos[j], pos[j + 1], vel[j] * h, vel[j + 1] * h
    u2, u3 = u * u, u * u * u
    p = (
        (2 * u3 - 3 * u2 + 1) * p0
        + (u3 - 2 * u2 + u) * v0
        + (3 * u2 - 2 * u3) * p1
        + (u3 - u2) * v1
    )
    dp = (
        (6 * u2 - 6 * u) * p0
        + (3 * u2 - 4 * u + 1) * v0
        + (6 * u - 6 * u2) * p1
        + (3 * u2 - 2 * u) * v1
    )
    return p, dp / h


class Orbit:
    """Satellite state vectors in ECEF with accurate interpolation and bounded extrapolation.

    Parameters
    ----------
    times:
        (N,) ``datetime64[ns]`` UTC, strictly increasing, N >= 2 (8 or more: 8-point Lagrange
        windows; fewer: piecewise cubic Hermite through positions and velocities).
    positions, velocities:
        (N, 3) ECEF metres and metres per second.
    max_extrapolation:
        Seconds before the first / after the last vector that may still be used (the polynomial
        extended; see :meth:`error_bound`); further out a :class:`GeometryError` says how far.
    """

    def __init__(
        self,
        times: npt.ArrayLike,
        positions: npt.ArrayLike,
        velocities: npt.ArrayLike,
        *,
        max_extrapolation: float = MAX_EXTRAPOLATION,
    ):
        t = _to_datetime64(cast(TimeLike, times)).ravel()
        p = np.ascontiguousarray(positions, dtype=np.float64)
        v = np.ascontiguousarray(velocities, dtype=np.float64)
        if p.ndim != 2 or p.shape[1] != 3 or v.shape != p.shape or t.shape[0] != p.shape[0]:
            raise GeometryError(
                "Orbit needs times (N,), positions (N, 3) and velocities (N, 3) with the same N; "
                f"got times {t.shape}, positions {p.shape}, velocities {v.shape}"
            )
        if t.shape[0] < 2:
            raise GeometryError(f"Orbit needs at least 2 state vectors, got {t.shape[0]}")
        if np.isnat(t).any() or not np.all(np.diff(t.astype(np.int64)) > 0):
            raise GeometryError(
                "Orbit times must be strictly increasing; sort and de-duplicate them"
            )
        if not (np.all(np.isfinite(p)) and np.all(np.isfinite(v))):
            raise GeometryError("Orbit positions and velocities must be finite")
        radius = np.linalg.norm(p, axis=1)
        if np.any(radius < 6.3e6) or np.any(radius > 5e7):
            raise GeometryError(
                "Orbit positions must be ECEF metres (|r| between 6300 km and 50000 km); "
                f"got |r| in [{radius.min():.0f}, {radius.max():.0f}] m"
            )
        if not (math.isfinite(max_extrapolation) and max_extrapolation >= 0.0):
            raise GeometryError(
                f"max_extrapolation must be a finite number of seconds >= 0, got {max_extrapolation}"
            )
        self.times: npt.NDArray[np.datetime64] = t
        self.positions: FloatArray = p
        self.velocities: FloatArray = v
        self.epoch: np.datetime64 = t[0]
        self.max_extrapolation = float(max_extrapolation)
        self._ts: FloatArray = self.seconds(t)
        #: "lagrange" (8 or more vectors) or "hermite".
        self.interpolation = "lagrange" if len(t) >= LAGRANGE_POINTS else "hermite"
        radius_mean = float(radius.mean())
        self._rate = math.sqrt(_GM / radius_mean**3) + _OMEGA_EARTH
        self._radius = radius_mean
        self._kernel = self._kernel_nodes()
        if self.interpolation == "hermite":
            mid = 0.5 * (self._ts[1:] + self._ts[:-1])
            worst = float(np.max(self._error_bound_seconds(mid)))
            if worst > 1.0:
                gap = float(np.max(np.diff(self._ts)))
                raise GeometryError(
                    f"{len(t)} state vectors up to {gap:.0f} s apart are too far apart to "
                    f"interpolate (error up to {worst:.3g} m between them); give vectors at most "
                    "~60 s apart, or 8 or more vectors"
                )

    def _kernel_nodes(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        ext = self.max_extrapolation
        ts, pos, vel = self._ts, self.positions, self.velocities
        if self.interpolation == "hermite":
            # the cubic pieces sampled HERMITE_SAMPLES times per interval (and as densely over the
            # extrapolation range): 8-point Lagrange reproduces a cubic exactly, so the kernel
            # interpolant is the piecewise cubic up to ~1e-6 m at the joins
            h = np.diff(ts)
            pieces = [
                np.linspace(a, a + d, HERMITE_SAMPLES + 1)[:-1]
                for a, d in zip(ts[:-1], h, strict=True)
            ]
            if ext:
                n0, n1 = (min(64, math.ceil(ext * HERMITE_SAMPLES / d - 1e-9)) for d in h[[0, -1]])
                pieces = [np.linspace(ts[0] - ext, ts[0], n0 + 1)[:-1], *pieces]
                pieces.append(np.linspace(ts[-1], ts[-1] + ext, n1 + 1)[:-1])
            nodes = np.concatenate([*pieces, [ts[-1] + ext]])
            kpos, kvel = _cubic_hermite(ts, pos, vel, nodes)
            # the vectors themselves exactly
            at = np.searchsorted(nodes, ts)
            kpos[at], kvel[at] = pos, vel
            bary = _barycentric_weights(nodes, LAGRANGE_POINTS)
            return nodes, np.ascontiguousarray(kpos), np.ascontiguousarray(kvel), bary
        bary = _barycentric_weights(ts, LAGRANGE_POINTS)
        if ext == 0.0:
            return ts, pos, vel, bary
        ends = np.array([ts[0] - ext, ts[-1] + ext])
        st = interp_many(ts, pos, vel, bary, ends)
        kts = np.concatenate([ends[:1], ts, ends[1:]])
        kpos = np.ascontiguousarray(np.concatenate([st[:1, :3], pos, st[1:, :3]]))
        kvel = np.ascontiguousarray(np.concatenate([st[:1, 3:], vel, st[1:, 3:]]))
        return kts, kpos, kvel, _barycentric_weights(kts, LAGRANGE_POINTS)

    def __repr__(self) -> str:
        return f"Orbit({len(self.times)} state vectors, {self.times[0]} .. {self.times[-1]})"

    def __len__(self) -> int:
        return int(self.times.shape[0])

    # time handling -------------------------------------------------------------------------
    def seconds(self, t: TimeLike) -> FloatArray:
        """Seconds since :attr:`epoch` (the first state vector) as float64; NaT gives NaN."""
        times = _to_datetime64(t)
        ns = (times - self.epoch).astype("timedelta64[ns]").astype(np.int64)
        seconds: FloatArray = np.where(np.isnat(times), np.nan, ns.astype(np.float64) * 1e-9)
        return seconds

    def datetimes(self, seconds: npt.ArrayLike) -> npt.NDArray[np.datetime64]:
        """Inverse of :meth:`seconds`: datetime64[ns] from seconds since :attr:`epoch`."""
        s = np.asarray(seconds, dtype=np.float64)
        ns = np.round(s * 1e9)
        out = np.full(s.shape, np.datetime64("NaT", "ns"))
        ok = np.isfinite(ns)
        out[ok] = self.epoch + ns[ok].astype(np.int64).astype("timedelta64[ns]")
        return out

    @property
    def kernel_args(self) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
        """(node times in s since :attr:`epoch`, positions, velocities, barycentric weights) for
        the numba kernels: Lagrange nodes covering the span plus the extrapolation range (see
        the module docstring), not necessarily the state vectors themselves."""
        return self._kernel

    # span and accuracy ---------------------------------------------------------------------
    def seconds_outside(self, t: TimeLike) -> FloatArray:
        """How far ``t`` lies outside the state vectors' span (s): negative before the first
        vector, positive after the last, 0 within; NaN for NaT."""
        s = self.seconds(t)
        out: FloatArray = np.where(
            s < self._ts[0], s - self._ts[0], np.where(s > self._ts[-1], s - self._ts[-1], 0.0)
        )
        return out

    def check_span(self, t: TimeLike, what: str = "time") -> None:
        """Raise :class:`GeometryError` if any ``t`` lies more than :attr:`max_extrapolation`
        seconds outside the state vectors' span, saying how far."""
        outside = np.atleast_1d(self.seconds_outside(t))
        bad = np.abs(outside) > self.max_extrapolation + 1e-6
        if not bad.any():
            return
        worst = int(np.nanargmax(np.where(bad, np.abs(outside), -1.0)))
        d = float(outside[worst])
        when = self.datetimes(self._ts[0] + d if d < 0 else self._ts[-1] + d)
        raise GeometryError(self.outside_message(d, what=f"{what} {when}"))

    def outside_message(self, seconds_outside: float, *, what: str = "the time") -> str:
        """The message of a time ``seconds_outside`` s outside the span (negative: before)."""
        d = seconds_outside
        side, end = ("before", self.times[0]) if d < 0 else ("after", self.times[-1])
        return (
            f"{what} is {abs(d):.1f} s {side} the {'first' if d < 0 else 'last'} state vector "
            f"({end}): outside the orbit's span {self.times[0]} .. {self.times[-1]} by more than "
            f"the {self.max_extrapolation:g} s that may be extrapolated; use an orbit file or "
            "state vectors that cover the acquisition"
        )

    def error_bound(self, t: TimeLike) -> FloatArray:
        """An upper bound (m) on the position error of the interpolant at ``t`` (within the span
        or extrapolated), not counting errors of the state vectors themselves.

        The remainder of the polynomial: ``|prod_j (t - t_j)| * M_8 / 8!`` over the 8 nodes of
        the Lagrange window, or ``(t - t_0)^2 (t - t_1)^2 * M_4 / 4!`` for the cubic Hermite
        piece between vectors t_0 and t_1, with the k-th derivative of the ECEF position
        bounded by ``M_k = 2 |r| (n + omega_E)^k``: each coordinate is a sum of harmonics of the
        orbital rate ``n = sqrt(GM / |r|^3)`` seen from the rotating Earth, with a factor 2 for
        eccentricity and J2. Two vectors 10 s apart: 0.6 mm midway, 5.5 mm at 5 s beyond.
        """
        return self._error_bound_seconds(self.seconds(t))

    def _error_bound_seconds(self, s: FloatArray) -> FloatArray:
        s = np.asarray(s, dtype=np.float64)
        ts = self._ts
        if self.interpolation == "hermite":
            k = 4
            j = np.clip(np.searchsorted(ts, np.where(np.isfinite(s), s, ts[0])) - 1, 0, len(ts) - 2)
            prod = ((s - ts[j]) * (s - ts[j + 1])) ** 2
        else:
            k = LAGRANGE_POINTS
            i = np.searchsorted(ts, np.where(np.isfinite(s), s, ts[0]))
            start = np.clip(i - k // 2, 0, ts.shape[0] - k)
            nodes = ts[start[..., None] + np.arange(k)]
            prod = np.abs(np.prod(s[..., None] - nodes, axis=-1))
        bound: FloatArray = prod * 2.0 * self._radius * self._rate**k / math.factorial(k)
        return bound

    # interpolation -------------------------------------------------------------------------
    def state(self, t: TimeLike) -> tuple[FloatArray, FloatArray]:
        """Interpolated (position, velocity), each of shape ``t.shape + (3,)``; a time more than
        :attr:`max_extrapolation` s outside the span raises :class:`GeometryError`."""
        s = self.seconds(t)
        if s.size:
            self.check_span(t)
        out = interp_many(*self.kernel_args, np.ascontiguousarray(s.ravel()))
        out[~np.isfinite(s.ravel())] = np.nan
        shape = s.shape + (3,)
        return out[:, :3].reshape(shape), out[:, 3:].reshape(shape)

    def position(self, t: TimeLike) -> FloatArray:
        """ECEF position (m) at ``t``, shape ``t.shape + (3,)``."""
        return self.state(t)[0]

    def velocity(self, t: TimeLike) -> FloatArray:
        """ECEF velocity (m/s) at ``t``, shape ``t.shape + (3,)``."""
        return self.state(t)[1]

    def crop(self, start: TimeLike, stop: TimeLike, *, margin: float = 60.0) -> Orbit:
        """The state vectors within [start - margin s, stop + margin s] (at least 8 kept)."""
        s0 = float(self.seconds(start)) - margin
        s1 = float(self.seconds(stop)) + margin
        keep = np.flatnonzero((self._ts >= s0) & (self._ts <= s1))
        if keep.size == 0:
            raise GeometryError(f"no state vectors between {start} and {stop} (orbit {self!r})")
        need = min(LAGRANGE_POINTS, len(self))
        lo, hi = int(keep[0]), int(keep[-1]) + 1
        while hi - lo < need:
            lo, hi = max(lo - 1, 0), min(hi + 1, len(self))
        return Orbit(
            self.times[lo:hi],
            self.positions[lo:hi],
            self.velocities[lo:hi],
            max_extrapolation=self.max_extrapolation,
        )

    # readers -------------------------------------------------------------------------------
    @classmethod
    def from_eof(cls, source: OrbitSource) -> Orbit:
        """Read an ESA Earth Explorer orbit file (``AUX_POEORB``, ``AUX_RESORB``; UTC times).

        ``source`` is a path, the file's bytes, or a binary file object.
        """
        root = _parse_xml(source)
        osvs = root.findall(".//List_of_OSVs/OSV")
        if not osvs:
            raise ValueError(
                f"{_name(source)}: no Data_Block/List_of_OSVs/OSV elements; is this an ESA EOF "
                "orbit file (AUX_POEORB / AUX_RESORB)?"
            )
        frame = root.findtext(".//Variable_Header/Ref_Frame")
        if frame is not None and frame.strip() != "EARTH_FIXED":
            raise ValueError(f"{_name(source)}: reference frame {frame!r}, expected EARTH_FIXED")
        times = [_strip_prefix(_text(o, "UTC")) for o in osvs]
        pos = [[float(_text(o, k)) for k in ("X", "Y", "Z")] for o in osvs]
        vel = [[float(_text(o, k)) for k in ("VX", "VY", "VZ")] for o in osvs]
        return _sorted_orbit(times, pos, vel)

    @classmethod
    def from_annotation(cls, source: OrbitSource) -> Orbit:
        """Read the ``generalAnnotation/orbitList`` of a Sentinel-1 annotation XML."""
        root = _parse_xml(source)
        orbits = root.findall(".//orbitList/orbit")
        if not orbits:
            raise ValueError(
                f"{_name(source)}: no orbitList/orbit elements; pass a Sentinel-1 product "
                "annotation XML (annotation/s1?-iw?-slc-??-*.xml), not calibration or noise XML"
            )
        times = [_text(o, "time") for o in orbits]
        pos = [[float(_text(o, f"position/{k}")) for k in "xyz"] for o in orbits]
        vel = [[float(_text(o, f"velocity/{k}")) for k in "xyz"] for o in orbits]
        return _sorted_orbit(times, pos, vel)


def _sorted_orbit(times: list[str], pos: list[list[float]], vel: list[list[float]]) -> Orbit:
    t = np.array(times, dtype="datetime64[ns]")
    t_unique, first = np.unique(t, return_index=True)
    return Orbit(t_unique, np.asarray(pos)[first], np.asarray(vel)[first])


def _name(source: OrbitSource) -> str:
    if isinstance(source, str | os.PathLike):
        return os.fspath(source)
    return getattr(source, "name", "<orbit data>") if not isinstance(source, bytes) else "<bytes>"


def _parse_xml(source: OrbitSource) -> ET.Element:
    try:
        if isinstance(source, bytes):
            return ET.parse(io.BytesIO(source)).getroot()
        if isinstance(source, str | os.PathLike):
            path = pathlib.Path(source)
            if not path.is_file():
                raise FileNotFoundError(f"orbit source not found: {path}")
            return ET.parse(path).getroot()
        return ET.parse(source).getroot()
    except ET.ParseError as err:
        raise ValueError(f"{_name(source)}: not well-formed XML ({err})") from err


def _text(elem: ET.Element, path: str) -> str:
    value = elem.findtext(path)
    if value is None:
        raise ValueError(f"missing <{path}> in <{elem.tag}>")
    return value.strip()


def _strip_prefix(value: str) -> str:
    return value.split("=", 1)[1] if "=" in value else value


# writer ------------------------------------------------------------------------------------
# TAI - UTC (leap seconds) since 2009; EOF files carry TAI, UTC and UT1 times for each OSV.
_LEAP_SECONDS = (
    (np.datetime64("2009-01-01", "ns"), 34),
    (np.datetime64("2012-07-01", "ns"), 35),
    (np.datetime64("2015-07-01", "ns"), 36),
    (np.datetime64("2017-01-01", "ns"), 37),
)


def _tai_minus_utc(t: np.datetime64) -> int:
    offset = 34
    for start, value in _LEAP_SECONDS:
        if t >= start:
            offset = value
    return offset


def _iso(t: np.datetime64, digits: int = 6) -> str:
    text = str(t.astype("datetime64[us]"))
    return text if digits else text.split(".")[0]


def write_eof(
    orbit: Orbit,
    path: str | os.PathLike[str],
    *,
    mission: str = "S1A",
    file_type: str = "AUX_POEORB",
    creation_time: np.datetime64 | None = None,
    absolute_orbit: int | None = None,
) -> pathlib.Path:
    """Write ``orbit`` as an ESA Earth Explorer orbit file that :meth:`Orbit.from_eof` reads back.

    TAI times use the leap-second table (TAI - UTC = 37 s since 2017); UT1 is written equal to UTC
    because UT1 - UTC (< 0.9 s) is not known here and pairscope never reads it. ``absolute_orbit``
    is written on every state vector when given (``+00000`` otherwise).
    """
    if mission not in {"S1A", "S1B", "S1C", "S1D"}:
        raise ValueError(f"mission must be one of S1A, S1B, S1C, S1D; got {mission!r}")
    if file_type not in {"AUX_POEORB", "AUX_RESORB"}:
        raise ValueError(f"file_type must be AUX_POEORB or AUX_RESORB; got {file_type!r}")
    created = creation_time if creation_time is not None else orbit.times[-1]
    start, stop = orbit.times[0], orbit.times[-1]

    def compact(t: np.datetime64) -> str:
        return _iso(t, 0).replace("-", "").replace(":", "")

    name = f"{mission}_OPER_{file_type}_OPOD_{compact(created)}_V{compact(start)}_{compact(stop)}"
    root = ET.Element("Earth_Explorer_File")
    header = ET.SubElement(root, "Earth_Explorer_Header")
    fixed = ET.SubElement(header, "Fixed_Header")
    ET.SubElement(fixed, "File_Name").text = name
    ET.SubElement(fixed, "File_Description").text = (
        "Precise Orbit Ephemerides (POE) Orbit File"
        if file_type == "AUX_POEORB"
        else "Restituted Orbit File"
    )
    ET.SubElement(fixed, "Notes").text = ""
    ET.SubElement(fixed, "Mission").text = f"Sentinel-1{mission[-1]}"
    ET.SubElement(fixed, "File_Class").text = "OPER"
    ET.SubElement(fixed, "File_Type").text = file_type
    validity = ET.SubElement(fixed, "Validity_Period")
    ET.SubElement(validity, "Validity_Start").text = f"UTC={_iso(start, 0)}"
    ET.SubElement(validity, "Validity_Stop").text = f"UTC={_iso(stop, 0)}"
    ET.SubElement(fixed, "File_Version").text = "0001"
    src = ET.SubElement(fixed, "Source")
    ET.SubElement(src, "System").text = "OPOD"
    ET.SubElement(src, "Creator").text = "pairscope"
    ET.SubElement(src, "Creator_Version").text = "0.1.0"
    ET.SubElement(src, "Creation_Date").text = f"UTC={_iso(created, 0)}"
    variable = ET.SubElement(header, "Variable_Header")
    ET.SubElement(variable, "Ref_Frame").text = "EARTH_FIXED"
    ET.SubElement(variable, "Time_Reference").text = "UTC"
    block = ET.SubElement(root, "Data_Block", type="xml")
    osvs = ET.SubElement(block, "List_of_OSVs", count=str(len(orbit)))
    for t, p, v in zip(orbit.times, orbit.positions, orbit.velocities, strict=True):
        osv = ET.SubElement(osvs, "OSV")
        tai = t + np.timedelta64(_tai_minus_utc(t), "s")
        ET.SubElement(osv, "TAI").text = f"TAI={_iso(tai)}"
        ET.SubElement(osv, "UTC").text = f"UTC={_iso(t)}"
        ET.SubElement(osv, "UT1").text = f"UT1={_iso(t)}"
        ET.SubElement(osv, "Absolute_Orbit").text = f"{absolute_orbit or 0:+06d}"
        for tag, value in zip(("X", "Y", "Z"), p, strict=True):
            ET.SubElement(osv, tag, unit="m").text = f"{value:.6f}"
        for tag, value in zip(("VX", "VY", "VZ"), v, strict=True):
            ET.SubElement(osv, tag, unit="m/s").text = f"{value:.6f}"
        ET.SubElement(osv, "Quality").text = "NOMINAL"
    ET.indent(root, space="  ")
    out = pathlib.Path(path)
    out.write_bytes(b'<?xml version="1.0" ?>\n' + ET.tostring(root, encoding="utf-8") + b"\n")
    return out
