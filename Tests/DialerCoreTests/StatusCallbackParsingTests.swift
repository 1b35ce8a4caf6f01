import Testing

@testable import DialerCore

@Suite("A status callback read from Twilio's fields")
struct StatusCallbackParsingTests {
    static func callback(_ extra: [(String, String)]) throws -> StatusCallback {
        try StatusCallback(parameters: [("CallSid", "CA" + String(repeating: "ab", count: 16)), ("CallStatus", "ringing"), ("SequenceNumber", "1")] + extra,
                           query: [("job", "7"), ("attempt", "2")])
    }

    @Test("StirStatus is kept when it is an attestation level (A, B, C) and dropped otherwise")
    func stirStatus() throws {
        #expect(try Self.callback([("StirStatus", "A")]).stirStatus == "A")
        #expect(try Self.callback([("StirStatus", "C")]).stirStatus == "C")
        #expect(try Self.callback([("StirStatus", "TN-Validation-Passed-A")]).stirStatus == nil)
        #expect(try Self.callback([("StirStatus", "")]).stirStatus == nil)
        #expect(try Self.callback([]).stirStatus == nil)
    }

    @Test("Twilio's Timestamp is read; the job and attempt come from our own URL")
    func fields() throws {
        let callback = try Self.callback([("Timestamp", "Wed, 02 Dec 2026 18:00:05 +0000")])
        #expect(callback.timestamp == InternetDate.parse("Wed, 02 Dec 2026 18:00:05 GMT"))
        #expect(callback.timestamp != nil && callback.jobID == 7 && callback.attempt == 2)
    }
}
