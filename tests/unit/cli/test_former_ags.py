"""A former AGS points to today's Gemeinden: `readiness profil 16056000` (Eisenach's key until 2021) answered only
"Keine Gemeinde mit dem AGS 16056000 im Warehouse." (planner walkthrough of 7 December 2026). The territorial steps
of the warehouse (territorial_changes) are followed through recodes, mergers and splits, not through a step the
crosswalk rejected."""

from __future__ import annotations

import duckdb
import pytest

from cli.store import CliError
from cli.towns import resolve

TOWNS = [("16063105", "Eisenach, Stadt", "Wartburgkreis"), ("16061118", "Dingelstädt, Stadt", "Eichsfeld"),
         ("16064071", "Unstruttal", "Unstrut-Hainich-Kreis"), ("09186113", "Baar-Ebenhausen", "Pfaffenhofen")]
STEPS = [("16056000", "16063105", "recode", "ok"),            # Eisenach, into the Wartburgkreis in 2021
         ("16056999", "16056000", "recode", "ok"),            # an older key of it: followed through both steps
         ("16064014", "16061118", "split", "official"), ("16064014", "16064071", "split", "official"),
         ("09186114", "09186113", "merger", "ok"),
         ("01999001", "16063105", "merger", "population_jump")]  # rejected by the crosswalk: not followed


def warehouse(with_steps: bool = True) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute("CREATE TABLE municipalities (ags VARCHAR, name VARCHAR, kreis_name VARCHAR)")
    con.executemany("INSERT INTO municipalities VALUES (?, ?, ?)", TOWNS)
    if with_steps:
        con.execute("CREATE TABLE territorial_changes (from_ags VARCHAR, to_ags VARCHAR, kind VARCHAR, "
                    "plausibility VARCHAR)")
        con.executemany("INSERT INTO territorial_changes VALUES (?, ?, ?, ?)", STEPS)
    return con


@pytest.mark.parametrize("ags, message", [
    ("16056000", "Keine Gemeinde mit dem AGS 16056000 im Warehouse: ein früherer Schlüssel, heute 16063105 Eisenach, "
                 "Stadt."),
    ("16056999", "…: ein früherer Schlüssel, heute 16063105 Eisenach, Stadt."),
    ("16064014", "…: ein früherer Schlüssel, heute 16061118 Dingelstädt, Stadt und 16064071 Unstruttal."),
    ("09186114", "…: ein früherer Schlüssel, heute 09186113 Baar-Ebenhausen."),
    ("01999001", "Keine Gemeinde mit dem AGS 01999001 im Warehouse."),
    ("99999999", "Keine Gemeinde mit dem AGS 99999999 im Warehouse."),
])
def test_a_former_key_names_todays_gemeinden(ags, message):
    with pytest.raises(CliError) as error:
        resolve(warehouse(), ags)
    assert str(error.value).endswith(message.removeprefix("…"))


def test_a_file_without_the_steps_says_only_that_the_key_is_unknown():
    with pytest.raises(CliError, match=r"^Keine Gemeinde mit dem AGS 16056000 im Warehouse\.$"):
        resolve(warehouse(False), "16056000")
