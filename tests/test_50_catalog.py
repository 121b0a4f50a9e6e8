"""pairscope.io.catalog: static catalogs, item layouts from real documents, and faults.

The static catalog is built by the ``static_catalog`` fixture (tests/plugins/stac_api.py) with real
GeoTIFFs; the real Sentinel-1 / OPERA documents come from ``tests/data``.
"""

from __future__ import annotations

import json
import logging
import pathlib
import time
from typing import Any

import h5py
import numpy as np
import pystac
import pytest

from pairscope import errors as E
from pairscope.io import catalog as C
from pairscope.io import http as H
from pairscope.io import items as IT
from tests.plugins.stac_api import MISMATCH_BURST, SLC_BURST, SLC_DATES, iso_dates

SPELLINGS = [
    "249433 IW2",
    "249433_IW2",
    "117_249433_IW2",
    "T117-249433-IW2",
    "t117_249433_iw2",
    "T117_249433_IW2",
]


@pytest.fixture(scope="module")
def static(static_catalog: pathlib.Path) -> C.StacCatalog:
    return C.open_catalog(static_catalog)


# ------------------------------------------------------------------------------ static catalog
def test_open_static_catalog_kinds(static_catalog: pathlib.Path) -> None:
    cat = C.open_catalog(static_catalog)
    assert cat.kind == "static"
    assert {c.id for c in cat.collections()} == {"test-slc", "test-coherence", "test-openeo-job"}
    # a folder holding catalog.json, and a collection file, open too
    assert C.open_catalog(static_catalog.parent).kind == "static"
    coll = next(static_catalog.parent.glob("test-slc/collection.json"))
    bursts = C.search_bursts(C.open_catalog(coll))
    assert [b.burst_id for b in bursts] == [SLC_BURST, MISMATCH_BURST]


def test_search_bursts_static(static: C.StacCatalog) -> None:
    found = C.search_bursts(static)
    assert [b.burst_id for b in found] == [SLC_BURST, MISMATCH_BURST]
    b = found[0]
    assert b.date_count == len(SLC_DATES) == b.item_count
    assert iso_dates(b.dates) == SLC_DATES
    assert str(b.first_date)[:10] == SLC_DATES[0] and str(b.last_date)[:10] == SLC_DATES[-1]
    assert b.polarizations == ("VV",)
    assert b.relative_orbit == 117 and b.orbit_state == "ascending"
    assert b.collections == ("test-slc",)
    assert b.footprint is not None and b.footprint["type"] == "Polygon"
    assert b.bbox is not None and b.bbox[0] < b.bbox[2]
    # a static catalog is always filtered here, and says so
    assert found.filtered_client_side
    assert any("static catalog" in n for n in found.notes)
    # pair products are not acquisitions, and that is said too
    assert any("pair-product" in n for n in found.notes)


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_list_acquisitions_any_spelling(static: C.StacCatalog, spelling: str) -> None:
    acqs = C.list_acquisitions(static, spelling)
    # the five items spell their burst id three different ways (demo fields, ESA id + subswath,
    # ASF fullBurstID): all are found
    assert iso_dates(a.date for a in acqs) == SLC_DATES
    assert {a.burst_id for a in acqs} == {SLC_BURST}
    for a in acqs:
        assert a.asset_keys == {"VV": "slc"}
        ref = a.assets["VV"]
        assert ref.kind == "iq" and ref.bands == (1, 2)
        assert a.geolocation is not None
        assert (a.geolocation.latitude_band, a.geolocation.longitude_band) == (3, 4)
        assert a.platform in ("sentinel-1a", "sentinel-1c")
        assert a.relative_orbit == 117
        assert a.date.dtype == np.dtype("datetime64[ns]")
    assert len(set(acqs)) == len(acqs)  # hashable (usable as cache keys), one per date


