"""The town's own data (local_inputs) in a whole refresh: the example delivery on top of the snapshot
(tests/conftest.py: example_warehouse), Mölln's report and the coworking-gap ranking from it, and ten
malformed deliveries run through the job.

Templates, validation and merging are tested in tests/unit/sources/test_local_inputs.py.
"""

from __future__ import annotations

import datetime as dt
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from reports.labels import source_label
from sources.registry import SNAPSHOT_DIR
from tests.unit.sources.test_local_inputs import (DELIVERY, FIXTURES, MALFORMED, SPACES_FILE,
                                                  replace_cell)



# --- the whole job: the example delivery on top of the snapshot -------------------------------------------------

def with_example(snapshot_copy: Path) -> Path:
    shutil.copytree(FIXTURES / "local-inputs", snapshot_copy / "local-inputs")
    return snapshot_copy


def test_example_delivery_scores_moelln_coworking_pillar(example_warehouse):
    # example_warehouse (tests/conftest.py): the snapshot, the example delivery and constructed
    # Pendleratlas files in the documented layout (flows for the map)
    con = duckdb.connect(str(example_warehouse), read_only=True)
    spaces = con.execute("""SELECT name, ags, sources, locally_reported, located_at_gemeinde, supplier, licence
                            FROM coworking_spaces ORDER BY name""").fetchall()
    assert len(spaces) == 3 and all(s[2] == "local_inputs" and s[3] for s in spaces)
    assert [s[4] for s in spaces] == [True, True, False]  # library and trial day placed at their Gemeinde
    assert {s[5] for s in spaces} == {"BEISPIELDATEN (Testfixture, keine echten Angaben)"}
    value, source = con.execute("""SELECT value, source_id FROM indicator_values
        WHERE ags = '01053090' AND indicator_id = 'coworking_within_10km' AND period = 2023""").fetchone()
    # only the library is open on 2023-11-20; the value is marked as the town's own (typed source_id)
    assert value == 1.0 and source == "local_inputs"
    pillar, uncompared, notes = con.execute("""SELECT local_work_infrastructure, uncompared_pillars, notes
        FROM readiness_index WHERE ags = '01053090' AND period = 2023""").fetchone()
    # the only town with the pillar (no OSM): shown, but not in its score, so that the ranking compares the same
    # pillars for every town (it fell from rank 8 to 23 of 50 for delivering its list)
    assert pillar == 20.0 and uncompared == "local_work_infrastructure"
    assert notes.startswith("local_work_infrastructure not in the score: fewer than half of the towns have it")
    others = con.execute("""SELECT count(*) FROM indicator_values WHERE indicator_id = 'coworking_within_10km'
                            AND ags <> '01053090'""").fetchone()[0]
    assert others == 0  # no town without its own list (and without OSM) gets an invented zero
    # the example's question is single choice (its 'Mehrfachnennung' blank): stored so, and its shares add up to 100
    assert con.execute("SELECT count(*), sum(share), bool_or(multiple_choice) FROM local_survey_results"
                       ).fetchone() == (3, 100.0, False)
    assert con.execute("SELECT count(*) FROM readiness_index WHERE ags = '01053090'").fetchone()[0] > 0
    # the report section (reports/coworking_gap.py + templates/coworking_gap.html.j2): spaces, survey, map
    html = render_gap_section(con, "01053090")
    # the list holds what the tile counts: the library; the temporary space closed in October 2022 and the trial day
    # of May 2023 are not open on 2023-11-20 (they were listed, unmarked, beside the tile's 1)
    assert html.count('class="gap-space"') == 1 and "von der Stadt gemeldet" in html
    assert "BEISPIEL Stadtbücherei als Dritter Ort" in html and "Themenwoche" not in html.split("gap-space")[1]
    assert 'id="survey-not-in-index"' in html and "fließen nicht in den Index ein" in html
    assert "Ja, gelegentlich" in html and "26,0 %" in html
    assert "<svg" in html and "(Lage unbekannt: an einem Punkt innerhalb der Gemeinde verortet)" in html
    assert "Gemeindemittelpunkt" not in html
    assert html.count('class="gap-destination"') == 3 and "Hamburg" in html  # Pendleratlas flows (constructed)
    # the list is of the year the tile counted, and says which (it showed the latest year, without one)
    flows_year = con.execute("SELECT long_distance_flows_year FROM coworking_gap WHERE ags = '01053090' "
                             "AND period = (SELECT max(period) FROM coworking_gap_ranking)").fetchone()[0]
    assert flows_year is not None and f"Hauptziele der Auspendler (Pendleratlas {flows_year})</h3>" in html
    ranking = con.execute("SELECT gap_rank, ags, desk_demand FROM coworking_gap_ranking ORDER BY gap_rank").fetchall()
    # only the pilot towns have an employed-at-residence base (the constructed Pendleratlas rows)
    assert {r[1] for r in ranking} == {"01053090", "06439012", "09181114", "12070424", "14628060"}
    assert [r[2] for r in ranking] == sorted((r[2] for r in ranking), reverse=True) and ranking[0][0] == 1


