import DXStore
import Foundation
import Hummingbird

/// An RFC 9457 problem document: what went wrong, and for a rejected report every row with its
/// line, field and reason.
public struct Problem: Error, Encodable, Sendable {
    public struct RowError: Codable, Sendable, Equatable {
        /// 1-based: the CSV line, or the position in the JSON `observations` array.
        public var line: Int
        public var field: String
        public var reason: String
        /// JSON Pointer into the request body, for JSON requests.
        public var pointer: String?

        public init(line: Int, field: String, reason: String, pointer: String? = nil) {
            self.line = line
            self.field = field
            self.reason = reason
            self.pointer = pointer
        }
    }

    public var type: String
    public var title: String
    public var status: Int
    public var detail: String
    public var errors: [RowError]?
    /// Seconds a rate-limited client should wait; sent as the `Retry-After` header.
    public var retryAfter: Int?

    enum CodingKeys: String, CodingKey {
        case type, title, status, detail, errors
    }

    public init(status: HTTPResponse.Status, type: String, title: String, detail: String, errors: [RowError]? = nil) {
        self.type = "https://dx-pulse.example/problems/\(type)"
        self.title = title
        self.status = status.code
        self.detail = detail
        self.errors = errors
    }

    static func badRequest(_ detail: String, errors: [RowError]? = nil) -> Problem {
        Problem(status: .badRequest, type: "malformed-request", title: "The request cannot be read", detail: detail, errors: errors)
    }

    static func unsupportedMediaType(_ detail: String) -> Problem {
        Problem(status: .unsupportedMediaType, type: "unsupported-media-type", title: "This content type is not accepted here", detail: detail)
    }

    static func tooManyRequests(retryAfter seconds: Int, limit: String) -> Problem {
        var problem = Problem(status: .tooManyRequests, type: "rate-limited", title: "Too many requests for this token",
                              detail: "this token may send \(limit); retry after \(seconds) s")
        problem.retryAfter = seconds
        return problem
    }

    static func unauthorized(_ detail: String) -> Problem {
        Problem(status: .unauthorized, type: "unauthorized", title: "A valid token is required", detail: detail)
    }

    static func forbidden(_ detail: String) -> Problem {
        Problem(status: .forbidden, type: "forbidden", title: "The token does not cover this unit", detail: detail)
    }

    static func invalid(_ errors: [RowError], rows: Int, noun: String = "row") -> Problem {
        let lines = Set(errors.map(\.line)).count
        return Problem(status: .unprocessableContent, type: "invalid-rows", title: "Some \(noun)s are invalid; nothing was accepted",
                       detail: "\(errors.count) problem(s) in \(lines) of \(rows) \(noun)(s). Fix them and submit again, or ask for partial acceptance (partial=true).",
                       errors: errors)
    }

    static func conflict(_ detail: String) -> Problem {
        Problem(status: .conflict, type: "revision-conflict", title: "This revision cannot be accepted", detail: detail)
    }

    static func notFound(_ detail: String) -> Problem {
        Problem(status: .notFound, type: "not-found", title: "Not found", detail: detail)
    }

    static func tooLarge(_ detail: String) -> Problem {
        Problem(status: .contentTooLarge, type: "too-large", title: "The request is too large", detail: detail)
    }

    var response: Response {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data()
        var headers: HTTPFields = [.contentType: "application/problem+json"]
        if let retryAfter { headers[.retryAfter] = String(retryAfter) }
        return Response(status: HTTPResponse.Status(code: status), headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: data)))
    }
}

/// A JSON response with sorted keys.
func jsonResponse<T: Encodable>(_ status: HTTPResponse.Status, _ value: T, headers: HTTPFields = [:]) -> Response {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
    let data = (try? encoder.encode(value)) ?? Data("{}".utf8)
    var fields = headers
    fields[.contentType] = "application/json"
    return Response(status: status, headers: fields, body: .init(byteBuffer: ByteBuffer(bytes: data)))
}
