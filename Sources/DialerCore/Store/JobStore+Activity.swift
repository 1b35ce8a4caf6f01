import Foundation
import Logging
import PostgresNIO

/// A campaign, as the console's counters key it (`campaign_id` '' for jobs without one).
public struct CampaignKey: Sendable, Hashable {
    public let tenantID: String
    public let campaignID: String
    public init(tenantID: String, campaignID: String) {
        self.tenantID = tenantID
        self.campaignID = campaignID
    }
}

/// A campaign's recent activity and what it waits for, read from the counters of migration 0015 and two probes of the
/// waiting jobs' index: nothing here counts rows of `call_jobs`.
public struct CampaignActivity: Sendable, Hashable {
    /// Dials in the last few minutes, and the minutes they span (at most 5, at least 10 seconds).
    public var recentDials = 0
    public var recentMinutes = 0.0
    /// Every event's count over the campaign's life (`dial`, `dnc_hit`, `held`, `outcome_human`, ...).
    public var totals: [String: Int] = [:]
    /// When the first job held by the gate may be dialed (the next calling window to open), and the next retry due.
    public var nextHeldAt: Date?
    public var nextRetryAt: Date?

    public init() {}

    /// Dials per minute lately; 0 when nothing was dialed in the last 5 minutes.
    public var dialsPerMinute: Double { recentMinutes > 0 ? Double(recentDials) / recentMinutes : 0 }
    public func total(_ event: String) -> Int { totals[event] ?? 0 }
}

/// Failed jobs of one campaign with one code, and the latest few.
public struct FailureGroup: Sendable, Hashable {
    public let code: String
    public let jobs: Int
    /// Newest first.
    public let examples: [Int64]
    public let message: String
    public let lastAt: Date
}

/// A process's row of the Workers page.
public struct ProcessRow: Sendable, Hashable {
    public let heartbeat: ProcessHeartbeat
    public let lastSeen: Date
    /// Seen within the last 30 seconds (it writes every 5).
    public let alive: Bool
    /// What the Workers page says: running, stopping, stopped (a clean stop), or gone (not seen for 30 s without a
    /// clean stop: killed, crashed, or cut off).
    public var status: String { heartbeat.state == .stopped ? "stopped" : alive ? heartbeat.state.rawValue : "gone" }
}

/// A tenant's subaccount as the Subaccounts page shows it.
public struct SubaccountRow: Sendable, Hashable {
    public let tenantID: String
    public let subaccountSID: String?
    /// As configured in `twilio_pacing`; nil: no dial yet, the workers' default applies.
    public let callsPerSecond: Double?
    public let dialsLastMinute: Int
    public let throttledLastHour: Int
    public let throttledTotal: Int
    /// Until when a 429's Retry-After holds the subaccount's dials, if it still does.
    public let slowedUntil: Date?
    public let tenantPaused: Bool
    public let campaignsPaused: Int
}

