"""Build the reports in a fresh interpreter, so page workers can be forked safely.

    from reports.child import build_in_child
    paths = build_in_child(published, out_dir, towns, workers=None, progress=..., summary=...)

Why a fresh interpreter: forking a process that runs other threads is unsafe (a thread that held a lock
at the fork leaves it held for ever in the child). The town_reports step runs inside Dagster's process
and the tests inside pytest, both with threads (Dagster's, DuckDB's, OpenBLAS's); on 2026-12-02 a forked
worker of the pytest process hung the suite. The child started here (``python -m reports.child``) has
only the threads it starts itself: its environment keeps OpenBLAS/OpenMP single-threaded and Arrow's
jemalloc without its background thread (set before numpy and pyarrow load), its DuckDB default
connection gets ``threads=1``, and the connection that loads the report data is closed before the pages
are rendered. ``reports.build`` forks page workers only when ``/proc/self/task`` shows one thread, else
it renders in one process; the files are the same either way.

Protocol: the request (one JSON line, then the build's state on a second line when the caller computes
it after starting the child) on the child's stdin; the child writes ``PROGRESS done total`` lines and a
last ``RESULT {json}`` (or ``ERROR {json}``) on a pipe of its own (its stdout is redirected to its stderr,
so a library's print cannot corrupt the protocol). Its stderr is collected and passed on to this
process's stderr; when the child fails, the error names its exit code, its exception and the end of its
stderr.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import traceback
from pathlib import Path
from typing import Callable

PACKAGE_ROOT = Path(__file__).resolve().parents[1]   # the folder holding reports/, put on the child's path
# before numpy and pyarrow are imported in the child: no thread pools of their own
CHILD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
             "JE_ARROW_MALLOC_CONF": "background_thread:false"}
STDERR_TAIL = 40    # lines of the child's stderr quoted in the error of a failed build (a traceback through
                    # the report data's query threads, reports/data.py, with DuckDB's message: ~30 lines)


class ReportBuildError(RuntimeError):
    """The report build in the child process failed: its exit code, its exception and its last stderr lines."""


def build_in_child(published: Path, out_dir: Path, towns: list[str] | None, *, workers: int | None,
                   progress: Callable[[int, int], None] | None = None, force: bool = False,
                   summary: dict | None = None, parallel_from: int, chunk: int,
                   state: dict | Callable[[], dict]) -> list[Path]:
    """Run ``reports.build.build_reports`` in a fresh interpreter and return its paths; ``progress`` is
    called here for every page the child reports, ``summary`` receives the child's counts and ``pid``.

    A ValueError or FileNotFoundError of the child (an unknown town, a missing file) is raised here as
    the same type with the same message; any other failure as ReportBuildError. ``state``: what the
    caller's build_reports found the build depends on (published fingerprint, template version); the
    child uses it instead of hashing the published file again. A callable ``state`` is called here
    after the child has started, and its result sent to the child (which needs it only at the end)."""
    request = {"published": str(published), "out_dir": str(out_dir), "towns": towns, "force": force,
               "workers": workers, "parallel_from": parallel_from, "chunk": chunk,
               "state": None if callable(state) else state}
    env = dict(os.environ, **CHILD_ENV)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(PACKAGE_ROOT), env.get("PYTHONPATH")]))
    read_fd, write_fd = os.pipe()
    with tempfile.TemporaryFile() as stderr:
        try:
            # a session of its own: when this process gives up (an error in ``progress``, the step
            # terminated, Ctrl-C) the child and its page workers are stopped together (_stop)
            child = subprocess.Popen([sys.executable, "-m", "reports.child", str(write_fd)], stdin=subprocess.PIPE,
                                     stdout=subprocess.DEVNULL, stderr=stderr, env=env, pass_fds=(write_fd,),
                                     start_new_session=True)
        except BaseException:
            os.close(read_fd)
            raise
        finally:
            os.close(write_fd)  # the child holds its own copy: EOF here when it exits
        try:
            with os.fdopen(read_fd, encoding="utf-8") as messages:
                child.stdin.write(json.dumps(request).encode("utf-8") + b"\n")
                if callable(state):  # the child starts loading while this process computes the state
                    child.stdin.flush()
                    child.stdin.write(json.dumps(state()).encode("utf-8") + b"\n")
                child.stdin.close()
                outcome = _follow(messages, progress)
            code = child.wait()
        except BaseException:
            _stop(child)
            raise
        stderr.seek(0)
        err_text = stderr.read().decode("utf-8", errors="replace")
    if err_text:
        sys.stderr.write(err_text)  # the child's warnings and logs, where this process's would go
    if code != 0 or "result" not in outcome:
        raise _failure(code, child.pid, outcome.get("error"), err_text)
    if summary is not None:
        summary.update(outcome["result"]["summary"], pid=child.pid)
    return [Path(p) for p in outcome["result"]["paths"]]


def _stop(child: subprocess.Popen) -> None:
    """Kill the child's session (the child and its forked page workers) and reap the child."""
    try:
        os.killpg(child.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    child.wait()


def _follow(messages, progress) -> dict:
    """Read the child's protocol lines until it closes its end: progress goes on, result or error is kept."""
    outcome = {}
    for line in messages:
        kind, _, rest = line.rstrip("\n").partition(" ")
        if kind == "PROGRESS" and progress is not None:
            done, total = rest.split()
            progress(int(done), int(total))
        elif kind == "RESULT":
            outcome["result"] = json.loads(rest)
        elif kind == "ERROR":
            outcome["error"] = json.loads(rest)
    return outcome


def _failure(code: int, pid: int, error: dict | None, err_text: str) -> Exception:
    """The exception for a failed child: the child's own type for input errors, else ReportBuildError."""
    how = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    if error is not None and error["type"] in ("ValueError", "FileNotFoundError"):
        return {"ValueError": ValueError, "FileNotFoundError": FileNotFoundError}[error["type"]](error["message"])
    what = f"{error['type']}: {error['message']}" if error else "no error reported (the process died)"
    tail = "\n".join(err_text.rstrip().splitlines()[-STDERR_TAIL:])
    return ReportBuildError(f"town reports: the report build in child process {pid} failed ({how}): {what}"
                            + (f"\nlast lines of its stderr:\n{tail}" if tail else ""))


# --- in the child ------------------------------------------------------------------------------------

def main(fd: int) -> int:
    """Read the request from stdin, build, and answer on ``fd``; exit 1 on any error (after saying which)."""
    channel = os.fdopen(fd, "w", encoding="utf-8", buffering=1)  # line-buffered: progress arrives at once
    os.dup2(2, 1)  # anything printed to stdout (Python or C) goes to stderr, never into the protocol
    sys.stdout = sys.stderr
    try:
        request = json.loads(sys.stdin.readline())
        # the state follows on the next line when the caller computed it after starting this process
        state = request["state"] if request["state"] is not None else lambda: json.loads(sys.stdin.readline())
        import duckdb

        # the default connection (created when duckdb is imported) would keep a worker thread alive
        duckdb.execute("SET threads TO 1")
        from reports import build

        build.PARALLEL_FROM, build.CHUNK = request["parallel_from"], request["chunk"]  # as in the caller
        summary: dict = {}
        out_dir = Path(request["out_dir"])
        manifest = {} if request["force"] else build.read_manifest(out_dir)
        paths = build.build_here(
            Path(request["published"]), out_dir, request["towns"], summary=summary, workers=request["workers"],
            progress=lambda done, total: channel.write(f"PROGRESS {done} {total}\n"),
            manifest=manifest, state=state)
        channel.write("RESULT " + json.dumps({"paths": [str(p) for p in paths], "summary": summary}) + "\n")
        return 0
    except BaseException as error:  # noqa: BLE001 - every failure must reach the parent with its message
        traceback.print_exc()
        channel.write("ERROR " + json.dumps({"type": type(error).__name__, "message": str(error)}) + "\n")
        return 1
    finally:
        channel.close()


if __name__ == "__main__":
    sys.exit(main(int(sys.argv[1])))
