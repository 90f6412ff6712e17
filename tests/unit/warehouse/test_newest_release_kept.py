"""A source's newest published release that vanished from the source directory blocks the publish unless allowed
(warehouse/validation.py newest_releases_kept): a broken mirror is far more likely than a withdrawal, and publishing
it moved the warehouse back silently (review of 5 December: only publish_log.changes said 'withdrawn')."""

from __future__ import annotations

from pathlib import Path

import duckdb

from sources.contracts import Allowance
from warehouse import validation

PUBLISHED = {"breitbandatlas": {"2018-ende", "2019-ende", "2020-ende", "2021-mitte"}, "inkar": {"2022-12"}}


def test_a_vanished_newest_release_is_refused_naming_source_and_release():
    candidate = {"breitbandatlas": {"2018-ende", "2019-ende", "2020-ende"}, "inkar": {"2022-12"}}
    finding = validation.newest_releases_kept(candidate, PUBLISHED, allow_shrink=False)
    assert not finding.passed
    assert len(finding.problems) == 1 and finding.problems[0].startswith(
        "[breitbandatlas] release 2021-mitte, the newest published, is no longer in the source directory")
    assert "allowlist.yaml" in finding.problems[0] and "READINESS_ALLOW_SHRINK=1" in finding.problems[0]


def test_an_older_release_gone_a_new_one_or_a_revision_passes():
    """Only the newest matters here (an older one gone is the contracts' business); a revision keeps its vintage."""
    candidate = {"breitbandatlas": {"2019-ende", "2020-ende", "2021-mitte", "2022-ende"}, "inkar": {"2022-12"}}
    assert validation.newest_releases_kept(candidate, PUBLISHED, allow_shrink=False).passed
    assert validation.newest_releases_kept(PUBLISHED, {}, allow_shrink=False).passed  # a first publish


def test_a_whole_source_gone_is_refused_too():
    candidate = {"breitbandatlas": PUBLISHED["breitbandatlas"]}
    finding = validation.newest_releases_kept(candidate, PUBLISHED, allow_shrink=False)
    assert [p.split(",")[0] for p in finding.problems] == ["[inkar] release 2022-12"]


def test_an_allowlist_entry_or_allow_shrink_lets_a_withdrawal_through():
    candidate = {"breitbandatlas": {"2018-ende", "2019-ende", "2020-ende"}, "inkar": {"2022-12"}}
    entry = Allowance(source="breitbandatlas", release="2021-mitte", reason="withdrawn by the BNetzA, 2026-12-01")
    listed = validation.newest_releases_kept(candidate, PUBLISHED, allow_shrink=False, allowances=[entry])
    assert listed.passed and listed.figures["allowed_by_allowlist"] == {
        "breitbandatlas 2021-mitte": "withdrawn by the BNetzA, 2026-12-01"}
    named = Allowance(source="breitbandatlas", release="2021-mitte", reason="withdrawn", measure="release_withdrawn")
    assert validation.newest_releases_kept(candidate, PUBLISHED, False, allowances=[named]).passed
    other = Allowance(source="breitbandatlas", release="2020-ende", reason="another release")
    assert not validation.newest_releases_kept(candidate, PUBLISHED, False, allowances=[other]).passed
    # an entry for some measures or one region of the release (allowlist.yaml's Wiesbaden FTTH/B) is no withdrawal
    for limited in (Allowance(source="breitbandatlas", release="2021-mitte", reason="FTTH/B",
                              measure="households_ftthb_.+"),
                    Allowance(source="breitbandatlas", release="2021-mitte", reason="one town", ags="06414000")):
        assert not validation.newest_releases_kept(candidate, PUBLISHED, False, allowances=[limited]).passed
    shrink = validation.newest_releases_kept(candidate, PUBLISHED, allow_shrink=True)
    assert shrink.passed and shrink.figures["allowed_by_READINESS_ALLOW_SHRINK"] == 1


def test_release_vintages_reads_the_current_releases_of_a_file(tmp_path: Path):
    with duckdb.connect(str(tmp_path / "w.duckdb")) as con:
        assert validation.release_vintages(con) == {}  # before the first publish
        con.execute("CREATE TABLE source_releases AS SELECT * FROM (VALUES ('inkar', '2022-12', 'a.csv'), "
                    "('inkar', '2022-12', 'b.csv'), ('bkg_vg', 'vg5000-2021-01-01', 'c.shp')) "
                    "t(source_id, vintage, file)")
        assert validation.release_vintages(con) == {"inkar": {"2022-12"}, "bkg_vg": {"vg5000-2021-01-01"}}


def test_a_newer_release_in_place_of_the_newest_moves_nothing_back():
    """A relabelled delivery or a newer OSM answer instead of the newest one was refused as a withdrawal, though
    the warehouse moves forward (review of the diff); an older one in its place still moves it back."""
    newer = {"breitbandatlas": {"2018-ende", "2019-ende", "2020-ende", "2022-ende"}, "inkar": {"2022-12"}}
    assert validation.newest_releases_kept(newer, PUBLISHED, allow_shrink=False).passed
    older = {"breitbandatlas": {"2018-ende", "2019-ende", "2020-ende", "2020-mitte"}, "inkar": {"2022-12"}}
    assert not validation.newest_releases_kept(older, PUBLISHED, allow_shrink=False).passed


def test_the_recorded_findings_are_not_reused_after_an_entry_s_measure_or_region_changed(tmp_path, monkeypatch):
    """The record of a candidate's findings was keyed on each entry's source, release and reason only: narrowing an
    entry's measure (no longer a withdrawal) reused the finding that had allowed the withdrawal."""
    def key_with(measure: str) -> dict:
        listing = tmp_path / f"allow-{len(measure)}.yaml"
        listing.write_text(f"allow:\n  - source: breitbandatlas\n    release: '2021-mitte'\n    measure: '{measure}'\n"
                           "    reason: withdrawn\n", encoding="utf-8")
        monkeypatch.setenv("READINESS_ALLOWLIST", str(listing))
        return validation._validation_key(tmp_path / "c.duckdb", tmp_path / "p.duckdb", [], False)

    assert key_with("release_withdrawn") != key_with("households_ftthb_.+")
