"""`readiness`'s own words were German, argparse's were English: "usage:", "options", "show this help message and
exit", "error: the following arguments are required" (audit of the CLI texts, 7 December 2026). cli/argparse_de.py
puts them in German, for the command and each subcommand."""

from __future__ import annotations

import pytest

from cli.argparse_de import message_de
from cli.main import main

ENGLISH = ["usage:", "options", "positional arguments", "show this help", "error:", "required", "invalid choice"]


def run(capsys, *argv: str) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as stopped:
        main(list(argv))
    out, err = capsys.readouterr()
    return stopped.value.code, out, err


@pytest.mark.parametrize("argv", [["--help"], ["profil", "--help"], ["bericht", "-h"], ["vergleich", "--help"]])
def test_the_help_is_german(capsys, argv):
    status, out, _ = run(capsys, *argv)
    assert status == 0
    assert out.startswith("Aufruf: readiness") and "Optionen:" in out and "diese Hilfe zeigen und beenden" in out
    assert not [word for word in ENGLISH if word in out]


@pytest.mark.parametrize("argv, message", [
    (["profil"], "readiness profil: Fehler: Angabe fehlt: Gemeinde"),
    ([], "readiness: Fehler: Angabe fehlt: Befehl"),
    (["blah"], "readiness: Fehler: Befehl: unbekannt: 'blah' (möglich: 'demo', 'profil', "),
    (["bericht", "--ziel"], "readiness bericht: Fehler: --ziel/--out: erwartet einen Wert"),
    (["demo", "--x"], "readiness: Fehler: unbekannte Angaben: --x"),
    (["bericht", "--al"], "readiness bericht: Fehler: mehrdeutige Option --al: passt zu --alle, --all"),
])
def test_a_wrong_call_is_answered_in_german_with_status_2(capsys, argv, message):
    status, out, err = run(capsys, *argv)
    assert status == 2 and out == ""
    assert err.startswith("Aufruf: readiness") and message in err
    assert not [word for word in ENGLISH if word in err]


def test_an_unknown_message_is_kept_as_argparse_wrote_it():
    """A message this table does not know (a later Python's new wording) stays readable rather than half-translated."""
    assert message_de("something new happened") == "something new happened"
