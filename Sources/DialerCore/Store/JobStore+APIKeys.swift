import Crypto
import Foundation
import Logging
import PostgresNIO

/// What a tenant's API key may do.
public enum APIScope: String, Sendable, CaseIterable, Codable {
    case callsWrite = "calls:write", callsRead = "calls:read", campaignsWrite = "campaigns:write", dncWrite = "dnc:write"

    /// `calls:write,calls:read` into scopes, or `invalid_request` naming the unknown one.
    public static func parse(list text: String, field: String = "scopes") throws(OpenPhnError) -> [APIScope] {
        var scopes: [APIScope] = []
        for part in text.split(separator: ",").map({ $0.trimmingCharacters(in: .whitespaces) }) where !part.isEmpty {
            guard let scope = APIScope(rawValue: part) else {
                throw OpenPhnError(.invalidRequest, "Unknown scope '\(part.prefix(40))': use \(allCases.map(\.rawValue).joined(separator: ", ")).",
                                   details: ["field": .string(field)])
            }
            if !scopes.contains(scope) { scopes.append(scope) }
        }
        guard !scopes.isEmpty else {
            throw OpenPhnError(.invalidRequest, "A key needs at least one scope.", details: ["field": .string(field)])
        }
        return scopes
    }
}

/// A tenant's API key as stored: everything but the key itself, which is never stored.
public struct APIKey: Sendable, Hashable {
    public let id: String
    public let tenantID: String
    /// The visible start of the key (`opk_1a2b3c4d`), to tell keys apart.
    public let prefix: String
    public let scopes: [APIScope]
    /// Caller numbers the key may place calls from; `nil`: any of the tenant's.
    public let numbers: [String]?
    public let expiresAt: Date?
    public let revokedAt: Date?
    /// Set when the key was rotated: it works until then.
    public let graceEndsAt: Date?
    public let rotatedTo: String?
    public let ratePerSecond: Double
    public let burst: Int
    public let createdAt: Date
    public let lastUsedAt: Date?

    /// `active`, `revoked`, `expired` (past its expiry or its rotation grace), or `rotating` (in its grace period).
    public func status(at now: Date = Date()) -> String {
        if revokedAt != nil { return "revoked" }
        if let expiresAt, expiresAt <= now { return "expired" }
        if let graceEndsAt { return graceEndsAt <= now ? "expired" : "rotating" }
        return "active"
    }

    public func json(at now: Date = Date()) -> JSONValue {
        func instant(_ date: Date?) -> JSONValue { date.map { .string(DialGate.iso($0)) } ?? .null }
        return .object([
            "id": .string(id), "tenant_id": .string(tenantID), "prefix": .string(prefix), "scopes": .array(scopes.map { .string($0.rawValue) }),
            "numbers": numbers.map { .array($0.map(JSONValue.string)) } ?? .null, "expires_at": instant(expiresAt),
            "revoked_at": instant(revokedAt), "grace_ends_at": instant(graceEndsAt), "rotated_to": rotatedTo.map(JSONValue.string) ?? .null,
            "rate_per_second": .number(ratePerSecond), "burst": .number(Double(burst)), "created_at": instant(createdAt),
            "last_used_at": instant(lastUsedAt), "status": .string(status(at: now)),
        ])
    }
}

/// A new key: its record, and the key itself, which exists only here (print it once).
public struct IssuedAPIKey: Sendable {
    public let key: APIKey
    public let secret: String
}

/// What a new key may do and for how long (``JobStore/createKey(_:by:)``).
public struct APIKeyRequest: Sendable, Hashable {
    public var tenantID: String
    public var scopes: [APIScope]
    /// E.164 caller numbers of the tenant; `nil`: any of them.
    public var numbers: [PhoneNumber]?
    public var expiresAt: Date?
    public var ratePerSecond: Double
    public var burst: Int

    public init(tenantID: String, scopes: [APIScope], numbers: [PhoneNumber]? = nil, expiresAt: Date? = nil, ratePerSecond: Double = 20,
                burst: Int = 40)
    {
        self.tenantID = tenantID
        self.scopes = scopes
        self.numbers = numbers
        self.expiresAt = expiresAt
        self.ratePerSecond = ratePerSecond
        self.burst = burst
    }

