"""Publishing the warehouse to a DuckLake (optional; planners keep the single DuckDB file by default).

A DuckLake keeps its catalog in a database (PostgreSQL for several writers and machines, or a DuckDB
file for one) and the table data as Parquet files in a folder or object-store path. Every commit is a
snapshot: readers see one snapshot whole, and any earlier one stays queryable (time travel), which
gives the warehouse's history without copying files.

``publish`` copies a validated candidate warehouse (warehouse/__init__.py ``build_candidate``) into
the lake in one transaction, so one publish is one snapshot. The extensions come from the wheels of the
``lake`` extra (``duckdb-extension-ducklake``, ``duckdb-extension-postgres``) and are installed from
those files, never downloaded: a publish works offline.

Configuration (environment, read by pipelines/resources.py):
  READINESS_LAKE_CATALOG    '' (default: no lake), a DuckDB catalog file ('/srv/lake/catalog.ducklake'),
                            or 'postgres:<libpq connection string>' ('postgres:dbname=lake host=db user=readiness');
                            the password comes from libpq's own environment (PGPASSWORD) or ~/.pgpass,
                            never from this setting
  READINESS_LAKE_DATA_PATH  where the Parquet files go (a folder; required with a lake)
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

import duckdb

from warehouse import paths
from warehouse.sql import identifier, literal

CATALOG_ENV = "READINESS_LAKE_CATALOG"
DATA_PATH_ENV = "READINESS_LAKE_DATA_PATH"
ALIAS = "lake"


class LakeError(RuntimeError):
    """The lake is misconfigured, its extensions are missing, or a publish to it failed."""


@dataclass(frozen=True)
class Lake:
    """Where the lake is: its catalog ('postgres:<conninfo>' or a DuckDB file) and its Parquet folder."""

    catalog: str
    data_path: str

    @classmethod
    def from_settings(cls, catalog: str, data_path: str) -> "Lake | None":
        """The configured lake, None when no catalog is set (the single-file default)."""
        catalog, data_path = (catalog or "").strip(), (data_path or "").strip()
        if not catalog:
            return None
        if _has_password(catalog):  # credentials belong in PGPASSWORD/~/.pgpass, not in a setting the UI shows
            raise LakeError(f"{CATALOG_ENV} must not contain a password: set PGPASSWORD or use ~/.pgpass")
        if not data_path:  # first the password test: this message quotes the catalog
            raise LakeError(f"{CATALOG_ENV}={catalog!r} is set but {DATA_PATH_ENV} is not set: "
                            "say where the lake's Parquet files go")
        if not catalog.startswith("postgres:"):
            catalog = str(Path(catalog).expanduser().resolve())
        if "://" not in data_path:
            data_path = str(Path(data_path).expanduser().resolve()) + "/"
        return cls(catalog, data_path)

    @property
    def uses_postgres(self) -> bool:
        return self.catalog.startswith("postgres:")

    def describe(self) -> str:
        """For logs and metadata (no secret is in it: from_settings refuses a password in the catalog)."""
        return f"ducklake:{self.catalog} (data {self.data_path})"


def _has_password(catalog: str) -> bool:
    """A password in the catalog setting: ``password=`` (also ``sslpassword=``) in a libpq key/value string, or
    ``user:secret@`` in a URI (``postgresql://planner:secret@host/db``). Either would reach the logs, the run
    database and the asset metadata through ``describe()`` and DuckDB's error texts."""
    conninfo = catalog.removeprefix("postgres:")
    # libpq decodes percent-escapes in a URI (?%70assword=...): test the decoded text too
    return "password" in unquote(catalog).lower() or ("://" in conninfo and urlsplit(conninfo).password is not None)


def load_extensions(con: duckdb.DuckDBPyConnection, postgres: bool) -> None:
    """Install and load DuckLake (and the PostgreSQL scanner) from the ``lake`` extra's wheels, offline.

    Each wheel holds the extension built for one DuckDB version; a mismatch is reported, not downloaded.
    """
    con.execute("SET autoinstall_known_extensions = false")  # never fetch an extension from the network
    version = con.execute("PRAGMA version").fetchone()[0]
    for name, module, loaded_as in [("ducklake", "duckdb_extension_ducklake", "ducklake")] + (
            [("postgres", "duckdb_extension_postgres", "postgres_scanner")] if postgres else []):
        try:
            package = importlib.import_module(module)
        except ImportError:
            raise LakeError(f"the {name} extension is not installed: pip install -e '.[lake]' "
                            f"(wheel {module.replace('_', '-')} for duckdb {version})") from None
        path = Path(package.__file__).parent / "extensions" / version / f"{name}.duckdb_extension"
        if not path.exists():
            raise LakeError(f"{module} has no build for duckdb {version} (expected {path}); "
                            "pin the wheel of the same version as duckdb (requirements.lock)")
        con.execute(f"INSTALL {literal(path)}")
        con.execute(f"LOAD {loaded_as}")


def attach(con: duckdb.DuckDBPyConnection, lake: Lake, alias: str = ALIAS, read_only: bool = False,
           snapshot: int | None = None) -> None:
    """Attach the lake (creating it on first use unless read-only); ``snapshot`` attaches an earlier version."""
    load_extensions(con, lake.uses_postgres)
    options = [f"DATA_PATH {literal(lake.data_path)}"]
    if read_only:
        options.append("READ_ONLY")
    if snapshot is not None:
        options.append(f"SNAPSHOT_VERSION {int(snapshot)}")
    try:
        con.execute(f"ATTACH {literal('ducklake:' + lake.catalog)} AS {identifier(alias)} ({', '.join(options)})")
    except duckdb.Error as error:
        raise LakeError(f"cannot attach the lake {lake.describe()}: {error}") from error


def connect(lake: Lake, read_only: bool = True, snapshot: int | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB session with the lake attached as the default database (planners' queries run as is)."""
    con = duckdb.connect()
    attach(con, lake, read_only=read_only, snapshot=snapshot)
    con.execute(f"USE {ALIAS}")
    return con


def has_warehouse(con: duckdb.DuckDBPyConnection, alias: str) -> bool:
    """Whether the attached lake already holds a published warehouse (its publish_log)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND table_name = 'publish_log'",
                            [alias]).fetchone()[0])


def publish(candidate: Path, lake: Lake, run_id: str | None = None) -> dict:
    """Copy the validated candidate's tables and planner views into the lake in one transaction.

    One commit = one DuckLake snapshot, so readers see the previous warehouse or this one, never a mix.
    Tables the candidate no longer has are dropped (they stay readable in earlier snapshots). The views
    of warehouse/views.sql are created in the lake; its table macros (``*_as_of``) are not, because
    DuckLake stores no macros: in the lake, ``AT (VERSION => n)`` answers "as of" questions.
    Returns the snapshot id and the tables written.
    """
    with duckdb.connect() as con:
        attach(con, lake)
        con.execute(f"ATTACH {literal(candidate)} AS candidate (READ_ONLY)")
        tables = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = "
                                                "'candidate' AND schema_name = 'main' ORDER BY 1").fetchall()]
        existing = [row[0] for row in con.execute("SELECT table_name FROM duckdb_tables() WHERE database_name = ? "
                                                  "AND schema_name = 'main'", [ALIAS]).fetchall()]
        con.execute(f"USE {ALIAS}")
        con.execute("BEGIN TRANSACTION")
        try:
            for table in sorted(set(existing) - set(tables)):
                con.execute(f"DROP TABLE {identifier(table)} CASCADE")
            for table in tables:
                con.execute(f"CREATE OR REPLACE TABLE {identifier(table)} AS "
                            f"SELECT * FROM candidate.main.{identifier(table)}")
            for statement in view_statements():
                con.execute(statement)
            con.execute(f"CALL {ALIAS}.set_commit_message('readiness', ?)", [f"publish of run {run_id or '-'}"])
            con.execute("COMMIT")
        except duckdb.Error as error:
            con.execute("ROLLBACK")
            raise LakeError(f"publish to the lake {lake.describe()} failed, nothing was committed: {error}") from error
        snapshot = con.execute("SELECT max(snapshot_id) FROM snapshots()").fetchone()[0]
        con.execute("USE memory")
        con.execute("DETACH candidate")
    return {"snapshot_id": snapshot, "tables": tables}


def view_statements() -> list[str]:
    """The CREATE VIEW statements of warehouse/views.sql as CREATE OR REPLACE (macros are left out)."""
    return [re.sub(r"^CREATE\s+VIEW", "CREATE OR REPLACE VIEW", sql, flags=re.IGNORECASE)
            for sql in paths.view_statements().values()]


def snapshots(lake: Lake) -> list[dict]:
    """The lake's snapshots, oldest first: id, time, what changed, commit message."""
    with connect(lake) as con:
        rows = con.execute("SELECT snapshot_id, snapshot_time, changes, commit_message FROM snapshots() "
                           "ORDER BY snapshot_id").fetchall()
    return [{"snapshot_id": i, "time": t, "changes": c, "message": m} for i, t, c, m in rows]
