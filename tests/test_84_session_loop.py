"""Updates handed from worker threads to a session's loop run in order, all of them, whatever
order the loop's ticks come in (pairscope.ui.session_loop).

The served failure this prevents: a job's "Pair 4 of 5 computed" ran after its final message and
stayed on screen (test_64, about one served run in four). Here the loop's ticks are reordered on
purpose (a fault injected into a stand-in document); the real server is exercised by every browser
test.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import pytest
from bokeh.document import Document
from bokeh.document.events import SessionCallbackAdded

from pairscope.ui.session_loop import session_scheduler


class _ReorderingDoc(Document):
    """A served session's document (a Bokeh document with a session context) whose next-tick
    callbacks are collected, to be run in any order the test chooses (the fault)."""

    def __init__(self) -> None:
        super().__init__()
        self._session_context = lambda: object()  # type: ignore[assignment,return-value]
        self.ticks: list[Callable[[], None]] = []
        self.timers: dict[object, Callable[[], None]] = {}

    def add_next_tick_callback(self, fn: Callable[[], None]) -> Any:  # type: ignore[override]
        self.ticks.append(fn)

    def add_timeout_callback(self, fn: Callable[[], None], ms: int) -> Any:  # type: ignore[override]
        token = object()
        self.timers[token] = fn
        return token

    def remove_timeout_callback(self, token: Any) -> None:  # type: ignore[override]
        self.timers.pop(token)


def _loop() -> tuple[list[Callable[[], None]], Callable[[Callable[[], None]], None]]:
    posted: list[Callable[[], None]] = []
    lock = threading.Lock()

    def post(fn: Callable[[], None]) -> None:  # thread-safe, like IOLoop.add_callback
        with lock:
            posted.append(fn)

    return posted, post


def _served() -> tuple[_ReorderingDoc, list[Callable[[], None]], Callable[[Callable[[], None]], None]]:
    """A served-like document, the loop's wake-ups posted to it, and its scheduler."""
    doc = _ReorderingDoc()
    posted, post = _loop()
    schedule = session_scheduler(doc, wait_for_load=False, post=post)
    assert schedule is not None
    return doc, posted, schedule


def test_not_served_is_none() -> None:
    assert session_scheduler(None) is None
    assert session_scheduler(Document()) is None  # no session: callers run functions directly


def test_order_holds_when_ticks_run_out_of_order() -> None:
    doc, posted, schedule = _served()
    ran: list[int] = []
    worker = threading.Thread(target=lambda: [schedule(lambda i=i: ran.append(i)) for i in range(200)])
    worker.start()
    worker.join()
    assert ran == []  # nothing runs on the worker thread
    for wake in posted:  # the loop thread registers one tick per update...
        wake()
    assert len(doc.ticks) == 200
    for tick in reversed(doc.ticks):  # ...and the ticks run last first
        tick()
    assert ran == list(range(200))


def test_updates_interleaved_with_ticks() -> None:
    """Ticks that run while the worker is still scheduling: each runs what is queued, in order."""
    doc, posted, schedule = _served()
    ran: list[int] = []
    for i in range(10):
        schedule(lambda i=i: ran.append(i))
        if i % 3 == 2:
            while posted:
                posted.pop(0)()
            doc.ticks.pop()()  # the newest tick first
    while posted:
        posted.pop(0)()
    for tick in reversed(doc.ticks):
        tick()
    assert ran == list(range(10))


def test_a_failing_update_is_logged_and_the_next_still_run(caplog: pytest.LogCaptureFixture) -> None:
    doc, posted, schedule = _served()
    ran: list[str] = []

    def broken() -> None:
        raise RuntimeError("a view could not draw")

    schedule(lambda: ran.append("before"))
    schedule(broken)
    schedule(lambda: ran.append("after"))
    for wake in posted:
        wake()
    with caplog.at_level(logging.ERROR, logger="pairscope.ui"):
        doc.ticks[0]()
    assert ran == ["before", "after"]
    assert "a view could not draw" in caplog.text


def test_a_gone_session_drops_updates_quietly() -> None:
    class Gone(_ReorderingDoc):
        def add_next_tick_callback(self, fn: Callable[[], None]) -> None:
            raise RuntimeError("session destroyed")

    posted, post = _loop()
    schedule = session_scheduler(Gone(), wait_for_load=False, post=post)
    assert schedule is not None
    schedule(lambda: None)
    for wake in posted:
        wake()  # no exception


