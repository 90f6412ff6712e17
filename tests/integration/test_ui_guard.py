"""The UI guard: the Dagster UI started by scripts/ui.sh refuses foreign Host and Origin headers.

A page of another origin must not run GraphQL mutations (CSRF), and a page whose DNS name is rebound to
127.0.0.1 must not reach the UI (DNS rebinding); the UI's own pages and clients without an Origin work.
The guard itself, in process: tests/unit/pipelines/test_ui_guard.py.
"""

from __future__ import annotations

import json
import socket
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
MUTATION = 'mutation { launchPipelineExecution(executionParams: {selector: {pipelineName: "refresh_warehouse", ' \
           'repositoryLocationName: "kleinstadt_readiness", repositoryName: "__repository__"}}) { __typename } }'


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
def ui_sh(ui_sh_server):
    """scripts/ui.sh on a free loopback port, with its own DAGSTER_HOME and warehouse: started once per session
    (tests/conftest.py: ui_sh_server), shared with the browser test (which may have launched a run in it)."""
    return ui_sh_server


def run_ids(base: str) -> list[str]:
    runs = post(base, {"query": "{ runsOrError { ... on Runs { results { runId } } } }"}, {})[1]
    return [r["runId"] for r in json.loads(runs)["data"]["runsOrError"]["results"]]


def test_ui_sh_refuses_cross_origin_mutation_and_serves_its_own_origin(ui_sh):
    base = ui_sh["base"]
    before = run_ids(base)
    status, body = post(base, {"query": MUTATION}, {"Origin": "http://evil.example"})
    assert status == 403 and "Origin" in body
    status, body = post(base, {"query": "{ version }"}, {"Origin": base})
    assert status == 200 and json.loads(body)["data"]["version"]
    status, _ = post(base, {"query": "{ version }"}, {"Host": f"evil.example:{ui_sh['port']}"})
    assert status == 421  # DNS rebinding: the browser sends the attacker's host name
    assert run_ids(base) == before  # the refused mutation launched nothing
    assert websocket_status(ui_sh["port"], "http://evil.example") == 403
    assert websocket_status(ui_sh["port"], base) == 101  # the UI's live updates still connect
    locations = post(base, {"query": "{ workspaceOrError { ... on Workspace { locationEntries { name } } } }"}, {})[1]
    assert [e["name"] for e in json.loads(locations)["data"]["workspaceOrError"]["locationEntries"]] == \
        ["kleinstadt_readiness"]  # the location name the UI's links (and the browser test) use


def test_ui_sh_starts_without_false_warnings(ui_sh):
    """`dg dev` (its project check runs first) serves on loopback only, with no warning about dagster.yaml."""
    log = ui_sh["log"].read_text()
    assert "All component YAML validated successfully" in log  # printed by `dg dev`, not by `dagster dev`
    assert f"Serving dagster-webserver on http://127.0.0.1:{ui_sh['port']}" in log
    assert "will not be used" not in log and "No dagster instance configuration file" not in log
    assert "superseded" not in log
    assert (ui_sh["home"] / "dagster.yaml").resolve() == ROOT / "dagster.yaml"
