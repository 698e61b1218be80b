/// A unit and a period: the key of a unit-period row (`engine.unit_periods`), which holds all of
/// the unit's cells and indicator values for the period. The engine groups a batch's changes by
/// it, several times per observation, so it is hashed as cell keys are (`WordHashed`).
public struct UnitPeriod: Hashable, Sendable {
    let hashWord: UInt64
    public let unit: UnitCode
    public let period: Period

    public init(unit: UnitCode, period: Period) {
        self.unit = unit
        self.period = period
        hashWord = unit.hashWord ^ KeyHashing.periodWord(period)
    }
}

extension UnitPeriod: WordHashed {}
