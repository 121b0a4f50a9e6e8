"""In-memory exports (pairscope.io.bundle) without a browser: pair zips of COGs + STAC item,
PNG figures, CSV tables; and that nothing is left on disk, even when the export fails."""

from __future__ import annotations

import csv
import io
import json
import pathlib
import tempfile
import warnings
import zipfile
from typing import Any

import numpy as np
import pytest
import rasterio
import xarray as xr
from PIL import Image
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from pairscope import render
from pairscope.io import bundle, export

SCHEMAS = pathlib.Path(__file__).resolve().parent / "data" / "stac" / "schemas"
AZ, RG = 40, 90
REF, SEC = np.datetime64("2024-08-09", "ns"), np.datetime64("2024-08-21", "ns")


def _item(day: str, href: str) -> dict[str, Any]:
    return {
        "type": "Feature", "stac_version": "1.1.0", "id": f"S1A_IW_SLC_{day}_T117_249435_IW2",
        "geometry": None,
        "properties": {
            "datetime": f"{day[:4]}-{day[4:6]}-{day[6:]}T17:05:57Z", "platform": "sentinel-1a",
            "sar:instrument_mode": "IW", "sar:frequency_band": "C", "sar:polarizations": ["VV"],
            "sar:product_type": "SLC", "sat:relative_orbit": 117, "sat:orbit_state": "ascending",
        },
        "links": [{"rel": "self", "href": href}], "assets": {},
    }  # fmt: skip


INPUTS = [
    _item("20240809", "/srv/catalog/slc/20240809/20240809.json"),
    _item("20240821", "https://127.0.0.1:9/items/20240821.json?token=s3cr3t"),
]


