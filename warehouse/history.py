"""Versioned tables: every row a publish ever showed stays, with the period it was current.

A history table holds the columns of its working table plus ``valid_from`` and ``valid_to``
(timestamps of publishes). Merging a new publish compares whole rows: a current row that the
new data repeat exactly is kept as it is (so a rerun changes nothing), a current row the new
data no longer contain is closed (``valid_to`` = this publish), and a new or changed row opens
a new version. Rows are compared set-wise in DuckDB: a 64-bit hash over all their columns, each
match confirmed column by column, NULL-safe. A first publish compares (and hashes) nothing.
"""

from __future__ import annotations

import datetime as dt

import duckdb

from warehouse.registry import registry

# published history table -> (working table, scope columns), from warehouse/tables.yaml (history_from,
# history_scope): readiness_index rows of a method version not computed any more stay current.
HISTORY_TABLES = registry().history_tables()
VERSION_COLUMNS = ("valid_from", "valid_to")
# Physical row order of each history table in the published file (columns it has, then valid_from).
# Why: DuckDB keeps min/max per row group (~122,880 rows); with the rows of one town together, a
# filter on ags (a planner's town, also the join filter of a subquery) skips all other row groups
# instead of scanning ~1 M rows. Only the order changes, never the rows or columns.
HISTORY_ORDER = {
    "source_releases_history": ["source_id", "vintage"],
    "indicator_values_history": ["ags", "indicator_id", "period"],
    "readiness_index_history": ["ags", "period", "method_version"],
}
# working tables whose published rows join another asset's table: (table, key). The index_uncertainty
# asset writes its bands into its own table; the published readiness_index carries them as columns.
JOINS = {"readiness_index": ("index_bands", ["ags", "period", "method_version"])}


def merge_history(con: duckdb.DuckDBPyConnection, table: str, published_at: dt.datetime,
                  previous_schema: str | None) -> dict[str, int]:
    """Fill ``table`` in the new file from ``previous_schema.table`` and ``work.<working table>``.

    ``previous_schema`` is the attached previous published file (None on the first publish).
    Returns counts of kept, closed and opened row versions.
    """
    work_table, scope = HISTORY_TABLES[table]
    types = dict(_columns(con, None, table))
    source, available = _work_source(con, work_table)
    columns = [c for c in available if c in types]
    first = previous_schema is None or table not in _tables(con, previous_schema)
    # cast to the published types first, so equal values hash equally whatever type the working table has;
    # a first publish (the cold path) compares nothing, so it hashes nothing and reads the working rows
    # once, straight into the table (a view, not a temporary copy of ~1 M rows)
    typed = ", ".join(f"CAST({_quote(c)} AS {types[c]}) AS {_quote(c)}" for c in columns)
    row_hash = "" if first else f", {_row_hash(columns)} AS row_hash"
    con.execute(f"CREATE OR REPLACE TEMP {'VIEW' if first else 'TABLE'} incoming AS "
                f"SELECT *{row_hash} FROM (SELECT {typed} FROM {source})")
    _refuse_missing_required(con, table, work_table)
    order = ", ".join(_quote(c) for c in [*HISTORY_ORDER.get(table, []), "valid_from"] if c in types)
    now = f"CAST($now AS {types['valid_from']})"
    new_versions = (f"SELECT i.* {'' if first else 'EXCLUDE (row_hash)'}, {now} AS valid_from, "
                    "CAST(NULL AS TIMESTAMP) AS valid_to FROM incoming i")
    if first:  # every row opens its first version; one ordered insert stores the table in HISTORY_ORDER
        opened = con.execute(f"INSERT INTO {table} BY NAME {new_versions} ORDER BY {order}",
                             {"now": published_at}).fetchone()[0]
        con.execute("DROP VIEW incoming")
        return {"previous_versions": 0, "closed": 0, "opened": opened, "current": opened}
    _load_previous(con, table, previous_schema, columns, types)
    previous_versions, current = con.execute(
        "SELECT count(*), count(*) FILTER (valid_to IS NULL) FROM previous").fetchone()
    # "the new data contain a row" is decided set-wise: a join of the current versions with the incoming rows on
    # the 64-bit hash, each pair confirmed column by column (NULL-safe, so a hash collision never passes for an
    # unchanged row), keeps the row ids of the equal pairs. A current version without an equal incoming row is
    # closed (within the scope); an incoming row without an equal current one opens a version. The join runs in
    # parts by the hash (equal rows have equal hashes, so they meet in the same part; ``merge_parts``).
    parts = merge_parts(current)
    con.execute("CREATE OR REPLACE TEMP TABLE same (previous_id BIGINT, incoming_id BIGINT)")
    for part in range(parts):
        in_part = f"row_hash % {parts} = {part}"
        # the row ids under a name no column has (a column "id" would stand for the row id in the comparison)
        con.execute(f"""INSERT INTO same
                        SELECT p.{ROW_ID}, i.{ROW_ID}
                        FROM (SELECT rowid AS {ROW_ID}, * FROM previous WHERE valid_to IS NULL AND {in_part}) p
                        JOIN (SELECT rowid AS {ROW_ID}, * FROM incoming WHERE {in_part}) i
                          ON {_same_row(columns, types)}""")
    in_scope = " AND ".join(f"{_quote(c)} IN (SELECT {_quote(c)} FROM incoming)" for c in scope) or "TRUE"
    con.execute(f"""UPDATE previous SET valid_to = {now}
                    WHERE valid_to IS NULL AND rowid NOT IN (SELECT previous_id FROM same) AND {in_scope}""",
                {"now": published_at})
    # previous versions and new versions in one ordered insert, so the table is stored in HISTORY_ORDER
    inserted = con.execute(f"""
        INSERT INTO {table} BY NAME
        SELECT * FROM (
            SELECT * EXCLUDE (row_hash) FROM previous
            UNION ALL BY NAME
            {new_versions} WHERE i.rowid NOT IN (SELECT incoming_id FROM same))
        ORDER BY {order}
    """, {"now": published_at}).fetchone()[0]
    opened = inserted - previous_versions
    counts = con.execute(f"""SELECT count(*) FILTER (valid_to = $now), count(*) FILTER (valid_to IS NULL)
                             FROM {table}""", {"now": published_at}).fetchone()
    con.execute("DROP TABLE incoming; DROP TABLE previous; DROP TABLE same")
    return {"previous_versions": previous_versions, "closed": counts[0], "opened": opened, "current": counts[1]}


