"""Find a town in the warehouse by AGS or by name (case-, umlaut- and suffix-insensitive), or suggest one.

A name resolves silently only when it is unambiguous: an exact name, or the start of exactly one
name up to a word boundary ("Dießen" → Dießen am Ammersee, "Oestrich" → Oestrich-Winkel) that no
other town has as a whole word. Anything else is answered with "Meinten Sie …?" and the candidates
(exit status 2): a prefix that ends inside a word ("Wittenberg" is not silently Wittenberge, since
Lutherstadt Wittenberg exists too), several matches ("Wentorf"), or a misspelling ("Möln" → Mölln).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

import duckdb

from cli.format import de_int
from cli.store import CliError
from reports.labels import de_list, display_name, kreis_de
from staging.crosswalk import REJECTED, RESTATING_KINDS
from warehouse.sql import literal
from warehouse.workdb import visible_relations

# Umlauts and ß as they are commonly typed without a German keyboard ("Moelln", "Diessen").
TRANSLITERATION = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})
MAX_SUGGESTIONS = 8
# difflib similarity (0-1) a misspelt name needs to be suggested: "moeln" vs "moelln" is 0.91
SUGGESTION_CUTOFF = 0.75
WORD_BOUNDARY = r"[\s\-/(),.]"


@dataclass(frozen=True)
class Town:
    ags: str
    name: str
    kreis_name: str
    kreis_designation: str | None = None  # the BKG's ('Landkreis', 'Kreisfreie Stadt', ...): kreis_de words it

    @property
    def kreis_de(self) -> str:
        """The Kreis as the town page says it: 'Landkreis Hof', 'kreisfreie Stadt Hof' ('Kreis Hof' said both)."""
        return kreis_de(self.kreis_name, self.ags[:5], self.kreis_designation)


class AmbiguousTown(CliError):
    """The name given does not pick one town; ``candidates`` lists the towns it may mean."""

    def __init__(self, query: str, candidates: list[Town], reason: str, example: str | None = None):
        """``example``: a candidate's full name that picks that town (``picking_name``); the advice names it, or the
        AGS alone: "Aach" is a whole name and the start of "Aach, Stadt", and the advice had said "den vollständigen
        Namen" there too (CLI sweep of 7 December 2026)."""
        self.candidates = candidates
        lines = [f"{reason} Meinten Sie:"]
        lines += [f"  {t.ags}  {display_name(t.name)}  ({t.kreis_de})" for t in candidates]  # as the pages name them
        lines.append(f"Geben Sie den AGS an oder den vollständigen Namen (z. B. „{example}“)." if example
                     else "Geben Sie den AGS an.")
        super().__init__("\n".join(lines))


def normalise(name: str) -> str:
    """Lower case, umlauts transliterated, Gemeindeverzeichnis suffix (', Stadt', ', M') dropped."""
    base = name.split(",")[0].casefold().translate(TRANSLITERATION)
    return re.sub(r"\s+", " ", base).strip()


def spelled(name: str) -> str:
    """The whole name with its suffix, case- and umlaut-insensitive, spaces collapsed."""
    return re.sub(r"\s+", " ", name.casefold().translate(TRANSLITERATION)).strip()


def full_names(name: str) -> set[str]:
    """The normalised name and, for "Wittenberg, Lutherstadt", also "lutherstadt wittenberg" as people say it."""
    base, _, suffix = name.partition(",")
    names = {normalise(name)}
    if suffix.strip():
        names.add(normalise(f"{suffix.strip()} {base}"))
    return names


def all_towns(con: duckdb.DuckDBPyConnection) -> list[Town]:
    """Every Gemeinde of the published warehouse, ordered by name."""
    # the Kreis's name and designation as the BKG writes them where the file has the Kreise, as the town page does
    # ('Landkreis Mühldorf a. Inn', not the register's 'Mühldorf a.Inn'); a bare register of names has only its own
    # names and no designation ('Kreis …')
    has_kreise = "kreise" in visible_relations(con)
    kreis = "substr(m.ags, 1, 5)"
    name = (f"coalesce((SELECT any_value(name) FROM kreise k WHERE k.ags = {kreis}), m.kreis_name)" if has_kreise
            else "m.kreis_name")
    designation = f"(SELECT any_value(designation) FROM kreise k WHERE k.ags = {kreis})" if has_kreise else "NULL"
    rows = con.execute(f"SELECT m.ags, m.name, {name}, {designation} FROM municipalities m "
                       "ORDER BY m.name, m.ags").fetchall()
    return [Town(*row) for row in rows]


# The territorial steps that carry a key on to today's (the crosswalk's RESTATING_KINDS, and a split's parts), leaving
# out those the crosswalk rejected (REJECTED): a former AGS points to today's Gemeinden. At most 20 steps (5 at most
# Germany-wide); a cycle of steps cannot run for ever.
_FOLLOWED = f"""kind IN ({", ".join(literal(k) for k in sorted({*RESTATING_KINDS, "split"}))})
          AND coalesce(plausibility, 'ok') NOT IN ({", ".join(literal(p) for p in sorted(REJECTED))})"""
SUCCESSORS_SQL = f"""
    WITH RECURSIVE walk(ags, depth) AS (
        SELECT to_ags, 1 FROM territorial_changes WHERE from_ags = $ags AND to_ags <> from_ags AND {_FOLLOWED}
        UNION
        SELECT c.to_ags, w.depth + 1 FROM walk w
        JOIN (SELECT * FROM territorial_changes WHERE to_ags <> from_ags AND {_FOLLOWED}) c ON c.from_ags = w.ags
        WHERE w.depth < 20)
    SELECT DISTINCT ags FROM walk ORDER BY ags
"""


