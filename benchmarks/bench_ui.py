"""Explorer speed, measured (never asserted): prints numbers and ratios to the targets.

In a real browser (Debian chromium, loopback only) against ``pairscope serve`` on a warm server:

1. Shared URL of a demo pair -> coherence map drawn (a cold session, a new session on a cached
   pair, and a new session on a pair not computed yet). Target < 1.5 s. Visits follow each other
   at once, so each comes while the server still adds the previous page's later views (sidebar,
   network, matrix, pixel plots); the cached pair is measured again on an idle server (each
   visit after the previous page was whole), with the time until its page is whole.
2. Pan/zoom redraw: change the map's range with the wheel and time until the re-rasterized
   image arrives. Target < 300 ms.
3. Pair switch: on a page whose network is computed (``pairs=seq:1``), pick another pair in
   "Pair shown" and time until its coherence map is drawn. Target < 500 ms.
   On the same page, a click on the coherence map -> the clicked pixel's three plots (against
   baseline, against date, its matrix) show that pixel: the first click and later ones (no
   target in the issue; measured as a view a visitor waits for, against the pair switch's).
   In the Learn tab, one step of the window slider -> the new window's bias curve and estimate
   map drawn. In the QA tab, its first comparison drawn (product, ours, difference, 2-D
   histogram), then a wheel zoom of its maps -> the three maps redrawn for the new range, and
   the statistics of that range (measured against the zoom target, 300 ms).

Where the time goes, measured in this process on the same catalog (server side, no browser):
building a session's document, computing an uncached pair (reading its two dates, estimating),
updating the maps for another pair, and re-rasterizing for a zoom.

4. A full-size burst pair (1500 x 21000 samples): estimator + amplitude + resampling
   of coherence and phase to screen size, against a plain NumPy boxcar baseline run in the same
   process. Target < 3 s.

Usage: ``python benchmarks/bench_ui.py [--catalog catalog.json] [--size default] [--repeat 5]``
(without ``--catalog`` the demo is built into a temporary folder; chromium at /usr/bin/chromium).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import pathlib
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from typing import Any

import numpy as np

REPO = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.plugins.browser import _JS_SCREEN, CHROMIUM, CHROMIUM_ARGS, LOOPBACK  # noqa: E402

_JS_IMAGE_STAMP = """
(prefix) => {
  if (!window.Bokeh || !Bokeh.documents.length) return null;
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  const shown = m => owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } });
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text.startsWith(prefix)) continue;
    if (!shown(m)) continue;
    for (const r of m.renderers) {
      if (r.glyph && r.glyph.constructor.__name__ === "Image") {
        const img = (r.data_source.data.image || [])[0];
        if (!img) continue;
        let finite = 0;
        for (const v of img) if (Number.isFinite(v)) { finite++; }
        if (finite) return [finite, r.data_source.data.x[0], r.data_source.data.dw[0], img.length];
      }
    }
  }
  return null;
}
"""
_JS_RANGES = """
([prefix, f]) => {
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  const shown = m => owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } });
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text.startsWith(prefix)) continue;
    if (!shown(m)) continue;
    return [m.x_range.start, m.x_range.end, m.y_range.start, m.y_range.end];
  }
  return null;
}
"""
_JS_PIXEL_TITLES = r"""
() => {
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  const shown = m => owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } });
  return [...Bokeh.documents[0].all_models].filter(m => m.constructor.__name__ === "Figure" && m.title
      && /^(Pixel \(|Coherence of pixel\s\(|Coherence matrix of\spixel \()/.test(m.title.text)
      && m.visible !== false && shown(m)).map(m => m.title.text);
}
"""
_JS_TITLES_SHOWN = """
(prefixes) => {
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  const shown = m => owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } });
  const titles = [...Bokeh.documents[0].all_models].filter(m => m.constructor.__name__ === "Figure"
      && m.title && shown(m)).map(m => m.title.text);
  return prefixes.every(p => titles.some(t => t.startsWith(p)));
}
"""
_JS_FIGURE_SHOWN = """
(prefix) => {
  if (!window.Bokeh || !Bokeh.documents.length) return false;
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  const shown = m => owners.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } });
  return [...Bokeh.documents[0].all_models].some(m => m.constructor.__name__ === "Figure" && m.title
      && m.title.text.startsWith(prefix) && shown(m));
}
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(catalog: pathlib.Path, log: pathlib.Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = dict(os.environ, PAIRSCOPE_TILES="none")
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "pairscope.cli", "serve", "--catalog", str(catalog),
             "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO,
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}/explorer"
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < 300:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server not ready:\n{log.read_text()[-2000:]}")


