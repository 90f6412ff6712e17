"""Static choropleth maps (SVG, for print) of the index and each pillar: Germany and every Land.

    from reports.atlas import build_atlas
    build_atlas(load(published), out_dir)   # writes <out_dir>/atlas/*.svg and *.html

The Gemeinde boundaries are projected once per run (EPSG:3035, metres) and simplified per map scale with
shapely's coverage simplification (shared borders stay shared, no slivers). Paths are written directly as
SVG text: no matplotlib, so the whole of Germany renders in about a second.
"""

from __future__ import annotations

import gc
import html
import re
import textwrap
import unicodedata
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import shapely

from indicators import flags
from reports.data import InputDates, ReportData
from reports.labels import (PILLARS, attribution_label, boundary_date_de, data_dates_text,
                            de_number, de_score, is_missing, not_scored_reasons, pillar_label, published_score,
                            release_text, shown_number, source_label)
from reports.maps import to_metres
from sources.vintages import release_order

TEMPLATES = Path(__file__).with_name("templates")
MEASURES = ["score", *PILLARS]
# Fixed classes on the 0..100 scale, so every map (index, pillars, Länder) reads the same way.
BREAKS = [20.0, 40.0, 60.0, 80.0]
COLOURS = ["#440154", "#3b528b", "#21918c", "#5ec962", "#fde725"]  # viridis, dark = low, light = high
OUTSIDE_COLOUR = "#c8c8c8"   # not in the reference group: grey, "nicht im Vergleich"
MISSING_COLOUR = "#ffffff"   # in the group but without a value: white with grey hatching
MAP_UNITS = 1000             # long side of a map in SVG units; one unit is ~0.5 px on A4 at full width
LEGEND_UNITS = 400           # width of the legend column right of the map (SVG units)
CREDIT_CHARS = 62            # characters per credit line: ~5.6 units each at font size 10 fit the legend column
LANDS = {"01": "Schleswig-Holstein", "02": "Hamburg", "03": "Niedersachsen", "04": "Bremen",
         "05": "Nordrhein-Westfalen", "06": "Hessen", "07": "Rheinland-Pfalz", "08": "Baden-Württemberg",
         "09": "Bayern", "10": "Saarland", "11": "Berlin", "12": "Brandenburg", "13": "Mecklenburg-Vorpommern",
         "14": "Sachsen", "15": "Sachsen-Anhalt", "16": "Thüringen"}


def measure_label(measure: str) -> str:
    """German name of a mapped measure."""
    return "Readiness-Index" if measure == "score" else pillar_label(measure)


def slug(text: str) -> str:
    """File name part of a German name: 'Baden-Württemberg' -> 'baden-wuerttemberg'."""
    text = text.lower().replace("ä", "ae").replace("ö", "oe").replace("ü", "ue").replace("ß", "ss")
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", text).strip("-")


def class_of(value: float) -> int:
    """Index into COLOURS of a value on the 0..100 scale: the value as shown (``TownValue.value``), so that 79,9875
    shown as "80,0" is in the class from 80 on the print atlas as on the interactive map (whose script puts a value
    ``>=`` a break above it, as ``side="right"`` does here)."""
    return int(np.searchsorted(BREAKS, value, side="right"))


def legend_classes() -> list[tuple[str, str]]:
    """(colour, German label) per class, numbers with decimal comma."""
    bounds = [0.0, *BREAKS, 100.0]
    labels = [f"{de_number(lo)} bis unter {de_number(hi)}" for lo, hi in zip(bounds[:-2], bounds[1:-1])]
    labels.append(f"{de_number(bounds[-2])} bis {de_number(bounds[-1])}")
    return list(zip(COLOURS, labels))


@dataclass
class TownValue:
    """What a map shows for one Gemeinde and one measure: a value, or grey/hatched with the reason."""

    status: str          # "value" | "outside" (not in the reference group) | "missing" (no value)
    value: float | None  # as shown (one decimal, halves away from zero): what both maps classify
    text: str            # German, e.g. "63,2" or "nicht im Vergleich" or "ohne Wert: keine Daten aus ..."


