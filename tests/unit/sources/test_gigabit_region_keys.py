"""gigabit_grundbuch.region_key with the 12-digit Amtlicher Regionalschlüssel: Land (2), Regierungsbezirk (1),
Kreis (2), Gemeindeverband (4), Gemeinde (3). The 8-digit AGS is Land + Regierungsbezirk + Kreis + Gemeinde: the
first five digits and the last three, without the Verband's four (Destatis' key scheme)."""

from __future__ import annotations

import pytest

from sources.gigabit_grundbuch import region_key


@pytest.mark.parametrize("cell, ags", [
    ("010531234090", "01053090"),  # a Gemeinde 090 of Kreis 01053 in Verband 1234
    ("010535304090 Mölln, Stadt", "01053090"),  # a key followed by its name
    ("081110000000", "08111000"),  # Stuttgart: Verband 0000, Gemeinde 000
    ("160615003024", "16061024"),
])
def test_a_12_digit_ars_is_the_8_digit_ags_of_a_gemeinde(cell, ags):
    assert region_key(cell) == (ags, "gemeinde")


def test_the_verband_digits_do_not_reach_the_ags():
    """Two Gemeinden of one Kreis in different Verbände keep their own Gemeinde numbers."""
    assert region_key("010531234090")[0] != region_key("010531234091")[0]
    assert region_key("010531234090")[0] == region_key("010539999090")[0]  # the Verband alone changes nothing


@pytest.mark.parametrize("cell, ags", [(10531234090, "01053090"), (10531234090.0, "01053090"), ("10531234090", "01053090")])
def test_an_ars_stored_as_a_number_keeps_its_gemeinde(cell, ags):
    """A workbook cell holding the ARS of Land 01-09 as a number has lost its leading zero (11 digits): the row was
    dropped as no region key, silently, for every Gemeinde of those Länder (review of 5 December)."""
    assert region_key(cell) == (ags, "gemeinde")
