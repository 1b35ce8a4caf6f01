import Foundation

/// A script entry as `POST /_fake/script` and `dialer fake-twilio --script` read it:
/// `{"to": "+1...", "responses": [{"status": 503}], "outcome": {"status": "completed", "answered_by": "machine_end_beep"},
/// "callbacks": "drop_final"}`.
public struct FakeScript: Sendable, Decodable {
    /// The destination; absent, the responses apply to any destination without a script of its own.
    public var to: String?
    public var responses: [FakeResponse]
    /// How calls to `to` end (status callbacks, the Call resource).
    public var outcome: FakeCallOutcome?
    /// What happens to the status callbacks of calls to `to` (instead of the random callback faults).
    public var callbacks: CallbackScript?

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        to = try c.decodeIfPresent(String.self, forKey: .to)
        responses = try c.decodeIfPresent([FakeResponse].self, forKey: .responses) ?? []
        outcome = try c.decodeIfPresent(FakeCallOutcome.self, forKey: .outcome)
        callbacks = try c.decodeIfPresent(CallbackScript.self, forKey: .callbacks)
    }

    enum CodingKeys: String, CodingKey { case to, responses, outcome, callbacks }
}
