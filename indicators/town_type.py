"""BBSR Stadt- und Gemeindetyp per Gemeinde and the reference group a rank compares with.

The BBSR type (Bundesinstitut für Bau-, Stadt- und Raumforschung) is rebuilt from data on hand:
the Gemeinde's latest population (Gemeindeverzeichnis) and its central-place function (INKAR
region table, :func:`sources.inkar.central_places`). The rule, as documented by the BBSR
(../shared/docs/source-formats.md section 7):

=====  ==========================  ===================================================================
code   type                        rule (population = inhabitants at the latest figure)
=====  ==========================  ===================================================================
11     Große Großstadt             500,000 and more
12     Kleinere Großstadt          100,000 to under 500,000
21     Größere Mittelstadt         50,000 to under 100,000
22     Kleinere Mittelstadt        20,000 to under 50,000
30     Größere Kleinstadt          10,000 to under 20,000
40     Kleinere Kleinstadt         5,000 to under 10,000, or under 5,000 with at least a Grundzentrum
50     Landgemeinde                under 5,000 without central-place function
=====  ==========================  ===================================================================

Kleinstadt = 30 or 40. **Deviation from the BBSR**: the BBSR classifies Einheitsgemeinden and
Gemeindeverbände (a Verband is one unit with the summed population, all members get its type).
Here every Gemeinde is classified on its *own* population and its *own* central-place function,
because the index scores and ranks Gemeinden: with the Verband rule, Ortsgemeinden of a few
hundred inhabitants would count as Kleinstädte because their Amt or Verbandsgemeinde has 5,000
inhabitants or a Grundzentrum as its seat. docs/methodology.md section 3 gives the figures.

A Gemeinde merged or recoded after INKAR's territorial status takes the highest function of its
predecessors (``central_place_basis = 'predecessor'``), on the assumption that a central place
keeps its function when it absorbs neighbours (the Land plans designate places, not territories;
this is an approximation until INKAR publishes the new status). A Gemeinde under 5,000 inhabitants whose function is
unknown gets no type (NULL), never a guessed one. Pure pandas, no Dagster.
"""

from __future__ import annotations

import pandas as pd

# code -> (German name, English name)
TOWN_TYPES: dict[int, tuple[str, str]] = {
    11: ("Große Großstadt", "large city"),
    12: ("Kleinere Großstadt", "smaller city"),
    21: ("Größere Mittelstadt", "larger medium-sized town"),
    22: ("Kleinere Mittelstadt", "smaller medium-sized town"),
    30: ("Größere Kleinstadt", "larger small town"),
    40: ("Kleinere Kleinstadt", "smaller small town"),
    50: ("Landgemeinde", "rural municipality"),
}
KLEINSTADT = (30, 40)
# central-place codes of sources.inkar, highest first
CENTRAL_PLACE_ORDER = ["oberzentrum", "mittelzentrum", "grundzentrum", "none"]
CENTRAL_PLACE_NAMES = {"oberzentrum": ("Oberzentrum", "higher-order centre"),
                       "mittelzentrum": ("Mittelzentrum", "middle-order centre"),
                       "grundzentrum": ("Grundzentrum", "lower-order centre"),
                       "none": ("keine zentralörtliche Funktion", "no central-place function")}

# Reference-group rules: code -> (German text, English text). readiness_index.reference_group is
# rendered from the code by reference_group_label, never written by hand.
REFERENCE_GROUP_RULES: dict[str, tuple[str, str]] = {
    "bbsr_kleinstadt": (
        "Kleinstädte nach BBSR-Stadt- und Gemeindetyp (5.000 bis unter 20.000 Einwohner oder mindestens "
        "Grundzentrum; je Gemeinde)",
        "small towns by the BBSR town type (5,000 to under 20,000 inhabitants or at least a Grundzentrum; "
        "per Gemeinde)"),
    "size_band": (
        "Gemeinden mit 5.000 bis unter 20.000 Einwohnern",
        "Gemeinden with 5,000 to under 20,000 inhabitants"),
}
PILOT_SUFFIX = ("plus Pilotstädte", "plus the pilot towns")


