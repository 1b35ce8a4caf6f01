import Foundation
import Logging
import PostgresNIO

extension JobStore {
    /// Stores one status callback (see ``record(_:)-([StatusCallback])``).
    /// - Returns: `false` when the callback had been stored already.
    @discardableResult
    public func record(_ callback: StatusCallback) async throws -> Bool {
        try await record([callback]).first ?? false
    }

    /// Stores many status callbacks in one statement (the receiver's group commit): the event rows, keyed by call SID
    /// and sequence number so a repeat is a no-op; and, for a call whose final status is among them, its one
    /// `call_outcomes` row, with the times of its earlier events (a late `ringing` after the final changes nothing but
    /// its own event row). Only the final status writes `call_outcomes`: four callbacks a call cost four small inserts
    /// and one row, not four upserts. A callback naming a job this database does not hold is kept with no job.
    /// - Returns: for each callback, in order, whether it was new.
    public func record(_ callbacks: [StatusCallback], source: String = "callback") async throws -> [Bool] {
        guard !callbacks.isEmpty else { return [] }
        var binds = PostgresBindings(capacity: 12)
        binds.append(Array(0..<callbacks.count))
        binds.append(callbacks.map(\.callSID))
        binds.append(callbacks.map(\.sequenceNumber))
        binds.append(callbacks.map { $0.jobID ?? -1 })
        binds.append(callbacks.map { $0.attempt ?? -1 })
        binds.append(callbacks.map(\.status.rawValue))
        binds.append(callbacks.map(\.status.rank))
        binds.append(callbacks.map { $0.answeredBy ?? "" })
        binds.append(callbacks.map { $0.sipResponseCode ?? -1 })
        binds.append(callbacks.map { $0.callDuration ?? -1 })
        binds.append(callbacks.map { ($0.timestamp ?? Date()).timeIntervalSince1970 })
        binds.append(source)
        // An explicit transaction, so this returns only after COMMIT itself is acknowledged: Twilio is answered 2xx on
        // that, and the receiver never relies on when the server commits an implicit transaction relative to the rows
        // it sent. Two more round trips per batch, not per callback.
        let count = callbacks.count
        let (logger, statement) = (self.logger, RecordCallbacksPrepared(bindings: binds))
        return try await client.withTransaction(logger: logger) { connection in
            var stored = [Bool](repeating: false, count: count)
            for try await index in try await connection.execute(statement, logger: logger) where index >= 0 && index < stored.count {
                stored[index] = true
            }
            return stored
        }
    }

