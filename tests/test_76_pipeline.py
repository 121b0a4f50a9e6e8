"""One recipe, many callers: the app's backend, ``pairscope compute`` and the public API give the same
pair (pairscope.pipeline), the same perpendicular baseline, the same look vectors for a
left-looking orbit; the QA view reads a token-protected product through the catalog's credentials.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import warnings
from typing import Any

import numpy as np
import pytest
import rasterio
import rioxarray
import xarray as xr
from rasterio.errors import NotGeoreferencedWarning

import pairscope
from pairscope import compute, geometry, pipeline
from pairscope.io import export
from pairscope.pairs import format_day
from pairscope.ui.app import make_backend
from pairscope.ui.messages import UserError

BURST = "T117_249435_IW2"
WINDOW = (3, 9)


@pytest.fixture(scope="module")
def dates(demo_catalog: pathlib.Path) -> list[np.datetime64]:
    cat = pairscope.open_catalog(str(demo_catalog))
    return sorted({np.datetime64(a.date, "D") for a in pairscope.list_acquisitions(cat, BURST)})


def _read(href: pathlib.Path) -> tuple[np.ndarray, float]:
    """Physical values of a written layer (nodata -> NaN, scale/offset applied) and its step."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        da = rioxarray.open_rasterio(href, mask_and_scale=True)
        assert isinstance(da, xr.DataArray)
        values = np.asarray(da.isel(band=0).values, dtype=np.float64)
        with rasterio.open(href) as src:
            step = abs(float(src.scales[0])) if src.dtypes[0] not in ("float32", "float64") else 0.0
    return values, step


def _asset(item_path: pathlib.Path, name: str) -> pathlib.Path:
    item = json.loads(item_path.read_text())
    return (item_path.parent / item["assets"][name]["href"]).resolve()


@pytest.mark.parametrize("geometry_kind", ["radar", "map"])
@pytest.mark.parametrize("bias", [False, True])
def test_one_pair_three_ways(
    demo_catalog: pathlib.Path, dates: list[np.datetime64], tmp_path: pathlib.Path,
    geometry_kind: str, bias: bool,
) -> None:  # fmt: skip
    ref, sec = dates[0], dates[2]
    location = str(demo_catalog)
    # 1. the app's backend
    backend = make_backend()
    app = backend.compute_pair(location, BURST, "VV", ref, sec, WINDOW, bias, geometry_kind)
    # 2. the public API
    recipe = pairscope.Recipe(window=WINDOW, bias_corrected=bias, geometry=geometry_kind)
    api = pairscope.run_pairs(pairscope.open_catalog(location), BURST, [(ref, sec)], recipe)
    one = api.isel(pair=0)
    # 3. pairscope compute, read back from its COGs
    rule = f"{format_day(ref)}_{format_day(sec)}"
    (job,) = compute.plan_jobs(location, [BURST], rule, WINDOW, "VV", tmp_path / "out",
                               bias_corrected=bias, geometry=geometry_kind)  # fmt: skip
    summary = compute.compute_pair(job)
    item_path = pathlib.Path(summary["item"])

    for name in ("coherence", "phase", "valid_count"):
        a = np.asarray(app[name].values, dtype=np.float64)
        b = np.asarray(one[name].values, dtype=np.float64)
        assert a.shape == b.shape, name
        np.testing.assert_array_equal(a, b, err_msg=f"app vs API: {name}")
        written, step = _read(_asset(item_path, name))
        assert written.shape == b.shape, name
        if name == "phase":  # compare on the circle
            diff = np.angle(np.exp(1j * (written - b)))
            finite = np.isfinite(diff)
            assert np.abs(diff[finite]).max() <= step / 2 + 1e-6, name
        else:
            finite = np.isfinite(b)
            assert np.array_equal(finite, np.isfinite(written)), f"nodata of {name}"
            assert np.abs(written[finite] - b[finite]).max() <= step / 2 + 1e-6, name
    if bias:  # per-pixel looks everywhere: the border pixels use their own valid_count
        raw = backend.compute_pair(location, BURST, "VV", ref, sec, WINDOW, False, geometry_kind)
        assert float(np.nanmean(app["coherence"])) < float(np.nanmean(raw["coherence"]))

    # one perpendicular baseline: the app's network, the API, the exported item, the pairs table
    info = backend.burst_dates(location, BURST, "VV")
    assert info.perpendicular_baselines is not None
    days = [format_day(d) for d in info.dates]
    network = (info.perpendicular_baselines[days.index(format_day(sec))]
               - info.perpendicular_baselines[days.index(format_day(ref))])  # fmt: skip
    item = json.loads(item_path.read_text())
    table = export.pairs_table_from_items([item])[0]
    assert float(one["perpendicular_baseline"]) == pytest.approx(network, abs=1e-9)
    assert float(app["perpendicular_baseline"]) == pytest.approx(network, abs=1e-9)
    assert item["properties"]["pairscope:perpendicular_baseline"] == pytest.approx(network, abs=1e-3)
    assert table["perpendicular_baseline_m"] == pytest.approx(network, abs=1e-3)
    # the sign convention is stated where the number is (ASF Vertex's: positive towards the scene)
    assert info.convention == "vertex" == one["perpendicular_baseline"].attrs["convention"]
    assert item["properties"]["pairscope:perpendicular_baseline_convention"] == "vertex"
    assert table["perpendicular_baseline_convention"] == "vertex"
    assert abs(network) > 1.0  # a real baseline, not a zero that would hide a sign or point error


