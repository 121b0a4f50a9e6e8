"""Export: COG + STAC item per pair, PNG, pairs CSV; offline schema validation; reload in pairscope."""

from __future__ import annotations

import copy
import csv
import json
import math
import pathlib
import re
import warnings
from typing import Any

import jsonschema
import numpy as np
import pytest
import rasterio
import xarray as xr
from pyproj import Transformer
from rasterio.errors import NotGeoreferencedWarning

from pairscope import __version__
from pairscope.io import export

AZ, RG = 96, 300
DATES = np.array(["2024-08-09", "2024-08-21", "2024-09-02"], dtype="datetime64[ns]")


def _slc_item(date: str, platform: str, absolute_orbit: int) -> dict[str, Any]:
    day = date.replace("-", "")
    return {
        "type": "Feature", "stac_version": "1.1.0", "id": f"S1A_IW_SLC_{day}_T117_249435_IW2",
        "geometry": None,
        "properties": {
            "datetime": f"{date}T17:05:57Z", "platform": platform, "constellation": "sentinel-1",
            "sar:instrument_mode": "IW", "sar:frequency_band": "C", "sar:center_frequency": 5.405,
            "sar:polarizations": ["VV", "VH"], "sar:product_type": "SLC",
            "sar:observation_direction": "right", "sat:relative_orbit": 117,
            "sat:absolute_orbit": absolute_orbit, "sat:orbit_state": "ascending",
            "s1:burst_id": 249435, "s1:subswath": "IW2", "pairscope:burst_id": "T117_249435_IW2",
        },
        "links": [{"rel": "self", "href": f"/catalog/slc/{day}/{day}.json"}],
        "assets": {},
    }


INPUTS = {
    "2024-08-09": _slc_item("2024-08-09", "sentinel-1a", 55100),
    "2024-08-21": _slc_item("2024-08-21", "sentinel-1c", 1200),
    "2024-09-02": _slc_item("2024-09-02", "sentinel-1a", 55450),
}


def _pairs_dataset(dims: tuple[str, str], seed: int = 1) -> xr.Dataset:
    rng = np.random.default_rng(seed)
    coh = rng.random((2, AZ, RG)).astype("float32")
    coh[:, :3, :] = np.nan  # borders without valid samples
    coh[1, 40:50, 100:120] = np.nan
    phase = rng.uniform(-np.pi, np.pi, (2, AZ, RG)).astype("float32")
    phase[np.isnan(coh)] = np.nan
    count = np.where(np.isnan(coh), 0, 105).astype("int32")
    return xr.Dataset(
        {
            "coherence": (("pair", *dims), coh),
            "phase": (("pair", *dims), phase),
            "valid_count": (("pair", *dims), count),
        },
        coords={
            "reference": ("pair", DATES[[0, 0]]),
            "secondary": ("pair", DATES[[1, 2]]),
            "temporal_baseline": ("pair", [12, 24]),
            "perpendicular_baseline": ("pair", [42.5, -87.25]),
        },
        attrs={"window": (5, 21), "estimator": "boxcar", "bias_corrected": 0},
    )


@pytest.fixture(scope="module")
def radar_result() -> xr.Dataset:
    ds = _pairs_dataset(("azimuth", "range"))
    a = np.linspace(0.0, 1.0, AZ)[:, None]
    r = np.linspace(0.0, 1.0, RG)[None, :]
    lat = 45.0 + 0.18 * a - 0.02 * r
    lon = 10.0 + 0.05 * a + 0.9 * r
    return ds.assign_coords(latitude=(("azimuth", "range"), lat), longitude=(("azimuth", "range"), lon))


@pytest.fixture(scope="module")
def map_result() -> xr.Dataset:
    ds = _pairs_dataset(("y", "x"), seed=2)
    ds = ds.assign_coords(y=5_000_010.0 - 20.0 * np.arange(AZ), x=600_010.0 + 20.0 * np.arange(RG))
    return ds.rio.write_crs("EPSG:32632")


@pytest.fixture(scope="module")
def geometry_layers(radar_result: xr.Dataset) -> xr.Dataset:
    shape = (AZ, RG)
    inc = np.linspace(36.0, 42.0, RG)[None, :] * np.ones(shape)
    layers = {"incidence_angle": inc}
    for i, name in enumerate(["look_x", "look_y", "look_z"]):
        layers[name] = np.full(shape, [0.3, -0.5, -0.81][i]) + 1e-4 * np.arange(RG)[None, :]
    return xr.Dataset({k: (("azimuth", "range"), v.astype("float32")) for k, v in layers.items()})


@pytest.fixture(scope="module")
def radar_items(tmp_path_factory: pytest.TempPathFactory, radar_result: xr.Dataset,
                geometry_layers: xr.Dataset) -> list[Any]:
    out = tmp_path_factory.mktemp("radar")
    return export.export_pairs(
        radar_result, out, inputs=INPUTS, geometry=geometry_layers,
        burst_id="T117_249435_IW2", polarization="VV", encoding="float32",
    )