def test_why_a_worker_must_not_register_ticks_itself() -> None:
    """Bokeh queues a next-tick registration among a held document's events: registered only when
    the hold is released, i.e. possibly after callbacks registered later by other code paths."""
    doc = Document()
    doc.hold("combine")
    callback: Any = doc.add_next_tick_callback(lambda: None)
    held = [e for e in doc.callbacks._held_events if isinstance(e, SessionCallbackAdded)]
    assert held and held[0].callback is callback
    doc.unhold()
    assert not doc.callbacks._held_events


def _run_ticks(doc: Any) -> None:
    while doc.ticks:
        doc.ticks.pop(0)()


def test_coalesced_redraws_once_per_tick_in_one_batch() -> None:
    from panel.io.state import set_curdoc

    from pairscope.ui.session_loop import Coalesced

    doc = _ReorderingDoc()
    ran: list[str] = []
    network = Coalesced(lambda: ran.append("network"))
    matrix = Coalesced(lambda: ran.append("matrix"))
    with set_curdoc(doc):
        for _ in range(5):  # five parameter changes in one update
            network()
            matrix()
        assert ran == []
    assert len(doc.ticks) == 1  # one tick for every redraw due
    doc.ticks.pop()()  # ... that first lets the message of this tick go out
    assert ran == [] and len(doc.ticks) == 1
    doc.ticks.pop()()
    assert ran == ["network", "matrix"]
    with set_curdoc(doc):
        network()  # a later change: a new tick
    assert len(doc.ticks) == 1
    _run_ticks(doc)
    assert ran == ["network", "matrix", "network"]


def test_coalesced_outside_a_session_runs_at_once() -> None:
    from pairscope.ui.session_loop import Coalesced

    ran: list[int] = []
    redraw = Coalesced(lambda: ran.append(1))
    redraw()
    redraw()
    assert ran == [1, 1]


def test_coalesced_settles_view_statistics_but_not_other_changes() -> None:
    """Each step of a zoom changes the view's statistics: the redraw waits until they are still
    (one timer, restarted); any other change redraws on the next tick and makes the timer moot."""
    from types import SimpleNamespace

    from panel.io.state import set_curdoc

    from pairscope.ui.session_loop import Coalesced

    doc = _ReorderingDoc()
    ran: list[int] = []
    redraw = Coalesced(lambda: ran.append(1), settle=("view_means",))
    step = SimpleNamespace(name="view_means")
    with set_curdoc(doc):
        for _ in range(4):  # four zoom steps
            redraw(step)
    assert not doc.ticks and len(doc.timers) == 1  # restarted, not stacked
    next(iter(doc.timers.values()))()
    assert ran == [1]
    doc.timers.clear()
    with set_curdoc(doc):
        redraw(step)
        redraw(SimpleNamespace(name="network"))  # a new network: redraw now
    assert not doc.timers and len(doc.ticks) == 1
    _run_ticks(doc)
    assert ran == [1, 1]
    with set_curdoc(doc):
        redraw(SimpleNamespace(name="network"))
        redraw(step)  # the next tick's redraw covers it: no timer
    assert not doc.timers
    _run_ticks(doc)
    assert ran == [1, 1, 1]


def test_after_writes_waits_while_panel_still_holds_messages() -> None:
    """Panel queues a message (the maps' new image) while an earlier write is still going: work
    that would hold the loop (the secondary views' redraw) starts only once it is written."""
    from panel.io import document as panel_document

    from pairscope.ui.session_loop import after_writes

    doc = _ReorderingDoc()
    ran: list[int] = []
    panel_document._WRITE_BLOCK[doc] = True  # a write in progress
    try:
        after_writes(doc, lambda: ran.append(1))
        for _ in range(3):  # polled every 10 ms while Panel still writes
            assert not doc.ticks and len(doc.timers) == 1
            doc.timers.popitem()[1]()
        del panel_document._WRITE_BLOCK[doc]  # written
        doc.timers.popitem()[1]()
        assert not doc.timers and len(doc.ticks) == 1 and ran == []
        doc.ticks.pop()()
        assert ran == [1]
    finally:
        panel_document._WRITE_BLOCK.pop(doc, None)


