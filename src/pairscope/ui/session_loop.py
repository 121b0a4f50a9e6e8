"""Run functions from worker threads on a served session's event loop, in the order they were given.

Worker threads (jobs, QA, Learn) must not touch a session's Bokeh document; they hand their updates
to the session's loop. Calling ``Document.add_next_tick_callback`` from the worker thread is not
enough: while the loop thread holds the document (Panel holds it around every model update), the
callback's registration is queued among the document's held events, and a registration racing with
the release of a hold is registered only at a later hold. The callbacks then run out of order: a
job's "Pair 4 of 5 computed" ran after its final message and stayed on screen with the job done
(seen in about one served run in four before this module).

So a worker only appends to a FIFO queue and wakes the loop thread (``IOLoop.add_callback``, which
is thread-safe); on the loop thread, with no race, a next-tick callback is registered that runs
everything queued so far, oldest first. Whichever tick runs first runs all that is queued, so the
order holds however the ticks are ordered. A function that raises is logged and the next ones
still run.

Also here, for updates made on the loop thread: :class:`Coalesced` (a view redrawn once per tick,
after the maps, or once a changing range has settled) and :func:`batched` (updates combined into
one message through Panel's write queue once the page has loaded); and for a served page's start:
:func:`when_connected` (a first job started by the browser's pull), :func:`hold_pull` (that pull's
reply waits for the job's first result) and :func:`build_sessions_off_the_loop`.
"""

from __future__ import annotations

import contextlib
import inspect
import logging
import re
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from functools import partial
from typing import Any, TypeGuard

__all__ = [
    "Coalesced", "PullGate", "Schedule", "after_shown", "after_writes", "batched",
    "build_sessions_off_the_loop", "hold_pull", "install_early_start", "others_starting",
    "page_starting", "replied", "served", "session_scheduler", "start_early", "start_script",
    "when_connected",
]  # fmt: skip

Schedule = Callable[[Callable[[], None]], None]
log = logging.getLogger("pairscope.ui")


def served(doc: Any) -> TypeGuard[Any]:
    """Whether ``doc`` is the document of a served session (not None, not a notebook's or a
    test's document without a session)."""
    return doc is not None and getattr(doc, "session_context", None) is not None


def session_scheduler(
    doc: Any,
    *,
    wait_for_load: bool = True,
    post: Callable[[Callable[[], None]], None] | None = None,
) -> Schedule | None:
    """A ``schedule(fn)`` running ``fn`` on ``doc``'s loop, in call order; None when ``doc`` is not
    a served session (then callers run ``fn`` directly).

    Call it when the session is created. ``wait_for_load``: hold functions scheduled while the
    browser builds the document it pulled and run them, in order, once it has
    (``pn.state.onload``): a patch sent in between is lost there. Before the pull they run at
    once, and the pulled document holds what they did (a shared URL's first job may finish
    before the pull, :func:`hold_pull`). ``post``: how to wake the loop thread (default:
    ``add_callback`` of the server's Tornado loop; the session may be built on another thread,
    see :func:`build_sessions_off_the_loop`).
    """
    if not served(doc):
        return None

    if post is None:
        post = _loop_of(doc).add_callback
    lock = threading.Lock()
    queue: deque[Callable[[], None]] = deque()
    held: list[Callable[[], None]] | None = [] if wait_for_load and replied(doc) else None
    loaded = False

    def drain() -> None:
        while True:
            with lock:
                if not queue:
                    return
                fn = queue.popleft()
            try:
                with batched(doc):
                    fn()
            except Exception:  # logged, and the next updates still run
                log.exception("an update of a session's page failed")

    def register() -> None:  # on the loop thread
        try:
            doc.add_next_tick_callback(drain)
        except Exception:  # the session is gone: nothing to update
            pass

    def wake() -> None:
        try:
            post(register)
        except Exception:  # the server is shutting down
            pass

    def hold() -> None:  # on the loop thread, as the pull's reply is made
        nonlocal held
        with lock:
            if not loaded and held is None:
                held = []

    def release() -> None:
        nonlocal held, loaded
        with lock:
            loaded = True
            pending, held = held or [], None
            queue.extendleft(reversed(pending))
        drain()

    def schedule(fn: Callable[[], None]) -> None:
        with lock:
            if held is not None:
                held.append(fn)
                return
            queue.append(fn)
        wake()

    if wait_for_load:
        import panel as pn

        # held from the pull's reply to the load (see when_connected): a patch sent before the
        # browser has built the pulled document is lost there
        _install_pull_hook()
        if not replied(doc):
            _on_reply.setdefault(doc, []).append(hold)
        pn.state.onload(release)
    return schedule


