"""Town reports: static German HTML pages built from the published warehouse (reports/build.py)."""


import duckdb
from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from indicators.catalogue import load_catalogue
from pipelines.resources import ReadinessSettings
from reports.build import build_reports

# The page the metadata links to: the first pilot town of the catalogue named Mölln.
MOELLN = next(ags for ags, name in load_catalogue().pilot_towns.items() if name == "Mölln")


@asset(group_name="reports", deps=[AssetKey("published_warehouse")], tags={"stage": "reports"},
       owners=["team:data-engineering"],
       description="One HTML page per Gemeinde (Überblick, Stärken und Handlungsfelder, Indexverlauf, Säulen, "
                   "Treiber, Indikatoren, Vergleichsstädte, Karte, Pendlerströme, Coworking, Mobilfunk, "
                   "Coworking-Lücke, Datenstand), the network page of the pilot towns, the coworking-gap ranking "
                   "and an index page; self-contained files that work offline. Pages for the towns of "
                   "the reference group and the pilot towns (READINESS_REPORT_SCOPE: reference_group | pilots | "
                   "all), written to data/reports (READINESS_REPORTS_DIR overrides).")
def town_reports(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    out_dir = settings.reports
    towns = report_towns(settings.published, settings.report_scope)
    step = {"next": 0.1}

    def progress(done: int, total: int) -> None:
        if done / total >= step["next"] or done == total:
            context.log.info(f"town reports: {done}/{total} pages")
            step["next"] = done / total + 0.1

    # in a fresh interpreter (reports/child.py): this process runs Dagster's and DuckDB's threads, so only
    # a child may fork page workers; a failure there fails this step with the child's exit code and message
    summary: dict = {}
    paths = build_reports(settings.published, out_dir, towns=towns, progress=progress, summary=summary, isolate=True)
    if summary.get("removed"):  # pages of towns outside the scope (an earlier wider build): never left stale
        context.log.info(f"town reports: removed {summary['removed']} pages (with their downloads) of towns outside "
                         f"READINESS_REPORT_SCOPE={settings.report_scope}")
    if "pid" in summary:  # absent when nothing changed (no child was needed)
        context.log.info(f"town reports: {summary['written']} pages written, {summary['unchanged']} unchanged, "
                         f"in child process {summary['pid']} with {summary['processes']} page process(es)")
    moelln = out_dir / f"{MOELLN}.html"
    return MaterializeResult(metadata={
        "scope": settings.report_scope,
        "written": MetadataValue.int(summary["written"]),
        "removed": MetadataValue.int(summary.get("removed", 0)),  # pages of towns outside the scope
        # text, not numbers: the UI plots numeric metadata over runs, and a process id is no trend
        "render_processes": MetadataValue.text(str(summary.get("processes", 0))),
        "build_pid": MetadataValue.text(str(summary.get("pid", "none (nothing changed)"))),
        "pages": MetadataValue.int(len(paths)),  # the town pages, the network page and the index
        "town_pages": MetadataValue.int(len(dict.fromkeys(towns))),
        "path": MetadataValue.path(str(out_dir)),
        "index": MetadataValue.url((out_dir / "index.html").as_uri()),
        "moelln": MetadataValue.url(moelln.as_uri()),
    })


def report_towns(published, scope: str) -> list[str]:
    """The towns that get a page: the reference group (default), the pilot towns, or every Gemeinde."""
    condition = {"reference_group": "in_reference_group OR is_pilot", "pilots": "is_pilot", "all": "TRUE"}
    if scope not in condition:
        raise ValueError(f"READINESS_REPORT_SCOPE={scope!r} must be one of {sorted(condition)}")
    with duckdb.connect(str(published), read_only=True) as con:
        return [row[0] for row in con.execute(
            f"SELECT ags FROM municipalities WHERE {condition[scope]} ORDER BY ags").fetchall()]


report_assets = [town_reports]
