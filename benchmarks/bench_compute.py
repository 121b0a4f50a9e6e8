"""Benchmark ``pairscope compute``: pairs per minute against the number of dask workers.

Builds a demo catalog (``--size``, default ``default``: 8 dates of ~600 x 3000) unless
``--catalog`` is given, then computes the same pairs (``--pairs``, default ``all``) three ways, each
into a fresh output folder:

- baseline: `pairscope.compute.compute_pair` called in a loop in this process (no dask);
- a LocalCluster of 1 and of 2 worker processes (``--workers``), one thread each.

Clusters are started and warmed up (imports, numba) before timing; start-up is printed apart.
The configurations are interleaved for ``--rounds`` rounds and the best round of each is
reported (the machine is shared: the best round is the least disturbed one), with ratios
against the baseline. Run: ``.venv/bin/python benchmarks/bench_compute.py [--size small]``.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import sys
import tempfile
import time
from typing import Any


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--size", default="default", help="demo size: small | default | full")
    parser.add_argument("--pairs", default="all", help="pair rule (see pairscope compute --help)")
    parser.add_argument("--window", default="5x21")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--catalog", default=None, help="use this catalog instead of building a demo")
    args = parser.parse_args(argv)

    from distributed import Client, LocalCluster

    from pairscope import compute
    from pairscope.io.catalog import list_acquisitions, open_catalog, search_bursts

    with tempfile.TemporaryDirectory(prefix="pairscope-bench-compute-") as tmp, \
            contextlib.ExitStack() as stack:
        root = pathlib.Path(tmp)
        t0 = time.perf_counter()
        catalog = args.catalog or _build_demo(root / "demo", args.size)
        built = time.perf_counter() - t0
        cat = open_catalog(catalog)
        bursts = [b.burst_id for b in search_bursts(cat)]
        acqs = list_acquisitions(cat, bursts[0], polarization="VV")
        origin = "given" if args.catalog else f"built in {built:.1f} s"
        print(f"catalog: {catalog} ({origin})")
        print(f"bursts: {', '.join(bursts)}; {len(acqs)} dates; cpu count {os.cpu_count()}")
        counter = iter(range(10**6))

        def jobs() -> list[compute.PairJob]:
            return compute.plan_jobs(catalog, bursts, args.pairs, args.window, "VV",
                                     root / f"out{next(counter)}")

        n = len(jobs())
        print(f"{n} pairs, window {args.window}, rule {args.pairs!r}, {args.rounds} rounds")
        compute.compute_pair(jobs()[0])  # warm up imports / numba here, outside the timings

        clients: dict[int, Any] = {}
        startup: dict[int, float] = {}
        for workers in args.workers:
            t0 = time.perf_counter()
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, **compute.LOCAL_CLUSTER_OPTIONS))
            client = stack.enter_context(Client(cluster))
            client.wait_for_workers(workers)
            startup[workers] = time.perf_counter() - t0
            client.run(_warm, catalog, bursts[0], args.window)
            clients[workers] = client

        times: dict[str, list[float]] = {}
        for _ in range(args.rounds):
            t0 = time.perf_counter()
            for job in jobs():
                compute.compute_pair(job)
            times.setdefault("baseline", []).append(time.perf_counter() - t0)
            for workers, client in clients.items():
                t0 = time.perf_counter()
                report = compute.run(jobs(), client=client, geometry=False, progress=None)
                elapsed = time.perf_counter() - t0
                if not report.ok or len(report.written) != n:
                    print(f"run with {workers} workers failed: {report.failed}", file=sys.stderr)
                    return 1
                times.setdefault(f"w{workers}", []).append(elapsed)
            load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
            print(f"  round done; load average {load}")

        base_rate = 60.0 * n / min(times["baseline"])
        print(f"\n{'setup':<28} {'start-up s':>10} {'best run s':>10} {'pairs/min':>10} "
              f"{'x baseline':>10}")
        print(f"{'in-process loop (baseline)':<28} {0.0:>10.1f} {min(times['baseline']):>10.2f} "
              f"{base_rate:>10.1f} {1.0:>10.2f}")
        for workers in clients:
            best = min(times[f"w{workers}"])
            rate = 60.0 * n / best
            label = f"LocalCluster {workers} worker(s)"
            print(f"{label:<28} {startup[workers]:>10.1f} {best:>10.2f} {rate:>10.1f} "
                  f"{rate / base_rate:>10.2f}")
        print("(all rounds, s: " + "; ".join(
            f"{k} " + ", ".join(f"{t:.1f}" for t in v) for k, v in times.items()) + ")")
    return 0


def _build_demo(directory: pathlib.Path, size: str) -> str:
    from pairscope.sim.demo import build_catalog

    return str(build_catalog(directory, seed=0, size=size))


def _warm(catalog: str, burst: str, window: str) -> None:
    import tempfile

    from pairscope import compute

    with tempfile.TemporaryDirectory() as tmp:
        job = compute.plan_jobs(catalog, [burst], "seq:1", window, "VV", tmp)[0]
        compute.compute_pair(job)


if __name__ == "__main__":
    sys.exit(main())
