"""Territorial crosswalk on hand-made registers: recodes, mergers, new keys, unexplained changes."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from staging import crosswalk

# (vintage, ags, name, area) ; 2002 -> 2009: Kreis reform renumbers 99100 -> 99200, "A" recoded,
# "Buchholz" and "Cammin" become the new "Buchholz-Cammin", while "G" and "H" vanish into a new "Zeta"
# whose area they match but whose name they do not share (left unexplained); 2009 -> 2013: "D" absorbs "E"; "F" loses area (unexplained).
REGISTER = [
    ("2002", "99100001", "A, Stadt", 10.0), ("2002", "99100002", "Buchholz", 5.0), ("2002", "99100003", "Cammin", 7.0),
    ("2002", "99100004", "D", 20.0), ("2002", "99100005", "E", 4.0), ("2002", "99100006", "F", 30.0), ("2002", "99100007", "Gamma", 3.0), ("2002", "99100008", "Hota", 6.0),
    ("2009", "99200001", "A, Stadt", 10.05), ("2009", "99200002", "Buchholz-Cammin", 12.0), ("2009", "99200004", "D", 20.0),
    ("2009", "99200005", "E", 4.0), ("2009", "99200006", "F", 30.0), ("2009", "99200009", "Zeta", 9.0),
    ("2013", "99200001", "A, Stadt", 10.05), ("2013", "99200002", "Buchholz-Cammin", 12.0), ("2013", "99200004", "D", 24.0),
    ("2013", "99200006", "F", 25.0),
]


@pytest.fixture
def frames():
    rows = pd.DataFrame(REGISTER, columns=["vintage", "ags", "name", "area_km2"])
    register = rows[["ags", "name", "vintage"]].assign(
        territorial_date=rows["vintage"].map(lambda v: dt.date(int(v), 12, 31)))
    return register, rows[["ags", "vintage", "area_km2"]]


def test_recodes_mergers_and_new_keys_are_inferred(frames):
    steps = crosswalk.transitions(*frames).sort_values(["from_vintage", "from_ags"])
    assert steps[["from_ags", "to_ags", "kind"]].values.tolist() == [
        ["99100001", "99200001", "recode"],   # same name, area within 1 %
        ["99100002", "99200002", "merger"],   # new key Buchholz-Cammin = Buchholz + Cammin
        ["99100003", "99200002", "merger"],
        ["99100004", "99200004", "recode"],
        ["99100005", "99200005", "recode"],
        ["99100006", "99200006", "recode"],
        ["99200005", "99200004", "merger"],   # D grows by E's area
    ]  # F's loss of 5 km² and Zeta (no shared name) are not explained: no step
    assert steps["basis"].tolist() == [
        "name_and_area", "area_sum", "area_sum", "name_and_area", "name_and_area", "name_and_area", "area_sum"]


def test_history_is_restated_onto_the_current_territory(frames):
    register, areas = frames
    walk = crosswalk.crosswalk(register, crosswalk.transitions(register, areas))
    population = pd.DataFrame({
        "ags": ["99100004", "99100005", "99100002", "99100003", "99200004"],
        "vintage": ["2002", "2002", "2002", "2002", "2013"],
        "reference_date": [dt.date(2002, 12, 31)] * 4 + [dt.date(2013, 12, 31)],
        "measure": "population_total", "value": [1000.0, 200.0, 300.0, None, 1250.0], "unit": "persons",
        "level": "gemeinde", "source_id": "gv", "note": "",
    })
    population["register_vintage"] = crosswalk.register_vintage_at(population, register)
    restated = crosswalk.restate(population, walk, {"population_total": "population_current_territory"})
    by_key = restated.set_index(["ags", "reference_date"])
    d_2002 = by_key.loc[("99200004", dt.date(2002, 12, 31))]
    assert d_2002["value"] == 1200.0
    assert d_2002["note"] == "restated to current territory: sum of 99100004 + 99100005"
    assert by_key.loc[("99200004", dt.date(2013, 12, 31)), "note"] == ""
    # a missing part makes the restated value missing, never a partial sum
    assert pd.isna(by_key.loc[("99200002", dt.date(2002, 12, 31)), "value"])
    assert set(restated["measure"]) == {"population_current_territory"}


def hand_register(rows: list[tuple[str, str, str, float]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    frame = pd.DataFrame(rows, columns=["vintage", "ags", "name", "area_km2"])
    register = frame[["ags", "name", "vintage"]].assign(
        territorial_date=frame["vintage"].map(lambda v: dt.date(int(v), 12, 31)))
    return register, frame[["ags", "vintage", "area_km2"]]


def test_best_fitting_predecessors_win_over_the_first_fitting():
    # Sonnenberg grows by 10.00 km²; 3.00 + 6.96 fits within 0.5 % and comes first in key order,
    # 4.00 + 6.00 fits exactly: the best fit is chosen, the others stay unexplained
    register, areas = hand_register([
        ("2021", "99100001", "Sonnenberg", 20.0), ("2021", "99100002", "Au", 3.0), ("2021", "99100003", "Bruck", 4.0),
        ("2021", "99100004", "Cham", 6.0), ("2021", "99100005", "Dorf", 6.96),
        ("2023", "99100001", "Sonnenberg", 30.0),
    ])
    steps = crosswalk.transitions(register, areas)
    assert steps[["from_ags", "to_ags", "kind"]].values.tolist() == [
        ["99100003", "99100001", "merger"], ["99100004", "99100001", "merger"]]


def verband_register(rows: list[tuple]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``hand_register`` of (vintage, ags, name, area, vb_ars) rows: the Verband key of each Gemeinde."""
    register, areas = hand_register([row[:4] for row in rows])
    return register.assign(vb_ars=[row[4] for row in rows]), areas


# Ketzin 2002 -> 2009 (real areas, 31122002/31122009_Auszug_GV.xlsx): the town grew by 62.06 km², the area of
# the four other members of Amt Ketzin; three villages of three other Ämter add up to 62.06 km² too
KETZIN = [
    ("2002", "12063148", "Ketzin, Stadt", 30.72, "120636303"), ("2002", "12063072", "Etzin", 8.92, "120636303"),
    ("2002", "12063076", "Falkenrehde", 12.04, "120636303"), ("2002", "12063312", "Tremmen", 19.49, "120636303"),
    ("2002", "12063364", "Zachow", 21.61, "120636303"), ("2002", "12063156", "Klein Behnitz", 16.02, "120636305"),
    ("2002", "12063336", "Warsow", 11.77, "120636302"), ("2002", "12063372", "Zollchow", 34.27, "120636304"),
    ("2009", "12063148", "Ketzin, Stadt", 92.78, "120630148"),
]


def test_a_merger_of_the_members_of_one_verband_wins_over_a_coincidental_triple():
    """The Kreis-wide search stops at three predecessors: it matched Ketzin with Klein Behnitz, Warsow and Zollchow
    and published its 10-year population change as +2.5 % a year instead of -0.2 % (review of 5 December)."""
    register, areas = verband_register(KETZIN)
    steps = crosswalk.transitions(register, areas)
    assert sorted(steps["from_ags"]) == ["12063072", "12063076", "12063312", "12063364"]
    assert set(steps["to_ags"]) == {"12063148"} and steps["evidence"].str.contains("of its Verband").all()
    assert set(steps["basis"]) == {"area_sum"}
    # without the Verband keys (the registers before 1994) the area search is what it was
    old = crosswalk.transitions(register.drop(columns="vb_ars"), areas)
    assert sorted(old["from_ags"]) == ["12063156", "12063336", "12063372"]


def test_two_sets_of_one_verband_that_fit_are_no_evidence():
    """Up to 2^16 sums of one Verband leave room for coincidences: where two of its sets fit the gain (4 + 6 and
    3 + 7 for 10 km²), the Verband decides nothing. The Kreis-wide search finds the same two sets, and since
    5 December 2026 decides nothing either (``_unambiguous``): the gain stays unexplained."""
    register, areas = verband_register([
        ("2002", "99100001", "Nordheim", 20.0, "991005001"), ("2002", "99100002", "Au", 4.0, "991005001"),
        ("2002", "99100003", "Bruck", 6.0, "991005001"), ("2002", "99100004", "Cham", 3.0, "991005001"),
        ("2002", "99100005", "Dorf", 7.0, "991005001"),
        ("2009", "99100001", "Nordheim", 30.0, "991000001"),
    ])
    steps = crosswalk.transitions(register, areas)
    assert steps.empty


def test_a_coincidence_for_one_town_does_not_take_the_verband_member_of_another():
    """Every town's own Verband is tried before any Kreis-wide set: Sudheim's larger gain (9.00) is served first,
    and Cham + Bruck fit it as exactly as its own members Au + Bruck do; the Kreis-wide pair took Cham, the one
    member of Nordheim's Verband, and gave Nordheim (6.00) Au."""
    register, areas = verband_register([
        ("2002", "99100001", "Nordheim", 20.0, "991005001"), ("2002", "99100002", "Cham", 6.0, "991005001"),
        ("2002", "99100003", "Sudheim", 10.0, "991005002"), ("2002", "99100004", "Au", 6.0, "991005002"),
        ("2002", "99100005", "Bruck", 3.0, "991005002"),
        ("2009", "99100001", "Nordheim", 26.0, "991000001"), ("2009", "99100003", "Sudheim", 19.0, "991000003"),
    ])
    steps = crosswalk.transitions(register, areas).sort_values("from_ags")
    assert steps[["from_ags", "to_ags"]].values.tolist() == [["99100002", "99100001"], ["99100004", "99100003"],
                                                            ["99100005", "99100003"]]


# 2021 -> 2023: Ahrdorf and Xanten both grow by about 5 km². The registers fit Ebnet (5.01) to
# Xanten (the larger gain goes first) and Bach + Dorf to Ahrdorf; the change list says otherwise.
# 2013 -> 2021: "Alt" is recoded (not in any list, stays inferred).
OFFICIAL_CASE = [
    ("2013", "99000009", "Alt", 8.0),
    ("2021", "99100001", "Ahrdorf", 10.0), ("2021", "99100002", "Bach", 3.0), ("2021", "99100003", "Cdorf", 5.0),
    ("2021", "99100004", "Dorf", 2.0), ("2021", "99100005", "Ebnet", 5.01), ("2021", "99100006", "Xanten", 30.0),
    ("2021", "99100009", "Alt", 8.0),
    ("2023", "99100001", "Ahrdorf", 15.0), ("2023", "99100003", "Cdorf", 4.9), ("2023", "99100006", "Xanten", 35.01),
    ("2023", "99100009", "Alt", 8.0),
]


def change(from_ags: str, to_ags: str, kind: str, area: float, people: int) -> dict:
    return {"change_id": "99/2023/0001-R", "from_ags": from_ags, "from_name": "", "to_ags": to_ags, "to_name": "",
            "kind": kind, "area_km2": area, "population": people, "legal_date": dt.date(2023, 1, 1),
            "effective_date": dt.date(2023, 1, 1), "vintage": "2023"}


