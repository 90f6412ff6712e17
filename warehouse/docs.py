"""Generate the DDL and the data dictionary's column tables from the table registry (warehouse/tables.yaml).

Usage (from the project root)::

    python -m warehouse.docs           # rewrite warehouse/schema.sql, warehouse/staging.sql and the
                                       # generated blocks of docs/data-dictionary.md
    python -m warehouse.docs --check   # exit 1 if any of them is out of date

In docs/data-dictionary.md only the text between ``<!-- BEGIN GENERATED: <name> -->`` and
``<!-- END GENERATED -->`` is rewritten: ``<name>`` is a table (its column table) or ``tables``
(the index of every table by layer, with the column tables of the tables that have no section of
their own). The prose around the blocks is written by hand.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from warehouse.registry import Registry, Table, published_ddl, registry, working_ddl

ROOT = Path(__file__).resolve().parent.parent
SCHEMA_SQL = ROOT / "warehouse" / "schema.sql"
STAGING_SQL = ROOT / "warehouse" / "staging.sql"
DICTIONARY = ROOT / "docs" / "data-dictionary.md"
BLOCK = re.compile(r"<!-- BEGIN GENERATED: (\w+) -->\n.*?<!-- END GENERATED -->", re.S)
INDEX = "tables"


def _cell(text: str | None) -> str:
    """Markdown table cell: pipes escaped, one line."""
    return (text or "").replace("|", "\\|").replace("\n", " ")


def column_table(table: Table) -> str:
    """The table's columns with type, unit, constraints and meaning."""
    rows = ["| column | type | unit | rules | meaning |", "|---|---|---|---|---|"]
    for c in table.columns:
        rows.append(f"| `{c.name}` | {c.type} | {_cell(c.unit)} | {_cell('; '.join(c.rules()))} | "
                    f"{_cell(_joined(c) + (c.description or c.comment or ''))} |")
    if table.primary_key:
        rows.append("")
        rows.append("Key: (" + ", ".join(f"`{k}`" for k in table.primary_key) + ")."
                    + (" Published as `" + table.published_name + "` with `valid_from`, `valid_to`; the view `"
                       + table.name + "` shows the current rows." if table.history else ""))
    return "\n".join(rows)


def _joined(column) -> str:
    return f"(from `{column.joined_from}`, joined in at publish) " if column.joined_from else ""


def index_block(reg: Registry, documented: set[str]) -> str:
    """Every table by layer with its databases, writer and key; column tables of the undocumented ones."""
    rows = ["| table | layer | databases | written by | key | what |", "|---|---|---|---|---|---|"]
    for t in reg.tables.values():
        writer = ", ".join(f"`{w}`" for w in t.writers)
        key = ", ".join(t.primary_key) or "–"
        name = f"`{t.name}`" + (f" (published: `{t.published_name}`)" if t.history else "")
        rows.append(f"| {name} | {t.layer} | "
                    f"{', '.join(t.databases)} | {writer} | {key} | {_cell(t.description)} |")
    extra = [t for t in reg.tables.values() if t.name not in documented]
    for t in extra:
        body = f"Columns as `{t.columns_like}`." if t.columns_like else column_table(t)
        rows += ["", f"#### `{t.name}` ({', '.join(t.databases)})", "", body]
    return "\n".join(rows)


def render_block(name: str, reg: Registry, documented: set[str]) -> str:
    body = index_block(reg, documented) if name == INDEX else column_table(reg[name])
    return f"<!-- BEGIN GENERATED: {name} -->\n{body}\n<!-- END GENERATED -->"


def update_dictionary(text: str, reg: Registry) -> str:
    """The dictionary with every generated block re-rendered; unknown block names are an error."""
    names = BLOCK.findall(text)
    unknown = [n for n in names if n != INDEX and n not in reg.tables]
    if unknown:
        raise ValueError(f"docs/data-dictionary.md: generated blocks for undeclared tables {unknown}")
    documented = set(names) - {INDEX}
    return BLOCK.sub(lambda m: render_block(m.group(1), reg, documented), text)


def outputs(reg: Registry | None = None) -> dict[Path, str]:
    """Every generated file with its expected content."""
    reg = reg or registry()
    return {SCHEMA_SQL: published_ddl(reg), STAGING_SQL: working_ddl(reg),
            DICTIONARY: update_dictionary(DICTIONARY.read_text(encoding="utf-8"), reg)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if a generated file is out of date")
    args = parser.parse_args(argv)
    stale = []
    for path, content in outputs().items():
        if path.read_text(encoding="utf-8") != content:
            stale.append(path)
            if not args.check:
                path.write_text(content, encoding="utf-8")
    if args.check and stale:
        print("out of date (run python -m warehouse.docs): " + ", ".join(str(p.relative_to(ROOT)) for p in stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
