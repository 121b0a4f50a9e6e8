"""Exported output in GIS tools: titiler draws it with its own renders, GDAL warps radar geometry
onto the map output, rioxarray reads physical values, pystac / pystac-client open the folder.

Built from the demo catalog (a real static STAC catalog of simulated SLCs with terrain): one pair
estimated in radar geometry, the same pair geocoded to 20 m, the burst's look geometry.
"""

from __future__ import annotations

import io
import json
import math
import os
import pathlib
import shutil
import warnings
from typing import Any

import numpy as np
import pystac
import pytest
import rasterio
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning
from rasterio.warp import Resampling, reproject

from pairscope.io import export

WINDOW = (3, 9)
PHASE_STEP = math.pi / 32767


@pytest.fixture(scope="module")
def demo_pair(demo_catalog: pathlib.Path) -> dict[str, Any]:
    """One pair of the demo burst in radar geometry, the same pair geocoded, the look geometry."""
    from pairscope.coherence import estimate_pairs
    from pairscope.geometry.geocoding import geocode
    from pairscope.io.catalog import list_acquisitions, open_catalog, search_bursts
    from pairscope.io.rasters import open_slc_stack

    cat = open_catalog(str(demo_catalog))
    burst = search_bursts(cat)[0].burst_id
    acquisitions = list(list_acquisitions(cat, burst, polarization="VV"))[:2]
    stack = open_slc_stack(cat, burst, [a.date for a in acquisitions], "VV").load()
    dates = stack["date"].values
    radar = estimate_pairs(stack, [(dates[0], dates[1])], WINDOW)
    geocoded = geocode(radar, radar["latitude"], radar["longitude"], resolution=20.0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(demo_catalog.parent / "pairscope-demo-slc" / "geometry.tif") as src:
            bands = {name: src.read(i + 1) for i, name in enumerate(src.descriptions)}
    look = xr.Dataset(
        {k: (("azimuth", "range"), bands[k]) for k in ("look_x", "look_y", "look_z",
                                                         "incidence_angle")},
        coords={"latitude": radar["latitude"], "longitude": radar["longitude"]},
    )
    return {"burst": burst, "inputs": [a.item for a in acquisitions], "radar": radar,
            "map": geocoded, "look": look}


@pytest.fixture(scope="module")
def output(tmp_path_factory: pytest.TempPathFactory, demo_pair: dict[str, Any]) -> dict[str, Any]:
    """An output folder as ``pairscope compute`` lays it out (one folder per burst and geometry),
    made a catalog by `write_output_catalog`."""
    root = tmp_path_factory.mktemp("output")
    burst = demo_pair["burst"]
    radar_dir, map_dir = root / burst, root / f"{burst}_20m"
    common = {"inputs": demo_pair["inputs"], "burst_id": burst, "polarization": "VV"}
    radar_item = export.export_pair(demo_pair["radar"], 0, radar_dir, **common)
    geometry_item = export.export_geometry(demo_pair["look"], radar_dir,
                                           inputs=demo_pair["inputs"][:1], burst_id=burst)
    map_item = export.export_pair(demo_pair["map"], 0, map_dir, **common)
    for folder, items in ((radar_dir, [radar_item]), (map_dir, [map_item])):
        export.write_pairs_csv(export.pairs_table_from_items(items), folder / "pairs.csv")
    catalog = export.write_output_catalog(root, title="demo output")
    return {"root": root, "catalog": catalog, "radar": radar_item, "map": map_item,
            "geometry": geometry_item}


def _item(path_or_item: Any) -> tuple[pathlib.Path, dict[str, Any]]:
    path = pathlib.Path(path_or_item.get_self_href() if hasattr(path_or_item, "get_self_href")
                        else path_or_item)
    return path, json.loads(path.read_text())


def _stored(path: pathlib.Path, band: int = 1) -> tuple[np.ndarray, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return src.read(band), src.nodata


def _json_files(root: pathlib.Path) -> list[pathlib.Path]:
    return sorted(p for p in root.rglob("*.json") if not p.name.startswith("."))


# --- titiler ---------------------------------------------------------------------------------


def _titiler_png(item_path: pathlib.Path, asset: str, render: dict[str, Any]) -> tuple[Any, np.ndarray]:
    """What titiler serves for ``?assets=<asset>&rescale=..&colormap_name=..`` (its reader, its
    rescale, its colormap, its PNG encoder), decoded to RGBA; and the data it read."""
    from PIL import Image
    from rio_tiler.colormap import cmap
    from rio_tiler.io import STACReader

    with STACReader(str(item_path)) as reader:
        image = reader.preview(assets=[asset], max_size=None)
    data = image.array.copy()
    image.rescale(in_range=[tuple(r) for r in render["rescale"]])
    png = image.render(img_format="PNG", colormap=cmap.get(render["colormap_name"]))
    with Image.open(io.BytesIO(png)) as decoded:
        return data, np.asarray(decoded.convert("RGBA"))


@pytest.fixture(scope="module")
def float_map_item(tmp_path_factory: pytest.TempPathFactory, demo_pair: dict[str, Any]) -> Any:
    return export.export_pair(demo_pair["map"], 0, tmp_path_factory.mktemp("float"),
                              inputs=demo_pair["inputs"], encoding="float32")


@pytest.mark.parametrize("asset", ["coherence", "phase"])
@pytest.mark.parametrize("which", ["map", "map-float32", "radar"])
def test_titiler_draws_the_items_render_as_pairscope_does(
    output: dict[str, Any], float_map_item: Any, which: str, asset: str
) -> None:
    from pairscope.render import apply_render

    path, item = _item(float_map_item if which == "map-float32" else output[which.split("-")[0]])
    render = item["properties"]["renders"][asset]
    bands = item["assets"][asset]["raster:bands"]
    data, served = _titiler_png(path, asset, render)
    if which.startswith("map"):
        # no resampling on the item's own grid: titiler read exactly the stored values
        stored, nodata = _stored(path.parent / item["assets"][asset]["href"])
        fill = np.nan if nodata is None or math.isnan(nodata) else nodata
        np.testing.assert_array_equal(np.ma.filled(data[0].astype(stored.dtype), fill), stored)
    else:
        # radar geometry: titiler warps with the GCPs to WGS84; compare on what it read
        assert served.shape[:2] == data.shape[1:]
    ours, _ = apply_render(data[0], render, bands)
    valid = ours[..., 3] > 0
    assert valid.mean() > 0.5
    np.testing.assert_array_equal(served[..., 3] > 0, valid)
    np.testing.assert_array_equal(served[valid][:, :3], ours[valid][:, :3])


def test_renders_rescale_stored_values(output: dict[str, Any]) -> None:
    """Compact items render their stored values (as titiler applies rescale); unscaled they are
    the app's physical defaults."""
    from pairscope.render import DEFAULT_RENDERS, to_physical

    _, item = _item(output["map"])
    for asset in ("coherence", "phase"):
        render = item["properties"]["renders"][asset]
        band = item["assets"][asset]["raster:bands"][0]
        physical = to_physical(render, band["scale"], band["offset"])
        np.testing.assert_allclose(physical["rescale"], DEFAULT_RENDERS[asset]["rescale"],
                                   rtol=0, atol=1e-9)
    assert item["properties"]["renders"]["coherence"]["rescale"] == [[0.0, 250.0]]


def test_titiler_places_radar_output(output: dict[str, Any]) -> None:
    """titiler's reader answers with a CRS (from the GCPs) and tiles over the footprint."""
    import morecantile
    from rio_tiler.io import STACReader

    path, item = _item(output["radar"])
    west, south, east, north = item["bbox"]
    with STACReader(str(path)) as reader:
        info = reader.info(assets=["coherence"])["coherence"]
        tms = morecantile.tms.get("WebMercatorQuad")
        tile = tms.tile((west + east) / 2, (south + north) / 2, 15)
        image = reader.tile(tile.x, tile.y, tile.z, assets=["coherence"])
    assert "4326" in str(info.crs)
    assert image.array.mask.mean() < 1.0  # data, not an empty tile


# --- GDAL warping ----------------------------------------------------------------------------


def _on_map_grid(radar_file: pathlib.Path, map_file: pathlib.Path, method: str) -> tuple[np.ndarray, np.ndarray]:
    """(radar coherence warped onto the map item's grid, the map item's coherence), NaN empty."""
    with rasterio.open(map_file) as src:
        stored, transform, crs = src.read(1), src.transform, src.crs
    warped = np.full(stored.shape, 255, dtype="uint8")
    with warnings.catch_warnings():
        # rasterio names GCPs and RPCs, not GDAL geolocation arrays, as georeferencing
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        src = rasterio.open(radar_file)
    with src:
        reproject(rasterio.band(src, 1), warped, dst_transform=transform, dst_crs=crs,
                  resampling=Resampling.average, src_nodata=255, dst_nodata=255,
                  SRC_METHOD=method)

    def physical(dn: np.ndarray) -> np.ndarray:
        return np.where(dn == 255, np.nan, dn * 0.004)

    return physical(warped), physical(stored)


def _placement(warped: np.ndarray, reference: np.ndarray) -> tuple[float, float, tuple[int, int]]:
    """(footprint overlap IoU, correlation in place, the integer shift of best correlation)."""
    a, b = np.isfinite(warped), np.isfinite(reference)
    iou = float((a & b).sum() / (a | b).sum())
    scores = {}
    for dy in range(-3, 4):
        for dx in range(-3, 4):
            moved = np.roll(warped, (dy, dx), axis=(0, 1))
            ok = np.isfinite(moved) & b
            ok[:4] = ok[-4:] = False
            ok[:, :4] = ok[:, -4:] = False
            scores[(dy, dx)] = float(np.corrcoef(moved[ok], reference[ok])[0, 1])
    return iou, scores[(0, 0)], max(scores, key=lambda k: scores[k])


def test_gcps_put_radar_output_where_the_map_output_is(output: dict[str, Any],
                                                       demo_pair: dict[str, Any]) -> None:
    from rasterio.transform import GCPTransformer

    radar_path, radar = _item(output["radar"])
    map_path, mapped = _item(output["map"])
    radar_file = radar_path.parent / radar["assets"]["coherence"]["href"]
    with rasterio.open(radar_file) as src:
        gcps, gcp_crs = src.gcps
        assert src.crs is None and gcp_crs.to_epsg() == 4326 and len(gcps) >= 100
    # identifiable points: pixels placed by the GCPs (thin-plate spline, gdalwarp -tps) where
    # the stack's own lat/lon grid says, well within a 20 m map pixel
    lat, lon = (demo_pair["radar"][k].values for k in ("latitude", "longitude"))
    rng = np.random.default_rng(0)
    rows = rng.integers(0, lat.shape[0], 300)
    cols = rng.integers(0, lat.shape[1], 300)
    with GCPTransformer(gcps, tps=True) as transformer:
        xs, ys = transformer.xy(rows, cols, offset="center")
    metres = np.hypot((np.asarray(xs) - lon[rows, cols]) * 111_320 * math.cos(math.radians(lat.mean())),
                      (np.asarray(ys) - lat[rows, cols]) * 111_320)
    assert np.median(metres) < 2.0 and metres.max() < 10.0
    # the whole layer warped onto the map item's grid lands on the geocoded layer
    warped, reference = _on_map_grid(radar_file, map_path.parent / mapped["assets"]["coherence"]["href"],
                                     "GCP_TPS")
    iou, correlation, shift = _placement(warped, reference)
    assert iou > 0.95 and correlation > 0.95 and shift == (0, 0), (iou, correlation, shift)


def test_geolocation_arrays_place_radar_output_after_a_move(
    tmp_path: pathlib.Path, output: dict[str, Any], demo_pair: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    item = export.export_pair(demo_pair["radar"], 0, tmp_path / "a", georeference="geolocation")
    folder = pathlib.Path(item.get_self_href()).parent
    assert item.properties["pairscope:georeference"] == "geolocation"
    assert (folder / f"{item.id}_coherence.tif.aux.xml").is_file()
    shutil.move(tmp_path / "a", tmp_path / "b")
    monkeypatch.chdir(tmp_path)  # the geolocation asset is found beside the layer, not via cwd
    radar_file = tmp_path / "b" / item.id / f"{item.id}_coherence.tif"
    with pytest.warns(NotGeoreferencedWarning), rasterio.open(radar_file) as src:
        assert not src.gcps[0]  # rasterio warns: it knows GCPs and RPCs, GDAL also these arrays
        assert src.tags(ns="GEOLOCATION")["X_DATASET"] == f"{item.id}_geolocation.tif"
    map_path, mapped = _item(output["map"])
    warped, reference = _on_map_grid(radar_file, map_path.parent / mapped["assets"]["coherence"]["href"],
                                     "GEOLOC_ARRAY")
    iou, correlation, shift = _placement(warped, reference)
    assert iou > 0.95 and correlation > 0.95 and shift == (0, 0), (iou, correlation, shift)


# --- encodings -------------------------------------------------------------------------------


def _physical(path: pathlib.Path) -> np.ndarray:
    import rioxarray

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        da = rioxarray.open_rasterio(path, mask_and_scale=True)
        try:
            return np.asarray(da.values[0], dtype="float64")
        finally:
            da.close()


@pytest.mark.parametrize(("which", "encoding"),
                         [("radar", "compact"), ("map", "compact"), ("map", "float32")])
def test_rioxarray_reads_physical_values(tmp_path: pathlib.Path, demo_pair: dict[str, Any],
                                         which: str, encoding: str) -> None:
    result = demo_pair[which]
    item = export.export_pair(result, 0, tmp_path, encoding=encoding)
    folder = pathlib.Path(item.get_self_href()).parent
    coherence = result["coherence"].values[0].astype("float64")
    empty = ~np.isfinite(coherence)
    read = {k: _physical(folder / item.assets[k].href) for k in ("coherence", "phase", "valid_count")}
    for values in read.values():
        np.testing.assert_array_equal(np.isnan(values), empty)
    if which == "map":
        assert empty.any()  # cells outside the footprint
    ok = ~empty
    tolerance = {"compact": (1 / 500, PHASE_STEP / 2), "float32": (0.0, 0.0)}[encoding]
    assert np.abs(read["coherence"][ok] - coherence[ok]).max() <= tolerance[0] + 1e-6
    phase = result["phase"].values[0].astype("float64")
    wrapped = np.angle(np.exp(1j * (read["phase"][ok] - phase[ok])))
    assert np.abs(wrapped).max() <= tolerance[1] + 1e-6
    np.testing.assert_array_equal(read["valid_count"][ok], result["valid_count"].values[0][ok])
    if encoding == "compact":
        dtypes = {k: item.assets[k].extra_fields["raster:bands"][0]["data_type"] for k in read}
        assert dtypes == {"coherence": "uint8", "phase": "int16", "valid_count": "uint8"}


def test_integer_bands_declare_nodata_and_statistics_skip_it(output: dict[str, Any]) -> None:
    checked = 0
    for key in ("radar", "map", "geometry"):
        path, item = _item(output[key])
        for name, asset in item["assets"].items():
            file = path.parent / asset["href"]
            for index, band in enumerate(asset["raster:bands"]):
                stored, nodata = _stored(file, index + 1)
                if np.issubdtype(stored.dtype, np.integer):
                    assert band["nodata"] == nodata and nodata is not None, (key, name)
                    valid = stored != nodata
                else:
                    assert band["nodata"] == "nan", (key, name)
                    valid = np.isfinite(stored)
                stats = band["statistics"]
                assert stats["valid_percent"] == pytest.approx(100 * valid.mean(), abs=1e-4)
                assert stats["minimum"] == pytest.approx(float(stored[valid].min()))
                assert stats["maximum"] == pytest.approx(float(stored[valid].max()))
                assert stats["mean"] == pytest.approx(float(stored[valid].mean()), rel=1e-9)
                checked += 1
    assert checked >= 11
    _, mapped = _item(output["map"])
    assert mapped["assets"]["valid_count"]["raster:bands"][0]["statistics"]["valid_percent"] < 100


# --- the output folder as a STAC catalog -----------------------------------------------------


def test_output_folder_is_a_catalog(output: dict[str, Any], demo_pair: dict[str, Any]) -> None:
    catalog = pystac.Catalog.from_file(str(output["catalog"]))
    burst = demo_pair["burst"]
    collections = {c.id: c for c in catalog.get_collections()}
    assert set(collections) == {burst, f"{burst}_20m"}
    radar = collections[burst]
    assert {i.id for i in radar.get_items()} == {output["radar"].id, output["geometry"].id}
    assert {i.id for i in collections[f"{burst}_20m"].get_items()} == {output["map"].id}
    for item in catalog.get_items(recursive=True):
        assert item.collection_id in collections
        href = item.assets["coherence" if "coherence" in item.assets else "look_z"].get_absolute_href()
        assert href is not None and pathlib.Path(href).is_file()
    # collection contents: extent, summaries, item_assets, renders, the pairs table
    doc = radar.to_dict(transform_hrefs=False)
    assert doc["extent"]["temporal"]["interval"][0][0].startswith(
        str(demo_pair["radar"]["reference"].values[0])[:10])
    west, south, east, north = doc["extent"]["spatial"]["bbox"][0]
    assert west <= output["radar"].bbox[0] and north >= output["radar"].bbox[3]
    assert doc["summaries"]["pairscope:encoding"] == ["compact"]
    assert doc["summaries"]["pairscope:window"] == [list(WINDOW)]
    assert doc["summaries"]["sar:polarizations"] == ["VV"]
    assert doc["item_assets"]["coherence"]["raster:bands"][0]["scale"] == 0.004
    assert "statistics" not in doc["item_assets"]["coherence"]["raster:bands"][0]
    assert doc["renders"]["coherence"] == output["radar"].properties["renders"]["coherence"]
    assert doc["assets"]["pairs"]["href"] == "./pairs.csv"


def test_pystac_client_opens_the_output_folder(output: dict[str, Any]) -> None:
    from pystac_client import Client
    from pystac_client.warnings import FallbackToPystac, NoConformsTo

    # a static catalog is not an API: pystac-client says so, then reads it as pystac does
    with pytest.warns(NoConformsTo):
        client = Client.open(str(output["catalog"]))
    with pytest.warns(FallbackToPystac):
        collections = list(client.get_collections())
        items = [i for c in collections for i in c.get_items()]
    assert len(collections) == 2
    assert {output["radar"].id, output["map"].id, output["geometry"].id} == {i.id for i in items}


def test_every_link_is_relative_and_inputs_resolve(output: dict[str, Any],
                                                   demo_pair: dict[str, Any]) -> None:
    inputs = {i.id: pathlib.Path(i.get_self_href()).resolve() for i in demo_pair["inputs"]}
    derived = 0
    for path in _json_files(output["root"]):
        doc = json.loads(path.read_text())
        hrefs = [link["href"] for link in doc.get("links", [])]
        hrefs += [a["href"] for a in doc.get("assets", {}).values()]
        for href in hrefs:
            assert href.startswith(("./", "../")), (path.name, href)
            assert (path.parent / href).resolve().exists(), (path.name, href)
        for link in doc.get("links", []):
            if link["rel"] == "derived_from":
                assert (path.parent / link["href"]).resolve() == inputs[link["title"]]
                derived += 1
    assert derived == 2 + 2 + 1  # radar pair, map pair, geometry


def test_remote_inputs_are_linked_without_secrets(tmp_path: pathlib.Path,
                                                  demo_pair: dict[str, Any]) -> None:
    remote = []
    for i, source in enumerate(demo_pair["inputs"]):
        doc = source.to_dict(include_self_link=False)
        doc["links"] = [{"rel": "self", "href": f"https://user:hunter2@127.0.0.1:9/collections/slc/"
                                                f"items/{source.id}?token=s3cr3t{i}&page=2"}]
        remote.append(doc)
    item = export.export_pair(demo_pair["radar"], 0, tmp_path / "b", inputs=remote)
    export.write_output_catalog(tmp_path)
    text = "".join(p.read_text() for p in _json_files(tmp_path))
    for secret in ("s3cr3t", "hunter2", "token", "user@"):
        assert secret not in text
    on_disk = json.loads(pathlib.Path(item.get_self_href()).read_text())
    assert [link["href"] for link in on_disk["links"] if link["rel"] == "derived_from"] == [
        f"https://127.0.0.1:9/collections/slc/items/{s.id}?page=2" for s in demo_pair["inputs"]]


def test_moved_folder_still_opens(tmp_path: pathlib.Path, demo_pair: dict[str, Any]) -> None:
    first = tmp_path / "first"
    export.export_pair(demo_pair["radar"], 0, first / demo_pair["burst"],
                       inputs=demo_pair["inputs"], burst_id=demo_pair["burst"])
    export.write_output_catalog(first)
    moved = tmp_path / "elsewhere" / "renamed"
    moved.parent.mkdir()
    shutil.move(first, moved)
    catalog = pystac.Catalog.from_file(str(moved / "catalog.json"))
    items = list(catalog.get_items(recursive=True))
    assert len(items) == 1
    href = items[0].assets["coherence"].get_absolute_href()
    assert href is not None and href.startswith(str(moved))
    stored, nodata = _stored(pathlib.Path(href))
    assert nodata == 255 and (stored != 255).any()
    assert items[0].get_collection() is not None


def test_every_document_validates_offline(output: dict[str, Any], schemas: pathlib.Path) -> None:
    kinds = set()
    for path in _json_files(output["root"]):
        doc = json.loads(path.read_text())
        report = export.validate_item(doc, schemas)
        assert set(report.values()) == {"valid"}, (path.name, report)
        kinds.add(doc["type"])
    assert kinds == {"Catalog", "Collection", "Feature"}


def test_catalog_rebuild_is_idempotent_and_follows_resume(
    tmp_path: pathlib.Path, demo_pair: dict[str, Any], schemas: pathlib.Path
) -> None:
    folder = tmp_path / demo_pair["burst"]
    result = demo_pair["radar"]
    item = export.export_pair(result, 0, folder, inputs=demo_pair["inputs"])
    other = export.export_pair(result, 0, folder, inputs=demo_pair["inputs"], item_id="other")
    catalog = export.write_output_catalog(tmp_path)
    assert os.path.basename(catalog) == "catalog.json"

    def state() -> dict[pathlib.Path, tuple[bytes, int]]:
        return {p: (p.read_bytes(), p.stat().st_mtime_ns) for p in _json_files(tmp_path)}

    def linked() -> list[str]:
        collection = json.loads((folder / "collection.json").read_text())
        return [link["title"] for link in collection["links"] if link["rel"] == "item"]

    before = state()
    assert export.write_output_catalog(tmp_path) == catalog
    assert state() == before  # nothing rewritten
    assert linked() == sorted([item.id, "other"])
    # a pair that lost an asset (a run killed mid-pair) is left out until it is complete again
    item_path = pathlib.Path(item.get_self_href())
    pathlib.Path(item.assets["phase"].get_absolute_href() or "").unlink()
    export.write_output_catalog(tmp_path)
    assert not export.is_complete(item_path) and linked() == ["other"]
    export.export_pair(result, 0, folder, inputs=demo_pair["inputs"])  # the resumed run
    export.write_output_catalog(tmp_path)
    assert export.is_complete(item_path) and linked() == sorted([item.id, "other"])
    for path in _json_files(tmp_path):
        export.validate_item(json.loads(path.read_text()), schemas)
    # a burst folder left without complete items loses its collection and its catalog entry
    shutil.rmtree(pathlib.Path(other.get_self_href()).parent)
    shutil.rmtree(item_path.parent)
    export.write_output_catalog(tmp_path)
    assert not (folder / "collection.json").exists()
    assert [link["rel"] for link in json.loads(catalog.read_text())["links"]] == ["root"]
    assert not list(tmp_path.rglob(".*.tmp"))
