"""Live mode end to end against local publishers on 127.0.0.1 (tests/live_server.py).

A first live run fetches every source and publishes; a second one downloads nothing new
and says "unchanged". Each failure case then runs on a copy of that state: the run either
recovers (retries) or fails with the documented message, and the published warehouse,
the raw landing and the live mirror stay as they were.
"""

from __future__ import annotations

import shutil
import socket
import time
from pathlib import Path

import duckdb
import pytest
from werkzeug import Response

from pipelines.resources import ReadinessSettings
from sources.registry import load_sources
from tests import genesis_responses, osm_responses
from tests.conftest import downstream_of, run_job, skipped_steps, upstream_of
from tests.live_server import PublisherServer, vg250_zip

SECRET = "s3cr3t-PW-4711"
SOURCES = load_sources()
# sources with a publisher to fetch from; local_inputs (the towns' own files) has none
FETCHED = {source_id for source_id, spec in SOURCES.items() if spec.live}
GV_2023 = SOURCES["destatis_gemeindeverzeichnis"].live["downloads"][0]["url"].format(vintage="31122023")
VG250 = SOURCES["bkg_vg"].live["downloads"][0]["url"].format(vintage="2025")
GENESIS = SOURCES["regionalstatistik"].live["base_url"] + "data/tablefile"
OVERPASS = SOURCES["osm_coworking"].live["url"]


@pytest.fixture
def publishers(httpserver, monkeypatch):
    monkeypatch.setenv("READINESS_GENESIS_USERNAME", "analyst")
    monkeypatch.setenv("READINESS_GENESIS_PASSWORD", SECRET)
    return PublisherServer(httpserver)


def live_settings(root: Path, publishers: PublisherServer, **overrides) -> ReadinessSettings:
    """Every output under ``root``: exports and pages too (the defaults are the repository's data/), and
    the pilots' pages only (the reference group's are tests/integration/test_reports.py's)."""
    return ReadinessSettings(**{
        "source_mode": "live", "live_dir": str(root / "live"), "live_origin": publishers.origin,
        "warehouse_path": str(root / "warehouse" / "readiness.duckdb"), "raw_dir": str(root / "raw"),
        "exports_dir": str(root / "exports"), "reports_dir": str(root / "reports"), "report_scope": "pilots",
        "http_backoff_seconds": 0.01, "http_read_timeout": 1.0, "http_max_attempts": 3, **overrides})


def materialization(result, asset: str) -> dict:
    [event] = result.asset_materializations_for_node(asset)
    return {key: value.value for key, value in event.metadata.items()}


def event_text(result) -> str:
    """Every event of a run as text: messages and their data (where a leaked credential would show)."""
    return "\n".join(str(e.message) + str(getattr(e, "event_specific_data", "")) for e in result.all_events)


def assert_secret_nowhere(result, root: Path) -> None:
    """The GENESIS password is in no event of the run and in no file under ``root`` (warehouse, raw
    landing, live mirror and its state, exports, pages)."""
    assert SECRET not in event_text(result)
    for path in root.rglob("*"):
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path


def failure_messages(result) -> str:
    return "\n".join(e.event_specific_data.error.to_string() for e in result.all_events
                     if e.event_type_value == "STEP_FAILURE")


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def baseline(tmp_path_factory):
    """State after one successful live run; each test copies it."""
    return tmp_path_factory.mktemp("live_baseline")


@pytest.fixture(scope="module")
def first_run_record() -> dict:
    """What the first live run showed besides its files: its event log and the GENESIS request it sent
    (filled by ``first_run``), so the credentials test checks that run instead of paying for another one."""
    return {}


@pytest.fixture
def first_run(baseline, publishers, first_run_record):
    """Run live once into the baseline (first test only), then hand out a private copy of it."""
    if not (baseline / "warehouse" / "readiness.duckdb").exists():
        result = run_job(live_settings(baseline, publishers), raise_on_error=False)
        assert result.success, failure_messages(result)
        first_run_record["logs"] = event_text(result)
        first_run_record["tablefile"] = [(request.headers.get("password"), request.get_data(as_text=True))
                                         for request, _ in publishers.httpserver.log
                                         if request.path.endswith("data/tablefile")]
        publishers.requests.clear()  # tests count only their own run's requests
    copy = baseline.parent / f"{baseline.name}_{time.monotonic_ns()}"
    shutil.copytree(baseline, copy, symlinks=True)  # exports/latest is a (relative) symlink
    for state in (copy / "live" / ".state").glob("*.json"):  # the mirror moved with the copy; paths are relative
        assert str(baseline) not in state.read_text()
    return copy