def test_official_steps_override_inferred_ones():
    register, areas = hand_register(OFFICIAL_CASE)
    inferred = crosswalk.transitions(register, areas)
    assert set(zip(inferred["from_ags"], inferred["to_ags"])) >= {("99100005", "99100006"), ("99100002", "99100001")}
    changes = pd.DataFrame([change("99100005", "99100001", "dissolution", 5.01, 400),
                            change("99100002", "99100006", "dissolution", 3.0, 200),
                            change("99100004", "99100006", "dissolution", 2.0, 100),
                            change("99100003", "99100001", "partial_transfer", 0.1, 0)])
    official = crosswalk.official_steps(changes, register)
    steps = crosswalk.with_official(inferred, official)
    keyed = steps[steps["kind"].isin(crosswalk.RESTATING_KINDS)]
    assert sorted(zip(keyed["from_vintage"], keyed["from_ags"], keyed["to_ags"], keyed["kind"])) == [
        ("2013", "99000009", "99100009", "recode"),  # older period: inferred
        ("2021", "99100002", "99100006", "merger"), ("2021", "99100004", "99100006", "merger"),
        ("2021", "99100005", "99100001", "merger")]
    assert crosswalk.is_official(keyed).tolist() == [False, True, True, True]
    assert keyed["basis"].tolist() == ["name_and_area", "change_list", "change_list", "change_list"]
    assert keyed.loc[keyed["from_ags"] == "99100005", "evidence"].item() == (
        "Destatis Gebietsänderungen 2023 (99/2023/0001-R), Änderungsart 1, wirksam 2023-01-01, 5.01 km², "
        "400 inhabitants")
    # the partial transfer is kept as a flag, not followed by the crosswalk ...
    walk = crosswalk.crosswalk(register, steps)
    assert walk.set_index(["vintage", "ags"]).loc[("2021", "99100003"), "current_ags"] == "99100003"
    # ... and notes the series of both Gemeinden in the period of the change
    restated = pd.DataFrame({"ags": ["99100001", "99100001", "99100006"], "measure": "population_current_territory",
                             "reference_date": [dt.date(2021, 12, 31), dt.date(2023, 12, 31), dt.date(2023, 12, 31)],
                             "note": ["", "restated to current territory: includes 99100005", ""]})
    flagged = crosswalk.flag_transfers(restated, steps, register, walk)
    # typed: this decides; 0 inhabitants moved, so the series stays comparable ('minor_transfer') ...
    assert flagged["territorial_change"].tolist() == [None, "minor_transfer", None]
    # ... while a transfer of more than MINOR_TRANSFER inhabitants makes it a 'partial_transfer' (not scored)
    bigger = steps.assign(moved_population=steps["moved_population"].where(steps["kind"] != "partial_transfer", 400))
    assert crosswalk.flag_transfers(restated, bigger, register, walk)["territorial_change"].tolist() == \
        [None, "partial_transfer", None]
    # ... unless it is at most 1 % of the smaller Gemeinde (typed moved_share): 400 of 50,000 and 41,000
    population = pd.DataFrame({"ags": ["99100003", "99100001"], "vintage": "2021", "population": [50_000, 41_000]})
    shared = crosswalk.moved_share(bigger, population)
    assert shared.loc[shared["kind"] == "partial_transfer", "moved_share"].tolist() == [pytest.approx(0.976, abs=1e-3)]
    assert shared.loc[shared["kind"] != "partial_transfer", "moved_share"].isna().all()  # restating steps: none
    assert crosswalk.flag_transfers(restated, shared, register, walk)["territorial_change"].tolist() == \
        [None, "minor_transfer", None]
    small_town = crosswalk.moved_share(bigger, population.assign(population=[50_000, 30_000]))  # 1.33 %
    assert crosswalk.flag_transfers(restated, small_town, register, walk)["territorial_change"].tolist() == \
        [None, "partial_transfer", None]
    notes = flagged["note"].tolist()
    assert notes[0] == "" and notes[2] == ""
    assert notes[1].startswith("restated to current territory: includes 99100005; minor_transfer: "
                               "receives territory from 99100003 (Destatis Gebietsänderungen 2023")


def test_an_official_step_carries_its_own_effective_date_and_an_inferred_one_none():
    """territorial_changes.effective_date: the day of the step's own change row, typed (the evidence text is only its
    wording). Of a chain within one transition (Dorf dissolved into Bach, Bach then into Xanten) the first day, when
    the key ceased; a partial transfer its own day; inferred steps none. ``kreis_moves`` dates a move by it."""
    register, areas = hand_register(OFFICIAL_CASE)
    rows = [change("99100004", "99100002", "dissolution", 2.0, 100),
            change("99100002", "99100006", "dissolution", 5.0, 300),
            change("99100003", "99100001", "partial_transfer", 0.1, 60)]
    for row, day in zip(rows, [dt.date(2022, 1, 1), dt.date(2023, 1, 1), dt.date(2022, 7, 1)]):
        row["effective_date"] = day
    steps = crosswalk.with_dates(crosswalk.with_official(crosswalk.transitions(register, areas),
                                                        crosswalk.official_steps(pd.DataFrame(rows), register)),
                                 register)
    got = {(a, b): d for a, b, d in steps[["from_ags", "to_ags", "effective_date"]].values}
    assert got[("99100004", "99100006")] == dt.date(2022, 1, 1)  # the chain: merged, then merged again
    assert got[("99100002", "99100006")] == dt.date(2023, 1, 1)
    assert got[("99100003", "99100001")] == dt.date(2022, 7, 1)  # the partial transfer's own day
    assert pd.isna(got[("99000009", "99100009")])  # inferred (2013 -> 2021): the registers bound it, no day
    chain = steps.loc[steps["from_ags"].eq("99100004"), "evidence"].item()  # its wording
    assert "wirksam 2022-01-01, 2.00 km², 100 inhabitants; then" in chain


def test_a_dissolution_split_over_two_gemeinden_only_flags():
    register, _ = hand_register(OFFICIAL_CASE)
    changes = pd.DataFrame([change("99100005", "99100001", "dissolution", 3.0, 300),
                            change("99100005", "99100006", "dissolution", 2.01, 100)])
    official = crosswalk.official_steps(changes, register)
    assert official["kind"].tolist() == ["split", "split"]
    assert crosswalk.crosswalk(register, official).query("ags == '99100005'")["current_ags"].eq("99100005").all()


def test_a_split_part_without_inhabitants_is_an_uninhabited_gain_of_its_receiver():
    """The list's area and 0 inhabitants are kept typed (moved_area_km2); such a part counts as land
    without inhabitants for the receiver (Kirchenthumbach's 3.97 km² of 09374451 in 2023), a part
    with inhabitants does not."""
    register, _ = hand_register(OFFICIAL_CASE)
    changes = pd.DataFrame([change("99100005", "99100001", "dissolution", 3.0, 0),
                            change("99100005", "99100006", "dissolution", 2.01, 100)])
    official = crosswalk.official_steps(changes, register)
    assert official[["to_ags", "moved_population", "moved_area_km2"]].values.tolist() == [
        ["99100001", 0, 3.0], ["99100006", 100, 2.01]]
    steps = crosswalk.check_plausibility(official, register, pd.DataFrame(columns=["ags", "vintage", "population",
                                                                                    "area_km2"]))
    gains = crosswalk.official_uninhabited_gains(steps)
    assert gains.values.tolist() == [["99100001", "2021", "2023", 3.0]]
    assert crosswalk.official_uninhabited_gains(steps.drop(columns="moved_area_km2")).empty


def test_2024_dissolutions_from_the_change_list_are_in_the_crosswalk(full_data):
    """Germany-wide: every Gemeinde the 2024 list dissolves into one other is mapped to it."""
    from sources import destatis_changes, destatis_gv
    from sources.registry import discover_releases, load_sources
    specs = load_sources()
    registers, areas = [], []
    for release in discover_releases(specs["destatis_gemeindeverzeichnis"], full_data):
        if release.vintage not in {"2023-12-31", "2024-Q4"}:
            continue
        tables = destatis_gv.parse_release(release)
        registers.append(tables["register"].assign(vintage=release.vintage))
        obs = tables["observations"].query("measure == 'area_km2' and level == 'gemeinde'")
        areas.append(obs.assign(vintage=release.vintage, area_km2=obs["value"])[["ags", "vintage", "area_km2"]])
    register, areas = pd.concat(registers), pd.concat(areas)
    lists = {r.vintage: destatis_changes.parse_release(r) for r in
             discover_releases(specs["destatis_gebietsaenderungen"], full_data)}
    changes = pd.concat([t["changes"].assign(vintage=v) for v, t in lists.items()])
    steps = crosswalk.with_official(crosswalk.transitions(register, areas), crosswalk.official_steps(changes, register))
    walk = crosswalk.crosswalk(register, steps).set_index(["vintage", "ags"])["current_ags"]
    dissolved = lists["2024"]["changes"].query("kind == 'dissolution'")
    into_one = dissolved.groupby("from_ags").filter(lambda g: g["to_ags"].nunique() == 1)
    assert len(into_one) >= 20
    for row in into_one.itertuples():
        assert walk[("2023-12-31", row.from_ags)] == row.to_ags, row.from_name


# 2002 -> 2013: "Schmiedeberg" (10 km², 4,000 people) and "Wittenberg" (150 km², 47,000) vanish and a new key
# "Schmiedeberg" of 160 km² appears with 9,000 people: the areas and a shared name fit, the population does not.
# "Adorf" -> new key "Adorf" (recode, plausible); "Bstadt" absorbs "Cdorf" (merger, plausible).
WRONG_MERGER = [
    ("2002", "99100001", "Schmiedeberg", 10.0, 4000, None, None),
    ("2002", "99100002", "Wittenberg", 150.0, 47000, None, None),
    ("2002", "99100003", "Adorf", 20.0, 2000, None, None),
    ("2002", "99100004", "Bstadt", 30.0, 8000, None, None), ("2002", "99100005", "Cdorf", 5.0, 1000, None, None),
    ("2013", "99200001", "Schmiedeberg", 160.0, 9000, 12.60, 51.70),
    ("2013", "99200003", "Adorf", 20.0, 1900, 12.70, 51.80),
    ("2013", "99100004", "Bstadt", 35.0, 8800, 12.50, 51.90),
    ("2023", "99200001", "Schmiedeberg", 160.0, 8500, 12.60, 51.70),
    ("2023", "99200003", "Adorf", 20.0, 1800, 12.70, 51.80),
    ("2023", "99100004", "Bstadt", 35.0, 8700, 12.50, 51.90),
]


def wrong_merger_case():
    rows = pd.DataFrame(WRONG_MERGER, columns=["vintage", "ags", "name", "area_km2", "population", "lon", "lat"])
    register = rows[["ags", "name", "vintage", "lon", "lat"]].assign(
        territorial_date=rows["vintage"].map(lambda v: dt.date(int(v), 12, 31)))
    return register, rows[["ags", "vintage", "area_km2"]], rows[["ags", "vintage", "population", "area_km2"]]


def test_an_inferred_merger_with_a_population_jump_is_rejected_and_flags_the_successor():
    register, areas, population = wrong_merger_case()
    steps = crosswalk.check_plausibility(crosswalk.transitions(register, areas), register, population)
    by_pair = steps.set_index(["from_ags", "to_ags"])
    # the area inference pairs Wittenberg with Schmiedeberg ...
    assert ("99100002", "99200001") in by_pair.index
    # ... the population check rejects it: 51,000 -> 9,000 in 11 years is -14.6 % a year
    assert by_pair.loc[("99100002", "99200001"), "plausibility"] == "population_jump"
    assert by_pair.loc[("99100002", "99200001"), "population_before"] == 51000
    assert by_pair.loc[("99100002", "99200001"), "yearly_change"] == pytest.approx(-14.58, abs=0.01)
    assert by_pair.loc[("99100003", "99200003"), "plausibility"] == "ok"  # recode: 2,000 -> 1,900
    assert by_pair.loc[("99100005", "99100004"), "plausibility"] == "ok"  # 9,000 -> 8,800
    walk = crosswalk.crosswalk(register, steps).set_index(["vintage", "ags"])["current_ags"]
    assert walk[("2002", "99100002")] == "99100002" and walk[("2002", "99100001")] == "99100001"  # not followed
    assert walk[("2002", "99100003")] == "99200003" and walk[("2002", "99100005")] == "99100004"
    # the successor's value in the period of the rejected step is flagged (not scored downstream)
    restated = pd.DataFrame({"ags": ["99200001", "99200001"], "measure": "population_current_territory",
                             "reference_date": [dt.date(2013, 12, 31), dt.date(2023, 12, 31)], "note": ["", ""]})
    flagged = crosswalk.flag_transfers(restated, steps, register, crosswalk.crosswalk(register, steps))
    assert flagged["territorial_change"].tolist() == ["implausible_step", None]


def test_a_predecessor_far_from_its_successor_is_rejected():
    register, areas, population = wrong_merger_case()
    steps = pd.DataFrame([("2013", "2023", "99200003", "99100004", "merger", "area test", "area_sum")],
                         columns=crosswalk.STEP_COLUMNS)
    register.loc[(register["ags"] == "99200003") & (register["vintage"] == "2013"), "lon"] = 13.5  # 1° east, 0.1° south: ~69.6 km
    checked = crosswalk.check_plausibility(steps, register, population.assign(
        population=population["population"].where(population["ags"] != "99100004", 10600)))
    assert checked["plausibility"].item() == "too_far"
    assert checked["max_distance_km"].item() == pytest.approx(69.6, abs=0.5)  # allowed: 2 * sqrt(35/pi) + 3 = 9.7 km


