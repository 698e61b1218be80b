/// The engine's state as a row per unit and period instead of a row per cell and per indicator
/// value: a monthly report then rewrites three rows (its month, quarter and year) instead of about
/// 180, which is what keeps dx-indicators from half of `COPY` (docs/engine-throughput.md).
/// `engine.cells` and `engine.indicator_values` stay, as views with the same columns, for reports
/// and for anyone who queried them.
let m008UnitPeriods = Migration(version: 8, name: "engine state by unit and period", sql: """
    -- engine: a row per unit and period holding its cells and indicator values.
    CREATE TABLE engine.unit_periods (
        unit        text NOT NULL,
        period      text NOT NULL,
        province    text NOT NULL,
        period_type text NOT NULL,
        period_end  date NOT NULL,
        -- {element: [value, completeness, children reported, children expected, delta sum, delta count,
        --   reports or null]}; numbers as strings, exact; reports as engine.cells.reports had them.
        cells       json NOT NULL,
        -- {indicator: [value, numerator, denominator, completeness, target, target year, gap, meets target]}
        indicators  json NOT NULL,
        updated_at  timestamptz NOT NULL DEFAULT now(),
        PRIMARY KEY (unit, period)
    ) WITH (fillfactor = 80, toast_tuple_target = 8160);
    CREATE INDEX unit_periods_province ON engine.unit_periods (province);

    INSERT INTO engine.unit_periods (unit, period, province, period_type, period_end, cells, indicators, updated_at)
    SELECT k.unit, k.period, k.province,
           CASE WHEN k.period LIKE '%-Q%' THEN 'quarter' WHEN k.period LIKE '%-%' THEN 'month' ELSE 'year' END,
           CASE WHEN k.period LIKE '%-Q%' THEN (make_date(left(k.period, 4)::int, right(k.period, 1)::int * 3, 1) + interval '1 month - 1 day')::date
                WHEN k.period LIKE '%-%' THEN (to_date(k.period || '-01', 'YYYY-MM-DD') + interval '1 month - 1 day')::date
                ELSE make_date(k.period::int, 12, 31) END,
           coalesce(c.cells, '{}'), coalesce(i.indicators, '{}'), greatest(c.updated_at, i.updated_at)
    FROM (SELECT unit, period, province FROM engine.cells UNION SELECT unit, period, province FROM engine.indicator_values) AS k
    LEFT JOIN (
        SELECT unit, period, max(updated_at) AS updated_at,
               json_object_agg(element, json_build_array(value::text, completeness::text, children_reported, children_expected,
                                                         delta_sum::text, delta_count, reports) ORDER BY element) AS cells
        FROM engine.cells GROUP BY unit, period
    ) AS c USING (unit, period)
    LEFT JOIN (
        SELECT unit, period, max(updated_at) AS updated_at,
               json_object_agg(indicator, json_build_array(value::text, numerator::text, denominator::text, completeness::text,
                                                           target::text, target_year, gap::text, meets_target) ORDER BY indicator) AS indicators
        FROM engine.indicator_values GROUP BY unit, period
    ) AS i USING (unit, period);

    -- The tables become views with the same columns, and the reporting views that read them read the views.
    DO $$
    DECLARE
        cell_values text := pg_get_viewdef('reporting.cell_values'::regclass);
        indicator_values text := pg_get_viewdef('reporting.indicator_values'::regclass);
    BEGIN
        ALTER TABLE engine.cells RENAME TO cells_by_row;
        ALTER TABLE engine.indicator_values RENAME TO indicator_values_by_row;
        CREATE VIEW engine.cells AS
        SELECT p.unit, p.period, c.key AS element, p.province,
               (c.value ->> 0)::numeric AS value, (c.value ->> 1)::numeric AS completeness,
               (c.value ->> 2)::int AS children_reported, (c.value ->> 3)::int AS children_expected,
               (c.value ->> 4)::numeric AS delta_sum, (c.value ->> 5)::int AS delta_count,
               CASE WHEN json_typeof(c.value -> 6) = 'array' THEN (c.value -> 6)::jsonb END AS reports,
               p.updated_at
        FROM engine.unit_periods p CROSS JOIN LATERAL json_each(p.cells) AS c;
        CREATE VIEW engine.indicator_values AS
        SELECT p.unit, p.period, i.key AS indicator, p.province, p.period_type, p.period_end,
               (i.value ->> 0)::numeric AS value, (i.value ->> 1)::numeric AS numerator, (i.value ->> 2)::numeric AS denominator,
               (i.value ->> 3)::numeric AS completeness, (i.value ->> 4)::numeric AS target, (i.value ->> 5)::int AS target_year,
               (i.value ->> 6)::numeric AS gap, (i.value ->> 7)::boolean AS meets_target, p.updated_at
        FROM engine.unit_periods p CROSS JOIN LATERAL json_each(p.indicators) AS i;
        EXECUTE 'CREATE OR REPLACE VIEW reporting.cell_values AS ' || cell_values;
        EXECUTE 'CREATE OR REPLACE VIEW reporting.indicator_values AS ' || indicator_values;
        DROP TABLE engine.cells_by_row, engine.indicator_values_by_row;
    END
    $$;
    """)
