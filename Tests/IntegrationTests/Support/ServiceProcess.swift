import AsyncHTTPClient
import Foundation
import NIOCore

/// One of the real executables (dx-ingest, dx-indicators, dx-alerts) running as a child process,
/// with its log in a file the test prints when something goes wrong.
final class ServiceProcess: @unchecked Sendable {
    let name: String
    let port: Int
    let logFile: URL
    private let environment: [String: String]
    private var process: Process?

    static var binDirectory: URL {
        if let dir = ProcessInfo.processInfo.environment["DX_TEST_BIN_DIR"] { return URL(fileURLWithPath: dir) }
        // swift test runs .build/<config>/dx-pulsePackageTests.xctest, next to the executables.
        var url = URL(fileURLWithPath: CommandLine.arguments[0]).resolvingSymlinksInPath()
        while url.pathExtension != "xctest" && url.path != "/" { url.deleteLastPathComponent() }
        return url.deletingLastPathComponent()
    }

    init(_ name: String, environment: [String: String], port: Int? = nil) {
        self.name = name
        self.port = port ?? freePort()
        self.logFile = FileManager.default.temporaryDirectory.appendingPathComponent("\(name)-\(UInt32.random(in: 0..<UInt32.max)).log")
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("DX_") }
        for (key, value) in environment { env[key] = value }
        env["DX_HTTP_PORT"] = String(self.port)
        env["DX_HTTP_HOST"] = "127.0.0.1"
        env["DX_LOG_LEVEL"] = env["DX_LOG_LEVEL"] ?? "info"
        self.environment = env
    }

    var baseURL: String { "http://127.0.0.1:\(port)" }

    func start() throws {
        let executable = Self.binDirectory.appendingPathComponent(name)
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw TestFailure("\(executable.path) is not built: run `swift build` before the tests (make test does)")
        }
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        let handle = try FileHandle(forWritingTo: logFile)
        handle.seekToEndOfFile()
        let process = Process()
        process.executableURL = executable
        process.environment = environment
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        self.process = process
    }

    /// Waits until `/ready` answers 200.
    func waitUntilReady(timeout: Duration = .seconds(90)) async throws {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let process, !process.isRunning {
                throw TestFailure("\(name) exited with status \(process.terminationStatus):\n\(log())")
            }
            if let response = try? await HTTP.get("\(baseURL)/ready"), response.status == 200 { return }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw TestFailure("\(name) was not ready within \(timeout):\n\(log())")
    }

    var isRunning: Bool { process?.isRunning ?? false }

    /// The process id, for tools that read /proc.
    var pid: Int32? { process?.processIdentifier }

    /// SIGKILL: no shutdown code runs, as in a crash.
    func kill() {
        guard let process, process.isRunning else { return }
        Foundation.kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    /// SIGTERM and wait: the graceful shutdown path.
    @discardableResult
    func terminate(timeout: TimeInterval = 30) -> Int32? {
        guard let process else { return nil }
        if process.isRunning {
            process.terminate()
            let deadline = Date().addingTimeInterval(timeout)
            while process.isRunning && Date() < deadline { Thread.sleep(forTimeInterval: 0.05) }
            if process.isRunning {
                Foundation.kill(process.processIdentifier, SIGKILL)
                process.waitUntilExit()
                return nil
            }
        }
        return process.terminationStatus
    }

    func log() -> String {
        (try? String(contentsOf: logFile, encoding: .utf8)).map { String($0.suffix(6000)) } ?? ""
    }

    deinit {
        if let process, process.isRunning { Foundation.kill(process.processIdentifier, SIGKILL) }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A TCP port nothing listens on now, below Linux's range for outgoing connections
/// (32768–60999): a port from that range, asked of the kernel with port 0, could be taken by a
/// connection of anything on the machine before the broker or service that was given it binds it.
func freePort() -> Int {
    while true {
        let port = Int.random(in: 20_000..<32_000)
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = UInt16(port).bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        if bound == 0 { return port }
    }
}

/// Minimal HTTP for tests, on AsyncHTTPClient.
enum HTTP {
    struct Response {
        var status: Int
        var headers: [(String, String)]
        var body: [UInt8]
        var text: String { String(decoding: body, as: UTF8.self) }
        func json() throws -> [String: Any] {
            guard let object = try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any] else { throw TestFailure("not a JSON object: \(text)") }
            return object
        }
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name.lowercased() }?.1 }
    }

    static func get(_ url: String, token: String? = nil) async throws -> Response {
        try await send("GET", url, token: token, body: nil, contentType: nil)
    }

    static func post(_ url: String, token: String?, body: [UInt8], contentType: String = "application/json") async throws -> Response {
        try await send("POST", url, token: token, body: body, contentType: contentType)
    }

    static func post(_ url: String, token: String?, json: [String: Any]) async throws -> Response {
        try await post(url, token: token, body: Array(try JSONSerialization.data(withJSONObject: json)))
    }

    static func post(_ url: String, token: String?, csv: String) async throws -> Response {
        try await post(url, token: token, body: Array(csv.utf8), contentType: "text/csv; charset=utf-8")
    }

    /// One JSON object per line.
    static func post(_ url: String, token: String?, events: [[String: Any]]) async throws -> Response {
        let lines = try events.map { String(decoding: try JSONSerialization.data(withJSONObject: $0, options: [.sortedKeys]), as: UTF8.self) }
        return try await post(url, token: token, body: Array((lines.joined(separator: "\n") + "\n").utf8), contentType: "application/x-ndjson")
    }

    static func send(_ method: String, _ url: String, token: String?, body: [UInt8]?, contentType: String?,
                     headers: [(String, String)] = []) async throws -> Response {
        var request = HTTPClientRequest(url: url)
        request.method = .init(rawValue: method)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let contentType { request.headers.add(name: "Content-Type", value: contentType) }
        if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
        let buffer = try await response.body.collect(upTo: 64 * 1024 * 1024)
        return Response(status: Int(response.status.code), headers: response.headers.map { ($0.name, $0.value) }, body: Array(buffer: buffer))
    }
}
