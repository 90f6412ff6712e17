"""The coworking gap against hand-computed values on a small working database, and its parameters."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest
import yaml

from indicators.catalogue import CATALOGUE_YAML
from indicators.coworking_gap import GAP_COLUMNS, compute_gap, gap_parameters

PARAMETERS = {"long_distance_km": 50, "reach_km": 10, "remote_capable_share": 0.5, "remote_days_per_week": 2,
              "workdays_per_week": 5, "coworking_share_of_remote_days": 0.25, "method_version": "test",
              "carry_forward_years": 4, "coworking_carry_forward_years": 1,
              "coworking_sources": ["osm_coworking", "local_inputs"]}


INSERT = ("INSERT INTO observations (ags, level, source_id, measure, reference_date, value, vintage) "
          "VALUES (?, ?, ?, ?, ?, ?, ?)")


def obs(ags, source, measure, year, value, day=None, vintage=None):
    """An observation of 30 June of ``year`` (or ``day``), its release named by the year unless given."""
    return (ags, "gemeinde", source, measure, day or dt.date(year, 6, 30), value, vintage or str(year))


@pytest.fixture
def con():
    con = duckdb.connect()
    con.execute("CREATE TABLE readiness_index (ags VARCHAR, period INTEGER, in_reference_group BOOLEAN)")
    con.execute("INSERT INTO readiness_index VALUES ('A', 2021, TRUE), ('A', 2023, TRUE), ('B', 2023, TRUE), "
                "('C', 2023, FALSE)")
    # the columns the gap reads, and those of compute.YEARLY (the index's choice), which it reuses
    con.execute("CREATE TABLE observations (ags VARCHAR, level VARCHAR, source_id VARCHAR, measure VARCHAR, "
                "reference_date DATE, value DOUBLE, vintage VARCHAR, territorial_change VARCHAR, source_level VARCHAR)")
    con.executemany(INSERT, [
        obs("A", "inkar", "commuters_50km_share", 2019, 20.0),
        obs("A", "pendleratlas", "out_commuters", 2022, 6000), obs("A", "pendleratlas", "internal_commuters", 2022, 4000),
        obs("A", "osm_coworking", "coworking_nearest_km", 2023, 3.5),
        obs("A", "osm_coworking", "coworking_spaces_within_10km", 2023, 2),
        obs("B", "inkar", "commuters_50km_share", 2019, 10.0),
        obs("B", "pendleratlas", "out_commuters", 2023, 900), obs("B", "pendleratlas", "internal_commuters", 2023, 100),
    ])
    con.execute("CREATE TABLE commuter_flows_gemeinde (ags VARCHAR, direction VARCHAR, rank INTEGER, "
                "partner_ags VARCHAR, commuters DOUBLE, distance_km DOUBLE, reference_date DATE)")
    con.executemany("INSERT INTO commuter_flows_gemeinde VALUES (?, ?, ?, ?, ?, ?, ?)", [
        ("A", "out", 1, "X", 1500, 45.0, dt.date(2022, 6, 30)),  # under 50 km: not far
        ("A", "out", 2, "Y", 700, 80.0, dt.date(2022, 6, 30)),
        ("A", "in", 1, "Y", 9999, 80.0, dt.date(2022, 6, 30)),   # in-commuters: not residents
        ("B", "out", 1, "Z", 300, 120.0, dt.date(2023, 6, 30)),
    ])
    return con


def test_gap_by_hand(con):
    gap = compute_gap(con, PARAMETERS).set_index(["ags", "period"])
    assert list(gap.reset_index().columns) == GAP_COLUMNS
    assert sorted(gap.index) == [("A", 2021), ("A", 2023), ("B", 2023)]  # only the reference group
    a21 = gap.loc[("A", 2021)]
    # 2021: no Pendleratlas yet (2022), INKAR share only: no count, no coworking data
    assert a21["long_distance_share"] == 20.0 and a21["long_distance_share_year"] == 2019
    assert a21[["employed_at_residence", "long_distance_out_commuters", "nearest_space_km"]].isna().all()
    a23 = gap.loc[("A", 2023)]
    # employed 6000 + 4000; estimate 20 % x 10000 = 2000 > flows >= 50 km 700: the estimate
    assert (a23["employed_at_residence"], a23["long_distance_out_commuters_flows"],
            a23["long_distance_out_commuters_estimate"], a23["long_distance_out_commuters"]) == (10000, 700, 2000, 2000)
    assert a23["basis"] == "inkar_estimate"
    assert (a23["nearest_space_km"], a23["spaces_within_reach"]) == (3.5, 2)
    assert (a23["coworking_source_id"], a23["coworking_vintage"], a23["coworking_reference_date"]) == (
        "osm_coworking", "2023", pd.Timestamp("2023-06-30"))
    assert a23["desk_demand"] == pytest.approx(2000 * 0.5 * 2 / 5 * 0.25)  # 100 desks
    b23 = gap.loc[("B", 2023)]
    # estimate 10 % x 1000 = 100 < flows 300 (a lower bound): the flows
    assert (b23["long_distance_out_commuters"], b23["desk_demand"]) == (300, pytest.approx(15.0))
    assert b23["basis"] == "pendleratlas_flows"
    assert a23["long_distance_flows_year"] == 2022  # the flows' own year, shown beside the count, not the period


def test_figures_older_than_the_carry_forward_limit_are_not_used(con):
    """INKAR 2019 carried to 2025 was shown as the 2025 gap; the index drops it after four years."""
    con.execute("INSERT INTO readiness_index VALUES ('A', 2024, TRUE)")
    con.execute("INSERT INTO readiness_index VALUES ('A', 2025, TRUE)")
    gap = compute_gap(con, PARAMETERS).set_index(["ags", "period"])
    a24 = gap.loc[("A", 2024)]
    assert a24["long_distance_share_year"] is None or pd.isna(a24["long_distance_share_year"])  # 2019 < 2024 - 4
    assert a24["long_distance_flows_year"] == 2022 and a24["basis"] == "pendleratlas_flows"
    assert gap.loc[("A", 2023), "long_distance_share_year"] == 2019  # 2019 >= 2023 - 4: still used
    # the coworking supply of 2023 counts for 2024 (one year, as the index), not for 2025
    assert gap.loc[("A", 2024), "nearest_space_km"] == 3.5 and pd.isna(gap.loc[("A", 2025), "nearest_space_km"])
    assert gap.loc[("A", 2025), "long_distance_out_commuters"] == 700  # flows of 2022: within four years
    parameters = gap_parameters()  # the catalogue's limits of long_distance_commuter_share and coworking_within_10km
    assert (parameters["carry_forward_years"], parameters["coworking_carry_forward_years"]) == (4, 1)


def test_catalogue_parameters_have_values_and_sources(tmp_path):
    parameters = gap_parameters()
    assert parameters["long_distance_km"] == 50 and 0 < parameters["remote_capable_share"] <= 1
    raw = yaml.safe_load(CATALOGUE_YAML.read_text(encoding="utf-8"))
    del raw["coworking_gap"]["remote_days_per_week_source"]
    broken = tmp_path / "catalogue.yaml"
    broken.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="remote_days_per_week_source"):
        gap_parameters(broken)


def test_far_flows_withheld_by_the_publisher_are_unknown_not_zero(con):
    """B's only destination of 50 km or more carried a publisher marker (NULL): its flows gave 0 far
    out-commuters and a desk demand of 0, labelled as flows, ranking it last (review of 5 December). A withheld
    count beside known far flows still leaves those as a lower bound."""
    con.execute("UPDATE commuter_flows_gemeinde SET commuters = NULL WHERE ags = 'B'")
    con.execute("DELETE FROM observations WHERE ags = 'B' AND measure = 'commuters_50km_share'")  # no estimate
    con.execute("INSERT INTO commuter_flows_gemeinde VALUES ('A', 'out', 3, 'Z', NULL, 95.0, DATE '2022-06-30')")
    gap = compute_gap(con, PARAMETERS).set_index(["ags", "period"])
    b23 = gap.loc[("B", 2023)]
    assert b23[["long_distance_out_commuters_flows", "long_distance_out_commuters", "basis", "desk_demand"]].isna().all()
    assert gap.loc[("A", 2023), "long_distance_out_commuters_flows"] == 700  # 700 known, one withheld: still 700


def test_of_several_batches_in_a_year_both_figures_come_from_the_latest(con):
    """Live mode lands an OSM query whenever its answer changes and towns deliver lists between queries: a year holds
    several coworking batches. The gap took each figure from an arbitrary one of them (ties on the year: 8 different
    results in 30 runs, review of 5 December), e.g. the count of January beside the distance of June."""
    con.execute("DELETE FROM observations WHERE source_id = 'osm_coworking'")
    # two queries, then a town's delivery after the latest query (staging.coworking.batches: merged with it)
    batches = [("osm_coworking", dt.date(2023, 1, 10), "2023-01-10", 1, 8.0),
               ("osm_coworking", dt.date(2023, 6, 1), "2023-06-01", 2, 4.5),
               ("local_inputs", dt.date(2023, 11, 20), "2023-11-20", 4, 0.0)]
    for source, day, vintage, within, nearest in batches:
        con.executemany(INSERT, [
            obs("A", source, "coworking_spaces_within_10km", 2023, within, day, vintage),
            obs("A", source, "coworking_nearest_km", 2023, nearest, day, vintage)])
    for _ in range(5):  # the old query's answer changed from run to run
        a23 = compute_gap(con, PARAMETERS).set_index(["ags", "period"]).loc[("A", 2023)]
        assert (a23["spaces_within_reach"], a23["nearest_space_km"], a23["coworking_vintage"]) == (4, 0.0, "2023-11-20")


def test_a_batch_without_any_place_has_no_distance_even_if_an_earlier_one_had(con):
    """The distance belongs to the batch the count comes from: a later batch with no place at all (NULL distance)
    is not completed by an earlier batch's distance."""
    con.executemany(INSERT, [
        obs("A", "local_inputs", "coworking_spaces_within_10km", 2023, 0, dt.date(2023, 12, 1), "2023-12-01"),
        obs("A", "local_inputs", "coworking_nearest_km", 2023, None, dt.date(2023, 12, 1), "2023-12-01")])
    a23 = compute_gap(con, PARAMETERS).set_index(["ags", "period"]).loc[("A", 2023)]
    assert a23["spaces_within_reach"] == 0 and pd.isna(a23["nearest_space_km"])
    assert a23["coworking_source_id"] == "local_inputs"


