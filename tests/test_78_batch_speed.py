"""The parts that make ``pairscope compute`` fast, each against its slow, obvious form:
one-pass encoding and statistics against the numpy expressions, per-date sums shared between
calls against calls without them, the burst's geolocation grid written once and linked, batches
sized for the workers, and workers started without dask's malloc trim threshold."""

from __future__ import annotations

import math
import os
import pathlib
from typing import Any  # noqa: F401

import numpy as np
import pytest
import xarray as xr

from pairscope import coherence, compute
from pairscope.errors import InputError
from pairscope.io import export
from pairscope.io._encode import band_statistics

PACKINGS = [
    export.Packing("uint8", 0.004, 0.0, 255),
    export.Packing("int16", math.pi / 32767, 0.0, -32768),
    export.Packing("int16", 1.0 / 32767, 0.0, -32768),
    export.Packing("uint8", 1.0, 0.0, 255),
    export.Packing("uint16", 1.0, 0.0, 65535),
]


def _numpy_encode(p: export.Packing, values: np.ndarray, empty: np.ndarray | None) -> np.ndarray:
    info = np.iinfo(p.dtype)
    lo, hi = (info.min + 1, info.max) if p.nodata == info.min else (info.min, info.max - 1)
    physical = np.asarray(values, dtype="float64")
    with np.errstate(invalid="ignore"):
        stored = np.rint((physical - p.offset) / p.scale)
    stored = np.clip(stored, lo, hi)
    bad = ~np.isfinite(physical)
    if empty is not None:
        bad |= empty
    stored[bad] = p.nodata
    return stored.astype(p.dtype)


def _numpy_statistics(band: np.ndarray, nodata: float | None) -> dict[str, float]:
    valid = np.isfinite(band) if band.dtype.kind == "f" else np.ones(band.shape, dtype=bool)
    if nodata is not None and not (isinstance(nodata, float) and math.isnan(nodata)):
        valid &= band != nodata
    values = band[valid]
    if values.size == 0:
        return {"valid_percent": 0.0}
    mean = float(values.mean(dtype=np.float64))
    return {
        "minimum": values.min().item(), "maximum": values.max().item(), "mean": mean,
        "stddev": float(np.sqrt(np.mean(np.square(values - mean, dtype=np.float64)))),
        "valid_percent": round(100.0 * values.size / band.size, 4),
    }


