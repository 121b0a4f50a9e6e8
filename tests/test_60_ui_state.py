"""The explorer's data store, URL spellings, allow-list and layout (no browser).

Layout and state-machine checks inject an instant fake backend (STYLE.md section 3); the real
path (demo catalog -> stack -> estimator -> geometry) is checked at the end of this file and, in a
real browser, in ``test_60_ui_browser.py``.
"""

from __future__ import annotations

import pathlib
import time
from typing import Any

import numpy as np
import pytest
import xarray as xr

from pairscope.ui.app import make_backend
from pairscope.ui.backend import (
    BurstDates,
    BurstInfo,
    CatalogInfo,
    ResultCache,
    UserError,
)
from pairscope.ui.settings import CatalogRefused, Settings
from pairscope.ui.state import (
    ExplorerState,
    format_pairs,
    pair_key,
    parse_pairs,
    parse_window,
)

DATES = tuple(np.datetime64("2024-08-09", "ns") + np.timedelta64(12 * i, "D") for i in range(5))
FOOT = ((10.0, 45.0), (10.9, 45.05), (10.92, 45.25), (10.02, 45.2), (10.0, 45.0))


class FakeBackend:
    """Instant, deterministic stand-in for the core: coherence exp(-dt / 30 days) plus a ramp."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[str] = []

    def open_catalog(self, catalog: str) -> CatalogInfo:
        self.calls.append(f"open {catalog}")
        if "unreachable" in catalog:
            raise UserError(f"Catalog {catalog!r} is unreachable.", "Check the address.")
        return CatalogInfo(
            catalog,
            (BurstInfo("T117_249435_IW2", FOOT, 5), BurstInfo("T117_249436_IW2", None, 5)),
            notes=(),
        )

    def burst_dates(self, catalog: str, burst_id: str, polarization: str) -> BurstDates:
        self.calls.append(f"dates {burst_id}")
        return BurstDates(burst_id, DATES, ("VH", "VV"), (0.0, 35.0, -20.0, 60.0, 10.0))

    def compute_pair(self, catalog, burst_id, polarization, reference, secondary, window,
                     bias_corrected, geometry, amplitude=False) -> xr.Dataset:  # fmt: skip
        time.sleep(self.delay)
        if window[0] > 20 or window[1] > 40:
            raise UserError(f"Window {window[0]}x{window[1]} is larger than the image (20x40).")
        dt = (secondary - reference) / np.timedelta64(1, "D")
        ramp = np.linspace(0.0, 0.2, 40, dtype=np.float32)[None, :].repeat(20, axis=0)
        coh = np.float32(np.exp(-dt / 30.0)) * 0.8 + ramp
        phase = np.angle(np.exp(1j * (ramp * 20 + dt / 10))).astype(np.float32)
        dims = ("y", "x") if geometry == "map" else ("azimuth", "range")
        coords = {dims[0]: np.arange(20.0), dims[1]: np.arange(40.0)}
        layers = {"coherence": (dims, coh), "phase": (dims, phase)}
        if amplitude:
            layers["amplitude"] = (dims, coh * 100)
        return xr.Dataset(layers, coords=coords)

    def compute_geometry(self, catalog, burst_id, polarization, geometry) -> xr.Dataset:
        dims = ("y", "x") if geometry == "map" else ("azimuth", "range")
        grid = np.ones((10, 20), np.float32)
        layers = {n: (dims, grid * k / 10) for k, n in enumerate(
            ("look_x", "look_y", "look_z", "los_east", "los_north", "los_up"))}  # fmt: skip
        layers["incidence"] = (dims, grid * 35.0)
        return xr.Dataset(layers, coords={dims[0]: np.arange(0, 20.0, 2), dims[1]: np.arange(0, 40.0, 2)})


@pytest.fixture
def settings(tmp_path: pathlib.Path) -> Settings:
    cat = tmp_path / "cat" / "catalog.json"
    cat.parent.mkdir()
    cat.write_text("{}")
    return Settings(catalog=str(cat), tiles=None, demo_dir=tmp_path / "demo", url_sync=False)


def make_state(settings: Settings, backend: FakeBackend | None = None) -> ExplorerState:
    state = ExplorerState(settings, backend or FakeBackend(), default_catalog=str(settings.catalog))
    state.connect()
    return state


# -- URL spellings ----------------------------------------------------------------------------------
def test_pairs_round_trip_and_order() -> None:
    pairs = parse_pairs("20240821_20240809, 20240809_20240902")
    assert [pair_key(a, b) for a, b in pairs] == ["20240809_20240821", "20240809_20240902"]
    assert format_pairs(pairs) == "20240809_20240821,20240809_20240902"
    with pytest.raises(UserError, match="YYYYMMDD"):
        parse_pairs("20240809")
    with pytest.raises(UserError, match="same date"):
        parse_pairs("20240809_20240809")
    with pytest.raises(UserError, match="does not exist"):
        parse_pairs("20240230_20240301")


def test_window_spelling() -> None:
    assert parse_window("5x21") == (5, 21)
    assert parse_window(" 3 X 9 ") == (3, 9)
    for bad in ("5", "0x3", "ax5", "5x-1"):
        with pytest.raises(UserError, match="5x21"):
            parse_window(bad)


# -- allow-list -------------------------------------------------------------------------------------
def test_allow_list_paths_and_urls(tmp_path: pathlib.Path, settings: Settings) -> None:
    s = Settings(
        catalog=settings.catalog,
        allowed_catalogs=("https://127.0.0.1:9/api", str(tmp_path / "more")),
        demo_dir=tmp_path / "demo",
    )
    assert s.check_catalog(str(settings.catalog)) == str(pathlib.Path(str(settings.catalog)))
    assert s.check_catalog("https://127.0.0.1:9/api/collections") .startswith("https://")
    assert s.check_catalog(str(tmp_path / "demo" / "catalog.json")).endswith("catalog.json")
    for bad in (
        "https://127.0.0.1:9/api2",  # a sibling, not below the prefix
        "https://127.0.0.1:10/api",
        "http://127.0.0.1:9/api",  # another scheme
        "/etc/passwd",
        str(tmp_path / "cat" / ".." / ".." / "etc"),
        "ftp://stac.example.org/api",
        "",
    ):
        with pytest.raises(CatalogRefused):
            s.check_catalog(bad)
    # a symlink inside an allowed folder that points outside is refused
    link = tmp_path / "demo"
    link.mkdir()
    (link / "escape").symlink_to("/etc")
    with pytest.raises(CatalogRefused):
        s.check_catalog(str(link / "escape" / "hosts"))
    # the refusal never spells out local folders of the server
    with pytest.raises(CatalogRefused) as err:
        s.check_catalog("/etc/passwd")
    assert str(tmp_path) not in str(err.value)


def test_settings_from_env(monkeypatch: pytest.MonkeyPatch, tmp_path: pathlib.Path) -> None:
    monkeypatch.setenv("PAIRSCOPE_ALLOWED_CATALOGS", f"http://127.0.0.1:9/stac,{tmp_path}")
    monkeypatch.setenv("PAIRSCOPE_TILES", "none")
    monkeypatch.setenv("PAIRSCOPE_CACHE", str(tmp_path / "cache"))
    s = Settings.from_env()
    assert s.tiles is None
    assert s.demo_dir == tmp_path / "cache" / "demo-seed0-default"
    assert s.check_catalog("http://127.0.0.1:9/stac/search")
    assert s.check_catalog(str(tmp_path / "x" / "catalog.json"))
    with pytest.raises(CatalogRefused):
        s.check_catalog("http://127.0.0.1:10/stac")


def test_cache_is_bounded_lru() -> None:
    cache = ResultCache(max_bytes=3000)
    for i in range(5):
        cache.put(("k", i), np.zeros(100, np.float64))  # 800 bytes each
    assert ("k", 0) not in cache and ("k", 4) in cache
    assert len(cache) == 3


# -- state machine --------------------------------------------------------------------------------
def test_query_applies_and_reports_bad_values(settings: Settings) -> None:
    state = make_state(settings)
    auto = state.apply_query(
        {"burst": "117_249435_IW2", "pol": "vh", "window": "3x9", "layer": "phase",
         "geometry": "map", "pairs": "20240809_20240821"}  # fmt: skip
    )
    assert auto
    assert (state.polarization, state.window_azimuth, state.window_range) == ("VH", 3, 9)
    assert (state.layer, state.geometry, state.rule) == ("phase", "map", "manual")
    assert state.manual_pairs == "20240809_20240821"
    state2 = make_state(settings)
    assert not state2.apply_query({"window": "big", "layer": "nonsense", "catalog": "/etc/passwd"})
    assert state2.status_kind == "warning"
    for word in ("Window", "nonsense", "not allowed"):
        assert word in state2.status
    assert state2.window_azimuth == 5 and state2.catalog == settings.catalog


def test_load_any_spelling_then_compute(settings: Settings) -> None:
    state = make_state(settings)
    state.burst = "T117-249435-IW2"
    state.load()
    state.wait()
    assert state.burst == "T117_249435_IW2"
    assert state.start == "2024-08-09" and state.end == "2024-09-26"
    assert state.polarization == "VV" and state.status_kind == "info"
    state.param.update(rule="sequential", rule_value="2")
    state.compute()
    state.wait()
    assert state.status_kind == "success", state.status
    assert len(state.pair_list) == 4 + 3
    assert state.pair == "20240809_20240821"
    mean = state.pair_means["20240809_20240821"]
    assert mean == pytest.approx(0.8 * np.exp(-12 / 30) + 0.1, abs=1e-3)
    q = state.query()
    assert q["burst"] == "T117_249435_IW2" and q["window"] == "5x21"
    # the rule stays a rule in the URL (as `pairscope compute --pairs` writes it), not a list
    assert q["pairs"] == "seq:2" and "catalog" not in q
    # a click on a pixel gives its coherence in every pair, sorted as computed
    state.pixel = (39.0, 3.0)
    series = state.pixel_series()
    assert len(series) == 7
    assert series[0]["coherence"] == pytest.approx(0.8 * np.exp(-12 / 30) + 0.2, abs=1e-5)
    state.pixel = (400.0, 3.0)
    assert state.pixel_series() == []


def test_rules(settings: Settings) -> None:
    form = ExplorerState.form_pairs
    keys = lambda pairs: [pair_key(a, b) for a, b in pairs]  # noqa: E731
    assert len(form(list(DATES), "all", "", None, "")) == 10
    assert keys(form(list(DATES), "max", "12", None, ""))[0] == "20240809_20240821"
    assert len(form(list(DATES), "max", "24", None, "")) == 4 + 3
    assert len(form(list(DATES), "exact", "24,36", None, "")) == 3 + 2
    assert len(form(list(DATES), "reference", "", "2024-08-21", "")) == 4
    assert keys(form(list(DATES), "manual", "", None, "20240821_20240809")) == ["20240809_20240821"]
    with pytest.raises(UserError, match="not an acquisition"):
        form(list(DATES), "manual", "", None, "20240809_20240810")
    with pytest.raises(UserError, match="whole number"):
        form(list(DATES), "sequential", "two", None, "")
    with pytest.raises(UserError, match="no pairs"):
        form(list(DATES), "exact", "5", None, "")
    with pytest.raises(UserError, match="a pair needs two"):
        form(list(DATES[:1]), "all", "", None, "")


def test_bad_input_never_kills_the_state(settings: Settings) -> None:
    state = make_state(settings)
    state.burst = "not a burst"
    state.load()
    state.wait()
    assert state.status_kind == "danger"
    assert "not a burst" in state.status and "T117_249435_IW2" in state.status
    state.burst = "T117_249435_IW2"
    state.wait()
    assert state.burst_dates is not None
    state.burst = "T117_249435_IW1"  # a valid spelling, not in this catalog
    state.wait()
    assert state.status_kind == "danger" and "not in this catalog" in state.status
    state.burst = "T117_249435_IW2"
    state.wait()
    state.param.update(window_azimuth=50)
    state.compute()
    state.wait()
    assert state.status_kind == "danger" and "larger than the image" in state.status
    state.param.update(window_azimuth=5, rule="manual", manual_pairs="20240809_20240821")
    state.compute()
    state.wait()
    assert state.status_kind == "success" and list(state.results) == ["20240809_20240821"]
    # an unreachable catalog inside the allow-list: a clear message, the old results remain
    state.settings = Settings(
        catalog=settings.catalog, allowed_catalogs=("http://127.0.0.1:9/unreachable",), tiles=None
    )
    state.catalog = "http://127.0.0.1:9/unreachable/stac"
    state.wait()
    assert state.status_kind == "danger" and "unreachable" in state.status
    assert list(state.results) == ["20240809_20240821"]
    # a catalog outside the allow-list is refused before anything is opened
    backend = state.backend
    assert isinstance(backend, FakeBackend)
    before = len(backend.calls)
    state.catalog = "/etc"
    assert state.status_kind == "danger" and "not allowed" in state.status
    assert len(backend.calls) == before


def test_cancel_keeps_what_was_computed(settings: Settings) -> None:
    backend = FakeBackend(delay=0.15)
    state = make_state(settings, backend)
    state.load()
    state.wait()
    state.param.update(rule="all")
    state.compute()
    time.sleep(0.4)
    assert state.busy
    state.cancel()
    state.wait()
    assert state.status_kind == "warning" and "Cancelled" in state.status
    assert 1 <= len(state.results) < 10
    assert not state.busy
    # switching the layer while a job runs waits for the job instead of cancelling it
    backend.delay = 0.05
    state.compute()
    state.layer = "amplitude"
    assert state.busy
    state.wait()  # the compute job; the amplitude job starts when it is done
    state.wait()
    assert state.status_kind == "success" and len(state.results) == 10, state.status
    assert state.layer_data("amplitude") is not None


def test_geometry_layers_on_demand(settings: Settings) -> None:
    state = make_state(settings)
    state.load(compute=True)
    state.wait()
    assert state.geometry_layers is None
    state.layer = "incidence"
    state.wait()
    assert state.layer_data("incidence") is not None
    assert float(state.layer_data("incidence").mean()) == 35.0
    # amplitude is computed on demand for the pair shown, then for each pair opened
    assert "amplitude" not in state.current()
    state.layer = "amplitude"
    state.wait()
    assert state.layer_data("amplitude") is not None
    other = [k for k in state.results if k != state.pair][0]
    assert "amplitude" not in state.results[other]
    state.pair = other
    state.wait()
    assert state.layer_data("amplitude") is not None


def test_layout_builds_with_fake_backend(settings: Settings) -> None:
    """Every view renders to Bokeh models, before and after results (layout only)."""
    import panel as pn

    from pairscope.ui.app import create_app

    pytest.importorskip("pairscope.render")
    backend = FakeBackend()
    app = create_app(settings, compute=backend, query={"burst": "249435 IW2", "layer": "phase"})
    app.state.wait()
    assert app.state.status_kind == "success", app.state.status
    assert "2 bursts in this catalog" in app.sidebar.catalog_notes.object
    root = pn.panel(app).get_root()
    names = {type(m).__name__ for m in root.references()}
    assert {"Image", "Segment", "Rect", "ColorBar"} <= names, names
    titles = {m.text for m in root.references() if type(m).__name__ == "Title"}
    assert any(t.startswith("phase 20240809 / 20240821") for t in titles), titles
    app.state.layer = "look_z"
    app.state.wait()
    app.state.pixel = (10.0, 5.0)
    root = pn.panel(app).get_root()
    titles = {m.text for m in root.references() if type(m).__name__ == "Title"}
    assert "look_z" in titles and any(t.startswith("Pixel (10, 5)") for t in titles), titles


def test_footprint_pick() -> None:
    from pairscope.ui.views.sidebar import burst_at, mercator_to_lonlat

    bursts = (BurstInfo("T117_249435_IW2", FOOT, 5), BurstInfo("T117_249436_IW2", None, 5))
    assert burst_at(bursts, 10.5, 45.1) == "T117_249435_IW2"
    assert burst_at(bursts, 10.5, 45.4) == "T117_249435_IW2"  # nearest centre, 0.3 deg away
    assert burst_at(bursts, 20.0, 45.1) is None
    lon, lat = mercator_to_lonlat(1113194.9, 5621521.5)  # 10 E, 45 N in Web Mercator
    assert lon == pytest.approx(10.0, abs=1e-5) and lat == pytest.approx(45.0, abs=1e-5)


def test_footprint_map_draws_in_web_mercator_and_picks_by_click() -> None:
    """The sidebar's footprint map: each burst's ring in Web Mercator metres (the inverse of the
    click's conversion), a frame holding every footprint at the map's aspect, a click inside a
    footprint picks that burst, and a catalog without footprints shows a note instead."""
    from types import SimpleNamespace

    from pairscope.ui.views.sidebar import (
        FootprintMap,
        _framed,
        lonlat_to_mercator,
        mercator_to_lonlat,
    )

    other = tuple((lon + 1.5, lat) for lon, lat in FOOT)
    info = SimpleNamespace(bursts=(BurstInfo("T117_249435_IW2", FOOT, 5), BurstInfo("T117_249436_IW2", other, 7),
                                   BurstInfo("T117_249437_IW2", None, 3)))  # fmt: skip
    picked: list[tuple[float, float]] = []
    fmap = FootprintMap(None, on_pick=lambda x, y: picked.append((x, y)))
    assert fmap.panel.objects == [fmap.empty]  # nothing open yet
    fmap.show(info)
    assert fmap.panel.objects == [fmap.pane]
    data = fmap.source.data
    assert data["burst"] == ["T117_249435_IW2", "T117_249436_IW2"] and data["dates"] == [5, 7]
    for xs, ys, ring in zip(data["xs"], data["ys"], (FOOT, other), strict=True):
        back = [mercator_to_lonlat(x, y) for x, y in zip(xs, ys, strict=True)]
        assert np.allclose(back, ring, atol=1e-9)
    x0, x1, y0, y1 = fmap.figure.x_range.start, fmap.figure.x_range.end, fmap.figure.y_range.start, fmap.figure.y_range.end
    allx, ally = np.concatenate(data["xs"]), np.concatenate(data["ys"])
    assert x0 < allx.min() and allx.max() < x1 and y0 < ally.min() and ally.max() < y1
    assert (x1 - x0) / (y1 - y0) == pytest.approx(1.5)
    assert _framed(np.array([0.0, 10.0]), np.array([0.0, 100.0])) == pytest.approx((-92.5, 102.5, -15.0, 115.0))
    # a click (Bokeh's Tap event, in the figure's Web Mercator metres) reaches on_pick
    from bokeh.events import Tap

    fmap.figure._trigger_event(Tap(fmap.figure, x=float(data["xs"][1][1]), y=float(data["ys"][1][1])))
    assert picked == [(data["xs"][1][1], data["ys"][1][1])]
    x, y = lonlat_to_mercator(10.5, 45.1)
    assert mercator_to_lonlat(float(x), float(y)) == pytest.approx((10.5, 45.1))
    fmap.show(SimpleNamespace(bursts=(BurstInfo("T117_249437_IW2", None, 3),)))
    assert fmap.panel.objects == [fmap.empty] and fmap.source.data["burst"] == []
    fmap.show(None)
    assert fmap.panel.objects == [fmap.empty]


def test_tile_sources_by_name_or_template() -> None:
    """Tiles: a known name resolves to its XYZ template and credit, a template's lower-case
    placeholders become Bokeh's, an unknown name is refused when the settings are made."""
    from pairscope.ui.settings import tile_url

    url, credit = tile_url("OSM")
    assert "openstreetmap" in url and "{Z}" in url and "OpenStreetMap" in credit
    assert tile_url("http://127.0.0.1:9/t/{z}/{x}/{y}.png") == ("http://127.0.0.1:9/t/{Z}/{X}/{Y}.png", "")
    with pytest.raises(ValueError, match=r"unknown tile source 'NoSuchTiles'.*OSM"):
        Settings(tiles="NoSuchTiles")
    assert Settings(tiles=None).tiles is None


def test_demo_is_built_on_first_use_then_reused(
    tmp_path: pathlib.Path, monkeypatch: pytest.MonkeyPatch, demo_catalog: pathlib.Path
) -> None:
    import shutil

    import pairscope.sim.demo
    from pairscope.ui.app import default_catalog

    builds: list[tuple[str, int, str]] = []

    def build(directory: str, *, seed: int = 0, size: str = "default") -> pathlib.Path:
        # the session's small demo copied in, standing for a (slow) real build
        builds.append((str(directory), seed, size))
        shutil.copytree(demo_catalog.parent, directory)
        return pathlib.Path(directory) / "catalog.json"

    monkeypatch.setattr(pairscope.sim.demo, "build_catalog", build)
    monkeypatch.setenv("PAIRSCOPE_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("PAIRSCOPE_DEMO_SIZE", "small")
    settings = Settings.from_env()
    assert settings.demo_dir == tmp_path / "cache" / "demo-seed0-small"
    first = pathlib.Path(default_catalog(settings))
    assert first == settings.demo_dir / "catalog.json" and first.is_file()
    assert builds == [(str(settings.demo_dir), 0, "small")]
    assert pathlib.Path(default_catalog(settings)) == first
    assert len(builds) == 1  # reused, not rebuilt
    # the demo is always allowed, arbitrary paths are not
    assert settings.check_catalog(str(first)) == str(first)
    with pytest.raises(CatalogRefused):
        settings.check_catalog(str(tmp_path))


# -- the real path ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def core_state(demo_catalog: pathlib.Path) -> ExplorerState:
    settings = Settings(catalog=str(demo_catalog), tiles=None, url_sync=False)
    state = ExplorerState(settings, make_backend(), default_catalog=str(demo_catalog))
    state.connect()
    state.load()
    state.wait(120)
    return state


def test_real_core_path(core_state: ExplorerState) -> None:
    state = core_state
    assert state.burst_dates is not None, state.status
    bd = state.burst_dates
    assert len(bd.dates) >= 4
    assert bd.perpendicular_baselines is not None, bd.notes
    assert bd.perpendicular_baselines[0] == pytest.approx(0.0, abs=1e-6)
    assert np.ptp(bd.perpendicular_baselines) > 1.0  # the demo orbits have real baselines
    state.param.update(rule="sequential", rule_value="1", layer="coherence")
    state.compute()
    state.wait(120)
    assert state.status_kind == "success", state.status
    ds = state.current()
    assert ds is not None
    coh = ds["coherence"].values
    assert coh.dtype == np.float32 and np.nanmin(coh) >= 0 and np.nanmax(coh) <= 1
    assert 0.05 < state.pair_means[state.pair] < 0.99
    phase = ds["phase"].values
    assert np.nanmax(np.abs(phase)) <= np.pi + 1e-6
    # look vectors: unit length, pointing down (antenna -> ground)
    state.layer = "look_z"
    state.wait(120)
    g = state.geometry_layers
    assert g is not None, state.status
    norm = np.sqrt(g["look_x"] ** 2 + g["look_y"] ** 2 + g["look_z"] ** 2)
    np.testing.assert_allclose(norm.values, 1.0, atol=1e-4)
    assert 15 < float(g["incidence"].mean()) < 50
    # a window larger than the image: a message, and the state still works
    naz = ds.sizes[ds["coherence"].dims[0]]
    state.param.update(window_azimuth=naz + 1, layer="coherence")
    state.compute()
    state.wait(60)
    assert state.status_kind == "danger" and "larger than the image" in state.status
    state.param.update(window_azimuth=5)


def test_real_core_map_geometry(core_state: ExplorerState) -> None:
    state = core_state
    state.param.update(rule="manual", manual_pairs=format_pairs(
        [(state.burst_dates.dates[0], state.burst_dates.dates[1])]))  # fmt: skip
    state.geometry = "map"
    state.compute()
    state.wait(120)
    assert state.status_kind == "success", state.status
    ds = state.current()
    assert ds is not None and ds["coherence"].dims == ("y", "x")
    assert np.isfinite(ds["coherence"].values).mean() > 0.3
    state.geometry = "radar"
    state.wait(120)


def test_result_cache_makes_revisits_instant(demo_catalog: pathlib.Path) -> None:
    backend = make_backend()
    cat = str(demo_catalog)
    info = backend.open_catalog(cat)
    burst = info.bursts[0].burst_id
    dates = backend.burst_dates(cat, burst, "VV").dates
    args = (cat, burst, "VV", dates[0], dates[1], (5, 21), False, "radar")
    first = backend.compute_pair(*args)
    assert backend.compute_pair(*args) is first
    other = backend.compute_pair(*args[:5], (3, 9), False, "radar")
    assert other is not first
    assert not np.allclose(other["coherence"].values, first["coherence"].values, equal_nan=True)


def test_cache_counts_a_data_arrays_coordinates() -> None:
    """A DataArray's ``nbytes`` is its data alone; the cache's bound counts its coordinates too."""
    grid = np.zeros((10, 10))  # 800 bytes of coordinates beside 100 bytes of data
    value = xr.DataArray(np.zeros((10, 10), np.uint8), dims=("y", "x"),
                         coords={"lat": (("y", "x"), grid), "lon": (("y", "x"), grid.copy())})
    assert value.nbytes == 100
    cache = ResultCache(max_bytes=4000)
    for i in range(4):
        cache.put(("k", i), value.copy(deep=True))  # 1700 bytes each
    assert len(cache) == 2 and ("k", 3) in cache and ("k", 1) not in cache


def test_dates_share_the_bursts_grid_read_once(demo_catalog: pathlib.Path) -> None:
    """A date's cached samples hold no grid (the burst's latitude / longitude / height are read
    once, `CoreBackend.grid`); a pair's stack is the same as the lazy stack's, grid included; the
    cache's count of its bytes is at least what its entries hold."""
    backend = make_backend()
    cat = str(demo_catalog)
    burst = backend.open_catalog(cat).bursts[0].burst_id
    dates = backend.burst_dates(cat, burst, "VV").dates
    pair = backend.pair_stack(cat, burst, "VV", [dates[0], dates[2]])
    lazy = backend.stack(cat, burst, "VV").sel(date=[dates[0], dates[2]]).load()
    np.testing.assert_array_equal(pair.values, lazy.values)
    two_d = sorted(str(k) for k, v in lazy.coords.items() if v.ndim == 2)
    assert {"latitude", "longitude"} <= set(two_d)
    assert sorted(str(k) for k, v in pair.coords.items() if v.ndim == 2) == two_d
    for name in two_d:
        np.testing.assert_array_equal(pair[name].values, lazy[name].values)
    backend.pair_stack(cat, burst, "VV", [dates[1], dates[2]])
    entries = [v for v, _ in backend.cache._data.values()]
    samples = [v for v in entries if isinstance(v, xr.DataArray)]
    assert len(samples) == 3 and all(v.ndim == 2 for v in samples)
    assert all(c.ndim == 0 for v in samples for c in v.coords.values())  # no grid per date
    grids = [v for v in entries if isinstance(v, xr.Dataset)]
    assert len(grids) == 1 and sorted(map(str, grids[0].coords)) == two_d
    # every array an entry holds, each counted once: no more than the cache counts
    arrays = {id(a): a for v in samples + grids
              for a in [getattr(v, "values", None), *(c.values for c in v.coords.values())]
              if isinstance(a, np.ndarray)}
    assert sum(a.nbytes for a in arrays.values()) <= backend.cache._bytes


def test_threads_do_not_leak_between_states(settings: Settings) -> None:
    a, b = make_state(settings), make_state(settings)
    a.burst, b.burst = "T117_249435_IW2", "T117_249436_IW2"
    a.load()
    b.load()
    a.wait()
    b.wait()
    assert (a.burst, b.burst) == ("T117_249435_IW2", "T117_249436_IW2")
    assert a.burst_dates is not b.burst_dates and a.results is not b.results


def test_cached_only_answers_from_the_cache_and_does_nothing_else(
    demo_catalog: pathlib.Path, caplog: pytest.LogCaptureFixture
) -> None:
    """``CoreBackend.cached_only``: hits are answered, every miss raises NotCached before any
    reading or computing (nothing logged, nothing cached), and only in that thread's block."""
    import threading

    from pairscope.ui.backend import NotCached

    backend = make_backend()
    cat = str(demo_catalog)
    with backend.cached_only(), pytest.raises(NotCached):
        backend.open_catalog(cat)
    assert len(backend.cache) == 0
    info = backend.open_catalog(cat)
    burst = info.bursts[0].burst_id
    with backend.cached_only():
        assert backend.open_catalog(cat) is info
        with pytest.raises(NotCached):
            backend.burst_dates(cat, burst, "VV")
    dates = backend.burst_dates(cat, burst, "VV").dates
    args = (cat, burst, "VV", dates[0], dates[1], (5, 21), False, "radar")
    caplog.set_level("INFO", logger="pairscope")
    with backend.cached_only():
        with pytest.raises(NotCached):
            backend.compute_pair(*args)
        with pytest.raises(NotCached):
            backend.compute_geometry(cat, burst, "VV", "radar")
        # another thread is not limited by this block
        found: list[Any] = []
        worker = threading.Thread(target=lambda: found.append(backend.compute_pair(*args)))
        worker.start()
        worker.join(120)
    assert found and "coherence" in found[0]
    assert [r for r in caplog.records if "computing" in r.getMessage()] != []
    with backend.cached_only():
        assert backend.compute_pair(*args) is found[0]
        with pytest.raises(NotCached):  # the amplitude was never asked for
            backend.compute_pair(*args, amplitude=True)


def test_load_cached_is_all_or_nothing(demo_catalog: pathlib.Path) -> None:
    """``ExplorerState.load_cached``: nothing changes until every part of a shared URL is cached;
    then the same pairs, means and maps' data as a job would give, at once, with no job."""
    backend = make_backend()
    cat = str(demo_catalog)
    settings = Settings(catalog=cat, tiles=None, url_sync=False)
    query = {"burst": "T117_249435_IW2", "pairs": "seq:1", "layer": "coherence"}

    def fresh() -> ExplorerState:
        state = ExplorerState(settings, backend, default_catalog=cat)
        assert state.apply_query(query)
        state.connect()
        return state

    cold = fresh()
    assert not cold.load_cached(compute=True)
    assert cold.catalog_info is None and cold.burst_dates is None and not cold.results
    assert cold.version == 0 and cold._thread is None
    # the catalog and dates cached, the pairs not: still nothing applied
    backend.open_catalog(cat)
    bursts = backend.open_catalog(cat).bursts
    backend.burst_dates(cat, bursts[0].burst_id, "VV")
    assert not cold.load_cached(compute=True)
    assert cold.burst_dates is None and not cold.results
    # without compute, the catalog and dates are enough
    listing = fresh()
    assert listing.load_cached(compute=False)
    assert listing.burst_dates is not None and not listing.results
    # a job computes the network; the next session gets it from the cache, with no job
    first = fresh()
    first.load(compute=True)
    first.wait(180)
    assert first.status_kind == "success", first.status
    second = fresh()
    assert second.load_cached(compute=True)
    assert second._thread is None and not second.busy
    assert second.status_kind == "success", second.status
    assert list(second.results) == list(first.results) and second.pair == first.pair
    assert second.pair_means == first.pair_means
    for key, ds in first.results.items():
        assert second.results[key] is ds
    assert second.current() is not None


def test_equal_backend_calls_at_once_compute_once(
    demo_catalog: pathlib.Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``CoreBackend`` computes concurrent equal calls once (two visitors of one new pair, a
    page's job and its QA tab): the later caller waits and gets the first one's result. Calls
    with other arguments do not wait for each other; under ``cached_only`` nothing waits."""
    import threading

    from pairscope import pipeline
    from pairscope.ui.backend import NotCached

    backend = make_backend()
    cat = str(demo_catalog)
    burst = backend.open_catalog(cat).bursts[0].burst_id
    dates = backend.burst_dates(cat, burst, "VV").dates
    real = pipeline.compute_pairs
    entered, release = threading.Event(), threading.Event()
    computed: list[str] = []

    def held(stack: Any, pairs: Any, *args: Any, **kwargs: Any) -> Any:
        computed.append(f"{pairs[0][0]}_{pairs[0][1]}")
        if len(computed) == 1:  # the first computation is held until released
            entered.set()
            assert release.wait(60)
        return real(stack, pairs, *args, **kwargs)

    monkeypatch.setattr(pipeline, "compute_pairs", held)
    args = (cat, burst, "VV", dates[0], dates[1], (5, 21), False, "radar")
    found: list[Any] = []
    first = threading.Thread(target=lambda: found.append(backend.compute_pair(*args)))
    second = threading.Thread(target=lambda: found.append(backend.compute_pair(*args)))
    first.start()
    assert entered.wait(60)
    second.start()
    # another pair is not held up by the held one
    other = backend.compute_pair(cat, burst, "VV", dates[0], dates[2], (5, 21), False, "radar")
    assert "coherence" in other and len(computed) == 2
    # a library caller's list window cannot key a lock: answered as before (here from the cache)
    assert backend.compute_pair(cat, burst, "VV", dates[0], dates[2], [5, 21], False,
                                "radar") is other  # type: ignore[arg-type]  # fmt: skip
    with backend.cached_only(), pytest.raises(NotCached):  # answers at once, waits for nothing
        backend.compute_pair(*args)
    time.sleep(0.3)
    assert second.is_alive() and not found  # the equal call waits for the first
    release.set()
    first.join(120)
    second.join(120)
    assert len(found) == 2 and found[0] is found[1]  # one result, computed once
    assert len(computed) == 2
    assert len(backend._flights) == 0  # nothing left behind
