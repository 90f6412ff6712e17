"""The .xlsx writer of the exports (XlsxWriter, constant_memory) on a small frame with every column kind."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas as pd
import pytest

from warehouse import exports


def frame() -> pd.DataFrame:
    """Three rows as typed_frame returns them: text key, Int64 with NA, floats with NaN, booleans, dates, times."""
    return pd.DataFrame({
        "ags": ["01053090", "09162000", None],
        "rank": pd.array([1, None, 3], dtype="Int64"),
        "value": [1234.5, float("nan"), 0.1],
        "imputed": [True, False, None],
        "reference_date": [dt.date(2023, 12, 31), None, dt.date(2024, 1, 1)],
        "published_at": pd.to_datetime(["2026-07-01 10:30:00", None, "2026-01-15 23:15:00"]),  # naive UTC
        "notes": ["=HYPERLINK(\"http://x\")", "https://example.org", "Mölln <&>"],
        "vintages": [["a", "b"], [], None],
    })


def read(path, sheet="Daten"):
    book = openpyxl.load_workbook(path)
    return book, list(book[sheet].iter_rows(values_only=True))


def test_every_kind_keeps_its_type_and_missing_values_stay_empty(tmp_path):
    target = tmp_path / "t.xlsx"
    assert exports.write_xlsx(frame(), target, "Titel", None) == 3
    book, rows = read(target)
    assert book.sheetnames == ["Daten", "Quellen und Lizenzen"]
    assert rows[0] == tuple(exports.german_headers(frame().columns))
    assert rows[1][:5] == ("01053090", 1, 1234.5, True, dt.datetime(2023, 12, 31))
    assert rows[2][:5] == ("09162000", None, None, False, None)
    assert rows[3][:5] == (None, 3, 0.1, None, dt.datetime(2024, 1, 1))
    # naive UTC shown in Berlin time: summer +2 h, winter +1 h (23:15 UTC is the next day in Berlin)
    assert rows[1][5] == dt.datetime(2026, 7, 1, 12, 30) and rows[3][5] == dt.datetime(2026, 1, 16, 0, 15)
    assert rows[2][5] is None
    # text from a source is never a formula or a link; escaping survives
    assert rows[1][6] == "=HYPERLINK(\"http://x\")" and book["Daten"]["G2"].data_type == "s"
    assert rows[2][6] == "https://example.org" and book["Daten"]["G3"].hyperlink is None
    assert rows[3][6] == "Mölln <&>"
    assert rows[1][7] == "a, b"
    sheet = book["Daten"]
    assert sheet["A2"].number_format == "@" and sheet["C2"].number_format == "#,##0.0##"
    assert sheet["E2"].number_format == "DD.MM.YYYY" and sheet["F2"].number_format == "DD.MM.YYYY HH:MM:SS"
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:H4"


def test_rows_beyond_the_sheet_limit_continue_on_further_sheets(tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 2)
    monkeypatch.setattr(exports, "XLSX_BLOCK_ROWS", 1)  # blocks smaller than a sheet, as on the full data
    big = pd.concat([frame()] * 2, ignore_index=True)  # 6 rows: 3 sheets of 2
    target = tmp_path / "t.xlsx"
    assert exports.write_xlsx(big, target, "Titel", None) == 6
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["Daten", "Daten 2", "Daten 3", "Quellen und Lizenzen"]
    ags = [row[0] for name in book.sheetnames[:3] for row in book[name].iter_rows(min_row=2, values_only=True)]
    assert ags == big["ags"].where(big["ags"].notna(), None).tolist()
    assert all(book[name]["A1"].value == "AGS" for name in book.sheetnames[:3])


def test_empty_view_gives_a_header_only_sheet(tmp_path):
    target = tmp_path / "t.xlsx"
    assert exports.write_xlsx(frame().iloc[0:0], target, "Titel", None) == 0
    _, rows = read(target)
    assert rows == [tuple(exports.german_headers(frame().columns))]


def test_sources_sheet_has_title_and_each_source(tmp_path):
    sources = pd.DataFrame({"source_id": ["destatis"], "publisher": ["Statistisches Bundesamt"],
                            "licence": ["dl-de/by-2-0"], "licence_url": ["https://www.govdata.de/dl-de/by-2-0"],
                            "attribution": ["=Quelle: Destatis"]})
    target = tmp_path / "t.xlsx"
    exports.write_xlsx(frame(), target, "Indikatorwerte", sources)
    _, rows = read(target, "Quellen und Lizenzen")
    assert rows[0][0] == "Indikatorwerte" and rows[1][0].startswith("Export aus dem veröffentlichten Warehouse")
    assert rows[3] == ("Quelle", "Herausgeber", "Lizenz", "Lizenz-URL", "Quellenvermerk")
    assert rows[4] == ("destatis", "Statistisches Bundesamt", "dl-de/by-2-0", "https://www.govdata.de/dl-de/by-2-0",
                       "=Quelle: Destatis")


@pytest.mark.parametrize("value", [float("inf"), float("-inf")])
def test_infinite_number_is_an_error_naming_file_row_and_column(tmp_path, value):
    bad = frame().assign(value=[1.0, 2.0, value])
    with pytest.raises(ValueError) as error:
        exports.write_xlsx(bad, tmp_path / "t.xlsx", "Titel", None)
    message = str(error.value)
    assert str(tmp_path / "t.xlsx") in message and "row 4" in message and "'Wert'" in message


def data_rows(path) -> int:
    """Data rows of a workbook: every sheet "Daten…" less its header row (calamine's used range)."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    try:
        return sum(max(book.get_sheet_by_name(name).height - 1, 0)
                   for name in book.sheet_names if name.startswith("Daten"))
    finally:
        book.close()


def test_the_writer_spreads_rows_over_data_sheets_and_counts_them(tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "EXCEL_MAX_ROWS", 4)
    target = tmp_path / "t.xlsx"
    exports.write_xlsx(pd.concat([frame()] * 3, ignore_index=True), target, "Titel", None)  # 9 rows: 4 + 4 + 1
    assert data_rows(target) == 9
    exports.write_xlsx(frame().iloc[0:0], target, "Titel", None)
    assert data_rows(target) == 0


def test_texts_are_escaped_as_excel_reads_them(tmp_path):
    """Markup, control characters, a literal _xHHHH_ and edge white space come back as written (calamine
    decodes like Excel; openpyxl does not decode _xHHHH_)."""
    from python_calamine import CalamineWorkbook

    texts = ["<b>Mölln & Co</b>", "a\x01b", "_x0041_", " lead", "trail\n", "x\ty", "=1+1"]
    target = tmp_path / "t.xlsx"
    exports.write_xlsx(pd.DataFrame({"notes": texts}), target, "Titel", None)
    book = CalamineWorkbook.from_path(str(target))
    assert [row[0] for row in book.get_sheet_by_name("Daten").to_python()[1:]] == texts


def con_with(rows: int, periods: int):
    """An in-memory DuckDB with a view ``v`` of ``rows`` rows spread over ``periods`` periods (2001, 2002, ...)."""
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE source_attribution AS SELECT 'destatis' AS source_id, 'Destatis' AS publisher, "
                "'dl-de/by-2-0' AS licence, 'https://www.govdata.de/dl-de/by-2-0' AS licence_url, 'Destatis' AS attribution, "
                "['2021-12-31'] AS vintages")
    con.execute(f"CREATE VIEW v AS SELECT printf('%08d', i) AS ags, 2001 + i % {periods} AS period, i / 4 AS value "
                f"FROM range({rows}) t(i)")
    return con


