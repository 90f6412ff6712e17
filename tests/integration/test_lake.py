"""Publishing to a DuckLake (issue 15.4): catalog in a real PostgreSQL server this test starts, or in a DuckDB file.

The PostgreSQL server is the fixture of tests/integration/test_postgres_instance.py (initdb into a temporary folder, 127.0.0.1).
The extensions load from the ``lake`` extra's wheels; tests/conftest.py forbids non-loopback connections, so
every test here also shows that loading them needs no network.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from tests.integration.test_postgres_instance import _connect, postgres_server  # noqa: F401 (the fixture)
from warehouse import lake as lakes
from warehouse.lake import Lake, LakeError

ROOT = Path(__file__).resolve().parents[2]
READER = """
import json, sys, time
from pathlib import Path
from warehouse import lake as lakes
lake = lakes.Lake(sys.argv[1], sys.argv[2])
stop = Path(sys.argv[3])
con = lakes.connect(lake)
seen = []
while True:
    last = stop.exists()  # one more read after the stop signal: that one must see the new warehouse
    con.execute("BEGIN TRANSACTION")
    state = [con.execute("SELECT count(*) FROM publish_log").fetchone()[0],
             con.execute("SELECT count(*) FROM peer_towns").fetchone()[0],
             con.execute("SELECT count(*) FROM latest_ranking").fetchone()[0]]
    con.execute("COMMIT")
    seen.append(state)
    print(json.dumps(state), flush=True)
    if last:
        break
    time.sleep(0.05)
"""


@pytest.fixture
def pg_lake(postgres_server, tmp_path, monkeypatch):  # noqa: F811 (fixture name)
    """A fresh DuckLake catalog database in the test's PostgreSQL server; the password only via PGPASSWORD."""
    name = f"lake_{int(time.time() * 1000)}"
    con = _connect(postgres_server, "postgres")
    con.autocommit = True
    con.cursor().execute(f"CREATE DATABASE {name}")
    con.close()
    monkeypatch.setenv("PGPASSWORD", postgres_server["DAGSTER_PG_PASSWORD"])
    catalog = (f"postgres:dbname={name} host=127.0.0.1 port={postgres_server['DAGSTER_PG_PORT']} "
               f"user={postgres_server['DAGSTER_PG_USERNAME']}")
    return Lake.from_settings(catalog, str(tmp_path / "lake-data"))


@pytest.fixture
def file_lake(tmp_path):
    return Lake.from_settings(str(tmp_path / "catalog.ducklake"), str(tmp_path / "lake-data"))


