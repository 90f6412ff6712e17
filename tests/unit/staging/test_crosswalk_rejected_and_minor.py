"""Crosswalk rules at their edges: a step checked 'too_far' is not followed (check_plausibility's docstring:
"A rejected step is not followed"), and a transfer of exactly MINOR_TRANSFER inhabitants is still minor
(minor_transfers: "at most MINOR_TRANSFER")."""

from __future__ import annotations

import datetime as dt

import pandas as pd

from staging import crosswalk


def test_a_predecessor_checked_too_far_maps_to_itself():
    """2013 -> 2023: an inferred merger of C (20 km², 1,900 people) into B (35 km², 8,800 -> 10,600 people in
    2023: 8,800 + 1,900 = 10,700, -0.1 % a year, plausible) whose centre lies ~70 km away (allowed:
    2·√(35/π) + 3 ≈ 9.7 km). The step is rejected as too far, so C's 2013 key stays C."""
    register = pd.DataFrame([("2013", "99200003", "C", 13.50, 51.80), ("2013", "99100004", "B", 12.50, 51.90),
                             ("2023", "99100004", "B", 12.50, 51.90)],
                            columns=["vintage", "ags", "name", "lon", "lat"])
    register["territorial_date"] = register["vintage"].map(lambda v: dt.date(int(v), 12, 31))
    population = pd.DataFrame([("99200003", "2013", 1900, 20.0), ("99100004", "2013", 8800, 35.0),
                               ("99100004", "2023", 10600, 35.0)],
                              columns=["ags", "vintage", "population", "area_km2"])
    steps = pd.DataFrame([("2013", "2023", "99200003", "99100004", "merger", "area test", "area_sum")],
                         columns=crosswalk.STEP_COLUMNS)
    checked = crosswalk.check_plausibility(steps, register, population)
    assert checked["plausibility"].item() == "too_far"
    walk = crosswalk.crosswalk(register, checked).set_index(["vintage", "ags"])["current_ags"]
    assert walk[("2013", "99200003")] == "99200003"  # not the far successor 99100004
    assert walk[("2013", "99100004")] == "99100004"
    # the same step checked 'ok' would be followed: the rejection, not the setup, keeps C apart
    accepted = checked.assign(plausibility="ok")
    assert crosswalk.crosswalk(register, accepted).set_index(["vintage", "ags"])["current_ags"][
        ("2013", "99200003")] == "99100004"


def test_a_transfer_of_exactly_fifty_inhabitants_is_minor_and_fifty_one_is_not():
    assert crosswalk.MINOR_TRANSFER == 50  # the documented threshold this test's numbers are chosen around
    steps = pd.DataFrame({"kind": ["partial_transfer", "partial_transfer", "split", "split"],
                          "moved_population": [50, 51, 50, 51]})
    assert crosswalk.minor_transfers(steps).tolist() == [True, False, True, False]
