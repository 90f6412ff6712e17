"""`readiness profile <town>`: a town's index, rank band, pillars, latest indicators and peers in the terminal."""

from __future__ import annotations

import math

import duckdb
import pandas as pd
from rich.console import Console
from rich.table import Table

from cli.format import de_number, de_score
from cli.towns import Town
from indicators.catalogue import load_catalogue
from reports.data import TIED_TOWNS  # how many towns share a rank, as the pages count them
from reports.labels import data_date_line, score_gap

PILLARS = ["digital_infrastructure", "commuting_potential", "demographic_dynamics", "local_work_infrastructure",
           "accessibility"]

HISTORY_SQL = f"""
    SELECT period, score, rank, compared_towns, rank_p05, rank_p95, score_p05, score_p95,
           {', '.join(PILLARS)}, imputed_share, provisional, period_provisional, missing_pillars, notes,
           method_version, tied_towns
    FROM (SELECT *, {TIED_TOWNS} FROM town_index_history) WHERE ags = ? ORDER BY period
"""

# What each index period rests on: per source the oldest reference date of the inputs (index_data_dates).
DATES_SQL = """
    SELECT period, pillar, source_id, oldest_reference_date FROM index_data_dates WHERE ags = ? ORDER BY period
"""

# Per indicator the row of the latest period, carried-forward or not (the flag says which).
INDICATORS_SQL = """
    SELECT c.pillar, c.label, v.indicator_id, v.period, v.value, v.unit, v.source_id, v.vintage,
           v.reference_date, v.imputation, v.quality_note
    FROM indicator_values v JOIN indicator_catalogue c USING (indicator_id)
    WHERE v.ags = ?
    QUALIFY row_number() OVER (PARTITION BY v.indicator_id ORDER BY v.period DESC) = 1
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


def band(low, high) -> str:
    """A 5–95 % rank band such as '2–18'."""
    if low is None or high is None or pd.isna(low) or pd.isna(high):
        return "–"
    return f"{round(low)}–{round(high)}"


def headline_row(history: pd.DataFrame) -> pd.Series | None:
    """The latest period published as "the latest" (scored, period not provisional: indicators/index.py),
    else the latest period with a score, else the latest period at all."""
    if history.empty:
        return None
    scored = history[history["score"].notna()]
    final = scored[~scored["period_provisional"].fillna(False).astype(bool)]
    for rows in (final, scored, history):
        if not rows.empty:
            return rows.iloc[-1]
    return None


def data_dates(dates: pd.DataFrame, period) -> str:
    """'Breitband 06/2021, Pendler 2019, Bevölkerung 31.12.2023': the data an index period rests on."""
    rows = dates[dates["period"] == period]
    return data_date_line(zip(rows["pillar"], pd.to_datetime(rows["oldest_reference_date"])))


def print_profile(con: duckdb.DuckDBPyConnection, town: Town, console: Console | None = None) -> None:
    """Print the profile of ``town`` from the published warehouse."""
    console = console or Console()
    history = con.execute(HISTORY_SQL, [town.ags]).df()
    console.print(f"[bold]{town.name}[/bold]  AGS {town.ags}  Kreis {town.kreis_name}")
    latest = headline_row(history)
    dates = con.execute(DATES_SQL, [town.ags]).df()
    if latest is None:
        console.print("No readiness index for this town (not in the reference group or no data).")
    else:
        console.print(headline_text(latest, data_dates(dates, latest["period"])))
        newer = history[(history["period"] > latest["period"]) & history["score"].notna()]
        if not newer.empty:
            row = newer.iloc[-1]
            console.print(f"Provisional {int(row['period'])}: score {de_score(row['score'])}, "
                          f"{fmt(100 * row['imputed_share'], 0)} % of inputs carried forward "
                          f"(Datenstand: {data_dates(dates, row['period']) or '–'}); not published as the latest.")
        console.print(pillar_table(latest))
        console.print(history_table(history))
    console.print(indicator_table(con.execute(INDICATORS_SQL, [town.ags]).df()))
    console.print(peer_table(con.execute(PEERS_SQL, [town.ags]).df()))


def headline_text(row: pd.Series, dates: str = "") -> str:
    """One line: score with its data dates, rank among the compared towns and the Monte Carlo band."""
    text = f"Readiness {int(row['period'])}: score [bold]{de_score(row['score'])}[/bold]"
    if pd.notna(row["rank"]):
        shared = int(row.get("tied_towns") or 0) - 1  # towns shown with the same score share the rank
        tie = f" (shared with {shared} other town{'s' if shared > 1 else ''})" if shared > 0 else ""
        text += (f", rank {int(row['rank'])} of {int(row['compared_towns'])}{tie} "
                 f"(5–95 % band: rank {band(row['rank_p05'], row['rank_p95'])}, "
                 f"score {de_score(row['score_p05'])}–{de_score(row['score_p95'])})")
    text += f"\nDatenstand: {dates or '–'}"
    if pd.notna(row["imputed_share"]):
        text += f" ({fmt(100 * row['imputed_share'], 0)} % of inputs carried forward)"
    if row["missing_pillars"]:
        text += f"\nMissing pillars: {row['missing_pillars']}"
    if row["notes"]:
        text += f"\nNote: {row['notes']}"
    return text + f"\nMethod version {row['method_version']}"


def pillar_table(row: pd.Series) -> Table:
    """The pillar scores (0–100) of the headline period."""
    labels = load_catalogue().pillars
    table = Table(title=f"Pillars {int(row['period'])}")
    table.add_column("pillar")
    table.add_column("score", justify="right")
    for pillar in PILLARS:
        table.add_row(labels.get(pillar, {}).get("label", pillar), fmt(row[pillar]))
    return table


def history_table(history: pd.DataFrame) -> Table:
    """Score, rank and band for every index period."""
    table = Table(title="Index history")
    for column in ["period", "score", "rank", "of", "rank 5–95 %", "imputed share", "provisional"]:
        table.add_column(column, justify="right")
    for _, r in history.iterrows():
        table.add_row(str(r["period"]), de_score(r["score"]), fmt(None if pd.isna(r["rank"]) else int(r["rank"])),
                      str(r["compared_towns"]), band(r["rank_p05"], r["rank_p95"]), fmt(r["imputed_share"], 3),
                      "yes" if r["provisional"] is True or r["provisional"] == 1 else "")
    return table


def indicator_table(rows: pd.DataFrame) -> Table:
    """Each indicator's latest value with its source, vintage, reference date and imputation."""
    table = Table(title="Latest indicator values")
    for column in ["indicator", "period", "value", "unit", "source", "vintage", "reference date", "note"]:
        table.add_column(column, justify="right" if column in ("period", "value") else "left")
    for _, r in rows.iterrows():
        note = "; ".join(str(n) for n in (r["imputation"], r["quality_note"]) if n and not pd.isna(n))
        table.add_row(r["label"], str(r["period"]), fmt(r["value"], 2), r["unit"], r["source_id"],
                      r["vintage"], str(r["reference_date"])[:10], note)
    return table


def peer_table(rows: pd.DataFrame) -> Table:
    """The structurally most similar towns, their scores and the gap (peer minus this town)."""
    table = Table(title="Peer towns (structurally similar)")
    for column in ["#", "town", "Kreis", "AGS", "similarity", "period", "peer score", "gap"]:
        table.add_column(column, justify="right" if column in ("#", "similarity", "period", "peer score", "gap")
                         else "left")
    for _, r in rows.iterrows():
        table.add_row(str(r["rank"]), r["name"], r["kreis_name"], r["peer_ags"], fmt(r["similarity"], 2),
                      fmt(None if pd.isna(r["period"]) else int(r["period"])), de_score(r["peer_score"]),
                      fmt(score_gap(r["peer_score"], r["score"])))
    return table
