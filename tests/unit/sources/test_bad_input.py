"""Bad publisher input never becomes published data (issue 12).

Every variant of tests/bad_input.py (at least ten per kind of publisher file, generated from the
snapshot) is parsed and contract-checked exactly as the staging steps do (``parse_all`` ->
``contracts.check_source``): a broken file must fail with ``[source] file: ... problem``, a benign
one (reordered or extra columns, German notation) must give the good file's values. A
representative subset runs the whole refresh job (tests/integration/test_bad_input_runs.py).
"""

from __future__ import annotations

import datetime as dt

import importlib
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from sources import contracts
from sources.errors import SourceError
from sources.registry import SNAPSHOT_DIR, discover_releases, load_sources
from tests import bad_input

SOURCES = load_sources()
VARIANTS = bad_input.all_variants()


# Parsed tables of releases already read, by source and the exact bytes of every file of the release.
# A variant changes one file: the other releases of its source are byte-identical to the good snapshot's,
# so their (deterministic) parse is taken from here instead of being read again (most of this module's
# time went into re-reading the unchanged workbooks); the changed release is always parsed afresh.
PARSED: dict[tuple, dict[str, pd.DataFrame]] = {}


def parse_release(source_id: str, release) -> dict[str, pd.DataFrame]:
    """``parser(release)`` of the source's parser, memoised on the release's file contents (copies out,
    so a check or a probe cannot change the cached frames)."""
    key = (source_id, release.vintage,
           tuple((f.role, f.relative_path, f.layout, f.sha256) for f in release.files))
    if key not in PARSED:
        module, function = SOURCES[source_id].parser.split(":")
        PARSED[key] = getattr(importlib.import_module(module), function)(release)
    return {name: frame.copy() for name, frame in PARSED[key].items()}


def parse_source(root: Path, source_id: str, register: pd.DataFrame | None) -> list:
    """Parse every release of a source under ``root`` and check its contract, as staging does."""
    parsed = [(release, parse_release(source_id, release))
              for release in discover_releases(SOURCES[source_id], root)]
    changes = coverage = None
    if source_id == contracts.REGISTER_SOURCE:
        lists = [tables for _, tables in parse_source(root, "destatis_gebietsaenderungen", None)]
        changes, coverage = (pd.concat([t[name] for t in lists]) for name in ("changes", "coverage"))
    contracts.check_source(source_id, parsed, register, changes, coverage)
    return parsed


def probe(parsed: list, ags: str, measure: str) -> list:
    """Every value of ``measure`` for ``ags`` in the parsed releases (a measure row or a column)."""
    values = []
    for _, tables in parsed:
        for frame in tables.values():
            if {"ags", "measure", "value"} <= set(frame.columns):
                values += frame.loc[(frame["ags"] == ags) & (frame["measure"] == measure), "value"].tolist()
            elif measure in frame.columns:
                key = "ags" if "ags" in frame.columns else "from_ags"
                values += frame.loc[frame[key] == ags, measure].tolist()
    return sorted(values)


def source_folders(source_id: str) -> list[str]:
    """The snapshot's top-level folders that ``parse_source`` reads for ``source_id`` (its file patterns' first
    segment; the Gemeindeverzeichnis also its change lists): a variant copies these, not the whole snapshot
    (the geometries alone are half of it)."""
    ids = [source_id] + (["destatis_gebietsaenderungen"] if source_id == contracts.REGISTER_SOURCE else [])
    heads = [re.compile(f.pattern.pattern.split("/")[0]) for i in ids for f in SOURCES[i].files]
    folders = [p.name for p in SNAPSHOT_DIR.iterdir() if p.is_dir() and any(h.fullmatch(p.name) for h in heads)]
    assert folders, f"no snapshot folder for {source_id}"
    return sorted(folders)


@pytest.fixture(scope="module")
def register() -> pd.DataFrame:
    """The snapshot's Gemeindeverzeichnis registers, as staged (the other sources are checked against them)."""
    parsed = parse_source(SNAPSHOT_DIR, contracts.REGISTER_SOURCE, None)
    return pd.concat([t["register"].assign(vintage=r.label) for r, t in parsed], ignore_index=True)


@pytest.fixture(scope="module")
def good(register) -> dict:
    return {source_id: parse_source(SNAPSHOT_DIR, source_id, register)
            for source_id in sorted({v.source_id for v in VARIANTS})}


def test_every_kind_of_file_has_at_least_ten_variants():
    files = pd.Series([Path(v.file).suffix for v in VARIANTS]).value_counts()
    assert set(files.index) == {".xlsx", ".csv", ".parquet", ".shp", ".json"}
    per_file = pd.Series([v.file for v in VARIANTS]).value_counts()
    per_file = per_file[[(SNAPSHOT_DIR / file).exists() for file in per_file.index]]  # not the copies variants add
    # the files a few variants need for their own content (INKAR's region list, a release where FTTH/B's speed
    # steps differ) beside each kind's main file
    assert (per_file[~per_file.index.isin([bad_input.INKAR_REGIONS, bad_input.BBA_2021])] >= 10).all(), per_file


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_variant_fails_clearly_or_reads_right(variant, tmp_path, register, good):
    root = tmp_path / "source"
    for folder in source_folders(variant.source_id):
        shutil.copytree(SNAPSHOT_DIR / folder, root / folder)
    variant.apply(root)
    if variant.expect is None:
        parsed = parse_source(root, variant.source_id, register)
        ags, measure = variant.probe
        expected = probe(good[variant.source_id], ags, measure)
        assert expected, f"probe {variant.probe} not in the good file"
        assert probe(parsed, ags, measure) == expected
        return
    assert_refused(variant, root, register, f"[{variant.source_id}] ")


