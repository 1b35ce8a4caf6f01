import Foundation
import Logging
import PostgresNIO

extension JobStore {
    /// The jobs among `jobIDs` still waiting for their call's outcome whose final status is stored, with the facts the
    /// policy decides on (``SettledCall``), in one statement. A job whose call has no final status yet is left out.
    /// The callbacks path gets these facts from its own write (``record(_:source:)``); this read serves the sweeper,
    /// `dialer serve` again (a final callback that beat the worker's write of the 201) and reconciliation. Planned for
    /// its values each time (an unnamed statement): call_events grows from nothing, and a plan cached while it was
    /// small would scan it.
    public func settledCalls(_ jobIDs: [Int64]) async throws -> [SettledCall] {
        guard !jobIDs.isEmpty else { return [] }
        var binds = PostgresBindings(capacity: 1)
        binds.append(jobIDs)
        var calls: [SettledCall] = []
        let rows = try await client.query(PostgresQuery(unsafeSQL: Self.settledCallsStatement.text, binds: binds), logger: logger)
        for try await row in rows { calls.append(try SettledCall(row.makeRandomAccess(), from: 0)) }
        return calls
    }

    /// The facts of a settled call, in ``SettledCall``'s order, over `j` (the job), `t` and `a` (``settledCallJoins``)
    /// and `o` (its final event: sid, call_status, answered_by, sip_response_code, call_duration).
    static let settledCallColumns = """
        j.id, j.tenant_id, j.campaign_id, j.destination, o.sid, j.attempt, j.max_attempts, j.expires_at,
                   to_char(t.call_window_start, 'HH24:MI') || '-' || to_char(t.call_window_end, 'HH24:MI') AS tenant_window,
                   o.call_status, o.answered_by, o.sip_response_code, o.call_duration,
                   a.dials, a.recent, a.oldest, coalesce(a.results, '{}') AS results, now() AS read_at
        """

    /// ``settledCallColumns`` of no call: typed NULLs, for a row that carries none.
    static let noSettledCall = """
        NULL::bigint, NULL::text, NULL::text, NULL::text, NULL::text, NULL::int, NULL::int, NULL::timestamptz, NULL::text,
                   NULL::text, NULL::text, NULL::int, NULL::int, NULL::bigint, NULL::bigint, NULL::timestamptz, NULL::text[], NULL::timestamptz
        """

    /// The tenant and the lead's attempt rows, read once (call_attempts_job): its dials (all, and of the last 24
    /// hours) and its calls' results (counted, so in no order: an ordered aggregate would sort each job's rows).
    static let settledCallJoins = """
        JOIN tenants t ON t.id = j.tenant_id
            CROSS JOIN LATERAL (
                SELECT count(*) FILTER (WHERE x.dial)::bigint AS dials,
                       count(*) FILTER (WHERE x.dial AND x.recorded_at > now() - interval '24 hours')::bigint AS recent,
                       min(x.recorded_at) FILTER (WHERE x.dial AND x.recorded_at > now() - interval '24 hours') AS oldest,
                       array_agg(x.outcome) FILTER (WHERE x.kind = 'outcome') AS results
                FROM (SELECT a.id, a.kind, a.outcome, a.recorded_at, a.kind = 'dial' AND (a.outcome = 'dialed' OR a.possibly_dialed) AS dial
                      FROM call_attempts a WHERE a.job_id = j.id) x
            ) a
        """

    /// The facts of settled calls (see ``settledCalls(_:)``): `$1` the job ids.
    static let settledCallsStatement = SQLStatement(name: "settled_calls", parameters: ["job_ids"], text: """
        SELECT \(settledCallColumns)
        -- The jobs by primary key first (OFFSET 0 fences the state test out of the scan): the planner would otherwise walk
        -- the whole call_jobs_awaiting_outcome index, every waiting call, to find a few ids.
        FROM (SELECT * FROM call_jobs WHERE id = ANY($1::bigint[]) OFFSET 0) j
        -- The call's final event (the first, should a lookup and a callback both have come), with the AnsweredBy of its
        -- latest event that had one.
        CROSS JOIN LATERAL (
            SELECT f.call_sid AS sid, f.call_status, f.sip_response_code, f.call_duration,
                   coalesce(f.answered_by, (SELECT e.answered_by FROM call_events e WHERE e.call_sid = f.call_sid AND e.answered_by IS NOT NULL
                                            ORDER BY e.sequence_number DESC LIMIT 1)) AS answered_by
            FROM call_events f WHERE f.call_sid = j.twilio_call_sid AND f.call_status IN \(CallStatus.finalListSQL)
            ORDER BY f.sequence_number LIMIT 1
        ) o
        \(settledCallJoins)
        WHERE j.state = 'awaiting_outcome'
        """)

    /// Applies settlements in one statement: each job moves only if it still waits for that very call (fenced on the
    /// state and the call SID, so a callback and the sweeper settling the same call apply once), with its
    /// `call_attempts` row (kind `outcome`).
    /// - Parameter actor: who settled (`serve`, a worker id), for the attempt row.
    /// - Returns: the ids of the jobs that moved.
    @discardableResult
    public func apply(_ settlements: [Settlement], actor: String) async throws -> Set<Int64> {
        guard !settlements.isEmpty else { return [] }
        var binds = PostgresBindings(capacity: 9)
        binds.append(settlements.map(\.jobID))
        binds.append(settlements.map(\.callSID))
        binds.append(settlements.map(\.attempt))
        binds.append(settlements.map(\.state.rawValue))
        binds.append(settlements.map { $0.runAt.map { $0.timeIntervalSince1970 } ?? -1 })
        binds.append(settlements.map { $0.error?.jsonText ?? "" })
        binds.append(settlements.map(\.result.name))
        binds.append(settlements.map { JSONValue.object($0.detail).jsonText })
        binds.append(actor)
        var moved = Set<Int64>()
        for id in try await rows(SettlePrepared(bindings: binds)) { moved.insert(id) }
        return moved
    }

