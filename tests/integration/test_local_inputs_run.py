"""The town's own data (local_inputs) in a whole refresh: the example delivery on top of the snapshot.

Templates, validation and merging are tested in tests/unit/sources/test_local_inputs.py.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest

from sources.registry import SNAPSHOT_DIR
from tests.conftest import run_refresh
from tests.unit.sources.test_local_inputs import DELIVERY, FIXTURES, SPACES_FILE, SURVEY_FILE, replace_cell


# --- the whole job: the example delivery on top of the snapshot -------------------------------------------------

def with_example(snapshot_copy: Path) -> Path:
    shutil.copytree(FIXTURES / "local-inputs", snapshot_copy / "local-inputs")
    return snapshot_copy


def test_example_delivery_scores_moelln_coworking_pillar(tmp_path, snapshot_copy):
    from tests.publisher_fixtures import write_pendleratlas_folder

    write_pendleratlas_folder(snapshot_copy)  # constructed files in the documented layout (flows for the map)
    assert run_refresh(tmp_path, with_example(snapshot_copy)).success
    con = duckdb.connect(str(tmp_path / "readiness.duckdb"), read_only=True)
    spaces = con.execute("""SELECT name, ags, sources, locally_reported, located_at_gemeinde, supplier, licence
                            FROM coworking_spaces ORDER BY name""").fetchall()
    assert len(spaces) == 3 and all(s[2] == "local_inputs" and s[3] for s in spaces)
    assert [s[4] for s in spaces] == [True, True, False]  # library and trial day placed at their Gemeinde
    assert {s[5] for s in spaces} == {"BEISPIELDATEN (Testfixture, keine echten Angaben)"}
    value, source = con.execute("""SELECT value, source_id FROM indicator_values
        WHERE ags = '01053090' AND indicator_id = 'coworking_within_10km' AND period = 2023""").fetchone()
    # only the library is open on 2023-11-20; the value is marked as the town's own (typed source_id)
    assert value == 1.0 and source == "local_inputs"
    pillar, notes = con.execute("""SELECT local_work_infrastructure, notes FROM readiness_index
        WHERE ags = '01053090' AND period = 2023""").fetchone()
    assert pillar == 20.0 and notes is None
    others = con.execute("""SELECT count(*) FROM indicator_values WHERE indicator_id = 'coworking_within_10km'
                            AND ags <> '01053090'""").fetchone()[0]
    assert others == 0  # no town without its own list (and without OSM) gets an invented zero
    assert con.execute("SELECT count(*), sum(share) FROM local_survey_results").fetchone() == (3, 100.0)
    assert con.execute("SELECT count(*) FROM readiness_index WHERE ags = '01053090'").fetchone()[0] > 0
    # the report section (reports/coworking_gap.py + templates/coworking_gap.html.j2): spaces, survey, map
    html = render_gap_section(con, "01053090")
    assert html.count('class="gap-space"') == 3 and "von der Stadt gemeldet" in html
    assert 'id="survey-not-in-index"' in html and "fließen nicht in den Index ein" in html
    assert "Ja, gelegentlich" in html and "26,0 %" in html
    assert "<svg" in html and "Lage unbekannt" in html
    assert html.count('class="gap-destination"') == 3 and "Hamburg" in html  # Pendleratlas flows (constructed)
    ranking = con.execute("SELECT gap_rank, ags, desk_demand FROM coworking_gap_ranking ORDER BY gap_rank").fetchall()
    # only the pilot towns have an employed-at-residence base (the constructed Pendleratlas rows)
    assert {r[1] for r in ranking} == {"01053090", "06439012", "09181114", "12070424", "14628060"}
    assert [r[2] for r in ranking] == sorted((r[2] for r in ranking), reverse=True) and ranking[0][0] == 1


def render_gap_section(con, ags: str) -> str:
    import jinja2

    from reports.build import TEMPLATES
    from reports.coworking_gap import coworking_gap_context
    from reports.labels import de_number
    from reports.maps import TownGeometries

    geoms = TownGeometries(con.execute("""SELECT ags, geometry_wkb FROM municipality_geometries
                                          QUALIFY vintage = max(vintage) OVER ()""").df())
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters.update(de=de_number)
    return env.get_template("coworking_gap.html.j2").render(cowork_gap=coworking_gap_context(con, geoms, ags))


@pytest.mark.parametrize("broken", ["future date", "unknown Gemeinde"])
def test_malformed_delivery_publishes_nothing(published_copy, snapshot_copy, broken):
    published = published_copy  # the last good publish (the session's, from the snapshot), without any local data
    before = published.read_bytes()
    folder = with_example(snapshot_copy) / DELIVERY
    if broken == "future date":
        replace_cell(folder, SURVEY_FILE, 2, "Feldzeit bis", "30.09.2099")
        expected = f"{DELIVERY}/{SURVEY_FILE}: row 2, column 'Feldzeit bis': date 2099-09-30 is in the future"
    else:  # a well-formed AGS that is no Gemeinde: checked against the register in staging
        replace_cell(folder, SPACES_FILE, 3, "AGS", "01053999")
        expected = f"{DELIVERY}/{SPACES_FILE}: row 3, column 'AGS': AGS 01053999 is not a Gemeinde of the register"
    result = run_refresh(published.parent, snapshot_copy, raise_on_error=False)
    assert not result.success
    messages = "\n".join(e.event_specific_data.error.to_string() for e in result.all_events
                         if e.event_type_value == "STEP_FAILURE")
    assert expected in messages
    assert published.read_bytes() == before
    assert SNAPSHOT_DIR.joinpath("local-inputs").exists() is False  # the example never enters the snapshot
