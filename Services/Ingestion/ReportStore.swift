import DXModel
import DXStore
import Foundation
import Logging
import PostgresNIO

/// What a client gets back for an accepted report revision. Stored with the revision, so
/// resubmitting the same revision returns exactly this again.
struct ReportReceipt: Codable, Sendable {
    var reportId: String
    var revision: Int
    var status: String
    var acceptedAt: String
    var observations: Int
    var withdrawn: Int
    var rejected: [Problem.RowError]?
    var sequence: Int64
    var statusUrl: String
}

/// Accepts report revisions into the `ingest` schema: the values, the revision and the outbox
/// messages for `dx.observations.v1` are written in one transaction, so a 2xx means the report
/// is durable and will reach the engine.
struct ReportStore: Sendable {
    let database: Database
    let catalog: Catalog
    let logger: Logger
    let source: String
    let topics: TopicNames
    let outbox = Outbox(schema: "ingest")

    enum Outcome: Sendable {
        case accepted(ReportReceipt)
        case replayed(ReportReceipt)
    }

    func accept(_ submission: ReportSubmission, token: TokenStore.Token) async throws -> Outcome {
        let catalog = self.catalog
        let logger = self.logger
        let source = self.source
        let outbox = self.outbox
        let topics = self.topics
        return try await database.withTransaction { connection -> Outcome in
            // Creates the report or locks the existing one (the no-op update takes the row lock),
            // and draws the acceptance sequence, in one round trip.
            var owner = token.unit.rawValue
            var current = 0
            var sequence: Int64 = 0
            for try await (unit, revision, next) in try await connection.query("""
                INSERT INTO ingest.reports (report_id, unit, revision, sequence) VALUES (\(submission.reportID), \(token.unit.rawValue), 0, 0)
                ON CONFLICT (report_id) DO UPDATE SET report_id = excluded.report_id
                RETURNING unit, revision, nextval('ingest.acceptance_sequence')
                """, logger: logger).decode((String, Int, Int64).self) {
                owner = unit
                current = revision
                sequence = next
            }
            if current > 0 && !catalog.units.isWithin(UnitCode(owner), subtreeOf: token.unit) {
                throw Problem.forbidden("report \(submission.reportID) belongs to unit \(owner), outside the token's unit \(token.unit)")
            }
            if submission.revision == current {
                for try await (digest, response) in try await connection.query(
                    "SELECT content_sha256, response FROM ingest.report_revisions WHERE report_id = \(submission.reportID) AND revision = \(current)", logger: logger
                ).decode((ByteBuffer, String).self) {
                    guard Array(buffer: digest) == submission.contentDigest else {
                        throw Problem.conflict("revision \(current) of report \(submission.reportID) was already accepted with different values; send them as revision \(current + 1)")
                    }
                    let receipt = try JSONDecoder().decode(ReportReceipt.self, from: Data(response.utf8))
                    return .replayed(receipt)
                }
            }
            if submission.revision < current {
                throw Problem.conflict("revision \(submission.revision) of report \(submission.reportID) is older than the accepted revision \(current); a lower revision never replaces a higher one")
            }

            // A committed report has revision 1 or more: at 0 it is new and has no values yet.
            var previous = Set<CellKey>()
            if current > 0 {
                for try await (unit, period, element) in try await connection.query(
                    "DELETE FROM ingest.report_values WHERE report_id = \(submission.reportID) RETURNING unit, period, element", logger: logger
                ).decode((String, String, String).self) {
                    if let period = Period(period) { previous.insert(CellKey(unit: UnitCode(unit), period: period, element: element)) }
                }
            }
            let withdrawn = previous.isEmpty ? [] : previous.subtracting(submission.rows.map(\.key)).sorted()
            if submission.rows.isEmpty && previous.isEmpty {
                throw Problem.invalid([.init(line: 0, field: "observations", reason: "a report needs at least one valid observation", pointer: "/observations")], rows: 0)
            }

            // Straight in: the report's previous values are gone and its rows are distinct cells.
            // The report id matches its pattern and codes are the catalog's: no text to escape.
            let reportID = submission.reportID
            try await connection.copy(submission.rows, into: "ingest.report_values", columns: ["report_id", "unit", "period", "element", "value"],
                                      logger: logger) { row, writer in
                writer.field(unescaped: reportID)
                writer.field(unescaped: row.unit.rawValue)
                writer.field(row.period)
                writer.field(unescaped: row.element)
                writer.field(row.value)
            }

            // One message per province: each goes to its province's partition.
            var byProvince: [UnitCode: [Observation]] = [:]
            for row in submission.rows {
                let province = catalog.units.province(of: row.unit) ?? row.unit
                byProvince[province, default: []].append(Observation(unit: row.unit, period: row.period, element: row.element, value: row.value))
            }
            for key in withdrawn {
                let province = catalog.units.province(of: key.unit) ?? key.unit
                byProvince[province, default: []].append(Observation(unit: key.unit, period: key.period, element: key.element, withdrawn: true))
            }
            var messages: [OutboxMessage] = []
            for (province, observations) in byProvince.sorted(by: { $0.key < $1.key }) {
                let batch = ObservationBatch(province: province, origin: .report, reportID: submission.reportID, revision: submission.revision,
                                             sequence: sequence, observations: observations)
                let envelope = Envelope(schema: ObservationBatch.schema, source: source, data: batch)
                messages.append(try OutboxMessage(topic: topics.observations, key: province.rawValue, envelope: envelope))
            }
            try await outbox.enqueue(messages, on: connection, logger: logger)

            let receipt = ReportReceipt(
                reportId: submission.reportID, revision: submission.revision, status: "accepted", acceptedAt: RFC3339.string(Date()),
                observations: submission.rows.count, withdrawn: withdrawn.count,
                rejected: submission.rejected.isEmpty ? nil : submission.rejected, sequence: sequence,
                statusUrl: "/v1/reports/\(submission.reportID.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? submission.reportID)"
            )
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let response = String(decoding: try encoder.encode(receipt), as: UTF8.self)
            try await connection.query("""
                WITH revision AS (
                    INSERT INTO ingest.report_revisions (report_id, revision, sequence, token_id, content_sha256, observation_count, message_ids, response)
                    VALUES (\(submission.reportID), \(submission.revision), \(sequence), \(token.id), \(ByteBuffer(bytes: submission.contentDigest)),
                            \(submission.rows.count), \(messages.map(\.id)), \(response))
                )
                UPDATE ingest.reports SET revision = \(submission.revision), sequence = \(sequence), updated_at = now()
                WHERE report_id = \(submission.reportID)
                """, logger: logger)
            return .accepted(receipt)
        }
    }

