import DXModel
import DXStore
@testable import Ingestion

enum TokenStoreAccess {
    static func create(database: Database, unit: String) async throws -> String {
        try await TokenStore(database: database, logger: TestEnvironment.logger("token")).create(unit: UnitCode(unit), name: "test \(unit)").secret
    }
}
