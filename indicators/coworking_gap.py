"""The coworking gap per Gemeinde and period: who commutes far, and is there a coworking space within reach?

Plain DuckDB SQL over the working tables (observations, commuter_flows_gemeinde). For each town of
the reference group and index period (the rows of ``readiness_index``), the latest value at or
before the period (latest date, then the latest release: a year may hold several) of:

Every figure is at most as much older than the period as the index carries the same data forward
(``carry_forward_years``: long_distance_commuter_share's for the commuting figures, coworking_within_10km's for
the coworking supply), else missing:

- ``long_distance_share``: INKAR x354, % of employees at residence commuting 50 km or more;
- ``employed_at_residence``: Pendleratlas out-commuters + internal commuters (employed persons
  living in the town), else the BA's employees at residence;
- ``long_distance_out_commuters_flows``: Pendleratlas out-flows of at least ``long_distance_km``
  among the town's ten main destinations (a lower bound: the top ten hold about 73 % of
  out-commuters); missing when every such destination's count is withheld by the publisher (a marker);
- ``long_distance_out_commuters_estimate``: share x employed at residence;
- ``nearest_space_km`` and ``spaces_within_reach`` from one coworking observation: the latest batch (an OSM query
  or a town's delivery, each the whole merged picture of its date; ``staging/coworking.py batches``) at or before
  the period, chosen as the index chooses the coworking indicator's value (date, then the catalogue's source order,
  then the release order), both figures from that batch; ``coworking_source_id``, ``coworking_vintage`` and
  ``coworking_reference_date`` name it. NULL where no coworking data cover the town.

A commuting figure (the INKAR share, the employed residents, the Pendleratlas flows) dated before a change of the
town's territory that is not restated (a split or a partial transfer, not a minor one) and took effect by the end of
the period, or typed with such a code, describes the town in its former bounds: it is left out (NULL), as the index
leaves out the indicator's value (``indicators.compute.across_transfers``, ``excluded_reason``), and
``territorial_change`` names the change behind a figure the row lacks (its code; the pages word it). The coworking
figures are not dated so: staging counts every batch on the newest boundaries. Dingelstädt's INKAR share of 2019 was
shown as its 2023 gap beside the split of 2023 that the index had excluded it for (review of 6 December 2026).

``long_distance_out_commuters`` is the larger of the two where both exist (the flows are a lower
bound; the estimate applies an older share to the current base), else the one that exists, but never a
flows-only 0 (no far destination among the ten is no evidence that nobody commutes far: unknown);
``basis`` says which, as a code (``pendleratlas_flows`` or ``inkar_estimate``; the pages word it).
``desk_demand`` applies the catalogue's parameters (each with its source in catalogue.yaml):
out-commuters x remote-capable share x remote days per week / workdays per week x share of remote days spent
coworking.
"""

from __future__ import annotations

import functools
from pathlib import Path

import duckdb
import pandas as pd

from indicators import flags
from indicators.catalogue import CATALOGUE_YAML, source_ids
from indicators.compute import YEARLY, release_positions
from sources import within_measure
from sources.registry import read_yaml

PARAMETERS = ["long_distance_km", "reach_km", "remote_capable_share", "remote_days_per_week",
              "workdays_per_week", "coworking_share_of_remote_days"]
# INKAR x354, the share the estimate rests on: its threshold is the publisher's, so long_distance_km must be it
LONG_DISTANCE_SHARE = "commuters_50km_share"
# the sources the count of long-distance out-commuters reads (compute_gap's SQL): INKAR's share, the Pendleratlas'
# flows and employed residents, the BA's employees at residence; the coworking sources come from the catalogue
COUNT_SOURCES = ("inkar", "pendleratlas", "ba_commuting")
TEXTS = ("_source", "_label_de", "_source_de")  # per parameter of the estimate (PARAMETERS[2:])
GAP_COLUMNS = ["ags", "period", "long_distance_share", "long_distance_share_year", "employed_at_residence",
               "long_distance_out_commuters_flows", "long_distance_flows_year", "long_distance_out_commuters_estimate",
               "long_distance_out_commuters", "basis", "nearest_space_km", "spaces_within_reach",
               "coworking_source_id", "coworking_vintage", "coworking_reference_date", "territorial_change",
               "desk_demand", "remote_capable_share", "remote_days_per_week", "coworking_share_of_remote_days",
               "method_version"]


