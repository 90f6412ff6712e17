"""Short asset keys for the Dagster UI, from one mapping: ``<layer>/<short name>``.

The asset graph shows only the LAST component of an asset key and cuts it in the middle ("raw_des…eichnis")
beyond a fixed number of characters: 18 in the zoomed-out graph (the whole lineage on one screen), 31 in the
zoomed-in one (dagster-webserver 1.13: ``withMiddleTruncation(displayName, {maxLength: 18})`` in
``AssetNodeMinimal`` and ``ASSET_NODE_NAME_MAX_LENGTH = 31`` in asset-graph/layout.ts; graph_label_limits below
reads them from the installed bundle for tests/integration/test_asset_names.py). So every key is a layer prefix
plus a short last component:

    source/breitbandatlas   raw/breitbandatlas   stg/broadband   int/readiness_index   out/warehouse

The code keeps its names (the *registry names*: asset names in warehouse/tables.yaml, the ``stage: asset:``
entries of sources.yaml, pipelines/versions.py, pipelines/catalog.py and the checks); only the keys the UI,
the jobs, the sensor and the run records see are replaced, in pipelines/definitions.py with
``AssetsDefinition.with_attributes(asset_key_replacements=...)``, which carries the dependencies and the
asset checks over to the new keys. The ops (step names on the run page) keep the registry names. Each asset's metadata keeps its registry name (``registry_name``) and
its warehouse table (``dagster/table_name``; pipelines/catalog.py), so the Catalog still leads to both.
"""

from __future__ import annotations

from collections.abc import Iterable

from dagster import AssetChecksDefinition, AssetKey

# The key prefix by asset group: the layer of the warehouse an asset belongs to (dbt's words).
LAYER_BY_GROUP = {
    "sources": "source",      # the publisher files, observed (pipelines/assets/raw.py source_files)
    "raw_landing": "raw",     # the files copied unchanged into the raw landing, with release records
    "staging": "stg",         # parsed into observations and staging tables
    "indicators": "int",      # intermediate: the municipalities and their indicator values
    "index": "int",           # intermediate: the index and its analyses
    "publish": "out",         # what leaves the pipeline: the published warehouse, exports
    "reports": "out",         # and the town reports
}

# Registry name -> last key component, only where the registry name is too long for the graph or repeats
# the layer; every other name is kept as it is.
SHORT_NAMES = {
    "broadband_coverage": "broadband",
    "mobile_coverage": "mobile",
    "municipality_geometries": "geometries",
    "territorial_crosswalk": "crosswalk",
    "pendleratlas_commuting": "pendleratlas",
    "index_uncertainty": "uncertainty",
    "index_coherence": "coherence",
    "score_contributions": "contributions",
    "warehouse_candidate": "candidate",
    "published_warehouse": "warehouse",
}

# Source id (sources.yaml) -> its name in the source/ and raw/ layers, where the id is too long.
SHORT_SOURCE_IDS = {
    "destatis_gemeindeverzeichnis": "gemeindeverz",
    "destatis_gebietsaenderungen": "gebietsaenderung",
    "mobilfunk_monitoring": "mobilfunk",
}

# The registry names of the per-source assets: source_<source id> and raw_<source id>.
SOURCE_PREFIXES = {"sources": "source_", "raw_landing": "raw_"}


def short_key(name: str, group: str | None) -> AssetKey:
    """The UI key of the asset with registry name ``name`` in ``group``.

    An asset of a group without a layer keeps its name as its key (and the length test names it).
    """
    layer = LAYER_BY_GROUP.get(group or "")
    if layer is None:
        return AssetKey(name)
    prefix = SOURCE_PREFIXES.get(group or "")
    if prefix and name.startswith(prefix):
        source_id = name.removeprefix(prefix)
        return AssetKey([layer, SHORT_SOURCE_IDS.get(source_id, source_id)])
    return AssetKey([layer, SHORT_NAMES.get(name, name)])


