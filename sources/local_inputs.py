"""The town's own data: coworking spaces and offers, and survey results (docs/local-inputs.md).

A delivery is a folder ``local-inputs/<YYYY-MM-DD>/`` holding files ``coworking*.csv|xlsx`` and
``umfrage*.csv|xlsx`` in the template layout (templates/local-inputs/): German headers, one row
per space or per answer, and in every row who supplied the file (``Lieferant``) and under which
licence (``Lizenz``), so that every value keeps its provenance. CSV files are semicolon-separated
UTF-8 (a German spreadsheet's cp1252 export is read too); XLSX files use their first sheet, and any other sheet
than the template's instructions (``Hinweise``) must be empty (a second sheet of places was silently left out).

Validation is strict because the values are published: a wrong AGS, an unknown kind, a date
in the future, a share outside 0–100 or a missing required value fails the release with a
message naming file, row and column; the run then publishes nothing. What only shows across rows (a
survey question's answers, also across the files of one delivery) is checked over the whole delivery.
"""

from __future__ import annotations

import csv
import datetime as dt
import html
import io
import logging
import re
import zipfile
from pathlib import Path

import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.errors import SourceError, column_letter
from sources.gigabit_grundbuch import THOUSANDS
from sources.registry import Release, ReleaseFile

log = logging.getLogger(__name__)

# German header -> column; (required, kind of check)
SPACE_HEADERS = {
    "Name": ("name", True, "text"),
    "Adresse": ("address", True, "text"),
    "AGS": ("ags", True, "ags"),
    "Breitengrad": ("lat", False, "lat"),
    "Längengrad": ("lon", False, "lon"),
    "Art": ("local_kind", True, "kind"),
    "Arbeitsplätze": ("desks", False, "count"),
    "Eröffnet am": ("opened", False, "date"),
    "Geschlossen am": ("closed", False, "date"),
    "Gemeldet von": ("reported_by", True, "text"),
    "Lieferant": ("supplier", True, "text"),
    "Lizenz": ("licence", True, "text"),
}
SURVEY_HEADERS = {
    "AGS": ("ags", True, "ags"),
    "Fragecode": ("question_code", True, "text"),
    "Frage": ("question", False, "text"),
    "Mehrfachnennung": ("multiple_choice", False, "yes_no"),
    "Antwort": ("answer", True, "text"),
    "Anteil (%)": ("share", True, "share"),
    "Befragte": ("respondents", True, "respondents"),
    "Feldzeit von": ("fieldwork_from", True, "date"),
    "Feldzeit bis": ("fieldwork_to", True, "date"),
    "Durchgeführt von": ("conducted_by", True, "text"),
    "Lieferant": ("supplier", True, "text"),
    "Lizenz": ("licence", True, "text"),
}
# Headers a file may leave out: 'Mehrfachnennung' came with the check that single-choice shares add up to 100, so a
# file in the earlier template (without it) is read as it was meant then, every question single choice
OPTIONAL_HEADERS = {"Mehrfachnennung"}
KIND_LABELS = ["dauerhaft", "temporär", "Probearbeitstag", "Bibliothek/Dritter Ort"]
KINDS = {  # German label in the template (any case) -> stored kind
    "dauerhaft": "permanent",
    "temporär": "temporary",
    "probearbeitstag": "trial_day",
    "bibliothek/dritter ort": "third_place",
}
YES_NO = {"ja": True, "nein": False}
SPACE_COLUMNS = [c for c, _, _ in SPACE_HEADERS.values()] + ["supplying_ags", "file", "row"]
SURVEY_COLUMNS = [c for c, _, _ in SURVEY_HEADERS.values()] + ["supplying_ags", "file", "row"]
NOTES_SHEET = "Hinweise"  # the template's sheet of instructions: the only sheet besides the first that may hold text


def parse_release(release: Release, today: dt.date | None = None) -> dict[str, pd.DataFrame]:
    """``local_spaces`` and ``survey_results`` of one delivery; no index observations (see module doc)."""
    today = today or dt.date.today()
    spaces = [_check_spaces(release.source_id, f, _read(release.source_id, f, SPACE_HEADERS, today))
              for f in release.files if f.role == "coworking"]
    surveys = [_read(release.source_id, f, SURVEY_HEADERS, today) for f in release.files if f.role == "survey"]
    spaces = _frame(spaces, SPACE_COLUMNS)
    # the across-row checks run over every survey row of the delivery: the same question in two of its files was
    # published twice (shares adding up to 200 %)
    surveys = _check_survey(release.source_id, _frame(surveys, SURVEY_COLUMNS))
    # stored as a flag (blank or a file without the column: single choice), so a reader knows whether the shares of
    # a question add up to 100
    surveys["multiple_choice"] = _multiple(surveys).astype(bool)
    _check_dates_in_order(release.source_id, spaces, "opened", "closed", "Geschlossen am")
    _check_periods(release.source_id, spaces)
    _check_dates_in_order(release.source_id, surveys, "fieldwork_from", "fieldwork_to", "Feldzeit bis")
    return {"local_spaces": spaces, "survey_results": surveys,
            "observations": pd.DataFrame(columns=OBSERVATION_COLUMNS)}


def supplying_town(source_id: str, release_file: ReleaseFile) -> str:
    """The AGS in the file name (``coworking_01053090[_text].csv``): the town whose own list this is.

    A list covers that town: its coworking indicator is computed from the list (and OSM, where
    loaded); a neighbour named in the list is not covered by it.
    """
    match = re.match(r"(?:coworking|umfrage)_(\d{8})(?:_[^/]*)?\.(?:csv|xlsx)$", release_file.path.name, re.IGNORECASE)
    if not match:
        raise SourceError(source_id, release_file.relative_path,
                          "file name must be coworking_<AGS>[_text].csv|xlsx or umfrage_<AGS>[_text].csv|xlsx "
                          "with the 8-digit AGS of the supplying town")
    return match.group(1)


