"""Malformed variants of the snapshot's publisher files, for tests/unit/sources/test_bad_input.py.

Each ``Variant`` rewrites one file of a copy of the snapshot in place (``apply(root)``) the way
real downloads go wrong: truncated, empty, an HTML error page, garbage bytes, another delimiter or
encoding, a renamed key column, a duplicated key with another value, 7-digit and lettered keys,
out-of-range and negative values, German number notation, missing Gemeinden, extra and reordered
columns. ``expect`` is the text the error must contain, or None for a benign variant whose values
must come out right (``probe``: a key whose value the test compares with the good file's).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import pandas as pd

HTML = b"<!DOCTYPE html><html><head><title>503 Service Unavailable</title></head><body>Wartung</body></html>\n"
GARBAGE = bytes(range(256)) * 8
MOELLN = "01053090"  # pilot town, in every vintage of the snapshot
MOELLN_KREIS = "01053"


@dataclass
class Variant:
    source_id: str
    file: str  # path relative to the snapshot root
    name: str
    mutate: Callable[[Path], None]
    expect: str | None  # a regex the error must match; None: benign, values must be right
    probe: tuple | None = None  # (ags, measure) compared with the good parse for benign variants

    @property
    def id(self) -> str:
        return f"{self.source_id}-{self.name}"

    def apply(self, root: Path) -> None:
        self.mutate(root / self.file)


# --- byte- and text-level damage, any file kind ----------------------------------------------------

def truncate(fraction: float = 0.6) -> Callable[[Path], None]:
    def mutate(path: Path) -> None:
        data = path.read_bytes()
        path.write_bytes(data[: int(len(data) * fraction)])
    return mutate


def empty(path: Path) -> None:
    path.write_bytes(b"")


def html_page(path: Path) -> None:
    path.write_bytes(HTML)


def garbage(path: Path) -> None:
    data = path.read_bytes()
    middle = len(data) // 2
    path.write_bytes(data[:middle] + GARBAGE + data[middle + len(GARBAGE):])


def text_edit(edit: Callable[[list[str]], list[str]], encoding: str = "utf-8") -> Callable[[Path], None]:
    """Apply ``edit`` to the lines of a UTF-8 text file (header first), write it back in ``encoding``."""
    def mutate(path: Path) -> None:
        lines = path.read_text(encoding="utf-8-sig").splitlines()
        path.write_bytes(("\n".join(edit(lines)) + "\n").encode(encoding, errors="replace"))
    return mutate


def replace_text(old: str, new: str, count: int = 1) -> Callable[[Path], None]:
    return text_edit(lambda lines: "\n".join(lines).replace(old, new, count).split("\n"))


# --- CSV (Breitbandatlas, Mobilfunk) -----------------------------------------------------------------

def csv_rows(path: Path, separator: str) -> tuple[list[str], list[list[str]]]:
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    return lines[0].split(separator), [line.split(separator) for line in lines[1:]]


def csv_cells(separator: str, key_cell: str, column: int, value: str, every: bool = False):
    """Set field ``column`` of the row(s) whose first field is ``key_cell``."""
    def edit(lines: list[str]) -> list[str]:
        out = [lines[0]]
        done = False
        for line in lines[1:]:
            fields = line.split(separator)
            if fields[0] == key_cell and (every or not done):
                fields[column] = value
                done = True
            out.append(separator.join(fields))
        assert done, f"no row with key {key_cell}"
        return out
    return text_edit(edit)


def csv_duplicate(separator: str, key_cell: str, column: int, value: str):
    """Append a second row for ``key_cell`` with another value in ``column``."""
    def edit(lines: list[str]) -> list[str]:
        row = next(line.split(separator) for line in lines[1:] if line.split(separator)[0] == key_cell)
        row[column] = value
        return [*lines, separator.join(row)]
    return text_edit(edit)


def csv_drop_rows(separator: str, count: int, every: int = 3, skip: set[str] = frozenset()):
    """Delete ``count`` data rows (every ``every``-th), as if the publisher's export lost them."""
    def edit(lines: list[str]) -> list[str]:
        out, dropped = [lines[0]], 0
        for i, line in enumerate(lines[1:]):
            if dropped < count and i % every == 0 and line.split(separator)[0] not in skip:
                dropped += 1
                continue
            out.append(line)
        return out
    return text_edit(edit)


def csv_extra_column(separator: str, header: str, value: str):
    return text_edit(lambda lines: [lines[0] + separator + header] + [line + separator + value for line in lines[1:]])


def csv_move_first_column_last(separator: str):
    def edit(lines: list[str]) -> list[str]:
        return [separator.join([*line.split(separator)[1:], line.split(separator)[0]]) for line in lines]
    return text_edit(edit)


def csv_swap_columns(separator: str, a: int, b: int, header_only: bool = False):
    """Fields ``a`` and ``b`` exchanged in every line (the data then keep their meaning, in another order), or in
    the header line only (``header_only``: the columns' figures under each other's names)."""
    def edit(lines: list[str]) -> list[str]:
        out = []
        for number, line in enumerate(lines):
            fields = line.split(separator)
            if number == 0 or not header_only:
                fields[a], fields[b] = fields[b], fields[a]
            out.append(separator.join(fields))
        return out
    return text_edit(edit)


