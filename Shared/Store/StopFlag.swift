import Synchronization

/// A flag set once, from a graceful-shutdown handler, and read by the loops it stops.
public final class StopFlag: Sendable {
    private let state = Mutex(false)

    public init() {}

    /// Also true in a cancelled task: cancelled (its service group ends because another service
    /// failed), a loop's every attempt fails at once and its wait returns at once, so it must end
    /// as on shutdown, not spin.
    public var isStopped: Bool { Task.isCancelled || state.withLock { $0 } }

    public func stop() { state.withLock { $0 = true } }
}
