"""warehouse.exports.sheet_column: what the export's AGS check reads, with the cells' stored types."""

from __future__ import annotations

import pytest
import xlsxwriter

from warehouse import exports


def test_text_and_number_cells_keep_their_types(tmp_path):
    path = tmp_path / "book.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Daten")
    sheet.write_row(0, 0, ["Gemeinde", "AGS"])
    sheet.write_row(1, 0, ["Mölln", "01053090"])      # text: the leading zero stays
    sheet.write_row(2, 0, ["Mölln", 1053090])         # a number: what Excel makes of an unguarded AGS
    sheet.write_string(3, 0, "Wittenberge")           # no AGS cell at all
    book.close()
    cells = exports.sheet_column(path, "AGS")
    assert cells[0] == "01053090"
    assert cells[1] == 1053090 and not isinstance(cells[1], str)
    assert cells[2] in (None, "")
    assert exports.sheet_column(path, "Gemeinde") == ["Mölln", "Mölln", "Wittenberge"]
    with pytest.raises(ValueError, match="has no column 'Schlüssel'"):
        exports.sheet_column(path, "Schlüssel")
