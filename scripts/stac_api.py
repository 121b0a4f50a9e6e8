#!/usr/bin/env python
"""Run a real STAC API (stac-fastapi-pgstac on PostgreSQL + PostGIS) on loopback, loaded with static
catalogs: the reference implementation pairscope's tests use (tests/plugins/stac_api.py imports this).

    python scripts/stac_api.py path/to/catalog.json [more catalogs...] [--port 8082]

prints the API URL and serves until Ctrl-C, then drops its database. Needs the Debian packages
``postgresql`` and ``postgresql-15-postgis-3`` (``scripts/system-deps.sh``) and the test extras
(``pypgstac[psycopg]``, ``stac-fastapi-pgstac``, ``uvicorn``). The cluster is started with
``pg_ctlcluster`` when it is down; a fresh role and database are created per run (run as root or as a
user allowed to ``runuser -u postgres``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import pathlib
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from typing import Any

ROLE_PREFIX = "pairscope_test"  # never "pgstac_admin": pypgstac migrate creates that role


class PgstacError(RuntimeError):
    """PostgreSQL, pypgstac or the API server could not be set up; the message says what to do."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60, check=False)


def ensure_postgres() -> tuple[str, int]:
    """Start the Debian cluster if it is down; return (version, port)."""
    if shutil.which("pg_lsclusters") is None or shutil.which("pg_ctlcluster") is None:
        raise PgstacError(
            "PostgreSQL is not installed (pg_lsclusters / pg_ctlcluster not found): run "
            "scripts/system-deps.sh (Debian packages postgresql, postgresql-15-postgis-3)"
        )
    out = subprocess.run(["pg_lsclusters", "-h"], capture_output=True, text=True, check=True).stdout
    rows = [r.split() for r in out.splitlines() if r.strip()]
    if not rows:
        raise PgstacError("no PostgreSQL cluster exists: create one with pg_createcluster")
    version, name, port, status = rows[0][0], rows[0][1], int(rows[0][2]), rows[0][3]
    if not list(pathlib.Path(f"/usr/share/postgresql/{version}/extension").glob("postgis.control")):
        raise PgstacError(
            f"PostGIS for PostgreSQL {version} is not installed: run scripts/system-deps.sh "
            f"(Debian package postgresql-{version}-postgis-3)"
        )
    if status != "online":
        r = subprocess.run(
            ["pg_ctlcluster", "--skip-systemctl-redirect", version, name, "start"],
            capture_output=True,
            text=True,
            check=False,
        )
        if r.returncode != 0:
            raise PgstacError(f"could not start PostgreSQL {version}/{name}: {r.stderr.strip()}")
    return version, port


def psql(port: int, sql: str, db: str = "postgres") -> None:
    r = _as_postgres(
        ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-p", str(port), "-d", db, "-c", sql]
    )
    if r.returncode != 0:
        raise PgstacError(f"psql failed ({sql.split()[0]} ...): {r.stderr.strip()}")


def create_database() -> dict[str, str]:
    """A new superuser role and database (unique names), migrated by pypgstac: the PG* env."""
    _, port = ensure_postgres()
    password = secrets.token_hex(12)
    suffix = f"{os.getpid()}_{secrets.token_hex(3)}"
    role = f"{ROLE_PREFIX}_{suffix}"
    dbname = f"pairscope_test_{suffix}"
    psql(port, f"CREATE ROLE {role} LOGIN SUPERUSER PASSWORD '{password}';")
    env = {
        "PGHOST": "127.0.0.1",
        "PGPORT": str(port),
        "PGUSER": role,
        "PGPASSWORD": password,
        "PGDATABASE": dbname,
    }
    try:
        psql(port, f"CREATE DATABASE {dbname} OWNER {role};")
        _pypgstac(env, ["migrate"])
    except PgstacError:
        drop_database(env)
        raise
    return env


def drop_database(env: dict[str, str]) -> None:
    port = int(env["PGPORT"])
    psql(port, f"DROP DATABASE IF EXISTS {env['PGDATABASE']} WITH (FORCE);")
    psql(port, f"DROP ROLE IF EXISTS {env['PGUSER']};")


