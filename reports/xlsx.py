"""A small .xlsx writer for the report downloads: sheets of typed cells (text, number, boolean, date) and
nothing else (no widths, formulas or styles beyond the date format).

Why not XlsxWriter (used until 2026-12-02): a page's workbook (9 sheets, ~700 cells) took 6.0 of the page's
12.8 CPU ms, spread over its per-cell bookkeeping (cell objects, dimension checks, shared-string table)
and nine parts per workbook besides the sheets (theme, shared strings, app properties, ...).
This writes six parts and one per sheet (zipped by ``_zip``), what Excel, LibreOffice and openpyxl need (ECMA-376 part 1:
content types, relationships, workbook, styles, sheets; core properties for the creation time) with the
texts as inline strings (no shared-string table to build), as XlsxWriter's constant_memory mode does.
The cells read back the same (value, type, number format): tests/unit/reports/test_downloads.py compares
them with XlsxWriter's file of the same tables.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
import struct
import zlib
from pathlib import Path

from xlsxwriter.utility import xl_col_to_name

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"
# Calibri 11 as XlsxWriter's default; style 1 is the date format of the date cells (openpyxl's default for times),
# styles 2-6 a number shown with 0-4 decimals (a download's ``Shown``: 60,0 and 38,10 as the CSV writes them, the
# planner workbooks' formats)
DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"
SHOWN_DIGITS = range(5)
_SHOWN_STYLE = 2  # the style of a number with 0 decimals; n decimals: 2 + n
_NUMBER_FORMATS = [DATE_FORMAT, *("#,##0" + ("." + "0" * n if n else "") for n in SHOWN_DIGITS)]
_STYLES = (f'{_HEAD}<styleSheet xmlns="{_MAIN}"><numFmts count="{len(_NUMBER_FORMATS)}">'
           + "".join(f'<numFmt numFmtId="{164 + i}" formatCode="{code}"/>' for i, code in enumerate(_NUMBER_FORMATS))
           + '</numFmts><fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
           '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/>'
           '</fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           f'<cellXfs count="{1 + len(_NUMBER_FORMATS)}"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           + "".join(f'<xf numFmtId="{164 + i}" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
                     for i in range(len(_NUMBER_FORMATS)))
           + '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
           '</styleSheet>')
_ROOT_RELS = (f'{_HEAD}<Relationships xmlns="{_PACKAGE_REL}"><Relationship Id="rId1" Type="{_REL}/officeDocument" '
              f'Target="xl/workbook.xml"/><Relationship Id="rId2" Type="{_PACKAGE_REL}/metadata/core-properties" '
              'Target="docProps/core.xml"/></Relationships>')
# the zip entries' time: fixed (as XlsxWriter's), so the same cells and creation time give the same bytes;
# 1980-01-01 00:00 in MS-DOS date and time fields
_DOS_DATE, _DOS_TIME = (1980 - 1980) << 9 | 1 << 5 | 1, 0
_EXCEL_EPOCH = dt.datetime(1899, 12, 31)
# what Excel escapes as _xHHHH_ in a text: control characters, and a literal "_xHHHH_" (its "_" as _x005F_)
_LITERAL_ESCAPE = re.compile("(_x[0-9a-fA-F]{4}_)")
_CONTROL = re.compile(r"([\x00-\x08\x0b-\x1f])")
_SPECIAL = re.compile(r"[&<>_\x00-\x08\x0b-\x1f]")
_INFINITE = frozenset([float("inf"), float("-inf")])  # no Excel number

# What a column holds (``_cell_kind``): its cells then take one formatting path, without a type test per cell
_TEXT, _NUMBER, _BOOL, _ANY = "text", "number", "bool", "any"


def write(path: Path, sheets: list[tuple[str, list[str], list[list]]], created: dt.datetime) -> Path:
    """Write ``sheets`` (name, column headers, the cells as one list per column) to ``path``: a header row,
    then the cells; None, NaN and "" are empty cells. ``created``: the workbook's creation time (UTC)."""
    names = [name for name, _, _ in sheets]
    if len(set(names)) != len(names):
        raise ValueError(f"sheet names must differ: {names}")  # Excel refuses a workbook with two
    numbers = range(1, len(sheets) + 1)
    sheet_types = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{_TYPE}.worksheet+xml"/>'
                          for n in numbers)
    parts = {
        "[Content_Types].xml": (
            f'{_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
            f'<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" '
            f'ContentType="{_TYPE}.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="{_TYPE}.styles+xml"/>'
            f'<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.'
            f'core-properties+xml"/>{sheet_types}</Types>'),
        "_rels/.rels": _ROOT_RELS,
        "docProps/core.xml": (
            f'{_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/'
            'core-properties" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/'
            f'XMLSchema-instance"><dcterms:created xsi:type="dcterms:W3CDTF">{created:%Y-%m-%dT%H:%M:%SZ}'
            '</dcterms:created></cp:coreProperties>'),
        "xl/workbook.xml": (
            f'{_HEAD}<workbook xmlns="{_MAIN}" xmlns:r="{_REL}"><sheets>'
            + "".join(f'<sheet name="{_attribute(name)}" sheetId="{n}" r:id="rId{n}"/>' for n, name in zip(numbers, names))
            + "</sheets></workbook>"),
        "xl/_rels/workbook.xml.rels": (
            f'{_HEAD}<Relationships xmlns="{_PACKAGE_REL}">'
            + "".join(f'<Relationship Id="rId{n}" Type="{_REL}/worksheet" Target="worksheets/sheet{n}.xml"/>'
                      for n in numbers)
            + f'<Relationship Id="rId{len(sheets) + 1}" Type="{_REL}/styles" Target="styles.xml"/></Relationships>'),
        "xl/styles.xml": _STYLES,
        **{f"xl/worksheets/sheet{n}.xml": _sheet(columns, values) for n, (_, columns, values) in zip(numbers, sheets)},
    }
    Path(path).write_bytes(_zip(parts))  # one write: the package is built in memory (~12 KB a page)
    return path


