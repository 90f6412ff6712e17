"""`readiness profil <Gemeinde>`: a town's index, rank band, pillars, latest indicators and peers in the terminal,
in German as the town pages (labels, notes and numbers from reports.labels and the typed columns)."""

from __future__ import annotations

import math
import sys

import duckdb
import pandas as pd
from rich.console import Console
from rich.table import Table

from cli.format import de_int, de_number, de_rank_band, de_score, de_signed, is_missing, markup_text
from cli.store import require_views
from cli.towns import Town
from indicators import flags
from indicators.peers import FEATURE_DATES
from reports.context import (DECIMALS, RANK_BAND_DECIMALS_DE, ZERO_DE, comparability, headline_row, imputation_de,
                             last_scored_before, missing_everywhere, missing_excluded, not_comparable_de, pillar_notes,
                             quality_de, rank_band_fractional, records, scored_indicators, unscored_years)
from reports.data import (PEERS, PILLAR_INDICATORS, SCORED_INDICATORS, TIED_TOWNS, UNSCORED_VALUES,  # as the pages
                          pillar_indicators)
from reports.labels import (NO_PEERS_DE, PILLARS, data_date_line, date_de, de_list, display_name,
                            imputed_share_of_score, kreis_cell_name, peer_dates_sentence_de, pillar_coverage,
                            pillar_label, score_gap, source_label, unit_label, vintage_label)
from warehouse.exports import export_kreis_cells  # the Kreis as the pages' tables and the exports name it
from warehouse.workdb import relation_columns, visible_relations

HISTORY_SQL = f"""
    SELECT period, score, rank, compared_towns, rank_p05, rank_p95, score_p05, score_p95,
           {', '.join(PILLARS)}, imputed_share, provisional, period_provisional, missing_pillars, omitted_pillars,
           uncompared_pillars, method_version, tied_towns, in_reference_group, reference_group
    FROM (SELECT *, {TIED_TOWNS} FROM town_index_history) WHERE ags = ? ORDER BY period
"""

# What each index period rests on: per source the oldest reference date of the inputs (index_data_dates).
DATES_SQL = """
    SELECT period, pillar, source_id, oldest_reference_date FROM index_data_dates WHERE ags = ? ORDER BY period
"""

INDICATOR_COLUMNS = ["value", "unit", "source_id", "vintage", "reference_date", "imputed", "territorial_change",
                     "method_break", "source_level", "base_period", "excluded_reason"]

# Per indicator the row of the latest period, carried-forward or not (the flag says which), and whether the published
# score rests on it (town_profile: the latest value may be of a provisional year or an older one than the ranking's)
INDICATORS_SQL = f"""
    SELECT pillar, label, indicator_id, period, period_provisional, ranking_period, in_published_score,
           {", ".join(INDICATOR_COLUMNS)}
    FROM town_profile
    WHERE ags = ?
    ORDER BY pillar, indicator_id
"""

# The values of the headline's period, as the town page shows them, each marked whether the score rests on it (the
# warehouse's view score_inputs: the year has a score, the value no excluded_reason, its pillar is counted): the
# latest rows alone were of the provisional year, so every row read "im Index 2021: nein" beside the values the 2021
# score rests on (review of 6 December 2026)
PERIOD_INDICATORS_SQL = f"""
    SELECT c.pillar, c.label, v.indicator_id, v.period, $provisional AS period_provisional,
           $period AS ranking_period, s.indicator_id IS NOT NULL AS in_published_score,
           {", ".join(f"v.{column}" for column in INDICATOR_COLUMNS)}
    FROM indicator_values v JOIN indicator_catalogue c USING (indicator_id)
    LEFT JOIN score_inputs s ON s.ags = v.ags AND s.period = v.period AND s.indicator_id = v.indicator_id
    WHERE v.ags = $ags AND v.period = $period
    ORDER BY c.pillar, v.indicator_id
"""

PEERS_SQL = """
    SELECT p.rank, m.name, m.kreis_name, p.peer_ags, p.similarity, p.period, p.score, p.peer_score, p.gap_score
    FROM peer_towns p JOIN municipalities m ON m.ags = p.peer_ags
    WHERE p.ags = ? ORDER BY p.rank
"""


