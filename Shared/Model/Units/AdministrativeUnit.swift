/// A unit's code in DX Pulse: the official code for the current tree (`66`, `24403`, `VN`) and
/// the official code prefixed with `old-` for the pre-2025 tree, so the two never collide.
public struct UnitCode: Hashable, Comparable, Sendable, Codable, ExpressibleByStringLiteral, CustomStringConvertible {
    public let rawValue: String

    public init(_ rawValue: String) {
        self.rawValue = rawValue
    }

    public init(stringLiteral value: String) {
        self.rawValue = value
    }

    public static let country = UnitCode("VN")

    public var description: String { rawValue }

    public static func < (a: UnitCode, b: UnitCode) -> Bool { a.rawValue < b.rawValue }

    /// Hashed as cell keys are (`WordHashed`), without a `Hasher` per lookup: checking a line
    /// looks its unit up, and the engine a unit's parent and children per cell it computes.
    /// The codes a table holds are the catalog's, so no client chooses what collides in it.
    var hashWord: UInt64 { KeyHashing.fold(rawValue, into: KeyHashing.offsetBasis) }

    public init(from decoder: any Decoder) throws {
        rawValue = try decoder.singleValueContainer().decode(String.self)
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}

/// Levels of the administrative tree. The district level existed until 30 June 2025.
public enum AdministrativeLevel: String, Codable, Sendable, CaseIterable {
    case country, province, district, commune

    /// Vietnamese word for the level, for summaries.
    public var nameVi: String {
        switch self {
        case .country: "quốc gia"
        case .province: "tỉnh"
        case .district: "huyện"
        case .commune: "xã"
        }
    }
}

/// Which administrative tree a unit belongs to.
public enum UnitTree: String, Codable, Sendable {
    /// Two tiers, in force from 1 July 2025: 34 provinces, 3,321 communes.
    case current
    /// Three tiers, until 30 June 2025: 63 provinces, 696 districts, 10,051 communes.
    case pre2025
}

/// A province, district or commune (or the country), as published, with the days it existed.
/// `parent` is where its figures roll up: for a pre-2025 province that is the current province
/// it merged into, which is what makes province series continue across 1 July 2025.
public struct AdministrativeUnit: Hashable, Sendable, Codable {
    public var code: UnitCode
    public var parent: UnitCode?
    public var level: AdministrativeLevel
    public var tree: UnitTree
    /// The official name with its type word, e.g. "Tỉnh Đắk Lắk", "Huyện Cư M'gar".
    public var name: String
    /// Lowercase ASCII form of the name, for search.
    public var ascii: String
    public var officialCode: String
    public var validFrom: Day?
    public var validTo: Day?

    public init(code: UnitCode, parent: UnitCode?, level: AdministrativeLevel, tree: UnitTree, name: String, ascii: String,
                officialCode: String, validFrom: Day? = nil, validTo: Day? = nil) {
        self.code = code
        self.parent = parent
        self.level = level
        self.tree = tree
        self.name = name
        self.ascii = ascii
        self.officialCode = officialCode
        self.validFrom = validFrom
        self.validTo = validTo
    }

    /// A unit counts for a period when it existed on the period's last day: the tree in force
    /// at the end of a period is the one its figures are expected from.
    public func isValid(at period: Period) -> Bool {
        exists(on: period.end)
    }

    public func exists(on day: Day) -> Bool {
        if let validFrom, day < validFrom { return false }
        if let validTo, validTo < day { return false }
        return true
    }
}

/// How a pre-2025 unit continues in the current tree.
public struct Succession: Hashable, Sendable, Codable {
    public enum Kind: String, Codable, Sendable {
        /// All of the old unit went into this new unit.
        case whole
        /// The old unit was divided; this new unit took a part.
        case split
    }

    public var old: UnitCode
    public var new: UnitCode
    public var kind: Kind

    public init(old: UnitCode, new: UnitCode, kind: Kind) {
        self.old = old
        self.new = new
        self.kind = kind
    }
}

extension UnitCode: WordHashed {}