def _loop_of(doc: Any) -> Any:
    """The Tornado loop serving ``doc``'s session (the current one outside a Bokeh server)."""
    try:
        loop = doc.session_context.server_context.application_context.io_loop
    except AttributeError:
        loop = None
    if loop is None:
        from tornado.ioloop import IOLoop

        loop = IOLoop.current()
    return loop


#: Served documents -> what runs once the browser has pulled them (see :func:`when_connected`).
_on_pull: weakref.WeakKeyDictionary[Any, list[Callable[[], None]]] = weakref.WeakKeyDictionary()
#: Served documents -> what runs as the reply to the browser's pull is made.
_on_reply: weakref.WeakKeyDictionary[Any, list[Callable[[], None]]] = weakref.WeakKeyDictionary()
#: Served documents whose pull has been answered (its reply made).
_replied: weakref.WeakSet[Any] = weakref.WeakSet()
#: Served documents whose :func:`when_connected` work was started by the page's start request
#: (:func:`start_early`), before the browser pulled the document.
_started_early: weakref.WeakSet[Any] = weakref.WeakSet()
#: Served documents -> the gate their pull's reply waits for (:func:`hold_pull`).
_gates: weakref.WeakKeyDictionary[Any, PullGate] = weakref.WeakKeyDictionary()


async def _next_tick(doc: Any) -> None:
    """Until the callbacks registered on ``doc``'s loop so far have run (FIFO)."""
    import asyncio

    future = asyncio.get_running_loop().create_future()

    def done() -> None:
        if not future.done():
            future.set_result(None)

    try:
        doc.add_next_tick_callback(done)
    except Exception:  # noqa: BLE001 - the session is gone
        return
    await future


def replied(doc: Any) -> bool:
    """Whether the browser's pull of ``doc`` has been answered: changes made before are in the
    document it gets, later ones go to it as messages."""
    return doc in _replied


def left(doc: Any) -> bool:
    """Whether the visitor of ``doc``'s served session has left: the browser pulled the document
    and no websocket of it is open any more (a closed tab, a reload). Bokeh keeps such a session
    ~15-30 s before it destroys it, and its callbacks run until then."""
    return served(doc) and replied(doc) and not _connections(doc)


class PullGate:
    """What a held pull's reply waits for (:func:`hold_pull`): :meth:`open`, or ``timeout``."""

    def __init__(self, doc: Any, timeout: float) -> None:
        self._doc = weakref.ref(doc)
        self.timeout = timeout
        self.opened = False
        self.released = False
        self._future: Any = None

    def open(self) -> None:
        """Let the reply go, on the next tick of the session's loop: changes made in this one
        (a data source's new columns are set on the next tick, ``maps.set_data``) go first.
        Call on the loop thread; once is enough."""
        if self.opened:
            return
        self.opened = True
        doc = self._doc()
        if doc is None:
            return
        try:
            doc.add_next_tick_callback(self._release)
        except Exception:  # noqa: BLE001 - the session is gone: nothing waits
            pass

    def _release(self) -> None:
        self.released = True
        if self._future is not None and not self._future.done():
            self._future.set_result(None)

    async def wait(self) -> None:
        """Until released (the next tick after :meth:`open`) or ``timeout``. On the loop."""
        import asyncio

        if self.released or (self.opened and self._doc() is None):
            return
        if self._future is None:
            self._future = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(asyncio.shield(self._future), self.timeout)
        except TimeoutError:
            pass


