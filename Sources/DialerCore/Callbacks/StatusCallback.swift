import Foundation

/// A call's status as Twilio reports it in status callbacks (after-the-dial.md 1.2). Ordered: an attempt's status only
/// moves forward, so a `ringing` that arrives after `completed` changes nothing.
public enum CallStatus: String, Sendable, Hashable, CaseIterable {
    case queued, initiated, ringing
    case inProgress = "in-progress"
    case completed, busy
    case noAnswer = "no-answer"
    case failed, canceled

    /// Progress along the call's life; the final statuses share the top rank (only one of them ever happens).
    public var rank: Int {
        switch self {
        case .queued: 0
        case .initiated: 1
        case .ringing: 2
        case .inProgress: 3
        case .completed, .busy, .noAnswer, .failed, .canceled: 4
        }
    }

    public var isFinal: Bool { rank == Self.finalRank }

    /// The rank of the final statuses.
    public static let finalRank = 4

    /// ``rank`` in SQL, of a text column holding a status.
    static func rankSQL(_ column: String) -> String {
        "CASE " + column + allCases.filter { !$0.isFinal }.map { " WHEN '\($0.rawValue)' THEN \($0.rank)" }.joined() + " ELSE \(finalRank) END"
    }

    /// The final statuses as an SQL list: `('completed', 'busy', ...)`.
    static let finalListSQL = "(" + allCases.filter(\.isFinal).map { "'\($0.rawValue)'" }.joined(separator: ", ") + ")"
}

/// One status callback, read from Twilio's form parameters and the query string our `StatusCallback` URL carries
/// (`job`, `attempt`). Pure: it is checked here, its signature by ``TwilioSignature``, and it is stored by the store.
public struct StatusCallback: Sendable, Hashable {
    public let callSID: String
    public let accountSID: String?
    /// Twilio's order of the call's events, from 0: with `callSID`, the callback's identity (a retry repeats it).
    public let sequenceNumber: Int
    public let status: CallStatus
    public let answeredBy: String?
    /// STIR/SHAKEN attestation of the caller ID as the carrier signed it (`A` full, `B` partial, `C` gateway), on
    /// `ringing` and `in-progress`; any other value is dropped.
    public let stirStatus: String?
    public let sipResponseCode: Int?
    /// Seconds; final events only.
    public let callDuration: Int?
    /// When Twilio fired the event (its `Timestamp`), when it parses.
    public let timestamp: Date?
    /// From our own URL: the job and attempt that placed the call (`nil` when absent or not numbers).
    public let jobID: Int64?
    public let attempt: Int?

    /// A final status learnt some other way than a callback (the sweeper's lookup).
    public init(callSID: String, sequenceNumber: Int, status: CallStatus, answeredBy: String?, callDuration: Int?, jobID: Int64,
                sipResponseCode: Int? = nil, timestamp: Date = Date())
    {
        self.callSID = callSID
        self.accountSID = nil
        self.sequenceNumber = sequenceNumber
        self.status = status
        self.answeredBy = answeredBy
        self.stirStatus = nil
        self.sipResponseCode = sipResponseCode
        self.callDuration = callDuration
        self.timestamp = timestamp
        self.jobID = jobID
        self.attempt = nil
    }

    /// Reads a callback; a missing or malformed `CallSid`, `CallStatus` or `SequenceNumber` is `invalid_request`.
    /// - Parameters:
    ///   - parameters: the form fields (POST body) or the query's (GET).
    ///   - query: the query string of the URL called (where `job` and `attempt` are).
    public init(parameters: [(String, String)], query: [(String, String)]) throws(OpenPhnError) {
        func first(_ name: String, _ fields: [(String, String)]) -> String? { fields.first { $0.0 == name }?.1 }
        guard let sid = first("CallSid", parameters), sid.count == 34, sid.hasPrefix("CA"), sid.dropFirst(2).allSatisfy(\.isHexDigit) else {
            throw OpenPhnError(.invalidRequest, "The callback has no valid CallSid.", details: ["field": "CallSid"])
        }
        guard let raw = first("CallStatus", parameters), let status = CallStatus(rawValue: raw) else {
            throw OpenPhnError(.invalidRequest, "The callback's CallStatus is missing or unknown.", details: ["field": "CallStatus"])
        }
        // Twilio sends SequenceNumber on event callbacks; a bare `completed` callback (no StatusCallbackEvent) has none and
        // is the call's only callback, so it takes the number after every event.
        let sequence: Int
        if let text = first("SequenceNumber", parameters) {
            guard let number = Int(text), number >= 0 else {
                throw OpenPhnError(.invalidRequest, "The callback's SequenceNumber is not a number.", details: ["field": "SequenceNumber"])
            }
            sequence = number
        } else {
            sequence = status.isFinal ? 1_000 : status.rank
        }
        self.callSID = sid
        self.accountSID = first("AccountSid", parameters)
        self.sequenceNumber = sequence
        self.status = status
        self.answeredBy = first("AnsweredBy", parameters).flatMap { $0.isEmpty ? nil : String($0.prefix(64)) }
        self.stirStatus = first("StirStatus", parameters).flatMap { ["A", "B", "C"].contains($0) ? $0 : nil }
        self.sipResponseCode = first("SipResponseCode", parameters).flatMap { Int($0) }
        self.callDuration = first("CallDuration", parameters).flatMap { Int($0) }
        self.timestamp = first("Timestamp", parameters).flatMap(TwilioClient.rfc2822)
        self.jobID = first("job", query).flatMap { Int64($0) }
        self.attempt = first("attempt", query).flatMap { Int($0) }
    }
}
