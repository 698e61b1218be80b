import Foundation

/// The hash of a cell's or an indicator value's key. The engine looks keys up tens of times
/// per observation, and `String`'s own hashing (a Hasher seeded and finalized per string, every
/// byte fed in separately) was a third of dx-indicators' CPU at national scale. Codes are ASCII,
/// so their bytes are hashed in one pass into one word, which a cell's or an indicator value's
/// key computes once, when it is made, and keeps.
///
/// Equal keys hash alike: ASCII text is its own canonical form, and any other text is hashed
/// through its NFC form, which is how `String` decides equality.
enum KeyHashing {
    /// FNV-1a's starting value.
    static let offsetBasis: UInt64 = 0xCBF2_9CE4_8422_2325

    /// FNV-1a over a code's canonical UTF-8 bytes, folded into `seed`.
    @inline(__always)
    static func fold(_ text: String, into seed: UInt64) -> UInt64 {
        if let hash = text.utf8.withContiguousStorageIfAvailable({ bytes -> UInt64? in
            var hash = seed
            for byte in bytes {
                if byte >= 0x80 { return nil }
                hash = step(hash, byte)
            }
            return hash
        }), let hash {
            return hash
        }
        // Not ASCII (or not contiguous): the canonical composition, so text that `==` calls equal
        // (a decomposed letter and its precomposed form) hashes the same.
        return text.precomposedStringWithCanonicalMapping.utf8.reduce(seed, step)
    }

    /// One byte of FNV-1a.
    @inline(__always)
    static func step(_ hash: UInt64, _ byte: UInt8) -> UInt64 {
        (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    /// A unit, a period and a code (an element's or an indicator's) as one word.
    @inline(__always)
    static func word(unit: UnitCode, period: Period, code: String) -> UInt64 {
        var hash = offsetBasis
        hash = fold(unit.rawValue, into: hash)
        // A separator: "12" + "3" and "1" + "23" must not meet.
        hash = step(hash, 0xFF)
        hash = fold(code, into: hash)
        return hash ^ periodWord(period)
    }

    /// The period's share of a word, XORed in last, so a key's word for another period of the
    /// same unit and code follows from it without hashing the codes again (`reperiod`).
    @inline(__always)
    static func periodWord(_ period: Period) -> UInt64 {
        (UInt64(bitPattern: Int64(period.year)) &* 64 &+ UInt64(period.index) &* 4 &+ UInt64(period.type.rank)) &* 0x9E37_79B9_7F4A_7C15
    }

    /// `word(unit:period:code:)` of the same unit and code at another period.
    @inline(__always)
    static func reperiod(_ word: UInt64, from period: Period, to other: Period) -> UInt64 {
        word ^ periodWord(period) ^ periodWord(other)
    }

    /// A word mixed with a `Dictionary`'s or a `Set`'s seed (the SplitMix64 finalizer): what
    /// `_rawHashValue(seed:)` answers without a `Hasher`. Seeding, feeding and finalizing one
    /// per lookup was still a tenth of dx-indicators' CPU with keys hashed as one word. Every bit
    /// of the word reaches the low bits, which pick the bucket.
    @inline(__always)
    static func mixed(_ word: UInt64, seed: Int) -> Int {
        var z = word &+ UInt64(UInt(bitPattern: seed)) &* 0x9E37_79B9_7F4A_7C15
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Int(truncatingIfNeeded: z ^ (z >> 31))
    }
}

/// A key hashed through its `KeyHashing` word: `Dictionary` and `Set` call `_rawHashValue(seed:)`,
/// `Hashable`'s own requirement, which here mixes the word with the table's seed and needs no
/// `Hasher`; `hash(into:)` still feeds the word to one, for a key nested in another key.
protocol WordHashed: Hashable {
    var hashWord: UInt64 { get }
}

extension WordHashed {
    public func hash(into hasher: inout Hasher) { hasher.combine(hashWord) }

    public func _rawHashValue(seed: Int) -> Int { KeyHashing.mixed(hashWord, seed: seed) }
}

extension CellKey: WordHashed {}

extension IndicatorKey: WordHashed {}
