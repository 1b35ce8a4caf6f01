import AsyncHTTPClient
import DialerCore
import DialerOps
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing

/// `POST /v1/campaigns/{campaign_id}/calls`, over real HTTP against `dialer serve`'s public server and PostgreSQL: all
/// or nothing, `skip_invalid`, every bad call with its index and code, the limits, idempotent retries, 10,000 calls.
@Suite("API bulk calls of a campaign")
struct BulkCallsAPITests {
    typealias API = APIKeyTests
    static let callbackURL = "https://dialer.example.com/twilio/status"

    static func body(_ calls: [String], skipInvalid: Bool? = nil) -> String {
        #"{"calls": [\#(calls.joined(separator: ", "))]\#(skipInvalid.map { #", "skip_invalid": \#($0)"# } ?? "")}"#
    }

    static func indices(_ list: JSONValue?) -> [Int] { list?.arrayValue?.compactMap { $0["index"]?.intValue } ?? [] }
    static func codes(_ list: JSONValue?) -> [String] { list?.arrayValue?.compactMap { $0["error"]?.stringValue } ?? [] }

    /// Five calls: index 1 is not a phone number, 3 is on the global do-not-call list, 4 names another campaign.
    static func mixed() -> [String] {
        [API.call("+14155551701"), API.call("+1415555"), API.call("+14155551703"), API.call("+14155551710"),
         API.call("+14155551705", extra: #", "campaign_id": "autumn""#)]
    }

    @Test("one bad call refuses the whole request: 422 invalid_request lists every bad call with its index and code, and nothing is created")
    func allOrNothing() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let key = try await API.key(store)
            _ = try await store.addDNC(try PhoneNumber(validating: "+14155551710"), to: .global)
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: Self.callbackURL) { base in
                let answer = try await API.send(.POST, base + "/v1/campaigns/spring/calls", body: Self.body(Self.mixed()), token: key.secret)
                #expect(answer.status == 422 && answer.code == "invalid_request", "\(String(describing: answer.json))")
                let errors = answer.json?["details"]?["errors"]
                #expect(Self.indices(errors) == [1, 3, 4] && answer.json?["details"]?["invalid"] == 3)
                #expect(Self.codes(errors) == ["invalid_phone", "dnc_blocked", "invalid_request"], "\(String(describing: errors))")
                #expect(errors?[1]?["details"]?["suppression_source"] == "global" && errors?[2]?["details"]?["field"] == "campaign_id")
                #expect(errors?.arrayValue?.allSatisfy { $0["message"]?.stringValue?.isEmpty == false } == true)
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)
            }
        }
    }

    @Test("skip_invalid creates the good calls in the path's campaign and lists the bad; a repeated person shares the first call's job")
    func skipInvalid() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let key = try await API.key(store)
            _ = try await store.addDNC(try PhoneNumber(validating: "+14155551710"), to: .global)
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: Self.callbackURL) { base in
                let calls = Self.mixed() + [API.call("+14155551703", extra: #", "campaign_id": "spring""#)]
                let answer = try await API.send(.POST, base + "/v1/campaigns/spring/calls", body: Self.body(calls, skipInvalid: true), token: key.secret)
                #expect(answer.status == 201, "\(String(describing: answer.json))")
                #expect(Self.indices(answer.json?["errors"]) == [1, 3, 4] && answer.json?["invalid"] == 3 && answer.json?["received"] == 6)
                #expect(Self.indices(answer.json?["calls"]) == [0, 2, 5])
                #expect(answer.json?["created"] == 2 && answer.json?["duplicates"] == 1 && answer.json?["existing"] == 0)
                let rows = answer.json?["calls"]?.arrayValue ?? []
                #expect(rows.count == 3 && rows[2]["duplicate_of"] == 2 && rows[2]["id"] == rows[1]["id"] && rows[2]["created"] == false)
                #expect(try await CampaignAPITests.counted(store, campaign: "spring") == ["queued": 2])
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 2)
                // Each listed id reads back as the tenant's call, in the campaign.
                let id = try #require(rows.first?["id"]?.stringValue)
                let read = try await API.send(.GET, base + "/v1/calls/\(id)", token: key.secret)
                #expect(read.status == 200 && read.json?["campaign_id"] == "spring" && read.json?["to"] == "+14155551701")
                // Every call invalid, skipped: 200, nothing created.
                let none = try await API.send(.POST, base + "/v1/campaigns/spring/calls", body: Self.body([API.call("+1415")], skipInvalid: true),
                                              token: key.secret)
                #expect(none.status == 200 && none.json?["created"] == 0 && Self.codes(none.json?["errors"]) == ["invalid_phone"])
            }
        }
    }

    @Test("an Idempotency-Key replays the answer; after a lost answer the retry finds the same jobs instead of making them twice")
    func idempotentRetry() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let key = try await API.key(store)
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: Self.callbackURL) { base in
                let url = base + "/v1/campaigns/spring/calls"
                let body = Self.body(Fixture.destinations(20).map { API.call($0) })
                let first = try await API.send(.POST, url, body: body, token: key.secret, headers: [("Idempotency-Key", "load-1")])
                #expect(first.status == 201 && first.json?["created"] == 20, "\(String(describing: first.json))")
                let replay = try await API.send(.POST, url, body: body, token: key.secret, headers: [("Idempotency-Key", "load-1")])
                #expect(replay.status == 201 && replay.json == first.json && replay.headers.first(name: "Idempotent-Replayed") == "true")
                // The stored answer is lost (as when a process dies between the commit and storing it): the retry redoes
                // the request, and every call finds the job its index made.
                try await store.client.query("DELETE FROM api_idempotency", logger: store.logger)
                let retry = try await API.send(.POST, url, body: body, token: key.secret, headers: [("Idempotency-Key", "load-1")])
                #expect(retry.status == 200 && retry.json?["created"] == 0 && retry.json?["existing"] == 20, "\(String(describing: retry.json))")
                #expect(retry.json?["calls"]?.arrayValue?.map { $0["id"] } == first.json?["calls"]?.arrayValue?.map { $0["id"] })
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 20)
                let other = try await API.send(.POST, url, body: Self.body([API.call("+14155551799")]), token: key.secret,
                                               headers: [("Idempotency-Key", "load-1")])
                #expect(other.status == 409 && other.code == "idempotency_conflict")
            }
        }
    }

    @Test("limits: no calls, 10,001 calls, a body over 16 MiB, an unknown field, a bad skip_invalid, a call not an object, a long campaign id, text holding U+0000")
    func limits() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let key = try await API.key(store)
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: Self.callbackURL) { base in
                let url = base + "/v1/campaigns/spring/calls"
                let tooMany = Self.body(Array(repeating: #"{"to": "+14155551701", "objective": "x"}"#, count: 10_001))
                let huge = Self.body([API.call(extra: #", "source_note": "\#(String(repeating: "x", count: 16 * 1024 * 1024 + 1024))""#)])
                let cases: [(String, String, Int, String?)] = [
                    (url, #"{"calls": []}"#, 400, "calls"), (url, #"{"skip_invalid": true}"#, 400, "calls"), (url, tooMany, 400, "calls"),
                    (url, huge, 413, "body"), (url, #"{"calls": [], "priority": 1}"#, 400, "priority"),
                    (url, #"{"calls": [{"to": "+14155551701", "objective": "x"}], "skip_invalid": "yes"}"#, 400, "skip_invalid"),
                    (url, "[1, 2]", 400, "body"),
                    (base + "/v1/campaigns/\(String(repeating: "c", count: 129))/calls", Self.body([API.call()]), 400, "campaign_id"),
                ]
                for (target, body, status, field) in cases {
                    let answer = try await API.send(.POST, target, body: body, token: key.secret)
                    #expect(answer.status == status && answer.code == "invalid_request", "\(body.prefix(80)): \(String(describing: answer.json))")
                    #expect(answer.json?["details"]?["field"] == field.map(JSONValue.string), "\(body.prefix(80))")
                }
                // U+0000, which PostgreSQL's text cannot hold: the client's error, named, never a 503.
                let nul = try await API.send(.POST, base + "/v1/calls", body: API.call(extra: #", "campaign_id": "a\u0000b""#), token: key.secret)
                #expect(nul.status == 400 && nul.code == "invalid_request" && nul.json?["details"]?["field"] == "campaign_id",
                        "\(String(describing: nul.json))")
                let nulRows = try await API.send(.POST, url, body: Self.body([API.call("+14155551741"),
                                                                               #"{"to": "+14155551742", "objective": "x\u0000"}"#], skipInvalid: true),
                                                 token: key.secret)
                #expect(nulRows.status == 201 && Self.indices(nulRows.json?["errors"]) == [1] && nulRows.json?["created"] == 1,
                        "\(String(describing: nulRows.json))")
                let nulQuery = try await API.send(.GET, base + "/v1/calls?campaign_id=a%00b", token: key.secret)
                #expect(nulQuery.status == 400 && nulQuery.json?["details"]?["field"] == "campaign_id")
                let nulPath = try await API.send(.GET, base + "/v1/campaigns/a%00b", token: key.secret)
                #expect(nulPath.status == 400 && nulPath.json?["details"]?["field"] == "campaign_id")
                try await store.client.query("DELETE FROM call_jobs", logger: store.logger)
                let notObject = try await API.send(.POST, url, body: Self.body(["7", API.call()]), token: key.secret)
                #expect(notObject.status == 422 && Self.indices(notObject.json?["details"]?["errors"]) == [0])
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 0)
            }
        }
    }

    @Test("keys and tenants: calls:write is required, a pinned key's other number is number_not_allowed at its index, another tenant's campaign of the same name is its own")
    func keysAndTenants() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await Fixture.tenant(store, id: "globex")
            try await Fixture.tenant(store, id: "pending", verification: .pendingReview)
            try await store.upsertPhoneNumber(tenantID: "acme", e164: "+14155550101")
            let reader = try await API.key(store, scopes: [.callsRead])
            let pinned = try await API.key(store, numbers: [Fixture.caller])
            let globex = try await API.key(store, tenant: "globex"), pending = try await API.key(store, tenant: "pending")
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: Self.callbackURL) { base in
                let url = base + "/v1/campaigns/spring/calls"
                let scoped = try await API.send(.POST, url, body: Self.body([API.call()]), token: reader.secret)
                #expect(scoped.status == 403 && scoped.code == "scope_required")
                let waiting = try await API.send(.POST, url, body: Self.body([API.call()]), token: pending.secret)
                #expect(waiting.status == 403 && waiting.code == "verification_pending")
                let calls = [API.call("+14155551721"), API.call("+14155551722", extra: #", "from": "+14155550101""#)]
                let refused = try await API.send(.POST, url, body: Self.body(calls), token: pinned.secret)
                #expect(refused.status == 422 && Self.codes(refused.json?["details"]?["errors"]) == ["number_not_allowed"])
                #expect(Self.indices(refused.json?["details"]?["errors"]) == [1])
                let foreign = try await API.send(.POST, url, body: Self.body([API.call("+14155551721")]), token: globex.secret)
                #expect(foreign.status == 201 && foreign.json?["created"] == 1)
                #expect(try await CampaignAPITests.counted(store, tenant: "globex", campaign: "spring") == ["queued": 1])
                #expect(try await CampaignAPITests.counted(store, campaign: "spring") == [:])
                // globex's call is not acme's to read.
                let id = try #require(foreign.json?["calls"]?[0]?["id"]?.stringValue)
                let hidden = try await API.send(.GET, base + "/v1/calls/\(id)", token: pinned.secret)
                #expect(hidden.status == 404 && hidden.code == "not_found")
            }
        }
    }

    @Test("expires_at before the next legal window: call_hours_violation, for one call and at its index in a bulk request")
    func callHoursViolation() async throws {
        try await TestDatabase.withStore { store, _ in
            // The tenant's window is one minute at least eleven hours from now in California, inside the legal hours
            // (08:00-21:00 there): whatever the hour of the run, no legal minute comes within the hour the calls may
            // wait, and one comes within days for the call without an expiry. (Twelve hours ahead is outside the legal
            // hours for a run between 09:00 and 20:00 Pacific; 08:00 is then 12 to 23 hours ahead.)
            var calendar = Calendar(identifier: .gregorian)
            calendar.timeZone = TimeZone(identifier: "America/Los_Angeles")!
            let now = calendar.dateComponents([.hour, .minute], from: Date().addingTimeInterval(12 * 3600))
            let ahead = now.hour! * 60 + now.minute!
            let start = (8 * 60...(21 * 60 - 2)).contains(ahead) ? ahead : 8 * 60
            try await store.upsertTenant(id: "acme", verification: .approved, subaccountSID: Fixture.subaccount,
                                         callWindow: DailyWindow(start: start, end: start + 1))
            try await store.upsertPhoneNumber(tenantID: "acme", e164: Fixture.caller, selected: true)
            let key = try await API.key(store)
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: Self.callbackURL) { base in
                let expires = ISO8601DateFormatter().string(from: Date().addingTimeInterval(3600))
                let late = API.call("+14155551731", extra: #", "expires_at": "\#(expires)""#)
                let single = try await API.send(.POST, base + "/v1/calls", body: late, token: key.secret)
                #expect(single.status == 422 && single.code == "call_hours_violation", "\(String(describing: single.json))")
                let bulk = try await API.send(.POST, base + "/v1/campaigns/spring/calls", body: Self.body([API.call("+14155551732"), late]),
                                              token: key.secret)
                #expect(bulk.status == 422 && Self.codes(bulk.json?["details"]?["errors"]) == ["call_hours_violation"])
                // Without an expiry the same call waits for its window: created, with next_allowed_at.
                let waits = try await API.send(.POST, base + "/v1/calls", body: API.call("+14155551733"), token: key.secret)
                #expect(waits.status == 201 && waits.json?["next_allowed_at"]?.stringValue != nil, "\(String(describing: waits.json))")
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 1)
            }
        }
    }

    @Test("10,000 calls in one request: all created in the campaign in one transaction, each with its own job")
    func tenThousand() async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            let key = try await API.key(store)
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: Self.callbackURL) { base in
                let calls = Fixture.destinations(10_000).map { #"{"to": "\#($0)", "objective": "Remind of the appointment", "consent": {"type": "prior_express", "source": "crm"}}"# }
                // Alone it takes seconds; beside the whole suite on two cores, it is given minutes.
                let answer = try await API.send(.POST, base + "/v1/campaigns/big/calls", body: Self.body(calls), token: key.secret,
                                                timeout: .seconds(300))
                #expect(answer.status == 201 && answer.json?["created"] == 10_000, "\(String(describing: answer.json?["error"]))")
                #expect(Set(answer.json?["calls"]?.arrayValue?.compactMap { $0["id"]?.stringValue } ?? []).count == 10_000)
                #expect(try await CampaignAPITests.counted(store, campaign: "big") == ["queued": 10_000])
            }
        }
    }
}
