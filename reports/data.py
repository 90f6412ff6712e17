"""Load what the reports show from the published warehouse: one read-only connection, frames reused per town.

Columns are always selected by name (tables may become views over history tables with extra
columns), and only the latest method version of the index is used.
"""

from __future__ import annotations

from collections.abc import Mapping
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
from pandas.core.dtypes.cast import maybe_box_native  # what to_dict uses (pandas pinned)

from indicators.compute import release_positions
from indicators.index import latest_published_period
from indicators.peers import FEATURE_DATES
from reports.labels import CATALOGUE, PILLARS, display_names, is_missing
from sources.frames import shared_strings
from sources.names import kreis_cells, kreis_names
from sources.registry import sources as source_specs
from sources.vintages import release_due
from staging.boundaries import STEPS_SQL, boundaries_of_today
from staging.crosswalk import KREIS_MOVE_COLUMNS
from warehouse.exports import LATEST_GEOMETRIES
from warehouse.registry import OutdatedWarehouse, missing_published

INDEX_COLUMNS = ["ags", "period", "score", *PILLARS, "rank", "rank_median", "rank_p05", "rank_p95",
                 "score_median", "score_p05", "score_p95", "compared_towns", "in_reference_group",
                 "reference_group", "imputed_share", "provisional", "period_provisional", "oldest_input_date",
                 "newest_input_date", "missing_pillars", "notes", "omitted_pillars", "uncompared_pillars",
                 "method_version"]

# How many towns share the row's rank (ranks compare the score as published, one decimal, so Germany-wide up to
# ~20 towns share one; a page says "gleichauf mit ..."). A column of the index rows, so the per-town digests of the
# page keys (reports/pages.py) change when another town comes to share the rank.
TIED_TOWNS = "CASE WHEN rank IS NOT NULL THEN count(*) OVER (PARTITION BY period, rank) END AS tied_towns"

MUNICIPALITIES = """
SELECT m.ags, m.name, m.kreis_ags, m.kreis_name, m.land, m.kind, m.is_pilot, m.in_reference_group,
       m.area_km2, m.population, m.population_date, k.designation AS kreis_designation  -- 'Kreisfreie Stadt', ...
FROM municipalities m LEFT JOIN kreise k ON k.ags = m.kreis_ags ORDER BY m.ags"""

# the typed flags a value's note is rendered from (reports.context.quality_de): the drivers' values carry them too,
# whose notes said nothing of a value restated onto today's territory or of a Gemeindeverband's (audit of 7 December)
VALUE_FLAGS = ["territorial_change", "method_break", "source_level", "excluded_reason"]

# The changes ending in each town's latest period_to (year on year and over longer spans), each value with its
# reference date and whether it was carried forward (a 2018 value of 31.12.2013 is no 2018 figure). The values'
# dates come from the indicator values of the changes' periods only: joined with all of them, the query alone
# peaked at 504 against 349 MiB (Germany-wide, 3 December 2026).
CONTRIBUTIONS = f"""
WITH s AS (
    SELECT s.ags, s.period_from, s.period_to, s.indicator_id, c.label, s.pillar, s.value_from, s.value_to,
           s.contribution, s.score_from, s.score_to
    FROM score_contributions s LEFT JOIN indicator_catalogue c USING (indicator_id)
    WHERE s.method_version = $mv
      -- changes up to the period the page leads with (latest_ranking's), not into the provisional years after it
      AND s.period_to <= coalesce((SELECT max(period) FROM latest_ranking), s.period_to)
    QUALIFY s.period_to = max(s.period_to) OVER (PARTITION BY s.ags)),
v AS (SELECT ags, indicator_id, period, imputed, reference_date, source_id, base_period, {", ".join(VALUE_FLAGS)}
      FROM indicator_values WHERE period IN (SELECT period_from FROM s UNION SELECT period_to FROM s))
SELECT s.*, f.imputed AS imputed_from, f.reference_date AS date_from, f.source_id AS source_from,
       f.base_period AS base_from, t.imputed AS imputed_to, t.reference_date AS date_to, t.source_id AS source_to,
       t.base_period AS base_to, {", ".join(f"f.{c} AS {c}_from, t.{c} AS {c}_to" for c in VALUE_FLAGS)}
FROM s
LEFT JOIN v f ON f.ags = s.ags AND f.indicator_id = s.indicator_id AND f.period = s.period_from
LEFT JOIN v t ON t.ags = s.ags AND t.indicator_id = s.indicator_id AND t.period = s.period_to"""

RELEASES = """
SELECT source_id, vintage, max(ingested_at) AS ingested_at, any_value(publisher) AS publisher,
       any_value(licence) AS licence, any_value(licence_url) AS licence_url,
       any_value(attribution) AS attribution
FROM source_releases GROUP BY source_id, vintage"""

# One indicator value per row with its provenance and typed flags (German text is rendered from them).
_INDICATOR_VALUES = f"""
SELECT v.ags, v.indicator_id, c.label, c.pillar, v.period, v.value, v.unit, v.source_id, v.vintage,
       v.reference_date, v.imputed, v.imputation, v.quality_note,
       v.territorial_change, v.method_break, v.source_level, v.base_period, v.excluded_reason,
       r.publisher, r.licence, r.licence_url, r.attribution
FROM indicator_values v
JOIN indicator_catalogue c ON c.indicator_id = v.indicator_id
LEFT JOIN ({RELEASES}) r ON r.source_id = v.source_id AND r.vintage = v.vintage"""

