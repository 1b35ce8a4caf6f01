import DialerCore
import Foundation
import PostgresNIO
import Testing

/// How the `dialer` executable reports what went wrong: one coded line on stderr (or one JSON object on stdout under
/// `--json`), never a usage dump or a Swift value's innards, and a documented exit status.
@Suite("dialer CLI errors")
struct CLIErrorTests {
    /// Expects exactly one line on stderr, `dialer: <code>: ...`, mentioning each of `mentions`, and `status`.
    static func expectOneLine(
        _ result: TestProcess.Output, status: Int32 = 2, code: String, mentions: [String] = [], sourceLocation: SourceLocation = #_sourceLocation
    ) {
        #expect(result.status == status, "\(result.stderr)", sourceLocation: sourceLocation)
        let lines = result.stderr.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == 1, "not one line: \(result.stderr)", sourceLocation: sourceLocation)
        #expect(result.stderr.hasPrefix("dialer: \(code): "), "\(result.stderr)", sourceLocation: sourceLocation)
        for text in mentions { #expect(result.stderr.contains(text), "no '\(text)' in: \(result.stderr)", sourceLocation: sourceLocation) }
        for leak in ["Usage:", "Error:", "DialerCore.", "PSQLError", "(store:", "See 'dialer"] {
            #expect(!result.stderr.contains(leak), "'\(leak)' in: \(result.stderr)", sourceLocation: sourceLocation)
        }
    }

    static func file(_ name: String, _ contents: String) throws -> URL {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-\(name)")
        try Data(contents.utf8).write(to: url)
        return url
    }

