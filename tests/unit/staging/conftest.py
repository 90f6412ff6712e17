"""Shared fixtures of the staging tests."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def germany_2013_2021(full_data) -> SimpleNamespace:
    """The Germany-wide registers of 2013 and 2021 (``register``, with their territorial dates), their areas and
    populations (``values``), the VG5000 2021 boundaries with the BKG's WSK (``geometries``) and the crosswalk's steps
    between the registers with those boundaries, as the pipeline builds them (``steps``, undated). Read once per
    worker for the tests that only read them: four tests parsed them each (~3 s apiece)."""
    from sources import bkg_vg
    from sources.registry import discover_releases, load_sources
    from staging import crosswalk
    from tests.unit.indicators.test_unscored import registers

    register, values = registers(full_data, {"2013-12-31", "2021-12-31"})
    register = register.assign(territorial_date=register["vintage"].map(lambda v: dt.date(int(v[:4]), 12, 31)))
    [release] = [r for r in discover_releases(load_sources()["bkg_vg"], full_data) if "vg5000" in r.vintage]
    geometries = bkg_vg.parse_release(release)["geometries"]
    steps = crosswalk.build_steps(register, values[["ags", "vintage", "area_km2"]], pd.DataFrame(),
                                  values[["ags", "vintage", "population", "area_km2"]],
                                  geometries[["ags", "vintage", "geometry_wkb"]])
    return SimpleNamespace(register=register, values=values, geometries=geometries, steps=steps)
