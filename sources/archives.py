"""Safe extraction of downloaded zip archives (VG250 shapefiles, GENESIS ffcsv, BA workbooks).

A downloaded archive is untrusted: members may try to escape the target folder
(``../``, absolute paths), claim absurd sizes (zip bombs) or be cut off mid-download.
Only members matching a pattern are extracted, flattened to their base name.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from sources.errors import SourceError

MAX_MEMBER_BYTES = 2 << 30
MAX_TOTAL_BYTES = 8 << 30
MAX_RATIO = 200  # uncompressed / compressed; text compresses ~10x, a bomb ~1000x


def extract_members(source_id: str, archive: Path, pattern: str, target_dir: Path, label: str | None = None,
                    max_member_bytes: int = MAX_MEMBER_BYTES, max_total_bytes: int = MAX_TOTAL_BYTES) -> list[Path]:
    """Extract the members whose base name fully matches ``pattern`` into ``target_dir``.

    Raises SourceError (naming ``label`` or the archive) if it is not a complete zip, a
    member is unsafe or too large, or nothing matches. Returns the extracted paths.
    """
    label = label or archive.name
    wanted = re.compile(pattern)
    try:
        with zipfile.ZipFile(archive) as bundle:
            members = [m for m in bundle.infolist() if not m.is_dir() and wanted.fullmatch(PurePosixPath(m.filename).name)]
            _check(source_id, label, bundle, members, pattern, max_member_bytes, max_total_bytes)
            return [_extract(source_id, label, bundle, member, target_dir) for member in members]
    except zipfile.BadZipFile as exc:
        raise SourceError(source_id, label, f"not a complete zip archive ({exc}); the download may be truncated "
                                            "or an error page") from exc


def _check(source_id, label, bundle, members, pattern, max_member_bytes, max_total_bytes) -> None:
    if not members:
        names = ", ".join(m.filename for m in bundle.infolist()[:10]) or "empty archive"
        raise SourceError(source_id, label, f"no member matches {pattern!r} (members: {names})")
    for member in members:
        path = PurePosixPath(member.filename)
        if path.is_absolute() or ".." in path.parts or "\\" in member.filename:
            raise SourceError(source_id, label, f"unsafe member path {member.filename!r}")
        if member.file_size > max_member_bytes:
            raise SourceError(source_id, label, f"member {member.filename!r} is {member.file_size} bytes, "
                                                f"over the limit of {max_member_bytes}")
        if member.compress_size and member.file_size / member.compress_size > MAX_RATIO:
            raise SourceError(source_id, label, f"member {member.filename!r} expands {member.file_size} bytes "
                                                f"from {member.compress_size} (suspected zip bomb)")
    if sum(m.file_size for m in members) > max_total_bytes:
        raise SourceError(source_id, label, f"members exceed {max_total_bytes} bytes in total")
    names = [PurePosixPath(m.filename).name for m in members]
    if len(set(names)) != len(names):
        raise SourceError(source_id, label, f"several members share a base name: {sorted(names)}")


def _extract(source_id, label, bundle, member, target_dir: Path) -> Path:
    """Stream one member to ``target_dir/<base name>``, stopping at its declared size."""
    target_dir.mkdir(parents=True, exist_ok=True)
    target = target_dir / PurePosixPath(member.filename).name
    written = 0
    try:
        with bundle.open(member) as source, target.open("wb") as handle:
            for block in iter(lambda: source.read(1 << 20), b""):
                written += len(block)
                if written > member.file_size:  # the header lied about the size
                    raise SourceError(source_id, label, f"member {member.filename!r} is larger than declared")
                handle.write(block)
    except (zipfile.BadZipFile, EOFError, zlib.error) as exc:  # CRC mismatch, truncated or damaged data
        target.unlink(missing_ok=True)
        raise SourceError(source_id, label, f"member {member.filename!r} is corrupt ({exc}); "
                                            "the download may be truncated") from exc
    return target
