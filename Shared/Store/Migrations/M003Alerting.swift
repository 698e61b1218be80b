/// Alerting (issue 6): rules as data, the history dx-alerts judges trends against, operator
/// acknowledgements and silences, webhook notifications and their deliveries.
let m003Alerting = Migration(version: 3, name: "alerting", sql: """
    -- catalog: the rules of catalog/alert-rules.json, loaded by `dx catalog load`.
    CREATE TABLE catalog.alert_rules (
        code       text PRIMARY KEY,
        kind       text NOT NULL CHECK (kind IN ('below_target', 'off_track', 'regression', 'data_quality', 'missing_report')),
        position   int NOT NULL,
        definition jsonb NOT NULL
    );

    -- The alert's full state, so every transition can be published from the row alone.
    ALTER TABLE alerting.alerts
        ADD COLUMN rule_kind           text,
        ADD COLUMN province            text,
        ADD COLUMN target_year         int,
        ADD COLUMN acknowledged_by     text,
        ADD COLUMN acknowledged_at     timestamptz,
        ADD COLUMN acknowledged_until  timestamptz,
        ADD COLUMN acknowledge_comment text,
        ADD COLUMN silence_id          bigint;
    CREATE INDEX alerts_open ON alerting.alerts (rule, unit) WHERE status <> 'resolved';

    ALTER TABLE alerting.transitions
        ADD COLUMN previous_status text,
        ADD COLUMN delivered       boolean NOT NULL DEFAULT true;

    -- Every indicator value dx-alerts has seen, fed by dx.indicator-values.v1: the unit's own
    -- history that trends, regressions and implausible jumps are judged against.
    CREATE TABLE alerting.indicator_history (
        unit         text NOT NULL,
        indicator    text NOT NULL,
        period       text NOT NULL,
        period_type  text NOT NULL,
        ordinal      int NOT NULL,
        value        numeric NOT NULL,
        numerator    numeric,
        denominator  numeric,
        target       numeric,
        target_year  int,
        gap          numeric,
        meets_target boolean,
        completeness numeric,
        updated_at   timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (unit, indicator, period_type, ordinal)
    );

    -- Operators' acknowledgements, written by `dx alerts ack`, applied by dx-alerts (which
    -- publishes the transition) and marked with the outcome.
    CREATE TABLE alerting.acknowledgements (
        id          bigserial PRIMARY KEY,
        fingerprint text NOT NULL,
        created_by  text NOT NULL,
        comment     text,
        until       timestamptz,
        created_at  timestamptz NOT NULL DEFAULT now(),
        applied_at  timestamptz,
        outcome     text
    );
    CREATE INDEX acknowledgements_pending ON alerting.acknowledgements (id) WHERE applied_at IS NULL;

    -- Silences, written by `dx alerts silence`: every alert of `rule` ('*': any) for `unit` and
    -- the units under it is muted from starts_at until ends_at.
    CREATE TABLE alerting.silences (
        id         bigserial PRIMARY KEY,
        rule       text NOT NULL,
        unit       text NOT NULL,
        starts_at  timestamptz NOT NULL DEFAULT now(),
        ends_at    timestamptz NOT NULL,
        created_by text NOT NULL,
        comment    text,
        created_at timestamptz NOT NULL DEFAULT now(),
        applied_at timestamptz,
        CHECK (ends_at > starts_at)
    );
    CREATE INDEX silences_ends ON alerting.silences (ends_at);

    -- Transitions waiting for their group's next notification, one row per receiver.
    CREATE TABLE alerting.webhook_notifications (
        id          bigserial PRIMARY KEY,
        receiver    text NOT NULL,
        group_key   text NOT NULL,
        message_id  uuid NOT NULL,
        payload     text NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now(),
        delivery_id bigint,
        UNIQUE (receiver, message_id)
    );
    CREATE INDEX webhook_notifications_waiting ON alerting.webhook_notifications (receiver, group_key) WHERE delivery_id IS NULL;

    -- One notification of a group to a receiver: the body is fixed when it is made, so every
    -- try sends the same bytes. `failed` after the last try.
    CREATE TABLE alerting.webhook_deliveries (
        id              bigserial PRIMARY KEY,
        receiver        text NOT NULL,
        group_key       text NOT NULL,
        url             text NOT NULL,
        body            text NOT NULL,
        alert_count     int NOT NULL,
        status          text NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'delivered', 'failed')),
        attempts        int NOT NULL DEFAULT 0,
        next_attempt_at timestamptz NOT NULL DEFAULT now(),
        last_error      text,
        last_http_status int,
        created_at      timestamptz NOT NULL DEFAULT now(),
        finished_at     timestamptz
    );
    CREATE INDEX webhook_deliveries_pending ON alerting.webhook_deliveries (next_attempt_at) WHERE status = 'pending';

    -- When each group last had a notification made, for group_interval.
    CREATE TABLE alerting.webhook_groups (
        receiver     text NOT NULL,
        group_key    text NOT NULL,
        last_sent_at timestamptz NOT NULL,
        PRIMARY KEY (receiver, group_key)
    );

    -- What the missing-report timer reads outside its schema: which cells have a value. A view
    -- (owned by the migrating superuser) so dx_alerts gets SELECT on it and nothing else of engine.
    -- Created here only when the foundation has not defined it (the engine's year-row layout does,
    -- with the same unit_code, period, element_code and value columns).
    DO $$
    BEGIN
        IF NOT EXISTS (SELECT FROM pg_views WHERE schemaname = 'reporting' AND viewname = 'cell_values') THEN
            EXECUTE $view$
                CREATE VIEW reporting.cell_values AS
                SELECT c.unit AS unit_code, c.period, c.element AS element_code, c.value, c.completeness, c.updated_at
                FROM engine.cells c
                WHERE c.value IS NOT NULL
            $view$;
        END IF;
    END
    $$;

    DROP VIEW reporting.open_alerts;
    CREATE VIEW reporting.open_alerts AS
    SELECT a.fingerprint, a.status, a.rule, a.rule_kind, a.severity, a.unit AS unit_code, u.name AS unit_name, u.level,
           a.province, a.indicator AS indicator_code, coalesce(i.name_vi, e.name_vi) AS indicator_name_vi, a.period,
           round(a.value, 2) AS value, a.target, a.target_year, a.starts_at, a.acknowledged_by, a.acknowledged_at,
           a.acknowledge_comment, s.ends_at AS silenced_until, a.summary_vi, a.summary_en
    FROM alerting.alerts a
    JOIN catalog.units u ON u.code = a.unit
    LEFT JOIN catalog.indicators i ON i.code = a.indicator
    LEFT JOIN catalog.data_elements e ON e.code = a.indicator
    LEFT JOIN alerting.silences s ON s.id = a.silence_id
    WHERE a.status IN ('firing', 'acknowledged', 'silenced');

    -- Failed webhook deliveries, for dashboards.
    CREATE VIEW reporting.webhook_deliveries AS
    SELECT id, receiver, group_key, status, attempts, alert_count, last_error, last_http_status, created_at, finished_at
    FROM alerting.webhook_deliveries;
    """)