def assert_refused(variant, root: Path, register, prefix: str) -> None:
    """The variant is refused with a message that starts with ``prefix``, names its file and says the problem."""
    with pytest.raises(SourceError) as raised:
        parse_source(root, variant.source_id, register)
    message = str(raised.value)
    assert message.startswith(prefix), message
    assert Path(variant.file).stem.split("_")[0] in message.split(":")[0], message  # names the file
    assert re.search(variant.expect, message), message


def test_german_number_notation_is_read_or_refused_never_guessed():
    assert contracts.parse_number("19.566") == 19566
    assert contracts.parse_number("1.234,5") == 1234.5
    assert contracts.parse_number("12,5") == 12.5
    assert contracts.parse_number(" 3 ") == 3
    assert contracts.parse_number("-") is None and contracts.parse_number("") is None
    for ambiguous in ("12.5", "1,234.5", "19566x", "1.23.4"):
        with pytest.raises(ValueError, match="not a number in German notation"):
            contracts.parse_number(ambiguous)


def test_year_on_year_blocks_unless_the_crosswalk_or_the_allowlist_explains(tmp_path):
    con = duckdb.connect()
    con.execute("""CREATE TABLE observations AS SELECT * FROM (VALUES
        ('destatis_gemeindeverzeichnis', '2021-12-31', '01053090', 'gemeinde', DATE '2021-12-31', 'population_total', 19329.0, 'persons', ''),
        ('destatis_gemeindeverzeichnis', '2023-12-31', '01053090', 'gemeinde', DATE '2023-12-31', 'population_total', 45000.0, 'persons', ''),
        ('destatis_gemeindeverzeichnis', '2021-12-31', '01053001', 'gemeinde', DATE '2021-12-31', 'population_total', 1000.0, 'persons', ''),
        ('destatis_gemeindeverzeichnis', '2023-12-31', '01053001', 'gemeinde', DATE '2023-12-31', 'population_total', 1050.0, 'persons', ''),
        ('destatis_gemeindeverzeichnis', '2021-12-31', '01053002', 'gemeinde', DATE '2021-12-31', 'population_total', 1000.0, 'persons', ''),
        ('destatis_gemeindeverzeichnis', '2023-12-31', '01053002', 'gemeinde', DATE '2023-12-31', 'population_total', 3000.0, 'persons', ''),
        ('breitbandatlas', '2019-ende', '01053090', 'gemeinde', DATE '2019-12-31', 'households_all_50', 90.0, '% of households', ''),
        ('breitbandatlas', '2020-ende', '01053090', 'gemeinde', DATE '2020-12-31', 'households_all_50', 50.0, '% of households', ''),
        -- a Verband's value passed on to a member (source_level): judged as the Verband's, not again per member
        ('inkar', '2022-12', '01053001', 'gemeinde', DATE '2014-06-30', 'out_commuter_share', 90.0, '%', ''),
        ('inkar', '2023-12', '01053001', 'gemeinde', DATE '2015-06-30', 'out_commuter_share', 45.0, '%', ''),
        ('inkar', '2022-12', '01053004', 'gemeinde', DATE '2014-06-30', 'out_commuter_share', 90.0, '%', ''),
        ('inkar', '2023-12', '01053004', 'gemeinde', DATE '2015-06-30', 'out_commuter_share', 45.0, '%', ''))
        t(source_id, vintage, ags, level, reference_date, measure, value, unit, note)""")
    con.execute("ALTER TABLE observations ADD COLUMN source_level VARCHAR")
    con.execute("UPDATE observations SET source_level = 'gemeindeverband' WHERE ags = '01053004'")
    con.execute("""CREATE TABLE municipality_register AS SELECT * FROM (VALUES
        ('01053002', '2021-12-31', DATE '2021-12-31'), ('01053002', '2023-12-31', DATE '2023-12-31'))
        t(ags, vintage, territorial_date)""")
    con.execute("""CREATE TABLE territorial_changes AS SELECT * FROM (VALUES
        ('2021-12-31', '2023-12-31', '01053099', '01053002', 'merger', 'test'))
        t(from_vintage, to_vintage, from_ags, to_ags, kind, evidence)""")
    findings = contracts.year_on_year(con)
    # Mölln x2.3 in two years and a 40-point fall block; 01053001 (+5 %) is fine, 01053002 merged; the
    # 45-point fall of 01053001's own out-commuter share blocks, the same fall of a Verband's value 01053004 does not
    assert sorted(zip(findings["ags"], findings["measure"])) == [
        ("01053001", "out_commuter_share"), ("01053090", "households_all_50"), ("01053090", "population_total")]
    allowlist = tmp_path / "allow.yaml"
    allowlist.write_text("allow:\n  - {source: breitbandatlas, release: 2020-ende, measure: 'households_.+', "
                         "reason: test}\n", encoding="utf-8")
    blocking, allowed = contracts.apply_allowlist(findings, contracts.load_allowlist(allowlist))
    assert sorted(blocking["measure"]) == ["out_commuter_share", "population_total"]
    assert allowed["reason"].tolist() == ["test"]
    allowlist.write_text("allow:\n  - {source: breitbandatlas, release: 2020-ende}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs source, release and a reason"):
        contracts.load_allowlist(allowlist)


