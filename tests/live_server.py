"""A local stand-in for every publisher in sources.yaml, served by pytest-httpserver on 127.0.0.1.

Live mode runs with ``READINESS_LIVE_ORIGIN`` pointing here, so a publisher URL
``https://host/path?q`` arrives as ``/host/path``. Every URL declared under ``live:`` in
sources.yaml is answered with a recorded response:

- files of the committed snapshot (real publisher files: Gemeindeverzeichnis, Breitbandatlas,
  INKAR, Mobilfunk CSVs); VG250 is a zip in the BKG layout holding the snapshot's VG5000
  Gemeinde layer renamed VG250_GEM (the real VG250 geometries are not stored here);
- Gigabit-Grundbuch and BA workbooks in the publishers' layouts with the real figures known
  from ../shared/docs/source-formats.md and the 2016 Pendleratlas (tests/publisher_fixtures.py);
- a GENESIS ffcsv zip built from real Gemeindeverzeichnis values (tests/genesis_responses.py);
- an Overpass answer in the real shape with constructed elements (tests/osm_responses.py);
- Pendleratlas CSVs in the layout of ../shared/docs/source-formats.md section 5: München 2024 totals are the
  documented check values, every other figure is constructed (tests/publisher_fixtures.py).

Responses carry an ETag (sha256 of the body) and answer ``If-None-Match`` with 304.
``fail(url, *responses)`` queues misbehaviour for a URL before the normal answer.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re
import zipfile
from pathlib import Path
from urllib.parse import urlsplit

from werkzeug import Request, Response

from sources.registry import SNAPSHOT_DIR, load_sources
from tests import genesis_responses, osm_responses, publisher_fixtures

CONTENT_TYPES = {".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                 ".csv": "text/csv", ".zip": "application/zip", ".parquet": "application/octet-stream",
                 ".json": "application/json"}


class PublisherServer:
    """Routes publisher paths to recorded bodies; counts requests per path."""

    def __init__(self, httpserver):
        self.httpserver = httpserver
        self.bodies: dict[str, tuple[bytes, str]] = {}
        self.pending: dict[str, list] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        for spec in load_sources().values():
            self._register(spec)
        httpserver.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    @property
    def origin(self) -> str:
        return self.httpserver.url_for("/")

    @staticmethod
    def path_of(url: str) -> str:
        parts = urlsplit(url)
        return f"/{parts.netloc}{parts.path}"

    def fail(self, url: str, *responses) -> None:
        """Answer the next requests to ``url`` with ``responses`` (Response objects or callables)."""
        self.pending.setdefault(self.path_of(url), []).extend(responses)

    def set_body(self, url: str, body: bytes, content_type: str) -> None:
        self.bodies[self.path_of(url)] = (body, content_type)

    def count(self, url: str, status: int | None = None) -> int:
        path = self.path_of(url)
        return sum(1 for _, p, s in self.requests if p == path and (status is None or s == status))

    def _handle(self, request: Request) -> Response:
        queued = self.pending.get(request.path)
        if queued:
            response = queued.pop(0)
            response = response if isinstance(response, Response) else response(request)
        elif request.path not in self.bodies:
            response = Response(f"no recorded response for {request.path}", status=404)
        else:
            response = self._recorded(request)
        self.requests.append((request.method, request.path, response.status_code))
        return response

    def _recorded(self, request: Request) -> Response:
        body, content_type = self.bodies[request.path]
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        if request.method == "GET" and request.headers.get("If-None-Match") == etag:
            return Response(status=304, headers={"ETag": etag})
        return Response(body, content_type=content_type, headers={"ETag": etag})

    def _register(self, spec) -> None:
        live = spec.live or {}
        if live.get("connector") == "download":
            for entry in live["downloads"]:
                for vintage in entry.get("vintages", [None]):
                    url = entry["url"].format(vintage=vintage)
                    self.set_body(url, *recorded_download(spec.source_id, entry, vintage))
        elif live.get("connector") == "genesis":
            self.set_body(live["base_url"] + "data/tablefile", genesis_zip(), "application/zip")
        elif live.get("connector") == "overpass":
            self.set_body(live["url"], osm_responses.coworking_response().encode(), "application/json")


def recorded_download(source_id: str, entry: dict, vintage: str) -> tuple[bytes, str]:
    """The body a publisher would send for one declared download (the same bytes all session long)."""
    return _recorded_download(source_id, entry["save_as"], vintage)


@functools.lru_cache(maxsize=None)
def _recorded_download(source_id: str, save_as: str, vintage: str) -> tuple[bytes, str]:
    name = Path(save_as.format(vintage=vintage, date="x")).name
    if source_id == "bkg_vg":
        return vg250_zip(), CONTENT_TYPES[".zip"]
    if source_id == "gigabit_grundbuch":
        month, year = vintage.split("_")
        body = publisher_fixtures.as_bytes(publisher_fixtures.write_bba_workbook, datenstand=f"{month}.{year}")
        return body, CONTENT_TYPES[".xlsx"]
    if source_id == "ba_commuting":
        return ba_workbook(name, vintage)
    if source_id == "pendleratlas":  # constructed files in the documented layout (München 2024 totals real)
        return publisher_fixtures.pendleratlas_file(vintage), CONTENT_TYPES[".csv"]
    for folder in ("destatis-gemeindeverzeichnis", "breitbandatlas", "inkar"):
        path = SNAPSHOT_DIR / folder / name
        if path.is_file():
            return path.read_bytes(), CONTENT_TYPES[path.suffix]
    raise FileNotFoundError(f"no recorded response for {source_id} {vintage}")


@functools.lru_cache(maxsize=None)
def genesis_zip() -> bytes:
    data = genesis_responses.population_ffcsv()
    return genesis_responses.zipped("12411-01-01-5_1771439236084_de_flat.csv", data)


@functools.lru_cache(maxsize=None)
def vg250_zip() -> bytes:
    """The BKG archive layout (folder/vg250_ebenen_0101/VG250_GEM.*, VG250_KRS.*) around the snapshot's layers."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as bundle:
        for part in sorted((SNAPSHOT_DIR / "bkg-vg5000-2021").glob("VG5000_[GK][ER][MS].*")):
            layer = part.stem.replace("VG5000", "VG250")
            bundle.write(part, f"vg250_01-01.utm32s.shape.ebenen/vg250_ebenen_0101/{layer}{part.suffix}")
        bundle.writestr("vg250_01-01.utm32s.shape.ebenen/dokumentation/README.txt", "Dokumentation")
    return buffer.getvalue()


def ba_workbook(name: str, vintage: str) -> tuple[bytes, str]:
    """BA workbooks: Gemeindeband (real Stuttgart 2024 row, marker rows) or Kreis flows (real 2016 flows)."""
    stichtag = f"30.06.{vintage[:4]}"
    if name.startswith("krpend"):
        flows, totals, names = publisher_fixtures.pendler_json_pilot_flows(SNAPSHOT_DIR / "ba-pendleratlas-2016" /
                                                                           "pendler.json")
        body = publisher_fixtures.as_bytes(publisher_fixtures.write_ba_krpend_workbook, flows,
                                           publisher_fixtures.PILOT_KREISE, totals, names, stichtag=stichtag)
        return body, CONTENT_TYPES[".xlsx"]
    workbook = publisher_fixtures.as_bytes(publisher_fixtures.write_ba_gemband_workbook, stichtag=stichtag)
    if name.endswith(".zip"):  # the 2022 edition: a zip around the workbook (xlsb there, xlsx here)
        return genesis_responses.zipped(f"gemband-dlk-0-{vintage}.xlsx", workbook), CONTENT_TYPES[".zip"]
    return workbook, CONTENT_TYPES[".xlsx"]
