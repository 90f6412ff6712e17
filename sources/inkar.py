"""INKAR (BBSR) commuting and accessibility indicators, as re-packaged in parquet by RegioHub/inkr.

The data table is wide (``region_id, zeitbezug, x334 ... x356``); the region table maps
``region_id`` to level (``raumbezug``) and code (``kennziffer``, numeric in 2022-12, so
leading zeros are restored here). Commuting exists for Gemeindeverbände, Kreise, Länder
and Germany; ``map_to_gemeinden`` assigns a Gemeindeverband's value to its member
Gemeinden with a note.
"""

from __future__ import annotations

import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.errors import SourceError
from sources.registry import Release

# INKAR indicator column -> (measure, unit, word that must appear in INKAR's own short name)
COMMUTING_COLUMNS = {
    "x351": ("in_commuter_share", "% of employees at workplace", "Einpendler"),
    "x352": ("out_commuter_share", "% of employees at residence", "Auspendler"),
    "x353": ("commuter_balance_per_100", "per 100 employees at workplace", "Pendlersaldo"),
    "x354": ("commuters_50km_share", "% of employees at residence", "50 km"),
    "x355": ("commuters_150km_share", "% of employees at residence", "150 km"),
    "x356": ("commuters_300km_share", "% of employees at residence", "300 km"),
}
# Accessibility ("Erreichbarkeit"), same release and file. The words are checked against INKAR's
# own name + short name; the unit words ("Minuten", "Anteil") pin the unit the catalogue assumes.
# x345 is a population-weighted straight-line distance: INKAR's name gives no unit, the values
# (e.g. 189 for Mölln, median ~470 over all Gemeindeverbände in 2018) are metres.
ACCESSIBILITY_COLUMNS = {
    "x336": ("car_minutes_to_ic_ice_station", "minutes by car", ("IC/ICE-Bahnhof", "Minuten")),
    "x337": ("car_minutes_to_oberzentrum", "minutes by car", ("Oberzentrum", "Minuten")),
    "x345": ("distance_to_transit_stop_m", "m (straight line, population-weighted)",
             ("Haltestelle", "20 Abfahrten", "Luftliniendistanz zur")),
    "x346": ("residents_within_1km_of_transit_stop_share", "% of residents",
             ("Haltestelle", "20 Abfahrten", "Anteil Einwohner")),
}
MEASURE_COLUMNS = {**COMMUTING_COLUMNS, **ACCESSIBILITY_COLUMNS}
LEVELS = {  # raumbezug -> (level, digits of the key)
    "Gemeindeverbände": ("gemeindeverband", 8),
    "Kreise": ("kreis", 5),
    "Bundesländer": ("land", 2),
    "Bund": ("bund", 0),
}


def parse_release(release: Release) -> dict[str, pd.DataFrame]:
    """Tidy commuting and accessibility observations for Gemeindeverbände, Kreise, Länder and Germany."""
    data_file, regions_file = release.file("data"), release.file("regions")
    data = _read(release.source_id, data_file, ["region_id", "zeitbezug", *MEASURE_COLUMNS])
    regions = _read(release.source_id, regions_file, ["id", "raumbezug", "kennziffer", "name"])
    if any(f.role == "catalogue" for f in release.files):
        _check_catalogue(release.source_id, release.file("catalogue"))
    regions = regions[regions["raumbezug"].isin(LEVELS)]
    table = data.merge(regions, left_on="region_id", right_on="id", how="inner")
    # Multi-year periods such as "2016/2017/2018" are averages, not yearly values: skipped.
    table = table[table["zeitbezug"].str.fullmatch(r"\d{4}")]
    if table.empty:
        raise SourceError(release.source_id, data_file.relative_path, "no yearly rows for Gemeindeverbände or Kreise")
    table["level"] = table["raumbezug"].map(lambda r: LEVELS[r][0])
    table["ags"] = [_key(code, LEVELS[r][1]) for code, r in zip(table["kennziffer"], table["raumbezug"])]
    table["reference_date"] = pd.to_datetime(table["zeitbezug"] + "-12-31").dt.date
    long = table.melt(
        id_vars=["ags", "level", "reference_date", "name"], value_vars=list(MEASURE_COLUMNS),
        var_name="column", value_name="value",
    ).dropna(subset=["value"])
    long["measure"] = long["column"].map(lambda c: MEASURE_COLUMNS[c][0])
    long["unit"] = long["column"].map(lambda c: MEASURE_COLUMNS[c][1])
    long["note"] = ""
    names = table[["ags", "level", "name"]].drop_duplicates(["ags", "level"])
    return {"observations": long[OBSERVATION_COLUMNS].reset_index(drop=True), "region_names": names}


