import DXModel
import Foundation
import Testing

@Suite("Periods and days")
struct PeriodTests {
    @Test("periods parse and print in the three forms", arguments: ["2023", "2023-Q4", "2023-10", "2025-01", "2024-Q1"])
    func roundTrip(text: String) throws {
        let period = try #require(Period(text))
        #expect(period.description == text)
    }

    @Test("malformed periods are refused", arguments: ["", "23", "2023-13", "2023-00", "2023-Q5", "2023-Q0", "2023-1", "2023/10", "abcd", "2023-10-01", "1899"])
    func refused(text: String) {
        #expect(Period(text) == nil)
    }

    @Test("months make quarters and years")
    func containment() throws {
        let october = Period.month(2023, 10)
        #expect(october.containing(.quarter) == .quarter(2023, 4))
        #expect(october.containing(.year) == .year(2023))
        #expect(october.enclosing == [.quarter(2023, 4), .year(2023)])
        #expect(Period.quarter(2023, 2).subperiods(.month) == [.month(2023, 4), .month(2023, 5), .month(2023, 6)])
        #expect(Period.year(2024).subperiods(.quarter).count == 4)
        #expect(Period.year(2024).subperiods(.month).count == 12)
        #expect(Period.quarter(2025, 2).end == Day(year: 2025, month: 6, day: 30))
        #expect(Period.month(2024, 2).end == Day(year: 2024, month: 2, day: 29))
        #expect(Period.month(2023, 1).previous == .month(2022, 12))
        #expect(Period.quarter(2023, 4).next == .quarter(2024, 1))
    }

    @Test("periods sort chronologically, finer first at a shared end")
    func ordering() {
        let sorted = [Period.year(2023), .month(2023, 12), .quarter(2023, 4), .month(2023, 1)].sorted()
        #expect(sorted == [.month(2023, 1), .month(2023, 12), .quarter(2023, 4), .year(2023)])
    }

    @Test("days are Vietnam's calendar days")
    func days() throws {
        // 2025-06-30 17:00 UTC is already 1 July in Vietnam.
        let instant = Date(timeIntervalSince1970: 1_751_302_800)
        #expect(Day(instant) == Day(year: 2025, month: 7, day: 1))
        #expect(Day("2025-07-01")?.adding(days: -1) == Day(year: 2025, month: 6, day: 30))
        #expect(Day("2024-02-30") == nil)
        #expect(Day(year: 2025, month: 7, day: 1).startInstant == Date(timeIntervalSince1970: 1_751_302_800))
    }

    @Test("counting days from 1970 and back gives the same calendar, day after day")
    func daysSinceEpoch() {
        #expect(Day(daysSinceEpoch: 0) == Day(year: 1970, month: 1, day: 1))
        #expect(Day(daysSinceEpoch: -1) == Day(year: 1969, month: 12, day: 31))
        #expect(Day(daysSinceEpoch: 20_454) == Day(year: 2026, month: 1, day: 1))
        var previous = Day(daysSinceEpoch: -30_000)
        for count in -29_999...400_000 {
            let day = Day(daysSinceEpoch: count)
            let next = previous.day < Day.daysIn(month: previous.month, year: previous.year)
                ? Day(year: previous.year, month: previous.month, day: previous.day + 1)
                : previous.month < 12 ? Day(year: previous.year, month: previous.month + 1, day: 1) : Day(year: previous.year + 1, month: 1, day: 1)
            guard day.daysSinceEpoch == count, day == next else {
                Issue.record("day \(count): \(day), after \(previous)")
                return
            }
            previous = day
        }
    }

    @Test("dates and instants print as ISO 8601, zero-padded, the same as a formatter")
    func printing() {
        #expect(Day(year: 2025, month: 7, day: 1).description == "2025-07-01")
        #expect(7.zeroPadded(2) == "07" && 2025.zeroPadded(2) == "2025" && 0.zeroPadded(3) == "000" && (-5).zeroPadded(3) == "-005")
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        formatter.timeZone = TimeZone(identifier: "UTC")
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<500 {
            // Whole eighths of a second: exact in binary, so truncation and rounding agree.
            let date = Date(timeIntervalSince1970: Double(Int64.random(in: 0...4_102_444_800, using: &rng)) + Double(Int.random(in: 0..<8, using: &rng)) / 8)
            #expect(RFC3339.string(date) == formatter.string(from: date))
        }
    }
}
