"""Pendleratlas of the Statistische Ämter des Bundes und der Länder (Pendlerrechnung, Gemeinden).

Layout as documented in ../shared/docs/source-formats.md section 5 (no real file could be
obtained offline: the layout is what two public readers of the portal expect, so anything
else fails here with a message naming file, row and column):

- Germany-wide indicator files ``{year}_{IND}_Karte_L00.csv``: ``ARS;<IND>;<IND>_m;<IND>_w``,
  semicolon-separated, key the 12-digit ARS (AGS-8 = ARS[0:5] + ARS[9:12]);
- per-Land flow files ``{year}_Verfl_L{LL}.csv``: ``Rang;ARS;ARS_AO;AUSP_AO;AUSP_km;ARS_WO;EIP_WO;EIP_km``,
  the ten main destinations (AO) and origins (WO) of each Gemeinde with distances in km.

A publisher marker (``.``, ``-``, ``*``, ``/``, ``x``, ``...``, a dash, or an empty cell: suppressed or missing)
keeps the observation with value NULL and the marker in ``note``; any other text that is no number fails. Counts
are whole numbers: a German thousands point (``4.182``) is read as such, any other fraction fails (a count of
4.182 people would otherwise be published a thousand times too small). The rate files must follow from the
count files of the year (``RATE_IDENTITIES``: a file's body under another indicator's header passes every range),
and the year's indicator files must list the same Gemeinden (``_same_gemeinden``: a file cut short). The concept
is all employed persons (Erwerbstätige, including civil servants and the self-employed), not
the BA's employees subject to social insurance: a separate source generation.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from pathlib import Path

import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.errors import SourceError
from sources.gigabit_grundbuch import cell_value
from sources.registry import Release, ReleaseFile

# indicator code -> (measure, unit). The rates get the measure names of the BA/INKAR shares so that the
# indicator out_commuter_share continues its series; sources.yaml `generation` flags the method break.
INDICATORS = {
    "EIP": ("in_commuters", "employed persons"),
    "AUSP": ("out_commuters", "employed persons"),
    "Saldo": ("commuter_balance", "employed persons"),
    "EIP_Quote": ("in_commuter_share", "% of employed persons at workplace"),
    "AUSP_Quote": ("out_commuter_share", "% of employed persons at residence"),
    "IOP": ("internal_commuters", "employed persons"),
}
SEX_SUFFIXES = {"": "", "_m": "_men", "_w": "_women"}
FLOW_HEADER = ["Rang", "ARS", "ARS_AO", "AUSP_AO", "AUSP_km", "ARS_WO", "EIP_WO", "EIP_km"]
FLOW_COLUMNS = ["ags", "direction", "rank", "partner_ags", "commuters", "distance_km", "reference_date", "note"]
MARKERS = {"", ".", "-", "*", "/", "x", "...", "–", "—"}
COUNT_COLUMNS = {"EIP", "AUSP", "Saldo", "IOP", "AUSP_AO", "EIP_WO", "Rang"}  # and their _m/_w columns
ARS = re.compile(r"\d{12}")


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """Tidy observations from the indicator files and Gemeinde flows from the Land flow files of one year."""
    reference_date = _reference_date(release)
    indicator_files = [f for f in release.files if f.role == "indicator"]
    flow_files = [f for f in release.files if f.role == "flows"]
    if not indicator_files and not flow_files:
        raise SourceError(release.source_id, release.vintage, "no Pendleratlas indicator or flow file in this release")
    parsed = {_indicator_code(release.source_id, f): (f, _indicator_file(release.source_id, f, reference_date))
              for f in indicator_files}
    _same_gemeinden(release.source_id, parsed)
    _rates_agree_with_counts(release.source_id, parsed)
    observations = _concat([frame for _, frame in parsed.values()], OBSERVATION_COLUMNS)
    flows = [_flow_file(release.source_id, f, reference_date) for f in flow_files]
    totals = {direction: observations.loc[observations["measure"] == measure].set_index("ags")["value"].dropna()
              for direction, (measure, _) in FLOW_TOTALS.items()}  # once per release, not once per Land file
    for release_file, frame in zip(flow_files, flows):
        _within_totals(release.source_id, release_file, frame, totals)
    return {"observations": observations, "gemeinde_flows": _concat(flows, FLOW_COLUMNS)}


# flow direction -> the release's total it is part of
FLOW_TOTALS = {"out": ("out_commuters", "AUSP"), "in": ("in_commuters", "EIP")}
# allowance per listed flow above the total: in case the portal rounds small flows up for data protection (not
# documented; the BA's atlas rounds counts under 10 up to 10), a tiny Gemeinde's ten flows must not fail
FLOW_ROUNDING = 10


def _within_totals(source_id: str, release_file: ReleaseFile, flows: pd.DataFrame,
                   totals: dict[str, pd.Series]) -> None:
    """A Gemeinde's listed flows (its top 10 partners) are part of its commuters: more than its total is a flow file
    of another year or Land, or a shifted column. It decided the coworking-gap ranking (7,000 long-distance
    commuters for a town with 3,000 out-commuters, called a lower bound, ranked first; audit of 2026-12-03)."""
    for direction, (_, code) in FLOW_TOTALS.items():
        total = totals[direction]
        rows = flows.loc[flows["direction"] == direction].groupby("ags")["commuters"]
        listed, counted = rows.sum(min_count=1), rows.count()
        both = listed.index.intersection(total.index)
        above = listed[both][listed[both] > total[both] + FLOW_ROUNDING * counted[both]]
        if len(above):
            ags = above.index[0]
            raise SourceError(source_id, release_file.relative_path,
                              f"Gemeinde {ags}: its listed {direction}-flows hold {above.iloc[0]:,.0f} commuters, more "
                              f"than its {total[ags]:,.0f} in the {code} file of this year ({len(above)} Gemeinden)")


def _same_gemeinden(source_id: str, parsed: dict[str, tuple[ReleaseFile, pd.DataFrame]]) -> None:
    """Refuse a year whose indicator files do not list the same Gemeinden.

    Each file is Germany-wide, one row per Gemeinde: a file that lacks Gemeinden the others list was cut short
    (a download that stopped at a line end) or filtered, and those Gemeinden would silently take their commuter
    share from INKAR or the BA, another concept, for this year; a file that lists Gemeinden no other file has
    belongs to another year. Compared with the union of the year's files, the first file that differs is named."""
    gemeinden = {code: set(frame["ags"]) for code, (_, frame) in parsed.items()}
    every = set().union(*gemeinden.values())
    for code, (release_file, _) in parsed.items():
        lacks = sorted(every - gemeinden[code])
        if lacks:
            others = next(parsed[c][0].relative_path for c in parsed if lacks[0] in gemeinden[c])
            raise SourceError(source_id, release_file.relative_path,
                              f"lacks {len(lacks)} of the {len(every)} Gemeinden of this year's indicator files, e.g. "
                              f"{lacks[0]} (listed in {Path(others).name}): cut short, or a file of another year?")