@pytest.fixture(scope="module")
def map_item(tmp_path_factory: pytest.TempPathFactory, map_result: xr.Dataset) -> Any:
    out = tmp_path_factory.mktemp("map")
    return export.export_pair(
        map_result, ("2024-08-09", "2024-09-02"), out,
        inputs=[INPUTS["2024-08-09"], INPUTS["2024-09-02"]], polarization="vv",
        encoding="float32",
    )


def _read(path: pathlib.Path) -> tuple[np.ndarray, dict[str, Any]]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return src.read(), {
                "profile": src.profile, "descriptions": src.descriptions, "units": src.units,
                "scales": src.scales, "offsets": src.offsets, "crs": src.crs,
                "transform": src.transform, "layout": src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT"),
                "overviews": src.overviews(1),
            }


def _asset_path(item: Any, key: str) -> pathlib.Path:
    return pathlib.Path(item.assets[key].get_absolute_href())


# --- COG writer ------------------------------------------------------------------------------


def test_write_cog_is_cloud_optimized_and_round_trips(tmp_path: pathlib.Path) -> None:
    rng = np.random.default_rng(3)
    data = rng.uniform(-np.pi, np.pi, (700, 900)).astype("float32")
    data[:5] = np.nan
    bands = export.write_cog(data, tmp_path / "phase.tif", band_names=["phase"], units="rad",
                             resampling="NEAREST")
    back, meta = _read(tmp_path / "phase.tif")
    assert meta["layout"] == "COG"
    assert meta["profile"]["tiled"] and meta["profile"]["blockxsize"] == 256
    assert meta["overviews"], "a 700 x 900 COG has overviews"
    assert meta["descriptions"] == ("phase",) and meta["units"] == ("rad",)
    assert meta["crs"] is None
    np.testing.assert_array_equal(back[0], data)  # NaN positions equal too
    assert bands[0]["nodata"] == "nan" and bands[0]["data_type"] == "float32"
    assert bands[0]["statistics"]["valid_percent"] == pytest.approx(100 * 695 / 700)
    # nearest overviews never average wrapped phase: each value exists at full resolution
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with rasterio.open(tmp_path / "phase.tif", overview_level=0) as ov:
            small = ov.read(1)
    finite = small[np.isfinite(small)]
    assert finite.size > 0 and np.isin(finite, data).all()
    assert not list(tmp_path.glob(".*.tmp"))


def test_write_cog_rejects_bad_shapes(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ValueError, match="2-D"):
        export.write_cog(np.zeros(5, "float32"), tmp_path / "x.tif")
    with pytest.raises(ValueError, match="2 bands but 1 names"):
        export.write_cog(np.zeros((2, 4, 4), "float32"), tmp_path / "x.tif", band_names=["a"])


def test_failed_write_keeps_previous_file_and_leaves_no_temp(tmp_path: pathlib.Path) -> None:
    target = tmp_path / "c.tif"
    first = np.full((32, 32), 0.25, "float32")
    export.write_cog(first, target)

    def crash(stage: str, path: pathlib.Path) -> None:
        if stage == "written":
            assert path.exists() and path != target
            raise RuntimeError("killed before the rename")

    with pytest.raises(RuntimeError, match="killed"):
        export.write_cog(np.full((32, 32), 0.75, "float32"), target, hook=crash)
    back, _ = _read(target)
    np.testing.assert_array_equal(back[0], first)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["c.tif"]


def test_stale_temporaries_go_with_their_gdal_sidecars(tmp_path: pathlib.Path) -> None:
    """A killed writer's temporaries are removed with the sidecars GDAL wrote beside them (a
    shared geolocation file's ``.aux.xml``); a live writer's and other files are kept."""
    import subprocess
    import sys

    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    dead = int(gone.stdout)
    folder = tmp_path / "burst"
    folder.mkdir()
    killed = f".geo.tif.{export._HOST}.{dead}.0123abcd.tmp"
    alive = f".geo.tif.{export.temporary_suffix()}"
    names = [killed, killed + ".aux.xml", killed + ".ovr", alive, alive + ".aux.xml",
             "geo.tif", "geo.tif.aux.xml", f".x.{export._HOST}.{dead}.0123abcd.tmp.txt"]  # fmt: skip
    for name in names:
        (folder / name).write_bytes(b"x")
    removed = export.remove_stale_temporaries(tmp_path)
    assert sorted(p.name for p in removed) == sorted([killed, killed + ".aux.xml", killed + ".ovr"])
    assert sorted(p.name for p in folder.iterdir()) == sorted(names[3:])


# --- items -----------------------------------------------------------------------------------


