"""Exports of the published warehouse for planners without DuckDB: Excel, German CSV, Parquet, GeoPackage.

After each publish, ``export_planner_views`` writes every planner view (``warehouse.publish.PLANNER_VIEWS``)
as Parquet (technical column names, for analysts), as ``.xlsx`` and as German CSV (German headers,
``;`` as separator, decimal comma, UTF-8 with BOM, so Excel with German settings opens it as it is),
and ``municipalities.gpkg`` with the towns in scope and their latest index,
into a new directory ``<out_dir>/<UTC timestamp>/``. The directory is filled under a hidden
temporary name and renamed when complete, then the ``latest`` symlink is repointed atomically,
so a reader following ``latest`` never sees a half-written export. The last three exports are kept.

Everything streams from DuckDB, nothing is loaded whole into Python: Parquet and CSV by ``COPY``
(the German text of numbers, booleans and times is shaped in SQL), the ``.xlsx`` rows as
SpreadsheetML built in SQL and written in batches (``write_xlsx_query``). A view above one Excel
sheet gets its latest period as ``.xlsx`` (``xlsx_plan``; the full history stays in CSV and Parquet).
``manifest.json`` records each file's rows, size, SHA-256, the publish it was exported from and its view's
fingerprint; a view whose fingerprint is unchanged since the previous export is hard-linked from there
instead of written again, and the export's check (``verify_export``) verifies the manifest instead of
parsing every file again.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

from zoneinfo import ZoneInfo

import duckdb
import pandas as pd

from indicators import flags, publisher_notes
from indicators.bands import RANK_DECIMALS, SIGNIFICANT_DIGITS
from indicators.catalogue import CONTEXT, DIRECTION_DE, Catalogue, load_catalogue
from indicators.engine import published_scores
from sources import names as naming
from sources.names import ABBREVIATED_DESIGNATIONS, kreis_cells
from sources.registry import RELEASE_YEAR, attribution_text, sha256_of, sources as source_specs
from sources.vintages import NEWEST_FIRST
from staging import boundaries
from warehouse.paths import DEFAULT_EXPORTS_DIR, LATEST, MANIFEST, duckdb_config, exports_dir  # noqa: F401 (re-exported)
from warehouse.publish import PLANNER_VIEWS
from warehouse.registry import registry
from warehouse.sql import identifier, literal

KEEP_EXPORTS = 3
GEOPACKAGE = "municipalities.gpkg"
LOCAL_TIME_ZONE = "Europe/Berlin"
EXPORT_VERSION = "10"  # raise to rewrite every file for a cause outside this module, its titles and headers
# (layout_version covers those: an edit here, a title or a header rewrites the files without a bump)
EXCEL_MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows per sheet, less the header


def newest_year(vintages: str) -> str:
    """SQL: the newest year named in a list of release ids ('vg250-2025-01-01' and 'vg5000-2021-01-01': '2025'; the ids
    do not sort by date)."""
    return f"list_max(list_transform({vintages}, lambda v: regexp_extract(v, {literal(RELEASE_YEAR)}, 0)))"


def sources_rows(con: duckdb.DuckDBPyConnection) -> list[tuple]:
    """(source, publisher, licence, licence URL, attribution) per source of the warehouse for the sheet "Quellen und
    Lizenzen" of every workbook: the source by its German name, the attribution as the pages print it for the newest
    release (``_attribution_sql``, the SQL of sources.registry.attribution_text, as the view's exported column)."""
    names = _source_names()
    query = (f"SELECT source_id, publisher, licence, licence_url, {_attribution_sql(newest_year('vintages'))} "
             "FROM source_attribution ORDER BY source_id")
    return [(names.get(source, source), *rest) for source, *rest in con.execute(query).fetchall()]


# Columns written as text in Excel: keys with leading zeros, never numbers.
TEXT_COLUMNS = {"ags", "peer_ags", "kreis_ags"}

# Overall scores in the German CSV/.xlsx as published (catalogue score_decimals; SQL's round rounds halves away from
# zero as indicators.engine.published_scores does): the ranks compare that score, so towns with one rank have one
# Indexwert in the file; a gap is the difference of the two scores shown. Parquet keeps full precision.
SCORE_COLUMNS = {"score", "score_p05", "score_median", "score_p95", "peer_score"}
SCORE_GAPS = {"gap_score": ("peer_score", "score")}  # column -> (minuend, subtrahend)
# (the pillars' gaps, PILLAR_GAPS, with the same decimals)
# The Monte Carlo's rank percentiles, as the pages show them (indicators.bands.RANK_DECIMALS) instead of the float's
# noise (2.0499999999999545). Parquet keeps full precision.
RANK_QUANTILES = {"rank_median", "rank_p05", "rank_p95"}

# A CSV text cell starting with one of these is a formula to Excel (=HYPERLINK(...), +cmd|..., @SUM, a tab before
# =): names from OpenStreetMap and the towns' own lists reach the planners' spreadsheets, so such a cell is written
# with a leading apostrophe (OWASP "CSV injection"). The .xlsx files hold every text as a text cell already.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def defused(text: str) -> str:
    """A CSV text cell that Excel shows as text, never evaluates (``FORMULA_START``)."""
    return "'" + text if text.startswith(FORMULA_START) else text


def _defused_sql(expression: str) -> str:
    """``defused`` in SQL, for the exports' CSV (COPY writes the shaped rows)."""
    return f"CASE WHEN regexp_matches({expression}, '^[=+@\\t\\r-]') THEN '''' || {expression} ELSE {expression} END"


@functools.cache
def _catalogue() -> Catalogue:
    """The catalogue (pillar and unit names, the sources of each pillar), read once per process."""
    return load_catalogue()


@functools.cache
def _source_names() -> dict[str, str]:
    """Source id -> short German name (sources.yaml ``label_de``)."""
    return {source_id: spec.label_de for source_id, spec in source_specs().items()}


# The pillars' gaps (peer's pillar score minus the town's) with the same decimals: peer_comparison has no pillar
# scores to round first, so the gap itself is rounded. Full precision wrote "-7,1054273576e-15" where the two
# pillar scores are equal (Stadtsteinach and Dollnstein, Pendelpotenzial, review of the build of 5 December).
PILLAR_GAPS = {f"gap_{pillar}" for pillar in _catalogue().pillars}
# The pillar scores (latest_ranking, town_index_history) with the overall score's decimals, as the pages and the CLI
# show them: beside "Indexwert 83,8" and the gaps' "31,5" they read "93,5866666667" (audit of 7 December 2026).
PILLAR_SCORES = set(_catalogue().pillars)


GAP_SIGN = "(Vergleichsgemeinde − Gemeinde)"  # the sign of peer_comparison's gaps: positive, the peer is ahead

VIEW_TITLES = registry().planner_views  # the German title of each view's workbook (warehouse/tables.yaml)

# German column headers of the .xlsx and CSV exports (Parquet keeps the technical names).
GERMAN_HEADERS = {
    "name": "Gemeinde", "ags": "AGS", "kreis_name": "Kreis", "kreis_ags": "Kreis-AGS", "land": "Land",
    "period": "Jahr", "score": "Indexwert", "rank": "Rang", "rank_median": "Rang (Median)",
    "rank_p05": "Rang 5-%-Perzentil", "rank_p95": "Rang 95-%-Perzentil",
    "score_median": "Indexwert (Median)", "score_p05": "Indexwert 5-%-Perzentil",
    "score_p95": "Indexwert 95-%-Perzentil", "compared_towns": "verglichene Gemeinden",
    "provisional": "vorläufig", "period_provisional": "Jahr vorläufig",
    "ranking_period": "Jahr der Rangliste", "in_published_score": "im veröffentlichten Indexwert",
    # a value its publisher gives by year only (INKAR's accessibility) counts as 31.12. of that year (tables.yaml);
    # the headers say so, as these views' notes (the pillars left out) do not (review of the build of 6 December 2026)
    "oldest_input_date": "ältester Datenstand (Jahreswerte als 31.12.)",
    "newest_input_date": "neuester Datenstand (Jahreswerte als 31.12.)",
    "omitted_pillars": "nicht bewertete Säulen", "uncompared_pillars": "nicht im Gesamtwert gezählte Säulen",
    # columns of codes say so, as the other code columns (a reviewer read `gemeinde`, `snapshot` as untranslated)
    "reference_group_rule": "Regel der Vergleichsgruppe (Code)", "base_period": "Basisjahr",
    "territorial_change": "Gebietsänderung (Code)", "method_break": "Methodenwechsel",
    "source_level": "Gebietsebene der Quelle (Code)", "excluded_reason": "Ausschlussgrund (Code)",
    "in_reference_group": "in der Vergleichsgruppe", "reference_group": "Vergleichsgruppe",
    # the share of the score's WEIGHT resting on carried-forward values (docs/data-dictionary.md), not of the values
    "imputed_share": "Gewichtsanteil fortgeschriebener Werte am Indexwert (0–1)",
    "missing_pillars": "fehlende Säulen", "notes": "Hinweise",
    "method_version": "Methodenversion", "published_at": "veröffentlicht (Ortszeit Berlin)",
    "pillar": "Säule", "indicator_id": "Indikator-ID", "label": "Indikator", "value": "Wert",
    "unit": "Einheit", "direction": "Wirkungsrichtung", "imputed": "fortgeschrieben", "imputation": "Fortschreibung",
    "quality_note": "Qualitätshinweis", "source_id": "Quelle", "vintage": "Ausgabe der Quelle",
    "reference_date": "Stichtag", "publisher": "Herausgeber", "licence": "Lizenz", "licence_url": "Lizenz-URL",
    "attribution": "Quellenvermerk", "vintages": "Ausgaben der Quelle", "max_revision": "letzte Revision",
    "latest_ingested_at": "zuletzt geladen (Ortszeit Berlin)", "files": "Dateien", "mode": "Quellmodus (Code)",
    "peer_rank": "Ähnlichkeitsrang", "peer_name": "Vergleichsgemeinde", "peer_kreis": "Kreis der Vergleichsgemeinde",
    "peer_ags": "AGS der Vergleichsgemeinde", "similarity": "Ähnlichkeit", "peer_score": "Indexwert Vergleichsgemeinde",
    # the dates of the town's structure features the similarity rests on (indicators/peers.py FEATURE_DATES)
    "population_date": "Stichtag Einwohnerzahl (Gemeinde)", "job_centrality_date": "Stichtag Pendlersaldo (Gemeinde)",
    # the gaps with their sign: peer_comparison (warehouse/views.sql, indicators/peers.py) computes peer minus town
    "gap_score": f"Abstand Indexwert {GAP_SIGN}",
    # per pillar, with its name from the catalogue: "Säule Digitale Infrastruktur",
    # "Abstand Digitale Infrastruktur (Vergleichsgemeinde − Gemeinde)"
    **{pillar: f"Säule {_catalogue().pillar_label(pillar)}" for pillar in _catalogue().pillars},
    **{f"gap_{pillar}": f"Abstand {_catalogue().pillar_label(pillar)} {GAP_SIGN}" for pillar in _catalogue().pillars},
}

# Each key's newest boundary (sources.vintages.NEWEST_FIRST: the newest territorial status; on the same date the detailed
# VG250 before VG5000) with its date, and the crosswalk's steps (rejected ones left out by staging.boundaries): the
# Gemeinden of today are drawn from them in today's territory where it is made of whole Gemeinden of the boundaries'
# date, and flagged where it changed otherwise after that date (staging.boundaries.boundaries_of_today). Allendorf
# (Eder) kept its key through a merger of 2023 and was drawn at 40.8 km² of its 2021 boundary beside a registered
# 77.0 km², unmarked (audit of 6 December 2026). One rule for the GeoPackage and the pages' maps (reports/data.py).
LATEST_GEOMETRIES = f"""
SELECT ags, vintage, territorial_date, name, geometry_wkb FROM municipality_geometries
QUALIFY row_number() OVER (PARTITION BY ags ORDER BY {NEWEST_FIRST}) = 1
ORDER BY ags"""
TODAY = "SELECT ags, name FROM municipalities"


def latest_geometries(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per key its outline, the Gemeinden of today in today's territory where whole outlines make it
    (staging.boundaries.boundaries_of_today, whose columns it returns)."""
    return boundaries.from_database(con, LATEST_GEOMETRIES, TODAY)


# Towns in scope (the ranked reference group: small towns and the pilots) with their index row of the period
# published as the latest (the view published_period, the pages' headline), scored or not, under the current method
# version; write_geopackage adds the geometry (latest_geometries).
# Why a town has no score in the published period comes from its latest_ranking row: ``ranking_period`` (that
# period) and ``missing_pillars`` (the required pillars without data then, NULL for a scored town). The row of the
# score shown never has it (a scored row misses no pillar), so an unscored town's reason was NULL (review of 5 December:
# Tangstedt, Nieste on the full data).
TOWNS_SQL = f"""
WITH latest_index AS (  -- the published year's row, scored or not, as latest_ranking and the maps (a town without a
    -- score in it had its 2018 score under a layer description naming the published year; review of 5 December)
    SELECT * FROM town_index_history WHERE period = (SELECT period FROM published_period)
)
SELECT m.ags, m.name, m.kreis_ags, m.kreis_name, m.land, m.is_pilot, m.population, m.population_date,
       i.period, i.score, i.rank, i.compared_towns, i.rank_median, i.rank_p05, i.rank_p95,
       {', '.join(f"i.{pillar}" for pillar in _catalogue().pillars)},
       i.imputed_share, l.period AS ranking_period, l.missing_pillars, i.method_version
FROM municipalities m
LEFT JOIN latest_index i USING (ags)
LEFT JOIN latest_ranking l USING (ags)
WHERE m.in_reference_group
ORDER BY m.ags
"""


def export_planner_views(published: Path, out_dir: Path | None = None) -> dict[str, int]:
    """Export every planner view (Parquet, CSV, .xlsx) and the towns' GeoPackage; return the rows per export file.

    A file whose view content and layout (export version, title, headers, export code) are the same as in the
    previous export is hard-linked from there instead of being written again (``manifest.json`` holds each view's
    fingerprint).
    Raises ValueError naming the view and the file when a planner view is missing from ``published``.
    """
    published = Path(published)
    out_dir = Path(out_dir) if out_dir is not None else exports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    staging = out_dir / f".{stamp}.partial"
    staging.mkdir()
    try:
        with duckdb.connect(str(published), read_only=True, config=export_config()) as con:
            con.execute("SET enable_progress_bar = false")  # no progress bars on the asset's stderr
            check_views(con, published)
            manifest = write_views(con, staging, read_manifest(out_dir / LATEST))
            published_at = latest_publish(con)[0]
            manifest[GEOPACKAGE] = {"rows": write_geopackage(con, staging / GEOPACKAGE, published_at)}
        for name, entry in manifest.items():  # what the check verifies instead of reading every file again
            entry.update(file_digest(staging / name), published_at=published_at)
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        final = out_dir / stamp
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    point_latest(out_dir, final)
    prune(out_dir, KEEP_EXPORTS)
    return {name: entry["rows"] for name, entry in manifest.items()}


def export_config() -> dict[str, str]:
    """DuckDB settings of the export's connection: the pipeline's (memory limit), and one thread per query.

    Why one thread: the planner views have no ORDER BY, and a query running on several threads returns
    their joined rows in an order that varies from run to run, so two exports of the same published file
    differed in their bytes (and SHA-256). On one thread each view's rows come in the order its tables
    are stored in, which the candidate build fixes (history tables in ``HISTORY_ORDER``, i.e. town by
    town; the others as the working tables hold them). The files stay written side by side, each by its
    own cursor and thread (``EXPORT_THREADS``). Measured 2026-12-02 on the full data: no more CPU than
    before (10.7-11.3 against 11.8-12.2 s for all files), while sorting every view by its key in SQL
    instead cost 3.8 CPU s more and raised the process's peak by about 0.8 GiB (the sorts hold the rows).
    """
    return {**duckdb_config(), "threads": "1"}


def file_digest(path: Path) -> dict:
    """Size and SHA-256 of an export file, recorded in the manifest: a later check proves the file is the one
    written (and so holds the rows the writer counted) without parsing it again."""
    return {"bytes": path.stat().st_size, "sha256": sha256_of(path)}


def latest_publish(con: duckdb.DuckDBPyConnection) -> tuple[str | None, dict]:
    """(published_at as ISO text with its UTC offset, rows per table and view) of the file's latest publish, from
    publish_log. The offset: manifest.json's "2026-12-07T00:25:33" read as the local time beside the files' "Ortszeit
    Berlin" 01:25:33 (audit of 7 December 2026).

    ``build_candidate`` counts every table and view into ``changes.rows``; the published file is never
    written after it is swapped in, so those counts are the file's. ({} for a file without them.)
    """
    row = con.execute("SELECT published_at, changes FROM publish_log ORDER BY published_at DESC LIMIT 1").fetchone()
    if row is None:
        return None, {}
    try:
        rows = json.loads(row[1] or "{}").get("rows") or {}
    except ValueError:
        rows = {}
    return row[0].replace(tzinfo=dt.timezone.utc).isoformat(), rows  # publish_log keeps UTC (warehouse/tables.yaml)


def verify_export(published: Path, directory: Path) -> list[str]:
    """Problems of the export in ``directory`` against the published warehouse (empty: complete).

    Every planner view must be there in every format, as the file the export wrote (size and SHA-256 in
    manifest.json), of the latest publish, with as many rows as the view has (the .xlsx of a view above
    one Excel sheet: as many as its latest period). The rows are those each writer counted; the view's
    rows come from the counts the publish recorded (publish_log), counted here only when missing.
    """
    manifest = read_manifest(directory)
    problems = []
    with duckdb.connect(str(published), read_only=True) as con:
        con.execute("SET enable_progress_bar = false")
        published_at, counts = latest_publish(con)
        for view in PLANNER_VIEWS:
            expected = counts.get(view)
            if expected is None:
                expected = con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
            expected_xlsx = expected if expected <= XLSX_ROW_LIMIT else con.execute(
                f"SELECT count(*) FROM ({xlsx_plan(con, view)[0]})").fetchone()[0]
            for fmt, wanted in (("parquet", expected), ("csv", expected), ("xlsx", expected_xlsx)):
                problems += _file_problems(directory, manifest.get(f"{view}.{fmt}"), f"{view}.{fmt}", wanted,
                                           published_at)
    return problems


def _file_problems(directory: Path, entry: dict | None, name: str, rows: int, published_at: str | None) -> list[str]:
    """What is wrong with one export file against its manifest entry and the rows it must hold."""
    path = directory / name
    if not path.is_file():
        return [f"missing {name}"]
    if entry is None or "sha256" not in entry:
        return [f"{name}: not in {directory / MANIFEST} (rows, size and SHA-256 of each file)"]
    if entry.get("published_at") != published_at:
        return [f"{name}: exported from the publish of {entry.get('published_at')}, the warehouse is of {published_at}"]
    if path.stat().st_size != entry["bytes"] or sha256_of(path) != entry["sha256"]:
        return [f"{name}: changed since it was written (size or SHA-256 differ from {MANIFEST})"]
    if entry["rows"] != rows:
        return [f"{name}: {entry['rows']} rows, expected {rows}"]
    return []


def check_views(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """Fail before writing anything when a planner view is not in the published file."""
    present = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    missing = [view for view in PLANNER_VIEWS if view not in present]
    if missing:
        raise ValueError(f"cannot export {published}: planner view(s) {', '.join(missing)} missing from the file")


def read_manifest(directory: Path) -> dict:
    """The manifest of an earlier export (``{}`` when there is none or it is unreadable: then all is written)."""
    try:
        manifest = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return {name: dict(entry, directory=str(directory.resolve())) for name, entry in manifest.items()
            if isinstance(entry, dict)}


def view_fingerprint(con: duckdb.DuckDBPyConnection, view: str, common: str) -> str:
    """Digest of the view's rows (order-independent, DuckDB hashes in parallel), its columns and ``common``.

    ``common`` carries what every file of a view also shows: the sources sheet and the pillar labels; the
    export version, the layout (``layout_version``: code, titles, headers), the view's title, its columns'
    German headers and its workbook's note (``xlsx_plan``) are added here. Equal fingerprint, equal files: the
    earlier files can be reused.
    """
    count, total = con.execute(f"SELECT count(*), sum(hash(v)::HUGEINT) FROM {view} v").fetchone()
    columns = con.execute(f"SELECT column_name, column_type FROM (DESCRIBE {view})").fetchall()
    # the workbook's title (warehouse/tables.yaml), the German headers of its columns and the note of a view cut to
    # one period (xlsx_plan: it names the published period, another view's content) are in the files too
    note = xlsx_plan(con, view, count, {name for name, _ in columns})[1]  # the count and columns just read
    shown = [VIEW_TITLES.get(view, view), german_headers(name for name, _ in columns), note]
    return hashlib.sha256(repr([EXPORT_VERSION, layout_version(), common, count, str(total), columns, shown])
                          .encode()).hexdigest()[:32]


@functools.cache
def layout_version() -> str:
    """Digest of what shapes every export file besides the data: this module's source (the SQL that words the
    German CSV, the workbook and sources-sheet layout, GERMAN_HEADERS, RENDERED_DE), every view's title and the
    versions of the libraries that write the bytes (DuckDB: Parquet and CSV; XlsxWriter: .xlsx).

    Why: with only EXPORT_VERSION in the fingerprint, a changed header or title re-ran the export step but
    hard-linked the old files (``_reuse``), even with ``--alles-neu``; now a layout change rewrites them
    without anyone remembering to raise EXPORT_VERSION (review of 5 December)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        writer = version("XlsxWriter")
    except PackageNotFoundError:  # not installed: no .xlsx can be written either
        writer = None
    # this module and the naming rules its SQL writes out (sources/names.py: the abbreviated designations)
    source = [sha256_of(Path(__file__)), sha256_of(Path(naming.__file__))]
    # the German notes' SQL, written by indicators/flags.py and indicators/publisher_notes.py, not this module
    notes = {name: render(set(columns) | {"source_id", "reference_date", "indicator_id"})
             for name, (columns, render) in RENDERED_DE.items()}
    return repr([source, sorted(VIEW_TITLES.items()), sorted(GERMAN_HEADERS.items()), duckdb.__version__, writer,
                 sorted(notes.items())])