# rate file -> (the commuters it counts, the internal commuters): a rate is count / (count + IOP) * 100, in-commuters
# per employed person at the workplace, out-commuters per employed person at the residence (source-formats.md
# section 5: München 2024 EIP 529,834, IOP 640,422 -> 45.3). The out-commuter rate is checked against no real file
# (none on this machine): by the same concept, employed persons at the residence are AUSP + IOP; should a real
# download disagree, the release fails naming both numbers, and the publisher's figures are the truth to follow
# (source-formats.md section 5: "treat any difference seen in a real download as the truth and fail clearly").
# Totals only: the men/women rates of the fixture are constructed, and no document says the publisher derives them
# from the men/women counts in the same way.
RATE_IDENTITIES = {"EIP_Quote": ("EIP", "IOP"), "AUSP_Quote": ("AUSP", "IOP")}
# The rate is published with one decimal (half a tenth of rounding); a tenth more for a publisher that rounds the
# rate from unrounded counts. RATE_COUNT_SLACK persons more or fewer in a count are allowed on top (the rate's change
# they make: whole points in a village of 100 employed, 0.03 in Mölln): small counts may be altered for secrecy
# (undocumented for the Pendlerrechnung) and must not refuse a release. Swapped or foreign files are off by many
# points in nearly every Gemeinde (Mölln's out-commuter rate 61.8 read as 51.2).
RATE_ROUNDING_POINTS = 0.05 + 0.1
RATE_COUNT_SLACK = 3


