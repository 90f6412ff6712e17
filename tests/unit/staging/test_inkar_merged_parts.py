"""INKAR values of towns merged after INKAR's territorial status: each part's population counted once.

Frames shaped like the Germany-wide ones (INKAR 2022-12, status 31.12.2019; registers of 31.12.2013 and
31.12.2021; review of 5 December): Langelsheim 03153019 (formed in 2021 from the town 03153007 and the members of
the Samtgemeinde Lutter am Barenberge) and Bad Salzungen 16063003 (took in Moorgrund 16063094 on 1 December 2020,
after INKAR's status, and three other Gemeinden before it).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from sources import inkar
from staging import crosswalk, publisher_status

OBSERVATION = ["ags", "level", "reference_date", "measure", "value", "unit", "note"]
DATE = dt.date(2019, 6, 30)
OLD, NEW = "2013-12-31", "2021-12-31"
REGISTER_COLUMNS = ["vintage", "ags", "name", "kreis_ags", "vb_ars", "vb_name"]


def _verband_values(values: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame([(code, "gemeindeverband", DATE, "out_commuter_share", value, "% of employees at residence", "")
                         for code, value in values.items()], columns=OBSERVATION)


def _register(rows) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=REGISTER_COLUMNS)
    return frame.assign(territorial_date=frame["vintage"].map(dt.date.fromisoformat))


def _steps(rows) -> pd.DataFrame:
    """Usable 2013 -> 2021 mergers (from_ags, to_ags)."""
    return pd.DataFrame([(OLD, NEW, a, b, "merger", "", "ok") for a, b in rows],
                        columns=["from_vintage", "to_vintage", "from_ags", "to_ags", "kind", "evidence", "plausibility"])


def _walk(register: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    into = dict(zip(steps["from_ags"], steps["to_ags"]))
    keys = register[["vintage", "ags"]].drop_duplicates()
    return keys.assign(current_ags=keys["ags"].map(lambda a: into.get(a, a)))


def _weights(populations: dict[tuple[str, str], int]) -> pd.DataFrame:
    return pd.DataFrame([(ags, vintage, float(p)) for (vintage, ags), p in populations.items()],
                        columns=["ags", "vintage", "population"])


# --- Langelsheim: a Verband whose code is a Gemeinde of INKAR's status is that Gemeinde only ------------------

# Goslar 03153017 (Goslar + Vienenburg, 2014) and six more Gemeinden formed between 2013 and INKAR's status stand for
# the reforms that make the 2021 register the one closest to INKAR's status, as it is Germany-wide
FORMED_BEFORE_STATUS = ["03153017", *(f"0315310{n}" for n in range(6))]
LANGELSHEIM_REGISTERS = _register([
    *((NEW, key, f"Gemeinde {key}", "03153", "0" + key, f"Gemeinde {key}") for key in FORMED_BEFORE_STATUS),
    (OLD, "03153005", "Goslar, Stadt", "03153", "031530005", "Goslar, Stadt"),
    (OLD, "03153015", "Vienenburg, Stadt", "03153", "031530015", "Vienenburg, Stadt"),
    (OLD, "03153007", "Langelsheim, Stadt", "03153", "031530007", "Langelsheim, Stadt"),
    (OLD, "03153006", "Hahausen", "03153", "031535402", "Lutter am Barenberge"),
    (OLD, "03153009", "Lutter am Barenberge, Flecken", "03153", "031535402", "Lutter am Barenberge"),
    (OLD, "03153014", "Wallmoden", "03153", "031535402", "Lutter am Barenberge"),
    (OLD, "03153002", "Bad Harzburg, Stadt", "03153", "031530002", "Bad Harzburg, Stadt"),
    (NEW, "03153019", "Langelsheim, Stadt", "03153", "031530019", "Langelsheim, Stadt"),
    (NEW, "03153002", "Bad Harzburg, Stadt", "03153", "031530002", "Bad Harzburg, Stadt"),
])
LANGELSHEIM_NAMES = pd.DataFrame([("03153007", "gemeindeverband", "Langelsheim, Stadt"),
                                  ("03153901", "gemeindeverband", "Lutter am Barenberge"),
                                  ("03153002", "gemeindeverband", "Bad Harzburg, Stadt")],
                                 columns=["ags", "level", "name"])
# INKAR's own Gemeinde list: the old town and Lutter's members, not the successor 03153019
LANGELSHEIM_STATUS = pd.DataFrame({"ags": ["03153002", "03153006", "03153007", "03153009", "03153014",
                                           *FORMED_BEFORE_STATUS],
                                   "name": ["Bad Harzburg", "Hahausen", "Langelsheim", "Lutter", "Wallmoden",
                                            *FORMED_BEFORE_STATUS]})
LANGELSHEIM_VALUES = _verband_values({"03153007": 67.94, "03153901": 91.21, "03153002": 60.0})


def test_a_verband_matched_by_its_gemeinde_code_is_not_matched_by_name_to_its_successor_too():
    """03153007 'Langelsheim, Stadt' is one of INKAR's Gemeinden; the 2021 register's single-member Verband of the
    successor 03153019 has the same name. The value belongs to 03153007 only (it reached 03153019 as well)."""
    assert inkar.closest_register(LANGELSHEIM_REGISTERS, LANGELSHEIM_STATUS) == NEW
    mapped = inkar.map_through_registers(LANGELSHEIM_VALUES, LANGELSHEIM_NAMES, LANGELSHEIM_REGISTERS,
                                         LANGELSHEIM_STATUS)
    assert sorted(mapped["ags"]) == ["03153002", "03153006", "03153007", "03153009", "03153014"]
    assert set(mapped["ags"]) <= set(LANGELSHEIM_STATUS["ags"])  # every key one of INKAR's status


def test_a_verband_matched_by_name_alone_is_still_matched_by_name():
    """Without INKAR's Gemeinde list and outside the register's single-member Verbände, the name is all there is:
    Lutter's value still goes to its members, and a code no list knows is still matched by name."""
    register = LANGELSHEIM_REGISTERS[LANGELSHEIM_REGISTERS["vintage"] == NEW]
    mapped = inkar.map_to_gemeinden(_verband_values({"03153907": 67.94}),
                                    pd.DataFrame([("03153907", "gemeindeverband", "Langelsheim, Stadt")],
                                                 columns=["ags", "level", "name"]), register)
    assert mapped[["ags", "value", "source_level"]].values.tolist() == [["03153019", 67.94, "gemeinde"]]


