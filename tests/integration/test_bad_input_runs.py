"""Bad publisher input never becomes published data (issue 12): whole refresh runs.

A representative subset of the variants of tests/bad_input.py runs the whole refresh job in
directory mode against a good published warehouse: the run fails, names source and file, and the
published file stays byte-identical. Every variant is parsed and contract-checked without the job in
tests/unit/sources/test_bad_input.py.
"""

from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import AssetKey

from pipelines.names import SHORT_SOURCE_IDS
from sources import contracts
from sources.registry import SNAPSHOT_DIR
from tests import bad_input
from tests.conftest import downstream_of, refresh_settings, run_job, run_refresh, skipped_steps, upstream_of

VARIANTS = bad_input.all_variants()


# --- whole refresh runs (slow): a good published warehouse, then one bad file per run ---------------------

# Variants damaging sources that separate staging steps read share one run: a failing step only skips its
# own descendants, so each still fails with its own message. Two variants of one step (Breitbandatlas twice;
# INKAR and the BA commuting file are both read by ``commuting``) go to different runs; the register
# (Gemeindeverzeichnis, Gebietsänderungen: ``population_area``, upstream of every other staging step) and the
# geometries (BKG VG: the crosswalk reads the boundaries, so broadband and commuting are downstream) run alone.
JOB_RUNS = [["mobilfunk_monitoring-truncated", "breitbandatlas-duplicated_key", "inkar-out_of_range"],
            ["breitbandatlas-out_of_range", "ba_commuting-german_thousands"],
            ["bkg_vg-truncated"],
            ["destatis_gemeindeverzeichnis-missing_gemeinden"],
            ["destatis_gebietsaenderungen-invalid_date"]]
JOB_VARIANTS = [variant_id for run in JOB_RUNS for variant_id in run]
BY_ID = {v.id: v for v in VARIANTS}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    """A good published warehouse from the snapshot in directory mode (what every job variant starts from).
    Its own run, not a copy of the session's snapshot-mode publish: a directory-mode run over that one numbers
    an edited file's release differently ('2021-1', not '2021-1-rev2'; tried), which the tests below assert.
    Up to the publish (``upstream_of``): no test reads its pages or exports."""
    base = tmp_path_factory.mktemp("good_run")
    shutil.copytree(SNAPSHOT_DIR, base / "source")
    assert run_refresh(base / "out", base / "source", assets=upstream_of("out/warehouse")).success
    return base


