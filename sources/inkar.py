"""INKAR (BBSR) commuting and accessibility indicators, as re-packaged in parquet by RegioHub/inkr.

The data table is wide (``region_id, zeitbezug, x334 ... x356``); the region table maps
``region_id`` to level (``raumbezug``) and code (``kennziffer``, numeric in 2022-12, so
leading zeros are restored here). Commuting exists for Gemeindeverbände, Kreise, Länder
and Germany; ``map_to_gemeinden`` assigns a Gemeindeverband's value to its member
Gemeinden with a note.
"""

from __future__ import annotations

import datetime as dt
import difflib
import logging
import re

import pandas as pd

from sources import OBSERVATION_COLUMNS
from sources.errors import SourceError
from sources.frames import per_distinct, shared_where
from sources.registry import Release, label_vintage
from sources.vintages import in_time_order, release_order

log = logging.getLogger(__name__)

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
# The day of the year a zeitbezug stands for. The commuting shares are the BA's counts of 30 June (a Pendler is
# counted only on 30.06.); dated 31.12 they outranked the BA's own Gemeinde figure of the same year, which the
# catalogue ranks first (indicators take a year's newest date before the source order). The accessibility
# indicators are the year's state: 31.12.
DAY_OF_YEAR = {**{column: "-06-30" for column in COMMUTING_COLUMNS},
               **{column: "-12-31" for column in ACCESSIBILITY_COLUMNS}}
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
    if not any(f.role == "catalogue" for f in release.files):
        # without it a renumbered release (x351 and x352 swapped) would be read with the old meanings, silently
        raise SourceError(release.source_id, data_file.relative_path,
                          f"no indicator catalogue (_indikatoren_{release.vintage}.parquet) beside it: INKAR renumbers "
                          f"indicators between releases, so {', '.join(MEASURE_COLUMNS)} cannot be checked to still "
                          "mean what this parser reads them as")
    _check_catalogue(release.source_id, release.file("catalogue"))
    regions = regions[regions["raumbezug"].isin(LEVELS)]
    table = data.merge(regions, left_on="region_id", right_on="id", how="inner")
    # Multi-year periods such as "2016/2017/2018" are averages, not yearly values: skipped. Anything else is no
    # period this parser knows ("2019 " was skipped as if it were one, and the year went missing without a word).
    table["zeitbezug"] = table["zeitbezug"].astype(str).str.strip()
    unknown = ~table["zeitbezug"].str.fullmatch(r"\d{4}(/\d{4})*")
    if unknown.any():
        raise SourceError(release.source_id, data_file.relative_path,
                          f"zeitbezug {table.loc[unknown, 'zeitbezug'].iloc[0]!r} is neither a year nor years joined "
                          f"by '/' ({int(unknown.sum())} rows)")
    table = table[table["zeitbezug"].str.fullmatch(r"\d{4}")]
    if table.empty:
        raise SourceError(release.source_id, data_file.relative_path, "no yearly rows for Gemeindeverbände or Kreise")
    table = zero_counts_missing(table, f"[{release.source_id}] {data_file.relative_path}")
    table["level"] = table["raumbezug"].map(lambda r: LEVELS[r][0])
    try:
        table["ags"] = [_key(code, LEVELS[r][1]) for code, r in zip(table["kennziffer"], table["raumbezug"])]
    except (TypeError, ValueError) as exc:  # a lettered or empty kennziffer: name the file, not just the value
        raise SourceError(release.source_id, regions_file.relative_path, f"column kennziffer: {exc}") from None
    table = exchanged_rows_missing(table, _in_out_exchanged(release.source_id, data_file.relative_path, table),
                                   f"[{release.source_id}] {data_file.relative_path}")
    long = table.melt(
        id_vars=["ags", "level", "zeitbezug", "name"], value_vars=list(MEASURE_COLUMNS),
        var_name="column", value_name="value",
    ).dropna(subset=["value"])
    long["reference_date"] = per_distinct(long["zeitbezug"] + long["column"].map(DAY_OF_YEAR),
                                          dt.date.fromisoformat)
    # dictionaries, not a Python function per row (~450,000 rows)
    long["measure"] = long["column"].map({column: measure for column, (measure, _, _) in MEASURE_COLUMNS.items()})
    long["unit"] = long["column"].map({column: unit for column, (_, unit, _) in MEASURE_COLUMNS.items()})
    long["note"] = ""
    names = table[["ags", "level", "name"]].drop_duplicates(["ags", "level"])
    # where the names come from, for the message of a later check against the register (_kreis_names_agree)
    names.attrs.update(source_id=release.source_id, file=regions_file.relative_path)
    return {"observations": long[OBSERVATION_COLUMNS].reset_index(drop=True), "region_names": names,
            "gemeinden": _gemeinden(regions_file, release.source_id)}