def test_langelsheim_is_combined_from_the_old_town_and_lutters_members_once():
    """(11,805 x 67.94 + 4,156 x 91.21) / 15,961 = 74.00; counting the successor too with its 2021 population
    (14,990, the old town included) gave 71.06."""
    mapped = inkar.map_through_registers(LANGELSHEIM_VALUES, LANGELSHEIM_NAMES, LANGELSHEIM_REGISTERS,
                                         LANGELSHEIM_STATUS)
    steps = _steps([("03153006", "03153019"), ("03153007", "03153019"), ("03153009", "03153019"),
                    ("03153014", "03153019")])
    weights = _weights({(OLD, "03153006"): 819, (OLD, "03153007"): 11805, (OLD, "03153009"): 2398,
                        (OLD, "03153014"): 939, (OLD, "03153002"): 21000, (NEW, "03153019"): 14990,
                        (NEW, "03153002"): 20000})
    weights = publisher_status.status_weights(weights, steps, set(LANGELSHEIM_STATUS["ags"]))
    moved = crosswalk.onto_current(mapped.assign(vintage="2022-12", source_id="inkar"), LANGELSHEIM_REGISTERS,
                                   _walk(LANGELSHEIM_REGISTERS, steps), steps, weights).set_index("ags")
    assert moved.loc["03153019", "note"] == "parts: 03153006 + 03153007 + 03153009 + 03153014"
    assert moved.loc["03153019", "value"] == pytest.approx((11805 * 67.94 + 4156 * 91.21) / 15961)
    assert round(moved.loc["03153019", "value"], 2) == 74.00
    assert moved.loc["03153002", "value"] == 60.0


# --- Bad Salzungen: a key of INKAR's status that took in another of its Gemeinden after the status ----------

BAD_SALZUNGEN_STEPS = _steps([("16063094", "16063003"), ("16063024", "16063003")])  # Moorgrund after, 024 before
BAD_SALZUNGEN_STATUS = {"16063003", "16063094", "16063051"}  # 16063024 merged before INKAR's status: not listed
BAD_SALZUNGEN_WEIGHTS = _weights({(OLD, "16063003"): 15582, (OLD, "16063094"): 3404, (OLD, "16063024"): 5218,
                                  (OLD, "16063051"): 2000, (NEW, "16063003"): 22976, (NEW, "16063051"): 1900})


