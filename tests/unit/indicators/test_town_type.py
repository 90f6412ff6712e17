"""BBSR town type, central places from INKAR's region table, and the reference-group rule."""

from __future__ import annotations

import pandas as pd
import pytest

from indicators import town_type
from sources.errors import SourceError
from sources.inkar import central_places
from sources.registry import SNAPSHOT_DIR

PILOTS = {"01053090": "mittelzentrum", "12070424": "mittelzentrum", "14628060": "mittelzentrum",
          "09181114": "grundzentrum", "06439012": "grundzentrum"}


def test_pilot_towns_central_places_from_the_snapshot_region_table():
    regions = pd.read_parquet(SNAPSHOT_DIR / "inkar" / "_regionen_2022-12.parquet")
    table = central_places(regions).set_index("ags")
    assert {ags: table.loc[ags, "central_place"] for ags in PILOTS} == PILOTS
    assert table.loc["01053090", "name"] == "Mölln, Stadt"
    assert table.index.str.fullmatch(r"\d{8}").all() and table.index.is_unique
    assert set(table["central_place"]) <= set(town_type.CENTRAL_PLACE_ORDER)


def test_central_places_reject_unknown_levels_and_contradictions():
    rows = pd.DataFrame({"raumbezug": ["zentralörtliche Funktion - Grundzentrum", "Kreise"],
                         "kennziffer": [1053090.0, 1053.0], "name": ["Mölln", "Kreis"]})
    assert central_places(rows).to_dict("records") == [{"ags": "01053090", "name": "Mölln",
                                                        "central_place": "grundzentrum"}]
    unknown = rows.assign(raumbezug=["zentralörtliche Funktion - Metropole", "Kreise"])
    with pytest.raises(SourceError, match="unknown central-place level.*Metropole"):
        central_places(unknown, relative_path="inkar/_regionen_2022-12.parquet")
    twice = pd.concat([rows.iloc[:1], rows.iloc[:1].assign(raumbezug="zentralörtliche Funktion - keine")])
    with pytest.raises(SourceError, match="01053090 listed with functions"):
        central_places(twice)


@pytest.mark.parametrize("population, central, expected", [
    (600_000, "oberzentrum", 11), (500_000, None, 11), (499_999, "oberzentrum", 12), (100_000, "none", 12),
    (99_999, "mittelzentrum", 21), (50_000, None, 21), (49_999, "none", 22), (20_000, "grundzentrum", 22),
    (19_999, "none", 30), (10_000, "mittelzentrum", 30), (9_999, "none", 40), (5_000, None, 40),
    (4_999, "grundzentrum", 40), (800, "mittelzentrum", 40), (4_999, "none", 50), (4_999, None, None),
    (None, "grundzentrum", None),
])
def test_town_type_by_the_bbsr_rule(population, central, expected):
    got = town_type.town_type(pd.Series([population], dtype="float"), pd.Series([central], dtype="object"))
    assert (pd.isna(got.iloc[0]) and expected is None) or got.iloc[0] == expected


def test_central_place_follows_recodes_and_mergers_to_the_highest_function():
    central = pd.DataFrame({"ags": ["A", "B", "C", "D", "E"],
                            "central_place": ["none", "grundzentrum", "none", "mittelzentrum", "grundzentrum"]})
    changes = pd.DataFrame({"from_ags": ["A", "B", "C", "N", "E"], "to_ags": ["N", "N", "R", "M", "P"],
                            "kind": ["merger", "merger", "recode", "recode", "partial_transfer"]})
    got = town_type.central_place_on_territory(central, changes, pd.Series(["N", "R", "M", "D", "P", "X"]))
    got = got.set_index("ags")
    assert got.loc["N"].tolist() == ["grundzentrum", "predecessor"]  # highest of A (none) and B
    assert got.loc["R"].tolist() == ["none", "predecessor"]
    assert got.loc["M"].tolist() == ["grundzentrum", "predecessor"]  # chain B -> N -> M
    assert got.loc["D"].tolist() == ["mittelzentrum", "inkar"]
    assert got.loc["P"].isna().all() and got.loc["X"].isna().all()  # a partial transfer carries nothing


def test_reference_group_rules_and_labels():
    towns = pd.DataFrame({"population": [4_000, 4_000, 12_000, 25_000, 25_000],
                          "town_type": [40, 50, 30, 22, 22], "is_pilot": [False, False, False, False, True]})
    spec = {"rule": "bbsr_kleinstadt", "min_population": 5000, "max_population": 20000, "include_pilot_towns": True}
    assert town_type.in_reference_group(towns, spec).tolist() == [True, False, True, False, True]
    size = {**spec, "rule": "size_band", "include_pilot_towns": False}
    assert town_type.in_reference_group(towns, size).tolist() == [False, False, True, False, False]
    assert town_type.reference_group_label(spec).startswith("Kleinstädte nach BBSR-Stadt- und Gemeindetyp")
    assert town_type.reference_group_label(spec).endswith("plus Pilotstädte")
    assert town_type.reference_group_label(size, "en") == "Gemeinden with 5,000 to under 20,000 inhabitants"
    with pytest.raises(ValueError, match="reference_group.rule 'kreis'"):
        town_type.in_reference_group(towns, {"rule": "kreis"})
