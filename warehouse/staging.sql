-- GENERATED from warehouse/tables.yaml by `python -m warehouse.docs`: edit the registry, not this file.
--
-- Working database: staging tables written by the pipeline, shown here as one database. On disk the
-- staging-layer tables live in their writer's own file (warehouse/readiness.staging/<asset>.duckdb), the
-- others in warehouse/readiness.work.duckdb; `observations` is built per connection over all files.
-- Tables not declared here (working_ddl in the registry) are created from the first frame written to them.

-- Gemeindeverzeichnis population and area per Gemeinde, every vintage: observations of source `destatis_gemeindeverzeichnis`
CREATE TABLE IF NOT EXISTS stg_destatis_gemeindeverzeichnis__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- Regionaldatenbank 12411-01-01-5 population (live mode): observations of source `regionalstatistik`
CREATE TABLE IF NOT EXISTS stg_regionalstatistik__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- INKAR commuting and accessibility, Verband values mapped to member Gemeinden: observations of source `inkar`
CREATE TABLE IF NOT EXISTS stg_inkar__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- BA commuter counts with the derived shares, on the current territory: observations of source `ba_commuting`
CREATE TABLE IF NOT EXISTS stg_ba_commuting__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- coworking spaces per Gemeinde from OpenStreetMap (merged with the towns’ lists): observations of source `osm_coworking`
CREATE TABLE IF NOT EXISTS stg_osm_coworking__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- coworking spaces per supplying town from the towns’ own lists (no OSM): observations of source `local_inputs`
CREATE TABLE IF NOT EXISTS stg_local_inputs__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- population and area restated onto the current territory (population_current_territory, area_current_territory)
CREATE TABLE IF NOT EXISTS int_current_territory__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- Monte Carlo rank and score bands per town and index period, for the towns ranked in the published configuration only (joined into readiness_index at publish)
CREATE TABLE IF NOT EXISTS index_bands (
    ags VARCHAR NOT NULL,
    period INTEGER NOT NULL,
    method_version VARCHAR NOT NULL,
    rank_median DOUBLE,              -- Monte Carlo over method choices (index_uncertainty): median rank
    rank_p05 DOUBLE,                 -- 5th percentile of the rank (the better end of the band)
    rank_p95 DOUBLE,                 -- 95th percentile of the rank (the worse end)
    score_median DOUBLE,
    score_p05 DOUBLE,
    score_p95 DOUBLE
);

-- main destinations and origins per Gemeinde (Pendleratlas)
CREATE TABLE IF NOT EXISTS commuter_flows_gemeinde (
    ags VARCHAR NOT NULL,         -- the Gemeinde whose list this is (8-digit AGS from the 12-digit ARS)
    direction VARCHAR NOT NULL,   -- out: ags -> partner (Auspendler); in: partner -> ags (Einpendler)
    rank INTEGER NOT NULL,        -- 1..10, 1 = largest flow
    partner_ags VARCHAR NOT NULL, -- destination (out) or origin (in), 8-digit AGS
    commuters DOUBLE,             -- employed persons (Erwerbstätige); NULL for a publisher marker
    distance_km DOUBLE,           -- as published (AUSP_km / EIP_km)
    reference_date DATE NOT NULL, -- 30.06. of the data year
    note VARCHAR,                 -- the publisher's marker where a value is not a number
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL
);

-- the towns' own survey results
CREATE TABLE IF NOT EXISTS local_survey_results (
    ags VARCHAR NOT NULL,             -- Gemeinde the result is about
    question_code VARCHAR NOT NULL,
    question VARCHAR,
    answer VARCHAR NOT NULL,
    share DOUBLE NOT NULL,            -- % of respondents, 0..100
    multiple_choice BOOLEAN NOT NULL,
    respondents INTEGER NOT NULL,
    fieldwork_from DATE NOT NULL,
    fieldwork_to DATE NOT NULL,
    conducted_by VARCHAR NOT NULL,
    supplier VARCHAR NOT NULL,        -- who supplied the file
    licence VARCHAR NOT NULL,
    supplying_ags VARCHAR NOT NULL,   -- the town whose file it is (from the file name)
    file VARCHAR NOT NULL,
    row INTEGER NOT NULL,
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL          -- delivery date
);

