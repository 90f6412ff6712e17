"""Static choropleths (reports/atlas.py) and the interactive map's data (reports/webmap.py) on the snapshot."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import pytest

from indicators.catalogue import load_catalogue
from reports.atlas import (COLOURS, MEASURES, OUTSIDE_COLOUR, PILLARS, AtlasData, build_atlas, choropleth_svg,
                           class_of, slug)
from reports.build import build_town_report
from reports.data import load
from reports.labels import de_number
from reports.webmap import DECIMALS, build_webmap, data_script, geojson

PILOTS = load_catalogue().pilot_towns
SVG = "{http://www.w3.org/2000/svg}"


@pytest.fixture(scope="module")
def data(snapshot_warehouse):
    return load(snapshot_warehouse)


@pytest.fixture(scope="module")
def published_scores(snapshot_warehouse):
    """The published (latest non-provisional) period's score per pilot, straight from the warehouse
    (not via reports/): the period of the latest_ranking view."""
    import duckdb
    with duckdb.connect(str(snapshot_warehouse), read_only=True) as con:
        rows = con.execute(
            "SELECT ags, score FROM readiness_index WHERE method_version = (SELECT method_version FROM current_method) "
            "AND period = (SELECT max(period) FROM latest_ranking)").fetchall()
    scores = dict(rows)
    assert set(PILOTS) <= set(scores), "the snapshot must score every pilot"
    return {ags: scores[ags] for ags in PILOTS}


def titles(svg: str) -> dict[str, tuple[str, str]]:
    """AGS -> (fill, title text) of every Gemeinde path in an atlas SVG (parsed as XML: it must be well-formed)."""
    root = ET.fromstring(svg)
    found = {}
    for path in root.iter(f"{SVG}path"):
        title = path.find(f"{SVG}title")
        if title is not None:
            ags = re.search(r"\((\d{8})\)", title.text).group(1)
            found[ags] = (path.get("fill"), title.text)
    return found


def test_germany_map_shows_the_pilots_with_their_published_scores(data, published_scores, tmp_path):
    written = build_atlas(data, tmp_path)
    svg = (tmp_path / "atlas" / "deutschland-score.svg").read_text(encoding="utf-8")
    shown = titles(svg)
    for ags, score in published_scores.items():
        fill, text = shown[ags]
        assert text == f"{data.towns.loc[ags, 'name']} ({ags}): {de_number(score)}"
        # coloured by the score as shown (and ranked): Oestrich-Winkel's 59.99988 is "60,0", in the class from 60
        shown_value = float(de_number(score).replace(".", "").replace(",", "."))
        assert "," in de_number(score) and fill == COLOURS[class_of(shown_value)]
    # One map per measure for Germany and each Land that has Gemeinden, plus one page per area.
    lands = {slug(name) for name in data.towns["land"].unique()}
    assert {p.name for p in written} == {f"{a}-{m}.svg" for a in ["deutschland", *lands] for m in MEASURES} | {
        f"{a}.html" for a in ["deutschland", *lands]}
    moelln = next(a for a, n in PILOTS.items() if n == "Mölln")
    land_svg = (tmp_path / "atlas" / "schleswig-holstein-score.svg").read_text(encoding="utf-8")
    assert moelln in titles(land_svg) and "Schleswig-Holstein" in land_svg
    # the BKG's licence asks for the year of the release the outlines come from (the snapshot's VG5000 of 2021)
    credit = "Geometrien: © GeoBasis-DE / BKG (2021), Daten verändert"
    assert credit in svg and credit in (tmp_path / "atlas" / "deutschland.html").read_text(encoding="utf-8")


def test_each_map_credits_the_sources_of_the_values_it_shows(data, tmp_path):
    """Review of 5 December 2026: the maps credited only the geometries, also under values from OpenStreetMap
    (ODbL). Each map credits the releases its values come from, the index those of all pillars; the snapshot has
    no coworking data, so that pillar's map credits no source of values (nor OpenStreetMap)."""
    atlas = AtlasData(data)
    build_atlas(data, tmp_path, atlas)
    for measure in MEASURES:
        svg = (tmp_path / "atlas" / f"deutschland-{measure}.svg").read_text(encoding="utf-8")
        lines = " ".join(t.text for t in ET.fromstring(svg).iter(f"{SVG}text"))  # a wrapped credit in one piece
        assert all(f"Werte: {credit}" in lines for credit in atlas.credits[measure])
    assert any(c.startswith("© BBSR Bonn") and "INKAR" in c for c in atlas.credits["accessibility"])
    assert set(atlas.credits["score"]) == {c for p in PILLARS for c in atlas.credits[p]}
    assert atlas.credits["local_work_infrastructure"] == [] and not any("OpenStreetMap" in c
                                                                        for c in atlas.credits["score"])
    page = (tmp_path / "atlas" / "deutschland.html").read_text(encoding="utf-8")
    assert "Werte: " + "; ".join(atlas.credits["accessibility"]).replace("&", "&amp;") in page


