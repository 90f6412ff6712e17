"""The town's own data (local_inputs): templates, validation naming file/row/column, merging with OSM.

The Mölln files under tests/fixtures/local-inputs/ are an EXAMPLE (every name starts with BEISPIEL,
the supplier says "BEISPIELDATEN"): they are not the town's data and never part of the snapshot.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pytest
from shapely.geometry import box

from sources import local_inputs
from sources.errors import SourceError
from sources.registry import PROJECT_ROOT, discover_releases, load_sources

SPEC = load_sources()["local_inputs"]
FIXTURES = Path(__file__).parents[2] / "fixtures"
DELIVERY = "local-inputs/2023-11-20"
SPACES_FILE = "coworking_01053090_beispiel.csv"
SURVEY_FILE = "umfrage_01053090_beispiel.csv"
TEMPLATES = PROJECT_ROOT / "templates" / "local-inputs"


def parse(root: Path, today=dt.date(2026, 12, 1)):
    [release] = discover_releases(SPEC, root)
    return local_inputs.parse_release(release, today=today)


@pytest.fixture
def delivery(tmp_path) -> Path:
    shutil.copytree(FIXTURES / "local-inputs", tmp_path / "local-inputs")
    return tmp_path


def test_templates_are_the_documented_headers_and_regenerate_identically(tmp_path):
    assert (TEMPLATES / "coworking_vorlage.csv").read_text(encoding="utf-8").strip().split(";") == \
        list(local_inputs.SPACE_HEADERS)
    assert (TEMPLATES / "umfrage_vorlage.csv").read_text(encoding="utf-8").strip().split(";") == \
        list(local_inputs.SURVEY_HEADERS)
    local_inputs.write_templates(tmp_path)
    # the workbooks too: openpyxl stamped them with the time of the run, and every regeneration showed them changed
    for name in ("coworking_vorlage.csv", "umfrage_vorlage.csv", "coworking_vorlage.xlsx", "umfrage_vorlage.xlsx"):
        assert (tmp_path / name).read_bytes() == (TEMPLATES / name).read_bytes(), name
    from openpyxl import load_workbook
    for kind, headers in (("coworking", local_inputs.SPACE_HEADERS), ("umfrage", local_inputs.SURVEY_HEADERS)):
        workbook = load_workbook(TEMPLATES / f"{kind}_vorlage.xlsx", read_only=True)
        assert next(workbook.worksheets[0].iter_rows(values_only=True)) == tuple(headers)
        assert workbook.sheetnames[1] == "Hinweise"


def test_help_prints_the_usage_and_writes_no_templates(tmp_path, monkeypatch, capsys):
    """`python -m sources.local_inputs --help` wrote the four templates into a folder named '--help'."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as done:
        local_inputs.main(["--help"])
    assert done.value.code == 0 and "usage: python -m sources.local_inputs" in capsys.readouterr().out
    assert list(tmp_path.iterdir()) == []
    local_inputs.main(["vorlagen"])
    assert sorted(p.name for p in (tmp_path / "vorlagen").iterdir()) == [
        "coworking_vorlage.csv", "coworking_vorlage.xlsx", "umfrage_vorlage.csv", "umfrage_vorlage.xlsx"]


def test_example_delivery_is_parsed_with_provenance(delivery):
    parsed = parse(delivery)
    spaces, surveys = parsed["local_spaces"], parsed["survey_results"]
    assert len(spaces) == 4 and set(spaces["local_kind"]) == {"temporary", "third_place", "trial_day"}
    first = spaces.iloc[0]
    assert (first["lat"], first["lon"], first["desks"], first["opened"]) == (53.6275, 10.6895, 12, dt.date(2022, 10, 1))
    assert (first["supplier"], first["licence"], first["row"]) == (
        "BEISPIELDATEN (Testfixture, keine echten Angaben)", "dl-de/by-2-0", 2)
    assert set(spaces["supplying_ags"]) == {"01053090"} and spaces["name"].str.startswith("BEISPIEL").all()
    assert surveys["share"].sum() == pytest.approx(100.0) and set(surveys["respondents"]) == {200}


def test_xlsx_delivery_reads_like_the_csv(delivery):
    from openpyxl import Workbook
    folder = delivery / DELIVERY
    csv_rows = [line.split(";") for line in (folder / SPACES_FILE).read_text(encoding="utf-8").splitlines()]
    workbook = Workbook()
    for row in csv_rows:
        workbook.active.append(row)
    (folder / SPACES_FILE).unlink()
    workbook.save(folder / "coworking_01053090_beispiel.xlsx")
    assert len(parse(delivery)["local_spaces"]) == 4


def as_workbook(folder: Path, name: str = SPACES_FILE):
    """The CSV ``name`` as a workbook built from the template (its first sheet filled, the sheet 'Hinweise' kept);
    the CSV is removed. Returns (workbook, path to save it to)."""
    from openpyxl import load_workbook
    kind = name.split("_")[0]
    workbook = load_workbook(TEMPLATES / f"{kind}_vorlage.xlsx")
    lines = (folder / name).read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    order = [header.index(h) if h in header else None for h in next(workbook.worksheets[0].iter_rows(values_only=True))]
    for line in lines[1:]:
        cells = line.split(";")
        workbook.worksheets[0].append([cells[i] if i is not None else None for i in order])
    (folder / name).unlink()
    return workbook, folder / name.replace(".csv", ".xlsx")


