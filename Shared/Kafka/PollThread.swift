import Foundation
import Synchronization

/// A dedicated thread that calls `body` until stopped. librdkafka delivers callbacks from inside
/// its poll calls, which block; they get their own thread instead of a cooperative-pool one.
final class PollThread: Sendable {
    private final class State: Sendable {
        let stopped = Atomic<Bool>(false)
        let finished = DispatchSemaphore(value: 0)
    }

    private let state = State()

    init(name: String, body: @escaping @Sendable () -> Void) {
        let state = self.state
        let thread = Thread {
            while !state.stopped.load(ordering: .acquiring) {
                body()
            }
            state.finished.signal()
        }
        thread.name = name
        thread.start()
    }

    /// Stops the loop and waits for the current `body` call to return. Idempotent.
    func stop() {
        let (exchanged, _) = state.stopped.compareExchange(expected: false, desired: true, ordering: .acquiringAndReleasing)
        if exchanged { state.finished.wait() }
    }
}

extension String {
    /// A NUL-terminated C string written by librdkafka into a buffer of ours.
    init(errorBuffer: [CChar]) {
        let bytes = errorBuffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
        self = String(decoding: bytes, as: UTF8.self)
    }
}
