"""GENESIS flat-file CSV (``format=ffcsv``) tables into tidy observations.

Layout (one row per region, time and value variable; UTF-8 with BOM; ``;``):
``statistics_code, statistics_label, time_code, time_label, time``, then for k = 1..n
``k_variable_code, k_variable_label, k_variable_attribute_code, k_variable_attribute_label``,
then ``value, value_unit, value_variable_code, value_variable_label`` and, with
``quality=on``, ``value_q``. The region is one of the k variables; every other k variable
classifies (e.g. GES sex): its total ("Insgesamt") has an empty attribute code and keeps
the plain measure, any other attribute is appended to the measure name
(``population_total`` / ``population_male`` / ``population_female`` for GES, like the
Gemeindeverzeichnis; ``<measure>_<attribute code>`` otherwise, a trailing ``_total`` dropped). Publisher markers
(``...``, ``.``, ``-``, ``/``, ``x``) become NaN with a note, never 0.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import logging
import re

import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.contracts import unique_headers
from sources.errors import SourceError
from sources.registry import Release

log = logging.getLogger(__name__)
MARKERS = {"...", ".", "-", "/", "x"}
STATISTICS_CODE = re.compile(r"\d{4}\w*")  # 12411, 61111, 1000A; footers and notes do not match
# value_variable_code -> (measure, unit, the value_unit texts that mean that unit); others become genesis_<code>
# with the unit from UNITS. Another value_unit fails: population in "Tsd." or area in "ha" read as persons and km²
# would pass every range (Mölln with 19 inhabitants, an area of 956 km²)
MEASURES = {"BEVSTD": ("population_total", "persons", {"Anzahl", "Personen", "Person"}),
            "FLC001": ("area_km2", "km2", {"qkm", "km²", "km2"})}
UNITS = {"Anzahl": "count", "Personen": "persons", "Person": "persons", "qkm": "km2", "%": "percent",
         "Prozent": "percent", "EUR": "eur", "Tsd. EUR": "eur_1000"}
ATTRIBUTE_SUFFIXES = {"GESM": "male", "GESW": "female"}
REGIONAL_VARIABLES = {"GEMEIN", "FGEMEIN", "FAMTGEM", "GEMVB", "KREISE", "REGBEZ", "DLAND", "DINSG"}
REGION_KEY = re.compile(r"DG|\d{2}|\d{3}|\d{5}|\d{8}|\d{9}|\d{12}")
GERMAN_TIME_LABELS = {"Jahr", "Stichtag", "Monat", "Quartal", "Halbjahr", "Zeit"}


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """Observations of the release's ffcsv file (role ``table``)."""
    table_file = release.file("table")
    return {"observations": parse_ffcsv(table_file.path, release.source_id, table_file.relative_path)}


def parse_ffcsv(path, source_id: str = "genesis", name: str | None = None) -> pd.DataFrame:
    """Tidy observations (``OBSERVATION_COLUMNS``) of one ffcsv file."""
    name = name or str(path)

    def fail(problem: str) -> SourceError:
        return SourceError(source_id, name, problem)

    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            text = handle.read()
    except UnicodeDecodeError as exc:
        raise fail(f"not UTF-8 ({exc})") from None
    unique_headers(source_id, name, text.split("\n", 1)[0], ";")  # pandas would keep both, and fail obscurely
    lines = list(csv.reader(io.StringIO(text), delimiter=";"))
    header = [h.strip() for h in lines[0]] if lines else []
    required = {"statistics_code", "time_code", "time_label", "time", "value", "value_unit", "value_variable_code"}
    if not required <= set(header):
        raise fail(f"not an ffcsv table: header lacks {sorted(required - set(header))} ({';'.join(header)[:120]!r})")
    body = []
    for number, row in enumerate(lines[1:], start=2):
        if not row or not STATISTICS_CODE.fullmatch(row[0].strip()):
            continue  # footer, copyright or blank line
        if len(row) != len(header):
            raise fail(f"line {number} has {len(row)} fields, the header {len(header)}")
        body.append(row)
    if not body:
        raise fail("no data rows")
    table = pd.DataFrame(body, columns=header, dtype=str).apply(lambda column: column.str.strip())
    variables = sorted(int(m.group(1)) for h in header if (m := re.fullmatch(r"(\d+)_variable_code", h)))
    region = _regional_variable(table, variables, fail)
    keys = table[f"{region}_variable_attribute_code"]
    regions = {key: _region(key, fail) for key in keys.unique()}
    table["ags"], table["level"] = keys.map(lambda k: regions[k][0]), keys.map(lambda k: regions[k][1])
    if (table["level"] == "").any():
        log.warning("%s: skipping %d rows of levels not held in the warehouse (Regierungsbezirk, Verband)",
                    name, (table["level"] == "").sum())
        table = table[table["level"] != ""].copy()
    if table.empty:
        raise fail("no rows for Gemeinden, Kreise, Länder or Germany")
    table["reference_date"] = table["time"].map({t: _date(t, fail) for t in table["time"].unique()})
    table["value"], table["note"] = _values(table, fail)
    table["measure"], table["unit"] = _measures(table, [k for k in variables if k != region], fail)
    observations = table[OBSERVATION_COLUMNS].reset_index(drop=True)
    duplicated = observations.duplicated(["ags", "measure", "reference_date"])
    if duplicated.any():
        row = observations[duplicated].iloc[0]
        raise fail(f"several rows for {row['ags']} {row['measure']} {row['reference_date']}: "
                   "a classifying variable is not told apart")
    return observations


