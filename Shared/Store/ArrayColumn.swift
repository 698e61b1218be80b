import Foundation
import NIOCore
import PostgresNIO

/// Many rows' values of one column, bound as a single PostgreSQL array parameter and unnested
/// in SQL: a whole batch in one statement, without a temporary table. Each element is written
/// straight into the parameter's bytes as it is appended (PostgresNIO's `[String]` binding
/// encodes every element through an existential, which a thousand-row request feels).
public struct ArrayColumn: PostgresDynamicTypeEncodable, Sendable {
    public enum Element: Sendable {
        case text, uuid
    }

    public let element: Element
    public private(set) var count = 0
    private var elements = ByteBuffer()

    public init(_ element: Element, capacity: Int = 0) {
        self.element = element
        elements.reserveCapacity(capacity * (element == .uuid ? 20 : 24))
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

    public var psqlType: PostgresDataType { element == .text ? .textArray : .uuidArray }
    public var psqlFormat: PostgresFormat { .binary }

    /// PostgreSQL's binary array: dimensions, a no-NULLs flag, the element type, the length and
    /// lower bound of the one dimension, then each element as length and bytes.
    public func encode<JSONEncoder: PostgresJSONEncoder>(into buffer: inout ByteBuffer, context: PostgresEncodingContext<JSONEncoder>) {
        let elementType: PostgresDataType = element == .text ? .text : .uuid
        buffer.writeInteger(Int32(count == 0 ? 0 : 1))
        buffer.writeInteger(Int32(0))
        buffer.writeInteger(elementType.rawValue)
        guard count > 0 else { return }
        buffer.writeInteger(Int32(count))
        buffer.writeInteger(Int32(1))
        buffer.writeImmutableBuffer(elements)
    }
}
