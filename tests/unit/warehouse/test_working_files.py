"""The working database's file layout: each staging asset writes its own file, the other steps the shared one,
and every working connection reads them all as one database (issue 15 item 2, issue 13 item 1)."""

from __future__ import annotations

import subprocess
import sys
import threading
import time

import duckdb
import pandas as pd
import pytest

from warehouse.paths import stage_dir_for, stage_path
from warehouse.workdb import FILE_LOCK_ENV, FileLocked, connect_work, store, visible_relations
from warehouse.registry import WORKING, registry


def observation(source_id: str, ags: str, value: float) -> pd.DataFrame:
    return pd.DataFrame([{"source_id": source_id, "vintage": "2023", "ags": ags, "level": "gemeinde",
                          "reference_date": pd.Timestamp("2023-12-31").date(), "measure": "m", "value": value,
                          "unit": "%"}])


def tables_in(path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()} - {"_staging_version"}


def test_the_registry_puts_each_staging_table_in_its_writers_file():
    reg = registry()
    assert reg["stg_breitbandatlas__observations"].own_file == "broadband_coverage"
    assert reg["municipality_register"].own_file == "population_area"
    assert reg["commuter_flows_gemeinde"].own_file == "pendleratlas_commuting"
    for name in ("releases", "indicator_values", "readiness_index", "index_bands", "observations"):
        assert reg[name].own_file is None, name  # the shared file (observations: a view over all files)
    for table in reg.in_database(WORKING):
        if table.own_file:
            assert table.layer == "staging" and table.writers == (table.own_file,)
    assert set(reg.own_files()) == {"population_area", "territorial_crosswalk", "commuting", "municipality_geometries",
                                    "coworking_spaces", "broadband_coverage", "mobile_coverage",
                                    "pendleratlas_commuting"}


def test_stage_files_live_next_to_the_working_database(tmp_path):
    work = tmp_path / "readiness.work.duckdb"
    assert stage_dir_for(work) == tmp_path / "readiness.staging"
    assert stage_path(work, "commuting") == tmp_path / "readiness.staging" / "commuting.duckdb"


def test_each_staging_asset_writes_only_its_file_and_observations_unions_them(tmp_path):
    work = tmp_path / "readiness.work.duckdb"
    connect_work(work).close()  # the shared file, as the raw assets create it
    with connect_work(work, own="broadband_coverage") as con:
        store(con, "broadband_coverage", "stg_breitbandatlas__observations", observation("breitbandatlas", "01053090", 91.0),
              source_id="breitbandatlas")
    with connect_work(work, own="pendleratlas_commuting") as con:
        store(con, "pendleratlas_commuting", "stg_pendleratlas__observations", observation("pendleratlas", "01053090", 7.0),
              source_id="pendleratlas")
        # the other staging file is read by name (a read-only attachment), never written from here
        assert con.execute("SELECT value FROM stg_breitbandatlas__observations").fetchall() == [(91.0,)]
        with pytest.raises(duckdb.Error):
            con.execute("DELETE FROM stg_breitbandatlas__observations")
    assert "stg_breitbandatlas__observations" in tables_in(stage_path(work, "broadband_coverage"))
    assert "stg_pendleratlas__observations" not in tables_in(stage_path(work, "broadband_coverage"))
    assert not {t for t in tables_in(work) if t.startswith("stg_")}  # the shared file holds no staging table
    with connect_work(work, read_only=True) as con:
        rows = con.execute("SELECT source_id, value FROM observations ORDER BY value").fetchall()
        assert "commuter_flows_gemeinde" in visible_relations(con)  # declared in pendleratlas_commuting's file
    assert rows == [("pendleratlas", 7.0), ("breitbandatlas", 91.0)]


def test_a_file_of_an_unknown_writer_is_refused(tmp_path):
    with pytest.raises(ValueError, match="indicator_values: writes no table of its own file"):
        connect_work(tmp_path / "readiness.work.duckdb", own="indicator_values")


def hold(path, seconds: float) -> subprocess.Popen:
    """Another process that holds ``path`` for writing (as a step of the multiprocess executor does)."""
    code = (f"import duckdb, sys, time; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
            f"time.sleep({seconds})")
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def hold_until_released(path) -> subprocess.Popen:
    """Another process that holds ``path`` for writing until a line arrives on its stdin (``release``): the test,
    not a sleep, decides how long the file is held."""
    code = (f"import duckdb, sys; c = duckdb.connect({str(path)!r}); print('held', flush=True); "
            "sys.stdin.readline(); c.close(); print('released', flush=True)")
    process = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert process.stdout.readline().strip() == "held"
    return process


def release(process: subprocess.Popen) -> None:
    """Let a ``hold_until_released`` process close the file; returns once it has."""
    process.stdin.write("release\n")
    process.stdin.flush()
    assert process.stdout.readline().strip() == "released"


def test_a_staging_file_being_written_by_another_process_is_skipped_not_waited_for(tmp_path):
    """Its asset runs beside this step, so it is not upstream of it: waiting could deadlock two staging steps."""
    work = tmp_path / "readiness.work.duckdb"
    connect_work(work).close()
    connect_work(work, own="mobile_coverage").close()
    writer = hold(stage_path(work, "mobile_coverage"), 30)
    try:
        start = time.monotonic()
        with connect_work(work, own="broadband_coverage") as con:
            visible = visible_relations(con)
        assert time.monotonic() - start < 10
        assert "stg_mobilfunk_monitoring__observations" not in visible
        assert {"releases", "stg_breitbandatlas__observations", "observations"} <= visible
    finally:
        writer.kill()
        writer.wait()


def test_the_shared_file_is_waited_for_and_a_timeout_names_it(tmp_path, monkeypatch):
    work = tmp_path / "readiness.work.duckdb"
    connect_work(work).close()
    # a generous limit: the connection waits however slow the machine is, yet a broken wait cannot hang the run
    monkeypatch.setenv(FILE_LOCK_ENV, "120")
    writer = hold_until_released(work)  # held from here until the test releases it
    outcome: dict = {}

    def connect() -> None:
        try:
            with connect_work(work, own="broadband_coverage") as con:  # attaches the shared file read-only
                outcome["relations"] = visible_relations(con)
            outcome["done"] = time.monotonic()
        except BaseException as error:  # reported by the assertions below
            outcome["error"] = error

    waiting = threading.Thread(target=connect, daemon=True)
    try:
        waiting.start()
        waiting.join(0.5)  # at least 0.5 s in which it may not get through while the file is held
        assert waiting.is_alive() and not outcome, f"did not wait for the held file: {outcome}"
        released = time.monotonic()
        release(writer)
        waiting.join(120)
        assert not waiting.is_alive()
        assert "error" not in outcome, outcome.get("error")
        assert "releases" in outcome["relations"]
        assert outcome["done"] >= released  # it got through only once the writer had let go
    finally:
        writer.kill()
        writer.wait()
    monkeypatch.setenv(FILE_LOCK_ENV, "0.5")
    writer = hold(work, 30)
    try:
        with pytest.raises(FileLocked, match=r"readiness\.work\.duckdb is held by another process for more than 0.5 s"):
            connect_work(work, own="broadband_coverage")
    finally:
        writer.kill()
        writer.wait()
