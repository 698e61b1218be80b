import DXModel
import DXStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Metrics
import PostgresNIO

/// Limits on what one request may carry and how often a token may write. Documented in README
/// and deploy/openapi.yaml; over a size limit is a 413, over the rate a 429.
public struct IngestionLimits: Sendable {
    /// `DX_MAX_BODY_BYTES`: the largest request body.
    public var maximumBodyBytes = 10 * 1024 * 1024
    /// `DX_MAX_ROWS`: most observations of one report, or lines of one event batch.
    public var maximumRows = 50_000
    /// `DX_RATE_LIMIT_PER_MINUTE`: POST requests per token and minute; 0 turns the limit off.
    public var ratePerMinute = 3_000
    /// `DX_RATE_BURST`: POST requests a token may send at once before the rate applies.
    public var rateBurst = 100

    public init() {}
}

/// The reporting API: `POST /v1/reports` (JSON or CSV), `GET /v1/reports/{id}`, `POST /v1/events`
/// (NDJSON). Every failure is an RFC 9457 problem document; bad input is always a 4xx.
struct IngestRoutes: Sendable {
    let reports: ReportStore
    let events: EventStore
    let tokens: TokenStore
    let catalog: Catalog
    let limits: IngestionLimits
    let rateLimiter: RateLimiter
    let logger: Logger

    init(reports: ReportStore, events: EventStore, tokens: TokenStore, catalog: Catalog, limits: IngestionLimits, logger: Logger) {
        self.reports = reports
        self.events = events
        self.tokens = tokens
        self.catalog = catalog
        self.limits = limits
        self.rateLimiter = RateLimiter(perMinute: limits.ratePerMinute, burst: limits.rateBurst)
        self.logger = logger
    }

    func add(to router: Router<BasicRequestContext>) {
        router.add(middleware: ProblemMiddleware<BasicRequestContext>(logger: logger))
        router.post("/v1/reports") { request, context in
            await respond(endpoint: "reports") { try await submitReport(request) }
        }
        router.get("/v1/reports/{id}") { request, context in
            await respond(endpoint: "report_status") {
                let token = try await authenticate(request)
                // The router hands the path segment over as sent: `a%3Ab` is report `a:b`.
                let raw = try context.parameters.require("id")
                let id = raw.removingPercentEncoding ?? raw
                guard ReportValidator.isValidReportID(id), let status = try await reports.status(of: id) else {
                    throw Problem.notFound("no report with id '\(ReportValidator.quoted(id))'")
                }
                guard catalog.units.isWithin(UnitCode(status.unit), subtreeOf: token.unit) else {
                    throw Problem.forbidden("report \(id) belongs to unit \(status.unit), outside the token's unit \(token.unit)")
                }
                return jsonResponse(.ok, status)
            }
        }
        router.post("/v1/events") { request, context in
            await respond(endpoint: "events") { try await submitEvents(request) }
        }
    }

    // MARK: reports

