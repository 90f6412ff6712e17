"""The hand-written SVG of the reports: valid XML, data text escaped, provisional years drawn differently,
maps with coloured, labelled neighbours. Pure unit tests on small frames and shapes (no warehouse)."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np
import pandas as pd
import pytest
import shapely

from reports import charts, maps

EVIL = 'Bad <Town> & "Co"'


def parse(svg: str) -> ET.Element:
    """Parse as XML: an unescaped '<' or '&' from the data makes this fail."""
    return ET.fromstring(svg)


def texts(root: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in root.iter("text")]


def history(provisional=None) -> pd.DataFrame:
    frame = pd.DataFrame({"period": [2019, 2020, 2021, 2022], "score": [50.0, np.nan, 60.0, 62.0],
                          "score_p05": [40.0, np.nan, 52.0, 55.0], "score_p95": [58.0, np.nan, 66.0, 70.0]})
    if provisional is not None:
        frame["provisional"] = pd.array(provisional, dtype="boolean")
    return frame


def test_history_chart_without_provisional_column():
    root = parse(charts.history_chart(history(), "hist-1"))
    circles = list(root.iter("circle"))
    assert len([c for c in circles if c.get("fill") == charts.SCORE_COLOUR]) == 3 + 1  # 3 scored years + legend
    assert not [c for c in circles if c.get("fill") == "#ffffff"]
    assert not [e for e in root.iter() if e.get("stroke-dasharray")]
    assert "vorläufig" not in root.get("aria-label")
    # one band polygon for 2021-2022 (2019 stands alone: error bar only), tick labels of every period
    assert len(list(root.iter("polygon"))) == 1
    assert {"2019", "2020", "2021", "2022"} <= set(texts(root))


def test_provisional_years_are_hollow_and_dashed_and_named():
    root = parse(charts.history_chart(history([False, False, False, True]), "hist-1"))
    hollow = [c for c in root.iter("circle") if c.get("fill") == "#ffffff"]
    assert len(hollow) == 1 + 1  # 2022 and its legend entry
    dashed = [e for e in root.iter("line") if e.get("stroke-dasharray")]
    assert len(dashed) == 1 + 1  # the segment 2021-2022 and the legend entry
    assert float(dashed[0].get("x1")) < float(dashed[0].get("x2"))
    assert "vorläufig" in root.get("aria-label") and any("vorläufig" in t for t in texts(root))


def test_provisional_na_counts_as_final():
    root = parse(charts.history_chart(history([None, None, None, None]), "h"))
    assert not [c for c in root.iter("circle") if c.get("fill") == "#ffffff"]


def test_network_chart_escapes_town_names():
    svg = charts.network_chart({EVIL: history(), "Mölln": history()}, "network")
    assert EVIL not in svg
    assert EVIL in texts(parse(svg))


# Colour-vision deficiency simulation (Viénot, Brettel, Mollon 1999, in linear RGB) and CIE76 colour
# distance: written here independently of the report code, so the palette check can fail.
CVD = {"normal": np.eye(3),
       "protan": np.array([[0.11238, 0.88762, 0.0], [0.11238, 0.88762, 0.0], [0.00401, -0.00401, 1.0]]),
       "deutan": np.array([[0.29275, 0.70725, 0.0], [0.29275, 0.70725, 0.0], [-0.02234, 0.02234, 1.0]])}


def lab(hex_colour: str, deficiency: str) -> np.ndarray:
    srgb = np.array([int(hex_colour[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(srgb <= 0.04045, srgb / 12.92, ((srgb + 0.055) / 1.055) ** 2.4)
    linear = np.clip(CVD[deficiency] @ linear, 0, 1)
    xyz = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]]) @ linear
    xyz /= np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > 0.008856, np.cbrt(xyz), 7.787 * xyz + 16 / 116)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def closest(palette: list[str], deficiency: str) -> float:
    """The smallest colour distance (ΔE) between two colours of ``palette`` as seen with ``deficiency``."""
    points = [lab(c, deficiency) for c in palette]
    return min(float(np.linalg.norm(a - b)) for i, a in enumerate(points) for b in points[i + 1:])


def test_eight_comparison_colours_stay_apart_with_colour_blindness():
    """Issue 16: the comparison page shows up to 8 towns; their colours differ for normal vision and
    with red-green colour blindness (no pair closer than ΔE 15 after simulation), and none is white-ish."""
    from reports.build import MAX_COMPARE
    assert len(set(charts.PILOT_COLOURS)) == len(charts.PILOT_COLOURS) >= MAX_COMPARE
    for deficiency in CVD:
        assert closest(charts.PILOT_COLOURS, deficiency) >= 15, deficiency
    assert all(lab(c, "normal")[0] < 92 for c in charts.PILOT_COLOURS)  # visible on white paper


def test_colour_blindness_check_catches_a_red_green_pair():
    # the check above can fail: a common red and green, far apart for normal vision, merge for a deuteranope
    assert closest(["#d62728", "#2ca02c"], "normal") > 100 and closest(["#d62728", "#2ca02c"], "deutan") < 15


def test_network_chart_draws_eight_towns_in_eight_colours_and_refuses_nine():
    towns = {f"Stadt {i}": history() for i in range(8)}
    root = parse(charts.network_chart(towns, "acht"))
    strokes = {line.get("stroke") for line in root.iter("line") if line.get("stroke-width") == "1.8"}
    assert strokes == set(charts.PILOT_COLOURS)
    with pytest.raises(ValueError, match="9 towns, but only 8"):
        charts.network_chart({**towns, "Stadt 9": history()}, "neun")


def square(x0: float, y0: float, size: float = 0.05) -> shapely.Polygon:
    return shapely.box(x0, y0, x0 + size, y0 + size)


@pytest.fixture
def geoms() -> maps.TownGeometries:
    """Three touching squares of about 3.4 km (lon/lat near Mölln) and one far away."""
    shapes = {"01000001": square(10.60, 53.60), "01000002": square(10.65, 53.60), "01000003": square(10.60, 53.65),
              "01000009": square(11.50, 54.20)}
    names = {"01000001": EVIL, "01000002": "Nachbarort", "01000003": "Anderswo", "01000009": "Weit weg"}
    frame = pd.DataFrame({"ags": list(shapes), "name": [names[a] for a in shapes],
                          "geometry_wkb": [shapely.to_wkb(g) for g in shapes.values()]})
    return maps.TownGeometries(frame)


def test_town_map_colours_labels_and_escapes(geoms):
    scores = pd.Series({"01000001": 80.0, "01000002": 20.0})
    svg = maps.town_map(geoms, "01000001", EVIL, scores, 2023)
    root = parse(svg)
    assert geoms.neighbours("01000001") == ["01000002", "01000003"]
    fills = [p.get("fill") for p in root.iter("path")]
    assert fills == [maps.colour(20.0), maps.MISSING_COLOUR, maps.colour(80.0)]  # neighbours, then the town
    assert maps.colour(0) == maps.VIRIDIS[0] and maps.colour(100) == maps.VIRIDIS[-1]
    labels = texts(root)
    assert EVIL in labels and "Nachbarort" in labels and "Anderswo" in labels and "Weit weg" not in labels
    assert "Indexwert 2023" in labels and "nicht bewertet" in labels and any(t.endswith(" km") for t in labels)
    assert EVIL not in svg  # only escaped


def test_shapes_are_cached_per_run(geoms):
    first = geoms.shape("01000002")
    assert geoms.shape("01000002") is first
    path, (minx, miny, maxx, maxy), _ = first
    assert path.startswith("M") and path.endswith("Z")
    assert 3_000 < maxx - minx < 4_000  # 0.05° of longitude at 53.6° N is about 3.3 km


def test_every_chart_s_accessible_name_gives_its_years(geoms):
    """A screen reader read "Indexverlauf", "Säulen des Index (0–100)" or "Beiträge zur Veränderung" without the
    year the visible headings give (dates review of 6 December 2026): each SVG's aria-label names its years."""
    from reports.context import drivers, pillar_chart

    assert parse(charts.history_chart(history(), "h")).get("aria-label").startswith(
        "Indexverlauf 2019–2022 mit Unsicherheitsband")  # the scored years: 2020 has no score, 2019 and 2022 do
    only = history().assign(score=[np.nan, np.nan, 60.0, np.nan])
    assert parse(charts.history_chart(only, "h")).get("aria-label").startswith("Indexverlauf 2021 mit")
    assert parse(charts.network_chart({"Mölln": history()}, "n")).get("aria-label") == (
        "Indexverlauf der Pilotstädte 2019–2022")
    rows = [{"label": "Digitale Infrastruktur", "value": 70.0}]
    assert parse(pillar_chart(rows, 2021)).get("aria-label") == "Säulen des Index 2021 (0–100)"
    assert parse(pillar_chart(rows, None)).get("aria-label") == "Säulen des Index (0–100)"
    change = drivers([{"ags": "01053090", "period_from": 2018, "period_to": 2021, "score_from": 50.0, "score_to": 52.0,
                       "indicator_id": "gigabit_coverage", "label": "Gigabit", "pillar": "digital_infrastructure",
                       "contribution": 2.0, "value_from": 10.0, "value_to": 30.0}])[0]
    assert parse(change["chart"]).get("aria-label") == "Beiträge zur Veränderung des Indexwerts von 2018 bis 2021"
    scores = pd.Series({"01000001": 80.0})
    assert parse(maps.town_map(geoms, "01000001", "Mölln", scores, 2023)).get("aria-label") == (
        "Karte: Mölln und Nachbargemeinden nach Indexwert 2023")