def test_a_revised_release_of_the_same_date_wins(con):
    """Two INKAR releases with a value for the same date (an original and its revision): the later release, not
    whichever the database returns first."""
    con.executemany(INSERT, [
        obs("A", "inkar", "commuters_50km_share", 2019, 25.0, vintage="2021-mitte-rev2"),
        obs("A", "inkar", "commuters_50km_share", 2019, 22.0, vintage="2021-mitte")])
    con.execute("UPDATE observations SET vintage = '2020' WHERE vintage = '2019'")  # the first release: older
    for _ in range(5):
        gap = compute_gap(con, PARAMETERS).set_index(["ags", "period"])
        assert gap.loc[("A", 2023), "long_distance_share"] == 25.0


def test_a_reach_the_coworking_indicator_does_not_count_is_refused(tmp_path):
    """reach_km 15 made the gap look for coworking_spaces_within_15km, which staging never wrote (it counts within the
    indicator's measure): every count became NULL without a word."""
    raw = yaml.safe_load(CATALOGUE_YAML.read_text(encoding="utf-8"))
    raw["coworking_gap"]["reach_km"] = 15
    changed = tmp_path / "catalogue.yaml"
    changed.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match="reach_km 15 km needs the coworking indicator's measure "
                                         "coworking_spaces_within_15km, it reads coworking_spaces_within_10km"):
        gap_parameters(changed)