def _with_connection(doc: _ReorderingDoc, writing: list[bool]) -> None:
    """Give ``doc`` a session with one websocket connection, laid out as Bokeh and Tornado lay
    them out (session context -> server session -> connections -> handler -> protocol -> stream),
    whose stream reports ``writing[0]``."""
    from types import SimpleNamespace

    stream = SimpleNamespace(writing=lambda: writing[0])
    connection = SimpleNamespace(_socket=SimpleNamespace(ws_connection=SimpleNamespace(stream=stream)))
    context = SimpleNamespace(_session=SimpleNamespace(_subscribed_connections={0: connection}.values()))
    doc._session_context = lambda: context  # type: ignore[assignment,return-value]


def test_after_writes_waits_while_the_socket_still_sends() -> None:
    """Panel has handed the maps' message to the socket, but Tornado still has bytes of it to
    send (a 768 kB image plane is written in chunks between other work on the loop): the
    secondary views wait for the last chunk."""
    from pairscope.ui.session_loop import after_writes

    doc = _ReorderingDoc()
    writing = [True]
    _with_connection(doc, writing)
    ran: list[int] = []
    after_writes(doc, lambda: ran.append(1))
    for _ in range(2):
        assert not doc.ticks and len(doc.timers) == 1
        doc.timers.popitem()[1]()
    writing[0] = False
    doc.timers.popitem()[1]()
    assert not doc.timers and len(doc.ticks) == 1
    doc.ticks.pop()()
    assert ran == [1]


def test_the_socket_path_matches_bokeh_and_tornado() -> None:
    """The attributes `after_writes` reads exist in the installed Bokeh and Tornado (a rename
    there would silently stop the wait)."""
    import inspect

    from bokeh.server import connection, contexts, session
    from tornado import websocket

    assert "self._session = " in inspect.getsource(contexts.BokehSessionContext)
    assert "self._subscribed_connections" in inspect.getsource(session.ServerSession)
    assert "self._socket = socket" in inspect.getsource(connection.ServerConnection)
    assert "self.stream" in inspect.getsource(websocket.WebSocketProtocol)


def test_the_session_creation_we_mirror_matches_bokeh_and_panel() -> None:
    """`build_sessions_off_the_loop` repeats Bokeh's `create_session_if_needed` with the build on a
    thread; a Bokeh or Panel that changes what it repeats must fail here, not in a browser."""
    import inspect

    from bokeh.server import contexts
    from panel.io.state import state as pn_state

    source = inspect.getsource(contexts.ApplicationContext.create_session_if_needed)
    for part in ("self._pending_sessions[session_id] = gen.Future()", "doc = Document()",
                 "BokehSessionContext(session_id", "_RequestProxy(request",
                 "await self._application.on_session_created(session_context)",
                 "self._application.initialize_document(doc)",
                 "ServerSession(session_id, doc, io_loop=self._loop, token=token)",
                 "session_context._set_session(session)",
                 "self._session_contexts[session_id] = session_context"):  # fmt: skip
        assert part in source, part
    assert hasattr(pn_state, "_thread_id_")  # the thread Panel lets change a document


def test_when_connected_runs_once_at_the_pull_or_at_onload() -> None:
    """A served session's first job starts when the browser pulls the document over its
    websocket (Bokeh's PULL-DOC), once; Panel's onload, later, does not start it again. Without
    a pull (another server than ours), onload starts it. Outside a session it runs at once."""
    import asyncio
    import concurrent.futures
    from types import SimpleNamespace

    import panel as pn
    from bokeh.core.types import ID
    from bokeh.server.session import ServerSession
    from panel.io.state import set_curdoc

    from pairscope.ui.session_loop import when_connected

    ran: list[str] = []
    when_connected(None, lambda: ran.append("local"))
    assert ran == ["local"]

    pulled, later = _ReorderingDoc(), _ReorderingDoc()
    with set_curdoc(pulled):
        when_connected(pulled, lambda: ran.append("pulled"))
    with set_curdoc(later):
        when_connected(later, lambda: ran.append("onload"))
    # the browser pulls the first document: Bokeh's handler answers, the job is due next tick
    reply = object()
    conn = SimpleNamespace(protocol=SimpleNamespace(create=lambda *a: reply))
    message = SimpleNamespace(header={"msgid": "1"})
    async def pull() -> Any:  # a real session on a running loop, as in the server
        session = ServerSession(ID("s"), pulled)
        started = session._handle_pull(message, conn)
        assert not pulled.ticks  # nothing before the reply is made
        return await started

    def run(coroutine: Any) -> Any:  # a loop of its own (other tests may leave one running here)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coroutine).result()

    assert run(pull()) is reply
    assert ran == ["local"] and len(pulled.ticks) == 1
    pulled.ticks.pop()()
    assert ran == ["local", "pulled"]
    # then Panel reports both pages loaded
    for doc in (pulled, later):
        with set_curdoc(doc):
            for callback, _threaded in pn.state._onload.pop(doc, []):
                callback()
    assert ran == ["local", "pulled", "onload"]
    # a second pull of the same document starts nothing
    run(pull())
    assert not pulled.ticks


