"""Command line: ``pairscope serve | demo build | compute | version``.

Each sub-command imports its implementation lazily so that ``pairscope --help`` stays instant and
the core never pulls in the UI stack.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pairscope._version import __version__


def _serve(args: argparse.Namespace) -> int:
    import faulthandler
    import logging
    import signal

    from pairscope.ui.app import serve

    # `kill -USR1 <pid>` writes every thread's stack to stderr (a stuck job is seen, not guessed)
    if hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)

    # the server's own log: jobs and their catalogs (locations redacted, tokens never), one line each
    ui_log = logging.getLogger("pairscope.ui")
    if not ui_log.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("pairscope: %(asctime)s %(message)s"))
        ui_log.addHandler(handler)
        ui_log.setLevel(logging.INFO)
        ui_log.propagate = False

    return serve(
        catalog=args.catalog,
        port=args.port,
        address=args.address,
        allow_websocket_origin=args.allow_websocket_origin,
        show=args.show,
    )


def _demo_build(args: argparse.Namespace) -> int:
    from pairscope.sim.demo import build_catalog

    path = build_catalog(args.directory, seed=args.seed, size=args.size)
    print(path)
    return 0


def _compute(args: argparse.Namespace) -> int:
    from pairscope.compute import main as compute_main

    return compute_main(args)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pairscope", description=__doc__)
    parser.add_argument("--version", action="version", version=f"pairscope {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="serve the explorer app")
    serve.add_argument("--catalog", default=None, help="STAC API URL or static catalog path (default: demo)")
    serve.add_argument("--port", type=int, default=5006)
    serve.add_argument("--address", default="127.0.0.1")
    serve.add_argument("--allow-websocket-origin", action="append", default=None)
    serve.add_argument("--show", action="store_true", help="open a browser")
    serve.set_defaults(func=_serve)

    demo = sub.add_parser("demo", help="the built-in simulated demo catalog")
    demo_sub = demo.add_subparsers(dest="demo_command", required=True)
    build = demo_sub.add_parser("build", help="write the demo STAC catalog to DIRECTORY")
    build.add_argument("directory")
    build.add_argument("--seed", type=int, default=0)
    build.add_argument("--size", default="default",
                       help="default (3 adjoining bursts, 8 dates of 1500 x 640, about a minute) | "
                       "small (3 bursts, 6 dates of 150 x 600, seconds) | "
                       "full (1 whole burst, 10 dates of 1500 x 21000, ~15 minutes, ~7 GB)")
    build.set_defaults(func=_demo_build)

    compute = sub.add_parser(
        "compute",
        help="compute many pairs/bursts on dask.distributed",
        description="Compute coherence, phase and valid-sample counts for the pairs of one or more "
        "bursts (the app's recipe, pairscope.pipeline) on dask.distributed, writing COGs and STAC "
        "items under --out as pairs finish; rerunning resumes.",
        epilog="example: pairscope compute --catalog demo/catalog.json --burst T117_249435_IW2 "
        "--pairs seq:2 --window 5x21 --out results/\n"
        "the output folder is a static STAC catalog (results/catalog.json) that GIS tools, "
        "pystac-client and titiler open.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    compute.add_argument("--catalog", required=True, metavar="URL_OR_PATH",
                         help="STAC API root URL or static catalog.json, e.g. demo/catalog.json")
    compute.add_argument("--burst", action="append", required=True, metavar="BURST_ID",
                         help="burst id in any spelling, repeatable, e.g. T117_249435_IW2, "
                         "117_249435_IW2, '249435 IW2'")
    compute.add_argument("--pairs", default="max:24", metavar="RULE",
                         help="pair rule: all, max:DAYS, exact:DAYS[,DAYS], seq:N, ref:YYYYMMDD or "
                         "explicit YYYYMMDD_YYYYMMDD[,...] (default max:24), e.g. seq:2")
    compute.add_argument("--window", default="5x21", metavar="AZxRG",
                         help="boxcar window in azimuth x range samples (default 5x21), e.g. 4x19")
    compute.add_argument("--polarization", default="VV", metavar="POL",
                         help="VV, VH, HH or HV (default VV)")
    compute.add_argument(
        "--bias-corrected",
        action="store_true",
        help="apply the Touzi et al. (1999) bias correction to the coherence, with each pixel's "
        "number of valid samples as its looks",
    )
    compute.add_argument("--geometry", choices=("map", "radar"), default="map",
                         help="output geometry: map (geocoded to the snapped UTM grid of --spacing, "
                         "default) or radar (the SLC grid, georeferenced for GIS tools with GCPs or "
                         "geolocation arrays), e.g. --geometry radar")
    compute.add_argument("--encoding", choices=("compact", "float32"), default="compact",
                         help="compact (default: coherence uint8 x 1/250, phase int16 in radians, "
                         "counts in the smallest unsigned type, all with nodata and raster:scale) "
                         "or float32, e.g. --encoding float32")
    compute.add_argument("--georeference", choices=("gcps", "geolocation"), default="gcps",
                         help="how radar-geometry output is placed: gcps (ground control points in "
                         "each file, default) or geolocation (GDAL geolocation arrays; warp with "
                         "gdalwarp -geoloc), e.g. --georeference geolocation")
    compute.add_argument("--spacing", type=float, default=20.0, metavar="METRES",
                         help="map cell size in metres for --geometry map (default 20), e.g. 30")
    compute.add_argument("--out", required=True, metavar="DIR",
                         help="output folder (created; rerunning on it resumes), e.g. results/")
    compute.add_argument("--scheduler", default=None, metavar="ADDRESS",
                         help="a running dask scheduler, e.g. tcp://10.0.0.5:8786 (default: a local "
                         "cluster)")
    compute.add_argument("--workers", type=int, default=None, metavar="N",
                         help="processes of the local cluster (default: CPU count), e.g. 2")
    compute.set_defaults(func=_compute)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
