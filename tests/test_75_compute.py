"""Scale-out: ``pairscope compute`` on a 2-process LocalCluster over the demo catalog.

Checks that the cluster path writes exactly what the in-process estimator computes, that reruns
skip finished pairs, and that a worker killed in the middle of writing (SIGKILL, once, via a marker
file) neither loses nor corrupts outputs, and that the rerun completes.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import pathlib
import signal
import warnings
from typing import Any

import numpy as np
import pytest
import rasterio
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning

from pairscope import compute
from pairscope.io import export

BURST = "T117_249435_IW2"
WINDOW = (3, 9)


# --- argument parsing (no cluster) -------------------------------------------------------------


def test_parse_window() -> None:
    assert compute.parse_window("5x21") == (5, 21)
    assert compute.parse_window(" 3X10 ") == (3, 10)
    for bad in ("5", "5x", "ax3", "0x5", "5x21x3"):
        with pytest.raises(ValueError, match="window"):
            compute.parse_window(bad)


def test_parse_pair_rule() -> None:
    assert compute.parse_pair_rule("all") == {"network": "all"}
    assert compute.parse_pair_rule("max:24") == {"network": "all", "max_temporal_baseline": 24.0}
    assert compute.parse_pair_rule("exact:6,12") == {
        "network": "all",
        "temporal_baselines": [6.0, 12.0],
    }
    assert compute.parse_pair_rule("seq:2") == {"network": "sequential", "neighbours": 2}
    ref = compute.parse_pair_rule("ref:20240809")
    assert ref["network"] == "single-reference"
    assert ref["reference"] == np.datetime64("2024-08-09", "ns")
    explicit = compute.parse_pair_rule("20240809_20240821,20240821_20240902")["pairs"]
    assert [p.label for p in explicit] == ["20240809_20240821", "20240821_20240902"]
    for bad in ("max:", "max:soon", "sometimes", "seq:x"):
        with pytest.raises(ValueError, match="pair rule"):
            compute.parse_pair_rule(bad)


# --- the demo catalog --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def in_process(
    demo_catalog: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, Any]:
    """The reference: the whole stack loaded in this process, all pairs in one estimate_pairs.

    Also runs one pair through `compute.compute_pair` here, which compiles the numba kernels for
    exactly the workers' signatures into numba's on-disk cache before any worker starts."""
    from pairscope.coherence import estimate_pairs
    from pairscope.io.catalog import list_acquisitions, open_catalog
    from pairscope.io.rasters import open_slc_stack
    from pairscope.pairs import select_pairs

    cat = open_catalog(str(demo_catalog))
    dates = sorted({a.date for a in list_acquisitions(cat, BURST, polarization="VV")})
    pairs = select_pairs(dates, network="sequential", neighbours=1)
    stack = open_slc_stack(cat, BURST, dates, "VV").load()
    result = estimate_pairs(stack, pairs, WINDOW)
    out = tmp_path_factory.mktemp("warm")
    job = compute.plan_jobs(str(demo_catalog), [BURST], "seq:1", WINDOW, "VV", out, encoding="float32")[0]
    compute.compute_pair(job)
    return {"dates": dates, "pairs": pairs, "result": result, "warm_item": job.item_path}


def _read_band(path: pathlib.Path) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return src.read(1)


def _check_outputs(paths: list[pathlib.Path], expected: xr.Dataset, shared: pathlib.Path) -> None:
    """Every given item is complete, valid, and holds exactly the in-process numbers."""
    for path in paths:
        assert export.is_complete(path), path
        item = json.loads(path.read_text())
        ref, sec = (
            item["properties"]["pairscope:reference_date"],
            item["properties"]["pairscope:secondary_date"],
        )
        index = [
            i
            for i in range(expected.sizes["pair"])
            if str(expected["reference"].values[i])[:10] == ref
            and str(expected["secondary"].values[i])[:10] == sec
        ]
        assert len(index) == 1, (ref, sec)
        for key in ("coherence", "phase", "valid_count"):
            values = _read_band(path.parent / item["assets"][key]["href"])
            np.testing.assert_array_equal(
                values, expected[key].values[index[0]], err_msg=f"{path.name} {key}"
            )
        assert item["properties"]["pairscope:window"] == list(WINDOW)
        assert item["properties"]["sat:relative_orbit"] == 117
        derived = [link["href"] for link in item["links"] if link["rel"] == "derived_from"]
        assert len(derived) == 2 and all((path.parent / h).resolve().is_file() for h in derived)
        assert item["properties"]["pairscope:perpendicular_baseline"] != 0.0  # from the EOF orbits
        export.validate_item(item, shared / "stac" / "schemas")


def _check_geometry(path: pathlib.Path, catalog: pathlib.Path, shared: pathlib.Path) -> None:
    """The burst geometry item holds the catalog's look vectors unchanged."""
    assert export.is_complete(path)
    item = json.loads(path.read_text())
    assert {"look_x", "look_y", "look_z", "incidence", "geolocation"} <= set(item["assets"])
    export.validate_item(item, shared / "stac" / "schemas")
    source = catalog.parent / "pairscope-demo-slc" / "geometry.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(source) as src:
            expected = src.read(list(src.descriptions).index("look_z") + 1)
    np.testing.assert_array_equal(_read_band(path.parent / item["assets"]["look_z"]["href"]), expected)


