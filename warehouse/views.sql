-- Views of the published warehouse (run after schema.sql). The planner views (`planner_views` in
-- warehouse/tables.yaml) are exported after each publish (.xlsx, CSV, Parquet); docs/planner-guide.md has tested
-- example queries of them and of the others planners use (score_inputs, index_data_dates, coworking_gap_ranking).

-- Current rows of the history tables: what planners see by default.
CREATE VIEW source_releases AS
SELECT * EXCLUDE (valid_to) FROM source_releases_history WHERE valid_to IS NULL;

CREATE VIEW indicator_values AS
SELECT * EXCLUDE (valid_to) FROM indicator_values_history WHERE valid_to IS NULL;

CREATE VIEW readiness_index AS
SELECT * EXCLUDE (valid_to) FROM readiness_index_history WHERE valid_to IS NULL;

-- The warehouse as it was at a point in time: SELECT * FROM indicator_values_as_of(TIMESTAMP '2026-12-01 06:00').
-- The time is bound once in a one-row relation (t): with as_of spelled out twice, a subquery argument
-- became a shared subplan that kept DuckDB from pushing a caller's ags filter into the scan of the
-- history table (full scan, ~120 ms); bound once, the filter skips the other towns' row groups.
-- The stored times are UTC without a zone. A time without a zone (TIMESTAMP, DATE, '2026-12-01 06:00') is read
-- as UTC; one with a zone (TIMESTAMPTZ, now(), '2026-12-01 07:00+01') is converted to UTC. A plain CAST to
-- TIMESTAMP would read a TIMESTAMPTZ in the session's zone (Europe/Berlin in a planner's DuckDB) and drop a
-- text's offset: the rows of the publish an hour later or earlier (review of 5 December).
CREATE MACRO as_of_utc(as_of) AS
CASE WHEN typeof(as_of) = 'TIMESTAMP WITH TIME ZONE'
       OR (typeof(as_of) = 'VARCHAR'
           AND regexp_matches(CAST(as_of AS VARCHAR), '\d:\d\d(:\d\d(\.\d*)?)?\s*([+-]\d\d(:?\d\d)?|[zZ])$'))
     THEN timezone('UTC', CAST(as_of AS TIMESTAMPTZ))
     ELSE CAST(as_of AS TIMESTAMP) END;

CREATE MACRO source_releases_as_of(as_of) AS TABLE
SELECT h.* EXCLUDE (valid_to) FROM source_releases_history h, (SELECT as_of_utc(as_of) AS t) a
WHERE h.valid_from <= a.t AND (h.valid_to IS NULL OR h.valid_to > a.t);

CREATE MACRO indicator_values_as_of(as_of) AS TABLE
SELECT h.* EXCLUDE (valid_to) FROM indicator_values_history h, (SELECT as_of_utc(as_of) AS t) a
WHERE h.valid_from <= a.t AND (h.valid_to IS NULL OR h.valid_to > a.t);

CREATE MACRO readiness_index_as_of(as_of) AS TABLE
SELECT h.* EXCLUDE (valid_to) FROM readiness_index_history h, (SELECT as_of_utc(as_of) AS t) a
WHERE h.valid_from <= a.t AND (h.valid_to IS NULL OR h.valid_to > a.t);

-- The index method of the latest publish; older method versions stay in readiness_index.
CREATE VIEW current_method AS
SELECT method_version FROM publish_log ORDER BY published_at DESC LIMIT 1;

-- The period published as "the latest": the newest period with scores that is not provisional (most of its inputs
-- are its own data, not carried forward; see indicators/index.py), else the newest. latest_ranking, town_profile and
-- the pages lead with it.
CREATE VIEW published_period AS
SELECT coalesce(max(period) FILTER (NOT coalesce(period_provisional, false)), max(period)) AS period
FROM readiness_index WHERE score IS NOT NULL AND method_version = (SELECT method_version FROM current_method);

