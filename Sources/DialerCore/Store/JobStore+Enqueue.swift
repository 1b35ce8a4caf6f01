import Foundation
import Logging
import PostgresNIO

/// The result of enqueueing one request.
public struct EnqueueResult: Sendable, Hashable {
    public let jobID: Int64
    /// `false` when the idempotency key matched an existing job with the same body, or the row repeats an earlier one.
    public let created: Bool
    /// The index, in the same enqueue call, of the earlier row this one repeats (same tenant and destination): it
    /// shares that row's job and was not inserted. `nil` for a row that stands for its own job.
    public let duplicateOf: Int?

    init(jobID: Int64, created: Bool, duplicateOf: Int? = nil) {
        self.jobID = jobID
        self.created = created
        self.duplicateOf = duplicateOf
    }
}

extension [EnqueueResult] {
    /// How many rows repeated an earlier row of the same enqueue call and share its job.
    public var duplicates: Int { count { $0.duplicateOf != nil } }
}

extension JobStore {
    /// Rows per INSERT statement; a larger request is sent as several statements in the same transaction.
    static let enqueueChunk = 5_000

    /// Enqueues validated requests, all or nothing: one transaction, one INSERT statement per 5,000 rows.
    ///
    /// - One call never rings a person twice: a row with the tenant and destination of an earlier row collapses to it
    ///   (its result has `duplicateOf`, the earlier row's job and `created == false`; a key of its own is not recorded).
    /// - An unknown tenant is `not_found`; a caller number that is not the tenant's active number, or a tenant with no
    ///   selected active number, is `no_active_number`.
    /// - A key already used with the same body returns that job (`created == false`); with another body the whole call is
    ///   refused with `idempotency_conflict` (HTTP 409) and nothing is written. Keys are compared before destinations:
    ///   the same key twice in one call with two bodies is a conflict even when both rows name the same person.
    /// - Workers are woken with NOTIFY when the transaction commits.
    /// - Returns: one result per request, in order.
    public func enqueue(_ requests: [ValidatedCallRequest]) async throws -> [EnqueueResult] {
        guard !requests.isEmpty else { return [] }
        var firstIndexForKey: [String: Int] = [:]
        var firstIndexForPerson: [String: Int] = [:]
        var aliasOf: [Int: Int] = [:]
        var unique: [(index: Int, request: ValidatedCallRequest)] = []
        for (index, request) in requests.enumerated() {
            let tenant = request.request.tenantID
            if let key = request.request.idempotencyKey {
                let scoped = tenant + "\u{0}" + key
                if let first = firstIndexForKey[scoped] {
                    guard requests[first].canonicalBody == request.canonicalBody else { throw Self.conflict(key: key, row: index) }
                    aliasOf[index] = aliasOf[first] ?? first
                    continue
                }
                firstIndexForKey[scoped] = index
            }
            let person = tenant + "\u{0}" + request.destination.e164
            if let first = firstIndexForPerson[person] {
                aliasOf[index] = first
                continue
            }
            firstIndexForPerson[person] = index
            unique.append((index, request))
        }
        var results = [EnqueueResult?](repeating: nil, count: requests.count)
        for attempt in 1...3 {
            do {
                let inserted = try await enqueueOnce(unique.map(\.request))
                for (offset, entry) in unique.enumerated() { results[entry.index] = inserted[offset] }
                break
            } catch let error as RaceWithConcurrentEnqueue where attempt < 3 {
                logger.debug("enqueue raced a concurrent insert of the same key; retrying", metadata: ["key": "\(error.key)"])
            } catch var error as OpenPhnError {
                // The statements saw only the rows of their own; `row` names the caller's row.
                if let row = error.details["row"]?.intValue, unique.indices.contains(row - 1) {
                    error.details["row"] = .number(Double(unique[row - 1].index + 1))
                }
                throw error
            }
        }
        for (index, first) in aliasOf { results[index] = EnqueueResult(jobID: results[first]!.jobID, created: false, duplicateOf: first) }
        await analyzeAfterBulkEnqueue(created: results.count { $0?.created == true })
        return results.map { $0! }
    }

    /// An enqueue call that created at least this many jobs may refresh the planner's statistics of `call_jobs`.
    static let analyzeAfterJobs = 1_000

