"""Was ein Lauf ergeben hat: Zeilen je Tabelle des veröffentlichten Warehouse und der letzte Index der Pilotstädte."""

from __future__ import annotations

from pathlib import Path

from cli.format import de_int, de_number, de_rank_band, de_score, printable
from indicators import flags
from reports.labels import CATALOGUE, PILLARS, not_scored_reasons, pillar_label
from cli.store import open_warehouse

# the pillars' columns and short German headers in the catalogue's order (declared there, not here)
PILOTS_SQL = f"""
    SELECT name, period, score, rank, compared_towns, rank_p05, rank_p95, {", ".join(PILLARS)}, missing_pillars
    FROM town_index_history WHERE ags IN (SELECT ags FROM municipalities WHERE is_pilot)
      AND period = (SELECT max(period) FROM latest_ranking)  -- the published year (not a provisional one)
    ORDER BY score DESC NULLS LAST, ags
"""

PILOT_HEADERS = ["Gemeinde", "Jahr", "Index", "Rang", "von", "Rang 5–95 %",
                 *(CATALOGUE.pillars[pillar]["short_de"] for pillar in PILLARS), "kein Index, es fehlen"]


def pilot_rows(con) -> list[list[str]]:
    """The pilot towns in the published year, formatted German style (decimal comma, rank band as '2–18', the missing
    pillars by their German names)."""
    rows = []
    for name, period, score, rank, of, p05, p95, *pillars, missing in con.execute(PILOTS_SQL).fetchall():
        rows.append([printable(name), str(period), de_score(score), de_int(rank), de_int(of), de_rank_band(p05, p95),
                     *(de_number(p) for p in pillars), ", ".join(pillar_label(p) for p in flags.pillar_ids(missing))])
    return rows


def omitted_lines(con) -> list[str]:
    """Which optional pillars the published year leaves out, for how many of its reference-group towns and why, from
    the typed column (never from note text). Why the count: the note was printed when any one town lacked the
    pillar, as if every score did (3 of 3,257 towns without a geometry, in a build where all five pilots had it)."""
    rows = con.execute("""
        WITH published AS (SELECT h.omitted_pillars FROM town_index_history h JOIN municipalities m USING (ags)
                           WHERE m.in_reference_group AND h.period = (SELECT max(period) FROM latest_ranking))
        SELECT omitted_pillars, count(*), (SELECT count(*) FROM published)
        FROM published WHERE omitted_pillars IS NOT NULL
        GROUP BY ALL""").fetchall()
    towns: dict[tuple[str, str], int] = {}
    for omitted, count, _ in rows:
        for item in not_scored_reasons(omitted).items():
            towns[item] = towns.get(item, 0) + count
    total = rows[0][2] if rows else 0
    return [f"Hinweis: Säule {pillar_label(pillar)} nicht bewertet bei {de_int(n)} von {de_int(total)} "
            f"Kleinstädten der Vergleichsgruppe: {reason}"
            for (pillar, reason), n in sorted(towns.items())]


def table_text(headers: list[str], rows: list[list[str]]) -> str:
    """A plain text table, numbers right-aligned (the first column, the names, left-aligned)."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows)]
    lines = []
    for row in [headers, *rows]:
        cells = [str(c).ljust(w) if i in (0, len(row) - 1) else str(c).rjust(w)
                 for i, (c, w) in enumerate(zip(row, widths))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)


def print_summary(path: Path) -> None:
    """Print table row counts, the pilot towns' latest scores and rank bands, and the build's scope."""
    with open_warehouse(path) as con:
        print(f"\nVeröffentlichtes Warehouse: {path}")
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall():
            print(f"  {table:26s} {de_int(con.execute(f'SELECT count(*) FROM {table}').fetchone()[0]):>9} Zeilen")
        print("\nPilotstädte, veröffentlichtes Jahr (das letzte, das überwiegend auf eigenen Daten beruht):")
        print(table_text(PILOT_HEADERS, pilot_rows(con)))
        for line in omitted_lines(con):
            print(line)
        modes = con.execute("SELECT string_agg(DISTINCT mode, ', ' ORDER BY mode) FROM source_releases").fetchone()[0]
        towns, kreise = con.execute("""SELECT count(*) FILTER (in_reference_group), count(DISTINCT kreis_ags)
                                       FROM municipalities""").fetchone()
    scope = (" (der Offline-Snapshot: fünf Pilotkreise, nicht ganz Deutschland)." if modes == "snapshot" else ".")
    print(f"Quellmodus dieses Laufs: {modes}. Die Ränge vergleichen die {de_int(towns)} Kleinstädte der "
          f"Vergleichsgruppe in den {de_int(kreise)} Kreisen dieses Laufs{scope}")