# INKAR writes 0 where a commuter count is missing. A region with employees has both in- and out-commuters, and the
# balance (x353, per 100 employees at the workplace) of such a row is computed from the 0: in 1999 x353 equals x351
# in the nine Gemeindeverbände whose x352 is 0 (Herzberg (Elster) 82.35, 0.00, 84.05 % out-commuters in 1998, 1999,
# 2000), and Marxheim's in-commuters are 0 in 2010-2012 only. They were published as real 0 % values (data review
# of 5 December); a share of 0 and the balance beside it are missing (methodology: never a 0 for a missing value).
COUNT_SHARES = ("x351", "x352")
BALANCE = "x353"


def zero_counts_missing(table: pd.DataFrame, where: str) -> pd.DataFrame:
    """``table`` (wide, one row per region and year) with every in- or out-commuter share of 0 and the balance of
    that row set to missing (dropped with the other missing values), the rows named in the log."""
    zero = table[list(COUNT_SHARES)].eq(0)
    return _read_as_missing(table, zero.assign(**{BALANCE: zero.any(axis=1)}), ["name", "zeitbezug"], where,
                            "with a commuter share of 0", "INKAR's 0 for a missing count, read as missing with the "
                            "balance beside it")


def exchanged_rows_missing(table: pd.DataFrame, rows: pd.Index, where: str) -> pd.DataFrame:
    """``table`` with the in- and out-commuter shares and the balance of ``rows`` (rows that fit the commuter
    identity only with x351 and x352 exchanged, too few to refuse the file) set to missing, the rows named in the
    log. The real 2022-12 file has 2 (Prüm 2015: in 76.18, out 74.96; GVV Schönau im Schwarzwald 2017)."""
    chosen = table.index.isin(rows)
    missing = pd.DataFrame({column: chosen for column in (*COUNT_SHARES, BALANCE)}, index=table.index)
    return _read_as_missing(table, missing, ["ags", "name", "zeitbezug"], where, "whose in- and out-commuter shares "
                            "fit the commuter balance only exchanged", "read as missing with the balance beside them")


def _read_as_missing(table: pd.DataFrame, missing: pd.DataFrame, labels: list[str], where: str, what: str,
                     outcome: str) -> pd.DataFrame:
    """``table`` with the cells ``missing`` marks (a boolean frame of some of its columns) set to missing, and a log
    line naming how many rows and three of them by ``labels``."""
    rows = missing.any(axis=1)
    if not rows.any():
        return table
    table = table.copy()
    for column in missing.columns:
        table.loc[missing[column], column] = float("nan")
    examples = ", ".join(" ".join(map(str, row)) for row in table.loc[rows, labels].head(3).to_numpy())
    count = int(rows.sum())
    log.info("%s: %d %s (region and year) %s (e.g. %s): %s", where, count, "row" if count == 1 else "rows", what,
             examples, outcome)
    return table


def _gemeinden(regions_file, source_id: str) -> pd.DataFrame:
    """INKAR's own list of Gemeinden (raumbezug 'Gemeinden'): the territorial status of the release."""
    regions = _read(source_id, regions_file, ["raumbezug", "kennziffer", "name"])
    rows = regions[(regions["raumbezug"] == "Gemeinden") & regions["kennziffer"].notna()]
    return pd.DataFrame({"ags": [_key(c, 8) for c in rows["kennziffer"]], "name": rows["name"].to_numpy()})


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