    /// After a bulk enqueue that grew `call_jobs` by a tenth or more (or filled a table never analyzed), `ANALYZE` it. With
    /// stale statistics the planner misjudges how many rows are due: it then fetches and sorts every due row for each claim
    /// instead of reading the claim index in order, until autovacuum's next analyze, which can be a minute or more away,
    /// exactly when a freshly loaded campaign starts dialing (measured: about 25% more CPU per job on a 30,000-job drain).
    /// A concurrent autovacuum holds the lock ANALYZE needs: waiting is capped, and on failure autovacuum will catch up.
    private func analyzeAfterBulkEnqueue(created: Int) async {
        guard created >= Self.analyzeAfterJobs else { return }
        do {
            var estimated = -1.0
            let rows = try await client.query("SELECT reltuples::float8 FROM pg_class WHERE oid = 'call_jobs'::regclass", logger: logger)
            for try await value in rows.decode(Double.self) { estimated = value }
            guard estimated < 0 || Double(created) >= estimated / 10 else { return }
            try await transaction { connection, logger in
                try await connection.query("SET LOCAL lock_timeout = '2s'", logger: logger)
                try await connection.query("ANALYZE call_jobs", logger: logger)
            }
            logger.info("refreshed call_jobs statistics after a bulk enqueue", metadata: ["created": "\(created)"])
        } catch {
            logger.warning("could not refresh call_jobs statistics after a bulk enqueue; autovacuum will", metadata: [
                "error": "\(String(reflecting: error))",
            ])
        }
    }

    private struct RaceWithConcurrentEnqueue: Error { let key: String }

    static func conflict(key: String, row: Int?) -> OpenPhnError {
        var details: [String: JSONValue] = ["idempotency_key": .string(key)]
        if let row { details["row"] = .number(Double(row + 1)) }
        return OpenPhnError(.idempotencyConflict, "Idempotency-Key '\(key)' was already used with a different request body.", details: details)
    }

    private func enqueueOnce(_ requests: [ValidatedCallRequest]) async throws -> [EnqueueResult] {
        return try await transaction { connection, logger in
            let callers = try await Self.resolveCallers(requests, connection: connection, logger: logger)
            var results: [EnqueueResult] = []
            results.reserveCapacity(requests.count)
            var start = 0
            while start < requests.count {
                let end = min(start + Self.enqueueChunk, requests.count)
                results += try await Self.insertChunk(Array(requests[start..<end]), callers: Array(callers[start..<end]), offset: start,
                                                      connection: connection, logger: logger)
                start = end
            }
            if results.contains(where: \.created) {
                try await connection.query("SELECT pg_notify(\(Self.readyChannel), '')", logger: logger)
            }
            return results
        }
    }

    /// The caller number id for each request: the named number if it is the tenant's and active, else the tenant's selected active one.
    private static func resolveCallers(_ requests: [ValidatedCallRequest], connection: PostgresConnection, logger: Logger) async throws -> [Int64] {
        let tenantIDs = Array(Set(requests.map(\.request.tenantID)))
        struct Number { let id: Int64; let e164: String; let active: Bool; let selected: Bool }
        var tenants: [String: [Number]] = [:]
        let rows = try await connection.query("""
            SELECT t.id, p.id, p.e164, p.active, p.selected
            FROM tenants t LEFT JOIN phone_numbers p ON p.tenant_id = t.id
            WHERE t.id = ANY(\(tenantIDs))
            """, logger: logger)
        for try await (tenant, id, e164, active, selected) in rows.decode((String, Int64?, String?, Bool?, Bool?).self) {
            var numbers = tenants[tenant, default: []]
            if let id, let e164 { numbers.append(Number(id: id, e164: e164, active: active ?? false, selected: selected ?? false)) }
            tenants[tenant] = numbers
        }
        return try requests.enumerated().map { index, request in
            let tenant = request.request.tenantID
            let row: JSONValue = .number(Double(index + 1))
            guard let numbers = tenants[tenant] else {
                throw OpenPhnError(.notFound, "Tenant '\(tenant)' does not exist.", details: ["tenant_id": .string(tenant), "row": row])
            }
            if let from = request.caller?.e164 {
                guard let number = numbers.first(where: { $0.e164 == from }) else {
                    throw OpenPhnError(.noActiveNumber, "\(from) is not one of tenant '\(tenant)''s caller numbers.", details: ["from": .string(from), "row": row])
                }
                guard number.active else {
                    throw OpenPhnError(.noActiveNumber, "Caller number \(from) is not active.", details: ["from": .string(from), "row": row])
                }
                return number.id
            }
            guard let selected = numbers.first(where: { $0.selected && $0.active }) else {
                throw OpenPhnError(.noActiveNumber, "Tenant '\(tenant)' has no active number selected.", details: ["tenant_id": .string(tenant), "row": row])
            }
            return selected.id
        }
    }

