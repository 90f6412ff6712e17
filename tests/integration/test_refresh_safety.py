"""A refresh never shows planners a half-built warehouse and never loses the last good one.

Real refresh runs on the snapshot in subprocesses: readers query the published file while a
refresh replaces it, and refreshes are killed with SIGKILL while landing raw files, while
computing in the working database and while building the new published file (one chain of
refreshes, each starting from what the kill before it left: ``kill_chain``).

This module is also the subprocesses' entry point (``python -m tests.integration.test_refresh_safety``):
``refresh <published> <raw dir> [<source dir>]`` runs the job, ``reader <published> <out> <stop>``
queries the published file until the file ``<stop>`` exists.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from warehouse.paths import candidate_path_for

ROOT = Path(__file__).resolve().parents[2]
STAGE_TIMEOUT = 300  # seconds a refresh may take to reach a kill point or to finish (a loaded 2-core machine)
POLL = 0.001  # seconds between file-system polls: the publish window can be short
PILOT = "01053090"  # Mölln: its broadband figure is corrected in the edited release


# --- what a reader sees ----------------------------------------------------------------------------

def fingerprint(con: duckdb.DuckDBPyConnection) -> dict:
    """Tables and views with row counts (tables also with a content hash), and the publish log's head."""
    answer = {}
    objects = con.execute("SELECT table_name, table_type FROM information_schema.tables "
                          "WHERE table_schema = 'main' ORDER BY table_name").fetchall()
    for name, kind in objects:
        if kind == "BASE TABLE":  # order-independent content hash: any changed value shows
            answer[name] = list(con.execute(f'SELECT count(*), sum(hash(t))::VARCHAR FROM "{name}" t').fetchone())
        else:
            answer[name] = [con.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0], kind]
    if "publish_log" in answer:
        head = con.execute("SELECT max(published_at)::VARCHAR, count(*) FROM publish_log").fetchone()
        answer["publish_log"].append(list(head))
    return answer


def read_fingerprint(published: Path) -> dict:
    with duckdb.connect(str(published), read_only=True) as con:
        return fingerprint(con)


def reader_main(published: str, out: str, stop: str) -> int:
    """Open the published file read-only again and again; record every answer and every error."""
    with open(out, "a", encoding="utf-8") as log:
        while not os.path.exists(stop):
            started = time.time()
            try:
                with duckdb.connect(published, read_only=True) as con:
                    record = {"answer": fingerprint(con)}
            except Exception as error:  # every error is a finding: record it, keep reading
                record = {"error": f"{type(error).__name__}: {error}"}
            record["started"] = started
            log.write(json.dumps(record) + "\n")
            log.flush()
            time.sleep(0.005)
    return 0


# --- running the refresh job in a subprocess --------------------------------------------------------

def refresh_main(published: str, raw_dir: str, source_dir: str = "") -> int:
    """Run the refresh_warehouse job up to its publish (``upstream_of``) with an ephemeral Dagster instance; exit
    status 0 on success. The town pages and planner exports after the publish only open the new file read-only
    and write their own folders: no kill point lies in them, and the readers' test ends with the swap (its
    reader hashed every table every 5 ms beside them, tests/README.md)."""
    from pipelines.resources import ReadinessSettings
    from tests.conftest import run_job, upstream_of

    settings = ReadinessSettings(source_mode="directory" if source_dir else "snapshot", source_dir=source_dir,
                                 warehouse_path=published, raw_dir=raw_dir)
    return 0 if run_job(settings, raise_on_error=False, assets=upstream_of("out/warehouse")).success else 1


def start(role: str, *args, log: Path) -> subprocess.Popen:
    """Start this module in ``role`` in its own process group (so the whole group can be killed)."""
    env = dict(os.environ, PYTHONUNBUFFERED="1")  # the refresh stops at the publish: no pages, no exports
    with open(log, "ab") as output:
        return subprocess.Popen([sys.executable, "-m", "tests.integration.test_refresh_safety", role, *map(str, args)],
                                cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, env=env,
                                start_new_session=True)


