"""Load and validate the indicator catalogue (catalogue.yaml)."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sources.registry import read_yaml

CATALOGUE_YAML = Path(__file__).with_name("catalogue.yaml")
METHODS = {"observed", "annualised_change", "ratio"}
# How far (in the indicator's unit) a value may lie outside its possible_range and still be taken as
# rounding: the Breitbandatlas publishes shares of up to 100.x % (docs/sources.md). The staging check
# shares_within_0_100 (pipelines/checks.py) uses the same tolerance.
ROUNDING_TOLERANCE = 1.0


REFERENCE_LEVELS = ("kreis", "land", "bund")
READ_PARAMS = ("measure", "area_measure", "numerator", "denominator")  # method parameters naming a source measure
# an indicator's direction (catalogue ``direction``) in the German exports' words; a context indicator is neither
# better high nor low ("höher ist besser" stood beside the population density in every town_profile export)
DIRECTION_DE = {"positive": "höher ist besser", "negative": "niedriger ist besser",
                "none": "keine (Kontext, nicht bewertet)"}
CONTEXT, CONTEXT_LABEL = "context", "Kontext"  # the pillar id of context indicators (published, not scored), its name
PILLAR_TEXTS = ("label", "short_de", "data_de", "date_format")  # required of every pillar (catalogue.yaml says what)
# typed fields beside the method's params
EXTRA_FIELDS = {"possible_range", "reference_levels", "at_most_sum_of", "zero_de", "share_within"}


@dataclass(frozen=True)
class Indicator:
    indicator_id: str
    label: str
    pillar: str
    unit: str
    direction: str
    source: str
    method: str
    goalposts: tuple[float, float]
    weight: float
    carry_forward_years: int
    definition: str
    why: str
    params: dict = field(default_factory=dict)  # method parameters: measure, years, numerator, ...
    possible_range: tuple[float | None, float | None] | None = None  # None: any value is possible
    # per source, measures of the same release whose sum the value cannot exceed (a total over technologies):
    # ((source id, (measure, ...)), ...); () none
    at_most_sum_of: tuple[tuple[str, tuple[str, ...]], ...] = ()
    zero_de: str = ""  # what exactly 0 means, shown beside it on the pages ('IC/ICE-Halt in der Gemeinde')
    # a mean distance to a kind of place and the share of residents within a radius of one, of the same release, Gemeinde
    # and date (catalogue ``share_within`` on the distance; set on both indicators): (distance measure, share measure,
    # radius, the largest share published as 0 — half a unit of its last decimal). None: no such pair
    distance_share: tuple[str, str, float, float] | None = None
    # levels whose publisher figure of the same measure is shown beside the town's as a comparison; none where the
    # upper level's figure means something else (a Kreis's out-commuters leave the Kreis, a town's the Gemeinde)
    reference_levels: tuple[str, ...] = REFERENCE_LEVELS
    # the population an indicator of a per-inhabitant unit (catalogue units ``per_inhabitant``) is tested against:
    # (measure, source ids); a value of an area without inhabitants at its date describes nobody and is not scored
    # (indicators/compute.py uninhabited); None for any other unit
    inhabitants: tuple[str, tuple[str, ...]] | None = None

    def impossible(self, values) -> np.ndarray:
        """True where a value lies outside ``possible_range`` by more than the rounding tolerance: a publisher
        error, not a measurement. A missing value (NaN) is never impossible (it compares False)."""
        values = np.asarray(values, dtype=float)
        outside = np.zeros(len(values), dtype=bool)
        low, high = self.possible_range or (None, None)
        if low is not None:
            outside |= values < low - ROUNDING_TOLERANCE
        if high is not None:
            outside |= values > high + ROUNDING_TOLERANCE
        return outside

    def exceeds(self, values, parts) -> np.ndarray:
        """True where a value exceeds the sum of its parts (``at_most_sum_of``, same release) by more than the
        rounding tolerance: a total the publisher's own breakdown contradicts. A missing sum never exceeds."""
        return np.asarray(values, dtype=float) > np.asarray(parts, dtype=float) + ROUNDING_TOLERANCE

    def contradicts(self, distance, share) -> np.ndarray:
        """True where a population-weighted mean ``distance`` and a ``share`` of residents within the radius of the
        same release cannot both be true: a share of 0 (published rounded: under ``zero`` %) puts (next to) everyone
        beyond the radius, so the mean is at least the radius times (1 - zero / 100). Only an exact 0: a share
        restated across a merger is a population-weighted mean of rounded shares, whose bound is wider (0.3 may stand
        for up to 0.8 %); a 0 there is a mean of zeros, each with the bound. A missing value contradicts nothing."""
        _, _, radius, zero = self.distance_share
        distance, share = np.asarray(distance, dtype=float), np.asarray(share, dtype=float)
        return (share == 0) & (distance < radius * (1 - zero / 100))

    @property
    def sources(self) -> list[str]:
        """Source ids in priority order (``source`` may list several, e.g. two publisher generations)."""
        return source_ids(self.source)