def test_radar_item_contents(radar_items: list[Any], radar_result: xr.Dataset) -> None:
    from pairscope.render import DEFAULT_RENDERS

    assert [i.id for i in radar_items] == [
        "T117_249435_IW2_VV_20240809_20240821_5x21",
        "T117_249435_IW2_VV_20240809_20240902_5x21",
    ]
    item = radar_items[1]
    p = item.properties
    assert item.datetime is None
    assert p["start_datetime"] == "2024-08-09T00:00:00Z" and p["end_datetime"] == "2024-09-02T00:00:00Z"
    assert p["proj:code"] is None and p["proj:shape"] == [AZ, RG]
    assert p["pairscope:geometry"] == "radar" and p["pairscope:geolocation_asset"] == "geolocation"
    # sar/sat of the inputs; fields that differ between inputs (platform, orbit) are left out
    assert p["sar:frequency_band"] == "C" and p["sar:center_frequency"] == 5.405
    assert p["sar:polarizations"] == ["VV"]
    assert (p["sar:looks_azimuth"], p["sar:looks_range"]) == (5, 21)
    assert p["sat:relative_orbit"] == 117 and p["sat:orbit_state"] == "ascending"
    assert p["platform"] == "sentinel-1a" and "sat:absolute_orbit" not in p
    assert "platform" not in radar_items[0].properties  # S1A + S1C pair
    # processing parameters
    assert p["processing:software"] == {"pairscope": __version__}
    assert p["pairscope:window"] == [5, 21] and p["pairscope:estimator"] == "boxcar"
    assert p["pairscope:bias_corrected"] is False
    assert p["pairscope:input_items"] == [INPUTS["2024-08-09"]["id"], INPUTS["2024-09-02"]["id"]]
    assert p["pairscope:temporal_baseline"] == 24
    assert p["pairscope:perpendicular_baseline"] == -87.25
    expected_mean = float(np.nanmean(radar_result["coherence"].values[1]))
    assert p["pairscope:mean_coherence"] == pytest.approx(expected_mean, abs=1e-6)
    derived = [link.href for link in item.links if link.rel == "derived_from"]
    assert derived == ["/catalog/slc/20240809/20240809.json", "/catalog/slc/20240902/20240902.json"]
    # renders: one per layer, exactly the app's defaults, pointing at the right asset
    assert set(p["renders"]) == {"coherence", "phase", "look_x", "look_y", "look_z", "incidence"}
    for key, render in p["renders"].items():
        assert render["assets"] == [key]
        reference = DEFAULT_RENDERS[key]
        assert render["rescale"] == [list(r) for r in reference["rescale"]]
        assert render.get("colormap_name") == reference.get("colormap_name")
    # raster bands
    bands = item.assets["coherence"].extra_fields["raster:bands"]
    assert bands[0]["unit"] == "1" and bands[0]["nodata"] == "nan" and bands[0]["scale"] == 1.0
    assert item.assets["phase"].extra_fields["raster:bands"][0]["unit"] == "rad"
    assert item.assets["incidence"].extra_fields["raster:bands"][0]["unit"] == "deg"
    # footprint from the lat/lon grid
    lon_min, lat_min, lon_max, lat_max = item.bbox
    assert lat_min == pytest.approx(44.98) and lat_max == pytest.approx(45.18)
    assert lon_min == pytest.approx(10.0) and lon_max == pytest.approx(10.95)


def test_radar_cogs_hold_the_result(radar_items: list[Any], radar_result: xr.Dataset,
                                    geometry_layers: xr.Dataset) -> None:
    item = radar_items[0]
    for key in ("coherence", "phase", "valid_count"):
        data, meta = _read(_asset_path(item, key))
        assert meta["layout"] == "COG" and meta["crs"] is None
        np.testing.assert_array_equal(data[0], radar_result[key].values[0])
    data, _ = _read(_asset_path(item, "incidence"))
    np.testing.assert_array_equal(data[0], geometry_layers["incidence_angle"].values)
    grid, meta = _read(_asset_path(item, "geolocation"))
    assert meta["descriptions"] == ("grid_lat", "grid_lon")
    np.testing.assert_array_equal(grid[0], radar_result["latitude"].values)
    np.testing.assert_array_equal(grid[1], radar_result["longitude"].values)


def test_map_item_projection(map_item: Any, map_result: xr.Dataset) -> None:
    p = map_item.properties
    assert map_item.id == "T117_249435_IW2_VV_20240809_20240902_5x21"  # burst id from the inputs
    assert p["proj:code"] == "EPSG:32632" and p["proj:shape"] == [AZ, RG]
    assert p["proj:transform"] == [20.0, 0.0, 600000.0, 0.0, -20.0, 5000020.0]
    assert p["proj:bbox"] == [600000.0, 5000020.0 - 20 * AZ, 600000.0 + 20 * RG, 5000020.0]
    assert p["pairscope:geometry"] == "map" and "geolocation" not in map_item.assets
    data, meta = _read(_asset_path(map_item, "coherence"))
    assert meta["crs"].to_epsg() == 32632
    assert tuple(meta["transform"])[:6] == tuple(p["proj:transform"])
    np.testing.assert_array_equal(data[0], map_result["coherence"].values[1])
    # the WGS84 footprint encloses the map corners
    to_ll = Transformer.from_crs(32632, 4326, always_xy=True)
    west, south, east, north = map_item.bbox
    for x, y in [(600000.0, 5000020.0), (606000.0, 5000020.0 - 20 * AZ)]:
        lon, lat = to_ll.transform(x, y)
        assert west - 1e-7 <= lon <= east + 1e-7 and south - 1e-7 <= lat <= north + 1e-7