class AtlasData:
    """Gemeinde geometries (projected once) and the latest values of the index and its pillars."""

    def __init__(self, data: ReportData):
        self.data = data
        geometries = data.geometries[data.geometries["ags"].isin(data.towns.index)].reset_index(drop=True)
        self.ags = geometries["ags"].to_numpy()
        geoms = shapely.from_wkb(geometries["geometry_wkb"].map(bytes).to_numpy())
        self.geoms = shapely.make_valid(shapely.transform(geoms, to_metres, interleaved=False))
        self.names = data.towns.loc[self.ags, "name"].to_numpy()
        # the BKG's licence asks for the year of the release the outlines come from (the newest one drawn)
        newest = max(geometries["vintage"], key=release_order, default=None)
        self.geometry_credit = attribution_label("bkg_vg", None, newest)
        self.land = np.array([a[:2] for a in self.ags])
        self.boundary_dates = pd.to_datetime(geometries["territorial_date"]).to_numpy() \
            if "territorial_date" in geometries else None
        self.changed = geometries["territory_changed_since_geometry"].fillna(False).to_numpy(bool) \
            if "territory_changed_since_geometry" in geometries else np.zeros(len(self.ags), dtype=bool)
        # drawn from other keys' outlines: merged or recoded since the boundaries' date (staging.boundaries)
        self.assembled = geometries["assembled_from"].map(len).to_numpy() > 0 if "assembled_from" in geometries \
            else np.zeros(len(self.ags), dtype=bool)
        self.undrawn = data.towns.index[~data.towns.index.isin(self.ags)]  # no geometry: formed after its date
        self.in_group = data.towns.loc[self.ags, "in_reference_group"].fillna(False).to_numpy(bool)
        self.period = data.latest_period
        latest = data.index[data.index["period"] == self.period].set_index("ags") if self.period else None
        latest = (latest.reindex(self.ags) if latest is not None
                  else pd.DataFrame(index=self.ags, columns=["period", *MEASURES, "missing_pillars", "omitted_pillars"]))
        # Plain arrays: value() runs 5 x 11,000 times per map set, pandas' per-cell access was the bottleneck.
        self.values = {m: latest[m].to_numpy(dtype=float, na_value=np.nan) for m in MEASURES}
        self.has_row = latest["period"].notna().to_numpy()
        self.omitted = latest["omitted_pillars"].to_numpy(dtype=object)
        self.missing_pillars = latest["missing_pillars"].to_numpy(dtype=object)
        self.later = later_starts(data.index, self.period, self.ags)
        self.credits = self._value_credits(data)
        dates = data.by_town.get("input_dates")  # what each map's data line is read from (a ReportData has them)
        self.inputs = InputDates(dates.frame if dates is not None else None, self.period, self.ags)

    def boundaries(self, positions) -> str | None:
        """'Gemeindegrenzen: Stand 01.01.2021 (7 Gemeinden in den Grenzen vor einer späteren Gebietsänderung
        gezeichnet, 2 Gemeinden ohne Umriss (fehlen))': the date of the outlines of ``positions`` and what they do
        not show (staging.boundaries' flag and the Gemeinden drawn from other keys' outlines; the towns without a
        geometry of the Länder drawn). The
        town pages' maps said it (context.boundary_de), the atlas did not (dates review of 6 December 2026)."""
        if self.boundary_dates is None or not len(positions):
            return None
        days = [d for d in self.boundary_dates[positions] if not pd.isna(d)]
        if not days:
            return None
        lands = set(self.land[positions])
        changed = int(self.changed[positions].sum())
        assembled = int(self.assembled[positions].sum())
        undrawn = sum(1 for a in self.undrawn if a[:2] in lands)
        notes = []
        if changed:
            notes.append(f"{changed} {'Gemeinde' if changed == 1 else 'Gemeinden'} in den Grenzen vor einer späteren "
                         "Gebietsänderung gezeichnet")
        if assembled:
            notes.append(f"{assembled} {'Gemeinde' if assembled == 1 else 'Gemeinden'} aus den Umrissen mehrerer "
                         "oder früherer Gemeinden gezeichnet")
        if undrawn:  # a Gemeinde of the register without an outline: formed after the boundaries' date
            notes.append(f"{undrawn} {'Gemeinde' if undrawn == 1 else 'Gemeinden'} ohne Umriss "
                         f"({'fehlt' if undrawn == 1 else 'fehlen'})")
        return boundary_date_de(days) + (f" ({', '.join(notes)})" if notes else "")

    def data_dates(self, positions, measure: str) -> str | None:
        """'Daten: Pendler 2019 (alle Eingangswerte fortgeschrieben)': the dates of the inputs behind the values
        ``measure``'s map of ``positions`` colours (labels.data_dates_text), the map's heading gives the index year."""
        shown = positions[self.in_group[positions] & ~np.isnan(self.values[measure][positions])]
        return data_dates_text(*self.inputs.spans(PILLARS if measure == "score" else [measure], shown))

    def value(self, i: int, measure: str) -> TownValue:
        """The value of Gemeinde ``i`` (position) for ``measure``, or why there is none."""
        if not self.in_group[i]:
            return TownValue("outside", None, "nicht im Vergleich")
        value = self.values[measure][i]
        if not np.isnan(value):
            if measure == "score":  # as published and ranked: towns sharing a rank share a colour
                return TownValue("value", published_score(value), de_score(value))
            # the number de_number writes: coloured by the unrounded 79.9875, "80,0" sat in the class below 80
            return TownValue("value", shown_number(value), de_number(value))
        return TownValue("missing", None, "ohne Wert: " + self._reason(i, measure))

    def _reason(self, i: int, measure: str) -> str:
        """German reason why a Gemeinde of the reference group has no value (from the index row)."""
        if self.period is None or not self.has_row[i]:
            return f"kein Indexwert für {self.period}" if self.period else "kein Indexwert berechnet"
        reasons = not_scored_reasons(self.omitted[i] if isinstance(self.omitted[i], str) else None)
        if measure != "score":
            later = self.later.get(measure)
            if later is not None and later[i]:
                return f"Daten dieser Säule erst ab {later[i]}"
            # no value may mean no data or data not scored (a territorial change): the page of the town says which
            return reasons.get(measure, f"kein bewertbarer Wert für {pillar_label(measure)}")
        pillars = flags.pillar_ids(self.missing_pillars[i])
        if pillars:
            return "fehlende Säulen: " + ", ".join(pillar_label(p) for p in pillars)
        return "kein Indexwert berechnet"

    def _value_credits(self, data: ReportData) -> dict[str, list[str]]:
        """Per measure the credits of the sources whose values its map shows (``credit``): per pillar those of
        the indicator values of the published period of the Gemeinden it colours, for the index those of every
        pillar. Why: only the BKG's geometry credit was printed, also under values from OpenStreetMap (ODbL)."""
        # per town the values of the period its page leads with: the published one wherever the town is scored then
        frame = data.by_town["indicators"].frame
        credits = {}
        for pillar in PILLARS:
            shown = self.ags[self.in_group & ~np.isnan(self.values[pillar])]
            rows = frame[(frame["period"] == self.period) & (frame["pillar"] == pillar)
                         & frame["excluded_reason"].isna() & frame["ags"].isin(shown)]
            releases = rows[["source_id", "attribution", "vintage", "licence"]].drop_duplicates()
            credits[pillar] = sorted({credit(*release) for release in releases.itertuples(index=False)})
        credits["score"] = sorted({text for pillar in PILLARS for text in credits[pillar]})
        return credits

    def areas(self) -> list[tuple[str, str, np.ndarray]]:
        """(slug, German name, positions) of Germany and of every Land with Gemeinden."""
        areas = [("deutschland", "Deutschland", np.arange(len(self.ags)))]
        for code, name in LANDS.items():
            positions = np.flatnonzero(self.land == code)
            if len(positions):
                areas.append((slug(name), name, positions))
        return areas


