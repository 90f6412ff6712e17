"""One HTTP client for every live source.

It streams a response body to a file while hashing it, retries what is worth retrying
(connection errors, timeouts, truncated bodies, 429 and 5xx) with exponential backoff
that honours ``Retry-After``, sends conditional requests (ETag / Last-Modified) so an
unchanged release costs a 304, and turns everything else into a ``SourceError`` that
names the source, the URL and the problem.

Request headers and bodies are never logged or put into error messages: GENESIS sends
its credentials in them. Every message this client raises or logs goes through ``scrub``
with the values of the current request's credential headers, and every ``requests``
exception becomes a SourceError (requests quotes a header value it refuses, a password
too). Such ``secret_headers`` are bound to the origin (scheme, host,
port) of the URL they are sent to: a redirect to any other origin goes on without them,
as ``requests`` does for Authorization (it does not know custom credential headers), and
they are never sent in clear text to a host other than loopback.
"""

from __future__ import annotations

import email.utils
import hashlib
import ipaddress
import logging
import re
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator
from urllib.parse import urlsplit

import requests
import urllib3

from sources.errors import SourceError, without_userinfo

USER_AGENT = ("kleinstadt-readiness/0.1 (open-data pipeline for German small towns; "
              "+https://github.com/kleinstadt-readiness/kleinstadt-readiness)")
RETRY_STATUSES = {429, 500, 502, 503, 504}
CONTROL_CHARACTERS = re.compile(r"[\x00-\x1f\x7f-\x9f]+")
MIN_SCRUBBED_PIECE = 4  # pieces of a secret between control characters shorter than this stay (they say little)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class HttpSettings:
    """Timeouts, retries and limits; defaults suit the publishers' slow endpoints."""

    connect_timeout: float = 10.0
    read_timeout: float = 300.0  # GENESIS and Overpass take minutes on big requests
    max_attempts: int = 5
    backoff_seconds: float = 2.0  # waits 2, 4, 8, 16 s between attempts
    max_wait_seconds: float = 900.0  # a Retry-After longer than this fails the download
    max_bytes: int = 4 << 30
    # one attempt's whole body: the read timeout bounds each pause only, and a server trickling a byte now and
    # then would hold the run, the warehouse's writer lock and the one-run queue for ever
    max_seconds: float = 1800.0


@dataclass(frozen=True)
class Response:
    """A completed request: the body is in ``path`` unless the server said 304 Not Modified."""

    url: str
    status_code: int
    path: Path | None
    sha256: str | None
    size_bytes: int
    content_type: str
    etag: str | None
    last_modified: str | None
    attempts: int

    @property
    def not_modified(self) -> bool:
        return self.status_code == 304


class TransientAnswer(Exception):
    """Raised by a ``fetch`` caller's ``check`` for a complete 200 whose body says the server could not answer now
    (Overpass: a runtime-error remark on a busy server): retried with the backoff of a 503."""


