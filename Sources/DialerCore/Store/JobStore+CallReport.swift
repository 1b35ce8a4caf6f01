import Foundation
import Logging
import PostgresNIO

/// A campaign's calls over a window, for `dialer status --campaign`: what operators ask first after "is it dialing?".
public struct CallReport: Sendable, Hashable {
    /// Dial attempts in the window: every Create Call that got a call SID, and every one that may have reached Twilio.
    public var attempts = 0
    /// How the calls of the window ended, by result (human, unknown, completed, machine, busy, no_answer, failed, canceled).
    public var outcomes: [String: Int] = [:]
    /// Jobs waiting for an outcome now, and those past their deadline (no final callback came; the sweeper looks them up).
    public var awaitingOutcome = 0
    public var outcomesOverdue = 0
    /// Jobs scheduled to be dialed again after a call's outcome, and the first of them due.
    public var retriesPending = 0
    public var nextRetryAt: Date?
    /// Leads the policy stopped dialing in the window (`lead_exhausted`).
    public var leadsExhausted = 0

    /// Contacts (a person answered, or could not be told from one) per dial attempt; `nil` before any attempt.
    public var answerRate: Double? {
        guard attempts > 0 else { return nil }
        return Double(["human", "unknown", "completed"].reduce(0) { $0 + (outcomes[$1] ?? 0) }) / Double(attempts)
    }
}

extension JobStore {
    /// One campaign's calls in the last `window` (its jobs are found through `call_jobs_campaign`, their attempts
    /// through `call_attempts_job`; nothing scans the whole table).
    public func callReport(tenant: String?, campaign: String, window: Duration = .seconds(86_400)) async throws -> CallReport {
        let tenant = tenant ?? ""
        var report = CallReport()
        let rows = try await client.query("""
            WITH jobs AS (
                SELECT id, state, run_at, last_outcome, last_error, finished_at FROM call_jobs
                WHERE campaign_id = \(campaign) AND (\(tenant) = '' OR tenant_id = \(tenant))
            )
            SELECT
                (SELECT count(*)::bigint FROM jobs j JOIN call_attempts a ON a.job_id = j.id
                 WHERE a.kind = 'dial' AND (a.outcome = 'dialed' OR a.possibly_dialed)
                   AND a.recorded_at > now() - make_interval(secs => \(window.seconds))),
                (SELECT count(*)::bigint FROM jobs WHERE state = 'awaiting_outcome'),
                (SELECT count(*)::bigint FROM jobs WHERE state = 'awaiting_outcome' AND run_at <= now()),
                (SELECT count(*)::bigint FROM jobs WHERE state = 'retrying' AND last_outcome IS NOT NULL),
                (SELECT min(run_at) FROM jobs WHERE state = 'retrying' AND last_outcome IS NOT NULL),
                (SELECT count(*)::bigint FROM jobs WHERE state = 'failed' AND last_error->>'error' = 'lead_exhausted'
                   AND finished_at > now() - make_interval(secs => \(window.seconds)))
            """, logger: logger)
        for try await (attempts, awaiting, overdue, retries, next, exhausted) in rows.decode((Int, Int, Int, Int, Date?, Int).self) {
            report.attempts = attempts
            report.awaitingOutcome = awaiting
            report.outcomesOverdue = overdue
            report.retriesPending = retries
            report.nextRetryAt = next
            report.leadsExhausted = exhausted
        }
        let mix = try await client.query("""
            SELECT a.outcome, count(*)::bigint FROM call_jobs j JOIN call_attempts a ON a.job_id = j.id
            WHERE j.campaign_id = \(campaign) AND (\(tenant) = '' OR j.tenant_id = \(tenant))
              AND a.kind = 'outcome' AND a.recorded_at > now() - make_interval(secs => \(window.seconds))
            GROUP BY a.outcome
            """, logger: logger)
        for try await (result, count) in mix.decode((String, Int).self) { report.outcomes[result] = count }
        return report
    }
}
