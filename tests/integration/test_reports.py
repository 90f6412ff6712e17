"""Town reports built from the snapshot warehouse: sections present, figures equal to the warehouse, offline."""

from __future__ import annotations

import os
import re
import shutil
from decimal import ROUND_HALF_UP, Decimal
from html.parser import HTMLParser
from itertools import groupby
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from dagster import DagsterInstance, materialize

from indicators.bands import band_category
from indicators.catalogue import load_catalogue
from pipelines.assets.reports import town_reports
from pipelines.resources import ReadinessSettings
from reports.build import REPORTS_DIR_ENV, build_comparison, build_reports, build_town_report, reports_dir
from reports.labels import display_name, vintage_label

PILOTS = list(load_catalogue().pilot_towns)
MOELLN = next(ags for ags, name in load_catalogue().pilot_towns.items() if name == "Mölln")
SECTIONS = ["ueberblick", "indexverlauf", "saeulen", "treiber", "indikatoren", "vergleichsstaedte", "karte",
            "pendlerstroeme", "coworking", "datenstand"]
PILLAR_LABELS = ["Digitale Infrastruktur", "Pendelpotenzial", "Demografische Dynamik", "Lokale Arbeitsinfrastruktur"]
LATEST_INDEX = """
SELECT score, rank, rank_p05, rank_p95, compared_towns, period, method_version, local_work_infrastructure
FROM readiness_index WHERE ags = ? AND method_version = (SELECT max(method_version) FROM readiness_index)
  AND score IS NOT NULL AND NOT period_provisional
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
    """German number format, written independently of reports.labels: the decimal rounded half away from zero,
    a real minus sign, none before a zero."""
    exact = Decimal(f"{value:.12g}").quantize(Decimal(10) ** -digits, rounding=ROUND_HALF_UP)  # as the downloads
    text = f"{abs(exact):,.{digits}f}".replace(",", " ").replace(".", ",").replace(" ", ".")
    return ("\u2212" if exact < 0 else "") + text


def csv_number(value: float) -> str:
    """A number as the downloads' CSV writes it: twelve significant digits, decimal comma."""
    return f"{value:.12g}".replace(".", ",")


def german_signed(value: float, digits: int = 1) -> str:
    """'+3,7', '−0,4', or '0,0' without a sign."""
    text = german(abs(value), digits)
    return text if not text.strip("0,.") else ("+" if value >= 0 else "\u2212") + text


def german_rank(value: float) -> str:
    """A rank percentile: one decimal rounded half up, none where that is whole (2.0499999999999545 is '2')."""
    shown = Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)
    return german(float(shown), 0 if shown == shown.to_integral_value() else 1)


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
    html, text = page(pilot_reports, f"{ags}.html")
    assert text["score"] == (german(score) if score is not None else "nicht bewertet")
    if rank is not None:
        assert text["rank"] == str(rank)
        assert text["compared-towns"] == str(compared)
        assert text["rank-band"] == f"{german_rank(p05)}–{german_rank(p95)}"
        # the band in words (indicators.bands) next to the numbers, e.g. "... unter den besten 25 %"
        words = band_category(p05, p95, compared).de
        assert text["rank-band-words"] == words and words.startswith(("mit hoher Wahrscheinlichkeit", "nicht sicher"))
        # every choice the Monte Carlo varies (catalogue uncertainty), the aggregation too (review of 5 December)
        assert ("methodischen Entscheidungen (Gewichte, Normierung, Ergänzung fehlender Werte, Zusammenfassung der "
                "Säulen)") in " ".join(html.split())
    assert text["period"] == str(period) and text["method-version"] == method
    assert coworking is None and "nicht bewertet" in text["pillar-local_work_infrastructure"]
    others = warehouse.execute(TIED, [period, method, rank, ags]).fetchone()[0] if rank is not None else 0
    shown = text["rank-tied"] if "rank-tied" in text.texts else ""
    assert shown == ("" if others == 0 else "gleichauf mit einer weiteren Gemeinde (gleicher gerundeter Indexwert)"
                                 if others == 1 else f"gleichauf mit {others} weiteren Gemeinden (gleicher gerundeter Indexwert)")


def test_inkars_zero_car_minutes_say_the_station_is_in_the_town(pilot_reports, warehouse):
    """Wittenberge has an IC/ICE station; INKAR gives 0 car minutes to the next one. The page and its download
    say what the 0 means instead of showing it as a measured time."""
    zero = warehouse.execute("""SELECT count(*) FROM indicator_values WHERE ags = '12070424'
                                AND indicator_id = 'ic_ice_station_car_minutes' AND value = 0""").fetchone()[0]
    assert zero  # the snapshot's INKAR release has it
    html, text = page(pilot_reports, "12070424.html")
    cell = text["indicator-ic_ice_station_car_minutes"]
    assert "IC/ICE-Halt in der Gemeinde" in cell and cell.count("IC/ICE-Halt") == 1
    assert "IC/ICE-Halt" not in text["indicator-oberzentrum_car_minutes"]
    rows = pd.read_csv(pilot_reports / "12070424-indikatoren.csv", sep=";", decimal=",", dtype=str)
    note = rows.loc[rows["Indikator"].str.startswith("Pkw-Fahrzeit zum nächsten IC/ICE"), "Hinweis"]
    assert note.str.startswith("IC/ICE-Halt in der Gemeinde").all() and len(note)
    # the pilot network's comparison and its download say it too (they showed a bare "0,0": planner's review of
    # 6 December 2026)
    network, network_text = page(pilot_reports, "netzwerk.html")
    assert network_text["indicator-ic_ice_station_car_minutes"].count("IC/ICE-Halt in der Gemeinde") == 1
    table = pd.read_csv(pilot_reports / "netzwerk-vergleich.csv", sep=";", dtype=str).set_index("Merkmal")
    ic_ice = table.filter(like="Wittenberge").loc[
        table.index.str.startswith("Pkw-Fahrzeit zum nächsten IC/ICE-Bahnhof")]
    # in the figure's Hinweis row, not in its Stichtag row (where it stood before the planner's review)
    assert ic_ice.loc[ic_ice.index.str.endswith(": Hinweis")].iloc[0, 0] == "IC/ICE-Halt in der Gemeinde"
    assert not ic_ice.loc[ic_ice.index.str.endswith(": Stichtag")].iloc[0, 0].startswith("IC/ICE")


def test_a_page_points_to_provisional_years_only_where_the_town_has_one(pilot_reports, snapshot_warehouse,
                                                                       warehouse, tmp_path):
    """The Indikatoren section said "neuere, vorläufige Jahre: Indexverlauf" on every page; five Germany-wide pages
    (Nieste, Tangstedt, Böhlen, ...) had no provisional score in their history (review of 6 December 2026). Now it
    says so only where a scored year follows the headline's."""
    phrase = "neuere, vorläufige Jahre: Indexverlauf"
    html, _ = page(pilot_reports, f"{MOELLN}.html")
    assert phrase in section_html(html, "indikatoren")  # Mölln has 2022 and 2023 scores
    [(ags,)] = warehouse.execute("""SELECT ags FROM town_index_history GROUP BY ags
        HAVING NOT bool_or(score IS NOT NULL AND period > (SELECT period FROM published_period))
        ORDER BY ags LIMIT 1""").fetchall()
    build_reports(snapshot_warehouse, tmp_path, towns=[ags])
    html, _ = page(tmp_path, f"{ags}.html")
    assert "Die Werte des Jahres" in section_html(html, "indikatoren")
    assert phrase not in html and "vorläufig" not in section_html(html, "indexverlauf")


