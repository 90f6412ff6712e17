"""Shared fixtures: the committed snapshot, the full publisher files (when ../shared is there), pipeline runs."""

from __future__ import annotations

import ipaddress
import shutil
import socket
from pathlib import Path

import duckdb
import pytest

from sources.registry import SNAPSHOT_DIR

# Dagster and the pipeline definitions are imported inside the helpers below, not here: unit tests
# that never run the job then don't pay the import (several seconds on a busy machine).

FULL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def full_data() -> Path:
    """The Germany-wide publisher files; tests that need them skip on a clone without ../shared."""
    if not FULL_DATA.is_dir():
        pytest.skip("../shared/data not present")
    return FULL_DATA


def run_refresh(tmp: Path, source_dir: Path | None = None, raise_on_error: bool = True):
    """Run the refresh job into ``tmp`` (warehouse and raw landing), from the snapshot or a directory."""
    return run_job(refresh_settings(tmp, source_dir), raise_on_error)


def run_incremental(tmp: Path, source_dir: Path | None = None):
    """The incremental refresh (pipelines/incremental.py) into ``tmp`` on a persistent instance in
    ``tmp/dagster_home``: observe, then run only what is stale; returns (plan, result or None)."""
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from pipelines.incremental import refresh

    (tmp / "dagster_home").mkdir(exist_ok=True)
    with DagsterInstance.local_temp(str(tmp / "dagster_home")) as instance:
        return refresh(instance, defs, refresh_settings(tmp, source_dir))


def refresh_settings(tmp: Path, source_dir: Path | None = None):
    """Settings writing into ``tmp``, reading the snapshot or ``source_dir``; pilot pages only."""
    from pipelines.resources import ReadinessSettings

    return ReadinessSettings(
        source_mode="directory" if source_dir else "snapshot",
        source_dir=str(source_dir or ""),
        warehouse_path=str(tmp / "readiness.duckdb"),
        raw_dir=str(tmp / "raw"),
        exports_dir=str(tmp / "exports"),
        reports_dir=str(tmp / "reports"),
        report_scope="pilots",  # the reference group's pages are built by tests/test_reports.py
    )


def run_job(settings: ReadinessSettings, raise_on_error: bool = True):
    """Execute the refresh job in process with ``settings`` and an ephemeral Dagster instance."""
    from dagster import DagsterInstance

    from pipelines.definitions import defs

    job = defs.resolve_job_def("refresh_warehouse")
    return job.execute_in_process(resources={"settings": settings}, instance=DagsterInstance.ephemeral(),
                                  raise_on_error=raise_on_error)


@pytest.fixture(scope="session")
def snapshot_warehouse(tmp_path_factory) -> Path:
    """A warehouse built once per test session from the committed snapshot."""
    tmp = tmp_path_factory.mktemp("snapshot_run")
    result = run_refresh(tmp)
    assert result.success
    return tmp / "readiness.duckdb"


@pytest.fixture
def warehouse(snapshot_warehouse):
    con = duckdb.connect(str(snapshot_warehouse), read_only=True)
    yield con
    con.close()


@pytest.fixture
def snapshot_copy(tmp_path) -> Path:
    """A writable copy of the snapshot, for tests that corrupt a publisher file."""
    target = tmp_path / "source"
    shutil.copytree(SNAPSHOT_DIR, target)
    return target


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """No test may reach a non-loopback address: connecting anywhere else fails loudly."""
    real_connect = socket.socket.connect

    def guarded_connect(sock, address):
        host = address[0] if isinstance(address, tuple) else address
        if sock.family in (socket.AF_INET, socket.AF_INET6) and not ipaddress.ip_address(host).is_loopback:
            raise AssertionError(f"test tried to connect to non-loopback address {address!r}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)


def pytest_collection_modifyitems(items):
    """Mark ``slow`` every test that runs the refresh job (``run_job``/``run_refresh``, or the session's
    ``snapshot_warehouse``) or reads the Germany-wide files, so ``-m "not slow"`` runs the unit tests only."""
    heavy_fixtures = {"snapshot_warehouse", "full_data"}
    for item in items:
        module = getattr(item, "module", None)
        runs_job = module is not None and any(getattr(module, name, None) in (run_job, run_refresh)
                                              for name in ("run_job", "run_refresh"))
        if runs_job or heavy_fixtures & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)
