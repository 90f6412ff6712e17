"""Live mode: download what each source declares under ``live:`` in sources.yaml into the live mirror.

The mirror (``data/live`` by default) is laid out like a directory of publisher files,
so after fetching, discovery, raw landing and parsing are the same as in directory
mode. A download replaces a mirror file only after it has been validated; the raw
landing keeps every version ever seen. Per source, ``.state/<source>.json`` remembers
ETag, Last-Modified and sha256 of each URL, so that an unchanged release is answered
by a 304 or recognised by its hash, and reported as ``unchanged``.

Connectors:
  download  GET each URL (``{vintage}`` expanded from ``vintages``), optionally extract zip members
  genesis   GENESIS / Regionaldatenbank REST ``data/tablefile`` (job flow handled by sources.genesis)
  overpass  one Overpass query (sources.osm_coworking)

With ``READINESS_LIVE_ORIGIN`` every request goes to that origin, so the GENESIS credentials would too:
they go there only if it is loopback (the tests' stand-in) or ``READINESS_LIVE_ORIGIN_CREDENTIALS=1`` says
it is trusted (``origin_gets_credentials``); otherwise the source fails as without an account.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import tempfile
import zipfile
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from sources.archives import extract_members
from sources.errors import SourceError
from sources.http import HttpClient, HttpSettings, is_loopback, origin_of
from sources.registry import SourceSpec, sha256_of


ORIGIN_CREDENTIALS_VAR = "READINESS_LIVE_ORIGIN_CREDENTIALS"


@dataclass(frozen=True)
class FetchOutcome:
    """What happened to one declared download in this run."""

    url: str
    files: tuple[str, ...]  # mirror paths (relative) the download provides
    status: str  # new | changed | unchanged
    reason: str  # e.g. "HTTP 304 Not Modified", "same sha256 as 2026-10-01"
    sha256: str
    size_bytes: int


@dataclass
class LiveContext:
    """Everything a connector needs; ``origin`` sends requests to a local server or caching proxy."""

    spec: SourceSpec
    client: HttpClient
    mirror: Path
    workdir: Path
    state: dict
    origin: str | None = None
    env: dict | None = field(default=None, repr=False)  # holds tokens: never in a repr, log or error text
    today: dt.date = field(default_factory=dt.date.today)  # per run: a long-lived process crosses midnight

    def url(self, url: str) -> str:
        """The publisher URL, or with ``origin`` set: ``<origin>/<publisher host><path>?<query>``."""
        if not self.origin:
            return url
        parts = urlsplit(url)
        query = f"?{parts.query}" if parts.query else ""
        return f"{self.origin.rstrip('/')}/{parts.netloc}{parts.path}{query}"


def fetch_source(spec: SourceSpec, mirror: Path, settings: HttpSettings = HttpSettings(),
                 origin: str | None = None, env: dict | None = None) -> list[FetchOutcome]:
    """Fetch every live download of ``spec`` into ``mirror``; raises SourceError on the first failure."""
    if not spec.live:
        raise SourceError(spec.source_id, "sources.yaml", "no 'live' section: this source cannot be fetched live")
    connector = CONNECTORS.get(spec.live.get("connector"))
    if connector is None:
        raise SourceError(spec.source_id, "sources.yaml", f"unknown live connector {spec.live.get('connector')!r} "
                                                         f"(known: {', '.join(CONNECTORS)})")
    mirror.mkdir(parents=True, exist_ok=True)
    state = load_state(mirror, spec.source_id)
    with tempfile.TemporaryDirectory(dir=mirror, prefix=".download-") as workdir:
        context = LiveContext(spec, HttpClient(spec.source_id, settings), mirror, Path(workdir), state,
                              origin, env if env is not None else dict(os.environ))
        return connector(context)


def _download_connector(context: LiveContext) -> list[FetchOutcome]:
    outcomes = []
    for entry in context.spec.live["downloads"]:
        for vintage in entry.get("vintages", [None]):
            url = entry["url"].format(vintage=vintage)
            # {date}: for "current release" URLs; a changed file lands under a new dated name
            save_as = entry["save_as"].format(vintage=vintage, date=context.today.isoformat())
            outcomes.append(_download_one(context, url, save_as, entry))
    return outcomes


def _download_one(context: LiveContext, url: str, save_as: str, entry: dict) -> FetchOutcome:
    """Conditional GET of one URL; validate, then place the file (or its extracted members) in the mirror."""
    previous = context.state.get(url)
    have_files = previous and all((context.mirror / f).is_file() for f in previous["files"])
    conditional = previous if have_files else {}
    response = context.client.fetch(context.url(url), context.workdir / Path(save_as).name,
                                    etag=conditional.get("etag"), last_modified=conditional.get("last_modified"))
    if response.not_modified:
        return _unchanged(url, previous, "HTTP 304 Not Modified")
    check_payload(context.spec.source_id, url, response.path, entry.get("format", context.spec.format))
    if have_files and previous["sha256"] == response.sha256:
        _remember(context, url, previous["files"], response.sha256, response)
        return _unchanged(url, previous, f"same sha256 as the download of {previous['fetched_at'][:10]}")
    if "extract" in entry:
        target = context.mirror / Path(save_as).parent
        staged = extract_members(context.spec.source_id, response.path, entry["extract"], context.workdir / "x",
                                 label=url)
        files = [_place(path, target / path.name, context.mirror) for path in staged]
        for stale in set(previous["files"] if previous else []) - set(files):  # members the new archive dropped
            (context.mirror / stale).unlink(missing_ok=True)
    else:
        files = [_place(response.path, context.mirror / save_as, context.mirror)]
    _remember(context, url, files, response.sha256, response)
    status = "changed" if previous else "new"
    return FetchOutcome(url, tuple(files), status, f"downloaded {response.size_bytes} bytes", response.sha256,
                        response.size_bytes)


def origin_gets_credentials(origin: str | None, env: dict) -> bool:
    """Whether credentials may go with requests that ``origin`` rewrites (without one: to the publisher).

    The origin receives every request whole, credential headers included: a caching proxy or any host the
    setting names would hold the Regionaldatenbank account. Loopback is this machine (the tests' stand-in);
    anything else must be trusted explicitly with ``READINESS_LIVE_ORIGIN_CREDENTIALS=1``.
    """
    if not origin:
        return True
    return is_loopback(origin_of(origin)[1]) or (env.get(ORIGIN_CREDENTIALS_VAR) or "").strip() == "1"


def _genesis_credentials(context: LiveContext):
    """The GENESIS account for this run; a SourceError, before any request, saying how to do without one."""
    from sources import genesis

    try:
        if not origin_gets_credentials(context.origin, context.env):
            # as if no account were set: a request without credentials would only fetch a login error
            scheme, host, port = origin_of(context.origin)  # no user info or path: those may hold secrets
            raise SourceError(context.spec.source_id, "credentials",
                              f"GENESIS credentials are not sent to READINESS_LIVE_ORIGIN {scheme}://{host}:{port}, "
                              f"which is not loopback: set {ORIGIN_CREDENTIALS_VAR}=1 if that host may hold them")
        return genesis.GenesisCredentials.from_env(context.env)
    except SourceError as exc:  # say how to run live without an account
        raise SourceError(exc.source_id, exc.file, f"{exc.problem}; or leave the source out with "
                                                   f"READINESS_LIVE_SKIP={context.spec.source_id}") from None


def _genesis_connector(context: LiveContext) -> list[FetchOutcome]:
    from sources import genesis  # imported here: only live GENESIS runs need it

    live = context.spec.live
    credentials = _genesis_credentials(context)
    outcomes = []
    for table in live["tables"]:
        url = live["base_url"] + "data/tablefile"
        csv_path = genesis.download_table(context.client, context.url(live["base_url"]), table["name"],
                                          table.get("params", {}), credentials, context.workdir)
        save_as = live["save_as"].format(table=table["name"], date=context.today.isoformat())
        outcomes.append(_keep_if_changed(context, f"{url}#{table['name']}", csv_path, save_as))
    return outcomes


def _overpass_connector(context: LiveContext) -> list[FetchOutcome]:
    from sources import osm_coworking

    live = context.spec.live
    destination = context.workdir / "overpass.json"
    osm_coworking.run_query(context.client, context.url(live["url"]), live["query"], destination)
    save_as = live["save_as"].format(date=context.today.isoformat())
    return [_keep_if_changed(context, live["url"], destination, save_as, content_hash=osm_coworking.elements_sha256)]


def _keep_if_changed(context: LiveContext, key: str, path: Path, save_as: str, content_hash=sha256_of) -> FetchOutcome:
    """For sources without conditional requests: keep a new dated file only if the content changed."""
    digest, previous = content_hash(path), context.state.get(key)
    if previous and previous["sha256"] == digest and all((context.mirror / f).is_file() for f in previous["files"]):
        return _unchanged(key, previous, f"same content as the download of {previous['fetched_at'][:10]}")
    size = path.stat().st_size
    files = [_place(path, context.mirror / save_as, context.mirror)]
    _remember(context, key, files, digest, None)
    return FetchOutcome(key, tuple(files), "changed" if previous else "new", f"downloaded {size} bytes", digest, size)


def check_payload(source_id: str, url: str, path: Path, expected_format: str) -> None:
    """Reject what publishers send instead of data: HTML error pages with status 200, truncated archives."""
    head = path.read_bytes()[:2048].lstrip()
    if head.lower().startswith((b"<!doctype html", b"<html")) and expected_format != "html":
        title = re.search(rb"<title>(.*?)</title>", head, re.IGNORECASE | re.DOTALL)
        shown = f": {title.group(1).decode('utf-8', 'replace').strip()!r}" if title else ""
        raise SourceError(source_id, url, f"got an HTML page instead of {expected_format}{shown}")
    if expected_format == "csv" and head.startswith((b"{", b"[")):
        # an API's error envelope with status 200 ({"error": ...}); it would replace the mirror's good file
        shown = " ".join(head[:200].decode("utf-8", "replace").split())
        raise SourceError(source_id, url, f"got a JSON document instead of csv: {shown!r}")
    if expected_format in {"xlsx", "zip", "xlsb"}:
        if not zipfile.is_zipfile(path):
            raise SourceError(source_id, url, f"expected a {expected_format} file (a zip container) but the "
                                              f"download is not one; it may be truncated")
        try:
            with zipfile.ZipFile(path) as bundle:
                broken = bundle.testzip()
        except (zipfile.BadZipFile, EOFError, zlib.error) as exc:
            broken = f"? ({exc})"
        if broken:
            raise SourceError(source_id, url, f"archive member {broken!r} is corrupt; the download may be truncated")


def _place(path: Path, target: Path, mirror: Path) -> str:
    """Move a validated file into the mirror atomically; returns its mirror-relative path."""
    target.parent.mkdir(parents=True, exist_ok=True)
    os.replace(path, target)
    return target.relative_to(mirror).as_posix()


def _unchanged(url: str, previous: dict, reason: str) -> FetchOutcome:
    return FetchOutcome(url, tuple(previous["files"]), "unchanged", reason, previous["sha256"], 0)


def _remember(context: LiveContext, key: str, files, sha256: str, response) -> None:
    context.state[key] = {
        "files": list(files), "sha256": sha256,
        "etag": response.etag if response else None,
        "last_modified": response.last_modified if response else None,
        "fetched_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    save_state(context.mirror, context.spec.source_id, context.state)


def load_state(mirror: Path, source_id: str) -> dict:
    path = mirror / ".state" / f"{source_id}.json"
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def save_state(mirror: Path, source_id: str, state: dict) -> None:
    """Write the state file atomically, so a killed run never leaves it half-written."""
    path = mirror / ".state" / f"{source_id}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.part")
    partial.write_text(json.dumps(state, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(partial, path)


def outcome_rows(outcomes: list[FetchOutcome]) -> list[dict]:
    return [asdict(o) | {"files": ", ".join(o.files)} for o in outcomes]


CONNECTORS = {"download": _download_connector, "genesis": _genesis_connector, "overpass": _overpass_connector}