def fmt(value, digits: int = 1) -> str:
    """A number for display; missing values (NULL, NaN) as an en dash, never as 0."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if isinstance(value, float):
        return de_number(value, digits)  # German: 68,9 and 1.234,5
    return str(value)


def data_dates(dates: pd.DataFrame, period) -> str:
    """'Breitband 06/2021, Pendler 2019, Bevölkerung 31.12.2023': the data an index period rests on."""
    rows = dates[dates["period"] == period]
    return data_date_line(zip(rows["pillar"], pd.to_datetime(rows["oldest_reference_date"])))


def print_profile(con: duckdb.DuckDBPyConnection, town: Town, console: Console | None = None) -> None:
    """Print the profile of ``town`` from the published warehouse."""
    console = console or Console(width=None if sys.stdout.isatty() else 160)  # a file or pipe: no 80-column cut
    require_views(con, ["score_inputs"])  # an older file: created for the session (cli/store.py), or a clear error
    history = con.execute(HISTORY_SQL, [town.ags]).df()
    # the Kreis as the town page says it ('Landkreis Prignitz', 'kreisfreie Stadt Kiel'), not 'Kreis' for every kind
    # the name as the town page writes it ('Dießen am Ammersee, Markt', not the register's '…, M'); either finds it
    name = markup_text(display_name(town.name))
    console.print(f"[bold]{name}[/bold]  AGS {town.ags}  {markup_text(town.kreis_de)}")
    # the town page's rule and period: a copy of the rule here led a town scored in 2018 and in a provisional year,
    # but not in the published one, with 2018, and its page with the provisional year
    published = con.execute("SELECT period FROM published_period").fetchone()[0]
    rows = records(history)
    latest = headline_row(rows, published)
    dates = con.execute(DATES_SQL, [town.ags]).df()
    if latest is None:
        console.print("Für diese Gemeinde liegen keine Indexwerte vor.")  # the town page's words; values may follow
    else:
        scored = con.execute(PERIOD_INDICATORS_SQL, {"ags": town.ags, "period": int(latest["period"]),
                                                     "provisional": bool(latest.get("period_provisional"))}).df()
        console.print(headline_text(latest, data_dates(dates, latest["period"]),
                                    last_scored_before(rows, latest["period"]),
                                    set(scored.loc[scored["value"].notna(), "pillar"])))
        newer = history[(history["period"] > latest["period"]) & history["score"].notna()]
        if not newer.empty:
            row = newer.iloc[-1]
            console.print(f"Vorläufig {int(row['period'])}: Index {de_score(row['score'])}, "
                          f"{fmt(100 * row['imputed_share'], 0)} % des Gewichts der Eingangswerte fortgeschrieben "
                          f"(Datenstand: {data_dates(dates, row['period']) or '–'}); nicht als neuester Stand "
                          f"veröffentlicht.")
        usual = pillar_indicators(con.execute(PILLAR_INDICATORS, {"pillars": PILLARS}).df())
        console.print(pillar_table(latest, coverage_notes(scored, usual.get(int(latest["period"]), {}))))
        method = current_method(con, rows)
        console.print(history_table(history, *not_comparable(con, town, method, rows, latest["period"]),
                                    band_noted=rank_band_fractional(latest), usual=usual,
                                    indicators=unscored_values(con, town, method)))
    newest = con.execute(INDICATORS_SQL, [town.ags]).df()
    if latest is None:
        console.print(indicator_table(newest))
    else:
        shown, elsewhere = split_by_period(scored, newest, int(latest["period"]))
        console.print(indicator_table(shown, f"Indikatorwerte {int(latest['period'])}"))
        if not elsewhere.empty:
            console.print(indicator_table(elsewhere, "Werte anderer Jahre", in_index=False))
    peers = con.execute(PEERS_SQL, [town.ags]).df()
    console.print(peer_table(peers, export_kreis_cells(con)) if not peers.empty else NO_PEERS_DE)  # empty said nothing
    dates = peer_dates(con, town)
    if dates:
        console.print(markup_text(dates))


def peer_dates(con: duckdb.DuckDBPyConnection, town: Town) -> str | None:
    """The town page's sentence on the dates of the structure features the peers' similarity rests on; None for a file
    published before peer_towns had them (``profil`` reads older files) or a town without peers."""
    if not set(FEATURE_DATES) <= set(relation_columns(con, "peer_towns")):
        return None
    peers = records(con.execute(f"SELECT * FROM ({PEERS}) WHERE ags = ?", [town.ags]).df())
    return peer_dates_sentence_de(display_name(town.name), peers)


def headline_text(row: dict, dates: str = "", last_scored: dict | None = None,
                  with_values: set[str] | None = None) -> str:
    """The headline: index with its data dates, rank among the compared towns and the Monte Carlo band; without a
    score, why (the pillars without a value the index scores) and ``last_scored``, the newest scored row before.
    ``with_values``: the pillars the town has a value of in the period, scored or not (None: not known); a missing
    pillar without one has nothing to see in the indicator table (Tangstedt: INKAR lists it without values)."""
    text = f"Index {int(row['period'])}: [bold]{de_score(row['score'])}[/bold]"
    if pd.notna(row["rank"]):
        shared = int(row.get("tied_towns") or 0) - 1  # towns shown with the same score share the rank
        tie = (f" (gleichauf mit {'einer weiteren Gemeinde' if shared == 1 else f'{shared} weiteren Gemeinden'})"
               if shared > 0 else "")
        text += (f", Rang {de_int(row['rank'])} von {de_int(row['compared_towns'])}{tie} "  # 3.258, as the band
                 f"(Band 5–95 %: Rang {de_rank_band(row['rank_p05'], row['rank_p95'])}, "
                 f"Index {de_score(row['score_p05'])}–{de_score(row['score_p95'])})")
        if rank_band_fractional(row):  # as the page: '420,1' read as a rank puzzles
            text += f"\nRangband: {RANK_BAND_DECIMALS_DE}"
    elif not row.get("in_reference_group", True):  # as the town page: scored, but ranked only within the group
        text += (f"; kein Rang: die Gemeinde gehört nicht zur Vergleichsgruppe "
                 f"({markup_text(row['reference_group'])})")
    text += f"\nDatenstand: {dates or '–'}"
    share = imputed_share_of_score(row)  # none without a score
    if share is not None:
        text += f" (fortgeschrieben: {fmt(100 * share, 0)} % des Gewichts der Eingangswerte)"
    ids = flags.pillar_ids(row["missing_pillars"])
    missing = [pillar_label(p) for p in ids]
    if missing:  # no value, or values the index does not score (a territorial change): the indicator table says
        without = with_values is not None and not set(ids) & with_values  # no row of any of them to point to
        text += (f"\nKein Gesamtwert für {int(row['period'])}: kein bewertbarer Wert für {de_list(missing)} "
                 + ("(für diese Säulen hat die Gemeinde keine Werte)." if without
                    else "(fehlend oder nicht bewertet, siehe Indikatoren)."))
    if pd.isna(row["score"]) and last_scored is not None:  # as the town page
        text += (f"\nLetzter bewerteter Stand: {int(last_scored['period'])} mit {de_score(last_scored['score'])} "
                 "Punkten.")
    text += "".join(f"\nHinweis: {note}." for note in pillar_notes(row["omitted_pillars"], row["uncompared_pillars"]))
    return text + f"\nMethodenversion {row['method_version']}"


def coverage_notes(scored: pd.DataFrame, usual: dict[str, int]) -> dict[str, str]:
    """The town page's note on a pillar resting on fewer indicators than the period's usual ones
    (``reports.labels.pillar_coverage``); ``scored``: the town's indicator rows of the period, ``usual``: that
    period's ``pillar_indicators``."""
    return pillar_coverage(scored.loc[scored["excluded_reason"].isna() & scored["value"].notna(), "indicator_id"],
                           usual)


