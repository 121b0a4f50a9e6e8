"""Job slots of a served explorer: a cap per server and per client, waiting said, cancel honoured."""

from __future__ import annotations

import pathlib
import threading
import time

import pytest

from pairscope.pipeline import Cancelled
from pairscope.ui.jobs import JobSlots


def _hold(slots: JobSlots, client: str, release: threading.Event, entered: threading.Event,
          log: list[str]) -> None:  # fmt: skip
    with slots.slot(client, waiting=lambda s, c: log.append(f"{client} waits ({s} running)")):
        entered.set()
        release.wait(10)


def test_per_client_and_per_server_caps() -> None:
    slots = JobSlots(per_server=2, per_client=1)
    log: list[str] = []
    release = threading.Event()
    entered = [threading.Event() for _ in range(4)]
    threads = [
        threading.Thread(target=_hold, args=(slots, client, release, entered[i], log))
        for i, client in enumerate(["a", "a", "b", "c"])
    ]
    threads[0].start()
    assert entered[0].wait(5)
    threads[1].start()  # the same client: waits although the server has room
    time.sleep(0.5)
    assert not entered[1].is_set() and "a waits (1 running)" in log
    threads[2].start()  # another client: runs (2 of 2 server slots)
    assert entered[2].wait(5)
    threads[3].start()  # a third client: the server is full
    time.sleep(0.5)
    assert not entered[3].is_set() and any(m.startswith("c waits (2 running)") for m in log)
    assert slots.running == 2
    release.set()
    for t in threads:
        t.join(10)
    assert all(e.is_set() for e in entered) and slots.running == 0


def test_a_cancelled_job_stops_waiting() -> None:
    slots = JobSlots(per_server=1, per_client=1)
    cancel = threading.Event()
    with slots.slot("a"):
        threading.Timer(0.3, cancel.set).start()
        with pytest.raises(Cancelled, match="waiting for a free slot"):
            with slots.slot("b", cancel=cancel):
                pass
    with slots.slot("b", cancel=threading.Event()):
        assert slots.running == 1


def test_limits_are_checked() -> None:
    with pytest.raises(ValueError, match="slots must be >= 1"):
        JobSlots(0, 1)


def test_a_session_waiting_for_a_slot_says_so(tmp_path: pathlib.Path) -> None:
    """Two sessions of one visitor: the second job waits for the first and its status says so."""
    from pairscope.ui.settings import Settings
    from pairscope.ui.state import ExplorerState
    from tests.test_60_ui_state import FakeBackend

    cat = tmp_path / "cat" / "catalog.json"
    cat.parent.mkdir()
    cat.write_text("{}")
    settings = Settings(catalog=str(cat), tiles=None, demo_dir=tmp_path / "demo", url_sync=False)
    slots = JobSlots(per_server=2, per_client=1)
    states = []
    for _ in range(2):
        s = ExplorerState(settings, FakeBackend(delay=0.4), default_catalog=str(cat),
                          client="203.0.113.7", slots=slots)  # fmt: skip
        s.connect()
        s.load()
        s.wait()
        s.param.update(rule="all")
        states.append(s)
    seen: list[str] = []
    states[1].param.watch(lambda e: seen.append(e.new), "status")
    states[0].compute()
    time.sleep(0.2)
    states[1].compute()
    for s in states:
        s.wait(60)
    assert any("waiting for a free slot" in m for m in seen), seen
    assert all(s.status_kind == "success" for s in states), [s.status for s in states]
