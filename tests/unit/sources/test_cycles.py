"""Publishing cycles are typed in sources.yaml (``cycles``); the prose ``cadence`` is for people only.

Why: the freshness policies, the raw assets' release-age checks and the pages' "Neuer Stand fällig" were decided by
searching the cadence text for cycle words ("annual (31.12.), quarterly updates" → quarterly): a reworded cadence
would have changed them silently (review of 6 December 2026)."""

from __future__ import annotations

import datetime as dt

import pytest
import yaml

from sources.registry import SOURCES_YAML, load_sources
from sources.vintages import cycle_days, release_age_limit, release_due


def sources_with(tmp_path, source_id: str, **changes):
    """sources.yaml with ``changes`` to one entry (None deletes a key), loaded."""
    raw = yaml.safe_load(SOURCES_YAML.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            del raw["sources"][source_id][key]
        else:
            raw["sources"][source_id][key] = value
    path = tmp_path / "sources.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return load_sources(path)


def test_the_shortest_cycle_sets_freshness_the_longest_the_release_age():
    specs = load_sources()
    gv = specs["destatis_gemeindeverzeichnis"].cycles
    assert gv == ("annual", "quarterly") and (cycle_days(gv), cycle_days(gv, longest=True)) == (92, 365)
    assert release_age_limit(gv) == 2 * 365 + 31
    assert cycle_days(specs["osm_coworking"].cycles) == 0
    assert cycle_days(specs["local_inputs"].cycles) is None and release_age_limit(specs["local_inputs"].cycles) is None
    # INKAR: data of 31.12.2020 in its 2022-12 release, a two-year lag: due a year and a month after the release
    inkar = specs["inkar"]
    assert release_due(inkar.cycles, ["2022-12"], dt.date(2020, 12, 31), inkar.publication_lag_months) \
        == ("2022-12", dt.date(2024, 1, 31))


def test_no_code_reads_the_prose_cadence():
    """``cadence`` is read into the spec for people (docs, the Dagster UI's descriptions may quote it); no module
    decides anything with it any more: the cycle words were searched in it."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    readers = [str(path.relative_to(root)) for package in ("sources", "staging", "indicators", "warehouse", "reports",
                                                           "pipelines", "cli")
               for path in sorted((root / package).rglob("*.py"))
               if re.search(r"\.cadence\b", path.read_text(encoding="utf-8"))]
    assert readers == []


@pytest.mark.parametrize("cycles", [None, "annual", [], ["yearly"], ["irregular", "annual"]])
def test_cycles_that_are_not_a_list_of_known_cycles_are_refused(tmp_path, cycles):
    with pytest.raises(ValueError, match=r"sources.yaml: source inkar: cycles must list its publishing cycles of "
                                         r"irregular, continuous, monthly, quarterly, half-yearly, annual"):
        sources_with(tmp_path, "inkar", cycles=cycles)  # None: the key left out


def test_the_main_cycle_is_the_longest():
    from sources.vintages import main_cycle

    assert main_cycle(("annual", "quarterly")) == "annual" and main_cycle(("continuous",)) == "continuous"