def test_live_run_fetches_every_source_and_builds_the_warehouse(first_run):
    con = duckdb.connect(str(first_run / "warehouse" / "readiness.duckdb"), read_only=True)
    releases = con.execute("SELECT source_id, count(*), min(mode), max(origin) FROM source_releases "
                           "GROUP BY source_id").fetchall()
    assert {r[0] for r in releases} == FETCHED
    assert all(mode == "live" and origin.startswith("https://") for _, _, mode, origin in releases)
    mölln_2023 = con.execute("""SELECT value FROM observations WHERE source_id = 'regionalstatistik'
        AND ags = '01053090' AND measure = 'population_total' AND reference_date = '2023-12-31'""").fetchone()
    assert mölln_2023 == (19566,)
    spaces = con.execute("SELECT ags FROM coworking_spaces WHERE ags IS NOT NULL ORDER BY ags").fetchall()
    assert ("01053090",) in spaces
    index = con.execute("""SELECT local_work_infrastructure, notes FROM readiness_index
        WHERE ags = '01053090' AND period = (SELECT max(period) FROM readiness_index)""").fetchone()
    assert index[0] is not None and index[1] is None
    flows = con.execute("SELECT count(*) FROM commuter_flows WHERE home_kreis = '01053'").fetchone()[0]
    assert flows > 0
    assert (first_run / "raw" / "osm_coworking").is_dir() and (first_run / "raw" / "regionalstatistik").is_dir()


def test_second_run_downloads_nothing_and_reports_unchanged(first_run, publishers):
    """Every source fetched again, up to the publish (``upstream_of``): the pages and exports after it only read
    the published file; the first run's, in the copy, are searched for the password below too."""
    raw_before = files_under(first_run / "raw")
    result = run_job(live_settings(first_run, publishers), raise_on_error=False, assets=upstream_of("out/warehouse"))
    assert result.success, failure_messages(result)
    for source_id in FETCHED:
        assert materialization(result, f"raw_{source_id}")["change"].startswith("unchanged"), source_id
    assert publishers.count(GV_2023, 304) == 1 and publishers.count(GV_2023, 200) == 0
    assert files_under(first_run / "raw") == raw_before  # nothing new landed
    # a run over an existing mirror sends the credentials again (a conditional request): still kept
    assert publishers.count(GENESIS) >= 1
    assert_secret_nowhere(result, first_run)


def drop_connection(request):
    """Shut the TCP connection down before answering (the client sees the connection end
    without a response; a true RST is tested on the client in tests/unit/sources/test_http.py)."""
    request.environ["werkzeug.socket"].shutdown(socket.SHUT_RDWR)
    return Response("never sent")


def slow(request):
    time.sleep(1.2)  # longer than the read timeout of 1 s; short enough that the retry gets its answer
    return Response("late")