def test_unknown_burst_and_bad_spelling(static: C.StacCatalog) -> None:
    with pytest.raises(E.BurstNotFoundError, match=r"T117_249436_IW2 is not in .*search_bursts"):
        C.list_acquisitions(static, "T117_249436_IW2")
    with pytest.raises(E.BurstNotFoundError):
        C.list_acquisitions(static, "T117_249436_IW2", polarization="VV")
    # a burst that exists, without that polarization: no dates (not "not found")
    assert C.list_acquisitions(static, SLC_BURST, polarization="VH") == []
    with pytest.raises(ValueError, match="accepted spellings"):
        C.list_acquisitions(static, "burst-nine")


def test_filters_static(static: C.StacCatalog) -> None:
    # bbox over the first burst only, over nothing, over both
    assert [b.burst_id for b in C.search_bursts(static, bbox=(11.3, 45.1, 11.5, 45.2))] == [
        SLC_BURST
    ]
    assert C.search_bursts(static, bbox=(-10, -10, -9, -9)) == []
    assert len(C.search_bursts(static, bbox=(10, 44, 14, 46))) == 2
    # date range: whole days, inclusive
    found = C.search_bursts(static, datetime="2024-08-21/2024-09-02")
    by_id = {b.burst_id: b for b in found}
    assert iso_dates(by_id[SLC_BURST].dates) == ["2024-08-21", "2024-09-02"]
    assert iso_dates(by_id[MISMATCH_BURST].dates) == ["2024-08-21"]
    assert len(C.search_bursts(static, datetime=("2024-09-20", None))) == 1
    acqs = C.list_acquisitions(static, SLC_BURST, datetime=("2024-09-01", "2024-09-20"))
    assert iso_dates(a.date for a in acqs) == ["2024-09-02", "2024-09-14"]
    # orbit, state, polarization
    assert len(C.search_bursts(static, relative_orbit=117)) == 2
    assert C.search_bursts(static, relative_orbit=118) == []
    assert C.search_bursts(static, orbit_state="descending") == []
    assert len(C.search_bursts(static, orbit_state="ascending")) == 2
    assert C.search_bursts(static, polarization="VH") == []
    assert len(C.search_bursts(static, polarization="vv")) == 2
    assert len(C.search_bursts(static, collections=["test-slc"])) == 2
    assert C.search_bursts(static, collections=["test-coherence"]) == []
    with pytest.raises(ValueError, match="west, south, east, north"):
        C.search_bursts(static, bbox=(0, 10, 1, 5))
    with pytest.raises(ValueError, match="ascending"):
        C.search_bursts(static, orbit_state="up")
    with pytest.raises(ValueError, match="ends .* before it starts"):
        C.search_bursts(static, datetime="2024-09-02/2024-08-01")


def test_openeo_job_result_layout(static_catalog: pathlib.Path) -> None:
    """openEO job results: per-date GeoTIFF assets on the collection, no burst id in the metadata."""
    plain = C.open_catalog(static_catalog)
    found = C.search_bursts(plain, collections=["test-openeo-job"])
    assert found == []
    assert any("without a burst id" in n for n in found.notes)
    told = C.open_catalog(static_catalog, burst_id="249433 IW2")
    acqs = C.list_acquisitions(told, "T117-249433-IW2", collections=["test-openeo-job"])
    assert iso_dates(a.date for a in acqs) == SLC_DATES[:3]
    for a in acqs:
        assert a.assets["VV"].kind == "iq" and a.assets["VV"].bands == (1, 2)
        assert a.assets["VV"].href.endswith(f"openEO_{a.datetime.date()}Z.tif")
        assert a.geolocation is not None


# ------------------------------------------------------------------------------ real documents
def _item(path: pathlib.Path) -> pystac.Item:
    return pystac.Item.from_dict(json.loads(path.read_text()))


