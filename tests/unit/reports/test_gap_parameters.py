"""The coworking pages' table of the estimate's parameters reads label, value and source from the catalogue.

Why: the German sources were a dict in reports/coworking_gap.py that wrote the figures derived from the
catalogue's values out by hand ("0,84 Tage", "einer von fünf"): after a change of a value the page would have
shown the new value beside the old figures (review of 6 December 2026)."""

from __future__ import annotations

import pytest
import yaml

from indicators.catalogue import CATALOGUE_YAML
from indicators.coworking_gap import gap_parameters
from reports import coworking_gap


def catalogue_with(tmp_path, **changes):
    """A copy of the catalogue whose coworking_gap section has ``changes`` (None deletes a key)."""
    raw = yaml.safe_load(CATALOGUE_YAML.read_text(encoding="utf-8"))
    for key, value in changes.items():
        if value is None:
            del raw["coworking_gap"][key]
        else:
            raw["coworking_gap"][key] = value
    path = tmp_path / "catalogue.yaml"
    path.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return path


def test_the_rows_are_the_catalogues_parameters_with_the_product_computed():
    rows = coworking_gap._parameter_rows()
    assert [r["label"] for r in rows] == ["Anteil Beschäftigter mit homeoffice-fähiger Tätigkeit",
                                          "Tage mobil/remote je Woche", "Arbeitstage je Woche",
                                          "Anteil der Remote-Tage im Coworking"]
    assert [r["value"] for r in rows] == ["0,56", "1,50", "5,00", "0,20"]
    assert "das Produkt ist 0,84 Tage je Auspendler und Woche" in rows[1]["source"]
    assert not any("{" in r["source"] for r in rows)


def test_a_changed_value_changes_the_figure_derived_from_it(tmp_path, monkeypatch):
    path = catalogue_with(tmp_path, remote_days_per_week=2)
    monkeypatch.setattr(coworking_gap, "gap_parameters", lambda: gap_parameters(path))
    rows = coworking_gap._parameter_rows()
    assert rows[1]["value"] == "2,00" and "das Produkt ist 1,12 Tage je Auspendler und Woche" in rows[1]["source"]


@pytest.mark.parametrize("key", ["workdays_per_week_label_de", "remote_capable_share_source_de"])
def test_a_parameter_without_its_german_text_is_refused(tmp_path, key):
    with pytest.raises(ValueError, match=key):
        gap_parameters(catalogue_with(tmp_path, **{key: None}))


def test_a_threshold_other_than_inkars_is_refused(tmp_path):
    """The estimate rests on INKAR's share of commuters going 50 km or more, a threshold the publisher fixed: the
    pages wrote "50 km" for it by hand beside the catalogue's long_distance_km of the flows."""
    assert gap_parameters()["long_distance_km"] == 50
    with pytest.raises(ValueError, match="long_distance_km 40 km must be the threshold of INKAR's share "
                                         "commuters_50km_share"):
        gap_parameters(catalogue_with(tmp_path, long_distance_km=40))