def test_no_far_destination_among_the_ten_without_an_estimate_is_unknown_not_zero(con):
    """The flows are a lower bound (the ten main destinations hold about three quarters of the out-commuters): with
    the INKAR share too old for an estimate and no destination of 50 km or more among the ten, the gap published 0 far
    out-commuters and a desk demand of 0.0 (Mölln 2024 in a coworking review's build, where 2023 had 61.7 desks)."""
    con.execute("DELETE FROM commuter_flows_gemeinde WHERE ags = 'B'")
    con.execute("INSERT INTO commuter_flows_gemeinde VALUES ('B', 'out', 1, 'Z', 300, 20.0, DATE '2023-06-30')")
    con.execute("DELETE FROM observations WHERE ags = 'B' AND measure = 'commuters_50km_share'")  # no estimate
    b23 = compute_gap(con, PARAMETERS).set_index(["ags", "period"]).loc[("B", 2023)]
    assert b23["long_distance_out_commuters_flows"] == 0  # what the flows say, shown as such
    assert b23[["long_distance_out_commuters", "basis", "desk_demand"]].isna().all()
    # with an estimate the same 0 flows leave the estimate (10 % x 1000)
    con.execute("INSERT INTO observations (ags, level, source_id, measure, reference_date, value, vintage) "
                "VALUES ('B', 'gemeinde', 'inkar', 'commuters_50km_share', DATE '2019-06-30', 10.0, '2019')")
    b23 = compute_gap(con, PARAMETERS).set_index(["ags", "period"]).loc[("B", 2023)]
    assert (b23["long_distance_out_commuters"], b23["basis"]) == (100, "inkar_estimate")


