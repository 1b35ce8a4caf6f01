import DialerCore
import Foundation
import PostgresNIO
import Testing

/// `dialer sql` prints the store's own statements, so `ops/bench` measures exactly what the worker sends.
@Suite("dialer sql")
struct SQLCommandTests {
    @Test("dialer sql prints the claim and record statements the worker runs; with values set they run and claim and record jobs")
    func printedStatementsRun() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let ids = try await store.enqueue(try Fixture.destinations(3, start: 950).map { try Fixture.request($0) }).map(\.jobID)
            let env = try TestProcess.dialerEnvironment(schema: schema)

            let template = try await TestProcess.run(["sql", "claim"], environment: env)
            #expect(template.status == 0)
            #expect(template.stdout.contains("FOR UPDATE SKIP LOCKED") && template.stdout.contains(":limit") && !template.stdout.contains("$3"))

            let claim = try await TestProcess.run(
                ["sql", "claim", "--set", "tenant=''", "--set", "campaign=''", "--set", "limit=2", "--set", "worker='sql-test'", "--set", "lease_seconds=60"],
                environment: env)
            #expect(claim.status == 0)
            let claimed = try await store.client.query(PostgresQuery(unsafeSQL: claim.stdout), logger: store.logger).collect()
            #expect(claimed.count == 2)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'active' AND lease_owner = 'sql-test'") == 2)

            let leased = try await store.client.query("SELECT id FROM call_jobs WHERE lease_owner = 'sql-test' ORDER BY id", logger: store.logger)
                .collect().map { try $0.decode(Int64.self) }
            let n = leased.count
            func fill(_ value: String) -> String { "array_fill(\(value), ARRAY[\(n)])" }
            let record = try await TestProcess.run(
                ["sql", "record", "--set", "ids=ARRAY[\(leased.map(String.init).joined(separator: ","))]", "--set", "attempts=\(fill("1"))",
                 "--set", "states=\(fill("'dialed'::text"))", "--set", "delays=\(fill("-1::float8"))", "--set", "refunds=\(fill("false"))",
                 "--set", "sids=\(fill("'CA00000000000000000000000000000000'::text"))", "--set", "errors=\(fill("''::text"))",
                 "--set", "kinds=\(fill("'dial'::text"))", "--set", "outcomes=\(fill("'dialed'::text"))", "--set", "http_statuses=\(fill("201"))",
                 "--set", "twilio_codes=\(fill("0"))", "--set", "possibly_dialed=\(fill("false"))", "--set", "details=\(fill("'{}'::text"))",
                 "--set", "worker='sql-test'"],
                environment: env)
            #expect(record.status == 0)
            let applied = try await store.client.query(PostgresQuery(unsafeSQL: record.stdout), logger: store.logger).collect()
            #expect(applied.count == 2)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE state = 'dialed'") == 2)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_attempts WHERE worker = 'sql-test' AND outcome = 'dialed'") == 2)
            // The claim took exactly its limit: the third job still waits.
            #expect(try await store.job(ids[2])?.state == .queued)

            let unknown = try await TestProcess.run(["sql", "nope"], environment: env)
            #expect(unknown.status == 2 && unknown.stderr.contains("invalid_request"))
            let badSet = try await TestProcess.run(["sql", "claim", "--set", "bogus=1"], environment: env)
            #expect(badSet.status == 2 && badSet.stderr.contains("invalid_request"))
        }
    }
}