def hold_pull(doc: Any, timeout: float) -> PullGate | None:
    """Hold the reply to the browser's pull of ``doc`` (a served session's document) until the
    returned gate is opened, at most ``timeout`` seconds; what :func:`when_connected` runs, runs
    as the pull comes, before the reply. None when ``doc`` is not served.

    For a shared URL of a pair not computed yet: its job starts as the browser pulls the
    document, and a reply made at once carried empty maps; the browser built that page (~0.4 s),
    and the maps came in ~27 messages after it had (the job's results are held until then),
    each laid out again. Held until the job's first result is in the document (~0.2-0.3 s for
    the default demo), the reply carries the maps, as for a pair computed before. A job slower
    than ``timeout`` delays the page by ``timeout`` at most, and its results then come as
    before."""
    if not served(doc):
        return None
    _install_pull_hook()
    gate = PullGate(doc, timeout)
    _gates[doc] = gate
    return gate


def _due(doc: Any, callbacks: Iterable[Callable[[], None]]) -> None:
    for fn in callbacks:
        doc.add_next_tick_callback(fn)


def _install_pull_hook() -> None:
    """Make Bokeh's server run a document's :data:`_on_pull` callbacks (next tick, document
    locked) when a browser pulls the document over its websocket: after the reply is made, or,
    for a held pull (:func:`hold_pull`), before it, the reply then waiting for the gate. Either
    way :data:`_on_reply` runs as the reply is made. Installed once per process."""
    from bokeh.server.session import ServerSession

    if getattr(ServerSession, "_pairscope_on_pull", False):
        return
    original = ServerSession._handle_pull

    def replying(doc: Any) -> None:
        for fn in _on_reply.pop(doc, ()):
            fn()  # the job's next updates wait for the page's load
        _replied.add(doc)

    def _handle_pull(self: Any, message: Any, connection: Any) -> Any:
        doc = self.document
        gate = _gates.pop(doc, None)
        if gate is not None and (doc in _on_pull or doc in _started_early):
            return _held_pull(self, gate, message, connection)
        replying(doc)
        reply = original(self, message, connection)  # a coroutine (it takes the document lock)
        callbacks = _on_pull.pop(doc, ())
        if not callbacks:
            return reply
        if not inspect.isawaitable(reply):
            _due(doc, callbacks)
            return reply

        async def then() -> Any:
            out = await reply
            _due(doc, callbacks)  # after the reply is made: the browser has the document as it was
            return out

        return then()

    async def _held_pull(self: Any, gate: PullGate, message: Any, connection: Any) -> Any:
        doc = self.document
        _due(doc, _on_pull.pop(doc, ()))  # now: the job starts
        pulled = time.monotonic()
        await gate.wait()
        log.info("a shared page's document is sent %s, %.2f s after the pull",
                 "with its first result" if gate.released
                 else f"without its first result (not done in {gate.timeout:g} s)",
                 time.monotonic() - pulled)  # fmt: skip
        replying(doc)
        await _next_tick(doc)  # what is already due on the loop (a source's columns) goes first
        reply: Any = original(self, message, connection)  # a coroutine (the document lock)
        return await reply

    ServerSession._handle_pull = _handle_pull  # type: ignore[method-assign]
    ServerSession._pairscope_on_pull = True  # type: ignore[attr-defined]


