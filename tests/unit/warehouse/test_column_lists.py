"""The column lists that code below the warehouse layer keeps are the registry's (warehouse/tables.yaml).

indicators/ may not import warehouse/ (tests/unit/test_import_layers.py), so indicators.compute and
indicators.coworking_gap keep their tables' columns as lists; ``warehouse.workdb.store`` fills a declared column
a frame lacks with NULL, so a column added to the registry but not to such a list would be published empty without
a word. These tests hold the lists to the registry (review of 6 December 2026)."""

from __future__ import annotations

import pytest

from indicators.compute import VALUE_COLUMNS
from indicators.coworking_gap import GAP_COLUMNS
from warehouse.registry import registry


@pytest.mark.parametrize("columns, table", [(VALUE_COLUMNS, "indicator_values"), (GAP_COLUMNS, "coworking_gap")])
def test_the_lists_are_the_declared_columns_in_their_order(columns, table):
    assert columns == [column.name for column in registry()[table].own_columns]