extension JobStore {
    /// Writes one ``ActivityBatch`` and a process's heartbeat in one statement (rows in key order, so two processes
    /// adding to the same counters never deadlock).
    public func recordActivity(_ batch: ActivityBatch, heartbeat: ProcessHeartbeat) async throws {
        let events = batch.events.sorted { ($0.tenantID, $0.campaignID, $0.minute, $0.event) < ($1.tenantID, $1.campaignID, $1.minute, $1.event) }
        let failures = batch.failures.sorted { ($0.tenantID, $0.campaignID, $0.code) < ($1.tenantID, $1.campaignID, $1.code) }
        let beat = heartbeat
        try await client.query("""
            WITH ev AS (
                SELECT * FROM unnest(\(events.map(\.tenantID))::text[], \(events.map(\.campaignID))::text[],
                                     \(events.map { $0.minute.timeIntervalSince1970 })::float8[], \(events.map(\.event))::text[],
                                     \(events.map { Int64($0.n) })::bigint[]) WITH ORDINALITY AS e(tenant_id, campaign_id, minute, event, n, ord)
            ), minutes AS (
                INSERT INTO campaign_activity (tenant_id, campaign_id, minute, event, n)
                SELECT tenant_id, campaign_id, to_timestamp(minute), event, n FROM ev ORDER BY ord
                ON CONFLICT (tenant_id, campaign_id, minute, event) DO UPDATE SET n = campaign_activity.n + EXCLUDED.n
                RETURNING 1
            ), totals AS (
                INSERT INTO campaign_activity_totals (tenant_id, campaign_id, event, n)
                SELECT tenant_id, campaign_id, event, sum(n) FROM ev GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
                ON CONFLICT (tenant_id, campaign_id, event) DO UPDATE SET n = campaign_activity_totals.n + EXCLUDED.n
                RETURNING 1
            ), failures AS (
                INSERT INTO campaign_failures (tenant_id, campaign_id, code, jobs, examples, message, last_at)
                SELECT f.tenant_id, f.campaign_id, f.code, f.jobs, string_to_array(f.examples, ',')::bigint[], f.message, to_timestamp(f.last_at)
                FROM unnest(\(failures.map(\.tenantID))::text[], \(failures.map(\.campaignID))::text[], \(failures.map(\.code))::text[],
                            \(failures.map { Int64($0.jobs) })::bigint[], \(failures.map { $0.examples.map(String.init).joined(separator: ",") })::text[],
                            \(failures.map(\.message))::text[], \(failures.map { $0.lastAt.timeIntervalSince1970 })::float8[])
                     WITH ORDINALITY AS f(tenant_id, campaign_id, code, jobs, examples, message, last_at, ord)
                ORDER BY f.ord
                ON CONFLICT (tenant_id, campaign_id, code) DO UPDATE SET
                    jobs = campaign_failures.jobs + EXCLUDED.jobs,
                    examples = (campaign_failures.examples || EXCLUDED.examples)[greatest(1, cardinality(campaign_failures.examples) + cardinality(EXCLUDED.examples) - \(ActivityTally.examplesKept - 1)):],
                    message = EXCLUDED.message, last_at = greatest(campaign_failures.last_at, EXCLUDED.last_at)
                RETURNING 1
            )
            INSERT INTO dialer_processes (id, role, host, pid, version, started_at, last_seen, in_flight, concurrency, dialed, failed, settled, state)
            VALUES (\(beat.id), \(beat.role.rawValue), \(beat.host), \(beat.pid), \(beat.version), to_timestamp(\(beat.startedAt.timeIntervalSince1970)),
                    now(), \(beat.inFlight), \(beat.concurrency), \(beat.dialed), \(beat.failed), \(beat.settled), \(beat.state.rawValue))
            ON CONFLICT (id) DO UPDATE SET last_seen = now(), in_flight = EXCLUDED.in_flight, concurrency = EXCLUDED.concurrency,
                dialed = EXCLUDED.dialed, failed = EXCLUDED.failed, settled = EXCLUDED.settled, state = EXCLUDED.state
            """, logger: logger)
    }

