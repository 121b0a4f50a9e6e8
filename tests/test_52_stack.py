"""pairscope.io.rasters: lazy SLC stacks (i/q, complex int16, complex64, OPERA HDF5), grids, orbits and
published products in physical units."""

from __future__ import annotations

import datetime as dt
import json
import pathlib
import warnings
from typing import Any

import dask.array as dsa
import numpy as np
import pystac
import pytest
import rasterio
import rasterio.errors

from pairscope import errors as E
from pairscope.io import catalog as C
from pairscope.io import http as H
from pairscope.io import items as IT
from pairscope.io import orbits as O
from pairscope.io import rasters as S
from tests.plugins.stac_api import MISMATCH_BURST, SLC_BURST, SLC_DATES, iso_dates
from tests.test_50_catalog import opera_item


def _read(path: str, bands: list[int]) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            return src.read(bands)


@pytest.fixture(scope="module")
def static(static_catalog: pathlib.Path) -> C.StacCatalog:
    return C.open_catalog(static_catalog)


def test_iq_stack_lazy_and_exact(static: C.StacCatalog) -> None:
    stack = S.open_slc_stack(static, "117_249433_IW2", chunks={"azimuth": 10, "range": 16})
    assert stack.dims == ("date", "azimuth", "range")
    assert stack.dtype == np.complex64
    assert isinstance(stack.data, dsa.Array)
    assert stack.data.chunks[1][0] == 10 and stack.data.chunks[2][0] == 16
    assert iso_dates(stack["date"].values) == SLC_DATES
    assert stack["date"].dtype == np.dtype("datetime64[ns]")
    assert stack.attrs["burst_id"] == SLC_BURST and stack.attrs["polarization"] == "VV"
    assert stack.attrs["relative_orbit"] == 117 and stack.attrs["orbit_state"] == "ascending"
    assert stack.attrs["wavelength"] == pytest.approx(299_792_458.0 / 5.405e9)
    acqs = C.list_acquisitions(static, SLC_BURST)
    for k, acq in enumerate(acqs):
        raw = _read(acq.assets["VV"].href, [1, 2, 3, 4])
        np.testing.assert_array_equal(stack[k].values, (raw[0] + 1j * raw[1]).astype(np.complex64))
        if k == 0:  # geolocation from the first date
            np.testing.assert_array_equal(stack["latitude"].values, raw[2])
            np.testing.assert_array_equal(stack["longitude"].values, raw[3])
    # a window read through dask reads only that window, identically
    np.testing.assert_array_equal(stack[1, 3:17, 5:33].values, stack.values[1, 3:17, 5:33])
    assert list(stack["item_id"].values) == [a.item.id for a in acqs]


def test_select_dates_any_spelling(static: C.StacCatalog) -> None:
    stack = S.open_slc_stack(
        static, SLC_BURST, ["20240902", dt.date(2024, 8, 9), np.datetime64("2024-09-26")]
    )
    assert iso_dates(stack["date"].values) == ["2024-08-09", "2024-09-02", "2024-09-26"]
    with pytest.raises(
        E.CatalogError, match=r"no acquisition on 2024-08-10; its dates are: 2024-08-09, 2024-08-21"
    ):
        S.open_slc_stack(static, SLC_BURST, ["2024-08-10"])
    with pytest.raises(E.AssetError, match="has no VH samples"):
        S.open_slc_stack(static, SLC_BURST, ["2024-08-09"], polarization="VH")


def test_grid_mismatch_names_dates_and_shapes(static: C.StacCatalog) -> None:
    with pytest.raises(S.GridMismatchError) as err:
        S.open_slc_stack(static, MISMATCH_BURST)
    msg = str(err.value)
    assert "2024-08-09: 24 x 40" in msg and "2024-08-21: 26 x 40" in msg and MISMATCH_BURST in msg
    # each date alone is fine
    assert S.open_slc_stack(static, MISMATCH_BURST, ["2024-08-21"]).shape == (1, 26, 40)


