import DialerCore
import FakeTwilio
import Foundation
import PostgresNIO
import Testing

/// PostgreSQL restarted (`pg_ctl restart -m fast`, every connection dropped) while `dialer run` processes drain the
/// queue. Restarting the cluster breaks whatever else uses it, so this runs only when DIALER_TEST_PG_RESTART=1, which
/// ops/test sets in a phase of its own after the rest of the suite.
///
/// The harness keeps no database client across the restart (postgres-nio clients of the test process are not what is
/// under test): the setup's store is closed before the restart, progress is read with psql, and every wait is bounded.
@Suite("PostgreSQL restarted mid-drain", .enabled(if: ProcessInfo.processInfo.environment["DIALER_TEST_PG_RESTART"] == "1"), .timeLimit(.minutes(4)))
struct PostgresRestartTests {
    static let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Restarts the cluster the way ops/lib/pg.sh does. The shell first closes every descriptor above stderr: Foundation
    /// learns that a child exited when the socket it gave the child closes, and the postmaster pg_ctl starts would
    /// inherit that socket and keep it open for as long as PostgreSQL runs.
    static let restartScript = #"""
        for fd in /proc/self/fd/*; do fd=${fd##*/}; [ "$fd" -gt 2 ] && eval "exec $fd>&-" 2>/dev/null; done
        source "$1" && pg_up >/dev/null && pg_restart
        """#

    /// One query through psql, rows as `|`-separated lines.
    static func psql(_ sql: String) async throws -> [[String]] {
        let env = ProcessInfo.processInfo.environment
        let bin = env["PG_BIN"] ?? "/usr/lib/postgresql/15/bin"
        let text = try await TestProcess.run([try TestDatabase.url, "-qtAX", "-v", "ON_ERROR_STOP=1", "-c", sql],
                                             program: URL(fileURLWithPath: bin + "/psql"), environment: ["PGCONNECT_TIMEOUT": "3"],
                                             timeout: .seconds(15)).checked().stdout
        return text.split(separator: "\n").map { $0.split(separator: "|", omittingEmptySubsequences: false).map(String.init) }
    }

    /// `(final, dialed)` job counts, or nil while the database cannot answer.
    static func progress(_ schema: String) async -> (final: Int, dialed: Int)? {
        let sql = "SELECT count(*) FILTER (WHERE state IN ('awaiting_outcome', 'failed')), count(*) FILTER (WHERE state = 'awaiting_outcome') FROM \(schema).call_jobs"
        guard let row = try? await psql(sql).first, row.count == 2, let final = Int(row[0]), let dialed = Int(row[1])
        else { return nil }
        return (final, dialed)
    }

    @Test("workers reconnect after a restart mid-drain and finish: every job final, each destination dialed exactly once")
    func restartMidDrain() async throws {
        let jobs = 300
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            let url = try TestDatabase.url
            let schema = "t_restart_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
            // Setup with a store that is closed before anything is restarted.
            _ = try await JobStore.withStore(try JobStore.configuration(url: url), logger: TestDatabase.logger) { admin in
                try await admin.client.query("CREATE SCHEMA \(unescaped: schema)", logger: TestDatabase.logger)
            }
            do {
                let destinations = Fixture.destinations(jobs, start: 900_000)
                try await JobStore.withStore(try JobStore.configuration(url: url, schema: schema), logger: TestDatabase.logger) { store in
                    try await store.migrate(try Migration.bundled())
                    try await Fixture.tenant(store)
                    // Slow enough that the restart lands mid-drain: about six seconds of dialing.
                    try await store.setCallsPerSecond(subaccount: Fixture.subaccount, 50)
                    _ = try await store.enqueue(try destinations.map { try Fixture.request($0, maxAttempts: 10) })
                }

                var environment = try TestProcess.dialerEnvironment(schema: schema, fakeURL: baseURL)
                environment.merge([
                    "DIALER_LEASE_SECONDS": "7", "DIALER_TWILIO_TIMEOUT_SECONDS": "1", "DIALER_RECOVERY_SECONDS": "1",
                    "DIALER_RECONCILE_DELAY_SECONDS": "2", "DIALER_RECONCILE_NOT_FOUND_AFTER_SECONDS": "0", "DIALER_BACKOFF_BASE_MS": "200", "DIALER_BACKOFF_CAP_SECONDS": "2",
                    "DIALER_CONCURRENCY": "8", "DIALER_POLL_MS": "200",
                    "DIALER_LOG_LEVEL": ProcessInfo.processInfo.environment["DIALER_TEST_WORKER_LOG_LEVEL"] ?? "error",
                ]) { $1 }
                // A worker still running when the test ends, however it ends, is SIGKILLed with its TestProcess.
                let workers = try (0..<3).map { _ in try TestProcess.start(["run"], environment: environment) }

                // Mid-drain: some jobs dialed, most not.
                var before = (final: 0, dialed: 0)
                let midDeadline = ContinuousClock.now + .seconds(60)
                while before.final < jobs / 5, ContinuousClock.now < midDeadline {
                    try await Task.sleep(for: .milliseconds(100))
                    before = await Self.progress(schema) ?? before
                }
                try #require(before.final >= jobs / 5 && before.final < jobs, "not mid-drain when restarting: \(before.final) of \(jobs) final")
                let startedBefore = try await Self.psql("SELECT pg_postmaster_start_time()").first
                let pgScript = Self.repository.appendingPathComponent("ops/lib/pg.sh").path
                try await TestProcess.run(["-c", Self.restartScript, "pg-restart", pgScript], program: URL(fileURLWithPath: "/bin/bash"),
                                          timeout: .seconds(90)).checked()
                let afterRestart = await Self.progress(schema)
                let startedAfter = try await Self.psql("SELECT pg_postmaster_start_time()").first
                #expect(startedAfter != nil && startedAfter != startedBefore, "the server was not restarted")

                var progress = afterRestart ?? before
                let deadline = ContinuousClock.now + .seconds(120)
                while progress.final < jobs, ContinuousClock.now < deadline {
                    try await Task.sleep(for: .milliseconds(250))
                    progress = await Self.progress(schema) ?? progress
                }
                print("pg restart: jobs=\(jobs) final before restart=\(before.final) after=\(afterRestart?.final ?? -1) at end=\(progress.final)")
                // The workers survived the restart (none crashed on the lost connections) and stop cleanly.
                #expect(workers.allSatisfy { $0.isRunning })
                for worker in workers { worker.terminate() }
                for worker in workers { #expect(await worker.exitStatus(within: .seconds(30)) == 0) }

                #expect(progress.final == jobs, "jobs not final: \(jobs - progress.final)")
                #expect(progress.dialed == jobs)
                let calls = await fake.ledger.calls
                let perDestination = Dictionary(grouping: calls, by: \.to)
                #expect(calls.count == jobs)
                #expect(perDestination.count == jobs && perDestination.values.allSatisfy { $0.count == 1 })
                #expect(Set(perDestination.keys) == Set(destinations))
                // Each job carries the SID of the one call created for it.
                let rows = try await Self.psql("SELECT destination, coalesce(twilio_call_sid, '') FROM \(schema).call_jobs")
                #expect(rows.count == jobs)
                #expect(rows.allSatisfy { $0.count == 2 && perDestination[$0[0]]?.first?.sid == $0[1] })
            } catch {
                _ = try? await Self.psql("DROP SCHEMA \(schema) CASCADE")
                throw error
            }
            _ = try await Self.psql("DROP SCHEMA \(schema) CASCADE")
        }
    }
}
