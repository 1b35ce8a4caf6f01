import Foundation

/// A script entry as `POST /_fake/script` and `dialer fake-twilio --script` read it.
public struct FakeScript: Sendable, Decodable {
    /// The destination; absent, the responses apply to any destination without a script of its own.
    public var to: String?
    public var responses: [FakeResponse]
    /// How calls to `to` end (status callbacks).
    public var outcome: FakeCallOutcome?

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        to = try c.decodeIfPresent(String.self, forKey: .to)
        responses = try c.decodeIfPresent([FakeResponse].self, forKey: .responses) ?? []
        outcome = try c.decodeIfPresent(FakeCallOutcome.self, forKey: .outcome)
    }

    enum CodingKeys: String, CodingKey { case to, responses, outcome }
}
