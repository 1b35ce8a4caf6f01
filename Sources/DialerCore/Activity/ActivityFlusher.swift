import Foundation
import Logging
import ServiceLifecycle

/// A running process as the console's Workers page shows it (`dialer_processes`).
public struct ProcessHeartbeat: Sendable, Hashable {
    public enum Role: String, Sendable { case worker, serve }
    /// running; stopping (shutdown began, in-flight work finishing); stopped (its last write: a clean stop).
    public enum State: String, Sendable { case running, stopping, stopped }
    public let id: String
    public let role: Role
    public let host: String
    public let pid: Int
    public let version: String
    public let startedAt: Date
    public var inFlight = 0
    public var concurrency = 0
    public var dialed = 0
    public var failed = 0
    public var settled = 0
    public var state = State.running

    public init(id: String, role: Role, startedAt: Date = Date(), version: String = DialerVersion.current) {
        self.id = id
        self.role = role
        self.host = ProcessInfo.processInfo.hostName
        self.pid = Int(ProcessInfo.processInfo.processIdentifier)
        self.version = version
        self.startedAt = startedAt
    }

    /// A heartbeat as stored.
    public init(id: String, role: Role, host: String, pid: Int, version: String, startedAt: Date) {
        self.id = id
        self.role = role
        self.host = host
        self.pid = pid
        self.version = version
        self.startedAt = startedAt
    }
}

/// The version every process reports.
public enum DialerVersion {
    public static let current = "0.15.0"
}

/// Writes a process's ``ActivityTally`` and heartbeat every `interval` (5 s) in one statement, and once more when it
/// stops. A failed write puts the counts back for the next one; a process killed in between loses those seconds of
/// counts (the rates the console shows), never a job or its record.
public struct ActivityFlusher: Service, CustomStringConvertible {
    let store: JobStore
    let tally: ActivityTally
    let interval: Duration
    /// The process's heartbeat as of now (in flight, totals), read at each write.
    let heartbeat: @Sendable () -> ProcessHeartbeat
    let logger: Logger

    public init(store: JobStore, tally: ActivityTally, interval: Duration = .seconds(5), logger: Logger,
                heartbeat: @escaping @Sendable () -> ProcessHeartbeat)
    {
        self.store = store
        self.tally = tally
        self.interval = interval
        self.heartbeat = heartbeat
        self.logger = logger
    }

    public var description: String { "ActivityFlusher(every: \(interval))" }

    /// Writes every `interval` until shut down, then a last time (state `stopped`). Cancelled, it returns without the
    /// last write (a cancelled task's query would fail): its owner calls ``flush(stopping:)`` itself.
    public func run() async throws {
        while !Task.isShuttingDownGracefully, !Task.isCancelled {
            do { try await sleep(for: interval) } catch { break }
            await flush()
        }
        if !Task.isCancelled { await flush(stopping: true) }
    }

    /// Writes every `interval` until cancelled, through a graceful shutdown too (a worker's in-flight dials go on
    /// being counted while they finish); the owner makes the last write, ``flush(stopping:)``, after its last outcome.
    func runUntilCancelled() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: interval) } catch { return }
            await flush()
        }
    }

    /// One write: the counts since the last one and the heartbeat.
    public func flush(stopping: Bool = false) async {
        let batch = tally.drain()
        var beat = heartbeat()
        if stopping { beat.state = .stopped }
        do {
            // Bounded: a stopping process whose database is gone must not hang on its last write.
            let (store, written) = (self.store, beat)
            try await withTimeout(.seconds(10), what: "console activity") { try await store.recordActivity(batch, heartbeat: written) }
        } catch {
            tally.restore(batch)
            logger.warning("console activity not written; kept for the next write", metadata: ["error": "\(String(reflecting: error))"])
        }
    }
}
