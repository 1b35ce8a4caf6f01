import DialerCore
import Foundation
import Logging
import PostgresNIO

/// A command's loaded settings and logger: what every command that touches the database starts from.
struct CommandSetup: Sendable {
    var settings: DialerSettings
    let logger: Logger

    /// Runs `body` against the database: it must answer within 10 s (else `database_unavailable`, exit 1) and, with
    /// `checkMigrations`, have every migration of this build applied (else `migrations_pending`: run `dialer migrate`).
    ///
    /// One connection: a command's statements run one after another, and a second connection the pool would open
    /// beside the first is cut off when the command ends, which PostgresNIO logs as a failed connection.
    func withStore<T: Sendable>(checkMigrations: Bool = true, _ body: @Sendable (JobStore) async throws -> T) async throws -> T {
        let configuration = try JobStore.configuration(url: settings.databaseURL, maxConnections: 1)
        return try await JobStore.withStore(configuration, logger: logger, preparedStatements: settings.preparedStatements) { store in
            do {
                try await store.ping(timeout: .seconds(10))
            } catch {
                throw FailureReport.databaseUnavailable(host: configuration.host ?? "?", port: configuration.port ?? 0, cause: error)
            }
            if checkMigrations {
                let pending = try await store.pendingMigrations(try Migration.bundled())
                guard pending.isEmpty else { throw FailureReport.migrationsPending(pending.map(\.name)) }
            }
            return try await body(store)
        }
    }
}

/// Who ran an operator command, for the audit rows: `operator:USER@HOST`.
var operatorID: String {
    let environment = ProcessInfo.processInfo.environment
    let user = environment["SUDO_USER"] ?? environment["USER"] ?? getpwuid(getuid()).flatMap { String(cString: $0.pointee.pw_name) } ?? "uid\(getuid())"
    return "operator:\(user)@\(ProcessInfo.processInfo.hostName)"
}
