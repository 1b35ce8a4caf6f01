import DialerCore
import FakeTwilio
import Foundation
import PostgresNIO
import Testing

/// The `dialer` executable, run as an operator would.
@Suite("dialer CLI")
struct CLITests {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
    }

    static var binary: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dialer")
    }

    /// Runs the binary to completion. Output goes to files and the exit is awaited without blocking a thread of the
    /// cooperative pool (the in-process fake Twilio needs those threads to answer the child).
    static func run(_ arguments: [String], environment: [String: String]) async throws -> Result {
        let directory = FileManager.default.temporaryDirectory
        let id = UUID().uuidString
        let outURL = directory.appendingPathComponent("dialer-\(id).out"), errURL = directory.appendingPathComponent("dialer-\(id).err")
        defer {
            try? FileManager.default.removeItem(at: outURL)
            try? FileManager.default.removeItem(at: errURL)
        }
        _ = FileManager.default.createFile(atPath: outURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: errURL.path, contents: nil)
        let process = Process()
        process.executableURL = binary
        process.arguments = arguments
        process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { a, _ in a }
        process.standardOutput = try FileHandle(forWritingTo: outURL)
        process.standardError = try FileHandle(forWritingTo: errURL)
        let status: Int32 = try await withCheckedThrowingContinuation { continuation in
            process.terminationHandler = { continuation.resume(returning: $0.terminationStatus) }
            do { try process.run() } catch { continuation.resume(throwing: error) }
        }
        return Result(status: status, stdout: try String(contentsOf: outURL, encoding: .utf8), stderr: try String(contentsOf: errURL, encoding: .utf8))
    }

    static func environment(schema: String? = nil, fakeURL: String? = nil) throws -> [String: String] {
        var env = [
            "TWILIO_ACCOUNT_SID": Fixture.username, "TWILIO_AUTH_TOKEN": Fixture.password, "DIALER_VOICE_URL": "http://127.0.0.1:9/agent",
            "DIALER_LOG_LEVEL": "info", "DIALER_GATE_TIME": "2026-12-02T18:00:00Z", "DIALER_CALLS_PER_SECOND": "1000",
            // Many workers run at once in the tests: each takes a free port for its ops server.
            "DIALER_OPS_ADDRESS": "127.0.0.1:0",
        ]
        if let schema { env["DATABASE_URL"] = try TestDatabase.url + "?search_path=\(schema)" }
        if let fakeURL { env["TWILIO_BASE_URL"] = fakeURL }
        return env
    }

    @Test("a missing or malformed setting prints one line naming it and exits 2")
    func badConfig() async throws {
        let missing = try await Self.run(["status"], environment: [:])
        #expect(missing.status == 2)
        #expect(missing.stderr == "dialer: DATABASE_URL is not set\n")
        var env = try Self.environment(schema: "public")
        env["DIALER_CONCURRENCY"] = "many"
        let malformed = try await Self.run(["run"], environment: env)
        #expect(malformed.status == 2)
        #expect(malformed.stderr.contains("DIALER_CONCURRENCY must be a whole number"))
        env["DIALER_CONCURRENCY"] = nil
        env["TWILIO_AUTH_TOKEN"] = nil
        let noToken = try await Self.run(["drain"], environment: env)
        #expect(noToken.status == 2)
        #expect(noToken.stderr == "dialer: TWILIO_AUTH_TOKEN is not set\n")
        let badFlag = try await Self.run(["drain", "--concurrency", "lots"], environment: env)
        #expect(badFlag.status != 0)
        #expect(badFlag.stderr.contains("concurrency"))
    }

    @Test("bench-http refuses any Twilio but a loopback one, and counts every request the fake answers")
    func benchHTTP() async throws {
        var env = try Self.environment(schema: "public")
        env["DIALER_GATE_TIME"] = nil
        env["TWILIO_BASE_URL"] = "https://api.twilio.com"
        let refused = try await Self.run(["bench-http", "--requests", "1"], environment: env)
        #expect(refused.status == 2)
        #expect(refused.stderr.contains("only targets a loopback TWILIO_BASE_URL"))
        let fake = Fixture.fake()
        try await fake.withRunning { [env] baseURL in
            let ran = try await Self.run(["bench-http", "--requests", "40", "--in-flight", "8"],
                                         environment: env.merging(["TWILIO_BASE_URL": baseURL]) { $1 })
            #expect(ran.status == 0, "\(ran.stderr)")
            #expect(ran.stdout.contains("bench-http: 40 requests (40 dialed)"), "\(ran.stdout)")
            #expect(await fake.ledger.calls.count == 40)
        }
    }

    @Test("enqueue speaks OpenPhn codes; a campaign with a bad row enqueues nothing unless --skip-invalid")
    func enqueue() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try Self.environment(schema: schema)
            let bad = try await Self.run(["enqueue", "--tenant", "acme", "--to", "+1415555", "--objective", "x"], environment: env)
            #expect(bad.status == 1)
            #expect(bad.stderr.contains(#""error":"invalid_phone""#))
            let unknown = try await Self.run(["enqueue", "--tenant", "nobody", "--to", "+14155551234", "--objective", "x"], environment: env)
            #expect(unknown.status == 1)
            #expect(unknown.stderr.contains("not_found"))

            let csv = FileManager.default.temporaryDirectory.appendingPathComponent("campaign-\(schema).csv")
            try "to,priority\n+14155551234,1\n+1555,2\n+14155551235,3\n".write(to: csv, atomically: true, encoding: .utf8)
            defer { try? FileManager.default.removeItem(at: csv) }
            let args = ["enqueue", "--tenant", "acme", "--campaign", "spring", "--objective", "Remind", "--csv", csv.path]
            let refused = try await Self.run(args, environment: env)
            #expect(refused.status == 1)
            #expect(refused.stderr.contains("line 3: invalid_phone"))
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)
            let skipped = try await Self.run(args + ["--skip-invalid"], environment: env)
            #expect(skipped.status == 0)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE campaign_id = 'spring'") == 2)
            // Importing the same file again creates nothing new.
            let again = try await Self.run(args + ["--skip-invalid"], environment: env)
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
                let env = try Self.environment(schema: schema, fakeURL: baseURL)
                let drained = try await Self.run(["drain"], environment: env)
                #expect(drained.status == 0)
                #expect(drained.stdout.contains("dialed=25"))
                #expect(drained.stdout.contains("failed invalid_phone: 1"))
                #expect(!drained.stderr.contains(Fixture.password))
                #expect(!drained.stderr.contains("+14155551234"))
                #expect(await fake.ledger.calls.count == 25)
                let status = try await Self.run(["status", "--json"], environment: env)
                #expect(status.status == 0)
                let json = try #require(JSONValue.parse(status.stdout))
                #expect(json["totals"]?["dialed"] == 25)
                #expect(json["totals"]?["failed"] == 1)
            }
        }
    }

    /// Starts `dialer run` with its log lines (stderr) going to `log`; the stream yields its exit status.
    static func startRun(environment: [String: String], log: String) throws -> (Process, AsyncStream<Int32>) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", "exec \"$0\" run 2>\"$1\"", binary.path, log]
        process.environment = environment
        let exited = AsyncStream<Int32>.makeStream()
        process.terminationHandler = { exited.continuation.yield($0.terminationStatus) }
        try process.run()
        return (process, exited.stream)
    }

    @Test("run stops on SIGTERM and exits 0")
    func sigterm() async throws {
        try await TestDatabase.withStore { _, schema in
            let log = FileManager.default.temporaryDirectory.appendingPathComponent("run-\(schema).log").path
            defer { try? FileManager.default.removeItem(atPath: log) }
            let env = try Self.environment(schema: schema, fakeURL: "http://127.0.0.1:9")
            let (process, exited) = try Self.startRun(environment: env, log: log)
            for _ in 0..<600 {
                if let text = try? String(contentsOfFile: log, encoding: .utf8), text.contains("worker started") { break }
                try await Task.sleep(for: .milliseconds(50))
            }
            kill(process.processIdentifier, SIGTERM)
            var statuses = exited.makeAsyncIterator()
            #expect(await statuses.next() == 0)
            #expect(try String(contentsOfFile: log, encoding: .utf8).contains("worker stopped"))
        }
    }
}