    /// Recent dials, life totals and the next held job and retry of each of `keys`: per campaign, a range of the
    /// activity's primary key and two probes of the waiting jobs' index (`call_jobs_waiting_scope_due`). A campaign ''
    /// (jobs without one) has no next held job or retry here.
    public func campaignActivity(_ keys: [CampaignKey]) async throws -> [CampaignKey: CampaignActivity] {
        guard !keys.isEmpty else { return [:] }
        let rows = try await client.query("""
            SELECT k.tenant_id, k.campaign_id, r.dials, r.minutes,
                   (SELECT coalesce(jsonb_object_agg(event, n), '{}'::jsonb)::text FROM campaign_activity_totals t
                    WHERE t.tenant_id = k.tenant_id AND t.campaign_id = k.campaign_id),
                   (SELECT extract(epoch FROM min(run_at))::float8 FROM call_jobs j
                    WHERE j.tenant_id = k.tenant_id AND j.campaign_id = nullif(k.campaign_id, '') AND j.state = 'deferred'),
                   (SELECT extract(epoch FROM min(run_at))::float8 FROM call_jobs j
                    WHERE j.tenant_id = k.tenant_id AND j.campaign_id = nullif(k.campaign_id, '') AND j.state = 'retrying')
            FROM unnest(\(keys.map(\.tenantID))::text[], \(keys.map(\.campaignID))::text[]) AS k(tenant_id, campaign_id)
            CROSS JOIN LATERAL (
                SELECT coalesce(sum(n), 0)::bigint AS dials,
                       coalesce(greatest(extract(epoch FROM now() - min(minute)) / 60, 1.0 / 6), 0)::float8 AS minutes
                FROM campaign_activity a
                WHERE a.tenant_id = k.tenant_id AND a.campaign_id = k.campaign_id AND a.minute >= date_trunc('minute', now()) - interval '5 minutes'
                  AND a.event = 'dial'
            ) r
            """, logger: logger)
        var result: [CampaignKey: CampaignActivity] = [:]
        for try await (tenant, campaign, dials, minutes, totals, held, retry) in rows.decode((String, String, Int64, Double, String, Double?, Double?).self) {
            var activity = CampaignActivity()
            activity.recentDials = Int(dials)
            activity.recentMinutes = dials > 0 ? minutes : 0
            if let object = try? JSONDecoder().decode([String: Int].self, from: Data(totals.utf8)) { activity.totals = object }
            activity.nextHeldAt = held.map(Date.init(timeIntervalSince1970:))
            activity.nextRetryAt = retry.map(Date.init(timeIntervalSince1970:))
            result[CampaignKey(tenantID: tenant, campaignID: campaign)] = activity
        }
        return result
    }

    /// A campaign's events per minute over the last `window` (at most 24 hours): one range of the activity's primary key.
    public func campaignTimeline(_ key: CampaignKey, window: Duration = .seconds(86_400)) async throws -> [(minute: Date, event: String, n: Int)] {
        let rows = try await client.query("""
            SELECT extract(epoch FROM minute)::float8, event, n FROM campaign_activity
            WHERE tenant_id = \(key.tenantID) AND campaign_id = \(key.campaignID) AND minute >= now() - make_interval(secs => \(min(window.seconds, 86_400)))
            ORDER BY minute
            """, logger: logger)
        var result: [(minute: Date, event: String, n: Int)] = []
        for try await (minute, event, n) in rows.decode((Double, String, Int64).self) {
            result.append((Date(timeIntervalSince1970: minute), event, Int(n)))
        }
        return result
    }

    /// A campaign's failures grouped by code, the largest first (at most `limit` codes).
    public func campaignFailures(_ key: CampaignKey, limit: Int = 20) async throws -> [FailureGroup] {
        let rows = try await client.query("""
            SELECT code, jobs, array_to_string(examples, ','), message, extract(epoch FROM last_at)::float8 FROM campaign_failures
            WHERE tenant_id = \(key.tenantID) AND campaign_id = \(key.campaignID) ORDER BY jobs DESC, code LIMIT \(limit)
            """, logger: logger)
        var result: [FailureGroup] = []
        for try await (code, jobs, examples, message, lastAt) in rows.decode((String, Int64, String, String, Double).self) {
            result.append(FailureGroup(code: code, jobs: Int(jobs), examples: examples.split(separator: ",").compactMap { Int64($0) }.reversed(),
                                       message: message, lastAt: Date(timeIntervalSince1970: lastAt)))
        }
        return result
    }

