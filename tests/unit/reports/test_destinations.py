"""The main destinations on a town's coworking section: named from today's register, a destination merged or
recoded since the Pendleratlas year by the Gemeinde it went to, never only as a bare key."""

from __future__ import annotations

import duckdb
import pandas as pd
import shapely

from reports.coworking_gap import DESTINATIONS, _dicts, coworking_map, destination_name
from reports.maps import TownGeometries


def vintage(year: str) -> str:
    """A register's release id: a date, or a quarter ('2024-Q4') as the Gemeindeverzeichnis's quarterly files."""
    return year if "-Q" in year else f"{year}-12-31"


def gap_rows(con: duckdb.DuckDBPyConnection, rows: list[tuple] = ()) -> None:
    """The published gap tables DESTINATIONS reads the gap row from, with ``rows`` (ags, period,
    long_distance_flows_year) under the current method."""
    con.execute("CREATE TABLE current_method AS SELECT 'm1' AS method_version")
    con.execute("CREATE TABLE coworking_gap_ranking (period INTEGER)")
    con.execute("CREATE TABLE coworking_gap (ags VARCHAR, period INTEGER, long_distance_flows_year INTEGER, "
                "method_version VARCHAR)")
    if rows:
        con.executemany("INSERT INTO coworking_gap VALUES (?, ?, ?, 'm1')", rows)
        con.execute("INSERT INTO coworking_gap_ranking SELECT max(period) FROM coworking_gap")


def warehouse(gaps: list[tuple] = ()) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    gap_rows(con, gaps)
    con.execute("CREATE TABLE municipalities (ags VARCHAR, name VARCHAR)")
    con.execute("INSERT INTO municipalities VALUES ('01053090', 'Mölln'), ('02000000', 'Hamburg'), "
                "('01053999', 'Neustadt')")
    con.execute("CREATE TABLE kreise (ags VARCHAR, name VARCHAR)")
    con.execute("CREATE TABLE territorial_changes (from_vintage VARCHAR, to_vintage VARCHAR, from_date DATE, "
                "to_date DATE, from_ags VARCHAR, to_ags VARCHAR, kind VARCHAR, plausibility VARCHAR)")
    steps = [("2022", "2023", "01053111", "01053999", "merger", "official"),
             ("2022", "2023", "01053222", "01053999", "recode", "official"),
             ("2022", "2023", "01053333", "01053090", "split", "official"),
             ("2022", "2023", "01053333", "02000000", "split", "official"),
             ("2022", "2023", "01053555", "01053666", "recode", "official"),  # then merged: two steps
             ("2023", "2024-Q4", "01053666", "01053999", "merger", "ok"),  # a quarterly register: no date
             ("2022", "2023", "01053777", "01053090", "merger", "too_far"),  # rejected: not followed
             # a key used again: 01053888 merged into Hamburg in 2000, in 2022 another Gemeinde got the key and was
             # recoded to Neustadt's key; a flow of 2022 went to the later one, a flow of 1999 to the earlier one
             ("1999", "2000", "01053888", "02000000", "merger", "official"),
             ("2022", "2023", "01053888", "01053999", "recode", "official"),
             # a key used again that still exists today: the flow of 1999 went to its earlier holder
             ("1999", "2000", "01053090", "02000000", "merger", "official")]
    con.executemany("INSERT INTO territorial_changes VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                    [(vintage(before), vintage(after), f"{before[:4]}-12-31", f"{after[:4]}-12-31", *rest)
                     for before, after, *rest in steps])
    con.execute("CREATE TABLE commuter_flows_gemeinde (ags VARCHAR, direction VARCHAR, rank INTEGER, "
                "partner_ags VARCHAR, commuters DOUBLE, distance_km DOUBLE, reference_date DATE, vintage VARCHAR)")
    flows = [("02000000", 1), ("01053111", 2), ("01053222", 3), ("01053333", 4), ("01053444", 5), ("01053555", 6),
             ("01053777", 7), ("01053888", 8)]
    con.executemany("INSERT INTO commuter_flows_gemeinde VALUES ('01053090', 'out', ?, ?, 100, 40, '2022-06-30', "
                    "'2022')", [(rank, partner) for partner, rank in flows])
    # Neustadt's list of 1999: to the reused key's earlier holder and to today's Mölln key
    con.executemany("INSERT INTO commuter_flows_gemeinde VALUES ('01053999', 'out', ?, ?, 100, 40, '1999-06-30', "
                    "'1999')", [(1, "01053888"), (2, "01053090"), (3, "01053111")])
    return con


