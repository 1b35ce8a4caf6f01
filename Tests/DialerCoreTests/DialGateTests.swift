import Foundation
import Testing

@testable import DialerCore

@Suite("Dial-time gate")
struct DialGateTests {
    /// Wednesday 2026-12-02 10:00 in California: legal for a 415 number.
    static let noon = ISO8601DateFormatter().date(from: "2026-12-02T18:00:00Z")!

    func call(verification: VerificationStatus = .approved, subaccount: String? = "AC" + String(repeating: "0", count: 32), active: Bool = true,
              owned: Bool = true, destination: String = "+14155551234", expiresIn: TimeInterval? = nil, global: Bool = false, tenant: Bool = false,
              recentDials: Int = 0, oldest: Date? = nil, purpose: CallPurpose = .informational, consent: ConsentType? = .priorExpress) -> ClaimedCall {
        ClaimedCall(jobID: 1, tenantID: "acme", campaignID: nil, destination: destination, attempt: 1, maxAttempts: 4,
                    expiresAt: expiresIn.map { Self.noon.addingTimeInterval($0) }, verification: verification, subaccountSID: subaccount,
                    callerE164: "+14155550100", callerActive: active, callerOwnedByTenant: owned, claimedAt: Self.noon, purpose: purpose,
                    consentType: consent, onGlobalDNC: global, onTenantDNC: tenant, recentDials: recentDials, oldestRecentDial: oldest)
    }

    func decide(_ c: ClaimedCall, at: Date = DialGateTests.noon) -> GateDecision { DialGate().decide(c, at: at) }

    @Test("an approved tenant with an active number, inside calling hours, is allowed, and the audit names the zone")
    func allow() {
        let decision = decide(call())
        #expect(decision.verdict == .allow)
        #expect(decision.rule == "US-FED 08:00-21:00 America/Los_Angeles")
        #expect(decision.audit["local_time"] == .array(["America/Los_Angeles 2026-12-02 10:00 Wed"]))
    }

    @Test("pending review defers with verification_pending; rejected blocks with it")
    func verification() {
        let pending = decide(call(verification: .pendingReview))
        #expect(pending.verdict == .deferred(until: Self.noon.addingTimeInterval(900)))
        #expect(pending.error?.error == .verificationPending)
        #expect(decide(call(verification: .rejected)).verdict == .block)
        #expect(decide(call(verification: .rejected)).error?.error == .verificationPending)
    }

    @Test("no subaccount, an inactive number or another tenant's number blocks with no_active_number")
    func numbers() {
        for c in [call(subaccount: nil), call(active: false), call(owned: false)] {
            #expect(decide(c).verdict == .block)
            #expect(decide(c).error?.error == .noActiveNumber)
        }
    }

    @Test("an expired job and an invalid destination are blocked")
    func expiryAndNumber() {
        #expect(decide(call(expiresIn: -1)).error?.error == .jobExpired)
        #expect(decide(call(destination: "+1911")).error?.error == .invalidPhone)
        #expect(decide(call(destination: "+19005551234")).error?.error == .invalidPhone)
    }

    @Test("a number on the tenant's or the global DNC list is blocked with its source")
    func dnc() {
        let tenant = decide(call(global: true, tenant: true))
        #expect(tenant.error == OpenPhnError(.dncBlocked, "Destination +14155551234 is on your DNC list.", details: ["suppression_source": "tenant"]))
        let global = decide(call(global: true))
        #expect(global.error == OpenPhnError(.dncBlocked, "Destination +14155551234 is on the global DNC list.", details: ["suppression_source": "global"]))
    }

