"""Breitbandatlas CSVs: share of private households with access to >= N Mbit/s.

Two layouts: ``labelled`` (Gemeinde files, headers like "alle Technologien ≥ 1000 Mbit/s")
and ``coded`` (Kreis and national files, headers like ``verf_300_1000``). Separators
(``,`` or ``;``) and quoting vary by vintage; the separator is detected from the header
line. Rows whose values are all zero are uninhabited or non-reporting areas: they are
missing data, not 0 %, and are dropped.
"""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.contracts import csv_separator, unique_headers
from sources.errors import SourceError
from sources.registry import Release
from sources.vintages import HALF_ENDS

TECHNOLOGY_BY_LABEL = {
    "alle Technologien": "all",
    "leitungsg. Technologien": "wired",
    "mobile Technologien": "mobile",
    "DSL": "dsl",
    "CATV": "catv",
    "FTTH/B": "ftthb",
}
TECHNOLOGY_BY_CODE = {
    "300": "all", "100": "wired", "200": "mobile", "dsl": "dsl", "catv": "catv",
    "ftth": "ftthb", "ftthb": "ftthb", "umts": "umts", "lte": "lte", "5g": "5g", "wimax/wlan": "wimax_wlan",
}
LABELLED_COLUMN = re.compile(r"(?P<tech>.+?) ≥ (?P<speed>\d+) Mbit/s", re.IGNORECASE)  # "MBit/s" is the same unit
# a header that names a bandwidth must be understood, in any notation ("≥ 100 Mbit/s", ">= 100 Mbps", "1 Gbit"):
# a header ">= 100 Mbps" was taken for an added name column and its measure silently dropped (review, 4 December)
SPEED_LIKE = re.compile(r"bit/s|bps\b|[mg]bit|≥|>=|verf_", re.IGNORECASE)
CODED_COLUMN = re.compile(r"verf_(?P<tech>.+)_(?P<speed>\d+)")
KEY_COLUMNS = {"ags": None, "staat": "DG"}  # key column -> fixed key (None: take the value)
LEVEL_BY_LENGTH = {8: "gemeinde", 5: "kreis", 2: "land"}  # a padded key's length -> its level
REFERENCE_DAY = HALF_ENDS  # the half a vintage names -> its reference day ('2021-mitte' -> 30.06.)


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """Parse every table of one Breitbandatlas vintage into tidy observations."""
    year, half = release.vintage.split("-")
    reference_date = pd.Timestamp(f"{year}-{REFERENCE_DAY[half]}").date()
    frames = [_parse_table(release.source_id, f.relative_path, f.path.read_bytes(), f.layout, reference_date)
              for f in release.files]
    return {"observations": pd.concat(frames, ignore_index=True)}


def _parse_table(source_id: str, name: str, content: bytes, layout: str, reference_date) -> pd.DataFrame:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SourceError(source_id, name, f"not UTF-8 text ({exc.reason} at byte {exc.start})") from exc
    header_line = text.split("\n", 1)[0]
    separator = csv_separator(header_line)
    unique_headers(source_id, name, header_line, separator)
    try:
        table = pd.read_csv(io.StringIO(text), sep=separator, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, ValueError) as exc:
        raise SourceError(source_id, name, f"cannot be read as CSV with separator {separator!r}: {exc}") from exc
    # columns are read by name: the key column anywhere, speed columns by their label, other columns
    # (a name or Land the publisher adds) ignored
    key_column = next((c for c in table.columns if c.strip().lower() in KEY_COLUMNS), None)
    if key_column is None or table.shape[1] < 2:
        raise SourceError(
            source_id, name,
            f"expected a key column 'AGS', 'ags' or 'staat' and speed columns separated by ';' or ',', "
            f"found header {header_line[:120]!r}",
        )
    columns = _speed_columns(source_id, name, [c for c in table.columns if c != key_column], layout)
    values, bad = _numbers(table, list(columns))
    if bad is not None:
        column, text, row = bad  # row: 0-based among the data rows; the file's line is two further (header, 1-based)
        raise SourceError(source_id, name, f"row {row + 2} ({key_column} {table[key_column].iat[row].strip()}), "
                                           f"column {column!r}: non-numeric value {text!r}")
    fixed_key = KEY_COLUMNS[key_column.strip().lower()]
    keys = table[key_column].str.strip() if fixed_key is None else pd.Series(fixed_key, index=table.index)
    keep = ~(values.fillna(0) == 0).all(axis=1)  # all-zero rows are missing data, not 0 %
    # Key, level and district test per row of the file (one per key), not per value of the long table.
    ags = keys[keep].map(_normalise_key)
    _known_key_lengths(source_id, name, key_column, keys[keep], ags)
    level = ags.map(_level)
    # City districts (Berlin, Hamburg, Bremen, Köln, München in the *_bezirke_* files) have
    # 8-digit keys next to their city's own row ccccc000: they are not Gemeinden.
    cities = {a[:5] for a in ags if len(a) == 8 and a.endswith("000")}
    is_district = ags.map(lambda a: len(a) == 8 and not a.endswith("000") and a[:5] in cities)
    level = level.mask(is_district.astype(bool), "bezirk")
    long = values[keep].set_axis(list(columns.values()), axis=1).assign(ags=ags, level=level)
    long = long.melt(id_vars=["ags", "level"], var_name="measure", value_name="value").dropna(subset=["value"])
    return long.assign(reference_date=reference_date, unit="% of households", note="")[OBSERVATION_COLUMNS]


