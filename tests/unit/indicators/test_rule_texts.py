"""The published texts that state a rule's threshold say the threshold the code applies.

The labels of indicators/flags.py go into the warehouse's quality notes and onto the pages, the templates' hints onto
every page; each states a number that a constant elsewhere decides. These tests hold each text to its constant, so
that a changed threshold fails here instead of leaving the old number in print (review of 6 December 2026)."""

from __future__ import annotations

from pathlib import Path

from indicators import flags
from indicators.compute import AREA_CHANGE
from indicators.engine import OPTIONAL_PILLAR_MIN_SHARE
from indicators.index import MIN_OWN_DATA_SHARE
from sources.registry import load_sources
from staging.crosswalk import MINOR_TRANSFER, MINOR_TRANSFER_SHARE

TEMPLATES = Path(__file__).resolve().parents[3] / "reports" / "templates"


def test_the_minor_transfer_label_states_the_crosswalks_limits():
    english, german = flags.TERRITORIAL_CHANGE["minor_transfer"]
    assert f"at most {MINOR_TRANSFER} inhabitants or {MINOR_TRANSFER_SHARE:g} % of the population" in english
    assert f"höchstens {MINOR_TRANSFER} Einwohnern oder {MINOR_TRANSFER_SHARE:g} % der Bevölkerung" in german


def test_the_area_change_label_states_the_computations_limit():
    english, german = flags.TERRITORIAL_CHANGE["area_change"]
    assert f"more than {100 * AREA_CHANGE:g} %" in english and f"mehr als {100 * AREA_CHANGE:g} %" in german


def test_the_half_in_the_texts_is_the_engines_and_the_indexs_share():
    english, german = flags.OTHER["uncompared_pillar"]
    assert OPTIONAL_PILLAR_MIN_SHARE == 0.5 and "fewer than half" in english and "weniger als die Hälfte" in german
    town = (TEMPLATES / "town.html.j2").read_text(encoding="utf-8")
    assert MIN_OWN_DATA_SHARE == 0.5 and "mindestens\n     die Hälfte des Gewichts" in town
    assert "Weniger als die Hälfte des Gewichts der Eingangswerte stammt aus dem Jahr selbst" in town


def test_the_neighbour_maps_distance_is_the_maps_buffer():
    from reports.maps import NEIGHBOUR_BUFFER_M

    town = (TEMPLATES / "town.html.j2").read_text(encoding="utf-8")
    assert f"angrenzenden oder bis {NEIGHBOUR_BUFFER_M / 1000:g} km entfernten Gemeinden" in town


def test_inkars_two_years_are_its_publication_lag():
    sections = (TEMPLATES / "sections.html.j2").read_text(encoding="utf-8")
    assert load_sources()["inkar"].publication_lag_months == 24 and "bei INKAR zwei Jahre" in sections


def test_the_coworking_indicator_states_its_radii():
    """Its label and definition (published in indicator_catalogue) state the reach and the distances within which
    two places are one: the catalogue's reach_km, and the matching rules' constants."""
    from indicators.catalogue import load_catalogue
    from indicators.coworking_gap import gap_parameters
    from sources.local_inputs import SAME_NAME_AND_ADDRESS_M, SAME_PLACE_M

    coworking = load_catalogue().indicators["coworking_within_10km"]
    reach = f"{gap_parameters()['reach_km']:g} km"
    assert coworking.label.endswith(f"im Umkreis von {reach}") and f"within {reach} of its boundary" in coworking.definition
    assert f"within {SAME_PLACE_M:g} m with the same name or address" in coworking.definition
    assert f"in the Gemeinde or within {SAME_NAME_AND_ADDRESS_M / 1000:g} km" in coworking.definition
