let m001Foundation = Migration(version: 1, name: "foundation", sql: """
    CREATE SCHEMA catalog;
    CREATE SCHEMA ingest;
    CREATE SCHEMA engine;
    CREATE SCHEMA alerting;
    CREATE SCHEMA reporting;

    -- catalog: loaded by `dx catalog load`, read by every service.
    CREATE TABLE catalog.units (
        code          text PRIMARY KEY,
        parent        text,
        level         text NOT NULL CHECK (level IN ('country', 'province', 'district', 'commune')),
        tree          text NOT NULL CHECK (tree IN ('current', 'pre2025')),
        name          text NOT NULL,
        ascii         text NOT NULL,
        official_code text NOT NULL,
        valid_from    date,
        valid_to      date,
        province      text,
        depth         int NOT NULL
    );
    CREATE INDEX units_parent ON catalog.units (parent);
    CREATE INDEX units_ascii ON catalog.units (ascii text_pattern_ops);

    CREATE TABLE catalog.successions (
        old_code text NOT NULL,
        new_code text NOT NULL,
        kind     text NOT NULL CHECK (kind IN ('whole', 'split')),
        PRIMARY KEY (old_code, new_code)
    );

    CREATE TABLE catalog.data_elements (
        code        text PRIMARY KEY,
        name_vi     text NOT NULL,
        name_en     text NOT NULL,
        period_type text NOT NULL CHECK (period_type IN ('year', 'quarter', 'month')),
        aggregation text NOT NULL CHECK (aggregation IN ('sum', 'last')),
        value_type  text NOT NULL CHECK (value_type IN ('count', 'percent')),
        weight      text
    );

    CREATE TABLE catalog.indicators (
        code        text PRIMARY KEY,
        name_vi     text NOT NULL,
        name_en     text NOT NULL,
        pillar      text NOT NULL,
        kind        text NOT NULL CHECK (kind IN ('ratio', 'rate')),
        numerator   text,
        denominator text,
        factor      numeric,
        element     text,
        direction   text NOT NULL,
        unit        text
    );

    CREATE TABLE catalog.targets (
        indicator  text NOT NULL,
        year       int NOT NULL,
        value      numeric NOT NULL,
        comparison text NOT NULL,
        source     text NOT NULL,
        note       text,
        PRIMARY KEY (indicator, year)
    );

    CREATE TABLE catalog.loads (
        id        bigserial PRIMARY KEY,
        loaded_at timestamptz NOT NULL DEFAULT now(),
        checksum  text NOT NULL,
        summary   text NOT NULL
    );

    -- ingest: dx-ingest's reports, events, tokens and outbox.
    CREATE TABLE ingest.tokens (
        id            uuid PRIMARY KEY,
        name          text NOT NULL,
        unit          text NOT NULL,
        secret_sha256 bytea NOT NULL UNIQUE,
        created_at    timestamptz NOT NULL DEFAULT now(),
        revoked_at    timestamptz,
        last_used_at  timestamptz
    );

    CREATE SEQUENCE ingest.acceptance_sequence;

    CREATE TABLE ingest.reports (
        report_id   text PRIMARY KEY,
        unit        text NOT NULL,
        revision    int NOT NULL,
        sequence    bigint NOT NULL,
        received_at timestamptz NOT NULL DEFAULT now(),
        updated_at  timestamptz NOT NULL DEFAULT now()
    );

    CREATE TABLE ingest.report_revisions (
        report_id         text NOT NULL,
        revision          int NOT NULL,
        sequence          bigint NOT NULL UNIQUE,
        accepted_at       timestamptz NOT NULL DEFAULT now(),
        token_id          uuid,
        content_sha256    bytea NOT NULL,
        observation_count int NOT NULL,
        message_ids       uuid[] NOT NULL,
        response          text NOT NULL,
        PRIMARY KEY (report_id, revision)
    );

    -- The values of each report's current revision.
    CREATE TABLE ingest.report_values (
        report_id text NOT NULL,
        unit      text NOT NULL,
        period    text NOT NULL,
        element   text NOT NULL,
        value     numeric NOT NULL,
        PRIMARY KEY (report_id, unit, period, element)
    );

    CREATE TABLE ingest.events (
        event_id    text PRIMARY KEY,
        kind        text NOT NULL,
        unit        text NOT NULL,
        occurred_at timestamptz NOT NULL,
        period      text NOT NULL,
        elements    text[] NOT NULL,
        accepted_at timestamptz NOT NULL DEFAULT now(),
        sequence    bigint NOT NULL,
        token_id    uuid,
        message_id  uuid NOT NULL
    );
    CREATE INDEX events_unit_period ON ingest.events (unit, period);

    \(outboxAndConsumerTables(schema: "ingest"))

    -- engine: dx-indicators' state: a row per cell (unit, period, data element) with what the
    -- reports said of it, and a row per indicator value. Rows are updated in place as figures
    -- change (fillfactor leaves room for HOT updates).
    CREATE TABLE engine.cells (
        unit              text NOT NULL,
        period            text NOT NULL,
        element           text NOT NULL,
        province          text NOT NULL,
        value             numeric,
        completeness      numeric NOT NULL,
        children_reported int NOT NULL,
        children_expected int NOT NULL,
        delta_sum         numeric NOT NULL DEFAULT 0,
        delta_count       int NOT NULL DEFAULT 0,
        -- [[report id, revision, sequence, value or null], ...]: each report's highest revision;
        -- null is a withdrawal. Empty for cells nobody reports directly.
        reports           jsonb,
        updated_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (unit, period, element)
    ) WITH (fillfactor = 80);
    CREATE INDEX cells_province ON engine.cells (province);

    CREATE TABLE engine.indicator_values (
        unit         text NOT NULL,
        period       text NOT NULL,
        indicator    text NOT NULL,
        province     text NOT NULL,
        period_type  text NOT NULL,
        period_end   date NOT NULL,
        value        numeric NOT NULL,
        numerator    numeric,
        denominator  numeric,
        completeness numeric NOT NULL,
        target       numeric,
        target_year  int,
        gap          numeric,
        meets_target boolean,
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (unit, period, indicator)
    ) WITH (fillfactor = 80);
    CREATE INDEX indicator_values_province ON engine.indicator_values (province);

    \(outboxAndConsumerTables(schema: "engine"))

    -- alerting: dx-alerts' alerts and their transitions.
    CREATE TABLE alerting.alerts (
        fingerprint text PRIMARY KEY,
        rule        text NOT NULL,
        severity    text NOT NULL,
        unit        text NOT NULL,
        indicator   text NOT NULL,
        period      text NOT NULL,
        status      text NOT NULL,
        value       numeric,
        target      numeric,
        starts_at   timestamptz NOT NULL,
        ends_at     timestamptz,
        summary_vi  text NOT NULL,
        summary_en  text NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now()
    );
    CREATE INDEX alerts_status ON alerting.alerts (status);

    CREATE TABLE alerting.transitions (
        id          bigserial PRIMARY KEY,
        fingerprint text NOT NULL,
        status      text NOT NULL,
        at          timestamptz NOT NULL DEFAULT now(),
        value       numeric,
        message_id  uuid NOT NULL UNIQUE
    );
    CREATE INDEX transitions_fingerprint ON alerting.transitions (fingerprint);

    \(outboxAndConsumerTables(schema: "alerting"))

    -- reporting: what people and dashboards query.
    CREATE VIEW reporting.cell_values AS
    SELECT c.unit AS unit_code, u.name AS unit_name, u.level, c.province, c.period,
           CASE WHEN c.period LIKE '%-Q%' THEN 'quarter' WHEN c.period LIKE '%-%' THEN 'month' ELSE 'year' END AS period_type,
           c.element AS element_code, e.name_vi AS element_name_vi, c.value, c.completeness,
           c.children_reported, c.children_expected, c.updated_at
    FROM engine.cells c
    JOIN catalog.units u ON u.code = c.unit
    JOIN catalog.data_elements e ON e.code = c.element
    WHERE c.value IS NOT NULL;

    CREATE VIEW reporting.indicator_values AS
    SELECT v.unit AS unit_code, u.name AS unit_name, u.level, u.tree, v.period, v.period_type, v.period_end,
           v.indicator AS indicator_code, i.name_vi AS indicator_name_vi, i.name_en AS indicator_name_en, i.pillar,
           round(v.value, 2) AS value, v.numerator, v.denominator, v.target, v.target_year,
           round(v.gap, 2) AS gap, v.meets_target, round(v.completeness * 100, 1) AS completeness_percent,
           v.value AS exact_value, v.updated_at
    FROM engine.indicator_values v
    JOIN catalog.units u ON u.code = v.unit
    JOIN catalog.indicators i ON i.code = v.indicator;

    -- For each unit and indicator, the most recent period (the year when a year, its last
    -- quarter and its last month end on the same day).
    CREATE VIEW reporting.latest_indicator_values AS
    SELECT DISTINCT ON (unit_code, indicator_code) *
    FROM reporting.indicator_values
    ORDER BY unit_code, indicator_code, period_end DESC,
             CASE period_type WHEN 'year' THEN 0 WHEN 'quarter' THEN 1 ELSE 2 END;

    CREATE VIEW reporting.open_alerts AS
    SELECT a.fingerprint, a.status, a.rule, a.severity, a.unit AS unit_code, u.name AS unit_name, u.level,
           a.indicator AS indicator_code, i.name_vi AS indicator_name_vi, a.period, round(a.value, 2) AS value,
           a.target, a.starts_at, a.summary_vi, a.summary_en
    FROM alerting.alerts a
    JOIN catalog.units u ON u.code = a.unit
    LEFT JOIN catalog.indicators i ON i.code = a.indicator
    WHERE a.status IN ('firing', 'acknowledged');
    """)
