import DialerCore
import FakeTwilio
import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// The fake's connection-reset fault: no HTTP answer at all, before or after the call was created. The worker cannot
/// tell the two apart, so it must reconcile before any re-dial, and each job still rings exactly once.
@Suite("Connection reset by Twilio, before and after creating the call")
struct ConnectionResetTests {
    /// Sends `request` on a plain TCP socket and reads until EOF or an error: what a client sees on the wire. Runs on
    /// its own thread, since the socket calls block.
    static func exchange(port: Int, request: String) async -> (response: [UInt8], errno: Int32?) {
        await withCheckedContinuation { continuation in
            Thread.detachNewThread {
                let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
                defer { close(fd) }
                var address = sockaddr_in()
                address.sin_family = sa_family_t(AF_INET)
                address.sin_port = in_port_t(UInt16(port).bigEndian)
                address.sin_addr.s_addr = inet_addr("127.0.0.1")
                let connected = withUnsafePointer(to: &address) {
                    $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
                }
                guard connected == 0 else { return continuation.resume(returning: ([], errno)) }
                var timeout = timeval(tv_sec: 10, tv_usec: 0)
                setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
                let bytes = Array(request.utf8)
                guard bytes.withUnsafeBytes({ send(fd, $0.baseAddress, $0.count, 0) }) == bytes.count else {
                    return continuation.resume(returning: ([], errno))
                }
                var response: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 4096)
                while true {
                    let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
                    if n > 0 { response += buffer[0..<n]; continue }
                    return continuation.resume(returning: (response, n == 0 ? nil : errno))
                }
            }
        }
    }

    static func createCallRequest(to: String) -> String {
        let body = FormEncoding.encode([("To", to), ("From", Fixture.caller), ("Url", "http://127.0.0.1:9/agent")])
        let credentials = Data("\(Fixture.username):\(Fixture.password)".utf8).base64EncodedString()
        return "POST /2010-04-01/Accounts/\(Fixture.subaccount)/Calls.json HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n"
            + "Authorization: Basic \(credentials)\r\nContent-Type: application/x-www-form-urlencoded\r\n"
            + "Content-Length: \(body.utf8.count)\r\n\r\n\(body)"
    }

    @Test("on the wire a reset is an RST and not one byte of HTTP, whether or not the call was created first")
    func resetOnTheWire() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            let port = try #require(Int(baseURL.split(separator: ":").last ?? ""))
            let created = "+14155559101", notCreated = "+14155559102", answered = "+14155559103"
            await fake.ledger.script(to: created, [.connectionReset(createFirst: true)])
            await fake.ledger.script(to: notCreated, [.connectionReset(createFirst: false)])
            await fake.ledger.script(to: answered, [FakeResponse(status: 500, createFirst: true)])
            for to in [created, notCreated] {
                let (response, error) = await Self.exchange(port: port, request: Self.createCallRequest(to: to))
                #expect(response.isEmpty, "got \(String(decoding: response, as: UTF8.self))")
                #expect(error == ECONNRESET)
            }
            // The same exchange against a 500-after-create does read an HTTP answer.
            let (response, _) = await Self.exchange(port: port, request: Self.createCallRequest(to: answered))
            #expect(String(decoding: response, as: UTF8.self).hasPrefix("HTTP/1.1 500"))
            #expect(await fake.ledger.calls(to: created).count == 1)
            #expect(await fake.ledger.calls(to: notCreated).isEmpty)
            #expect(await fake.ledger.requests == 3)
        }
    }

    @Test("a reset after Twilio created the call: in doubt, reconciled, dialed once with the created call's SID")
    func resetAfterCreate() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let to = "+14155559201"
                await fake.ledger.script(to: to, [.connectionReset(createFirst: true)])
                let id = try await store.enqueue([try Fixture.request(to)])[0].jobID
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL))
                let log = try await store.attempts(jobID: id)
                #expect(log.map(\.outcome) == ["in_doubt", "found"])
                let first = try #require(log.first)
                #expect(first.possiblyDialed && first.httpStatus == nil)
                #expect(["connection_reset", "connection_closed"].contains(first.error?.details["transport"]?.stringValue ?? ""))
                let calls = await fake.ledger.calls(to: to)
                #expect(calls.count == 1)
                let job = try #require(try await store.job(id))
                #expect(job.state == .awaitingOutcome && job.attempt == 1)
                #expect(job.callSID != nil && job.callSID == calls.first?.sid)
            }
        }
    }

    @Test("a reset before Twilio created the call: in doubt, not found, re-dialed, dialed exactly once")
    func resetBeforeCreate() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let to = "+14155559301"
                await fake.ledger.script(to: to, [.connectionReset(createFirst: false)])
                let id = try await store.enqueue([try Fixture.request(to)])[0].jobID
                try await Fixture.drain(store, twilio: Fixture.twilio(baseURL))
                let log = try await store.attempts(jobID: id)
                #expect(log.map(\.outcome) == ["in_doubt", "not_found", "dialed"])
                #expect(log.first?.possiblyDialed == true)
                let calls = await fake.ledger.calls(to: to)
                #expect(calls.count == 1)
                #expect(await fake.ledger.requests == 2)
                let job = try #require(try await store.job(id))
                #expect(job.state == .awaitingOutcome && job.attempt == 2)
                #expect(job.callSID != nil && job.callSID == calls.first?.sid)
            }
        }
    }
}