def write_views(con: duckdb.DuckDBPyConnection, directory: Path, previous: dict | None = None,
                threads: int | None = None) -> dict[str, dict]:
    """Write each planner view as Parquet, German CSV and .xlsx; return the manifest (rows, fingerprint per file).

    All three stream from DuckDB (COPY for Parquet and CSV, record batches for .xlsx), so memory does
    not grow with the view. A file whose fingerprint equals the one in ``previous`` is hard-linked.
    The files are written by ``threads`` (default ``EXPORT_THREADS``) threads, each with its own cursor.
    """
    previous = previous or {}
    manifest, todo = {}, []
    sources = sources_rows(con)
    common = common_fingerprint(con, sources)
    for view in PLANNER_VIEWS:
        fingerprint = view_fingerprint(con, view, common)
        for fmt in WRITERS:
            name = f"{view}.{fmt}"
            entry = manifest[name] = {"rows": None, "view": view, "fingerprint": fingerprint}
            entry["rows"] = _reuse(previous.get(name), fingerprint, directory / name)
            if entry["rows"] is None:
                todo.append((name, view, fmt))
    for name, rows in _write_files(con, directory, todo, sources, threads or EXPORT_THREADS):
        manifest[name]["rows"] = rows
    return manifest


def _write_files(con, directory: Path, todo: list[tuple[str, str, str]], sources: list, threads: int):
    """(file name, rows) of each (name, view, format) in ``todo``, written by ``threads`` threads.

    Why threads: the .xlsx spends its time in DuckDB (building the rows' XML) and in zlib (XlsxWriter
    compressing the sheet), both outside the GIL, so a second file's SQL runs while the first is
    compressed: on 2 cores the export's wall time drops, its CPU time stays. Each thread has its own
    DuckDB cursor (a connection is not for concurrent use); the files are the same bytes as written one
    by one. The first failure cancels the files not started and is raised.
    """
    def write(task):
        name, view, fmt = task
        cursor = con.cursor()
        try:
            cursor.execute("SET enable_progress_bar = false")
            return name, WRITERS[fmt](cursor, view, directory / name, sources)
        finally:
            cursor.close()

    if threads <= 1:
        return [write(task) for task in todo]
    pool = ThreadPoolExecutor(threads, thread_name_prefix="export")
    try:
        return [future.result() for future in [pool.submit(write, task) for task in todo]]
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


