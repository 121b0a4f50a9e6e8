"""pairscope.io.catalog against a REAL STAC API: stac-fastapi-pgstac on PostgreSQL + PostGIS (Debian
packages) on loopback, loaded with the test catalog, the real Sentinel-1 items of tests/data/stac
and the demo catalog (fixtures in tests/plugins/stac_api.py). Every answer is compared with the same
query on the static catalog."""

from __future__ import annotations

import pathlib
from typing import Any

import numpy as np
import pytest

from pairscope.io import catalog as C
from pairscope.io import items as IT
from pairscope.io import rasters as S
from tests.plugins.stac_api import MISMATCH_BURST, SLC_BURST, SLC_DATES, iso_dates

pytestmark = pytest.mark.pgstac

SPELLINGS = [
    "249433 IW2",
    "117_249433_IW2",
    "T117-249433-IW2",
    "t117_249433_iw2",
    "T117_249433_IW2",
]
QUERIES: list[dict[str, Any]] = [
    {},
    {"bbox": (11.3, 45.1, 11.5, 45.2)},
    {"bbox": (-10.0, -10.0, -9.0, -9.0)},
    {"datetime": "2024-08-21/2024-09-02"},
    {"datetime": ("2024-09-20", None)},
    {"relative_orbit": 117},
    {"relative_orbit": 118},
    {"orbit_state": "ascending"},
    {"orbit_state": "descending"},
    {
        "polarization": "VV",
        "bbox": (10.0, 44.0, 14.0, 46.0),
        "datetime": ("2024-08-01", "2024-08-31"),
    },
    {"burst_id": "117_249434_IW3"},
]


@pytest.fixture(scope="module")
def api(stac_api: str) -> C.StacCatalog:
    return C.open_catalog(stac_api)


@pytest.fixture(scope="module")
def static(static_catalog: pathlib.Path) -> C.StacCatalog:
    return C.open_catalog(static_catalog)


def _summary(found: list[IT.BurstSummary]) -> list[tuple[Any, ...]]:
    return [
        (
            b.burst_id,
            iso_dates(b.dates),
            b.polarizations,
            b.relative_orbit,
            b.orbit_state,
            b.item_count,
        )
        for b in found
    ]


def test_api_opens_and_conforms(api: C.StacCatalog, stac_api: str) -> None:
    assert api.kind == "api" and api.url == stac_api
    assert api.conforms_to_filter
    ids = {c.id for c in api.collections()}
    assert {"test-slc", "test-coherence", "sentinel1-slc", "sentinel1-grd", "sentinel-1-grd"} <= ids


@pytest.mark.parametrize("query", QUERIES, ids=[str(q) for q in QUERIES])
def test_same_answers_as_static(
    api: C.StacCatalog, static: C.StacCatalog, query: dict[str, Any]
) -> None:
    on_api = C.search_bursts(api, collections=["test-slc"], **query)
    on_static = C.search_bursts(static, collections=["test-slc"], **query)
    assert _summary(on_api) == _summary(on_static)
    # bbox/datetime/collections and the CQL2 filter ran on the server
    assert not on_api.filtered_client_side
    assert on_static.filtered_client_side


@pytest.mark.parametrize("spelling", SPELLINGS)
def test_burst_id_any_spelling_server_side(api: C.StacCatalog, spelling: str) -> None:
    acqs = C.list_acquisitions(api, spelling)
    # the items spell their burst id three ways (demo fields, ESA id + subswath, ASF fullBurstID)
    assert iso_dates(a.date for a in acqs) == SLC_DATES
    assert not acqs.filtered_client_side
    # the server sent only this burst's items: its 5 dates and its 2 coherence products
    assert acqs.items_read == len(SLC_DATES) + 2
    assert any("2 pair-product item(s)" in n for n in acqs.notes)
    assert all(a.asset_keys == {"VV": "slc"} and a.geolocation is not None for a in acqs)


def test_collection_endpoint_searches_the_api(stac_api: str, static: C.StacCatalog) -> None:
    """Opening ``.../collections/<id>`` of an API searches the API within that collection."""
    cat = C.open_catalog(f"{stac_api}/collections/test-slc")
    assert cat.kind == "api" and [c.id for c in cat.collections()] == ["test-slc"]
    found = C.search_bursts(cat)
    assert _summary(found) == _summary(C.search_bursts(static, collections=["test-slc"]))
    assert not found.filtered_client_side


def test_pagination(stac_api: str, static: C.StacCatalog) -> None:
    small = C.open_catalog(stac_api, page_size=2)
    acqs = C.list_acquisitions(small, SLC_BURST)
    assert iso_dates(a.date for a in acqs) == SLC_DATES
    assert acqs.pages == 4  # 5 acquisitions + 2 coherence products of the burst, 2 per page
    found = C.search_bursts(small, collections=["test-slc"])
    assert found.pages == 4 and found.items_read == 7
    assert _summary(found) == _summary(C.search_bursts(static, collections=["test-slc"]))


