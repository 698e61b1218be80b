import Crypto
import DXModel
import DXStore
import Foundation
import Logging
import PostgresNIO

/// Ingestion tokens: each scoped to one unit (a commune's token covers the commune, a
/// province's token the province and everything under it). Only a SHA-256 of the secret is
/// stored; the secret is shown once, at creation.
public struct TokenStore: Sendable {
    public struct Token: Sendable {
        public var id: UUID
        public var name: String
        public var unit: UnitCode
        public var createdAt: Date
        public var revokedAt: Date?
    }

    public static let prefix = "dxp_"

    let database: Database
    let logger: Logger

    public init(database: Database, logger: Logger) {
        self.database = database
        self.logger = logger
    }

    /// Creates a token for `unit`; returns it with its secret, which is not stored.
    public func create(unit: UnitCode, name: String) async throws -> (token: Token, secret: String) {
        var bytes = [UInt8](repeating: 0, count: 32)
        var generator = SystemRandomNumberGenerator()
        for i in bytes.indices { bytes[i] = UInt8.random(in: 0...255, using: &generator) }
        let secret = Self.prefix + Data(bytes).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
        let id = UUID()
        let now = Date()
        try await database.query("""
            INSERT INTO ingest.tokens (id, name, unit, secret_sha256, created_at)
            VALUES (\(id), \(name), \(unit.rawValue), \(ByteBuffer(bytes: Self.hash(secret))), \(now))
            """)
        return (Token(id: id, name: name, unit: unit, createdAt: now, revokedAt: nil), secret)
    }

    /// Revokes by id or name; returns how many tokens it revoked.
    public func revoke(_ idOrName: String) async throws -> Int {
        let rows: PostgresRowSequence
        if let id = UUID(uuidString: idOrName) {
            rows = try await database.query("UPDATE ingest.tokens SET revoked_at = now() WHERE id = \(id) AND revoked_at IS NULL RETURNING 1")
        } else {
            rows = try await database.query("UPDATE ingest.tokens SET revoked_at = now() WHERE name = \(idOrName) AND revoked_at IS NULL RETURNING 1")
        }
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }

    public func list() async throws -> [Token] {
        var tokens: [Token] = []
        for try await (id, name, unit, created, revoked) in try await database.query(
            "SELECT id, name, unit, created_at, revoked_at FROM ingest.tokens ORDER BY created_at"
        ).decode((UUID, String, String, Date, Date?).self) {
            tokens.append(Token(id: id, name: name, unit: UnitCode(unit), createdAt: created, revokedAt: revoked))
        }
        return tokens
    }

    /// The live token with this secret, if any.
    public func authenticate(_ secret: String) async throws -> Token? {
        guard secret.hasPrefix(Self.prefix) else { return nil }
        let rows = try await database.query("""
            SELECT id, name, unit, created_at FROM ingest.tokens
            WHERE secret_sha256 = \(ByteBuffer(bytes: Self.hash(secret))) AND revoked_at IS NULL
            """)
        for try await (id, name, unit, created) in rows.decode((UUID, String, String, Date).self) {
            return Token(id: id, name: name, unit: UnitCode(unit), createdAt: created, revokedAt: nil)
        }
        return nil
    }

    static func hash(_ secret: String) -> [UInt8] {
        Array(SHA256.hash(data: Data(secret.utf8)))
    }
}