def test_a_workbook_from_the_template_with_its_instructions_sheet_is_read(delivery):
    workbook, path = as_workbook(delivery / DELIVERY)
    workbook.save(path)
    spaces = parse(delivery)["local_spaces"]
    assert len(spaces) == 4 and spaces["file"].str.endswith(".xlsx").all()


def test_a_workbook_with_data_on_another_sheet_is_refused_naming_file_and_sheet(delivery):
    """Only the first sheet was read: a second sheet of places (same header) was silently left out, and Mölln's
    coworking_within_10km fell from 1.0 to 0.0 without a warning (review of 5 December)."""
    workbook, path = as_workbook(delivery / DELIVERY)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    more = workbook.create_sheet("Weitere Orte")
    more.append(rows[0])
    more.append(rows[2])  # the library: moved to the second sheet
    workbook.worksheets[0].delete_rows(3)
    workbook.save(path)
    with pytest.raises(SourceError, match=r"^\[local_inputs\] local-inputs/2023-11-20/coworking_01053090_beispiel"
                                          r"\.xlsx: sheet 'Weitere Orte' holds data, but only the first sheet "
                                          r"\('Coworking'\) is read"):
        parse(delivery)
    workbook.remove(more)  # an empty extra sheet is harmless
    workbook.create_sheet("Tabelle3")
    workbook.save(path)
    assert len(parse(delivery)["local_spaces"]) == 3


def test_a_formula_saved_without_its_result_is_refused_naming_the_cell(delivery):
    """A formula cell without a cached value (a workbook written by a program) read as an empty cell."""
    workbook, path = as_workbook(delivery / DELIVERY)
    workbook.worksheets[0]["G3"] = "=4+2"  # Arbeitsplätze of the library; openpyxl saves no result
    workbook.save(path)
    with pytest.raises(SourceError, match=r"coworking_01053090_beispiel\.xlsx: cell G3: the formula '=4\+2' was "
                                          r"saved without its result, so the cell reads as empty"):
        parse(delivery)


def test_a_formula_whose_saved_result_is_empty_text_is_an_empty_cell(delivery):
    """Excel saves =WENN(…;"";…) as a text result that is empty (t="str", <v></v>): a result, not a missing one,
    which openpyxl reads as None alike."""
    import zipfile

    workbook, path = as_workbook(delivery / DELIVERY)
    workbook.worksheets[0]["G3"] = '=IF(TRUE,"","x")'  # Arbeitsplätze of the library: optional
    workbook.save(path)
    with zipfile.ZipFile(path) as bundle:
        parts = {name: bundle.read(name) for name in bundle.namelist()}
    sheet = "xl/worksheets/sheet1.xml"
    parts[sheet] = parts[sheet].replace(b'<c r="G3"><f>IF(TRUE,"","x")</f><v /></c>',
                                        b'<c r="G3" t="str"><f>IF(TRUE,"","x")</f><v></v></c>')
    assert b't="str"><f>' in parts[sheet]  # the cell as Excel saves it
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in parts.items():
            bundle.writestr(name, data)
    spaces = parse(delivery)["local_spaces"]
    assert pd.isna(spaces.set_index("row").loc[3, "desks"])


def test_formulas_without_a_result_are_found_in_every_spelling_of_the_sheet_xml(tmp_path):
    """A shared formula's follower cell (<f t="shared" si="0"/>) and a sheet with a namespace prefix (x:c) were read as
    empty cells; a result with xml:space or a text result in single quotes is a result."""
    import zipfile

    xml = ('<sheetData><row r="2"><c r="A2"><f>1+1</f><v>2</v></c>'
           '<c r="B2"><f t="shared" ref="B2:B3" si="0">A2*2</f><v>4</v></c></row><row r="3">'
           '<c r="B3"><f t="shared" si="0"/></c><c r="C3" t="str"><f>IF(TRUE,"","x")</f><v></v></c>'
           '<c r="D3"><f>1</f><v xml:space="preserve">4</v></c><c r="E3" t=\'str\'><f>X</f><v></v></c></row>'
           '<x:row r="4"><x:c r="F4"><x:f>4+2</x:f></x:c><x:c r="G4"><x:f>5</x:f><x:v>5</x:v></x:c></x:row></sheetData>')
    path = tmp_path / "book.xlsx"
    with zipfile.ZipFile(path, "w") as bundle:
        bundle.writestr("xl/worksheets/sheet1.xml", xml)
    assert local_inputs._formulas_without_result(path, "/xl/worksheets/sheet1.xml") == [
        ("B3", "(a shared formula)"), ("F4", "=4+2")]


def test_a_column_with_data_but_no_header_is_refused_naming_it(delivery):
    """A column without a header (a note typed beside the table) was dropped without a word."""
    path = delivery / DELIVERY / SPACES_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[2] += ";nur dienstags"  # the library's row, one cell beyond the header
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"coworking_01053090_beispiel.csv: row 3, column M \(column 13\) holds "
                                          r"'nur dienstags' but the column has no header"):
        parse(delivery)
    workbook, xlsx = as_workbook(delivery / DELIVERY)  # the same in a workbook: a column inserted and left unnamed
    workbook.worksheets[0].insert_cols(3)
    workbook.worksheets[0]["C4"] = "Altstadt"
    workbook.save(xlsx)
    with pytest.raises(SourceError, match=r"beispiel.xlsx: row 4, column C \(column 3\) holds 'Altstadt' but the "
                                          r"column has no header"):
        parse(delivery)