    /// Refuses values the table would refuse, with the field named.
    public func validated(now: Date = Date()) throws(OpenPhnError) -> APIKeyRequest {
        guard !scopes.isEmpty else { throw OpenPhnError(.invalidRequest, "A key needs at least one scope.", details: ["field": "scopes"]) }
        guard ratePerSecond > 0, ratePerSecond <= 10_000, ratePerSecond.isFinite else {
            throw OpenPhnError(.invalidRequest, "rate_per_second must be more than 0 and at most 10000.", details: ["field": "rate_per_second"])
        }
        guard (1...100_000).contains(burst) else {
            throw OpenPhnError(.invalidRequest, "burst must be from 1 to 100000.", details: ["field": "burst"])
        }
        if let expiresAt, expiresAt <= now {
            throw OpenPhnError(.invalidRequest, "expires_at must be in the future.", details: ["field": "expires_at"])
        }
        return self
    }
}

/// The key a `/v1` request presented, as the database judged it in one statement (``JobStore/authenticate(secret:scopes:)``).
public enum KeyCheck: Sendable, Hashable {
    /// No key has this secret.
    case unknown
    case revoked
    /// Past its expiry, or past the grace period of its rotation.
    case expired
    case valid(AuthenticatedKey)
}

/// A usable key, with the tenant it speaks for and this request's place in its rate budget.
public struct AuthenticatedKey: Sendable, Hashable {
    public let id: String
    public let tenantID: String
    public let scopes: [APIScope]
    public let numbers: [String]?
    public let verificationStatus: String
    /// The request's scope is among the key's (a request without it is not charged to the budget).
    public let hasScope: Bool
    /// The budget allowed this request (and charged it).
    public let allowed: Bool
    public let limit: Int
    /// Requests left in the burst after this one.
    public let remaining: Int
    /// Seconds until the budget is full again.
    public let resetSeconds: Double
    /// When refused: seconds until one request would be allowed.
    public let retryAfterSeconds: Double
}

extension JobStore {
    /// Makes a key for a tenant: 256 random bits, printed once; only its SHA-256 is stored.
    /// - Throws: `not_found` for an unknown tenant; `invalid_request` for a number that is not the tenant's.
    public func createKey(_ request: APIKeyRequest, by actor: String) async throws -> IssuedAPIKey {
        let request = try request.validated()
        return try await transaction { connection, logger in
            try await Self.insertKey(request, by: actor, connection: connection, logger: logger)
        }
    }

    static func insertKey(_ request: APIKeyRequest, by actor: String, connection: PostgresConnection, logger: Logger) async throws -> IssuedAPIKey {
        let tenant = request.tenantID
        guard try await Self.tenantExists(try await connection.query(Self.tenantExistsStatement(tenant), logger: logger)) else {
            throw Self.unknownTenant(tenant)
        }
        let numbers = request.numbers?.map(\.e164)
        if let numbers {
            let rows = try await connection.query("""
                SELECT n FROM unnest(\(numbers)::text[]) n WHERE NOT EXISTS (SELECT 1 FROM phone_numbers p WHERE p.tenant_id = \(tenant) AND p.e164 = n)
                """, logger: logger)
            for try await missing in rows.decode(String.self) {
                throw OpenPhnError(.invalidRequest, "\(PhoneNumber.mask(missing)) is not one of tenant '\(tenant)''s numbers: add it with dialer tenant --number.",
                                   details: ["field": "numbers"])
            }
        }
        let secret = APIKeySecret.generate()
        let rows = try await connection.query("""
            INSERT INTO api_keys (id, tenant_id, prefix, secret_sha256, scopes, numbers, expires_at, rate_per_second, burst, created_by)
            VALUES (\(secret.id), \(tenant), \(secret.prefix), \(ByteBuffer(bytes: secret.digest)), \(request.scopes.map(\.rawValue))::text[], \(numbers)::text[],
                    \(request.expiresAt), \(request.ratePerSecond), \(request.burst), \(actor))
            RETURNING \(unescaped: Self.keyColumns)
            """, logger: logger)
        for try await row in rows { return IssuedAPIKey(key: try Self.key(row), secret: secret.text) }
        throw OpenPhnError(.upstreamUnavailable, "The key was not stored.")
    }

    /// The tenant's keys, newest first, revoked and expired ones included.
    public func keys(tenant: String) async throws -> [APIKey] {
        let rows = try await client.query("SELECT \(unescaped: Self.keyColumns) FROM api_keys WHERE tenant_id = \(tenant) ORDER BY created_at DESC, id",
                                          logger: logger)
        var keys: [APIKey] = []
        for try await row in rows { keys.append(try Self.key(row)) }
        return keys
    }

