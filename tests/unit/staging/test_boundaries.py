"""The Gemeinden of today drawn in today's territory from whole outlines of the boundaries' date
(staging.boundaries.boundaries_of_today): mergers and new keys joined, partial moves only flagged."""

from __future__ import annotations

import pandas as pd
import pytest
import shapely

from staging.boundaries import boundaries_of_today

DAY = pd.Timestamp("2021-01-01")


def outline(x: int, width: int = 1) -> bytes:
    """A square of ``width`` degrees' side starting at longitude ``x`` (neighbours share an edge)."""
    return shapely.to_wkb(shapely.box(x, 50, x + width, 51))


def latest(*keys: tuple[str, str, int]) -> pd.DataFrame:
    """Outlines of the VG5000 of 01.01.2021: (ags, name, x) each."""
    return pd.DataFrame({"ags": [k for k, _, _ in keys], "vintage": "vg5000-2021-01-01", "territorial_date": DAY,
                         "name": [n for _, n, _ in keys], "geometry_wkb": [outline(x) for _, _, x in keys]})


def steps(*rows: tuple) -> pd.DataFrame:
    """Crosswalk steps (from_ags, to_ags, kind[, plausibility]) between the registers of 2023-12-31 and 2024-Q4."""
    return pd.DataFrame([(pd.Timestamp("2023-12-31"), pd.Timestamp("2024-12-31"), *row[:3],
                          row[3] if len(row) > 3 else "official") for row in rows],
                        columns=["from_date", "to_date", "from_ags", "to_ags", "kind", "plausibility"])


def today(**names: str) -> pd.Series:
    return pd.Series(names, name="name")


def drawn(frame: pd.DataFrame) -> dict[str, tuple]:
    """Per key drawn: its area in square degrees, whether flagged, the outlines joined into it."""
    return {row.ags: (round(shapely.from_wkb(bytes(row.geometry_wkb)).area, 6), bool(row.territory_changed_since_geometry),
                      row.assembled_from) for row in frame.itertuples()}


def test_a_gemeinde_formed_after_the_outlines_is_drawn_as_the_union_of_its_predecessors():
    """Berga-Wünschendorf (16076094, 2024) from Berga/Elster and Wünschendorf/Elster: no outline had its key; now the
    two outlines joined, and the two old keys are no longer drawn as Gemeinden of their own."""
    frame = boundaries_of_today(latest(("16076004", "Berga/Elster", 0), ("16076084", "Wünschendorf/Elster", 1),
                                       ("16076001", "Nachbar", 2)),
                                steps(("16076004", "16076094", "merger"), ("16076084", "16076094", "merger")),
                                today(**{"16076094": "Berga-Wünschendorf, Stadt", "16076001": "Nachbar"}))
    assert drawn(frame) == {"16076001": (1.0, False, ()), "16076094": (2.0, False, ("16076004", "16076084"))}
    town = frame.set_index("ags").loc["16076094"]
    assert town["name"] == "Berga-Wünschendorf" and town["assembled_names"] == ("Berga/Elster",
                                                                                       "Wünschendorf/Elster")
    assert town["vintage"] == "vg5000-2021-01-01" and town["territorial_date"] == DAY
    assert shapely.from_wkb(bytes(town["geometry_wkb"])).geom_type == "Polygon"  # one shape, no seam between


def test_a_gemeinde_that_kept_its_key_through_a_merger_is_drawn_with_what_it_absorbed():
    """Allendorf (Eder) absorbed Bromskirchen in 2023 and kept its key: drawn at its 2021 area and flagged before,
    with Bromskirchen beside it as a Gemeinde of its own; now drawn whole, unflagged."""
    frame = boundaries_of_today(latest(("06635001", "Allendorf (Eder)", 0), ("06635005", "Bromskirchen", 1)),
                                steps(("06635005", "06635001", "merger")), today(**{"06635001": "Allendorf (Eder)"}))
    assert drawn(frame) == {"06635001": (2.0, False, ("06635001", "06635005"))}
    assert frame.loc[0, "name"] == "Allendorf (Eder)"


def test_a_gemeinde_under_a_new_key_is_drawn_from_its_former_key_s_outline_also_through_a_chain():
    """Eisenach: 16056000 in the outlines, 16063105 today (a recode). A chain (recoded, then merged) is followed."""
    frame = boundaries_of_today(latest(("16056000", "Eisenach", 0), ("16063001", "A", 1)),
                                steps(("16056000", "16063105", "recode"), ("16063001", "16063900", "recode"),
                                      ("16063900", "16063105", "merger")),
                                today(**{"16063105": "Eisenach, Stadt"}))
    assert drawn(frame) == {"16063105": (2.0, False, ("16056000", "16063001"))}


def test_a_partial_move_is_never_drawn_from_whole_outlines():
    """A new key that also received a part of a neighbour is not drawn (its territory is not a union of outlines);
    a predecessor that gave a part elsewhere is nobody's whole part; a rejected step is not followed. Each key then
    stays as it was."""
    keys = latest(("01001001", "A", 0), ("01001002", "B", 1), ("01001003", "C", 2))
    frame = boundaries_of_today(keys, steps(("01001001", "01001900", "merger"), ("01001002", "01001900", "merger"),
                                            ("01001003", "01001900", "partial_transfer")),
                                today(**{"01001900": "Neu", "01001003": "C"}))
    assert set(drawn(frame)) == {"01001001", "01001002", "01001003"}
    assert drawn(frame)["01001003"] == (1.0, True, ())  # it gave a part away after the outlines' date: flagged
    frame = boundaries_of_today(keys, steps(("01001001", "01001002", "merger"), ("01001001", "01001003",
                                                                                 "partial_transfer")),
                                today(**{"01001002": "B", "01001003": "C"}))
    assert drawn(frame) == {"01001001": (1.0, True, ()), "01001002": (1.0, True, ()), "01001003": (1.0, True, ())}
    frame = boundaries_of_today(keys, steps(("01001001", "01001002", "merger", "too_far")),
                                today(**{"01001002": "B", "01001003": "C"}))
    assert drawn(frame)["01001002"] == (1.0, False, ()) and "01001001" in drawn(frame)


