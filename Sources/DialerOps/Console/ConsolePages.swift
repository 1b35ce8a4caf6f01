import DialerCore
import Foundation
import Hummingbird
import Logging

/// The console's pages: campaigns, a campaign, the audit. Each reads the maintained counters or a bounded slice,
/// never a count over `call_jobs`; a tenant-scoped operator sees their tenant only (another's campaign is 404).
extension ConsoleRoute {
    func campaignsPage(_ request: Request) async -> Response {
        await page(request) { session in
            let campaigns = try await store.campaignSummaries(tenant: session.account.tenantID)
            return Self.html(ConsoleHTML.page(title: "Campaigns", session: session, current: "campaigns", live: "campaigns",
                                              body: Self.campaignsHTML(campaigns)))
        }
    }

    static func campaignsHTML(_ campaigns: [CampaignSummary]) -> String {
        guard !campaigns.isEmpty else { return "<h1>Campaigns</h1><p>No campaign has jobs yet.</p>" }
        let rows = campaigns.map { summary -> String in
            let counts = summary.counts
            let name = counts.campaignID.isEmpty ? "(no campaign)" : ConsoleHTML.escape(counts.campaignID)
            let link = counts.campaignID.isEmpty ? name
                : #"<a href="/console/campaigns/\#(ConsoleHTML.segment(counts.tenantID))/\#(ConsoleHTML.segment(counts.campaignID))">\#(name)</a>"#
            let fields = summary.fields
            func cell(_ key: String) -> String { #"<td data-field="\#(key)">\#(fields[key] ?? "")</td>"# }
            let mix = CampaignSummary.outcomeOrder.prefix(5).map { key, label in
                #"<span class="chip">\#(label) <b data-field="outcome_\#(key)">\#(fields["outcome_" + key] ?? "0")</b></span>"#
            }.joined(separator: " ")
            let progress = summary.total == 0 ? 0 : summary.done * 100 / summary.total
            return """
                <tr data-campaign="\(ConsoleHTML.escape(counts.tenantID))/\(ConsoleHTML.escape(counts.campaignID))">
                <th scope="row">\(link)<div class="sub">\(ConsoleHTML.escape(counts.tenantID))</div></th>
                <td><progress max="100" value="\(progress)" aria-label="\(progress)% done"></progress>
                <div class="sub"><span data-field="done">\(fields["done"]!)</span> done of <span data-field="total">\(fields["total"]!)</span></div></td>
                \(cell("remaining"))\(cell("dials_per_minute"))\(cell("eta"))
                <td><span data-field="held">\(fields["held"]!)</span><div class="sub">next: <span data-field="next_held">\(fields["next_held"]!)</span></div></td>
                <td><span data-field="retrying">\(fields["retrying"]!)</span><div class="sub">next: <span data-field="next_retry">\(fields["next_retry"]!)</span></div></td>
                \(cell("dnc_hits"))\(cell("in_flight"))\(cell("in_doubt"))
                <td class="mix">\(mix)</td>\(cell("answer_rate"))
                <td><span class="status \(counts.paused ? "paused" : "running")" data-field="status">\(fields["status"]!)</span></td>
                </tr>
                """
        }.joined(separator: "\n")
        return """
            <h1>Campaigns</h1>
            <p class="live" aria-live="polite" data-live-status>Live: updates every second.</p>
            <div class="scroll"><table class="campaigns">
            <caption>Each campaign's progress, its queue and how its calls ended</caption>
            <thead><tr><th scope="col">Campaign</th><th scope="col">Progress</th><th scope="col">Remaining</th>
            <th scope="col">Dials/min</th><th scope="col">ETA at this rate</th>
            <th scope="col">Held by the gate (calling hours, caps)</th><th scope="col">Retries pending</th>
            <th scope="col">Do-not-call hits at dial time</th><th scope="col">In flight</th>
            <th scope="col">In doubt</th><th scope="col">Outcomes</th><th scope="col">Answer rate</th><th scope="col">Status</th></tr></thead>
            <tbody>
            \(rows)
            </tbody></table></div>
            """
    }

    func auditPage(_ request: Request) async -> Response {
        await page(request) { session in
            let before = request.uri.queryParameters["before"].flatMap { Int64(String($0)) }
            let entries = try await store.auditEntries(tenant: session.account.tenantID, before: before, limit: 100)
            let rows = entries.map { entry in
                let scope = entry.scope == .object([:]) ? "" : ConsoleHTML.escape(entry.scope.jsonText)
                return """
                    <tr><td><time datetime="\(DialGate.iso(entry.at))">\(DialGate.iso(entry.at))</time></td><td>\(ConsoleHTML.escape(entry.actor))</td>
                    <td>\(ConsoleHTML.escape(entry.action))</td><td>\(ConsoleHTML.escape(entry.tenantID ?? "–"))</td>
                    <td>\(ConsoleHTML.escape(entry.campaignID ?? "–"))</td><td class="num">\(ConsoleHTML.count(entry.affected))</td><td><code>\(scope)</code></td></tr>
                    """
            }.joined(separator: "\n")
            let more = entries.count == 100 ? #"<p><a href="/console/audit?before=\#(entries.last!.id)">Older entries</a></p>"# : ""
            return Self.html(ConsoleHTML.page(title: "Audit", session: session, current: "audit", body: """
                <h1>Audit</h1>
                <div class="scroll"><table class="audit"><caption>Every operator action, newest first</caption>
                <thead><tr><th scope="col">When (UTC)</th><th scope="col">Who</th><th scope="col">What</th><th scope="col">Tenant</th>
                <th scope="col">Campaign</th><th scope="col">Jobs</th><th scope="col">Scope</th></tr></thead>
                <tbody>\(rows)</tbody></table></div>\(more)
                """))
        }
    }
}
