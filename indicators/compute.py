"""Indicator values from tidy observations, in DuckDB SQL.

Input: a DuckDB connection holding the table ``observations`` (source_id, vintage,
ags, level, reference_date, measure, value, unit, note). Output: one row per
(ags, indicator_id, period) where period is the calendar year of the reference date.
Within a year the latest reference date wins, and for one reference date the latest
vintage (a publisher's later release of the same figure).
"""

from __future__ import annotations

import duckdb
import pandas as pd

from indicators.catalogue import Catalogue, Indicator

VALUE_COLUMNS = ["ags", "indicator_id", "period", "value", "unit", "source_id", "vintage",
                 "reference_date", "imputed", "imputation", "quality_note"]

# Latest observation per (ags, year) of one measure from one source, Gemeinden only.
YEARLY = """
    SELECT ags, year(reference_date) AS period, reference_date, value, vintage, note
    FROM observations
    WHERE source_id = $source AND measure = $measure AND level = 'gemeinde'
    QUALIFY row_number() OVER (PARTITION BY ags, year(reference_date)
                               ORDER BY reference_date DESC, vintage DESC) = 1
"""


def compute_indicator(con: duckdb.DuckDBPyConnection, indicator: Indicator) -> pd.DataFrame:
    """Observed values of one indicator for every Gemeinde and year with data."""
    method = {"observed": _observed, "annualised_change": _annualised_change, "ratio": _ratio}[indicator.method]
    values = method(con, indicator)
    values = values.assign(indicator_id=indicator.indicator_id, unit=indicator.unit, source_id=indicator.source,
                           imputed=False, imputation=None)
    return values[VALUE_COLUMNS]


def _observed(con, indicator: Indicator) -> pd.DataFrame:
    sql = f"SELECT ags, period, value, vintage, reference_date, nullif(note, '') AS quality_note FROM ({YEARLY})"
    return con.execute(sql, {"source": indicator.source, "measure": indicator.params["measure"]}).df()


def _annualised_change(con, indicator: Indicator) -> pd.DataFrame:
    """Average yearly change in %; notes the base year and a territorial change (area moved > 2 %)."""
    sql = f"""
        WITH yearly AS ({YEARLY}),
        area AS (SELECT ags, period, value AS area FROM ({YEARLY.replace('$measure', "'area_km2'")})),
        pairs AS (
            SELECT now.ags, now.period, now.reference_date, now.vintage, now.value AS now_value,
                   base.period AS base_period, base.value AS base_value
            FROM yearly now JOIN yearly base
              ON base.ags = now.ags
             AND now.period - base.period BETWEEN $years - $tolerance AND $years + $tolerance
            QUALIFY row_number() OVER (PARTITION BY now.ags, now.period
                                       ORDER BY abs(now.period - base.period - $years), base.period DESC) = 1
        )
        SELECT p.ags, p.period, p.reference_date, p.vintage,
               round((power(p.now_value / p.base_value, 1.0 / (p.period - p.base_period)) - 1) * 100, 4) AS value,
               concat('base year ', p.base_period,
                      CASE WHEN abs(a_now.area / a_base.area - 1) > 0.02
                           THEN concat('; territorial change: area ', a_base.area, ' -> ', a_now.area, ' km2')
                           ELSE '' END) AS quality_note
        FROM pairs p
        LEFT JOIN area a_now ON a_now.ags = p.ags AND a_now.period = p.period
        LEFT JOIN area a_base ON a_base.ags = p.ags AND a_base.period = p.base_period
        WHERE p.base_value > 0
    """
    params = {"source": indicator.source, "measure": indicator.params["measure"],
              "years": indicator.params["years"], "tolerance": indicator.params["tolerance_years"]}
    return con.execute(sql, params).df()


def _ratio(con, indicator: Indicator) -> pd.DataFrame:
    numerator = YEARLY.replace("$measure", "$numerator")
    denominator = YEARLY.replace("$measure", "$denominator")
    sql = f"""
        SELECT n.ags, n.period, n.reference_date, n.vintage, round(n.value / d.value, 4) AS value,
               NULL AS quality_note
        FROM ({numerator}) n JOIN ({denominator}) d USING (ags, period)
        WHERE d.value > 0
    """
    params = {"source": indicator.source, "numerator": indicator.params["numerator"],
              "denominator": indicator.params["denominator"]}
    return con.execute(sql, params).df()


def index_periods(observed: pd.DataFrame, catalogue: Catalogue) -> list[int]:
    """Years for which an index is computed: from the first year every pillar has data to the last year with data."""
    pillars = [p for p in catalogue.pillars]
    pillar_of = {i.indicator_id: i.pillar for i in catalogue.indicators.values()}
    first_years = observed.assign(pillar=observed["indicator_id"].map(pillar_of)).groupby("pillar")["period"].min()
    if observed.empty or not set(pillars) <= set(first_years.index):
        return []
    start, end = int(first_years[pillars].max()), int(observed["period"].max())
    return list(range(start, end + 1))


def carry_forward(con: duckdb.DuckDBPyConnection, observed: pd.DataFrame, periods: list[int],
                  catalogue: Catalogue) -> pd.DataFrame:
    """Fill index periods without a value from the latest earlier value within carry_forward_years.

    Filled rows are flagged ``imputed`` with ``imputation = 'carried forward from <year>'``.
    """
    limits = pd.DataFrame([(i.indicator_id, i.carry_forward_years) for i in catalogue.indicators.values()],
                          columns=["indicator_id", "max_age"])
    wanted = pd.DataFrame({"period": periods})
    sql = """
        WITH targets AS (
            SELECT k.ags, k.indicator_id, w.period
            FROM (SELECT DISTINCT ags, indicator_id FROM observed) k CROSS JOIN wanted w
            ANTI JOIN observed o ON o.ags = k.ags AND o.indicator_id = k.indicator_id AND o.period = w.period
        )
        SELECT t.ags, t.indicator_id, t.period, o.value, o.unit, o.source_id, o.vintage, o.reference_date,
               TRUE AS imputed, concat('carried forward from ', o.period) AS imputation, o.quality_note
        FROM targets t
        ASOF JOIN observed o ON o.ags = t.ags AND o.indicator_id = t.indicator_id AND o.period <= t.period
        JOIN limits l ON l.indicator_id = t.indicator_id
        WHERE t.period - o.period <= l.max_age
    """
    con.register("observed", observed)
    con.register("wanted", wanted)
    con.register("limits", limits)
    try:
        filled = con.execute(sql).df()
    finally:
        for name in ("observed", "wanted", "limits"):
            con.unregister(name)
    return pd.concat([observed, filled[VALUE_COLUMNS]], ignore_index=True)


def compute_all(con: duckdb.DuckDBPyConnection, catalogue: Catalogue) -> tuple[pd.DataFrame, list[int]]:
    """All indicator values: observed ones, plus carried-forward ones for the index periods."""
    observed = pd.concat([compute_indicator(con, i) for i in catalogue.indicators.values()], ignore_index=True)
    periods = index_periods(observed, catalogue)
    return carry_forward(con, observed, periods, catalogue), periods