def test_sentinel1_scene_items(test_data: pathlib.Path) -> None:
    stac = test_data / "stac"
    slc = _item(next((stac / "stactools-sentinel1/examples/slc").glob("*/*.json")))
    grd = _item(next((stac / "stactools-sentinel1/examples/grd").glob("S1A_IW_GRDH*/*.json")))
    es = _item(next((stac / "pystac-client/earth-search").glob("item-*.json")))
    sar = _item(stac / "stac-sar/examples/sentinel-1-slc-iw.json")
    assert IT.item_polarizations(slc) == ["HH"]
    assert IT.item_polarizations(grd) == ["VV", "VH"]
    assert IT.item_polarizations(es) == ["HH"]
    assert IT.item_polarizations(sar) == ["VV", "VH"]
    # older spelling sar:polarization (single string or list)
    old = grd.clone()
    old.properties["sar:polarization"] = old.properties.pop("sar:polarizations")
    assert IT.item_polarizations(old) == ["VV", "VH"]
    old.properties["sar:polarization"] = "hv"
    assert IT.item_polarizations(old) == ["HV"]
    # per-polarization assets: complex SLC samples vs detected GRD amplitude
    assert {p: (a.key, a.kind) for p, a in IT.item_assets_by_polarization(slc).items()} == {
        "HH": ("iw3-hh", "complex")
    }
    assert {p: (a.key, a.kind) for p, a in IT.item_assets_by_polarization(grd).items()} == {
        "VV": ("vv", "amplitude"),
        "VH": ("vh", "amplitude"),
    }
    assert IT.item_assets_by_polarization(es)["HH"].kind == "amplitude"
    assert IT.item_assets_by_polarization(sar)["VH"].kind == "complex"
    # scene products hold no single burst: they are not acquisitions of a burst
    for it in (slc, grd, es, sar):
        assert IT.item_burst_id(it) is None
        assert IT.acquisition_from_item(it) is None


def test_scene_item_with_annotation_orbit(test_data: pathlib.Path) -> None:
    """A burst item whose orbit comes from SAFE annotation assets picks the subswath's annotation."""
    safe = next((test_data / "xarray-sentinel").glob("S1B_IW_SLC__1SDV_*.SAFE"))
    ann = sorted((safe / "annotation").glob("s1b-iw*-slc-*.xml"))
    item = pystac.Item(
        "S1B_burst",
        None,
        None,
        __import__("datetime").datetime(2021, 4, 1, 5, 26, 24),
        {
            "s1:burst_id": 359506,
            "s1:subswath": "IW1",
            "sat:relative_orbit": 168,
            "sar:polarizations": ["VV", "VH"],
            "sat:orbit_state": "descending",
        },
    )
    for p in ann:
        key = "schema-product-" + "-".join(p.name.split("-")[1:4:2])  # e.g. schema-product-iw1-vv
        item.add_asset(key, pystac.Asset(str(p), media_type="application/xml", roles=["metadata"]))
    acq = IT.acquisition_from_item(item)
    assert acq is not None and acq.burst_id == "T168_359506_IW1"
    assert acq.orbit is not None and acq.orbit.kind == "annotation"
    assert "iw1" in acq.orbit.key
    assert acq.orbit_state == "descending"


def opera_item(test_data: pathlib.Path) -> pystac.Item:
    """A STAC item for the real OPERA CSLC-S1 file, dated and described from its own metadata;
    the burst id is left to be found in the product name."""
    h5 = next((test_data / "opera").glob("OPERA_L2_CSLC-S1_*.h5"))
    with h5py.File(h5) as f:
        start = f["identification/zero_doppler_start_time"][()].decode()
        direction = f["identification/orbit_pass_direction"][()].decode().lower()
        poly = f["identification/bounding_polygon"][()].decode()
    import shapely.wkt

    geom = shapely.wkt.loads(poly)
    item = pystac.Item(
        h5.stem,
        geom.__geo_interface__,
        list(geom.bounds),
        __import__("datetime").datetime.fromisoformat(start),
        {"sat:orbit_state": direction, "platform": "sentinel-1a"},
        collection="opera-cslc",
    )
    item.add_asset("data", pystac.Asset(str(h5), media_type="application/x-hdf5", roles=["data"]))
    return item


