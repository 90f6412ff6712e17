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