def _read(source_id: str, release_file, columns: list[str]) -> pd.DataFrame:
    try:
        table = pd.read_parquet(release_file.path)
    except Exception as exc:  # pyarrow raises several types for non-parquet input
        raise SourceError(source_id, release_file.relative_path, f"not a readable parquet file ({exc})") from exc
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise SourceError(source_id, release_file.relative_path,
                          f"missing columns {missing}; found {list(table.columns)[:12]}")
    return table[columns]


def _check_catalogue(source_id: str, catalogue_file) -> None:
    """INKAR renumbers indicators between releases: make sure x351..x356 still mean commuting and
    x336, x337, x345, x346 still mean accessibility, in the unit the catalogue assumes."""
    catalogue = pd.read_parquet(catalogue_file.path)
    short_names = dict(zip(catalogue["id"].astype(int), catalogue["name"].fillna("") + " " + catalogue["kurzname"].fillna("")))
    for column, (_, _, words) in MEASURE_COLUMNS.items():
        words = (words,) if isinstance(words, str) else words
        missing = [w for w in words if w not in short_names.get(int(column[1:]), "")]
        if missing:
            raise SourceError(source_id, catalogue_file.relative_path,
                              f"indicator {column} is {short_names.get(int(column[1:]))!r}, "
                              f"expected one about {' / '.join(repr(w) for w in missing)}")


def _key(code, digits: int) -> str:
    if digits == 0:
        return "DG"
    return str(int(float(code))).zfill(digits)


def map_to_gemeinden(commuting: pd.DataFrame, region_names: pd.DataFrame, register: pd.DataFrame) -> pd.DataFrame:
    """Assign Gemeindeverband observations to the member Gemeinden of the register.

    INKAR's 8-digit Gemeindeverband codes are its own; they are matched to the
    Destatis register by Kreis and name. A Verband with one member is that Gemeinde
    (no note); a Verband with several members passes its value on with the note
    ``from Gemeindeverband <code>`` so users see the value is not the Gemeinde's own.
    """
    verband_names = region_names[region_names["level"] == "gemeindeverband"].assign(
        kreis_ags=lambda t: t["ags"].str[:5], key=lambda t: t["name"].map(_name_key)
    )
    members = register.dropna(subset=["vb_name"]).assign(key=lambda t: t["vb_name"].map(_name_key))
    members["member_count"] = members.groupby("vb_ars")["ags"].transform("count")
    by_name = verband_names.merge(members[["ags", "kreis_ags", "key", "member_count"]],
                                  on=["kreis_ags", "key"], suffixes=("_verband", ""))
    # Register names are sometimes abbreviated ("Dießen am Ammersee, M"): a Verband
    # whose code is the AGS of a Gemeinde that forms its own Verband is that Gemeinde.
    single = members[members["member_count"] == 1]
    by_code = verband_names.merge(single[["ags", "member_count"]], on="ags").assign(ags_verband=lambda t: t["ags"])
    matched = pd.concat([by_code, by_name]).drop_duplicates("ags")  # one Verband per Gemeinde
    observations = commuting[commuting["level"] == "gemeindeverband"].merge(
        matched[["ags_verband", "ags", "member_count"]], left_on="ags", right_on="ags_verband", suffixes=("_drop", "")
    )
    observations["note"] = [
        "" if n == 1 else f"from Gemeindeverband {v}" for n, v in zip(observations["member_count"], observations["ags_verband"])
    ]
    return observations.assign(level="gemeinde")[OBSERVATION_COLUMNS]


def _name_key(name: str) -> str:
    """Names compared without case, spaces and the '(VGem)'-style suffix differences."""
    return "".join(ch for ch in str(name).lower() if ch.isalnum())