def test_every_source_is_brought_onto_the_current_territory():
    """A recode moves the value; a merger sums counts and weights shares and averages (minutes) by population."""
    walk = pd.DataFrame([("2013", "03156002", "03159003"), ("2013", "A", "A"), ("2013", "B", "A"),
                         ("2013", "C", "C")], columns=["vintage", "ags", "current_ags"])
    weights = pd.DataFrame([("03156002", "2013", 11000), ("A", "2013", 3000), ("B", "2013", 1000), ("C", "2013", 50)],
                           columns=["ags", "vintage", "population"])
    rows = [("03156002", "%", 80.0), ("A", "%", 90.0), ("B", "%", 50.0), ("A", "count", 3.0), ("B", "count", 2.0),
            ("A", "minutes by car", 30.0), ("B", "minutes by car", 40.0), ("C", "%", None), ("UNKNOWN", "%", 10.0)]
    observations = pd.DataFrame([(a, "gemeinde", dt.date(2021, 6, 30), f"m_{u}", v, u, "", "bba", "2021")
                                 for a, u, v in rows],
                                columns=["ags", "level", "reference_date", "measure", "value", "unit", "note",
                                         "source_id", "vintage"])
    observations["key_vintage"] = ["2013"] * 8 + [float("nan")]
    result = crosswalk.bring_forward(observations, walk, weights).set_index(["ags", "measure"])
    assert result.loc[("03159003", "m_%"), ["value", "territorial_change", "published_ags"]].tolist() == \
        [80.0, "recode", "03156002"]
    assert result.loc[("A", "m_%"), "value"] == pytest.approx((90 * 3000 + 50 * 1000) / 4000)  # 80.0
    assert result.loc[("A", "m_%"), "territorial_change"] == "merger_weighted"
    assert result.loc[("A", "m_count"), ["value", "territorial_change"]].tolist() == [5.0, "merger"]
    # an average travel time is no count: summed, a merger of eleven Gemeinden was eleven times as far away
    assert result.loc[("A", "m_minutes by car"), "value"] == pytest.approx((30 * 3000 + 40 * 1000) / 4000)
    assert result.loc[("A", "m_minutes by car"), "territorial_change"] == "merger_weighted"
    assert pd.isna(result.loc[("C", "m_%"), "territorial_change"])  # unchanged key: no flag
    assert result.loc[("UNKNOWN", "m_%"), "value"] == 10.0  # a key no register knows stays as it is


def test_a_publishers_restated_commuter_share_says_the_commuting_between_the_merged_gemeinden_counts():
    """A Gemeinde C formed on 01.01.2019 (as Werra-Suhl-Tal): INKAR's out-commuter share of mid-2018 on its later
    territory counts the commuting between its former Gemeinden as crossing the boundary (measured: such shares
    fall at the first own value in 191 of 226 Gemeinden); its long-distance share keeps the plain code, and so does
    a Verband's share passed to the Gemeinde (the Verband's own boundary decides what it counts)."""
    from sources import contracts

    steps = pd.DataFrame([{"from_vintage": "2013-12-31", "to_vintage": "2021-12-31", "from_date": dt.date(2013, 12, 31),
                           "to_date": dt.date(2021, 12, 31), "evidence": "test", "from_ags": a, "to_ags": "C",
                           "kind": "merger", "plausibility": "ok"} for a in ("A1", "A2")])
    last_change = pd.DataFrame({"ags": ["C"], "last_change_date": pd.to_datetime(["2019-01-01"])})
    rows = [("out_commuter_share", dt.date(2018, 6, 30), "gemeinde"),
            ("commuters_50km_share", dt.date(2018, 6, 30), "gemeinde"),
            ("out_commuter_share", dt.date(2019, 6, 30), "gemeinde"),
            ("in_commuter_share", dt.date(2018, 6, 30), "gemeindeverband")]
    observations = pd.DataFrame([("C", "gemeinde", date, measure, 60.0, "", "inkar", level, None)
                                 for measure, date, level in rows],
                                columns=["ags", "level", "reference_date", "measure", "value", "note", "source_id",
                                         "source_level", "territorial_change"])
    typed = crosswalk.with_publisher_restatements(observations.copy(), last_change, steps,
                                                  boundary_flows=contracts.boundary_flows)
    assert typed["territorial_change"].tolist() == ["publisher_restated_commuting", "publisher_restated", None,
                                                    "publisher_restated"]
    assert typed["note"].iloc[0] == "restated by the publisher: the Gemeinde took its current territory on 2019-01-01"
    plain = crosswalk.with_publisher_restatements(observations.copy(), last_change, steps)
    assert plain["territorial_change"].tolist() == ["publisher_restated", "publisher_restated", None,
                                                    "publisher_restated"]


def test_merged_commuting_figures_are_typed_as_counting_the_commuting_between_the_parts():
    """Walsrode (03358024) took in Bomlitz (03358006) in 2020: INKAR's out-commuter shares of the two, weighted,
    count Bomlitz-Walsrode commuters as out-commuters of today's Walsrode. The measures that count commuting
    across a boundary are declared in sources.yaml (``boundary_flows``), read through sources.contracts.
    Kelheim (09273137) gained the uninhabited 09273454: nobody commutes between the two."""
    from sources import contracts

    walk = pd.DataFrame([("2019", "03358024", "03358024"), ("2019", "03358006", "03358024"),
                         ("2019", "09273137", "09273137"), ("2019", "09273454", "09273137")],
                        columns=["vintage", "ags", "current_ags"])
    weights = pd.DataFrame([("03358024", "2019", 23900), ("03358006", "2019", 7200), ("09273137", "2019", 16779),
                            ("09273454", "2019", 0)], columns=["ags", "vintage", "population"])
    rows = [("inkar", "out_commuter_share", "% of employees at residence", 61.0, 72.0, "gemeinde"),
            ("inkar", "commuters_50km_share", "% of employees at residence", 12.0, 14.0, "gemeinde"),
            ("ba_commuting", "out_commuters", "persons", 5000.0, 2100.0, None),
            ("pendleratlas", "internal_commuters", "employed persons", 3000.0, 400.0, None),
            ("pendleratlas", "commuter_balance", "employed persons", 1200.0, -900.0, None),
            # a Gemeindeverband's value passed on: the Verband's own boundary decides what it counts
            ("inkar", "in_commuter_share", "% of employees at workplace", 55.0, 41.0, "gemeindeverband")]
    observations = pd.DataFrame(
        [(ags, "gemeinde", dt.date(2019, 6, 30), measure, value, unit, "", source, "2022-12", level)
         for source, measure, unit, walsrode, bomlitz, level in rows
         for ags, value in (("03358024", walsrode), ("03358006", bomlitz))]
        + [(ags, "gemeinde", dt.date(2006, 6, 30), "out_commuter_share", value, "% of employees at residence", "",
            "inkar", "2022-12", "gemeinde") for ags, value in (("09273137", 57.54), ("09273454", 10.8))],
        columns=["ags", "level", "reference_date", "measure", "value", "unit", "note", "source_id", "vintage",
                 "source_level"]).assign(key_vintage="2019")
    moved = crosswalk.bring_forward(observations, walk, weights, boundary_flows=contracts.boundary_flows)
    walsrode = moved[moved["ags"] == "03358024"].set_index("measure")
    assert walsrode.loc["out_commuter_share", "value"] == pytest.approx((61 * 23900 + 72 * 7200) / 31100)
    assert walsrode.loc["out_commuter_share", "territorial_change"] == "merger_internal_commuting"
    assert walsrode.loc["out_commuters", ["value", "territorial_change"]].tolist() == [7100.0,
                                                                                      "merger_internal_commuting"]
    assert walsrode.loc["internal_commuters", "territorial_change"] == "merger_internal_commuting"
    # the long-distance share (its denominator all employees, few parts 50 km apart) and the balance (the commuting
    # between the parts counts in both in and out, and cancels) keep their codes, as does the Verband's value
    assert walsrode.loc["commuters_50km_share", "territorial_change"] == "merger_weighted"
    assert walsrode.loc["commuter_balance", "territorial_change"] == "merger"
    assert walsrode.loc["in_commuter_share", "territorial_change"] == "merger_weighted"
    kelheim = moved[moved["ags"] == "09273137"]
    assert kelheim[["value", "territorial_change"]].values.tolist() == [[57.54, "merger_weighted"]]
    # without the declaration nothing is typed so (the crosswalk's own tests, other callers)
    assert "merger_internal_commuting" not in set(crosswalk.bring_forward(observations, walk, weights)["territorial_change"])
    # the staging path, one vintage at a time, types the same rows
    register = walk[["ags", "vintage"]].assign(territorial_date=dt.date(2019, 12, 31))
    staged = crosswalk.onto_current(observations.drop(columns="key_vintage"), register, walk,
                                    pd.DataFrame(columns=crosswalk.STEP_COLUMNS), weights, key_vintage="2019",
                                    boundary_flows=contracts.boundary_flows)
    assert sorted(staged.loc[staged["territorial_change"] == "merger_internal_commuting", "measure"]) == [
        "internal_commuters", "out_commuter_share", "out_commuters"]


def test_key_vintages_find_the_register_that_holds_a_publishers_key():
    register = pd.DataFrame([("03156002", "2013"), ("03159003", "2021"), ("X", "2013"), ("X", "2021")],
                            columns=["ags", "vintage"]).assign(
        territorial_date=lambda f: f["vintage"].map(lambda v: dt.date(int(v), 12, 31)))
    observations = pd.DataFrame({"ags": ["03156002", "03159003", "X", "X"],
                                 "reference_date": [dt.date(2022, 6, 30), dt.date(2019, 12, 31),
                                                    dt.date(2022, 6, 30), dt.date(2019, 12, 31)]})
    # an old key used after its register ended; a new key used before its register; a key in both
    assert crosswalk.key_vintages(observations, register).tolist() == ["2013", "2021", "2021", "2013"]


def test_inkar_verband_keyed_by_a_gemeinde_of_inkars_status_is_that_gemeinde():
    """Kirn 07133052 is its own Verband in INKAR's status, but a member of Kirner Land in the register."""
    from sources import inkar
    commuting = pd.DataFrame([("07133052", "gemeindeverband", dt.date(2019, 12, 31), "out_commuter_share", 69.86,
                               "%", ""),
                              ("07133903", "gemeindeverband", dt.date(2019, 12, 31), "out_commuter_share", 80.0,
                               "%", "")], columns=["ags", "level", "reference_date", "measure", "value", "unit", "note"])
    names = pd.DataFrame([("07133052", "gemeindeverband", "Kirn, Stadt"),
                          ("07133903", "gemeindeverband", "Kirn-Land")], columns=["ags", "level", "name"])
    register = pd.DataFrame([("07133052", "Kirn, Stadt", "07133", "071335009", "Kirner Land"),
                             ("07133001", "Bärweiler", "07133", "071335009", "Kirner Land")],
                            columns=["ags", "name", "kreis_ags", "vb_ars", "vb_name"])
    assert inkar.map_to_gemeinden(commuting, names, register).empty  # register status alone: lost
    own = pd.DataFrame({"ags": ["07133052", "07133001"], "name": ["Kirn, Stadt", "Bärweiler"]})
    mapped = inkar.map_to_gemeinden(commuting, names, register, own)
    assert mapped[["ags", "value", "source_level"]].values.tolist() == [["07133052", 69.86, "gemeinde"]]


def test_inkar_verband_reorganised_after_inkars_status_is_found_in_an_older_register():
    """Altenkirchen (Westerwald): a Verband in INKAR's status, merged into Altenkirchen-Flammersfeld in 2020."""
    from sources import inkar
    commuting = pd.DataFrame([("07132901", "gemeindeverband", dt.date(2019, 12, 31), "out_commuter_share", 60.0,
                               "%", "")], columns=["ags", "level", "reference_date", "measure", "value", "unit", "note"])
    names = pd.DataFrame([("07132901", "gemeindeverband", "Altenkirchen (Westerwald)")],
                         columns=["ags", "level", "name"])
    rows = [("2013", "07132501", "Altenkirchen (Westerwald), Stadt", "071325001", "Altenkirchen (Westerwald)"),
            ("2013", "07132502", "Almersbach", "071325001", "Altenkirchen (Westerwald)"),
            ("2021", "07132501", "Altenkirchen (Westerwald), Stadt", "071325010", "Altenkirchen-Flammersfeld"),
            ("2021", "07132502", "Almersbach", "071325010", "Altenkirchen-Flammersfeld")]
    registers = pd.DataFrame(rows, columns=["vintage", "ags", "name", "vb_ars", "vb_name"]).assign(
        kreis_ags="07132")
    own = pd.DataFrame({"ags": ["07132501", "07132502"], "name": ["Altenkirchen", "Almersbach"]})
    mapped = inkar.map_through_registers(commuting, names, registers, own)
    assert sorted(mapped[["ags", "key_vintage", "source_level"]].values.tolist()) == [
        ["07132501", "2013", "gemeindeverband"], ["07132502", "2013", "gemeindeverband"]]


def test_without_inkars_gemeinde_list_the_register_before_the_release_stands_for_its_status():
    from sources import inkar
    registers = pd.DataFrame({"vintage": ["2013-12-31", "2021-12-31", "2023-12-31"], "ags": ["A", "A", "A"]})
    empty = pd.DataFrame(columns=["ags", "name"])
    assert inkar.closest_register(registers, empty, "2022-12") == "2021-12-31"
    assert inkar.closest_register(registers, pd.DataFrame({"ags": ["A"], "name": ["a"]}), "2022-12") == "2013-12-31"


