import Foundation
import Logging
import PostgresNIO

extension JobStore {
    /// Stores one status callback (see ``record(_:source:)``).
    /// - Returns: `false` when the callback had been stored already.
    @discardableResult
    public func record(_ callback: StatusCallback) async throws -> Bool {
        try await record([callback]).stored.first ?? false
    }

    /// What storing a batch of callbacks did (see ``record(_:source:)``).
    public struct StoredCallbacks: Sendable {
        /// For each callback, in order, whether it was new.
        public let stored: [Bool]
        /// The jobs waiting for their outcome whose call's final status is among the new callbacks, with the facts their
        /// campaign policy decides on: ready for ``OutcomeSettler/settle(_:)``, no second read.
        public let settled: [SettledCall]
        /// Jobs whose call's final status is among the new callbacks but whose worker has not yet written the 201 (the
        /// callback beat it): to settle once it has (``OutcomeSettler/settle(jobIDs:)``).
        public let early: [Int64]
    }

    /// Stores many status callbacks in one statement (the receiver's group commit), keyed by call SID and sequence
    /// number so a repeat is a no-op; a late `ringing` after the final status is stored and changes nothing else. The
    /// same statement reads the facts of each job whose call's final status just arrived (its job, tenant and dials):
    /// four callbacks a call cost four small inserts, and the settlement no query of its own. A callback naming a job
    /// this database does not hold is kept, with that job id.
    public func record(_ callbacks: [StatusCallback], source: String = "callback") async throws -> StoredCallbacks {
        guard !callbacks.isEmpty else { return StoredCallbacks(stored: [], settled: [], early: []) }
        // A callback twice in one batch (a retry that overtook its first delivery) is sent once: its repeat is not new.
        var first: [CallbackKey: Int] = [:]
        var unique: [StatusCallback] = []
        for (index, callback) in callbacks.enumerated() where first[CallbackKey(callback.callSID, callback.sequenceNumber)] == nil {
            first[CallbackKey(callback.callSID, callback.sequenceNumber)] = index
            unique.append(callback)
        }
        var binds = PostgresBindings(capacity: 11)
        binds.append(unique.map(\.callSID))
        binds.append(unique.map(\.sequenceNumber))
        binds.append(unique.map { $0.jobID ?? -1 })
        binds.append(unique.map { $0.attempt ?? -1 })
        binds.append(unique.map(\.status.rawValue))
        binds.append(unique.map { $0.answeredBy ?? "" })
        binds.append(unique.map { $0.sipResponseCode ?? -1 })
        binds.append(unique.map { $0.callDuration ?? -1 })
        binds.append(unique.map { ($0.timestamp ?? Date()).timeIntervalSince1970 })
        binds.append(unique.map { $0.stirStatus ?? "" })
        binds.append(source)
        // An explicit transaction, so this returns only after COMMIT itself is acknowledged: Twilio is answered 2xx on
        // that, and the receiver never relies on when the server commits an implicit transaction relative to the rows
        // it sent. Two more round trips per batch, not per callback.
        let count = callbacks.count
        let (logger, statement, store) = (self.logger, RecordCallbacksPrepared(bindings: binds), self)
        return try await client.withTransaction(logger: logger) { connection in
            var stored = [Bool](repeating: false, count: count)
            var settled: [SettledCall] = [], early: [Int64] = []
            for row in try await store.rows(statement, on: connection) {
                switch row {
                case .stored(let sids, let sequences):
                    for (sid, sequence) in zip(sids, sequences) {
                        if let index = first[CallbackKey(sid, sequence)] { stored[index] = true }
                    }
                case .final(let call, let ready):
                    ready ? settled.append(call) : early.append(call.jobID)
                }
            }
            return StoredCallbacks(stored: stored, settled: settled, early: early)
        }
    }

    /// A callback's identity.
    struct CallbackKey: Hashable {
        let sid: String
        let sequence: Int
        init(_ sid: String, _ sequence: Int) {
            self.sid = sid
            self.sequence = sequence
        }
    }

