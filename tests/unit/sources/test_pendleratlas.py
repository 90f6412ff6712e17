"""Pendleratlas (Pendlerrechnung): parser on files in the documented layout, check values, failures.

The files are built by tests/publisher_fixtures.py: München 2024 totals are the check values of
../shared/docs/source-formats.md section 5, every other figure is constructed (no real file exists offline).
"""

from __future__ import annotations

import datetime as dt
import re

import pytest

from sources import pendleratlas
from sources.errors import SourceError
from sources.registry import discover_releases, load_sources
from tests import publisher_fixtures

SPEC = load_sources()["pendleratlas"]


@pytest.fixture
def folder(tmp_path):
    publisher_fixtures.write_pendleratlas_folder(tmp_path)
    return tmp_path


def release_of(folder, year="2024"):
    return {r.vintage: r for r in discover_releases(SPEC, folder)}[year]


def value(observations, ags, measure):
    rows = observations[(observations["ags"] == ags) & (observations["measure"] == measure)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def test_discovery_finds_four_years_with_all_files(folder):
    releases = discover_releases(SPEC, folder)
    assert [r.vintage for r in releases] == ["2021", "2022", "2023", "2024"]
    roles = [f.role for f in releases[-1].files]
    assert roles.count("indicator") == 6 and roles.count("flows") == 16


def test_check_values_for_muenchen_2024(folder):
    observations = pendleratlas.parse_release(release_of(folder))["observations"]
    muenchen = "09162000"  # ARS 091620000000 -> AGS ARS[0:5] + ARS[9:12]
    assert value(observations, muenchen, "in_commuters")["value"] == 529834
    assert value(observations, muenchen, "out_commuters")["value"] == 248679
    assert value(observations, muenchen, "commuter_balance")["value"] == 281155
    assert value(observations, muenchen, "in_commuter_share")["value"] == 45.3
    assert value(observations, muenchen, "internal_commuters")["value"] == 640422
    row = value(observations, muenchen, "in_commuters")
    assert (row["level"], row["reference_date"], row["unit"]) == ("gemeinde", dt.date(2024, 6, 30), "employed persons")
    assert value(observations, muenchen, "in_commuters_men")["value"] + \
        value(observations, muenchen, "in_commuters_women")["value"] == 529834


def test_marker_is_kept_as_missing_with_the_marker(folder):
    observations = pendleratlas.parse_release(release_of(folder))["observations"]
    row = value(observations, "09181114", "internal_commuters_women")
    assert row["value"] is None or row["value"] != row["value"]  # NULL
    assert row["note"] == "marker '.'"
    assert value(observations, "09181114", "internal_commuters")["note"] == ""


def test_flows_with_distances_and_both_directions(folder):
    flows = pendleratlas.parse_release(release_of(folder))["gemeinde_flows"]
    moelln = flows[(flows["ags"] == "01053090") & (flows["direction"] == "out")].set_index("rank")
    assert moelln.loc[1, ["partner_ags", "commuters", "distance_km"]].tolist() == ["02000000", 2100, 46.0]
    assert len(moelln) == 3
    assert len(flows[(flows["ags"] == "01053090") & (flows["direction"] == "in")]) == 2  # rank 3 has no origin
    berlin = flows[(flows["ags"] == "09162000") & (flows["direction"] == "in")].iloc[0]
    assert (berlin["partner_ags"], berlin["distance_km"]) == ("11000000", 501.0)


def test_flows_above_the_towns_commuters_fail(folder):
    """Mölln's three listed destinations hold 3,780 of its 6,426 out-commuters; 7,000 to Hamburg alone is a flow
    file of another year or a shifted column (it ranked a town first in the coworking-gap ranking)."""
    flows = folder / "pendleratlas" / "2024" / "2024_Verfl_L01.csv"
    flows.write_text(flows.read_text(encoding="utf-8").replace(";020000000000;2100;", ";020000000000;7000;"),
                     encoding="utf-8")
    with pytest.raises(SourceError, match=r"2024_Verfl_L01.csv: Gemeinde 01053090: its listed out-flows hold 8,680 "
                                          r"commuters, more than its 6,426 in the AUSP file of this year"):
        pendleratlas.parse_release(release_of(folder))


def swap_bodies(folder, year, first, second):
    """The data rows of two indicator files exchanged, each file keeping its own header."""
    paths = [folder / "pendleratlas" / year / f"{year}_{code}_Karte_L00.csv" for code in (first, second)]
    lines = [p.read_text(encoding="utf-8").splitlines() for p in paths]
    for path, own, other in ((paths[0], lines[0], lines[1]), (paths[1], lines[1], lines[0])):
        path.write_text("\n".join([own[0], *other[1:]]) + "\n", encoding="utf-8")


def set_cell(folder, year, code, ars, column, text):
    """Field ``column`` (1: the total) of the row ``ars`` in a year's indicator file set to ``text``."""
    path = folder / "pendleratlas" / year / f"{year}_{code}_Karte_L00.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        fields = line.split(";")
        if fields[0] == ars:
            fields[column] = text
            lines[i] = ";".join(fields)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_rate_files_with_swapped_bodies_fail_naming_files_row_and_both_numbers(folder):
    """EIP_Quote and AUSP_Quote exchanged under their own headers were published: Mölln's out-commuter share 61.8 ->
    51.2 (review of 5 December). A rate is its count / (count + IOP): Mölln's 2024 in-commuter rate is 4,182 of
    4,182 + 3,978 = 51.2, not the 61.8 the swapped EIP_Quote file gives."""
    swap_bodies(folder, "2024", "EIP_Quote", "AUSP_Quote")
    with pytest.raises(SourceError, match=r"^\[pendleratlas\] pendleratlas/2024/2024_EIP_Quote_Karte_L00.csv: row 2 "
                                          r"\(Gemeinde 01053090\): EIP_Quote 61.8, but EIP / \(EIP \+ IOP\) \* 100 from "
                                          r"2024_EIP_Karte_L00.csv and 2024_IOP_Karte_L00.csv is 51.2 \(4,182 of 8,160\); "
                                          r"6 of 6 Gemeinden disagree"):
        pendleratlas.parse_release(release_of(folder))


def test_a_count_file_of_another_indicator_fails_on_the_rates(folder):
    """AUSP and EIP exchanged: each file's header is right, the rates no longer follow from the counts."""
    swap_bodies(folder, "2023", "EIP", "AUSP")
    with pytest.raises(SourceError, match=r"2023_EIP_Quote_Karte_L00.csv: row 2 \(Gemeinde 01053090\): EIP_Quote "):
        pendleratlas.parse_release(release_of(folder, "2023"))


def test_an_indicator_file_cut_short_or_of_another_year_fails_naming_it(folder):
    """AUSP_Quote cut after its first Gemeinde (a download that stopped at a line end) used to pass: the rate check
    compares only the Gemeinden the rate file lists, and the others took their share from INKAR for 2024."""
    path = folder / "pendleratlas" / "2024" / "2024_AUSP_Quote_Karte_L00.csv"
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(lines[:2]) + "\n", encoding="utf-8")
    total = len(lines) - 1
    with pytest.raises(SourceError, match=rf"^\[pendleratlas\] pendleratlas/2024/2024_AUSP_Quote_Karte_L00.csv: lacks "
                                          rf"{total - 1} of the {total} Gemeinden of this year's indicator files, e\.g\. "
                                          r"\d{8} \(listed in 2024_(EIP|AUSP|Saldo|EIP_Quote|IOP)_Karte_L00.csv\)"):
        pendleratlas.parse_release(release_of(folder))
    # a Gemeinde only one file lists: that file's rows belong elsewhere, each other file is named as lacking it
    path.write_text("\n".join([*lines, "010539999999;50.0;50.0;50.0"]) + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"/2024_(EIP|AUSP|Saldo|EIP_Quote|IOP)_Karte_L00.csv: lacks 1 of the \d+ Gemeinden .* e\.g\. 01053999 "
                                          r"\(listed in 2024_AUSP_Quote_Karte_L00.csv\)"):
        pendleratlas.parse_release(release_of(folder))