def test_a_merger_of_more_than_three_is_found_by_geography_and_tested():
    """Four Gemeinden become 'Neustadt' (no shared name, four parts: the area inference cannot find it);
    their centres lie around the new key's, their areas add up, their population continues."""
    parts = [("99100001", "Aa", 10.0, 1000, 10.00, 50.00), ("99100002", "Bb", 12.0, 1200, 10.05, 50.00),
             ("99100003", "Cc", 8.0, 800, 10.00, 50.05), ("99100004", "Dd", 10.0, 1000, 10.05, 50.05),
             ("99100009", "Far", 40.0, 900, 11.50, 50.00)]
    rows = [("2013", *p) for p in parts] + [("2021", "99100010", "Neustadt", 40.2, 3900, 10.02, 50.02),
                                            ("2021", "99100009", "Far", 40.0, 880, 11.50, 50.00)]
    frame = pd.DataFrame(rows, columns=["vintage", "ags", "name", "area_km2", "population", "lon", "lat"])
    register = frame[["ags", "name", "vintage", "lon", "lat"]].assign(
        territorial_date=frame["vintage"].map(lambda v: dt.date(int(v), 12, 31)))
    steps = crosswalk.build_steps(register, frame[["ags", "vintage", "area_km2"]], pd.DataFrame(),
                                  frame[["ags", "vintage", "population", "area_km2"]])
    assert sorted(steps["from_ags"]) == ["99100001", "99100002", "99100003", "99100004"]
    assert set(steps["to_ags"]) == {"99100010"} and set(steps["plausibility"]) == {"ok"}
    assert set(steps["basis"]) == {"nearest_centres"} and steps["evidence"].str.startswith("geography: new key").all()


def test_merged_parts_are_noted_in_key_order_and_a_verband_part_marks_the_whole():
    """_combine's note lists the parts sorted ('parts: a + b + c' whatever their row order); source_level is
    'gemeindeverband' when any part has it, else the first part's (a missing level stays missing)."""
    walk = pd.DataFrame([("2013", k, "M") for k in ("Z", "B", "Y")] + [("2013", k, "N") for k in ("Q", "P")],
                        columns=["vintage", "ags", "current_ags"])
    weights = pd.DataFrame([(k, "2013", 100) for k in ("Z", "B", "Y", "Q", "P")], columns=["ags", "vintage", "population"])
    rows = [("Z", "gemeinde"), ("B", "gemeindeverband"), ("Y", "gemeinde"), ("Q", None), ("P", "gemeinde")]
    observations = pd.DataFrame([(a, "gemeinde", dt.date(2021, 6, 30), "m", 1.0, "count", "", "bba", "2021", "2013", lvl)
                                 for a, lvl in rows],
                                columns=["ags", "level", "reference_date", "measure", "value", "unit", "note",
                                         "source_id", "vintage", "key_vintage", "source_level"])
    result = crosswalk.bring_forward(observations, walk, weights).set_index("ags")
    assert result.loc["M", ["note", "source_level", "value"]].tolist() == ["parts: B + Y + Z", "gemeindeverband", 3.0]
    assert result.loc["N", "note"] == "parts: P + Q"
    assert result.loc["N", "source_level"] is None  # the first part's (Q) level, not the second's


def test_key_vintages_of_unknown_keys_and_dates_before_every_register():
    """A key no register holds gets no register; a date before every register takes the key's earliest."""
    register = pd.DataFrame([("A", "2013"), ("A", "2021"), ("B", "2021")], columns=["ags", "vintage"]).assign(
        territorial_date=lambda f: f["vintage"].map(lambda v: dt.date(int(v), 12, 31)))
    observations = pd.DataFrame({"ags": ["A", "B", "C", "A"],
                                 "reference_date": [dt.date(2001, 6, 30), dt.date(2001, 6, 30),
                                                    dt.date(2022, 6, 30), dt.date(2022, 6, 30)]})
    found = crosswalk.key_vintages(observations, register)
    assert found.iloc[[0, 1, 3]].tolist() == ["2013", "2021", "2021"]
    assert pd.isna(found.iloc[2])


def test_a_quarterly_register_is_a_transition_in_time_order():
    """Registers of 31.12.2024, 30.06.2025 (the quarterly '2025-Q2') and 31.12.2025: E merges into D in the
    first half of 2025. As text '2025-Q2' sorts after '2025-12-31'; the crosswalk's transitions must not."""
    rows = [("2024-12-31", "99100004", "D", 20.0), ("2024-12-31", "99100005", "E", 4.0),
            *[(vintage, "99100004", "D", 24.0) for vintage in ("2025-Q2", "2025-12-31")]]
    frame = pd.DataFrame(rows, columns=["vintage", "ags", "name", "area_km2"])
    dates = {"2024-12-31": dt.date(2024, 12, 31), "2025-Q2": dt.date(2025, 6, 30), "2025-12-31": dt.date(2025, 12, 31)}
    register = frame[["ags", "name", "vintage"]].assign(territorial_date=frame["vintage"].map(dates))
    steps = crosswalk.transitions(register, frame[["ags", "vintage", "area_km2"]])
    assert steps[["from_vintage", "to_vintage", "from_ags", "to_ags", "kind"]].values.tolist() == [
        ["2024-12-31", "2025-Q2", "99100005", "99100004", "merger"]]
    # the registers' territorial dates, which whoever compares a step with a date reads (not the vintage ids)
    dated = crosswalk.with_dates(steps, register)
    assert dated[["from_date", "to_date"]].values.tolist() == [[dt.date(2024, 12, 31), dt.date(2025, 6, 30)]]
    walk = crosswalk.crosswalk(register, steps)
    assert walk.values.tolist() == [["2024-12-31", "99100004", "99100004"], ["2024-12-31", "99100005", "99100004"],
                                    ["2025-Q2", "99100004", "99100004"],
                                    ["2025-12-31", "99100004", "99100004"]]
    # a key missing from the register of an observation's date is read on the latest earlier register holding it
    held = crosswalk.held_vintages(register[register["vintage"] != "2025-12-31"])
    assert held["99100004"] == ["2024-12-31", "2025-Q2"]
    assert crosswalk.key_vintage(held, "99100004", "2025-12-31") == "2025-Q2"


def test_a_centre_shared_with_a_namesake_elsewhere_is_blanked():
    """The 2009 register gave Salem (Kreis 99100) the centre of Salem in Kreis 99300, 600 km south. The
    shared centre stays with the Salem whose Kreis it lies in; the other's centre becomes unknown, so
    no distance test or geographic merger rests on it. A centre only one Gemeinde has is kept."""
    rows = [("99100001", "Salem", 8.99, 47.77, 20.0), ("99100002", "Adorf", 10.50, 53.60, 400.0),
            ("99100003", "Bdorf", 10.60, 53.62, 400.0), ("99300001", "Salem", 8.99, 47.77, 40.0),
            ("99300002", "Cdorf", 9.05, 47.80, 400.0), ("99300003", "Ddorf", 8.90, 47.70, 400.0)]
    frame = pd.DataFrame(rows, columns=["ags", "name", "lon", "lat", "area_km2"]).assign(vintage="2009-12-31")
    trusted = crosswalk.trusted_centres(frame[["ags", "name", "vintage", "lon", "lat"]],
                                        frame[["ags", "vintage", "area_km2"]]).set_index("ags")
    assert trusted["lon"].isna().tolist() == [True, False, False, False, False, False]
    # both far from their Kreise: the centre is nobody's
    far = frame.assign(lon=frame["lon"].where(~frame["name"].eq("Salem"), 13.40),
                       lat=frame["lat"].where(~frame["name"].eq("Salem"), 52.52))
    trusted = crosswalk.trusted_centres(far[["ags", "name", "vintage", "lon", "lat"]], far[["ags", "vintage", "area_km2"]])
    assert trusted["lon"].isna().sum() == 2


def test_values_a_publisher_restated_onto_a_gemeinde_formed_later_are_found():
    """INKAR gives Werra-Suhl-Tal (formed 01.01.2019, BKG WSK) values from 1997 on: before 2019 the publisher's
    restatement. Flagged: Gemeinde rows left as given, dated before the date of a change that formed the Gemeinde
    (a usable merger into it, or an official transfer that is not minor, between the two registers around it)."""
    between = {"from_vintage": "2013-12-31", "to_vintage": "2021-12-31",
               "from_date": dt.date(2013, 12, 31), "to_date": dt.date(2021, 12, 31), "evidence": "test"}
    steps = pd.DataFrame([
        {**between, "from_ags": "A1", "to_ags": "C", "kind": "merger", "plausibility": "ok"},
        {**between, "from_ags": "A2", "to_ags": "C", "kind": "merger", "plausibility": "ok"},
        {**between, "from_ags": "D1", "to_ags": "E", "kind": "merger", "plausibility": "population_jump"},
        {**between, "from_ags": "F1", "to_ags": "G", "kind": "recode", "plausibility": "ok"},
        {**between, "from_ags": "H1", "to_ags": "H", "kind": "partial_transfer", "plausibility": "official",
         "moved_population": 30.0, "moved_share": 0.4},
        {**between, "from_ags": "J1", "to_ags": "J", "kind": "partial_transfer", "plausibility": "official",
         "moved_population": 900.0, "moved_share": 12.0},
        {**between, "from_ags": "L1", "to_ags": "L", "kind": "merger", "plausibility": "ok"},
        {**between, "from_ags": "M1", "to_ags": "M", "kind": "partial_transfer", "plausibility": "official",
         "moved_population": 900.0, "moved_share": float("nan")},  # unknown share: not minor, as flag_transfers
        {**between, "from_ags": "N1", "to_ags": "N", "kind": "split", "plausibility": "official",
         "moved_population": 20.0, "moved_share": 0.2},
        {**between, "from_ags": "P1", "to_ags": "P", "kind": "merger", "plausibility": "ok"}])
    last_change = pd.DataFrame({"ags": ["C", "E", "G", "H", "J", "K", "L", "M", "N", "P"],
                                "last_change_date": pd.to_datetime(["2019-01-01", "2019-01-01", "2019-01-01",
                                                                    "2019-01-01", "2020-01-01", "2019-01-01",
                                                                    "2010-01-01",  # L: WSK before the step
                                                                    "2020-07-01", "2019-01-01", "2020-01-01"])})
    rows = [("C", "gemeinde", dt.date(2018, 6, 30), None, True),
            ("C", "gemeinde", dt.date(2019, 6, 30), None, False),  # after the merger: its own territory
            ("C", "gemeinde", dt.date(2018, 12, 31), "merger_weighted", False),  # the crosswalk restated it
            ("C", "kreis", dt.date(2018, 6, 30), None, False),
            ("E", "gemeinde", dt.date(2018, 6, 30), None, False),  # a rejected inference is no evidence
            ("G", "gemeinde", dt.date(2018, 6, 30), None, False),  # a recode changes no territory
            ("H", "gemeinde", dt.date(2018, 6, 30), None, False),  # a minor transfer
            ("J", "gemeinde", dt.date(2019, 6, 30), None, True),
            ("K", "gemeinde", dt.date(2018, 6, 30), None, False),  # a boundary correction without a step
            ("L", "gemeinde", dt.date(2009, 6, 30), None, False),  # the change predates the step's registers
            ("M", "gemeinde", dt.date(2019, 6, 30), None, True),
            ("N", "gemeinde", dt.date(2018, 6, 30), None, False),  # a minor split part
            ("P", "gemeinde", dt.date(2019, 6, 30), None, True)]
    observations = pd.DataFrame(rows, columns=["ags", "level", "reference_date", "territorial_change", "expected"])
    flagged = crosswalk.publisher_restated(observations.drop(columns="expected"), last_change, steps)
    assert flagged.tolist() == observations["expected"].tolist()
    assert not crosswalk.publisher_restated(observations, last_change.iloc[:0], steps).any()
    # the publisher still lists P1 (and A1): its status predates those steps, so it restated nothing across them;
    # C stays flagged through A2, which it no longer lists
    restated = crosswalk.publisher_restated(observations.drop(columns="expected"), last_change, steps,
                                            publisher_keys={"P1", "A1", "C", "P"})
    assert observations.loc[restated, "ags"].tolist() == ["C", "J", "M"]


