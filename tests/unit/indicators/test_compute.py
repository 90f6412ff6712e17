"""Indicator derivation in SQL on small hand-made observation tables."""

from __future__ import annotations

import datetime as dt

import duckdb
import pandas as pd
import pytest

from indicators import flags
from indicators.catalogue import load_catalogue
from indicators.compute import carry_forward, compute_indicator, index_periods

CATALOGUE = load_catalogue()


def observations(rows) -> duckdb.DuckDBPyConnection:
    """A table of observations; rows may add the typed territorial_change code as a tenth field."""
    con = duckdb.connect()
    rows = [(*r, None)[:10] for r in rows]
    frame = pd.DataFrame(rows, columns=["source_id", "vintage", "ags", "level", "reference_date", "measure", "value",
                                        "unit", "note", "territorial_change"]).astype({"territorial_change": object})
    con.execute("CREATE TABLE observations AS SELECT * EXCLUDE (territorial_change), "
                "CAST(territorial_change AS VARCHAR) AS territorial_change FROM frame")
    return con


# population change reads the series restated to the current territory (staging/crosswalk.py)
ON_CURRENT_TERRITORY = {"population_total": "population_current_territory", "area_km2": "area_current_territory"}


def gv(ags, year, measure, value, vintage=None, current_territory=True):
    measure = ON_CURRENT_TERRITORY.get(measure, measure) if current_territory else measure
    return ("destatis_gemeindeverzeichnis", vintage or f"{year}-12-31", ags, "gemeinde", dt.date(year, 12, 31),
            measure, float(value), "x", "")


def gv_km2(ags, year, measure, value):
    """``gv`` with the units the registers give (areas in km²: the territorial test is made per area)."""
    row = gv(ags, year, measure, value)
    return row[:7] + ("km2" if measure == "area_km2" else "persons",) + row[8:]


def test_annualised_population_change_by_hand():
    con = observations([gv("A", 2013, "population_total", 10000), gv("A", 2023, "population_total", 12100),
                        gv("A", 2013, "area_km2", 50), gv("A", 2023, "area_km2", 50)])
    result = compute_indicator(con, CATALOGUE.indicators["population_change_10y"]).set_index("period")
    # (12100/10000)^(1/10) - 1 = 1.9245 % per year
    assert result.loc[2023, "value"] == pytest.approx(1.9245, abs=1e-4)
    assert result.loc[2023, "quality_note"] == "base year 2013"


def test_a_mid_year_population_is_annualised_over_the_months_between_the_dates():
    """A quarterly Gemeindeverzeichnis of 30.09.2024 (live mode's newest) against 31.12.2013: 10.75 years, not 11."""
    q3 = ("destatis_gemeindeverzeichnis", "2024-Q3", "A", "gemeinde", dt.date(2024, 9, 30),
          "population_current_territory", 19625.0, "x", "")
    con = observations([gv("A", 2013, "population_total", 18520), q3,
                        gv("A", 2013, "area_km2", 50), gv("A", 2024, "area_km2", 50)])
    value = compute_indicator(con, CATALOGUE.indicators["population_change_10y"]).set_index("period").loc[2024]
    assert value["value"] == pytest.approx(((19625 / 18520) ** (1 / 10.75) - 1) * 100, abs=1e-4)  # 0.5408
    assert value["base_period"] == 2013


def test_territorial_change_is_noted():
    con = observations([gv("A", 2013, "population_total", 10000), gv("A", 2023, "population_total", 14000),
                        gv("A", 2013, "area_km2", 60), gv("A", 2023, "area_km2", 100)])
    value = compute_indicator(con, CATALOGUE.indicators["population_change_10y"]).iloc[0]
    assert value["territorial_change"] == "area_change" and value["excluded_reason"] == "territorial_change"
    # the note says the value is not scored (Nieste's stood unmarked among the values its score rests on)
    assert value["quality_note"] == ("not scored: a territorial change lies within the value's period, so it does not "
                                     "describe the town on its territory; base year 2013; territorial change: the area "
                                     "changed by more than 2 %; the values are not restated to one territory")


def test_partial_transfer_noted_by_the_crosswalk_flags_the_change_across_it():
    rows = [gv("A", year, "population_total", 10000 + 100 * (year - 2013)) for year in (2013, 2018, 2023)]
    rows += [gv("A", year, "area_km2", 50) for year in (2013, 2018, 2023)]
    # the 2018 observation lies in the period of the transfer; its note text must not matter
    rows[1] = (*rows[1][:-1], "anything", "partial_transfer")
    values = compute_indicator(observations(rows), CATALOGUE.indicators["population_change_5y"]).set_index("period")
    assert values.loc[2018, "territorial_change"] == "partial_transfer"  # 2013 -> 2018 spans the transfer
    assert values.loc[2018, "excluded_reason"] == "territorial_change"
    assert "part of the territory moved" in values.loc[2018, "quality_note"]
    assert values.loc[2023, "quality_note"] == "base year 2018"  # 2018 -> 2023 does not
    assert pd.isna(values.loc[2023, "excluded_reason"])


def test_a_split_the_crosswalk_knows_names_itself_though_the_area_changed_too():
    """Dingelstädt: the change lists name a split, and its area moved by more than 2 %: the value said "area
    changed without a known key change". The known change wins; both exclude the value."""
    rows = [gv("A", 2013, "population_total", 10000), (*gv("A", 2023, "population_total", 14000)[:8], "", "split"),
            gv("A", 2013, "area_km2", 60), gv("A", 2023, "area_km2", 100)]
    value = compute_indicator(observations(rows), CATALOGUE.indicators["population_change_10y"]).iloc[0]
    assert (value["territorial_change"], value["excluded_reason"]) == ("split", "territorial_change")


def test_rejected_merger_and_restatement_codes():
    """A rejected inferred step excludes the change across it; a merger restatement is used, with its code."""
    rows = [gv("A", 2013, "population_total", 10000, ) + ("", "merger"),
            gv("A", 2018, "population_total", 10500) + ("", "implausible_step"),
            gv("A", 2023, "population_total", 11000)]
    rows = [r[:8] + r[-2:] if len(r) > 9 else r for r in rows]
    rows += [gv("A", year, "area_km2", 50) for year in (2013, 2018, 2023)]
    values = compute_indicator(observations(rows), CATALOGUE.indicators["population_change_5y"]).set_index("period")
    assert values.loc[2018, ["territorial_change", "excluded_reason"]].tolist() == ["implausible_step",
                                                                                    "implausible_step"]
    assert values.loc[2023, "territorial_change"] is None or pd.isna(values.loc[2023, "territorial_change"])
    ten = compute_indicator(observations(rows), CATALOGUE.indicators["population_change_10y"]).set_index("period")
    assert ten.loc[2023, "territorial_change"] == "implausible_step"  # 2013 -> 2023 spans the 2018 rejection


def test_latest_vintage_wins_for_the_same_reference_date():
    con = observations([gv("A", 2023, "population_total", 100, "2023-12-31"),
                        gv("A", 2023, "population_total", 101, "2024-Q4"),
                        gv("A", 2023, "area_km2", 2)])
    density = compute_indicator(con, CATALOGUE.indicators["population_density"])
    assert density["value"].tolist() == [50.5] and density["vintage"].tolist() == ["2024-Q4"]


def test_base_outside_tolerance_gives_no_value():
    con = observations([gv("A", 2009, "population_total", 100), gv("A", 2023, "population_total", 120)])
    assert compute_indicator(con, CATALOGUE.indicators["population_change_10y"]).empty  # 14 years > 10 +/- 2