def _one_band_catalog(root: pathlib.Path, hrefs: list[str], data_type: str) -> pathlib.Path:
    items = []
    for k, href in enumerate(hrefs):
        items.append(
            {
                "type": "Feature",
                "stac_version": "1.1.0",
                "id": f"burst-{k}",
                "geometry": {"type": "Point", "coordinates": [11.0, 45.0]},
                "bbox": [11.0, 45.0, 11.0, 45.0],
                "properties": {
                    "datetime": f"2021-04-{1 + 12 * k:02d}T05:26:24Z",
                    "pairscope:burst_id": "T117_249433_IW2",
                    "sar:polarizations": ["VV"],
                    "sar:product_type": "SLC",
                },
                "assets": {
                    "vv": {
                        "href": href,
                        "type": "image/tiff; application=geotiff",
                        "roles": ["data"],
                        "raster:bands": [{"data_type": data_type}],
                    }
                },
                "links": [],
            }
        )
    path = root / f"items-{data_type}.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": items}))
    return path


def test_complex_int16_real_samples(test_data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    """The real Sentinel-1 complex int16 crop, read as one complex band per date."""
    tif = str(test_data / "rioxarray" / "cint16.tif")
    cat = C.open_catalog(_one_band_catalog(tmp_path, [tif, tif], "cint16"))
    acq = C.list_acquisitions(cat, "T117_249433_IW2")[0]
    assert acq.assets["VV"].kind == "complex"
    stack = S.open_slc_stack(cat, "T117_249433_IW2")
    assert stack.shape == (2, 100, 100) and stack.dtype == np.complex64
    with rasterio.open(tif) as src:
        expected = src.read(1)
    np.testing.assert_array_equal(stack[0].values, expected)
    assert np.abs(stack[0].values.imag).max() > 0  # both parts are real speckle


def test_complex64_band(tmp_path: pathlib.Path) -> None:
    rng = np.random.default_rng(3)
    data = (rng.normal(size=(12, 20)) + 1j * rng.normal(size=(12, 20))).astype(np.complex64)
    tif = tmp_path / "c64.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(
            tif, "w", driver="GTiff", width=20, height=12, count=1, dtype="complex64"
        ) as dst:
            dst.write(data, 1)
    cat = C.open_catalog(_one_band_catalog(tmp_path, [str(tif)], "cfloat32"))
    stack = S.open_slc_stack(cat, "249433 IW2")
    np.testing.assert_array_equal(stack[0].values, data)
    assert "latitude" not in stack.coords  # no geolocation bands in this layout


def test_real_band_is_refused(tmp_path: pathlib.Path) -> None:
    tif = tmp_path / "amp.tif"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(
            tif, "w", driver="GTiff", width=4, height=4, count=1, dtype="float32"
        ) as dst:
            dst.write(np.ones((4, 4), np.float32), 1)
    cat = C.open_catalog(_one_band_catalog(tmp_path, [str(tif)], "cfloat32"))
    with pytest.raises(E.AssetError, match="float32 samples, not complex"):
        S.open_slc_stack(cat, "249433 IW2")


def test_opera_cslc_hdf5_stack(test_data: pathlib.Path, tmp_path: pathlib.Path) -> None:
    item = opera_item(test_data)
    path = tmp_path / "opera.json"
    path.write_text(json.dumps({"type": "FeatureCollection", "features": [item.to_dict()]}))
    stack = S.open_slc_stack(C.open_catalog(path), "T087-185683-IW2")
    import h5py

    with h5py.File(item.assets["data"].href) as f:
        x = f["data/x_coordinates"][()]
        y = f["data/y_coordinates"][()]
        epsg = int(f["data/projection"][()])
    assert stack.dims == ("date", "y", "x") and stack.dtype == np.complex64
    assert stack.shape == (1, y.size, x.size)
    np.testing.assert_array_equal(stack["x"].values, x)
    np.testing.assert_array_equal(stack["y"].values, y)
    assert stack.rio.crs.to_epsg() == epsg == 32605
    assert stack.attrs["relative_orbit"] == 87 and stack.attrs["orbit_state"] == "descending"
    # lazy: read one small window only (the upstream file's pixels are zeros)
    assert np.all(stack[0, :4, :5].values == 0)


