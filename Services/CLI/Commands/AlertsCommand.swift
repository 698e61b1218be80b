import ArgumentParser
import DXKafka
import DXModel
import DXStore
import Foundation
import Logging
import PostgresNIO

struct AlertsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "alerts",
        abstract: "List, acknowledge, silence and follow alerts.",
        discussion: """
            Operator actions are written to the alerting schema; dx-alerts applies them and publishes the
            resulting transitions (acknowledged, silenced, and firing again at expiry) on dx.alerts.v1.
            TIME is RFC 3339 (2026-12-01T08:00:00+07:00), a Vietnam-time date or date and time
            (2026-12-01, 2026-12-01 08:00), or a span from now (90m, 12h, 7d).
            """,
        subcommands: [List.self, Ack.self, Silence.self, Silences.self, Unsilence.self, Tail.self, Deliveries.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List alerts, most severe and newest first.")

        @Flag(help: "Only open alerts (firing, acknowledged or silenced).")
        var open = false
        @Option(help: "Only this unit and the units under it.")
        var unit: String?
        @Option(help: "Only this severity or worse (info, warning, critical).")
        var severity: String?
        @Option(help: "Only this rule.")
        var rule: String?
        @Option(help: "Only these kinds of rule, comma-separated (below_target, off_track, regression, data_quality, missing_report).")
        var kind: String?
        @Option(help: "First wait up to this many seconds until dx-alerts has judged every indicator value dx-indicators published.")
        var wait: Int?
        @Option(help: "At most this many alerts.")
        var limit = 100
        @Flag(help: "Print the English summary instead of the Vietnamese one.")
        var english = false
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let (open, unit, limit, rule, english, wait) = (self.open, self.unit, self.limit, self.rule, self.english, self.wait)
            let kinds = try kind.map { text -> [String] in
                let kinds = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                for kind in kinds where AlertRuleKind(rawValue: kind) == nil {
                    throw ValidationError("kind '\(kind)' is not one of \(AlertRuleKind.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return kinds
            }
            let minimum = try severity.map { text -> AlertSeverity in
                guard let value = AlertSeverity(rawValue: text) else { throw ValidationError("severity must be info, warning or critical") }
                return value
            }
            let severities = AlertSeverity.allCases.filter { $0 >= (minimum ?? .info) }.map(\.rawValue)
            let logger = database.logger
            let (rows, total) = try await withDatabase(url: try database.resolvedURL(), logger: logger) { db -> ([[String]], Int) in
                var units: [String]? = nil
                if let unit {
                    units = try await subtree(of: unit, db)
                    if units?.isEmpty ?? true { throw CLIError("unit \(unit) is not in the catalog") }
                }
                if let wait { try await waitUntilJudged(db: db, seconds: wait) }
                var result: [[String]] = []
                var total = 0
                for try await row in try await db.query("""
                    SELECT a.fingerprint, a.status, a.severity, a.rule, a.unit, a.period, a.starts_at,
                           CASE WHEN \(english) THEN a.summary_en ELSE a.summary_vi END,
                           coalesce(a.acknowledged_by, ''), coalesce(s.ends_at::text, ''), count(*) OVER ()
                    FROM alerting.alerts a LEFT JOIN alerting.silences s ON s.id = a.silence_id AND a.status = 'silenced'
                    WHERE (\(!open) OR a.status IN ('firing', 'acknowledged', 'silenced'))
                      AND (\(units == nil) OR a.unit = ANY(\(units ?? [])))
                      AND (\(rule == nil) OR a.rule = \(rule ?? ""))
                      AND (\(kinds == nil) OR a.rule_kind = ANY(\(kinds ?? [])))
                      AND a.severity = ANY(\(severities))
                    ORDER BY CASE a.severity WHEN 'critical' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, a.starts_at DESC, a.fingerprint
                    LIMIT \(limit)
                    """).decode((String, String, String, String, String, String, Date, String, String, String, Int).self) {
                    var status = row.1
                    if !row.8.isEmpty && row.1 == "acknowledged" { status += " by \(row.8)" }
                    if !row.9.isEmpty { status += " until \(row.9.prefix(16))" }
                    result.append([row.0, status, row.2, row.3, row.4, row.5, RFC3339.string(row.6), row.7])
                    total = row.10
                }
                return (result, total)
            }
            print(rows.isEmpty ? "no alerts" : TextTable.render(header: ["fingerprint", "status", "severity", "rule", "unit", "period", "since", "summary"], rows: rows))
            if total > rows.count { print("(\(rows.count) of \(total); raise --limit to see more)") }
        }
    }

    struct Ack: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Acknowledge an open alert: someone is on it.",
            discussion: "The alert stays open (status acknowledged) until its condition clears, or until --until, when it fires again."
        )

        @Argument(help: "The alert's fingerprint (dx alerts list).")
        var fingerprint: String
        @Option(help: "Who acknowledges.")
        var by: String
        @Option(help: "Why, or what is being done.")
        var comment: String?
        @Option(help: "Until when (TIME); default: until the alert resolves.")
        var until: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let (fingerprint, by, comment) = (self.fingerprint, self.by, self.comment)
            guard !by.trimmingCharacters(in: .whitespaces).isEmpty else { throw ValidationError("--by must name someone") }
            let until = try until.map { text -> Date in
                guard let date = OperatorTime.parse(text, now: Date()) else { throw ValidationError("--until '\(text)' is not a TIME (see dx alerts --help)") }
                guard date > Date() else { throw ValidationError("--until is in the past") }
                return date
            }
            let logger = database.logger
            let outcome = try await withDatabase(url: try database.resolvedURL(), logger: logger) { db -> String in
                var status: String?
                for try await value in try await db.query("SELECT status FROM alerting.alerts WHERE fingerprint = \(fingerprint)").decode(String.self) {
                    status = value
                }
                guard let status else { throw CLIError("no alert has fingerprint \(fingerprint)") }
                guard status != "resolved" else { throw CLIError("alert \(fingerprint) is resolved; there is nothing to acknowledge") }
                var id: Int64 = 0
                for try await value in try await db.query("""
                    INSERT INTO alerting.acknowledgements (fingerprint, created_by, comment, until) VALUES (\(fingerprint), \(by), \(comment), \(until))
                    RETURNING id
                    """).decode(Int64.self) { id = value }
                try await db.query("SELECT pg_notify('alerting_operations', '')")
                return try await waitApplied(db: db, sql: "SELECT outcome FROM alerting.acknowledgements WHERE id = \(id) AND applied_at IS NOT NULL")
                    ?? "recorded; dx-alerts will apply and publish it when it runs"
            }
            print("\(fingerprint): \(outcome)")
        }
    }

    struct Silence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Silence a rule for a unit and everything under it until a time.",
            discussion: "Matching alerts are still evaluated, recorded and published on dx.alerts.v1 (status silenced), but not sent to webhooks. At --until they fire again if their condition still holds."
        )

        @Option(help: "The rule (dx alerts list shows them; * for every rule).")
        var rule: String
        @Option(help: "The unit; its whole subtree is silenced.")
        var unit: String
        @Option(help: "Until when (TIME).")
        var until: String
        @Option(help: "From when (TIME); default now.")
        var from: String?
        @Option(help: "Who silences (default: $USER).")
        var by: String?
        @Option(help: "Why.")
        var comment: String?
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let now = Date()
            guard let ends = OperatorTime.parse(until, now: now) else { throw ValidationError("--until '\(until)' is not a TIME (see dx alerts --help)") }
            let starts = try from.map { text -> Date in
                guard let date = OperatorTime.parse(text, now: now) else { throw ValidationError("--from '\(text)' is not a TIME") }
                return date
            } ?? now
            guard ends > max(starts, now) else { throw ValidationError("--until must be after now and after --from") }
            let (rule, unit, comment) = (self.rule, self.unit, self.comment)
            let by = self.by ?? ProcessInfo.processInfo.environment["USER"] ?? "operator"
            let logger = database.logger
            let (id, outcome) = try await withDatabase(url: try database.resolvedURL(), logger: logger) { db -> (Int64, String?) in
                if rule != "*" {
                    var known = false
                    for try await _ in try await db.query("SELECT 1 FROM catalog.alert_rules WHERE code = \(rule)").decode(Int.self) { known = true }
                    guard known else { throw CLIError("rule \(rule) is not in catalog.alert_rules (use * for every rule)") }
                }
                _ = try await subtree(of: unit, db)  // an unknown unit is a clear error
                var id: Int64 = 0
                for try await value in try await db.query("""
                    INSERT INTO alerting.silences (rule, unit, starts_at, ends_at, created_by, comment) VALUES (\(rule), \(unit), \(starts), \(ends), \(by), \(comment))
                    RETURNING id
                    """).decode(Int64.self) { id = value }
                try await db.query("SELECT pg_notify('alerting_operations', '')")
                guard starts <= now else { return (id, nil) }
                let applied = try await waitApplied(db: db, sql: "SELECT 'applied' FROM alerting.silences WHERE id = \(id) AND applied_at IS NOT NULL")
                guard applied != nil else { return (id, "recorded; dx-alerts will apply it when it runs") }
                var muted = 0
                for try await count in try await db.query("SELECT count(*)::int FROM alerting.alerts WHERE silence_id = \(id) AND status = 'silenced'").decode(Int.self) {
                    muted = count
                }
                return (id, "applied: \(muted) open alert(s) silenced")
            }
            print("silence \(id): \(rule) for \(unit) and below until \(RFC3339.string(ends)); \(outcome ?? "starts at \(RFC3339.string(starts))")")
        }
    }

    struct Silences: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List silences that have not ended.")

        @Flag(help: "Also silences that ended.")
        var all = false
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let all = self.all
            let rows = try await withDatabase(url: try database.resolvedURL(), logger: database.logger) { db -> [[String]] in
                var rows: [[String]] = []
                for try await row in try await db.query("""
                    SELECT s.id, s.rule, s.unit, s.starts_at, s.ends_at, s.created_by, coalesce(s.comment, ''),
                           (SELECT count(*)::int FROM alerting.alerts a WHERE a.silence_id = s.id AND a.status = 'silenced')
                    FROM alerting.silences s WHERE \(all) OR s.ends_at > now() ORDER BY s.id
                    """).decode((Int64, String, String, Date, Date, String, String, Int).self) {
                    rows.append([String(row.0), row.1, row.2, RFC3339.string(row.3), RFC3339.string(row.4), row.5, String(row.7), row.6])
                }
                return rows
            }
            print(rows.isEmpty ? "no silences" : TextTable.render(header: ["id", "rule", "unit", "from", "until", "by", "muted", "comment"], rows: rows))
        }
    }

    struct Unsilence: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "End a silence now; its alerts fire again if their condition holds.")

        @Argument(help: "The silence's id (dx alerts silences).")
        var id: Int64
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let id = self.id
            let changed = try await withDatabase(url: try database.resolvedURL(), logger: database.logger) { db -> Int in
                var changed = 0
                for try await _ in try await db.query("""
                    UPDATE alerting.silences SET ends_at = greatest(now(), starts_at + interval '1 millisecond') WHERE id = \(id) AND ends_at > now() RETURNING id
                    """).decode(Int64.self) { changed += 1 }
                try await db.query("SELECT pg_notify('alerting_operations', '')")
                return changed
            }
            print(changed == 0 ? "silence \(id) does not exist or has already ended" : "silence \(id) ended")
        }
    }

    struct Tail: AsyncParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Follow dx.alerts.v1 live, as a subscriber with a consumer group of its own.",
            discussion: "Starts at the end of the topic (or the beginning with --from-beginning). With --group NAME a later run resumes where this one stopped."
        )

        @Option(help: "Kafka brokers (default: $DX_KAFKA_BROKERS or 127.0.0.1:9092).")
        var brokers: String?
        @Option(help: "Topic prefix of the deployment (default: $DX_TOPIC_PREFIX).")
        var topicPrefix: String?
        @Option(help: "Consumer group (default: a new one for this run).")
        var group: String?
        @Flag(help: "Read the topic from its beginning.")
        var fromBeginning = false
        @Flag(help: "Print each message as it arrived (JSON).")
        var json = false
        @Flag(help: "Print the English summary instead of the Vietnamese one.")
        var english = false
        @Option(help: "Stop after this many messages.")
        var max: Int?

        func run() async throws {
            let environment = ProcessInfo.processInfo.environment
            let brokers = self.brokers ?? environment["DX_KAFKA_BROKERS"] ?? "127.0.0.1:9092"
            let topics = TopicNames(prefix: topicPrefix ?? environment["DX_TOPIC_PREFIX"] ?? "")
            let group = self.group ?? "\(topics.prefix)dx-alerts-tail-\(String(UInt32.random(in: 0..<UInt32.max), radix: 16))"
            var logger = Logger(label: "dx-alerts-tail")
            logger.logLevel = .warning
            var configuration = KafkaConsumerConfiguration(
                client: KafkaClientConfiguration(bootstrapServers: brokers, clientID: "dx-alerts-tail",
                                                 properties: KafkaClientConfiguration.properties(fromEnvironment: environment)),
                groupID: group, topics: [topics.alerts]
            )
            configuration.startFromBeginning = fromBeginning
            configuration.maximumBatchSize = 100
            let consumer = try KafkaConsumer(configuration: configuration, rebalanceHandler: CommittedOffsets(), logger: logger)
            printError("following \(topics.alerts) on \(brokers) as group \(group) (Ctrl-C to stop)")
            let signals = SignalStop(consumer: consumer)
            var seen = 0
            loop: for await batch in consumer.batches {
                var next: [KafkaTopicPartition: Int64] = [:]
                for message in batch {
                    next[message.topicPartition] = message.offset + 1
                    var line: String
                    if json {
                        line = String(decoding: message.value, as: UTF8.self)
                    } else if let envelope = try? MessageCoding.decode(Envelope<AlertTransition>.self, from: message.value) {
                        let alert = envelope.data
                        let status = alert.status.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0)
                        let severity = alert.severity.rawValue.padding(toLength: 8, withPad: " ", startingAt: 0)
                        line = "\(alert.at ?? envelope.producedAt)  \(status) \(severity) \(alert.rule)  \(alert.fingerprint)  \(english ? alert.summary.en : alert.summary.vi)"
                    } else {
                        line = "(undecodable message at \(message.topic)/\(message.partition)@\(message.offset))"
                    }
                    // Unbuffered: a tail is read as it happens, also through a pipe.
                    FileHandle.standardOutput.write(Data((line + "\n").utf8))
                    seen += 1
                    if let max, seen >= max {
                        consumer.commitToBroker(next)
                        break loop
                    }
                }
                consumer.commitToBroker(next)
            }
            consumer.stop()
            await consumer.close()
            signals.cancel()
        }
    }

    struct Deliveries: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List webhook notifications and whether they were delivered.")

        @Flag(help: "Only those recorded as failed after their last try.")
        var failed = false
        @Option(help: "At most this many.")
        var limit = 50
        @OptionGroup var database: DatabaseOptions

        func run() async throws {
            let (failed, limit) = (self.failed, self.limit)
            let rows = try await withDatabase(url: try database.resolvedURL(), logger: database.logger) { db -> [[String]] in
                var rows: [[String]] = []
                for try await row in try await db.query("""
                    SELECT id, receiver, group_key, status, attempts, alert_count, created_at, coalesce(last_error, '')
                    FROM alerting.webhook_deliveries WHERE NOT \(failed) OR status = 'failed' ORDER BY id DESC LIMIT \(limit)
                    """).decode((Int64, String, String, String, Int, Int, Date, String).self) {
                    rows.append([String(row.0), row.1, row.2, row.3, String(row.4), String(row.5), RFC3339.string(row.6), String(row.7.prefix(80))])
                }
                return rows
            }
            print(rows.isEmpty ? "no webhook notifications" : TextTable.render(header: ["id", "receiver", "group", "status", "tries", "alerts", "made", "last error"], rows: rows))
        }
    }
}