def test_opera_cslc_item(test_data: pathlib.Path) -> None:
    item = opera_item(test_data)
    acq = IT.acquisition_from_item(item)
    assert acq is not None
    with h5py.File(item.assets["data"].href) as f:
        file_burst = f["identification/burst_id"][()].decode()
        track = int(f["identification/track_number"][()])
    # the burst id found in the product name agrees with the one inside the file
    assert acq.burst_id.lower() == file_burst == "t087_185683_iw2"
    assert acq.relative_orbit == track == 87
    assert acq.polarizations == ("VV",)  # from the product name ..._S1A_VV_v1.1
    ref = acq.assets["VV"]
    assert (ref.kind, ref.dataset) == ("hdf5", "/data/VV")
    assert acq.datetime.date().isoformat() == "2022-12-28"


def _asf_items(test_data: pathlib.Path) -> list[pystac.Item]:
    """STAC items made from the real ASF search records of OPERA products (their properties kept
    as they are, one asset: the record's url)."""
    import yaml

    path = test_data / "bursts" / "asf_search" / "OPERA_Products.yml"
    records = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    items = []
    for rec in records:
        p = dict(rec["properties"])
        url = p.pop("url")
        when = p.get("startTime")
        item = pystac.Item(
            p["fileID"],
            rec["geometry"],
            None,
            __import__("datetime").datetime.fromisoformat(when.replace("Z", "+00:00"))
            if when
            else None,
            p,
            start_datetime=None if when else __import__("datetime").datetime(2014, 4, 3),
            end_datetime=None if when else __import__("datetime").datetime(2014, 4, 3),
        )
        kind = "application/x-hdf5" if url.endswith(".h5") else "image/tiff; application=geotiff"
        key = "data" if url.endswith(".h5") else url.rsplit("_", 1)[-1].split(".")[0]
        item.add_asset(key, pystac.Asset(url, media_type=kind, roles=["data"]))
        items.append(item)
    return items


def test_opera_records_from_asf_search(test_data: pathlib.Path) -> None:
    by_level = {i.properties["processingLevel"]: i for i in _asf_items(test_data)}
    cslc = IT.acquisition_from_item(by_level["CSLC"])
    assert cslc is not None
    assert cslc.burst_id == "T160_342208_IW3" == by_level["CSLC"].properties["operaBurstID"]
    assert cslc.relative_orbit == 160 and cslc.orbit_state == "descending"
    assert cslc.platform == "sentinel-1a" and cslc.polarizations == ("VV",)
    assert (cslc.assets["VV"].kind, cslc.assets["VV"].dataset) == ("hdf5", "/data/VV")
    assert cslc.orbit is not None and cslc.orbit.kind == "hdf5"
    rtc = IT.acquisition_from_item(by_level["RTC"])
    assert rtc is not None and rtc.burst_id == "T131_279916_IW1"
    assert rtc.assets["VH"].kind == "amplitude"  # gamma0 backscatter, not complex samples
    # static layers (geometry of a burst, no acquisition): the burst is known, not a date
    static = by_level["CSLC-STATIC"]
    burst = IT.item_burst_id(static)
    assert burst is not None and burst.canonical == "T094_200143_IW2"
    assert IT.acquisition_from_item(static) is None
    assert IT.acquisition_from_item(by_level["RTC-STATIC"]) is None


def test_coherence_product_fields_fall_back_to_item_assets(static: C.StacCatalog) -> None:
    items = list(static.search_items(collections=["test-coherence"]))
    assert len(items) == 2
    info = IT.asset_raster_info(items[0], "VV")
    # the item's asset has no raster fields: the collection's item_assets (the seed's) apply
    assert info["scale"] == 0.004 and info["nodata"] == 255 and info["data_type"] == "uint8"
    assert IT.asset_band_names(items[0], "VV") == ["VV"]
    assert IT.acquisition_from_item(items[0]) is None  # a pair product, not an acquisition


