"""Geometry and geocoding throughput on a full Sentinel-1 IW burst, with same-process baselines.

The burst is real: the orbit and radar timing of the sarsen IW1 annotation (S1A 2022-01-04,
over Rome), ``--lines`` x ``--samples`` radar samples (default 1500 x 21000, a full IW burst).

- geolocate: radar (azimuth time, slant range) -> lat/lon/height on the ellipsoid, every sample;
- look_geometry: lat/lon/height -> zero-Doppler time, range, look/LOS vectors, angles;
  baseline: a plain numpy implementation (scipy CubicHermiteSpline orbit, vectorised Newton),
  timed on a 1 M-sample subset and scaled per sample;
- geocode: one pair (coherence + phase, float32) onto the 20 m UTM grid; baseline: pyproj
  transform + ``np.bincount`` mean and circular mean (no hole filling, no nearest).
- baselines of a stack: the 165 pairs of the real ASF stack of burst 174_372326_IW3 (two state
  vectors per date, from the records' ``SV_*`` fields) at the burst's baseline point, what the
  app's network plot asks for; baseline: scipy ``CubicHermiteSpline`` per date + numpy Newton.

Times are best of ``--repeat`` after a warm-up call (numba compilation reported separately);
wall and CPU time (all threads) are both printed, since a shared machine inflates wall time.
"""

from __future__ import annotations

import argparse
import pathlib
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pyproj
import xarray as xr
from scipy.interpolate import CubicHermiteSpline

from pairscope import geometry as g
from pairscope.geometry.geocoding import geocode

DATA = pathlib.Path(__file__).resolve().parents[1] / "tests" / "data"
ANNOTATION = next(DATA.glob("sarsen/*.SAFE/annotation/s1a-iw1-slc-vv-*.xml"))
ASF_STACK = DATA / "bursts" / "asf_search" / "SLC_BURST_stack.yml"


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, float, Any]:
    """Best wall time, the CPU time (all threads) of that run, and the result."""
    runs, out = [], None
    for _ in range(repeat):
        c0, t0 = time.process_time(), time.perf_counter()
        out = fn()
        runs.append((time.perf_counter() - t0, time.process_time() - c0))
    wall, cpu = min(runs)
    return wall, cpu, out


def report(label: str, wall: float, cpu: float, mpts: float) -> None:
    print(
        f"{label:<34} wall {wall:7.2f} s ({mpts / wall:6.2f} M/s)   "
        f"cpu {cpu:7.2f} s ({mpts / cpu:6.2f} M/s per core)"
    )


def radar_grid(lines: int, samples: int) -> tuple[np.ndarray, np.ndarray]:
    text = ANNOTATION.read_text()

    def field(tag: str) -> str:
        return text.split(f"<{tag}>", 1)[1].split("<", 1)[0]

    t0 = np.datetime64(field("productFirstLineUtcTime"), "ns")
    dt = float(field("azimuthTimeInterval"))
    r0 = float(field("slantRangeTime")) * g.SPEED_OF_LIGHT / 2
    dr = g.SPEED_OF_LIGHT / 2 / float(field("rangeSamplingRate"))
    az = t0 + (np.arange(lines) * dt * 1e9).astype("timedelta64[ns]")
    rg = r0 + np.arange(samples) * dr
    return az[:, None], rg[None, :]


