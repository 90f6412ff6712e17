"""Publishing: the candidate warehouse built from the working files, checked, then swapped in.

``build_candidate`` builds the next warehouse in a separate candidate file (schema.sql, views.sql,
history carried over from the published file); blocking checks validate it
(warehouse/validation.py); ``swap_in`` renames it over the published file. Planners never see a
half-built warehouse, readers are never blocked, and a failed or killed run leaves the last good
one in place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import duckdb

from warehouse.history import HISTORY_TABLES, merge_history
from warehouse.paths import VIEWS_SQL, duckdb_config, memory_bytes
from warehouse.registry import composite_keys, history_keys, published_ddl, registry
from warehouse.sql import identifier, literal
from warehouse.validation import validation_record
from warehouse.workdb import attach_working

# tables published as the working database holds them now (history tables: warehouse/history.py) and the
# views of warehouse/views.sql that planners use (exported after each publish): from warehouse/tables.yaml
CURRENT_TABLES = registry().current_tables()
PLANNER_VIEWS = list(registry().planner_views)
STORAGE_VERSION = "v1.4.0"
# DuckDB's buffer limit for building the candidate. Why: with the general limit (1 GB) DuckDB keeps up to
# 1 GB of the blocks it copies cached, so the candidate step rose ~0.87 GiB above the process's RSS and set
# the refresh's peak; 512 MB took the same CPU time (build_candidate alone, alternating runs, see
# docs/performance-log.md, 2026-12-02) and ~0.4 GiB less, 256 MB again the same CPU and ~0.17 GiB less than 512 MB
# (128 MB: 15-25 % more CPU). A lower READINESS_DUCKDB_MEMORY_LIMIT still applies. The history merge of every later
# publish fits it too because it joins in parts (warehouse/history.py merge_parts; in one part it ran out of these
# 256 MB on the Germany-wide files, 5 December 2026, benchmarks/republish.py).
CANDIDATE_MEMORY = "256MB"


def candidate_memory_limit() -> str:
    """The smaller of CANDIDATE_MEMORY and the pipeline's configured limit (duckdb_config)."""
    return min(CANDIDATE_MEMORY, duckdb_config()["memory_limit"], key=memory_bytes)


def build_candidate(work_db: Path, published: Path, candidate: Path, run: dict, lake=None) -> dict:
    """Build the next warehouse in ``candidate``: current tables from the working database, history
    tables merged with the previous published file, views, and a publish_log row.

    ``run`` gives ``run_id``, ``mode`` and ``method_version``. The previous file is only read. With a
    ``lake`` (warehouse/lake.py) the previous warehouse is the lake's current snapshot instead: it is
    the shared one that every publishing machine continues. Returns what changed: history merge
    counts, sources with new releases, rows per table and view, and the gain against the previous publish.
    """
    candidate.unlink(missing_ok=True)
    validation_record(candidate).unlink(missing_ok=True)  # the findings of an earlier candidate
    # storage readable by DuckDB >= 1.4 (the oldest duckdb-cli on PyPI), not only by the writing version
    with duckdb.connect(str(candidate), config={"storage_compatibility_version": STORAGE_VERSION,
                                                **duckdb_config()}) as con:
        # schema.sql's tables, the multi-column keys added once the rows are in (``_add_keys``)
        con.execute(published_ddl(defer_composite_keys=True))
        # the shared working file as `work` (history reads it there), the staging assets' files beside it
        relations = attach_working(con, work_db, default=None, views=False)
        previous = attach_previous(con, published, lake)
        published_at = publish_time(con, previous)
        con.execute(f"SET memory_limit = {literal(candidate_memory_limit())}")  # this database only
        for table in CURRENT_TABLES:
            con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM {relations[table]}")
        merged = {table: merge_history(con, table, published_at, previous) for table in HISTORY_TABLES}
        # before the views: they show the method it names, and views.sql's tables are computed with it
        _log_publish(con, previous, published_at, run)
        con.execute(VIEWS_SQL.read_text(encoding="utf-8"))
        _add_keys(con, DEFERRED_KEYS)
        _check_unique(con, HISTORY_KEYS)
        counts = row_counts(con)
        before = row_counts(con, "previous") if previous else {}
        changes = {"published_at": published_at.isoformat(), "sources_changed": changed_sources(con, published_at),
                   "allowed_changes": run.get("allowed_changes", []),  # allow-list entries used (allowlist.yaml)
                   "history": merged, "rows": counts,
                   "rows_gained": {name: n - before.get(name, 0) for name, n in counts.items()}}
        con.execute("UPDATE publish_log SET changes = ? WHERE published_at = ?", [json.dumps(changes), published_at])
        attached = {r.split(".")[0] for r in relations.values() if not r.startswith("(")}
        for schema in sorted(attached) + [previous]:
            if schema:
                con.execute(f"DETACH {schema}")
        con.execute("CHECKPOINT")
    return changes


