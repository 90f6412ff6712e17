"""Asset keys the Dagster graph shows whole: layer/name from pipelines/names.py, every name within the UI's limit.

The limit is read from the installed dagster-webserver (its TypeScript sources in the source maps), so a
Dagster upgrade that shortens the label fails here instead of silently cutting names again.
"""

from __future__ import annotations

import pytest
from dagster import AssetKey, asset

from pipelines.assets.raw import source_key
from pipelines.definitions import SHORT_KEYS, defs
from pipelines.names import (LAYER_BY_GROUP, graph_label_limits, key_replacements, names_over, registry_name,
                             short_key)
from sources.registry import load_sources


@pytest.fixture(scope="module")
def graph():
    return defs.resolve_asset_graph()


def test_limits_of_the_installed_ui():
    # dagster-webserver 1.13.27: AssetNodeMinimal cuts at 18, the zoomed-in AssetNode at 31
    assert graph_label_limits() == {"minimal": 18, "full": 31}


def test_no_displayed_name_exceeds_the_zoomed_out_limit(graph):
    limit = graph_label_limits()["minimal"]
    keys = graph.get_all_asset_keys()
    assert len(keys) >= 44
    assert names_over(keys, limit) == []


def test_names_over_reports_a_long_name():
    assert names_over([AssetKey(["raw", "destatis_gemeindeverzeichnis"]), AssetKey(["raw", "inkar"])], 18) == \
        ["raw/destatis_gemeindeverzeichnis"]


@pytest.mark.parametrize("source_id", sorted(load_sources()))
def test_every_source_gets_a_short_source_and_raw_key(graph, source_id):
    limit = graph_label_limits()["minimal"]
    for key, layer in [(source_key(source_id), "source"), (SHORT_KEYS[AssetKey(f"raw_{source_id}")], "raw")]:
        assert key.path[0] == layer and len(key.path[-1]) <= limit and key in graph.get_all_asset_keys()
    assert source_key(source_id).path[-1] == SHORT_KEYS[AssetKey(f"raw_{source_id}")].path[-1]


def test_the_scheme():
    assert short_key("raw_destatis_gemeindeverzeichnis", "raw_landing") == AssetKey(["raw", "gemeindeverz"])
    assert short_key("source_mobilfunk_monitoring", "sources") == AssetKey(["source", "mobilfunk"])
    assert short_key("municipality_geometries", "staging") == AssetKey(["stg", "geometries"])
    assert short_key("readiness_index", "index") == AssetKey(["int", "readiness_index"])
    assert short_key("published_warehouse", "publish") == AssetKey(["out", "warehouse"])
    assert short_key("something_new", "a_new_group") == AssetKey("something_new")  # no layer: name kept


def test_every_asset_is_in_its_groups_layer(graph):
    for key in graph.get_all_asset_keys():
        assert len(key.path) == 2 and key.path[0] == LAYER_BY_GROUP[graph.get(key).group_name], key


def test_two_assets_on_one_key_are_refused():
    @asset(name="broadband_coverage", group_name="staging")
    def one():
        return None

    @asset(name="broadband", group_name="staging")
    def other():
        return None

    with pytest.raises(ValueError, match=r"share a key: \{'stg/broadband': \['broadband_coverage', 'broadband'\]\}"):
        key_replacements([one, other])


def test_registry_name_and_table_stay_in_the_metadata(graph):
    geometries = graph.get(AssetKey(["stg", "geometries"]))
    assert geometries.metadata["registry_name"] == "municipality_geometries"
    assert geometries.metadata["dagster/table_name"] == "municipality_geometries"
    raw = graph.get(AssetKey(["raw", "gemeindeverz"]))
    assert raw.metadata["registry_name"] == "raw_destatis_gemeindeverzeichnis"
    assert raw.metadata["dagster/table_name"] == "source_releases_history"
    assert registry_name(AssetKey(["out", "warehouse"]), SHORT_KEYS) == "published_warehouse"


def test_dependencies_and_checks_follow_the_new_keys(graph):
    index = graph.get(AssetKey(["int", "readiness_index"]))
    assert index.parent_keys == {AssetKey(["int", "indicator_values"])}
    checked = {key.asset_key for key in graph.asset_check_keys}
    assert checked <= graph.get_all_asset_keys()
    assert AssetKey(["out", "candidate"]) in checked and AssetKey("warehouse_candidate") not in checked