    @Test("a call without consent evidence is blocked with consent_required: details name the purpose, the consent required and none given")
    func noConsent() {
        for purpose in CallPurpose.allCases {
            let decision = decide(call(purpose: purpose, consent: nil))
            #expect(decision.verdict == .block)
            #expect(decision.error?.error == .consentRequired)
            #expect(decision.error?.error.httpStatus == 422)
            #expect(decision.error?.details == ["purpose": .string(purpose.rawValue), "required": .string(ConsentRule.required(for: purpose).rawValue),
                                                "consent_type": .null])
            #expect(decision.rule == "consent: \(purpose.rawValue) needs \(ConsentRule.required(for: purpose).rawValue)")
            #expect(decision.audit["consent_type"] == .null)
        }
    }

    @Test("telemarketing needs prior express written consent: PEC is blocked, PEWC dials; an informational call dials with either")
    func telemarketingNeedsWrittenConsent() {
        let pec = decide(call(purpose: .telemarketing, consent: .priorExpress))
        #expect(pec.verdict == .block)
        #expect(pec.error?.details == ["purpose": "telemarketing", "required": "prior_express_written", "consent_type": "prior_express"])
        #expect(pec.rule == "consent: telemarketing needs prior_express_written")
        #expect(pec.audit["purpose"] == "telemarketing" && pec.audit["consent_type"] == "prior_express")

        let pewc = decide(call(purpose: .telemarketing, consent: .priorExpressWritten))
        #expect(pewc.verdict == .allow)
        // An allowed dial keeps the consent it was placed on, with the hours' rule.
        #expect(pewc.audit["consent_rule"] == "consent: telemarketing needs prior_express_written")
        #expect(pewc.audit["consent_type"] == "prior_express_written")
        #expect(pewc.rule == "US-FED 08:00-21:00 America/Los_Angeles")
        for consent in ConsentType.allCases {
            #expect(decide(call(purpose: .informational, consent: consent)).verdict == .allow, "\(consent)")
        }
    }

    @Test("a number on a do-not-call list is blocked as dnc_blocked even without consent: the list is the more specific answer")
    func dncBeforeConsent() {
        #expect(decide(call(tenant: true, consent: nil)).error?.error == .dncBlocked)
        // Consent is checked before the tenant's account: a job that can never be dialed is not deferred for review.
        #expect(decide(call(verification: .pendingReview, consent: nil)).error?.error == .consentRequired)
    }

    @Test("outside hours the job is deferred to the next window; past its expiry it fails with call_hours_violation")
    func hours() {
        let night = ISO8601DateFormatter().date(from: "2026-12-02T06:00:00Z")!
        let deferred = decide(call(), at: night)
        #expect(deferred.verdict == .deferred(until: ISO8601DateFormatter().date(from: "2026-12-02T16:00:00Z")!))
        #expect(deferred.error?.error == .callHoursViolation)
        // Expires an hour after the claim, ten hours before the window opens.
        let c = ClaimedCall(jobID: 1, tenantID: "acme", campaignID: nil, destination: "+14155551234", attempt: 1, maxAttempts: 4,
                        expiresAt: night.addingTimeInterval(3600), verification: .approved, subaccountSID: "AC1", callerE164: "+14155550100",
                        callerActive: true, callerOwnedByTenant: true, claimedAt: night, purpose: .informational, consentType: .priorExpress)
        let expired = decide(c, at: night)
        #expect(expired.verdict == .block)
        #expect(expired.error?.error == .callHoursViolation)
    }

    @Test("Florida's cap of 3 calls in 24 hours defers the fourth until the oldest leaves the window, inside legal hours")
    func frequencyCap() {
        let now = ISO8601DateFormatter().date(from: "2026-12-02T15:00:00Z")!
        let oldest = ISO8601DateFormatter().date(from: "2026-12-02T10:00:00Z")!
        let capped = decide(call(destination: "+13055551234", recentDials: 3, oldest: oldest), at: now)
        #expect(capped.verdict == .deferred(until: ISO8601DateFormatter().date(from: "2026-12-03T13:00:00Z")!))
        #expect(capped.error?.details["max_calls_24h"] == 3)
        #expect(decide(call(destination: "+13055551234", recentDials: 2, oldest: oldest), at: now).verdict == .allow)
        #expect(decide(call(destination: "+12125551234", recentDials: 5, oldest: oldest), at: now).verdict == .allow)
    }

    @Test("the deferral spread stays within its bound")
    func spread() {
        var random = SystemRandomNumberGenerator()
        let gate = DialGate(spread: .seconds(300))
        for _ in 0..<100 {
            let delay = gate.delay(until: Self.noon.addingTimeInterval(60), now: Self.noon, using: &random).seconds
            #expect(delay >= 60 && delay < 360)
        }
    }
}
