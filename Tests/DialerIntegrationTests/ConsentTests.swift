import DialerCore
import FakeTwilio
import Foundation
import PostgresNIO
import Testing

/// Consent for AI-voice calls (FCC 24-17), end to end: refused at enqueue, re-checked by the gate at every dial.
@Suite("Consent: enqueue and the dial-time gate")
struct ConsentTests {
    @Test("enqueue refuses rows without consent and telemarketing without PEWC: one coded line per row, nothing enqueued")
    func enqueueRefuses() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try TestProcess.dialerEnvironment(schema: schema)
            let csv = try CLIErrorTests.file("consent.csv", """
                to,purpose,consent_type,consent_at,consent_source
                +14155551201,informational,pec,2025-01-02T03:04:05Z,web form 17
                +14155551202,telemarketing,pec,,
                +14155551203,telemarketing,pewc,2025-01-02T03:04:05Z,signed form 9
                +14155551204,informational,,,

                """)
            defer { try? FileManager.default.removeItem(at: csv) }
            let args = ["enqueue", "--tenant", "acme", "--campaign", "spring", "--objective", "Remind", "--csv", csv.path]
            let refused = try await TestProcess.run(args, environment: env)
            #expect(refused.status == 2, "\(refused.stderr)")
            let lines = refused.stderr.split(separator: "\n").map(String.init)
            #expect(lines.count == 3, "\(refused.stderr)")
            #expect(lines[0].hasPrefix("dialer: \(csv.path): line 3: consent_required: A telemarketing call"), "\(lines[0])")
            #expect(lines[1].hasPrefix("dialer: \(csv.path): line 5: consent_required: The call carries no consent evidence"), "\(lines[1])")
            #expect(lines[2].hasPrefix("dialer: invalid_request: 2 invalid row(s)"), "\(lines[2])")
            #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)

            // As JSON, each refused row carries the code and the consent details.
            let json = try #require(JSONValue.parse(try await TestProcess.run(args + ["--json"], environment: env).stdout))
            let rows = try #require(json["details"]?["rows"]?.arrayValue)
            #expect(rows.map { $0["line"] } == [3, 5] && rows.allSatisfy { $0["error"] == "consent_required" })
            #expect(rows[0]["details"]?["required"] == "prior_express_written" && rows[0]["details"]?["consent_type"] == "prior_express")
            #expect(rows[1]["details"]?["consent_type"] == .null)

            // --skip-invalid enqueues the two good rows with their evidence.
            let skipped = try await TestProcess.run(args + ["--skip-invalid", "--json"], environment: env)
            #expect(skipped.status == 0, "\(skipped.stderr)")
            let ids = try #require(JSONValue.parse(skipped.stdout)?["job_ids"]?.arrayValue).compactMap(\.intValue).map(Int64.init)
            let informational = try #require(try await store.job(ids[0])), telemarketing = try #require(try await store.job(ids[1]))
            #expect(informational.purpose == .informational && informational.consentType == .priorExpress)
            #expect(informational.consentAt == ISO8601Instant.instant("2025-01-02T03:04:05Z") && informational.consentSource == "web form 17")
            #expect(telemarketing.purpose == .telemarketing && telemarketing.consentType == .priorExpressWritten)