def test_server_without_filter_extension(stac_api: str) -> None:
    """A server that does not conform to the Filter extension: filtered here, and said so."""
    cat = C.open_catalog(stac_api, page_size=3)
    assert cat.client is not None
    cat.client.remove_conforms_to("FILTER")
    assert not cat.conforms_to_filter
    acqs = C.list_acquisitions(cat, "T117-249433-IW2")
    assert iso_dates(a.date for a in acqs) == SLC_DATES
    assert acqs.filtered_client_side
    assert any("Filter extension" in n for n in acqs.notes)
    assert acqs.items_read > len(SLC_DATES)  # everything was read, then filtered


def test_renders_fall_back_to_collection(api: C.StacCatalog) -> None:
    from pairscope.render import renders_for

    items = list(api.search_items(collections=["test-coherence"]))
    assert len(items) == 2
    for item in items:
        assert "renders" not in item.properties
        renders = renders_for(item, collection=IT.collection_of(item))
        assert list(renders) == ["vv"]
        assert list(renders["vv"]["rescale"][0]) == [38, 216]
        assert renders["vv"]["colormap_name"] == "viridis"
    product = S.open_product(items[0], "VV", catalog=api)
    assert product.attrs["scale"] == 0.004 and list(product.attrs["renders"]) == ["vv"]
    assert np.nanmax(product.values) <= 250 * 0.004 + 1e-6


def test_stack_from_api_equals_static(api: C.StacCatalog, static: C.StacCatalog) -> None:
    a = S.open_slc_stack(api, "T117-249433-IW2", SLC_DATES[1:4])
    b = S.open_slc_stack(static, SLC_BURST, SLC_DATES[1:4])
    np.testing.assert_array_equal(a.values, b.values)
    np.testing.assert_array_equal(a["latitude"].values, b["latitude"].values)
    assert a.attrs["burst_id"] == b.attrs["burst_id"] == SLC_BURST
    with pytest.raises(S.GridMismatchError, match=MISMATCH_BURST):
        S.open_slc_stack(api, MISMATCH_BURST)


def test_real_sentinel1_items_on_the_api(api: C.StacCatalog) -> None:
    """Scene-level S1 products (Earth Search, stactools, sar examples) are served and parsed, but are
    not bursts: they are reported, not listed."""
    found = C.search_bursts(api, collections=["sentinel-1-grd", "sentinel1-slc", "sentinel1-grd"])
    assert found == []
    # 3 Earth Search GRD + 1 stactools SLC + 2 stactools GRD items
    assert any("6 item(s) without a burst id" in n for n in found.notes)
    items = list(api.search_items(collections=["sentinel-1-grd"]))
    assert len(items) == 3
    assert all(IT.item_polarizations(i) == ["HH"] for i in items)
    assert {a.kind for i in items for a in IT.item_assets_by_polarization(i).values()} == {
        "amplitude"
    }
    slc = list(api.search_items(collections=["sentinel1-slc"], bbox=(-50, 70, -49, 71)))
    assert [IT.item_assets_by_polarization(i)["HH"].kind for i in slc] == ["complex"]


def test_demo_catalog_on_the_api(demo_catalog: pathlib.Path, api: C.StacCatalog) -> None:
    """The demo catalog (loaded into the API by the fixture) answers the same through the API."""
    static_demo = C.open_catalog(demo_catalog)
    ids = [c.id for c in static_demo.collections()]
    on_static = C.search_bursts(static_demo)
    assert len(on_static) == 3 and on_static[0].date_count >= 2  # the demo's three bursts
    on_api = C.search_bursts(api, collections=ids)
    assert _summary(on_api) == _summary(on_static)
    burst = on_static[0].burst_id
    acqs = C.list_acquisitions(api, burst.lower(), collections=ids, polarization="VH")
    assert not acqs.filtered_client_side
    assert iso_dates(a.date for a in acqs) == iso_dates(on_static[0].dates)
    assert all(a.orbit is not None and a.orbit.kind == "eof" for a in acqs)
    a = S.open_slc_stack(api, burst, iso_dates(on_static[0].dates)[:2], "VH")
    b = S.open_slc_stack(static_demo, burst, iso_dates(on_static[0].dates)[:2], "VH")
    np.testing.assert_array_equal(a[:, :20, :30].values, b[:, :20, :30].values)
    # the height comes from the collection's geometry asset, fetched through the API
    np.testing.assert_array_equal(a["height"].values, b["height"].values)
    # published coherence products: items without renders use the collection's
    from pairscope.render import renders_for

    coh = [c for c in ids if "coherence" in c]
    assert coh
    products = C.list_products(api, burst, collections=coh)
    static_products = C.list_products(static_demo, burst)
    assert [(p.reference, p.secondary, p.assets) for p in products] == [
        (p.reference, p.secondary, p.assets) for p in static_products
    ]
    assert len(products) >= 1 and not products.filtered_client_side
    item = products[0].item
    assert "renders" not in item.properties
    assert list(renders_for(item, collection=IT.collection_of(item))) == ["vv"]
