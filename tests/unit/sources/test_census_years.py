"""destatis_gv.declared_census at the rebasing year: sources.yaml says the counts "from 31.12.2011 on rest on the
Zensus 2011" (regionalstatistik: "from 31.12.2022 on on the Zensus 2022"), so the rebasing year itself is on the
new census (the docstring: "the latest rebasing year at or before it")."""

from __future__ import annotations

import pytest

from sources import destatis_gv


@pytest.mark.parametrize("source_id, year, census", [
    ("destatis_gemeindeverzeichnis", 2010, None),
    ("destatis_gemeindeverzeichnis", 2011, "Zensus 2011"),
    ("destatis_gemeindeverzeichnis", 2012, "Zensus 2011"),
    ("regionalstatistik", 2021, "Zensus 2011"),
    ("regionalstatistik", 2022, "Zensus 2022"),
    ("breitbandatlas", 2022, None),  # no rebasings declared
])
def test_the_rebasing_year_is_on_the_new_census(source_id, year, census):
    assert destatis_gv.declared_census(source_id, year) == census