    /// Where a report is: accepted (committed), published (on Kafka), applied (by dx-indicators).
    struct Status: Codable, Sendable {
        var reportId: String
        var unit: String
        var revision: Int
        var status: String
        var acceptedAt: String
        var observations: Int
        var messages: Int
        var published: Int
        var applied: Int
        var revisions: [Int]
    }

    func status(of reportID: String) async throws -> Status? {
        var found: (String, Int, Date, Int, [UUID])?
        for try await row in try await database.query("""
            SELECT r.unit, r.revision, v.accepted_at, v.observation_count, v.message_ids
            FROM ingest.reports r JOIN ingest.report_revisions v ON v.report_id = r.report_id AND v.revision = r.revision
            WHERE r.report_id = \(reportID)
            """).decode((String, Int, Date, Int, [UUID]).self) {
            found = row
        }
        guard let (unit, revision, acceptedAt, count, ids) = found else { return nil }
        var published = 0
        for try await value in try await database.query(
            "SELECT count(*) FROM ingest.outbox WHERE message_id = ANY(\(ids)) AND published_at IS NOT NULL"
        ).decode(Int.self) { published = value }
        var applied = 0
        for try await value in try await database.query(
            "SELECT count(DISTINCT message_id) FROM engine.processed_messages WHERE message_id = ANY(\(ids))"
        ).decode(Int.self) { applied = value }
        var revisions: [Int] = []
        for try await value in try await database.query(
            "SELECT revision FROM ingest.report_revisions WHERE report_id = \(reportID) ORDER BY revision"
        ).decode(Int.self) { revisions.append(value) }
        let state = applied >= ids.count ? "applied" : published >= ids.count ? "published" : "accepted"
        return Status(reportId: reportID, unit: unit, revision: revision, status: state, acceptedAt: RFC3339.string(acceptedAt),
                      observations: count, messages: ids.count, published: published, applied: applied, revisions: revisions)
    }
}