def test_items_validate_offline(test_data: pathlib.Path, radar_items: list[Any],
                                map_item: Any) -> None:
    for item in [*radar_items, map_item]:
        report = export.validate_item(item, test_data / "stac" / "schemas")
        for name in ("item-spec/json-schema/item.json", "render/v2.0.0", "sar/v1.3.0", "sat/v1.2.0",
                     "processing/v1.2.0", *(["projection/v2.0.0"] if item is map_item else [])):
            hits = [uri for uri in report if name in uri]
            assert hits and report[hits[0]] == "valid", (name, report)
        # the reloaded JSON on disk is what validates
        on_disk = json.loads(pathlib.Path(item.get_self_href()).read_text())
        export.validate_item(on_disk, test_data / "stac" / "schemas")


def test_extensions_without_a_local_schema_read_back_through_pystac(
    radar_items: list[Any], map_item: Any
) -> None:
    """projection, raster and processing have no schema in tests/data/stac: check that
    pystac's own extension classes recognise and read the fields instead."""
    import pystac
    from pystac.extensions.projection import ProjectionExtension
    from pystac.extensions.raster import RasterExtension

    item = pystac.Item.from_file(map_item.get_self_href())
    proj = ProjectionExtension.ext(item)
    assert proj.code == "EPSG:32632" and proj.shape == [AZ, RG]
    assert proj.transform == map_item.properties["proj:transform"]
    bands = RasterExtension.ext(item.assets["coherence"]).bands
    assert bands is not None and bands[0].data_type is not None
    assert str(getattr(bands[0].data_type, "value", bands[0].data_type)) == "float32"
    assert bands[0].unit == "1"
    assert bands[0].nodata == "nan"
    radar = pystac.Item.from_file(radar_items[0].get_self_href())
    assert ProjectionExtension.ext(radar).code is None
    assert radar.properties["processing:software"]["pairscope"] == __version__


@pytest.mark.parametrize(
    ("field", "value", "schema"),
    [("sar:frequency_band", "Z", "sar"), ("sat:orbit_state", "sideways", "sat"),
     ("renders", {"coherence": {"rescale": [[0, 1]]}}, "render"),
     ("proj:shape", "wide", "projection"), ("processing:software", "pairscope", "processing")],
)
def test_validation_catches_broken_items(test_data: pathlib.Path, map_item: Any, field: str,
                                         value: Any, schema: str) -> None:
    data = copy.deepcopy(map_item.to_dict(include_self_link=False))
    data["properties"][field] = value
    with pytest.raises(jsonschema.ValidationError, match=schema):
        export.validate_item(data, test_data / "stac" / "schemas")


def test_an_extension_without_a_local_schema_fails(test_data: pathlib.Path, map_item: Any) -> None:
    data = copy.deepcopy(map_item.to_dict(include_self_link=False))
    unknown = _public("stac-extensions/") + "unknown/v9.9.9/schema.json"
    data["stac_extensions"].append(unknown)
    with pytest.raises(export.SchemaNotFoundError, match="unknown/v9.9.9"):
        export.validate_item(data, test_data / "stac" / "schemas")
    report = export.validate_item(data, test_data / "stac" / "schemas", missing="report")
    assert report[unknown] == "no local schema"


def _public(local: str) -> str:
    """The public schema root whose offline copies live under ``local`` (`export.SCHEMA_ROOTS`):
    the URIs pairscope writes into documents, named here without writing a host."""
    return next(k for k, v in export.SCHEMA_ROOTS.items() if v.endswith("/" + local))


