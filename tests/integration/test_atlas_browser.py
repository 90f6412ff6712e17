"""The interactive map (karte.html) in Debian's Chromium: loads offline, hover shows name and score, click opens
the town report. Screenshots land in test-artifacts/ (karte-uebersicht.png, karte-hover.png)."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from indicators.catalogue import load_catalogue
from reports.build import build_town_report
from reports.data import load
from reports.labels import de_number
from reports.webmap import build_webmap
from warehouse.paths import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
MOELLN = next(ags for ags, name in load_catalogue().pilot_towns.items() if name == "Mölln")

# Page coordinates of a Gemeinde: its inner point (from the map data) through Leaflet's own projection.
POINT_ON_PAGE = """ags => {
  const f = window.KARTE_DATEN.features.find(f => f.properties.ags === ags);
  const p = window.karte.map.latLngToContainerPoint(f.properties.point);
  const box = document.getElementById('karte').getBoundingClientRect();
  return [box.left + p.x, box.top + p.y];
}"""


def test_interactive_map_offline_hover_and_click(snapshot_warehouse, warehouse, tmp_path):
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium), as CI does; "
                    "Playwright's own browser download is not used")
    score = warehouse.execute(
        "SELECT score FROM latest_ranking WHERE ags = ?", [MOELLN]).fetchone()[0]  # the published period
    report = build_town_report(snapshot_warehouse, tmp_path, MOELLN)
    page_path = build_webmap(load(snapshot_warehouse), tmp_path)[0]
    requested, blocked = [], []
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            context = browser.new_context(viewport={"width": 1280, "height": 900})
            # Every request that is not a local file is refused (and recorded): the page must not need one.
            context.route(lambda url: not url.startswith("file:"),
                          lambda route: (blocked.append(route.request.url), route.abort()))
            page = context.new_page()
            page.on("request", lambda request: requested.append(request.url))
            errors = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            page.goto(page_path.as_uri(), wait_until="load")
            page.wait_for_function("window.karte && window.karte.layer.getLayers().length > 0")
            assert errors == []
            drawn = page.evaluate("window.karte.layer.getLayers().length")
            assert drawn == page.evaluate("window.KARTE_DATEN.features.length") > 100
            assert page.locator(".legend").inner_text().count("bis") == 5
            page.screenshot(path=str(ARTIFACTS / "karte-uebersicht.png"))

            # Zoom in on Mölln (zoom works), then hover it: the info panel names it with its score.
            page.evaluate("ags => { const f = window.KARTE_DATEN.features.find(f => f.properties.ags === ags);"
                          " window.karte.map.setView(f.properties.point, 11, {animate: false}); }", MOELLN)
            assert page.evaluate("window.karte.map.getZoom()") == 11
            x, y = page.evaluate(POINT_ON_PAGE, MOELLN)
            page.mouse.move(x, y)
            page.wait_for_function("document.getElementById('info').innerText.includes('Mölln')")
            info = page.locator("#info").inner_text()
            assert "Mölln, Stadt" in info and f"Readiness-Index: {de_number(score)}" in info
            page.screenshot(path=str(ARTIFACTS / "karte-hover.png"))

            # Switching to a pillar changes what the panel reports for the town under the mouse.
            page.select_option("#messgroesse", label="Lokale Arbeitsinfrastruktur")
            page.wait_for_function("document.getElementById('info').innerText.includes('Lokale Arbeits')")
            assert "ohne Wert" in page.locator("#info").inner_text()

            # Click: the town report opens.
            with page.expect_navigation():
                page.mouse.click(x, y)
            assert page.url == report.as_uri()
            assert page.locator("h1").inner_text() == "Mölln, Stadt"
        finally:
            browser.close()
    assert blocked == []
    assert [url for url in requested if not url.startswith("file://")] == []
    assert (ARTIFACTS / "karte-hover.png").stat().st_size > 20_000