def _read(source_id: str, release_file: ReleaseFile, headers: dict, today: dt.date) -> pd.DataFrame:
    """Rows of one template file, validated cell by cell; rows numbered as the user sees them (header = 1)."""
    town = supplying_town(source_id, release_file)
    table = _table(source_id, release_file)
    if not table:
        raise SourceError(source_id, release_file.relative_path, "empty file: expected the template's header row")
    header = [str(h or "").strip() for h in table[0]]
    missing = [h for h in headers if h not in header and h not in OPTIONAL_HEADERS]
    unknown = [h for h in header if h and h not in headers]
    if missing or unknown:
        raise SourceError(source_id, release_file.relative_path,
                          f"header does not match the template: missing {missing}, unknown {unknown}")
    _check_columns(source_id, release_file.relative_path, table, header)
    records = []
    for number, row in enumerate(table[1:], start=2):
        cells = dict(zip(header, list(row) + [None] * (len(header) - len(row))))
        if all(_blank(v) for v in cells.values()):
            continue  # trailing empty rows of a spreadsheet
        record = {"file": release_file.relative_path, "row": number, "supplying_ags": town}
        for heading, (column, required, check) in headers.items():
            where = f"row {number}, column '{heading}'"
            record[column] = _cell(source_id, release_file.relative_path, where, cells.get(heading), required, check,
                                   today)
        if "lat" in record and (record["lat"] is None) != (record["lon"] is None):
            given, other = ("Breitengrad", "Längengrad") if record["lat"] is not None else ("Längengrad", "Breitengrad")
            raise SourceError(source_id, release_file.relative_path,
                              f"row {number}, column '{other}': required when '{given}' is given")
        records.append(record)
    if not records:
        raise SourceError(source_id, release_file.relative_path, "no data rows below the header")
    return pd.DataFrame(records)


def _check_columns(source_id: str, file: str, table: list[list], header: list[str]) -> None:
    """SourceError for a column whose values would be left out: one without a header, or a header given twice.

    Why: the rows are read by header, so a column without one (a note typed beside the table, a column inserted
    and left unnamed) was dropped without a word, and of two columns with the same header only the last was read.
    """
    seen: dict[str, int] = {}
    for index, heading in enumerate(header):
        if heading and heading in seen:
            raise SourceError(source_id, file, f"columns {column_letter(seen[heading])} and {column_letter(index)} both "
                                               f"have the header '{heading}': only one would be read; delete one")
        seen[heading] = index
    for number, row in enumerate(table[1:], start=2):
        for index, value in enumerate(row):
            if (index >= len(header) or not header[index]) and not _blank(value):
                raise SourceError(source_id, file, f"row {number}, column {column_letter(index)} (column {index + 1}) "
                                                   f"holds {value!r} but the column has no header, so it would be "
                                                   "left out: give it its template header or delete the column")


def _table(source_id: str, release_file: ReleaseFile) -> list[list]:
    """The cells of the file, one list per row: the CSV's, or the first sheet's of a workbook (``_sheet_rows``)."""
    if release_file.path.suffix.lower() == ".xlsx":
        return _sheet_rows(source_id, release_file)
    raw = release_file.path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")
    first = text.splitlines()[0] if text.strip() else ""
    if ";" not in first:
        raise SourceError(source_id, release_file.relative_path,
                          "header row has no ';': the template's CSV is semicolon-separated")
    return [row for row in csv.reader(io.StringIO(text), delimiter=";")]


def _sheet_rows(source_id: str, release_file: ReleaseFile) -> list[list]:
    """The first sheet's cell values; a SourceError when another sheet holds data or a formula has no saved result.

    Only the first sheet is read, so a second sheet of places (same header) was silently half of the list (Mölln's
    coworking_within_10km 1.0 -> 0.0): a workbook whose other sheets, the instructions ``Hinweise`` excepted, hold
    anything is refused rather than read in part or guessed at. A formula saved without its result (a file written
    by a program, not by Excel) reads as an empty cell, so its value would be lost: refused naming the cell.
    """
    from openpyxl import load_workbook

    file = release_file.relative_path
    try:
        values = load_workbook(release_file.path, read_only=True, data_only=True)
        sheets = [(sheet.title, [list(r) for r in sheet.iter_rows(values_only=True)]) for sheet in values.worksheets]
        unsaved = _formulas_without_result(release_file.path, values.worksheets[0]._worksheet_path) if sheets else []
        values.close()
    except Exception as exc:  # openpyxl raises several types for a broken workbook
        raise SourceError(source_id, file, f"not a readable xlsx workbook ({exc})") from exc
    if not sheets:
        raise SourceError(source_id, file, "the workbook has no sheet")
    for title, rows in sheets[1:]:
        if title.strip().casefold() != NOTES_SHEET.casefold() and any(not _blank(v) for row in rows for v in row):
            raise SourceError(source_id, file, f"sheet '{title}' holds data, but only the first sheet "
                                               f"('{sheets[0][0]}') is read: put every row on the first sheet "
                                               f"(only the template's sheet '{NOTES_SHEET}' may hold text)")
    if unsaved:
        cell, formula = unsaved[0]
        raise SourceError(source_id, file, f"cell {cell}: the formula {formula!r} was saved without its result, so "
                                           "the cell reads as empty: open the file in a spreadsheet program and save "
                                           "it again, or enter the value")
    return sheets[0][1]


# a cell of SpreadsheetML with content: its attributes (r= reference, t= type) and what it holds (<f> formula, also
# a shared formula's empty <f t="shared" si="0"/>; <v> saved result), with or without a namespace prefix (x:c)
XLSX_CELL = re.compile(r"<(?:\w+:)?c\b([^>]*?)(?<!/)>(.*?)</(?:\w+:)?c>", re.S)
XLSX_FORMULA = re.compile(r"<(?:\w+:)?f\b[^>]*?(?:/>|>(.*?)</(?:\w+:)?f>)", re.S)
XLSX_RESULT = re.compile(r"<(?:\w+:)?v\b[^>]*>(.+?)</(?:\w+:)?v>", re.S)
TEXT_RESULT = re.compile(r"""\bt\s*=\s*["']str["']""")


def _formulas_without_result(path: Path, worksheet: str) -> list[tuple[str, str]]:
    """(reference, formula) of the worksheet's formula cells saved without a result.

    Read from the XML because openpyxl reads such a cell as None, as it reads a formula whose saved result is
    the empty text: that one (``t="str"`` with an empty ``<v>``, e.g. =WENN(…;"";…)) is a result and stays an
    empty cell; any other formula cell without a non-empty ``<v>`` (a program saved no result: ``<v/>`` or none)
    has none."""
    with zipfile.ZipFile(path) as bundle:
        xml = bundle.read(worksheet.lstrip("/")).decode("utf-8", "replace")
    unsaved = []
    for attributes, inner in XLSX_CELL.findall(xml):
        formula = XLSX_FORMULA.search(inner)
        if formula and not XLSX_RESULT.search(inner) and not TEXT_RESULT.search(attributes):
            reference = re.search(r"""\br\s*=\s*["']([A-Z]+\d+)["']""", attributes)
            text = "=" + html.unescape(formula.group(1)) if formula.group(1) else "(a shared formula)"
            unsaved.append((reference.group(1) if reference else "?", text))
    return unsaved


