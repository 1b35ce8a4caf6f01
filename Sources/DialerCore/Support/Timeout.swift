import Synchronization

/// Runs `operation`, failing with `TimeoutError` when it takes longer than `timeout`.
///
/// The caller is released at the deadline even when the operation ignores cancellation: it is cancelled and left to
/// finish on its own. A query the connection pool has lost (seen after a database restart: the request waits in the
/// pool forever while its connections sit idle) therefore costs one retry, not a worker stuck for good.
public func withTimeout<T: Sendable>(_ timeout: Duration, what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
    let outcome = FirstResult<T>()
    let (done, signal) = AsyncStream.makeStream(of: Void.self)
    let work = Task {
        let result: Result<T, any Error>
        do { result = .success(try await operation()) } catch { result = .failure(error) }
        outcome.set(result)
        signal.yield()
    }
    let timer = Task {
        try? await Task.sleep(for: timeout)
        outcome.set(.failure(TimeoutError(what: what, after: timeout)))
        signal.yield()
    }
    await withTaskCancellationHandler {
        var iterator = done.makeAsyncIterator()
        _ = await iterator.next()
    } onCancel: {
        outcome.set(.failure(CancellationError()))
        signal.yield()
    }
    signal.finish()
    timer.cancel()
    let result = outcome.value ?? .failure(CancellationError())
    if case .failure = result { work.cancel() }
    return try result.get()
}

/// The first result set wins; later ones are dropped.
private final class FirstResult<T: Sendable>: Sendable {
    private let stored = Mutex<Result<T, any Error>?>(nil)
    func set(_ result: Result<T, any Error>) { stored.withLock { if $0 == nil { $0 = result } } }
    var value: Result<T, any Error>? { stored.withLock { $0 } }
}

/// An operation did not finish in time.
public struct TimeoutError: Error, CustomStringConvertible {
    public let what: String
    public let after: Duration
    public var description: String { "\(what) did not answer within \(after)" }
}
