"""``pairscope compute`` output that others can use and trust: a movable static STAC catalog in the
compact encoding and map geometry by default, resume that notices changed settings, one run at a
time per output folder, and a clear refusal when map geometry is impossible."""

from __future__ import annotations

import argparse
import json
import pathlib
import shutil
import warnings
from typing import Any

import numpy as np
import pystac
import pytest
import rioxarray
from rasterio.errors import NotGeoreferencedWarning

from pairscope import compute
from pairscope.errors import InputError, OutputLockedError
from pairscope.io import export

BURST = "T117_249435_IW2"


def _args(catalog: pathlib.Path, out: pathlib.Path, **extra: Any) -> argparse.Namespace:
    values = {
        "catalog": str(catalog), "burst": [BURST], "pairs": "seq:1", "window": "3x9",
        "polarization": "VV", "out": str(out), "scheduler": None, "workers": 1,
        "bias_corrected": False, "geometry": "map", "spacing": 20.0, "encoding": "compact",
        "georeference": "gcps",
    }  # fmt: skip
    values.update(extra)
    return argparse.Namespace(**values)


def _jobs(demo_catalog: pathlib.Path, out: pathlib.Path, **kw: Any) -> list[compute.PairJob]:
    rule = kw.pop("rule", "seq:1")
    jobs = compute.plan_jobs(str(demo_catalog), [BURST], rule, (3, 9), "VV", out, **kw)
    return jobs[:3]


