@testable import Alerting
import DXKafka
import DXModel
import DXStore
import Foundation
import Logging
import PostgresNIO
import Testing

/// The published contract, for checking real messages against it.
let alertsSchemaFile = TestDatabase.repositoryRoot.appendingPathComponent("deploy/schemas/dx.alerts.v1.json")

/// The transitions on a topic, each message once (by envelope id), in the order read.
func distinctTransitions(_ reader: TopicReader) throws -> [Envelope<AlertTransition>] {
    var seen = Set<UUID>()
    return try reader.decoded(AlertTransition.self).filter { seen.insert($0.id).inserted }
}

/// Runs the `dx` command line as an operator would, against the pipeline's database.
func runDX(_ arguments: [String], pipeline: Pipeline, environment extra: [String: String] = [:]) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = ServiceProcess.binDirectory.appendingPathComponent("dx")
    process.arguments = arguments
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("DX_") }
    environment["DX_POSTGRES_ADMIN_URL"] = pipeline.database.adminURL
    for (key, value) in extra { environment[key] = value }
    process.environment = environment
    let output = Pipe()
    process.standardOutput = output
    process.standardError = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

@Suite("Alerting: rules, lifecycle, timers, operators, webhooks, subscribers", .serialized)
struct AlertingTests {
    let catalog = TestDatabase.catalogFiles.catalog

    func fingerprint(_ rule: String, _ unit: UnitCode, _ period: Period, _ indicator: String = "household_fibre_rate") -> String {
        AlertFingerprint.make(rule: rule, unit: unit, indicator: indicator, period: period)
    }