def map_to_gemeinden(commuting: pd.DataFrame, region_names: pd.DataFrame, register: pd.DataFrame,
                     inkar_gemeinden: pd.DataFrame | None = None, only: set[str] | None = None) -> pd.DataFrame:
    """Assign Gemeindeverband observations to the member Gemeinden, in INKAR's own territorial status.

    ``register`` should be the Gemeindeverzeichnis vintage closest to INKAR's status
    (``closest_register``); ``inkar_gemeinden`` is INKAR's own Gemeinde list of the release
    (``parse_release()['gemeinden']``). A Verband whose code is one of INKAR's Gemeinde keys is
    that Gemeinde (a verbandsfreie Gemeinde, e.g. Kirn 07133052 before it joined the
    Verbandsgemeinde Kirner Land in 2020). Other Verbände are matched to the register's
    Verbände by Kreis and name; a Verband with one member is that Gemeinde, one with several passes
    its value on (``source_level`` 'gemeindeverband', note ``from Gemeindeverband <code>``).
    The keys returned are those of INKAR's status: bring them forward with the crosswalk.
    ``only``: the member Gemeinden wanted (all when None).
    """
    verband_names = region_names[region_names["level"] == "gemeindeverband"].assign(
        kreis_ags=lambda t: t["ags"].str[:5], key=lambda t: per_distinct(t["name"], _name_key)
    )
    members = register.dropna(subset=["vb_name"]).assign(key=lambda t: per_distinct(t["vb_name"], _name_key))
    members["member_count"] = members.groupby("vb_ars")["ags"].transform("count")
    # Register names are sometimes abbreviated ("Dießen am Ammersee, M"): a Verband
    # whose code is the AGS of a Gemeinde that forms its own Verband is that Gemeinde.
    single = members[members["member_count"] == 1][["ags", "member_count"]]
    if inkar_gemeinden is not None:  # INKAR's own status says which Verband codes are Gemeinden
        single = pd.concat([pd.DataFrame({"ags": inkar_gemeinden["ags"], "member_count": 1}), single])
    by_code = verband_names.merge(single.drop_duplicates("ags"), on="ags").assign(ags_verband=lambda t: t["ags"])
    # A Verband matched by code is that Gemeinde only, never also matched by name: INKAR's 03153007
    # 'Langelsheim, Stadt' (the town before Lutter's members joined it in 2021) named the register's
    # single-member Verband of the successor 03153019 too, and the crosswalk combined the value twice,
    # the successor weighted with a population that already held the old town (review of 5 December).
    by_name_candidates = verband_names[~verband_names["ags"].isin(set(by_code["ags_verband"]))]
    by_name = by_name_candidates.merge(members[["ags", "kreis_ags", "key", "member_count"]],
                                       on=["kreis_ags", "key"], suffixes=("_verband", ""))
    slips = _close_names(by_name_candidates, members, set(by_name["ags_verband"]) | set(by_name["ags"]))
    if not slips.empty:
        by_name = pd.concat([by_name, slips.merge(members[["ags", "kreis_ags", "key", "member_count"]],
                                                  on=["kreis_ags", "key"], suffixes=("_verband", ""))])
    matched = pd.concat([by_code, by_name]).drop_duplicates("ags")  # one Verband per Gemeinde
    if only is not None:  # before the merge: the merge of a release's million Verband rows is the cost
        matched = matched[matched["ags"].isin(only)]
    observations = commuting[commuting["level"] == "gemeindeverband"].merge(
        matched[["ags_verband", "ags", "member_count"]], left_on="ags", right_on="ags_verband", suffixes=("_drop", "")
    )
    verbaende = sorted(set(observations["ags_verband"]))
    # whole columns at once, not a Python expression per row (a million rows per release)
    single_member = (observations["member_count"] == 1).to_numpy()
    # one note object per Verband and one label object, not a new str per row (1.4 M rows: ~150 MiB)
    codes = observations["ags_verband"].astype(str)
    noted = codes.map({code: "from Gemeindeverband " + code for code in pd.unique(codes)}).to_numpy(dtype=object)
    observations["note"] = shared_where(~single_member, noted, "")
    observations["source_level"] = shared_where(single_member, "gemeinde", "gemeindeverband")
    result = observations.assign(level="gemeinde")[[*OBSERVATION_COLUMNS, "source_level"]]
    result.attrs["verbaende"] = verbaende  # which Verbände were matched (map_through_registers)
    return result


