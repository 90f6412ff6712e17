"""Helpers for the big frames that parsers, staging, indicators and reports share."""

from __future__ import annotations

import numpy as np
import pandas as pd


def shared_where(mask: np.ndarray, value, other) -> np.ndarray:
    """An object array: ``value`` where ``mask``, else ``other`` (as ``np.where``, same values).

    Why not ``np.where``/``Series.where``: on object data they make a new str (or NaN float) object per
    row; on the 2.18 M Breitbandatlas rows 'gemeinde' and NaN alone held about 150 MiB, INKAR's notes
    another ~150 MiB. Here every row refers to the one object ``other``/``value``, or to the element of
    ``value`` at its position when ``value`` is an array."""
    out = np.empty(len(mask), dtype=object)
    out[:] = other
    out[mask] = value[mask] if isinstance(value, np.ndarray) else value
    return out


def per_distinct(values, function) -> np.ndarray:
    """``[function(x) for x in values]`` as an object array, ``function`` called once per distinct value
    (missing values: once, with the first missing object). Why: parsed and derived columns hold a handful of
    codes or texts over hundreds of thousands of rows (territorial change codes, Gemeindeverzeichnis codes).
    Equal values get the one result object."""
    array = values.to_numpy(dtype=object) if isinstance(values, pd.Series) else np.asarray(values, dtype=object)
    codes, uniques = pd.factorize(array, use_na_sentinel=True)
    results = np.empty(len(uniques) + 1, dtype=object)
    results[:len(uniques)] = [function(value) for value in uniques]
    missing = codes < 0
    if missing.any():
        results[-1] = function(array[int(np.argmax(missing))])
    return results[codes]  # code -1 (missing) takes the last slot


def with_columns(frame: pd.DataFrame, index: pd.Index | None = None, **columns) -> pd.DataFrame:
    """``frame.assign(**columns)`` for ``columns`` given as arrays (on ``index`` when given, e.g.
    ``reset_index(drop=True)``'s) as a new frame that shares the other columns' arrays instead of copying them.

    Why: ``assign``, ``copy()`` and ``reset_index`` copy every column, first merging the text columns into one
    block (1.4 M INKAR Gemeinde rows: ~0.4 CPU s a copy). Only for a frame whose columns are then replaced
    whole (``frame[column] = ...`` replaces the column), never written into."""
    if not frame.columns.is_unique:  # a dict of the columns would keep one of two equal names
        return (frame if index is None else frame.set_axis(index)).assign(**columns)
    # a numpy column as its own array: the constructor's unwrapping of .array tests every value for missing
    data = {column: series.to_numpy() if isinstance(series.dtype, np.dtype) else series.array
            for column, series in frame.items()}
    data.update(columns)
    return pd.DataFrame(data, index=frame.index if index is None else index, copy=False)


def shared_strings(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text column (object dtype, only ``str`` besides missing values) rewritten so that
    equal strings are one object; same dtype, same values, same row hashes.

    Why: DuckDB's ``df()`` makes a new Python string per cell. The report data of all towns held ~130,000
    copies of each indicator id, label and licence text (the report child: 874 MiB after the load, 468 MiB
    this way), the observed indicator values ~700,000 strings in each of four key columns (~160 MiB); a
    shared object costs the 8-byte pointer only (2026-12-02, docs/performance-log.md). Missing values (None,
    NaN) stay the objects they were; numbers, dates, bytes and mixed columns stay as they are. Not through
    Arrow, which never makes the per-cell strings: DuckDB's scan of an Arrow table leaves threads behind,
    and the report child forks its page workers only while it runs one thread (reports/child.py).
    """
    for column in frame.columns:
        series = frame[column]
        if series.dtype != object or pd.api.types.infer_dtype(series, skipna=True) != "string":
            continue
        values = series.to_numpy()
        codes, uniques = pd.factorize(values)  # uniques: the first object of each distinct string
        shared = values.copy()
        present = codes >= 0
        shared[present] = uniques[codes[present]]
        frame[column] = shared
    return frame
