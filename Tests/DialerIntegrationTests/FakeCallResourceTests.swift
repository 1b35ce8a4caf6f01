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
                let response = try await http.execute(request, timeout: .seconds(10))
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
}
