"""The Datenstand table names each source's newest release in time order, with its attribution year: a live
VG250 of 2025 beside the snapshot's VG5000 of 2021 is the current one, the annual register after the quarter's."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace

import pandas as pd

from reports.build import Renderer


def test_the_datenstand_names_the_newest_release_not_the_largest_id():
    releases = pd.DataFrame({
        "source_id": ["bkg_vg", "bkg_vg", "destatis_gemeindeverzeichnis", "destatis_gemeindeverzeichnis"],
        "vintage": ["vg250-2025-01-01", "vg5000-2021-01-01", "2025-Q2", "2025-12-31"],
        "ingested_at": [dt.datetime(2026, 12, 1)] * 4, "publisher": "p", "licence": "dl-de/by-2-0",
        "licence_url": None, "attribution": "a"})
    rows = {r["source_id"]: r for r in Renderer._releases(SimpleNamespace(data=SimpleNamespace(releases=releases)))}
    assert rows["bkg_vg"]["vintage"] == "vg250-2025-01-01" and "(2025)" in rows["bkg_vg"]["attribution_de"]
    assert rows["destatis_gemeindeverzeichnis"]["vintage"] == "2025-12-31"
    assert rows["bkg_vg"]["vintages"] == 2
