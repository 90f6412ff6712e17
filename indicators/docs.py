"""Generate the catalogue tables of docs/indicators.md and docs/methodology.md from catalogue.yaml.

Usage (from the project root)::

    python -m indicators.docs           # rewrite the generated parts of both documents
    python -m indicators.docs --check   # exit 1 if either document is out of date

docs/indicators.md: only the text between ``<!-- BEGIN GENERATED -->`` and
``<!-- END GENERATED -->`` is rewritten. docs/methodology.md: only the text between
``<!-- BEGIN GENERATED: indicator table -->`` and the next ``<!-- END GENERATED -->``.
Anything outside the markers is kept. A missing file is created with a short
introduction; a file without markers gets the block appended. The output depends only
on the catalogue, so it is reproducible.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from indicators.catalogue import CATALOGUE_YAML, CONTEXT, Catalogue, Indicator, load_catalogue

BEGIN = "<!-- BEGIN GENERATED -->"
END = "<!-- END GENERATED -->"
DOCS_PATH = Path(__file__).resolve().parent.parent / "docs" / "indicators.md"

METHODOLOGY_BEGIN = "<!-- BEGIN GENERATED: indicator table -->"
METHODOLOGY_END = END
METHODOLOGY_PATH = DOCS_PATH.with_name("methodology.md")
METHODOLOGY_INTRO = """\
# Methodology of the readiness index

The indicator table below is generated from `indicators/catalogue.yaml` by
`python -m indicators.docs`; the rest of this document is written by hand.

