"""What a build produced: row counts of the published warehouse and the pilot towns' latest index."""

from __future__ import annotations

from pathlib import Path

from cli.store import open_warehouse

PILOTS_SQL = """
    SELECT name, period, round(score, 1) AS score, rank, compared_towns AS of,
           concat(round(rank_p05)::INT, '–', round(rank_p95)::INT) AS "rank 5–95 %",
           round(digital_infrastructure, 1) AS digital, round(commuting_potential, 1) AS commuting,
           round(demographic_dynamics, 1) AS demographic, missing_pillars
    FROM town_index_history WHERE ags IN (SELECT ags FROM municipalities WHERE is_pilot)
    QUALIFY period = max(period) OVER (PARTITION BY ags)
    ORDER BY score DESC NULLS LAST
"""


def print_summary(path: Path) -> None:
    """Print table row counts, the pilot towns' latest scores and rank bands, and the build's scope."""
    with open_warehouse(path) as con:
        print(f"\nPublished warehouse: {path}")
        for (table,) in con.execute("SELECT table_name FROM information_schema.tables ORDER BY 1").fetchall():
            print(f"  {table:26s} {con.execute(f'SELECT count(*) FROM {table}').fetchone()[0]:>8,} rows")
        print("\nPilot towns, latest period with a score:")
        print(con.execute(PILOTS_SQL).df().to_string(index=False))
        notes = con.execute("""
            SELECT DISTINCT notes FROM town_index_history
            WHERE notes IS NOT NULL AND period = (SELECT max(period) FROM town_index_history)""").fetchall()
        for (note,) in notes:
            print(f"Note: {note}")
        modes = con.execute("SELECT string_agg(DISTINCT mode, ', ') FROM source_releases").fetchone()[0]
        towns, kreise = con.execute("""SELECT count(*) FILTER (in_reference_group), count(DISTINCT kreis_ags)
                                       FROM municipalities""").fetchone()
    scope = " (the offline snapshot: five pilot Kreise, not all of Germany)." if modes == "snapshot" else "."
    print(f"Source mode of this build: {modes}. Ranks compare the {towns} small towns of the reference group "
          f"found in this build's {kreise} Kreise{scope}")