def test_inkar_accessibility_values_show_their_year_not_the_parsers_day(pilot_reports, warehouse):
    """INKAR gives the accessibility indicators' years only; the parser dates them 31.12. Mölln's page read
    "Stichtag 31.12.2020" beside its car time to the next IC/ICE station (dates review F9). The page and the download
    now give the year the value is of, as stored; a commuting share keeps the BA's day."""
    rows = warehouse.execute("""SELECT v.indicator_id, v.reference_date FROM indicator_values v
        JOIN indicator_catalogue c USING (indicator_id) JOIN readiness_index r USING (ags, period)
        WHERE v.ags = ? AND c.pillar = 'accessibility' AND r.period = (SELECT period FROM published_period)
          AND r.method_version = (SELECT method_version FROM current_method)""", [MOELLN]).fetchall()
    assert rows
    html, text = page(pilot_reports, f"{MOELLN}.html")
    for indicator_id, date in rows:
        cell = text[f"indicator-{indicator_id}"]
        assert f"Bezugsjahr {date.year}" in cell and f"{date:%d.%m.%Y}" not in cell, cell
    assert "Stichtag 30.06." in text["indicator-out_commuter_share"]
    newest = max(date for _, date in rows)  # the Datenstand table's "Daten bis" of INKAR: the year (read of the change)
    assert f"Daten bis {newest.year}" in text["source-inkar"]
    assert f"{newest:%d.%m.%Y}" not in text["source-inkar"]
    frame = pd.read_csv(pilot_reports / f"{MOELLN}-indikatoren.csv", sep=";", dtype=str, encoding="utf-8-sig")
    labels = dict(warehouse.execute("SELECT indicator_id, label FROM indicator_catalogue").fetchall())
    for indicator_id, date in rows:
        assert frame.loc[frame["Indikator"] == labels[indicator_id], "Stichtag"].tolist() == [f"Bezugsjahr {date.year}"]


@pytest.mark.parametrize("ags", PILOTS)
def test_each_change_heading_shows_the_two_scores_and_the_sum_of_the_contributions(pilot_reports, warehouse, ags):
    """"von 66,5 auf 70,2 Punkte (+3,7)": the change is the difference of the two scores as shown; the sentence
    below names what the contributions add up to, the change before rounding (it may differ by up to 0,1)."""
    html, text = page(pilot_reports, f"{ags}.html")
    pairs = warehouse.execute("""
        SELECT period_from, period_to, round(any_value(score_from), 1), round(any_value(score_to), 1),
               any_value(score_to) - any_value(score_from), sum(contribution)
        FROM score_contributions WHERE ags = ? AND method_version = (SELECT method_version FROM current_method)
        GROUP BY ALL""", [ags]).fetchall()
    shown = [row for row in pairs if f'id="change-{ags}-{row[0]}"' in html
             and text[f"change-{ags}-{row[0]}"].startswith(f"{row[0]} → {row[1]}:")]  # the pair the page decomposes
    assert shown, f"{ags}: no change section"
    for start, end, score_from, score_to, exact, total in shown:  # the scores as SQL's round(score, 1) shows them
        change = round(score_to - score_from, 1)
        assert text[f"change-{ags}-{start}"] == (f"{start} → {end}: von {german(score_from)} auf {german(score_to)} "
                                                 f"Punkte ({german_signed(change)})")
        assert abs(total - exact) < 1e-6  # the decomposition is exact
        assert text[f"change-exact-{ags}-{start}"] == german_signed(exact, 2)
        # the table's rows as shown, added up: where they do not give the exact sum, the sentence says what they give
        table = html[html.index(f'id="change-{ags}-{start}"'):]
        table = table[table.index("<tbody>"):table.index("</tbody>")]
        cells = re.findall(r'<td class="num">([^<]*)</td></tr>', table)
        shown = sum(Decimal(c.replace("\u2212", "-").replace("+", "").replace(",", ".")) for c in cells if c != "–")
        if german_signed(float(shown), 2) == german_signed(exact, 2):
            assert f'id="change-shown-{ags}-{start}"' not in html
        else:
            assert text[f"change-shown-{ags}-{start}"] == german_signed(float(shown), 2)


TIED = """SELECT count(*) FROM readiness_index WHERE period = ? AND method_version = ? AND rank = ? AND ags <> ?"""


def test_the_snapshot_has_a_pilot_town_sharing_its_rank(warehouse):
    """The check above is not vacuous: in the snapshot's published year a pilot town shares its rank (towns shown
    with the same score tie, method 0.3.3), so one page says "gleichauf mit ..."."""
    shared = warehouse.execute(f"""SELECT count(*) FROM latest_ranking r WHERE r.ags IN ({", ".join("?" * len(PILOTS))})
        AND (SELECT count(*) FROM latest_ranking o WHERE o.rank = r.rank) > 1""", PILOTS).fetchone()[0]
    assert shared >= 1


@pytest.mark.parametrize("ags", PILOTS)
def test_indicator_values_and_provenance_equal_the_warehouse(pilot_reports, warehouse, ags):
    """The table holds the values of the period the page leads with (the inputs of that score); an indicator
    without a value then is listed apart with its newest value, not as a row beside the score."""
    headline = warehouse.execute(LATEST_INDEX, [ags]).fetchone()[5]
    rows = warehouse.execute("""
        SELECT v.indicator_id, v.value, v.period, v.vintage, r.licence, v.unit
        FROM indicator_values v JOIN (SELECT DISTINCT source_id, vintage, licence FROM source_releases) r
          USING (source_id, vintage)
        WHERE v.ags = ? QUALIFY row_number() OVER (PARTITION BY v.indicator_id ORDER BY v.period = ? DESC,
                                                                                    v.period DESC) = 1""",
                             [ags, headline]).fetchall()
    assert rows
    html, text = page(pilot_reports, f"{ags}.html")
    decimals = load_catalogue().unit_decimals  # counts and metres without decimals, shares with two
    for indicator, value, period, vintage, licence, unit in rows:
        if period != headline:
            assert f'id="indicator-{indicator}"' not in html
            assert german(value, decimals[unit]) in text["indicators-elsewhere"] and f"Jahr {period}" in \
                text["indicators-elsewhere"]
            continue
        cells = text[f"indicator-{indicator}"]
        assert german(value, decimals[unit]) in cells and str(period) in cells and vintage_label(vintage) in cells
        assert licence in cells
    # in the snapshot the 5-year change ends in 2013 (carried to 2018): no input of the published score
    assert any(indicator == "population_change_5y" and period < headline for indicator, _, period, *_ in rows)