def test_carry_forward_is_flagged_and_bounded():
    observed = pd.DataFrame([{"ags": "A", "indicator_id": "gigabit_coverage", "period": 2021, "value": 40.0,
                              "unit": "%", "source_id": "breitbandatlas", "vintage": "2021-mitte",
                              "reference_date": dt.date(2021, 6, 30), "imputed": False, "imputation": None,
                              "quality_note": None}])
    filled = carry_forward(duckdb.connect(), observed, [2021, 2022, 2023, 2024], CATALOGUE).set_index("period")
    assert filled.loc[2022, "imputed"] and filled.loc[2022, "imputation"] == "carried forward from 2021"
    assert filled.loc[2023, "value"] == 40.0
    assert 2024 not in filled.index  # gigabit_coverage carries forward at most 2 years


def test_a_carried_value_does_not_repeat_the_method_break_of_its_year():
    """The break lies between a value and the one before it: the periods a value fills have method_break false and
    their note said 'method break: ...' all the same (a coworking review's build, town_profile 2024)."""
    from indicators.flags import render_method_break

    note = render_method_break("osm_coworking", "local_inputs")
    observed = pd.DataFrame([{"ags": "A", "indicator_id": "gigabit_coverage", "period": 2021, "value": 40.0,
                              "unit": "%", "source_id": "breitbandatlas", "vintage": "2021-mitte",
                              "reference_date": dt.date(2021, 6, 30), "imputed": False, "imputation": None,
                              "quality_note": note, "method_break": True, "source_level": "gemeinde"}])
    filled = carry_forward(duckdb.connect(), observed, [2021, 2022], CATALOGUE).set_index("period")
    assert filled.loc[2021, "method_break"] and filled.loc[2021, "quality_note"] == note  # the break's own year
    assert not filled.loc[2022, "method_break"] and "method break" not in (filled.loc[2022, "quality_note"] or "")
    # a frame without the typed column (carry_forward accepts one) keeps its notes as they are
    plain = observed.drop(columns=["method_break"]).assign(quality_note="value of the Gemeindeverband 01053")
    filled = carry_forward(duckdb.connect(), plain, [2021, 2022], CATALOGUE).set_index("period")
    assert filled.loc[2022, "quality_note"] == "value of the Gemeindeverband 01053"


def test_a_value_carried_across_a_split_describes_the_old_territory_and_is_not_scored():
    """Dingelstädt (16061118) received most of two Gemeinden dissolved on 1 January 2023 (registers 31.12.2021 ->
    31.12.2023): its broadband share of mid-2021 still fills 2021 and 2022 as it was (the later register is after
    2022), but carried into 2023 it describes its old area; it was carried untyped (digital pillar review, 5 December
    2026). A minor transfer (a few inhabitants) keeps the value scored; a value already excluded keeps its reason."""
    from indicators.compute import across_transfers

    row = {"indicator_id": "gigabit_coverage", "period": 2021, "value": 1.17, "unit": "%", "source_id": "breitbandatlas",
           "vintage": "2021-mitte", "reference_date": dt.date(2021, 6, 30), "imputed": False, "imputation": None,
           "quality_note": "", "source_level": "gemeinde"}
    observed = pd.DataFrame([{**row, "ags": "16061118"}, {**row, "ags": "B"},
                             {**row, "ags": "C", "territorial_change": "implausible_step",
                              "excluded_reason": "implausible_step"}])
    transfers = pd.DataFrame([
        ("16061118", pd.Timestamp(2021, 12, 31), pd.Timestamp(2023, 12, 31), "split",
         "split: receives territory from 16064073 (...)"),
        ("B", pd.Timestamp(2021, 12, 31), pd.Timestamp(2023, 12, 31), "minor_transfer", "minor_transfer: ..."),
        ("C", pd.Timestamp(2021, 12, 31), pd.Timestamp(2023, 12, 31), "split", "split: ...")],
        columns=["ags", "_start", "_end", "_code", "_note"])
    plain = carry_forward(duckdb.connect(), observed, [2021, 2022, 2023], CATALOGUE)
    typed = carry_forward(duckdb.connect(), observed, [2021, 2022, 2023], CATALOGUE, transfers)
    assert plain["excluded_reason"].isna().sum() == 6  # without the transfers: every row of A and B scored
    by = typed.set_index(["ags", "period"])
    assert by.loc[[("16061118", 2021), ("16061118", 2022)], "excluded_reason"].isna().all()
    assert by.loc[[("16061118", 2021), ("16061118", 2022)], "territorial_change"].isna().all()
    assert by.loc[("16061118", 2023), "excluded_reason"] == "territorial_change"
    assert by.loc[("16061118", 2023), "territorial_change"] == "split"
    assert by.loc[("16061118", 2023), "quality_note"].startswith("not scored")
    assert pd.isna(by.loc[("B", 2023), "excluded_reason"])  # minor: scored, typed
    assert by.loc[("B", 2023), "territorial_change"] == "minor_transfer"
    assert (by.loc[[("C", p) for p in (2021, 2022, 2023)], "excluded_reason"] == "implausible_step").all()
    # after the change's period, a value observed on the new territory is carried untyped again
    later = pd.DataFrame([{**row, "ags": "16061118", "period": 2024, "reference_date": dt.date(2024, 6, 30)}])
    assert across_transfers(later.assign(territorial_change=None, excluded_reason=None, base_period=None),
                            transfers)["excluded_reason"].isna().all()


def test_a_value_dated_before_a_later_split_no_longer_claims_todays_territory():
    """Dingelstädt's broadband share of mid-2021, restated over its 2019 merger, read "restated to the current
    territory", but the parts of Dünwald and Anrode it received on 1 January 2023 are not in it (three audits of
    7 December 2026). A Gemeinde value whose code places it on today's territory and that is dated on or before the
    earlier register around a split or partial transfer of its town (receiving or giving) gets the code of its
    earlier territory, the restatement's caveat kept; its exclusion, if any, stays. An untyped value, a value after
    the change, a Verband's value and one of a town with a minor transfer only keep their codes."""
    from indicators.compute import ensure_flag_columns

    con = observations([
        (*bba("16061118", "2021-mitte", 2021, "households_all_100", 90.34), "merger_weighted"),
        (*bba("16061118", "2019-ende", 2019, "households_all_100", 130.0), "merger_weighted"),  # impossible value
        bba("16061118", "2020-ende", 2020, "households_all_100", 89.57),  # untyped: claims nothing
        (*bba("16061118", "2024-ende", 2024, "households_all_100", 95.0), "merger"),  # after the change
        (*bba("D", "2021-mitte", 2021, "households_all_100", 60.0), "merger"),  # the giving side
        (*bba("E", "2021-mitte", 2021, "households_all_100", 65.0), "merger_weighted"),  # a Verband's value
        (*bba("B", "2021-mitte", 2021, "households_all_100", 80.0), "merger"),  # a minor transfer only
        (*bba("C", "2021-mitte", 2021, "households_all_100", 70.0), "implausible_step")])
    ensure_flag_columns(con)
    con.execute("UPDATE observations SET source_level = 'gemeindeverband' WHERE ags = 'E'")
    transfers = pd.DataFrame([side("16061118", 2021, 2023, "split"), side("D", 2021, 2023, "partial_transfer"),
                              side("E", 2021, 2023, "split"), side("B", 2021, 2023, "minor_transfer"),
                              side("C", 2021, 2023, "partial_transfer")], columns=SIDES)
    indicator = CATALOGUE.indicators["broadband_100_coverage"]
    plain = compute_indicator(con, indicator).set_index(["ags", "period"])
    typed = compute_indicator(con, indicator, transfers=transfers).set_index(["ags", "period"])
    assert plain.loc[("16061118", 2021), "quality_note"].startswith("restated to the current territory")
    code = typed.loc[("16061118", 2021), "territorial_change"]
    assert code == "earlier_territory_weighted" and pd.isna(typed.loc[("16061118", 2021), "excluded_reason"])
    assert typed.loc[("16061118", 2021), "quality_note"] == flags.label(code, "en")
    assert "current territory" not in flags.label(code, "en") and "approximate weight" in flags.label(code, "en")
    assert "heutigen" not in flags.label(code, "de") and "Näherung" in flags.label(code, "de")
    assert typed.loc[("16061118", 2019), "territorial_change"] == "earlier_territory_weighted"
    assert typed.loc[("16061118", 2019), "excluded_reason"] == "impossible_value"  # the exclusion stays
    assert typed.loc[("D", 2021), "territorial_change"] == "earlier_territory"
    for key, kept in [(("16061118", 2020), None), (("16061118", 2024), "merger"), (("E", 2021), "merger_weighted"),
                      (("B", 2021), "merger"), (("C", 2021), "implausible_step")]:
        assert typed.loc[key, "territorial_change"] == kept or (kept is None and pd.isna(typed.loc[key, "territorial_change"]))
    assert typed["excluded_reason"].fillna("").sort_index().equals(plain["excluded_reason"].fillna("").sort_index())
    # carried into 2022 (before the later register) it keeps the code; into 2023 it is left out as carried across
    values = carry_forward(duckdb.connect(), typed.reset_index(), [2021, 2022, 2023], CATALOGUE, transfers)
    by = values[values["ags"] == "16061118"].set_index("period")
    assert by.loc[2022, "territorial_change"] == "earlier_territory_weighted" and pd.isna(by.loc[2022, "excluded_reason"])
    assert by.loc[2023, "territorial_change"] == "split" and by.loc[2023, "excluded_reason"] == "territorial_change"