def run_variant(good_run: Path, tmp_path: Path, mutate, assets: list[str] | None = None):
    """Copy the good run (published, working database, raw landing), damage the source copy, run the job
    (only ``assets`` of it when given)."""
    shutil.copytree(good_run, tmp_path / "run")
    mutate(tmp_path / "run" / "source")
    published = tmp_path / "run" / "out" / "readiness.duckdb"
    before = sha256(published)
    result = run_job(refresh_settings(tmp_path / "run" / "out", tmp_path / "run" / "source"), raise_on_error=False,
                     assets=assets)
    failures = [e.event_specific_data.error for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    messages = [(error.cause or error).message for error in failures]
    return result, messages, published, before


@pytest.fixture(scope="module")
def job_runs(good_run, tmp_path_factory):
    """The runs of JOB_RUNS, each made on first use: variant id -> (result, messages, published, before, run dir)."""
    done: dict[str, tuple] = {}

    def run_of(variant_id: str) -> tuple:
        if variant_id not in done:
            [group] = [run for run in JOB_RUNS if variant_id in run]
            tmp = tmp_path_factory.mktemp("bad_run")
            # the part of the job the damaged sources decide: their raw landing and everything after it, the
            # publish among them (the other sources' staging, which the whole job runs beside it, cannot
            # change whether a step fails or the publish is skipped)
            raw = {f"raw/{SHORT_SOURCE_IDS.get(BY_ID[v].source_id, BY_ID[v].source_id)}" for v in group}
            outcome = run_variant(good_run, tmp, lambda root: [BY_ID[v].apply(root) for v in group],
                                  assets=downstream_of(*raw))
            done.update({v: (*outcome, tmp / "run") for v in group})
        return done[variant_id]
    return run_of


@pytest.mark.slow
@pytest.mark.parametrize("variant_id", JOB_VARIANTS)
def test_bad_file_fails_the_run_and_keeps_the_published_warehouse(variant_id, job_runs):
    variant = BY_ID[variant_id]
    result, messages, published, before, run = job_runs(variant_id)
    assert not result.success
    assert "published_warehouse" in skipped_steps(result)  # the publish was in the run, and skipped
    assert AssetKey(["out", "warehouse"]) not in {e.asset_key for e in result.get_asset_materialization_events()}
    assert sha256(published) == before  # byte-identical: nothing of the run was published
    assert any(f"[{variant.source_id}] " in m and re.search(variant.expect, m) for m in messages), messages
    with duckdb.connect(str(published), read_only=True) as con:  # the releases listed are the published ones
        listed = {r[0] for r in con.execute("SELECT DISTINCT sha256 FROM source_releases").fetchall()}
    assert hashlib.sha256((run / "source" / variant.file).read_bytes()).hexdigest() not in listed


@pytest.mark.slow
def test_implausible_change_blocks_the_publish_unless_allowed(good_run, tmp_path, monkeypatch):
    """Mölln's population more than doubled in the 2023 register: blocked; an allow-list entry publishes it."""
    def doubled(ws) -> None:  # insgesamt, männlich, weiblich: still adding up (else the contract's sums refuse it)
        for column, value in ((10, 45000.0), (11, 21000.0), (12, 24000.0)):
            bad_input.gv_set(bad_input.MOELLN, column, value)(ws)
    double = bad_input.workbook_edit(bad_input.GV_SHEET + "31122023", doubled)
    # the part of the job the edited register decides (the candidate's judgement among it), as for a bad file
    result, messages, published, before = run_variant(
        good_run, tmp_path, lambda root: double(root / "destatis-gemeindeverzeichnis/31122023_Auszug_GV.xlsx"),
        assets=downstream_of("raw/gemeindeverz"))
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
    # only the candidate and the swap again: the blocked run left the working tables with the doubled figure
    # (the candidate step judges the changes, against the allow-list, before it builds anything)
    assert run_job(refresh_settings(tmp_path / "run" / "out", tmp_path / "run" / "source"),
                   assets=["out/candidate", "out/warehouse"]).success
    with duckdb.connect(str(published), read_only=True) as con:
        changes = con.execute("SELECT changes FROM publish_log ORDER BY published_at DESC LIMIT 1").fetchone()[0]
    assert "confirmed by the Statistikamt Nord" in changes


@pytest.mark.slow
def test_a_revision_swapping_two_towns_blocks_the_publish(good_run, tmp_path):
    """A corrected 2013 register with Mölln's and Schwarzenbek's populations exchanged published: the revision it
    replaces was no longer staged, and against 2009 the change lay within the bound compounded over four years;
    Mölln moved from rank 7 to 1 (review of 5 December). Each figure is now compared with the published one."""
    def swap(ws) -> None:
        a, b = bad_input.gv_row(ws, bad_input.MOELLN), bad_input.gv_row(ws, "01053116")
        for column in (10, 11, 12):  # insgesamt, männlich, weiblich
            ws.cell(a, column).value, ws.cell(b, column).value = ws.cell(b, column).value, ws.cell(a, column).value
    swapped = bad_input.workbook_edit("Gemeindedaten", swap)
    result, messages, published, before = run_variant(
        good_run, tmp_path, lambda root: swapped(root / "destatis-gemeindeverzeichnis/31122013_Auszug_GV.xlsx"),
        assets=downstream_of("raw/gemeindeverz"))
    assert not result.success and sha256(published) == before
    assert any("[destatis_gemeindeverzeichnis] release 2013-12-31-rev2 (after 2013-12-31): 01053090 population_total: "
               in m and "revises the published figure of 2013-12-31" in m for m in messages), messages


def refused_geometries(good_run: Path, tmp_path: Path, edit) -> list[str]:
    """Run the VG5000 file rewritten by ``edit(frame)`` and what depends on it; assert the run failed, skipped the
    publish and left the published file byte-identical; return the failed steps' messages."""
    edited = bad_input.shape_edit(edit)
    result, messages, published, before = run_variant(good_run, tmp_path, lambda root: edited(root / bad_input.VG),
                                                      assets=downstream_of("raw/bkg_vg"))
    assert not result.success and sha256(published) == before
    assert "published_warehouse" in skipped_steps(result)
    return messages


@pytest.mark.slow
def test_two_gemeinden_s_polygon_keys_exchanged_fail_the_geometries_step(good_run, tmp_path):
    """Mölln's and Ratzeburg's AGS exchanged in the VG5000 file: each polygon in its own place, areas alike, so the
    parser's tests and the area test pass; the register's centres of the two keys lie 6 km from the polygons. The
    geometries step fails naming file, keys and names; nothing downstream runs and the published file stays."""
    def exchange(frame):
        moelln, ratzeburg = (frame.index[frame["AGS"] == ags][0] for ags in (bad_input.MOELLN, "01053100"))
        frame.loc[[moelln, ratzeburg], "AGS"] = ["01053100", bad_input.MOELLN]
        return frame
    messages = refused_geometries(good_run, tmp_path, exchange)
    assert any(f"[bkg_vg] {bad_input.VG}: 2 of 244 polygons lie more than 3 km from the Gemeindeverzeichnis' "
               "centre of their key (register of 2021-12-31), e.g. AGS '01053100' (Mölln; register: Ratzeburg, "
               "Stadt) 6.5 km" in m for m in messages), messages


@pytest.mark.slow
def test_a_key_column_rotated_against_the_polygons_fails_the_geometries_step(good_run, tmp_path):
    """The VG5000 file's AGS column moved down one row, the last key to the first row (every key still there once,
    every polygon in its place): Mölln was published with Möhnsen's polygon (bad-input review of 4 December). The
    areas no longer fit the register's: the geometries step fails naming the .dbf and the Kreise; nothing is
    published."""
    def rotate(frame):
        frame = frame.sort_values("AGS", ignore_index=True)
        frame["AGS"] = frame["AGS"].to_numpy()[[-1, *range(len(frame) - 1)]]
        return frame
    messages = refused_geometries(good_run, tmp_path, rotate)
    dbf = bad_input.VG.replace(".shp", ".dbf")
    assert any(re.search(rf"\[bkg_vg\] {re.escape(dbf)}: Kreis \d{{5}}: \d+ of \d+ polygons have an area outside "
                         r"0\.5-2 times the Gemeindeverzeichnis' area of their key .*a shifted key column\?", m)
               for m in messages), messages


@pytest.mark.slow
def test_an_earlier_release_re_published_under_a_new_date_blocks_the_publish(good_run, tmp_path):
    """A Breitbandatlas 'end of 2021' that repeats the mid-2021 figures: no figure moved beyond a bound, and every
    town's broadband data read as of 31.12.2021. The candidate refuses it, the published file stays. Re-saved
    (a line end added), not byte for byte: a byte copy is refused earlier (tests/bad_input.py copy_as)."""
    folder = "breitbandatlas/gemeinde_bezirke_privat_2021_"

    def resaved(root: Path) -> None:
        (root / f"{folder}ende.csv").write_bytes((root / f"{folder}mitte.csv").read_bytes() + b"\n")
    result, messages, published, before = run_variant(good_run, tmp_path, resaved,
                                                      assets=downstream_of("raw/breitbandatlas"))
    assert not result.success and sha256(published) == before
    assert any("[breitbandatlas] release 2021-ende (after 2021-mitte): " in m and "re-published" in m
               for m in messages), messages


@pytest.mark.slow
def test_a_measure_missing_from_the_new_release_blocks_the_publish(good_run, tmp_path):
    """The mid-2021 Gemeinde file without its column "alle Technologien ≥ 100 Mbit/s": every row parses, every
    value is in range, and broadband_100_coverage of 2021 would be carried forward from 2020 without a word (the
    latest ranking moved back to 2018). The candidate refuses it, naming source, release, level and measure."""
    def drop_column(root: Path) -> None:
        path = root / "breitbandatlas/gemeinde_bezirke_privat_2021_mitte.csv"
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame.drop(columns="alle Technologien ≥ 100 Mbit/s").to_csv(path, index=False)

    result, messages, published, before = run_variant(good_run, tmp_path, drop_column,
                                                      assets=downstream_of("raw/breitbandatlas"))
    assert not result.success and sha256(published) == before
    assert any("[breitbandatlas] release 2021-mitte-rev2 (after 2020-ende): households_all_100 (gemeinde level), which "
               "the index reads, is in release 2020-ende but not in this one" in m for m in messages), messages


@pytest.mark.slow
def test_benign_reorder_and_a_revised_inkar_release_publish_correct_values(good_run, tmp_path):
    """Reordered Mobilfunk columns read by name; a revised INKAR file lands as vintage 2022-12-rev2."""
    def mutate(root: Path) -> None:
        BY_ID["mobilfunk_monitoring-reordered_columns"].apply(root)
        data = root / bad_input.INKAR
        table = pd.read_parquet(data)
        # the publisher's revision: every out-commuter share after 2016 +0.5 points (those of 30.06.2016 are the BA
        # file's own counts, which the commuting step compares: staging.derived.disagreeing_dates)
        later = table["zeitbezug"].astype(str) > "2016"
        table.loc[later, "x352"] = table.loc[later, "x352"] + 0.5
        table.to_parquet(data, index=False)

    # the part of the job the two edited sources decide, the publish among them: the other sources' staging
    # is the good run's (their files are unchanged) and cannot change the values read here
    result, messages, published, before = run_variant(good_run, tmp_path, mutate,
                                                      assets=downstream_of("raw/mobilfunk", "raw/inkar"))
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