# Threads writing the export files (this machine's 2 cores). Measured 2026-12-02 on a copy of the full build,
# 1 and 2 threads alternating: wall 13.1 / 14.4 / 17.6 / 21.3 s with one, 11.6 / 11.5 / 16.0 / 19.1 s with two
# (load 0.9-3.9), CPU the same (11.5-14.6 s); at load 6-7 (all cores busy) no difference.
EXPORT_THREADS = 2
# file format -> writer(cursor, view, target, sources) returning the rows written
WRITERS = {
    "parquet": lambda con, view, target, sources: con.execute(
        f"COPY (SELECT * FROM {view}) TO ? (FORMAT parquet)", [str(target)]).fetchone()[0],
    "csv": lambda con, view, target, sources: write_german_csv(con, f"SELECT * FROM {view}", target),
    "xlsx": lambda con, view, target, sources: write_view_xlsx(con, view, target, sources),
}


def _reuse(entry: dict | None, fingerprint: str, target: Path) -> int | None:
    """Hard-link the earlier file when its fingerprint matches; its rows, or None when it must be written."""
    if not entry or entry.get("fingerprint") != fingerprint or entry.get("rows") is None:
        return None
    try:  # a link, not a copy: no bytes written, and pruning the old directory leaves this file intact
        os.link(Path(entry["directory"]) / target.name, target)
    except OSError:  # gone, or another file system: write it again
        return None
    return entry["rows"]


