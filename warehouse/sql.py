"""Quoting for the few SQL spots where DuckDB takes no parameter (ATTACH paths, identifiers).

Values go in as parameters wherever DuckDB allows (``?``/``$name``, also ``COPY ... TO ?``);
``ATTACH`` takes no parameter for its path, and names of tables or attached databases are
identifiers. A warehouse path such as ``/data/Kreis o'Brien/readiness.duckdb`` must neither
break the statement nor change it.
"""

from __future__ import annotations

from pathlib import Path


def literal(value: str | Path) -> str:
    """A SQL string literal: single quotes doubled, no other escapes in DuckDB's standard strings."""
    text = str(value)
    if "\x00" in text:
        raise ValueError(f"a NUL character cannot be part of an SQL string: {text!r}")
    return "'" + text.replace("'", "''") + "'"


def identifier(name: str) -> str:
    """A quoted SQL identifier: double quotes doubled."""
    if "\x00" in name:
        raise ValueError(f"a NUL character cannot be part of an SQL identifier: {name!r}")
    return '"' + name.replace('"', '""') + '"'