def town_type(population: pd.Series, central_place: pd.Series) -> pd.Series:
    """BBSR type code per Gemeinde (nullable Int64) from population and central-place code.

    ``central_place`` holds ``oberzentrum | mittelzentrum | grundzentrum | none`` or missing.
    Missing population gives NULL; under 5,000 inhabitants a missing function gives NULL too.
    """
    population = pd.to_numeric(population, errors="coerce")
    central = central_place.astype("object").where(central_place.notna(), None)
    has_centre = central.isin(["oberzentrum", "mittelzentrum", "grundzentrum"])
    known = central.isin(CENTRAL_PLACE_ORDER)
    codes = pd.Series(pd.NA, index=population.index, dtype="Int64")
    bands = [(500_000, 11), (100_000, 12), (50_000, 21), (20_000, 22), (10_000, 30), (5_000, 40)]
    assigned = pd.Series(False, index=population.index)
    for floor, code in bands:
        hit = (population >= floor) & ~assigned
        codes[hit] = code
        assigned |= hit
    small = (population < 5_000) & ~assigned
    codes[small & has_centre] = 40
    codes[small & known & ~has_centre] = 50
    return codes


def central_place_on_territory(central: pd.DataFrame, changes: pd.DataFrame, current: pd.Series) -> pd.DataFrame:
    """Central-place function of each current Gemeinde, carried through recodes and mergers.

    ``central``: ``ags, central_place`` on INKAR's territorial status; ``changes``: the
    ``territorial_changes`` rows (``from_ags, to_ags, kind``); only ``recode`` and ``merger`` carry
    a function (a partial transfer or split does not move a town's central-place role). Returns
    ``ags, central_place, central_place_basis`` for every ags in ``current``: basis ``inkar``
    (own row), ``predecessor`` (highest function among its predecessors, following chains) or
    missing when neither is known.
    """
    rank = {code: i for i, code in enumerate(CENTRAL_PLACE_ORDER)}
    own = dict(zip(central["ags"], central["central_place"]))
    moves = changes[changes["kind"].isin(["recode", "merger"])] if len(changes) else changes
    inherited: dict[str, str] = {}
    frontier = {a: c for a, c in own.items()}
    for _ in range(10):  # chains of successive changes; 10 steps is more than any register history holds
        step: dict[str, str] = {}
        for row in moves.itertuples():
            function = frontier.get(row.from_ags)
            if function is None or row.to_ags == row.from_ags:
                continue
            best = step.get(row.to_ags)
            if best is None or rank[function] < rank[best]:
                step[row.to_ags] = function
        step = {a: c for a, c in step.items() if a not in own and rank[c] < rank.get(inherited.get(a), 99)}
        if not step:
            break
        inherited.update(step)
        frontier = step
    rows = []
    for ags in current:
        if ags in own:
            rows.append((ags, own[ags], "inkar"))
        elif ags in inherited:
            rows.append((ags, inherited[ags], "predecessor"))
        else:
            rows.append((ags, None, None))
    return pd.DataFrame(rows, columns=["ags", "central_place", "central_place_basis"])


def in_reference_group(municipalities: pd.DataFrame, spec: dict) -> pd.Series:
    """Reference-group membership per row of ``municipalities`` under the catalogue's ``reference_group``.

    ``spec['rule']``: ``bbsr_kleinstadt`` (default; needs column ``town_type``) or ``size_band``
    (``min_population`` <= population < ``max_population``). ``include_pilot_towns`` adds the
    rows with ``is_pilot`` whatever the rule says.
    """
    rule = spec.get("rule", "bbsr_kleinstadt")
    if rule == "bbsr_kleinstadt":
        member = municipalities["town_type"].isin(KLEINSTADT).fillna(False).astype(bool)
    elif rule == "size_band":
        member = municipalities["population"].between(spec["min_population"], spec["max_population"],
                                                      inclusive="left").fillna(False).astype(bool)
    else:
        raise ValueError(f"reference_group.rule {rule!r} in the catalogue must be one of {sorted(REFERENCE_GROUP_RULES)}")
    if spec.get("include_pilot_towns", False):
        member = member | municipalities["is_pilot"].astype(bool)
    return member


def reference_group_label(spec: dict, language: str = "de") -> str:
    """The group a rank compares with, in words, rendered from the rule code (``de`` or ``en``)."""
    rule = spec.get("rule", "bbsr_kleinstadt")
    if rule not in REFERENCE_GROUP_RULES:
        raise ValueError(f"reference_group.rule {rule!r} must be one of {sorted(REFERENCE_GROUP_RULES)}")
    if language not in ("de", "en"):
        raise ValueError(f"language {language!r} must be 'de' or 'en'")
    i = 0 if language == "de" else 1
    text = REFERENCE_GROUP_RULES[rule][i]
    return f"{text}, {PILOT_SUFFIX[i]}" if spec.get("include_pilot_towns", False) else text