def test_list_products(static: C.StacCatalog) -> None:
    products = C.list_products(static, "117_249433_IW2")
    assert [(str(p.reference)[:10], str(p.secondary)[:10]) for p in products] == [
        (SLC_DATES[0], SLC_DATES[1]),
        (SLC_DATES[1], SLC_DATES[2]),
    ]
    assert all(p.temporal_baseline == 12 and p.assets == ("VV",) for p in products)
    assert all(p.burst_id == SLC_BURST and p.collection == "test-coherence" for p in products)
    assert C.list_products(static, MISMATCH_BURST) == []
    assert len(C.list_products(static)) == 2


# ------------------------------------------------------------------------------ faults
def test_timeout_is_clear_and_bounded(fault_server: dict[str, Any]) -> None:
    url = fault_server["url"] + "/timeout/catalog.json"
    t0 = time.monotonic()
    with pytest.raises(E.CatalogTimeoutError) as err:
        C.open_catalog(url, timeout=0.3, retries=1)
    assert time.monotonic() - t0 < 5
    msg = str(err.value)
    assert url in msg and "timed out" in msg and "timeout=" in msg
    assert err.value.url == url


def test_http_500_is_clear(fault_server: dict[str, Any]) -> None:
    url = fault_server["url"] + "/error500/catalog.json"
    with pytest.raises(E.CatalogHTTPError) as err:
        C.open_catalog(url, retries=0)
    assert err.value.status == 500
    assert (
        url in str(err.value) and "500" in str(err.value) and "database exploded" in str(err.value)
    )


def test_broken_json_is_clear(fault_server: dict[str, Any]) -> None:
    url = fault_server["url"] + "/brokenjson/catalog.json"
    with pytest.raises(E.CatalogFormatError, match="did not return valid JSON") as err:
        C.open_catalog(url)
    assert url in str(err.value)


def test_unreachable_is_clear(fault_server: dict[str, Any], tmp_path: pathlib.Path) -> None:
    with pytest.raises(E.CatalogUnreachableError, match="cannot reach") as err:
        C.open_catalog(fault_server["closed_url"], retries=0)
    assert fault_server["closed_url"] in str(err.value)
    with pytest.raises(E.CatalogUnreachableError, match="no such file"):
        C.open_catalog(tmp_path / "nothing.json")
    with pytest.raises(E.CatalogUnreachableError, match="without catalog.json"):
        C.open_catalog(tmp_path)
    (tmp_path / "not-stac.json").write_text('{"hello": "world"}')
    with pytest.raises(E.CatalogFormatError, match="not a STAC"):
        C.open_catalog(tmp_path / "not-stac.json")


def test_search_500_on_api(fault_server: dict[str, Any]) -> None:
    cat = C.open_catalog(fault_server["url"] + "/api500", retries=0)
    assert cat.kind == "api"
    with pytest.raises(E.CatalogHTTPError) as err:
        C.search_bursts(cat)
    assert "/api500/search" in str(err.value) and "HTTP 500" in str(err.value)


def test_filter_rejected_by_server(fault_server: dict[str, Any]) -> None:
    """A server that advertises CQL2 but rejects pairscope's filter: filtered here, and said so."""
    cat = C.open_catalog(fault_server["url"] + "/api400", retries=0)
    assert cat.conforms_to_filter
    acqs = C.list_acquisitions(cat, SLC_BURST)
    assert iso_dates(a.date for a in acqs) == SLC_DATES[:3]
    assert acqs.filtered_client_side
    assert any("rejected the CQL2 filter (HTTP 400)" in n for n in acqs.notes)


