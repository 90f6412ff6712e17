"""The Dagster UI as scripts/ui.sh starts it (`dg dev` behind the UI guard), started once for this module.

The guard: a page of another origin must not run GraphQL mutations (CSRF), and a page whose DNS name is rebound
to 127.0.0.1 must not reach the UI (DNS rebinding); the UI's own pages and clients without an Origin work (the
guard itself, in process: tests/unit/pipelines/test_ui_guard.py). The browser: launch refresh_warehouse with a
click and watch it succeed, and read every asset's name in the lineage.

Needs Debian's Chromium (/usr/bin/chromium; `bash scripts/install_chromium.sh`); Playwright drives it, no
browser download. Everything goes to loopback and a temporary DAGSTER_HOME and warehouse. Screenshots land in
test-artifacts/ (ui-asset-graph.png, ui-run.png).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import instance_home

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
DG = Path(sys.executable).with_name("dg")  # dg dev, dg launch (dagster-dg-cli)
RUN_TIMEOUT = 600  # seconds: the job takes ~15 s on an idle machine, CI machines are shared
END_STATES = {"SUCCESS", "FAILURE", "CANCELED"}


MUTATION = 'mutation { launchPipelineExecution(executionParams: {selector: {pipelineName: "refresh_warehouse", ' \
           'repositoryLocationName: "kleinstadt_readiness", repositoryName: "__repository__"}}) { __typename } }'



def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(check, timeout: float, what: str, interval: float = 1.0):
    """Call ``check`` until it returns something truthy; fail naming ``what`` after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def graphql(base: str, query: str) -> dict:
    request = urllib.request.Request(f"{base}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)["data"]


def location_loaded(base: str) -> bool:
    try:
        data = graphql(base, "{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus "
                             "locationOrLoadError { __typename } } } } }")
    except (urllib.error.URLError, ConnectionError, OSError):
        return False
    entries = data["workspaceOrError"]["locationEntries"]
    return any(e["loadStatus"] == "LOADED" and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
               for e in entries)


def runs(base: str) -> list[dict]:
    data = graphql(base, '{ runsOrError(filter: {pipelineName: "refresh_warehouse"}) '
                         '{ ... on Runs { results { runId status } } } }')
    return data["runsOrError"]["results"]


def finished_status(base: str, run_id: str) -> str | None:
    """The run's status once it has ended, else None."""
    status = next(r["status"] for r in runs(base) if r["runId"] == run_id)
    return status if status in END_STATES else None


@pytest.fixture(scope="module")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.fail("Debian's Chromium is missing at /usr/bin/chromium: install it with "
                    "`sudo apt-get install chromium` (or `bash scripts/install_chromium.sh`).")
    return CHROMIUM


@pytest.fixture(scope="module")
def ui_sh(tmp_path_factory):
    """scripts/ui.sh (dg dev behind the UI guard) on a free loopback port with its own instance, warehouse, raw
    landing, exports and pages, for this module's tests, which only send requests to it and launch one run (dg
    dev takes most of a minute to load its code location on the shared machine). Ended with the module: its
    daemon, webserver and code servers used ~3 % of a core while idle (3.1 CPU s in 90 s, 8 December 2026), which
    a session-long server took from every test after it."""
    tmp = tmp_path_factory.mktemp("ui")
    home = instance_home(tmp / "dagster_home")  # ui.sh links dagster.yaml (the run queue) into it
    port = free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "READINESS_WAREHOUSE": str(tmp / "readiness.duckdb"),
           "READINESS_RAW_DIR": str(tmp / "raw"), "READINESS_REPORTS_DIR": str(tmp / "reports"),
           "READINESS_EXPORTS_DIR": str(tmp / "exports"), "PORT": str(port)}
    env.pop("READINESS_SOURCE_MODE", None)
    env.pop("READINESS_UI_ALLOWED_HOSTS", None)  # the guard's defaults: loopback names only
    log = (tmp / "dagster-dev.log").open("w")
    process = subprocess.Popen(["bash", str(ROOT / "scripts" / "ui.sh")], cwd=ROOT, env=env,
                               stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: process.poll() is not None or location_loaded(base), 300, "scripts/ui.sh to load")
        assert process.poll() is None, f"dg dev exited: see {tmp / 'dagster-dev.log'}"
        yield {"base": base, "port": port, "home": home, "warehouse": tmp / "readiness.duckdb",
               "log": tmp / "dagster-dev.log"}
    finally:
        stop_group(process)
        log.close()


