-- GENERATED from warehouse/tables.yaml by `python -m warehouse.docs`: edit the registry, not this file.
--
-- Published warehouse (warehouse/readiness.duckdb): the tables and views planners query.
-- Built by warehouse.publish.build_candidate() into a candidate file from the working database and the
-- previous published file (history), validated by blocking checks, then renamed over the
-- published file. Column meanings: docs/data-dictionary.md; example queries: docs/planner-guide.md.
--
-- History: *_history tables keep every version of a row. valid_from is the publish that first
-- showed it, valid_to the publish that replaced it (NULL: current). The views without the
-- suffix show the current rows; the *_as_of(timestamp) macros show the warehouse as it was.

-- every publish
CREATE TABLE publish_log (
    published_at TIMESTAMP PRIMARY KEY, -- UTC; valid_from/valid_to of history rows are these
    run_id VARCHAR,                     -- Dagster run id
    mode VARCHAR NOT NULL,              -- snapshot | directory | live
    method_version VARCHAR NOT NULL,    -- index method of this publish (the current one)
    changes VARCHAR NOT NULL            -- JSON: changed sources, rows gained per table
);

-- provenance of every publisher file (versioned)
-- unique (source_id, vintage, revision, file, valid_from), checked at each publish; no primary key (its index would grow with the history)
CREATE TABLE source_releases_history (
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,       -- the publisher's vintage
    revision INTEGER NOT NULL,      -- 1, or n: n-th different content of this vintage (data vintage '<vintage>-rev<n>')
    file VARCHAR NOT NULL,          -- publisher's file name, relative to the source directory
    sha256 VARCHAR NOT NULL,
    size_bytes BIGINT NOT NULL,
    ingested_at TIMESTAMP NOT NULL, -- UTC, first landing of this content
    publisher VARCHAR NOT NULL,
    licence VARCHAR NOT NULL,
    licence_url VARCHAR,
    attribution VARCHAR NOT NULL,
    generation VARCHAR,             -- publisher method generation; a change is a method break
    mode VARCHAR NOT NULL,          -- snapshot | directory | live
    origin VARCHAR,                 -- download URL (live) or source directory
    valid_from TIMESTAMP NOT NULL,
    valid_to TIMESTAMP
);

-- the Gemeinden in the warehouse
CREATE TABLE municipalities (
    ags VARCHAR PRIMARY KEY,             -- 8-digit Amtlicher Gemeindeschlüssel
    name VARCHAR NOT NULL,
    kreis_ags VARCHAR NOT NULL,
    kreis_name VARCHAR,
    land VARCHAR NOT NULL,
    kind VARCHAR,                        -- Stadt, Gemeinde, Markt, Kreisfreie Stadt, ...
    is_pilot BOOLEAN NOT NULL,
    in_reference_group BOOLEAN NOT NULL,
    central_place VARCHAR,               -- INKAR: oberzentrum | mittelzentrum | grundzentrum | none (NULL unknown)
    central_place_basis VARCHAR,         -- inkar (own row) | predecessor (carried through a merger/recode)
    town_type SMALLINT,                  -- BBSR Stadt- und Gemeindetyp per Gemeinde: 11,12,21,22,30,40,50
    area_km2 DOUBLE,
    population BIGINT,
    population_date DATE,
    territorial_date DATE,               -- Gebietsstand of the register this row comes from
    lon DOUBLE,                          -- geographic centre (Destatis), WGS84
    lat DOUBLE
);

