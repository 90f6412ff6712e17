"""Where the published warehouse is and how the CLI opens it (read-only, never the working database)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.paths import published_path, view_statements
from warehouse.registry import missing_published

# Views of warehouse/views.sql the CLI reads that a warehouse published by an earlier version of the code lacks (a
# published file is never rewritten): created for the session, as the next publish will create them. Without them
# `readiness profil` stopped with a catalog error until the next publish (read of the change, 6 December 2026).
LATER_VIEWS = ("index_inputs", "score_inputs")


class CliError(Exception):
    """A problem the user can fix; main() prints the message and exits non-zero."""


def warehouse_path() -> Path:
    """The published warehouse (READINESS_WAREHOUSE), resolved like the pipeline's settings, without Dagster."""
    return published_path()


def open_warehouse(path: Path | None = None, current: bool = False) -> duckdb.DuckDBPyConnection:
    """Open the published warehouse read-only, so a pipeline run can publish a new one meanwhile. ``current``: refuse
    a file an older version of the code published (the report commands read today's columns; they stopped with
    DuckDB's binder error and a traceback: planner's review of 6 December 2026); `profil` reads older files."""
    path = path or warehouse_path()
    if not path.is_file():
        raise CliError(f"Kein veröffentlichtes Warehouse unter {path} (READINESS_WAREHOUSE). "
                       "Zuerst mit `readiness demo` (oder `bash scripts/demo.sh`) bauen.")
    try:
        con = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise CliError(f"Das Warehouse {path} lässt sich nicht lesend öffnen: {error}") from error
    if current:
        missing = missing_published(con)
        if missing:
            con.close()
            raise CliError(f"Das Warehouse {path} wurde von einer älteren Version des Codes veröffentlicht (es fehlen: "
                           f"{', '.join(missing)}). Bitte neu veröffentlichen, z. B. mit `readiness demo`.")
    with_later_views(con)
    return con


def with_later_views(con: duckdb.DuckDBPyConnection) -> None:
    """Create the ``LATER_VIEWS`` the file lacks as temporary views (a read-only file takes those), in views.sql's
    order, so one may read another. A file too old for a view's SQL (a column added since) keeps going without it:
    only the command that reads the view fails, and says so (``require_views``)."""
    present = {name for name, in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    if all(name in present for name in LATER_VIEWS):
        return
    statements = view_statements()
    for name in LATER_VIEWS:
        if name not in present:
            try:
                con.execute(statements[name].replace("CREATE VIEW", "CREATE TEMP VIEW", 1))
            except duckdb.Error:
                pass  # require_views names the file and what to do


def require_views(con: duckdb.DuckDBPyConnection, names, path: Path | None = None) -> None:
    """A ``CliError`` when the warehouse has not got the views ``names`` (nor could they be created for the session):
    it was published by a version of the code too old for this command."""
    present = {name for name, in con.execute("SELECT view_name FROM duckdb_views()").fetchall()}
    missing = [name for name in names if name not in present]
    if missing:
        raise CliError(f"Das Warehouse {path or warehouse_path()} ist zu alt für diesen Befehl (es fehlt: "
                       f"{', '.join(missing)}). Bitte neu veröffentlichen, z. B. mit `readiness demo`.")
