import DXStore
import Synchronization
import Testing

@Suite("WakeSignal")
struct WakeSignalTests {
    @Test("after a wait that timed out, the next wait still lasts until a signal (it used to return at once, and loops spun)")
    func waitsAgainAfterTimeout() async throws {
        let signal = WakeSignal()
        await signal.wait(timeout: .milliseconds(1))
        let released = Released()
        let waiter = Task { () -> Bool in
            await signal.wait(timeout: .seconds(3600))
            return released.value.withLock { $0 }
        }
        try await Task.sleep(for: .milliseconds(200))
        released.value.withLock { $0 = true }
        signal.signal()
        #expect(await waiter.value, "the wait returned before the signal")
    }

    @Test("a signal given while nobody waits wakes the next wait, once")
    func pendingSignal() async {
        let signal = WakeSignal()
        signal.signal()
        signal.signal()
        await signal.wait(timeout: .seconds(3600))
        let released = Released()
        let waiter = Task { () -> Bool in
            await signal.wait(timeout: .seconds(3600))
            return released.value.withLock { $0 }
        }
        try? await Task.sleep(for: .milliseconds(200))
        released.value.withLock { $0 = true }
        signal.signal()
        #expect(await waiter.value, "two signals while nobody waited count as one")
    }
}

private final class Released: Sendable {
    let value = Mutex(false)
}
