"""Town reports built from the snapshot warehouse: sections present, figures equal to the warehouse, offline."""

from __future__ import annotations

import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

import duckdb
import pytest
from dagster import materialize

from indicators.catalogue import load_catalogue
from pipelines.assets.reports import town_reports
from pipelines.resources import ReadinessSettings
from reports.build import REPORTS_DIR_ENV, build_reports, build_town_report, reports_dir

PILOTS = list(load_catalogue().pilot_towns)
MOELLN = next(ags for ags, name in load_catalogue().pilot_towns.items() if name == "Mölln")
SECTIONS = ["ueberblick", "indexverlauf", "saeulen", "treiber", "indikatoren", "vergleichsstaedte", "karte",
            "pendlerstroeme", "coworking", "datenstand"]
PILLAR_LABELS = ["Digitale Infrastruktur", "Pendelpotenzial", "Demografische Dynamik", "Lokale Arbeitsinfrastruktur"]
LATEST_INDEX = """
SELECT score, rank, rank_p05, rank_p95, compared_towns, period, method_version, local_work_infrastructure
FROM readiness_index WHERE ags = ? AND method_version = (SELECT max(method_version) FROM readiness_index)
ORDER BY period DESC LIMIT 1"""


class ElementText(HTMLParser):
    """Text content of every element with an id (void and self-closing elements have none)."""

    VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}

    def __init__(self, html: str):
        super().__init__()
        self.stack: list[tuple[str, str | None]] = []
        self.texts: dict[str, list[str]] = {}
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        element_id = dict(attrs).get("id")
        self.stack.append((tag, element_id))
        if element_id:
            self.texts.setdefault(element_id, [])

    def handle_endtag(self, tag):
        while self.stack and self.stack.pop()[0] != tag:
            pass

    def handle_data(self, data):
        for _, element_id in self.stack:
            if element_id:
                self.texts[element_id].append(data)

    def __getitem__(self, element_id: str) -> str:
        return " ".join("".join(self.texts[element_id]).split())


def german(value: float, digits: int = 1) -> str:
    """German number format, written independently of reports.labels."""
    return f"{value:,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")


def german_rank(value: float) -> str:
    return german(value, 0 if float(value).is_integer() else 1)


