import AsyncHTTPClient
import DialerCore
import FakeTwilio
import Foundation
import NIOCore
import NIOHTTP1
import DialerOps
import PostgresNIO
import Prometheus
import Testing

/// Revocation (FCC 24-24): `dialer opt-out` and the agent's `POST /v1/opt-outs` list the number, cancel its waiting
/// jobs and audit it, at once.
@Suite("Opt-out: dialer opt-out and POST /v1/opt-outs")
struct OptOutTests {
    static let number = "+14155551301"
    static let agentToken = "agent-token-\(UInt64.random(in: 0...UInt64.max))-0123456789"

    /// The source stored with a tenant's do-not-call entry, or `nil` when the number is not on its list.
    static func dncSource(_ store: JobStore, tenant: String, number: String) async throws -> String? {
        let numeric = try PhoneNumber(validating: number).numeric
        let rows = try await store.client.query("SELECT source FROM dnc_tenant WHERE tenant_id = \(tenant) AND number = \(numeric)",
                                                logger: store.logger)
        for try await source in rows.decode(String.self) { return source }
        return nil
    }

    @Test("dialer opt-out lists the number with its source, cancels only that tenant's waiting jobs to it, audits it; a later call to it is dnc_blocked")
    func cliOptOut() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, schema in
                try await Fixture.tenant(store, id: "acme")
                try await Fixture.tenant(store, id: "globex")
                let other = "+14155551302"
                // Three jobs of acme to the number (each enqueue holds a person once), one to another number, one of globex.
                var acme: [Int64] = []
                for key in ["a", "b", "c"] { acme.append(try await store.enqueue([try Fixture.request(Self.number, key: key)])[0].jobID) }
                let paused = try await store.enqueue([try Fixture.request(Self.number, key: "d")])[0].jobID
                let neighbour = try await store.enqueue([try Fixture.request(other)])[0].jobID
                let globex = try await store.enqueue([try Fixture.request(Self.number, tenant: "globex")])[0].jobID
                try await Fixture.job(store, acme[1], state: .deferred, runIn: .seconds(3600))
                try await Fixture.job(store, acme[2], state: .active)
                try await Fixture.job(store, paused, state: .paused)

