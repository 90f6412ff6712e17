"""The Kreis, Land and Bund figures beside a town's indicator value: of the same measure and concept, not older
than the indicator may be carried forward, and dated where their date differs from the town value's."""

from __future__ import annotations

from types import SimpleNamespace

import pandas as pd

from indicators.catalogue import load_catalogue
from reports.context import reference_dates_de, reference_values
from staging.crosswalk import KREIS_MOVE_COLUMNS

TOWN = {"ags": "01053090", "kreis_ags": "01053"}


def data(references: dict) -> SimpleNamespace:
    return SimpleNamespace(references={key: ([pd.Timestamp(d) for d in dates], values)
                                       for key, (dates, values) in references.items()},
                           # every Kreis value of a Breitbandatlas release, on the territory of its own date
                           reference_releases={key: [("breitbandatlas", "2021-mitte")] * len(dates)
                                               for key, (dates, _) in references.items() if key[1] == "kreis"},
                           group_median=lambda indicator_id, period: 50.0, memo={},
                           towns=pd.DataFrame({"kreis_ags": []}),
                           former_kreise=pd.DataFrame(columns=["ags", "kreis_ags", "kreis_name"]),
                           kreis_moves=pd.DataFrame(columns=KREIS_MOVE_COLUMNS))


def test_a_figure_older_than_the_carry_forward_limit_is_left_out_and_others_are_dated():
    """Fibre 2025 from the Gigabit-Grundbuch beside the Breitbandatlas's last Kreis figure of 2021 (limit 2 years)."""
    assert load_catalogue().indicators["fibre_coverage"].carry_forward_years == 2
    refs = data({("fibre_coverage", "kreis", "01053"): (["2021-06-30"], [40.0]),
                 ("fibre_coverage", "land", "01"): (["2021-06-30", "2024-12-31"], [35.0, 55.0]),
                 ("fibre_coverage", "bund", "DG"): (["2025-12-31"], [60.0])})
    row = {"indicator_id": "fibre_coverage", "reference_date": pd.Timestamp("2025-12-31"), "period": 2025}
    row.update(reference_values(refs, TOWN, row))
    assert (row["ref_kreis"], row["ref_land"], row["ref_bund"], row["ref_group"]) == (None, 55.0, 60.0, 50.0)
    assert reference_dates_de(row) == "Land 31.12.2024"
    row2 = {**row, "reference_date": pd.Timestamp("2022-12-31")}
    row2.update(reference_values(refs, TOWN, row2))
    assert (row2["ref_kreis"], row2["ref_land"], row2["ref_bund"]) == (40.0, 35.0, None)  # Bund 2025 is newer
    assert reference_dates_de(row2) == "Kreis, Land 30.06.2021"


def test_the_out_commuter_share_has_no_upper_level_comparison():
    """A Kreis's out-commuters leave the Kreis, a town's the Gemeinde: not the same figure."""
    assert load_catalogue().indicators["out_commuter_share"].reference_levels == ()
    assert load_catalogue().indicators["long_distance_commuter_share"].reference_levels == ("kreis", "land", "bund")


def test_only_the_declared_levels_are_loaded():
    from reports.data import _reference_values

    con = _observations("""
        ('inkar', '2022-12', 'out_commuter_share', 'kreis', '01053', DATE '2019-06-30', 60.25),
        ('inkar', '2022-12', 'commuters_50km_share', 'kreis', '01053', DATE '2019-06-30', 18.5),
        ('inkar', '2022-12', 'commuters_50km_share', 'gemeinde', '01053090', DATE '2019-06-30', 17.0)""")
    loaded = _reference_values(con)["references"]
    assert list(loaded) == [("long_distance_commuter_share", "kreis", "01053")]
    assert loaded[("long_distance_commuter_share", "kreis", "01053")][1] == [18.5]


def _observations(rows: str):
    import duckdb

    con = duckdb.connect()
    con.execute("CREATE TABLE observations (source_id VARCHAR, vintage VARCHAR, measure VARCHAR, level VARCHAR, "
                "ags VARCHAR, reference_date DATE, value DOUBLE)")
    con.execute(f"INSERT INTO observations VALUES {rows}")
    return con


def test_one_figure_per_date_whatever_the_rows_order():
    """Two releases of one date (a corrected file; as text '2025-Q2' sorts after '2025-12-31') and two sources of
    one date: the later release in time order and the indicator's first source, as a town's own value is chosen.
    Before, the page showed whichever row the query met last."""
    from reports.data import _reference_values

    rows = ["('breitbandatlas', '2025-Q2', 'households_all_1000', 'kreis', '01053', DATE '2024-12-31', 80.0)",
            "('breitbandatlas', '2025-12-31', 'households_all_1000', 'kreis', '01053', DATE '2024-12-31', 81.5)",
            "('gigabit_grundbuch', '2025-12-31', 'households_all_1000', 'land', '01', DATE '2024-12-31', 70.0)",
            "('breitbandatlas', '2025-12-31', 'households_all_1000', 'land', '01', DATE '2024-12-31', 72.0)"]
    for ordered in (rows, rows[::-1]):
        both = _reference_values(_observations(", ".join(ordered)))
        loaded, releases = both["references"], both["reference_releases"]
        assert loaded[("gigabit_coverage", "kreis", "01053")][1] == [81.5]
        assert loaded[("gigabit_coverage", "land", "01")][1] == [72.0]
        # whose each Kreis value is, for the territory it describes (reports.context.kreis_territory_of); Kreise only
        assert releases == {("gigabit_coverage", "kreis", "01053"): [("breitbandatlas", "2025-12-31")]}


def test_the_group_median_leaves_out_the_values_the_index_excludes():
    """The 'Median Vergleichsgruppe' is over the values the index uses (and the context indicators'), not over a
    population change computed across a territorial change (review of 5 December 2026: 2018 population_change_10y
    -0.2807 over all reference-group values, -0.2865 over the scored ones)."""
    import duckdb

    from reports.data import GROUP_MEDIANS

    con = duckdb.connect()
    con.execute("CREATE TABLE municipalities (ags VARCHAR, in_reference_group BOOLEAN)")
    con.execute("CREATE TABLE indicator_values (ags VARCHAR, indicator_id VARCHAR, period INTEGER, value DOUBLE, "
                "excluded_reason VARCHAR)")
    con.execute("INSERT INTO municipalities VALUES ('1', true), ('2', true), ('3', true), ('4', true), ('5', false)")
    con.execute("""INSERT INTO indicator_values VALUES
        ('1', 'population_change_10y', 2018, -1.0, NULL), ('2', 'population_change_10y', 2018, -0.5, NULL),
        ('3', 'population_change_10y', 2018, 0.0, NULL), ('4', 'population_change_10y', 2018, 40.5, 'territorial_change'),
        ('5', 'population_change_10y', 2018, 9.0, NULL),
        ('1', 'population_density', 2018, 100.0, 'context_indicator'),
        ('2', 'population_density', 2018, 200.0, 'context_indicator'),
        ('3', 'population_density', 2018, 9000.0, 'implausible_step')""")
    medians = {(i, p): (m, n) for i, p, m, n in con.execute(GROUP_MEDIANS).fetchall()}
    assert medians[("population_change_10y", 2018)] == (-0.5, 3)
    assert medians[("population_density", 2018)] == (150.0, 2)  # the context indicator keeps its values