def _rates_agree_with_counts(source_id: str, parsed: dict[str, tuple[ReleaseFile, pd.DataFrame]]) -> None:
    """Refuse a release whose rate file disagrees with its count files (``RATE_IDENTITIES``).

    Each indicator file is read by its header only, and the header names the file's own indicator: the bodies of
    EIP_Quote and AUSP_Quote swapped (headers kept) were published, Mölln's out-commuter share 61.8 -> 51.2
    (review of 5 December). Rows where a figure is a publisher marker (NULL) or nobody is employed are skipped;
    a release without one of the three files has nothing to compare."""
    for rate_code, (count_code, internal_code) in RATE_IDENTITIES.items():
        if not {rate_code, count_code, internal_code} <= parsed.keys():
            continue
        rate_file, rate_frame = parsed[rate_code]
        rates = _totals(rate_frame, rate_code)
        table = pd.DataFrame({"rate": rates, "count": _totals(parsed[count_code][1], count_code).reindex(rates.index),
                              "internal": _totals(parsed[internal_code][1], internal_code).reindex(rates.index),
                              "row": range(2, len(rates) + 2)})  # the numbering of _indicator_file (data rows)
        table = table.assign(employed=table["count"] + table["internal"])
        table = table.assign(derived=table["count"] / table["employed"] * 100)[table["employed"] > 0].dropna()
        allowed = RATE_ROUNDING_POINTS + 100 * RATE_COUNT_SLACK / table["employed"]
        off = table[(table["rate"] - table["derived"]).abs() > allowed]
        if len(off):
            first = off.iloc[0]
            names = [Path(parsed[code][0].relative_path).name for code in (count_code, internal_code)]
            raise SourceError(source_id, rate_file.relative_path,
                              f"row {int(first['row'])} (Gemeinde {off.index[0]}): {rate_code} {first['rate']:g}, but "
                              f"{count_code} / ({count_code} + {internal_code}) * 100 from {names[0]} and {names[1]} is "
                              f"{first['derived']:.1f} ({first['count']:,.0f} of {first['employed']:,.0f}"
                              f"); {len(off)} of {len(table)} Gemeinden disagree: a file of another indicator or year?")


def _totals(frame: pd.DataFrame, code: str) -> pd.Series:
    """The file's totals (not the men/women columns) by AGS, in file order; a marker is NaN."""
    rows = frame.loc[frame["measure"] == INDICATORS[code][0]]
    return pd.Series(pd.to_numeric(rows["value"], errors="coerce").to_numpy(dtype=float), index=rows["ags"].to_numpy())


def ars_to_ags(source_id: str, file: str, row: int, column: str, ars: str) -> str:
    """12-digit ARS (Land 2, RB 1, Kreis 2, Verband 4, Gemeinde 3) -> 8-digit AGS."""
    ars = ars.strip()
    if not ARS.fullmatch(ars):
        raise SourceError(source_id, file, f"row {row}, column {column}: {ars!r} is not a 12-digit ARS")
    return ars[:5] + ars[9:]


def parse_value(source_id: str, file: str, row: int, column: str, text: str) -> tuple[float | None, str]:
    """(number, '') for a figure, (None, 'marker ...') for a publisher marker; anything else fails.

    The portal writes plain numbers. Read as the Gigabit-Grundbuch reader reads a cell: a decimal comma is a decimal
    point (with German thousands points before it: 1.234,5), a trailing % is ignored; in a count column
    (``COUNT_COLUMNS``) a point groups thousands and a fraction fails."""
    text = text.strip().replace("\u2212", "-")  # a typographic minus from a spreadsheet is a minus
    if text in MARKERS:
        return None, f"marker {text!r}" if text else "marker '' (empty)"
    count = column.removesuffix("_m").removesuffix("_w") in COUNT_COLUMNS
    try:  # the Gigabit-Grundbuch reader's number form: comma decimals, thousands points in counts, nothing else
        parsed = cell_value(text, counts=count)
    except ValueError:
        parsed = None
    if parsed is None:  # text, or a lone "%"
        raise SourceError(source_id, file, f"row {row}, column {column}: {text!r} is neither a number nor a "
                                           f"publisher marker ({', '.join(repr(m) for m in sorted(MARKERS) if m)})")
    value = parsed[0]
    if count and not value.is_integer():
        raise SourceError(source_id, file, f"row {row}, column {column}: '{value:g}' is not a whole number "
                                           "(a count; thousands are grouped with '.', as in 4.182)")
    return value, ""


def _reference_date(release: Release) -> dt.date:
    if not re.fullmatch(r"\d{4}", release.vintage):
        raise SourceError(release.source_id, release.vintage, "a Pendleratlas vintage is a year, e.g. 2024")
    # The Pendlerrechnung counts commuters on 30 June of the year (as the BA statistics it builds on).
    return dt.date(int(release.vintage), 6, 30)


