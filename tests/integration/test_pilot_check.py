"""The observation check pilot_towns_present (pipelines/checks.py) on a small working database, no job run: an
optional source without any release in the run passes and says so; a landed release without the pilots fails,
and so does a required source without releases."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.checks import PILOTS, SOURCES, make_observation_checks

OPTIONAL, REQUIRED = "gigabit_grundbuch", "breitbandatlas"


def pilot_check(source_ids: list[str]):
    return next(c for c in make_observation_checks("broadband_coverage", source_ids) if c.name == "pilot_towns_present")


@pytest.fixture
def con():
    with duckdb.connect() as con:
        con.execute("CREATE TABLE releases (source_id VARCHAR, vintage VARCHAR, revision INTEGER, file VARCHAR)")
        con.execute("CREATE TABLE observations (source_id VARCHAR, vintage VARCHAR, ags VARCHAR, level VARCHAR)")
        yield con


def land(con, source_id: str, pilots: list[str]) -> None:
    """One release of ``source_id`` whose observations hold the Gemeinden ``pilots``."""
    con.execute("INSERT INTO releases VALUES (?, '2023-06', 1, 'gigabit-grundbuch/bba_06_2023.xlsx')", [source_id])
    for ags in pilots:
        con.execute("INSERT INTO observations VALUES (?, '2023-06', ?, 'gemeinde')", [source_id, ags])


def test_the_sources_are_what_the_cases_need():
    assert not SOURCES[OPTIONAL].required and SOURCES[REQUIRED].required and len(PILOTS) == 5


def test_an_optional_source_without_a_release_passes_and_says_so(con):
    result = pilot_check([OPTIONAL]).evaluate(con, None)
    assert result.passed
    assert result.description.startswith(f"No release of {OPTIONAL} in this run")
    assert result.metadata["releases"].value == 0


def test_a_landed_release_that_lost_pilot_towns_fails(con):
    land(con, OPTIONAL, PILOTS[:2])
    result = pilot_check([OPTIONAL]).evaluate(con, None)
    assert not result.passed
    assert result.metadata["missing"].value == str(sorted(PILOTS[2:]))


def test_a_landed_release_with_no_rows_fails(con):
    land(con, OPTIONAL, [])
    assert not pilot_check([OPTIONAL]).evaluate(con, None).passed


def test_a_landed_release_with_every_pilot_passes(con):
    land(con, OPTIONAL, PILOTS)
    result = pilot_check([OPTIONAL]).evaluate(con, None)
    assert result.passed and result.description is None


def test_a_required_source_without_a_release_fails(con):
    """Cannot happen in a run (its raw asset fails first), but never passes for want of data."""
    assert not pilot_check([REQUIRED]).evaluate(con, None).passed
    assert not pilot_check([REQUIRED, OPTIONAL]).evaluate(con, None).passed
