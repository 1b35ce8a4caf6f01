import DialerCore
import Foundation

/// `dialer status` output: totals by state, the facts an operator checks first, then one line per tenant and campaign.
struct StatusReport {
    let rows: [QueueStatusRow]
    let facts: StatusFacts
    /// The campaign's calls, when `--campaign` names one.
    var calls: CallReport? = nil

    var totals: [JobState: Int] { rows.reduce(into: [:]) { $0[$1.state, default: 0] += $1.count } }
    var oldestDueAge: Double? { rows.compactMap(\.oldestDueAgeSeconds).max() }

    var table: String {
        var out = "state       jobs\n"
        for state in JobState.allCases {
            out += pad(state.rawValue, 18) + "\(totals[state] ?? 0)" + (state.isFinal ? "  (finished in the last 24 h)" : "") + "\n"
        }
        out += "oldest due job: " + (oldestDueAge.map { String(format: "%.1fs behind", $0) } ?? "none due") + "\n"
        out += "expired leases: \(facts.expiredLeases)" + (facts.expiredLeases > 0 ? "  (a worker died or hangs; recovery reconciles them)" : "") + "\n"
        if facts.pauses.isEmpty {
            out += "paused: none\n"
        } else {
            out += "paused:\n"
            for pause in facts.pauses {
                out += "  " + describe(tenant: pause.tenantID, campaign: pause.campaignID) + " since \(Self.iso(pause.pausedAt)) by \(pause.pausedBy)"
                    + (pause.reason.isEmpty ? "" : ": \(pause.reason)") + "\n"
            }
        }
        if !facts.failuresByCode.isEmpty {
            out += "failed in the last 24 h by error: "
                + facts.failuresByCode.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key)=\($0.value)" }.joined(separator: " ") + "\n"
        }
        for table in facts.tables {
            out += "table \(pad(table.table, 14)) live=\(table.liveTuples) dead=\(table.deadTuples) last vacuum: "
                + (table.lastVacuum.map(Self.iso) ?? "never") + " (autovacuums: \(table.autovacuumCount))\n"
        }
        if let calls {
            let mix = calls.outcomes.sorted { ($1.value, $0.key) < ($0.value, $1.key) }.map { "\($0.key)=\($0.value)" }.joined(separator: " ")
            out += "calls in the last 24 h: attempts=\(calls.attempts)"
                + (calls.answerRate.map { String(format: "  answer rate %.1f%%", $0 * 100) } ?? "") + "\n"
            out += "  outcomes: " + (mix.isEmpty ? "none yet" : mix) + "\n"
            out += "  waiting for an outcome: \(calls.awaitingOutcome)  overdue (no final callback): \(calls.outcomesOverdue)"
                + (calls.outcomesOverdue > 0 ? "  (the sweeper looks them up at Twilio)" : "") + "\n"
            out += "  retries pending: \(calls.retriesPending)" + (calls.nextRetryAt.map { ", next due \(Self.iso($0))" } ?? "")
                + "  leads exhausted: \(calls.leadsExhausted)\n"
        }
        out += "\n" + pad("tenant", 21) + pad("campaign", 21) + JobState.allCases.map { pad($0.rawValue, 10) }.joined() + "oldest due\n"
        let groups = Dictionary(grouping: rows) { "\($0.tenantID)\u{0}\($0.campaignID ?? "")" }
        for key in groups.keys.sorted() {
            let group = groups[key]!
            let counts = Dictionary(group.map { ($0.state, $0.count) }, uniquingKeysWith: +)
            let age = group.compactMap(\.oldestDueAgeSeconds).max().map { String(format: "%.1fs", $0) } ?? "-"
            out += pad(group[0].tenantID, 21) + pad(group[0].campaignID ?? "-", 21)
                + JobState.allCases.map { pad("\(counts[$0] ?? 0)", 10) }.joined() + age + "\n"
        }
        return out
    }

    var jsonText: String {
        var totalsJSON: [String: JSONValue] = [:]
        for state in JobState.allCases { totalsJSON[state.rawValue] = .number(Double(totals[state] ?? 0)) }
        let groups: [JSONValue] = rows.map { row in
            .object([
                "tenant_id": .string(row.tenantID), "campaign_id": row.campaignID.map(JSONValue.string) ?? .null, "state": .string(row.state.rawValue),
                "count": .number(Double(row.count)), "oldest_due_age_seconds": row.oldestDueAgeSeconds.map(JSONValue.number) ?? .null,
            ])
        }
        let pauses: [JSONValue] = facts.pauses.map { pause in
            .object([
                "tenant_id": .string(pause.tenantID), "campaign_id": pause.campaignID.map(JSONValue.string) ?? .null, "reason": .string(pause.reason),
                "paused_by": .string(pause.pausedBy), "paused_at": .string(Self.iso(pause.pausedAt)),
            ])
        }
        let tables: [String: JSONValue] = Dictionary(uniqueKeysWithValues: facts.tables.map { table in
            (table.table, JSONValue.object([
                "live_tuples": .number(Double(table.liveTuples)), "dead_tuples": .number(Double(table.deadTuples)),
                "last_vacuum": table.lastVacuum.map { .string(Self.iso($0)) } ?? .null, "autovacuum_count": .number(Double(table.autovacuumCount)),
            ]))
        })
        var callsJSON: JSONValue = .null
        if let calls {
            var fields: [String: JSONValue] = [
                "window_hours": 24, "attempts": .number(Double(calls.attempts)), "outcomes": .object(calls.outcomes.mapValues { .number(Double($0)) }),
                "awaiting_outcome": .number(Double(calls.awaitingOutcome)), "outcomes_overdue": .number(Double(calls.outcomesOverdue)),
                "retries_pending": .number(Double(calls.retriesPending)), "leads_exhausted": .number(Double(calls.leadsExhausted)),
            ]
            fields["answer_rate"] = calls.answerRate.map(JSONValue.number) ?? .null
            fields["next_retry_at"] = calls.nextRetryAt.map { .string(Self.iso($0)) } ?? .null
            callsJSON = .object(fields)
        }
        return JSONValue.object([
            "calls": callsJSON,
            "totals": .object(totalsJSON), "finished_window_hours": 24, "oldest_due_age_seconds": oldestDueAge.map(JSONValue.number) ?? .null,
            "expired_leases": .number(Double(facts.expiredLeases)), "paused": .array(pauses),
            "failed_by_error_24h": .object(facts.failuresByCode.mapValues { .number(Double($0)) }), "tables": .object(tables), "groups": .array(groups),
        ]).jsonText
    }

    static func iso(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}

private func pad(_ text: String, _ width: Int) -> String {
    text.count >= width ? text + " " : text.padding(toLength: width, withPad: " ", startingAt: 0)
}
