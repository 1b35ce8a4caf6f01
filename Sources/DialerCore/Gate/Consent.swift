import Foundation

/// Why a call is placed, as `call_jobs.purpose` stores it: what the TCPA asks of the callee's consent depends on it.
public enum CallPurpose: String, Sendable, Hashable, Codable, CaseIterable {
    /// Appointment reminders, account notices, anything that sells nothing: prior express consent suffices.
    case informational
    /// A call that advertises or sells: with an artificial voice it needs prior express written consent.
    case telemarketing

    /// The purpose a request or file names, or `nil` when the text is neither.
    public init?(text: String) {
        self.init(rawValue: text.trimmingCharacters(in: .whitespaces).lowercased())
    }
}

/// The consent a callee gave, as `call_jobs.consent_type` stores it (NULL there: no consent evidence).
public enum ConsentType: String, Sendable, Hashable, Codable, CaseIterable {
    /// PEWC, 47 CFR 64.1200(f)(9): a signed written agreement naming the seller, the number and the artificial voice.
    case priorExpressWritten = "prior_express_written"
    /// PEC: the callee gave the number and agreed to be called.
    case priorExpress = "prior_express"

    /// The type a request or file names: the stored names, or their usual abbreviations `pewc` and `pec`.
    public init?(text: String) {
        switch text.trimmingCharacters(in: .whitespaces).lowercased() {
        case "prior_express_written", "pewc": self = .priorExpressWritten
        case "prior_express", "pec": self = .priorExpress
        default: return nil
        }
    }

    /// Whether consent of this type covers a call that needs `required`: written consent covers both purposes.
    public func covers(_ required: ConsentType) -> Bool {
        self == .priorExpressWritten || required == .priorExpress
    }
}

/// The consent rule for AI-voice calls, checked at enqueue and again by the gate at the moment of dialing. Pure.
///
/// FCC 24-17 (2024) holds that an AI-generated voice is an "artificial voice" under the TCPA, so every call this dialer
/// places needs the callee's prior express consent (47 U.S.C. 227(b)(1)), and prior express written consent when it
/// is telemarketing (47 CFR 64.1200(a)(2), (a)(3)). A job without consent evidence, or a telemarketing job with only
/// prior express consent, is never dialed: the error is `consent_required`.
public enum ConsentRule {
    /// The weakest consent a call of `purpose` may be placed with.
    public static func required(for purpose: CallPurpose) -> ConsentType {
        purpose == .telemarketing ? .priorExpressWritten : .priorExpress
    }

    /// How the gate's audit names the rule: "consent: telemarketing needs prior_express_written".
    public static func rule(for purpose: CallPurpose) -> String {
        "consent: \(purpose.rawValue) needs \(required(for: purpose).rawValue)"
    }

    /// The `consent_required` error for a call of `purpose` with `consent`, or `nil` when the consent covers it.
    /// `details` always holds `purpose`, `required` and `consent_type` (null when there is no consent evidence).
    public static func violation(purpose: CallPurpose, consent: ConsentType?) -> OpenPhnError? {
        let required = required(for: purpose)
        if let consent, consent.covers(required) { return nil }
        let details: [String: JSONValue] = [
            "purpose": .string(purpose.rawValue), "required": .string(required.rawValue),
            "consent_type": consent.map { .string($0.rawValue) } ?? .null,
        ]
        let message = consent == nil
            ? "The call carries no consent evidence; a call with an AI (artificial) voice needs the callee's prior express consent."
            : "A telemarketing call with an AI (artificial) voice needs prior express written consent; this call has only prior express consent."
        return OpenPhnError(.consentRequired, message, details: details)
    }
}