def test_schema_copies_resolve_every_reference_locally(test_data: pathlib.Path) -> None:
    """The schema copies name no host (json-schema.org, schemas.stacspec.org, stac-extensions,
    geojson.org, proj.org): their ``$id`` s, ``$ref`` s and required extension URIs use the
    host-less roots of `export.SCHEMA_ROOTS`, which documents' public URIs map to. A collection's
    summary given as a JSON schema is checked against the local draft-07 meta-schema
    (``urn:pairscope:json-schema:draft-07``, their ``$schema`` dialect line dropped)."""
    import re

    folder = test_data / "stac" / "schemas"
    named = {f.name: re.findall(r"https?://[^/\"]+", f.read_text()) for f in folder.rglob("*.json")}
    assert not {k: v for k, v in named.items() if v}
    public = _public("stac-extensions/") + "sar/v1.3.0/schema.json"
    assert export._schema_key(public) in export._local_schemas(folder)
    collection = {"type": "Collection", "stac_version": "1.1.0", "id": "c", "description": "d",
                  "license": "CC-BY-4.0", "links": [],
                  "extent": {"spatial": {"bbox": [[0, 0, 1, 1]]},
                             "temporal": {"interval": [["2020-01-01T00:00:00Z", None]]}},
                  "summaries": {"x": {"type": "number", "minimum": 0}}}  # fmt: skip
    assert set(export.validate_item(collection, folder).values()) == {"valid"}
    collection["summaries"]["x"] = {"type": 5}  # not a JSON schema: the meta-schema says so
    with pytest.raises(jsonschema.ValidationError, match="collection.json"):
        export.validate_item(collection, folder)


def test_exported_items_reload_in_pairscope(radar_items: list[Any], map_item: Any,
                                            radar_result: xr.Dataset,
                                            map_result: xr.Dataset) -> None:
    import pystac

    from pairscope.io.rasters import open_product
    from pairscope.render import renders_for

    for item, result, index in [(radar_items[0], radar_result, 0), (map_item, map_result, 1)]:
        reloaded = pystac.Item.from_file(item.get_self_href())
        assert renders_for(reloaded).keys() >= {"coherence", "phase"}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NotGeoreferencedWarning)
            coherence = open_product(reloaded, "coherence")
            values = np.asarray(coherence.values).squeeze()
        np.testing.assert_array_equal(values, result["coherence"].values[index])


def test_is_complete(tmp_path: pathlib.Path, radar_result: xr.Dataset) -> None:
    item = export.export_pair(radar_result, 0, tmp_path, polarization="VV")
    path = pathlib.Path(item.get_self_href())
    assert export.is_complete(path)
    _asset_path(item, "phase").unlink()
    assert not export.is_complete(path)
    path.write_text(path.read_text()[:100])
    assert not export.is_complete(path)
    assert not export.is_complete(tmp_path / "missing.json")


def test_bad_inputs_say_what_to_do(tmp_path: pathlib.Path, radar_result: xr.Dataset,
                                   map_result: xr.Dataset) -> None:
    no_window = radar_result.copy()
    no_window.attrs = {}
    with pytest.raises(ValueError, match="window"):
        export.export_pair(no_window, 0, tmp_path)
    with pytest.raises(ValueError, match="latitude"):
        export.export_pair(radar_result.drop_vars(["latitude", "longitude"]), 0, tmp_path)
    no_crs = map_result.drop_vars("spatial_ref")
    with pytest.raises(ValueError, match="no CRS"):
        export.export_pair(no_crs, 0, tmp_path)
    with pytest.raises(KeyError, match="2024-08-21/2024-09-02"):
        export.export_pair(radar_result, ("2024-08-21", "2024-09-02"), tmp_path)


# --- tables, PNG -----------------------------------------------------------------------------


def test_pairs_csv(radar_items: list[Any], radar_result: xr.Dataset, tmp_path: pathlib.Path) -> None:
    csv_path = pathlib.Path(radar_items[0].get_self_href()).parent.parent / "pairs.csv"
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["reference"], r["secondary"], r["temporal_baseline_days"]) for r in rows] == [
        ("2024-08-09", "2024-08-21", "12"), ("2024-08-09", "2024-09-02", "24")]
    assert [float(r["perpendicular_baseline_m"]) for r in rows] == [42.5, -87.25]
    for i, row in enumerate(rows):
        coh = radar_result["coherence"].values[i]
        assert float(row["mean_coherence"]) == pytest.approx(float(np.nanmean(coh)), abs=1e-6)
        assert int(row["valid_pixels"]) == int(np.isfinite(coh).sum())
    from_items = export.pairs_table_from_items(radar_items)
    for a, b in zip(from_items, export.pairs_table(radar_result), strict=True):
        assert {k: v for k, v in a.items() if k != "item"} == {k: v for k, v in b.items() if k != "item"}
    assert [r["item"] for r in from_items] == [i.id for i in radar_items]


@pytest.mark.parametrize("layer", ["coherence", "phase"])
def test_png_with_colourbar(tmp_path: pathlib.Path, map_result: xr.Dataset, layer: str) -> None:
    from PIL import Image

    from pairscope.render import DEFAULT_RENDERS, get_colormap

    path = export.export_png(map_result[layer].isel(pair=0), tmp_path / f"{layer}.png", layer=layer)
    with Image.open(path) as image:
        rgb = np.asarray(image.convert("RGB"))
    assert rgb.shape[0] > 300 and rgb.shape[1] > 300
    # the colourbar shows both ends of the render's colormap
    table = get_colormap(DEFAULT_RENDERS[layer].get("colormap_name", "viridis"))[:, :3].astype(int)
    pixels = rgb.reshape(-1, 3).astype(int)
    for end in (table[0], table[-1]):
        assert (np.abs(pixels - end).sum(axis=1) <= 6).any()
    with pytest.raises(ValueError, match="2-D"):
        export.export_png(map_result["coherence"], tmp_path / "x.png")