# Per town the period its page leads with, reports.context.headline_row's rule in SQL (a test holds the two equal):
# the published period (the view published_period) where the town has a row then, scored or not, else its newest
# scored period, else its newest. A town listed a provisional year's values (never scored) or a 2018 score (not
# scored in the published year) under its headline.
HEADLINE_PERIODS = """
SELECT ags, coalesce(max(period) FILTER (period = (SELECT period FROM published_period)),
                     max(period) FILTER (score IS NOT NULL), max(period)) AS headline_period
FROM readiness_index WHERE method_version = $mv GROUP BY ags"""

# Per town and indicator the value of the town's headline period (the inputs of the score the page leads with),
# else its newest value, which the page then lists as not in that score: the newest value of every indicator put a
# provisional year's values, or one of 2013, beside the published score without saying so. The period is chosen
# on the keys first, then the rows with provenance are read for it: a window over all 1.07 M rows with their text
# columns peaked at 927 against 417 MiB for the query alone (Germany-wide, 3 December 2026).
INDICATORS = f"""
WITH chosen AS (
    SELECT v.ags, v.indicator_id, coalesce(max(v.period) FILTER (v.period = h.headline_period), max(v.period)) AS period
    FROM indicator_values v LEFT JOIN ({HEADLINE_PERIODS}) h USING (ags)
    GROUP BY v.ags, v.indicator_id)
SELECT x.* FROM ({_INDICATOR_VALUES}) x SEMI JOIN chosen c USING (ags, indicator_id, period)"""

# The values of one index period (the published one): what the comparison pages put beside the scores;
# read for the towns of a comparison only (ReportData.period_indicators), not at load.
PERIOD_INDICATORS = _INDICATOR_VALUES + """
WHERE v.period = $period AND v.ags IN (SELECT unnest($towns))"""

# Per town and index period the indicators the index can score (a value in one of the pillars without an
# excluded_reason, as indicators/compute.py reads them), as one sorted text ('fibre_coverage,gigabit_coverage,...'):
# a year whose score rests on another set than the headline year's is marked not comparable (the 2018 accessibility
# without the car times that start in 2020; review of 5 December 2026). The indicators of a pillar the row omits
# are taken out per row (reports.context.scored_indicators).
SCORED_INDICATORS = """
SELECT v.ags, v.period, string_agg(v.indicator_id, ',' ORDER BY v.indicator_id) AS indicators
FROM indicator_values v JOIN indicator_catalogue c USING (indicator_id)
WHERE v.excluded_reason IS NULL AND list_contains($pillars, c.pillar)
  AND (v.ags, v.period) IN (SELECT (ags, period) FROM readiness_index WHERE method_version = $mv)
GROUP BY v.ags, v.period ORDER BY v.ags, v.period"""

# Per town and index period without a score the values of its missing pillars, with why each is not scored: a year
# whose values the town has but the index cannot score says why (reports.context.missing_excluded: Unstruttal's
# 2023, split that year), on the page and in ``readiness profil`` alike
UNSCORED_VALUES = """
SELECT v.ags, v.period, c.pillar, v.excluded_reason
FROM indicator_values v JOIN indicator_catalogue c USING (indicator_id)
JOIN readiness_index r ON r.ags = v.ags AND r.period = v.period
WHERE r.method_version = $mv AND r.score IS NULL AND list_contains(string_split(r.missing_pillars, ', '), c.pillar)
ORDER BY v.ags, v.period, c.pillar, v.excluded_reason"""

# Per index period and pillar the indicators scored for any town (a value without an excluded_reason): what a pillar
# usually rests on in that period, against which a town's pillar on fewer is noted (reports.labels.pillar_coverage_de)
PILLAR_INDICATORS = """
SELECT v.period, c.pillar, count(DISTINCT v.indicator_id) AS indicators
FROM indicator_values v JOIN indicator_catalogue c USING (indicator_id)
WHERE v.excluded_reason IS NULL AND v.value IS NOT NULL AND list_contains($pillars, c.pillar)
GROUP BY ALL"""

# with the dates of the structure features of town and peer (the peer's from its own rows: indicators/peers.py)
PEERS = f"""
SELECT p.ags, p.peer_ags, m.name AS peer_name, m.kreis_name AS peer_kreis, p.similarity, p.rank, p.period,
       p.score, p.peer_score, p.gap_score, {", ".join(f"p.gap_{p}" for p in PILLARS)},
       {", ".join(f"p.{d}, q.{d} AS peer_{d}" for d in FEATURE_DATES)}
FROM peer_towns p LEFT JOIN municipalities m ON m.ags = p.peer_ags
LEFT JOIN (SELECT ags, {", ".join(f"any_value({d}) AS {d}" for d in FEATURE_DATES)} FROM peer_towns GROUP BY ags) q
       ON q.ags = p.peer_ags
ORDER BY p.ags, p.rank"""

# Per Kreis of residence the flows of one release: the latest reference date and, of two releases of one date (a
# corrected file), the later in time order, as KREIS_COMMUTING below (both releases' rows were shown before).
# Ordered to the end: equal counts keep one order, so the page's top ten are the same every build.
FLOWS = """
SELECT home_kreis, work_kreis, reference_date, commuters, listing, marker, source_id, vintage
FROM commuter_flows
QUALIFY rank() OVER (PARTITION BY home_kreis ORDER BY reference_date DESC, list_position($vintages, vintage) DESC) = 1
ORDER BY home_kreis, commuters DESC NULLS LAST, work_kreis"""

