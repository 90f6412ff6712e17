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
import os
from functools import lru_cache
from sources.contracts import allowlist_path
from sources.registry import sha256_of
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
    "reports": ["pipelines/assets/reports.py", "reports/**/*", "indicators/catalogue.yaml", "sources.yaml",
                "sources/vintages.py",  # the Datenstand's due dates (publishing cycles)
                "sources/names.py"],  # how Gemeinden and Kreise are named
}
ASSET_CODE = {
    # tables.yaml: the workbooks' titles (planner_views); the export's own fingerprint (warehouse/exports.py
    # layout_version) then decides which files are written again
    "planner_exports": ["pipelines/assets/exports.py", "warehouse/exports.py", "sources.yaml", "warehouse/tables.yaml",
                        "warehouse/registry.py", "sources/names.py"],
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


# Settings the publish decides with besides its code, read from the environment as pipelines/resources.py and
# sources/contracts.py read them: the lake to commit to, whether a shrink (or a vanished newest release) is allowed,
# and the allow-list's file. Part of the publish group's code version, so changing one re-runs the publish and what
# follows it, not the parsers (review of 5 December: `readiness demo` said "nothing changed" and the published
# warehouse kept data the current allow-list rejects).
PUBLISH_SETTINGS = ("READINESS_LAKE_CATALOG", "READINESS_LAKE_DATA_PATH", "READINESS_ALLOW_SHRINK")
SETTINGS_GROUPS = {"publish"}


def allowlist_digest() -> str:
    """sha256 of the allow-list's content: READINESS_ALLOWLIST's file, else the repository's allowlist.yaml
    ('absent' when the file does not exist). Its content, not its name: a new entry changes what is published."""
    path = allowlist_path()
    return sha256_of(path) if path.is_file() else "absent"


def settings_version() -> str:
    """Digest of the publish settings (PUBLISH_SETTINGS and the allow-list's content). Hashed, never in clear:
    the code version shows in the UI, and a lake catalog names host and user (a password is refused by
    warehouse/lake.py, but a digest shows nothing either way)."""
    values = [(name, os.environ.get(name, "").strip()) for name in PUBLISH_SETTINGS]
    # READINESS_ALLOW_SHRINK counts only as "1", as pipelines/resources.py reads it
    values = [(n, v == "1") if n == "READINESS_ALLOW_SHRINK" else (n, v) for n, v in values]
    return hashlib.sha256(repr([values, allowlist_digest()]).encode()).hexdigest()[:16]


def code_version(asset_name: str, group: str | None) -> str | None:
    """The asset's code version; None for an asset neither table knows (Dagster then treats every
    materialization as new data, so its descendants always re-run: safe, never silently stale).
    The publish group's includes its settings (``settings_version``)."""
    patterns = ASSET_CODE.get(asset_name) or GROUP_CODE.get(group or "")
    if patterns is None:
        return None
    version = files_hash(tuple(COMMON + patterns))
    return f"{version}-{settings_version()}" if group in SETTINGS_GROUPS else version
