"""Raw landing: one asset per source in sources.yaml; finds every release and lands it unchanged.

Upstream of each raw asset is an observable source asset ``source/<source>``: observing it (before every
refresh, pipelines/incremental.py) hashes the release files found, which is its data version. A raw asset
records the data version it landed from; a new one makes it stale, and Dagster's staleness carries that
to its descendants. The raw asset's own data version is the fingerprint of its release records, so
landing the same files again changes nothing downstream.
"""


import datetime as dt
import hashlib
import warnings
from pathlib import Path

import pandas as pd
from dagster import (AssetCheckResult, AssetCheckSeverity, AssetCheckSpec, AssetExecutionContext, AssetKey, BetaWarning,
                     AssetsDefinition, AssetSpec, DataVersion, MaterializeResult, MetadataValue, ObserveResult, asset,
                     multi_observable_source_asset)

from pipelines.executors import step_priority
from pipelines.markdown import markdown_table
from pipelines.names import short_key
from pipelines.resources import ReadinessSettings
from sources.errors import SourceError
from sources.landing import land_release
from sources.live import FetchOutcome, fetch_source, outcome_rows
from sources.registry import Release, ReleaseFile, SourceSpec, discover_releases, load_sources, with_release_year
from sources import vintages
from warehouse.registry import registry
from warehouse.workdb import store


RELEASE_COLUMNS = [column.name for column in registry()["releases"].own_columns]  # declared in warehouse/tables.yaml


RELEASE_AGE = "newest_release_age"


def release_age_limit(spec: SourceSpec) -> int | None:
    """Days the newest release may lie in the past (``sources.vintages.release_age_limit``)."""
    return vintages.release_age_limit(spec.cycles)


def release_age(spec: SourceSpec, labels: list[str], today: dt.date | None = None) -> AssetCheckResult:
    """Whether the newest release found is recent for the source's cycles (a warning when it is not).

    Why: the raw asset's freshness policy measures the time since new files of the source were landed; on a
    fresh instance everything was just landed, so years-old data looked fresh (dates review, 4 December)."""
    limit, today = release_age_limit(spec), today or dt.date.today()
    newest = vintages.newest_release(labels)
    if newest is None:
        found = "no release found" if not labels else f"no date in the release ids {labels}"
        return AssetCheckResult(check_name=RELEASE_AGE, passed=True, severity=AssetCheckSeverity.WARN,
                                metadata={"summary": f"{found}: nothing to judge"})
    day, label = newest
    age = (today - day).days
    return AssetCheckResult(
        check_name=RELEASE_AGE, passed=age <= limit, severity=AssetCheckSeverity.WARN,
        metadata={"newest_release": label, "data_at_most_of": day.isoformat(), "age_days": age, "limit_days": limit,
                  "summary": f"newest release {label} (data of {day.isoformat()} or earlier) is {age} days old; "
                             f"two {vintages.main_cycle(spec.cycles)} cycles and a month allow {limit}"})


def raw_asset(spec: SourceSpec) -> AssetsDefinition:
    """The raw-landing asset of one source (with the check of its newest release's age where it has a cycle)."""
    limit = release_age_limit(spec)
    judged = limit is not None
    checks = ([AssetCheckSpec(RELEASE_AGE, asset=f"raw_{spec.source_id}", blocking=False,
                             description=f"The newest release is at most {limit} days old (two "
                                         f"{vintages.main_cycle(spec.cycles)} cycles and a month): a warning, never "
                                         "blocking. The freshness policy only says when new files last arrived.")]
              if judged else [])

    @asset(
        name=f"raw_{spec.source_id}",
        deps=[source_key(spec.source_id)],
        group_name="raw_landing",
        description=f"Every release of '{spec.title}' ({spec.publisher}, {spec.licence}) found in the source "
                    f"directory, copied unchanged into the content-addressed raw landing, with a release record.",
        tags={"stage": "raw", "source": spec.source_id},
        op_tags=step_priority(f"raw_{spec.source_id}"),  # the register chain's sources land first
        owners=["team:data-engineering"],
        check_specs=checks,
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
            before = release_fingerprint(con, spec.source_id)
            store(con, f"raw_{spec.source_id}", "releases", records, source_id=spec.source_id)
            fingerprint = release_fingerprint(con, spec.source_id)
        changed = fingerprint != before
        count = f"{len(landed)} release{'s' if len(landed) != 1 else ''}"
        summary = f"{count} from {root}" if landed else f"absent: no files in {root} (optional source)"
        since = "changed since the last run" if changed else "unchanged since the last run"
        context.log.info(f"{spec.source_id}: {summary}; {since}")
        metadata = {"source_dir": str(root), "summary": summary, "releases_changed": changed,
                    "vintages": MetadataValue.json([r.vintage for r in landed]), "files": len(records),
                    "bytes": int(records["size_bytes"].sum()) if len(records) else 0}
        if len(records):
            metadata["releases"] = MetadataValue.md(
                markdown_table(records[["vintage", "file", "sha256", "size_bytes"]]))
        if fetched:
            metadata["change"] = change_summary(fetched)
            metadata["downloads"] = MetadataValue.md(markdown_table(pd.DataFrame(outcome_rows(fetched))[
                ["status", "reason", "url", "files"]]))
        # the same releases give the same data version: descendants stay up to date
        age = [release_age(spec, [r.label for r in landed])] if judged else []
        return MaterializeResult(metadata=metadata, data_version=DataVersion(fingerprint), check_results=age)

    return _raw


def release_fingerprint(con, source_id: str) -> str:
    """sha256 over the release records (vintage, revision, file, content hash) of one source."""
    rows = con.execute("""SELECT vintage, revision, file, sha256 FROM releases
                          WHERE source_id = ? ORDER BY ALL""", [source_id]).fetchall()
    return hashlib.sha256(repr(rows).encode()).hexdigest()


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
         "licence_url": spec.licence_url, "attribution": with_release_year(spec.attribution, r.vintage),
         "generation": spec.generation,
         "mode": mode, "origin": origin.get(f.relative_path, origin["__default__"])}
        for r in releases for f in r.files
    ]
    if rows and list(rows[0]) != RELEASE_COLUMNS:  # a column declared but not filled here would be stored empty
        raise ValueError(f"release records have the columns {list(rows[0])}; warehouse/tables.yaml declares "
                         f"{RELEASE_COLUMNS} for releases")
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


