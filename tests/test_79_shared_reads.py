"""Reading each date of a burst once when its pairs are split between workers: the plan of shared
reads, their memory budget, the batch built from them against the batch that reads itself, and
windowed reads that keep a file open so a date's samples and grid are decompressed once."""

from __future__ import annotations

import hashlib
import pathlib
import warnings
from typing import Any

import dask
import numpy as np
import pytest
from rasterio.errors import NotGeoreferencedWarning

from pairscope import compute
from pairscope.io import rasters

BURST = "T117_249435_IW2"


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore", NotGeoreferencedWarning)


def _job(burst: str, ref: str, sec: str, out: str = "/tmp/out") -> compute.PairJob:
    return compute.PairJob("cat.json", burst, ref, sec, (5, 21), "VV", out)


def test_plan_reads_each_date_of_a_split_burst_once() -> None:
    days = [f"2025-01-{d:02d}" for d in (1, 7, 13, 19, 25, 31)]
    one = [_job("B1", a, b) for i, a in enumerate(days) for b in days[i + 1:]]  # 15 pairs
    other = [_job("B2", a, b) for a, b in zip(days, days[1:], strict=False)]
    batches = compute.plan_batches(one, workers=2) + compute.plan_batches(other, workers=1)
    assert [len(b.jobs) for b in batches] == [8, 7, 5]
    plans = compute.plan_shared_reads(batches, run="r1")
    assert plans[2] == {}  # a burst computed in one batch reads its own dates
    assert [sorted(p) for p in plans[:2]] == [batches[0].dates, [*batches[1].dates, "height"]]
    for day in set(plans[0]) & set(plans[1]):
        assert plans[0][day] is plans[1][day]  # one read of the date serves both batches
    reads = {r for p in plans for r in p.values()}
    assert sorted(r.day for r in reads) == days  # each date once, no more
    assert {r.day for r in reads if r.grid} == {b.dates[0] for b in batches[:2]}
    # the height grid (the burst's geometry file, whatever the first date) is read once: by the
    # burst's earliest first date, which the other batch also gets under "height"
    first = batches[0].dates[0]
    assert plans[1]["height"] is plans[0][first] and not plans[0][first].height_from
    assert {r.height_from for r in reads if r.grid and r.day != first} == {first}
    assert {r.height_from for r in reads if not r.grid} == {""}
    assert {(r.burst_dates, r.run, r.burst_id) for r in reads} == {(6, "r1", "B1")}
    assert compute.plan_shared_reads(batches, run="r1") == plans  # deterministic


def test_shared_bytes_budget() -> None:
    assert compute.shared_bytes(10, 20, 3) == 3 * 10 * 20 * 32
    # the default budget holds the demo's default burst (8 dates of 1500 x 640) but not the
    # dates of a full-size burst (1500 x 21000): those batches read their own dates
    assert compute.shared_bytes(1500, 640, 8) <= compute.DEFAULT_MEMORY_BUDGET
    assert compute.shared_bytes(1500, 21000, 2) > compute.DEFAULT_MEMORY_BUDGET


def _digests(root: pathlib.Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob("*.tif"))}


