import Foundation
import Logging
import PostgresNIO

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

extension JobStore {
    /// Puts failed jobs back in the queue, due now, with a fresh attempt budget (their `max_attempts` again on top of the
    /// attempts spent). Only `failed` jobs: a completed job is never dialed again. The dial-time gate still checks every
    /// retried job (do-not-call lists, calling hours, verification), so a retry cannot get around compliance. Jobs past
    /// their `expires_at` are skipped. A retried job in a paused scope waits parked.
    public func retryFailed(_ filter: RetryFilter, by operatorID: String, dryRun: Bool = false) async throws -> RetryResult {
        var result = RetryResult()
        if dryRun {
            let rows = try await client.query(filter.query("""
                SELECT id, coalesce(last_error->>'error', 'unknown'), expires_at IS NOT NULL AND expires_at <= now()
                FROM call_jobs j WHERE \(RetryFilter.matching)
                ORDER BY finished_at, id
                """), logger: logger)
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
            let rows = try await client.query(filter.query("""
                WITH target AS (
                    SELECT id, coalesce(last_error->>'error', 'unknown') AS code, \(Self.scopePaused("j")) AS paused
                    FROM call_jobs j
                    WHERE \(RetryFilter.matching) AND (expires_at IS NULL OR expires_at > now())
                    ORDER BY finished_at, id
                    LIMIT $6
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
                    SELECT id, attempt, $7, 'operator', 'retried', jsonb_build_object('previous_error', code) FROM retried
                )
                SELECT id, code FROM retried ORDER BY id
                """, then: batch, operatorID), logger: logger)
            var count = 0
            for try await (id, code) in rows.decode((Int64, String).self) {
                count += 1
                result.byError[code, default: 0] += 1
                if result.sample.count < 20 { result.sample.append(id) }
            }
            remaining -= count
            if count < batch { break }
        }
        let expired = try await client.query(filter.query("""
            SELECT count(*)::bigint FROM call_jobs j WHERE \(RetryFilter.matching) AND expires_at IS NOT NULL AND expires_at <= now()
            """), logger: logger)
        for try await n in expired.decode(Int.self) { result.skippedExpired = n }
        if result.retried > 0 { try await wakeWorkers() }
        var auditScope: [String: JSONValue] = ["skipped_expired": .number(Double(result.skippedExpired))]
        if let code = filter.errorCode { auditScope["error_code"] = .string(code) }
        if let since = filter.since { auditScope["since"] = .string(DialGate.iso(since)) }
        if let until = filter.until { auditScope["until"] = .string(DialGate.iso(until)) }
        try await audit("retry", by: operatorID, tenant: filter.tenantID, campaign: filter.campaignID, scope: auditScope, affected: result.retried)
        logger.notice("retried failed jobs", metadata: ["retried": "\(result.retried)", "skipped_expired": "\(result.skippedExpired)", "by": "\(operatorID)"])
        return result
    }
}

extension RetryFilter {
    /// The failed jobs the filter selects, as SQL over `call_jobs j`: `$1`...`$5` are its since, until, error code,
    /// tenant and campaign (see ``query(_:then:_:)``). Jobs retried 100 attempts deep are left alone.
    static let matching = """
        j.state = 'failed' AND j.finished_at >= $1 AND j.finished_at < $2 AND j.attempt < 100
          AND ($3 = '' OR j.last_error->>'error' = $3) AND ($4 = '' OR j.tenant_id = $4) AND ($5 = '' OR j.campaign_id = $5)
        """

    /// `sql` (which uses ``matching``) with the filter bound to `$1`...`$5`, then `batch` as `$6` and `operatorID` as `$7`
    /// when given.
    func query(_ sql: String, then batch: Int? = nil, _ operatorID: String? = nil) -> PostgresQuery {
        var binds = PostgresBindings(capacity: 7)
        binds.append(since ?? Date.distantPast)
        binds.append(until ?? Date.distantFuture)
        binds.append(errorCode ?? "")
        binds.append(tenantID ?? "")
        binds.append(campaignID ?? "")
        if let batch { binds.append(batch) }
        if let operatorID { binds.append(operatorID) }
        return PostgresQuery(unsafeSQL: sql, binds: binds)
    }
}
