"""Peak memory of a refresh, per step: a sampling thread over /proc, cheap enough for benchmarks.

``RssSampler`` reads the resident set size (VmRSS) of this process and of every process below it (the
multiprocess executor's step processes are grandchildren under Dagster's forkserver, which
``RUSAGE_CHILDREN`` never sees) every ``interval`` seconds, and keeps each process's high-water mark (VmHWM,
exact: the kernel records it, the sampling cannot miss it). ``step_peaks`` then gives every step of a run
its peak: the VmHWM of the step's own process (multiprocess: one process per step, found by the pid Dagster
records in the step's start event) or, when all steps share one process (in-process executor), the highest
sampled RSS within the step's start and end and how much it rose above the RSS at the start.

``memory_hooks`` is the refresh job's hook: after every step the C heap's
free pages go back to the system (``release_memory``), and the run log gets the process's RSS and peak.

Forked processes share their parent's pages until either writes them (the report build's page workers
share the loaded data), so the sum of the RSS of a process tree counts shared pages once per process and
overstates what the machine holds. The sampler therefore also sums the proportional set size (PSS, from
``/proc/<pid>/smaps_rollup``: each shared page divided among the processes sharing it) over the tree:
``peak_pss_total``. Reading smaps_rollup walks the process's page tables: 10.5 ms for an 852 MiB
process (the report data loaded; 0.1 ms for its /proc status, 2026-12-02 at load 3), so the PSS is read
every PSS_EVERY-th sample (once a second by default), the RSS every sample.

Linux only (/proc, glibc); elsewhere the sampler records nothing and the release does nothing.
No Dagster import at module level: unit tests and benchmarks use the sampler without it.
"""

from __future__ import annotations

import ctypes
import os
import sys
import threading
import time
from pathlib import Path

PROC = Path("/proc")
PSS_EVERY = 10  # samples: smaps_rollup costs ~100 times a status read (see above)


def _status_kib(pid: int | str, fields: tuple[str, ...] = ("VmRSS", "VmHWM")) -> dict[str, int]:
    """The named /proc/<pid>/status fields in KiB (empty when the process is gone or not Linux)."""
    values = {}
    try:
        with open(PROC / str(pid) / "status", encoding="ascii", errors="replace") as status:
            for line in status:
                name, _, rest = line.partition(":")
                if name in fields:
                    values[name] = int(rest.split()[0])
    except (OSError, ValueError, IndexError):
        return {}
    return values


