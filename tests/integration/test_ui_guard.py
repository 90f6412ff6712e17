"""The UI guard: the Dagster UI started by scripts/ui.sh refuses foreign Host and Origin headers.

A page of another origin must not run GraphQL mutations (CSRF), and a page whose DNS name is rebound to
127.0.0.1 must not reach the UI (DNS rebinding); the UI's own pages and clients without an Origin work.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from pipelines.ui_guard import HostOriginGuard, allowed_hosts, port_from_argv
from tests.integration.test_ui_browser import free_port, location_loaded, stop_group, wait_until

ROOT = Path(__file__).resolve().parents[2]
MUTATION = 'mutation { launchPipelineExecution(executionParams: {selector: {pipelineName: "refresh_warehouse", ' \
           'repositoryLocationName: "kleinstadt_readiness", repositoryName: "__repository__"}}) { __typename } }'


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


def post(base: str, body: dict, headers: dict[str, str]) -> tuple[int, str]:
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def websocket_status(port: int, origin: str) -> int:
    """The HTTP status answering a WebSocket handshake on /graphql (101 = accepted)."""
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        sock.sendall((f"GET /graphql HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                      "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                      f"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: graphql-ws\r\nOrigin: {origin}\r\n\r\n")
                     .encode())
        return int(sock.recv(1024).split(b" ", 2)[1])


@pytest.fixture(scope="module")
def ui_sh(tmp_path_factory):
    """scripts/ui.sh on a free loopback port, with its own DAGSTER_HOME and warehouse."""
    tmp = tmp_path_factory.mktemp("ui_guard")
    port = free_port()
    env = {**os.environ, "PORT": str(port), "DAGSTER_HOME": str(tmp / "home"),
           "READINESS_WAREHOUSE": str(tmp / "readiness.duckdb"), "READINESS_RAW_DIR": str(tmp / "raw")}
    env.pop("READINESS_UI_ALLOWED_HOSTS", None)
    log = (tmp / "ui.log").open("w")
    process = subprocess.Popen(["bash", str(ROOT / "scripts" / "ui.sh")], env=env, stdout=log,
                               stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or location_loaded(base), 300, "scripts/ui.sh to load")
        assert process.poll() is None, (tmp / "ui.log").read_text()
        yield {"base": base, "port": port, "log": tmp / "ui.log", "home": tmp / "home"}
    finally:
        stop_group(process)
        log.close()


def test_ui_sh_refuses_cross_origin_mutation_and_serves_its_own_origin(ui_sh):
    base = ui_sh["base"]
    status, body = post(base, {"query": MUTATION}, {"Origin": "http://evil.example"})
    assert status == 403 and "Origin" in body
    status, body = post(base, {"query": "{ version }"}, {"Origin": base})
    assert status == 200 and json.loads(body)["data"]["version"]
    status, _ = post(base, {"query": "{ version }"}, {"Host": f"evil.example:{ui_sh['port']}"})
    assert status == 421  # DNS rebinding: the browser sends the attacker's host name
    runs = post(base, {"query": "{ runsOrError { ... on Runs { results { runId } } } }"}, {})[1]
    assert json.loads(runs)["data"]["runsOrError"]["results"] == []  # the refused mutation launched nothing
    assert websocket_status(ui_sh["port"], "http://evil.example") == 403
    assert websocket_status(ui_sh["port"], base) == 101  # the UI's live updates still connect
    locations = post(base, {"query": "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"}, {})[1]
    assert [e["name"] for e in json.loads(locations)["data"]["workspaceOrError"]["locationEntries"]] == \
        ["kleinstadt_readiness"]  # the location name the UI's links (and the browser test) use


def test_ui_sh_starts_without_false_warnings(ui_sh):
    log = ui_sh["log"].read_text()
    assert "will not be used" not in log and "No dagster instance configuration file" not in log
    assert "superseded" not in log
    assert (ui_sh["home"] / "dagster.yaml").resolve() == ROOT / "dagster.yaml"