    private func submitReport(_ request: Request) async throws -> Response {
        let token = try await authorizeWrite(request)
        let format = try mediaType(request, accepted: ["application/json": .json, "text/csv": .csv],
                                   hint: "send application/json or text/csv")
        let parameters = request.uri.queryParameters
        let query = ReportQuery(
            reportID: parameters["reportId"].map(String.init), revision: parameters["revision"].map(String.init),
            partial: try ReportQuery.flag("partial", parameters["partial"]),
            unit: parameters["unit"].map(String.init).flatMap { $0.isEmpty ? nil : $0 },
            period: parameters["period"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        )
        if format == .json {
            // Ignoring them would accept a request that means something else than it says.
            let given = ["reportId", "revision", "unit", "period"].filter { parameters[Substring($0)] != nil }
            if !given.isEmpty {
                throw Problem.badRequest("query parameter(s) \(given.joined(separator: ", ")) are for text/csv bodies; a JSON body carries them itself")
            }
        }
        let body = try await readBody(request)
        let parsed = switch format {
        case .csv: try CSVReportParser.parse(body, query: query)
        default: try JSONReportParser.parse(body, partialByDefault: query.partial ?? false)
        }
        guard parsed.rows.count <= limits.maximumRows else {
            throw Problem.tooLarge("\(parsed.rows.count) observations; at most \(limits.maximumRows) per request (DX_MAX_ROWS)")
        }
        let validator = ReportValidator(catalog: catalog, scope: token.unit, today: Day(Date()))
        let checked = validator.check(parsed.rows)
        if !checked.outOfScope.isEmpty {
            var problem = Problem.forbidden("\(checked.outOfScope.count) row(s) are for units outside the token's unit \(token.unit); nothing was accepted")
            problem.errors = checked.outOfScope
            throw problem
        }
        if !checked.errors.isEmpty && (!parsed.header.partial || checked.rows.isEmpty) {
            Metrics.Counter(label: "dx_ingest_rows_rejected_total", dimensions: [("endpoint", "reports")]).increment(by: Set(checked.errors.map(\.line)).count)
            throw Problem.invalid(checked.errors, rows: parsed.rows.count)
        }
        let submission = ReportSubmission(
            reportID: parsed.header.reportID, revision: parsed.header.revision, rows: checked.rows,
            rejected: checked.errors, contentDigest: checked.contentDigest
        )
        switch try await retryingConflicts({ try await reports.accept(submission, token: token) }) {
        case .accepted(let receipt):
            Metrics.Counter(label: "dx_ingest_observations_accepted_total").increment(by: receipt.observations)
            logger.info("report accepted", metadata: [
                "report": "\(receipt.reportId)", "revision": "\(receipt.revision)", "observations": "\(receipt.observations)",
                "format": "\(format)", "token": "\(token.id)",
            ])
            return jsonResponse(.created, receipt, headers: [.location: receipt.statusUrl])
        case .replayed(let receipt):
            return jsonResponse(.created, receipt, headers: [.location: receipt.statusUrl, .dxReplayed: "true"])
        }
    }

    // MARK: events

    private func submitEvents(_ request: Request) async throws -> Response {
        let token = try await authorizeWrite(request)
        _ = try mediaType(request, accepted: ["application/x-ndjson": .ndjson, "application/ndjson": .ndjson, "application/jsonl": .ndjson],
                          hint: "send application/x-ndjson: one JSON object per line")
        let partial = try ReportQuery.flag("partial", request.uri.queryParameters["partial"]) ?? false
        let body = try await readBody(request)
        let lineCount = body.reduce(into: 1) { count, byte in if byte == UInt8(ascii: "\n") { count += 1 } } - (body.last == UInt8(ascii: "\n") ? 1 : 0)
        guard lineCount <= limits.maximumRows else {
            throw Problem.tooLarge("\(lineCount) lines; at most \(limits.maximumRows) events per request (DX_MAX_ROWS)")
        }
        let parser = EventParser(catalog: catalog, scope: token.unit, now: Timestamp(Date()))
        let result = parser.parse(body)
        if !result.outOfScope.isEmpty {
            var problem = Problem.forbidden("\(result.outOfScope.count) event(s) are for units outside the token's unit \(token.unit); nothing was accepted")
            problem.errors = result.outOfScope
            throw problem
        }
        if result.lines == 0 {
            throw Problem.invalid([.init(line: 0, field: "body", reason: "no events: send one JSON object per line")], rows: 0, noun: "line")
        }
        if !result.errors.isEmpty && (!partial || (result.events.isEmpty && result.duplicates.isEmpty)) {
            Metrics.Counter(label: "dx_ingest_rows_rejected_total", dimensions: [("endpoint", "events")]).increment(by: Set(result.errors.map(\.line)).count)
            throw Problem.invalid(result.errors.sorted { ($0.line, $0.field) < ($1.line, $1.field) }, rows: result.lines, noun: "line")
        }
        let stored = try await retryingConflicts { try await events.accept(result.events, token: token) }
        var duplicates = result.duplicates
        for event in result.events where stored.alreadyRecorded.contains(event.eventID) {
            duplicates.append(.init(line: event.line, eventId: event.eventID, reason: "already accepted"))
        }
        duplicates.sort { $0.line < $1.line }
        Metrics.Counter(label: "dx_ingest_events_accepted_total").increment(by: stored.accepted)
        Metrics.Counter(label: "dx_ingest_events_duplicate_total").increment(by: duplicates.count)
        let receipt = EventReceipt(
            status: "accepted", lines: result.lines, accepted: stored.accepted, duplicate: duplicates.count, duplicates: duplicates,
            rejected: result.errors.isEmpty ? nil : result.errors.sorted { ($0.line, $0.field) < ($1.line, $1.field) },
            sequence: stored.sequence, messages: stored.messages
        )
        logger.info("events accepted", metadata: [
            "lines": "\(result.lines)", "accepted": "\(receipt.accepted)", "duplicate": "\(receipt.duplicate)", "token": "\(token.id)",
        ])
        return jsonResponse(.ok, receipt)
    }

    // MARK: shared

    enum BodyFormat: String, Sendable, CustomStringConvertible {
        case json, csv, ndjson
        var description: String { rawValue }
    }

    /// The body's media type, which must be one of `accepted`, in UTF-8 (no charset, or utf-8).
    func mediaType(_ request: Request, accepted: [String: BodyFormat], hint: String) throws(Problem) -> BodyFormat {
        guard let header = request.headers[.contentType] else {
            throw Problem.unsupportedMediaType("the Content-Type header is missing; \(hint)")
        }
        let parts = header.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }
        let type = parts.first?.lowercased() ?? ""
        guard let format = accepted[type] else {
            throw Problem.unsupportedMediaType("Content-Type '\(ReportValidator.quoted(header))' is not accepted here; \(hint)")
        }
        for parameter in parts.dropFirst() {
            let pair = parameter.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces).lowercased() }
            if pair.first == "charset", let value = pair.last?.trimmingCharacters(in: CharacterSet(charactersIn: "\"")), value != "utf-8", value != "utf8" {
                throw Problem.unsupportedMediaType("charset '\(ReportValidator.quoted(value))' is not accepted: send UTF-8")
            }
        }
        return format
    }

    /// Authenticates and applies the token's rate limit: every write goes through here.
    func authorizeWrite(_ request: Request) async throws -> TokenStore.Token {
        let token = try await authenticate(request)
        if let wait = rateLimiter.acquire(token.id) {
            Metrics.Counter(label: "dx_ingest_rate_limited_total").increment()
            throw Problem.tooManyRequests(retryAfter: wait, limit: rateLimiter.description)
        }
        return token
    }

    func authenticate(_ request: Request) async throws -> TokenStore.Token {
        guard let header = request.headers[.authorization] else {
            throw Problem.unauthorized("send the token as 'Authorization: Bearer dxp_…' (create one with `dx token create --unit CODE --name NAME`)")
        }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw Problem.unauthorized("the Authorization header must be 'Bearer <token>'")
        }
        guard let token = try await tokens.authenticate(String(parts[1]).trimmingCharacters(in: .whitespaces)) else {
            throw Problem.unauthorized("the token is unknown or revoked")
        }
        return token
    }

    func readBody(_ request: Request) async throws -> [UInt8] {
        if let length = request.headers[.contentLength].flatMap({ Int($0) }), length > limits.maximumBodyBytes {
            throw Problem.tooLarge("the body is \(length) bytes; at most \(limits.maximumBodyBytes) (DX_MAX_BODY_BYTES)")
        }
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limits.maximumBodyBytes)
        } catch {
            throw Problem.tooLarge("the body is over \(limits.maximumBodyBytes) bytes (DX_MAX_BODY_BYTES)")
        }
        let bytes = Array(buffer: buffer)
        if let offset = firstInvalidUTF8(bytes) {
            let line = bytes[..<offset].reduce(into: 1) { count, byte in if byte == UInt8(ascii: "\n") { count += 1 } }
            throw Problem.badRequest("the body is not valid UTF-8 (line \(line), byte \(offset)); send UTF-8 text",
                                     errors: [.init(line: line, field: "body", reason: "invalid UTF-8 at byte \(offset)")])
        }
        return bytes
    }

    /// Runs a store call again when PostgreSQL aborted it for a deadlock or a serialization
    /// failure: both are races between clients, not faults of the request.
    func retryingConflicts<T: Sendable>(_ body: () async throws -> T) async throws -> T {
        var attempt = 0
        while true {
            do {
                return try await body()
            } catch where attempt < 3 && isTransientConflict(error) {
                attempt += 1
                logger.debug("retrying after a transaction conflict: \(error.postgresDescription)")
            }
        }
    }

    /// Runs a handler and turns every error into a problem document; never a 5xx for bad input.
    func respond(endpoint: String, _ body: () async throws -> Response) async -> Response {
        let response: Response
        do {
            response = try await body()
        } catch let problem as Problem {
            response = problem.response
        } catch let error as PostgresTransactionError {
            if let problem = error.closureError as? Problem {
                response = problem.response
            } else {
                logger.error("request failed: \(error.postgresDescription)")
                response = Problem(status: .serviceUnavailable, type: "unavailable", title: "Storage is unavailable",
                                   detail: "nothing was accepted; retry later").response
            }
        } catch {
            logger.error("request failed: \(error.postgresDescription)")
            response = Problem(status: .serviceUnavailable, type: "unavailable", title: "The service cannot answer now",
                               detail: "nothing was accepted; retry later").response
        }
        Metrics.Counter(label: "dx_ingest_requests_total", dimensions: [("endpoint", endpoint), ("status", String(response.status.code))]).increment()
        return response
    }
}