def test_no_secret_reaches_an_exported_file(tmp_path: pathlib.Path, radar_result: xr.Dataset) -> None:
    ref = copy.deepcopy(INPUTS["2024-08-09"])
    ref["links"] = [{"rel": "self",
                     "href": "https://user:hunter2@127.0.0.1:9/items/a.json?token=s3cr3t&page=2"}]
    item = export.export_pair(radar_result, 0, tmp_path, inputs=[ref, INPUTS["2024-08-21"]],
                              polarization="VV")
    text = pathlib.Path(item.get_self_href()).read_text()
    assert "127.0.0.1:9/items/a.json" in text
    assert "s3cr3t" not in text and "hunter2" not in text
    # an SLC's product type is not the exported product's
    assert "sar:product_type" not in item.properties


def test_geometry_item(tmp_path: pathlib.Path, geometry_layers: xr.Dataset, radar_result: xr.Dataset,
                       test_data: pathlib.Path) -> None:
    layers = geometry_layers.assign_coords(latitude=radar_result["latitude"],
                                           longitude=radar_result["longitude"])
    item = export.export_geometry(layers, tmp_path, inputs=[INPUTS["2024-08-09"]],
                                  source="catalog geometry asset", encoding="float32")
    assert item.id == "T117_249435_IW2_geometry"
    assert item.datetime is not None and item.datetime.isoformat().startswith("2024-08-09T17:05:57")
    assert set(item.assets) == {"look_x", "look_y", "look_z", "incidence", "geolocation"}
    assert set(item.properties["renders"]) == {"look_x", "look_y", "look_z", "incidence"}
    assert item.properties["pairscope:geometry_source"] == "catalog geometry asset"
    data, _ = _read(_asset_path(item, "look_z"))
    np.testing.assert_array_equal(data[0], geometry_layers["look_z"].values)
    export.validate_item(item, test_data / "stac" / "schemas")
    with pytest.raises(ValueError, match="inputs="):
        export.export_geometry(layers, tmp_path)
    with pytest.raises(ValueError, match="no look-vector"):
        export.export_geometry(radar_result.isel(pair=0), tmp_path, inputs=[INPUTS["2024-08-09"]])


def test_pystac_inputs_are_linked(tmp_path: pathlib.Path, radar_result: xr.Dataset) -> None:
    import pystac

    inputs = []
    for day in ("2024-08-09", "2024-08-21"):
        item = pystac.Item.from_dict(copy.deepcopy(INPUTS[day]))
        item.set_self_href(str(tmp_path / "catalog" / f"{item.id}.json"))
        inputs.append(item)
    exported = export.export_pair(radar_result, 0, tmp_path / "out", inputs=inputs)
    links = [(link.rel, link.href, link.title) for link in exported.links if link.rel == "derived_from"]
    assert links == [("derived_from", i.get_self_href(), i.id) for i in inputs]
    assert exported.properties["pairscope:input_items"] == [i.id for i in inputs]


# --- encodings, georeferencing, codec, links (the GIS issue) ---------------------------------


def test_pairs_csv_carries_item_ids(radar_items: list[Any]) -> None:
    csv_path = pathlib.Path(radar_items[0].get_self_href()).parent.parent / "pairs.csv"
    with csv_path.open(newline="") as f:
        rows = list(csv.DictReader(f))
    assert [r["item"] for r in rows] == [i.id for i in radar_items]
    assert [int(r["valid_pixels"]) for r in rows] == [
        i.properties["pairscope:valid_pixels"] for i in radar_items]


def test_cogs_use_the_measured_codec_and_overviews(radar_items: list[Any],
                                                   tmp_path: pathlib.Path) -> None:
    item = radar_items[0]
    for key in ("coherence", "phase", "valid_count", "geolocation"):
        with rasterio.open(_asset_path(item, key)) as src:
            structure = src.tags(ns="IMAGE_STRUCTURE")
            assert structure["LAYOUT"] == "COG" and structure["COMPRESSION"] == "ZSTD"
            assert structure["PREDICTOR"] == ("2" if src.dtypes[0].startswith(("int", "uint")) else "3")
            # the geolocation grid is metadata: no overviews; 96 x 300 layers get one level
            assert src.overviews(1) == ([] if key == "geolocation" else [2])
    # overview levels as the COG driver makes them, built from the stored (nodata-aware) values
    data = np.full((600, 3000), 200, dtype="uint8")
    data[:, :1500] = 255  # nodata: left out of the averages
    export.write_cog(data, tmp_path / "c.tif", nodata=255, resampling="AVERAGE",
                     crs="EPSG:32632", transform=rasterio.transform.from_origin(6e5, 5e6, 20, 20))
    with rasterio.open(tmp_path / "c.tif") as src:
        assert src.overviews(1) == [2, 4, 8, 16]
    for level in range(4):  # 1500 / 16 is not whole: the last level mixes both halves
        with rasterio.open(tmp_path / "c.tif", overview_level=level) as ov:
            assert set(np.unique(ov.read(1)).tolist()) == {200, 255}


