"""The print atlas (reports/atlas.py) and the interactive map's data (reports/webmap.py) on a small ReportData.

Review of 5 December 2026: the atlas coloured a Gemeinde by its unrounded value (Echzell's accessibility 79.9875 in
the class "60 bis unter 80" with the tooltip "80,0") while the interactive map coloured the rounded 80.0 in the
class from 80; a pillar whose data start after the published period said "keine Daten … für diesen Zeitraum" on
every Gemeinde; and the maps credited only the BKG's geometries, also under values from OpenStreetMap (ODbL)."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import shapely

from reports.atlas import BREAKS, COLOURS, MEASURES, AtlasData, build_atlas, choropleth_svg, class_of
from reports.data import ReportData, TownSplit
from reports.labels import attribution_label
from reports.webmap import build_webmap, geojson

SVG = "{http://www.w3.org/2000/svg}"
PERIOD = 2021
# accessibility per town: just below a break (shown as the break), on it, just below it and shown below it, a
# decimal half that rounds up ("19,95" is 19.949999... as a float: half away from zero as a reader rounds it)
ACCESSIBILITY = {"06440001": 79.96, "06440002": 80.0, "06440003": 79.94, "06440004": 19.95, "06440005": 59.9875,
                 "06440006": 79.9875}
COWORKING_LATER = {"06440001": 2023, "06440002": 2024}  # the others have no coworking value in any period
OSM = attribution_label("osm_coworking", "© OpenStreetMap contributors", "2023-11-20")  # sources.yaml's German text


def town_ids() -> list[str]:
    return sorted(ACCESSIBILITY)


def index_rows() -> pd.DataFrame:
    """The published period (no coworking value) and two later provisional ones with coworking values."""
    rows = []
    for k, ags in enumerate(town_ids()):
        published = {"ags": ags, "period": PERIOD, "period_provisional": False, "score": 41.25 + k,
                     "digital_infrastructure": 50.0, "commuting_potential": 39.95, "demographic_dynamics": 60.04,
                     "accessibility": ACCESSIBILITY[ags], "local_work_infrastructure": np.nan,
                     "missing_pillars": None, "omitted_pillars": "local_work_infrastructure"}
        rows.append(published)
        for period in (2023, 2024):
            start = COWORKING_LATER.get(ags, period + 1)
            rows.append({**published, "period": period, "period_provisional": True,
                         "local_work_infrastructure": 30.0 if period >= start else np.nan})
    return pd.DataFrame(rows)


def indicator_rows(coworking_period: int = 2023, licence: str = "ODbL-1.0") -> pd.DataFrame:
    """Per town its accessibility value (INKAR) of the published period and a coworking value (OSM) of a later one."""
    rows = []
    for ags in town_ids():
        rows.append({"ags": ags, "pillar": "accessibility", "period": PERIOD, "source_id": "inkar",
                     "vintage": "2022-12", "attribution": "© BBSR Bonn 2022, INKAR (as re-packaged by RegioHub/inkr)",
                     "licence": "dl-de/by-2-0", "excluded_reason": None})
        rows.append({"ags": ags, "pillar": "local_work_infrastructure", "period": coworking_period,
                     "source_id": "osm_coworking", "vintage": "2023-11-20", "attribution": "© OpenStreetMap contributors",
                     "licence": licence, "excluded_reason": None})
    return pd.DataFrame(rows)


def report_data(index: pd.DataFrame | None = None, indicators: pd.DataFrame | None = None) -> ReportData:
    """Six Gemeinden side by side (boxes of 0.05°, in Hessen), all in the reference group."""
    ids = town_ids()
    towns = pd.DataFrame({"ags": ids, "name": [f"Ort {a[-1]}" for a in ids], "in_reference_group": True})
    boxes = [shapely.box(9.0 + 0.05 * k, 50.0, 9.05 + 0.05 * k, 50.05) for k in range(len(ids))]
    geometries = pd.DataFrame({"ags": ids, "vintage": "vg5000-2021-01-01", "name": towns["name"],
                               "geometry_wkb": shapely.to_wkb(boxes)})
    index = index_rows() if index is None else index
    indicators = indicator_rows() if indicators is None else indicators
    empty = pd.DataFrame()
    return ReportData(
        path=Path("readiness.duckdb"), method_version="v1", latest_period=PERIOD,
        towns=towns.set_index("ags", drop=False), kreise=empty, index=index, releases=empty, geometries=geometries,
        coworking=empty, coworking_gap=empty, gap_inputs=empty, kreis_commuting=empty, mobile_kreis=empty,
        group_medians=empty, references={}, reference_releases={}, flows_by_kreis={},
        by_town={"index": TownSplit(index, "ags"), "indicators": TownSplit(indicators, "ags")})


def shown(svg: str) -> dict[str, tuple[str, str]]:
    """AGS -> (fill, tooltip) of every Gemeinde of an atlas SVG (parsed as XML: it must be well-formed)."""
    found = {}
    for path in ET.fromstring(svg).iter(f"{SVG}path"):
        title = path.find(f"{SVG}title")
        if title is not None:
            found[re.search(r"\((\d{8})\)", title.text)[1]] = (path.get("fill"), title.text)
    return found


def texts(svg: str) -> str:
    """The text lines of an atlas SVG (legend, notes, credits) joined by spaces (a wrapped credit in one piece)."""
    return " ".join(t.text for t in ET.fromstring(svg).iter(f"{SVG}text"))


def page_class(value: float) -> int:
    """The class the map page's script (atlas_karte.html.j2, ``fill``) gives a value: past every break it reaches."""
    k = 0
    while k < len(BREAKS) and value >= BREAKS[k]:
        k += 1
    return k