MOELLN = "01053090"
PILOTS = ["01053090", "06439012", "09181114", "12070424", "14628060"]


def test_moelln_report_and_the_ranking_page_from_the_example(example_warehouse, tmp_path):
    """The whole site built from the example run: Mölln's page carries the gap section with its map,
    the town's spaces and the survey block; the Germany-wide ranking equals the planners' view."""
    from reports.build import build_reports

    out = tmp_path / "site"
    build_reports(example_warehouse, out, towns=PILOTS)
    html = (out / f"{MOELLN}.html").read_text(encoding="utf-8")
    start = html.index('<section id="coworking-luecke">')
    section = html[start:html.index("</section>", start)]
    assert '<a href="#coworking-luecke">' in html and "<svg" in section and "Hauptziele der Auspendler" in section
    assert section.count('class="gap-space"') == 1 and "von der Stadt gemeldet" in section  # the tile's 1
    # the gap's supply counts the town's own list (delivered 2023): never "no coworking data" beside its spaces
    assert "Für diese Gemeinde liegen keine Coworking-Daten vor" not in section and "Coworking-Daten: " in section
    assert 'id="survey-not-in-index"' in section and "Ja, gelegentlich" in section and "26,0 %" in section
    # the Coworking section cites each place's source: the town's list, not OpenStreetMap, which was not queried
    start = html.index('<section id="coworking">')
    spaces = html[start:html.index("</section>", start)]
    supplier = "BEISPIELDATEN (Testfixture, keine echten Angaben)"
    # ... with the day the town delivered the list (a list counts until the next one: its date, not OSM's)
    assert spaces.count(f"<td>Liste der Stadt ({supplier}, Stand 20.11.2023)</td>") == spaces.count(
        'class="coworking-space"') > 0
    assert "© OpenStreetMap" not in spaces and "OpenStreetMap wurde nicht abgefragt." in spaces
    assert f"Eigene Listen der Städte: {supplier} (dl-de/by-2-0)." in spaces
    # the ranking page, linked from the index, row for row the view coworking_gap_ranking
    assert 'href="coworking-luecke.html"' in (out / "index.html").read_text(encoding="utf-8")
    ranking = (out / "coworking-luecke.html").read_text(encoding="utf-8")
    with duckdb.connect(str(example_warehouse), read_only=True) as con:
        view = con.execute("SELECT ags, gap_rank, desk_demand FROM coworking_gap_ranking ORDER BY gap_rank").fetchall()
        group = con.execute("SELECT count(*) FILTER (in_reference_group) FROM municipalities").fetchone()[0]
    assert [a for a, _, _ in view] == re.findall(r'<tr id="gap-(\d{8})">', ranking) and len(view) == 5
    assert (f"<p>5 von {group} Kleinstädten der Vergleichsgruppe (für die übrigen lässt sich kein Bedarf schätzen) "
            "· Jahr 2023 ·") in ranking
    with duckdb.connect(str(example_warehouse), read_only=True) as con:
        period, *moelln = con.execute("""SELECT period, coworking_source_id, coworking_vintage, coworking_reference_date
                                         FROM coworking_gap_ranking WHERE ags = ?""", [MOELLN]).fetchone()
    delivery = sorted(p.name for p in (Path(__file__).parents[1] / "fixtures" / "local-inputs").iterdir())[-1]
    # the period with the most estimates, its list counted: the batch of the town's delivery, named by typed columns
    assert period == 2023 and moelln == ["local_inputs", delivery, dt.date.fromisoformat(delivery)]
    assert f"{source_label('local_inputs')}, Stand {dt.date.fromisoformat(delivery):%d.%m.%Y}" in ranking
    for ags, rank, demand in view:
        row = ranking[ranking.index(f'<tr id="gap-{ags}">'):]
        row = row[:row.index("</tr>")]
        assert f'<td class="num" data-value="{rank}">{rank}</td>' in row
        assert f'href="{ags}.html#coworking-luecke"' in row
        assert f"{demand:.1f}".replace(".", ",") in row
    assert 'id="reichweite"' in ranking and "keine Fahrzeit" in ranking  # honest about the reach
    assert "Alipour, Falck, Schüller (2020)" in ranking  # each parameter with its source
    note = " ".join(ranking.split('id="gap-sources">')[1].split("</p>")[0].split())
    with duckdb.connect(str(example_warehouse), read_only=True) as con:  # credited: the sources this run loaded
        loaded = {s for (s,) in con.execute("SELECT DISTINCT source_id FROM source_releases").fetchall()}
    assert {"inkar", "pendleratlas", "local_inputs"} <= loaded and "osm_coworking" not in loaded  # the example's
    assert "Pendleratlas: ©" in note and "eigenen Listen der Städte" in note and "© OpenStreetMap" not in note
    assert "nicht geladen: Coworking-Spaces (OpenStreetMap)." in note
    from tests.integration.test_reports import english_words
    assert english_words(out / "coworking-luecke.html") == [] and english_words(out / f"{MOELLN}.html") == []
    frame = pd.read_csv(out / "coworking-luecke-rangliste.csv", sep=";", decimal=",", dtype={"AGS": str},
                        encoding="utf-8-sig")
    assert list(frame["AGS"]) == [a for a, _, _ in view]
    assert list(frame["Geschätzter Bedarf (Arbeitsplätze je Tag)"]) == pytest.approx([d for _, _, d in view])
    from openpyxl import load_workbook
    sheet = load_workbook(out / "coworking-luecke.xlsx", read_only=True)["Coworking-Lücke"]
    assert [row[1] for row in sheet.iter_rows(min_row=2, values_only=True)] == [a for a, _, _ in view]


