"""Catalog fixtures: a small static STAC catalog with real GeoTIFFs, a REAL STAC API
(stac-fastapi-pgstac on PostgreSQL + PostGIS from Debian's packages) on loopback, and a fault server.

- ``static_catalog``: path of ``catalog.json`` of a static catalog built here with rasterio:
  collection ``test-slc`` (openEO ``insar_preprocessing`` band layout ``i_VV, q_VV, grid_lat,
  grid_lon`` plus the demo catalog's properties, burst ids written in several real spellings),
  collection ``test-coherence`` (published coherence products exactly in the Terrascope seed's format:
  uint8, ``raster:scale`` 0.004, nodata 255, collection ``item_assets`` and ``renders``, items
  without ``renders``), and ``test-openeo-job`` (an openEO job-result collection: per-date GeoTIFFs as
  collection assets, no burst id in the metadata).
- ``stac_api``: base URL of a stac-fastapi-pgstac server loaded with those collections and items, the
  real Sentinel-1 items in ``tests/data/stac`` and the demo catalog (``demo_catalog`` fixture).
  Fails loudly when PostgreSQL / PostGIS are missing: ``scripts/system-deps.sh`` installs them.
- ``fault_server``: a loopback http.server that times out, answers 500, broken JSON, 401 without the
  right token, and serves an item whose asset is missing.
- ``protected_products``: the demo catalog's published coherence products behind a loopback file
  server that answers 401 without the right bearer token; their items (collection
  ``protected-coherence``, ids ending ``-protected``) are loaded into ``stac_api`` too.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import http.server
import importlib.util
import json
import pathlib
import shutil
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import rasterio
import rasterio.errors
from rasterio.transform import from_origin

SLC_BURST = "T117_249433_IW2"
SLC_DATES = ["2024-08-09", "2024-08-21", "2024-09-02", "2024-09-14", "2024-09-26"]
MISMATCH_BURST = "T117_249434_IW3"
MISMATCH_DATES = ["2024-08-09", "2024-08-21"]
SHAPE = (24, 40)
FAULT_TOKEN = "s3cr3t-t0ken-" + "x" * 8
PROTECTED_TOKEN = "pr0tected-" + "y" * 10
PROTECTED_COLLECTION = "protected-coherence"
PG_ROLE = "pairscope_test"


# ------------------------------------------------------------------------------ static catalog
def _footprint(lon0: float, lat0: float) -> dict[str, Any]:
    # a slanted burst-like quadrilateral (ascending track, ~20 x 80 km)
    pts = [
        (lon0, lat0),
        (lon0 + 0.95, lat0 + 0.18),
        (lon0 + 0.91, lat0 + 0.36),
        (lon0 - 0.04, lat0 + 0.18),
    ]
    return {"type": "Polygon", "coordinates": [[list(p) for p in [*pts, pts[0]]]]}


def _bbox(geom: dict[str, Any]) -> list[float]:
    xs = [p[0] for p in geom["coordinates"][0]]
    ys = [p[1] for p in geom["coordinates"][0]]
    return [min(xs), min(ys), max(xs), max(ys)]


def _write_slc_tif(
    path: pathlib.Path, seed: int, shape: tuple[int, int], lon0: float, lat0: float
) -> None:
    rng = np.random.default_rng(seed)
    az, rg = np.mgrid[0 : shape[0], 0 : shape[1]].astype(np.float32)
    i = rng.normal(size=shape).astype(np.float32) * 100
    q = rng.normal(size=shape).astype(np.float32) * 100
    lat = (lat0 + 0.36 * az / shape[0] + 0.18 * rg / shape[1]).astype(np.float32)
    lon = (lon0 + 0.95 * rg / shape[1] - 0.04 * az / shape[0]).astype(np.float32)
    with warnings.catch_warnings():  # radar geometry: no CRS, no transform
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        dst = rasterio.open(
            path, "w", driver="GTiff", width=shape[1], height=shape[0], count=4, dtype="float32"
        )
    with dst:
        for b, arr in enumerate((i, q, lat, lon), start=1):
            dst.write(arr, b)
        dst.descriptions = ("i_VV", "q_VV", "grid_lat", "grid_lon")


def _slc_item(
    burst: str, date: str, href: str, geom: dict[str, Any], spelling: int, stac11: bool
) -> dict[str, Any]:
    rel, esa, sw = burst[1:4], burst[5:11], burst[12:]
    props: dict[str, Any] = {
        "datetime": f"{date}T17:19:{10 + spelling:02d}Z",
        "platform": "sentinel-1a" if spelling % 2 == 0 else "sentinel-1c",
        "constellation": "sentinel-1",
        "sar:instrument_mode": "IW",
        "sar:frequency_band": "C",
        "sar:center_frequency": 5.405,
        "sar:product_type": "SLC",
        "sar:observation_direction": "right",
        "sat:relative_orbit": int(rel),
        "sat:orbit_state": "ascending",
        "sat:absolute_orbit": 55000 + spelling,
    }
    # the burst id in the spellings real catalogs use
    if spelling % 3 == 0:  # the demo catalog's fields
        props.update(
            {
                "s1:burst_id": int(esa),
                "s1:subswath": sw,
                "s1:asf_burst_id": f"{rel}_{esa}_{sw}",
                "s1:opera_burst_id": f"T{rel}-{esa}-{sw}",
                "pairscope:burst_id": burst,
                "sar:polarizations": ["VV"],
            }
        )
    elif spelling % 3 == 1:  # ESA id + subswath + relative orbit only, older sar:polarization
        props.update({"s1:burst_id": int(esa), "s1:subswath": sw, "sar:polarization": "VV"})
    else:  # ASF search record fields
        props.update({"fullBurstID": f"{rel}_{esa}_{sw}", "sar:polarizations": ["VV"]})
    names = ["i_VV", "q_VV", "grid_lat", "grid_lon"]
    asset: dict[str, Any] = {
        "href": href,
        "type": "image/tiff; application=geotiff",
        "roles": ["data"],
        "title": "coregistered SLC (openEO insar_preprocessing layout)",
    }
    if stac11:
        asset["bands"] = [{"name": n, "data_type": "float32"} for n in names]
    else:
        asset["eo:bands"] = [{"name": n} for n in names]
        asset["raster:bands"] = [{"name": n, "data_type": "float32"} for n in names]
    return {
        "type": "Feature",
        "stac_version": "1.1.0",
        "stac_extensions": [
            "file:///pairscope-schemas/stac-extensions/sar/v1.1.0/schema.json",
            "file:///pairscope-schemas/stac-extensions/sat/v1.0.0/schema.json",
        ],
        "id": f"S1_IW_SLC_{date.replace('-', '')}_{burst}",
        "geometry": geom,
        "bbox": _bbox(geom),
        "properties": props,
        "assets": {"slc": asset},
        "links": [],
    }


def _collection(
    cid: str, desc: str, bbox: list[float], t0: str, t1: str, **extra: Any
) -> dict[str, Any]:
    return {
        "type": "Collection",
        "stac_version": "1.1.0",
        "id": cid,
        "description": desc,
        "license": "CC-BY-4.0",
        "extent": {
            "spatial": {"bbox": [bbox]},
            "temporal": {"interval": [[f"{t0}T00:00:00Z", f"{t1}T23:59:59Z"]]},
        },
        "links": [],
        **extra,
    }


def build_static_catalog(root: pathlib.Path, seeds: pathlib.Path) -> pathlib.Path:
    """Write the test catalog under ``root`` and return the path of its ``catalog.json``."""
    import pystac

    root.mkdir(parents=True, exist_ok=True)
    data = root / "data"
    data.mkdir(exist_ok=True)
    cat = pystac.Catalog("pairscope-test", "pairscope test catalog (static)")

    geom_a = _footprint(11.0, 45.0)
    geom_b = _footprint(12.2, 45.1)
    # collection 1: SLC bursts
    slc_items = []
    for k, date in enumerate(SLC_DATES):
        tif = data / f"slc_{SLC_BURST}_{date}.tif"
        _write_slc_tif(tif, seed=k, shape=SHAPE, lon0=11.0, lat0=45.0)
        slc_items.append(
            _slc_item(SLC_BURST, date, str(tif), geom_a, spelling=k, stac11=k % 2 == 0)
        )
    for k, date in enumerate(MISMATCH_DATES):
        tif = data / f"slc_{MISMATCH_BURST}_{date}.tif"
        shape = SHAPE if k == 0 else (SHAPE[0] + 2, SHAPE[1])
        _write_slc_tif(tif, seed=10 + k, shape=shape, lon0=12.2, lat0=45.1)
        slc_items.append(
            _slc_item(MISMATCH_BURST, date, str(tif), geom_b, spelling=0, stac11=False)
        )
    coll = pystac.Collection.from_dict(
        _collection(
            "test-slc",
            "coregistered SLC bursts",
            [10.9, 44.9, 13.2, 45.5],
            SLC_DATES[0],
            SLC_DATES[-1],
        )
    )
    for d in slc_items:
        coll.add_item(pystac.Item.from_dict(d))
    cat.add_child(coll)

    # collection 2: published coherence products in the Terrascope seed's exact format
    seed = json.loads((seeds / "terrascope-s1-slc-coherence-v1.collection.json").read_text())
    coh = pystac.Collection.from_dict(
        _collection(
            "test-coherence",
            "coherence products in the format of terrascope-s1-slc-coherence-v1",
            [10.9, 44.9, 12.0, 45.4],
            SLC_DATES[0],
            SLC_DATES[2],
            renders=seed["renders"],
            item_assets={"VV": seed["item_assets"]["VV"], "VH": seed["item_assets"]["VH"]},
            stac_extensions=[
                "file:///pairscope-schemas/stac-extensions/render/v1.0.0/schema.json",
                "file:///pairscope-schemas/stac-extensions/raster/v2.0.0/schema.json",
            ],
        )
    )
    rng = np.random.default_rng(7)
    for ref, sec in ((SLC_DATES[0], SLC_DATES[1]), (SLC_DATES[1], SLC_DATES[2])):
        tif = data / f"coh_{ref}_{sec}.tif"
        dn = rng.integers(0, 251, size=(30, 32), dtype=np.uint8)
        dn[:3, :] = 255
        with rasterio.open(
            tif,
            "w",
            driver="GTiff",
            width=32,
            height=30,
            count=1,
            dtype="uint8",
            nodata=255,
            crs="EPSG:32632",
            transform=from_origin(600000, 5000000, 20, 20),
        ) as dst:
            dst.write(dn, 1)
        item = pystac.Item(
            id=f"COH_{SLC_BURST}_{ref.replace('-', '')}_{sec.replace('-', '')}",
            geometry=geom_a,
            bbox=_bbox(geom_a),
            datetime=None,
            properties={
                "start_datetime": f"{ref}T17:19:10Z",
                "end_datetime": f"{sec}T17:19:11Z",
                "pairscope:reference_date": ref,
                "pairscope:secondary_date": sec,
                "pairscope:burst_id": SLC_BURST,
                "sat:relative_orbit": 117,
                "product:type": "coherence",
            },
        )
        item.add_asset(
            "VV",
            pystac.Asset(
                str(tif),
                media_type="image/tiff; application=geotiff; profile=cloud-optimized",
                roles=["data"],
            ),
        )
        coh.add_item(item)
    cat.add_child(coh)

    # collection 3: an openEO job result (assets per date on the collection, no items, no burst id)
    job = pystac.Collection.from_dict(
        _collection(
            "test-openeo-job",
            "openEO insar_preprocessing job result",
            [10.9, 44.9, 12.0, 45.4],
            SLC_DATES[0],
            SLC_DATES[2],
        )
    )
    for k, date in enumerate(SLC_DATES[:3]):
        tif = data / f"openEO_{date}Z.tif"
        _write_slc_tif(tif, seed=20 + k, shape=SHAPE, lon0=11.0, lat0=45.0)
        job.add_asset(
            f"openEO_{date}Z.tif",
            pystac.Asset(
                str(tif),
                media_type="image/tiff; application=geotiff",
                roles=["data"],
                extra_fields={
                    "eo:bands": [{"name": n} for n in ("i_VV", "q_VV", "grid_lat", "grid_lon")]
                },
            ),
        )
    cat.add_child(job)
    cat.normalize_hrefs(str(root))
    cat.make_all_asset_hrefs_relative()
    cat.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    return root / "catalog.json"


@pytest.fixture(scope="session")
def static_catalog(
    tmp_path_factory: pytest.TempPathFactory, test_data: pathlib.Path
) -> pathlib.Path:
    return build_static_catalog(
        tmp_path_factory.mktemp("static-stac"), test_data / "seeds"
    )


# ------------------------------------------------------------------------------ real items
def shared_stac_documents(
    test_data: pathlib.Path,
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(collections, items) from the real documents in tests/data/stac, with asset hrefs made
    absolute and a minimal collection derived for items whose collection document is not stored."""
    stac = test_data / "stac"
    colls: dict[str, dict[str, Any]] = {}
    for p in (
        stac / "stactools-sentinel1/examples/slc/collection.json",
        stac / "stactools-sentinel1/examples/grd/collection.json",
        stac / "pystac-client/planetary-computer/collection-sentinel-1-grd.json",
    ):
        d = json.loads(p.read_text())
        d["links"] = []
        colls[d["id"]] = d
    items = []
    paths = [
        *sorted((stac / "stactools-sentinel1/examples/slc").glob("*/*.json")),
        *sorted((stac / "stactools-sentinel1/examples/grd").glob("*/*.json")),
        *sorted((stac / "pystac-client/earth-search").glob("item-*.json")),
        stac / "stac-sar/examples/sentinel-1-slc-iw.json",
    ]
    for p in paths:
        d = json.loads(p.read_text())
        for a in d["assets"].values():
            if not a["href"].startswith(("http", "s3:")):
                a["href"] = str((p.parent / a["href"]).resolve())
        d["links"] = []
        cid = d.get("collection")
        if cid not in colls:
            colls[cid] = _collection(
                cid, f"derived to hold {p.name}", d["bbox"], "2014-01-01", "2030-01-01"
            )
        items.append(d)
    return list(colls.values()), items