def pss_kib(pid: int | str) -> int:
    """Proportional set size of a process in KiB (``Pss:`` of /proc/<pid>/smaps_rollup; 0 when the
    process is gone or the kernel has no smaps_rollup)."""
    try:
        with open(PROC / str(pid) / "smaps_rollup", "rb") as rollup:
            for line in rollup:
                if line.startswith(b"Pss:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        return 0
    return 0


def descendants(root: int) -> list[int]:
    """Pids of every living process below ``root`` (children, grandchildren, ...), from /proc/<pid>/stat."""
    parents: dict[int, int] = {}
    try:
        entries = [e for e in os.listdir(PROC) if e.isdigit()]
    except OSError:
        return []
    for entry in entries:
        try:
            with open(PROC / entry / "stat", encoding="ascii", errors="replace") as stat:
                # the command name may hold spaces and parentheses: the fields after the last ')' are safe
                parents[int(entry)] = int(stat.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent]
        found.extend(children)
        frontier.extend(children)
    return found


class RssSampler:
    """Context manager: samples this process's RSS and its descendants' until it exits.

    ``samples`` are (monotonic-free wall time, own RSS MiB, sum of descendants' RSS MiB); ``peaks`` maps every
    pid seen to its highest VmHWM in MiB (this process's included); ``pss_samples`` are (wall time, own PSS MiB,
    sum of the descendants' PSS MiB; every PSS_EVERY-th sample), the honest sum when forked processes
    share pages.
    """

    def __init__(self, interval: float = 0.1, children: bool = True):
        self.interval = interval
        self.children = children
        self.samples: list[tuple[float, float, float]] = []
        self.pss_samples: list[tuple[float, float, float]] = []
        self.peaks: dict[int, float] = {}
        self._known: list[int] = []
        self._count = 0  # samples taken: new processes are looked for, and PSS read, every n-th
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> "RssSampler":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()  # the last state, so a short run still has one sample

    def _run(self) -> None:
        while not self._stop.is_set():
            self._sample()
            self._stop.wait(self.interval)

    def _sample(self) -> None:
        me = os.getpid()
        own = _status_kib(me)
        if not own:
            return
        self.peaks[me] = max(self.peaks.get(me, 0.0), own.get("VmHWM", 0) / 1024)
        others = 0.0
        with_pss = self._count % PSS_EVERY == 0
        look_for_new = self._count % 5 == 0
        self._count += 1
        own_pss, pss = (pss_kib(me) if with_pss else 0), 0
        if self.children:
            # walking all of /proc costs far more than reading a few status files: new processes are
            # looked for every 5th sample (a step process lives for seconds; its VmHWM keeps its peak)
            if look_for_new:
                self._known = descendants(me)
            for pid in self._known:
                status = _status_kib(pid)
                if status:
                    others += status.get("VmRSS", 0) / 1024
                    self.peaks[pid] = max(self.peaks.get(pid, 0.0), status.get("VmHWM", 0) / 1024)
                    if with_pss:
                        pss += pss_kib(pid)
        now = time.time()
        self.samples.append((now, own.get("VmRSS", 0) / 1024, others))
        if with_pss:
            self.pss_samples.append((now, own_pss / 1024, pss / 1024))

    def peak_own(self) -> float:
        """Highest RSS of this process in MiB (its VmHWM)."""
        return self.peaks.get(os.getpid(), 0.0)

    def peak_children(self) -> float:
        """Highest RSS of any one descendant process in MiB (0 when there was none)."""
        me = os.getpid()
        return max((mib for pid, mib in self.peaks.items() if pid != me), default=0.0)

    def peak_total(self) -> float:
        """Highest sampled sum of this process and all its descendants in MiB (what the machine had to hold)."""
        return max((own + others for _, own, others in self.samples), default=0.0)

    def peak_pss_total(self) -> float:
        """Highest sampled PSS of this process and all its descendants together in MiB: what the tree held,
        pages shared by forked processes counted once (``peak_total`` counts them once per process)."""
        return max((own + others for _, own, others in self.pss_samples), default=0.0)

    def peak_pss_children(self) -> float:
        """Highest sampled PSS sum of the processes below this one in MiB (this process left out)."""
        return max((others for _, _, others in self.pss_samples), default=0.0)

    def window(self, start: float, end: float) -> tuple[float, float]:
        """(highest sampled own RSS within [start, end], own RSS at start) in MiB; (0, 0) without samples."""
        before = [own for t, own, _ in self.samples if t <= start]
        inside = [own for t, own, _ in self.samples if start <= t <= end]
        at_start = before[-1] if before else (inside[0] if inside else 0.0)
        return max(inside, default=at_start), at_start


def step_peaks(sampler: RssSampler, instance, run_id: str) -> list[dict]:
    """Every step of the run with its peak RSS: ``step``, ``seconds``, ``pid``, ``peak_mib``, ``rise_mib``.

    A step in a process of its own (multiprocess executor) gets that process's VmHWM and no rise; a step in
    the run's process gets the highest RSS sampled during it and the rise over the RSS at its start.
    """
    from dagster import DagsterEventType

    pids = {}
    for record in instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_START).records:
        event = record.event_log_entry.dagster_event
        pids[event.step_key] = event.pid
    rows = []
    for stats in instance.get_run_step_stats(run_id):
        if not (stats.start_time and stats.end_time):
            continue
        pid = pids.get(stats.step_key)
        if pid is not None and pid != os.getpid() and pid in sampler.peaks:
            peak, rise = sampler.peaks[pid], None
        else:
            peak, at_start = sampler.window(stats.start_time, stats.end_time)
            rise = peak - at_start
        rows.append({"step": stats.step_key, "start": stats.start_time, "seconds": stats.end_time - stats.start_time,
                     "pid": pid, "peak_mib": peak, "rise_mib": rise})
    return sorted(rows, key=lambda row: row["start"])


# --- after every step: give freed memory back, and say how much the step's process holds ----------------

def release_memory() -> None:
    """Hand the C heap's free pages back to the system (glibc ``malloc_trim``), and pyarrow's.

    Why: in the in-process executor every step runs in the run's process; the frames a step freed stay
    in the C heap (pandas' and DuckDB's allocations below the mmap threshold), so the next step starts
    from the last one's high water instead of from what is still in use. Without glibc nothing is trimmed.
    No ``gc.collect()`` here: a full collection took about 115 ms in a step process (measured 2026-12-02 on
    the Breitbandatlas frames, 169,000 tracked objects), i.e. about 11 s per 97-step refresh and in every
    test run of the job, while the frames steps drop are freed by reference counting anyway (trim: 0-7 ms).
    """
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)
    # pyarrow keeps what it freed in its own allocator (mimalloc here, not glibc): after reading one INKAR
    # parquet file into pandas and dropping the frame, 80 MiB stayed resident through malloc_trim until
    # released (2026-12-02). Only when pyarrow is already imported: importing it here would cost more than
    # it returns.
    arrow = sys.modules.get("pyarrow")
    if arrow is not None:
        arrow.default_memory_pool().release_unused()


