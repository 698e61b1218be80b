import DXModel
import DXStore

/// The `dx.indicator-values.v1` messages of a computation's changed indicator values: one per
/// province (and per 500 values), keyed by province, each value with its previous one. A
/// province's are made by the task that computed it, in parallel with the others; encoding them
/// after the batch, one province after another, was a sixth of a batch's time in the national load.
struct IndicatorPublication: Sendable {
    let catalog: Catalog
    let source: String
    let topic: String

    static let valuesPerMessage = 500

    func messages(for changes: [IndicatorKey: IncrementalComputation.IndicatorChange]) throws -> [OutboxMessage] {
        guard !changes.isEmpty else { return [] }
        var byProvince: [UnitCode: [IndicatorValueChange]] = [:]
        // Grouped per province; within a message the order of values carries no meaning.
        for (key, change) in changes {
            // One lookup for the unit and its province, and no copy of the unit's record.
            guard let place = catalog.units.place(of: key.unit) else { continue }
            let province = place.province ?? key.unit
            byProvince[province, default: []].append(IndicatorValueChange(
                unit: key.unit, unitName: place.unit.name, level: place.unit.level, period: key.period, indicator: key.indicator,
                current: change.current, previous: change.previous
            ))
        }
        var messages: [OutboxMessage] = []
        for (province, values) in byProvince.sorted(by: { $0.key < $1.key }) {
            for start in stride(from: 0, to: values.count, by: Self.valuesPerMessage) {
                let chunk = Array(values[start..<min(values.count, start + Self.valuesPerMessage)])
                let envelope = Envelope(schema: IndicatorValueBatch.schema, source: source, data: IndicatorValueBatch(province: province, values: chunk))
                messages.append(try OutboxMessage(topic: topic, key: province.rawValue, envelope: envelope))
            }
        }
        return messages
    }
}
