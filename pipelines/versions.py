"""Code versions of the assets, declared in one table: what code (and configuration) each asset's result depends on.

Dagster compares an asset's code version with the one recorded at its last materialization: a
different one marks it stale ("code version changed"), and since an asset without a data version of
its own gets one computed from its code version and its inputs' data versions, everything downstream
turns stale too. So a change of the broadband parser re-stages broadband and recomputes what follows;
a change of a report template rebuilds only the reports.

The code version is a hash over the files the asset's stage reads, matched by glob patterns (relative
to the repository root). Patterns that match nothing are allowed: another stage may not exist yet.
Applied to every asset in pipelines/catalog.py ``describe`` (map_asset_specs), so no decorator repeats it.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache

from warehouse.paths import PROJECT_ROOT

# Read by every step: settings, the working database, the warehouse DDL.
COMMON = ["pipelines/resources.py", "warehouse/__init__.py", "warehouse/sql.py", "warehouse/schema.sql"]

# By asset group (pipelines/assets/*.py group_name); an asset name in ASSET_CODE wins over its group.
GROUP_CODE = {
    "raw_landing": ["pipelines/assets/raw.py", "sources/registry.py", "sources/landing.py", "sources/live.py",
                    "sources/http.py", "sources/archives.py", "sources.yaml"],
    # the parsers, their contracts, the staging logic (territorial crosswalk, derived shares, coworking)
    "staging": ["pipelines/assets/staging.py", "sources/*.py", "sources.yaml",
                "staging/*.py", "warehouse/staging.sql"],
    # indicators/compute.py reads the crosswalk's uninhabited-land rules
    "indicators": ["pipelines/assets/indicators.py", "indicators/*.py", "indicators/catalogue.yaml", "staging/*.py"],
    "index": ["pipelines/assets/indicators.py", "pipelines/assets/analysis.py", "pipelines/assets/coworking.py",
              "indicators/*.py", "indicators/catalogue.yaml"],
    "publish": ["pipelines/assets/publish.py", "pipelines/checks.py", "warehouse/*.py", "warehouse/*.sql",
                "allowlist.yaml", "sources.yaml", "indicators/catalogue.yaml"],
    "reports": ["pipelines/assets/reports.py", "reports/**/*", "indicators/catalogue.yaml", "sources.yaml"],
}
ASSET_CODE = {
    # tables.yaml: the workbooks' titles (planner_views); the export's own fingerprint (warehouse/exports.py
    # layout_version) then decides which files are written again
    "planner_exports": ["pipelines/assets/exports.py", "warehouse/exports.py", "sources.yaml", "warehouse/tables.yaml",
                        "warehouse/registry.py"],
}


@lru_cache(maxsize=None)
def files_hash(patterns: tuple[str, ...]) -> str:
    """sha256 over the path and bytes of every file the patterns match (sorted, each file once)."""
    paths = sorted({p for pattern in patterns for p in PROJECT_ROOT.glob(pattern)
                    if p.is_file() and "__pycache__" not in p.parts})
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(PROJECT_ROOT).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()[:16]


def code_version(asset_name: str, group: str | None) -> str | None:
    """The asset's code version; None for an asset neither table knows (Dagster then treats every
    materialization as new data, so its descendants always re-run: safe, never silently stale)."""
    patterns = ASSET_CODE.get(asset_name) or GROUP_CODE.get(group or "")
    if patterns is None:
        return None
    return files_hash(tuple(COMMON + patterns))
