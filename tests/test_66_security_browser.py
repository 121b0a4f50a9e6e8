"""The served explorer is safe to put on a network (real browser, loopback only).

- Script and HTML from every URL parameter and from a catalog server's error body stay text: no
  dialog opens, no script runs, no element is injected.
- A catalog URL with a user name and password is refused without showing them.
- A plain HTTP GET of a shared URL starts no work; the first job starts when a browser connects,
  or when the page's first script sends the page's own session token (never on a forged one, one
  from another origin, or a bare POST).
"""

from __future__ import annotations

import http.server
import pathlib
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest

from tests.plugins.browser import ServedExplorer, loopback_http, serve_explorer

pytestmark = pytest.mark.browser

MARK = "__pairscope_pwned"
PAYLOADS = (
    f'<img src=x onerror="window.{MARK}=1">',
    f'"><script>window.{MARK}=2</script>',
    f'<svg onload="window.{MARK}=3"><b id="{MARK}">x</b>',
    f"[link](javascript:window.{MARK}=4) **bold** `code`",
)
PARAMS = ("burst", "layer", "catalog", "pol", "pairs", "pair", "window", "geometry", "bias",
          "colormap", "tab", "pixel", "view", "product")  # fmt: skip


class _EvilCatalog(http.server.BaseHTTPRequestHandler):
    """A catalog server whose every answer is an HTML error page carrying scripts."""

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        body = ("<html><body><h1>Oops</h1>" + "".join(PAYLOADS) + "</body></html>").encode()
        self.send_response(500)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def evil_catalog() -> Iterator[str]:
    with loopback_http(_EvilCatalog) as base:
        yield f"{base}/stac"


@pytest.fixture(scope="module")
def guarded_server(
    demo_catalog: pathlib.Path, evil_catalog: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServedExplorer]:
    """``pairscope serve`` on the demo, with the evil catalog allowed by the operator."""
    tmp = tmp_path_factory.mktemp("guarded")
    with serve_explorer(demo_catalog, tmp, allowed=evil_catalog) as served:
        yield served


def _page(chromium: Any) -> tuple[Any, Any, list[str], list[str]]:
    context = chromium.new_context(viewport={"width": 1400, "height": 900})
    blocked: list[str] = []
    dialogs: list[str] = []

    def route(r: Any) -> None:
        url = r.request.url
        if re.match(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?(/|$)", url) or url.startswith(
            ("data:", "blob:", "about:")
        ):
            r.continue_()
        else:
            blocked.append(url)
            r.abort()

    context.route("**/*", route)
    page = context.new_page()
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return context, page, blocked, dialogs


#: Every element of the page, through open shadow roots (Panel draws inside them), that a payload
#: would have created.
_JS_INJECTED = """
(mark) => {
  const found = [];
  const walk = (root) => {
    for (const el of root.querySelectorAll('*')) {
      const tag = el.tagName.toLowerCase();
      if (el.id === mark
          || (tag === 'img' && el.getAttribute('src') === 'x')
          || (tag === 'svg' && el.hasAttribute('onload'))
          || (tag === 'a' && (el.getAttribute('href') || '').startsWith('javascript:'))
          || (tag === 'script' && (el.textContent || '').includes(mark))) {
        found.push(tag + (el.id ? '#' + el.id : ''));
      }
      if (el.shadowRoot) walk(el.shadowRoot);
    }
  };
  walk(document);
  return found;
}
"""


def _assert_not_injected(page: Any, dialogs: list[str]) -> None:
    assert page.evaluate(f"() => window.{MARK} === undefined"), "a payload script ran"
    injected = page.evaluate(_JS_INJECTED, MARK)
    assert not injected, f"payload markup became elements: {injected}"
    assert not dialogs, dialogs


def _status(page: Any) -> str:
    loc = page.locator(".ps-status div").first
    return str(loc.inner_text()) if loc.count() else ""


def _wait_settled(page: Any, timeout: float = 60.0) -> str:
    """The status area's text once it stops saying it is working."""
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        text = _status(page)
        if text and "..." not in text and text.strip() != "Ready.":
            return text
        page.wait_for_timeout(300)
    return text


@pytest.mark.parametrize("payload", PAYLOADS, ids=["img", "script", "svg", "markdown"])
def test_url_parameters_stay_text(guarded_server: ServedExplorer, chromium: Any, payload: str) -> None:
    context, page, blocked, dialogs = _page(chromium)
    try:
        query = urllib.parse.urlencode({p: payload for p in PARAMS})
        page.goto(f"{guarded_server.url}?{query}")
        status = _wait_settled(page)
        assert status, "the status area says what was wrong with the URL"
        _assert_not_injected(page, dialogs)
        assert not blocked, blocked
    finally:
        context.close()


def test_a_catalog_servers_error_body_stays_text(
    guarded_server: ServedExplorer, chromium: Any
) -> None:
    context, page, blocked, dialogs = _page(chromium)
    try:
        page.goto(f"{guarded_server.url}?catalog={urllib.parse.quote(guarded_server.unreachable_catalog)}")
        status = _wait_settled(page, 90)
        assert "500" in status or "catalog" in status.lower(), status
        assert "Oops" not in status, "the server's error page was echoed"
        _assert_not_injected(page, dialogs)
        assert not blocked, blocked
    finally:
        context.close()


