"""Downloads in a real browser (Debian chromium via Playwright) against ``pairscope serve`` on the
small demo catalog: the pairs CSV, the map PNG and the pair's COG + STAC zip beside the maps, the
QA statistics CSV and figure PNG; each captured as the browser saves it and checked for content.
Asking before anything is computed gives a message and no file; nothing is left on the server's
disk. The last test (no browser) makes an export fail and checks the message and that the app
keeps working.
"""

from __future__ import annotations

import asyncio
import csv
import glob
import io
import json
import os
import pathlib
import tempfile
import time
import warnings
import zipfile
from typing import Any

import numpy as np
import pytest
from PIL import Image
from rasterio.errors import NotGeoreferencedWarning
from rasterio.io import MemoryFile

from pairscope.io import bundle
from pairscope.io.export import validate_item
from pairscope.ui.app import make_backend
from pairscope.ui.backend import day
from tests.test_73_bundle import has_colourbar

pytestmark = [pytest.mark.timeout(400)]
browser = pytest.mark.browser

SCHEMAS = pathlib.Path(__file__).resolve().parent / "data" / "stac" / "schemas"
PAIRS = "Download pairs (CSV)"
MAP = "Download map (PNG)"
PAIR = "Download pair (COG + STAC zip)"
QA_STATS = "Download QA statistics (CSV)"
QA_FIGURE = "Download QA figure (PNG)"

_JS_RANGE = """
(prefix) => {
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text.startsWith(prefix)) continue;
    if (!owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } })) continue;
    let image = null;
    for (const r of m.renderers) {
      if (r.glyph && r.glyph.constructor.__name__ === "Image" && r.data_source.data.x) {
        image = [r.data_source.data.x[0], r.data_source.data.dw[0]];
      }
    }
    return {x: [m.x_range.start, m.x_range.end], y: [m.y_range.start, m.y_range.end], image};
  }
  return null;
}
"""


@pytest.fixture(scope="module")
def demo(demo_catalog: pathlib.Path) -> dict[str, Any]:
    """Burst, dates, item ids, per-date baselines and the first published product's pair, as the
    core sees them."""
    from pairscope.io.catalog import list_products

    backend = make_backend()
    burst = backend.open_catalog(str(demo_catalog)).bursts[0].burst_id
    info = backend.burst_dates(str(demo_catalog), burst, "VV")
    product = list_products(str(demo_catalog), burst)[0]
    return {
        "burst": burst, "dates": [day(d) for d in info.dates], "item_ids": list(info.item_ids),
        "baselines": dict(zip((day(d) for d in info.dates), info.perpendicular_baselines,
                              strict=True)),
        "product": (day(product.reference), day(product.secondary)),
    }  # fmt: skip


def bundles_on_disk() -> set[str]:
    """Temporary folders of pairscope.io.bundle in the temp dir the server shares with us."""
    return set(glob.glob(os.path.join(tempfile.gettempdir(), bundle.TEMP_PREFIX + "*")))


def download(session: Any, label: str, timeout: float = 90.0) -> tuple[str, bytes, float]:
    """Click the button labelled ``label``; the file the browser saves, its bytes, seconds."""
    start = time.monotonic()
    with session.page.expect_download(timeout=timeout * 1000) as info:
        session.page.get_by_text(label, exact=True).click()
    saved = info.value
    path = saved.path()
    return saved.suggested_filename, pathlib.Path(path).read_bytes(), time.monotonic() - start


def png(data: bytes) -> tuple[np.ndarray, dict[str, str]]:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "PNG"
    return np.asarray(image.convert("RGB")), dict(image.text)


