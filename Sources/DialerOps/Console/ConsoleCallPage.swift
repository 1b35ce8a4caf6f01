import DialerCore
import Foundation
import Hummingbird
import Logging

/// A call's page, `/console/calls/{job_id}`: its whole story (``CallStory``): every gate decision with its rule and the
/// callee's local time, every dial with its Twilio status, answered_by and SIP code, every operator action. The
/// callee's number is masked unless the operator is an admin; another tenant's job is 404.
extension ConsoleRoute {
    func callPage(_ request: Request, id text: String) async -> Response {
        await page(request) { session in
            guard let id = Int64(text), id > 0, let job = try await store.job(id), session.account.sees(tenant: job.tenantID) else {
                throw OpenPhnError(.notFound, "No call with the job id '\(text.prefix(20))' is visible to you.")
            }
            let story = CallStory.json(job, try await store.attempts(jobID: id), try await store.callOutcomes(jobID: id),
                                       number: session.account.shows(number:))
            return Self.html(ConsoleHTML.page(title: "Call \(id)", session: session, current: "campaigns", body: Self.callHTML(story)))
        }
    }

    static func callHTML(_ story: JSONValue) -> String {
        func text(_ value: JSONValue?) -> String {
            guard let value, value != .null else { return "–" }
            if case .array(let items) = value { return ConsoleHTML.escape(items.map { $0.stringValue ?? $0.jsonText }.joined(separator: "; ")) }
            return ConsoleHTML.escape(value.stringValue ?? value.jsonText)
        }
        let job = story["job"]
        let campaign = job?["campaign_id"]?.stringValue
        let back = campaign.map { c in
            #"<p><a href="/console/campaigns/\#(ConsoleHTML.segment(job?["tenant_id"]?.stringValue ?? ""))/\#(ConsoleHTML.segment(c))">← Campaign \#(ConsoleHTML.escape(c))</a></p>"#
        } ?? #"<p><a href="/console">← Campaigns</a></p>"#
        let rows = (story["attempts"]?.arrayValue ?? []).map { attempt -> String in
            let call = attempt["call"]
            let detail = attempt["detail"]
            let why = [attempt["gate"]?["rule"], detail?["reason"], detail?["decision"], attempt["error"]?["error"]]
                .compactMap { $0?.stringValue }.map(ConsoleHTML.escape).joined(separator: " · ")
            return """
                <tr><td><time>\(text(attempt["recorded_at"]))</time></td><td class="num">\(text(attempt["attempt"]))</td>
                <td>\(text(attempt["kind"]))</td><td>\(text(attempt["outcome"]))</td><td>\(why.isEmpty ? "–" : why)</td>
                <td>\(text(attempt["gate"]?["local_time"]))</td><td>\(text(call?["status"]))</td><td>\(text(call?["answered_by"]))</td>
                <td>\(text(call?["sip_response_code"]))</td><td>\(text(attempt["worker"]))</td></tr>
                """
        }.joined(separator: "\n")
        return """
            \(back)
            <h1>Call \(text(job?["id"])) <span class="sub">to \(text(job?["to"])) · \(text(job?["tenant_id"]))</span></h1>
            <dl class="facts"><dt>State</dt><dd data-field="state">\(text(job?["state"]))</dd><dt>Attempt</dt><dd>\(text(job?["attempt"])) of \(text(job?["max_attempts"]))</dd>
            <dt>Purpose</dt><dd>\(text(job?["purpose"]))</dd><dt>Consent</dt><dd>\(text(job?["consent_type"]))</dd>
            <dt>Last outcome</dt><dd>\(text(job?["last_outcome"]))</dd><dt>Last error</dt><dd>\(text(job?["last_error"]?["error"]))</dd></dl>
            <div class="scroll"><table class="story"><caption>Everything that happened to this call, oldest first: gate decisions, dials, outcomes, operator actions</caption>
            <thead><tr><th scope="col">When (UTC)</th><th scope="col">#</th><th scope="col">Step</th><th scope="col">Result</th><th scope="col">Why</th>
            <th scope="col">Callee's local time</th><th scope="col">Twilio status</th><th scope="col">Answered by</th><th scope="col">SIP</th>
            <th scope="col">By</th></tr></thead><tbody>\(rows)</tbody></table></div>
            """
    }
}
