import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// What `prune` deleted (or would delete).
public struct PruneResult: Sendable, Hashable, Codable {
    public var jobs = 0
    public var attempts = 0
    public var batches = 0
}

extension JobStore {
    /// Deletes finished jobs (completed, dialed, failed, cancelled) that finished more than `olderThan` ago, with their attempt rows,
    /// oldest first, `batchSize` jobs per statement; each batch is its own short transaction and skips locked rows, so
    /// pruning never blocks a claim. Waiting, active and in-doubt jobs are never touched, however old.
    /// Note: a pruned job's idempotency key can be used again.
    public func prune(olderThan: Duration, batchSize: Int = 1_000, pauseBetweenBatches: Duration = .milliseconds(20), dryRun: Bool = false) async throws
        -> PruneResult
    {
        var result = PruneResult()
        let age = olderThan.seconds
        if dryRun {
            let rows = try await client.query("""
                SELECT count(*)::bigint, coalesce(sum((SELECT count(*) FROM call_attempts a WHERE a.job_id = j.id)), 0)::bigint
                FROM call_jobs j WHERE finished_at < now() - make_interval(secs => \(age))
                """, logger: logger)
            for try await (jobs, attempts) in rows.decode((Int, Int).self) { result = PruneResult(jobs: jobs, attempts: attempts, batches: 0) }
            return result
        }
        let batch = max(1, batchSize)
        // A service shutting down stops between batches (a large first prune must not hold up a deploy).
        while !Task.isCancelled, !Task.isShuttingDownGracefully {
            let rows = try await client.query("""
                WITH doomed AS MATERIALIZED (
                    SELECT id FROM call_jobs
                    WHERE finished_at < now() - make_interval(secs => \(age))
                    ORDER BY finished_at
                    LIMIT \(batch)
                    FOR UPDATE SKIP LOCKED
                ), calls AS MATERIALIZED (
                    SELECT DISTINCT a.twilio_call_sid AS sid FROM call_attempts a JOIN doomed ON a.job_id = doomed.id
                    WHERE a.twilio_call_sid IS NOT NULL
                ), events AS (
                    -- The jobs' status callbacks go with them (by call SID: their primary key's prefix).
                    DELETE FROM call_events e USING calls WHERE e.call_sid = calls.sid RETURNING 1
                ), attempts AS (
                    DELETE FROM call_attempts a USING doomed WHERE a.job_id = doomed.id RETURNING 1
                ), jobs AS (
                    DELETE FROM call_jobs j USING doomed WHERE j.id = doomed.id RETURNING 1
                )
                SELECT (SELECT count(*) FROM jobs)::bigint, (SELECT count(*) FROM attempts)::bigint
                """, logger: logger)
            var jobs = 0
            for try await (j, a) in rows.decode((Int, Int).self) {
                jobs = j
                result.attempts += a
            }
            result.jobs += jobs
            result.batches += 1
            if jobs < batch { break }
            try await Task.sleep(for: pauseBetweenBatches)
        }
        return result
    }

    /// Runs ``prune(olderThan:batchSize:pauseBetweenBatches:dryRun:)`` only if no other process is pruning (a lease row
    /// in `maintenance_leases`, 15 minutes, released at the end: safe through a pooler in transaction mode, where a
    /// session advisory lock is not), so a fleet of workers prunes one at a time. Returns `nil` when another holds it.
    public func pruneExclusively(olderThan: Duration, batchSize: Int = 1_000, holder: String = WorkerConfiguration.defaultWorkerID()) async throws -> PruneResult? {
        let name = "retention"
        let taken = try await client.query("""
            INSERT INTO maintenance_leases (name, holder, expires_at) VALUES (\(name), \(holder), now() + interval '15 minutes')
            ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
            WHERE maintenance_leases.expires_at < now() OR maintenance_leases.holder = EXCLUDED.holder
            RETURNING 1
            """, logger: logger).collect().count
        guard taken == 1 else { return nil }
        let release: PostgresQuery = "DELETE FROM maintenance_leases WHERE name = \(name) AND holder = \(holder)"
        do {
            let result = try await prune(olderThan: olderThan, batchSize: batchSize)
            _ = try? await client.query(release, logger: logger)
            return result
        } catch {
            // Not released, the lease expires on its own in 15 minutes.
            _ = try? await client.query(release, logger: logger)
            throw error
        }
    }
}