def test_a_key_of_inkars_status_is_weighted_without_the_gemeinden_inkar_lists_apart_that_joined_it_later():
    weights = publisher_status.status_weights(BAD_SALZUNGEN_WEIGHTS, BAD_SALZUNGEN_STEPS, BAD_SALZUNGEN_STATUS)
    got = weights.set_index(["vintage", "ags"])["population"]
    assert got[(NEW, "16063003")] == 22976 - 3404  # Moorgrund out; 16063024 (in INKAR's Bad Salzungen) stays
    unchanged = BAD_SALZUNGEN_WEIGHTS.set_index(["vintage", "ags"])["population"].drop((NEW, "16063003"))
    assert got.drop((NEW, "16063003")).equals(unchanged)
    assert publisher_status.status_weights(BAD_SALZUNGEN_WEIGHTS, BAD_SALZUNGEN_STEPS, set()) is BAD_SALZUNGEN_WEIGHTS


def test_bad_salzungen_and_moorgrund_are_combined_without_moorgrund_twice():
    """Bad Salzungen's value (key_vintage 2021, matched in the register closest to INKAR's status) and
    Moorgrund's (its key only in 2013): (19,572 x 64.48 + 3,404 x 86.25) / 22,976 = 67.71, not 67.29
    (22,976 + 3,404 inhabitants for a town of 22,976)."""
    register = _register([(OLD, "16063003", "Bad Salzungen, Stadt", "16063", "160635051", "Bad Salzungen, Stadt"),
                          (OLD, "16063094", "Moorgrund", "16063", "160635052", "Moorgrund"),
                          (OLD, "16063024", "Frauensee", "16063", "160635051", "Bad Salzungen, Stadt"),
                          (NEW, "16063003", "Bad Salzungen, Stadt", "16063", "160635051", "Bad Salzungen, Stadt")])
    observations = pd.DataFrame({
        "ags": ["16063003", "16063094"], "level": "gemeinde", "reference_date": DATE, "measure": "out_commuter_share",
        "value": [64.48, 86.25], "unit": "% of employees at residence",
        "note": ["from Gemeindeverband 16063951", ""], "source_level": ["gemeindeverband", "gemeinde"],
        "key_vintage": NEW, "vintage": "2022-12", "source_id": "inkar"})
    walk = _walk(register, BAD_SALZUNGEN_STEPS)

    def combined(weights):
        moved = crosswalk.onto_current(observations, register, walk, BAD_SALZUNGEN_STEPS, weights)
        assert moved["ags"].tolist() == ["16063003"]
        return moved["value"].iloc[0]

    assert combined(BAD_SALZUNGEN_WEIGHTS) == pytest.approx((22976 * 64.48 + 3404 * 86.25) / (22976 + 3404))
    value = combined(publisher_status.status_weights(BAD_SALZUNGEN_WEIGHTS, BAD_SALZUNGEN_STEPS, BAD_SALZUNGEN_STATUS))
    assert value == pytest.approx((19572 * 64.48 + 3404 * 86.25) / 22976)
    assert round(value, 2) == 67.71


def test_an_absorbed_gemeinde_without_population_or_a_remainder_of_nothing_leaves_the_weight_missing():
    weights = BAD_SALZUNGEN_WEIGHTS[BAD_SALZUNGEN_WEIGHTS["ags"] != "16063094"]
    got = publisher_status.status_weights(weights, BAD_SALZUNGEN_STEPS, BAD_SALZUNGEN_STATUS).set_index(["vintage", "ags"])
    assert np.isnan(got.loc[(NEW, "16063003"), "population"])
    weights = BAD_SALZUNGEN_WEIGHTS.assign(population=lambda w: w["population"].where(w["ags"] != "16063094", 23000.0))
    got = publisher_status.status_weights(weights, BAD_SALZUNGEN_STEPS, BAD_SALZUNGEN_STATUS).set_index(["vintage", "ags"])
    assert np.isnan(got.loc[(NEW, "16063003"), "population"])
    rejected = BAD_SALZUNGEN_STEPS.assign(plausibility="population_jump")  # a step the crosswalk does not follow
    assert publisher_status.status_weights(BAD_SALZUNGEN_WEIGHTS, rejected, BAD_SALZUNGEN_STATUS).equals(BAD_SALZUNGEN_WEIGHTS)