def csv_copy_column(separator: str, source: int, target: int):
    """Field ``target`` of every data row a copy of field ``source`` (the header kept)."""
    def edit(lines: list[str]) -> list[str]:
        out = lines[:1]
        for line in lines[1:]:
            fields = line.split(separator)
            fields[target] = fields[source]
            out.append(separator.join(fields))
        return out
    return text_edit(edit)


def csv_as_shares(separator: str, first: int = 1):
    """Every number from field ``first`` on divided by 100: the publisher switched from percent to shares 0-1."""
    def edit(lines: list[str]) -> list[str]:
        def share(field: str) -> str:
            try:
                return f"{float(field) / 100:.6g}"
            except ValueError:
                return field  # a marker or a key
        return [lines[0]] + [separator.join(f if i < first else share(f) for i, f in enumerate(line.split(separator)))
                             for line in lines[1:]]
    return text_edit(edit)


# --- workbooks (Gemeindeverzeichnis, Gebietsänderungen) ------------------------------------------

def workbook_edit(sheet: str, edit: Callable) -> Callable[[Path], None]:
    """Open the workbook with openpyxl, let ``edit(worksheet)`` change it, save it in place."""
    def mutate(path: Path) -> None:
        from openpyxl import load_workbook

        workbook = load_workbook(path)
        edit(workbook[sheet])
        workbook.save(path)
    return mutate


def gv_row(ws, ags: str) -> int:
    """Sheet row (1-based) of the Gemeinde ``ags`` (Satzart 60) in a Gemeindeverzeichnis sheet."""
    for row in range(1, ws.max_row + 1):
        parts = [str(ws.cell(row, c).value or "") for c in (3, 4, 5, 7)]
        if str(ws.cell(row, 1).value) == "60" and "".join(parts).replace(" ", "") == ags:
            return row
    raise AssertionError(f"Gemeinde {ags} not in sheet")


def gv_set(ags: str, column: int, value) -> Callable:
    def edit(ws) -> None:
        ws.cell(gv_row(ws, ags), column).value = value
    return edit


def gv_swap_cells(ags: str, first: int, second: int) -> Callable:
    """Exchange two cells of the Gemeinde's row (e.g. 'insgesamt' and 'männlich')."""
    def edit(ws) -> None:
        row = gv_row(ws, ags)
        ws.cell(row, first).value, ws.cell(row, second).value = ws.cell(row, second).value, ws.cell(row, first).value
    return edit


def gv_duplicate(ags: str, column: int, value) -> Callable:
    def edit(ws) -> None:
        row = gv_row(ws, ags)
        ws.insert_rows(row + 1)
        for c in range(1, ws.max_column + 1):
            ws.cell(row + 1, c).value = ws.cell(row, c).value
        ws.cell(row + 1, column).value = value
    return edit


def gv_drop_gemeinden(count: int) -> Callable:
    def edit(ws) -> None:
        rows = [r for r in range(1, ws.max_row + 1) if str(ws.cell(r, 1).value) == "60"][1:: 5][:count]
        for row in reversed(rows):
            ws.delete_rows(row)
    return edit


def gv_header(column: int, value: str, header_row: int = 4) -> Callable:
    def edit(ws) -> None:
        ws.cell(header_row, column).value = value
    return edit


def gv_insert_column(before: int, header: str) -> Callable:
    def edit(ws) -> None:
        ws.insert_cols(before)
        ws.cell(3, before).value = header
        for row in range(7, ws.max_row + 1):
            ws.cell(row, before).value = "x"
    return edit


def gv_swap_columns(a: int, b: int) -> Callable:
    def edit(ws) -> None:
        for row in range(1, ws.max_row + 1):
            first, second = ws.cell(row, a).value, ws.cell(row, b).value
            ws.cell(row, a).value, ws.cell(row, b).value = second, first
    return edit


# --- parquet (INKAR) --------------------------------------------------------------------------------------

def parquet_edit(edit: Callable[[pd.DataFrame], pd.DataFrame]) -> Callable[[Path], None]:
    def mutate(path: Path) -> None:
        edit(pd.read_parquet(path)).to_parquet(path, index=False)
    return mutate


def inkar_row(table: pd.DataFrame, region_id, year: str) -> pd.Index:
    return table.index[(table["region_id"] == region_id) & (table["zeitbezug"] == year)]


# --- shapefile (VG5000) -------------------------------------------------------------------------------------

def shape_edit(edit: Callable) -> Callable[[Path], None]:
    """Rewrite the Gemeinde layer (all its parts) with geopandas after ``edit(frame)``."""
    def mutate(path: Path) -> None:
        import geopandas as gpd

        frame = gpd.read_file(path.with_suffix(".shp"), encoding="UTF-8")
        edited = edit(frame)
        for part in path.parent.glob(path.stem + ".*"):
            if part.suffix.lower() in (".shp", ".shx", ".dbf", ".cpg"):
                part.unlink()
        edited.to_file(path.with_suffix(".shp"), encoding="UTF-8")
    return mutate