def _blank(value) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _cell(source_id, file, where, value, required, check, today):
    """One validated cell; a problem raises SourceError naming file, row and column."""
    if _blank(value):
        if required:
            raise SourceError(source_id, file, f"{where}: a value is required")
        return None
    text = value.strip() if isinstance(value, str) else value
    problem = None
    if check == "text":
        return str(text)
    if check == "ags":
        text = str(text).zfill(8) if isinstance(text, int) else str(text)
        if not re.fullmatch(r"\d{8}", text):
            problem = f"{text!r} is not an 8-digit AGS (Amtlicher Gemeindeschlüssel)"
        else:
            return text
    elif check == "kind":
        kind = KINDS.get(str(text).strip().lower())
        if kind is None:
            problem = f"unknown kind {text!r}; allowed: {', '.join(KIND_LABELS)}"
        else:
            return kind
    elif check == "yes_no":
        answer = YES_NO.get(str(text).strip().lower())
        if answer is None:
            problem = f"{text!r} is neither 'ja' nor 'nein'"
        else:
            return answer
    elif check in NUMBER_BOUNDS:
        number, problem = _numeric(text, check)
        if problem is None:
            return number
    elif check == "date":
        date = _date(text)
        if date is None:
            problem = f"{text!r} is not a date (TT.MM.JJJJ or JJJJ-MM-TT)"
        elif date > today:
            problem = f"date {date.isoformat()} is in the future"
        else:
            return date
    raise SourceError(source_id, file, f"{where}: {problem}")


# numeric checks: (lowest, highest) allowed; count and respondents are whole numbers
NUMBER_BOUNDS = {"lat": (47.0, 55.2), "lon": (5.8, 15.1), "share": (0, 100), "count": (0, None),
                 "respondents": (1, None)}
WHOLE = {"count", "respondents"}
# a comma followed by exactly three digits: a thousand in English notation (1,000), one in German (1,000 = 1.000)
AMBIGUOUS_COMMA = re.compile(r",\d{3}(?!\d)")


def _numeric(text, check: str) -> tuple[float | int | None, str | None]:
    """(value, None) of a numeric cell, or (None, the problem)."""
    whole = check in WHOLE
    if whole and isinstance(text, str) and AMBIGUOUS_COMMA.search(text):
        # read as German it is a decimal (1,000 = 1 respondent), but in a whole-number column it is almost always
        # an English thousands separator (a thousand): neither reading can be trusted
        return None, (f"{text!r} is ambiguous in a whole-number column: a comma before three digits is a decimal "
                      "comma in German (1) but a thousands separator in English (1000); write the number without "
                      "separators (1000) or with a German thousands point (1.000)")
    number = _number(text, whole=whole)
    low, high = NUMBER_BOUNDS[check]
    if number is None:
        return None, f"{text!r} is not a number"
    if number < low or (high is not None and number > high):
        return None, {"lat": f"latitude {number} is outside Germany (47.0–55.2)",
                      "lon": f"longitude {number} is outside Germany (5.8–15.1)",
                      "share": f"share {number} is outside 0–100",
                      "count": f"{number} is negative",
                      "respondents": f"{number:g} respondents: a share needs at least 1 respondent"}[check]
    if whole and number != int(number):
        return None, f"{number} is not a whole number"
    return (int(number) if whole else number), None


def _number(value, whole: bool = False) -> float | None:
    """A cell's number: a decimal comma is a decimal point; in a whole-number column (``whole``) a German thousands
    point is one ("1.000" respondents are a thousand, not one)."""
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    if whole and THOUSANDS.fullmatch(text):
        text = text.replace(".", "")
    elif "," in text:
        text = text.replace(".", "").replace(",", ".")
    try:
        return float(text)
    except ValueError:
        return None


TOTAL_ANSWERS = re.compile(r"(ins)?gesamt|summe|total", re.IGNORECASE)
FRACTION_SUM = 1.05  # shares of one question that add up to at most this were written as fractions of 1
# How far the shares of a single-choice question may add up from 100: half a point per answer, the most that rounding
# each share to a whole percent can add up to (three answers 33 / 33 / 33 = 99). A larger gap is an answer option left
# out (list 'weiß nicht' or 'keine Angabe' too) or a wrong cell, e.g. 0,26 where 26 is meant (an Excel percent format)
ROUNDING_PER_ANSWER = 0.5
# kinds whose period is part of what they are: without both dates such an offer counted as open on every date
# before and after it (a trial day with no closing date made Mölln's 2023 supply 2.0)
DATED_KINDS = {"temporary": "temporär", "trial_day": "Probearbeitstag"}


def _check_spaces(source_id: str, release_file: ReleaseFile, rows: pd.DataFrame) -> pd.DataFrame:
    """A town's coworking list names at least one place in the town of its file name, or a SourceError.

    The file name makes that town a supplying town, measured from the list. A list whose every row lies
    elsewhere is almost always a typo in the file name (Ratzeburg's 01053100 for Mölln's 01053090), and
    it measured the named town from a list it never sent, with the other town's supplier on its page.
    """
    town = rows["supplying_ags"].iloc[0]
    if not (rows["ags"] == town).any():
        raise SourceError(source_id, release_file.relative_path,
                          f"column 'AGS': no row is in {town}, the town of the file name (the rows are in "
                          f"{', '.join(sorted(set(rows['ags'])))}): a town's list names at least one place in the "
                          "town itself; is the AGS in the file name right?")
    return rows


def _check_periods(source_id: str, spaces: pd.DataFrame) -> None:
    """SourceError for a temporary place or a trial day without its first or last day (file, row, column).

    Refused rather than given a default: any default (the delivery date, one day) would publish a supply the town
    never stated, and an open end counted the offer as open on every later date (Mölln's 2023 value 2.0 from a
    trial day without 'Geschlossen am').
    """
    for row in spaces[spaces["local_kind"].isin(list(DATED_KINDS))].itertuples():
        for column, heading, side in (("closed", "Geschlossen am", "later"), ("opened", "Eröffnet am", "earlier")):
            day = getattr(row, column)
            if day is None or pd.isna(day):
                raise SourceError(source_id, row.file, f"row {row.row}, column '{heading}': a place of kind "
                                                       f"'{DATED_KINDS[row.local_kind]}' needs both dates (a trial "
                                                       f"day: the same day twice); without this one it would count "
                                                       f"as open on every {side} date")