def test_rates_within_rounding_pass_and_a_marker_is_skipped(folder):
    """München's 45.3 is 529,834 / 1,170,256 = 45.28: 45.4 is within the rounding allowance, 45.6 is not; a rate
    suppressed with a marker has nothing to compare."""
    set_cell(folder, "2024", "EIP_Quote", publisher_fixtures.MUENCHEN_ARS, 1, "45.4")
    set_cell(folder, "2024", "AUSP_Quote", "010530090090", 1, ".")
    observations = pendleratlas.parse_release(release_of(folder))["observations"]
    assert value(observations, "09162000", "in_commuter_share")["value"] == 45.4
    set_cell(folder, "2024", "EIP_Quote", publisher_fixtures.MUENCHEN_ARS, 1, "45.6")
    with pytest.raises(SourceError, match=r"row 7 \(Gemeinde 09162000\): EIP_Quote 45.6, but .* is 45.3 "
                                          r"\(529,834 of 1,170,256\); 1 of 6 Gemeinden disagree"):
        pendleratlas.parse_release(release_of(folder))


def year_on_year(folder, edit=lambda frame: frame):
    """``contracts.year_on_year`` of the folder's four parsed releases, the newest changed by ``edit`` first."""
    import duckdb
    import pandas as pd

    from sources import contracts

    frames = []
    for release in discover_releases(SPEC, folder):
        frame = pendleratlas.parse_release(release)["observations"].assign(source_id="pendleratlas",
                                                                           vintage=release.vintage)
        frames.append(edit(frame) if release.vintage == "2024" else frame)
    observations = pd.concat(frames, ignore_index=True)  # noqa: F841 (read by DuckDB below)
    con = duckdb.connect()
    con.execute("CREATE TABLE observations AS SELECT *, NULL::VARCHAR AS source_level FROM observations")
    con.execute("CREATE TABLE municipality_register (ags VARCHAR, vintage VARCHAR, territorial_date DATE)")
    con.execute("CREATE TABLE territorial_changes (from_vintage VARCHAR, to_vintage VARCHAR, from_ags VARCHAR, "
                "to_ags VARCHAR, kind VARCHAR, evidence VARCHAR)")
    return contracts.year_on_year(con, ["pendleratlas"])


