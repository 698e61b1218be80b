import DXModel
import DXStore
import Foundation
import PostgresNIO
import Testing

/// Every service writes through `COPY`'s text format; whatever text goes in must be what
/// PostgreSQL stores, the bytes COPY escapes included, wherever in the text they fall.
@Suite("COPY of text fields")
struct CopyRowsTests {
    @Test("text with backslashes, tabs, line breaks and other control bytes anywhere reads back as written, as a String and as UTF-8 bytes")
    func textRoundTrips() async throws {
        var rng = SeededGenerator(seed: 9457)
        let pieces = ["a", "Tỷ lệ", "\\", "\t", "\n", "\r", "\u{1}", "\u{1F}", " ", "\"", "{\"k\":[\"1\"]}", "0123456789", "ệ"]
        var texts: [String] = ["", "\\", "plain", String(repeating: "x", count: 8), String(repeating: "y", count: 7) + "\t",
                               String(repeating: "z", count: 16) + "\\", "\n" + String(repeating: "w", count: 15)]
        for _ in 0..<400 {
            let count = Int.random(in: 0...40, using: &rng)
            // Mostly plain text, so an escape falls at every offset of the eight-byte words checked.
            texts.append((0..<count).map { _ in Int.random(in: 0..<4, using: &rng) == 0 ? pieces.randomElement(using: &rng)! : "q" }.joined())
        }
        let rows = Array(texts.enumerated())
        let database = try await TestDatabase.create("copy_text")
        let stored = try await database.withAdmin { db in
            try await db.withConnection { connection -> [(Int, String, String)] in
                try await connection.query("CREATE TABLE copy_text (n int PRIMARY KEY, as_string text, as_bytes text)", logger: TestEnvironment.logger("copy"))
                try await connection.copy(rows, into: "copy_text", columns: ["n", "as_string", "as_bytes"], logger: TestEnvironment.logger("copy")) { row, writer in
                    writer.field(row.offset)
                    writer.field(row.element)
                    writer.field(utf8: Array(row.element.utf8))
                }
                var result: [(Int, String, String)] = []
                for try await row in try await connection.query("SELECT n, as_string, as_bytes FROM copy_text ORDER BY n", logger: TestEnvironment.logger("copy"))
                    .decode((Int, String, String).self) {
                    result.append(row)
                }
                return result
            }
        }
        #expect(stored.count == texts.count)
        for (n, asString, asBytes) in stored {
            #expect(Array(asString.utf8) == Array(texts[n].utf8), "row \(n)")
            #expect(Array(asBytes.utf8) == Array(texts[n].utf8), "row \(n)")
        }
    }
}