def source_key(source_id: str) -> AssetKey:
    """The key of a source's observable asset, already the UI's short one (source/<source>, pipelines/names.py):
    source_files reports its observations under this key while it runs, after the keys were replaced."""
    return short_key(f"source_{source_id}", "sources")


def source_spec(spec: SourceSpec) -> AssetSpec:
    """The observable source asset of one source: its files as the publisher (or the source folder) offers them."""
    return AssetSpec(source_key(spec.source_id), group_name="sources", owners=["team:data-engineering"],
                     tags={"stage": "source", "source": spec.source_id},
                     description=f"The release files of '{spec.title}' ({spec.publisher}) in the source directory "
                                 f"(live mode: after fetching them). Observed before each refresh; its data version "
                                 f"is a hash of every file found, so a new, revised or withdrawn file makes "
                                 f"{short_key(f'raw_{spec.source_id}', 'raw_landing').to_user_string()} and everything downstream stale.")


def settings_fingerprint(settings: ReadinessSettings) -> str:
    """What else a result depends on besides the files: where it is read from and written to, and the report
    scope. Another warehouse, folder or scope gives every source a new data version: everything is rebuilt.
    The settings only the publish decides with (lake, READINESS_ALLOW_SHRINK, the allow-list's content) are part of
    the publish assets' code version instead (pipelines/versions.py ``settings_version``): changing one re-runs the
    publish and what follows, not the parsers."""
    return repr([settings.source_mode, str(settings.source_root()), str(settings.published), settings.raw_dir,
                 str(settings.exports), str(settings.reports), settings.report_scope])


def files_fingerprint(releases: list[Release], settings: ReadinessSettings) -> str:
    """The data version of a source: sha256 over the settings and every release file (vintage, path, content hash)."""
    files = [(r.vintage, f.relative_path, f.sha256) for r in releases for f in r.files]
    return hashlib.sha256(repr([settings_fingerprint(settings), sorted(files)]).encode()).hexdigest()


SOURCE_SPECS = load_sources()


def observe_sources(context):
    """One observation per source: data version = hash of its release files (pipelines/incremental.py)."""
    settings: ReadinessSettings = context.resources.settings
    root = settings.source_root()
    for spec in SOURCE_SPECS.values():
        if settings.source_mode == "live" and spec.live is not None and not settings.skips(spec):
            fetch_live(context, spec, settings)
        try:
            releases, problem = discover_releases(spec, root), None
        except SourceError as error:  # a misnamed file in a strict folder: the source's raw step raises it, and
            releases, problem = discover_releases(spec, root, strict=False), str(error)  # the others observe on
        version = files_fingerprint(releases, settings)
        if problem:  # a new version, so the raw step runs (and fails, naming the file) instead of being skipped
            version = hashlib.sha256(f"{version} {problem}".encode()).hexdigest()
        yield ObserveResult(asset_key=source_key(spec.source_id), data_version=DataVersion(version),
                            metadata={"source_dir": str(root), "files": sum(len(r.files) for r in releases),
                                      "vintages": MetadataValue.json([r.vintage for r in releases]),
                                      **({"problem": problem} if problem else {})})


with warnings.catch_warnings():
    # the one API that observes many sources in one step is beta; its BetaWarning printed at every load of the
    # code location, every CLI call included, and says nothing the analyst can act on
    warnings.simplefilter("ignore", BetaWarning)
    source_files = multi_observable_source_asset(
        specs=[source_spec(spec) for spec in SOURCE_SPECS.values()], name="source_files",
        required_resource_keys={"settings"},
        description="Hash the release files of every source (live mode: fetch them first).")(observe_sources)

raw_assets = [source_files, *(raw_asset(spec) for spec in SOURCE_SPECS.values())]
