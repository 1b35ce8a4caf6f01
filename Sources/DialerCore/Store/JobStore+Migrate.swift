import Logging
import PostgresNIO

extension JobStore {
    /// Applies the migrations not yet recorded in `schema_migrations`, in order, in one transaction.
    ///
    /// Safe when several processes migrate at once: a transaction-scoped advisory lock (per schema) serialises them, and
    /// the second finds everything applied. A migration whose text changed after it was applied is refused.
    /// - Returns: the migrations applied by this call.
    @discardableResult
    public func migrate(_ migrations: [Migration]) async throws -> [Migration] {
        return try await transaction { connection, logger in
            try await connection.query("SELECT pg_advisory_xact_lock(hashtext('openphn-dialer.migrate.' || current_schema()))", logger: logger)
            try await connection.query("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version integer PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())
                """, logger: logger)
            var applied: [Int: String] = [:]
            for try await (version, checksum) in try await connection.query("SELECT version, checksum FROM schema_migrations", logger: logger)
                .decode((Int, String).self)
            {
                applied[version] = checksum
            }
            var done: [Migration] = []
            for migration in migrations.sorted(by: { $0.version < $1.version }) {
                if let checksum = applied[migration.version] {
                    guard checksum == migration.checksum else {
                        throw OpenPhnError(.invalidRequest, "Migration \(migration.name) changed after it was applied; add a new migration instead.")
                    }
                    continue
                }
                for statement in SQLScript.statements(migration.sql) {
                    try await connection.query(PostgresQuery(unsafeSQL: statement), logger: logger)
                }
                try await connection.query("""
                    INSERT INTO schema_migrations (version, name, checksum) VALUES (\(migration.version), \(migration.name), \(migration.checksum))
                    """, logger: logger)
                logger.info("migration applied", metadata: ["migration": "\(migration.name)"])
                done.append(migration)
            }
            return done
        }
    }

    /// The versions missing from the database (empty when it is current).
    public func pendingMigrations(_ migrations: [Migration]) async throws -> [Migration] {
        let exists = try await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger).decode(Bool.self)
        var tableExists = false
        for try await value in exists { tableExists = value }
        guard tableExists else { return migrations }
        var versions = Set<Int>()
        for try await version in try await client.query("SELECT version FROM schema_migrations", logger: logger).decode(Int.self) {
            versions.insert(version)
        }
        return migrations.filter { !versions.contains($0.version) }
    }
}