def test_radar_layers_carry_gcps_of_the_lat_lon_grid(radar_items: list[Any],
                                                     radar_result: xr.Dataset) -> None:
    item = radar_items[0]
    assert item.properties["pairscope:georeference"] == "gcps"
    lat, lon = radar_result["latitude"].values, radar_result["longitude"].values
    for key in ("coherence", "phase", "valid_count", "incidence", "geolocation"):
        with rasterio.open(_asset_path(item, key)) as src:  # no NotGeoreferencedWarning
            gcps, crs = src.gcps
            assert src.crs is None and crs.to_epsg() == 4326
        assert 100 <= len(gcps) <= export.MAX_GCPS
        corners = {(g.row, g.col) for g in gcps}
        assert {(0.5, 0.5), (AZ - 0.5, RG - 0.5)} <= corners
        for g in gcps:  # at pixel centres, as GDAL counts pixel/line
            r, c = int(g.row - 0.5), int(g.col - 0.5)
            assert (g.y, g.x) == (lat[r, c], lon[r, c])


def test_compact_encoding(tmp_path: pathlib.Path, radar_result: xr.Dataset,
                          geometry_layers: xr.Dataset) -> None:
    from pairscope.render import DEFAULT_RENDERS, to_physical

    item = export.export_pair(radar_result, 1, tmp_path, geometry=geometry_layers,
                              polarization="VV")  # compact by default
    p = item.properties
    assert p["pairscope:encoding"] == "compact"
    bands = {k: a.extra_fields["raster:bands"][0] for k, a in item.assets.items()}
    expected = {
        "coherence": ("uint8", 0.004, 255), "phase": ("int16", math.pi / 32767, -32768),
        "valid_count": ("uint8", 1.0, 255), "look_x": ("int16", 1 / 32767, -32768),
        "incidence": ("uint16", 0.002, 65535),
    }
    for key, (dtype, scale, nodata) in expected.items():
        assert (bands[key]["data_type"], bands[key]["nodata"]) == (dtype, nodata), key
        assert bands[key]["scale"] == pytest.approx(scale, rel=1e-12) and bands[key]["offset"] == 0
        stored, meta = _read(_asset_path(item, key))
        assert meta["profile"]["nodata"] == nodata and meta["scales"][0] == pytest.approx(scale)
    # the statistics are of stored values without nodata
    assert bands["coherence"]["statistics"]["maximum"] <= 250
    count = radar_result["valid_count"].values[1]
    assert bands["valid_count"]["statistics"]["maximum"] == 105  # 5 x 21
    assert bands["valid_count"]["statistics"]["valid_percent"] == 100.0  # 0 is a count
    stored, _ = _read(_asset_path(item, "valid_count"))
    np.testing.assert_array_equal(stored[0], count)
    # renders rescale stored values; unscaled they are the app's physical defaults
    for key in ("coherence", "phase", "look_x", "incidence"):
        render = p["renders"][key]
        physical = to_physical(render, bands[key]["scale"], bands[key]["offset"])
        np.testing.assert_allclose(physical["rescale"], DEFAULT_RENDERS[key]["rescale"], atol=1e-9)
    # physical values within half a step
    look, _ = _read(_asset_path(item, "look_x"))
    np.testing.assert_allclose(look[0] / 32767, geometry_layers["look_x"].values, atol=0.5 / 32767 + 1e-7)
    inc, _ = _read(_asset_path(item, "incidence"))
    np.testing.assert_allclose(inc[0] * 0.002, geometry_layers["incidence_angle"].values, atol=0.001 + 1e-5)
    coh, _ = _read(_asset_path(item, "coherence"))
    truth = radar_result["coherence"].values[1]
    np.testing.assert_array_equal(coh[0] == 255, np.isnan(truth))
    ok = ~np.isnan(truth)
    assert np.abs(coh[0][ok] * 0.004 - truth[ok]).max() <= 0.002 + 1e-7


def test_count_type_follows_the_window(tmp_path: pathlib.Path, radar_result: xr.Dataset) -> None:
    item = export.export_pair(radar_result, 0, tmp_path, window=(17, 17))  # 289 samples
    band = item.assets["valid_count"].extra_fields["raster:bands"][0]
    assert (band["data_type"], band["nodata"]) == ("uint16", 65535)


@pytest.mark.parametrize(("encoding", "dtype", "nodata"),
                         [("compact", "uint8", 255), ("float32", "int32", -1)])
