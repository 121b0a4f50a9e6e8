"""No test reaches the internet: a socket of this process may connect to loopback only.

Test data are real public records and name their hosts (asset hrefs, STAC extension identifiers);
whatever a test or the code under test does with them, a connection from the test process to
any address but loopback fails at once with :class:`OfflineError`, naming the address. Servers
the tests start are on loopback; the browser tests block every other request in the browser
(``tests/plugins/browser.py``).
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import pytest

_LOCAL_NAMES = {"localhost", "localhost.localdomain", "ip6-localhost"}


class OfflineError(ConnectionRefusedError):
    """A test tried to connect outside loopback."""


def is_loopback(address: Any) -> bool:
    """Whether a socket address ((host, port, ...), a Unix path or bytes) stays on this machine."""
    if not isinstance(address, tuple):
        return True  # a Unix socket path (or an abstract name)
    host = str(address[0]).split("%", 1)[0]
    if host.lower() in _LOCAL_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a host name: resolving it here would already reach a DNS server


_connect = socket.socket.connect
_connect_ex = socket.socket.connect_ex


def _guarded(original: Any) -> Any:
    def connect(self: socket.socket, address: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6) and not is_loopback(address):
            raise OfflineError(f"tests run offline: a connection to {address!r} was refused")
        return original(self, address)

    return connect


def pytest_configure(config: pytest.Config) -> None:
    socket.socket.connect = _guarded(_connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guarded(_connect_ex)  # type: ignore[method-assign]


def pytest_unconfigure(config: pytest.Config) -> None:
    socket.socket.connect = _connect  # type: ignore[method-assign]
    socket.socket.connect_ex = _connect_ex  # type: ignore[method-assign]