def test_germany_wide_the_gemeinden_formed_after_inkars_2018_values_are_dated(full_data, germany_2013_2021):
    """On the Germany-wide registers of 2013 and 2021 and the VG5000 2021 (WSK): Werra-Suhl-Tal and Ilmenau
    were formed (or enlarged) by mergers on 01.01.2019, so a value of mid-2018 on their key is a publisher's
    restatement and one of mid-2019 is not; Mölln did not change. Dippoldiswalde absorbed Schmiedeberg on
    01.01.2014."""
    from sources.registry import discover_releases, load_sources

    register, geometries = germany_2013_2021.register, germany_2013_2021.geometries
    # with the boundaries, as the pipeline builds them: Werra-Suhl-Tal's four predecessors are beyond the area sets
    steps = crosswalk.with_dates(germany_2013_2021.steps, register)
    towns = {"16063103": "Werra-Suhl-Tal", "16070029": "Ilmenau", "01053090": "Mölln", "14628060": "Dippoldiswalde"}
    rows = pd.DataFrame([(ags, "gemeinde", dt.date(year, 6, 30), None) for ags in towns for year in (2013, 2018, 2019)],
                        columns=["ags", "level", "reference_date", "territorial_change"])
    flagged = rows[crosswalk.publisher_restated(rows, geometries, steps)]
    assert sorted(zip(flagged["ags"], flagged["reference_date"].map(lambda d: d.year))) == [
        ("14628060", 2013), ("16063103", 2013), ("16063103", 2018), ("16070029", 2013), ("16070029", 2018)]
    # INKAR 2022-12's own Gemeinde list still holds Bomlitz, which joined Walsrode on 01.01.2020: INKAR restated
    # nothing across that merger (the crosswalk restates Walsrode's values itself); without the list it counted
    from sources import inkar
    [inkar_release] = discover_releases(load_sources()["inkar"], full_data)
    inkar_keys = set(inkar.parse_release(inkar_release)["gemeinden"]["ags"])
    walsrode = pd.DataFrame([("03358024", "gemeinde", dt.date(2019, 6, 30), None)], columns=rows.columns)
    assert "03358004" in inkar_keys
    assert crosswalk.publisher_restated(walsrode, geometries, steps).tolist() == [True]
    assert crosswalk.publisher_restated(walsrode, geometries, steps, inkar_keys).tolist() == [False]
    assert crosswalk.publisher_restated(rows, geometries, steps, inkar_keys).tolist() == \
        crosswalk.publisher_restated(rows, geometries, steps).tolist()
    formed = crosswalk.publisher_restated(
        pd.DataFrame({"ags": geometries["ags"], "level": "gemeinde", "reference_date": dt.date(2013, 12, 31),
                      "territorial_change": None}), geometries, steps)
    successors = set(steps.loc[crosswalk.usable(steps) & (steps["kind"] == "merger")
                               & (steps["from_ags"] != steps["to_ags"]), "to_ags"]) & set(geometries["ags"])
    # nearly every Gemeinde a merger of 2014-2021 formed has that date as its WSK (160 of 170 on these files)
    assert 0.9 * len(successors) < formed.sum() <= len(successors)


def _verband_register(rows: list[tuple[str, str, str | None]]) -> pd.DataFrame:
    """(vintage year, ags, vb_ars) rows as a register with its territorial dates (31.12. of the year)."""
    frame = pd.DataFrame(rows, columns=["vintage", "ags", "vb_ars"])
    return frame.assign(territorial_date=frame["vintage"].map(lambda v: dt.date(int(v), 12, 31)))


def test_verbaende_reorganised_between_two_registers_are_dated_by_their_members_wsk():
    """2013 → 2021: Verbände A and B merge into N on 01.07.2014 (one member's own boundary changed again in
    2020: the date most members share wins); the verbandsfreie 07000007 joins C on 01.01.2020; E loses
    07000011, now verbandsfrei, without a WSK between the registers (then: the day after the 2013 register);
    D is unchanged; in F two members merged into one new key, which is no Verband change."""
    rows = [("2013", "07000001", "0700A"), ("2013", "07000002", "0700A"), ("2013", "07000003", "0700B"),
            ("2013", "07000004", "0700B"), ("2013", "07000005", "0700C"), ("2013", "07000006", "0700C"),
            ("2013", "07000007", None), ("2013", "07000008", "0700D"), ("2013", "07000009", "0700D"),
            ("2013", "07000010", "0700E"), ("2013", "07000011", "0700E"), ("2013", "07000012", "0700E"),
            ("2013", "07000013", "0700F"), ("2013", "07000014", "0700F"), ("2013", "07000015", "0700F")]
    rows += [("2021", ags, {"0700A": "0700N", "0700B": "0700N"}.get(vb, vb)) for _, ags, vb in rows
             if ags not in {"07000007", "07000011", "07000014", "07000015"}]
    rows += [("2021", "07000007", "0700C"), ("2021", "07000011", None), ("2021", "07000016", "0700F")]
    register = _verband_register(rows)
    last_change = pd.DataFrame({"ags": ["07000001", "07000002", "07000003", "07000004", "07000007", "07000005",
                                        "07000016", "07000008"],
                                "last_change_date": ["2014-07-01", "2014-07-01", "2014-07-01", "2020-03-01",
                                                     "2020-01-01", "2009-01-01", "2016-01-01", "2015-05-05"]})
    reorganised = crosswalk.verband_reorganised(register, last_change)
    assert sorted(zip(reorganised["vintage"], reorganised["vb_ars"], reorganised["restated_before"].astype(str))) == [
        ("2021", "0700C", "2020-01-01"), ("2021", "0700E", "2014-01-01"), ("2021", "0700N", "2014-07-01")]
    # the rows of Verband values passed to members: by the register the Verband was matched in
    mapped = pd.DataFrame({"ags": ["07000003", "07000006", "07000008", "07000001", "07000003", "07000010"],
                           "key_vintage": ["2021", "2021", "2021", "2021", "2013", "2021"],
                           "source_level": ["gemeindeverband"] * 3 + ["gemeinde", "gemeindeverband",
                                                                      "gemeindeverband"]})
    before = crosswalk.verband_restated_before(mapped, register, reorganised)
    # 07000003 matched in 2013 (its Verband B was not reorganised there) and in 2021: the later register's date
    assert before.sort_index().to_dict() == {"07000003": "2014-07-01", "07000006": "2020-01-01",
                                             "07000010": "2014-01-01"}
    assert crosswalk.verband_restated_before(mapped[mapped["key_vintage"] == "2013"], register, reorganised).empty
    assert crosswalk.verband_reorganised(register.drop(columns="vb_ars"), last_change).empty
    assert crosswalk.verband_reorganised(register[register["vintage"] == "2021"], last_change).empty


def test_a_verband_reform_of_an_earlier_period_a_merger_across_verbaende_and_a_tie_are_dated():
    """Registers 2009 (an old layout: most Gemeinden without a Verband key, so 2009 -> 2011 tells nothing), 2011,
    2013, 2021. Amt P, formed on 01.01.2012 from Ämter Q and R and unchanged since, keeps that date in 2021;
    Gemeinde 08000007 of Verband T merged into 08000005 of Verband S on 01.01.2016 (a usable step), so S grew,
    which without the step nothing tells; U took V's three members: of those that changed, one has the WSK
    2015-01-01 and one 2018-01-01, a tie the earlier date wins (a later one may be a member's own correction);
    U's own member's WSK (2018, its own change) does not count."""
    verbaende = {"2011": ["Q", "Q", "R", "R", "S", "S", "T", "T", "U", "V", "V", "V"],
                 "2013": ["P", "P", "P", "P", "S", "S", "T", "T", "U", "V", "V", "V"],
                 "2021": ["P", "P", "P", "P", "S", "S", None, "W", "U", "U", "U", "U"]}
    rows = [("2009", f"080000{i:02d}", "08000" if i == 1 else None) for i in range(1, 13)]
    rows += [(year, f"080000{i:02d}", f"0800{v}") for year, keys in verbaende.items()
             for i, v in enumerate(keys, start=1) if v]
    register = _verband_register(rows)
    wsk = {"08000001": "2012-01-01", "08000002": "2012-01-01", "08000003": "2012-01-01", "08000005": "2016-01-01",
           "08000009": "2018-01-01", "08000010": "2015-01-01", "08000011": "2018-01-01"}
    last_change = pd.DataFrame({"ags": list(wsk), "last_change_date": pd.to_datetime(list(wsk.values()))})
    step = pd.DataFrame([{"from_vintage": "2013", "to_vintage": "2021", "from_ags": "08000007", "to_ags": "08000005",
                          "kind": "merger", "evidence": "test", "plausibility": "ok"}])
    dated = crosswalk.verband_reorganised(register, last_change, step)
    assert sorted(zip(dated["vintage"], dated["vb_ars"], dated["restated_before"].astype(str))) == [
        ("2013", "0800P", "2012-01-01"), ("2021", "0800P", "2012-01-01"), ("2021", "0800S", "2016-01-01"),
        ("2021", "0800U", "2015-01-01")]
    without_step = crosswalk.verband_reorganised(register, last_change)
    assert sorted(set(without_step["vb_ars"])) == ["0800P", "0800U"]
    # a rejected inference is no evidence either
    rejected = crosswalk.verband_reorganised(register, last_change, step.assign(plausibility="population_jump"))
    assert sorted(set(rejected["vb_ars"])) == ["0800P", "0800U"]


def test_verband_changes_after_the_publishers_status_are_not_its_restatements():
    """The publisher's Gemeinde list still holds 09000005, which merged into 09000006 of Verband F on 01.01.2021:
    its status predates that (the first such successor's WSK, 2021-01-01, bounds it). So E losing 09000005 and F
    gaining it are no restatement, nor is G losing 09000003 on 01.06.2021 (after the bound); H taking 09000009 from
    I on 01.01.2016 is, for both. Without the list every change counts (Wolferschwenda into Greußen 2021, Rain
    leaving its VGem: what a Germany-wide review found typed)."""
    verbaende = {"2013": {"E": ["01", "02", "05"], "F": ["06", "07"], "G": ["03", "04", "08"], "H": ["10", "11"],
                          "I": ["09", "12", "13"]},
                 "2021": {"E": ["01", "02"], "F": ["06", "07"], "G": ["04", "08"], "H": ["09", "10", "11"],
                          "I": ["12", "13"]}}
    rows = [(year, f"090000{n}", f"0900{v}") for year, by in verbaende.items() for v, ns in by.items() for n in ns]
    register = _verband_register(rows + [("2021", "09000003", None)])
    wsk = {"09000006": "2021-01-01", "09000003": "2021-06-01", "09000009": "2016-01-01"}
    last_change = pd.DataFrame({"ags": list(wsk), "last_change_date": pd.to_datetime(list(wsk.values()))})
    step = pd.DataFrame([{"from_vintage": "2013", "to_vintage": "2021", "from_ags": "09000005", "to_ags": "09000006",
                          "kind": "merger", "evidence": "test", "plausibility": "ok"}])

    def dated(keys):
        found = crosswalk.verband_reorganised(register, last_change, step, keys)
        return sorted(zip(found["vb_ars"], found["restated_before"].astype(str)))

    assert dated(None) == [("0900E", "2021-01-01"), ("0900F", "2021-01-01"), ("0900G", "2021-06-01"),
                           ("0900H", "2016-01-01"), ("0900I", "2016-01-01")]
    listed = set(register.loc[register["vintage"] == "2013", "ags"])
    assert dated(listed) == [("0900H", "2016-01-01"), ("0900I", "2016-01-01")]


def test_germany_wide_the_verband_reforms_of_rheinland_pfalz_are_dated(full_data, germany_2013_2021):
    """Registers 2013 and 2021 with the VG5000 2021 WSK: Cochem (joined by six Gemeinden of VG Treis-Karden,
    01.07.2014), Kirner Land (VG Kirn-Land and the town of Kirn, 01.01.2020) and Oberes Glantal (three VGs,
    01.01.2017; one member's later correction does not move the date) are reorganised; Adenau, whose members
    stayed, is not."""
    from sources.registry import discover_releases, load_sources

    register, values, geometries = germany_2013_2021.register, germany_2013_2021.values, germany_2013_2021.geometries
    reorganised = crosswalk.verband_reorganised(register, geometries[["ags", "last_change_date"]])
    names = register.drop_duplicates(["vintage", "vb_ars"]).set_index(["vintage", "vb_ars"])["vb_name"]
    dated = {names[(v, k)]: str(d)[:10] for v, k, d in reorganised[["vintage", "vb_ars", "restated_before"]].values
             if v == "2021-12-31"}
    assert (dated["Cochem"], dated["Kirner Land"], dated["Oberes Glantal"]) == ("2014-07-01", "2020-01-01", "2017-01-01")
    assert not {"Adenau"} & set(dated)
    rlp = reorganised[reorganised["vb_ars"].str[:2].eq("07") & reorganised["vintage"].eq("2021-12-31")]
    assert 30 <= len(rlp) <= 45  # the reform's mergers of 2014-2021 (37 on these files)
    # with INKAR 2022-12's own Gemeinde list (status 31.12.2019): what came after it is no restatement of INKAR's.
    # Wolferschwenda merged into Greußen on 01.01.2021 (INKAR lists both): VG Ebeleben lost it, VG Greußen gained
    # it (its own reform of 2012 lies before these two registers). Kirner Land (01.01.2020) is after the status too.
    from sources import inkar
    [inkar_release] = discover_releases(load_sources()["inkar"], full_data)
    listed = set(inkar.parse_release(inkar_release)["gemeinden"]["ags"])
    steps = crosswalk.with_dates(crosswalk.build_steps(register, values[["ags", "vintage", "area_km2"]], pd.DataFrame(),
                                                       values[["ags", "vintage", "population", "area_km2"]]), register)
    bounded = crosswalk.verband_reorganised(register, geometries[["ags", "last_change_date"]], steps, listed)
    dated = {names[(v, k)]: str(d)[:10] for v, k, d in bounded[["vintage", "vb_ars", "restated_before"]].values
             if v == "2021-12-31"}
    assert (dated["Cochem"], dated["Oberes Glantal"]) == ("2014-07-01", "2017-01-01")
    assert "16065082" in listed and "16065082" not in set(register.loc[register["vintage"] == "2021-12-31", "ags"])
    assert not {"Greußen", "Kirner Land", "Ebeleben"} & set(dated)
    unbounded = crosswalk.verband_reorganised(register, geometries[["ags", "last_change_date"]], steps)
    assert {"Greußen", "Kirner Land"} <= {names[("2021-12-31", k)] for k in unbounded["vb_ars"]}