def test_year_on_year_stops_a_year_in_shares_and_a_count_in_another_unit(folder):
    """Mölln's out-commuter share 61.8 in 2021-2023 was published as 0.618 in 2024: the contract had no year-on-year
    rule for the Pendleratlas (review of 5 December). The constructed years (+0.7 % a year) pass."""
    assert year_on_year(folder).empty

    def shares_and_thousands(frame):
        moelln = frame["ags"] == "01053090"
        frame.loc[moelln & (frame["measure"] == "out_commuter_share"), "value"] = 0.618
        frame.loc[moelln & (frame["measure"] == "internal_commuters_men"), "value"] *= 1000
        return frame
    findings = year_on_year(folder, shares_and_thousands)
    assert findings[["vintage", "prev_vintage", "ags", "measure", "prev_value", "value"]].values.tolist() == [
        ["2024", "2023", "01053090", "internal_commuters_men", 2055.0, 2069000.0],
        ["2024", "2023", "01053090", "out_commuter_share", 61.8, 0.618]]
    assert findings["bound"].tolist() == ["factor 1006.813 in 1.0 years (bound 2.0x a year)",
                                          "changed by -61.2 points (bound 40)"]


def test_ars_and_values_helpers():
    assert pendleratlas.ars_to_ags("pendleratlas", "f.csv", 2, "ARS", "010530090090") == "01053090"
    with pytest.raises(SourceError, match=r"f.csv: row 7, column ARS: '01053090' is not a 12-digit ARS"):
        pendleratlas.ars_to_ags("pendleratlas", "f.csv", 7, "ARS", "01053090")
    assert pendleratlas.parse_value("p", "f", 2, "EIP", "-1234") == (-1234.0, "")
    assert pendleratlas.parse_value("p", "f", 2, "EIP_Quote", "45,3") == (45.3, "")
    assert pendleratlas.parse_value("p", "f", 2, "EIP_Quote", "45.3") == (45.3, "")
    assert pendleratlas.parse_value("p", "f", 2, "AUSP_km", "1.234,5") == (1234.5, "")
    assert pendleratlas.parse_value("p", "f", 2, "EIP", "-") == (None, "marker '-'")
    assert pendleratlas.parse_value("p", "f", 2, "EIP", "") == (None, "marker '' (empty)")
    # counts: a German thousands point is one (not 529.834 people), a typographic minus is a minus
    assert pendleratlas.parse_value("p", "f", 2, "EIP", "529.834") == (529834.0, "")
    assert pendleratlas.parse_value("p", "f", 2, "Saldo_w", "\u22122.244") == (-2244.0, "")
    assert pendleratlas.parse_value("p", "f", 2, "AUSP_AO", "4.000") == (4000.0, "")
    with pytest.raises(SourceError, match=r"row 3, column EIP_m: '4.18' is not a whole number \(a count"):
        pendleratlas.parse_value("p", "f", 3, "EIP_m", "4.18")
    with pytest.raises(SourceError, match=r"row 3, column EIP: '45.3' is not a whole number"):
        pendleratlas.parse_value("p", "f", 3, "EIP", "45,3")
    for text in ("12a", "n.v.", "(4)", "inf"):  # neither a number nor a marker: no silent NULL
        with pytest.raises(SourceError, match=f"row 3, column EIP_w: '{re.escape(text)}' is neither a number nor a "
                                              "publisher marker"):
            pendleratlas.parse_value("p", "f", 3, "EIP_w", text)


