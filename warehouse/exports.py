"""Exports of the published warehouse for planners without DuckDB: Excel, German CSV, Parquet, GeoPackage.

After each publish, ``export_planner_views`` writes every planner view (``warehouse.PLANNER_VIEWS``)
as Parquet (technical column names, for analysts), as ``.xlsx`` and as German CSV (German headers,
``;`` as separator, decimal comma, UTF-8 with BOM, so Excel with German settings opens it as it is),
and ``municipalities.gpkg`` with the towns in scope and their latest index,
into a new directory ``<out_dir>/<UTC timestamp>/``. The directory is filled under a hidden
temporary name and renamed when complete, then the ``latest`` symlink is repointed atomically,
so a reader following ``latest`` never sees a half-written export. The last three exports are kept.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pandas as pd

from indicators.catalogue import load_catalogue
from warehouse import DEFAULT_EXPORTS_DIR, PLANNER_VIEWS, exports_dir  # noqa: F401 (re-exported)

KEEP_EXPORTS = 3
LATEST = "latest"
GEOPACKAGE = "municipalities.gpkg"
LOCAL_TIME_ZONE = "Europe/Berlin"
EXCEL_MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows per sheet, less the header

# The sheet "Quellen und Lizenzen" of every workbook: what to cite when using the figures.
SOURCES_SQL = """
SELECT source_id, publisher, licence, licence_url, attribution FROM source_attribution ORDER BY source_id
"""

INTEGER_TYPES = {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT"}

# Columns written as text in Excel: keys with leading zeros, never numbers.
TEXT_COLUMNS = {"ags", "peer_ags", "kreis_ags"}

VIEW_TITLES = {
    "town_profile": "Gemeindeprofil: letzter Wert jedes Indikators",
    "town_index_history": "Index je Gemeinde und Jahr",
    "latest_ranking": "Rangliste des letzten Jahres",
    "peer_comparison": "Vergleichsgemeinden",
    "indicator_history": "Indikatorwerte im Zeitverlauf",
    "source_attribution": "Quellen, Lizenzen und Quellenvermerke",
}

# German column headers of the .xlsx and CSV exports (Parquet keeps the technical names).
GERMAN_HEADERS = {
    "name": "Gemeinde", "ags": "AGS", "kreis_name": "Kreis", "kreis_ags": "Kreis-AGS", "land": "Land",
    "period": "Jahr", "score": "Indexwert", "rank": "Rang", "rank_median": "Rang (Median)",
    "rank_p05": "Rang 5-%-Perzentil", "rank_p95": "Rang 95-%-Perzentil",
    "score_median": "Indexwert (Median)", "score_p05": "Indexwert 5-%-Perzentil",
    "score_p95": "Indexwert 95-%-Perzentil", "compared_towns": "verglichene Gemeinden",
    "digital_infrastructure": "Säule Digitale Infrastruktur", "commuting_potential": "Säule Pendelpotenzial",
    "demographic_dynamics": "Säule Demografische Dynamik",
    "local_work_infrastructure": "Säule Lokale Arbeitsinfrastruktur", "accessibility": "Säule Erreichbarkeit",
    "gap_accessibility": "Abstand Erreichbarkeit",
    "provisional": "vorläufig", "period_provisional": "Jahr vorläufig",
    "oldest_input_date": "ältester Datenstand", "newest_input_date": "neuester Datenstand",
    "omitted_pillars": "nicht bewertete Säulen", "reference_group_rule": "Regel der Vergleichsgruppe",
    "territorial_change": "Gebietsänderung (Code)", "method_break": "Methodenwechsel",
    "source_level": "Gebietsebene der Quelle", "excluded_reason": "Ausschlussgrund (Code)",
    "in_reference_group": "in der Vergleichsgruppe", "reference_group": "Vergleichsgruppe",
    "imputed_share": "Anteil geschätzter Werte", "missing_pillars": "fehlende Säulen", "notes": "Hinweise",
    "method_version": "Methodenversion", "published_at": "veröffentlicht (Ortszeit Berlin)",
    "pillar": "Säule", "indicator_id": "Indikator-ID", "label": "Indikator", "value": "Wert",
    "unit": "Einheit", "direction": "Wirkungsrichtung", "imputed": "geschätzt", "imputation": "Schätzverfahren",
    "quality_note": "Qualitätshinweis", "source_id": "Quelle", "vintage": "Datenstand",
    "reference_date": "Stichtag", "publisher": "Herausgeber", "licence": "Lizenz", "licence_url": "Lizenz-URL",
    "attribution": "Quellenvermerk", "vintages": "Datenstände", "max_revision": "letzte Revision",
    "latest_ingested_at": "zuletzt geladen (Ortszeit Berlin)", "files": "Dateien", "mode": "Quellmodus",
    "peer_rank": "Ähnlichkeitsrang", "peer_name": "Vergleichsgemeinde", "peer_kreis": "Kreis der Vergleichsgemeinde",
    "peer_ags": "AGS der Vergleichsgemeinde", "similarity": "Ähnlichkeit", "peer_score": "Indexwert Vergleichsgemeinde",
    "gap_score": "Abstand Indexwert", "gap_digital_infrastructure": "Abstand Digitale Infrastruktur",
    "gap_commuting_potential": "Abstand Pendelpotenzial", "gap_demographic_dynamics": "Abstand Demografische Dynamik",
    "gap_local_work_infrastructure": "Abstand Lokale Arbeitsinfrastruktur",
}

# Towns in scope (the ranked reference group: small towns and the pilots) with the latest period that
# has a score under the current method version, and the latest geometry (by the date in the vintage;
# on the same date the detailed VG250 before VG5000).
TOWNS_SQL = """
WITH latest_index AS (
    SELECT * FROM town_index_history WHERE score IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY ags ORDER BY period DESC) = 1
), latest_geometry AS (
    SELECT ags, vintage AS geometry_vintage, geometry_wkb FROM municipality_geometries
    QUALIFY row_number() OVER (PARTITION BY ags ORDER BY regexp_extract(vintage, '\\d{4}-\\d{2}-\\d{2}') DESC,
                                                      vintage LIKE 'vg250%' DESC) = 1
)
SELECT m.ags, m.name, m.kreis_ags, m.kreis_name, m.land, m.is_pilot, m.population,
       i.period, i.score, i.rank, i.compared_towns, i.rank_median, i.rank_p05, i.rank_p95,
       i.digital_infrastructure, i.commuting_potential, i.demographic_dynamics, i.local_work_infrastructure,
       i.accessibility,
       i.imputed_share, i.missing_pillars, i.method_version, g.geometry_vintage, g.geometry_wkb