def successors_de(con: duckdb.DuckDBPyConnection, ags: str, towns: dict[str, Town]) -> str:
    """'.' or, for a former AGS, ': ein früherer Schlüssel, heute 16063105 Eisenach, Stadt.' (today's Gemeinden its
    territory went to, through the warehouse's territorial_changes): `readiness profil 16056000` (Eisenach's key until
    2021) answered only that no Gemeinde has it (planner walkthrough of 7 December 2026)."""
    if "territorial_changes" not in visible_relations(con):
        return "."
    today = [towns[a] for (a,) in con.execute(SUCCESSORS_SQL, {"ags": ags}).fetchall() if a in towns]
    if not today:
        return "."
    return ": ein früherer Schlüssel, heute " + de_list([f"{t.ags} {display_name(t.name)}" for t in today]) + "."


def resolve(con: duckdb.DuckDBPyConnection, query: str) -> Town:
    """The one town meaning ``query``: an 8-digit AGS, an exact name, or an unambiguous start of a name.

    An exact name wins over longer names it prefixes ("Lanz" is Lanz, not Lanze).
    Raises AmbiguousTown with the candidates ("Meinten Sie …?"), or CliError when nothing is close.
    """
    towns = all_towns(con)
    query = query.strip()
    # seven digits: an AGS of Länder 01-09 whose leading zero a spreadsheet dropped (Mölln's 01053090 as 1053090)
    padded = re.fullmatch(r"\d{7}", query) is not None
    if padded:
        query = "0" + query
    if re.fullmatch(r"\d{8}", query):
        match = [t for t in towns if t.ags == query]
        if not match:
            raise CliError(f"Keine Gemeinde mit dem AGS {query} im Warehouse"
                           + (" (7 Ziffern: mit führender Null ergänzt)" if padded else "")
                           + successors_de(con, query, {t.ags: t for t in towns}))
        return match[0]
    wanted = normalise(query)
    if not wanted:
        raise CliError("Bitte einen Gemeindenamen oder einen 8-stelligen AGS angeben.")
    exact, picked = by_name(towns, query)
    if picked is not None:
        return picked
    if exact:
        raise AmbiguousTown(query, exact, f"'{query}' ist der Name von {len(exact)} Gemeinden.",
                            picking_name(towns, exact))
    at_boundary = [t for t in towns if re.match(re.escape(wanted) + WORD_BOUNDARY, normalise(t.name))]
    as_word = [t for t in towns if t not in at_boundary and contains_word(normalise(t.name), wanted)]
    if len(at_boundary) == 1 and not as_word:
        return at_boundary[0]
    if at_boundary or as_word:
        candidates = (at_boundary + as_word)[:MAX_SUGGESTIONS]
        raise AmbiguousTown(query, candidates, f"'{query}' passt zu mehreren Gemeinden.", picking_name(towns, candidates))
    close = suggestions(towns, wanted)
    if close:
        raise AmbiguousTown(query, close, f"Keine Gemeinde heißt '{query}'.", picking_name(towns, close))
    raise CliError(f"Keine Gemeinde heißt '{query}' (das Warehouse enthält {de_int(len(towns))} Gemeinden); "
                   "versuchen Sie den 8-stelligen AGS.")


def by_name(towns: list[Town], query: str) -> tuple[list[Town], Town | None]:
    """The towns named ``query`` (case-, umlaut- and suffix-insensitive) and the one the name picks: the only one, or
    the only one whose full name with its suffix it is ("Mölln, Stadt" among the two Möllns of Germany); None if not
    one."""
    wanted = normalise(query)
    exact = [t for t in towns if wanted in full_names(t.name)]
    # the full name as the register or as the pages write it: 'Arnstein, Stadt' is the title of the Bavarian
    # Arnstein's page (register 'Arnstein, St') and the register name of the one in Saxony-Anhalt, so it picks neither
    whole = [t for t in exact if "," in query and spelled(query) in {spelled(t.name), spelled(display_name(t.name))}]
    return exact, exact[0] if len(exact) == 1 else whole[0] if len(whole) == 1 else None


def picking_name(towns: list[Town], candidates: list[Town]) -> str | None:
    """The first candidate's full name that picks that very town among all ``towns``, for the advice of
    ``AmbiguousTown`` ("Wentorf bei Hamburg", "Mölln, Stadt"); None where only an AGS does ("Aach" beside "Aach, Stadt")."""
    return next((t.name for t in candidates if by_name(towns, t.name)[1] == t), None)


def contains_word(name: str, wanted: str) -> bool:
    """Whether ``wanted`` occurs in ``name`` as whole word(s): "wittenberg" in "lutherstadt wittenberg"."""
    return re.search(f"(^|{WORD_BOUNDARY})" + re.escape(wanted) + f"($|{WORD_BOUNDARY})", name) is not None


def suggestions(towns: list[Town], wanted: str) -> list[Town]:
    """Towns whose name is close to ``wanted`` (a typo such as "Möln"), or that start with it mid-word.

    Mid-word prefixes ("Wittenberg" → Wittenberge) are suggested, not taken: the user may mean a town
    whose full name it is. Misspellings are found with difflib, compared with the whole name and
    with its first word ("Diesen" → Dießen am Ammersee).
    """
    starts = [t for t in towns if normalise(t.name).startswith(wanted)]
    keys: dict[str, list[Town]] = {}
    for town in towns:
        name = normalise(town.name)
        for key in {name, re.split(WORD_BOUNDARY, name)[0]}:
            keys.setdefault(key, []).append(town)
    close = difflib.get_close_matches(wanted, list(keys), n=MAX_SUGGESTIONS, cutoff=SUGGESTION_CUTOFF)
    found = starts + [t for key in close for t in keys[key]]
    return list(dict.fromkeys(found))[:MAX_SUGGESTIONS]