def transfer(ags, code, end):
    """One side of a change that is not restated (crosswalk.transfer_sides: _start, _end the registers' dates)."""
    return {"ags": ags, "_start": pd.Timestamp(end) - pd.DateOffset(years=2), "_end": pd.Timestamp(end),
            "_code": code, "_note": f"{code}: test"}


def test_figures_dated_before_a_split_of_the_town_are_left_out_as_the_index_leaves_them_out(con):
    """A split of 31.12.2023 (the later register's date): every commuting figure A's 2023 gap would rest on is dated
    before it and describes A in its former bounds (Dingelstädt's INKAR share of 2019 was shown as its 2023 gap). The
    coworking figures stay: staging counts every batch on the newest boundaries. The 2021 gap is before the change and
    keeps its figures; a minor transfer leaves the series comparable."""
    transfers = pd.DataFrame([transfer("A", "split", "2023-12-31")])
    gap = compute_gap(con, PARAMETERS, transfers).set_index(["ags", "period"])
    a23 = gap.loc[("A", 2023)]
    assert a23["territorial_change"] == "split"
    assert a23[["long_distance_share", "long_distance_share_year", "employed_at_residence",
                "long_distance_out_commuters_flows", "long_distance_flows_year", "long_distance_out_commuters",
                "basis", "desk_demand"]].isna().all()
    assert (a23["nearest_space_km"], a23["spaces_within_reach"], a23["coworking_source_id"]) == (3.5, 2, "osm_coworking")
    a21 = gap.loc[("A", 2021)]
    assert pd.isna(a21["territorial_change"]) and a21["long_distance_share"] == 20.0
    b23 = gap.loc[("B", 2023)]  # another town's change leaves B as it was
    assert pd.isna(b23["territorial_change"]) and b23["long_distance_out_commuters"] == 300
    minor = compute_gap(con, PARAMETERS, pd.DataFrame([transfer("A", "minor_transfer", "2023-12-31")]))
    pd.testing.assert_frame_equal(minor, compute_gap(con, PARAMETERS))
    assert minor["territorial_change"].isna().all()


def test_a_change_after_the_figures_day_but_not_by_the_periods_end_leaves_them_in(con):
    """A split the registers date 31.12.2024 does not touch the 2023 gap (as across_transfers: a period that ends
    before the later register is left as it is)."""
    gap = compute_gap(con, PARAMETERS, pd.DataFrame([transfer("A", "partial_transfer", "2024-12-31")]))
    pd.testing.assert_frame_equal(gap, compute_gap(con, PARAMETERS))


def test_a_figure_typed_with_a_not_comparable_change_is_left_out(con):
    """B's Pendleratlas counts of 2023 were staged typed 'partial_transfer' (observed in the change's period): not used,
    so B's count rests on nothing but the flows (which carry no code)."""
    con.execute("UPDATE observations SET territorial_change = 'partial_transfer' WHERE ags = 'B' "
                "AND source_id = 'pendleratlas'")
    b23 = compute_gap(con, PARAMETERS).set_index(["ags", "period"]).loc[("B", 2023)]
    assert b23["territorial_change"] == "partial_transfer" and pd.isna(b23["employed_at_residence"])
    assert (b23["long_distance_share"], b23["long_distance_out_commuters"], b23["basis"]) == (
        10.0, 300, "pendleratlas_flows")


def test_the_row_names_a_change_only_where_it_took_a_figure_the_row_would_use(con):
    """B's share, Pendleratlas counts and flows are of 2023, after a split of 31.12.2022; only an unused BA figure of
    2022 predates it: B's row lacks nothing and names no change (the page would have said figures were left out).
    Of two changes a figure is carried across, the latest is named, as across_transfers names it."""
    con.executemany(INSERT, [obs("B", "ba_commuting", "out_commuters", 2022, 800),
                             obs("B", "inkar", "commuters_50km_share", 2023, 11.0)])
    b23 = compute_gap(con, PARAMETERS, pd.DataFrame([transfer("B", "split", "2022-12-31")])).set_index(
        ["ags", "period"]).loc[("B", 2023)]
    assert pd.isna(b23["territorial_change"]) and (b23["long_distance_share"], b23["employed_at_residence"]) == (11.0, 1000)
    both = pd.DataFrame([transfer("A", "partial_transfer", "2022-12-31"), transfer("A", "split", "2023-12-31")])
    a23 = compute_gap(con, PARAMETERS, both).set_index(["ags", "period"]).loc[("A", 2023)]
    assert a23["territorial_change"] == "split"