def later_starts(index: pd.DataFrame, period: int | None, ags: np.ndarray) -> dict[str, np.ndarray]:
    """Per pillar whose data start after the published ``period`` (no index row up to it has a value of it), per
    Gemeinde of ``ags`` its first later period with a value as German text ("2023 (vorläufig)"), "" where none.

    Why: coworking data (OpenStreetMap, the towns' own lists) exist for a provisional year only, and "keine Daten
    für diesen Zeitraum" on every Gemeinde read as if there were none at all. Only where no Gemeinde has a value
    up to ``period``: a single town's gap may be a value not scored (territorial change), which its page names."""
    if period is None:
        return {}
    starts = {}
    for pillar in PILLARS:
        rows = index.loc[index[pillar].notna(), ["ags", "period", "period_provisional"]]
        if rows.empty or rows["period"].min() <= period:
            continue
        first = rows.sort_values("period", kind="stable").drop_duplicates("ags").set_index("ags").reindex(ags)
        starts[pillar] = np.array([_from(year, provisional)
                                   for year, provisional in zip(first["period"], first["period_provisional"])])
    return starts


def _from(year, provisional) -> str:
    """'2023 (vorläufig)', '2023', or '' without a year."""
    if pd.isna(year):
        return ""
    return f"{int(year)} (vorläufig)" if not pd.isna(provisional) and bool(provisional) else str(int(year))


