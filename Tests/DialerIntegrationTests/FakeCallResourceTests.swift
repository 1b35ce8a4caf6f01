import AsyncHTTPClient
import DialerCore
import FakeTwilio
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The fake's 201 is Twilio's Call resource (twilio.md section 2.1), field by field where the worker or a reader of the
/// ledger relies on it.
@Suite("Fake Twilio: the Call resource it answers with")
struct FakeCallResourceTests {
    @Test("201 body: SID, formatted numbers, account, status, URI; a Twilio-Request-Id header; the same SID in the ledger")
    func callResource() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await HTTPClient.withHTTPClient { http in
                var request = HTTPClientRequest(url: "\(baseURL)/2010-04-01/Accounts/\(Fixture.subaccount)/Calls.json")
                request.method = .POST
                request.setBasicAuth(username: Fixture.username, password: Fixture.password)
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: FormEncoding.encode([
                    ("To", "+14155552671"), ("From", Fixture.caller), ("Url", "http://127.0.0.1:9/agent"),
                ])))
                let response = try await http.execute(request, timeout: TestServer.clientTimeout)
                let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                #expect(response.status.code == 201)
                let requestID = try #require(response.headers.first(name: "Twilio-Request-Id"))
                #expect(requestID.count == 34 && requestID.hasPrefix("RQ") && requestID.dropFirst(2).allSatisfy(\.isHexDigit))

                let body = try #require(JSONValue.parse(text), "\(text)")
                let sid = try #require(body["sid"]?.stringValue)
                #expect(sid.count == 34 && sid.hasPrefix("CA") && sid.dropFirst(2).allSatisfy { $0.isHexDigit && !$0.isUppercase })
                #expect(body["to"]?.stringValue == "+14155552671")
                #expect(body["to_formatted"]?.stringValue == "(415) 555-2671")
                #expect(body["from_formatted"]?.stringValue == "(415) 555-0100")
                #expect(body["account_sid"]?.stringValue == Fixture.subaccount)
                #expect(body["status"]?.stringValue == "queued")
                #expect(body["queue_time"]?.stringValue == "0")
                #expect(body["uri"]?.stringValue == "/2010-04-01/Accounts/\(Fixture.subaccount)/Calls/\(sid).json")
                #expect(body["price"] == .null)
                #expect(await fake.ledger.calls.map(\.sid) == [sid])
            }
        }
    }

    /// `GET` with the platform's credentials: HTTP status and JSON body.
    static func get(_ url: String) async throws -> (status: Int, body: JSONValue) {
        let answer = try await FakeAccountsTests.send(url, method: .GET)
        return (answer.status, answer.body ?? .null)
    }

    static func created(_ baseURL: String, to: String) async throws -> String {
        let answer = try await FakeAccountsTests.create(baseURL, ["To": to])
        try #require(answer.status == 201)
        return try #require(answer.body?["sid"]?.stringValue)
    }

    @Test("a call leaves queued on the fake's clock: ringing, in-progress, then its outcome, with start_time, end_time and duration as it goes")
    func lifecycle() async throws {
        // Ten minutes in each status: only the test's clock moves the calls.
        let fake = Fixture.fake {
            $0.timings = FakeTwilio.Timings(queued: .seconds(600), ringing: .seconds(600), inProgress: .seconds(600))
            $0.timeScale = 1
        }
        try await fake.withRunning { baseURL in
            await fake.ledger.scriptOutcome(to: "+14155557602", FakeCallOutcome(status: .busy))
            let answered = try await Self.created(baseURL, to: "+14155557601")
            let busy = try await Self.created(baseURL, to: "+14155557602")
            let calls = "\(baseURL)/2010-04-01/Accounts/\(Fixture.subaccount)/Calls/"
            var seen: [[String?]] = []
            for step in 0..<4 {
                if step > 0 { await fake.ledger.advanceClock(by: .seconds(601)) }
                for sid in [answered, busy] {
                    let (status, body) = try await Self.get(calls + sid + ".json")
                    #expect(status == 200 && body["sid"]?.stringValue == sid)
                    seen.append([body["status"]?.stringValue, body["start_time"]?.stringValue == nil ? nil : "started",
                                 body["end_time"]?.stringValue == nil ? nil : "ended", body["duration"]?.stringValue])
                }
            }
            #expect(seen == [
                ["queued", nil, nil, nil], ["queued", nil, nil, nil],
                ["ringing", "started", nil, nil], ["ringing", "started", nil, nil],
                ["in-progress", "started", nil, nil], ["busy", "started", "ended", "0"],
                ["completed", "started", "ended", "600"], ["busy", "started", "ended", "0"],
            ])
            let (_, final) = try await Self.get(calls + answered + ".json")
            let start = try #require(final["start_time"]?.stringValue.flatMap(StatusCallbackTests.rfc2822))
            let end = try #require(final["end_time"]?.stringValue.flatMap(StatusCallbackTests.rfc2822))
            #expect(end.timeIntervalSince(start) == 1200)
            #expect(final["date_updated"]?.stringValue == final["end_time"]?.stringValue)
            // Unknown, or another account's: 404 with Twilio's code.
            let (missing, body) = try await Self.get(calls + "CA" + String(repeating: "0", count: 32) + ".json")
            #expect(missing == 404 && body["code"]?.intValue == 20404)
            let other = "\(baseURL)/2010-04-01/Accounts/\(FakeAccountsTests.stranger)/Calls/\(answered).json"
            await fake.ledger.addAccount(.init(sid: FakeAccountsTests.stranger, numbers: []))
            #expect(try await Self.get(other).body["code"]?.intValue == 20404)
        }
    }

    @Test("Read Calls: To, From, Status and StartTime filters, newest first, paged by PageSize or a small default, next_page_uri stable")
    func readCalls() async throws {
        let fake = Fixture.fake {
            $0.timings = FakeTwilio.Timings(queued: .seconds(600), ringing: .seconds(600), inProgress: .seconds(600))
            $0.defaultPageSize = 2
        }
        try await fake.withRunning { baseURL in
            let a = "+14155557701", b = "+14155557702"
            let c1 = try await Self.created(baseURL, to: a), c2 = try await Self.created(baseURL, to: a)
            await fake.ledger.advanceClock(by: .seconds(601))
            let c3 = try await Self.created(baseURL, to: a), c4 = try await Self.created(baseURL, to: b)
            let list = "\(baseURL)/2010-04-01/Accounts/\(Fixture.subaccount)/Calls.json?"
            func sids(_ query: [(String, String)]) async throws -> [String] {
                let (status, body) = try await Self.get(list + FormEncoding.encode(query + [("PageSize", "1000")]))
                #expect(status == 200, "\(query): \(body)")
                return body["calls"]?.arrayValue?.compactMap { $0["sid"]?.stringValue } ?? []
            }
            #expect(try await sids([("To", a)]) == [c3, c2, c1])
            #expect(try await sids([("To", a), ("From", Fixture.caller)]) == [c3, c2, c1])
            #expect(try await sids([("From", "+14155550999")]) == [])
            #expect(try await sids([("Status", "queued")]) == [c4, c3])
            #expect(try await sids([("Status", "ringing")]) == [c2, c1])
            // StartTime filters see only started calls: queued ones have no start time (twilio.md section 3.2).
            let (_, started) = try await Self.get(list + "To=%2B14155557701&PageSize=1000")
            let startText = try #require(started["calls"]?.arrayValue?.last?["start_time"]?.stringValue)
            let start = try #require(StatusCallbackTests.rfc2822(startText))
            let day = String(ISO8601DateFormatter().string(from: start).prefix(10))
            let iso = ISO8601DateFormatter()
            #expect(try await sids([("To", a), ("StartTime>", day)]) == [c2, c1])
            #expect(try await sids([("To", a), ("StartTime", day)]) == [c2, c1])
            #expect(try await sids([("To", a), ("StartTime<", day)]) == [c2, c1])
            #expect(try await sids([("To", a), ("StartTime>", iso.string(from: start.addingTimeInterval(-60)))]) == [c2, c1])
            #expect(try await sids([("To", a), ("StartTime>", iso.string(from: start.addingTimeInterval(60)))]) == [])
            #expect(try await sids([("To", a), ("StartTime<", iso.string(from: start.addingTimeInterval(-60)))]) == [])
            #expect(try await sids([("To", a), ("StartTime<", String(iso.string(from: start.addingTimeInterval(-86_400)).prefix(10)))]) == [])
            #expect(try await Self.get(list + "StartTime%3E=yesterday").status == 400)

            // No PageSize: the configured default of 2, then next_page_uri; a call created meanwhile does not shift the pages.
            let (_, first) = try await Self.get(list + "To=%2B14155557701")
            #expect(first["calls"]?.arrayValue?.compactMap { $0["sid"]?.stringValue } == [c3, c2])
            #expect(first["page_size"]?.intValue == 2 && first["page"]?.intValue == 0 && first["previous_page_uri"] == .null)
            _ = try await Self.created(baseURL, to: a)
            let next = try #require(first["next_page_uri"]?.stringValue)
            let (_, second) = try await Self.get(baseURL + next)
            #expect(second["calls"]?.arrayValue?.compactMap { $0["sid"]?.stringValue } == [c1])
            #expect(second["next_page_uri"] == .null && second["page"]?.intValue == 1 && second["start"]?.intValue == 2)
            // PageSize is capped at Twilio's 1,000.
            #expect(try await Self.get(list + "PageSize=5000").body["page_size"]?.intValue == 1000)
            #expect(await fake.ledger.listRequests > 0)
        }
    }
}
