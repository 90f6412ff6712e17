"""The `readiness` command line: build the demo warehouse, show a town's profile, build town reports.

    readiness demo                  run refresh_warehouse on the offline snapshot, print the summary
    readiness profile <town>        a town's score, rank band, pillars, indicators and peers
    readiness report <town>         the town's HTML report; `readiness report --all` for every town
    readiness compare <town> …      a page with 2 to 8 towns side by side (indicators, pillars, history)
    readiness karte                 only the maps (atlas/): SVGs of Germany and each Land, karte.html

<town> is an 8-digit AGS or a name: case- and umlaut-insensitive ("moelln"), suffixes such as
", Stadt" optional, a unique prefix is enough ("Dießen"). The warehouse is READINESS_WAREHOUSE
(default warehouse/readiness.duckdb), opened read-only.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cli.store import CliError


def parser() -> argparse.ArgumentParser:
    """The argument parser with its subcommands."""
    root = argparse.ArgumentParser(prog="readiness", description=__doc__.split("\n\n")[0],
                                   formatter_class=argparse.RawDescriptionHelpFormatter,
                                   epilog="\n\n".join(__doc__.split("\n\n")[1:]))
    commands = root.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="run the refresh job on the embedded snapshot and print a summary")
    demo.add_argument("--no-progress", action="store_true", help="no progress bar")
    profile = commands.add_parser("profile", help="print a town's profile")
    profile.add_argument("town", help="8-digit AGS or name")
    report = commands.add_parser("report", help="build a town's HTML report (or --all)")
    report.add_argument("town", nargs="?", help="8-digit AGS or name")
    report.add_argument("--all", action="store_true", help="build the reports of all towns")
    report.add_argument("--out", type=Path,
                        help="output directory (default: READINESS_REPORTS_DIR, else data/reports)")
    report.add_argument("--no-progress", action="store_true", help="no progress bar with --all")
    compare = commands.add_parser("compare", help="write a page comparing 2 to 8 towns side by side")
    compare.add_argument("towns", nargs="+", help="8-digit AGS or names")
    compare.add_argument("--out", type=Path,
                         help="output directory (default: READINESS_REPORTS_DIR, else data/reports)")
    compare.add_argument("--name", help="file name of the page (default: vergleich-<ags>-<ags>….html)")
    karte = commands.add_parser("karte", help="build only the maps: atlas (SVG) and interactive karte.html")
    karte.add_argument("--out", type=Path,
                       help="output directory (default: READINESS_REPORTS_DIR, else data/reports)")
    return root


def run(args: argparse.Namespace) -> None:
    """Carry out one parsed command."""
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
            raise CliError("Give either a town (name or AGS) or --all.")
        if args.all:
            paths = report_all(args.out, show_progress=not args.no_progress)
            print(f"{len(paths)} pages (one per town, network, index) written to {paths[0].parent}")
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
        print(f"readiness: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