class _Retry(Exception):
    """A failure worth another attempt; ``wait`` overrides the backoff (Retry-After)."""

    def __init__(self, reason: str, wait: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.wait = wait


def origin_of(url: str) -> tuple[str, str, int | None]:
    """(scheme, host, port) with the scheme's default port filled in: two URLs share credentials only if equal."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or "").lower(), parts.port or {"http": 80, "https": 443}.get(scheme)


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or address, as in a URL) is this machine: 127.0.0.0/8, ::1 or localhost."""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class _OriginBoundSession(requests.Session):
    """A session whose credential headers of the current request stay with that request's origin.

    requests strips Authorization when a redirect leaves the host (``rebuild_auth``) but keeps every
    other header; GENESIS sends ``username``/``password`` headers, so they get the same treatment here,
    stricter: any change of scheme, host or port drops them, and a later redirect back does not restore them.
    """

    def __init__(self):
        super().__init__()
        self.secret_origin: tuple | None = None
        self.secret_names: frozenset[str] = frozenset()

    def merge_environment_settings(self, url, proxies, stream, verify, cert) -> dict:
        """requests' settings from the environment, but this machine is never reached through a proxy: an
        ``HTTP_PROXY`` would otherwise get a loopback request whole, credential headers in clear text included."""
        settings = super().merge_environment_settings(url, proxies, stream, verify, cert)
        if is_loopback(origin_of(url)[1]):
            settings["proxies"] = {}
        return settings

    def rebuild_proxies(self, prepared_request, proxies) -> dict:
        """The same for a redirect's target (requests reads the environment's proxies again there)."""
        new_proxies = super().rebuild_proxies(prepared_request, proxies)
        if not is_loopback(origin_of(prepared_request.url)[1]):
            return new_proxies
        prepared_request.headers.pop("Proxy-Authorization", None)  # the proxy's account, set for a proxy not used
        return {}

    def rebuild_auth(self, prepared_request, response) -> None:
        super().rebuild_auth(prepared_request, response)
        if self.secret_names and origin_of(prepared_request.url) != self.secret_origin:
            dropped = [name for name in self.secret_names if prepared_request.headers.pop(name, None) is not None]
            if dropped:  # names only, never values
                log.warning("redirect from %s://%s:%s to another origin (%s): credential headers %s not sent",
                            *self.secret_origin, urlsplit(prepared_request.url).netloc, sorted(dropped))


class HttpClient:
    """Serial, retrying, hashing HTTP client for one source (one ``requests`` session)."""

    def __init__(self, source_id: str, settings: HttpSettings = HttpSettings(),
                 sleep: Callable[[float], None] = time.sleep):
        self.source_id = source_id
        self.settings = settings
        self.sleep = sleep
        self.session = _OriginBoundSession()
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept-Encoding"] = ACCEPT_ENCODING
        self.secret_values: tuple[str, ...] = ()  # of the current request: scrubbed from every message

    def fetch(self, url: str, destination: Path, *, method: str = "GET", data: dict | None = None,
              headers: dict | None = None, etag: str | None = None,
              last_modified: str | None = None, secret_headers: dict | None = None,
              check: Callable[[Path], None] | None = None) -> Response:
        """Download ``url`` into ``destination`` (written via a ``.part`` file), retrying transient failures.

        ``check`` reads a downloaded body and raises TransientAnswer where the server answered 200 but could not
        answer now: that attempt counts as a retryable failure (its file is removed).

        With ``etag``/``last_modified`` the request is conditional; a 304 returns a Response
        with ``path=None``. Any other non-2xx status, or retries exhausted, raises SourceError.
        ``secret_headers`` (credentials) go only to the origin of ``url``, never after a redirect
        elsewhere, and never over plain http except to loopback.
        """
        request_headers = {**(headers or {}), **(secret_headers or {})}
        self._bind_secrets(url, secret_headers or {})
        if etag:
            request_headers["If-None-Match"] = etag
        if last_modified:
            request_headers["If-Modified-Since"] = last_modified
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._attempt(url, destination, method, data, request_headers, attempt)
                if check is not None and response.path is not None:
                    try:
                        check(response.path)
                    except TransientAnswer as answer:
                        response.path.unlink(missing_ok=True)
                        raise _Retry(self._scrub(str(answer))) from None
                return response
            except _Retry as retry:
                if attempt >= self.settings.max_attempts:
                    raise SourceError(self.source_id, url,
                                      f"gave up after {attempt} attempts: {retry.reason}") from None
                wait = retry.wait if retry.wait is not None else self.settings.backoff_seconds * 2 ** (attempt - 1)
                if wait > self.settings.max_wait_seconds:
                    raise SourceError(self.source_id, url, f"{retry.reason}; server asks to wait {wait:.0f} s, "
                                      f"more than the limit of {self.settings.max_wait_seconds:.0f} s") from None
                log.warning("[%s] %s %s: %s; retry %d/%d in %.1f s", self.source_id, method, without_userinfo(url),
                            retry.reason,
                            attempt + 1, self.settings.max_attempts, wait)
                self._drop_connections()
                self.sleep(wait)

    def _drop_connections(self) -> None:
        """Close the session's pooled connections: the retry opens a new one. Why: an answer whose framing looked
        whole (a gzip body cut in half under a matching Content-Length) leaves its connection in the pool; a
        server that closes it unannounced then resets the retry's request, and the attempt reported "connection
        failed" instead of the truncated body (the unit tests' raw server, once in 6 runs at load 6)."""
        for adapter in self.session.adapters.values():
            adapter.close()

    def _bind_secrets(self, url: str, secrets: dict) -> None:
        """Tell the session which headers of this request are credentials, and for which origin."""
        origin = origin_of(url)
        if secrets and origin[0] != "https" and not is_loopback(origin[1]):
            raise SourceError(self.source_id, url, "refusing to send credentials over plain http to a host other "
                                                   "than loopback: the GENESIS URL (sources.yaml, or "
                                                   "READINESS_LIVE_ORIGIN) must be https")
        self.session.secret_origin = origin
        self.session.secret_names = frozenset(secrets)
        self.secret_values = tuple(value for value in secrets.values() if value)

    def _scrub(self, text: str) -> str:
        """``text`` without the current request's credential values (see ``scrub``)."""
        return scrub(text, self.secret_values)

    def _cause(self, exc: BaseException, limit: int = 200) -> str:
        """The message of the root cause of ``exc``, scrubbed before it is cut: a cut could halve a secret."""
        return self._scrub(_root_cause(exc))[:limit]

    def _attempt(self, url, destination, method, data, headers, attempt) -> Response:
        timeout = (self.settings.connect_timeout, self.settings.read_timeout)
        try:
            with self.session.request(method, url, data=data, headers=headers, timeout=timeout,
                                      stream=True) as response:
                if response.status_code in RETRY_STATUSES:
                    raise _Retry(self._scrub(f"HTTP {response.status_code} {response.reason}"),
                                 retry_after_seconds(response.headers.get("Retry-After")))
                if response.status_code == 304:
                    return self._response(url, response, None, None, 0, attempt)
                if not 200 <= response.status_code < 300:
                    status = self._scrub(f"HTTP {response.status_code} {response.reason}")
                    raise SourceError(self.source_id, url, f"{status}: {_snippet(response, self._scrub)}")
                sha256, size = self._stream_to(response, destination, url)
                return self._response(url, response, destination, sha256, size, attempt)
        except requests.Timeout as exc:
            raise _Retry(f"timed out ({type(exc).__name__})") from exc
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError) as exc:
            raise _Retry(f"connection failed ({type(exc).__name__}: {self._cause(exc)})") from exc
        except requests.RequestException as exc:
            # Not worth a retry (InvalidHeader, InvalidURL, TooManyRedirects, ...). requests quotes the header
            # value it refuses, a password among them, and Dagster keeps an uncaught exception's text and its
            # chain in the event log: only the scrubbed message goes on, without the chain.
            raise SourceError(self.source_id, url,
                              f"request failed ({type(exc).__name__}: {self._cause(exc)})") from None

    def _stream_to(self, response: requests.Response, destination: Path, url: str) -> tuple[str, int]:
        """Write the body to ``destination`` via a temporary file; check length, size and time limits."""
        destination.parent.mkdir(parents=True, exist_ok=True)
        partial = destination.with_name(destination.name + ".part")
        digest, size = hashlib.sha256(), 0
        deadline = time.monotonic() + self.settings.max_seconds
        try:
            with partial.open("wb") as handle:
                for block in _decoded_blocks(response):
                    size += len(block)
                    if size > self.settings.max_bytes:
                        raise SourceError(self.source_id, url, f"response larger than {self.settings.max_bytes} "
                                                               "bytes; refusing to download")
                    if time.monotonic() > deadline:
                        raise _Retry(f"body not complete after {self.settings.max_seconds:.0f} s ({size} bytes)")
                    digest.update(block)
                    handle.write(block)
            partial.replace(destination)
        except urllib3.exceptions.ReadTimeoutError as exc:  # raw reads raise urllib3's errors, not requests'
            raise _Retry(f"timed out ({type(exc).__name__})") from exc
        except urllib3.exceptions.HTTPError as exc:  # a dropped connection, a TLS error, a broken chunk
            raise _Retry(f"connection failed ({type(exc).__name__}: {self._cause(exc)})") from exc
        finally:
            partial.unlink(missing_ok=True)
        return digest.hexdigest(), size

    @staticmethod
    def _response(url, response, path, sha256, size, attempt) -> Response:
        return Response(url=url, status_code=response.status_code, path=path, sha256=sha256, size_bytes=size,
                        content_type=response.headers.get("Content-Type", ""), etag=response.headers.get("ETag"),
                        last_modified=response.headers.get("Last-Modified"), attempts=attempt)