def credit(source_id: str, attribution, vintage, licence) -> str:
    """The credit of one release as a town page prints it, attribution then licence: "© BBSR Bonn 2022, INKAR
    (aufbereitet von RegioHub/inkr), dl-de/by-2-0" (sources.yaml's ``attribution_de`` with the release's year)."""
    attribution, vintage, licence = (None if is_missing(v) else v for v in (attribution, vintage, licence))
    text = attribution_label(source_id, attribution, vintage) or source_label(source_id)
    licence = release_text(source_id, "licence", licence)
    return f"{text}, {licence}" if licence else text


class Frame:
    """Maps metres (EPSG:3035) to SVG units: north up, the area's long side MAP_UNITS long."""

    def __init__(self, bounds: np.ndarray):
        self.x0, self.y0, x1, self.y1 = bounds
        self.scale = MAP_UNITS / max(x1 - self.x0, self.y1 - self.y0)
        self.width = (x1 - self.x0) * self.scale
        self.height = (self.y1 - self.y0) * self.scale

    @property
    def metres_per_unit(self) -> float:
        return 1.0 / self.scale

    def paths(self, geoms: np.ndarray) -> list[str]:
        """SVG path data per (multi)polygon, holes included (fill-rule evenodd), in whole units.

        Vectorised over all rings: the numbers are formatted in one join and cut per ring by their
        lengths (per-point formatting took most of the time for 10,000 Gemeinden). Points that round onto
        the previous one are dropped; rings left with fewer than 3 points too."""
        coords, point_ring, ring_part, part_geom = ring_table(geoms)
        x = np.rint((coords[:, 0] - self.x0) * self.scale).astype(np.int64)
        y = np.rint((self.y1 - coords[:, 1]) * self.scale).astype(np.int64)
        keep = np.ones(len(x), dtype=bool)
        keep[1:] = (x[1:] != x[:-1]) | (y[1:] != y[:-1]) | (point_ring[1:] != point_ring[:-1])
        keep &= ~np.r_[point_ring[1:] != point_ring[:-1], True]  # the closing point repeats the first: "Z"
        x, y, point_ring = x[keep], y[keep], point_ring[keep]
        numbers = np.column_stack([x, y]).ravel()
        text = " ".join(map(str, numbers.tolist()))
        widths = _digits(numbers) + 1                     # each number and the space after it
        offsets = np.r_[0, np.cumsum(widths)]
        counts = np.bincount(point_ring, minlength=len(ring_part))
        ends = np.cumsum(counts)
        out = [[] for _ in range(len(geoms))]
        for ring in np.flatnonzero(counts >= 3):
            first, last = 2 * (ends[ring] - counts[ring]), 2 * ends[ring]
            out[part_geom[ring_part[ring]]].append("M" + text[offsets[first]:offsets[last] - 1] + "Z")
        return ["".join(rings_of_geom) for rings_of_geom in out]


def _digits(numbers: np.ndarray) -> np.ndarray:
    """Length of each integer written in decimal (minus sign included)."""
    powers = 10 ** np.arange(1, 19, dtype=np.int64)  # exact integers, no floating-point log10 at 10^k
    return np.searchsorted(powers, np.abs(numbers), side="right") + 1 + (numbers < 0)


def ring_table(geoms: np.ndarray):
    """All rings of (multi)polygons at once: coordinates, ring of each point, part of each ring, geometry
    of each part (exterior ring first within a part). Non-polygon parts are left out."""
    parts, part_of = shapely.get_parts(geoms, return_index=True)
    polygons = shapely.get_type_id(parts) == 3
    rings, ring_part = shapely.get_rings(parts[polygons], return_index=True)
    coords, point_ring = shapely.get_coordinates(rings, return_index=True)
    return coords, point_ring, ring_part, part_of[polygons]


