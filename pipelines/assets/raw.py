"""Raw landing: one asset per source in sources.yaml; finds every release and lands it unchanged."""


import datetime as dt
from pathlib import Path

import pandas as pd
from dagster import AssetExecutionContext, AssetsDefinition, MaterializeResult, MetadataValue, asset

from pipelines.resources import ReadinessSettings
from sources.errors import SourceError
from sources.landing import land_release
from sources.registry import Release, ReleaseFile, SourceSpec, discover_releases, load_sources
from warehouse import replace_rows


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
        releases = discover_releases(spec, root)
        if not releases:
            patterns = ", ".join(p.pattern.pattern for p in spec.files)
            raise SourceError(spec.source_id, str(root), f"no files matching {patterns}")
        landed = [land_release(release, Path(settings.raw_dir)) for release in releases]
        records = release_records(spec, landed)
        with settings.work() as con:
            replace_rows(con, "releases", records, source_id=spec.source_id)
        context.log.info(f"{spec.source_id}: {len(landed)} releases from {root}")
        return MaterializeResult(metadata={
            "source_dir": str(root),
            "vintages": MetadataValue.json([r.vintage for r in landed]),
            "files": len(records),
            "bytes": int(records["size_bytes"].sum()),
            "releases": MetadataValue.md(records[["vintage", "file", "sha256", "size_bytes"]].to_markdown(index=False)),
        })

    return _raw


def release_records(spec: SourceSpec, releases: list[Release]) -> pd.DataFrame:
    """One row per landed file: provenance copied from sources.yaml, checksum and landing path."""
    now = dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)
    rows = [
        {"source_id": spec.source_id, "vintage": r.vintage, "file": f.relative_path, "role": f.role,
         "layout": f.layout, "sha256": f.sha256, "size_bytes": f.size_bytes, "landed_path": str(f.path),
         "ingested_at": now, "publisher": spec.publisher, "licence": spec.licence,
         "licence_url": spec.licence_url, "attribution": spec.attribution}
        for r in releases for f in r.files
    ]
    return pd.DataFrame(rows)


def landed_releases(con, source_id: str) -> list[Release]:
    """Rebuild the landed releases of a source from its release records."""
    records = con.execute("SELECT * FROM releases WHERE source_id = ? ORDER BY vintage, file", [source_id]).df()
    releases: dict[str, Release] = {}
    for row in records.itertuples():
        release = releases.setdefault(row.vintage, Release(source_id, row.vintage))
        release.files.append(ReleaseFile(role=row.role, path=Path(row.landed_path), relative_path=row.file,
                                         sha256=row.sha256, size_bytes=row.size_bytes, layout=row.layout))
    return list(releases.values())


raw_assets = [raw_asset(spec) for spec in load_sources().values()]
