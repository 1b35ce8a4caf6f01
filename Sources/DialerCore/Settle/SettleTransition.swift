import Foundation

/// What a call's final status makes of its job, as a pure function of the facts (``SettledCall``), the campaign's
/// policy and the calling hours: no database, no clock but the one in the facts. Unit-tested without a database
/// (`SettleTransitionTests`).
///
/// Order of the rules: a contact ends the job; a canceled call is cancelled; a bad number (SIP 404/410/484) fails as
/// `invalid_phone` and a declined one (603) as `call_declined`; an outcome the policy does not retry ends the job
/// (completed for a machine, which did answer; `lead_exhausted` otherwise); then the caps (the outcome's own maximum,
/// the lead's dials, the job's attempts); then the time: the later of the policy's delay and the moment the 24-hour
/// cap frees a dial, moved to the next legal window of the callee's zones; past the job's expiry, it fails. The
/// dial-time gate still runs when the retry is claimed.
public struct SettleTransition: Sendable {
    public var callHours: CallHours

    public init(callHours: CallHours = .shipped) {
        self.callHours = callHours
    }

    public func settle(_ call: SettledCall, policy: CampaignPolicy) -> Settlement {
        let result = CallResult(status: call.status, answeredBy: call.answeredBy, sipResponseCode: call.sipResponseCode) ?? .failed(sip: nil)
        var detail: [String: JSONValue] = ["call_status": .string(call.status.rawValue), "dials": .number(Double(call.dials))]
        if let answeredBy = call.answeredBy { detail["answered_by"] = .string(answeredBy) }
        if let sip = call.sipResponseCode { detail["sip_response_code"] = .number(Double(sip)) }
        if let duration = call.callDuration { detail["call_duration"] = .number(Double(duration)) }

        if result.isContact {
            detail["decision"] = "contact"
            return .completed(call, result, detail: detail)
        }
        if case .canceled = result {
            detail["decision"] = "canceled"
            return .cancelled(call, detail: detail)
        }
        if case .failed(let sip?) = result, CallResult.invalidNumberSIPCodes.contains(sip) {
            detail["decision"] = "invalid_number"
            return .failed(call, result, error: OpenPhnError(.invalidPhone, "The carrier reports the number cannot be reached (SIP \(sip)).",
                                                             details: ["sip_response_code": .number(Double(sip))]), detail: detail)
        }
        if case .failed(let sip?) = result, sip == CallResult.declinedSIPCode {
            detail["decision"] = "declined"
            return .failed(call, result, error: OpenPhnError(.callDeclined, "The callee's network declined the call (SIP 603).",
                                                             details: ["sip_response_code": .number(603)]), detail: detail)
        }
        let previous = call.earlierResults.filter { $0 == result.name }.count
        guard let rule = policy.retry(for: result), let delay = rule.delay(after: previous) else {
            detail["decision"] = "not_retried"
            if case .machine = result { return .completed(call, result, detail: detail) }
            return exhausted(call, result, reason: "policy", "The campaign policy does not retry a \(result.name) call.", detail: detail)
        }
        if let maxRetries = rule.maxRetries, previous >= maxRetries {
            return exhausted(call, result, reason: "max_retries", "The \(result.name) outcome was retried \(previous) times, its maximum.", detail: detail)
        }
        if call.dials >= policy.maxDials {
            return exhausted(call, result, reason: "max_dials", "The lead was dialed \(call.dials) times, the campaign's maximum.", detail: detail)
        }
        if call.attempt >= call.maxAttempts {
            return exhausted(call, result, reason: "max_attempts", "The job's \(call.maxAttempts) attempts are spent.", detail: detail)
        }
        var at = call.now.addingTimeInterval(delay.seconds)
        var rule24h = false
        if call.dialsLast24h >= policy.maxDialsPer24h, let oldest = call.oldestDialLast24h, oldest.addingTimeInterval(86_400) > at {
            at = oldest.addingTimeInterval(86_400)
            rule24h = true
        }
        var window = "any time"
        if let number = try? PhoneNumber(validating: call.destination) {
            let hours = callHours.evaluate(number, at: at, tenantWindow: call.tenantWindow)
            window = hours.rule
            if !hours.allowed {
                guard let next = hours.nextAllowed else {
                    return exhausted(call, result, reason: "no_window", "No legal calling window for this number in the coming days.", detail: detail)
                }
                at = next
            }
        }
        if let expiresAt = call.expiresAt, at > expiresAt {
            detail["decision"] = "expired"
            return .failed(call, result, error: OpenPhnError(.jobExpired, "The job expires before its next dial is allowed.",
                                                             details: ["expires_at": .string(DialGate.iso(expiresAt))]), detail: detail)
        }
        detail["decision"] = "retry"
        detail["retry_number"] = .number(Double(previous + 1))
        detail["policy_delay_seconds"] = .number(delay.seconds)
        detail["next_dial_at"] = .string(DialGate.iso(at))
        detail["window"] = .string(window)
        if rule24h { detail["cap"] = .string("max \(policy.maxDialsPer24h) dials per 24h") }
        return .retry(call, result, at: at, detail: detail)
    }

    private func exhausted(_ call: SettledCall, _ result: CallResult, reason: String, _ message: String, detail: [String: JSONValue]) -> Settlement {
        var detail = detail
        detail["decision"] = "exhausted"
        detail["reason"] = .string(reason)
        return .failed(call, result, error: OpenPhnError(.leadExhausted, message, details: [
            "last_outcome": .string(result.name), "dials": .number(Double(call.dials)), "reason": .string(reason),
        ]), detail: detail)
    }
}
