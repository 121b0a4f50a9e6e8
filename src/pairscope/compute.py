"""``pairscope compute``: many bursts and pairs on dask.distributed, streamed to COG + STAC items.

One task per (burst, pair): it opens the catalog, reads only the two dates of that pair (whole when
they fit in ``max_block_bytes``, else in row blocks with a halo through dask), and runs the one pair
recipe of the app, :func:`pairscope.pipeline.compute_pairs` (estimate, optional bias correction with
per-pixel looks, perpendicular baseline by the pipeline's one definition, optional geocoding), then
writes the pair with `pairscope.io.export.export_pair` (each file written to a temporary name and
renamed; the item JSON last). Results stream to ``--out`` as tasks finish. This module plans and
runs; argument parsing lives in :mod:`pairscope.cli`.

Resume: a pair whose item JSON exists with all its assets (`pairscope.io.export.is_complete`) is
skipped, so rerunning after a crash or a killed worker does only what is missing. A worker killed
mid-task leaves at most a temporary file (removed on the next run); the scheduler retries the task
on another worker.

Layout of ``--out``: ``<burst id>/<item id>/<item id>.json`` + ``<item id>_<layer>.tif``, and a
``pairs.csv`` per burst (dates, baselines, mean coherence) rewritten at the end of each run.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import json
import os
import pathlib
import socket
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from typing import IO, Any

import numpy as np

from pairscope import pipeline
from pairscope.errors import WindowError
from pairscope.io import export

__all__ = [
    "GeometryJob",
    "PairJob",
    "RunReport",
    "compute_geometry",
    "compute_pair",
    "main",
    "parse_pair_rule",
    "parse_window",
    "plan_jobs",
    "run",
]

#: Input bytes (two complex64 dates) above which a pair is processed in row blocks.
DEFAULT_MAX_BLOCK_BYTES = 256 * 2**20

#: LocalCluster keywords: no dashboard, and the scheduler's HTTP endpoint on a free port (its
#: default 8787 may be taken, which distributed reports with a warning).
LOCAL_CLUSTER_OPTIONS: dict[str, Any] = {
    "dashboard_address": ":0",
    "scheduler_kwargs": {"dashboard": False},
}

def parse_window(text: str | Sequence[int]) -> tuple[int, int]:
    """``"5x21"`` or ``(5, 21)`` (azimuth x range looks): :func:`pairscope.coherence.parse_window`."""
    from pairscope.coherence import check_window

    if isinstance(text, str):
        parts = text.lower().replace(" ", "").replace("*", "x").split("x")
        try:
            az, rg = (int(v) for v in parts)
        except ValueError:
            raise WindowError(
                f"cannot read window {text!r}: write it as AZxRG, e.g. 5x21 (azimuth x range looks)"
            ) from None
        return check_window((az, rg))
    return check_window(text)


def parse_pair_rule(rule: str) -> dict[str, Any]:
    """A ``--pairs`` rule -> keyword arguments of `pairscope.pairs.select_pairs` (the grammar of
    :func:`pairscope.pairs.parse_pair_rule`, shared with the app's URL and the API)."""
    from pairscope.pairs import parse_pair_rule as parse

    return parse(rule).select_kwargs()


def _day(value: Any) -> str:
    return str(np.datetime64(value, "D"))


@dataclasses.dataclass(frozen=True)
class PairJob:
    """One unit of work: one pair of one burst, and where its outputs go."""

    catalog: str
    burst_id: str
    reference: str  # YYYY-MM-DD
    secondary: str
    window: tuple[int, int]
    polarization: str
    out: str
    bias_corrected: bool = False
    geometry: str = "radar"
    spacing: float = 20.0

    @property
    def recipe(self) -> pipeline.Recipe:
        return pipeline.Recipe(window=self.window, bias_corrected=self.bias_corrected,
                               geometry=self.geometry, spacing=self.spacing)  # type: ignore[arg-type]

    @property
    def item_id(self) -> str:
        return export.pair_item_id(
            self.reference, self.secondary, burst_id=self.burst_id,
            polarization=self.polarization, window=self.window,
        )

    @property
    def directory(self) -> pathlib.Path:
        return pathlib.Path(self.out) / self.burst_id

    @property
    def item_path(self) -> pathlib.Path:
        return self.directory / self.item_id / f"{self.item_id}.json"

    @property
    def label(self) -> str:
        return f"{self.burst_id} {self.reference.replace('-', '')}_{self.secondary.replace('-', '')}"


@dataclasses.dataclass(frozen=True)
class GeometryJob:
    """The look-vector / incidence layers of one burst, written once beside its pairs."""

    catalog: str
    burst_id: str
    polarization: str
    out: str
    geometry: str = "radar"
    spacing: float = 20.0

    @property
    def item_id(self) -> str:
        return f"{self.burst_id}_geometry"

    @property
    def directory(self) -> pathlib.Path:
        return pathlib.Path(self.out) / self.burst_id

    @property
    def item_path(self) -> pathlib.Path:
        return self.directory / self.item_id / f"{self.item_id}.json"

    @property
    def label(self) -> str:
        return f"{self.burst_id} look geometry"


@dataclasses.dataclass
class RunReport:
    """What a run did: pair items written, pairs skipped (already complete), burst geometry items
    written or found, notes, failures."""

    written: list[pathlib.Path] = dataclasses.field(default_factory=list)
    skipped: list[pathlib.Path] = dataclasses.field(default_factory=list)
    geometry: list[pathlib.Path] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[PairJob | GeometryJob, str]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.failed


def _canonical_bursts(bursts: Sequence[str]) -> list[str]:
    from pairscope.bursts import parse_burst_id

    seen: list[str] = []
    for text in bursts:
        canonical = parse_burst_id(text).canonical
        if canonical not in seen:
            seen.append(canonical)
    return seen


def plan_jobs(
    catalog: str,
    bursts: Sequence[str],
    rule: str,
    window: tuple[int, int] | str,
    polarization: str,
    out: str | os.PathLike[str],
    *,
    bias_corrected: bool = False,
    geometry: str = "radar",
    spacing: float = 20.0,
) -> list[PairJob]:
    """All (burst, pair) jobs of a run, from the catalog's acquisitions and the pair rule."""
    from pairscope.io.catalog import list_acquisitions, open_catalog
    from pairscope.pairs import select_pairs

    if not bursts:
        raise ValueError("give at least one --burst")
    size = parse_window(window)
    kwargs = parse_pair_rule(rule)
    pipeline.Recipe(window=size, bias_corrected=bias_corrected, geometry=geometry,  # type: ignore[arg-type]
                    spacing=spacing)  # checks the settings before any catalog is opened
    pol = polarization.upper()
    cat = open_catalog(catalog)
    jobs: list[PairJob] = []
    for burst in _canonical_bursts(bursts):
        acquisitions = list_acquisitions(cat, burst, polarization=pol)
        dates = sorted({a.date for a in acquisitions})
        if len(dates) < 2:
            raise ValueError(
                f"burst {burst} has {len(dates)} {pol} acquisition(s) in {catalog}: need two or more"
            )
        for pair in select_pairs(dates, **kwargs):
            jobs.append(PairJob(
                catalog=str(catalog), burst_id=burst, reference=_day(pair.reference),
                secondary=_day(pair.secondary), window=size, polarization=pol,
                out=str(pathlib.Path(out).resolve()), bias_corrected=bias_corrected,
                geometry=geometry, spacing=float(spacing),
            ))
    return jobs


_CATALOGS: dict[str, Any] = {}


def _open_cached(url: str) -> Any:
    """One open catalog per worker process (static catalogs are read once, not per task)."""
    from pairscope.io.catalog import open_catalog

    if url not in _CATALOGS:
        _CATALOGS[url] = open_catalog(url)
    return _CATALOGS[url]


def _burst_baselines(cat: Any, acquisitions: Sequence[Any], wanted: Sequence[Any],
                     convention: str) -> dict[str, float] | None:
    """Per-date perpendicular baselines (``pipeline.date_baselines``: against the burst's first
    date, at the burst footprint centre) of the ``wanted`` acquisitions, or None without orbits."""
    from pairscope.io.orbits import open_orbit

    first = acquisitions[0]
    orbits = [open_orbit(a, catalog=cat) for a in [first, *wanted]]
    if any(o is None for o in orbits):
        return None
    point = pipeline.baseline_point(first.item.geometry or first.item.bbox)
    values = pipeline.date_baselines(orbits, point, convention)
    return {_day(a.date): float(v) for a, v in zip(wanted, values[1:], strict=True)}


@contextlib.contextmanager
def _kernel_threads() -> Iterator[None]:
    """On a dask worker, run the numba kernel with the worker's thread count (a LocalCluster of
    N one-thread processes must not start N x CPU kernel threads); unchanged elsewhere."""
    try:
        from distributed import get_worker

        nthreads = int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(nthreads, int(getattr(numba.config, "NUMBA_NUM_THREADS", 1)))))
    try:
        yield
    finally:
        numba.set_num_threads(before)


