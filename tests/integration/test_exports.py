"""Exports of the published warehouse: Excel, German CSV, Parquet and GeoPackage, written completely or not at all."""

from __future__ import annotations

import datetime as dt

import json
import re
import shutil

import duckdb
import geopandas
import pandas as pd
import pytest

from indicators.catalogue import load_catalogue
from reports.labels import display_name
from sources.registry import attribution_text, load_sources
from warehouse import exports
from warehouse.exports import GEOPACKAGE, GERMAN_HEADERS, LATEST, PLANNER_VIEWS, export_planner_views

PILOTS = load_catalogue().pilot_towns


@pytest.fixture(scope="module")
def exported(snapshot_warehouse, tmp_path_factory):
    """One export of the snapshot warehouse: (export directory, returned counts)."""
    out_dir = tmp_path_factory.mktemp("exports")
    counts = export_planner_views(snapshot_warehouse, out_dir)
    return out_dir, counts


def view_count(con, view: str) -> int:
    return con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]


@pytest.mark.parametrize("view", PLANNER_VIEWS)
def test_each_view_exported_with_the_view_row_count(exported, warehouse, view):
    out_dir, counts = exported
    latest = out_dir / LATEST
    expected = view_count(warehouse, view)
    assert expected > 0, f"{view} is empty in the snapshot warehouse: nothing to compare"
    parquet_rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{latest / (view + '.parquet')}')").fetchone()[0]
    csv = read_german_csv(latest / f"{view}.csv")
    assert parquet_rows == expected
    assert len(csv) == expected
    assert counts[f"{view}.parquet"] == counts[f"{view}.csv"] == counts[f"{view}.xlsx"] == expected
    columns = [row[0] for row in warehouse.execute(f"DESCRIBE {view}").fetchall()]
    assert list(csv.columns) == [GERMAN_HEADERS[c] for c in columns], "a column without a German header"


def read_german_csv(path):
    return pd.read_csv(path, sep=";", decimal=",", dtype={"AGS": str, "AGS der Vergleichsgemeinde": str},
                       true_values=["WAHR"], false_values=["FALSCH"])


def test_german_csv_round_trips_through_pandas(exported, warehouse):
    out_dir, _ = exported
    path = out_dir / LATEST / "latest_ranking.csv"
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf"), "no UTF-8 BOM: Excel would read the umlauts as Latin-1"
    assert raw[3:].decode("utf-8").splitlines()[0].split(";")[:3] == ["Rang", "Rang 5-%-Perzentil", "Rang (Median)"]
    csv = read_german_csv(path).set_index("AGS").sort_index()
    view = warehouse.execute("SELECT * FROM latest_ranking").fetch_df().set_index("ags").sort_index()
    assert list(csv.index) == list(view.index) and csv.index.str.fullmatch(r"\d{8}").all()
    assert csv["Indexwert"].dtype == float  # the decimal comma parsed as a number, not text
    # the score as published, SQL's round(score, 1), which the ranks compare: one Indexwert per Rang in the file
    # (pandas' fast float parser may differ in the last bit; float_precision="round_trip" is exact)
    shown = warehouse.execute("SELECT ags, round(score, 1) AS score FROM latest_ranking").fetch_df().set_index("ags")
    pd.testing.assert_series_equal(csv["Indexwert"], shown.sort_index()["score"], check_names=False, rtol=1e-15, atol=0)
    assert (csv["Indexwert"] != view["score"]).any()  # rounded: the full precision stays in the Parquet file
    pd.testing.assert_series_equal(csv["Rang"], view["rank"], check_names=False, check_dtype=False)
    assert (csv.dropna(subset=["Rang"]).groupby("Rang")["Indexwert"].nunique() == 1).all()
    # umlauts survive (Mölln); Bavaria's abbreviated designations written out as on the pages (Dießen am Ammersee,
    # Markt), the Parquet file keeps the register's names
    assert set(csv["Gemeinde"]) == {display_name(name) for name in view["name"]}
    assert any(name.endswith(", M") for name in view["name"]) and not any(csv["Gemeinde"].str.endswith(", M"))
    assert "," in raw.decode("utf-8-sig").splitlines()[1], "no decimal comma in the first data row"


