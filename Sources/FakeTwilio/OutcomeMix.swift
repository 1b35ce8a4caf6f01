import Foundation

/// How calls to destinations without a scripted outcome end (`--outcome-mix human=0.55,machine=0.15,busy=0.1,...`): each
/// call draws one kind, as likely as its weight, from its ``FakeDice``, so a run is reproducible from the seed.
///
/// A draw is realistic in time as well (Twilio seconds, scaled by `timeScale`): humans answer after 3 to 20 s of ringing
/// and talk 20 s to 4 min; machines pick up after 10 to 30 s and record 10 to 45 s; busy lines answer busy within 5 s;
/// unanswered calls ring for the request's `Timeout` (Twilio's 60 s when absent); failures come within 2 s with one of
/// SIP 404, 480, 503, 603 (after-the-dial.md section 1.6).
public struct OutcomeMix: Sendable, Hashable {
    /// What a callee does.
    public enum Kind: String, Sendable, Hashable, CaseIterable {
        /// Answered by a person: `completed`, `AnsweredBy=human` when AMD was asked.
        case human
        /// Answered by voicemail: `completed`; with AMD `machine_start` or `machine_end_*`; without it Twilio cannot tell.
        case machine
        /// Answered by a fax machine (`AnsweredBy=fax`).
        case fax
        /// Answered, AMD undecided (`AnsweredBy=unknown`).
        case unknown
        case busy
        case noAnswer = "no-answer"
        case failed
    }

    /// Each kind's weight, 0 or more; they need not sum to 1 (they are divided by their sum).
    public let weights: [Kind: Double]

    /// A mix's text is not `kind=weight,...` with known kinds and weights of 0 or more, not all 0.
    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(weights: [Kind: Double]) throws(Invalid) {
        guard weights.values.allSatisfy({ $0 >= 0 && $0.isFinite }), weights.values.contains(where: { $0 > 0 }) else {
            throw Invalid(description: "outcome weights must be 0 or more, and not all 0")
        }
        self.weights = weights
    }

    /// Parses `human=0.55,machine=0.15,busy=0.1,no-answer=0.15,failed=0.05`; a kind named twice adds up.
    public init(parsing text: String) throws(Invalid) {
        var weights: [Kind: Double] = [:]
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard pair.count == 2, let kind = Kind(rawValue: pair[0]), let weight = Double(pair[1]) else {
                let kinds = Kind.allCases.map(\.rawValue).joined(separator: ", ")
                throw Invalid(description: "'\(part)' is not KIND=WEIGHT with KIND one of \(kinds)")
            }
            weights[kind, default: 0] += weight
        }
        try self.init(weights: weights)
    }

    /// The kind a call draws.
    func kind(_ dice: FakeDice) -> Kind {
        dice.pick(Kind.allCases.map { ($0, weights[$0] ?? 0) }, "mix")
    }

    /// The outcome a call draws: the callee's behaviour, before the request's Timeout, TimeLimit and MachineDetection apply.
    func outcome(_ dice: FakeDice) -> FakeCallOutcome {
        switch kind(dice) {
        case .human:
            FakeCallOutcome(status: .completed, durationSeconds: dice.int(in: 20...240, "talk"), ringSeconds: dice.int(in: 3...20, "ring"),
                            answeredBy: .human)
        case .machine:
            FakeCallOutcome(status: .completed, durationSeconds: dice.int(in: 10...45, "talk"), ringSeconds: dice.int(in: 10...30, "ring"),
                            answeredBy: dice.pick([(.machineEndBeep, 0.6), (.machineEndSilence, 0.25), (.machineEndOther, 0.15)], "greeting"))
        case .fax:
            FakeCallOutcome(status: .completed, durationSeconds: dice.int(in: 5...30, "talk"), ringSeconds: dice.int(in: 3...15, "ring"),
                            answeredBy: .fax)
        case .unknown:
            FakeCallOutcome(status: .completed, durationSeconds: dice.int(in: 5...60, "talk"), ringSeconds: dice.int(in: 3...20, "ring"),
                            answeredBy: .unknown)
        case .busy:
            FakeCallOutcome(status: .busy, sipResponseCode: 486, ringSeconds: dice.int(in: 1...5, "ring"))
        case .noAnswer:
            FakeCallOutcome(status: .noAnswer, sipResponseCode: 487, ringSeconds: 60)
        case .failed:
            FakeCallOutcome(status: .failed, sipResponseCode: dice.pick([(404, 1), (480, 1), (503, 1), (603, 1)], "sip"),
                            ringSeconds: dice.int(in: 0...2, "ring"))
        }
    }
}