# The Kreis commuting totals per Kreis and reference date (the page takes those of its flows' date: a release with
# newer totals than flows must not hide them), of two releases of one date the later in time order ($vintages:
# release_positions, oldest first; a release id is no date).
KREIS_COMMUTING = """
SELECT ags AS kreis_ags, reference_date, measure, value
FROM observations
WHERE source_id = 'ba_commuting' AND level = 'kreis'
  AND measure IN ('out_commuters', 'employees_residence', 'out_commuter_share')
QUALIFY rank() OVER (PARTITION BY ags, reference_date ORDER BY list_position($vintages, vintage) DESC) = 1"""

# What each index row rests on: per town, period, pillar and source the oldest reference date of the inputs the score
# uses, read from the view views.sql computes once per publish (as the CLI reads it), not aggregated again here.
INPUT_DATES = """
SELECT ags, period, pillar, source_id, oldest_reference_date AS reference_date, newest_reference_date,
       carried_forward, inputs
FROM index_data_dates ORDER BY ags, period, pillar, source_id"""

# Median of each indicator over the reference group, per period: the "Vergleichsgruppe" reference value. Over the
# values the index uses (excluded_reason NULL) and the context indicators' values (excluded_reason
# 'context_indicator', indicators/flags.py: outside the index, shown as context), not over those the index leaves
# out: with them the 2018 median of population_change_10y was -0.2807 instead of -0.2865 (74 values computed across
# a territorial change, up to +40.5 %/yr; Germany-wide, review of 5 December 2026).
GROUP_MEDIANS = """
SELECT v.indicator_id, v.period, median(v.value) AS median, count(*) AS towns
FROM indicator_values v JOIN municipalities m USING (ags)
WHERE m.in_reference_group AND (v.excluded_reason IS NULL OR v.excluded_reason = 'context_indicator')
GROUP BY ALL"""

# Kreis, Land and Bund rows of the publishers for the measures the indicators observe directly: one value per date,
# chosen as the indicators choose a town's (indicators/compute.py YEARLY): the indicator's first source, then the
# later release in time order. Two releases of one date (a corrected file) gave two values, and the page showed the
# one its query met last.
REFERENCE_VALUES = """
SELECT m.indicator_id, o.level, o.ags, o.reference_date, o.value, o.source_id, o.vintage
FROM observations o JOIN measures m ON m.source_id = o.source_id AND m.measure = o.measure AND m.level = o.level
WHERE o.value IS NOT NULL
QUALIFY row_number() OVER (PARTITION BY m.indicator_id, o.level, o.ags, o.reference_date
                           ORDER BY m.source_rank, list_position($vintages, o.vintage) DESC) = 1"""

# Mobilfunk-Monitoring at Kreis level (one release per Kreis: that of the latest reference date and, of two of one
# date, the later in time order): context on the town page, not in the index (issue 14.6: the Kreis value is all
# the publisher gives for most of Germany).
MOBILE_KREIS = """
SELECT ags AS kreis_ags, vintage, reference_date, measure, value
FROM observations
WHERE source_id = 'mobilfunk_monitoring' AND level = 'kreis'
QUALIFY rank() OVER (PARTITION BY ags ORDER BY reference_date DESC, list_position($vintages, vintage) DESC) = 1"""

# Per town the Kreise it lay in that today's register no longer has (staging.crosswalk.former_kreise): a publisher's
# Kreis rows of such a Kreis are the town's where its Kreis of today is not listed (reports.context kreis_territory)
FORMER_KREISE_COLUMNS = ["ags", "kreis_ags", "kreis_name"]
FORMER_KREISE = f"SELECT {', '.join(FORMER_KREISE_COLUMNS)} FROM former_kreise ORDER BY ags, kreis_ags"
# Per town the parts of it that lay in another Kreis of today (staging.crosswalk.kreis_moves): Kreis figures of a day
# before the move count them there (reports.context moved_parts)
KREIS_MOVES = "SELECT * FROM kreis_moves ORDER BY ags, part_ags"
# When the territorial status of a publisher that keys its values by a status of its own lies (INKAR,
# staging.publisher_status): its Kreis values describe that day's territory (reports.context kreis_territory_of)
PUBLISHER_STATUS = "SELECT source_id, vintage, status_after, status_before FROM publisher_territorial_status"

COWORKING = """
SELECT osm_type, osm_id, name, lat, lon, kind, website, operator, ags, vintage, osm_base_timestamp, locally_reported,
       located_at_gemeinde, supplier, licence, opened, closed, listed_on
FROM coworking_spaces
WHERE vintage = (SELECT max(vintage) FROM coworking_spaces)
ORDER BY osm_type, osm_id  -- the key: places at one distance with one name (unnamed ones) keep this order on the page"""

# Per key its newest geometry (warehouse.exports.LATEST_GEOMETRIES: territorial date, then the finer VG250) and the
# crosswalk's steps; ``load`` draws the Gemeinden of today from them (staging.boundaries.boundaries_of_today, the
# GeoPackage's rule), in a fixed order (by AGS: the coverage simplification of the maps depends on it; same data, same
# SVG), with the boundary's date, whether the town's territory changed since and the outlines joined into it, which
# the map's note says
GEOMETRIES = LATEST_GEOMETRIES