def test_view_above_one_sheet_gets_its_latest_period_and_a_note(tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "XLSX_ROW_LIMIT", 9)
    con = con_with(12, 3)  # 12 rows > 9: only the 4 rows of 2003 go to the workbook
    target = tmp_path / "v.xlsx"
    assert exports.write_view_xlsx(con, "v", target, exports.sources_rows(con)) == 4
    book = openpyxl.load_workbook(target)
    assert book.sheetnames == ["Daten", "Quellen und Lizenzen"]
    rows = list(book["Daten"].iter_rows(values_only=True))
    assert rows[0] == ("AGS", "Jahr", "Wert") and {row[1] for row in rows[1:]} == {2003} and len(rows) == 5
    assert [row[0] for row in rows[1:]] == ["00000002", "00000005", "00000008", "00000011"]  # text, zeros kept
    note = book["Quellen und Lizenzen"]["A2"].value
    assert "nur das Jahr 2003 (v hat 12 Zeilen, mehr als ein Excel-Blatt fasst)" in note
    assert "v.csv" in note and "v.parquet" in note
    # a view that fits one sheet is written whole, without the note
    assert exports.write_view_xlsx(con_with(9, 3), "v", target, []) == 9
    assert "nur das Jahr" not in openpyxl.load_workbook(target)["Quellen und Lizenzen"]["A2"].value


