import Foundation

/// Runs the `dx` executable built next to the services, and captures what it prints.
enum DXCommand {
    struct Result {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func run(_ arguments: [String], environment: [String: String] = [:], input: String? = nil) async throws -> Result {
        let executable = ServiceProcess.binDirectory.appendingPathComponent("dx")
        guard FileManager.default.isExecutableFile(atPath: executable.path) else {
            throw TestFailure("\(executable.path) is not built: run `swift build` before the tests (make test does)")
        }
        let process = Process()
        process.executableURL = executable
        process.arguments = arguments
        var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("DX_") }
        for (key, value) in environment { env[key] = value }
        process.environment = env
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("dx-cli-\(UInt32.random(in: 0..<UInt32.max))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let out = directory.appendingPathComponent("stdout"), err = directory.appendingPathComponent("stderr")
        _ = FileManager.default.createFile(atPath: out.path, contents: nil)
        _ = FileManager.default.createFile(atPath: err.path, contents: nil)
        process.standardOutput = try FileHandle(forWritingTo: out)
        process.standardError = try FileHandle(forWritingTo: err)
        process.standardInput = FileHandle.nullDevice
        try process.run()
        while process.isRunning { try await Task.sleep(for: .milliseconds(50)) }
        return Result(status: process.terminationStatus,
                      stdout: (try? String(contentsOf: out, encoding: .utf8)) ?? "",
                      stderr: (try? String(contentsOf: err, encoding: .utf8)) ?? "")
    }
}

/// A Tansu broker of the test's own, for tests that freeze or stop the broker without
/// disturbing the shared one other tests use. The binary comes from DX_TEST_TANSU_BIN (set by
/// deploy/local/test.sh to the checkout's `.dx/tools/tansu`).
final class TansuProcess: @unchecked Sendable {
    let port: Int
    let logFile: URL
    private let process = Process()

    var brokers: String { "127.0.0.1:\(port)" }

    /// `port`: the port of a broker stopped before, to stand in for it with an empty log.
    init(port: Int? = nil) throws {
        let path = try TestEnvironment.require("DX_TEST_TANSU_BIN")
        guard FileManager.default.isExecutableFile(atPath: path) else { throw TestFailure("DX_TEST_TANSU_BIN=\(path) is not an executable") }
        self.port = port ?? freePort()
        logFile = FileManager.default.temporaryDirectory.appendingPathComponent("tansu-\(UInt32.random(in: 0..<UInt32.max)).log")
        _ = FileManager.default.createFile(atPath: logFile.path, contents: nil)
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = ["broker", "--listener-url", "tcp://127.0.0.1:\(self.port)", "--advertised-listener-url", "tcp://127.0.0.1:\(self.port)",
                             "--storage-engine", "memory://tansu/"]
        let handle = try FileHandle(forWritingTo: logFile)
        process.standardOutput = handle
        process.standardError = handle
    }

    /// Starts the broker and waits until it accepts connections.
    func start() async throws {
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            guard process.isRunning else { throw TestFailure("Tansu exited at start:\n\(log())") }
            if canConnect(port: port) { return }
            try await Task.sleep(for: .milliseconds(100))
        }
        throw TestFailure("Tansu did not listen on \(port) within 20 s:\n\(log())")
    }

    /// SIGSTOP: the broker keeps its sockets open but answers nothing, like a hung Kafka.
    func freeze() { kill(process.processIdentifier, SIGSTOP) }

    /// SIGCONT: it answers again, with everything it had.
    func thaw() { kill(process.processIdentifier, SIGCONT) }

    func stop() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGCONT)
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }

    func log() -> String {
        (try? String(contentsOf: logFile, encoding: .utf8)).map { String($0.suffix(4000)) } ?? ""
    }

    deinit { stop() }
}

/// True when something accepts TCP connections on 127.0.0.1:`port`.
func canConnect(port: Int) -> Bool {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    return withUnsafePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    } == 0
}
