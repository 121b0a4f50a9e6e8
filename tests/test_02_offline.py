"""The tests run offline: a connection from the test process outside loopback fails at once, and
loopback still works (``tests/plugins/offline.py``)."""

from __future__ import annotations

import socket
import urllib.request

import pytest

from tests.plugins.offline import OfflineError, is_loopback


def test_outside_addresses_are_refused_and_loopback_is_not() -> None:
    # refused: every address but loopback, and every host name (resolving it would reach DNS)
    assert not any(map(is_loopback, [("192.0.2.1", 80), ("2001:db8::1", 443, 0, 0),
                                     ("host.invalid", 80), ("0.0.0.0", 80), ("::", 80, 0, 0)]))
    # connections are tried only to addresses that stay on this machine even if the guard failed
    # (the unspecified address reaches the local host): this test itself can never reach out
    unspecified = (("0.0.0.0", 9), ("::", 9, 0, 0))
    for address in unspecified:
        family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        with socket.socket(family, socket.SOCK_STREAM) as s, pytest.raises(OfflineError):
            s.connect(address)
    host, port = unspecified[0]
    with pytest.raises(OSError) as caught:  # urllib's own connection goes through the same check
        urllib.request.urlopen(f"http://{host}:{port}/", timeout=5)
    assert isinstance(getattr(caught.value, "reason", caught.value), OfflineError), caught.value
    assert all(map(is_loopback, [("127.0.0.1", 1), ("::1", 1, 0, 0), ("localhost", 1), "/tmp/s"]))
    with socket.socket() as server, socket.socket() as client:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        client.connect(server.getsockname())  # loopback: allowed
        assert client.getpeername() == server.getsockname()
