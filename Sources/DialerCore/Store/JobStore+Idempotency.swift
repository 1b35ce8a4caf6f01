import Crypto
import Foundation
import Logging
import PostgresNIO

/// What a `/v1` POST with an `Idempotency-Key` should do (``JobStore/beginIdempotent(tenant:key:request:keyID:)``).
public enum IdempotentStart: Sendable, Hashable {
    /// The key is new (or its row expired, or was abandoned by a process that died): do the work, then
    /// ``JobStore/finishIdempotent(tenant:key:status:body:)`` or ``JobStore/abandonIdempotent(tenant:key:)``.
    case proceed
    /// The same request was answered before: send this answer again, without doing the work.
    case replay(status: Int, body: String)
    /// The key was used with another request (method, path or body): 409 `idempotency_conflict`.
    case conflict
    /// A request with this key is being worked on now: 409 `idempotency_conflict`, retry later.
    case inProgress
}

extension JobStore {
    /// How long a stored answer is kept, and how long a request may run before a retry takes its key over.
    public static let idempotencyRetention: Duration = .seconds(86_400)
    static let idempotencyAbandonedAfter = 120

    /// The SHA-256 an idempotent request is compared by: its method, path and body.
    public static func requestHash(method: String, path: String, body: some Sequence<UInt8>) -> [UInt8] {
        var hash = SHA256()
        hash.update(data: Array("\(method) \(path)\n".utf8))
        hash.update(data: Array(body))
        return Array(hash.finalize())
    }

    /// The key the job of one call of a bulk request carries: the request's `Idempotency-Key` (hashed, so a key of any
    /// length fits) and the call's index in it. A retry of the request finds the jobs the first one made.
    public static func rowIdempotencyKey(_ header: String, index: Int) -> String {
        let digest = SHA256.hash(data: Array(header.utf8)).prefix(16).map { String(format: "%02x", $0) }.joined()
        return "bulk:\(digest):\(index)"
    }

    /// Claims `key` for this request, or says why not: one statement.
    public func beginIdempotent(tenant: String, key: String, request hash: [UInt8], keyID: String) async throws -> IdempotentStart {
        let digest = ByteBuffer(bytes: hash)
        let retention = Int(Self.idempotencyRetention.components.seconds)
        let rows = try await client.query("""
            WITH claimed AS (
                INSERT INTO api_idempotency (tenant_id, idempotency_key, request_sha256, key_id) VALUES (\(tenant), \(key), \(digest), \(keyID))
                ON CONFLICT (tenant_id, idempotency_key) DO UPDATE
                    SET request_sha256 = EXCLUDED.request_sha256, key_id = EXCLUDED.key_id, status = NULL, response = NULL,
                        started_at = now(), created_at = now()
                    WHERE api_idempotency.created_at < now() - make_interval(secs => \(retention))
                       OR (api_idempotency.status IS NULL AND api_idempotency.request_sha256 = EXCLUDED.request_sha256
                           AND api_idempotency.started_at < now() - make_interval(secs => \(Self.idempotencyAbandonedAfter)))
                RETURNING 1
            )
            SELECT EXISTS (SELECT 1 FROM claimed), e.request_sha256 = \(digest), e.status, e.response
            FROM (SELECT 1) one
            LEFT JOIN api_idempotency e ON e.tenant_id = \(tenant) AND e.idempotency_key = \(key)
            """, logger: logger)
        for try await (claimed, same, status, response) in rows.decode((Bool, Bool?, Int?, String?).self) {
            if claimed { return .proceed }
            // Not claimed and not in this statement's snapshot: a concurrent request inserted it a moment ago.
            guard let same else { return .inProgress }
            guard same else { return .conflict }
            guard let status, let response else { return .inProgress }
            return .replay(status: status, body: response)
        }
        return .inProgress
    }

    /// Stores the answer to a request that claimed its key (any status below 500).
    public func finishIdempotent(tenant: String, key: String, status: Int, body: String) async throws {
        try await client.query("""
            UPDATE api_idempotency SET status = \(status), response = \(body)
            WHERE tenant_id = \(tenant) AND idempotency_key = \(key) AND status IS NULL
            """, logger: logger)
    }

    /// Frees the key of a request that failed with a 5xx: a retry with it does the work again.
    public func abandonIdempotent(tenant: String, key: String) async throws {
        try await client.query("DELETE FROM api_idempotency WHERE tenant_id = \(tenant) AND idempotency_key = \(key) AND status IS NULL",
                               logger: logger)
    }

    /// Deletes stored answers older than ``idempotencyRetention``, a batch at a time. - Returns: how many went.
    @discardableResult
    public func pruneIdempotency(batchSize: Int = 5_000) async throws -> Int {
        let retention = Int(Self.idempotencyRetention.components.seconds)
        var total = 0
        while true {
            let rows = try await client.query("""
                DELETE FROM api_idempotency WHERE ctid = ANY (ARRAY(
                    SELECT ctid FROM api_idempotency WHERE created_at < now() - make_interval(secs => \(retention)) LIMIT \(batchSize)))
                RETURNING 1
                """, logger: logger)
            let count = try await rows.collect().count
            total += count
            if count < batchSize { return total }
        }
    }
}
