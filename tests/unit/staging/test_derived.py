"""Derived measures and method-break flags on small hand-written frames.

``staging.derived.commuter_shares`` turns BA counts into out-/in-commuter shares per region
and date (never crossing regions, dates or vintages, keeping the reason of a missing count);
``indicators.compute.flag_method_breaks`` notes where a town's series moves from one
publisher method generation to another.
"""

from __future__ import annotations

import datetime as dt
import math

import pandas as pd
import pytest

from indicators.compute import flag_method_breaks
from sources import OBSERVATION_COLUMNS
from staging.derived import commuter_shares

SUPPRESSED = "suppressed by publisher ('*': data protection)"
JUNE_2023, JUNE_2024 = dt.date(2023, 6, 30), dt.date(2024, 6, 30)


def count(ags, measure, value, note="", date=JUNE_2023, level="gemeinde", vintage=None):
    """One BA count as the parser stages it (with source_id and vintage)."""
    return {"ags": ags, "level": level, "reference_date": date, "measure": measure, "value": value,
            "unit": "persons", "note": note, "source_id": "ba_commuting", "vintage": vintage or f"{date.year}-06"}


def town(ags, residence, out, workplace, inward, **kwargs):
    return [count(ags, "employees_residence", residence, **kwargs), count(ags, "out_commuters", out, **kwargs),
            count(ags, "employees_workplace", workplace, **kwargs), count(ags, "in_commuters", inward, **kwargs)]


def shares(rows) -> pd.DataFrame:
    """commuter_shares of ``rows``, indexed by (measure, ags, reference_date)."""
    result = commuter_shares(pd.DataFrame(rows))
    return result.set_index(["measure", "ags", "reference_date"]).sort_index()


def test_shares_are_count_ratios_in_percent_rounded_to_two_places():
    result = commuter_shares(pd.DataFrame(town("01053090", 3000, 1000, 6000, 4000)))

    assert list(result.columns) == [*OBSERVATION_COLUMNS, "source_id", "vintage"]
    by_measure = result.set_index("measure")
    assert by_measure.loc["out_commuter_share", "value"] == 33.33  # 1000 / 3000 * 100
    assert by_measure.loc["in_commuter_share", "value"] == 66.67  # 4000 / 6000 * 100
    assert by_measure.loc["out_commuter_share", "unit"] == "% of employees at residence"
    assert by_measure.loc["in_commuter_share", "unit"] == "% of employees at workplace"
    assert by_measure["note"].tolist() == ["", ""]
    assert by_measure[["ags", "level", "reference_date", "source_id", "vintage"]].drop_duplicates().values.tolist() \
        == [["01053090", "gemeinde", JUNE_2023, "ba_commuting", "2023-06"]]


def test_suppressed_count_gives_a_missing_share_that_carries_the_reason():
    rows = town("01053090", 3000, float("nan"), 6000, 4000)
    rows[1]["note"] = SUPPRESSED  # out_commuters

    result = shares(rows)

    out = result.loc[("out_commuter_share", "01053090", JUNE_2023)]
    assert math.isnan(out["value"]) and out["note"] == SUPPRESSED
    inward = result.loc[("in_commuter_share", "01053090", JUNE_2023)]
    assert inward["value"] == 66.67 and inward["note"] == ""  # the other share is unaffected


def test_zero_denominator_is_not_computable():
    result = shares(town("01053090", 0, 12, 6000, 4000))  # a zero that may stand for a marker

    out = result.loc[("out_commuter_share", "01053090", JUNE_2023)]
    assert math.isnan(out["value"]) and out["note"].startswith("not computable")
    assert result.loc[("in_commuter_share", "01053090", JUNE_2023), "value"] == 66.67


def test_missing_count_is_not_computable():
    rows = [count("01053090", "out_commuters", 1000),  # no employees_residence row for this town
            count("01053001", "out_commuters", 600), count("01053001", "employees_residence", 2400)]

    result = shares(rows)

    assert len(result) == 2
    assert result.loc[("out_commuter_share", "01053001", JUNE_2023), "value"] == 25.0
    out = result.loc[("out_commuter_share", "01053090", JUNE_2023)]
    assert math.isnan(out["value"]) and out["note"] == "not computable: a count is missing"


