import Foundation
import Logging
import PostgresNIO

/// One row of `dialer status`: jobs of one tenant and campaign in one state.
public struct QueueStatusRow: Sendable, Hashable, Codable {
    public let tenantID: String
    public let campaignID: String?
    public let state: JobState
    public let count: Int
    /// For waiting states: seconds since the oldest due job's run_at (how far behind the queue is); `nil` when none is due.
    public let oldestDueAgeSeconds: Double?
}

extension JobStore {
    /// Jobs by tenant, campaign and state, with the age of the oldest due job. Waiting, paused, active and in-doubt jobs
    /// are all counted; final states count the jobs that finished in the last `finishedWindow` (the table keeps finished
    /// jobs for the whole retention period, and counting them all would scan it). Each branch reads a partial index.
    public func status(tenant: String? = nil, campaign: String? = nil, finishedWindow: Duration = .seconds(86_400)) async throws -> [QueueStatusRow] {
        let tenant = tenant ?? "", campaign = campaign ?? ""
        let rows = try await client.query("""
            WITH live AS (
                SELECT tenant_id, campaign_id, state, run_at FROM call_jobs WHERE state IN ('queued', 'deferred', 'retrying', 'paused')
                UNION ALL SELECT tenant_id, campaign_id, state, run_at FROM call_jobs WHERE state = 'active'
                UNION ALL SELECT tenant_id, campaign_id, state, run_at FROM call_jobs WHERE state = 'in_doubt'
                UNION ALL SELECT tenant_id, campaign_id, state, run_at FROM call_jobs WHERE state = 'awaiting_outcome'
                UNION ALL SELECT tenant_id, campaign_id, state, run_at FROM call_jobs
                          WHERE finished_at > now() - make_interval(secs => \(finishedWindow.seconds))
            )
            SELECT tenant_id, campaign_id, state, count(*)::bigint,
                   extract(epoch FROM now() - min(run_at) FILTER (WHERE state IN ('queued', 'deferred', 'retrying') AND run_at <= now()))::float8
            FROM live
            WHERE (\(tenant)::text = '' OR tenant_id = \(tenant)) AND (\(campaign)::text = '' OR campaign_id = \(campaign))
            GROUP BY tenant_id, campaign_id, state
            ORDER BY tenant_id, campaign_id NULLS FIRST, state
            """, logger: logger)
        var result: [QueueStatusRow] = []
        for try await (tenant, campaign, state, count, age) in rows.decode((String, String?, String, Int, Double?).self) {
            guard let state = JobState(rawValue: state) else { continue }
            result.append(QueueStatusRow(tenantID: tenant, campaignID: campaign, state: state, count: count, oldestDueAgeSeconds: age))
        }
        return result
    }

    /// What `dialer status` shows beside the per-scope counts: pauses, leases past expiry, recent failures by code, and the
    /// health of the two big tables (dead tuples, last vacuum).
    public func statusFacts(finishedWindow: Duration = .seconds(86_400)) async throws -> StatusFacts {
        var facts = StatusFacts()
        facts.pauses = try await pauses()
        for try await count in try await client.query(
            "SELECT count(*)::bigint FROM call_jobs WHERE state = 'active' AND lease_expires_at < now()", logger: logger
        ).decode(Int.self) {
            facts.expiredLeases = count
        }
        for try await (code, count) in try await client.query("""
            SELECT coalesce(last_error->>'error', 'unknown'), count(*)::bigint FROM call_jobs
            WHERE finished_at > now() - make_interval(secs => \(finishedWindow.seconds)) AND state = 'failed'
            GROUP BY 1 ORDER BY 2 DESC
            """, logger: logger).decode((String, Int).self)
        {
            facts.failuresByCode[code] = count
        }
        for try await (table, live, dead, vacuumed, autovacuums) in try await client.query("""
            SELECT relname::text, n_live_tup, n_dead_tup, greatest(last_autovacuum, last_vacuum), autovacuum_count
            FROM pg_stat_user_tables WHERE relid IN ('call_jobs'::regclass, 'call_attempts'::regclass) ORDER BY relname
            """, logger: logger).decode((String, Int, Int, Date?, Int).self)
        {
            facts.tables.append(TableHealth(table: table, liveTuples: live, deadTuples: dead, lastVacuum: vacuumed, autovacuumCount: autovacuums))
        }
        return facts
    }

