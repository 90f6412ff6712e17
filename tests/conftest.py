"""Shared fixtures: the committed snapshot, the full publisher files (when ../shared is there), pipeline runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dagster import DagsterInstance

from pipelines.definitions import defs
from pipelines.resources import ReadinessSettings
from sources.registry import SNAPSHOT_DIR

FULL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def full_data() -> Path:
    """The Germany-wide publisher files; tests that need them skip on a clone without ../shared."""
    if not FULL_DATA.is_dir():
        pytest.skip("../shared/data not present")
    return FULL_DATA


def run_refresh(tmp: Path, source_dir: Path | None = None, raise_on_error: bool = True):
    """Run the refresh job into ``tmp`` (warehouse and raw landing), from the snapshot or a directory."""
    settings = ReadinessSettings(
        source_mode="directory" if source_dir else "snapshot",
        source_dir=str(source_dir or ""),
        warehouse_path=str(tmp / "readiness.duckdb"),
        raw_dir=str(tmp / "raw"),
    )
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