def source_ids(source: str | list[str]) -> list[str]:
    """An indicator's ``source`` as source ids in priority order: a list as in catalogue.yaml, or "a, b" as stored."""
    return [s.strip() for s in (source if isinstance(source, list) else source.split(","))]


@dataclass(frozen=True)
class Catalogue:
    method_version: str
    pilot_towns: dict[str, str]
    reference_group: dict
    aggregation: str
    pillars: dict[str, dict]
    indicators: dict[str, Indicator]
    uncertainty: dict = field(default_factory=dict)  # the Monte Carlo's settings (indicators/uncertainty.py)
    units: dict[str, str] = field(default_factory=dict)  # English unit -> German wording
    unit_decimals: dict[str, int] = field(default_factory=dict)  # English unit -> decimals shown on a page
    # English unit -> decimals its values are published with (the publisher's, or the computation's for a derived
    # value): the downloads round to these (a restated value, a population-weighted mix, has full float precision)
    value_decimals: dict[str, int] = field(default_factory=dict)
    score_decimals: int = 1  # the overall score's published precision, which ranks compare
    # the population on the current territory: (measure, source ids in priority order), catalogue ``inhabitants``
    inhabitants: tuple[str, tuple[str, ...]] | None = None

    @property
    def population_sources(self) -> list[str]:
        """The sources of the population on the current territory, in priority order (``inhabitants``): the
        Gemeinden's population (indicators/municipalities.py) and the crosswalk's restatement read them."""
        if self.inhabitants is None:
            raise ValueError("catalogue.yaml: inhabitants (the population's measure and sources) is missing")
        return list(self.inhabitants[1])

    def read_measures(self) -> dict[str, list[str]]:
        """{source id: the measures the indicators read from it} (``measure``, ``area_measure``, ``numerator``,
        ``denominator`` of every indicator, for each of its sources): what a new release must not lose
        (sources.contracts.year_on_year)."""
        read: dict[str, set[str]] = {}
        for indicator in self.indicators.values():
            measures = {v for k, v in indicator.params.items() if k in READ_PARAMS and isinstance(v, str)}
            for source in indicator.sources:
                read.setdefault(source, set()).update(measures)
        return {source: sorted(measures) for source, measures in sorted(read.items()) if measures}

    def pillar_label(self, pillar: str) -> str:
        """German name of a pillar ('Digitale Infrastruktur', 'Kontext' for the context indicators); an undeclared id
        stays as it is."""
        if pillar == CONTEXT:
            return CONTEXT_LABEL
        return self.pillars.get(pillar, {}).get("label", pillar)

    def in_pillar(self, pillar: str) -> list[Indicator]:
        return [i for i in self.indicators.values() if i.pillar == pillar]

    def pillar_sources(self, pillar: str) -> list[str]:
        """The source ids a pillar's indicators read, sorted (named in a 'not scored: no data from ...' note)."""
        return sorted({s for i in self.in_pillar(pillar) for s in i.sources})

    @property
    def required_pillars(self) -> list[str]:
        """Pillars every overall score needs; optional ones count only where their data exist."""
        return [p for p, spec in self.pillars.items() if spec.get("required", True)]