    private static func insertChunk(
        _ requests: [ValidatedCallRequest], callers: [Int64], offset: Int, connection: PostgresConnection, logger: Logger
    ) async throws -> [EnqueueResult] {
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        let r = requests.map(\.request)
        let tenants = r.map(\.tenantID)
        let destinations = r.map(\.to)
        let campaigns = r.map { $0.campaignID ?? "" }
        let objectives = r.map(\.objective)
        let schemas = r.map(\.outcomeSchema.jsonText)
        let priorities = r.map(\.priority)
        let runAts = r.map { $0.runAt.map { iso.string(from: $0) } ?? "" }
        let maxAttempts = r.map(\.maxAttempts)
        let expiries = r.map { $0.expiresAt.map { iso.string(from: $0) } ?? "" }
        let keys = r.map { $0.idempotencyKey ?? "" }
        // Validation refuses an empty consent source, so '' stands for none here, as it does for the other optional texts.
        let purposes = r.map(\.purpose.rawValue)
        let consentTypes = r.map { $0.consentType?.rawValue ?? "" }
        let consentAts = r.map { $0.consentAt.map { iso.string(from: $0) } ?? "" }
        let consentSources = r.map { $0.consentSource ?? "" }
        let bodies = requests.map(\.canonicalBody)
        // Ids are drawn before the insert so each input row can be matched to its inserted row (RETURNING has no order).
        let rows = try await connection.query("""
            WITH input AS MATERIALIZED (
                SELECT i.*, nextval(pg_get_serial_sequence('call_jobs', 'id')) AS new_id,
                       sha256(convert_to(i.body, 'UTF8')) AS hash
                FROM unnest(\(tenants)::text[], \(callers)::bigint[], \(destinations)::text[], \(campaigns)::text[], \(objectives)::text[],
                            \(schemas)::text[], \(priorities)::int[], \(runAts)::text[], \(maxAttempts)::int[], \(expiries)::text[],
                            \(keys)::text[], \(bodies)::text[], \(purposes)::text[], \(consentTypes)::text[], \(consentAts)::text[],
                            \(consentSources)::text[])
                     WITH ORDINALITY AS i(tenant_id, caller_id, destination, campaign_id, objective, outcome_schema, priority, run_at,
                                          max_attempts, expires_at, idem_key, body, purpose, consent_type, consent_at, consent_source, ord)
            ), ins AS (
                INSERT INTO call_jobs (id, tenant_id, caller_number_id, destination, campaign_id, objective, outcome_schema, priority,
                                       run_at, max_attempts, expires_at, idempotency_key, request_hash, state, paused_from,
                                       purpose, consent_type, consent_at, consent_source)
                OVERRIDING SYSTEM VALUE
                SELECT new_id, tenant_id, caller_id, destination, NULLIF(campaign_id, ''), objective, outcome_schema::jsonb, priority,
                       coalesce(NULLIF(run_at, '')::timestamptz, now()), max_attempts, NULLIF(expires_at, '')::timestamptz,
                       NULLIF(idem_key, ''), hash,
                       CASE WHEN paused THEN 'paused' ELSE 'queued' END, CASE WHEN paused THEN 'queued' END,
                       purpose, NULLIF(consent_type, ''), NULLIF(consent_at, '')::timestamptz, NULLIF(consent_source, '')
                FROM input
                -- A job enqueued into a paused tenant or campaign waits parked until it is resumed.
                CROSS JOIN LATERAL (SELECT \(unescaped: Self.scopePaused("input")) AS paused) pz
                ORDER BY ord
                ON CONFLICT (tenant_id, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
                RETURNING id
            )
            SELECT i.ord, i.idem_key, ins.id, e.id, e.request_hash = i.hash
            FROM input i
            LEFT JOIN ins ON ins.id = i.new_id
            LEFT JOIN call_jobs e ON ins.id IS NULL AND e.tenant_id = i.tenant_id AND e.idempotency_key = NULLIF(i.idem_key, '')
            ORDER BY i.ord
            """, logger: logger)
        var results: [EnqueueResult] = []
        for try await (ord, key, insertedID, existingID, sameBody) in rows.decode((Int, String, Int64?, Int64?, Bool?).self) {
            if let insertedID {
                results.append(EnqueueResult(jobID: insertedID, created: true))
            } else if let existingID, sameBody == true {
                results.append(EnqueueResult(jobID: existingID, created: false))
            } else if existingID != nil {
                throw conflict(key: key, row: offset + ord - 1)
            } else {
                // The conflicting row was committed by a concurrent enqueue after this statement's snapshot.
                throw RaceWithConcurrentEnqueue(key: key)
            }
        }
        return results
    }
}
