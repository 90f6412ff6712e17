"""argparse in German: the usage line, the section titles, ``-h`` and the parse errors of `readiness`.

Planners read the command's help and errors; argparse writes "usage:", "options" and "error: the following
arguments are required" in English whatever the locale (its gettext catalogue follows the environment, which a
planner's Windows or a container does not set to German). The texts argparse itself produces are replaced here;
the project's own help texts were German already.
"""

from __future__ import annotations

import argparse
import re
import sys

# argparse's error messages (Python 3.11), most specific first; the fallback keeps any other message as it is
ERRORS_DE = [
    (re.compile(r"the following arguments are required: (.+)"), r"Angabe fehlt: \1"),
    (re.compile(r"unrecognized arguments: (.+)"), r"unbekannte Angaben: \1"),
    (re.compile(r"argument (.+?): invalid choice: (.+?) \(choose from (.+)\)"), r"\1: unbekannt: \2 (möglich: \3)"),
    (re.compile(r"argument (.+?): expected one argument"), r"\1: erwartet einen Wert"),
    (re.compile(r"argument (.+?): expected at least one argument"), r"\1: erwartet mindestens einen Wert"),
    (re.compile(r"argument (.+?): not allowed with argument (.+)"), r"\1: nicht zusammen mit \2"),
    (re.compile(r"argument (.+?): ignored explicit argument (.+)"), r"\1: Wert \2 nicht erlaubt"),
    (re.compile(r"ambiguous option: (.+?) could match (.+)"), r"mehrdeutige Option \1: passt zu \2"),
    (re.compile(r"argument (.+?): (.+)"), r"\1: \2"),
]


def message_de(message: str) -> str:
    """argparse's English error ``message`` in German (unknown messages unchanged)."""
    for pattern, german in ERRORS_DE:
        if pattern.fullmatch(message):
            return pattern.sub(german, message)
    return message


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """"Aufruf:" instead of "usage:"; descriptions and epilogs keep their line breaks."""

    def add_usage(self, usage, actions, groups, prefix=None):
        return super().add_usage(usage, actions, groups, "Aufruf: " if prefix is None else prefix)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser with German section titles, help option and errors; its subcommands' parsers too
    (``add_subparsers`` creates them with the parser's own class)."""

    def __init__(self, *args, add_help: bool = True, **kwargs):
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, add_help=False, **kwargs)
        self._positionals.title = "Argumente"
        self._optionals.title = "Optionen"
        if add_help:
            self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS,
                              help="diese Hilfe zeigen und beenden")

    def error(self, message: str):
        """Usage and the German message on stderr, exit status 2 (as argparse: a user error)."""
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: Fehler: {message_de(message)}\n")