def _reverse(orbit: geometry.Orbit) -> geometry.Orbit:
    """The same track flown backwards: a target on the right of the original is on the left."""
    t = orbit.times.astype("datetime64[ns]").astype(np.int64)
    times = (t[0] + t[-1] - t[::-1]).astype("datetime64[ns]")
    return geometry.Orbit(times, orbit.positions[::-1], -orbit.velocities[::-1])


@pytest.fixture(scope="module")
def left_catalog(demo_catalog: pathlib.Path, tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """The demo catalog with every orbit flown backwards and its SLC items left-looking; its
    published look-vector bands (computed for the original orbit) are renamed so they are not
    taken for this orbit's (its height band stays)."""
    root = tmp_path_factory.mktemp("left") / "demo"
    shutil.copytree(demo_catalog.parent, root)
    for eof in root.rglob("*.EOF"):
        reversed_orbit = _reverse(geometry.Orbit.from_eof(eof))
        eof.unlink()
        geometry.write_eof(reversed_orbit, eof)
    for path in root.rglob("*.json"):
        doc = json.loads(path.read_text())
        props = doc.get("properties")
        if doc.get("type") == "Feature" and props and props.get("sar:observation_direction"):
            props["sar:observation_direction"] = "left"
            path.write_text(json.dumps(doc))
        elif doc.get("type") == "Collection" and "geometry" in doc.get("assets", {}):
            for band in doc["assets"]["geometry"].get("bands", []):  # heights stay, look bands go
                if band.get("name", "").startswith(("look_", "los_", "incidence")):
                    band["name"] = "stale_" + band["name"]
            path.write_text(json.dumps(doc))
    return root / demo_catalog.name


def test_left_looking_orbit_in_the_app_as_in_compute(
    demo_catalog: pathlib.Path, left_catalog: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    backend = make_backend()
    left = backend.compute_geometry(str(left_catalog), BURST, "VV", "radar")
    first = backend.burst_dates(str(demo_catalog), BURST, "VV").dates[0]
    slc = backend.stack(str(demo_catalog), BURST, "VV")
    right = pipeline.look_layers(slc["latitude"], slc["longitude"], slc["height"],
                                 backend.orbit(str(demo_catalog), BURST, "VV", first))  # fmt: skip
    assert left.attrs["look_side"] == "left" and right.attrs["look_side"] == "right"
    # the same sensor positions seen from the other side of a reversed track: the same look
    # vectors (antenna -> target) and incidence; the ground track's direction is mirrored
    for name in ("look_x", "look_y", "look_z", "los_east", "los_north", "los_up", "incidence"):
        np.testing.assert_allclose(left[name].values, right[name].values, atol=1e-6, err_msg=name)
    # a right-looking solve of the reversed orbit sees nothing: the look side matters
    reversed_orbit = backend.orbit(str(left_catalog), BURST, "VV", backend.burst_dates(
        str(left_catalog), BURST, "VV").dates[0])  # fmt: skip
    lat = float(right["latitude"].values[10, 10])
    lon = float(right["longitude"].values[10, 10])
    with pytest.raises(pairscope.GeometryError):
        geometry.look_geometry(reversed_orbit, np.array([lat]), np.array([lon]), np.array([0.0]),
                               look_side="right")  # fmt: skip
    # pairscope compute writes the same left-looking layers
    jobs = compute.plan_jobs(str(left_catalog), [BURST], "seq:1", WINDOW, "VV", tmp_path / "out")
    geo_job = compute.GeometryJob(str(left_catalog), BURST, "VV", jobs[0].out)
    summary = compute.compute_geometry(geo_job)
    assert "left-looking" in summary["note"]
    for name, layer in (("look_x", "look_x"), ("los_east", "los_east"), ("incidence", "incidence")):
        written, step = _read(_asset(pathlib.Path(summary["item"]), layer))
        np.testing.assert_allclose(written, left[name].values, atol=max(step, 1e-6) + 1e-6,
                                   err_msg=name)  # fmt: skip


@pytest.mark.pgstac
def test_qa_reads_a_token_protected_product(
    stac_api: str, protected_products: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from pairscope.ui import services

    monkeypatch.setenv("PAIRSCOPE_STAC_TOKEN", protected_products["token"])
    monkeypatch.setenv("PAIRSCOPE_STAC_TOKEN_HOSTS", protected_products["host"])
    backend = make_backend()
    choices = [c for c in services.list_qa_products(backend, stac_api, BURST)
               if c.item_id.endswith("-protected")]  # fmt: skip
    assert choices, "the protected products are listed from the real STAC API"
    choice = choices[0]
    seen = len(protected_products["seen_headers"])
    c = services.run_comparison(backend, stac_api, BURST, choice, "VV", (4, 19), False)
    stats = services.view_statistics(c)
    assert stats["n_both"] > 1000 and stats["rmse"] < 0.01
    # the file server saw the token on every request it served
    headers = protected_products["seen_headers"][seen:]
    assert headers and all(h.get("Authorization") == f"Bearer {protected_products['token']}"
                           for h in headers)  # fmt: skip
    # without the token a product is refused with a message, never an empty map (another
    # product: GDAL keeps what it read in its own cache)
    monkeypatch.delenv("PAIRSCOPE_STAC_TOKEN")
    anonymous = make_backend()
    assert len(choices) >= 2
    with pytest.raises(UserError) as err:
        services.run_comparison(anonymous, stac_api, BURST, choices[1], "VV", (4, 19), False)
    assert protected_products["token"] not in str(err.value)