def test_a_header_given_twice_is_refused(delivery):
    path = delivery / DELIVERY / SPACES_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    lines = [f"{lines[0]};Arbeitsplätze"] + [f"{line};3" for line in lines[1:]]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"columns G and M both have the header 'Arbeitsplätze': only one would be "
                                          r"read"):
        parse(delivery)


def replace_cell(folder: Path, name: str, row: int, column: str, value: str) -> None:
    path = folder / name
    lines = path.read_text(encoding="utf-8").splitlines()
    header = lines[0].split(";")
    if column not in header:  # an optional column the file does not have yet (Mehrfachnennung)
        lines = [f"{line};" for line in lines]
        lines[0] += column
        header.append(column)
    cells = lines[row - 1].split(";")
    cells[header.index(column)] = value
    lines[row - 1] = ";".join(cells)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


MALFORMED = [  # (file, row, column, new value, expected message)
    (SPACES_FILE, 2, "AGS", "1053090", "row 2, column 'AGS': '1053090' is not an 8-digit AGS"),
    (SPACES_FILE, 3, "Art", "Homeoffice", "row 3, column 'Art': unknown kind 'Homeoffice'; allowed: dauerhaft"),
    (SPACES_FILE, 2, "Eröffnet am", "01.01.2099", "row 2, column 'Eröffnet am': date 2099-01-01 is in the future"),
    (SURVEY_FILE, 3, "Anteil (%)", "120", "row 3, column 'Anteil (%)': share 120.0 is outside 0–100"),
    (SURVEY_FILE, 4, "Anteil (%)", "-5", "row 4, column 'Anteil (%)': share -5.0 is outside 0–100"),
    (SPACES_FILE, 4, "Lizenz", "", "row 4, column 'Lizenz': a value is required"),
    (SPACES_FILE, 2, "Breitengrad", "5,36", "row 2, column 'Breitengrad': latitude 5.36 is outside Germany"),
    (SPACES_FILE, 3, "Breitengrad", "53,61", "row 3, column 'Längengrad': required when 'Breitengrad' is given"),
    (SPACES_FILE, 2, "Geschlossen am", "01.09.2022", "row 2, column 'Geschlossen am': 2022-09-01 is before 2022-10-01"),
    (SURVEY_FILE, 2, "Befragte", "viele", "row 2, column 'Befragte': 'viele' is not a number"),
    (SURVEY_FILE, 2, "Feldzeit bis", "31.31.2022", "row 2, column 'Feldzeit bis': '31.31.2022' is not a date"),
    # across the rows of one question (CW1: three answers, 200 respondents)
    (SURVEY_FILE, 2, "AGS", "01053100", "row 2, column 'AGS': 01053100 is not the town of the file name (01053090)"),
    (SURVEY_FILE, 3, "Befragte", "2000", "rows 2 and 3, column 'Befragte': question CW1 has 200 and 2000 respondents"),
    (SURVEY_FILE, 3, "Antwort", "ja, Regelmäßig ",
     "rows 2 and 3: question CW1 lists the answer 'Ja, regelmäßig' twice"),
    (SURVEY_FILE, 4, "Antwort", "Gesamt", "row 4, column 'Antwort': 'Gesamt' is a total, not an answer option"),
    # a trial day or a temporary place without its closing date counted as open on every later date
    (SPACES_FILE, 4, "Geschlossen am", "", "row 4, column 'Geschlossen am': a place of kind 'Probearbeitstag' needs "
                                           "both dates"),
    (SPACES_FILE, 2, "Geschlossen am", "", "row 2, column 'Geschlossen am': a place of kind 'temporär' needs both "
                                           "dates"),
    (SPACES_FILE, 4, "Eröffnet am", "", "row 4, column 'Eröffnet am': a place of kind 'Probearbeitstag' needs both"),
    # "1,000" was read as 1 (German decimal comma) where an English export meant a thousand
    (SPACES_FILE, 3, "Arbeitsplätze", "1,000", "row 3, column 'Arbeitsplätze': '1,000' is ambiguous in a "
                                               "whole-number column"),
    (SURVEY_FILE, 2, "Befragte", "1,000", "row 2, column 'Befragte': '1,000' is ambiguous in a whole-number column"),
    (SURVEY_FILE, 2, "Befragte", "0", "row 2, column 'Befragte': 0 respondents: a share needs at least 1 respondent"),
    # one cell in an Excel percent format: 0,26 for 26 %; the question adds up to 74.26
    (SURVEY_FILE, 3, "Anteil (%)", "0,26", "rows 2-4, column 'Anteil (%)': the shares of question CW1 add up to "
                                           "74.26, not 100 (± 1.5 for rounding)"),
    (SURVEY_FILE, 3, "Mehrfachnennung", "vielleicht", "row 3, column 'Mehrfachnennung': 'vielleicht' is neither 'ja' "
                                                      "nor 'nein'"),
]


@pytest.mark.parametrize("name, row, column, value, message", MALFORMED)
def test_malformed_cells_fail_naming_file_row_and_column(delivery, name, row, column, value, message):
    replace_cell(delivery / DELIVERY, name, row, column, value)
    with pytest.raises(SourceError) as error:
        parse(delivery)
    assert str(error.value).startswith(f"[local_inputs] {DELIVERY}/{name}: ")
    assert message in str(error.value)


