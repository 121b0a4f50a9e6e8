"""The demo STAC catalog: pystac round trip, offline schema validation, every asset as declared,
EOF orbits, the published-style coherence products, byte-identical rebuilds; three consecutive
bursts along one pass, each with its own geometry and truth."""

from __future__ import annotations

import hashlib
import json
import pathlib
import warnings
from typing import Any

import numpy as np
import pystac
import pytest
import rioxarray
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning

from pairscope import geometry
from pairscope.coherence import estimate
from pairscope.geometry.geocoding import geocode
from pairscope.io import export
from pairscope.sim import ard as demo_ard
from pairscope.sim import demo
from pairscope.sim.landcover import DEFAULT_LAND_COVER
from pairscope.sim.simulate import make_scene

SEED_COLLECTION = "terrascope-s1-slc-coherence-v1.collection.json"
#: The public roots of the schemas pairscope writes into documents (`export.SCHEMA_ROOTS`).
_ROOT = {v.split("/")[-2]: k for k, v in export.SCHEMA_ROOTS.items()}
CORE = _ROOT["stac"] + "v1.1.0/{0}-spec/json-schema/{0}.json"


def _open(path: pathlib.Path) -> xr.DataArray:
    """Open a raster with rioxarray; radar-geometry files have no CRS (that warning only)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", category=NotGeoreferencedWarning)
        da = rioxarray.open_rasterio(path)
        assert isinstance(da, xr.DataArray)
        return da.load()


def _validate(doc: dict[str, Any], schema_dir: pathlib.Path) -> dict[str, str]:
    """Validate a STAC document offline with the project's validator: the core schema of its type
    and every declared extension against its own vendored schema (a missing schema fails)."""
    from pairscope.io.export import validate_item

    return validate_item(doc, schema_dir)


@pytest.fixture(scope="module")
def catalog(demo_catalog: pathlib.Path) -> pystac.Catalog:
    return pystac.Catalog.from_file(str(demo_catalog))


FIRST = "T117_249435_IW2"
BURSTS = ["T117_249435_IW2", "T117_249436_IW2", "T117_249437_IW2"]


@pytest.fixture(scope="module")
def all_slc_items(catalog: pystac.Catalog) -> list[pystac.Item]:
    child = catalog.get_child(demo.SLC_COLLECTION)
    assert child is not None
    return sorted(child.get_items(), key=lambda it: (str(it.datetime), it.id))


@pytest.fixture(scope="module")
def slc_items(all_slc_items: list[pystac.Item]) -> list[pystac.Item]:
    """The first burst's items (the one-burst demo's)."""
    return [it for it in all_slc_items if it.properties["pairscope:burst_id"] == FIRST]


@pytest.fixture(scope="module")
def all_product_items(catalog: pystac.Catalog) -> list[pystac.Item]:
    child = catalog.get_child(demo.COHERENCE_COLLECTION)
    assert child is not None
    return sorted(child.get_items(), key=lambda it: it.id)


@pytest.fixture(scope="module")
def product_items(all_product_items: list[pystac.Item]) -> list[pystac.Item]:
    return [it for it in all_product_items if it.properties["pairscope:burst_id"] == FIRST]


def test_catalog_round_trips_through_pystac(
    demo_catalog: pathlib.Path,
    catalog: pystac.Catalog,
    all_slc_items: list[pystac.Item],
    all_product_items: list[pystac.Item],
    tmp_path: pathlib.Path,
) -> None:
    slc_items, product_items = all_slc_items, all_product_items
    assert {c.id for c in catalog.get_children()} == {
        demo.SLC_COLLECTION,
        demo.COHERENCE_COLLECTION,
        demo_ard.GSLC_COLLECTION,
        demo_ard.NRB_COLLECTION,
    }
    assert len(slc_items) == 3 * 6
    # pairs 6 and 12 days apart among 6 dates at 6-day spacing: 5 + 4, for each burst
    assert len(product_items) == 3 * 9
    # every href is relative and resolves inside the catalog folder
    root = demo_catalog.parent.resolve()
    for path in root.rglob("*.json"):
        doc = json.loads(path.read_text())
        structural = {"root", "parent", "child", "item", "self", "collection", "derived_from"}
        for link in doc.get("links", []):
            if link["rel"] not in structural:
                continue  # e.g. the CEOS-ARD specification's web page
            assert not link["href"].startswith(("/", "http")), (path, link)
            assert (path.parent / link["href"]).resolve().is_file()
        for asset in doc.get("assets", {}).values():
            assert not asset["href"].startswith(("/", "http"))
            assert (path.parent / asset["href"]).resolve().is_file(), (path, asset["href"])
    # save a copy through pystac and read it back: same items, same properties
    copy = catalog.full_copy()
    copy.normalize_hrefs(str(tmp_path / "copy"))
    copy.save(pystac.CatalogType.SELF_CONTAINED)
    again = pystac.Catalog.from_file(str(tmp_path / "copy" / "catalog.json"))
    items = {it.id: it for it in again.get_items(recursive=True)}
    for it in slc_items + product_items:
        assert items[it.id].properties == it.properties
        assert set(items[it.id].assets) == set(it.assets)


def test_documents_validate_offline(demo_catalog: pathlib.Path, schemas: pathlib.Path) -> None:
    schema_dir = schemas
    seen: dict[str, str] = {}
    for path in sorted(demo_catalog.parent.rglob("*.json")):
        doc = json.loads(path.read_text())
        if doc.get("type") not in {"Feature", "Collection", "Catalog"}:
            continue  # truth.json
        seen.update(_validate(doc, schema_dir))
    for ext in ("sar/v1.3.0", "sat/v1.2.0", "render/v2.0.0"):
        assert seen[f"{_ROOT['stac-extensions']}{ext}/schema.json"] == "valid"
    assert seen[CORE.format("item")] == seen[CORE.format("collection")] == "valid"


def test_slc_items_carry_sar_sat_and_burst_fields(slc_items: list[pystac.Item]) -> None:
    dates = []
    for it in slc_items:
        p = it.properties
        assert p["sar:instrument_mode"] == "IW" and p["sar:frequency_band"] == "C"
        assert p["sar:center_frequency"] == 5.405 and p["sar:product_type"] == "SLC"
        assert p["sar:polarizations"] == ["VV", "VH"] and p["sar:observation_direction"] == "right"
        assert p["sat:relative_orbit"] == 117 and p["sat:orbit_state"] == "ascending"
        assert (
            p["sat:absolute_orbit"] - (73 if p["platform"] == "sentinel-1a" else 172)
        ) % 175 + 1 == 117
        assert p["s1:burst_id"] == 249435 and p["s1:subswath"] == "IW2"
        assert p["s1:asf_burst_id"] == "117_249435_IW2"
        assert p["s1:opera_burst_id"] == "T117-249435-IW2"
        assert p["pairscope:burst_id"] == "T117_249435_IW2"
        assert (
            p["platform"] in {"sentinel-1a", "sentinel-1c"} and p["constellation"] == "sentinel-1"
        )
        assert it.id == f"S1{p['platform'][-1].upper()}_IW_SLC_{it.datetime:%Y%m%d}_T117_249435_IW2"
        assert it.assets["orbit"].roles == ["metadata", "orbit"]
        assert it.assets["orbit"].media_type == "application/xml"
        dates.append(np.datetime64(it.datetime.replace(tzinfo=None), "D"))
    assert np.all(np.diff(np.array(dates)).astype(int) == 6)


def test_slc_assets_open_as_declared(slc_items: list[pystac.Item]) -> None:
    for it in slc_items:
        asset = it.assets["slc"]
        names = [b["name"] for b in asset.extra_fields["raster:bands"]]
        assert names == [b["name"] for b in asset.extra_fields["eo:bands"]] == list(demo.SLC_BANDS)
        da = _open(pathlib.Path(asset.get_absolute_href() or ""))
        assert da.dtype == np.float32 and da.sizes["band"] == 6
        assert list(da.attrs["long_name"]) == names
        assert [b["data_type"] for b in asset.extra_fields["raster:bands"]] == ["float32"] * 6
        # no nodata declared, none in the file; no scaling
        assert all("nodata" not in b for b in asset.extra_fields["raster:bands"])
        assert da.rio.nodata is None and da.attrs.get("scale_factor", 1.0) == 1.0
        assert da.rio.crs is None
        assert da.shape[1:] == (150, 600)
        lat, lon = da.values[4], da.values[5]
        ring = np.array(it.geometry["coordinates"][0])
        eps = 1e-5  # float32 grid vs 7-decimal footprint
        assert ring[:, 0].min() - eps <= lon.min() and lon.max() <= ring[:, 0].max() + eps
        assert ring[:, 1].min() - eps <= lat.min() and lat.max() <= ring[:, 1].max() + eps
        # the openEO band layout gives the complex SLC back
        vv = da.values[0] + 1j * da.values[1]
        assert np.all(np.isfinite(vv)) and np.abs(vv).mean() > 0


def test_radar_files_are_band_interleaved_cogs(demo_catalog: pathlib.Path) -> None:
    """The radar-grid files (every date's SLC with its latitude / longitude, the burst's geometry
    and truth) are cloud-optimized by rio-cogeo's validator, as their media type says, and
    band-interleaved: reading a date's samples decodes none of its grid's tiles."""
    import rasterio
    from rasterio.enums import Interleaving
    from rio_cogeo.cogeo import cog_validate

    files = sorted((demo_catalog.parent / demo.SLC_COLLECTION).rglob("*.tif"))
    assert len(files) >= 8, files
    for path in files:
        with warnings.catch_warnings():  # radar grids have no CRS on purpose
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            valid, errors, _advice = cog_validate(str(path), quiet=True)
            assert valid, (path.name, errors)
            with rasterio.open(path) as src:
                assert src.is_tiled and src.block_shapes[0] == (256, 256), path.name
                if src.count > 1:
                    assert src.interleaving == Interleaving.band, (path.name, src.interleaving)


def test_orbit_files_parse_and_cover_the_burst(slc_items: list[pystac.Item]) -> None:
    scene = make_scene("small", seed=0)
    for k, it in enumerate(slc_items):
        orbit = geometry.Orbit.from_eof(it.assets["orbit"].get_absolute_href() or "")
        steps = np.diff(orbit.times).astype("timedelta64[s]").astype(int)
        assert np.all(steps == 10)
        np.testing.assert_allclose(orbit.positions, scene.orbits[k].positions, atol=1e-5)
        np.testing.assert_allclose(orbit.velocities, scene.orbits[k].velocities, atol=1e-5)
        t = np.datetime64(it.properties["datetime"].rstrip("Z"), "ns")
        assert (
            orbit.times[0] + np.timedelta64(40, "s") < t < orbit.times[-1] - np.timedelta64(40, "s")
        )


def test_geometry_and_truth_assets(
    demo_catalog: pathlib.Path, catalog: pystac.Catalog, slc_items: list[pystac.Item]
) -> None:
    collection = catalog.get_child(demo.SLC_COLLECTION)
    assert isinstance(collection, pystac.Collection)
    geo_asset = collection.assets["geometry"]
    geo = _open(pathlib.Path(geo_asset.get_absolute_href() or ""))
    assert geo.dtype == np.float32 and geo.rio.crs is None and geo.rio.nodata is None
    assert list(geo.attrs["long_name"]) == list(demo.GEOMETRY_BANDS)
    assert [b["name"] for b in geo_asset.extra_fields["raster:bands"]] == list(demo.GEOMETRY_BANDS)
    bands = dict(zip(demo.GEOMETRY_BANDS, geo.values, strict=True))
    assert 36.0 < bands["incidence_angle"].min() and bands["incidence_angle"].max() < 42.0
    look = np.stack([bands["look_x"], bands["look_y"], bands["look_z"]])
    np.testing.assert_allclose(np.linalg.norm(look, axis=0), 1.0, atol=1e-5)
    los = np.stack([bands["los_east"], bands["los_north"], bands["los_up"]])
    np.testing.assert_allclose(np.linalg.norm(los, axis=0), 1.0, atol=1e-5)
    assert np.all(los[0] < 0)  # ascending, right-looking: the sensor is to the west
    # the grid in the SLC files is at zero Doppler of the reference orbit (float32 lat/lon:
    # ~0.4 m in latitude, so ~0.1 ms and ~0.5 m)
    ref = next(
        it
        for it in slc_items
        if str(it.datetime.date()) == it.properties["pairscope:coregistration_reference"]
    )
    orbit = geometry.Orbit.from_eof(ref.assets["orbit"].get_absolute_href() or "")
    slc = _open(pathlib.Path(ref.assets["slc"].get_absolute_href() or ""))
    sel = (slice(None, None, 15), slice(None, None, 60))
    g = geometry.look_geometry(
        orbit,
        slc.values[4][sel].astype(np.float64),
        slc.values[5][sel].astype(np.float64),
        bands["height"][sel],
    )
    np.testing.assert_allclose(g["slant_range"].values, bands["slant_range"][sel], atol=0.5)
    dt = np.diff(g["azimuth_time"].values[:, 0]) / np.timedelta64(1, "s")
    np.testing.assert_allclose(dt, 15 * 2.055556e-3, atol=1e-4)
    np.testing.assert_allclose(g["los_up"].values, bands["los_up"][sel], atol=1e-5)

    truth = json.loads(
        pathlib.Path(collection.assets["truth"].get_absolute_href() or "").read_text()
    )
    assert truth["dates"] == [str(it.datetime.date()) for it in slc_items]
    assert [c["name"] for c in truth["land_cover"]] == [lc.name for lc in DEFAULT_LAND_COVER]
    raster = _open(pathlib.Path(collection.assets["truth_map"].get_absolute_href() or ""))
    assert list(raster.attrs["long_name"]) == truth["raster_bands"]
    codes = set(np.unique(raster.values[0]).astype(int).tolist())
    assert codes == {lc.code for lc in DEFAULT_LAND_COVER}


def test_coherence_collection_has_the_seed_format(
    catalog: pystac.Catalog, product_items: list[pystac.Item], test_data: pathlib.Path
) -> None:
    seed = json.loads((test_data / "seeds" / SEED_COLLECTION).read_text())
    collection = catalog.get_child(demo.COHERENCE_COLLECTION)
    assert isinstance(collection, pystac.Collection)
    doc = collection.to_dict()
    assert doc["renders"] == seed["renders"]
    for pol in ("VV", "VH"):
        for key in (
            "raster:scale",
            "raster:offset",
            "nodata",
            "data_type",
            "unit",
            "bands",
            "type",
        ):
            assert doc["item_assets"][pol][key] == seed["item_assets"][pol][key], (pol, key)
    for it in product_items:
        p = it.properties
        assert p["pairscope:window"] == list(demo.PRODUCT_WINDOW) != [5, 21]
        assert p["pairscope:temporal_baseline"] in (6, 12)
        ref, sec = (
            np.datetime64(p["pairscope:reference_date"]),
            np.datetime64(p["pairscope:secondary_date"]),
        )
        assert (sec - ref).astype(int) == p["pairscope:temporal_baseline"]
        assert p["pairscope:burst_id"] == "T117_249435_IW2" and p["s1:burst_id"] == 249435
        for pol in ("VV", "VH"):
            asset = it.assets[pol]
            assert (
                asset.extra_fields["raster:scale"] == 0.004 and asset.extra_fields["nodata"] == 255
            )
            da = _open(pathlib.Path(asset.get_absolute_href() or ""))
            assert da.dtype == np.uint8 and da.sizes["band"] == 1
            assert da.rio.crs.to_epsg() == 32632
            assert da.rio.resolution() == (20.0, -20.0)
            assert da.rio.nodata == 255 and da.attrs["scale_factor"] == 0.004
            assert list(da.rio.transform())[:6] == p["proj:transform"]
            assert list(da.shape[1:]) == p["proj:shape"]
            valid = da.values[0][da.values[0] != 255]
            assert valid.size > 0.5 * da.values.size and valid.max() <= 250


def test_products_are_the_documented_recomputation(
    slc_items: list[pystac.Item], product_items: list[pystac.Item]
) -> None:
    """A product equals estimate(window 4 x 19) + geocode + quantisation of its input SLCs, and
    differs from pairscope's 5 x 21 default by the expected bias."""
    by_id = {it.id: it for it in slc_items}
    product = next(it for it in product_items if it.properties["pairscope:temporal_baseline"] == 12)
    ref, sec = (
        _open(pathlib.Path(by_id[i].assets["slc"].get_absolute_href() or ""))
        for i in product.properties["pairscope:inputs"]
    )
    s1 = ref.values[0] + 1j * ref.values[1]
    s2 = sec.values[0] + 1j * sec.values[1]
    lat = xr.DataArray(ref.values[4].astype(np.float64), dims=("azimuth", "range"))
    lon = xr.DataArray(ref.values[5].astype(np.float64), dims=("azimuth", "range"))
    stored = _open(pathlib.Path(product.assets["VV"].get_absolute_href() or "")).values[0]
    results = {}
    for window in (demo.PRODUCT_WINDOW, (5, 21)):
        coh = estimate(s1.astype(np.complex64), s2.astype(np.complex64), window=window)[0]
        mapped = geocode(
            xr.Dataset({"VV": (("azimuth", "range"), coh)}),
            lat,
            lon,
            crs="EPSG:32632",
            resolution=20.0,
        )
        results[window] = demo._to_dn(mapped["VV"].transpose("y", "x").values)
    same = results[demo.PRODUCT_WINDOW]
    assert same.shape == stored.shape
    # float32 lat/lon in the files move a few pixels to a neighbouring cell: nearly all equal
    agree = np.mean(np.abs(same.astype(int) - stored.astype(int)) <= 1)
    assert agree > 0.97
    ours = results[(5, 21)]
    valid = (stored != 255) & (ours != 255)
    # fewer looks, more bias: the product reads higher than the 5 x 21 estimate on average
    assert np.mean(stored[valid].astype(float) - ours[valid]) > 1.0


