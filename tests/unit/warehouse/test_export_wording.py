"""What the German exports say about their numbers (review of the Germany-wide build of 5 December)."""

from __future__ import annotations

from warehouse import exports


def test_the_carried_forward_share_is_named_as_a_share_of_the_scores_weight():
    """imputed_share is the share of the score's weight resting on carried-forward values (docs/data-dictionary.md),
    not the share of the values carried forward ("Anteil fortgeschriebener Werte" said the latter)."""
    header = exports.GERMAN_HEADERS["imputed_share"]
    assert header.startswith("Gewichtsanteil fortgeschriebener Werte") and "Indexwert" in header, header
    assert "(0–1)" in header