def when_connected(doc: Any, fn: Callable[[], None]) -> None:
    """Run ``fn`` once on ``doc``'s loop when a browser has connected to the served session: when
    the page's first script sends its start request (:func:`start_early`, where the server
    installed it: :func:`install_early_start`), else when it pulls the document over its
    websocket, or at the latest when Panel reports the page loaded (``pn.state.onload``, ~1 s
    later: after the browser has built and laid out the page).

    A plain HTTP GET never gets here (it creates the session; only a browser that ran the page's
    script sends its start request or opens the websocket with the session's token), so work
    started here is still no work for a GET; it overlaps the browser's loading and building of
    the page instead of following it. Outside a served session ``fn`` runs at once."""
    import panel as pn

    if not served(doc):
        fn()
        return
    done = False

    def once() -> None:
        nonlocal done
        if not done:
            done = True
            fn()

    _install_pull_hook()
    _on_pull.setdefault(doc, []).append(once)
    pn.state.onload(once)


def start_early(doc: Any) -> bool:
    """Run now (next tick of ``doc``'s loop) what :func:`when_connected` holds for the browser's
    pull of ``doc``: the page's start request (:func:`install_early_start`) came first. The pull's
    reply still waits for a :func:`hold_pull` gate. False when nothing was held (already run,
    or nothing asked for). On the loop thread."""
    callbacks = _on_pull.pop(doc, None)
    if not callbacks:
        return False
    _started_early.add(doc)
    _due(doc, callbacks)
    return True


#: The path, under the app's, of a served page's start request (:func:`install_early_start`).
START_PATH = "pairscope-start"
#: How long a start request waits for its session to be made (Panel's warm reuse makes it after
#: the page's HTML has gone out), seconds.
START_WAIT_S = 2.0
_TOKEN = re.compile(r"[A-Za-z0-9_.-]{16,8192}")


def start_script(token: str) -> str:
    """The page's first script: it sends the page's session token to :data:`START_PATH` under the
    page's own path as soon as the browser parses it, ahead of the page's ~3 MB of JavaScript.
    "" for a token that is not plain base64url (nothing is put into the page then)."""
    if not _TOKEN.fullmatch(token):
        return ""
    return ("<script>(function(){try{fetch(location.pathname.replace(/\\/+$/,'')+'/"
            + START_PATH + "',{method:'POST',body:'" + token + "',credentials:'same-origin',"
            "headers:{'Content-Type':'text/plain'}}).catch(function(){});}catch(e){}})();</script>")


def _with_start_script(page: str, token: str) -> str:
    """``page`` (a served session's HTML) with :func:`start_script` first in its head."""
    script = start_script(token)
    if not script:
        return page
    for mark in ('<meta charset="utf-8">', "<head>"):
        at = page.find(mark)
        if at >= 0:
            at += len(mark)
            return page[:at] + "\n" + script + page[at:]
    return page


def install_early_start(app_path: str) -> tuple[str, Any, dict[str, Any]]:
    """Start a served page's first job (what :func:`when_connected` holds) when its browser runs
    the page's first script, not when it pulls the document over its websocket. Returns the
    route to give the server (``extra_patterns``); every page Panel renders from then on gets
    :func:`start_script` in its head. Installed once per process, by ``serve``.

    The browser pulls the document only once it has fetched and run the page's JavaScript
    (~0.65-0.9 s after the HTML here). A shared URL of a pair not computed yet waited that long
    for its job (~0.2-0.3 s for the default demo); started by the page's first script, the job
    runs while the browser runs the JavaScript, and the pulled document holds the maps.

    Still no work for a plain HTTP GET: the request needs the page's session token, a signed one
    when the server signs sessions, unexpired, and from an allowed origin when it names one, as
    the websocket does; it only looks the session up (never makes one) and starts what that
    session would start at its pull, once."""
    import panel.io.server as pn_server

    if not getattr(pn_server.server_html_page_for_session, "_pairscope_start", False):
        original = pn_server.server_html_page_for_session

        def server_html_page_for_session(session: Any, *args: Any, **kwargs: Any) -> str:
            page = original(session, *args, **kwargs)
            token = kwargs.get("token") or getattr(session, "token", None)
            return _with_start_script(page, token) if isinstance(token, str) else page

        server_html_page_for_session._pairscope_start = True  # type: ignore[attr-defined]
        pn_server.server_html_page_for_session = server_html_page_for_session
    path = "/" + app_path.strip("/")
    return (rf"{re.escape(path)}/{START_PATH}", _start_handler(), {"app_path": path})


