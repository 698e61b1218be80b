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

    -- engine: dx-indicators' state. One row per unit, element and year holds the 17 periods of the
    -- year (slots 1–12 the months, 13–16 the quarters, 17 the year) and the report values that
    -- feed them: a monthly report updates rows in place instead of adding rows for every
    -- period it changes. reporting.cell_values and reporting.indicator_values unnest them.
    CREATE TABLE engine.cell_years (
        unit              text NOT NULL,
        element           text NOT NULL,
        year              int NOT NULL,
        province          text NOT NULL,
        value             numeric[] NOT NULL,
        completeness      numeric[] NOT NULL,
        children_reported int[] NOT NULL,
        children_expected int[] NOT NULL,
        delta_sum         numeric[] NOT NULL,
        delta_count       int[] NOT NULL,
        -- {"slot": [[report id, revision, sequence, value or null], ...]}: each report's highest
        -- revision for that period; null is a withdrawal.
        reports           jsonb NOT NULL,
        updated_at        timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (unit, element, year)
    ) WITH (fillfactor = 70);
    CREATE INDEX cell_years_province ON engine.cell_years (province);

    CREATE TABLE engine.indicator_years (
        unit         text NOT NULL,
        indicator    text NOT NULL,
        year         int NOT NULL,
        province     text NOT NULL,
        value        numeric[] NOT NULL,
        numerator    numeric[] NOT NULL,
        denominator  numeric[] NOT NULL,
        completeness numeric[] NOT NULL,
        target       numeric,
        target_year  int,
        gap          numeric[] NOT NULL,
        meets_target boolean[] NOT NULL,
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (unit, indicator, year)
    ) WITH (fillfactor = 70);
    CREATE INDEX indicator_years_province ON engine.indicator_years (province);

    -- Slot numbers to periods: 1–12 → 2025-01…2025-12, 13–16 → 2025-Q1…Q4, 17 → 2025.
    CREATE FUNCTION engine.slot_period(year int, slot int) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN slot <= 12 THEN year || '-' || lpad(slot::text, 2, '0')
                    WHEN slot <= 16 THEN year || '-Q' || (slot - 12)
                    ELSE year::text END
    $$;
    CREATE FUNCTION engine.slot_type(slot int) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT CASE WHEN slot <= 12 THEN 'month' WHEN slot <= 16 THEN 'quarter' ELSE 'year' END
    $$;
    CREATE FUNCTION engine.slot_end(year int, slot int) RETURNS date
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
        SELECT (make_date(year, CASE WHEN slot <= 12 THEN slot WHEN slot <= 16 THEN (slot - 12) * 3 ELSE 12 END, 1)
                + interval '1 month' - interval '1 day')::date
    $$;

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
    SELECT c.unit AS unit_code, u.name AS unit_name, u.level, c.province, engine.slot_period(c.year, s) AS period,
           engine.slot_type(s) AS period_type, engine.slot_end(c.year, s) AS period_end, c.element AS element_code,
           e.name_vi AS element_name_vi, c.value[s] AS value, c.completeness[s] AS completeness,
           c.children_reported[s] AS children_reported, c.children_expected[s] AS children_expected, c.updated_at
    FROM engine.cell_years c
    CROSS JOIN generate_series(1, 17) AS s
    JOIN catalog.units u ON u.code = c.unit
    JOIN catalog.data_elements e ON e.code = c.element
    WHERE c.value[s] IS NOT NULL;

    CREATE VIEW reporting.indicator_values AS
    SELECT v.unit AS unit_code, u.name AS unit_name, u.level, u.tree, engine.slot_period(v.year, s) AS period,
           engine.slot_type(s) AS period_type, engine.slot_end(v.year, s) AS period_end,
           v.indicator AS indicator_code, i.name_vi AS indicator_name_vi, i.name_en AS indicator_name_en, i.pillar,
           round(v.value[s], 2) AS value, v.numerator[s] AS numerator, v.denominator[s] AS denominator,
           v.target, v.target_year, round(v.gap[s], 2) AS gap, v.meets_target[s] AS meets_target,
           round(v.completeness[s] * 100, 1) AS completeness_percent, v.value[s] AS exact_value, v.updated_at
    FROM engine.indicator_years v
    CROSS JOIN generate_series(1, 17) AS s
    JOIN catalog.units u ON u.code = v.unit
    JOIN catalog.indicators i ON i.code = v.indicator
    WHERE v.value[s] IS NOT NULL;

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