def test_the_list_is_of_the_year_the_gap_counted_and_absent_where_the_gap_left_the_flows_out():
    """Mölln has flows of 2019 and 2022. Its section lists the year its gap row counted (the tile's flows); where the
    gap left the flows out (they describe the town before a split: long_distance_flows_year NULL) or had none, no
    list; Neustadt, without a gap row, its latest year. The list of 2022 was shown beside a gap that left it out."""
    def listed(gaps: list[tuple], town: str = "01053090") -> set:
        con = warehouse(gaps)
        con.execute("INSERT INTO commuter_flows_gemeinde VALUES ('01053090', 'out', 1, '02000000', 90, 40, "
                    "'2019-06-30', '2019')")
        return {(row["flows_year"], row["vintage"]) for row in _dicts(con, DESTINATIONS, town)}

    assert listed([("01053090", 2023, 2022)]) == {(2022, "2022")}
    assert listed([("01053090", 2020, 2019)]) == {(2019, "2019")}
    assert listed([("01053090", 2023, None)]) == set()
    assert listed([("01053090", 2023, None)], "01053999") == {(1999, "1999")}
    assert listed([]) == {(2022, "2022")}  # no gap row: the latest year


def test_destinations_are_named_by_today_s_register_or_their_successor():
    rows = _dicts(warehouse(), DESTINATIONS, "01053090")
    assert [destination_name(row) for row in rows] == [
        "Hamburg", "AGS 01053111 (heute Teil von Neustadt)", "AGS 01053222 (heute Neustadt)",
        "AGS 01053333", "AGS 01053444",  # a split has no single successor; an unknown key stays a key
        "AGS 01053555 (heute Teil von Neustadt)", "AGS 01053777", "AGS 01053888 (heute Neustadt)"]


def test_a_reused_key_is_named_by_the_chain_after_the_flow_s_date_not_the_latest_one():
    """A flow of 1999 to a key that merged into Hamburg in 2000 and was given again later is named by Hamburg; a
    flow of 1999 to a key that today names Mölln, but named a Gemeinde merged in 2000, is not called Mölln; a key
    whose change came after 1999 is followed as usual."""
    rows = _dicts(warehouse(), DESTINATIONS, "01053999")
    assert [destination_name(row) for row in rows] == [
        "AGS 01053888 (heute Teil von Hamburg)", "AGS 01053090 (heute Teil von Hamburg)",
        "AGS 01053111 (heute Teil von Neustadt)"]


def test_the_map_draws_no_line_to_today_s_holder_of_a_reused_key():
    """Neustadt's 1999 flows went to Gemeinden merged in 2000; today's Mölln (key 01053090) is another Gemeinde, so
    the map draws no line to it. A destination that still is what it was gets its line."""
    squares = {"01053999": (10.0, 53.5), "01053090": (10.7, 53.6), "02000000": (10.0, 53.55)}
    geoms = TownGeometries(pd.DataFrame({
        "ags": list(squares),
        "geometry_wkb": [shapely.to_wkb(shapely.box(x, y, x + 0.02, y + 0.02)) for x, y in squares.values()]}))
    rows = _dicts(warehouse(), DESTINATIONS, "01053999")
    # nothing to draw but the town: no map (a legend of things not drawn stood under the bare outline)
    assert coworking_map(geoms, "01053999", pd.DataFrame(), rows) is None
    today = [{**rows[1], "gone_since_flow": False}]  # as if 01053090 had not changed since the flow
    drawn = coworking_map(geoms, "01053999", pd.DataFrame(), today)
    assert drawn.count("<line") == 1 and "Linie: Hauptziel der Auspendler (km)</text>" in drawn
    assert "Coworking" not in drawn.split("<title>")[1].split("</title>", 1)[1]  # no spaces: none in the legend