    /// Revokes a key at once (its rotation's successor is left alone).
    /// - Throws: `not_found` for an unknown key id.
    public func revokeKey(_ id: String, by actor: String) async throws -> APIKey {
        let rows = try await client.query("""
            UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()), revoked_by = coalesce(revoked_by, \(actor))
            WHERE id = \(id) RETURNING \(unescaped: Self.keyColumns)
            """, logger: logger)
        for try await row in rows { return try Self.key(row) }
        throw Self.unknownKey(id)
    }

    /// Rotates a key: a new one with the same tenant, scopes, numbers, expiry and budget; the old one works until
    /// `grace` has passed (a second rotation never lengthens an earlier grace).
    /// - Throws: `not_found` for an unknown key; `invalid_request` for a key that is revoked or expired already.
    public func rotateKey(_ id: String, grace: Duration, by actor: String) async throws -> (old: APIKey, new: IssuedAPIKey) {
        try await transaction { connection, logger in
            var old: APIKey?
            for try await row in try await connection.query("SELECT \(unescaped: Self.keyColumns) FROM api_keys WHERE id = \(id) FOR UPDATE",
                                                              logger: logger) {
                old = try Self.key(row)
            }
            guard let old else {
                throw Self.unknownKey(id)
            }
            let status = old.status()
            guard status == "active" || status == "rotating" else {
                throw OpenPhnError(.invalidRequest, "Key \(old.id) is \(status): it cannot be rotated. Create a new key instead.",
                                   details: ["key_id": .string(old.id), "status": .string(status)])
            }
            let request = APIKeyRequest(tenantID: old.tenantID, scopes: old.scopes, numbers: try old.numbers?.map { try PhoneNumber(validating: $0) },
                                        expiresAt: old.expiresAt, ratePerSecond: old.ratePerSecond, burst: old.burst)
            let issued = try await Self.insertKey(request, by: actor, connection: connection, logger: logger)
            var updated = old
            for try await row in try await connection.query("""
                UPDATE api_keys SET rotated_to = \(issued.key.id),
                       grace_ends_at = least(coalesce(grace_ends_at, 'infinity'), now() + make_interval(secs => \(grace.seconds)))
                WHERE id = \(old.id) RETURNING \(unescaped: Self.keyColumns)
                """, logger: logger) {
                updated = try Self.key(row)
            }
            return (updated, issued)
        }
    }

    /// Judges a presented key for a request needing one of `scopes`, and charges the request to the key's rate budget (GCRA,
    /// shared by every `dialer serve` through this row) when the key is usable and has the scope: one statement.
    public func authenticate(secret: String, scopes: [APIScope]) async throws -> KeyCheck {
        guard let digest = APIKeySecret.digest(ofPresented: secret) else { return .unknown }
        let rows = try await client.query("""
            WITH k AS (
                SELECT k.id, k.revoked_at IS NOT NULL AS revoked,
                       (k.expires_at IS NOT NULL AND k.expires_at <= now()) OR (k.grace_ends_at IS NOT NULL AND k.grace_ends_at <= now()) AS expired,
                       k.scopes && \(scopes.map(\.rawValue))::text[] AS has_scope,
                       greatest(coalesce(k.rate_tat, now()), now()) + make_interval(secs => 1.0 / k.rate_per_second) AS next_tat,
                       k.burst / k.rate_per_second AS window_seconds
                FROM api_keys k WHERE k.secret_sha256 = \(ByteBuffer(bytes: digest))
                FOR UPDATE
            ), d AS (
                SELECT k.*, NOT k.revoked AND NOT k.expired AND k.has_scope AS chargeable,
                       extract(epoch FROM k.next_tat - now()) <= k.window_seconds + 1e-6 AS fits
                FROM k
            ), charged AS (
                -- Runs whatever the query below reads (a data-modifying CTE always does).
                UPDATE api_keys a SET rate_tat = CASE WHEN d.fits THEN d.next_tat ELSE a.rate_tat END, last_used_at = now()
                FROM d WHERE a.id = d.id AND d.chargeable
            )
            SELECT d.id, a.tenant_id, a.scopes, a.numbers, t.verification_status, d.revoked, d.expired, d.has_scope, d.fits,
                   a.burst, a.rate_per_second, extract(epoch FROM d.next_tat - now())::float8, d.window_seconds::float8
            FROM d JOIN api_keys a ON a.id = d.id JOIN tenants t ON t.id = a.tenant_id
            """, logger: logger)
        for try await row in rows {
            let r = row.makeRandomAccess()
            if try r[5].decode(Bool.self) { return .revoked }
            if try r[6].decode(Bool.self) { return .expired }
            let hasScope = try r[7].decode(Bool.self), fits = try r[8].decode(Bool.self)
            let burst = try r[9].decode(Int.self), rate = try r[10].decode(Double.self)
            let ahead = try r[11].decode(Double.self), window = try r[12].decode(Double.self)
            // After this request (charged or not), the budget's theoretical arrival time is `ahead` seconds away when it
            // fits; a refused request leaves it where it was (one interval less).
            let used = fits ? ahead : ahead - 1 / rate
            let remaining = max(0, Int(((window - used) * rate).rounded(.down)))
            return .valid(AuthenticatedKey(
                id: try r[0].decode(String.self), tenantID: try r[1].decode(String.self),
                scopes: try r[2].decode([String].self).compactMap(APIScope.init(rawValue:)), numbers: try r[3].decode([String]?.self),
                verificationStatus: try r[4].decode(String.self), hasScope: hasScope, allowed: fits || !hasScope, limit: burst,
                remaining: remaining, resetSeconds: max(0, used), retryAfterSeconds: fits ? 0 : max(0, ahead - window)))
        }
        return .unknown
    }

