"""The suite's network guard (tests/conftest.py loopback_only): a test reaching off loopback fails loudly."""

from __future__ import annotations

import socket

import pytest

OFF_LOOPBACK = ("192.0.2.1", 9)  # TEST-NET-1: never routed; the guard must refuse before the OS is asked


@pytest.mark.parametrize("kind, call", [
    (socket.SOCK_STREAM, lambda sock: sock.connect(OFF_LOOPBACK)),
    (socket.SOCK_STREAM, lambda sock: sock.connect_ex(OFF_LOOPBACK)),
    (socket.SOCK_DGRAM, lambda sock: sock.sendto(b"x", OFF_LOOPBACK)),
    (socket.SOCK_DGRAM, lambda sock: sock.sendto(b"x", 0, OFF_LOOPBACK)),
])
def test_reaching_a_non_loopback_address_fails(kind, call):
    with socket.socket(socket.AF_INET, kind) as sock, pytest.raises(AssertionError, match="non-loopback"):
        call(sock)


def test_loopback_stays_reachable():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        assert sock.sendto(b"x", ("127.0.0.1", 9)) == 1


def test_a_host_name_counts_by_what_it_resolves_to():
    from tests.netguard.sitecustomize import refuse_off_loopback

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        refuse_off_loopback(sock, ("localhost", 80))  # resolves to 127.0.0.1: allowed
        with pytest.raises(AssertionError, match="non-loopback address \\('192.0.2.1', 9\\)"):
            refuse_off_loopback(sock, OFF_LOOPBACK)


CHILD = """
import socket, sys
listener = socket.create_server(("127.0.0.1", 0))
socket.create_connection(("localhost", listener.getsockname()[1])).close()  # loopback by name: allowed
print("loopback ok", flush=True)
socket.socket().connect(("192.0.2.1", 9))
"""


def test_a_python_process_the_test_starts_is_guarded_too():
    """The CLI, `dg dev` and its runs are Python children: they inherit PYTHONPATH with tests/netguard (set by
    tests/conftest.py pytest_configure) and guard their sockets from start-up, as the test process does."""
    import os
    import subprocess
    import sys

    child = subprocess.run([sys.executable, "-c", CHILD], env=dict(os.environ), capture_output=True, text=True,
                           timeout=60)
    assert child.stdout == "loopback ok\n"
    assert child.returncode == 1 and "AssertionError: test tried to reach non-loopback address ('192.0.2.1', 9)" \
        in child.stderr