    /// The callbacks write (see ``record(_:source:)``): one array per field, `$12` the source.
    static let recordCallbacksStatement = SQLStatement(
        name: "record_callbacks",
        parameters: ["indexes", "call_sids", "sequence_numbers", "job_ids", "attempts", "statuses", "ranks", "answered_by", "sip_codes",
                     "durations", "event_epochs", "source"],
        text: """
        WITH c AS (
            SELECT DISTINCT ON (sid, seq) *
            FROM unnest($1::int[], $2::text[], $3::int[], $4::bigint[], $5::int[], $6::text[], $7::int[], $8::text[], $9::int[],
                        $10::int[], $11::float8[])
                 AS c(i, sid, seq, job, attempt, status, rank, answered_by, sip, duration, at)
            ORDER BY sid, seq, i
        ), event AS (
            INSERT INTO call_events (call_sid, sequence_number, job_id, attempt, call_status, answered_by, sip_response_code, call_duration,
                                     event_at, source)
            SELECT c.sid, c.seq, (SELECT j.id FROM call_jobs j WHERE j.id = c.job), NULLIF(c.attempt, -1), c.status, NULLIF(c.answered_by, ''),
                   NULLIF(c.sip, -1), NULLIF(c.duration, -1), to_timestamp(c.at), $12
            FROM c
            ON CONFLICT (call_sid, sequence_number) DO NOTHING
            RETURNING call_sid, sequence_number, job_id
        ), new AS (
            SELECT c.*, e.job_id FROM c JOIN event e ON e.call_sid = c.sid AND e.sequence_number = c.seq
        ), ended AS (
            -- Only a final status writes call_outcomes (once per call): the events before it are read back for their times.
            SELECT sid, max(job_id) AS job_id, max(NULLIF(attempt, -1)) AS attempt,
                   (array_agg(status ORDER BY seq DESC) FILTER (WHERE rank = 4))[1] AS status,
                   (array_agg(NULLIF(answered_by, '') ORDER BY seq DESC) FILTER (WHERE answered_by <> ''))[1] AS answered_by,
                   (array_agg(sip ORDER BY seq DESC) FILTER (WHERE rank = 4 AND sip >= 0))[1] AS sip,
                   (array_agg(duration ORDER BY seq DESC) FILTER (WHERE rank = 4 AND duration >= 0))[1] AS duration,
                   min(to_timestamp(at)) FILTER (WHERE status = 'initiated') AS initiated_at,
                   min(to_timestamp(at)) FILTER (WHERE status = 'ringing') AS ringing_at,
                   min(to_timestamp(at)) FILTER (WHERE status = 'in-progress') AS answered_at,
                   min(to_timestamp(at)) FILTER (WHERE rank = 4) AS ended_at
            FROM new GROUP BY sid HAVING max(rank) = 4
        ), outcome AS (
            INSERT INTO call_outcomes (call_sid, job_id, attempt, call_status, status_rank, answered_by, sip_response_code, call_duration,
                                       initiated_at, ringing_at, answered_at, ended_at)
            SELECT f.sid, coalesce(f.job_id, before.job_id), coalesce(f.attempt, before.attempt), f.status, 4,
                   coalesce(f.answered_by, before.answered_by), f.sip, f.duration,
                   coalesce(f.initiated_at, before.initiated_at), coalesce(f.ringing_at, before.ringing_at),
                   coalesce(f.answered_at, before.answered_at), f.ended_at
            FROM ended f
            CROSS JOIN LATERAL (
                SELECT max(e.job_id) AS job_id, max(e.attempt) AS attempt, max(e.answered_by) AS answered_by,
                       min(e.event_at) FILTER (WHERE e.call_status = 'initiated') AS initiated_at,
                       min(e.event_at) FILTER (WHERE e.call_status = 'ringing') AS ringing_at,
                       min(e.event_at) FILTER (WHERE e.call_status = 'in-progress') AS answered_at
                FROM call_events e WHERE e.call_sid = f.sid
            ) before
            ON CONFLICT (call_sid) DO NOTHING
        )
        SELECT i FROM new
        """)

    /// A call's outcome as its callbacks left it, `nil` before any arrived: its `call_outcomes` row once it ended, else
    /// the furthest status among its events.
    public func callOutcome(callSID: String) async throws -> CallOutcomeRecord? {
        let rows = try await client.query("""
            SELECT call_status, answered_by, sip_response_code, call_duration, job_id, attempt, ended_at IS NOT NULL,
                   (SELECT count(*)::bigint FROM call_events e WHERE e.call_sid = o.call_sid)
            FROM call_outcomes o WHERE call_sid = \(callSID)
            UNION ALL
            SELECT * FROM (
                SELECT e.call_status, e.answered_by, e.sip_response_code, e.call_duration, e.job_id, e.attempt, false,
                       count(*) OVER ()
                FROM call_events e WHERE e.call_sid = \(callSID) AND NOT EXISTS (SELECT 1 FROM call_outcomes o WHERE o.call_sid = \(callSID))
                ORDER BY CASE e.call_status WHEN 'queued' THEN 0 WHEN 'initiated' THEN 1 WHEN 'ringing' THEN 2 WHEN 'in-progress' THEN 3 ELSE 4 END DESC,
                         e.sequence_number DESC
                LIMIT 1
            ) latest
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

extension JobStore {
    /// The calls of one job as their callbacks (or lookups) left them, by call SID.
    public func callOutcomes(jobID: Int64) async throws -> [String: CallOutcomeRecord] {
        let rows = try await client.query("""
            SELECT call_sid, call_status, answered_by, sip_response_code, call_duration, job_id, attempt, ended_at IS NOT NULL,
                   (SELECT count(*)::bigint FROM call_events e WHERE e.call_sid = o.call_sid)
            FROM call_outcomes o WHERE job_id = \(jobID)
            """, logger: logger)
        var calls: [String: CallOutcomeRecord] = [:]
        for try await (sid, status, answeredBy, sip, duration, job, attempt, ended, events) in rows.decode(
            (String, String, String?, Int?, Int?, Int64?, Int?, Bool, Int).self)
        {
            calls[sid] = CallOutcomeRecord(status: CallStatus(rawValue: status) ?? .queued, answeredBy: answeredBy, sipResponseCode: sip,
                                           callDuration: duration, jobID: job, attempt: attempt, ended: ended, events: events)
        }
        return calls
    }
}