def test_the_server_primes_its_held_page_on_loopback_or_its_own_address() -> None:
    """`pairscope serve` requests its own page once at start (the held session of warm reuse):
    on loopback when it listens on every address, else on that address (IPv6 in brackets)."""
    from pairscope.ui.app import _local_url

    assert _local_url("0.0.0.0", 5006) == "http://127.0.0.1:5006/explorer"
    assert _local_url("::", 80) == "http://127.0.0.1:80/explorer"
    assert _local_url("::1", 5006) == "http://[::1]:5006/explorer"
    assert _local_url("localhost", 8080) == "http://localhost:8080/explorer"


_OFF_LOOP_SERVER = r'''
import json, socket, sys, threading, urllib.error, urllib.request

import panel as pn
from bokeh.client import pull_session

from pairscope.ui.session_loop import build_sessions_off_the_loop

build_sessions_off_the_loop()
gate, entered = threading.Event(), threading.Event()
seen = {"threads": [], "fail": False}

def app():
    seen["threads"].append(threading.current_thread().name)
    if seen["fail"]:
        seen["fail"] = False
        raise RuntimeError("this build fails")
    entered.set()
    if not gate.wait(60):
        raise RuntimeError("never released")
    return pn.pane.Markdown("built off the loop")

with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
server = pn.serve({"app": app}, port=port, address="127.0.0.1", show=False, threaded=True,
                  websocket_origin=[f"127.0.0.1:{port}"])
base = f"http://127.0.0.1:{port}"
out = {}
def get(path, timeout=30.0):
    try:
        with urllib.request.urlopen(base + path, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, b""
# wait for the server, with a build that fails: the request gets an error, the server stays up
for _ in range(600):
    try:
        seen["fail"] = True
        out["failed_build"] = get("/app")[0]
        break
    except OSError:
        threading.Event().wait(0.05)
page = {}
visitor = threading.Thread(target=lambda: page.update(zip(("status", "body"), get("/app"))))
visitor.start()
assert entered.wait(30), "the build never started"
# the build is held: a static file is served meanwhile (it never was with builds on the loop)
try:
    status, body = get("/static/js/bokeh.min.js", timeout=20.0)
    out["static_while_building"] = [status, len(body)]
except OSError as exc:
    out["static_while_building"] = repr(exc)
gate.set()
visitor.join(60)
out["page"] = [page.get("status"), b"bokeh" in page.get("body", b"")]
# a client that connects creates its session the same way, and gets the built document
with pull_session(url=f"{base}/app") as session:
    texts = [getattr(m, "text", "") for m in session.document.roots[0].references()]
    out["pulled"] = any("built off the loop" in str(t) for t in texts)
out["threads"] = seen["threads"]
server.stop()
print("RESULT " + json.dumps(out))
'''


