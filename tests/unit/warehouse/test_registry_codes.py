"""Code lists in the registry's comments come from the column's enum (warehouse/tables.yaml ``{codes}``).

Why: two hand-written lists had drifted from their enums and went so into schema.sql and the data dictionary
(``observations.territorial_change`` without ``area_change`` and ``uninhabited_gain``,
``territorial_changes.kind`` without ``minor_transfer``; review of 6 December 2026).
"""

from __future__ import annotations

import re

import pytest

from warehouse.registry import load_registry, registry

# a run of two or more codes written as `a | b | c` (the form {codes} is filled in)
CODE_RUN = re.compile(r"[\w.*-]+(?: \| [\w.*-]+)+")


def test_every_code_list_in_a_comment_is_the_whole_enum():
    """(A column without an enum may list examples: `pillar_weight:<p>` stands for many codes.)"""
    wrong = []
    for table in registry().tables.values():
        for column in (c for c in table.own_columns if c.enum):
            for run in CODE_RUN.findall(column.comment or ""):
                if set(run.split(" | ")) != {str(code) for code in column.enum}:
                    wrong.append(f"{table.name}.{column.name}: {run!r} against {column.enum}")
    assert wrong == []


def test_codes_are_filled_from_the_enum_in_its_order():
    column = registry()["indicator_values"].column("territorial_change")
    assert column.comment == "NULL or " + " | ".join(column.enum)
    assert "minor_transfer" in registry()["territorial_changes"].column("kind").comment


def test_codes_without_an_enum_are_refused(tmp_path):
    path = tmp_path / "tables.yaml"
    path.write_text("tables:\n  t:\n    layer: meta\n    databases: [published]\n    writer: x\n    columns:\n"
                    "      kind:\n        type: VARCHAR\n        comment: 'one of {codes}'\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.kind: comment has \{codes\} but the column has no enum"):
        load_registry(path)