def revision_case(tmp_path, revised: dict[str, float], label: str = "2013-12-31-rev2",
                  files: str = "b" * 64) -> duckdb.DuckDBPyConnection:
    """Working observations holding the Gemeindeverzeichnis of 2009 and a corrected file of 2013 (staged as ``label``
    with the file ``files``, ``revised`` populations by AGS), and an attached last publish holding the 2013 release
    as first landed (file 'a…')."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    published = tmp_path / "published.duckdb"
    columns = ("source_id VARCHAR, vintage VARCHAR, ags VARCHAR, level VARCHAR, reference_date DATE, measure VARCHAR, "
               "value DOUBLE, unit VARCHAR, note VARCHAR, territorial_change VARCHAR, source_level VARCHAR")
    first = {"01053090": 18492.0, "01053116": 15371.0, "01053001": 1000.0, "01053002": 2000.0}
    with duckdb.connect(str(published)) as con:
        con.execute(f"CREATE TABLE observations ({columns})")
        con.executemany("INSERT INTO observations VALUES ('destatis_gemeindeverzeichnis', '2013-12-31', ?, 'gemeinde', "
                        "DATE '2013-12-31', 'population_total', ?, 'persons', '', ?, NULL)",
                        [(a, v, "merger" if a == "01053002" else None) for a, v in first.items()])
        con.execute("CREATE TABLE source_releases AS SELECT * FROM (VALUES ('destatis_gemeindeverzeichnis', "
                    f"'2013-12-31', 1, '{'a' * 64}'), ('destatis_gemeindeverzeichnis', '2009-12-31', 1, '{'c' * 64}')) "
                    "t(source_id, vintage, revision, sha256)")
    con = duckdb.connect()
    con.execute(f"CREATE TABLE observations ({columns})")
    rows = [("2009-12-31", dt.date(2009, 12, 31), a, v * 0.97) for a, v in first.items()]
    rows += [(label, dt.date(2013, 12, 31), a, revised.get(a, v)) for a, v in first.items()]
    con.executemany("INSERT INTO observations VALUES ('destatis_gemeindeverzeichnis', ?, ?, 'gemeinde', ?, "
                    "'population_total', ?, 'persons', '', ?, NULL)",
                    [(v, a, d, x, "merger" if a == "01053002" else None) for v, d, a, x in rows])
    revision = int(label.partition("-rev")[2] or 1)  # the landing's own count: 1 where it never saw the first file
    landed = [("2009-12-31", 1, "c" * 64), *([("2013-12-31", 1, "a" * 64)] if revision > 1 else []),
              ("2013-12-31", revision, files)]
    con.execute("CREATE TABLE releases (source_id VARCHAR, vintage VARCHAR, revision INTEGER, sha256 VARCHAR)")
    con.executemany("INSERT INTO releases VALUES ('destatis_gemeindeverzeichnis', ?, ?, ?)", landed)
    con.execute("CREATE TABLE municipality_register (ags VARCHAR, vintage VARCHAR, territorial_date DATE)")
    con.execute("CREATE TABLE territorial_changes (from_vintage VARCHAR, to_vintage VARCHAR, from_ags VARCHAR, "
                "to_ags VARCHAR, kind VARCHAR, evidence VARCHAR)")
    con.execute(f"ATTACH '{published}' AS last_publish (READ_ONLY)")
    return con


SWAPPED = {"01053090": 15371.0, "01053116": 18492.0, "01053001": 1004.0, "01053002": 3000.0}


def test_a_revision_is_compared_with_the_published_figures_it_replaces(tmp_path):
    """A corrected file of 2013 that swaps Mölln's and Schwarzenbek's populations passed: the revision it replaces is
    no longer staged, and against 2009 a factor 1.2 in four years lies within 1.15 a year (review of 5 December).
    Each of its figures is now compared with the published one of revision 1, at the same date."""
    con = revision_case(tmp_path, SWAPPED)
    assert contracts.year_on_year(con, ["destatis_gemeindeverzeichnis"]).empty  # without the publish: passes
    findings = contracts.year_on_year(con, ["destatis_gemeindeverzeichnis"], last_publish="last_publish")
    # the swap blocks both towns; a correction of 0.4 % passes; a restated figure (merger) is the crosswalk's
    assert findings[["vintage", "prev_vintage", "ags", "prev_value", "value"]].values.tolist() == [
        ["2013-12-31-rev2", "2013-12-31", "01053090", 18492.0, 15371.0],
        ["2013-12-31-rev2", "2013-12-31", "01053116", 15371.0, 18492.0]]
    line = contracts.describe_yoy(findings)[0]
    assert line == ("[destatis_gemeindeverzeichnis] release 2013-12-31-rev2 (after 2013-12-31): 01053090 "
                    "population_total: 18492 -> 15371: revises the published figure of 2013-12-31: factor 0.831 "
                    "(bound 1.15x)")


def test_a_corrected_file_landed_as_revision_1_elsewhere_is_compared_too(tmp_path):
    """Revision numbers count per raw landing: on a new machine, a rebuilt landing or a lake's other publisher the
    corrected file lands under the release's own label. Its files differ from the published ones: compared. The same
    files (the release as published) compare nothing, whatever their figures' labels (read of the change)."""
    con = revision_case(tmp_path, SWAPPED, label="2013-12-31")
    findings = contracts.year_on_year(con, ["destatis_gemeindeverzeichnis"], last_publish="last_publish")
    assert sorted(findings["ags"]) == ["01053090", "01053116"]
    assert set(zip(findings["vintage"], findings["prev_vintage"])) == {("2013-12-31", "2013-12-31")}
    same_files = revision_case(tmp_path / "same", SWAPPED, label="2013-12-31", files="a" * 64)
    assert contracts.year_on_year(same_files, ["destatis_gemeindeverzeichnis"], last_publish="last_publish").empty


