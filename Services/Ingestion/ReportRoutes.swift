import DXModel
import DXStore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import PostgresNIO

/// Limits on what one request may carry. Documented in README; over a limit is a 413.
public struct IngestionLimits: Sendable {
    public var maximumBodyBytes = 10 * 1024 * 1024
    public var maximumRows = 50_000

    public init() {}
}

/// `POST /v1/reports` and `GET /v1/reports/{id}`.
struct ReportRoutes: Sendable {
    let store: ReportStore
    let tokens: TokenStore
    let catalog: Catalog
    let limits: IngestionLimits
    let logger: Logger

    func add(to router: Router<BasicRequestContext>) {
        router.post("/v1/reports") { request, context in
            await respond { try await submit(request, context: context) }
        }
        router.get("/v1/reports/{id}") { request, context in
            await respond {
                _ = try await authenticate(request)
                let id = try context.parameters.require("id")
                guard let status = try await store.status(of: id) else { throw Problem.notFound("no report with id \(id)") }
                return jsonResponse(.ok, status)
            }
        }
    }

    private func submit(_ request: Request, context: BasicRequestContext) async throws -> Response {
        let token = try await authenticate(request)
        let body = try await readBody(request)
        let parsed = try JSONReportParser.parse(body)
        guard parsed.rows.count <= limits.maximumRows else {
            throw Problem.tooLarge("\(parsed.rows.count) observations; at most \(limits.maximumRows) per request")
        }
        let validator = ReportValidator(catalog: catalog, scope: token.unit, today: Day(Date()))
        let checked = validator.check(parsed.rows)
        if !checked.outOfScope.isEmpty {
            var problem = Problem.forbidden("\(checked.outOfScope.count) row(s) are for units outside the token's unit \(token.unit); nothing was accepted")
            problem.errors = checked.outOfScope
            throw problem
        }
        if !checked.errors.isEmpty && (!parsed.header.partial || checked.rows.isEmpty) {
            throw Problem.invalid(checked.errors, rows: parsed.rows.count)
        }
        let submission = ReportSubmission(
            reportID: parsed.header.reportID, revision: parsed.header.revision, rows: checked.rows,
            rejected: checked.errors, contentDigest: ReportSubmission.digest(checked.rows)
        )
        switch try await store.accept(submission, token: token) {
        case .accepted(let receipt):
            logger.info("report accepted", metadata: ["report": "\(receipt.reportId)", "revision": "\(receipt.revision)", "observations": "\(receipt.observations)"])
            return jsonResponse(.created, receipt, headers: [.location: receipt.statusUrl])
        case .replayed(let receipt):
            return jsonResponse(.created, receipt, headers: [.location: receipt.statusUrl, .dxReplayed: "true"])
        }
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
        let buffer: ByteBuffer
        do {
            buffer = try await request.body.collect(upTo: limits.maximumBodyBytes)
        } catch {
            throw Problem.tooLarge("the body is over \(limits.maximumBodyBytes) bytes")
        }
        let bytes = Array(buffer: buffer)
        guard String(validating: bytes, as: UTF8.self) != nil else {
            throw Problem.badRequest("the body is not valid UTF-8 (byte \(firstInvalidUTF8(bytes) ?? 0)); send UTF-8 text")
        }
        return bytes
    }

    /// Runs a handler and turns every error into a problem document; never a 5xx for bad input.
    func respond(_ body: () async throws -> Response) async -> Response {
        do {
            return try await body()
        } catch let problem as Problem {
            return problem.response
        } catch let error as PostgresTransactionError {
            if let problem = error.closureError as? Problem { return problem.response }
            logger.error("request failed: \(error.postgresDescription)")
            return Problem(status: .serviceUnavailable, type: "unavailable", title: "Storage is unavailable",
                           detail: "the report was not accepted; retry later").response
        } catch {
            logger.error("request failed: \(error.postgresDescription)")
            return Problem(status: .serviceUnavailable, type: "unavailable", title: "The service cannot answer now",
                           detail: "nothing was accepted; retry later").response
        }
    }
}

/// Offset of the first byte that breaks UTF-8, for error messages.
func firstInvalidUTF8(_ bytes: [UInt8]) -> Int? {
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