@pytest.fixture(scope="module")
def atlas() -> AtlasData:
    return AtlasData(report_data())


def svg_of(atlas: AtlasData, measure: str) -> str:
    return choropleth_svg(atlas, list(range(len(atlas.ags))), "Hessen", measure)


def test_a_value_just_below_a_break_is_coloured_in_the_class_it_is_shown_in(atlas):
    fills = shown(svg_of(atlas, "accessibility"))
    # 79.96 is "80,0": the class from 80, as on the interactive map (the unrounded value was in the class below)
    assert fills["06440001"] == (COLOURS[4], "Ort 1 (06440001): 80,0")
    assert fills["06440006"] == (COLOURS[4], "Ort 6 (06440006): 80,0")  # Echzell's 79.9875
    assert fills["06440002"] == (COLOURS[4], "Ort 2 (06440002): 80,0")  # on the break: from 80 on
    assert fills["06440003"] == (COLOURS[3], "Ort 3 (06440003): 79,9")
    assert fills["06440004"] == (COLOURS[1], "Ort 4 (06440004): 20,0")  # a half rounds away from zero
    assert fills["06440005"] == (COLOURS[3], "Ort 5 (06440005): 60,0")
    assert class_of(79.96) == 3 and class_of(80.0) == 4  # class_of itself classifies what it is given


def test_web_map_and_atlas_agree_on_every_towns_class(atlas):
    collection = json.loads(json.dumps(geojson(atlas, set())))  # as the page's script reads it
    features = {f["properties"]["ags"]: f["properties"] for f in collection["features"]}
    for k, measure in enumerate(MEASURES):
        for ags, (fill, title) in shown(svg_of(atlas, measure)).items():
            value = features[ags]["value"][k]
            if value is None:
                assert fill not in COLOURS
                continue
            assert fill == COLOURS[page_class(value)], (measure, ags, value, fill)
            # and the map page writes the number the tooltip shows (toFixed(1), decimal comma)
            assert title.endswith(": " + f"{value:.1f}".replace(".", ","))