def test_an_earlier_release_re_published_under_a_new_date_blocks(tmp_path):
    """A Breitbandatlas file of end-2021 that repeats mid-2021 passed every bound (no change is within any bound)
    and its stale figures became the towns' current data. A real release repeats 15-53 % of its predecessor's."""
    con = duckdb.connect()
    towns = [f"01053{i:03d}" for i in range(150)]
    rows = [("breitbandatlas", vintage, ags, "gemeinde", date, m, value(i, m), "% of households", "")
            for vintage, date, value in [("2021-mitte", dt.date(2021, 6, 30), lambda i, m: float(i % 90 + m)),
                                         ("2021-ende", dt.date(2021, 12, 31), lambda i, m: float(i % 90 + m)),
                                         ("2022-mitte", dt.date(2022, 6, 30), lambda i, m: float(i % 90 + m + i % 2))]
            for i, ags in enumerate(towns) for m in (0, 5)]
    # the Gigabit-Grundbuch continues the Breitbandatlas: its first release repeating the last one is caught too
    rows += [("gigabit_grundbuch", "2022-12", *r[2:4], dt.date(2022, 12, 31), *r[5:]) for r in rows
             if r[1] == "2022-mitte"]
    con.execute("CREATE TABLE observations (source_id VARCHAR, vintage VARCHAR, ags VARCHAR, level VARCHAR, "
                "reference_date DATE, measure VARCHAR, value DOUBLE, unit VARCHAR, note VARCHAR, source_level VARCHAR)")
    con.executemany("INSERT INTO observations VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                    [(*r[:5], f"households_all_{r[5]}", *r[6:]) for r in rows])
    con.execute("CREATE TABLE municipality_register (ags VARCHAR, vintage VARCHAR, territorial_date DATE)")
    con.execute("CREATE TABLE territorial_changes (from_vintage VARCHAR, to_vintage VARCHAR, from_ags VARCHAR, "
                "to_ags VARCHAR, kind VARCHAR, evidence VARCHAR)")
    findings = contracts.year_on_year(con, ["breitbandatlas", "gigabit_grundbuch"])
    # 2021-ende repeats all 300 figures of 2021-mitte (2 staying at 0 left out); 2022-mitte changed half of them
    assert findings[["source_id", "vintage", "prev_vintage", "prev_value", "value"]].values.tolist() == [
        ["breitbandatlas", "2021-ende", "2021-mitte", 298.0, 298.0],
        ["gigabit_grundbuch", "2022-12", "2022-mitte", 298.0, 298.0]]
    assert "with the release breitbandatlas 2022-mitte of an earlier date" in findings["bound"].iloc[1]
    findings = findings.iloc[:1]
    line, hint = contracts.describe_yoy(findings)
    assert hint.startswith("if a change is real, allow the release in allowlist.yaml")  # also after one finding
    assert line.startswith("[breitbandatlas] release 2021-ende (after 2021-mitte): 298 of the 298 figures it shares "
                           "with the release 2021-mitte of an earlier date are the same (figures staying at 0 or 100 "
                           "left out): that release re-published")
    allowlist = tmp_path / "allow.yaml"
    allowlist.write_text("allow:\n  - {source: breitbandatlas, release: 2021-ende, reason: publisher confirmed}\n",
                         encoding="utf-8")
    blocking, allowed = contracts.apply_allowlist(findings, contracts.load_allowlist(allowlist))
    assert blocking.empty and allowed["reason"].tolist() == ["publisher confirmed"]


def test_a_release_repeating_four_fifths_of_the_one_before_blocks_unless_the_repeats_are_saturated():
    """The mid-2021 file re-issued as end-2021 with a twentieth of its figures updated passed (the bound was 99 % the
    same; bad-input review V30). Real releases repeat at most 53 %: from 80 % on a release counts as re-published.
    Figures staying at 0 or 100 are left out: coverage filling up repeats them without any re-publishing."""
    con = duckdb.connect()
    con.execute("CREATE TABLE observations (source_id VARCHAR, vintage VARCHAR, ags VARCHAR, level VARCHAR, "
                "reference_date DATE, measure VARCHAR, value DOUBLE, unit VARCHAR, note VARCHAR, source_level VARCHAR)")
    con.execute("CREATE TABLE municipality_register (ags VARCHAR, vintage VARCHAR, territorial_date DATE)")
    con.execute("CREATE TABLE territorial_changes (from_vintage VARCHAR, to_vintage VARCHAR, from_ags VARCHAR, "
                "to_ags VARCHAR, kind VARCHAR, evidence VARCHAR)")

    def findings(every: int, saturated: int = 0) -> list:
        """Every ``every``-th town's two figures changed; the first ``saturated`` towns at 100 in both releases."""
        con.execute("DELETE FROM observations")
        con.executemany("INSERT INTO observations VALUES ('breitbandatlas', ?, ?, 'gemeinde', ?, ?, ?, '%', '', NULL)",
                        [(vintage, f"01053{i:03d}", date, f"households_all_{m}",
                          100.0 if i < saturated else float(i % 90 + m + 1 + (later and i % every == 0)))
                         for vintage, date, later in [("2021-mitte", dt.date(2021, 6, 30), False),
                                                      ("2021-ende", dt.date(2021, 12, 31), True)]
                         for i in range(150) for m in (0, 5)])
        return contracts.year_on_year(con, ["breitbandatlas"])[["vintage", "prev_value", "value"]].values.tolist()

    assert findings(10) == [["2021-ende", 300.0, 270.0]]  # 90 % the same
    assert findings(5) == [["2021-ende", 300.0, 240.0]]  # 80 %
    assert findings(4) == []  # 75 %: a real release
    # 100 towns saturated at 100, every second of the other 50 changed: 83 % of all figures the same, 50 % of the rest
    assert findings(2, saturated=100) == []


def test_a_measure_the_release_before_gave_and_this_one_lacks_blocks(tmp_path):
    """A header ">= 100 Mbps" in the mid-2021 Gemeinde file dropped households_all_100 with every check passed; the
    index carried 2020 forward and the latest ranking moved back to 2018 (review of 4 December)."""
    con = duckdb.connect()
    con.execute("CREATE TABLE observations (source_id VARCHAR, vintage VARCHAR, ags VARCHAR, level VARCHAR, "
                "reference_date DATE, measure VARCHAR, value DOUBLE, unit VARCHAR, note VARCHAR, source_level VARCHAR)")
    rows = [("breitbandatlas", "2020-ende", dt.date(2020, 12, 31), m, "gemeinde", None)
            for m in ("households_all_100", "households_all_1000", "households_ftthb_400")]
    rows += [("breitbandatlas", "2021-mitte", dt.date(2021, 6, 30), "households_all_1000", "gemeinde", None),
             # the Kreis files: not what the index reads, so their measures may differ
             ("breitbandatlas", "2020-1", dt.date(2020, 6, 30), "households_all_100", "kreis", None),
             ("breitbandatlas", "2021-1", dt.date(2021, 6, 30), "households_all_1000", "kreis", None),
             # a Verband's value passed to a member is not the member level's release: its measure may go
             ("inkar", "2022-12", dt.date(2019, 6, 30), "commuters_50km_share", "gemeinde", "gemeindeverband"),
             ("inkar", "2022-12", dt.date(2019, 6, 30), "out_commuter_share", "gemeinde", None),
             # an edition whose series starts earlier is still the later release (ordered by its newest date)
             ("inkar", "2023-12", dt.date(2020, 6, 30), "out_commuter_share", "gemeinde", None),
             ("inkar", "2023-12", dt.date(2010, 6, 30), "out_commuter_share", "gemeinde", None)]
    con.executemany("INSERT INTO observations VALUES (?, ?, '01053090', ?, ?, ?, 50.0, '%', '', ?)",
                    [(s, v, level, d, m, source_level) for s, v, d, m, level, source_level in rows])
    con.execute("CREATE TABLE municipality_register (ags VARCHAR, vintage VARCHAR, territorial_date DATE)")
    con.execute("CREATE TABLE territorial_changes (from_vintage VARCHAR, to_vintage VARCHAR, from_ags VARCHAR, "
                "to_ags VARCHAR, kind VARCHAR, evidence VARCHAR)")
    read = {"breitbandatlas": ["households_all_100", "households_all_1000"],
            "inkar": ["commuters_50km_share", "out_commuter_share"]}
    assert contracts.year_on_year(con).empty  # without the measures the index reads, nothing to compare
    findings = contracts.year_on_year(con, read_measures=read)
    # households_ftthb_400 went too, but the index does not read it (the publisher's speed steps come and go)
    assert findings[["source_id", "vintage", "prev_vintage", "level", "measure"]].values.tolist() == [
        ["breitbandatlas", "2021-mitte", "2020-ende", "gemeinde", "households_all_100"]]
    assert findings["bound"][0].startswith("households_all_100 (gemeinde level), which the index reads, is in release "
                                           "2020-ende but not in this one: a renamed or unread column")
    assert contracts.describe_yoy(findings)[0].startswith("[breitbandatlas] release 2021-mitte (after 2020-ende): "
                                                         "households_all_100 (gemeinde level)")
    allowlist = tmp_path / "allow.yaml"
    allowlist.write_text("allow:\n  - {source: breitbandatlas, release: 2021-mitte, measure: 'households_all_100', "
                         "reason: dropped by the publisher}\n", encoding="utf-8")
    blocking, allowed = contracts.apply_allowlist(findings, contracts.load_allowlist(allowlist))
    assert blocking.empty and allowed["reason"].tolist() == ["dropped by the publisher"]


def test_an_older_working_database_is_migrated_not_broken():
    """coworking_spaces created from an empty frame (osm_type INTEGER) then receives real OSM rows."""
    from warehouse.workdb import replace_rows

    con = duckdb.connect()
    replace_rows(con, "coworking_spaces", pd.DataFrame(columns=["osm_type", "osm_id", "lat", "vintage"]))
    assert dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() "
                            "WHERE table_name = 'coworking_spaces'").fetchall())["osm_type"] == "INTEGER"
    replace_rows(con, "coworking_spaces", pd.DataFrame({"osm_type": ["node"], "osm_id": [42], "lat": [53.63],
                                                        "vintage": ["2025-01-01"]}))
    assert con.execute("SELECT osm_type, lat FROM coworking_spaces").fetchall() == [("node", 53.63)]
    # a kept row of the old type is not lost: the column becomes text
    con.execute("CREATE TABLE old (ags INTEGER, value INTEGER, source_id VARCHAR)")
    con.execute("INSERT INTO old VALUES (1053, 7, 'a')")
    replace_rows(con, "old", pd.DataFrame({"ags": ["01053090"], "value": [2.5], "source_id": ["b"]}), source_id="b")
    assert sorted(con.execute("SELECT ags, value FROM old").fetchall()) == [("01053090", 2.5), ("1053", 7.0)]


