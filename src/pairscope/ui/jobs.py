"""Slots for the work a served explorer does: a cap per server process and per client.

Every job a session starts (open a catalog, list dates, compute pairs, look vectors) holds one slot
while it runs. At most ``per_server`` jobs run at once in the process and at most ``per_client`` for
one client (its remote address; the session id when the address is unknown), so one visitor
opening many tabs, or a script, cannot take the machine from the others. A job that waits says so
(the ``waiting`` callback), and a cancelled job stops waiting.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from collections.abc import Callable, Iterator

from pairscope.pipeline import Cancelled

__all__ = ["JobSlots", "shared_slots"]


class JobSlots:
    """Counting slots per process and per client (thread-safe)."""

    def __init__(self, per_server: int = 2, per_client: int = 1) -> None:
        if per_server < 1 or per_client < 1:
            raise ValueError(f"slots must be >= 1, got {per_server} per server, {per_client} per client")
        self.per_server = per_server
        self.per_client = per_client
        self._cond = threading.Condition()
        self._running = 0
        self._by_client: Counter[str] = Counter()

    @property
    def running(self) -> int:
        with self._cond:
            return self._running

    def _free(self, client: str) -> bool:
        return self._running < self.per_server and self._by_client[client] < self.per_client

    @contextlib.contextmanager
    def slot(
        self,
        client: str,
        cancel: threading.Event | None = None,
        waiting: Callable[[int, int], None] | None = None,
    ) -> Iterator[None]:
        """Hold a slot of ``client`` for the ``with`` block; ``waiting(running on the server,
        running for this client)`` is called once if the job has to wait; raises
        :class:`pairscope.pipeline.Cancelled` if ``cancel`` is set while it waits."""
        with self._cond:
            told = False
            while not self._free(client):
                if cancel is not None and cancel.is_set():
                    raise Cancelled("cancelled while waiting for a free slot")
                if not told and waiting is not None:
                    waiting(self._running, self._by_client[client])
                    told = True
                self._cond.wait(0.2)
            self._running += 1
            self._by_client[client] += 1
        try:
            yield
        finally:
            with self._cond:
                self._running -= 1
                self._by_client[client] -= 1
                if self._by_client[client] <= 0:
                    del self._by_client[client]
                self._cond.notify_all()


_shared: dict[tuple[int, int], JobSlots] = {}
_shared_lock = threading.Lock()


def shared_slots(per_server: int, per_client: int) -> JobSlots:
    """The process-wide slots of these limits (one per server process)."""
    with _shared_lock:
        slots = _shared.get((per_server, per_client))
        if slots is None:
            slots = _shared[(per_server, per_client)] = JobSlots(per_server, per_client)
        return slots