def test_survey_shares_written_as_fractions_of_one_fail(delivery):
    """0,185 / 0,26 / 0,555 pass the range 0-100 each; as a question they add up to 1, not 100."""
    for row, share in ((2, "0,185"), (3, "0,26"), (4, "0,555")):
        replace_cell(delivery / DELIVERY, SURVEY_FILE, row, "Anteil (%)", share)
    with pytest.raises(SourceError, match=r"rows 2-4, column 'Anteil \(%\)': the shares of question CW1 add up to 1: "
                                          r"fractions of 1 \(0,185\) where percent \(18,5\) is expected"):
        parse(delivery)


def test_survey_files_whose_shares_are_all_fractions_fail(delivery):
    """A multiple-choice question 0,6 / 0,5 / 0,3 (adding up to 1.4) was published as 0.6 % ... (bad-input review
    of 4 December): every share of the file at most 1 is fractions, whatever a question adds up to."""
    for row, share in ((2, "0,6"), (3, "0,5"), (4, "0,3")):
        replace_cell(delivery / DELIVERY, SURVEY_FILE, row, "Anteil (%)", share)
    with pytest.raises(SourceError, match=r"column 'Anteil \(%\)': every share of the file lies between 0 and 1 "
                                          r"\(largest 0.6\): fractions of 1 \(0,45\) where percent \(45\) is expected"):
        parse(delivery)


def test_the_same_question_in_two_files_of_a_delivery_is_refused_naming_both(delivery):
    """umfrage_01053090_beispiel.csv and a corrected umfrage_01053090_korrigiert.csv in one delivery, both with CW1:
    the question was published twice, its shares adding up to 200 %."""
    folder = delivery / DELIVERY
    shutil.copyfile(folder / SURVEY_FILE, folder / "umfrage_01053090_korrigiert.csv")
    with pytest.raises(SourceError, match=r"umfrage_01053090_beispiel.csv: question CW1 is in more than one file of "
                                          r"this delivery \(umfrage_01053090_beispiel.csv rows 2-4 and "
                                          r"umfrage_01053090_korrigiert.csv rows 2-4\), so it would be published "
                                          r"twice"):
        parse(delivery)
    other = (folder / SURVEY_FILE).read_text(encoding="utf-8").replace(";CW1;", ";CW2;")
    (folder / "umfrage_01053090_korrigiert.csv").write_text(other, encoding="utf-8")  # another question: fine
    assert sorted(set(parse(delivery)["survey_results"]["question_code"])) == ["CW1", "CW2"]


def test_single_choice_shares_add_up_to_100_up_to_rounding_and_multiple_choice_need_not(delivery):
    """A single-choice question adding up to 74.26 (one cell 0,26 for 26 %) was published; rounding to whole
    percent (33 / 33 / 33) is not an error, and a question marked 'Mehrfachnennung: ja' may add up to more."""
    folder = delivery / DELIVERY
    for row, share in ((2, "33"), (3, "33"), (4, "33")):
        replace_cell(folder, SURVEY_FILE, row, "Anteil (%)", share)
    surveys = parse(delivery)["survey_results"]
    assert surveys["share"].sum() == 99 and surveys["multiple_choice"].tolist() == [False] * 3  # blank: single
    for row, share in ((2, "60"), (3, "50"), (4, "30")):
        replace_cell(folder, SURVEY_FILE, row, "Anteil (%)", share)
    with pytest.raises(SourceError, match=r"the shares of question CW1 add up to 140, not 100 \(± 1.5 for "
                                          r"rounding\)"):
        parse(delivery)
    for row in (2, 3, 4):
        replace_cell(folder, SURVEY_FILE, row, "Mehrfachnennung", "ja")
    surveys = parse(delivery)["survey_results"]
    # stored: the table and the page say that these shares need not add up to 100 (it was read for the check only)
    assert surveys["share"].sum() == 140 and surveys["multiple_choice"].tolist() == [True] * 3
    replace_cell(folder, SURVEY_FILE, 3, "Mehrfachnennung", "")
    with pytest.raises(SourceError, match=r"rows 2-4, column 'Mehrfachnennung': question CW1 is marked 'ja' in some "
                                          r"rows and not in others"):
        parse(delivery)


def test_respondents_with_a_german_thousands_point_are_a_thousand(delivery):
    for row in (2, 3, 4):
        replace_cell(delivery / DELIVERY, SURVEY_FILE, row, "Befragte", "1.000")
    assert set(parse(delivery)["survey_results"]["respondents"]) == {1000}


def test_a_survey_delivered_again_replaces_the_earlier_delivery_of_that_question(delivery):
    first = parse(delivery)["survey_results"].assign(vintage="2023-11-20")
    again = first.assign(vintage="2024-02-01", share=first["share"] + [1.0, -1.0, 0.0])
    other = first.head(1).assign(question_code="CW2", vintage="2023-11-20")  # only in the first delivery
    latest = local_inputs.latest_surveys(pd.concat([first, again, other], ignore_index=True))
    assert sorted(zip(latest["question_code"], latest["vintage"], latest["share"])) == [
        ("CW1", "2024-02-01", 19.5), ("CW1", "2024-02-01", 25.0), ("CW1", "2024-02-01", 55.5),
        ("CW2", "2023-11-20", 18.5)]


