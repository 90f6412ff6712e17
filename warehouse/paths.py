"""Where the warehouse's files live: the published file, the working files, exports and reports.

The one place the output paths are read from the environment: the pipeline's settings
(pipelines/resources.py) and the CLI, reports and exports, which must start without Dagster.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

# the exports folder's link to the newest export and the file listing its files (warehouse/exports.py; the
# incremental refresh looks for it to tell a complete export, pipelines/incremental.py)
LATEST = "latest"
MANIFEST = "manifest.json"

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SCHEMA_SQL = Path(__file__).with_name("schema.sql")
STAGING_SQL = Path(__file__).with_name("staging.sql")
VIEWS_SQL = Path(__file__).with_name("views.sql")
DEFAULT_PUBLISHED = PROJECT_ROOT / "warehouse" / "readiness.duckdb"
DEFAULT_EXPORTS_DIR = PROJECT_ROOT / "data" / "exports"
DEFAULT_REPORTS_DIR = PROJECT_ROOT / "data" / "reports"
REPORTS_DIR_ENV = "READINESS_REPORTS_DIR"
# DuckDB keeps up to 80 % of the machine's memory for its buffers by default (18.8 GiB on a 24 GiB machine):
# the pipeline's connections get a limit of their own, so one refresh stays within the memory it needs
DUCKDB_MEMORY_ENV = "READINESS_DUCKDB_MEMORY_LIMIT"
DEFAULT_DUCKDB_MEMORY = "1GB"
DUCKDB_THREADS_ENV = "READINESS_DUCKDB_THREADS"
# a memory size DuckDB accepts: (number, unit)
MEMORY_PATTERN = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KiB|MiB|GiB|TiB)\s*$", re.IGNORECASE)
_UNITS = {"b": 1, "kb": 10**3, "mb": 10**6, "gb": 10**9, "tb": 10**12,
          "kib": 2**10, "mib": 2**20, "gib": 2**30, "tib": 2**40}  # DuckDB's: KB = 1000 bytes, KiB = 1024


def view_statements() -> dict[str, str]:
    """The CREATE VIEW statements of views.sql by view name, in the file's order, without their leading comments.
    The publish runs the whole file; the lake replaces its views with these (warehouse/lake.py), and the CLI creates
    the ones an older published file lacks for its session (cli/store.py)."""
    import duckdb

    found = {}
    for statement in duckdb.extract_statements(VIEWS_SQL.read_text(encoding="utf-8")):
        sql = re.sub(r"\A(\s*--[^\n]*\n)*\s*", "", statement.query)  # leading comments
        named = re.match(r"CREATE\s+VIEW\s+(\w+)\s+AS\b", sql, re.IGNORECASE)
        if named:
            found[named[1]] = sql
    return found


def memory_bytes(size: str) -> float:
    """A size ``MEMORY_PATTERN`` accepts ('512MB', '1GB', '2 GiB') in bytes."""
    number, unit = MEMORY_PATTERN.match(size).groups()
    return float(number) * _UNITS[unit.lower()]


def _env_path(variable: str, default: Path) -> Path:
    return Path(os.environ.get(variable) or default).expanduser().resolve()


# The one place the output paths are read from the environment: the pipeline's settings
# (pipelines/resources.py) and the CLI, reports and exports, which must start without Dagster.
def published_path() -> Path:
    """The published warehouse: READINESS_WAREHOUSE, else warehouse/readiness.duckdb."""
    return _env_path("READINESS_WAREHOUSE", DEFAULT_PUBLISHED)


def exports_dir() -> Path:
    """Where exports go: READINESS_EXPORTS_DIR, else data/exports."""
    return _env_path("READINESS_EXPORTS_DIR", DEFAULT_EXPORTS_DIR)


def reports_dir() -> Path:
    """Where town reports go: READINESS_REPORTS_DIR, else data/reports."""
    return _env_path(REPORTS_DIR_ENV, DEFAULT_REPORTS_DIR)


def work_path_for(published: Path) -> Path:
    """The working database lives next to the published file (same filesystem, so renames are atomic)."""
    return published.with_name(published.stem + ".work.duckdb")


def stage_dir_for(work_db: Path) -> Path:
    """The folder of the staging assets' own files, next to the working database (readiness.staging/)."""
    return work_db.with_name(work_db.name.split(".")[0] + ".staging")


def stage_path(work_db: Path, writer: str) -> Path:
    """The own working file of a staging asset (warehouse/registry.py ``Table.own_file``)."""
    return stage_dir_for(work_db) / f"{writer}.duckdb"


def candidate_path_for(published: Path) -> Path:
    """The candidate is built next to the published file (same filesystem, so the swap is a rename)."""
    return published.with_name(published.stem + ".candidate.duckdb")


def duckdb_config() -> dict[str, str]:
    """Settings of the DuckDB connections the pipeline opens on its working and candidate files.

    READINESS_DUCKDB_MEMORY_LIMIT (default 1GB): DuckDB's buffer limit per database; beyond it DuckDB
    spills to a temporary folder beside the file instead of growing. READINESS_DUCKDB_THREADS (default:
    DuckDB's, one per core). A malformed value fails naming the variable.
    """
    memory = (os.environ.get(DUCKDB_MEMORY_ENV) or DEFAULT_DUCKDB_MEMORY).strip()
    if not MEMORY_PATTERN.match(memory):
        raise ValueError(f"{DUCKDB_MEMORY_ENV}={memory!r} is not a memory size like 1GB, 512MB or 2GiB")
    config = {"memory_limit": memory}
    threads = (os.environ.get(DUCKDB_THREADS_ENV) or "").strip()
    if threads:
        if not threads.isdigit() or int(threads) < 1:
            raise ValueError(f"{DUCKDB_THREADS_ENV}={threads!r} must be a whole number of threads, at least 1")
        config["threads"] = threads
    return config
