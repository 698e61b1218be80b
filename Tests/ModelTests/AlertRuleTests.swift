import DXModel
import Foundation
import Testing

/// The rules of catalog/alert-rules.json, in the shapes the tests use.
enum TestRules {
    static func rules() throws -> [AlertRule] {
        let json = """
        [
          {"code": "below_target", "kind": "below_target", "nameVi": "Thấp hơn mục tiêu", "nameEn": "Below target",
           "severitySteps": [{"atLeast": 30, "severity": "critical"}, {"atLeast": 10, "severity": "warning"}, {"atLeast": 0, "severity": "info"}]},
          {"code": "off_track", "kind": "off_track", "nameVi": "Không đạt mục tiêu theo xu hướng", "nameEn": "Off track", "window": 4, "minPoints": 3,
           "minCompleteness": 0.8, "severitySteps": [{"atLeast": 10, "severity": "critical"}, {"atLeast": 0, "severity": "warning"}]},
          {"code": "regression", "kind": "regression", "nameVi": "Giảm so với kỳ trước", "nameEn": "Regression", "periodTypes": ["year", "quarter"],
           "minDrop": 5, "severitySteps": [{"atLeast": 15, "severity": "critical"}, {"atLeast": 5, "severity": "warning"}]},
          {"code": "ratio_above_100", "kind": "data_quality", "check": "ratio_above_100", "nameVi": "Tỷ lệ vượt quá 100%", "nameEn": "Ratio above 100%",
           "maximum": 100, "severity": "critical"},
          {"code": "negative_count", "kind": "data_quality", "check": "negative_count", "nameVi": "Số liệu âm", "nameEn": "Negative count", "severity": "critical"},
          {"code": "implausible_jump", "kind": "data_quality", "check": "implausible_jump", "nameVi": "Biến động bất thường", "nameEn": "Implausible jump",
           "window": 8, "minPoints": 4, "threshold": 3.5, "minimumSpread": 1,
           "severitySteps": [{"atLeast": 10, "severity": "critical"}, {"atLeast": 3.5, "severity": "warning"}]},
          {"code": "missing_dossiers", "kind": "missing_report", "nameVi": "Chưa báo cáo hồ sơ", "nameEn": "Dossier report missing",
           "elements": ["dossiers_received"], "levels": ["province"], "dueDays": 10, "since": "2025-07", "severity": "warning"}
        ]
        """
        return try JSONDecoder().decode([AlertRule].self, from: Data(json.utf8))
    }

    static func rule(_ code: String) throws -> AlertRule {
        try #require(try rules().first { $0.code == code })
    }
}

@Suite("Alert rules: each fires and resolves on constructed series")
struct AlertRuleTests {
    let catalog = TestCatalog.catalog

    func evaluator(_ code: String) throws -> AlertEvaluator {
        AlertEvaluator(rules: [try TestRules.rule(code)], catalog: catalog)
    }

    /// A fibre-rate series of one district: year → value (completeness 1, target 80 by 2025).
    func series(_ values: [(Int, String)]) -> [SeriesPoint] {
        values.map { year, text in
            let value = Quantity.d(text)
            return SeriesPoint(period: .year(year), value: value, numerator: value, denominator: 100, target: 80, targetYear: 2025,
                               gap: 80 - value, meetsTarget: value >= 80, completeness: 1)
        }
    }

    func judge(_ code: String, _ points: [SeriesPoint], at year: Int, unit: UnitCode = "old-101", indicator: String = "household_fibre_rate") throws -> AlertCondition {
        let conditions = try evaluator(code).evaluate(unit: unit, indicator: indicator, period: .year(year), series: points)
        return try #require(conditions.first)
    }

    @Test("the rules file parses and is consistent with the catalog")
    func rulesValidate() throws {
        #expect(AlertRuleValidation.problems(try TestRules.rules(), catalog: catalog) == [])
    }

