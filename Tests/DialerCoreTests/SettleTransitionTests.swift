import DialerCore
import Foundation
import Testing

/// The campaign policy's decisions after a call, without a database: each outcome, the escalation, the caps, the
/// calling hours and the expiry.
@Suite("Settling a call's outcome: the campaign policy, pure")
struct SettleTransitionTests {
    /// Wednesday 2026-12-02 18:00 UTC: 13:00 in New York, inside calling hours.
    static let noon = ISO8601DateFormatter().date(from: "2026-12-02T18:00:00Z")!
    /// 19:30 in New York: a 2-hour delay lands after 21:00.
    static let evening = ISO8601DateFormatter().date(from: "2026-12-03T00:30:00Z")!
    static let newYork = "+12125550147"

    static func call(_ status: CallStatus, answeredBy: String? = nil, sip: Int? = nil, dials: Int = 1, recent: Int = 1, oldest: Date? = nil,
                     earlier: [String] = [], attempt: Int = 1, maxAttempts: Int = 4, expiresAt: Date? = nil, at now: Date = noon) -> SettledCall
    {
        SettledCall(jobID: 7, tenantID: "acme", campaignID: "spring", destination: newYork, callSID: "CA" + String(repeating: "0", count: 32),
                    attempt: attempt, maxAttempts: maxAttempts, expiresAt: expiresAt, tenantWindow: nil, status: status, answeredBy: answeredBy,
                    sipResponseCode: sip, callDuration: nil, dials: dials, dialsLast24h: recent, oldestDialLast24h: oldest ?? now,
                    earlierResults: earlier, now: now)
    }

    let transition = SettleTransition()
    let policy = CampaignPolicy.defaults

    @Test("answered by a person, by AMD's unknown, or with no AMD asked: the job is completed as a contact")
    func contacts() {
        for (answeredBy, name) in [("human", "human"), ("unknown", "unknown"), (nil, "completed")] as [(String?, String)] {
            let settled = transition.settle(Self.call(.completed, answeredBy: answeredBy), policy: policy)
            #expect(settled.state == .completed && settled.result.name == name && settled.result.isContact)
        }
    }

    @Test("a machine is not retried by default (completed, not a contact); with a machine rule it is retried")
    func machine() {
        let settled = transition.settle(Self.call(.completed, answeredBy: "machine_end_beep"), policy: policy)
        #expect(settled.state == .completed && settled.result == .machine && !settled.result.isContact)
        var retried = policy
        retried.machine = .init(delays: [.seconds(3_600)], maxRetries: 1)
        let again = transition.settle(Self.call(.completed, answeredBy: "machine_start"), policy: retried)
        #expect(again.state == .retrying && again.runAt == Self.noon.addingTimeInterval(3_600))
        let second = transition.settle(Self.call(.completed, answeredBy: "fax", dials: 2, earlier: ["machine"]), policy: retried)
        #expect(second.state == .failed && second.error?.error == .leadExhausted && second.error?.details["reason"] == "max_retries")
    }

    @Test("busy is retried after 30 minutes; no-answer after 2 hours, then 4; a passing failure after 1 hour")
    func delays() {
        #expect(transition.settle(Self.call(.busy), policy: policy).runAt == Self.noon.addingTimeInterval(1_800))
        #expect(transition.settle(Self.call(.noAnswer), policy: policy).runAt == Self.noon.addingTimeInterval(7_200))
        let second = transition.settle(Self.call(.noAnswer, dials: 2, recent: 2, earlier: ["no_answer"]), policy: policy)
        #expect(second.runAt == Self.noon.addingTimeInterval(14_400))
        #expect(second.detail["retry_number"] == 2)
        #expect(transition.settle(Self.call(.failed, sip: 480), policy: policy).runAt == Self.noon.addingTimeInterval(3_600))
        #expect(transition.settle(Self.call(.failed), policy: policy).state == .retrying, "a failure without a SIP code may pass")
    }

