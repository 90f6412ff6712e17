"""What the Dagster Catalog shows about each asset, added in one place: kinds, column schemas, freshness.

Applied in pipelines/definitions.py to every asset with ``dagster.map_asset_specs``, so the asset modules
stay as they are:
  - kinds (the icons in the graph and the Catalog's filters) by stage;
  - the column schema (``dagster/column_schema``) of the warehouse table an asset writes, read from
    warehouse/schema.sql with its column comments, so the Catalog lists columns, types and meanings;
  - the code version (pipelines/versions.py), which makes an asset stale when its code changes;
  - a freshness policy on each raw-landing asset from the source's `cycles` in sources.yaml: a raw asset is
    materialised again only when its source's files change, so when no new files arrived for a publishing
    cycle (plus a month of grace for the monthly schedule) it turns "degraded" (warn) and then "failing".
    Old files landed just now look fresh to it: the raw asset's own check ``newest_release_age``
    (pipelines/assets/raw.py) judges the newest release's date.
"""

from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache

import duckdb
import pandas as pd
from dagster import AssetSpec, FreshnessPolicy, TableColumn, TableSchema

from pipelines.versions import code_version
from sources.registry import load_sources
from sources.vintages import GRACE, cycle_days  # the publishing cycles (the town pages judge releases with them too)
from warehouse.paths import PROJECT_ROOT

SCHEMA_SQL = PROJECT_ROOT / "warehouse" / "schema.sql"

# The published table each asset's rows end up in (its column schema in the UI; the staging assets write their
# own stg_ tables, which the observations table unions). One per asset, chosen here among the tables its
# writers in warehouse/tables.yaml publish (tests/integration/test_asset_graph.py holds it to them).
ASSET_TABLES = {
    "population_area": "observations", "broadband_coverage": "observations", "mobile_coverage": "observations",
    "commuting": "observations", "municipality_geometries": "municipality_geometries",
    "coworking_spaces": "coworking_spaces", "territorial_crosswalk": "territorial_changes",
    "municipalities": "municipalities", "indicator_values": "indicator_values_history",
    "readiness_index": "readiness_index_history", "index_uncertainty": "index_sensitivity",
    "index_coherence": "index_coherence", "score_contributions": "score_contributions",
    "peer_towns": "peer_towns", "coworking_gap": "coworking_gap", "pendleratlas_commuting": "commuter_flows_gemeinde",
}
RAW_TABLE = "source_releases_history"  # every raw_<source> asset records its releases there

KINDS_BY_GROUP = {
    "sources": {"file", "python"},  # the observed publisher files (pipelines/assets/raw.py source_files)
    "raw_landing": {"python", "duckdb"},
    "staging": {"pandas", "duckdb"},
    "indicators": {"pandas", "duckdb"},
    "index": {"pandas", "duckdb"},
    "publish": {"duckdb"},
    "reports": {"html", "python"},
}



def freshness_for(cycles: tuple[str, ...]) -> FreshnessPolicy | None:
    """Warn after the shortest of a source's cycles (sources.yaml ``cycles``) plus a monthly run, fail after it plus
    two (continuous: after 1 / 2 months); None for an irregular source."""
    days = cycle_days(cycles)
    if days is None:
        return None
    cycle = dt.timedelta(days=days)
    return FreshnessPolicy.time_window(warn_window=cycle + GRACE, fail_window=cycle + 2 * GRACE)


@lru_cache(maxsize=1)
def table_schemas() -> dict[str, TableSchema]:
    """Every table of warehouse/schema.sql as a TableSchema: column names, types and their comments."""
    sql = SCHEMA_SQL.read_text(encoding="utf-8")
    with duckdb.connect() as con:
        con.execute(sql)
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        schemas = {}
        for table in tables:
            comments = column_comments(sql, table)
            columns = con.execute(f'DESCRIBE "{table}"').fetchall()
            schemas[table] = TableSchema(columns=[
                TableColumn(name=name, type=kind, description=comments.get(name),
                            constraints=None if nullable == "YES" else _not_null())
                for name, kind, nullable, *_ in columns])
    return schemas


