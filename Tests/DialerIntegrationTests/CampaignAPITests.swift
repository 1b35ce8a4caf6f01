import AsyncHTTPClient
import DialerCore
import DialerOps
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing

/// `/v1` campaigns, stored idempotent answers and opt-outs with API keys, over real HTTP against `dialer serve`'s public
/// server and PostgreSQL.
@Suite("API campaigns, idempotency and opt-outs")
struct CampaignAPITests {
    typealias API = APIKeyTests
    static let callbackURL = "https://dialer.example.com/twilio/status"

    /// The campaign's jobs by state as `count(*)` sees them, the truth the counters must match.
    static func counted(_ store: JobStore, tenant: String = "acme", campaign: String) async throws -> [String: Int] {
        var counts: [String: Int] = [:]
        let rows = try await store.client.query("""
            SELECT state, count(*)::bigint FROM call_jobs WHERE tenant_id = \(tenant) AND campaign_id = \(campaign) GROUP BY state
            """, logger: store.logger)
        for try await (state, count) in rows.decode((String, Int64).self) { counts[state] = Int(count) }
        return counts
    }

    static func states(_ answer: APIKeyTests.Answer) -> [String: Int] {
        guard case .object(let fields)? = answer.json?["states"] else { return [:] }
        return fields.compactMapValues(\.intValue)
    }

