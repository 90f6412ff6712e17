"""Client for the GENESIS REST API "2020" (GENESIS-Online, Regionaldatenbank, Zensus): table files.

``download_table`` POSTs ``data/tablefile`` with ``format=ffcsv`` and returns the path of
the ffcsv table (parse it with ``sources.genesis_ffcsv``). Errors arrive as a JSON
envelope, often with HTTP 200, so the body decides: zip or csv is the table, JSON is
a status (98 too big: re-send as a job; 99 job created: poll ``catalogue/results`` and
fetch ``data/resultfile``; 6 too many parallel requests: wait and retry), HTML is an
error page. Requests are serial, through the shared ``HttpClient`` (it retries 429, 5xx,
network failures). Credentials go only in the ``username``/``password`` headers, only to the origin
of ``base_url`` (HttpClient drops them on a redirect elsewhere), and are
scrubbed from every message; of the responses only the table file is kept.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Mapping

from sources.archives import extract_members
from sources.errors import SourceError, without_userinfo
from sources.http import CONTROL_CHARACTERS, HttpClient, scrub

log = logging.getLogger(__name__)
ENV_HINT = "READINESS_GENESIS_USERNAME/READINESS_GENESIS_PASSWORD or READINESS_GENESIS_TOKEN"
DEFAULT_PARAMS = {"area": "all", "compress": "false", "format": "ffcsv", "language": "de"}
JOB_ID = re.compile(r"\S+_\d+")
PARALLEL_RETRIES = 3  # Code 6 also hits single serial requests (pystatis #147); it passes after a pause


@dataclass(frozen=True)
class GenesisCredentials:
    """A GENESIS user name and password, or an API token (sent as user name, empty password)."""

    username: str
    password: str = ""

    def __repr__(self) -> str:  # never print a secret, not even in a traceback or log
        if not self.password:
            return "GenesisCredentials(token='****')"
        return f"GenesisCredentials(username={self.username[:2] + '****'!r}, password='****')"

    @classmethod
    def from_env(cls, env: Mapping[str, str] = os.environ, username_var: str = "READINESS_GENESIS_USERNAME",
                 password_var: str = "READINESS_GENESIS_PASSWORD",
                 token_var: str = "READINESS_GENESIS_TOKEN") -> "GenesisCredentials":
        """Read a token (preferred) or user name and password from the environment (see ``_env_value``)."""
        token = _env_value(env, token_var)
        if token:
            return cls(token, "")
        username, password = _env_value(env, username_var), _env_value(env, password_var)
        if username and password:
            return cls(username, password)
        missing = [name for name, value in ((username_var, username), (password_var, password)) if not value]
        raise SourceError("genesis", "credentials", f"{' and '.join(missing)} not set: set {token_var}, "
                                                    f"or {username_var} and {password_var}")

    def headers(self) -> dict[str, str]:
        return {"username": self.username, "password": self.password}

    def scrub(self, text: str) -> str:
        """``text`` with the user name/token and password replaced by **** (``sources.http.scrub``)."""
        return scrub(text, (self.password, self.username))


def _env_value(env: Mapping[str, str], name: str) -> str:
    """``env[name]`` without surrounding whitespace ("" if unset); refused if a control character remains.

    A value from ``echo``, a secrets file or a copied line often ends in a newline. Sent as a header, requests
    refuses it and quotes the whole value in its exception, which the event log keeps. Trimming fixes the
    common case; a line break or other control character inside the value cannot be meant, and the error
    names the variable only.
    """
    value = (env.get(name) or "").strip()
    if CONTROL_CHARACTERS.search(value):
        raise SourceError("genesis", "credentials", f"{name} contains a control character (a line break, tab or "
                                                    f"similar inside the value): set it again without one")
    return value


def download_table(client: HttpClient, base_url: str, table: str, params: Mapping[str, str],
                   credentials: GenesisCredentials, workdir: Path, *, poll_interval: float = 5.0,
                   max_wait: float = 3000.0, sleep: Callable[[float], None] = time.sleep) -> Path:
    """Download ``table`` as an ffcsv file into ``workdir`` and return its path.

    ``params`` adds or overrides form parameters (regionalvariable, regionalkey, startyear,
    endyear, language ...). Raises SourceError naming table and endpoint on any failure.
    """
    if {"username", "password"} & {key.lower() for key in params}:
        raise SourceError(client.source_id, f"table {table}", "credentials belong in headers, not in params")
    call = _Calls(client, base_url.rstrip("/") + "/", table, credentials, Path(workdir), poll_interval, sleep)
    form = {**DEFAULT_PARAMS, **params, "name": table}
    result = call.post("data/tablefile", form)
    if _code(result) == 98 and form.get("job") != "true":  # too big for a direct download
        log.info("[%s] table %s too big for a direct download; re-sending as a job", client.source_id, table)
        result = call.post("data/tablefile", {**form, "job": "true"})
    if _code(result) == 99:
        job = call.wait_for(result, max_wait)
        result = call.post("data/resultfile", {"name": job, "area": "user", "compress": "false",
                                               "format": form["format"], "language": form["language"]})
    if isinstance(result, Path):
        return result
    raise call.envelope_error(result, form)


def _code(result) -> int | None:
    """Status.Code of a JSON envelope; None for a file or a status without a numeric code."""
    status = result.get("Status") if isinstance(result, dict) else None
    code = str(status.get("Code")) if isinstance(status, dict) else ""
    return int(code) if code.lstrip("-").isdigit() else None


class _Calls:
    """The requests of one download: every message names table and endpoint, never a secret."""

    def __init__(self, client, base_url, table, credentials, workdir, poll_interval, sleep):
        self.client, self.base_url, self.table, self.credentials = client, base_url, table, credentials
        self.workdir, self.poll_interval, self.sleep = workdir, poll_interval, sleep
        self.stem = re.sub(r"[^\w.-]", "_", table)
        self.url, self.label = base_url + "data/tablefile", f"{base_url}data/tablefile (table {table})"

    def error(self, problem: str) -> SourceError:
        return SourceError(self.client.source_id, self.label, self.credentials.scrub(problem))

    def shown(self, text, limit: int = 120) -> str:
        """Server text for a message: scrubbed first, then on one line, cut and quoted. In this order: a cut
        could halve a credential the server echoes, collapsed spaces or repr's escapes could respell one, and
        either would then slip past the scrub (``error`` scrubs the whole message again)."""
        return repr(" ".join(self.credentials.scrub(str(text)).split())[:limit])

    def post(self, endpoint: str, form: dict) -> Path | dict:
        """POST ``endpoint``; the table file's path, or the JSON envelope. Retries Code 6."""
        url = self.url = self.base_url + endpoint
        self.label = f"{url} (table {self.table})"
        for attempt in range(PARALLEL_RETRIES + 1):
            if attempt:
                wait = max(self.poll_interval, 1.0) * 2 ** (attempt - 1)
                log.warning("[%s] %s: too many parallel requests; retry in %.0f s", self.client.source_id,
                            without_userinfo(url), wait)
                self.sleep(wait)
            log.debug("[%s] POST %s %s", self.client.source_id, without_userinfo(url), form)  # form holds no credentials
            result = self._fetch(url, endpoint, form)
            status = result.get("Status") if isinstance(result, dict) else None
            if not (isinstance(status, dict) and (_code(result) == 6 or "parallel" in str(status.get("Content")))):
                return result
        raise self.error(f"server still reports too many parallel requests (Code {status.get('Code')}: "
                         f"{self.shown(status.get('Content'))}) after {PARALLEL_RETRIES} retries")

    def _fetch(self, url: str, endpoint: str, form: dict) -> Path | dict:
        body = self.workdir / f"{self.stem}.{endpoint.replace('/', '-')}.response"
        try:
            response = self.client.fetch(url, body, method="POST", data=form,
                                         secret_headers=self.credentials.headers())
        except SourceError as exc:  # add the table, keep the HTTP problem
            raise self.error(exc.problem) from None
        try:
            return self._read(response.content_type.split(";")[0].strip().lower(), body)
        finally:  # only the table file stays; envelopes, pages and zips are not kept
            body.unlink(missing_ok=True)

    def _read(self, content_type: str, body: Path) -> Path | dict:
        with body.open("rb") as handle:
            head = handle.read(512)
        text = head.decode("utf-8", "replace").lstrip("\ufeff \r\n\t")
        if text.startswith("{") or content_type == "application/json":
            try:
                envelope = json.loads(body.read_text(encoding="utf-8-sig"))
            except ValueError as exc:
                raise self.error(f"unreadable JSON response ({exc})") from None
            envelope = envelope if isinstance(envelope, dict) else {"Status": {"Content": self._text(body)}}
            if isinstance(envelope.get("Status"), str):  # logincheck-style {"Status": "Ein Fehler ...", "Username"}
                raise self.error(f"login failed: check {ENV_HINT} (server: {self.shown(envelope['Status'])})")
            return envelope
        if text.lower().startswith(("<!doctype", "<html")) or content_type == "text/html":
            raise self.error(f"got an HTML page instead of a table file (Content-Type {content_type!r}): "
                             f"{self.shown(self._text(body))}")
        if head.startswith(b"PK") or "zip" in content_type:
            members = extract_members(self.client.source_id, body, r".+\.csv", self.workdir, label=self.label)
            if len(members) == 1:
                return members[0]
            for member in members:
                member.unlink()
            raise self.error(f"expected one .csv member in the zip, found {[m.name for m in members]}")
        if text.startswith("statistics_code"):  # the ffcsv header; whatever the Content-Type says
            return body.replace(self.workdir / f"{self.stem}_flat.csv")
        raise self.error(f"unexpected response (Content-Type {content_type!r}): {self.shown(self._text(body))}")

    @staticmethod
    def _text(body: Path, limit: int = 8192) -> str:
        """The start of a response body as text, far longer than a message shows: scrubbing the first 512
        bytes only could leave the start of a credential that runs past them."""
        with body.open("rb") as handle:
            return handle.read(limit).decode("utf-8", "replace").lstrip("\ufeff \r\n\t")

    def wait_for(self, created: dict, max_wait: float) -> str:
        """The job id of a Code 99 envelope, once ``catalogue/results`` lists it (at most ``max_wait`` s of pauses)."""
        match = JOB_ID.search(str(created["Status"].get("Content", "")))
        if not match:
            raise self.error(f"job created (Code 99) but no job id in {self.shown(created['Status'].get('Content'))}")
        job, waited = match.group(0), 0.0  # counting the pauses lets a test's no-op sleep end the loop
        log.info("[%s] table %s: waiting for job %s", self.client.source_id, self.table, job)
        while True:
            listing = self.post("catalogue/results", {"selection": job, "area": "user", "pagelength": "1"})
            if not isinstance(listing, dict):
                raise self.error(f"expected the job list, got the file {listing.name}")
            if listing.get("List"):
                return job
            if _code(listing) not in (0, 22, 104):  # 104 "nothing found": the result is not there yet
                raise self.envelope_error(listing, {})
            if waited >= max_wait:
                raise self.error(f"job {job} not finished after {waited:.0f} s")
            self.sleep(self.poll_interval)
            waited += self.poll_interval

    def envelope_error(self, envelope: dict, form: dict) -> SourceError:
        """The SourceError for a JSON envelope that carries no table file."""
        status = envelope.get("Status") or {}
        keys = ", ".join(f"{k}={form[k]}" for k in ("regionalvariable", "regionalkey", "startyear", "endyear")
                         if form.get(k)) or "no regional or time selection"
        problem = {0: "no table file in response", 22: "no table file in response",
                   90: f"table {self.table} does not exist",
                   104: f"nothing found for table {self.table} with these parameters ({keys})"}
        return self.error(f"{problem.get(_code(envelope), 'GENESIS error')} "
                          f"(Code {status.get('Code')!r}: {self.shown(status.get('Content'), 500)})")