def set_first(column: str, value, where: str = MOELLN) -> Callable:
    def edit(frame):
        frame.loc[frame.index[frame["AGS"] == where][0], column] = value
        return frame
    return edit


# --- JSON (Pendleratlas) -------------------------------------------------------------------------------------

def json_edit(edit: Callable[[dict], None]) -> Callable[[Path], None]:
    def mutate(path: Path) -> None:
        document = json.loads(path.read_text(encoding="utf-8"))
        edit(document)
        path.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")
    return mutate


def atlas_feature(document: dict, kreis: str = MOELLN_KREIS) -> dict:
    return next(f for f in document["features"] if str(f["properties"]["ID"]).zfill(5) == kreis)


def atlas_set(path: tuple, value, kreis: str = MOELLN_KREIS) -> Callable[[dict], None]:
    def edit(document: dict) -> None:
        node = atlas_feature(document, kreis)["properties"]
        for step in path[:-1]:
            node = node[step]
        node[path[-1]] = value
    return edit


def atlas_duplicate(document: dict) -> None:
    feature = json.loads(json.dumps(atlas_feature(document)))
    feature["properties"]["einpendler"]["gesamt"]["anzahl"] = 1
    document["features"].append(feature)


def atlas_rename_id(document: dict) -> None:
    for feature in document["features"]:
        feature["properties"]["Kennziffer"] = feature["properties"].pop("ID")


def atlas_drop(document: dict) -> None:
    document["features"] = [f for f in document["features"] if str(f["properties"]["ID"]).zfill(5) != MOELLN_KREIS]


def atlas_extra(document: dict) -> None:
    for feature in document["features"]:
        feature["properties"]["Bundesland"] = "Testland"


def atlas_reorder(document: dict) -> None:
    for feature in document["features"]:
        feature["properties"] = dict(reversed(list(feature["properties"].items())))


# --- the variants ---------------------------------------------------------------------------------------

GV = "destatis-gemeindeverzeichnis/31122021_Auszug_GV.xlsx"
GV_SHEET = "Onlineprodukt_Gemeinden"
CHANGES = "destatis-gemeindeverzeichnis/Gebietsaenderungen_2024.xlsx"
BBA = "breitbandatlas/gemeinde_privat_2018_ende.csv"  # ';' separated, quoted keys
BBA_2021 = "breitbandatlas/gemeinde_bezirke_privat_2021_mitte.csv"  # ',' separated, Berlin's Bezirke too
MOBIL = "breitbandatlas/landkreis_mobilfunk_stats_2021_1.csv"
INKAR = "inkar/verkehr_und_erreichbarkeit_2022-12.parquet"
INKAR_REGIONS = "inkar/_regionen_2022-12.parquet"
INKAR_CATALOGUE = "inkar/_indikatoren_2022-12.parquet"
VG = "bkg-vg5000-2021/VG5000_GEM.shp"
ATLAS = "ba-pendleratlas-2016/pendler.json"
BROKEN_FILE = "not a readable|cannot be read|not UTF-8|not a Pendleratlas|header row|expected|no sheet|missing"


def _byte_variants(source_id: str, file: str, expect: str = BROKEN_FILE) -> list[Variant]:
    return [Variant(source_id, file, "truncated", truncate(), expect),
            Variant(source_id, file, "empty", empty, expect),
            Variant(source_id, file, "html_error_page", html_page, expect),
            Variant(source_id, file, "garbage_bytes", garbage, expect)]


def copy_of(name: str) -> Callable[[Path], None]:
    """The variant's (new) file written as an unchanged copy of its neighbour ``name``: an earlier release under a
    newer release's name."""
    def mutate(path: Path) -> None:
        path.write_bytes(path.with_name(name).read_bytes())
    return mutate