-- tidy source figures
CREATE TABLE observations (
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

-- indicator definitions as a table
CREATE TABLE indicator_catalogue (
    indicator_id VARCHAR PRIMARY KEY,
    label VARCHAR NOT NULL,
    pillar VARCHAR NOT NULL,
    unit VARCHAR NOT NULL,
    direction VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,           -- source ids in priority order, comma-separated
    method VARCHAR NOT NULL,
    goalpost_low DOUBLE NOT NULL,
    goalpost_high DOUBLE NOT NULL,
    weight DOUBLE NOT NULL,
    carry_forward_years INTEGER NOT NULL,
    definition VARCHAR NOT NULL,
    method_version VARCHAR NOT NULL
);

-- indicator values per Gemeinde and year (versioned)
-- unique (ags, indicator_id, period, valid_from), checked at each publish; no primary key (its index would grow with the history)
CREATE TABLE indicator_values_history (
    ags VARCHAR NOT NULL,
    indicator_id VARCHAR NOT NULL,
    period INTEGER NOT NULL,       -- calendar year
    value DOUBLE NOT NULL,
    unit VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,      -- source release; a publisher revision is a new vintage ('2023-rev2')
    reference_date DATE NOT NULL,  -- date of the underlying observation
    imputed BOOLEAN NOT NULL,
    imputation VARCHAR,            -- how it was imputed, e.g. 'carried forward from 2019'
    quality_note VARCHAR,          -- English text rendered from the typed columns (indicators/flags.py)
    territorial_change VARCHAR,    -- NULL or recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | uninhabited_gain | split | earlier_territory | earlier_territory_weighted | earlier_territory_internal_commuting | area_change | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    method_break BOOLEAN,          -- the publisher's method generation changed since the town's previous value
    source_level VARCHAR,          -- gemeinde | gemeindeverband | kreis: the level the publisher gave the value for
    excluded_reason VARCHAR,       -- NULL: the index may use it; else territorial_change | implausible_step | context_indicator | impossible_value | inconsistent_value | contradictory_values | implausible_fall | series_spike | no_inhabitants
    base_period INTEGER,           -- annualised changes: the base year
    valid_from TIMESTAMP NOT NULL,
    valid_to TIMESTAMP
);

-- the index (versioned)
-- unique (ags, period, method_version, valid_from), checked at each publish; no primary key (its index would grow with the history)
CREATE TABLE readiness_index_history (
    ags VARCHAR NOT NULL,
    period INTEGER NOT NULL,
    score DOUBLE,                        -- 0..100, NULL when a pillar is missing
    digital_infrastructure DOUBLE,       -- pillar score (required): Digitale Infrastruktur
    commuting_potential DOUBLE,          -- pillar score (required): Pendelpotenzial
    demographic_dynamics DOUBLE,         -- pillar score (required): Demografische Dynamik
    local_work_infrastructure DOUBLE,    -- pillar score (optional): Lokale Arbeitsinfrastruktur
    accessibility DOUBLE,                -- pillar score (required): Erreichbarkeit
    rank INTEGER,                        -- 1 = best among the reference group in that period
    rank_median DOUBLE,                  -- Monte Carlo over method choices (index_uncertainty): median rank
    rank_p05 DOUBLE,                     -- 5th percentile of the rank (the better end of the band)
    rank_p95 DOUBLE,                     -- 95th percentile of the rank (the worse end)
    score_median DOUBLE,
    score_p05 DOUBLE,
    score_p95 DOUBLE,
    compared_towns INTEGER,
    in_reference_group BOOLEAN NOT NULL,
    reference_group VARCHAR NOT NULL,    -- the group ranks compare with, rendered from reference_group_rule
    reference_group_rule VARCHAR,        -- bbsr_kleinstadt | size_band (catalogue reference_group.rule)
    imputed_share DOUBLE,                -- share of the town's indicator values that are imputed
    provisional BOOLEAN,                 -- less than half of the score weight rests on the period's own data (indicators/index.py)
    period_provisional BOOLEAN,          -- most scored reference-group rows of the period are provisional: the period is not published as "the latest"
    oldest_input_date DATE,              -- oldest reference date among the inputs of this row
    newest_input_date DATE,              -- newest reference date among the inputs of this row
    missing_pillars VARCHAR,             -- required pillars without data (then score is NULL)
    notes VARCHAR,                       -- English text rendered from omitted_pillars and uncompared_pillars (indicators/flags.py)
    omitted_pillars VARCHAR,             -- optional pillars left out for lack of data (comma-separated pillar ids)
    uncompared_pillars VARCHAR,          -- optional pillars the town has but its score leaves out (comma-separated pillar ids)
    method_version VARCHAR NOT NULL,
    valid_from TIMESTAMP NOT NULL,
    valid_to TIMESTAMP
);

-- boundaries
CREATE TABLE municipality_geometries (
    ags VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,
    territorial_date DATE NOT NULL,
    name VARCHAR,
    designation VARCHAR,
    geometry_area_km2 DOUBLE,
    last_change_date DATE,
    geometry_wkb BLOB NOT NULL,     -- WKB, EPSG:4326
    PRIMARY KEY (ags, vintage)
);

-- names of all Kreise
CREATE TABLE kreise (
    ags VARCHAR PRIMARY KEY,  -- 5-digit Kreis AGS
    name VARCHAR NOT NULL,
    designation VARCHAR,      -- Kreis, Landkreis, Kreisfreie Stadt, ...
    vintage VARCHAR NOT NULL, -- BKG VG release the name comes from
    territorial_date DATE     -- territorial status of that release (the newest wins, `sources.vintages.NEWEST_FIRST`)
);

-- commuters between Kreise
CREATE TABLE commuter_flows (
    home_kreis VARCHAR NOT NULL,  -- 5-digit Kreis of residence
    work_kreis VARCHAR NOT NULL,  -- 5-digit Kreis of the workplace
    reference_date DATE NOT NULL, -- 30.06. of the data year
    commuters DOUBLE,             -- employees subject to social insurance; NULL when suppressed
    listing VARCHAR NOT NULL,     -- complete: every partner Kreis; top_10: the 10 largest partners, counts under 10 shown as 10
    marker VARCHAR,               -- the publisher's marker of a missing count (* - .), NULL for a count
    note VARCHAR,                 -- English text rendered from listing and marker (sources/ba_commuting.py)
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL
);

-- coworking spaces from OpenStreetMap and the towns' own lists
CREATE TABLE coworking_spaces (
    osm_type VARCHAR NOT NULL,               -- node | way | relation | local
    osm_id BIGINT NOT NULL,
    name VARCHAR,
    lat DOUBLE NOT NULL,                     -- WGS84; ways and relations at their centre
    lon DOUBLE NOT NULL,
    kind VARCHAR NOT NULL,                   -- amenity=coworking_space and/or office=coworking
    website VARCHAR,
    operator VARCHAR,
    tags VARCHAR,                            -- all OSM tags as JSON
    osm_base_timestamp VARCHAR,              -- OSM data as of (Overpass osm3s.timestamp_osm_base)
    ags VARCHAR,                             -- Gemeinde it lies in (NULL outside Germany's Gemeinden)
    sources VARCHAR,                         -- osm_coworking | local_inputs | osm_coworking; local_inputs (merged)
    locally_reported BOOLEAN,                -- listed by a town in its own data (local_inputs)
    located_at_gemeinde BOOLEAN,             -- listed without coordinates: placed at its Gemeinde (approximate)
    address VARCHAR,                         -- as listed by the town, or from OSM addr:* tags
    listed_on DATE,                          -- the day the town delivered the list this row comes from (NULL for OpenStreetMap alone)
    local_kind VARCHAR,                      -- permanent | temporary | trial_day | third_place (town's list)
    desks INTEGER,
    opened DATE,
    closed DATE,
    reported_by VARCHAR,                     -- who reported the space to the town
    supplier VARCHAR,                        -- who supplied the list (provenance of the local values)
    licence VARCHAR,                         -- licence of the list
    local_file VARCHAR,                      -- file:row of the list entry
    vintage VARCHAR NOT NULL,                -- date of the Overpass query, or of the town's delivery without OSM
    PRIMARY KEY (osm_type, osm_id, vintage)
);

-- territorial crosswalk steps between Gemeindeverzeichnis vintages (official or inferred)
CREATE TABLE territorial_changes (
    from_vintage VARCHAR NOT NULL, -- Gemeindeverzeichnis vintage before the change
    to_vintage VARCHAR NOT NULL,   -- vintage after it
    from_date DATE NOT NULL,       -- territorial status (Gebietsstand) of the register before the change
    to_date DATE NOT NULL,         -- territorial status of the register after it (vintages are release ids such as 2024-Q4, not dates)
    from_ags VARCHAR NOT NULL,
    to_ags VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,         -- recode | merger | partial_transfer | split: recode and merger restated, partial_transfer and split flagged (a few inhabitants moved: minor_transfer on the observations, series comparable)
    evidence VARCHAR NOT NULL,     -- the Destatis change list entry, or the areas compared (inferred)
    basis VARCHAR NOT NULL,        -- how the step was found (staging/crosswalk.py BASIS): change_list is official, the others inferred; the code decides with this, evidence is its text
    effective_date DATE,           -- official steps: the statistical effective date of the change in the Destatis Gebietsänderungen (of a chain within one register transition, the first: when from_ags ceased); NULL for inferred steps, which the two registers bound (from_date, to_date)
    plausibility VARCHAR,          -- official | ok | unchecked | population_jump | too_far (too_far: rejected, not followed, flags the successor)
    population_before DOUBLE,      -- inferred steps: predecessors' (+ the successor's own) population in from_vintage
    population_after DOUBLE,       -- the successor's population in to_vintage
    yearly_change DOUBLE,          -- average yearly change between the two (%), tolerance ±5 %
    max_distance_km DOUBLE,        -- largest predecessor-to-successor centre distance (registers from 2009)
    moved_population DOUBLE,       -- official partial transfers: inhabitants moved (<= 50: minor_transfer, still comparable)
    moved_area_km2 DOUBLE,         -- official partial transfers and split parts: area moved (0 inhabitants: an uninhabited gain)
    moved_share DOUBLE             -- moved_population as % of the smaller Gemeinde's population before the change (<= 1 %: minor_transfer)
);

-- which Monte Carlo method choice moves the ranks most
CREATE TABLE index_sensitivity (
    choice VARCHAR NOT NULL,         -- normalisation | imputation | aggregation | pillar_weight:<p> | indicator_weight:<i>
    option VARCHAR NOT NULL,
    draws INTEGER NOT NULL,          -- Monte Carlo draws that used the option
    scored_share DOUBLE,             -- share of published (town, period) ranks still ranked under the option
    mean_abs_rank_shift DOUBLE,      -- mean |rank in draw - published rank|
    first_order DOUBLE,              -- share of rank variance explained by the choice (0..1)
    method_version VARCHAR NOT NULL
);

-- Spearman correlations between indicators, pillars and the score per period
CREATE TABLE index_coherence (
    period INTEGER NOT NULL,
    item_a VARCHAR NOT NULL,
    item_b VARCHAR NOT NULL,
    kind VARCHAR NOT NULL,           -- indicator_pillar | indicator_indicator | indicator_score | pillar_score
    spearman DOUBLE,                 -- rank correlation over the reference group; NULL below 3 pairs
    n INTEGER NOT NULL,
    method_version VARCHAR NOT NULL
);

-- a town's score change between periods decomposed into indicator contributions
CREATE TABLE score_contributions (
    ags VARCHAR NOT NULL,
    period_from INTEGER NOT NULL,
    period_to INTEGER NOT NULL,
    indicator_id VARCHAR NOT NULL,                                           -- or 'composition': indicators entering/leaving and reweighting
    pillar VARCHAR,
    value_from DOUBLE,
    value_to DOUBLE,
    normalised_from DOUBLE,
    normalised_to DOUBLE,
    contribution DOUBLE,                                                     -- score points; the rows of a pair sum to score_to - score_from
    score_from DOUBLE NOT NULL,
    score_to DOUBLE NOT NULL,
    weight_from DOUBLE,                                                      -- the indicator's effective weight in the score
    weight_to DOUBLE,
    method_version VARCHAR NOT NULL,
    PRIMARY KEY (ags, period_from, period_to, indicator_id, method_version)
);

-- the five structurally most similar towns of each reference-group town, with pillar gaps
CREATE TABLE peer_towns (
    ags VARCHAR NOT NULL,
    peer_ags VARCHAR NOT NULL,
    similarity DOUBLE NOT NULL,           -- 1 / (1 + distance of standardised structure features)
    rank INTEGER NOT NULL,                -- 1 = most similar
    population_date DATE,                 -- Stichtag of the town's population in its structure features (size, density, Kreis density)
    job_centrality_date DATE,             -- Stichtag of the town's commuter balance (INKAR) in its structure features
    period INTEGER,                       -- period of the scores and gaps
    score DOUBLE,
    peer_score DOUBLE,
    gap_score DOUBLE,                     -- peer minus town
    gap_digital_infrastructure DOUBLE,    -- peer minus town: Digitale Infrastruktur
    gap_commuting_potential DOUBLE,       -- peer minus town: Pendelpotenzial
    gap_demographic_dynamics DOUBLE,      -- peer minus town: Demografische Dynamik
    gap_local_work_infrastructure DOUBLE, -- peer minus town: Lokale Arbeitsinfrastruktur
    gap_accessibility DOUBLE,             -- peer minus town: Erreichbarkeit
    PRIMARY KEY (ags, peer_ags)
);

-- main destinations and origins per Gemeinde (Pendleratlas)
CREATE TABLE commuter_flows_gemeinde (
    ags VARCHAR NOT NULL,                                        -- the Gemeinde whose list this is (8-digit AGS from the 12-digit ARS)
    direction VARCHAR NOT NULL,                                  -- out: ags -> partner (Auspendler); in: partner -> ags (Einpendler)
    rank INTEGER NOT NULL,                                       -- 1..10, 1 = largest flow
    partner_ags VARCHAR NOT NULL,                                -- destination (out) or origin (in), 8-digit AGS
    commuters DOUBLE,                                            -- employed persons (Erwerbstätige); NULL for a publisher marker
    distance_km DOUBLE,                                          -- as published (AUSP_km / EIP_km)
    reference_date DATE NOT NULL,                                -- 30.06. of the data year
    note VARCHAR,                                                -- the publisher's marker where a value is not a number
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,
    PRIMARY KEY (ags, direction, rank, reference_date, vintage)
);

-- the towns' own survey results
CREATE TABLE local_survey_results (
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
CREATE TABLE coworking_gap (
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
    method_version VARCHAR NOT NULL,
    PRIMARY KEY (ags, period, method_version)
);

-- per Gemeinde of today each Kreis it lay in that today's register no longer has (Osterode am Harz, 03156, for Bad Lauterberg im Harz): a publisher may still list such a Kreis, and Kreis figures of a date when it was a Kreis of its own describe another territory than today's Kreis (the town pages say so)
CREATE TABLE former_kreise (
    ags VARCHAR NOT NULL,         -- Gemeinde of the newest register
    kreis_ags VARCHAR NOT NULL,   -- a Kreis of an older register vintage the Gemeinde's territory lay in (the first five digits of its key then), which the newest register no longer has
    kreis_name VARCHAR,           -- the Kreis's name in the last register vintage listing it ('Eisenach, Stadt')
    PRIMARY KEY (ags, kreis_ags)
);

-- per Gemeinde of today each part of its territory that came into its Kreis of today from another Kreis which today's register still has, by a step of the crosswalk (Kaltennordheim, Stadt, 16063102, in the Wartburgkreis until 2019, for Kaltennordheim, 16066095, in the Landkreis Schmalkalden-Meiningen): Kreis figures of a date before the move count the part in the other Kreis (the town pages say so)
CREATE TABLE kreis_moves (
    ags VARCHAR NOT NULL,         -- Gemeinde of the newest register
    part_ags VARCHAR NOT NULL,    -- the part's key in the last register listing it in the other Kreis (the step's from_ags)
    part_name VARCHAR,            -- the part's name in that register
    kind VARCHAR NOT NULL,        -- the step's kind (territorial_changes.kind); recode where the whole Gemeinde moved under a new key
    kreis_ags VARCHAR NOT NULL,   -- the Kreis the part lay in then (the first five digits of its key), a Kreis of today too
    kreis_name VARCHAR,           -- that Kreis's name in that register
    first_listed DATE,            -- territorial date of the first register listing a key of the Gemeinde's territory in that Kreis (the part lay there from then on, as far as the registers tell)
    last_listed DATE NOT NULL,    -- territorial date of the last register listing the part in that Kreis (the step's from_date)
    first_unlisted DATE NOT NULL, -- territorial date of the next register, in which it lies in today's Kreis (the step's to_date)
    moved_on DATE,                -- the day of the move where known (moved_on_basis), between the two registers; NULL otherwise
    moved_on_basis VARCHAR,       -- change_list | bkg_wsk: change_list is exact, bkg_wsk the move unless the Gemeinde changed again before the next register
    part_population DOUBLE,       -- the part's population in that register
    PRIMARY KEY (ags, part_ags)
);

-- per release of a publisher that keys its values by a territorial status of its own (INKAR, which names it in none of its files) the register its Gemeinde keys match and when that status lies: on or after `status_after`, before `status_before` (INKAR 2022-12: 31.12.2019 and 01.01.2020). The town pages judge INKAR's Kreis values on that day (staging/publisher_status.py)
CREATE TABLE publisher_territorial_status (
    source_id VARCHAR NOT NULL,        -- a source id of sources.yaml (inkar)
    vintage VARCHAR NOT NULL,          -- the release, as in observations (2022-12)
    register_vintage VARCHAR NOT NULL, -- the Gemeindeverzeichnis vintage whose Gemeinde keys the release's are mapped in (sources/inkar.py closest_register)
    basis VARCHAR NOT NULL,            -- own_list | latest_register_before_release
    keys_only_publisher INTEGER,       -- Gemeinde keys the publisher lists and that register does not (NULL without the publisher's list)
    keys_only_register INTEGER,        -- Gemeinde keys of that register the publisher does not list (NULL without its list)
    status_after DATE,                 -- the latest territorial change into that register the publisher's Gemeinde keys show (its new key listed, none of its old ones), dated by the BKG's WSK of the Gemeinde it made: its status lies on or after it; NULL where nothing tells. An estimate: a WSK is a Gemeinde's last change (one after the register's date is left out)
    status_before DATE,                -- the earliest such change its keys do not show yet (an old key still listed, or a new key not listed): its status lies before it; NULL where nothing tells (then before the release)
    PRIMARY KEY (source_id, vintage)
);

-- each town's latest value of each indicator (current rows), filled once per publish by warehouse/views.sql in AGS order, so that `town_profile` reads a few rows per town (docs/performance-log.md)
CREATE TABLE indicator_values_latest (
    ags VARCHAR NOT NULL,
    indicator_id VARCHAR NOT NULL,
    period INTEGER NOT NULL,             -- calendar year
    value DOUBLE NOT NULL,
    unit VARCHAR NOT NULL,
    source_id VARCHAR NOT NULL,
    vintage VARCHAR NOT NULL,            -- source release; a publisher revision is a new vintage ('2023-rev2')
    reference_date DATE NOT NULL,        -- date of the underlying observation
    imputed BOOLEAN NOT NULL,
    imputation VARCHAR,                  -- how it was imputed, e.g. 'carried forward from 2019'
    quality_note VARCHAR,                -- English text rendered from the typed columns (indicators/flags.py)
    territorial_change VARCHAR,          -- NULL or recode | merger | merger_weighted | merger_internal_commuting | partial_transfer | minor_transfer | uninhabited_gain | split | earlier_territory | earlier_territory_weighted | earlier_territory_internal_commuting | area_change | implausible_step | publisher_restated | publisher_restated_commuting | verband_restated
    method_break BOOLEAN,                -- the publisher's method generation changed since the town's previous value
    source_level VARCHAR,                -- gemeinde | gemeindeverband | kreis: the level the publisher gave the value for
    excluded_reason VARCHAR,             -- NULL: the index may use it; else territorial_change | implausible_step | context_indicator | impossible_value | inconsistent_value | contradictory_values | implausible_fall | series_spike | no_inhabitants
    base_period INTEGER,                 -- annualised changes: the base year
    period_provisional BOOLEAN,          -- the value's period is provisional in the index (readiness_index.period_provisional); NULL without an index period
    ranking_period INTEGER,              -- the period latest_ranking and the town pages lead with (view published_period)
    in_published_score BOOLEAN NOT NULL, -- the published score rests on the value (the ranking_period's input of the indicator in the view score_inputs is this value, also where this row carries it into a later year)
    PRIMARY KEY (ags, indicator_id)
);

-- per town, period, pillar and source the reference dates the index row rests on and how many inputs are carried forward; filled once per publish by warehouse/views.sql, read by the view `index_data_dates`
CREATE TABLE index_data_dates_by_town (
    ags VARCHAR NOT NULL,
    period INTEGER NOT NULL,                      -- calendar year of the index row
    pillar VARCHAR NOT NULL,                      -- pillar of the indicators (catalogue)
    source_id VARCHAR NOT NULL,                   -- source of the values (sources.yaml)
    oldest_reference_date DATE,                   -- oldest reference date of these inputs
    newest_reference_date DATE,                   -- newest reference date of these inputs
    inputs BIGINT NOT NULL,                       -- number of indicator values
    carried_forward BIGINT NOT NULL,              -- of which carried forward from an earlier period
    PRIMARY KEY (ags, period, pillar, source_id)
);