def _german_omitted() -> str:
    """The German note of an index row (flags.omitted_sql) with the pillars' and sources' German names, the sources in
    the catalogue's order as the pages and the CLI name them (sorted by German name, the CSV listed them the other
    way round; planner walkthrough of 7 December 2026)."""
    catalogue, names = _catalogue(), _source_names()
    sources = {p: [names.get(s, s) for s in catalogue.pillar_sources(p)] for p in catalogue.pillars}
    return flags.omitted_sql("de", sources, pillar_labels())


def _attribution_sql(vintage: str) -> str:
    """SQL of ``attribution_text`` per row: a source's ``attribution_de`` with the year of ``vintage`` (an expression
    over the row's release), else the stored attribution."""
    year = f"coalesce(regexp_extract(CAST({vintage} AS VARCHAR), {literal(RELEASE_YEAR)}, 0), '')"
    cases = " ".join(f"WHEN {literal(source)} THEN CASE WHEN {year} = '' "
                     f"THEN {literal(attribution_text(source, None, None))} "  # no year: "(year)" left out, as there
                     f"ELSE replace({literal(spec.attribution_de)}, '{{year}}', {year}) END"
                     for source, spec in source_specs().items() if spec.attribution_de)
    return f"CASE source_id {cases} ELSE attribution END" if cases else "attribution"


def _german_value_note(columns: set[str]) -> str:
    """The German note of an indicator value (flags.value_note_sql) and, where the view has the row's source and
    date, what the publisher says of a change across a census or a break in comparability, as the pages say it
    (indicators/publisher_notes.py): the exports left it out, so a census's recount read as people leaving (review
    of 6 December 2026)."""
    if not {"source_id", "reference_date"} <= columns:
        return flags.value_note_sql("de")
    # and, where it has the indicator, that the day of a year-only value is set (its typed date stays as stored)
    year_only = publisher_notes.year_only_note_sql() if "indicator_id" in columns else "NULL"
    return (f"nullif(concat_ws('; ', {flags.value_note_sql('de')}, {publisher_notes.change_notes_sql()}, {year_only}), "
            "'')")


# English note columns the German CSV/.xlsx replace by the German text of the same typed columns (indicators/flags.py):
# column -> (the typed columns it is rendered from, the SQL expression given the view's columns)
RENDERED_DE = {
    "quality_note": ({"excluded_reason", "base_period", "source_level", "territorial_change", "method_break"},
                     _german_value_note),
    "imputation": ({"imputed", "reference_date"}, lambda columns: flags.imputation_sql("de")),
    "notes": ({"omitted_pillars", "uncompared_pillars"}, lambda columns: _german_omitted()),
}


def common_fingerprint(con: duckdb.DuckDBPyConnection, sources: list) -> str:
    """``shared_fingerprint`` and the Kreise's names the files write (``export_kreis_cells``): they are not in the
    views' rows but in their Kreis columns, so a renamed Kreis rewrites the files."""
    return shared_fingerprint(sources) + repr(sorted(export_kreis_cells(con).items()))


def shared_fingerprint(sources: list) -> str:
    """What every view's files show besides the view's rows: the sources sheet, the German pillar, unit, direction
    and source names, the scores' and rank percentiles' decimals, the other decimals' significant digits, the German
    flag texts of the notes, the indicator values' decimals per unit and the designations written out in the names
    (a changed label or precision rewrites the files)."""
    return repr([sources, sorted(pillar_labels().items()), sorted(_catalogue().units.items()),
                 sorted(DIRECTION_DE.items()), sorted(_source_names().items()), _catalogue().score_decimals,
                 RANK_DECIMALS, SIGNIFICANT_DIGITS, sorted(flags.CODES.items()),
                 sorted(_catalogue().value_decimals.items()), sorted(ABBREVIATED_DESIGNATIONS.items())])


def pillar_labels() -> dict[str, str]:
    """Pillar id -> German name ("Digitale Infrastruktur"), and "Kontext" for context indicators."""
    return {pillar: _catalogue().pillar_label(pillar) for pillar in [CONTEXT, *_catalogue().pillars]}


def german_headers(columns) -> list[str]:
    """The German header of each column; a column without a translation keeps its technical name."""
    return [GERMAN_HEADERS.get(column, column) for column in columns]


def _pillar_expression(column: str) -> str:
    """SQL mapping a pillar id to its German name; an unknown id stays as it is."""
    return _mapping_expression(column, pillar_labels())


def _pillar_list_expression(column: str) -> str:
    """SQL mapping comma-separated pillar ids ('a,b') to their German names ('Name A, Name B'); NULL stays NULL."""
    ids = f"list_filter(string_split(CAST({column} AS VARCHAR), ','), lambda p: trim(p) <> '')"
    return f"nullif(array_to_string(list_transform({ids}, lambda p: {_mapping_expression('trim(p)', pillar_labels())}), ', '), '')"


def _direction_expression(column: str) -> str:
    """SQL mapping an indicator's direction code to its German wording (indicators.catalogue.DIRECTION_DE)."""
    return _mapping_expression(column, DIRECTION_DE)


def _unit_expression(column: str) -> str:
    """SQL mapping an indicator unit to its German wording (catalogue ``units``); an unknown one stays as it is."""
    return _mapping_expression(column, _catalogue().units)


def _display_name_expression(column: str) -> str:
    """SQL of a Gemeinde's name as the pages write it (reports.labels.display_name): the designation the register
    abbreviates written out ('Dießen am Ammersee, M' -> 'Dießen am Ammersee, Markt'), any other name as it is."""
    cases = " ".join(f"WHEN suffix({column}, {literal(', ' + short)}) "
                     f"THEN left({column}, length({column}) - {len(short)}) || {literal(full)}"
                     for short, full in ABBREVIATED_DESIGNATIONS.items())
    return f"CASE {cases} ELSE {column} END"


# Kreis name columns -> {the column keying the row's Kreis: the SQL of its Kreis AGS}, the first one present is used
KREIS_COLUMNS = {"kreis_name": {"kreis_ags": "kreis_ags", "ags": "left(ags, 5)"},
                 "peer_kreis": {"peer_ags": "left(peer_ags, 5)"}}


def _kreis_key(name: str, columns) -> str | None:
    """The SQL of the row's Kreis AGS for a Kreis name column (``KREIS_COLUMNS``), None for any other column or where
    the query has no column keying it."""
    return next((sql for key, sql in KREIS_COLUMNS.get(name, {}).items() if key in columns), None)