    @Test("SIP 404, 410 and 484 end the lead as invalid_phone; 603 as call_declined; a canceled call is cancelled")
    func terminal() {
        for sip in [404, 410, 484] {
            let settled = transition.settle(Self.call(.failed, sip: sip), policy: policy)
            #expect(settled.state == .failed && settled.error?.error == .invalidPhone)
        }
        #expect(transition.settle(Self.call(.failed, sip: 603), policy: policy).error?.error == .callDeclined)
        #expect(transition.settle(Self.call(.canceled), policy: policy).state == .cancelled)
    }

    @Test("the caps end the lead: its lifetime dials, and the job's attempts")
    func caps() {
        let dials = transition.settle(Self.call(.busy, dials: 3, recent: 1), policy: policy)
        #expect(dials.state == .failed && dials.error?.error == .leadExhausted && dials.error?.details["reason"] == "max_dials")
        #expect(dials.error?.details["last_outcome"] == "busy")
        let attempts = transition.settle(Self.call(.busy, attempt: 4, maxAttempts: 4), policy: policy)
        #expect(attempts.error?.details["reason"] == "max_attempts")
    }

    @Test("a full rolling 24 hours moves the retry to when the oldest dial of them leaves the window")
    func rolling24Hours() {
        var policy = self.policy
        policy.maxDials = 10
        let oldest = Self.noon.addingTimeInterval(-20 * 3_600)
        let settled = transition.settle(Self.call(.busy, dials: 3, recent: 3, oldest: oldest), policy: policy)
        // 14:00 UTC the next day is 09:00 in New York: legal, so exactly then.
        #expect(settled.state == .retrying && settled.runAt == oldest.addingTimeInterval(86_400))
        #expect(settled.detail["cap"] == "max 3 dials per 24h")
    }

    @Test("a retry that would land outside calling hours waits for the next legal window of the callee")
    func nextWindow() throws {
        let settled = transition.settle(Self.call(.noAnswer, at: Self.evening), policy: policy)
        // 19:30 + 2 h = 21:30 in New York: past 21:00, so 08:00 the next morning (13:00 UTC).
        #expect(settled.state == .retrying)
        #expect(settled.runAt == ISO8601DateFormatter().date(from: "2026-12-03T13:00:00Z"))
    }

    @Test("a retry past the job's expiry fails it as job_expired")
    func expiry() {
        let settled = transition.settle(Self.call(.busy, expiresAt: Self.noon.addingTimeInterval(600)), policy: policy)
        #expect(settled.state == .failed && settled.error?.error == .jobExpired)
    }

    @Test("policies resolve field by field: the campaign's, else the tenant's, else the default; bad values are refused with the field named")
    func resolveAndValidate() throws {
        var tenant = CampaignPolicy.Overrides()
        tenant.maxDials = 5
        tenant.busyDelaysSeconds = [600]
        var campaign = CampaignPolicy.Overrides()
        campaign.busyDelaysSeconds = [300, 900]
        campaign.machineDetection = "DetectMessageEnd"
        let resolved = CampaignPolicy.resolve(campaign: campaign, tenant: tenant)
        #expect(resolved.busy.delays == [.seconds(300), .seconds(900)] && resolved.maxDials == 5 && resolved.machineDetection == .detectMessageEnd)
        #expect(resolved.noAnswer == CampaignPolicy.defaults.noAnswer && resolved.maxDialsPer24h == 3)
        var bad = CampaignPolicy.Overrides()
        bad.ringTimeoutSeconds = 10
        #expect(throws: OpenPhnError.self) { try bad.validate() }
        do {
            try bad.validate()
        } catch {
            #expect(error.details["field"] == "ring_timeout_seconds" && error.error == .invalidRequest)
        }
        var short = CampaignPolicy.Overrides()
        short.busyDelaysSeconds = [5]
        #expect(throws: OpenPhnError.self) { try short.validate() }
        #expect(CampaignPolicy.defaults.outcomeDeadline(grace: .seconds(120)) == .seconds(30 + 5 + 900 + 120))
    }
}