def test_german_csv_round_trips_through_pandas(tmp_path):
    """COPY with the shaping SQL: ;, decimal comma, BOM, AGS as text, WAHR/FALSCH, Berlin time, lists as text."""
    import duckdb

    con = duckdb.connect()
    con.register("f", frame())
    target = tmp_path / "f.csv"
    assert exports.write_german_csv(con, "SELECT * FROM f", target) == 3
    raw = target.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfAGS;Rang;Wert;") and "1234,5" in raw.decode("utf-8")
    back = pd.read_csv(target, sep=";", decimal=",", dtype={"AGS": str}, true_values=["WAHR"],
                       false_values=["FALSCH"], keep_default_na=False, na_values=[""])
    assert list(back.columns) == exports.german_headers(frame().columns)
    assert back["AGS"].tolist()[:2] == ["01053090", "09162000"] and pd.isna(back["AGS"][2])
    assert back["Wert"].tolist()[0] == 1234.5 and pd.isna(back["Wert"][1]) and back["Wert"].tolist()[2] == 0.1
    assert back["Rang"].tolist()[0] == 1 and back["fortgeschrieben"].tolist()[:2] == [True, False]
    assert back["Stichtag"].tolist()[0] == "2023-12-31"
    assert back["veröffentlicht (Ortszeit Berlin)"].tolist()[0] == "2026-07-01 12:30:00"  # 10:30 UTC in summer
    assert back["Hinweise"].tolist()[2] == "Mölln <&>" and back["Ausgaben der Quelle"].tolist()[0] == "a, b"


def test_pillars_units_and_headers_are_german_in_the_csv(tmp_path):
    """The German exports word the codes the warehouse stores in English, with the catalogue's names."""
    import duckdb

    con = duckdb.connect()
    con.register("f", pd.DataFrame({"pillar": ["digital_infrastructure", "=context"],
                                    "unit": ["% of households", "minutes by car"],
                                    "gap_accessibility": [1.5, -2.0]}))
    target = tmp_path / "f.csv"
    exports.write_german_csv(con, "SELECT * FROM f", target)
    back = pd.read_csv(target, sep=";", decimal=",")
    assert list(back.columns) == ["Säule", "Einheit", "Abstand Erreichbarkeit (Vergleichsgemeinde − Gemeinde)"]
    assert back["Säule"].tolist() == ["Digitale Infrastruktur", "'=context"]  # unmapped: as it is, defused
    assert back["Einheit"].tolist() == ["% der Haushalte", "Minuten mit dem Pkw"]


def test_pillar_lists_directions_and_rank_percentiles_as_planners_read_them(tmp_path):
    """town_index_history.csv had "fehlende Säulen" = demographic_dynamics, town_profile.csv "Wirkungsrichtung" =
    positive and latest_ranking.csv a rank percentile 2,0499999999999545 (the page: 2)."""
    import duckdb

    con = duckdb.connect()
    con.register("f", pd.DataFrame({"missing_pillars": ["demographic_dynamics, accessibility", None],
                                    "omitted_pillars": ["local_work_infrastructure", "=x"],
                                    "direction": ["negative", "positive"],
                                    "rank_p05": [2.0499999999999545, 439.95], "rank_p95": [801.1499999999999, None]}))
    exports.write_german_csv(con, "SELECT * FROM f", tmp_path / "f.csv")
    back = pd.read_csv(tmp_path / "f.csv", sep=";", keep_default_na=False, dtype=str)
    assert back["fehlende Säulen"].tolist() == ["Demografische Dynamik, Erreichbarkeit", ""]
    assert back["nicht bewertete Säulen"].tolist() == ["Lokale Arbeitsinfrastruktur", "'=x"]  # unmapped, defused
    assert back["Wirkungsrichtung"].tolist() == ["niedriger ist besser", "höher ist besser"]
    # as the pages show a rank band: a whole rank without a decimal (2, 440), an interpolated one with one (801,1)
    assert back["Rang 5-%-Perzentil"].tolist() == ["2", "440"] and back["Rang 95-%-Perzentil"].tolist() == ["801,1", ""]
    exports.write_xlsx_query(con, "SELECT * FROM f", tmp_path / "f.xlsx", "T")
    _, rows = read(tmp_path / "f.xlsx")
    assert rows[1][0] == "Demografische Dynamik, Erreichbarkeit" and rows[1][3:] == (2.0, 801.1)