def pillar_table(row: dict, coverage: dict[str, str] | None = None) -> Table:
    """The pillar scores (0–100) of the headline period, with the town page's note where a scored pillar rests on
    fewer indicators than usual (``coverage``)."""
    table = Table(title=f"Säulen {int(row['period'])}")
    table.add_column("Säule")
    table.add_column("Wert (0–100)", justify="right")
    table.add_column("Hinweis")
    for pillar in PILLARS:
        note = (coverage or {}).get(pillar) if not is_missing(row[pillar]) else None
        table.add_row(pillar_label(pillar), fmt(row[pillar]), markup_text(note or ""))
    return table


def not_comparable(con: duckdb.DuckDBPyConnection, town: Town, method: str | None, rows: list[dict],
                   headline) -> tuple[dict[int, str], int | None]:
    """``reports.context.comparability`` of the town's history, as its page marks the years (the page said 2018 is no
    time comparison with 2021, the CLI showed 40,8 -> 48,1 unmarked; planner walkthrough of 7 December 2026); the
    scored indicators read for this town alone (SCORED_INDICATORS of ``method``, ``current_method``)."""
    scored = records(con.execute(f"SELECT * FROM ({SCORED_INDICATORS}) WHERE ags = $ags",
                                 {"pillars": list(PILLARS), "mv": method, "ags": town.ags}).df())
    return comparability(scored_indicators(scored, rows), rows, headline)


