import Foundation

/// The `cells` and `indicators` columns of a unit-period row (`engine.unit_periods`): one JSON
/// object each, keyed by element or indicator code, numbers as exact decimal text.
///
/// - a cell: `[value, completeness, children reported, children expected, delta sum, delta count,
///   reports]`, e.g. `{"DVC.RECEIVED":["12","1",0,0,"12",12,null]}`;
/// - an indicator value: `[value, numerator, denominator, completeness, target, target year, gap,
///   meets target]`.
///
/// The same shape the migration builds from the row tables with `json_build_array`, and the one
/// the `engine.cells` and `engine.indicator_values` views take apart.
public enum UnitPeriodColumns {
    /// A `cells` or `indicators` column, written an entry at a time as a row's cells or
    /// indicator values are found. dx-indicators gathers a row's cells element by element, each
    /// read where the store keeps it: collected into an array first, every state was copied (its
    /// report list retained) and the array grew with every cell.
    public struct ColumnWriter {
        private var writer: MessageJSONWriter
        /// Entries written so far.
        public private(set) var count = 0

        public init(capacity: Int) {
            writer = MessageJSONWriter(capacity: capacity)
            writer.beginObject()
        }

        /// A `cells` entry: `element: [value, completeness, …, reports]`.
        public mutating func append(_ element: String, cell state: borrowing CellState) {
            begin(element)
            UnitPeriodColumns.optional(state.value, &writer)
            writer.element()
            writer.string(state.completeness)
            writer.element()
            writer.number(state.childrenReported)
            writer.element()
            writer.number(state.childrenExpected)
            writer.element()
            writer.string(state.deltaSum)
            writer.element()
            writer.number(state.deltaCount)
            writer.element()
            ReportsColumn.write(state.reports, to: &writer)
            writer.endArray()
        }

        /// An `indicators` entry: `indicator: [value, numerator, …, meets target]`.
        public mutating func append(_ indicator: String, value: borrowing IndicatorValue) {
            begin(indicator)
            writer.string(value.value)
            writer.element()
            UnitPeriodColumns.optional(value.numerator, &writer)
            writer.element()
            UnitPeriodColumns.optional(value.denominator, &writer)
            writer.element()
            writer.string(value.completeness)
            writer.element()
            UnitPeriodColumns.optional(value.target, &writer)
            writer.element()
            if let year = value.targetYear { writer.number(year) } else { writer.null() }
            writer.element()
            UnitPeriodColumns.optional(value.gap, &writer)
            writer.element()
            if let meets = value.meetsTarget { writer.bool(meets) } else { writer.null() }
            writer.endArray()
        }

        private mutating func begin(_ code: String) {
            count += 1
            writer.key(text: code)
            writer.beginArray()
            writer.element()
        }

        /// The column's UTF-8 text.
        public consuming func finished() -> [UInt8] {
            writer.endObject()
            return writer.bytes
        }
    }

    public static func parseCells(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(MessageJSONError) -> [(element: String, state: CellState)] {
        var reader = MessageJSONReader(bytes)
        var cells: [(element: String, state: CellState)] = []
        var first = true
        while let element = try reader.nextKey(first: &first) {
            var field = true
            var state = CellState()
            try next(&reader, &field, element, "value")
            state.value = try optionalQuantity(&reader)
            try next(&reader, &field, element, "completeness")
            state.completeness = try reader.quantityString()
            try next(&reader, &field, element, "children reported")
            state.childrenReported = try reader.integer(Int.self)
            try next(&reader, &field, element, "children expected")
            state.childrenExpected = try reader.integer(Int.self)
            try next(&reader, &field, element, "delta sum")
            state.deltaSum = try reader.quantityString()
            try next(&reader, &field, element, "delta count")
            state.deltaCount = try reader.integer(Int.self)
            try next(&reader, &field, element, "reports")
            state.reports = try ReportsColumn.read(from: &reader)
            guard try !reader.nextElement(first: &field) else { throw reader.error("cell \(element) has more than seven fields") }
            cells.append((element, state))
        }
        try reader.end()
        return cells
    }

    public static func parseIndicators(utf8 bytes: UnsafeBufferPointer<UInt8>) throws(MessageJSONError) -> [(indicator: String, value: IndicatorValue)] {
        var reader = MessageJSONReader(bytes)
        var values: [(indicator: String, value: IndicatorValue)] = []
        var first = true
        while let indicator = try reader.nextKey(first: &first) {
            var field = true
            try next(&reader, &field, indicator, "value")
            var value = IndicatorValue(value: try reader.quantityString(), completeness: 0)
            try next(&reader, &field, indicator, "numerator")
            value.numerator = try optionalQuantity(&reader)
            try next(&reader, &field, indicator, "denominator")
            value.denominator = try optionalQuantity(&reader)
            try next(&reader, &field, indicator, "completeness")
            value.completeness = try reader.quantityString()
            try next(&reader, &field, indicator, "target")
            value.target = try optionalQuantity(&reader)
            try next(&reader, &field, indicator, "target year")
            value.targetYear = reader.null() ? nil : try reader.integer(Int.self)
            try next(&reader, &field, indicator, "gap")
            value.gap = try optionalQuantity(&reader)
            try next(&reader, &field, indicator, "meets target")
            value.meetsTarget = reader.null() ? nil : try reader.bool()
            guard try !reader.nextElement(first: &field) else { throw reader.error("indicator \(indicator) has more than eight fields") }
            values.append((indicator, value))
        }
        try reader.end()
        return values
    }

    private static func optional(_ value: Quantity?, _ writer: inout MessageJSONWriter) {
        if let value { writer.string(value) } else { writer.null() }
    }

    private static func next(_ reader: inout MessageJSONReader, _ first: inout Bool, _ code: String, _ field: String) throws(MessageJSONError) {
        guard try reader.nextElement(first: &first) else { throw reader.error("\(code) has no \(field)") }
    }

    private static func optionalQuantity(_ reader: inout MessageJSONReader) throws(MessageJSONError) -> Quantity? {
        reader.null() ? nil : try reader.quantityString()
    }
}
