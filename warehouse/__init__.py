"""The DuckDB warehouse: a working database the pipeline writes, and a published one planners read.

The working database (``<published>.work.duckdb``) holds staging tables and is written
by one process at a time. ``publish`` builds a new file from it with schema.sql,
validates it, and renames it over the published file, so planners never see a
half-built warehouse and a failed run leaves the last good one in place.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import duckdb
import pandas as pd

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_SQL = Path(__file__).with_name("schema.sql")
STAGING_SQL = Path(__file__).with_name("staging.sql")
DEFAULT_PUBLISHED = PROJECT_ROOT / "warehouse" / "readiness.duckdb"
PUBLISHED_TABLES = ["source_releases", "municipalities", "observations", "indicator_catalogue",
                    "indicator_values", "readiness_index", "municipality_geometries", "commuter_flows",
                    "coworking_spaces", "territorial_changes", "index_sensitivity", "index_coherence",
                    "score_contributions", "peer_towns"]


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
            for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall():
                con.execute(f'DROP TABLE "{table}"')
            con.execute(staging_sql)
            con.execute("CREATE TABLE _staging_version AS SELECT ? AS version", [version])
    return con


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame, **key) -> int:
    """Delete the rows matching ``key`` (e.g. source_id='inkar') and insert ``frame``: reruns never duplicate.

    The table is created from the frame's columns on first use.
    """
    con.register("incoming", frame)
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM incoming LIMIT 0")
        _add_new_columns(con, table)
        where = " AND ".join(f"{column} = ?" for column in key) or "TRUE"
        con.execute("BEGIN TRANSACTION")
        con.execute(f"DELETE FROM {table} WHERE {where}", list(key.values()))
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")
        con.execute("COMMIT")
    finally:
        con.unregister("incoming")
    return len(frame)


def _add_new_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A newer pipeline version may write more columns than an older working database has: add them."""
    existing = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    for name, column_type, *_ in con.execute("DESCRIBE incoming").fetchall():
        if name not in existing:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {column_type}')


def publish(work_db: Path, published: Path, validate) -> dict[str, int]:
    """Copy the published tables from the working database into a new file and swap it in.

    ``validate(con)`` runs on the new file before the swap and raises to stop publishing.
    Returns the row count per table.
    """
    temporary = published.with_name(published.name + ".tmp")
    temporary.unlink(missing_ok=True)
    try:
        with duckdb.connect(str(temporary)) as con:
            con.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
            con.execute(f"ATTACH '{work_db}' AS work (READ_ONLY)")
            for table in PUBLISHED_TABLES:
                con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM work.{table}")
            con.execute("DETACH work")
            validate(con)
            counts = {t: con.execute(f"SELECT count(*) FROM {t}").fetchone()[0] for t in PUBLISHED_TABLES}
            con.execute("CHECKPOINT")
        os.replace(temporary, published)
    finally:
        temporary.unlink(missing_ok=True)
    return counts
