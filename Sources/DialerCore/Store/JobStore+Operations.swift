import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle

/// A paused tenant (`campaignID == nil`) or campaign.
public struct QueuePause: Sendable, Hashable, Codable {
    public let tenantID: String
    public let campaignID: String?
    public let reason: String
    public let pausedBy: String
    public let pausedAt: Date
}

/// Which jobs an operator command acts on.
public enum JobSelection: Sendable, Hashable {
    case jobs([Int64])
    /// A tenant's jobs, or one campaign's (`campaign` set). A campaign id alone (no tenant) matches it in every tenant.
    case scope(tenant: String?, campaign: String?)
}

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

/// Which failed jobs `retry` acts on. Every filter is optional; they combine with AND.
public struct RetryFilter: Sendable, Hashable {
    public var errorCode: String?
    public var tenantID: String?
    public var campaignID: String?
    /// Failed at or after this instant.
    public var since: Date?
    /// Failed before this instant.
    public var until: Date?
    /// Most jobs retried by one call.
    public var limit: Int

    public init(errorCode: String? = nil, tenantID: String? = nil, campaignID: String? = nil, since: Date? = nil, until: Date? = nil, limit: Int = 100_000) {
        self.errorCode = errorCode
        self.tenantID = tenantID
        self.campaignID = campaignID
        self.since = since
        self.until = until
        self.limit = limit
    }
}

/// What `retry` did (or would do).
public struct RetryResult: Sendable, Hashable, Codable {
    /// Failed jobs put back in the queue (or that would be), by their last error code.
    public var byError: [String: Int] = [:]
    /// Matching failed jobs left alone because their `expires_at` has passed: they would only fail again.
    public var skippedExpired = 0
    /// The first few job ids (for the operator to check).
    public var sample: [Int64] = []
    public var retried: Int { byError.values.reduce(0, +) }
}

/// What `prune` deleted (or would delete).
public struct PruneResult: Sendable, Hashable, Codable {
    public var jobs = 0
    public var attempts = 0
    public var batches = 0
}

extension JobStore {
    /// Rows per statement for the operator commands that touch many jobs: each batch is its own short transaction,
    /// so a large campaign never holds thousands of row locks against the claim for long.
    static let operatorBatch = 5_000

    /// SQL: whether the job row `alias` is in a paused scope (its tenant, or its campaign, has a `queue_pauses` row).
    /// A primary-key probe, cheap enough for the claim; an empty campaign stands for "no campaign".
    static func scopePaused(_ alias: String) -> String {
        "EXISTS (SELECT 1 FROM queue_pauses p WHERE p.tenant_id = \(alias).tenant_id AND p.campaign_id IN ('', coalesce(\(alias).campaign_id, '')))"
    }

    // MARK: Pause and resume

    /// Pauses a tenant or one of its campaigns: its waiting jobs are parked (state `paused`) and no job of the scope is
    /// claimed until ``resume(tenant:campaign:)``. Dials already in flight finish. Pausing twice is harmless.
    /// - Returns: whether the scope was newly paused, and how many jobs were parked.
    public func pause(tenant: String, campaign: String?, reason: String = "", by operatorID: String) async throws -> (newlyPaused: Bool, parked: Int) {
        try await requireTenant(tenant)
        let scope = campaign ?? ""
        var newlyPaused = false
        for try await inserted in try await client.query("""
            INSERT INTO queue_pauses (tenant_id, campaign_id, reason, paused_by) VALUES (\(tenant), \(scope), \(reason), \(operatorID))
            ON CONFLICT (tenant_id, campaign_id) DO UPDATE SET reason = CASE WHEN EXCLUDED.reason = '' THEN queue_pauses.reason ELSE EXCLUDED.reason END
            RETURNING xmax = 0
            """, logger: logger).decode(Bool.self)
        {
            newlyPaused = inserted
        }
        var parked = 0
        while true {
            let rows = try await client.query("""
                WITH batch AS (
                    SELECT id FROM call_jobs
                    WHERE tenant_id = \(tenant) AND (\(scope) = '' OR campaign_id = \(scope)) AND state IN ('queued', 'deferred', 'retrying')
                    LIMIT \(Self.operatorBatch)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE call_jobs j SET paused_from = j.state, state = 'paused', updated_at = now() FROM batch WHERE j.id = batch.id
                RETURNING 1
                """, logger: logger)
            let count = try await rows.collect().count
            parked += count
            if count < Self.operatorBatch { break }
        }
        logger.notice("paused", metadata: ["tenant": "\(tenant)", "campaign": "\(scope)", "parked": "\(parked)", "by": "\(operatorID)"])
        return (newlyPaused, parked)
    }