/// Turns what the router itself answers (no such path, no such method) and any error that
/// escaped a handler into problem documents, so every 4xx of dx-ingest has the same shape.
struct ProblemMiddleware<Context: RequestContext>: RouterMiddleware {
    let logger: Logger

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            // The router says "not found" for a known path with another method too: tell them apart.
            if let allowed = Self.allowedMethods(request.uri.path), !allowed.contains(request.method.rawValue) {
                var response = Problem(status: .methodNotAllowed, type: "method-not-allowed", title: "Method not allowed",
                                       detail: "\(request.uri.path) answers \(allowed.joined(separator: ", ")), not \(request.method)").response
                response.headers[.allow] = allowed.joined(separator: ", ")
                return response
            }
            return Problem(status: .notFound, type: "not-found", title: "Not found", detail: "no resource at \(request.method) \(request.uri.path)").response
        } catch let error as HTTPError {
            let (type, title) = switch error.status {
            case .notFound: ("not-found", "Not found")
            case .methodNotAllowed: ("method-not-allowed", "Method not allowed")
            default: ("http-error", error.status.reasonPhrase)
            }
            let detail = error.body ?? (error.status == .notFound ? "no resource at \(request.method) \(request.uri.path)" : error.status.reasonPhrase)
            return Problem(status: error.status, type: type, title: title, detail: detail).response
        } catch {
            logger.error("request failed: \(error.postgresDescription)")
            return Problem(status: .serviceUnavailable, type: "unavailable", title: "The service cannot answer now",
                           detail: "nothing was accepted; retry later").response
        }
    }
}

