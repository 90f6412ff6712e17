"""peers.structure_features by hand: the East dummy for every Land code 11-16 (the module docstring: Berlin,
Brandenburg, Mecklenburg-Vorpommern, Sachsen, Sachsen-Anhalt, Thüringen), and the density as population per km²."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from indicators.peers import structure_features

LAENDER = {"01": 0.0, "03": 0.0, "09": 0.0, "10": 0.0,  # Schleswig-Holstein, Niedersachsen, Bayern, Saarland
           "11": 1.0, "12": 1.0, "13": 1.0, "14": 1.0, "15": 1.0, "16": 1.0}


def towns() -> pd.DataFrame:
    """One town per Land of LAENDER, each of 8,000 inhabitants on 40 km² (Kreis of its own)."""
    rows = [(f"{land}001001", f"{land}001", 8000, 40.0, True) for land in LAENDER]
    return pd.DataFrame(rows, columns=["ags", "kreis_ags", "population", "area_km2", "in_reference_group"])


def test_a_thuringian_town_is_east():
    features = structure_features(towns())
    assert features.loc["16001001", "east"] == 1.0


@pytest.mark.parametrize("land, east", LAENDER.items())
def test_east_by_land_code(land, east):
    assert structure_features(towns()).loc[f"{land}001001", "east"] == east


def test_density_is_population_per_km2():
    features = structure_features(towns())
    assert math.exp(features.loc["16001001", "log_density"]) == pytest.approx(8000 / 40)  # 200 per km²
    assert math.exp(features.loc["16001001", "log_population"]) == pytest.approx(8000)


def test_density_differs_where_only_the_area_does():
    """Two towns of 8,000 inhabitants on 40 and 80 km²: densities 200 and 100, the same population."""
    frame = pd.DataFrame([("01001001", "01001", 8000, 40.0, True), ("01001002", "01001", 8000, 80.0, True)],
                         columns=["ags", "kreis_ags", "population", "area_km2", "in_reference_group"])
    features = structure_features(frame)
    assert [math.exp(v) for v in features["log_density"]] == pytest.approx([200.0, 100.0])
    assert math.exp(features.loc["01001001", "log_kreis_density"]) == pytest.approx(16000 / 120)


def test_the_kreis_density_counts_the_kreis_s_uninhabited_land():
    """Methodology §8: the Kreis's population per km². Its uninhabited gemeindefreie Gebiete are land of the Kreis
    too: without them Kreis Goslar (the Harz) had 226 people per km² for 139 and 1,233 towns another peer."""
    frame = pd.DataFrame([("03153001", "03153", 10000, 50.0, True), ("03153002", "03153", 4000, 50.0, False),
                          ("03153500", "03153", 0, 100.0, False)],  # a gemeindefreies Gebiet: 0 people, 100 km²
                         columns=["ags", "kreis_ags", "population", "area_km2", "in_reference_group"])
    features = structure_features(frame)
    assert math.exp(features.loc["03153001", "log_kreis_density"]) == pytest.approx(14000 / 200)
    assert list(features.index) == ["03153001"]  # the uninhabited area is no town of its own


def test_the_pipeline_s_centrality_column_is_a_declared_feature_and_the_page_names_every_feature():
    """The town page's no-peers sentence says which features a town needs (it listed them by hand): the features
    are ``FEATURES``, the centrality column the pipeline's query returns among them, each with a German label."""
    import duckdb

    from indicators.municipalities import CENTRALITY_SQL
    from indicators.peers import CENTRALITY, FEATURES
    from reports.labels import FEATURES_DE, PEER_FEATURES_DE

    con = duckdb.connect()
    con.execute("""CREATE TABLE observations AS SELECT '01001001' AS ags, 'inkar' AS source_id, 'gemeinde' AS level,
                   'commuter_balance_per_100' AS measure, 12.5 AS value, DATE '2019-06-30' AS reference_date,
                   '2022-12' AS vintage""")
    centrality = con.execute(CENTRALITY_SQL, {"vintages": ["2022-12"]}).df()
    assert list(centrality.columns) == ["ags", CENTRALITY, f"{CENTRALITY}_date"]  # the date: indicators.peers.FEATURE_DATES
    assert list(structure_features(towns().head(1), centrality).columns) == FEATURES  # the town 01001001
    assert all(FEATURES_DE[feature] in PEER_FEATURES_DE for feature in FEATURES)