@pytest.mark.parametrize("kind", ["partial_transfer", "split"])
def test_an_assembled_gemeinde_whose_territory_changed_otherwise_is_flagged(kind):
    """Unstruttal: drawn from its outline and its merged neighbour's, and flagged because it also received a part."""
    frame = boundaries_of_today(latest(("16064071", "Unstruttal", 0), ("16064072", "B", 1), ("16064001", "C", 2)),
                                steps(("16064072", "16064071", "merger"), ("16064001", "16064071", kind)),
                                today(**{"16064071": "Unstruttal", "16064001": "C"}))
    assert drawn(frame)["16064071"] == (2.0, True, ("16064071", "16064072"))


def test_outlines_of_two_releases_are_not_joined():
    """A part's outline of 2021 is not joined with the town's outline of 2025; it lay in it already, so it is not
    drawn beside it either."""
    keys = pd.concat([latest(("01053111", "Alt", 0)),
                      latest(("01053999", "Neu", 0)).assign(vintage="vg250-2025-01-01",
                                                            territorial_date=pd.Timestamp("2025-01-01"),
                                                            geometry_wkb=[outline(0, 2)])], ignore_index=True)
    frame = boundaries_of_today(keys, steps(("01053111", "01053999", "merger")), today(**{"01053999": "Neu"}))
    assert drawn(frame) == {"01053999": (2.0, False, ())}


def test_a_gemeinde_is_drawn_from_its_parts_only_where_every_piece_of_it_is_known():
    """A key listed with two successors is nobody's whole part, and a new key that also took in a Gemeinde without an
    outline (merged into it from a key the outlines do not have) is not drawn from the others alone: neither would be
    today's territory. Each key then stays as it was."""
    keys = latest(("01001001", "A", 0), ("01001002", "B", 1))
    twice = boundaries_of_today(keys, steps(("01001001", "01001900", "merger"), ("01001001", "01001901", "merger"),
                                            ("01001002", "01001900", "merger")),
                                today(**{"01001900": "Neu", "01001901": "Andere"}))
    assert set(drawn(twice)) == {"01001001", "01001002"}
    unknown = boundaries_of_today(keys, steps(("01001001", "01001900", "merger"), ("01001002", "01001900", "merger"),
                                              ("01001099", "01001900", "merger")), today(**{"01001900": "Neu"}))
    assert set(drawn(unknown)) == {"01001001", "01001002"}


def test_a_step_from_the_register_of_the_outlines_date_counts():
    """A step between the register of the outlines' own date and a later one happened after the outlines: it flags the
    town (a step from an earlier register may predate them and does not)."""
    keys = latest(("01001001", "A", 0), ("01001002", "B", 1))
    on_the_day = steps(("01001002", "01001001", "partial_transfer")).assign(from_date=DAY)
    before = on_the_day.assign(from_date=DAY - pd.Timedelta(days=1))
    names = today(**{"01001001": "A", "01001002": "B"})
    assert drawn(boundaries_of_today(keys, on_the_day, names))["01001001"][1] is True
    assert drawn(boundaries_of_today(keys, before, names))["01001001"][1] is False


def test_a_key_split_among_gemeinden_of_today_says_where_its_land_went():
    """Anrode (2023) was split among Dingelstädt, Mühlhausen/Thüringen and Unstruttal: no whole outline shows the
    parts, so its outline stays drawn, and ``now_in`` names the Gemeinden of today it went to (the maps' neighbour
    lists said only 'seither geändert'). A Gemeinde of today has none."""
    frame = boundaries_of_today(latest(("16064073", "Anrode", 0), ("16061118", "Dingelstädt", 1),
                                       ("16064071", "Unstruttal", 2)),
                                steps(("16064073", "16061118", "split"), ("16064073", "16064071", "split"),
                                      ("16064073", "16064046", "split")),
                                today(**{"16061118": "Dingelstädt, Stadt", "16064071": "Unstruttal",
                                         "16064046": "Mühlhausen/Thüringen, Stadt"}))
    assert dict(zip(frame["ags"], frame["now_in"])) == {
        "16061118": (), "16064071": (), "16064073": ("16061118", "16064046", "16064071")}
    # a destination merged since is followed to its Gemeinde of today; one that leads nowhere known names none
    chain = steps(("16064073", "16061118", "split"), ("16064073", "16064900", "split"),
                  ("16064900", "16064071", "merger"))
    names = today(**{"16061118": "Dingelstädt, Stadt", "16064071": "Unstruttal"})
    keys = latest(("16064073", "Anrode", 0), ("16061118", "Dingelstädt", 1), ("16064071", "Unstruttal", 2))
    assert boundaries_of_today(keys, chain, names).set_index("ags").at["16064073", "now_in"] == ("16061118", "16064071")
    lost = chain[chain["to_ags"] != "16064071"]
    assert boundaries_of_today(keys, lost, names).set_index("ags").at["16064073", "now_in"] == ()
