"""Raw landing: copy every release file into an immutable, content-addressed place.

Layout: ``<raw_root>/<source_id>/<vintage>/<release hash>/<file name>``, where the
release hash covers the names and sha256 of all files of the release (so the parts of a
shapefile stay together). A file is written to a temporary name and renamed, so a
crash never leaves a partial file, and an existing file is never overwritten: the same
content always lands at the same path.

Each release directory holds ``.landed.json`` (when it was first landed, in which mode).
When a publisher revises a vintage (same vintage, different content), the new content
lands next to the old one and becomes revision 2, 3, ... in landing order; earlier
revisions are never removed, so the history of every release stays in the raw landing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

from sources.registry import Release

MANIFEST = ".landed.json"


def land_release(release: Release, raw_root: Path, mode: str = "snapshot") -> Release:
    """Copy the files of ``release`` into the raw landing; return it with its landed paths and revision."""
    landed = []
    vintage_dir = raw_root / release.source_id / release.vintage
    target_dir = vintage_dir / release_hash(release)[:16]
    for release_file in release.files:
        target = target_dir / release_file.path.name
        if not target.exists():
            target_dir.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.part")
            shutil.copyfile(release_file.path, temporary)
            os.replace(temporary, target)
        landed.append(replace(release_file, path=target))
    manifest = read_manifest(target_dir) or write_manifest(target_dir, mode)
    return Release(release.source_id, release.vintage, landed, revision=revision_of(vintage_dir, target_dir),
                   landed_at=manifest["landed_at"])


def release_hash(release: Release) -> str:
    """sha256 over the sorted (file name, content hash) pairs of a release."""
    parts = sorted(f"{f.path.name}:{f.sha256}" for f in release.files)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def revision_of(vintage_dir: Path, release_dir: Path) -> int:
    """1 + the number of other contents of this vintage landed before, in the same mode.

    Scoped by mode because the offline snapshot is a cut of the publisher's file, not a revision of it.
    """
    mine = read_manifest(release_dir)
    earlier = [
        other for other in vintage_dir.iterdir()
        if other.is_dir() and other != release_dir and (m := read_manifest(other))
        and m["mode"] == mine["mode"] and (m["landed_at"], other.name) < (mine["landed_at"], release_dir.name)
    ]
    return 1 + len(earlier)


def read_manifest(release_dir: Path) -> dict | None:
    path = release_dir / MANIFEST
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def write_manifest(release_dir: Path, mode: str) -> dict:
    """Record the first landing (atomically: temporary file, then rename)."""
    manifest = {"landed_at": dt.datetime.now(dt.timezone.utc).replace(tzinfo=None).isoformat(timespec="microseconds"),
                "mode": mode}
    temporary = release_dir / f"{MANIFEST}.part"
    temporary.write_text(json.dumps(manifest), encoding="utf-8")
    os.replace(temporary, release_dir / MANIFEST)
    return manifest
