"""Build the committed offline snapshot from the full publisher files in ../shared/data.

The snapshot keeps every publisher file in its own layout (same sheets, header rows,
separators, quoting, columns), cut down to the Gemeinden of the five pilot Kreise
(plus the Kreise that held the pilot towns before territorial reforms), and keeps
the Kreis, Land and national rows where the publisher gives them. The same parsers
read the snapshot and the Germany-wide files.

Usage:  python scripts/build_snapshot.py [--source-dir ../shared/data] [--out snapshot] [--only SOURCE_ID ...]
It rewrites snapshot/PROVENANCE.yaml with publisher, licence, attribution, vintage,
origin file and checksums of every entry. Workbooks and dBASE files carry their write
time, so a rebuild changes every file's bytes; ``--only`` rebuilds the named sources and
keeps the other files and their PROVENANCE entries as they are (e.g. after adding a source).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import re
import shutil
import sys
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import yaml
from openpyxl import Workbook
from python_calamine import CalamineWorkbook

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from sources import destatis_changes  # noqa: E402
from sources.destatis_gv import _cell, _locate_header  # noqa: E402  (reuse the parser's header logic)
from sources.inkar import CENTRAL_PLACE_PREFIX  # noqa: E402
from sources.registry import discover_releases, load_sources, with_release_year  # noqa: E402

PILOT_KREISE = {"01053", "06439", "09181", "12070", "14628"}
# Kreise that held pilot towns before reforms: Wittenberge 12037960 (1990),
# Dippoldiswalde 14290080 (before 2008).
HISTORIC_KREISE = {"12037", "14290"}
KEEP_KREISE = PILOT_KREISE | HISTORIC_KREISE
KEEP_LAENDER = {kreis[:2] for kreis in KEEP_KREISE}
FIXED_TIME = dt.datetime(2000, 1, 1)  # workbook metadata time, so rebuilds are byte-stable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source-dir", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    parser.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "snapshot")
    parser.add_argument("--only", nargs="+", metavar="SOURCE_ID", help="rebuild only these sources")
    args = parser.parse_args()
    source_dir, out = args.source_dir.resolve(), args.out.resolve()
    if not source_dir.is_dir():
        sys.exit(f"source directory {source_dir} not found: pass --source-dir with the full publisher files")
    writers = {
        "destatis_gemeindeverzeichnis": cut_gemeindeverzeichnis,
        "destatis_gebietsaenderungen": cut_change_list,
        "breitbandatlas": cut_breitbandatlas_csv,
        "inkar": cut_inkar_parquet,
        "bkg_vg": cut_vg_shapefile,
        "mobilfunk_monitoring": cut_mobilfunk_csv,
        "ba_commuting": cut_pendleratlas_json,
    }
    written = []
    specs = {k: v for k, v in load_sources().items() if not args.only or k in args.only}
    for source_id, spec in specs.items():
        for release in discover_releases(spec, source_dir):
            for release_file in release.files:
                target = out / release_file.relative_path
                target.parent.mkdir(parents=True, exist_ok=True)
                kept = writers[source_id](release_file.path, target)
                written.append((spec, release, release_file, target, kept))
                print(f"{release_file.relative_path}: {kept}")
    kept_entries = []
    if args.only:  # the other sources' files stay as they are, and so do their entries
        provenance = out / "PROVENANCE.yaml"
        previous = yaml.safe_load(provenance.read_text(encoding="utf-8"))["entries"] if provenance.exists() else []
        kept_entries = [e for e in previous if e["source_id"] not in specs]
    else:
        copy_extras(source_dir, out)
    # checksums only once every file (shapefile sidecars included) is written
    write_provenance(out, kept_entries + [provenance_entry(*item) for item in written])


def cut_gemeindeverzeichnis(origin: Path, target: Path) -> str:
    """Keep title/header/footnote rows and the records of the kept Kreise; small sheets whole."""
    workbook = CalamineWorkbook.from_path(str(origin))
    sheets: dict[str, list[list]] = {}
    kept_rows = 0
    for sheet_name in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(sheet_name).to_python()
        if sheet_name.startswith(("Gemeindedaten", "Onlineprodukt_Gemeinden")):
            header = _locate_header(rows, "snapshot", origin.name)
            start, fields = header["first_data_row"], header["fields"]
            body = [r for r in rows[start:] if _keep_gv_row(r, fields)]
            kept_rows = sum(1 for r in body if _cell(r[0]) == "60")
            rows = rows[:start] + body
        elif len(rows) > 300:
            continue  # large secondary sheets (Gemeindeverbandsdaten) are not read by the pipeline
        sheets[sheet_name] = rows
    _save_sheets(sheets, target)
    return f"{kept_rows} Gemeinde rows"


def _save_sheets(sheets: dict[str, list[list]], target: Path) -> None:
    """Write the cut sheets in order, with fixed timestamps so that a rebuild is byte-stable."""
    output = Workbook()
    output.remove(output.active)
    for sheet_name, rows in sheets.items():
        sheet = output.create_sheet(sheet_name)
        for row in rows:
            sheet.append([None if value == "" else value for value in row])
    output.properties.created = output.properties.modified = FIXED_TIME
    output.save(target)


def cut_change_list(origin: Path, target: Path) -> str:
    """Keep title, header and footnote rows and the changes in the Länder of the kept Kreise.

    No change of 2023 to February 2025 touches the kept Kreise themselves, so the Länder
    (01, 06, 09, 12, 14) are kept: the snapshot then carries real dissolutions, partial
    transfers and a split in the publisher's layout. Other sheets (Deckblatt) whole.
    """
    workbook = CalamineWorkbook.from_path(str(origin))
    sheets: dict[str, list[list]] = {}
    kept_rows = 0
    for sheet_name in workbook.sheet_names:
        rows = workbook.get_sheet_by_name(sheet_name).to_python()
        if sheet_name == "Gebietsaenderungen":
            start, columns = destatis_changes._locate_header(rows, "snapshot", origin.name)
            body = [r for r in rows[start + 2:] if _keep_change_row(r, columns)]
            kept_rows = sum(1 for r in body if _cell(r[1]) == "Gemeinde")
            rows = rows[:start + 2] + body
        sheets[sheet_name] = rows
    _save_sheets(sheets, target)
    return f"{kept_rows} Gemeinde rows (changes in Länder {', '.join(sorted(KEEP_LAENDER))})"


def _keep_change_row(row: list, columns: dict) -> bool:
    kennziffer = _cell(row[columns["change_id"]])
    if not re.fullmatch(r"\d{2}/\d{4}/\d{4}-?\w*", kennziffer):
        return True  # blank rows and footnotes keep their place in the layout
    keys = [kennziffer, *(_cell(row[columns[c]]) for c in ("from_ags", "to_ags") if columns[c] < len(row))]
    return any(key[:2] in KEEP_LAENDER for key in keys if key)


def _keep_gv_row(row: list, fields: dict) -> bool:
    satzart = _cell(row[0])
    if satzart not in {"10", "20", "30", "40", "50", "60"}:
        return True  # footnotes and blank rows keep their place in the layout
    land = _cell(row[fields["land"]]).zfill(2)
    if satzart in {"10", "20", "30"}:
        return any(k.startswith(land) for k in KEEP_KREISE)
    kreis = land + _cell(row[fields["rb"]]) + _cell(row[fields["kreis"]]).zfill(2)
    return kreis in KEEP_KREISE


def cut_breitbandatlas_csv(origin: Path, target: Path) -> str:
    """Keep the header line and, byte for byte, the lines of kept Gemeinden; Kreis/national files whole."""
    lines = origin.read_bytes().splitlines(keepends=True)
    key_of = lambda line: line.split(b";" if b";" in lines[0] else b",", 1)[0].strip(b'"')  # noqa: E731
    if not origin.name.startswith("gemeinde"):
        shutil.copyfile(origin, target)
        return f"{len(lines) - 1} rows (whole file)"
    body = [line for line in lines[1:] if key_of(line).decode().zfill(8)[:5] in KEEP_KREISE]
    target.write_bytes(b"".join([lines[0], *body]))
    return f"{len(body)} rows"


def cut_mobilfunk_csv(origin: Path, target: Path) -> str:
    """Kreis file: header plus, byte for byte, the lines of kept Kreise; national file whole."""
    lines = origin.read_bytes().splitlines(keepends=True)
    if origin.name.startswith("deutschland"):
        shutil.copyfile(origin, target)
        return f"{len(lines) - 1} rows (whole file)"
    body = [line for line in lines[1:] if line.split(b";", 1)[0].strip(b'"').decode() in KEEP_KREISE]
    target.write_bytes(b"".join([lines[0], *body]))
    return f"{len(body)} rows"


def cut_pendleratlas_json(origin: Path, target: Path) -> str:
    """Features (Kreise with their top-10 partner flows) of the kept Kreise; layout unchanged."""
    collection = json.loads(origin.read_text(encoding="utf-8"))
    collection["features"] = [f for f in collection["features"] if f["properties"]["ID"] in KEEP_KREISE]
    target.write_text(json.dumps(collection, ensure_ascii=False), encoding="utf-8")
    return f"{len(collection['features'])} Kreise"


def cut_inkar_parquet(origin: Path, target: Path) -> str:
    """Regions: Gemeindeverbände and central-place rows of kept Kreise plus every Kreis, Land and Germany;
    data rows for the same regions without the central-place rows."""
    table = pq.read_table(origin)
    if origin.name.startswith("_indikatoren"):
        shutil.copyfile(origin, target)
        return f"{table.num_rows} indicators (whole file)"
    regions = pq.read_table(origin.with_name(origin.name.replace("verkehr_und_erreichbarkeit", "_regionen")))
    regions = regions.to_pandas()
    codes = regions["kennziffer"].fillna(-1).astype(int).astype(str).str.zfill(8)
    keep = regions["raumbezug"].isin(["Kreise", "Bundesländer", "Bund"]) | (
        (regions["raumbezug"] == "Gemeindeverbände") & codes.str[:5].isin(KEEP_KREISE)
    )
    # The central-place function per Gemeinde (BBSR town type, reference group) is only in the
    # region table: keep those rows of the kept Kreise there; data rows stay as before.
    central = regions["raumbezug"].str.startswith(CENTRAL_PLACE_PREFIX) & codes.str[:5].isin(KEEP_KREISE)
    kept_ids = set(regions.loc[keep | (central if "raumbezug" in table.column_names else False), "id"])
    frame = table.to_pandas()
    frame = frame[frame["id" if "raumbezug" in frame else "region_id"].isin(kept_ids)]
    pq.write_table(pa.Table.from_pandas(frame, schema=table.schema, preserve_index=False), target)
    return f"{len(frame)} rows"


def cut_vg_shapefile(origin: Path, target: Path) -> str:
    """Gemeinde layer cut to the kept Kreise (written once, on the .shp); sidecars follow."""
    if origin.suffix != ".shp":
        return "written with the .shp"
    layer = pyogrio.read_dataframe(origin, encoding="UTF-8")
    for column in layer.columns.drop("geometry"):  # keep the publisher's text-typed date fields as text
        if str(layer[column].dtype).startswith("datetime"):
            layer[column] = layer[column].dt.strftime("%Y-%m-%d")
    layer = layer[layer["AGS"].str[:5].isin(KEEP_KREISE)]
    pyogrio.write_dataframe(layer, target, encoding="UTF-8")
    return f"{len(layer)} Gemeinden"


def copy_extras(source_dir: Path, out: Path) -> None:
    """Files no parser reads yet but the snapshot should carry: Kreis/Land layers and the BKG licence note."""
    for name in ["VG5000_KRS", "VG5000_LAN"]:
        for suffix in [".shp", ".shx", ".dbf", ".prj", ".cpg"]:
            shutil.copyfile(source_dir / "bkg-vg5000-2021" / f"{name}{suffix}", out / "bkg-vg5000-2021" / f"{name}{suffix}")
    note = "bkg-vg5000-2021/quellenvermerk_datenlizenz_deutschland.txt"
    shutil.copyfile(source_dir / note, out / note)


def provenance_entry(spec, release, release_file, target: Path, kept: str) -> dict:
    return {
        "file": release_file.relative_path,
        "source_id": spec.source_id,
        "publisher": spec.publisher,
        "licence": spec.licence,
        "licence_url": spec.licence_url,
        "attribution": with_release_year(spec.attribution, release.vintage),
        "vintage": release.vintage,
        "origin_file": f"shared/data/{release_file.relative_path}",
        "origin_sha256": release_file.sha256,
        "sha256": hashlib.sha256(target.read_bytes()).hexdigest(),
        "kept": kept,
    }


def write_provenance(out: Path, entries: list) -> None:
    header = {
        "description": "Offline snapshot of real publisher files, cut down to the Gemeinden of the five pilot "
                       "Kreise (01053, 06439, 09181, 12070, 14628) and the Kreise that held pilot towns before "
                       "reforms (12037, 14290); Kreis, Land and national rows are kept where the publisher gives "
                       "them. Layouts are the publishers' own. Built by scripts/build_snapshot.py.",
        "modification_note": "Daten verändert: Auszug (subset of rows) of the original files.",
        "pilot_kreise": sorted(PILOT_KREISE),
        "historic_kreise": sorted(HISTORIC_KREISE),
        "entries": sorted(entries, key=lambda e: e["file"]),
    }
    (out / "PROVENANCE.yaml").write_text(yaml.safe_dump(header, allow_unicode=True, sort_keys=False), encoding="utf-8")


if __name__ == "__main__":
    pd.set_option("mode.copy_on_write", True)
    main()