    @Test("below target: severity by the gap; meeting the target resolves; a withdrawn value resolves")
    func belowTarget() throws {
        let firing = try judge("below_target", series([(2023, "35.4440926512")]), at: 2023)
        #expect(firing.active)
        #expect(firing.severity == .critical)
        #expect(firing.summary.vi == "Huyện Một Một: tỷ lệ hộ gia đình có cáp quang 35,44% — thấp hơn mục tiêu 80% năm 2025")
        #expect(firing.summary.en == "Huyện Một Một: households with fibre 35.44% — below the 2025 target of 80%")
        #expect(firing.fingerprint == AlertFingerprint.make(rule: "below_target", unit: "old-101", indicator: "household_fibre_rate", period: .year(2023)))
        #expect(try judge("below_target", series([(2023, "65")]), at: 2023).severity == .warning)
        #expect(try judge("below_target", series([(2023, "75")]), at: 2023).severity == .info)
        let met = try judge("below_target", series([(2023, "83.3")]), at: 2023)
        #expect(!met.active)
        #expect(met.summary.vi == "Huyện Một Một: tỷ lệ hộ gia đình có cáp quang 83,3% — đã đạt mục tiêu")
        #expect(!(try judge("below_target", [], at: 2023)).active)
    }

    @Test("off track: the trend of the last periods projected to the target's year misses it; a better trend resolves")
    func offTrack() throws {
        // 20, 30, 40: ten points a year reach only 60 by 2025.
        let firing = try judge("off_track", series([(2021, "20"), (2022, "30"), (2023, "40")]), at: 2023)
        #expect(firing.active)
        #expect(firing.severity == .critical)
        #expect(firing.target == 80 && firing.targetYear == 2025)
        #expect(firing.summary.vi.contains("dự kiến năm 2025 đạt 60%"), "\(firing.summary.vi)")
        // 20, 30, 70: 25 points a year reach 115.
        #expect(!(try judge("off_track", series([(2021, "20"), (2022, "30"), (2023, "70")]), at: 2023)).active)
        // 70, 73, 76: projected 82 meets 80 even though 76 is below it today.
        #expect(!(try judge("off_track", series([(2021, "70"), (2022, "73"), (2023, "76")]), at: 2023)).active)
        // 72, 74, 75.5 projects 79.08: short by less than a point, a warning.
        let close = try judge("off_track", series([(2021, "72"), (2022, "74"), (2023, "75.5")]), at: 2023)
        #expect(close.active && close.severity == .warning)
        // Too few points: not judged.
        #expect(!(try judge("off_track", series([(2022, "30"), (2023, "40")]), at: 2023)).active)
        // An incomplete aggregate is not judged.
        var partial = series([(2021, "20"), (2022, "30"), (2023, "40")])
        partial[2].completeness = Quantity.d("0.5")
        #expect(!(try judge("off_track", partial, at: 2023)).active)
    }

    @Test("regression: a fall from the previous period beyond the threshold fires; a smaller one resolves")
    func regression() throws {
        let firing = try judge("regression", series([(2022, "60"), (2023, "50")]), at: 2023)
        #expect(firing.active && firing.severity == .warning)
        #expect(firing.summary.vi == "Huyện Một Một: tỷ lệ hộ gia đình có cáp quang 50% năm 2023 — giảm 10 điểm phần trăm so với năm 2022 (60%)")
        #expect(firing.summary.en == "Huyện Một Một: households with fibre 50% in 2023 — down 10 percentage points from 60% in 2022")
        #expect(try judge("regression", series([(2022, "60"), (2023, "40")]), at: 2023).severity == .critical)
        #expect(!(try judge("regression", series([(2022, "60"), (2023, "58")]), at: 2023)).active)
        #expect(!(try judge("regression", series([(2021, "60"), (2023, "40")]), at: 2023)).active, "no previous period, nothing to compare")
    }

    @Test("data quality: a ratio above 100% fires and resolves")
    func ratioAbove100() throws {
        var points = series([(2023, "104.5")])
        points[0].numerator = Quantity.d("12542")
        points[0].denominator = Quantity.d("12002")
        let firing = try judge("ratio_above_100", points, at: 2023)
        #expect(firing.active && firing.severity == .critical)
        #expect(firing.summary.vi == "Huyện Một Một: tỷ lệ hộ gia đình có cáp quang 104,5% năm 2023 — vượt quá 100%, số liệu cần kiểm tra (12.542/12.002)")
        #expect(!(try judge("ratio_above_100", series([(2023, "100")]), at: 2023)).active)
    }

