"""Die Kommandozeile `readiness`: Demo-Warehouse bauen, Profil einer Gemeinde zeigen, Gemeindeberichte bauen.

    readiness demo                      den Refresh ausführen (Quellen nach READINESS_SOURCE_MODE, ohne:
                                        der Offline-Snapshot; nur was sich geändert hat, --alles-neu: alles),
                                        Übersicht zeigen
    readiness profil <Gemeinde>         Indexwert, Rangband, Säulen, Indikatoren, Vergleichsgemeinden
    readiness bericht <Gemeinde>        HTML-Bericht der Gemeinde; `readiness bericht --alle` für alle
    readiness vergleich <Gemeinde> …    2 bis 8 Gemeinden nebeneinander (Indikatoren, Säulen, Verlauf)
    readiness karte                     nur die Karten (atlas/): SVG für Deutschland und jedes Land, karte.html

Die englischen Befehle `profile`, `report` (mit `--all`, `--out`) und `compare` sind gleichwertig. <Gemeinde> ist ein
8-stelliger AGS (7 Ziffern: die führende Null ergänzt) oder ein Name: Groß-/Kleinschreibung und Umlaute egal ("moelln"), Zusätze wie
", Stadt" optional, ein eindeutiger Namensanfang genügt ("Dießen"). Bei Tippfehlern und mehrdeutigen
Namen fragt der Befehl "Meinten Sie …?" und endet mit Status 2. Das Warehouse ist READINESS_WAREHOUSE
(Standard warehouse/readiness.duckdb), nur lesend geöffnet.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.argparse_de import ArgumentParser
from cli.format import de_int, printable
from cli.store import CliError


def parser() -> argparse.ArgumentParser:
    """The argument parser with its subcommands."""
    root = ArgumentParser(prog="readiness", description=__doc__.split("\n\n")[0],
                          epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    commands = root.add_subparsers(dest="command", required=True, metavar="Befehl")
    demo = commands.add_parser("demo", help="den Refresh ausführen (Quellen nach READINESS_SOURCE_MODE, ohne: der "
                                            "eingebettete Snapshot), Übersicht zeigen")
    demo.add_argument("--ohne-fortschritt", "--no-progress", dest="no_progress", action="store_true",
                      help="ohne Fortschrittsbalken")
    demo.add_argument("--alles-neu", "--full", dest="full", action="store_true",
                      help="alles neu berechnen, auch wenn sich weder Quellen noch Code geändert haben "
                           "(sonst nur, was sich geändert hat)")
    # German names first (what planners type), the English ones stay as aliases for scripts
    profile = commands.add_parser("profil", aliases=["profile"], help="Profil einer Gemeinde ausgeben")
    profile.add_argument("town", metavar="Gemeinde", help="8-stelliger AGS oder Name")
    report = commands.add_parser("bericht", aliases=["report"], help="HTML-Bericht einer Gemeinde bauen (oder --alle)")
    report.add_argument("town", nargs="?", metavar="Gemeinde", help="8-stelliger AGS oder Name")
    report.add_argument("--alle", "--all", dest="all", action="store_true", help="die Berichte aller Gemeinden bauen")
    report.add_argument("--ziel", "--out", dest="out", type=Path, metavar="ORDNER",
                        help="Zielverzeichnis (Standard: READINESS_REPORTS_DIR, sonst data/reports)")
    report.add_argument("--ohne-fortschritt", "--no-progress", dest="no_progress", action="store_true",
                        help="ohne Fortschrittsbalken bei --alle")
    compare = commands.add_parser("vergleich", aliases=["compare"], help="2 bis 8 Gemeinden nebeneinander vergleichen")
    compare.add_argument("towns", nargs="+", metavar="Gemeinde", help="8-stelliger AGS oder Name")
    compare.add_argument("--ziel", "--out", dest="out", type=Path, metavar="ORDNER",
                         help="Zielverzeichnis (Standard: READINESS_REPORTS_DIR, sonst data/reports)")
    compare.add_argument("--name", help="Dateiname der Seite (Standard: vergleich-<ags>-<ags>….html)")
    karte = commands.add_parser("karte", help="nur die Karten bauen: Atlas (SVG) und interaktive karte.html")
    karte.add_argument("--ziel", "--out", dest="out", type=Path, metavar="ORDNER",
                       help="Zielverzeichnis (Standard: READINESS_REPORTS_DIR, sonst data/reports)")
    return root


# The German command names and their English aliases run the same code.
COMMANDS = {"profil": "profile", "bericht": "report", "vergleich": "compare"}


def run(args: argparse.Namespace) -> None:
    """Carry out one parsed command."""
    args.command = COMMANDS.get(args.command, args.command)
    if args.command == "demo":
        from cli.demo import run_refresh
        from cli.store import warehouse_path
        from cli.summary import print_summary

        run_refresh(show_progress=not args.no_progress, full=args.full)
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
    elif args.command == "compare":
        from cli.compare import compare_towns

        print(compare_towns(args.towns, args.out, args.name))
    elif args.command == "karte":
        from cli.karte import build_karte

        paths = build_karte(args.out)
        karte = next(p for p in paths if p.name == "karte.html")
        print(f"Karten geschrieben: {karte} und der Atlas {karte.parent / 'deutschland.html'}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `readiness` console script; returns the exit status (2 on a user error)."""
    args = parser().parse_args(argv)
    try:
        run(args)
    except CliError as error:
        print(f"readiness: {printable(error)}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
