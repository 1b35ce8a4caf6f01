/// The states of `call_jobs.state`; transitions are documented on the table (sql/0001_core.sql) and in the README.
public enum JobState: String, Sendable, Hashable, CaseIterable, Codable {
    case queued, deferred, retrying
    /// Parked because its tenant or campaign is paused; not claimed until resumed.
    case paused
    case active
    case inDoubt = "in_doubt"
    case dialed, failed, cancelled

    /// Waiting for `run_at`; the claim picks these.
    public var isWaiting: Bool { self == .queued || self == .deferred || self == .retrying }
    /// Final: nothing will happen to the job again.
    public var isFinal: Bool { self == .dialed || self == .failed || self == .cancelled }
}