def stop_group(process: subprocess.Popen) -> None:
    """End dg dev with its webserver, daemon and code servers (one process group) at once.

    SIGKILL, not Ctrl-C: the instance is a throwaway temporary one, and dg dev behind the guard did not
    stop within 60 s of SIGINT to its group (measured on the 2-core machine; SIGINT to the leader alone ends
    the leader after ~11 s but leaves the webserver and the code server running), which cost every test
    using the UI that wait at teardown.
    """
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    process.wait(timeout=30)


def new_page(browser):
    page = browser.new_page(viewport={"width": 1600, "height": 1000})
    page.set_default_timeout(120_000)
    # Dagster asks once per instance to join its community: close the dialog whenever it shows up.
    page.add_locator_handler(page.get_by_text("Join the Dagster community"),
                             lambda: page.get_by_role("button", name="Skip").click())
    return page


def test_launch_refresh_from_the_ui_and_see_it_succeed(chromium, ui_sh):
    from playwright.sync_api import expect, sync_playwright

    base = ui_sh["base"]
    ARTIFACTS.mkdir(exist_ok=True)
    assert runs(base) == []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            page = new_page(browser)
            page.goto(f"{base}/locations/kleinstadt_readiness/jobs/refresh_warehouse")
            page.get_by_role("button", name="Materialize all").click()
            # launching builds the execution plan in the code server: seconds on a shared CI machine
            expect(page.get_by_text("Launched run")).to_be_visible(timeout=60_000)

            (run,) = wait_until(lambda: runs(base), 60, "the launched run to be listed")
            status = wait_until(lambda: finished_status(base, run["runId"]), RUN_TIMEOUT, "the run to finish", 2)
            assert status == "SUCCESS", f"run {run['runId']} ended {status}; log: {ui_sh['log']}"
            assert ui_sh["warehouse"].is_file()  # published into the test's warehouse, not the default

            page.goto(f"{base}/runs/{run['runId']}")
            expect(page.get_by_text("Success", exact=True).first).to_be_visible()
            expect(page.get_by_text("published_warehouse").first).to_be_visible()  # the step (op) keeps the registry name
            page.screenshot(path=str(ARTIFACTS / "ui-run.png"))

            # each pilot town's score over the index periods: int/pilot_scores is partitioned by period, so
            # its plots have the years on the x axis (pipelines/assets/indicators.py PILOT_SCORES)
            page.goto(f"{base}/assets/int/pilot_scores")  # Overview: its metadata as Table or Plots
            page.get_by_role("button", name="Plots").click()
            page.get_by_role("button", name="Partitions").click()  # x axis: the partitions, not the events
            expect(page.get_by_text("score_moelln").first).to_be_visible()
            page.wait_for_timeout(2000)  # not an assertion: the charts draw
            page.screenshot(path=str(ARTIFACTS / "ui-pilot-scores.png"))

            show_lineage(page, base)
            for group in ["sources", "raw_landing", "staging", "indicators", "index", "publish", "reports"]:
                expect(page.get_by_text(group, exact=True).first).to_be_visible()
            # With all 45 assets the fitted graph is drawn too small to read (test_every_asset_name_whole...):
            # the groups in the tree list the names at full size.
            for group, asset in [("index", "readiness_index"), ("publish", "warehouse")]:
                page.locator(f'div[data-index]:has([title="{group}"]) button:has([aria-label="arrow_drop_down"])').click()
                expect(page.get_by_title(asset).first).to_be_visible()
            page.wait_for_timeout(3000)  # not an assertion: lets the graph colour every node by its status
            page.screenshot(path=str(ARTIFACTS / "ui-asset-graph.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "ui-failure.png"))  # what the browser showed, for the log
            raise
        finally:
            browser.close()


def show_lineage(page, base: str) -> None:
    """The global asset lineage with every group expanded, top to bottom, fitted to the window."""
    page.goto(f"{base}/asset-groups")
    page.get_by_text("raw_landing", exact=True).first.wait_for()  # the graph has loaded
    settings = page.locator('button:has([aria-label="settings"])').last
    for item in ["Expand all groups", "Change graph to vertical orientation"]:
        settings.click()
        page.get_by_role("menuitem", name=item).click()
        page.keyboard.press("Escape")
    page.reload()  # the graph is fitted to the window when it loads; the options above are kept
    page.get_by_role("button", name="Hide navigation").click()
    page.get_by_text("raw_landing", exact=True).first.wait_for()


def test_every_asset_name_whole_in_the_lineage(chromium, ui_sh):
    """The global lineage with every group expanded, as the UI fits it to the window's width: each asset's
    label is its key's last component, uncut (pipelines/names.py), for all assets of the definitions."""
    from collections import Counter

    from playwright.sync_api import sync_playwright

    from pipelines.definitions import defs
    from pipelines.names import graph_label_limits

    names = Counter(key.path[-1] for key in defs.resolve_asset_graph().get_all_asset_keys())
    assert max(map(len, names)) <= graph_label_limits()["minimal"]
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=["--no-sandbox"])
        try:
            page = new_page(browser)
            page.goto(f"{ui_sh['base']}/asset-groups")
            page.get_by_text("raw_landing", exact=True).first.wait_for()
            settings = page.locator('button:has([aria-label="settings"])').last
            settings.click()
            page.get_by_role("menuitem", name="Expand all groups").click()
            page.keyboard.press("Escape")
            page.reload()  # fitted to the window's width when it loads
            page.get_by_text("raw_landing", exact=True).first.wait_for()
            page.wait_for_timeout(3000)  # not an assertion: the layout settles and the nodes are drawn
            page.screenshot(path=str(ARTIFACTS / "ui-asset-names.png"))
            # The UI draws only the nodes inside the window; the fit depends on the width alone, so a taller
            # window shows every node at the same scale.
            page.set_viewport_size({"width": 1600, "height": 4000})
            page.reload()
            page.get_by_text("raw_landing", exact=True).first.wait_for()
            labels = drawn_labels(page, names)
            page.screenshot(path=str(ARTIFACTS / "ui-asset-names-all.png"))
        except Exception:
            page.screenshot(path=str(ARTIFACTS / "ui-failure.png"))
            raise
        finally:
            browser.close()
    assert Counter(labels) == names, f"labels drawn: {sorted(labels)}"
    assert not [label for label in labels if "…" in label]


def drawn_labels(page, names, timeout: float = 60) -> list[str]:
    """The asset labels the lineage draws (class minimalName), read every 0.25 s until two reads in a row are
    ``names`` (the layout has settled) or ``timeout`` seconds passed; the caller asserts on what was read last.
    Was a fixed 3-s wait before one read: longer than needed on an idle machine, no guarantee on a loaded one."""
    from collections import Counter

    deadline, matched = time.monotonic() + timeout, 0
    while True:
        labels = page.eval_on_selector_all('[class*="minimalName"]', "els => els.map(e => e.textContent)")
        matched = matched + 1 if Counter(labels) == names else 0
        if matched == 2 or time.monotonic() > deadline:
            return labels
        page.wait_for_timeout(250)


# ---- the guard in front of the UI ------------------------------------------------------------------------

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
