"""Demo catalog build time per stage (``python benchmarks/bench_demo.py [small|default|full]``).

Prints wall-clock seconds of: scene set-up (orbit solution, DEM, fields, exact geometry at the
nodes), simulation of all blocks, and the whole ``build_catalog`` (simulation + GeoTIFFs + EOF +
coherence products + STAC JSON), with the pixel throughput. A warm-up build of the small size
runs first so that numba compilation is not counted. Target: ``default`` in under 60 s on a
2-core machine.
"""

from __future__ import annotations

import pathlib
import sys
import tempfile
import time

from pairscope.sim.demo import build_catalog
from pairscope.sim.simulate import SIZES, make_scene


def main() -> None:
    sizes = sys.argv[1:] or ["small", "default"]
    with tempfile.TemporaryDirectory() as tmp:
        build_catalog(pathlib.Path(tmp) / "warmup", size="small")
        for size in sizes:
            lines, samples, dates = SIZES[size]
            t0 = time.perf_counter()
            scene = make_scene(size)
            t1 = time.perf_counter()
            for _ in scene.blocks():
                pass
            t2 = time.perf_counter()
            build_catalog(pathlib.Path(tmp) / size, size=size)
            t3 = time.perf_counter()
            samples_total = lines * samples * dates * 2  # VV and VH
            print(
                f"{size:8s} {dates} dates x {lines} x {samples}: scene {t1 - t0:6.2f} s, "
                f"simulate {t2 - t1:6.2f} s ({samples_total / (t2 - t1) / 1e6:5.1f} M samples/s), "
                f"build_catalog {t3 - t2:6.2f} s"
            )


if __name__ == "__main__":
    main()
