"""What the German exports say about their numbers (review of the Germany-wide build of 5 December): the header of
``imputed_share`` names the share of the score's weight, the peers' gaps carry the scores' decimals and say their
sign."""

from __future__ import annotations

import duckdb
import openpyxl
import pandas as pd

from indicators.catalogue import load_catalogue
from warehouse import exports

PILLARS = list(load_catalogue().pillars)


def test_the_carried_forward_share_is_named_as_a_share_of_the_scores_weight():
    """imputed_share is the share of the score's weight resting on carried-forward values (docs/data-dictionary.md),
    not the share of the values carried forward ("Anteil fortgeschriebener Werte" said the latter)."""
    header = exports.GERMAN_HEADERS["imputed_share"]
    assert header.startswith("Gewichtsanteil fortgeschriebener Werte") and "Indexwert" in header, header
    assert "(0–1)" in header


def peers() -> pd.DataFrame:
    """Two peer rows as peer_comparison holds them: gaps peer minus town, full precision, one of them float noise
    where the two pillar scores are equal (Stadtsteinach and Dollnstein, Pendelpotenzial, on the full data)."""
    return pd.DataFrame({
        "ags": ["09477151", "09176123"], "peer_ags": ["09176123", "09477151"],
        "score": [48.31, 48.05208333333334], "peer_score": [48.05208333333334, 48.31],
        "gap_score": [-0.25791666666665947, 0.25791666666665947],
        **{f"gap_{pillar}": [1.2345678, -1.2345678] for pillar in PILLARS},
        "gap_commuting_potential": [-7.105427357601002e-15, 7.105427357601002e-15],
    })