@pytest.fixture(scope="module")
def pilot_reports(snapshot_warehouse, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("reports")
    paths = build_reports(snapshot_warehouse, out, towns=PILOTS)
    assert sorted(p.name for p in paths) == sorted([f"{a}.html" for a in PILOTS] + ["netzwerk.html", "index.html"])
    return out


def section_html(html: str, section: str) -> str:
    start = html.index(f'<section id="{section}">')
    return html[start:html.index("</section>", start)]


def page(out: Path, name: str) -> tuple[str, ElementText]:
    html = (out / name).read_text(encoding="utf-8")
    return html, ElementText(html)


@pytest.mark.parametrize("ags", PILOTS)
def test_every_section_is_there(pilot_reports, ags):
    html, text = page(pilot_reports, f"{ags}.html")
    for section in SECTIONS:
        assert f'<section id="{section}">' in html, f"{ags}: section {section} missing"
        assert text[section], f"{ags}: section {section} is empty"
    for label in ["Überblick", "Indexverlauf", "Säulen", "Treiber der Veränderung", "Indikatoren",
                  "Vergleichsstädte", "Karte", "Pendlerströme", "Coworking", "Datenstand", *PILLAR_LABELS]:
        assert label in html, f"{ags}: German label {label!r} missing"
    for section in ["indexverlauf", "saeulen", "karte"]:
        assert "<svg" in section_html(html, section), f"{ags}: no chart in {section}"


@pytest.mark.parametrize("ags", PILOTS)
def test_overview_figures_equal_the_warehouse(pilot_reports, warehouse, ags):
    score, rank, p05, p95, compared, period, method, coworking = warehouse.execute(LATEST_INDEX, [ags]).fetchone()
    _, text = page(pilot_reports, f"{ags}.html")
    assert text["score"] == (german(score) if score is not None else "nicht bewertet")
    if rank is not None:
        assert text["rank"] == str(rank)
        assert text["compared-towns"] == str(compared)
        assert text["rank-band"] == f"{german_rank(p05)}–{german_rank(p95)}"
    assert text["period"] == str(period) and text["method-version"] == method
    assert coworking is None and "nicht bewertet" in text["pillar-local_work_infrastructure"]


@pytest.mark.parametrize("ags", PILOTS)
def test_indicator_values_and_provenance_equal_the_warehouse(pilot_reports, warehouse, ags):
    rows = warehouse.execute("""
        SELECT v.indicator_id, v.value, v.period, v.vintage, r.licence
        FROM indicator_values v JOIN (SELECT DISTINCT source_id, vintage, licence FROM source_releases) r
          USING (source_id, vintage)
        WHERE v.ags = ? QUALIFY row_number() OVER (PARTITION BY v.indicator_id ORDER BY v.period DESC) = 1""",
                             [ags]).fetchall()
    assert rows
    _, text = page(pilot_reports, f"{ags}.html")
    for indicator, value, period, vintage, licence in rows:
        cells = text[f"indicator-{indicator}"]
        assert german(value, 2) in cells and str(period) in cells and vintage in cells and licence in cells


@pytest.mark.parametrize("ags", PILOTS)
def test_peers_and_flows_equal_the_warehouse(pilot_reports, warehouse, ags):
    _, text = page(pilot_reports, f"{ags}.html")
    peers = warehouse.execute("SELECT m.name, p.similarity FROM peer_towns p JOIN municipalities m "
                              "ON m.ags = p.peer_ags WHERE p.ags = ? ORDER BY p.rank", [ags]).fetchall()
    for name, similarity in peers:
        assert name in text["vergleichsstaedte"] and german(similarity, 2) in text["vergleichsstaedte"]
    top = warehouse.execute("""
        SELECT f.commuters, k.name FROM commuter_flows f JOIN municipalities m ON m.kreis_ags = f.home_kreis
        JOIN kreise k ON k.ags = f.work_kreis
        WHERE m.ags = ? ORDER BY f.reference_date DESC, f.commuters DESC LIMIT 1""", [ags]).fetchone()
    assert "Kreisebene" in text["pendlerstroeme"]
    assert german(top[0], 0) in text["pendlerstroeme"]
    assert top[1] in text["pendlerstroeme"]  # named from the BKG Kreis layer, also outside the pilot Kreise


def test_coworking_note_when_no_spaces_were_loaded(pilot_reports, warehouse):
    assert warehouse.execute("SELECT count(*) FROM coworking_spaces").fetchone()[0] == 0  # offline snapshot
    for ags in PILOTS:
        _, text = page(pilot_reports, f"{ags}.html")
        assert "Keine Daten aus OpenStreetMap geladen" in text["coworking-note"]


def test_coworking_spaces_near_the_town_are_listed(snapshot_warehouse, tmp_path):
    copy = tmp_path / "with_osm.duckdb"
    shutil.copy(snapshot_warehouse, copy)
    moelln = MOELLN
    with duckdb.connect(str(copy)) as con:
        lon, lat = con.execute("SELECT lon, lat FROM municipalities WHERE ags = ?", [moelln]).fetchone()
        con.execute("""INSERT INTO coworking_spaces (osm_type, osm_id, name, lat, lon, kind, ags, vintage)
                       VALUES ('node', 1, 'Werkraum am Markt', ?, ?, 'amenity=coworking_space', ?, '2026-11-01'),
                              ('node', 2, 'Weit weg', ?, ?, 'office=coworking', NULL, '2026-11-01')""",
                    [lat, lon, moelln, lat + 1.0, lon])
    html = build_town_report(copy, tmp_path / "out", moelln).read_text(encoding="utf-8")
    coworking = ElementText(html)["coworking"]
    assert "Werkraum am Markt" in coworking and "in der Gemeinde" in coworking
    assert "Weit weg" not in coworking  # about 110 km north
    assert "Keine Daten aus OpenStreetMap geladen" not in html


@pytest.mark.parametrize("name", [f"{a}.html" for a in PILOTS] + ["netzwerk.html", "index.html"])
def test_pages_load_nothing_from_elsewhere(pilot_reports, name):
    html, _ = page(pilot_reports, name)
    assert not re.search(r"<(script|link|img|iframe|object|embed)\b", html, re.I)
    assert "@import" not in html and not re.search(r"url\(\s*['\"]?(https?:)?//", html)
    # The only http(s) addresses are licence links a reader may follow, never something the page loads.
    for match in re.finditer(r"https?://", html):
        before = html[max(0, match.start() - 9):match.start()]
        assert before.endswith('<a href="') or before.endswith(' href="'), \
            f"{name}: external reference outside a link: {html[match.start() - 60:match.start() + 60]!r}"
        assert re.search(r"<a [^>]*$", html[max(0, match.start() - 200):match.start()])


def test_datenstand_names_every_source(pilot_reports, warehouse):
    _, text = page(pilot_reports, f"{MOELLN}.html")
    for source, vintage, licence in warehouse.execute(
            "SELECT source_id, max(vintage), any_value(licence) FROM source_releases GROUP BY source_id").fetchall():
        row = text[f"source-{source}"]
        assert vintage in row and licence in row


def test_network_page_shows_the_pilots_side_by_side(pilot_reports, warehouse):
    _, text = page(pilot_reports, "netzwerk.html")
    for ags in PILOTS:
        score = warehouse.execute(LATEST_INDEX, [ags]).fetchone()[0]
        assert text[f"score-{ags}"] == (german(score) if score is not None else "nicht bewertet")


def test_index_lists_every_town_and_links_the_pages_built(pilot_reports, warehouse):
    html, text = page(pilot_reports, "index.html")
    towns = warehouse.execute("SELECT ags, name FROM municipalities").fetchall()
    for ags, name in towns:
        assert name in text[f"town-{ags}"]
    assert sorted(re.findall(r'href="(\d{8})\.html"', html)) == sorted(PILOTS)


def test_unknown_town_and_missing_warehouse_are_named(snapshot_warehouse, tmp_path):
    with pytest.raises(ValueError, match="01053999"):
        build_reports(snapshot_warehouse, tmp_path, towns=["01053999"])
    with pytest.raises(FileNotFoundError, match="nothere.duckdb"):
        build_town_report(tmp_path / "nothere.duckdb", tmp_path, MOELLN)


def test_reports_dir_default_and_override(monkeypatch, tmp_path):
    monkeypatch.delenv(REPORTS_DIR_ENV, raising=False)
    assert reports_dir().parts[-2:] == ("data", "reports")
    monkeypatch.setenv(REPORTS_DIR_ENV, str(tmp_path / "elsewhere"))
    assert reports_dir() == (tmp_path / "elsewhere").resolve()


def test_asset_writes_a_page_per_town_in_scope(snapshot_warehouse, warehouse, tmp_path):
    result = materialize([town_reports], resources={"settings": ReadinessSettings(
        warehouse_path=str(snapshot_warehouse), reports_dir=str(tmp_path / "reports"))})
    assert result.success
    towns = {row[0] for row in warehouse.execute(
        "SELECT ags FROM municipalities WHERE in_reference_group OR is_pilot").fetchall()}
    assert len(towns) < warehouse.execute("SELECT count(*) FROM municipalities").fetchone()[0]
    written = {p.stem for p in (tmp_path / "reports").glob("*.html")}
    assert written == towns | {"index", "netzwerk"}
    metadata = result.asset_materializations_for_node("town_reports")[0].metadata
    assert metadata["pages"].value == len(towns) + 2
    assert metadata["moelln"].value.endswith(f"/{MOELLN}.html")
