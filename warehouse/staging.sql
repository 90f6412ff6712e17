-- Working database (warehouse/readiness.work.duckdb): staging tables written by the pipeline.
-- Tables not declared here are created from the first frame written to them.

CREATE TABLE IF NOT EXISTS releases (
    source_id    VARCHAR NOT NULL,
    vintage      VARCHAR NOT NULL,  -- the publisher's vintage
    revision     INTEGER NOT NULL,  -- 1, or n for the n-th different content of this vintage (data vintage '<vintage>-rev<n>')
    file         VARCHAR NOT NULL,
    role         VARCHAR NOT NULL,
    layout       VARCHAR,
    sha256       VARCHAR NOT NULL,
    size_bytes   BIGINT NOT NULL,
    landed_path  VARCHAR NOT NULL,
    ingested_at  TIMESTAMP NOT NULL,  -- UTC, when this content was first landed
    publisher    VARCHAR NOT NULL,
    licence      VARCHAR NOT NULL,
    licence_url  VARCHAR,
    attribution  VARCHAR NOT NULL,
    generation   VARCHAR,           -- publisher method generation (sources.yaml)
    mode         VARCHAR NOT NULL,  -- snapshot | directory | live
    origin       VARCHAR            -- source directory, or the URL it was downloaded from
);

CREATE TABLE IF NOT EXISTS observations (
    source_id       VARCHAR NOT NULL,
    vintage         VARCHAR NOT NULL,
    ags             VARCHAR NOT NULL,
    level           VARCHAR NOT NULL,
    reference_date  DATE NOT NULL,
    measure         VARCHAR NOT NULL,
    value           DOUBLE,            -- NULL: the publisher suppressed or lacks the figure (note says why)
    unit            VARCHAR NOT NULL,
    note            VARCHAR,
    territorial_change VARCHAR,        -- typed flags of the territorial crosswalk (indicators/flags.py)
    published_ags   VARCHAR,
    source_level    VARCHAR
);

CREATE TABLE IF NOT EXISTS commuter_flows_gemeinde (
    ags             VARCHAR NOT NULL,
    direction       VARCHAR NOT NULL,
    rank            INTEGER NOT NULL,
    partner_ags     VARCHAR NOT NULL,
    commuters       DOUBLE,
    distance_km     DOUBLE,
    reference_date  DATE NOT NULL,
    note            VARCHAR,
    source_id       VARCHAR NOT NULL,
    vintage         VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS local_survey_results (
    ags             VARCHAR NOT NULL,
    question_code   VARCHAR NOT NULL,
    question        VARCHAR,
    answer          VARCHAR NOT NULL,
    share           DOUBLE NOT NULL,
    respondents     INTEGER NOT NULL,
    fieldwork_from  DATE NOT NULL,
    fieldwork_to    DATE NOT NULL,
    conducted_by    VARCHAR NOT NULL,
    supplier        VARCHAR NOT NULL,
    licence         VARCHAR NOT NULL,
    supplying_ags   VARCHAR NOT NULL,
    file            VARCHAR NOT NULL,
    row             INTEGER NOT NULL,
    source_id       VARCHAR NOT NULL,
    vintage         VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS coworking_gap (
    ags                                   VARCHAR NOT NULL,
    period                                INTEGER NOT NULL,
    long_distance_share                   DOUBLE,
    long_distance_share_year              INTEGER,
    employed_at_residence                 DOUBLE,
    long_distance_out_commuters_flows     DOUBLE,
    long_distance_out_commuters_estimate  DOUBLE,
    long_distance_out_commuters           DOUBLE,
    basis                                 VARCHAR,
    nearest_space_km                      DOUBLE,
    spaces_within_reach                   DOUBLE,
    coworking_data                        VARCHAR,
    desk_demand                           DOUBLE,
    remote_capable_share                  DOUBLE,
    remote_days_per_week                  DOUBLE,
    coworking_share_of_remote_days        DOUBLE,
    method_version                        VARCHAR NOT NULL
);