def _pypgstac(env: dict[str, str], args: list[str]) -> None:
    r = subprocess.run(
        [sys.executable, "-m", "pypgstac.pypgstac", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    if r.returncode != 0:
        raise PgstacError(f"pypgstac {' '.join(args[:2])} failed: {r.stderr.strip()[-800:]}")


def load(
    env: dict[str, str],
    collections: list[dict[str, Any]],
    items: list[dict[str, Any]],
    work: pathlib.Path,
) -> None:
    """Load collections then items (pypgstac ``insert_ignore``)."""
    for table, docs in (("collections", collections), ("items", items)):
        path = work / f"{table}.ndjson"
        path.write_text("".join(json.dumps(d) + "\n" for d in docs))
        _pypgstac(env, ["load", table, str(path), "--method", "insert_ignore"])


def catalog_documents(
    catalog_json: pathlib.Path,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(collections, items) of a static catalog as dicts with absolute asset hrefs and no links
    (pgstac writes its own)."""
    import pystac

    cat = pystac.Catalog.from_file(str(catalog_json))
    colls, items = [], []
    for c in cat.get_all_collections():
        d = c.to_dict(include_self_link=False, transform_hrefs=False)
        for key, asset in c.assets.items():  # collection-level assets (e.g. geometry rasters)
            d["assets"][key]["href"] = asset.get_absolute_href() or asset.href
        d["links"] = []
        colls.append(d)
        for it in c.get_items():
            it2 = it.clone()
            it2.make_asset_hrefs_absolute()
            di = it2.to_dict(include_self_link=False, transform_hrefs=False)
            di["links"] = []
            di["collection"] = c.id
            items.append(di)
    return colls, items


class Server:
    """A pgstac database and a stac-fastapi-pgstac process on 127.0.0.1.

    ``start()`` creates and migrates the database and launches the server without waiting, so
    ``load()`` can run while it starts; ``wait_ready()`` returns the URL once it answers;
    ``close()`` stops the server and drops the database (idempotent)."""

    def __init__(self, work: pathlib.Path, port: int | None = None) -> None:
        self.work = work
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env: dict[str, str] | None = None
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = work / "uvicorn.log"

    def start(self) -> Server:
        self.env = create_database()
        with open(self.log_path, "w") as log_file:
            self.proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "stac_fastapi.pgstac.app:create_app",
                    "--factory",
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--log-level",
                    "warning",
                ],
                env={**os.environ, **self.env, "ENABLE_TRANSACTIONS_EXTENSIONS": "false"},
                cwd=self.work,  # pydantic-settings reads .env from the working directory
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        return self

    def load(self, collections: list[dict[str, Any]], items: list[dict[str, Any]]) -> None:
        if self.env is None:
            raise PgstacError("Server.load() before start()")
        load(self.env, collections, items, self.work)

    def wait_ready(self, timeout: float = 60.0) -> str:
        import requests

        if self.proc is None:
            raise PgstacError("Server.wait_ready() before start()")
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise PgstacError(
                    f"stac-fastapi-pgstac exited: {self.log_path.read_text()[-2000:]}"
                )
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{self.url}/collections", timeout=2).status_code == 200:
                    return self.url
            if time.monotonic() > deadline:
                raise PgstacError(
                    f"stac-fastapi-pgstac not ready after {timeout:.0f} s: "
                    f"{self.log_path.read_text()[-2000:]}"
                )
            time.sleep(0.2)

    def close(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None
        if self.env is not None:
            env, self.env = self.env, None
            drop_database(env)


@contextlib.contextmanager
def serve(
    collections: list[dict[str, Any]],
    items: list[dict[str, Any]],
    work: pathlib.Path,
    port: int | None = None,
) -> Iterator[str]:
    """A loaded API for the duration of the ``with`` block; its database is dropped afterwards."""
    server = Server(work, port)
    try:
        server.start()
        server.load(collections, items)
        yield server.wait_ready()
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("catalogs", nargs="+", type=pathlib.Path, help="static catalog.json files")
    parser.add_argument("--port", type=int, default=None, help="port on 127.0.0.1 (default: free)")
    args = parser.parse_args(argv)
    colls: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for c in args.catalogs:
        cc, ii = catalog_documents(c)
        colls += cc
        items += ii

    def _interrupt(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _interrupt)  # `kill` cleans up like Ctrl-C
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with serve(colls, items, pathlib.Path(tmp), args.port) as url:
                print(
                    f"STAC API with {len(colls)} collections and {len(items)} items at {url}",
                    flush=True,
                )
                with contextlib.suppress(KeyboardInterrupt):
                    while True:
                        time.sleep(3600)
        except PgstacError as err:
            print(f"error: {err}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