def test_regions_dates_and_levels_are_never_crossed():
    # regression: an earlier version built the cartesian product of the index levels
    rows = [*town("01053090", 3000, 1500, 6000, 3000),
            *town("06439012", 4000, 1000, 2000, 1000, date=JUNE_2024, note="from Gemeindeverband 06439500"),
            *town("01053", 50000, 10000, 40000, 20000, level="kreis")]

    result = shares(rows)

    keys = {(m, a, d, lv) for (m, a, d), lv in result["level"].items()}
    assert keys == {(m, a, d, lv) for m in ("out_commuter_share", "in_commuter_share")
                    for a, d, lv in [("01053090", JUNE_2023, "gemeinde"), ("06439012", JUNE_2024, "gemeinde"),
                                     ("01053", JUNE_2023, "kreis")]}
    assert result["value"].notna().all()
    assert result.loc[("out_commuter_share", "01053090", JUNE_2023), "value"] == 50.0
    assert result.loc[("out_commuter_share", "06439012", JUNE_2024), "value"] == 25.0
    assert result.loc[("out_commuter_share", "01053", JUNE_2023), "value"] == 20.0
    assert result.loc[("in_commuter_share", "06439012", JUNE_2024), "vintage"] == "2024-06"
    # a note belongs to its own region only
    assert result.loc[("out_commuter_share", "06439012", JUNE_2024), "note"] == "from Gemeindeverband 06439500"
    assert result.loc[("out_commuter_share", "01053090", JUNE_2023), "note"] == ""


def test_two_vintages_of_the_same_date_stay_apart():
    rows = [*town("01053090", 3000, 1500, 6000, 3000, vintage="2023-06"),
            *town("01053090", 3000, 1200, 6000, 3000, vintage="2023-06-rev")]

    result = commuter_shares(pd.DataFrame(rows))
    out = result[result["measure"] == "out_commuter_share"].set_index("vintage")["value"]

    assert out.to_dict() == {"2023-06": 50.0, "2023-06-rev": 40.0}


def test_other_measures_are_ignored_and_no_counts_give_an_empty_frame():
    other = [count("01053090", "employees_residence_eq_workplace", 1700)]
    assert commuter_shares(pd.DataFrame(other)).empty
    assert list(commuter_shares(pd.DataFrame(other)).columns) == [*OBSERVATION_COLUMNS, "source_id", "vintage"]

    only_out = [*other, count("01053090", "employees_residence", 3000), count("01053090", "out_commuters", 900)]
    assert commuter_shares(pd.DataFrame(only_out))[["measure", "value"]].values.tolist() == \
        [["out_commuter_share", 30.0]]


# --- flag_method_breaks ---------------------------------------------------------------------------------------

GENERATIONS = {"breitbandatlas": "Breitbandatlas (TÜV Rheinland)", "gigabit_grundbuch": "Gigabit-Grundbuch (BNetzA)",
               "destatis_gemeindeverzeichnis": "amtliche Fortschreibung", "regionalstatistik": "amtliche Fortschreibung"}
BREAK = "method break: Breitbandatlas (TÜV Rheinland) -> Gigabit-Grundbuch (BNetzA)"


def values(*rows) -> pd.DataFrame:
    """Indicator values (ags, period, source_id[, quality_note]) with the other columns filled in."""
    frame = pd.DataFrame([(*r, None)[:4] for r in rows], columns=["ags", "period", "source_id", "quality_note"])
    return frame.assign(indicator_id="gigabit_coverage", value=50.0, unit="%")


def notes(frame: pd.DataFrame) -> dict[tuple[str, int], str | None]:
    return {(a, p): (n if isinstance(n, str) else None) for a, p, n in frame[["ags", "period", "quality_note"]].values}


def test_generation_change_is_flagged_on_the_first_value_of_the_new_generation_only():
    frame = values(("A", 2020, "breitbandatlas"), ("A", 2021, "breitbandatlas"),
                   ("A", 2022, "gigabit_grundbuch"), ("A", 2023, "gigabit_grundbuch"))

    assert notes(flag_method_breaks(frame, GENERATIONS)) == {("A", 2020): None, ("A", 2021): None,
                                                             ("A", 2022): BREAK, ("A", 2023): None}


def test_break_is_appended_to_an_existing_note():
    frame = values(("A", 2021, "breitbandatlas", "Datenstand Ende 2021"),
                   ("A", 2022, "gigabit_grundbuch", "Datenstand 12/2022"))

    result = notes(flag_method_breaks(frame, GENERATIONS))

    assert result[("A", 2022)] == f"Datenstand 12/2022; {BREAK}"
    assert result[("A", 2021)] == "Datenstand Ende 2021"


