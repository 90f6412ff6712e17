"""The tables views.sql computes once per publish hold what their defining queries give on the published data."""

from __future__ import annotations

import pytest

LATEST = """SELECT * EXCLUDE (valid_from) FROM indicator_values
            QUALIFY row_number() OVER (PARTITION BY ags, indicator_id ORDER BY period DESC) = 1"""

DATA_DATES = """
SELECT v.ags, v.period, c.pillar, v.source_id, min(v.reference_date) AS oldest_reference_date,
       max(v.reference_date) AS newest_reference_date, count(*) AS inputs,
       count(*) FILTER (v.imputed) AS carried_forward
FROM indicator_values v JOIN indicator_catalogue c USING (indicator_id)
WHERE c.pillar <> 'context' AND v.excluded_reason IS NULL  -- what the score rests on, not what it excludes
  AND (v.ags, v.period) IN (  -- of the periods with an index row (not the years 1987-2017 no index has)
      SELECT (ags, period) FROM readiness_index WHERE method_version = (SELECT method_version FROM current_method))
  AND (v.ags, v.period, c.pillar) NOT IN (  -- nor a pillar shown beside the score but not in it
      SELECT (ags, period, trim(unnest(string_split(uncompared_pillars, ','))))
      FROM readiness_index WHERE method_version = (SELECT method_version FROM current_method))
GROUP BY v.ags, v.period, c.pillar, v.source_id"""

# the index row's own input dates (indicators/index.py input_dates), to which the Datenstand must add up
INDEX_DATES = """
SELECT r.ags, r.period, CAST(r.oldest_input_date AS DATE), CAST(r.newest_input_date AS DATE)
FROM readiness_index r WHERE r.method_version = (SELECT method_version FROM current_method)
  AND r.oldest_input_date IS NOT NULL"""
DATES_BY_ROW = """
SELECT ags, period, min(oldest_reference_date), max(newest_reference_date)
FROM index_data_dates WHERE (ags, period) IN (SELECT (ags, period) FROM readiness_index
                                              WHERE oldest_input_date IS NOT NULL)
GROUP BY ags, period"""


def _rows(con, sql: str) -> list[tuple]:
    return sorted(con.execute(sql).fetchall(), key=repr)


def test_indicator_values_latest_is_the_newest_period_per_town_and_indicator(warehouse):
    stored = _rows(warehouse, "SELECT * EXCLUDE (period_provisional, ranking_period, in_published_score) "
                              "FROM indicator_values_latest")
    assert len(stored) > 1000 and stored == _rows(warehouse, LATEST)
    keys = warehouse.execute("SELECT count(*), count(DISTINCT (ags, indicator_id)) FROM indicator_values_latest").fetchone()
    assert keys[0] == keys[1]


def test_index_data_dates_equals_the_aggregate_over_indicator_values(warehouse):
    stored = _rows(warehouse, "SELECT * FROM index_data_dates")
    assert len(stored) > 1000 and stored == _rows(warehouse, DATA_DATES)
    assert [r[0] for r in warehouse.execute("DESCRIBE index_data_dates").fetchall()] == [
        "ags", "period", "pillar", "source_id", "oldest_reference_date", "newest_reference_date", "inputs",
        "carried_forward"]


def test_the_data_dates_leave_out_the_values_the_index_excludes_on_the_pages_too(warehouse):
    """The Datenstand names what a score rests on: an excluded value (a population change across an area change)
    named its date beside a town without a score. The view and the pages' query (reports/data.py) agree."""
    from reports.data import INPUT_DATES

    excluded = warehouse.execute("""SELECT count(*) FROM indicator_values v JOIN indicator_catalogue c USING (indicator_id)
        WHERE c.pillar <> 'context' AND v.excluded_reason IS NOT NULL""").fetchone()[0]
    assert excluded > 0  # the snapshot has such values: the filter is tested, not vacuous
    used = warehouse.execute("""SELECT count(*) FROM indicator_values v JOIN indicator_catalogue c USING (indicator_id)
        WHERE c.pillar <> 'context' AND v.excluded_reason IS NULL
          AND (v.ags, v.period) IN (SELECT (ags, period) FROM readiness_index)""").fetchone()[0]
    assert warehouse.execute("SELECT sum(inputs) FROM index_data_dates").fetchone()[0] == used
    pages = _rows(warehouse, f"SELECT ags, period, pillar, source_id, reference_date, carried_forward, inputs "
                             f"FROM ({INPUT_DATES})")
    view = _rows(warehouse, "SELECT ags, period, pillar, source_id, oldest_reference_date, carried_forward, inputs "
                            "FROM index_data_dates")
    assert pages == view