def compute_pair(
    job: PairJob,
    hook: export.StageHook | None = None,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
) -> dict[str, Any]:
    """Compute and write one pair (runs on a worker). Returns the item path and a summary."""
    import dask

    from pairscope.io.catalog import list_acquisitions
    from pairscope.io.rasters import open_slc_stack

    start = time.perf_counter()
    cat = _open_cached(job.catalog)
    all_acquisitions = sorted(list_acquisitions(cat, job.burst_id, polarization=job.polarization),
                              key=lambda a: a.date)  # fmt: skip
    wanted = {job.reference, job.secondary}
    acquisitions = {_day(a.date): a for a in all_acquisitions if _day(a.date) in wanted}
    missing = sorted(wanted - set(acquisitions))
    if missing:
        raise ValueError(f"{job.label}: no {job.polarization} acquisition on {', '.join(missing)}")
    pair_acqs = [acquisitions[job.reference], acquisitions[job.secondary]]
    stack = open_slc_stack(cat, job.burst_id, [job.reference, job.secondary], job.polarization)
    pair = [(np.datetime64(job.reference, "ns"), np.datetime64(job.secondary, "ns"))]
    rows = stack.sizes[stack.dims[1]]
    nbytes = 2 * rows * stack.sizes[stack.dims[2]] * 8
    recipe = job.recipe
    baselines = _burst_baselines(cat, all_acquisitions, pair_acqs, recipe.convention)
    with dask.config.set(scheduler="synchronous"), _kernel_threads():
        if nbytes <= max_block_bytes:
            stack = stack.load()  # the two dates whole: the exact in-process path
        else:
            block = max(2 * job.window[0], int(rows * max_block_bytes / nbytes))
            stack = stack.chunk({stack.dims[0]: -1, stack.dims[1]: block, stack.dims[2]: -1})
        result = pipeline.compute_pairs(stack, pair, recipe, baselines=baselines)
        result = result.compute()
    item = export.export_pair(
        result, 0, job.directory, inputs=[a.item for a in pair_acqs], burst_id=job.burst_id,
        polarization=job.polarization, window=job.window, bias_corrected=job.bias_corrected,
        item_id=job.item_id, hook=hook,
    )
    return {
        "item": str(job.item_path),
        "mean_coherence": item.properties.get("pairscope:mean_coherence"),
        "seconds": time.perf_counter() - start,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


def compute_geometry(job: GeometryJob, hook: export.StageHook | None = None) -> dict[str, Any]:
    """Write the burst's look-vector / incidence layers (runs on a worker), by the pipeline's one
    rule (:func:`pairscope.pipeline.burst_look_layers`): the catalog's published layers on the
    stack's grid when there are some, else from the first date's orbit with its look side."""
    from pairscope.io.catalog import list_acquisitions
    from pairscope.io.orbits import open_orbit
    from pairscope.io.rasters import open_slc_stack

    start = time.perf_counter()
    cat = _open_cached(job.catalog)
    acquisitions = sorted(list_acquisitions(cat, job.burst_id, polarization=job.polarization),
                          key=lambda a: a.date)
    first = acquisitions[0]
    stack = open_slc_stack(cat, job.burst_id, [_day(first.date)], job.polarization)
    found = pipeline.burst_look_layers(cat, first, stack, open_orbit(first, catalog=cat))
    if found is None:
        return {"item": None, "seconds": time.perf_counter() - start,
                "note": f"{job.burst_id}: no look geometry (no geometry asset, no orbit)"}
    layers, source = found
    layers = layers.rename({"incidence": "incidence_angle"})
    if job.geometry == "map":
        layers = pipeline.geocode_result(layers, spacing=job.spacing)
    export.export_geometry(layers, job.directory, inputs=[first.item], burst_id=job.burst_id,
                           item_id=job.item_id, source=source, hook=hook)
    return {"item": str(job.item_path), "seconds": time.perf_counter() - start,
            "note": f"look geometry from {source}"}


def _progress_line(done: int, total: int, job: PairJob | GeometryJob, note: str, started: float) -> str:
    elapsed = max(time.perf_counter() - started, 1e-9)
    rate = 60.0 * done / elapsed
    width = len(str(total))
    return f"[{done:>{width}}/{total}] {100 * done / total:5.1f}%  {job.label}  {note}  ({rate:.1f} tasks/min)"


def run(
    jobs: Sequence[PairJob],
    *,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    geometry: bool = True,
    hook: export.StageHook | None = None,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    progress: IO[str] | None | str = "stderr",
) -> RunReport:
    """Run ``jobs`` on dask.distributed, skipping pairs already complete in their ``out``.

    With ``geometry`` each burst's look-vector / incidence layers are written once as well
    (`compute_geometry`), unless already there. ``client``: an existing ``distributed.Client``;
    else ``scheduler`` (an address such as ``tcp://host:8786``); else a ``LocalCluster`` of
    ``workers`` processes (default: CPU count), one thread each, closed at the end. Progress lines
    go to ``progress`` (a text stream; default ``sys.stderr`` at call time; None: silent).
    """
    report = RunReport()
    started = time.perf_counter()
    stream = sys.stderr if progress == "stderr" else progress

    def say(text: str) -> None:
        if stream is not None and not isinstance(stream, str):
            print(text, file=stream, flush=True)

    for root in sorted({pathlib.Path(j.out) for j in jobs}):
        if root.is_dir():
            stale = export.remove_stale_temporaries(root)
            if stale:
                say(f"removed {len(stale)} temporary file(s) left by an interrupted run")
    todo: list[PairJob | GeometryJob] = []
    for job in jobs:
        if export.is_complete(job.item_path):
            report.skipped.append(job.item_path)
        else:
            todo.append(job)
    n_pairs = len(todo)
    if geometry:
        for key in sorted({(j.catalog, j.burst_id, j.polarization, j.out, j.geometry, j.spacing)
                           for j in jobs}):  # fmt: skip
            geo = GeometryJob(*key)
            if export.is_complete(geo.item_path):
                report.geometry.append(geo.item_path)
            else:
                todo.append(geo)
    say(f"{len(jobs)} pair(s): {len(report.skipped)} already complete, {n_pairs} to compute"
        + (f"; {len(todo) - n_pairs} burst geometry item(s)" if len(todo) > n_pairs else ""))
    if todo:
        _run_on_cluster(todo, report, client, scheduler, workers, hook, max_block_bytes, say,
                        started)
    for directory in sorted({j.directory for j in jobs}):
        rows = []
        for path in sorted(directory.glob("*/*.json")):
            if path.parent.name != path.stem or not export.is_complete(path):
                continue
            data = json.loads(path.read_text(encoding="utf-8"))
            if "pairscope:reference_date" in data.get("properties", {}):
                rows.append(data)
        if rows:
            export.write_pairs_csv(export.pairs_table_from_items(rows), directory / "pairs.csv")
    report.seconds = time.perf_counter() - started
    return report


def _submit(client: Any, job: PairJob | GeometryJob, hook: export.StageHook | None,
            max_block_bytes: int) -> Any:
    key = f"pairscope-{job.item_id}-{os.urandom(4).hex()}"
    if isinstance(job, GeometryJob):
        return client.submit(compute_geometry, job, hook, pure=False, key=key)
    return client.submit(compute_pair, job, hook, max_block_bytes, pure=False, key=key)


def _run_on_cluster(
    todo: Sequence[PairJob | GeometryJob],
    report: RunReport,
    client: Any,
    scheduler: str | None,
    workers: int | None,
    hook: export.StageHook | None,
    max_block_bytes: int,
    say: Callable[[str], None],
    started: float,
) -> None:
    from distributed import Client, LocalCluster, as_completed

    cluster = None
    own_client = client is None
    if client is None:
        if scheduler:
            client = Client(scheduler)  # type: ignore[no-untyped-call]
        else:
            n = workers or os.cpu_count() or 1
            if n < 1:
                raise ValueError(f"--workers must be >= 1, got {n}")
            cluster = LocalCluster(  # type: ignore[no-untyped-call]
                n_workers=n, threads_per_worker=1, processes=True, **LOCAL_CLUSTER_OPTIONS
            )
            client = Client(cluster)  # type: ignore[no-untyped-call]
    try:
        futures = {_submit(client, job, hook, max_block_bytes): job for job in todo}
        done = 0
        for future in as_completed(futures):  # type: ignore[no-untyped-call]
            job = futures[future]
            done += 1
            try:
                summary = future.result()
            except Exception as err:  # a failed task must not stop the others
                message = f"{type(err).__name__}: {err}"
                report.failed.append((job, message))
                say(_progress_line(done, len(todo), job, f"FAILED {message}", started))
                future.release()
                continue
            future.release()
            seconds = f"{summary['seconds']:.1f} s"
            if isinstance(job, GeometryJob):
                if summary["item"]:
                    report.geometry.append(pathlib.Path(summary["item"]))
                report.notes.append(summary["note"])
                say(_progress_line(done, len(todo), job, f"{summary['note']}  {seconds}", started))
                continue
            report.written.append(pathlib.Path(summary["item"]))
            coh = summary["mean_coherence"]
            note = f"mean coherence {coh:.3f}" if coh is not None else "no valid pixel"
            say(_progress_line(done, len(todo), job, f"{note}  {seconds}", started))
    finally:
        if own_client:
            client.close()
        if cluster is not None:
            cluster.close()


def main(args: argparse.Namespace) -> int:
    """Entry point of ``pairscope compute`` (see ``pairscope compute --help``)."""
    err = sys.stderr
    try:
        jobs = plan_jobs(
            args.catalog, list(args.burst or []), args.pairs, args.window,
            getattr(args, "polarization", "VV") or "VV", args.out,
            bias_corrected=bool(getattr(args, "bias_corrected", False)),
            geometry=getattr(args, "geometry", "radar") or "radar",
            spacing=float(getattr(args, "spacing", 20.0) or 20.0),
        )
    except (ValueError, LookupError, OSError) as e:
        print(f"pairscope compute: error: {e}", file=err)
        return 2
    except Exception as e:  # catalog errors (unreachable, auth, format) carry their own message
        if type(e).__module__.startswith("pairscope"):
            print(f"pairscope compute: error: {e}", file=err)
            return 2
        raise
    if not jobs:
        print(f"pairscope compute: the rule {args.pairs!r} selects no pair", file=err)
        return 1
    if args.workers is not None and args.workers < 1:
        print(f"pairscope compute: error: --workers must be >= 1, got {args.workers}", file=err)
        return 2
    try:
        report = run(jobs, scheduler=args.scheduler, workers=args.workers)
    except (OSError, TimeoutError) as e:
        where = f"the scheduler at {args.scheduler}" if args.scheduler else "a local cluster"
        print(f"pairscope compute: error: cannot run on {where}: {e}", file=err)
        return 2
    print(
        f"{len(report.written)} written, {len(report.skipped)} already complete, "
        f"{len(report.failed)} failed in {report.seconds:.1f} s -> {pathlib.Path(args.out).resolve()}",
        file=err,
    )
    for note in report.notes:
        print(f"  {note}", file=err)
    for job, message in report.failed:
        print(f"  failed {job.label}: {message} (rerun the same command to retry)", file=err)
    return 0 if report.ok else 1
