"""Where the published warehouse is and how the CLI opens it (read-only, never the working database)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

from warehouse import DEFAULT_PUBLISHED


class CliError(Exception):
    """A problem the user can fix; main() prints the message and exits non-zero."""


def warehouse_path() -> Path:
    """The published warehouse: READINESS_WAREHOUSE or warehouse/readiness.duckdb.

    The same setting (and resolution) as ReadinessSettings.warehouse_path in pipelines/resources.py,
    read here at call time without importing Dagster, so `readiness profile` starts fast.
    """
    return Path(os.environ.get("READINESS_WAREHOUSE", str(DEFAULT_PUBLISHED))).expanduser().resolve()


def open_warehouse(path: Path | None = None) -> duckdb.DuckDBPyConnection:
    """Open the published warehouse read-only, so a pipeline run can publish a new one meanwhile."""
    path = path or warehouse_path()
    if not path.is_file():
        raise CliError(f"No published warehouse at {path} (READINESS_WAREHOUSE). "
                       "Build it first with `readiness demo` (or `bash scripts/demo.sh`).")
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as error:
        raise CliError(f"Cannot open the warehouse {path} read-only: {error}") from error
