import Foundation
import Testing

@testable import DialerCore

@Suite("Campaign files, SQL scripts, form encoding")
struct ParsingTests {
    let defaults = CallRequest(tenantID: "acme", to: "", campaignID: "spring", objective: "Remind about the sale")

    @Test("a campaign file yields validated requests with keys derived from campaign and destination")
    func campaign() throws {
        let file = try CampaignFile.parse("to,objective,priority\n+14155551234,,2\n\"+14155551235\",\"Say \"\"hi\"\", then ask\",\n", defaults: defaults)
        #expect(file.errors.isEmpty)
        #expect(file.requests.count == 2)
        #expect(file.requests[0].request.priority == 2)
        #expect(file.requests[0].request.objective == "Remind about the sale")
        #expect(file.requests[1].request.objective == "Say \"hi\", then ask")
        #expect(file.requests[0].request.idempotencyKey == "campaign:spring:+14155551234")
        #expect(file.lines == [2, 3])
    }

    @Test("bad rows are reported with their line and code, good rows are kept")
    func badRows() throws {
        let text = "to,outcome_schema,max_attempts\n+14155551234,,\n+1415,,\n+14155551236,[1],\n+14155551237,,many\n+14155551238\n"
        let file = try CampaignFile.parse(text, defaults: defaults)
        #expect(file.requests.map(\.request.to) == ["+14155551234"])
        #expect(file.errors.map(\.line) == [3, 4, 5, 6])
        #expect(file.errors.map(\.error.error) == [.invalidPhone, .outcomeSchemaInvalid, .invalidRequest, .invalidRequest])
    }

    @Test("a file without a 'to' column, or with an unknown column, is refused whole")
    func badHeader() {
        #expect(throws: OpenPhnError.self) { try CampaignFile.parse("phone\n+14155551234\n", defaults: defaults) }
        #expect(throws: OpenPhnError.self) { try CampaignFile.parse("to,colour\n+14155551234,red\n", defaults: defaults) }
    }

    @Test("migrations split at top-level semicolons only")
    func sqlSplit() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'a;b');
            /* block; comment */ COMMENT ON TABLE a IS $$one; two$$;
            DO $body$ BEGIN PERFORM 1; END $body$;
            SELECT "we;ird" FROM a
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("DEFAULT 'a;b')"))
        #expect(statements[1].contains("$$one; two$$"))
        #expect(statements[2].hasPrefix("DO $body$"))
        #expect(statements[3] == "SELECT \"we;ird\" FROM a")
    }

    @Test("the shipped migration splits into statements that all look like SQL")
    func shippedMigration() throws {
        let migrations = try Migration.bundled()
        #expect(migrations.first?.version == 1)
        #expect(migrations.map(\.version) == Array(1...migrations.count))
        for migration in migrations {
            let statements = SQLScript.statements(migration.sql)
            #expect(statements.count >= 2, "\(migration.name)")
            #expect(statements.allSatisfy { $0.first?.isLetter == true })
        }
    }

    @Test("form encoding keeps the + of E.164 and round-trips")
    func form() {
        let encoded = FormEncoding.encode([("To", "+14155551234"), ("Url", "http://x/y?job=1&attempt=2"), ("Note", "a b")])
        #expect(encoded == "To=%2B14155551234&Url=http%3A%2F%2Fx%2Fy%3Fjob%3D1%26attempt%3D2&Note=a%20b")
        let decoded = FormEncoding.decode(encoded)
        #expect(decoded.map(\.0) == ["To", "Url", "Note"])
        #expect(decoded.map(\.1) == ["+14155551234", "http://x/y?job=1&attempt=2", "a b"])
        // Every other byte as two upper-case hex digits, UTF-8 byte by byte.
        #expect(FormEncoding.escape("é\n~-._*") == "%C3%A9%0A~-._%2A")
        #expect(FormEncoding.decode(FormEncoding.encode([("Ω", "\u{1F600}\t")])).map { [$0.0, $0.1] } == [["Ω", "\u{1F600}\t"]])
    }
}

@Suite("Settings")
struct SettingsTests {
    let good = [
        "DATABASE_URL": "postgres://dialer@127.0.0.1:55432/dialer", "TWILIO_ACCOUNT_SID": "AC" + String(repeating: "a", count: 32),
        "TWILIO_AUTH_TOKEN": "t0ken", "DIALER_VOICE_URL": "https://agent.example/twiml",
    ]

