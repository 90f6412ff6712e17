"""Gigabit-Grundbuch, Mobilfunk-Monitoring and BA commuting parsers: real values, layouts, markers, errors."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import load_workbook

from sources import OBSERVATION_COLUMNS, ba_commuting, gigabit_grundbuch, mobilfunk
from sources.errors import SourceError
from sources.registry import Release, ReleaseFile
from tests.publisher_fixtures import (PILOT_KREISE, STUTTGART_2024, as_bytes, pendler_json_pilot_flows,
                                      write_ba_gemband_workbook, write_ba_krpend_workbook, write_bba_workbook,
                                      write_default_bba_workbook, write_mobilfunk_workbook)

HTML_PAGE = b"<!DOCTYPE html><html><head><title>Wartungsarbeiten</title></head><body>Wartungsarbeiten</body></html>"


def single_file_release(source_id: str, vintage: str, path: Path, role: str, layout=None) -> Release:
    return Release(source_id, vintage, [ReleaseFile(role, path, path.name, "0" * 64, path.stat().st_size, layout)])


def row(observations: pd.DataFrame, ags: str, measure: str) -> pd.Series:
    rows = observations[(observations["ags"] == ags) & (observations["measure"] == measure)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


def bba(path: Path, vintage: str = "2025-12") -> pd.DataFrame:
    return gigabit_grundbuch.parse_release(single_file_release("gigabit_grundbuch", vintage, path, "workbook"))[
        "observations"]


# --- Gigabit-Grundbuch bba_MM_YYYY.xlsx ---------------------------------------------------------

def test_bba_real_dec_2025_values_from_privathaushalte(tmp_path):
    observations = bba(write_default_bba_workbook(tmp_path))
    assert list(observations.columns) == OBSERVATION_COLUMNS
    expected = {"06431003": (96.08, 96.08), "06431005": (89.21, 78.90), "06431010": (89.94, 8.50),
                "06431013": (74.65, 37.97)}  # (Alle Technologien ≥ 1000, FTTB/H ≥ 1000); Lampertheim as "74,65"
    for ags, (all_1000, ftthb_1000) in expected.items():
        assert row(observations, ags, "households_all_1000")["value"] == pytest.approx(all_1000)
        assert row(observations, ags, "households_ftthb_1000")["value"] == pytest.approx(ftthb_1000)
        assert row(observations, ags, "households_all_1000")["level"] == "gemeinde"
    assert set(observations["reference_date"]) == {dt.date(2025, 12, 31)}
    assert set(observations["unit"]) == {"% of households"}
    # the decoy Fläche sheet holds 1.0 ... 8.0: none of it may leak in
    assert not observations["value"].isin([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0]).any()


def test_bba_block_labels_are_forward_filled_over_merged_cells(tmp_path):
    observations = bba(write_default_bba_workbook(tmp_path))
    # "Alle Technologien" sits only above "≥ 16 Mbit/s"; its ≥ 1000 column is six cells to the right
    assert set(observations["measure"]) == {f"households_all_{c}" for c in (16, 30, 50, 100, 200, 400, 1000)} | {
        "households_ftthb_1000"}


def test_bba_markers_are_missing_with_reason_and_empty_cells_are_dropped(tmp_path):
    observations = bba(write_default_bba_workbook(tmp_path))
    germany = row(observations, "DG", "households_all_16")
    assert germany["level"] == "bund" and math.isnan(germany["value"])
    assert germany["note"] == "no value reported by publisher ('-')"
    kreis = row(observations, "06431", "households_ftthb_1000")
    assert kreis["level"] == "kreis" and math.isnan(kreis["value"]) and "'-'" in kreis["note"]
    assert not (observations["value"] == 0).any()
    # an empty cell means nothing was published: no row at all
    assert observations[(observations["ags"] == "06431003") & (observations["measure"] == "households_all_16")].empty
    assert set(observations.loc[observations["value"].notna(), "note"]) == {""}


def test_bba_header_row_is_found_below_extra_title_rows(tmp_path):
    observations = bba(write_bba_workbook(tmp_path / "bba_12_2025.xlsx", extra_title_rows=6))
    assert row(observations, "06431010", "households_ftthb_1000")["value"] == pytest.approx(8.50)
    too_deep = write_bba_workbook(tmp_path / "bba_06_2025.xlsx", extra_title_rows=9)
    with pytest.raises(SourceError, match=r"bba_06_2025.xlsx: no header row with a cell 'AGS' in the first 12 "
                                          r"rows of sheet 'Privathaushalte'"):
        bba(too_deep)


def test_bba_reference_date_from_datenstand_or_vintage_which_must_agree(tmp_path):
    june = bba(write_bba_workbook(tmp_path / "bba_06_2023.xlsx", datenstand="06.2023"), vintage="2023-06")
    assert set(june["reference_date"]) == {dt.date(2023, 6, 30)}
    no_cell = bba(write_bba_workbook(tmp_path / "bba_06_2024.xlsx", datenstand=None), vintage="2024-06")
    assert set(no_cell["reference_date"]) == {dt.date(2024, 6, 30)}
    # the June workbook re-uploaded as bba_12_2022.xlsx passed as the December release, its figures half a year old
    with pytest.raises(SourceError, match=r"bba_12_2022.xlsx: Datenstand 06.2022 above the header, but the file "
                                          r"name says 12/2022: another release under this name\?"):
        bba(write_bba_workbook(tmp_path / "bba_12_2022.xlsx", datenstand="06.2022"), vintage="2022-12")


@pytest.mark.parametrize("title, date", [
    ("Stichtag: 30. Juni 2024 (erstellt am 15.01.2025)", dt.date(2024, 6, 30)),  # the creation date came first
    ("Datenstand 12.2025 (veröffentlicht am 15.03.2026)", dt.date(2025, 12, 31)),
    ("Stichtag: 30.06.2024, Gebietsstand 01.01.2025", dt.date(2024, 6, 30)),
    ("Stand 2024-06-30", dt.date(2024, 6, 30)), ("Mobilfunk-Monitoring (April 2024)", dt.date(2024, 4, 30)),
    ("1. Juli 2023", dt.date(2023, 7, 1)), ("31.02.2024", None), ("Gemeindedaten", None),
])
def test_a_title_gives_its_first_date_by_position(title, date):
    assert gigabit_grundbuch.parse_date(title) == date


def test_bba_other_spellings_of_classes_and_blocks(tmp_path):
    path = write_default_bba_workbook(tmp_path)
    workbook = load_workbook(path)
    sheet = workbook["Privathaushalte"]
    renames = {"≥ 1000 Mbit/s": "≥ 1 Gbit/s", "≥ 50 Mbit/s": ">= 50 Mbit/s", "≥ 30 Mbit/s": "30 Mbit/s",
               "FTTB/H": "FTTH/B"}
    for cells in sheet.iter_rows(max_row=6):
        for cell in cells:
            if cell.value in renames:
                cell.value = renames[cell.value]
    workbook.save(path)
    observations = bba(path)
    assert row(observations, "06431005", "households_all_1000")["value"] == pytest.approx(89.21)
    assert row(observations, "06431005", "households_ftthb_1000")["value"] == pytest.approx(78.90)
    assert {"households_all_50", "households_all_30"} <= set(observations["measure"])


def test_bba_unknown_block_names_file_sheet_and_blocks(tmp_path):
    path = write_bba_workbook(tmp_path / "bba_12_2025.xlsx", blocks=("Alle Technologien", "Glasfaser"))
    with pytest.raises(SourceError) as error:
        bba(path)
    message = str(error.value)
    assert message.startswith("[gigabit_grundbuch] bba_12_2025.xlsx: unknown technology block(s) ['Glasfaser']")
    assert "sheet 'Privathaushalte'" in message and "Alle Technologien" in message


def test_bba_text_in_a_value_cell_is_rejected_with_its_position(tmp_path):
    rows = [("06431003", "Biblis", "Gemeinde", *[None] * 6, "k.A.", 96.08)]
    with pytest.raises(SourceError, match=r"sheet 'Privathaushalte' row 6, column '≥ 1000 Mbit/s': 'k.A.'"):
        bba(write_bba_workbook(tmp_path / "bba_12_2025.xlsx", rows=rows))


@pytest.mark.parametrize("module, source_id, name, role", [
    (gigabit_grundbuch, "gigabit_grundbuch", "bba_12_2025.xlsx", "workbook"),
    (ba_commuting, "ba_commuting", "gemband-dlk-0-202406-xlsx.xlsx", "gemband"),
    (ba_commuting, "ba_commuting", "krpend-k-0-202306-xlsx.xlsx", "krpend"),
    (mobilfunk, "mobilfunk_monitoring", "Auswertung_Mobilfunkmonitoring.xlsx", "workbook"),
])
def test_html_page_saved_as_workbook_is_rejected(tmp_path, module, source_id, name, role):
    page = tmp_path / name
    page.write_bytes(HTML_PAGE)
    with pytest.raises(SourceError, match=rf"\[{source_id}\] {name}: not an Excel workbook \(starts with '<!DOCTYPE"):
        module.parse_release(single_file_release(source_id, "2024-06", page, role))


def test_fixture_bytes_are_a_workbook_for_a_test_server():
    content = as_bytes(write_bba_workbook)
    assert content.startswith(b"PK\x03\x04") and len(content) > 4000


# --- Mobilfunk-Monitoring ---------------------------------------------------------------------

def test_mobilfunk_real_2021_kreis_values(full_data):
    folder = full_data / "breitbandatlas"
    files = [ReleaseFile("table", folder / n, n, "0" * 64, 1)
             for n in ("landkreis_mobilfunk_stats_2021_1.csv", "deutschland_mobilfunk_stats_2021_1.csv")]
    observations = mobilfunk.parse_release(Release("mobilfunk_monitoring", "2021-1", files))["observations"]
    assert list(observations.columns) == OBSERVATION_COLUMNS
    for kreis, share in {"01053": 67.94, "06439": 69.24, "09181": 67.91, "12070": 35.45, "14628": 44.19}.items():
        assert row(observations, kreis, "area_5g_residential")["value"] == pytest.approx(share)
        assert 99.8 <= row(observations, kreis, "area_lte10_residential")["value"] <= 100
    germany = row(observations, "DG", "area_mobile_all_motorway")
    assert germany["level"] == "bund" and germany["value"] == pytest.approx(100.0)
    assert set(observations["level"]) == {"kreis", "bund"} and set(observations["unit"]) == {"% of area"}
    assert set(observations["reference_date"]) == {dt.date(2021, 6, 30)}
    assert observations["ags"].nunique() == 402 + 1  # 402 Kreise (Eisenach still kreisfrei) and Germany
    assert not observations.duplicated(["ags", "measure"]).any()


def mobilfunk_csv(tmp_path: Path, lines: list[str]) -> Release:
    path = tmp_path / "landkreis_mobilfunk_stats_2021_2.csv"
    header = '"AGS";"Technologie";"Flaechenart";"Flaechen Gruppe";"Flaechen Gruppe Name";"Verfügbarkeit"'
    path.write_text("\n".join([header, *lines]) + "\n", encoding="utf-8")
    return single_file_release("mobilfunk_monitoring", "2021-2", path, "table")


def test_mobilfunk_markers_and_second_half(tmp_path):
    observations = mobilfunk.parse_release(mobilfunk_csv(tmp_path, [
        '"01053";"5G2";Wohnbaufläche;20;Gemeindefläche;67.94',
        '"99999";"5G2";Wohnbaufläche;20;Gemeindefläche;*',  # fictitious Kreis: only the marker matters
    ]))["observations"]
    assert row(observations, "01053", "area_5g_residential")["value"] == pytest.approx(67.94)
    marked = row(observations, "99999", "area_5g_residential")
    assert math.isnan(marked["value"]) and marked["note"] == "suppressed by publisher ('*': data protection)"
    assert set(observations["reference_date"]) == {dt.date(2021, 12, 31)}


def test_mobilfunk_unknown_technology_is_named(tmp_path):
    release = mobilfunk_csv(tmp_path, ['"01053";"6G";Wohnbaufläche;20;Gemeindefläche;1.00'])
    with pytest.raises(SourceError, match=r"landkreis_mobilfunk_stats_2021_2.csv: unknown Technologie \['6G'\]"):
        mobilfunk.parse_release(release)


def test_mobilfunk_gemeinde_workbook_layout(tmp_path):
    # placeholder shares (0-1 as in the monitoring workbooks): layout test only
    path = write_mobilfunk_workbook(tmp_path / "Auswertung_Mobilfunkmonitoring.xlsx",
                                    [("01053090", "Mölln", 1, 0.99, 0.75, 0.5, 1, 0.98, 0.25, "-")])
    release = single_file_release("mobilfunk_monitoring", "2024-04", path, "workbook")
    observations = mobilfunk.parse_release(release)["observations"]
    assert row(observations, "01053090", "area_5g_total")["value"] == pytest.approx(75.0)
    assert row(observations, "01053090", "area_5g_sa_total")["value"] == pytest.approx(50.0)
    assert row(observations, "01053090", "area_5g_total_telekom")["value"] == pytest.approx(25.0)
    assert math.isnan(row(observations, "01053090", "area_5g_sa_total_telekom")["value"])
    assert set(observations["reference_date"]) == {dt.date(2024, 4, 30)}  # "Mobilfunk-Monitoring (April 2024)"


def test_mobilfunk_a_cell_written_as_percent_text_does_not_keep_the_shares_at_0_to_1(tmp_path):
    """Shares 0-1 as numbers and one cell typed as text "85,0 %": each is read on its own scale (the decision on
    all cells at once left 0.97 as 0.97 % because one value was above 1)."""
    rows = [("06431003", "Biblis", 0.99, 0.97, 0.80, 0.10, 0.99, 0.97, 0.75, 0.05),
            ("06431005", "Bürstadt", 1.0, 0.98, "85,0 %", 0.20, 1.0, 0.96, 0.70, 0.10)]
    path = write_mobilfunk_workbook(tmp_path / "Auswertung_Mobilfunkmonitoring.xlsx", rows)
    observations = mobilfunk.parse_release(single_file_release("mobilfunk_monitoring", "2024-04", path,
                                                               "workbook"))["observations"]
    assert row(observations, "06431003", "area_4g_total")["value"] == pytest.approx(97.0)
    assert row(observations, "06431005", "area_5g_total")["value"] == pytest.approx(85.0)
    assert row(observations, "06431005", "area_4g_total")["value"] == pytest.approx(98.0)


# --- BA Gemeindeband --------------------------------------------------------------------------

def gemband(path: Path, vintage: str = "2024-06") -> pd.DataFrame:
    return ba_commuting.parse_release(single_file_release("ba_commuting", vintage, path, "gemband"))["observations"]


def test_gemband_real_stuttgart_2024(tmp_path):
    observations = gemband(write_ba_gemband_workbook(tmp_path / "gemband-dlk-0-202406-xlsx.xlsx"))
    _, _, residence, workplace, same, inbound, outbound = STUTTGART_2024
    expected = {"employees_residence": residence, "employees_workplace": 442289,
                "employees_residence_eq_workplace": same, "in_commuters": inbound, "out_commuters": outbound}
    for measure, number in expected.items():
        assert row(observations, "08111000", measure)["value"] == number
    assert set(observations["reference_date"]) == {dt.date(2024, 6, 30)}
    assert set(observations["unit"]) == {"persons"}
    # Kreis and Land rows are aggregates with another commuter definition: skipped
    assert set(observations["level"]) == {"gemeinde"}


def test_gemband_markers_are_missing_never_zero(tmp_path):
    observations = gemband(write_ba_gemband_workbook(tmp_path / "gemband-dlk-0-202406-xlsx.xlsx"))
    for ags, marker in (("08111901", "'*'"), ("08111902", "'-'"), ("08111903", "'.'")):
        marked = observations[observations["ags"] == ags]
        assert len(marked) == 5 and marked["value"].isna().all()
        assert marked["note"].str.contains(marker, regex=False).all()
    assert not (observations["value"] == 0).any()


def test_gemband_header_below_extra_rows_and_date_in_words(tmp_path):
    path = write_ba_gemband_workbook(tmp_path / "gemband.xlsx", stichtag="30. Juni 2023", extra_title_rows=5)
    observations = gemband(path, vintage="2099-06")
    assert row(observations, "08111000", "in_commuters")["value"] == 276247
    assert set(observations["reference_date"]) == {dt.date(2023, 6, 30)}


def test_gemband_without_auspendler_column_is_rejected(tmp_path):
    path = write_ba_gemband_workbook(tmp_path / "gemband.xlsx")
    workbook = load_workbook(path)
    for cells in workbook["Gemeindedaten"].iter_rows(max_row=10):
        for cell in cells:
            if cell.value == "Auspendler":
                cell.value = "Pendler nach außerhalb"
    workbook.save(path)
    with pytest.raises(SourceError, match=r"gemband.xlsx: sheet 'Gemeindedaten': no column for \['out_commuters'\]"):
        gemband(path)


# --- BA Pendleratlas 2016 and Kreis flow workbook --------------------------------------------

def pendleratlas(full_data: Path) -> dict[str, pd.DataFrame]:
    path = full_data / "ba-pendleratlas-2016" / "pendler.json"
    return ba_commuting.parse_release(single_file_release("ba_commuting", "2016-06", path, "pendleratlas_json"))


def test_pendleratlas_real_2016(full_data):
    parsed = pendleratlas(full_data)
    observations, flows = parsed["observations"], parsed["commuter_flows"]
    assert observations["ags"].nunique() == 401 and set(observations["level"]) == {"kreis"}
    assert row(observations, "01053", "in_commuters")["value"] == 17342
    assert row(observations, "01053", "out_commuters")["value"] == 42576
    assert row(observations, "01053", "employees_residence")["value"] == 70687
    # Frankfurt: 286,955 employees live there, far fewer than work there: svb is at residence
    assert row(observations, "06412", "employees_residence")["value"] == 286955
    hamburg_to_moelln = flows[(flows["home_kreis"] == "02000") & (flows["work_kreis"] == "01053")]
    assert hamburg_to_moelln["commuters"].tolist() == [4328]
    assert len(flows) == 5006 and not flows.duplicated(["home_kreis", "work_kreis"]).any()
    assert set(flows["note"]) == {"top-10 partners only; values under 10 rounded up to 10"}
    assert set(flows["listing"]) == {"top_10"} and flows["marker"].isna().all()  # the typed columns the pages read
    assert set(flows["reference_date"]) == {dt.date(2016, 6, 30)}


def test_krpend_flows_equal_pendler_json_for_pilot_kreise(full_data, tmp_path):
    flows, totals, names = pendler_json_pilot_flows(full_data / "ba-pendleratlas-2016" / "pendler.json")
    path = write_ba_krpend_workbook(tmp_path / "krpend-k-0-201606-xlsx.xlsx", flows, PILOT_KREISE, totals, names)
    krpend = ba_commuting.parse_release(single_file_release("ba_commuting", "2016-06", path, "krpend"))
    atlas = pendleratlas(full_data)
    pilot = atlas["commuter_flows"]
    pilot = pilot[pilot["home_kreis"].isin(PILOT_KREISE) | pilot["work_kreis"].isin(PILOT_KREISE)]
    key = ["home_kreis", "work_kreis", "commuters"]
    assert len(pilot) > 50
    pd.testing.assert_frame_equal(krpend["commuter_flows"][key].sort_values(key).reset_index(drop=True),
                                  pilot[key].sort_values(key).reset_index(drop=True))
    assert set(krpend["commuter_flows"]["reference_date"]) == {dt.date(2016, 6, 30)}
    totals_krpend = krpend["observations"].set_index(["ags", "measure"])["value"]
    totals_atlas = atlas["observations"].set_index(["ags", "measure"])["value"]
    for kreis in PILOT_KREISE:
        for measure in ("in_commuters", "out_commuters"):
            assert totals_krpend[(kreis, measure)] == totals_atlas[(kreis, measure)]


def test_krpend_marker_flow_is_missing_and_aggregates_are_skipped(tmp_path):
    flows = [{"home_kreis": "02000", "work_kreis": "01053", "commuters": 4328},
             {"home_kreis": "13074", "work_kreis": "01053", "commuters": "*"}]  # marker: layout test only
    path = write_ba_krpend_workbook(tmp_path / "krpend.xlsx", flows, ["01053"], {("01053", "in"): 17342})
    parsed = ba_commuting.parse_release(single_file_release("ba_commuting", "2016-06", path, "krpend"))
    result = parsed["commuter_flows"].set_index("home_kreis")
    assert sorted(result.index) == ["02000", "13074"]  # no Land, 'ZZ' or total rows as flows
    assert result.loc["02000", "commuters"] == 4328 and result.loc["02000", "note"] == ""
    assert math.isnan(result.loc["13074", "commuters"]) and "data protection" in result.loc["13074", "note"]
    # the decision is in typed columns: every partner listed; the marker kept as the publisher wrote it
    assert result["listing"].tolist() == ["complete", "complete"]
    assert result.loc["13074", "marker"] == "*" and result.loc["02000", "marker"] is None
    assert row(parsed["observations"], "01053", "in_commuters")["value"] == 17342


def test_krpend_two_counts_for_one_flow_fail_naming_both_rows(tmp_path):
    """A partner listed twice in a Kreis's block with two counts: keeping either would publish it without a signal."""
    flows = [{"home_kreis": "02000", "work_kreis": "01053", "commuters": 4328},
             {"home_kreis": "02000", "work_kreis": "01053", "commuters": 5328}]
    path = write_ba_krpend_workbook(tmp_path / "krpend.xlsx", flows, ["01053"], {("01053", "in"): 17342})
    with pytest.raises(SourceError, match=r"\[ba_commuting\] krpend\.xlsx: flow 02000 -> 01053: sheet 'Einpendler "
                                          r"Kreise' row \d+ gives 4328, sheet 'Einpendler Kreise' row \d+ gives 5328"):
        ba_commuting.parse_release(single_file_release("ba_commuting", "2016-06", path, "krpend"))