# ------------------------------------------------------------------------------ postgres
def _pgstac_tools() -> Any:
    """scripts/stac_api.py (PostgreSQL / pypgstac / uvicorn management), imported by path."""
    path = pathlib.Path(__file__).resolve().parents[2] / "scripts" / "stac_api.py"
    spec = importlib.util.spec_from_file_location("pairscope_scripts_stac_api", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def _pgstac_starting(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Creates, migrates and launches the pgstac server in a background thread, so that it starts
    while the catalogs to load are built (``stac_api`` asks for this fixture first)."""
    tools = _pgstac_tools()
    server = tools.Server(tmp_path_factory.mktemp("pgstac"))
    state: dict[str, Any] = {"server": server, "error": None, "tools": tools}

    def run() -> None:
        try:
            server.start()
        except BaseException as err:  # reported by stac_api
            state["error"] = err

    thread = threading.Thread(target=run, name="pgstac-start", daemon=True)
    thread.start()
    state["thread"] = thread
    try:
        yield state
    finally:
        thread.join()
        try:
            server.close()
        except tools.PgstacError as err:
            pytest.fail(str(err), pytrace=False)


@pytest.fixture(scope="session")
def stac_api(
    _pgstac_starting: dict[str, Any],
    static_catalog: pathlib.Path,
    demo_catalog: pathlib.Path,
    test_data: pathlib.Path,
    protected_products: dict[str, Any],
) -> str:
    """Base URL (``http://127.0.0.1:PORT``) of a stac-fastapi-pgstac server on loopback, in a fresh
    database (own role) dropped at the end of the session, loaded with the test catalog, the real
    S1 items and the demo catalog. Fails (never skips) when PostgreSQL or PostGIS are missing."""
    tools = _pgstac_starting["tools"]
    colls, items = tools.catalog_documents(static_catalog)
    for more in (shared_stac_documents(test_data), tools.catalog_documents(demo_catalog),
                 (protected_products["collections"], protected_products["items"])):  # fmt: skip
        colls += more[0]
        items += more[1]
    _pgstac_starting["thread"].join()
    error = _pgstac_starting["error"]
    if error is not None:
        pytest.fail(f"{type(error).__name__}: {error}", pytrace=False)
    server = _pgstac_starting["server"]
    try:
        server.load(colls, items)
        return str(server.wait_ready())
    except tools.PgstacError as err:
        pytest.fail(str(err), pytrace=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------ fault server
def conformance(*names: str) -> list[str]:
    """The STAC API conformance classes ``names`` (``CORE``, ``ITEM_SEARCH``, ``FILTER``...) as
    pystac-client recognizes them (its own patterns, version 1.0.0): no test file spells an
    outside host, not even in an identifier nothing resolves."""
    from pystac_client.conformance import ConformanceClasses

    return [ConformanceClasses[name].valid_uri.replace("*", "0") for name in names]


def _landing(base: str, name: str, *, filter_ext: bool = False) -> dict[str, Any]:
    conforms = conformance("CORE", "ITEM_SEARCH", *(("FILTER",) if filter_ext else ()))
    return {
        "type": "Catalog",
        "id": name,
        "description": f"fault server: {name}",
        "stac_version": "1.0.0",
        "conformsTo": conforms,
        "links": [
            {"rel": "self", "href": f"{base}/{name}", "type": "application/json"},
            {"rel": "root", "href": f"{base}/{name}", "type": "application/json"},
            {
                "rel": "search",
                "href": f"{base}/{name}/search",
                "type": "application/geo+json",
                "method": "POST",
            },
            {
                "rel": "search",
                "href": f"{base}/{name}/search",
                "type": "application/geo+json",
                "method": "GET",
            },
        ],
    }


class _FaultHandler(http.server.BaseHTTPRequestHandler):
    server_version = "fault/1"
    static_root: pathlib.Path

    def log_message(self, format: str, *args: Any) -> None:  # keep test output clean
        pass

    def _send(self, status: int, body: bytes, ctype: str = "application/json") -> None:
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)

    def do_POST(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        base = f"http://{self.headers['Host']}"
        self.server.seen_headers.append(dict(self.headers))  # type: ignore[attr-defined]
        if path.startswith("/timeout"):
            time.sleep(2.0)
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                self._send(200, b"{}")
            return
        if path.startswith("/error500"):
            self._send(500, b'{"code": "InternalError", "description": "database exploded"}')
            return
        if path.startswith("/forbidden"):
            self._send(403, b'{"detail": "Forbidden"}')
            return
        if path.startswith("/brokenjson"):
            self._send(200, b'{"type": "Catalog", "id": "half", "links": [')
            return
        if path.startswith("/auth/"):
            if self.headers.get("Authorization") != f"Bearer {FAULT_TOKEN}":
                self._send(401, b'{"detail": "Not authenticated"}')
                return
            path = path[len("/auth") :]
        if path.startswith("/api400"):
            rest = path[len("/api400") :].strip("/")
            if rest == "":
                self._send(200, json.dumps(_landing(base, "api400", filter_ext=True)).encode())
                return
            length = int(self.headers.get("Content-Length") or 0)
            body = json.loads(self.rfile.read(length) or b"{}") if length else {}
            if "filter" in body or "filter" in self.path:
                self._send(
                    400, b'{"code": "InvalidQueryParameter", "description": "unknown queryable"}'
                )
                return
            features = [
                json.loads(f.read_text())
                for f in sorted((self.static_root / "missing").glob("*.json"))
                if f.name != "collection.json"
            ]
            for feat in features:
                feat["links"] = []
                for asset in feat["assets"].values():
                    asset["href"] = f"{base}/missing/{asset['href']}"
            page = {"type": "FeatureCollection", "features": features, "links": []}
            self._send(200, json.dumps(page).encode(), "application/geo+json")
            return
        if path.startswith("/api500"):
            rest = path[len("/api500") :].strip("/")
            if rest == "":
                self._send(200, json.dumps(_landing(base, "api500")).encode())
            else:
                self._send(500, b'{"code": "InternalError", "description": "search failed"}')
            return
        f = (self.static_root / path.lstrip("/")).resolve()
        if self.static_root in f.parents and f.is_file():
            self._send_file(f.read_bytes())
        else:
            self._send(404, b'{"detail": "not found"}')

    def _send_file(self, body: bytes) -> None:
        """Whole file, or the byte range GDAL's /vsicurl/ asks for."""
        rng = self.headers.get("Range", "")
        if rng.startswith("bytes="):
            a, _, b = rng[len("bytes=") :].partition("-")
            start = int(a)
            end = min(int(b) if b else len(body) - 1, len(body) - 1)
            part = body[start : end + 1]
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{end}/{len(body)}")
            self.send_header("Content-Length", str(len(part)))
            self.send_header("Accept-Ranges", "bytes")
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(part)
            return
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def do_HEAD(self) -> None:
        self.do_GET()


def _write_missing_asset_catalog(root: pathlib.Path, present_tif: pathlib.Path) -> None:
    """/missing/collection.json: item ``has-no-file`` whose asset href 404s, item ``lacks-asset``
    with no SLC asset at all, and item ``good`` (same burst, asset served)."""
    (root / "missing").mkdir(parents=True, exist_ok=True)
    shutil.copy(present_tif, root / "missing" / "good.tif")
    geom = _footprint(11.0, 45.0)
    items = []
    for iid, date, asset in (
        ("good", SLC_DATES[0], "good.tif"),
        ("has-no-file", SLC_DATES[1], "gone.tif"),
        ("lacks-asset", SLC_DATES[2], None),
    ):
        d = _slc_item(SLC_BURST, date, asset or "x.tif", geom, spelling=0, stac11=False)
        d["id"] = iid
        d["collection"] = "missing"
        if asset is None:
            d["assets"] = {
                "thumbnail": {"href": "thumb.png", "type": "image/png", "roles": ["thumbnail"]}
            }
        d["links"] = [
            {"rel": "collection", "href": "./collection.json"},
            {"rel": "parent", "href": "./collection.json"},
        ]
        (root / "missing" / f"{iid}.json").write_text(json.dumps(d))
        items.append(iid)
    coll = _collection(
        "missing", "items whose asset is missing", _bbox(geom), SLC_DATES[0], SLC_DATES[2]
    )
    coll["links"] = [
        {"rel": "item", "href": f"./{i}.json", "type": "application/geo+json"} for i in items
    ]
    (root / "missing" / "collection.json").write_text(json.dumps(coll))
    # a protected static catalog under /auth/
    (root / "protected").mkdir(exist_ok=True)
    (root / "protected" / "catalog.json").write_text(
        json.dumps(
            {
                "type": "Catalog",
                "id": "protected",
                "description": "needs a token",
                "stac_version": "1.1.0",
                "links": [],
            }
        )
    )


@pytest.fixture(scope="session")
def fault_server(
    tmp_path_factory: pytest.TempPathFactory, static_catalog: pathlib.Path
) -> Iterator[dict[str, Any]]:
    """A misbehaving http server on loopback. Keys: ``url`` (base), ``token``, ``seen_headers``
    (list of request headers received), ``closed_url`` (a loopback port nothing listens on)."""
    root = tmp_path_factory.mktemp("faults")
    tif = next((static_catalog.parent / "data").glob("slc_T117_249433_IW2_*.tif"))
    _write_missing_asset_catalog(root, tif)
    handler = type("Handler", (_FaultHandler,), {"static_root": root.resolve()})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.seen_headers = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    closed = _free_port()
    try:
        yield {
            "url": f"http://127.0.0.1:{server.server_address[1]}",
            "token": FAULT_TOKEN,
            "seen_headers": server.seen_headers,  # type: ignore[attr-defined]
            "closed_url": f"http://127.0.0.1:{closed}/catalog.json",
        }
    finally:
        server.shutdown()
        server.server_close()


def iso_dates(values: Any) -> list[str]:
    """``datetime64`` / date values as ``YYYY-MM-DD`` strings (helper for the tests)."""
    return [
        str(np.datetime64(v, "D")) if not isinstance(v, dt.date) else v.isoformat() for v in values
    ]


class _ProtectedFiles(_FaultHandler):
    """Files under ``static_root``, only with ``Authorization: Bearer PROTECTED_TOKEN``."""

    def do_GET(self) -> None:
        self.server.seen_headers.append(dict(self.headers))  # type: ignore[attr-defined]
        if self.headers.get("Authorization") != f"Bearer {PROTECTED_TOKEN}":
            self._send(401, b'{"detail": "Not authenticated"}')
            return
        f = (self.static_root / self.path.split("?")[0].lstrip("/")).resolve()
        if self.static_root in f.parents and f.is_file():
            self._send_file(f.read_bytes())
        else:
            self._send(404, b'{"detail": "not found"}')


@pytest.fixture(scope="session")
def protected_products(
    tmp_path_factory: pytest.TempPathFactory, demo_catalog: pathlib.Path
) -> Iterator[dict[str, Any]]:
    """The demo's coherence products behind a token (see the module docstring). Keys: ``url``,
    ``host`` (``127.0.0.1:PORT``), ``token``, ``collections``, ``items`` (STAC dicts with the
    protected hrefs), ``seen_headers``."""
    from pairscope.sim.demo import COHERENCE_COLLECTION

    root = tmp_path_factory.mktemp("protected").resolve()
    handler = type("Protected", (_ProtectedFiles,), {"static_root": root})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    server.seen_headers = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    host = f"127.0.0.1:{server.server_address[1]}"
    colls, items = _pgstac_tools().catalog_documents(demo_catalog)
    out_colls = []
    for c in colls:
        if c["id"] == COHERENCE_COLLECTION:
            c = json.loads(json.dumps(c))
            c["id"] = PROTECTED_COLLECTION
            c["title"] = "demo coherence products behind a bearer token"
            out_colls.append(c)
    out_items = []
    for it in items:
        if it.get("collection") != COHERENCE_COLLECTION:
            continue
        it = json.loads(json.dumps(it))
        it["id"] = f"{it['id']}-protected"
        it["collection"] = PROTECTED_COLLECTION
        (root / it["id"]).mkdir()
        for key, asset in it["assets"].items():
            src = pathlib.Path(asset["href"])
            if not src.is_file():
                continue
            shutil.copy(src, root / it["id"] / src.name)
            it["assets"][key]["href"] = f"http://{host}/{it['id']}/{src.name}"
        out_items.append(it)
    try:
        yield {
            "url": f"http://{host}", "host": host, "token": PROTECTED_TOKEN,
            "collections": out_colls, "items": out_items,
            "seen_headers": server.seen_headers,  # type: ignore[attr-defined]
        }  # fmt: skip
    finally:
        server.shutdown()
        server.server_close()