# the municipality_register columns map_through_registers reads (the Gemeinde names, centres and kinds not; the Kreis
# names to check INKAR's Kennziffern against, _kreis_names_agree)
REGISTER_COLUMNS = ["ags", "vintage", "kreis_ags", "kreis_name", "vb_ars", "vb_name"]
# Refused when more than this share of the Kreise the register names, or of its one-Gemeinde Verbände (at least
# NAMES_LEAST), carry another name in INKAR. Kennziffern shifted by a row against the names make nearly every name disagree; spellings differ in a few
# (the part before a comma is compared, and one name may contain the other: 'Landkreis Rostock' and 'Rostock').
NAMES_DISAGREE = 0.25
NAMES_LEAST = 3


def _kreis_names_agree(region_names: pd.DataFrame, register: pd.DataFrame, vintage: str) -> None:
    """Refuse a release whose Kreis names disagree with the register's names of their Kennziffern.

    INKAR's _regionen file pairs each Kennziffer with a name; the Kennziffern of the Kreise shifted by one row (names
    kept) attached every Kreis's value to its neighbour and every check passed (review of 5 December). The
    Gemeindeverzeichnis names the Kreise of the same keys (Satzart 40): compared where both name a Kreis."""
    kreise = region_names[region_names["level"] == "kreis"]
    named = register.dropna(subset=["kreis_name"]).drop_duplicates("kreis_ags").set_index("kreis_ags")["kreis_name"]
    both = kreise[kreise["ags"].isin(named.index)]
    if len(both) < NAMES_LEAST:
        return
    theirs = both["ags"].map(named)
    differ = [not _same_kreis(a, b) for a, b in zip(both["name"], theirs)]
    if sum(differ) > NAMES_DISAGREE * len(both):
        first = both[differ].iloc[0]
        raise SourceError(region_names.attrs.get("source_id", "inkar"), region_names.attrs.get("file", "_regionen"),
                          f"{sum(differ)} of {len(both)} Kreise have another name than the Gemeindeverzeichnis "
                          f"{vintage} gives their Kennziffer, e.g. {first['ags']} {first['name']!r} (register: "
                          f"{named[first['ags']]!r}): Kennziffern shifted against the names?")


# In- and out-commuter shares exchanged: x352 (out, % of employees at residence) follows from x351 (in, % at the
# workplace) and x353 (balance per 100 at the workplace): out = (in - balance) / (1 - balance / 100). It holds to the
# rounding for most rows; suppressed counts break it for some (2,647 of the 101,406 Verband rows the parser keeps of
# 2022-12 by more than a point), but only 2 of them fit it exchanged instead, in different Kreise and years, and no
# Kreis row does. Refused: a Kreis and year with EXCHANGED_LEAST Verbände or more that fit it only exchanged, or one
# Verband or Kreis with EXCHANGED_LEAST years or more that do (a single town's columns exchanged). Fewer such rows
# (a town's columns exchanged in one or two years, or the publisher's own slips) are read as missing: a row that fits
# the identity only exchanged is one of the two shares wrong whichever way it is read, and a single town's shares
# exchanged in one year moved its out-commuter share by the two shares' difference without a word (6 December 2026).
EXCHANGED_LEAST, EXCHANGED_FIT, EXCHANGED_MISS = 3, 0.05, 1.0


