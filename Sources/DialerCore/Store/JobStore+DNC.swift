import Foundation
import Logging
import NIOCore
import PostgresNIO

/// What a do-not-call import changed.
public struct DNCImportResult: Sendable, Hashable {
    public var read = 0
    public var added = 0
    public var removed = 0
    /// Lines that are not a NANP number, with the first few line numbers for the report.
    public var rejected = 0
    public var rejectedLines: [Int] = []
}

/// Which do-not-call list an operation targets.
public enum DNCList: Sendable, Hashable {
    case global
    case tenant(String)
}

extension JobStore {
    /// Parses one line of a registry file: ten digits (`4155551234`), or `areacode,number`, or eleven digits with the
    /// leading 1, or E.164. Returns the number with its country code (14155551234), or `nil`.
    public static func dncNumber(_ line: Substring) -> Int64? {
        var digits: Int64 = 0
        var count = 0
        for byte in line.utf8 {
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"):
                digits = digits * 10 + Int64(byte - UInt8(ascii: "0"))
                count += 1
                if count > 11 { return nil }
            case UInt8(ascii: ","), UInt8(ascii: "-"), UInt8(ascii: " "), UInt8(ascii: "\t"), UInt8(ascii: "\r"), UInt8(ascii: "+"),
                UInt8(ascii: "("), UInt8(ascii: ")"):
                continue
            default: return nil
            }
        }
        if count == 10 { digits += 10_000_000_000 }
        guard count == 10 || (count == 11 && digits / 10_000_000_000 == 1) else { return nil }
        let npa = (digits / 10_000_000) % 1000, nxx = (digits / 10_000) % 1000
        guard npa >= 200, nxx >= 200 else { return nil }
        return digits
    }

    /// Loads numbers into a do-not-call list with COPY, idempotently, in one transaction.
    ///
    /// - Parameters:
    ///   - lines: the file's lines, streamed (a full national registry is hundreds of millions of lines).
    ///   - deletions: the file is a change list of deletions: its numbers are removed.
    ///   - fullList: the file is a full list for its area codes: numbers of those area codes missing from it are removed.
    public func importDNC<Lines: AsyncSequence & Sendable>(
        _ lines: Lines, into list: DNCList, source: String, deletions: Bool = false, fullList: Bool = false
    ) async throws -> DNCImportResult where Lines.Element == Substring {
        try await transaction { connection, logger in
            try await connection.query("CREATE TEMP TABLE dnc_load (number bigint) ON COMMIT DROP", logger: logger)
            var result = DNCImportResult()
            try await connection.copyFrom(table: "dnc_load", columns: ["number"], logger: logger) { writer in
                var buffer = ByteBuffer()
                buffer.reserveCapacity(1 << 20)
                for try await line in lines {
                    result.read += 1
                    if line.allSatisfy(\.isWhitespace) { continue }
                    guard let number = Self.dncNumber(line) else {
                        result.rejected += 1
                        if result.rejectedLines.count < 10 { result.rejectedLines.append(result.read) }
                        continue
                    }
                    buffer.writeString(String(number))
                    buffer.writeInteger(UInt8(ascii: "\n"))
                    if buffer.readableBytes >= 1 << 20 {
                        try await writer.write(buffer)
                        buffer.clear()
                    }
                }
                if buffer.readableBytes > 0 { try await writer.write(buffer) }
            }
            let table: String
            var tenantFilter = ""
            var tenantColumn = ""
            var tenantValue = ""
            switch list {
            case .global:
                table = "dnc_global"
            case .tenant(let id):
                guard try await connection.query("SELECT 1 FROM tenants WHERE id = \(id)", logger: logger).collect().count == 1 else {
                    throw OpenPhnError(.notFound, "Tenant '\(id)' does not exist.", details: ["tenant_id": .string(id)])
                }
                table = "dnc_tenant"
                tenantFilter = " AND t.tenant_id = \(Self.literal(id))"
                tenantColumn = "tenant_id, "
                tenantValue = Self.literal(id) + ", "
            }
            if deletions {
                result.removed = try await Self.count(connection, logger, """
                    WITH gone AS (DELETE FROM \(table) t USING (SELECT DISTINCT number FROM dnc_load) l
                                  WHERE t.number = l.number\(tenantFilter) RETURNING 1)
                    SELECT count(*)::bigint FROM gone
                    """)
                return result
            }
            result.added = try await Self.count(connection, logger, """
                WITH added AS (INSERT INTO \(table) (\(tenantColumn)number, source)
                               SELECT DISTINCT \(tenantValue)number, \(Self.literal(source)) FROM dnc_load
                               ON CONFLICT DO NOTHING RETURNING 1)
                SELECT count(*)::bigint FROM added
                """)
            if fullList {
                // A full list of some area codes replaces what the table held for those area codes.
                result.removed = try await Self.count(connection, logger, """
                    WITH gone AS (DELETE FROM \(table) t
                                  WHERE t.number / 10000000 IN (SELECT DISTINCT number / 10000000 FROM dnc_load)\(tenantFilter)
                                    AND NOT EXISTS (SELECT 1 FROM dnc_load l WHERE l.number = t.number) RETURNING 1)
                    SELECT count(*)::bigint FROM gone
                    """)
            }
            return result
        }
    }

    private static func literal(_ text: String) -> String { "'" + text.replacingOccurrences(of: "'", with: "''") + "'" }

    private static func count(_ connection: PostgresConnection, _ logger: Logger, _ sql: String) async throws -> Int {
        for try await n in try await connection.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(Int.self) { return n }
        return 0
    }

    /// Adds one number to a list; returns false when it was there already.
    @discardableResult
    public func addDNC(_ number: PhoneNumber, to list: DNCList, source: String = "manual") async throws -> Bool {
        try await client.query(Self.addDNCStatement(number, to: list, source: source), logger: logger).collect().count == 1
    }

    /// The insert of one number into a list, returning a row only when it was not there yet (an earlier source is kept).
    /// Shared by ``addDNC(_:to:source:)`` and the opt-out's transaction.
    static func addDNCStatement(_ number: PhoneNumber, to list: DNCList, source: String) -> PostgresQuery {
        switch list {
        case .global: "INSERT INTO dnc_global (number, source) VALUES (\(number.numeric), \(source)) ON CONFLICT DO NOTHING RETURNING 1"
        case .tenant(let id):
            "INSERT INTO dnc_tenant (tenant_id, number, source) VALUES (\(id), \(number.numeric), \(source)) ON CONFLICT DO NOTHING RETURNING 1"
        }
    }

    /// Removes one number from a list; returns false when it was not there.
    @discardableResult
    public func removeDNC(_ number: PhoneNumber, from list: DNCList) async throws -> Bool {
        try await client.query(Self.removeDNCStatement(number, from: list), logger: logger).collect().count == 1
    }

    /// The delete of one number from a list, returning a row only when it was there. Shared by
    /// ``removeDNC(_:from:)`` and ``changeTenantDNC(add:_:tenant:source:actor:)``.
    static func removeDNCStatement(_ number: PhoneNumber, from list: DNCList) -> PostgresQuery {
        switch list {
        case .global: "DELETE FROM dnc_global WHERE number = \(number.numeric) RETURNING 1"
        case .tenant(let id): "DELETE FROM dnc_tenant WHERE tenant_id = \(id) AND number = \(number.numeric) RETURNING 1"
        }
    }

    /// The facts the gate reads for a number outside any job: list membership, and the tenant's state when one is named.
    /// Without a tenant, the account checks pass so that only the number, the lists and the hours decide. Consent is a
    /// fact of a job, not of a number: it is taken as given (``checkedPurpose``, ``checkedConsent``).
    public func checkFacts(_ number: PhoneNumber, tenant: String?) async throws -> ClaimedCall {
        guard let facts = try await checkFacts([number], tenant: tenant).first else { throw OpenPhnError(.notFound, "No facts for \(number.masked).") }
        return facts
    }

    /// ``checkFacts(_:tenant:)`` for many numbers in one statement (a bulk `/v1` request checks 10,000 so): one result
    /// per number, in order.
    public func checkFacts(_ numbers: [PhoneNumber], tenant: String?) async throws -> [ClaimedCall] {
        guard !numbers.isEmpty else { return [] }
        let rows = try await client.query("""
            SELECT EXISTS (SELECT 1 FROM dnc_global g WHERE g.number = one.numeric),
                   EXISTS (SELECT 1 FROM dnc_tenant d WHERE d.tenant_id = \(tenant ?? "") AND d.number = one.numeric),
                   t.verification_status, t.twilio_subaccount_sid,
                   to_char(t.call_window_start, 'HH24:MI') || '-' || to_char(t.call_window_end, 'HH24:MI'),
                   EXISTS (SELECT 1 FROM phone_numbers p WHERE p.tenant_id = t.id AND p.selected AND p.active),
                   coalesce(recent.dials, 0), recent.oldest,
                   t.id IS NOT NULL, now(), one.destination
            FROM unnest(\(numbers.map(\.numeric))::bigint[], \(numbers.map(\.e164))::text[]) WITH ORDINALITY AS one(numeric, destination, ord)
            LEFT JOIN tenants t ON t.id = \(tenant ?? "")
            LEFT JOIN LATERAL (\(unescaped: Self.recentDials(tenant: "t.id", destination: "one.destination"))) recent ON true
            ORDER BY one.ord
            """, logger: logger)
        var facts: [ClaimedCall] = []
        facts.reserveCapacity(numbers.count)
        for try await row in rows {
            let r = row.makeRandomAccess()
            if let tenant, try !r[8].decode(Bool.self) {
                throw OpenPhnError(.notFound, "Tenant '\(tenant)' does not exist.", details: ["tenant_id": .string(tenant)])
            }
            let verification = tenant == nil ? .approved : VerificationStatus(rawValue: try r[2].decode(String?.self) ?? "") ?? .pendingReview
            facts.append(ClaimedCall(
                jobID: 0, tenantID: tenant ?? "", campaignID: nil, destination: try r[10].decode(String.self), attempt: 0, maxAttempts: 1,
                expiresAt: nil, verification: verification, subaccountSID: tenant == nil ? "AC" : try r[3].decode(String?.self), callerE164: "",
                callerActive: tenant == nil ? true : try r[5].decode(Bool.self), callerOwnedByTenant: true, claimedAt: try r[9].decode(Date.self),
                purpose: Self.checkedPurpose, consentType: Self.checkedConsent,
                onGlobalDNC: try r[0].decode(Bool.self), onTenantDNC: try r[1].decode(Bool.self),
                tenantWindow: try r[4].decode(String?.self).flatMap(DailyWindow.init), recentDials: try r[6].decode(Int?.self) ?? 0,
                oldestRecentDial: try r[7].decode(Date?.self)))
        }
        return facts
    }

    /// What `dialer check` decides a number for: an informational call with prior express consent, so that the number,
    /// the lists, the account and the hours decide (each job's own consent is re-checked when it is dialed).
    public static let checkedPurpose = CallPurpose.informational
    public static let checkedConsent: ConsentType? = .priorExpress
}

extension JobStore {
    /// Adds a number to (or removes it from) a tenant's do-not-call list, with an `audit_log` row (`dnc_add`,
    /// `dnc_remove`), in one transaction: a list that decides whether people are called changes only on the record.
    /// - Returns: whether the list changed (false: the number was there already, or was not there).
    public func changeTenantDNC(add: Bool, _ number: PhoneNumber, tenant: String, source: String, actor: String) async throws -> Bool {
        try await transaction { connection, logger in
            let query = add ? Self.addDNCStatement(number, to: .tenant(tenant), source: source)
                : Self.removeDNCStatement(number, from: .tenant(tenant))
            let changed = try await connection.query(query, logger: logger).collect().count == 1
            let scope = JSONValue.object(["destination": .string(number.e164), "changed": .bool(changed)]).jsonText
            _ = try await connection.query("""
                INSERT INTO audit_log (actor, action, tenant_id, scope, affected, source)
                VALUES (\(actor), \(add ? "dnc_add" : "dnc_remove"), \(tenant), \(scope)::jsonb, 0, \(source))
                """, logger: logger).collect()
            return changed
        }
    }
}