def test_towns_outside_the_group_are_grey_and_towns_without_value_hatched_with_reason(data):
    atlas = AtlasData(data)
    everywhere = range(len(atlas.ags))
    for measure in MEASURES:
        shown = titles(choropleth_svg(atlas, list(everywhere), "Deutschland", measure))
        outside = [a for i, a in enumerate(atlas.ags) if not atlas.in_group[i]]
        assert outside, "the snapshot has neighbour villages outside the reference group"
        for ags in outside:
            assert shown[ags] == (OUTSIDE_COLOUR, f"{atlas.names[list(atlas.ags).index(ags)]} ({ags}): "
                                                  "nicht im Vergleich")
    # The snapshot has no coworking data: every town of the group is hatched on that pillar, with the reason.
    shown = titles(choropleth_svg(atlas, list(everywhere), "Deutschland", "local_work_infrastructure"))
    for ags in PILOTS:
        fill, text = shown[ags]
        assert fill == "url(#ohne-wert)"
        assert text.endswith("ohne Wert: keine Daten (Quellen: eigene Angaben der Stadt, Coworking-Spaces (OpenStreetMap)) für diesen Zeitraum")


def test_names_are_escaped_in_svg_and_map_data(data):
    atlas = AtlasData(data)
    target = next(iter(PILOTS))
    i = list(atlas.ags).index(target)
    evil = '<script>alert("x")</script> & Co'
    atlas.names = atlas.names.copy()  # under copy-on-write the array is a read-only view of the frame
    atlas.names[i] = evil
    svg = choropleth_svg(atlas, [i], "<Land>", "score")
    assert "<script>" not in svg and "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; Co" in svg
    assert "&lt;Land&gt;" in svg
    assert titles(svg)[target][1].startswith(evil)  # the XML parser gives the name back unchanged
    script = data_script(geojson(atlas, set()))
    assert "<" not in script and ">" not in script and "&" not in script
    decoded = json.loads(script[script.index("{"):script.rindex("}") + 1])
    assert decoded["features"][0]["type"] == "Feature"
    assert next(f for f in decoded["features"] if f["properties"]["ags"] == target)["properties"]["name"] == evil


def test_map_data_links_only_existing_local_reports(data, snapshot_warehouse, published_scores, tmp_path):
    moelln = next(a for a, n in PILOTS.items() if n == "Mölln")
    build_town_report(snapshot_warehouse, tmp_path, moelln)
    written = build_webmap(data, tmp_path)
    assert (tmp_path / "atlas" / "vendor" / "leaflet-1.9.4" / "leaflet.js").is_file()
    assert (tmp_path / "atlas" / "vendor" / "leaflet-1.9.4" / "LICENSE").is_file()
    script = (tmp_path / "atlas" / "karte-daten.js").read_text(encoding="utf-8")
    collection = json.loads(script[script.index("{"):script.rindex("}") + 1])
    features = {f["properties"]["ags"]: f["properties"] for f in collection["features"]}
    assert {a for a, p in features.items() if p["href"]} == {moelln}
    assert features[moelln]["href"] == f"../{moelln}.html"
    for ags, score in published_scores.items():
        assert features[ags]["value"][0] == round(score, 1) and features[ags]["why"][0] is None
    reasons = collection["reasons"]
    outside = [a for a, p in features.items() if not data.towns.loc[a, "in_reference_group"]]
    assert outside and all(reasons[features[a]["why"][0]] == {"status": "outside", "text": "nicht im Vergleich"}
                           for a in outside)
    coworking = {reasons[features[a]["why"][MEASURES.index("local_work_infrastructure")]]["text"] for a in PILOTS}
    assert coworking == {"ohne Wert: keine Daten (Quellen: eigene Angaben der Stadt, Coworking-Spaces (OpenStreetMap)) für diesen Zeitraum"}
    # Coordinates rounded to DECIMALS, all inside Germany.
    coords = [c for f in collection["features"] for poly in f["geometry"]["coordinates"] for ring in poly
              for c in ring]
    assert all(round(x, DECIMALS) == x and round(y, DECIMALS) == y and 5 < x < 16 and 47 < y < 56 for x, y in coords)
    html = written[0].read_text(encoding="utf-8")
    assert not re.search(r"(src|href)=\"(https?:)?//", html), "the map page must load nothing from the web"


def test_readiness_karte_writes_maps_that_link_existing_reports(snapshot_warehouse, monkeypatch, tmp_path, capsys):
    from cli.main import main

    monkeypatch.setenv("READINESS_WAREHOUSE", str(snapshot_warehouse))
    out = tmp_path / "berichte"
    moelln = next(a for a, n in PILOTS.items() if n == "Mölln")
    build_town_report(snapshot_warehouse, out, moelln)
    assert main(["karte", "--out", str(out)]) == 0
    assert f"Karten geschrieben: {out / 'atlas' / 'karte.html'}" in capsys.readouterr().out
    page = (out / "atlas" / "deutschland.html").read_text(encoding="utf-8")
    assert all(f'src="deutschland-{m}.svg"' in page for m in MEASURES)
    assert 'href="karte.html"' in page and 'href="../index.html"' in page and "Schleswig-Holstein" in page
    assert f'"href":"../{moelln}.html"' in (out / "atlas" / "karte-daten.js").read_text(encoding="utf-8")
    karte = (out / "atlas" / "karte.html").read_text(encoding="utf-8")
    # as a JSON string in the script (Jinja's tojson: non-ASCII escaped, no quote can end it)
    assert '"Geometrien: " + "\\u00a9 GeoBasis-DE / BKG (2021), Daten ver\\u00e4ndert"' in karte