def test_sessions_are_built_off_the_loop_while_it_serves_the_javascript(tmp_path: Any) -> None:
    """`pairscope serve` builds each session's document on a thread of its own
    (`build_sessions_off_the_loop`): while a build is held, the server still sends a page's
    JavaScript (before, the request waited for the build); the built session is served to the
    browser that made it and to a websocket client; a build that fails answers its request
    (Panel shows the error) and the server goes on. In a process of its own: the change is process-wide."""
    import json
    import subprocess
    import sys

    script = tmp_path / "serve_off_loop.py"
    script.write_text(_OFF_LOOP_SERVER)
    done = subprocess.run([sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300)  # fmt: skip
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert lines, done.stdout[-2000:] + done.stderr[-4000:]
    out = json.loads(lines[-1][len("RESULT "):])
    assert out["failed_build"] in (200, 500)  # Panel shows an app's error on its page
    assert out["static_while_building"][0] == 200 and out["static_while_building"][1] > 100_000
    assert out["page"] == [200, True]
    assert out["pulled"] is True
    assert out["threads"] and all(name.startswith("pairscope-session") for name in out["threads"])


class _LoopDoc(_ReorderingDoc):
    """A served-like document whose next-tick callbacks run on an asyncio loop, in order."""

    def __init__(self, loop: Any) -> None:
        super().__init__()
        self.loop = loop

    def add_next_tick_callback(self, fn: Callable[[], None]) -> Any:  # type: ignore[override]
        self.loop.call_soon_threadsafe(fn)


def test_a_held_pull_replies_with_what_the_first_job_did() -> None:
    """`hold_pull`: the browser's pull starts the session's first job and its reply waits for the
    gate; the job's updates made before the reply run at once (the document the browser gets
    holds them), those after it wait for the page's load (a patch sent while the browser builds
    the pulled document is lost there). Without the gate opened, the reply goes after the
    timeout. Not served: no gate."""
    import asyncio
    import concurrent.futures
    from types import SimpleNamespace

    import panel as pn
    from bokeh.core.types import ID
    from bokeh.server.session import ServerSession
    from panel.io.state import set_curdoc

    from pairscope.ui.session_loop import hold_pull, replied, when_connected

    assert hold_pull(None, 1.0) is None
    reply = object()
    conn = SimpleNamespace(protocol=SimpleNamespace(create=lambda *a: reply))
    message = SimpleNamespace(header={"msgid": "1"})

    async def scenario(open_gate: bool) -> list[str]:
        loop = asyncio.get_running_loop()
        events: list[str] = []
        doc = _LoopDoc(loop)
        with set_curdoc(doc):
            schedule = session_scheduler(doc, post=loop.call_soon_threadsafe)
            assert schedule is not None
            gate = hold_pull(doc, 600.0 if open_gate else 0.2)
            assert gate is not None
            when_connected(doc, lambda: events.append("job started"))
        session = ServerSession(ID("s"), doc)
        pull = asyncio.ensure_future(session._handle_pull(message, conn))
        for _ in range(20):
            await asyncio.sleep(0)
        assert events == ["job started"] and not replied(doc)
        # the job's first result, from its worker thread, before the reply: applied at once
        with concurrent.futures.ThreadPoolExecutor(1) as worker:
            worker.submit(schedule, lambda: events.append("result")).result()
        for _ in range(20):
            await asyncio.sleep(0)
        assert events == ["job started", "result"]
        if open_gate:
            assert not pull.done()  # the reply waits for the gate...
            gate.open()  # ...which the first result opens (`app._complete_after_first_maps`)
        assert await asyncio.wait_for(pull, 60) is reply
        assert replied(doc)
        schedule(lambda: events.append("after the reply"))
        for _ in range(20):
            await asyncio.sleep(0)
        assert events == ["job started", "result"]  # held: the browser builds the page
        with set_curdoc(doc):  # Panel reports the page loaded
            for callback, _threaded in pn.state._onload.pop(doc, []):
                callback()
        for _ in range(20):
            await asyncio.sleep(0)
        return events

    def run(coroutine: Any) -> Any:  # a loop of its own (other tests may leave one running here)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            return pool.submit(asyncio.run, coroutine).result()

    for open_gate in (True, False):
        assert run(scenario(open_gate)) == ["job started", "result", "after the reply"]


def test_a_start_request_starts_the_first_job_before_the_pull() -> None:
    """`start_early` (the page's start request): what `when_connected` holds runs now, once; the
    browser's later pull neither runs it again nor skips the gate: its reply still waits for the
    job's first result. Nothing held: False, nothing runs."""
    import asyncio
    import concurrent.futures
    from types import SimpleNamespace

    from bokeh.core.types import ID
    from bokeh.server.session import ServerSession
    from panel.io.state import set_curdoc

    from pairscope.ui.session_loop import hold_pull, replied, start_early, when_connected

    reply = object()
    conn = SimpleNamespace(protocol=SimpleNamespace(create=lambda *a: reply))
    message = SimpleNamespace(header={"msgid": "1"})

    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        events: list[str] = []
        bare = _LoopDoc(loop)
        assert not start_early(bare)  # nothing held for it
        doc = _LoopDoc(loop)
        with set_curdoc(doc):
            gate = hold_pull(doc, 600.0)
            assert gate is not None
            when_connected(doc, lambda: events.append("job started"))
        assert start_early(doc)
        assert not start_early(doc)  # once
        for _ in range(20):
            await asyncio.sleep(0)
        assert events == ["job started"] and not replied(doc)
        session = ServerSession(ID("s"), doc)
        pull = asyncio.ensure_future(session._handle_pull(message, conn))
        for _ in range(20):
            await asyncio.sleep(0)
        assert events == ["job started"]  # not run again by the pull
        assert not pull.done() and not replied(doc)  # the reply waits for the first result
        gate.open()
        assert await asyncio.wait_for(pull, 60) is reply
        assert replied(doc)
        return events

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own
        assert pool.submit(asyncio.run, scenario()).result() == ["job started"]


def test_start_requests_wait_for_their_session_and_are_capped(monkeypatch: pytest.MonkeyPatch) -> None:
    """`_schedule_start`: a start request waits for its session being made (Panel's warm reuse
    makes it after the HTML went out) and then starts its first job; one of no session gives up
    after START_WAIT_S without making one; at most MAX_START_WAITS wait at once (made-up tokens
    must not pile up), the others are dropped (their pages start at the pull)."""
    import asyncio
    import concurrent.futures
    from types import SimpleNamespace

    from panel.io.state import set_curdoc

    from pairscope.ui import session_loop
    from pairscope.ui.session_loop import hold_pull, when_connected

    monkeypatch.setattr(session_loop, "START_WAIT_S", 0.3)
    monkeypatch.setattr(session_loop, "MAX_START_WAITS", 3)

    async def scenario() -> list[str]:
        loop = asyncio.get_running_loop()
        events: list[str] = []
        doc = _LoopDoc(loop)
        with set_curdoc(doc):
            hold_pull(doc, 600.0)
            when_connected(doc, lambda: events.append("job started"))
        context = SimpleNamespace(_sessions={}, _pending_sessions={})
        pending = loop.create_future()
        context._pending_sessions["made"] = pending
        assert session_loop._schedule_start(context, "made")
        assert session_loop._schedule_start(context, "nobody")
        await asyncio.sleep(0.05)
        assert events == []  # its session is still being made
        pending.set_result(SimpleNamespace(document=doc))
        await asyncio.sleep(0.05)
        assert events == ["job started"]
        # the cap: "nobody" still waits; two more may, the next one is dropped
        assert session_loop._schedule_start(context, "nobody-2")
        assert session_loop._schedule_start(context, "nobody-3")
        assert not session_loop._schedule_start(context, "nobody-4")
        await asyncio.sleep(0.6)
        assert not session_loop._START_TASKS  # all gave up; none made a session
        assert context._sessions == {} and list(context._pending_sessions) == ["made"]
        assert session_loop._schedule_start(context, "nobody-5")  # room again
        await asyncio.sleep(0.4)
        return events

    with concurrent.futures.ThreadPoolExecutor(1) as pool:  # a loop of its own
        assert pool.submit(asyncio.run, scenario()).result() == ["job started"]


def test_the_start_script_carries_only_a_plain_token() -> None:
    """`start_script` goes first in the page's head and holds the session token only when it is
    plain base64url: nothing from a visitor can reach the script."""
    from pairscope.ui.session_loop import START_PATH, _with_start_script, start_script

    token = "eyJzZXNzaW9uX2lkIjogImEzZkV1OXkySUNjWlJC.abc_-"
    script = start_script(token)
    assert script.startswith("<script>") and script.endswith("</script>")
    assert f"body:'{token}'" in script and f"/{START_PATH}'" in script
    for bad in ("", "short", token + "'", token + "</script>", token + "\\", token + " x"):
        assert start_script(bad) == ""
    page = '<!DOCTYPE html>\n<html>\n<head>\n<meta charset="utf-8">\n<title>t</title></head></html>'
    out = _with_start_script(page, token)
    assert out.index(script) > out.index('<meta charset="utf-8">')
    assert out.index(script) < out.index("<title>")
    assert _with_start_script(page, token + "'") == page


def test_a_starting_page_goes_before_other_pages_later_views(monkeypatch: pytest.MonkeyPatch) -> None:
    """`page_starting`: a served page counts as starting from its session's build until Panel
    reports it loaded, at most STARTING_S (a held session, or a visitor who left, never loads);
    `others_starting` tells another page's later views to wait meanwhile (visits back to back:
    each of their steps holds the server's loop, which the new page's JavaScript waits for).
    Not served: never counted."""
    import time

    import panel as pn
    from panel.io.state import set_curdoc

    from pairscope.ui import session_loop
    from pairscope.ui.session_loop import others_starting, page_starting

    first, second, held = _ReorderingDoc(), _ReorderingDoc(), _ReorderingDoc()
    page_starting(Document())  # not served: nothing counted
    assert not others_starting(first)
    for doc in (first, second):
        with set_curdoc(doc):
            page_starting(doc)
    assert others_starting(first) and others_starting(second)  # each sees the other
    with set_curdoc(second):  # Panel reports the second page loaded
        for callback, _threaded in pn.state._onload.pop(second, []):
            callback()
    assert not others_starting(first)  # the first page's later views may go on
    assert others_starting(second)  # the first page has not loaded yet
    with set_curdoc(first):
        for callback, _threaded in pn.state._onload.pop(first, []):
            callback()
    assert not others_starting(second)
    # a page that never loads stops counting after STARTING_S
    with set_curdoc(held):
        page_starting(held)
    assert others_starting(first)
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + session_loop.STARTING_S + 0.1)
    assert not others_starting(first)



