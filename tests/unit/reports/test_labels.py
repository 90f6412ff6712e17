"""German text of the typed codes reports render that indicators/flags.py does not own."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings, strategies as st

from indicators.engine import published_score, published_scores, rank_published
from reports.labels import CATALOGUE, FLOW_LISTING_DE, MARKERS_DE, de_score, de_signed, flow_note, score_gap
from sources.ba_commuting import FLOW_LISTING
from sources.gigabit_grundbuch import MARKERS, cell_value, marker


def test_every_flow_code_has_german_text():
    """A code a source adds without German text would fail on a page (KeyError) or drop its reason silently."""
    assert set(FLOW_LISTING_DE) == set(FLOW_LISTING)
    assert set(MARKERS_DE) == set(MARKERS)


def test_flow_note_renders_listing_and_marker():
    assert flow_note("complete", None) == ""
    assert flow_note("top_10", None) == "nur die 10 größten Partnerkreise; Werte unter 10 auf 10 aufgerundet"
    assert flow_note("complete", "*") == "vom Herausgeber aus Datenschutzgründen nicht ausgewiesen („*“)"
    with pytest.raises(KeyError):
        flow_note("top_5", None)


@pytest.mark.parametrize("cell, symbol", [("*", "*"), (" - ", "-"), ("–", "-"), (".", "."), ("12", None),
                                          (12.0, None), (None, None), ("x", None)])
def test_marker_is_the_publishers_symbol_with_the_en_dash_as_hyphen(cell, symbol):
    assert marker(cell) == symbol
    if symbol is not None:
        assert cell_value(cell)[1] == MARKERS[symbol]


def test_the_gap_count_is_shown_with_the_year_of_its_data():
    """A tile 'Auspendler mit ≥ 50 km (2023)' rested on INKAR 2019 and Pendleratlas 2022 without saying so."""
    from reports.coworking_gap import _basis_de, _figure_year
    flows = {"long_distance_out_commuters_flows": 700.0, "long_distance_flows_year": 2022,
             "long_distance_out_commuters_estimate": 300.0, "long_distance_share_year": 2019,
             "long_distance_out_commuters": 700.0, "basis": "pendleratlas_flows"}
    assert _figure_year(flows) == 2022 and _basis_de(flows).startswith("Pendleratlas-Ströme 2022 ab 50 km")
    estimate = {**flows, "long_distance_out_commuters_estimate": 2000.0, "long_distance_out_commuters": 2000.0,
                "basis": "inkar_estimate"}
    assert _figure_year(estimate) == 2019 and _basis_de(estimate).startswith("INKAR-Anteil der Arbeitswege ab 50 km (2019)")
    assert _figure_year({}) is None and _basis_de({}) is None
    # a share without employed persons: no count, so no data year above the '–' (it read 'Daten 2019')
    assert _figure_year({"long_distance_share_year": 2019, "long_distance_out_commuters": None}) is None


def test_the_gap_tile_names_the_counts_year_or_says_there_is_none():
    """Without a count the tile read 'Auspendler mit ≥ 50 km (2023)' above a dash on a page leading with 2021."""
    from reports.coworking_gap import count_label_de

    estimate = {"period": 2023, "basis": "inkar_estimate", "long_distance_share_year": 2019,
                "long_distance_out_commuters": 1200.0}
    assert count_label_de(estimate) == "Auspendler mit ≥ 50 km (Daten 2019, fortgeschrieben auf 2023)"
    assert count_label_de({**estimate, "long_distance_share_year": 2023}) == "Auspendler mit ≥ 50 km (Daten 2023)"
    assert count_label_de({**estimate, "long_distance_out_commuters": None}) == (
        "Auspendler mit ≥ 50 km (2023: keine Zahl)")


@given(st.floats(min_value=0, max_value=100, allow_nan=False), st.floats(min_value=0, max_value=100, allow_nan=False))
def test_a_page_shows_scores_as_they_are_ranked(a, b):
    """The score on a page is the one the ranks compare (engine.published_scores): two towns shown with the same
    score never get different ranks, and a change or gap is the difference of the two numbers shown."""
    ranks = rank_published(np.array([a, b]), CATALOGUE.score_decimals)
    assert (de_score(a) == de_score(b)) == (ranks[0] == ranks[1])
    shown = [float(de_score(v).replace(".", "").replace(",", ".")) for v in (a, b)]
    assert de_signed(score_gap(a, b)) == de_signed(shown[0] - shown[1])


def test_scores_gaps_and_missing_scores_as_shown():
    assert de_score(70.2437) == de_score(70.1612) == "70,2"
    assert de_signed(score_gap(70.2437, 68.96)) == "+1,2"  # 70,2 against 69,0; unrounded 1.28 would show +1,3
    assert de_score(None) == "–" and score_gap(None, 70.0) is None and score_gap(70.0, float("nan")) is None


@given(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False), st.integers(min_value=0, max_value=4))
def test_one_score_is_rounded_as_numpy_rounds_the_ranked_ones(value, decimals):
    """Pages round one score at a time (engine.published_score), the ranks whole arrays: the same float."""
    assert published_score(value, decimals) == float(published_scores(value, decimals))


@settings(max_examples=300)
@given(st.lists(st.one_of(st.floats(min_value=-1e6, max_value=1e6, allow_nan=False),
                          st.integers(min_value=0, max_value=20000).map(lambda k: k / 200)), min_size=1, max_size=50))
def test_scores_are_rounded_as_sql_rounds_them(values):
    """The planner guide's queries show round(score, 1): DuckDB rounds halves away from zero (43.25 -> 43.3, as
    Excel); a page or rank that rounded them to even would show 43.2 or rank two towns shown as 43.3 apart."""
    sql = [r for (r,) in duckdb.execute("SELECT round(v, 1) FROM unnest(?::DOUBLE[]) t(v)", [values]).fetchall()]
    assert published_scores(np.array(values), 1).tolist() == sql
    assert [published_score(v, 1) for v in values] == sql


@pytest.mark.parametrize("value, shown", [(43.25, 43.3), (0.25, 0.3), (70.05, 70.1), (2.675, 2.7), (-0.05, -0.1),
                                          (60.04999999999999, 60.0)])
def test_halves_round_away_from_zero(value, shown):
    assert published_score(value, 1) == float(published_scores(value, 1)) == shown


def test_kreise_of_one_name_are_told_apart_by_their_designation():
    """The commuting table listed 'München' twice (the city 09162 and the Landkreis 09184), told apart by the AGS."""
    import pandas as pd

    from sources.names import kreis_labels

    names = pd.Series(["München", "München", "Prignitz", "Heilbronn", "Heilbronn"],
                      index=["09162", "09184", "12070", "08121", "08125"])
    kinds = pd.Series(["Kreisfreie Stadt", "Landkreis", "Landkreis", "Stadtkreis", "Landkreis"], index=names.index)
    assert kreis_labels(names, kinds).tolist() == ["München (kreisfreie Stadt)", "München (Landkreis)", "Prignitz",
                                                   "Heilbronn (Stadtkreis)", "Heilbronn (Landkreis)"]


def test_the_context_pillar_is_named_by_the_catalogue_everywhere():
    """Pages, the network page's filter and the exports name (and the network page filters) the context indicators
    by the pillar id; "Kontext" was written in three places and a page filtered on the label text."""
    from indicators.catalogue import CONTEXT, load_catalogue
    from reports.labels import pillar_label
    from warehouse.exports import pillar_labels

    assert pillar_label(CONTEXT) == load_catalogue().pillar_label(CONTEXT) == pillar_labels()[CONTEXT] == "Kontext"
    assert pillar_label("accessibility") == "Erreichbarkeit" and pillar_label(None) == "Zusammensetzung"


def test_the_peers_feature_dates_name_each_date_or_its_span():
    """The similarity compares the structure features of town and peers, of their own dates: one date where all
    agree, the span where they differ, nothing for a feature without any date."""
    import datetime as dt

    from reports.labels import feature_dates_de, years_de

    town = {"population_date": dt.date(2023, 12, 31), "job_centrality_date": pd.Timestamp(2019, 6, 30)}
    rows = [{**town, "peer_population_date": pd.Timestamp(2023, 12, 31),
             "peer_job_centrality_date": dt.date(2019, 6, 30)},
            {**town, "peer_population_date": dt.date(2023, 12, 31), "peer_job_centrality_date": dt.date(2018, 6, 30)}]
    assert feature_dates_de(rows[:1]) == "Einwohnerzahl Stichtag 31.12.2023, Pendlersaldo (INKAR) Stichtag 30.06.2019"
    assert feature_dates_de(rows) == ("Einwohnerzahl Stichtag 31.12.2023, "
                                      "Pendlersaldo (INKAR) Stichtag 30.06.2018 bis 30.06.2019")
    assert feature_dates_de([{"population_date": pd.NaT, "job_centrality_date": None}]) is None
    assert feature_dates_de([{"population_date": dt.date(2023, 12, 31)}]) == "Einwohnerzahl Stichtag 31.12.2023"
    assert (years_de([2021, 2013, 2023]), years_de([2021, 2021]), years_de([])) == ("2013–2023", "2021", "")


def test_a_sentence_ending_in_an_abbreviation_gets_no_second_full_stop():
    """Bad Grund's map note ended "… Harz (Landkreis Göttingen), gemfr. Geb.." (page audit of 7 December 2026)."""
    from markupsafe import Markup

    from reports.build import page_environment
    from reports.labels import full_stop

    assert full_stop("Harz (Landkreis Göttingen), gemfr. Geb.") == "Harz (Landkreis Göttingen), gemfr. Geb."
    assert full_stop("Osterode am Harz") == "Osterode am Harz."
    template = page_environment().from_string('Nachbarn: {{ names|join("; ")|full_stop }}')
    assert template.render(names=["Bad Lauterberg im Harz, St", "Harz (Landkreis Göttingen), gemfr. Geb."]) == \
        "Nachbarn: Bad Lauterberg im Harz, St; Harz (Landkreis Göttingen), gemfr. Geb."
    # a name with '&' is escaped once, whether the joined text arrives as Markup or as text
    assert template.render(names=["A & B"]) == "Nachbarn: A &amp; B."
    assert isinstance(full_stop(Markup("A &amp; B")), Markup)


def test_bavarias_abbreviated_designations_are_written_out_on_the_pages():
    """The Gemeindeverzeichnis writes 'Dießen am Ammersee, M' (a pilot's page title), 'Weilheim i.OB, St', 'Bad
    Reichenhall, GKSt'; every other Land's designation is written out ('Mölln, Stadt'). Page audit of 7 December
    2026: "Abstand = Vergleichsstadt minus Rötz, St"."""
    import pandas as pd

    from reports.labels import display_name, display_names

    assert display_name("Dießen am Ammersee, M") == "Dießen am Ammersee, Markt"
    assert display_name("Rötz, St") == "Rötz, Stadt"
    assert display_name("Bad Reichenhall, GKSt") == "Bad Reichenhall, Große Kreisstadt"
    for unchanged in ("Mölln, Stadt", "Harz (Landkreis Göttingen), gemfr. Geb.", "Zschopau, Stadt, Motorradstadt",
                      "Marktl", "St. Englmar", None):
        assert display_name(unchanged) == unchanged
    assert display_names(pd.Series(["Marktl, M", None, "Marktl, M"])).tolist() == ["Marktl, Markt", None, "Marktl, Markt"]