def gemeindeverzeichnis() -> list[Variant]:
    s = "destatis_gemeindeverzeichnis"
    edit = lambda e: workbook_edit(GV_SHEET, e)  # noqa: E731
    return [
        *_byte_variants(s, GV),
        Variant(s, GV, "renamed_key_column", edit(gv_header(7, "Gemeindenummer")), r"column 'Gem' not found"),
        Variant(s, GV, "duplicated_key", edit(gv_duplicate(MOELLN, 10, 25000.0)), r"01053090.* more than once"),
        Variant(s, GV, "seven_digit_key", edit(gv_set(MOELLN, 7, "0900")), r"key '010530900' does not match|not 8 digits"),
        Variant(s, GV, "lettered_key", edit(gv_set(MOELLN, 7, "09X")), r"not 8 digits|does not match"),
        Variant(s, GV, "out_of_range", edit(gv_set(MOELLN, 10, 1e15)),  # its workbook cell named: row, sheet, column
                r"row \d+ of sheet 'Onlineprodukt_Gemeinden' \(key 01053090\)/column 'J': population_total: 1e\+15 above the maximum"),
        Variant(s, GV, "negative", edit(gv_set(MOELLN, 10, -5.0)), r"population_total: -5 below the minimum"),
        Variant(s, GV, "english_decimal_text", edit(gv_set(MOELLN, 9, "25.05")), r"'25.05' is not a number in German"),
        Variant(s, GV, "missing_gemeinden", edit(gv_drop_gemeinden(20)), r"20 Gemeinden of the register .* missing"),
        # 'insgesamt' and 'männlich' exchanged in one row: every figure in range, no release before on a first build
        Variant(s, GV, "total_and_male_exchanged", edit(gv_swap_cells(MOELLN, 10, 11)),
                r"population_total \d+ is not the sum of population_male \+ population_female .* in 1 rows"),
        # the 2021 register named as that of 31.12.2024: cited as the 2024 release beside its true Stichtag
        Variant(s, GV.replace("31122021", "31122024"), "copied_under_a_newer_name", copy_of(Path(GV).name),
                r"31122024_Auszug_GV.xlsx: the file's name dates it 2024-12-31, but its header dates it 2021-12-31"),
        # benign: German notation read explicitly, columns read by their labels
        Variant(s, GV, "german_thousands", edit(gv_set(MOELLN, 10, "19.329")), None, (MOELLN, "population_total")),
        Variant(s, GV, "german_decimal_comma", edit(gv_set(MOELLN, 9, "25,05")), None, (MOELLN, "area_km2")),
        Variant(s, GV, "reordered_columns", edit(gv_swap_columns(11, 12)), None, (MOELLN, "population_male")),
        Variant(s, GV, "extra_column", edit(gv_insert_column(9, "Bemerkung")), None, (MOELLN, "population_total")),
    ]


def merge_repeats(column: int) -> Callable:
    """Blank a column's value where it repeats the row above, as merged cells read (body from row 5)."""
    def edit(ws):
        previous = None
        for row in range(5, ws.max_row + 1):
            value = ws.cell(row, column).value
            if value is not None and value == previous:
                ws.cell(row, column).value = None
            elif value is not None:
                previous = value
    return edit


def gebietsaenderungen() -> list[Variant]:
    s = "destatis_gebietsaenderungen"
    sheet = lambda e: workbook_edit("Gebietsaenderungen", e)  # noqa: E731

    def set_cell(row: int, column: int, value):
        def edit(ws):
            ws.cell(row, column).value = value
        return edit

    def duplicate(ws):
        ws.insert_rows(6)
        for c in range(1, ws.max_column + 1):
            ws.cell(6, c).value = ws.cell(5, c).value
    return [
        *_byte_variants(s, CHANGES),
        Variant(s, CHANGES, "renamed_key_column", sheet(set_cell(3, 4, "Schlüssel")), r"column '\(AGS\)'.* not found"),
        Variant(s, CHANGES, "seven_digit_key", sheet(set_cell(5, 4, "1472905")), r"without 8-digit AGS"),
        Variant(s, CHANGES, "lettered_key", sheet(set_cell(5, 10, "1472922A")), r"without 8-digit AGS"),
        Variant(s, CHANGES, "duplicated_key", sheet(duplicate), r"more than once"),
        Variant(s, CHANGES, "invalid_date", sheet(set_cell(5, 13, "31.02.2024")), r"'31.02.2024' is not a valid date"),
        Variant(s, CHANGES, "english_decimal_text", sheet(set_cell(5, 7, "13.7")), r"'13.7' is not a number in German"),
        Variant(s, CHANGES, "unknown_kind", sheet(set_cell(5, 6, "9")), r"unknown Änderungsart"),
        # a change row under another unit label was skipped, its change lost without a word
        Variant(s, CHANGES, "unknown_unit", sheet(set_cell(5, 2, "Stadt/Gemeinde")),
                r"Regionaleinheit 'Stadt/Gemeinde' .* is none of \['Gemeinde', 'Gemeindeverband'\]"),
        Variant(s, CHANGES, "german_thousands", sheet(set_cell(6, 7, "62.432.560")), None, ("14729050", "area_km2")),
        # merged Kennziffer cells: only a change's first row carries it; the others continue it
        Variant(s, CHANGES, "merged_kennziffer", sheet(merge_repeats(1)), None, ("09672457", "change_id")),
        Variant(s, CHANGES, "no_first_kennziffer", sheet(set_cell(5, 1, None)), r"first change row .* has no Kennziffer"),
    ]


