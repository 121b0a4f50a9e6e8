"""Render definitions: reading v1/v2 renders from real documents, applying them as titiler does."""

from __future__ import annotations

import copy
import json
import math
import pathlib
from typing import Any

import jsonschema
import numpy as np
import pystac
import pytest
import rasterio

from pairscope.render import (
    DEFAULT_RENDERS,
    Render,
    RenderError,
    apply_render,
    colormap_names,
    get_colormap,
    palette,
    renders_for,
    robust_limits,
    to_physical,
)


@pytest.fixture(scope="module")
def stac_dir(test_data: pathlib.Path) -> pathlib.Path:
    return test_data / "stac"


@pytest.fixture(scope="module")
def seed(test_data: pathlib.Path) -> dict[str, Any]:
    path = test_data / "seeds" / "terrascope-s1-slc-coherence-v1.collection.json"
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


@pytest.fixture(scope="module")
def titiler_item(stac_dir: pathlib.Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads((stac_dir / "titiler" / "render_item.json").read_text())
    return doc


def _load(path: pathlib.Path) -> dict[str, Any]:
    doc: dict[str, Any] = json.loads(path.read_text())
    return doc


# --- colormaps ----------------------------------------------------------------------------------


def test_colormaps_match_rio_tiler_tables() -> None:
    # rio-tiler's tables are matplotlib's colormaps sampled at linspace(0, 1, 256), times 255,
    # truncated to uint8: viridis(1) = (0.993248, 0.906157, 0.143936) -> (253, 231, 36), not 37.
    viridis = get_colormap("viridis")
    assert viridis.shape == (256, 4) and viridis.dtype == np.uint8
    assert viridis[0].tolist() == [68, 1, 84, 255]
    assert viridis[255].tolist() == [253, 231, 36, 255]
    import matplotlib

    reference = matplotlib.colormaps["viridis"](np.linspace(0, 1, 256)) * 255
    assert np.array_equal(viridis, np.floor(reference).astype(np.uint8))  # truncated, not rounded
    assert get_colormap("greys_r")[0].tolist() == [0, 0, 0, 255]
    assert get_colormap("greys_r")[255].tolist() == [255, 255, 255, 255]
    assert get_colormap("rdbu")[0].tolist() == [103, 0, 31, 255]


def test_colormap_names_are_titilers() -> None:
    assert np.array_equal(get_colormap("rdbu"), get_colormap("RdBu"))
    assert np.array_equal(get_colormap(" RDBU "), get_colormap("rdbu"))
    # '_r' is matplotlib's reversed map sampled like any other (as rio-tiler built rdbu_r.npy)
    reversed_diff = get_colormap("rdbu_r").astype(int) - get_colormap("rdbu")[::-1].astype(int)
    assert np.abs(reversed_diff).max() <= 3
    assert np.array_equal(get_colormap("viridis_r")[0], get_colormap("viridis")[255])
    names = colormap_names()
    assert {"viridis", "twilight", "hsv", "rdbu", "ylgn", "rainbow", "greys_r"} <= set(names)
    assert all(n == n.lower() for n in names)
    assert palette("viridis")[0] == "#440154" and len(palette("viridis")) == 256
    with pytest.raises(ValueError):
        get_colormap("viridis")[0, 0] = 1  # read-only, shared by every caller


def test_cyclic_colormaps_close_on_themselves() -> None:
    for name in ("twilight", "hsv"):
        table = get_colormap(name).astype(int)
        assert np.abs(table[0, :3] - table[-1, :3]).sum() <= 25  # -pi and pi look alike
    viridis = get_colormap("viridis").astype(int)
    assert np.abs(viridis[0, :3] - viridis[-1, :3]).sum() > 300  # viridis is not cyclic


def test_unknown_colormap_name() -> None:
    with pytest.raises(RenderError, match=r"unknown colormap name 'virids'.*did you mean viridis"):
        get_colormap("virids")
    with pytest.raises(RenderError, match="cfastie"):
        get_colormap("cfastie")
    with pytest.raises(RenderError, match="non-empty string"):
        get_colormap("")


# --- reading renders ------------------------------------------------------------------------------


def test_terrascope_seed_collection(seed: dict[str, Any]) -> None:
    renders = renders_for(seed)
    assert list(renders) == ["vv"]
    vv = renders["vv"]
    assert isinstance(vv, Render) and vv.source == "collection"
    assert vv.extension_version == "1.0.0" and vv.issues == ()
    assert vv.assets == ("VV",) and vv.rescale == ((38.0, 216.0),) and vv.colormap_name == "viridis"
    # vendor fields are kept verbatim and the whole definition round-trips
    assert vv.extra == {
        "tilematrixsets": {"EPSG:3857": [8, 14]},
        "aggregation": {
            "name": "datetime_frequency",
            "params": {"datetime_frequency_interval": "day"},
        },
    }
    assert vv.to_dict() == seed["renders"]["vv"]
    assert dict(vv) == seed["renders"]["vv"] and vv["rescale"] == [[38, 216]]
    # the same through pystac
    coll = pystac.Collection.from_dict(copy.deepcopy(seed))
    assert renders_for(coll)["vv"].to_dict() == seed["renders"]["vv"]


def test_item_without_renders_uses_its_collections(seed: dict[str, Any]) -> None:
    item = {
        "type": "Feature",
        "stac_version": "1.1.0",
        "id": "coh-item",
        "geometry": None,
        "properties": {"datetime": "2024-08-21T00:00:00Z"},
        "assets": {"VV": {"href": "vv.tif"}, "VH": {"href": "vh.tif"}},
        "links": [],
    }
    assert renders_for(item) == {}  # a dict item cannot find its collection on its own
    renders = renders_for(item, collection=seed)
    assert renders["vv"].source == "collection" and renders["vv"].issues == ()
    no_vv = {**item, "assets": {"VH": {"href": "vh.tif"}}}
    (issue,) = renders_for(no_vv, collection=seed)["vv"].issues
    assert "['VV']" in issue and "'coh-item' does not have" in issue


def test_pystac_item_finds_collection_renders(
    stac_dir: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    coll = pystac.Collection.from_dict(
        _load(stac_dir / "stac-render" / "examples" / "collection.json")
    )
    item_doc = _load(stac_dir / "stac-render" / "examples" / "item-landsat8.json")
    del item_doc["properties"]["renders"]
    item = pystac.Item.from_dict(item_doc)
    coll.add_item(item)
    renders = renders_for(item)
    assert list(renders) == ["ndvi"] and renders["ndvi"].source == "collection"
    assert renders["ndvi"].issues == ()  # the item has an 'ndvi' asset
    # saved as a static catalog and read back: the collection link is a local file
    coll.normalize_hrefs(str(tmp_path / "catalog"))
    coll.save(catalog_type=pystac.CatalogType.SELF_CONTAINED)
    (item_path,) = (tmp_path / "catalog").glob("*/*.json")
    reread = pystac.Item.from_file(str(item_path))
    assert list(renders_for(reread)) == ["ndvi"]


def test_remote_collection_links_are_not_fetched(
    stac_dir: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    item_doc = _load(stac_dir / "stac-render" / "examples" / "item-landsat8.json")
    del item_doc["properties"]["renders"]
    item_doc["links"] = [{"rel": "collection", "href": "https://127.0.0.1:9/collections/c"}]
    item = pystac.Item.from_dict(item_doc)

    class Fetched(Exception):
        pass

    def no_network(*args: Any, **kwargs: Any) -> Any:
        raise Fetched("a remote collection was fetched")

    monkeypatch.setattr(pystac.stac_io.DefaultStacIO, "read_text", no_network)
    with pytest.raises(pystac.STACError) as info:
        item.get_collection()  # what pystac itself would do
    assert isinstance(info.value.__cause__, Fetched)
    assert renders_for(item) == {}


def test_render_extension_examples(stac_dir: pathlib.Path) -> None:
    examples = stac_dir / "stac-render" / "examples"
    coll = renders_for(_load(examples / "collection.json"))
    assert coll["ndvi"].extension_version == "2.0.0" and coll["ndvi"].issues == ()
    landsat = renders_for(pystac.Item.from_dict(_load(examples / "item-landsat8.json")))
    assert set(landsat) == {"thumbnail", "ndvi"}
    assert landsat["thumbnail"].extra == {
        "width": 1024,
        "height": 1024,
        "bands": ["B4", "B3", "B2"],
    }
    assert all(r.issues == () for r in landsat.values())
    s2 = renders_for(_load(examples / "item-sentinel2.json"))
    assert s2["sir"].rescale == ((0, 5000), (0, 7000), (0, 9000))


def test_titiler_edge_cases_are_reported_not_fatal(titiler_item: dict[str, Any]) -> None:
    renders = renders_for(titiler_item)
    assert list(renders) == [
        "thumbnail",
        "index",
        "rgb_old",
        "expression_old",
        "missing_asset",
        "ndvi",
    ]
    issues = {k: r.issues for k, r in renders.items()}
    assert issues["thumbnail"] == () and issues["index"] == () and issues["ndvi"] == ()
    (legacy,) = issues["rgb_old"]
    assert "'asset_bidx' is a legacy titiler parameter" in legacy
    assert any("asset(s) ['B02']" in i and "does not have" in i for i in issues["expression_old"])
    assert any("'asset_expression'" in i for i in issues["expression_old"])
    (missing,) = issues["missing_asset"]
    assert "lists no assets" in missing
    # the unknown field survives
    assert renders["ndvi"].extra == {"extra_param": "that titiler does not know"}
    assert renders["ndvi"].to_dict() == titiler_item["properties"]["renders"]["ndvi"]


def test_malformed_renders_give_clear_errors(titiler_item: dict[str, Any]) -> None:
    bad = copy.deepcopy(titiler_item)
    bad["properties"]["renders"] = [{"assets": ["B4"]}]
    with pytest.raises(RenderError, match="'renders' must be an object"):
        renders_for(bad)
    odd = copy.deepcopy(titiler_item)
    odd["properties"]["renders"] = {
        "str": "viridis",
        "rescale": {"assets": ["B4"], "rescale": [[1, 0]]},
        "cmap": {"assets": ["B4"], "colormap_name": "nosuchmap"},
        "expr": {"assets": ["B4"], "expression": "__import__('os')"},
    }
    renders = renders_for(odd)
    assert "is not an object" in renders["str"].issues[0]
    assert "empty or inverted" in renders["rescale"].issues[0]
    assert "unknown colormap name 'nosuchmap'" in renders["cmap"].issues[0]
    assert "only" in renders["expr"].issues[0]


# --- applying renders -----------------------------------------------------------------------------


def test_to_physical_terrascope(seed: dict[str, Any]) -> None:
    vv = renders_for(seed)["vv"]
    physical = to_physical(vv, 0.004, 0.0)
    assert physical["rescale"] == [[0.152, 0.864]]
    assert physical["colormap_name"] == "viridis" and physical["tilematrixsets"] == {
        "EPSG:3857": [8, 14]
    }
    assert to_physical({"rescale": [[0, 100]]}, -0.5, 10.0)["rescale"] == [[-40.0, 10.0]]
    assert to_physical({"colormap_name": "viridis"}, 2.0) == {"colormap_name": "viridis"}
    assert "nodata" not in to_physical({"rescale": [[0, 1]], "nodata": 255}, 0.004)
    with pytest.raises(RenderError, match="non-zero"):
        to_physical(vv, 0.0)


def test_stored_values_render_like_titiler(seed: dict[str, Any]) -> None:
    vv = renders_for(seed)["vv"]
    band = seed["item_assets"]["VV"]  # raster v2: asset-level nodata 255, raster:scale 0.004
    dn = np.array([[0, 37, 38, 127, 216, 217, 255]], dtype=np.uint8)
    rgba, limits = apply_render(dn, vv, band)
    viridis = get_colormap("viridis")
    assert limits == (38.0, 216.0)
    assert rgba.shape == (1, 7, 4) and rgba.dtype == np.uint8
    expected = [
        viridis[0],
        viridis[0],
        viridis[0],
        viridis[int((127 - 38) / 178 * 255)],
        viridis[255],
        viridis[255],
    ]
    assert rgba[0, :6].tolist() == [list(e) for e in expected]
    assert rgba[0, 6].tolist() == [0, 0, 0, 0]  # nodata 255 is transparent


def test_unscale_and_physical_rescale_agree(seed: dict[str, Any]) -> None:
    vv = renders_for(seed)["vv"]
    band = seed["item_assets"]["VV"]
    dn = np.arange(256, dtype=np.uint8).reshape(16, 16)
    stored, _ = apply_render(dn, vv, band)
    # titiler with unscale=True: data scaled first, rescale in physical units
    unscaled, limits = apply_render(dn, to_physical(vv, 0.004), band, unscale=True)
    assert limits == (0.152, 0.864)
    assert np.array_equal(stored, unscaled)
    # our computed coherence (physical, NaN for no-data) shown with the product's render
    physical = np.where(dn == 255, np.nan, dn * 0.004)
    ours, _ = apply_render(physical, to_physical(vv, 0.004))
    assert np.array_equal(stored, ours)
    # the DN rescale on physical data is the classic mistake: everything at the bottom colour
    wrong, _ = apply_render(dn, vv, band, unscale=True)
    assert (wrong[..., :3] == get_colormap("viridis")[0, :3]).all(axis=-1)[dn != 255].all()


def test_index_is_rio_tilers_truncating_rescale() -> None:
    values = np.linspace(-0.5, 1.5, 2001)
    rgba, _ = apply_render(values, {"rescale": [[0, 1]]})
    expected = np.floor(np.clip(values, 0, 1) * 255).astype(np.uint8)
    # grey for one band without a colormap; off by at most the float guard at exact steps
    assert np.abs(rgba[:, 0].astype(int) - expected).max() <= 1
    assert (rgba[:, 0] == expected).mean() > 0.99
    assert rgba[values >= 1, 0].min() == 255 and rgba[values <= 0, 0].max() == 0
    assert (rgba[:, 3] == 255).all()


def test_nodata_sources() -> None:
    data = np.array([[1.0, 2.0, np.nan, np.inf, -9999.0, 5.0]])
    rgba, _ = apply_render(
        data, {"rescale": [[0, 10]], "colormap_name": "viridis"}, [{"nodata": -9999}]
    )
    assert rgba[0, :, 3].tolist() == [255, 255, 0, 0, 0, 255]
    # the render's nodata overrides the band's
    rgba, _ = apply_render(data, {"rescale": [[0, 10]], "nodata": 5}, {"nodata": -9999})
    assert rgba[0, :, 3].tolist() == [255, 255, 0, 0, 255, 0]
    rgba, _ = apply_render(data, {"rescale": [[0, 10]], "nodata": "nan"})
    assert rgba[0, :, 3].tolist() == [255, 255, 0, 0, 255, 255]
    masked = np.ma.masked_array([1.0, 2.0, 3.0], mask=[False, True, False])
    rgba, _ = apply_render(masked, {"rescale": [[0, 10]]})
    assert rgba[:, 3].tolist() == [255, 0, 255]
    assert (rgba[1] == 0).all()


def test_raster_bands_v1_scale(stac_dir: pathlib.Path) -> None:
    band = {"data_type": "uint16", "nodata": 0, "scale": 0.0001, "offset": -0.1}
    dn = np.array([0, 1000, 6000, 11000], dtype=np.uint16)
    rgba, limits = apply_render(dn, {"rescale": [[0, 1]]}, {"raster:bands": [band]}, unscale=True)
    assert limits == (0.0, 1.0)
    assert rgba[:, 0].tolist() == [0, 0, int(0.5 * 255 + 1e-6), 255]
    assert rgba[:, 3].tolist() == [0, 255, 255, 255]


def test_defaults_without_rescale() -> None:
    u8 = np.array([0, 100, 255], dtype=np.uint8)
    rgba, limits = apply_render(u8, {"colormap_name": "viridis"})
    assert limits == (0.0, 255.0) and rgba[1].tolist() == get_colormap("viridis")[100].tolist()
    i16 = np.array([-32768, 0, 32767], dtype=np.int16)
    assert apply_render(i16, {})[1] == (-32768.0, 32767.0)  # rio-tiler: the dtype's range
    floats = np.array([2.0, 3.0, np.nan, 4.0])
    rgba, limits = apply_render(floats, {})
    assert limits == (2.0, 4.0) and rgba[:, 0].tolist() == [0, 127, 0, 255]
    assert robust_limits(np.arange(101.0), (2, 98)) == (2.0, 98.0)


def test_sentinel2_rgb_composite(stac_dir: pathlib.Path) -> None:
    item = _load(stac_dir / "stac-render" / "examples" / "item-sentinel2.json")
    sir = renders_for(item)["sir"]
    # B12 B08 B04; B08 carries no raster:bands in the example, so it gets an empty band entry
    bands = [item["assets"][a].get("raster:bands", [{}])[0] for a in sir.assets]
    assert [b.get("nodata") for b in bands] == [None, None, 0]
    data = np.array([[[100, 2500, 5000]], [[0, 3500, 7000]], [[0, 4500, 9000]]], dtype=np.uint16)
    rgba, limits = apply_render(data, sir, bands)
    assert rgba.shape == (1, 3, 4) and limits == (0.0, 5000.0)
    assert rgba[0, 1, :3].tolist() == [127, 127, 127]
    assert rgba[0, 2].tolist() == [255, 255, 255, 255]
    assert rgba[0, 0].tolist() == [0, 0, 0, 0]  # B04 = 0 is its nodata: the pixel is transparent


def test_expression_render(titiler_item: dict[str, Any]) -> None:
    index = renders_for(titiler_item)["index"]  # (b1-b2)/(b1+b2) over B5, B4
    nir = np.array([[0.5, 0.4, 0.3, 0.0]])
    red = np.array([[0.1, 0.2, 0.3, 0.0]])
    rgba, limits = apply_render(np.stack([nir, red]), index)
    with np.errstate(invalid="ignore"):
        ndvi = (nir - red) / (nir + red)
    assert limits == pytest.approx((float(np.nanmin(ndvi)), float(np.nanmax(ndvi))))
    assert rgba[0, :, 3].tolist() == [255, 255, 255, 0]  # 0/0 is no data
    assert rgba[0, 0, 0] == 255 and rgba[0, 2, 0] == 0
    # the asset names work as band names too, and one band needs no assets
    rgba2, _ = apply_render(
        np.stack([nir, red]), {"assets": ["B5", "B4"], "expression": "(B5-B4)/(B5+B4)"}
    )
    assert np.array_equal(rgba, rgba2)
    missing = renders_for(titiler_item)["missing_asset"]  # b1*2, no assets
    _, limits = apply_render(np.array([1.0, 2.0]), missing)
    assert limits == (2.0, 4.0)
    with pytest.raises(RenderError, match="shape"):
        apply_render(nir, index)  # two assets need (2, ...) data
    with pytest.raises(RenderError, match="only"):
        apply_render(nir, {"expression": "open('x')"})
    with pytest.raises(RenderError, match="names 'b3'"):
        apply_render(np.stack([nir, red]), {"assets": ["a", "b"], "expression": "b3"})


def test_colormap_needs_one_band(titiler_item: dict[str, Any]) -> None:
    thumbnail = renders_for(titiler_item)["thumbnail"]  # three assets and a colormap
    with pytest.raises(RenderError, match="a colormap colours one band, but the render gives 3"):
        apply_render(np.zeros((3, 4, 4)), thumbnail)
    rgba, _ = apply_render(np.zeros((4, 4)), thumbnail)  # one band: fine
    assert rgba.shape == (4, 4, 4)
    with pytest.raises(RenderError, match="without a colormap"):
        apply_render(np.zeros((2, 4, 4)), {"assets": ["a", "b"]})


def test_explicit_colormaps() -> None:
    classes = np.array([0, 1, 2, 3, 1000])
    discrete = {"1": [255, 0, 0], "2": "#00ff00", "1000": "#0000ff80"}
    rgba, _ = apply_render(classes, {"colormap": discrete})
    assert rgba.tolist() == [
        [0, 0, 0, 0],
        [255, 0, 0, 255],
        [0, 255, 0, 255],
        [0, 0, 0, 0],
        [0, 0, 255, 128],
    ]
    intervals = [[[0, 1], [10, 10, 10]], [[1, 3], "#fff"]]
    rgba, _ = apply_render(np.array([0.5, 1.0, 2.9, 3.0]), {"colormap": intervals})
    assert rgba[:, 0].tolist() == [10, 255, 255, 0]
    table = {str(i): [i, 255 - i, 0, 255] for i in range(256)}
    rgba, _ = apply_render(np.array([0.0, 0.5, 1.0]), {"rescale": [[0, 1]], "colormap": table})
    assert rgba[:, 0].tolist() == [0, 127, 255]
    with pytest.raises(RenderError, match="colour"):
        apply_render(classes, {"colormap": {"1": "red"}})


def test_bad_inputs_raise_render_errors() -> None:
    with pytest.raises(RenderError, match="empty or inverted"):
        apply_render(np.zeros(3), {"rescale": [[1, 1]]})
    with pytest.raises(RenderError, match="3 ranges for 1 bands"):
        apply_render(np.zeros(3), {"rescale": [[0, 1], [0, 2], [0, 3]]})
    with pytest.raises(RenderError, match="complex"):
        apply_render(np.zeros(3, dtype=np.complex64), {})
    with pytest.raises(RenderError, match="unknown colormap"):
        apply_render(np.zeros(3), {"colormap_name": "nope"})
    assert isinstance(RenderError("x"), ValueError)


# --- pairscope's own layers -----------------------------------------------------------------------


def test_default_renders_are_valid_render_definitions(stac_dir: pathlib.Path) -> None:
    schema = _load(stac_dir / "stac-render" / "json-schema" / "schema.json")
    fields, required = schema["definitions"]["fields"], schema["definitions"]["require_any_field"]
    for key, render in DEFAULT_RENDERS.items():  # (the schema is draft 07; its copy names none)
        jsonschema.validate(render, fields, cls=jsonschema.Draft7Validator)
        jsonschema.validate(render, required, cls=jsonschema.Draft7Validator)
        assert render["title"] and "units" in render, key
        get_colormap(render["colormap_name"])
    assert {"coherence", "phase", "amplitude", "look_x", "look_y", "look_z"} <= set(DEFAULT_RENDERS)
    assert {"los_east", "los_north", "los_up", "incidence_angle", "incidence"} <= set(
        DEFAULT_RENDERS
    )
    assert DEFAULT_RENDERS["coherence"]["rescale"] == [[0.0, 1.0]]
    assert DEFAULT_RENDERS["coherence"]["colormap_name"] == "viridis"
    assert DEFAULT_RENDERS["phase"]["rescale"] == [[-math.pi, math.pi]]
    assert DEFAULT_RENDERS["phase"]["colormap_name"] == "twilight"
    for key in ("look_x", "look_y", "look_z", "los_east", "los_north", "los_up"):
        assert DEFAULT_RENDERS[key]["rescale"] == [[-1.0, 1.0]]
    assert DEFAULT_RENDERS["incidence"]["rescale"] == [[30.0, 46.0]]


def test_real_coherence_and_phase_products(test_data: pathlib.Path) -> None:
    folder = next((test_data / "eo_tools" / "test-full-processor").iterdir())
    with rasterio.open(folder / "coh_vv.tif") as src:
        coherence, coh_nodata = src.read(1), src.nodata
    rgba, limits = apply_render(coherence, DEFAULT_RENDERS["coherence"], [{"nodata": coh_nodata}])
    valid = coherence != coh_nodata
    assert limits == (0.0, 1.0) and (rgba[..., 3] == np.where(valid, 255, 0)).all()
    # the median coherence (0.81) gets viridis at index floor(0.81 * 255)
    median = float(np.median(coherence[valid]))
    r, c = np.argwhere(coherence == np.float32(median))[0]
    assert rgba[r, c].tolist() == get_colormap("viridis")[int(median * 255)].tolist()
    with rasterio.open(folder / "phi_vv.tif") as src:
        phase, phase_nodata = src.read(1), src.nodata
    rgba, limits = apply_render(phase, DEFAULT_RENDERS["phase"], {"nodata": phase_nodata})
    assert limits == (-math.pi, math.pi)
    assert ((rgba[..., 3] == 0) == (phase == phase_nodata)).all()
    # phase near -pi and near +pi gets nearly the same colour (cyclic map)
    near = np.array([-math.pi + 1e-3, math.pi - 1e-3])
    ends, _ = apply_render(near, DEFAULT_RENDERS["phase"])
    assert np.abs(ends[0, :3].astype(int) - ends[1, :3].astype(int)).sum() <= 3