    @Test("a bad flag value is one coded line and exit 2, the same line a CSV cell with that value gets, never a usage dump")
    func flagValues() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try TestProcess.dialerEnvironment(schema: schema)
            let one = ["enqueue", "--tenant", "acme", "--to", "+14155551234", "--objective", "Remind"]
            let cases: [([String], String, [String])] = [
                (one + ["--run-at", "tomorrow"], "invalid_request", ["--run-at", "'tomorrow'"]),
                (one + ["--run-at", "2026-11-25T15:00:00"], "invalid_request", ["--run-at", "time zone"]),
                (one + ["--expires-at", "2026-11-25 15:00"], "invalid_request", ["--expires-at"]),
                (one + ["--priority", "high"], "invalid_request", ["--priority", "'high'"]),
                (one + ["--priority", "-1"], "invalid_request", ["--priority", "-1", "0", "9"]),
                (one + ["--priority", "12"], "invalid_request", ["--priority", "12"]),
                (one + ["--max-attempts", "many"], "invalid_request", ["--max-attempts", "'many'"]),
                (one + ["--max-attempts", "0"], "invalid_request", ["--max-attempts"]),
                (one + ["--outcome-schema", "{nope"], "outcome_schema_invalid", ["--outcome-schema"]),
                (["enqueue", "--tenant", "acme", "--objective", "Remind"], "invalid_request", ["--to", "--csv"]),
                (["enqueue", "--tenant", "acme", "--to", "+14155551234"], "invalid_request", ["--objective"]),
                (["enqueue", "--tenant", "acme", "--csv", "/nonexistent.csv", "--idempotency-key", "k"], "invalid_request", ["--idempotency-key"]),
                (["enqueue", "--tenant", "acme", "--to", "+1415555", "--objective", "Remind"], "invalid_phone", ["+1415555"]),
                (["tenant", "--id", "acme", "--subaccount", "AC123"], "invalid_request", ["--subaccount"]),
                (["tenant", "--id", "acme", "--number", "+1415"], "invalid_phone", ["--number", "+1415"]),
                (["tenant", "--id", "acme", "--verification", "maybe"], "invalid_request", ["--verification"]),
                (["retry", "--since", "last week"], "invalid_request", ["--since"]),
                (["cancel"], "invalid_request", ["--job"]),
                (["check", "+14155551234", "--at", "noon"], "invalid_request", ["--at"]),
                (["enqueue", "--tenant", "acme", "--to", "+14155551234", "--objective", "x", "--colour", "red"], "invalid_request", ["--colour"]),
            ]
            for (arguments, code, mentions) in cases {
                let result = try await TestProcess.run(arguments, environment: env)
                Self.expectOneLine(result, code: code, mentions: mentions)
            }
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)

            // The same value in a CSV cell gets the same message, with the column's name for the flag's.
            for (column, value, flag) in [("priority", "-1", "--priority"), ("run_at", "2026-11-25T15:00:00", "--run-at"),
                                          ("max_attempts", "many", "--max-attempts")] {
                let flagged = try await TestProcess.run(one + [flag, value], environment: env)
                let csv = try Self.file("cell.csv", "to,\(column)\n+14155551234,\(value)\n")
                defer { try? FileManager.default.removeItem(at: csv) }
                let celled = try await TestProcess.run(["enqueue", "--tenant", "acme", "--objective", "Remind", "--csv", csv.path], environment: env)
                #expect(celled.status == 2)
                let flagMessage = flagged.stderr.split(separator: "\n").first.map(String.init) ?? ""
                let rowLine = "dialer: \(csv.path): line 2: " + flagMessage.dropFirst("dialer: ".count).replacingOccurrences(of: flag, with: column)
                #expect(celled.stderr.contains(rowLine), "expected \(rowLine) in \(celled.stderr)")
            }
        }
    }

    @Test("an --expires-at in the past, or a past expires_at cell, is refused with invalid_request and enqueues nothing")
    func pastExpiry() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try TestProcess.dialerEnvironment(schema: schema)
            let past = ISO8601DateFormatter().string(from: Date().addingTimeInterval(-60))
            let flagged = try await TestProcess.run(
                ["enqueue", "--tenant", "acme", "--to", "+14155551234", "--objective", "Remind", "--expires-at", past], environment: env)
            Self.expectOneLine(flagged, code: "invalid_request", mentions: ["--expires-at", "past"])
            let csv = try Self.file("past.csv", "to,expires_at\n+14155551234,\(past)\n+14155551235,\n")
            defer { try? FileManager.default.removeItem(at: csv) }
            let celled = try await TestProcess.run(["enqueue", "--tenant", "acme", "--objective", "Remind", "--csv", csv.path], environment: env)
            #expect(celled.status == 2)
            #expect(celled.stderr.contains("line 2: invalid_request: expires_at"), "\(celled.stderr)")
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)
            // A future expiry is fine.
            let future = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
            let ok = try await TestProcess.run(["enqueue", "--tenant", "acme", "--to", "+14155551234", "--objective", "Remind", "--expires-at", future]
                                                + TestProcess.consentFlags, environment: env)
            #expect(ok.status == 0, "\(ok.stderr)")
        }
    }

    @Test("a campaign file that cannot be read says why: no such file, a directory, not UTF-8 at byte N; a UTF-8 BOM is fine")
    func unreadableCampaign() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try TestProcess.dialerEnvironment(schema: schema)
            func enqueue(_ path: String) async throws -> TestProcess.Output {
                try await TestProcess.run(["enqueue", "--tenant", "acme", "--objective", "Remind", "--csv", path] + TestProcess.consentFlags,
                                          environment: env)
            }
            let missing = FileManager.default.temporaryDirectory.appendingPathComponent("no-such-\(UUID().uuidString).csv").path
            Self.expectOneLine(try await enqueue(missing), code: "invalid_request", mentions: [missing, "no such file"])
            Self.expectOneLine(try await enqueue(FileManager.default.temporaryDirectory.path), code: "invalid_request", mentions: ["is a directory"])

            let latin1 = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-latin1.csv")
            try (Data("to,objective\n+14155551234,Caf".utf8) + Data([0xE9]) + Data("\n".utf8)).write(to: latin1)
            defer { try? FileManager.default.removeItem(at: latin1) }
            // "to,objective\n" is 13 bytes, "+14155551234,Caf" 16 more: the 0xE9 is byte 30, on line 2.
            Self.expectOneLine(try await enqueue(latin1.path), code: "invalid_request", mentions: ["not UTF-8", "byte 30", "line 2"])

            let utf16 = FileManager.default.temporaryDirectory.appendingPathComponent("\(UUID().uuidString)-utf16.csv")
            try (Data([0xFF, 0xFE]) + "to\n+14155551234\n".data(using: .utf16LittleEndian)!).write(to: utf16)
            defer { try? FileManager.default.removeItem(at: utf16) }
            Self.expectOneLine(try await enqueue(utf16.path), code: "invalid_request", mentions: ["UTF-16"])
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)

            // Excel's "CSV UTF-8" starts the file with a byte-order mark: the header is still 'to'.
            let bom = try Self.file("bom.csv", "\u{FEFF}to\n+14155551234\n")
            defer { try? FileManager.default.removeItem(at: bom) }
            let withBOM = try await enqueue(bom.path)
            #expect(withBOM.status == 0, "\(withBOM.stderr)")
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 1)

            // dnc import names the reason too.
            let dnc = try await TestProcess.run(["dnc", "import", missing], environment: env)
            Self.expectOneLine(dnc, code: "invalid_request", mentions: [missing, "no such file"])
        }
    }

    @Test("with --json every answer is one JSON object on stdout: an invalid number is a block decision with the usual keys")
    func jsonAnswers() async throws {
        let allowed = try await TestProcess.run(["check", "+14155551234", "--at", "2026-12-02T18:00:00Z", "--json"], environment: [:])
        #expect(allowed.status == 0)
        let decision = try #require(JSONValue.parse(allowed.stdout))
        guard case .object(let keys) = decision else { Issue.record("not an object: \(allowed.stdout)"); return }
        for number in ["+12129111234", "+1415555", "+19005551234"] {
            let result = try await TestProcess.run(["check", number, "--json"], environment: [:])
            #expect(result.status == 0, "\(number): \(result.stderr)")
            #expect(result.stderr.isEmpty, "\(number): \(result.stderr)")
            let json = try #require(JSONValue.parse(result.stdout), "\(number): \(result.stdout)")
            #expect(json["decision"] == "block")
            #expect(json["error"] == "invalid_phone")
            #expect(json["message"]?.stringValue?.isEmpty == false)
            guard case .object(let blockKeys) = json else { continue }
            #expect(Set(blockKeys.keys) == Set(keys.keys), "\(number)")
        }
        // Without --json the same answer is a line on stdout, exit 0.
        let text = try await TestProcess.run(["check", "+12129111234"], environment: [:])
        #expect(text.status == 0)
        #expect(text.stdout.hasPrefix("+12129111234: block (invalid_phone: "), "\(text.stdout)")

        // Errors that are not a decision are the {error, message, details} object, on stdout, with the same exit status.
        let badInstant = try await TestProcess.run(["check", "+14155551234", "--at", "noon", "--json"], environment: [:])
        #expect(badInstant.status == 2)
        let badJSON = try #require(JSONValue.parse(badInstant.stdout), "\(badInstant.stdout)")
        #expect(badJSON["error"] == "invalid_request")
        #expect(badJSON["message"]?.stringValue?.contains("--at") == true)
        #expect(badJSON["details"] != nil)
    }

    @Test("every --json command answers an error with {error, message, details} on stdout")
    func jsonErrors() async throws {
        let unreachable = ["DATABASE_URL": "postgres://dialer@127.0.0.1:1/dialer", "DIALER_LOG_LEVEL": "critical"]
        let cases: [([String], [String: String], Int32, String)] = [
            (["dnc", "check", "+12129111234", "--json"], unreachable, 2, "invalid_phone"),
            (["status", "--json"], unreachable, 1, "database_unavailable"),
            (["status", "--json"], [:], 2, "invalid_setting"),
            (["enqueue", "--tenant", "acme", "--to", "+14155551234", "--objective", "x", "--priority", "high", "--json"], unreachable, 2,
             "invalid_request"),
            (["cancel", "--json"], unreachable, 2, "invalid_request"),
            (["retry", "--since", "last week", "--json"], unreachable, 2, "invalid_request"),
        ]
        for (arguments, env, status, code) in cases {
            let result = try await TestProcess.run(arguments, environment: env)
            #expect(result.status == status, "\(arguments): \(result.stdout) \(result.stderr)")
            let json = try #require(JSONValue.parse(result.stdout), "\(arguments): \(result.stdout) \(result.stderr)")
            #expect(json["error"] == .string(code), "\(arguments): \(result.stdout)")
            #expect(json["message"]?.stringValue?.isEmpty == false)
            #expect(json["details"] != nil)
        }
    }

    @Test("dnc check --json answers with the lists the number is on")
    func dncCheckJSON() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            _ = try await store.addDNC(try PhoneNumber(validating: "+14155551234"), to: .global)
            let result = try await TestProcess.run(["dnc", "check", "+14155551234", "--tenant", "acme", "--json"],
                                                environment: try TestProcess.dialerEnvironment(schema: schema))
            #expect(result.status == 0, "\(result.stderr)")
            let json = try #require(JSONValue.parse(result.stdout), "\(result.stdout)")
            #expect(json["global"] == true)
            #expect(json["tenant"] == false)
            #expect(json["error"] == .null)
        }
    }

    @Test("no error the CLI prints dumps internals: an unreachable database, a database error, a worker part that stops")
    func noInternals() async throws {
        let unreachable = try await TestProcess.run(["status"], environment: ["DATABASE_URL": "postgres://dialer@127.0.0.1:1/dialer",
                                                                           "DIALER_LOG_LEVEL": "critical"])
        Self.expectOneLine(unreachable, status: 1, code: "database_unavailable", mentions: ["127.0.0.1:1"])

        try await TestDatabase.withStore { store, schema in
            let env = try TestProcess.dialerEnvironment(schema: schema)
            // The migrations are recorded but a table is gone: the query fails inside PostgreSQL.
            try await store.client.query("DROP TABLE call_attempts CASCADE", logger: store.logger)
            let broken = try await TestProcess.run(["explain", "1"], environment: env)
            Self.expectOneLine(broken, status: 1, code: "internal_error", mentions: ["call_attempts", "does not exist"])
        }
    }
}