def _in_out_exchanged(source_id: str, file: str, table: pd.DataFrame) -> pd.Index:
    """Refuse in- and out-commuter shares exchanged for the Verbände of a Kreis in a year, or for one region over
    years: the identity above fits them only the other way round. Why: x351 and x352 exchanged for the Verbände of
    one Kreis changed the shares by 16 points, within every bound, and published (bad-input review of 5 December,
    V19). Returns the rows (``table``'s index) that fit it only exchanged but are too few to refuse the file."""
    # numbers only: a text cell is the contract's to name ("not of type number")
    shares = table.loc[table["level"].isin(["gemeindeverband", "kreis"]), ["ags", "level", "zeitbezug", "x351", "x352",
                                                                          "x353"]]
    rows = shares.assign(**{c: pd.to_numeric(shares[c], errors="coerce") for c in ("x351", "x352", "x353")}).dropna()
    rows = rows[rows["x353"] < 95]  # the identity divides by 1 - balance/100
    given_in, given_out, balance = rows["x351"], rows["x352"], rows["x353"]
    scale = 1 - balance / 100
    misfit = (given_out - (given_in - balance) / scale).abs() > EXCHANGED_MISS
    fits_exchanged = (given_in - (given_out - balance) / scale).abs() <= EXCHANGED_FIT
    exchanged = rows[misfit & fits_exchanged]
    verbaende = exchanged[exchanged["level"] == "gemeindeverband"]
    by_kreis = verbaende.groupby([verbaende["ags"].str[:5], verbaende["zeitbezug"]]).size()
    by_region = exchanged.groupby("ags").size()
    by_kreis, by_region = by_kreis[by_kreis >= EXCHANGED_LEAST], by_region[by_region >= EXCHANGED_LEAST]
    if by_kreis.empty and by_region.empty:
        return exchanged.index
    if not by_kreis.empty:
        (kreis, year), count = min(by_kreis.items())
        first = verbaende[(verbaende["ags"].str[:5] == kreis) & (verbaende["zeitbezug"] == year)].iloc[0]
        where = f"Kreis {kreis}, {year}: {count} Gemeindeverbände's"
    else:
        region, count = min(by_region.items())
        first = exchanged[exchanged["ags"] == region].iloc[0]
        where = f"{region}: {count} years' (e.g. {first['zeitbezug']})"
    raise SourceError(source_id, file, f"{where} in- and out-commuter shares (x351, x352) fit the commuter balance "
                      f"(x353) only exchanged, e.g. {first['ags']}: in {first['x351']:g}, out {first['x352']:g}, "
                      f"balance {first['x353']:g} (out = (in - balance) / (1 - balance/100) gives "
                      f"{(first['x351'] - first['x353']) / (1 - first['x353'] / 100):.2f}): columns exchanged "
                      f"({len(by_kreis)} Kreis and year groups, {len(by_region)} regions)?")


def _single_verband_names(region_names: pd.DataFrame, register: pd.DataFrame) -> tuple[pd.DataFrame, dict]:
    """INKAR's Gemeindeverbände whose Kennziffer is the key of a one-Gemeinde Verband of ``register``, and per key
    that Verband's register name as compared (``_name_key`` of the part before a comma)."""
    members = register.dropna(subset=["vb_name"])
    single = members[members.groupby("vb_ars")["ags"].transform("count") == 1]
    own = dict(zip(single["ags"], single["vb_name"].map(_verband_key)))
    verbaende = region_names[(region_names["level"] == "gemeindeverband") & region_names["ags"].isin(own.keys())]
    return verbaende, own


def _verband_key(name) -> str:
    return _name_key(str(name).split(",")[0])


def _verband_names_agree(region_names: pd.DataFrame, register: pd.DataFrame, vintage: str) -> None:
    """Refuse a release whose one-Gemeinde Verbände mostly carry other names than the register gives their
    Kennziffern (more than NAMES_DISAGREE of at least NAMES_LEAST). Why: the Verband Kennziffern shifted
    by one row against ids and names gave every such town its neighbour's values, and a first build (no release
    before to compare with) said only that rows were missing, naming no file (bad-input review V5b). The 2022-12
    file disagrees for 43 of 3,386 with the 2021 register (36 the register's bilingual German and Sorbian names, the
    rest spellings and renamings: 'Mühldorfer Haff'/'Hart', 'Sandersdorf'/'Sandersdorf-Brehna'); shifted, for all."""
    verbaende, own = _single_verband_names(region_names, register)
    if len(verbaende) < NAMES_LEAST:
        return
    theirs = verbaende["name"].map(_verband_key)
    differ = (theirs != verbaende["ags"].map(own)).to_numpy()
    if differ.sum() > NAMES_DISAGREE * len(verbaende):
        first = verbaende[differ].iloc[0]
        registered = register.loc[register["ags"] == first["ags"], "vb_name"].iloc[0]
        raise SourceError(region_names.attrs.get("source_id", "inkar"), region_names.attrs.get("file", "_regionen"),
                          f"{int(differ.sum())} of {len(verbaende)} Gemeindeverbände of one Gemeinde have another "
                          f"name than the Gemeindeverzeichnis {vintage} gives their Kennziffer, e.g. {first['ags']} "
                          f"{first['name']!r} (register: {registered!r}): Kennziffern shifted against the names?")