def simplified(geoms: np.ndarray, tolerance_m: float) -> np.ndarray:
    """Coverage simplification (neighbours keep a shared border); falls back per polygon if GEOS refuses."""
    try:
        return shapely.coverage_simplify(geoms, tolerance_m)
    except shapely.errors.GEOSException:  # an invalid coverage (overlaps): simplify each polygon alone
        return shapely.simplify(geoms, tolerance_m, preserve_topology=True)


class AreaMap:
    """The shapes of one area drawn once (projection frame, simplified paths, Land borders), reused for
    every measure: only the fills and tooltips change between the index and its pillars."""

    def __init__(self, atlas: AtlasData, positions, name: str, land_borders: bool = False):
        self.atlas, self.positions, self.name = atlas, np.asarray(positions), name
        self.boundary = atlas.boundaries(self.positions)
        self.data_dates = {measure: atlas.data_dates(self.positions, measure) for measure in MEASURES}
        geoms = atlas.geoms[self.positions]
        self.frame = Frame(np.asarray(shapely.total_bounds(geoms)))
        shapes = simplified(geoms, self.frame.metres_per_unit * 0.7)
        self.paths = self.frame.paths(shapes)
        self.borders = ""
        if land_borders:
            lands = atlas.land[self.positions]
            outlines = np.array([_union(shapes[lands == code]) for code in np.unique(lands)], dtype=object)
            self.borders = "".join(f'<path d="{d}"/>' for d in self.frame.paths(outlines) if d)

    def svg(self, measure: str) -> str:
        """The standalone SVG of ``measure``: every Gemeinde filled by class, with tooltip and legend."""
        atlas, rows = self.atlas, []
        for i, d in zip(self.positions, self.paths):
            if not d:
                continue
            value = atlas.value(i, measure)
            fill = (COLOURS[class_of(value.value)] if value.status == "value"
                    else OUTSIDE_COLOUR if value.status == "outside" else "url(#ohne-wert)")
            title = html.escape(f"{atlas.names[i]} ({atlas.ags[i]}): {value.text}")
            rows.append(f'<path d="{d}" fill="{fill}" class="{value.status}"><title>{title}</title></path>')
        return _svg_document(self.frame, self.name, measure, atlas.period, "\n".join(rows), self.borders,
                             credit_lines(atlas.geometry_credit, atlas.credits[measure],
                                          self.data_dates[measure], self.boundary))


def _union(shapes: np.ndarray):
    """Outline of a Land: coverage union of its simplified Gemeinden (fast); a general union if they overlap."""
    try:
        return shapely.coverage_union_all(shapes)
    except shapely.errors.GEOSException:
        return shapely.union_all(shapes, grid_size=1.0)


def choropleth_svg(atlas: AtlasData, positions, area: str, measure: str, land_borders: bool = False) -> str:
    """One standalone SVG map of ``positions`` (a single measure; build_atlas reuses the shapes instead)."""
    return AreaMap(atlas, positions, area, land_borders).svg(measure)


def credit_lines(geometry_credit: str, value_credits: list[str], data_dates: str | None = None,
                 boundary: str | None = None) -> list[str]:
    """The lines under a map's legend, wrapped to the legend's width: the dates of its data and of its boundaries,
    then the credits: geometries, then each source of values."""
    texts = [*filter(None, [data_dates, boundary]), f"Geometrien: {geometry_credit}",
             *(f"Werte: {c}" for c in value_credits)]
    return [line for text in texts for line in textwrap.wrap(text, CREDIT_CHARS, break_on_hyphens=False)]


