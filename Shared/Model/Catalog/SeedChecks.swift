import Foundation

/// Recomputes each percentage a seed article prints from the counts recorded for it, and says
/// whether the two agree within the article's own rounding ("79%" allows 78.5–79.5).
public enum SeedCheckEvaluation {
    public struct Result: Sendable {
        public var check: SeedCheck
        public var numerator: Quantity?
        public var denominator: Quantity?
        /// factor × numerator / denominator, rounded to 2 places for display.
        public var computed: Quantity?
        public var agrees: Bool
        public var reason: String?
    }

    public static func evaluate(_ files: CatalogFiles) -> [Result] {
        let catalog = files.catalog
        var values: [String: Quantity] = [:]
        for observation in files.seedObservations {
            values["\(observation.unit)|\(observation.period)|\(observation.element)"] = observation.value
        }
        return files.seedChecks.map { check in
            guard let indicator = catalog.indicators[check.indicator], indicator.kind == .ratio,
                  let numeratorCode = indicator.numerator, let denominatorCode = indicator.denominator else {
                return Result(check: check, agrees: false, reason: "\(check.indicator) is not a ratio indicator")
            }
            let numerator = values["\(check.unit)|\(check.period)|\(numeratorCode)"]
            let denominator = values["\(check.unit)|\(check.period)|\(denominatorCode)"]
            guard let numerator, let denominator, denominator > 0 else {
                return Result(check: check, numerator: numerator, denominator: denominator, agrees: false,
                              reason: "no \(numeratorCode) and \(denominatorCode) recorded for \(check.unit) \(check.period)")
            }
            let factor = indicator.factor ?? 1
            let exact = Quantity.divide(numerator * factor, by: denominator)
            let computed = exact.rounded(scale: 2)
            let printed = check.printed.trimmingCharacters(in: .whitespaces)
            if printed.contains("/") {
                let parts = printed.split(separator: "/").map { Quantity.parse(String($0).replacingOccurrences(of: ".", with: "")) }
                guard parts.count == 2, let n = parts[0], let d = parts[1] else {
                    return Result(check: check, numerator: numerator, denominator: denominator, computed: computed, agrees: false, reason: "cannot read '\(printed)'")
                }
                let agrees = n == numerator && d == denominator
                return Result(check: check, numerator: numerator, denominator: denominator, computed: computed, agrees: agrees,
                              reason: agrees ? nil : "article prints \(printed), the data has \(numerator.description)/\(denominator.description)")
            }
            let number = printed.replacingOccurrences(of: "%", with: "").replacingOccurrences(of: ",", with: ".")
            guard let value = Quantity.parse(number) else {
                return Result(check: check, numerator: numerator, denominator: denominator, computed: computed, agrees: false, reason: "cannot read '\(printed)'")
            }
            let decimals = number.split(separator: ".").dropFirst().first?.count ?? 0
            // Half a unit of the last printed digit.
            let tolerance = decimals < Quantity.scale ? Quantity(raw: 5 * Int128(Quantity.pow10(Quantity.scale - decimals - 1))) : .zero
            let difference = exact > value ? exact - value : value - exact
            let agrees = difference <= tolerance
            return Result(check: check, numerator: numerator, denominator: denominator, computed: computed, agrees: agrees,
                          reason: agrees ? nil : "article prints \(printed), the counts give \(computed.description)")
        }
    }
}
