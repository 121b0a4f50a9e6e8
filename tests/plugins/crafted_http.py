"""Crafted catalogs on loopback for the allow-list tests (``tests/test_57_locations.py``).

- ``crafted_http``: a :class:`CraftedHTTP` with two real HTTP servers on 127.0.0.1: ``url``, which
  serves exactly the documents and files a test puts there (``put``, ``redirect``; GDAL's byte
  ranges included) and records every request, and ``outside_url``, another port standing for an
  internal host the served app must never reach: it answers anything with a valid STAC catalog (so
  a request that got through would go on) and records every request in ``outside``. Routes and
  records are cleared for each test.
- Document builders (``catalog_doc``, ``collection_doc``, ``slc_item_doc``, ``write_json``) for
  catalogs served over http or written to a folder.
"""

from __future__ import annotations

import contextlib
import http.server
import json
import pathlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

BURST = "T117_249433_IW2"


# --------------------------------------------------------------------------------- documents
def catalog_doc(cid: str, links: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "type": "Catalog",
        "id": cid,
        "description": f"crafted catalog {cid}",
        "stac_version": "1.1.0",
        "links": list(links or []),
    }


def collection_doc(cid: str, links: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {
        "type": "Collection",
        "id": cid,
        "description": f"crafted collection {cid}",
        "stac_version": "1.1.0",
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [[10.9, 44.9, 12.0, 45.4]]},
            "temporal": {"interval": [["2024-08-01T00:00:00Z", "2024-09-30T23:59:59Z"]]},
        },
        "links": list(links or []),
    }


def slc_item_doc(iid: str, href: str, date: str = "2024-08-09") -> dict[str, Any]:
    """An SLC burst item (openEO ``insar_preprocessing`` band layout) whose samples are at
    ``href``: what ``list_acquisitions`` / ``open_slc_stack`` read."""
    geom = {
        "type": "Polygon",
        "coordinates": [
            [[11.0, 45.0], [11.95, 45.18], [11.91, 45.36], [10.96, 45.18], [11.0, 45.0]]
        ],
    }
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": iid,
        "geometry": geom,
        "bbox": [10.96, 45.0, 11.95, 45.36],
        "properties": {
            "datetime": f"{date}T17:19:10Z",
            "platform": "sentinel-1a",
            "sar:instrument_mode": "IW",
            "sar:product_type": "SLC",
            "sar:polarizations": ["VV"],
            "sat:relative_orbit": 117,
            "sat:orbit_state": "ascending",
            "s1:burst_id": 249433,
            "s1:subswath": "IW2",
            "pairscope:burst_id": BURST,
        },
        "assets": {
            "slc": {
                "href": href,
                "type": "image/tiff; application=geotiff",
                "roles": ["data"],
                "eo:bands": [{"name": n} for n in ("i_VV", "q_VV", "grid_lat", "grid_lon")],
            }
        },
        "links": [],
    }


def link(rel: str, href: str) -> dict[str, Any]:
    return {"rel": rel, "href": href, "type": "application/json"}


def write_json(path: pathlib.Path, doc: dict[str, Any]) -> pathlib.Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# --------------------------------------------------------------------------------- servers
@dataclass
class _Route:
    status: int
    body: bytes
    headers: dict[str, str]


@dataclass
class CraftedHTTP:
    """The two loopback servers of a test (see the module docstring)."""

    url: str
    outside_url: str
    routes: dict[str, _Route] = field(default_factory=dict)
    #: ``"METHOD /raw/path?query"`` of every request the crafted server received
    requests: list[str] = field(default_factory=list)
    #: request headers the crafted server received, in order
    headers: list[dict[str, str]] = field(default_factory=list)
    #: ``"METHOD /raw/path?query"`` of every request that reached the outside listener
    outside: list[str] = field(default_factory=list)

    def put(
        self,
        path: str,
        body: dict[str, Any] | bytes | str,
        *,
        status: int = 200,
        content_type: str = "application/json",
    ) -> str:
        """Serve ``body`` at ``path`` (a JSON document, text or bytes); returns its URL."""
        data = (
            json.dumps(body).encode()
            if isinstance(body, dict)
            else body.encode()
            if isinstance(body, str)
            else body
        )
        self.routes[path] = _Route(status, data, {"Content-Type": content_type})
        return self.url + path

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        self.routes[path] = _Route(status, b"", {"Location": location})
        return self.url + path

    def clear(self) -> None:
        self.routes.clear()
        self.requests.clear()
        self.headers.clear()
        self.outside.clear()


class _CraftedHandler(http.server.BaseHTTPRequestHandler):
    crafted: CraftedHTTP

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        rng = self.headers.get("Range", "")
        if status == 200 and rng.startswith("bytes=") and body:
            a, _, b = rng[len("bytes=") :].partition("-")
            start = int(a)
            end = min(int(b) if b else len(body) - 1, len(body) - 1)
            part = body[start : end + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
            body = part
        else:
            self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Accept-Ranges", "bytes")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    def do_GET(self) -> None:
        self.crafted.requests.append(f"{self.command} {self.path}")
        self.crafted.headers.append(dict(self.headers))
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        route = self.crafted.routes.get(self.path.split("?", 1)[0])
        if route is None:
            self._reply(404, b'{"detail": "not found"}', {"Content-Type": "application/json"})
        else:
            self._reply(route.status, route.body, route.headers)

    do_POST = do_GET
    do_HEAD = do_GET


class _OutsideHandler(http.server.BaseHTTPRequestHandler):
    crafted: CraftedHTTP

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self.crafted.outside.append(f"{self.command} {self.path}")
        body = json.dumps(catalog_doc("outside")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self.wfile.write(body)

    do_POST = do_GET
    do_HEAD = do_GET


@pytest.fixture(scope="session")
def _crafted_servers() -> Iterator[CraftedHTTP]:
    crafted = CraftedHTTP(url="", outside_url="")
    servers = []
    for handler in (_CraftedHandler, _OutsideHandler):
        cls = type(handler.__name__, (handler,), {"crafted": crafted})
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), cls)
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
    crafted.url = f"http://127.0.0.1:{servers[0].server_address[1]}"
    crafted.outside_url = f"http://127.0.0.1:{servers[1].server_address[1]}"
    try:
        yield crafted
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


@pytest.fixture
def crafted_http(_crafted_servers: CraftedHTTP) -> Iterator[CraftedHTTP]:
    """The crafted server and the outside listener, with no routes and empty records."""
    _crafted_servers.clear()
    yield _crafted_servers
    _crafted_servers.clear()