def _args(catalog: pathlib.Path, out: pathlib.Path, **extra: Any) -> argparse.Namespace:
    values = {
        "catalog": str(catalog),
        "burst": [BURST, "117_249435_IW2"],
        "pairs": "seq:1",
        "window": f"{WINDOW[0]}x{WINDOW[1]}",
        "polarization": "VV",
        "out": str(out),
        "scheduler": None,
        "workers": 2,
        "geometry": "radar",
        "encoding": "float32",
    }
    values.update(extra)
    return argparse.Namespace(**values)


def test_compute_pair_in_process(in_process: dict[str, Any], test_data: pathlib.Path) -> None:
    _check_outputs([in_process["warm_item"]], in_process["result"], test_data)


def test_plan_jobs(
    demo_catalog: pathlib.Path, in_process: dict[str, Any], tmp_path: pathlib.Path
) -> None:
    jobs = compute.plan_jobs(
        str(demo_catalog),
        [BURST, "117_249435_IW2", "T117-249435-IW2"],
        "seq:1",
        "3x9",
        "vv",
        tmp_path,
    )
    assert [(j.reference, j.secondary) for j in jobs] == [
        (str(p.reference)[:10], str(p.secondary)[:10]) for p in in_process["pairs"]
    ]
    assert {j.burst_id for j in jobs} == {BURST} and {j.polarization for j in jobs} == {"VV"}
    assert (
        jobs[0].item_path
        == tmp_path.resolve() / BURST / jobs[0].item_id / f"{jobs[0].item_id}.json"
    )
    with pytest.raises(ValueError, match="pair rule"):
        compute.plan_jobs(str(demo_catalog), [BURST], "often", "3x9", "VV", tmp_path)