def test_a_pillar_whose_data_start_later_says_from_when(atlas):
    fills = shown(svg_of(atlas, "local_work_infrastructure"))
    assert fills["06440001"] == ("url(#ohne-wert)", "Ort 1 (06440001): ohne Wert: Daten dieser Säule erst ab "
                                                    "2023 (vorläufig)")
    assert fills["06440002"][1].endswith("ohne Wert: Daten dieser Säule erst ab 2024 (vorläufig)")
    # a town without a later value keeps the reason of its index row
    assert fills["06440003"][1].endswith("ohne Wert: keine Daten (Quellen: eigene Angaben der Stadt, "
                                         "Coworking-Spaces (OpenStreetMap)) für diesen Zeitraum")
    reasons = {r["text"] for r in geojson(atlas, set())["reasons"]}
    assert "ohne Wert: Daten dieser Säule erst ab 2023 (vorläufig)" in reasons


def test_a_pillar_with_values_up_to_the_published_period_keeps_the_rows_reason():
    """One town with a coworking value in the published period: the pillar's data do not start later, so a town
    without one there may lack it for another reason (not scored across a territorial change)."""
    index = index_rows()
    index.loc[(index["ags"] == "06440006") & (index["period"] == PERIOD), "local_work_infrastructure"] = 30.0
    fills = shown(svg_of(AtlasData(report_data(index=index)), "local_work_infrastructure"))
    assert "erst ab" not in fills["06440001"][1] and "keine Daten" in fills["06440001"][1]


def test_each_layer_credits_the_sources_of_the_values_it_shows():
    index = index_rows()
    index.loc[index["period"] == PERIOD, "local_work_infrastructure"] = 30.0  # coworking values published
    atlas = AtlasData(report_data(index=index, indicators=indicator_rows(coworking_period=PERIOD)))
    osm, inkar = f"Werte: {OSM}, ODbL-1.0", "Werte: © BBSR Bonn 2022, INKAR (aufbereitet von RegioHub/inkr), dl-de"
    coworking, accessibility, score = (texts(svg_of(atlas, m))
                                       for m in ("local_work_infrastructure", "accessibility", "score"))
    assert osm in coworking and inkar not in coworking
    assert osm not in accessibility and inkar in accessibility
    assert osm in score and inkar in score  # the index: every source of its pillars
    assert "Geometrien: © GeoBasis-DE / BKG (2021), Daten verändert" in coworking


def test_a_layer_without_values_credits_no_source_of_values(atlas):
    """The coworking values lie in a later period: the published map shows none, so it credits no OSM data."""
    assert atlas.credits["local_work_infrastructure"] == []
    assert "Werte:" not in texts(svg_of(atlas, "local_work_infrastructure"))