def _known_key_lengths(source_id: str, name: str, key_column: str, raw: pd.Series, ags: pd.Series) -> None:
    """Refuse a key that is no Land (2), Kreis (5) or Gemeinde (8) key after padding, naming its row.

    A key exported as a float ("1053090.0") or with a digit too many ("010530900") has no level: it failed
    with a bare ``KeyError: 9`` in ``_level``. Lettered 8-character keys pass on to the contract, which names
    them as keys that do not match the AGS pattern."""
    bad = ags[(ags != "DG") & ~ags.str.len().isin(LEVEL_BY_LENGTH)]
    if len(bad):
        row = bad.index[0]  # read_csv's RangeIndex: 0-based among the data rows; the file's line is two further
        hint = " (a number written as a float)" if re.fullmatch(r"\d+\.\d*", raw[row]) else ""
        raise SourceError(source_id, name, f"row {row + 2}, column {key_column!r}: key {raw[row]!r}{hint} is no AGS "
                                           f"of 2, 5 or 8 digits (Land, Kreis or Gemeinde)"
                                           + (f"; {len(bad)} such keys" if len(bad) > 1 else ""))


def _numbers(table: pd.DataFrame, columns: list[str]) -> tuple[pd.DataFrame, tuple[str, str, int] | None]:
    """``pd.to_numeric(column.str.strip(), errors="coerce")`` of every column, and the first non-numeric cell
    (column, text as read, row position) in column order and, within it, row order; ``None`` when there is none.

    Stripped once per distinct text of the file and converted once per distinct text of a column, not once
    per cell: a Gemeinde file's 2.2 M value cells hold ~10,000 distinct texts (stripping every cell in Python
    cost ~1 CPU s). Same values and dtypes: ``to_numeric`` converts each text on its own, and whether a column
    becomes int64 or float64 depends only on which texts occur in it, not on how often or in which order
    (the per-cell code is kept as the reference in tests/unit/sources/test_parser_per_distinct.py).
    """
    block = table[columns].to_numpy(dtype=object)
    codes, texts = pd.factorize(block.ravel(order="F"), use_na_sentinel=False)
    codes = codes.reshape(block.shape, order="F")
    stripped = pd.Series(texts, dtype=object).str.strip().to_numpy(dtype=object)
    converted, bad = {}, None
    for j, column in enumerate(columns):
        # the column's texts in first-appearance order: its smallest failing code is its first failing row
        rows, present = pd.factorize(codes[:, j])
        numbers = pd.to_numeric(pd.Series(stripped[present], dtype=object), errors="coerce")
        converted[column] = numbers.to_numpy()[rows]
        failing = np.flatnonzero(numbers.isna().to_numpy() & (texts[present] != ""))
        if bad is None and len(failing):
            bad = (column, texts[present[failing[0]]], int(np.flatnonzero(rows == failing[0])[0]))
    return pd.DataFrame(converted, index=table.index, columns=columns), bad


def _speed_columns(source_id: str, name: str, headers, layout: str) -> dict[str, str]:
    """Map each publisher header to a measure name households_<technology>_<speed>."""
    pattern, technologies = (
        (LABELLED_COLUMN, TECHNOLOGY_BY_LABEL) if layout == "labelled" else (CODED_COLUMN, TECHNOLOGY_BY_CODE)
    )
    columns = {}
    for header in headers:
        match = pattern.fullmatch(header.strip())
        if not match and not SPEED_LIKE.search(header):
            continue  # not a speed column at all (e.g. an added Gemeinde name): read by name, ignored
        # a speed header in another form ("≥ 1 Gbit/s") fails below: skipped, its measures would silently go
        if not match or match["tech"] not in technologies:
            raise SourceError(source_id, name, f"unknown column {header!r} (expected e.g. "
                                               f"{'alle Technologien ≥ 1000 Mbit/s' if layout == 'labelled' else 'verf_300_1000'})")
        columns[header] = f"households_{technologies[match['tech']]}_{int(match['speed'])}"
    if not columns:
        raise SourceError(source_id, name, f"no speed columns (e.g. 'alle Technologien ≥ 1000 Mbit/s' or "
                                           f"'verf_300_1000') among {list(headers)[:8]}")
    return columns


def _normalise_key(key: str) -> str:
    """AGS keys may lose leading zeros when unquoted: pad Gemeinden to 8 and Kreise to 5 digits."""
    if key == "DG" or not key.isdigit():
        return key
    return key.zfill(8) if len(key) > 5 else key.zfill(5) if len(key) > 2 else key.zfill(2)


def _level(key: str) -> str:
    if key == "DG":
        return "bund"
    return LEVEL_BY_LENGTH[len(key)]