def test_an_empty_column_keeps_the_tables_type():
    """A town's coworking list where no space has closed: its all-empty "closed" column (pandas' guess: INTEGER)
    crashed the step with "Unimplemented type for cast (DATE -> INTEGER)" (bad-input review of 4 December)."""
    import datetime as dt

    from warehouse.workdb import replace_rows

    con = duckdb.connect()
    replace_rows(con, "spaces", pd.DataFrame({"ags": ["01053090"], "closed": [dt.date(2024, 3, 1)], "vintage": ["a"]}),
                 vintage="a")
    replace_rows(con, "spaces", pd.DataFrame({"ags": ["01053090"], "closed": [None], "vintage": ["b"]}), vintage="b")
    assert con.execute("SELECT data_type FROM duckdb_columns() WHERE table_name = 'spaces' "
                       "AND column_name = 'closed'").fetchone()[0] == "DATE"
    assert sorted(con.execute("SELECT vintage, closed FROM spaces").fetchall()) == [("a", dt.date(2024, 3, 1)),
                                                                                   ("b", None)]


def test_a_release_dated_in_the_future_is_refused(tmp_path):
    """A delivery folder local-inputs/2099-01-01 (or an OSM file coworking_2099-01-01.json) was published as
    index years up to 2099 (bad-input review of 4 December): the label's date may not be after today."""
    from sources.registry import Release, ReleaseFile

    today = dt.date(2026, 12, 4)
    assert "dated 2099-01-01, after today (2026-12-04)" in contracts.future_release("2099-01-01", today)
    assert "dated 2031-01-01" in contracts.future_release("2031", today)  # a year: its first day
    assert "2023-11-31 is no date" in contracts.future_release("2023-11-31", today)
    for label in ("2026-12", "2026-12-04", "2023-11-20-rev2", "vg5000-2021-01-01", "2025-01-bis-02", "2018-1",
                  "2024-Q4", "2021-mitte"):
        assert contracts.future_release(label, today) is None, label
    folder = tmp_path / "local-inputs" / "2099-01-01"
    folder.mkdir(parents=True)
    (folder / "coworking_01053090.csv").write_text("x\n", encoding="utf-8")
    release = Release("local_inputs", "2099-01-01", [ReleaseFile("coworking", folder / "coworking_01053090.csv",
                                                                 "local-inputs/2099-01-01/coworking_01053090.csv", "0", 2)])
    with pytest.raises(SourceError, match=r"^\[local_inputs\] local-inputs/2099-01-01/coworking_01053090.csv: "
                                          r"release '2099-01-01' is dated 2099-01-01, after today"):
        contracts.check_release("local_inputs", release, {})


