import Foundation
import NIOCore
import PostgresNIO

/// Many rows' values of one column, bound as a single PostgreSQL array parameter and unnested
/// in SQL: a whole batch in one statement, without a temporary table. Each element is written
/// straight into the parameter's bytes as it is appended (PostgresNIO's `[String]` binding
/// encodes every element through an existential, which a thousand-row request feels).
public struct ArrayColumn: PostgresDynamicTypeEncodable, Sendable {
    public enum Element: Sendable {
        case text, uuid, timestamptz

        var type: PostgresDataType {
            switch self {
            case .text: .text
            case .uuid: .uuid
            case .timestamptz: .timestamptz
            }
        }
    }

    public let element: Element
    public private(set) var count = 0
    private var elements = ByteBuffer()

    public init(_ element: Element, capacity: Int = 0) {
        self.element = element
        elements.reserveCapacity(capacity * (element == .text ? 24 : 20))
    }

    public mutating func append(_ text: String) {
        precondition(element == .text, "a text appended to a \(element) column")
        let lengthIndex = elements.writerIndex
        elements.writeInteger(Int32(0))
        let written = elements.writeString(text)
        elements.setInteger(Int32(written), at: lengthIndex)
        count += 1
    }

    public mutating func append(_ uuid: UUID) {
        precondition(element == .uuid, "a uuid appended to a \(element) column")
        elements.writeInteger(Int32(16))
        withUnsafeBytes(of: uuid.uuid) { _ = elements.writeBytes($0) }
        count += 1
    }

    /// An instant, given as microseconds since 1970 (UTC), sent as PostgreSQL's binary
    /// timestamptz: no text to print here nor to parse there.
    public mutating func append(microsecondsSince1970 microseconds: Int64) {
        precondition(element == .timestamptz, "a timestamp appended to a \(element) column")
        elements.writeInteger(Int32(8))
        elements.writeInteger(microseconds - Self.postgresEpochMicroseconds)
        count += 1
    }

    /// 2000-01-01T00:00:00Z, PostgreSQL's zero for timestamps, in microseconds since 1970.
    static let postgresEpochMicroseconds: Int64 = 946_684_800 * 1_000_000

    public var psqlType: PostgresDataType {
        switch element {
        case .text: .textArray
        case .uuid: .uuidArray
        case .timestamptz: .timestamptzArray
        }
    }
    public var psqlFormat: PostgresFormat { .binary }

    /// PostgreSQL's binary array: dimensions, a no-NULLs flag, the element type, the length and
    /// lower bound of the one dimension, then each element as length and bytes.
    public func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        let elementType = element.type
        buffer.writeInteger(Int32(count == 0 ? 0 : 1))
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(elementType.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(Int32(count))
        buffer.writeInteger(Int32(1))
        buffer.writeImmutableBuffer(elements)
    }
}