def _zip(parts: dict[str, str]) -> bytes:
    """The zip archive of ``parts`` (name: XML text), deflated, byte for byte as ``zipfile`` wrote it with
    a ``ZipInfo(name, (1980, 1, 1, 0, 0, 0))`` per part (tests/unit/reports/test_downloads.py compares).

    Why not zipfile: its per-entry machinery (a compressor, a header written and rewritten with seeks, the
    writes to the file) was a third of the workbook's time; the six parts besides the sheets are the same
    on every town page, so their deflated bytes are computed once (``_deflated``)."""
    local, central = [], []
    offset = 0
    for name, text in parts.items():
        crc, size, data = _deflated(text) if not name.startswith("xl/worksheets/") else _deflate(text)
        encoded = name.encode("ascii")
        # version 2.0 needed, no flags, deflated, time, CRC, sizes, name length, no extra field
        fields = (20, 0, 0, 8, _DOS_TIME, _DOS_DATE, crc, len(data), size, len(encoded), 0)
        local += [struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", *fields), encoded, data]
        # central directory: made by version 2.0 on Unix (3), no comment, disk 0, mode rw------- (zipfile's)
        central += [struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, 3, *fields, 0, 0, 0, 0o600 << 16, offset),
                    encoded]
        offset += 30 + len(encoded) + len(data)
    directory = b"".join(central)
    end = struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts), len(directory), offset, 0)
    return b"".join(local) + directory + end


def _deflate(text: str) -> tuple[int, int, bytes]:
    """CRC-32, size and raw deflate stream (zipfile's compressor: default level, no zlib header) of ``text``."""
    data = text.encode("utf-8")
    return zlib.crc32(data), len(data), zlib.compress(data, zlib.Z_DEFAULT_COMPRESSION, -15)


@functools.lru_cache(maxsize=64)
def _deflated(text: str) -> tuple[int, int, bytes]:
    """``_deflate`` of a part that recurs (content types, workbook, styles, core properties of the same
    sheet names and creation time on every town page): compressed once per run."""
    return _deflate(text)


def _cell_kind(values: list) -> str:
    """``_TEXT`` (str or None), ``_NUMBER`` (int, float or None; NaN is a missing float), ``_BOOL`` (bool or
    None), else ``_ANY`` (dates, numpy scalars, mixed types: each cell by its own type, ``_any_cell``)."""
    types = {float if issubclass(t, float) else t for t in {type(v) for v in values}}  # a download's Shown too
    types.discard(type(None))
    if types <= {str}:
        return _TEXT
    if types <= {int, float}:  # exact types: a bool is not an int here
        return _NUMBER
    if types == {bool}:
        return _BOOL
    return _ANY


def _sheet(columns: list[str], values: list[list]) -> str:
    """The worksheet XML: the header row and the cells (``values``: one list per column, all of the same
    length), a row element only for a row with cells."""
    letters = [xl_col_to_name(column) for column in range(len(columns))]
    count = len(values[0]) if values else 0
    size = f":{letters[-1]}{count + 1}" if columns else ""  # columns come from the rows: no header-only table
    out = [f'{_HEAD}<worksheet xmlns="{_MAIN}"><dimension ref="A1{size}"/><sheetData>']
    if columns:
        out.append('<row r="1">' + "".join(_text(f"{letter}1", str(header)) for letter, header in zip(letters, columns))
                   + "</row>")
    numbers = range(2, count + 2)
    # column by column (one kind test per column, not per cell), then joined row by row
    cells = [_column(letter, column, numbers) for letter, column in zip(letters, values)]
    out += [f'<row r="{number}">{row}</row>' for number, row in zip(numbers, map("".join, zip(*cells))) if row]
    out.append("</sheetData></worksheet>")
    return "".join(out)