def test_decimals_are_written_without_float_noise(tmp_path):
    """town_profile.csv had "14,639999999999999" and peer_comparison.csv "-7,925000000000011" (review of
    4 December): twelve significant digits, as the pages' downloads; small and large figures keep theirs."""
    import duckdb

    con = duckdb.connect()
    con.register("f", pd.DataFrame({"ags": list("abcdefg"),
                                    "value": [14.639999999999999, -7.925000000000011, 0.801403369, 1.5e-7,
                                              43922.0, 123456.78901234, float("nan")]}))
    exports.write_german_csv(con, "SELECT * FROM f", tmp_path / "f.csv")
    back = pd.read_csv(tmp_path / "f.csv", sep=";", keep_default_na=False, dtype=str)
    assert back["Wert"].tolist() == ["14,64", "-7,925", "0,801403369", "1,5e-07", "43922,0", "123456,789012", ""]
    exports.write_xlsx_query(con, "SELECT * FROM f", tmp_path / "f.xlsx", "T")
    _, rows = read(tmp_path / "f.xlsx")
    assert [r[1] for r in rows[1:]] == [14.64, -7.925, 0.801403369, 1.5e-7, 43922.0, 123456.789012, None]


def test_formula_like_text_is_defused_in_the_csv_only(tmp_path):
    """The exports' CSV writes a leading apostrophe before text Excel would run; numbers and the .xlsx are as stored."""
    import duckdb

    con = duckdb.connect()
    con.register("f", pd.DataFrame({"name": ["=1+1", "-Nord", "@SUM(1)", "Mölln-Nord", "\t=1"],
                                    "vintages": [["+a"], ["b"], [], None, ["c"]], "value": [-1.5, 2.0, 0, 1, 1]}))
    target = tmp_path / "f.csv"
    exports.write_german_csv(con, "SELECT * FROM f", target)
    back = pd.read_csv(target, sep=";", decimal=",", keep_default_na=False, dtype={"Wert": float})
    assert back["Gemeinde"].tolist() == ["'=1+1", "'-Nord", "'@SUM(1)", "Mölln-Nord", "'\t=1"]
    assert back["Ausgaben der Quelle"].tolist()[:2] == ["'+a", "b"] and back["Wert"].tolist()[0] == -1.5
    book, rows = read(tmp_path / "f.xlsx") if exports.write_xlsx(con.execute("SELECT * FROM f").df(),
                                                                  tmp_path / "f.xlsx", "T", None) else (None, [])
    assert [row[0] for row in rows[1:4]] == ["=1+1", "-Nord", "@SUM(1)"]


def test_notes_are_german_in_the_german_exports(tmp_path):
    """The notes the warehouse keeps in English (and the Parquet files with it) are rendered in German from the
    same typed columns in the CSV and the .xlsx."""
    import duckdb

    con = duckdb.connect()
    con.execute("""CREATE TABLE v AS SELECT * FROM (VALUES
        ('base year 2013; value of the Gemeindeverband (shared by its member Gemeinden)', 2013, 'gemeindeverband',
         NULL, FALSE, NULL, TRUE, DATE '2019-06-30', 'carried forward from 2019'),
        (NULL, NULL, 'gemeinde', NULL, NULL, NULL, FALSE, DATE '2021-12-31', NULL))
        t(quality_note, base_period, source_level, territorial_change, method_break, excluded_reason, imputed,
          reference_date, imputation)""")
    exports.write_german_csv(con, "SELECT * FROM v", tmp_path / "v.csv")
    back = pd.read_csv(tmp_path / "v.csv", sep=";", keep_default_na=False, dtype=str)
    assert back["Qualitätshinweis"].tolist() == [
        "Basisjahr 2013; Wert des Gemeindeverbands (für alle Mitgliedsgemeinden gleich)", ""]
    assert back["Fortschreibung"].tolist() == ["fortgeschrieben aus 2019", ""]
    # a view without the typed columns keeps its text as it is (nothing to render it from)
    exports.write_german_csv(con, "SELECT quality_note FROM v", tmp_path / "w.csv")
    assert pd.read_csv(tmp_path / "w.csv", sep=";")["Qualitätshinweis"][0].startswith("base year 2013")