def test_a_reorganised_verbands_values_are_typed_after_the_crosswalk():
    """``with_publisher_restatements`` types the member rows of a reorganised Verband dated before its date
    (``verband_dates``, by the member's key) ``verband_restated`` with a note naming the date; a row the crosswalk
    typed (a recode, a merger) keeps its code, later rows stay; the frame is typed in place."""
    from tests.unit.staging.test_onto_current_by_vintage import REGISTER, STEPS, WEIGHTS, observations, walk

    frame = observations(notes="from Gemeindeverband 010015001")
    verband_rows = frame["ags"].isin({"01001004", "01001002", "01001001"}).to_numpy()
    frame["source_level"] = np.where(verband_rows, "gemeindeverband", np.where(frame["level"] == "gemeinde",
                                                                               "gemeinde", None))
    moved = crosswalk.onto_current(frame, REGISTER, walk(), STEPS, WEIGHTS)
    plain = moved.copy()
    last_change = pd.DataFrame({"ags": ["01001004"], "last_change_date": [dt.date(2010, 1, 1)]})
    dates = pd.Series({"01001004": "2019-01-01", "01001002": "2019-01-01", "01001001": "2019-01-01",
                       "01001009": "2019-01-01"})
    steps = STEPS.assign(from_date=None, to_date=None)
    typed = crosswalk.with_publisher_restatements(moved, last_change, steps, verband_dates=dates)
    assert typed is moved  # in place: no copy of ~1 M rows
    rows = typed.set_index(["ags", "measure", "reference_date"])
    flagged = rows[rows["territorial_change"] == "verband_restated"]
    assert flagged.index.tolist() == [("01001004", "hh", dt.date(2018, 6, 30))]  # 2019-06-30 is after the reform
    assert flagged["note"].tolist() == ["from Gemeindeverband 010015001; restated by the publisher: before "
                                        "2019-01-01 the Gemeindeverband did not yet have its current territory"]
    assert rows.loc[("01001003", "hh", dt.date(2018, 6, 30)), "territorial_change"] == "merger"  # kept
    assert rows.loc[("01001009", "hh_%", dt.date(2018, 6, 30)), "territorial_change"] == "recode"  # kept
    untouched = crosswalk.with_publisher_restatements(plain.copy(), last_change, steps)
    pd.testing.assert_frame_equal(untouched, plain)


# Märkisch-Oderland 2002 -> 2009 (real areas and Verband keys, 31122002/31122009_Auszug_GV.xlsx): Letschin and Neulewin
# continue under new keys (Letschin 141.32 km² = Letschin and the seven other members of Amt Letschin; Neulewin 40.83
# km²), while Bad Freienwalde (Oder) and Wriezen grew
MAERKISCH_ODERLAND = [
    ("2002", "12064044", "Bad Freienwalde (Oder), Stadt", 55.79, "120646402"),
    ("2002", "12064512", "Wriezen, Stadt", 55.23, "120640000"),
    ("2002", "12064273", "Letschin", 56.84, "120646407"), ("2002", "12064168", "Gieshof-Zelliner Loose", 14.98, "120646407"),
    ("2002", "12064180", "Groß Neuendorf", 12.89, "120646407"), ("2002", "12064240", "Kiehnwerder", 4.73, "120646407"),
    ("2002", "12064244", "Kienitz", 23.35, "120646407"), ("2002", "12064328", "Neubarnim", 8.38, "120646407"),
    ("2002", "12064372", "Ortwig", 12.79, "120646407"), ("2002", "12064452", "Sietzing", 7.32, "120646407"),
    ("2002", "12064112", "Dolgelin", 14.68, "120646412"), ("2002", "12064144", "Friedersdorf", 10.75, "120646412"),
    ("2002", "12064320", "Münchehofe", 3.72, "120646405"),
    ("2002", "12064348", "Neulewin", 18.17, "120646414"), ("2002", "12064352", "Neulietzegöricke", 10.27, "120646414"),
    ("2002", "12064192", "Güstebieser Loose", 12.32, "120646414"), ("2002", "12064356", "Neureetz", 10.43, "120646414"),
    ("2002", "12064513", "Wriezener Höhe", 39.31, "120646414"),
    ("2009", "12064044", "Bad Freienwalde (Oder), Stadt", 131.03, "120640044"),
    ("2009", "12064512", "Wriezen, Stadt", 94.58, "120640512"),
    ("2009", "12064274", "Letschin", 141.32, "120640274"), ("2009", "12064349", "Neulewin", 40.83, "120645414"),
]


def test_a_gemeinde_that_names_a_new_key_is_not_taken_for_a_growing_one():
    """The growth search (no name condition) ran before the new keys: it matched Bad Freienwalde's gain of 75.24 km²
    with Dolgelin + Letschin + Münchehofe and Wriezen's 39.35 km² with Friedersdorf + Neulewin + Neureetz (both
    exact), so the new keys Letschin and Neulewin stayed unexplained (review of 5 December 2026). New keys are now
    decided first: a Gemeinde whose name the new key carries goes there with its set, and Wriezen gets Wriezener
    Höhe (39.31 km²), which fits its gain; in this excerpt nothing fits Bad Freienwalde (its real gain includes
    Hohensaaten from Kreis Barnim, beyond the Kreis-wide search)."""
    register, areas = verband_register(MAERKISCH_ODERLAND)
    steps = crosswalk.transitions(register, areas)
    into = steps.groupby("to_ags")["from_ags"].apply(sorted).to_dict()
    assert into["12064274"] == ["12064168", "12064180", "12064240", "12064244", "12064273", "12064328",
                                "12064372", "12064452"]  # Letschin: the members of Amt Letschin
    assert steps.loc[steps["to_ags"] == "12064274", "evidence"].str.contains("of one Verband").all()
    assert into["12064349"] == ["12064192", "12064348", "12064352"]  # Neulewin + Neulietzegöricke + Güstebieser Loose
    assert into["12064512"] == ["12064513"]  # Wriezen + Wriezener Höhe
    assert "12064044" not in into


# Bestensee 2002 -> 2009 (real areas): its gain of 17.98 km² is Pätz's 17.97 km² or Diepensee + Kablow + Kolberg's
# 17.99 km², both 0.01 km² off at the registers' precision; in floating point the triple's 0.00999999999999801 was
# "smaller" than Pätz's 0.010000000000001563
BESTENSEE = [
    ("2002", "12061020", "Bestensee", 19.81, "120610000"), ("2002", "12061372", "Pätz", 17.97, "120616101"),
    ("2002", "12061080", "Diepensee", 5.54, "120616109"), ("2002", "12061236", "Kablow", 7.16, "120616111"),
    ("2002", "12061256", "Kolberg", 5.29, "120616101"), ("2002", "12061136", "Friedersdorf", 17.38, "120616101"),
    ("2009", "12061020", "Bestensee", 37.79, "120610020"),
]


def test_a_tie_at_the_registers_precision_goes_to_the_smaller_set():
    """Three Gemeinden of three Ämter took Bestensee's gain instead of Pätz (no step at all): its 10-year population
    change of 2013 came out -0.08 % a year instead of +0.76 % (review of 5 December 2026). Residuals are compared
    rounded to 0.01 km², the registers' precision, so the smaller set wins a tie as documented."""
    register, areas = verband_register(BESTENSEE)
    steps = crosswalk.transitions(register, areas)
    assert steps[["from_ags", "to_ags"]].values.tolist() == [["12061372", "12061020"]]


# Märkisch-Oderland 2002 -> 2009 (real areas): Wriezen's gain of 39.35 km² fits Hohenwutzen + Worin (39.36) and
# Wriezener Höhe (39.31), Seelow's 17.14 km² Altglietzen + Neu Mahlisch + Zäckericker Loose (17.15) and Werbig (17.11)
WRIEZEN = [
    ("2002", "12064512", "Wriezen, Stadt", 55.23, "120640000"), ("2002", "12064220", "Hohenwutzen", 11.14, "120646402"),
    ("2002", "12064508", "Worin", 28.22, "120646412"), ("2002", "12064513", "Wriezener Höhe", 39.31, "120646414"),
    ("2009", "12064512", "Wriezen, Stadt", 94.58, "120640512"),
]
SEELOW = [
    ("2002", "12064448", "Seelow, Stadt", 25.28, "120640000"), ("2002", "12064024", "Altglietzen", 6.54, "120646402"),
    ("2002", "12064324", "Neu Mahlisch", 1.33, "120646412"), ("2002", "12064532", "Zäckericker Loose", 9.28, "120646414"),
    ("2002", "12064492", "Werbig", 17.11, "120646412"),
    ("2009", "12064448", "Seelow, Stadt", 42.42, "120640448"),
]


@pytest.mark.parametrize("rows", [WRIEZEN, SEELOW], ids=["Wriezen", "Seelow"])
def test_a_kreis_wide_set_with_a_rival_within_the_registers_drift_is_no_evidence(rows):
    """The best-fitting set was taken though another set, of no more members, fitted within 0.03 km², the drift of
    an unchanged Gemeinde's register area (95 %): Hohenwutzen + Worin (0.01 km² off) for Wriezen while Wriezener
    Höhe (0.04 km² off) is the likely one; Altglietzen + Neu Mahlisch + Zäckericker Loose (0.01) for Seelow while
    Werbig (0.03) is (review of 5 December 2026). Such a gain now stays unexplained (flagged downstream)."""
    register, areas = verband_register(rows)
    assert crosswalk.transitions(register, areas).empty


def test_a_rival_beyond_the_margin_does_not_block_the_best_set():
    """Wriezener Höhe 0.05 km² off Wriezen's gain (39.30 km²) no longer rivals Hohenwutzen + Worin (0.01 km²):
    the margin is the registers' drift, not the whole tolerance of 0.5 % (0.20 km² here)."""
    rows = [row if row[1] != "12064513" else row[:3] + (39.30,) + row[4:] for row in WRIEZEN]
    register, areas = verband_register(rows)
    steps = crosswalk.transitions(register, areas)
    assert sorted(steps["from_ags"]) == ["12064220", "12064508"]


def test_a_tie_between_the_anchors_of_a_new_key_goes_to_the_smaller_set():
    """The same for a new key's named sets: Berg alone (19.99 km²) and Aue + Xanten (12.00 + 7.99 km²) are both
    0.01 km² off the new key's 20.00 km²; Aue's set was found first and, in floating point, fitted better."""
    register, areas = hand_register([
        ("2002", "99100001", "Aue", 12.0), ("2002", "99100002", "Berg", 19.99), ("2002", "99100003", "Xanten", 7.99),
        ("2009", "99100009", "Aue-Berg", 20.0),
    ])
    steps = crosswalk.transitions(register, areas)
    assert steps[["from_ags", "to_ags"]].values.tolist() == [["99100002", "99100009"]]


# Bad Freienwalde (Oder) 2002 -> 2009 (real areas and Verband keys): a member of Amt Bad Freienwalde-Insel, it grew by
# 75.24 km²; its five Amt partners add up to 54.04 km² (the rest is most likely Hohensaaten, Kreis Barnim)
BAD_FREIENWALDE = [
    ("2002", "12064044", "Bad Freienwalde (Oder), Stadt", 55.79, "120646402"),
    ("2002", "12064024", "Altglietzen", 6.54, "120646402"), ("2002", "12064068", "Bralitz", 18.02, "120646402"),
    ("2002", "12064220", "Hohenwutzen", 11.14, "120646402"), ("2002", "12064332", "Neuenhagen", 8.18, "120646402"),
    ("2002", "12064436", "Schiffmühle", 10.16, "120646402"),
    ("2002", "12064104", "Diedersdorf", 18.54, "120646412"), ("2002", "12064492", "Werbig", 17.11, "120646412"),
    ("2002", "12064513", "Wriezener Höhe", 39.31, "120646414"),
    ("2009", "12064044", "Bad Freienwalde (Oder), Stadt", 131.03, "120640044"),
]