def test_credentials_in_a_catalog_url_are_never_shown(
    guarded_server: ServedExplorer, chromium: Any
) -> None:
    context, page, blocked, dialogs = _page(chromium)
    secret = "hunter2-" + "z" * 6
    try:
        parts = urllib.parse.urlsplit(guarded_server.unreachable_catalog)
        url = parts._replace(netloc=f"alice:{secret}@{parts.netloc}").geturl()
        page.goto(f"{guarded_server.url}?catalog={urllib.parse.quote(url)}")
        _wait_settled(page)
        text = page.evaluate("() => document.body.innerText")
        values = page.evaluate("() => [...document.querySelectorAll('input')].map(i => i.value)")
        assert secret not in text and not any(secret in v for v in values)
        assert secret not in guarded_server.log.read_text()
        _assert_not_injected(page, dialogs)
    finally:
        context.close()


def test_no_work_without_a_browser(guarded_server: ServedExplorer, chromium: Any) -> None:
    """GETs of a shared URL (no websocket) start nothing; a browser's visit does."""
    log = guarded_server.log
    shared = f"{guarded_server.url}?burst=T117_249435_IW2&pairs=20250611_20250623&window=2x7"
    before = len(log.read_text().splitlines())
    for _ in range(5):
        with urllib.request.urlopen(shared, timeout=30) as answer:
            assert answer.status == 200
            answer.read()
    time.sleep(3.0)
    after_get = log.read_text().splitlines()[before:]
    assert not [line for line in after_get if "computing" in line or "listing" in line], after_get
    context, page, blocked, dialogs = _page(chromium)
    try:
        page.goto(shared)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            lines = log.read_text().splitlines()[before:]
            if any("computing" in line and "20250611_20250623" in line for line in lines):
                break
            page.wait_for_timeout(300)
        else:
            raise AssertionError("the browser's visit started no job:\n" + "\n".join(lines[-20:]))
    finally:
        context.close()



def _post(url: str, body: bytes, origin: str | None = None) -> tuple[int, str]:
    headers = {"Content-Type": "text/plain", **({"Origin": origin} if origin else {})}
    request = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return int(answer.status), answer.read().decode()
    except urllib.error.HTTPError as err:
        return int(err.code), err.read().decode()


def test_a_page_start_request_needs_that_pages_token(guarded_server: ServedExplorer) -> None:
    """The page's first script starts its session's first job ahead of the websocket
    (`session_loop.install_early_start`): only with that page's session token, from an allowed
    origin, once. A bare POST, a malformed token, another origin or the token of no session start
    nothing, and no refusal echoes what was sent."""
    from bokeh.util.token import generate_jwt_token, generate_session_id

    from pairscope.ui.session_loop import START_PATH

    log = guarded_server.log
    pair = "20250617_20250629"
    shared = f"{guarded_server.url}?burst=T117_249435_IW2&pairs={pair}&window=2x9"
    start = f"{guarded_server.url}/{START_PATH}"
    origin = f"http://127.0.0.1:{guarded_server.port}"
    before = len(log.read_text().splitlines())
    with urllib.request.urlopen(shared, timeout=30) as answer:
        html = answer.read().decode()
    found = re.search(r"body:'([A-Za-z0-9_.-]+)'", html)
    assert found, "the page has no start script"
    token = found.group(1)
    assert html.index(found.group(0)) < html.index("bokeh.min.js")  # ahead of the JavaScript
    assert "bokeh-gl" not in html and "bokeh-widgets.min.js" in html  # no WebGL bundle

    def computing() -> list[str]:
        return [line for line in log.read_text().splitlines()[before:]
                if "computing" in line and pair in line]  # fmt: skip

    nobody = generate_jwt_token(generate_session_id(), expiration=300)
    for body, sender in ((b"", origin), (b"no token at all, " + token.encode()[:20], origin),
                         (token.encode() + b"'", origin), (token.encode(), "http://127.0.0.1:9"),
                         (token.encode() + b"<script>", None)):  # fmt: skip
        status, text = _post(start, body, sender)
        assert status == 403, (status, text)
        assert token[:20] not in text and "evil" not in text and "<" not in text, text
    assert _post(start, nobody.encode(), origin)[0] == 204  # no such session: none is made
    time.sleep(1.0)
    assert not computing(), computing()

    assert _post(start, token.encode(), origin)[0] == 204  # no browser, no websocket
    deadline = time.monotonic() + 60
    while not computing() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert len(computing()) == 1, "the page's start request started no job"
    lines = log.read_text().splitlines()[before:]
    assert any("first job starts as its browser runs the page's first script" in line
               for line in lines), lines[-10:]  # fmt: skip
    assert _post(start, token.encode(), origin)[0] == 204  # once
    time.sleep(1.0)
    assert len(computing()) == 1, computing()
    assert token not in log.read_text()  # never logged