def test_revision_vintage_labels_have_a_start_date():
    assert contracts.vintage_start("2022-12-rev2") == "2022-12-01"
    assert contracts.vintage_start("2023") == "2023-01-01"
    assert contracts.vintage_start("2021-mitte") == "2021-01-01"


def test_a_gemeinde_table_with_kreis_keys_only_is_refused():
    """12411-01-01-5 delivered with 5-digit keys gave 30 Kreis rows and no Gemeinde row, and the run published
    (its completeness is judged by the Gemeinde rows it has; bad-input review of 4 December)."""
    contract = contracts.CONTRACTS["regionalstatistik"]["observations"]
    kreise = pd.DataFrame({"ags": ["01053", "01054"], "level": "kreis", "reference_date": dt.date(2023, 12, 31),
                           "measure": "population_total", "value": [200000.0, 170000.0], "unit": "persons"})
    found = [v.problem for v in contracts.check_table(contract, kreise)]
    assert found == ["no rows of level 'gemeinde' (levels found: ['kreis']): the contract or the file's pattern "
                     "requires them (a table of another regional level?)"]
    gemeinden = kreise.assign(ags=["01053090", "01054001"], level="gemeinde", value=[19566.0, 3000.0])
    assert contracts.check_table(contract, gemeinden) == []


def test_a_gemeinde_file_parsed_into_kreis_rows_only_is_refused():
    """A Breitbandatlas Gemeinde file whose keys all came out as Kreis keys was taken for a Kreis-level release of
    the same source (the Bund/Kreis files are releases of their own): its file pattern declares levels: [gemeinde]."""
    from sources import breitbandatlas

    releases = {r.vintage: r for r in discover_releases(SOURCES["breitbandatlas"], SNAPSHOT_DIR)}
    assert {v: contracts._file_levels("breitbandatlas", r) for v, r in releases.items()} == {
        "2018-1": (), "2018-ende": ("gemeinde",), "2019-ende": ("gemeinde",), "2020-ende": ("gemeinde",),
        "2021-1": (), "2021-mitte": ("gemeinde",)}
    release = releases["2021-mitte"]
    parsed = breitbandatlas.parse_release(release)["observations"]
    contracts.check_release("breitbandatlas", release, {"observations": parsed})  # the real file passes
    as_kreise = parsed.assign(ags=parsed["ags"].str[:5], level="kreis").drop_duplicates(
        ["ags", "level", "measure", "reference_date"])
    with pytest.raises(SourceError, match=r"gemeinde_bezirke_privat_2021_mitte.csv: column level: no rows of level "
                                          r"'gemeinde' \(levels found: \['kreis'\]\)"):
        contracts.check_release("breitbandatlas", release, {"observations": as_kreise})


def test_a_release_of_copied_files_is_named_but_a_revision_or_a_release_with_new_files_is_not():
    from sources.registry import Release, ReleaseFile

    def release(vintage: str, *files: tuple[str, str], revision: int = 1) -> Release:
        return Release("breitbandatlas", vintage, [ReleaseFile("table", Path(name), name, digest, 1)
                                                   for name, digest in files], revision=revision)

    mid = release("2021-mitte", ("g_2021_mitte.csv", "a" * 64), ("k_2021_1.csv", "b" * 64))
    end = release("2021-ende", ("g_2021_ende.csv", "a" * 64))
    # listed newest first: the later release by date is the copy, whatever the order found
    assert contracts.copied_release([end, mid]) == (
        "g_2021_ende.csv", "byte for byte g_2021_mitte.csv of the release 2021-mitte: one release's files under the "
        "name of another (2021-ende), whose data would be cited as of its date; remove the copy")
    # an unchanged part (a Land table) beside a new file is a release, not a copy
    assert contracts.copied_release([mid, release("2021-ende", ("g_2021_ende.csv", "d" * 64),
                                                  ("k_2021_2.csv", "b" * 64))]) is None
    assert contracts.copied_release([mid, release("2021-mitte", ("g_2021_mitte.csv", "a" * 64), revision=2)]) is None


