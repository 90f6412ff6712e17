"""Live mode unit by unit (sources/live.py), against one tiny publisher on 127.0.0.1.

tests/integration/test_live.py runs the whole pipeline against every publisher; here each rule of
``fetch_source`` is checked on its own with a synthetic source: the origin rewrite,
the state file, conditional requests (304) and the sha256 fallback, replacement of
changed files, rejection of HTML pages, zip extraction into the mirror, and, for
sources without conditional requests (Overpass), ``_keep_if_changed``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import io
import json
import time
import zipfile
from pathlib import Path

import pytest
from werkzeug import Request, Response

from sources import live
from sources.errors import SourceError
from sources.http import HttpClient, HttpSettings
from sources.live import LiveContext, fetch_source, load_state
from sources.osm_coworking import elements_sha256
from sources.registry import load_sources
from tests import osm_responses

SOURCES = load_sources()
SETTINGS = HttpSettings(connect_timeout=2.0, read_timeout=5.0, max_attempts=2, backoff_seconds=0.01)
NAME = "gemeinde_privat_2018_ende.csv"
SAVED = f"breitbandatlas/{NAME}"
CSV = "AGS;Gemeinde;alle Technologien ≥ 1000 Mbit/s\n01053090;Mölln;45.2\n".encode()
CSV_V2 = "AGS;Gemeinde;alle Technologien ≥ 1000 Mbit/s\n01053090;Mölln;51.7\n".encode()
HTML_PAGE = (b"<!DOCTYPE html><html><head><title>Wartungsarbeiten</title></head>"
             b"<body>Die Seite ist vor\xc3\xbcbergehend nicht erreichbar.</body></html>")


def zip_of(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


class Publisher:
    """One URL on the test server: serves ``body`` with an ETag; honours If-None-Match unless told not to."""

    def __init__(self, httpserver, path: str, body: bytes, honour_conditional: bool = True,
                 etag: bool = True, last_modified: str | None = None):
        self.httpserver, self.path, self.body = httpserver, path, body
        self.honour_conditional, self.etag, self.last_modified = honour_conditional, etag, last_modified
        httpserver.expect_request(path).respond_with_handler(self._handle)

    @property
    def current_etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    def _handle(self, request: Request) -> Response:
        headers = {"ETag": self.current_etag} if self.etag else {}
        if self.last_modified:
            headers["Last-Modified"] = self.last_modified
        if self.honour_conditional and self.etag and request.headers.get("If-None-Match") == self.current_etag:
            return Response(status=304, headers=headers)
        return Response(self.body, content_type="application/octet-stream", headers=headers)

    def requests(self) -> list[Request]:
        return [request for request, _ in self.httpserver.log if request.path == self.path]


def download_spec(url: str, **entry):
    """The breitbandatlas spec with one synthetic ``download`` entry (url may hold {vintage})."""
    download = {"url": url, "save_as": "breitbandatlas/{vintage}", "format": "csv", "vintages": [NAME]} | entry
    return dataclasses.replace(SOURCES["breitbandatlas"], live={"connector": "download", "downloads": [download]})


@pytest.fixture
def mirror(tmp_path) -> Path:
    return tmp_path / "live"


@pytest.fixture
def csv_source(httpserver):
    """(publisher, spec, publisher URL) for one CSV download served by the test server."""
    publisher = Publisher(httpserver, f"/files/{NAME}", CSV)
    return publisher, download_spec(httpserver.url_for("/files/{vintage}")), httpserver.url_for(f"/files/{NAME}")


def fetch(spec, mirror, origin=None):
    return fetch_source(spec, mirror, SETTINGS, origin=origin, env={})


# --- LiveContext.url ---------------------------------------------------------------------------------------


PUBLISHER_URL = ("https://www.destatis.de/DE/Themen/GVAuszugJ/31122023_Auszug_GV.xlsx?__blob=publicationFile&v=3")


@pytest.mark.parametrize("origin, url, expected", [
    (None, PUBLISHER_URL, PUBLISHER_URL),
    ("", PUBLISHER_URL, PUBLISHER_URL),
    ("http://127.0.0.1:8080", PUBLISHER_URL,
     "http://127.0.0.1:8080/www.destatis.de/DE/Themen/GVAuszugJ/31122023_Auszug_GV.xlsx?__blob=publicationFile&v=3"),
    ("http://127.0.0.1:8080/", "https://overpass-api.de/api/interpreter",
     "http://127.0.0.1:8080/overpass-api.de/api/interpreter"),
    ("http://cache.local/mirror/", "https://daten.gdz.bkg.bund.de:8443/produkte/vg.zip",
     "http://cache.local/mirror/daten.gdz.bkg.bund.de:8443/produkte/vg.zip"),
])
def test_context_url_rewrites_to_the_origin_and_keeps_the_query(tmp_path, origin, url, expected):
    context = LiveContext(SOURCES["destatis_gemeindeverzeichnis"], HttpClient("destatis_gemeindeverzeichnis"),
                          tmp_path, tmp_path, {}, origin=origin)
    assert context.url(url) == expected


def test_origin_requests_go_to_the_origin_but_state_keeps_the_publisher_url(httpserver, mirror):
    publisher = Publisher(httpserver, f"/publisher.invalid/Archiv/{NAME}", CSV)
    url = "https://publisher.invalid/Archiv/{vintage}?__blob=publicationFile"

    [outcome] = fetch(download_spec(url), mirror, origin=httpserver.url_for("/"))

    [request] = publisher.requests()
    assert request.query_string == b"__blob=publicationFile"
    publisher_url = url.format(vintage=NAME)
    assert outcome.url == publisher_url and list(load_state(mirror, "breitbandatlas")) == [publisher_url]


# --- download connector: state, conditional requests, changes ----------------------------------------------


def test_first_download_is_new_placed_in_the_mirror_and_remembered(csv_source, mirror):
    publisher, spec, url = csv_source

    [outcome] = fetch(spec, mirror)

    assert (outcome.status, outcome.files, outcome.url) == ("new", (SAVED,), url)
    assert outcome.sha256 == hashlib.sha256(CSV).hexdigest() and outcome.size_bytes == len(CSV)
    assert (mirror / SAVED).read_bytes() == CSV
    state = json.loads((mirror / ".state" / "breitbandatlas.json").read_text(encoding="utf-8"))
    assert state[url]["etag"] == publisher.current_etag
    assert state[url]["sha256"] == hashlib.sha256(CSV).hexdigest()
    assert state[url]["files"] == [SAVED]
    assert sorted(p.name for p in mirror.iterdir()) == [".state", "breitbandatlas"]  # no .download-* left


def test_second_run_is_unchanged_by_304(csv_source, mirror):
    publisher, spec, url = csv_source
    fetch(spec, mirror)

    [outcome] = fetch(spec, mirror)

    assert (outcome.status, outcome.reason, outcome.files) == ("unchanged", "HTTP 304 Not Modified", (SAVED,))
    assert outcome.sha256 == hashlib.sha256(CSV).hexdigest()
    first, second = publisher.requests()
    assert "If-None-Match" not in first.headers and second.headers["If-None-Match"] == publisher.current_etag
    assert [response.status_code for _, response in publisher.httpserver.log] == [200, 304]
    assert (mirror / SAVED).read_bytes() == CSV


def test_server_ignoring_conditional_requests_is_recognised_by_sha256(httpserver, mirror):
    publisher = Publisher(httpserver, f"/files/{NAME}", CSV, honour_conditional=False)
    spec = download_spec(httpserver.url_for("/files/{vintage}"))
    fetch(spec, mirror)
    first_fetch = next(iter(load_state(mirror, "breitbandatlas").values()))["fetched_at"]

    [outcome] = fetch(spec, mirror)

    assert outcome.status == "unchanged"
    assert outcome.reason == f"same sha256 as the download of {first_fetch[:10]}"
    assert publisher.requests()[1].headers["If-None-Match"] == publisher.current_etag  # asked, but got a 200
    assert (mirror / SAVED).read_bytes() == CSV


def test_last_modified_is_sent_back_as_if_modified_since(httpserver, mirror):
    stamp = "Wed, 21 Oct 2015 07:28:00 GMT"
    publisher = Publisher(httpserver, f"/files/{NAME}", CSV, etag=False, last_modified=stamp)
    spec = download_spec(httpserver.url_for("/files/{vintage}"))
    fetch(spec, mirror)

    fetch(spec, mirror)

    second = publisher.requests()[1]
    assert second.headers["If-Modified-Since"] == stamp and "If-None-Match" not in second.headers


def test_changed_content_replaces_the_mirror_file(csv_source, mirror):
    publisher, spec, url = csv_source
    fetch(spec, mirror)
    publisher.body = CSV_V2

    [outcome] = fetch(spec, mirror)

    assert (outcome.status, outcome.files) == ("changed", (SAVED,))
    assert outcome.sha256 == hashlib.sha256(CSV_V2).hexdigest()
    assert (mirror / SAVED).read_bytes() == CSV_V2
    state = load_state(mirror, "breitbandatlas")[url]
    assert state["sha256"] == hashlib.sha256(CSV_V2).hexdigest() and state["etag"] == publisher.current_etag


def test_deleted_mirror_file_is_downloaded_again_unconditionally(csv_source, mirror):
    publisher, spec, url = csv_source
    fetch(spec, mirror)
    (mirror / SAVED).unlink()

    [outcome] = fetch(spec, mirror)

    last = publisher.requests()[-1]
    assert "If-None-Match" not in last.headers and "If-Modified-Since" not in last.headers
    assert outcome.status != "unchanged"
    assert (mirror / SAVED).read_bytes() == CSV


HTML_CASES = {"csv": ("breitbandatlas/{vintage}", NAME, CSV),
              "xlsx": ("gigabit-grundbuch/bba_{vintage}.xlsx", "06_2024", zip_of({"xl/workbook.xml": b"<workbook/>"}))}


@pytest.mark.parametrize("fmt", list(HTML_CASES))
def test_html_page_with_200_is_refused_and_the_mirror_file_kept(httpserver, mirror, fmt):
    save_as, vintage, good = HTML_CASES[fmt]
    publisher = Publisher(httpserver, f"/files/{vintage}", good)
    spec = download_spec(httpserver.url_for("/files/{vintage}"), save_as=save_as, format=fmt, vintages=[vintage])
    [first] = fetch(spec, mirror)
    state_before = (mirror / ".state" / "breitbandatlas.json").read_bytes()
    publisher.body = HTML_PAGE

    with pytest.raises(SourceError, match=f"got an HTML page instead of {fmt}"):
        fetch(spec, mirror)

    [saved] = first.files
    assert (mirror / saved).read_bytes() == good
    assert (mirror / ".state" / "breitbandatlas.json").read_bytes() == state_before


def test_a_json_error_with_200_for_a_csv_is_refused_and_the_mirror_file_kept(httpserver, mirror):
    publisher = Publisher(httpserver, f"/files/{NAME}", CSV)
    spec = download_spec(httpserver.url_for("/files/{vintage}"))
    [first] = fetch(spec, mirror)
    publisher.body = b'{"error": "Quota exceeded", "status": 200}'
    with pytest.raises(SourceError, match="got a JSON document instead of csv: '{\"error\": \"Quota exceeded\""):
        fetch(spec, mirror)
    [saved] = first.files
    assert (mirror / saved).read_bytes() == CSV


def test_html_page_error_quotes_the_page_title_as_sent(httpserver, mirror):
    Publisher(httpserver, f"/files/{NAME}", HTML_PAGE)
    with pytest.raises(SourceError) as failure:
        fetch(download_spec(httpserver.url_for("/files/{vintage}")), mirror)
    assert str(failure.value).endswith("got an HTML page instead of csv: 'Wartungsarbeiten'")


def test_zip_with_a_damaged_deflate_stream_is_a_source_error(httpserver, mirror):
    body = bytearray(zip_of({"data/table.xlsx": b"".join(f"{i};{i * i}\n".encode() for i in range(5000))}))
    member = zipfile.ZipFile(io.BytesIO(bytes(body))).getinfo("data/table.xlsx")
    body[member.header_offset + 30 + len(member.filename)] |= 0b110  # first deflate block: reserved block type
    Publisher(httpserver, "/files/bundle.zip", bytes(body))
    spec = download_spec(httpserver.url_for("/files/{vintage}"), save_as="ba-commuting/{vintage}", format="zip",
                         vintages=["bundle.zip"], extract=r".*\.xlsx")

    with pytest.raises(SourceError, match="corrupt"):
        fetch(spec, mirror)


# --- download connector: archives -------------------------------------------------------------------------

GEMBAND_SAVE_AS = "ba-commuting/gemband-dlk-0-{vintage}/gemband-dlk-0-{vintage}-zip.zip"


def test_extract_places_the_members_in_the_folder_of_save_as(httpserver, mirror):
    workbook = zip_of({"xl/workbook.bin": b"xlsb body"})  # an xlsb is itself a zip container
    Publisher(httpserver, "/files/202206", zip_of({"gemband/gemband-dlk-0-202206.xlsb": workbook,
                                                   "gemband/Hinweise.pdf": b"%PDF-1.4"}))
    spec = download_spec(httpserver.url_for("/files/{vintage}"), save_as=GEMBAND_SAVE_AS, format="zip",
                         vintages=["202206"], extract=r".*\.xls[xb]")

    [outcome] = fetch(spec, mirror)

    member = "ba-commuting/gemband-dlk-0-202206/gemband-dlk-0-202206.xlsb"
    assert (outcome.status, outcome.files) == ("new", (member,))
    assert (mirror / member).read_bytes() == workbook
    assert sorted(p.name for p in (mirror / member).parent.iterdir()) == ["gemband-dlk-0-202206.xlsb"]  # no zip, pdf
    [again] = fetch(spec, mirror)
    assert (again.status, again.reason, again.files) == ("unchanged", "HTTP 304 Not Modified", (member,))


def test_changed_archive_leaves_no_stale_members(httpserver, mirror):
    publisher = Publisher(httpserver, "/files/202206", zip_of({"gemband-dlk-0-202206.xlsb": b"old edition"}))
    spec = download_spec(httpserver.url_for("/files/{vintage}"), save_as=GEMBAND_SAVE_AS, format="zip",
                         vintages=["202206"], extract=r".*\.xls[xb]")
    fetch(spec, mirror)
    publisher.body = zip_of({"gemband-dlk-0-202206.xlsx": b"re-release as xlsx"})

    [outcome] = fetch(spec, mirror)

    assert outcome.files == ("ba-commuting/gemband-dlk-0-202206/gemband-dlk-0-202206.xlsx",)
    assert sorted(p.name for p in (mirror / "ba-commuting" / "gemband-dlk-0-202206").iterdir()) == \
        ["gemband-dlk-0-202206.xlsx"]


# --- declaration errors -------------------------------------------------------------------------------------


def test_source_without_live_section_cannot_be_fetched(mirror):
    spec = dataclasses.replace(SOURCES["breitbandatlas"], live=None)
    with pytest.raises(SourceError, match=r"^\[breitbandatlas\] sources.yaml: no 'live' section"):
        fetch(spec, mirror)
    assert not mirror.exists()


def test_unknown_connector_is_named_with_the_known_ones(mirror):
    spec = dataclasses.replace(SOURCES["breitbandatlas"], live={"connector": "ftp"})
    with pytest.raises(SourceError, match=r"unknown live connector 'ftp' \(known: download, genesis, overpass\)"):
        fetch(spec, mirror)
    assert not mirror.exists()


# --- GENESIS credentials and READINESS_LIVE_ORIGIN ------------------------------------------------------------


@pytest.mark.parametrize("origin, env, expected", [
    (None, {}, True),  # the publisher itself
    ("", {}, True),
    ("http://127.0.0.1:8080", {}, True),  # the tests' stand-in
    ("http://localhost:8080/", {}, True),
    ("http://[::1]:8080", {}, True),
    ("https://cache.example.org", {}, False),  # a caching proxy would hold the account
    ("https://cache.example.org", {"READINESS_LIVE_ORIGIN_CREDENTIALS": "0"}, False),
    ("https://cache.example.org", {"READINESS_LIVE_ORIGIN_CREDENTIALS": "yes"}, False),
    ("https://127.0.0.1.example.org", {}, False),  # a name that starts like loopback is not loopback
    ("https://localhost.example.org", {}, False),
    ("https://cache.example.org", {"READINESS_LIVE_ORIGIN_CREDENTIALS": "1"}, True),  # trusted explicitly
    ("https://cache.example.org", {"READINESS_LIVE_ORIGIN_CREDENTIALS": "1\n"}, True),
])
def test_credentials_go_to_an_origin_only_if_loopback_or_trusted(origin, env, expected):
    assert live.origin_gets_credentials(origin, env) is expected


def test_a_non_loopback_origin_without_opt_in_fails_genesis_as_without_an_account(mirror):
    """Before any request (the origin is never contacted), naming the opt-in and the way out, not the account."""
    env = {"READINESS_GENESIS_USERNAME": "KR-user-4711", "READINESS_GENESIS_PASSWORD": "s3cr3t-XYZ"}
    expected = (r"^\[regionalstatistik\] credentials: GENESIS credentials are not sent to READINESS_LIVE_ORIGIN "
                r"https://cache.example.org:443, which is not loopback: set READINESS_LIVE_ORIGIN_CREDENTIALS=1 .*; "
                r"or leave the source out with READINESS_LIVE_SKIP=regionalstatistik$")
    with pytest.raises(SourceError, match=expected) as error:
        fetch_source(SOURCES["regionalstatistik"], mirror, SETTINGS, origin="https://proxy:pw@cache.example.org/x/",
                     env=env)
    assert "s3cr3t" not in str(error.value) and "4711" not in str(error.value) and "pw@" not in str(error.value)


# --- overpass connector: keep a new dated file only if the elements changed ---------------------------------

OVERPASS = SOURCES["osm_coworking"].live["url"]


class Overpass:
    """The Overpass endpoint behind the origin; ``body`` is the next answer to the POSTed query."""

    def __init__(self, httpserver):
        self.body = osm_responses.coworking_response()
        httpserver.expect_request("/overpass-api.de/api/interpreter", method="POST").respond_with_handler(
            lambda request: Response(self.body, content_type="application/json"))
        self.origin = httpserver.url_for("/")

    def run(self, mirror: Path, today: dt.date):
        """One overpass fetch on ``today`` (LiveContext built here, as fetch_source does, with a fixed date)."""
        spec = SOURCES["osm_coworking"]
        mirror.mkdir(parents=True, exist_ok=True)
        workdir = mirror.parent / f"work-{time.monotonic_ns()}"
        workdir.mkdir()
        context = LiveContext(spec, HttpClient(spec.source_id, SETTINGS), mirror, workdir,
                              load_state(mirror, spec.source_id), self.origin, {}, today)
        return live.CONNECTORS["overpass"](context)


DAY1, DAY2, DAY3 = dt.date(2024, 5, 14), dt.date(2024, 5, 15), dt.date(2024, 5, 16)


def test_overpass_same_elements_with_a_new_timestamp_are_unchanged(httpserver, mirror):
    overpass = Overpass(httpserver)
    [first] = overpass.run(mirror, DAY1)
    assert (first.status, first.files) == ("new", ("osm-coworking/coworking_2024-05-14.json",))
    fetched_at = load_state(mirror, "osm_coworking")[OVERPASS]["fetched_at"]
    elements = osm_responses.coworking_elements()
    overpass.body = osm_responses.overpass_json(elements[::-1], osm_base="2024-05-15T06:01:02Z")  # also reordered

    [second] = overpass.run(mirror, DAY2)

    assert (second.status, second.files) == ("unchanged", first.files)
    assert second.reason == f"same content as the download of {fetched_at[:10]}"
    assert not (mirror / "osm-coworking" / "coworking_2024-05-15.json").exists()
    assert (mirror / first.files[0]).read_text(encoding="utf-8") == osm_responses.coworking_response()


def test_overpass_changed_elements_land_in_a_new_dated_file(httpserver, mirror):
    overpass = Overpass(httpserver)
    [first] = overpass.run(mirror, DAY1)
    changed = osm_responses.overpass_json(osm_responses.coworking_elements()[1:], osm_base="2024-05-16T06:00:00Z")
    overpass.body = changed

    [second] = overpass.run(mirror, DAY3)

    new_file = "osm-coworking/coworking_2024-05-16.json"
    assert (second.status, second.files) == ("changed", (new_file,))
    assert (mirror / new_file).read_text(encoding="utf-8") == changed
    assert (mirror / first.files[0]).read_text(encoding="utf-8") == osm_responses.coworking_response()  # old kept
    state = load_state(mirror, "osm_coworking")[OVERPASS]
    assert state["files"] == [new_file] and state["sha256"] == elements_sha256(mirror / new_file)
    assert state["etag"] is None


def test_overpass_same_elements_but_missing_file_are_placed_again(httpserver, mirror):
    overpass = Overpass(httpserver)
    [first] = overpass.run(mirror, DAY1)
    (mirror / first.files[0]).unlink()

    [second] = overpass.run(mirror, DAY2)

    assert second.status == "changed" and second.files == ("osm-coworking/coworking_2024-05-15.json",)
    assert (mirror / second.files[0]).is_file()


def test_fetch_source_uses_the_date_of_the_run(monkeypatch, mirror):
    spec = dataclasses.replace(SOURCES["osm_coworking"], live={"connector": "probe"})
    monkeypatch.setitem(live.CONNECTORS, "probe", lambda context: context.today)
    later = dt.datetime(2031, 1, 15, 12, 0)
    monkeypatch.setattr(time, "time", later.timestamp)  # date.today() reads time.time()
    assert dt.date.today() == later.date()

    assert fetch(spec, mirror) == later.date()


def test_the_live_context_never_shows_the_environment_it_carries(tmp_path):
    """The GENESIS token travels in LiveContext.env; a repr in a traceback or log line must not print it."""
    from sources.http import HttpClient
    from sources.live import LiveContext
    from sources.registry import load_sources

    context = LiveContext(spec=load_sources()["regionalstatistik"], client=HttpClient("regionalstatistik"),
                          mirror=tmp_path, workdir=tmp_path, state={}, env={"READINESS_GENESIS_TOKEN": "t0ken-123"})
    assert "t0ken-123" not in repr(context) and "t0ken-123" not in str(context)


def test_a_source_without_its_short_german_name_fails_to_load(tmp_path):
    """The pages would show the raw id ('destatis_gebietsaenderungen') in its place."""
    from sources.registry import SOURCES_YAML, load_sources

    broken = tmp_path / "sources.yaml"
    broken.write_text(SOURCES_YAML.read_text(encoding="utf-8").replace('    label_de: "Breitbandatlas"\n', "", 1),
                      encoding="utf-8")
    with pytest.raises(ValueError, match="source breitbandatlas has no label_de"):
        load_sources(broken)