def _rows(source_id: str, release_file: ReleaseFile, expected: list[str]) -> list[list[str]]:
    """The data rows of a semicolon CSV whose header must be exactly ``expected``."""
    raw = release_file.path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("cp1252")  # an export from a German spreadsheet
    if text.lstrip().lower().startswith(("<!doctype html", "<html")):
        raise SourceError(source_id, release_file.relative_path, "an HTML page, not a Pendleratlas CSV")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    header = [c.strip() for c in rows[0]] if rows else []
    if header != expected:
        raise SourceError(source_id, release_file.relative_path,
                          f"header {';'.join(header)!r}, expected {';'.join(expected)!r}")
    for number, row in enumerate(rows[1:], start=2):
        if row and len(row) != len(expected):
            raise SourceError(source_id, release_file.relative_path,
                              f"row {number}: {len(row)} fields, expected {len(expected)}")
    return [row for row in rows[1:] if row]


def _indicator_file(source_id: str, release_file: ReleaseFile, reference_date: dt.date) -> pd.DataFrame:
    code = _indicator_code(source_id, release_file)
    measure, unit = INDICATORS[code]
    columns = [code, f"{code}_m", f"{code}_w"]
    records = []
    for number, row in enumerate(_rows(source_id, release_file, ["ARS", *columns]), start=2):
        ags = ars_to_ags(source_id, release_file.relative_path, number, "ARS", row[0])
        for column, text in zip(columns, row[1:]):
            value, note = parse_value(source_id, release_file.relative_path, number, column, text)
            records.append((ags, measure + SEX_SUFFIXES[column[len(code):]], value, note))
    frame = pd.DataFrame(records, columns=["ags", "measure", "value", "note"])
    if frame.duplicated(["ags", "measure"]).any():
        twice = frame.loc[frame.duplicated(["ags", "measure"]), "ags"].iloc[0]
        raise SourceError(source_id, release_file.relative_path, f"Gemeinde {twice} appears twice")
    return frame.assign(level="gemeinde", reference_date=reference_date, unit=unit)[OBSERVATION_COLUMNS]


def _indicator_code(source_id: str, release_file: ReleaseFile) -> str:
    match = re.search(r"_(EIP_Quote|AUSP_Quote|EIP|AUSP|Saldo|IOP)_Karte_L00\.csv$", release_file.relative_path)
    if not match:
        raise SourceError(source_id, release_file.relative_path, f"unknown indicator file; known: {sorted(INDICATORS)}")
    return match.group(1)


def _flow_file(source_id: str, release_file: ReleaseFile, reference_date: dt.date) -> pd.DataFrame:
    """Each row holds rank r of a Gemeinde's destinations (out) and of its origins (in): two flow rows."""
    name = release_file.relative_path
    records = []
    for number, row in enumerate(_rows(source_id, release_file, FLOW_HEADER), start=2):
        cell = dict(zip(FLOW_HEADER, row))
        rank, _ = parse_value(source_id, name, number, "Rang", cell["Rang"])
        if rank is None or not 1 <= rank <= 10:
            raise SourceError(source_id, name, f"row {number}, column Rang: {cell['Rang']!r} is not a rank 1-10")
        ags = ars_to_ags(source_id, name, number, "ARS", cell["ARS"])
        for direction, partner, count, km in (("out", "ARS_AO", "AUSP_AO", "AUSP_km"),
                                              ("in", "ARS_WO", "EIP_WO", "EIP_km")):
            if not cell[partner].strip():  # fewer than `rank` partners in this direction
                continue
            partner_ags = ars_to_ags(source_id, name, number, partner, cell[partner])
            if partner_ags == ags:  # a commuter crosses the Gemeinde boundary by definition: a mix-up of columns
                raise SourceError(source_id, name, f"row {number}, column {partner}: the partner is the Gemeinde "
                                                   f"{ags} itself; a commuter flow leads to another Gemeinde")
            commuters, note = parse_value(source_id, name, number, count, cell[count])
            distance, distance_note = parse_value(source_id, name, number, km, cell[km])
            records.append((ags, direction, int(rank), partner_ags, commuters, distance,
                            "; ".join(n for n in (note, distance_note) if n)))
    frame = pd.DataFrame(records, columns=[c for c in FLOW_COLUMNS if c != "reference_date"])
    if frame.duplicated(["ags", "direction", "rank"]).any():
        twice = frame[frame.duplicated(["ags", "direction", "rank"])].iloc[0]
        raise SourceError(source_id, name, f"Gemeinde {twice['ags']} has rank {twice['rank']} twice ({twice['direction']})")
    return frame.assign(reference_date=reference_date)[FLOW_COLUMNS]


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if not f.empty]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=columns)
