import DialerCore
import Foundation
import Hummingbird

/// The Subaccounts page (each tenant's Twilio subaccount: calls per second configured and used, 429s, pauses) and the
/// Workers page (every `dialer run` and `dialer serve` process: alive, in flight, last seen). Both read small tables
/// (`tenants`, `twilio_pacing`, `queue_pauses`, the last hour of `campaign_activity`, `dialer_processes`).
extension ConsoleRoute {
    func subaccountsPage(_ request: Request) async -> Response {
        await page(request) { session in
            let rows = try await store.subaccounts(tenant: session.account.tenantID)
            let notice = Self.doneNotice(request.uri.queryParameters["done"].map { String($0) })
            return Self.html(ConsoleHTML.page(title: "Subaccounts", session: session, current: "subaccounts",
                                              body: Self.subaccountsHTML(rows, now: Date(), session: session, notice: notice)))
        }
    }

    static func subaccountsHTML(_ rows: [SubaccountRow], now: Date, session: ConsoleSession, notice: String = "") -> String {
        guard !rows.isEmpty else { return "<h1>Subaccounts</h1><p>No tenant yet.</p>" }
        let body = rows.map { row in
            let configured = row.callsPerSecond.map { String(format: "%g", $0) } ?? "default"
            let used = Double(row.dialsLastMinute) / 60
            let share = row.callsPerSecond.map { $0 > 0 ? " (\(Int((used / $0 * 100).rounded()))%)" : "" } ?? ""
            var pauses: [String] = []
            if row.tenantPaused { pauses.append("tenant paused") }
            if row.campaignsPaused > 0 { pauses.append("\(row.campaignsPaused) campaign\(row.campaignsPaused == 1 ? "" : "s") paused") }
            let control: Control = row.tenantPaused ? .resume : .pause
            let form = session.account.mayAct
                ? #"<form method="post" action="/console/tenants/\#(ConsoleHTML.segment(row.tenantID))/\#(control.rawValue)">\#(ConsoleHTML.csrfField(session))<button type="submit">\#(control.verb) tenant…</button></form>"#
                : ""
            if let until = row.slowedUntil { pauses.append("429 hold until \(CampaignChart.clock(until)) UTC (\(CampaignSummary.span(until.timeIntervalSince(now))))") }
            return """
                <tr data-tenant="\(ConsoleHTML.escape(row.tenantID))"><th scope="row">\(ConsoleHTML.escape(row.tenantID))</th>
                <td><code>\(ConsoleHTML.escape(row.subaccountSID ?? "none"))</code></td><td class="num">\(configured)</td>
                <td class="num" data-field="used">\(String(format: "%.2f", used))\(share)</td><td class="num">\(ConsoleHTML.count(row.throttledLastHour))</td>
                <td class="num">\(ConsoleHTML.count(row.throttledTotal))</td><td>\(pauses.isEmpty ? "–" : ConsoleHTML.escape(pauses.joined(separator: "; ")))</td><td>\(form)</td></tr>
                """
        }.joined(separator: "\n")
        return """
            <h1>Subaccounts</h1>
            \(notice)
            <div class="scroll"><table class="subaccounts"><caption>Each tenant's Twilio subaccount; calls per second used over the last full minute</caption>
            <thead><tr><th scope="col">Tenant</th><th scope="col">Subaccount</th><th scope="col">Calls/s configured</th><th scope="col">Calls/s used</th>
            <th scope="col">429s, last hour</th><th scope="col">429s, all time</th><th scope="col">Pauses</th><th scope="col"><span class="sr">Control</span></th></tr></thead>
            <tbody>\(body)</tbody></table></div>
            <p class="sub">Calls per second are set per subaccount in <code>twilio_pacing</code> (shared by every worker); "default" until its first dial.</p>
            """
    }

    func workersPage(_ request: Request) async -> Response {
        await page(request) { session in
            // The fleet is the platform's, shared by every tenant: an operator confined to one tenant does not see its hosts.
            guard session.account.tenantID == nil else {
                throw OpenPhnError(.roleRequired, "The workers page is for operators of every tenant; yours is confined to one.")
            }
            let rows = try await store.processes()
            return Self.html(ConsoleHTML.page(title: "Workers", session: session, current: "workers", body: Self.workersHTML(rows, now: Date())))
        }
    }

    static func workersHTML(_ rows: [ProcessRow], now: Date) -> String {
        guard !rows.isEmpty else { return "<h1>Workers</h1><p>No process has reported in the last day.</p>" }
        let alive = rows.filter { $0.alive && $0.heartbeat.state != .stopped }
        let body = rows.map { row in
            let beat = row.heartbeat
            let state = row.status
            let inFlight = beat.role == .worker ? "\(beat.inFlight) of \(beat.concurrency)" : "–"
            return """
                <tr data-process="\(ConsoleHTML.escape(beat.id))"><th scope="row">\(ConsoleHTML.escape(beat.id))</th><td>\(beat.role.rawValue)</td>
                <td><span class="status \(state == "running" ? "running" : "paused")" data-field="state">\(state)</span></td>
                <td>\(ConsoleHTML.escape(beat.host)) · pid \(beat.pid) · \(ConsoleHTML.escape(beat.version))</td><td class="num">\(inFlight)</td>
                <td class="num">\(ConsoleHTML.count(beat.dialed))</td><td class="num">\(ConsoleHTML.count(beat.failed))</td>
                <td>\(CampaignSummary.span(max(0, now.timeIntervalSince(row.lastSeen)))) ago</td>
                <td>\(CampaignSummary.span(max(0, now.timeIntervalSince(beat.startedAt))))</td></tr>
                """
        }.joined(separator: "\n")
        let dialing = alive.filter { $0.heartbeat.role == .worker }
        return """
            <h1>Workers</h1>
            <p>\(dialing.count) worker\(dialing.count == 1 ? "" : "s") alive, \(dialing.reduce(0) { $0 + $1.heartbeat.inFlight }) calls in flight;
            \(alive.count - dialing.count) <code>dialer serve</code> alive. A process reports every 5 seconds and says when it stops; one not seen for 30 seconds without a clean stop is gone (killed, crashed or cut off).</p>
            <div class="scroll"><table class="workers"><caption>Every dialer process seen in the last day, live ones first</caption>
            <thead><tr><th scope="col">Process</th><th scope="col">Role</th><th scope="col">State</th><th scope="col">Where</th>
            <th scope="col">In flight</th><th scope="col">Dialed</th><th scope="col">Failed</th><th scope="col">Last seen</th><th scope="col">Up for</th></tr></thead>
            <tbody>\(body)</tbody></table></div>
            """
    }
}