    func problem(_ env: [String: String], requireTwilio: Bool = true) -> SettingError? {
        do { _ = try DialerSettings.load(environment: env, requireTwilio: requireTwilio); return nil } catch { return error }
    }

    @Test("a complete environment loads, with defaults for the rest")
    func loads() throws {
        let settings = try DialerSettings.load(environment: good, requireTwilio: true)
        #expect(settings.worker.concurrency == 32)
        #expect(settings.twilio?.baseURL == "https://api.twilio.com")
        #expect("\(settings.twilio!.secret)" == "<redacted>")
    }

    @Test("a missing or malformed setting names itself")
    func names() {
        var env = good
        env["DATABASE_URL"] = nil
        #expect(problem(env)?.setting == "DATABASE_URL")
        #expect(problem(good.merging(["DATABASE_URL": "mysql://x"]) { $1 })?.setting == "DATABASE_URL")
        #expect(problem(good.merging(["TWILIO_ACCOUNT_SID": "AC123"]) { $1 })?.setting == "TWILIO_ACCOUNT_SID")
        #expect(problem(good.merging(["DIALER_CONCURRENCY": "lots"]) { $1 })?.setting == "DIALER_CONCURRENCY")
        #expect(problem(good.merging(["DIALER_CONCURRENCY": "0"]) { $1 })?.setting == "DIALER_CONCURRENCY")
        #expect(problem(good.merging(["TWILIO_BASE_URL": "ftp://x"]) { $1 })?.setting == "TWILIO_BASE_URL")
        #expect(problem(good.merging(["DIALER_LEASE_SECONDS": "10"]) { $1 })?.setting == "DIALER_LEASE_SECONDS")
        var noToken = good
        noToken["TWILIO_AUTH_TOKEN"] = nil
        #expect(problem(noToken)?.setting == "TWILIO_AUTH_TOKEN")
        #expect(problem(noToken, requireTwilio: false) == nil)
    }
}

@Suite("Dial-time gate")
struct DialGateTests {
    /// Wednesday 2026-12-02 10:00 in California: legal for a 415 number.
    static let noon = ISO8601DateFormatter().date(from: "2026-12-02T18:00:00Z")!

    func call(verification: VerificationStatus = .approved, subaccount: String? = "AC" + String(repeating: "0", count: 32), active: Bool = true,
              owned: Bool = true, destination: String = "+14155551234", expiresIn: TimeInterval? = nil, global: Bool = false, tenant: Bool = false,
              recentDials: Int = 0, oldest: Date? = nil) -> ClaimedCall {
        ClaimedCall(jobID: 1, tenantID: "acme", campaignID: nil, destination: destination, attempt: 1, maxAttempts: 4,
                    expiresAt: expiresIn.map { Self.noon.addingTimeInterval($0) }, verification: verification, subaccountSID: subaccount,
                    callerE164: "+14155550100", callerActive: active, callerOwnedByTenant: owned, claimedAt: Self.noon,
                    onGlobalDNC: global, onTenantDNC: tenant, recentDials: recentDials, oldestRecentDial: oldest)
    }

    func decide(_ c: ClaimedCall, at: Date = DialGateTests.noon) -> GateDecision { DialGate().decide(c, at: at) }

    @Test("an approved tenant with an active number, inside calling hours, is allowed, and the audit names the zone")
    func allow() {
        let decision = decide(call())
        #expect(decision.verdict == .allow)
        #expect(decision.rule == "US-FED 08:00-21:00 America/Los_Angeles")
        #expect(decision.audit["local_time"] == .array(["America/Los_Angeles 2026-12-02 10:00 Wed"]))
    }

    @Test("pending review defers with verification_pending; rejected blocks with it")
    func verification() {
        let pending = decide(call(verification: .pendingReview))
        #expect(pending.verdict == .deferred(until: Self.noon.addingTimeInterval(900)))
        #expect(pending.error?.error == .verificationPending)
        #expect(decide(call(verification: .rejected)).verdict == .block)
        #expect(decide(call(verification: .rejected)).error?.error == .verificationPending)
    }

    @Test("no subaccount, an inactive number or another tenant's number blocks with no_active_number")
    func numbers() {
        for c in [call(subaccount: nil), call(active: false), call(owned: false)] {
            #expect(decide(c).verdict == .block)
            #expect(decide(c).error?.error == .noActiveNumber)
        }
    }

