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
        for migration in migrations {
            let statements = SQLScript.statements(migration.sql)
            #expect(statements.count > 5)
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

@Suite("Dial-time gate (account checks)")
struct DialGateTests {
    func call(verification: VerificationStatus = .approved, subaccount: String? = "AC" + String(repeating: "0", count: 32), active: Bool = true,
              owned: Bool = true, destination: String = "+14155551234", expiresIn: TimeInterval? = nil) -> ClaimedCall {
        let now = Date()
        return ClaimedCall(jobID: 1, tenantID: "acme", campaignID: nil, destination: destination, attempt: 1, maxAttempts: 4,
                           expiresAt: expiresIn.map { now.addingTimeInterval($0) }, verification: verification, subaccountSID: subaccount,
                           callerE164: "+14155550100", callerActive: active, callerOwnedByTenant: owned, claimedAt: now)
    }

    @Test("an approved tenant with an active number is allowed")
    func allow() { #expect(DialGate().decide(call()) == .allow) }

    @Test("pending review defers with verification_pending; rejected blocks with it")
    func verification() {
        guard case .deferred(_, let reason, _) = DialGate().decide(call(verification: .pendingReview)) else { Issue.record("expected defer"); return }
        #expect(reason.error == .verificationPending)
        guard case .block(let error, _) = DialGate().decide(call(verification: .rejected)) else { Issue.record("expected block"); return }
        #expect(error.error == .verificationPending)
    }

    @Test("no subaccount, an inactive number or another tenant's number blocks with no_active_number")
    func numbers() {
        for c in [call(subaccount: nil), call(active: false), call(owned: false)] {
            guard case .block(let error, _) = DialGate().decide(c) else { Issue.record("expected block"); continue }
            #expect(error.error == .noActiveNumber)
        }
    }

    @Test("an expired job and an invalid destination are blocked")
    func expiryAndNumber() {
        guard case .block(let expired, _) = DialGate().decide(call(expiresIn: -1)) else { Issue.record("expected block"); return }
        #expect(expired.error == .jobExpired)
        guard case .block(let invalid, _) = DialGate().decide(call(destination: "+1911")) else { Issue.record("expected block"); return }
        #expect(invalid.error == .invalidPhone)
    }
}