    /// The settlement write (see ``apply(_:actor:)``).
    static let settleStatement = SQLStatement(
        name: "settle", parameters: ["ids", "call_sids", "attempts", "states", "run_at_epochs", "errors", "results", "details", "actor"],
        text: """
        WITH s AS (
            -- `waiting` is the state a job must still be in, as data: a constant would let the planner walk the whole
            -- call_jobs_awaiting_outcome index instead of probing the primary key for these few ids.
            SELECT *, 'awaiting_outcome'::text AS waiting
            FROM unnest($1::bigint[], $2::text[], $3::int[], $4::text[], $5::float8[], $6::text[], $7::text[], $8::text[])
                 AS s(id, sid, attempt, state, run_at, error, result, detail)
        ), updated AS (
            UPDATE call_jobs j
            SET state = s.state,
                run_at = CASE WHEN s.run_at >= 0 THEN to_timestamp(s.run_at) ELSE j.run_at END,
                last_error = CASE WHEN s.error <> '' THEN s.error::jsonb ELSE NULL END,
                last_outcome = s.result,
                finished_at = CASE WHEN s.state IN ('completed', 'failed', 'cancelled') THEN now() END,
                updated_at = now()
            FROM s
            WHERE j.id = s.id AND j.state = s.waiting AND j.twilio_call_sid = s.sid
            RETURNING j.id
        ), logged AS (
            INSERT INTO call_attempts (job_id, attempt, worker, kind, outcome, twilio_call_sid, error, detail)
            SELECT s.id, s.attempt, $9, 'outcome', s.result, s.sid, NULLIF(s.error, '')::jsonb, s.detail::jsonb
            FROM s JOIN updated ON updated.id = s.id
        )
        SELECT id FROM updated
        """)

    /// Of the calls whose jobs were just moved to `awaiting_outcome` by reconciliation, the jobs of those whose final
    /// status is already stored (it came while the job was in doubt): they are settled at once instead of at the
    /// sweeper's deadline. Only call_events is read, by call SID (its primary key's prefix).
    public func jobsWithFinalOutcome(callSIDs: [String]) async throws -> [Int64] {
        guard !callSIDs.isEmpty else { return [] }
        // One probe of the primary key per call (LATERAL): a plain `call_sid = ANY(...)` lets the planner filter a seq scan
        // of a young call_events by the whole array, row by row.
        let rows = try await client.query("""
            SELECT DISTINCT e.job_id FROM unnest(\(callSIDs)::text[]) AS k(sid)
            CROSS JOIN LATERAL (
                SELECT job_id FROM call_events
                WHERE call_sid = k.sid AND call_status IN \(unescaped: CallStatus.finalListSQL) AND job_id IS NOT NULL LIMIT 1
            ) e
            """, logger: logger)
        var ids: [Int64] = []
        for try await id in rows.decode(Int64.self) { ids.append(id) }
        return ids
    }

    /// Takes up to `limit` jobs whose outcome deadline passed (no final callback came) and moves their deadline
    /// `recheckIn` ahead, so another sweeper does not take them meanwhile (SKIP LOCKED: sweepers never wait on each
    /// other). Each comes with its subaccount and whether a final status is stored after all.
    public func claimOverdueOutcomes(limit: Int, recheckIn: Duration) async throws -> [OverdueCall] {
        let rows = try await client.query("""
            WITH due AS (
                SELECT id FROM call_jobs
                WHERE state = 'awaiting_outcome' AND run_at <= now()
                ORDER BY run_at
                LIMIT \(limit)
                FOR UPDATE SKIP LOCKED
            )
            UPDATE call_jobs j SET run_at = now() + make_interval(secs => \(recheckIn.seconds)), updated_at = now()
            FROM due, tenants t
            WHERE j.id = due.id AND t.id = j.tenant_id
            RETURNING j.id, j.twilio_call_sid, t.twilio_subaccount_sid,
                      EXISTS (SELECT 1 FROM call_events e WHERE e.call_sid = j.twilio_call_sid AND e.call_status IN \(unescaped: CallStatus.finalListSQL))
            """, logger: logger)
        var calls: [OverdueCall] = []
        for try await (id, sid, subaccount, known) in rows.decode((Int64, String, String?, Bool).self) {
            calls.append(OverdueCall(jobID: id, callSID: sid, subaccountSID: subaccount, finalStatusStored: known))
        }
        return calls
    }

    /// Makes waiting jobs (and jobs waiting for an outcome) due now: an operator's "dial now" / "look it up now".
    /// - Returns: how many moved.
    @discardableResult
    public func makeDueNow(_ jobIDs: [Int64]) async throws -> Int {
        let rows = try await client.query("""
            UPDATE call_jobs SET run_at = now(), updated_at = now()
            WHERE id = ANY(\(jobIDs)) AND state IN ('queued', 'deferred', 'retrying', 'awaiting_outcome')
            RETURNING id
            """, logger: logger)
        var count = 0
        for try await _ in rows { count += 1 }
        return count
    }
}

/// A job whose outcome deadline passed, taken by the sweeper.
public struct OverdueCall: Sendable, Hashable {
    public let jobID: Int64
    public let callSID: String
    public let subaccountSID: String?
    /// A final status is stored (it came after the deadline, or its settlement was interrupted): no lookup needed.
    public let finalStatusStored: Bool
}
