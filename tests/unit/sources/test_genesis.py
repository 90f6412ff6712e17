"""GENESIS client against a local test server (127.0.0.1 only) and the ffcsv parser on real layouts."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import urllib.parse

import pandas as pd
import pytest

from sources import contracts, destatis_gv, genesis_ffcsv
from sources.errors import SourceError
from sources.genesis import GenesisCredentials, download_table
from sources.http import HttpClient, HttpSettings
from sources.registry import SNAPSHOT_DIR, Release, ReleaseFile, discover_releases, load_sources
from tests import genesis_responses as responses

TABLE = responses.POPULATION_TABLE
PARAMS = {"regionalvariable": "GEMEIN", "regionalkey": ",".join(responses.PILOT_TOWNS),
          "startyear": "2021", "endyear": "2023"}
CREDENTIALS = GenesisCredentials("KR-user-4711", "s3cr3t-XYZ")
ROOT = "/genesisws/rest/2020/"
ZIP, CSV, JSON, HTML = "application/zip", "text/csv; charset=utf-8", "application/json", "text/html; charset=utf-8"


@pytest.fixture
def waits():
    return []


@pytest.fixture
def client(waits):
    return HttpClient("genesis", HttpSettings(backoff_seconds=0.01, read_timeout=5), sleep=waits.append)


@pytest.fixture
def real():
    try:
        return {"zip": responses.real_example(responses.REAL_ZIP), "csv": responses.real_example(responses.REAL_CSV)}
    except FileNotFoundError:
        pytest.skip("../shared/data/genesis-api-examples not present")


def serve(httpserver, endpoint, body, content_type=JSON, status=200, headers=None):
    """Queue one response for ``endpoint``, in order."""
    httpserver.expect_ordered_request(ROOT + endpoint, method="POST").respond_with_data(
        body, status=status, content_type=content_type, headers=headers)


def download(httpserver, client, tmp_path, sleeps=None, **kwargs):
    kwargs.setdefault("sleep", (sleeps if sleeps is not None else []).append)
    return download_table(client, httpserver.url_for(ROOT), TABLE, PARAMS, CREDENTIALS, tmp_path, **kwargs)


def forms(httpserver) -> list[tuple[str, dict]]:
    """(path, form fields) of every request the server received."""
    return [(request.path.removeprefix(ROOT), dict(urllib.parse.parse_qsl(request.get_data(as_text=True))))
            for request, _ in httpserver.log]


def observations(path) -> pd.DataFrame:
    release = Release("genesis", "test", [ReleaseFile("table", path, path.name, "0" * 64, 1)])
    return genesis_ffcsv.parse_release(release)["observations"]


def value(table: pd.DataFrame, ags: str, measure: str, date: str):
    rows = table[(table["ags"] == ags) & (table["measure"] == measure)
                 & (table["reference_date"] == dt.date.fromisoformat(date))]
    assert len(rows) == 1, rows
    return rows.iloc[0]


# --- client: table files ----------------------------------------------------------------------

def test_real_zip_response_is_extracted(httpserver, client, tmp_path, real):
    serve(httpserver, "data/tablefile", real["zip"], ZIP,
          headers={"Content-Disposition": "attachment; filename=61111-0001_1771439236084_en_flat.zip"})
    path = download(httpserver, client, tmp_path)
    assert path.name == responses.REAL_CSV and path.read_bytes() == real["csv"]
    assert [p.name for p in tmp_path.iterdir()] == [responses.REAL_CSV]  # the zip is not kept
    assert value(observations(path), "DG", "genesis_preis1_2020_100", "2025-12-31")["value"] == 121.9


def test_text_csv_response_and_the_params_sent(httpserver, client, tmp_path):
    serve(httpserver, "data/tablefile", responses.population_ffcsv(), CSV)
    path = download(httpserver, client, tmp_path)
    assert value(observations(path), "01053090", "population_total", "2023-12-31")["value"] == 19566
    [(endpoint, form)] = forms(httpserver)
    assert endpoint == "data/tablefile"
    assert form == {"name": TABLE, "area": "all", "compress": "false", "format": "ffcsv", "language": "de", **PARAMS}


def test_job_flow_gives_the_same_table_as_a_direct_download(httpserver, client, tmp_path):
    table = responses.population_ffcsv()
    serve(httpserver, "data/tablefile", responses.too_big_98())
    serve(httpserver, "data/tablefile", responses.job_created_99())
    serve(httpserver, "catalogue/results", responses.results_list(done=False))
    serve(httpserver, "catalogue/results", responses.results_list(done=True))
    serve(httpserver, "data/resultfile", responses.zipped(f"{TABLE}_1771439236084_de_flat.csv", table), ZIP)
    sleeps = []
    job_path = download(httpserver, client, tmp_path / "job", sleeps, poll_interval=7.0)
    httpserver.check_assertions()
    sent = forms(httpserver)
    assert [endpoint for endpoint, _ in sent] == ["data/tablefile", "data/tablefile", "catalogue/results",
                                                   "catalogue/results", "data/resultfile"]
    assert "job" not in sent[0][1] and sent[1][1]["job"] == "true"
    assert sent[2][1] == {"selection": responses.JOB_ID, "area": "user", "pagelength": "1"}
    assert sent[4][1] == {"name": responses.JOB_ID, "area": "user", "compress": "false", "format": "ffcsv",
                          "language": "de"}
    assert sleeps == [7.0]  # one pause between the two polls
    assert [p.name for p in (tmp_path / "job").iterdir()] == [job_path.name]

    serve(httpserver, "data/tablefile", table, CSV)
    direct_path = download(httpserver, client, tmp_path / "direct")
    pd.testing.assert_frame_equal(observations(job_path), observations(direct_path))


def test_unfinished_job_times_out(httpserver, client, tmp_path):
    serve(httpserver, "data/tablefile", responses.job_created_99())
    httpserver.expect_request(ROOT + "catalogue/results", method="POST").respond_with_data(
        responses.results_list(done=False), content_type=JSON)
    sleeps = []
    with pytest.raises(SourceError, match=rf"job {responses.JOB_ID} not finished after 15 s"):
        download(httpserver, client, tmp_path, sleeps, poll_interval=5.0, max_wait=15.0)
    assert sleeps == [5.0, 5.0, 5.0] and len(httpserver.log) == 5


@pytest.mark.parametrize("body, content_type, expected", [
    (responses.nothing_found_104(), JSON, f"nothing found for table {TABLE} with these parameters "
                                          f"(regionalvariable=GEMEIN, regionalkey=01053090,"),
    (responses.table_missing_90(), JSON, f"table {TABLE} does not exist"),
    (responses.envelope(0, "erfolgreich"), JSON, "no table file in response"),
    (responses.envelope(15, "Sie sind nicht berechtigt", "Fehler"), JSON, "Code 15: 'Sie sind nicht berechtigt'"),
    (responses.login_failure(CREDENTIALS.username), JSON, "login failed: check READINESS_GENESIS_USERNAME"),
    (responses.login_failure(), "text/plain", "login failed"),  # a JSON body decides, not the header
    (responses.maintenance_page(), HTML, "got an HTML page instead of a table file"),
])
def test_error_responses_name_table_endpoint_and_problem(httpserver, client, tmp_path, body, content_type, expected):
    serve(httpserver, "data/tablefile", body, content_type)
    with pytest.raises(SourceError) as error:
        download(httpserver, client, tmp_path)
    message = str(error.value)
    assert expected in message
    assert f"{httpserver.url_for(ROOT)}data/tablefile (table {TABLE})" in message
    assert list(tmp_path.iterdir()) == []


ECHO_PAGE = "<html><head><title>Login</title></head><body>" + "x" * 61 + " password={pw} rejected</body></html>"


@pytest.mark.parametrize("password, body, content_type", [
    # echoed where the message's cut falls: the cut left 19 of 20 characters before the scrub
    ("Sup3rS3cretPassw0rd!", ECHO_PAGE, HTML),
    ("Sup3rS3cretPassw0rd!", ECHO_PAGE.replace("<html>", "Fehler"), "text/plain"),  # the "unexpected" message
    # a quote in the password, escaped by repr of a text that holds both kinds of quotes
    ("Tr0ub4dor'sHorse99", json.dumps({"Status": {"Code": 5, "Content": 'Login "failed" for password {pw}'}}),
     JSON),
    # collapsed spaces respelled a password with two spaces in a row; and a login failure cut at 120
    ("my  double  spaced", json.dumps({"Status": "Fehler: " + "y" * 90 + " Passwort {pw} falsch"}), JSON),
    ("Tr0ub4dor'sHorse99", json.dumps({"Status": {"Code": 6, "Content": 'zu viele "parallele" {pw}'}}), JSON),
])
def test_a_server_echoing_the_password_never_shows_it(httpserver, client, tmp_path, password, body, content_type):
    credentials = GenesisCredentials("KR-user-4711", password)
    echoed = body.replace("{pw}", password)
    httpserver.expect_request(ROOT + "data/tablefile", method="POST").respond_with_data(echoed,
                                                                                     content_type=content_type)
    with pytest.raises(SourceError) as error:
        download_table(client, httpserver.url_for(ROOT), TABLE, PARAMS, credentials, tmp_path, sleep=lambda _: None)
    message = str(error.value)
    assert "****" in message
    pieces = {password[:n] for n in range(6, len(password) + 1)} | {" ".join(password.split())}
    assert not any(piece in message for piece in pieces), message


def test_too_many_parallel_requests_is_retried(httpserver, client, tmp_path):
    serve(httpserver, "data/tablefile", responses.too_many_parallel_6())
    serve(httpserver, "data/tablefile", responses.population_ffcsv(), CSV)
    sleeps = []
    path = download(httpserver, client, tmp_path, sleeps, poll_interval=5.0)
    assert len(httpserver.log) == 2 and sleeps == [5.0]
    assert value(observations(path), "12070424", "population_total", "2021-12-31")["value"] == 16682


def test_code_6_that_persists_fails(httpserver, client, tmp_path):
    httpserver.expect_request(ROOT + "data/tablefile", method="POST").respond_with_data(
        responses.too_many_parallel_6(), content_type=JSON)
    with pytest.raises(SourceError, match="still reports too many parallel requests"):
        download(httpserver, client, tmp_path, poll_interval=1.0)
    assert len(httpserver.log) == 4


@pytest.mark.parametrize("status, headers, expected_wait", [(503, None, 0.01), (429, {"Retry-After": "1"}, 1.0)])
def test_http_errors_are_retried_by_the_client(httpserver, client, waits, tmp_path, status, headers, expected_wait):
    serve(httpserver, "data/tablefile", "busy", "text/plain", status=status, headers=headers)
    serve(httpserver, "data/tablefile", responses.population_ffcsv(), CSV)
    path = download(httpserver, client, tmp_path)
    assert len(httpserver.log) == 2 and waits == [expected_wait]
    assert value(observations(path), "01053090", "population_total", "2021-12-31")["value"] == 19329


def test_truncated_zip_is_rejected_and_removed(httpserver, client, tmp_path, real):
    serve(httpserver, "data/tablefile", real["zip"][: len(real["zip"]) // 2], ZIP)
    with pytest.raises(SourceError, match="not a complete zip archive") as error:
        download(httpserver, client, tmp_path)
    assert f"(table {TABLE})" in str(error.value) and len(httpserver.log) == 1
    assert list(tmp_path.iterdir()) == []


# --- credentials ------------------------------------------------------------------------------

def test_credentials_go_only_in_headers_and_never_leak(httpserver, client, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    serve(httpserver, "data/tablefile", responses.too_big_98())
    serve(httpserver, "data/tablefile", responses.job_created_99())
    serve(httpserver, "catalogue/results", responses.results_list(done=True))
    serve(httpserver, "data/resultfile", responses.zipped("t_flat.csv", responses.population_ffcsv()), ZIP)
    download(httpserver, client, tmp_path / "ok")
    messages = []
    for body, status in [(responses.nothing_found_104(), 200), (responses.login_failure(CREDENTIALS.username), 200),
                         (f"denied for {CREDENTIALS.username} with {CREDENTIALS.password}", 401)]:
        serve(httpserver, "data/tablefile", body, "text/plain", status=status)
        with pytest.raises(SourceError) as error:
            download(httpserver, client, tmp_path / "failed")
        messages.append(str(error.value))
    assert "HTTP 401" in messages[-1] and "denied for **** with ****" in messages[-1]
    for request, _ in httpserver.log:
        assert (request.headers["username"], request.headers["password"]) == (CREDENTIALS.username,
                                                                            CREDENTIALS.password)
        assert "s3cr3t" not in request.get_data(as_text=True) and "s3cr3t" not in request.url
        assert CREDENTIALS.username not in request.get_data(as_text=True)
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file())
    records = [r.getMessage() for r in caplog.records]
    assert records and any("POST" in r for r in records)
    for secret in (CREDENTIALS.password, CREDENTIALS.username):
        assert not any(secret in text for text in messages + records + [repr(CREDENTIALS), str(CREDENTIALS)])
        assert secret.encode() not in written


def test_credentials_from_environment():
    token = GenesisCredentials.from_env({"READINESS_GENESIS_TOKEN": "tok-123456"})
    assert token.headers() == {"username": "tok-123456", "password": ""} and "tok-123456" not in repr(token)
    pair = GenesisCredentials.from_env({"READINESS_GENESIS_USERNAME": "KR1", "READINESS_GENESIS_PASSWORD": "pw-42"})
    assert pair.headers() == {"username": "KR1", "password": "pw-42"} and "pw-42" not in repr(pair)
    with pytest.raises(SourceError, match="READINESS_GENESIS_PASSWORD not set: set READINESS_GENESIS_TOKEN, or"):
        GenesisCredentials.from_env({"READINESS_GENESIS_USERNAME": "KR1"})
    with pytest.raises(SourceError, match="READINESS_GENESIS_USERNAME and READINESS_GENESIS_PASSWORD not set"):
        GenesisCredentials.from_env({})


def test_credentials_from_environment_are_trimmed_and_control_characters_refused():
    """A trailing newline (echo, a secrets file) is dropped; a control character left inside is refused, and the
    error names the variable, never the value (requests would quote it whole into the event log)."""
    pair = GenesisCredentials.from_env({"READINESS_GENESIS_USERNAME": " KR1\t",
                                        "READINESS_GENESIS_PASSWORD": "pw-42\n"})
    assert pair.headers() == {"username": "KR1", "password": "pw-42"}
    token = GenesisCredentials.from_env({"READINESS_GENESIS_TOKEN": "\r\ntok-123456\r\n"})
    assert token.headers() == {"username": "tok-123456", "password": ""}
    assert GenesisCredentials.from_env({"READINESS_GENESIS_TOKEN": " \n", "READINESS_GENESIS_USERNAME": "KR1",
                                        "READINESS_GENESIS_PASSWORD": "pw-42"}).password == "pw-42"  # blank: unset
    with pytest.raises(SourceError, match="READINESS_GENESIS_PASSWORD not set"):
        GenesisCredentials.from_env({"READINESS_GENESIS_USERNAME": "KR1", "READINESS_GENESIS_PASSWORD": " \n "})
    for var, value in [("READINESS_GENESIS_PASSWORD", "s3cr3t\n-PW\n"), ("READINESS_GENESIS_PASSWORD", "s3cr3t\x00PW"),
                       ("READINESS_GENESIS_TOKEN", "s3cr3t\r\nX-Injected: 1")]:
        env = {"READINESS_GENESIS_USERNAME": "KR1", "READINESS_GENESIS_PASSWORD": "pw-42", var: value}
        with pytest.raises(SourceError, match=f"{var} contains a control character") as error:
            GenesisCredentials.from_env(env)
        assert "s3cr3t" not in str(error.value) and "PW" not in str(error.value)


def test_credentials_in_params_are_refused(httpserver, client, tmp_path):
    with pytest.raises(SourceError, match="credentials belong in headers"):
        download_table(client, httpserver.url_for(ROOT), TABLE, {"password": "x"}, CREDENTIALS, tmp_path)
    assert httpserver.log == []


# --- ffcsv parser -----------------------------------------------------------------------------

def test_real_english_table_with_point_decimals(real, tmp_path):
    path = tmp_path / responses.REAL_CSV
    path.write_bytes(real["csv"])
    table = observations(path)
    index = value(table, "DG", "genesis_preis1_2020_100", "2025-12-31")
    assert (index["value"], index["unit"], index["level"]) == (121.9, "2020=100", "bund")
    assert value(table, "DG", "genesis_preis1_pct", "2023-12-31")[["value", "unit"]].tolist() == [5.9, "percent"]
    assert len(table) == 6


def test_population_table_by_gemeinde_and_sex(tmp_path):
    path = tmp_path / "12411-01-01-5_flat.csv"
    path.write_bytes(responses.population_ffcsv())
    table = observations(path)
    moelln = value(table, "01053090", "population_total", "2023-12-31")
    assert (moelln["value"], moelln["unit"], moelln["level"], moelln["note"]) == (19566, "persons", "gemeinde", "")
    assert value(table, "01053090", "population_male", "2023-12-31")["value"] == 9293
    assert value(table, "01053090", "population_female", "2021-12-31")["value"] == 10085
    marker = value(table, "01053090", "population_total", "2022-12-31")
    assert pd.isna(marker["value"]) and marker["note"] == "publisher marker '-'"
    per_date = table.groupby("reference_date")["ags"].nunique()
    assert len(table) == 3 * per_date.sum() - 2 * per_date[dt.date(2022, 12, 31)]  # the footer line is dropped
    assert set(responses.PILOT_TOWNS) < set(table["ags"]) and set(table["ags"].str[:5]) == responses.PILOT_KREISE


def test_zensus_ars_and_german_decimals(tmp_path):
    """The real Zensus 2022 line of source-formats.md 3.4: a 12-digit ARS and a decimal comma."""
    header = ("statistics_code;statistics_label;time_code;time_label;time;1_variable_code;1_variable_label;"
              "1_variable_attribute_code;1_variable_attribute_label;value;value_unit;value_variable_code;"
              "value_variable_label;value_q")
    line = ("1000A;Bevölkerung kompakt (Gebietsstand 15.05.2022);STAG;Stichtag;2022-05-15;GEOGM4;"
            "Gemeinden (Gebietsstand 15.05.2022);092760130130;Lindberg;108,84;qkm;FLC001;Fläche;e")
    path = tmp_path / "1000A_flat.csv"
    path.write_text("\ufeff" + header + "\n" + line + "\n", encoding="utf-8")
    row = observations(path).iloc[0]
    assert (row["ags"], row["level"], row["measure"], row["unit"]) == ("09276130", "gemeinde", "area_km2", "km2")
    assert (row["value"], row["reference_date"], row["note"]) == (108.84, dt.date(2022, 5, 15), "")


def test_unreadable_tables_are_rejected(tmp_path):
    path = tmp_path / "broken_flat.csv"
    path.write_text("Statistik_Code;Zeit;Wert\n12411;2023;1\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"broken_flat.csv: not an ffcsv table: header lacks"):
        observations(path)
    path.write_bytes(responses.population_ffcsv().replace(b";19566;", b";19566 Personen;"))
    with pytest.raises(SourceError, match="value '19566 Personen' is neither a number nor a publisher marker"):
        observations(path)


@pytest.mark.parametrize("renamed, twice, columns", [
    ("2_variable_attribute_code", "1_variable_attribute_code", "H (field 8), L (field 12)"),  # was an AttributeError
    ("2_variable_code", "value_variable_code", "J (field 10), P (field 16)"),  # was "cannot reindex ..."
])
def test_a_column_named_twice_is_refused_naming_both_columns(tmp_path, renamed, twice, columns):
    path = tmp_path / "12411-01-01-5_flat.csv"
    header, body = responses.population_ffcsv().split(b"\n", 1)
    path.write_bytes(header.replace(renamed.encode(), twice.encode()) + b"\n" + body)
    with pytest.raises(SourceError, match=rf"12411-01-01-5_flat.csv: column '{twice}' appears twice in the header "
                                          rf"\(columns {re.escape(columns)}\)"):
        observations(path)


@pytest.mark.parametrize("unit, message", [
    ("Tsd.", r"BEVSTD \(population_total\) in value_unit 'Tsd.', expected one of \['Anzahl', 'Person', 'Personen'\]"),
    ("1000", r"BEVSTD \(population_total\) in value_unit '1000'"),
])
def test_population_in_another_unit_fails(tmp_path, unit, message):
    """Thousands stored as persons: Mölln with 19.566 inhabitants would pass every range."""
    path = tmp_path / "12411-01-01-5_flat.csv"
    path.write_bytes(responses.population_ffcsv().replace(b";Anzahl;BEVSTD;", f";{unit};BEVSTD;".encode()))
    with pytest.raises(SourceError, match=r"12411-01-01-5_flat.csv: " + message):
        observations(path)


def test_area_in_hectares_fails(tmp_path):
    path = tmp_path / "1000A_flat.csv"
    path.write_text("statistics_code;statistics_label;time_code;time_label;time;1_variable_code;1_variable_label;"
                    "1_variable_attribute_code;1_variable_attribute_label;value;value_unit;value_variable_code;"
                    "value_variable_label\n1000A;Bevölkerung kompakt;STAG;Stichtag;2022-05-15;GEOGM4;Gemeinden;"
                    "092760130130;Lindberg;10884;ha;FLC001;Fläche\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"FLC001 \(area_km2\) in value_unit 'ha'"):
        observations(path)


def test_region_levels_and_skipped_regierungsbezirk(tmp_path, caplog):
    lines = [responses.HEADER.replace("2_variable_code;2_variable_label;2_variable_attribute_code;"
                                      "2_variable_attribute_label;", "")]
    for variable, key in [("DINSG", "DG"), ("DLAND", "01"), ("REGBEZ", "091"), ("KREISE", "01053"),
                          ("GEMEIN", "01053090")]:
        lines.append(f"12411;Fortschreibung des Bevölkerungsstandes;STAG;Stichtag;2023-12-31;{variable};x;{key};x;"
                     "1.234,5;Anzahl;BEV999;Testwert")
    path = tmp_path / "levels_flat.csv"
    path.write_text("\n".join(lines), encoding="utf-8")
    table = observations(path).set_index("ags")
    assert table["level"].to_dict() == {"DG": "bund", "01": "land", "01053": "kreis", "01053090": "gemeinde"}
    assert set(table["value"]) == {1234.5} and set(table["measure"]) == {"genesis_bev999"}
    assert set(table["unit"]) == {"count"} and "skipping 1 rows" in caplog.text


def test_a_table_that_lacks_gemeinden_fails_its_contract(tmp_path):
    """regionalkey '*' asks for every Gemeinde: a table cut inside or between Kreise (a download stopped at a line
    end, a regional filter) was staged as complete, and the missing towns kept an older figure as their latest."""
    gv = load_sources()["destatis_gemeindeverzeichnis"]
    register = pd.concat([destatis_gv.parse_release(r)["register"].assign(vintage=r.label)
                          for r in discover_releases(gv, SNAPSHOT_DIR)], ignore_index=True)

    def check(table: bytes) -> None:
        path = tmp_path / "regionalstatistik" / "12411-01-01-5_2025-03-17.csv"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(table)
        release = Release("regionalstatistik", "2025-03-17", [ReleaseFile("table", path, path.name, "0" * 64, 1)])
        contracts.check_source("regionalstatistik", [(release, genesis_ffcsv.parse_release(release))], register)

    full = responses.population_ffcsv()
    check(full)
    lines = full.decode("utf-8").split("\n")
    without_dippoldiswalde = "\n".join(line for line in lines if ";2023-12-31;GEMEIN;Gemeinden;14628060;" not in line)
    with pytest.raises(SourceError, match=r"\[regionalstatistik\] 12411-01-01-5_2025-03-17.csv: .*column ags: 1 "
                                          r"Gemeinden of the register around 2023-12-31 are missing, e.g. \['14628060'\]"):
        check(without_dippoldiswalde.encode("utf-8"))
    without_kreis = "\n".join(line for line in lines if ";Gemeinden;14628" not in line)
    with pytest.raises(SourceError, match=r"among them every Gemeinde of the Kreise \['14628'\]"):
        check(without_kreis.encode("utf-8"))
