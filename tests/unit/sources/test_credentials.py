"""GENESIS credentials reach only the publisher's origin (issue 12.6): two loopback servers on two ports.

The publisher's server redirects the authenticated POST to a second server (another port, or another
host name for the same address): the second must never see the user name or password, whatever the
redirect status; a redirect within the publisher's origin keeps them.
"""

from __future__ import annotations

import pytest
from pytest_httpserver import HTTPServer

from sources.errors import SourceError
from sources.genesis import GenesisCredentials, download_table
from sources.http import HttpClient, HttpSettings, origin_of
from tests import genesis_responses as responses

CREDENTIALS = GenesisCredentials("KR-user-4711", "s3cr3t-XYZ")
ROOT = "/genesisws/rest/2020/"
SECRET_HEADERS = {"username", "password"}


class QuickStopServer(HTTPServer):
    """Stops within 0.05 s: serve_forever's default poll of 0.5 s made each stop wait that long (2.5 s of the
    unit tests' wall time over the five redirect statuses). ``thread_target`` is the documented override."""

    def thread_target(self) -> None:
        self.server.serve_forever(poll_interval=0.05)


@pytest.fixture
def other_server():
    """The second origin: 127.0.0.1 on another port."""
    server = QuickStopServer(host="127.0.0.1", port=0)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def at(server, path: str) -> str:
    """A URL of ``server`` by address (the fixture's url_for says localhost, another host name)."""
    return f"http://127.0.0.1:{server.port}{path}"


def client() -> HttpClient:
    return HttpClient("regionalstatistik", HttpSettings(backoff_seconds=0.01, read_timeout=5, max_attempts=1))


def secret_headers_seen(server) -> list[set[str]]:
    """Per request the server received: which credential headers it carried (by name)."""
    return [{name.lower() for name in request.headers.keys()} & SECRET_HEADERS for request, _ in server.log]


def table_answer(server, path: str) -> None:
    server.expect_request(path).respond_with_data(responses.population_ffcsv(), content_type="text/csv")


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_port_never_carries_the_credentials(httpserver, other_server, tmp_path, status):
    target = at(other_server, "/elsewhere/tablefile")
    httpserver.expect_request(ROOT + "data/tablefile").respond_with_data(
        "", status=status, headers={"Location": target})
    table_answer(other_server, "/elsewhere/tablefile")
    download_table(client(), at(httpserver, ROOT), responses.POPULATION_TABLE, {}, CREDENTIALS, tmp_path)
    assert secret_headers_seen(httpserver) == [SECRET_HEADERS]  # the publisher got them
    assert len(other_server.log) == 1 and secret_headers_seen(other_server) == [set()]
    body = other_server.log[0][0].get_data(as_text=True)
    assert "s3cr3t" not in body and "4711" not in body


def test_a_redirect_to_another_host_name_or_back_never_restores_them(httpserver, tmp_path):
    # same address and port, other host name: another origin; then back to the publisher's origin
    port = httpserver.port
    back = at(httpserver, ROOT + "data/final")
    httpserver.expect_request(ROOT + "data/tablefile").respond_with_data(
        "", status=307, headers={"Location": f"http://localhost:{port}{ROOT}data/hop"})
    httpserver.expect_request(ROOT + "data/hop").respond_with_data("", status=307, headers={"Location": back})
    table_answer(httpserver, ROOT + "data/final")
    download_table(client(), at(httpserver, ROOT), responses.POPULATION_TABLE, {}, CREDENTIALS, tmp_path)
    hosts = [request.host for request, _ in httpserver.log]
    assert hosts[0].startswith("127.0.0.1") and hosts[1].startswith("localhost")
    assert secret_headers_seen(httpserver) == [SECRET_HEADERS, set(), set()]