    /// Lifts a pause: the scope's parked jobs go back to the state they were parked from (unless another pause still
    /// covers them, e.g. the campaign's own pause when its tenant is resumed), and workers are woken.
    /// - Returns: whether the scope was paused, and how many jobs went back to the queue.
    public func resume(tenant: String, campaign: String?) async throws -> (wasPaused: Bool, unparked: Int) {
        try await requireTenant(tenant)
        let scope = campaign ?? ""
        let deleted = try await client.query("DELETE FROM queue_pauses WHERE tenant_id = \(tenant) AND campaign_id = \(scope) RETURNING 1", logger: logger)
        let wasPaused = try await !deleted.collect().isEmpty
        var unparked = 0
        while true {
            let rows = try await client.query("""
                WITH batch AS (
                    SELECT id FROM call_jobs j
                    WHERE tenant_id = \(tenant) AND (\(scope) = '' OR campaign_id = \(scope)) AND state = 'paused'
                      AND NOT \(unescaped: Self.scopePaused("j"))
                    LIMIT \(Self.operatorBatch)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE call_jobs j SET state = j.paused_from, paused_from = NULL, updated_at = now() FROM batch WHERE j.id = batch.id
                RETURNING 1
                """, logger: logger)
            let count = try await rows.collect().count
            unparked += count
            if count < Self.operatorBatch { break }
        }
        try await wakeWorkers()
        logger.notice("resumed", metadata: ["tenant": "\(tenant)", "campaign": "\(scope)", "unparked": "\(unparked)"])
        return (wasPaused, unparked)
    }

    /// Every paused scope, oldest first.
    public func pauses() async throws -> [QueuePause] {
        var pauses: [QueuePause] = []
        let rows = try await client.query(
            "SELECT tenant_id, campaign_id, reason, paused_by, paused_at FROM queue_pauses ORDER BY paused_at, tenant_id, campaign_id", logger: logger)
        for try await (tenant, campaign, reason, by, at) in rows.decode((String, String, String, String, Date).self) {
            pauses.append(QueuePause(tenantID: tenant, campaignID: campaign.isEmpty ? nil : campaign, reason: reason, pausedBy: by, pausedAt: at))
        }
        return pauses
    }