"""

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
           "possible range", "weight", "carry_forward_years", "definition", "why"]


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


def render_pillar_table(catalogue: Catalogue, show_required: bool = False) -> str:
    """Markdown table of the pillars: id, label, weight and the ids of their indicators.

    ``show_required`` adds a column saying whether every overall score needs the pillar
    (``required``) or it counts only where its data exist (``optional``).
    """
    if show_required:
        lines = ["| pillar | label | weight | required | indicators |", "|---|---|---|---|---|"]
    else:
        lines = ["| pillar | label | weight | indicators |", "|---|---|---|---|"]
    required = set(catalogue.required_pillars)
    for pillar, spec in catalogue.pillars.items():
        members = ", ".join(f"`{i.indicator_id}`" for i in catalogue.in_pillar(pillar))
        status = f" {'required' if pillar in required else 'optional'} |" if show_required else ""
        lines.append(f"| `{pillar}` | {_cell(spec.get('label', ''))} | {_number(spec['weight'])} |{status} {members} |")
    context = ", ".join(f"`{i.indicator_id}`" for i in catalogue.in_pillar(CONTEXT))
    if context:
        status = " – |" if show_required else ""
        lines.append(f"| `context` | published, not aggregated | – |{status} {context} |")
    return "\n".join(lines) + "\n"


def render_indicator_table(catalogue: Catalogue) -> str:
    """Markdown table with one row per indicator of ``catalogue``.

    Columns: id, label, pillar, unit, direction, source, method with its parameters,
    goalposts, possible range (– where any value is possible; an open bound as –; ≤ the sum of at_most_sum_of), weight,
    carry_forward_years, definition, why. Rows are grouped by
    pillar in catalogue order; context indicators come last.
    """
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for i in _ordered(catalogue):
        low, high = i.goalposts
        cells = [f"`{i.indicator_id}`", _cell(i.label), f"`{i.pillar}`", _cell(i.unit), i.direction,
                 f"`{i.source}`", _method(i), f"[{_number(low)}, {_number(high)}]", _possible(i), _number(i.weight),
                 str(i.carry_forward_years), _cell(i.definition), _cell(i.why)]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _possible(indicator) -> str:
    """``[0, 100]``, ``[0, –]`` (no upper bound) or ``–`` (no possible_range declared); then ``≤ a + b`` when
    the value cannot exceed the sum of other measures of its release (``at_most_sum_of``), and the mean distance and
    share within a radius that contradict each other (``share_within``)."""
    bound = ("–" if indicator.possible_range is None else
             "[" + ", ".join("–" if b is None else _number(b) for b in indicator.possible_range) + "]")
    if indicator.at_most_sum_of:
        bound += "".join(f"; ≤ {' + '.join(f'`{m}`' for m in parts)} ({source})"
                         for source, parts in indicator.at_most_sum_of)
    if indicator.distance_share:  # the pair contradicts where the share is 0 and the mean under radius x (1 - bound)
        distance, share, radius, zero = indicator.distance_share
        bound += f"; `{distance}` < {_number(radius * (1 - zero / 100))} only with `{share}` > 0 (share_within)"
    return bound


def render_generated(catalogue: Catalogue) -> str:
    """Everything between the markers: version line, pillar table and indicator table."""
    return (
        f"Method version `{catalogue.method_version}`, aggregation `{catalogue.aggregation}`, "
        f"generated from `indicators/{CATALOGUE_YAML.name}`.\n\n"
        "## Pillars\n\n" + render_pillar_table(catalogue) + "\n"
        "## Indicator table\n\n" + render_indicator_table(catalogue)
    )


def render_methodology_block(catalogue: Catalogue) -> str:
    """Between the methodology markers: version line, pillar table (with required/optional) and indicator table.

    Built from the same functions and catalogue as docs/indicators.md; no headings, because
    the block sits inside a section of the hand-written methodology.
    """
    return (
        f"Method version `{catalogue.method_version}`, aggregation `{catalogue.aggregation}`, "
        f"generated from `indicators/{CATALOGUE_YAML.name}` by `python -m indicators.docs`.\n\n"
        "**Pillars**\n\n" + render_pillar_table(catalogue, show_required=True) + "\n"
        "**Indicators** (grouped by pillar; context indicators last)\n\n" + render_indicator_table(catalogue)
    )


def replace_block(existing: str | None, generated: str, begin: str, end: str, intro: str) -> str:
    """``existing`` with the text between ``begin`` and the first ``end`` after it replaced by ``generated``.

    Text outside the markers is kept verbatim. ``existing`` None gives ``intro`` plus the
    block; a document without the markers gets the block appended.
    """
    block = f"{begin}\n{generated}{end}"
    if existing is None:
        return intro + block + "\n"
    start = existing.find(begin)
    stop = existing.find(end, start + len(begin)) if start != -1 else -1
    if start == -1 or stop == -1:
        return existing.rstrip("\n") + "\n\n" + block + "\n"
    return existing[:start] + block + existing[stop + len(end):]


def update_document(existing: str | None, catalogue: Catalogue) -> str:
    """docs/indicators.md with the text between the markers regenerated; text outside them is kept verbatim.

    ``existing`` None gives a new document (introduction plus generated block); a
    document without markers gets the block appended.
    """
    return replace_block(existing, render_generated(catalogue), BEGIN, END, INTRO)


def update_methodology(existing: str | None, catalogue: Catalogue) -> str:
    """docs/methodology.md with the indicator-table block regenerated; the hand-written text is kept verbatim."""
    return replace_block(existing, render_methodology_block(catalogue), METHODOLOGY_BEGIN, METHODOLOGY_END,
                         METHODOLOGY_INTRO)


def _sync(path: Path, wanted_of, catalogue: Catalogue, check: bool) -> bool:
    """Write (or with ``check`` only compare) one document; True if it is (now) current."""
    existing = path.read_text(encoding="utf-8") if path.exists() else None
    wanted = wanted_of(existing, catalogue)
    if check:
        if existing != wanted:
            print(f"{path} is out of date: run python -m indicators.docs", file=sys.stderr)
            return False
        print(f"{path} is up to date")
        return True
    if existing != wanted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(wanted, encoding="utf-8")
        print(f"wrote {path}")
    else:
        print(f"{path} already up to date")
    return True


def main(argv: list[str] | None = None) -> int:
    """Command line: write docs/indicators.md and docs/methodology.md, or with --check report
    whether both are current (exit 1 if either is not)."""
    parser = argparse.ArgumentParser(prog="python -m indicators.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a file is out of date; write nothing")
    parser.add_argument("--path", type=Path, default=DOCS_PATH, help=f"indicator table (default {DOCS_PATH})")
    parser.add_argument("--methodology-path", type=Path, default=METHODOLOGY_PATH,
                        help=f"methodology document (default {METHODOLOGY_PATH})")
    parser.add_argument("--catalogue", type=Path, default=CATALOGUE_YAML, help="catalogue YAML to render")
    args = parser.parse_args(argv)

    catalogue = load_catalogue(args.catalogue)
    current = [_sync(args.path, update_document, catalogue, args.check),
               _sync(args.methodology_path, update_methodology, catalogue, args.check)]
    return 0 if all(current) else 1


if __name__ == "__main__":
    sys.exit(main())
