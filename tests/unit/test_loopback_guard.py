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
