"""Where the published warehouse is and how the CLI opens it (read-only, never the working database)."""

from __future__ import annotations

from pathlib import Path

import duckdb

from warehouse.paths import published_path


class CliError(Exception):
    """A problem the user can fix; main() prints the message and exits non-zero."""


def warehouse_path() -> Path:
    """The published warehouse (READINESS_WAREHOUSE), resolved like the pipeline's settings, without Dagster."""
    return published_path()


def open_warehouse(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the published warehouse read-only, so a pipeline run can publish a new one meanwhile."""
    path = path or warehouse_path()
    if not path.is_file():
        raise CliError(f"Kein veröffentlichtes Warehouse unter {path} (READINESS_WAREHOUSE). "
                       "Zuerst mit `readiness demo` (oder `bash scripts/demo.sh`) bauen.")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise CliError(f"Das Warehouse {path} lässt sich nicht lesend öffnen: {error}") from error