def export_kreis_cells(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Kreis AGS -> the Kreis as the pages' tables name it (``sources.names.kreis_cells``: the BKG's spelling,
    'Mühldorf a. Inn' for the register's 'Mühldorf a.Inn', and 'Osnabrück (Landkreis)' where two Kreise share a
    name); empty for a file without the Kreise (the register's names stay)."""
    relations = {name for (name,) in con.execute("SELECT table_name FROM duckdb_tables() UNION ALL "
                                                 "SELECT view_name FROM duckdb_views()").fetchall()}
    if not {"kreise", "municipalities"} <= relations:
        return {}
    kreise = con.execute("SELECT ags, name, designation FROM kreise").df()
    towns = con.execute("SELECT DISTINCT kreis_ags, kreis_name FROM municipalities").df()
    return {ags: cell for ags, cell in kreis_cells(kreise, towns).items() if isinstance(cell, str)}


def _kreis_expression(con: duckdb.DuckDBPyConnection, column: str, key: str) -> str:
    """SQL of a Kreis name column as ``export_kreis_cells`` names the row's Kreis (``key``: the SQL of its AGS): a
    MAP literal of the ~400 Kreise, looked up per row (0.04 s for town_profile's 130,326 rows)."""
    cells = export_kreis_cells(con)
    if not cells:
        return column
    entries = ", ".join(f"{literal(ags)}: {literal(cell)}" for ags, cell in sorted(cells.items()))
    return f"coalesce(MAP {{{entries}}}[{key}], {column})"


# columns holding codes, written with the catalogue's German names (an unknown code as it is)
CODED_COLUMNS = {"pillar": _pillar_expression, "unit": _unit_expression, "direction": _direction_expression,
                 "missing_pillars": _pillar_list_expression, "omitted_pillars": _pillar_list_expression,
                 "uncompared_pillars": _pillar_list_expression,
                 "source_id": lambda column: _mapping_expression(column, _source_names()),
                 # a Gemeinde's names as the pages write them (the warehouse and the Parquet files keep the register's)
                 "name": _display_name_expression, "peer_name": _display_name_expression}


def _mapping_expression(column: str, labels: dict[str, str]) -> str:
    cases = " ".join(f"WHEN {literal(code)} THEN {literal(label)}" for code, label in labels.items())
    return f"CASE {column} {cases} ELSE {column} END"


def _local_time(column: str, kind) -> str:
    """A stored time as Berlin local time (TIMESTAMP): the warehouse keeps naive UTC, Excel has no zones."""
    if kind.id == "timestamp with time zone":
        return f"timezone({literal(LOCAL_TIME_ZONE)}, {column})"
    return f"timezone({literal(LOCAL_TIME_ZONE)}, CAST({column} AS TIMESTAMP) AT TIME ZONE 'UTC')"


TIME_TYPES = {"timestamp", "timestamp_ns", "timestamp_ms", "timestamp_s", "timestamp with time zone"}
DECIMAL_TYPES = {"double", "float", "decimal"}


def spreadsheet_columns(con: duckdb.DuckDBPyConnection, query: str, csv: bool) -> list[tuple[str, str, str, str | None]]:
    """(SQL expression, German header, kind, decimals) per column of ``query``, shaped for the CSV or the .xlsx.

    The shaping happens in DuckDB, so rows stream: times in Berlin local time, lists as ``a, b``,
    pillars by their German name. For the CSV also the German number and boolean text (DuckDB's
    COPY writes no decimal comma: ``DECIMAL_SEPARATOR`` is a read option only in 1.5); for the .xlsx
    dates and times as Excel serial days. ``kind`` is what the .xlsx writer needs: text, decimal,
    integer, boolean, date, time or key (AGS-like text kept as text in Excel). ``decimals``: SQL of the decimals a
    number column is published with (``_decimals``; None for other columns), which the .xlsx shows it with.
    """
    relation = con.sql(query)
    shaped = []
    for name, kind in zip(relation.columns, relation.types):
        column, header = identifier(name), GERMAN_HEADERS.get(name, name)
        kreis_key = _kreis_key(name, relation.columns)
        if name in TEXT_COLUMNS:
            shaped.append((f"CAST({column} AS VARCHAR)", header, "key", None))
        elif kreis_key is not None:  # the Kreis as the pages name it, the register's name where the BKG has none
            text = _kreis_expression(con, column, kreis_key)
            shaped.append((_defused_sql(text) if csv else text, header, "text", None))
        elif name in CODED_COLUMNS:  # the catalogue's German names; an unmapped code passes through, so defused
            text = CODED_COLUMNS[name](column)
            shaped.append((_defused_sql(text) if csv else text, header, "text", None))
        elif name == "attribution" and "source_id" in relation.columns and ({"vintage", "vintages"} & set(relation.columns)):
            # as the pages print it: for the row's release (town_profile) or the source's newest (source_attribution)
            release = "vintage" if "vintage" in relation.columns else newest_year("vintages")
            shaped.append((_attribution_sql(release), header, "text", None))
        elif name in RENDERED_DE and RENDERED_DE[name][0] <= set(relation.columns):
            shaped.append((RENDERED_DE[name][1](set(relation.columns)), header, "text", None))  # from the typed columns
        elif kind.id in DECIMAL_TYPES:
            # SIGNIFICANT_DIGITS, then the shortest digits of that double (0.1 stays 0,1), point swapped for the
            # comma; NaN written empty
            value = (_published_score(name, set(relation.columns))
                     or _published_value(name, set(relation.columns))
                     or f"CAST(printf('%.{SIGNIFICANT_DIGITS}g', {column}) AS DOUBLE)")
            number = f"CASE WHEN isnan({value}) THEN NULL ELSE {value} END"
            decimals = _decimals(name, set(relation.columns))
            shaped.append((f"replace({_csv_number(number, decimals)}, '.', ',')" if csv else number, header, "decimal",
                           decimals))
        elif kind.id == "boolean":
            shaped.append((f"CASE WHEN {column} THEN 'WAHR' WHEN NOT {column} THEN 'FALSCH' END" if csv else column,
                           header, "boolean", None))
        elif kind.id in TIME_TYPES:
            local = _local_time(column, kind)
            shaped.append((f"strftime({local}, '%Y-%m-%d %H:%M:%S')" if csv
                           else f"epoch_us({local}) / 86400e6 + {EXCEL_EPOCH_DAYS}", header, "time", None))
        elif kind.id == "date":
            shaped.append((f"strftime({column}, '%Y-%m-%d')" if csv
                           else f"CAST({column} - DATE '1899-12-30' AS BIGINT)", header, "date", None))
        elif kind.id == "list":
            text = f"array_to_string({column}, ', ')"
            shaped.append((_defused_sql(text) if csv else text, header, "text", None))
        elif kind.id in INTEGER_KINDS:
            shaped.append((column, header, "integer", None))
        elif kind.id == "varchar":
            shaped.append((_defused_sql(column) if csv else column, header, "text", None))
        else:  # anything else (intervals, structs, huge integers) as DuckDB prints it
            text = f"CAST({column} AS VARCHAR)"
            shaped.append((_defused_sql(text) if csv else text, header, "text", None))
    return shaped


def _csv_number(number: str, decimals: str | None) -> str:
    """The CSV text of a number: with exactly ``decimals`` (SQL; a score's or a unit's published decimals) where they
    are known, so a unit published without decimals reads 412, not 412,0 (DuckDB writes a whole double with ".0";
    planner's review of 6 December 2026), else DuckDB's shortest digits. + 0.0: no "-0,0"."""
    if decimals is None:
        return f"CAST({number} AS VARCHAR)"
    fixed = f"printf('%.' || {decimals} || 'f', {number} + 0.0)"
    return f"CASE WHEN {decimals} IS NULL THEN CAST({number} AS VARCHAR) ELSE {fixed} END"


def _decimals(name: str, columns: set[str]) -> str | None:
    """SQL of the decimals a column is published with: a score's or a gap of scores' (score_decimals), a rank
    percentile's as the pages show it (RANK_DECIMALS, none where it is a whole rank: 103 and 457,1, not 103,0), an
    indicator value's by its row's unit (value_decimals; NULL for a unit the catalogue does not know), else None."""
    if name in SCORE_COLUMNS or name in PILLAR_SCORES or name in SCORE_GAPS or name in PILLAR_GAPS:
        return str(_catalogue().score_decimals)
    if name in RANK_QUANTILES:
        shown = f"round(CAST({identifier(name)} AS DOUBLE), {RANK_DECIMALS})"
        return f"(CASE WHEN {shown} = round({shown}) THEN 0 ELSE {RANK_DECIMALS} END)"
    return _value_decimals(name, columns)


def _published_score(name: str, columns: set[str]) -> str | None:
    """The SQL of a score column as published (SCORE_COLUMNS, PILLAR_SCORES), a gap of two scores with the same
    decimals (SCORE_GAPS, PILLAR_GAPS) or a rank percentile as shown (RANK_QUANTILES), or None for any other column."""
    digits = _catalogue().score_decimals
    if name in RANK_QUANTILES:
        return f"round(CAST({identifier(name)} AS DOUBLE), {RANK_DECIMALS})"
    if name in SCORE_COLUMNS or name in PILLAR_SCORES:
        return f"round(CAST({identifier(name)} AS DOUBLE), {digits})"
    if name in SCORE_GAPS and set(SCORE_GAPS[name]) <= columns:
        minuend, subtrahend = (f"round(CAST({identifier(c)} AS DOUBLE), {digits})" for c in SCORE_GAPS[name])
        return f"(round({minuend} - {subtrahend}, {digits}) + 0.0)"  # + 0.0: no "-0,0"
    if name in SCORE_GAPS or name in PILLAR_GAPS:  # a gap of two scores, with the scores' decimals
        return f"(round(CAST({identifier(name)} AS DOUBLE), {digits}) + 0.0)"  # + 0.0: -7e-15 gives 0,0, not -0,0
    return None


# An indicator value (a view's ``value`` beside its ``unit``) at the decimals its unit is published with (catalogue
# units ``value_decimals``): a value restated onto today's territory, the predecessors' values weighted by population,
# is stored at full float precision and was written as "83,6367521547" (Süderbrarup, review of 5 December); a value as
# published has no more decimals than these and is written unchanged. Parquet keeps full precision.
VALUE_COLUMNS = {"value": "unit"}  # column -> the column naming its unit


def _published_value(name: str, columns: set[str]) -> str | None:
    """The SQL of an indicator value rounded to its unit's ``value_decimals`` (a unit the catalogue does not know
    keeps the significant digits of any other number), or None for any other column."""
    decimals = _value_decimals(name, columns)
    if decimals is None:
        return None
    column = f"CAST({identifier(name)} AS DOUBLE)"
    return (f"CASE WHEN {decimals} IS NULL THEN CAST(printf('%.{SIGNIFICANT_DIGITS}g', {column}) AS DOUBLE) "
            f"ELSE round({column}, {decimals}) END")


def _value_decimals(name: str, columns: set[str]) -> str | None:
    """SQL of an indicator value's decimals by its row's unit (catalogue ``value_decimals``; NULL for a unit the
    catalogue does not know), or None for a column that is no indicator value beside its unit."""
    unit = VALUE_COLUMNS.get(name)
    if unit is None or unit not in columns:
        return None
    cases = " ".join(f"WHEN {literal(u)} THEN {d}" for u, d in sorted(_catalogue().value_decimals.items()))
    return f"(CASE CAST({identifier(unit)} AS VARCHAR) {cases} END)"


INTEGER_KINDS = {"tinyint", "smallint", "integer", "bigint", "utinyint", "usmallint", "uinteger", "ubigint"}
EXCEL_EPOCH_DAYS = 25569  # 1970-01-01 as an Excel serial day (day 0 is 1899-12-30, exact from March 1900 on)


def write_german_csv(con: duckdb.DuckDBPyConnection, query: str, target: Path) -> int:
    """CSV as German Excel reads it: ``;``, decimal comma, UTF-8 with BOM, booleans WAHR/FALSCH; returns rows.

    Written by DuckDB's COPY straight from SQL (streaming, no DataFrame). The BOM is the first
    character of the first header: COPY has no BOM option, and a header ``\ufeffGemeinde`` puts the
    three bytes at the very start of the file without a second pass over it.
    Read it back with ``pd.read_csv(path, sep=";", decimal=",", dtype={"AGS": str})``.
    """
    shaped = spreadsheet_columns(con, query, csv=True)
    select = ", ".join(f"{expression} AS {identifier(BOM + header if index == 0 else header)}"
                       for index, (expression, header, _, _) in enumerate(shaped))
    return con.execute(f"COPY (SELECT {select} FROM ({query})) TO ? (FORMAT csv, DELIMITER ';', HEADER)",
                       [str(target)]).fetchone()[0]


BOM = "\ufeff"


def xlsx_plan(con: duckdb.DuckDBPyConnection, view: str, rows: int | None = None,
              columns: set[str] | None = None) -> tuple[str, str | None]:
    """(query, note) of the view's .xlsx: the whole view when it fits one Excel sheet, else its latest period.

    A view above Excel's 1,048,576 rows per sheet (on the full data only ``indicator_history``,
    ~1 M rows of all Gemeinden and years) gets as .xlsx the rows of its latest period, on one
    sheet (filters and pivot tables work on one sheet only), and the note on the sources sheet points to
    the full history in the CSV and Parquet of the same view. A view without a ``period`` column that
    is too large continues on further sheets ("Daten 2", ...).

    The note also says what that period is (``_period_note``): on the Germany-wide build the latest period of
    indicator_history, 2023, is 82 % carried forward, while the ranking and the town pages lead with 2021
    (review of 5 December: the note named the year and nothing else). ``rows`` and ``columns``: the view's row
    count and column names when the caller has them (``view_fingerprint``), else they are read.
    """
    query = f"SELECT * FROM {view}"
    if rows is None:
        rows = con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]
    if columns is None:
        columns = {row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()}
    if "period" not in columns:
        return query, None
    if rows <= XLSX_ROW_LIMIT:  # the whole view; the note says what its years are where that needs saying
        return query, _period_note(con, view, None, columns).strip() or None
    latest = con.execute(f"SELECT max(period) FROM {view}").fetchone()[0]
    note = (f"Diese Arbeitsmappe enthält nur das Jahr {latest} ({view} hat {german_count(rows)} Zeilen, mehr als ein "
            f"Excel-Blatt fasst). Alle Jahre: {view}.csv und {view}.parquet im selben Ordner.")
    return f"SELECT * FROM {view} WHERE period = {int(latest)}", note + _period_note(con, view, int(latest), columns)