def test_geocoded_count_fill_is_declared_nodata(tmp_path: pathlib.Path, map_result: xr.Dataset,
                                                encoding: str, dtype: str, nodata: int) -> None:
    """geocoding fills empty int32 cells with -2147483648: they become the declared nodata."""
    fill = np.iinfo("int32").min
    count = map_result["valid_count"].values.copy()
    count[:, :, :10] = fill
    result = map_result.assign(valid_count=(("pair", "y", "x"), count))
    item = export.export_pair(result, 0, tmp_path, encoding=encoding)
    band = item.assets["valid_count"].extra_fields["raster:bands"][0]
    assert (band["data_type"], band["nodata"]) == (dtype, nodata)
    stored, meta = _read(_asset_path(item, "valid_count"))
    assert meta["profile"]["nodata"] == nodata
    assert (stored[0][:, :10] == nodata).all() and fill not in stored
    np.testing.assert_array_equal(stored[0][:, 10:], count[0][:, 10:])
    assert band["statistics"]["minimum"] >= 0
    assert band["statistics"]["valid_percent"] == pytest.approx(100 * (RG - 10) / RG, abs=1e-4)


def test_bad_options_say_what_to_do(tmp_path: pathlib.Path, radar_result: xr.Dataset) -> None:
    with pytest.raises(ValueError, match="encoding must be one of compact, float32"):
        export.export_pair(radar_result, 0, tmp_path, encoding="uint8")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="georeference must be"):
        export.export_pair(radar_result, 0, tmp_path, georeference="rpc")  # type: ignore[arg-type]


def test_no_georeference_leaves_a_pixel_grid(tmp_path: pathlib.Path, radar_result: xr.Dataset) -> None:
    item = export.export_pair(radar_result, 0, tmp_path, georeference=None)
    with pytest.warns(NotGeoreferencedWarning), rasterio.open(_asset_path(item, "coherence")) as src:
        assert not src.gcps[0]
    assert item.properties["pairscope:georeference"] is None


@pytest.mark.parametrize(
    ("href", "start", "expected"),
    [
        ("/data/catalog/slc/a/a.json", "/data/out/T1/item", "../../../catalog/slc/a/a.json"),
        ("/data/out/T1/collection.json", "/data/out/T1/item", "../collection.json"),
        ("/data/out/T1/item/x.tif", "/data/out/T1/item", "./x.tif"),
        ("file:///data/catalog/a%20b.json", "/data/out", "../catalog/a b.json"),
        ("./x.tif", "/anywhere", "./x.tif"),
        ("https://u:p@127.0.0.1:9/items/a?token=t&page=2&sig=s", "/data",
         "https://127.0.0.1:9/items/a?page=2"),
        ("s3://bucket/key.json", "/data", "s3://bucket/key.json"),
    ],
)
def test_portable_href(href: str, start: str, expected: str) -> None:
    assert export.portable_href(href, start) == expected


def test_exported_item_files_hold_relative_links(tmp_path: pathlib.Path,
                                                 radar_result: xr.Dataset) -> None:
    """In memory the item keeps absolute hrefs (pystac's convention); the file is portable."""
    import pystac

    source = pystac.Item.from_dict(copy.deepcopy(INPUTS["2024-08-09"]))
    source.set_self_href(str(tmp_path / "inputs" / "a" / "a.json"))
    item = export.export_pair(radar_result, 0, tmp_path / "out", inputs=[source])
    on_disk = json.loads(pathlib.Path(item.get_self_href()).read_text())
    hrefs = [link["href"] for link in on_disk["links"] if link["rel"] == "derived_from"]
    assert hrefs == ["../../inputs/a/a.json"]
    assert [link.href for link in item.links if link.rel == "derived_from"] == [source.get_self_href()]


def _outside(host: str) -> bool:
    """Any host but this machine's ``127.0.0.1`` or ``localhost`` (a reserved name such as
    ``.example`` too, and other loopback addresses: nothing else must be named)."""
    host = host.lower()
    return not (host in ("localhost", "127.0.0.1") or "." not in host)


def test_no_test_file_names_an_outside_host() -> None:
    """No test may reach the internet: no file under ``tests/`` names a host other than loopback
    in a URL (data copies name their locations on ``127.0.0.1:9`` and schema identifiers with
    `export.SCHEMA_ROOTS`, see ``tests/data/SOURCES.md``; STAC API conformance classes come from
    pystac-client, `tests.plugins.stac_api.conformance`)."""
    tests = pathlib.Path(__file__).parent
    found = []
    for path in sorted(tests.rglob("*")):
        if not path.is_file() or "__pycache__" in path.parts:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, ValueError):
            continue  # binary rasters
        for match in re.finditer(r"https?://([A-Za-z0-9.-]+)", text):
            if _outside(match.group(1)):
                found.append(f"{path.relative_to(tests)}: {match.group(0)}")
    assert not found, "\n".join(found[:40])
