"""German text of the typed codes reports render that indicators/flags.py does not own."""

from __future__ import annotations

import pytest

from reports.labels import FLOW_LISTING_DE, MARKERS_DE, flow_note
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
             "basis": "pendleratlas_flows"}
    assert _figure_year(flows) == 2022 and _basis_de(flows).startswith("Pendleratlas-Ströme 2022 ab 50 km")
    estimate = {**flows, "long_distance_out_commuters_estimate": 2000.0, "basis": "inkar_estimate"}
    assert _figure_year(estimate) == 2019 and _basis_de(estimate).startswith("INKAR-Anteil der Arbeitswege ab 50 km (2019)")
    assert _figure_year({}) is None and _basis_de({}) is None
