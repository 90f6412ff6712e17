"""town_profile (LATERAL, so a town filter reaches the scan) returns what the former window over all values did."""

from __future__ import annotations

FORMER = """
WITH latest AS (
    SELECT * FROM indicator_values
    QUALIFY row_number() OVER (PARTITION BY ags, indicator_id ORDER BY period DESC) = 1
)
SELECT m.name, m.kreis_name, l.ags, c.pillar, l.indicator_id, c.label, l.period, l.value, l.unit, c.direction,
       l.imputed, l.imputation, l.quality_note, l.source_id, l.vintage, l.reference_date,
       a.publisher, a.licence, a.attribution
FROM latest l
JOIN municipalities m USING (ags)
JOIN indicator_catalogue c USING (indicator_id)
LEFT JOIN source_attribution a ON a.source_id = l.source_id"""


def test_town_profile_equals_the_former_definition(warehouse):
    former_columns = {row[0] for row in warehouse.execute(f"DESCRIBE ({FORMER})").fetchall()}
    # columns added to the view later are not in the former definition: compare the shared ones
    columns = [row[0] for row in warehouse.execute("DESCRIBE town_profile").fetchall() if row[0] in former_columns]
    now = warehouse.execute(f"SELECT {', '.join(columns)} FROM town_profile").fetchall()
    former = warehouse.execute(f"SELECT {', '.join(columns)} FROM ({FORMER})").fetchall()
    assert len(now) > 1000 and sorted(now, key=repr) == sorted(former, key=repr)
    one = warehouse.execute("SELECT count(*) FROM town_profile WHERE name LIKE 'Mölln%'").fetchone()[0]
    assert one == warehouse.execute(f"SELECT count(*) FROM ({FORMER}) WHERE name LIKE 'Mölln%'").fetchone()[0] > 0