def _libc():
    """glibc through ctypes when this is a glibc system (None on macOS, musl, Windows)."""
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim  # noqa: B018 - AttributeError when the C library has no malloc_trim
        return libc
    except (OSError, AttributeError):
        return None


def memory_line(step_key: str) -> str:
    """'step X: RSS now N MiB, process peak so far M MiB' for the run's log (empty without /proc)."""
    status = _status_kib(os.getpid())
    if not status:
        return ""
    return (f"memory after step {step_key}: RSS {status.get('VmRSS', 0) / 1024:.0f} MiB after releasing, "
            f"process peak so far {status.get('VmHWM', 0) / 1024:.0f} MiB (pid {os.getpid()})")


class _MallInfo2(ctypes.Structure):
    """glibc's ``struct mallinfo2`` (glibc >= 2.33): what the C heap holds in use and free."""
    _fields_ = [(name, ctypes.c_size_t) for name in
                "arena ordblks smblks hblks hblkhd usmblks fsmblks uordblks fordblks keepcost".split()]


def memory_detail() -> str:
    """Where this process's memory is, for diagnosis (``READINESS_MEMORY_DETAIL=1`` adds it to the run log):
    anonymous and file-backed RSS (/proc/self/smaps_rollup), the C heap in use / free / mmapped (glibc
    ``mallinfo2``; DuckDB's own allocator and Python's object arenas are not in it), Python's allocated
    blocks, threads, and the tracked objects by type (the five most numerous; costs a walk of all objects)."""
    import collections
    import gc

    rollup = {}
    try:
        with open(PROC / "self" / "smaps_rollup", encoding="ascii") as lines:
            for line in lines:
                name, _, rest = line.partition(":")
                if name in ("Rss", "Anonymous", "Pss_File"):
                    rollup[name] = int(rest.split()[0]) // 1024
    except (OSError, ValueError, IndexError):
        return ""
    heap = ""
    libc = _libc()
    if libc is not None and hasattr(libc, "mallinfo2"):
        libc.mallinfo2.restype = _MallInfo2
        info = libc.mallinfo2()
        heap = (f"C heap in use {info.uordblks >> 20} MiB, free {info.fordblks >> 20} MiB, "
                f"mmapped {info.hblkhd >> 20} MiB; ")
    objects = gc.get_objects()  # one walk of all tracked objects for both figures
    kinds = collections.Counter(type(o).__name__ for o in objects)
    frames = [o for o in objects if type(o).__name__ == "DataFrame"]
    del objects
    frame_mib = sum(int(f.memory_usage(deep=False).sum()) for f in frames) >> 20
    return (f"RSS {rollup.get('Rss', 0)} MiB (anonymous {rollup.get('Anonymous', 0)}, "
            f"files {rollup.get('Pss_File', 0)}); "
            f"{heap}Python blocks {sys.getallocatedblocks()}; threads {threading.active_count()}; "
            f"{len(frames)} DataFrames {frame_mib} MiB; objects {sum(kinds.values())}: "
            + ", ".join(f"{k} {n}" for k, n in kinds.most_common(5)))


def memory_hooks() -> set:
    """The hook of the refresh job (pipelines/definitions.py): after every step, successful or failed,
    ``release_memory`` and a line with the process's RSS and peak in the run's log (the UI shows it).

    ONE hook for both outcomes, not a ``@success_hook`` and a ``@failure_hook``: Dagster runs every hook of
    the job after every step and records each as an event, so the pair wrote a HOOK_SKIPPED event (the hook
    whose outcome did not happen) besides the HOOK_COMPLETED after every step, ~9 ms a step in an in-process
    run (cProfile of a snapshot run, 2026-12-02, load 7). A ``HookDefinition`` whose function runs on any
    outcome is what those decorators build internally (``event_list_hook``), minus the outcome test.

    Built here on demand so that this module imports without Dagster (the benchmarks' sampler, unit tests).
    """
    from dagster import HookContext, HookDefinition
    from dagster._core.definitions.events import HookExecutionResult  # what a hook function must return

    def after_step(context: HookContext, event_list) -> HookExecutionResult:
        # a failed step's frames are as large as a successful one's: both release and log
        release_memory()
        line = memory_line(context.step_key)
        if line:
            context.log.info(line)
        if os.environ.get("READINESS_MEMORY_DETAIL"):  # diagnosis only: walks every Python object
            context.log.info(f"memory detail after step {context.step_key}: {memory_detail()}")
        return HookExecutionResult(hook_name=HOOK_NAME, is_skipped=False)

    return {HookDefinition(name=HOOK_NAME, hook_fn=after_step)}


HOOK_NAME = "release_memory_after_step"