    static func unknownKey(_ id: String) -> OpenPhnError {
        OpenPhnError(.notFound, "No API key has the id '\(id.prefix(40))'.", details: ["key_id": .string(String(id.prefix(40)))])
    }

    static let keyColumns = """
        id, tenant_id, prefix, scopes, numbers, expires_at, revoked_at, grace_ends_at, rotated_to, rate_per_second, burst, created_at, last_used_at
        """

    static func key(_ row: PostgresRow) throws -> APIKey {
        let r = row.makeRandomAccess()
        return APIKey(
            id: try r[0].decode(String.self), tenantID: try r[1].decode(String.self), prefix: try r[2].decode(String.self),
            scopes: try r[3].decode([String].self).compactMap(APIScope.init(rawValue:)), numbers: try r[4].decode([String]?.self),
            expiresAt: try r[5].decode(Date?.self), revokedAt: try r[6].decode(Date?.self), graceEndsAt: try r[7].decode(Date?.self),
            rotatedTo: try r[8].decode(String?.self), ratePerSecond: try r[9].decode(Double.self), burst: try r[10].decode(Int.self),
            createdAt: try r[11].decode(Date.self), lastUsedAt: try r[12].decode(Date?.self))
    }
}

/// The text of an API key: `opk_` + 8 characters of its id + `_` + 43 characters of base64url (256 random bits).
public enum APIKeySecret {
    static let scheme = "opk_"

    struct Generated {
        let id: String
        let prefix: String
        let text: String
        let digest: [UInt8]
    }

    static func generate() -> Generated {
        var generator = SystemRandomNumberGenerator()
        let idBytes = (0..<8).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let secretBytes = (0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) }
        let hexID = idBytes.map { $0 < 16 ? "0" + String($0, radix: 16) : String($0, radix: 16) }.joined()
        let prefix = scheme + hexID.prefix(8)
        let text = prefix + "_" + base64url(secretBytes)
        return Generated(id: "key_" + hexID, prefix: prefix, text: text, digest: Array(SHA256.hash(data: Array(text.utf8))))
    }

    /// Whether `text` has the shape of one of our keys (no database read for anything else).
    public static func looksLikeKey(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == scheme.utf8.count + 8 + 1 + 43, text.hasPrefix(scheme), bytes[scheme.utf8.count + 8] == UInt8(ascii: "_") else { return false }
        return bytes.dropFirst(scheme.utf8.count).allSatisfy { isBase64URL($0) || $0 == UInt8(ascii: "_") }
    }

    /// The SHA-256 the table keeps for a presented key, or `nil` when it cannot be one of ours.
    static func digest(ofPresented text: String) -> [UInt8]? {
        looksLikeKey(text) ? Array(SHA256.hash(data: Array(text.utf8))) : nil
    }

    /// A session JWT (three base64url parts, the first a JSON header): what the dashboard uses, never the API.
    public static func looksLikeJWT(_ text: String) -> Bool {
        let parts = text.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3, parts.allSatisfy({ !$0.isEmpty && $0.utf8.allSatisfy(isBase64URL) }) else { return false }
        return parts[0].hasPrefix("eyJ")
    }

    static func isBase64URL(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
            UInt8(ascii: "-"), UInt8(ascii: "_"):
            true
        default: false
        }
    }

    static func base64url(_ bytes: [UInt8]) -> String {
        Data(bytes).base64EncodedString().replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }
}