def gap_parameters(path=CATALOGUE_YAML) -> dict:
    """The ``coworking_gap`` section of the catalogue; every parameter needs a value and a stated source."""
    stat = Path(path).stat()
    # cached per file version: the town reports ask for it on every page, and parsing the whole
    # catalogue took ~2/3 of a page's time; a changed file (mtime, size) is read again
    return dict(_gap_parameters(Path(path), stat.st_mtime_ns, stat.st_size))


@functools.lru_cache(maxsize=8)
def _gap_parameters(path: Path, _mtime_ns: int, _size: int) -> dict:
    """gap_parameters for one version of the file (the unused arguments are the cache key)."""
    raw = read_yaml(path)
    section = raw.get("coworking_gap") or {}
    problems = [p for p in PARAMETERS if not isinstance(section.get(p), (int, float))]
    # each parameter of the estimate with its source, and the German label and source the pages print
    problems += [f"{p}{suffix}" for p in PARAMETERS[2:] for suffix in TEXTS
                 if not str(section.get(f"{p}{suffix}") or "").strip()]
    if problems:
        raise ValueError(f"catalogue coworking_gap: missing or invalid {problems}")
    # the oldest figure a period may rest on: the index's limits for the same data (a 2019 share carried to
    # 2025 was shown as the 2025 gap): the commuting indicator's for the commuting figures, the coworking
    # indicator's for the coworking supply
    indicators = raw["indicators"]
    coworking = indicators["coworking_within_10km"]
    # the gap counts what the indicator counts: the measure staging writes for reach_km (staging/coworking.py
    # names it after its radius) must be the indicator's, else every count would silently be NULL
    if coworking["measure"] != within_measure(section["reach_km"]):
        raise ValueError(f"catalogue: coworking_gap.reach_km {section['reach_km']:g} km needs the coworking "
                         f"indicator's measure {within_measure(section['reach_km'])}, it reads {coworking['measure']}")
    if f"commuters_{section['long_distance_km']:g}km_share" != LONG_DISTANCE_SHARE:  # flows and share would differ
        raise ValueError(f"catalogue: coworking_gap.long_distance_km {section['long_distance_km']:g} km must be the "
                         f"threshold of INKAR's share {LONG_DISTANCE_SHARE}, which the estimate rests on")
    return {**section, "method_version": str(raw["method_version"]),
            "carry_forward_years": int(indicators["long_distance_commuter_share"]["carry_forward_years"]),
            "coworking_carry_forward_years": int(coworking["carry_forward_years"]),
            "coworking_sources": source_ids(coworking["source"])}


