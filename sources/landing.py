"""Raw landing: copy every release file into an immutable, content-addressed place.

Layout: ``<raw_root>/<source_id>/<vintage>/<sha256[:16]>/<file name>``. A file is
written to a temporary name and renamed, so a crash never leaves a partial file, and
an existing file is never overwritten: the same content lands at the same path.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

from sources.registry import Release


def land_release(release: Release, raw_root: Path) -> Release:
    """Copy the files of ``release`` into the raw landing and return the landed release."""
    landed = []
    for release_file in release.files:
        target_dir = raw_root / release.source_id / release.vintage / release_file.sha256[:16]
        target = target_dir / release_file.path.name
        if not target.exists():
            target_dir.mkdir(parents=True, exist_ok=True)
            temporary = target.with_name(f".{target.name}.part")
            shutil.copyfile(release_file.path, temporary)
            os.replace(temporary, target)
        landed.append(replace(release_file, path=target))
    return Release(release.source_id, release.vintage, landed)
