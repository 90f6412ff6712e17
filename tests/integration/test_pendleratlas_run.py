"""Pendleratlas in a whole refresh: the snapshot plus a folder in the documented layout (tests/publisher_fixtures.py).

The parser itself is tested in tests/unit/sources/test_pendleratlas.py.
"""

from __future__ import annotations

import duckdb


def test_directory_mode_stages_flows_and_flags_the_method_break(example_warehouse):
    """Snapshot + a Pendleratlas folder: the out-commuter series passes from INKAR (to 2019) to the
    Pendleratlas (2021 on) and the first Pendleratlas year is flagged as a method break.
    The run is the session's example run (tests/conftest.py: the snapshot, the folder written by
    publisher_fixtures.write_pendleratlas_folder, and Mölln's example local inputs, which touch only the
    coworking figures), in directory mode."""
    con = duckdb.connect(str(example_warehouse), read_only=True)
    rows = con.execute("""
        SELECT period, source_id, imputed, quality_note FROM indicator_values
        WHERE ags = '01053090' AND indicator_id = 'out_commuter_share' AND period BETWEEN 2019 AND 2024
        ORDER BY period""").fetchall()
    by_period = {period: (source, imputed, note) for period, source, imputed, note in rows}
    assert by_period[2019][0] == "inkar"
    assert by_period[2021] == ("pendleratlas", False,
                               "method break: BA-Beschäftigungsstatistik (Pendler am 30.06.) -> "
                               "Pendlerrechnung der Statistischen Ämter (Erwerbstätige, ab 2021)")
    assert by_period[2022][0] == "pendleratlas" and by_period[2022][2] is None  # same generation: no break
    muenchen = con.execute("""SELECT value FROM observations WHERE source_id = 'pendleratlas'
        AND ags = '09162000' AND measure = 'in_commuters' AND reference_date = DATE '2024-06-30'""").fetchone()
    assert muenchen == (529834,)
    flows = con.execute("""SELECT partner_ags, commuters, distance_km FROM commuter_flows_gemeinde
        WHERE ags = '01053090' AND direction = 'out' AND vintage = '2024' ORDER BY rank""").fetchall()
    assert flows[0] == ("02000000", 2100, 46.0) and len(flows) == 3
    releases = con.execute("SELECT count(DISTINCT vintage), min(licence), min(generation) FROM source_releases "
                           "WHERE source_id = 'pendleratlas'").fetchone()
    assert releases == (4, "dl-de/by-2-0", "Pendlerrechnung der Statistischen Ämter (Erwerbstätige, ab 2021)")