def _regional_variable(table: pd.DataFrame, variables: list[int], fail) -> int:
    """The k whose variable is regional: a known code, GEO*, or attribute codes that all look like keys."""
    for k in variables:
        codes = set(table[f"{k}_variable_code"]) - {""}
        if codes & REGIONAL_VARIABLES or any(code.startswith("GEO") for code in codes):
            return k
    for k in variables:
        keys = table[f"{k}_variable_attribute_code"]
        if (keys != "").all() and keys.str.fullmatch(REGION_KEY.pattern).all():
            return k
    raise fail(f"no regional variable among {[table[f'{k}_variable_code'].iloc[0] for k in variables]}")


def _region(key: str, fail) -> tuple[str, str]:
    """(AGS, level) of a regional key; ("", "") for levels the warehouse does not hold (RB, Verband)."""
    if key == "DG":
        return "DG", "bund"
    if not REGION_KEY.fullmatch(key):
        raise fail(f"regional key {key!r} is neither an AGS nor an ARS")
    if len(key) == 12:  # ARS: Land(2) RB(1) Kreis(2) Verband(4) Gemeinde(3)
        return key[:5] + key[9:], "gemeinde"
    level = {2: "land", 5: "kreis", 8: "gemeinde"}.get(len(key), "")
    return (key if level else ""), level


def _date(time: str, fail) -> dt.date:
    """A year is its 31 December (the Stichtag of population tables); a date is itself."""
    if re.fullmatch(r"\d{4}", time):
        return dt.date(int(time), 12, 31)
    if match := re.fullmatch(r"(\d{2})\.(\d{2})\.(\d{4})", time):
        return dt.date(int(match[3]), int(match[2]), int(match[1]))
    try:
        return dt.date.fromisoformat(time)
    except ValueError:
        raise fail(f"unsupported time {time!r} (only years and dates)") from None


def _values(table: pd.DataFrame, fail) -> tuple[pd.Series, pd.Series]:
    """Numeric values and notes; German files use decimal ',' (and '.' only as marker or grouping)."""
    raw = table["value"]
    german = raw.str.contains(",", regex=False).any() or table["time_label"].isin(GERMAN_TIME_LABELS).any()
    is_marker = raw.isin(MARKERS)
    numbers = raw.where(~is_marker, "")
    if german:
        numbers = numbers.str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    values = pd.to_numeric(numbers.where(numbers != "", None), errors="coerce").astype(float)
    bad = raw[values.isna() & ~is_marker & (raw != "")]
    if not bad.empty:
        raise fail(f"value {bad.iloc[0]!r} is neither a number nor a publisher marker")
    notes = raw.map(lambda v: f"publisher marker '{v}'" if v in MARKERS else ("no value" if v == "" else ""))
    if "value_q" in table:  # quality flags other than e (final) are worth a remark
        flags = table["value_q"].map(lambda q: f"quality flag '{q}'" if q not in ("", "e") else "")
        notes = (notes + "; " + flags).str.strip("; ")
    return values, notes


def _measures(table: pd.DataFrame, classifying: list[int], fail) -> tuple[pd.Series, list[str]]:
    """Measure name and unit per row (see the module docstring)."""
    code, raw_unit = table["value_variable_code"], table["value_unit"]
    for known, (measure_name, unit, accepted) in MEASURES.items():
        other = raw_unit[(code == known) & ~raw_unit.isin(accepted)]
        if len(other):
            raise fail(f"{known} ({measure_name}) in value_unit {other.iloc[0]!r}, expected one of "
                       f"{sorted(accepted)}: another unit would be stored as {unit}")
    measure = code.map(lambda c: MEASURES[c][0] if c in MEASURES else f"genesis_{_slug(c)}")
    several = code.map(table.groupby("value_variable_code")["value_unit"].nunique()) > 1
    # one value variable in several units (PREIS1 as index and as % change): the unit tells them apart
    measure = measure.where(~several, measure + "_" + raw_unit.map(lambda u: _slug(u.replace("%", "pct"))))
    units = [MEASURES[c][1] if c in MEASURES and not s else UNITS.get(u, u) for c, u, s in zip(code, raw_unit, several)]
    for k in classifying:
        attribute = table[f"{k}_variable_attribute_code"]
        suffix = attribute.map(lambda a: ATTRIBUTE_SUFFIXES.get(a, _slug(a)))
        # an empty attribute code is the variable's total ("Insgesamt"): the plain measure
        measure = measure.where(attribute == "", measure.str.removesuffix("_total") + "_" + suffix)
    return measure, units


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")
