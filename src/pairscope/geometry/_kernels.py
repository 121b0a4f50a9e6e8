"""Numba kernels of :mod:`pairscope.geometry` (WGS84 conversions, zero Doppler, range-Doppler).

Private: use the xarray functions of :mod:`pairscope.geometry`.
"""

from __future__ import annotations

import numba
import numpy as np
import numpy.typing as npt

from pairscope._numba import jit, pjit
from pairscope._types import FloatArray
from pairscope.geometry.orbit import interp_state, interp_state_acc

WGS84_A = 6_378_137.0
WGS84_F = 1.0 / 298.257223563
WGS84_B = WGS84_A * (1.0 - WGS84_F)
WGS84_E2 = WGS84_F * (2.0 - WGS84_F)
_EP2 = WGS84_E2 / (1.0 - WGS84_E2)


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
def ecef_to_llh_kernel(x: FloatArray, y: FloatArray, z: FloatArray) -> FloatArray:
    out = np.empty((3, x.shape[0]))
    for i in numba.prange(x.shape[0]):
        lat, lon, h = _ecef_to_llh_scalar(x[i], y[i], z[i])
        out[0, i] = np.degrees(lat)
        out[1, i] = np.degrees(lon)
        out[2, i] = h
    return out


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
def zero_doppler_kernel(
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
def look_kernel(
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
            if abs(step) < 1e-8:  # quadratic convergence: the next step would be ~1e-16
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
def geolocate_kernel(
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
