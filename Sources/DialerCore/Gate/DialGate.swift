import Foundation

/// The gate's answer for one claimed job, at the moment of dialing, with the facts that decided it.
public struct GateDecision: Sendable, Hashable {
    public enum Verdict: Sendable, Hashable {
        /// Dial now.
        case allow
        /// Not before this instant (the exact start of the next legal window). No attempt is spent.
        case deferred(until: Date)
        /// Never: the job ends failed with `error`.
        case block
    }

    public let verdict: Verdict
    /// The error a deferral or a block records (`nil` for allow).
    public let error: OpenPhnError?
    /// The rule that decided, readable by a person: "FL 08:00-20:00 America/New_York", "global DNC list", ...
    public let rule: String
    /// Audit facts: local times, zones, region, the list that matched.
    public let audit: [String: JSONValue]

    static func allow(rule: String, audit: [String: JSONValue]) -> GateDecision { GateDecision(verdict: .allow, error: nil, rule: rule, audit: audit) }
    static func block(_ error: OpenPhnError, rule: String, audit: [String: JSONValue] = [:]) -> GateDecision {
        GateDecision(verdict: .block, error: error, rule: rule, audit: audit)
    }
    static func `defer`(until: Date, _ error: OpenPhnError, rule: String, audit: [String: JSONValue] = [:]) -> GateDecision {
        GateDecision(verdict: .deferred(until: until), error: error, rule: rule, audit: audit)
    }
}

/// The dial-time checks every claimed job passes between claim and dial. Pure: it reads only the claim and an instant.
///
/// Re-checked at dial time, because everything may have changed since enqueue: the job's expiry, the number plan,
/// the do-not-call lists (tenant's, then global), the job's consent evidence for its purpose (``ConsentRule``: an AI
/// voice is an artificial voice, so no call goes out without consent, nor telemarketing without written consent), the
/// tenant's verification and Twilio subaccount, the caller number, calling hours in every zone the callee may be in,
/// and the per-person frequency caps.
public struct DialGate: Sendable {
    public var callHours: CallHours
    /// How long a job of a tenant still in review waits before it is looked at again.
    public var pendingReviewRecheck: Duration
    /// Deferred jobs start at a random point up to this long after the window opens, so a campaign does not all fire at 08:00:00.
    public var spread: Duration

    public init(callHours: CallHours = .shipped, pendingReviewRecheck: Duration = .seconds(900), spread: Duration = .seconds(300)) {
        self.callHours = callHours
        self.pendingReviewRecheck = pendingReviewRecheck
        self.spread = spread
    }

