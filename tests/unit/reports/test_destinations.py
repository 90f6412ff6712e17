"""The main destinations on a town's coworking section: named from today's register, a destination merged or
recoded since the Pendleratlas year by the Gemeinde it went to, never only as a bare key."""

from __future__ import annotations

import duckdb

from reports.coworking_gap import DESTINATIONS, _dicts, destination_name


def warehouse() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE municipalities (ags VARCHAR, name VARCHAR)")
    con.execute("INSERT INTO municipalities VALUES ('01053090', 'Mölln'), ('02000000', 'Hamburg'), "
                "('01053999', 'Neustadt')")
    con.execute("CREATE TABLE kreise (ags VARCHAR, name VARCHAR)")
    con.execute("CREATE TABLE territorial_changes (from_vintage VARCHAR, to_vintage VARCHAR, from_ags VARCHAR, "
                "to_ags VARCHAR, kind VARCHAR, plausibility VARCHAR)")
    con.execute("INSERT INTO territorial_changes VALUES ('2022', '2023', '01053111', '01053999', 'merger', 'official'), "
                "('2022', '2023', '01053222', '01053999', 'recode', 'official'), "
                "('2022', '2023', '01053333', '01053090', 'split', 'official'), "
                "('2022', '2023', '01053333', '02000000', 'split', 'official'), "
                "('2022', '2023', '01053555', '01053666', 'recode', 'official'), "  # then merged: two steps
                "('2023', '2024', '01053666', '01053999', 'merger', 'ok'), "
                "('2022', '2023', '01053777', '01053090', 'merger', 'too_far'), "  # rejected: not followed
                # a key used again: 01053888 merged into Hamburg in 2000, in 2022 another Gemeinde got the key and
                # was recoded to Neustadt's key; the flow of 2022 went to the later one
                "('1999', '2000', '01053888', '02000000', 'merger', 'official'), "
                "('2022', '2023', '01053888', '01053999', 'recode', 'official')")
    con.execute("CREATE TABLE commuter_flows_gemeinde (ags VARCHAR, direction VARCHAR, rank INTEGER, "
                "partner_ags VARCHAR, commuters DOUBLE, distance_km DOUBLE, vintage VARCHAR)")
    flows = [("02000000", 1), ("01053111", 2), ("01053222", 3), ("01053333", 4), ("01053444", 5), ("01053555", 6),
             ("01053777", 7), ("01053888", 8)]
    con.executemany("INSERT INTO commuter_flows_gemeinde VALUES ('01053090', 'out', ?, ?, 100, 40, '2022')",
                    [(rank, partner) for partner, rank in flows])
    return con


def test_destinations_are_named_by_today_s_register_or_their_successor():
    rows = _dicts(warehouse(), DESTINATIONS, "01053090")
    assert [destination_name(row) for row in rows] == [
        "Hamburg", "AGS 01053111 (heute Teil von Neustadt)", "AGS 01053222 (heute Neustadt)",
        "AGS 01053333", "AGS 01053444",  # a split has no single successor; an unknown key stays a key
        "AGS 01053555 (heute Teil von Neustadt)", "AGS 01053777", "AGS 01053888 (heute Neustadt)"]