def german_count(number: int) -> str:
    """A count as German text: 1.076.593."""
    return f"{number:,}".replace(",", ".")


def _period_note(con: duckdb.DuckDBPyConnection, view: str, period: int | None, columns: set[str]) -> str:
    """What the workbook's period is, for the note of a view cut to one period (``xlsx_plan``; ``period`` None: of a
    whole view), in German: when most of its rows are carried forward (column ``imputed``), how many; when the
    ranking leads with another period (``published_period``) than the workbook's (latest), which; a whole view of one
    period, that period (the title of latest_ranking says "des letzten Jahres", planner's review of 6 December 2026).
    Empty when there is nothing to add. Why the whole view too: town_profile's workbook gave "Jahr 2023" on 119,043 rows, 97,330 of them
    carried forward, beside a ranking of 2021, and said nothing (dates review of 6 December 2026)."""
    sentences = []
    shown = period
    if period is None:  # a whole view of one year says which: latest_ranking.xlsx was "Rangliste des letzten Jahres"
        years, shown = con.execute(f"SELECT count(DISTINCT period), max(period) FROM {view}").fetchone()
        if years == 1:
            sentences.append(f"Spalte „Jahr“: {shown} in allen Zeilen.")
    where, of_year = ("WHERE period = ?", f" des Jahres {period}") if period is not None else ("", "")
    if "imputed" in columns:
        total, carried = con.execute(f"SELECT count(*), count(*) FILTER (imputed) FROM {view} {where}",
                                     [period] if period is not None else []).fetchone()
        if total and carried * 2 > total:  # mostly carried forward
            sentences.append(
                f"{german_count(carried)} der {german_count(total)} Zeilen{of_year} "
                f"({round(100 * carried / total)} %) sind aus früheren Ständen fortgeschrieben (Spalte "
                f"„fortgeschrieben“), nicht neu erhoben.")
    # the period the ranking and the pages lead with, declared once in the view published_period
    declared = con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = 'published_period'").fetchone()[0]
    ranking = con.execute("SELECT period FROM published_period").fetchone()[0] if declared else None
    if ranking is not None and shown is not None and ranking != shown:
        sentences.append(f"Die Rangliste (latest_ranking) führt {ranking} als aktuelles Jahr.")
    return "".join(" " + sentence for sentence in sentences)


XLSX_ROW_LIMIT = EXCEL_MAX_ROWS  # a view above one sheet gets its latest period (own name: tests lower it alone)


def write_view_xlsx(con: duckdb.DuckDBPyConnection, view: str, target: Path, sources: list | None = None) -> int:
    """The view's .xlsx (see ``xlsx_plan`` for views above one sheet); returns the data rows written."""
    query, note = xlsx_plan(con, view)
    return write_xlsx_query(con, query, target, VIEW_TITLES.get(view, view), sources, note)


def write_xlsx(frame: pd.DataFrame, target: Path, title: str, sources=None) -> int:
    """A DataFrame as .xlsx (as ``write_xlsx_query``): for callers that already hold a small frame."""
    con = duckdb.connect()
    try:
        con.register("frame", frame)
        if isinstance(sources, pd.DataFrame):
            sources = list(sources[["source_id", "publisher", "licence", "licence_url", "attribution"]]
                           .itertuples(index=False, name=None))
        return write_xlsx_query(con, "SELECT * FROM frame", target, title, sources)
    finally:
        con.close()


def write_xlsx_query(con: duckdb.DuckDBPyConnection, query: str, target: Path, title: str,
                     sources: list | None = None, note: str | None = None) -> int:
    """An Excel workbook: the rows of ``query`` on sheet "Daten", sources and licences on "Quellen und Lizenzen".

    Cells keep their types (numbers, dates, booleans); AGS and other key columns are text cells with
    the text format "@", so Excel never drops the leading zero of "01053090". Rows beyond one sheet
    continue on further sheets "Daten 2", ... Returns the data rows written.

    XlsxWriter (``constant_memory``) writes the workbook: styles, header, frozen pane, filter, the
    sources sheet. The data rows are the one part it does not write: XlsxWriter spends ~20 µs per cell
    in Python (minutes for the 20 M cells of the full indicator history), so DuckDB builds each row's
    SpreadsheetML (``<row><c>…</c></row>``, the same cells XlsxWriter writes) vectorised in SQL, and the
    rows stream in Arrow batches into the worksheet's row file, which XlsxWriter copies into the sheet
    at ``close()``. Memory stays flat whatever the size of the view.
    """
    import xlsxwriter

    shaped = spreadsheet_columns(con, query, csv=False)
    # strings stay strings: a publisher's text beginning with "=" or "http" is no formula and no link
    book = xlsxwriter.Workbook(str(target), {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False, "strings_to_numbers": False})
    try:
        formats = {kind: book.add_format(spec) for kind, spec in CELL_FORMATS.items()}
        formats["header"] = book.add_format({"bold": True})
        reader = con.execute(_rows_query(query, shaped, formats)).to_arrow_reader(XLSX_BLOCK_ROWS)
        rows = _data_sheets(book, reader, [header for _, header, _, _ in shaped], formats, target)
        _sources_sheet(book.add_worksheet("Quellen und Lizenzen"), title, sources, note)
    finally:
        book.close()
    return rows