def test_a_redirect_within_the_publishers_origin_keeps_them(httpserver, tmp_path):
    httpserver.expect_request(ROOT + "data/tablefile").respond_with_data(
        "", status=307, headers={"Location": ROOT + "data/moved"})
    table_answer(httpserver, ROOT + "data/moved")
    path = download_table(client(), at(httpserver, ROOT), responses.POPULATION_TABLE, {}, CREDENTIALS, tmp_path)
    assert path.read_bytes() == responses.population_ffcsv()
    assert secret_headers_seen(httpserver) == [SECRET_HEADERS, SECRET_HEADERS]


def test_credentials_are_never_sent_in_clear_text_off_loopback(tmp_path):
    with pytest.raises(SourceError, match="refusing to send credentials over plain http"):
        client().fetch("http://www-genesis.destatis.de/genesisws/rest/2020/data/tablefile", tmp_path / "x",
                       method="POST", secret_headers=CREDENTIALS.headers())


def test_origins_compare_scheme_host_and_default_port():
    assert origin_of("https://www.regionalstatistik.de/a") == origin_of("HTTPS://WWW.regionalstatistik.de:443/b")
    assert origin_of("http://h/a") != origin_of("https://h/a")
    assert origin_of("http://127.0.0.1:8000/") != origin_of("http://127.0.0.1:8001/")


@pytest.mark.parametrize("redirect", [False, True])
def test_a_loopback_request_never_goes_through_the_environments_proxy(httpserver, other_server, tmp_path,
                                                                      monkeypatch, redirect):
    # other_server plays a corporate HTTP_PROXY: requests would hand it the whole request, headers included
    proxy = f"http://proxyuser:ProxyPass@127.0.0.1:{other_server.port}"  # an account of the proxy's own
    monkeypatch.setenv("HTTP_PROXY", proxy)
    monkeypatch.setenv("http_proxy", proxy)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    other_server.expect_request("").respond_with_data("proxied", status=502)  # what a proxy gets, if any
    final = ROOT + ("data/moved" if redirect else "data/tablefile")
    if redirect:  # requests reads the environment's proxies again for a redirect's target
        httpserver.expect_request(ROOT + "data/tablefile").respond_with_data("", status=307,
                                                                              headers={"Location": final})
    table_answer(httpserver, final)
    path = download_table(client(), at(httpserver, ROOT), responses.POPULATION_TABLE, {}, CREDENTIALS, tmp_path)
    assert path.read_bytes() == responses.population_ffcsv()
    assert other_server.log == []
    assert secret_headers_seen(httpserver)[-1] == SECRET_HEADERS
    # nor the proxy's account: requests adds it on a redirect for the proxy it then does not use
    assert not any("Proxy-Authorization" in request.headers for request, _ in httpserver.log)


def test_the_user_info_of_a_mirror_url_never_reaches_a_message(httpserver, tmp_path, caplog):
    # READINESS_LIVE_ORIGIN may be a mirror with its own account: http://user:password@127.0.0.1:port
    httpserver.expect_request("/mirror/file.csv").respond_with_data("gone", status=404)
    url = f"http://mirror-user:Mirr0r@S3cret@127.0.0.1:{httpserver.port}/mirror/file.csv"  # an "@" in it too
    with pytest.raises(SourceError) as error:
        client().fetch(url, tmp_path / "file.csv")
    assert "HTTP 404" in str(error.value) and f"http://127.0.0.1:{httpserver.port}/mirror/file.csv" in str(error.value)
    assert "S3cret" not in str(error.value) and "mirror-user" not in str(error.value)
    httpserver.expect_request("/mirror/busy.csv").respond_with_data("busy", status=503)
    retrying = HttpClient("inkar", HttpSettings(backoff_seconds=0.01, max_attempts=2), sleep=lambda _: None)
    with pytest.raises(SourceError) as error:
        retrying.fetch(url.replace("file.csv", "busy.csv"), tmp_path / "busy.csv")
    shown = [record.getMessage() for record in caplog.records] + [str(error.value)]
    assert any("retry 2/2" in text for text in shown)
    assert not any("S3cret" in text or "mirror-user" in text for text in shown)
