"""The DuckDB warehouse: a working database the pipeline writes, and a published one planners read.

The working database (``<published>.work.duckdb``) holds staging tables and is written
by one process at a time. ``build_candidate`` builds the next warehouse in a separate
candidate file (schema.sql, views.sql, history carried over from the published file);
blocking checks validate it (warehouse/validation.py); ``swap_in`` renames it over the
published file. Planners never see a half-built warehouse, readers are never blocked, and
a failed or killed run leaves the last good one in place.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.history import HISTORY_TABLES, merge_history
from warehouse.sql import identifier, literal

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_SQL = Path(__file__).with_name("schema.sql")
STAGING_SQL = Path(__file__).with_name("staging.sql")
VIEWS_SQL = Path(__file__).with_name("views.sql")
DEFAULT_PUBLISHED = PROJECT_ROOT / "warehouse" / "readiness.duckdb"
DEFAULT_EXPORTS_DIR = PROJECT_ROOT / "data" / "exports"
DEFAULT_REPORTS_DIR = PROJECT_ROOT / "data" / "reports"
REPORTS_DIR_ENV = "READINESS_REPORTS_DIR"
# tables published as the working database holds them now (history tables: warehouse/history.py)
CURRENT_TABLES = ["municipalities", "observations", "indicator_catalogue", "municipality_geometries", "kreise",
                  "commuter_flows", "coworking_spaces", "territorial_changes", "index_sensitivity",
                  "index_coherence", "score_contributions", "peer_towns", "commuter_flows_gemeinde",
                  "local_survey_results", "coworking_gap"]
# the views of warehouse/views.sql that planners use; exported after each publish
PLANNER_VIEWS = ["town_profile", "town_index_history", "latest_ranking", "peer_comparison", "indicator_history",
                 "source_attribution"]
STORAGE_VERSION = "v1.4.0"


def _env_path(variable: str, default: Path) -> Path:
    return Path(os.environ.get(variable) or default).expanduser().resolve()


# The one place the output paths are read from the environment: the pipeline's settings
# (pipelines/resources.py) and the CLI, reports and exports, which must start without Dagster.
def published_path() -> Path:
    """The published warehouse: READINESS_WAREHOUSE, else warehouse/readiness.duckdb."""
    return _env_path("READINESS_WAREHOUSE", DEFAULT_PUBLISHED)


def exports_dir() -> Path:
    """Where exports go: READINESS_EXPORTS_DIR, else data/exports."""
    return _env_path("READINESS_EXPORTS_DIR", DEFAULT_EXPORTS_DIR)


def reports_dir() -> Path:
    """Where town reports go: READINESS_REPORTS_DIR, else data/reports."""
    return _env_path(REPORTS_DIR_ENV, DEFAULT_REPORTS_DIR)


def work_path_for(published: Path) -> Path:
    """The working database lives next to the published file (same filesystem, so renames are atomic)."""
    return published.with_name(published.stem + ".work.duckdb")


def connect_work(path: Path, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the working database, creating the declared staging tables on first use.

    The working database only holds what the pipeline derives from the raw landing, so
    when staging.sql changed since it was created it is rebuilt rather than migrated.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    staging_sql = STAGING_SQL.read_text(encoding="utf-8")
    version = hashlib.sha256(staging_sql.encode()).hexdigest()[:16]
    con = duckdb.connect(str(path), read_only=read_only)
    if not read_only:
        con.execute("CREATE TABLE IF NOT EXISTS _staging_version (version VARCHAR)")
        if con.execute("SELECT version FROM _staging_version").fetchall() != [(version,)]:
            for (view,) in con.execute("SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
                                       "AND NOT internal").fetchall():
                con.execute(f"DROP VIEW {identifier(view)}")
            for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall():
                con.execute(f"DROP TABLE {identifier(table)}")
            con.execute(staging_sql)
            con.execute("CREATE TABLE _staging_version AS SELECT ? AS version", [version])
    return con


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, **key) -> int:
    """Delete the rows matching ``key`` (e.g. source_id='inkar') and insert ``frame``: reruns never duplicate.

    The table is created from the frame's columns on first use. A table of an older layout is
    migrated: new columns are added, and a column whose type cannot hold the new values (an
    INTEGER guessed from an empty frame, now receiving 'node') takes the new type.
    """
    con.register("incoming", frame)
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM incoming LIMIT 0")
        _add_new_columns(con, table)
        where = " AND ".join(f"{column} = ?" for column in key) or "TRUE"
        if len(frame):  # an empty frame's column types are pandas' guesses: never migrate to them
            _migrate_types(con, table, key)
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM {table} WHERE {where}", list(key.values()))
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
        con.execute("COMMIT")
    finally:
        con.unregister("incoming")
    return len(frame)


# empty columns a writer did not produce get the registry's type (pandas would guess from no values)
NULL_DTYPES = {"DOUBLE": "float64", "BIGINT": "Int64", "INTEGER": "Int64", "SMALLINT": "Int64", "BOOLEAN": "boolean"}


def store(con: duckdb.DuckDBPyConnection, writer: str, table: str, frame: pd.DataFrame, **key) -> int:
    """The one way assets write the working database: ``replace_rows`` after checking the table registry.

    The table must be declared in warehouse/tables.yaml with ``writer`` among its writers (an asset
    writing another asset's table fails loudly), and the frame may hold only declared columns; a
    declared column the writer did not produce (e.g. no official change list in this run) is added empty.
    """
    from warehouse.registry import registry

    declared = registry().tables.get(table)
    if declared is None:
        raise ValueError(f"{writer}: table {table!r} is not declared in warehouse/tables.yaml")
    if not declared.is_writer(writer):
        raise ValueError(f"{writer}: may not write {table!r}: warehouse/tables.yaml names its writer(s) "
                         f"{list(declared.writers)}")
    columns = [c.name for c in declared.own_columns]  # joined columns are another table's
    extra = [c for c in frame.columns if c not in columns]
    if extra:
        raise ValueError(f"{writer}: columns {extra} of {table!r} are not declared in warehouse/tables.yaml")
    for column in declared.own_columns:
        if column.name not in frame.columns:
            frame = frame.assign(**{column.name: pd.Series(None, index=frame.index,
                                                           dtype=NULL_DTYPES.get(column.type, "object"))})
    return replace_rows(con, table, frame[[c for c in columns if c in frame.columns]], **key)


def _add_new_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A newer pipeline version may write more columns than an older working database has: add them."""
    existing = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    for name, column_type, *_ in con.execute("DESCRIBE incoming").fetchall():
        if name not in existing:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {column_type}')


LOSSLESS = {("DOUBLE", "BIGINT"), ("DOUBLE", "INTEGER"), ("BIGINT", "INTEGER"), ("DOUBLE", "FLOAT")}


def _migrate_types(con: duckdb.DuckDBPyConnection, table: str, key: dict) -> None:
    """Give a column the incoming type where its current type would fail or round the new values.

    The rows about to be replaced do not count; when no other rows remain (or all of them cast),
    the column takes the incoming type, else VARCHAR, which holds both. A VARCHAR column is never
    narrowed (keys like '01053090' would lose their zeros), and a wider number type is kept.
    """
    existing = {row[0]: row[1] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    incoming = {row[0]: row[1] for row in con.execute("DESCRIBE incoming").fetchall()}
    # compared as text: the key column itself may be the one of the old type
    where = " AND ".join(f'CAST("{c}" AS VARCHAR) = CAST(? AS VARCHAR)' for c in key) or "TRUE"
    params = list(key.values())
    for name, new_type in incoming.items():
        old_type = existing.get(name)
        if old_type in (None, new_type, "VARCHAR") or (old_type, new_type) in LOSSLESS:
            continue
        column = f'"{name}"'
        kept = con.execute(f"""SELECT count(*) FILTER ({column} IS NOT NULL AND TRY_CAST({column} AS {new_type}) IS NULL)
                               FROM {table} WHERE NOT ({where})""", params).fetchone()[0]
        target = new_type if kept == 0 else "VARCHAR"
        con.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DATA TYPE {target}")


def build_candidate(work_db: Path, published: Path, candidate: Path, run: dict, lake=None) -> dict:
    """Build the next warehouse in ``candidate``: current tables from the working database, history
    tables merged with the previous published file, views, and a publish_log row.

    ``run`` gives ``run_id``, ``mode`` and ``method_version``. The previous file is only read. With a
    ``lake`` (warehouse/lake.py) the previous warehouse is the lake's current snapshot instead: it is
    the shared one that every publishing machine continues. Returns what changed: history merge
    counts, sources with new releases, rows per table and view, and the gain against the previous publish.
    """
    candidate.unlink(missing_ok=True)
    published_at = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    # storage readable by DuckDB >= 1.4 (the oldest duckdb-cli on PyPI), not only by the writing version
    with duckdb.connect(str(candidate), config={"storage_compatibility_version": STORAGE_VERSION}) as con:
        con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
        con.execute(f"ATTACH {literal(work_db)} AS work (READ_ONLY)")  # ATTACH takes no parameter
        previous = _attach_previous(con, published, lake)
        for table in CURRENT_TABLES:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM work.{table}")
        merged = {table: merge_history(con, table, published_at, previous) for table in HISTORY_TABLES}
        con.execute(VIEWS_SQL.read_text(encoding="utf-8"))
        _log_publish(con, previous, published_at, run)  # before counting: views show the method it names
        counts = row_counts(con)
        before = row_counts(con, "previous") if previous else {}
        changes = {"published_at": published_at.isoformat(), "sources_changed": changed_sources(con, published_at),
                   "allowed_changes": run.get("allowed_changes", []),  # allow-list entries used (allowlist.yaml)
                   "history": merged, "rows": counts,
                   "rows_gained": {name: n - before.get(name, 0) for name, n in counts.items()}}
        con.execute("UPDATE publish_log SET changes = ? WHERE published_at = ?", [json.dumps(changes), published_at])
        for schema in ("work", previous):
            if schema:
                con.execute(f"DETACH {schema}")
        con.execute("CHECKPOINT")
    return changes


def _attach_previous(con: duckdb.DuckDBPyConnection, published: Path, lake) -> str | None:
    """Attach the previous warehouse as ``previous``: the lake's current snapshot when there is a lake that
    holds one, else the published file (so switching a lake on keeps the history so far); None on a first publish."""
    if lake is not None:
        from warehouse import lake as lakes

        lakes.attach(con, lake, alias="previous")  # not READ_ONLY: a new lake's catalog is created here
        if lakes.has_warehouse(con, "previous"):
            return "previous"
        con.execute("DETACH previous")
    if not published.exists():
        return None
    con.execute(f"ATTACH {literal(published)} AS previous (READ_ONLY)")
    return "previous"


def swap_in(candidate: Path, published: Path) -> None:
    """Replace the published file by the validated candidate in one atomic rename.

    A reader that opened the old file keeps reading it; the next connection sees the new one.
    """
    if not candidate.exists():
        raise FileNotFoundError(f"no candidate warehouse at {candidate}: build it (warehouse_candidate) first")
    os.replace(candidate, published)


def candidate_path_for(published: Path) -> Path:
    """The candidate is built next to the published file (same filesystem, so the swap is a rename)."""
    return published.with_name(published.stem + ".candidate.duckdb")


def changed_sources(con: duckdb.DuckDBPyConnection, published_at: dt.datetime) -> dict[str, list[str]]:
    """Sources whose set of releases changed in this publish: new (or revised) and withdrawn vintages."""
    rows = con.execute("""
        SELECT source_id, list(DISTINCT vintage || CASE WHEN revision > 1 THEN '-rev' || revision ELSE '' END
                               ORDER BY 1) FILTER (valid_from = $now) AS new,
               list(DISTINCT vintage ORDER BY 1) FILTER (valid_to = $now) AS withdrawn
        FROM source_releases_history GROUP BY source_id
        HAVING count(*) FILTER (valid_from = $now OR valid_to = $now) > 0 ORDER BY source_id
    """, {"now": published_at}).fetchall()
    return {source: {"new": new or [], "withdrawn": withdrawn or []} for source, new, withdrawn in rows}


def row_counts(con: duckdb.DuckDBPyConnection, schema: str | None = None) -> dict[str, int]:
    """Rows per published table and planner view (of an attached schema, e.g. the previous file)."""
    names = [row[0] for row in con.execute("""
        SELECT table_name FROM duckdb_tables() WHERE database_name = coalesce($db, current_database()) AND NOT temporary
        UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name = coalesce($db, current_database())
                                                         AND NOT internal
    """, {"db": schema}).fetchall()]
    prefix = f"{identifier(schema)}." if schema else ""
    return {name: con.execute(f"SELECT count(*) FROM {prefix}{identifier(name)}").fetchone()[0]
            for name in sorted(names)}


def view_checksums(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """md5 per planner view over its rows in a stable order: equal checksums, equal content."""
    return {view: con.execute(f"""SELECT md5(coalesce(string_agg(h, ',' ORDER BY h), ''))
                                  FROM (SELECT md5(CAST(v AS VARCHAR)) AS h FROM {view} v)""").fetchone()[0]
            for view in PLANNER_VIEWS}


def _log_publish(con, previous: str | None, published_at: dt.datetime, run: dict) -> None:
    if previous and "publish_log" in {r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE database_name = 'previous'").fetchall()}:
        con.execute("INSERT INTO publish_log BY NAME SELECT * FROM previous.publish_log")
    con.execute("INSERT INTO publish_log VALUES (?, ?, ?, ?, ?)",
                [published_at, run.get("run_id"), run["mode"], run["method_version"], "{}"])
