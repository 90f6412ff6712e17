"""The working database the pipeline writes: one shared file plus one file per staging asset.

Each staging asset writes its own file beside the shared one (``<published>.staging/<asset>.duckdb``;
warehouse/tables.yaml says which tables), so staging assets of independent sources can run in separate
processes; ``connect_work`` attaches the other files read-only. Every write goes through ``store``,
which checks the table is the writer's own.
"""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import duckdb
import pandas as pd

from warehouse.paths import duckdb_config, stage_path
from warehouse.sql import identifier, literal

MAIN = "work"  # the key and ATTACH alias of the shared working file among the working files
FILE_LOCK_ENV = "READINESS_FILE_LOCK_TIMEOUT"  # seconds a step waits for a working file another step holds
FILE_LOCK_SECONDS = 1800.0
LOCK_POLL_SECONDS = 0.1


def connect_work(path: Path, read_only: bool = False, own: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open the working database: the shared file ``path``, or with ``own`` that staging asset's own file.

    Every other working file is attached read-only and its tables made visible by name (temp views), and
    ``observations`` is the union over all files (``attach_working``), so queries read as if it were one
    database while each process writes only its file. A file is rebuilt, not migrated, when its declared
    tables changed since it was created (it only holds what the pipeline derives from the raw landing).
    """
    from warehouse.registry import file_ddl, registry

    if own is not None and own not in registry().own_files():
        raise ValueError(f"{own}: writes no table of its own file (warehouse/tables.yaml, layers with own files)")
    target = stage_path(path, own) if own else path
    target.parent.mkdir(parents=True, exist_ok=True)
    config = duckdb_config()  # read before waiting: a malformed setting fails at once
    con = _wait_for_lock(target, lambda: duckdb.connect(str(target), read_only=read_only, config=config))
    try:
        if not read_only:
            _create_declared(con, file_ddl(own))
        attach_working(con, path, default=own or MAIN)
    except BaseException:
        con.close()
        raise
    return con


def _create_declared(con: duckdb.DuckDBPyConnection, ddl: str) -> None:
    """Create a working file's declared tables; drop everything first when the declaration changed."""
    version = hashlib.sha256(ddl.encode()).hexdigest()[:16]
    con.execute("CREATE TABLE IF NOT EXISTS _staging_version (version VARCHAR)")
    if con.execute("SELECT version FROM _staging_version").fetchall() == [(version,)]:
        return
    for (view,) in con.execute("SELECT view_name FROM duckdb_views() WHERE database_name = current_database() "
                               "AND NOT internal").fetchall():
        con.execute(f"DROP VIEW {identifier(view)}")
    for (table,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall():
        con.execute(f"DROP TABLE {identifier(table)}")
    if ddl:
        con.execute(ddl)
    con.execute("CREATE TABLE _staging_version AS SELECT ? AS version", [version])


def attach_working(con: duckdb.DuckDBPyConnection, work_db: Path, default: str | None,
                   views: bool = True) -> dict[str, str]:
    """Attach the working files other than ``default`` (the connection's own: MAIN or a writer) read-only.

    Returns table -> relation to read it by (``work.releases``, ``"stage_commuting".commuter_flows``; the
    union views as a parenthesised query). With ``views`` the attached tables also get temp views of
    their name and each working view (``observations``) a temp view, so asset SQL stays unqualified.

    The shared file is waited for when another step writes it. A staging file another process holds for
    writing is skipped: its asset is running beside this step, so by the asset graph it is not upstream
    and this step does not read it (waiting could deadlock two staging steps that each hold their own).
    """
    from warehouse.registry import registry

    reg = registry()
    relations = {} if default is None else {name: identifier(name) for (name,) in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()").fetchall()}
    relations.pop("_staging_version", None)
    files = {MAIN: work_db, **{writer: stage_path(work_db, writer) for writer in reg.own_files()}}
    for key, file in files.items():
        if key == default or not file.exists():
            continue
        alias = MAIN if key == MAIN else f"stage_{key}"
        attach = f"ATTACH {literal(file)} AS {identifier(alias)} (READ_ONLY)"  # ATTACH takes no parameter
        try:
            _wait_for_lock(file, lambda: con.execute(attach), wait=key == MAIN)
        except FileLocked:
            if key == MAIN:
                raise
            continue
        for (name,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [alias]).fetchall():
            if name not in relations and not name.startswith("_"):
                relations[name] = f"{identifier(alias)}.{identifier(name)}"
                if views:
                    con.execute(f"CREATE TEMP VIEW {identifier(name)} AS SELECT * FROM {relations[name]}")
    for view in reg.working_views():
        parts = [relations[p.name] for p in reg.parts(view.name) if p.name in relations]
        if parts:
            relations[view.name] = "(" + " UNION ALL BY NAME ".join(f"SELECT * FROM {p}" for p in parts) + ")"
            if views:
                con.execute(f"CREATE OR REPLACE TEMP VIEW {identifier(view.name)} AS SELECT * FROM {relations[view.name]}")
    return relations


def visible_relations(con: duckdb.DuckDBPyConnection) -> set[str]:
    """Tables and views a working connection reads by name: its own file's and the temp views over the others."""
    return {name for (name,) in con.execute("""
        SELECT table_name FROM duckdb_tables() WHERE database_name = current_database()
        UNION ALL SELECT view_name FROM duckdb_views() WHERE database_name IN (current_database(), 'temp')
                                                         AND NOT internal""").fetchall()}


def relation_columns(con: duckdb.DuckDBPyConnection, name: str) -> list[str]:
    """Column names, in their order, of a table or view a working connection reads by name (empty when there
    is none)."""
    rows = con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = ? "
                       "AND database_name IN (current_database(), 'temp') ORDER BY column_index", [name]).fetchall()
    return list(dict.fromkeys(row[0] for row in rows))


class FileLocked(RuntimeError):
    """Another process holds a working file (DuckDB: one writing process per file)."""


def _being_created(file: Path, error: Exception) -> bool:
    """Another process has just created the file and not yet written DuckDB's header (3 blocks of 4 KiB)."""
    return "not a valid DuckDB database file" in str(error) and file.exists() and file.stat().st_size < 3 * 4096


def _wait_for_lock(file: Path, open_file, wait: bool = True):
    """``open_file()``, retried while another process holds ``file`` (multiprocess executor: another step).

    Raises FileLocked at once when not ``wait``, else after READINESS_FILE_LOCK_TIMEOUT seconds (default 1800),
    naming the file and DuckDB's message (which names the holding process).
    """
    limit = float(os.environ.get(FILE_LOCK_ENV) or FILE_LOCK_SECONDS)
    deadline = time.monotonic() + limit
    while True:
        try:
            return open_file()
        except duckdb.IOException as error:
            if "Could not set lock" not in str(error) and not _being_created(file, error):
                raise
            if not wait or time.monotonic() > deadline:
                raise FileLocked(f"working file {file} is held by another process"
                                 f"{'' if not wait else f' for more than {limit:g} s'}: {error}") from error
            time.sleep(LOCK_POLL_SECONDS)


def replace_rows(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | list[pd.DataFrame],
                 **key) -> int:
    """Delete the rows matching ``key`` (e.g. source_id='inkar') and insert ``frame``: reruns never duplicate.

    The table is created from the frame's columns on first use. A table of an older layout is
    migrated: new columns are added, and a column whose type cannot hold the new values (an
    INTEGER guessed from an empty frame, now receiving 'node') takes the new type. ``frame`` may be a list of
    frames (parts): their rows are inserted one part after another in the one transaction, the rows of the
    parts stacked in that order, without a stacked frame built in memory.
    """
    parts = [frame] if isinstance(frame, pd.DataFrame) else list(frame)
    if not parts:
        raise ValueError(f"no frame to store into {table}: give a frame (it may be empty) or a list of them")
    con.register("incoming", parts[0])
    try:
        con.execute(f"CREATE TABLE IF NOT EXISTS {table} AS SELECT * FROM incoming LIMIT 0")
        for part in parts:
            _reregister(con, part)
            _add_new_columns(con, table)
            if len(part):  # an empty frame's column types are pandas' guesses: never migrate to them
                _migrate_types(con, table, key)
        where = " AND ".join(f"{column} = ?" for column in key) or "TRUE"
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(f"DELETE FROM {table} WHERE {where}", list(key.values()))
            threads = con.execute("SELECT current_setting('threads')").fetchone()[0]
            # one thread for the frame scan: DuckDB's parallel scan of object columns contends for the GIL (2.1 M
            # Breitbandatlas rows: 2.4 CPU s on one thread against 3.2-3.8 on two, no slower in wall time at load 3.5)
            con.execute("SET threads = 1")
            try:
                for part in parts:
                    _insert(con, table, part)
            finally:
                con.execute(f"SET threads = {int(threads)}")
        except BaseException:
            con.execute("ROLLBACK")  # the deleted rows come back: a failed part leaves the table as it was
            raise
        con.execute("COMMIT")
    finally:
        con.unregister("incoming")
    return sum(len(part) for part in parts)


def _reregister(con: duckdb.DuckDBPyConnection, frame: pd.DataFrame) -> None:
    """``frame`` as the view ``incoming`` in place of the one registered before."""
    con.unregister("incoming")
    con.register("incoming", frame)


def _insert(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame) -> None:
    """Insert ``frame`` into ``table`` through the view ``incoming``; a frame of more than INSERT_SLICE_ROWS rows in
    consecutive slices, so the rows keep the frame's order (an empty frame: nothing to insert)."""
    for start in range(0, len(frame), INSERT_SLICE_ROWS):
        _reregister(con, frame.iloc[start:start + INSERT_SLICE_ROWS])
        con.execute(f"INSERT INTO {table} BY NAME SELECT * FROM incoming")


# Why slices: one INSERT of the 2.1 M Breitbandatlas rows raised the process by about 330 MiB (DuckDB's
# parallel scan of the frame's text columns), slices of 500,000 rows by about 130 MiB at the same CPU time.
# Only above that size: re-registering every frame left 40-70 MiB more RSS for the later steps of a
# one-process refresh (benchmarks/staging_memory.py, docs/performance-log.md "Staging memory").
INSERT_SLICE_ROWS = 500_000


# empty columns a writer did not produce get the registry's type (pandas would guess from no values)
NULL_DTYPES = {"DOUBLE": "float64", "BIGINT": "Int64", "INTEGER": "Int64", "SMALLINT": "Int64", "BOOLEAN": "boolean"}


def store(con: duckdb.DuckDBPyConnection, writer: str, table: str, frame: pd.DataFrame | list[pd.DataFrame],
          **key) -> int:
    """The one way assets write the working database: ``replace_rows`` after checking the table registry.

    The table must be declared in warehouse/tables.yaml with ``writer`` among its writers (an asset
    writing another asset's table fails loudly), and the frame may hold only declared columns; a
    declared column the writer did not produce (e.g. no official change list in this run) is added empty.
    A list of frames is stored as their rows stacked in that order (``replace_rows``), each part checked so.
    """
    from warehouse.registry import registry

    declared = registry().tables.get(table)
    if declared is None:
        raise ValueError(f"{writer}: table {table!r} is not declared in warehouse/tables.yaml")
    if not declared.is_writer(writer):
        raise ValueError(f"{writer}: may not write {table!r}: warehouse/tables.yaml names its writer(s) "
                         f"{list(declared.writers)}")
    parts = [frame] if isinstance(frame, pd.DataFrame) else list(frame)
    return replace_rows(con, table, [_declared_layout(writer, table, declared.own_columns, part) for part in parts],
                        **key)


def _declared_layout(writer: str, table: str, own_columns, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the table's declared columns in their order (one the writer did not produce added empty);
    a column the registry does not declare fails, naming the writer and the table."""
    columns = [c.name for c in own_columns]  # joined columns are another table's
    extra = [c for c in frame.columns if c not in columns]
    if extra:
        raise ValueError(f"{writer}: columns {extra} of {table!r} are not declared in warehouse/tables.yaml")
    # the declared columns in their order, built from the frame's own columns: selecting them (frame[columns])
    # or adding one (assign) copied every column of the frame (2.1 M Breitbandatlas rows: ~0.15 CPU s, ~200 MiB)
    data = {column.name: frame[column.name] if column.name in frame.columns
            else pd.Series(None, index=frame.index, dtype=NULL_DTYPES.get(column.type, "object"))
            for column in own_columns}
    return pd.DataFrame(data, index=frame.index, copy=False)


def _add_new_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """A newer pipeline version may write more columns than an older working database has: add them."""
    existing = {row[0] for row in con.execute(f"DESCRIBE {table}").fetchall()}
    for name, column_type, *_ in con.execute("DESCRIBE incoming").fetchall():
        if name not in existing:
            con.execute(f'ALTER TABLE {table} ADD COLUMN "{name}" {column_type}')


LOSSLESS = {("DOUBLE", "BIGINT"), ("DOUBLE", "INTEGER"), ("BIGINT", "INTEGER"), ("DOUBLE", "FLOAT")}


def _migrate_types(con: duckdb.DuckDBPyConnection, table: str, key: dict) -> None:
    """Give a column the incoming type where its current type would fail or round the new values.

    An incoming column without a value keeps the table's type (its own is a guess). The rows about to be
    replaced do not count; when no other rows remain (or all of them cast),
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
        if con.execute(f"SELECT count({column}) FROM incoming").fetchone()[0] == 0:
            # no value to hold: the type is pandas' guess for an empty column (INTEGER), and migrating a DATE
            # column to it failed (a town's coworking list where no space has closed: DATE -> INTEGER)
            continue
        kept = con.execute(f"""SELECT count(*) FILTER ({column} IS NOT NULL AND TRY_CAST({column} AS {new_type}) IS NULL)
                               FROM {table} WHERE NOT ({where})""", params).fetchone()[0]
        target = new_type if kept == 0 else "VARCHAR"
        con.execute(f"ALTER TABLE {table} ALTER COLUMN {column} SET DATA TYPE {target}")

