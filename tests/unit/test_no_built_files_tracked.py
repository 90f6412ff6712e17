"""The warehouse is built, never committed: no DuckDB file (published, working or a staging asset's) in git."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(shutil.which("git") is None or not (ROOT / ".git").exists(), reason="not a git checkout")
def test_no_duckdb_file_is_tracked():
    tracked = subprocess.run(["git", "ls-files", "*.duckdb", "*.duckdb.wal"], cwd=ROOT, capture_output=True,
                             text=True, check=True).stdout.split()
    assert tracked == []


def test_gitignore_covers_every_working_file_location():
    """The staging assets' own files live in warehouse/<name>.staging/ (warehouse.paths.stage_dir_for)."""
    from warehouse.paths import DEFAULT_PUBLISHED, stage_dir_for, work_path_for

    ignored = subprocess.run(["git", "check-ignore", "--no-index", "-q",
                              str((stage_dir_for(work_path_for(DEFAULT_PUBLISHED)) / "x.duckdb").relative_to(ROOT))],
                             cwd=ROOT).returncode if shutil.which("git") else 0
    assert ignored == 0
