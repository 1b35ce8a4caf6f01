import Foundation
import Synchronization

/// What a process did, per campaign and minute, counted in memory and written every few seconds by
/// ``ActivityFlusher`` into `campaign_activity` and `campaign_failures` (migration 0015): the console's dials per
/// minute, do-not-call hits at dial time, jobs held by the gate, outcomes over time and failures by code, without
/// counting rows of `call_jobs`. Counting is a dictionary update under a lock, on the dial's path; no I/O.
public final class ActivityTally: Sendable {
    /// The events counted per campaign and minute (`campaign_activity.event`).
    public enum Event: String, Sendable, CaseIterable {
        /// Twilio created the call.
        case dial
        /// Twilio answered 429.
        case throttled
        /// A do-not-call list refused the call at dial time.
        case dncHit = "dnc_hit"
        /// The gate deferred the call: calling hours, a cap, a tenant in review.
        case held
        /// The job failed at dial time (a terminal answer, a gate block, attempts spent).
        case failed
    }

    struct Key: Hashable {
        let tenant: String
        let campaign: String
        let minute: Int64
        let event: String
    }

    struct FailureKey: Hashable {
        let tenant: String
        let campaign: String
        let code: String
    }

    struct Failures {
        var jobs = 0
        /// Newest last, at most ``ActivityTally/examplesKept``.
        var examples: [Int64] = []
        var message = ""
        var lastAt = Date(timeIntervalSince1970: 0)
    }

    struct Counts {
        var events: [Key: Int] = [:]
        var failures: [FailureKey: Failures] = [:]
    }

    static let examplesKept = 5
    private let counts = Mutex(Counts())

    public init() {}

    /// Counts one `event` of a campaign's job (`nil`: a job without a campaign).
    public func count(_ event: Event, tenant: String, campaign: String?, at: Date = Date()) {
        count(event.rawValue, tenant: tenant, campaign: campaign, at: at)
    }

    /// Counts a settled call's outcome (`outcome_human`, `outcome_busy`, ...).
    public func countOutcome(_ result: CallResult, tenant: String, campaign: String?, at: Date = Date()) {
        count("outcome_" + result.name, tenant: tenant, campaign: campaign, at: at)
    }

    /// Counts a failed job under its code, keeping it as one of the code's latest examples.
    public func countFailure(_ error: OpenPhnError, twilioCode: Int? = nil, jobID: Int64, tenant: String, campaign: String?, at: Date = Date()) {
        let code = error.error.rawValue + (twilioCode.map { ":\($0)" } ?? "")
        let key = FailureKey(tenant: tenant, campaign: campaign ?? "", code: code)
        counts.withLock { counts in
            var failures = counts.failures[key] ?? Failures()
            failures.jobs += 1
            failures.examples.append(jobID)
            if failures.examples.count > Self.examplesKept { failures.examples.removeFirst(failures.examples.count - Self.examplesKept) }
            failures.message = String(error.message.prefix(300))
            failures.lastAt = max(failures.lastAt, at)
            counts.failures[key] = failures
        }
    }

    private func count(_ event: String, tenant: String, campaign: String?, at: Date) {
        let key = Key(tenant: tenant, campaign: campaign ?? "", minute: Int64((at.timeIntervalSince1970 / 60).rounded(.down)), event: event)
        counts.withLock { $0.events[key, default: 0] += 1 }
    }

    /// Takes everything counted so far (the tally starts again from zero).
    public func drain() -> ActivityBatch {
        let taken = counts.withLock { counts in
            defer { counts = Counts() }
            return counts
        }
        return ActivityBatch(
            events: taken.events.map { key, n in
                ActivityBatch.EventCount(tenantID: key.tenant, campaignID: key.campaign, minute: Date(timeIntervalSince1970: Double(key.minute) * 60),
                                         event: key.event, n: n)
            },
            failures: taken.failures.map { key, failures in
                ActivityBatch.FailureCount(tenantID: key.tenant, campaignID: key.campaign, code: key.code, jobs: failures.jobs,
                                           examples: failures.examples, message: failures.message, lastAt: failures.lastAt)
            })
    }

    /// Puts back a batch whose write failed, so the next write carries it.
    func restore(_ batch: ActivityBatch) {
        counts.withLock { counts in
            for event in batch.events {
                let key = Key(tenant: event.tenantID, campaign: event.campaignID, minute: Int64(event.minute.timeIntervalSince1970 / 60), event: event.event)
                counts.events[key, default: 0] += event.n
            }
            for failure in batch.failures {
                let key = FailureKey(tenant: failure.tenantID, campaign: failure.campaignID, code: failure.code)
                var merged = counts.failures[key] ?? Failures()
                merged.jobs += failure.jobs
                merged.examples = Array((failure.examples + merged.examples).suffix(Self.examplesKept))
                if merged.message.isEmpty { merged.message = failure.message }
                merged.lastAt = max(merged.lastAt, failure.lastAt)
                counts.failures[key] = merged
            }
        }
    }
}

/// One write's worth of ``ActivityTally``.
public struct ActivityBatch: Sendable, Hashable {
    public struct EventCount: Sendable, Hashable {
        public let tenantID: String
        public let campaignID: String
        public let minute: Date
        public let event: String
        public let n: Int
    }

    public struct FailureCount: Sendable, Hashable {
        public let tenantID: String
        public let campaignID: String
        public let code: String
        public let jobs: Int
        /// Newest last.
        public let examples: [Int64]
        public let message: String
        public let lastAt: Date
    }

    public let events: [EventCount]
    public let failures: [FailureCount]
    public var isEmpty: Bool { events.isEmpty && failures.isEmpty }
}

extension ActivityTally {
    /// Counts a dial's recorded outcome: a dial, a gate deferral, a failure (and, when a do-not-call list refused it,
    /// a do-not-call hit).
    func count(_ outcome: JobOutcome, of call: ClaimedCall) {
        switch outcome.state {
        case .awaitingOutcome: count(.dial, tenant: call.tenantID, campaign: call.campaignID)
        case .deferred: count(.held, tenant: call.tenantID, campaign: call.campaignID)
        case .failed:
            count(.failed, tenant: call.tenantID, campaign: call.campaignID)
            if let error = outcome.error {
                if error.error == .dncBlocked { count(.dncHit, tenant: call.tenantID, campaign: call.campaignID) }
                countFailure(error, twilioCode: outcome.twilioCode, jobID: call.jobID, tenant: call.tenantID, campaign: call.campaignID)
            }
        case .queued, .retrying, .inDoubt, .paused, .active, .completed, .dialed, .cancelled: break
        }
    }
}