def _start_handler() -> Any:
    """The Tornado handler of :data:`START_PATH` (a class made on first use: Tornado is imported
    by the server only)."""
    global _START_HANDLER
    if _START_HANDLER is not None:
        return _START_HANDLER
    import calendar
    import datetime as dt
    from urllib.parse import urlparse

    from bokeh.util.token import check_token_signature, get_session_id, get_token_payload
    from tornado.web import RequestHandler

    class StartHandler(RequestHandler):
        """POST ``<app>/pairscope-start`` with a page's session token as the body: 204 at once
        (the session's first job then starts once the session is made, unless it has started;
        a session not made within :data:`START_WAIT_S` is left to its websocket, as before),
        403 when the token or origin is refused."""

        def initialize(self, app_path: str) -> None:
            self.app_path = app_path

        def _refuse(self, why: str) -> None:
            log.info("a page's start request was refused: %s", why)  # never the token
            self.set_status(403)
            self.set_header("Content-Type", "text/plain; charset=utf-8")
            self.finish(f"refused: {why}\n")

        async def post(self) -> None:
            app: Any = self.application
            origin = self.request.headers.get("Origin")
            if origin is not None:
                from bokeh.server.util import check_allowlist

                allowed = sorted(getattr(app, "websocket_origins", ()) or ())
                if not check_allowlist(urlparse(origin).netloc.lower(), allowed):
                    self._refuse("the page's origin may not connect to this server")
                    return
            token = self.request.body.decode("ascii", "replace").strip()
            try:
                valid = bool(_TOKEN.fullmatch(token)) and check_token_signature(
                    token, secret_key=app.secret_key, signed=app.sign_sessions)
                payload = get_token_payload(token) if valid else {}
                session_id = get_session_id(token) if valid else ""
            except Exception:  # noqa: BLE001 - not a session token
                valid = False
            if not valid:
                self._refuse("not a session token of this server")
                return
            now = calendar.timegm(dt.datetime.now(tz=dt.UTC).timetuple())
            if now >= payload.get("session_expiry", 0):
                self._refuse("the session token has expired: reload the page")
                return
            context = getattr(app, "_applications", {}).get(self.app_path)
            if context is not None:  # answered at once: the browser's connection is not held
                _schedule_start(context, session_id)
            self.set_status(204)
            self.finish()

    _START_HANDLER = StartHandler
    return StartHandler


_START_HANDLER: Any = None
#: Start requests waiting for their session (held here: a task nobody holds may be collected).
_START_TASKS: set[Any] = set()
#: At most this many start requests wait at once: tokens of sessions that do not exist cost a
#: wait each (an unsigned token is easy to make up), so a flood of them must not pile up; a page
#: whose request is not waited for still starts its job at its pull, as before.
MAX_START_WAITS = 64


def _schedule_start(context: Any, session_id: str) -> bool:
    """Start ``session_id``'s first job once ``context`` has made the session (at most
    :data:`START_WAIT_S` from now); False, and nothing done, when :data:`MAX_START_WAITS`
    requests already wait. On the loop thread."""
    import asyncio

    if len(_START_TASKS) >= MAX_START_WAITS:
        return False
    task = asyncio.ensure_future(_start_when_made(context, session_id))
    _START_TASKS.add(task)
    task.add_done_callback(_START_TASKS.discard)
    return True


async def _start_when_made(context: Any, session_id: str) -> None:
    session = await _find_session(context, session_id, START_WAIT_S)
    if session is not None and start_early(session.document):
        log.info("a page's first job starts as its browser runs the page's first script")


