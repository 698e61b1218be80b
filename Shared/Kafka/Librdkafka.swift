import CRdKafka

/// The librdkafka this process is linked against. Versions below 2.2 mis-parse tagged fields and
/// cannot talk to Tansu, so every service checks at start and refuses to run below it.
public enum Librdkafka {
    public static let minimumVersion = (major: 2, minor: 2)

    /// e.g. "2.8.0".
    public static var version: String { String(cString: rd_kafka_version_str()) }

    /// major, minor, revision from `rd_kafka_version()` (0xMMmmrrxx).
    public static var versionNumbers: (major: Int, minor: Int, revision: Int) {
        let v = Int(rd_kafka_version())
        return ((v >> 24) & 0xff, (v >> 16) & 0xff, (v >> 8) & 0xff)
    }

    public static var isSupported: Bool {
        let (major, minor, _) = versionNumbers
        return (major, minor) >= minimumVersion
    }

    /// Throws a clear error when the linked librdkafka is too old.
    public static func requireSupportedVersion() throws {
        guard isSupported else {
            throw KafkaError(
                message: "librdkafka \(version) is linked, but DX Pulse needs \(minimumVersion.major).\(minimumVersion.minor) or newer "
                    + "(older versions mis-parse tagged fields and cannot talk to Tansu). Run deploy/local/librdkafka.sh "
                    + "to build a newer one into /usr/local, or install librdkafka >= 2.2 from your distribution.",
                operation: "version check"
            )
        }
    }
}