def carried(ags: str, day: dt.date, period: int, change=None) -> dict:
    """A carried gigabit value of ``ags`` observed on ``day``, filling ``period``, with a territorial code."""
    return {"ags": ags, "indicator_id": "gigabit_coverage", "period": period, "value": 50.0, "unit": "%",
            "source_id": "breitbandatlas", "vintage": "2021-mitte", "reference_date": day, "imputed": True,
            "imputation": None, "quality_note": "", "source_level": "gemeinde", "territorial_change": change,
            "excluded_reason": None, "base_period": None}


def side(ags: str, start: int, end: int, code: str) -> tuple:
    return (ags, pd.Timestamp(start, 12, 31), pd.Timestamp(end, 12, 31), code, f"{code}: ...")


SIDES = ["ags", "_start", "_end", "_code", "_note"]


@pytest.mark.parametrize("sides", [
    [side("A", 2021, 2022, "split"), side("A", 2022, 2023, "minor_transfer")],  # a later minor transfer
    [side("A", 2021, 2023, "split"), side("A", 2021, 2023, "minor_transfer")],  # both in one window, minor last
    [side("A", 2021, 2023, "minor_transfer"), side("A", 2021, 2023, "split")]])
def test_a_split_wins_over_a_minor_transfer_the_value_is_also_carried_across(sides):
    """Review of 5 December: the latest change decided, and a minor one after (or listed after) a split left the
    value scored; untyped or typed by a restatement, a value carried across a split is not scored."""
    from indicators.compute import across_transfers

    filled = pd.DataFrame([carried("A", dt.date(2021, 6, 30), 2023),
                           carried("A", dt.date(2021, 6, 30), 2023, "merger_weighted")])
    result = across_transfers(filled, pd.DataFrame(sides, columns=SIDES))
    assert result["excluded_reason"].tolist() == ["territorial_change"] * 2
    assert result["territorial_change"].tolist() == ["split"] * 2


def test_the_change_counts_from_the_value_s_date_to_the_end_of_the_period_both_ends_as_the_registers_say():
    from indicators.compute import across_transfers

    transfers = pd.DataFrame([side("A", 2021, 2023, "split")], columns=SIDES)
    filled = pd.DataFrame([carried("A", dt.date(2023, 12, 31), 2024),   # the later register's own date: after it
                           carried("A", dt.date(2021, 6, 30), 2023),    # the register at the period's last day
                           carried("A", dt.date(2021, 6, 30), 2022),    # the period ends before the register
                           carried("B", dt.date(2021, 6, 30), 2023)])   # another town
    assert across_transfers(filled, transfers)["excluded_reason"].tolist() == [None, "territorial_change", None, None]


def test_territory_transfers_reads_the_crosswalk_s_tables_with_today_s_keys():
    """The sides the indicator step passes to carry_forward, from the working database's tables: a split's
    receiver under the key it has today (a recode after the split), a partial transfer of a few inhabitants minor."""
    from indicators.compute import territory_transfers

    con = duckdb.connect()
    con.execute("""CREATE TABLE municipality_register AS SELECT * FROM (VALUES
        ('2021-12-31', DATE '2021-12-31'), ('2023-12-31', DATE '2023-12-31')) t(vintage, territorial_date)""")
    con.execute("""CREATE TABLE territorial_keys AS SELECT * FROM (VALUES
        ('2023-12-31', '16061118', '16061999'), ('2021-12-31', '16064073', '16064073')) t(vintage, ags, current_ags)""")
    con.execute("""CREATE TABLE territorial_changes AS SELECT * FROM (VALUES
        ('2021-12-31', '2023-12-31', '16064073', '16061118', 'split', 'Destatis', 'official', 1699.0, 54.1),
        ('2021-12-31', '2023-12-31', '16064080', '16064081', 'partial_transfer', 'Destatis', 'official', 3.0, 0.1),
        ('2021-12-31', '2023-12-31', '16064082', '16064083', 'merger', 'Destatis', 'official', NULL, NULL))
        t(from_vintage, to_vintage, from_ags, to_ags, kind, evidence, plausibility, moved_population, moved_share)""")
    sides = territory_transfers(con).set_index("ags")
    assert sides.loc["16061999", "_code"] == "split" and sides.loc["16064073", "_code"] == "split"
    assert sides.loc["16061999", "_end"] == pd.Timestamp(2023, 12, 31)
    assert sides.loc["16064081", "_code"] == "minor_transfer"
    assert "16064083" not in sides.index  # a merger is restated, not a transfer


def test_index_periods_start_when_every_pillar_has_data():
    observed = pd.DataFrame({"indicator_id": ["gigabit_coverage", "out_commuter_share", "population_change_5y",
                                              "population_change_5y", "transit_stop_distance"],
                             "period": [2018, 1997, 2013, 2023, 2018]})
    assert index_periods(observed, CATALOGUE) == list(range(2018, 2024))
    # without the accessibility pillar (required from method version 0.3.0) there is no index period
    assert index_periods(observed.iloc[:4], CATALOGUE) == []


def test_nearer_base_year_wins_a_tie():
    con = observations([gv("A", 2009, "population_total", 100.0), gv("A", 2013, "population_total", 110.0),
                        gv("A", 2021, "population_total", 121.0)])
    result = compute_indicator(con, CATALOGUE.indicators["population_change_10y"]).set_index("period")
    assert result.loc[2021, "quality_note"] == "base year 2013"  # 8 and 12 years are equally far from 10