def test_credits_are_escaped_in_svg_html_and_the_map_page(tmp_path):
    index = index_rows()
    index.loc[index["period"] == PERIOD, "local_work_infrastructure"] = 30.0
    evil = '© <script>alert("x")</script> & Co'
    data = report_data(index=index, indicators=indicator_rows(coworking_period=PERIOD, licence=evil))  # as stored
    atlas = AtlasData(data)
    svg = svg_of(atlas, "local_work_infrastructure")
    assert "<script>" not in svg and evil in texts(svg)  # the XML parser gives the text back unchanged
    build_atlas(data, tmp_path, atlas)
    page = (tmp_path / "atlas" / "hessen.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt; &amp; Co" in page
    karte = build_webmap(data, tmp_path, atlas, pages=set())[0].read_text(encoding="utf-8")
    credits = json.loads(re.search(r"var CREDITS = (\[.*?\]), credited", karte)[1])
    # escaped for Leaflet, which writes an attribution as HTML; and no "<" ends the script
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in credits[MEASURES.index("local_work_infrastructure")]
    assert "<script>alert" not in karte


def test_each_map_says_what_dates_its_values_rest_on_and_how_old_its_boundaries_are(tmp_path):
    """Dates review of 6 December 2026: the atlas headed its maps "Erreichbarkeit 2021" over values resting on INKAR
    figures of 2018-2020 only, all carried forward, and never gave its boundaries' date; the town pages said both.
    Each map now names the dates of the inputs behind the values it colours (index_data_dates, per kind of data the
    oldest to the newest, and the share carried forward), and the date of its outlines with the towns drawn in a
    former territory or not drawn at all."""
    data = report_data()
    rows = [{"ags": ags, "period": PERIOD, "pillar": "accessibility", "source_id": "inkar",
             "reference_date": pd.Timestamp(f"{2018 + 2 * (k % 2)}-12-31"), "newest_reference_date":
             pd.Timestamp("2020-12-31"), "carried_forward": 1, "inputs": 1} for k, ags in enumerate(town_ids())]
    rows += [{"ags": ags, "period": PERIOD, "pillar": "digital_infrastructure", "source_id": "breitbandatlas",
              "reference_date": pd.Timestamp("2021-06-30"), "newest_reference_date": pd.Timestamp("2021-06-30"),
              "carried_forward": 0, "inputs": 1} for ags in town_ids()]
    rows.append({**rows[-1], "period": 2023})  # another period: not this map's
    rows = [r for r in rows if not (r["ags"] == "06440006" and r["pillar"] == "digital_infrastructure")]  # no input
    dates = pd.DataFrame(rows)
    data.by_town["input_dates"] = TownSplit(dates, "ags")
    data.geometries["territorial_date"] = pd.Timestamp("2021-01-01")
    data.geometries["territory_changed_since_geometry"] = data.geometries["ags"] == "06440002"
    data.geometries["assembled_from"] = [("06440001", "06440098") if ags == "06440001" else ()
                                         for ags in data.geometries["ags"]]  # absorbed a Gemeinde since
    data.geometries["assembled_names"] = [("A", "B") if keys else () for keys in data.geometries["assembled_from"]]
    data.towns = pd.concat([data.towns, pd.DataFrame({"ags": ["06440099"], "name": ["Neu"], "in_reference_group": True})
                            .set_index("ags", drop=False)])  # formed after the boundaries' date: no outline
    atlas = AtlasData(data)
    accessibility, digital, score = (texts(svg_of(atlas, m)) for m in ("accessibility", "digital_infrastructure",
                                                                         "score"))
    assert "Daten: Erreichbarkeit 2018–2020 (alle Eingangswerte aus früheren Ständen fortgeschrieben)" in accessibility
    assert "Daten: Breitband 06/2021" in digital and "fortgeschrieben" not in digital
    # 6 carried of 11 inputs (06440006 has no broadband input: its NaT leaves the others' dates as they are)
    assert ("Daten: Breitband 06/2021, Erreichbarkeit 2018–2020 (55 % der Eingangswerte aus früheren Ständen "
            "fortgeschrieben)") in score
    boundary = ("Gemeindegrenzen: Stand 01.01.2021 (1 Gemeinde in den Grenzen vor einer späteren Gebietsänderung "
                "gezeichnet, 1 Gemeinde aus den Umrissen mehrerer oder früherer Gemeinden gezeichnet, "
                "1 Gemeinde ohne Umriss (fehlt))")
    assert boundary in accessibility
    build_atlas(data, tmp_path, atlas)
    page = (tmp_path / "atlas" / "hessen.html").read_text(encoding="utf-8")
    assert "Indexjahr 2021" in page and boundary in page
    assert "Daten: Erreichbarkeit 2018–2020 (alle Eingangswerte aus früheren Ständen fortgeschrieben)" in page
    # the interactive map: the same line per measure (set as text by its script) and the boundaries' line
    karte = build_webmap(data, tmp_path, atlas, pages=set())[0].read_text(encoding="utf-8")
    lines = json.loads(re.search(r"var DATA_DATES = (\[.*?\]);", karte)[1])
    assert lines[MEASURES.index("accessibility")] == atlas.data_dates(np.arange(6), "accessibility")
    assert lines[MEASURES.index("local_work_infrastructure")] == "" and boundary in karte


def test_the_carried_forward_share_never_rounds_to_none_or_all():
    from reports.labels import carried_share_de

    assert carried_share_de(0, 10) is None and carried_share_de(3, 0) is None
    assert carried_share_de(10, 10) == "alle Eingangswerte"
    assert carried_share_de(1, 1000) == "weniger als 1 % der Eingangswerte"
    assert carried_share_de(999, 1000) == "mehr als 99 % der Eingangswerte"
    assert carried_share_de(6, 11) == "55 % der Eingangswerte"