def tail(log: Path, lines: int = 25) -> str:
    return "\n".join(log.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


def finish(process: subprocess.Popen, log: Path, what: str) -> None:
    """Wait for a refresh and fail with its log when it does not succeed."""
    try:
        code = process.wait(timeout=STAGE_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        pytest.fail(f"{what} did not finish within {STAGE_TIMEOUT} s; log {log}:\n{tail(log)}")
    assert code == 0, f"{what} failed (exit {code}); log {log}:\n{tail(log)}"


def wait_for(condition, what: str, process: subprocess.Popen, log: Path, missable: bool = False) -> bool:
    """Poll ``condition`` until true (True); fail clearly when the refresh ends first or takes too long. With
    ``missable`` a refresh that ended successfully before the condition was seen returns False instead: a window of
    a few dozen milliseconds (the swap) can pass between two polls on a busy machine (a fresh clone's run of
    7 December 2026 22:16 UTC saw the run end after a 65 ms swap step)."""
    deadline = time.monotonic() + STAGE_TIMEOUT
    while not condition():
        if process.poll() is not None:
            if missable and process.returncode == 0:
                return False
            pytest.fail(f"the refresh ended (exit {process.returncode}) before {what}; log {log}:\n{tail(log)}")
        if time.monotonic() > deadline:
            os.killpg(process.pid, signal.SIGKILL)
            pytest.fail(f"the refresh did not reach {what} within {STAGE_TIMEOUT} s; log {log}:\n{tail(log)}")
        time.sleep(POLL)
    return True


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- fixtures (published_copy, the session's warehouse copied, is in tests/conftest.py) ---------------------

def correct_release(source: Path) -> Path:
    """The publisher re-issues the latest Breitbandatlas Gemeinde release with one corrected figure."""
    path = source / "breitbandatlas" / "gemeinde_bezirke_privat_2021_mitte.csv"
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    row = next(i for i, line in enumerate(lines) if line.startswith(f'"{PILOT}"'))
    fields = lines[row].rstrip("\r\n").split(",")
    fields[-1] = f"{float(fields[-1]) - 10:.2f}"  # the gigabit share, ten points lower
    lines[row] = ",".join(fields) + "\n"
    path.write_text("".join(lines), encoding="utf-8")
    return path


# --- concurrent readers ------------------------------------------------------------------------------

def test_readers_see_the_old_or_the_new_warehouse_never_an_error(published_copy, snapshot_copy, tmp_path):
    correct_release(snapshot_copy)
    old = read_fingerprint(published_copy)
    answers, stop = tmp_path / "answers.jsonl", tmp_path / "stop"
    refresh = start("refresh", published_copy, published_copy.parent / "raw", snapshot_copy,
                    log=tmp_path / "refresh.log")
    # The reader starts when the index step does: only the steps after it (the candidate and the swap; the run
    # stops at the publish, refresh_main) touch the published file, and several steps still lie between it and the
    # candidate. A reader beside the whole run took a core from the refresh for nothing (it hashes every table
    # every 5 ms). Started too late, its first answer would be the new warehouse and the test fails below.
    watcher = Log(tmp_path / "refresh.log")
    wait_for(lambda: watcher.has(r" - readiness_index - STEP_START"), "the index step", refresh,
             tmp_path / "refresh.log")
    reader = start("reader", published_copy, answers, stop, log=tmp_path / "reader.log")
    try:
        finish(refresh, tmp_path / "refresh.log", "the refresh with the corrected release")
        refreshed_at = time.time()
        wait_for(lambda: any(r.get("started", 0) > refreshed_at for r in records(answers)),
                 "a reader answer after the refresh", reader, tmp_path / "reader.log")
    finally:
        stop.touch()
        reader.wait(timeout=60)
    new = read_fingerprint(published_copy)
    assert new != old, "the refresh with the corrected release changed nothing the readers could tell apart"
    if "publish_log" in old:  # history is carried over: one more publish, the earlier ones kept
        assert new["publish_log"][0] == old["publish_log"][0] + 1
    seen = records(answers)
    errors = [r["error"] for r in seen if "error" in r]
    assert not errors, f"{len(errors)} of {len(seen)} reads failed, first: {errors[0]}"
    strange = [r["answer"] for r in seen if r["answer"] not in (old, new)]
    assert not strange, f"{len(strange)} of {len(seen)} reads saw neither the old nor the new warehouse: {strange[0]}"
    assert seen[0]["answer"] == old and seen[-1]["answer"] == new
    during = [r for r in seen if r["started"] < refreshed_at]
    assert len(during) > 10, "the reader hardly ran while the refresh did: nothing was tested"


def records(path: Path) -> list[dict]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.endswith("}")]


# --- SIGKILL at several points -----------------------------------------------------------------------

class Log:
    """Reads the refresh's log as it grows (Dagster writes one line per event)."""

    def __init__(self, path: Path):
        self.path, self.offset, self.text = path, 0, ""
        self.searched: dict[str, int] = {}  # per pattern: where the lines not yet searched for it begin

    def has(self, pattern: str) -> bool:
        """Whether a line of the log so far matches ``pattern`` (a pattern within one line). Searches only the
        lines a call has not searched before, from the start of the line still being written: it is polled
        every millisecond while the refresh runs, and searching the whole log (~170 kB at the swap) each time
        took ~0.1 ms a call, CPU the test process took from the refresh on a 2-core machine."""
        with open(self.path, "rb") as handle:
            handle.seek(self.offset)
            chunk = handle.read()
        self.offset += len(chunk)
        self.text += chunk.decode("utf-8", errors="replace")
        start = self.searched.get(pattern, 0)
        if re.search(pattern, self.text[start:]) is not None:
            return True  # found lines stay searched from the same start: found again on the next call
        self.searched[pattern] = self.text.rfind("\n") + 1
        return False


def test_the_log_finds_a_line_written_in_pieces_and_earlier_lines_for_a_new_pattern(tmp_path):
    """Log.has searches only what it has not searched yet: a line split across two polls is still found, a
    found line stays found, and a pattern asked for the first time sees the lines read before."""
    path = tmp_path / "refresh.log"
    path.write_text("x - raw_inkar - STEP_START\ny - readiness_in", encoding="utf-8")
    log = Log(path)
    assert not log.has(r" - readiness_index - STEP_START")
    with open(path, "a", encoding="utf-8") as handle:
        handle.write("dex - STEP_START\n")
    assert log.has(r" - readiness_index - STEP_START") and log.has(r" - readiness_index - STEP_START")
    assert log.has(r" - raw_inkar - STEP_START")
    assert not log.has(r" - published_warehouse - STEP_START")


def file_state(*paths: Path) -> tuple:
    return tuple((p.stat().st_mtime_ns, p.stat().st_size) if p.exists() else None for p in paths)


def kill_point_raw(published: Path, raw_dir: Path, log: Path):
    """During raw landing: the first file appears in an empty raw landing."""
    return lambda: any(p.is_file() for p in raw_dir.rglob("*"))


def kill_point_compute(published: Path, raw_dir: Path, log: Path):
    """During staging/indicators: a step after raw landing has started and then the working database changes."""
    work = published.with_name(published.stem + ".work.duckdb")
    files = (work, work.with_name(work.name + ".wal"))
    watcher, before = Log(log), []

    def reached() -> bool:
        if not before:
            if not watcher.has(r" - (?!raw_)\w+ - STEP_START"):
                return False
            before.append(file_state(*files))
        return file_state(*files) != before[0]
    return reached


def candidate_path(published: Path) -> Path:
    """Where publish builds the next warehouse before renaming it over the published file."""
    return candidate_path_for(published)


def kill_point_publish(published: Path, raw_dir: Path, log: Path):
    """During publish: the new warehouse file (the candidate) exists and is not yet renamed."""
    return candidate_path(published).exists


def kill_point_swap(published: Path, raw_dir: Path, log: Path):
    """Just before the swap: the step that renames the validated candidate has started, the candidate is there."""
    watcher, candidate = Log(log), candidate_path(published)
    return lambda: watcher.has(r" - published_warehouse - STEP_START") and candidate.exists()


KILL_POINTS = {"raw_landing": kill_point_raw, "staging_indicators": kill_point_compute,
               "publish": kill_point_publish, "swap": kill_point_swap}


def kill_during(point: str, published: Path, raw_dir: Path, log: Path) -> bool:
    """Run a refresh and SIGKILL its process group at ``point``; False when the point had already passed.

    The group is stopped (SIGSTOP) the moment the point is seen, so what is checked afterwards is
    the state at the kill; for publish that means the candidate file still existed, i.e. it was not
    yet renamed over the published file.
    """
    reached = KILL_POINTS[point](published, raw_dir, log)
    process = start("refresh", published, raw_dir, log=log)
    if not wait_for(reached, f"the kill point '{point}'", process, log, missable=point in ("publish", "swap")):
        return False  # the run passed the window and published: the chain starts this point again from its copy
    os.killpg(process.pid, signal.SIGSTOP)
    still_there = candidate_path(published).exists() if point in ("publish", "swap") else True
    os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)
    assert process.returncode == -signal.SIGKILL
    return still_there


@pytest.fixture(scope="module")
def kill_chain(snapshot_warehouse, tmp_path_factory) -> dict:
    """SIGKILL one refresh at each point, in the order a run reaches them, each refresh starting from what the
    kill before it left; then one refresh to the end. So the run after each kill is the next one in the chain,
    which must get past that point (to its own kill point; after the swap, to a new publish), and four kills
    and one finished run stand for four kills and four finished runs (each a whole job in a subprocess).

    Returns per point the published file's SHA-256 and fingerprint right after the kill and the kill point the
    next run reached; with "before" (SHA-256, fingerprint) and "final" (what the last refresh published).
    """
    base = tmp_path_factory.mktemp("kill_chain")
    folder = base / "warehouse"  # a copy of the session's folder: the last good publish, working files, raw landing
    shutil.copytree(snapshot_warehouse.parent, folder, ignore=shutil.ignore_patterns("exports", "reports"))
    published = folder / snapshot_warehouse.name
    raw_dir = folder / "raw-fresh"  # empty: the first kill is during landing; the later runs land the rest
    chain = {"before": (sha256(published), read_fingerprint(published))}
    points = list(KILL_POINTS)
    for number, point in enumerate(points):
        pristine = base / f"before-{point}"  # what the kill before left, to start again if the point is missed
        shutil.copytree(folder, pristine)
        for attempt in range(3):  # the publish window can be missed on a busy machine: start again from the copy
            if kill_during(point, published, raw_dir, base / f"killed-{point}-{attempt}.log"):
                break
            shutil.rmtree(folder)
            shutil.copytree(pristine, folder)
        else:
            pytest.fail(f"three refreshes passed '{point}' before they could be stopped")
        chain[point] = {"after_kill": (sha256(published), read_fingerprint(published)), "next_reached": None}
        if number:
            chain[points[number - 1]]["next_reached"] = point  # the refresh after that kill got this far

    inode = published.stat().st_ino
    log = base / "after.log"
    finish(start("refresh", published, raw_dir, log=log), log, f"the refresh after SIGKILL during {points[-1]}")
    chain[points[-1]]["next_reached"] = "published"
    chain["final"] = {"new_file": published.stat().st_ino != inode,
                      "candidate_left": candidate_path(published).exists(),
                      "fingerprint": read_fingerprint(published)}
    return chain


@pytest.mark.parametrize("point", list(KILL_POINTS))
def test_sigkill_leaves_the_published_warehouse_and_the_next_run_publishes(point, kill_chain):
    """SIGKILL during ``point`` leaves the published file byte-identical and reading the same; the refresh after
    it (the next one of tests' chain, see kill_chain) gets past the point, and the chain's last refresh publishes."""
    before_sha, before = kill_chain["before"]
    after_sha, after_kill = kill_chain[point]["after_kill"]
    assert after_sha == before_sha, f"SIGKILL during {point} changed the published file"
    assert after_kill == before, f"after SIGKILL during {point} the published file reads differently"

    order = [*KILL_POINTS, "published"]
    assert order.index(kill_chain[point]["next_reached"]) == order.index(point) + 1, \
        f"the refresh after SIGKILL during {point} did not get past it"
    final = kill_chain["final"]
    assert final["new_file"], "the refresh after the kills did not publish a new file"
    assert not final["candidate_left"], "the candidate was left next to the published file"
    after = final["fingerprint"]
    assert set(after) == set(before), "the republished warehouse has other tables and views"
    if "publish_log" in before:
        assert after["publish_log"][0] == before["publish_log"][0] + 1, "the publish log did not gain one row"


if __name__ == "__main__":
    roles = {"refresh": refresh_main, "reader": reader_main}
    sys.exit(roles[sys.argv[1]](*sys.argv[2:]))