async def _find_session(context: Any, session_id: str, wait: float) -> Any:
    """The session ``session_id`` of ``context`` (a Bokeh ``ApplicationContext``) once made,
    waiting for one being made; None when there is none after ``wait`` seconds. Never makes
    one."""
    import asyncio

    loop = asyncio.get_running_loop()
    until = loop.time() + wait
    while True:
        session = context._sessions.get(session_id)
        if session is not None:
            return session
        pending = context._pending_sessions.get(session_id)
        left = until - loop.time()
        if left <= 0:
            return None
        if pending is not None:
            try:
                return await asyncio.wait_for(asyncio.shield(pending), left)
            except Exception:  # noqa: BLE001 - its build failed or took too long
                return None
        await asyncio.sleep(min(0.02, left))


class Coalesced:
    """``fn`` run once on the session's next tick however often it was asked for in this one.

    For secondary views (the network, the matrix, the pixel plots): a change of several
    parameters, or several steps of one update, redraws them once, and after the message with
    the main maps has gone out. All redraws due in a session run in one tick and go to the
    browser as one message.

    ``settle``: parameters whose changes alone wait until they have been still for ``delay``
    seconds (the statistics of the shown range, which change on every step of a pan or zoom: the
    maps follow each step, the other views the range the visitor stopped at).

    Outside a served session (tests, notebooks) ``fn`` runs at once. Call it on the session's
    loop thread (parameter watchers do).
    """

    def __init__(
        self, fn: Callable[[], None], settle: tuple[str, ...] = (), delay: float = 0.4
    ) -> None:
        self.fn = fn
        self.settle = frozenset(settle)
        self.delay = delay
        self.pending = False
        self._timer: Any = None

    def __call__(self, *events: Any) -> None:
        import panel as pn

        doc = pn.state.curdoc
        if not served(doc):
            self.fn()
            return
        if events and self.settle and all(getattr(e, "name", None) in self.settle for e in events):
            self._later(doc)
            return
        if self.pending and self._timer is None:
            return  # already due on the next tick
        self._cancel_timer(doc)
        batch = _redraws.get(doc)
        if batch is None:
            try:
                doc.add_next_tick_callback(partial(_after_this_tick, doc))
            except Exception:  # the session is gone
                return
            batch = _redraws[doc] = []
        self.pending = True
        batch.append(self)

    def _later(self, doc: Any) -> None:
        if self.pending and self._timer is None:
            return  # a redraw on the next tick covers it
        self._cancel_timer(doc)

        def fire() -> None:
            self._timer = None
            if self.pending:
                self.pending = False
                with batched(doc):
                    self._run()

        try:
            self._timer = doc.add_timeout_callback(fire, int(self.delay * 1000))
        except Exception:  # the session is gone
            return
        self.pending = True

    def _cancel_timer(self, doc: Any) -> None:
        if self._timer is not None:
            with contextlib.suppress(Exception):
                doc.remove_timeout_callback(self._timer)
            self._timer = None

    def _run(self) -> None:
        try:
            self.fn()
        except Exception:  # logged; the other views still redraw
            log.exception("a view of a session's page could not redraw")


_redraws: weakref.WeakKeyDictionary[Any, list[Coalesced]] = weakref.WeakKeyDictionary()


def _after_this_tick(doc: Any) -> None:
    after_writes(doc, partial(_redraw_all, doc), on_gone=lambda: _redraws.pop(doc, None))


def after_writes(doc: Any, fn: Callable[[], None], *,
                 on_gone: Callable[[], Any] | None = None, _tries: int = 0) -> None:  # fmt: skip
    """Run ``fn`` on ``doc``'s loop once the messages queued so far have been written (the maps'
    new image), then on the next tick. Panel queues a message while an earlier write to the
    socket is still going and retries every 10 ms; work started before would hold the loop, and
    the queued message with it (the secondary views: ~1.5 s for a session's first pair).
    Call it on the loop thread."""
    try:
        if _tries < 100 and _writes_pending(doc):
            doc.add_timeout_callback(partial(after_writes, doc, fn, on_gone=on_gone,
                                             _tries=_tries + 1), 10)  # fmt: skip
        else:
            doc.add_next_tick_callback(fn)
    except Exception:  # the session is gone
        if on_gone is not None:
            on_gone()