    /// Decides for `call` at `now`: the database clock at the claim in production. When `now` differs from
    /// `call.claimedAt` (a simulated clock in demos and tests), every database timestamp of the claim is shifted by the
    /// same amount, so expiry and frequency caps stay consistent with the hours.
    public func decide(_ call: ClaimedCall, at now: Date) -> GateDecision {
        let shift = now.timeIntervalSince(call.claimedAt)
        if let expiresAt = call.expiresAt, expiresAt <= call.claimedAt {
            return .block(OpenPhnError(.jobExpired, "The job expired before it could be dialed.", details: ["expires_at": .string(Self.iso(expiresAt))]),
                          rule: "expires_at")
        }
        let number: PhoneNumber
        do {
            number = try PhoneNumber(validating: call.destination)
            try callHours.plan.validate(number)
        } catch {
            return .block(error, rule: "number plan")
        }
        if call.onTenantDNC {
            return .block(OpenPhnError(.dncBlocked, "Destination \(call.destination) is on your DNC list.", details: ["suppression_source": "tenant"]),
                          rule: "tenant DNC list", audit: ["list": "tenant"])
        }
        if call.onGlobalDNC {
            return .block(OpenPhnError(.dncBlocked, "Destination \(call.destination) is on the global DNC list.", details: ["suppression_source": "global"]),
                          rule: "global DNC list", audit: ["list": "global"])
        }
        let consent = Self.consentAudit(call)
        if let violation = ConsentRule.violation(purpose: call.purpose, consent: call.consentType) {
            return .block(violation, rule: ConsentRule.rule(for: call.purpose), audit: consent)
        }
        switch call.verification {
        case .rejected:
            return .block(OpenPhnError(.verificationPending, "The tenant's account verification was rejected; calls cannot be placed.",
                                       details: ["verification_status": "rejected"]), rule: "tenant verification")
        case .pendingReview:
            return expiring(call, shift: shift, .defer(until: now.addingTimeInterval(pendingReviewRecheck.seconds),
                                         OpenPhnError(.verificationPending, "The tenant's account hasn't been approved yet.",
                                                      details: ["verification_status": "pending_review"]), rule: "tenant verification"))
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

        let hours = callHours.evaluate(number, at: now, tenantWindow: call.tenantWindow)
        var audit = Self.audit(hours)
        guard hours.allowed else {
            guard let next = hours.nextAllowed else {
                return .block(OpenPhnError(.callHoursViolation, "No legal calling window for this number in the next \(CallHours.horizonDays) days.",
                                           details: ["rule": .string(hours.rule)]), rule: hours.rule, audit: audit)
            }
            return expiring(call, shift: shift, .defer(until: next, Self.hoursError(hours, next: next), rule: hours.rule, audit: audit))
        }
        if let cap = hours.maxCalls24h, call.recentDials >= cap, let oldest = call.oldestRecentDial {
            // The cap frees up when the oldest call of the last 24 hours leaves the window; that instant must be legal too.
            let freed = max(oldest.addingTimeInterval(24 * 3600 + shift), now.addingTimeInterval(1))
            let later = callHours.evaluate(number, at: freed, tenantWindow: call.tenantWindow)
            let until = later.allowed ? freed : (later.nextAllowed ?? freed)
            audit["recent_dials"] = .number(Double(call.recentDials))
            let rule = "\(hours.location.subdivisions.joined(separator: "/")) max \(cap) calls per 24h"
            return expiring(call, shift: shift, .defer(until: until, OpenPhnError(.callHoursViolation,
                "The tenant already called this number \(call.recentDials) times in 24 hours; the limit here is \(cap).",
                details: ["max_calls_24h": .number(Double(cap)), "next_allowed_at": .string(Self.iso(until))]), rule: rule, audit: audit))
        }
        return .allow(rule: hours.rule, audit: audit.merging(consent) { $1 })
    }

    /// The consent facts every allowed or consent-blocked dial keeps on its attempt row: the purpose, the consent the job
    /// had when it was dialed, and the rule that applied.
    static func consentAudit(_ call: ClaimedCall) -> [String: JSONValue] {
        ["purpose": .string(call.purpose.rawValue), "consent_type": call.consentType.map { .string($0.rawValue) } ?? .null,
         "consent_rule": .string(ConsentRule.rule(for: call.purpose))]
    }

    /// A deferral past the job's expiry ends the job instead, with the deferral's error.
    private func expiring(_ call: ClaimedCall, shift: TimeInterval, _ decision: GateDecision) -> GateDecision {
        guard case .deferred(let until) = decision.verdict, let expiresAt = call.expiresAt?.addingTimeInterval(shift), until > expiresAt,
            let error = decision.error
        else {
            return decision
        }
        return .block(OpenPhnError(error.error, error.message + " The job expires first.", details: error.details.merging(
            ["expires_at": .string(Self.iso(expiresAt))]) { $1 }), rule: decision.rule, audit: decision.audit)
    }

    /// The delay from `now` until a deferred job runs again: the window's start plus a random spread; never under a
    /// second, so a deferral can never spin a job through the claim.
    public func delay(until: Date, now: Date, using random: inout some RandomNumberGenerator) -> Duration {
        let spreadSeconds = spread.seconds > 0 ? Double.random(in: 0..<spread.seconds, using: &random) : 0
        return .milliseconds(Int64(max(1, until.timeIntervalSince(now) + spreadSeconds) * 1000))
    }

    static func hoursError(_ hours: CallHoursDecision, next: Date) -> OpenPhnError {
        OpenPhnError(.callHoursViolation, "Calling now would fall outside legal calling hours in the callee's time zone.",
                     details: ["rule": .string(hours.rule), "next_allowed_at": .string(iso(next)),
                               "time_zones": .array(hours.location.timeZones.map(JSONValue.string))])
    }

    static func audit(_ hours: CallHoursDecision) -> [String: JSONValue] {
        ["local_time": .array(hours.localTimes.map(JSONValue.string)), "time_zones": .array(hours.location.timeZones.map(JSONValue.string)),
         "region": .string(([hours.location.region] + hours.location.subdivisions).joined(separator: "-"))]
    }

    public static func iso(_ date: Date) -> String { UTCInstant.string(date) }
}