def _column(letter: str, values: list, numbers: range) -> list[str]:
    """The cells of one column (``numbers``: the row numbers of ``values``), "" for an empty cell:
    None, NaN and an empty text (as XlsxWriter's write made it)."""
    kind = _cell_kind(values)
    pairs = zip(numbers, values)
    if kind is _TEXT:
        texts = [v for v in values if v]
        # the usual column: nothing to escape (one search over all its texts), no blanks at the ends; the
        # cells then as _text writes them, without its tests per cell
        if _SPECIAL.search("".join(texts)) is None and all(v.strip() == v for v in texts):
            return [f'<c r="{letter}{n}" t="inlineStr"><is><t>{v}</t></is></c>' if v else "" for n, v in pairs]
        return [_text(f"{letter}{n}", v) if v else "" for n, v in pairs]
    if kind is _NUMBER:
        if _INFINITE.intersection(values):  # (None and NaN are in no set of floats equal to them)
            next(_number(f"{letter}{n}", v) for n, v in pairs if v in _INFINITE)  # raises, naming the cell
        if any(hasattr(v, "digits") for v in values):  # a download's Shown numbers: each with its decimals' style
            return ["" if v is None or v != v else _number(f"{letter}{n}", v, _shown_style(v)) for n, v in pairs]
        return ["" if v is None or v != v else f'<c r="{letter}{n}"><v>{v:.16G}</v></c>' for n, v in pairs]
    if kind is _BOOL:
        return ["" if v is None else _boolean(f"{letter}{n}", v) for n, v in pairs]
    return ["" if v is None else _any_cell(f"{letter}{n}", v) for n, v in pairs]


def _text(ref: str, value: str) -> str:
    """An inline-string cell; leading or trailing blanks kept (xml:space), XML and control characters escaped."""
    if _SPECIAL.search(value):
        value = _CONTROL.sub(lambda m: f"_x{ord(m.group(1)):04X}_", _LITERAL_ESCAPE.sub(r"_x005F\1", value))
        value = value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    space = ' xml:space="preserve"' if value[:1].isspace() or value[-1:].isspace() else ""
    return f'<c r="{ref}" t="inlineStr"><is><t{space}>{value}</t></is></c>'


def _number(ref: str, value: float, style: str = "") -> str:
    """A number cell with XlsxWriter's 16 significant digits (so the values read back are the ones it wrote)."""
    if value in _INFINITE:
        raise ValueError(f"cell {ref}: Excel has no infinite number")
    return f'<c r="{ref}"{style}><v>{value:.16G}</v></c>'


def _shown_style(value) -> str:
    """The style attribute of a number with known decimals (``reports.downloads.Shown``: styles 2-6), else none."""
    digits = getattr(value, "digits", None)
    return f' s="{_SHOWN_STYLE + digits}"' if digits in SHOWN_DIGITS else ""


def _boolean(ref: str, value: bool) -> str:
    return f'<c r="{ref}" t="b"><v>{int(value)}</v></c>'


def _any_cell(ref: str, value) -> str:
    """A cell of a column of mixed or other types: nothing for missing values (NaN, NaT, NA), dates (and
    datetimes) as Excel dates, numpy scalars as their Python value, else by type; TypeError for anything else."""
    if type(value).__name__ in ("NaTType", "NAType"):  # pandas' missing time and value
        return ""
    if hasattr(value, "item") and not isinstance(value, dt.date):  # a numpy scalar: its Python value
        value = value.item()
    if value is None or (isinstance(value, float) and value != value):
        return ""
    if isinstance(value, bool):
        return _boolean(ref, value)
    if isinstance(value, (int, float)):
        return _number(ref, value, _shown_style(value))
    if isinstance(value, str):
        return _text(ref, value) if value else ""
    if isinstance(value, dt.date):
        return _number(ref, _excel_date(value), ' s="1"')
    raise TypeError(f"cell {ref}: no spreadsheet type for {type(value).__name__} {value!r}")


def _excel_date(value: dt.date) -> float:
    """Excel's serial number of a date or datetime (time zone dropped, as XlsxWriter's remove_timezone):
    days since 1899-12-31 plus the fraction of the day, one more from March 1900 (Excel's 29 February 1900)."""
    if isinstance(value, dt.datetime):
        moment = value.replace(tzinfo=None)
    else:
        moment = dt.datetime(value.year, value.month, value.day)
    delta = moment - _EXCEL_EPOCH
    serial = delta.days + (float(delta.seconds) + float(delta.microseconds) / 1e6) / (60 * 60 * 24)
    return serial + 1 if serial > 59 else serial


def _attribute(text: str) -> str:
    """``text`` escaped for an XML attribute value."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
