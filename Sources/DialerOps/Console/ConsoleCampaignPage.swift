import DialerCore
import Foundation
import Hummingbird

/// A campaign's page: its numbers (live), its pace and what it waits for, a chart of dials and outcomes over the last
/// 24 hours, the queue by state, how calls ended, the failures grouped by code with examples, its retry policy and,
/// for operators, its controls. Reads the maintained counters and bounded slices only.
extension ConsoleRoute {
    /// The campaign a path names, if this operator may see it; else `not_found` (another tenant's is not told apart).
    func visibleCampaign(_ session: ConsoleSession, tenant: String, campaign: String) async throws -> CampaignSummary {
        guard session.account.sees(tenant: tenant), let counts = try await store.campaignCounts(tenant: tenant, campaign: campaign) else {
            throw OpenPhnError(.notFound, "No campaign '\(campaign.prefix(64))' of tenant '\(tenant.prefix(64))' is visible to you.")
        }
        let key = CampaignKey(tenantID: tenant, campaignID: campaign)
        return CampaignSummary(counts: counts, activity: try await store.campaignActivity([key])[key])
    }

    func campaignPage(_ request: Request, tenant: String, campaign: String) async -> Response {
        await page(request) { session in
            let summary = try await visibleCampaign(session, tenant: tenant, campaign: campaign)
            let policy = PolicyReport.json(try await store.policies(tenant: tenant), tenant: tenant, campaign: campaign)
            let chart = CampaignChart(minutes: try await store.campaignTimeline(summary.key), now: Date())
            let failures = try await store.campaignFailures(summary.key)
            let notice = request.uri.queryParameters["done"].map { String($0) }
            let body = Self.campaignHTML(summary, policy: policy, chart: chart, failures: failures, session: session, notice: notice)
            return Self.html(ConsoleHTML.page(title: "Campaign \(campaign)", session: session, current: "campaigns",
                                              live: "campaign/\(tenant)/\(campaign)", body: body))
        }
    }

