"""Settings of a run, read from the environment with defaults for the offline demo."""


import os
from contextlib import contextmanager
from pathlib import Path
from typing import Literal, get_args

from dagster import ConfigurableResource, EnvVar

from sources.http import HttpSettings
from sources.registry import SNAPSHOT_DIR
import warehouse.paths
from warehouse.paths import PROJECT_ROOT, candidate_path_for, work_path_for
from warehouse.workdb import connect_work

SourceMode = Literal["snapshot", "directory", "live"]
ReportScope = Literal["reference_group", "pilots", "all"]
MODES = get_args(SourceMode)

# Text settings of the code location given as EnvVar: Dagster resolves them when a run starts, and the
# UI (Deployment → Resources) shows which environment variable sets each one.
ENV_TEXT = {"source_dir": "READINESS_SOURCE_DIR", "warehouse_path": "READINESS_WAREHOUSE",
            "raw_dir": "READINESS_RAW_DIR", "live_dir": "READINESS_LIVE_DIR", "exports_dir": "READINESS_EXPORTS_DIR",
            "reports_dir": "READINESS_REPORTS_DIR", "live_origin": "READINESS_LIVE_ORIGIN",
            "live_skip": "READINESS_LIVE_SKIP", "lake_catalog": "READINESS_LAKE_CATALOG",
            "lake_data_path": "READINESS_LAKE_DATA_PATH"}
# Choices are typed (Literal): EnvVar values are not validated against them, so they are read and checked here.
ENV_CHOICES = {"source_mode": ("READINESS_SOURCE_MODE", SourceMode),
               "report_scope": ("READINESS_REPORT_SCOPE", ReportScope)}


