"""Benchmark ``pairscope compute``: pairs per minute against the number of dask workers.

Builds a demo catalog (``--size``, default ``default``: 8 dates of ~600 x 3000), then computes the
same pairs (``--pairs``, default ``all``) three ways, each into a fresh output folder:

- baseline: `pairscope.compute.compute_pair` called in a loop in this process (no dask);
- a LocalCluster of 1 and of 2 worker processes (``--workers``), one thread each.

Cluster start-up is timed apart from the run. Prints pairs/min and ratios against the baseline.
Run: ``.venv/bin/python benchmarks/bench_compute.py [--size small] [--workers 1 2]``.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import sys
import tempfile
import time


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", default="default", help="demo size: small | default | full")
    parser.add_argument("--pairs", default="all", help="pair rule (see pairscope compute --help)")
    parser.add_argument("--window", default="5x21")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--catalog", default=None, help="use this catalog instead of building a demo")
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    from pairscope import compute
    from pairscope.catalog import list_acquisitions, open_catalog, search_bursts

    with tempfile.TemporaryDirectory(prefix="pairscope-bench-compute-") as tmp:
        root = pathlib.Path(tmp)
        t0 = time.perf_counter()
        catalog = args.catalog or _build_demo(root / "demo", args.size)
        built = time.perf_counter() - t0
        cat = open_catalog(catalog)
        bursts = [b.burst_id for b in search_bursts(cat)]
        acqs = list_acquisitions(cat, bursts[0], polarization="VV")
        origin = "given" if args.catalog else f"built in {built:.1f} s"
        print(f"catalog: {catalog} ({origin})")
        load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
        print(f"bursts: {', '.join(bursts)}; {len(acqs)} dates; cpu count {os.cpu_count()}; "
              f"load average {load} (other work on the machine skews the numbers)")

        def jobs(name: str) -> list[compute.PairJob]:
            return compute.plan_jobs(catalog, bursts, args.pairs, args.window, "VV", root / name)

        baseline_jobs = jobs("baseline")
        n = len(baseline_jobs)
        print(f"{n} pairs, window {args.window}, rule {args.pairs!r}\n")
        # warm up numba / imports once, outside the timings
        compute.compute_pair(jobs("warmup")[0])

        t0 = time.perf_counter()
        for job in baseline_jobs:
            compute.compute_pair(job)
        base = time.perf_counter() - t0
        base_rate = 60.0 * n / base
        print(f"{'setup':<28} {'start-up s':>10} {'run s':>8} {'pairs/min':>10} {'x baseline':>10}")
        print(f"{'in-process loop (baseline)':<28} {0.0:>10.1f} {base:>8.2f} {base_rate:>10.1f} {1.0:>10.2f}")
        for workers in args.workers:
            t0 = time.perf_counter()
            with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                              **compute.LOCAL_CLUSTER_OPTIONS) as cluster, Client(cluster) as client:
                client.wait_for_workers(workers)
                startup = time.perf_counter() - t0
                # one warm-up task per worker (imports, numba compile) outside the timed run
                client.run(_warm, catalog, bursts[0], args.window)
                job_list = jobs(f"workers{workers}")
                t0 = time.perf_counter()
                report = compute.run(job_list, client=client, progress=None)
                elapsed = time.perf_counter() - t0
            if not report.ok:
                print(f"run with {workers} workers failed: {report.failed}", file=sys.stderr)
                return 1
            rate = 60.0 * len(report.written) / elapsed
            label = f"LocalCluster {workers} worker(s)"
            print(f"{label:<28} {startup:>10.1f} {elapsed:>8.2f} {rate:>10.1f} {rate / base_rate:>10.2f}")
    return 0


def _build_demo(directory: pathlib.Path, size: str) -> str:
    from pairscope.demo import build_catalog

    return str(build_catalog(directory, seed=0, size=size))


def _warm(catalog: str, burst: str, window: str) -> None:
    import tempfile

    from pairscope import compute

    with tempfile.TemporaryDirectory() as tmp:
        job = compute.plan_jobs(catalog, [burst], "seq:1", window, "VV", tmp)[0]
        compute.compute_pair(job)


if __name__ == "__main__":
    sys.exit(main())
