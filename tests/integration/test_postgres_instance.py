"""The production profile (deploy/dagster.yaml) on a real PostgreSQL server this test starts itself (issue 15.3).

initdb into a temporary folder, `postgres` on a free 127.0.0.1 port (as the `postgres` system user when the
test runs as root: the server refuses root), password authentication, credentials only from the environment.
Then the refresh job runs against that instance (`readiness demo`), the monthly schedule is started and
the daemon runs: the run, its events, the schedule state and the daemon's heartbeats must be in PostgreSQL,
and nothing in SQLite.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
PASSWORD = "pw-for-the-test-only"

psycopg2 = pytest.importorskip("psycopg2", reason="the deploy extra (psycopg2-binary) is not installed")
pytest.importorskip("dagster_postgres", reason="dagster-postgres is not installed (scripts/setup.sh installs it)")


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its programs as the `postgres` system user then."""
    if os.geteuid() != 0:
        return command
    return ["runuser", "-u", "postgres", "--", *command]


@pytest.fixture(scope="module")
def postgres_server():
    """A throw-away PostgreSQL server on 127.0.0.1; yields the DAGSTER_PG_* environment."""
    for program in ("initdb", "postgres"):
        if shutil.which(program) is None:
            pytest.fail(f"{program} is not on PATH: install PostgreSQL's server programs (Debian: postgresql)")
    base = Path(tempfile.mkdtemp(prefix="readiness-pg-"))  # not under pytest's root-only tmp folder
    data, pwfile = base / "data", base / "pwfile"
    pwfile.write_text(PASSWORD + "\n")
    if os.geteuid() == 0:
        user = pwd.getpwnam("postgres")
        os.chown(base, user.pw_uid, user.pw_gid)
        os.chown(pwfile, user.pw_uid, user.pw_gid)
    subprocess.run(_as_server_user(["initdb", "-D", str(data), "-U", "readiness", f"--pwfile={pwfile}",
                                    "--auth=scram-sha-256", "-E", "UTF8", "--no-sync", "--no-instructions"]),
                   check=True, capture_output=True)
    port = _free_port()
    log = (base / "server.log").open("w")
    server = subprocess.Popen(_as_server_user(["postgres", "-D", str(data), "-p", str(port), "-h", "127.0.0.1",
                                               "-k", str(base), "-c", "fsync=off"]),
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    env = {"DAGSTER_PG_HOST": "127.0.0.1", "DAGSTER_PG_PORT": str(port), "DAGSTER_PG_DB": "dagster",
           "DAGSTER_PG_USERNAME": "readiness", "DAGSTER_PG_PASSWORD": PASSWORD}
    try:
        _wait_for_server(port, server, base / "server.log")
        con = _connect(env, "postgres")
        con.autocommit = True  # CREATE DATABASE runs outside a transaction
        con.cursor().execute("CREATE DATABASE dagster")
        con.close()
        yield env
    finally:
        os.killpg(server.pid, signal.SIGINT)  # "fast" shutdown
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        log.close()
        shutil.rmtree(base, ignore_errors=True)


def _connect(env: dict, db: str | None = None):
    return psycopg2.connect(host=env["DAGSTER_PG_HOST"], port=env["DAGSTER_PG_PORT"], user=env["DAGSTER_PG_USERNAME"],
                            password=env["DAGSTER_PG_PASSWORD"], dbname=db or env["DAGSTER_PG_DB"])


def _wait_for_server(port: int, server: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"postgres exited: {log.read_text()[-2000:]}")
        try:
            psycopg2.connect(host="127.0.0.1", port=port, user="readiness", password=PASSWORD,
                             dbname="postgres").close()
            return
        except psycopg2.OperationalError:
            time.sleep(0.3)
    pytest.fail(f"postgres did not accept connections within 60 s: {log.read_text()[-2000:]}")


def _query(env: dict, sql: str, params=()) -> list[tuple]:
    with _connect(env) as con, con.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


@pytest.mark.slow
def test_refresh_schedule_and_daemon_on_a_postgres_instance(postgres_server, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    (home / "dagster.yaml").symlink_to(ROOT / "deploy" / "dagster.yaml")
    env = {**os.environ, **postgres_server, "DAGSTER_HOME": str(home), "DAGSTER_COMPUTE_LOG_DIR": str(home / "logs"),
           "READINESS_WAREHOUSE": str(tmp_path / "readiness.duckdb"), "READINESS_RAW_DIR": str(tmp_path / "raw"),
           "READINESS_EXPORTS_DIR": str(tmp_path / "exports"), "READINESS_REPORTS_DIR": str(tmp_path / "reports"),
           "READINESS_REPORT_SCOPE": "pilots"}
    env.pop("READINESS_SOURCE_MODE", None)

    # 1. the refresh job on the PostgreSQL instance
    done = subprocess.run([str(BIN / "readiness"), "demo", "--no-progress"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    ((run_id, status),) = _query(postgres_server, "SELECT run_id, status FROM runs WHERE pipeline_name = %s",
                                 ("refresh_warehouse",))
    assert status == "SUCCESS"
    kinds = dict(_query(postgres_server, "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = %s "
                                         "GROUP BY 1", (run_id,)))
    from dagster import DagsterEventType as Event  # stored under their values (RUN_SUCCESS = PIPELINE_SUCCESS)

    assert kinds[Event.RUN_SUCCESS.value] == 1, kinds
    assert kinds[Event.STEP_SUCCESS.value] >= 20 and kinds[Event.ASSET_MATERIALIZATION.value] >= 20, kinds

    # 2. the monthly schedule switched on, and the daemon that runs it (and the queue, and the sensor)
    started = subprocess.run([str(BIN / "dagster"), "schedule", "start", "monthly_refresh",
                              "-w", str(ROOT / "deploy" / "workspace.yaml")], cwd=ROOT, env=env,
                             capture_output=True, text=True, timeout=300)
    assert started.returncode == 0, started.stdout + started.stderr
    daemon = subprocess.Popen([str(BIN / "dagster-daemon"), "run", "-w", str(ROOT / "deploy" / "workspace.yaml")],
                              cwd=ROOT, env=env, stdout=(tmp_path / "daemon.log").open("w"),
                              stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 240
        beating = set()
        while time.monotonic() < deadline and not {"SCHEDULER", "QUEUED_RUN_COORDINATOR", "SENSOR"} <= beating:
            assert daemon.poll() is None, (tmp_path / "daemon.log").read_text()[-3000:]
            beating = {row[0] for row in _query(postgres_server, "SELECT daemon_type FROM daemon_heartbeats")}
            time.sleep(2)
        assert {"SCHEDULER", "QUEUED_RUN_COORDINATOR", "SENSOR"} <= beating, beating
    finally:
        os.killpg(daemon.pid, signal.SIGINT)
        try:
            daemon.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(daemon.pid, signal.SIGKILL)
            daemon.wait()
    # the schedule's state (Dagster's schedule storage: table jobs, the instigator serialised in job_body)
    def state(name: str) -> list[tuple]:
        return _query(postgres_server, "SELECT job_type, status FROM jobs WHERE job_body LIKE %s",
                      (f'%"job_name": "{name}"%',))

    assert state("monthly_refresh") == [("SCHEDULE", "RUNNING")]
    # a sensor running by default (declared in code) is recorded as such once the daemon has evaluated it
    assert state("dead_run_reaper") == [("SENSOR", "DECLARED_IN_CODE")]
    # nothing went to the SQLite storage a local instance would use
    assert not list(home.rglob("*.db")), list(home.rglob("*.db"))
