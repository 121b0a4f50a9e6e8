"""Real-browser fixtures: the explorer served by ``pairscope serve`` on loopback, driven by
Playwright through Debian's ``/usr/bin/chromium`` (Playwright's own browser download is not used).

Every request the page makes outside loopback is aborted, recorded (``ExplorerPage.blocked``) and
fails the test, whether or not it calls ``assert_clean`` (the fixture's teardown fails it, listing
the URLs); console errors and page errors are collected and fail the test; a screenshot of each
failed scenario is written to ``test-artifacts/`` (kept by CI).
"""

from __future__ import annotations

import contextlib
import http.server
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

REPO = pathlib.Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"
CHROMIUM = os.environ.get("PAIRSCOPE_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
LOOPBACK = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost|\[::1\])(:\d+)?(/|$)")
SERVER_START_TIMEOUT = 180.0

# JavaScript run in the page: Bokeh's document as plain data, and data -> screen coordinates.
_JS_MODELS = """
() => {
  const out = {titles: [], images: []};
  if (!window.Bokeh || !Bokeh.documents.length) return out;
  const views = [...Bokeh.index.roots].map(r => r.owner);
  const shown = m => views.some(o => { try { return !!o.find_one(m); } catch (e) { return false; } });
  for (const m of Bokeh.documents[0].all_models) {
    const kind = m.constructor.__name__;
    if (kind === "Figure" && m.title && m.title.text && shown(m)) out.titles.push(m.title.text);
    if (kind === "GlyphRenderer" && m.glyph.constructor.__name__ === "Image" && shown(m)) {
      const imgs = m.data_source.data.image || [];
      let finite = 0, total = 0;
      for (const img of imgs) for (const v of img) { total++; if (Number.isFinite(v)) finite++; }
      out.images.push({finite, total});
    }
  }
  return out;
}
"""
_JS_SCREEN = """
([prefix, x, y]) => {
  const owners = [...Bokeh.index.roots].map(r => r.owner);
  for (const m of Bokeh.documents[0].all_models) {
    if (m.constructor.__name__ !== "Figure" || !m.title || !m.title.text) continue;
    if (!m.title.text.startsWith(prefix)) continue;
    for (const o of owners) {
      let v = null;
      try { v = o.find_one(m); } catch (e) { v = null; }
      if (!v) continue;
      const r = v.el.getBoundingClientRect();
      const sx = v.frame.x_scale.compute(x), sy = v.frame.y_scale.compute(y);
      return [r.left + sx, r.top + sy, m.x_range.start, m.x_range.end, m.y_range.start, m.y_range.end];
    }
  }
  return null;
}
"""


@dataclass
class ServedExplorer:
    url: str
    port: int
    catalog: pathlib.Path
    #: A catalog URL the operator allowed where nothing listens (the "unreachable" scenario).
    unreachable_catalog: str
    log: pathlib.Path
    pid: int


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: pathlib.Path) -> None:
    deadline = time.monotonic() + SERVER_START_TIMEOUT
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(
                f"`pairscope serve` exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
            )
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError, OSError):
            pass
        time.sleep(0.3)
    raise RuntimeError(f"`pairscope serve` not ready after {SERVER_START_TIMEOUT} s:\n"
                       f"{log.read_text()[-3000:]}")  # fmt: skip


