"""Mölln's report in a real browser (Debian's chromium): sections visible, score as in the warehouse, offline."""

from __future__ import annotations

import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from indicators.catalogue import load_catalogue
from reports.build import build_comparison, build_reports, build_town_report
from warehouse.paths import PROJECT_ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = PROJECT_ROOT / "test-artifacts"
SCREENSHOT = ARTIFACTS / "report-moelln.png"
PILOTS = list(load_catalogue().pilot_towns)
# A4 portrait minus the @page margins of base.html.j2 (12 mm left and right), in CSS pixels (96 per inch)
A4_CONTENT_PX = round((210 - 24) / 25.4 * 96)
A4_LANDSCAPE_CONTENT_PX = round((297 - 24) / 25.4 * 96)
# the five pilots and three towns with long names of their Kreise
EIGHT = PILOTS + ["01053100", "01053032", "12070296"]

# Under print media: every table's right edge within the page, nothing scrolled away inside a
# wrapper, and no word split over two lines (each word of every cell measured with a Range).
PRINT_CHECK = """() => {
  const width = document.documentElement.clientWidth, problems = [];
  document.querySelectorAll("table").forEach((table, i) => {
    const box = table.getBoundingClientRect();
    if (box.right > width + 1 || table.scrollWidth > table.parentElement.clientWidth + 1)
      problems.push(`table ${i} (${table.closest("section").id}): ${Math.round(box.right)} px > ${width} px`);
  });
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    if (!node.parentElement.closest("td, th, h1, header p") || node.parentElement.closest("svg")) continue;
    // a line may break after a hyphen, soft hyphen, slash or dash (Schleswig-/Holstein), never inside a part of a word
    const re = /[^\\s\\-\\u2013\\u00ad\\/,;]+/g; let m;
    while ((m = re.exec(node.data))) {
      const range = document.createRange();
      range.setStart(node, m.index); range.setEnd(node, m.index + m[0].length);
      const lines = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
      if (lines.size > 1) problems.push(`word broken over lines: ${m[0]}`);
    }
  }
  return problems;
}"""
MOELLN = next(ags for ags, name in load_catalogue().pilot_towns.items() if name == "Mölln")


@contextmanager
def page_recording_requests(url: str):
    """Chromium with one 1280x900 page at ``url``; yields the page and the list of every URL it requested.

    The list keeps filling while the test drives the page, so a test can check after the ``with`` that the
    page stayed offline (nothing but file:// requested). The browser is closed however the test ends.
    """
    requested: list[str] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda request: requested.append(request.url))
            page.goto(url, wait_until="load")
            yield page, requested
        finally:
            browser.close()
SECTIONS = ["ueberblick", "indexverlauf", "saeulen", "treiber", "indikatoren", "vergleichsstaedte", "karte",
            "pendlerstroeme", "coworking", "coworking-luecke", "mobilfunk", "datenstand"]


def test_moelln_report_in_chromium(snapshot_warehouse, warehouse, tmp_path):
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium), as CI does; "
                    "Playwright's own browser download is not used")
    score = warehouse.execute(
        "SELECT score FROM readiness_index WHERE ags = ? AND method_version = "
        "(SELECT max(method_version) FROM readiness_index) AND score IS NOT NULL AND NOT period_provisional "
        "ORDER BY period DESC LIMIT 1", [MOELLN]).fetchone()[0]
    report = build_town_report(snapshot_warehouse, tmp_path, MOELLN)
    with page_recording_requests(report.as_uri()) as (page, requested):
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
    assert [url for url in requested if not url.startswith("file://")] == []
    assert SCREENSHOT.stat().st_size > 50_000


