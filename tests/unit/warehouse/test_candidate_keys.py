"""The candidate's tables get their multi-column keys after the rows are in: same schema as schema.sql."""

from __future__ import annotations

import duckdb
import pytest

from warehouse.paths import SCHEMA_SQL
from warehouse.publish import DEFERRED_KEYS, _add_keys
from warehouse.registry import published_ddl

CATALOG = {
    "tables": "SELECT table_name, sql FROM duckdb_tables() ORDER BY ALL",
    "constraints": "SELECT table_name, constraint_type, constraint_text, constraint_column_names "
                   "FROM duckdb_constraints() ORDER BY ALL",
}


def catalog(con) -> dict[str, list]:
    return {name: con.execute(sql).fetchall() for name, sql in CATALOG.items()}


def test_deferred_keys_give_the_schema_of_schema_sql():
    declared, deferred = duckdb.connect(), duckdb.connect()
    declared.execute(SCHEMA_SQL.read_text(encoding="utf-8"))
    deferred.execute(published_ddl(defer_composite_keys=True))
    assert catalog(deferred) != catalog(declared)  # without the keys the schema differs: the test can fail
    _add_keys(deferred, DEFERRED_KEYS)
    assert catalog(deferred) == catalog(declared)
    assert {"indicator_values_history", "score_contributions", "indicator_values_latest"} <= set(DEFERRED_KEYS)


def test_a_duplicate_key_fails_naming_the_table_and_its_key():
    con = duckdb.connect()
    con.execute(published_ddl(defer_composite_keys=True))
    columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'peer_towns'").fetchall()
    values = ", ".join(f"CAST({'1' if kind != 'VARCHAR' else repr('01053090')} AS {kind}) AS {name}" for name, kind in columns)
    con.execute(f"INSERT INTO peer_towns BY NAME SELECT {values} FROM range(2)")  # the same row twice
    with pytest.raises(ValueError, match=r"peer_towns has more than one row for the same \(ags, peer_ags\)"):
        _add_keys(con, {"peer_towns": DEFERRED_KEYS["peer_towns"]})
