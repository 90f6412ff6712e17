"""Generate docs/indicators.md from the indicator catalogue (catalogue.yaml).

Usage (from the project root)::

    python -m indicators.docs           # rewrite the generated part of docs/indicators.md
    python -m indicators.docs --check   # exit 1 if docs/indicators.md is out of date

Only the text between ``<!-- BEGIN GENERATED -->`` and ``<!-- END GENERATED -->`` is
rewritten; anything outside the markers is kept. A missing file is created with a
short introduction. The output depends only on the catalogue, so it is reproducible.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from indicators.catalogue import CATALOGUE_YAML, Catalogue, Indicator, load_catalogue

BEGIN = "<!-- BEGIN GENERATED -->"
END = "<!-- END GENERATED -->"
DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "indicators.md"

INTRO = """\
# Indicators

The indicators of the readiness index, one row per indicator. The table below is
generated from `indicators/catalogue.yaml` (the single source of truth): edit the
YAML, then run `python -m indicators.docs`. Do not edit the table by hand;
`python -m indicators.docs --check` fails when it is out of date.

How values are derived, normalised and aggregated: [index-method.md](index-method.md).
Where the values are stored: [data-dictionary.md](data-dictionary.md).

"""

COLUMNS = ["id", "label", "pillar", "unit", "direction", "source", "method (parameters)", "goalposts [low, high]",
           "weight", "carry_forward_years", "definition", "why"]


def _number(value) -> str:
    """A number without a spurious '.0': 2.0 -> '2', 0.5 -> '0.5'."""
    number = float(value)
    return str(int(number)) if number.is_integer() else f"{number:g}"


def _cell(text) -> str:
    """Text safe for one Markdown table cell (no line breaks, pipes escaped)."""
    return " ".join(str(text).split()).replace("|", "\\|")


def _method(indicator: Indicator) -> str:
    """The method followed by its parameters, e.g. 'annualised_change (measure=…, years=5, …)'."""
    params = ", ".join(f"{key}=`{value}`" for key, value in indicator.params.items())
    return f"`{indicator.method}` ({params})" if params else f"`{indicator.method}`"


def _ordered(catalogue: Catalogue) -> list[Indicator]:
    """Indicators grouped by pillar in catalogue order, context indicators last."""
    pillar_order = {pillar: n for n, pillar in enumerate(catalogue.pillars)}
    return sorted(catalogue.indicators.values(), key=lambda i: pillar_order.get(i.pillar, len(pillar_order)))


def render_pillar_table(catalogue: Catalogue) -> str:
    """Markdown table of the pillars: id, label, weight and the ids of their indicators."""
    lines = ["| pillar | label | weight | indicators |", "|---|---|---|---|"]
    for pillar, spec in catalogue.pillars.items():
        members = ", ".join(f"`{i.indicator_id}`" for i in catalogue.in_pillar(pillar))
        lines.append(f"| `{pillar}` | {_cell(spec.get('label', ''))} | {_number(spec['weight'])} | {members} |")
    context = ", ".join(f"`{i.indicator_id}`" for i in catalogue.in_pillar("context"))
    if context:
        lines.append(f"| `context` | published, not aggregated | – | {context} |")
    return "\n".join(lines) + "\n"


def render_indicator_table(catalogue: Catalogue) -> str:
    """Markdown table with one row per indicator of ``catalogue``.

    Columns: id, label, pillar, unit, direction, source, method with its parameters,
    goalposts, weight, carry_forward_years, definition, why. Rows are grouped by
    pillar in catalogue order; context indicators come last.
    """
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for i in _ordered(catalogue):
        low, high = i.goalposts
        cells = [f"`{i.indicator_id}`", _cell(i.label), f"`{i.pillar}`", _cell(i.unit), i.direction,
                 f"`{i.source}`", _method(i), f"[{_number(low)}, {_number(high)}]", _number(i.weight),
                 str(i.carry_forward_years), _cell(i.definition), _cell(i.why)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def render_generated(catalogue: Catalogue) -> str:
    """Everything between the markers: version line, pillar table and indicator table."""
    return (
        f"Method version `{catalogue.method_version}`, aggregation `{catalogue.aggregation}`, "
        f"generated from `indicators/{CATALOGUE_YAML.name}`.\n\n"
        "## Pillars\n\n" + render_pillar_table(catalogue) + "\n"
        "## Indicator table\n\n" + render_indicator_table(catalogue)
    )


def update_document(existing: str | None, catalogue: Catalogue) -> str:
    """The document with the text between the markers regenerated; text outside them is kept verbatim.

    ``existing`` None gives a new document (introduction plus generated block); a
    document without markers gets the block appended.
    """
    generated = f"{BEGIN}\n{render_generated(catalogue)}{END}"
    if existing is None:
        return INTRO + generated + "\n"
    start, end = existing.find(BEGIN), existing.find(END)
    if start == -1 or end == -1 or end < start:
        return existing.rstrip("\n") + "\n\n" + generated + "\n"
    return existing[:start] + generated + existing[end + len(END):]


def main(argv: list[str] | None = None) -> int:
    """Command line: write docs/indicators.md, or with --check report whether it is current (exit 1 if not)."""
    parser = argparse.ArgumentParser(prog="python -m indicators.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if the file is out of date; write nothing")
    parser.add_argument("--path", type=Path, default=DOCS_PATH, help=f"Markdown file (default {DOCS_PATH})")
    parser.add_argument("--catalogue", type=Path, default=CATALOGUE_YAML, help="catalogue YAML to render")
    args = parser.parse_args(argv)

    catalogue = load_catalogue(args.catalogue)
    existing = args.path.read_text(encoding="utf-8") if args.path.exists() else None
    wanted = update_document(existing, catalogue)
    if args.check:
        if existing != wanted:
            print(f"{args.path} is out of date: run python -m indicators.docs", file=sys.stderr)
            return 1
        print(f"{args.path} is up to date")
        return 0
    if existing != wanted:
        args.path.parent.mkdir(parents=True, exist_ok=True)
        args.path.write_text(wanted, encoding="utf-8")
        print(f"wrote {args.path}")
    else:
        print(f"{args.path} already up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