def zoom(session: Any, prefix: str) -> dict[str, Any]:
    """Wheel-zoom the figure titled ``prefix`` and wait until the server re-rasterized it for
    the new view (so its RangeXY stream holds the view); returns the new ranges."""
    before = session.page.evaluate(_JS_RANGE, prefix)
    assert before is not None, f"no figure {prefix!r}"
    (x0, x1), (y0, y1) = before["x"], before["y"]
    x, y = session.screen_point(prefix, (x0 + x1) / 2, (y0 + y1) / 2)
    session.page.mouse.move(x, y)
    session.page.mouse.wheel(0, -400)
    for _ in range(300):
        now = session.page.evaluate(_JS_RANGE, prefix)
        span = abs(now["x"][1] - now["x"][0])
        if (span < 0.9 * abs(x1 - x0) and now["image"] is not None
                and abs(now["image"][1] - span) < 0.05 * span):  # fmt: skip
            session.page.wait_for_timeout(300)
            return dict(session.page.evaluate(_JS_RANGE, prefix))
        session.page.wait_for_timeout(100)
    raise AssertionError(f"{prefix} not re-rasterized after zooming: {before} -> {now}")


def rows_of(data: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(data.decode("utf-8"))))


def open_zip(data: bytes) -> tuple[dict[str, Any], dict[str, Any]]:
    """The zip's item (validated offline) and its coherence COG's CRS / GCPs."""
    zf = zipfile.ZipFile(io.BytesIO(data))
    item_name = next(n for n in zf.namelist() if n.endswith(".json"))
    item = json.loads(zf.read(item_name))
    validate_item(item, SCHEMAS)
    folder = item_name.rpartition("/")[0]
    for asset in item["assets"].values():
        assert asset["href"].startswith("./"), asset["href"]
        assert f"{folder}/{asset['href'][2:]}" in zf.namelist()
    assert all(not link["href"].startswith("/") for link in item["links"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)
        tif = zf.read(f"{folder}/{item['assets']['coherence']['href'][2:]}")
        with MemoryFile(tif) as mem, mem.open() as src:
            gcps, gcp_crs = src.gcps
            cog = {"crs": src.crs, "gcps": gcps, "gcp_crs": gcp_crs,
                   "layout": src.tags(ns="IMAGE_STRUCTURE").get("LAYOUT")}  # fmt: skip
    return item, cog


@browser
def test_downloads_beside_the_maps(open_session: Any, demo: dict[str, Any]) -> None:
    burst, dates = demo["burst"], demo["dates"]
    s = open_session()
    saved: list[Any] = []
    s.page.on("download", lambda d: saved.append(d))
    s.open()
    s.wait_for_status(r"dates\. Pick dates")
    # before anything is computed: a message, no file
    for label in (PAIRS, MAP, PAIR):
        s.page.get_by_text(label, exact=True).click()
        s.wait_for_status(r"Nothing computed yet.*press Compute")
    s.page.wait_for_timeout(1000)
    assert saved == []

    # a small network: each date with its next one
    s.open(f"burst={burst}&pairs=seq:1", wait_for_title=f"coherence {dates[0]} / {dates[1]}")
    s.wait_for_status(r"pair\(s\) of .* computed")
    name, data, seconds = download(s, PAIRS)
    assert name.endswith(".csv") and burst in name
    rows = rows_of(data)
    assert list(rows[0]) == list(bundle.PAIRS_COLUMNS)
    assert [(r["reference"], r["secondary"]) for r in rows] == list(zip(dates, dates[1:], strict=False))
    ids = dict(zip(dates, demo["item_ids"], strict=True))
    for r in rows:
        assert r["computed"] == "true" and 0.0 < float(r["mean_coherence"]) < 1.0
        assert r["network"] == "kept"
        assert r["reference_item"] == ids[r["reference"]] and r["secondary_item"] == ids[r["secondary"]]
        assert r["reference"] in r["reference_item"] and r["secondary"] in r["secondary_item"]
        assert int(r["temporal_baseline_days"]) == (
            np.datetime64(f"{r['secondary'][:4]}-{r['secondary'][4:6]}-{r['secondary'][6:]}")
            - np.datetime64(f"{r['reference'][:4]}-{r['reference'][4:6]}-{r['reference'][6:]}")
        ).astype(int)
        b = demo["baselines"]
        assert float(r["perpendicular_baseline_m"]) == pytest.approx(
            b[r["secondary"]] - b[r["reference"]], abs=1e-3)
        assert r["baseline_convention"].startswith("vertex: B(secondary) - B(reference)")
        assert r["rule"].startswith("seq:1") and r["window"] == "5x21"
    sizes = {"pairs": (len(data), seconds)}
    # the rule widened without computing: the new pairs are listed, their coherence empty
    s.type_into("ps-rule-value", "2")
    s.page.wait_for_timeout(500)
    rows = rows_of(download(s, PAIRS)[1])
    assert len(rows) == 2 * len(dates) - 3
    assert {r["computed"] for r in rows if r["mean_coherence"] == ""} == {"false"}
    assert sum(r["mean_coherence"] != "" for r in rows) == len(dates) - 1

    # the map as shown: zoomed, radar geometry, with a colourbar
    view = zoom(s, "coherence")
    name, data, seconds = download(s, MAP)
    sizes["map"] = (len(data), seconds)
    rgb, text = png(data)
    assert name.endswith(".png") and rgb.shape[0] > 300 and rgb.shape[1] > 600
    assert has_colourbar(rgb, "viridis")
    shown = json.loads(text["pairscope:view"])
    assert shown["geometry"] == "radar"
    assert shown["x"] == pytest.approx(sorted(view["x"]), rel=1e-6)
    assert shown["y"] == pytest.approx(sorted(view["y"]), rel=1e-6)
    assert f"{dates[0]} / {dates[1]}" in text["Title"]
    assert "window 5 x 21" in text["Description"] and f"Pair {dates[0]} / {dates[1]}" in text["Description"]

    # the pair: COGs + STAC item, radar geometry placed by GCPs; nothing left on the disk
    before = bundles_on_disk()
    name, data, seconds = download(s, PAIR)
    sizes["pair"] = (len(data), seconds)
    assert bundles_on_disk() <= before
    item, cog = open_zip(data)
    assert name == f"{item['id']}.zip"
    assert item["properties"]["pairscope:geometry"] == "radar"
    assert item["properties"]["pairscope:input_items"] == [ids[dates[0]], ids[dates[1]]]
    assert {"coherence", "phase"} <= set(item["properties"]["renders"])
    assert cog["layout"] == "COG" and cog["crs"] is None and len(cog["gcps"]) > 10

    # map geometry: the COG has a CRS, the PNG's axes name it
    s.open(f"burst={burst}&pairs={dates[0]}_{dates[1]}&geometry=map",
           wait_for_title=f"coherence {dates[0]} / {dates[1]}")  # fmt: skip
    s.wait_for_status(r"pair\(s\) of .* computed")
    item, cog = open_zip(download(s, PAIR)[1])
    assert item["properties"]["pairscope:geometry"] == "map"
    assert cog["crs"] is not None and cog["crs"].to_epsg() == int(item["properties"]["proj:code"][5:])
    rgb, text = png(download(s, MAP)[1])
    shown = json.loads(text["pairscope:view"])
    assert shown["geometry"] == "map" and shown["crs"] == item["properties"]["proj:code"]
    assert has_colourbar(rgb, "viridis")
    assert bundles_on_disk() <= before
    print("downloads (bytes, seconds):", sizes)
    s.assert_clean()


@browser
def test_qa_downloads(open_session: Any, demo: dict[str, Any]) -> None:
    from tests.test_62_ui_qa_learn import open_tab, wait_text

    burst = demo["burst"]
    d1, d2 = demo["product"]
    s = open_session()
    s.open(f"burst={burst}&pairs={d1}_{d2}", wait_for_title=f"coherence {d1} / {d2}")
    open_tab(s, "QA")
    wait_text(s, ".ps-qa-stats", "RMSE")
    view = zoom(s, "Product VV")
    stats = wait_text(s, ".ps-qa-stats", "current view")
    name, data, _ = download(s, QA_STATS)
    assert name.endswith(".csv")
    (row,) = rows_of(data)
    assert row["view"] == "current view"
    assert [float(row["x_min"]), float(row["x_max"])] == pytest.approx(sorted(view["x"]))
    assert row["our_window"] == "5x21" and row["product_window"]
    assert row["product_estimator"] and row["our_estimator"].startswith("|sum(s1 conj(s2))|")
    shown = {line.split("\t")[0].strip(): line.split("\t")[-1].strip()
             for line in stats.splitlines() if "\t" in line}  # fmt: skip
    assert float(row["bias"]) == pytest.approx(float(shown["bias"]), abs=1e-4)
    assert float(row["rmse"]) == pytest.approx(float(shown["RMSE"]), abs=1e-4)
    assert float(row["correlation"]) == pytest.approx(float(shown["correlation"]), abs=1e-4)
    assert 0 < int(row["n_both"]) <= int(row["n_pixels"])
    name, data, _ = download(s, QA_FIGURE)
    rgb, text = png(data)
    assert name.endswith(".png") and rgb.shape[1] > 1000
    assert json.loads(text["pairscope:view"])["x"] == pytest.approx(sorted(view["x"]))
    assert has_colourbar(rgb, "rdbu_r")  # the difference map's
    assert "RMSE" in text["Description"] and "5x21" in text["Description"]
    s.assert_clean()


def click(button: Any) -> Any:
    """What a download button's callback returns (run on its own loop, in a fresh thread: the
    browser tests' Playwright may hold this thread's loop)."""
    import concurrent.futures

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, button.callback()).result()


