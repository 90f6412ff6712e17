"""The coworking-gap ranking page (reports/coworking_gap.py ranking_context, coworking_luecke.html.j2): towns of one
rank said to share it and in German name order, Kreis names told apart, a space inside the town worded as on the
town page, and how many of the group have no estimate (review of 6 December 2026)."""

from __future__ import annotations

import duckdb
import pandas as pd

from reports.build import page_environment
from reports.coworking_gap import ranking_context, ranking_table

ROWS = [  # rank, name, Kreis, AGS, demand, nearest space (km)
    (1, "Zell", "München", "09184001", 60.1, 0.0),
    (1, "Öhringen", "Hohenlohekreis", "08126001", 60.1, 3.2),
    (1, "Ottobrunn", "München", "09184002", 60.1, None),
    (4, "Aach", "Konstanz", "08335001", 12.0, 1.5),
]


def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("""CREATE TABLE coworking_gap_ranking AS SELECT * FROM (VALUES {}) t(gap_rank, name, kreis_name, ags,
                   desk_demand, nearest_space_km)""".format(", ".join(
        f"({r}, '{n}', '{k}', '{a}', {d}, {'NULL' if s is None else s})" for r, n, k, a, d, s in ROWS)))
    con.execute("""ALTER TABLE coworking_gap_ranking ADD COLUMN land VARCHAR DEFAULT 'BY';
                   ALTER TABLE coworking_gap_ranking ADD COLUMN period INTEGER DEFAULT 2023;
                   ALTER TABLE coworking_gap_ranking ADD COLUMN long_distance_out_commuters DOUBLE DEFAULT 500;
                   ALTER TABLE coworking_gap_ranking ADD COLUMN basis VARCHAR DEFAULT 'inkar_estimate';
                   ALTER TABLE coworking_gap_ranking ADD COLUMN spaces_within_reach DOUBLE DEFAULT 1;
                   ALTER TABLE coworking_gap_ranking ADD COLUMN coworking_source_id VARCHAR DEFAULT 'osm_coworking';
                   ALTER TABLE coworking_gap_ranking ADD COLUMN coworking_reference_date DATE DEFAULT DATE '2023-11-20';
                   ALTER TABLE coworking_gap_ranking ADD COLUMN method_version VARCHAR DEFAULT 'm'""")
    con.execute("""CREATE TABLE coworking_gap AS SELECT ags, period, method_version, 2019 AS long_distance_share_year,
                   NULL::INTEGER AS long_distance_flows_year FROM coworking_gap_ranking""")
    con.execute("""CREATE TABLE municipalities AS SELECT ags, substr(ags, 1, 5) AS kreis_ags, true AS in_reference_group
                   FROM coworking_gap_ranking UNION ALL
                   SELECT range::VARCHAR, NULL, range < 46 FROM range(56)""")  # 50 of the group, 4 of them ranked
    con.execute("""CREATE TABLE source_releases AS SELECT * FROM (VALUES ('inkar', '2022-12'),
                   ('osm_coworking', '2023-11-20'), ('breitbandatlas', '2021-mitte')) t(source_id, vintage)""")
    return con


def test_the_ranking_says_shared_ranks_and_tells_kreise_apart():
    cells = pd.Series({"09184": "München (Landkreis)", "08126": "Hohenlohekreis", "08335": "Konstanz"})
    context = ranking_context(warehouse(), set(), cells)
    assert [r["name"] for r in context["rows"]] == ["Öhringen", "Ottobrunn", "Zell", "Aach"]  # Ö as O, not after Z
    assert [r["tied_towns"] for r in context["rows"]] == [3, 3, 3, 1]
    assert context["rows"][1]["kreis_name"] == "München (Landkreis)" and context["group_size"] == 50
    assert [r["Rang geteilt mit (weitere Gemeinden)"] for r in ranking_table(context).rows] == [2, 2, 2, 0]
    html = page_environment().get_template("coworking_luecke.html.j2").render(
        **context, downloads={}, generated="", method_version="m", latest_period=2021, releases=[], pillar_ids=[],
        datenstand_rows=[])
    assert html.count("gleichauf mit 2 weiteren Gemeinden") == 3
    assert "4 von 50 Kleinstädten der Vergleichsgruppe (für die übrigen lässt sich kein Bedarf schätzen)" in html
    assert "in der Gemeinde" in html and "0,0 km" not in html  # Zell's space lies inside it, as its page says


