"""Code lists in the registry's comments come from the column's enum (warehouse/tables.yaml ``{codes}``).

Why: code lists written by hand beside their enums, which the blocking column checks apply; the two differed
(``observations.territorial_change``: the whole flags list as enum, the comment rightly without the indicator
step's ``area_change`` and ``uninhabited_gain``; ``territorial_changes.kind``: ``minor_transfer`` in the enum, which
no step writes there). Now the enums are what the code writes and the comments are generated from them (review of
6 December 2026).
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
    observations = registry()["observations"].column("territorial_change").enum
    assert "area_change" not in observations and "minor_transfer" in observations
    assert "minor_transfer" not in registry()["territorial_changes"].column("kind").enum


def test_codes_without_an_enum_are_refused(tmp_path):
    path = tmp_path / "tables.yaml"
    path.write_text("tables:\n  t:\n    layer: meta\n    databases: [published]\n    writer: x\n    columns:\n"
                    "      kind:\n        type: VARCHAR\n        comment: 'one of {codes}'\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"t\.kind: comment has \{codes\} but the column has no enum"):
        load_registry(path)