def breitbandatlas() -> list[Variant]:
    s, sep, key = "breitbandatlas", ";", f'"{MOELLN}"'
    return [
        *_byte_variants(s, BBA, BROKEN_FILE + "|non-numeric|unknown column|no speed"),
        Variant(s, BBA, "wrong_delimiter", replace_text(";", "\t", 10**9), r"expected a key column"),
        Variant(s, BBA, "wrong_encoding", text_edit(lambda lines: lines, encoding="cp1252"), r"unknown column"),
        Variant(s, BBA, "renamed_key_column", replace_text('"AGS"', '"Gemeinde"'), r"expected a key column"),
        Variant(s, BBA, "duplicated_key", csv_duplicate(sep, key, 40, "50"), r"01053090.* more than once"),
        Variant(s, BBA, "lettered_key", csv_cells(sep, key, 0, '"0105309A"'), r"'0105309A' does not match"),
        # a key exported as a float or with a digit too many failed with a bare "KeyError: 9" (review of 5 December)
        Variant(s, BBA, "float_key", csv_cells(sep, key, 0, "1053090.0"),
                r"row \d+, column '\"?AGS\"?': key '1053090.0' \(a number written as a float\) is no AGS of 2, 5 or 8"),
        Variant(s, BBA, "nine_digit_key", csv_cells(sep, key, 0, '"010530900"'),
                r"row \d+, column '\"?AGS\"?': key '010530900' is no AGS of 2, 5 or 8 digits"),
        # two columns of one name: pandas renamed the second "<name>.1", refused as an unknown column of that name
        Variant(s, BBA, "duplicated_header", replace_text('"alle Technologien ≥ 200 Mbit/s"', '"alle Technologien ≥ 100 Mbit/s"'),
                r"column 'alle Technologien ≥ 100 Mbit/s' appears twice in the header \(columns H \(field 8\), I \(field 9\)\)"),
        Variant(s, BBA, "unknown_key", csv_cells(sep, key, 0, '"01053999"'), r"01053999 is in no Gemeindeverzeichnis"),
        Variant(s, BBA, "out_of_range", csv_cells(sep, key, 1, "250"),  # the file's line, key and own header
                r"row \d+ \(key 01053090\)/column 'alle Technologien ≥ 1 Mbit/s': households_all_1: 250 above the maximum 100 \+ rounding"),
        Variant(s, BBA, "huge", csv_cells(sep, key, 1, "1e308"), r"above the maximum"),
        Variant(s, BBA, "negative", csv_cells(sep, key, 1, "-5"), r"-5 below the minimum"),
        Variant(s, BBA, "german_decimal_comma", csv_cells(sep, key, 1, "99,5"), r"row \d+ \(AGS 01053090\), column '.*': non-numeric value '99,5'"),
        Variant(s, BBA, "shares_not_percent", csv_as_shares(sep), r"all \d+ values lie between 0 and 1 .*shares 0-1"),
        Variant(s, BBA, "speed_in_gbit", replace_text("≥ 1000 Mbit/s", "≥ 1 Gbit/s", 10**9),
                r"unknown column '.*≥ 1 Gbit/s'"),
        # benign: the unit's capitalisation is not a new unit (its four columns were skipped silently)
        Variant(s, BBA, "speed_in_mbit_capitals", replace_text("≥ 1000 Mbit/s", "≥ 1000 MBit/s", 10**9), None,
                (MOELLN, "households_all_1000")),
        Variant(s, BBA, "missing_gemeinden", csv_drop_rows(sep, 20), r"20 Gemeinden of the register .* missing"),
        # the headers 'FTTH/B >= 100' and '>= 1000' exchanged in mid-2021 (fields 50 and 53; the snapshot's 2018 file
        # has no Gemeinde where they differ): the index's fibre coverage rose, within every range and bound
        Variant(s, BBA_2021, "ftthb_100_and_1000_exchanged", csv_swap_columns(",", 50, 53, header_only=True),
                r"households_ftthb_\d+ \d+(\.\d+)? lies above households_ftthb_\d+ \d+(\.\d+)? in \d+ rows"),
        # 'alle Technologien >= 1000' a copy of '>= 400' (fields 9 and 10 from 0): monotone and within every range
        Variant(s, BBA, "all_1000_copy_of_400", csv_copy_column(sep, 9, 10),
                r"households_all_1000 \d+(\.\d+)? is not equal to households_wired_1000 \(\d+(\.\d+)?\) in \d+ rows"),
        # the end-of-2018 file again as mid-2019: its figures would be cited as of 30.06.2019
        Variant(s, BBA.replace("2018_ende", "2019_mitte"), "copied_under_a_newer_name", copy_of(Path(BBA).name),
                r"gemeinde_privat_2019_mitte.csv: byte for byte breitbandatlas/gemeinde_privat_2018_ende.csv of the "
                r"release 2018-ende"),
        Variant(s, BBA, "truncated_at_line_end", text_edit(lambda lines: lines[: len(lines) * 2 // 3]),
                r"Gemeinden of the register .* missing"),
        # a download cut between two Kreise: the last Kreis lost whole (only covered Kreise were compared)
        Variant(s, BBA, "cut_between_kreise", text_edit(lambda lines: [l for l in lines if not l.startswith('"14628')]),
                r"Gemeinden of the register .* missing, .* among them every Gemeinde of the Kreise \['14628'\]"),
        # benign: a lost leading zero is the publisher's unquoted key; columns are read by name
        Variant(s, BBA, "seven_digit_key", csv_cells(sep, key, 0, MOELLN[1:]), None, (MOELLN, "households_all_50")),
        Variant(s, BBA, "extra_column", csv_extra_column(sep, '"Gemeindename"', '"x"'), None, (MOELLN, "households_all_50")),
        Variant(s, BBA, "reordered_columns", csv_move_first_column_last(sep), None, (MOELLN, "households_all_50")),
    ]


def mobilfunk() -> list[Variant]:
    s, sep, key = "mobilfunk_monitoring", ";", f'"{MOELLN_KREIS}"'
    return [
        *_byte_variants(s, MOBIL, BROKEN_FILE + "|Verfügbarkeit|not a region key|unknown"),
        Variant(s, MOBIL, "wrong_delimiter", replace_text(";", ",", 10**9), r"missing the columns"),
        Variant(s, MOBIL, "wrong_encoding", text_edit(lambda lines: lines, encoding="cp1252"), r"cannot be read as UTF-8"),
        Variant(s, MOBIL, "renamed_key_column", replace_text('"AGS"', '"Kreis"'), r"missing the columns \['AGS'\]"),
        Variant(s, MOBIL, "duplicated_key", csv_duplicate(sep, key, 5, "12.5"), r"01053.* more than once"),
        Variant(s, MOBIL, "seven_digit_key", csv_cells(sep, key, 0, '"0105300"'), r"'00105300' does not match"),
        Variant(s, MOBIL, "lettered_key", csv_cells(sep, key, 0, '"0105A"'), r"AGS '\"?0105A\"?' is not a region key"),
        Variant(s, MOBIL, "out_of_range", csv_cells(sep, key, 5, "250"), r"250 above the maximum"),
        Variant(s, MOBIL, "negative", csv_cells(sep, key, 5, "-5"), r"-5 below the minimum"),
        Variant(s, MOBIL, "german_thousands", csv_cells(sep, key, 5, "1.234,5"), r"1234.5 above the maximum"),
        Variant(s, MOBIL, "missing_kreis", text_edit(lambda lines: [l for l in lines if not l.startswith(key)]),
                r"Kreise of the register .* missing, e.g. \['01053'\]"),
        Variant(s, MOBIL, "extra_column", csv_extra_column(sep, '"Quelle"', '"BNetzA"'), None, (MOELLN_KREIS, "area_5g_residential")),
        # a second column of the value's name: pandas named it "Verfügbarkeit.1" and the parser read the first
        Variant(s, MOBIL, "duplicated_header", csv_extra_column(sep, '"Verfügbarkeit"', "1.5"),
                r"column 'Verfügbarkeit' appears twice in the header \(columns F \(field 6\), G \(field 7\)\)"),
        Variant(s, MOBIL, "reordered_columns", csv_swap_columns(sep, 1, 2), None, (MOELLN_KREIS, "area_5g_residential")),
    ]


def inkar() -> list[Variant]:
    s = "inkar"

    def set_value(column: str, value):
        def edit(table):
            if isinstance(value, str):  # a text cell makes the whole parquet column text
                table[column] = table[column].astype(str)
            table.loc[table.index[table["zeitbezug"] == "2019"][0], column] = value
            return table
        return edit

    def duplicate(table):
        row = table[table["zeitbezug"] == "2019"].head(1).copy()
        row["x352"] = 99.0
        return pd.concat([table, row], ignore_index=True)

    def seven_digit(table):
        table.loc[table.index[table["raumbezug"] == "Kreise"][0], "kennziffer"] = 1053000
        return table

    def lettered(table):
        table["kennziffer"] = table["kennziffer"].astype(str)
        table.loc[table.index[table["raumbezug"] == "Kreise"][0], "kennziffer"] = "0105A"
        return table

    def drop_kreise(path: Path) -> None:
        regions = pd.read_parquet(path.parent / Path(INKAR_REGIONS).name)
        kreise = regions.loc[(regions["raumbezug"] == "Kreise") & (regions["kennziffer"] == int(MOELLN_KREIS)), "id"]
        assert len(kreise) == 1
        parquet_edit(lambda table: table[~table["region_id"].isin(kreise)])(path)

    def kreis_verbaende(path: Path) -> pd.Series:
        """INKAR's region ids of the Gemeindeverbände of Mölln's Kreis."""
        regions = pd.read_parquet(path.parent / Path(INKAR_REGIONS).name)
        return regions.loc[(regions["raumbezug"] == "Gemeindeverbände")
                           & (regions["kennziffer"].astype("int64") // 1000 == int(MOELLN_KREIS)), "id"]

    def hours_in_one_kreis(path: Path) -> None:
        """The car minutes to an IC/ICE station of the Verbände of Mölln's Kreis in hours (bad-input review V18)."""
        ids = kreis_verbaende(path)
        parquet_edit(lambda t: t.assign(x336=t["x336"].where(~t["region_id"].isin(ids), (t["x336"] / 60).round(2))))(
            path)

    def in_out_exchanged_in_one_kreis(path: Path) -> None:
        """x351 and x352 exchanged for the Verbände of Mölln's Kreis, every year (bad-input review V19)."""
        ids = kreis_verbaende(path)

        def exchange(table):
            rows = table["region_id"].isin(ids)
            table.loc[rows, ["x351", "x352"]] = table.loc[rows, ["x352", "x351"]].to_numpy()
            return table
        parquet_edit(exchange)(path)

    return [
        *_byte_variants(s, INKAR),
        Variant(s, INKAR, "renamed_column", parquet_edit(lambda t: t.rename(columns={"x352": "x999"})),
                r"missing columns \['x352'\]"),
        Variant(s, INKAR, "duplicated_key", parquet_edit(duplicate), r"more than once"),
        Variant(s, INKAR, "out_of_range", parquet_edit(set_value("x352", 250.0)),  # the data file's row and column
                r"verkehr_und_erreichbarkeit_2022-12.parquet: row \d+ \(key \d+\)/column 'x352': out_commuter_share: 250 above"),
        Variant(s, INKAR, "negative", parquet_edit(set_value("x352", -5.0)), r"out_commuter_share: -5 below"),
        Variant(s, INKAR, "german_thousands_text", parquet_edit(set_value("x352", "1.234,5")), r"not of type number"),
        Variant(s, INKAR, "period_with_space", parquet_edit(lambda t: t.assign(zeitbezug=t["zeitbezug"] + " ")), None,
                (MOELLN_KREIS, "out_commuter_share")),
        Variant(s, INKAR, "period_as_date", parquet_edit(lambda t: t.assign(zeitbezug=t["zeitbezug"] + "-12-31")),
                r"zeitbezug '\d{4}-12-31' is neither a year nor years joined by '/'"),
        Variant(s, INKAR, "catalogue_missing", lambda path: (path.parent / Path(INKAR_CATALOGUE).name).unlink(),
                r"verkehr_und_erreichbarkeit_2022-12.parquet: no indicator catalogue \(_indikatoren_2022-12.parquet\) "
                r"beside it: INKAR renumbers indicators"),
        Variant(s, INKAR, "shares_not_percent", parquet_edit(lambda t: t.assign(x352=t["x352"] / 100)),
                r"out_commuter_share: all \d+ values lie between 0 and 1"),
        # another unit passes every range: the median is out of its typical level (bad-input review of 4 December)
        Variant(s, INKAR, "distance_in_km", parquet_edit(lambda t: t.assign(x345=t["x345"] / 1000)),
                r"distance_to_transit_stop_m: median 0\.\d+ of \d+ values outside its typical 50 to 5000: another unit"),
        Variant(s, INKAR, "minutes_in_hours", parquet_edit(lambda t: t.assign(x336=t["x336"] / 60)),
                r"car_minutes_to_\w+: median 0\.\d+ of \d+ values outside its typical 5 to 120"),
        Variant(s, INKAR, "minutes_in_hours_one_kreis", hours_in_one_kreis,
                r"car_minutes_to_ic_ice_station: the \d+ values of Kreis 01053 of \d{4}-12-31 have the median 0\.\d+, "
                r"outside 2 times its typical 5 to 120: another unit"),
        Variant(s, INKAR, "in_out_exchanged_one_kreis", in_out_exchanged_in_one_kreis,
                r"Kreis 01053, \d{4}: \d+ Gemeindeverbände's in- and out-commuter shares \(x351, x352\) fit the "
                r"commuter balance \(x353\) only exchanged"),
        Variant(s, INKAR, "missing_kreise", drop_kreise, r"Kreise of the register .* missing, e.g. \['01053'\]"),
        Variant(s, INKAR_REGIONS, "seven_digit_key", parquet_edit(seven_digit), r"does not match"),
        Variant(s, INKAR_REGIONS, "lettered_key", parquet_edit(lettered), r"column kennziffer"),
        Variant(s, INKAR, "extra_column", parquet_edit(lambda t: t.assign(x999=1.0)), None, (MOELLN_KREIS, "out_commuter_share")),
        Variant(s, INKAR, "reordered_columns", parquet_edit(lambda t: t[list(reversed(t.columns))]), None,
                (MOELLN_KREIS, "out_commuter_share")),
    ]


def vg5000() -> list[Variant]:
    s = "bkg_vg"

    def duplicate(frame):
        import pandas as pd
        row = frame[frame["AGS"] == MOELLN].copy()
        row["GEN"] = "Doppelt"
        return pd.concat([frame, row], ignore_index=True)

    def drop(frame):
        return frame.drop(frame.index[1::7][:20])

    def scale(frame):
        from shapely import affinity
        i = frame.index[frame["AGS"] == MOELLN][0]
        frame.loc[i, "geometry"] = affinity.scale(frame.loc[i, "geometry"], 40, 40)
        return frame

    def moved(frame):
        """Mölln's own coordinates shifted 16 km north onto its neighbours: key, name and area unchanged."""
        from shapely import affinity
        i = frame.index[frame["AGS"] == MOELLN][0]
        frame.loc[i, "geometry"] = affinity.translate(frame.loc[i, "geometry"], 0, 16000)
        return frame

    def moved_a_little(frame):
        """Mölln's coordinates shifted 500 m north, less than its own size (6.8 by 8.9 km): its inner point stays on
        its own former ground, it lies partly on its neighbours (it passed every check until 6 December 2026)."""
        from shapely import affinity
        i = frame.index[frame["AGS"] == MOELLN][0]
        frame.loc[i, "geometry"] = affinity.translate(frame.loc[i, "geometry"], 0, 500)
        return frame

    def utm_prj(path: Path) -> None:
        """The .prj of the VG250 product (UTM 32N) beside the VG5000's Gauss-Krüger coordinates."""
        import pyproj
        path.with_suffix(".prj").write_text(pyproj.CRS("EPSG:25832").to_wkt("WKT1_ESRI"), encoding="utf-8")

    return [
        *_byte_variants(s, VG, BROKEN_FILE + "|Gemeinden of the register|above|below"),
        Variant(s, VG, "prj_of_another_system", utm_prj,
                r"\d+ Gemeinden lie outside Germany once transformed from the .prj's coordinate system 'EPSG:25832'"),
        Variant(s, VG, "renamed_key_column", shape_edit(lambda f: f.rename(columns={"AGS": "SCHLUESSEL"})),
                r"missing attribute columns \['AGS'\]"),
        Variant(s, VG, "duplicated_key", shape_edit(duplicate), r"'01053090' occurs more than once with different names"),
        Variant(s, VG, "seven_digit_key", shape_edit(set_first("AGS", "1053090")), r"'1053090' does not match"),
        Variant(s, VG, "lettered_key", shape_edit(set_first("AGS", "0105309A")), r"'0105309A' does not match"),
        # 40 times its size Mölln covers its Kreis: the parser's overlap test refuses it before the area's range
        Variant(s, VG, "out_of_range", shape_edit(scale),
                r"\d+ Gemeinden have their inner point in another Gemeinde's polygon"),
        Variant(s, VG, "polygon_moved", shape_edit(moved),
                r"\d+ Gemeinden have their inner point in another Gemeinde's polygon, e\.g\. .*'01053090' \(Mölln\)"),
        Variant(s, VG, "polygon_moved_less_than_its_size", shape_edit(moved_a_little),
                r"\d+ pairs? of Gemeinden overlaps? by more than 1 % of the smaller one's area, e\.g\. (AGS '01053090' "
                r"\(Mölln\) and AGS '\d{8}' \([^)]+\)|AGS '\d{8}' \([^)]+\) and AGS '01053090' \(Mölln\)) by \d+\.\d\d %"),
        Variant(s, VG, "missing_gemeinden", shape_edit(drop), r"20 Gemeinden of the register .* missing"),
        Variant(s, VG, "extra_column", shape_edit(lambda f: f.assign(EXTRA="x")), None, (MOELLN, "geometry_area_km2")),
        Variant(s, VG, "reordered_columns", shape_edit(lambda f: f[list(reversed(f.columns))]), None,
                (MOELLN, "geometry_area_km2")),
    ]


def pendleratlas() -> list[Variant]:
    s = "ba_commuting"
    return [
        *_byte_variants(s, ATLAS),
        Variant(s, ATLAS, "renamed_key_column", json_edit(atlas_rename_id), r"feature 1: no Kreis key 'ID'"),
        Variant(s, ATLAS, "duplicated_key", json_edit(atlas_duplicate), r"01053.* more than once"),
        Variant(s, ATLAS, "seven_digit_key", json_edit(atlas_set(("ID",), "1053000")), r"'1053000' does not match"),
        Variant(s, ATLAS, "lettered_key", json_edit(atlas_set(("ID",), "0105A")), r"'0105A' does not match"),
        Variant(s, ATLAS, "out_of_range", json_edit(atlas_set(("einpendler", "gesamt", "anzahl"), 1e9)), r"above the maximum"),
        Variant(s, ATLAS, "negative", json_edit(atlas_set(("einpendler", "gesamt", "anzahl"), -5)), r"-5 below the minimum"),
        Variant(s, ATLAS, "german_thousands", json_edit(atlas_set(("einpendler", "gesamt", "anzahl"), "19.566")),
                r"19.566 is not a whole number"),
        Variant(s, ATLAS, "missing_kreis", json_edit(atlas_drop), r"Kreise of the register .* missing"),
        Variant(s, ATLAS, "extra_property", json_edit(atlas_extra), None, (MOELLN_KREIS, "in_commuters")),
        Variant(s, ATLAS, "reordered_properties", json_edit(atlas_reorder), None, (MOELLN_KREIS, "in_commuters")),
    ]


def all_variants() -> list[Variant]:
    return [*gemeindeverzeichnis(), *gebietsaenderungen(), *breitbandatlas(), *mobilfunk(), *inkar(), *vg5000(),
            *pendleratlas()]