    static func campaignHTML(_ summary: CampaignSummary, policy: JSONValue, chart: CampaignChart, failures: [FailureGroup],
                             session: ConsoleSession, notice: String?) -> String
    {
        let counts = summary.counts
        let fields = summary.fields
        let path = "/console/campaigns/\(ConsoleHTML.segment(counts.tenantID))/\(ConsoleHTML.segment(counts.campaignID))"
        let states = ["queued", "deferred", "retrying", "paused", "active", "awaiting_outcome", "in_doubt", "completed", "dialed", "failed", "cancelled"]
        let stateRows = states.map { state in
            #"<tr><th scope="row">\#(state)</th><td class="num" data-field="state_\#(state)">\#(ConsoleHTML.count(summary.state(state)))</td></tr>"#
        }.joined()
        let outcomeRows = CampaignSummary.outcomeOrder.map { key, label in
            #"<tr><th scope="row">\#(label)</th><td class="num" data-field="outcome_\#(key)">\#(fields["outcome_" + key] ?? "0")</td></tr>"#
        }.joined()
        var policyRows = ""
        if case .object(let values)? = policy["policy"] {
            policyRows = values.keys.sorted().map { key in
                let value = values[key].map { $0 == .null ? "none" : $0.jsonText } ?? "none"
                return "<tr><th scope=\"row\">\(ConsoleHTML.escape(key))</th><td>\(ConsoleHTML.escape(value))</td>"
                    + "<td>\(ConsoleHTML.escape(policy["sources"]?[key]?.stringValue ?? ""))</td></tr>"
            }.joined()
        }
        var controls = ""
        if session.account.mayAct {
            let shown: [Control] = counts.paused ? [.resume, .cancel, .retry] : [.pause, .cancel, .retry]
            controls = "<section aria-labelledby=\"controls\"><h2 id=\"controls\">Controls</h2><div class=\"controls\">" + shown.map { control in
                #"<form method="post" action="\#(path)/\#(control.rawValue)">\#(ConsoleHTML.csrfField(session))<button type="submit">\#(control.verb)…</button></form>"#
            }.joined() + "</div>" + ConsoleFilter.formsHTML(path: path, codes: failures.map(\.code), session: session)
                + "<p class=\"sub\">Each shows what it would do first; nothing happens until you confirm.</p></section>"
        }
        let message = doneNotice(notice)
        return """
            <p><a href="/console">← Campaigns</a></p>
            <h1>\(ConsoleHTML.escape(counts.campaignID)) <span class="sub">\(ConsoleHTML.escape(counts.tenantID))</span>
            <span class="status \(counts.paused ? "paused" : "running")" data-field="status">\(fields["status"]!)</span></h1>
            \(message)
            <p><span data-field="done">\(fields["done"]!)</span> of <span data-field="total">\(fields["total"]!)</span> done,
            <span data-field="remaining">\(fields["remaining"]!)</span> remaining; answer rate <span data-field="answer_rate">\(fields["answer_rate"]!)</span>.</p>
            <dl class="facts">
            <div><dt>Dials per minute</dt><dd data-field="dials_per_minute">\(fields["dials_per_minute"]!)</dd></div>
            <div><dt>ETA at this rate</dt><dd data-field="eta">\(fields["eta"]!)</dd></div>
            <div><dt>Held by the gate</dt><dd><span data-field="held">\(fields["held"]!)</span>; next opens <span data-field="next_held">\(fields["next_held"]!)</span></dd></div>
            <div><dt>Retries pending</dt><dd><span data-field="retrying">\(fields["retrying"]!)</span>; next due <span data-field="next_retry">\(fields["next_retry"]!)</span></dd></div>
            <div><dt>Do-not-call hits at dial time</dt><dd data-field="dnc_hits">\(fields["dnc_hits"]!)</dd></div>
            <div><dt>429s from Twilio</dt><dd data-field="throttled">\(fields["throttled"]!)</dd></div>
            </dl>
            \(controls)
            <form method="get" action="/console/calls" class="lookup"><label for="job">A call's story, by job id</label>
            <input id="job" name="id" inputmode="numeric" pattern="[0-9]+" required> <button type="submit">Open</button></form>
            <section aria-labelledby="timeline"><h2 id="timeline">Dials and outcomes, last 24 hours</h2>\(chart.html)</section>
            <div class="panels">
            <section aria-labelledby="queue"><h2 id="queue">Queue by state</h2><table><tbody>\(stateRows)</tbody></table></section>
            <section aria-labelledby="outcomes"><h2 id="outcomes">How calls ended</h2><table><tbody>\(outcomeRows)</tbody></table></section>
            <section aria-labelledby="policy"><h2 id="policy">Retry policy</h2><table><thead><tr><th scope="col">Setting</th><th scope="col">Value</th>
            <th scope="col">From</th></tr></thead><tbody>\(policyRows)</tbody></table></section>
            </div>
            <section aria-labelledby="failures"><h2 id="failures">Failures by code</h2>\(failuresHTML(failures, path: path, session: session))</section>
            """
    }

    /// Failed jobs by code, the largest group first, each with its latest message and links to its latest jobs.
    static func failuresHTML(_ groups: [FailureGroup], path: String, session: ConsoleSession) -> String {
        guard !groups.isEmpty else { return "<p>No job of this campaign has failed.</p>" }
        let rows = groups.map { group in
            let parts = group.code.split(separator: ":", maxSplits: 1)
            let code = "<code>\(ConsoleHTML.escape(String(parts[0])))</code>" + (parts.count > 1 ? " <span class=\"sub\">Twilio \(ConsoleHTML.escape(String(parts[1])))</span>" : "")
            let examples = group.examples.map { #"<a href="/console/calls/\#($0)">\#($0)</a>"# }.joined(separator: ", ")
            let retry = session.account.mayAct
                ? #"<form method="post" action="\#(path)/retry">\#(ConsoleHTML.csrfField(session))<input type="hidden" name="code" value="\#(ConsoleHTML.escape(group.code))"><button type="submit">Retry these…</button></form>"#
                : ""
            return """
                <tr data-code="\(ConsoleHTML.escape(group.code))"><th scope="row">\(code)</th><td class="num">\(ConsoleHTML.count(group.jobs))</td>
                <td>\(ConsoleHTML.escape(group.message))</td><td>\(examples)</td><td><time datetime="\(DialGate.iso(group.lastAt))">\(DialGate.iso(group.lastAt))</time></td><td>\(retry)</td></tr>
                """
        }.joined()
        return """
            <div class="scroll"><table class="failures"><thead><tr><th scope="col">Code</th><th scope="col">Jobs</th><th scope="col">Latest message</th>
            <th scope="col">Latest jobs</th><th scope="col">Last (UTC)</th><th scope="col"><span class="sr">Control</span></th></tr></thead><tbody>\(rows)</tbody></table></div>
            """
    }
}