def unscored_values(con: duckdb.DuckDBPyConnection, town: Town, method: str | None) -> list[dict]:
    """The town's values of the missing pillars of its years without a score (reports/data.py UNSCORED_VALUES of
    ``method``, as its page reads them): why the index cannot score values the town has."""
    return records(con.execute(f"SELECT * FROM ({UNSCORED_VALUES}) WHERE ags = $ags",
                               {"mv": method, "ags": town.ags}).df())


def current_method(con: duckdb.DuckDBPyConnection, rows: list[dict]) -> str | None:
    """The latest publish's method (the view current_method; a file without it: the method of the history ``rows``)."""
    row = con.execute("SELECT method_version FROM current_method").fetchone() \
        if "current_method" in visible_relations(con) else None
    return row[0] if row else next((r["method_version"] for r in rows if r.get("method_version")), None)


def history_table(history: pd.DataFrame, not_comparable: dict[int, str] | None = None, reference: int | None = None,
                  band_noted: bool = True, usual: dict | None = None, indicators: list[dict] | None = None) -> Table:
    """Score, rank and band for every index period; below, as on the town page, why a year has no score (``usual``:
    the ``pillar_indicators`` that tell whether any town has the pillars then; ``indicators``: the town's values
    with pillar, period and excluded_reason, which tell values the index cannot score), which scored years rest on
    other indicators than ``reference`` (``not_comparable``: ``comparability``), and why a rank band has decimals where
    the headline did not say it (``band_noted``)."""
    not_comparable = not_comparable or {}
    unscored = unscored_years([{"period": int(r["period"]), "score": None if is_missing(r["score"]) else r["score"],
                                "missing": [pillar_label(p) for p in missing],
                                "missing_everywhere": missing_everywhere(missing, r["period"], usual),
                                "missing_excluded": missing_excluded(missing, r["period"], indicators)}
                               for _, r in history.iterrows() for missing in [flags.pillar_ids(r["missing_pillars"])]])
    notes = [u["sentence"] for u in unscored]
    notes += [f"{period} {text}." for period, text in sorted(not_comparable.items())]
    if not_comparable:  # the page's words for its marker
        notes.append(f"„nicht vergleichbar“ heißt: {not_comparable_de(reference)}")
    if not band_noted and any(rank_band_fractional(r) for r in records(history)):
        notes.append(f"Rangband: {RANK_BAND_DECIMALS_DE}.")
    table = Table(title="Indexverlauf", caption=markup_text(" ".join(notes)) or None, caption_justify="left")
    for column in ["Jahr", "Index", "Rang", "von", "Rangband 5–95 %", "fortgeschr.", "vorläufig"]:
        table.add_column(column, justify="left" if column == "Jahr" else "right")
    for _, r in history.iterrows():
        share = imputed_share_of_score(r)  # none without a score
        ranked = pd.notna(r["rank"])  # "von" only beside a rank: a town outside the group is not among them
        year = f"{r['period']} nicht vergleichbar" if int(r["period"]) in not_comparable else str(r["period"])
        table.add_row(year, de_score(r["score"]), de_int(r["rank"]) if ranked else "–",
                      de_int(r["compared_towns"]) if ranked else "–", de_rank_band(r["rank_p05"], r["rank_p95"]),
                      "–" if share is None else f"{fmt(100 * share, 0)} %",
                      "ja" if r["provisional"] is True or r["provisional"] == 1 else "")
    return table