    /// The processes that wrote a heartbeat in the last day, live ones first.
    public func processes() async throws -> [ProcessRow] {
        let rows = try await client.query("""
            SELECT id, role, host, pid, version, extract(epoch FROM started_at)::float8, extract(epoch FROM last_seen)::float8,
                   last_seen > now() - interval '30 seconds', in_flight, concurrency, dialed, failed, settled, state
            FROM dialer_processes ORDER BY last_seen > now() - interval '30 seconds' DESC, role DESC, id LIMIT 500
            """, logger: logger)
        var result: [ProcessRow] = []
        for try await row in rows {
            let (id, role, host, pid, version, started, seen, alive, inFlight, concurrency, dialed, failed, settled, state) =
                try row.decode((String, String, String, Int, String, Double, Double, Bool, Int, Int, Int64, Int64, Int64, String).self)
            var beat = ProcessHeartbeat(id: id, role: ProcessHeartbeat.Role(rawValue: role) ?? .worker, host: host, pid: pid, version: version,
                                        startedAt: Date(timeIntervalSince1970: started))
            beat.inFlight = inFlight
            beat.concurrency = concurrency
            beat.dialed = Int(dialed)
            beat.failed = Int(failed)
            beat.settled = Int(settled)
            beat.state = ProcessHeartbeat.State(rawValue: state) ?? .running
            result.append(ProcessRow(heartbeat: beat, lastSeen: Date(timeIntervalSince1970: seen), alive: alive))
        }
        return result
    }

    /// Each tenant's subaccount: its configured calls per second, the dials of the last full minute, 429s, pauses.
    public func subaccounts(tenant: String?) async throws -> [SubaccountRow] {
        let rows = try await client.query("""
            WITH recent AS (
                SELECT tenant_id,
                       coalesce(sum(n) FILTER (WHERE event = 'dial' AND minute >= date_trunc('minute', now()) - interval '1 minute'
                                                AND minute < date_trunc('minute', now())), 0)::bigint AS dials,
                       coalesce(sum(n) FILTER (WHERE event = 'throttled'), 0)::bigint AS throttled
                FROM campaign_activity WHERE minute >= now() - interval '1 hour' GROUP BY tenant_id
            )
            SELECT t.id, t.twilio_subaccount_sid, p.calls_per_second, coalesce(r.dials, 0), coalesce(r.throttled, 0),
                   (SELECT coalesce(sum(n), 0)::bigint FROM campaign_activity_totals x WHERE x.tenant_id = t.id AND x.event = 'throttled'),
                   CASE WHEN p.paused_until > now() THEN extract(epoch FROM p.paused_until)::float8 END,
                   EXISTS (SELECT 1 FROM queue_pauses q WHERE q.tenant_id = t.id AND q.campaign_id = ''),
                   (SELECT count(*) FROM queue_pauses q WHERE q.tenant_id = t.id AND q.campaign_id <> '')
            FROM tenants t
            LEFT JOIN twilio_pacing p ON p.subaccount_sid = t.twilio_subaccount_sid
            LEFT JOIN recent r ON r.tenant_id = t.id
            WHERE \(tenant)::text IS NULL OR t.id = \(tenant)
            ORDER BY t.id LIMIT 1000
            """, logger: logger)
        var result: [SubaccountRow] = []
        for try await row in rows {
            let (id, sid, cps, dials, throttled, throttledTotal, slowed, tenantPaused, campaignsPaused) =
                try row.decode((String, String?, Double?, Int64, Int64, Int64, Double?, Bool, Int64).self)
            result.append(SubaccountRow(tenantID: id, subaccountSID: sid, callsPerSecond: cps, dialsLastMinute: Int(dials),
                                        throttledLastHour: Int(throttled), throttledTotal: Int(throttledTotal),
                                        slowedUntil: slowed.map(Date.init(timeIntervalSince1970:)), tenantPaused: tenantPaused,
                                        campaignsPaused: Int(campaignsPaused)))
        }
        return result
    }

    /// Deletes activity minutes older than 7 days and processes not seen for a day (the totals stay).
    public func pruneActivity() async throws -> Int {
        let minutes = try await client.query("DELETE FROM campaign_activity WHERE minute < now() - interval '7 days' RETURNING 1", logger: logger).collect().count
        let gone = try await client.query("DELETE FROM dialer_processes WHERE last_seen < now() - interval '1 day' RETURNING 1", logger: logger).collect().count
        return minutes + gone
    }
}
