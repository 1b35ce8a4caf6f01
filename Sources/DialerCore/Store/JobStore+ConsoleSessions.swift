import Crypto
import Foundation
import Logging
import PostgresNIO

/// A signed-in console session: who, and the CSRF token its forms must carry.
public struct ConsoleSession: Sendable, Hashable {
    public let account: ConsoleOperator
    public let csrfToken: String
    public let expiresAt: Date
}

/// A session just begun: the cookie's value (given to the browser once; only its SHA-256 is stored) and the session.
public struct IssuedConsoleSession: Sendable {
    public let cookie: String
    public let session: ConsoleSession
}

extension JobStore {
    /// A session lasts this long after sign-in, whatever is done with it.
    public static let consoleSessionLifetime: Duration = .seconds(12 * 3600)
    /// And ends after this long without a request.
    public static let consoleSessionIdle: Duration = .seconds(30 * 60)

    /// Begins a session for an operator whose password was just verified: resets their failure count, records the
    /// sign-in, audits it, and (when `rehash` is set) stores their password's new hash.
    public func beginConsoleSession(_ account: ConsoleOperator, userAgent: String?, rehash: String? = nil) async throws -> IssuedConsoleSession {
        let cookie = ConsoleToken.random()
        let csrf = ConsoleToken.random()
        let rows = try await client.query("""
            WITH signed_in AS (
                UPDATE operators SET failed_signins = 0, locked_until = NULL, last_signin_at = now(),
                                     password_hash = coalesce(\(rehash), password_hash)
                WHERE id = \(account.id) AND disabled_at IS NULL RETURNING id
            )
            INSERT INTO console_sessions (token_sha256, operator_id, csrf_token, expires_at, idle_expires_at, user_agent)
            SELECT \(ByteBuffer(bytes: ConsoleToken.digest(cookie))), id, \(csrf), now() + make_interval(secs => \(Self.consoleSessionLifetime.seconds)),
                   now() + make_interval(secs => \(Self.consoleSessionIdle.seconds)), \(userAgent.map { String($0.prefix(200)) })
            FROM signed_in
            RETURNING expires_at
            """, logger: logger)
        var expires: Date?
        for try await at in rows.decode(Date.self) { expires = at }
        guard let expires else { throw Self.unknownOperator(account.id) }
        try await audit("signin", by: account.actor, tenant: account.tenantID, scope: ["operator": .string(account.id)], affected: 0)
        return IssuedConsoleSession(cookie: cookie, session: ConsoleSession(account: account, csrfToken: csrf, expiresAt: expires))
    }

    /// The live session a cookie names, its idle deadline pushed back; `nil` for an unknown, expired or signed-out
    /// cookie, or an account disabled since. One indexed statement per console request.
    public func consoleSession(cookie: String) async throws -> ConsoleSession? {
        guard let digest = ConsoleToken.digest(presented: cookie) else { return nil }
        let rows = try await client.query("""
            UPDATE console_sessions s SET idle_expires_at = least(s.expires_at, now() + make_interval(secs => \(Self.consoleSessionIdle.seconds)))
            FROM operators o
            WHERE s.token_sha256 = \(ByteBuffer(bytes: digest)) AND o.id = s.operator_id AND o.disabled_at IS NULL AND now() < least(s.expires_at, s.idle_expires_at)
            RETURNING o.id, o.tenant_id, o.role, s.csrf_token, s.expires_at
            """, logger: logger)
        for try await (id, tenant, role, csrf, expires) in rows.decode((String, String?, String, String, Date).self) {
            return ConsoleSession(account: ConsoleOperator(id: id, tenantID: tenant, role: OperatorRole(rawValue: role) ?? .viewer),
                                  csrfToken: csrf, expiresAt: expires)
        }
        return nil
    }

    /// Ends the session a cookie names (logout) and audits it. - Returns: whether there was one.
    @discardableResult
    public func endConsoleSession(cookie: String) async throws -> Bool {
        guard let digest = ConsoleToken.digest(presented: cookie) else { return false }
        let rows = try await client.query("""
            DELETE FROM console_sessions s USING operators o WHERE s.token_sha256 = \(ByteBuffer(bytes: digest)) AND o.id = s.operator_id RETURNING o.id, o.tenant_id
            """, logger: logger)
        var ended = false
        for try await (id, tenant) in rows.decode((String, String?).self) {
            ended = true
            try await audit("signout", by: "console:\(id)", tenant: tenant, scope: ["operator": .string(id)], affected: 0)
        }
        return ended
    }

    /// Deletes sessions past their deadlines (housekeeping). - Returns: how many.
    @discardableResult
    public func pruneConsoleSessions() async throws -> Int {
        try await client.query("DELETE FROM console_sessions WHERE now() >= least(expires_at, idle_expires_at) RETURNING 1", logger: logger).collect().count
    }
}

/// Session cookies and CSRF tokens: 256 random bits, base64url (43 characters).
public enum ConsoleToken {
    public static func random() -> String {
        var generator = SystemRandomNumberGenerator()
        return APIKeySecret.base64url((0..<32).map { _ in UInt8.random(in: 0...255, using: &generator) })
    }

    static func digest(_ token: String) -> [UInt8] { Array(SHA256.hash(data: Array(token.utf8))) }

    /// The digest of a presented token, or `nil` when it cannot be one of ours (no database read for anything else).
    static func digest(presented token: String) -> [UInt8]? {
        token.utf8.count == 43 && token.utf8.allSatisfy(APIKeySecret.isBase64URL) ? digest(token) : nil
    }

    /// Whether a presented token equals the expected one, in constant time.
    public static func matches(_ presented: String, _ expected: String) -> Bool {
        PasswordHash.constantTimeEqual(Array(presented.utf8), Array(expected.utf8))
    }
}
