import DialerCore
import FakeTwilio
import Foundation
import PostgresNIO
import Testing

@Suite("Compliance gate end to end: DNC lists, calling hours, caps")
struct ComplianceTests {
    static func lines(_ text: String) -> AsyncStream<Substring> {
        AsyncStream { continuation in
            for line in text.split(separator: "\n", omittingEmptySubsequences: false) { continuation.yield(line) }
            continuation.finish()
        }
    }

    @Test("one tenant's DNC list never blocks another tenant's call; the global list blocks everyone's; a number listed after enqueue is blocked")
    func dncIsolation() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store, id: "acme")
                try await Fixture.tenant(store, id: "globex")
                let listed = try PhoneNumber(validating: "+14155552222"), global = try PhoneNumber(validating: "+14155553333")
                let ids = try await store.enqueue([
                    try Fixture.request(listed.e164, tenant: "acme"), try Fixture.request(listed.e164, tenant: "globex"),
                    try Fixture.request(global.e164, tenant: "globex"),
                ]).map(\.jobID)
                // Both lists change after enqueue, before the dial.
                #expect(try await store.addDNC(listed, to: .tenant("acme")))
                #expect(try await store.addDNC(global, to: .global))
                #expect(try await store.addDNC(global, to: .global) == false)
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL))
                let acme = try #require(try await store.job(ids[0]))
                #expect(acme.state == .failed)
                #expect(acme.lastError == OpenPhnError(.dncBlocked, "Destination +14155552222 is on your DNC list.", details: ["suppression_source": "tenant"]))
                #expect(try await store.job(ids[1])?.state == .awaitingOutcome)
                #expect(try await store.job(ids[2])?.lastError?.details["suppression_source"] == "global")
                #expect(await fake.ledger.calls.map(\.to) == [listed.e164])
                let audit = try #require(try await store.attempts(jobID: ids[0]).first)
                #expect(audit.kind == "gate" && audit.outcome == "block" && audit.detail?["rule"] == "tenant DNC list")
            }
        }
    }

    @Test("registry import is bulk and idempotent, reports added and removed rows, and applies change lists and full lists")
    func dncImport() async throws {
        try await TestDatabase.withStore { store, _ in
            let file = "4155550200\n4155550201\n415,5550202\nnot a number\n\n2125550300\n"
            let first = try await store.importDNC(Self.lines(file), into: .global, source: "registry")
            #expect(first.added == 4 && first.rejected == 1 && first.rejectedLines == [4])
            let again = try await store.importDNC(Self.lines(file), into: .global, source: "registry")
            #expect(again.added == 0 && again.removed == 0)
            let deletions = try await store.importDNC(Self.lines("4155550201\n4155559999\n"), into: .global, source: "registry", deletions: true)
            #expect(deletions.removed == 1)
            // A full list of area code 415 replaces the 415 entries and leaves 212 alone.
            let full = try await store.importDNC(Self.lines("4155550200\n4155550210\n"), into: .global, source: "registry", fullList: true)
            #expect(full.added == 1 && full.removed == 1)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM dnc_global") == 3)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM dnc_global WHERE number = 12125550300") == 1)
            await #expect(throws: OpenPhnError.self) { try await store.importDNC(Self.lines("4155550200\n"), into: .tenant("nobody"), source: "x") }
        }
    }

    @Test("outside calling hours the job is deferred to the next window without spending an attempt")
    func deferralKeepsAttempts() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let id = try await store.enqueue([try Fixture.request("+14155554444")])[0].jobID
                // 22:00 in California.
                let night = ISO8601DateFormatter().date(from: "2026-12-03T06:00:00Z")!
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL), worker: Fixture.worker(at: night), wait: nil)
                let job = try #require(try await store.job(id))
                #expect(job.state == .deferred)
                #expect(job.attempt == 0)
                #expect(job.lastError?.error == .callHoursViolation)
                // Next window: 08:00 PST = 16:00Z, ten hours after "now", plus at most five minutes of spread.
                #expect(job.runInSeconds > 10 * 3600 - 60 && job.runInSeconds < 10 * 3600 + 300 + 60)
                let audit = try #require(try await store.attempts(jobID: id).first)
                #expect(audit.outcome == "defer" && audit.detail?["next_allowed_at"] == "2026-12-03T16:00:00Z")
                #expect(audit.detail?["local_time"] == .array(["America/Los_Angeles 2026-12-02 22:00 Wed"]))
                #expect(await fake.ledger.requests == 0)
            }
        }
    }

    @Test("a job whose next legal window starts after its expiry fails with call_hours_violation")
    func expiryBeforeWindow() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let night = ISO8601DateFormatter().date(from: "2026-12-03T06:00:00Z")!
            // Expires an hour from now (database time); the gate sees it an hour after its simulated night, and the 08:00
            // window is ten hours away.
            let request = try CallRequest(tenantID: "acme", to: "+14155554445", objective: "x", expiresAt: Date().addingTimeInterval(3600)).withConsent().validated()
            let id = try await store.enqueue([request])[0].jobID
            try await Fixture.drain(store, twilio: Fixture.twilio("http://127.0.0.1:9"), worker: Fixture.worker(at: night), wait: nil)
            let job = try #require(try await store.job(id))
            #expect(job.state == .failed)
            #expect(job.lastError?.error == .callHoursViolation)
            #expect(job.lastError?.details["expires_at"] != nil)
        }
    }

    @Test("Florida's cap: the fourth call to one person within 24 hours is deferred, not dialed")
    func frequencyCap() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, schema in
                try await Fixture.tenant(store)
                let miami = "+13055557777"
                // Four enqueues: one enqueue never holds the same person twice.
                var ids: [Int64] = []
                for call in 1...4 { ids.append(try await store.enqueue([try Fixture.request(miami, key: "k\(call)")])[0].jobID) }
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL), worker: Fixture.worker(concurrency: 1), wait: nil)
                var states: [JobState] = []
                for id in ids { states.append(try await store.job(id)?.state ?? .queued) }
                #expect(states.filter { $0 == .awaitingOutcome }.count == 3)
                #expect(states.filter { $0 == .deferred }.count == 1)
                #expect(await fake.ledger.calls(to: miami).count == 3)
                // `dialer check` counts the same dials (the shared 24-hour fragment): the person is capped, a neighbour is not.
                let env = try TestProcess.dialerEnvironment(schema: schema)
                let capped = try await TestProcess.run(["check", miami, "--tenant", "acme", "--at", "2026-12-02T18:00:00Z", "--json"], environment: env)
                #expect(capped.status == 0)
                let decision = try #require(JSONValue.parse(capped.stdout), "\(capped.stdout) \(capped.stderr)")
                #expect(decision["decision"] == "defer", "\(capped.stdout)")
                let free = try await TestProcess.run(["check", "+13055557778", "--tenant", "acme", "--at", "2026-12-02T18:00:00Z", "--json"],
                                                     environment: env)
                #expect(JSONValue.parse(free.stdout)?["decision"] == "allow", "\(free.stdout)")
            }
        }
    }

    @Test("dialer check prints the decision as one JSON object")
    func checkJSON() async throws {
        let result = try await TestProcess.run(["check", "+15045551234", "--at", "2026-11-29T18:00:00Z", "--json"], environment: [:])
        #expect(result.status == 0)
        let json = try #require(JSONValue.parse(result.stdout))
        #expect(json["decision"] == "defer")
        #expect(json["next_allowed_at"] == "2026-11-30T14:00:00Z")
        #expect(json["error"] == "call_hours_violation")
        #expect(json["time_zones"] == .array(["America/Chicago"]))
        #expect(json["region"] == "US-LA")
        #expect(json["rule"]?.stringValue?.contains("LA no calls on Sunday") == true)
    }
}

@Suite("Compliance: the tenant's own window")
struct TenantWindowTests {
    @Test("a tenant's stricter window defers a call the law would allow, and the claim carries it")
    func tenantWindow() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await store.upsertTenant(id: "acme", verification: .approved, subaccountSID: Fixture.subaccount, callWindow: DailyWindow("11:00-17:00"))
            _ = try await store.enqueue([try Fixture.request("+12125551234")])
            let call = try #require(try await store.claim(limit: 1, worker: "w", lease: .seconds(30)).first)
            #expect(call.tenantWindow == DailyWindow("11:00-17:00"))
            // 10:00 in New York: legal federally, before the tenant's 11:00.
            let decision = DialGate().decide(call, at: ISO8601DateFormatter().date(from: "2026-12-02T15:00:00Z")!)
            #expect(decision.verdict == .deferred(until: ISO8601DateFormatter().date(from: "2026-12-02T16:00:00Z")!))
            #expect(decision.rule.contains("tenant 11:00-17:00"))
        }
    }
}
