"""One writer per warehouse: an OS-level lock next to the published file, held for a whole run.

Dagster's run queue (dagster.yaml) lets one run at a time write, but only among runs the instance
launches; the CLI, a script or a second instance are outside it. Every writer therefore takes this
lock (``fcntl.flock`` on ``<published>.lock``): the kernel releases it when the process dies, so a
killed run never leaves it stuck, and the file names the holder (run id, pid, host, since) so that
a second writer can say whom it waits for.

Re-entrant per process (a run's steps share it) and shared by the processes of one run (a
multiprocess executor's step workers carry the run's id).
"""

from __future__ import annotations

import datetime as dt
import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

TIMEOUT_ENV = "READINESS_LOCK_TIMEOUT"  # seconds a second writer waits; unset = wait until free, 0 = don't wait
POLL_SECONDS = 0.5
# path -> [open file, depth]: the locks this process holds (flock conflicts between two fds of one process)
_HELD: dict[Path, list] = {}


class WarehouseBusy(RuntimeError):
    """Another writer holds the warehouse and the wait is over (or was not wanted)."""


def lock_path_for(published: Path) -> Path:
    """The lock file lives next to the published warehouse (one lock per warehouse, whoever writes it)."""
    published = Path(published)
    return published.with_name(published.name + ".lock")


def holder(published: Path) -> dict | None:
    """Who holds the writer lock (run_id, pid, host, since, by), or None when it is free."""
    path = lock_path_for(published)
    if Path(published).resolve() in _HELD:
        return _read(path)
    if not path.exists():
        return None
    with open(path, "a+") as probe:
        try:
            fcntl.flock(probe, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return _read(path) or {"run_id": None, "pid": None, "host": None, "since": None, "by": "unknown"}
        fcntl.flock(probe, fcntl.LOCK_UN)
    return None


def describe(info: dict | None) -> str:
    """A holder in words, for messages: 'run 1f2e… (pid 123 on host x, since 2026-…, readiness demo)'."""
    if not info:
        return "nobody"
    run = f"run {info['run_id']}" if info.get("run_id") else "a process outside Dagster"
    return f"{run} (pid {info.get('pid')} on {info.get('host')}, since {info.get('since')}, {info.get('by')})"


@contextmanager
def writer_lock(published: Path, run_id: str | None = None, by: str = "",
                timeout: float | None = None, on_wait: Callable[[dict | None], None] | None = None
                ) -> Iterator[dict]:
    """Hold the warehouse's writer lock for the block; yields the holder record.

    A second writer waits (``on_wait`` is called with the holder every 30 s, and at once) until
    the lock is free, or raises WarehouseBusy naming the holder after ``timeout`` seconds
    (default: READINESS_LOCK_TIMEOUT, unset = no limit). A process of the same ``run_id`` does
    not wait: the run already owns the warehouse.
    """
    key = Path(published).resolve()
    if key in _HELD:  # re-entrant: the run's steps in this process
        _HELD[key][1] += 1
        try:
            yield _read(lock_path_for(key)) or {}
        finally:
            _HELD[key][1] -= 1
        return
    if timeout is None:
        timeout = _env_timeout()
    path = lock_path_for(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")
    try:
        info = _acquire(handle, path, run_id, by, timeout, on_wait)
        if info is None:  # held by another process of the same run
            yield _read(path) or {}
            return
        _HELD[key] = [handle, 1]
        try:
            yield info
        finally:
            del _HELD[key]
            handle.truncate(0)  # an idle lock file names nobody
            handle.flush()
            fcntl.flock(handle, fcntl.LOCK_UN)
    finally:
        handle.close()


def _acquire(handle, path: Path, run_id: str | None, by: str, timeout: float | None,
             on_wait: Callable[[dict | None], None] | None) -> dict | None:
    """Take the flock (waiting as allowed) and write the holder record; None = the run already holds it."""
    started = time.monotonic()
    last_report = None
    while True:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            break
        except BlockingIOError:
            current = _read(path)
            if run_id and current and current.get("run_id") == run_id:
                return None
            waited = time.monotonic() - started
            if timeout is not None and waited >= timeout:
                raise WarehouseBusy(f"the warehouse {path.with_suffix('')} is being written by {describe(current)}; "
                                    f"gave up after {waited:.0f} s ({TIMEOUT_ENV}={timeout:g}). "
                                    "Try again when that run has finished.") from None
            if on_wait and (last_report is None or time.monotonic() - last_report >= 30):
                on_wait(current)
                last_report = time.monotonic()
            time.sleep(POLL_SECONDS)
    info = {"run_id": run_id, "pid": os.getpid(), "host": socket.gethostname(),
            "since": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "by": by or "unnamed writer"}
    handle.seek(0)
    handle.truncate(0)
    handle.write(json.dumps(info))
    handle.flush()
    return info


def _read(path: Path) -> dict | None:
    """The holder record in the lock file (None when empty or unreadable: the holder is still writing it)."""
    try:
        text = path.read_text(encoding="utf-8").strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


def _env_timeout() -> float | None:
    value = os.environ.get(TIMEOUT_ENV, "").strip()
    if not value:
        return None
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{TIMEOUT_ENV}={value!r} must be a number of seconds") from None