    @Test("an expired job and an invalid destination are blocked")
    func expiryAndNumber() {
        #expect(decide(call(expiresIn: -1)).error?.error == .jobExpired)
        #expect(decide(call(destination: "+1911")).error?.error == .invalidPhone)
        #expect(decide(call(destination: "+19005551234")).error?.error == .invalidPhone)
    }

    @Test("a number on the tenant's or the global DNC list is blocked with its source")
    func dnc() {
        let tenant = decide(call(global: true, tenant: true))
        #expect(tenant.error == OpenPhnError(.dncBlocked, "Destination +14155551234 is on your DNC list.", details: ["suppression_source": "tenant"]))
        let global = decide(call(global: true))
        #expect(global.error == OpenPhnError(.dncBlocked, "Destination +14155551234 is on the global DNC list.", details: ["suppression_source": "global"]))
    }

    @Test("outside hours the job is deferred to the next window; past its expiry it fails with call_hours_violation")
    func hours() {
        let night = ISO8601DateFormatter().date(from: "2026-12-02T06:00:00Z")!
        let deferred = decide(call(), at: night)
        #expect(deferred.verdict == .deferred(until: ISO8601DateFormatter().date(from: "2026-12-02T16:00:00Z")!))
        #expect(deferred.error?.error == .callHoursViolation)
        // Expires an hour after the claim, ten hours before the window opens.
        let c = ClaimedCall(jobID: 1, tenantID: "acme", campaignID: nil, destination: "+14155551234", attempt: 1, maxAttempts: 4,
                        expiresAt: night.addingTimeInterval(3600), verification: .approved, subaccountSID: "AC1", callerE164: "+14155550100",
                        callerActive: true, callerOwnedByTenant: true, claimedAt: night)
        let expired = decide(c, at: night)
        #expect(expired.verdict == .block)
        #expect(expired.error?.error == .callHoursViolation)
    }

    @Test("Florida's cap of 3 calls in 24 hours defers the fourth until the oldest leaves the window, inside legal hours")
    func frequencyCap() {
        let now = ISO8601DateFormatter().date(from: "2026-12-02T15:00:00Z")!
        let oldest = ISO8601DateFormatter().date(from: "2026-12-02T10:00:00Z")!
        let capped = decide(call(destination: "+13055551234", recentDials: 3, oldest: oldest), at: now)
        #expect(capped.verdict == .deferred(until: ISO8601DateFormatter().date(from: "2026-12-03T13:00:00Z")!))
        #expect(capped.error?.details["max_calls_24h"] == 3)
        #expect(decide(call(destination: "+13055551234", recentDials: 2, oldest: oldest), at: now).verdict == .allow)
        #expect(decide(call(destination: "+12125551234", recentDials: 5, oldest: oldest), at: now).verdict == .allow)
    }

    @Test("the deferral spread stays within its bound")
    func spread() {
        var random = SystemRandomNumberGenerator()
        let gate = DialGate(spread: .seconds(300))
        for _ in 0..<100 {
            let delay = gate.delay(until: Self.noon.addingTimeInterval(60), now: Self.noon, using: &random).seconds
            #expect(delay >= 60 && delay < 360)
        }
    }
}

@Suite("Settings: the simulated gate clock")
struct GateClockSettingTests {
    let base = [
        "DATABASE_URL": "postgres://dialer@127.0.0.1:55432/dialer", "TWILIO_ACCOUNT_SID": "AC" + String(repeating: "a", count: 32),
        "TWILIO_AUTH_TOKEN": "t", "DIALER_VOICE_URL": "https://agent.example/twiml", "DIALER_GATE_TIME": "2026-12-02T18:00:00Z",
    ]

    @Test("DIALER_GATE_TIME is refused against real Twilio and honoured against a loopback fake")
    func loopbackOnly() throws {
        #expect(throws: SettingError.self) { try DialerSettings.load(environment: base, requireTwilio: true) }
        let local = try DialerSettings.load(environment: base.merging(["TWILIO_BASE_URL": "http://127.0.0.1:8080"]) { $1 }, requireTwilio: true)
        #expect(abs(local.worker.gateClockOffset.seconds - ISO8601DateFormatter().date(from: "2026-12-02T18:00:00Z")!.timeIntervalSinceNow) < 5)
    }
}
