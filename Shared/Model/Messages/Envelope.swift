import Foundation

/// The topics services talk over. Every message is keyed by province (alerts: by fingerprint).
/// An optional prefix (`DX_TOPIC_PREFIX`) lets several deployments share one Kafka cluster.
public struct TopicNames: Sendable, Hashable {
    public var prefix: String

    public init(prefix: String = "") {
        self.prefix = prefix
    }

    public var observations: String { prefix + "dx.observations.v1" }
    public var indicatorValues: String { prefix + "dx.indicator-values.v1" }
    public var alerts: String { prefix + "dx.alerts.v1" }
    public var deadLetters: String { prefix + "dx.deadletter.v1" }

    public var all: [String] { [observations, indicatorValues, alerts, deadLetters] }
}

/// Every message on every topic: what it is (`schema`), a unique id that consumers use to apply
/// it once, when and by whom it was produced, and the payload.
public struct Envelope<Payload: Codable & Sendable>: Codable, Sendable {
    public var schema: String
    public var id: UUID
    public var producedAt: String
    public var source: String
    public var data: Payload

    public init(schema: String, id: UUID = UUID(), producedAt: Date = Date(), source: String, data: Payload) {
        self.schema = schema
        self.id = id
        self.producedAt = RFC3339.string(producedAt)
        self.source = source
        self.data = data
    }

    /// As read from a message: `producedAt` kept as written.
    init(schema: String, id: UUID, producedAtText: String, source: String, data: Payload) {
        self.schema = schema
        self.id = id
        self.producedAt = producedAtText
        self.source = source
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case schema, id, producedAt, source, data
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        schema = try container.decode(String.self, forKey: .schema)
        let idText = try container.decode(String.self, forKey: .id)
        guard let id = UUID(uuidString: idText) else {
            throw DecodingError.dataCorruptedError(forKey: .id, in: container, debugDescription: "'\(idText)' is not a UUID")
        }
        self.id = id
        producedAt = try container.decode(String.self, forKey: .producedAt)
        source = try container.decode(String.self, forKey: .source)
        data = try container.decode(Payload.self, forKey: .data)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(schema, forKey: .schema)
        try container.encode(id.uuidString.lowercased(), forKey: .id)
        try container.encode(producedAt, forKey: .producedAt)
        try container.encode(source, forKey: .source)
        try container.encode(data, forKey: .data)
    }
}

/// Just enough of an envelope to know a message's id and schema without its payload: for a
/// message whose payload does not decode, and for tools that look messages up by id.
public struct EnvelopeHeader: Decodable, Sendable {
    public var schema: String
    public var id: UUID
}

extension EnvelopeHeader: MessageJSONDecodable {
    /// Read directly, the payload skipped: `JSONDecoder` parsed the whole message for it.
    public init(messageJSON bytes: [UInt8]) throws(MessageJSONError) {
        self = try MessageJSONReader.read(bytes) { reader throws(MessageJSONError) in
            var schema: String?, id: UUID?
            var first = true
            while let key = try reader.nextKey(first: &first) {
                // JSONDecoder keeps the first of duplicate keys.
                switch key {
                case "schema" where schema == nil: schema = try reader.string()
                case "id" where id == nil: id = try reader.uuid()
                default: try reader.skipValue()
                }
            }
            guard let schema, let id else { throw reader.error("an envelope field is missing") }
            return EnvelopeHeader(schema: schema, id: id)
        }
    }
}

public enum MessageCoding {
    /// JSON encoder for messages: sorted keys so equal messages are equal bytes.
    public static func encoder() -> JSONEncoder {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return encoder
    }

    /// Envelopes of the hot messages (`MessageJSONPayload`) are written directly, the same bytes
    /// the encoder gives; everything else goes through `JSONEncoder`.
    public static func encode<T: Encodable>(_ value: T) throws -> [UInt8] {
        if let fast = value as? any MessageJSONEnvelope { return fast.messageJSON() }
        return Array(try encoder().encode(value))
    }

    /// Envelopes of the hot messages are read directly; anything the direct reader does not take
    /// (or any other type) is decoded by `JSONDecoder`, whose error describes what is wrong.
    public static func decode<T: Decodable>(_ type: T.Type, from bytes: [UInt8]) throws -> T {
        if let fast = T.self as? any MessageJSONDecodable.Type, let value = try? fast.init(messageJSON: bytes) {
            return value as! T
        }
        return try JSONDecoder().decode(T.self, from: Data(bytes))
    }

    /// A decoding error as one line: where in the document and what.
    public static func describe(_ error: any Error) -> String {
        switch error {
        case DecodingError.dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        case DecodingError.keyNotFound(let key, let context):
            return "\(path(context.codingPath + [key])): missing"
        case DecodingError.typeMismatch(_, let context), DecodingError.valueNotFound(_, let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        default:
            return "\(error)"
        }
    }

    static func path(_ codingPath: [any CodingKey]) -> String {
        let text = codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
        return text.isEmpty ? "document" : String(text.drop { $0 == "." })
    }
}

/// RFC 3339 timestamps in UTC with milliseconds, e.g. `2026-11-22T10:28:00.123Z`.
public enum RFC3339 {
    public static func string(_ date: Date) -> String {
        let milliseconds = Int64((date.timeIntervalSince1970 * 1000).rounded(.down))
        let seconds = milliseconds >= 0 ? milliseconds / 1000 : (milliseconds - 999) / 1000
        let millis = milliseconds - seconds * 1000
        let day = Day(Date(timeIntervalSince1970: TimeInterval(seconds - Int64(Day.vietnamOffsetSeconds))))
        // `Day` is Vietnam's calendar; shift back so the fields are UTC.
        let secondsOfDay = Int(((seconds % 86_400) + 86_400) % 86_400)
        return "\(day.description)T\((secondsOfDay / 3600).zeroPadded(2)):\(((secondsOfDay / 60) % 60).zeroPadded(2)):\((secondsOfDay % 60).zeroPadded(2)).\(Int(millis).zeroPadded(3))Z"
    }

    /// Parses RFC 3339 with `Z` or an offset, with or without fractional seconds.
    public static func date(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        if let date = formatter.date(from: text) { return date }
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}