def _layers(dims: tuple[str, str], seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    coh = rng.random((AZ, RG)).astype("float32")
    coh[:2] = np.nan
    phase = rng.uniform(-np.pi, np.pi, (AZ, RG)).astype("float32")
    count = np.where(np.isnan(coh), 0, 105).astype("int32")
    return {"coherence": (dims, coh), "phase": (dims, phase), "valid_count": (dims, count)}


def app_result(geometry: str = "radar") -> xr.Dataset:
    """A pair as the app's backend returns it: no pair dimension, scalar baselines, attrs."""
    attrs = {"burst_id": "T117_249435_IW2", "polarization": "VV", "window": "5x21",
             "bias_corrected": 0, "catalog": "/srv/catalog/catalog.json"}  # fmt: skip
    scalars = {"temporal_baseline": 12, "perpendicular_baseline": -52.3}
    if geometry == "radar":
        a = np.linspace(0.0, 1.0, AZ)[:, None]
        r = np.linspace(0.0, 1.0, RG)[None, :]
        coords = {"latitude": (("azimuth", "range"), 45.0 + 0.18 * a - 0.02 * r),
                  "longitude": (("azimuth", "range"), 10.0 + 0.05 * a + 0.9 * r), **scalars}  # fmt: skip
        return xr.Dataset(_layers(("azimuth", "range")), coords=coords, attrs=attrs)
    coords = {"y": 5_000_010.0 - 20.0 * np.arange(AZ), "x": 600_010.0 + 20.0 * np.arange(RG),
              **scalars}  # fmt: skip
    ds = xr.Dataset(_layers(("y", "x"), seed=1), coords=coords, attrs=attrs)
    return ds.rio.write_crs("EPSG:32632")


def _open_member(zf: zipfile.ZipFile, name: str) -> dict[str, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        with MemoryFile(zf.read(name)) as mem, mem.open() as src:
            gcps, gcp_crs = src.gcps
            return {"crs": src.crs, "gcps": gcps, "gcp_crs": gcp_crs, "data": src.read(1),
                    "layout": src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")}  # fmt: skip


@pytest.fixture
def private_tmp(tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch) -> pathlib.Path:
    """tempfile's folder, watched: the exports must leave it as they found it (empty)."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


# --- pair zip ----------------------------------------------------------------------------------
@pytest.mark.parametrize("geometry", ["radar", "map"])
def test_pair_zip_holds_cogs_and_a_valid_item_with_relative_hrefs(
    geometry: str, private_tmp: pathlib.Path
) -> None:
    made = bundle.pair_zip(app_result(geometry), REF, SEC, inputs=INPUTS, burst_id="T117_249435_IW2",
                           polarization="VV", window=(5, 21), bias_corrected=False)  # fmt: skip
    assert list(private_tmp.iterdir()) == []  # nothing left behind
    item_id = "T117_249435_IW2_VV_20240809_20240821_5x21"
    assert made.filename == f"{item_id}.zip"
    zf = zipfile.ZipFile(io.BytesIO(made.data))
    names = set(zf.namelist())
    assert f"{item_id}/{item_id}.json" in names
    assert all(n.startswith(f"{item_id}/") for n in names)
    item = json.loads(zf.read(f"{item_id}/{item_id}.json"))
    assert item == made.item
    export.validate_item(item, SCHEMAS)
    props = item["properties"]
    assert props["pairscope:window"] == [5, 21] and props["pairscope:bias_corrected"] is False
    assert props["pairscope:input_items"] == [i["id"] for i in INPUTS]
    assert props["pairscope:perpendicular_baseline"] == -52.3
    assert props["pairscope:temporal_baseline"] == 12
    assert props["pairscope:geometry"] == geometry
    assert {"coherence", "phase"} <= set(props["renders"])
    for key, asset in item["assets"].items():
        assert asset["href"].startswith("./"), (key, asset["href"])
        assert f"{item_id}/{asset['href'][2:]}" in names
    # local inputs are dropped from links (a server path means nothing elsewhere), remote ones
    # are kept without their secrets
    links = [link for link in item["links"] if link["rel"] == "derived_from"]
    assert [link["href"] for link in links] == ["https://127.0.0.1:9/items/20240821.json"]
    assert "/srv/" not in json.dumps(item) and "s3cr3t" not in json.dumps(item)
    cog = _open_member(zf, f"{item_id}/{item_id}_coherence.tif")
    assert cog["layout"] == "COG"
    if geometry == "map":
        assert cog["crs"].to_epsg() == 32632
    else:
        assert cog["crs"] is None and len(cog["gcps"]) > 10 and cog["gcp_crs"].to_epsg() == 4326
        assert f"{item_id}/{item_id}_geolocation.tif" in names
    # COGs are stored (already ZSTD-compressed), the item deflated
    info = {i.filename: i for i in zf.infolist()}
    assert info[f"{item_id}/{item_id}_coherence.tif"].compress_type == zipfile.ZIP_STORED
    assert info[f"{item_id}/{item_id}.json"].compress_type == zipfile.ZIP_DEFLATED


def test_pair_zip_adds_geometry_layers_on_the_same_grid_only(private_tmp: pathlib.Path) -> None:
    ds = app_result("radar")
    inc = np.linspace(36.0, 42.0, RG)[None, :] * np.ones((AZ, RG))
    same = xr.Dataset({"incidence": (("azimuth", "range"), inc.astype("float32")),
                       "look_x": (("azimuth", "range"), np.full((AZ, RG), 0.3, "float32"))})  # fmt: skip
    made = bundle.pair_zip(ds, REF, SEC, geometry=same)
    assert {"incidence", "look_x", "coherence"} <= set(made.item["assets"])
    coarse = same.isel(azimuth=slice(0, None, 2))
    made = bundle.pair_zip(ds, REF, SEC, geometry=coarse)
    assert "incidence" not in made.item["assets"] and "coherence" in made.item["assets"]
    assert list(private_tmp.iterdir()) == []


def test_a_failed_pair_zip_leaves_nothing_on_disk(
    private_tmp: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = export.export_pair

    def half_written(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)  # the files are there...
        raise OSError("disk full")  # ... and then the writer fails

    monkeypatch.setattr(export, "export_pair", half_written)
    with pytest.raises(OSError, match="disk full"):
        bundle.pair_zip(app_result("radar"), REF, SEC)
    assert list(private_tmp.iterdir()) == []
    # and a result without coherence fails loudly, leaving nothing either
    monkeypatch.setattr(export, "export_pair", real)
    with pytest.raises(ValueError, match="coherence"):
        bundle.pair_zip(app_result("radar").drop_vars("coherence"), REF, SEC)
    assert list(private_tmp.iterdir()) == []


# --- figures -----------------------------------------------------------------------------------
def _png(data: bytes) -> tuple[np.ndarray, dict[str, str]]:
    image = Image.open(io.BytesIO(data))
    image.load()
    return np.asarray(image.convert("RGB")), dict(image.text)


def has_colourbar(rgb: np.ndarray, name: str, min_length: int = 60) -> bool:
    """A vertical run of at least ``min_length`` pixels whose colours follow the colormap from
    its end down to its start (a colourbar, high on top), within a small colour tolerance."""
    from scipy.spatial import cKDTree

    table = render.get_colormap(name)[:, :3].astype(float)
    height, width, _ = rgb.shape
    dist, index = cKDTree(table).query(rgb.reshape(-1, 3).astype(float))
    dist, index = dist.reshape(height, width), index.reshape(height, width)
    good = dist < 5.5
    # going down a colourbar column: every pixel on the colormap, index never increasing
    step = good[1:] & good[:-1] & (index[1:] <= index[:-1])
    edges = np.diff(np.pad(step.T.astype(np.int8), ((0, 0), (1, 1))), axis=1)
    starts, ends = np.argwhere(edges == 1), np.argwhere(edges == -1)  # (column, row), in order
    long = (ends[:, 1] - starts[:, 1]) >= min_length
    cols, top, bottom = starts[long, 0], starts[long, 1], ends[long, 1]
    return bool(np.any(index[top, cols] - index[bottom, cols] > 200))


def test_map_figure_radar_view_title_axes_colourbar_and_caption() -> None:
    ds = app_result("radar")
    fig = bundle.map_figure(ds["coherence"], colormap="viridis", limits=(0.0, 1.0),
                            label="Coherence [unitless]", title="Coherence, 20240809 / 20240821",
                            caption="Pair 20240809 / 20240821; window 5 x 21",
                            view=((10.0, 60.0), (5.0, 30.0)))  # fmt: skip
    assert len(fig.axes) == 2  # the map and its colourbar
    ax, bar = fig.axes
    assert ax.get_title() == "Coherence, 20240809 / 20240821"
    assert ax.get_xlabel() == "range [sample]" and ax.get_ylabel() == "azimuth [line]"
    assert ax.get_xlim() == (10.0, 60.0) and ax.get_ylim() == (30.0, 5.0)  # azimuth down
    assert bar.get_ylabel() == "Coherence [unitless]"
    assert any("window 5 x 21" in t.get_text() for t in fig.texts)
    rgb, text = _png(bundle.figure_png(fig))
    assert rgb.shape[0] > 300 and rgb.shape[1] > 600
    view = json.loads(text["pairscope:view"])
    assert view == {"x": [10.0, 60.0], "y": [5.0, 30.0], "crs": None, "geometry": "radar"}
    assert text["Title"] == "Coherence, 20240809 / 20240821"
    assert "window 5 x 21" in text["Description"] and text["Software"].startswith("pairscope")
    assert has_colourbar(rgb, "viridis")


def test_map_figure_map_geometry_names_the_crs_and_uses_the_apps_colours() -> None:
    ds = app_result("map")
    flat = xr.full_like(ds["coherence"], 0.5).rio.write_crs("EPSG:32632")
    fig = bundle.map_figure(flat, colormap="magma", limits=(0.0, 1.0), label="Coherence",
                            title="flat")  # fmt: skip
    ax = fig.axes[0]
    assert ax.get_xlabel() == "easting [m], EPSG:32632"
    assert ax.get_ylabel() == "northing [m], EPSG:32632"
    rgb, text = _png(bundle.figure_png(fig))
    assert json.loads(text["pairscope:view"])["crs"] == "EPSG:32632"
    # the middle of the map is coloured exactly as pairscope.render (the app's palettes) says
    expected = render.get_colormap("magma")[int(0.5 * 255)][:3].astype(int)
    colours = rgb.reshape(-1, 3).astype(int)
    assert (np.abs(colours - expected).max(axis=1) <= 2).sum() > 10_000
    assert has_colourbar(rgb, "magma")


def test_rasterize_means_blocks_of_finite_samples_and_takes_the_first_phase() -> None:
    values = np.arange(60, dtype="float64").reshape(6, 10)
    values[0, 0] = np.nan
    xs, ys = 100.0 + 10.0 * np.arange(10), np.arange(6, dtype="float64")
    out, bx, by = bundle.rasterize(values, xs, ys, (3, 4))  # 2 x 2 blocks, the last column padded
    assert out.shape == (3, 5)
    assert out[0, 0] == np.mean([1.0, 10.0, 11.0])  # NaN left out, not zero-filled
    assert out[2, 4] == np.mean(values[4:6, 8:10])
    np.testing.assert_allclose(bx, 105.0 + 20.0 * np.arange(5))
    np.testing.assert_allclose(by, [0.5, 2.5, 4.5])
    first, _, _ = bundle.rasterize(values, xs, ys, (3, 4), first=True)
    np.testing.assert_array_equal(first[1:], values[2::2, ::2])  # wrapped phase: never a mean
    same, _, _ = bundle.rasterize(values, xs, ys, (600, 1100))
    assert same is values
    # a big burst is drawn from about as many samples as the figure has pixels
    big = xr.DataArray(np.random.default_rng(0).random((1200, 6000)), dims=("azimuth", "range"))
    fig = bundle.map_figure(big, colormap="viridis", limits=(0, 1), label="c", title="t",
                            view=((1000.0, 5000.0), None))  # fmt: skip
    drawn = fig.axes[0].images[0].get_array()
    assert drawn.shape[0] <= 2 * bundle.DRAWN[0] and drawn.shape[1] <= 2 * bundle.DRAWN[1]
    assert fig.axes[0].get_xlim() == (1000.0, 5000.0)


def test_map_figure_rejects_more_than_two_dimensions() -> None:
    with pytest.raises(ValueError, match="2-D"):
        bundle.map_figure(xr.DataArray(np.zeros((2, 3, 4))), colormap="viridis", limits=None,
                          label="x", title="x")  # fmt: skip


def test_comparison_figure_has_maps_difference_histogram_and_colourbars() -> None:
    ds = app_result("map")
    product = ds["coherence"]
    ours = (product + 0.05).clip(0, 1)
    diff = ours - product
    hist = np.zeros((64, 64), dtype=np.int64)
    hist[20:30, 22:32] = 5
    fig = bundle.comparison_figure(product, ours, diff, colormap="viridis", limits=(0.152, 0.864),
                                   difference_limit=0.2, histogram=hist,
                                   edges=np.linspace(0, 1, 65), title="QA", caption="bias +0.05",
                                   view=((600_100.0, 601_000.0), None))  # fmt: skip
    assert len(fig.axes) == 8
    titles = [a.get_title() for a in fig.axes]
    assert "Difference (ours - product)" in titles and any("2-D histogram" in t for t in titles)
    rgb, text = _png(bundle.figure_png(fig))
    assert json.loads(text["pairscope:view"])["x"] == [600_100.0, 601_000.0]
    assert has_colourbar(rgb, "viridis") and has_colourbar(rgb, "rdbu_r")


# --- tables ------------------------------------------------------------------------------------
def test_csv_bytes_writes_empty_cells_for_missing_values() -> None:
    data = bundle.csv_bytes([{"a": 1, "b": None, "c": float("nan"), "d": True}], ["a", "b", "c", "d"])
    assert data.decode() == "a,b,c,d\n1,,,true\n"
    with pytest.raises(ValueError, match="columns"):
        bundle.csv_bytes([])


def test_network_table_baselines_ids_and_computed_pairs() -> None:
    dates = np.array(["2024-08-09", "2024-08-21", "2024-09-02"], dtype="datetime64[ns]")
    pairs = [(dates[0], dates[1]), (dates[1], dates[2]), (dates[0], dates[2])]
    rows = bundle.network_table(
        pairs, dates=dates, item_ids=["A", "B", "C"], perpendicular_baselines=[0.0, 40.0, -10.5],
        convention="vertex",
        computed={"20240809_20240821": bundle.ComputedPair(0.61234567, "3x9", True, 0.7)},
        rule="seq:1", window="5x21", burst_id="T117_249435_IW2", polarization="VV",
        membership={"20240809_20240902": "pruned"},
    )  # fmt: skip
    assert [(r["reference"], r["secondary"]) for r in rows] == [
        ("20240809", "20240821"), ("20240821", "20240902"), ("20240809", "20240902")]
    assert [r["temporal_baseline_days"] for r in rows] == [12, 12, 24]
    # B(secondary) - B(reference), each date against the first
    assert [r["perpendicular_baseline_m"] for r in rows] == [40.0, -50.5, -10.5]
    assert rows[0]["mean_coherence"] == 0.612346 and rows[0]["computed"] is True
    assert rows[0]["window"] == "3x9" and rows[0]["bias_corrected"] is True
    assert rows[0]["mean_coherence_view"] == 0.7 and rows[1]["mean_coherence_view"] is None
    assert rows[1]["mean_coherence"] is None and rows[1]["window"] == "5x21"
    assert [r["network"] for r in rows] == ["kept", "kept", "pruned"]
    assert (rows[2]["reference_item"], rows[2]["secondary_item"]) == ("A", "C")
    assert rows[0]["baseline_convention"].startswith("vertex")
    text = bundle.csv_bytes(rows, bundle.PAIRS_COLUMNS).decode()
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert list(parsed[0]) == list(bundle.PAIRS_COLUMNS)
    assert parsed[1]["mean_coherence"] == "" and parsed[0]["mean_coherence"] == "0.612346"
    # no orbits: baselines empty, no convention claimed
    rows = bundle.network_table(pairs[:1], dates=dates)
    assert rows[0]["perpendicular_baseline_m"] is None and rows[0]["baseline_convention"] == ""


def test_cog_in_the_zip_reads_back_the_coherence(private_tmp: pathlib.Path) -> None:
    ds = app_result("map")
    made = bundle.pair_zip(ds, REF, SEC, encoding="float32")
    zf = zipfile.ZipFile(io.BytesIO(made.data))
    name = next(n for n in zf.namelist() if n.endswith("_coherence.tif"))
    cog = _open_member(zf, name)
    np.testing.assert_array_equal(cog["data"], ds["coherence"].values)
    assert rasterio.crs.CRS.from_epsg(32632) == cog["crs"]
