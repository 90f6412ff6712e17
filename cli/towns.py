"""Find a town in the warehouse by AGS or by name (case-, umlaut- and suffix-insensitive, prefix allowed)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import duckdb

from cli.store import CliError

# Umlauts and ß as they are commonly typed without a German keyboard ("Moelln", "Diessen").
TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})


@dataclass(frozen=True)
class Town:
    ags: str
    name: str
    kreis_name: str


class AmbiguousTown(CliError):
    """Several towns match the name given; ``candidates`` lists them."""

    def __init__(self, query: str, candidates: list[Town]):
        self.candidates = candidates
        lines = [f"'{query}' matches {len(candidates)} towns; give the AGS or a longer name:"]
        lines += [f"  {t.ags}  {t.name}  (Kreis {t.kreis_name})" for t in candidates]
        super().__init__("\n".join(lines))


def normalise(name: str) -> str:
    """Lower case, umlauts transliterated, Gemeindeverzeichnis suffix (', Stadt', ', M') dropped."""
    base = name.split(",")[0].casefold().translate(TRANSLITERATION)
    return re.sub(r"\s+", " ", base).strip()


def all_towns(con: duckdb.DuckDBPyConnection) -> list[Town]:
    """Every Gemeinde of the published warehouse, ordered by name."""
    rows = con.execute("SELECT ags, name, kreis_name FROM municipalities ORDER BY name, ags").fetchall()
    return [Town(*row) for row in rows]


def resolve(con: duckdb.DuckDBPyConnection, query: str) -> Town:
    """The one town meaning ``query``: an 8-digit AGS, an exact name, or else a unique name prefix.

    An exact name wins over longer names it prefixes ("Lanz" is Lanz, not Lanze).
    Raises AmbiguousTown listing the candidates, or CliError when nothing matches.
    """
    towns = all_towns(con)
    query = query.strip()
    if re.fullmatch(r"\d{8}", query):
        match = [t for t in towns if t.ags == query]
        if not match:
            raise CliError(f"No Gemeinde with AGS {query} in the warehouse.")
        return match[0]
    wanted = normalise(query)
    exact = [t for t in towns if normalise(t.name) == wanted]
    candidates = exact or [t for t in towns if normalise(t.name).startswith(wanted)]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        raise AmbiguousTown(query, candidates)
    raise CliError(f"No town named '{query}' in the warehouse (it holds {len(towns)} Gemeinden); "
                   "try the 8-digit AGS.")