    @Test("GET /v1/campaigns/{id} counts from maintained counters that match count(*) through enqueue, claim, outcomes, cancel, pause, fold and prune")
    func campaignCounts() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await Fixture.tenant(store, id: "globex")
            let acme = try await API.key(store, scopes: [.callsWrite, .callsRead, .campaignsWrite])
            let reader = try await API.key(store, scopes: [.callsRead])
            let globex = try await API.key(store, tenant: "globex", scopes: [.callsRead, .campaignsWrite])
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: Self.callbackURL) { base in
                let url = base + "/v1/campaigns/spring"
                let none = try await API.send(.GET, url, token: acme.secret)
                #expect(none.status == 404 && none.code == "not_found")
                var ids: [Int64] = []
                for n in 0..<12 {
                    let answer = try await API.send(.POST, base + "/v1/calls", body: API.call("+1415555\(1500 + n)", extra: #", "campaign_id": "spring""#),
                                                    token: acme.secret)
                    #expect(answer.status == 201, "\(String(describing: answer.json))")
                    ids.append(Int64(answer.json?["id"]?.stringValue ?? "") ?? 0)
                }
                // Another campaign and another tenant's campaign of the same name are counted apart.
                _ = try await store.enqueue([try Fixture.request("+14155551600", campaign: "autumn"),
                                             try Fixture.request("+14155551601", tenant: "globex", campaign: "spring")])
                func check(_ label: String) async throws {
                    let answer = try await API.send(.GET, url, token: reader.secret)
                    let truth = try await Self.counted(store, campaign: "spring")
                    #expect(answer.status == 200 && Self.states(answer) == truth, "\(label): \(String(describing: answer.json)) vs \(truth)")
                    #expect(answer.json?["total"]?.intValue == truth.values.reduce(0, +), "\(label)")
                }
                try await check("enqueued")
                #expect(try await store.scalar("SELECT count(*)::bigint FROM campaign_count_deltas") > 0)
                // Workers' statements: a claim, outcomes with a last outcome, a failure.
                _ = try await store.client.query("""
                    UPDATE call_jobs SET state = 'awaiting_outcome', twilio_call_sid = 'CA' || lpad(id::text, 32, '0')
                    WHERE id = ANY(\(Array(ids[0..<6])))
                    """, logger: store.logger).collect()
                _ = try await store.client.query("""
                    UPDATE call_jobs SET state = 'completed', last_outcome = 'human', finished_at = now() WHERE id = ANY(\(Array(ids[0..<3])))
                    """, logger: store.logger).collect()
                _ = try await store.client.query("""
                    UPDATE call_jobs SET state = 'retrying', last_outcome = 'busy', run_at = now() + interval '1 hour' WHERE id = ANY(\(Array(ids[3..<5])))
                    """, logger: store.logger).collect()
                try await check("after outcomes")
                let mixed = try await API.send(.GET, url, token: reader.secret)
                #expect(mixed.json?["outcomes"] == .object(["human": 3, "busy": 2]), "\(String(describing: mixed.json))")
                #expect(mixed.json?["finished"] == 3 && mixed.json?["in_progress"] == 1 && mixed.json?["waiting"] == 8)

                let cancelled = try await API.send(.POST, base + "/v1/calls/\(ids[11])/cancel", token: acme.secret)
                #expect(cancelled.status == 200)
                let paused = try await API.send(.POST, url + "/pause", body: #"{"reason": "script review"}"#, token: acme.secret)
                #expect(paused.status == 200 && paused.json?["parked"] == 7 && paused.json?["newly_paused"] == true, "\(String(describing: paused.json))")
                try await check("paused")
                let shown = try await API.send(.GET, url, token: reader.secret)
                #expect(shown.json?["paused"] == true && shown.json?["states"]?["paused"] == 7)
                #expect(try await store.foldCampaignCounts() != nil)
                #expect(try await store.scalar("SELECT count(*)::bigint FROM campaign_count_deltas") == 0)
                try await check("folded")
                let resumed = try await API.send(.POST, url + "/resume", token: acme.secret)
                #expect(resumed.status == 200 && resumed.json?["unparked"] == 7 && resumed.json?["was_paused"] == true)
                // Both are on the record, with the key that did them, the jobs they moved and the reason given.
                #expect(try await store.scalar("""
                    SELECT count(*)::bigint FROM audit_log WHERE actor = \("api:" + acme.key.id) AND tenant_id = 'acme' AND campaign_id = 'spring'
                      AND affected = 7 AND ((action = 'pause' AND source = 'script review') OR (action = 'resume' AND source IS NULL))
                    """) == 2)
                _ = try await store.client.query("DELETE FROM call_jobs WHERE id = ANY(\(Array(ids[0..<2])))", logger: store.logger).collect()
                try await check("resumed and two pruned")
                #expect(try await store.foldCampaignCounts() != nil)
                try await check("folded again")
                // No zero rows are kept; the other scopes are whole.
                #expect(try await store.scalar("SELECT count(*)::bigint FROM campaign_counts WHERE jobs = 0") == 0)
                let autumn = try await API.send(.GET, base + "/v1/campaigns/autumn", token: reader.secret)
                #expect(Self.states(autumn) == ["queued": 1])

                // Isolation and scopes: another tenant sees only its own campaign of that name, and may not pause ours.
                let theirs = try await API.send(.GET, url, token: globex.secret)
                #expect(theirs.status == 200 && Self.states(theirs) == ["queued": 1], "\(String(describing: theirs.json))")
                let hidden = try await API.send(.GET, base + "/v1/campaigns/autumn", token: globex.secret)
                #expect(hidden.status == 404 && hidden.code == "not_found")
                let unscoped = try await API.send(.POST, url + "/pause", token: reader.secret)
                #expect(unscoped.status == 403 && unscoped.code == "scope_required" && unscoped.json?["details"]?["scope"] == "campaigns:write")
                let foreignPause = try await API.send(.POST, base + "/v1/campaigns/autumn/pause", token: globex.secret)
                #expect(foreignPause.status == 200)
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE tenant_id = 'acme' AND state = 'paused'") == 0)
                let badField = try await API.send(.POST, url + "/pause", body: #"{"why": 1}"#, token: acme.secret)
                #expect(badField.status == 400 && badField.code == "invalid_request" && badField.json?["details"]?["field"] == "why")
                let tooLong = try await API.send(.GET, base + "/v1/campaigns/" + String(repeating: "c", count: 129), token: reader.secret)
                #expect(tooLong.status == 400 && tooLong.code == "invalid_request")
            }
        }
    }

    @Test("the counters follow changes made from a session with another search_path (an operator's psql naming the schema)")
    func countersAcrossSearchPaths() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            _ = try await store.enqueue(try Fixture.destinations(5).map { try Fixture.request($0, campaign: "spring") })
            // A session on the default search_path, as psql would be, changing the schema's tables by their full names.
            _ = try await JobStore.withStore(try JobStore.configuration(url: try TestDatabase.url), logger: TestDatabase.logger) { admin in
                try await admin.client.query("""
                    DELETE FROM \(unescaped: schema).call_jobs WHERE id IN (SELECT id FROM \(unescaped: schema).call_jobs ORDER BY id LIMIT 2)
                    """, logger: TestDatabase.logger)
                try await admin.client.query("UPDATE \(unescaped: schema).call_jobs SET state = 'cancelled', finished_at = now() WHERE id = (SELECT max(id) FROM \(unescaped: schema).call_jobs)",
                                             logger: TestDatabase.logger)
            }
            let counts = try #require(try await store.campaignCounts(tenant: "acme", campaign: "spring"))
            #expect(counts.states.filter { $0.value != 0 } == ["queued": 2, "cancelled": 1])
            #expect(try await Self.counted(store, campaign: "spring") == ["queued": 2, "cancelled": 1])
        }
    }

    @Test("Idempotency-Key: the stored answer is replayed, another request with the key is 409, one in progress is 409, a 5xx frees the key")
    func idempotency() async throws {
        try await TestDatabase.withStore { store, schema in
            try await Fixture.tenant(store)
            try await Fixture.tenant(store, id: "globex")
            let acme = try await API.key(store, scopes: [.callsWrite, .callsRead, .dncWrite, .campaignsWrite])
            let globex = try await API.key(store, tenant: "globex", scopes: [.callsWrite, .dncWrite])
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: Self.callbackURL) { base in
                // A refusal is stored too: the same request gets the same 422 without being judged again.
                try await store.addDNC(try PhoneNumber(validating: "+14155551700"), to: .global)
                let blocked = try await API.send(.POST, base + "/v1/calls", body: API.call("+14155551700"), token: acme.secret,
                                                 headers: [("Idempotency-Key", "dnc-1")])
                #expect(blocked.status == 422 && blocked.code == "dnc_blocked")
                _ = try await store.removeDNC(try PhoneNumber(validating: "+14155551700"), from: .global)
                let replayed = try await API.send(.POST, base + "/v1/calls", body: API.call("+14155551700"), token: acme.secret,
                                                  headers: [("Idempotency-Key", "dnc-1")])
                #expect(replayed.status == 422 && replayed.json == blocked.json && replayed.headers.first(name: "Idempotent-Replayed") == "true")
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)

                // The same key on another route, or with another body, is a conflict; keys are the tenant's own.
                let dnc = #"{"number": "+14155551701"}"#
                let added = try await API.send(.POST, base + "/v1/dnc", body: dnc, token: acme.secret, headers: [("Idempotency-Key", "k-2")])
                #expect(added.status == 201)
                let again = try await API.send(.POST, base + "/v1/dnc", body: dnc, token: acme.secret, headers: [("Idempotency-Key", "k-2")])
                #expect(again.status == 201 && again.json == added.json, "a replay answers as the first did, not 200 'already there'")
                let otherRoute = try await API.send(.POST, base + "/v1/campaigns/spring/pause", body: dnc, token: acme.secret,
                                                    headers: [("Idempotency-Key", "k-2")])
                #expect(otherRoute.status == 409 && otherRoute.code == "idempotency_conflict")
                #expect(try await store.scalar("SELECT count(*)::bigint FROM queue_pauses") == 0)
                let theirs = try await API.send(.POST, base + "/v1/dnc", body: dnc, token: globex.secret, headers: [("Idempotency-Key", "k-2")])
                #expect(theirs.status == 201 && theirs.headers.first(name: "Idempotent-Replayed") == nil)
                let empty = try await API.send(.POST, base + "/v1/dnc", body: dnc, token: acme.secret,
                                               headers: [("Idempotency-Key", String(repeating: "k", count: 256))])
                #expect(empty.status == 400 && empty.json?["details"]?["field"] == "Idempotency-Key")

                // A request still running holds its key; one abandoned by a dead process is taken over after two minutes.
                let hash = JobStore.requestHash(method: "POST", path: "/v1/dnc", body: Array(#"{"number": "+14155551702"}"#.utf8))
                #expect(try await store.beginIdempotent(tenant: "acme", key: "k-3", request: hash, keyID: acme.key.id) == .proceed)
                let running = try await API.send(.POST, base + "/v1/dnc", body: #"{"number": "+14155551702"}"#, token: acme.secret,
                                                 headers: [("Idempotency-Key", "k-3")])
                #expect(running.status == 409 && running.json?["details"]?["in_progress"] == true, "\(String(describing: running.json))")
                _ = try await store.client.query("UPDATE api_idempotency SET started_at = now() - interval '3 minutes' WHERE idempotency_key = 'k-3'",
                                                 logger: store.logger).collect()
                let takenOver = try await API.send(.POST, base + "/v1/dnc", body: #"{"number": "+14155551702"}"#, token: acme.secret,
                                                   headers: [("Idempotency-Key", "k-3")])
                #expect(takenOver.status == 201, "\(String(describing: takenOver.json))")

                // A 5xx stores nothing and leaves nothing half-done: the retry with the same key does the work once.
                _ = try await store.client.query("ALTER TABLE \(unescaped: schema).call_jobs RENAME TO call_jobs_away", logger: store.logger).collect()
                let failed = try await API.send(.POST, base + "/v1/calls", body: API.call("+14155551703"), token: acme.secret,
                                                headers: [("Idempotency-Key", "k-4")])
                _ = try await store.client.query("ALTER TABLE \(unescaped: schema).call_jobs_away RENAME TO call_jobs", logger: store.logger).collect()
                #expect(failed.status == 503 && failed.code == "upstream_unavailable", "\(String(describing: failed.json))")
                #expect(try await store.scalar("SELECT count(*)::bigint FROM api_idempotency WHERE idempotency_key = 'k-4'") == 0)
                let retried = try await API.send(.POST, base + "/v1/calls", body: API.call("+14155551703"), token: acme.secret,
                                                 headers: [("Idempotency-Key", "k-4")])
                #expect(retried.status == 201, "\(String(describing: retried.json))")
                let twice = try await API.send(.POST, base + "/v1/calls", body: API.call("+14155551703"), token: acme.secret,
                                               headers: [("Idempotency-Key", "k-4")])
                #expect(twice.status == 201 && twice.json?["id"] == retried.json?["id"])
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs WHERE destination = '+14155551703'") == 1)

                // Answers are kept 24 hours; after that the key is free again and the row is pruned.
                _ = try await store.client.query("UPDATE api_idempotency SET created_at = now() - interval '25 hours' WHERE idempotency_key = 'k-2'",
                                                 logger: store.logger).collect()
                #expect(try await store.pruneIdempotency() == 2)
                #expect(try await store.scalar("SELECT count(*)::bigint FROM api_idempotency WHERE idempotency_key = 'k-2'") == 0)
            }
        }
    }

    @Test("POST /v1/opt-outs with an API key: calls:write or dnc:write, the key's tenant, audited with the key's id")
    func optOutWithKey() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await Fixture.tenant(store, id: "globex")
            let job = try await store.enqueue([try Fixture.request("+14155551800")])[0].jobID
            let caller = try await API.key(store, scopes: [.callsWrite])
            let reader = try await API.key(store, scopes: [.callsRead])
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: Self.callbackURL) { base in
                let url = base + "/v1/opt-outs"
                let body = #"{"to": "+14155551800", "source": "agent: callee said stop"}"#
                let unscoped = try await API.send(.POST, url, body: body, token: reader.secret)
                #expect(unscoped.status == 403 && unscoped.code == "scope_required" && unscoped.json?["details"]?["any_of"] == .array(["calls:write", "dnc:write"]))
                let foreign = try await API.send(.POST, url, body: #"{"tenant_id": "globex", "to": "+14155551800", "source": "x"}"#, token: caller.secret)
                #expect(foreign.status == 404 && foreign.code == "not_found")
                let invalid = try await API.send(.POST, url, body: #"{"to": "+1415", "source": "x"}"#, token: caller.secret)
                #expect(invalid.status == 400 && invalid.code == "invalid_phone")
                #expect(try await store.job(job)?.state == .queued)
                let recorded = try await API.send(.POST, url, body: body, token: caller.secret)
                #expect(recorded.status == 201 && recorded.json?["cancelled_jobs"] == 1 && recorded.json?["tenant_id"] == "acme",
                        "\(String(describing: recorded.json))")
                #expect(try await store.job(job)?.state == .cancelled)
                let entry = try #require(try await store.auditLog(tenant: "acme").first)
                #expect(entry.actor == "api:\(caller.key.id)" && entry.action == "opt_out")
                #expect(try await store.scalar("SELECT count(*)::bigint FROM dnc_tenant WHERE tenant_id = 'globex'") == 0)
            }
        }
    }
}