@pytest.mark.parametrize("ags", PILOTS)
def test_peers_and_flows_equal_the_warehouse(pilot_reports, warehouse, ags):
    _, text = page(pilot_reports, f"{ags}.html")
    peers = warehouse.execute("SELECT m.name, p.similarity FROM peer_towns p JOIN municipalities m "
                              "ON m.ags = p.peer_ags WHERE p.ags = ? ORDER BY p.rank", [ags]).fetchall()
    for name, similarity in peers:
        assert name in text["vergleichsstaedte"] and german(similarity, 2) in text["vergleichsstaedte"]
    # the dates of the structure features the similarity compares, the town's and its peers' (review of 6 December)
    dates = warehouse.execute("""SELECT DISTINCT population_date, job_centrality_date FROM peer_towns
        WHERE ags = ? OR ags IN (SELECT peer_ags FROM peer_towns WHERE ags = ?)""", [ags, ags]).fetchall()
    if peers:
        [(population, centrality)] = dates  # one date each in the snapshot: INKAR's balance of 30.06.2019
        assert text["peer-dates"] == (f"Die Ähnlichkeit beruht auf den Strukturmerkmalen von {text['town-name']} und "
                                      f"den Vergleichsstädten: Einwohnerzahl Stichtag {population:%d.%m.%Y}, "
                                      f"Pendlersaldo (INKAR) Stichtag {centrality:%d.%m.%Y}.")
        download = pd.read_csv(pilot_reports / f"{ags}-vergleichsstaedte.csv", sep=";", encoding="utf-8-sig")
        assert download["Stichtage der Strukturmerkmale"].eq(
            f"Einwohnerzahl Stichtag {population:%d.%m.%Y}, Pendlersaldo (INKAR) Stichtag {centrality:%d.%m.%Y}").all()
    top = warehouse.execute("""
        SELECT f.commuters, k.name FROM commuter_flows f JOIN municipalities m ON m.kreis_ags = f.home_kreis
        JOIN kreise k ON k.ags = f.work_kreis
        WHERE m.ags = ? ORDER BY f.reference_date DESC, f.commuters DESC LIMIT 1""", [ags]).fetchone()
    assert "Kreisebene" in text["pendlerstroeme"]
    # the heading says how old the flows are (the snapshot's and the Germany-wide Kreis flows are of 30.06.2016,
    # beside commuting figures of 2019 in the same page: dates review of 6 December 2026)
    [day] = warehouse.execute("SELECT max(f.reference_date) FROM commuter_flows f JOIN municipalities m "
                              "ON m.kreis_ags = f.home_kreis WHERE m.ags = ?", [ags]).fetchone()
    assert text["pendlerstroeme"].startswith(f"Pendlerströme (Stichtag {day:%d.%m.%Y})")
    assert german(top[0], 0) in text["pendlerstroeme"]
    assert top[1] in text["pendlerstroeme"]  # named from the BKG Kreis layer, also outside the pilot Kreise
    # the snapshot's flows are the Pendleratlas' top 10: said in German, rendered from commuter_flows.listing
    assert warehouse.execute("SELECT DISTINCT listing FROM commuter_flows").fetchall() == [("top_10",)]
    assert "Arbeit. Nur die 10 größten Partnerkreise; Werte unter 10 auf 10 aufgerundet." in text["pendlerstroeme"]
    # the download carries the Kreis totals of the page's sentence: its rows are the main destinations, not all
    totals = dict(warehouse.execute("""SELECT measure, value FROM observations WHERE source_id = 'ba_commuting'
        AND level = 'kreis' AND ags = ? AND measure IN ('out_commuters', 'employees_residence')
        QUALIFY rank() OVER (ORDER BY reference_date DESC) = 1""", [ags[:5]]).fetchall())
    flows = pd.read_csv(pilot_reports / f"{ags}-pendlerstroeme.csv", sep=";", decimal=",", encoding="utf-8-sig")
    assert len(flows) and german(totals["out_commuters"], 0) in text["pendlerstroeme"]
    assert flows["Auspendler aus dem Kreis insgesamt"].eq(totals["out_commuters"]).all()
    assert flows["Beschäftigte mit Wohnort im Kreis"].eq(totals["employees_residence"]).all()


def test_the_map_lists_each_neighbour_once_by_its_name(pilot_reports, warehouse):
    """Register names carry commas ("Frauenstein, Stadt"): joined with commas the list of Dippoldiswalde's neighbours
    read "Frauenstein, Stadt, Altenberg, Stadt, …" (planner's review of 6 December 2026); each is one item now."""
    html, _ = page(pilot_reports, "14628060.html")
    note = re.sub(r"<[^>]+>", "", section_html(html, "karte"))
    listed = re.search(r"Nachbarn: (.*?)\.(?: Gemeindegrenzen|\s*$)", note, re.S).group(1).split("; ")
    names = {name for (name,) in warehouse.execute("SELECT name FROM municipalities").fetchall()}
    assert len(listed) > 3 and all(name in names for name in listed), listed
    assert any(", " in name for name in listed)  # a name with a comma stays one item


@pytest.mark.parametrize("ags", PILOTS)
def test_sentences_are_separated_and_start_upper_case(pilot_reports, ags):
    """"…keine Anzahl schätzen.Für diese Gemeinde…" (the template's whitespace control ate the space) and
    "…Bundesagentur für Arbeit. nur die 10 größten Partnerkreise" stood on every page."""
    html, _ = page(pilot_reports, f"{ags}.html")
    for section in ("coworking-luecke", "pendlerstroeme", "zusammenfassung", "indexverlauf"):
        # the section's text with every tag as a space: only what one text run writes can be glued together
        words = " ".join(re.sub(r"<[^>]+>", " ", section_html(html, section)).split())
        assert not re.search(r"[a-zäöüß]\.[A-ZÄÖÜ][a-zäöüß]", words), (section, words)
        if section in ("coworking-luecke", "pendlerstroeme"):  # (the history's note starts with the marker "vorläufig")
            assert not re.search(r"[a-zäöüß]\. [a-zäöüß]", words), (section, words)


@pytest.mark.parametrize("ags", PILOTS)
def test_the_summary_names_every_pillar_far_from_the_similar_towns(pilot_reports, warehouse, ags):
    """Dippoldiswalde 2021 (snapshot): commuting potential 10.7 points below its five peers on average, a pillar it
    cannot act on; the page said "In allen bewerteten Säulen ... nahe bei den ähnlichen Städten" because the summary
    opened only for a strength or a field for action. Recomputed here from peer_towns and readiness_index."""
    catalogue = load_catalogue()
    score, _, _, _, _, period, method, _ = warehouse.execute(LATEST_INDEX, [ags]).fetchone()
    values = dict(zip(catalogue.pillars, warehouse.execute(
        f"SELECT {', '.join(catalogue.pillars)} FROM readiness_index WHERE ags = ? AND period = ? AND method_version = ?",
        [ags, period, method]).fetchone()))
    far = []
    for pillar in catalogue.pillars:
        gaps = [g for (g,) in warehouse.execute(f"SELECT gap_{pillar} FROM peer_towns WHERE ags = ? AND period = ? "
                                                f"AND gap_{pillar} IS NOT NULL", [ags, period]).fetchall()]
        shown = [Decimal(f"{g:.12g}").quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) for g in gaps]  # as the table
        mean = (sum(shown) / len(shown)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP) if shown else 0
        if values[pillar] is not None and abs(mean) >= 5:  # the mean of the gaps as shown ("5,0" counts)
            far.append(catalogue.pillar_label(pillar))
    html, text = page(pilot_reports, f"{ags}.html")
    summary = text["zusammenfassung"]
    assert ("nahe bei den ähnlichen Städten" in summary) == (not far), (ags, far, summary)
    for label in far:  # a strength or field for action "Label: ...", a pillar it cannot act on "Lage: Label ..."
        assert f"{label}:" in summary or f"Lage: {label} " in summary, (ags, label, summary)
    if ags == "14628060":  # the case that was wrong: a pillar it cannot act on, and nothing else
        assert far == ["Pendelpotenzial"] and text["lage-1"].startswith("Lage: Pendelpotenzial")


@pytest.mark.parametrize("ags", PILOTS)
def test_each_year_without_a_score_says_which_pillars_it_misses(pilot_reports, warehouse, ags):
    """Mölln 2019 and 2020 (snapshot: no population figure within five years) showed "–" without a reason."""
    catalogue = load_catalogue()
    unscored = warehouse.execute("""SELECT period, missing_pillars FROM readiness_index WHERE ags = ? AND score IS NULL
        AND method_version = (SELECT max(method_version) FROM readiness_index) ORDER BY period""", [ags]).fetchall()
    _, text = page(pilot_reports, f"{ags}.html")
    notes = " ".join(text[key] for key in text.texts if key.startswith("unscored-"))
    for period, missing in unscored:
        labels = [catalogue.pillar_label(p.strip()) for p in missing.split(",")]  # stored as "a, b"
        words = labels[0] if len(labels) == 1 else ", ".join(labels[:-1]) + " und " + labels[-1]
        # then why, where the town has the values but the index cannot score them ("(ihre Werte sind nicht bewertet:
        # …)"), or where no town has them that year
        assert re.search(rf"Kein Gesamtwert für [0-9, und]*\b{period}\b[0-9, und]*: kein bewertbarer Wert für {words}"
                         rf"( \((ihre|die) Werte[^)]*sind nicht bewertet:[^)]*\))?"
                         rf"(\.|, in (diesen Jahren|diesem Jahr) für keine Gemeinde \(die geladenen Ausgaben)", notes), \
            (ags, period, notes)
    if ags == MOELLN:
        # no town has the pillar in 2019 and 2020 (no population figure within five years): the page says so, it is
        # no gap of Mölln's own (planner walkthrough of 7 December 2026)
        anywhere = warehouse.execute("""SELECT count(demographic_dynamics) FROM readiness_index
            WHERE period IN (2019, 2020)""").fetchone()[0]
        assert anywhere == 0
        assert notes == ("Kein Gesamtwert für 2019 und 2020: kein bewertbarer Wert für Demografische Dynamik, in diesen "
                         "Jahren für keine Gemeinde (die geladenen Ausgaben der Quellen decken diese Jahre nicht ab).")
        history = pd.read_csv(pilot_reports / f"{MOELLN}-indexverlauf.csv", sep=";", dtype=str,
                              keep_default_na=False)
        assert history.set_index("Jahr")["fehlende Säulen"].to_dict() == {
            "2018": "", "2019": "Demografische Dynamik", "2020": "Demografische Dynamik", "2021": "", "2022": "",
            "2023": ""}


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
    assert not re.search(r"<(link|img|iframe|object|embed)\b", html, re.I)
    # the only script is the index page's inline sort/filter script, never one loaded from a file or address
    assert not re.search(r"<script\b[^>]*\bsrc=", html, re.I)
    assert (name == "index.html") == bool(re.search(r"<script\b", html, re.I))
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
        assert vintage_label(vintage) in row and licence in row