def test_peer_gaps_have_the_decimals_of_the_scores_and_no_float_noise(tmp_path):
    """peer_comparison.csv had "Abstand Pendelpotenzial" = -7,1054273576e-15 (twelve significant digits of a
    difference that is zero): each gap is written with the published decimals of a score (score_decimals)."""
    digits = load_catalogue().score_decimals
    con = duckdb.connect()
    con.register("p", peers())
    exports.write_german_csv(con, "SELECT * FROM p", tmp_path / "p.csv")
    back = pd.read_csv(tmp_path / "p.csv", sep=";", keep_default_na=False, dtype=str)
    commuting = exports.GERMAN_HEADERS["gap_commuting_potential"]
    assert back[commuting].tolist() == ["0,0", "0,0"]  # not -7,1054273576e-15, nor -0,0
    for pillar in PILLARS:
        if pillar != "commuting_potential":
            assert back[exports.GERMAN_HEADERS[f"gap_{pillar}"]].tolist() == ["1,2", "-1,2"], pillar
    for column in [exports.GERMAN_HEADERS["gap_score"]] + [exports.GERMAN_HEADERS[f"gap_{p}"] for p in PILLARS]:
        assert all(len(text.split(",")[1]) == digits for text in back[column]), (column, back[column].tolist())
    # the overall gap is the difference of the two scores as shown (48,1 - 48,3)
    assert back[exports.GERMAN_HEADERS["gap_score"]].tolist() == ["-0,2", "0,2"]
    exports.write_xlsx_query(con, "SELECT * FROM p", tmp_path / "p.xlsx", "T")
    rows = list(openpyxl.load_workbook(tmp_path / "p.xlsx")["Daten"].iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    assert [row[header.index(commuting)] for row in data] == [0.0, 0.0]
    assert [row[header.index(exports.GERMAN_HEADERS["gap_accessibility"])] for row in data] == [1.2, -1.2]


def test_pillar_scores_have_the_decimals_of_the_overall_score(tmp_path):
    """latest_ranking.csv wrote "Säule Digitale Infrastruktur" = 93,5866666667 beside "Indexwert" 83,8 and the gaps'
    31,5 (audit of 7 December 2026): the pillar scores are written as the pages and the CLI show them; the Parquet
    files keep full precision."""
    digits = load_catalogue().score_decimals
    con = duckdb.connect()
    con.register("r", pd.DataFrame({"ags": ["06432003", "01053090"], "score": [83.8123, 70.2456],
                                    **{pillar: [93.5866666666667, None] for pillar in PILLARS},
                                    "accessibility": [86.97, 74.4808333333]}))
    exports.write_german_csv(con, "SELECT * FROM r", tmp_path / "r.csv")
    back = pd.read_csv(tmp_path / "r.csv", sep=";", keep_default_na=False, dtype=str)
    for pillar in PILLARS:
        header = exports.GERMAN_HEADERS[pillar]
        shown = back[header].tolist()
        assert shown == (["87,0", "74,5"] if pillar == "accessibility" else ["93,6", ""]), (pillar, shown)
        assert all(len(text.split(",")[1]) == digits for text in shown if text), (pillar, shown)
    exports.write_xlsx_query(con, "SELECT * FROM r", tmp_path / "r.xlsx", "T")
    rows = list(openpyxl.load_workbook(tmp_path / "r.xlsx")["Daten"].iter_rows(values_only=True))
    assert rows[1][rows[0].index(exports.GERMAN_HEADERS["digital_infrastructure"])] == 93.6


def test_gap_headers_say_which_town_is_subtracted_from_which():
    """peer_comparison's gaps are the peer's score minus the town's (warehouse/views.sql, indicators/peers.py): a
    header "Abstand Erreichbarkeit" left the sign to guessing."""
    for column in ["gap_score", *[f"gap_{pillar}" for pillar in PILLARS]]:
        assert exports.GERMAN_HEADERS[column].endswith("(Vergleichsgemeinde − Gemeinde)"), column
    assert exports.GERMAN_HEADERS["gap_accessibility"] == "Abstand Erreichbarkeit (Vergleichsgemeinde − Gemeinde)"


def history(carried_in_latest: int, ranking_period: int | None):
    """A view ``v`` of 12 rows over 2001-2003 (4 each) with ``carried_in_latest`` of 2003's rows carried forward,
    and a published period (the view published_period, which latest_ranking reads) ``ranking_period`` (None: none)."""
    con = duckdb.connect()
    con.execute("CREATE VIEW v AS SELECT printf('%08d', i % 4) AS ags, 2001 + i // 4 AS period, i / 4 AS value, "
                f"(i // 4 = 2 AND i % 4 < {carried_in_latest}) AS imputed FROM range(12) t(i)")
    if ranking_period is not None:
        con.execute(f"CREATE VIEW published_period AS SELECT {ranking_period} AS period")
    return con


def test_a_workbook_cut_to_a_mostly_carried_forward_year_says_so(monkeypatch):
    """indicator_history.xlsx holds only its latest period, on the Germany-wide build 2023, 82 % of whose rows are
    carried forward while latest_ranking and the pages lead with 2021: the note named the year and nothing else."""
    monkeypatch.setattr(exports, "XLSX_ROW_LIMIT", 9)
    query, note = exports.xlsx_plan(history(3, 2002), "v")
    assert query == "SELECT * FROM v WHERE period = 2003"  # the period chosen is the same
    assert "nur das Jahr 2003" in note
    assert "3 der 4 Zeilen des Jahres 2003 (75 %) sind aus früheren Ständen fortgeschrieben" in note
    assert "Die Rangliste (latest_ranking) führt 2002 als aktuelles Jahr" in note


def test_a_workbook_cut_to_a_year_of_its_own_data_adds_nothing(monkeypatch):
    monkeypatch.setattr(exports, "XLSX_ROW_LIMIT", 9)
    for con in (history(2, 2003), history(1, None)):  # half or less carried forward; the ranking's year or none
        note = exports.xlsx_plan(con, "v")[1]
        assert "nur das Jahr 2003" in note and "fortgeschrieben" not in note and "Rangliste" not in note, note


def test_a_whole_workbook_says_when_most_of_its_rows_are_carried_forward_or_the_ranking_leads_with_another_year():
    """town_profile.xlsx (every row of the view) gave "Jahr 2023" on 119,043 rows, 97,330 of them carried forward,
    beside a ranking of 2021, without a note; indicator_history's workbook, cut to its latest year, said both (dates
    review of 6 December 2026). The note of a whole view counts all its rows and compares the ranking with its latest
    year."""
    def carried(rows: int):  # 12 rows over 2001-2003, ``rows`` of them carried forward
        con = history(0, 2002)
        con.execute("CREATE OR REPLACE VIEW w AS SELECT ags, period, value, row_number() OVER (ORDER BY period, ags) "
                    f"<= {rows} AS imputed FROM v")
        return con

    query, note = exports.xlsx_plan(carried(9), "w")
    assert query == "SELECT * FROM w"  # whole
    assert note == ("9 der 12 Zeilen (75 %) sind aus früheren Ständen fortgeschrieben (Spalte „fortgeschrieben“), "
                    "nicht neu erhoben. Die Rangliste (latest_ranking) führt 2002 als aktuelles Jahr.")
    assert exports.xlsx_plan(carried(6), "w")[1] == "Die Rangliste (latest_ranking) führt 2002 als aktuelles Jahr."
    assert exports.xlsx_plan(history(0, 2003), "v")[1] is None  # its latest year is the ranking's, little carried
    # a whole view of one year (latest_ranking, peer_comparison) names it: the ranking's title says "des letzten Jahres"
    one = history(0, 2003)
    one.execute("CREATE VIEW y AS SELECT * FROM v WHERE period = 2003")
    assert exports.xlsx_plan(one, "y")[1] == "Spalte „Jahr“: 2003 in allen Zeilen."


def test_the_note_is_in_the_fingerprint(monkeypatch):
    """The note names the published period, another view's content: a new ranking period writes the workbook
    again instead of linking the one with the old note."""
    monkeypatch.setattr(exports, "XLSX_ROW_LIMIT", 9)
    assert exports.view_fingerprint(history(3, 2002), "v", "") != exports.view_fingerprint(history(3, 2003), "v", "")


def test_a_restated_indicator_value_is_written_with_the_decimals_its_unit_is_published_with(tmp_path):
    """indicator_history.csv and town_profile.csv gave Süderbrarup's (01059083, merged) restated broadband share as
    "83,6367521547" (its predecessors' shares weighted by population, stored at full precision; review of
    5 December). A value is written at its unit's value_decimals (indicators/catalogue.yaml): the restated share with
    the Breitbandatlas' 2 decimals, a published share, INKAR's minutes (2) and metres (0) and a computed population
    change (4) unchanged; a unit the catalogue does not know keeps twelve significant digits; Parquet keeps all."""
    frame = pd.DataFrame({
        "ags": ["01059083", "01053090", "01053090", "01053090", "01053090", "01053090"],
        "value": [83.63675215468, 58.949999999999996, 38.1, 412.0, 0.5408123, 1.23456789012345],
        "unit": ["% of households", "% of employees at residence", "minutes by car",
                 "m (straight line, population-weighted)", "% per year", "furlongs"]})
    con = duckdb.connect()
    con.register("f", frame)
    exports.write_german_csv(con, "SELECT * FROM f", tmp_path / "f.csv")
    back = pd.read_csv(tmp_path / "f.csv", sep=";", keep_default_na=False, dtype=str)
    # each with exactly its unit's decimals: 412 metres, not "412,0" for a unit published without decimals, and
    # 38,10 minutes (planner's review of 6 December 2026)
    assert back[exports.GERMAN_HEADERS["value"]].tolist() == [
        "83,64", "58,95", "38,10", "412", "0,5408", "1,23456789012"]
    exports.write_xlsx_query(con, "SELECT * FROM f", tmp_path / "f.xlsx", "T")
    rows = list(openpyxl.load_workbook(tmp_path / "f.xlsx")["Daten"].iter_rows(values_only=True))
    header = rows[0]
    assert [row[header.index(exports.GERMAN_HEADERS["value"])] for row in rows[1:]] == [
        83.64, 58.95, 38.1, 412, 0.5408, 1.23456789012]
    catalogue = load_catalogue()
    assert set(catalogue.value_decimals) == set(catalogue.units)  # every unit declares its decimals


def test_the_manifests_publish_time_carries_its_utc_offset():
    """publish_log keeps UTC without a zone; manifest.json's "2026-12-07T00:25:33" read as local time beside the
    files' "Ortszeit Berlin" 01:25:33 (audit of 7 December 2026). GDAL's change time takes the same text."""
    import datetime as dt

    con = duckdb.connect()
    con.execute("CREATE TABLE publish_log (published_at TIMESTAMP, changes VARCHAR)")
    con.execute("INSERT INTO publish_log VALUES ('2026-12-07 00:25:33', '{\"rows\": {\"town_profile\": 3}}')")
    published_at, rows = exports.latest_publish(con)
    assert published_at == "2026-12-07T00:25:33+00:00" and rows == {"town_profile": 3}
    assert dt.datetime.fromisoformat(published_at) == dt.datetime(2026, 12, 7, 0, 25, 33, tzinfo=dt.timezone.utc)


def test_the_workbook_shows_each_number_with_the_decimals_the_csv_writes(tmp_path):
    """The .xlsx showed every number as "#,##0.0##": 412 metres as 412,0, 38,10 minutes as 38,1, a population change
    of 0,9903 % as 0,99, while the CSV wrote 412, 38,10 and 0,9903 (planner-guide, a known gap until 7 December 2026).
    Each cell now has the format of its published decimals: an indicator value by its row's unit, a score and a pillar
    score by the score's; a unit the catalogue does not know keeps the general format."""
    frame = pd.DataFrame({
        "ags": ["01053090"] * 5, "score": [48.0, 70.25, 55.5, 60.0, 61.0], "digital_infrastructure": [92.8] * 5,
        "value": [412.0, 38.1, 0.9903, 58.95, 1.5],
        "unit": ["m (straight line, population-weighted)", "minutes by car", "% per year",
                 "% of employees at residence", "furlongs"]})
    con = duckdb.connect()
    con.register("f", frame)
    exports.write_xlsx_query(con, "SELECT * FROM f", tmp_path / "f.xlsx", "T")
    sheet = openpyxl.load_workbook(tmp_path / "f.xlsx")["Daten"]
    header = [cell.value for cell in sheet[1]]
    formats = {name: [row[header.index(exports.GERMAN_HEADERS[name])].number_format
                      for row in sheet.iter_rows(min_row=2)] for name in ("value", "score", "digital_infrastructure")}
    assert formats["value"] == ["#,##0", "#,##0.00", "#,##0.0000", "#,##0.00", "#,##0.0##"]
    assert formats["score"] == formats["digital_infrastructure"] == ["#,##0.0"] * 5
    values = [row[header.index(exports.GERMAN_HEADERS["value"])].value for row in sheet.iter_rows(min_row=2)]
    assert values == [412, 38.1, 0.9903, 58.95, 1.5]  # the cells keep their numbers
    catalogue = load_catalogue()
    assert {*catalogue.value_decimals.values(), catalogue.score_decimals} <= set(exports.PUBLISHED_DECIMALS)


def test_a_gemeinde_is_named_in_the_downloads_as_on_its_page(tmp_path):
    """latest_ranking.csv named the pilot "Dießen am Ammersee, M" (the register's abbreviation) where its page, the CLI
    and the comparison say "Dießen am Ammersee, Markt" (planner walkthrough of 7 December 2026). The German CSV and
    .xlsx write the three abbreviated designations out, in both name columns; a formula-like name stays defused."""
    con = duckdb.connect()
    con.register("p", pd.DataFrame({"name": ["Dießen am Ammersee, M", "Bad Reichenhall, GKSt", "Mölln, Stadt",
                                             "=Mist, M"],
                                    "peer_name": ["Penzberg, St", "Marktoberdorf, St", "Markt Schwaben, M", None]}))
    exports.write_german_csv(con, "SELECT * FROM p", tmp_path / "p.csv")
    back = pd.read_csv(tmp_path / "p.csv", sep=";", keep_default_na=False, dtype=str)
    assert back["Gemeinde"].tolist() == ["Dießen am Ammersee, Markt", "Bad Reichenhall, Große Kreisstadt",
                                         "Mölln, Stadt", "'=Mist, Markt"]
    assert back["Vergleichsgemeinde"].tolist() == ["Penzberg, Stadt", "Marktoberdorf, Stadt",
                                                   "Markt Schwaben, Markt", ""]
    exports.write_xlsx_query(con, "SELECT * FROM p", tmp_path / "p.xlsx", "T")
    rows = list(openpyxl.load_workbook(tmp_path / "p.xlsx")["Daten"].iter_rows(values_only=True))
    assert rows[1] == ("Dießen am Ammersee, Markt", "Penzberg, Stadt")


def test_the_exports_sql_writes_a_name_out_as_the_pages_python_does():
    """The exports' SQL (``_display_name_expression``) and the pages' ``display_name`` are two spellings of one rule:
    they agree on names with and without an abbreviated designation, and on names that merely end alike."""
    from reports.labels import display_name

    names = ["Dießen am Ammersee, M", "Rötz, St", "Bad Reichenhall, GKSt", "Mölln, Stadt", "Markt Schwaben, M",
             "Wittenberg, Lutherstadt", "Berlin", "Bad Tölz, St", "Oberstdorf, M", "Aach", "Fürth, GKSt ", "X,M",
             "Y, MM", "Z, St, M"]
    con = duckdb.connect()
    con.register("n", pd.DataFrame({"name": names}))
    written = [row[0] for row in con.execute(
        f"SELECT {exports._display_name_expression('name')} FROM n").fetchall()]
    assert written == [display_name(name) for name in names]


def test_a_kreis_is_named_in_the_downloads_as_on_the_pages(tmp_path):
    """latest_ranking.csv and peer_comparison.csv named the Kreise as the register spells them ('Mühldorf a.Inn', two
    Kreise 'Osnabrück') where the pages and the CLI say 'Mühldorf a. Inn' and 'Osnabrück (Landkreis)' (review of 7
    December 2026): the Kreis columns take the BKG's name, told apart where two share one, keyed by the row's AGS; a
    Kreis the BKG does not list keeps the register's name, and a file without the Kreise keeps all of them."""
    con = duckdb.connect()
    con.execute("CREATE TABLE kreise AS SELECT * FROM (VALUES ('09183', 'Mühldorf a. Inn', 'Landkreis'), "
                "('03459', 'Osnabrück', 'Landkreis'), ('03404', 'Osnabrück', 'Kreisfreie Stadt')) t(ags, name, designation)")
    con.execute("CREATE TABLE municipalities AS SELECT * FROM (VALUES ('09183', 'Mühldorf a.Inn'), ('03459', 'Osnabrück'), "
                "('01053', 'Herzogtum Lauenburg')) t(kreis_ags, kreis_name)")
    con.execute("CREATE VIEW p AS SELECT * FROM (VALUES ('09183148', 'Mühldorf a.Inn', '03459030', 'Osnabrück'), "
                "('01053090', 'Herzogtum Lauenburg', '09183148', 'Mühldorf a.Inn')) t(ags, kreis_name, peer_ags, peer_kreis)")

    def written(connection, query="SELECT * FROM p"):
        path = tmp_path / "p.csv"
        exports.write_german_csv(connection, query, path)
        return pd.read_csv(path, sep=";", keep_default_na=False, dtype=str)

    back = written(con)
    assert back["Kreis"].tolist() == ["Mühldorf a. Inn", "Herzogtum Lauenburg"]
    assert back["Kreis der Vergleichsgemeinde"].tolist() == ["Osnabrück (Landkreis)", "Mühldorf a. Inn"]
    assert written(con, "SELECT kreis_name FROM p")["Kreis"].tolist() == ["Mühldorf a.Inn", "Herzogtum Lauenburg"]
    con.execute("DROP TABLE kreise")  # an older file: the register's names as they are
    assert written(con)["Kreis"].tolist() == ["Mühldorf a.Inn", "Herzogtum Lauenburg"]
