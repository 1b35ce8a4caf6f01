import Foundation
import Testing

@testable import DialerCore

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

    @Test("DIALER_AGENT_TOKEN: unset turns the agent's routes off; a short token is refused without echoing it; the secret matches only itself")
    func agentToken() throws {
        #expect(try DialerSettings.load(environment: good, requireTwilio: false).agentToken == nil)
        let token = "agent-token-0123456789abcdef"
        let settings = try DialerSettings.load(environment: good.merging(["DIALER_AGENT_TOKEN": token]) { $1 }, requireTwilio: false)
        #expect(settings.agentToken?.matches(token) == true)
        #expect(settings.agentToken?.matches(token + "x") == false && settings.agentToken?.matches("") == false)
        #expect("\(settings.agentToken!)" == "<redacted>" && !"\(settings)".contains(token))
        let short = problem(good.merging(["DIALER_AGENT_TOKEN": "short-one"]) { $1 })
        #expect(short?.setting == "DIALER_AGENT_TOKEN" && short?.description.contains("short-one") == false)
        #expect(problem(good.merging(["DIALER_AGENT_TOKEN": "has a space in the middle"]) { $1 })?.setting == "DIALER_AGENT_TOKEN")
    }

    @Test("behind PgBouncer: prepared statements on by default and off on request; LISTEN on the pool, a direct URL, or off")
    func pooler() throws {
        let plain = try DialerSettings.load(environment: good, requireTwilio: false)
        #expect(plain.preparedStatements && plain.listen == .pool)
        let pooled = try DialerSettings.load(environment: good.merging(["DIALER_PREPARED_STATEMENTS": "off",
                                                                        "DIALER_LISTEN_DATABASE_URL": "postgres://dialer@10.0.0.5:5432/dialer"]) { $1 },
                                             requireTwilio: false)
        #expect(!pooled.preparedStatements && pooled.listen == .url("postgres://dialer@10.0.0.5:5432/dialer"))
        #expect(try DialerSettings.load(environment: good.merging(["DIALER_LISTEN_DATABASE_URL": "OFF"]) { $1 }, requireTwilio: false).listen == .off)
        #expect(problem(good.merging(["DIALER_PREPARED_STATEMENTS": "sometimes"]) { $1 })?.setting == "DIALER_PREPARED_STATEMENTS")
        #expect(problem(good.merging(["DIALER_LISTEN_DATABASE_URL": "mysql://x"]) { $1 })?.setting == "DIALER_LISTEN_DATABASE_URL")
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