def test_towns_without_a_change_get_no_note_and_towns_are_not_compared_with_each_other():
    frame = values(("A", 2021, "breitbandatlas"), ("A", 2022, "gigabit_grundbuch"),
                   ("B", 2020, "breitbandatlas"), ("B", 2021, "breitbandatlas"),  # after A's gigabit row
                   ("C", 2023, "gigabit_grundbuch"),  # a single value: nothing to compare
                   ("D", 2022, "destatis_gemeindeverzeichnis"), ("D", 2023, "regionalstatistik"))  # same generation

    result = notes(flag_method_breaks(frame, GENERATIONS))

    assert {key: note for key, note in result.items() if note} == {("A", 2022): BREAK}


def test_breaks_follow_the_period_order_and_the_input_order_is_kept():
    frame = values(("A", 2023, "gigabit_grundbuch"), ("B", 2019, "breitbandatlas"), ("A", 2020, "breitbandatlas"),
                   ("A", 2022, "gigabit_grundbuch"), ("A", 2021, "breitbandatlas"))

    result = flag_method_breaks(frame, GENERATIONS)

    assert result[["ags", "period"]].values.tolist() == frame[["ags", "period"]].values.tolist()
    assert {key: note for key, note in notes(result).items() if note} == {("A", 2022): BREAK}
    assert frame["quality_note"].isna().all()  # the input frame is not modified


def test_unknown_sources_fall_back_to_their_source_id_as_generation():
    frame = values(("A", 2021, "breitbandatlas"), ("A", 2022, "some_new_source"), ("A", 2023, "some_new_source"))

    result = notes(flag_method_breaks(frame, GENERATIONS))

    assert result[("A", 2022)] == "method break: Breitbandatlas (TÜV Rheinland) -> some_new_source"
    assert result[("A", 2023)] is None
    assert notes(flag_method_breaks(values(("A", 2021, "x"), ("A", 2022, "y")), {}))[("A", 2022)] == \
        "method break: x -> y"


@pytest.mark.parametrize("note", [None, ""])
def test_empty_existing_note_gets_no_separator(note):
    frame = values(("A", 2021, "breitbandatlas"), ("A", 2022, "gigabit_grundbuch", note))
    assert notes(flag_method_breaks(frame, GENERATIONS))[("A", 2022)] == BREAK


def test_inkar_and_the_ba_agree_on_the_kreis_shares_unless_inkars_years_are_shifted():
    """INKAR's Kreis out-commuter shares are the BA's counts of 30 June: on the snapshot's files they agree for the
    same Kreis and date; INKAR's year labels shifted by one (bad-input review V14) make the date disagree."""
    from sources import ba_commuting, inkar
    from sources.registry import SNAPSHOT_DIR, discover_releases, load_sources
    from staging.derived import disagreeing_dates

    specs = load_sources()
    figures = inkar.parse_release(discover_releases(specs["inkar"], SNAPSHOT_DIR)[0])["observations"]
    ba = pd.concat([ba_commuting.parse_release(r)["observations"]
                    for r in discover_releases(specs["ba_commuting"], SNAPSHOT_DIR)])
    ba = pd.concat([ba, commuter_shares(ba.assign(source_id="ba_commuting", vintage="2016-06"))])
    assert disagreeing_dates(figures, ba) == []
    shifted = figures.assign(reference_date=figures["reference_date"].map(lambda d: d.replace(year=d.year + 1)))
    [(date, agree, compared)] = disagreeing_dates(shifted, ba)
    assert date == dt.date(2016, 6, 30) and compared >= 3 and agree < compared / 2
    # timestamps on one side and dates on the other still meet (a silent pass otherwise)
    as_timestamps = shifted.assign(reference_date=pd.to_datetime(shifted["reference_date"]))
    assert disagreeing_dates(as_timestamps, ba) == [(date, agree, compared)]


def test_an_allow_list_entry_for_the_inkar_release_lets_the_disagreement_pass():
    from sources.contracts import Allowance
    from staging.derived import agreement_allowed

    confirmed = Allowance("inkar", "2022-12-rev2", "BBSR confirmed revised counts", measure="out_commuter_share|x")
    assert agreement_allowed([confirmed], ["2022-12-rev2"]) == "BBSR confirmed revised counts"
    assert agreement_allowed([confirmed], ["2022-12"]) is None  # the revision, as stored, not its first release
    assert agreement_allowed([Allowance("inkar", "2022-12", "r", measure="car_minutes_.+")], ["2022-12"]) is None
    # the default "every measure" and an entry for one key say nothing about all Kreise's shares
    assert agreement_allowed([Allowance("inkar", "2022-12", "r")], ["2022-12"]) is None
    assert agreement_allowed([Allowance("inkar", "2022-12", "r", measure="out_commuter_share", ags=("01053",))],
                             ["2022-12"]) is None