# --- the towns' own deliveries (local_inputs) -----------------------------------------------------------------------
# The snapshot holds no local inputs (docs/local-inputs.md), so these variants change a copy of the EXAMPLE delivery
# (tests/fixtures/local-inputs) and are parsed and contract-checked as staging does (``parse_source``). Review of
# 5 December: a second sheet, an unnamed column, a formula without its result, '1,000', no respondents, a share in an
# Excel percent format, one question in two files, a trial day without its closing date.

LOCAL_ROOT = Path(__file__).parents[2] / "fixtures"
LOCAL_DELIVERY = "local-inputs/2023-11-20"
LOCAL_SPACES = f"{LOCAL_DELIVERY}/coworking_01053090_beispiel.csv"
LOCAL_SURVEY = f"{LOCAL_DELIVERY}/umfrage_01053090_beispiel.csv"


def _set_cell(row: int, column: str, value: str):
    """Set one cell (row as in a spreadsheet, header = 1) of a semicolon CSV; a missing column is appended."""
    def edit(lines: list[str]) -> list[str]:
        header = lines[0].split(";")
        if column not in header:
            lines = [f"{line};" for line in lines]
            lines[0] += column
            header.append(column)
        cells = lines[row - 1].split(";")
        cells[header.index(column)] = value
        return [*lines[:row - 1], ";".join(cells), *lines[row:]]
    return bad_input.text_edit(edit)


def _as_workbook(change=None):
    """The CSV as a workbook in the template's layout (first sheet, header in row 1), then ``change(workbook)``;
    the CSV is replaced by the .xlsx of the same name."""
    def mutate(path: Path) -> None:
        from openpyxl import Workbook
        workbook = Workbook()
        workbook.active.title = "Coworking"
        for line in path.read_text(encoding="utf-8").splitlines():
            workbook.active.append(line.split(";"))
        workbook.create_sheet("Hinweise").append(["Eine Zeile je Coworking-Ort."])
        if change:
            change(workbook)
        workbook.save(path.with_suffix(".xlsx"))
        path.unlink()
    return mutate


def _second_sheet(workbook) -> None:
    rows = list(workbook.active.iter_rows(values_only=True))
    more = workbook.create_sheet("Tabelle2")
    for row in (rows[0], rows[2]):
        more.append(row)
    workbook.active.delete_rows(3)


def _copy_as(name: str):
    """Deliver the file a second time under ``name`` in the same folder (a corrected copy beside the first)."""
    def mutate(path: Path) -> None:
        shutil.copyfile(path, path.with_name(name))
    return mutate


LOCAL_VARIANTS = [
    bad_input.Variant("local_inputs", LOCAL_SPACES, "xlsx-template-layout", _as_workbook(), None,
                      ("01053090", "desks")),
    bad_input.Variant("local_inputs", LOCAL_SPACES, "xlsx-second-sheet-with-places", _as_workbook(_second_sheet),
                      r"coworking_01053090_beispiel\.xlsx: sheet 'Tabelle2' holds data, but only the first sheet "
                      r"\('Coworking'\) is read"),
    bad_input.Variant("local_inputs", LOCAL_SPACES, "xlsx-formula-without-result",
                      _as_workbook(lambda w: w.active.__setitem__("G3", "=3*2")),
                      r"cell G3: the formula '=3\*2' was saved without its result"),
    bad_input.Variant("local_inputs", LOCAL_SPACES, "csv-column-without-header",
                      bad_input.text_edit(lambda lines: [lines[0], lines[1] + ";Notiz", *lines[2:]]),
                      r"row 2, column M \(column 13\) holds 'Notiz' but the column has no header"),
    bad_input.Variant("local_inputs", LOCAL_SPACES, "xlsx-column-without-header",
                      _as_workbook(lambda w: w.active.__setitem__("N4", "siehe Website")),
                      r"row 4, column N \(column 14\) holds 'siehe Website' but the column has no header"),
    bad_input.Variant("local_inputs", LOCAL_SPACES, "trial-day-without-closing-date",
                      _set_cell(4, "Geschlossen am", ""),
                      r"row 4, column 'Geschlossen am': a place of kind 'Probearbeitstag' needs both dates"),
    bad_input.Variant("local_inputs", LOCAL_SPACES, "temporary-without-closing-date",
                      _set_cell(2, "Geschlossen am", ""),
                      r"row 2, column 'Geschlossen am': a place of kind 'temporär' needs both dates"),
    bad_input.Variant("local_inputs", LOCAL_SPACES, "desks-english-thousands", _set_cell(3, "Arbeitsplätze", "1,000"),
                      r"row 3, column 'Arbeitsplätze': '1,000' is ambiguous in a whole-number column"),
    bad_input.Variant("local_inputs", LOCAL_SURVEY, "respondents-english-thousands", _set_cell(2, "Befragte", "1,000"),
                      r"row 2, column 'Befragte': '1,000' is ambiguous in a whole-number column"),
    bad_input.Variant("local_inputs", LOCAL_SURVEY, "no-respondents", _set_cell(3, "Befragte", "0"),
                      r"row 3, column 'Befragte': 0 respondents: a share needs at least 1 respondent"),
    bad_input.Variant("local_inputs", LOCAL_SURVEY, "share-in-percent-format", _set_cell(3, "Anteil (%)", "0,26"),
                      r"rows 2-4, column 'Anteil \(%\)': the shares of question CW1 add up to 74\.26, not 100"),
    bad_input.Variant("local_inputs", LOCAL_SURVEY, "question-in-two-files",
                      _copy_as("umfrage_01053090_korrigiert.csv"),
                      r"umfrage_01053090_beispiel\.csv: question CW1 is in more than one file of this delivery "
                      r"\(umfrage_01053090_beispiel\.csv rows 2-4 and umfrage_01053090_korrigiert\.csv rows 2-4\)"),
    bad_input.Variant("local_inputs", LOCAL_SURVEY, "respondents-german-thousands-point",
                      bad_input.text_edit(lambda lines: [lines[0], *(line.replace(";200;", ";1.000;")
                                                                     for line in lines[1:])]),
                      None, ("01053090", "respondents")),
]