def load_catalogue(path: Path = CATALOGUE_YAML) -> Catalogue:
    """Read catalogue.yaml; raise ValueError naming the indicator and field on a bad entry."""
    raw = read_yaml(path)
    units = raw.get("units") or {}
    for unit, spec in units.items():
        decimals = spec.get("decimals") if isinstance(spec, dict) else None
        published = spec.get("value_decimals") if isinstance(spec, dict) else None
        if not str((spec or {}).get("de") or "").strip() or any(type(d) is not int or d < 0
                                                               for d in (decimals, published)):
            raise ValueError(f"catalogue units: {unit!r} needs de (its German wording), decimals and value_decimals "
                             "(whole numbers)")
        if decimals > published:  # the page would show digits the downloads and the publisher do not have
            raise ValueError(f"catalogue units: {unit!r} decimals ({decimals}) must not exceed value_decimals "
                             f"({published}), the decimals its values are published with")
        if not isinstance(spec.get("per_inhabitant", False), bool):
            raise ValueError(f"catalogue units: {unit!r} per_inhabitant must be true or false")
    inhabitants = _inhabitants(raw, units)
    score_decimals = raw.get("score_decimals", 1)
    if type(score_decimals) is not int or score_decimals < 0:
        raise ValueError(f"catalogue score_decimals: {score_decimals!r} must be a whole number >= 0")
    known = {"label", "pillar", "unit", "direction", "source", "method", "goalposts", "weight",
             "carry_forward_years", "definition", "why"}
    indicators = {}
    for indicator_id, entry in raw["indicators"].items():
        low, high = entry["goalposts"]
        fields = {k: entry[k] for k in known - {"goalposts"}}
        possible = entry.get("possible_range")
        levels = tuple(entry.get("reference_levels", REFERENCE_LEVELS))
        if isinstance(fields["source"], list):  # stored as "a, b": hashable, readable in the warehouse
            fields["source"] = ", ".join(fields["source"])
        indicator = Indicator(
            indicator_id=indicator_id,
            goalposts=(float(low), float(high)),
            possible_range=tuple(None if b is None else float(b) for b in possible) if possible else None,
            params={k: v for k, v in entry.items() if k not in known | EXTRA_FIELDS},
            reference_levels=levels,
            at_most_sum_of=_parts_by_source(entry.get("at_most_sum_of"), indicator_id),
            zero_de=str(entry.get("zero_de") or ""),
            inhabitants=inhabitants if units.get(entry["unit"], {}).get("per_inhabitant") else None,
            **fields,
        )
        _validate(indicator, raw["pillars"], units)
        indicators[indicator_id] = indicator
    indicators = _with_distance_shares(indicators, raw["indicators"], units)
    for pillar, spec in raw["pillars"].items():  # the German texts of a pillar every page and table needs
        missing = [key for key in PILLAR_TEXTS if not str((spec or {}).get(key) or "").strip()]
        if missing:
            raise ValueError(f"catalogue.yaml: pillar {pillar} has no {', '.join(missing)}")
    return Catalogue(
        method_version=str(raw["method_version"]),
        pilot_towns={str(k): v for k, v in raw["pilot_towns"].items()},
        reference_group=raw["reference_group"],
        aggregation=raw.get("aggregation", "arithmetic"),
        pillars=raw["pillars"],
        indicators=indicators,
        uncertainty=raw.get("uncertainty") or {},
        units={str(k): str(v["de"]) for k, v in units.items()},
        unit_decimals={str(k): int(v["decimals"]) for k, v in units.items()},
        value_decimals={str(k): int(v["value_decimals"]) for k, v in units.items()},
        score_decimals=score_decimals,
        inhabitants=inhabitants,
    )


def _inhabitants(raw: dict, units: dict) -> tuple[str, tuple[str, ...]] | None:
    """The catalogue's ``inhabitants`` (measure and sources of the population on the current territory) as
    (measure, source ids); ValueError when a unit is per_inhabitant and it is missing or malformed."""
    given = raw.get("inhabitants")
    needed = any(isinstance(spec, dict) and spec.get("per_inhabitant") for spec in units.values())
    if given is None and not needed:
        return None
    if not isinstance(given, dict) or not isinstance(given.get("measure"), str) or not given.get("source"):
        raise ValueError(f"catalogue inhabitants: {given!r} must name a measure and its source (ids) for the "
                         "per_inhabitant units")
    return given["measure"], tuple(source_ids(given["source"]))