def second_candidate(first: Path, tmp: Path) -> Path:
    """The next warehouse: a copy of ``first`` with one more publish and fewer peer-town rows."""
    copy = tmp / "second.duckdb"
    shutil.copy(first, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("INSERT INTO publish_log SELECT published_at + INTERVAL 1 DAY, 'run-2', mode, method_version, "
                    "'{}' FROM publish_log ORDER BY published_at DESC LIMIT 1")
        con.execute("DELETE FROM peer_towns WHERE rowid % 2 = 0")
    return copy


def counts(path_or_con, *tables: str) -> list[int]:
    con = duckdb.connect(str(path_or_con), read_only=True) if isinstance(path_or_con, Path) else path_or_con
    try:
        return [con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in tables]
    finally:
        if isinstance(path_or_con, Path):
            con.close()


# ---- fast: configuration -----------------------------------------------------------------------------

def test_no_catalog_means_the_single_file_and_a_catalog_needs_a_data_path(tmp_path):
    assert Lake.from_settings("", "") is None and Lake.from_settings("  ", str(tmp_path)) is None
    with pytest.raises(LakeError, match="READINESS_LAKE_DATA_PATH is not set"):
        Lake.from_settings(str(tmp_path / "c.ducklake"), "")
    with pytest.raises(LakeError, match="must not contain a password.*PGPASSWORD"):
        Lake.from_settings("postgres:dbname=lake password=secret", str(tmp_path))


def test_the_settings_resource_reads_the_lake_from_the_environment(monkeypatch, tmp_path):
    from dagster import EnvVar

    from pipelines.resources import ReadinessSettings

    assert ReadinessSettings(warehouse_path=str(tmp_path / "w.duckdb")).lake is None  # default: single file
    monkeypatch.setenv("READINESS_LAKE_CATALOG", str(tmp_path / "catalog.ducklake"))
    monkeypatch.setenv("READINESS_LAKE_DATA_PATH", str(tmp_path / "data"))
    settings = ReadinessSettings.from_environment()
    assert settings.lake_catalog == EnvVar("READINESS_LAKE_CATALOG")  # the UI shows which variable sets it
    resolved = ReadinessSettings(lake_catalog=settings.lake_catalog.get_value(),
                                 lake_data_path=settings.lake_data_path.get_value())  # as Dagster resolves them
    assert resolved.lake == Lake(str(tmp_path / "catalog.ducklake"), str(tmp_path / "data") + "/")


def test_extensions_load_from_the_wheels_without_network(file_lake):
    with lakes.connect(file_lake, read_only=False) as con:
        loaded = dict(con.execute("SELECT extension_name, install_path FROM duckdb_extensions() WHERE loaded "
                                  "AND extension_name IN ('ducklake', 'postgres_scanner')").fetchall())
        assert "ducklake" in loaded and con.execute("SELECT current_setting('autoinstall_known_extensions')"
                                                    ).fetchone()[0] is False


# ---- slow: real publishes ----------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.parametrize("kind", ["postgres", "file"])
def test_publish_twice_and_read_the_previous_snapshot(kind, request, snapshot_warehouse, tmp_path):
    lake = request.getfixturevalue(f"{kind}_lake" if kind == "file" else "pg_lake")
    second = second_candidate(snapshot_warehouse, tmp_path)
    first_counts = counts(snapshot_warehouse, "publish_log", "peer_towns", "latest_ranking", "observations")
    second_counts = counts(second, "publish_log", "peer_towns", "latest_ranking", "observations")
    assert first_counts != second_counts

    one = lakes.publish(snapshot_warehouse, lake, "run-1")
    two = lakes.publish(second, lake, "run-2")
    assert two["snapshot_id"] > one["snapshot_id"]
    assert set(one["tables"]) >= {"publish_log", "municipalities", "readiness_index_history", "observations"}
    with lakes.connect(lake) as con:
        assert counts(con, "publish_log", "peer_towns", "latest_ranking", "observations") == second_counts
        # time travel: the table as of the first publish's snapshot, and the whole lake attached at it
        assert con.execute(f"SELECT count(*) FROM peer_towns AT (VERSION => {one['snapshot_id']})").fetchone()[0] \
            == first_counts[1]
        messages = [m for (m,) in con.execute("SELECT commit_message FROM ducklake_snapshots('lake') "
                                              "WHERE commit_message IS NOT NULL ORDER BY snapshot_id").fetchall()]
        assert messages == ["publish of run run-1", "publish of run run-2"]
    with lakes.connect(lake, snapshot=one["snapshot_id"]) as con:
        assert counts(con, "publish_log", "peer_towns", "latest_ranking", "observations") == first_counts
        # the planner views read the same rows as in the single file
        with duckdb.connect(str(snapshot_warehouse), read_only=True) as file_con:
            for view in ("town_profile", "latest_ranking", "indicator_values"):
                query = f"SELECT * FROM {view} ORDER BY ALL"
                assert con.execute(query).fetchall() == file_con.execute(query).fetchall(), view
    assert list(Path(lake.data_path).rglob("*.parquet")), "table data are Parquet files in the data path"


@pytest.mark.slow
def test_two_readers_during_a_publish_see_the_old_or_the_new_warehouse(pg_lake, snapshot_warehouse, tmp_path):
    second = second_candidate(snapshot_warehouse, tmp_path)
    old = counts(snapshot_warehouse, "publish_log", "peer_towns", "latest_ranking")
    new = counts(second, "publish_log", "peer_towns", "latest_ranking")
    lakes.publish(snapshot_warehouse, pg_lake, "run-1")
    stop = tmp_path / "stop"
    readers = [subprocess.Popen([sys.executable, "-c", READER, pg_lake.catalog, pg_lake.data_path, str(stop)],
                                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
               for _ in range(2)]
    try:
        for reader in readers:  # both read the old warehouse before the publish starts
            first = reader.stdout.readline()
            assert first.strip(), reader.stderr.read()
            assert json.loads(first) == old
        lakes.publish(second, pg_lake, "run-2")
        stop.touch()
        for reader in readers:
            out, err = reader.communicate(timeout=120)
            assert reader.returncode == 0, err[-3000:]
            states = [json.loads(line) for line in out.splitlines()]
            assert states[-1] == new  # the read after the publish sees the new warehouse
            assert all(state in (old, new) for state in states), [s for s in states if s not in (old, new)]
            switched = [i for i in range(1, len(states)) if states[i] != states[i - 1]]
            assert len(switched) <= 1, "a reader went back to the old warehouse"
    finally:
        for reader in readers:
            if reader.poll() is None:
                reader.kill()
                reader.wait()


PUBLISH_STEPS = ["out/candidate", "out/warehouse"]  # the only steps that read or write the lake


@pytest.mark.slow
def test_the_refresh_job_publishes_to_a_postgres_lake_twice(pg_lake, published_copy):
    from pipelines.resources import ReadinessSettings
    from tests.conftest import run_job  # imported here: at module level conftest would mark every test slow

    # The session's run (a copy: working database, staging files, raw landing) without its published file: the
    # working tables a fresh run from the snapshot computes, and no previous warehouse, as on a first run. Only
    # the publish steps run (candidate and swap, with their checks; pipelines/assets/publish.py): the steps
    # before them never touch the lake and would compute the same working tables once more.
    tmp_path = published_copy.parent
    published_copy.unlink()
    settings = ReadinessSettings(source_mode="snapshot", warehouse_path=str(published_copy),
                                 raw_dir=str(tmp_path / "raw"), exports_dir=str(tmp_path / "exports"),
                                 reports_dir=str(tmp_path / "reports"), report_scope="pilots",
                                 lake_catalog=pg_lake.catalog, lake_data_path=pg_lake.data_path)
    first = run_job(settings, assets=PUBLISH_STEPS)
    # the local file gone (another machine, a new volume): the second publish continues the lake's history
    published_copy.unlink()
    second = run_job(settings, assets=PUBLISH_STEPS)
    snapshot_ids = []
    for result in (first, second):
        (event,) = [e for e in result.get_asset_materialization_events()
                    if e.asset_key.to_user_string() == "out/warehouse"]
        snapshot_ids.append(event.materialization.metadata["lake_snapshot_id"].value)
    assert snapshot_ids[1] > snapshot_ids[0]
    with lakes.connect(pg_lake) as con:
        runs = [r for (r,) in con.execute("SELECT run_id FROM publish_log ORDER BY published_at").fetchall()]
        assert runs == [first.run_id, second.run_id]  # history from the lake, not from the (deleted) file
        assert con.execute(f"SELECT count(*) FROM publish_log AT (VERSION => {snapshot_ids[0]})").fetchone()[0] == 1
        lake_counts = counts(con, "municipalities", "observations", "readiness_index_history", "town_profile")
    # the local file (read by exports, reports and the CLI) holds the same warehouse
    assert counts(published_copy, "municipalities", "observations", "readiness_index_history",
                  "town_profile") == lake_counts


def test_a_lake_without_data_path_fails_the_run_at_its_start_naming_the_variable(tmp_path):
    from pipelines.resources import ReadinessSettings
    from tests.conftest import run_job

    settings = ReadinessSettings(warehouse_path=str(tmp_path / "readiness.duckdb"), raw_dir=str(tmp_path / "raw"),
                                 lake_catalog=str(tmp_path / "catalog.ducklake"))
    started = time.monotonic()
    with pytest.raises(Exception) as raised:
        run_job(settings)
    cause = raised.value.__cause__  # Dagster wraps the resource's error; the user sees both
    assert isinstance(cause, LakeError) and "READINESS_LAKE_DATA_PATH is not set" in str(cause)
    assert not (tmp_path / "raw").exists() and not (tmp_path / "readiness.work.duckdb").exists()  # nothing ran
    assert time.monotonic() - started < 120
