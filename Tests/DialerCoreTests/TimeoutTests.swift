import DialerCore
import Foundation
import Synchronization
import Testing

@Suite("withTimeout")
struct TimeoutTests {
    /// Never resumed and deaf to cancellation: what a request lost inside a connection pool looks like to its caller.
    final class Hung: Sendable {
        let parked = Mutex<[CheckedContinuation<Int, Never>]>([])
        func wait() async -> Int { await withCheckedContinuation { continuation in parked.withLock { $0.append(continuation) } } }
        func release() { parked.withLock { for c in $0 { c.resume(returning: 0) }; $0.removeAll() } }
    }

    @Test("releases the caller at the deadline even when the operation ignores cancellation")
    func hungOperation() async throws {
        let hung = Hung()
        let started = ContinuousClock.now
        await #expect(throws: TimeoutError.self) {
            try await withTimeout(.milliseconds(200), what: "a lost query") { await hung.wait() }
        }
        #expect(ContinuousClock.now - started < .seconds(5))
        hung.release()
    }

    @Test("returns the operation's value or error when it finishes first")
    func finishesFirst() async throws {
        #expect(try await withTimeout(.seconds(5), what: "fast") { 42 } == 42)
        struct Boom: Error {}
        await #expect(throws: Boom.self) { try await withTimeout(.seconds(5), what: "failing") { throw Boom() } }
    }

    @Test("cancelling the caller ends the wait at once")
    func callerCancelled() async throws {
        let hung = Hung()
        let task = Task { try await withTimeout(.seconds(60), what: "a lost query") { await hung.wait() } }
        try await Task.sleep(for: .milliseconds(50))
        task.cancel()
        let result = await task.result
        #expect(throws: CancellationError.self) { try result.get() }
        hung.release()
    }
}