class InputDates:
    """Per pillar, arrays aligned to ``ags``: the oldest and the newest date of the inputs of each town's ``period``
    value (NaT: none) and its inputs and carried-forward inputs (``input_dates`` rows: index_data_dates, summed over
    the town's sources). The data line of a page of many towns (the atlas' maps, the index page) is then a few array
    reductions per set of towns (``spans``), not a frame filter per Land and measure (0.8 s for the atlas)."""

    def __init__(self, input_dates: pd.DataFrame | None, period, ags):
        self.ags = np.asarray(ags)
        self.by_pillar: dict[str, tuple] = {}
        if input_dates is None:  # a ReportData without them (small tests): no data line
            return
        rows = input_dates[(input_dates["period"] == period) & input_dates["reference_date"].notna()]
        position = pd.Series(np.arange(len(self.ags)), index=self.ags)
        rows = rows[rows["ags"].isin(position.index)]
        at = position[rows["ags"]].to_numpy()
        for pillar in PILLARS:
            mask = (rows["pillar"] == pillar).to_numpy()
            if not mask.any():
                continue
            oldest = np.full(len(self.ags), np.datetime64("NaT"), dtype="datetime64[ns]")
            newest = oldest.copy()
            counts = np.zeros((len(self.ags), 2), dtype=np.int64)
            chosen = rows[mask]
            where = at[mask]
            np.fmin.at(oldest, where, pd.to_datetime(chosen["reference_date"]).to_numpy(dtype="datetime64[ns]"))
            np.fmax.at(newest, where, pd.to_datetime(chosen["newest_reference_date"].fillna(chosen["reference_date"])
                                                     ).to_numpy(dtype="datetime64[ns]"))  # fmin/fmax: NaT gives way
            np.add.at(counts, (where, 0), chosen["inputs"].to_numpy())
            np.add.at(counts, (where, 1), chosen["carried_forward"].to_numpy())
            self.by_pillar[pillar] = (oldest, newest, counts)

    def spans(self, pillars, positions=None) -> tuple[dict, int, int]:
        """(pillar -> (oldest, newest) over the towns at ``positions`` (None: all) that have inputs of it, inputs,
        carried forward): what ``labels.data_dates_text`` words."""
        positions = np.arange(len(self.ags)) if positions is None else np.asarray(positions)
        spans, inputs, carried = {}, 0, 0
        for pillar in pillars:
            if pillar not in self.by_pillar:
                continue
            oldest, newest, counts = self.by_pillar[pillar]
            dated = positions[~np.isnat(oldest[positions])]
            if len(dated):
                spans[pillar] = (oldest[dated].min(), newest[dated].max())
                inputs, carried = inputs + int(counts[dated, 0].sum()), carried + int(counts[dated, 1].sum())
        return spans, inputs, carried


