"""Exports of the published warehouse: Parquet, CSV and GeoPackage, written completely or not at all."""

from __future__ import annotations

import shutil

import duckdb
import geopandas
import pandas as pd
import pytest

from indicators.catalogue import load_catalogue
from warehouse import exports
from warehouse.exports import GEOPACKAGE, LATEST, PLANNER_VIEWS, export_planner_views

PILOTS = load_catalogue().pilot_towns


@pytest.fixture(scope="module")
def exported(snapshot_warehouse, tmp_path_factory):
    """One export of the snapshot warehouse: (export directory, returned counts)."""
    out_dir = tmp_path_factory.mktemp("exports")
    counts = export_planner_views(snapshot_warehouse, out_dir)
    return out_dir, counts


def view_count(con, view: str) -> int:
    return con.execute(f"SELECT count(*) FROM {view}").fetchone()[0]


@pytest.mark.parametrize("view", PLANNER_VIEWS)
def test_each_view_exported_with_the_view_row_count(exported, warehouse, view):
    out_dir, counts = exported
    latest = out_dir / LATEST
    expected = view_count(warehouse, view)
    assert expected > 0, f"{view} is empty in the snapshot warehouse: nothing to compare"
    parquet_rows = duckdb.sql(f"SELECT count(*) FROM read_parquet('{latest / (view + '.parquet')}')").fetchone()[0]
    csv = pd.read_csv(latest / f"{view}.csv", dtype=str, keep_default_na=False)
    assert parquet_rows == expected
    assert len(csv) == expected
    assert counts[f"{view}.parquet"] == counts[f"{view}.csv"] == expected
    columns = [row[0] for row in warehouse.execute(f"DESCRIBE {view}").fetchall()]
    assert list(csv.columns) == columns


def test_geopackage_has_the_pilots_with_the_warehouse_scores(exported, warehouse):
    out_dir, counts = exported
    towns = geopandas.read_file(out_dir / LATEST / GEOPACKAGE)
    assert towns.crs.to_epsg() == 4326
    assert len(towns) == counts[GEOPACKAGE]
    assert len(towns) == warehouse.execute("SELECT count(*) FROM municipalities WHERE in_reference_group").fetchone()[0]
    assert set(PILOTS) <= set(towns["ags"])
    pilots = towns[towns["ags"].isin(list(PILOTS))].set_index("ags")
    assert pilots.geometry.notna().all() and pilots.geometry.is_valid.all()
    for ags, row in pilots.iterrows():
        period, score, rank, method_version = warehouse.execute(
            "SELECT period, score, rank, method_version FROM town_index_history "
            "WHERE ags = ? AND score IS NOT NULL ORDER BY period DESC LIMIT 1", [ags]).fetchone()
        assert (row["period"], row["rank"], row["method_version"]) == (period, rank, method_version), ags
        assert row["score"] == pytest.approx(score, abs=1e-9), ags
        # the geometry is the town's own: its centre published by Destatis lies inside it
        lon, lat = warehouse.execute("SELECT lon, lat FROM municipalities WHERE ags = ?", [ags]).fetchone()
        assert row.geometry.buffer(0.01).contains(geopandas.points_from_xy([lon], [lat])[0]), ags


def test_latest_points_to_a_complete_export_and_old_ones_are_pruned(snapshot_warehouse, tmp_path):
    made = []
    for _ in range(exports.KEEP_EXPORTS + 2):
        export_planner_views(snapshot_warehouse, tmp_path)
        made.append((tmp_path / LATEST).resolve())
    kept = sorted(p for p in tmp_path.iterdir() if not p.name.startswith(".") and p.name != LATEST)
    assert kept == made[-exports.KEEP_EXPORTS:]
    assert (tmp_path / LATEST).is_symlink() and (tmp_path / LATEST).resolve() == made[-1]
    expected = {f"{view}.{suffix}" for view in PLANNER_VIEWS for suffix in ("parquet", "csv")} | {GEOPACKAGE}
    assert {p.name for p in made[-1].iterdir()} == expected
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "temporary files left behind"


def test_missing_view_is_an_error_naming_view_and_file(snapshot_warehouse, tmp_path, monkeypatch):
    monkeypatch.setattr(exports, "PLANNER_VIEWS", (*PLANNER_VIEWS, "no_such_view"))
    with pytest.raises(ValueError) as error:
        export_planner_views(snapshot_warehouse, tmp_path / "out")
    assert "no_such_view" in str(error.value) and str(snapshot_warehouse) in str(error.value)
    assert not (tmp_path / "out" / LATEST).exists()
    assert not list((tmp_path / "out").iterdir()), "a failed export left files behind"


def test_default_directory_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("READINESS_EXPORTS_DIR", str(tmp_path / "elsewhere"))
    assert exports.exports_dir() == tmp_path / "elsewhere"
    monkeypatch.delenv("READINESS_EXPORTS_DIR")
    assert exports.exports_dir() == exports.DEFAULT_EXPORTS_DIR


def test_town_without_geometry_is_exported_without_one(snapshot_warehouse, tmp_path):
    # on the full data some towns formed after the boundary vintage have no geometry (e.g. Langelsheim)
    copy = tmp_path / snapshot_warehouse.name
    shutil.copyfile(snapshot_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        ags = con.execute("SELECT min(ags) FROM municipalities WHERE in_reference_group AND NOT is_pilot").fetchone()[0]
        con.execute("DELETE FROM municipality_geometries WHERE ags = ?", [ags])
    counts = export_planner_views(copy, tmp_path / "out")
    towns = geopandas.read_file(tmp_path / "out" / LATEST / GEOPACKAGE).set_index("ags")
    assert len(towns) == counts[GEOPACKAGE] and ags in towns.index
    assert towns.loc[ags].geometry is None or towns.loc[ags].geometry.is_empty
    assert towns.drop(index=ags).geometry.notna().all()