def test_ranking_page_escapes_names(example_warehouse, tmp_path):
    from reports.build import Renderer
    from reports.data import load

    published = tmp_path / "readiness.duckdb"
    shutil.copyfile(example_warehouse, published)
    evil = '<script>alert("x")</script> & Co'
    with duckdb.connect(str(published)) as con:
        con.execute("UPDATE municipalities SET name = ?, kreis_name = ? WHERE ags = ?", [evil, evil, MOELLN])
    html = Renderer(load(published)).ranking(tmp_path)
    assert evil not in html and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in html


def test_the_gap_section_of_a_verband_member_names_the_verbands_share(warehouse):
    """Büchen (01053020) has Amt Büchen's INKAR share (source_level gemeindeverband), as the indicator table says;
    the gap section's share line did not (review of 5 December: Schönberg (Holstein) with Amt Probstei's 12.5 %)."""
    from reports.coworking_gap import GapTables

    gap = GapTables(warehouse, "01053020").gaps["01053020"]
    assert gap["long_distance_share_level"] == "gemeindeverband" and gap["long_distance_share"] is not None
    assert " %, Wert des Gemeindeverbands (für alle Mitgliedsgemeinden gleich)." in render_gap_section(warehouse,
                                                                                                    "01053020")
    assert GapTables(warehouse, MOELLN).gaps[MOELLN]["long_distance_share_level"] in (None, "gemeinde")


def test_default_demo_publishes_no_local_inputs(warehouse):
    """The example delivery is a test fixture: the snapshot's published warehouse holds none of it."""
    assert warehouse.execute("SELECT count(*) FROM local_survey_results").fetchone()[0] == 0
    assert warehouse.execute("SELECT count(*) FROM coworking_spaces WHERE locally_reported").fetchone()[0] == 0
    assert warehouse.execute("SELECT count(*) FROM source_releases WHERE source_id = 'local_inputs'").fetchone()[0] == 0


def render_gap_section(con, ags: str) -> str:
    from reports.build import page_environment
    from reports.coworking_gap import coworking_gap_context
    from reports.maps import TownGeometries

    geoms = TownGeometries(con.execute("""SELECT ags, geometry_wkb FROM municipality_geometries
                                          QUALIFY vintage = max(vintage) OVER ()""").df())
    return page_environment().get_template("coworking_gap.html.j2").render(cowork_gap=coworking_gap_context(con, geoms, ags))