class ReadinessSettings(ConfigurableResource):
    """Where sources are read from and where the warehouse is written.

    Environment variables (all optional):
      READINESS_SOURCE_MODE  snapshot (default) | directory | live
      READINESS_SOURCE_DIR   folder of publisher files for directory mode (e.g. ../shared/data)
      READINESS_WAREHOUSE    published DuckDB file (default warehouse/readiness.duckdb)
      READINESS_RAW_DIR      raw landing (default data/raw)
      READINESS_LIVE_DIR     live mode: mirror of the latest downloads (default data/live)
      READINESS_LIVE_ORIGIN  live mode: send every request to this origin instead of the publisher,
                             with the publisher's host as first path segment (test server, caching proxy)
      READINESS_LIVE_ORIGIN_CREDENTIALS 1 = send the GENESIS credentials to a READINESS_LIVE_ORIGIN that is not
                             loopback (only a proxy you run and trust with the account); without it such a
                             run fails regionalstatistik as without an account (READINESS_LIVE_SKIP); a
                             loopback origin (the tests' stand-in) always gets them
      READINESS_LIVE_SKIP    live mode: comma-separated optional sources not to fetch (e.g. regionalstatistik
                             without a GENESIS account); their files already in the mirror are used
      READINESS_EXPORTS_DIR  Parquet/CSV/GeoPackage exports of the planner views (default data/exports)
      READINESS_REPORTS_DIR  town reports (default data/reports)
      READINESS_REPORT_SCOPE reference_group (default: the small towns and the pilot towns) | pilots | all
      READINESS_ALLOW_SHRINK 1 = publish even when a table lost more than 10 % of its rows or a source its newest
                             published release (a deliberate change of scope, e.g. from the full data back to the
                             snapshot); part of the publish assets' code version (pipelines/versions.py)
      READINESS_ALLOWLIST    another allow-list file instead of allowlist.yaml (sources/contracts.py); its content is
                             part of the publish assets' code version
      READINESS_LAKE_CATALOG also publish to a DuckLake (warehouse/lake.py, docs/deploy.md): a DuckDB catalog file
                             or 'postgres:<libpq connection string>' (password: PGPASSWORD or ~/.pgpass); unset = the
                             single DuckDB file only (the default)
      READINESS_LAKE_DATA_PATH the lake's Parquet folder (required with READINESS_LAKE_CATALOG)
      READINESS_HTTP_READ_TIMEOUT, READINESS_HTTP_BACKOFF_SECONDS, READINESS_HTTP_MAX_ATTEMPTS,
      READINESS_HTTP_MAX_SECONDS  live downloads (docs/sources.md, the HTTP client)
      READINESS_GENESIS_USERNAME / READINESS_GENESIS_PASSWORD or READINESS_GENESIS_TOKEN
                             credentials for the Regionaldatenbank (read only when it is fetched)
    """

    source_mode: SourceMode = os.environ.get("READINESS_SOURCE_MODE", "snapshot")
    source_dir: str = os.environ.get("READINESS_SOURCE_DIR", "")
    warehouse_path: str = str(warehouse.paths.published_path())
    raw_dir: str = os.environ.get("READINESS_RAW_DIR", str(PROJECT_ROOT / "data" / "raw"))
    live_dir: str = os.environ.get("READINESS_LIVE_DIR", str(PROJECT_ROOT / "data" / "live"))
    exports_dir: str = str(warehouse.paths.exports_dir())
    reports_dir: str = str(warehouse.paths.reports_dir())
    report_scope: ReportScope = os.environ.get("READINESS_REPORT_SCOPE", "reference_group")
    allow_shrink: bool = os.environ.get("READINESS_ALLOW_SHRINK", "") == "1"
    live_origin: str = os.environ.get("READINESS_LIVE_ORIGIN", "")
    live_skip: str = os.environ.get("READINESS_LIVE_SKIP", "")
    lake_catalog: str = os.environ.get("READINESS_LAKE_CATALOG", "")
    lake_data_path: str = os.environ.get("READINESS_LAKE_DATA_PATH", "")
    http_read_timeout: float = float(os.environ.get("READINESS_HTTP_READ_TIMEOUT", "300"))
    http_backoff_seconds: float = float(os.environ.get("READINESS_HTTP_BACKOFF_SECONDS", "2"))
    http_max_attempts: int = int(os.environ.get("READINESS_HTTP_MAX_ATTEMPTS", "5"))
    http_max_seconds: float = float(os.environ.get("READINESS_HTTP_MAX_SECONDS", "1800"))

    @classmethod
    def from_environment(cls) -> "ReadinessSettings":
        """The code location's settings: text settings as EnvVar where set, choices checked here; numbers and
        flags keep the class defaults, which are read from the environment.

        A wrong choice fails when the definitions load, naming the variable and the allowed values.
        """
        values: dict = {field: EnvVar(var) for field, var in ENV_TEXT.items() if os.environ.get(var)}
        for field, (var, choices) in ENV_CHOICES.items():
            value = os.environ.get(var)
            if value:
                if value not in get_args(choices):
                    raise ValueError(f"{var}={value!r} must be one of {get_args(choices)}")
                values[field] = value
        return cls(**values)

    def source_root(self) -> Path:
        """The directory of publisher files for this run's mode."""
        if self.source_mode not in MODES:
            raise ValueError(f"READINESS_SOURCE_MODE={self.source_mode!r} must be one of {MODES}")
        if self.source_mode == "snapshot":
            return SNAPSHOT_DIR
        if self.source_mode == "live":
            return Path(self.live_dir).expanduser().resolve()
        root = Path(self.source_dir).expanduser().resolve()
        if not root.is_dir():
            raise FileNotFoundError(f"READINESS_SOURCE_DIR={self.source_dir!r} is not a directory")
        return root

    def skips(self, spec) -> bool:
        """Whether live mode leaves this source out; only optional sources may be left out."""
        skipped = spec.source_id in {s.strip() for s in self.live_skip.split(",") if s.strip()}
        if skipped and spec.required:
            raise ValueError(f"READINESS_LIVE_SKIP names {spec.source_id}, a required source: it cannot be skipped")
        return skipped

    def http_settings(self) -> HttpSettings:
        return HttpSettings(read_timeout=self.http_read_timeout, backoff_seconds=self.http_backoff_seconds,
                            max_attempts=self.http_max_attempts, max_seconds=self.http_max_seconds)

    @property
    def published(self) -> Path:
        return Path(self.warehouse_path).expanduser().resolve()

    @property
    def candidate(self) -> Path:
        return candidate_path_for(self.published)

    @property
    def exports(self) -> Path:
        return Path(self.exports_dir).expanduser().resolve()

    @property
    def reports(self) -> Path:
        return Path(self.reports_dir).expanduser().resolve()

    @property
    def lake(self):
        """The DuckLake to publish to (warehouse/lake.py), None for the single-file default."""
        from warehouse.lake import Lake

        return Lake.from_settings(self.lake_catalog, self.lake_data_path)

    @property
    def work_db(self) -> Path:
        return work_path_for(self.published)

    @contextmanager
    def yield_for_execution(self, context):
        """The whole run holds the warehouse's writer lock (warehouse/lock.py): one writer, whoever started it."""
        from pipelines.run_guard import hold_warehouse

        self.lake  # a misconfigured lake (READINESS_LAKE_*) fails the run at its start, not after staging
        with hold_warehouse(self.published, context):
            yield self

    @contextmanager
    def work(self, read_only: bool = False, own: str | None = None):
        """Connection to the working database; a staging asset passes ``own`` (its name) to write its own file.

        DuckDB allows one writing process per file: staging assets of independent sources write their own
        files side by side (multiprocess executor), the other steps take turns on the shared one.
        """
        con = connect_work(self.work_db, read_only=read_only, own=own)
        try:
            yield con
        finally:
            con.close()