def test_open_product_physical_units(static: C.StacCatalog) -> None:
    item = next(iter(static.search_items(collections=["test-coherence"])))
    da = S.open_product(item, "VV")
    raw = _read(item.assets["VV"].get_absolute_href() or "", [1])[0]
    assert da.dims == ("y", "x") and da.dtype == np.float32
    expected = np.where(raw == 255, np.nan, raw.astype(np.float32) * np.float32(0.004))
    np.testing.assert_allclose(da.values, expected, rtol=0, atol=1e-7)
    assert np.isnan(da.values[:3]).all() and np.isfinite(da.values[3:]).all()
    assert da.attrs["scale"] == 0.004 and da.attrs["nodata_stored"] == "255"
    assert da.attrs["units"] == "unity" and da.attrs["stored_dtype"] == "uint8"
    assert da.rio.crs.to_epsg() == 32632
    assert da["x"].values[0] == pytest.approx(600010.0) and da["y"].values[0] == pytest.approx(
        4999990.0
    )
    # the items have no renders: the collection's (the Terrascope seed's) apply
    assert list(da.attrs["renders"]) == ["vv"]
    assert list(da.attrs["renders"]["vv"]["rescale"][0]) == [38, 216]
    with pytest.raises(E.AssetError, match=r"has no asset 'VH'; its assets are: VV"):
        S.open_product(item, "VH")


def test_open_product_real_eo_tools_coherence(test_data: pathlib.Path) -> None:
    """A real coherence product whose item carries no raster fields: the file's nodata (0) applies."""
    tif = next((test_data / "eo_tools").rglob("coh_vv.tif"))
    item = pystac.Item("eo_tools_pair", None, None, dt.datetime(2023, 9, 4), {})
    item.add_asset("coherence", pystac.Asset(str(tif), media_type="image/tiff", roles=["data"]))
    da = S.open_product(item, "coherence")
    with rasterio.open(tif) as src:
        raw = src.read(1)
        nodata = src.nodata
    assert nodata == 0
    valid = raw != 0
    np.testing.assert_array_equal(np.isnan(da.values), ~valid)
    np.testing.assert_array_equal(da.values[valid], raw[valid])
    assert 0.7 < float(np.nanmedian(da.values)) < 0.9  # median 0.81 (SOURCES.md)
    assert da.rio.crs.to_epsg() == 4326


def _orbit_item(key: str, href: pathlib.Path, roles: list[str]) -> pystac.Item:
    item = pystac.Item(
        "orbit-test",
        None,
        None,
        dt.datetime(2022, 8, 28, 4, 23, 6),
        {"pairscope:burst_id": "T117_249433_IW2", "sar:polarizations": ["VV"]},
    )
    item.add_asset(key, pystac.Asset(str(href), media_type="application/xml", roles=roles))
    return item


def test_open_orbit_eof_and_annotation(test_data: pathlib.Path) -> None:
    from pairscope.geometry import Orbit

    eof = next((test_data / "s1-reader" / "orbits").glob("*.EOF"))
    acq = IT.acquisition_from_item(_orbit_item("orbit", eof, ["metadata", "orbit"]))
    assert acq is not None and acq.orbit is not None and acq.orbit.kind == "eof"
    orbit = O.open_orbit(acq)
    assert isinstance(orbit, Orbit) and len(orbit) > 100
    r = np.linalg.norm(orbit.positions, axis=1)
    assert np.all((r > 7.0e6) & (r < 7.1e6))  # ~700 km above a 6371 km Earth
    ann = next((test_data / "sarsen").rglob("annotation/s1a-iw1-slc-vv-*.xml"))
    acq2 = IT.acquisition_from_item(_orbit_item("schema-product-iw1-vv", ann, ["metadata"]))
    assert acq2 is not None and acq2.orbit is not None and acq2.orbit.kind == "annotation"
    orbit2 = O.open_orbit(acq2)
    assert isinstance(orbit2, Orbit) and len(orbit2) >= 10
    # no orbit asset: None; an unreadable one: a clear error
    thumb = test_data / "rioxarray" / "cint16.tif"
    bare = IT.acquisition_from_item(_orbit_item("thumbnail", thumb, ["thumbnail"]))
    assert bare is not None and O.open_orbit(bare) is None
    calibration = next((test_data / "xarray-sentinel").rglob("calibration/calibration-*.xml"))
    bad = IT.acquisition_from_item(_orbit_item("orbit", calibration, ["orbit"]))
    assert bad is not None
    with pytest.raises(E.AssetError, match="orbit asset 'orbit'"):
        O.open_orbit(bad)