def flows_to(partner: str, steps: list[tuple], date: str = "1999-06-30") -> list[dict]:
    """The destination rows of one flow of Neustadt (on ``date``) to ``partner``, over ``steps`` (from_date, to_date,
    from_ags, to_ags, kind) with the fixture's Gemeinden of today plus 05000001, a key given again."""
    con = duckdb.connect()
    gap_rows(con)
    con.execute("CREATE TABLE municipalities (ags VARCHAR, name VARCHAR)")
    con.execute("INSERT INTO municipalities VALUES ('01053999', 'Neustadt'), ('02000000', 'Hamburg'), "
                "('03000000', 'Zet'), ('04000000', 'Wen'), ('05000001', 'Neue Gemeinde')")
    con.execute("CREATE TABLE kreise (ags VARCHAR, name VARCHAR)")
    con.execute("CREATE TABLE territorial_changes (from_vintage VARCHAR, to_vintage VARCHAR, from_date DATE, "
                "to_date DATE, from_ags VARCHAR, to_ags VARCHAR, kind VARCHAR, plausibility VARCHAR)")
    con.executemany("INSERT INTO territorial_changes VALUES (?, ?, ?, ?, ?, ?, ?, 'official')",
                    [(a, b, a, b, *rest) for a, b, *rest in steps])
    con.execute("CREATE TABLE commuter_flows_gemeinde (ags VARCHAR, direction VARCHAR, rank INTEGER, "
                "partner_ags VARCHAR, commuters DOUBLE, distance_km DOUBLE, reference_date DATE, vintage VARCHAR)")
    con.execute("INSERT INTO commuter_flows_gemeinde VALUES ('01053999', 'out', 1, ?, 100, 40, ?, ?)",
                [partner, date, date[:4]])
    return _dicts(con, DESTINATIONS, "01053999")


def test_a_key_gone_since_the_flow_by_a_split_names_no_successor_and_not_the_key_s_new_holder():
    """05000001 was split in 2000 and the key given again to a Gemeinde of today: a flow of 1999 went to neither."""
    [row] = flows_to("05000001", [("1999-12-31", "2000-12-31", "05000001", "04000000", "split"),
                                  ("1999-12-31", "2000-12-31", "05000001", "03000000", "split")])
    assert destination_name(row) == "AGS 05000001" and row["gone_since_flow"]


def test_a_chain_ending_in_a_gone_key_does_not_fall_through_to_a_later_use_of_the_key():
    """05000001 merged into 05000002 in 2000, which was split in 2010; the key 05000001 was recoded to Zet in 2023
    after being given again. The flow of 1999 went to the first holder: no successor today, not Zet."""
    [row] = flows_to("05000001", [("1999-12-31", "2000-12-31", "05000001", "05000002", "merger"),
                                  ("2009-12-31", "2010-12-31", "05000002", "04000000", "split"),
                                  ("2022-12-31", "2023-12-31", "05000001", "03000000", "recode")])
    assert destination_name(row) == "AGS 05000001" and row["gone_since_flow"]


def test_a_chain_follows_each_key_to_its_next_end_only():
    """05000001 -> 05000002 (2000) -> Wen (2005); 05000002 given again later and recoded to Zet (2015). The flow of
    1999 is 'heute Teil von Wen', not Zet."""
    [row] = flows_to("05000001", [("1999-12-31", "2000-12-31", "05000001", "05000002", "merger"),
                                  ("2004-12-31", "2005-12-31", "05000002", "04000000", "merger"),
                                  ("2014-12-31", "2015-12-31", "05000002", "03000000", "recode")])
    assert destination_name(row) == "AGS 05000001 (heute Teil von Wen)"


def test_a_key_that_ended_on_the_flow_s_date_was_already_gone():
    """A step whose register after it is dated on the flow's day (2025-Q2, 30.06.2025) took effect by then: the flow
    of 30.06.2025 to that key is read as today's (the contract reads a flow on the register of its date)."""
    [row] = flows_to("05000001", [("2025-03-31", "2025-06-30", "05000001", "02000000", "merger")], "2025-06-30")
    assert destination_name(row) == "Neue Gemeinde" and not row["gone_since_flow"]
    [row] = flows_to("05000001", [("2025-03-31", "2025-06-30", "05000001", "02000000", "merger")], "2025-06-29")
    assert destination_name(row) == "AGS 05000001 (heute Teil von Hamburg)" and row["gone_since_flow"]