    // MARK: Cancel

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
              AND (\(ids)::bigint[] IS NOT NULL OR state NOT IN ('dialed', 'failed', 'cancelled'))
            GROUP BY state
            """, logger: logger)
        for try await (raw, count) in rows.decode((String, Int).self) {
            switch JobState(rawValue: raw) {
            case .active, .inDoubt: result.inFlight += count
            case .queued, .deferred, .retrying, .paused: if dryRun { result.cancelled += count }
            case .dialed, .failed, .cancelled, nil: result.alreadyFinished += count
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

    // MARK: Retry

    /// Puts failed jobs back in the queue, due now, with a fresh attempt budget (their `max_attempts` again on top of the
    /// attempts spent). Only `failed` jobs: a dialed job is never dialed again. The dial-time gate still checks every
    /// retried job (do-not-call lists, calling hours, verification), so a retry cannot get around compliance. Jobs past
    /// their `expires_at` are skipped. A retried job in a paused scope waits parked.
    public func retryFailed(_ filter: RetryFilter, by operatorID: String, dryRun: Bool = false) async throws -> RetryResult {
        var result = RetryResult()
        let code = filter.errorCode ?? "", tenant = filter.tenantID ?? "", campaign = filter.campaignID ?? ""
        let since = filter.since ?? Date.distantPast, until = filter.until ?? Date.distantFuture
        if dryRun {
            let rows = try await client.query("""
                SELECT id, coalesce(last_error->>'error', 'unknown'), expires_at IS NOT NULL AND expires_at <= now()
                FROM call_jobs
                WHERE state = 'failed' AND finished_at >= \(since) AND finished_at < \(until) AND attempt < 100
                  AND (\(code) = '' OR last_error->>'error' = \(code)) AND (\(tenant) = '' OR tenant_id = \(tenant))
                  AND (\(campaign) = '' OR campaign_id = \(campaign))
                ORDER BY finished_at, id
                """, logger: logger)
            for try await (id, code, expired) in rows.decode((Int64, String, Bool).self) {
                if expired {
                    result.skippedExpired += 1
                } else if result.retried < filter.limit {
                    result.byError[code, default: 0] += 1
                    if result.sample.count < 20 { result.sample.append(id) }
                }
            }
            return result
        }
        var remaining = filter.limit
        while remaining > 0 {
            let batch = min(remaining, Self.operatorBatch)
            let rows = try await client.query("""
                WITH target AS (
                    SELECT id, coalesce(last_error->>'error', 'unknown') AS code, \(unescaped: Self.scopePaused("j")) AS paused
                    FROM call_jobs j
                    WHERE state = 'failed' AND finished_at >= \(since) AND finished_at < \(until) AND attempt < 100
                      AND (\(code) = '' OR last_error->>'error' = \(code)) AND (\(tenant) = '' OR tenant_id = \(tenant))
                      AND (\(campaign) = '' OR campaign_id = \(campaign)) AND (expires_at IS NULL OR expires_at > now())
                    ORDER BY finished_at, id
                    LIMIT \(batch)
                    FOR UPDATE SKIP LOCKED
                ), retried AS (
                    UPDATE call_jobs j
                    SET state = CASE WHEN target.paused THEN 'paused' ELSE 'queued' END,
                        paused_from = CASE WHEN target.paused THEN 'queued' END,
                        max_attempts = least(100, j.attempt + j.max_attempts), run_at = now(), finished_at = NULL, updated_at = now()
                    FROM target WHERE j.id = target.id
                    RETURNING j.id, j.attempt, target.code
                ), logged AS (
                    INSERT INTO call_attempts (job_id, attempt, worker, kind, outcome, detail)
                    SELECT id, attempt, \(operatorID), 'operator', 'retried', jsonb_build_object('previous_error', code) FROM retried
                )
                SELECT id, code FROM retried ORDER BY id
                """, logger: logger)
            var count = 0
            for try await (id, code) in rows.decode((Int64, String).self) {
                count += 1
                result.byError[code, default: 0] += 1
                if result.sample.count < 20 { result.sample.append(id) }
            }
            remaining -= count
            if count < batch { break }
        }
        let expired = try await client.query("""
            SELECT count(*)::bigint FROM call_jobs
            WHERE state = 'failed' AND finished_at >= \(since) AND finished_at < \(until) AND attempt < 100
              AND (\(code) = '' OR last_error->>'error' = \(code)) AND (\(tenant) = '' OR tenant_id = \(tenant))
              AND (\(campaign) = '' OR campaign_id = \(campaign)) AND expires_at IS NOT NULL AND expires_at <= now()
            """, logger: logger)
        for try await n in expired.decode(Int.self) { result.skippedExpired = n }
        if result.retried > 0 { try await wakeWorkers() }
        logger.notice("retried failed jobs", metadata: ["retried": "\(result.retried)", "skipped_expired": "\(result.skippedExpired)", "by": "\(operatorID)"])
        return result
    }

    // MARK: Prune

    /// Deletes finished jobs (dialed, failed, cancelled) that finished more than `olderThan` ago, with their attempt rows,
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

    /// Runs ``prune(olderThan:batchSize:pauseBetweenBatches:dryRun:)`` only if no other process is pruning (a session
    /// advisory lock), so a fleet of workers prunes one at a time. Returns `nil` when another process holds the lock.
    public func pruneExclusively(olderThan: Duration, batchSize: Int = 1_000) async throws -> PruneResult? {
        try await client.withConnection { connection in
            var locked = false
            for try await got in try await connection.query(
                "SELECT pg_try_advisory_lock(hashtext('openphn-dialer.retention.' || current_schema()))", logger: logger
            ).decode(Bool.self) {
                locked = got
            }
            guard locked else { return nil }
            do {
                let store = JobStore(client: client, logger: logger)
                let result = try await store.prune(olderThan: olderThan, batchSize: batchSize)
                try await connection.query("SELECT pg_advisory_unlock(hashtext('openphn-dialer.retention.' || current_schema()))", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("SELECT pg_advisory_unlock(hashtext('openphn-dialer.retention.' || current_schema()))", logger: logger)
                throw error
            }
        }
    }

    // MARK: Helpers

    func wakeWorkers() async throws {
        try await client.query("SELECT pg_notify(\(Self.readyChannel), '')", logger: logger)
    }

    func requireTenant(_ tenant: String) async throws {
        let rows = try await client.query("SELECT EXISTS (SELECT 1 FROM tenants WHERE id = \(tenant))", logger: logger)
        for try await exists in rows.decode(Bool.self) where exists { return }
        throw OpenPhnError(.notFound, "Tenant '\(tenant)' does not exist.", details: ["tenant_id": .string(tenant)])
    }

    static func parts(_ selection: JobSelection) -> (ids: [Int64]?, tenant: String, campaign: String) {
        switch selection {
        case .jobs(let ids): (ids, "", "")
        case .scope(let tenant, let campaign): (nil, tenant ?? "", campaign ?? "")
        }
    }
}
