"""The Dagster definitions match the committed snapshot (tests/snapshots/asset_graph.json): asset keys, groups,
kinds, upstream keys, column schemas, freshness policies, checks, the steps running them, jobs, schedules and
sensors.

A deliberate change to the graph is accepted by regenerating the file and reviewing its diff:
    .venv/bin/python -m pipelines.graph_snapshot
"""

from __future__ import annotations

import datetime as dt
import difflib
import json
import subprocess
import sys
from pathlib import Path

from dagster import (AssetCheckResult, Definitions, FreshnessPolicy, TableColumn, TableColumnConstraints, TableSchema,
                     asset, asset_check)

from pipelines.graph_snapshot import SNAPSHOT_PATH, build_snapshot, render

REGENERATE = ".venv/bin/python -m pipelines.graph_snapshot"
ROOT = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).with_name("dg")


def test_definitions_match_the_committed_snapshot():
    from pipelines.definitions import defs

    assert SNAPSHOT_PATH.exists(), f"no snapshot: create it with `{REGENERATE}`"
    expected = SNAPSHOT_PATH.read_text(encoding="utf-8")
    actual = render(build_snapshot(defs))
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(True), actual.splitlines(True),
                                            "committed snapshot", "definitions now", n=2))
        raise AssertionError(f"the asset graph differs from {SNAPSHOT_PATH.name}; if the change is deliberate, "
                             f"run `{REGENERATE}` and commit the file\n{diff[:6000]}")


def test_snapshot_records_what_the_ui_shows():
    """The builder on a small graph: every property it records, exactly (so a change to any shows)."""
    schema = TableSchema(columns=[TableColumn("ags", "VARCHAR", constraints=TableColumnConstraints(nullable=False)),
                                  TableColumn("score", "DOUBLE")])

    @asset(group_name="landing", kinds={"python"},
           freshness_policy=FreshnessPolicy.time_window(fail_window=dt.timedelta(days=2)))
    def raw_things():
        return None

    @asset(group_name="index", kinds={"duckdb", "pandas"}, deps=[raw_things],
           metadata={"dagster/column_schema": schema})
    def scores():
        return None

    @asset_check(asset=scores, blocking=True)
    def scores_in_range():
        return AssetCheckResult(passed=True)

    @asset_check(asset=scores)
    def scores_look_plausible():
        return AssetCheckResult(passed=True)

    snapshot = build_snapshot(Definitions(assets=[raw_things, scores],
                                          asset_checks=[scores_in_range, scores_look_plausible]))
    assert snapshot["assets"] == {
        "raw_things": {"group": "landing", "kinds": ["python"], "upstream": [], "columns": [],
                       "freshness": {"type": "TimeWindowFreshnessPolicy", "fail_window": "2 days, 0:00:00"},
                       "checks": {"blocking": [], "non_blocking": []}},
        "scores": {"group": "index", "kinds": ["duckdb", "pandas"], "upstream": ["raw_things"],
                   "columns": ["ags VARCHAR NOT NULL", "score DOUBLE"], "freshness": None,
                   "checks": {"blocking": ["scores_in_range"], "non_blocking": ["scores_look_plausible"]}},
    }
    assert snapshot["steps"] == {"raw_things": [], "scores": [], "scores_scores_in_range": ["scores:scores_in_range"],
                                 "scores_scores_look_plausible": ["scores:scores_look_plausible"]}
    assert snapshot["jobs"] == [] and snapshot["schedules"] == {} and snapshot["sensors"] == {}
    assert json.loads(render(snapshot)) == snapshot  # the file holds exactly what was built


def test_dg_project_lists_the_snapshot_definitions():
    """`dg list defs` finds the code location through [tool.dg] in pyproject.toml, with the snapshot's assets."""
    done = subprocess.run([str(DG), "list", "defs", "--json"], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    listed = json.loads(done.stdout)
    snapshot = json.loads(SNAPSHOT_PATH.read_text(encoding="utf-8"))
    assert {a["asset_key"]: (a["group_name"], sorted(a["kinds"]), sorted(a["dependency_keys"]))
            for a in listed["assets"]} == \
        {key: (a["group"], a["kinds"], a["upstream"]) for key, a in snapshot["assets"].items()}
    assert len(listed["asset_checks"]) == sum(len(names) for a in snapshot["assets"].values()
                                              for names in a["checks"].values())
    assert sorted(j["name"] for j in listed["jobs"]) == snapshot["jobs"]
    assert sorted(s["name"] for s in listed["schedules"]) == sorted(snapshot["schedules"])
    assert sorted(s["name"] for s in listed["sensors"]) == sorted(snapshot["sensors"])