def test_network_page_shows_the_pilots_side_by_side(pilot_reports, warehouse):
    _, text = page(pilot_reports, "netzwerk.html")
    for ags in PILOTS:
        score, rank, *_, period, method, _ = warehouse.execute(LATEST_INDEX, [ags]).fetchone()
        assert text[f"score-{ags}"] == (german(score) if score is not None else "nicht bewertet")
        # a shared rank is said in words, as on the town page (Oestrich-Winkel shares its rank in the snapshot)
        others = warehouse.execute(TIED, [period, method, rank, ags]).fetchone()[0] if rank is not None else 0
        shown = text[f"rank-tied-{ags}"] if f"rank-tied-{ags}" in text.texts else ""
        assert shown == ("" if others == 0 else "gleichauf mit einer weiteren Gemeinde" if others == 1
                         else f"gleichauf mit {others} weiteren Gemeinden")


def test_the_network_download_says_how_old_each_value_is(pilot_reports, warehouse):
    """netzwerk-vergleich.csv gave INKAR's 2019 values under "Jahr 2021" with no reference date, no carried-forward
    mark and no unit, while the page marks them "2019, fortgeschr.". Compared with indicator_values."""
    frame = pd.read_csv(pilot_reports / "netzwerk-vergleich.csv", sep=";", dtype=str, keep_default_na=False,
                        encoding="utf-8-sig").set_index("Merkmal")
    names = {ags: display_name(name)  # the columns name the towns as the pages do ('Dießen am Ammersee, Markt')
             for ags, name in warehouse.execute("SELECT ags, name FROM municipalities WHERE is_pilot").fetchall()}
    label, unit = warehouse.execute("SELECT label, unit FROM indicator_catalogue "
                                    "WHERE indicator_id = 'out_commuter_share'").fetchone()
    for ags in PILOTS:
        *_, p05, p95, _, period, method, _ = warehouse.execute(LATEST_INDEX, [ags]).fetchone()
        date, imputed = warehouse.execute("""SELECT reference_date, imputed FROM indicator_values
            WHERE ags = ? AND indicator_id = 'out_commuter_share' AND period = ?""", [ags, period]).fetchone()
        assert frame.loc[f"{label}: Stichtag", names[ags]] == date.strftime("%d.%m.%Y") + (", fortgeschrieben"
                                                                                          if imputed else "")
        assert frame.loc["Rangband 5–95 %", names[ags]] == f"{german_rank(p05)}–{german_rank(p95)}"
        assert frame.loc["Datenstand", names[ags]].startswith("Breitband ")
        # the count's own date beside it: the snapshot's 31.12.2023 count stood undated under "Jahr 2021"
        population, population_date = warehouse.execute("SELECT population, population_date FROM municipalities "
                                                        "WHERE ags = ?", [ags]).fetchone()
        assert frame.loc["Einwohner", names[ags]] == str(population)
        assert frame.loc["Einwohner Stichtag", names[ags]] == population_date.strftime("%d.%m.%Y") != ""
        share = warehouse.execute("SELECT imputed_share FROM readiness_index WHERE ags = ? AND period = ? "
                                  "AND method_version = ?", [ags, period, method]).fetchone()[0]
        # with its one decimal (50,0), as the town pages' indexverlauf.csv
        assert frame.loc["Gewichtsanteil fortgeschriebener Werte (%)", names[ags]] == german(100 * share, 1)
    assert frame.index.str.startswith(f"{label} (").sum() == 1 and "%" in frame.index[frame.index.str.startswith(
        f"{label} (")][0] and unit
    assert "fortgeschrieben" in " ".join(frame.loc[f"{label}: Stichtag"])  # 2019 carried to 2021 in the snapshot
    # the page's median column, and a label that names its unit names it once, in the download and on the page
    median = warehouse.execute("""SELECT median(score) FROM readiness_index WHERE in_reference_group AND period = ?
        AND method_version = ?""", [period, method]).fetchone()[0]
    assert frame.loc["Indexwert", "Median der Vergleichsgruppe"] == csv_number(round(median, 1))
    assert "Bevölkerungsentwicklung, ca. 10 Jahre (% pro Jahr)" in frame.index
    html, text = page(pilot_reports, "netzwerk.html")
    assert text["indicator-population_change_10y"].count("% pro Jahr") == 1
    assert html.count(f"Stand {population_date:%d.%m.%Y}</span>") == 5  # under each town's population on the page
    # the Kreis values the page shows under each town's value, town by town as the columns
    towns = [c for c in frame.columns if c != "Median der Vergleichsgruppe"]
    kreis = frame.loc["Pendler mit Arbeitsweg ≥ 50 km: Kreis", towns]
    assert re.findall(r"Kreis ([\d.]+,\d\d)", text["indicator-long_distance_commuter_share"]) == [
        german(float(v.replace(",", ".")), 2) for v in kreis] and len(kreis) == 5


def test_index_says_what_dates_its_scores_rest_on(pilot_reports, warehouse):
    """The index page listed every town's score of the published year without a data date (dates review of
    6 December 2026): it now gives, over all towns, per kind of data the oldest to the newest date of the inputs and
    the share carried forward, from index_data_dates."""
    from reports.labels import carried_share_de

    _, text = page(pilot_reports, "index.html")
    period = warehouse.execute("SELECT period FROM published_period").fetchone()[0]
    scored = ("FROM index_data_dates d JOIN readiness_index r USING (ags, period) WHERE r.score IS NOT NULL "
              "AND r.method_version = (SELECT method_version FROM current_method) AND period = ?")
    oldest, newest = warehouse.execute(f"SELECT min(oldest_reference_date), max(newest_reference_date) {scored} "
                                       "AND pillar = 'digital_infrastructure'", [period]).fetchone()
    carried, inputs = warehouse.execute(f"SELECT sum(carried_forward), sum(inputs) {scored}", [period]).fetchone()
    line = text["index-data-dates"]
    assert line.startswith(f"Indexwerte {period} – Daten: Breitband {oldest:%m/%Y}")
    assert (f"–{newest:%m/%Y}" in line) == (f"{oldest:%m/%Y}" != f"{newest:%m/%Y}")
    share = carried_share_de(int(carried), int(inputs))
    assert (f"({share} aus früheren Ständen fortgeschrieben)" in line) if share else "fortgeschrieben" not in line
    # a count over all towns, beside the table's per-town share of the score's weight: said which is which (the
    # planner's review of 6 December 2026 read "60 %" here against "50 %" on a town page)
    assert ("Dieser Anteil zählt die Eingangswerte aller Gemeinden" in line) == bool(share)