def test_a_page_whose_visitor_left_builds_no_later_views(
    caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A served page's later views (sidebar, then network / matrix / pixel plots: each step
    ~0.1-0.8 s of the server's loop) wait while its visitor has left (the browser pulled the
    document, then its websocket closed: a closed tab, a reload), so they do not hold up the
    next page; they are built when the browser comes back, and nothing is said twice.
    Measured on back-to-back visits of a computed pair, each page closed once its map was
    drawn: 1.59 -> 1.37 s from URL to map (median of 12 each)."""
    from types import SimpleNamespace

    import panel as pn
    from panel.io.state import set_curdoc

    from pairscope.ui import app as app_module
    from pairscope.ui import session_loop
    from pairscope.ui.session_loop import left

    class _TimedDoc(_ReorderingDoc):
        def add_timeout_callback(self, fn: Callable[[], None], ms: int) -> Any:  # type: ignore[override]
            self.timers[(ms, object())] = fn

    monkeypatch.setattr(session_loop, "_starting", type(session_loop._starting)())  # no other page
    doc = _TimedDoc()
    assert not left(Document()) and not left(doc)  # not served; served but never connected
    _with_connection(doc, [False])
    session_loop._replied.add(doc)  # the browser pulled the document
    assert not left(doc)
    context = doc.session_context
    connections = context._session._subscribed_connections
    built: list[str] = []
    steps = ["sidebar", "secondary views"]

    def add_next_view() -> bool:
        built.append(steps[len(built)])
        page.completed = len(built) == len(steps)
        return not page.completed

    state = SimpleNamespace(query=lambda: {"catalog": "https://127.0.0.1:9/stac?token=secret",
                                           "burst": "T1", "pairs": "a_b", "pol": "VV"})
    page = SimpleNamespace(state=state, completed=False, add_next_view=add_next_view)
    with set_curdoc(doc):
        app_module._complete_after_first_maps(page, doc, auto=False)  # type: ignore[arg-type]
        for callback, _threaded in pn.state._onload.pop(doc, []):  # Panel: the page loaded
            callback()
    deadline = [k for k in doc.timers if k[0] == int(app_module.COMPLETE_AFTER_S * 1000)]
    doc.timers.pop(deadline[0])  # at most COMPLETE_AFTER_S later (not reached here)
    doc.ticks.pop()()  # the first step, the browser connected
    assert built == ["sidebar"] and len(doc.ticks) == 1  # nothing left to write: the next tick
    # the visitor leaves before that tick
    context._session._subscribed_connections = {}.values()
    assert left(doc)
    with caplog.at_level(logging.INFO, logger="pairscope.ui"):
        doc.ticks.pop()()
        for _ in range(3):  # looked at again every LEFT_RECHECK_MS, nothing built
            (key,) = doc.timers
            assert key[0] == app_module.LEFT_RECHECK_MS and not doc.ticks
            doc.timers.pop(key)()
            assert built == ["sidebar"]
    said = [r.getMessage() for r in caplog.records if "visitor left" in r.getMessage()]
    assert said == ["a page's later views wait: its visitor left (burst=T1&pairs=a_b)"], said
    # the browser comes back: the rest is built at the next look
    context._session._subscribed_connections = connections
    doc.timers.popitem()[1]()
    assert built == ["sidebar", "secondary views"] and not doc.timers
