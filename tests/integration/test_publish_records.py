"""Figures computed once per publish and reused (issue 13): the candidate's findings and the year-on-year
findings are recorded beside the candidate, reused while the files they came from are unchanged, and
computed again as soon as one of them changes."""

from __future__ import annotations

import os
from dataclasses import asdict

import duckdb
import pandas as pd
import pytest

from indicators.catalogue import load_catalogue
from pipelines.assets import publish as publish_asset
from pipelines.resources import ReadinessSettings
from sources import contracts
from warehouse import validation
from warehouse.paths import candidate_path_for, stage_dir_for, work_path_for
from warehouse.publish import build_candidate, swap_in

PILOTS = list(load_catalogue().pilot_towns)


@pytest.fixture
def candidate(published_copy):
    """A candidate built from the copy's working files over its published file: (candidate, published)."""
    with duckdb.connect(str(published_copy), read_only=True) as con:
        method = con.execute("SELECT method_version FROM publish_log").fetchone()[0]
    target = candidate_path_for(published_copy)
    build_candidate(work_path_for(published_copy), published_copy, target,
                    {"run_id": "records", "mode": "snapshot", "method_version": method})
    return target, published_copy


def _refuse(*args, **kwargs):
    raise AssertionError("computed again although the recorded figures were valid")


def test_candidate_findings_are_computed_once_then_reused(candidate, monkeypatch):
    target, published = candidate
    first = validation.validate_candidate(target, published, PILOTS)
    assert all(f.passed for f in first.values()), {n: f.problems for n, f in first.items()}
    assert first["towns_complete"].figures["reference_towns"] > 0
    assert validation.validation_record(target).is_file()
    monkeypatch.setattr(validation, "_compute_findings", _refuse)
    again = validation.validate_candidate(target, published, PILOTS)
    assert {n: asdict(f) for n, f in again.items()} == {n: asdict(f) for n, f in first.items()}


@pytest.mark.parametrize("change", ["candidate", "published", "allow_shrink", "allowlist"])
def test_candidate_findings_are_computed_again_when_an_input_changed(candidate, monkeypatch, tmp_path, change):
    target, published = candidate
    validation.validate_candidate(target, published, PILOTS)
    if change == "allowlist":  # another entry may allow a vanished newest release (newest_releases_kept)
        from sources.contracts import ALLOWLIST_YAML

        other = tmp_path / "allowlist.yaml"
        other.write_text(ALLOWLIST_YAML.read_text(encoding="utf-8") + "\n  - {source: inkar, release: '2022-12', "
                         "measure: release_withdrawn, reason: test}\n", encoding="utf-8")
        monkeypatch.setenv("READINESS_ALLOWLIST", str(other))
    if change == "candidate":  # e.g. an old record beside a rebuilt candidate
        os.utime(target, ns=(target.stat().st_atime_ns, target.stat().st_mtime_ns + 1_000_000))
    elif change == "published":
        os.utime(published, ns=(published.stat().st_atime_ns, published.stat().st_mtime_ns + 1_000_000))
    calls = []
    monkeypatch.setattr(validation, "_compute_findings", lambda *a: calls.append(a) or {})
    validation.validate_candidate(target, published, PILOTS, allow_shrink=change == "allow_shrink")
    assert len(calls) == 1


def test_swap_removes_the_record(candidate):
    target, published = candidate
    validation.validate_candidate(target, published, PILOTS)
    swap_in(target, published)
    assert not validation.validation_record(target).exists()


def test_year_on_year_record_equals_the_computation_and_follows_the_working_files(published_copy, monkeypatch):
    settings = ReadinessSettings(warehouse_path=str(published_copy))
    fresh = publish_asset.year_on_year_all(settings, fresh=True)
    with settings.work(read_only=True) as con:
        direct = contracts.year_on_year(con, read_measures=load_catalogue().read_measures())
    pd.testing.assert_frame_equal(fresh, direct)
    calls = []
    real = contracts.year_on_year
    monkeypatch.setattr(contracts, "year_on_year", lambda *a, **k: calls.append(1) or real(*a, **k))
    pd.testing.assert_frame_equal(publish_asset.year_on_year_all(settings), direct, check_dtype=False,
                                  check_index_type=False, check_column_type=False)
    assert calls == []  # reused
    staging_file = sorted(stage_dir_for(settings.work_db).glob("*.duckdb"))[0]
    os.utime(staging_file, ns=(staging_file.stat().st_atime_ns, staging_file.stat().st_mtime_ns + 1_000_000))
    publish_asset.year_on_year_all(settings)
    assert calls == [1]  # a working file changed: computed again
    publish_asset.year_on_year_all(settings)
    assert calls == [1]  # recorded again, reused again
    monkeypatch.setattr(contracts, "_YOY_SQL", contracts._YOY_SQL + "\n-- changed statement")
    publish_asset.year_on_year_all(settings)
    assert calls == [1, 1]  # the statement changed (a new code version): never answered by the old record
    catalogue = load_catalogue()
    monkeypatch.setattr(type(catalogue), "read_measures", lambda self: {"breitbandatlas": ["households_all_50"]})
    publish_asset.year_on_year_all(settings)
    assert calls == [1, 1, 1]  # the measures the index reads changed (a catalogue edit): computed again


def test_a_recorded_frame_keeps_types_and_values(tmp_path):
    frame = pd.DataFrame({"source_id": ["a", "b"], "prev_value": [0.1, 1e-300], "value": [2.5, float("nan")]})
    record = tmp_path / "r.tmp"
    validation.record_frame(record, {"k": 1}, frame)
    pd.testing.assert_frame_equal(validation.recorded_frame(record, {"k": 1}), frame)
    assert validation.recorded_frame(record, {"k": 2}) is None


def test_the_candidate_is_built_within_its_own_memory_limit(published_copy, monkeypatch, tmp_path):
    # DuckDB's buffer of the candidate's database is set below the general limit before the copy and the
    # history merge (warehouse/publish.py CANDIDATE_MEMORY), measured by the merge itself
    from warehouse import publish

    seen = []
    merge = publish.merge_history

    def merge_and_look(con, *args, **kwargs):
        seen.append(con.execute("SELECT current_setting('memory_limit')").fetchone()[0])
        return merge(con, *args, **kwargs)

    monkeypatch.setattr(publish, "merge_history", merge_and_look)
    monkeypatch.delenv("READINESS_DUCKDB_MEMORY_LIMIT", raising=False)
    with duckdb.connect(str(published_copy), read_only=True) as con:
        method = con.execute("SELECT method_version FROM publish_log").fetchone()[0]
    build_candidate(work_path_for(published_copy), published_copy, tmp_path / "c.duckdb",
                    {"run_id": "limit", "mode": "snapshot", "method_version": method})
    with duckdb.connect(config={"memory_limit": publish.CANDIDATE_MEMORY}) as reference:
        expected = reference.execute("SELECT current_setting('memory_limit')").fetchone()[0]
    assert seen and set(seen) == {expected}
