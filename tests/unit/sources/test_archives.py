"""Safe zip extraction (sources/archives.py) on small archives built in each test.

A downloaded archive is untrusted: ``extract_members`` must extract only the members
matching a pattern, flattened to their base name, and refuse path traversal, zip bombs,
oversized members, truncated archives and corrupt members with a SourceError, without
leaving anything behind.
"""

from __future__ import annotations

import io
import random
import zipfile
from pathlib import Path

import pytest

from sources.archives import extract_members
from sources.errors import SourceError

SHAPEFILE = r"VG250_GEM\.(shp|shx|dbf)"


def zip_bytes(members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", method) as bundle:
        for name, data in members.items():
            if name.endswith("/"):
                bundle.writestr(zipfile.ZipInfo(name), b"")  # a directory entry
            else:
                bundle.writestr(name, data)
    return buffer.getvalue()


def write_zip(path: Path, members: dict[str, bytes], method: int = zipfile.ZIP_DEFLATED) -> Path:
    path.write_bytes(zip_bytes(members, method))
    return path


def noise(size: int, seed: int = 0) -> bytes:
    """Incompressible bytes: a compression ratio near 1, far from the zip-bomb limit."""
    return random.Random(seed).randbytes(size)


def files_in(folder: Path) -> list[str]:
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) if folder.exists() else []


def test_matching_members_are_extracted_flat_under_their_base_name(tmp_path):
    members = {
        "vg250_01-01.utm32s.shape.ebenen/": b"",
        "vg250_01-01.utm32s.shape.ebenen/vg250_ebenen_0101/VG250_GEM.shp": b"shape bytes",
        "vg250_01-01.utm32s.shape.ebenen/vg250_ebenen_0101/VG250_GEM.dbf": b"dbase bytes",
        "vg250_01-01.utm32s.shape.ebenen/vg250_ebenen_0101/VG250_GEM.shp.xml": b"<metadata/>",  # no full match
        "vg250_01-01.utm32s.shape.ebenen/vg250_ebenen_0101/VG250_KRS.shp": b"other layer",
        "vg250_01-01.utm32s.shape.ebenen/dokumentation/README.txt": b"Dokumentation",
    }
    archive = write_zip(tmp_path / "vg250.zip", members)
    target = tmp_path / "out"

    extracted = extract_members("bkg_vg", archive, SHAPEFILE, target)

    assert sorted(p.name for p in extracted) == ["VG250_GEM.dbf", "VG250_GEM.shp"]
    assert all(p.parent == target for p in extracted)
    assert files_in(target) == ["VG250_GEM.dbf", "VG250_GEM.shp"]
    assert (target / "VG250_GEM.shp").read_bytes() == b"shape bytes"
    assert (target / "VG250_GEM.dbf").read_bytes() == b"dbase bytes"


@pytest.mark.parametrize("name", ["../../evil.shp", "/abs/evil.shp", "..\\..\\evil.shp", "data/../../evil.shp"])
def test_unsafe_member_paths_are_refused_and_nothing_is_written(tmp_path, name):
    archive = write_zip(tmp_path / "bundle.zip", {"data/VG250_GEM.shp": b"fine", name: b"evil"})
    target = tmp_path / "deep" / "target"

    with pytest.raises(SourceError, match="unsafe member path") as failure:
        extract_members("bkg_vg", archive, r".*\.shp", target)

    assert repr(name) in str(failure.value)
    assert files_in(tmp_path) == ["bundle.zip"]  # not even the safe member, and nothing outside target
    assert not Path("/abs/evil.shp").exists()


def test_zip_bomb_is_refused_before_anything_is_written(tmp_path):
    archive = write_zip(tmp_path / "bomb.zip", {"VG250_GEM.shp": bytes(10 << 20)})  # 10 MiB of zeros, ratio ~1000
    [member] = zipfile.ZipFile(archive).infolist()
    assert member.file_size / member.compress_size > 200

    with pytest.raises(SourceError, match="suspected zip bomb"):
        extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "out")
    assert files_in(tmp_path / "out") == []


def test_well_compressible_text_is_not_mistaken_for_a_bomb(tmp_path):
    csv = "".join(f"0105{i:04d};Gemeinde {i};{i * 37 % 1000}\n" for i in range(20000)).encode()
    archive = write_zip(tmp_path / "table.zip", {"table.csv": csv})

    [path] = extract_members("regionalstatistik", archive, r".*\.csv", tmp_path / "out")
    assert path.read_bytes() == csv


