import Foundation
import Logging
import PostgresNIO
import Synchronization

/// The one owner of the worker's SQL: every statement on the job tables lives in `JobStore` and its extensions.
///
/// A `JobStore` is a value over a running `PostgresClient`; run the client (it is a `Service`) before using the store.
/// Its description is short and names no credential (the client's configuration holds the database password).
public struct JobStore: Sendable, CustomStringConvertible {
    public let client: PostgresClient
    public let logger: Logger
    /// Whether the hot statements run as protocol-level prepared statements (see ``PreparedStatements``); off behind
    /// a pooler in transaction mode that keeps none. Unnamed statements (every other query) work through any pooler.
    public let usesPreparedStatements: Bool

    public var description: String { "JobStore" }

    /// NOTIFY channel that enqueue signals on commit; workers LISTEN on it as a wake-up hint.
    public static let readyChannel = "call_jobs_ready"
    /// The payload on ``readyChannel`` that says a pause began or ended: workers read `queue_pauses` again.
    public static let pausesChanged = "pauses"

    public init(client: PostgresClient, logger: Logger, preparedStatements: Bool = true) {
        self.client = client
        self.logger = logger
        self.usesPreparedStatements = preparedStatements
    }

    /// Builds the client configuration from a `postgres://user[:password]@host[:port]/database[?sslmode=disable][&search_path=schema]` URL.
    /// - Parameter schema: when set, every connection uses this schema (tests isolate themselves this way).
    public static func configuration(url: String, schema: String? = nil, maxConnections: Int = 8) throws(OpenPhnError) -> PostgresClient.Configuration {
        guard let components = URLComponents(string: url), let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme),
            let host = components.host, !host.isEmpty
        else {
            throw OpenPhnError(.invalidRequest, "DATABASE_URL is not a postgres:// URL.", details: ["setting": "DATABASE_URL"])
        }
        let database = String(components.path.drop { $0 == "/" })
        let user = components.percentEncodedUser?.removingPercentEncoding ?? "postgres"
        let password = components.percentEncodedPassword?.removingPercentEncoding
        let sslmode = components.queryItems?.first { $0.name == "sslmode" }?.value ?? "disable"
        let urlSchema = components.queryItems?.first { $0.name == "search_path" }?.value
        var config = PostgresClient.Configuration(
            host: host, port: components.port ?? 5432, username: user, password: password,
            database: database.isEmpty ? user : database,
            tls: sslmode == "disable" ? .disable : .prefer(.makeClientConfiguration()))
        config.options.maximumConnections = maxConnections
        config.options.minimumConnections = 0
        config.options.connectTimeout = .seconds(5)
        if let schema = schema ?? urlSchema { config.options.additionalStartupParameters.append(("search_path", schema)) }
        return config
    }

    /// Runs `body` with a started client, for one-shot commands and tests; the client stops when `body` returns.
    public static func withStore<T: Sendable>(
        _ configuration: PostgresClient.Configuration, logger: Logger, preparedStatements: Bool = true, _ body: @Sendable (JobStore) async throws -> T
    ) async throws -> T {
        let client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        return try await withThrowingTaskGroup(of: T?.self) { group in
            group.addTask {
                await client.run()
                return nil
            }
            defer { group.cancelAll() }
            return try await body(JobStore(client: client, logger: logger, preparedStatements: preparedStatements))
        }
    }

    /// `SELECT 1`, failing within `timeout` instead of waiting for the pool's own minute-long give-up.
    public func ping(timeout: Duration = .seconds(5)) async throws {
        try await withTimeout(timeout, what: "database") {
            _ = try await client.query("SELECT 1", logger: logger).collect()
        }
    }
}

extension JobStore {
    /// Runs `body` in a transaction. An error thrown by `body` comes out as itself, not wrapped in
    /// `PostgresTransactionError`, so callers can catch an ``OpenPhnError``.
    public func transaction<T: Sendable>(_ body: (PostgresConnection, Logger) async throws -> T) async throws -> T {
        let logger = self.logger
        do {
            return try await client.withConnection { connection in
                try await connection.withTransaction(logger: logger) { connection in
                    try await body(connection, logger)
                }
            }
        } catch let error as PostgresTransactionError {
            if let closureError = error.closureError { throw closureError }
            throw error
        }
    }
}
