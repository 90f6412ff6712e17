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


def test_unit_test_modules_do_not_import_dagster():
    """tests/unit/ stays free of Dagster (and of the pipeline definitions): importing every unit test module,
    and with it everything they import at module level, must leave both out of ``sys.modules``."""
    modules = sorted(".".join(path.relative_to(ROOT).with_suffix("").parts)
                     for path in (ROOT / "tests" / "unit").rglob("test_*.py"))
    assert len(modules) > 20, modules  # the glob found the unit tests
    code = ("import importlib, sys\n"
            f"for name in {modules!r}: importlib.import_module(name)\n"
            "print(sorted(m for m in ('dagster', 'pipelines.definitions') if m in sys.modules))")
    shown = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.split() == ["[]"], f"a unit test module imports {shown.stdout.strip()}"


def test_not_slow_skips_collecting_the_integration_tests():
    """``-m "not slow"`` must not even import tests/integration/ (Dagster, the definitions); any expression
    that could still select a slow test must collect it."""
    from tests.conftest import deselects_slow

    for expression in ("not slow", "not slow and not browser", "(not slow)", "not (slow or browser)"):
        assert deselects_slow(expression), expression
    for expression in ("", "slow", "browser", "not browser", "slow or browser", "not slow or browser",
                       "not (slow and browser)"):
        assert not deselects_slow(expression), expression


def test_outputs_without_a_folder_never_go_to_the_repository_data():
    """A run whose settings name no exports or reports folder writes under a temporary one (pytest_configure)."""
    from warehouse.paths import exports_dir, reports_dir

    for folder in (exports_dir(), reports_dir()):
        assert ROOT / "data" not in folder.resolve().parents, folder


def test_long_files_exist_and_come_first():
    """Every name in LONG_FILES (handed out first under pytest-xdist) is a test file under tests/integration/,
    and the ranking puts them before any other file, in the listed order."""
    from tests.conftest import LONG_FILES, long_file_rank

    present = {path.name for path in (ROOT / "tests" / "integration").glob("test_*.py")}
    assert set(LONG_FILES) <= present, set(LONG_FILES) - present
    ranks = [long_file_rank(name) for name in (*LONG_FILES, "test_registry.py", "test_frames.py")]
    assert ranks == sorted(ranks) and ranks[-2] == ranks[-1] == len(LONG_FILES)