def test_member_size_limit(tmp_path):
    archive = write_zip(tmp_path / "bundle.zip", {"a/VG250_GEM.shp": noise(1000)})

    assert len(extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "ok", max_member_bytes=1000)) == 1
    with pytest.raises(SourceError, match="is 1000 bytes, over the limit of 999"):
        extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "out", max_member_bytes=999)
    assert files_in(tmp_path / "out") == []


def test_total_size_limit_counts_only_matching_members(tmp_path):
    archive = write_zip(tmp_path / "bundle.zip", {"VG250_GEM.shp": noise(600, 1), "VG250_GEM.dbf": noise(600, 2),
                                                  "README.txt": noise(5000, 3)})

    assert len(extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "ok", max_total_bytes=1200)) == 2
    with pytest.raises(SourceError, match="members exceed 1199 bytes in total"):
        extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "out", max_total_bytes=1199)
    assert files_in(tmp_path / "out") == []


def test_truncated_archive_is_not_a_complete_zip(tmp_path):
    whole = zip_bytes({"VG250_GEM.shp": noise(4000), "VG250_GEM.dbf": noise(4000, 1)})
    archive = tmp_path / "vg250.zip"
    archive.write_bytes(whole[: len(whole) // 2])

    with pytest.raises(SourceError, match="not a complete zip archive") as failure:
        extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "out", label="https://example.invalid/vg250.zip")
    assert str(failure.value).startswith("[bkg_vg] https://example.invalid/vg250.zip: ")
    assert files_in(tmp_path / "out") == []


def corrupt_member_data(data: bytes, name: str, offset: int, change) -> bytes:
    """``data`` with one byte of ``name``'s stored (compressed) bytes replaced by ``change(byte)``."""
    member = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    start = member.header_offset + 30 + len(member.filename.encode()) + len(member.extra)  # after the local header
    damaged = bytearray(data)
    damaged[start + offset] = change(damaged[start + offset])
    return bytes(damaged)


def test_corrupt_member_fails_its_crc_and_the_partial_file_is_removed(tmp_path):
    # stored, 1.5 MiB: the first MiB is written before the CRC is checked at the end of the member
    data = zip_bytes({"VG250_GEM.shp": noise(3 << 19)}, zipfile.ZIP_STORED)
    archive = tmp_path / "vg250.zip"
    archive.write_bytes(corrupt_member_data(data, "VG250_GEM.shp", 1000, lambda b: b ^ 0xFF))

    with pytest.raises(SourceError, match="'VG250_GEM.shp' is corrupt"):
        extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "out")
    assert files_in(tmp_path / "out") == []


def test_corrupt_deflate_stream_is_a_source_error_and_leaves_nothing(tmp_path):
    data = zip_bytes({"VG250_GEM.shp": b"".join(f"{i};{i * i}\n".encode() for i in range(5000))})
    archive = tmp_path / "vg250.zip"
    # set the block type bits of the first deflate block to 11 (reserved): "invalid block type"
    archive.write_bytes(corrupt_member_data(data, "VG250_GEM.shp", 0, lambda b: b | 0b110))

    try:
        with pytest.raises(SourceError, match="is corrupt"):
            extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "out")
    finally:
        assert files_in(tmp_path / "out") == []


def test_members_sharing_a_base_name_are_refused(tmp_path):
    archive = write_zip(tmp_path / "bundle.zip", {"2024/VG250_GEM.shp": b"new", "2023/VG250_GEM.shp": b"old"})

    with pytest.raises(SourceError, match="several members share a base name"):
        extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "out")
    assert files_in(tmp_path / "out") == []


def test_no_match_lists_the_members(tmp_path):
    archive = write_zip(tmp_path / "bundle.zip", {"docs/README.txt": b"x", "data/VG250_KRS.shp": b"y"})

    with pytest.raises(SourceError) as failure:
        extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "out")
    message = str(failure.value)
    assert message.startswith("[bkg_vg] bundle.zip: no member matches")
    assert "docs/README.txt" in message and "data/VG250_KRS.shp" in message


def test_empty_archive_says_so(tmp_path):
    archive = write_zip(tmp_path / "empty.zip", {})

    with pytest.raises(SourceError, match=r"no member matches .* \(members: empty archive\)"):
        extract_members("bkg_vg", archive, SHAPEFILE, tmp_path / "out")