def _with_distance_shares(indicators: dict[str, Indicator], raw: dict, units: dict) -> dict[str, Indicator]:
    """``share_within`` ({measure, radius}, declared once on the distance indicator) set as ``distance_share`` on the
    distance and on the indicator of the share (same source, observed); ValueError naming the indicator where the
    share has no observed indicator or the declaration is malformed."""
    for indicator_id, entry in raw.items():
        given = entry.get("share_within")
        if given is None:
            continue
        distance = indicators[indicator_id]
        share = [i for i in indicators.values() if i.method == "observed" and i.sources == distance.sources
                 and i.params.get("measure") == (given or {}).get("measure")] if isinstance(given, dict) else []
        radius = given.get("radius") if isinstance(given, dict) else None
        if distance.method != "observed" or len(share) != 1 or not isinstance(radius, (int, float)) or radius <= 0:
            raise ValueError(f"indicator {indicator_id}: share_within {given!r} must name the measure of one observed "
                             "indicator of the same source and a radius > 0 (in the distance's unit), on an observed "
                             "distance")
        zero = 0.5 * 10 ** -units[share[0].unit]["value_decimals"]  # 0 as published: under half its last decimal
        pair = (distance.params["measure"], share[0].params["measure"], float(radius), zero)
        for target in (distance, share[0]):
            indicators[target.indicator_id] = replace(target, distance_share=pair)
    return indicators


def _parts_by_source(given, indicator_id: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """``at_most_sum_of`` ({source id: [measure, ...]}) as a hashable tuple; ValueError naming the indicator."""
    if not given:
        return ()
    if not isinstance(given, dict) or not all(
            isinstance(measures, list) and measures and all(isinstance(m, str) and m for m in measures)
            for measures in given.values()):
        raise ValueError(f"indicator {indicator_id}: at_most_sum_of {given!r} must map each source id to a list "
                         "of measures")
    return tuple((str(source), tuple(measures)) for source, measures in given.items())


def _validate(indicator: Indicator, pillars: dict, units: dict) -> None:
    problems = []
    if indicator.unit not in units:
        problems.append(f"unit {indicator.unit!r} has no German wording under units")
    if indicator.method not in METHODS:
        problems.append(f"method {indicator.method!r} not one of {sorted(METHODS)}")
    if indicator.pillar not in pillars and indicator.pillar != CONTEXT:
        problems.append(f"pillar {indicator.pillar!r} not declared under pillars")
    if indicator.pillar == CONTEXT and indicator.direction != "none":
        problems.append(f"direction {indicator.direction!r}: a context indicator is scored neither way, say none")
    elif indicator.pillar != CONTEXT and indicator.direction not in ("positive", "negative"):
        problems.append(f"direction {indicator.direction!r} must be positive or negative")
    if set(indicator.reference_levels) - set(REFERENCE_LEVELS):
        problems.append(f"reference_levels {list(indicator.reference_levels)} must be among {list(REFERENCE_LEVELS)}")
    if indicator.goalposts[0] >= indicator.goalposts[1]:
        problems.append(f"goalposts {indicator.goalposts} must be [low, high] with low < high")
    if indicator.possible_range is not None:
        low, high = indicator.possible_range
        if len(indicator.possible_range) != 2 or (low is not None and high is not None and low >= high):
            problems.append(f"possible_range {list(indicator.possible_range)} must be [low, high] with low < high "
                            "(null: no bound)")
    if indicator.at_most_sum_of and indicator.method != "observed":
        problems.append("at_most_sum_of is only for method: observed (a value of the release's own measure)")
    unknown = [s for s, _ in indicator.at_most_sum_of if s not in indicator.sources]
    if unknown:
        problems.append(f"at_most_sum_of names sources {unknown} that are not the indicator's {indicator.sources}")
    if problems:
        raise ValueError(f"indicator {indicator.indicator_id}: " + "; ".join(problems))