def test_index_lists_every_town_and_links_the_pages_built(pilot_reports, warehouse):
    html, text = page(pilot_reports, "index.html")
    towns = warehouse.execute("SELECT ags, name FROM municipalities").fetchall()
    for ags, name in towns:
        assert display_name(name) in text[f"town-{ags}"]
    assert sorted(re.findall(r'href="(\d{8})\.html"', html)) == sorted(PILOTS)
    # the download says how many other towns share each rank (ranks compare the score as shown)
    table = pd.read_csv(pilot_reports / "index-gemeinden.csv", sep=";", decimal=",", encoding="utf-8-sig",
                        dtype={"AGS": str})
    expected = warehouse.execute("""SELECT ags, count(*) OVER (PARTITION BY rank) - 1 FROM latest_ranking
                                    WHERE rank IS NOT NULL""").fetchall()
    shared = table.dropna(subset=["Rang"]).set_index("AGS")["Rang geteilt mit (weitere Gemeinden)"]
    assert sorted(shared.astype(int).items()) == sorted(expected) and max(n for _, n in expected) >= 1
    # and the page says it in words beside the rank
    for ags, others in expected:
        said = "gleichauf mit einer weiteren Gemeinde" if others == 1 else f"gleichauf mit {others} weiteren Gemeinden"
        assert (said in text[f"town-{ags}"]) == (others > 0) and ("gleichauf" in text[f"town-{ags}"]) == (others > 0)
    # a town outside the group has a score and no rank: the page and the download say why (sorted by score it stood
    # among the ranked towns unmarked; review of 6 December 2026)
    outside = warehouse.execute("""SELECT r.ags FROM readiness_index r JOIN municipalities m USING (ags)
        WHERE NOT m.in_reference_group AND r.score IS NOT NULL
          AND r.period = (SELECT period FROM published_period)""").fetchall()
    assert outside and all("nicht in der Vergleichsgruppe" in text[f"town-{ags}"] for (ags,) in outside)
    group = table.set_index("AGS")["in der Vergleichsgruppe"]
    assert {ags for (ags,) in outside} <= set(group[group == "nein"].index)
    assert set(group[group == "ja"].index) == {a for (a,) in warehouse.execute(
        "SELECT ags FROM municipalities WHERE in_reference_group").fetchall()}


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
    instance = DagsterInstance.ephemeral()
    result = materialize([town_reports], instance=instance, resources={"settings": ReadinessSettings(
        warehouse_path=str(snapshot_warehouse), reports_dir=str(tmp_path / "reports"))})
    assert result.success
    towns = {row[0] for row in warehouse.execute(
        "SELECT ags FROM municipalities WHERE in_reference_group OR is_pilot").fetchall()}
    assert len(towns) < warehouse.execute("SELECT count(*) FROM municipalities").fetchone()[0]
    written = {p.stem for p in (tmp_path / "reports").glob("*.html")}
    assert written == towns | {"index", "netzwerk", "coworking-luecke"}
    metadata = result.asset_materializations_for_node("town_reports")[0].metadata
    assert metadata["pages"].value == len(towns) + 2 and metadata["town_pages"].value == len(towns)
    assert metadata["moelln"].value.endswith(f"/{MOELLN}.html")
    # built in a child interpreter (reports/child.py), not in the step's process; its progress reached the log
    assert metadata["build_pid"].text.isdigit() and int(metadata["build_pid"].text) != os.getpid()
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    assert f"town reports: {len(towns)}/{len(towns)} pages" in logs
    assert any(f"in child process {metadata['build_pid'].text} " in line for line in logs)


def test_asset_fails_with_the_childs_exit_code_and_message(published_without_gap, tmp_path):
    """A failure of the report build in the child fails the step; the step's error names the child's exit
    code and its exception."""
    broken = published_without_gap
    result = materialize([town_reports], raise_on_error=False, resources={"settings": ReadinessSettings(
        warehouse_path=str(broken), reports_dir=str(tmp_path / "reports"), report_scope="pilots")})
    assert not result.success
    failure = next(e for e in result.all_node_events if e.is_step_failure)
    error = failure.step_failure_data.error
    text = error.message + "".join(c.message for c in [error.cause] if c is not None)
    # the child names what the file lacks (reports.data.load: a file without a declared table is an older code's)
    assert re.search(r"child process \d+ failed \(exit code 1\): OutdatedWarehouse: .*lacks coworking_gap", text)


# --- honest time, German pages, downloads, index order, comparison (issues 11.4, 12.6, 16.1, 16.2) ---

# Common English words that must not appear on a German page (proper names, licence ids and the
# source titles of publishers are excepted by not being in this list).
ENGLISH_WORDS = {"the", "and", "of", "from", "for", "with", "not", "no", "data", "scored", "carried", "forward",
                 "year", "vintage", "territorial", "change", "area", "base", "method", "break", "partners",
                 "only", "values", "rounded", "under", "period", "this", "contributors", "rank", "score",
                 "town", "towns", "missing", "note", "source", "share", "as", "by", "in production", "snapshot",
                 "households", "employees", "per", "inhabitants", "count", "persons", "none", "nan", "true", "false"}


def visible_text(html: str) -> str:
    """Text a reader sees: without script, style and SVG internals, tags removed."""
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"dl-de/by-\d-\d", " ", html)  # licence ids (Datenlizenz Deutschland) are names


@pytest.mark.parametrize("name", [f"{a}.html" for a in PILOTS] + ["netzwerk.html", "index.html"])
def test_no_english_words_on_german_pages(pilot_reports, name):
    words = re.findall(r"[A-Za-zÄÖÜäöüß]+(?: production)?", visible_text((pilot_reports / name).read_text("utf-8")))
    found = sorted({w for w in words if w.lower() in ENGLISH_WORDS})
    assert found == [], f"{name}: English words on a German page: {found}"


def english_words(path: Path) -> list[str]:
    words = re.findall(r"[A-Za-zÄÖÜäöüß]+(?: production)?", visible_text(path.read_text("utf-8")))
    return sorted({w for w in words if w.lower() in ENGLISH_WORDS})


def test_no_english_words_on_any_generated_page(pilot_reports, snapshot_warehouse, tmp_path):
    """Every page the build writes (town, network, index, coworking-gap ranking, atlas and interactive
    map) and a comparison page of eight towns (issue 16: the check covers the new pages)."""
    comparison = build_comparison(snapshot_warehouse, tmp_path, PILOTS + ["01053100", "01053032", "12070296"])
    generated = sorted(pilot_reports.rglob("*.html"))
    names = {p.relative_to(pilot_reports).as_posix() for p in generated}
    assert {"coworking-luecke.html", "index.html", "netzwerk.html", "atlas/karte.html",
            "atlas/deutschland.html"} <= names, names
    assert len(names) > len(PILOTS) + 4  # the Land maps too
    for path in [*generated, comparison]:
        assert english_words(path) == [], f"{path.name}: English words on a German page"


def test_no_english_words_for_any_note_code(snapshot_warehouse, warehouse, tmp_path):
    """Beyond the pilots: one page per kind of note in the warehouse (notes with their numbers
    masked), a town outside the reference group, and the index of all towns."""
    towns = {ags for ags, in warehouse.execute("""
        SELECT min(ags) FROM indicator_values
        GROUP BY regexp_replace(coalesce(quality_note, '') || '|' || coalesce(imputation, ''), '[0-9][0-9.]*', '#', 'g')
        UNION ALL SELECT min(ags) FROM municipalities WHERE NOT in_reference_group AND NOT is_pilot""").fetchall()}
    assert len(towns) >= 3  # snapshot: one town carries most kinds of note, two the territorial changes
    for path in build_reports(snapshot_warehouse, tmp_path, towns=sorted(towns)):
        words = re.findall(r"[A-Za-zÄÖÜäöüß]+", visible_text(path.read_text("utf-8")))
        assert sorted({w for w in words if w.lower() in ENGLISH_WORDS}) == [], path.name