# Ten malformed deliveries run through the job (issue 14 acceptance): nine cell errors the parser
# finds (MALFORMED above) and a well-formed AGS that is no Gemeinde, which only staging can check against
# the register. The last good publish is the example run (tests/conftest.py: example_warehouse), copied with
# its working database and raw landing, as a monthly refresh finds them.
# Each run is the part of the job the delivery decides (tests/conftest.py: downstream_of): the raw landing of
# the coworking sources, the staging step that parses them (stg/coworking_spaces) and every step after it, the
# publish among them. The other sources' staging, which the whole job would run beside it, cannot change
# whether this step fails or the publish is skipped, and cost ten times the rest of this file.
JOB_VARIANTS = [MALFORMED[i] for i in (0, 1, 2, 3, 4, 5, 6, 8, 10)] + [
    (SPACES_FILE, 3, "AGS", "01053999", "row 3, column 'AGS': AGS 01053999 is not a Gemeinde of the register")]


@pytest.mark.parametrize("name, row, column, value, message", JOB_VARIANTS,
                         ids=[f"{n.split('_')[0]}-{c}-{v or 'leer'}" for n, _, c, v, _ in JOB_VARIANTS])
def test_malformed_delivery_fails_and_publishes_nothing(example_warehouse, tmp_path, name, row, column, value,
                                                        message):
    from tests.conftest import downstream_of, refresh_settings, run_job, skipped_steps

    assert len(JOB_VARIANTS) == 10
    run = tmp_path / "run"  # the last good publish with the example's spaces, its working files and raw landing
    shutil.copytree(example_warehouse.parent, run, ignore=shutil.ignore_patterns("exports", "reports"))
    published = run / example_warehouse.name
    before = published.read_bytes()
    source = run / "source"
    replace_cell(source / DELIVERY, name, row, column, value)
    result = run_job(refresh_settings(run, source), raise_on_error=False,
                     assets=downstream_of("raw/local_inputs", "raw/osm_coworking"))
    assert not result.success
    messages = "\n".join(e.event_specific_data.error.to_string() for e in result.all_events
                         if e.event_type_value == "STEP_FAILURE")
    assert f"[local_inputs] {DELIVERY}/{name}: {message}" in messages
    # the publish was part of the run and skipped because the delivery's step failed
    assert {"warehouse_candidate", "published_warehouse"} <= skipped_steps(result)
    assert published.read_bytes() == before
    assert SNAPSHOT_DIR.joinpath("local-inputs").exists() is False  # the example never enters the snapshot


def test_a_corrected_list_and_a_new_delivery_without_closing_dates_publish(example_warehouse, tmp_path):
    """Two ordinary deliveries crashed the coworking step (bad-input review of 4 December): a corrected file in the
    same delivery folder (label '2023-11-20-rev2', parsed as a date: DateParseError) and a new delivery in which
    no space has closed (an all-empty "Geschlossen am": DATE -> INTEGER). Both now publish, from the last good
    publish of the example, as a monthly refresh finds it."""
    from tests.conftest import downstream_of, refresh_settings, run_job

    run = tmp_path / "run"
    shutil.copytree(example_warehouse.parent, run, ignore=shutil.ignore_patterns("exports", "reports"))
    source = run / "source"
    replace_cell(source / DELIVERY, SPACES_FILE, 3, "Arbeitsplätze", "8")  # the library's desks corrected: 6 -> 8
    result = run_job(refresh_settings(run, source), raise_on_error=False,
                     assets=downstream_of("raw/local_inputs", "raw/osm_coworking"))
    assert result.success
    with duckdb.connect(str(run / example_warehouse.name), read_only=True) as con:
        assert con.execute("SELECT desks FROM coworking_spaces WHERE vintage = '2023-11-20-rev2' "
                           "AND name = 'BEISPIEL Stadtbücherei als Dritter Ort'").fetchall() == [(8,)]
    new = source / "local-inputs" / "2024-01-10"
    new.mkdir()
    lines = (source / DELIVERY / SPACES_FILE).read_text(encoding="utf-8").splitlines()
    permanent = lines[2].split(";")  # the library: opened, never closed
    permanent[0] = "BEISPIEL Neuer Coworking-Ort am Bahnhof"
    (new / "coworking_01053090_neu.csv").write_text("\n".join([lines[0], ";".join(permanent)]) + "\n",
                                                     encoding="utf-8")
    result = run_job(refresh_settings(run, source), raise_on_error=False,
                     assets=downstream_of("raw/local_inputs", "raw/osm_coworking"))
    assert result.success
    with duckdb.connect(str(run / example_warehouse.name), read_only=True) as con:
        names = {n for (n,) in con.execute("SELECT name FROM coworking_spaces WHERE vintage = '2024-01-10'").fetchall()}
        assert names == {"BEISPIEL Neuer Coworking-Ort am Bahnhof"}
