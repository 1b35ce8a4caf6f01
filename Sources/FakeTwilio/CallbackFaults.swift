/// How often status callbacks go wrong on the way, as Twilio allows (after-the-dial.md section 1.4: separate requests
/// with "no guarantee they will arrive in the same order", retries that deliver twice, callbacks lost for good):
/// `--callback-faults reorder=0.2,duplicate=0.1,drop=0.05`. Each callback draws each fault from its call's ``FakeDice``.
public struct CallbackFaults: Sendable, Hashable {
    /// Probability that a callback is delivered after the next one instead of before it (never the last of a call).
    public var reorder: Double
    /// Probability that a callback is delivered twice, the same request (same `SequenceNumber`) both times.
    public var duplicate: Double
    /// Probability that a callback is never delivered (the ledger records it `dropped`).
    public var drop: Double

    /// No faults: every callback once, in order (the default).
    public static let none = CallbackFaults(reorder: 0, duplicate: 0, drop: 0)

    public struct Invalid: Error, CustomStringConvertible {
        public let description: String
    }

    public init(reorder: Double = 0, duplicate: Double = 0, drop: Double = 0) {
        self.reorder = reorder
        self.duplicate = duplicate
        self.drop = drop
    }

    /// Parses `reorder=0.2,duplicate=0.1,drop=0.05`; a fault not named has probability 0.
    public init(parsing text: String) throws(Invalid) {
        self = .none
        for part in text.split(separator: ",") {
            let pair = part.split(separator: "=", maxSplits: 1)
            guard pair.count == 2, let probability = Double(pair[1]), (0...1).contains(probability) else {
                throw Invalid(description: "'\(part)' is not FAULT=PROBABILITY with a probability from 0 to 1")
            }
            switch pair[0] {
            case "reorder": reorder = probability
            case "duplicate": duplicate = probability
            case "drop": drop = probability
            default: throw Invalid(description: "'\(pair[0])' is not a callback fault: reorder, duplicate or drop")
            }
        }
    }
}

/// What happens to every status callback of calls to one destination, scripted (`"callbacks": "drop_final"` in a
/// script entry) so a test can force a case; it replaces the random ``CallbackFaults`` for that destination.
public enum CallbackScript: String, Sendable, Codable, Hashable, CaseIterable {
    /// Each callback once, in order, whatever the configured faults.
    case normal
    /// None is delivered.
    case dropAll = "drop_all"
    /// All but the final one (`completed`, `busy`, `no-answer`, `failed`) are delivered.
    case dropFinal = "drop_final"
    /// Each is delivered twice.
    case duplicateAll = "duplicate_all"
    /// All are held until the last event and delivered then, last first.
    case reverse
}
