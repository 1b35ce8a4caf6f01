import Synchronization

/// Running totals of one worker, for the drain summary, the progress line and the logs.
public struct WorkerCounts: Sendable, Hashable {
    public var claimed = 0
    public var dialed = 0
    public var retried = 0
    public var failed = 0
    public var deferred = 0
    public var released = 0
    public var fenced = 0
    public var recovered = 0
    public var reconciled = 0
    public var inDoubt = 0
    public var pacingWaits = 0
    public var failedByCode: [String: Int] = [:]
    public var retriedByKind: [String: Int] = [:]

    /// Jobs this worker finished or handed back (everything claimed that is no longer in its hands).
    public var settled: Int { dialed + retried + failed + deferred + released + fenced }
}

/// Thread-safe ``WorkerCounts``.
public final class WorkerStats: Sendable {
    private let counts = Mutex(WorkerCounts())
    public init() {}
    public var snapshot: WorkerCounts { counts.withLock { $0 } }
    func update(_ body: (inout WorkerCounts) -> Void) { counts.withLock { body(&$0) } }
}