@dataclass
class ReportData:
    """Everything the reports need, loaded once; per-town frames are looked up by AGS."""

    path: Path
    method_version: str
    latest_period: int | None
    towns: pd.DataFrame            # municipalities, indexed by ags
    kreise: pd.DataFrame           # ags, name of every Kreis (BKG)
    index: pd.DataFrame            # readiness_index rows of the latest method version
    releases: pd.DataFrame         # one row per source and vintage
    geometries: pd.DataFrame       # staging.boundaries.boundaries_of_today: ags, vintage, name, geometry_wkb, ...
    coworking: pd.DataFrame
    # read by the "Coworking-Lücke" section per town (reports/coworking_gap.py); held here so that the
    # page keys (reports/pages.py) change when they change
    coworking_gap: pd.DataFrame
    gap_inputs: pd.DataFrame       # local_survey_results and commuter_flows_gemeinde rows, as text
    kreis_commuting: pd.DataFrame  # kreis_ags, reference_date, measure, value
    mobile_kreis: pd.DataFrame     # kreis_ags, vintage, reference_date, measure, value (Mobilfunk-Monitoring)
    group_medians: pd.DataFrame    # indicator_id, period, median, towns (reference group)
    references: dict               # (indicator_id, level, ags) -> (reference dates, values), sorted by date
    # (indicator_id, "kreis", ags) -> per reference date (in ``references``' order) the (source_id, vintage) whose
    # value it is: whose territory a Kreis value describes (reports.context kreis_territory_of)
    reference_releases: dict
    by_town: dict[str, TownSplit]    # per-town rows of index, indicators, contributions, peers, input dates, scored
    flows_by_kreis: dict[str, pd.DataFrame]
    # ags, kreis_ags, kreis_name: the Kreise a town lay in that today's register no longer has (the Kreis sections)
    former_kreise: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=FORMER_KREISE_COLUMNS))
    # ags, part_ags, part_name, kreis_ags, ...: the parts of a town that lay in another Kreis of today (kreis_moves)
    kreis_moves: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=KREIS_MOVE_COLUMNS))
    # (source_id, vintage) -> (status_after, status_before): when a release's own territorial status lies, where known
    publisher_status: dict = field(default_factory=dict)
    # {period: {pillar: indicators scored for any town then}} (PILLAR_INDICATORS)
    pillar_indicators: dict = field(default_factory=dict)
    releases_due: dict = field(default_factory=dict)  # source_id -> newest, due, overdue (``releases_due``)
    year_only_data: tuple = ()  # sources whose newest data have a year, not a day (``newest_data``)
    # sections and lookups computed once per run (per Kreis, name per AGS): not data, not hashed by the page keys
    memo: dict = field(default_factory=dict, repr=False)

    def town_rows(self, kind: str, ags: str) -> list[dict]:
        """The rows of ``kind`` for one town as fresh dicts (the values ``records`` gives for its frame),
        without pandas per town: the columns are prepared once per run (``Columns``)."""
        return self._columns(kind).rows(ags)

    def period_indicators(self, towns: list[str]) -> tuple[pd.DataFrame, "Columns"]:
        """The indicator values of the published period for ``towns`` (PERIOD_INDICATORS) as a frame and as
        ``Columns`` (``.rows(ags)``: a town's rows as ``town_rows`` gives them), read from the published
        file once per set of towns. Not read at load: only comparison pages show them (the network page:
        the pilot towns), and reading them for all ~10,000 towns took ~0.7 s before the first town page."""
        towns = sorted(set(towns))
        key = ("period_indicators", tuple(towns))
        if key not in self.memo:
            with connect(self.path) as con:
                frame = _frame(con.execute(PERIOD_INDICATORS, {"period": self.latest_period, "towns": towns}))
            self.memo[key] = frame, Columns(frame, TownSplit(frame, "ags").positions)
        return self.memo[key]

    def _columns(self, kind: str) -> "Columns":
        prepared = self.__dict__.setdefault("_prepared_columns", {})
        if kind not in prepared:
            prepared[kind] = Columns(self.by_town[kind].frame, self.by_town[kind].positions)
        return prepared[kind]

    def town_frame(self, kind: str, ags: str, columns: list[str]) -> pd.DataFrame:
        """The rows of ``kind`` (index, indicators, contributions, peers) for one town."""
        frame = self.by_town[kind].get(ags)
        return frame if frame is not None else pd.DataFrame(columns=columns)

    @cached_property
    def latest_scores(self) -> pd.Series:
        """Score per AGS in the latest period of the index (NaN where not scored)."""
        latest = self.index[self.index["period"] == self.latest_period]
        return latest.set_index("ags")["score"]

    @cached_property
    def latest_score_of(self) -> dict:
        """``latest_scores`` as a dict (numpy floats, as the Series holds them, so texts made of them stay the
        same): page keys and maps look up every town and neighbour, ~10 µs each through the Series."""
        return dict(zip(self.latest_scores.index, self.latest_scores.to_numpy()))

    @cached_property
    def name_of(self) -> dict:
        """Name per AGS as a dict, for the same lookups (pandas' ``get``/``loc`` per town cost ~0.15 ms)."""
        return dict(zip(self.towns.index, self.towns["name"]))

    def group_median(self, indicator_id: str, period) -> float | None:
        """The reference group's median of an indicator in a period (None when no town has a value)."""
        value = self._medians.get((indicator_id, int(period))) if period is not None else None
        return None if value is None or pd.isna(value) else float(value)

    @cached_property
    def _medians(self) -> dict:
        frame = self.group_medians
        return dict(zip(zip(frame["indicator_id"], frame["period"].astype(int)), frame["median"]))

    def pillar_medians(self, period) -> dict:
        """Median of each pillar over the reference group's towns in ``period``."""
        return self._pillar_medians.get(int(period), {}) if period is not None else {}

    @cached_property
    def _pillar_medians(self) -> dict:
        group = self.index[self.index["in_reference_group"]]
        medians = group.groupby("period")[PILLARS + ["score"]].median()
        return {int(p): {k: (None if pd.isna(v) else float(v)) for k, v in row.items()}
                for p, row in medians.iterrows()}

    @cached_property
    def mobile_by_kreis(self) -> dict[str, pd.DataFrame]:
        """Mobilfunk-Monitoring rows per Kreis AGS (looked up once per town page)."""
        return _split(self.mobile_kreis, "kreis_ags")

    @cached_property
    def kreis_names(self) -> pd.Series:
        """Kreis name per 5-digit Kreis AGS: every Kreis of the BKG layer, else those of the towns' register. The
        name as the BKG writes it ('München'), for the page's phrases (``in_kreis`` with ``kreis_designations``)."""
        return kreis_names(self.kreise, self.towns)

    @cached_property
    def kreis_designations(self) -> pd.Series:
        """The BKG designation per Kreis AGS ('Landkreis', 'Kreisfreie Stadt', ...)."""
        return self.kreise.set_index("ags")["designation"]

    @cached_property
    def kreis_cells(self) -> pd.Series:
        """``kreis_names`` for a table cell: a name two Kreise share with its designation ('München (Landkreis)',
        ``kreis_labels``); a phrase takes the plain name ('im Landkreis München' is ``in_kreis``'s business)."""
        return kreis_cells(self.kreise, self.towns)


class TownSplit(Mapping):
    """A frame's rows per key (AGS), read like a dict of per-key frames but split lazily.

    Why: splitting the report frames into ~10,800 small frames at load took tens of seconds, and the
    page context no longer needs frames (``ReportData.town_rows``); comparison pages still ask for a
    few. ``frame`` is the whole frame (the page keys hash it in one go)."""

    def __init__(self, frame: pd.DataFrame, key: str):
        self.frame = frame
        self.positions = frame.groupby(key, sort=False).indices if len(frame) else {}
        self._frames: dict[str, pd.DataFrame] = {}

    def __getitem__(self, key: str) -> pd.DataFrame:
        if key not in self._frames:
            # rows in the frame's order, index 0..n-1: what groupby iteration gave before
            self._frames[key] = self.frame.iloc[self.positions[key]].reset_index(drop=True)
        return self._frames[key]

    def __iter__(self):
        return iter(self.positions)

    def __len__(self) -> int:
        return len(self.positions)

    def __contains__(self, key) -> bool:
        return key in self.positions