def test_a_kreis_wide_set_that_passes_over_the_towns_own_verband_is_not_used():
    """Nothing of its Amt fits the gain, so the Kreis-wide search found Diedersdorf + Werbig + Wriezener Höhe of two
    other Ämter (74.96 km², within 0.5 %): +1.40 % a year across the step and a 10-year population change of 2013
    of +0.48 % a year instead of about -1.3 % (review of 5 December 2026). A set that takes none of the town's
    vanished Amt partners is not used; the town stays unexplained and its change across 2003 is left out."""
    register, areas = verband_register(BAD_FREIENWALDE)
    assert crosswalk.transitions(register, areas).empty
    # verbandsfrei (no partner to pass over), the same town gets the Kreis-wide set as before
    free = register.assign(vb_ars=register["vb_ars"].where(register["ags"] != "12064044", "120640000"))
    assert sorted(crosswalk.transitions(free, areas)["from_ags"]) == ["12064104", "12064492", "12064513"]


def test_former_kreise_are_the_kreise_of_a_towns_old_keys_that_todays_register_lacks():
    """Bad Lauterberg im Harz lay in Osterode am Harz (03156) and Bovenden in Göttingen (03152) until the Landkreis
    Göttingen (03159) was formed in 2016; Eisenach (16056) is in the Wartburgkreis since 2021 under a new key. Each
    gets its former Kreis with the name of the last register listing it; Mölln, whose Kreis stayed, gets none, nor
    does a Gemeinde of an old register that is no Gemeinde of today."""
    def vintage(year: int, rows: list[tuple]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=["ags", "kreis_ags", "kreis_name"]).assign(
            vintage=str(year), territorial_date=dt.date(year, 12, 31))

    register = pd.concat([
        vintage(2009, [("03156002", "03156", "Osterode a. Harz")]),  # an older spelling: the last register's wins
        vintage(2013, [("03156002", "03156", "Osterode am Harz"), ("03152006", "03152", "Göttingen"),
                       ("16056000", "16056", "Eisenach, Stadt"), ("16063015", "16063", "Wartburgkreis"),
                       ("01053090", "01053", "Herzogtum Lauenburg"), ("03156999", "03156", "Osterode am Harz")]),
        vintage(2023, [("03159003", "03159", "Göttingen"), ("03159007", "03159", "Göttingen"),
                       ("16063105", "16063", "Wartburgkreis"), ("16063015", "16063", "Wartburgkreis"),
                       ("01053090", "01053", "Herzogtum Lauenburg")]),
    ], ignore_index=True)
    walk = pd.DataFrame([("2009", "03156002", "03159003"), ("2013", "03156002", "03159003"), ("2013", "03152006", "03159007"),
                         ("2013", "16056000", "16063105"), ("2013", "16063015", "16063015"),
                         ("2013", "01053090", "01053090"), ("2013", "03156999", "03156999"),
                         *[("2023", a, a) for a in ("03159003", "03159007", "16063105", "16063015", "01053090")]],
                        columns=["vintage", "ags", "current_ags"])
    former = crosswalk.former_kreise(register, walk)
    assert former.values.tolist() == [["03159003", "03156", "Osterode am Harz"], ["03159007", "03152", "Göttingen"],
                                      ["16063105", "16056", "Eisenach, Stadt"]]


def test_a_part_that_lay_in_another_kreis_of_today_is_listed_with_the_day_it_moved():
    """Kaltennordheim (16066095) holds since 01.01.2019 the town of the same name from the Wartburgkreis (16063102,
    formed in 2013 from Andenhausen and others of that Kreis): 3,342 of its inhabitants, whose commuters the Landkreis
    Schmalkalden-Meiningen's flows of 2016 leave out. Each step of the crosswalk that brought a part from another Kreis
    of today into the town's Kreis is listed once, with the registers around it, the day the BKG's WSK gives where it
    falls between them, and since when the registers place the town's territory in that Kreis. Two parts of one Kreis
    that moved at different times are both listed (a review's case, 7 December 2026); a part that came into that Kreis
    from a third one is placed there only from then on; a merger within one Kreis, a Kreis that is gone
    (``former_kreise``) and a part of today's Kreis are none."""
    def vintage(year: int, rows: list[tuple]) -> pd.DataFrame:
        return pd.DataFrame(rows, columns=["ags", "name", "kreis_ags", "kreis_name"]).assign(
            vintage=str(year), territorial_date=dt.date(year, 12, 31))

    wartburg, uh = ("16063", "Wartburgkreis"), ("16064", "Unstrut-Hainich-Kreis")
    register = pd.concat([
        vintage(2009, [("16063001", "Andenhausen", *wartburg), ("16063050", "Teil-Eins", *wartburg),
                       ("16064074", "Südeichsfeld", *uh), ("16070060", "Wanderer", "16070", "Ilm-Kreis"),
                       ("16056000", "Eisenach, Stadt", "16056", "Eisenach")]),
        vintage(2013, [("16063102", "Kaltennordheim, Stadt", *wartburg), ("16063037", "Hallungen", *wartburg),
                       ("16064074", "Südeichsfeld", *uh), ("16063060", "Wanderer", *wartburg),
                       ("16066010", "Kaltennordheim-Süd", "16066", "Schmalkalden-Meiningen"),
                       ("16056000", "Eisenach, Stadt", "16056", "Eisenach")]),
        vintage(2021, [("16066095", "Kaltennordheim, Stadt", "16066", "Schmalkalden-Meiningen"),
                       ("16063037", "Hallungen", *wartburg), ("16064074", "Südeichsfeld", *uh),
                       ("16063099", "Zerteilt", *wartburg),
                       ("16064075", "Wanderer", *uh), ("16063105", "Eisenach, Stadt", *wartburg)]),
        vintage(2024, [("16066095", "Kaltennordheim, Stadt", "16066", "Schmalkalden-Meiningen"),
                       ("16064074", "Südeichsfeld", *uh), ("16064075", "Wanderer", *uh),
                       ("16063105", "Eisenach, Stadt", *wartburg)]),
    ], ignore_index=True)
    today = {"16063001": "16066095", "16063102": "16066095", "16066010": "16066095", "16066095": "16066095",
             "16063050": "16064074", "16063037": "16064074", "16064074": "16064074", "16070060": "16064075",
             "16063060": "16064075", "16064075": "16064075", "16056000": "16063105", "16063105": "16063105",
             "16063099": "16063105"}  # a split Gemeinde: the walk follows one successor
    walk = pd.DataFrame([(v, a, today[a]) for v, a in zip(register["vintage"], register["ags"])],
                        columns=["vintage", "ags", "current_ags"])
    steps = pd.DataFrame([("2009", "2013", "16063001", "16063102", "merger"),  # within the Wartburgkreis
                          ("2009", "2013", "16063050", "16064074", "merger"),  # Teil-Eins: moved first
                          ("2009", "2013", "16070060", "16063060", "recode"),  # into the Wartburgkreis, then on
                          ("2013", "2021", "16063102", "16066095", "merger"), ("2013", "2021", "16066010", "16066095",
                                                                              "merger"),
                          ("2013", "2021", "16063060", "16064075", "recode"),
                          ("2013", "2021", "16056000", "16063105", "recode"),  # Eisenach: its Kreis is gone
                          ("2021", "2024", "16063037", "16064074", "merger")],  # Hallungen: moved later
                         columns=["from_vintage", "to_vintage", "from_ags", "to_ags", "kind"])
    # parts of split Gemeinden of the Wartburgkreis (the walk follows whole keys only): one of 1,699 inhabitants into
    # Südeichsfeld, one of 3 (minor) into Kaltennordheim; the second review's Dingelstädt case of 2023
    splits = pd.DataFrame([("2021", "2024", "16063099", "16064074", "split", 1699.0, 50.0),
                           ("2021", "2024", "16063099", "16066095", "split", 3.0, 0.1)],
                          columns=["from_vintage", "to_vintage", "from_ags", "to_ags", "kind", "moved_population",
                                   "moved_share"])
    steps = pd.concat([steps, splits], ignore_index=True)
    # Hallungen's and the split's steps from the change list of 2024, with their own effective dates
    steps = steps.assign(from_date=steps["from_vintage"].map(lambda v: dt.date(int(v), 12, 31)),
                         to_date=steps["to_vintage"].map(lambda v: dt.date(int(v), 12, 31)),
                         basis=["area_sum"] * 7 + ["change_list"] * 3,
                         effective_date=[None] * 7 + [dt.date(2024, 1, 1), dt.date(2023, 7, 1), dt.date(2023, 7, 1)])
    last_change = pd.DataFrame({"ags": ["16066095", "16064074", "16064075"],
                                "last_change_date": [dt.date(2019, 1, 1), dt.date(2011, 12, 1), None]})
    population = pd.DataFrame({"ags": ["16063102", "16063001", "16063037", "16063050"],
                               "vintage": ["2013", "2009", "2021", "2009"], "population": [3342.0, 223.0, 173.0, 50.0]})
    moves = crosswalk.kreis_moves(register, walk, steps, last_change, population)
    assert moves.columns.tolist() == crosswalk.KREIS_MOVE_COLUMNS
    day = dt.date
    assert moves.astype(object).where(moves.notna(), None).values.tolist() == [
        ["16064074", "16063037", "Hallungen", "merger", *wartburg, day(2009, 12, 31), day(2021, 12, 31),
         day(2024, 12, 31), day(2024, 1, 1), "change_list", 173.0],
        ["16064074", "16063050", "Teil-Eins", "merger", *wartburg, day(2009, 12, 31), day(2009, 12, 31),
         day(2013, 12, 31), day(2011, 12, 1), "bkg_wsk", 50.0],
        # the split's part: the receiving key's town, the inhabitants that moved, no register of its own there
        ["16064074", "16063099", "Zerteilt", "split", *wartburg, None, day(2021, 12, 31), day(2024, 12, 31),
         day(2023, 7, 1), "change_list", 1699.0],
        ["16064075", "16063060", "Wanderer", "recode", *wartburg, day(2013, 12, 31), day(2013, 12, 31),
         day(2021, 12, 31), None, None, None],
        ["16066095", "16063102", "Kaltennordheim, Stadt", "merger", *wartburg, day(2009, 12, 31), day(2013, 12, 31),
         day(2021, 12, 31), day(2019, 1, 1), "bkg_wsk", 3342.0]]
    # without the list's day (steps of an older working table) Hallungen's is unknown: the WSK of its Gemeinde (2011)
    # lies before its registers
    assert crosswalk.kreis_moves(register, walk, steps.drop(columns="effective_date"),
                                 last_change)["moved_on"].tolist()[0] is None
    # no part from another Kreis of today: an empty table with its columns and types
    alone = crosswalk.kreis_moves(register, walk, steps[steps["to_ags"] == "16063105"])
    assert alone.columns.tolist() == crosswalk.KREIS_MOVE_COLUMNS and alone["part_population"].dtype == float


def test_germany_wide_the_towns_with_parts_from_another_kreis_of_today(germany_2013_2021):
    """Registers 2013 and 2021 with the VG5000 2021 WSK, as the pipeline builds the crosswalk: Kaltennordheim
    (16066095) got the Wartburgkreis's town of that name (16063102, 3,342 inhabitants), Neuhaus am Rennweg (16072013)
    Lichte and Piesau from Saalfeld-Rudolstadt, Suhl (16054000) Gehlberg and Schmiedefeld am Rennsteig from the
    Ilm-Kreis, all on 01.01.2019; Lahr, Mörsdorf and Zilshausen moved from Cochem-Zell to the Rhein-Hunsrück-Kreis on
    01.07.2014. Eisenach, whose Kreis is gone, is former_kreise's, not here."""
    register, values, geometries = germany_2013_2021.register, germany_2013_2021.values, germany_2013_2021.geometries
    walk = crosswalk.crosswalk(register, germany_2013_2021.steps)
    moves = crosswalk.kreis_moves(register, walk, germany_2013_2021.steps, geometries[["ags", "last_change_date"]],
                                  values[["ags", "vintage", "population"]])
    got = {(a, p): (k, str(m), n) for a, p, k, m, n in moves[["ags", "part_ags", "kreis_ags", "moved_on",
                                                              "part_population"]].values}
    assert got == {("16066095", "16063102"): ("16063", "2019-01-01", 3342.0),
                   ("16072013", "16073049"): ("16073", "2019-01-01", 1568.0),
                   ("16072013", "16073066"): ("16073", "2019-01-01", 752.0),
                   ("16054000", "16070017"): ("16070", "2019-01-01", 517.0),
                   ("16054000", "16070046"): ("16070", "2019-01-01", 1759.0),
                   ("07140502", "07135050"): ("07135", "2014-07-01", 178.0),
                   ("07140503", "07135063"): ("07135", "2014-07-01", 614.0),
                   ("07140504", "07135094"): ("07135", "2014-07-01", 292.0)}
    assert not moves["ags"].eq("16063105").any()


