"""Die Kommandozeile `readiness`: Demo-Warehouse bauen, Profil einer Gemeinde zeigen, Gemeindeberichte bauen.

    readiness demo                      refresh_warehouse auf dem Offline-Snapshot ausführen, Übersicht zeigen
    readiness profil <Gemeinde>         Indexwert, Rangband, Säulen, Indikatoren, Vergleichsgemeinden
    readiness bericht <Gemeinde>        HTML-Bericht der Gemeinde; `readiness bericht --alle` für alle

Die englischen Befehle `profile` und `report` (mit `--all`) sind gleichwertig. <Gemeinde> ist ein
8-stelliger AGS oder ein Name: Groß-/Kleinschreibung und Umlaute egal ("moelln"), Zusätze wie
", Stadt" optional, ein eindeutiger Namensanfang genügt ("Dießen"). Bei Tippfehlern und mehrdeutigen
Namen fragt der Befehl "Meinten Sie …?" und endet mit Status 2. Das Warehouse ist READINESS_WAREHOUSE
(Standard warehouse/readiness.duckdb), nur lesend geöffnet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.format import de_int
from cli.store import CliError


def parser() -> argparse.ArgumentParser:
    """The argument parser with its three subcommands."""
    root = argparse.ArgumentParser(prog="readiness", description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    commands = root.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="den Refresh auf dem eingebetteten Snapshot ausführen, Übersicht zeigen")
    demo.add_argument("--no-progress", "--ohne-fortschritt", action="store_true", help="ohne Fortschrittsbalken")
    # German names first (what planners type), the English ones stay as aliases for scripts
    profile = commands.add_parser("profil", aliases=["profile"], help="Profil einer Gemeinde ausgeben")
    profile.add_argument("town", metavar="Gemeinde", help="8-stelliger AGS oder Name")
    report = commands.add_parser("bericht", aliases=["report"], help="HTML-Bericht einer Gemeinde bauen (oder --alle)")
    report.add_argument("town", nargs="?", metavar="Gemeinde", help="8-stelliger AGS oder Name")
    report.add_argument("--all", "--alle", action="store_true", help="die Berichte aller Gemeinden bauen")
    report.add_argument("--out", "--ziel", type=Path,
                        help="Zielverzeichnis (Standard: READINESS_REPORTS_DIR, sonst data/reports)")
    report.add_argument("--no-progress", "--ohne-fortschritt", action="store_true",
                        help="ohne Fortschrittsbalken bei --alle")
    return root


# The German command names and their English aliases run the same code.
COMMANDS = {"profil": "profile", "bericht": "report"}


def run(args: argparse.Namespace) -> None:
    """Carry out one parsed command."""
    args.command = COMMANDS.get(args.command, args.command)
    if args.command == "demo":
        from cli.demo import run_refresh
        from cli.store import warehouse_path
        from cli.summary import print_summary

        run_refresh(show_progress=not args.no_progress)
        print_summary(warehouse_path())
    elif args.command == "profile":
        from cli.profile import print_profile
        from cli.store import open_warehouse
        from cli.towns import resolve

        with open_warehouse() as con:
            print_profile(con, resolve(con, args.town))
    elif args.command == "report":
        from cli.report import report_all, report_town

        if args.all == bool(args.town):
            raise CliError("Bitte entweder eine Gemeinde (Name oder AGS) oder --alle angeben.")
        if args.all:
            paths = report_all(args.out, show_progress=not args.no_progress)
            print(f"{de_int(len(paths))} Seiten (je Gemeinde, Netzwerk, Übersicht) geschrieben nach {paths[0].parent}")
        else:
            print(report_town(args.town, args.out))


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `readiness` console script; returns the exit status (2 on a user error)."""
    args = parser().parse_args(argv)
    try:
        run(args)
    except CliError as error:
        print(f"readiness: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