def test_english_word_check_catches_an_untranslated_note(pilot_reports):
    # the check above must be able to fail: an English note as the warehouse writes it
    words = re.findall(r"[A-Za-z]+", visible_text("<td>carried forward from 2019</td>"))
    assert {w for w in words if w.lower() in ENGLISH_WORDS} == {"carried", "forward", "from"}


def test_moelln_shows_the_data_dates_and_the_carried_forward_share(pilot_reports, warehouse):
    period, share, provisional = warehouse.execute(
        "SELECT period, imputed_share, provisional FROM latest_ranking WHERE ags = ?", [MOELLN]).fetchone()
    newest = warehouse.execute("SELECT max(period) FROM readiness_index WHERE score IS NOT NULL").fetchone()[0]
    html, text = page(pilot_reports, f"{MOELLN}.html")
    line = text["data-dates"]
    # Mölln's broadband is the mid-2021 Breitbandatlas, commuting INKAR 2019, accessibility INKAR 2018
    # (the oldest of its four indicators; publisher files)
    assert line.startswith(f"Index {period} · Datenstand: Breitband 06/2021, Pendler 2019, Bevölkerung 31.12.")
    assert "Erreichbarkeit 2018" in line
    assert f"{german(100 * share, 0)} % des Gewichts der Eingangswerte" in line and not provisional
    # 2023 rests mostly on carried-forward data: shown apart, as provisional, with its own data dates
    assert newest > period
    note = text["provisional-note"]
    assert f"Für {newest} gibt es einen vorläufigen Wert" in note and "Bevölkerung 31.12.2023" in note
    # the tile says how much of it is carried forward ("fortgeschrieben" alone read as the whole value; page audit
    # of 7 December 2026), as the note below it
    carried = warehouse.execute("""SELECT imputed_share FROM readiness_index WHERE ags = ? AND period = ?
        AND method_version = (SELECT method_version FROM current_method)""", [MOELLN, newest]).fetchone()[0]
    assert 0 < carried < 1 and text["provisional-share"] == f"zu {german(100 * carried, 0)} % fortgeschrieben"
    assert f"weil {german(100 * carried, 0)} % des Gewichts" in note
    assert "vorläufig" in text[f"history-{newest}"] and "vorläufig" not in text[f"history-{period}"]


def test_history_chart_gets_the_provisional_flag(snapshot_warehouse, tmp_path, monkeypatch):
    from reports import charts
    seen = {}
    original = charts.history_chart

    def spy(history, prefix):
        seen["frame"] = pd.DataFrame(history)  # a dict of column lists (or a frame)
        return original(history, prefix)

    monkeypatch.setattr(charts, "history_chart", spy)
    build_town_report(snapshot_warehouse, tmp_path, MOELLN)
    frame = seen["frame"].set_index("period")
    assert frame["provisional"].dtype == bool
    assert frame.loc[2023, "provisional"] and not frame.loc[2021, "provisional"]


