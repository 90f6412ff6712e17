"""A snapshot of the Dagster definitions as the UI shows them, kept as JSON to review changes to the graph.

Asset keys, groups, kinds, upstream keys, column schemas (the *Columns* tab), freshness policies, asset
checks, the steps (ops) that run them, jobs, schedules and sensors: what a user of the UI (and anything
referring to asset keys) sees; the steps also say what a run of the job pays per-step overhead for.
tests/integration/test_graph_snapshot.py compares the loaded definitions with the committed file, so a renamed asset,
a lost column or a dropped check shows as a diff in review instead of going unnoticed.

Regenerate after a deliberate change (one command, from the repository root):

    .venv/bin/python -m pipelines.graph_snapshot

Only stable, environment-independent facts go in: no descriptions (prose), no paths, no resource values.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SNAPSHOT_PATH = Path(__file__).resolve().parents[1] / "tests" / "snapshots" / "asset_graph.json"


def column_schema(metadata) -> list[str]:
    """Each column of an asset's column schema as "name TYPE" (plus " NOT NULL"), one line each in the
    file so that a changed column is a one-line diff; empty without a schema."""
    schema = metadata.get("dagster/column_schema")
    if schema is None:
        return []
    return [f"{c.name} {c.type}" + ("" if c.constraints.nullable else " NOT NULL") for c in schema.columns]


def freshness(policy) -> dict | None:
    """A freshness policy as its windows ("396 days, 0:00:00"; cron policies by their cron), or None."""
    if policy is None:
        return None
    fields = {}
    for name in ("warn_window", "fail_window", "lower_bound_delta"):
        value = getattr(policy, name, None)
        if value is not None:
            fields[name] = str(value.to_timedelta())
    for name in ("deadline_cron", "timezone"):
        value = getattr(policy, name, None)
        if value is not None:
            fields[name] = value
    return {"type": type(policy).__name__, **fields}


def asset_entry(graph, key) -> dict:
    """Everything the snapshot records about one asset."""
    node = graph.get(key)
    specs = {check_key.name: graph.get_check_spec(check_key) for check_key in node.check_keys}
    checks = {"blocking": sorted(name for name, spec in specs.items() if spec.blocking),
              "non_blocking": sorted(name for name, spec in specs.items() if not spec.blocking)}
    return {
        "group": node.group_name,
        "kinds": sorted(node.kinds),
        "upstream": sorted(parent.to_user_string() for parent in node.parent_keys),
        "columns": column_schema(node.metadata),
        "freshness": freshness(node.freshness_policy),
        "checks": checks,
    }


def steps(graph) -> dict[str, list[str]]:
    """Every executable step (op) of the definitions with the asset checks it evaluates ("asset:check"),
    sorted by op name: a check moved to another step, or a step added, is a diff."""
    ops = {}
    for assets_def in graph.assets_defs:
        if assets_def.is_executable:
            ops[assets_def.node_def.name] = sorted(f"{key.asset_key.to_user_string()}:{key.name}"
                                                   for key in assets_def.check_keys)
    return dict(sorted(ops.items()))


def build_snapshot(defs) -> dict:
    """The JSON-ready snapshot of ``defs`` (a dagster Definitions), keys sorted for stable diffs."""
    graph = defs.resolve_asset_graph()
    assets = {key.to_user_string(): asset_entry(graph, key)
              for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string())}
    repository = defs.get_repository_def()
    jobs = sorted(job.name for job in repository.get_all_jobs() if not job.name.startswith("__"))
    schedules = {s.name: {"cron": s.cron_schedule, "timezone": s.execution_timezone, "job": s.job_name,
                          "default_status": s.default_status.value}
                 for s in sorted(repository.schedule_defs, key=lambda s: s.name)}
    sensors = {s.name: {"type": s.sensor_type.value, "minimum_interval_seconds": s.minimum_interval_seconds,
                        "default_status": s.default_status.value}
               for s in sorted(repository.sensor_defs, key=lambda s: s.name)}
    return {"assets": assets, "steps": steps(graph), "jobs": jobs, "schedules": schedules, "sensors": sensors}


def render(snapshot: dict) -> str:
    """The file's text: indented JSON, non-ASCII kept readable, ending in a newline."""
    return json.dumps(snapshot, indent=1, ensure_ascii=False, sort_keys=False) + "\n"


def main() -> int:
    """Write the snapshot of pipelines.definitions to SNAPSHOT_PATH and say how many assets it holds."""
    from pipelines.definitions import defs

    snapshot = build_snapshot(defs)
    SNAPSHOT_PATH.parent.mkdir(parents=True, exist_ok=True)
    SNAPSHOT_PATH.write_text(render(snapshot), encoding="utf-8")
    print(f"wrote {SNAPSHOT_PATH} ({len(snapshot['assets'])} assets, "
          f"{sum(len(names) for a in snapshot['assets'].values() for names in a['checks'].values())} checks, "
          f"{len(snapshot['steps'])} steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