def test_german_exports_say_which_dates_inkar_gives_by_year_only(exported, warehouse):
    """The Stichtag column keeps the stored date (a typed column), 31.12. for INKAR's accessibility values, a day
    INKAR does not give: their Qualitätshinweis says the year is the publisher's and the day is set (dates review F9).
    Other values' notes do not."""
    out_dir, _ = exported
    csv = pd.read_csv(out_dir / LATEST / "indicator_history.csv", sep=";", dtype=str, keep_default_na=False,
                      encoding="utf-8-sig")
    pillars = dict(warehouse.execute("SELECT indicator_id, pillar FROM indicator_catalogue").fetchall())
    accessibility = csv["Indikator-ID"].map(pillars) == "accessibility"
    noted = csv["Qualitätshinweis"].str.contains("der Herausgeber nennt nur das Jahr", regex=False)
    assert accessibility.any() and (noted == accessibility).all()
    years = csv.loc[accessibility, "Qualitätshinweis"].str.extract(r"Bezugsjahr (\d{4})")[0]
    assert (years == csv.loc[accessibility, "Stichtag"].str.extract(r"(\d{4})")[0]).all()


def test_xlsx_keeps_types_and_ags_as_text(exported, warehouse):
    import openpyxl

    out_dir, _ = exported
    book = openpyxl.load_workbook(out_dir / LATEST / "town_profile.xlsx", read_only=True)
    assert book.sheetnames == ["Daten", "Quellen und Lizenzen"]
    rows = list(book["Daten"].iter_rows(values_only=True))
    header, data = rows[0], rows[1:]
    view = warehouse.execute("SELECT * FROM town_profile").fetch_df()
    assert list(header) == [GERMAN_HEADERS[c] for c in view.columns]
    assert len(data) == len(view)
    ags = [row[header.index("AGS")] for row in data]
    assert "01053090" in ags and all(isinstance(a, str) and len(a) == 8 for a in ags)  # Mölln, leading zero kept
    moelln = [row for row in data if row[header.index("AGS")] == "01053090"]
    expected = view[view["ags"] == "01053090"].set_index("indicator_id")["value"]
    for row in moelln:  # values are numbers, equal to the warehouse's to Excel's 15 significant digits
        value = row[header.index("Wert")]
        assert isinstance(value, (int, float)) and not isinstance(value, bool)
        assert value == pytest.approx(expected[row[header.index("Indikator-ID")]], rel=1e-14)
    assert all(isinstance(row[header.index("fortgeschrieben")], bool) for row in data)
    assert all(isinstance(row[header.index("Jahr")], int) for row in data)
    assert {row[header.index("Säule")] for row in data} >= {"Digitale Infrastruktur", "Pendelpotenzial"}
    dates = {row[header.index("Stichtag")] for row in data}  # a date stays that date (no time-zone shift)
    assert {d.date() for d in dates} == set(view["reference_date"].dt.date) and all(d.hour == 0 for d in dates)
    book.close()
    # the text format "@" is set, so a user editing the cell in Excel keeps the leading zero too
    cell = openpyxl.load_workbook(out_dir / LATEST / "town_profile.xlsx")["Daten"].cell(row=2, column=3)
    assert cell.value.isdigit() and cell.data_type == "s" and cell.number_format == "@"


def test_xlsx_sources_sheet_lists_every_source_with_its_licence(exported, warehouse):
    import openpyxl

    out_dir, _ = exported
    sheet = openpyxl.load_workbook(out_dir / LATEST / "latest_ranking.xlsx", read_only=True)["Quellen und Lizenzen"]
    rows = [row for row in sheet.iter_rows(values_only=True)]
    header = rows.index(("Quelle", "Herausgeber", "Lizenz", "Lizenz-URL", "Quellenvermerk"))
    listed = {row[0]: row for row in rows[header + 1:]}
    expected = warehouse.execute("SELECT source_id, licence, attribution, vintages FROM source_attribution").fetchall()
    sources = load_sources()
    assert expected and set(listed) == {sources[row[0]].label_de for row in expected}  # by German name
    for source_id, licence, attribution, vintages in expected:
        row = listed[sources[source_id].label_de]
        # the attribution as the pages print it, for the newest release ("(year of the vintage)" was printed)
        newest = max(re.search(r"(19|20)\d{2}", v).group(0) for v in vintages)
        assert row[2] == licence and row[4] == attribution_text(source_id, attribution, newest)
        assert "year of the vintage" not in row[4] and "as re-packaged" not in row[4]