def after_shown(doc: Any, fn: Callable[[], None]) -> None:
    """Run ``fn`` on ``doc``'s loop (its changes as one message) once the browser has built the
    page (``pn.state.onload``) and the messages queued by this tick have been written: for what a
    page may get a moment after what it shows, so that it does not hold that up (the maps' hover
    planes follow their image; the footprint map's tiles join it, since Bokeh reports a page
    loaded only once every tile has come). A patch sent before the browser has built the pulled
    document is lost, hence the page load. Call it on the loop thread; outside a served session ``fn`` runs at once."""
    if not served(doc):
        fn()
        return
    import panel as pn
    from panel.io.state import set_curdoc

    def run() -> None:
        try:
            with batched(doc):
                fn()
        except Exception:  # logged; the page keeps what it has
            log.exception("a late update of a session's page failed")

    def loaded() -> None:  # next tick: what this tick changed is queued when its hold ends
        try:
            doc.add_next_tick_callback(partial(after_writes, doc, run))
        except Exception:  # the session is gone
            pass

    with set_curdoc(doc):
        pn.state.onload(loaded)


def _writes_pending(doc: Any) -> bool:
    """True while Panel still holds messages for ``doc`` that it has not written, or a browser's
    websocket still has bytes of one to send (a map's image is ~1-5 MB: Tornado writes it in
    chunks between other work on the loop, and work started before the last chunk holds it)."""
    try:
        from panel.io import document as panel_document

        if doc in panel_document._WRITE_MSGS or doc in panel_document._WRITE_BLOCK:
            return True
    except (ImportError, AttributeError, TypeError):  # another Panel: do not wait for it
        pass
    return any(_stream_writing(c) for c in _connections(doc))


def _connections(doc: Any) -> list[Any]:
    """The websocket connections of ``doc``'s served session (Bokeh's ``ServerConnection``)."""
    session = getattr(getattr(doc, "session_context", None), "_session", None)
    return list(getattr(session, "_subscribed_connections", None) or ())


def _stream_writing(connection: Any) -> bool:
    try:
        return bool(connection._socket.ws_connection.stream.writing())
    except AttributeError:  # closed, or not a Tornado websocket: nothing to wait for
        return False


def _redraw_all(doc: Any) -> None:
    batch = _redraws.pop(doc, [])
    with batched(doc):
        for redraw in batch:
            if redraw.pending:
                redraw.pending = False
                redraw._run()


@contextlib.contextmanager
def batched(doc: Any) -> Iterator[None]:
    """Updates of ``doc`` (on its loop thread) combined and sent as one message.

    (Panel's ``freeze=True``, which would also recompute the document's reference graph once
    instead of after every replaced model, is not used: Panel marks it experimental, and one
    served test run of five with it showed a Bokeh "reference isn't known" page error; the cause
    was not established.)"""
    import panel as pn
    from panel.io.state import set_curdoc

    with set_curdoc(doc), pn.io.hold(doc):
        yield


#: Builds served sessions' documents, one at a time, off the server's loop thread.
_builder: Any = None