def key_replacements(assets: Iterable) -> dict[AssetKey, AssetKey]:
    """Registry key -> UI key for every asset of ``assets`` (AssetsDefinitions).

    Raises ValueError when two assets would get the same key: the graph would merge them.
    """
    replacements: dict[AssetKey, AssetKey] = {}
    for assets_def in assets:
        for spec in assets_def.specs:
            # a key with a layer already (source_key in pipelines/assets/raw.py, whose observations name it at
            # run time, when the replacement no longer applies) stays as it is
            layered = len(spec.key.path) > 1
            replacements[spec.key] = spec.key if layered else short_key(spec.key.to_user_string(), spec.group_name)
    by_new: dict[AssetKey, list[str]] = {}
    for old, new in replacements.items():
        by_new.setdefault(new, []).append(old.to_user_string())
    clashes = {new.to_user_string(): olds for new, olds in by_new.items() if len(olds) > 1}
    if clashes:
        raise ValueError(f"pipelines/names.py: assets would share a key: {clashes}")
    return replacements


def with_short_keys(definitions: Iterable, replacements: dict[AssetKey, AssetKey]) -> list:
    """The assets or asset checks with their keys, their dependencies' keys and their checked assets' keys
    replaced (the registry name and table stay in the metadata: pipelines/catalog.py describe)."""
    renamed = []
    for item in definitions:
        replaced = item.with_attributes(asset_key_replacements=replacements)
        # with_attributes returns a plain AssetsDefinition; Definitions would convert a checks-only one back
        # with a beta parameter and print a BetaWarning per check at every start-up: rebuild it publicly
        renamed.append(as_checks_definition(replaced) if isinstance(item, AssetChecksDefinition) else replaced)
    return renamed


def as_checks_definition(assets_def) -> AssetChecksDefinition:
    """An AssetsDefinition holding only asset checks as the AssetChecksDefinition it came from."""
    return AssetChecksDefinition.create(keys_by_input_name=assets_def.node_keys_by_input_name,
                                        node_def=assets_def.node_def,
                                        check_specs_by_output_name=assets_def.node_check_specs_by_output_name,
                                        can_subset=assets_def.can_subset, resource_defs=assets_def.resource_defs)


def registry_name(key: AssetKey, replacements: dict[AssetKey, AssetKey]) -> str:
    """The registry name of a UI key (the reverse of the mapping), for messages that name code and tables."""
    reverse = {new: old for old, new in replacements.items()}
    return reverse.get(key, key).to_user_string()


def names_over(keys: Iterable[AssetKey], limit: int) -> list[str]:
    """The keys whose displayed name (the last component, which the graph shows) is longer than ``limit``."""
    return sorted(key.to_user_string() for key in keys if len(key.path[-1]) > limit)


def graph_label_limits() -> dict[str, int]:
    """How many characters of an asset's name the installed Dagster UI shows before cutting it, read from the
    TypeScript sources in dagster-webserver's source maps: ``minimal`` for the zoomed-out graph (the global
    graph fitted on screen), ``full`` for the zoomed-in node. Raises LookupError when the bundle changed shape."""
    import json
    import re
    from pathlib import Path

    import dagster_webserver

    chunks = Path(dagster_webserver.__file__).parent / "webapp" / "build" / "_next" / "static" / "chunks"
    sources = {}
    for path in sorted(chunks.glob("*.js.map")):
        raw = path.read_bytes()
        if b"ASSET_NODE_NAME_MAX_LENGTH" not in raw:  # skip the other 40-odd maps without parsing them
            continue
        bundle = json.loads(raw)
        for name, text in zip(bundle["sources"], bundle.get("sourcesContent") or []):
            if name.endswith(("asset-graph/AssetNode.tsx", "asset-graph/layout.ts")) and text:
                sources[name.rsplit("/", 1)[-1]] = text
    full = re.search(r"ASSET_NODE_NAME_MAX_LENGTH = (\d+)", sources.get("layout.ts", ""))
    node = sources.get("AssetNode.tsx", "")
    # the minimal node comes in variants (with and without health): the shortest limit counts
    minimal = [int(n) for n in re.findall(r"withMiddleTruncation\(displayName, \{maxLength: (\d+)\}\)",
                                          node[node.find("const AssetNodeMinimal"):])]
    if not (full and minimal and "const AssetNodeMinimal" in node):
        raise LookupError(f"{chunks}: no asset-graph/layout.ts or AssetNode.tsx with the name limits in the source maps")
    return {"minimal": min(minimal), "full": int(full.group(1))}
