"""Bad publisher input never becomes published data (issue 12).

Every variant of tests/bad_input.py (at least ten per kind of publisher file, generated from the
snapshot) is parsed and contract-checked exactly as the staging steps do (``parse_all`` ->
``contracts.check_source``): a broken file must fail with ``[source] file: ... problem``, a benign
one (reordered or extra columns, German notation) must give the good file's values. A
representative subset runs the whole refresh job in directory mode against a good published
warehouse (``slow``): the run fails, names source and file, and the published file stays
byte-identical.
"""

from __future__ import annotations

import hashlib
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


def parse_source(root: Path, source_id: str, register: pd.DataFrame | None) -> list:
    """Parse every release of a source under ``root`` and check its contract, as staging does."""
    module, function = SOURCES[source_id].parser.split(":")
    parser = getattr(importlib.import_module(module), function)
    parsed = [(release, parser(release)) for release in discover_releases(SOURCES[source_id], root)]
    changes = None
    if source_id == contracts.REGISTER_SOURCE:
        changes = pd.concat([t["changes"] for _, t in parse_source(root, "destatis_gebietsaenderungen", None)])
    contracts.check_source(source_id, parsed, register, changes)
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
    assert (per_file[per_file.index != bad_input.INKAR_REGIONS] >= 10).all(), per_file


@pytest.mark.parametrize("variant", VARIANTS, ids=[v.id for v in VARIANTS])
def test_variant_fails_clearly_or_reads_right(variant, tmp_path, register, good):
    root = tmp_path / "source"
    shutil.copytree(SNAPSHOT_DIR, root)
    variant.apply(root)
    if variant.expect is None:
        parsed = parse_source(root, variant.source_id, register)
        ags, measure = variant.probe
        expected = probe(good[variant.source_id], ags, measure)
        assert expected, f"probe {variant.probe} not in the good file"
        assert probe(parsed, ags, measure) == expected
        return
    with pytest.raises(SourceError) as raised:
        parse_source(root, variant.source_id, register)
    message = str(raised.value)
    assert message.startswith(f"[{variant.source_id}] "), message
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
        ('breitbandatlas', '2020-ende', '01053090', 'gemeinde', DATE '2020-12-31', 'households_all_50', 50.0, '% of households', ''))
        t(source_id, vintage, ags, level, reference_date, measure, value, unit, note)""")
    con.execute("""CREATE TABLE municipality_register AS SELECT * FROM (VALUES
        ('01053002', '2021-12-31', DATE '2021-12-31'), ('01053002', '2023-12-31', DATE '2023-12-31'))
        t(ags, vintage, territorial_date)""")
    con.execute("""CREATE TABLE territorial_changes AS SELECT * FROM (VALUES
        ('2021-12-31', '2023-12-31', '01053099', '01053002', 'merger', 'test'))
        t(from_vintage, to_vintage, from_ags, to_ags, kind, evidence)""")
    findings = contracts.year_on_year(con)
    # Mölln x2.3 in two years and a 40-point fall block; 01053001 (+5 %) is fine, 01053002 merged
    assert sorted(zip(findings["ags"], findings["measure"])) == [
        ("01053090", "households_all_50"), ("01053090", "population_total")]
    allowlist = tmp_path / "allow.yaml"
    allowlist.write_text("allow:\n  - {source: breitbandatlas, release: 2020-ende, measure: 'households_.+', "
                         "reason: test}\n", encoding="utf-8")
    blocking, allowed = contracts.apply_allowlist(findings, contracts.load_allowlist(allowlist))
    assert blocking["measure"].tolist() == ["population_total"]
    assert allowed["reason"].tolist() == ["test"]
    allowlist.write_text("allow:\n  - {source: breitbandatlas, release: 2020-ende}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="needs source, release and a reason"):
        contracts.load_allowlist(allowlist)


def test_an_older_working_database_is_migrated_not_broken():
    """coworking_spaces created from an empty frame (osm_type INTEGER) then receives real OSM rows."""
    from warehouse import replace_rows

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


def test_revision_vintage_labels_have_a_start_date():
    assert contracts.vintage_start("2022-12-rev2") == "2022-12-01"
    assert contracts.vintage_start("2023") == "2023-01-01"
    assert contracts.vintage_start("2021-mitte") == "2021-01-01"


# --- whole refresh runs (slow): a good published warehouse, then one bad file per run ---------------------

JOB_VARIANTS = ["mobilfunk_monitoring-truncated", "breitbandatlas-duplicated_key", "breitbandatlas-out_of_range",
                "destatis_gemeindeverzeichnis-missing_gemeinden", "bkg_vg-truncated", "inkar-out_of_range",
                "ba_commuting-german_thousands", "destatis_gebietsaenderungen-invalid_date"]
BY_ID = {v.id: v for v in VARIANTS}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    """A good published warehouse from the snapshot in directory mode (what every job variant starts from)."""
    from tests.conftest import run_refresh

    base = tmp_path_factory.mktemp("good_run")
    shutil.copytree(SNAPSHOT_DIR, base / "source")
    assert run_refresh(base / "out", base / "source").success
    return base


def run_variant(good_run: Path, tmp_path: Path, mutate):
    """Copy the good run (published, working database, raw landing), damage the source copy, run the job."""
    from tests.conftest import run_refresh

    shutil.copytree(good_run, tmp_path / "run", symlinks=True)  # exports/latest is a symlink
    mutate(tmp_path / "run" / "source")
    published = tmp_path / "run" / "out" / "readiness.duckdb"
    before = sha256(published)
    result = run_refresh(tmp_path / "run" / "out", tmp_path / "run" / "source", raise_on_error=False)
    failures = [e.event_specific_data.error for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    messages = [(error.cause or error).message for error in failures]
    return result, messages, published, before


@pytest.mark.slow
@pytest.mark.parametrize("variant_id", JOB_VARIANTS)
def test_bad_file_fails_the_run_and_keeps_the_published_warehouse(variant_id, good_run, tmp_path):
    variant = BY_ID[variant_id]
    result, messages, published, before = run_variant(good_run, tmp_path, variant.apply)
    assert not result.success
    assert "published_warehouse" not in {e.asset_key.path[-1] for e in result.get_asset_materialization_events()}
    assert sha256(published) == before  # byte-identical: nothing of the run was published
    assert any(f"[{variant.source_id}] " in m and re.search(variant.expect, m) for m in messages), messages
    with duckdb.connect(str(published), read_only=True) as con:  # the releases listed are the published ones
        listed = {r[0] for r in con.execute("SELECT DISTINCT sha256 FROM source_releases").fetchall()}
    assert hashlib.sha256((tmp_path / "run" / "source" / variant.file).read_bytes()).hexdigest() not in listed


@pytest.mark.slow
def test_implausible_change_blocks_the_publish_unless_allowed(good_run, tmp_path, monkeypatch):
    """Mölln's population more than doubled in the 2023 register: blocked; an allow-list entry publishes it."""
    double = bad_input.workbook_edit(bad_input.GV_SHEET + "31122023", bad_input.gv_set(bad_input.MOELLN, 10, 45000.0))
    result, messages, published, before = run_variant(
        good_run, tmp_path, lambda root: double(root / "destatis-gemeindeverzeichnis/31122023_Auszug_GV.xlsx"))
    assert not result.success and sha256(published) == before
    assert any("implausible changes" in m and "01053090 population_total: 19" in m for m in messages), messages

    allowlist = tmp_path / "allow.yaml"
    # directory mode lands the edited 2023 file as revision 2; the 2024-Q4 register then repeats the
    # population of 31.12.2023 as first published, a step back that is implausible too
    allowlist.write_text(Path(contracts.ALLOWLIST_YAML).read_text(encoding="utf-8") + "".join(
        f"  - {{source: destatis_gemeindeverzeichnis, release: '{release}', measure: 'population_.+', "
        "ags: '01053090', reason: 'test: confirmed by the Statistikamt Nord'}\n" for release in ("2023-12-31-rev2", "2024-Q4")),
        encoding="utf-8")
    monkeypatch.setenv("READINESS_ALLOWLIST", str(allowlist))
    from tests.conftest import run_refresh
    assert run_refresh(tmp_path / "run" / "out", tmp_path / "run" / "source").success
    with duckdb.connect(str(published), read_only=True) as con:
        changes = con.execute("SELECT changes FROM publish_log ORDER BY published_at DESC LIMIT 1").fetchone()[0]
    assert "confirmed by the Statistikamt Nord" in changes