    @Test("each value rule fires and resolves on constructed series; every transition published once, conforming to the JSON Schema; the Python example receives them")
    func rulesFireAndResolve() async throws {
        try await withPipeline("rules", services: [Pipeline.alerts]) { pipeline in
            let reader = try TopicReader(topic: pipeline.topics.alerts, brokers: pipeline.brokers)
            let values = try IndicatorValues(pipeline: pipeline, catalog: catalog)
            // Four districts of Quảng Trị before 2025 and their series of the fibre rate (target 80% by 2025).
            let (u1, u2, u3, u4): (UnitCode, UnitCode, UnitCode, UnitCode) = ("old-467", "old-468", "old-469", "old-470")
            try await values.publish([
                // u1: 60, 62, 64, then 52: below target, a 12-point regression, a trend that misses 80% by 2025.
                values.change(u1, .year(2020), "60"), values.change(u1, .year(2021), "62"), values.change(u1, .year(2022), "64"),
                // u2: 130 households with fibre of 100: a ratio above 100%.
                values.change(u2, .year(2023), "130", numerator: "130", denominator: "100"),
                // u3: five calm years around 60, then 99: implausible against its own history.
                values.change(u3, .year(2016), "60"), values.change(u3, .year(2017), "61"), values.change(u3, .year(2018), "59"),
                values.change(u3, .year(2019), "60"), values.change(u3, .year(2020), "62"),
                // u4: a negative count.
                values.change(u4, .year(2023), "-5", numerator: "-5", denominator: "100"),
            ])
            try await values.publish([values.change(u1, .year(2023), "52"), values.change(u3, .year(2021), "99")])

            let fired = [
                fingerprint("below_target", u1, .year(2023)), fingerprint("regression", u1, .year(2023)), fingerprint("off_track", u1, .year(2023)),
                fingerprint("ratio_above_100", u2, .year(2023)), fingerprint("implausible_jump", u3, .year(2021)),
                fingerprint("negative_count", u4, .year(2023)),
            ]
            for alert in fired { try await AlertRows.wait(pipeline, alert, status: "firing") }
            let summaries = try await pipeline.withAdmin { db in
                var result: [String: (String, String, String)] = [:]
                for try await (fingerprint, severity, vi, en) in try await db.query("SELECT fingerprint, severity, summary_vi, summary_en FROM alerting.alerts").decode((String, String, String, String).self) {
                    result[fingerprint] = (severity, vi, en)
                }
                return result
            }
            #expect(summaries[fired[0]]?.1 == "Huyện Đa Krông: tỷ lệ hộ gia đình có kết nối Internet băng rộng cáp quang 52% — thấp hơn mục tiêu 80% năm 2025")
            #expect(summaries[fired[1]]?.1 == "Huyện Đa Krông: tỷ lệ hộ gia đình có kết nối Internet băng rộng cáp quang 52% năm 2023 — giảm 12 điểm phần trăm so với năm 2022 (64%)")
            #expect(summaries[fired[1]]?.0 == "warning")
            #expect(summaries[fired[2]]?.1.contains("theo xu hướng 4 kỳ gần nhất, dự kiến năm 2025 đạt 51,8%") == true, "\(summaries[fired[2]]?.1 ?? "")")
            #expect(summaries[fired[3]]?.2 == "Huyện Cam Lộ: households with fibre broadband 130% in 2023 — above 100%, check the figures (130/100)")
            #expect(summaries[fired[4]]?.0 == "critical")
            #expect(summaries[fired[5]]?.1.contains("có số âm (giá trị -5, tử số -5)") == true)
            let history = try await count(pipeline, "SELECT count(*) FROM alerting.indicator_history WHERE unit = 'old-469'")
            #expect(history == 6, "dx-alerts keeps the unit's own history in its schema")

            // The conditions clear: u1's 2023 is revised to 95, u2 to 90 of 100, u3's 2021 to 63, u4's value is withdrawn.
            try await values.publish([
                values.change(u1, .year(2023), "95"), values.change(u2, .year(2023), "90", numerator: "90", denominator: "100"),
                values.change(u3, .year(2021), "63"), values.change(u4, .year(2023), nil),
            ])
            for alert in fired { try await AlertRows.wait(pipeline, alert, status: "resolved") }
            let resolvedText = try await pipeline.withAdmin { db in
                var text = ""
                for try await value in try await db.query("SELECT summary_vi FROM alerting.alerts WHERE fingerprint = \(fired[0])").decode(String.self) { text = value }
                return text
            }
            #expect(resolvedText == "Huyện Đa Krông: tỷ lệ hộ gia đình có kết nối Internet băng rộng cáp quang 95% — đã đạt mục tiêu")

            // dx.alerts.v1: each of these alerts fired once and resolved once; every message conforms.
            let all = try await reader.wait(for: "the resolutions on dx.alerts.v1") { messages in
                let transitions = (try? messages.map { try MessageCoding.decode(Envelope<AlertTransition>.self, from: $0.value).data }) ?? []
                return fired.allSatisfy { fingerprint in transitions.contains { $0.fingerprint == fingerprint && $0.status == .resolved } }
            }
            try await Task.sleep(for: .seconds(2))
            let transitions = try distinctTransitions(reader)
            let byFingerprint = Dictionary(grouping: transitions.map(\.data), by: \.fingerprint)
            for alert in fired {
                #expect(byFingerprint[alert]?.map(\.status) == [.firing, .resolved], "\(alert): \(byFingerprint[alert]?.map(\.status) ?? [])")
            }
            for (fingerprint, list) in byFingerprint {
                let statuses = list.map(\.status)
                #expect(zip(statuses, statuses.dropFirst()).allSatisfy { $0 != $1 }, "\(fingerprint) repeats a transition: \(statuses)")
            }
            let stored = try await count(pipeline, "SELECT count(*) FROM alerting.transitions")
            #expect(stored == transitions.count, "every recorded transition is on the topic, once")
            let schema = try JSONSchemaCheck(file: alertsSchemaFile)
            for message in all {
                let problems = schema.violations(message.value)
                #expect(problems.isEmpty, "\(String(decoding: message.value, as: UTF8.self)): \(problems)")
            }
            // The value alerts are all Quảng Trị's (the timer's missing-report alerts are every province's).
            #expect(transitions.filter { $0.data.ruleKind != .missingReport }.allSatisfy { $0.data.unit.province == "44" })

            // The Python example, as a subscriber with its own group, gets them all and checks each against the schema.
            let python = try runPythonSubscriber(pipeline: pipeline, expect: transitions.count)
            #expect(python.status == 0, "\(python.output)")
            #expect(python.output.contains("received \(transitions.count) alert transition(s), 0 invalid (all valid against the schema)"), "\(python.output)")

            // `dx alerts tail`, a subscriber with its own group, prints them as they come.
            let tail = try runDX(["alerts", "tail", "--brokers", pipeline.brokers, "--topic-prefix", pipeline.topics.prefix, "--from-beginning",
                                  "--max", String(transitions.count), "--english"], pipeline: pipeline)
            #expect(tail.status == 0, "\(tail.output)")
            #expect(tail.output.contains("Huyện Đa Krông: households with fibre broadband 52% in 2023 — down 12 percentage points from 64% in 2022"), "\(tail.output)")
            #expect(tail.output.split(separator: "\n").filter { $0.contains("  firing ") || $0.contains("  resolved ") }.count == transitions.count, "\(tail.output)")
            await values.close()
            await reader.close()
        }
    }

