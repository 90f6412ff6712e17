"""Raw landing: copy every release file into an immutable, content-addressed place.

Layout: ``<raw_root>/<source_id>/<vintage>/<release hash>/<file name>``, where the
release hash covers the names and sha256 of all files of the release (so the parts of a
shapefile stay together). A file is written to a temporary name and renamed, so a
crash never leaves a partial file, and an existing file is never overwritten: the same
content always lands at the same path.
"""

from __future__ import annotations

import hashlib
import os
import shutil
from dataclasses import replace
from pathlib import Path

from sources.registry import Release


def land_release(release: Release, raw_root: Path) -> Release:
    """Copy the files of ``release`` into the raw landing and return the landed release."""
    landed = []
    target_dir = raw_root / release.source_id / release.vintage / release_hash(release)[:16]
    for release_file in release.files:
        target = target_dir / release_file.path.name
        if not target.exists():
            target_dir.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.part")
            shutil.copyfile(release_file.path, temporary)
            os.replace(temporary, target)
        landed.append(replace(release_file, path=target))
    return Release(release.source_id, release.vintage, landed)


def release_hash(release: Release) -> str:
    """sha256 over the sorted (file name, content hash) pairs of a release."""
    parts = sorted(f"{f.path.name}:{f.sha256}" for f in release.files)
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()