@pytest.mark.slow
def test_benign_reorder_and_a_revised_inkar_release_publish_correct_values(good_run, tmp_path):
    """Reordered Mobilfunk columns read by name; a revised INKAR file lands as vintage 2022-12-rev2."""
    def mutate(root: Path) -> None:
        BY_ID["mobilfunk_monitoring-reordered_columns"].apply(root)
        data = root / bad_input.INKAR
        table = pd.read_parquet(data)
        table["x352"] = table["x352"] + 0.5  # the publisher's revision: every out-commuter share +0.5 points
        table.to_parquet(data, index=False)

    result, messages, published, before = run_variant(good_run, tmp_path, mutate)
    assert result.success, messages
    assert sha256(published) != before
    query = """SELECT vintage, value FROM observations WHERE source_id = ? AND ags = ? AND measure = ?
               AND level = 'kreis' ORDER BY reference_date DESC LIMIT 1"""
    mobile = ["mobilfunk_monitoring", "01053", "area_5g_residential"]
    commuting = ["inkar", "01053", "out_commuter_share"]
    with duckdb.connect(str(good_run / "out" / "readiness.duckdb"), read_only=True) as con:
        old_mobile, old_share = con.execute(query, mobile).fetchall(), con.execute(query, commuting).fetchall()
    with duckdb.connect(str(published), read_only=True) as con:
        new_mobile, new_share = con.execute(query, mobile).fetchall(), con.execute(query, commuting).fetchall()
        revisions = con.execute("""SELECT DISTINCT vintage, revision FROM source_releases
                                   WHERE source_id = 'inkar' ORDER BY ALL""").fetchall()
        history = con.execute("""SELECT DISTINCT vintage FROM indicator_values_history
                                 WHERE source_id = 'inkar' ORDER BY ALL""").fetchall()
    # the reordered file is new content, so a new revision, with the same values
    assert [v for _, v in new_mobile] == [v for _, v in old_mobile] and new_mobile[0][0] == "2021-1-rev2"
    # the revision replaces the release in the current tables (the source directory holds only it) ...
    assert revisions == [("2022-12", 2)]
    assert old_share[0][0] == "2022-12" and new_share[0][0] == "2022-12-rev2"
    assert new_share[0][1] == pytest.approx(old_share[0][1] + 0.5)
    # ... and the history keeps the values of the first one
    assert ("2022-12",) in history and ("2022-12-rev2",) in history