# Published tables whose (multi-column) primary key is added after their rows are inserted. Why: DuckDB
# maintains a key's index row by row during an INSERT, single-threaded; building it once over the filled
# table costs about a third less (indicator_values_history, 1.08 M rows: 3.4 CPU s inserted with the key,
# 1.6 + 1.1 s inserted, then keyed). The tables end up with the same columns, constraints and rows as
# schema.sql declares them; a duplicate key fails the candidate as the INSERT did, naming table and key.
DEFERRED_KEYS = composite_keys()
HISTORY_KEYS = history_keys()  # unique, checked (no primary key: registry.history_keys says why)


def _add_keys(con: duckdb.DuckDBPyConnection, keys: dict[str, list[str]]) -> None:
    """Add each table's primary key (``ALTER TABLE ... ADD PRIMARY KEY``); a duplicate raises naming both."""
    for table, key in keys.items():
        columns = ", ".join(identifier(c) for c in key)
        try:
            con.execute(f"ALTER TABLE {identifier(table)} ADD PRIMARY KEY ({columns})")
        except duckdb.ConstraintException as error:
            raise ValueError(f"candidate warehouse: {table} has more than one row for the same ({', '.join(key)}); "
                             f"its primary key forbids that ({error})") from error


def _check_unique(con: duckdb.DuckDBPyConnection, keys: dict[str, list[str]]) -> None:
    """A ValueError naming the table, its key and one duplicated key when a table has two rows for one key."""
    for table, key in keys.items():
        columns = ", ".join(identifier(c) for c in key)
        found = con.execute(f"SELECT {columns}, count(*) FROM {identifier(table)} GROUP BY ALL HAVING count(*) > 1 "
                            "LIMIT 1").fetchone()
        if found is not None:
            example = ", ".join(f"{c}={v}" for c, v in zip(key, found))
            raise ValueError(f"candidate warehouse: {table} has more than one row for the same ({', '.join(key)}), "
                             f"e.g. {example} ({found[-1]} rows); its key must be unique")


def publish_time(con: duckdb.DuckDBPyConnection, previous: str | None,
                 now: dt.datetime | None = None) -> dt.datetime:
    """The publish's time (UTC, naive, as every stored time): now in whole seconds, and later than every earlier
    publish of ``previous`` (one second after the last when the clock says otherwise).

    Why whole seconds: the exports and pages show this time to the second; with microseconds stored, the time a
    planner copied from a CSV into ``indicator_values_as_of`` lay before the publish and gave the one before it
    (review of 5 December). Why strictly later: it is the history's ``valid_from``; two publishes in one second
    (or a clock set back) would otherwise open a row before the one it replaces."""
    stamp = (now or dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)).replace(microsecond=0)
    if previous and _has_publish_log(con, previous):
        last = con.execute(f"SELECT max(published_at) FROM {previous}.publish_log").fetchone()[0]
        if last is not None and stamp <= last:
            stamp = last.replace(microsecond=0) + dt.timedelta(seconds=1)
    return stamp


def _has_publish_log(con: duckdb.DuckDBPyConnection, database: str) -> bool:
    """True when the attached ``database`` (the previous warehouse) has a publish_log (a first lake snapshot may not)."""
    return con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'publish_log'",
                       [database]).fetchone()[0] > 0


def attach_previous(con: duckdb.DuckDBPyConnection, published: Path, lake) -> str | None:
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
    validation_record(candidate).unlink(missing_ok=True)



def changed_sources(con: duckdb.DuckDBPyConnection, published_at: dt.datetime) -> dict[str, list[str]]:
    """Sources whose set of releases changed in this publish: new (or revised) and withdrawn vintages.

    A file whose row was closed and opened again with the same content (vintage, revision, file, checksum) is no
    change of the release: switching from the snapshot to a directory of the same files rewrites only ``mode`` and
    ``origin``, and every source was listed as both new and withdrawn (review of 4 December)."""
    rows = con.execute("""
        WITH moved AS (
            SELECT *, valid_from = $now AS opened, valid_to = $now AS closed,
                   count(*) OVER (PARTITION BY source_id, vintage, revision, file, sha256) AS rows_of_content
            FROM source_releases_history WHERE valid_from = $now OR valid_to = $now),
        changed AS (SELECT * FROM moved WHERE rows_of_content = 1)  -- closed and reopened alike: the same content
        SELECT source_id, list_sort(list(DISTINCT label) FILTER (opened)) AS new,
               list_sort(list(DISTINCT label) FILTER (closed)) AS withdrawn
        FROM (SELECT *, vintage || CASE WHEN revision > 1 THEN '-rev' || revision ELSE '' END AS label FROM changed)
        GROUP BY source_id ORDER BY source_id
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
    if previous and _has_publish_log(con, previous):
        con.execute(f"INSERT INTO publish_log BY NAME SELECT * FROM {previous}.publish_log")
    con.execute("INSERT INTO publish_log VALUES (?, ?, ?, ?, ?)",
                [published_at, run.get("run_id"), run["mode"], run["method_version"], "{}"])
