"""``pairscope compute``: many bursts and pairs on dask.distributed, streamed to COG + STAC items.

Planning: :func:`plan_jobs` lists one :class:`PairJob` per (burst, pair) from the catalog and the pair
rule (the grammar of :func:`pairscope.pairs.parse_pair_rule`). :func:`plan_batches` groups the pairs
of a burst that still need computing into :class:`Batch` es by reference date, as few as keep the
workers busy, each reading its dates ONCE: every pair of a batch is computed from memory by the one
pair recipe of the app, :func:`pairscope.pipeline.compute_pairs`, with each date's window power sums
made once for the batch (`pairscope.coherence.DateSums`), and written with
`pairscope.io.export.export_pair` on a writer thread while the next pairs compute; the burst's
geolocation grid (GCPs and file) is made once per batch (`pairscope.io.export.GeolocationCache`).
When a burst's pairs are split into several batches (more workers than bursts), each of its dates
is read once, by a `SharedRead` task on some worker (with the latitude / longitude / height grid
when the date is the batches' grid date, in the same pass over the file: `pairscope.io.rasters.
reusing_open_files`), and every batch that uses the date gets those samples from memory (dask moves
them between workers) instead of reading the file again (`plan_shared_reads`); that read also
writes the burst's geolocation file once for every batch to link. Every pair of a burst in a run is
placed with one grid, the burst's earliest date's in the plan (`PairJob.grid_date`), whichever
batch computes it: a coregistered stack's per-date grids agree, but a catalog's need not to the
last bit, and a pair's outputs must not depend on how the run was split. Shared reads hold at
most ``memory_budget`` bytes for a burst (`shared_bytes`: its dates, complex64, and a float64 grid
each at most); above that each batch reads its own dates, as before. A worker process lists a
burst's acquisitions and reads an orbit once (`_acquisitions_cached`, `_orbit_cached`).
A batch holds at most ``memory_budget`` bytes of input (the dates it reads, complex64, and their
float32 power sums); a pair whose two dates alone exceed ``max_block_bytes`` runs on its own in row
blocks with a halo (dask). Memory per worker stays below about ``memory_budget`` + two pairs of
outputs (+ ``memory_budget`` of shared reads in the cluster). A pair's numbers do not depend on its
batch or on where its dates were read, so results are bit-identical in-process, on one worker or on
many. Workers of the local cluster run without dask's ``MALLOC_TRIM_THRESHOLD_``
(see `local_cluster`).

Resume: a pair whose item exists with all its assets (`pairscope.io.export.is_complete`) and whose
recorded settings digest (``pairscope:settings_digest``: window, bias correction, encoding, geometry,
spacing, polarization, georeference, baseline convention, catalog) matches is skipped; a complete item
made with other settings is recomputed and the run says so. A worker killed mid-task leaves at most a
temporary file (removed on the next run); pairs of its batch already written count as written. A lock
file (``.pairscope-compute.lock``) refuses a second concurrent run on the same output folder.

Output: ``<out>/catalog.json`` (a static STAC catalog), ``<out>/<burst>/collection.json``,
``<out>/<burst>/<item id>/<item id>.json`` + ``<item id>_<layer>.tif``, and a ``pairs.csv`` per
burst (dates, baselines, mean coherence, item ids), rebuilt at the end of each run. This module plans
and runs; argument parsing lives in :mod:`pairscope.cli`.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import contextlib
import dataclasses
import hashlib
import json
import os
import pathlib
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import IO, Any

import numpy as np

from pairscope import coherence, pipeline
from pairscope.errors import InputError, OutputLockedError
from pairscope.io import export

__all__ = [
    "Batch",
    "GeometryJob",
    "PairJob",
    "RunReport",
    "SharedRead",
    "compute_batch",
    "compute_geometry",
    "compute_pair",
    "main",
    "parse_pair_rule",
    "parse_window",
    "plan_batches",
    "plan_jobs",
    "plan_shared_reads",
    "read_shared",
    "run",
    "settings_digest",
]

#: Input bytes (two complex64 dates) above which a pair is processed alone in row blocks.
DEFAULT_MAX_BLOCK_BYTES = 256 * 2**20
#: Input bytes (dates read, complex64) one batch may hold in memory.
DEFAULT_MEMORY_BUDGET = 1024 * 2**20
#: Pairs per batch at most when batches are sized for the workers (`plan_batches`).
MAX_BATCH_PAIRS = 64
LOCK_NAME = ".pairscope-compute.lock"

#: LocalCluster keywords: no dashboard, and the scheduler's HTTP endpoint on a free port (its
#: default 8787 may be taken, which distributed reports with a warning).
LOCAL_CLUSTER_OPTIONS: dict[str, Any] = {
    "dashboard_address": ":0",
    "scheduler_kwargs": {"dashboard": False},
}
#: dask settings of `local_cluster`: no statistical profiler (10 ms samples of every worker's
#: stack) nor GIL monitor (1 ms polls), whose only reader is a dashboard the local cluster does
#: not serve, and slower event-loop health ticks. Measured idle on this machine: scheduler 6.2 ->
#: 2.3 % of a core, two workers 8.3 -> 2.1 %, CPU every worker's computation competed with.
LOCAL_CLUSTER_CONFIG: dict[str, Any] = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.admin.tick.interval": "500ms",
}


def parse_window(text: str | Sequence[int]) -> tuple[int, int]:
    """``"5x21"`` or ``(5, 21)`` (azimuth x range looks) -> ``(5, 21)``: the one window parser,
    :func:`pairscope.coherence.parse_window` (WindowError, a ValueError, otherwise)."""
    from pairscope.coherence import parse_window as parse

    return parse(text.strip() if isinstance(text, str) else text)


def parse_pair_rule(rule: str) -> dict[str, Any]:
    """A ``--pairs`` rule -> keyword arguments of `pairscope.pairs.select_pairs` (the grammar of
    :func:`pairscope.pairs.parse_pair_rule`, shared with the app's URL and the API)."""
    from pairscope.pairs import parse_pair_rule as parse

    return parse(rule).select_kwargs()


def _day(value: Any) -> str:
    return str(np.datetime64(value, "D"))


@dataclasses.dataclass(frozen=True)
class PairJob:
    """One pair of one burst, its settings, and where its outputs go."""

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
    encoding: str = "compact"
    georeference: str = "gcps"
    #: The date (YYYY-MM-DD) whose latitude / longitude / height grid places the pair's outputs:
    #: `plan_jobs` gives every pair of a burst the earliest date of the burst's pairs in the run,
    #: so a pair's outputs never depend on which batch computed it (the stack is coregistered:
    #: its dates' grids agree, but a catalog's per-date grids may differ in their last digits).
    #: "" (a pair on its own): its reference date.
    grid_date: str = ""

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

    @property
    def digest(self) -> str:
        return settings_digest(self)


def settings_digest(job: PairJob | GeometryJob) -> str:
    """A short digest of every setting that changes a written result (recorded in the item and
    checked on resume)."""
    from pairscope.io.http import redact_url

    fields = {
        "catalog": redact_url(str(job.catalog)), "burst": job.burst_id,
        "polarization": job.polarization, "geometry": job.geometry, "spacing": job.spacing,
        "encoding": job.encoding, "georeference": job.georeference, "convention": "vertex",
    }  # fmt: skip
    if isinstance(job, PairJob):
        fields.update(window=list(job.window), bias_corrected=job.bias_corrected)
    text = json.dumps(fields, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclasses.dataclass(frozen=True)
class GeometryJob:
    """The look-vector / incidence layers of one burst, written once beside its pairs."""

    catalog: str
    burst_id: str
    polarization: str
    out: str
    geometry: str = "radar"
    spacing: float = 20.0
    encoding: str = "compact"
    georeference: str = "gcps"

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

    @property
    def digest(self) -> str:
        return settings_digest(self)


@dataclasses.dataclass(frozen=True)
class Batch:
    """Pairs of one burst computed from one read of their dates (see the module docstring)."""

    jobs: tuple[PairJob, ...]
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    #: A token of the run (`run` sets it): batches of one run on one worker share what they wrote.
    run: str = ""

    @property
    def dates(self) -> list[str]:
        return sorted({d for j in self.jobs for d in (j.reference, j.secondary)})

    @property
    def grid_day(self) -> str:
        """The date whose grid places the batch's outputs (`PairJob.grid_date`); it may be none
        of the batch's own dates (then only its grid is read, not its samples)."""
        return min(self.jobs[0].grid_date or self.dates[0], self.dates[0])  # at the latest its first

    @property
    def label(self) -> str:
        first = self.jobs[0]
        if len(self.jobs) == 1:
            return first.label
        return f"{first.burst_id} {len(self.jobs)} pairs from {self.dates[0]} to {self.dates[-1]}"

    @property
    def item_id(self) -> str:
        return self.jobs[0].item_id


@dataclasses.dataclass
class RunReport:
    """What a run did: pair items written, pairs skipped (already complete), burst geometry items
    written or found, pairs recomputed because their settings changed, notes, failures."""

    written: list[pathlib.Path] = dataclasses.field(default_factory=list)
    skipped: list[pathlib.Path] = dataclasses.field(default_factory=list)
    geometry: list[pathlib.Path] = dataclasses.field(default_factory=list)
    recomputed: list[pathlib.Path] = dataclasses.field(default_factory=list)
    notes: list[str] = dataclasses.field(default_factory=list)
    failed: list[tuple[PairJob | GeometryJob, str]] = dataclasses.field(default_factory=list)
    seconds: float = 0.0
    catalog: pathlib.Path | None = None

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
    encoding: str = "compact",
    georeference: str = "gcps",
) -> list[PairJob]:
    """All (burst, pair) jobs of a run, from the catalog's acquisitions and the pair rule.

    ``geometry="map"`` needs the stack's latitude/longitude grid (the SLC assets' lat/lon bands):
    a catalog without it is refused here, naming what is missing."""
    from pairscope.io.catalog import list_acquisitions, open_catalog
    from pairscope.pairs import select_pairs

    if not bursts:
        raise InputError("give at least one --burst")
    size = parse_window(window)
    kwargs = parse_pair_rule(rule)
    pipeline.Recipe(window=size, bias_corrected=bias_corrected, geometry=geometry,  # type: ignore[arg-type]
                    spacing=spacing)  # checks the settings before any catalog is opened
    if encoding not in export.ENCODINGS:
        raise InputError(f"encoding must be one of {', '.join(export.ENCODINGS)}, got {encoding!r}")
    if georeference not in ("gcps", "geolocation"):
        raise InputError(f"georeference must be gcps or geolocation, got {georeference!r}")
    pol = polarization.upper()
    cat = open_catalog(catalog)
    jobs: list[PairJob] = []
    for burst in _canonical_bursts(bursts):
        acquisitions = list_acquisitions(cat, burst, polarization=pol)
        dates = sorted({a.date for a in acquisitions})
        if len(dates) < 2:
            raise InputError(
                f"burst {burst} has {len(dates)} {pol} acquisition(s) in {catalog}: need two or more"
            )
        if geometry == "map":
            _check_map_geometry(cat, burst, acquisitions, pol)
        pairs = select_pairs(dates, **kwargs)
        grid_date = min((_day(p.reference) for p in pairs), default="")
        for pair in pairs:
            jobs.append(PairJob(
                catalog=str(catalog), burst_id=burst, reference=_day(pair.reference),
                secondary=_day(pair.secondary), window=size, polarization=pol,
                out=str(pathlib.Path(out).resolve()), bias_corrected=bias_corrected,
                geometry=geometry, spacing=float(spacing), encoding=encoding,
                georeference=georeference, grid_date=grid_date,
            ))
    return jobs


def _check_map_geometry(cat: Any, burst: str, acquisitions: Sequence[Any], pol: str) -> None:
    from pairscope.io.orbits import open_orbit
    from pairscope.io.rasters import open_slc_stack

    first = sorted(acquisitions, key=lambda a: a.date)[0]
    stack = open_slc_stack(cat, burst, [_day(first.date)], pol)
    if "latitude" in stack.coords and "longitude" in stack.coords:
        return
    orbit = open_orbit(first, catalog=cat)
    missing = "latitude/longitude grids (lat/lon bands in the SLC assets)"
    missing += " and orbits" if orbit is None else ""
    raise InputError(
        f"--geometry map needs the burst's {missing}: burst {burst} has "
        f"{'neither' if orbit is None else 'an orbit but no lat/lon grid'}; pairscope geocodes "
        "from the lat/lon grid. Use --geometry radar, or a catalog whose SLC assets carry "
        "grid_lat/grid_lon bands"
    )


def plan_batches(
    jobs: Sequence[PairJob],
    *,
    batch_pairs: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    date_bytes: int | None = None,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    workers: int = 1,
) -> list[Batch]:
    """Group ``jobs`` into batches: per burst and settings, pairs in reference-date order, at most
    ``batch_pairs`` pairs and ``memory_budget`` bytes of dates (``date_bytes`` each, when known)
    per batch.

    ``batch_pairs`` None (the default) sizes batches for ``workers``: a burst's pairs are split
    into as few batches as keep every worker busy (one per burst when there are at least as many
    bursts as workers), so each date is read about once per worker rather than once per small
    batch; at most `MAX_BATCH_PAIRS` pairs each, so progress and resume stay fine-grained.
    Deterministic: the same jobs and worker count always give the same batches, and a pair's
    numbers never depend on its batch."""
    if batch_pairs is not None and batch_pairs < 1:
        raise InputError(f"batch_pairs must be >= 1, got {batch_pairs}")
    if workers < 1:
        raise InputError(f"workers must be >= 1, got {workers}")
    groups: dict[tuple[Any, ...], list[PairJob]] = {}
    for job in jobs:
        key = (job.catalog, job.burst_id, job.polarization, job.out, job.window,
               job.bias_corrected, job.geometry, job.spacing, job.encoding, job.georeference,
               job.grid_date)
        groups.setdefault(key, []).append(job)
    parts = -(-workers // max(1, len(groups)))  # batches per burst that keep the workers busy
    batches: list[Batch] = []
    for key in sorted(groups, key=str):
        members = sorted(groups[key], key=lambda j: (j.reference, j.secondary))
        if batch_pairs is None:
            size = min(MAX_BATCH_PAIRS, -(-len(members) // parts))
        else:
            size = batch_pairs
        if date_bytes is not None and 2 * date_bytes > max_block_bytes:
            batches += [Batch((j,), max_block_bytes, memory_budget) for j in members]  # row blocks
            continue
        max_dates = max(2, memory_budget // date_bytes) if date_bytes else None
        current: list[PairJob] = []
        for job in members:
            trial = current + [job]
            n_dates = len({d for j in trial for d in (j.reference, j.secondary)})
            if current and (len(trial) > size or (max_dates is not None and n_dates > max_dates)):
                batches.append(Batch(tuple(current), max_block_bytes, memory_budget))
                current = [job]
            else:
                current = trial
        if current:
            batches.append(Batch(tuple(current), max_block_bytes, memory_budget))
    return batches


_CATALOGS: dict[str, Any] = {}


def _open_cached(url: str) -> Any:
    """One open catalog per worker process (static catalogs are read once, not per task)."""
    from pairscope.io.catalog import open_catalog

    if url not in _CATALOGS:
        _CATALOGS[url] = open_catalog(url)
    return _CATALOGS[url]


_ACQUISITIONS: dict[tuple[int, str, str], list[Any]] = {}


def _acquisitions_cached(cat: Any, burst: str, polarization: str | None = None) -> list[Any]:
    """`pairscope.io.catalog.list_acquisitions` of a burst (all polarizations when None), once per
    open catalog of `_open_cached` (~40 ms each: a batch, its stack and its shared reads all need
    it); other catalogs are listed every time."""
    from pairscope.io.catalog import list_acquisitions

    if not any(held is cat for held in _CATALOGS.values()):
        return list(list_acquisitions(cat, burst, polarization=polarization))
    key = (id(cat), burst, polarization or "")
    if key not in _ACQUISITIONS:
        _ACQUISITIONS[key] = list(list_acquisitions(cat, burst, polarization=polarization))
    return _ACQUISITIONS[key]


#: Orbits read in this process, by (catalog, item id, orbit asset href): an orbit takes ~13 ms to
#: read and set up, and every batch of a burst needs the orbits of its dates and of the burst's
#: first date. Catalogs are cached per process the same way (`_open_cached`).
_ORBITS: dict[tuple[str, str, str], Any] = {}
_MAX_ORBITS = 512


def _orbit_cached(cat: Any, acquisition: Any) -> Any:
    from pairscope.io.orbits import open_orbit

    ref = getattr(acquisition, "orbit", None)
    key = (str(getattr(cat, "url", cat)), str(acquisition.item.id), str(getattr(ref, "href", "")))
    if key not in _ORBITS:
        if len(_ORBITS) >= _MAX_ORBITS:
            _ORBITS.clear()
        _ORBITS[key] = open_orbit(acquisition, catalog=cat)
    return _ORBITS[key]


def _burst_baselines(cat: Any, acquisitions: Sequence[Any], wanted: Sequence[Any],
                     convention: str) -> dict[str, float] | None:
    """Baselines of the ``wanted`` acquisitions against the burst's first date (only those
    orbits are read, once per process: `_orbit_cached`):
    :func:`pairscope.pipeline.acquisition_baselines`."""
    chosen = [acquisitions[0], *wanted]
    values = pipeline.acquisition_baselines(
        chosen, [_orbit_cached(cat, a) for a in chosen], convention
    )
    return None if values is None else {_day(a.date): values[_key(a.date)] for a in wanted}


def _key(value: Any) -> str:
    return _day(value).replace("-", "")


def _worker_threads() -> int | None:
    """The thread count of the dask worker running this task, None outside a worker."""
    try:
        from distributed import get_worker

        return int(get_worker().state.nthreads)
    except (ImportError, ValueError, AttributeError):
        return None


class _Inline(concurrent.futures.Executor):
    """An executor that runs each call at once in the caller's thread."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # handed to the caller by future.result()
            future.set_exception(err)
        return future


def _writer() -> concurrent.futures.Executor:
    """Where pairs are written: on a one-thread dask worker in its own thread (the worker was
    given one core; a writer thread beside it would oversubscribe a machine whose every core runs
    a worker), elsewhere on one writer thread overlapping the next pairs' estimation."""
    if _worker_threads() == 1:
        return _Inline()
    return concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="pairscope-write")


@contextlib.contextmanager
def _kernel_threads() -> Iterator[None]:
    """On a dask worker, run the numba kernel with the worker's thread count (a LocalCluster of
    N one-thread processes must not start N x CPU kernel threads); unchanged elsewhere."""
    nthreads = _worker_threads()
    if nthreads is None:
        yield
        return
    import numba

    before = numba.get_num_threads()
    numba.set_num_threads(max(1, min(nthreads, int(getattr(numba.config, "NUMBA_NUM_THREADS", 1)))))
    try:
        yield
    finally:
        numba.set_num_threads(before)


@dataclasses.dataclass(frozen=True)
class SharedRead:
    """One date of one burst read once on some worker for every batch of the burst that needs it
    (`run`, when a burst is split into several batches); with ``grid`` also the stack's
    latitude / longitude / height grid as a stack whose first date is ``day`` has it (in the same
    pass: the demo's files hold samples and grid in one tile). ``burst_dates``: how many dates of
    the burst are shared; the read gives None (each batch then reads its own dates) when those
    dates and their grids would hold more than ``memory_budget`` bytes, the bound on what shared
    reads keep in the cluster's memory. ``run``: a token of the run (per-worker caches last one
    run). ``height_from``: with ``grid``, the day of the burst's read that holds the height grid
    (its stacks take it from the burst's geometry, the same file for every first date): this read
    leaves it out, and a batch takes it from there when its own stack names the same source
    (`pairscope.io.rasters.lazy_source`; ~0.2 s of decompression saved per batch).
    ``geolocation``: with the height, ``"<burst folder>\n<georeference>"`` of the burst's pairs:
    the read also writes their geolocation file (`pairscope.io.export.write_geolocation`, ~0.1 s)
    once, under a temporary name in that folder, which the batches link instead of each writing
    its own (`pairscope.io.export.GeolocationCache.seed`; removed at the end of the run, or as a
    stale temporary after a killed run)."""

    catalog: str
    burst_id: str
    polarization: str
    day: str
    burst_dates: int
    memory_budget: int = DEFAULT_MEMORY_BUDGET
    grid: bool = False
    run: str = ""
    height_from: str = ""
    geolocation: str = ""

    @property
    def item_id(self) -> str:
        return f"{self.burst_id}_{self.day}_{'grid' if self.grid else 'samples'}"


#: Bytes per pixel of a shared grid (float64 latitude and longitude, float64 height at most).
_GRID_BYTES = 24


def shared_bytes(rows: int, cols: int, burst_dates: int) -> int:
    """Memory the shared reads of a burst hold at most: its dates (complex64) and, in the worst
    case, a grid (`_GRID_BYTES` per pixel) with each of them."""
    return burst_dates * rows * cols * (8 + _GRID_BYTES)


_STACKS: dict[tuple[str, str, str, str], Any] = {}


def _burst_stack(read: SharedRead) -> Any:
    """The lazy stack of every date of the burst, opened once per worker and run."""
    from pairscope.io.rasters import open_slc_stack

    key = (read.catalog, read.burst_id, read.polarization, read.run)
    if key not in _STACKS:
        _STACKS.clear()  # another run: files may have changed since
        cat = _open_cached(read.catalog)
        _STACKS[key] = open_slc_stack(cat, read.burst_id, None, read.polarization,
                                      acquisitions=_acquisitions_cached(cat, read.burst_id))
    return _STACKS[key]


def read_shared(read: SharedRead) -> dict[str, Any] | None:
    """Run one `SharedRead` (on a worker): ``{"samples": complex64 array, "grid": {coord name:
    array} or None, "height_source": digest or None}``, the grid being the 2-D coords
    (``latitude``, ``longitude``, ``height`` where present, but no height with ``height_from``) of
    a stack whose first date is ``day``, ``height_source`` what its height was read from; None
    when the burst's shared reads would exceed their memory budget."""
    import dask

    from pairscope.io.rasters import lazy_source, open_slc_stack, reusing_open_files

    whole = _burst_stack(read)
    rows, cols = int(whole.shape[1]), int(whole.shape[2])
    if shared_bytes(rows, cols, read.burst_dates) > read.memory_budget:
        return None
    source = None
    if read.grid:
        cat = _open_cached(read.catalog)
        stack = open_slc_stack(cat, read.burst_id, [read.day], read.polarization,
                               acquisitions=_acquisitions_cached(cat, read.burst_id))
        if "height" in stack.coords and stack["height"].ndim == 2:
            if read.height_from:
                stack = stack.drop_vars("height")  # read once, by the read of height_from
            else:
                source = lazy_source(stack["height"].data)
    else:
        stack = whole.sel(date=[np.datetime64(read.day, "ns")])
        stack = stack.drop_vars([k for k, v in stack.coords.items() if v.ndim == 2])
    with dask.config.set(scheduler="synchronous"), reusing_open_files():
        loaded = stack.compute()
    grid = ({k: np.asarray(v.values) for k, v in loaded.coords.items() if v.ndim == 2}
            if read.grid else None)
    written = None
    if read.geolocation and grid is not None and {"latitude", "longitude"} <= set(grid):
        written = _shared_geolocation(read, grid)
    return {"samples": np.asarray(loaded.values[0], dtype=np.complex64), "grid": grid,
            "height_source": source, "geolocation": written}


#: Name prefix of the geolocation files shared reads write for the batches of a burst.
_SHARED_GEOLOCATION = ".pairscope-geolocation-"


def _shared_geolocation(read: SharedRead, grid: Mapping[Any, np.ndarray]) -> dict[str, Any]:
    """Write the geolocation file of ``grid`` for the pairs of a burst (`SharedRead.geolocation`)
    under a name that `pairscope.io.export.remove_stale_temporaries` removes once this process is
    gone: ``{"path", "georeference", "bands", "gcps"}``."""
    directory, georeference = read.geolocation.split("\n")
    lat = np.asarray(grid["latitude"], dtype="float64")
    lon = np.asarray(grid["longitude"], dtype="float64")
    height = grid.get("height")
    gcps = export.gcp_grid(lat, lon, height) if georeference == "gcps" else None
    folder = pathlib.Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (f"{_SHARED_GEOLOCATION}{read.run}-{read.day}.{export.temporary_suffix()}")
    bands = export.write_geolocation(lat, lon, path, georeference=georeference, gcps=gcps)
    return {"path": str(path), "georeference": georeference, "bands": bands, "gcps": gcps}


def _seed_geolocation(cache: export.GeolocationCache, job: PairJob,
                      shared: Mapping[str, Any] | None) -> None:
    """Start ``cache`` from the burst's shared geolocation file when one was written for these
    pairs' folder and georeference (`_shared_geolocation`)."""
    if job.geometry != "radar":
        return
    for held in (shared or {}).values():
        made = held.get("geolocation") if held else None
        if (made and made["georeference"] == job.georeference
                and pathlib.Path(made["path"]).parent == job.directory):
            grid = held["grid"]
            cache.seed(np.asarray(grid["latitude"], dtype="float64"),
                       np.asarray(grid["longitude"], dtype="float64"),
                       None if grid.get("height") is None
                       else np.asarray(grid["height"], dtype="float64"),
                       made["georeference"], pathlib.Path(made["path"]), made["bands"],
                       made["gcps"])
            return


def _with_shared(stack: Any, wanted: Sequence[str], shared: Mapping[str, Any] | None,
                 grid_day: str | None = None) -> Any:
    """``stack`` with its samples and 2-D coords taken from `read_shared` results (day -> result;
    ``"height"`` -> the read holding the burst's height grid, when the grid's read left it out)
    when every date and the grid of ``grid_day`` (default: the stack's first date) were read,
    the height from the same source as the stack's own; else unchanged (the batch reads them
    itself)."""
    from pairscope.io.rasters import lazy_source

    if not shared:
        return stack
    days = [_day(d) for d in stack["date"].values]
    grid_day = grid_day or days[0]
    if (sorted(days) != sorted(wanted) or any(shared.get(d) is None for d in days)
            or shared.get(grid_day) is None):
        return stack
    grid = shared[grid_day]["grid"]
    names = {k for k, v in stack.coords.items() if v.ndim == 2}
    if grid is not None and "height" in names and "height" not in grid:
        held = shared.get("height")
        source = lazy_source(stack["height"].data)
        if (held is None or held.get("grid") is None or "height" not in held["grid"]
                or source is None or held.get("height_source") != source):
            return stack
        grid = {**grid, "height": held["grid"]["height"]}
    if grid is None or set(grid) != names:
        return stack
    out = stack.copy(data=np.stack([shared[d]["samples"] for d in days]))
    return out.assign_coords({k: (stack[k].dims, v) for k, v in grid.items()})


#: Per worker process, for the current run: the geolocation file last given to the items of a
#: burst's folder, by georeference and by what the batch's grid was read from (`_grid_key`), with
#: its GCPs. A later batch reading the same grid links it instead of writing the same bytes again:
#: above the block budget (a full-size burst) every pair is a batch of its own, and writing the
#: float64 grid was ~3.9 s of its ~11 s.
_GEOLOCATION_FILES: dict[tuple[str, ...], tuple[Any, ...]] = {}
_GEOLOCATION_LOCK = threading.Lock()  # a worker of several threads runs several batches at once


def _grid_key(batch: Batch, stack: Any) -> tuple[str, ...] | None:
    """What identifies the latitude / longitude / height grid ``stack`` reads, for the items of
    ``batch``: the run, the burst's folder, the georeference and each grid array's source
    (`pairscope.io.rasters.lazy_source`: the same file, bands, shape and type read the same
    values within a run); None outside a run, in map geometry, or when a grid array is not one
    raster read by windows."""
    from pairscope.io.rasters import lazy_source

    first = batch.jobs[0]
    if not batch.run or first.geometry != "radar":
        return None
    names = [n for n in ("latitude", "longitude", "height")
             if n in stack.coords and stack[n].ndim == 2]  # fmt: skip
    if not {"latitude", "longitude"} <= set(names):
        return None
    sources = [lazy_source(stack[n].data) for n in names]
    if any(source is None for source in sources):
        return None
    return (batch.run, str(first.directory), first.georeference, *names, *map(str, sources))


def _seed_from_earlier_batch(cache: export.GeolocationCache, key: tuple[str, ...] | None,
                             result: Any) -> None:
    """Start ``cache`` from the geolocation file an earlier batch of this run wrote for the same
    grid (`_GEOLOCATION_FILES`), when it is still there and ``cache`` holds none yet."""
    if key is None or cache.held() is not None:
        return
    with _GEOLOCATION_LOCK:
        for other in [k for k in _GEOLOCATION_FILES if k[0] != key[0]]:
            del _GEOLOCATION_FILES[other]  # another run: its files may have changed since
        earlier = _GEOLOCATION_FILES.get(key)
    if earlier is None or not pathlib.Path(earlier[0]).is_file():
        return
    path, georeference, bands, gcps = earlier
    cache.seed(*export.radar_grid(result), georeference, pathlib.Path(path), bands, gcps)


def compute_batch(
    batch: Batch,
    hook: export.StageHook | None = None,
    shared: Mapping[str, Any] | None = None,
) -> list[dict[str, Any]]:
    """Compute and write every pair of ``batch`` (runs on a worker): its dates read once, all pairs
    estimated together by the pipeline, each pair written on a writer thread while the next ones
    are estimated. ``shared``: results of `read_shared` (day -> samples, with the grid for the
    first date; ``"height"`` -> the read holding the burst's height grid, see `plan_shared_reads`)
    made once for all the batches of a burst; the batch reads whatever is missing itself. Returns one summary per pair (item path, mean coherence, seconds)."""
    import dask

    from pairscope.io.rasters import open_slc_stack, reusing_open_files

    start = time.perf_counter()
    first = batch.jobs[0]
    cat = _open_cached(first.catalog)
    all_acquisitions = sorted(_acquisitions_cached(cat, first.burst_id, first.polarization),
                              key=lambda a: a.date)  # fmt: skip
    wanted = batch.dates
    by_day = {_day(a.date): a for a in all_acquisitions if _day(a.date) in wanted}
    missing = sorted(set(wanted) - set(by_day))
    if missing:
        raise InputError(f"{batch.label}: no {first.polarization} acquisition on {', '.join(missing)}")
    grid_day = batch.grid_day
    stack = open_slc_stack(cat, first.burst_id, sorted({grid_day, *wanted}), first.polarization,
                           acquisitions=_acquisitions_cached(cat, first.burst_id))
    if grid_day not in wanted:  # its grid places the outputs; its samples are never read
        stack = stack.isel({stack.dims[0]: slice(1, None)})
    rows, cols = stack.sizes[stack.dims[1]], stack.sizes[stack.dims[2]]
    nbytes = len(wanted) * rows * cols * 12  # complex64 samples + float32 window power sums
    if len(batch.jobs) > 1 and nbytes > batch.memory_budget:  # more dates than the budget holds
        half = len(batch.jobs) // 2
        parts = (batch.jobs[:half], batch.jobs[half:])
        return [s for part in parts
                for s in compute_batch(dataclasses.replace(batch, jobs=part), hook, shared)]
    recipe = first.recipe
    grid_key = _grid_key(batch, stack)  # before the shared reads replace its lazy grid
    baselines = _burst_baselines(cat, all_acquisitions, [by_day[d] for d in wanted], recipe.convention)
    summaries: list[dict[str, Any]] = []
    with (dask.config.set(scheduler="synchronous"), _kernel_threads(),
          _writer() as writer):
        sums = None
        if nbytes <= batch.max_block_bytes or len(batch.jobs) > 1:
            with reusing_open_files():  # the first date's samples and grid: one decompression
                stack = _with_shared(stack, wanted, shared, grid_day).load()  # the dates whole
            sums = coherence.DateSums(stack, recipe.window)  # each date's power sums made once
            step = 2  # estimate two pairs, hand them to the writer, estimate the next two
        else:  # one pair above the block budget: row blocks with a halo (dask)
            block = max(2 * first.window[0], int(rows * batch.max_block_bytes / nbytes))
            stack = stack.chunk({stack.dims[0]: -1, stack.dims[1]: block, stack.dims[2]: -1})
            step = 1
        pending: list[concurrent.futures.Future[dict[str, Any]]] = []
        cache = export.GeolocationCache()  # the burst's grid: GCPs and geolocation file made once
        _seed_geolocation(cache, first, shared)  # ... or once for the burst by its shared reads
        for k in range(0, len(batch.jobs), step):
            chunk = batch.jobs[k : k + step]
            pairs = [(np.datetime64(j.reference, "ns"), np.datetime64(j.secondary, "ns")) for j in chunk]
            with reusing_open_files():  # row blocks: each file opened once, not per block
                result = pipeline.compute_pairs(stack, pairs, recipe, baselines=baselines,
                                                sums=sums).compute()
            if k == 0:  # ... or once for the run by an earlier batch of the same grid
                _seed_from_earlier_batch(cache, grid_key, result)
            for n, job in enumerate(chunk):
                one = result.isel(pair=[n])
                inputs = [by_day[job.reference].item, by_day[job.secondary].item]
                pending.append(writer.submit(_write_pair, job, one, inputs, hook, start, cache))
        for future in pending:
            summaries.append(future.result())
        held = cache.held()
        if grid_key is not None and held is not None:
            with _GEOLOCATION_LOCK:
                _GEOLOCATION_FILES[grid_key] = held
    return summaries


def _write_pair(job: PairJob, result: Any, inputs: Sequence[Any],
                hook: export.StageHook | None, start: float,
                cache: export.GeolocationCache | None = None) -> dict[str, Any]:
    item = export.export_pair(
        result, 0, job.directory, inputs=inputs, burst_id=job.burst_id,
        polarization=job.polarization, window=job.window, bias_corrected=job.bias_corrected,
        item_id=job.item_id, hook=hook, encoding=job.encoding,  # type: ignore[arg-type]
        georeference=job.georeference if job.geometry == "radar" else None,  # type: ignore[arg-type]
        extra_properties={"pairscope:settings_digest": job.digest}, geolocation_cache=cache,
    )
    export.link_item(job.item_path, job.out)  # as the run's end links it (then: unchanged)
    return {
        "item": str(job.item_path),
        "mean_coherence": item.properties.get("pairscope:mean_coherence"),
        "seconds": time.perf_counter() - start,
        "worker": f"{socket.gethostname()}:{os.getpid()}",
    }


def compute_pair(
    job: PairJob,
    hook: export.StageHook | None = None,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
) -> dict[str, Any]:
    """Compute and write one pair (a batch of one). Returns the item path and a summary."""
    return compute_batch(Batch((job,), max_block_bytes), hook)[0]


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
                           item_id=job.item_id, source=source, hook=hook,
                           encoding=job.encoding,  # type: ignore[arg-type]
                           georeference=job.georeference if job.geometry == "radar" else None)  # type: ignore[arg-type]
    _record_digest(job.item_path, job.digest)
    return {"item": str(job.item_path), "seconds": time.perf_counter() - start,
            "note": f"look geometry from {source}"}


def _record_digest(item_path: pathlib.Path, digest: str) -> None:
    data = json.loads(item_path.read_text(encoding="utf-8"))
    data.setdefault("properties", {})["pairscope:settings_digest"] = digest
    tmp = item_path.with_name(f".{item_path.name}.{os.getpid()}.digest.tmp")
    tmp.write_text(json.dumps(data, indent=2), encoding="utf-8")
    os.replace(tmp, item_path)


def _recorded_digest(item_path: pathlib.Path) -> str | None:
    try:
        data = json.loads(item_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    value = data.get("properties", {}).get("pairscope:settings_digest")
    return str(value) if value is not None else None


def _progress_line(done: int, total: int, label: str, note: str, started: float) -> str:
    elapsed = max(time.perf_counter() - started, 1e-9)
    rate = 60.0 * done / elapsed
    width = len(str(total))
    return f"[{done:>{width}}/{total}] {100 * done / total:5.1f}%  {label}  {note}  ({rate:.1f} tasks/min)"


@contextlib.contextmanager
def output_lock(root: pathlib.Path) -> Iterator[None]:
    """Hold ``root/.pairscope-compute.lock`` for the run: a second run on the same folder is
    refused (OutputLockedError) while the first one's process lives; a lock left by a dead
    process on this host is taken over."""
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_NAME
    me = f"{socket.gethostname()} {os.getpid()}"
    for _ in range(2):
        try:
            fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                host, pid = path.read_text(encoding="utf-8").split()
            except (OSError, ValueError):
                host, pid = "", "0"
            if host == socket.gethostname() and not _alive(int(pid)):
                path.unlink(missing_ok=True)  # a dead run's lock
                continue
            raise OutputLockedError(
                f"{root} is being written by another pairscope compute run ({host} pid {pid}); "
                f"wait for it to finish, or use another --out (remove {path} only if that run "
                "is certainly gone)"
            ) from None
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(me)
        break
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            if path.read_text(encoding="utf-8") == me:
                path.unlink()


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def run(
    jobs: Sequence[PairJob],
    *,
    client: Any = None,
    scheduler: str | None = None,
    workers: int | None = None,
    geometry: bool = True,
    hook: export.StageHook | None = None,
    max_block_bytes: int = DEFAULT_MAX_BLOCK_BYTES,
    batch_pairs: int | None = None,
    memory_budget: int = DEFAULT_MEMORY_BUDGET,
    progress: IO[str] | None | str = "stderr",
) -> RunReport:
    """Run ``jobs`` on dask.distributed, skipping pairs already complete with the same settings.

    With ``geometry`` each burst's look-vector / incidence layers are written once as well
    (`compute_geometry`), unless already there. ``client``: an existing ``distributed.Client``;
    else ``scheduler`` (an address such as ``tcp://host:8786``); else a ``LocalCluster`` of
    ``workers`` processes (default: CPU count), one thread each, closed at the end. Progress lines
    go to ``progress`` (a text stream; default ``sys.stderr`` at call time; None: silent). The
    output folders are locked for the run and end as a static STAC catalog.
    """
    report = RunReport()
    started = time.perf_counter()
    stream = sys.stderr if progress == "stderr" else progress

    def say(text: str) -> None:
        if stream is not None and not isinstance(stream, str):
            print(text, file=stream, flush=True)

    roots = sorted({pathlib.Path(j.out) for j in jobs})
    with contextlib.ExitStack() as locks:
        for root in roots:
            locks.enter_context(output_lock(root))
            stale = export.remove_stale_temporaries(root)
            if stale:
                say(f"removed {len(stale)} temporary file(s) left by an interrupted run")
        todo_pairs: list[PairJob] = []
        for job in jobs:
            if export.is_complete(job.item_path):
                if _recorded_digest(job.item_path) == job.digest:
                    report.skipped.append(job.item_path)
                    continue
                report.recomputed.append(job.item_path)
            todo_pairs.append(job)
        if report.recomputed:
            note = (f"{len(report.recomputed)} complete pair(s) were made with other settings "
                    "(window, bias correction, encoding, geometry, spacing, ...): recomputing them")
            report.notes.append(note)
            say(note)
        geometry_jobs: list[GeometryJob] = []
        if geometry:
            for key in sorted({(j.catalog, j.burst_id, j.polarization, j.out, j.geometry, j.spacing,
                                j.encoding, j.georeference) for j in jobs}):  # fmt: skip
                geo = GeometryJob(*key)
                if export.is_complete(geo.item_path) and _recorded_digest(geo.item_path) == geo.digest:
                    report.geometry.append(geo.item_path)
                else:
                    geometry_jobs.append(geo)
        if todo_pairs or geometry_jobs:
            with _cluster(client, scheduler, workers) as active:
                slots = max(1, sum(active.nthreads().values()))
                todo: list[Batch | GeometryJob] = list(plan_batches(
                    todo_pairs, batch_pairs=batch_pairs, memory_budget=memory_budget,
                    date_bytes=None, max_block_bytes=max_block_bytes, workers=slots,
                ))  # fmt: skip
                n_batches = len(todo)
                todo += geometry_jobs
                say(f"{len(jobs)} pair(s): {len(report.skipped)} already complete, {len(todo_pairs)} "
                    f"to compute in {n_batches} batch(es) on {slots} worker thread(s)"
                    + (f"; {len(geometry_jobs)} burst geometry item(s)" if geometry_jobs else ""))
                _run_on_cluster(todo, report, active, hook, say, started)
        else:
            say(f"{len(jobs)} pair(s): all already complete")
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
        for root in roots:
            if root.is_dir() and any(export.is_complete(j.item_path) for j in jobs
                                     if pathlib.Path(j.out) == root):  # fmt: skip
                report.catalog = export.write_output_catalog(root)
    report.seconds = time.perf_counter() - started
    return report


def _submit(client: Any, task: Batch | GeometryJob | SharedRead, hook: export.StageHook | None,
            shared: Mapping[str, Any] | None = None) -> Any:
    key = f"pairscope-{task.item_id}-{os.urandom(4).hex()}"
    if isinstance(task, GeometryJob):
        return client.submit(compute_geometry, task, hook, pure=False, key=key)
    if isinstance(task, SharedRead):
        return client.submit(read_shared, task, pure=False, key=key)
    return client.submit(compute_batch, task, hook, shared or None, pure=False, key=key)


def plan_shared_reads(batches: Sequence[Batch], run: str = "") -> list[dict[str, SharedRead]]:
    """For each batch, the `SharedRead` s it takes its dates from (day -> read; ``{}`` for a burst
    computed in one batch): every date of a burst split into several batches is read once for all
    of them, with the grid when it is some batch's grid date (`Batch.grid_day`: one date for
    the batches of one `plan_jobs`); the height grid only with the burst's earliest such date,
    which batches of another grid date also get under ``"height"``. Reads of one date are one
    object."""
    groups: dict[tuple[str, str, str], list[Batch]] = {}
    for batch in batches:
        first = batch.jobs[0]
        groups.setdefault((first.catalog, first.burst_id, first.polarization), []).append(batch)
    plans: dict[int, dict[str, SharedRead]] = {}
    for (catalog, burst, pol), members in groups.items():
        if len(members) < 2:
            continue
        days = sorted({d for b in members for d in (*b.dates, b.grid_day)})
        firsts = {b.grid_day for b in members}
        budget = min(b.memory_budget for b in members)
        primary = min(firsts)
        places = {(str(j.directory), j.georeference) for b in members for j in b.jobs
                  if j.geometry == "radar"}
        geolocation = "\n".join(places.pop()) if len(places) == 1 else ""
        reads = {d: SharedRead(catalog, burst, pol, d, len(days), budget, grid=d in firsts, run=run,
                               height_from="" if d == primary or d not in firsts else primary,
                               geolocation=geolocation if d == primary else "")
                 for d in days}
        for batch in members:
            plans[id(batch)] = {d: reads[d] for d in (*batch.dates, batch.grid_day)}
            if batch.grid_day != primary:
                plans[id(batch)]["height"] = reads[primary]
    return [plans.get(id(b), {}) for b in batches]


def local_cluster(workers: int) -> Any:
    """A ``distributed.LocalCluster`` of ``workers`` one-thread processes, as `run` starts one.

    dask's nanny starts workers with ``MALLOC_TRIM_THRESHOLD_=65536``, which also fixes glibc's
    mmap threshold: every large array is then fresh zeroed pages from the kernel (measured here:
    15 s of system time in a 38 s one-worker run of the demo's 28 pairs, against 2.6 s without).
    pairscope's workers allocate and free tens of MB per pair, so they start without it.
    The scheduler and workers run with `LOCAL_CLUSTER_CONFIG` (no profiler, no GIL monitor)."""
    import dask
    from distributed import LocalCluster

    if workers < 1:
        raise InputError(f"--workers must be >= 1, got {workers}")
    environ = {k: v for k, v in dask.config.get("distributed.nanny.pre-spawn-environ", {}).items()
               if k != "MALLOC_TRIM_THRESHOLD_"}
    with dask.config.set({"distributed.nanny.pre-spawn-environ": environ, **LOCAL_CLUSTER_CONFIG}):
        return LocalCluster(  # type: ignore[no-untyped-call]
            n_workers=workers, threads_per_worker=1, processes=True, **LOCAL_CLUSTER_OPTIONS
        )


@contextlib.contextmanager
def _cluster(client: Any, scheduler: str | None, workers: int | None) -> Iterator[Any]:
    """The given client; else one to ``scheduler``; else a `local_cluster` of ``workers``
    (default: CPU count), closed at the end."""
    from distributed import Client

    if client is not None:
        yield client
        return
    if scheduler:
        with Client(scheduler) as own:  # type: ignore[no-untyped-call]
            yield own
        return
    with local_cluster(workers or os.cpu_count() or 1) as cluster, Client(cluster) as own:  # type: ignore[no-untyped-call]
        yield own


def _run_on_cluster(
    todo: Sequence[Batch | GeometryJob],
    report: RunReport,
    client: Any,
    hook: export.StageHook | None,
    say: Callable[[str], None],
    started: float,
) -> None:
    batches = [t for t in todo if isinstance(t, Batch)]
    token = os.urandom(8).hex()
    try:
        _run_tasks(todo, batches, token, report, client, hook, say, started)
    finally:  # the geolocation files shared reads wrote: linked into the items by now
        for directory in sorted({j.directory for b in batches for j in b.jobs}):
            for path in directory.glob(f"{_SHARED_GEOLOCATION}{token}-*"):
                with contextlib.suppress(OSError):
                    path.unlink()


def _run_tasks(
    todo: Sequence[Batch | GeometryJob],
    batches: Sequence[Batch],
    token: str,
    report: RunReport,
    client: Any,
    hook: export.StageHook | None,
    say: Callable[[str], None],
    started: float,
) -> None:
    from distributed import as_completed

    total = sum(len(t.jobs) if isinstance(t, Batch) else 1 for t in todo)
    plans = dict(zip(map(id, batches), plan_shared_reads(batches, token), strict=True))
    reads: dict[SharedRead, Any] = {}  # each shared read submitted once, before its first batch
    users: dict[SharedRead, int] = {}
    futures: dict[Any, Batch | GeometryJob] = {}
    for task in todo:
        shared: dict[str, Any] = {}
        for name, read in plans.get(id(task), {}).items():
            if read not in reads:
                reads[read] = _submit(client, read, hook)
            users[read] = users.get(read, 0) + 1
            shared[name] = reads[read]
        submitted = dataclasses.replace(task, run=token) if isinstance(task, Batch) else task
        futures[_submit(client, submitted, hook, shared)] = task
    done = 0
    for future in as_completed(futures):  # type: ignore[no-untyped-call]
        task = futures[future]
        for read in plans.get(id(task), {}).values():  # drop a shared read after its last batch
            users[read] -= 1
            if not users[read]:
                reads.pop(read).release()
        try:
            summary = future.result()
        except Exception as err:  # a failed task must not stop the others
            message = f"{type(err).__name__}: {err}"
            future.release()
            if isinstance(task, GeometryJob):
                done += 1
                report.failed.append((task, message))
                say(_progress_line(done, total, task.label, f"FAILED {message}", started))
                continue
            for job in task.jobs:  # what the batch wrote before it failed is kept
                done += 1
                if export.is_complete(job.item_path) and _recorded_digest(job.item_path) == job.digest:
                    report.written.append(job.item_path)
                    say(_progress_line(done, total, job.label, "written before the failure", started))
                else:
                    report.failed.append((job, message))
                    say(_progress_line(done, total, job.label, f"FAILED {message}", started))
            continue
        future.release()
        if isinstance(task, GeometryJob):
            done += 1
            seconds = f"{summary['seconds']:.1f} s"
            if summary["item"]:
                report.geometry.append(pathlib.Path(summary["item"]))
            report.notes.append(summary["note"])
            say(_progress_line(done, total, task.label, f"{summary['note']}  {seconds}", started))
            continue
        for job, one in zip(task.jobs, summary, strict=True):
            done += 1
            report.written.append(pathlib.Path(one["item"]))
            coh = one["mean_coherence"]
            note = f"mean coherence {coh:.3f}" if coh is not None else "no valid pixel"
            say(_progress_line(done, total, job.label, f"{note}  {one['seconds']:.1f} s", started))


def main(args: argparse.Namespace) -> int:
    """Entry point of ``pairscope compute`` (see ``pairscope compute --help``)."""
    err = sys.stderr
    try:
        jobs = plan_jobs(
            args.catalog, list(args.burst or []), args.pairs, args.window,
            getattr(args, "polarization", "VV") or "VV", args.out,
            bias_corrected=bool(getattr(args, "bias_corrected", False)),
            geometry=getattr(args, "geometry", "map") or "map",
            spacing=float(getattr(args, "spacing", 20.0) or 20.0),
            encoding=getattr(args, "encoding", "compact") or "compact",
            georeference=getattr(args, "georeference", "gcps") or "gcps",
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
    except OutputLockedError as e:
        print(f"pairscope compute: error: {e}", file=err)
        return 2
    except (OSError, TimeoutError) as e:
        where = f"the scheduler at {args.scheduler}" if args.scheduler else "a local cluster"
        print(f"pairscope compute: error: cannot run on {where}: {e}", file=err)
        return 2
    print(
        f"{len(report.written)} written, {len(report.skipped)} already complete, "
        f"{len(report.failed)} failed in {report.seconds:.1f} s -> {pathlib.Path(args.out).resolve()}",
        file=err,
    )
    if report.catalog is not None:
        print(f"  STAC catalog: {report.catalog}", file=err)
    for note in report.notes:
        print(f"  {note}", file=err)
    for job, message in report.failed:
        print(f"  failed {job.label}: {message} (rerun the same command to retry)", file=err)
    return 0 if report.ok else 1
