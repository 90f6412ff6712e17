"""Raw landing: one asset per source in sources.yaml; finds every release and lands it unchanged."""


import datetime as dt
from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue, asset

from pipelines.resources import ReadinessSettings
from pipelines.assets.changes import release_fingerprint
from sources.errors import SourceError
from sources.landing import land_release
from sources.live import FetchOutcome, fetch_source, outcome_rows
from sources.registry import Release, ReleaseFile, SourceSpec, discover_releases, load_sources
from warehouse import store


RELEASE_COLUMNS = ["source_id", "vintage", "revision", "file", "role", "layout", "sha256", "size_bytes", "landed_path",
                   "ingested_at", "publisher", "licence", "licence_url", "attribution", "generation", "mode", "origin"]


def raw_asset(spec: SourceSpec) -> AssetsDefinition:
    """The raw-landing asset of one source."""

    @asset(
        name=f"raw_{spec.source_id}",
        group_name="raw_landing",
        description=f"Every release of '{spec.title}' ({spec.publisher}, {spec.licence}) found in the source "
                    f"directory, copied unchanged into the content-addressed raw landing, with a release record.",
        tags={"stage": "raw", "source": spec.source_id},
        owners=["team:data-engineering"],
    )
    def _raw(context: AssetExecutionContext, settings: ReadinessSettings) -> MaterializeResult:
        root = settings.source_root()
        # a source without a publisher to fetch from (the town's own files) is read from the mirror folder
        fetchable = spec.live is not None
        live = settings.source_mode == "live" and fetchable and not settings.skips(spec)
        if settings.source_mode == "live" and not fetchable:
            context.log.info(f"{spec.source_id}: nothing to fetch (no 'live' section); reading files in {root}")
        elif settings.source_mode == "live" and not live:
            context.log.warning(f"{spec.source_id}: not fetched (READINESS_LIVE_SKIP); using files already in {root}")
        fetched = fetch_live(context, spec, settings) if live else []
        releases = discover_releases(spec, root)
        if not releases and spec.required:
            patterns = ", ".join(p.pattern.pattern for p in spec.files)
            raise SourceError(spec.source_id, str(root), f"no files matching {patterns}")
        landed = [land_release(release, Path(settings.raw_dir), settings.source_mode) for release in releases]
        records = release_records(spec, landed, settings.source_mode, origins(fetched, root))
        with settings.work() as con:
            before = release_fingerprint(con, [spec.source_id])
            store(con, f"raw_{spec.source_id}", "releases", records, source_id=spec.source_id)
            changed = release_fingerprint(con, [spec.source_id]) != before
        summary = f"{len(landed)} releases from {root}" if landed else f"absent: no files in {root} (optional source)"
        since = "changed since the last run" if changed else "unchanged since the last run"
        context.log.info(f"{spec.source_id}: {summary}; {since}")
        metadata = {"source_dir": str(root), "summary": summary, "releases_changed": changed,
                    "vintages": MetadataValue.json([r.vintage for r in landed]), "files": len(records),
                    "bytes": int(records["size_bytes"].sum()) if len(records) else 0}
        if len(records):
            metadata["releases"] = MetadataValue.md(
                records[["vintage", "file", "sha256", "size_bytes"]].to_markdown(index=False))
        if fetched:
            metadata["change"] = change_summary(fetched)
            metadata["downloads"] = MetadataValue.md(pd.DataFrame(outcome_rows(fetched))[
                ["status", "reason", "url", "files"]].to_markdown(index=False))
        return MaterializeResult(metadata=metadata)

    return _raw


def fetch_live(context: AssetExecutionContext, spec: SourceSpec, settings: ReadinessSettings) -> list[FetchOutcome]:
    """Download the source's live releases into the mirror; log what changed (never credentials)."""
    outcomes = fetch_source(spec, Path(settings.live_dir), settings.http_settings(), settings.live_origin or None)
    for outcome in outcomes:
        context.log.info(f"{spec.source_id}: {outcome.status} ({outcome.reason}): {outcome.url}")
    context.log.info(f"{spec.source_id}: {change_summary(outcomes)}")
    return outcomes


def change_summary(outcomes: list[FetchOutcome]) -> str:
    """'unchanged' when every download was a 304 or had the same hash, else what changed."""
    changed = [o for o in outcomes if o.status != "unchanged"]
    if not changed:
        return f"unchanged ({len(outcomes)} downloads, nothing new)"
    return f"changed: {len(changed)} of {len(outcomes)} downloads new or updated"


def origins(fetched: list[FetchOutcome], root: Path) -> dict[str, str]:
    """Mirror-relative file -> URL it came from (live), defaulting to the source directory."""
    by_file = {file: outcome.url for outcome in fetched for file in outcome.files}
    return {"__default__": str(root), **by_file}


def release_records(spec: SourceSpec, releases: list[Release], mode: str, origin: dict[str, str]) -> pd.DataFrame:
    """One row per landed file: provenance copied from sources.yaml, checksum, revision, first landing time, origin."""
    rows = [
        {"source_id": spec.source_id, "vintage": r.vintage, "revision": r.revision, "file": f.relative_path,
         "role": f.role, "layout": f.layout, "sha256": f.sha256, "size_bytes": f.size_bytes,
         "landed_path": str(f.path), "ingested_at": dt.datetime.fromisoformat(r.landed_at), "publisher": spec.publisher, "licence": spec.licence,
         "licence_url": spec.licence_url, "attribution": spec.attribution, "generation": spec.generation,
         "mode": mode, "origin": origin.get(f.relative_path, origin["__default__"])}
        for r in releases for f in r.files
    ]
    return pd.DataFrame(rows, columns=RELEASE_COLUMNS)


def landed_releases(con, source_id: str) -> list[Release]:
    """Rebuild the landed releases of a source from its release records."""
    records = con.execute("SELECT * FROM releases WHERE source_id = ? ORDER BY vintage, file", [source_id]).df()
    releases: dict[str, Release] = {}
    for row in records.itertuples():
        release = releases.setdefault(row.vintage, Release(source_id, row.vintage, revision=row.revision))
        release.files.append(ReleaseFile(role=row.role, path=Path(row.landed_path), relative_path=row.file,
                                         sha256=row.sha256, size_bytes=row.size_bytes, layout=row.layout))
    return list(releases.values())


raw_assets = [raw_asset(spec) for spec in load_sources().values()]