    /// deploy/examples/alerts_subscriber.py with the packages `make test` installs privately.
    func runPythonSubscriber(pipeline: Pipeline, expect: Int) throws -> (status: Int32, output: String) {
        let tools = ProcessInfo.processInfo.environment["DX_TEST_PYTHONPATH"]
            ?? TestDatabase.repositoryRoot.appendingPathComponent(".dx/tools/python").path
        guard FileManager.default.fileExists(atPath: tools + "/confluent_kafka") else {
            throw TestFailure("confluent-kafka is not in \(tools): run `make test`, which installs it there (pip install --target)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", TestDatabase.repositoryRoot.appendingPathComponent("deploy/examples/alerts_subscriber.py").path,
                             "--brokers", pipeline.brokers, "--topic-prefix", pipeline.topics.prefix, "--from-beginning",
                             "--schema", alertsSchemaFile.path, "--expect", String(expect), "--timeout", "90"]
        var environment = ProcessInfo.processInfo.environment
        environment["PYTHONPATH"] = tools
        process.environment = environment
        let output = Pipe()
        process.standardOutput = output
        process.standardError = output
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return (process.terminationStatus, String(decoding: data, as: UTF8.self))
    }

    @Test("SIGKILL of dx-alerts mid-batch: after restart every transition is recorded and published once, none lost, none twice")
    func crashMidBatch() async throws {
        try await withPipeline("alertcrash", services: []) { pipeline in
            try await pipeline.start([Pipeline.alerts], extraEnvironment: ["DX_CONSUMER_BATCH_SIZE": "1"])
            let reader = try TopicReader(topic: pipeline.topics.alerts, brokers: pipeline.brokers)
            let values = try IndicatorValues(pipeline: pipeline, catalog: catalog)
            var rng = SeededGenerator(seed: 6)
            let communes = catalog.units.units.values.filter { $0.tree == .pre2025 && $0.level == .commune }.map(\.code).sorted()
                .shuffled(using: &rng).prefix(80)
            // 80 alerts fire, one message each; then half of them resolve.
            var ids: [UUID] = []
            for unit in communes { ids += try await values.publish([values.change(unit, .year(2024), "40")]) }
            for unit in communes.prefix(40) { ids += try await values.publish([values.change(unit, .year(2024), "90")]) }

            // Kill it while it works through them.
            let deadline = ContinuousClock.now + .seconds(90)
            while try await count(pipeline, "SELECT count(*) FROM alerting.transitions") < 15 {
                guard ContinuousClock.now < deadline else { throw TestFailure("dx-alerts made no progress") }
                try await Task.sleep(for: .milliseconds(20))
            }
            pipeline.service(Pipeline.alerts).kill()
            let atKill = try await count(pipeline, "SELECT count(*) FROM alerting.transitions")
            #expect(atKill < 120, "killed mid-stream")
            try await pipeline.start([Pipeline.alerts], extraEnvironment: ["DX_CONSUMER_BATCH_SIZE": "1"])

            let idList = ids.map { "'\($0.uuidString.lowercased())'" }.joined(separator: ",")
            let applyDeadline = ContinuousClock.now + .seconds(120)
            while try await count(pipeline, "SELECT count(*) FROM alerting.processed_messages WHERE message_id IN (\(idList))") < ids.count {
                guard ContinuousClock.now < applyDeadline else { throw TestFailure("not every message applied after the restart") }
                try await Task.sleep(for: .milliseconds(200))
            }
            // Only below_target concerns these values (the missing-report timer has alerts of its own).
            func belowTarget(_ messages: [KafkaMessage]) -> [KafkaMessage] {
                messages.filter { (try? MessageCoding.decode(Envelope<AlertTransition>.self, from: $0.value).data.rule) == "below_target" }
            }
            try await reader.wait(for: "120 transitions") { (try? distinctCount(belowTarget($0))) ?? 0 >= 120 }
            try await Task.sleep(for: .seconds(2))

            let recorded = "SELECT t.fingerprint, t.status FROM alerting.transitions t JOIN alerting.alerts a USING (fingerprint) WHERE a.rule = 'below_target'"
            #expect(try await count(pipeline, "SELECT count(*) FROM (\(recorded)) r") == 120)
            #expect(try await count(pipeline, "SELECT count(*) FROM (SELECT DISTINCT * FROM (\(recorded)) r) d") == 120)
            let transitions = try distinctTransitions(reader).filter { $0.data.rule == "below_target" }
            #expect(transitions.count == 120)
            let raw = belowTarget(reader.messages).count
            #expect(raw == transitions.count, "no message published twice (\(raw) messages, \(transitions.count) distinct)")
            let byFingerprint = Dictionary(grouping: transitions.map(\.data), by: \.fingerprint)
            for (index, unit) in communes.enumerated() {
                let expected: [AlertStatus] = index < 40 ? [.firing, .resolved] : [.firing]
                #expect(byFingerprint[fingerprint("below_target", unit, .year(2024))]?.map(\.status) == expected)
            }
            await values.close()
            await reader.close()
        }
    }

    @Test("a crash between the broker's acknowledgement and the outbox's mark: on restart what is already on dx.alerts.v1 is not sent again")
    func publishedBeforeCrashNotRepublished() async throws {
        try await withPipeline("relaycrash", services: [Pipeline.alerts]) { pipeline in
            let reader = try TopicReader(topic: pipeline.topics.alerts, brokers: pipeline.brokers)
            let values = try IndicatorValues(pipeline: pipeline, catalog: catalog)
            try await values.publish([values.change("old-467", .year(2023), "35"), values.change("old-468", .year(2023), "45")])
            try await AlertRows.wait(pipeline, fingerprint("below_target", "old-468", .year(2023)), status: "firing")
            let sent = "SELECT count(*) FROM alerting.outbox WHERE published_at IS NOT NULL"
            let total = try await count(pipeline, "SELECT count(*) FROM alerting.outbox")
            let deadline = ContinuousClock.now + .seconds(60)
            while try await count(pipeline, sent) < total {
                guard ContinuousClock.now < deadline else { throw TestFailure("the relay did not publish") }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await reader.wait(for: "every message") { (try? distinctCount($0)) ?? 0 >= total }

            // As if dx-alerts died after the broker acknowledged these messages and before it marked them.
            pipeline.service(Pipeline.alerts).kill()
            _ = try await pipeline.withAdmin { db in try await db.query("UPDATE alerting.outbox SET published_at = NULL") }
            try await pipeline.start([Pipeline.alerts])
            let restartDeadline = ContinuousClock.now + .seconds(60)
            while try await count(pipeline, sent) < total {
                guard ContinuousClock.now < restartDeadline else { throw TestFailure("the outbox was not settled after the restart") }
                try await Task.sleep(for: .milliseconds(100))
            }
            try await Task.sleep(for: .seconds(3))
            let recovered = try await count(pipeline, "SELECT count(*) FROM alerting.outbox WHERE last_error LIKE 'found on the topic at start%'")
            #expect(recovered == total, "every message was found on the topic and marked, none sent again")
            #expect(reader.messages.count == total, "\(reader.messages.count) messages on the topic for \(total) transitions")
            await values.close()
            await reader.close()
        }
    }

    @Test("the missing-report timer fires at the due date and not a second before, and resolves when the data arrives (injected clock)")
    func missingReportTimer() async throws {
        var rule = AlertRule(code: "missing_dossiers_test", kind: .missingReport, nameVi: "Chưa báo cáo hồ sơ", nameEn: "Dossiers missing")
        rule.elements = ["dossiers_received_total"]
        rule.levels = [.province]
        rule.within = ["44"]
        rule.dueDays = 10
        rule.since = .month(2026, 1)
        rule.severity = .warning
        let theRule = rule
        #expect(AlertRuleValidation.problems([rule], catalog: catalog) == [])
        let deadline = MissingReportSchedule.deadline(of: .month(2026, 1), dueDays: 10)
        #expect(RFC3339.string(deadline) == "2026-02-10T17:00:00.000Z", "due on 10 February, late from midnight in Việt Nam")
        let clock = ManualClock(deadline.addingTimeInterval(-1))
        let catalog = self.catalog
        let fingerprint = AlertFingerprint.make(rule: theRule.code, unit: "44", indicator: "dossiers_received_total", period: .month(2026, 1))

        // dx-ingest and dx-indicators for real (the figure arrives through them); the timer in this
        // process with its clock, connected as dx-alerts' role, which reads reporting.cell_values
        // and nothing else of the engine.
        try await withPipeline("timer", services: [Pipeline.ingest, Pipeline.indicators]) { pipeline in
            let configuration = try DatabaseConfiguration(url: pipeline.database.url(role: "dx_alerts"))
            func timerCheck() async throws -> Int {
                try await withDatabase(configuration, logger: TestEnvironment.logger("timer")) { (db: Database) async throws -> Int in
                    let store = AlertStore(catalog: catalog, routes: [], topics: TopicNames(prefix: "t."), source: "dx-alerts", logger: TestEnvironment.logger("timer"))
                    let timer = MissingReportTimer(rules: [theRule], catalog: catalog, store: store, database: db, clock: clock, interval: .seconds(60),
                                                   logger: TestEnvironment.logger("timer"))
                    return try await timer.check()
                }
            }
            #expect(try await timerCheck() == 0, "one second before the deadline nothing is late")
            clock.set(deadline)
            #expect(try await timerCheck() == 1, "at the deadline Quảng Trị's January report is late")
            #expect(try await timerCheck() == 0, "and it fires once")
            clock.set(deadline.addingTimeInterval(86_400 * 31))
            #expect(try await timerCheck() == 1, "a month later February's is late too")

            let rows = try await pipeline.withAdmin { db in
                var rows: [(String, String, String)] = []
                for try await row in try await db.query("SELECT fingerprint, status, summary_vi FROM alerting.alerts ORDER BY period").decode((String, String, String).self) {
                    rows.append(row)
                }
                return rows
            }
            #expect(rows.map(\.1) == ["firing", "firing"])
            #expect(rows.first?.0 == fingerprint)
            #expect(rows.first?.2 == "Tỉnh Quảng Trị: chưa có số liệu “số hồ sơ thủ tục hành chính tiếp nhận” tháng 1/2026 — quá hạn báo cáo ngày 10/02/2026")
            let outbox = try await pipeline.withAdmin { db in
                var topics: [String] = []
                for try await topic in try await db.query("SELECT topic FROM alerting.outbox ORDER BY id").decode(String.self) { topics.append(topic) }
                return topics
            }
            #expect(outbox == ["t.dx.alerts.v1", "t.dx.alerts.v1"], "each transition goes to dx.alerts.v1 through the outbox")

            // Quảng Trị reports January late: once dx-indicators has applied it, the next check resolves that alert.
            let token = try await pipeline.token(unit: "44")
            let report = try await HTTP.post("\(pipeline.ingestURL)/v1/reports", token: token, json: EndToEndTests.report(
                "quangtri-2026-01", revision: 1, unit: "44", period: "2026-01", values: ["dossiers_received_total": 1234]))
            #expect(report.status == 201, "\(report.text)")
            try await pipeline.waitUntilApplied(["quangtri-2026-01"], token: token)
            #expect(try await timerCheck() == 1)
            let status = try await pipeline.withAdmin { db in
                var status = ""
                for try await value in try await db.query("SELECT status FROM alerting.alerts WHERE fingerprint = \(fingerprint)").decode(String.self) { status = value }
                return status
            }
            #expect(status == "resolved")
        }
    }

    @Test("operators acknowledge and silence; silenced alerts are recorded and published but not delivered; webhooks are grouped, retried with backoff, failures recorded")
    func operatorsAndWebhooks() async throws {
        let server = try await WebhookServer(failures: ["/flaky": [500, 503]])
        defer { server.stop() }
        let webhooks = FileManager.default.temporaryDirectory.appendingPathComponent("webhooks-\(UInt32.random(in: 0..<UInt32.max)).json")
        try Data("""
            [
              {"name": "quang-tri", "url": "\(server.url("/quang-tri"))", "unit": "44", "minSeverity": "warning", "rules": ["below_target"], "groupWait": "300ms", "groupInterval": "1s"},
              {"name": "flaky", "url": "\(server.url("/flaky"))", "unit": "44", "rules": ["below_target"], "groupWait": "200ms", "groupInterval": "1s", "initialBackoff": "100ms", "maxAttempts": 5},
              {"name": "dead", "url": "http://127.0.0.1:\(freePort())/gone", "unit": "44", "rules": ["below_target"], "groupWait": "100ms", "initialBackoff": "100ms", "maxAttempts": 2, "timeout": "2s"},
              {"name": "ha-noi", "url": "\(server.url("/ha-noi"))", "unit": "01", "rules": ["below_target"], "groupWait": "100ms"}
            ]
            """.utf8).write(to: webhooks)
        try await withPipeline("operators", services: []) { pipeline in
            try await pipeline.start([Pipeline.alerts], extraEnvironment: ["DX_WEBHOOKS_FILE": webhooks.path, "DX_ALERTS_POLL_INTERVAL": "0.5"])
            let reader = try TopicReader(topic: pipeline.topics.alerts, brokers: pipeline.brokers)
            let values = try IndicatorValues(pipeline: pipeline, catalog: catalog)
            let (dakrong, camlo, hailang): (UnitCode, UnitCode, UnitCode) = ("old-467", "old-468", "old-470")

            // Hải Lăng is silenced before anything fires there.
            let silence = try runDX(["alerts", "silence", "--rule", "below_target", "--unit", hailang.rawValue, "--until", "2h", "--by", "Lan", "--comment", "đang xác minh số liệu"], pipeline: pipeline)
            #expect(silence.status == 0, "\(silence.output)")
            #expect(silence.output.contains("applied: 0 open alert(s) silenced"), "\(silence.output)")

            // Two districts below target in one message: one group (Quảng Trị, below_target), one notification.
            try await values.publish([values.change(dakrong, .year(2023), "35.4440926512"), values.change(camlo, .year(2023), "60"),
                                      values.change(hailang, .year(2023), "50")])
            let dakrongAlert = fingerprint("below_target", dakrong, .year(2023))
            let camloAlert = fingerprint("below_target", camlo, .year(2023))
            let hailangAlert = fingerprint("below_target", hailang, .year(2023))
            try await AlertRows.wait(pipeline, dakrongAlert, status: "firing")
            try await AlertRows.wait(pipeline, hailangAlert, status: "silenced")

            // Acknowledged through the command line; dx-alerts publishes the transition.
            let ack = try runDX(["alerts", "ack", dakrongAlert, "--by", "Nguyễn Văn An", "--comment", "Sở TT&TT đã liên hệ huyện"], pipeline: pipeline)
            #expect(ack.status == 0, "\(ack.output)")
            #expect(ack.output.contains("\(dakrongAlert): acknowledged"), "\(ack.output)")
            try await AlertRows.wait(pipeline, dakrongAlert, status: "acknowledged")
            let resolvedAck = try runDX(["alerts", "ack", "0000000000000000", "--by", "An"], pipeline: pipeline)
            #expect(resolvedAck.status != 0 && resolvedAck.output.contains("no alert has fingerprint"), "\(resolvedAck.output)")

            // Cam Lộ is silenced while firing, for a moment: silenced now, firing again when it ends.
            let short = try runDX(["alerts", "silence", "--rule", "*", "--unit", camlo.rawValue, "--until", "3s", "--by", "Lan"], pipeline: pipeline)
            #expect(short.status == 0 && short.output.contains("applied: 1 open alert(s) silenced"), "\(short.output)")
            try await AlertRows.wait(pipeline, camloAlert, status: "silenced")
            try await AlertRows.wait(pipeline, camloAlert, status: "firing")

            // The silenced Hải Lăng resolves: recorded and published, never delivered.
            try await values.publish([values.change(hailang, .year(2023), "85"), values.change(dakrong, .year(2023), "82")])
            try await AlertRows.wait(pipeline, hailangAlert, status: "resolved")
            try await AlertRows.wait(pipeline, dakrongAlert, status: "resolved")

            let listing = try runDX(["alerts", "list", "--open", "--unit", "old-45"], pipeline: pipeline)
            #expect(listing.status == 0 && listing.output.contains(camloAlert) && !listing.output.contains(dakrongAlert), "\(listing.output)")

            try await reader.wait(for: "every transition") { messages in
                let transitions = (try? messages.map { try MessageCoding.decode(Envelope<AlertTransition>.self, from: $0.value).data }) ?? []
                return transitions.contains { $0.fingerprint == hailangAlert && $0.status == .resolved }
                    && transitions.contains { $0.fingerprint == dakrongAlert && $0.status == .resolved }
            }
            let published = Dictionary(grouping: try distinctTransitions(reader).map(\.data), by: \.fingerprint)
            #expect(published[dakrongAlert]?.map(\.status) == [.firing, .acknowledged, .resolved])
            #expect(published[dakrongAlert]?[1].acknowledgement?.by == "Nguyễn Văn An")
            #expect(published[camloAlert]?.map(\.status) == [.firing, .silenced, .firing])
            #expect(published[hailangAlert]?.map(\.status) == [.silenced, .resolved], "silenced alerts are recorded and published")
            #expect(published[hailangAlert]?.first?.silence?.by == "Lan")
            let schema = try JSONSchemaCheck(file: alertsSchemaFile)
            for message in reader.messages { #expect(schema.violations(message.value).isEmpty, "\(schema.violations(message.value))") }

            // Webhooks: wait until the flaky receiver got Đa Krông's resolution, after its retries.
            let deliveryDeadline = ContinuousClock.now + .seconds(60)
            func bodies(_ path: String) -> [[String: Any]] { server.received.filter { $0.path == path }.compactMap(\.json) }
            func fingerprints(_ body: [String: Any]) -> [String] { ((body["alerts"] as? [[String: Any]]) ?? []).compactMap { $0["fingerprint"] as? String } }
            // A group's status stays "firing" while any of its alerts fires (Cam Lộ does): the
            // resolution is the alert's own status inside the notification.
            func resolvesDakrong(_ body: [String: Any]) -> Bool {
                ((body["alerts"] as? [[String: Any]]) ?? []).contains { $0["fingerprint"] as? String == dakrongAlert && $0["status"] as? String == "resolved" }
            }
            while !bodies("/flaky").contains(where: resolvesDakrong) || !bodies("/quang-tri").contains(where: resolvesDakrong) {
                guard ContinuousClock.now < deliveryDeadline else {
                    throw TestFailure("webhooks incomplete: \(server.received.map { "\($0.path) \(String(decoding: $0.body, as: UTF8.self))" })")
                }
                try await Task.sleep(for: .milliseconds(200))
            }
            try await Task.sleep(for: .seconds(2))
            let quangTri = bodies("/quang-tri")
            let first = try #require(quangTri.first)
            #expect(first["groupKey"] as? String == "44/below_target")
            #expect(Set(fingerprints(first)) == [dakrongAlert, camloAlert], "one notification for the group, both alerts in it")
            #expect((first["group"] as? [String: Any])?["provinceName"] as? String == "Tỉnh Quảng Trị")
            let delivered = quangTri.flatMap(fingerprints) + bodies("/flaky").flatMap(fingerprints)
            #expect(!delivered.contains(hailangAlert), "the silenced alert is never delivered")
            #expect(bodies("/ha-noi").isEmpty, "a receiver for another province gets nothing")
            let flakyRequests = server.received.filter { $0.path == "/flaky" }
            #expect(flakyRequests.count >= 3)
            #expect(flakyRequests[0].body == flakyRequests[1].body && flakyRequests[1].body == flakyRequests[2].body, "retries send the same notification")

            let deliveries = try await pipeline.withAdmin { db in
                var rows: [(String, String, Int)] = []
                for try await row in try await db.query("SELECT receiver, status, attempts FROM alerting.webhook_deliveries ORDER BY id").decode((String, String, Int).self) {
                    rows.append(row)
                }
                return rows
            }
            #expect(deliveries.contains { $0.0 == "flaky" && $0.1 == "delivered" && $0.2 == 3 }, "\(deliveries)")
            #expect(deliveries.contains { $0.0 == "dead" && $0.1 == "failed" && $0.2 == 2 }, "recorded as failed after the last try: \(deliveries)")
            #expect(!deliveries.contains { $0.1 == "pending" && $0.0 != "dead" }, "\(deliveries)")
            let failedListing = try runDX(["alerts", "deliveries", "--failed"], pipeline: pipeline)
            #expect(failedListing.output.contains("dead"), "\(failedListing.output)")
            let notified = try await count(pipeline, "SELECT count(*) FROM alerting.webhook_notifications WHERE message_id IN (SELECT message_id FROM alerting.transitions WHERE fingerprint = '\(hailangAlert)')")
            #expect(notified == 0)
            await values.close()
            await reader.close()
        }
    }
}

/// Distinct envelope ids among messages.
func distinctCount(_ messages: [KafkaMessage]) throws -> Int {
    Set(try messages.map { try MessageCoding.decode(EnvelopeHeader.self, from: $0.value).id }).count
}