def test_cli_errors_are_clear(
    demo_catalog: pathlib.Path, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert compute.main(_args(demo_catalog, tmp_path, window="big")) == 2
    assert "5x21" in capsys.readouterr().err
    assert compute.main(_args(demo_catalog, tmp_path, pairs="exact:1000")) == 1
    assert "selects no pair" in capsys.readouterr().err
    assert not list(tmp_path.iterdir())


@pytest.fixture(scope="module")
def cluster(in_process: dict[str, Any]) -> Any:
    """One 2-process LocalCluster for the module (start-up and worker warm-up dominate).

    ``allowed-failures`` 0: a task whose worker dies is reported failed at once instead of being
    retried, so the kill test sees the failure and the rerun deterministically."""
    import dask

    with (
        dask.config.set({"distributed.scheduler.allowed-failures": 0,
                         "distributed.scheduler.worker-saturation": 1.0}),
        compute.local_cluster(2) as local,
    ):
        yield local


def test_cluster_matches_in_process(
    demo_catalog: pathlib.Path,
    in_process: dict[str, Any],
    cluster: Any,
    tmp_path: pathlib.Path,
    test_data: pathlib.Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The CLI path against an existing scheduler (``--scheduler``) writes the in-process numbers."""
    args = _args(demo_catalog, tmp_path, scheduler=cluster.scheduler_address, workers=None)
    assert compute.main(args) == 0
    err = capsys.readouterr().err
    n = len(in_process["pairs"])
    # n pairs + the burst's look-geometry item
    assert f"[{n + 1}/{n + 1}] 100.0%" in err and f"{n} written, 0 already complete, 0 failed" in err
    assert "look geometry from collection pairscope-demo-slc asset 'geometry'" in err
    # the geolocation file shared reads wrote for the burst's batches is gone after the run
    assert not list(tmp_path.rglob(".pairscope-geolocation-*"))
    items = sorted(p for p in (tmp_path / BURST).glob("*/*.json") if "_geometry" not in p.name)
    assert len(items) == n
    _check_outputs(items, in_process["result"], test_data)
    _check_geometry(tmp_path / BURST / f"{BURST}_geometry" / f"{BURST}_geometry.json", demo_catalog,
                    test_data)
    table = (tmp_path / BURST / "pairs.csv").read_text().splitlines()
    assert len(table) == n + 1 and table[0].startswith("reference,secondary")
    # resume: nothing recomputed, nothing rewritten
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / BURST).rglob("*.tif")}
    report = compute.run(
        compute.plan_jobs(str(demo_catalog), [BURST], "seq:1", WINDOW, "VV", tmp_path, encoding="float32"),
        client=object(),  # a client that would fail if it were used
        progress=None,
    )
    assert len(report.skipped) == n and not report.written and report.ok
    assert mtimes == {p: p.stat().st_mtime_ns for p in (tmp_path / BURST).rglob("*.tif")}


def test_row_blocks_bound_memory(
    demo_catalog: pathlib.Path, in_process: dict[str, Any], tmp_path: pathlib.Path
) -> None:
    """Above the memory budget a pair is read and estimated in row blocks (dask halo path)."""
    job = compute.plan_jobs(str(demo_catalog), [BURST], "seq:1", WINDOW, "VV", tmp_path, encoding="float32")[0]
    rows = in_process["result"].sizes["azimuth"]
    cols = in_process["result"].sizes["range"]
    budget = 2 * 8 * cols * (rows // 5)  # about five row blocks
    summary = compute.compute_pair(job, max_block_bytes=budget)
    item = json.loads(pathlib.Path(summary["item"]).read_text())
    expected = in_process["result"].isel(pair=0)
    for key in ("coherence", "phase", "valid_count"):
        values = _read_band(job.item_path.parent / item["assets"][key]["href"]).astype("float64")
        reference = expected[key].values.astype("float64")
        np.testing.assert_array_equal(np.isnan(values), np.isnan(reference), err_msg=key)
        if key == "phase":  # compare angles on the circle
            values = np.angle(np.exp(1j * (values - reference)))
            reference = np.zeros_like(reference)
        np.testing.assert_allclose(values, reference, rtol=0, atol=2e-5, err_msg=key)


def _kill_once(marker: str, stage: str, path: pathlib.Path) -> None:
    """Kill this worker process (SIGKILL) the first time a phase COG is written but not renamed."""
    if stage == "written" and path.name.startswith(".") and "_phase.tif" in path.name:
        try:
            fd = os.open(marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return
        os.write(fd, f"{os.getpid()} {path}\n".encode())
        os.close(fd)
        os.kill(os.getpid(), signal.SIGKILL)


def test_killed_worker_loses_nothing(
    demo_catalog: pathlib.Path,
    in_process: dict[str, Any],
    cluster: Any,
    tmp_path: pathlib.Path,
    test_data: pathlib.Path,
) -> None:
    from distributed import Client

    out = tmp_path / "out"
    marker = tmp_path / "killed"
    jobs = compute.plan_jobs(str(demo_catalog), [BURST], "seq:1", WINDOW, "VV", out, encoding="float32")
    with Client(cluster) as client:
        first = compute.run(
            jobs, client=client, hook=functools.partial(_kill_once, str(marker)), progress=None
        )
        assert marker.exists(), "the fault was injected"
        killed_pid, killed_tmp = marker.read_text().split()
        # the pair being written failed (with any task queued on that worker) and left only its
        # temporary file; every pair reported written is complete and exact
        # (the burst's geometry task may have been queued on the killed worker too)
        assert all("KilledWorker" in message for _, message in first.failed)
        lost = [job for job, _ in first.failed if isinstance(job, compute.PairJob)]
        assert len(lost) >= 1
        assert any(job.item_id in killed_tmp for job in lost)
        assert pathlib.Path(killed_tmp).exists()
        assert not any(export.is_complete(job.item_path) for job in lost)
        assert len(first.written) + len(lost) == len(jobs)
        _check_outputs(sorted(first.written), in_process["result"], test_data)
        # the rerun computes exactly the missing pairs and cleans up after the dead worker
        second = compute.run(jobs, client=client, progress=None)
    assert second.ok
    assert sorted(p.resolve() for p in second.written) == sorted(j.item_path.resolve() for j in lost)
    assert len(second.skipped) == len(first.written)
    final = sorted(p for p in out.glob(f"{BURST}/*/*.json") if "_geometry" not in p.name)
    assert len(final) == len(jobs)
    _check_outputs(final, in_process["result"], test_data)
    assert not pathlib.Path(killed_tmp).exists(), "the dead worker's temporary file was removed"
    assert not list(out.rglob("*.tmp"))


def test_unreachable_scheduler_is_a_clear_error(
    demo_catalog: pathlib.Path, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import socket

    import dask

    with socket.socket() as sock:  # a loopback port with nobody listening
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = compute.main(_args(demo_catalog, tmp_path, scheduler=f"tcp://127.0.0.1:{port}"))
    assert code == 2
    assert f"cannot run on the scheduler at tcp://127.0.0.1:{port}" in capsys.readouterr().err
    assert not list(tmp_path.rglob("*.json"))