@pytest.mark.parametrize("packing", PACKINGS, ids=lambda p: f"{p.dtype}-{p.scale:.3g}")
@pytest.mark.parametrize("dtype", ["float32", "float64", "int32"])
def test_encoding_is_the_numpy_expression_bit_for_bit(packing: export.Packing, dtype: str) -> None:
    rng = np.random.default_rng(7)
    values = rng.normal(scale=3.0, size=(120, 333)) * (1.0 if dtype != "int32" else 40.0)
    values = values.astype(dtype)
    if dtype != "int32":
        values[rng.random(values.shape) < 0.05] = np.nan
        values[0, :2] = [np.inf, -np.inf]
        ties = values.reshape(-1)[::53]  # exact half steps: round half to even, as np.rint
        ties[:] = (np.arange(ties.size) - ties.size // 2) * packing.scale * 0.5
    empty = rng.random(values.shape) < 0.03
    for mask in (None, empty):
        got = packing.encode(values, mask)
        assert got.dtype == np.dtype(packing.dtype)
        np.testing.assert_array_equal(got, _numpy_encode(packing, values, mask))


@pytest.mark.parametrize("dtype,nodata", [("uint8", 255), ("int16", -32768), ("uint16", 65535),
                                          ("float32", float("nan")), ("float64", None)])
def test_statistics_match_numpy(dtype: str, nodata: float | None) -> None:
    rng = np.random.default_rng(3)
    if np.dtype(dtype).kind == "f":
        band = rng.normal(loc=5.0, scale=2.0, size=(200, 301)).astype(dtype)
        band[rng.random(band.shape) < 0.1] = np.nan
    else:
        info = np.iinfo(dtype)
        band = rng.integers(max(info.min, -3000), min(info.max, 3000), size=(200, 301)).astype(dtype)
        band[rng.random(band.shape) < 0.1] = nodata
    got = band_statistics(band, nodata)
    want = _numpy_statistics(band, nodata)
    assert got["minimum"] == want["minimum"] and got["maximum"] == want["maximum"]
    assert type(got["minimum"]) is type(want["minimum"])
    assert got["valid_percent"] == want["valid_percent"]
    assert got["mean"] == pytest.approx(want["mean"], rel=1e-12)
    assert got["stddev"] == pytest.approx(want["stddev"], rel=1e-10)
    empty = np.full((3, 4), nodata if nodata is not None else np.nan, dtype=dtype)
    if nodata is not None or np.dtype(dtype).kind == "f":
        assert band_statistics(empty, nodata) == {"valid_percent": 0.0}


def _stack(dates: int = 5, shape: tuple[int, int] = (40, 90), seed: int = 1) -> xr.DataArray:
    rng = np.random.default_rng(seed)
    base = rng.normal(size=shape) + 1j * rng.normal(size=shape)
    data = np.stack([base + 0.6 * (rng.normal(size=shape) + 1j * rng.normal(size=shape))
                     for _ in range(dates)]).astype(np.complex64)
    data[:, :3, :] = 0  # no-data rows shared by every date
    data[2, 10:14, 20:30] = np.nan  # one date's own gap: its pairs get their own power sums
    days = np.datetime64("2025-01-01", "ns") + np.arange(dates) * np.timedelta64(6, "D")
    return xr.DataArray(data, dims=("date", "azimuth", "range"), coords={"date": days})


def test_date_sums_shared_between_calls_give_identical_results() -> None:
    stack = _stack()
    dates = stack["date"].values
    pairs = [(dates[i], dates[j]) for i in range(len(dates)) for j in range(i + 1, len(dates))]
    whole = coherence.estimate_pairs(stack, pairs, (3, 7))
    sums = coherence.DateSums(stack, (3, 7))
    parts = [coherence.estimate_pairs(stack, pairs[k : k + 2], (3, 7), sums=sums)
             for k in range(0, len(pairs), 2)]
    joined = xr.concat(parts, dim="pair")
    for name in ("coherence", "phase", "valid_count"):
        np.testing.assert_array_equal(joined[name].values, whole[name].values)
    assert sorted(sums.powers) == [0, 1, 3, 4]  # date 2's mask differs: never shared
    with pytest.raises(InputError, match="another stack or window"):
        coherence.estimate_pairs(stack, pairs[:1], (5, 7), sums=sums)
    with pytest.raises(InputError, match="loaded"):
        coherence.DateSums(stack.chunk({"azimuth": 20}), (3, 7))


def test_plan_batches_sized_for_the_workers(tmp_path: pathlib.Path) -> None:
    def job(burst: str, ref: str, sec: str) -> compute.PairJob:
        return compute.PairJob("cat.json", burst, ref, sec, (5, 21), "VV", str(tmp_path))

    days = [f"2025-01-{d:02d}" for d in (1, 7, 13, 19, 25, 31)]
    one = [job("B1", a, b) for i, a in enumerate(days) for b in days[i + 1:]]  # 15 pairs
    assert [len(b.jobs) for b in compute.plan_batches(one)] == [15]  # one worker: one read each
    two = compute.plan_batches(one, workers=2)
    assert [len(b.jobs) for b in two] == [8, 7]
    assert sum(len(b.dates) for b in two) < 2 * len(days)  # each date read at most twice
    assert compute.plan_batches(one, workers=2) == two  # deterministic
    bursts = one + [job("B2", a, b) for i, a in enumerate(days) for b in days[i + 1:]]
    assert [len(b.jobs) for b in compute.plan_batches(bursts, workers=2)] == [15, 15]
    assert [len(b.jobs) for b in compute.plan_batches(one, batch_pairs=4)] == [4, 4, 4, 3]
    small = compute.plan_batches(one, date_bytes=100, memory_budget=300)  # 3 dates per batch
    assert all(len(b.dates) <= 3 for b in small)
    assert sorted(j.item_id for b in small for j in b.jobs) == sorted(j.item_id for j in one)
    with pytest.raises(InputError):
        compute.plan_batches(one, workers=0)


def test_local_cluster_workers_keep_glibc_default_allocator() -> None:
    from distributed import Client

    with compute.local_cluster(1) as cluster, Client(cluster) as client:
        seen = list(client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_")).values())
        threads = list(client.nthreads().values())
        settings = list(client.run(_cluster_settings).values())
        scheduler_tick = cluster.scheduler._tick_interval
    assert seen == [None]
    assert threads == [1]
    # no statistical profiler nor GIL monitor on the workers, slower ticks (idle CPU)
    assert settings == [{"profile": False, "gil": False, "tick": 0.5}]
    assert scheduler_tick == 0.5


def _cluster_settings(dask_worker: Any) -> dict[str, Any]:
    import dask

    return {"profile": bool(dask.config.get("distributed.worker.profile.enabled")),
            "gil": bool(dask.config.get("distributed.admin.system-monitor.gil.enabled")),
            "tick": dask_worker._tick_interval}


def _radar_result(seed: int = 0) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    rows, cols = 30, 50
    lat = 46.7 + np.linspace(0, 0.05, rows)[:, None] + np.zeros((1, cols))
    lon = 11.2 + np.linspace(0, 0.1, cols)[None, :] + np.zeros((rows, 1))
    coh = rng.random((2, rows, cols)).astype("float32")
    day = np.datetime64("2025-06-05", "ns")
    return xr.Dataset(
        {"coherence": (("pair", "azimuth", "range"), coh),
         "phase": (("pair", "azimuth", "range"), rng.uniform(-3, 3, (2, rows, cols)).astype("float32")),
         "valid_count": (("pair", "azimuth", "range"), np.full((2, rows, cols), 105, "int32"))},
        coords={"reference": ("pair", [day, day]),
                "secondary": ("pair", [day + np.timedelta64(6, "D"), day + np.timedelta64(12, "D")]),
                "latitude": (("azimuth", "range"), lat), "longitude": (("azimuth", "range"), lon),
                "height": (("azimuth", "range"), np.full((rows, cols), 800.0))},
        attrs={"window": "5x21", "burst_id": "T117_249435_IW2", "polarization": "VV"},
    )


@pytest.mark.parametrize("georeference", ["gcps", "geolocation"])
def test_geolocation_written_once_and_linked(tmp_path: pathlib.Path, georeference: str) -> None:
    import warnings

    import rasterio
    from rasterio.errors import NotGeoreferencedWarning

    warnings.simplefilter("ignore", NotGeoreferencedWarning)  # geolocation arrays: no transform
    result = _radar_result()
    cache = export.GeolocationCache()
    items = [export.export_pair(result, i, tmp_path / "cached", georeference=georeference,  # type: ignore[arg-type]
                                geolocation_cache=cache) for i in range(2)]
    plain = [export.export_pair(result, i, tmp_path / "plain", georeference=georeference)  # type: ignore[arg-type]
             for i in range(2)]
    assert cache.reused == 1
    files = [pathlib.Path(it.assets["geolocation"].get_absolute_href() or "") for it in items]
    assert files[0].stat().st_ino == files[1].stat().st_ino  # a hard link: the same bytes
    for it, ref in zip(items, plain, strict=True):
        assert it.assets["geolocation"].extra_fields == ref.assets["geolocation"].extra_fields
        for key in it.assets:
            with rasterio.open(it.assets[key].get_absolute_href()) as a, \
                    rasterio.open(ref.assets[key].get_absolute_href()) as b:
                np.testing.assert_array_equal(a.read(), b.read())
                assert [(g.row, g.col, g.x, g.y, g.z) for g in a.gcps[0]] == \
                    [(g.row, g.col, g.x, g.y, g.z) for g in b.gcps[0]]
        assert export.is_complete(pathlib.Path(it.get_self_href() or ""))
    if georeference == "geolocation":
        assert pathlib.Path(str(files[1]) + ".aux.xml").is_file()
    other = _radar_result()
    other = other.assign_coords(latitude=other["latitude"] + 0.01)  # another grid: not reused
    export.export_pair(other, 0, tmp_path / "cached2", georeference=georeference,  # type: ignore[arg-type]
                       geolocation_cache=cache)
    assert cache.reused == 1


def test_export_pairs_shares_the_grid_between_its_pairs(tmp_path: pathlib.Path) -> None:
    items = export.export_pairs(_radar_result(1), tmp_path)
    inodes = {pathlib.Path(it.assets["geolocation"].get_absolute_href() or "").stat().st_ino
              for it in items}
    assert len(items) == 2 and len(inodes) == 1


@pytest.mark.parametrize("packing", PACKINGS, ids=lambda p: f"{p.dtype}-{p.scale:.3g}")
def test_encoding_with_statistics_is_encode_then_statistics(packing: export.Packing) -> None:
    """One pass (a count of each stored value) gives the stored values bit for bit and the
    statistics of the separate pass over them (exact min / max / mean, stddev within 1e-12)."""
    rng = np.random.default_rng(11)
    values = rng.normal(scale=3.0, size=(150, 271)).astype("float32")
    values[rng.random(values.shape) < 0.05] = np.nan
    empty = rng.random(values.shape) < 0.03
    for mask in (None, empty):
        stored, stats = packing.encode_with_statistics(values, mask)
        np.testing.assert_array_equal(stored, packing.encode(values, mask))
        assert stored.dtype == np.dtype(packing.dtype)
        want = _numpy_statistics(stored, packing.nodata)
        assert {k: stats[k] for k in ("minimum", "maximum", "valid_percent")} == {
            k: want[k] for k in ("minimum", "maximum", "valid_percent")}
        assert type(stats["minimum"]) is int and stats["mean"] == want["mean"]  # exact integer sum
        assert stats["stddev"] == pytest.approx(want["stddev"], rel=1e-12)
    nothing, stats = packing.encode_with_statistics(np.full((4, 5), np.nan, "float32"))
    assert stats == {"valid_percent": 0.0} and (nothing == packing.nodata).all()


def test_count_layer_is_encoded_from_the_cells_with_a_value() -> None:
    counts = xr.DataArray(np.array([[105, 3, -1], [0, 255, 7]], dtype="int32"),
                          dims=("azimuth", "range"), attrs={"_FillValue": 255})
    stored, nodata, packing, stats = export._stored_layer("valid_count", counts, "compact", 105)
    assert packing is not None and packing.dtype == "uint8" and nodata == 255
    np.testing.assert_array_equal(stored, [[105, 3, 255], [0, 255, 7]])
    assert stats == {"minimum": 0, "maximum": 105, "mean": 28.75,
                     "stddev": pytest.approx(float(np.std([105, 3, 0, 7]))), "valid_percent": 66.6667}


def test_orbits_are_read_once_per_process(demo_catalog: pathlib.Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from pairscope.io import orbits
    from pairscope.io.catalog import list_acquisitions

    calls: list[str] = []
    real = orbits.open_orbit

    def counting(acquisition: Any, **kwargs: Any) -> Any:
        calls.append(acquisition.item.id)
        return real(acquisition, **kwargs)

    monkeypatch.setattr(orbits, "open_orbit", counting)
    monkeypatch.setattr(compute, "_ORBITS", {})
    cat = compute._open_cached(str(demo_catalog))
    burst = "T117_249435_IW2"
    acqs = sorted(list_acquisitions(cat, burst, polarization="VV"), key=lambda a: a.date)
    first = compute._burst_baselines(cat, acqs, acqs[1:4], "vertex")
    again = compute._burst_baselines(cat, acqs, acqs[2:5], "vertex")
    assert first is not None and again is not None
    assert sorted(calls) == sorted({a.item.id for a in acqs[:5]})  # each orbit read once
    for day in set(first) & set(again):
        assert first[day] == again[day]


def test_geolocation_cache_compares_an_equal_grid_by_value_once(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch whose grid equals the seeded one (another date's read of the same stack) is
    compared element by element once; its later items hit the identity check."""
    rng = np.random.default_rng(5)
    lat, lon, height = (rng.random((30, 40)) for _ in range(3))
    shared = tmp_path / "shared.tif"
    bands = export.write_geolocation(lat, lon, shared, georeference="gcps",
                                     gcps=export.gcp_grid(lat, lon, height))
    cache = export.GeolocationCache()
    cache.seed(lat.copy(), lon.copy(), height.copy(), "gcps", shared, bands,
               export.gcp_grid(lat, lon, height))
    compared: list[int] = []
    real = np.array_equal

    def counting(a: Any, b: Any, equal_nan: bool = False) -> bool:
        compared.append(1)
        return bool(real(a, b, equal_nan=equal_nan))

    monkeypatch.setattr(np, "array_equal", counting)
    for k in range(5):
        assert list(map(repr, cache.gcps(lat, lon, height))) == list(map(repr, export.gcp_grid(lat, lon, height)))
        got = cache.reuse(lat, lon, height, "gcps", tmp_path / f"item{k}.tif", None)
        assert got == bands and (tmp_path / f"item{k}.tif").stat().st_ino == shared.stat().st_ino
        cache.footprint(lat, lon)
    assert len(compared) <= 5  # three grids once, the footprint's two once; not per item
