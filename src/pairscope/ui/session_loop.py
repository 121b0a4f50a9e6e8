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
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

__all__ = ["Schedule", "session_scheduler"]

Schedule = Callable[[Callable[[], None]], None]
log = logging.getLogger("pairscope.ui")


def session_scheduler(
    doc: Any,
    *,
    wait_for_load: bool = True,
    post: Callable[[Callable[[], None]], None] | None = None,
) -> Schedule | None:
    """A ``schedule(fn)`` running ``fn`` on ``doc``'s loop, in call order; None when ``doc`` is not
    a served session (then callers run ``fn`` directly).

    Call it on the session's loop thread (when the session is created). ``wait_for_load``: hold
    functions scheduled before the browser has connected and run them, in order, once it has
    (``pn.state.onload``): a job may start with the session and overlap the page load. ``post``:
    how to wake the loop thread (default: the current Tornado ``IOLoop.add_callback``).
    """
    if doc is None or getattr(doc, "session_context", None) is None:
        return None
    from panel.io.state import set_curdoc

    if post is None:
        from tornado.ioloop import IOLoop

        post = IOLoop.current().add_callback
    lock = threading.Lock()
    queue: deque[Callable[[], None]] = deque()
    held: list[Callable[[], None]] | None = [] if wait_for_load else None

    def drain() -> None:
        while True:
            with lock:
                if not queue:
                    return
                fn = queue.popleft()
            try:
                with set_curdoc(doc):
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

    def release() -> None:
        nonlocal held
        with lock:
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

        pn.state.onload(release)
    return schedule