def _digest(root: pathlib.Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_same_seed_same_bytes(
    demo_catalog: pathlib.Path, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A second build, through the command line this time, writes the very same bytes."""
    from pairscope.cli import main

    assert main(["demo", "build", str(tmp_path / "again"), "--seed", "0", "--size", "small"]) == 0
    again = pathlib.Path(capsys.readouterr().out.strip())
    assert again == tmp_path / "again" / "catalog.json"
    first, second = _digest(demo_catalog.parent), _digest(again.parent)
    assert first == second
    assert not any(name.endswith(".tmp.tif") for name in second)


def test_bad_size_is_refused(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="unknown demo size"):
        demo.build_catalog(tmp_path, size="medium")


def test_truth_reads_back(demo_catalog: pathlib.Path) -> None:
    truth = demo.open_truth(demo_catalog)
    stack = make_scene("small", seed=0).simulate()
    np.testing.assert_array_equal(truth["land_cover"].values, stack["land_cover"].values)
    psi = stack["deformation_phase"] + stack["atmosphere_phase"] + stack["topography_phase"]
    np.testing.assert_allclose(truth["phase"].values, psi.values, atol=1e-5)
    np.testing.assert_allclose(truth["deformation_phase"].values, stack["deformation_phase"].values)
    ref, sec = truth["date"].values[0], truth["date"].values[2]
    coh = demo.true_pair_coherence(truth, ref, sec, "VH")
    land = truth["land_cover"].values
    for lc in DEFAULT_LAND_COVER:
        assert np.all(coh.values[land == lc.code] == np.float32(lc.model("VH")(12.0)))
    with pytest.raises(FileNotFoundError, match="not a pairscope demo catalog"):
        demo.open_truth(demo_catalog.parent / "pairscope-demo-coherence")


def test_rebuild_replaces_an_earlier_demo_and_spares_other_catalogs(tmp_path: pathlib.Path) -> None:
    stale = tmp_path / "demo" / "pairscope-demo-slc" / "S1A_IW_SLC_20200101_T117_249435_IW2"
    stale.mkdir(parents=True)
    (tmp_path / "demo" / "catalog.json").write_text('{"id": "pairscope-demo"}')
    demo.build_catalog(tmp_path / "demo", size="small")
    assert not stale.exists()
    assert len(list((tmp_path / "demo" / "pairscope-demo-slc").glob("S1*"))) == 3 * 6
    other = tmp_path / "other"
    other.mkdir()
    (other / "catalog.json").write_text('{"id": "my-catalog"}')
    with pytest.raises(FileExistsError, match="not a pairscope demo catalog"):
        demo.build_catalog(other, size="small")
    assert json.loads((other / "catalog.json").read_text())["id"] == "my-catalog"


# ----------------------------------------------------------------------------------------------
# three consecutive bursts along one pass
def test_three_bursts_with_the_same_dates_and_polarizations(demo_catalog: pathlib.Path) -> None:
    from pairscope.io.catalog import list_acquisitions, search_bursts

    found = search_bursts(demo_catalog)
    assert [b.burst_id for b in found] == BURSTS == demo.burst_ids("small")
    assert found[0].burst_id == FIRST  # the one-burst demo's burst stays first
    dates = None
    for b in found:
        assert b.polarizations == ("VV", "VH") and b.date_count == 6
        assert b.relative_orbit == 117 and b.orbit_state == "ascending"
        acqs = list_acquisitions(demo_catalog, b.burst_id)
        these = [(a.date, a.platform, a.absolute_orbit) for a in acqs]
        assert dates is None or these == dates
        dates = these
        assert all(set(a.assets) == {"VV", "VH"} for a in acqs)
    assert demo.demo_bursts(demo_catalog) == BURSTS


def test_neighbour_bursts_follow_on_the_same_pass(all_slc_items: list[pystac.Item]) -> None:
    """Same date -> same platform, absolute orbit, ascending node and orbit file; the burst-ID
    number counts up and the sensing time follows on by one burst cycle per burst."""
    from pairscope.sim.simulate import BURST_CYCLE

    by_date: dict[str, list[pystac.Item]] = {}
    for it in all_slc_items:
        by_date.setdefault(str(it.datetime.date()), []).append(it)
    assert len(by_date) == 6
    for items in by_date.values():
        items.sort(key=lambda it: it.properties["s1:burst_id"])
        assert [it.properties["pairscope:burst_id"] for it in items] == BURSTS
        first = items[0].properties
        t0 = np.datetime64(first["datetime"].rstrip("Z"), "ns")
        eof = pathlib.Path(items[0].assets["orbit"].get_absolute_href() or "").read_bytes()
        for k, it in enumerate(items):
            p = it.properties
            n = 249435 + k
            assert p["s1:burst_id"] == n and p["s1:subswath"] == "IW2"
            assert p["s1:asf_burst_id"] == f"117_{n}_IW2"
            assert p["s1:opera_burst_id"] == f"T117-{n}-IW2"
            for key in ("platform", "sat:absolute_orbit", "sat:anx_datetime", "sat:relative_orbit",
                        "sat:orbit_state", "pairscope:coregistration_reference"):  # fmt: skip
                assert p[key] == first[key], key
            dt = (np.datetime64(p["datetime"].rstrip("Z"), "ns") - t0) / np.timedelta64(1, "s")
            assert abs(dt - k * BURST_CYCLE) < 1e-6
            # one physical orbit: the bursts of a date carry the very same EOF
            assert pathlib.Path(it.assets["orbit"].get_absolute_href() or "").read_bytes() == eof
            assert it.id.endswith(f"_T117_{n}_IW2")


def _polygon(it: pystac.Item) -> Any:
    from shapely.geometry import shape

    return shape(it.geometry)


def test_footprints_line_up_along_track(all_slc_items: list[pystac.Item]) -> None:
    """Footprints of the small demo (150-line crops of each burst) lie one burst cycle apart along
    the ground track, in the same subswath (same slant ranges, same ground range)."""
    day = str(all_slc_items[0].datetime.date())
    items = sorted((it for it in all_slc_items if str(it.datetime.date()) == day),
                   key=lambda it: it.properties["s1:burst_id"])  # fmt: skip
    polys = [_polygon(it) for it in items]
    centres = np.array([[p.centroid.x, p.centroid.y] for p in polys])
    mlon = 111_320.0 * np.cos(np.radians(46.9))
    steps = np.diff(centres, axis=0) * [mlon, 110_900.0]
    distance = np.hypot(*steps.T)
    # ~6.9 km/s along the ground under S1 at 46.9 N, times 2.758 s
    assert np.all((17_500 < distance) & (distance < 20_500)), distance
    heading = np.degrees(np.arctan2(steps[:, 0], steps[:, 1]))
    assert np.all((-20 < heading) & (heading < -5)), heading  # ascending: north, a little west
    assert all(polys[k].area == pytest.approx(polys[0].area, rel=0.05) for k in range(3))


def test_whole_bursts_adjoin_with_the_real_overlap() -> None:
    """At the default size a demo burst spans a whole burst in azimuth (1500 lines, 3.08 s):
    consecutive bursts then overlap by ~0.32 s along track, as real IW bursts do, and the
    first and third do not touch. Checked on the scenes' geolocated grid corners (no build)."""
    from shapely.geometry import Polygon

    from pairscope.sim.simulate import AZIMUTH_TIME_INTERVAL, BURST_CYCLE, SIZES

    lines = SIZES["default"][0]
    overlap = lines * AZIMUTH_TIME_INTERVAL - BURST_CYCLE
    assert 0.2 < overlap < 0.5
    polys = []
    for k in range(3):
        scene = make_scene("default", seed=0, burst_offset=k)
        t = scene.azimuth_time[[0, 0, -1, -1]]
        r = scene.slant_range[[0, -1, -1, 0]]
        lat, lon, _ = geometry.geolocate(scene.reference_orbit, t, r, dem=scene.dem)
        polys.append(Polygon(zip(np.ravel(lon), np.ravel(lat), strict=True)))
    for a, b in zip(polys, polys[1:], strict=False):
        shared = a.intersection(b).area / a.area
        assert 0.05 < shared < 0.2, shared  # ~0.32 s of ~3.08 s
    assert not polys[0].intersects(polys[2])


def test_each_burst_has_its_geometry_truth_and_orbit(
    demo_catalog: pathlib.Path, catalog: pystac.Catalog, all_slc_items: list[pystac.Item]
) -> None:
    collection = catalog.get_child(demo.SLC_COLLECTION)
    assert isinstance(collection, pystac.Collection)
    for k, burst in enumerate(BURSTS):
        key = "" if k == 0 else f"_{burst}"
        geo_asset = collection.assets[f"geometry{key}"]
        for name in ("geometry", "truth", "truth_map"):
            assert collection.assets[f"{name}{key}"].extra_fields["pairscope:burst_id"] == burst
        bands = dict(zip(demo.GEOMETRY_BANDS,
                         _open(pathlib.Path(geo_asset.get_absolute_href() or "")).values,
                         strict=True))  # fmt: skip
        ref = next(it for it in all_slc_items if it.properties["pairscope:burst_id"] == burst
                   and str(it.datetime.date()) == it.properties["pairscope:coregistration_reference"])  # fmt: skip
        orbit = geometry.Orbit.from_eof(ref.assets["orbit"].get_absolute_href() or "")
        slc = _open(pathlib.Path(ref.assets["slc"].get_absolute_href() or ""))
        # the footprint's centre pixel: the orbit puts it at zero Doppler at the item's time,
        # at the slant range the geometry asset lists, under an IW2 incidence
        i, j = slc.shape[1] // 2, slc.shape[2] // 2
        g = geometry.look_geometry(orbit, float(slc.values[4][i, j]), float(slc.values[5][i, j]),
                                   float(bands["height"][i, j]))  # fmt: skip
        t = np.datetime64(ref.properties["datetime"].rstrip("Z"), "ns")
        dt = (g["azimuth_time"].values - t) / np.timedelta64(1, "s")
        assert abs(dt) < 2 * 2.055556e-3
        assert float(g["slant_range"]) == pytest.approx(float(bands["slant_range"][i, j]), abs=1.0)
        assert float(g["incidence_angle"]) == pytest.approx(float(bands["incidence_angle"][i, j]), abs=0.01)
        assert 36.0 < float(g["incidence_angle"]) < 42.0
        centre = _polygon(ref).centroid
        assert abs(centre.x - slc.values[5][i, j]) < 0.01 and abs(centre.y - slc.values[4][i, j]) < 0.01
        # the truth of the burst, read back by burst id
        truth = demo.open_truth(demo_catalog, burst_id=burst)
        assert truth.attrs["truth"]["burst_id"] == burst
        assert truth["land_cover"].shape == slc.shape[1:]
        assert [str(d)[:10] for d in truth["date"].values] == truth.attrs["truth"]["dates"]
    first = demo.open_truth(demo_catalog)
    assert first.attrs["truth"]["burst_id"] == FIRST
    same = demo.open_truth(demo_catalog.parent, burst_id="117_249435_IW2")
    np.testing.assert_array_equal(first["phase"].values, same["phase"].values)
    other = demo.open_truth(demo_catalog, burst_id=BURSTS[1])
    assert not np.array_equal(first["land_cover"].values, other["land_cover"].values)
    assert not np.allclose(first["phase"].values, other["phase"].values)
    with pytest.raises(KeyError, match="no burst T117_249440_IW2"):
        demo.open_truth(demo_catalog, burst_id="T117_249440_IW2")


def test_neighbour_truth_is_its_scene(demo_catalog: pathlib.Path) -> None:
    truth = demo.open_truth(demo_catalog, burst_id=BURSTS[2])
    stack = make_scene("small", seed=0, burst_offset=2).simulate()
    np.testing.assert_array_equal(truth["land_cover"].values, stack["land_cover"].values)
    np.testing.assert_allclose(truth["deformation_phase"].values, stack["deformation_phase"].values)


def test_published_look_layers_are_the_bursts_own(demo_catalog: pathlib.Path) -> None:
    """The reader of published look layers takes each burst's own geometry asset."""
    from pairscope.io.catalog import as_catalog, list_acquisitions
    from pairscope.io.layers import open_look_layers

    cat = as_catalog(demo_catalog)
    for k, burst in enumerate(BURSTS):
        acq = list_acquisitions(cat, burst)[0]
        found = open_look_layers(cat, acq, (150, 600))
        assert found is not None
        layers, note = found
        key = "geometry" if k == 0 else f"geometry_{burst}"
        assert note == f"collection {demo.SLC_COLLECTION} asset {key!r}"
        name = "geometry.tif" if k == 0 else f"geometry_{burst}.tif"
        stored = _open(demo_catalog.parent / demo.SLC_COLLECTION / name)
        np.testing.assert_array_equal(layers["look_x"].values, stored.values[2])


def test_products_for_every_burst(all_product_items: list[pystac.Item]) -> None:
    per_burst: dict[str, list[str]] = {}
    for it in all_product_items:
        p = it.properties
        per_burst.setdefault(p["pairscope:burst_id"], []).append(
            f"{p['pairscope:reference_date']}_{p['pairscope:secondary_date']}"
        )
        assert all(i.endswith(p["pairscope:burst_id"]) for i in p["pairscope:inputs"])
    assert sorted(per_burst) == BURSTS
    assert per_burst[BURSTS[0]] == per_burst[BURSTS[1]] == per_burst[BURSTS[2]]
