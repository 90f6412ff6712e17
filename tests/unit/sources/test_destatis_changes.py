"""Destatis change lists (Gebietsaenderungen): the real files, the snapshot cut, and layouts it must refuse."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from openpyxl import Workbook

from sources import destatis_changes
from sources.errors import SourceError
from sources.registry import SNAPSHOT_DIR, Release, ReleaseFile, discover_releases, load_sources

SPEC = load_sources()["destatis_gebietsaenderungen"]


def parsed(root: Path) -> dict[str, dict]:
    return {r.vintage: destatis_changes.parse_release(r) for r in discover_releases(SPEC, root)}


def one_file(path: Path) -> Release:
    return Release(SPEC.source_id, "test", [ReleaseFile("workbook", path, path.name, "0" * 64, 0)])


def test_real_lists(full_data):
    lists = parsed(full_data)
    assert set(lists) == {"2023", "2024", "2025-01-bis-02"}
    coverage = lists["2025-01-bis-02"]["coverage"].iloc[0]
    assert (coverage["period_start"], coverage["period_end"]) == (dt.date(2025, 1, 1), dt.date(2025, 2, 28))
    changes = lists["2024"]["changes"].set_index(["from_ags", "to_ags"])
    # Sülzfeld dissolved into Meiningen; 17,388,026 m² and 837 inhabitants in the publisher's row
    suelzfeld = changes.loc[("16066073", "16066042")]
    assert (suelzfeld["kind"], suelzfeld["population"]) == ("dissolution", 837)
    assert suelzfeld["area_km2"] == pytest.approx(17.388026)
    assert suelzfeld["effective_date"] == dt.date(2024, 1, 1)
    # Breest into Bartow: legal 09.06.2024, statistically effective 01.06.2024
    breest = changes.loc[("13071017", "13071006")]
    assert (breest["legal_date"], breest["effective_date"]) == (dt.date(2024, 6, 9), dt.date(2024, 6, 1))
    # Borna -> Kitzscher is a partial transfer; the row stating what Borna keeps is not a change
    assert changes.loc[("14729050", "14729220"), "kind"] == "partial_transfer"
    assert ("14729050", "14729050") not in changes.index
    dissolved = lists["2024"]["changes"].query("kind == 'dissolution'")["from_ags"]
    assert dissolved.nunique() == 24  # 22 into one Gemeinde, Rodeberg and Großer Auersberg split in two
    # a real key change (Schlüsseländerung) of 2025; name changes are left out
    recodes = lists["2025-01-bis-02"]["changes"].query("kind == 'recode'")
    assert recodes[["from_ags", "to_ags"]].values.tolist() == [["07232096", "07232503"]]
    assert not any("rename" in set(t["changes"]["kind"]) for t in lists.values())


def test_snapshot_cut_keeps_layout_and_real_rows(full_data):
    """The snapshot lists parse like the originals and hold exactly their rows of the kept Länder."""
    cut, full = parsed(SNAPSHOT_DIR), parsed(full_data)
    assert set(cut) == set(full)
    for vintage, tables in cut.items():
        kept = full[vintage]["changes"]
        kept = kept[kept["change_id"].str[:2].isin({"01", "06", "09", "12", "14"})].reset_index(drop=True)
        assert tables["changes"].equals(kept), vintage
        assert tables["coverage"].drop(columns="file").equals(full[vintage]["coverage"].drop(columns="file"))
    assert len(cut["2024"]["changes"]) > 0


def test_snapshot_lists_without_full_data():
    """Runs on a fresh clone: the committed cut holds real dissolutions and partial transfers."""
    changes = parsed(SNAPSHOT_DIR)["2023"]["changes"].set_index("from_ags")
    assert changes.loc["06635005", ["to_ags", "kind"]].tolist() == ["06635001", "dissolution"]  # Bromskirchen
    assert "partial_transfer" in set(changes["kind"])


def write_sheet(path: Path, rows: list[list], sheet: str = "Gebietsaenderungen") -> Path:
    workbook = Workbook()
    workbook.active.title = sheet
    for row in rows:
        workbook.active.append(row)
    workbook.save(path)
    return path


HEADER = [["Gebietsänderungen vom 01.01. - 31.12.2024"],
          ["Kennziffer", "Regionaleinheit", "Abgebende / Aufgelöste Gemeinde", None, None, None, None, None,
           "Aufnehmende / Neugebildete Gemeinde", None, None, "Wirksamkeitsdatum", None],
          [None, None, "Amtlicher Regionalschlüssel (ARS)", "Amtlicher Gemeinde-schlüssel (AGS)", "Name",
           "Änderungs-art 1)", "Fläche qm", "Einwohner", "Amtlicher Regionalschlüssel (ARS)",
           "Amtlicher Gemeinde-schlüssel (AGS)", "Name", "juristisch", "statistisch"]]


@pytest.mark.parametrize("rows, sheet, message", [
    (HEADER, "Tabelle1", "no sheet 'Gebietsaenderungen'"),
    (HEADER[:1] + [["Schlüssel", "Regionaleinheit"]], "Gebietsaenderungen", "'Kennziffer' not found"),
    (HEADER[:2] + [[c if c != "Fläche qm" else "Fläche ha" for c in HEADER[2]]], "Gebietsaenderungen",
     "column 'Fläche qm' under 'Abgebende' not found once"),
    (HEADER[1:], "Gebietsaenderungen", "no title 'Gebietsänderungen vom"),
    (HEADER + [["14/2024/0005-R", "Gemeinde", "1", "14729050", "Borna", "7", 1, 0, "2", "14729220", "K",
                "01.01.2024", "01.01.2024"]], "Gebietsaenderungen", r"unknown Änderungsart \['7'\]"),
])
def test_unrecognised_layout_fails_naming_the_file(tmp_path, rows, sheet, message):
    path = write_sheet(tmp_path / "Gebietsaenderungen_2024.xlsx", rows, sheet)
    with pytest.raises(SourceError, match=message) as error:
        destatis_changes.parse_release(one_file(path))
    assert "Gebietsaenderungen_2024.xlsx" in str(error.value) and "destatis_gebietsaenderungen" in str(error.value)


def test_not_a_workbook(tmp_path):
    path = tmp_path / "Gebietsaenderungen_2024.xlsx"
    path.write_text("<html>Wartungsarbeiten</html>")
    with pytest.raises(SourceError, match="not a readable Excel workbook"):
        destatis_changes.parse_release(one_file(path))
