"""How the registers name Gemeinden and Kreise, and how the project writes them for planners.

The Gemeindeverzeichnis abbreviates three designations of Bavaria's Gemeinden ('Dießen am Ammersee, M'); the BKG
names the Kreise in its own spelling ('Mühldorf a. Inn', the register 'Mühldorf a.Inn') and with their designation
('Landkreis', 'Kreisfreie Stadt'). The town pages, the command line and the German exports write the names alike from
these facts, declared once here (the lowest layer, so that the exports and the pages can both read them); the
warehouse keeps the publishers' own names.
"""

from __future__ import annotations

import pandas as pd

# the designations the Gemeindeverzeichnis abbreviates in a Gemeinde's name, all of them Bavaria's: 386 Märkte, 263
# Städte and 29 Große Kreisstädte, 510 of them in the reference group (the other Länder's are written out: 'Mölln,
# Stadt'); the pages, the CLI and the German exports write them out (reports.labels.display_name)
ABBREVIATED_DESIGNATIONS = {"M": "Markt", "St": "Stadt", "GKSt": "Große Kreisstadt"}

# the BKG's designations of a Kreis that is a city, as a phrase writes them
CITY_DESIGNATIONS = {"Kreisfreie Stadt": "kreisfreie Stadt", "Stadtkreis": "Stadtkreis"}


def kreis_labels(names: pd.Series, designations: pd.Series) -> pd.Series:
    """Kreis names told apart where two Kreise share one: 'München (kreisfreie Stadt)' and 'München (Landkreis)'
    (22 such pairs Germany-wide, Ansbach to Würzburg; the commuting table listed 'München' twice, told apart only
    by the AGS); a unique name as it is. Both series indexed alike (by Kreis AGS)."""
    shared = names.duplicated(keep=False) & designations.notna()
    kind = designations.map(lambda d: CITY_DESIGNATIONS.get(d, d))
    return names.where(~shared, names + " (" + kind + ")")


def kreis_names(kreise: pd.DataFrame, towns: pd.DataFrame) -> pd.Series:
    """Kreis AGS -> name: the BKG's of every Kreis of ``kreise`` (ags, name), else the register's of ``towns``
    (kreis_ags, kreis_name)."""
    register = towns.drop_duplicates("kreis_ags").set_index("kreis_ags")["kreis_name"]
    return kreise.set_index("ags")["name"].combine_first(register)


def kreis_cells(kreise: pd.DataFrame, towns: pd.DataFrame) -> pd.Series:
    """Kreis AGS -> the Kreis as a table cell names it: ``kreis_names``, told apart where two share a name
    (``kreis_labels`` with the BKG's designation). The pages' tables, ``readiness profil``'s peer table and the
    German exports alike."""
    names = kreis_names(kreise, towns)
    return kreis_labels(names, kreise.set_index("ags")["designation"].reindex(names.index))