def test_the_latest_ranking_is_in_rank_order_and_says_why_a_town_has_no_score(warehouse):
    rows = warehouse.execute("SELECT rank, score, missing_pillars FROM latest_ranking").fetchall()
    ranks = [r[0] for r in rows]
    ranked = [r for r in ranks if r is not None]
    assert ranked == sorted(ranked) and ranks == ranked + [None] * (len(ranks) - len(ranked))  # unscored last
    assert all(missing for rank, score, missing in rows if score is None)


def test_attributions_cite_the_year_of_the_release_they_go_with(published_copy):
    """source_releases stores each release's own attribution year; source_attribution keeps one row per source
    (the newest release's), and town_profile names the attribution of the row's own release, not the newest's."""
    import duckdb

    with duckdb.connect(str(published_copy)) as con:
        stored = dict(con.execute("SELECT DISTINCT source_id, attribution FROM source_releases "
                                  "WHERE source_id IN ('inkar', 'bkg_vg')").fetchall())
        assert stored == {"inkar": "© BBSR Bonn 2022, INKAR (as re-packaged by RegioHub/inkr)",
                          "bkg_vg": "© GeoBasis-DE / BKG (2021), Daten verändert"}
        rows = con.execute("SELECT count(*) FROM town_profile").fetchone()[0]
        # a newer INKAR edition lands beside the 2022 one (the 2022 rows stay the latest values of the towns)
        con.execute("""INSERT INTO source_releases_history SELECT * REPLACE ('2024-12' AS vintage,
                       replace(attribution, '2022', '2024') AS attribution) FROM source_releases_history
                       WHERE source_id = 'inkar' AND valid_to IS NULL""")
        assert con.execute("SELECT count(*), any_value(attribution) FROM source_attribution "
                           "WHERE source_id = 'inkar'").fetchone() == (
            1, "© BBSR Bonn 2024, INKAR (as re-packaged by RegioHub/inkr)")
        assert con.execute("SELECT count(*) FROM town_profile").fetchone()[0] == rows  # no row doubled
        assert con.execute("SELECT DISTINCT attribution FROM town_profile WHERE vintage = '2022-12'").fetchall() == [
            ("© BBSR Bonn 2022, INKAR (as re-packaged by RegioHub/inkr)",)]
        # a corrected file of the 2022 edition: source_releases keeps its vintage and counts the revision, the data
        # name it '2022-12-rev2'; its rows cited the newest edition's attribution (2024), not their own
        con.execute("""INSERT INTO source_releases_history SELECT * REPLACE (2 AS revision,
                       replace(attribution, '2022', '2022, korrigiert') AS attribution) FROM source_releases_history
                       WHERE source_id = 'inkar' AND vintage = '2022-12' AND valid_to IS NULL""")
        con.execute("UPDATE indicator_values_latest SET vintage = '2022-12-rev2' WHERE vintage = '2022-12'")
        assert con.execute("SELECT DISTINCT attribution FROM town_profile WHERE vintage = '2022-12-rev2'").fetchall() == [
            ("© BBSR Bonn 2022, korrigiert, INKAR (as re-packaged by RegioHub/inkr)",)]
        assert con.execute("SELECT count(*) FROM town_profile").fetchone()[0] == rows


