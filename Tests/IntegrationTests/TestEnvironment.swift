import DXKafka
import Foundation
import Logging

/// Where the real PostgreSQL and Tansu that `make test` started are. Tests never run without
/// them: a missing variable is a failure that says how to start them.
enum TestEnvironment {
    static var kafkaBrokers: String {
        get throws { try require("DX_TEST_KAFKA_BROKERS") }
    }

    /// Superuser URL of the test cluster's `dx` database.
    static var postgresAdminURL: String {
        get throws { try require("DX_TEST_POSTGRES_URL") }
    }

    static func require(_ name: String) throws -> String {
        guard let value = ProcessInfo.processInfo.environment[name], !value.isEmpty else {
            throw MissingInfrastructure(variable: name)
        }
        return value
    }

    static func logger(_ label: String) -> Logger {
        var logger = Logger(label: label)
        logger.logLevel = ProcessInfo.processInfo.environment["DX_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .warning
        return logger
    }

    /// A name no other test run uses, for topics, groups and schemas.
    static func uniqueName(_ prefix: String) -> String {
        "\(prefix)-\(UInt32.random(in: 0..<UInt32.max))"
    }
}

struct MissingInfrastructure: Error, CustomStringConvertible {
    var variable: String
    var description: String {
        "\(variable) is not set: integration tests need the real PostgreSQL and Tansu that `make test` starts (run `make test`, or `make infra-test` and export the variables it prints)"
    }
}
