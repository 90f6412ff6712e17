"""de_rank by its docstring: one decimal, none where that is a whole number ('2' for 2.0499999999999545, not
'2,0'; '439,9')."""

from __future__ import annotations

import pytest

from reports.labels import de_rank


@pytest.mark.parametrize("value, shown", [(2.0499999999999545, "2"), (2.0, "2"), (3, "3"), (439.94, "439,9"),
                                          (1234.0, "1.234"), (None, "–")])
def test_de_rank(value, shown):
    assert de_rank(value) == shown
