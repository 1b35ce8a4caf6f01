import Foundation
import Logging
import PostgresNIO

/// What `cancel` did (or, in a dry run, would do).
public struct CancelResult: Sendable, Hashable, Codable {
    /// Waiting or paused jobs that ended (would end) cancelled.
    public var cancelled = 0
    /// Jobs in a worker's hands (`active`) or awaiting reconciliation (`in_doubt`): left alone, they finish on their own.
    public var inFlight = 0
    /// Jobs already final (dialed, failed, cancelled).
    public var alreadyFinished = 0
    /// Requested ids that do not exist.
    public var notFound: [Int64] = []
}

extension JobStore {
    /// Cancels waiting and paused jobs (they end `cancelled`, with an `operator` row in `call_attempts`). Jobs being dialed
    /// or reconciled are left alone and counted: they may already have rung, and they finish on their own.
    public func cancel(_ selection: JobSelection, by operatorID: String, dryRun: Bool = false) async throws -> CancelResult {
        var result = CancelResult()
        let (ids, tenant, campaign) = Self.parts(selection)
        if !dryRun {
            while true {
                let rows = try await client.query("""
                    WITH batch AS (
                        SELECT id FROM call_jobs
                        WHERE (\(ids)::bigint[] IS NULL OR id = ANY(\(ids)::bigint[]))
                          AND (\(tenant) = '' OR tenant_id = \(tenant)) AND (\(campaign) = '' OR campaign_id = \(campaign))
                          AND state IN ('queued', 'deferred', 'retrying', 'paused')
                        LIMIT \(Self.operatorBatch)
                        FOR UPDATE
                    ), cancelled AS (
                        UPDATE call_jobs j SET state = 'cancelled', paused_from = NULL, finished_at = now(), updated_at = now()
                        FROM batch WHERE j.id = batch.id
                        RETURNING j.id, j.attempt
                    ), logged AS (
                        INSERT INTO call_attempts (job_id, attempt, worker, kind, outcome) SELECT id, attempt, \(operatorID), 'operator', 'cancelled' FROM cancelled
                    )
                    SELECT count(*)::bigint FROM cancelled
                    """, logger: logger)
                var count = 0
                for try await n in rows.decode(Int.self) { count = n }
                result.cancelled += count
                // Not `count < batch`: a row claimed while this batch waited for its lock drops out of the batch, and
                // more waiting rows may remain.
                if count == 0 { break }
            }
        }
        let rows = try await client.query("""
            SELECT state, count(*)::bigint FROM call_jobs
            WHERE (\(ids)::bigint[] IS NULL OR id = ANY(\(ids)::bigint[]))
              AND (\(tenant) = '' OR tenant_id = \(tenant)) AND (\(campaign) = '' OR campaign_id = \(campaign))
              AND (\(ids)::bigint[] IS NOT NULL OR state NOT IN ('completed', 'dialed', 'failed', 'cancelled'))
            GROUP BY state
            """, logger: logger)
        for try await (raw, count) in rows.decode((String, Int).self) {
            switch JobState(rawValue: raw) {
            case .active, .inDoubt, .awaitingOutcome: result.inFlight += count
            case .queued, .deferred, .retrying, .paused: if dryRun { result.cancelled += count }
            case .completed, .dialed, .failed, .cancelled, nil: result.alreadyFinished += count
            }
        }
        if case .jobs(let requested) = selection {
            let found = try await client.query("SELECT id FROM call_jobs WHERE id = ANY(\(requested))", logger: logger)
            var present = Set<Int64>()
            for try await id in found.decode(Int64.self) { present.insert(id) }
            result.notFound = requested.filter { !present.contains($0) }
            // Jobs this call cancelled are final now and were counted above; they are not "already finished".
            if !dryRun { result.alreadyFinished -= result.cancelled }
        }
        if !dryRun {
            logger.notice("cancelled", metadata: ["cancelled": "\(result.cancelled)", "in_flight": "\(result.inFlight)", "by": "\(operatorID)"])
        }
        return result
    }
}