def _verband_codes_exchanged(region_names: pd.DataFrame, register: pd.DataFrame, vintage: str) -> None:
    """Refuse two Gemeindeverband Kennziffern exchanged against their names: a Verband of one Gemeinde whose name in
    INKAR is the register's name of another such Verband of its Kreis, and the other's the first one's.

    Why: Mölln's and Ratzeburg's Kennziffern exchanged in the _regionen file (names kept) gave each town the other's
    commuting and accessibility values, within every bound (bad-input review of 5 December). Why both ways and exact
    (the part before a comma, ``_name_key``): spellings differ for a few Verbände (5 of the 3,386 of one Gemeinde in the
    2021 register: 'Mühldorfer Haff' and 'Mühldorfer Hart'), and a name like another one's is no exchange
    ('Rheinau, gemeindefreies Gebiet' beside the town 'Rheinau, Stadt'). None in the Germany-wide 2022-12 files."""
    verbaende, own = _single_verband_names(region_names, register)
    theirs = dict(zip(verbaende["ags"], verbaende["name"].map(_verband_key)))
    by_name = {(ags[:5], name): ags for ags, name in own.items()}
    for ags, name in theirs.items():
        other = by_name.get((ags[:5], name))
        if name != own[ags] and other is not None and other != ags and theirs.get(other) == own[ags]:
            named = dict(zip(verbaende["ags"], verbaende["name"]))
            raise SourceError(region_names.attrs.get("source_id", "inkar"), region_names.attrs.get("file", "_regionen"),
                              f"Gemeindeverband Kennziffern {ags} and {other} carry each other's names ({named[ags]!r}, "
                              f"{named[other]!r}; the Gemeindeverzeichnis {vintage} names them the other way round): "
                              "Kennziffern exchanged?")


def _same_kreis(inkar_name: str, register_name: str) -> bool:
    """The same Kreis by name: the part before a comma ('Kiel, Stadt' and 'Kiel, Landeshauptstadt') without case,
    spaces and punctuation, equal or one inside the other ('Landkreis Rostock', 'Rostock')."""
    a, b = (_name_key(str(n).split(",")[0]) for n in (inkar_name, register_name))
    return bool(a and b) and (a in b or b in a)