def test_token_sent_never_shown(
    fault_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    token = fault_server["token"]
    url = fault_server["url"] + "/auth/protected/catalog.json"
    caplog.set_level(logging.DEBUG)
    monkeypatch.delenv(H.TOKEN_ENV, raising=False)
    with pytest.raises(E.CatalogAuthError, match=H.TOKEN_ENV) as err:
        C.open_catalog(url)
    assert err.value.status == 401 and url in str(err.value)
    # from the environment
    monkeypatch.setenv(H.TOKEN_ENV, token)
    cat = C.open_catalog(url)
    assert cat.kind == "static"
    assert fault_server["seen_headers"][-1].get("Authorization") == f"Bearer {token}"
    # a refused token: said so, and not shown
    with pytest.raises(E.CatalogAuthError, match="refused") as err2:
        C.open_catalog(url, token=token + "-stale")
    with pytest.raises(E.CatalogAuthError, match="HTTP 403") as err403:
        C.open_catalog(fault_server["url"] + "/forbidden/catalog.json", token=token)
    assert err403.value.status == 403 and "refused" in str(err403.value)
    # a token in the URL's query is redacted too
    with pytest.raises(E.CatalogHTTPError) as err3:
        C.open_catalog(fault_server["url"] + f"/error500/x.json?token={token}", retries=0)
    shown = " ".join(
        [
            str(err.value),
            str(err2.value),
            str(err403.value),
            str(err3.value),
            repr(cat),
            repr(cat._http),
            caplog.text,
        ]
    )
    assert token not in shown
    assert "token=***" in str(err3.value)


def test_token_only_to_allowed_hosts(fault_server: dict[str, Any]) -> None:
    """The token goes to the catalog's host (and named hosts), never to another host."""
    token = fault_server["token"]
    base = fault_server["url"]  # http://127.0.0.1:PORT
    other = base.replace("127.0.0.1", "localhost")  # the same server under another host name
    cat = C.open_catalog(base + "/auth/protected/catalog.json", token=token)
    assert cat._http.auth_headers(base + "/x.tif") == {"Authorization": f"Bearer {token}"}
    assert cat._http.auth_headers(other + "/x.tif") == {}
    with pytest.raises(E.CatalogAuthError, match=H.TOKEN_HOSTS_ENV) as err:
        cat._http.request(other + "/auth/protected/catalog.json")
    assert token not in str(err.value)
    assert "Authorization" not in fault_server["seen_headers"][-1]
    # named hosts get it
    named = C.open_catalog(
        base + "/auth/protected/catalog.json", token=token, token_hosts=[other.split("//")[1]]
    )
    assert named._http.request(other + "/auth/protected/catalog.json")
    assert fault_server["seen_headers"][-1]["Authorization"] == f"Bearer {token}"


def test_redact_url() -> None:
    userinfo = "u:pw"  # user and password of a loopback URL (never fetched)
    assert (
        H.redact_url(f"https://{userinfo}@127.0.0.1:8443/p?token=abc&x=1")
        == "https://127.0.0.1:8443/p?token=***&x=1"
    )
    assert H.redact_url("/local/path.json") == "/local/path.json"


def test_faults_break_nothing_else(fault_server: dict[str, Any], static: C.StacCatalog) -> None:
    for path in ("/error500/a.json", "/brokenjson/a.json"):
        with pytest.raises(E.CatalogError):
            C.open_catalog(fault_server["url"] + path, retries=0)
    assert [b.burst_id for b in C.search_bursts(static)] == [SLC_BURST, MISMATCH_BURST]
    good = C.open_catalog(fault_server["url"] + "/missing/collection.json")
    assert iso_dates(a.date for a in C.list_acquisitions(good, SLC_BURST)) == SLC_DATES[:3]


def test_format_errors_name_the_location_not_the_contents(
    fault_server: dict[str, Any], tmp_path: pathlib.Path
) -> None:
    """A broken or non-STAC document: the message names where and what kind of problem, never
    what the document holds (it may be a secret file a link pointed to)."""
    url = fault_server["url"] + "/brokenjson/catalog.json"
    with pytest.raises(E.CatalogFormatError, match="valid JSON") as err:
        C.open_catalog(url, retries=0)
    assert url in str(err.value) and '"id": "half"' not in str(err.value)
    (tmp_path / "notes.txt").write_text("PASSWORD=letmein\n")
    (tmp_path / "other.json").write_text('{"type": "Catalog", "letmein": true}')
    for name in ("notes.txt", "other.json"):
        with pytest.raises(E.CatalogFormatError) as err:
            C.open_catalog(tmp_path / name)
        assert name in str(err.value) and "letmein" not in str(err.value)