    /// Whether any job waits (or is in doubt) with a run_at within `window` from now (a drain waits for those); jobs of a
    /// paused scope do not count (they wait for an operator, not for time).
    public func hasWaitingJobs(dueWithin window: Duration, tenant: String? = nil, campaign: String? = nil) async throws -> Bool {
        let tenant = tenant ?? "", campaign = campaign ?? ""
        let rows = try await client.query("""
            SELECT EXISTS (SELECT 1 FROM call_jobs j WHERE state IN ('queued', 'deferred', 'retrying', 'in_doubt')
                           AND run_at <= now() + make_interval(secs => \(window.seconds))
                           AND (\(tenant) = '' OR tenant_id = \(tenant)) AND (\(campaign) = '' OR campaign_id = \(campaign))
                           AND (state = 'in_doubt' OR NOT \(unescaped: Self.scopePaused("j"))))
            """, logger: logger)
        for try await exists in rows.decode(Bool.self) { return exists }
        return false
    }

    /// Jobs due now (what a drain starts with).
    public func dueCount(tenant: String? = nil, campaign: String? = nil) async throws -> Int {
        let tenant = tenant ?? "", campaign = campaign ?? ""
        let rows = try await client.query("""
            SELECT count(*)::bigint FROM call_jobs j
            WHERE state IN ('queued', 'deferred', 'retrying') AND run_at <= now()
              AND (\(tenant) = '' OR tenant_id = \(tenant)) AND (\(campaign) = '' OR campaign_id = \(campaign))
              AND NOT \(unescaped: Self.scopePaused("j"))
            """, logger: logger)
        for try await count in rows.decode(Int.self) { return count }
        return 0
    }
}

/// `dialer status` facts beyond the per-scope counts.
public struct StatusFacts: Sendable, Hashable {
    public var pauses: [QueuePause] = []
    /// Active jobs whose lease has passed: their worker died or hangs; recovery takes them within DIALER_RECOVERY_SECONDS.
    public var expiredLeases = 0
    /// Jobs that failed in the window, by OpenPhn error code.
    public var failuresByCode: [String: Int] = [:]
    public var tables: [TableHealth] = []
}

/// Vacuum health of one table, from `pg_stat_user_tables`.
public struct TableHealth: Sendable, Hashable {
    public let table: String
    public let liveTuples: Int
    public let deadTuples: Int
    public let lastVacuum: Date?
    public let autovacuumCount: Int
}

/// The live part of the queue, cheap enough to read every few seconds on a table of any size: every count comes from a
/// partial index (waiting, active, in doubt), never from the finished rows.
public struct QueueDepth: Sendable, Hashable {
    public var byState: [JobState: Int]
    /// Seconds since the oldest due job's run_at; 0 when nothing is due.
    public var oldestDueAgeSeconds: Double
    public var pausedScopes: Int
    /// Jobs waiting for a call outcome past their deadline (no final callback came; the sweeper looks them up).
    public var outcomesOverdue: Int = 0
}

extension JobStore {
    public func queueDepth() async throws -> QueueDepth {
        let rows = try await client.query("""
            SELECT state, count(*)::bigint FROM call_jobs WHERE state IN ('queued', 'deferred', 'retrying', 'paused') GROUP BY state
            UNION ALL SELECT 'active', count(*)::bigint FROM call_jobs WHERE state = 'active'
            UNION ALL SELECT 'in_doubt', count(*)::bigint FROM call_jobs WHERE state = 'in_doubt'
            UNION ALL SELECT 'awaiting_outcome', count(*)::bigint FROM call_jobs WHERE state = 'awaiting_outcome'
            UNION ALL SELECT '#outcomes_overdue', count(*)::bigint FROM call_jobs WHERE state = 'awaiting_outcome' AND run_at <= now()
            UNION ALL SELECT '#paused_scopes', count(*)::bigint FROM queue_pauses
            UNION ALL SELECT '#oldest_due_ms', coalesce(greatest(0, extract(epoch FROM now() - min(oldest)) * 1000), 0)::bigint
                FROM generate_series(0, 9) AS p(priority)
                -- One index probe per priority on the claim's own index, instead of a scan of every due row.
                CROSS JOIN LATERAL (SELECT run_at AS oldest FROM call_jobs j
                                    WHERE j.state IN ('queued', 'deferred', 'retrying') AND j.priority = p.priority
                                    ORDER BY j.run_at LIMIT 1) o
            """, logger: logger)
        var depth = QueueDepth(byState: [:], oldestDueAgeSeconds: 0, pausedScopes: 0)
        for try await (key, count) in rows.decode((String, Int).self) {
            switch key {
            case "#paused_scopes": depth.pausedScopes = count
            case "#outcomes_overdue": depth.outcomesOverdue = count
            case "#oldest_due_ms": depth.oldestDueAgeSeconds = Double(count) / 1000
            default: if let state = JobState(rawValue: key) { depth.byState[state] = count }
            }
        }
        return depth
    }
}