extension ProblemMiddleware {
    /// The methods each path of dx-ingest answers (HEAD with GET, as the router does).
    static func allowedMethods(_ path: String) -> [String]? {
        let parts = path.split(separator: "/", omittingEmptySubsequences: false)
        switch path {
        case "/v1/reports", "/v1/events": return ["POST"]
        case "/health", "/ready", "/metrics": return ["GET", "HEAD"]
        default:
            if parts.count == 4, parts[1] == "v1", parts[2] == "reports", !parts[3].isEmpty { return ["GET", "HEAD"] }
            return nil
        }
    }
}

/// Deadlocks (40P01), serialization failures (40001) and event-id races, possibly inside a
/// transaction error.
func isTransientConflict(_ error: any Error) -> Bool {
    error.postgresServerErrors.contains { error in
        let state = error.serverInfo?[.sqlState]
        return state == "40P01" || state == "40001"
    } || isEventIDRace(error)
}

/// Another request recorded one of these event ids before this one's COPY (`EventStore`):
/// done again, the lookup of its ids finds that one and reports it as a duplicate.
func isEventIDRace(_ error: any Error) -> Bool {
    error.postgresServerErrors.contains { $0.serverInfo?[.sqlState] == "23505" && $0.serverInfo?[.constraintName] == "events_pkey" }
}

/// Offset of the first byte that breaks UTF-8, for error messages.
func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
    if String(validating: bytes, as: UTF8.self) != nil { return nil }
    var index = 0
    while index < bytes.count {
        let byte = bytes[index]
        let length = byte < 0x80 ? 1 : byte >> 5 == 0b110 ? 2 : byte >> 4 == 0b1110 ? 3 : byte >> 3 == 0b11110 ? 4 : 0
        guard length > 0, index + length <= bytes.count,
              String(validating: bytes[index..<index + length], as: UTF8.self) != nil else { return index }
        index += length
    }
    return nil
}

extension HTTPField.Name {
    /// Set on the answer to a resubmitted revision: nothing was changed.
    static let dxReplayed = Self("DX-Replayed")!
}