def test_defaults_make_a_movable_stac_catalog(
    demo_catalog: pathlib.Path, tmp_path: pathlib.Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from pystac_client import Client
    from pystac_client.warnings import FallbackToPystac, NoConformsTo

    out = tmp_path / "out"
    jobs = _jobs(demo_catalog, out, geometry="map")
    report = compute.run(jobs, workers=1, progress=None)
    assert report.ok and len(report.written) == 3 and report.catalog == out / "catalog.json"
    moved = tmp_path / "moved"
    shutil.move(str(out), moved)
    cat = pystac.Catalog.from_file(str(moved / "catalog.json"))
    items = [it for it in cat.get_items(recursive=True) if "_geometry" not in it.id]
    assert len(items) == 3
    with warnings.catch_warnings():  # a static catalog advertises no API conformance classes
        warnings.simplefilter("ignore", NoConformsTo)
        warnings.simplefilter("ignore", FallbackToPystac)
        client = Client.open(str(moved / "catalog.json"))
        assert len(list(client.get_all_items())) >= 3
    schemas = pathlib.Path(__file__).parent / "data" / "stac" / "schemas"
    for path in moved.rglob("*.json"):
        doc = json.loads(path.read_text())
        export.validate_item(doc, schemas)
        for link in doc.get("links", []):
            assert "://" in link["href"] or not pathlib.Path(link["href"]).is_absolute(), link
    item = items[0]
    assert item.properties["pairscope:encoding"] == "compact"
    assert "pairscope:settings_digest" in item.properties
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        coh = rioxarray.open_rasterio(item.assets["coherence"].get_absolute_href(),
                                      mask_and_scale=True)  # fmt: skip
    assert coh.rio.crs is not None and coh.rio.crs.to_epsg() == 32632
    values = np.asarray(coh.values)
    assert np.nanmax(values) <= 1.0 and np.isnan(values).any()  # physical, nodata masked
    table = (moved / BURST / "pairs.csv").read_text().splitlines()
    header = table[0].split(",")
    assert "reference_item" in header or any("item" in h for h in header)


def test_resume_recomputes_pairs_made_with_other_settings(
    demo_catalog: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    out = tmp_path / "out"
    plain = _jobs(demo_catalog, out, geometry="radar", encoding="float32")
    first = compute.run(plain, workers=1, progress=None, geometry=False)
    assert first.ok and len(first.written) == 3
    again = compute.run(plain, client=object(), progress=None, geometry=False)
    assert len(again.skipped) == 3 and not again.written
    corrected = _jobs(demo_catalog, out, geometry="radar", encoding="float32",
                      bias_corrected=True)  # fmt: skip
    assert [j.item_id for j in corrected] == [j.item_id for j in plain]  # same files...
    before = json.loads(corrected[0].item_path.read_text())["properties"]["pairscope:mean_coherence"]
    second = compute.run(corrected, workers=1, progress=None, geometry=False)
    assert second.ok and len(second.recomputed) == 3 and not second.skipped  # ...recomputed
    assert any("other settings" in n for n in second.notes)
    after = json.loads(corrected[0].item_path.read_text())
    assert after["properties"]["pairscope:bias_corrected"] is True
    assert after["properties"]["pairscope:mean_coherence"] < before


def test_one_run_at_a_time(demo_catalog: pathlib.Path, tmp_path: pathlib.Path,
                           capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    out = tmp_path / "out"
    with compute.output_lock(out):
        with pytest.raises(OutputLockedError, match="another pairscope compute run"):
            compute.run(_jobs(demo_catalog, out), client=object(), progress=None)
        assert compute.main(_args(demo_catalog, out)) == 2
        assert "another pairscope compute run" in capsys.readouterr().err
    # a lock left by a process that is gone is taken over
    (out / compute.LOCK_NAME).write_text(f"{__import__('socket').gethostname()} 999999999")
    with compute.output_lock(out):
        pass
    assert not (out / compute.LOCK_NAME).exists()


def test_map_geometry_needs_a_latlon_grid(demo_catalog: pathlib.Path, tmp_path: pathlib.Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """A catalog whose SLCs carry no lat/lon bands (and no orbits) is refused for map output,
    saying which of the two is missing."""
    root = tmp_path / "nogrid"
    shutil.copytree(demo_catalog.parent, root)
    for path in root.rglob("*.json"):
        doc = json.loads(path.read_text())
        changed = False
        for asset in list(doc.get("assets", {}).values()):
            for key in ("bands", "eo:bands", "raster:bands"):
                for band in asset.get(key, []) or []:
                    if band.get("name") in ("grid_lat", "grid_lon", "latitude", "longitude"):
                        band["name"] = f"x_{band['name']}"
                        changed = True
        for key in [k for k, a in doc.get("assets", {}).items()
                    if "orbit" in k or str(a.get("href", "")).endswith(".EOF")]:  # fmt: skip
            del doc["assets"][key]
            changed = True
        if changed:
            path.write_text(json.dumps(doc))
    with pytest.raises(InputError, match="neither") as err:
        compute.plan_jobs(str(root / "catalog.json"), [BURST], "seq:1", (3, 9), "VV",
                          tmp_path / "out", geometry="map")  # fmt: skip
    assert "latitude/longitude" in str(err.value) and "orbit" in str(err.value)
    assert compute.main(_args(root / "catalog.json", tmp_path / "out2")) == 2
    assert "--geometry radar" in capsys.readouterr().err


def test_workers_link_each_item_as_the_catalog_pass_will(
    demo_catalog: pathlib.Path, tmp_path: pathlib.Path
) -> None:
    """A worker links each pair's item into the output catalog as it writes it, so the run's
    serial end (`export.write_output_catalog`) finds every item unchanged and rewrites none."""
    out = tmp_path / "out"
    jobs = _jobs(demo_catalog, out, geometry="radar")
    for batch in compute.plan_batches(jobs):
        compute.compute_batch(batch)  # what a worker runs: no catalog pass yet
    before = {j.item_path: (j.item_path.read_text(), j.item_path.stat().st_mtime_ns) for j in jobs}
    item = json.loads(jobs[0].item_path.read_text())
    rels = {link["rel"]: link["href"] for link in item["links"]}
    assert item["collection"] == BURST
    assert rels["root"] == "../../catalog.json" and rels["collection"] == "../collection.json"
    export.write_output_catalog(out)
    for path, (text, mtime) in before.items():
        assert path.read_text() == text and path.stat().st_mtime_ns == mtime, path
    assert not export.link_item(jobs[0].item_path, out)  # nothing left to link
    cat = pystac.Catalog.from_file(str(out / "catalog.json"))
    assert {it.id for it in cat.get_items(recursive=True)} == {j.item_id for j in jobs}
