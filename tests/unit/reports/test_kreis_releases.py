"""The Mobilfunk-Monitoring on a town page comes from one release per Kreis: that of the latest reference date and,
of two releases of one date, the later in time order; the Kreis commuting totals from one release per Kreis and
date. As text the quarterly '2025-Q2' (30.06.2025) sorts after '2025-12-31', which would show the older figures."""

from __future__ import annotations

import duckdb
import pytest

from indicators.compute import release_positions
from reports.data import FLOWS, KREIS_COMMUTING, MOBILE_KREIS

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

FLOW_ROWS = [  # Kreis of residence, of work, release, reference date, commuters
    ("01053", "02000", "2025-Q2", "2024-06-30", 5000.0),
    ("01053", "02000", "2025-12-31", "2024-06-30", 5100.0),   # the revision of the same date
    ("01053", "01062", "2025-12-31", "2024-06-30", 700.0),    # two partners with equal counts
    ("01053", "01060", "2025-12-31", "2024-06-30", 700.0),
    ("01053", "01001", "2025-12-31", "2024-06-30", None),     # suppressed: last
    ("01053", "02000", "2023-12-31", "2023-06-30", 4800.0),   # an older date
]


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("""CREATE TABLE observations (source_id TEXT, ags TEXT, level TEXT, vintage TEXT,
                   reference_date DATE, measure TEXT, value DOUBLE)""")
    con.executemany("INSERT INTO observations VALUES (?, ?, 'kreis', ?, ?, ?, ?)", ROWS)
    con.execute("""CREATE TABLE commuter_flows (home_kreis TEXT, work_kreis TEXT, vintage TEXT, reference_date DATE,
                   commuters DOUBLE, listing TEXT DEFAULT 'complete', marker TEXT, source_id TEXT DEFAULT 'ba_commuting')""")
    con.executemany("INSERT INTO commuter_flows (home_kreis, work_kreis, vintage, reference_date, commuters) "
                    "VALUES (?, ?, ?, ?, ?)", FLOW_ROWS)
    yield con
    con.close()


def _rows(con, sql: str, source: str) -> set[tuple]:
    return {tuple(row) for row in con.execute(
        f"SELECT kreis_ags, measure, value FROM ({sql})", {"vintages": release_positions(con, [source])}).fetchall()}


def test_mobile_coverage_of_one_kreis_comes_from_the_later_release_of_its_latest_date(con):
    assert _rows(con, MOBILE_KREIS, "mobilfunk_monitoring") == {("01053", "area_5g_all", 82.5),
                                                                ("01054", "area_5g_all", 60.0)}


def test_kreis_commuting_totals_come_from_one_release_per_date(con):
    """Per Kreis and date the later release (the page takes the totals of its flows' date, reports/context.py)."""
    rows = {tuple(row) for row in con.execute(f"SELECT kreis_ags, reference_date::VARCHAR, measure, value FROM "
                                              f"({KREIS_COMMUTING})",
                                              {"vintages": release_positions(con, ["ba_commuting"])}).fetchall()}
    assert rows == {("01053", "2024-06-30", "out_commuters", 1010.0),
                    ("01053", "2024-06-30", "employees_residence", 5000.0),
                    ("01053", "2023-06-30", "out_commuters", 900.0)}


def test_kreis_flows_come_from_one_release_in_one_order(con):
    """A corrected release of the same Stichtag replaces the earlier one (both were listed, the partner twice), and
    equal counts are ordered by the partner's key, so the page's top ten are the same in every build."""
    for order in ("rowid", "rowid DESC"):  # the rows stored in both orders: the result must not depend on it
        con.execute(f"CREATE OR REPLACE TABLE commuter_flows AS SELECT * FROM commuter_flows ORDER BY {order}")
        rows = con.execute(f"SELECT work_kreis, vintage, commuters FROM ({FLOWS})",
                           {"vintages": release_positions(con, ["ba_commuting"])}).fetchall()
        assert rows == [("02000", "2025-12-31", 5100.0), ("01060", "2025-12-31", 700.0),
                        ("01062", "2025-12-31", 700.0), ("01001", "2025-12-31", None)]