def test_batches_from_shared_reads_write_the_same_bytes(
    demo_catalog: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    def jobs(out: str) -> list[compute.PairJob]:
        return compute.plan_jobs(str(demo_catalog), [BURST], "all", (3, 9), "VV",
                                 tmp_path / out, geometry="radar")

    for batch in compute.plan_batches(jobs("own")):  # one batch reading its own dates
        compute.compute_batch(batch)
    split = compute.plan_batches(jobs("shared"), workers=2)
    assert len(split) == 2
    plans = compute.plan_shared_reads(split, run="t")
    results = {read: compute.read_shared(read) for read in {r for p in plans for r in p.values()}}
    for batch, plan in zip(split, plans, strict=True):
        shared = {day: results[read] for day, read in plan.items()}
        first = shared[batch.grid_day]
        assert first["grid"] is not None and {"latitude", "longitude"} <= set(first["grid"])
        assert all(r["samples"].dtype == np.complex64 for r in shared.values())
        compute.compute_batch(batch, None, shared)
    own, got = _digests(tmp_path / "own"), _digests(tmp_path / "shared")
    assert len(own) >= 4 * len(jobs("x")) - 1 and got == own  # bit-identical files
    # the burst's geolocation file was written once, by the shared read of the grid date, and
    # every item of both batches links it
    [made] = (tmp_path / "shared" / BURST).glob(".pairscope-geolocation-t-*.tmp")
    linked = sorted((tmp_path / "shared" / BURST).glob("*/*_geolocation.tif"))
    assert len(linked) == len(jobs("x"))
    assert {p.stat().st_ino for p in linked} == {made.stat().st_ino}

    # the shared samples are the stack's own values
    stack = rasters.open_slc_stack(str(demo_catalog), BURST, split[1].dates, "VV")
    with dask.config.set(scheduler="synchronous"):
        loaded = stack.compute()
    for k, day in enumerate(split[1].dates):
        np.testing.assert_array_equal(results[plans[1][day]]["samples"], loaded.values[k])
    # one grid for both batches: the burst's earliest date's (not the second batch's first
    # date's), with its height, read once
    earliest = split[0].dates[0]
    assert split[0].grid_day == split[1].grid_day == earliest != split[1].dates[0]
    assert [r.day for r in results if r.grid] == [earliest] and "height" not in plans[1]
    with dask.config.set(scheduler="synchronous"):
        grid = rasters.open_slc_stack(str(demo_catalog), BURST, [earliest], "VV").compute()
    held = results[plans[1][earliest]]
    assert set(held["grid"]) == {"latitude", "longitude", "height"}
    for name, values in held["grid"].items():
        np.testing.assert_array_equal(values, grid[name].values)
    assert held["height_source"] == rasters.lazy_source(stack["height"].data) is not None


def test_shared_height_is_used_only_from_the_same_source(
    demo_catalog: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack = rasters.open_slc_stack(str(demo_catalog), BURST, None, "VV")
    days = [str(np.datetime64(d, "D")) for d in stack["date"].values]
    with dask.config.set(scheduler="synchronous"):
        loaded = stack.compute()
    grid = {"latitude": loaded["latitude"].values, "longitude": loaded["longitude"].values}
    shared: dict[str, Any] = {d: {"samples": loaded.values[k], "grid": None} for k, d in enumerate(days)}
    shared[days[0]] = {**shared[days[0]], "grid": grid}
    source = rasters.lazy_source(stack["height"].data)
    held = {"grid": {"height": loaded["height"].values + 0.0}, "height_source": source}
    used = compute._with_shared(stack, days, {**shared, "height": held})
    assert isinstance(used.data, np.ndarray)  # taken from the shared reads, nothing to read
    np.testing.assert_array_equal(used["height"].values, loaded["height"].values)
    for other in ({**held, "height_source": "another file"}, None):
        kept = compute._with_shared(stack, days, {**shared, "height": other})
        assert kept is stack  # another source, or none: the batch reads its own grid


def test_over_budget_shared_reads_fall_back_to_own_reads(
    demo_catalog: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    jobs = compute.plan_jobs(str(demo_catalog), [BURST], "seq:2", (3, 9), "VV", tmp_path / "a",
                             geometry="radar")
    split = compute.plan_batches(jobs, workers=2, memory_budget=1000)
    plans = compute.plan_shared_reads(split, run="t")
    assert all(r.memory_budget == 1000 for p in plans for r in p.values())
    results = {read: compute.read_shared(read) for p in plans for read in p.values()}
    assert set(results.values()) == {None}  # nothing held beyond the budget
    ref = compute.plan_jobs(str(demo_catalog), [BURST], "seq:2", (3, 9), "VV", tmp_path / "b",
                            geometry="radar")
    for batch, plan in zip(split, plans, strict=True):
        compute.compute_batch(batch, None, {day: results[read] for day, read in plan.items()})
    for batch in compute.plan_batches(ref):
        compute.compute_batch(batch)
    assert _digests(tmp_path / "a") == _digests(tmp_path / "b")


def test_reusing_open_files_reads_the_same_values_with_fewer_opens(
    demo_catalog: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[Any] = []
    real = rasters._open_dataset

    def counting(href: str) -> Any:
        handle = real(href)
        opened.append(handle)
        return handle

    monkeypatch.setattr(rasters, "_open_dataset", counting)
    stack = rasters.open_slc_stack(str(demo_catalog), BURST, None, "VV", chunks={"azimuth": 64})
    with dask.config.set(scheduler="synchronous"):
        opened.clear()
        plain = stack.compute()
        per_block = len(opened)
        opened.clear()
        with rasters.reusing_open_files():
            with rasters.reusing_open_files():  # nested: the outer block owns the handles
                reused = stack.compute()
            assert opened and not any(h.closed for h in opened)
        assert all(h.closed for h in opened)  # closed when the block ends
    files = {h.name for h in opened}
    assert len(opened) == len(files) < per_block  # one open per file instead of one per block
    np.testing.assert_array_equal(reused.values, plain.values)
    for name in ("latitude", "longitude"):
        np.testing.assert_array_equal(reused[name].values, plain[name].values)


def test_batches_of_one_run_link_the_geolocation_an_earlier_batch_wrote(
    demo_catalog: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """Above the block budget (a full-size burst) every pair is a batch of its own, and each
    wrote the burst's float64 geolocation file again (~3.9 s of a full-size pair's ~11 s). A
    batch of the same run whose grid is read from the same rasters (the same grid date, which
    `plan_jobs` makes one per burst) now links the file an earlier one wrote; the files are
    the bytes a batch writing its own makes. Another run writes its own."""
    import dataclasses

    def jobs(out: str) -> list[compute.PairJob]:
        return compute.plan_jobs(str(demo_catalog), [BURST], "all", (3, 9), "VV",
                                 tmp_path / out, geometry="radar")[:4]  # fmt: skip

    def batches(out: str) -> list[compute.Batch]:  # one pair each, in row blocks
        made = compute.plan_batches(jobs(out), date_bytes=10**9, max_block_bytes=10**5)
        assert [len(b.jobs) for b in made] == [1, 1, 1, 1]
        return made

    for batch in batches("own"):  # outside a run: each writes its own file
        compute.compute_batch(batch)
    for batch in batches("run"):
        compute.compute_batch(dataclasses.replace(batch, run="r1"))
    assert _digests(tmp_path / "run") == _digests(tmp_path / "own")  # bit-identical files

    def inodes(out: str) -> dict[str, int]:
        return {p.parent.name: p.stat().st_ino
                for p in (tmp_path / out / BURST).glob("*/*_geolocation.tif")}  # fmt: skip

    refs = {j.item_id: j.reference for j in jobs("x")}
    assert len(set(refs.values())) == 1  # the first four pairs share their reference date
    assert len(set(inodes("own").values())) == 4
    assert len(set(inodes("run").values())) == 1  # written once, linked three times
    # a pair of another first date of the same plan is placed with the same grid (the burst's
    # earliest date's, `PairJob.grid_date`): linked too
    other = compute.plan_jobs(str(demo_catalog), [BURST], "all", (3, 9), "VV", tmp_path / "run",
                              geometry="radar")[-1]  # fmt: skip
    assert other.reference != next(iter(refs.values())) == other.grid_date
    [batch] = compute.plan_batches([other], date_bytes=10**9, max_block_bytes=10**5)
    compute.compute_batch(dataclasses.replace(batch, run="r1"))
    assert len(set(inodes("run").values())) == 1
    # a pair on its own grid (its reference date's) reads it from another file: not linked
    alone = dataclasses.replace(compute.plan_jobs(
        str(demo_catalog), [BURST], "all", (3, 9), "VV", tmp_path / "run", geometry="radar")[-2],
        grid_date="")  # fmt: skip
    [batch] = compute.plan_batches([alone], date_bytes=10**9, max_block_bytes=10**5)
    compute.compute_batch(dataclasses.replace(batch, run="r1"))
    assert len(set(inodes("run").values())) == 2
    # another run (its files may have changed meanwhile) writes its own
    for batch in batches("run2"):
        compute.compute_batch(dataclasses.replace(batch, run="r2"))
    assert not set(inodes("run2").values()) & set(inodes("run").values())
    assert len(set(inodes("run2").values())) == 1


def test_outputs_do_not_depend_on_the_batching_when_the_dates_grids_differ(
    demo_catalog: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """A catalog's per-date latitude / longitude grids of a coregistered stack agree, but need
    not to the last bit. Every pair of a run is placed with one grid (the burst's earliest
    date's, `PairJob.grid_date`), so one batch, two batches (two workers) and two batches from
    shared reads write the same bytes; before, a batch took its own first date's grid."""
    import dataclasses
    import shutil

    import rasterio

    from pairscope.io.catalog import list_acquisitions

    root = tmp_path / "demo"
    shutil.copytree(demo_catalog.parent, root)
    catalog = root / demo_catalog.name
    acqs = sorted(list_acquisitions(str(catalog), BURST, polarization="VV"), key=lambda a: a.date)
    for acq in acqs[1:]:  # nudge every later date's latitude by a few micro-degrees
        geo = acq.geolocation
        assert geo is not None
        with rasterio.open(rasters.asset_location(None, geo.href), "r+") as dst:
            lat = dst.read(geo.latitude_band)
            dst.write(lat + 3e-6, geo.latitude_band)

    def jobs(out: str) -> list[compute.PairJob]:
        return compute.plan_jobs(str(catalog), [BURST], "all", (3, 9), "VV", tmp_path / out,
                                 geometry="radar")  # fmt: skip

    for batch in compute.plan_batches(jobs("one")):
        compute.compute_batch(batch)
    split = compute.plan_batches(jobs("two"), workers=2)
    assert len(split) == 2 and split[1].dates[0] != split[0].dates[0]
    for batch in split:
        compute.compute_batch(batch)
    split = compute.plan_batches(jobs("shared"), workers=2)
    plans = compute.plan_shared_reads(split, run="t")
    results = {read: compute.read_shared(read) for read in {r for p in plans for r in p.values()}}
    for batch, plan in zip(split, plans, strict=True):
        compute.compute_batch(batch, None, {day: results[read] for day, read in plan.items()})
    one = _digests(tmp_path / "one")
    assert len(one) >= 4 * len(jobs("x")) - 1
    assert _digests(tmp_path / "two") == one
    assert _digests(tmp_path / "shared") == one
    # and that grid is the earliest date's: a pair of later dates on its own grid differs
    earliest = str(np.datetime64(acqs[0].date, "D"))
    later = next(j for j in jobs("alone") if j.reference != earliest)
    compute.compute_pair(dataclasses.replace(later, grid_date=""))
    [mine] = (tmp_path / "alone" / BURST).glob("*/*_geolocation.tif")
    theirs = tmp_path / "one" / mine.relative_to(tmp_path / "alone")
    assert hashlib.sha256(mine.read_bytes()).digest() != hashlib.sha256(theirs.read_bytes()).digest()