def build_sessions_off_the_loop() -> None:
    """Make Bokeh's server build each new session's document on a thread of its own
    (``pairscope-session``) instead of on the loop thread. Installed once per process, by
    ``serve``.

    A page's HTML comes from a held session at once (Panel's warm reuse); the visitor's own
    session is built right after (~0.3 s of Python for the explorer). Built on the loop thread,
    it held the page's JavaScript (~3 MB, 2-3 ms to serve on an idle loop) for 0.2-0.3 s, and the
    browser can run none of it before it has it. Built on a thread, the loop serves the files
    between the build's Python (the interpreter switches threads every 5 ms) while the browser
    runs the JavaScript. A browser that connects first waits for the build, as Bokeh's own
    concurrent creations do.

    What this changes of Bokeh's ``ApplicationContext.create_session_if_needed`` (3.x): only
    where ``Application.initialize_document`` runs; the session is created, registered and
    handed to waiters on the loop thread as before. Panel records the thread that built a
    document as the one allowed to change it (``state._thread_id_``); it is set to the loop
    thread once the build is done, where every later change is made."""
    global _builder
    from bokeh.document import Document
    from bokeh.server import contexts
    from bokeh.server.session import ServerSession

    if _builder is not None:
        return
    from concurrent.futures import ThreadPoolExecutor

    _builder = ThreadPoolExecutor(1, thread_name_prefix="pairscope-session")
    original = contexts.ApplicationContext.create_session_if_needed

    async def create_session_if_needed(
        self: Any, session_id: Any, request: Any = None, token: str | None = None
    ) -> Any:
        if not session_id or session_id in self._sessions or session_id in self._pending_sessions:
            return await original(self, session_id, request, token)
        import asyncio

        from bokeh.util.token import get_token_payload
        from panel.io.state import state as pn_state

        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending_sessions[session_id] = future
        doc = Document()
        context = contexts.BokehSessionContext(session_id, self.server_context, doc,
                                               logout_url=self._logout_url)  # fmt: skip
        if request is not None:
            payload = get_token_payload(token) if token else {}
            headers = payload.get("headers")
            if "cookies" in payload and headers is not None and "Cookie" not in headers:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in payload["cookies"].items())
            context._request = contexts._RequestProxy(
                request, arguments=payload.get("arguments"), cookies=payload.get("cookies"),
                headers=headers,
            )  # fmt: skip
        context._token = token
        doc._session_context = weakref.ref(context)
        try:
            try:
                await self._application.on_session_created(context)
            except Exception as exc:  # as Bokeh: logged, and the session is still made
                log.error("Failed to run session creation hooks %r", exc, exc_info=True)
            build = self._application.initialize_document
            await asyncio.get_running_loop().run_in_executor(_builder, build, doc)
            pn_state._thread_id_[doc] = threading.get_ident()  # changed from here on
            session = ServerSession(session_id, doc, io_loop=self._loop, token=token)
        except BaseException as exc:  # waiters get the build's error, as the creator does
            del self._pending_sessions[session_id]
            if isinstance(exc, Exception):
                future.set_exception(exc)
            else:
                future.cancel()
            raise
        del self._pending_sessions[session_id]
        self._sessions[session_id] = session
        context._set_session(session)
        self._session_contexts[session_id] = context
        future.set_result(session)
        return session

    contexts.ApplicationContext.create_session_if_needed = create_session_if_needed  # type: ignore[method-assign]


#: Served pages starting (their session built, the page not loaded yet): document -> when its
#: session was built (monotonic s). A page counts as starting for :data:`STARTING_S` at most (a
#: held session, or a visitor who left, never loads).
_starting: weakref.WeakKeyDictionary[Any, float] = weakref.WeakKeyDictionary()
_starting_lock = threading.Lock()
STARTING_S = 3.0


def page_starting(doc: Any) -> None:
    """Count ``doc``'s page as starting until it has loaded (:func:`others_starting`). Any
    thread (a session is built off the loop)."""
    import panel as pn

    if not served(doc):
        return
    with _starting_lock:
        _starting[doc] = time.monotonic()

    def loaded() -> None:
        with _starting_lock:
            _starting.pop(doc, None)

    pn.state.onload(loaded)


def others_starting(doc: Any) -> bool:
    """Whether a page other than ``doc``'s is starting: its visitor waits for the server's loop
    (the JavaScript it fetches, the document it pulls), so work that can wait should."""
    now = time.monotonic()
    with _starting_lock:
        return any(other is not doc and now - since < STARTING_S
                   for other, since in list(_starting.items()))  # fmt: skip