def test_missing_asset_faults(fault_server: dict[str, Any]) -> None:
    cat = C.open_catalog(fault_server["url"] + "/missing/collection.json")
    with pytest.raises(E.AssetError) as err:
        S.open_slc_stack(cat, SLC_BURST, [SLC_DATES[1]])
    msg = str(err.value)
    assert "'has-no-file'" in msg and "'slc'" in msg and "gone.tif" in msg
    with pytest.raises(E.AssetError, match=r"'lacks-asset' \(2024-09-02\) has no VV samples"):
        S.open_slc_stack(cat, SLC_BURST, [SLC_DATES[2]])
    # the good date, served over http, still reads after the failures
    ok = S.open_slc_stack(cat, SLC_BURST, [SLC_DATES[0]])
    assert ok.shape == (1, 24, 40) and np.isfinite(ok.values).all()


def test_opera_orbit_from_hdf5(test_data: pathlib.Path) -> None:
    import h5py

    from pairscope.geometry import Orbit

    item = opera_item(test_data)
    acq = IT.acquisition_from_item(item)
    assert acq is not None and acq.orbit is not None and acq.orbit.kind == "hdf5"
    orbit = O.open_orbit(acq)
    assert isinstance(orbit, Orbit)
    with h5py.File(item.assets["data"].href) as f:
        n = f["metadata/orbit/time"].size
        x0 = f["metadata/orbit/position_x"][0]
    assert len(orbit) == n == 13 and orbit.positions[0, 0] == x0
    t = np.datetime64(acq.datetime.replace(tzinfo=None), "ns")
    assert orbit.times[0] < t < orbit.times[-1]  # the state vectors span the acquisition
    r = np.linalg.norm(orbit.positions, axis=1)
    assert np.all((r > 7.0e6) & (r < 7.1e6))


def test_token_reaches_gdal_for_assets(
    fault_server: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Assets of a token-protected catalog are read with the same bearer token (GDAL /vsicurl/)."""
    monkeypatch.delenv(H.TOKEN_ENV, raising=False)
    url = fault_server["url"] + "/auth/missing/collection.json"
    cat = C.open_catalog(url, token=fault_server["token"])
    stack = S.open_slc_stack(cat, SLC_BURST, [SLC_DATES[0]])
    assert np.isfinite(stack.values).all()
    seen = fault_server["seen_headers"][-1]
    assert seen.get("Authorization") == f"Bearer {fault_server['token']}"
    assert "GDAL" in seen.get("User-Agent", "")


def test_demo_stack_with_height(demo_catalog: pathlib.Path) -> None:
    """The demo catalog: i/q bands of both polarizations, geolocation, and the terrain height from
    the collection's geometry asset, all on one radar grid."""
    cat = C.open_catalog(demo_catalog)
    burst = C.search_bursts(cat)[0].burst_id
    vv = S.open_slc_stack(cat, burst, polarization="VV")
    vh = S.open_slc_stack(cat, burst, polarization="VH")
    acq = C.list_acquisitions(cat, burst)[0]
    assert acq.assets["VV"].bands == (1, 2) and acq.assets["VH"].bands == (3, 4)
    raw = _read(acq.assets["VV"].href, [1, 2, 3, 4, 5, 6])
    np.testing.assert_array_equal(vv[0].values, (raw[0] + 1j * raw[1]).astype(np.complex64))
    np.testing.assert_array_equal(vh[0].values, (raw[2] + 1j * raw[3]).astype(np.complex64))
    np.testing.assert_array_equal(vv["latitude"].values, raw[4])
    coll = IT.collection_of(acq.item)
    assert coll is not None
    height = _read(IT.asset_href(coll.assets["geometry"]), [1])[0]
    np.testing.assert_array_equal(vv["height"].values, height)
    assert vv.attrs["orbit_state"] == "ascending" and vv.attrs["relative_orbit"] == 117
