/// Views for the questions people ask of the indicators: one unit's trend, how a province's
/// communes rank, how complete the figures are, and how each unit stands on the three pillars.
let m004ReportingViews = Migration(version: 4, name: "reporting views", sql: """
    -- One unit's trend: each value next to the previous period of the same type.
    CREATE VIEW reporting.indicator_trend AS
    SELECT unit_code, unit_name, level, indicator_code, indicator_name_vi, period_type, period, value,
           lag(value) OVER w AS previous_value,
           value - lag(value) OVER w AS change,
           target, target_year, gap, completeness_percent
    FROM reporting.indicator_values
    WINDOW w AS (PARTITION BY unit_code, indicator_code, period_type ORDER BY period_end);

    -- Communes ranked within their current province, per indicator and period (1 = best).
    CREATE VIEW reporting.commune_ranking AS
    SELECT p.code AS province_code, p.name AS province_name, v.unit_code, v.unit_name, v.indicator_code,
           v.indicator_name_vi, v.period, v.value, v.target, v.gap,
           rank() OVER (PARTITION BY p.code, v.indicator_code, v.period
                        ORDER BY CASE WHEN i.direction = 'lower_is_better' THEN v.exact_value ELSE -v.exact_value END) AS rank,
           count(*) OVER (PARTITION BY p.code, v.indicator_code, v.period) AS communes_ranked
    FROM reporting.indicator_values v
    JOIN catalog.units u ON u.code = v.unit_code
    JOIN catalog.units p ON p.code = u.province
    JOIN catalog.indicators i ON i.code = v.indicator_code
    WHERE v.level = 'commune';

    -- How much of what was expected is in each figure: children that reported out of those
    -- expected, for every aggregated cell.
    CREATE VIEW reporting.completeness AS
    SELECT unit_code, unit_name, level, period, period_type, element_code, element_name_vi, value,
           children_reported, children_expected,
           round(completeness * 100, 1) AS completeness_percent
    FROM reporting.cell_values;

    -- Progress to target of each indicator value, capped at 100%. Where an indicator is both
    -- computed from counts and reported as a rate (household_fibre_rate and
    -- household_fibre_rate_reported), the computed one counts and the reported one does not.
    CREATE VIEW reporting.indicator_progress AS
    SELECT DISTINCT ON (v.unit_code, v.period, regexp_replace(v.indicator_code, '_reported$', ''))
           v.unit_code, v.unit_name, v.level, v.period, v.period_type, v.period_end, v.indicator_code, v.pillar,
           v.exact_value AS value, v.target, v.target_year,
           LEAST(1, GREATEST(0, CASE WHEN i.direction = 'lower_is_better'
                                     THEN v.target / NULLIF(v.exact_value, 0)
                                     ELSE v.exact_value / NULLIF(v.target, 0) END)) AS progress
    FROM reporting.indicator_values v
    JOIN catalog.indicators i ON i.code = v.indicator_code
    WHERE v.target IS NOT NULL AND v.target > 0
    ORDER BY v.unit_code, v.period, regexp_replace(v.indicator_code, '_reported$', ''), (v.indicator_code LIKE '%\\_reported');

    -- Pillar scores (mean progress of the pillar's indicators) and the composite index (mean of
    -- the pillar scores) per unit and period, with the unit's rank among its siblings.
    CREATE VIEW reporting.pillar_scores AS
    WITH pillars AS (
        SELECT unit_code, period, pillar, avg(progress) AS score, count(*) AS indicators
        FROM reporting.indicator_progress GROUP BY unit_code, period, pillar
    ), composite AS (
        SELECT unit_code, period,
               avg(score) AS composite,
               max(score) FILTER (WHERE pillar = 'chinh_quyen_so') AS chinh_quyen_so,
               max(score) FILTER (WHERE pillar = 'kinh_te_so') AS kinh_te_so,
               max(score) FILTER (WHERE pillar = 'xa_hoi_so') AS xa_hoi_so,
               sum(indicators) AS indicators
        FROM pillars GROUP BY unit_code, period
    )
    SELECT c.unit_code, u.name AS unit_name, u.level, u.parent AS parent_code, c.period,
           round(c.composite * 100, 1) AS composite_index,
           round(c.chinh_quyen_so * 100, 1) AS chinh_quyen_so, round(c.kinh_te_so * 100, 1) AS kinh_te_so,
           round(c.xa_hoi_so * 100, 1) AS xa_hoi_so, c.indicators,
           rank() OVER (PARTITION BY u.parent, c.period ORDER BY c.composite DESC) AS rank_among_siblings,
           count(*) OVER (PARTITION BY u.parent, c.period) AS siblings_ranked
    FROM composite c JOIN catalog.units u ON u.code = c.unit_code;
    """)