def test_every_exported_column_has_a_german_header(warehouse):
    for view in PLANNER_VIEWS:
        columns = [row[0] for row in warehouse.execute(f"DESCRIBE {view}").fetchall()]
        assert [c for c in columns if c not in GERMAN_HEADERS] == [], view


def test_export_into_a_path_with_a_quote(snapshot_warehouse, tmp_path):
    counts = export_planner_views(snapshot_warehouse, tmp_path / "Gemeinde's exports")
    assert counts["latest_ranking.parquet"] > 0


def test_geopackage_has_the_pilots_with_the_warehouse_scores(exported, warehouse):
    out_dir, counts = exported
    towns = geopandas.read_file(out_dir / LATEST / GEOPACKAGE)
    assert towns.crs.to_epsg() == 4326
    assert len(towns) == counts[GEOPACKAGE]
    assert len(towns) == warehouse.execute("SELECT count(*) FROM municipalities WHERE in_reference_group").fetchone()[0]
    assert set(PILOTS) <= set(towns["ags"])
    pilots = towns[towns["ags"].isin(list(PILOTS))].set_index("ags")
    assert pilots.geometry.notna().all() and pilots.geometry.is_valid.all()
    for ags, row in pilots.iterrows():
        # the period the pages lead with (latest_ranking's), not a newer provisional one
        period, score, rank, method_version = warehouse.execute(
            "SELECT period, score, rank, method_version FROM town_index_history "
            "WHERE ags = ? AND score IS NOT NULL AND period = (SELECT max(period) FROM latest_ranking)", [ags]).fetchone()
        assert (row["period"], row["rank"], row["method_version"]) == (period, rank, method_version), ags
        assert row["score"] == pytest.approx(round(score, 1), abs=1e-9), ags  # as published and ranked
        # the population with its date (it had none beside the index year; dates review of 5 December)
        population, population_date = warehouse.execute(
            "SELECT population, population_date FROM municipalities WHERE ags = ?", [ags]).fetchone()
        assert (row["population"], str(row["population_date"])[:10]) == (population, str(population_date)), ags
        # the geometry is the town's own: its centre published by Destatis lies inside it
        lon, lat = warehouse.execute("SELECT lon, lat FROM municipalities WHERE ags = ?", [ags]).fetchone()
        assert row.geometry.buffer(0.01).contains(geopandas.points_from_xy([lon], [lat])[0]), ags


def test_latest_points_to_a_complete_export_and_old_ones_are_pruned(snapshot_warehouse, tmp_path):
    made = []
    for _ in range(exports.KEEP_EXPORTS + 2):
        export_planner_views(snapshot_warehouse, tmp_path)
        made.append((tmp_path / LATEST).resolve())
    kept = sorted(p for p in tmp_path.iterdir() if not p.name.startswith(".") and p.name != LATEST)
    assert kept == made[-exports.KEEP_EXPORTS:]
    assert (tmp_path / LATEST).is_symlink() and (tmp_path / LATEST).resolve() == made[-1]
    expected = {f"{view}.{suffix}" for view in PLANNER_VIEWS for suffix in ("parquet", "csv", "xlsx")} | {GEOPACKAGE,
                                                                                                   exports.MANIFEST}
    assert {p.name for p in made[-1].iterdir()} == expected
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_missing_view_is_an_error_naming_view_and_file(snapshot_warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "PLANNER_VIEWS", (*PLANNER_VIEWS, "no_such_view"))
    with pytest.raises(ValueError) as error:
        export_planner_views(snapshot_warehouse, tmp_path / "out")
    assert "no_such_view" in str(error.value) and str(snapshot_warehouse) in str(error.value)
    assert not (tmp_path / "out" / LATEST).exists()
    assert not list((tmp_path / "out").iterdir()), "a failed export left files behind"


def test_default_directory_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("READINESS_EXPORTS_DIR", str(tmp_path / "elsewhere"))
    assert exports.exports_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("READINESS_EXPORTS_DIR")
    assert exports.exports_dir() == exports.DEFAULT_EXPORTS_DIR