    @Test("data quality: a negative count fires and resolves")
    func negativeCount() throws {
        var points = series([(2023, "10")])
        points[0].numerator = -5
        let firing = try judge("negative_count", points, at: 2023)
        #expect(firing.active)
        #expect(firing.summary.vi.contains("có số âm (tử số -5)"))
        #expect(!(try judge("negative_count", series([(2023, "10")]), at: 2023)).active)
    }

    @Test("data quality: a jump implausible against the unit's own history (MAD) fires; a plausible value resolves")
    func implausibleJump() throws {
        let history = [(2016, "40"), (2017, "41"), (2018, "39"), (2019, "40"), (2020, "42")]
        let firing = try judge("implausible_jump", series(history + [(2021, "95")]), at: 2021)
        #expect(firing.active && firing.severity == .critical)
        #expect(firing.summary.en.contains("median 40%"), "\(firing.summary.en)")
        #expect(!(try judge("implausible_jump", series(history + [(2021, "43")]), at: 2021)).active)
        // With fewer than minPoints earlier values nothing is judged.
        #expect(!(try judge("implausible_jump", series([(2019, "40"), (2020, "41"), (2021, "95")]), at: 2021)).active)
        // One wild value in the history does not hide the next one: the median and MAD ignore it.
        let wild = [(2015, "40"), (2016, "41"), (2017, "90"), (2018, "39"), (2019, "40"), (2020, "42")]
        #expect(try judge("implausible_jump", series(wild + [(2021, "95")]), at: 2021).active)
    }

    @Test("robust statistics and the least-squares line")
    func statistics() throws {
        #expect(RobustStatistics.median([3, 1, 2]) == 2)
        #expect(RobustStatistics.median([4, 1, 2, 3]) == Decimal.d("2.5"))
        #expect(RobustStatistics.medianAbsoluteDeviation([1, 1, 2, 2, 4, 6, 9]) == 1)
        let fit = try #require(RobustStatistics.linearFit([(2021, 20), (2022, 30), (2023, 40)]))
        #expect(fit.slope == 10)
        #expect(fit.intercept + fit.slope * 2025 == 60)
        #expect(RobustStatistics.linearFit([(2021, 20)]) == nil)
        #expect(Period.month(2025, 12).ordinal + 1 == Period.month(2026, 1).ordinal)
        #expect(Period.at(ordinal: Period.quarter(2025, 3).ordinal, type: .quarter) == .quarter(2025, 3))
    }

    @Test("rules apply only to their indicators, levels and period types")
    func applicability() throws {
        let regression = try TestRules.rule("regression")
        #expect(regression.applies(indicator: "household_fibre_rate", level: .district, periodType: .year))
        #expect(!regression.applies(indicator: "household_fibre_rate", level: .district, periodType: .month))
        var narrow = regression
        narrow.levels = [.province]
        narrow.indicators = ["dossiers_online_rate"]
        #expect(!narrow.applies(indicator: "household_fibre_rate", level: .province, periodType: .year))
        #expect(!narrow.applies(indicator: "dossiers_online_rate", level: .commune, periodType: .year))
    }

    @Test("validation names what is wrong with a rule")
    func validation() throws {
        var bad = try TestRules.rule("regression")
        bad.code = "Regression!"
        bad.minDrop = nil
        bad.threshold = 3
        bad.indicators = ["no_such_indicator"]
        var missing = try TestRules.rule("missing_dossiers")
        missing.since = .year(2025)
        missing.elements = ["dossiers_received", "households_total"]
        var steps = try TestRules.rule("below_target")
        steps.severitySteps = [SeverityStep(atLeast: 30, severity: .info), SeverityStep(atLeast: 10, severity: .critical)]
        let problems = AlertRuleValidation.problems([bad, missing, steps, try TestRules.rule("below_target")], catalog: catalog)
        let text = problems.joined(separator: "\n")
        #expect(text.contains("code must be lowercase"))
        #expect(text.contains("needs minDrop"))
        #expect(text.contains("threshold does not apply to regression"))
        #expect(text.contains("indicator no_such_indicator is not in the catalog"))
        #expect(text.contains("must share one period type"))
        #expect(text.contains("severitySteps: 30 is info but the smaller 10 is critical"))
        #expect(text.contains("rule below_target: listed twice"))
    }
}

@Suite("Missing reports: due dates and expected units")
struct MissingReportTests {
    let catalog = TestCatalog.catalog