def numpy_look_baseline(orbit: g.Orbit, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """What one writes first: Hermite orbit spline + vectorised Newton, then look vectors."""
    ts = orbit.seconds(orbit.times)
    spline = CubicHermiteSpline(ts, orbit.positions, orbit.velocities)
    vel = spline.derivative()
    acc = vel.derivative()
    x, y, z = g.llh_to_ecef(lat, lon, 0.0)
    target = np.stack([x, y, z], axis=-1)
    t = np.full(lat.shape, ts.mean())
    for _ in range(8):
        p, v, a = spline(t), vel(t), acc(t)
        d = target - p
        f = (d * v).sum(-1)
        fp = (d * a).sum(-1) - (v * v).sum(-1)
        t = t - f / fp
    d = target - spline(t)
    r = np.linalg.norm(d, axis=-1)
    return d / r[..., None]


def numpy_geocode_baseline(
    lat: np.ndarray, lon: np.ndarray, coh: np.ndarray, phase: np.ndarray, crs: pyproj.CRS
) -> tuple[np.ndarray, np.ndarray]:
    tr = pyproj.Transformer.from_crs("EPSG:4326", crs, always_xy=True)
    x, y = tr.transform(lon.ravel(), lat.ravel())
    res = 20.0
    x0 = np.floor(x.min() / res) * res
    y0 = np.ceil(y.max() / res) * res
    col = ((x - x0) // res).astype(np.int64)
    row = ((y0 - y) // res).astype(np.int64)
    nx = col.max() + 1
    idx = row * nx + col
    n = int(idx.max()) + 1
    count = np.bincount(idx, minlength=n)
    mean = np.bincount(idx, coh.ravel(), minlength=n) / np.maximum(count, 1)
    re = np.bincount(idx, np.cos(phase.ravel()), minlength=n)
    im = np.bincount(idx, np.sin(phase.ravel()), minlength=n)
    return mean, np.arctan2(im, re)


def asf_stack_orbits() -> tuple[list[g.Orbit], int, Any]:
    """The ASF stack's two-vector orbits (read as pairscope reads item metadata), the index of the
    stack reference, and its footprint."""
    import pystac
    import yaml

    from pairscope.io.items import item_state_vectors

    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    records = yaml.load(ASF_STACK.read_text(), Loader=loader)
    orbits = []
    for r in records:
        sv = item_state_vectors({"AdditionalAttributes": r["umm"]["AdditionalAttributes"]})
        assert sv is not None
        orbits.append(g.Orbit(sv.times, sv.positions, sv.velocities))
    ref = next(k for k, r in enumerate(records) if r["properties"]["temporalBaseline"] == 0)
    assert isinstance(records[ref]["geometry"], dict) and pystac is not None
    return orbits, ref, records[ref]["geometry"]


def numpy_stack_baselines(orbits: list[g.Orbit], ref: int, point: tuple[float, ...]) -> np.ndarray:
    """What one writes first: a scipy Hermite spline per date, Newton for zero Doppler, the
    projection on the up-beam vector."""
    target = np.array(g.llh_to_ecef(*point))
    states = []
    for orbit in orbits:
        ts = orbit.seconds(orbit.times)
        spline = CubicHermiteSpline(ts, orbit.positions, orbit.velocities, extrapolate=True)
        vel, acc = spline.derivative(), spline.derivative(2)
        t = float(ts.mean())
        for _ in range(10):
            d = target - spline(t)
            t -= float(d @ vel(t)) / float(d @ acc(t) - vel(t) @ vel(t))
        states.append((spline(t), vel(t)))
    p_ref, v_ref = states[ref]
    los = (target - p_ref) / np.linalg.norm(target - p_ref)
    up = np.cross(los, v_ref)
    up /= np.linalg.norm(up)
    return np.array([float((p - p_ref) @ up) for p, _ in states])


def bench_stack_baselines(repeat: int) -> None:
    orbits, ref, footprint = asf_stack_orbits()
    point = g.baseline_point(footprint)

    def ours() -> np.ndarray:
        ds = g.stack_baselines(orbits, *point, reference=ref, convention="vertex")
        return np.asarray(ds.perpendicular_baseline.values)

    ours()
    wall, cpu, b = best(ours, repeat)
    wall_np, cpu_np, b_np = best(lambda: numpy_stack_baselines(orbits, ref, point), repeat)
    n = len(orbits)
    pairwise, _, _ = best(
        lambda: [g.perpendicular_baseline(orbits[ref], o, *point) for o in orbits], 1
    )
    print(
        f"{'stack baselines (' + str(n) + ' dates)':<34} wall {wall:7.3f} s "
        f"({wall / n * 1e3:5.2f} ms/date)   cpu {cpu:7.3f} s"
    )
    print(
        f"  scipy Hermite + numpy Newton      wall {wall_np:7.3f} s "
        f"({wall_np / n * 1e3:5.2f} ms/date)   pairscope/numpy: {wall_np / wall:.1f}x wall; "
        f"agree to {np.abs(b - b_np).max():.1e} m"
    )
    print(f"  one perpendicular_baseline call per date: {pairwise / n * 1e3:5.2f} ms/date")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--lines", type=int, default=1500)
    parser.add_argument("--samples", type=int, default=21000)
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument(
        "--only-baselines", action="store_true", help="only the stack-baselines benchmark"
    )
    args = parser.parse_args()
    bench_stack_baselines(args.repeat)
    if args.only_baselines:
        return
    n = args.lines * args.samples
    mpts = n / 1e6
    orbit = g.Orbit.from_annotation(ANNOTATION)
    az, rg = radar_grid(args.lines, args.samples)
    print(f"burst grid {args.lines} x {args.samples} = {mpts:.1f} M samples ({ANNOTATION.name})")

    t0 = time.perf_counter()
    g.geolocate(orbit, az[:2], rg[:, :2])
    g.look_geometry(orbit, np.array([[41.5]]), np.array([[12.0]]), 0.0)
    print(f"numba warm-up (compile or cache load): {time.perf_counter() - t0:.2f} s")

    wall, cpu, (lat, lon, _) = best(lambda: g.geolocate(orbit, az, rg), args.repeat)
    report("geolocate", wall, cpu, mpts)

    wall, cpu, geo = best(lambda: g.look_geometry(orbit, lat, lon, 0.0), args.repeat)
    report("look_geometry", wall, cpu, mpts)
    sub = slice(0, max(1, 200_000 // args.samples))
    nsub = lat[sub].size
    wall_np, cpu_np, look_np = best(lambda: numpy_look_baseline(orbit, lat[sub], lon[sub]), 1)
    look = np.stack([geo[k].values[sub] for k in ("look_x", "look_y", "look_z")], axis=-1)
    agree = np.abs(look - look_np).max()
    report(f"  numpy baseline (x {n / nsub:.0f})", wall_np * n / nsub, cpu_np * n / nsub, mpts)
    print(
        f"  pairscope/numpy: {wall_np * n / nsub / wall:.1f}x wall, "
        f"{cpu_np * n / nsub / cpu:.1f}x cpu; look vectors agree to {agree:.1e}"
    )
    del geo

    rng = np.random.default_rng(0)
    dims = ("pair", "azimuth", "range")
    coh = rng.uniform(0, 1, (1, args.lines, args.samples)).astype(np.float32)
    phase = rng.uniform(-np.pi, np.pi, (1, args.lines, args.samples)).astype(np.float32)
    ds = xr.Dataset({"coherence": (dims, coh), "phase": (dims, phase)}, coords={"pair": [0]})
    ds["phase"].attrs["units"] = "rad"
    lat_da = xr.DataArray(lat, dims=("azimuth", "range"))
    lon_da = xr.DataArray(lon, dims=("azimuth", "range"))
    geocode(ds.isel(azimuth=slice(0, 10)), lat_da[:10], lon_da[:10])
    wall, cpu, out = best(lambda: geocode(ds, lat_da, lon_da), args.repeat)
    report("geocode (1 pair, coherence+phase)", wall, cpu, mpts)
    print(f"  -> {out.sizes['y']} x {out.sizes['x']} cells of 20 m, {out.rio.crs}")
    wall_b, cpu_b, _ = best(
        lambda: numpy_geocode_baseline(lat, lon, coh[0], phase[0], out.rio.crs), 1
    )
    report("  pyproj + np.bincount baseline", wall_b, cpu_b, mpts)
    print(f"  pairscope/baseline: {wall_b / wall:.1f}x wall, {cpu_b / cpu:.1f}x cpu")


if __name__ == "__main__":
    main()