@pytest.mark.parametrize("built", ["warehouse", "example_warehouse"])
def test_the_data_dates_of_an_index_row_are_the_dates_of_its_score(built, request):
    """The Datenstand beside a score names the dates of what the score rests on: the index row's oldest and newest
    input date. The pages' data dates counted a pillar shown beside the score but not in it (Mölln's own coworking
    list of 20.11.2023, in the example delivery, dated its 2023 score while the index row said otherwise)."""
    import duckdb

    fixture = request.getfixturevalue(built)
    con = fixture if built == "warehouse" else duckdb.connect(str(fixture), read_only=True)
    stored = _rows(con, "SELECT * FROM index_data_dates")
    assert len(stored) > 1000 and stored == _rows(con, DATA_DATES)
    index_dates = _rows(con, INDEX_DATES)
    assert len(index_dates) > 100 and _rows(con, DATES_BY_ROW) == index_dates
    if built == "example_warehouse":  # the case that differed: the pillar is in the town's row, not in its score
        assert con.execute("""SELECT count(*) FROM index_data_dates WHERE ags = '01053090' AND period = 2023
                              AND pillar = 'local_work_infrastructure'""").fetchone()[0] == 0
        assert con.execute("""SELECT uncompared_pillars FROM readiness_index WHERE ags = '01053090'
                              AND period = 2023""").fetchone()[0] == "local_work_infrastructure"


def test_the_latest_values_say_whether_the_published_score_rests_on_them(warehouse):
    """town_profile showed each indicator's newest value, of a provisional year or of 2018, beside a ranking of
    2021 without a word (review of 5 December): the three columns against latest_ranking's period and the index's
    provisional periods, read independently. ``in_published_score``: the ranking period's input of the indicator
    (the view score_inputs) is this very value (source, release, Stichtag, value), also carried into a later year,
    and the row does not leave it out (excluded_reason); only a row of the ranking period could be true before, and
    on the Germany-wide build none was (audit of 7 December 2026)."""
    ranking = warehouse.execute("SELECT DISTINCT period FROM latest_ranking").fetchall()
    assert len(ranking) == 1
    provisional = dict(warehouse.execute("SELECT period, bool_or(period_provisional) FROM town_index_history "
                                         "GROUP BY period").fetchall())
    rows = warehouse.execute("SELECT period, excluded_reason, period_provisional, ranking_period, in_published_score, "
                             "ags, indicator_id, source_id, vintage, reference_date, value FROM town_profile").fetchall()
    # the values the published score rests on, from the history of the ranking period and score_inputs
    inputs = {(a, i): (s, v, d, x) for a, i, s, v, d, x in warehouse.execute(
        """SELECT h.ags, h.indicator_id, h.source_id, h.vintage, h.reference_date, h.value
           FROM indicator_history h JOIN score_inputs s USING (ags, period, indicator_id)
           WHERE h.period = ?""", [ranking[0][0]]).fetchall()}
    assert {r[3] for r in rows} == {ranking[0][0]}
    assert all(r[4] == (r[1] is None and inputs.get((r[5], r[6])) == (r[7], r[8], r[9], r[10])) for r in rows)
    assert all(r[2] == provisional.get(r[0]) for r in rows)
    # not vacuous: values of the ranking period and of other periods occur, and values carried from the ranking
    # period into a later one are marked while newer values of a later period are not
    assert any(r[0] == ranking[0][0] for r in rows) and any(r[0] != ranking[0][0] for r in rows)
    assert any(r[0] == ranking[0][0] and r[1] is not None for r in rows)  # an excluded value of the period: not in it
    assert any(r[4] and r[0] > ranking[0][0] for r in rows)
    assert any(not r[4] and r[0] > ranking[0][0] and (r[5], r[6]) in inputs for r in rows)