    @Test("a month's report is late from the end of its due day, Vietnam time, and not a moment before")
    func deadline() throws {
        let rule = try TestRules.rule("missing_dossiers")
        let deadline = MissingReportSchedule.deadline(of: .month(2025, 9), dueDays: 10)
        // September ends on the 30th; due 10 October; late from 11 October 00:00 in Hà Nội (10 October 17:00 UTC).
        #expect(RFC3339.string(deadline) == "2025-10-10T17:00:00.000Z")
        #expect(MissingReportSchedule.duePeriods(rule, now: deadline.addingTimeInterval(-1)) == [.month(2025, 7), .month(2025, 8)])
        #expect(MissingReportSchedule.duePeriods(rule, now: deadline) == [.month(2025, 7), .month(2025, 8), .month(2025, 9)])
    }

    @Test("expected units: the rule's levels, existing at the period's end")
    func expected() throws {
        let rule = try TestRules.rule("missing_dossiers")
        #expect(MissingReportSchedule.expectedUnits(rule, period: .month(2025, 9), catalog: catalog) == ["01", "02"])
        // Before 1 July 2025 the pre-2025 provinces existed too; the current ones continue their
        // series (a current province's value aggregates its old provinces'), so both are expected.
        #expect(MissingReportSchedule.expectedUnits(rule, period: .month(2025, 6), catalog: catalog) == ["01", "02", "old-01", "old-02", "old-03"])
        var communes = rule
        communes.levels = [.commune]
        #expect(MissingReportSchedule.expectedUnits(communes, period: .month(2025, 6), catalog: catalog).allSatisfy { $0.rawValue.hasPrefix("old-") })
        var within = rule
        within.within = ["02"]
        #expect(MissingReportSchedule.expectedUnits(within, period: .month(2025, 9), catalog: catalog) == ["02"])
    }

    @Test("the condition fires while the data is missing and resolves when it arrives, with both summaries")
    func condition() throws {
        let rule = try TestRules.rule("missing_dossiers")
        let missing = MissingReportSchedule.condition(rule, unit: "01", element: "dossiers_received", period: .month(2025, 9), present: false, catalog: catalog)
        #expect(missing.active && missing.severity == .warning)
        #expect(missing.summary.vi == "Tỉnh Một: chưa có số liệu “hồ sơ tiếp nhận” tháng 9/2025 — quá hạn báo cáo ngày 10/10/2025")
        #expect(missing.summary.en == "Tỉnh Một: no data for “dossiers received” for September 2025 — the report was due on 2025-10-10")
        let received = MissingReportSchedule.condition(rule, unit: "01", element: "dossiers_received", period: .month(2025, 9), present: true, catalog: catalog)
        #expect(!received.active)
        #expect(received.fingerprint == missing.fingerprint)
    }
}

@Suite("Alert lifecycle, silences and webhooks configuration")
struct AlertLifecycleTests {
    @Test("firing → acknowledged → resolved; silences outrank acknowledgements; a resolved alert fires again as a new episode")
    func transitions() {
        #expect(AlertLifecycle.next(current: nil, active: true, silenced: false, acknowledged: false) == .firing)
        #expect(AlertLifecycle.next(current: nil, active: false, silenced: false, acknowledged: false) == nil)
        #expect(AlertLifecycle.next(current: .firing, active: true, silenced: false, acknowledged: false) == nil)
        #expect(AlertLifecycle.next(current: .firing, active: true, silenced: false, acknowledged: true) == .acknowledged)
        #expect(AlertLifecycle.next(current: .acknowledged, active: true, silenced: true, acknowledged: true) == .silenced)
        #expect(AlertLifecycle.next(current: .silenced, active: true, silenced: false, acknowledged: true) == .acknowledged)
        #expect(AlertLifecycle.next(current: .silenced, active: true, silenced: false, acknowledged: false) == .firing)
        #expect(AlertLifecycle.next(current: .acknowledged, active: false, silenced: false, acknowledged: true) == .resolved)
        #expect(AlertLifecycle.next(current: .resolved, active: true, silenced: false, acknowledged: true) == .firing, "an old acknowledgement does not carry over")
        #expect(AlertLifecycle.next(current: nil, active: true, silenced: true, acknowledged: false) == .silenced)
    }