/// The unit and every unit under it.
/// Waits until every indicator-values message dx-indicators published has been applied by
/// dx-alerts (as the admin, who reads both schemas); a note on stderr if it has not in time.
private func waitUntilJudged(db: Database, seconds: Int) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while true {
        var pending = 0
        for try await count in try await db.query("""
            SELECT count(*)::int FROM engine.outbox o
            WHERE o.topic LIKE '%dx.indicator-values.v1'
              AND NOT EXISTS (SELECT 1 FROM alerting.processed_messages p WHERE p.message_id = o.message_id)
            """).decode(Int.self) { pending = count }
        if pending == 0 { return }
        guard ContinuousClock.now < deadline else {
            printError("dx-alerts has not yet judged \(pending) message(s) of indicator values; listing what it has")
            return
        }
        try await Task.sleep(for: .milliseconds(250))
    }
}

/// Polls until dx-alerts has applied an operator action (up to 10 s); nil if it has not.
private func waitApplied(db: Database, sql: String) async throws -> String? {
    for _ in 0..<50 {
        for try await outcome in try await db.query(PostgresQuery(unsafeSQL: sql)).decode(String?.self) {
            return outcome ?? "applied"
        }
        try await Task.sleep(for: .milliseconds(200))
    }
    return nil
}

/// Starts where the group's committed offsets say, or per auto.offset.reset for a new group.
private struct CommittedOffsets: KafkaRebalanceHandler {
    func partitionsAssigned(_ partitions: [KafkaTopicPartition]) async throws -> [KafkaTopicPartition: Int64] { [:] }
    func partitionsRevoked(_ partitions: [KafkaTopicPartition]) async {}
}

