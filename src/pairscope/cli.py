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
    from pairscope.ui.app import serve

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
    build.add_argument("--size", default="default", help="default | small | full")
    build.set_defaults(func=_demo_build)

    compute = sub.add_parser("compute", help="compute many pairs/bursts on dask.distributed")
    compute.add_argument("--catalog", required=True)
    compute.add_argument("--burst", action="append", required=True)
    compute.add_argument("--pairs", default="max:24", help="e.g. all, max:24, exact:12, seq:2, ref:YYYYMMDD")
    compute.add_argument("--window", default="5x21")
    compute.add_argument("--polarization", default="VV")
    compute.add_argument(
        "--bias-corrected",
        action="store_true",
        help="apply the Touzi et al. (1999) bias correction to the coherence",
    )
    compute.add_argument("--out", required=True)
    compute.add_argument("--scheduler", default=None)
    compute.add_argument("--workers", type=int, default=None)
    compute.set_defaults(func=_compute)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = make_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    sys.exit(main())
