"""The Kreis commuting totals and the Mobilfunk-Monitoring on a town page come from one release per Kreis: that of
the latest reference date and, of two releases of one date, the later in time order. As text the quarterly
'2025-Q2' (30.06.2025) sorts after '2025-12-31', which would show the older figures."""

from __future__ import annotations

import duckdb
import pytest

from indicators.compute import release_positions
from reports.data import KREIS_COMMUTING, MOBILE_KREIS

ROWS = [  # source, Kreis, release, reference date, measure, value
    ("mobilfunk_monitoring", "01053", "2025-Q2", "2024-12-31", "area_5g_all", 80.0),
    ("mobilfunk_monitoring", "01053", "2025-12-31", "2024-12-31", "area_5g_all", 82.5),  # the revision
    ("mobilfunk_monitoring", "01053", "2023-12-31", "2023-12-31", "area_5g_all", 70.0),
    ("mobilfunk_monitoring", "01054", "2025-Q2", "2024-12-31", "area_5g_all", 60.0),  # only one release
    ("ba_commuting", "01053", "2025-Q2", "2024-06-30", "out_commuters", 1000.0),
    ("ba_commuting", "01053", "2025-12-31", "2024-06-30", "out_commuters", 1010.0),
    ("ba_commuting", "01053", "2025-12-31", "2024-06-30", "employees_residence", 5000.0),
    ("ba_commuting", "01053", "2023-12-31", "2023-06-30", "out_commuters", 900.0),
]


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("""CREATE TABLE observations (source_id TEXT, ags TEXT, level TEXT, vintage TEXT,
                   reference_date DATE, measure TEXT, value DOUBLE)""")
    con.executemany("INSERT INTO observations VALUES (?, ?, 'kreis', ?, ?, ?, ?)", ROWS)
    yield con
    con.close()


def _rows(con, sql: str, source: str) -> set[tuple]:
    return {tuple(row) for row in con.execute(
        f"SELECT kreis_ags, measure, value FROM ({sql})", {"vintages": release_positions(con, [source])}).fetchall()}


def test_mobile_coverage_of_one_kreis_comes_from_the_later_release_of_its_latest_date(con):
    assert _rows(con, MOBILE_KREIS, "mobilfunk_monitoring") == {("01053", "area_5g_all", 82.5),
                                                                ("01054", "area_5g_all", 60.0)}


def test_kreis_commuting_totals_come_from_one_release(con):
    assert _rows(con, KREIS_COMMUTING, "ba_commuting") == {("01053", "out_commuters", 1010.0),
                                                           ("01053", "employees_residence", 5000.0)}