def test_a_failed_export_says_why_and_the_app_keeps_working(
    demo_catalog: pathlib.Path, demo: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """No browser: the buttons' callbacks on a session's state, with the export made to fail."""
    from pairscope.ui.app import create_app
    from pairscope.ui.settings import Settings
    from pairscope.ui.views import downloads

    catalog = str(demo_catalog)
    app = create_app(Settings.from_env(catalog), catalog=catalog, compute=make_backend(),
                     query={})  # fmt: skip
    app.state.wait(120)
    view = app.downloads
    assert [b.label for b in (view.pairs_button, view.map_button, view.pair_button)] == [
        PAIRS, MAP, PAIR]
    assert click(view.pair_button) is None  # nothing computed yet
    assert app.state.status_kind == "warning" and "Nothing computed yet" in app.state.status
    with pytest.raises(downloads.Unavailable):
        downloads.qa_statistics_job(None, (None, None), "x")
    d0, d1 = demo["dates"][:2]
    app.state.apply_query({"burst": demo["burst"], "pairs": f"{d0}_{d1}"})
    app.state.compute()
    app.state.wait(120)
    assert app.state.pair == f"{d0}_{d1}"

    def broken(*_: Any, **__: Any) -> Any:
        raise OSError("No space left on device")

    monkeypatch.setattr(bundle, "pair_zip", broken)
    assert click(view.pair_button) is None
    assert app.state.status_kind == "danger"
    assert "Could not make the COG + STAC zip: OSError: No space left on device" in app.state.status
    # the app keeps working: the other downloads, and the same one once the writer is back
    assert click(view.pairs_button).getvalue().startswith(b"reference,")
    monkeypatch.undo()
    made = click(view.pair_button)
    assert made is not None and zipfile.ZipFile(made).testzip() is None
    assert app.state.status_kind == "success" and "nothing is kept on the server" in app.state.status


def test_inputs_without_the_backends_acquisitions_are_the_dates_item_ids() -> None:
    """A backend without ``acquisitions`` (an injected one): the item gets the ids the burst's
    dates carry, and still validates."""
    from pairscope.ui.backend import BurstDates
    from pairscope.ui.views.downloads import _inputs
    from tests.test_73_bundle import REF, SEC, app_result

    dates = tuple(np.datetime64(d, "ns") for d in (REF, SEC))
    bd = BurstDates("T117_249435_IW2", dates, ("VV",), item_ids=("A_20240809", "B_20240821"))
    inputs = _inputs(object(), bd, "catalog", "T117_249435_IW2", "VV", dates)
    assert [i["id"] for i in inputs] == ["A_20240809", "B_20240821"]
    made = bundle.pair_zip(app_result("radar"), REF, SEC, inputs=inputs)
    validate_item(made.item, SCHEMAS)
    assert made.item["properties"]["pairscope:input_items"] == ["A_20240809", "B_20240821"]
