import AsyncHTTPClient
import DialerCore
import DialerOps
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing

/// The tenants' `/v1` calls behind API keys, over real HTTP against `dialer serve`'s public server and PostgreSQL:
/// every auth code of the contract, the rate budget, tenant isolation, and the keys made by the `dialer keys` CLI.
@Suite("API keys and /v1/calls")
struct APIKeyTests {
    static let number = "+14155551401"

    struct Answer {
        let status: Int
        let json: JSONValue?
        let headers: HTTPHeaders
        var code: String? { json?["error"]?.stringValue }
    }

    static func send(_ method: HTTPMethod, _ url: String, body: String? = nil, token: String?, headers: [(String, String)] = [],
                     timeout: TimeAmount = TestServer.clientTimeout) async throws -> Answer {
        var request = HTTPClientRequest(url: url)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: token.contains(" ") ? token : "Bearer \(token)") }
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        let response = try await HTTPClient.shared.execute(request, timeout: timeout)
        return Answer(status: Int(response.status.code), json: JSONValue.parse(String(buffer: try await response.body.collect(upTo: 1 << 24))),
                      headers: response.headers)
    }

    static func call(_ to: String = number, extra: String = "") -> String {
        #"{"to": "\#(to)", "objective": "Confirm the appointment", "consent": {"type": "prior_express", "at": "2026-01-05T10:00:00Z", "source": "web form 12"}\#(extra)}"#
    }

    static func key(_ store: JobStore, tenant: String = "acme", scopes: [APIScope] = [.callsWrite, .callsRead], numbers: [String]? = nil,
                    expiresAt: Date? = nil, rate: Double = 100, burst: Int = 100) async throws -> IssuedAPIKey
    {
        try await store.createKey(APIKeyRequest(tenantID: tenant, scopes: scopes, numbers: try numbers?.map { try PhoneNumber(validating: $0) },
                                                expiresAt: expiresAt, ratePerSecond: rate, burst: burst), by: "test")
    }

    @Test("every auth code: invalid_token (missing, not Bearer, malformed, unknown), dashboard_only, key_revoked, key_expired, scope_required")
    func authCodes() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let good = try await Self.key(store)
            let readOnly = try await Self.key(store, scopes: [.callsRead])
            let revoked = try await Self.key(store)
            _ = try await store.revokeKey(revoked.key.id, by: "test")
            let expiring = try await Self.key(store, expiresAt: Date().addingTimeInterval(1))
            // A key stored with only its hash: no column of its row holds the key, and the hash is the key's SHA-256.
            #expect(try await store.scalar("SELECT count(*)::bigint FROM api_keys k WHERE position(\(good.secret) in k::text) > 0") == 0)
            #expect(try await store.scalar("""
                SELECT count(*)::bigint FROM api_keys WHERE id = \(good.key.id) AND secret_sha256 = sha256(convert_to(\(good.secret), 'UTF8'))
                """) == 1)
            #expect(good.secret.hasPrefix(good.key.prefix + "_") && good.secret.count == 56 && APIKeySecret.looksLikeKey(good.secret))
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: "https://dialer.example.com/twilio/status") { base in
                let url = base + "/v1/calls"
                let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJvcGVyYXRvciJ9.c2lnbmF0dXJlLWJ5dGVz"
                let wrongSecret = String(good.secret.dropLast()) + (good.secret.hasSuffix("A") ? "B" : "A")
                let cases: [(String?, Int, String)] = [
                    (nil, 401, "invalid_token"), ("Basic dXNlcjpwYXNz", 401, "invalid_token"), ("not-a-key", 401, "invalid_token"),
                    (wrongSecret, 401, "invalid_token"), (jwt, 403, "dashboard_only"), (revoked.secret, 401, "key_revoked"),
                ]
                for (token, status, code) in cases {
                    let answer = try await Self.send(.POST, url, body: Self.call(), token: token)
                    #expect(answer.status == status && answer.code == code, "\(String(describing: token?.prefix(12))): \(String(describing: answer.json))")
                    #expect(answer.json?["message"]?.stringValue != nil && answer.json?["details"] != nil)
                    if status == 401 { #expect(answer.headers.first(name: "WWW-Authenticate") == "Bearer") }
                }
                try await Task.sleep(for: .milliseconds(1_100))
                let expired = try await Self.send(.POST, url, body: Self.call(), token: expiring.secret)
                #expect(expired.status == 401 && expired.code == "key_expired", "\(String(describing: expired.json))")
                let scoped = try await Self.send(.POST, url, body: Self.call(), token: readOnly.secret)
                #expect(scoped.status == 403 && scoped.code == "scope_required" && scoped.json?["details"]?["scope"] == "calls:write")
                // Nothing was placed by any refused request.
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)
                let created = try await Self.send(.POST, url, body: Self.call(), token: good.secret)
                #expect(created.status == 201, "\(String(describing: created.json))")
                #expect(created.json?["state"] == "queued" && created.json?["to"] == .string(Self.number))
                #expect(created.headers.first(name: "RateLimit-Limit") == "100")
            }
        }
    }

    @Test("POST, GET and cancel a call; another tenant's id is 404; an Idempotency-Key returns the same call, another body with it is 409")
    func callsLifecycle() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await Fixture.tenant(store, id: "globex")
            let acme = try await Self.key(store), globex = try await Self.key(store, tenant: "globex")
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: "https://dialer.example.com/twilio/status") { base in
                let first = try await Self.send(.POST, base + "/v1/calls", body: Self.call(), token: acme.secret, headers: [("Idempotency-Key", "k-1")])
                #expect(first.status == 201, "\(String(describing: first.json))")
                let id = try #require(first.json?["id"]?.stringValue)
                let again = try await Self.send(.POST, base + "/v1/calls", body: Self.call(), token: acme.secret, headers: [("Idempotency-Key", "k-1")])
                // The stored answer, as it was first sent (a replay, not a second creation).
                #expect(again.status == 201 && again.json == first.json && again.headers.first(name: "Idempotent-Replayed") == "true")
                #expect(first.headers.first(name: "Idempotent-Replayed") == nil)
                let other = try await Self.send(.POST, base + "/v1/calls", body: Self.call("+14155551402"), token: acme.secret,
                                                headers: [("Idempotency-Key", "k-1")])
                #expect(other.status == 409 && other.code == "idempotency_conflict", "\(String(describing: other.json))")

                let read = try await Self.send(.GET, base + "/v1/calls/\(id)", token: acme.secret)
                #expect(read.status == 200 && read.json?["id"] == .string(id) && read.json?["attempts"] == .array([]))
                for path in ["/v1/calls/\(id)", "/v1/calls/999999999", "/v1/calls/abc"] {
                    let hidden = try await Self.send(.GET, base + path, token: globex.secret)
                    #expect(hidden.status == 404 && hidden.code == "not_found", "\(path)")
                }
                let foreignCancel = try await Self.send(.POST, base + "/v1/calls/\(id)/cancel", token: globex.secret)
                #expect(foreignCancel.status == 404 && foreignCancel.code == "not_found")
                #expect(try await store.job(Int64(id)!)?.state == .queued)
                let cancelled = try await Self.send(.POST, base + "/v1/calls/\(id)/cancel", token: acme.secret)
                #expect(cancelled.status == 200 && cancelled.json?["state"] == "cancelled" && cancelled.json?["cancelled"] == true)
                let twice = try await Self.send(.POST, base + "/v1/calls/\(id)/cancel", token: acme.secret)
                #expect(twice.status == 200 && twice.json?["cancelled"] == false)
            }
        }
    }

    @Test("validation: bad JSON, unknown or mistyped fields (400), values out of bounds (422), invalid_phone, outcome_schema_invalid, consent_required, dnc_blocked with its source")
    func validation() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await Fixture.tenant(store, id: "pending", verification: .pendingReview)
            // A tenant without a Twilio subaccount: nothing can be dialed for it.
            try await store.upsertTenant(id: "nosub", verification: .approved, subaccountSID: nil)
            let key = try await Self.key(store), pendingKey = try await Self.key(store, tenant: "pending")
            let noSubaccount = try await Self.key(store, tenant: "nosub")
            _ = try await store.addDNC(try PhoneNumber(validating: "+14155551410"), to: .global)
            _ = try await store.addDNC(try PhoneNumber(validating: "+14155551411"), to: .tenant("acme"))
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: "https://dialer.example.com/twilio/status") { base in
                let url = base + "/v1/calls"
                let cases: [(String, Int, String, String?)] = [
                    ("{not json", 400, "invalid_request", "body"),
                    (#"{"objective": "x"}"#, 400, "invalid_request", "to"),
                    (Self.call(extra: #", "priority": "high""#), 400, "invalid_request", "priority"),
                    (Self.call(extra: #", "tenant_id": "globex""#), 400, "invalid_request", "tenant_id"),
                    (Self.call("+1415555"), 400, "invalid_phone", nil),
                    // Well formed, but a value fails validation: 422, as the contract's table says.
                    (#"{"to": "\#(Self.number)", "objective": "\#(String(repeating: "o", count: CallRequest.maxObjectiveLength + 1))"}"#,
                     422, "invalid_request", "objective"),
                    (Self.call(extra: #", "priority": 12"#), 422, "invalid_request", "priority"),
                    (Self.call(extra: #", "expires_at": "2020-01-01T00:00:00Z""#), 422, "invalid_request", "expires_at"),
                    (Self.call(extra: #", "outcome_schema": [1]"#), 422, "outcome_schema_invalid", "outcome_schema"),
                    (#"{"to": "\#(Self.number)", "objective": "x", "purpose": "telemarketing", "consent": {"type": "prior_express", "source": "s"}}"#,
                     422, "consent_required", nil),
                    (Self.call("+14155551410"), 422, "dnc_blocked", nil),
                    (Self.call("+14155551411"), 422, "dnc_blocked", nil),
                ]
                for (body, status, code, field) in cases {
                    let answer = try await Self.send(.POST, url, body: body, token: key.secret)
                    #expect(answer.status == status && answer.code == code, "\(body): \(String(describing: answer.json))")
                    if let field { #expect(answer.json?["details"]?["field"] == .string(field), "\(body)") }
                }
                let global = try await Self.send(.POST, url, body: Self.call("+14155551410"), token: key.secret)
                #expect(global.json?["details"]?["suppression_source"] == "global")
                let tenant = try await Self.send(.POST, url, body: Self.call("+14155551411"), token: key.secret)
                #expect(tenant.json?["details"]?["suppression_source"] == "tenant")
                let unplaceable = try await Self.send(.POST, url, body: Self.call(), token: noSubaccount.secret)
                #expect(unplaceable.status == 422 && unplaceable.code == "no_active_number", "\(String(describing: unplaceable.json))")
                let pending = try await Self.send(.POST, url, body: Self.call(), token: pendingKey.secret)
                #expect(pending.status == 403 && pending.code == "verification_pending")
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)
            }
        }
    }

    @Test("a key pinned to numbers: another from is 403 number_not_allowed; no from uses its first number")
    func pinnedNumbers() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await store.upsertPhoneNumber(tenantID: "acme", e164: "+14155550199", selected: false)
            let pinned = try await Self.key(store, numbers: ["+14155550199"])
            await #expect(throws: OpenPhnError.self) { try await Self.key(store, numbers: ["+14155550198"]) }
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: "https://dialer.example.com/twilio/status") { base in
                let refused = try await Self.send(.POST, base + "/v1/calls", body: Self.call(extra: #", "from": "\#(Fixture.caller)""#), token: pinned.secret)
                #expect(refused.status == 403 && refused.code == "number_not_allowed", "\(String(describing: refused.json))")
                let placed = try await Self.send(.POST, base + "/v1/calls", body: Self.call(), token: pinned.secret)
                #expect(placed.status == 201, "\(String(describing: placed.json))")
                let id = try #require(placed.json?["id"]?.stringValue.flatMap { Int64($0) })
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs j JOIN phone_numbers p ON p.id = j.caller_number_id WHERE j.id = \(id) AND p.e164 = '+14155550199'") == 1)
            }
        }
    }

    @Test("the rate budget: a burst of 3 allows 3 and answers the 4th 429 rate_limited with Retry-After and RateLimit headers")
    func rateLimit() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            // One request per 100 s refills the budget: however slow this machine, it does not refill during the test.
            let key = try await Self.key(store, scopes: [.callsRead], rate: 0.01, burst: 3)
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: "https://dialer.example.com/twilio/status") { base in
                var remaining: [String] = []
                for _ in 0..<3 {
                    let answer = try await Self.send(.GET, base + "/v1/calls/1", token: key.secret)
                    #expect(answer.status == 404)
                    remaining.append(answer.headers.first(name: "RateLimit-Remaining") ?? "-")
                }
                #expect(remaining == ["2", "1", "0"])
                let limited = try await Self.send(.GET, base + "/v1/calls/1", token: key.secret)
                #expect(limited.status == 429 && limited.code == "rate_limited", "\(String(describing: limited.json))")
                let wait = try #require(limited.headers.first(name: "Retry-After").flatMap { Int($0) })
                // About 100 s less the time the test took so far (a loaded machine takes tens of seconds).
                #expect((1...100).contains(wait) && limited.headers.first(name: "RateLimit-Limit") == "3", "\(wait)")
                // A refused request is not charged: the budget's clock stayed where three requests left it (300 s ahead,
                // less the time taken; charged, it would be 400 s ahead).
                let ahead = try await store.scalar("SELECT round(extract(epoch FROM rate_tat - now()))::bigint FROM api_keys WHERE id = \(key.key.id)")
                #expect((200...300).contains(ahead), "\(ahead)")
                // Once the budget's clock has run down (moved back here, rather than waiting 100 s), the key works again.
                _ = try await store.client.query("UPDATE api_keys SET rate_tat = now() WHERE id = \(key.key.id)", logger: store.logger).collect()
                #expect(try await Self.send(.GET, base + "/v1/calls/1", token: key.secret).status == 404)
            }
        }
    }

    @Test("GET /v1/calls pages by cursor, newest first, filtered by campaign and state, and never shows another tenant's calls")
    func listing() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await Fixture.tenant(store, id: "globex")
            let key = try await Self.key(store)
            var mine: [Int64] = []
            for i in 0..<7 {
                let request = try CallRequest(tenantID: "acme", to: "+1415555\(2000 + i)", campaignID: i < 5 ? "spring" : "fall",
                                              objective: "Confirm", consentType: .priorExpress, consentSource: "form").validated()
                mine.append(try await store.enqueue([request])[0].jobID)
            }
            _ = try await store.enqueue([try Fixture.request("+14155552100", tenant: "globex")])
            try await Fixture.job(store, mine[1], state: .cancelled)
            let ids = mine
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: "https://dialer.example.com/twilio/status") { base in
                var seen: [String] = []
                var cursor: String?
                var pages = 0
                repeat {
                    let page = try await Self.send(.GET, base + "/v1/calls?campaign_id=spring&limit=2" + (cursor.map { "&cursor=\($0)" } ?? ""),
                                                   token: key.secret)
                    #expect(page.status == 200, "\(String(describing: page.json))")
                    guard case .array(let data)? = page.json?["data"] else { Issue.record("no data"); return }
                    seen += data.compactMap { $0["id"]?.stringValue }
                    cursor = page.json?["next_cursor"]?.stringValue
                    pages += 1
                } while cursor != nil && pages < 10
                #expect(seen == ids.prefix(5).reversed().map(String.init) && pages == 3)
                let cancelled = try await Self.send(.GET, base + "/v1/calls?state=cancelled", token: key.secret)
                #expect(cancelled.json?["data"] == .array([try #require(cancelled.json?["data"]?[0])]) && cancelled.json?["data"]?[0]?["id"] == .string(String(ids[1])))
                let all = try await Self.send(.GET, base + "/v1/calls?limit=200", token: key.secret)
                guard case .array(let everything)? = all.json?["data"] else { Issue.record("no data"); return }
                #expect(everything.count == 7 && all.json?["next_cursor"] == .null)
                for query in ["state=ringing", "limit=0", "limit=201", "cursor=abc"] {
                    let bad = try await Self.send(.GET, base + "/v1/calls?" + query, token: key.secret)
                    #expect(bad.status == 400 && bad.code == "invalid_request", "\(query)")
                }
            }
        }
    }

    @Test("POST /v1/dnc and DELETE /v1/dnc/{number}: the tenant's list changes, audited with the key; dnc:write is required; another tenant's key reaches only its own list")
    func dncRoutes() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await Fixture.tenant(store, id: "globex")
            let writer = try await Self.key(store, scopes: [.dncWrite, .callsWrite]), caller = try await Self.key(store)
            let globex = try await Self.key(store, tenant: "globex", scopes: [.dncWrite])
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: "https://dialer.example.com/twilio/status") { base in
                let body = #"{"number": "+14155551420", "source": "customer emailed"}"#
                let denied = try await Self.send(.POST, base + "/v1/dnc", body: body, token: caller.secret)
                #expect(denied.status == 403 && denied.code == "scope_required" && denied.json?["details"]?["scope"] == "dnc:write")
                let added = try await Self.send(.POST, base + "/v1/dnc", body: body, token: writer.secret)
                #expect(added.status == 201 && added.json?["added"] == true, "\(String(describing: added.json))")
                #expect(try await OptOutTests.dncSource(store, tenant: "acme", number: "+14155551420") == "customer emailed")
                let again = try await Self.send(.POST, base + "/v1/dnc", body: body, token: writer.secret)
                #expect(again.status == 200 && again.json?["added"] == false)
                // Another tenant's key reaches only its own list: acme's entry is neither removed nor shown as its own.
                let foreignRemove = try await Self.send(.DELETE, base + "/v1/dnc/%2B14155551420", token: globex.secret)
                #expect(foreignRemove.status == 200 && foreignRemove.json?["removed"] == false)
                #expect(try await OptOutTests.dncSource(store, tenant: "acme", number: "+14155551420") == "customer emailed")
                let foreignAdd = try await Self.send(.POST, base + "/v1/dnc", body: body, token: globex.secret)
                #expect(foreignAdd.status == 201 && foreignAdd.json?["added"] == true)
                #expect(try await store.auditLog(tenant: "globex").map(\.action).sorted() == ["dnc_add", "dnc_remove"])
                let blocked = try await Self.send(.POST, base + "/v1/calls", body: Self.call("+14155551420"), token: writer.secret)
                #expect(blocked.status == 422 && blocked.json?["details"]?["suppression_source"] == "tenant")
                for bad in [#"{"number": "+1415"}"#, #"{"source": "x"}"#, #"{"number": "+14155551420", "list": "global"}"#] {
                    let refused = try await Self.send(.POST, base + "/v1/dnc", body: bad, token: writer.secret)
                    #expect(refused.status == 400, "\(bad)")
                }
                let removed = try await Self.send(.DELETE, base + "/v1/dnc/%2B14155551420", token: writer.secret)
                #expect(removed.status == 200 && removed.json?["removed"] == true, "\(String(describing: removed.json))")
                #expect(try await OptOutTests.dncSource(store, tenant: "acme", number: "+14155551420") == nil)
                let absent = try await Self.send(.DELETE, base + "/v1/dnc/+14155551420", token: writer.secret)
                #expect(absent.status == 200 && absent.json?["removed"] == false)
                let audit = try await store.auditLog(tenant: "acme")
                #expect(audit.map(\.action).sorted() == ["dnc_add", "dnc_add", "dnc_remove", "dnc_remove"])
                #expect(audit.allSatisfy { $0.actor == "api:\(writer.key.id)" })
            }
        }
    }

    @Test("GET /v1/openapi.json serves the checked-in OpenAPI 3.1 document: every /v1 route, every error code, every job state")
    func openAPI() async throws {
        try await TestDatabase.withStore { store, _ in
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: "https://dialer.example.com/twilio/status") { base in
                let answer = try await Self.send(.GET, base + "/v1/openapi.json", token: nil)
                #expect(answer.status == 200 && answer.json?["openapi"] == "3.1.0")
                let file = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("../../Sources/DialerOps/OpenAPI/openapi.json")
                #expect(answer.json == JSONValue.parse(try String(contentsOf: file, encoding: .utf8)))
                let routes: [(String, String)] = [("post", "/v1/calls"), ("get", "/v1/calls"), ("get", "/v1/calls/{id}"), ("post", "/v1/calls/{id}/cancel"),
                                                  ("post", "/v1/dnc"), ("delete", "/v1/dnc/{number}"), ("get", "/v1/openapi.json"),
                                                  ("get", "/v1/campaigns/{campaign_id}"), ("post", "/v1/campaigns/{campaign_id}/pause"),
                                                  ("post", "/v1/campaigns/{campaign_id}/resume"), ("post", "/v1/campaigns/{campaign_id}/calls"),
                                                  ("post", "/v1/opt-outs")]
                guard case .object(let paths)? = answer.json?["paths"] else { Issue.record("no paths"); return }
                #expect(Set(paths.keys) == Set(routes.map(\.1)))
                for (method, path) in routes { #expect(answer.json?["paths"]?[path]?[method] != nil, "\(method) \(path)") }
                // Every POST documents the Idempotency-Key and its 409.
                for (method, path) in routes where method == "post" {
                    let operation = answer.json?["paths"]?[path]?["post"]
                    #expect(operation?["parameters"]?.arrayValue?.contains(.object(["$ref": "#/components/parameters/IdempotencyKey"])) == true, "\(path)")
                    #expect(operation?["responses"]?["409"] != nil, "\(path)")
                }
                let codes = answer.json?["components"]?["schemas"]?["Error"]?["properties"]?["error"]?["enum"]
                #expect(codes == .array(ErrorCode.allCases.map { .string($0.rawValue) }))
                #expect(answer.json?["components"]?["schemas"]?["State"]?["enum"] == .array(JobState.allCases.map { .string($0.rawValue) }))
            }
        }
    }

    @Test("the OpenAPI document passes openapi-spec-validator (PyPI) as OpenAPI 3.1")
    func openAPIValid() async throws {
        let python = try await TwilioLibraryTests.python()
        let document = TwilioLibraryTests.root.appendingPathComponent("Sources/DialerOps/OpenAPI/openapi.json").path
        let script = "import json, sys\nfrom openapi_spec_validator import validate\nvalidate(json.load(open(sys.argv[1])))\nprint('valid')"
        let run = try await TestProcess.run(["-c", script, document], program: python, timeout: .seconds(120))
        #expect(run.status == 0 && run.stdout.contains("valid"), "\(run.stderr)")
        // The validator does refuse a broken document (so the check above can fail).
        let broken = FileManager.default.temporaryDirectory.appendingPathComponent("openapi-broken-\(UUID().uuidString).json")
        try #"{"openapi": "3.1.0", "info": {"title": "x"}, "paths": {"/v1/calls": {"get": {"responses": {"200": {}}}}}}"#
            .write(to: broken, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(at: broken) }
        #expect(try await TestProcess.run(["-c", script, broken.path], program: python, timeout: .seconds(120)).status != 0)
    }

    @Test("dialer keys: create prints the key once, list never shows it, rotate keeps the old key for its grace, revoke ends a key")
    func keysCLI() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            let env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: "http://127.0.0.1:9")
            let created = try await TestProcess.run(["keys", "create", "--tenant", "acme", "--scopes", "calls:write,calls:read", "--json"], environment: env)
            #expect(created.status == 0, "\(created.stderr)")
            let object = try #require(JSONValue.parse(created.stdout))
            let secret = try #require(object["key"]?.stringValue), id = try #require(object["id"]?.stringValue)
            let listed = try await TestProcess.run(["keys", "list", "--tenant", "acme"], environment: env)
            #expect(listed.status == 0 && listed.stdout.contains(id) && !listed.stdout.contains(secret))
            let bad = try await TestProcess.run(["keys", "create", "--tenant", "acme", "--scopes", "calls:delete"], environment: env)
            #expect(bad.status != 0 && bad.stderr.contains("invalid_request"))

            let rotated = try await TestProcess.run(["keys", "rotate", id, "--grace", "15m", "--json"], environment: env)
            #expect(rotated.status == 0, "\(rotated.stderr)")
            let next = try #require(JSONValue.parse(rotated.stdout))
            let newSecret = try #require(next["key"]?.stringValue)
            #expect(next["replaces"]?["status"] == "rotating")
            let grace = try await store.scalar("SELECT round(extract(epoch FROM grace_ends_at - now()))::bigint FROM api_keys WHERE id = \(id)")
            #expect((800...900).contains(grace), "\(grace)")
            guard case .valid = try await store.authenticate(secret: secret, scopes: [.callsRead]) else { Issue.record("old key refused in its grace"); return }
            // Once the grace has passed (moved back here, rather than waiting 15 minutes), the old key is expired.
            _ = try await store.client.query("UPDATE api_keys SET grace_ends_at = now() - interval '1 second' WHERE id = \(id)", logger: store.logger).collect()
            #expect(try await store.authenticate(secret: secret, scopes: [.callsRead]) == .expired)
            guard case .valid = try await store.authenticate(secret: newSecret, scopes: [.callsRead]) else { Issue.record("new key refused"); return }
            let newID = try #require(next["id"]?.stringValue)
            let revoked = try await TestProcess.run(["keys", "revoke", newID], environment: env)
            #expect(revoked.status == 0, "\(revoked.stderr)")
            #expect(try await store.authenticate(secret: newSecret, scopes: [.callsRead]) == .revoked)
            let unknown = try await TestProcess.run(["keys", "revoke", "key_nope", "--json"], environment: env)
            #expect(unknown.status != 0 && JSONValue.parse(unknown.stdout)?["error"] == "not_found")
        }
    }
}