# Current versions per part of the merge's join. Why parts: the join builds a hash table of whole rows; over the
# ~1.1 M current indicator versions of the Germany-wide warehouse in one part it ran out of the candidate's 256 MB
# (and peaked at 770-850 MiB RSS with 512 MB); in four parts it passes with 192 MB and peaks at ~610 MiB, for ~1.5 CPU s
# more (benchmarks/republish.py on ra76's files, 5 December 2026). The snapshot's tables are one part.
MERGE_PART_ROWS = 300_000
ROW_ID = "__merge_row"  # a row id's name in the merge's join


def merge_parts(current_versions: int) -> int:
    """How many parts the merge's join runs in for ``current_versions`` previous current rows (at least one)."""
    return max(1, -(-current_versions // MERGE_PART_ROWS))


def _row_hash(columns: list[str]) -> str:
    """SQL of a row's 64-bit hash over ``columns`` (DuckDB's hash: one pass, no text rendering of the row)."""
    return f"hash({', '.join(_quote(c) for c in columns)})"


def _same_row(columns: list[str], types: dict[str, str]) -> str:
    """Join condition: previous row ``p`` and incoming row ``i`` hold the same values (NULL equals NULL).

    Floating-point columns also compare the sign bit: -0.0 = 0.0 as numbers, but a publish shows them
    differently, so a change between them is a change (as when rows were compared by their text).
    """
    same = [f"p.{_quote(c)} IS NOT DISTINCT FROM i.{_quote(c)}" for c in columns]
    same += [f"signbit(p.{_quote(c)}) IS NOT DISTINCT FROM signbit(i.{_quote(c)})"
             for c in columns if types[c] in ("DOUBLE", "FLOAT", "REAL")]
    return " AND ".join(["p.row_hash = i.row_hash", *same])


def _work_source(con, work_table: str) -> tuple[str, list[str]]:
    """The relation the history rows come from and its columns: the working table, joined with the
    table that holds the rest of its published columns (JOINS)."""
    own = [c for c, _ in _columns(con, "work", work_table)]
    if work_table not in JOINS:
        return f"work.{work_table}", own
    other, key = JOINS[work_table]
    extra = [c for c, _ in _columns(con, "work", other) if c not in own]
    select = ", ".join([*(f"w.{_quote(c)}" for c in own), *(f"j.{_quote(c)}" for c in extra)])
    using = ", ".join(_quote(c) for c in key)
    return f"(SELECT {select} FROM work.{work_table} w LEFT JOIN work.{other} j USING ({using}))", own + extra


def _refuse_missing_required(con, table: str, work_table: str) -> None:
    """Name the rows and their source when a NOT NULL column of the history table would get NULL.

    Without this, DuckDB says only "NOT NULL constraint failed: indicator_values_history.value".
    """
    required = [r[0] for r in con.execute(
        "SELECT column_name FROM duckdb_columns() WHERE database_name = current_database() AND table_name = ? "
        "AND NOT is_nullable", [table]).fetchall() if r[0] not in VERSION_COLUMNS]
    incoming = {r[0] for r in con.execute("DESCRIBE incoming").fetchall()}
    for column in (c for c in required if c in incoming):
        rows = con.execute(f"SELECT * FROM incoming WHERE {_quote(column)} IS NULL LIMIT 3").df()
        if len(rows):
            total = con.execute(f"SELECT count(*) FROM incoming WHERE {_quote(column)} IS NULL").fetchone()[0]
            where = ", ".join(f"{k}={rows.iloc[0][k]}" for k in ("source_id", "vintage", "ags", "indicator_id")
                              if k in rows.columns)
            raise ValueError(f"{work_table}: {total} rows without {column} (e.g. {where}); {table} requires it. "
                             "Check that source's release")


def _load_previous(con, table: str, previous_schema: str, columns: list[str], types: dict[str, str]) -> None:
    """The previous file's versions of ``table`` in the published types, with the hash of their data columns."""
    available = dict(_columns(con, previous_schema, table))
    # a column the previous file did not have yet is NULL in its rows (additive schema change)
    select = ", ".join(f"CAST({_quote(c) if c in available else 'NULL'} AS {types[c]}) AS {_quote(c)}"
                       for c in [*columns, *VERSION_COLUMNS])
    con.execute(f"""CREATE OR REPLACE TEMP TABLE previous AS
                    SELECT *, {_row_hash(columns)} AS row_hash FROM (SELECT {select} FROM {previous_schema}.{table})""")


def _columns(con, schema: str | None, table: str) -> list[tuple[str, str]]:
    """(name, type) of a table's columns, in order; ``schema`` None = the database being built."""
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = coalesce(?, current_database()) "
        "AND table_name = ? ORDER BY column_index", [schema, table]).fetchall()


def _tables(con, schema: str) -> set[str]:
    return {row[0] for row in con.execute(
        "SELECT table_name FROM duckdb_tables() WHERE database_name = ?", [schema]).fetchall()}


def _quote(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'
