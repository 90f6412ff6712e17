"""Shared fixtures: the committed snapshot, the full publisher files (when ../shared is there), pipeline runs."""

from __future__ import annotations

import fcntl
import itertools
import json
import os
import re
import shutil
import socket
import tempfile
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sources.registry import SNAPSHOT_DIR
from tests.netguard import sitecustomize as netguard

pd.set_option("mode.copy_on_write", True)  # tests run pandas as the pipelines do (why: pipelines/__init__.py)

# Dagster and the pipeline definitions are imported inside the helpers below, not here: unit tests
# that never run the job then don't pay the import (several seconds on a busy machine).

FULL_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def full_data() -> Path:
    """The Germany-wide publisher files; tests that need them skip on a clone without ../shared."""
    if not FULL_DATA.is_dir():
        pytest.skip("../shared/data not present")
    return FULL_DATA


def run_refresh(tmp: Path, source_dir: Path | None = None, raise_on_error: bool = True,
                assets: list[str] | None = None):
    """Run the refresh job into ``tmp`` (warehouse and raw landing), from the snapshot or a directory (``assets``:
    only these asset keys of it, as in ``run_job``)."""
    return run_job(refresh_settings(tmp, source_dir), raise_on_error, assets)


RAM_FOLDER = Path("/dev/shm")
_ram_homes: list[Path] = []  # removed at the end of the session (pytest_sessionfinish)


def instance_home(path: Path) -> Path:
    """``path`` made a folder for a throwaway Dagster instance (DAGSTER_HOME, ``local_temp``), its files in RAM
    where the machine has a tmpfs at /dev/shm: ``path`` is then a symlink to a folder there, so the test and
    every process it starts see the same paths. Why: the instance's SQLite storage commits each event with an
    fdatasync; one cold incremental refresh of the snapshot made 6,620 of them, 11.7 s of waiting on this
    machine's disk (strace -f -w -c, load 5-8), which tmpfs skips. Nothing a test asserts depends on the
    instance surviving a power cut. Existing folders and links are left as they are."""
    if path.exists() or path.is_symlink():
        return path
    if RAM_FOLDER.is_dir() and os.access(RAM_FOLDER, os.W_OK):
        target = Path(tempfile.mkdtemp(prefix="readiness-tests-home-", dir=RAM_FOLDER))
        _ram_homes.append(target)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.symlink_to(target, target_is_directory=True)
    else:
        path.mkdir(parents=True)
    return path


def pytest_sessionfinish(session, exitstatus):
    """The instance folders in RAM (``instance_home``) go with the session (each xdist worker removes its own)."""
    for target in _ram_homes:
        shutil.rmtree(target, ignore_errors=True)


def run_incremental(tmp: Path, source_dir: Path | None = None):
    """The incremental refresh (pipelines/incremental.py) into ``tmp`` on a persistent instance in
    ``tmp/dagster_home`` (``instance_home``): observe, then run only what is stale; returns (plan, result or None)."""
    from dagster import DagsterInstance

    from pipelines.definitions import defs
    from pipelines.incremental import refresh

    instance_home(tmp / "dagster_home")
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
        report_scope="pilots",  # the reference group's pages are built by tests/integration/test_reports.py
    )


def run_job(settings: ReadinessSettings, raise_on_error: bool = True, assets: list[str] | None = None):
    """Execute the refresh job in process with ``settings`` and an ephemeral Dagster instance; ``assets``:
    only these asset keys of it, as the UI writes them (``raw/gemeindeverz``; a test of one step need not pay
    for the whole job)."""
    from dagster import AssetKey, DagsterInstance

    from pipelines.definitions import defs

    job = defs.resolve_job_def("refresh_warehouse")
    if assets:  # a subset job, as pipelines/incremental.py runs one (asset_selection= refuses our resources)
        job = job.get_subset(asset_selection={AssetKey.from_user_string(key) for key in assets})  # "raw/gemeindeverz"
    return job.execute_in_process(resources={"settings": settings}, instance=DagsterInstance.ephemeral(),
                                  raise_on_error=raise_on_error)


def downstream_of(*keys: str) -> list[str]:
    """``keys`` and every asset of the refresh job downstream of them (UI spelling, ``raw/bkg_vg``): the part
    of the job that a failure in ``keys`` decides. A failing step skips exactly these, the publish among them;
    the rest of the job runs beside them and cannot change that, so a failure test need not pay for it."""
    return closure(keys, "downstream")