def test_the_german_exports_say_what_the_publisher_says_of_a_change(tmp_path):
    """A 10-year population change 2009 -> 2021 spans the Zensus 2011's recount and Destatis' 2016 break: the town
    page said so, the CSV and .xlsx of town_profile and indicator_history did not (review of 6 December 2026)."""
    import duckdb

    con = duckdb.connect()
    con.execute("""CREATE TABLE v AS SELECT * FROM (VALUES
        ('base year 2009', 2009, 'gemeinde', NULL, FALSE, NULL, 'destatis_gemeindeverzeichnis', DATE '2021-12-31'),
        ('base year 2016', 2016, 'gemeinde', NULL, FALSE, NULL, 'destatis_gemeindeverzeichnis', DATE '2021-12-31'),
        (NULL, NULL, 'gemeinde', NULL, FALSE, NULL, 'destatis_gemeindeverzeichnis', DATE '2021-12-31'))
        t(quality_note, base_period, source_level, territorial_change, method_break, excluded_reason, source_id,
          reference_date)""")
    exports.write_german_csv(con, "SELECT * FROM v", tmp_path / "v.csv")
    notes = pd.read_csv(tmp_path / "v.csv", sep=";", keep_default_na=False, dtype=str)["Qualitätshinweis"].tolist()
    assert notes == ["Basisjahr 2009; enthält die Neuberechnung der Einwohnerzahl nach dem Zensus 2011; Einwohnerzahlen "
                     "ab 2016 nur bedingt mit den Vorjahren vergleichbar (methodische Änderungen der "
                     "Bevölkerungsfortschreibung)", "Basisjahr 2016", ""]


def test_index_notes_are_german_in_the_csv(tmp_path):
    import duckdb

    con = duckdb.connect()
    con.execute("""CREATE TABLE v AS SELECT * FROM (VALUES
        ('local_work_infrastructure not scored: no data from local_inputs, osm_coworking for this period',
         'local_work_infrastructure', NULL), (NULL, NULL, NULL)) t(notes, omitted_pillars, uncompared_pillars)""")
    exports.write_german_csv(con, "SELECT * FROM v", tmp_path / "v.csv")
    notes = pd.read_csv(tmp_path / "v.csv", sep=";", keep_default_na=False, dtype=str)["Hinweise"].tolist()
    assert notes[0].startswith("Lokale Arbeitsinfrastruktur nicht bewertet: keine Daten (Quellen: ")
    assert "OpenStreetMap" in notes[0] and notes[1] == ""


def test_sources_and_attributions_as_the_pages_print_them(tmp_path):
    """The exports printed BKG's template "© GeoBasis-DE / BKG (year of the vintage), Daten verändert", INKAR's English
    "as re-packaged by" and the source ids; the pages print the year and German (sources.yaml attribution_de)."""
    import duckdb

    con = duckdb.connect()
    con.execute("""CREATE TABLE v AS SELECT * FROM (VALUES
        ('bkg_vg', 'vg250-2025-01-01', '© GeoBasis-DE / BKG (year of the vintage), Daten verändert'),
        ('inkar', '2022-12', '© BBSR Bonn 2022, INKAR (as re-packaged by RegioHub/inkr)'),
        ('inkar', '2024-12', '© BBSR Bonn 2022, INKAR (as re-packaged by RegioHub/inkr)'),
        ('breitbandatlas', '2021-mitte', '© Bundesnetzagentur, Breitbandatlas / Gigabit-Grundbuch'))
        t(source_id, vintage, attribution)""")
    exports.write_german_csv(con, "SELECT * FROM v", tmp_path / "v.csv")
    back = pd.read_csv(tmp_path / "v.csv", sep=";", dtype=str)
    assert back["Quelle"].tolist() == ["Verwaltungsgebiete (BKG)", "INKAR (BBSR)", "INKAR (BBSR)", "Breitbandatlas"]
    # each release cites its own edition: a 2024 INKAR said "© BBSR Bonn 2022" (a fixed text)
    assert back["Quellenvermerk"].tolist() == ["© GeoBasis-DE / BKG (2025), Daten verändert",
                                               "© BBSR Bonn 2022, INKAR (aufbereitet von RegioHub/inkr)",
                                               "© BBSR Bonn 2024, INKAR (aufbereitet von RegioHub/inkr)",
                                               "© Bundesnetzagentur, Breitbandatlas / Gigabit-Grundbuch"]
    # a view with the source's releases as a list (source_attribution): the newest one's year
    exports.write_german_csv(con, "SELECT source_id, list(vintage) AS vintages, any_value(attribution) AS attribution "
                                  "FROM (SELECT * FROM v UNION ALL SELECT 'bkg_vg', 'vg5000-2021-01-01', attribution "
                                  "FROM v WHERE source_id = 'bkg_vg') GROUP BY source_id ORDER BY source_id",
                             tmp_path / "w.csv")
    back = pd.read_csv(tmp_path / "w.csv", sep=";", dtype=str).set_index("Quelle")
    assert back.loc["Verwaltungsgebiete (BKG)", "Quellenvermerk"] == "© GeoBasis-DE / BKG (2025), Daten verändert"