            // One call from flags: no consent is one line naming the flag; the flags' consent makes it fine.
            let one = ["enqueue", "--tenant", "acme", "--to", "+14155551209", "--objective", "Remind"]
            CLIErrorTests.expectOneLine(try await TestProcess.run(one, environment: env), code: "consent_required", mentions: ["--consent-type"])
            CLIErrorTests.expectOneLine(try await TestProcess.run(one + ["--purpose", "telemarketing", "--consent-type", "pec"], environment: env),
                                        code: "consent_required", mentions: ["prior express written consent"])
            let future = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
            CLIErrorTests.expectOneLine(try await TestProcess.run(one + ["--consent-type", "pec", "--consent-at", future], environment: env),
                                        code: "invalid_request", mentions: ["--consent-at", "future"])
            let ok = try await TestProcess.run(one + ["--purpose", "telemarketing", "--consent-type", "pewc", "--consent-source", "signed form 3"],
                                               environment: env)
            #expect(ok.status == 0, "\(ok.stderr)")
        }
    }

    @Test("the flags are the defaults of rows without their own consent; the request hash covers the evidence")
    func flagDefaultsAndIdempotency() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try TestProcess.dialerEnvironment(schema: schema)
            let csv = try CLIErrorTests.file("defaults.csv", "to,consent_type,consent_source\n+14155551211,,\n+14155551212,pewc,signed form 4\n")
            defer { try? FileManager.default.removeItem(at: csv) }
            let args = ["enqueue", "--tenant", "acme", "--campaign", "fall", "--objective", "Remind", "--csv", csv.path, "--json",
                        "--consent-type", "pec", "--consent-source", "crm export 2026-01"]
            let first = try await TestProcess.run(args, environment: env)
            #expect(first.status == 0, "\(first.stderr)")
            let ids = try #require(JSONValue.parse(first.stdout)?["job_ids"]?.arrayValue).compactMap(\.intValue).map(Int64.init)
            #expect(try await store.job(ids[0])?.consentSource == "crm export 2026-01")
            #expect(try await store.job(ids[1])?.consentType == .priorExpressWritten)
            // The same file with the same defaults is the same request; other evidence for the same keys is a conflict.
            #expect(JSONValue.parse(try await TestProcess.run(args, environment: env).stdout)?["existing"] == 2)
            let other = try await TestProcess.run(Array(args.dropLast(2)) + ["--consent-source", "another export"], environment: env)
            #expect(other.status == 1 && JSONValue.parse(other.stdout)?["error"] == "idempotency_conflict", "\(other.stdout)")
        }
    }

    @Test("a job whose consent is taken away after enqueue is blocked at dial time with consent_required and never reaches Twilio; PEC informational dials")
    func gateBlocksAtDialTime() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let (dials, withdrawn, downgraded) = ("+14155551221", "+14155551222", "+14155551223")
                let ids = try await store.enqueue([
                    try Fixture.request(dials), try Fixture.request(withdrawn),
                    try Fixture.request(downgraded, purpose: .telemarketing, consent: .priorExpressWritten),
                ]).map(\.jobID)
                // After enqueue: one job's evidence is removed (as rows from before migration 0009 have none), another's
                // is corrected to prior express consent only, which does not cover telemarketing.
                try await Fixture.consent(store, [ids[1]], type: nil)
                try await Fixture.consent(store, [ids[2]], type: .priorExpress)
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL))

                #expect(await fake.ledger.calls.map(\.to) == [dials])
                let dialed = try #require(try await store.job(ids[0]))
                #expect(dialed.state == .awaitingOutcome)
                let dialAttempt = try #require(try await store.attempts(jobID: ids[0]).first { $0.kind == "dial" })
                #expect(dialAttempt.detail?["consent_type"] == "prior_express" && dialAttempt.detail?["purpose"] == "informational")

                let none = try #require(try await store.job(ids[1]))
                #expect(none.state == .failed && none.lastError?.error == .consentRequired)
                #expect(none.lastError?.details == ["purpose": "informational", "required": "prior_express", "consent_type": .null])
                let gate = try #require(try await store.attempts(jobID: ids[1]).first)
                #expect(gate.kind == "gate" && gate.outcome == "block" && gate.detail?["rule"] == "consent: informational needs prior_express")

                let pec = try #require(try await store.job(ids[2]))
                #expect(pec.state == .failed && pec.lastError?.error == .consentRequired)
                #expect(pec.lastError?.details["required"] == "prior_express_written" && pec.lastError?.details["consent_type"] == "prior_express")
                #expect(try await store.attempts(jobID: ids[2]).first?.detail?["rule"] == "consent: telemarketing needs prior_express_written")

                // Evidence backfilled, the operator retries the refused jobs: the gate lets them through.
                try await Fixture.consent(store, [ids[1]], type: .priorExpress)
                try await Fixture.consent(store, [ids[2]], type: .priorExpressWritten)
                #expect(try await store.retryFailed(RetryFilter(errorCode: "consent_required"), by: "test").retried == 2)
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL))
                #expect(try await store.job(ids[1])?.state == .awaitingOutcome)
                #expect(try await store.job(ids[2])?.state == .awaitingOutcome)
                #expect(await fake.ledger.calls.count == 3)
            }
        }
    }
}