def test_the_ranking_credits_only_the_sources_loaded():
    """INKAR and OpenStreetMap loaded: credited; the Pendleratlas, the BA and the towns' lists named as not loaded
    (the page credited all of them whatever was loaded)."""
    context = ranking_context(warehouse(), set())
    html = page_environment().get_template("coworking_luecke.html.j2").render(
        **context, downloads={}, generated="", method_version="m", latest_period=2021, releases=[], pillar_ids=[],
        datenstand_rows=[])
    note = html.split('id="gap-sources">')[1].split("</p>")[0]
    assert "Quellen der Daten: © BBSR Bonn" in note and "Coworking-Orte aus OpenStreetMap (© OpenStreetMap" in note
    assert "Pendleratlas:" not in note and "Statistik der Bundesagentur" not in note and "eigenen Listen" not in note
    assert ("nicht geladen: Pendleratlas (Statistische Ämter), Pendlerstatistik der BA, eigene Listen der Städte."
            in " ".join(note.split()))


def test_a_ranking_without_estimates_credits_no_source():
    """Germany-wide no town had employed residents, so the ranking was empty, yet its note credited the BA's
    employees at residence (a BA release was loaded: its Kreis flows) beside "keine Zahl der Erwerbstätigen am
    Wohnort" (page audit of 7 December 2026). Without a figure shown, no source is credited; the ones not loaded
    are still named, and the note names no code file."""
    con = warehouse()
    con.execute("DELETE FROM coworking_gap_ranking")
    con.execute("INSERT INTO source_releases VALUES ('ba_commuting', '2016')")
    con.execute("CREATE TABLE current_method AS SELECT 'm' AS method_version")
    context = ranking_context(con, set())
    html = page_environment().get_template("coworking_luecke.html.j2").render(
        **context, downloads={}, generated="", method_version="m", latest_period=2021, releases=[], pillar_ids=[],
        datenstand_rows=[])
    note = " ".join(html.split('id="gap-sources">')[1].split("</p>")[0].split())
    assert "Für keine Kleinstadt ließ sich ein Bedarf schätzen" in html
    assert "Quellen der Daten" not in note and "Bundesagentur" not in note and "BBSR" not in note
    assert "nicht geladen: Pendleratlas (Statistische Ämter), eigene Listen der Städte." in note
    assert ".yaml" not in html and "coworking_gap" not in note


def gap_section(**gap) -> str:
    """A town's coworking-gap section (coworking_gap.html.j2) for a gap row with ``gap``'s fields set."""
    row = dict.fromkeys(["count_label_de", "long_distance_out_commuters", "spaces_within_reach", "nearest_space_km",
                         "desk_demand", "long_distance_share", "long_distance_share_year", "share_level_de",
                         "left_out_de", "basis_de", "no_count_de", "coworking_data_de"])
    row.update(no_coworking_de="keine Coworking-Daten", share_decimals=2, **gap)
    context = {"gap": row, "reach_km": 15, "long_distance_km": 50, "parameters": [], "map": None, "destinations": [],
               "spaces": [], "surveys": []}
    html = page_environment().get_template("coworking_gap.html.j2").render(cowork_gap=context)
    return " ".join(html.split())


def test_a_missing_long_distance_share_says_why():
    """Tangstedt (01062076): INKAR lists it without values; the section read "… ≥ 50 km (INKAR): –." without a word
    why, while Dingelstädt's dash is explained by the sentence after it (page audit of 7 December 2026)."""
    assert "≥ 50 km (INKAR): – (kein verwendbarer INKAR-Wert für die Gemeinde)." in gap_section()
    # a value left out across a change of territory (the row's territorial_change: the share's, or the employed
    # residents' or the flows' where the share has none) is explained by the sentence after it
    left_out = gap_section(left_out_de="Zahlen aus der Zeit vor einer Gebietsänderung sind nicht verwendet")
    assert ("(INKAR): – (kein verwendbarer INKAR-Wert für die Gemeinde). Zahlen aus der Zeit vor einer "
            "Gebietsänderung sind nicht verwendet.") in left_out
    assert "(INKAR 2019): 17,75 %." in gap_section(long_distance_share=17.75, long_distance_share_year=2019)