def test_javascript_website_is_not_a_link(snapshot_warehouse, tmp_path):
    copy = tmp_path / "xss.duckdb"
    shutil.copy(snapshot_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        lon, lat = con.execute("SELECT lon, lat FROM municipalities WHERE ags = ?", [MOELLN]).fetchone()
        con.execute("""INSERT INTO coworking_spaces (osm_type, osm_id, name, lat, lon, kind, website, ags, vintage)
                       VALUES ('node', 1, 'Böse', ?, ?, 'office=coworking', 'javascript:alert(document.cookie)', ?, '2026-11-01'),
                              ('node', 2, 'Gut <b>', ?, ?, 'office=coworking', 'https://example.org/a?b=1&c=2', ?, '2026-11-01')""",
                    [lat, lon, MOELLN, lat, lon, MOELLN])
    html = build_town_report(copy, tmp_path / "out", MOELLN).read_text(encoding="utf-8")
    assert 'href="javascript:' not in html.lower()
    assert "javascript:alert(document.cookie)" in ElementText(html)["coworking"]  # shown as text only
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">' in html
    assert "Gut &lt;b&gt;" in html  # escaped
    for href in re.findall(r'<a [^>]*href="([^"]+)"', html):
        assert re.match(r"(https?://|#|[\w.-]+\.(html|csv|xlsx)$)", href), href


def test_downloads_open_in_pandas_and_openpyxl(pilot_reports, warehouse):
    import openpyxl
    import pandas as pd
    html, _ = page(pilot_reports, f"{MOELLN}.html")
    links = re.findall(r'href="([^"]+\.(?:csv|xlsx))"', html)
    csvs = sorted({link for link in links if link.endswith(".csv")})
    # every table shown has its download (no coworking table offline: no OSM data in the snapshot)
    assert csvs == sorted(f"{MOELLN}-{key}.csv" for key in ["indexverlauf", "saeulen", "treiber", "indikatoren",
                                                           "vergleichsstaedte", "pendlerstroeme", "mobilfunk",
                                                           "datenstand"])
    assert set(links) - set(csvs) == {f"{MOELLN}.xlsx"}
    assert all((pilot_reports / link).is_file() for link in links)
    raw = (pilot_reports / f"{MOELLN}-indikatoren.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM for Excel
    frame = pd.read_csv(pilot_reports / f"{MOELLN}-indikatoren.csv", sep=";", decimal=",", encoding="utf-8-sig",
                        dtype={"AGS": str})
    value, label = warehouse.execute("""SELECT v.value, c.label FROM indicator_values v JOIN indicator_catalogue c
        USING (indicator_id) WHERE v.ags = ? AND indicator_id = 'gigabit_coverage'
        ORDER BY period DESC LIMIT 1""", [MOELLN]).fetchone()
    assert frame["AGS"].eq(MOELLN).all()
    assert frame.loc[frame["Indikator"] == label, "Wert"].iloc[0] == pytest.approx(value)
    book = openpyxl.load_workbook(pilot_reports / f"{MOELLN}.xlsx")
    assert "Indikatoren" in book.sheetnames and "Vergleichsstädte" in book.sheetnames
    sheet = book["Indikatoren"]
    assert sheet["A1"].value == "AGS" and sheet["A2"].value == MOELLN and sheet["A2"].data_type == "s"


def test_index_lists_ranked_towns_first_in_german_order(pilot_reports, warehouse):
    html, _ = page(pilot_reports, "index.html")
    order = re.findall(r'<tr id="town-(\d{8})">', html)
    ranked = [a for a, in warehouse.execute("SELECT ags FROM latest_ranking ORDER BY rank, name").fetchall()]
    assert order[:len(ranked)] == ranked  # every ranked town above every unranked one
    names = dict(warehouse.execute("SELECT ags, name FROM municipalities").fetchall())
    # then the reference group's towns without a score in the published year, then all others, each by name
    unscored = {a for a, in warehouse.execute("""SELECT m.ags FROM municipalities m LEFT JOIN latest_ranking r
        USING (ags) WHERE m.in_reference_group AND r.score IS NULL""").fetchall()}
    after = order[len(ranked):]
    assert set(after[:len(unscored)]) == unscored
    key = lambda n: n.lower().replace("ä", "a").replace("ö", "o").replace("ü", "u").replace("ß", "ss")
    for group in (after[:len(unscored)], after[len(unscored):]):
        assert [names[a] for a in group] == sorted([names[a] for a in group], key=key)
    rest = [names[a] for a in after]
    assert "Bäk" in rest and rest.index("Bäk") < rest.index("Buchhorst")
    # sorting by the score column sorts by the score as shown: towns sharing a rank have one sort value
    sort_value = dict(re.findall(r'<tr id="town-(\d{8})">.*?</td>.*?</td>.*?</td>.*?</td>\s*<td class="num" '
                                 r'data-value="([^"]*)"', html, flags=re.S))
    for rank, towns in groupby(warehouse.execute("SELECT rank, ags FROM latest_ranking ORDER BY rank").fetchall(),
                               key=lambda row: row[0]):
        assert len({sort_value[ags] for _, ags in towns}) == 1, rank
    assert len({sort_value[ags] for ags in ranked}) < len(ranked)  # the snapshot has shared ranks


def test_comparison_page_of_the_five_pilots(snapshot_warehouse, warehouse, tmp_path, monkeypatch):
    from cli.main import main
    monkeypatch.setenv("READINESS_WAREHOUSE", str(snapshot_warehouse))
    assert main(["compare", "Mölln", "Wittenberge", "Dießen", "Dippoldiswalde", "Oestrich-Winkel",
                 "--out", str(tmp_path), "--name", "pilots.html"]) == 0
    html = (tmp_path / "pilots.html").read_text(encoding="utf-8")
    text = ElementText(html)
    for ags in PILOTS:
        score = warehouse.execute(LATEST_INDEX, [ags]).fetchone()[0]
        assert text[f"score-{ags}"] == german(score)
        assert f'href="{ags}.html"' in html
    assert "<svg" in section_html(html, "verlauf")
    median = warehouse.execute("""SELECT median(value) FROM indicator_values v JOIN municipalities m USING (ags)
        WHERE m.in_reference_group AND indicator_id = 'gigabit_coverage' AND excluded_reason IS NULL
          AND period = (SELECT max(period) FROM latest_ranking)""").fetchone()[0]
    assert german(median, 2) in text["indicator-gigabit_coverage"]  # a share: the two decimals of its unit
    assert main(["compare", "Mölln", "--out", str(tmp_path)]) == 2
    with pytest.raises(ValueError, match="2 to 8"):
        build_comparison(snapshot_warehouse, tmp_path, PILOTS[:1])


def test_every_source_and_catalogue_code_has_a_german_label():
    """A new source or pillar never shows up on a page as a raw id ("destatis_gebietsaenderungen"); units are
    enforced by the catalogue itself (test_compute.py)."""
    from reports.labels import PILLAR_DATA, PILLAR_LABELS, SOURCE_LABELS
    from sources.registry import load_sources
    assert all(SOURCE_LABELS[s] and SOURCE_LABELS[s] != s for s in load_sources())
    catalogue = load_catalogue()
    assert all(PILLAR_LABELS[p] and PILLAR_LABELS[p] != p for p in catalogue.pillars)
    # the Datenstand line groups by pillar: every pillar an indicator scores has its kind of data
    assert {i.pillar for i in catalogue.indicators.values()} - {"context"} <= set(PILLAR_DATA)


# 5G (5G2) on Wohnbaufläche per pilot Kreis, 2021-1: the check values of shared/docs/source-formats.md (1.3)
MOBILE_5G_RESIDENTIAL = {"01053": 67.94, "06439": 69.24, "09181": 67.91, "12070": 35.45, "14628": 44.19}


@pytest.mark.parametrize("ags", PILOTS)
def test_mobile_coverage_is_shown_as_the_kreis_value_not_in_the_index(pilot_reports, ags):
    """Issue 14.6: the Mobilfunk-Monitoring Kreis values are context on the town page, clearly labelled
    as the Kreis value, with date, publisher and licence; they are no indicator of the index."""
    html, text = page(pilot_reports, f"{ags}.html")
    section = section_html(html, "mobilfunk")
    assert text["mobilfunk-kreiswert"].startswith("Kreiswert, nicht der Wert von")
    assert "gehen nicht in den Index ein" in text["mobilfunk-kreiswert"]
    row = re.search(r"<tr><td>Wohnbaufläche</td><td class=\"num\">([^<]+)</td>", section).group(1)
    assert row == german(MOBILE_5G_RESIDENTIAL[ags[:5]], 2) + " %"  # the publisher's two decimals: 99.95 read "100,0 %"
    assert "Stichtag 30.06.2021" in section and "Bundesnetzagentur" in section
    assert '<a href="https://www.govdata.de/dl-de/by-2-0" rel="noopener noreferrer">dl-de/by-2-0</a>' in section
    assert "Mobilfunk" not in section_html(html, "indikatoren")  # context, not an indicator
    frame = pd.read_csv(pilot_reports / f"{ags}-mobilfunk.csv", sep=";", decimal=",", encoding="utf-8-sig",
                        dtype={"Kreis-AGS": str})
    residential = frame[frame["Flächenart"] == "Wohnbaufläche"].iloc[0]
    assert residential["Kreis-AGS"] == ags[:5] and residential["5G2 (% der Fläche)"] == MOBILE_5G_RESIDENTIAL[ags[:5]]


def test_ranking_page_on_the_snapshot_says_why_it_is_empty(pilot_reports, warehouse):
    """The snapshot has no employed-at-residence base (no Pendleratlas files), so the view is empty and the
    page says so instead of showing an empty table (the filled page: tests/unit/sources/test_local_inputs.py)."""
    assert warehouse.execute("SELECT count(*) FROM coworking_gap_ranking").fetchone()[0] == 0
    html, text = page(pilot_reports, "coworking-luecke.html")
    assert 'id="gap-ranking"' not in html and "Für keine Kleinstadt ließ sich ein Bedarf schätzen" in text["rangliste"]
    assert "Keine Kleinstadt mit geschätztem Bedarf" in html and "0 Kleinstädte" not in html  # not a count of none
    # for which years: those the gap was computed for (without them, "none" read as "none this year")
    first, last = warehouse.execute("SELECT min(period), max(period) FROM coworking_gap").fetchone()
    assert first < last and f"in den berechneten Jahren ({first}–{last})" in html
    assert 'id="ohne-angebot"' not in html and "keine Fahrzeit" in text["reichweite"]
    assert 'href="coworking-luecke.html"' in (pilot_reports / "index.html").read_text(encoding="utf-8")
    # the snapshot has INKAR and the BA, no Pendleratlas, OSM or town lists: without an estimate the page shows no
    # figure of INKAR or the BA and credits neither (it credited both beside "keine Zahl der Erwerbstätigen"); the
    # sources not loaded are named (the filled page's credits: tests/integration/test_local_inputs_run.py)
    loaded = {s for (s,) in warehouse.execute("SELECT DISTINCT source_id FROM source_releases").fetchall()}
    assert {"inkar", "ba_commuting"} <= loaded and not loaded & {"pendleratlas", "osm_coworking", "local_inputs"}
    assert "Quellen der Daten" not in text["gap-sources"] and "BBSR" not in text["gap-sources"]
    assert ("Für diese Auswertung nicht geladen: Pendleratlas (Statistische Ämter), Coworking-Spaces "
            "(OpenStreetMap), eigene Listen der Städte.") in text["gap-sources"]


@pytest.mark.parametrize("ags", PILOTS)
def test_the_coworking_section_shows_the_long_distance_share_as_the_indicator_table(pilot_reports, ags):
    """Mölln Germany-wide: the indicator table showed 17,75, the coworking section 17,8 % (page audit of 7 December
    2026): one figure, one rounding."""
    html, text = page(pilot_reports, f"{ags}.html")
    row = section_html(html, "indikatoren")
    row = row[row.index('id="indicator-long_distance_commuter_share"'):]
    cell = re.search(r'<td class="num">([^<]*)<span', row).group(1)
    section = " ".join(section_html(html, "coworking-luecke").split())
    shown = re.search(r"Arbeitsweg ≥ 50 km \(INKAR[^)]*\): ([^ <]*)", section).group(1)
    assert shown == cell and re.fullmatch(r"\d+,\d\d", cell), (shown, cell)


def test_a_change_across_the_census_and_a_carried_value_are_marked_in_the_drivers(pilot_reports, warehouse):
    """Wittenberge 2018 -> 2021: the 2018 10-year change is 2002 -> 2013, carried forward, and includes the
    Zensus 2011's recount (21,112 -> 17,297 inhabitants); the page must not present it as a 2018 movement."""
    wittenberge = next(a for a, name in load_catalogue().pilot_towns.items() if name == "Wittenberge")
    base, reference = warehouse.execute("""SELECT base_period, reference_date FROM indicator_values
        WHERE ags = ? AND indicator_id = 'population_change_10y' AND period = 2018""", [wittenberge]).fetchone()
    assert base < 2011 <= reference.year
    html, _ = page(pilot_reports, f"{wittenberge}.html")
    drivers = section_html(html, "treiber")
    drivers = drivers[drivers.index("<tbody>"):]  # the table, not the chart's labels
    row = drivers[drivers.index("Bevölkerungsentwicklung, ca. 10 Jahre"):]
    row = row[:row.index("</tr>")]
    assert f"fortgeschrieben aus {reference.year}" in row and "nach dem Zensus 2011" in row


def unscored_moelln(snapshot_warehouse, tmp_path) -> Path:
    """A copy of the snapshot in which Mölln has no score in any year (as Tangstedt Germany-wide)."""
    copy = tmp_path / "unscored.duckdb"
    shutil.copy(snapshot_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("""UPDATE readiness_index_history SET score = NULL, rank = NULL, rank_p05 = NULL, rank_p95 = NULL,
                       rank_median = NULL, score_p05 = NULL, score_p95 = NULL, score_median = NULL,
                       missing_pillars = 'accessibility' WHERE ags = ? AND valid_to IS NULL""", [MOELLN])
        share = con.execute("SELECT max(imputed_share) FROM readiness_index WHERE ags = ?", [MOELLN]).fetchone()[0]
    assert share  # the rows keep their carried-forward share: the page must not show it
    return copy


def test_a_town_without_a_score_gets_no_rank_sentences(snapshot_warehouse, tmp_path):
    """Tangstedt (review of 5 December 2026) has no score in any year, yet its page said "Der Rang gilt für das Jahr
    2023; das Band zeigt ..." and "fortgeschrieben: 50 % des Gewichts". Mölln without scores stands in for it here."""
    copy = unscored_moelln(snapshot_warehouse, tmp_path)
    html = build_town_report(copy, tmp_path / "out", MOELLN).read_text(encoding="utf-8")
    text = ElementText(html)
    assert text["score"] == "nicht bewertet"
    assert "Der Rang gilt" not in text["ueberblick"] and "keinen Rang" in text["ueberblick"]
    assert "fortgeschrieben" not in text["data-dates"]
    assert all(" %" not in text[key] for key in text.texts if key.startswith("history-"))


def test_no_page_shows_the_registers_abbreviated_designations(pilot_reports, warehouse):
    """The register names Dießen am Ammersee 'Dießen am Ammersee, M' (a pilot's title, its peers 'Geisenfeld, St'):
    every page and download writes the designation out, as for every other Land (page audit of 7 December 2026)."""
    assert warehouse.execute("SELECT name FROM municipalities WHERE ags = '09181114'").fetchone()[0] == \
        "Dießen am Ammersee, M"
    html, text = page(pilot_reports, "09181114.html")
    assert text["town-name"] == "Dießen am Ammersee, Markt"
    abbreviated = re.compile(r", (M|St|GKSt)\b(?![.\w])")
    files = [p for p in pilot_reports.rglob("*") if p.suffix in (".html", ".csv", ".svg")]
    assert len(files) > 20
    found = {p.name: m.group(0) for p in files for m in [abbreviated.search(p.read_text(encoding="utf-8-sig"))] if m}
    assert found == {}


def test_a_pillar_on_fewer_indicators_than_the_other_towns_says_so_on_the_page(snapshot_warehouse, tmp_path):
    """Mölln's fibre values made not scorable (as Wiesbaden's are Germany-wide, implausible_fall): its digital pillar
    row says it rests on 2 of the 3 indicators the other towns have (reports.context.town_pillar_coverage)."""
    copy = tmp_path / "fewer.duckdb"
    shutil.copy(snapshot_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        con.execute("""UPDATE indicator_values_history SET excluded_reason = 'implausible_fall'
                       WHERE ags = ? AND indicator_id = 'fibre_coverage' AND valid_to IS NULL""", [MOELLN])
    html = build_town_report(copy, tmp_path / "out", MOELLN).read_text(encoding="utf-8")
    row = ElementText(html)["pillar-digital_infrastructure"]
    assert "beruht auf 2 von 3 Indikatoren dieser Säule" in row
    assert "beruht auf" not in ElementText(html)["pillar-commuting_potential"]


def test_the_header_names_the_kreis_as_its_sections_do(snapshot_warehouse, tmp_path):
    """The header wrote the register's 'Neustadt a.d.Waldnaab' above sections writing the BKG's 'Neustadt a.d.
    Waldnaab' (80 pages of 8 Bavarian Kreise, page audit of 7 December 2026): here Mölln's register spelling made
    different from the BKG's, the header follows the sections."""
    copy = tmp_path / "respelled.duckdb"
    shutil.copy(snapshot_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        kreis = con.execute("SELECT kreis_ags FROM municipalities WHERE ags = ?", [MOELLN]).fetchone()[0]
        bkg = con.execute("SELECT name FROM kreise WHERE ags = ?", [kreis]).fetchone()[0]
        con.execute("UPDATE municipalities SET kreis_name = 'Hzgt.Lauenburg' WHERE kreis_ags = ?", [kreis])
    html = build_town_report(copy, tmp_path / "out", MOELLN).read_text(encoding="utf-8")
    header = " ".join(html[html.index("<header"):html.index("</header>")].split())
    assert f"im Kreis {bkg}," in header and f"Mobilfunk im Kreis {bkg}</h2>" in html, header
    assert "Hzgt.Lauenburg" not in html  # nor in the peer table (as the index page writes it)


def test_a_town_without_peers_is_told_every_feature_peers_need(snapshot_warehouse, tmp_path):
    """The sentence instead of the peer table names what a town needs for peers, from indicators.peers.FEATURES (it
    listed them by hand, reports/labels.py)."""
    from indicators.peers import FEATURES
    from reports.labels import FEATURES_DE

    copy = tmp_path / "no-peers.duckdb"
    shutil.copy(snapshot_warehouse, copy)
    with duckdb.connect(str(copy)) as con:
        assert con.execute("DELETE FROM peer_towns WHERE ags = ?", [MOELLN]).fetchone()[0] > 0
    html = build_town_report(copy, tmp_path / "out", MOELLN).read_text(encoding="utf-8")
    text = ElementText(html)
    assert text["no-peers"].startswith("Keine Vergleichsstädte berechnet")
    assert all(FEATURES_DE[feature] in text["no-peers"] for feature in FEATURES)
    # the summary compares with no one: no note on how it compares (7,694 pages had one; audit of 7 December 2026)
    assert "Keine Vergleichsstädte berechnet, daher keine Einordnung." in html
    assert "verglichen mit dem mittel" not in html.lower()


def test_the_index_lists_the_reference_groups_towns_without_a_score_apart(snapshot_warehouse, tmp_path):
    """The index listed Böhlen, Rötha, Mirow, Rerik, Nieste and Tangstedt (reference group, no score in the published
    year) among "alle übrigen Gemeinden" (review of 5 December 2026); now in a group of their own, with the reason."""
    from reports.build import Renderer
    from reports.data import load

    copy = unscored_moelln(snapshot_warehouse, tmp_path)
    (tmp_path / "out").mkdir()
    index = Renderer(load(copy)).index(tmp_path / "out")
    assert "Vergleichsgruppe ohne Indexwert" in index and "kein bewertbarer Wert für Erreichbarkeit" in index
    assert re.search(rf'<tr id="town-{MOELLN}">(?:(?!</tr>).)*ohne Indexwert \d{{4}}: kein bewertbarer Wert für '
                     'Erreichbarkeit', index, flags=re.S)
    table = pd.read_csv(tmp_path / "out" / "index-gemeinden.csv", sep=";", dtype=str, keep_default_na=False)
    assert table.set_index("AGS").loc[MOELLN, "Hinweis"] == "ohne Indexwert: kein bewertbarer Wert für Erreichbarkeit"
