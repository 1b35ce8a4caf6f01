import AsyncHTTPClient
import DialerCore
import Foundation
import NIOCore
import NIOHTTP1
import Testing

/// The official `twilio` Python library reads calls from the fake as it reads them from Twilio: `ops/python/twilio_fetch.py`
/// in the virtualenv `ops/lib/python.sh` keeps under `.run/`, against `dialer fake-twilio` run as an operator would.
@Suite("Fake Twilio: the official Python library")
struct TwilioLibraryTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// The virtualenv's python: DIALER_TEST_PYTHON (ops/test sets it), else made now by ops/lib/python.sh.
    static func python() async throws -> URL {
        if let path = ProcessInfo.processInfo.environment["DIALER_TEST_PYTHON"] { return URL(fileURLWithPath: path) }
        let made = try await TestProcess.run([root.appendingPathComponent("ops/lib/python.sh").path], program: URL(fileURLWithPath: "/bin/bash"),
                                             timeout: .seconds(600)).checked()
        let path = try #require(made.stdout.split(separator: "\n").last.map(String.init), "ops/lib/python.sh printed nothing: \(made.stderr)")
        return URL(fileURLWithPath: path)
    }

    @Test("twilio.rest.Client fetches a call and lists calls by To (paging through next_page_uri): the same status, answered_by and duration as the fake's")
    func fetchAndList() async throws {
        let python = try await Self.python()
        let account = "AC" + String(repeating: "4", count: 32), token = "library-token-\(UInt32.random(in: 0...UInt32.max))"
        let caller = "+14155550400", to = "+14155558901"
        let env = ["TWILIO_ACCOUNT_SID": Fixture.username, "TWILIO_AUTH_TOKEN": Fixture.password]
        let fake = try TestProcess.start(["fake-twilio", "--port", "0", "--account", "\(account):\(token)=\(caller)", "--time-scale", "0.001",
                                          "--page-size", "2"], environment: env)
        defer { fake.terminate() }
        var baseURL: String?
        let deadline = ContinuousClock.now + .seconds(30)
        while baseURL == nil, fake.isRunning, ContinuousClock.now < deadline {
            baseURL = fake.stdout.firstMatch(of: /listening on (http:\/\/127\.0\.0\.1:\d+)/).map { String($0.1) }
            if baseURL == nil { try await Task.sleep(for: .milliseconds(50)) }
        }
        let base = try #require(baseURL, "dialer fake-twilio did not listen: \(fake.stderr)")

        var script = HTTPClientRequest(url: base + "/_fake/script")
        script.method = .POST
        script.body = .bytes(ByteBuffer(string: #"{"to": "\#(to)", "outcome": {"status": "completed", "duration_seconds": 30, "answered_by": "human"}}"#))
        #expect(try await HTTPClient.shared.execute(script, timeout: TestServer.clientTimeout).status == .ok)
        var sids: [String] = []
        for _ in 0..<3 {
            let created = try await FakeAccountsTests.create(base, account: account, ["To": to, "From": caller, "MachineDetection": "Enable"],
                                                             user: account, password: token)
            sids.append(try #require(created.body?["sid"]?.stringValue, "\(String(describing: created.body))"))
        }
        // 30 Twilio seconds are 30 ms here: wait (bounded) until the fake has the last call completed.
        let resource = "\(base)/2010-04-01/Accounts/\(account)/Calls/"
        var fetched: JSONValue = .null
        for _ in 0..<200 {
            fetched = try await FakeAccountsTests.send(resource + sids[2] + ".json", method: .GET, user: account, password: token).body ?? .null
            if fetched["status"]?.stringValue == "completed" { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        try #require(fetched["status"]?.stringValue == "completed" && fetched["answered_by"]?.stringValue == "human", "\(fetched)")

        let output = try await TestProcess.run([Self.root.appendingPathComponent("ops/python/twilio_fetch.py").path, base, account, token, sids[2], to, "10"],
                                               program: python, environment: [:], timeout: .seconds(120))
        let answer = try #require(JSONValue.parse(output.stdout), "exit \(output.status): \(output.stdout)\(output.stderr)")
        #expect(output.status == 0, "\(output.stderr)")
        let call = try #require(answer["fetch"])
        #expect(call["sid"]?.stringValue == sids[2] && call["to"]?.stringValue == to && call["from"]?.stringValue == caller)
        #expect(call["status"] == fetched["status"] && call["answered_by"] == fetched["answered_by"] && call["duration"] == fetched["duration"])
        #expect(call["status"]?.stringValue == "completed" && call["answered_by"]?.stringValue == "human" && call["duration"]?.stringValue == "30")
        #expect(call["queue_time"]?.stringValue == "0" && call["direction"]?.stringValue == "outbound-api")
        // The library parsed the RFC 2822 instants to the same second.
        let started = try #require(fetched["start_time"]?.stringValue.flatMap(StatusCallbackTests.rfc2822))
        #expect(call["start_time"]?.stringValue.flatMap { ISO8601DateFormatter().date(from: $0) } == started)
        // Three calls at two a page: the library followed next_page_uri, newest first.
        #expect(answer["list"]?.arrayValue?.compactMap { $0["sid"]?.stringValue } == sids.reversed())
        #expect(answer["list"]?.arrayValue?.allSatisfy { $0["answered_by"]?.stringValue == "human" && $0["duration"]?.stringValue == "30" } == true)
        let owner = try #require(answer["account"])
        #expect(owner["sid"]?.stringValue == account && owner["status"]?.stringValue == "active" && owner["auth_token"]?.stringValue == token)
        #expect(owner["owner_account_sid"]?.stringValue == Fixture.username && owner["type"]?.stringValue == "Full")

        fake.terminate()
        #expect(await fake.exitStatus() == 0)
    }
}
