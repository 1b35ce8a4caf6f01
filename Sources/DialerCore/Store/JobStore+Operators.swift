import Crypto
import Foundation
import Logging
import PostgresNIO

/// An operator as `dialer operators list` shows them (never the password hash).
public struct OperatorRecord: Sendable, Hashable {
    public let account: ConsoleOperator
    public let createdAt: Date
    public let createdBy: String
    public let lastSignInAt: Date?
    public let disabledAt: Date?
    public let lockedUntil: Date?
}

/// What the console's sign-in needs of an account: who it is, its stored hash, and whether it may sign in now.
public struct OperatorCredentials: Sendable {
    public let account: ConsoleOperator
    public let passwordHash: String
    /// Set while too many wrong passwords in a row lock the account.
    public let lockedUntil: Date?
    public let disabled: Bool
}

extension JobStore {
    /// Wrong passwords in a row that lock an account, and for how long.
    public static let signInFailuresBeforeLock = 5
    public static let signInLock: Duration = .seconds(15 * 60)

    /// Creates an operator account. Throws `invalid_request` when the id is taken, `not_found` for an unknown tenant.
    public func addOperator(_ account: ConsoleOperator, passwordHash: String, by actor: String) async throws {
        try ConsoleOperator.validate(id: account.id)
        if let tenant = account.tenantID { try await requireTenant(tenant) }
        let rows = try await client.query("""
            INSERT INTO operators (id, tenant_id, role, password_hash, created_by)
            VALUES (\(account.id), \(account.tenantID), \(account.role.rawValue), \(passwordHash), \(actor))
            ON CONFLICT (id) DO NOTHING RETURNING 1
            """, logger: logger)
        guard try await !rows.collect().isEmpty else {
            throw OpenPhnError(.invalidRequest, "An operator named '\(account.id)' exists already.", details: ["id": .string(account.id)], status: 409)
        }
        try await audit("operator_add", by: actor, tenant: account.tenantID, scope: ["operator": .string(account.id), "role": .string(account.role.rawValue)],
                        affected: 1)
    }

    /// Every operator (of one tenant, `tenant` set), by id.
    public func operators(tenant: String? = nil) async throws -> [OperatorRecord] {
        let rows = try await client.query("""
            SELECT id, tenant_id, role, created_at, created_by, last_signin_at, disabled_at, locked_until FROM operators
            WHERE \(tenant)::text IS NULL OR tenant_id = \(tenant) ORDER BY id
            """, logger: logger)
        var records: [OperatorRecord] = []
        for try await (id, tenantID, role, createdAt, createdBy, lastSignIn, disabledAt, lockedUntil) in rows.decode(
            (String, String?, String, Date, String, Date?, Date?, Date?).self)
        {
            let account = ConsoleOperator(id: id, tenantID: tenantID, role: OperatorRole(rawValue: role) ?? .viewer)
            records.append(OperatorRecord(account: account, createdAt: createdAt, createdBy: createdBy, lastSignInAt: lastSignIn,
                                          disabledAt: disabledAt, lockedUntil: lockedUntil))
        }
        return records
    }

    /// Disables an account and ends its sessions at once, or (`disabled: false`) enables it again. Throws `not_found`.
    public func setOperator(_ id: String, disabled: Bool, by actor: String) async throws {
        let rows = try await client.query("""
            WITH changed AS (
                UPDATE operators SET disabled_at = CASE WHEN \(disabled) THEN coalesce(disabled_at, now()) END, failed_signins = 0, locked_until = NULL
                WHERE id = \(id) RETURNING id, tenant_id
            ), ended AS (
                DELETE FROM console_sessions s USING changed WHERE \(disabled) AND s.operator_id = changed.id RETURNING 1
            )
            SELECT tenant_id, (SELECT count(*) FROM ended)::int FROM changed
            """, logger: logger)
        var found = false
        for try await (tenant, ended) in rows.decode((String?, Int).self) {
            found = true
            try await audit(disabled ? "operator_disable" : "operator_enable", by: actor, tenant: tenant, scope: ["operator": .string(id)],
                            affected: ended)
        }
        guard found else { throw Self.unknownOperator(id) }
    }

    /// Replaces an operator's password and ends their sessions. Throws `not_found`.
    public func setPassword(operator id: String, passwordHash: String, by actor: String) async throws {
        let rows = try await client.query("""
            WITH changed AS (
                UPDATE operators SET password_hash = \(passwordHash), failed_signins = 0, locked_until = NULL WHERE id = \(id) RETURNING id, tenant_id
            ), ended AS (
                DELETE FROM console_sessions s USING changed WHERE s.operator_id = changed.id RETURNING 1
            )
            SELECT tenant_id, (SELECT count(*) FROM ended)::int FROM changed
            """, logger: logger)
        var found = false
        for try await (tenant, ended) in rows.decode((String?, Int).self) {
            found = true
            try await audit("operator_password", by: actor, tenant: tenant, scope: ["operator": .string(id)], affected: ended)
        }
        guard found else { throw Self.unknownOperator(id) }
    }

    /// The account a sign-in names, or `nil`.
    public func credentials(operator id: String) async throws -> OperatorCredentials? {
        let rows = try await client.query("""
            SELECT id, tenant_id, role, password_hash, CASE WHEN locked_until > now() THEN locked_until END, disabled_at IS NOT NULL
            FROM operators WHERE id = \(id)
            """, logger: logger)
        for try await (id, tenant, role, hash, locked, disabled) in rows.decode((String, String?, String, String, Date?, Bool).self) {
            return OperatorCredentials(account: ConsoleOperator(id: id, tenantID: tenant, role: OperatorRole(rawValue: role) ?? .viewer),
                                       passwordHash: hash, lockedUntil: locked, disabled: disabled)
        }
        return nil
    }

    /// Counts a wrong password; the ``signInFailuresBeforeLock``-th in a row locks the account for ``signInLock``.
    /// - Returns: until when the account is locked, if this failure locked it.
    @discardableResult
    public func recordFailedSignIn(operator id: String) async throws -> Date? {
        let rows = try await client.query("""
            UPDATE operators SET
                failed_signins = CASE WHEN failed_signins + 1 >= \(Self.signInFailuresBeforeLock) THEN 0 ELSE failed_signins + 1 END,
                locked_until = CASE WHEN failed_signins + 1 >= \(Self.signInFailuresBeforeLock)
                                    THEN now() + make_interval(secs => \(Self.signInLock.seconds)) ELSE locked_until END
            WHERE id = \(id)
            RETURNING CASE WHEN failed_signins = 0 THEN locked_until END
            """, logger: logger)
        for try await locked in rows.decode(Date?.self) { return locked }
        return nil
    }

    static func unknownOperator(_ id: String) -> OpenPhnError {
        OpenPhnError(.notFound, "No operator is named '\(id)'.", details: ["id": .string(id)])
    }
}