def compute_gap(con: duckdb.DuckDBPyConnection, parameters: dict, transfers: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per (ags, period) of ``readiness_index`` in the reference group (GAP_COLUMNS).

    ``transfers``: the territorial changes that are not restated (``indicators.compute.territory_transfers``); a
    figure dated before one of its town's is left out (module docstring). None: no such change."""
    # the index's choice of a year's value (date, catalogue source order, release order), for the coworking measure
    coworking_yearly = YEARLY.replace("$measure", "$within").replace("$sources", "$coworking_sources")
    sql = f"""
        WITH towns AS (SELECT DISTINCT ags, period FROM readiness_index WHERE in_reference_group),
        yearly AS (
            SELECT ags, measure, source_id, vintage, reference_date, year(reference_date) AS year, value,
                   territorial_change
            FROM observations WHERE level = 'gemeinde' AND value IS NOT NULL
             AND measure IN ($share_measure, 'out_commuters', 'internal_commuters', 'employees_residence')
        ),
        latest AS (  -- the latest value of a measure (from given sources) at or before the period, not too old;
                     -- of one year the latest date, then the latest release (a revision, a second delivery)
            SELECT *, CASE WHEN left_out IS NULL THEN observed END AS value FROM (
                SELECT t.ags, t.period, y.measure, y.source_id, y.year, y.value AS observed,
                       {_left_out_sql('t', 'y.reference_date', 'y.territorial_change')} AS left_out
                FROM towns t JOIN yearly y ON y.ags = t.ags AND y.year <= t.period AND y.year >= t.period - $carry
                QUALIFY row_number() OVER (PARTITION BY t.ags, t.period, y.measure, y.source_id
                                           ORDER BY y.reference_date DESC, list_position($vintages, y.vintage) DESC) = 1)
        ),
        coworking AS ({coworking_yearly}),
        supply AS (  -- one coworking batch per town and period: of the latest year up to the period, the one the index
                     -- takes for the coworking indicator (YEARLY): figures of two batches of a year were mixed before
            SELECT t.ags, t.period, o.source_id, o.vintage, o.reference_date, o.value AS within_reach
            FROM towns t JOIN coworking o ON o.ags = t.ags AND o.period <= t.period
             AND o.period >= t.period - $carry_coworking
            QUALIFY row_number() OVER (PARTITION BY t.ags, t.period ORDER BY o.period DESC) = 1
        ),
        nearest AS (  -- the same batch's distance (NULL where it has no place at all)
            SELECT s.*, n.value AS nearest
            FROM supply s LEFT JOIN observations n ON n.ags = s.ags AND n.level = 'gemeinde'
             AND n.measure = 'coworking_nearest_km' AND n.source_id = s.source_id AND n.vintage = s.vintage
             AND n.reference_date = s.reference_date
        ),
        flows AS (  -- a far destination whose count the publisher withheld (a marker: NULL) is unknown, not 0
            SELECT ags, year(reference_date) AS year, coalesce(sum(commuters), 0) AS far,
                   coalesce(sum(commuters), 0) = 0 AND count(*) > count(commuters) AS withheld
            FROM commuter_flows_gemeinde
            WHERE direction = 'out' AND distance_km >= $km
            GROUP BY ALL
        ),
        flow_years AS (SELECT ags, year(reference_date) AS year, max(reference_date) AS day
                       FROM commuter_flows_gemeinde WHERE direction = 'out' GROUP BY ALL),
        town_flows AS (
            -- no far destination among the ten: 0 far out-commuters; only withheld ones: no lower bound at all
            -- (a 0 here ranked the town last in the coworking-gap ranking, as if nobody commuted far)
            SELECT ags, period, left_out, CASE WHEN withheld OR left_out IS NOT NULL THEN NULL ELSE coalesce(far, 0) END AS far,
                   CASE WHEN left_out IS NULL THEN year END AS flows_year
            FROM (SELECT t.ags, t.period, f.withheld, f.far, fy.year, {_left_out_sql('t', 'fy.day', 'NULL')} AS left_out
                  FROM towns t JOIN flow_years fy ON fy.ags = t.ags AND fy.year <= t.period
                   AND fy.year >= t.period - $carry
                  LEFT JOIN flows f ON f.ags = fy.ags AND f.year = fy.year
                  QUALIFY row_number() OVER (PARTITION BY t.ags, t.period ORDER BY fy.year DESC) = 1)
        ),
        pick AS (
            SELECT t.ags, t.period, s.value AS share, CASE WHEN s.left_out IS NULL THEN s.year END AS share_year,
                   s.left_out AS share_left_out,
                   coalesce(
                     (SELECT sum(value) FROM latest l WHERE l.ags = t.ags AND l.period = t.period
                        AND l.source_id = 'pendleratlas' AND l.measure IN ('out_commuters', 'internal_commuters')
                        HAVING count(value) = 2),  -- both, and neither left out
                     (SELECT value FROM latest l WHERE l.ags = t.ags AND l.period = t.period
                        AND l.source_id = 'ba_commuting' AND l.measure = 'employees_residence')) AS employed,
                   -- why there is no count of employed residents although a publisher has one (NULL: there is one,
                   -- or none was left out): of the Pendleratlas pair, else of the BA figure
                   (SELECT max(left_out) FROM latest l WHERE l.ags = t.ags AND l.period = t.period
                      AND ((l.source_id = 'pendleratlas' AND l.measure IN ('out_commuters', 'internal_commuters'))
                           OR (l.source_id = 'ba_commuting' AND l.measure = 'employees_residence'))) AS employed_left_out
            FROM towns t LEFT JOIN latest s  -- INKAR's share: at most one row per town and period
              ON s.ags = t.ags AND s.period = t.period AND s.measure = $share_measure AND s.source_id = 'inkar'
        )
        SELECT p.ags, p.period, p.share AS long_distance_share, p.share_year AS long_distance_share_year,
               p.employed AS employed_at_residence, f.far AS long_distance_out_commuters_flows,
               f.flows_year AS long_distance_flows_year,
               round(p.share / 100 * p.employed) AS long_distance_out_commuters_estimate,
               -- the flows alone are a lower bound: 0 far among the ten main destinations says nothing of the
               -- rest (about a quarter of the out-commuters), so without an estimate it is unknown, not 0 desks
               CASE WHEN f.far IS NULL OR round(p.share / 100 * p.employed) >= f.far
                    THEN round(p.share / 100 * p.employed) ELSE nullif(f.far, 0) END AS long_distance_out_commuters,
               CASE WHEN f.far > 0 AND (p.share IS NULL OR p.employed IS NULL OR f.far > round(p.share / 100 * p.employed))
                    THEN 'pendleratlas_flows'
                    WHEN p.share IS NOT NULL AND p.employed IS NOT NULL
                    THEN 'inkar_estimate'
                    END AS basis,
               c.nearest AS nearest_space_km, c.within_reach AS spaces_within_reach,
               c.source_id AS coworking_source_id, c.vintage AS coworking_vintage,
               c.reference_date AS coworking_reference_date,
               -- the change behind a figure the row lacks: the share's, the employed residents' (only where no
               -- figure is left to use), the flows'
               coalesce(p.share_left_out, CASE WHEN p.employed IS NULL THEN p.employed_left_out END, f.left_out)
                   AS territorial_change
        FROM pick p LEFT JOIN town_flows f USING (ags, period) LEFT JOIN nearest c USING (ags, period)
        ORDER BY p.ags, p.period
    """
    con.register("gap_transfers", _excluding_transfers(transfers))
    sources = ["inkar", "pendleratlas", "ba_commuting", *parameters["coworking_sources"]]
    gap = con.execute(sql, {"km": float(parameters["long_distance_km"]),
                            "share_measure": LONG_DISTANCE_SHARE,
                            "within": within_measure(parameters["reach_km"]),
                            "carry": int(parameters["carry_forward_years"]),
                            "carry_coworking": int(parameters["coworking_carry_forward_years"]),
                            "coworking_sources": parameters["coworking_sources"],
                            "vintages": release_positions(con, sources),
                            "not_comparable": list(flags.NOT_COMPARABLE_OBSERVED)}).df()
    con.unregister("gap_transfers")
    factor = (parameters["remote_capable_share"] * parameters["remote_days_per_week"]
              / parameters["workdays_per_week"] * parameters["coworking_share_of_remote_days"])
    gap["desk_demand"] = (gap["long_distance_out_commuters"] * factor).round(1)
    for name in ("remote_capable_share", "remote_days_per_week", "coworking_share_of_remote_days", "method_version"):
        gap[name] = parameters[name]
    return gap[GAP_COLUMNS]


def _left_out_sql(town: str, day: str, code: str) -> str:
    """SQL: why the town's figure of ``day`` (typed ``code``) is left out of its period ``{town}.period``, NULL when it
    is not: its own code if that is not comparable, else the latest change that is not restated and took effect
    after ``day`` and by the end of the period (``gap_transfers``; indicators.compute.across_transfers)."""
    # of several changes the latest, as across_transfers (ties by code: one fixed choice)
    return (f"coalesce(CASE WHEN list_contains($not_comparable, {code}) THEN {code} END, "
            f"(SELECT arg_max(x.code, strftime(x.change_end, '%Y-%m-%d') || x.code) FROM gap_transfers x "
            f"WHERE x.ags = {town}.ags AND x.change_end > {day} AND x.change_end <= make_date({town}.period, 12, 31)))")


def _excluding_transfers(transfers: pd.DataFrame | None) -> pd.DataFrame:
    """(ags, change_end, code) of the changes that leave earlier figures out: all of ``transfers`` but minor ones,
    which leave the series comparable (as across_transfers)."""
    if transfers is None or transfers.empty:
        return pd.DataFrame({"ags": pd.Series(dtype=object), "change_end": pd.Series(dtype="datetime64[ns]"),
                             "code": pd.Series(dtype=object)})
    kept = transfers[transfers["_code"] != "minor_transfer"]
    return pd.DataFrame({"ags": kept["ags"].astype(object), "change_end": pd.to_datetime(kept["_end"]),
                         "code": kept["_code"].astype(object)})