def both_ends_workbook(tmp_path: Path) -> Path:
    """Hamburg -> Mölln (4328) listed by both Kreise: Mölln's in-commuters and Hamburg's out-commuters."""
    flows = [{"home_kreis": "02000", "work_kreis": "01053", "commuters": 4328}]
    return write_ba_krpend_workbook(tmp_path / "krpend.xlsx", flows, ["01053", "02000"],
                                    {(k, d): 1 for k in ("01053", "02000") for d in ("in", "out")})


def test_krpend_flow_whose_two_ends_disagree_fails(tmp_path):
    path = both_ends_workbook(tmp_path)
    book = load_workbook(path)
    sheet = book["Auspendler Kreise"]
    (cell,) = [row[4] for row in sheet.iter_rows() if row[2].value == "01053" and row[4].value == 4328]
    cell.value = 5328
    book.save(path)
    with pytest.raises(SourceError, match=r"flow 02000 -> 01053: sheet 'Einpendler Kreise' row \d+ gives 4328, "
                                          r"sheet 'Auspendler Kreise' row \d+ gives 5328"):
        ba_commuting.parse_release(single_file_release("ba_commuting", "2016-06", path, "krpend"))


def test_krpend_flow_listed_at_both_ends_with_one_count_is_one_flow(tmp_path):
    path = both_ends_workbook(tmp_path)
    parsed = ba_commuting.parse_release(single_file_release("ba_commuting", "2016-06", path, "krpend"))
    flows = parsed["commuter_flows"][["home_kreis", "work_kreis", "commuters"]]
    assert flows.values.tolist() == [["02000", "01053", 4328.0]]
