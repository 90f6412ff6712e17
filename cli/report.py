"""`readiness report <town>` / `readiness report --all`: build the HTML town reports (reports/build.py)."""

from __future__ import annotations

from pathlib import Path

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from cli.store import CliError, open_warehouse, warehouse_path
from cli.towns import resolve


def _builder():
    """reports.build, imported lazily: the other commands need not load it."""
    try:
        from reports import build
    except ImportError as error:
        raise CliError(f"Der Berichtsbau (reports/build.py) lässt sich nicht laden: {error}") from error
    return build


def default_out_dir(build) -> Path:
    """Where reports go unless --out is given: READINESS_REPORTS_DIR, else data/reports (reports.build)."""
    return build.reports_dir()


def report_town(query: str, out_dir: Path | None) -> Path:
    """Build the report of the town named by ``query`` (name or AGS); returns the report's path."""
    published = warehouse_path()
    with open_warehouse(published, current=True) as con:
        town = resolve(con, query)
    build = _builder()
    return build.build_town_report(published, out_dir or default_out_dir(build), town.ags)


def report_all(out_dir: Path | None, show_progress: bool = True) -> list[Path]:
    """Build every town's report with a progress bar; returns the paths written."""
    published = warehouse_path()
    open_warehouse(published, current=True).close()  # a clear message: missing, or too old
    build = _builder()
    columns = [TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()]
    with Progress(*columns, disable=not show_progress) as progress:
        task = progress.add_task("town reports", total=None)

        def step(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        return build.build_reports(published, out_dir or default_out_dir(build), progress=step)