def truncated_vg250():
    whole = vg250_zip()
    return Response(whole[: len(whole) // 2], content_type="application/zip")


HTML_PAGE = ("<!DOCTYPE html><html><head><title>Wartungsarbeiten</title></head>"
             "<body>Die Seite ist vorübergehend nicht erreichbar.</body></html>")

RECOVERS = {
    "429 with Retry-After": (GV_2023, [Response("rate limited", status=429, headers={"Retry-After": "1"})]),
    "503 then success": (GV_2023, [Response("busy", status=503)]),
    "connection dropped once": (GV_2023, [drop_connection]),
    "read timeout once": (GV_2023, [slow]),
}

FAILS = {
    "read timeout": (GV_2023, [slow] * 3, "gave up after 3 attempts: timed out"),
    "connection dropped": (GV_2023, [drop_connection] * 3, "gave up after 3 attempts: connection failed"),
    "truncated zip": (VG250, [lambda request: truncated_vg250()], "download is not one; it may be truncated"),
    "HTML page with 200": (GV_2023, [Response(HTML_PAGE, content_type="text/html")],
                           "got an HTML page instead of xlsx"),
    "GENESIS error envelope with 200": (GENESIS, [Response(genesis_responses.nothing_found_104(),
                                                           content_type="application/json")], "104"),
    # a busy server's remark is retried like a 503 (a single one recovers: tests/unit/sources/test_osm_coworking.py)
    "Overpass remark": (OVERPASS, [Response(osm_responses.runtime_error_response(), content_type="application/json")] * 3,
                        "gave up after 3 attempts: Overpass reported an incomplete result: 'runtime error"),
}


@pytest.mark.parametrize("case", list(RECOVERS))
def test_transient_failures_are_retried(case, first_run, publishers):
    """Only the Gemeindeverzeichnis download runs: the retry is the point, and every case fails that one URL
    (the whole job after a failure is the next test's)."""
    url, responses = RECOVERS[case]
    assert url == GV_2023
    publishers.fail(url, *responses)
    result = run_job(live_settings(first_run, publishers), raise_on_error=False,
                     assets=["raw/gemeindeverz"])
    assert result.success, failure_messages(result)
    assert materialization(result, "raw_destatis_gemeindeverzeichnis")["change"].startswith("unchanged")
    assert publishers.count(url) == len(responses) + 1


# The raw asset fetching each URL that FAILS breaks: a failure case runs it and everything downstream of it
# (tests/conftest.py: downstream_of), the publish among them; the other sources' fetches and staging, which the
# whole job runs beside them, cannot change whether the run fails or publishes (their unchanged second fetch is
# test_second_run_downloads_nothing_and_reports_unchanged's).
RAW_ASSET = {GV_2023: "raw/gemeindeverz", VG250: "raw/bkg_vg", GENESIS: "raw/regionalstatistik",
             OVERPASS: "raw/osm_coworking"}


@pytest.mark.parametrize("case", list(FAILS))
def test_failures_keep_the_last_good_warehouse(case, first_run, publishers):
    url, responses, message = FAILS[case]
    published = first_run / "warehouse" / "readiness.duckdb"
    before = published.read_bytes(), files_under(first_run / "raw"), files_under(first_run / "live")
    publishers.fail(url, *responses)
    result = run_job(live_settings(first_run, publishers), raise_on_error=False, assets=downstream_of(RAW_ASSET[url]))
    assert not result.success
    assert {"warehouse_candidate", "published_warehouse"} <= skipped_steps(result)  # in the run, and skipped
    messages = failure_messages(result)
    assert message in messages
    assert SECRET not in messages
    after = published.read_bytes(), files_under(first_run / "raw"), files_under(first_run / "live")
    assert after[0] == before[0], "published warehouse changed"
    assert after[1] == before[1], "raw landing changed"
    assert {k: v for k, v in after[2].items() if not k.startswith(".state")} == \
        {k: v for k, v in before[2].items() if not k.startswith(".state")}, "live mirror changed"


def test_credentials_never_leave_the_environment(first_run, first_run_record):
    """The first live run (the one that downloaded the GENESIS table with the account; the module's baseline,
    not a run of its own): the password went only into the request's header, never into a log or a file.
    The second run over the mirror is checked the same way in test_second_run_downloads_nothing_and_reports_unchanged."""
    assert SECRET not in first_run_record["logs"]
    for path in first_run.rglob("*"):  # a private copy of everything the first run wrote
        if path.is_file():
            assert SECRET.encode() not in path.read_bytes(), path
    [(password, body)] = first_run_record["tablefile"][:1]
    assert password == SECRET and SECRET not in body


@pytest.mark.parametrize("password, works", [
    (SECRET + "\n", True),  # a stray newline from `echo` or a secrets file: stripped, the run works
    (f" {SECRET}\r\n", True),
    (SECRET + "\r\nX-Injected: 1", False),  # a control character inside the value: refused, never shown
])
def test_a_password_with_stray_whitespace_never_reaches_the_event_log(password, works, tmp_path, publishers,
                                                                      monkeypatch):
    """requests refuses a header value with a newline and quotes it in its exception, which Dagster keeps in
    the event log: the value is stripped when read, refused (by name) if a control character remains, and
    every HTTP-layer error is scrubbed. Only the GENESIS fetch runs, into a fresh root."""
    monkeypatch.setenv("READINESS_GENESIS_PASSWORD", password)
    result = run_job(live_settings(tmp_path, publishers), raise_on_error=False, assets=["raw/regionalstatistik"])
    assert result.success is works, failure_messages(result)
    assert_secret_nowhere(result, tmp_path)
    sent = [request.headers.get("password") for request, _ in publishers.httpserver.log
            if request.path.endswith("data/tablefile")]
    if works:
        assert sent == [SECRET]  # the trimmed value, in the header only
    else:
        assert sent == []  # refused before any request
        assert "READINESS_GENESIS_PASSWORD contains a control character" in failure_messages(result)


def test_without_genesis_account_the_source_fails_clearly_or_is_skipped(first_run, publishers, monkeypatch):
    monkeypatch.delenv("READINESS_GENESIS_USERNAME")
    monkeypatch.delenv("READINESS_GENESIS_PASSWORD")
    published = (first_run / "warehouse" / "readiness.duckdb").read_bytes()
    failed = run_job(live_settings(first_run, publishers), raise_on_error=False,
                     assets=downstream_of("raw/regionalstatistik"))  # as in the failure cases above
    assert not failed.success
    assert "published_warehouse" in skipped_steps(failed)
    assert "READINESS_LIVE_SKIP=regionalstatistik" in failure_messages(failed)
    assert (first_run / "warehouse" / "readiness.duckdb").read_bytes() == published
    skipping = live_settings(first_run, publishers, live_skip="regionalstatistik")
    # the part of the job the skipped source decides, up to the publish (the other sources' fetches cannot
    # change whether skipping it publishes, their second fetch is test_second_run_...'s; the pages and exports
    # after the publish only read it)
    decided = set(downstream_of("raw/regionalstatistik")) & set(upstream_of("out/warehouse"))
    result = run_job(skipping, raise_on_error=False, assets=sorted(decided))
    assert result.success, failure_messages(result)
    assert publishers.count(GENESIS) == 0  # credentials are checked before any request; skipping sends none
    assert "change" not in materialization(result, "raw_regionalstatistik")  # nothing fetched, mirror files used
    with pytest.raises(ValueError, match="required source"):
        live_settings(first_run, publishers, live_skip="inkar").skips(SOURCES["inkar"])