def split_by_period(scored: pd.DataFrame, newest: pd.DataFrame, period: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(``scored``: the rows of ``period``, the values of other years): the newest row of each indicator without a
    row in ``period`` (an old one that no longer counts, as the town page's ``indicators_elsewhere``), and of the
    others the newest row of a later period where it is another observation (not the same value carried forward
    into a provisional year). Neither stands in the period's table, beside the score, as its input."""
    same = newest.merge(scored[["indicator_id", "value", "reference_date", "vintage"]], how="left",
                        on="indicator_id", suffixes=("", "_scored"), indicator=True)
    carried = ((same["_merge"] == "both") & (same["value"] == same["value_scored"])
               & (same["reference_date"] == same["reference_date_scored"])
               & (same["vintage"] == same["vintage_scored"]))
    without = (same["_merge"] == "left_only") & (same["period"] != period)
    elsewhere = newest[(without | ((same["period"] > period) & ~carried)).to_numpy()]
    return scored.reset_index(drop=True), elsewhere.reset_index(drop=True)


def indicator_table(rows: pd.DataFrame, title: str = "Neueste Indikatorwerte", in_index: bool = True) -> Table:
    """Indicator values with their source, release, reference date and notes (German, from the typed columns as on
    the town pages), and (``in_index``) whether the published index rests on each: the latest value of most
    indicators is of a provisional year, some of an older one, while the headline is the published year's (review
    of 5 December: 2023 and 2018 values stood unmarked under "Index 2021")."""
    ranking = next((int(p) for p in rows["ranking_period"] if not is_missing(p)), None) if len(rows) else None
    in_index_column = f"im Index {ranking}" if ranking is not None else "im Index"
    caption = (f"„vorl.“: vorläufiges Jahr; „{in_index_column}“: der veröffentlichte Indexwert beruht auf diesem "
               "Wert (die Werte aller Jahre: Download indicator_history)") if in_index else (
        "Ältere Werte von Indikatoren ohne Wert in diesem Jahr und neuere Werte („vorl.“: vorläufiges Jahr); "
        "nicht im veröffentlichten Indexwert")
    table = Table(title=title, caption=caption)
    for column in ["Indikator", "Jahr", "Wert", "Einheit", "Quelle", "Stand", "Stichtag"] + (
            [in_index_column] if in_index else []) + ["Hinweis"]:
        # a word wider than its column breaks onto the next line ("fold") instead of ending in "…": the long labels
        # and notes lost their ends ("Bevölkerungsentwickl…", "…Bevölkerungsfortschr…") at 160 columns
        table.add_column(column, justify="right" if column in ("Jahr", "Wert") else "left", overflow="fold")
    for _, r in rows.iterrows():
        row = {k: (None if is_missing(v) else v) for k, v in r.items()}
        # what exactly 0 means (catalogue zero_de: "IC/ICE-Halt in der Gemeinde"), as the town page says beside it
        zero = ZERO_DE.get(r["indicator_id"], "") if row.get("value") == 0 else ""
        note = "; ".join(n for n in (zero, imputation_de(row), quality_de(row)) if n)
        year = f"{r['period']} vorl." if row.get("period_provisional") else str(r["period"])
        table.add_row(r["label"], year, fmt(r["value"], DECIMALS.get(r["indicator_id"], 2)),
                      unit_label(r["unit"]), source_label(r["source_id"]), vintage_label(r["vintage"]),
                      date_de(r["reference_date"], r["indicator_id"], r["source_id"]) or "–",  # or the year alone
                      *(["ja" if row.get("in_published_score") else "nein"] if in_index else []), note)
    return table


def peer_table(rows: pd.DataFrame, kreise: dict[str, str] | None = None) -> Table:
    """The structurally most similar towns, their scores and the gap (peer minus this town); each peer's Kreis as
    ``kreise`` names it (``warehouse.exports.export_kreis_cells``; else the register's name, 'Neustadt a.d.Waldnaab'
    for the BKG's 'Neustadt a.d. Waldnaab' which the page shows)."""
    table = Table(title="Vergleichsstädte (strukturell ähnlich)")
    for column in ["Nr.", "Stadt", "Kreis", "AGS", "Ähnlichkeit", "Jahr", "Index", "Abstand"]:
        table.add_column(column, justify="right" if column in ("Nr.", "Ähnlichkeit", "Jahr", "Index", "Abstand")
                         else "left")
    for _, r in rows.iterrows():
        kreis = kreis_cell_name((kreise or {}).get(r["peer_ags"][:5]), r["kreis_name"], r["peer_ags"][:5])
        table.add_row(str(r["rank"]), markup_text(display_name(r["name"])), markup_text(kreis), r["peer_ags"],
                      fmt(r["similarity"], 2),
                      fmt(None if pd.isna(r["period"]) else int(r["period"])), de_score(r["peer_score"]),
                      de_signed(score_gap(r["peer_score"], r["score"])))
    return table
