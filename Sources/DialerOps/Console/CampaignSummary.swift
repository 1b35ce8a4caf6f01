import DialerCore
import Foundation

/// What the console shows of a campaign's counters: progress, the queue's parts, the outcome mix, its pace and what it
/// waits for. Pure, from ``CampaignCounts`` (the job counts the database maintains) and ``CampaignActivity`` (the
/// processes' counters): no page counts rows of `call_jobs`.
struct CampaignSummary: Sendable, Hashable {
    let counts: CampaignCounts
    var activity = CampaignActivity()
    /// The clock the relative times are told against.
    var now = Date()

    init(counts: CampaignCounts, activity: CampaignActivity? = nil, now: Date = Date()) {
        self.counts = counts
        self.activity = activity ?? CampaignActivity()
        self.now = now
    }

    var key: CampaignKey { CampaignKey(tenantID: counts.tenantID, campaignID: counts.campaignID) }

    static let finalStates: Set<String> = ["completed", "dialed", "failed", "cancelled"]

    var total: Int { counts.total }
    var done: Int { Self.finalStates.reduce(0) { $0 + (counts.states[$1] ?? 0) } }
    var remaining: Int { total - done }
    func state(_ name: String) -> Int { counts.states[name] ?? 0 }
    /// Waiting to be claimed now or at their time (queued), held for the callee's calling hours or a pace (deferred).
    var heldByHours: Int { state("deferred") }
    var retriesPending: Int { state("retrying") }
    /// Being dialed, or waiting for Twilio's final status.
    var inFlight: Int { state("active") + state("awaiting_outcome") }
    var inDoubt: Int { state("in_doubt") }

    /// Ended calls by how they ended, in the order operators read them.
    static let outcomeOrder: [(key: String, label: String)] = [
        ("human", "person"), ("machine", "machine"), ("busy", "busy"), ("no_answer", "no answer"), ("failed", "failed"),
        ("canceled", "canceled"), ("completed", "completed, no AMD"), ("unknown", "unknown"),
    ]
    func outcome(_ key: String) -> Int { counts.outcomes[key] ?? 0 }
    var endedCalls: Int { counts.outcomes.values.reduce(0, +) }
    /// People reached (a person, or completed without machine detection) per ended call; nil before any ended.
    var answerRate: Double? {
        let ended = endedCalls
        guard ended > 0 else { return nil }
        return Double(outcome("human") + outcome("completed") + outcome("unknown")) / Double(ended)
    }

    var answerRateText: String { answerRate.map { "\(Int(($0 * 100).rounded()))%" } ?? "–" }

    /// Dials per minute over the last few minutes, as a person reads it.
    var dialsPerMinuteText: String {
        let rate = activity.dialsPerMinute
        return rate == 0 ? "0" : rate < 10 ? String(format: "%.1f", rate) : ConsoleHTML.count(Int(rate.rounded()))
    }

    /// When the jobs left would be dialed at the current rate: "–" when nothing is dialing or nothing is left.
    var etaText: String {
        let rate = activity.dialsPerMinute
        guard rate > 0, remaining > 0 else { return remaining == 0 ? "done" : "–" }
        return Self.span(Double(remaining) / rate * 60)
    }

    /// "14:00 UTC, in 2 h 5 min"; "–" without a time; "due" when it has come.
    func whenText(_ date: Date?) -> String {
        guard let date else { return "–" }
        let seconds = date.timeIntervalSince(now)
        let clock = DialGate.iso(date).dropFirst(11).prefix(5)
        return seconds <= 0 ? "due (\(clock) UTC)" : "\(clock) UTC, in \(Self.span(seconds))"
    }

    /// "45 s", "12 min", "3 h 20 min", "2 d 4 h".
    static func span(_ seconds: Double) -> String {
        let s = Int(seconds.rounded(.up))
        if s < 60 { return "\(s) s" }
        if s < 3_600 { return "\((s + 59) / 60) min" }
        if s < 86_400 { return "\(s / 3_600) h \((s % 3_600) / 60) min" }
        return "\(s / 86_400) d \((s % 86_400) / 3_600) h"
    }

    /// The fields the page's script updates live, by name (the `data-field` of each cell).
    var fields: [String: String] {
        var fields = [
            "total": ConsoleHTML.count(total), "done": ConsoleHTML.count(done), "remaining": ConsoleHTML.count(remaining),
            "held": ConsoleHTML.count(heldByHours), "retrying": ConsoleHTML.count(retriesPending), "in_flight": ConsoleHTML.count(inFlight),
            "in_doubt": ConsoleHTML.count(inDoubt), "answer_rate": answerRateText, "status": counts.paused ? "paused" : "running",
            "progress": String(total == 0 ? 0 : done * 100 / total), "queued": ConsoleHTML.count(state("queued")), "paused_jobs": ConsoleHTML.count(state("paused")),
            "dials_per_minute": dialsPerMinuteText, "eta": etaText, "next_held": whenText(activity.nextHeldAt),
            "next_retry": whenText(activity.nextRetryAt), "dnc_hits": ConsoleHTML.count(activity.total("dnc_hit")),
            "dials": ConsoleHTML.count(activity.total("dial")), "throttled": ConsoleHTML.count(activity.total("throttled")),
        ]
        for (key, _) in Self.outcomeOrder { fields["outcome_" + key] = ConsoleHTML.count(outcome(key)) }
        for state in JobState.allCases { fields["state_" + state.rawValue] = ConsoleHTML.count(self.state(state.rawValue)) }
        return fields
    }
}