def _rows_of(rows: pd.DataFrame) -> str:
    """'rows 2-4' of one file, or 'a.csv rows 2-4 and b.csv rows 2-4' across files (the SourceError names the first)."""
    def span(group: pd.DataFrame) -> str:
        low, high = group["row"].min(), group["row"].max()
        return f"row {low}" if low == high else f"rows {low}-{high}"

    files = list(dict.fromkeys(rows["file"]))
    if len(files) == 1:
        return span(rows)
    return " and ".join(f"{file.rsplit('/', 1)[-1]} {span(rows[rows['file'] == file])}" for file in files)


def _file_fractions(source_id: str, rows: pd.DataFrame) -> None:
    """SourceError for a file whose every share lies between 0 and 1.

    Per file, because a file is one spreadsheet's export: a one-row question 0,45 and a multiple choice 0,6 / 0,5 /
    0,3 were published as 0.45 % and 0.6 % (bad-input review of 4 December)."""
    for file, shares in rows.groupby("file", sort=False)["share"]:
        shares = shares.dropna()
        if len(shares) and 0 < shares.max() <= 1:  # one-row questions, or several that need not add up to 1
            raise SourceError(source_id, file, f"column 'Anteil (%)': every share of the file lies between 0 and 1 "
                                               f"(largest {shares.max():g}): fractions of 1 (0,45) where percent (45) "
                                               "is expected")


def _check_survey(source_id: str, rows: pd.DataFrame) -> pd.DataFrame:
    """The survey rows of one delivery, read as one set of answers per question (AGS and Fragecode), or a SourceError.

    Each row passed its cell checks; these catch what only shows across rows and would otherwise be published as the
    town's own evidence (``_check_answers``, ``_check_questions``). They run over every file of the delivery together:
    a question delivered in two files (the first and a corrected one) was published twice.
    """
    if rows.empty:
        return rows
    _check_answers(source_id, rows)
    questions = list(rows.groupby(["ags", "question_code"], sort=False))
    for (_, code), question in questions:
        _check_question(source_id, code, question)
    _file_fractions(source_id, rows)  # after the questions: a question of fractions adding up to 1 says so there
    for (_, code), question in questions:
        _check_single_choice(source_id, code, question)
    return rows


def _check_answers(source_id: str, rows: pd.DataFrame) -> None:
    """SourceError for a row about another Gemeinde than its file's, a total row, a question in two files of the
    delivery, or an answer listed twice."""
    other = rows[rows["ags"] != rows["supplying_ags"]]
    if len(other):
        row = other.iloc[0]
        raise SourceError(source_id, row["file"], f"row {row['row']}, column 'AGS': {row['ags']} is not the town of "
                                                  f"the file name ({row['supplying_ags']}): a town delivers its own "
                                                  "survey results")
    totals = rows[rows["answer"].str.strip().str.fullmatch(TOTAL_ANSWERS)]
    if len(totals):
        row = totals.iloc[0]
        raise SourceError(source_id, row["file"], f"row {row['row']}, column 'Antwort': {row['answer']!r} is a total, "
                                                  "not an answer option: leave the total row out")
    files = rows.groupby(["ags", "question_code"], sort=False)["file"].nunique()
    if (files > 1).any():
        ags, code = files[files > 1].index[0]
        question = rows[(rows["ags"] == ags) & (rows["question_code"] == code)]
        raise SourceError(source_id, question["file"].iloc[0],
                          f"question {code} is in more than one file of this delivery ({_rows_of(question)}), so it "
                          "would be published twice: one file per question; a corrected file replaces the earlier "
                          "one (delete the earlier file)")
    key = rows[["ags", "question_code"]].assign(answer=rows["answer"].str.strip().str.casefold())
    repeated = key.duplicated()
    if repeated.any():
        second = rows[repeated].iloc[0]
        first = rows[(key == key[repeated].iloc[0]).all(axis=1)].iloc[0]
        raise SourceError(source_id, first["file"], f"rows {first['row']} and {second['row']}: question "
                                                    f"{first['question_code']} lists the answer {first['answer']!r} "
                                                    "twice")


def _check_question(source_id: str, code: str, question: pd.DataFrame) -> None:
    """SourceError for a question with two respondent counts, with and without 'Mehrfachnennung', or whose shares
    add up to about 1 (fractions: 0,185 for 18,5 %)."""
    file = question["file"].iloc[0]
    if question["respondents"].nunique() > 1:
        a, b = question.drop_duplicates("respondents").iloc[:2].itertuples()
        raise SourceError(source_id, file, f"rows {a.row} and {b.row}, column 'Befragte': question {code} has "
                                           f"{a.respondents} and {b.respondents} respondents; one count per question")
    if _multiple(question).nunique() > 1:
        raise SourceError(source_id, file, f"{_rows_of(question)}, column 'Mehrfachnennung': question {code} is "
                                           "marked 'ja' in some rows and not in others; the same in every row")
    shares = question["share"]
    if len(question) > 1 and shares.max() <= 1 and 0 < shares.sum() <= FRACTION_SUM:
        raise SourceError(source_id, file, f"{_rows_of(question)}, column 'Anteil (%)': the shares of question {code} "
                                           f"add up to {shares.sum():g}: fractions of 1 (0,185) where percent (18,5) "
                                           "is expected")


def _check_single_choice(source_id: str, code: str, question: pd.DataFrame) -> None:
    """SourceError for a single-choice question (not 'Mehrfachnennung: ja') whose shares do not add up to 100 within
    ROUNDING_PER_ANSWER per answer. A multiple-choice question's shares may add up to anything (each is the share of
    respondents who named that answer), so it is not checked."""
    if _multiple(question).any():
        return
    total, tolerance = question["share"].sum(), ROUNDING_PER_ANSWER * len(question)
    if abs(total - 100) > tolerance:
        raise SourceError(source_id, question["file"].iloc[0],
                          f"{_rows_of(question)}, column 'Anteil (%)': the shares of question {code} add up to "
                          f"{total:g}, not 100 (± {tolerance:g} for rounding): is a share written as a fraction "
                          "(0,26 for 26, as an Excel percent format gives it) or an answer left out (list 'weiß "
                          "nicht' or 'keine Angabe' too)? If several answers could be chosen, write 'ja' in column "
                          "'Mehrfachnennung' (a file in the template before 5 December 2026 lacks it: add the "
                          "column)")


def _multiple(question: pd.DataFrame) -> pd.Series:
    """Whether each row of a question says 'Mehrfachnennung: ja' (blank or a file without the column: no)."""
    return question["multiple_choice"].map(lambda value: value is True)