class Columns:
    """One ``TownSplit`` held as whole columns: a town's rows as dicts without pandas per town.

    Why: pandas operations on a town's small frame cost 0.1-1 ms each and a page did dozens; indexing
    prepared arrays and building the dicts directly costs microseconds. The values are those of
    ``reports.context.records`` on the town's frame (Python scalars, Timestamps, None for missing)."""

    def __init__(self, frame: pd.DataFrame, positions: dict):
        self.positions = positions
        self.names = list(frame.columns)
        # per column: its values and how a selection of them becomes the row values (``_NONE_MISSING``:
        # as they are; ``_FLOAT``: NaN becomes None; ``_BOXED``/``_OBJECT``: numpy scalars boxed as in
        # to_dict (object columns holding any), then every kind of missing value becomes None); the kind
        # of an object column comes from the types it holds (``_object_kind``), so text columns need no test
        self.arrays, self.kinds = [], []
        for _, series in frame.items():
            if isinstance(series.dtype, np.dtype) and series.dtype.kind in "biuf":
                array = series.to_numpy()  # tolist() of a selection gives Python scalars, as Series.tolist
                kind = _FLOAT if series.dtype.kind == "f" else _NONE_MISSING  # ints and bools are never missing
            elif series.dtype.kind == "M":  # dates: one Timestamp per distinct date, not one per cell
                array = _shared_timestamps(series)
                kind = _object_kind(array, boxed=False)
            else:  # object and nullable columns: the Python values Series.tolist gives
                array = np.empty(len(series), dtype=object)
                array[:] = series.tolist()
                kind = _object_kind(array, boxed=series.dtype == object)  # numpy scalars inside: boxed, as in to_dict
            self.arrays.append(array)
            self.kinds.append(kind)

    def rows(self, ags: str) -> list[dict]:
        """The town's rows as new dicts (callers may add keys); [] for a town without rows."""
        positions = self.positions.get(ags)
        return [] if positions is None else self.rows_at(positions)

    def rows_at(self, positions) -> list[dict]:
        """The rows at these positions of the frame, in this order, as new dicts.

        Column by column, each with the test its kind needs (most columns need none): a test of every
        value of every row was a third of the page context's time."""
        columns = [_row_values(array[positions].tolist(), kind) for array, kind in zip(self.arrays, self.kinds)]
        names = self.names
        return [dict(zip(names, row)) for row in zip(*columns)]


_NONE_MISSING, _FLOAT, _BOXED, _OBJECT = range(4)  # the kinds of ``Columns`` (see there)


def _object_kind(array: np.ndarray, boxed: bool) -> int:
    """The kind of an object column from the types it holds (looked at once per run): ``_BOXED`` when
    numpy scalars must be boxed (``boxed``: an object column, as to_dict boxes them), ``_OBJECT`` when
    a value may be missing other than None (a float NaN, NaT, NA), else ``_NONE_MISSING`` (text and None,
    Timestamps, ints...: the values as they are, None staying None)."""
    types = set(map(type, array))
    if boxed and any(issubclass(t, np.generic) for t in types):
        return _BOXED
    if any(issubclass(t, float) or t is type(pd.NaT) or t is type(pd.NA) for t in types):
        return _OBJECT
    return _NONE_MISSING


def _row_values(values: list, kind: int) -> list:
    """A column's selected values as ``records`` gives them: NaN, NaT, NA and None become None."""
    if kind == _NONE_MISSING:
        return values
    if kind == _FLOAT:
        return [None if v != v else v for v in values]
    if kind == _BOXED:
        values = [maybe_box_native(v) for v in values]
    return [None if v is None or v is pd.NaT or v is pd.NA or is_missing(v) else v for v in values]


def _shared_timestamps(series: pd.Series) -> np.ndarray:
    """The values ``series.tolist()`` gives for a datetime column (Timestamps, NaT where missing) as an
    object array in which equal dates are one Timestamp: a few dozen distinct reference dates over
    hundreds of thousands of rows (input_dates: 520,000) need not be as many objects."""
    codes, uniques = pd.factorize(series)
    boxed = np.empty(len(uniques) + 1, dtype=object)
    boxed[:-1] = uniques.tolist()
    boxed[-1] = pd.NaT  # code -1: missing
    return boxed[codes]


def connect(published: Path) -> duckdb.DuckDBPyConnection:
    """Open the published warehouse read-only, with a clear error when it is not there."""
    if not Path(published).is_file():
        raise FileNotFoundError(f"published warehouse {published} does not exist: build it with the "
                                "refresh_warehouse job first")
    return duckdb.connect(str(published), read_only=True)


LOAD_THREADS = 2  # queries read at once: DuckDB runs one (without the GIL) while Python converts another's rows


def current_method(con: duckdb.DuckDBPyConnection, published: Path) -> str:
    """The method version of the latest publish, whose index rows the pages show.

    Not ``max(method_version)``: versions compare wrongly as text ('0.9.0' > '0.10.0'), and the rows of earlier
    methods stay in the table, so the pages stayed on an old method for good (or went back after a rollback)."""
    row = con.execute("SELECT method_version FROM current_method").fetchone()
    mv = row[0] if row else None
    rows = con.execute("SELECT count(*) FROM readiness_index WHERE method_version = ?", [mv]).fetchone()[0] if mv else 0
    if not rows:
        raise ValueError(f"{published}: readiness_index has no rows of the current method {mv}, nothing to report")
    return mv


def releases_due(releases: pd.DataFrame, published_at, dates: dict | None = None) -> dict:
    """Per source with a publishing cycle: its newest release, the newest Stichtag of its data (``dates``,
    source_id -> date, ``DATA_DATES``; a source without observations: None), the day a newer release is due (a
    cycle, the publisher's lag of at least a cycle and a month after that date, ``sources.vintages.release_due``;
    without a data date, and in the raw assets' ``newest_release_age`` check, which knows only release ids, two
    cycles and a month after the release's date) and whether that day had passed when this warehouse was published.

    Why: the check warned in the Dagster UI for five of seven sources of the Germany-wide build (the BA's Kreis file
    of 2016, the Breitbandatlas of 2021), while the pages said only "Neuester Stand 06/2021" (dates review of
    5 December). Judged at the publish, not at rendering: two builds of one warehouse say the same."""
    specs = source_specs()  # sources.yaml, read once per process
    as_of = None if published_at is None or pd.isna(published_at) else pd.Timestamp(published_at).date()
    due = {}
    for source_id, labels in releases.groupby("source_id")["vintage"]:
        data_date = (dates or {}).get(source_id)
        spec = specs.get(source_id)
        found = release_due(spec.cycles, labels.tolist(), data_date, spec.publication_lag_months) if spec else None
        if found:
            due[source_id] = {"newest": found[0], "data_date": data_date, "due": found[1],
                              "overdue": as_of is not None and found[1] < as_of}
    return due


