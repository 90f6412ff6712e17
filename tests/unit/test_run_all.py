"""benchmarks/run_all.py: the critical path it prints as the least wall time of any executor."""

from __future__ import annotations

from graphlib import CycleError

import pytest

from tests.unit.bench_scripts import load


def _critical_path():
    return load("run_all").critical_path


def test_the_longest_chain_not_the_slowest_step_nor_the_sum():
    # raw -> population (7.5) -> crosswalk (9.1) -> broadband (11.2) and commuting (9.4) -> indicators (7.1),
    # the exports (10.5) and the pages (22.0) both after the publish (0.1): the pages' branch is the longer
    seconds = {"raw": 0.1, "population": 7.5, "crosswalk": 9.1, "broadband": 11.2, "commuting": 9.4,
               "indicators": 7.1, "publish": 0.1, "exports": 10.5, "pages": 22.0}
    upstream = {"population": {"raw"}, "crosswalk": {"population"}, "broadband": {"crosswalk"},
                "commuting": {"crosswalk"}, "indicators": {"broadband", "commuting"}, "publish": {"indicators"},
                "exports": {"publish"}, "pages": {"publish"}}
    total, path = _critical_path()(seconds, upstream)
    assert path == ["raw", "population", "crosswalk", "broadband", "indicators", "publish", "pages"]
    assert total == pytest.approx(0.1 + 7.5 + 9.1 + 11.2 + 7.1 + 0.1 + 22.0)
    assert total < sum(seconds.values())


def test_independent_steps_and_steps_without_a_time():
    critical_path = _critical_path()
    # two independent steps: the longer one alone; a step that did not run (no time) counts 0 s
    assert critical_path({"a": 3.0, "b": 5.0}, {}) == (5.0, ["b"])
    assert critical_path({"a": 3.0}, {"a": {"skipped"}, "skipped": set()}) == (3.0, ["skipped", "a"])
    assert critical_path({}, {}) == (0.0, [])


def test_a_cycle_is_refused():
    with pytest.raises(CycleError):
        _critical_path()({"a": 1.0, "b": 1.0}, {"a": {"b"}, "b": {"a"}})
