import DialerCore

/// What the console shows of a campaign's counters: progress, the queue's parts, and the outcome mix. Pure, from
/// ``CampaignCounts`` (the counters the database maintains): no page counts rows of `call_jobs`.
struct CampaignSummary: Sendable, Hashable {
    let counts: CampaignCounts

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

    /// The fields the page's script updates live, by name (the `data-field` of each cell).
    var fields: [String: String] {
        var fields = [
            "total": ConsoleHTML.count(total), "done": ConsoleHTML.count(done), "remaining": ConsoleHTML.count(remaining),
            "held": ConsoleHTML.count(heldByHours), "retrying": ConsoleHTML.count(retriesPending), "in_flight": ConsoleHTML.count(inFlight),
            "in_doubt": ConsoleHTML.count(inDoubt), "answer_rate": answerRateText, "status": counts.paused ? "paused" : "running",
            "progress": String(total == 0 ? 0 : done * 100 / total), "queued": ConsoleHTML.count(state("queued")), "paused_jobs": ConsoleHTML.count(state("paused")),
        ]
        for (key, _) in Self.outcomeOrder { fields["outcome_" + key] = ConsoleHTML.count(outcome(key)) }
        for state in JobState.allCases { fields["state_" + state.rawValue] = ConsoleHTML.count(self.state(state.rawValue)) }
        return fields
    }
}