# The newest Stichtag of each source's data: what its "Neuer Stand fällig" is judged from (``releases_due``).
# And whether every observation of that date is of a measure the publisher gives by year only (sources.yaml
# year_only_measures, as "<source>/<measure>"): INKAR's newest data are its accessibility figures of a year, which the
# parser dates 31.12.; the Datenstand table read "Daten bis 31.12.2020" (read of the change, 6 December 2026).
DATA_DATES = """
    WITH newest AS (SELECT source_id, max(reference_date) AS data_date FROM observations GROUP BY source_id)
    SELECT n.source_id, n.data_date, bool_and(list_contains($year_only, o.source_id || '/' || o.measure)) AS year_only
    FROM newest n JOIN observations o ON o.source_id = n.source_id AND o.reference_date = n.data_date
    GROUP BY n.source_id, n.data_date
"""


def newest_data(con) -> dict:
    """source_id -> (the newest Stichtag of its observations as a date, whether only the year of it is the
    publisher's) (``DATA_DATES``)."""
    year_only = sorted(f"{source}/{measure}" for source, spec in source_specs().items()
                       for measure in spec.year_only_measures)
    return {source: (pd.Timestamp(day).date(), bool(only))
            for source, day, only in con.execute(DATA_DATES, {"year_only": year_only}).fetchall() if day is not None}


def source_data_dates(con) -> dict:
    """source_id -> the newest Stichtag of its observations (``DATA_DATES``), as dates."""
    return {source: day for source, (day, _) in newest_data(con).items()}


def kreis_history(data) -> dict:
    """Once per run (``data.memo``), from ``former_kreise``: per town its former Kreise ("formers"), per Kreis of
    today the former Kreise of its towns ("absorbed"), per former Kreis its register name ("names"), the Kreise of
    today its towns lie in ("successors") and how many Gemeinden of today lie in it ("members"); and per Kreis of
    today its number of Gemeinden ("sizes"). The Kreis sections (reports.context) and the page keys (reports.pages)
    read it."""
    if "kreis_history" not in data.memo:
        today = dict(zip(data.towns.index, data.towns["kreis_ags"]))
        history = {"formers": {}, "absorbed": {}, "names": {}, "successors": {}, "members": {},
                   "sizes": data.towns["kreis_ags"].value_counts().to_dict()}
        frame = data.former_kreise
        for ags, former, name in zip(frame["ags"], frame["kreis_ags"], frame["kreis_name"]):
            history["formers"].setdefault(ags, []).append(former)
            history["names"][former] = name
            history["members"][former] = history["members"].get(former, 0) + 1
            if ags in today:
                history["absorbed"].setdefault(today[ags], set()).add(former)
                history["successors"].setdefault(former, set()).add(today[ags])
        data.memo["kreis_history"] = history
    return data.memo["kreis_history"]


def load(published: Path) -> ReportData:
    """Read every frame the reports use from the published warehouse (one read-only connection; the
    queries run on LOAD_THREADS cursors of it at once, the largest first, and the threads end here)."""
    with connect(published) as con:
        missing = missing_published(con)  # the queries below read today's columns: name what an older file lacks
        if missing:
            raise OutdatedWarehouse(published, missing)
        mv = current_method(con, published)
        commuting = {"vintages": release_positions(con, ["ba_commuting"])}
        queries = {
            "indicators": (INDICATORS, {"mv": mv}), "input_dates": (INPUT_DATES, None),
            "contributions": (CONTRIBUTIONS, {"mv": mv}),
            "index": (f"SELECT {', '.join(INDEX_COLUMNS)}, {TIED_TOWNS} FROM readiness_index "
                      "WHERE method_version = $mv ORDER BY ags, period", {"mv": mv}),
            "scored": (SCORED_INDICATORS, {"pillars": PILLARS, "mv": mv}),
            "unscored_values": (UNSCORED_VALUES, {"mv": mv}),
            "peers": (PEERS, None), "flows": (FLOWS, commuting), "towns": (MUNICIPALITIES, None),
            "releases": (RELEASES, None),
            "geometries": (GEOMETRIES, None), "geometry_steps": (STEPS_SQL, None), "coworking": (COWORKING, None),
            "coworking_gap": ("SELECT * FROM coworking_gap", None),
            "gap_inputs": ("""SELECT 'survey' AS kind, CAST(s AS VARCHAR) AS row FROM local_survey_results s
                              UNION ALL SELECT 'flow', CAST(f AS VARCHAR) FROM commuter_flows_gemeinde f""", None),
            "kreis_commuting": (KREIS_COMMUTING, commuting),
            "mobile_kreis": (MOBILE_KREIS, {"vintages": release_positions(con, ["mobilfunk_monitoring"])}),
            "kreise": ("SELECT ags, name, designation FROM kreise", None), "group_medians": (GROUP_MEDIANS, None),
            "former_kreise": (FORMER_KREISE, None), "pillar_indicators": (PILLAR_INDICATORS, {"pillars": PILLARS}),
            "kreis_moves": (KREIS_MOVES, None), "publisher_status": (PUBLISHER_STATUS, None),
        }
        # why threads: about half of the load is DuckDB running the queries, which it does without holding
        # the GIL, so the other thread converts a finished result meanwhile (the report child's serial start
        # before the first page). The pool's threads have ended when the ``with`` is left, and DuckDB's once
        # the connection is closed: the child forks its page workers only while it runs one thread.
        convert = threading.Lock()
        with ThreadPoolExecutor(LOAD_THREADS) as pool:
            futures = {name: pool.submit(_query, con, sql, params, convert) for name, (sql, params) in queries.items()}
            got = {name: future.result() for name, future in futures.items()}
        index = got["index"]
        # the Gemeinden's names as the pages show them (Bavaria's abbreviated designations written out)
        got["towns"]["name"] = display_names(got["towns"]["name"])
        got["peers"]["peer_name"] = display_names(got["peers"]["peer_name"])
        newest = newest_data(con)
        data = ReportData(
            path=Path(published), method_version=mv,
            latest_period=latest_published_period(index),
            towns=got["towns"].set_index("ags", drop=False),
            index=index, releases=got["releases"], coworking=got["coworking"],
            geometries=boundaries_of_today(got["geometries"], got["geometry_steps"],
                                           got["towns"].set_index("ags")["name"]),
            releases_due=releases_due(got["releases"],
                                      con.execute("SELECT max(published_at) FROM publish_log").fetchone()[0],
                                      {source: day for source, (day, _) in newest.items()}),
            year_only_data=tuple(sorted(source for source, (_, only) in newest.items() if only)),
            coworking_gap=got["coworking_gap"], gap_inputs=got["gap_inputs"],
            kreis_commuting=got["kreis_commuting"], mobile_kreis=got["mobile_kreis"], kreise=got["kreise"],
            group_medians=got["group_medians"], **_reference_values(con),
            by_town={kind: TownSplit(got[kind], "ags")
                     for kind in ("index", "indicators", "contributions", "peers", "input_dates", "scored",
                                  "unscored_values")},
            flows_by_kreis=_split(got["flows"], "home_kreis"), former_kreise=got["former_kreise"],
            kreis_moves=got["kreis_moves"], publisher_status=publisher_status(got["publisher_status"]),
            pillar_indicators=pillar_indicators(got["pillar_indicators"]),
        )
    return data


