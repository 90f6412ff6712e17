"""The towns offered for an ambiguous name name their Kreis as the town pages do (cli/towns.py, reports.labels.kreis_de):
"Hof (Kreis Hof)" stood for the kreisfreie Stadt and the Landkreis alike (review of 6 December 2026)."""

from __future__ import annotations

from cli.towns import AmbiguousTown, Town


def test_the_candidates_tell_a_kreisfreie_stadt_from_a_landkreis():
    candidates = [Town("09464000", "Hof", "Hof", "Kreisfreie Stadt"), Town("09475129", "Hofer Land", "Hof", "Landkreis"),
                  Town("07143243", "Hof", "Westerwaldkreis", "Landkreis"),
                  Town("01053090", "Mölln, Stadt", "Herzogtum Lauenburg")]  # no designation: 'Kreis'
    lines = str(AmbiguousTown("Hof", candidates, "'Hof' ist der Name von 2 Gemeinden.")).splitlines()
    assert lines[1:5] == ["  09464000  Hof  (kreisfreie Stadt Hof)", "  09475129  Hofer Land  (Landkreis Hof)",
                          "  07143243  Hof  (Westerwaldkreis)", "  01053090  Mölln, Stadt  (Kreis Herzogtum Lauenburg)"]
