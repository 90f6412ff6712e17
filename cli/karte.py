"""`readiness karte`: only the maps (atlas SVGs for print, interactive karte.html), without the town pages."""

from __future__ import annotations

from pathlib import Path

from cli.report import _builder, default_out_dir
from cli.store import open_warehouse, warehouse_path


def build_karte(out_dir: Path | None) -> list[Path]:
    """Write the atlas and the interactive map into the reports folder; returns the paths written.

    Town reports already in the folder are linked from the map; build them with `readiness report --all`."""
    published = warehouse_path()
    open_warehouse(published, current=True).close()  # a clear message: missing, or too old
    from reports.data import load
    from reports.webmap import build_maps

    return build_maps(load(published), out_dir or default_out_dir(_builder()))
