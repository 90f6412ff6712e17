"""`readiness profil` names Kreise as the town page does: the BKG's spelling ('Landkreis Mühldorf a. Inn', the
register writes 'Mühldorf a.Inn'), and in the peer table a name two Kreise share with its designation ('Osnabrück
(Landkreis)'); 89 Kreise are spelt differently in the register Germany-wide, 22 names are shared (session of 7
December 2026, afternoon). A file without the Kreise keeps the register's names."""

from __future__ import annotations

import duckdb
import pandas as pd

from cli.profile import peer_table
from warehouse.exports import export_kreis_cells as kreis_cells
from cli.towns import all_towns

MUNICIPALITIES = [("09183148", "Waldkraiburg, Stadt", "Mühldorf a.Inn"),
                  ("03459030", "Quakenbrück, Stadt", "Osnabrück"),
                  ("01053090", "Mölln, Stadt", "Herzogtum Lauenburg")]
KREISE = [("09183", "Mühldorf a. Inn", "Landkreis"), ("03459", "Osnabrück", "Landkreis"),
          ("03404", "Osnabrück", "Kreisfreie Stadt")]  # Mölln's Kreis 01053 missing: the register's name stays


def warehouse(with_kreise: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE municipalities (ags VARCHAR, name VARCHAR, kreis_name VARCHAR, kreis_ags VARCHAR)")
    con.executemany("INSERT INTO municipalities VALUES (?, ?, ?, ?)", [(*row, row[0][:5]) for row in MUNICIPALITIES])
    if with_kreise:
        con.execute("CREATE TABLE kreise (ags VARCHAR, name VARCHAR, designation VARCHAR)")
        con.executemany("INSERT INTO kreise VALUES (?, ?, ?)", KREISE)
    return con


def test_the_headline_kreis_is_the_bkg_s():
    towns = {town.ags: town.kreis_de for town in all_towns(warehouse())}
    assert towns == {"09183148": "Landkreis Mühldorf a. Inn", "03459030": "Landkreis Osnabrück",
                     "01053090": "Kreis Herzogtum Lauenburg"}
    assert {town.ags: town.kreis_de for town in all_towns(warehouse(False))}["09183148"] == "Kreis Mühldorf a.Inn"


def test_the_peer_table_names_the_kreis_as_the_page_does():
    con = warehouse()
    peers = pd.DataFrame({"rank": [1, 2, 3], "name": ["Waldkraiburg, Stadt", "Quakenbrück, Stadt", "Mölln, Stadt"],
                          "kreis_name": [k for _, _, k in MUNICIPALITIES],
                          "peer_ags": [a for a, _, _ in MUNICIPALITIES], "similarity": [0.8, 0.7, 0.6],
                          "period": [2021] * 3, "score": [50.0] * 3, "peer_score": [51.0, 49.0, 50.0]})
    assert list(peer_table(peers, kreis_cells(con)).columns[2].cells) == [
        "Mühldorf a. Inn", "Osnabrück (Landkreis)", "Herzogtum Lauenburg"]
    assert kreis_cells(warehouse(False)) == {}
    assert list(peer_table(peers).columns[2].cells) == [k for _, _, k in MUNICIPALITIES]
    # a peer without a Kreis name anywhere: the page's 'kein Kreis' or 'Kreis <AGS>', never an empty cell or "None"
    nameless = peers.assign(kreis_name=[None, None, None], peer_ags=["07000999", "09183148", "01053090"])
    assert list(peer_table(nameless, {}).columns[2].cells) == ["kein Kreis", "Kreis 09183", "Kreis 01053"]