def _not_null():
    from dagster import TableColumnConstraints

    return TableColumnConstraints(nullable=False)


def column_comments(sql: str, table: str) -> dict[str, str]:
    """The ``-- comment`` after each column definition of ``CREATE TABLE table (...)``."""
    match = re.search(rf"CREATE TABLE {re.escape(table)} \((.*?)\n\);", sql, re.S)
    comments = {}
    for line in (match.group(1).splitlines() if match else []):
        found = re.match(r"\s*(\w+)\s+[A-Z].*?--\s*(.+)$", line)
        if found:
            comments[found.group(1)] = found.group(2).strip()
    return comments


def describe(spec: AssetSpec) -> AssetSpec:
    """The spec with kinds, its table's column schema, its code version and (raw landing) a freshness policy added."""
    name = spec.key.to_user_string()
    table = RAW_TABLE if name.startswith("raw_") else ASSET_TABLES.get(name)
    # the registry name: the UI shows the short key of pipelines/names.py, the code and tables.yaml this name
    metadata = {"registry_name": name}
    if table:
        metadata.update({"dagster/column_schema": table_schemas()[table], "table": table, "dagster/table_name": table})
    spec = spec.merge_attributes(kinds=KINDS_BY_GROUP.get(spec.group_name or "", set()) - set(spec.kinds),
                                 metadata=metadata)
    if spec.code_version is None:  # the central table of pipelines/versions.py, so no decorator repeats it
        spec = spec.replace_attributes(code_version=code_version(name, spec.group_name))
    source = raw_source(name)
    policy = freshness_for(source.cycles) if source is not None else None
    if policy is not None and spec.freshness_policy is None:
        spec = spec.replace_attributes(freshness_policy=policy)
    return spec


def raw_source(asset_name: str):
    """The sources.yaml entry of a raw_<source> asset, else None."""
    if not asset_name.startswith("raw_"):
        return None
    return _sources().get(asset_name.removeprefix("raw_"))


@lru_cache(maxsize=1)
def _sources():
    """sources.yaml parsed once per process: describe() runs for every asset while the definitions load
    (parsing it per asset cost 12 parses, 1-10 s depending on the machine's load)."""
    return load_sources()


BAR_BLOCKS = " ▏▎▍▌▋▊█"  # eighths of a character cell


def bar(value: float | None, full: float = 100.0, width: int = 12) -> str:
    """A horizontal bar of ``width`` characters for ``value`` out of ``full``, in eighth steps."""
    if value is None or value != value:
        return "–"
    eighths = round(max(0.0, min(value, full)) / full * width * 8)
    return "█" * (eighths // 8) + (BAR_BLOCKS[eighths % 8] if eighths % 8 else "")


def score_chart_markdown(scores, town: str = "name", period: str = "period", score: str = "score",
                         provisional: str = "provisional") -> str:
    """Each town's score over the index periods as a markdown bar chart (the plots over periods are the
    partitions of int/pilot_scores, pipelines/assets/indicators.py).

    One row per period and one column per town; each cell is a bar (0-100) and the score, German style, with
    "vorl." where the row is provisional (column ``provisional``, when the frame has it; a row without a score never
    is): the provisional 2022 and 2023 scores looked like the published 2021 one (review of 6 December 2026).
    """
    towns = sorted(scores[town].unique())
    lines = ["| Jahr | " + " | ".join(towns) + " |", "|---|" + "---|" * len(towns)]
    for year in sorted(scores[period].unique()):
        rows = scores[scores[period] == year].set_index(town)
        cells = []
        for name in towns:
            value = rows[score].get(name)
            value = None if value is None or value != value else float(value)
            flag = rows[provisional].get(name) if provisional in rows else None
            mark = " vorl." if value is not None and flag is not None and pd.notna(flag) and bool(flag) else ""
            cells.append("–" if value is None else f"`{bar(value):<12}` {value:.1f}".replace(".", ",") + mark)
        lines.append(f"| {year} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