def scrub(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every secret replaced by ****, also as Python quotes it and around control characters.

    Exceptions quote a bad value with ``repr`` (requests' InvalidHeader: ``'s3cr3t\\n'``), so a value with a
    newline does not appear verbatim; its escaped form, its stripped form and the pieces between its control
    characters are replaced too, longest first (a shorter form must not cut a longer one in two).
    """
    forms: set[str] = set()
    for secret in secrets:
        if secret:
            forms |= {secret, secret.strip(), " ".join(secret.split()), repr(secret)[1:-1],
                      repr(secret.encode("utf-8", "replace"))[2:-1]}
            # repr of a text holding both quote kinds escapes the one it quotes with, whatever the secret's own repr
            forms |= {repr(secret)[1:-1].replace(quote, "\\" + quote) for quote in "'\""}
            forms |= {piece for piece in CONTROL_CHARACTERS.split(secret) if len(piece.strip()) >= MIN_SCRUBBED_PIECE}
    for form in sorted(filter(None, forms), key=len, reverse=True):
        text = text.replace(form, "****")
    return text


def retry_after_seconds(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date); None if absent or invalid."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


ACCEPT_ENCODING = "gzip, deflate"  # what _inflater decodes; requests would add br or zstd when their packages exist
UNSUPPORTED_ENCODINGS = {"br", "zstd", "compress", "x-compress"}


def _inflater(response: requests.Response):
    """urllib3's decoder of the body's Content-Encoding (gzip: every member, trailing bytes after one ignored;
    deflate: zlib-wrapped or raw); None for an unencoded body (or a value urllib3 ignores too, such as 'UTF-8');
    _Retry for an encoding not asked for."""
    codings = [c.strip().lower() for c in (response.headers.get("Content-Encoding") or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if len(codings) > 1 or (codings and codings[0] in UNSUPPORTED_ENCODINGS):
        raise _Retry(f"unsupported Content-Encoding {response.headers.get('Content-Encoding')!r}")
    if not codings or codings[0] not in ("gzip", "x-gzip", "deflate"):
        return None
    return urllib3.response.DeflateDecoder() if codings[0] == "deflate" else urllib3.response.GzipDecoder()


def _ended(decoder) -> bool:
    """Whether the decoded stream reached its end: the deflate stream's, or the last gzip member's. urllib3 goes on
    to the next member after one: a member cut short after a whole one is not the end (it was taken as one, and
    half a file stored); bytes after a whole member that are no member at all (padding) are, as urllib3 swallows
    them. A single byte after a whole member is refused: the decoder cannot tell a stray one from a member's first.

    Reads urllib3's private state (``_obj``, ``_state``): urllib3 does not say whether a stream ended, which is
    the one thing a truncated compressed body shows (tests/unit/sources/test_http.py fails if this changes)."""
    swallowed_trailer = (isinstance(decoder, urllib3.response.GzipDecoder)
                         and decoder._state == urllib3.response.GzipDecoderState.SWALLOW_DATA)
    return swallowed_trailer or bool(decoder._obj.eof)


def _decode(decoder, raw: bytes, size: int) -> Iterator[bytes]:
    """The decoded blocks of one piece of the body, none longer than ``size``: a small body may inflate to
    gigabytes, so what a piece decodes to beyond ``size`` waits in the decoder (its unconsumed tail)."""
    block = decoder.decompress(raw, max_length=size)
    while True:
        if block:
            yield block
        if not decoder.has_unconsumed_tail:
            return
        block = decoder.decompress(b"", max_length=size)
        if not block and decoder.has_unconsumed_tail:  # no progress: never loop on the same bytes
            raise _Retry("corrupt compressed body (the decoder stalls)")


def _decoded_blocks(response: requests.Response, size: int = 1 << 20) -> Iterator[bytes]:
    """The body's blocks, decoded; a truncated body raises _Retry.

    Why not ``iter_content``: urllib3 checks neither a compressed body's Content-Length nor that the gzip
    stream ended, so half a gzipped file was stored as the whole (review of 5 December: 138,198 of 288,894
    bytes, the last line cut mid-row). Here the bytes on the wire are counted against Content-Length and the
    decompressor must reach the stream's end. urllib3's own errors while reading propagate (``_stream_to`` maps
    them).
    """
    decoder = _inflater(response)
    received = 0
    try:
        # read1: what has arrived, up to size (read would wait for the whole size, past the download deadline)
        while raw := response.raw.read1(size, decode_content=False):
            received += len(raw)
            yield from (_decode(decoder, raw, size) if decoder is not None else (raw,))
        rest = decoder.flush() if decoder is not None and received else b""
    except zlib.error as exc:
        raise _Retry(f"corrupt {response.headers.get('Content-Encoding')} body ({exc})") from None
    if rest:
        yield rest
    expected = response.headers.get("Content-Length")
    if expected and expected.isdigit() and int(expected) != received:
        raise _Retry(f"truncated body: {received} of {expected} bytes")
    if decoder is not None and received and not _ended(decoder):  # an empty body is an empty file, as before
        raise _Retry(f"truncated body: the {response.headers.get('Content-Encoding')} stream ends early "
                     f"({received} bytes received)")


def _snippet(response: requests.Response, clean: Callable[[str], str] = str, limit: int = 200) -> str:
    """The start of an error body, as one line (enough to recognise an HTML error page).

    ``clean`` (the scrub) sees more than is shown and the text before its spaces are collapsed: a server that
    echoes a credential must not leave half of it at the cut, or a changed spelling of it.
    """
    text = clean(response.raw.read(limit + 4096, decode_content=True).decode("utf-8", "replace"))
    return " ".join(text.split())[:limit] or "(empty body)"


def _root_cause(exc: BaseException) -> str:
    """The whole message of the innermost exception of the chain (callers scrub, then cut it)."""
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__
    return str(exc)
