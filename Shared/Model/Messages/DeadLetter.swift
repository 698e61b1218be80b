/// `dx.deadletter.v1`: a message a consumer could not use, with where it came from and why, so
/// nothing is silently dropped and the consumer can go on.
public struct DeadLetter: Codable, Sendable, Hashable {
    public static let schema = "dx.deadletter.v1"

    public var consumer: String
    public var topic: String
    public var partition: Int32
    public var offset: Int64
    public var error: String
    /// The message as UTF-8 text when it is, otherwise base64 (see `payloadEncoding`).
    public var payload: String
    public var payloadEncoding: String

    public init(consumer: String, topic: String, partition: Int32, offset: Int64, error: String, payload: [UInt8]) {
        self.consumer = consumer
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.error = error
        if let text = String(validating: payload, as: UTF8.self) {
            self.payload = text
            self.payloadEncoding = "utf-8"
        } else {
            self.payload = Base64.encode(payload)
            self.payloadEncoding = "base64"
        }
    }
}

enum Base64 {
    static func encode(_ bytes: [UInt8]) -> String {
        let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")
        var out = ""
        var i = 0
        while i < bytes.count {
            let b0 = Int(bytes[i]), b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
            out.append(table[b0 >> 2])
            out.append(table[((b0 & 3) << 4) | (b1 >> 4)])
            out.append(i + 1 < bytes.count ? table[((b1 & 15) << 2) | (b2 >> 6)] : "=")
            out.append(i + 2 < bytes.count ? table[b2 & 63] : "=")
            i += 3
        }
        return out
    }
}