def test_indicator_docs_are_generated_from_the_catalogue():
    import subprocess
    import sys
    check = subprocess.run([sys.executable, "-m", "indicators.docs", "--check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_rendered_notes_equal_the_note_of_each_row():
    """Rendered once per combination, every row gets exactly what render_value_note gives it (None included)."""
    from indicators import compute, flags

    codes = pd.Series(["merger", None, "merger", "recode", None, float("nan")], dtype=object)
    levels = pd.Series(["gemeinde", "gemeindeverband", "gemeinde", None, "gemeinde", "gemeinde"], dtype=object)
    bases = pd.Series([2015, None, 2015, 2016.0, None, None], dtype=object)
    expected = [flags.render_value_note(c, False, lv, b) for c, lv, b in zip(codes, levels, bases)]
    assert compute.rendered_notes(codes, levels, bases).tolist() == expected
    assert expected[1] is not None and expected[4] is None  # both kinds occur
    reasons = pd.Series([None, "impossible_value", "impossible_value", None, "context_indicator", None], dtype=object)
    expected = [flags.render_value_note(c, False, lv, b, excluded_reason=r)
                for c, lv, b, r in zip(codes, levels, bases, reasons)]
    assert compute.rendered_notes(codes, levels, bases, reasons).tolist() == expected
    assert expected[1].startswith("not scored: outside the values") and expected[0] != expected[2]
    assert compute.rendered_notes(codes[:0], levels[:0], bases[:0]).tolist() == []


def inkar(ags, year, value):
    return ("inkar", "2022-12", ags, "gemeinde", dt.date(year, 12, 31), "commuters_50km_share", value,
            "% of employees at residence", None)


def test_a_share_above_100_percent_is_kept_but_never_scored():
    """INKAR 2022-12 (x354) gives Ballenstedt (15085040) 110.12 % long-distance commuters for 2013 (10.93 % in
    2014): a publisher error. It stays in the table as published, typed impossible_value with a note, so the
    index leaves it out; 100.4 % is the rounding the tolerance allows, -0.5 too, -2 % is impossible."""
    con = observations([inkar("15085040", 2013, 110.12), inkar("15085040", 2014, 10.93),
                        inkar("01053090", 2013, 100.4), inkar("01053090", 2014, -0.5), inkar("01053090", 2015, -2.0)])
    result = compute_indicator(con, CATALOGUE.indicators["long_distance_commuter_share"]).set_index(["ags", "period"])
    assert result.loc[("15085040", 2013), "value"] == 110.12
    assert result.loc[("15085040", 2013), "excluded_reason"] == "impossible_value"
    assert result.loc[("15085040", 2013), "quality_note"] == (
        "not scored: outside the values the quantity can take (publisher error)")
    assert result.loc[("01053090", 2015), "excluded_reason"] == "impossible_value"
    scored = set(result[result["excluded_reason"].isna()].index)
    assert scored == {("15085040", 2014), ("01053090", 2013), ("01053090", 2014)}


def out_share(ags, year, value, source="inkar"):
    return (source, "2022-12" if source == "inkar" else "2016", ags, "gemeinde", dt.date(year, 6, 30),
            "out_commuter_share", value, "% of employees at residence", None)


def test_a_year_that_leaps_away_from_its_series_and_back_is_kept_but_never_scored():
    """INKAR 2022-12 gives Zehdenick 86.66, 22.82, 87.58 % out-commuters in 1998-2000, and 13 more Brandenburg
    Verbände a 1999 as far off: one release, so the release check never compared the years (third data review of
    5 December). A year beyond INKAR's yoy_points (40, sources.yaml) from both neighbours, the same way, is typed
    series_spike; a lasting step, a leap back of less than the bound, the ends of a series and a neighbour from
    another source are not."""
    rows = [out_share("12065356", 1998, 86.66), out_share("12065356", 1999, 22.82), out_share("12065356", 2000, 87.58),
            out_share("12065356", 2001, 88.0),
            out_share("01053090", 2010, 40.0), out_share("01053090", 2011, 85.0), out_share("01053090", 2012, 41.0),
            out_share("06439012", 2010, 80.0), out_share("06439012", 2011, 39.0), out_share("06439012", 2012, 40.0),
            out_share("09181114", 2010, 80.0), out_share("09181114", 2011, 41.0), out_share("09181114", 2012, 80.5),
            out_share("14628060", 2015, 20.0), out_share("14628060", 2016, 75.0, "pendleratlas"),
            out_share("14628060", 2017, 21.0)]
    result = compute_indicator(observations(rows), CATALOGUE.indicators["out_commuter_share"])
    spikes = set(map(tuple, result.loc[result["excluded_reason"] == "series_spike", ["ags", "period"]].to_numpy()))
    assert spikes == {("12065356", 1999), ("01053090", 2011)}
    row = result[(result["ags"] == "12065356") & (result["period"] == 1999)].iloc[0]
    assert row["value"] == 22.82 and row["quality_note"].startswith("not scored: differs from the values of the year")
    assert flags.label("series_spike", "de").startswith("nicht bewertet: weicht vom Wert des Vorjahres")


def bba(ags, vintage, year, measure, value):
    month, day = (12, 31) if vintage.endswith("ende") else (6, 30)
    return ("breitbandatlas", vintage, ags, "gemeinde", dt.date(year, month, day), measure, value, "% of households",
            None)


def test_a_total_above_the_sum_of_its_technologies_is_kept_but_never_scored():
    """The Breitbandatlas of end 2020 gives Ludwigsstadt (09476152) 94.75 % gigabit households over all
    technologies, with 0.25 % by cable and 0.25 % by fibre; mid-2021 it is 0.25 %. 94.75 is the total of
    09672113, whose cable gives it. A total its own breakdown contradicts is kept as published, typed
    inconsistent_value with a note, and never scored; a total without a breakdown is not checked."""
    con = observations([
        bba("09476152", "2020-ende", 2020, "households_all_1000", 94.75),
        bba("09476152", "2020-ende", 2020, "households_catv_1000", 0.25),
        bba("09476152", "2020-ende", 2020, "households_ftthb_1000", 0.25),
        bba("09476152", "2021-mitte", 2021, "households_all_1000", 0.25),
        bba("09476152", "2021-mitte", 2021, "households_catv_1000", 0.25),
        bba("09476152", "2021-mitte", 2021, "households_ftthb_1000", 0.25),
        bba("09672113", "2020-ende", 2020, "households_all_1000", 94.75),
        bba("09672113", "2020-ende", 2020, "households_catv_1000", 94.75),
        bba("09672113", "2020-ende", 2020, "households_ftthb_1000", 0.18),
        bba("01053090", "2020-ende", 2020, "households_all_1000", 60.0),  # no breakdown
        bba("01053090", "2021-mitte", 2021, "households_all_1000", 61.0),  # 0.5 above its parts: rounding
        bba("01053090", "2021-mitte", 2021, "households_ftthb_1000", 60.5)])
    result = compute_indicator(con, CATALOGUE.indicators["gigabit_coverage"]).set_index(["ags", "period"])
    assert result.loc[("09476152", 2020), "value"] == 94.75
    assert result.loc[("09476152", 2020), "excluded_reason"] == "inconsistent_value"
    assert result.loc[("09476152", 2020), "quality_note"].startswith("not scored: larger than the sum of its parts")
    assert set(result[result["excluded_reason"].isna()].index) == {
        ("09476152", 2021), ("09672113", 2020), ("01053090", 2020), ("01053090", 2021)}


def test_a_total_is_checked_only_against_a_full_breakdown():
    """The Gigabit-Grundbuch (end 2025) breaks 1000 Mbit/s down into fibre and others, without cable: Hessian
    06431010 has 89.94 % in total and 8.50 % FTTB/H, the rest by cable; no contradiction. A Breitbandatlas
    release whose cable share is suppressed (NULL) has no full breakdown either: not checked."""
    grundbuch = ("gigabit_grundbuch", "12_2025", "06431010", "gemeinde", dt.date(2025, 12, 31))
    con = observations([
        (*grundbuch, "households_all_1000", 89.94, "% of households", None),
        (*grundbuch, "households_ftthb_1000", 8.50, "% of households", None),
        bba("09476152", "2020-ende", 2020, "households_all_1000", 94.75),
        bba("09476152", "2020-ende", 2020, "households_catv_1000", None),
        bba("09476152", "2020-ende", 2020, "households_ftthb_1000", 0.25)])
    result = compute_indicator(con, CATALOGUE.indicators["gigabit_coverage"])
    assert result["excluded_reason"].isna().all() and len(result) == 2


@pytest.mark.parametrize("declared, message", [
    ("[households_catv_1000]", r"at_most_sum_of \['households_catv_1000'\] must map each source id"),
    ("{inkar: [households_catv_1000]}", r"at_most_sum_of names sources \['inkar'\] that are not the indicator's"),
    ("{breitbandatlas: []}", r"at_most_sum_of .* must map each source id to a list of measures")])
def test_a_wrong_at_most_sum_of_fails_naming_the_indicator(tmp_path, declared, message):
    from indicators.catalogue import CATALOGUE_YAML

    text = CATALOGUE_YAML.read_text(encoding="utf-8")
    broken = tmp_path / "catalogue.yaml"
    given = "    at_most_sum_of:\n      breitbandatlas: [households_catv_1000, households_ftthb_1000]\n"
    assert given in text
    broken.write_text(text.replace(given, f"    at_most_sum_of: {declared}\n", 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"indicator gigabit_coverage: " + message):
        load_catalogue(broken)


def test_at_most_sum_of_is_only_for_observed_values(tmp_path):
    from indicators.catalogue import CATALOGUE_YAML

    text = CATALOGUE_YAML.read_text(encoding="utf-8")
    broken = tmp_path / "catalogue.yaml"
    moved = text.replace("    at_most_sum_of:\n      breitbandatlas: [households_catv_1000, households_ftthb_1000]\n", "", 1)
    moved = moved.replace("    method: annualised_change\n",
                          "    method: annualised_change\n    at_most_sum_of: {destatis_gemeindeverzeichnis: [area_km2]}\n", 1)
    broken.write_text(moved, encoding="utf-8")
    with pytest.raises(ValueError, match=r"at_most_sum_of is only for method: observed"):
        load_catalogue(broken)


def test_an_indicator_without_a_possible_range_takes_any_value():
    con = observations([gv("A", 2013, "population_total", 10000), gv("A", 2023, "population_total", 1),
                        gv("A", 2013, "area_km2", 50), gv("A", 2023, "area_km2", 50)])
    value = compute_indicator(con, CATALOGUE.indicators["population_change_10y"]).iloc[0]
    assert value["value"] < -50 and value["excluded_reason"] is None  # a town emptied: possible, if rare


def test_a_possible_range_that_is_no_range_fails_naming_the_indicator(tmp_path):
    from indicators.catalogue import CATALOGUE_YAML

    text = CATALOGUE_YAML.read_text(encoding="utf-8")
    broken = tmp_path / "catalogue.yaml"
    broken.write_text(text.replace("possible_range: [0, 100]", "possible_range: [100, 0]", 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"indicator gigabit_coverage: possible_range \[100.0, 0.0\] must be"):
        load_catalogue(broken)


def test_an_indicator_unit_without_german_wording_fails_naming_the_indicator(tmp_path):
    """Pages and the German exports word every unit; a new unit must be declared under ``units``."""
    from indicators.catalogue import CATALOGUE_YAML

    text = CATALOGUE_YAML.read_text(encoding="utf-8")
    broken = tmp_path / "catalogue.yaml"
    broken.write_text(text.replace('unit: "% of households"', 'unit: "% of dwellings"', 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"indicator gigabit_coverage: unit '% of dwellings' has no German wording"):
        load_catalogue(broken)
    assert load_catalogue().units["% of households"] == "% der Haushalte"


def test_the_ba_gemeinde_figure_outranks_inkar_of_the_same_year():
    """The catalogue ranks the BA's Gemeinde figure before INKAR's Verband figure. Both are the BA's counts of
    30 June; INKAR's were dated 31.12, and a year's newest date comes first, so INKAR won without a word."""
    from sources.inkar import DAY_OF_YEAR
    inkar_day = dt.date.fromisoformat(f"2019{DAY_OF_YEAR['x352']}")
    con = observations([("inkar", "2022-12", "01053090", "gemeinde", inkar_day, "out_commuter_share", 58.95, "%", ""),
                        ("ba_commuting", "2019-06", "01053090", "gemeinde", dt.date(2019, 6, 30), "out_commuter_share",
                         62.0, "%", "")])
    [row] = compute_indicator(con, CATALOGUE.indicators["out_commuter_share"]).itertuples()
    assert (row.source_id, row.value, row.reference_date) == ("ba_commuting", 62.0, pd.Timestamp("2019-06-30"))


def test_a_page_never_shows_more_decimals_than_a_unit_is_published_with(tmp_path):
    """A page showed Wesertal's restated stop share as 92,73 and its downloads 93 (value_decimals 0): the unit's
    page decimals may not exceed its value_decimals (review of 5 December 2026)."""
    from indicators.catalogue import CATALOGUE_YAML

    assert all(CATALOGUE.unit_decimals[u] <= CATALOGUE.value_decimals[u] for u in CATALOGUE.value_decimals)
    broken = tmp_path / "catalogue.yaml"
    broken.write_text(CATALOGUE_YAML.read_text(encoding="utf-8").replace(
        'count: {de: Anzahl, decimals: 0, value_decimals: 0}', 'count: {de: Anzahl, decimals: 1, value_decimals: 0}',
        1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"'count' decimals \(1\) must not exceed value_decimals \(0\)"):
        load_catalogue(broken)


def test_a_unit_without_decimals_fails_naming_the_unit(tmp_path):
    from indicators.catalogue import CATALOGUE_YAML

    broken = tmp_path / "catalogue.yaml"
    broken.write_text(CATALOGUE_YAML.read_text(encoding="utf-8").replace(
        'count: {de: Anzahl, decimals: 0, value_decimals: 0}', 'count: {de: Anzahl}', 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"catalogue units: 'count' needs de .* decimals and value_decimals"):
        load_catalogue(broken)


def test_for_one_reference_date_the_later_release_wins_in_time_order_not_text_order():
    """The same Stichtag in a quarterly file ('2025-Q2', 30.06.2025) and in the later annual one ('2025-12-31', a
    corrected figure): the annual release wins, although '2025-Q2' sorts after it as text."""
    rows = [gv("A", 2024, "population_total", 5000, vintage="2025-Q2"),
            gv("A", 2024, "population_total", 5050, vintage="2025-12-31"),
            gv("A", 2024, "area_km2", 10, vintage="2025-Q2"),
            gv("A", 2024, "area_km2", 10, vintage="2025-12-31")]
    density = compute_indicator(observations(rows), CATALOGUE.indicators["population_density"])
    assert density[["vintage", "value"]].values.tolist() == [["2025-12-31", 505.0]]


def test_density_is_on_the_current_territory_like_the_population_changes():
    """Dippoldiswalde 2013, before its 2014 merger with Schmiedeberg: the register's own 10,023 inhabitants on
    63.37 km² (158.2 per km²) described the predecessor, and were carried forward into 2018 as the merged town's
    density; restated onto today's territory (14,498 on 104.12 km²) it is 139.2."""
    rows = [gv("D", 2013, "population_total", 10023, current_territory=False),
            gv("D", 2013, "area_km2", 63.37, current_territory=False),
            gv("D", 2013, "population_total", 14498), gv("D", 2013, "area_km2", 104.12)]
    density = compute_indicator(observations(rows), CATALOGUE.indicators["population_density"])
    assert density["value"].tolist() == [round(14498 / 104.12, 4)]


def test_a_density_on_another_territory_is_flagged_as_the_population_change_across_it():
    """Wittstock/Dosse (12068468, Germany-wide build of 5 December 2026): the crosswalk did not explain its
    2003 merger, so 2002's "current territory" is the old town's (12,022 inhabitants on 96.94 km²: 124.0 per km²)
    against 420.21 km² today. The population change across it is 'area_change' and left out; the density of 2002
    stood unflagged beside it. Now it carries the same code by the same test (inhabited area moved > 2 %, here
    against the latest area); 2009 on 417.20 km² (0.7 % off) stays unflagged."""
    rows = [gv_km2("W", 2002, "population_total", 12022), gv_km2("W", 2002, "area_km2", 96.94),
            gv_km2("W", 2009, "population_total", 15407), gv_km2("W", 2009, "area_km2", 417.20),
            gv_km2("W", 2013, "population_total", 14631), gv_km2("W", 2013, "area_km2", 420.24),
            gv_km2("W", 2023, "population_total", 13994), gv_km2("W", 2023, "area_km2", 420.21)]
    density = compute_indicator(observations(rows), CATALOGUE.indicators["population_density"]).set_index("period")
    assert density.loc[2002, "value"] == round(12022 / 96.94, 4)  # the value stays, typed
    assert density.loc[2002, "territorial_change"] == "area_change"
    assert density.loc[2002, "excluded_reason"] == "territorial_change"
    assert "the area changed by more than 2 %" in density.loc[2002, "quality_note"]
    assert density.loc[2009, "territorial_change"] is None and density.loc[2023, "territorial_change"] is None
    change = compute_indicator(observations(rows), CATALOGUE.indicators["population_change_10y"]).set_index("period")
    assert change.loc[2013, "base_period"] == 2002
    assert change.loc[2013, "territorial_change"] == "area_change"  # the code the density now shares



def commuting(ags, year, measure, value, territorial_change=None):
    return ("inkar", "2022-12", ags, "gemeinde", dt.date(year, 6, 30), measure, value, "% of employees at residence",
            None, territorial_change)


def test_a_value_the_publisher_restated_across_a_merger_is_scored_with_its_note():
    """Werra-Suhl-Tal (16063103) was formed on 01.01.2019; INKAR gives its out-commuter share as 81.16 % for 2018
    and 59.69 % for 2019. The 2018 value is INKAR's restatement onto the later territory (staging types it
    publisher_restated): scored like the crosswalk's own restatements, with the note saying so (English in the
    warehouse, German on the pages); leaving it out would move the commuting pillar far more than its bias."""
    con = observations([commuting("16063103", 2018, "out_commuter_share", 81.16, "publisher_restated"),
                        commuting("16063103", 2019, "out_commuter_share", 59.69)])
    shares = compute_indicator(con, CATALOGUE.indicators["out_commuter_share"]).set_index(["ags", "period"])
    assert shares.loc[("16063103", 2018), "excluded_reason"] is None
    assert shares.loc[("16063103", 2018), "quality_note"] == (
        "restated by the publisher onto the Gemeinde's later territory: dated before the merger that gave it that "
        "territory (approximate)")
    assert shares.loc[("16063103", 2019), "quality_note"] is None
    assert flags.label("publisher_restated", "de").startswith("vom Herausgeber auf das spätere Gemeindegebiet")


def test_the_measured_2015_break_of_inkars_verband_out_commuter_shares_is_a_method_break():
    """sources.yaml declares the break measured in INKAR's Verband out-commuter shares from mid-2015 (Schleswig-
    Holstein, Rheinland-Pfalz, Thüringen): the first value on or after 30.06.2015 of a member's Verband series is a
    method break naming both generations; a Bayern Verband, a Gemeinde's own value and the long-distance share of
    the same Verband are not."""
    from sources.registry import load_sources

    specs = load_sources()
    generations = {s: spec.generation for s, spec in specs.items() if spec.generation}
    breaks = tuple(b for spec in specs.values() for b in spec.generation_breaks)
    rows = []
    for ags, level in (("01053025", "gemeindeverband"), ("09181111", "gemeindeverband"), ("01053090", "gemeinde")):
        for year, value in ((2013, 93.1), (2014, 93.05), (2015, 82.87), (2016, 82.5)):
            for measure in ("out_commuter_share", "commuters_50km_share"):
                rows.append(("inkar", "2022-12", ags, "gemeinde", dt.date(year, 6, 30), measure, value, "%", "", level))
    frame = pd.DataFrame(rows, columns=["source_id", "vintage", "ags", "level", "reference_date", "measure", "value",
                                        "unit", "note", "source_level"])
    con = duckdb.connect()
    con.execute("CREATE TABLE observations AS SELECT *, CAST(NULL AS VARCHAR) AS territorial_change FROM frame")
    out = compute_indicator(con, CATALOGUE.indicators["out_commuter_share"], generations, breaks=breaks)
    broken = out[out["method_break"]]
    assert list(zip(broken["ags"], broken["period"])) == [("01053025", 2015)]
    assert broken["quality_note"].iloc[0].endswith(
        "method break: BA-Beschäftigungsstatistik (Pendler am 30.06.) -> INKAR, Verband-Auspendlerquote ab 2015 "
        "(Bruch in SH, RP, TH gemessen)")
    assert not compute_indicator(con, CATALOGUE.indicators["out_commuter_share"], generations)["method_break"].any()
    distance = compute_indicator(con, CATALOGUE.indicators["long_distance_commuter_share"], generations, breaks=breaks)
    assert len(distance) == 12 and not distance["method_break"].any()


@pytest.mark.parametrize("entry, problem", [
    ({"measure": "m", "source_level": "gemeindeverband", "laender": ["1"], "from": "2015-06-30", "generation": "g"},
     "laender must list two-digit Land keys"),
    ({"measure": "m", "source_level": "gemeindeverband", "laender": ["01"], "from": "mid-2015", "generation": "g"},
     "from must be a date"),
    ({"measure": "m", "laender": ["01"], "from": "2015-06-30", "generation": "g"}, "needs exactly"),
    ({"measure": "m", "source_level": "verband", "laender": ["01"], "from": dt.date(2015, 6, 30), "generation": "g"},
     "source_level must be one of gemeinde, gemeindeverband")])
def test_a_malformed_generation_break_fails_naming_the_source_and_entry(tmp_path, entry, problem):
    import yaml

    from sources.registry import SOURCES_YAML, load_sources

    raw = yaml.safe_load(SOURCES_YAML.read_text(encoding="utf-8"))
    raw["sources"]["inkar"]["generation_breaks"] = [entry]
    broken = tmp_path / "sources.yaml"
    broken.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"source inkar generation_breaks entry 1: {problem}"):
        load_sources(broken)


def register_population(ags, year, value, vintage=None):
    """The register's population on today's territory (staging/crosswalk.py), 31.12. of ``year``."""
    return gv(ags, year, "population_total", value, vintage)


def test_a_household_share_of_an_area_without_inhabitants_is_kept_but_never_scored():
    """The Breitbandatlas gives shares of households for 114 gemeindefreie Gebiete the Gemeindeverzeichnis lists
    with 0 inhabitants (Sachsenwald, 01053105: 74.56 % with 100 Mbit/s at the end of 2019); they stood in the
    digital pillar of readiness_index 2018-2021 (digital pillar review, 5 December). An area with 0 inhabitants at
    the registers before and after the value's date is typed no_inhabitants and never scored; an area the earlier
    register does not list is decided by the later one alone; an area inhabited at either register, or with no
    register population at all, keeps its value scored."""
    con = observations([
        bba("01053105", "2019-ende", 2019, "households_all_100", 74.56),  # uninhabited in 2013 and 2021
        register_population("01053105", 2013, 0), register_population("01053105", 2021, 0),
        bba("09184461", "2019-ende", 2019, "households_all_100", 0.0),  # listed from 2021 only, with 0
        register_population("09184461", 2021, 0),
        bba("01053090", "2019-ende", 2019, "households_all_100", 80.0),  # Mölln: inhabited
        register_population("01053090", 2013, 18500), register_population("01053090", 2021, 19000),
        bba("03153504", "2019-ende", 2019, "households_all_100", 70.17),  # 12 people left after 2013: inhabited then
        register_population("03153504", 2013, 12), register_population("03153504", 2021, 0),
        bba("03153504", "2022-ende", 2022, "households_all_100", 71.0),  # ... and nobody between 2021 and 2023
        register_population("03153504", 2023, 0),
        bba("09999999", "2019-ende", 2019, "households_all_100", 50.0)])  # no register population: unknown, not 0
    result = compute_indicator(con, CATALOGUE.indicators["broadband_100_coverage"]).set_index(["ags", "period"])
    assert result.loc[("01053105", 2019), "value"] == 74.56  # kept as published
    assert result.loc[("01053105", 2019), "excluded_reason"] == "no_inhabitants"
    assert result.loc[("01053105", 2019), "quality_note"] == flags.label("no_inhabitants", "en")
    assert flags.label("no_inhabitants", "de").startswith("nicht bewertet: das Gebiet hatte zum Stichtag keine")
    excluded = set(result[result["excluded_reason"].notna()].index)
    assert excluded == {("01053105", 2019), ("09184461", 2019), ("03153504", 2022)}


def test_one_register_years_from_the_value_does_not_say_the_area_was_empty_then():
    """Gutsbezirk Münsingen (08415971), a training area first listed in 2013 with 0 inhabitants, has INKAR
    out-commuter shares of 1997-2004 from real counts (80, 75, 74.07 = 20/27 %): the 2013 register alone typed them
    no_inhabitants (review of 5 December 2026). One register decides alone only within five years of the value."""
    def share(year, value):
        return ("inkar", "2022-12", "08415971", "gemeinde", dt.date(year, 6, 30), "out_commuter_share", value,
                "% of employees at residence", None)

    con = observations([register_population("08415971", 2013, 0), share(1997, 80.0), share(2004, 92.16),
                        share(2009, 100.0)])
    result = compute_indicator(con, CATALOGUE.indicators["out_commuter_share"]).set_index("period")
    assert result["excluded_reason"].to_dict() == {1997: None, 2004: None, 2009: "no_inhabitants"}


def test_a_share_of_residents_and_of_employees_of_an_area_without_inhabitants_is_not_scored_either():
    """Every per_inhabitant unit (indicators/catalogue.yaml) is tested: INKAR's share of residents near a stop and
    its out-commuter share of an uninhabited area are typed no_inhabitants; car minutes (an area's average) are not
    per inhabitant and stay scored."""
    def inkar_value(measure, value, unit):
        return ("inkar", "2022-12", "09184461", "gemeinde", dt.date(2018, 12, 31), measure, value, unit, None)

    con = observations([register_population("09184461", 2021, 0),
                        inkar_value("residents_within_1km_of_transit_stop_share", 0.0, "% of residents"),
                        inkar_value("out_commuter_share", 100.0, "% of employees at residence"),
                        inkar_value("car_minutes_to_oberzentrum", 30.5, "minutes by car")])
    reasons = {i: compute_indicator(con, CATALOGUE.indicators[i])["excluded_reason"].tolist()
               for i in ("transit_stop_within_1km_share", "out_commuter_share", "oberzentrum_car_minutes")}
    assert reasons == {"transit_stop_within_1km_share": ["no_inhabitants"], "out_commuter_share": ["no_inhabitants"],
                       "oberzentrum_car_minutes": [None]}
    per_inhabitant = {i.unit for i in CATALOGUE.indicators.values() if i.inhabitants is not None}
    assert per_inhabitant == {"% of households", "% of residents", "% of employees at residence",
                              "m (straight line, population-weighted)", "% per year"}


def test_a_population_change_to_no_inhabitants_is_kept_but_never_scored():
    """Nordseeinsel Memmert (03452501) had 1 or 2 inhabitants until 2002 and none from 2009: its 10-year changes to
    2009 and 2013 are -100 %/year, which is no yearly rate of anyone, and stood in its demographic pillar (score
    audit of 6 December 2026). A change ending at 0 inhabitants is typed no_inhabitants; one ending inhabited is scored."""
    con = observations([register_population("03452501", 1987, 1), register_population("03452501", 1997, 1),
                        register_population("03452501", 2002, 2), register_population("03452501", 2009, 0),
                        register_population("03452501", 2013, 0),
                        *(gv("03452501", year, "area_km2", 5.17) for year in (1987, 1997, 2002, 2009, 2013))])
    result = compute_indicator(con, CATALOGUE.indicators["population_change_10y"]).set_index("period")
    assert result.loc[1997, "value"] == 0.0 and result.loc[1997, "excluded_reason"] is None  # inhabited: scored
    assert result.loc[2009, "value"] == -100.0 and result.loc[2009, "excluded_reason"] == "no_inhabitants"
    assert result.loc[2013, "value"] == -100.0 and result.loc[2013, "excluded_reason"] == "no_inhabitants"
    assert flags.label("no_inhabitants", "de").endswith("auch eine jährliche Veränderungsrate seiner Einwohnerzahl, "
                                                          "beschreibt niemanden")


@pytest.mark.parametrize("line", ["    short_de: Pendeln\n", "    data_de: Pendler\n"])
def test_a_pillar_without_its_german_texts_fails_naming_the_pillar(tmp_path, line):
    """The CLI's column and the pages' Datenstand word each pillar from the catalogue (they had their own copies)."""
    from indicators.catalogue import CATALOGUE_YAML

    text = CATALOGUE_YAML.read_text(encoding="utf-8")
    assert text.count(line) == 1
    broken = tmp_path / "catalogue.yaml"
    broken.write_text(text.replace(line, "", 1), encoding="utf-8")
    with pytest.raises(ValueError, match=rf"pillar commuting_potential has no {line.split(':')[0].strip()}"):
        load_catalogue(broken)


def stop(ags, measure, value):
    unit = "% of residents" if measure.endswith("share") else "m (straight line, population-weighted)"
    return ("inkar", "2022-12", ags, "gemeinde", dt.date(2018, 12, 31), measure, value, unit, None)


def test_a_mean_distance_under_the_radius_beside_no_resident_within_it_is_never_scored():
    """INKAR 2022-12 gives the Amt Pellworm's four island Gemeinden a population-weighted 101 m to the next stop
    with 20 departures a day, and 0 % of their residents within 1 km of one: both cannot be true (0 % puts everyone
    beyond 1 km, so the mean is at least ~1 km). Both values are kept as published, typed contradictory_values, and
    neither is scored; a mean of 996 m beside 0 % (under 0.5 % within 1 km, rounded) and a mean of 300 m beside
    1 % are possible; a distance without a share is not checked."""
    distance, share = "distance_to_transit_stop_m", "residents_within_1km_of_transit_stop_share"
    con = observations([stop("01054103", distance, 101.0), stop("01054103", share, 0.0),
                        stop("01053090", distance, 996.0), stop("01053090", share, 0.0),
                        stop("06439012", distance, 300.0), stop("06439012", share, 1.0),
                        stop("09181114", distance, 101.0)])
    for indicator in ("transit_stop_distance", "transit_stop_within_1km_share"):
        result = compute_indicator(con, CATALOGUE.indicators[indicator])
        excluded = result.set_index("ags")["excluded_reason"].dropna().to_dict()
        assert excluded == {"01054103": "contradictory_values"}, indicator
        assert len(result) == (4 if indicator == "transit_stop_distance" else 3)
        assert result.set_index("ags").loc["01054103", "quality_note"].startswith("not scored: contradicts another")
    assert flags.label("contradictory_values", "de").startswith("nicht bewertet: widerspricht einem anderen Wert")


@pytest.mark.parametrize("declared", ["{measure: residents_within_1km_of_transit_stop_share}",
                                      "{measure: out_commuter_share, radius: 1000}",
                                      "{measure: residents_within_1km_of_transit_stop_share, radius: 0}"])
def test_a_wrong_share_within_fails_naming_the_indicator(tmp_path, declared):
    from indicators.catalogue import CATALOGUE_YAML

    text = CATALOGUE_YAML.read_text(encoding="utf-8")
    given = "    share_within: {measure: residents_within_1km_of_transit_stop_share, radius: 1000}\n"
    assert given in text
    broken = tmp_path / "catalogue.yaml"
    broken.write_text(text.replace(given, f"    share_within: {declared}\n", 1), encoding="utf-8")
    with pytest.raises(ValueError, match=r"indicator transit_stop_distance: share_within .* must name the measure"):
        load_catalogue(broken)


def test_a_supply_that_falls_beyond_the_sources_bound_is_kept_but_never_scored():
    """The Breitbandatlas gives Wiesbaden (06414000) 89 % of households with fibre at the end of 2018, 2019 and 2020
    and 2.04 % in mid-2021, its gigabit total 90.81 % at the end of 2020 and 64.93 % in mid-2021 (cable rising from 0
    to 64.70 %): more than the 20 points a share may fall between releases (sources.yaml yoy_drop_points), a supply
    does not vanish, and nothing says which values are wrong. Every value above a later one by more than the bound,
    and that later one, is typed implausible_fall (data audit of 7 December 2026). Not: a fall within the bound, a
    rise, Ludwigsstadt's fall from a total already typed inconsistent_value."""
    releases = [("2018-ende", 2018), ("2019-ende", 2019), ("2020-ende", 2020), ("2021-mitte", 2021)]
    fibre = [89.0, 89.0, 89.0, 2.04]
    rows = [bba("06414000", v, y, "households_ftthb_1000", f) for (v, y), f in zip(releases, fibre)]
    rows += [bba("06414000", v, y, "households_catv_1000", c) for (v, y), c in zip(releases, [0.0, 0.04, 1.81, 64.70])]
    rows += [bba("06414000", v, y, "households_all_1000", t) for (v, y), t in zip(releases, [89.0, 89.0, 90.81, 64.93])]
    rows += [bba("01053090", v, y, "households_ftthb_1000", f) for (v, y), f in zip(releases, [30.0, 12.0, 31.0, 60.0])]
    rows += [bba("09476152", "2019-ende", 2019, "households_all_1000", 0.25),
             bba("09476152", "2020-ende", 2020, "households_all_1000", 94.75),
             bba("09476152", "2020-ende", 2020, "households_catv_1000", 0.25),
             bba("09476152", "2020-ende", 2020, "households_ftthb_1000", 0.25),
             bba("09476152", "2021-mitte", 2021, "households_all_1000", 0.25),
             bba("09476152", "2021-mitte", 2021, "households_catv_1000", 0.25),
             bba("09476152", "2021-mitte", 2021, "households_ftthb_1000", 0.25)]
    con = observations(rows)
    excluded = {}
    for indicator in ("fibre_coverage", "gigabit_coverage"):
        result = compute_indicator(con, CATALOGUE.indicators[indicator])
        excluded[indicator] = {(a, p): r for a, p, r in result[["ags", "period", "excluded_reason"]].itertuples(
            index=False) if r is not None}
    assert excluded["fibre_coverage"] == {("06414000", y): "implausible_fall" for y in (2018, 2019, 2020, 2021)}
    assert excluded["gigabit_coverage"] == {("06414000", 2018): "implausible_fall",
                                            ("06414000", 2019): "implausible_fall",
                                            ("06414000", 2020): "implausible_fall",
                                            ("06414000", 2021): "implausible_fall",
                                            ("09476152", 2020): "inconsistent_value"}
    result = compute_indicator(con, CATALOGUE.indicators["fibre_coverage"]).set_index(["ags", "period"])
    assert result.loc[("06414000", 2021), "value"] == 2.04  # kept as published
    assert result.loc[("06414000", 2021), "quality_note"].startswith("not scored: the supply share of a later release")
    assert flags.label("implausible_fall", "de").startswith("nicht bewertet: der Versorgungsanteil einer späteren")


def test_a_change_is_on_an_earlier_territory_only_where_its_later_end_is():
    """The crosswalk types a restated population whose area still differs from today's `earlier_territory`. A change
    whose later end is so typed (and whose ends' areas agree) describes the town on that earlier territory; one whose
    base year alone is typed does not say so (the base differs from today's area by more than 2 %, the end by less:
    the pair is comparable, its territory mostly today's)."""
    code = "earlier_territory"
    con = observations([
        (*gv("A", 2003, "population_total", 10000), code), (*gv("A", 2003, "area_km2", 50), code),
        (*gv("A", 2013, "population_total", 10500), code), (*gv("A", 2013, "area_km2", 50), code),
        gv("A", 2023, "population_total", 12000), gv("A", 2023, "area_km2", 60),
        (*gv("B", 2013, "population_total", 8000), code), (*gv("B", 2013, "area_km2", 50.0), code),
        gv("B", 2023, "population_total", 8100), gv("B", 2023, "area_km2", 49.2),
    ])
    values = compute_indicator(con, CATALOGUE.indicators["population_change_10y"]).set_index(["ags", "period"])
    assert values.loc[("A", 2013), "territorial_change"] == code and pd.isna(values.loc[("A", 2013), "excluded_reason"])
    assert values.loc[("A", 2023), "territorial_change"] == "area_change"  # across the change: as before
    assert pd.isna(values.loc[("B", 2023), "territorial_change"])  # 1.6 % apart: comparable, not an earlier territory
    assert "Gemeinde's territory before a later change" in values.loc[("A", 2013), "quality_note"]


def test_land_without_inhabitants_alone_does_not_make_equal_areas_another_territory(monkeypatch):
    """09778202: 1.94 km² in 1983 and 2023, 1.90 km² in 1997; the 0.04 km² it got back by 2009 count as land without
    inhabitants gained (the Kreis balanced). Without them its areas of 1983 and today differ by 2.1 %, as they are by
    nothing: the density of 1983 is on today's territory (was 'area_change'). 1997's area differs as it is, not
    without the land without inhabitants: 'uninhabited_gain', as before."""
    from indicators import compute

    con = observations([gv_km2("A", 1983, "population_total", 1415), gv_km2("A", 1983, "area_km2", 1.94),
                        gv_km2("A", 1997, "population_total", 1766), gv_km2("A", 1997, "area_km2", 1.90),
                        gv_km2("A", 2023, "population_total", 1772), gv_km2("A", 2023, "area_km2", 1.94)])
    monkeypatch.setattr(compute, "uninhabited_offsets", lambda *args: pd.DataFrame(
        {"ags": ["A"], "vintage": ["2023-12-31"], "gain": [0.04]}))
    density = compute_indicator(con, CATALOGUE.indicators["population_density"]).set_index("period")
    assert pd.isna(density.loc[1983, "territorial_change"]) and pd.isna(density.loc[1983, "quality_note"])
    assert density.loc[1997, "territorial_change"] == "uninhabited_gain"