                let env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: baseURL)
                let result = try await TestProcess.run(["opt-out", Self.number, "--tenant", "acme", "--source", "said stop on call CA1", "--json"],
                                                       environment: env)
                #expect(result.status == 0, "\(result.stderr)")
                let json = try #require(JSONValue.parse(result.stdout), "\(result.stdout)")
                #expect(json["cancelled_jobs"] == 3 && json["in_flight_jobs"] == 1 && json["added_to_dnc"] == true, "\(result.stdout)")
                #expect(json["tenant_id"] == "acme" && json["to"] == .string(Self.number) && json["source"] == "said stop on call CA1")

                for id in [acme[0], acme[1], paused] {
                    #expect(try await store.job(id)?.state == .cancelled, "job \(id)")
                    let row = try #require(try await store.attempts(jobID: id).last)
                    #expect(row.kind == "operator" && row.outcome == "cancelled" && row.worker.hasPrefix("operator:"))
                    #expect(row.detail?["reason"] == "opted_out" && row.detail?["source"] == "said stop on call CA1")
                }
                // In flight: left alone. Another number and another tenant: untouched.
                #expect(try await store.job(acme[2])?.state == .active)
                #expect(try await store.job(neighbour)?.state == .queued)
                #expect(try await store.job(globex)?.state == .queued)
                #expect(try await Self.dncSource(store, tenant: "acme", number: Self.number) == "said stop on call CA1")
                #expect(try await Self.dncSource(store, tenant: "globex", number: Self.number) == nil)

                let audit = try await store.auditLog(tenant: "acme")
                #expect(audit.count == 1)
                let entry = try #require(audit.first)
                #expect(entry.action == "opt_out" && entry.actor.hasPrefix("operator:") && entry.affected == 3)
                #expect(entry.source == "said stop on call CA1" && entry.scope["destination"] == .string(Self.number))
                #expect(entry.scope["in_flight"] == 1 && entry.scope["already_listed"] == false)
                #expect(try await store.auditLog(tenant: "globex").isEmpty)

                // Again: already listed, nothing left to cancel, audited again.
                let again = try #require(JSONValue.parse(try await TestProcess.run(
                    ["opt-out", Self.number, "--tenant", "acme", "--json"], environment: env).stdout))
                #expect(again["added_to_dnc"] == false && again["cancelled_jobs"] == 0)
                #expect(try await store.auditLog(tenant: "acme").count == 2)

                // The in-flight job finishes; a new call to the number is enqueued and drained: the gate blocks it.
                try await Fixture.job(store, acme[2], state: .failed)
                let enqueued = try await TestProcess.run(
                    ["enqueue", "--tenant", "acme", "--to", Self.number, "--objective", "Follow up"] + TestProcess.consentFlags, environment: env)
                #expect(enqueued.status == 0, "\(enqueued.stderr)")
                let drained = try await TestProcess.run(["drain", "--tenant", "acme"], environment: env, timeout: .seconds(120))
                #expect(drained.status == 0, "\(drained.stderr)")
                let later = try await store.scalar("SELECT max(id)::bigint FROM call_jobs WHERE tenant_id = 'acme' AND destination = \(Self.number)")
                let blocked = try #require(try await store.job(Int64(later)))
                #expect(blocked.state == .failed && blocked.lastError?.error == .dncBlocked)
                #expect(blocked.lastError?.details["suppression_source"] == "tenant")
                #expect(await fake.ledger.calls(to: Self.number).isEmpty)
                #expect(await fake.ledger.calls.map(\.to) == [other])
                #expect(try await store.job(globex)?.state == .queued)
            }
        }
    }

    @Test("dialer opt-out refuses an invalid number (invalid_phone, exit 2) and an unknown tenant (not_found, exit 1), writing nothing")
    func cliErrors() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try TestProcess.dialerEnvironment(schema: schema)
            CLIErrorTests.expectOneLine(try await TestProcess.run(["opt-out", "+1415555", "--tenant", "acme"], environment: env), code: "invalid_phone",
                                        mentions: ["+1415555"])
            CLIErrorTests.expectOneLine(try await TestProcess.run(["opt-out", Self.number, "--tenant", "nobody"], environment: env), status: 1,
                                        code: "not_found", mentions: ["nobody"])
            let long = try await TestProcess.run(["opt-out", Self.number, "--tenant", "acme", "--source", String(repeating: "x", count: 501), "--json"],
                                                 environment: env)
            #expect(long.status == 2 && JSONValue.parse(long.stdout)?["details"]?["field"] == "source", "\(long.stdout)")
            #expect(try await store.scalar("SELECT count(*)::bigint FROM dnc_tenant") == 0)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM audit_log") == 0)
        }
    }

    /// POSTs `body` to `url` with `Authorization: Bearer token` (none when `nil`); the status, the JSON answer and the
    /// `WWW-Authenticate` header.
    static func post(_ url: String, body: String, token: String?) async throws -> (status: Int, json: JSONValue?, authenticate: String?) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        request.body = .bytes(ByteBuffer(string: body))
        let response = try await HTTPClient.shared.execute(request, timeout: TestServer.clientTimeout)
        return (Int(response.status.code), JSONValue.parse(String(buffer: try await response.body.collect(upTo: 1 << 16))),
                response.headers.first(name: "WWW-Authenticate"))
    }

    /// `dialer serve`'s environment for the test schema, with `DIALER_AGENT_TOKEN` when `token` is given.
    static func serveEnvironment(schema: String, token: String?) throws -> [String: String] {
        var env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: "http://127.0.0.1:9")
        env["DIALER_STATUS_CALLBACK_URL"] = "https://dialer.example.com/twilio/status"
        env["DIALER_AGENT_TOKEN"] = token
        return env
    }

    @Test("POST /v1/opt-outs on dialer serve: API keys only without DIALER_AGENT_TOKEN (the agent token is then 401), 401 without or with a wrong token, 400 for a bad body, 201 when recorded")
    func serveRoute() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store, id: "acme")
            try await Fixture.tenant(store, id: "globex")
            let job = try await store.enqueue([try Fixture.request(Self.number)])[0].jobID
            let globexJob = try await store.enqueue([try Fixture.request(Self.number, tenant: "globex")])[0].jobID
            let sid = "CA" + String(repeating: "0f", count: 16)
            let good = #"{"tenant_id": "acme", "to": "\#(Self.number)", "source": "agent: callee said stop", "call_sid": "\#(sid)"}"#

            // Without the setting the route takes tenants' API keys only.
            let (off, offBase) = try await TestProcess.serve(environment: try Self.serveEnvironment(schema: schema, token: nil))
            let missing = try await Self.post(offBase + "/v1/opt-outs", body: good, token: Self.agentToken)
            #expect(missing.status == 401 && missing.json?["error"] == "invalid_token", "\(String(describing: missing.json))")
            off.terminate()
            #expect(await off.exitStatus() == 0)

            let (serve, base) = try await TestProcess.serve(environment: try Self.serveEnvironment(schema: schema, token: Self.agentToken))
            let url = base + "/v1/opt-outs"
            for token in [nil, "wrong-token-0123456789abcdef", Self.agentToken + "x"] {
                let refused = try await Self.post(url, body: good, token: token)
                #expect(refused.status == 401 && refused.json?["error"] == "invalid_token", "\(String(describing: token))")
                #expect(refused.json?["message"] != nil && refused.json?["details"] != nil && refused.authenticate == "Bearer")
            }
            let cases: [(String, Int, String, String?)] = [
                ("{not json", 400, "invalid_request", "body"),
                (#"["a list"]"#, 400, "invalid_request", "body"),
                (#"{"tenant_id": "acme", "source": "x"}"#, 400, "invalid_request", "to"),
                (#"{"tenant_id": "acme", "to": "\#(Self.number)"}"#, 400, "invalid_request", "source"),
                (#"{"tenant_id": 7, "to": "\#(Self.number)", "source": "x"}"#, 400, "invalid_request", "tenant_id"),
                (#"{"tenant_id": "acme", "to": "\#(Self.number)", "source": "x", "call_sid": "nope"}"#, 400, "invalid_request", "call_sid"),
                (#"{"tenant_id": "acme", "to": "+1415555", "source": "x"}"#, 400, "invalid_phone", "to"),
                (#"{"tenant_id": "nobody", "to": "\#(Self.number)", "source": "x"}"#, 404, "not_found", nil),
            ]
            for (body, status, code, field) in cases {
                let answer = try await Self.post(url, body: body, token: Self.agentToken)
                #expect(answer.status == status && answer.json?["error"] == .string(code), "\(body): \(String(describing: answer.json))")
                if let field { #expect(answer.json?["details"]?["field"] == .string(field), "\(body)") }
            }
            #expect(try await store.scalar("SELECT count(*)::bigint FROM audit_log") == 0)
            #expect(try await store.job(job)?.state == .queued)

            let created = try await Self.post(url, body: good, token: Self.agentToken)
            #expect(created.status == 201, "\(String(describing: created.json))")
            #expect(created.json == .object(["tenant_id": "acme", "to": "+1415555****", "cancelled_jobs": 1, "source": "agent: callee said stop"]))
            serve.terminate()
            #expect(await serve.exitStatus() == 0)

            #expect(try await store.job(job)?.state == .cancelled)
            #expect(try await store.job(globexJob)?.state == .queued)
            #expect(try await Self.dncSource(store, tenant: "acme", number: Self.number) == "agent: callee said stop")
            let entry = try #require(try await store.auditLog(tenant: "acme").first)
            #expect(entry.actor == "agent" && entry.action == "opt_out" && entry.affected == 1 && entry.scope["call_sid"] == .string(sid))
            // The token never reaches the logs.
            #expect(!serve.stderr.contains(Self.agentToken))
        }
    }

    @Test("opt-outs through dialer serve are counted by result, with the jobs they cancelled")
    func metrics() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            _ = try await store.enqueue([try Fixture.request(Self.number)])
            let registry = PrometheusCollectorRegistry()
            let metrics = DialerMetrics(factory: PrometheusMetrics.factory(registry))
            let good = #"{"tenant_id": "acme", "to": "\#(Self.number)", "source": "agent: callee said stop"}"#
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: "https://dialer.example.com/twilio/status", metrics: metrics,
                                                             agentToken: Secret(Self.agentToken)) { base in
                #expect(try await Self.post(base + "/v1/opt-outs", body: good, token: "wrong-token-0123456789abcdef").status == 401)
                #expect(try await Self.post(base + "/v1/opt-outs", body: "{not json", token: Self.agentToken).status == 400)
                let created = try await Self.post(base + "/v1/opt-outs", body: good, token: Self.agentToken)
                #expect(created.status == 201 && created.json?["cancelled_jobs"] == 1, "\(String(describing: created.json))")
            }
            let text = Fixture.scrape(registry)
            #expect(text.contains(#"dialer_opt_outs_total{result="refused"} 2"#), "\(text)")
            #expect(text.contains(#"dialer_opt_outs_total{result="recorded"} 1"#))
            #expect(text.contains(#"dialer_opt_out_cancelled_jobs_total 1"#))
        }
    }
}
