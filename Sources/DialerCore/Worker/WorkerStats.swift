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
    private let stopping = Mutex(false)
    public init() {}
    public var snapshot: WorkerCounts { counts.withLock { $0 } }
    /// Whether the worker has been asked to stop (readiness turns false at once, before in-flight dials finish).
    public var isStopping: Bool { stopping.withLock { $0 } }
    public func markStopping() { stopping.withLock { $0 = true } }
    func update(_ body: (inout WorkerCounts) -> Void) { counts.withLock { body(&$0) } }
}