def restated_rows(rows):
    """A restated frame as restate and flag_transfers give it: (ags, source, vintage, date, measure, value, code)."""
    frame = pd.DataFrame(rows, columns=["ags", "source_id", "vintage", "reference_date", "measure", "value",
                                        "territorial_change"])
    note = ["restated to current territory: includes 99300002" if code == "merger" else "" for code in
            frame["territorial_change"]]
    return frame.assign(reference_date=pd.to_datetime(frame["reference_date"]).dt.date, note=note, level="gemeinde",
                        measure=frame["measure"].map({"pop": "population_current_territory",
                                                      "area": "area_current_territory"}))


def earlier(restated, offsets=None):
    offsets = pd.DataFrame(columns=["ags", "vintage", "gain"]) if offsets is None else offsets
    return crosswalk.flag_earlier_territory(restated, offsets, "population_current_territory",
                                           "area_current_territory")


def test_a_restated_value_still_on_another_territory_says_so():
    """Rötha: 3,704 inhabitants on 17.88 km² in 2013, 45.41 km² today (part of Espenhain, a change the crosswalk
    does not restate); a merger's restatement with the same gap loses its claim as well, a known split keeps its code,
    a re-measurement within 2 % is today's territory."""
    gv = "destatis_gemeindeverzeichnis"
    restated = restated_rows([
        ("99300001", gv, "2013", "2013-12-31", "pop", 3704, None),
        ("99300001", gv, "2013", "2013-12-31", "area", 17.88, None),
        ("99300001", gv, "2021", "2021-12-31", "pop", 6250, None),
        ("99300001", gv, "2021", "2021-12-31", "area", 45.30, None),   # re-measured within 2 %
        ("99300001", gv, "2024-Q4", "2024-12-31", "pop", 6180, None),
        ("99300001", gv, "2024-Q4", "2024-12-31", "area", 45.41, None),
        ("99300003", gv, "2013", "2013-12-31", "pop", 9000, "merger"),
        ("99300003", gv, "2013", "2013-12-31", "area", 40.0, "merger"),
        ("99300003", gv, "2021", "2021-12-31", "pop", 9100, "split"),
        ("99300003", gv, "2021", "2021-12-31", "area", 40.0, "split"),
        ("99300003", gv, "2024-Q4", "2024-12-31", "pop", 12000, None),
        ("99300003", gv, "2024-Q4", "2024-12-31", "area", 52.0, None),
        ("99300004", gv, "2013", "2013-12-31", "pop", 1000, None),
        ("99300004", gv, "2013", "2013-12-31", "area", 10.0, None),
        ("99300004", gv, "2024-Q4", "2024-12-31", "pop", 990, None),
        ("99300004", gv, "2024-Q4", "2024-12-31", "area", 10.0, None),
    ])
    flagged = earlier(restated)
    codes = flagged.set_index(["ags", "vintage", "measure"])["territorial_change"]
    assert codes.loc[("99300001", "2013")].tolist() == ["earlier_territory", "earlier_territory"]
    assert codes.loc[("99300001", "2021")].isna().all() and codes.loc[("99300001", "2024-Q4")].isna().all()
    assert codes.loc[("99300003", "2013")].tolist() == ["earlier_territory", "earlier_territory"]
    assert codes.loc[("99300003", "2021")].tolist() == ["split", "split"]  # the known change names itself
    assert codes.loc["99300004"].isna().all()
    notes = flagged.set_index(["ags", "vintage", "measure"])["note"]
    assert notes[("99300001", "2013", "population_current_territory")] == (
        "earlier_territory: not the latest territory: the area on this date (17.88 km²) differs from the latest "
        "register's (45.41 km²) by a change the crosswalk does not restate")
    assert notes[("99300003", "2013", "area_current_territory")].startswith(
        "restated to current territory: includes 99300002; earlier_territory: not the latest territory: the area on "
        "this date (40 km²)")
    # only codes and notes change, every row stays where it was
    pd.testing.assert_frame_equal(flagged.drop(columns=["territorial_change", "note"]),
                                  restated.drop(columns=["territorial_change", "note"]))


def test_land_without_inhabitants_gained_since_leaves_the_population_on_todays_territory():
    """A town that took over 5 km² of a gemeindefreies Gebiet: its 2013 area is another territory's, its 2013
    population is today's territory's (as the indicators' population change across it stays comparable)."""
    gv = "destatis_gemeindeverzeichnis"
    restated = restated_rows([
        ("99400001", gv, "2013", "2013-12-31", "pop", 5000, None),
        ("99400001", gv, "2013", "2013-12-31", "area", 20.0, None),
        ("99400001", gv, "2024-Q4", "2024-12-31", "pop", 5100, None),
        ("99400001", gv, "2024-Q4", "2024-12-31", "area", 25.0, None),
    ])
    offsets = pd.DataFrame({"ags": ["99400001"], "vintage": ["2024-Q4"], "gain": [5.0]})
    codes = earlier(restated, offsets).set_index(["vintage", "measure"])["territorial_change"]
    assert codes[("2013", "area_current_territory")] == "earlier_territory"
    assert pd.isna(codes[("2013", "population_current_territory")])
    assert earlier(restated)["territorial_change"].tolist() == [  # without the offsets the population moves too
        "earlier_territory", "earlier_territory", None, None]


def test_a_re_measurement_the_offsets_push_past_two_percent_leaves_the_population_untyped():
    """09778202: 1.94 km² up to 1994 and since 2009, 1.90 km² between; the 0.04 km² of 2009 count as land without
    inhabitants gained, so without them 1.94 against 1.90 km² today. Its populations of 1983-1994 are on today's
    territory (the area as it is has not moved); those of 1997 and 2002 on 1.90 km² are not typed either (without
    the offsets both are 1.90 km²), while their areas are (1.90 against 1.94 km²)."""
    gv = "destatis_gemeindeverzeichnis"
    restated = restated_rows([
        ("09778202", gv, "1994-12-31", "1994-12-31", "pop", 1694, None),
        ("09778202", gv, "1994-12-31", "1994-12-31", "area", 1.94, None),
        ("09778202", gv, "2002-12-31", "2002-12-31", "pop", 1832, None),
        ("09778202", gv, "2002-12-31", "2002-12-31", "area", 1.90, None),
        ("09778202", gv, "2024-Q4", "2024-12-31", "pop", 1772, None),
        ("09778202", gv, "2024-Q4", "2024-12-31", "area", 1.94, None),
    ])
    offsets = pd.DataFrame({"ags": ["09778202"], "vintage": ["2024-Q4"], "gain": [0.04]})
    assert earlier(restated, offsets)["territorial_change"].tolist() == [
        None, None, None, "earlier_territory", None, None]


def test_a_population_of_0_on_every_register_stays_untyped():
    """A gemeindefreies Gebiet (09772451 Schmellerforst: 58.56 km² in 1983, 3.28 today) has 0 inhabitants on any
    territory; its area is typed."""
    gv = "destatis_gemeindeverzeichnis"
    restated = restated_rows([
        ("09772451", gv, "1983-12-31", "1983-12-31", "pop", 0, "recode"),
        ("09772451", gv, "1983-12-31", "1983-12-31", "area", 58.56, "recode"),
        ("09772451", gv, "2024-Q4", "2024-12-31", "pop", 0, None),
        ("09772451", gv, "2024-Q4", "2024-12-31", "area", 3.28, None),
    ])
    assert earlier(restated)["territorial_change"].tolist() == ["recode", "earlier_territory", None, None]


def test_a_population_note_gives_the_areas_its_test_compared():
    gv = "destatis_gemeindeverzeichnis"
    restated = restated_rows([
        ("99700001", gv, "2013", "2013-12-31", "pop", 5000, None),
        ("99700001", gv, "2013", "2013-12-31", "area", 20.0, None),
        ("99700001", gv, "2024-Q4", "2024-12-31", "pop", 5600, None),
        ("99700001", gv, "2024-Q4", "2024-12-31", "area", 30.0, None),
    ])
    offsets = pd.DataFrame({"ags": ["99700001"], "vintage": ["2024-Q4"], "gain": [5.0]})
    assert earlier(restated, offsets)["note"].iloc[0] == (
        "earlier_territory: not the latest territory: the area on this date (20 km²) differs from the latest "
        "register's (30 km²) by a change the crosswalk does not restate (without the land without inhabitants "
        "gained over time: 20 against 25 km²)")


def test_a_population_of_another_source_is_typed_where_the_registers_around_it_show_another_territory():
    """The change lies between the 2021 and 2024 registers: a population of 2014 is on the earlier territory, one of
    2022 may be on either (between the registers the change's date is unknown)."""
    restated = restated_rows([
        ("99500001", "destatis_gemeindeverzeichnis", "2013", "2013-12-31", "area", 17.88, None),
        ("99500001", "destatis_gemeindeverzeichnis", "2021", "2021-12-31", "area", 17.88, None),
        ("99500001", "destatis_gemeindeverzeichnis", "2024-Q4", "2024-12-31", "area", 45.41, None),
        ("99500001", "regionalstatistik", "2025", "2012-12-31", "pop", 3690, None),  # no area before it
        ("99500001", "regionalstatistik", "2025", "2014-12-31", "pop", 3710, None),
        ("99500001", "regionalstatistik", "2025", "2022-12-31", "pop", 5100, None),
        ("99500001", "regionalstatistik", "2025", "2024-12-31", "pop", 6180, None),
    ])
    flagged = earlier(restated)
    assert flagged["territorial_change"].tolist() == [
        "earlier_territory", "earlier_territory", None, None, "earlier_territory", None, None]
    assert flagged["note"].iloc[4] == ("earlier_territory: not the latest territory: the area of the register before "
                                       "this date (17.88 km²) differs from the latest register's (45.41 km²) by a "
                                       "change the crosswalk does not restate")


def test_the_area_test_divides_the_latest_area_by_the_earlier_as_the_indicators_do():
    """7.61 km² until 1994, 7.46 km² since: 7.46 / 7.61 is 1.97 % less (the indicators' test: same territory),
    7.61 / 7.46 2.01 % more; the two tests once disagreed on 23 densities (01051021)."""
    gv = "destatis_gemeindeverzeichnis"
    restated = restated_rows([
        ("01051021", gv, "1994-12-31", "1994-12-31", "pop", 628, None),
        ("01051021", gv, "1994-12-31", "1994-12-31", "area", 7.61, None),
        ("01051021", gv, "2024-Q4", "2024-12-31", "pop", 711, None),
        ("01051021", gv, "2024-Q4", "2024-12-31", "area", 7.46, None),
        ("99600001", gv, "1994-12-31", "1994-12-31", "area", 7.61, None),
        ("99600001", gv, "2024-Q4", "2024-12-31", "area", 7.76, None),  # 1.97 % more: the same territory
        ("99600002", gv, "1994-12-31", "1994-12-31", "area", 7.60, None),
        ("99600002", gv, "2024-Q4", "2024-12-31", "area", 7.76, None),  # 2.1 % more: another
    ])
    assert earlier(restated)["territorial_change"].tolist() == [None] * 6 + ["earlier_territory", None]


def test_a_value_is_compared_by_the_area_of_its_own_release():
    """Dernau: the registers of 31.12.2023 and 2024-Q4 both date their figures 31.12.2023, with 5.71 and 5.84 km²;
    the earlier release's population (1,389) is on another territory than the latest's (1,425)."""
    gv = "destatis_gemeindeverzeichnis"
    restated = restated_rows([
        ("07131017", gv, "2023-12-31", "2023-12-31", "pop", 1389, None),
        ("07131017", gv, "2023-12-31", "2023-12-31", "area", 5.71, None),
        ("07131017", gv, "2024-Q4", "2023-12-31", "pop", 1425, None),
        ("07131017", gv, "2024-Q4", "2023-12-31", "area", 5.84, None),
        ("07131017", "regionalstatistik", "2025", "2024-06-30", "pop", 1430, None),  # the latest release's area
    ])
    flagged = earlier(restated)
    assert flagged["territorial_change"].tolist() == ["earlier_territory", "earlier_territory", None, None, None]
    assert flagged["note"].iloc[0] == ("earlier_territory: not the latest territory: the area on this date (5.71 km²) "
                                       "differs from the latest register's (5.84 km²) by a change the crosswalk does "
                                       "not restate")


def test_a_missing_value_is_not_typed_and_other_notes_stay_as_they_are():
    gv = "destatis_gemeindeverzeichnis"
    restated = restated_rows([
        ("99800001", gv, "2013", "2013-12-31", "pop", float("nan"), None),
        ("99800001", gv, "2013", "2013-12-31", "area", 17.88, None),
        ("99800001", gv, "2024-Q4", "2024-12-31", "pop", 6180, None),
        ("99800001", gv, "2024-Q4", "2024-12-31", "area", 45.41, None),
    ])
    restated.loc[2, "note"] = None
    flagged = earlier(restated)
    assert flagged["territorial_change"].tolist() == [None, "earlier_territory", None, None]
    assert flagged["note"].iloc[2] is None and flagged["note"].iloc[0] == ""