def _wait_image(page: Any, prefix: str, timeout: float = 120.0) -> Any:
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        found = page.evaluate(_JS_IMAGE_STAMP, prefix)
        if found:
            return found
        page.wait_for_timeout(20)
    raise RuntimeError(f"no {prefix!r} image after {timeout} s")


def _wait_complete(page: Any, timeout: float = 60.0) -> None:
    """Until the page is whole: the sidebar, the network and the matrix drawn (a served page
    gets them after its maps)."""
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        if (page.locator(".ps-compute").count() and page.evaluate(_JS_FIGURE_SHOWN, "Pair network")
                and page.evaluate(_JS_FIGURE_SHOWN, "Mean coherence")):  # fmt: skip
            return
        page.wait_for_timeout(20)
    raise RuntimeError(f"page not complete after {timeout} s")


def browser_numbers(catalog: pathlib.Path, repeat: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from pairscope.ui.app import make_backend
    from pairscope.ui.backend import day

    backend = make_backend()
    info = backend.open_catalog(str(catalog))
    burst = info.bursts[0].burst_id
    dates = [day(d) for d in backend.burst_dates(str(catalog), burst, "VV").dates]
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        proc, url = _serve(catalog, pathlib.Path(tmp) / "serve.log")
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(
                    executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
                )

                def session_time(pair: str, settle: bool = False) -> tuple[float, Any]:
                    """URL to coherence map; with ``settle`` also until the page is whole
                    (the next visitor then finds the server idle), into ``complete``."""
                    ctx = browser.new_context(viewport={"width": 1500, "height": 1100})
                    ctx.route("**/*", lambda r: r.continue_() if LOOPBACK.match(r.request.url)
                              else r.abort())  # fmt: skip
                    page = ctx.new_page()
                    t0 = time.perf_counter()
                    page.goto(f"{url}?burst={burst}&pairs={pair}&layer=coherence")
                    a, b = pair.split("_")
                    _wait_image(page, f"coherence {a} / {b}")
                    shown = time.perf_counter() - t0
                    if settle:
                        _wait_complete(page)
                        complete.append(time.perf_counter() - t0)
                        page.wait_for_timeout(500)
                    return shown, (ctx, page)

                complete: list[float] = []

                first = f"{dates[0]}_{dates[1]}"
                out["url_to_coherence_cold_s"], (ctx, _) = session_time(first)
                ctx.close()
                cached = []
                for _ in range(repeat):
                    t, (ctx, _) = session_time(first)
                    cached.append(t)
                    ctx.close()
                out["url_to_coherence_cached_s"] = statistics.median(cached)
                # the same on an idle server: each visit after the previous page was whole
                # (above, a visit comes while the server still adds the previous page's views)
                idle = []
                t, (ctx, _) = session_time(first, settle=True)
                ctx.close()
                for _ in range(repeat):
                    t, (ctx, _) = session_time(first, settle=True)
                    idle.append(t)
                    ctx.close()
                out["url_to_coherence_cached_idle_server_s"] = statistics.median(idle)
                out["url_to_whole_page_cached_s"] = statistics.median(complete[1:])
                fresh = []
                for i in range(1, min(repeat, len(dates) - 1) + 1):
                    t, (ctx, page) = session_time(f"{dates[i]}_{dates[(i + 1) % len(dates)]}"
                                                  if i + 1 < len(dates) else
                                                  f"{dates[0]}_{dates[i]}")  # fmt: skip
                    fresh.append(t)
                    if i < min(repeat, len(dates) - 1):
                        ctx.close()
                out["url_to_coherence_new_pair_s"] = statistics.median(fresh)
                # pan/zoom: wheel over the map, time until the re-rasterized image arrives
                # (after the page has settled: a visitor zooms a drawn page)
                page.wait_for_timeout(3000)
                zooms = []
                for k in range(repeat):
                    before = page.evaluate(_JS_IMAGE_STAMP, "coherence")
                    xr = page.evaluate(_JS_RANGES, ["coherence", 1.0])
                    sx, sy = page.evaluate(_JS_SCREEN, ["coherence", (xr[0] + xr[1]) / 2,
                                                        (xr[2] + xr[3]) / 2])[:2]  # fmt: skip
                    page.mouse.move(sx, sy)
                    t0 = time.perf_counter()
                    page.mouse.wheel(0, -300 if k % 2 == 0 else 300)
                    while time.perf_counter() - t0 < 10:
                        now = page.evaluate(_JS_IMAGE_STAMP, "coherence")
                        if now and now[1:3] != before[1:3]:
                            break
                        page.wait_for_timeout(5)
                    zooms.append(time.perf_counter() - t0)
                    page.wait_for_timeout(500)
                out["pan_zoom_redraw_s"] = statistics.median(zooms)
                ctx.close()
                # pair switch on a computed network: "Pair shown" -> the other pair's map
                ctx = browser.new_context(viewport={"width": 1500, "height": 1100})
                ctx.route("**/*", lambda r: r.continue_() if LOOPBACK.match(r.request.url)
                          else r.abort())  # fmt: skip
                page = ctx.new_page()
                page.goto(f"{url}?burst={burst}&pairs=seq:1&layer=coherence")
                _wait_image(page, f"coherence {dates[0]} / {dates[1]}")
                select = page.locator(".ps-pair select")
                pairs = [f"{dates[i]}_{dates[i + 1]}" for i in range(len(dates) - 1)]
                t0 = time.perf_counter()  # every pair of the network computed and listed
                while select.locator("option").count() < len(pairs) and time.perf_counter() - t0 < 120:
                    page.wait_for_timeout(100)
                switches: list[float] = []
                first_click: list[float] = []
                for k in range(repeat):
                    pair = pairs[1 + k % (len(pairs) - 1)] if k % 2 == 0 else pairs[0]
                    a, b = pair.split("_")
                    t0 = time.perf_counter()
                    select.select_option(pair)
                    _wait_image(page, f"coherence {a} / {b}", timeout=30)
                    switches.append(time.perf_counter() - t0)
                    page.wait_for_timeout(300)
                out["pair_switch_s"] = statistics.median(switches)
                # a click on the map -> the pixel's three plots (titles name the pixel)
                clicks = []
                for k in range(repeat + 1):
                    xr = page.evaluate(_JS_RANGES, ["coherence", 1.0])
                    fx, fy = 0.25 + 0.05 * ((k * 3) % 10), 0.25 + 0.05 * ((k * 7) % 10)
                    sx, sy = page.evaluate(_JS_SCREEN, ["coherence", xr[0] + (xr[1] - xr[0]) * fx,
                                                        xr[2] + (xr[3] - xr[2]) * fy])[:2]  # fmt: skip
                    before = page.evaluate(_JS_PIXEL_TITLES)
                    t0 = time.perf_counter()
                    page.mouse.click(sx, sy)
                    while time.perf_counter() - t0 < 30:
                        now = page.evaluate(_JS_PIXEL_TITLES)
                        if len(now) == 3 and len(set(now) & set(before)) == 0:
                            break
                        page.wait_for_timeout(5)
                    else:
                        raise RuntimeError(f"no pixel plots after a click: {now}")
                    (clicks if k else first_click).append(time.perf_counter() - t0)
                    page.wait_for_timeout(500)
                out["pixel_first_click_s"] = first_click[0]
                out["pixel_click_s"] = statistics.median(clicks)
                # Learn: one step of the window slider -> its curves and estimate map redrawn
                page.get_by_text("Learn", exact=True).click()
                t0 = time.perf_counter()
                while not page.evaluate(_JS_TITLES_SHOWN, ["Sample coherence bias, 105 looks",
                                                           "Estimate, 105 looks"]):  # fmt: skip
                    if time.perf_counter() - t0 > 60:
                        raise RuntimeError("the Learn tab did not draw")
                    page.wait_for_timeout(20)
                page.wait_for_timeout(1000)
                steps = []
                handle = page.locator(".ps-learn-azimuth .noUi-handle").first
                for k in range(repeat):
                    key, looks = ("ArrowLeft", 84) if k % 2 == 0 else ("ArrowRight", 105)
                    t0 = time.perf_counter()
                    handle.press(key)
                    while not page.evaluate(_JS_TITLES_SHOWN, [
                            f"Sample coherence bias, {looks} looks", f"Estimate, {looks} looks"]):
                        if time.perf_counter() - t0 > 30:
                            raise RuntimeError(f"no Learn plots for {looks} looks")
                        page.wait_for_timeout(5)
                    steps.append(time.perf_counter() - t0)
                    page.wait_for_timeout(500)
                out["learn_window_step_s"] = statistics.median(steps)
                # QA: the tab's first comparison drawn (three maps and the histogram), then a
                # zoom of its maps -> the three maps redrawn for the range, and its statistics
                maps = ("Product VV", "Ours ", "Difference")
                page.locator(".ps-tabs .bk-tab", has_text="QA").first.click()
                t0 = time.perf_counter()
                while not (page.evaluate(_JS_TITLES_SHOWN, [*maps, "Product vs ours"])
                           and all(page.evaluate(_JS_IMAGE_STAMP, m) for m in maps)):
                    if time.perf_counter() - t0 > 60:
                        raise RuntimeError("the QA tab did not draw")
                    page.wait_for_timeout(10)
                out["qa_first_comparison_s"] = time.perf_counter() - t0
                page.wait_for_timeout(1500)
                qa_maps, qa_stats = [], []
                stats = page.locator(".ps-qa-stats div").first
                for k in range(repeat):
                    page.locator(".ps-qa-map").first.scroll_into_view_if_needed()
                    before = [page.evaluate(_JS_IMAGE_STAMP, m) for m in maps]
                    text = stats.inner_text()
                    xr = page.evaluate(_JS_RANGES, [maps[0], 1.0])
                    sx, sy = page.evaluate(_JS_SCREEN, [maps[0], (xr[0] + xr[1]) / 2,
                                                        (xr[2] + xr[3]) / 2])[:2]  # fmt: skip
                    page.mouse.move(sx, sy)
                    t0 = time.perf_counter()
                    page.mouse.wheel(0, -300 if k % 2 == 0 else 300)
                    marks: dict[str, float] = {}
                    while len(marks) < 2 and time.perf_counter() - t0 < 20:
                        now = time.perf_counter() - t0
                        if "maps" not in marks and all(
                                (s := page.evaluate(_JS_IMAGE_STAMP, m)) and s[1:3] != b[1:3]
                                for m, b in zip(maps, before, strict=True)):  # fmt: skip
                            marks["maps"] = now
                        if "stats" not in marks and stats.inner_text() != text:
                            marks["stats"] = now
                        page.wait_for_timeout(5)
                    if len(marks) < 2:
                        raise RuntimeError(f"the QA maps did not follow a zoom: {marks}")
                    qa_maps.append(marks["maps"])
                    qa_stats.append(marks["stats"])
                    page.wait_for_timeout(800)
                out["qa_zoom_maps_s"] = statistics.median(qa_maps)
                out["qa_zoom_statistics_s"] = statistics.median(qa_stats)
                ctx.close()
                browser.close()
        finally:
            proc.terminate()
            proc.wait(15)
    return out


def server_numbers(catalog: pathlib.Path, repeat: int) -> dict[str, float]:
    """Where a warm server's time goes (this process, no browser): a session's document, an
    uncached pair's computation, the maps' update to another pair, a zoom's re-rasterizing."""
    import panel as pn

    from pairscope.ui.app import create_app, shared_backend, warm_up
    from pairscope.ui.backend import day
    from pairscope.ui.settings import Settings

    settings = Settings(catalog=str(catalog), tiles=None, url_sync=False)
    warm_up(settings)
    backend = shared_backend(settings)
    burst = backend.open_catalog(str(catalog)).bursts[0].burst_id
    dates = [day(d) for d in backend.burst_dates(str(catalog), burst, "VV").dates]
    out: dict[str, list[float]] = {}

    @contextlib.contextmanager
    def clock(name: str) -> Iterator[None]:
        t0 = time.perf_counter()
        yield
        out.setdefault(name, []).append(time.perf_counter() - t0)

    raw = list(backend.burst_dates(str(catalog), burst, "VV").dates)
    for k in range(min(repeat, len(dates) - 3)):
        late = raw[-1 - k]  # a date no session has read yet
        with clock("server_read_one_date_s"):
            backend._date(str(catalog), burst, "VV", late)
        with clock("server_session_document_s"):
            app = create_app(settings, compute=backend,
                             query={"burst": burst, "pairs": f"{dates[0]}_{dates[1]}"})
            app.state.wait(300)
            pn.Column(app).get_root()
        extent = app.maps._extent
        if extent is not None:
            x0, x1, y0, y1 = extent
            # the range a zoom reports -> both maps' images (served, the other views' statistics
            # of the range follow 0.4 s after the zoom stops, not in this path)
            app.maps._shown = (x0 + (x1 - x0) * (0.1 + 0.02 * k), x0 + (x1 - x0) * 0.7,
                               y0 + (y1 - y0) * 0.2, y0 + (y1 - y0) * 0.8)  # fmt: skip
            with clock("server_zoom_resample_s"):
                app.maps._redraw()
        assert all(m.frame is not None for m in app.maps._maps), "no maps drawn"
        state = app.state
        state.param.update(rule="manual", manual_pairs=f"{dates[0]}_{day(late)}")
        with clock("server_estimate_pair_s"):
            state.compute()
            state.wait(300)
        state.param.update(rule="manual", manual_pairs=f"{dates[0]}_{dates[1]},{dates[0]}_{day(late)}")
        state.compute()
        state.wait(300)
        first = f"{dates[0]}_{dates[1]}"
        other = first if state.pair != first else f"{dates[0]}_{day(late)}"
        with clock("server_maps_pair_switch_s"):
            state.param.update(pair=other)
    return {k: statistics.median(v) for k, v in out.items()}


def full_size_numbers(shape: tuple[int, int] = (1500, 21000)) -> dict[str, float]:
    """Server-side cost of one full-size pair: estimator + amplitude + rasterize to the screen."""
    from scipy.ndimage import uniform_filter

    from pairscope import coherence
    from pairscope.ui.views.maps import MAP_HEIGHT, drawn, frame

    rng = np.random.default_rng(0)
    n = shape[0] * shape[1]
    common = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    ref = common.reshape(shape)
    noise = (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(np.complex64)
    sec = (0.8 * common + 0.6 * noise).reshape(shape)
    window = (5, 21)
    coherence.estimate(ref[:64, :256], sec[:64, :256], window)  # compile outside the timing
    t0 = time.perf_counter()
    coh, phase = coherence.estimate(ref, sec, window)
    t_est = time.perf_counter() - t0
    t0 = time.perf_counter()
    amp = coherence.estimate_amplitude(ref, sec, window)
    t_amp = time.perf_counter() - t0
    import xarray as xr

    dims = ("azimuth", "range")
    da_c = xr.DataArray(coh, dims=dims, coords={"azimuth": np.arange(shape[0]),
                                                 "range": np.arange(shape[1])})  # fmt: skip
    da_p = da_c.copy(data=phase)
    pixels = (MAP_HEIGHT - 70, 900)
    frames = [frame(da_c, "coherence"), frame(da_p, "phase")]
    for fr in frames:  # warm the resampling kernels
        drawn(fr, None, pixels)
    t0 = time.perf_counter()
    for fr in frames:  # what the maps send for the whole burst: its samples at screen size
        drawn(fr, None, pixels)
    t_draw = time.perf_counter() - t0
    # baseline in the same process: the NumPy/SciPy boxcar oracle of the estimator
    t0 = time.perf_counter()
    num = uniform_filter((ref * sec.conj()).real, window) + 1j * uniform_filter(
        (ref * sec.conj()).imag, window
    )
    den = np.sqrt(uniform_filter(np.abs(ref) ** 2, window) * uniform_filter(np.abs(sec) ** 2, window))
    _ = np.abs(num) / den
    t_base = time.perf_counter() - t0
    del amp
    return {
        "full_estimate_s": t_est,
        "full_amplitude_s": t_amp,
        "full_resample_for_screen_s": t_draw,
        "full_total_s": t_est + t_amp + t_draw,
        "full_numpy_oracle_s": t_base,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--catalog", type=pathlib.Path, default=None)
    parser.add_argument("--size", default="default")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--skip-full", action="store_true")
    args = parser.parse_args()
    numbers: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as tmp:
        catalog = args.catalog
        if catalog is None:
            from pairscope.sim.demo import build_catalog

            t0 = time.perf_counter()
            catalog = pathlib.Path(build_catalog(pathlib.Path(tmp) / "demo", size=args.size))
            numbers["demo_build_s"] = time.perf_counter() - t0
        numbers.update(browser_numbers(catalog, args.repeat))
        numbers.update(server_numbers(catalog, args.repeat))
    if not args.skip_full:
        numbers.update(full_size_numbers())
    targets = {
        "url_to_coherence_cold_s": 1.5, "url_to_coherence_cached_s": 1.5,
        "url_to_coherence_cached_idle_server_s": 1.5,
        "url_to_coherence_new_pair_s": 1.5, "pan_zoom_redraw_s": 0.3, "pair_switch_s": 0.5,
        "qa_zoom_maps_s": 0.3, "full_total_s": 3.0,
    }  # fmt: skip
    print(f"{'measure':34s} {'value':>9s}  ratio to target / baseline")
    for key, value in numbers.items():
        note = ""
        if key in targets:
            note = f"{value / targets[key]:.2f} x target ({targets[key]} s)"
        if key == "full_estimate_s" and "full_numpy_oracle_s" in numbers:
            note = f"{numbers['full_numpy_oracle_s'] / value:.1f} x faster than the NumPy oracle"
        print(f"{key:34s} {value:9.3f}  {note}")


if __name__ == "__main__":
    main()