def upstream_of(*keys: str) -> list[str]:
    """``keys`` and every asset of the refresh job they are built from. ``upstream_of("out/warehouse")`` is the
    job up to its publish, without the town pages and the planner exports: both only read the published file
    and write their own folders, so a run whose pages and exports no test reads leaves them out (a third of a
    snapshot run's CPU: 15.4 → 10.9 CPU s, 2026-12-02 19:03 UTC, load 3-4)."""
    return closure(keys, "upstream")


def closure(keys: tuple[str, ...], direction: str) -> list[str]:
    """The materialisable assets of the refresh job ``direction`` ("downstream" or "upstream") of ``keys``,
    ``keys`` among them, in UI spelling."""
    from dagster import AssetKey, AssetSelection

    from pipelines.definitions import defs

    graph = defs.resolve_asset_graph()
    start = AssetSelection.assets(*(AssetKey.from_user_string(key) for key in keys))
    selected = getattr(start, direction)().resolve(graph)
    return sorted(key.to_user_string() for key in selected if graph.get(key).is_materializable)


def skipped_steps(result) -> set[str]:
    """The steps of a run's job that never started: those downstream of a failed step (Dagster logs no event
    for them, not even STEP_SKIPPED, so they are the job's nodes minus the steps that started)."""
    started = {event.step_key for event in result.all_events if event.event_type_value == "STEP_START"}
    return set(result.job_def.graph.node_dict) - started


@pytest.fixture(scope="session")
def snapshot_warehouse(tmp_path_factory) -> Path:
    """A warehouse built once per test session from the committed snapshot; tests only read it (or copy it).
    The job up to its publish (``upstream_of``): no test reads this run's pages or exports, the tests of those
    build their own from this warehouse.

    Under pytest-xdist the workers share one build: the first to take the lock builds it into the
    session's common temporary folder, the others wait and read the same file.
    """
    return built_once(tmp_path_factory, "snapshot_run",
                      lambda tmp: run_refresh(tmp, assets=upstream_of("out/warehouse")).success) / "readiness.duckdb"