    @Test("silenced transitions, and the resolution of a silenced alert, are recorded but not delivered")
    func delivery() {
        #expect(AlertLifecycle.isDelivered(.firing, previous: nil))
        #expect(AlertLifecycle.isDelivered(.acknowledged, previous: .firing))
        #expect(!AlertLifecycle.isDelivered(.silenced, previous: .firing))
        #expect(!AlertLifecycle.isDelivered(.resolved, previous: .silenced))
        #expect(AlertLifecycle.isDelivered(.resolved, previous: .firing))
        #expect(AlertLifecycle.isDelivered(.firing, previous: .silenced), "the return to firing when a silence ends is delivered")
    }

    @Test("a silence matches its rule (or any) in its unit's subtree while active")
    func silences() {
        let units = TestCatalog.catalog.units
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let silence = Silence(id: 1, rule: "below_target", unit: "old-01", startsAt: start, endsAt: start.addingTimeInterval(3600), createdBy: "lan", comment: nil)
        #expect(silence.matches(rule: "below_target", unit: "old-10101", units: units))
        #expect(!silence.matches(rule: "below_target", unit: "old-20101", units: units))
        #expect(!silence.matches(rule: "regression", unit: "old-10101", units: units))
        #expect(!silence.isActive(at: start.addingTimeInterval(-1)))
        #expect(silence.isActive(at: start))
        #expect(!silence.isActive(at: start.addingTimeInterval(3600)))
        var any = silence
        any.rule = Silence.anyRule
        #expect(any.matches(rule: "regression", unit: "old-10101", units: units))
    }

    @Test("webhook receivers: parsed with defaults, checked, routed by subtree and severity, doubling backoff")
    func webhooks() throws {
        let routes = try WebhookConfiguration.parse("""
            [{"name": "tinh-mot", "url": "https://ioc.example.vn/hooks/dx", "unit": "01", "minSeverity": "warning",
              "groupWait": "10s", "groupInterval": "2m", "maxAttempts": 4, "initialBackoff": "500ms", "maxBackoff": "2s"},
             {"name": "all", "url": "http://127.0.0.1:9/x"}]
            """, catalog: TestCatalog.catalog)
        #expect(routes.count == 2)
        let route = routes[0]
        #expect(route.groupWait == .seconds(10) && route.groupInterval == .seconds(120))
        #expect(routes[1].groupWait == WebhookRoute.defaultGroupWait && routes[1].maxAttempts == 5)
        let units = TestCatalog.catalog.units
        #expect(route.accepts(rule: "below_target", unit: "old-10101", severity: .critical, units: units))
        #expect(!route.accepts(rule: "below_target", unit: "old-10101", severity: .info, units: units))
        #expect(!route.accepts(rule: "below_target", unit: "02001", severity: .critical, units: units))
        #expect([1, 2, 3, 4].map { route.backoff(afterAttempt: $0) } == [.milliseconds(500), .seconds(1), .seconds(2), .seconds(2)])
        #expect(WebhookRoute.groupKey(province: "01", rule: "below_target") == "01/below_target")
        #expect(WebhookConfiguration.parseDuration("1h30m") == .seconds(5400))
        #expect(WebhookConfiguration.parseDuration("30") == nil)
        #expect(throws: WebhookConfigurationError.self) { try WebhookConfiguration.parse(#"[{"name": "x", "url": "ftp://a"}]"#) }
        #expect(throws: WebhookConfigurationError.self) { try WebhookConfiguration.parse(#"[{"name": "x", "url": "http://a", "unit": "99"}]"#, catalog: TestCatalog.catalog) }
        #expect(throws: WebhookConfigurationError.self) { try WebhookConfiguration.parse(#"[{"name": "x", "url": "http://a"}, {"name": "x", "url": "http://b"}]"#) }
    }

    @Test("Vietnamese periods and dates in summaries")
    func periods() {
        #expect(AlertText.periodVi(.quarter(2023, 4)) == "quý 4/2023")
        #expect(AlertText.periodVi(.month(2023, 10)) == "tháng 10/2023")
        #expect(AlertText.periodEn(.month(2023, 10)) == "October 2023")
        #expect(AlertText.dayVi(Day(year: 2026, month: 11, day: 5)) == "05/11/2026")
    }
}