@pytest.mark.parametrize("name, content, message", [
    ("2024_EIP_Karte_L00.csv", "AGS;EIP;EIP_m;EIP_w\n09162000;1;1;0\n",
     "header 'AGS;EIP;EIP_m;EIP_w', expected 'ARS;EIP;EIP_m;EIP_w'"),
    ("2024_EIP_Karte_L00.csv", "ARS;EIP;EIP_m;EIP_w\n091620000000;1;1\n", "row 2: 3 fields, expected 4"),
    ("2024_EIP_Karte_L00.csv", "ARS;EIP;EIP_m;EIP_w\n9162000;1;1;0\n", "row 2, column ARS: '9162000' is not"),
    ("2024_EIP_Karte_L00.csv", "ARS;EIP;EIP_m;EIP_w\n091620000000;1;1;0\n091620000000;2;1;1\n",
     "Gemeinde 09162000 appears twice"),
    ("2024_EIP_Karte_L00.csv", "<!DOCTYPE html><html><title>Wartung</title></html>", "an HTML page"),
    ("2024_Verfl_L09.csv", "Rang;ARS;ARS_AO;AUSP_AO;AUSP_km;ARS_WO;EIP_WO;EIP_km\n11;091620000000;091840000000;1;1;;;\n",
     "row 2, column Rang: '11' is not a rank 1-10"),
    ("2024_Verfl_L09.csv", "Rang;ARS;Ziel;AUSP_AO;AUSP_km;ARS_WO;EIP_WO;EIP_km\n", "expected 'Rang;ARS;ARS_AO"),
    # a town as its own destination (its page listed "1 Mölln 3.000 0 km"): commuters leave their Gemeinde
    ("2024_Verfl_L09.csv", "Rang;ARS;ARS_AO;AUSP_AO;AUSP_km;ARS_WO;EIP_WO;EIP_km\n"
                           "1;091620000000;091620000000;3000;0;;;\n",
     "row 2, column ARS_AO: the partner is the Gemeinde 09162000 itself"),
])
def test_layout_differences_fail_naming_file_row_and_column(folder, name, content, message):
    (folder / "pendleratlas" / "2024" / name).write_text(content, encoding="utf-8")
    with pytest.raises(SourceError, match=f"pendleratlas/2024/{name}: .*{message}".replace("(", r"\(")):
        pendleratlas.parse_release(release_of(folder))


# --- live mode against the local publisher (tests/live_server.py) and directory mode -------------------------

def http_settings():
    from sources.http import HttpSettings
    return HttpSettings(backoff_seconds=0.01, read_timeout=2.0, max_attempts=2)


def test_live_fetch_then_unchanged_then_parsed_like_directory_mode(httpserver, tmp_path):
    from sources.live import fetch_source
    from tests.live_server import PublisherServer

    publishers = PublisherServer(httpserver)
    mirror = tmp_path / "live"
    first = fetch_source(SPEC, mirror, http_settings(), origin=publishers.origin)
    assert len(first) == 6 * 4 + 16 * 4 and {o.status for o in first} == {"new"}
    assert (mirror / "pendleratlas" / "2024" / "2024_EIP_Karte_L00.csv").is_file()
    second = fetch_source(SPEC, mirror, http_settings(), origin=publishers.origin)
    assert {o.status for o in second} == {"unchanged"}
    assert {o.reason for o in second} == {"HTTP 304 Not Modified"}
    # the mirror is a directory of publisher files: discovery and parsing as in directory mode
    directory = tmp_path / "directory"
    publisher_fixtures.write_pendleratlas_folder(directory)
    from_live = pendleratlas.parse_release(release_of(mirror))["observations"]
    from_directory = pendleratlas.parse_release(release_of(directory))["observations"]
    assert from_live.equals(from_directory)
    assert value(from_live, "09162000", "in_commuters")["value"] == 529834


@pytest.mark.parametrize("failure, message", [
    (lambda r: __import__("werkzeug").Response("<!DOCTYPE html><html><head><title>Seite nicht gefunden</title>"
                                               "</head></html>", content_type="text/html"),
     "got an HTML page instead of csv: 'Seite nicht gefunden'"),
    (lambda r: __import__("werkzeug").Response("gone", status=404), "404"),
])
def test_live_failures_name_source_and_url(httpserver, tmp_path, failure, message):
    from sources.live import fetch_source
    from tests.live_server import PublisherServer

    publishers = PublisherServer(httpserver)
    url = "https://pendleratlas.statistikportal.de/data/csv/2023/2023_Verfl_L12.csv"
    publishers.fail(url, failure, failure)
    with pytest.raises(SourceError) as error:
        fetch_source(SPEC, tmp_path / "live", http_settings(), origin=publishers.origin)
    assert error.value.source_id == "pendleratlas" and message in str(error.value)
    assert "2023_Verfl_L12.csv" in str(error.value)
    assert not (tmp_path / "live" / "pendleratlas" / "2023" / "2023_Verfl_L12.csv").exists()