@contextlib.contextmanager
def loopback_http(handler: type[http.server.BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port answering with ``handler`` (a catalog or
    tile server a scenario needs): its base URL, ``http://127.0.0.1:<port>``."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@contextlib.contextmanager
def serve_explorer(catalog: pathlib.Path, tmp: pathlib.Path, allowed: str = "",
                   panel: bool = False, **env: str) -> Iterator[ServedExplorer]:  # fmt: skip
    """``pairscope serve --catalog <catalog> --port <free>`` in a subprocess (its log and cache in
    ``tmp``; ``allowed``: a catalog the operator also allows; ``env``: more of its environment,
    tiles off unless ``PAIRSCOPE_TILES`` is given), stopped at the end. ``panel``: the same app
    served by ``panel serve app/explorer.py`` (the catalog from ``PAIRSCOPE_CATALOG``) instead."""
    port = _free_port()
    env = {"PAIRSCOPE_TILES": "none", "PAIRSCOPE_ALLOWED_CATALOGS": allowed,
           "PAIRSCOPE_CACHE": str(tmp / "cache"), "PYTHONUNBUFFERED": "1", **env}  # fmt: skip
    log = tmp / "serve.log"
    cmd = [sys.executable, "-m", "pairscope.cli", "serve", "--catalog", str(catalog),
           "--port", str(port)]  # fmt: skip
    if panel:
        env["PAIRSCOPE_CATALOG"] = str(catalog)
        cmd = [sys.executable, "-m", "panel", "serve", str(REPO / "app" / "explorer.py"),
               "--address", "127.0.0.1", "--port", str(port),
               "--allow-websocket-origin", f"127.0.0.1:{port}"]  # fmt: skip
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT,
                                env=dict(os.environ, **env), cwd=REPO)  # fmt: skip
    try:
        _wait_ready(f"http://127.0.0.1:{port}/explorer", proc, log)
        yield ServedExplorer(f"http://127.0.0.1:{port}/explorer", port, catalog, allowed, log,
                             proc.pid)  # fmt: skip
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@pytest.fixture(scope="session")
def explorer_server(
    demo_catalog: pathlib.Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedExplorer]:
    """``pairscope serve --catalog <small demo> --port <free>`` in a subprocess, tiles off; the
    operator also allows a catalog URL where nothing answers."""
    tmp = tmp_path_factory.mktemp("explorer-server")
    with serve_explorer(demo_catalog, tmp, allowed=f"http://127.0.0.1:{_free_port()}/stac") as served:
        yield served


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """Headless Debian chromium under Playwright (one browser; a fresh context per page)."""
    if not pathlib.Path(CHROMIUM).is_file():
        raise RuntimeError(
            f"{CHROMIUM} not found: install Debian's chromium (`make system-deps` or "
            "scripts/system-deps.sh), or set PAIRSCOPE_CHROMIUM"
        )
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()
    finally:
        pw.stop()


@dataclass
class ExplorerPage:
    """One browser session (its own context) on the served explorer."""

    page: Any
    context: Any
    base_url: str
    blocked: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def open(self, query: str = "", wait_for_title: str | None = None) -> None:
        self.page.goto(self.base_url + (("?" + query) if query else ""))
        self.page.locator(".ps-compute button").wait_for(timeout=60_000)
        if wait_for_title:
            self.wait_for_title(wait_for_title)

    def models(self) -> dict[str, Any]:
        return dict(self.page.evaluate(_JS_MODELS))

    def titles(self) -> list[str]:
        return list(self.models()["titles"])

    def wait_for_title(self, prefix: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for title in self.titles():
                if title.startswith(prefix):
                    return title
            self.page.wait_for_timeout(200)
        raise AssertionError(
            f"no plot titled {prefix!r} after {timeout} s; titles {self.titles()}, "
            f"status {self.status()!r}"
        )

    def status(self) -> str:
        loc = self.page.locator(".ps-status div").first
        return loc.inner_text() if loc.count() else ""

    def wait_for_status(self, pattern: str, timeout: float = 60.0) -> str:
        deadline = time.monotonic() + timeout
        text = ""
        while time.monotonic() < deadline:
            text = self.status()
            if re.search(pattern, text):
                return text
            self.page.wait_for_timeout(200)
        raise AssertionError(f"status never matched {pattern!r}; last: {text!r}")

    def screen_point(self, title_prefix: str, x: float, y: float) -> tuple[float, float]:
        """Page coordinates of data point (x, y) in the figure whose title starts so."""
        found = self.page.evaluate(_JS_SCREEN, [title_prefix, x, y])
        if not found:
            raise AssertionError(f"no figure titled {title_prefix!r} is shown")
        return float(found[0]), float(found[1])

    def select(self, css_class: str, value: str) -> None:
        self.page.locator(f".{css_class} select").select_option(value)

    def type_into(self, css_class: str, text: str) -> None:
        box = self.page.locator(f".{css_class} input").first
        box.fill(text)
        box.press("Enter")

    def query(self) -> dict[str, str]:
        from urllib.parse import parse_qsl, urlsplit

        return dict(parse_qsl(urlsplit(self.page.url).query))

    def assert_clean(self) -> None:
        assert not self.blocked, f"requests outside loopback: {self.blocked}"
        assert not self.console_errors, f"console errors: {self.console_errors}"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.stash[_FAILED] = report.failed


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def open_session(
    chromium: Any, explorer_server: ServedExplorer, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """A factory of browser sessions; each gets a screenshot on failure and a clean-page check."""
    yield from session_factory(chromium, explorer_server, request)


def session_factory(
    chromium: Any, explorer_server: ServedExplorer, request: pytest.FixtureRequest
) -> Iterator[Any]:
    """What :func:`open_session` yields, for any served explorer (a fixture's generator)."""
    sessions: list[ExplorerPage] = []

    def make(viewport: tuple[int, int] = (1500, 1150)) -> ExplorerPage:
        context = chromium.new_context(viewport={"width": viewport[0], "height": viewport[1]})
        session = ExplorerPage(page=None, context=context, base_url=explorer_server.url)

        def route(r: Any) -> None:
            url = r.request.url
            if LOOPBACK.match(url) or url.startswith(("data:", "blob:")):
                r.continue_()
            else:
                session.blocked.append(url)
                r.abort()

        context.route("**/*", route)
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.on(
            "console",
            lambda m: session.console_errors.append(m.text) if m.type == "error" else None,
        )
        page.on("pageerror", lambda e: session.console_errors.append(f"page error: {e}"))
        session.page = page
        sessions.append(session)
        return session

    yield make
    failed = request.node.stash.get(_FAILED, False)
    for i, session in enumerate(sessions):
        if failed:
            ARTIFACTS.mkdir(exist_ok=True)
            name = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
            with contextlib.suppress(Exception):
                session.page.screenshot(path=str(ARTIFACTS / f"{name}-{i}.png"), full_page=True)
        with contextlib.suppress(Exception):
            session.context.close()
    if failed:
        with contextlib.suppress(Exception):
            if hasattr(signal, "SIGUSR1"):  # the server's thread stacks, for a stuck job
                # (only SIGUSR1: `pairscope serve` handles it; a SIGUSR2 it sent before has no
                # handler and ended the shared server, failing every later browser test)
                os.kill(explorer_server.pid, signal.SIGUSR1)
                time.sleep(1.0)
            log = explorer_server.log.read_text()[-20000:]
            (ARTIFACTS / "explorer-server.log").write_text(log)
    blocked = [url for session in sessions for url in session.blocked]
    if blocked and not failed:  # the page tried to leave the machine: the scenario fails
        pytest.fail(f"the page requested {len(blocked)} URL(s) outside loopback (all aborted): "
                    f"{sorted(set(blocked))}", pytrace=False)  # fmt: skip


def until(session: Any, check: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    """Poll ``check`` until it returns something truthy (bounded), then return it."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        try:
            last = check()
        except Exception as exc:  # noqa: BLE001 - the page may be mid-update
            last = exc
        else:
            if last:
                return last
        session.page.wait_for_timeout(200)
    raise AssertionError(f"{what} not seen after {timeout} s; last {last!r}; "
                         f"status {session.status()!r}")  # fmt: skip


def assert_typeset(session: Any, selector: str, timeout: float = 30.0) -> None:
    """The MathML formulas under ``selector`` are typeset by the browser (laid out as maths, a
    fraction stacked), not shown as raw text."""
    formula = session.page.locator(f"{selector} math").first
    formula.wait_for(timeout=timeout * 1000)
    display, width, height = formula.evaluate(
        "m => [getComputedStyle(m).display, m.getBoundingClientRect().width,"
        " m.getBoundingClientRect().height]")  # fmt: skip
    assert "math" in display, f"{selector}: the browser did not lay out MathML ({display!r})"
    fraction = session.page.locator(f"{selector} mfrac").first
    top, bottom = fraction.evaluate(
        "f => [f.children[0].getBoundingClientRect().bottom, f.children[1].getBoundingClientRect().top]")
    assert top <= bottom + 1, f"{selector}: a fraction is not stacked ({top} vs {bottom})"
    assert width > 100 and height > 20, (width, height)
