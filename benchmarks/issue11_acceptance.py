"""Issue 11's acceptance figures, read from a built warehouse (nothing is computed here).

Run on a published warehouse kept by ``benchmarks/full_germany.py --keep DIR``::

    .venv/bin/python benchmarks/issue11_acceptance.py DIR/warehouse/readiness.duckdb

Prints the digital pillar of Bad Lauterberg im Harz, Herzberg am Harz and Rosdorf (Landkreis
Göttingen, Breitbandatlas values under their pre-2016 keys), Bad Lauterberg's moved gigabit
values, Kirn's INKAR out-commuter share and commuting pillar, Bad Schmiedeberg's restated
population and population changes, the pilot acceptance values of tests/integration/test_pipeline.py, and the
number of reference-group towns without a 2023 score (all and 5,000 to under 20,000 inhabitants).
"""

from __future__ import annotations

import sys

import duckdb
import pandas as pd

QUERIES = {
    "digital pillar, Landkreis Göttingen": """
        SELECT r.ags, m.name, r.period, round(r.digital_infrastructure, 1) AS digital, round(r.score, 1) AS score
        FROM readiness_index r JOIN municipalities m USING (ags)
        WHERE r.ags IN ('03159003', '03159019', '03159029') ORDER BY 1, 3""",
    "Bad Lauterberg, gigabit under its old key": """
        SELECT ags, reference_date, value, published_ags, territorial_change FROM observations
        WHERE source_id = 'breitbandatlas' AND measure = 'households_all_1000' AND ags = '03159003'
        ORDER BY reference_date""",
    "Kirn, INKAR out-commuter share": """
        SELECT DISTINCT ags, reference_date, value, source_level FROM observations
        WHERE source_id = 'inkar' AND measure = 'out_commuter_share' AND ags = '07133052' AND level = 'gemeinde'
          AND year(reference_date) >= 2017 ORDER BY 2""",
    "Kirn, commuting pillar": """
        SELECT period, round(commuting_potential, 1) AS commuting, round(score, 1) AS score
        FROM readiness_index WHERE ags = '07133052' ORDER BY 1""",
    "Bad Schmiedeberg, restated population": """
        SELECT reference_date, vintage, value, territorial_change FROM observations
        WHERE ags = '15091020' AND measure = 'population_current_territory' ORDER BY 1, 2""",
    "Bad Schmiedeberg, population change": """
        SELECT indicator_id, period, round(value, 2) AS value, base_period, imputed, territorial_change, excluded_reason
        FROM indicator_values WHERE ags = '15091020' AND indicator_id LIKE 'population_change%'
          AND period IN (2018, 2021, 2023) ORDER BY 1, 2""",
    "pilot: Mölln population (publisher: 19,329 and 19,566)": """
        SELECT reference_date::VARCHAR AS date, value FROM observations
        WHERE ags = '01053090' AND measure = 'population_total' AND source_id = 'destatis_gemeindeverzeichnis'
          AND vintage IN ('2021-12-31', '2023-12-31') ORDER BY 1""",
    "pilot: gigabit mid-2021 (publisher: Mölln 91.0, Oestrich-Winkel 7.0)": """
        SELECT ags, round(value, 1) AS value FROM indicator_values
        WHERE indicator_id = 'gigabit_coverage' AND period = 2021 AND reference_date = DATE '2021-06-30'
          AND ags IN ('01053090', '06439012') ORDER BY 1""",
    "reference-group towns without a 2023 score": """
        SELECT count(*) FILTER (WHERE r.score IS NULL) AS unscored, count(*) AS towns,
               count(*) FILTER (WHERE r.score IS NULL AND m.population >= 5000 AND m.population < 20000)
                   AS unscored_5000_to_20000,
               count(*) FILTER (WHERE m.population >= 5000 AND m.population < 20000) AS towns_5000_to_20000
        FROM readiness_index r JOIN municipalities m USING (ags)
        WHERE r.in_reference_group AND r.period = 2023""",
}


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    pd.set_option("display.width", 200)
    with duckdb.connect(args[0], read_only=True) as con:
        for title, sql in QUERIES.items():
            print(f"== {title}")
            print(con.execute(sql).df().to_string(index=False))
            print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