-- A town's index over time with its pillars and rank band (current method). Every Gemeinde with an index row, the
-- ones outside the reference group too (scored, never ranked): their compared_towns is NULL, since they are not
-- among the towns compared (a village's row read "von 50" beside its score of 88,4; review of 6 December 2026).
-- A row without a score has no imputed_share either (the share of a score's weight; as on the pages): the exports
-- gave Nieste's unscored years 0,333 to 1,0 beside an empty Indexwert (22,509 rows Germany-wide; same review).
CREATE VIEW town_index_history AS
SELECT m.name, m.kreis_name,
       r.* EXCLUDE (valid_from) REPLACE (CASE WHEN r.in_reference_group THEN r.compared_towns END AS compared_towns,
                                         CASE WHEN r.score IS NOT NULL THEN r.imputed_share END AS imputed_share),
       r.valid_from AS published_at
FROM readiness_index r JOIN municipalities m USING (ags)
WHERE r.method_version = (SELECT method_version FROM current_method);

-- The ranking of the latest period published as "the latest": the newest period with scores that is
-- not provisional (most of its inputs are its own data, not carried forward; see indicators/index.py).
-- Later, provisional periods stay in town_index_history with provisional = true.
CREATE VIEW latest_ranking AS
SELECT r.rank, r.rank_p05, r.rank_median, r.rank_p95, r.compared_towns, m.name, m.kreis_name, m.land, r.ags,
       r.period, r.score, r.score_p05, r.score_p95, r.digital_infrastructure, r.commuting_potential,
       r.demographic_dynamics, r.local_work_infrastructure, r.accessibility,
       CASE WHEN r.score IS NOT NULL THEN r.imputed_share END AS imputed_share, r.provisional,  -- as above
       r.oldest_input_date, r.newest_input_date, r.notes, r.missing_pillars, r.omitted_pillars, r.uncompared_pillars,
       r.reference_group, r.method_version
FROM readiness_index r JOIN municipalities m USING (ags)
WHERE r.method_version = (SELECT method_version FROM current_method)
  AND r.in_reference_group
  AND r.period = (SELECT period FROM published_period)
ORDER BY r.rank NULLS LAST, r.ags;  -- the ranking as planners read it, unscored towns (missing_pillars) last

-- The values each index row of the current method rests on, one row per (ags, period, indicator_id), whether the
-- row has a score or not (`scored`): the value has no excluded_reason (context indicators carry one) and its pillar
-- is counted (not among the row's uncompared_pillars). The one rule for index_data_dates (below), score_inputs,
-- indicator_values_latest.in_published_score and `readiness profil` (cli/profile.py); indicators.index.in_score
-- applies its pillar part to frames before the warehouse exists (tests/integration/test_precomputed_views.py checks
-- score_inputs against the pandas decomposition). Before, it was written in five places, and the latest values' copy
-- left out the score: a town without one would have had values "the published score rests on".
CREATE VIEW index_inputs AS
SELECT v.ags, v.period, v.indicator_id, c.pillar, r.score IS NOT NULL AS scored
FROM indicator_values v
JOIN indicator_catalogue c USING (indicator_id)
JOIN readiness_index r ON r.ags = v.ags AND r.period = v.period
 AND r.method_version = (SELECT method_version FROM current_method)
WHERE v.excluded_reason IS NULL AND c.pillar <> 'context'  -- (a context value always has one; said twice, at no cost)
  AND NOT list_contains(list_transform(string_split(coalesce(r.uncompared_pillars, ''), ','), lambda p: trim(p)), c.pillar);

-- The values each score of the current method rests on: index_inputs of the rows with a score.
CREATE VIEW score_inputs AS
SELECT ags, period, indicator_id FROM index_inputs WHERE scored;

-- Per town, period and source: the reference dates of the data the index row rests on (not the values it
-- excludes), and how many of its inputs from that source are carried forward ("Datenstand" next to a score).
-- Computed once per publish into a table in AGS order (the file is not written after it is published):
-- a town's query reads a few rows instead of aggregating ~1 M values (p95 ~415 -> ~7 ms on the full data).
INSERT INTO index_data_dates_by_town BY NAME  -- declared in warehouse/tables.yaml (schema.sql)
-- only the periods with an index row (6,274 of the snapshot's 11,605 rows dated years, 1987-2017, no index has), and
-- not the pillars shown beside the score but not in it (readiness_index.oldest/newest_input_date leave them out too:
-- Mölln's own coworking list dated its score): index_inputs' rule
SELECT v.ags, v.period, i.pillar, v.source_id, min(v.reference_date) AS oldest_reference_date,
       max(v.reference_date) AS newest_reference_date, count(*) AS inputs,
       count(*) FILTER (v.imputed) AS carried_forward
FROM indicator_values v JOIN index_inputs i USING (ags, period, indicator_id)
GROUP BY v.ags, v.period, i.pillar, v.source_id
ORDER BY v.ags, v.period, i.pillar, v.source_id;

CREATE VIEW index_data_dates AS
SELECT * FROM index_data_dates_by_town;

-- Every published value of every indicator over time, with its source, vintage and flags.
CREATE VIEW indicator_history AS
SELECT m.name, v.ags, c.pillar, v.indicator_id, c.label, v.period, v.value, v.unit, v.imputed, v.imputation,
       v.quality_note, v.territorial_change, v.method_break, v.source_level, v.excluded_reason, v.base_period,
       v.source_id, v.vintage, v.reference_date, v.valid_from AS published_at
FROM indicator_values v JOIN municipalities m USING (ags) JOIN indicator_catalogue c USING (indicator_id);

-- Source, licence and attribution per source, with its vintages and the latest release. The attribution is
-- stored per release (an INKAR or BKG one cites the release's year): here the newest release's, by the year
-- its id names (sources.registry.RELEASE_YEAR), one row per source.
CREATE VIEW source_attribution AS
SELECT source_id, publisher, licence, licence_url,
       arg_max(attribution, regexp_extract(vintage, '(?:19|20)\d{2}')) AS attribution,
       list(DISTINCT label ORDER BY label) AS vintages, max(revision) AS max_revision,
       max(ingested_at) AS latest_ingested_at, count(*) AS files, any_value(mode) AS mode
-- a revised release by the label its figures carry (2021-mitte-rev2), as town_profile and indicator_history cite it
FROM (SELECT *, vintage || CASE WHEN revision > 1 THEN '-rev' || revision ELSE '' END AS label FROM source_releases)
GROUP BY source_id, publisher, licence, licence_url;

-- Each town's latest value of each indicator (current rows), computed once per publish: the file is
-- not written after it is published, so this stays what the window over indicator_values gives. Stored
-- in AGS order, so a town filter skips most of it; town_profile reads these ~130 k rows instead of
-- ranking ~1 M history rows on every query (p95 104 -> ~30 ms, docs/performance-log.md).
-- The latest value may be of a provisional year (2023 on the Germany-wide build) or an old one (a 5-year change of
-- 2018) while the ranking leads with the published period: period_provisional, ranking_period and in_published_score
-- say which (review of 5 December: 3,262 of 3,263 towns showed a 10-year change of 2023 beside a ranking of 2021).
-- in_published_score: the published period's score input of the indicator (score_inputs' rule) is this very value,
-- the same release, Stichtag and value, also where the latest row carries it into a provisional year (the row of the
-- published period alone was never the latest on the Germany-wide build: the column was false throughout); not where
-- the latest row leaves it out (a split of the town after that period: 27 such rows were marked, review of 7 December)
INSERT INTO indicator_values_latest BY NAME  -- declared in warehouse/tables.yaml (schema.sql)
SELECT v.* EXCLUDE (valid_from), p.provisional AS period_provisional, k.period AS ranking_period,
       coalesce(u.source_id IS NOT DISTINCT FROM v.source_id AND u.vintage IS NOT DISTINCT FROM v.vintage
                AND u.reference_date IS NOT DISTINCT FROM v.reference_date AND u.value IS NOT DISTINCT FROM v.value
                AND v.excluded_reason IS NULL, false) AS in_published_score  -- not where this row leaves it out
FROM indicator_values v
LEFT JOIN (SELECT w.ags, w.indicator_id, w.source_id, w.vintage, w.reference_date, w.value
           FROM indicator_values w JOIN score_inputs s USING (ags, period, indicator_id)
           WHERE w.period = (SELECT period FROM published_period)) u ON u.ags = v.ags AND u.indicator_id = v.indicator_id
LEFT JOIN (SELECT period, bool_or(coalesce(period_provisional, false)) AS provisional FROM readiness_index
           WHERE method_version = (SELECT method_version FROM current_method) GROUP BY period) p ON p.period = v.period
CROSS JOIN published_period k
QUALIFY row_number() OVER (PARTITION BY v.ags, v.indicator_id ORDER BY v.period DESC) = 1
ORDER BY v.ags, v.indicator_id;

-- A town's latest value of each indicator, with source, vintage and the attribution of that release, and whether
-- the published score rests on it (its period may be provisional or older than the ranking's).
CREATE VIEW town_profile AS
SELECT m.name, m.kreis_name, l.ags, c.pillar, l.indicator_id, c.label, l.period, l.period_provisional,
       l.ranking_period, l.in_published_score, l.value, l.unit, c.direction,
       l.imputed, l.imputation, l.quality_note, l.territorial_change, l.method_break, l.source_level,
       l.excluded_reason, l.base_period, l.source_id, l.vintage, l.reference_date,
       a.publisher, a.licence, coalesce(r.attribution, a.attribution) AS attribution
FROM municipalities m
JOIN indicator_values_latest l ON l.ags = m.ags
JOIN indicator_catalogue c USING (indicator_id)
LEFT JOIN source_attribution a ON a.source_id = l.source_id
-- a revision's rows carry the vintage '<vintage>-rev<n>' (source_releases keeps the vintage and counts the revision,
-- as source_attribution labels it): joined on the vintage alone they cited the newest release's attribution
LEFT JOIN (SELECT source_id, vintage || CASE WHEN revision > 1 THEN '-rev' || revision ELSE '' END AS vintage,
                  any_value(attribution) AS attribution
           FROM source_releases GROUP BY ALL) r ON r.source_id = l.source_id AND r.vintage = l.vintage;

-- Each town's most similar towns by structure, their scores and the gap per pillar (peer minus town).
CREATE VIEW peer_comparison AS
SELECT m.name, p.ags, p.rank AS peer_rank, pm.name AS peer_name, pm.kreis_name AS peer_kreis, p.peer_ags,
       p.similarity, p.population_date, p.job_centrality_date, p.period, p.score, p.peer_score, p.gap_score,
       p.gap_digital_infrastructure, p.gap_commuting_potential,
       p.gap_demographic_dynamics, p.gap_local_work_infrastructure, p.gap_accessibility
FROM peer_towns p JOIN municipalities m USING (ags) JOIN municipalities pm ON pm.ags = p.peer_ags;

-- Small towns with the largest coworking gap in the period with the most estimates: estimated desk demand of
-- long-distance out-commuters, with the coworking supply within reach (NULL: no coworking data).
CREATE VIEW coworking_gap_ranking AS
SELECT rank() OVER (ORDER BY g.desk_demand DESC) AS gap_rank, m.name, m.kreis_name, m.land, g.ags, g.period,
       g.long_distance_out_commuters, g.basis, g.desk_demand, g.spaces_within_reach, g.nearest_space_km,
       g.coworking_source_id, g.coworking_vintage, g.coworking_reference_date, g.method_version
FROM coworking_gap g JOIN municipalities m USING (ags)
WHERE g.method_version = (SELECT method_version FROM current_method)
  -- the period with estimates for the most towns, the newest of those: the gap is about today's commuting and
  -- supply, not the index's published year (a coworking list of 2023 cannot count for 2021), and a newer period
  -- that only the towns with fresh Pendleratlas flows reach would rank a handful of towns
  AND g.period = (SELECT period FROM coworking_gap
                  WHERE method_version = (SELECT method_version FROM current_method)
                  GROUP BY period ORDER BY count(desk_demand) DESC, period DESC LIMIT 1)
  AND g.desk_demand IS NOT NULL;
