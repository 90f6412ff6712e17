"""The UI guard (pipelines/ui_guard.py) in process: foreign Host and Origin headers are refused.

A page of another origin must not run GraphQL mutations (CSRF), and a page whose DNS name is rebound to
127.0.0.1 must not reach the UI (DNS rebinding); the UI's own pages and clients without an Origin work.
scripts/ui.sh with the guard in front of the real UI: tests/integration/test_ui.py.
"""

from __future__ import annotations

import asyncio

import pytest

from pipelines.ui_guard import HostOriginGuard, allowed_hosts, port_from_argv


def call_guard(headers: dict[str, str], kind: str = "http") -> tuple[int | None, bool]:
    """Send one request through the guard to an app that records being reached: (status, reached)."""
    reached, sent = [], []

    async def app(scope, receive, send):
        reached.append(scope)

    async def send(message):
        sent.append(message)

    scope = {"type": kind, "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]}
    asyncio.run(HostOriginGuard(app, allowed_hosts(3000, extra=""))(scope, None, send))
    status = next((m.get("status") for m in sent if m["type"] == "http.response.start"), None)
    if kind == "websocket" and sent:
        status = 403 if sent[0]["type"] == "websocket.close" else None
    return status, bool(reached)


@pytest.mark.parametrize("host", ["127.0.0.1:3000", "localhost:3000", "[::1]:3000", "LOCALHOST:3000"])
def test_own_host_and_origin_pass(host):
    assert call_guard({"Host": host}) == (None, True)
    assert call_guard({"Host": host, "Origin": f"http://{host.lower()}"}) == (None, True)
    assert call_guard({"Host": host, "Origin": f"http://{host.lower()}"}, "websocket") == (None, True)


@pytest.mark.parametrize("headers", [
    {"Host": "evil.example:3000"},                                   # DNS rebinding: the attacker's name
    {"Host": "127.0.0.1:3001"},                                      # another port
    {},                                                              # no Host at all
    {"Host": "127.0.0.1:3000", "Origin": "http://evil.example"},     # cross-origin request
    {"Host": "127.0.0.1:3000", "Origin": "null"},                    # sandboxed frame, file:// page
    {"Host": "127.0.0.1:3000", "Origin": "http://127.0.0.1:8080"},   # another local app
    {"Host": "127.0.0.1:3000", "Origin": "javascript://127.0.0.1:3000"},
])
def test_foreign_host_or_origin_is_refused(headers):
    status, reached = call_guard(headers)
    assert status in (403, 421) and not reached
    status, reached = call_guard(headers, "websocket")
    assert status == 403 and not reached


def test_extra_hosts_for_a_server(monkeypatch):
    monkeypatch.setenv("READINESS_UI_ALLOWED_HOSTS", "dagster.example.org, dagster.example.org:443")
    hosts = allowed_hosts(3000)
    assert {"dagster.example.org", "dagster.example.org:443", "127.0.0.1:3000"} <= hosts
    assert port_from_argv(["--port", "3100", "--host", "127.0.0.1"]) == 3100
    assert port_from_argv(["-p", "3200"]) == 3200 and port_from_argv([]) == 3000