    /// The callbacks write (see ``record(_:source:)``): one array per field (no two callbacks alike), `$11` the source.
    /// Its first row names the callbacks that were new (two arrays: call SIDs and sequence numbers); then comes a row
    /// per call whose final status is among them, with its job's facts (``settledCallColumns``) and whether that job
    /// waits for that very call (else the worker has not yet written the 201 that placed it: the job is still active or
    /// in doubt). A batch is one insert and one probe per ended call: no sort or join of the batch against itself but
    /// one, over the new rows.
    static let recordCallbacksStatement = SQLStatement(
        name: "record_callbacks",
        parameters: ["call_sids", "sequence_numbers", "job_ids", "attempts", "statuses", "answered_by", "sip_codes", "durations",
                     "event_epochs", "stir_statuses", "source"],
        text: """
        WITH event AS (
            INSERT INTO call_events (call_sid, sequence_number, job_id, attempt, call_status, answered_by, sip_response_code, call_duration,
                                     event_at, stir_status, source)
            SELECT c.sid, c.seq, NULLIF(c.job, -1), NULLIF(c.attempt, -1), c.status, NULLIF(c.answered_by, ''), NULLIF(c.sip, -1),
                   NULLIF(c.duration, -1), to_timestamp(c.at), NULLIF(c.stir, ''), $11
            FROM unnest($1::text[], $2::int[], $3::bigint[], $4::int[], $5::text[], $6::text[], $7::int[], $8::int[], $9::float8[], $10::text[])
                 AS c(sid, seq, job, attempt, status, answered_by, sip, duration, at, stir)
            ON CONFLICT (call_sid, sequence_number) DO NOTHING
            RETURNING call_sid, sequence_number, job_id, call_status, answered_by, sip_response_code, call_duration
        ), o AS MATERIALIZED (
            -- Each call's first new final status (one sort for all of it: the lowest sequence number among the finals,
            -- else the furthest status), with the AnsweredBy of a new callback that carried one when the final did not
            -- (Twilio sends it on the final callback when AMD is on).
            SELECT DISTINCT ON (sid) sid, job, rank, call_status, sip_response_code, call_duration,
                   coalesce(answered_by, max(answered_by) OVER calls) AS answered_by
            FROM (SELECT call_sid AS sid, sequence_number AS seq, job_id AS job, \(CallStatus.rankSQL("call_status")) AS rank,
                         call_status, sip_response_code, call_duration, answered_by
                  FROM event) e
            WINDOW calls AS (PARTITION BY sid ORDER BY rank DESC, seq ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
            ORDER BY sid, rank DESC, seq
        )
        SELECT (SELECT array_agg(call_sid) FROM event), (SELECT array_agg(sequence_number) FROM event), \(JobStore.noSettledCall), NULL::bool
        UNION ALL
        -- Each job probed by primary key (LATERAL: the planner cannot turn this into a scan of call_jobs per row, whatever
        -- it guesses of the batch's size).
        SELECT NULL, NULL, \(JobStore.settledCallColumns), j.state = 'awaiting_outcome'
        FROM o CROSS JOIN LATERAL (SELECT * FROM call_jobs WHERE id = o.job OFFSET 0) j
        \(JobStore.settledCallJoins)
        WHERE o.rank = \(CallStatus.finalRank) AND ((j.state = 'awaiting_outcome' AND j.twilio_call_sid = o.sid) OR j.state IN ('active', 'in_doubt'))
        """)

    /// A call's outcome as its callbacks (and lookups) left it, `nil` before any arrived.
    public func callOutcome(callSID: String) async throws -> CallOutcomeRecord? {
        try await callOutcomes(callSIDs: [callSID])[callSID]
    }

    /// The calls of one job (every call SID its attempts name) as their callbacks left them, by call SID.
    public func callOutcomes(jobID: Int64) async throws -> [String: CallOutcomeRecord] {
        let rows = try await client.query("""
            SELECT twilio_call_sid FROM call_attempts WHERE job_id = \(jobID) AND twilio_call_sid IS NOT NULL
            UNION SELECT twilio_call_sid FROM call_jobs WHERE id = \(jobID) AND twilio_call_sid IS NOT NULL
            """, logger: logger)
        var sids: [String] = []
        for try await sid in rows.decode(String.self) { sids.append(sid) }
        return try await callOutcomes(callSIDs: sids)
    }

    /// Calls as their events left them: the final status when one came (the lowest sequence number among the final
    /// ones), else the furthest along; the AnsweredBy of the latest event that had one; SIP code and duration from the
    /// final event.
    func callOutcomes(callSIDs: [String]) async throws -> [String: CallOutcomeRecord] {
        guard !callSIDs.isEmpty else { return [:] }
        let (rankOf, final) = (CallStatus.rankSQL("e.call_status"), CallStatus.finalRank)
        let rows = try await client.query("""
            SELECT e.call_sid,
                   (array_agg(e.call_status ORDER BY \(unescaped: rankOf) DESC, e.sequence_number))[1],
                   (array_agg(e.answered_by ORDER BY e.sequence_number DESC) FILTER (WHERE e.answered_by IS NOT NULL))[1],
                   (array_agg(e.sip_response_code ORDER BY e.sequence_number) FILTER (WHERE \(unescaped: rankOf) = \(unescaped: "\(final)")))[1],
                   (array_agg(e.call_duration ORDER BY e.sequence_number) FILTER (WHERE \(unescaped: rankOf) = \(unescaped: "\(final)")))[1],
                   max(e.job_id), max(e.attempt), bool_or(\(unescaped: rankOf) = \(unescaped: "\(final)")), count(*)::bigint,
                   (array_agg(e.stir_status ORDER BY e.sequence_number DESC) FILTER (WHERE e.stir_status IS NOT NULL))[1]
            FROM call_events e WHERE e.call_sid = ANY(\(callSIDs))
            GROUP BY e.call_sid
            """, logger: logger)
        var calls: [String: CallOutcomeRecord] = [:]
        for try await (sid, status, answeredBy, sip, duration, job, attempt, ended, events, stir) in rows.decode(
            (String, String, String?, Int?, Int?, Int64?, Int?, Bool, Int, String?).self)
        {
            calls[sid] = CallOutcomeRecord(status: CallStatus(rawValue: status) ?? .queued, answeredBy: answeredBy, sipResponseCode: sip,
                                           callDuration: duration, jobID: job, attempt: attempt, ended: ended, events: events, stirStatus: stir)
        }
        return calls
    }
}

/// A call as its stored events leave it, for operators and tests.
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
    /// The caller ID's STIR/SHAKEN attestation as the latest callback that carried one reported it.
    public let stirStatus: String?
}
