"""Paths and names reach SQL only as parameters or quoted literals/identifiers (issue 12.6).

The quoting helpers here; a whole refresh under a folder with a quote in its name is in
tests/integration/test_sql_quoting_run.py.
"""

from __future__ import annotations

import duckdb
import pytest

from warehouse.sql import identifier, literal

AWKWARD = ["o'Brien", "x'; DROP TABLE t; --", 'say "hi"', "back\\slash", "Ümlaut ß"]


@pytest.mark.parametrize("text", AWKWARD)
def test_literal_and_identifier_round_trip_in_duckdb(text):
    with duckdb.connect() as con:
        assert con.execute(f"SELECT {literal(text)}").fetchone()[0] == text
        con.execute(f"CREATE TABLE {identifier(text)} (v INTEGER)")
        assert con.execute("SELECT table_name FROM duckdb_tables()").fetchall() == [(text,)]


def test_a_nul_character_is_refused():
    with pytest.raises(ValueError, match="NUL"):
        literal("a\x00b")
