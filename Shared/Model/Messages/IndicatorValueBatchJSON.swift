import Foundation

/// `dx.indicator-values.v1` written and read directly (see `MessageJSONPayload`): dx-indicators
/// writes one per province and transaction, dx-alerts reads every one.
extension IndicatorValueBatch: MessageJSONPayload {
    public func writeJSON(to writer: inout MessageJSONWriter) {
        writer.beginObject()
        writer.key("province", province.rawValue)
        writer.key("values")
        writer.beginArray()
        for change in values {
            writer.element()
            change.writeJSON(to: &writer)
        }
        writer.endArray()
        writer.endObject()
    }

    public static func readJSON(from reader: inout MessageJSONReader) throws(MessageJSONError) -> IndicatorValueBatch {
        var province: UnitCode?, values: [IndicatorValueChange]?
        var first = true
        while let key = try reader.nextKey(first: &first) {
            switch key {
            case "province" where province == nil: province = UnitCode(try reader.string())
            case "values" where values == nil:
                var list: [IndicatorValueChange] = []
                var firstElement = true
                while try reader.nextElement(first: &firstElement) {
                    list.append(try IndicatorValueChange.readJSON(from: &reader))
                }
                values = list
            default: try reader.skipValue()
            }
        }
        guard let province, let values else { throw reader.error("a batch field is missing") }
        return IndicatorValueBatch(province: province, values: values)
    }
}

extension IndicatorValueChange {
    func writeJSON(to writer: inout MessageJSONWriter) {
        // Keys in JSONEncoder's sorted order.
        writer.beginObject()
        writer.key("completeness", ifPresent: completeness)
        writer.key("denominator", ifPresent: denominator)
        writer.key("gap", ifPresent: gap)
        writer.key("indicator", indicator)
        writer.key("level", level.rawValue)
        writer.key("meetsTarget", ifPresent: meetsTarget)
        writer.key("numerator", ifPresent: numerator)
        writer.key("period", period)
        writer.key("previousValue", ifPresent: previousValue)
        writer.key("target", ifPresent: target)
        writer.key("targetYear", ifPresent: targetYear)
        writer.key("unit", unit.rawValue)
        writer.key("unitName", unitName)
        writer.key("value", ifPresent: value)
        writer.endObject()
    }

    static func readJSON(from reader: inout MessageJSONReader) throws(MessageJSONError) -> IndicatorValueChange {
        var unit: UnitCode?, unitName: String?, level: AdministrativeLevel?, period: Period?, indicator: String?
        var value: Quantity??, numerator: Quantity??, denominator: Quantity??, target: Quantity??, targetYear: Int??
        var gap: Quantity??, meetsTarget: Bool??, completeness: Quantity??, previousValue: Quantity??
        func optionalQuantity(_ reader: inout MessageJSONReader) throws(MessageJSONError) -> Quantity?? {
            .some(reader.null() ? nil : try reader.quantity())
        }
        var first = true
        while let key = try reader.nextKey(first: &first) {
            switch key {
            case "unit" where unit == nil: unit = UnitCode(try reader.string())
            case "unitName" where unitName == nil: unitName = try reader.string()
            case "level" where level == nil:
                let text = try reader.string()
                guard let value = AdministrativeLevel(rawValue: text) else { throw reader.error("level '\(text)'") }
                level = value
            case "period" where period == nil:
                let text = try reader.string()
                guard let value = Period(text) else { throw reader.error("period '\(text)'") }
                period = value
            case "indicator" where indicator == nil: indicator = try reader.string()
            case "value" where value == nil: value = try optionalQuantity(&reader)
            case "numerator" where numerator == nil: numerator = try optionalQuantity(&reader)
            case "denominator" where denominator == nil: denominator = try optionalQuantity(&reader)
            case "target" where target == nil: target = try optionalQuantity(&reader)
            case "targetYear" where targetYear == nil: targetYear = .some(reader.null() ? nil : try reader.integer(Int.self))
            case "gap" where gap == nil: gap = try optionalQuantity(&reader)
            case "meetsTarget" where meetsTarget == nil: meetsTarget = .some(reader.null() ? nil : try reader.bool())
            case "completeness" where completeness == nil: completeness = try optionalQuantity(&reader)
            case "previousValue" where previousValue == nil: previousValue = try optionalQuantity(&reader)
            default: try reader.skipValue()
            }
        }
        guard let unit, let unitName, let level, let period, let indicator else { throw reader.error("an indicator value field is missing") }
        var change = IndicatorValueChange(unit: unit, unitName: unitName, level: level, period: period, indicator: indicator, current: nil, previous: nil)
        change.value = value ?? nil
        change.numerator = numerator ?? nil
        change.denominator = denominator ?? nil
        change.target = target ?? nil
        change.targetYear = targetYear ?? nil
        change.gap = gap ?? nil
        change.meetsTarget = meetsTarget ?? nil
        change.completeness = completeness ?? nil
        change.previousValue = previousValue ?? nil
        return change
    }
}
