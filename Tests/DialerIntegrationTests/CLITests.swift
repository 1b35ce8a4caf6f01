import DialerCore
import FakeTwilio
import Foundation
import PostgresNIO
import Testing

/// The `dialer` executable, run as an operator would.
@Suite("dialer CLI")
struct CLITests {
    @Test("a missing or malformed setting prints one line naming it and exits 2")
    func badConfig() async throws {
        let missing = try await TestProcess.run(["status"], environment: [:])
        #expect(missing.status == 2)
        #expect(missing.stderr == "dialer: DATABASE_URL is not set\n")
        var env = try TestProcess.dialerEnvironment(schema: "public")
        env["DIALER_CONCURRENCY"] = "many"
        let malformed = try await TestProcess.run(["run"], environment: env)
        #expect(malformed.status == 2)
        #expect(malformed.stderr.contains("DIALER_CONCURRENCY must be a whole number"))
        env["DIALER_CONCURRENCY"] = nil
        env["TWILIO_AUTH_TOKEN"] = nil
        let noToken = try await TestProcess.run(["drain"], environment: env)
        #expect(noToken.status == 2)
        #expect(noToken.stderr == "dialer: TWILIO_AUTH_TOKEN is not set\n")
        let badFlag = try await TestProcess.run(["drain", "--concurrency", "lots"], environment: env)
        #expect(badFlag.status != 0)
        #expect(badFlag.stderr.contains("concurrency"))
    }

    @Test("bench-http refuses any Twilio but a loopback one, and counts every request the fake answers")
    func benchHTTP() async throws {
        var env = try TestProcess.dialerEnvironment(schema: "public")
        env["DIALER_GATE_TIME"] = nil
        env["TWILIO_BASE_URL"] = "https://api.twilio.com"
        let refused = try await TestProcess.run(["bench-http", "--requests", "1"], environment: env)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("only targets a loopback TWILIO_BASE_URL"))
        let fake = Fixture.fake()
        try await fake.withRunning { [env] baseURL in
            let ran = try await TestProcess.run(["bench-http", "--requests", "40", "--in-flight", "8"],
                                                environment: env.merging(["TWILIO_BASE_URL": baseURL]) { $1 })
            #expect(ran.status == 0, "\(ran.stderr)")
            #expect(ran.stdout.contains("bench-http: 40 requests (40 dialed)"), "\(ran.stdout)")
            #expect(await fake.ledger.calls.count == 40)
        }
    }

    @Test("enqueue speaks OpenPhn codes; a campaign with a bad row enqueues nothing (exit 2) unless --skip-invalid")
    func enqueue() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try TestProcess.dialerEnvironment(schema: schema)
            let bad = try await TestProcess.run(["enqueue", "--tenant", "acme", "--to", "+1415555", "--objective", "x"], environment: env)
            #expect(bad.status == 2)
            #expect(bad.stderr.hasPrefix("dialer: invalid_phone: "))
            let unknown = try await TestProcess.run(["enqueue", "--tenant", "nobody", "--to", "+14155551234", "--objective", "x"] + TestProcess.consentFlags,
                                                    environment: env)
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("not_found"))

            let csv = FileManager.default.temporaryDirectory.appendingPathComponent("campaign-\(schema).csv")
            try "to,priority\n+14155551234,1\n+1555,2\n+14155551235,3\n".write(to: csv, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: csv) }
            let args = ["enqueue", "--tenant", "acme", "--campaign", "spring", "--objective", "Remind", "--csv", csv.path] + TestProcess.consentFlags
            let refused = try await TestProcess.run(args, environment: env)
            #expect(refused.status == 2)
            #expect(refused.stderr.contains("line 3: invalid_phone"))
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)
            let skipped = try await TestProcess.run(args + ["--skip-invalid"], environment: env)
            #expect(skipped.status == 0)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE campaign_id = 'spring'") == 2)
            // Importing the same file again creates nothing new.
            let again = try await TestProcess.run(args + ["--skip-invalid"], environment: env)
            #expect(again.stdout.contains("enqueued 0 job(s); 2 already existed"))
        }
    }

    @Test("drain dials everything due and exits 0; status shows the result")
    func drainAndStatus() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, schema in
                try await Fixture.tenant(store)
                let refused = "+14155552199"
                await fake.ledger.script(to: refused, [FakeResponse(status: 400, code: 21217)])
                _ = try await store.enqueue(try Fixture.destinations(25).map { try Fixture.request($0) } + [try Fixture.request(refused)])
                let env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: baseURL)
                let drained = try await TestProcess.run(["drain"], environment: env)
                #expect(drained.status == 0)
                #expect(drained.stdout.contains("dialed=25"))
                #expect(drained.stdout.contains("failed invalid_phone: 1"))
                #expect(!drained.stderr.contains(Fixture.password))
                #expect(!drained.stderr.contains("+14155551234"))
                #expect(await fake.ledger.calls.count == 25)
                let status = try await TestProcess.run(["status", "--json"], environment: env)
                #expect(status.status == 0)
                let json = try #require(JSONValue.parse(status.stdout))
                #expect(json["totals"]?["awaiting_outcome"] == 25)
                #expect(json["totals"]?["failed"] == 1)
            }
        }
    }

    @Test("run stops on SIGTERM and exits 0")
    func sigterm() async throws {
        try await TestDatabase.withStore { _, schema in
            let env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: "http://127.0.0.1:9")
            let worker = try TestProcess.start(["run"], environment: env)
            #expect(try await worker.waitForStderr(containing: "worker started"))
            worker.terminate()
            #expect(await worker.exitStatus() == 0)
            #expect(worker.stderr.contains("worker stopped"))
        }
    }
}
