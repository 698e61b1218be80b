import Synchronization

/// A flag set once, from a graceful-shutdown handler, and read by the loops it stops.
public final class StopFlag: Sendable {
    private let state = Mutex(false)

    public init() {}

    public var isStopped: Bool { state.withLock { $0 } }

    public func stop() { state.withLock { $0 = true } }
}
