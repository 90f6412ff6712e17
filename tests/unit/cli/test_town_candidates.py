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


def test_the_advice_names_only_what_picks_one_town():
    """'Aach' is the whole name of 07235001 and the start of 'Aach, Stadt' (08335001): typing it asks which, and the
    advice "den vollständigen Namen" could not help for 07235001, whose full name is what was typed (CLI sweep of 7
    December 2026). The advice names a full name that picks its town among all, with or without a suffix
    ("Wentorf bei Hamburg"), or the AGS alone; a name twice in Germany ("Lorch, Stadt") is no example."""
    from cli.towns import picking_name

    aach = [Town("07235001", "Aach", "Trier-Saarburg", "Landkreis"), Town("08335001", "Aach, Stadt", "Konstanz", "Landkreis")]
    assert picking_name(aach, aach) == "Aach, Stadt"
    assert str(AmbiguousTown("Aach", aach, "'Aach' ist der Name von 2 Gemeinden.", "Aach, Stadt")).splitlines()[-1] == (
        "Geben Sie den AGS an oder den vollständigen Namen (z. B. „Aach, Stadt“).")
    wentorf = [Town("01053129", "Wentorf bei Hamburg", "Herzogtum Lauenburg"),
               Town("01062078", "Wentorf (Amt Sandesneben)", "Stormarn")]
    assert picking_name(wentorf, wentorf) == "Wentorf bei Hamburg"
    lorch = [Town("06439009", "Lorch, Stadt", "Rheingau-Taunus-Kreis"), Town("08136040", "Lorch, Stadt", "Ostalbkreis")]
    assert picking_name(lorch + aach, lorch) is None
    hof = [Town("09464000", "Hof", "Hof", "Kreisfreie Stadt"), Town("07143243", "Hof", "Westerwaldkreis", "Landkreis")]
    assert picking_name(hof, hof) is None
    assert str(AmbiguousTown("Hof", hof, "'Hof' ist der Name von 2 Gemeinden.")).splitlines()[-1] == "Geben Sie den AGS an."


def test_a_name_as_a_page_writes_it_picks_no_other_town():
    """The Bavarian Arnstein's page is titled 'Arnstein, Stadt' (register 'Arnstein, St', written out on the pages),
    which is the register name of the Arnstein in Saxony-Anhalt: that name picked the latter silently (review of 7
    December 2026). It now names both; the register's own 'Arnstein, St' still picks the Bavarian one."""
    from cli.towns import by_name

    arnstein = [Town("09677114", "Arnstein, St", "Main-Spessart", "Landkreis"),
                Town("15087031", "Arnstein, Stadt", "Mansfeld-Südharz", "Landkreis"),
                Town("01053090", "Mölln, Stadt", "Herzogtum Lauenburg")]
    exact, picked = by_name(arnstein, "Arnstein, Stadt")
    assert picked is None and [t.ags for t in exact] == ["09677114", "15087031"]
    assert by_name(arnstein, "Arnstein, St")[1].ags == "09677114"
    assert by_name(arnstein, "Mölln, Stadt")[1].ags == "01053090"
    dießen = [Town("09181114", "Dießen am Ammersee, M", "Landsberg am Lech", "Landkreis")]
    assert by_name(dießen, "Dießen am Ammersee, Markt")[1].ags == "09181114"  # the page's title finds the town
