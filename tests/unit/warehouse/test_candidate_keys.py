"""The candidate's tables get their multi-column keys after the rows are in: same schema as schema.sql."""

from __future__ import annotations

import duckdb
import pytest

from warehouse.paths import SCHEMA_SQL
from warehouse.publish import DEFERRED_KEYS, HISTORY_KEYS, _add_keys, _check_unique
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
    assert {"score_contributions", "indicator_values_latest"} <= set(DEFERRED_KEYS)
    assert HISTORY_KEYS["indicator_values_history"] == ["ags", "indicator_id", "period", "valid_from"]
    assert not set(HISTORY_KEYS) & set(DEFERRED_KEYS)  # a history table has no primary key (its index grows)


def test_a_duplicate_key_fails_naming_the_table_and_its_key():
    con = duckdb.connect()
    con.execute(published_ddl(defer_composite_keys=True))
    columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'peer_towns'").fetchall()
    sample = {"VARCHAR": repr("01053090"), "DATE": "'2023-12-31'"}
    values = ", ".join(f"CAST({sample.get(kind, '1')} AS {kind}) AS {name}" for name, kind in columns)
    con.execute(f"INSERT INTO peer_towns BY NAME SELECT {values} FROM range(2)")  # the same row twice
    with pytest.raises(ValueError, match=r"peer_towns has more than one row for the same \(ags, peer_ags\)"):
        _add_keys(con, {"peer_towns": DEFERRED_KEYS["peer_towns"]})


def test_a_duplicate_key_of_a_history_table_fails_naming_the_table_its_key_and_the_rows():
    """History tables carry no primary key (an index of a growing table ran out of the candidate's memory at twice
    today's Germany-wide history); their key is checked instead, with the same refusal."""
    con = duckdb.connect()
    con.execute(published_ddl(defer_composite_keys=True))
    columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                          "WHERE table_name = 'indicator_values_history'").fetchall()
    given = {"ags": "'01053090'", "indicator_id": "'gigabit_coverage'", "valid_from": "TIMESTAMP '2026-12-05 10:00'",
             "reference_date": "DATE '2023-12-31'"}
    values = ", ".join(f"CAST({given.get(name, '1' if kind != 'VARCHAR' else repr('x'))} AS {kind}) AS {name}"
                       for name, kind in columns if name != "valid_to")
    con.execute(f"INSERT INTO indicator_values_history BY NAME SELECT {values} FROM range(2)")  # one row twice
    with pytest.raises(ValueError, match=r"indicator_values_history has more than one row for the same \(ags, "
                                         r"indicator_id, period, valid_from\), e\.g\. ags=01053090, .* \(2 rows\)"):
        _check_unique(con, HISTORY_KEYS)
    con.execute("DELETE FROM indicator_values_history WHERE rowid = (SELECT max(rowid) FROM indicator_values_history)")
    _check_unique(con, HISTORY_KEYS)  # one row per key: passes


def test_a_published_file_of_older_code_is_named_with_what_it_lacks():
    """The readers of today's columns (reports.data.load, the report commands) refuse a file an older version
    published, naming each missing column, table or view, instead of failing later with DuckDB's binder error."""
    from warehouse.paths import VIEWS_SQL
    from warehouse.registry import missing_published

    con = duckdb.connect()
    con.execute(published_ddl())
    con.execute(VIEWS_SQL.read_text(encoding="utf-8"))
    assert missing_published(con) == []
    con.execute("ALTER TABLE peer_towns DROP COLUMN population_date")
    con.execute("DROP VIEW coworking_gap_ranking")
    con.execute("DROP TABLE coworking_gap")
    assert missing_published(con) == ["peer_towns.population_date", "coworking_gap", "coworking_gap_ranking"]


def test_the_refusal_of_an_older_file_crosses_a_process_boundary_whole():
    """``OutdatedWarehouse`` pickles with its path and list (a child process's error reaches its parent whole)."""
    import pickle

    from warehouse.registry import OutdatedWarehouse

    error = pickle.loads(pickle.dumps(OutdatedWarehouse("/tmp/w.duckdb", ["peer_towns.population_date"])))
    assert isinstance(error, OutdatedWarehouse) and error.missing == ["peer_towns.population_date"]
    assert "lacks peer_towns.population_date; publish it again" in str(error) and error.path == "/tmp/w.duckdb"