XLSX_BLOCK_ROWS = 5_000  # rows fetched from DuckDB at a time (~6 MiB of row XML): bounds the memory
# Keys: text format "@"; numbers with the decimals they are published with (a score 48,0, a share 38,10, metres 412:
# "decimal0".."decimal4", as the CSV writes them), others "#,##0.0##" (German Excel shows 1.234,5); whole numbers
# (years, ranks) General, so a year is not shown as "2.021"; dates and times as serial days with a German format.
# Times to the second: a publish time is stored in whole seconds, and the one shown must find its publish in the
# *_as_of macros.
PUBLISHED_DECIMALS = range(5)  # the decimals a score or a unit is published with (catalogue: 0, 1, 2 and 4)
CELL_FORMATS = {"key": {"num_format": "@"}, "decimal": {"num_format": "#,##0.0##"},
                **{f"decimal{n}": {"num_format": "#,##0" + ("." + "0" * n if n else "")} for n in PUBLISHED_DECIMALS},
                "date": {"num_format": "DD.MM.YYYY"}, "time": {"num_format": "DD.MM.YYYY HH:MM:SS"}}
ROW = "\x01"  # placeholder for the row number in the cell references, filled in per row in Python
INFINITE = "\x02"  # marks a cell holding ±infinity, which Excel cannot store: an error naming row and column


def _xml_text(expression: str) -> str:
    """SQL escaping a text for SpreadsheetML as XlsxWriter does: &, <, >; control characters (not allowed
    in XML) as _xHHHH_; a literal "_xHHHH_" protected so Excel does not decode it.

    One regular expression tests whether a text needs any of it (a few in a hundred thousand do); the
    replacements run only for those, which keeps the ~3 M text cells of the full data at ~1 µs each.
    """
    escaped = f"replace(replace(replace({expression}, '&', '&amp;'), '<', '&lt;'), '>', '&gt;')"
    escaped = f"regexp_replace({escaped}, '_(x[0-9A-Fa-f]{{4}}_)', '_x005F_\\1', 'g')"
    for code in CONTROL_CHARACTERS:
        escaped = f"replace({escaped}, chr({code}), '_x{code:04X}_')"
    return f"CASE WHEN regexp_matches({expression}, '{NEEDS_ESCAPE}') THEN {escaped} ELSE {expression} END"


NEEDS_ESCAPE = "[&<>\\x00-\\x08\\x0B\\x0C\\x0E-\\x1F]|_x[0-9A-Fa-f]{4}_"
CONTROL_CHARACTERS = [code for code in range(0x20) if code not in (0x09, 0x0A, 0x0D)]


def _cell_sql(expression: str, kind: str, index: int, formats: dict, decimals: str | None = None) -> str:
    """SQL giving one cell's SpreadsheetML, NULL for a missing value (it stays an empty cell, never 0); a number with
    known ``decimals`` (SQL, per row for an indicator value by its unit) in the format showing exactly those."""
    from xlsxwriter.utility import xl_col_to_name  # here, as XlsxWriter itself: only an export loads it

    reference = f"{xl_col_to_name(index)}{ROW}"
    cell_format = formats.get(kind)
    style = f' s="{cell_format._get_xf_index()}"' if cell_format is not None else ""  # XlsxWriter's own index
    if kind == "decimal" and decimals is not None:  # an unknown unit's NULL keeps the general decimal format
        cases = " ".join(f"WHEN {n} THEN ' s=\"{formats[f'decimal{n}']._get_xf_index()}\"'"
                         for n in PUBLISHED_DECIMALS)
        style = f"' || CASE {decimals} {cases} ELSE '{style}' END || '"  # spliced into the cell's SQL text literal
    value = f"({expression})"
    if kind in ("key", "text"):
        text = _xml_text(f"CAST({value} AS VARCHAR)")
        # leading or trailing white space (tab, newline, CR, space) is kept only with xml:space="preserve"
        space = (f"CASE WHEN ascii({value}) IN (9, 10, 13, 32) OR ascii(right({value}, 1)) IN (9, 10, 13, 32) "
                 f"THEN ' xml:space=\"preserve\"' ELSE '' END")
        body = f"'<c r=\"{reference}\"{style} t=\"inlineStr\"><is><t' || {space} || '>' || {text} || '</t></is></c>'"
    elif kind == "boolean":
        body = f"'<c r=\"{reference}\"{style} t=\"b\"><v>' || CASE WHEN {value} THEN '1' WHEN NOT {value} THEN '0' END || '</v></c>'"
    elif kind in ("decimal", "time"):
        body = (f"CASE WHEN isinf({value}) THEN '{INFINITE}{index}{INFINITE}' ELSE "
                f"'<c r=\"{reference}\"{style}><v>' || CAST({value} AS VARCHAR) || '</v></c>' END")
    else:  # integer, date (serial days)
        body = f"'<c r=\"{reference}\"{style}><v>' || CAST({value} AS VARCHAR) || '</v></c>'"
    return body  # NULL when the value is NULL: concat() in the row skips it, the cell stays empty


def _row_xml_sql(shaped: list[tuple[str, str, str, str | None]], formats: dict) -> str:
    """SQL concatenating the cells of one row (without the <row> element, added with its number in Python)."""
    if not shaped:
        return "''"
    # one concat() over all cells: it skips NULL cells, and a chain of || copied the growing row 20 times
    return "concat(" + ", ".join(_cell_sql(expression, kind, index, formats, decimals)
                                 for index, (expression, _, kind, decimals) in enumerate(shaped)) + ")"


def _rows_query(query: str, shaped: list[tuple[str, str, str, str | None]], formats: dict) -> str:
    """SQL of each row's cells (``_row_xml_sql``) over ``query``, each column's shaped value computed once.

    Why the inner query: a text cell's SQL names its value five times (the escape test, the escapes, the white
    space test), and DuckDB evaluated the value's expression each time, a German note's long CASE too: 0.77 s
    for the 2,922 rows of the snapshot's town_profile, 0.16 s with the values computed once below (the same
    bytes; 6 December 2026).
    """
    if not shaped:
        return f"SELECT {_row_xml_sql(shaped, formats)} AS x FROM ({query})"
    # a number's decimals (an indicator value's by its row's unit) computed beside it, as d<index>
    values = ", ".join([f"{expression} AS v{index}" for index, (expression, _, _, _) in enumerate(shaped)]
                       + [f"{decimals} AS d{index}" for index, (_, _, kind, decimals) in enumerate(shaped)
                          if kind == "decimal" and decimals is not None])
    cells = _row_xml_sql([(f"v{index}", header, kind, None if decimals is None else f"d{index}")
                          for index, (_, header, kind, decimals) in enumerate(shaped)], formats)
    return f"SELECT {cells} AS x FROM (SELECT {values} FROM ({query}))"


def _data_sheets(book, reader, headers: list[str], formats: dict, target: Path) -> int:
    """Write the rows' XML in batches, a new sheet "Daten 2", ... each ``EXCEL_MAX_ROWS`` rows."""
    sheet, sheet_row, total, number = None, 0, 0, 0
    for batch in reader:
        rows = batch.column(0).to_pylist()
        position = 0
        while position < len(rows):
            if sheet is None or sheet_row == EXCEL_MAX_ROWS:
                if sheet is not None:
                    _close_sheet(sheet, sheet_row, len(headers))
                number += 1
                sheet, sheet_row = _new_sheet(book, number, headers, formats), 0
            part = rows[position:position + EXCEL_MAX_ROWS - sheet_row]
            first = sheet_row + 2  # Excel rows are 1-based and row 1 is the header
            xml = "".join([f'<row r="{n}">{cells.replace(ROW, str(n))}</row>' for n, cells in enumerate(part, first)])
            if INFINITE in xml:  # one scan of the batch, not one per row
                _infinite_error(part, first, headers, sheet.name, target)
            sheet.row_data_fh.write(xml)
            sheet_row += len(part)
            position += len(part)
            total += len(part)
    if sheet is None:  # an empty view: a header-only sheet
        sheet = _new_sheet(book, 1, headers, formats)
    _close_sheet(sheet, sheet_row, len(headers))
    return total


