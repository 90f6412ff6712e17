"""Two small contract rules by their docstrings: a CSV's separator is ';' only where it occurs MORE often than ','
in the header (else ','), and a rule is a percentage only when declared from 0 to 100."""

from __future__ import annotations

import pytest

from sources import contracts


@pytest.mark.parametrize("header, separator", [
    ("ags;name;wert", ";"),
    ("ags,name,wert", ","),
    ("ags;name,wert", ","),          # one of each: a tie is ','
    ("ags;name;wert,1", ";"),        # two ';' against one ','
    ("ags", ","),                    # neither
])
def test_csv_separator(header, separator):
    assert contracts.csv_separator(header) == separator


@pytest.mark.parametrize("low, high, percent", [(0, 100, True), (5, 100, False), (None, 100, False),
                                                (0, 1, False), (0, None, False)])
def test_a_percentage_is_declared_from_0_to_100(low, high, percent):
    assert contracts.Rule(min=low, max=high).percent is percent
