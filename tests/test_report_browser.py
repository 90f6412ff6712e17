"""Mölln's report in a real browser (Debian's chromium): sections visible, score as in the warehouse, offline."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from indicators.catalogue import load_catalogue
from reports.build import build_town_report
from warehouse import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOT = PROJECT_ROOT / "test-artifacts" / "report-moelln.png"
MOELLN = next(ags for ags, name in load_catalogue().pilot_towns.items() if name == "Mölln")
SECTIONS = ["ueberblick", "indexverlauf", "saeulen", "treiber", "indikatoren", "vergleichsstaedte", "karte",
            "pendlerstroeme", "coworking", "datenstand"]


def test_moelln_report_in_chromium(snapshot_warehouse, warehouse, tmp_path):
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium), as CI does; "
                    "Playwright's own browser download is not used")
    score = warehouse.execute(
        "SELECT score FROM readiness_index WHERE ags = ? AND method_version = "
        "(SELECT max(method_version) FROM readiness_index) ORDER BY period DESC LIMIT 1", [MOELLN]).fetchone()[0]
    report = build_town_report(snapshot_warehouse, tmp_path, MOELLN)
    requested = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(report.as_uri(), wait_until="load")
            for section in SECTIONS:
                assert page.locator(f"#{section}").is_visible(), f"section {section} not visible"
            assert page.locator("#score").inner_text() == f"{score:.1f}".replace(".", ",")
            assert page.locator("h1").inner_text() == "Mölln, Stadt"
            # Charts and map are drawn: each inline SVG has a real size on the page.
            for section in ["indexverlauf", "saeulen", "karte"]:
                box = page.locator(f"#{section} svg").first.bounding_box()
                assert box and box["width"] > 200 and box["height"] > 50, f"{section}: chart not rendered"
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(SCREENSHOT), full_page=True)
        finally:
            browser.close()
    assert [url for url in requested if not url.startswith("file://")] == []
    assert SCREENSHOT.stat().st_size > 50_000