def map_through_registers(commuting: pd.DataFrame, region_names: pd.DataFrame, registers: pd.DataFrame,
                          inkar_gemeinden: pd.DataFrame, release: str | None = None,
                          closest: str | None = None) -> pd.DataFrame:
    """``map_to_gemeinden`` with the register closest to INKAR's status first, then the older ones.

    INKAR's status (31.12.2019 in release 2022-12) lies between two registers: a Verband
    reorganised in between (Altenkirchen (Westerwald) before it became Altenkirchen-Flammersfeld
    in 2020) is found in the earlier one. Each Verband is taken from the first register that knows
    it; ``key_vintage`` says which, so the crosswalk brings its members' keys forward.
    ``release`` (e.g. '2022-12'): without INKAR's Gemeinde list (the offline snapshot cuts it), the
    latest register before the release stands for INKAR's status. ``closest``: that register where the caller has
    found it already (``closest_register``).
    """
    closest = closest or closest_register(registers, inkar_gemeinden, release)
    if "kreis_name" in registers.columns:  # staging reads it (REGISTER_COLUMNS); hand-built registers may lack it
        _kreis_names_agree(region_names, registers[registers["vintage"] == closest], closest)
    if "vb_name" in registers.columns:
        _verband_names_agree(region_names, registers[registers["vintage"] == closest], closest)
        _verband_codes_exchanged(region_names, registers[registers["vintage"] == closest], closest)
    order = [closest, *sorted((v for v in registers["vintage"].unique() if release_order(v) < release_order(closest)),
                              key=release_order, reverse=True)]
    frames, done = [], set()
    for vintage in order:
        rest = commuting[(commuting["level"] == "gemeindeverband") & ~commuting["ags"].isin(done)]
        if rest.empty:
            break
        mapped = map_to_gemeinden(rest, region_names, registers[registers["vintage"] == vintage],
                                  inkar_gemeinden if vintage == closest else None)
        done |= set(mapped.attrs["verbaende"])
        frames.append(mapped.assign(key_vintage=vintage))
    if not frames:
        return pd.DataFrame(columns=[*OBSERVATION_COLUMNS, "source_level", "key_vintage"])
    if len(order) > 1 and not inkar_gemeinden.empty:
        frames.append(_left_members(commuting, region_names, registers[registers["vintage"] == order[1]],
                                    inkar_gemeinden, pd.concat(frames)["ags"]).assign(key_vintage=order[1]))
    # a Gemeinde keeps the value of the Verband found in the register closest to INKAR's status
    return pd.concat(frames, ignore_index=True).drop_duplicates(["ags", "key_vintage", "reference_date", "measure"])


def _left_members(commuting: pd.DataFrame, region_names: pd.DataFrame, register: pd.DataFrame,
                  inkar_gemeinden: pd.DataFrame, covered: pd.Series) -> pd.DataFrame:
    """Gemeinden of INKAR's status that no Verband reached, through their Verband in the register
    before that status.

    Rain (Lech) 09779201 is a Gemeinde in INKAR 2022-12 and no Verband of its own; in the 2021
    register it has left the VGem Rain, so matching that Verband there passes its value to the other
    members only. In the 2013 register Rain is a member of 'Rain (VGem)', INKAR's 09779925: the
    Verband INKAR's value is for. Only Gemeinden still without a value are taken from there.
    """
    left = set(inkar_gemeinden["ags"]) - set(covered)
    if not left or register.empty:
        return pd.DataFrame(columns=[*OBSERVATION_COLUMNS, "source_level"])
    return map_to_gemeinden(commuting, region_names, register, only=left)


def closest_register(registers: pd.DataFrame, inkar_gemeinden: pd.DataFrame, release: str | None = None) -> str:
    """The register vintage whose Gemeinde keys differ least from INKAR's own Gemeinde list
    (without that list: the latest register before ``release``, else the latest)."""
    if inkar_gemeinden.empty:
        month = None if release is None else label_vintage(release)  # INKAR's '2022-12', a revision alike
        before = [v for v in registers["vintage"].unique() if month is None or in_time_order(v) < month]
        return max(before or registers["vintage"].unique(), key=release_order)
    keys = set(inkar_gemeinden["ags"])
    differences = {vintage: len(keys ^ set(group["ags"])) for vintage, group in registers.groupby("vintage")}
    return min(differences, key=lambda v: (differences[v], v))


EG_PREFIX = re.compile(r"^EG\s+")
NOT_ALNUM = re.compile(r"[\W_]+")  # exactly the characters str.isalnum() rejects: \w is isalnum() or '_'


def _name_key(name: str) -> str:
    """Names compared without case, spaces and the '(VGem)'-style suffix differences, and without
    INKAR's 'EG ' prefix of a Thuringian erfüllende Gemeinde ('EG Nobitz' is the register's 'Nobitz')."""
    # one regex pass, not a Python step per character (~1 M characters in a release's four matchings)
    return NOT_ALNUM.sub("", EG_PREFIX.sub("", str(name)).lower())