@pytest.mark.parametrize("variant", LOCAL_VARIANTS, ids=[v.id for v in LOCAL_VARIANTS])
def test_local_input_variant_fails_clearly_or_reads_right(variant, tmp_path, register):
    root = tmp_path / "source"
    shutil.copytree(LOCAL_ROOT / "local-inputs", root / "local-inputs")
    variant.apply(root)
    if variant.expect is None:
        parsed = parse_source(root, variant.source_id, register)
        ags, measure = variant.probe
        good = probe(parse_source(LOCAL_ROOT, variant.source_id, register), ags, measure)
        expected = [1000] * len(good) if variant.name.startswith("respondents-german") else good
        assert good and probe(parsed, ags, measure) == expected
        return
    assert_refused(variant, root, register, f"[{variant.source_id}] {LOCAL_DELIVERY}/")


@pytest.mark.parametrize("sums, problem", [({"population_totl": ["population_male"]}, "names a measure the contract"),
                                           ({"population_total": "population_male"}, "to a list of parts")])
def test_a_sums_declaration_that_would_check_nothing_is_refused(sums, problem):
    """A misspelt total or a part given as text (split into characters) silently checked nothing (read of the
    change)."""
    measures = {m: {"unit": "persons"} for m in ("population_total", "population_male", "population_female")}
    with pytest.raises(ValueError, match=problem):
        contracts._table("observations", {"measures": measures, "sums": sums})


def test_a_gemeinde_area_above_the_largest_is_refused_by_the_range():
    """The area's range check of the geometries (1000 km²): its variant, Mölln 40 times its size, is now refused
    first by the parser's overlap test, so the range is checked here on the parsed table (review of 5 December)."""
    release = next(r for r in discover_releases(SOURCES["bkg_vg"], SNAPSHOT_DIR))
    geometries = parse_release("bkg_vg", release)["geometries"]
    contract = contracts.load_contracts()["bkg_vg"]["geometries"]
    assert contracts.check_table(contract, geometries) == []
    geometries.loc[geometries["ags"] == bad_input.MOELLN, "geometry_area_km2"] = 40815.3
    problems = [v.problem for v in contracts.check_table(contract, geometries)]
    assert any(re.search(r"geometry_area_km2: 40815\.3 above the maximum 1000", p) for p in problems), problems


def test_the_historic_registers_allow_only_the_reviewed_keys():
    """allowlist.yaml allowed whole historic registers: two towns' populations exchanged in the 2013 register passed
    on a first build (bad-input review R2). Now only the keys whose findings were reviewed pass."""
    findings = pd.DataFrame({"source_id": "destatis_gemeindeverzeichnis", "vintage": "2013-12-31",
                             "ags": ["01054078", "01053090"], "measure": "population_total"})
    blocking, allowed = contracts.apply_allowlist(findings, contracts.load_allowlist())
    assert allowed["ags"].tolist() == ["01054078"] and blocking["ags"].tolist() == ["01053090"]
    single = [a for a in contracts.load_allowlist() if a.release == "2021-12-31" and a.measure == "area_km2"]
    assert [a.ags for a in single] == [("09677172",)]  # one key written as text, not a list
    # the blocking message names the keys the release's reviewed list lacks (another file set, other findings)
    lines = contracts.describe_yoy(blocking.assign(prev_vintage="2009-12-31", prev_value=18492.0, value=15371.0,
                                                   bound="factor 0.831"))
    assert lines[1] == ("allowlist.yaml allows only reviewed keys of destatis_gemeindeverzeichnis 2013-12-31; not "
                        "among them: 01053090 (benchmarks/allowlist_keys.py BUILD lists a build's findings per "
                        "release)")


def test_a_speed_step_missing_in_a_row_is_skipped_not_a_stop():
    """The descending check compares each step with the last one given before it: a release without FTTH/B >= 200
    for a row still compares >= 400 with >= 100 (review of 5 December)."""
    contract = contracts.load_contracts()["breitbandatlas"]["observations"]
    rows = [("01053090", "households_ftthb_100", 40.0), ("01053090", "households_ftthb_400", 60.0),
            ("01053002", "households_ftthb_100", 40.0), ("01053002", "households_ftthb_200", 30.0),
            ("01053002", "households_ftthb_400", 30.0)]
    frame = pd.DataFrame(rows, columns=["ags", "measure", "value"]).assign(
        level="gemeinde", reference_date=dt.date(2021, 6, 30), unit="% of households", note="")
    problems = [v.problem for v in contracts._descending(contract, contracts._wide(contract, frame,
                                                                                   contracts.Factorized(frame)))]
    assert problems == ["households_ftthb_400 60 lies above households_ftthb_100 40 in 1 rows: the figures must not "
                        "rise from households_ftthb_100 to households_ftthb_400 (columns exchanged?)"]