def test_moelln_report_fits_a4_portrait_in_print(snapshot_warehouse, tmp_path):
    """Printed on A4 portrait no table is cut and no name, year or AGS is broken inside (issue 16)."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    report = build_town_report(snapshot_warehouse, tmp_path, MOELLN)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": A4_CONTENT_PX, "height": 1000})
            page.goto(report.as_uri(), wait_until="load")
            page.emulate_media(media="print")
            assert page.evaluate(PRINT_CHECK) == []
            # the peer table keeps its last column ("Von ihr lernen bei") on the page
            last = page.locator("#peer-table th").last.bounding_box()
            assert last and last["x"] + last["width"] <= A4_CONTENT_PX + 1
            pdf = page.pdf(format="A4", print_background=True)
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            (ARTIFACTS / "report-moelln-a4.pdf").write_bytes(pdf)
            # every page A4 portrait (595 x 842 pt; Chromium rounds to whole CSS pixels), several pages
            boxes = [tuple(map(float, b.split())) for b in re.findall(rb"/MediaBox \[([\d. ]+)\]", pdf)]
            assert pdf.startswith(b"%PDF") and len(boxes) > 1
            assert all(abs(w - 595.28) < 2 and abs(h - 841.89) < 2 for _, _, w, h in boxes), boxes
            # on screen, in a narrow window, the page itself never scrolls sideways (wide tables scroll in their box)
            page.emulate_media(media="screen")
            page.set_viewport_size({"width": 600, "height": 900})
            assert page.evaluate("document.documentElement.scrollWidth <= document.documentElement.clientWidth")
        finally:
            browser.close()


def test_network_page_shows_all_five_pilots(snapshot_warehouse, tmp_path):
    """The comparison page of the five pilot towns in the browser: all five columns visible, fits A4."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    build_reports(snapshot_warehouse, tmp_path, towns=PILOTS)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto((tmp_path / "netzwerk.html").as_uri(), wait_until="load")
            for ags in PILOTS:
                assert page.locator(f"#town-{ags}").is_visible() and page.locator(f"#score-{ags}").is_visible()
            assert page.locator("#verlauf svg").first.bounding_box()["width"] > 200
            ARTIFACTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "netzwerk.png"), full_page=True)
            page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1000})
            page.emulate_media(media="print")
            assert page.evaluate(PRINT_CHECK) == []
            # eight towns side by side print on A4 landscape (the page says so in its @page rule)
            eight = build_comparison(snapshot_warehouse, tmp_path, EIGHT, "acht.html")
            page.set_viewport_size({"width": A4_LANDSCAPE_CONTENT_PX, "height": 1000})
            page.goto(eight.as_uri(), wait_until="load")
            page.emulate_media(media="print")
            assert page.locator("#comparison-table th.town").count() == 8
            assert page.evaluate(PRINT_CHECK) == []
            # the index page: the filter narrows the list, a click on a header sorts
            page.emulate_media(media="screen")
            page.goto((tmp_path / "index.html").as_uri(), wait_until="load")
            page.fill("#filter", "mölln")  # case-insensitive: Mölln and Alt Mölln
            visible = page.locator("#towns tbody tr:visible")
            assert sorted(visible.all_inner_texts()) == sorted(
                page.locator("#towns tbody tr", has_text="Mölln").all_inner_texts())
            assert visible.count() == 2
            page.fill("#filter", "01053090")
            assert visible.count() == 1 and "Mölln" in visible.first.inner_text()
            page.fill("#filter", "")
            page.click("#towns th:nth-child(4)")  # Einwohner ascending
            populations = page.eval_on_selector_all(
                "#towns tbody tr td:nth-child(4)", "cells => cells.map(c => c.dataset.value).filter(v => v !== '')")
            assert [float(v) for v in populations] == sorted(float(v) for v in populations)
        finally:
            browser.close()


def test_coworking_gap_ranking_page_sorts_filters_and_prints_on_a4(example_warehouse, tmp_path):
    """The Germany-wide ranking (from the example run: the snapshot's own ranking is empty) in the browser:
    loads offline, sorts by a click on a header, filters, and prints on A4 portrait with no cut column."""
    if not CHROMIUM.is_file():
        pytest.fail(f"{CHROMIUM} not found: install Debian's chromium (apt-get install chromium)")
    build_reports(example_warehouse, tmp_path, towns=PILOTS)
    with page_recording_requests((tmp_path / "index.html").as_uri()) as (page, requested):
        page.click("text=Rangliste Coworking-Lücke")  # linked from the index page
        page.wait_for_load_state("load")
        assert page.url.endswith("/coworking-luecke.html")
        rows = page.locator("#gap-ranking tbody tr")
        # the newest period with the most estimates (2023: INKAR 2019 within four years; 2024 only the three towns
        # with constructed Pendleratlas flows)
        assert rows.count() == 5 and page.locator("#shown").inner_text() == "5 von 5 Kleinstädten"

        def column(n: int) -> list[str]:
            return page.eval_on_selector_all(f"#gap-ranking tbody tr td:nth-child({n})",
                                             "cells => cells.map(c => c.dataset.value ?? c.textContent.trim())")

        demand = [float(v) for v in column(6)]
        assert demand == sorted(demand, reverse=True)  # as published: largest gap first
        page.click("#gap-ranking th:nth-child(6)")  # Bedarf ascending
        assert [float(v) for v in column(6)] == sorted(demand)
        page.click("#gap-ranking th:nth-child(2)")  # Gemeinde, German order
        names = page.eval_on_selector_all("#gap-ranking tbody tr td:nth-child(2) a", "a => a.map(x => x.textContent)")
        assert names == sorted(names, key=lambda n: n.replace("ö", "o").replace("ß", "ss").lower())
        page.fill("#filter", "Prignitz")  # the Kreis in the name cell is searched too
        assert page.locator("#gap-ranking tbody tr:visible").count() == 1
        page.fill("#filter", "")
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "coworking-luecke.png"), full_page=True)
        page.set_viewport_size({"width": A4_CONTENT_PX, "height": 1000})
        page.emulate_media(media="print")
        assert page.evaluate(PRINT_CHECK) == []
        last = page.locator("#gap-ranking th").last.bounding_box()
        assert last and last["x"] + last["width"] <= A4_CONTENT_PX + 1
        pdf = page.pdf(format="A4", print_background=True)
        (ARTIFACTS / "coworking-luecke-a4.pdf").write_bytes(pdf)
        boxes = [tuple(map(float, b.split())) for b in re.findall(rb"/MediaBox \[([\d. ]+)\]", pdf)]
        assert boxes and all(abs(w - 595.28) < 2 and abs(h - 841.89) < 2 for _, _, w, h in boxes), boxes
    assert [url for url in requested if not url.startswith("file://")] == []