def built_once(tmp_path_factory, name: str, build) -> Path:
    """A folder ``name`` filled once per test session by ``build(folder)`` (which returns True on success).

    Under pytest-xdist the workers share it: the first to take the lock builds it into the session's common
    temporary folder, the others wait and use the same folder (a session fixture is otherwise built once per
    worker: the whole job again)."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        tmp = tmp_path_factory.mktemp(name)
        assert build(tmp)
        return tmp
    shared = tmp_path_factory.getbasetemp().parent  # pytest-N/, the parent of every worker's popen-gwK/
    tmp, done = shared / name, shared / f"{name}.done"
    with open(shared / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes, also if the build fails
        if not done.exists():
            shutil.rmtree(tmp, ignore_errors=True)  # a build that failed in another worker is redone
            tmp.mkdir()
            assert build(tmp)
            done.touch()
    return tmp


@pytest.fixture(scope="session")
def example_warehouse(tmp_path_factory) -> Path:
    """Built once per session (under xdist once for all workers: ``built_once``): the snapshot plus the EXAMPLE
    local-input files for Mölln (tests/fixtures/local-inputs) and constructed Pendleratlas files
    (tests/publisher_fixtures.py), in directory mode, up to the publish (``upstream_of``: the tests of Mölln's
    page build it from this warehouse). Never the default demo: the snapshot itself holds no local inputs."""
    from tests.publisher_fixtures import write_pendleratlas_folder

    def build(tmp: Path) -> bool:
        source = tmp / "source"
        shutil.copytree(SNAPSHOT_DIR, source)
        shutil.copytree(Path(__file__).parent / "fixtures" / "local-inputs", source / "local-inputs")
        write_pendleratlas_folder(source)
        return run_refresh(tmp, source, assets=upstream_of("out/warehouse")).success

    return built_once(tmp_path_factory, "example_run", build) / "readiness.duckdb"


@pytest.fixture
def warehouse(snapshot_warehouse):
    con = duckdb.connect(str(snapshot_warehouse), read_only=True)
    yield con
    con.close()


@pytest.fixture
def published_copy(snapshot_warehouse, tmp_path) -> Path:
    """A private copy of the session's snapshot warehouse directory (published file, working database, raw
    landing): the last good publish for a test that refreshes or breaks it, without running the job again."""
    target = tmp_path / "warehouse"
    shutil.copytree(snapshot_warehouse.parent, target, ignore=shutil.ignore_patterns("exports", "reports"))
    return target / snapshot_warehouse.name


@pytest.fixture
def published_without_gap(snapshot_warehouse, tmp_path) -> Path:
    """A copy of the session's published file without its ``coworking_gap`` relation: a report build on it
    fails inside its work (reports.data.load refuses a file without a declared table: OutdatedWarehouse), the way a
    broken published file would."""
    broken = tmp_path / "readiness.duckdb"
    shutil.copyfile(snapshot_warehouse, broken)
    with duckdb.connect(str(broken)) as con:
        kind = con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = 'coworking_gap'"
                           ).fetchone()[0]
        con.execute(f"DROP {'VIEW' if kind == 'VIEW' else 'TABLE'} coworking_gap")
    return broken


QUOTED_FOLDER = "Kreis o'Brien; \"quoted\""  # a folder name that breaks SQL built by pasting paths in


@dataclass(frozen=True)
class RunOutcome:
    """What the tests read of a run that another pytest-xdist worker may have made (a Dagster result does not
    cross processes): whether it succeeded and the asset keys it materialised (UI spelling, ``stg/broadband``)."""
    success: bool
    materialized: frozenset[str]

    @classmethod
    def of(cls, result) -> RunOutcome:
        return cls(result.success, frozenset(event.asset_key.to_user_string()
                                             for event in result.get_asset_materialization_events()))


@pytest.fixture(scope="session")
def snapshot_rerun(snapshot_warehouse, tmp_path_factory):
    """The whole job (its pages and exports too) once more, from the snapshot as the session's run, over a copy of
    the session's warehouse folder (published file, working database, raw landing): (the rerun's published file,
    its ``RunOutcome``).
    The session's warehouse is the state before it. Shared by the tests that assert what an identical refresh
    leaves (tests/integration/test_pipeline.py, test_history.py) and by the SQL-quoting test
    (test_sql_quoting_run.py): the folder's name carries a quote, a semicolon and double quotes, so every path
    the job attaches, copies or exports to (working, staging, previous and candidate files, exports) carries
    them. One run instead of one each, also under pytest-xdist (``built_once``: those three files often land
    in different workers, which made the run twice); tests only read the folder (copy it to write)."""
    def build(tmp: Path) -> bool:
        target = tmp / QUOTED_FOLDER
        shutil.copytree(snapshot_warehouse.parent, target, ignore=shutil.ignore_patterns("exports", "reports"))
        outcome = RunOutcome.of(run_refresh(target))
        (tmp / "outcome.json").write_text(json.dumps({"success": outcome.success,
                                                      "materialized": sorted(outcome.materialized)}))
        return outcome.success

    folder = built_once(tmp_path_factory, "snapshot_rerun", build)
    recorded = json.loads((folder / "outcome.json").read_text())
    return (folder / QUOTED_FOLDER / snapshot_warehouse.name,
            RunOutcome(recorded["success"], frozenset(recorded["materialized"])))


@pytest.fixture
def snapshot_copy(tmp_path) -> Path:
    """A writable copy of the snapshot, for tests that corrupt a publisher file."""
    target = tmp_path / "source"
    shutil.copytree(SNAPSHOT_DIR, target)
    return target


@pytest.fixture(autouse=True)
def loopback_only(monkeypatch):
    """No test may reach a non-loopback address: connecting (``connect``, ``connect_ex``) or sending a datagram
    (``sendto``) anywhere else fails loudly. In this process per test; the Python processes a test starts (the
    CLI, ``dg dev``, its runs) install the same guard at start-up (tests/netguard/sitecustomize.py,
    ``pytest_configure``). Chromium and PostgreSQL are not Python: they are given loopback addresses only."""
    for method in netguard.METHODS:
        monkeypatch.setattr(socket.socket, method, netguard.guarded(getattr(socket.socket, method)))


INTEGRATION_DIR = Path(__file__).resolve().parent / "integration"
NETGUARD_DIR = Path(__file__).resolve().parent / "netguard"


def pytest_configure(config):
    """Exports and town pages of a run whose settings (or a subprocess's environment) name no folder go to a
    temporary one, never into the repository's data/ (the defaults; live runs and `readiness demo` in the tests
    wrote there). Set before collection imports pipelines.resources, whose defaults read the environment.

    The refresh runs in one process unless a test chooses the step processes (tests/integration/test_parallel.py):
    the tests' directory-mode refreshes read copies of the small snapshot, on which each step process's start-up
    (~0.27 s) would double the run, not the Germany-wide files that mode defaults to step processes for
    (pipelines/executors.py)."""
    base = Path(tempfile.mkdtemp(prefix="readiness-tests-"))
    os.environ.setdefault("READINESS_EXPORTS_DIR", str(base / "exports"))
    os.environ.setdefault("READINESS_REPORTS_DIR", str(base / "reports"))
    os.environ.setdefault("READINESS_EXECUTOR", "in_process")
    # every Python child that inherits the environment guards its sockets too (loopback_only)
    path = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != str(NETGUARD_DIR)]
    os.environ["PYTHONPATH"] = os.pathsep.join([str(NETGUARD_DIR), *path])
    os.environ[netguard.LOOPBACK_ONLY_ENV] = "1"


def pytest_ignore_collect(collection_path: Path, config) -> bool | None:
    """Skip tests/integration/ entirely when the mark expression deselects every ``slow`` test
    (``-m "not slow"``): deselection happens only after collection, and importing those modules (Dagster,
    the definitions, the asset graph) cost about half of the unit run's time."""
    if collection_path.resolve() == INTEGRATION_DIR and deselects_slow(config.option.markexpr):
        return True
    return None


