import Foundation
import Logging
import PostgresNIO

extension JobStore {
    /// Stores one status callback, once, in one statement: the event row (keyed by call SID and sequence number, so a
    /// repeat is a no-op), and the call's outcome row moved forward only (a status of lower rank than the one stored
    /// changes nothing but its own event row). A callback naming a job this database does not hold is kept with no job.
    /// - Returns: `false` when the callback had been stored already.
    @discardableResult
    public func record(_ callback: StatusCallback) async throws -> Bool {
        let at = callback.timestamp ?? Date()
        let status = callback.status.rawValue, rank = callback.status.rank
        let rows = try await client.query("""
            WITH job AS (
                SELECT id FROM call_jobs WHERE id = \(callback.jobID ?? -1)
            ), event AS (
                INSERT INTO call_events (call_sid, sequence_number, job_id, attempt, call_status, answered_by, sip_response_code, call_duration, event_at)
                VALUES (\(callback.callSID), \(callback.sequenceNumber), (SELECT id FROM job), \(callback.attempt)::int, \(status),
                        \(callback.answeredBy)::text, \(callback.sipResponseCode)::int, \(callback.callDuration)::int, \(at))
                ON CONFLICT (call_sid, sequence_number) DO NOTHING
                RETURNING call_sid, job_id
            ), outcome AS (
                INSERT INTO call_outcomes AS o (call_sid, job_id, attempt, call_status, status_rank, answered_by, sip_response_code, call_duration,
                                                initiated_at, ringing_at, answered_at, ended_at)
                SELECT e.call_sid, e.job_id, \(callback.attempt)::int, \(status)::text, \(rank)::smallint, \(callback.answeredBy)::text,
                       \(callback.sipResponseCode)::int, \(callback.callDuration)::int,
                       CASE WHEN \(status)::text = 'initiated' THEN \(at)::timestamptz END, CASE WHEN \(status)::text = 'ringing' THEN \(at)::timestamptz END,
                       CASE WHEN \(status)::text = 'in-progress' THEN \(at)::timestamptz END, CASE WHEN \(rank)::int = 4 THEN \(at)::timestamptz END
                FROM event e
                ON CONFLICT (call_sid) DO UPDATE SET
                    call_status = CASE WHEN excluded.status_rank > o.status_rank THEN excluded.call_status ELSE o.call_status END,
                    status_rank = greatest(o.status_rank, excluded.status_rank),
                    job_id = coalesce(o.job_id, excluded.job_id),
                    attempt = coalesce(o.attempt, excluded.attempt),
                    answered_by = coalesce(excluded.answered_by, o.answered_by),
                    sip_response_code = CASE WHEN excluded.status_rank >= o.status_rank THEN coalesce(excluded.sip_response_code, o.sip_response_code)
                                             ELSE o.sip_response_code END,
                    call_duration = CASE WHEN excluded.status_rank >= o.status_rank THEN coalesce(excluded.call_duration, o.call_duration)
                                         ELSE o.call_duration END,
                    initiated_at = coalesce(o.initiated_at, excluded.initiated_at),
                    ringing_at = coalesce(o.ringing_at, excluded.ringing_at),
                    answered_at = coalesce(o.answered_at, excluded.answered_at),
                    ended_at = coalesce(o.ended_at, excluded.ended_at),
                    updated_at = now()
            )
            SELECT count(*)::bigint FROM event
            """, logger: logger)
        for try await stored in rows.decode(Int.self) { return stored > 0 }
        return false
    }

    /// A call's outcome as its callbacks left it, `nil` before any arrived.
    public func callOutcome(callSID: String) async throws -> CallOutcomeRecord? {
        let rows = try await client.query("""
            SELECT call_status, answered_by, sip_response_code, call_duration, job_id, attempt, ended_at IS NOT NULL,
                   (SELECT count(*)::bigint FROM call_events e WHERE e.call_sid = o.call_sid)
            FROM call_outcomes o WHERE call_sid = \(callSID)
            """, logger: logger)
        for try await (status, answeredBy, sip, duration, job, attempt, ended, events) in rows.decode(
            (String, String?, Int?, Int?, Int64?, Int?, Bool, Int).self)
        {
            return CallOutcomeRecord(status: CallStatus(rawValue: status) ?? .queued, answeredBy: answeredBy, sipResponseCode: sip,
                                     callDuration: duration, jobID: job, attempt: attempt, ended: ended, events: events)
        }
        return nil
    }
}

/// A call's row in `call_outcomes`, for operators and tests.
public struct CallOutcomeRecord: Sendable, Hashable {
    public let status: CallStatus
    public let answeredBy: String?
    public let sipResponseCode: Int?
    public let callDuration: Int?
    public let jobID: Int64?
    public let attempt: Int?
    /// A final status arrived.
    public let ended: Bool
    /// Distinct callbacks stored for the call.
    public let events: Int
}
