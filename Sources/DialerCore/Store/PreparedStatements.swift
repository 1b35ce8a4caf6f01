import Foundation
import PostgresNIO

/// The hot statements of the status-callback path as protocol-level prepared statements: postgres-nio prepares each once per
/// connection and binds it after, so PostgreSQL plans it once (planning these CTEs costs more than running them for a
/// small batch: 1.35 ms against 1.3 ms, measured with EXPLAIN ANALYZE). Their text stays the one ``SQLStatement`` of the
/// store. A pooler in transaction mode that keeps no prepared statements (PgBouncer before 1.21) needs them off:
/// `DIALER_PREPARED_STATEMENTS=off` runs the same text as unnamed statements (``JobStore/rows(_:on:)``).
extension JobStore {
    /// Runs `statement` on `connection` (the pool when nil): prepared once per connection when the store uses prepared
    /// statements, else as an unnamed statement of the same text and bindings (what any pooler passes through).
    func rows<Statement: PostgresPreparedStatement>(_ statement: Statement, on connection: PostgresConnection? = nil) async throws -> [Statement.Row] {
        var rows: [Statement.Row] = []
        if usesPreparedStatements {
            if let connection {
                for try await row in try await connection.execute(statement, logger: logger) { rows.append(row) }
            } else {
                for try await row in try await client.execute(statement, logger: logger) { rows.append(row) }
            }
        } else {
            let query = PostgresQuery(unsafeSQL: Statement.sql, binds: try statement.makeBindings())
            let sequence = if let connection { try await connection.query(query, logger: logger) } else { try await client.query(query, logger: logger) }
            for try await row in sequence { rows.append(try statement.decodeRow(row)) }
        }
        return rows
    }
}

/// The status callbacks' write (``JobStore/recordCallbacksStatement``).
struct RecordCallbacksPrepared: PostgresPreparedStatement {
    static let sql = JobStore.recordCallbacksStatement.text
    enum Row {
        /// The callbacks that were new, by call SID and sequence number.
        case stored([String], [Int])
        /// A call whose final status is among them: its job's facts, and whether the job waited for it.
        case final(SettledCall, ready: Bool)
    }
    let bindings: PostgresBindings
    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> Row {
        let r = row.makeRandomAccess()
        guard try r[2].decode(Int64?.self) != nil else {
            return .stored(try r[0].decode([String]?.self) ?? [], try r[1].decode([Int]?.self) ?? [])
        }
        return .final(try SettledCall(r, from: 2), ready: try r[20].decode(Bool.self))
    }
}

/// The settlements' write (``JobStore/settleStatement``).
struct SettlePrepared: PostgresPreparedStatement {
    static let sql = JobStore.settleStatement.text
    typealias Row = Int64
    let bindings: PostgresBindings
    func makeBindings() throws -> PostgresBindings { bindings }
    func decodeRow(_ row: PostgresRow) throws -> Int64 { try row.decode(Int64.self) }
}

extension SettledCall {
    /// Reads the columns of ``JobStore/settledCallColumns`` starting at column `first`.
    init(_ r: PostgresRandomAccessRow, from first: Int) throws {
        func c(_ i: Int) -> PostgresCell { r[first + i] }
        self.init(
            jobID: try c(0).decode(Int64.self), tenantID: try c(1).decode(String.self), campaignID: try c(2).decode(String?.self),
            destination: try c(3).decode(String.self), callSID: try c(4).decode(String.self), attempt: try c(5).decode(Int.self),
            maxAttempts: try c(6).decode(Int.self), expiresAt: try c(7).decode(Date?.self),
            tenantWindow: try c(8).decode(String?.self).flatMap(DailyWindow.init),
            status: CallStatus(rawValue: try c(9).decode(String.self)) ?? .failed, answeredBy: try c(10).decode(String?.self),
            sipResponseCode: try c(11).decode(Int?.self), callDuration: try c(12).decode(Int?.self), dials: try c(13).decode(Int.self),
            dialsLast24h: try c(14).decode(Int.self), oldestDialLast24h: try c(15).decode(Date?.self),
            earlierResults: try c(16).decode([String].self), now: try c(17).decode(Date.self))
    }
}
