"""The test suite's network guard: no socket of a test, or of a Python process a test starts, reaches a
non-loopback address.

Python imports ``sitecustomize`` at start-up from the first folder on its path that holds one; tests/conftest.py
puts this folder at the front of ``PYTHONPATH`` for the session and sets ``LOOPBACK_ONLY_ENV``, so every Python
child that inherits the environment (the ``readiness`` CLI, ``dg dev`` and its run workers, the page processes)
installs the guard before it runs anything. The test process itself gets it per test (the ``loopback_only``
fixture, with ``monkeypatch``), from ``guarded`` below. Processes that are not Python (Chromium, PostgreSQL) are
not guarded; the tests give them loopback addresses only.
"""

from __future__ import annotations

import ipaddress
import os
import socket

LOOPBACK_ONLY_ENV = "READINESS_TESTS_LOOPBACK_ONLY"
METHODS = ("connect", "connect_ex", "sendto")
_real_getaddrinfo = socket.getaddrinfo  # the resolver as Python started, before any patch


def refuse_off_loopback(sock: socket.socket, address) -> None:
    """AssertionError when ``sock`` (IPv4/IPv6) would reach ``address`` off loopback. A host name is resolved
    first and must give loopback addresses only (``localhost``); Unix sockets are local by nature."""
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    host = address[0] if isinstance(address, tuple) else address
    try:
        addresses = [ipaddress.ip_address(host)]
    except ValueError:  # a name: what it resolves to decides
        addresses = [ipaddress.ip_address(info[4][0].split("%")[0])
                     for info in _real_getaddrinfo(host, None, sock.family)]
    if not addresses or not all(a.is_loopback for a in addresses):
        raise AssertionError(f"test tried to reach non-loopback address {address!r} (pid {os.getpid()})")


def guarded(real):
    """``real`` (a socket method whose last argument is the address) behind ``refuse_off_loopback``."""
    def call(sock, *args):
        refuse_off_loopback(sock, args[-1])
        return real(sock, *args)
    return call


def install() -> None:
    """Guard ``socket.socket`` for the rest of this process (a child of the test session)."""
    for method in METHODS:
        setattr(socket.socket, method, guarded(getattr(socket.socket, method)))


if os.environ.get(LOOPBACK_ONLY_ENV) == "1":
    install()