-- long-distance commuters and coworking within reach
CREATE TABLE IF NOT EXISTS coworking_gap (
    ags VARCHAR NOT NULL,
    period INTEGER NOT NULL,
    long_distance_share DOUBLE,                  -- INKAR x354: % of employees at residence commuting >= 50 km
    long_distance_share_year INTEGER,            -- its data year (latest at or before the period, at most carry_forward_years older)
    employed_at_residence DOUBLE,                -- Pendleratlas AUSP + IOP, else BA employees at residence
    long_distance_out_commuters_flows DOUBLE,    -- Pendleratlas out-flows >= long_distance_km (top 10: lower bound)
    long_distance_flows_year INTEGER,            -- the data year of those flows (latest at or before the period, at most carry_forward_years older)
    long_distance_out_commuters_estimate DOUBLE, -- share x employed at residence
    long_distance_out_commuters DOUBLE,          -- flows where available, else the estimate
    basis VARCHAR,                               -- pendleratlas_flows | inkar_estimate; NULL when neither exists
    nearest_space_km DOUBLE,                     -- from the Gemeinde boundary; NULL without coworking data
    spaces_within_reach DOUBLE,                  -- spaces within reach_km of the boundary
    coworking_source_id VARCHAR,                 -- the coworking batch both figures come from (an OSM query or a town's delivery)
    coworking_vintage VARCHAR,                   -- that batch's release (its date; a corrected delivery '2023-11-20-rev2')
    coworking_reference_date DATE,               -- that batch's date (the places open on it are counted)
    territorial_change VARCHAR,                  -- the change that left figures out: NULL or implausible_step | partial_transfer | split
    desk_demand DOUBLE,                          -- long-distance out-commuters x the catalogue's factors
    remote_capable_share DOUBLE,
    remote_days_per_week DOUBLE,
    coworking_share_of_remote_days DOUBLE,
    method_version VARCHAR NOT NULL
);

-- every landed publisher file with its provenance (published as source_releases)
CREATE TABLE IF NOT EXISTS releases (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,       -- the publisher's vintage
    revision INTEGER NOT NULL,      -- 1, or n for the n-th different content of this vintage (data vintage '<vintage>-rev<n>')
    file VARCHAR NOT NULL,
    role VARCHAR NOT NULL,
    layout VARCHAR,
    sha256 VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    landed_path VARCHAR NOT NULL,
    ingested_at TIMESTAMP NOT NULL, -- UTC, when this content was first landed
    publisher VARCHAR NOT NULL,
    licence VARCHAR NOT NULL,
    licence_url VARCHAR,
    attribution VARCHAR NOT NULL,
    generation VARCHAR,             -- publisher method generation (sources.yaml)
    mode VARCHAR NOT NULL,          -- snapshot | directory | live
    origin VARCHAR                  -- source directory, or the URL it was downloaded from
);

-- observations of source `breitbandatlas` (declared by its `stage:` in sources.yaml)
CREATE TABLE IF NOT EXISTS stg_breitbandatlas__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- observations of source `gigabit_grundbuch` (declared by its `stage:` in sources.yaml)
CREATE TABLE IF NOT EXISTS stg_gigabit_grundbuch__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- observations of source `mobilfunk_monitoring` (declared by its `stage:` in sources.yaml)
CREATE TABLE IF NOT EXISTS stg_mobilfunk_monitoring__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- observations of source `pendleratlas` (declared by its `stage:` in sources.yaml)
CREATE TABLE IF NOT EXISTS stg_pendleratlas__observations (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,     -- source release; a publisher revision is a new vintage ('2023-rev2')
    ags VARCHAR NOT NULL,         -- Gemeinde (8), Kreis (5), Land (2), 'DG' Germany; Gemeindeverband (8)
    level VARCHAR NOT NULL,
    reference_date DATE NOT NULL,
    measure VARCHAR NOT NULL,
    value DOUBLE,                 -- NULL: suppressed or missing at the publisher; note says why
    unit VARCHAR NOT NULL,
    note VARCHAR,
    territorial_change VARCHAR,   -- NULL or a code of indicators/flags.py: recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | split | earlier_territory | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    published_ags VARCHAR,        -- the publisher's key when the crosswalk moved the value to today's key
    source_level VARCHAR          -- gemeinde | gemeindeverband (gemeindeverband: a Verband's value passed to its members); NULL above Gemeinde level
);

-- tidy source figures: one table per writer
CREATE OR REPLACE VIEW observations AS
SELECT * FROM stg_destatis_gemeindeverzeichnis__observations
UNION ALL BY NAME
SELECT * FROM stg_regionalstatistik__observations
UNION ALL BY NAME
SELECT * FROM stg_inkar__observations
UNION ALL BY NAME
SELECT * FROM stg_ba_commuting__observations
UNION ALL BY NAME
SELECT * FROM stg_osm_coworking__observations
UNION ALL BY NAME
SELECT * FROM stg_local_inputs__observations
UNION ALL BY NAME
SELECT * FROM int_current_territory__observations
UNION ALL BY NAME
SELECT * FROM stg_breitbandatlas__observations
UNION ALL BY NAME
SELECT * FROM stg_gigabit_grundbuch__observations
UNION ALL BY NAME
SELECT * FROM stg_mobilfunk_monitoring__observations
UNION ALL BY NAME
SELECT * FROM stg_pendleratlas__observations;
