"""Town reports: static German HTML pages built from the published warehouse (reports/build.py)."""


from dagster import AssetExecutionContext, AssetKey, MaterializeResult, MetadataValue, asset

from indicators.catalogue import load_catalogue
from pipelines.resources import ReadinessSettings
from reports.build import build_reports, reports_dir

# The page the metadata links to: the first pilot town of the catalogue named Mölln.
MOELLN = next(ags for ags, name in load_catalogue().pilot_towns.items() if name == "Mölln")


@asset(group_name="reports", deps=[AssetKey("published_warehouse")], tags={"stage": "reports"},
       owners=["team:data-engineering"],
       description="One HTML page per Gemeinde (Überblick, Indexverlauf, Säulen, Treiber, Indikatoren, "
                   "Vergleichsstädte, Karte, Pendlerströme, Coworking, Datenstand), the network page of the "
                   "pilot towns and an index page; self-contained files that work offline. Written to "
                   "data/reports (READINESS_REPORTS_DIR overrides).")
def town_reports(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
    out_dir = reports_dir()
    step = {"next": 0.1}

    def progress(done: int, total: int) -> None:
        if done / total >= step["next"] or done == total:
            context.log.info(f"town reports: {done}/{total} pages")
            step["next"] = done / total + 0.1

    paths = build_reports(settings.published, out_dir, progress=progress)
    moelln = out_dir / f"{MOELLN}.html"
    return MaterializeResult(metadata={
        "pages": MetadataValue.int(len(paths)),
        "town_pages": MetadataValue.int(len(paths) - 2),
        "path": MetadataValue.path(str(out_dir)),
        "index": MetadataValue.url((out_dir / "index.html").as_uri()),
        "moelln": MetadataValue.url(moelln.as_uri()),
    })


report_assets = [town_reports]