def _infinite_error(part: list[str], first: int, headers: list[str], sheet: str, target: Path) -> None:
    """Raise the error naming file, sheet, row and column of the first infinite number in ``part``."""
    for number, cells in enumerate(part, first):
        if INFINITE in cells:
            column = int(cells.split(INFINITE)[1])
            raise ValueError(f"cannot write {target}: sheet {sheet!r}, row {number}, column {headers[column]!r}: "
                             f"an infinite number cannot be written (Excel has none)")


def _close_sheet(sheet, rows: int, columns: int) -> None:
    """The sheet's used range (XlsxWriter's dimension, which it did not see grow) and the filter over it."""
    if rows:
        sheet.dim_rowmax = rows
        sheet.previous_row = rows  # rows up to here are on disk: XlsxWriter must not write before them
    sheet.autofilter(0, 0, rows, max(columns, 1) - 1)


def _new_sheet(book, number: int, headers: list[str], formats: dict):
    """Sheet "Daten" (then "Daten 2", ...) with the bold German header row frozen, already on disk."""
    sheet = book.add_worksheet("Daten" if number == 1 else f"Daten {number}")
    sheet.freeze_panes(1, 0)
    for index, header in enumerate(headers):
        sheet.set_column(index, index, min(max(len(str(header)) + 2, 10), 40))
        sheet.write_string(0, index, str(header), formats["header"])
    sheet._write_single_row(1)  # XlsxWriter writes a row when the next begins: the header goes out now
    return sheet


def sheet_column(path: Path, header: str, sheet: str = "Daten") -> list:
    """The cells below ``header`` on ``sheet`` of a workbook, as typed as the file stores them: a text cell is a
    str, a number cell an int or float (so a check sees whether Excel would read "01053090" as 1053090).

    Read with calamine (Rust, python-calamine): openpyxl took 1.0 s for the 3,263 rows of latest_ranking.xlsx
    (2026-12-04, the full data), calamine 0.08 s."""
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(path))
    try:
        rows = book.get_sheet_by_name(sheet).to_python()
    finally:
        book.close()
    if not rows or header not in rows[0]:
        raise ValueError(f"{path}: sheet {sheet!r} has no column {header!r}")
    column = rows[0].index(header)
    return [row[column] if column < len(row) else None for row in rows[1:]]


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _sources_sheet(sheet, title: str, sources: list | None, note: str | None = None) -> None:
    """Title, export time, a note on what the workbook holds, and per source publisher, licence, attribution."""
    for letter, width in zip("ABCDE", (26, 40, 30, 50, 80)):
        sheet.set_column(f"{letter}:{letter}", width)
    sheet.write_string(0, 0, title)
    stamp = (f"Export aus dem veröffentlichten Warehouse am "
             f"{dt.datetime.now(ZoneInfo(LOCAL_TIME_ZONE)):%d.%m.%Y %H:%M} (Ortszeit Berlin)")
    sheet.write_string(1, 0, stamp + (f". {note}" if note else ""))
    for column, header in enumerate(["Quelle", "Herausgeber", "Lizenz", "Lizenz-URL", "Quellenvermerk"]):
        sheet.write_string(3, column, header)
    for number, row in enumerate(sources or [], start=4):
        for column, value in enumerate(row[:5]):
            if not _missing(value):
                sheet.write_string(number, column, str(value))


def write_geopackage(con: duckdb.DuckDBPyConnection, target: Path, published_at: str | None = None) -> int:
    """Write the towns in scope with their latest index and geometry (EPSG:4326) as a GeoPackage layer.

    ``published_at`` (ISO, UTC) becomes the GeoPackage's change time (``gpkg_contents.last_change``) instead
    of the moment of writing, so two exports of the same publish are the same bytes (GDAL's OGR_CURRENT_DATE).
    """
    import geopandas
    import shapely

    frame = con.execute(TOWNS_SQL).fetch_df().merge(_geopackage_geometries(con), on="ags", how="left")
    # the score as published, the one the rank compares (SCORE_COLUMNS); the pillars keep full precision, as in the
    # Parquet files (a GIS reads them as numbers, not as a page's figures)
    frame["score"] = published_scores(frame["score"].to_numpy(dtype=float), _catalogue().score_decimals)
    wkb = frame.pop("geometry_wkb")
    # a town without a geometry (formed after the boundaries' date from parts of other Gemeinden) is kept, with an
    # empty geometry
    geometry = [shapely.from_wkb(bytes(value)) if isinstance(value, (bytes, bytearray, memoryview)) else None
                for value in wkb]
    towns = geopandas.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    with gdal_current_date(published_at):
        towns.to_file(target, layer="municipalities", driver="GPKG", engine="pyogrio",
                      layer_options={"DESCRIPTION": geopackage_description(sources_rows(con))})
    return len(towns)


def _geopackage_geometries(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per Gemeinde of today its outline (``latest_geometries``) with the GeoPackage's columns: the release, whether
    the territory changed since, and the keys whose outlines were joined into it (comma-separated; a GeoPackage
    column holds no list)."""
    frame = latest_geometries(con)
    return pd.DataFrame({"ags": frame["ags"], "geometry_vintage": frame["vintage"],
                         "territory_changed_since_geometry": frame["territory_changed_since_geometry"],
                         "geometry_assembled_from": [",".join(keys) or None for keys in frame["assembled_from"]],
                         "geometry_wkb": frame["geometry_wkb"]})


def geopackage_description(sources: list[tuple]) -> str:
    """The GeoPackage layer's description (``gpkg_contents.description``, QGIS shows it in the layer's properties):
    what the layer holds and, per source, the lines of the workbooks' sheet "Quellen und Lizenzen" (``sources_rows``).

    Why: the GeoPackage ships BKG geometry (dl-de/by-2-0: "© GeoBasis-DE / BKG (<year>), Daten verändert") and scores
    derived from every source, but carried no source or licence notice (review of 5 December); the .xlsx files have
    the sheet, a GIS user gets only this file. No time in it: two exports of one publish stay the same bytes.
    """
    lines = ["Gemeinden im Geltungsbereich (Vergleichsgruppe) mit dem Readiness-Index des als aktuell "
             "veröffentlichten Jahres (latest_ranking) und der neuesten Gemeindegrenze, EPSG:4326. "
             "territory_changed_since_geometry: das Gemeindegebiet hat sich nach dem Stand der Grenze "
             "(geometry_vintage) geändert (Fusion, Aufteilung oder Gebietsteil abgegeben oder übernommen); die Fläche "
             "zeigt das frühere Gebiet. geometry_assembled_from: die Fläche ist aus den Umrissen dieser Gemeinden (AGS "
             "im Stand der Grenze) zusammengesetzt, die seither zu der Gemeinde gehören, oder ist ihr Umriss unter "
             "einem früheren AGS.",
             "Quellen und Lizenzen (Quelle; Herausgeber; Lizenz; Lizenz-URL; Quellenvermerk):"]
    lines += ["; ".join("" if _missing(value) else str(value) for value in row[:5]) for row in sources]
    return "\n".join(lines)


@contextmanager
def gdal_current_date(iso: str | None):
    """GDAL's OGR_CURRENT_DATE set to ``iso`` (a UTC time as ``latest_publish`` gives it) while the block
    runs, then as it was; None: GDAL's own (the time of writing). GDAL's config options are process-wide."""
    import pyogrio

    if iso is None:
        yield
        return
    stamp = dt.datetime.fromisoformat(iso).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    before = pyogrio.get_gdal_config_option("OGR_CURRENT_DATE")
    pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": stamp})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_CURRENT_DATE": before})


def point_latest(out_dir: Path, target: Path) -> None:
    """Repoint ``latest`` at ``target`` atomically: a new symlink under a temporary name renamed over it."""
    temporary = out_dir / f".{LATEST}.{os.getpid()}.tmp"
    temporary.unlink(missing_ok=True)
    temporary.symlink_to(target.name)  # relative, so the export directory can be moved as a whole
    os.replace(temporary, out_dir / LATEST)


def prune(out_dir: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` export directories (never the one ``latest`` points to)."""
    current = (out_dir / LATEST).resolve()
    exports = sorted(p for p in out_dir.iterdir()
                     if p.is_dir() and not p.is_symlink() and not p.name.startswith("."))
    removed = [p for p in exports[:-keep] if p.resolve() != current] if keep else []
    for path in removed:
        shutil.rmtree(path)
    return removed
