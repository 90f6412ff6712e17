"""Unit tests don't pay for importing Dagster: the root conftest imports it only when a job runs."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_conftest_does_not_import_dagster():
    code = "import sys, tests.conftest; print('dagster' in sys.modules, 'pipelines.definitions' in sys.modules)"
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["False", "False"]