def publisher_status(frame: pd.DataFrame) -> dict[tuple[str, str], tuple]:
    """``PUBLISHER_STATUS``' rows as {(source_id, vintage): (status_after, status_before)} (Timestamps or None)."""
    def stamp(value):
        return None if value is None or pd.isna(value) else pd.Timestamp(value)

    return {(source, vintage): (stamp(after), stamp(before))
            for source, vintage, after, before in zip(frame["source_id"], frame["vintage"], frame["status_after"],
                                                      frame["status_before"])}


def pillar_indicators(frame: pd.DataFrame) -> dict[int, dict[str, int]]:
    """``PILLAR_INDICATORS``' rows as {period: {pillar: indicators}}."""
    result: dict[int, dict[str, int]] = {}
    for period, pillar, count in zip(frame["period"], frame["pillar"], frame["indicators"]):
        result.setdefault(int(period), {})[pillar] = int(count)
    return result


def _query(con: duckdb.DuckDBPyConnection, sql: str, params: dict | None, convert: threading.Lock) -> pd.DataFrame:
    """``_frame`` of one query on a cursor of its own (a DuckDB connection is used by one thread at a time).
    DuckDB runs the query in ``execute``; the result becomes a frame holding ``convert``: two results
    converted at once raised the load's peak memory by ~170 MiB, one at a time by little."""
    cursor = con.cursor()
    try:
        result = cursor.execute(sql, params) if params is not None else cursor.execute(sql)
        with convert:
            return _frame(result)
    finally:
        cursor.close()


def _frame(result: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The query's result as a frame whose text columns share one ``str`` object per distinct value."""
    return shared_strings(result.df())


def _reference_values(con: duckdb.DuckDBPyConnection) -> dict:
    """Kreis/Land/Bund values per (indicator, level, ags) for indicators that observe one publisher measure
    (``references``), and per Kreis value the release it is from (``reference_releases``)."""
    measures = pd.DataFrame([(i.indicator_id, source, rank, i.params["measure"], level)
                             for i in CATALOGUE.indicators.values()
                             if i.method == "observed" and "measure" in i.params
                             for rank, source in enumerate(i.sources) for level in i.reference_levels],
                            columns=["indicator_id", "source_id", "source_rank", "measure", "level"])
    con.register("measures", measures)
    try:
        frame = con.execute(REFERENCE_VALUES, {
            "vintages": release_positions(con, sorted(set(measures["source_id"])))}).df()
    finally:
        con.unregister("measures")
    frame["reference_date"] = pd.to_datetime(frame["reference_date"])
    # plain sorted lists: each page looks up ~10 indicators x 3 levels with bisect, not pandas filters
    frame = frame.sort_values("reference_date", kind="stable")
    references, releases = {}, {}
    for key, group in frame.groupby(["indicator_id", "level", "ags"]):  # one pass over the ~3,300 groups
        references[key] = (group["reference_date"].tolist(), group["value"].tolist())
        if key[1] == "kreis":
            releases[key] = list(zip(group["source_id"], group["vintage"]))
    return {"references": references, "reference_releases": releases}


def _split(frame: pd.DataFrame, key: str) -> dict[str, pd.DataFrame]:
    """Group once, look up per town in O(1) (filtering per town would scan the frame 10,000 times)."""
    return {k: g.reset_index(drop=True) for k, g in frame.groupby(key, sort=False)}