def _close_names(verband_names: pd.DataFrame, members: pd.DataFrame, matched: set) -> pd.DataFrame:
    """Verbände still unmatched whose name is one spelling slip from exactly one unmatched register
    Verband of the same Kreis (INKAR 2022-12 spells 07332907 'Leinigerland' for Leiningerland).

    Returns the rows of ``verband_names`` with ``key`` replaced by the register's key."""
    open_names = verband_names[~verband_names["ags"].isin(matched)]
    taken = set(members.loc[members["ags"].isin(matched), "key"])
    by_kreis = members.groupby("kreis_ags")["key"].agg(set).to_dict()  # once, not a scan of all members per Verband
    rows = []
    for row in open_names.itertuples(index=False):
        pool = sorted(by_kreis.get(row.kreis_ags, set()) - taken)
        close = difflib.get_close_matches(row.key, pool, n=2, cutoff=0.9)
        if len(close) == 1:
            rows.append(row._replace(key=close[0]))
    return pd.DataFrame(rows, columns=verband_names.columns)


# --- central-place function per Gemeinde (BBSR Stadt- und Gemeindetyp, reference group) -------------------

CENTRAL_PLACE_PREFIX = "zentralörtliche Funktion - "
# INKAR's wording after the prefix -> code, ordered from the highest function to none.
CENTRAL_PLACES = {"Oberzentrum": "oberzentrum", "Mittelzentrum": "mittelzentrum",
                  "Grundzentrum": "grundzentrum", "keine": "none"}
CENTRAL_PLACE_COLUMNS = ["ags", "name", "central_place"]


def central_places(regions: pd.DataFrame, source_id: str = "inkar", relative_path: str = "") -> pd.DataFrame:
    """The central-place function of every Gemeinde in an INKAR region table.

    INKAR lists each Gemeinde once under a region level ``zentralörtliche Funktion - <X>`` (X one of
    Oberzentrum, Mittelzentrum, Grundzentrum, keine) with its 8-digit code (numeric in 2022-12, so
    leading zeros are restored). Returns ``ags, name, central_place`` with central_place one of
    ``oberzentrum | mittelzentrum | grundzentrum | none``. An unknown level wording or a Gemeinde
    listed under two different functions is an error naming the file, because the reference group
    would silently change with it.
    """
    missing = [c for c in ["raumbezug", "kennziffer", "name"] if c not in regions.columns]
    if missing:
        raise SourceError(source_id, relative_path, f"region table lacks columns {missing}")
    rows = regions[regions["raumbezug"].astype(str).str.startswith(CENTRAL_PLACE_PREFIX)]
    labels = rows["raumbezug"].str[len(CENTRAL_PLACE_PREFIX):].str.strip()
    unknown = sorted(set(labels) - set(CENTRAL_PLACES))
    if unknown:
        raise SourceError(source_id, relative_path,
                          f"unknown central-place level(s) {unknown}; expected {sorted(CENTRAL_PLACES)}")
    codes = pd.to_numeric(rows["kennziffer"], errors="coerce")
    if codes.isna().any():
        bad = rows.loc[codes.isna(), "kennziffer"].iloc[0]
        raise SourceError(source_id, relative_path, f"central-place row with non-numeric kennziffer {bad!r}")
    table = pd.DataFrame({"ags": [str(int(c)).zfill(8) for c in codes], "name": rows["name"].to_numpy(),
                          "central_place": labels.map(CENTRAL_PLACES).to_numpy()}).drop_duplicates()
    twice = table[table["ags"].duplicated(keep=False)]
    if not twice.empty:
        raise SourceError(source_id, relative_path,
                          f"Gemeinde {twice['ags'].iloc[0]} listed with functions {sorted(twice['central_place'][twice['ags'] == twice['ags'].iloc[0]])}")
    return table.sort_values("ags").reset_index(drop=True)[CENTRAL_PLACE_COLUMNS]


def parse_central_places(release: Release) -> pd.DataFrame:
    """:func:`central_places` of a release's region table (role ``regions``)."""
    regions_file = release.file("regions")
    regions = _read(release.source_id, regions_file, ["raumbezug", "kennziffer", "name"])
    return central_places(regions, release.source_id, regions_file.relative_path)