/// Stops the tail's consumer on SIGINT or SIGTERM so it leaves its group cleanly.
private final class SignalStop {
    private let sources: [any DispatchSourceSignal]

    init(consumer: KafkaConsumer) {
        var sources: [any DispatchSourceSignal] = []
        for signalNumber in [SIGINT, SIGTERM] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .global())
            source.setEventHandler { consumer.stop() }
            source.resume()
            sources.append(source)
        }
        self.sources = sources
    }

    func cancel() {
        for source in sources { source.cancel() }
    }
}

/// Times operators type: RFC 3339, a Vietnam-time date or date and time, or a span from now.
enum OperatorTime {
    static func parse(_ text: String, now: Date) -> Date? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if trimmed.hasSuffix("d"), let days = Int(trimmed.dropLast()), days > 0 {
            return now.addingTimeInterval(TimeInterval(days) * 86_400)
        }
        if let span = WebhookConfiguration.parseDuration(trimmed) {
            let (seconds, attoseconds) = span.components
            return now.addingTimeInterval(TimeInterval(seconds) + TimeInterval(attoseconds) / 1e18)
        }
        if let date = RFC3339.date(trimmed) { return date }
        if let day = Day(trimmed) { return day.startInstant }
        let parts = trimmed.split(whereSeparator: { $0 == " " || $0 == "T" })
        if parts.count == 2, let day = Day(String(parts[0])) {
            let clock = parts[1].split(separator: ":").compactMap { Int($0) }
            guard (2...3).contains(clock.count), (0..<24).contains(clock[0]), (0..<60).contains(clock[1]) else { return nil }
            let seconds = clock.count == 3 ? clock[2] : 0
            return day.startInstant.addingTimeInterval(TimeInterval(clock[0] * 3600 + clock[1] * 60 + seconds))
        }
        return nil
    }
}