FROM municipalities m
LEFT JOIN latest_index i USING (ags)
LEFT JOIN latest_geometry g USING (ags)
WHERE m.in_reference_group
ORDER BY m.ags
"""


def export_planner_views(published: Path, out_dir: Path | None = None) -> dict[str, int]:
    """Export every planner view (Parquet, CSV) and the towns' GeoPackage; return the rows per export file.

    Raises ValueError naming the view and the file when a planner view is missing from ``published``.
    """
    published = Path(published)
    out_dir = Path(out_dir) if out_dir is not None else exports_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    staging = out_dir / f".{stamp}.partial"
    staging.mkdir()
    try:
        with duckdb.connect(str(published), read_only=True) as con:
            check_views(con, published)
            counts = write_views(con, staging)
            counts[GEOPACKAGE] = write_geopackage(con, staging / GEOPACKAGE)
        final = out_dir / stamp
        staging.rename(final)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    point_latest(out_dir, final)
    prune(out_dir, KEEP_EXPORTS)
    return counts


def check_views(con: duckdb.DuckDBPyConnection, published: Path) -> None:
    """Fail before writing anything when a planner view is not in the published file."""
    present = {row[0] for row in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
    missing = [view for view in PLANNER_VIEWS if view not in present]
    if missing:
        raise ValueError(f"cannot export {published}: planner view(s) {', '.join(missing)} missing from the file")


def write_views(con: duckdb.DuckDBPyConnection, directory: Path) -> dict[str, int]:
    """Write each planner view as Parquet (COPY), German CSV and .xlsx; the counts are the rows written."""
    counts = {}
    sources = con.execute(SOURCES_SQL).fetch_df()
    for view in PLANNER_VIEWS:
        target = directory / f"{view}.parquet"
        # the target path goes in as a parameter: any character in the exports folder is safe
        counts[target.name] = con.execute(f"COPY (SELECT * FROM {view}) TO ? (FORMAT parquet)",
                                          [str(target)]).fetchone()[0]
        frame = typed_frame(con, view)
        counts[f"{view}.csv"] = write_german_csv(frame, directory / f"{view}.csv")
        counts[f"{view}.xlsx"] = write_xlsx(frame, directory / f"{view}.xlsx", VIEW_TITLES.get(view, view), sources)
    return counts


def typed_frame(con: duckdb.DuckDBPyConnection, view: str) -> pd.DataFrame:
    """The view as a DataFrame whose integer columns stay integers when they have NULLs (pandas' Int64).

    Without this, a rank column with one NULL becomes float and Excel shows ranks as "3,0".
    """
    relation = con.sql(f"SELECT * FROM {view}")
    frame = relation.df()
    for column, kind in zip(relation.columns, relation.types):
        if str(kind) in INTEGER_TYPES and frame[column].dtype.kind == "f":
            frame[column] = frame[column].astype("Int64")
        elif str(kind) == "DATE":  # a calendar date, not a UTC time: no time-zone conversion later
            frame[column] = [None if pd.isna(v) else v.date() for v in frame[column]]
    return frame


def german_headers(columns) -> list[str]:
    """The German header of each column; a column without a translation keeps its technical name."""
    return [GERMAN_HEADERS.get(column, column) for column in columns]


def for_spreadsheet(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy fit for Excel: German headers, times in Berlin local time, lists as text, AGS columns as text.

    The warehouse stores times as naive UTC; Excel has no time zones, so they become Berlin time (the
    header says so). Lists (e.g. the vintages of a source) become ``a, b``.
    """
    out = frame.copy()
    if "pillar" in out.columns:  # the pillar's German name ("Digitale Infrastruktur"), not its id
        labels = {pillar: spec.get("label", pillar) for pillar, spec in load_catalogue().pillars.items()}
        out["pillar"] = out["pillar"].map(lambda p: labels.get(p, "Kontext" if p == "context" else p))
    for column in out.columns:
        series = out[column]
        if pd.api.types.is_datetime64_any_dtype(series):
            if series.dt.tz is None:
                series = series.dt.tz_localize("UTC")
            out[column] = series.dt.tz_convert(LOCAL_TIME_ZONE).dt.tz_localize(None)
        elif series.dtype == object and series.map(lambda v: isinstance(v, (list, tuple, np.ndarray))).any():
            out[column] = series.map(lambda v: ", ".join(map(str, v)) if isinstance(v, (list, tuple, np.ndarray)) else v)
    out.columns = german_headers(frame.columns)
    return out


def write_german_csv(frame: pd.DataFrame, target: Path) -> int:
    """CSV as German Excel reads it: ``;``, decimal comma, UTF-8 with BOM, booleans WAHR/FALSCH; returns rows.

    Read it back with ``pd.read_csv(path, sep=";", decimal=",", dtype={"AGS": str})``.
    """
    out = for_spreadsheet(frame)
    for column in out.columns:
        if pd.api.types.is_bool_dtype(out[column]) or _is_boolean_object(out[column]):
            out[column] = out[column].map({True: "WAHR", False: "FALSCH"})
    out.to_csv(target, sep=";", decimal=",", index=False, encoding="utf-8-sig", date_format="%Y-%m-%d %H:%M:%S")
    return len(out)


def _is_boolean_object(series: pd.Series) -> bool:
    """A nullable boolean column that pandas keeps as ``object`` (True/False/None)."""
    values = series.dropna()
    return series.dtype == object and not values.empty and values.map(lambda v: isinstance(v, (bool, np.bool_))).all()


def write_xlsx(frame: pd.DataFrame, target: Path, title: str, sources: pd.DataFrame | None = None) -> int:
    """An Excel workbook: the table on sheet "Daten", sources and licences on sheet "Quellen"; returns rows.

    Cells keep their types (numbers, dates, booleans); AGS and other key columns are text cells with
    the text format "@", so Excel never drops the leading zero of "01053090". Rows beyond Excel's limit
    continue on further sheets "Daten 2", ...

    Written with XlsxWriter in ``constant_memory`` mode (each row goes to disk when the next starts):
    openpyxl needed a cell object per value and took minutes for the full-Germany indicator history.
    """
    import xlsxwriter

    out = for_spreadsheet(frame)
    text_columns = {GERMAN_HEADERS.get(c, c) for c in frame.columns if c in TEXT_COLUMNS}
    # strings stay strings: a publisher's text beginning with "=" or "http" is no formula and no link
    book = xlsxwriter.Workbook(str(target), {"constant_memory": True, "strings_to_formulas": False,
                                             "strings_to_urls": False, "strings_to_numbers": False})
    try:
        columns = [_xlsx_column(book, out[c], c in text_columns) for c in out.columns]
        header_format = book.add_format({"bold": True})
        for number, first in enumerate(range(0, max(len(out), 1), EXCEL_MAX_ROWS), start=1):
            sheet = book.add_worksheet("Daten" if number == 1 else f"Daten {number}")
            try:
                _data_sheet(sheet, out, columns, first, min(first + EXCEL_MAX_ROWS, len(out)), header_format)
            except ValueError as error:
                raise ValueError(f"cannot write {target}: {error}") from error
        _sources_sheet(book.add_worksheet("Quellen und Lizenzen"), title, sources)
    finally:
        book.close()
    return len(out)


XLSX_BLOCK_ROWS = 50_000  # rows converted to Python values at a time: bounds the memory of the conversion
EXCEL_EPOCH = pd.Timestamp("1899-12-30")  # day 0 of Excel's serial dates (exact from 1 March 1900 on)


def _data_sheet(sheet, out: pd.DataFrame, columns: list, first: int, stop: int, header_format) -> None:
    """Header, rows ``first`` to ``stop`` (row by row, as constant_memory needs), filter and frozen header."""
    sheet.freeze_panes(1, 0)
    for index, header in enumerate(out.columns):
        sheet.set_column(index, index, min(max(len(str(header)) + 2, 10), 40))
        sheet.write_string(0, index, str(header), header_format)
    sheet.autofilter(0, 0, stop - first, max(len(out.columns), 1) - 1)
    methods = [(getattr(sheet, method), cell_format) for _, method, cell_format in columns]
    for start in range(first, stop, XLSX_BLOCK_ROWS):
        end = min(start + XLSX_BLOCK_ROWS, stop)
        block = [convert(out.iloc[start:end, index]) for index, (convert, _, _) in enumerate(columns)]
        for excel_row, row in enumerate(zip(*block), start=start - first + 1):
            for index, value in enumerate(row):
                if value is not None:  # missing values (NULL, NaN, NA) stay empty cells, never 0
                    write, cell_format = methods[index]
                    try:
                        write(excel_row, index, value, cell_format)
                    except TypeError as error:  # XlsxWriter refuses infinities (Excel has none)
                        raise ValueError(f"sheet {sheet.name!r}, row {excel_row + 1}, column "
                                         f"{out.columns[index]!r}: {value!r} cannot be written ({error})") from error


def _xlsx_column(book, series: pd.Series, text: bool) -> tuple:
    """(converter of a slice of the column to Python values with None for missing, write method, format).

    The type is decided once per column and values are converted per block of rows, vectorised, not
    per cell. Keys are text cells with the format "@"; decimals get "#,##0.0##" (German Excel shows
    1.234,5); whole numbers (years, ranks) stay General so a year is not shown as "2.021"; dates and
    times are Excel serial numbers (what Excel stores) with a German date format.
    """
    if text:
        return (lambda part: _with_none(part.astype(object).map(str, na_action="ignore")), "write_string",
                book.add_format({"num_format": "@"}))
    if pd.api.types.is_float_dtype(series):
        return _with_none, "write_number", book.add_format({"num_format": "#,##0.0##"})
    if pd.api.types.is_datetime64_any_dtype(series):
        return _excel_serial, "write_number", book.add_format({"num_format": "DD.MM.YYYY HH:MM"})
    present = series.dropna()
    if not present.empty and present.map(lambda v: isinstance(v, dt.date) and not isinstance(v, dt.datetime)).all():
        return (lambda part: _excel_serial(pd.to_datetime(part))), "write_number", \
            book.add_format({"num_format": "DD.MM.YYYY"})
    if pd.api.types.is_bool_dtype(series) or (not present.empty and present.map(lambda v: isinstance(v, bool)).all()):
        return _with_none, "write_boolean", None
    if pd.api.types.is_numeric_dtype(series):  # integers, also pandas' Int64 with NA
        return _with_none, "write_number", None
    if present.map(lambda v: isinstance(v, str)).all():
        return _with_none, "write_string", None
    # anything else: XlsxWriter's write() by type; the workbook options keep strings as strings
    return _with_none, "write", None


def _excel_serial(part: pd.Series) -> list:
    """Times as Excel serial days (float), computed for the whole slice at once; None where missing."""
    return _with_none((part - EXCEL_EPOCH) / pd.Timedelta(days=1))


def _with_none(part: pd.Series) -> list:
    """The values as Python objects (numpy scalars would be slow and not all are accepted), None where missing."""
    values = part.astype(object).to_numpy(copy=True)
    values[part.isna().to_numpy()] = None
    return [v.item() if isinstance(v, np.generic) else v for v in values.tolist()]


def _missing(value) -> bool:
    return value is None or value is pd.NA or value is pd.NaT or (isinstance(value, float) and value != value)


def _sources_sheet(sheet, title: str, sources: pd.DataFrame | None) -> None:
    """Title, export time and, per source, publisher, licence and the attribution to cite."""
    for letter, width in zip("ABCDE", (26, 40, 30, 50, 80)):
        sheet.set_column(f"{letter}:{letter}", width)
    sheet.write_string(0, 0, title)
    sheet.write_string(1, 0, f"Export aus dem veröffentlichten Warehouse am "
                             f"{dt.datetime.now(ZoneInfo(LOCAL_TIME_ZONE)):%d.%m.%Y %H:%M} (Ortszeit Berlin)")
    for column, header in enumerate(["Quelle", "Herausgeber", "Lizenz", "Lizenz-URL", "Quellenvermerk"]):
        sheet.write_string(3, column, header)
    rows = [] if sources is None else sources.itertuples(index=False)
    for number, row in enumerate(rows, start=4):
        for column, value in enumerate([row.source_id, row.publisher, row.licence, row.licence_url, row.attribution]):
            if not _missing(value):
                sheet.write_string(number, column, str(value))


def write_geopackage(con: duckdb.DuckDBPyConnection, target: Path) -> int:
    """Write the towns in scope with their latest index and geometry (EPSG:4326) as a GeoPackage layer."""
    import geopandas
    import shapely

    frame = con.execute(TOWNS_SQL).fetch_df()
    wkb = frame.pop("geometry_wkb")
    # a town without a geometry (e.g. formed after the boundary vintage) is kept, with an empty geometry
    geometry = [None if value is None or value is pd.NA else shapely.from_wkb(bytes(value)) for value in wkb]
    towns = geopandas.GeoDataFrame(frame, geometry=geometry, crs="EPSG:4326")
    towns.to_file(target, layer="municipalities", driver="GPKG", engine="pyogrio")
    return len(towns)


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