def test_wrong_header_and_file_name_fail(delivery):
    folder = delivery / DELIVERY
    text = (folder / SPACES_FILE).read_text(encoding="utf-8")
    (folder / SPACES_FILE).write_text(text.replace(";Lizenz", ";Licence", 1), encoding="utf-8")
    with pytest.raises(SourceError, match=r"header does not match the template: missing \['Lizenz'\], "
                                          r"unknown \['Licence'\]"):
        parse(delivery)
    (folder / SPACES_FILE).write_text(text, encoding="utf-8")
    (folder / SPACES_FILE).rename(folder / "coworking_moelln.csv")
    with pytest.raises(SourceError, match="coworking_moelln.csv: file name must be coworking_<AGS>"):
        parse(delivery)


def test_a_list_with_no_place_in_the_town_of_its_file_name_fails(delivery):
    """A typo in the file name (Ratzeburg's AGS on Mölln's list) made Ratzeburg a supplying town, measured from a
    list it never sent. A list naming no place in the town of its file name is refused; one place is enough."""
    folder = delivery / DELIVERY
    lines = (folder / SPACES_FILE).read_text(encoding="utf-8").splitlines()
    moelln_only = [line for line in lines if ";01053100;" not in line]  # without the trial day in Ratzeburg
    (folder / SPACES_FILE).unlink()
    (folder / "coworking_01053100_beispiel.csv").write_text("\n".join(moelln_only) + "\n", encoding="utf-8")
    with pytest.raises(SourceError, match=r"coworking_01053100_beispiel.csv: column 'AGS': no row is in 01053100, "
                                          r"the town of the file name \(the rows are in 01053090\)"):
        parse(delivery)
    (folder / "coworking_01053100_beispiel.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    spaces = parse(delivery)["local_spaces"]  # the trial day is in Ratzeburg: not told apart from a real list
    assert set(spaces["supplying_ags"]) == {"01053100"} and len(spaces) == 4


def gemeinden_frame() -> gpd.GeoDataFrame:
    """Two square 'Gemeinden' around Mölln and Ratzeburg (test geometry, not the real boundaries)."""
    return gpd.GeoDataFrame({"ags": ["01053090", "01053100"]},
                            geometry=[box(10.60, 53.58, 10.76, 53.66), box(10.70, 53.67, 10.80, 53.74)],
                            crs="EPSG:4326")


def test_unknown_gemeinde_fails_and_space_without_coordinates_is_placed_and_flagged(delivery):
    spaces = parse(delivery)["local_spaces"]
    placed = local_inputs.place_spaces(spaces, gemeinden_frame())
    library = placed[placed["name"].str.contains("Stadtbücherei")].iloc[0]
    assert library["located_at_gemeinde"] and box(10.60, 53.58, 10.76, 53.66).contains(
        gpd.points_from_xy([library["lon"]], [library["lat"]])[0])
    assert not placed.iloc[0]["located_at_gemeinde"]
    with pytest.raises(SourceError, match=r"coworking_01053090_beispiel.csv: row 4, column 'AGS': AGS 01053100 "
                                          r"is not a Gemeinde of the register"):
        local_inputs.place_spaces(spaces, gemeinden_frame().iloc[:1])


def test_coordinates_far_outside_the_gemeinde_of_the_row_fail(delivery):
    """Mölln's library given the coordinates of Munich was published as a Mölln place in Munich, and Mölln's count
    fell (bad-input review of 4 December); a place just beside its Gemeinde's generalised outline passes."""
    replace_cell(delivery / DELIVERY, SPACES_FILE, 3, "Breitengrad", "48,1374")
    replace_cell(delivery / DELIVERY, SPACES_FILE, 3, "Längengrad", "11,5755")
    with pytest.raises(SourceError, match=r"coworking_01053090_beispiel.csv: row 3, columns 'Breitengrad'/'Längengrad'"
                                          r": 48.1374 / 11.5755 lies \d+ km outside the Gemeinde of its AGS 01053090"):
        local_inputs.place_spaces(parse(delivery)["local_spaces"], gemeinden_frame())
    replace_cell(delivery / DELIVERY, SPACES_FILE, 3, "Breitengrad", "53,6700")  # ~1.1 km north of the square's edge
    replace_cell(delivery / DELIVERY, SPACES_FILE, 3, "Längengrad", "10,6800")
    assert len(local_inputs.place_spaces(parse(delivery)["local_spaces"], gemeinden_frame())) == 4


def osm_space(osm_id, name, lat, lon, tags=None):
    return {"osm_type": "node", "osm_id": osm_id, "name": name, "lat": lat, "lon": lon,
            "kind": "amenity=coworking_space", "website": None, "operator": None,
            "tags": json.dumps(tags or {"name": name}), "osm_base_timestamp": "2026-11-30T00:00:00Z",
            "ags": "01053090"}


def test_a_later_offer_at_the_same_place_is_a_space_of_its_own(delivery):
    """The pilot towns' path: a temporary space, closed, then a permanent one in the same rooms. It matched the
    temporary one's place and vanished with its dates (0 spaces on a day the permanent one was open)."""
    path = delivery / DELIVERY / SPACES_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    cells = lines[1].split(";")  # the temporary space, October 2022
    cells[0], cells[5:9] = "BEISPIEL Coworking dauerhaft", ["dauerhaft", "20", "01.06.2023", ""]
    path.write_text("\n".join([*lines, ";".join(cells)]) + "\n", encoding="utf-8")
    local = local_inputs.place_spaces(parse(delivery)["local_spaces"], gemeinden_frame())
    merged = local_inputs.merge_spaces(pd.DataFrame(columns=local_inputs.MERGED_COLUMNS), local)
    names = set(merged["name"])
    assert {"BEISPIEL Temporärer Coworking-Space (Themenwoche)", "BEISPIEL Coworking dauerhaft"} <= names
    assert len(merged) == len(names) == 4  # the repeated temporary row (same period) is still one space
    assert set(local_inputs.active_on(merged, "2023-11-20")["name"]) == {"BEISPIEL Coworking dauerhaft",
                                                                          "BEISPIEL Stadtbücherei als Dritter Ort"}
    october = set(local_inputs.active_on(merged, "2022-10-15")["name"])
    assert "BEISPIEL Temporärer Coworking-Space (Themenwoche)" in october


def test_a_listed_space_without_coordinates_matches_an_osm_space_of_its_name_without_address(delivery):
    """Coordinates are optional in the template and most OSM spaces carry no address: the library was counted
    twice (OSM and the list), doubling Mölln's coworking supply. The same name in another Gemeinde is not it."""
    local = local_inputs.place_spaces(parse(delivery)["local_spaces"], gemeinden_frame())
    library = "BEISPIEL Stadtbücherei als Dritter Ort"
    same = local_inputs.merge_spaces(pd.DataFrame([osm_space(7, library, 53.6301, 10.6801)]), local)
    assert same.set_index("name").loc[library, "sources"] == "osm_coworking; local_inputs"
    assert (same["name"] == library).sum() == 1
    elsewhere = pd.DataFrame([{**osm_space(7, library, 53.70, 10.75), "ags": "01053100"}])
    assert (local_inputs.merge_spaces(elsewhere, local)["name"] == library).sum() == 2


def test_merge_counts_each_space_once_and_keeps_its_sources(delivery):
    local = local_inputs.place_spaces(parse(delivery)["local_spaces"], gemeinden_frame())
    osm = pd.DataFrame([
        # 65 m from the temporary space, its name spelt otherwise (case, hyphen): the same place
        osm_space(1, "Beispiel temporärer Coworking Space (Themenwoche)", 53.6280, 10.6900),
        osm_space(2, "BEISPIEL Stadtbücherei als Dritter Ort", 53.6301, 10.6801,  # same name and address
                  {"addr:street": "Beispielstrasse", "addr:housenumber": "3", "addr:postcode": "23879",
                   "addr:city": "Mölln"}),
        osm_space(3, "Ganz woanders", 53.70, 10.60),
    ])
    decisions = []
    merged = local_inputs.merge_spaces(osm, local, decisions)
    assert len(merged) == 4  # 3 OSM + the trial day; the duplicate local row and two matches absorbed
    by_name = merged.set_index("name")
    temporary = by_name.loc["Beispiel temporärer Coworking Space (Themenwoche)"]
    assert (temporary["sources"], temporary["local_kind"]) == ("osm_coworking; local_inputs", "temporary")
    # the repeated row of the temporary space stays visible: both town rows are listed
    assert temporary["local_file"] == f"{DELIVERY}/{SPACES_FILE}:2; {DELIVERY}/{SPACES_FILE}:5"
    assert by_name.loc["BEISPIEL Stadtbücherei als Dritter Ort", "sources"] == "osm_coworking; local_inputs"
    assert by_name.loc["Ganz woanders", "sources"] == "osm_coworking" and not by_name.loc["Ganz woanders",
                                                                                        "locally_reported"]
    trial = by_name.loc["BEISPIEL Probearbeitstag im Nachbarort"]
    assert (trial["osm_type"], trial["sources"], trial["located_at_gemeinde"]) == ("local", "local_inputs", True)
    assert trial["local_file"] == f"{DELIVERY}/{SPACES_FILE}:4"
    # every merge is a recorded decision with its rule
    assert [(d["decision"], d["rule"], d["local_file"].rsplit(":", 1)[1], d["other_osm_id"]) for d in decisions] == [
        ("merged_into_osm", "near_same_name", "2", 1), ("merged_into_osm", "same_name_and_address", "3", 2),
        ("repeat_dropped", "near_same_name", "5", 1)]
    assert decisions[0]["distance_m"] == pytest.approx(64.6, abs=0.1)
    # the merged supply counts only spaces open on the date (OSM-mapped ones are open at the query date):
    # a past trial day stays listed but is not supply
    active = local_inputs.active_on(merged, "2023-11-20")
    assert set(active["name"]) == {"Beispiel temporärer Coworking Space (Themenwoche)",
                                   "BEISPIEL Stadtbücherei als Dritter Ort", "Ganz woanders"}
    assert "BEISPIEL Probearbeitstag im Nachbarort" in set(local_inputs.active_on(merged, "2023-05-15")["name"])


def with_rows(delivery: Path, *rows: list[str]) -> pd.DataFrame:
    """Only ``rows`` (the cells up to 'Geschlossen am'), delivered beside the example list and placed."""
    path = delivery / DELIVERY / SPACES_FILE
    lines = path.read_text(encoding="utf-8").splitlines()
    tail = "BEISPIEL Citymanagement;BEISPIELDATEN (Testfixture, keine echten Angaben);dl-de/by-2-0"
    path.write_text("\n".join([*lines, *(";".join([*row, tail]) for row in rows)]) + "\n", encoding="utf-8")
    spaces = parse(delivery)["local_spaces"]
    return local_inputs.place_spaces(spaces[spaces["row"] > len(lines)], gemeinden_frame())


TOWN_HALL = ["BEISPIEL Coworking im Rathaus", "Am Markt 1, 23879 Mölln", "01053090", "53,6275", "10,6895",
             "dauerhaft", "10", "01.01.2023", ""]
LIBRARY = ["BEISPIEL Lesesaal der Stadtbibliothek", "Hauptstraße 5, 23879 Mölln", "01053090", "53,62808", "10,6895",
           "Bibliothek/Dritter Ort", "6", "01.01.2023", ""]


def test_two_different_places_near_each_other_stay_two(delivery):
    """A town hall's coworking room and the library 65 m away were one space within 100 m, and the indicator
    counted 1 instead of 2; being near is not enough, the name or the address must match too."""
    local = with_rows(delivery, TOWN_HALL, LIBRARY)
    decisions = []
    merged = local_inputs.merge_spaces(pd.DataFrame(columns=local_inputs.MERGED_COLUMNS), local, decisions)
    active = local_inputs.active_on(merged, "2023-11-20")
    assert set(active["name"]) == {TOWN_HALL[0], LIBRARY[0]}
    kept_apart = [d for d in decisions if d["decision"] == "kept_apart"]
    assert [(d["name"], d["other_name"]) for d in kept_apart] == [(LIBRARY[0], TOWN_HALL[0])]
    assert kept_apart[0]["distance_m"] == pytest.approx(64.5, abs=1)
    # the same place listed twice, near and under one address, is still one space (another spelling of the name)
    same = with_rows(delivery, TOWN_HALL, [TOWN_HALL[0].upper() + " (Neu)", *TOWN_HALL[1:]])
    merged = local_inputs.merge_spaces(pd.DataFrame(columns=local_inputs.MERGED_COLUMNS), same)
    assert merged["name"].str.contains("Rathaus", case=False).sum() == 1


def test_a_listed_place_near_an_osm_space_of_another_name_is_not_folded_into_it(delivery):
    """The town's library, 65 m from a coworking space mapped in OSM, was folded into the OSM space: the town's
    list counted one place fewer."""
    local = with_rows(delivery, LIBRARY)
    osm = pd.DataFrame([osm_space(1, "Coworking im Rathaus", 53.6275, 10.6895)])
    decisions = []
    merged = local_inputs.merge_spaces(osm, local, decisions)
    by_name = merged.set_index("name")
    assert by_name.loc["Coworking im Rathaus", "sources"] == "osm_coworking"
    assert by_name.loc[LIBRARY[0], "sources"] == "local_inputs"
    assert len(local_inputs.active_on(merged, "2023-11-20")) == 2
    assert [(d["decision"], d["rule"], d["other_osm_id"]) for d in decisions if d["name"] == LIBRARY[0]] == [
        ("kept_apart", "near_other_name", 1)]


def test_an_osm_space_with_only_street_and_number_is_the_town_rows_place_at_that_address(delivery):
    """OSM's addr:street and addr:housenumber without postcode and town, the town's 'Bahnhofstr. 12, 23879 Mölln'
    under another name 20 m away: the addresses never matched, and one place counted twice."""
    row = ["BEISPIEL Coworking-Space Mölln am Bahnhof", "Bahnhofstr. 12, 23879 Mölln", "01053090", "53,62818",
           "10,6895", "dauerhaft", "8", "01.03.2023", ""]
    osm = pd.DataFrame([osm_space(5, "Coworking Mölln", 53.6280, 10.6895,
                                  {"name": "Coworking Mölln", "addr:street": "Bahnhofstraße", "addr:housenumber": "12"})])
    decisions = []
    merged = local_inputs.merge_spaces(osm, with_rows(delivery, row), decisions)
    assert len(local_inputs.active_on(merged, "2023-11-20").query("name == 'Coworking Mölln'")) == 1
    assert row[0] not in set(merged["name"])
    assert [(d["decision"], d["rule"]) for d in decisions if d["name"] == row[0]] == [
        ("merged_into_osm", "near_same_address")]


@pytest.mark.parametrize("a, b, same", [
    ("Bahnhofstraße 12", "Bahnhofstr. 12, 23879 Mölln", True),  # OSM's street and number alone
    ("Bahnhofstraße 12 23879 Mölln", "Bahnhofstr. 12", True),  # no comma before the postcode
    ("Am Markt 1, 1. OG, 23879 Mölln", "Am Markt 1, EG, 23879 Mölln", False),  # two floors, two places
    ("Mölln, Hauptstraße 5", "Mölln, Am Markt 1", False),  # the town first: it was the whole key
    ("Am Markt 1, 23879 Mölln", "Am Markt 1, 21493 Schwarzenbek", False),
    ("", "", False),
])
def test_addresses_are_compared_by_street_and_number_without_conflicting_parts(a, b, same):
    assert local_inputs._same_address(a, b) is same and local_inputs._same_address(b, a) is same


def test_a_later_offer_at_an_osm_space_replaces_the_earlier_ones_details(delivery):
    """A temporary space (October 2022), then a permanent one in the same rooms, both at an OSM-mapped place: the
    permanent one was dropped as a repeat and the OSM space kept 'temporär, closed 31.10.2022'."""
    temporary = ["BEISPIEL Coworking im Rathaus", "Am Markt 1, 23879 Mölln", "01053090", "53,6275", "10,6895",
                 "temporär", "10", "01.10.2022", "31.10.2022"]
    permanent = [*temporary[:5], "dauerhaft", "20", "01.06.2023", ""]
    osm = pd.DataFrame([osm_space(9, "BEISPIEL Coworking im Rathaus", 53.6275, 10.6895)])
    decisions = []
    merged = local_inputs.merge_spaces(osm, with_rows(delivery, temporary, permanent), decisions)
    space = merged.set_index("name").loc["BEISPIEL Coworking im Rathaus"]
    assert (space["local_kind"], space["desks"], pd.isna(space["closed"])) == ("permanent", 20, True)
    assert space["local_file"].count(";") == 1  # both town rows listed
    assert [d["decision"] for d in decisions if d["name"] == temporary[0]] == ["merged_into_osm",
                                                                               "later_offer_at_osm_space"]


def test_a_delivery_named_in_capitals_is_read(delivery):
    """A file saved as COWORKING_01053090_BEISPIEL.CSV is found and read like the lower-case one (the file-name AGS
    of the supplying town too)."""
    before = parse(delivery)
    for path in (delivery / DELIVERY).iterdir():
        path.rename(path.with_name(path.name.upper()))
    after = parse(delivery)
    assert len(after["local_spaces"]) == len(before["local_spaces"]) == 4
    assert set(after["local_spaces"]["supplying_ags"]) == {"01053090"}
    assert after["survey_results"]["share"].tolist() == before["survey_results"]["share"].tolist()


def test_a_delivery_file_named_otherwise_is_an_error_not_ignored(tmp_path):
    """coworking_01053090.CSV (capital extension) and a folder 20.11.2023 were skipped without a word and the new
    space never published (bad-input review of 4 December): a capital extension or prefix is read, any other name
    in local-inputs/ is an error naming the file; what a file manager or Excel leaves there is ignored."""
    from sources.errors import SourceError
    from sources.registry import discover_releases, load_sources

    spec = load_sources()["local_inputs"]
    delivery = tmp_path / "local-inputs" / "2023-11-20"
    delivery.mkdir(parents=True)
    for name in ("Coworking_01053090.CSV", "umfrage_01053090.XLSX", "~$umfrage_01053090.xlsx", ".DS_Store"):
        (delivery / name).write_text("x", encoding="utf-8")
    releases = discover_releases(spec, tmp_path)
    assert [(r.vintage, sorted(f.role for f in r.files)) for r in releases] == [("2023-11-20", ["coworking", "survey"])]
    (tmp_path / "other-publisher.csv").write_text("x", encoding="utf-8")  # outside local-inputs/: not this source's
    assert len(discover_releases(spec, tmp_path)) == 1
    wrong = tmp_path / "local-inputs" / "20.11.2023"
    wrong.mkdir()
    (wrong / "coworking_01053090.csv").write_text("x", encoding="utf-8")
    with pytest.raises(SourceError, match=r"^\[local_inputs\] local-inputs/20.11.2023/coworking_01053090.csv: is not "
                                          r"a file name this folder may hold, so it would be ignored; expected: "
                                          r"local-inputs/<YYYY-MM-DD of the delivery>/coworking_<AGS>"):
        discover_releases(spec, tmp_path)


def test_no_places_are_open_on_any_day_also_as_read_back_from_the_warehouse():
    """A town page with no place within reach filtered an empty frame read from DuckDB (DATE columns): mapping an
    empty date column kept its date dtype and '&' failed the whole page build."""
    import duckdb

    empty = duckdb.connect().execute("SELECT 'local' AS osm_type, DATE '2023-01-01' AS opened, "
                                     "DATE '2023-12-31' AS closed LIMIT 0").df()
    assert local_inputs.active_on(empty, "2023-11-20").empty


def test_the_same_name_and_street_in_a_far_town_is_another_place(delivery):
    """A Mölln row 'Coworking am Bahnhof, Bahnhofstr. 1' was merged into an OSM space of that name at Bahnhofstraße 1
    in München (OSM's address had no postcode or town): it took München's position and AGS, and Mölln's count lost
    it (coworking review of 5 December 2026). Within the town's reach the same name and address still match."""
    row = ["Coworking am Bahnhof", "Bahnhofstr. 1, 23879 Mölln", "01053090", "53,6280", "10,6895", "dauerhaft", "8",
           "01.03.2023", ""]
    tags = {"name": "Coworking am Bahnhof", "addr:street": "Bahnhofstraße", "addr:housenumber": "1"}
    munich = pd.DataFrame([{**osm_space(9, "Coworking am Bahnhof", 48.1402, 11.5600, tags), "ags": "09162000"}])
    decisions = []
    merged = local_inputs.merge_spaces(munich, with_rows(delivery, row), decisions)
    assert sorted(merged["ags"]) == ["01053090", "09162000"]  # two places, Mölln's in Mölln
    assert [d["decision"] for d in decisions if d["name"] == row[0]] == []  # a new place, nothing merged
    # 2 km away, at the edge of Mölln's outline (the OSM point in the neighbour's polygon): the same place
    near = pd.DataFrame([{**osm_space(9, "Coworking am Bahnhof", 53.6460, 10.6895, tags), "ags": "01053100"}])
    decisions = []
    merged = local_inputs.merge_spaces(near, with_rows(delivery, row), decisions)
    assert len(merged) == 1 and merged.loc[0, "sources"] == "osm_coworking; local_inputs"
    assert [(d["decision"], d["rule"]) for d in decisions] == [("merged_into_osm", "same_name_and_address")]