def deselects_slow(markexpr: str) -> bool:
    """True when ``markexpr`` is false for a test marked ``slow`` whatever other marks it carries (tried for
    every combination of the other names in it, so ``-m "slow or x"`` or ``-m "not (slow and x)"`` keep it)."""
    if not markexpr:
        return False
    from _pytest.mark.expression import Expression

    others = sorted(set(re.findall(r"[A-Za-z_]\w*", markexpr)) - {"and", "or", "not", "slow"})
    if len(others) > 8:
        return False  # not worth enumerating: collect everything and let pytest deselect
    expression = Expression.compile(markexpr)
    return not any(expression.evaluate(lambda name, /, **kwargs: name == "slow" or name in chosen)
                   for n in range(len(others) + 1) for chosen in itertools.combinations(others, n))


def pytest_collection_modifyitems(items):
    """Mark ``slow`` everything under tests/integration/ (the job, the snapshot warehouse, servers, browsers,
    Dagster itself), and elsewhere every test that runs the refresh job or reads the Germany-wide files, so
    ``-m "not slow"`` runs the unit tests only. The second rule keeps tests that other branches still add at
    the root of tests/ right until they are moved."""
    for item in items:
        if is_slow(item):
            item.add_marker(pytest.mark.slow)
    if os.environ.get("PYTEST_XDIST_WORKER"):
        items.sort(key=lambda item: long_file_rank(Path(str(item.path)).name))  # stable: file order kept otherwise


# The integration files that take longest, longest first (sum of their tests' setup, call and teardown inside the
# whole suite on two workers, 2026-12-02 19:14-19:29 UTC, load 5-6.5: queue 194 s, refresh_safety 189, history 165,
# live 143, ui (then two files) 106, postgres 93, cli 83, parallel 81, report_pages 77, incremental 74,
# bad_input_runs 72, pipeline 54, lake 43, reports 41, local_inputs_run 36). Under pytest-xdist with
# --dist loadfile a worker is handed the next file whenever it holds fewer than two, in collection order
# (scripts/test.sh turns off xdist's own order, most tests first, with --no-loadscope-reorder): a long file
# handed out last keeps one worker busy while the other idles, so they go first. A stale list only changes the
# order, never which tests run.
LONG_FILES = ("test_refresh_safety.py", "test_queue.py", "test_history.py", "test_live.py", "test_ui.py",
              "test_postgres_instance.py", "test_cli.py", "test_parallel.py",
              "test_report_pages.py", "test_incremental.py", "test_bad_input_runs.py", "test_pipeline.py",
              "test_lake.py", "test_reports.py", "test_local_inputs_run.py")


def long_file_rank(name: str) -> int:
    """Position of a test file in LONG_FILES; every other file after them."""
    return LONG_FILES.index(name) if name in LONG_FILES else len(LONG_FILES)


def is_slow(item) -> bool:
    """True for an integration test, a test using the session warehouse or the Germany-wide files, or a
    test that calls ``run_refresh``/``run_job`` (imported at module level or inside the test)."""
    if INTEGRATION_DIR in Path(str(item.path)).resolve().parents:
        return True
    if {"snapshot_warehouse", "full_data"} & set(getattr(item, "fixturenames", ())):
        return True
    module = getattr(item, "module", None)
    if module is not None and any(getattr(module, name, None) in (run_job, run_refresh)
                                  for name in ("run_job", "run_refresh")):
        return True
    function = getattr(item, "function", None)
    code = getattr(function, "__code__", None)
    # a lazy ``from tests.conftest import run_refresh`` inside the test shows as a name it uses
    return code is not None and bool({"run_refresh", "run_job"} & set(code.co_names))
