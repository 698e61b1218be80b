import DXModel

/// Checks a batch of observations against the catalog before the engine applies it: a
/// malformed batch is dead-lettered, not applied. Apart from the handler, so each province's task
/// checks its own batches, in parallel with the others, where the handler checked the whole
/// batch first, one message after another.
struct ObservationCheck: Sendable {
    let catalog: Catalog

    func inputs(of batch: ObservationBatch) throws(InvalidMessage) -> [ObservationInput] {
        let inputs = try batch.inputs()
        for (index, observation) in batch.observations.enumerated() {
            // The unit and its province in one lookup.
            guard let place = catalog.units.place(of: observation.unit) else {
                throw InvalidMessage("observations[\(index)]: unit \(observation.unit) is not in the catalog")
            }
            let province = place.province ?? observation.unit
            guard province == batch.province else {
                throw InvalidMessage("observations[\(index)]: unit \(observation.unit) belongs to province \(province), not \(batch.province)")
            }
            guard let element = catalog.elements[observation.element] else {
                throw InvalidMessage("observations[\(index)]: data element \(observation.element) is not in the catalog")
            }
            guard element.periodType == observation.period.type else {
                throw InvalidMessage("observations[\(index)]: \(element.code) is per \(element.periodType.rawValue), not \(observation.period)")
            }
        }
        return inputs
    }
}
