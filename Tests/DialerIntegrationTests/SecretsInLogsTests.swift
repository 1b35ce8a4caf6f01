import DialerCore
import FakeTwilio
import Foundation
import Testing

/// Credentials never reach output, at any log level: not the auth token, not the `Authorization` header built from it
/// (base64 of `SID:token`, one decode away from the token), not the database password.
@Suite("No credential in any output")
struct SecretsInLogsTests {
    /// Everything that encodes a credential of `env`: the token, the password, and the base64 forms.
    static func secrets(of env: [String: String], password: String) -> [String] {
        let sid = env["TWILIO_ACCOUNT_SID"] ?? "", token = env["TWILIO_AUTH_TOKEN"] ?? ""
        return [token, password, Data("\(sid):\(token)".utf8).base64EncodedString(), Data(token.utf8).base64EncodedString()]
    }

    /// The test database URL with a password in it (the private cluster trusts loopback, so any password connects).
    static func urlWithPassword(_ schema: String, _ password: String) throws -> String {
        let url = try TestDatabase.url
        guard var components = URLComponents(string: url) else { return url }
        components.percentEncodedPassword = password
        return (components.string ?? url) + "?search_path=\(schema)"
    }

    @Test("dialer drain and dialer run at trace level print neither the auth token, nor its base64, nor the database password")
    func traceLevelPrintsNoSecret() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, schema in
                try await Fixture.tenant(store)
                _ = try await store.enqueue(try Fixture.destinations(2, start: 900).map { try Fixture.request($0) })
                let password = "db-pass-\(UInt32.random(in: 0...UInt32.max))"
                var env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: baseURL)
                env["DATABASE_URL"] = try Self.urlWithPassword(schema, password)
                env["DIALER_LOG_LEVEL"] = "trace"
                let secrets = Self.secrets(of: env, password: password)

                let drained = try await TestProcess.run(["drain"], environment: env)
                #expect(drained.status == 0)
                #expect(drained.stdout.contains("dialed=2"))
                // The line that printed the Twilio client's prebuilt header: it is there, and clean.
                #expect(drained.stderr.contains("Starting service lifecycle"))
                for secret in secrets {
                    #expect(!drained.stdout.contains(secret) && !drained.stderr.contains(secret), "drain printed a credential")
                }

                let run = try TestProcess.start(["run"], environment: env)
                #expect(try await run.waitForStderr(containing: "worker started"))
                run.terminate()
                #expect(await run.exitStatus() == 0)
                let text = run.stderr + run.stdout
                #expect(text.contains("Starting service lifecycle") && text.contains("DialWorker("))
                for secret in secrets { #expect(!text.contains(secret), "run printed a credential") }
                // Service descriptions are short: no number plan, no struct dumps.
                for line in text.split(separator: "\n") where line.contains("Starting service lifecycle") {
                    #expect(line.count < 1_000, "the service list is \(line.count) characters long")
                    #expect(!line.contains("authorization") && !line.contains("Secret(") && !line.contains("PostgresClient.Configuration"))
                }
            }
        }
    }
}