def _svg_document(frame: Frame, area: str, measure: str, period: int | None, paths: str, borders: str,
                  credits: list[str]) -> str:
    """The SVG text: map, Land borders, heading and legend to the right of the map, credits under the legend."""
    lx = round(frame.width + 24)
    rows = [*legend_classes(), (OUTSIDE_COLOUR, "nicht im Vergleich"), ("url(#ohne-wert)", "ohne Wert")]
    note_y = 96 + 26 * len(rows) + 16
    # the credits below the notes (three lines), at the bottom of a map taller than legend and credits
    width, height = frame.width + LEGEND_UNITS, max(frame.height, 420.0, note_y + 48 + 13 * len(credits) + 10)
    heading = html.escape(f"{measure_label(measure)} {period or ''}".strip())
    place = html.escape(area)
    legend = "".join(
        f'<rect x="{lx}" y="{96 + 26 * k}" width="22" height="16" fill="{colour}" stroke="#555" '
        f'stroke-width="0.5"/><text x="{lx + 30}" y="{109 + 26 * k}">{html.escape(label)}</text>'
        for k, (colour, label) in enumerate(rows))
    notes = ["Grau: außerhalb der Vergleichsgruppe.", "Schraffiert: ohne Wert, Grund im",
             "Tooltip der Gemeinde (SVG im Browser)."]
    note = "".join(f'<text x="{lx}" y="{note_y + 16 * k}" font-size="11">{html.escape(t)}</text>'
                   for k, t in enumerate(notes))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width:.0f} {height:.0f}" '
        f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="{heading} – {place}" '
        'font-family="DejaVu Sans, Arial, sans-serif" font-size="13">\n'
        f'<title>{heading} – {place}</title>\n'
        '<defs><pattern id="ohne-wert" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" fill="#ffffff"/>'
        '<line x1="0" y1="0" x2="0" y2="6" stroke="#8c8c8c" stroke-width="2"/></pattern></defs>\n'
        f'<g stroke="#ffffff" stroke-width="0.15" stroke-linejoin="round" fill-rule="evenodd">\n{paths}\n</g>\n'
        f'<g fill="none" stroke="#222" stroke-width="0.8" fill-rule="evenodd">{borders}</g>\n'
        f'<text x="{lx}" y="24" font-size="17" font-weight="bold">{heading}</text>\n'
        f'<text x="{lx}" y="46" font-size="15">{place}</text>\n'
        f'<text x="{lx}" y="78">Wert 0–100 (höher = besser)</text>\n{legend}\n{note}\n'
        f'{_credits_svg(lx, height, credits)}</svg>\n')


def _credits_svg(x: float, height: float, lines: list[str]) -> str:
    """The credit lines at the bottom of the legend column, the last one 10 units above the map's bottom."""
    top = height - 10 - 13 * (len(lines) - 1)
    return "".join(f'<text x="{x}" y="{top + 13 * k:.0f}" font-size="10">{html.escape(line)}</text>\n'
                   for k, line in enumerate(lines))


def build_atlas(data: ReportData, out_dir: Path, atlas: AtlasData | None = None) -> list[Path]:
    """Write ``atlas/<area>-<measure>.svg`` for Germany and every Land, one HTML page per area; paths."""
    with paused_gc():
        return _build_atlas(atlas or AtlasData(data), Path(out_dir))


def _build_atlas(atlas: AtlasData, out_dir: Path) -> list[Path]:
    target = out_dir / "atlas"
    target.mkdir(parents=True, exist_ok=True)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATES), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    areas = atlas.areas()
    nav = [{"slug": s, "name": n} for s, n, _ in areas]
    written = []
    for area_slug, name, positions in areas:
        area = AreaMap(atlas, positions, name, land_borders=area_slug == "deutschland")
        maps = []
        for measure in MEASURES:
            path = target / f"{area_slug}-{measure}.svg"
            path.write_text(area.svg(measure), encoding="utf-8")
            written.append(path)
            maps.append({"file": path.name, "label": measure_label(measure), "credits": atlas.credits[measure],
                         "data_dates": area.data_dates[measure]})
        page = env.get_template("atlas.html.j2").render(
            area=name, slug=area_slug, maps=maps, nav=nav, period=atlas.period, towns=de_number(len(positions), 0),
            geometry_credit=atlas.geometry_credit, boundary=area.boundary)
        written.append(_write(target / f"{area_slug}.html", page))
    return written


@contextmanager
def paused_gc():
    """No cyclic garbage collection while maps are built: the loaded ReportData holds millions of Python
    objects, and every collection that the map's many small allocations trigger walks them all (measured:
    most of the run time on full Germany). Nothing built here forms reference cycles."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