def test_town_without_geometry_is_exported_without_one(snapshot_warehouse, tmp_path):
    # on the full data some towns formed after the boundary vintage have no geometry (e.g. Langelsheim)
    copy = tmp_path / snapshot_warehouse.name
    shutil.copyfile(snapshot_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        ags = con.execute("SELECT min(ags) FROM municipalities WHERE in_reference_group AND NOT is_pilot").fetchone()[0]
        con.execute("DELETE FROM municipality_geometries WHERE ags = ?", [ags])
    counts = export_planner_views(copy, tmp_path / "out")
    towns = geopandas.read_file(tmp_path / "out" / LATEST / GEOPACKAGE).set_index("ags")
    assert len(towns) == counts[GEOPACKAGE] and ags in towns.index
    assert towns.loc[ags].geometry is None or towns.loc[ags].geometry.is_empty
    assert towns.drop(index=ags).geometry.notna().all()


def test_unchanged_views_are_linked_not_rewritten_and_a_changed_one_is_rewritten(snapshot_warehouse, tmp_path):
    copy = tmp_path / snapshot_warehouse.name
    shutil.copyfile(snapshot_warehouse, copy)
    out_dir = tmp_path / "out"
    first_counts = export_planner_views(copy, out_dir)
    first = (out_dir / LATEST).resolve()
    with duckdb.connect(str(copy)) as con:  # one town's name changes: every view showing names changes
        con.execute("UPDATE municipalities SET name = name || ' (neu)' WHERE ags = '01053090'")
    second_counts = export_planner_views(copy, out_dir)
    second = (out_dir / LATEST).resolve()
    assert second != first and second_counts == first_counts
    inode = {name: ((first / name).stat().st_ino, (second / name).stat().st_ino)
             for name in first_counts if name != GEOPACKAGE}
    # source_attribution shows no town names: its files are the same files (hard links), not rewritten
    assert all(a == b for name, (a, b) in inode.items() if name.startswith("source_attribution."))
    for view in ("town_profile", "latest_ranking", "indicator_history"):
        assert all(inode[f"{view}.{suffix}"][0] != inode[f"{view}.{suffix}"][1] for suffix in ("csv", "xlsx", "parquet"))
    csv = read_german_csv(second / "latest_ranking.csv").set_index("AGS")
    assert csv.loc["01053090", "Gemeinde"].startswith("Mölln") and csv.loc["01053090", "Gemeinde"].endswith(" (neu)")
    manifest = json.loads((second / exports.MANIFEST).read_text(encoding="utf-8"))
    assert manifest["latest_ranking.csv"]["rows"] == first_counts["latest_ranking.csv"]


def test_the_check_verifies_the_manifest_and_names_each_broken_file(exported, snapshot_warehouse, tmp_path):
    """every_view_complete's verification: complete as written; a changed, a missing file and a wrong
    row count are each named (without reading the files' rows again)."""
    out_dir, _ = exported
    copy = tmp_path / "export"
    shutil.copytree(out_dir / LATEST, copy)
    assert exports.verify_export(snapshot_warehouse, copy) == []
    manifest = json.loads((copy / exports.MANIFEST).read_text(encoding="utf-8"))
    assert {"bytes", "sha256", "published_at"} <= set(manifest["latest_ranking.csv"])
    with (copy / "latest_ranking.csv").open("a", encoding="utf-8") as handle:
        handle.write("01053090;extra\n")
    (copy / "peer_comparison.parquet").unlink()
    manifest["town_index_history.xlsx"]["rows"] += 1
    (copy / exports.MANIFEST).write_text(json.dumps(manifest), encoding="utf-8")
    problems = exports.verify_export(snapshot_warehouse, copy)
    assert len(problems) == 3, problems
    assert any("latest_ranking.csv: changed since it was written" in p for p in problems)
    assert "missing peer_comparison.parquet" in problems
    assert any(p.startswith("town_index_history.xlsx: ") and "rows, expected" in p for p in problems)


def test_two_geopackages_of_one_publish_are_the_same_bytes(snapshot_warehouse, tmp_path):
    """The GeoPackage's change time is the publish's, not the moment of writing (GDAL's OGR_CURRENT_DATE), so
    two exports of the same publish give the same file; GDAL's own setting is restored afterwards."""
    import sqlite3
    import time

    import pyogrio

    files = []
    with duckdb.connect(str(snapshot_warehouse), read_only=True) as con:
        published_at = exports.latest_publish(con)[0]
        for n in range(2):
            files.append(tmp_path / f"{n}.gpkg")
            exports.write_geopackage(con, files[-1], published_at)
            time.sleep(1.1)  # GDAL's own change time has second resolution: a second write would differ
    assert files[0].read_bytes() == files[1].read_bytes()
    assert pyogrio.get_gdal_config_option("OGR_CURRENT_DATE") is None
    assert pyogrio.read_info(files[0], layer="municipalities")["features"] > 0
    with sqlite3.connect(files[0]) as lite:  # a GeoPackage is SQLite: the change time GDAL wrote is the publish's
        last_change = lite.execute("SELECT last_change FROM gpkg_contents WHERE table_name = 'municipalities'").fetchone()[0]
    assert last_change.startswith(published_at[:19])


def test_peer_gaps_are_written_with_the_decimals_of_a_score(exported, warehouse):
    """peer_comparison.csv had "Abstand Pendelpotenzial" = -7,1054273576e-15 on the full data (two equal pillar
    scores): every gap has the scores' published decimals in the German CSV, and says its sign in its header."""
    out_dir, _ = exported
    digits = load_catalogue().score_decimals
    raw = pd.read_csv(out_dir / LATEST / "peer_comparison.csv", sep=";", dtype=str, keep_default_na=False)
    columns = warehouse.execute("SELECT * FROM peer_comparison LIMIT 0").fetch_df().columns
    gaps = [c for c in columns if c.startswith("gap_")]
    written = []
    for column in gaps:
        header = GERMAN_HEADERS[column]
        assert header.endswith("(Vergleichsgemeinde − Gemeinde)"), header
        texts = [t for t in raw[header] if t]  # a pillar without data in the snapshot (local work) has no gaps
        assert all(re.fullmatch(rf"-?\d+,\d{{{digits}}}", t) for t in texts), (header, texts[:5])
        assert "-0,0" not in texts
        written += [column] if texts else []
    assert "gap_score" in written and len(written) > 2, written


def test_geopackage_names_its_sources_and_licences(exported):
    """municipalities.gpkg ships BKG geometry (dl-de/by-2-0) and scores derived from every source, but had no
    source or licence notice: its layer description (gpkg_contents.description) carries the lines of the
    workbooks' sheet "Quellen und Lizenzen", with the BKG attribution and its year."""
    import sqlite3

    import openpyxl

    out_dir, _ = exported
    with sqlite3.connect(out_dir / LATEST / GEOPACKAGE) as lite:
        description = lite.execute(
            "SELECT description FROM gpkg_contents WHERE table_name = 'municipalities'").fetchone()[0]
    assert re.search(r"© GeoBasis-DE / BKG \((19|20)\d{2}\), Daten verändert", description), description
    sheet = openpyxl.load_workbook(out_dir / LATEST / "latest_ranking.xlsx", read_only=True)["Quellen und Lizenzen"]
    rows = list(sheet.iter_rows(values_only=True))
    sources = rows[rows.index(("Quelle", "Herausgeber", "Lizenz", "Lizenz-URL", "Quellenvermerk")) + 1:]
    assert sources
    for row in sources:  # every source of the sheet, with its licence and attribution
        assert "; ".join(value or "" for value in row[:5]) in description.splitlines(), row


def test_geopackage_says_why_a_town_has_no_score_in_the_published_period(snapshot_warehouse, tmp_path):
    """A town without a score in latest_ranking's period had NULL missing_pillars in the GeoPackage (Tangstedt,
    Nieste on the full data): the row of the score shown (another period, or none) misses no pillar. The reason
    comes from the town's latest_ranking row now, with that period (ranking_period). A town scored only before it
    (Böhlen on the full data) has the published period's row, without a score, as the layer description says: it
    had its 2018 score (two reviews of 5 December)."""
    copy = tmp_path / snapshot_warehouse.name
    shutil.copyfile(snapshot_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        period = con.execute("SELECT max(period) FROM latest_ranking").fetchone()[0]
        towns = [row[0] for row in con.execute(
            "SELECT ags FROM latest_ranking WHERE score IS NOT NULL AND ags IN (SELECT ags FROM town_index_history "
            "WHERE score IS NOT NULL AND period < ?) AND ags NOT IN ? ORDER BY ags LIMIT 3",
            [period, list(PILOTS)]).fetchall()]
        assert len(towns) == 3
        earlier, never, scored = towns
        unscored = "score = NULL, rank = NULL, score_p05 = NULL, score_p95 = NULL"
        # earlier: scored before the published period, not in it (Mirow on the full data); never: no score at all
        con.execute(f"UPDATE readiness_index_history SET {unscored}, missing_pillars = 'demographic_dynamics' "
                    "WHERE ags = ? AND period = ? AND valid_to IS NULL", [earlier, period])
        con.execute(f"UPDATE readiness_index_history SET {unscored}, missing_pillars = "
                    "'commuting_potential, accessibility' WHERE ags = ? AND valid_to IS NULL", [never])
        published_at = exports.latest_publish(con)[0]
        exports.write_geopackage(con, tmp_path / GEOPACKAGE, published_at)
    frame = geopandas.read_file(tmp_path / GEOPACKAGE).set_index("ags")
    assert frame.loc[earlier, "period"] == period and pd.isna(frame.loc[earlier, "score"])  # not its earlier score
    assert frame.loc[earlier, "missing_pillars"] == "demographic_dynamics"
    assert pd.isna(frame.loc[never, "score"])
    assert frame.loc[never, "missing_pillars"] == "commuting_potential, accessibility"
    assert frame.loc[scored, "missing_pillars"] is None
    assert (frame.loc[[earlier, never, scored], "ranking_period"] == period).all()


def test_geopackage_says_which_towns_territory_changed_after_their_boundaries(snapshot_warehouse, tmp_path):
    """Allendorf (Eder) kept its key through a merger of 2023 and was drawn at 40.8 km² of its 2021 boundary beside a
    registered 77.0 km², unmarked (audit of 6 December 2026). A merger into the town or a partial transfer on either
    side between registers of the boundaries' date or later marks it; a recode, a rejected step or a step from an
    earlier register (it may predate the boundaries) does not."""
    copy = tmp_path / snapshot_warehouse.name
    shutil.copyfile(snapshot_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        towns = [row[0] for row in con.execute(
            "SELECT m.ags FROM municipalities m JOIN municipality_geometries g USING (ags) WHERE m.in_reference_group "
            "ORDER BY m.ags LIMIT 6").fetchall()]
        day = con.execute("SELECT max(territorial_date) FROM municipality_geometries").fetchone()[0]
        step = ("INSERT INTO territorial_changes (from_vintage, to_vintage, from_date, to_date, from_ags, to_ags, kind, "
                "evidence, basis, plausibility) VALUES ('a', 'b', ?, ?, ?, ?, ?, 'test', 'test', ?)")
        later, earlier = day + dt.timedelta(days=365), day - dt.timedelta(days=3 * 365)
        con.executemany(step, [
            (day, later, "99999001", towns[0], "merger", "official"),            # merged into towns[0]: marked
            (day, later, towns[1], "99999002", "partial_transfer", "official"),  # towns[1] gave land: marked
            (earlier, later, "99999003", towns[2], "merger", "ok"),             # may predate the boundaries
            (day, later, "99999004", towns[3], "merger", "population_jump"),    # rejected
            (day, later, "99999005", towns[4], "recode", "official"),           # another key, the same land
        ])
        exports.write_geopackage(con, tmp_path / GEOPACKAGE, exports.latest_publish(con)[0])
    frame = geopandas.read_file(tmp_path / GEOPACKAGE).set_index("ags")
    assert frame.loc[towns, "territory_changed_since_geometry"].tolist() == [True, True, False, False, False, False]
    assert frame["territory_changed_since_geometry"].sum() == 2  # the snapshot's own steps are all older


def test_geopackage_draws_a_gemeinde_of_today_from_the_outlines_merged_into_it(snapshot_warehouse, tmp_path):
    """Berga-Wünschendorf, Eisenach and three more Gemeinden formed after the boundaries' date had no geometry, and
    the Gemeinden they were formed from stood beside their neighbours as if they still existed (sweep of 7 December
    2026). A Gemeinde that absorbed a whole neighbour since is drawn with it (staging.boundaries), unmarked, and
    says so; the absorbed key is no row of its own."""
    copy = tmp_path / snapshot_warehouse.name
    shutil.copyfile(snapshot_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        town, absorbed = con.execute(
            "SELECT m.ags, min(o.ags) FROM municipalities m JOIN municipality_geometries g USING (ags) "
            "JOIN municipality_geometries o ON o.ags > m.ags AND o.ags LIKE left(m.ags, 5) || '%' "
            "WHERE m.in_reference_group GROUP BY m.ags ORDER BY m.ags LIMIT 1").fetchone()
        day = con.execute("SELECT max(territorial_date) FROM municipality_geometries").fetchone()[0]
        before = geopandas.GeoSeries.from_wkb([bytes(con.execute(
            "SELECT geometry_wkb FROM municipality_geometries WHERE ags = ?", [key]).fetchone()[0])
            for key in (town, absorbed)], crs="EPSG:4326").to_crs("EPSG:3035").area.sum()
        con.execute("DELETE FROM municipalities WHERE ags = ?", [absorbed])  # no Gemeinde of today
        con.execute("INSERT INTO territorial_changes (from_vintage, to_vintage, from_date, to_date, from_ags, to_ags, "
                    "kind, evidence, basis, plausibility) VALUES ('a', 'b', ?, ?, ?, ?, 'merger', 'test', 'test', "
                    "'official')", [day, day + dt.timedelta(days=365), absorbed, town])
        exports.write_geopackage(con, tmp_path / GEOPACKAGE, exports.latest_publish(con)[0])
        drawn = exports.latest_geometries(con)  # the pages' maps: the absorbed key is no neighbour of its own
        assert town in set(drawn["ags"]) and absorbed not in set(drawn["ags"])
    frame = geopandas.read_file(tmp_path / GEOPACKAGE).set_index("ags")
    assert frame.at[town, "geometry_assembled_from"] == f"{town},{absorbed}"
    assert not frame.at[town, "territory_changed_since_geometry"]
    assert frame.loc[[town]].to_crs("EPSG:3035").area.iloc[0] == pytest.approx(before, rel=1e-6)
    assert frame["geometry_assembled_from"].notna().sum() == 1  # the snapshot's own steps are all older


def test_indicator_history_workbook_says_its_year_is_mostly_carried_forward(exported, snapshot_warehouse, tmp_path,
                                                                            monkeypatch):
    """On the Germany-wide build indicator_history.xlsx holds only 2023, 82 % carried forward, while the ranking
    leads with 2021; the snapshot is alike (its 2023 is mostly carried forward, latest_ranking's period is 2021).
    With the sheet limit lowered, the workbook's note says both."""
    import openpyxl

    monkeypatch.setattr(exports, "XLSX_ROW_LIMIT", 1_000)
    with duckdb.connect(str(snapshot_warehouse), read_only=True) as con:
        latest, total, carried = con.execute(
            "SELECT period, count(*), count(*) FILTER (imputed) FROM indicator_history "
            "WHERE period = (SELECT max(period) FROM indicator_history) GROUP BY period").fetchone()
        ranking = con.execute("SELECT max(period) FROM latest_ranking").fetchone()[0]
        assert carried * 2 > total and ranking < latest, "the snapshot no longer has a mostly carried-forward year"
        rows = exports.write_view_xlsx(con, "indicator_history", tmp_path / "h.xlsx", exports.sources_rows(con))
    assert rows == total
    note = openpyxl.load_workbook(tmp_path / "h.xlsx")["Quellen und Lizenzen"]["A2"].value
    assert f"nur das Jahr {latest}" in note
    assert f"{carried:,} der {total:,} Zeilen des Jahres {latest}".replace(",", ".") in note
    assert f"({round(100 * carried / total)} %) sind aus früheren Ständen fortgeschrieben" in note
    assert f"Die Rangliste (latest_ranking) führt {ranking} als aktuelles Jahr" in note