def latest_surveys(surveys: pd.DataFrame) -> pd.DataFrame:
    """Each question (AGS and Fragecode) from the latest delivery that holds it: a town that delivers a survey again
    (corrected, or repeated beside a new one) replaces it; stacking the deliveries listed every answer twice."""
    return latest_delivery(surveys, ["ags", "question_code"])


def latest_delivery(rows: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """The rows of the latest delivery (``vintage``) per ``keys``: a town's later delivery of a survey question or a
    coworking list replaces its earlier one; another town's delivery does not."""
    if rows.empty:
        return rows
    latest = rows.groupby(keys)["vintage"].transform("max")
    return rows[rows["vintage"] == latest].reset_index(drop=True)


def _date(value) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    for pattern in ("%d.%m.%Y", "%Y-%m-%d"):
        try:
            return dt.datetime.strptime(str(value), pattern).date()
        except ValueError:
            continue
    return None


def _check_dates_in_order(source_id: str, frame: pd.DataFrame, start: str, end: str, heading: str) -> None:
    if frame.empty:
        return
    wrong = frame[frame[start].notna() & frame[end].notna() & (frame[end] < frame[start])]
    if len(wrong):
        first = wrong.iloc[0]
        raise SourceError(source_id, first["file"], f"row {first['row']}, column '{heading}': "
                                                    f"{first[end]} is before {first[start]}")


def _frame(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


# --- merging with OpenStreetMap ----------------------------------------------------------------------------

# Two entries within this distance (and of the same name or address) are the same space: a place's point in a town's
# list, a node at its entrance and the centre of its building lie well within it for all but the largest buildings
SAME_PLACE_M = 100
MERGED_COLUMNS = ["osm_type", "osm_id", "name", "lat", "lon", "kind", "website", "operator", "tags",
                  "osm_base_timestamp", "ags", "sources", "locally_reported", "located_at_gemeinde", "address",
                  "local_kind", "desks", "opened", "closed", "reported_by", "supplier", "licence", "local_file",
                  "listed_on"]


def place_spaces(local: pd.DataFrame, gemeinden, check_ags: bool = True) -> pd.DataFrame:
    """Local rows with coordinates; a row without them is placed at its Gemeinde's representative point
    (inside the polygon) and flagged ``located_at_gemeinde``. An AGS not among the Gemeinden fails, and so do
    coordinates far outside the Gemeinde of the row's AGS (``_check_within_reach``)."""
    from sources.osm_coworking import METRIC_CRS

    known = set(gemeinden["ags"])
    if check_ags:
        for _, row in local.iterrows():
            for column, heading in (("ags", "AGS"), ("supplying_ags", "file name")):
                if row[column] not in known:
                    raise SourceError("local_inputs", row["file"], f"row {row['row']}, column '{heading}': AGS "
                                      f"{row[column]} is not a Gemeinde of the register")
        _check_within_reach(local, gemeinden)
    centres = gemeinden.to_crs(METRIC_CRS).set_index("ags").geometry.representative_point().to_crs("EPSG:4326")
    placed = local.copy()
    placed["located_at_gemeinde"] = placed["lat"].isna()
    placed.loc[placed["located_at_gemeinde"], "lat"] = placed.loc[placed["located_at_gemeinde"], "ags"].map(centres.y)
    placed.loc[placed["located_at_gemeinde"], "lon"] = placed.loc[placed["located_at_gemeinde"], "ags"].map(centres.x)
    return placed


# How far outside the polygon of its AGS a place's coordinates may lie: the generalised VG5000 outlines miss a
# point near the border by up to about a kilometre. Coordinates of Munich in Mölln's list were published as a
# Mölln place there and its own count fell (bad-input review of 4 December).
FAR_FROM_GEMEINDE_M = 5000


def _check_within_reach(local: pd.DataFrame, gemeinden) -> None:
    """SourceError for the first row whose coordinates lie more than FAR_FROM_GEMEINDE_M outside its Gemeinde."""
    import geopandas as gpd

    from sources.osm_coworking import METRIC_CRS

    given = local[local["lat"].notna() & local["lon"].notna()]
    if given.empty:
        return
    points = gpd.GeoSeries(gpd.points_from_xy(given["lon"], given["lat"]), index=given.index, crs="EPSG:4326")
    outlines = gemeinden[gemeinden["ags"].isin(given["ags"])].set_index("ags").geometry.to_crs(METRIC_CRS)  # only these
    distance = points.to_crs(METRIC_CRS).distance(gpd.GeoSeries(given["ags"].map(outlines), index=given.index,
                                                                  crs=METRIC_CRS))
    far = distance[distance > FAR_FROM_GEMEINDE_M]
    if len(far):
        row = given.loc[far.index[0]]
        raise SourceError("local_inputs", row["file"], f"row {row['row']}, columns 'Breitengrad'/'Längengrad': "
                          f"{row['lat']:g} / {row['lon']:g} lies {far.iloc[0] / 1000:.0f} km outside the Gemeinde "
                          f"of its AGS {row['ags']} (swapped or mistyped coordinates, or the wrong AGS?)")


def merge_spaces(osm: pd.DataFrame, local: pd.DataFrame, decisions: list | None = None) -> pd.DataFrame:
    """One row per space (MERGED_COLUMNS): OSM spaces, plus local ones that match none of them.

    Same space (``_same_space``): within SAME_PLACE_M metres (coordinates given, not placed at the Gemeinde) and
    with the same name or the same address (case, spaces and punctuation ignored); or the same name and address in
    the row's Gemeinde or within SAME_NAME_AND_ADDRESS_M (``_could_be_its_place``); or, for a row without
    coordinates, an OSM space of the same name in the same Gemeinde whose OSM entry
    has no address. Nearness alone is not enough: a town hall's coworking room and the library 65 m away are two
    spaces, and one of them vanished from the count. A matched OSM space takes the local details and lists both
    sources; a local row matching an earlier local row is dropped as a repeat, unless their periods do not overlap:
    a later offer at the same place (the temporary space closed, a permanent one opened in the same rooms) is a
    space of its own, else the permanent one vanished with the temporary one's dates; at an OSM space, which
    counts as what is there now, the later offer replaces the earlier one's details.

    Every merge stays visible: the merged row's ``local_file`` lists each town row it took in (``file:row; ...``),
    ``osm_type`` and ``locally_reported`` say that a listed place is an OSM space, and each decision (merged, repeat
    dropped, later offer kept, kept apart although near) is appended to ``decisions`` (if given) and logged.
    """
    merged = _osm_rows(osm)
    for _, row in local.iterrows():
        index, rule, metres = _same_space(merged, row)
        local_file = f"{row['file']}:{row['row']}"
        later_offer = index is not None and merged.at[index, "osm_type"] == "local" and not _overlap(
            merged.at[index, "opened"], merged.at[index, "closed"], row["opened"], row["closed"])
        if index is None or later_offer:
            merged.loc[len(merged)] = _local_row(row, later_offer)
            decision = "later_offer_kept" if later_offer else "kept_apart" if rule else "new"
        elif merged.at[index, "locally_reported"] and _later_offer(merged.loc[index], row):
            # an OSM space shows what is there now: the town's latest offer in its rooms (a temporary space that
            # closed, then a permanent one), the earlier one listed in local_file
            earlier = merged.at[index, "local_file"]
            for column, value in _local_details(row).items():
                merged.at[index, column] = value
            merged.at[index, "local_file"] = f"{earlier}; {local_file}"
            decision = "later_offer_at_osm_space"
        elif merged.at[index, "locally_reported"]:  # a repeat of a row already taken in: its details stay
            merged.at[index, "local_file"] = f"{merged.at[index, 'local_file']}; {local_file}"
            decision = "repeat_dropped"
        else:  # an OSM space the town reported too
            for column, value in _local_details(row).items():
                merged.at[index, column] = value
            merged.at[index, "sources"] = "osm_coworking; local_inputs"
            decision = "merged_into_osm"
        if decision != "new":
            _record(decisions, decision, rule, local_file, row["name"], merged.loc[index] if index is not None
                    else merged.loc[_nearest(merged, row)], metres)
    return merged.astype({"lat": float, "lon": float})


def _osm_rows(osm: pd.DataFrame) -> pd.DataFrame:
    """The OSM spaces in MERGED_COLUMNS, before any town row is merged in."""
    merged = osm.assign(sources="osm_coworking", locally_reported=False, located_at_gemeinde=False,
                        address=osm["tags"].map(_osm_address) if len(osm) else None)
    for column in MERGED_COLUMNS:
        if column not in merged:
            merged[column] = None
    return merged[MERGED_COLUMNS].reset_index(drop=True)


def _local_details(row) -> dict:
    """What a town row adds to a space: its own values and their provenance."""
    return {"address": row["address"], "local_kind": row["local_kind"], "desks": row["desks"],
            "opened": row["opened"], "closed": row["closed"], "reported_by": row["reported_by"],
            "supplier": row["supplier"], "licence": row["licence"], "local_file": f"{row['file']}:{row['row']}",
            "listed_on": row.get("listed_on"), "locally_reported": True}


def _local_row(row, later_offer: bool) -> list:
    """A space only in a town's list, as a MERGED_COLUMNS row with a stable id (name, address, AGS)."""
    key = f"{match_key(row['name'])}|{match_key(row['address'])}|{row['ags']}"
    key += f"|{row['opened']}" if later_offer else ""  # the same place's earlier offer keeps its id
    new = {**dict.fromkeys(MERGED_COLUMNS), **_local_details(row), "osm_type": "local", "osm_id": zlib_crc(key),
           "name": row["name"], "lat": row["lat"], "lon": row["lon"], "kind": f"local:{row['local_kind']}",
           "ags": row["ags"], "sources": "local_inputs", "located_at_gemeinde": bool(row["located_at_gemeinde"])}
    return [new[c] for c in MERGED_COLUMNS]


def _record(decisions: list | None, decision: str, rule: str, local_file: str, name, other, metres) -> None:
    """Keep one merge decision (typed fields) in ``decisions`` and log it; a near place kept apart is a warning,
    since a place spelt differently in the two lists would be counted twice."""
    entry = {"decision": decision, "rule": rule, "local_file": local_file, "name": name,
             "other_osm_type": other["osm_type"], "other_osm_id": other["osm_id"], "other_name": other["name"],
             "distance_m": None if metres is None else round(float(metres), 1)}
    if decisions is not None:
        decisions.append(entry)
    distance = "" if metres is None else f", {metres:.0f} m apart"
    (log.warning if decision == "kept_apart" else log.info)(
        "[local_inputs] %s %r: %s (%s) %s %s %r%s", local_file, name, decision, rule or "-",
        other["osm_type"], other["osm_id"], other["name"], distance)


def _later_offer(space, row) -> bool:
    """Whether ``row`` is an offer after the one ``space`` holds: their periods do not overlap, ``row`` opens later."""
    return (not _overlap(space["opened"], space["closed"], row["opened"], row["closed"])
            and pd.notna(row["opened"]) and (pd.isna(space["opened"]) or row["opened"] > space["opened"]))


def _overlap(opened_a, closed_a, opened_b, closed_b) -> bool:
    """Whether two offers' periods overlap (a missing date is open-ended)."""
    def known(day):
        return day is not None and not pd.isna(day)

    return not ((known(closed_a) and known(opened_b) and closed_a < opened_b)
                or (known(closed_b) and known(opened_a) and closed_b < opened_a))


def _same_space(merged: pd.DataFrame, row) -> tuple[int | None, str, float | None]:
    """(index of the space ``row`` is, the rule that matched, metres apart) or (None, rule, metres) when none is:
    the rule 'near_other_name' then says that a space lies within SAME_PLACE_M under another name and address."""
    if merged.empty:
        return None, "", None
    names = merged["name"].map(match_key)
    same_name = (names == match_key(row["name"])) & (names != "")
    parts, own = merged["address"].map(_address_parts), _address_parts(row["address"])
    same_address = parts.map(lambda theirs: _parts_match(theirs, own))
    addresses = parts.str[0]  # street and number; "" for none
    near, metres = _near(merged, row)
    for rule, hits in (("near_same_name", near & same_name), ("near_same_address", near & same_address)):
        if hits.any():
            index = int(metres[hits].idxmin())
            return index, rule, float(metres[index])
    both = merged.index[same_name & same_address & _could_be_its_place(merged, row)]
    if len(both):
        return int(both[0]), "same_name_and_address", None
    if row["located_at_gemeinde"]:
        # no coordinates to compare, and most OSM spaces carry no address: the same name in the same Gemeinde is the
        # same space (counted twice before, and the town's pillar doubled without a word)
        named = merged.index[same_name & (addresses == "") & (merged["ags"] == row["ags"])
                             & (merged["osm_type"] != "local")]
        if len(named):
            return int(named[0]), "same_name_in_gemeinde", None
    if near.any():
        return None, "near_other_name", float(metres[near].min())
    return None, "", None


# How far from a town row's point (given, or put at its Gemeinde) a space of the same name and address may lie and
# still be the same place: as far as a row's coordinates may lie outside its Gemeinde (FAR_FROM_GEMEINDE_M), a
# value of its own so that changing the coordinate check does not silently change the matching
SAME_NAME_AND_ADDRESS_M = 5000


def _could_be_its_place(merged: pd.DataFrame, row) -> pd.Series:
    """Which merged spaces may be ``row``'s place by name and address alone: those in the row's Gemeinde or at most
    SAME_NAME_AND_ADDRESS_M from its point (given, or put at its Gemeinde). Why: OSM's address is often street and
    number only, and 'Bahnhofstraße 1' is in hundreds of towns; a Mölln row was merged into a München space of its
    name and number, and Mölln lost the space from its count (coworking review of 5 December 2026)."""
    metres = metres_between(merged["lat"].astype(float), merged["lon"].astype(float), row["lat"], row["lon"])
    return (merged["ags"] == row["ags"]) | (metres <= SAME_NAME_AND_ADDRESS_M)


def _near(merged: pd.DataFrame, row) -> tuple[pd.Series, pd.Series]:
    """(within SAME_PLACE_M of ``row``, metres to it) per merged space; nothing is near a place put at its Gemeinde."""
    if row["located_at_gemeinde"]:
        return pd.Series(False, index=merged.index), pd.Series(float("nan"), index=merged.index)
    metres = metres_between(merged["lat"].astype(float), merged["lon"].astype(float), row["lat"], row["lon"])
    return (metres <= SAME_PLACE_M) & ~merged["located_at_gemeinde"].astype(bool), metres


def _nearest(merged: pd.DataFrame, row) -> int:
    """Index of the merged space nearest to ``row`` (for a decision that kept them apart)."""
    _, metres = _near(merged.iloc[:-1], row)  # the row itself was just appended
    return int(metres.idxmin())


def metres_between(lat, lon, lat0, lon0):
    """Great-circle distance in metres (haversine), vectorised over the first two arguments."""
    import numpy as np

    phi, phi0 = np.radians(lat), np.radians(lat0)
    a = np.sin((phi - phi0) / 2) ** 2 + np.cos(phi) * np.cos(phi0) * np.sin(np.radians(lon - lon0) / 2) ** 2
    return 2 * 6_371_000 * np.arcsin(np.sqrt(a))


def _osm_address(tags_json) -> str | None:
    import json

    tags = json.loads(tags_json) if isinstance(tags_json, str) else {}
    street = " ".join(t for t in (tags.get("addr:street"), tags.get("addr:housenumber")) if t)
    place = " ".join(t for t in (tags.get("addr:postcode"), tags.get("addr:city")) if t)
    return ", ".join(t for t in (street, place) if t) or None


def _address_parts(address) -> tuple[str, frozenset]:
    """(street and number, the address's other parts), each compared as ``match_key``: 'Bahnhofstr. 12, 23879 Mölln'
    → ('bahnhofstr12', {'23879mölln'}); the street is the first part with a number that is no postcode, so
    'Mölln, Hauptstraße 5' and 'Bahnhofstraße 12 23879 Mölln' (no comma) are read too."""
    text = re.sub(r"\s+(?=\d{5}\b)", ", ", str(address or ""))  # a postcode after the street without a comma
    parts = [part for part in (match_key(piece) for piece in text.split(",")) if part]
    street = next((part for part in parts if re.search(r"\d", part) and not re.fullmatch(r"\d{5}\D*", part)), "")
    return street, frozenset(part for part in parts if part != street)


def _same_address(a, b) -> bool:
    """The same street and number, and no other part that differs where both give one: OSM's addr:street and
    addr:housenumber often stand alone, a town writes 'Bahnhofstr. 12, 23879 Mölln' (the same place was counted
    twice when the postcode had to match too); 'Am Markt 1, 1. OG' and 'Am Markt 1, EG' are two places."""
    return _parts_match(_address_parts(a), _address_parts(b))


def _parts_match(a: tuple[str, frozenset], b: tuple[str, frozenset]) -> bool:
    """``_same_address`` of two addresses already split by ``_address_parts``."""
    (street_a, rest_a), (street_b, rest_b) = a, b
    return bool(street_a) and street_a == street_b and (not rest_a or not rest_b or rest_a == rest_b)


def match_key(text) -> str:
    """Names and addresses compared without case, spaces and punctuation; 'Straße' = 'Str' (also the OSM
    duplicates' test, sources.osm_coworking.without_duplicates)."""
    text = str(text or "").lower().replace("straße", "str").replace("strasse", "str")
    return "".join(ch for ch in text if ch.isalnum())


def zlib_crc(text: str) -> int:
    """A stable id for a local space (same name, address and AGS in every run)."""
    import zlib

    return zlib.crc32(text.encode("utf-8"))


def check_known_ags(surveys: pd.DataFrame, known: set[str]) -> None:
    """Survey rows must name Gemeinden of the register (the file name's AGS and the AGS column)."""
    for _, row in surveys.iterrows():
        for column, heading in (("ags", "AGS"), ("supplying_ags", "file name")):
            if row[column] not in known:
                raise SourceError("local_inputs", row["file"], f"row {row['row']}, column '{heading}': AGS "
                                                               f"{row[column]} is not a Gemeinde of the register")


def coverage_notes(values: pd.DataFrame, covered: set[str], local: pd.DataFrame, with_osm: bool) -> pd.Series:
    """The observation note: OSM's caveat where OSM spaces were counted, and for a town that supplied its own list,
    that it did."""
    from sources.osm_coworking import NOTE

    base = NOTE if with_osm else ""
    suppliers = local.groupby("supplying_ags")["supplier"].first() if len(local) else pd.Series(dtype=object)
    own = values["ags"].map(lambda a: f"locally reported: includes the town's own list (supplier: {suppliers[a]})"
                            if a in covered else "")
    return pd.Series([("; ".join(t for t in (b, o) if t)) for b, o in zip([base] * len(values), own)],
                     index=values.index)


def active_on(spaces: pd.DataFrame, date) -> pd.DataFrame:
    """Spaces open on ``date``: a closed temporary space or a past trial day stays in the list but is
    not counted as supply. A space mapped in OpenStreetMap counts as open at the query date whatever
    the town's dates for that place say (OSM is the record of the day; the town's dates may be an
    earlier offer at the same place)."""
    day = pd.Timestamp(date).date()
    # dates as parsed (datetime.date) or as read back from the warehouse (Timestamp): compared as dates
    # astype(bool): mapping an empty date column keeps its date dtype, which '&' refuses
    opened = spaces["opened"].map(lambda d: d is None or pd.isna(d) or pd.Timestamp(d).date() <= day).astype(bool)
    closed = spaces["closed"].map(lambda d: d is None or pd.isna(d) or pd.Timestamp(d).date() >= day).astype(bool)
    in_osm = spaces["osm_type"] != "local"  # the typed column, not a search of the sources text
    return spaces[in_osm | (opened & closed)]


# --- templates (templates/local-inputs/, written by `python -m sources.local_inputs`) ------------------------

TEMPLATE_NOTES = {
    "coworking": [
        "Eine Zeile je Coworking-Ort oder -Angebot (auch temporäre Orte und Probearbeitstage).",
        "Dateiname: coworking_<AGS Ihrer Stadt>[_Text].csv oder .xlsx, in einem Ordner local-inputs/<JJJJ-MM-TT>/.",
        "Nur das erste Tabellenblatt wird gelesen: alle Zeilen dorthin; weitere Blätter außer 'Hinweise' leer "
        "lassen.",
        "AGS: 8-stelliger Amtlicher Gemeindeschlüssel der Gemeinde, in der der Ort liegt.",
        "Breitengrad/Längengrad: WGS84 in Dezimalgrad (z. B. 53,6270 / 10,6890); leer lassen, wenn unbekannt "
        "(der Ort wird dann an einem Punkt innerhalb der Gemeinde verortet und so gekennzeichnet).",
        f"Art: {', '.join(KIND_LABELS)}.",
        "temporär und Probearbeitstag: 'Eröffnet am' und 'Geschlossen am' angeben (Probearbeitstag: zweimal "
        "derselbe Tag).",
        "Arbeitsplätze: ganze Zahl ohne Trennzeichen (1000) oder mit Tausenderpunkt (1.000).",
        "Datumsangaben TT.MM.JJJJ; nicht in der Zukunft.",
        "Lieferant und Lizenz in jeder Zeile (z. B. 'Stadt Mölln' und 'dl-de/by-2-0').",
    ],
    "umfrage": [
        "Eine Zeile je Antwortoption einer Frage; jede Frage (Fragecode) in nur einer Datei der Lieferung.",
        "Dateiname: umfrage_<AGS Ihrer Stadt>[_Text].csv oder .xlsx, in einem Ordner local-inputs/<JJJJ-MM-TT>/.",
        "Nur das erste Tabellenblatt wird gelesen: alle Zeilen dorthin; weitere Blätter außer 'Hinweise' leer "
        "lassen.",
        "Anteil (%): Anteil der Befragten mit dieser Antwort, 0 bis 100 (26 für 26 %, nicht 0,26).",
        "Mehrfachnennung: 'ja', wenn mehrere Antworten gewählt werden konnten; sonst leer oder 'nein'. Bei einer "
        "Frage ohne Mehrfachnennung ergeben die Anteile zusammen 100 (bis auf Rundung): alle Antworten angeben, "
        "auch 'weiß nicht' oder 'keine Angabe'.",
        "Befragte: mindestens 1; ganze Zahl ohne Trennzeichen (1000) oder mit Tausenderpunkt (1.000).",
        "Feldzeit von/bis: TT.MM.JJJJ; nicht in der Zukunft.",
        "Umfrageergebnisse erscheinen im Bericht der Stadt als eigene Angaben; sie gehen nicht in den Index ein.",
    ],
}
# The workbooks' creation and modification time and the time of every part in the archive: fixed, so that writing
# the templates again gives the same bytes (with the time of the run they showed as changed in git every time)
TEMPLATE_TIME = dt.datetime(2000, 1, 1)
ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # the earliest time a zip archive can store


def write_templates(folder) -> list:
    """CSV (header only, semicolons, UTF-8) and XLSX (header row + a sheet 'Hinweise') per kind; the same bytes on
    every run (``_fixed_time_xlsx``)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for kind, headers in (("coworking", SPACE_HEADERS), ("umfrage", SURVEY_HEADERS)):
        csv_path = folder / f"{kind}_vorlage.csv"
        csv_path.write_text(";".join(headers) + "\n", encoding="utf-8")
        xlsx_path = folder / f"{kind}_vorlage.xlsx"
        xlsx_path.write_bytes(_fixed_time_xlsx(kind.capitalize(), list(headers), TEMPLATE_NOTES[kind]))
        written += [csv_path, xlsx_path]
    return written


def _fixed_time_xlsx(title: str, headers: list[str], notes: list[str]) -> bytes:
    """The template workbook (a sheet ``title`` with the header row, a sheet 'Hinweise' with ``notes``) with
    TEMPLATE_TIME as its document times and ZIP_TIME on every part. openpyxl stamps the modification time and every
    part with the time of the run when it saves, so the archive is written again part by part, in the same order,
    with the fixed times."""
    from openpyxl import Workbook
    from openpyxl.xml.functions import tostring

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = title
    sheet.append(headers)
    hints = workbook.create_sheet(NOTES_SHEET)
    for line in notes:
        hints.append([line])
    stamped, fixed = io.BytesIO(), io.BytesIO()
    workbook.save(stamped)
    workbook.properties.created = workbook.properties.modified = TEMPLATE_TIME
    core = tostring(workbook.properties.to_tree())  # what openpyxl writes as docProps/core.xml, with fixed times
    with zipfile.ZipFile(stamped) as source, zipfile.ZipFile(fixed, "w", zipfile.ZIP_DEFLATED) as target:
        for part in source.infolist():
            data = core if part.filename == "docProps/core.xml" else source.read(part.filename)
            info = zipfile.ZipInfo(part.filename, ZIP_TIME)
            info.create_system = 3  # the same bytes on every system (zipfile writes 0 on Windows)
            target.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return fixed.getvalue()


def main(argv: list[str] | None = None) -> None:
    """``python -m sources.local_inputs [folder]``: write the templates into ``folder`` and print their paths."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m sources.local_inputs",
                                     description="Write the templates of the towns' own data (CSV and XLSX of the "
                                                 "coworking list and the survey results; docs/local-inputs.md).")
    parser.add_argument("folder", nargs="?", default="templates/local-inputs",
                        help="where to write them (default: templates/local-inputs)")
    for path in write_templates(parser.parse_args(argv).folder):
        print(path)


if __name__ == "__main__":
    main()