def test_a_latest_value_of_the_ranking_period_is_in_the_published_score(snapshot_warehouse, tmp_path):
    """The positive case the test above cannot meet on the snapshot (every town's latest value lies in a later,
    provisional period; review of 5 December 2026): in a copy without Mölln's values after the ranking period, its
    latest values are those of the ranking period, and those the index scores say so."""
    import shutil

    import duckdb

    from warehouse.paths import VIEWS_SQL

    copy = tmp_path / snapshot_warehouse.name
    shutil.copy(snapshot_warehouse, copy)
    # the statement of views.sql that computes the latest values at each publish, run again on the shortened history
    sql = VIEWS_SQL.read_text(encoding="utf-8")
    start = sql.index("INSERT INTO indicator_values_latest")
    latest = sql[start:sql.index(";", start)]
    with duckdb.connect(str(copy)) as con:
        [(period,)] = con.execute("SELECT DISTINCT period FROM latest_ranking").fetchall()
        con.execute("DELETE FROM indicator_values_history WHERE ags = '01053090' AND period > ?", [period])
        con.execute("DELETE FROM indicator_values_latest")
        con.execute(latest)
        rows = con.execute("""SELECT indicator_id, period, excluded_reason, in_published_score FROM town_profile
                              WHERE ags = '01053090'""").fetchall()
    assert rows and all(r[1] <= period for r in rows)
    assert any(r[3] for r in rows)  # the scored values of the ranking period
    assert all(r[3] == (r[1] == period and r[2] is None) for r in rows)
    # a pillar the index row shows beside its score without counting it (uncompared_pillars): its values are not in
    # the published score either (they were marked so; index_data_dates left them out)
    with duckdb.connect(str(copy)) as con:
        con.execute("""UPDATE readiness_index_history SET uncompared_pillars = 'digital_infrastructure'
                       WHERE ags = '01053090' AND period = ? AND valid_to IS NULL""", [period])
        con.execute("DELETE FROM indicator_values_latest")
        con.execute(latest)
        marked = dict(con.execute("""SELECT indicator_id, in_published_score FROM town_profile
                                     WHERE ags = '01053090' AND pillar = 'digital_infrastructure'""").fetchall())
    assert marked and not any(marked.values())
    # a year without a score (a pillar missing): no value is the input of a published score. The latest values' own
    # copy of the rule left the score out (review of 6 December 2026); the view score_inputs holds it once.
    with duckdb.connect(str(copy)) as con:
        con.execute("""UPDATE readiness_index_history SET score = NULL, uncompared_pillars = NULL
                       WHERE ags = '01053090' AND period = ? AND valid_to IS NULL""", [period])
        con.execute("DELETE FROM indicator_values_latest")
        con.execute(latest)
        marked = dict(con.execute("""SELECT indicator_id, in_published_score FROM town_profile
                                     WHERE ags = '01053090' AND period = ?""", [period]).fetchall())
    assert marked and not any(marked.values())


def test_score_inputs_are_the_values_the_decomposition_rests_on(warehouse):
    """The view score_inputs (SQL: town_profile and `readiness profil`) and the score decomposition (pandas,
    indicators.index.in_score) name the same values for every scored town and period the decomposition covers. On the
    Germany-wide build of 6 December 2026 (ra90) the two sets were equal too (320,626 values)."""
    current = "(SELECT method_version FROM current_method)"
    decomposed = set(warehouse.execute(f"""SELECT ags, period_to, indicator_id FROM score_contributions
                                          WHERE value_to IS NOT NULL AND method_version = {current}""").fetchall())
    towns = {(ags, period) for ags, period, _ in decomposed}
    inputs = {row for row in warehouse.execute("SELECT ags, period, indicator_id FROM score_inputs").fetchall()
              if row[:2] in towns}
    assert len(towns) > 100 and inputs == decomposed


def test_a_row_without_a_score_has_no_share_of_a_score_in_the_planner_views(warehouse):
    """imputed_share is the share of a score's weight: the exports gave Nieste's unscored years 0,333 to 1,0 beside an
    empty Indexwert (review of 6 December 2026; 22,509 rows Germany-wide). The planner views leave it empty there, as
    the pages do; readiness_index keeps what the index step computed."""
    kept = warehouse.execute("SELECT count(*) FROM readiness_index WHERE score IS NULL AND imputed_share IS NOT NULL "
                             "AND method_version = (SELECT method_version FROM current_method)").fetchone()[0]
    assert kept > 0  # not vacuous: the snapshot has such rows
    for view in ("town_index_history", "latest_ranking"):
        assert warehouse.execute(f"SELECT count(*) FROM {view} WHERE score IS NULL AND imputed_share IS NOT NULL"
                                 ).fetchone()[0] == 0, view
        assert warehouse.execute(f"SELECT count(*) FROM {view} WHERE score IS NOT NULL AND imputed_share IS NULL"
                                 ).fetchone()[0] == 0, view
