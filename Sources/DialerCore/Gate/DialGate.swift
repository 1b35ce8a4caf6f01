import Foundation

/// The gate's answer for one claimed job, at the moment of dialing.
public enum GateDecision: Sendable, Hashable {
    /// Dial now.
    case allow
    /// Not now: try again after `delay` (on the database clock). No attempt is spent.
    case deferred(delay: Duration, reason: OpenPhnError, rule: String)
    /// Never: the job ends failed with this error.
    case block(OpenPhnError, rule: String)
}

/// The dial-time checks every claimed job passes between claim and dial. Pure: it reads only the claim.
///
/// It re-checks at dial time what may have changed since enqueue: the job's expiry, the destination's validity, the
/// tenant's verification and Twilio subaccount, and the caller number. The do-not-call and call-hour rules plug in here.
public struct DialGate: Sendable {
    /// How long a job of a tenant still in review waits before it is looked at again.
    public var pendingReviewRecheck: Duration

    public init(pendingReviewRecheck: Duration = .seconds(900)) {
        self.pendingReviewRecheck = pendingReviewRecheck
    }

    public func decide(_ call: ClaimedCall) -> GateDecision {
        if let expiresAt = call.expiresAt, expiresAt <= call.claimedAt {
            return .block(OpenPhnError(.jobExpired, "The job expired before it could be dialed.",
                                       details: ["expires_at": .string(ISO8601DateFormatter().string(from: expiresAt))]), rule: "expires_at")
        }
        do {
            _ = try PhoneNumber(validating: call.destination)
        } catch {
            return .block(error, rule: "e164")
        }
        switch call.verification {
        case .rejected:
            return .block(OpenPhnError(.verificationPending, "The tenant's account verification was rejected; calls cannot be placed.",
                                       details: ["verification_status": "rejected"]), rule: "tenant verification")
        case .pendingReview:
            return .deferred(delay: pendingReviewRecheck,
                             reason: OpenPhnError(.verificationPending, "The tenant's account hasn't been approved yet.",
                                                  details: ["verification_status": "pending_review"]), rule: "tenant verification")
        case .approved:
            break
        }
        guard call.subaccountSID != nil else {
            return .block(OpenPhnError(.noActiveNumber, "The tenant has no Twilio subaccount configured."), rule: "twilio subaccount")
        }
        guard call.callerOwnedByTenant, call.callerActive else {
            return .block(OpenPhnError(.noActiveNumber, "The job's caller number is no longer an active number of the tenant.",
                                       details: ["from": .string(call.callerE164)]), rule: "caller number")
        }
        return .allow
    }
}
