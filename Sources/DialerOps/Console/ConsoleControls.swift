import DialerCore
import Foundation
import Hummingbird
import Logging

/// A campaign's page and its controls: pause, resume, cancel its waiting jobs, retry its failed ones. Each is two
/// steps: the form shows what it would do (a dry run through the same store functions the CLI uses), and only the
/// confirmation acts, audited with the operator (`console:ID`). Viewers see the page without the forms, and a viewer's
/// post is refused (`role_required`).
extension ConsoleRoute {
    enum Control: String, CaseIterable, Sendable {
        case pause, resume, cancel, retry

        var verb: String {
            switch self {
            case .pause: "Pause"
            case .resume: "Resume"
            case .cancel: "Cancel waiting jobs"
            case .retry: "Retry failed jobs"
            }
        }
    }

    func control(_ request: Request, tenant: String, campaign: String, control name: String) async -> Response {
        await action(request, acting: true) { session, fields in
            guard let control = Control(rawValue: name) else { throw OpenPhnError(.notFound, "No console control is named '\(name.prefix(20))'.") }
            let summary = try await visibleCampaign(session, tenant: tenant, campaign: campaign)
            let actor = session.account.actor
            let filter = try ConsoleFilter(fields)
            guard fields["confirm"] == "yes" else {
                let preview = try await preview(control, summary, filter: filter)
                return Self.html(ConsoleHTML.page(title: "Confirm", session: session, current: "campaigns",
                                                  body: Self.confirmHTML(control, name: campaign, path: Self.campaignPath(summary), preview: preview,
                                                                         filter: filter, session: session)))
            }
            let done: Int
            switch control {
            case .pause: done = try await store.pause(tenant: tenant, campaign: campaign, reason: String((fields["reason"] ?? "").prefix(500)), by: actor).parked
            case .resume: done = try await store.resume(tenant: tenant, campaign: campaign, by: actor).unparked
            case .cancel: done = try await store.cancel(.scope(tenant: tenant, campaign: campaign), states: filter.states, by: actor).cancelled
            case .retry: done = try await store.retryFailed(Self.retryFilter(summary, filter), by: actor).retried
            }
            logger.notice("console control", metadata: ["operator": "\(session.account.id)", "control": "\(control.rawValue)", "tenant": "\(tenant)",
                                                         "campaign": "\(campaign)", "filter": "\(filter.words)", "jobs": "\(done)"])
            return Self.redirect("/console/campaigns/\(ConsoleHTML.segment(tenant))/\(ConsoleHTML.segment(campaign))?done=\(control.rawValue)-\(done)")
        }
    }

    /// What a control would do, in words with the number of jobs (`this will cancel 1,204 waiting jobs`).
    func preview(_ control: Control, _ summary: CampaignSummary, filter: ConsoleFilter = ConsoleFilter()) async throws -> String {
        let (tenant, campaign) = (summary.counts.tenantID, summary.counts.campaignID)
        let only = filter.words.isEmpty ? "" : " " + filter.words
        switch control {
        case .pause:
            let waiting = summary.state("queued") + summary.heldByHours + summary.retriesPending
            return "This will pause the campaign: about \(ConsoleHTML.count(waiting)) waiting jobs are parked and no worker takes its jobs until it is resumed. "
                + "Of the \(ConsoleHTML.count(summary.inFlight)) in flight, calls already placed finish; jobs claimed but not dialed yet are handed back."
        case .resume:
            return "This will resume the campaign: about \(ConsoleHTML.count(summary.state("paused"))) parked jobs go back to the queue."
        case .cancel:
            let result = try await store.cancel(.scope(tenant: tenant, campaign: campaign), states: filter.states, by: "console:preview", dryRun: true)
            return "This will cancel \(ConsoleHTML.count(result.cancelled)) waiting jobs\(only). \(ConsoleHTML.count(result.inFlight)) in flight are left to finish; "
                + (filter.states == nil ? "" : "\(ConsoleHTML.count(result.leftWaiting)) waiting in other states stay; ")
                + "cancelled jobs are never dialed."
        case .retry:
            let result = try await store.retryFailed(Self.retryFilter(summary, filter), by: "console:preview", dryRun: true)
            let codes = result.byError.sorted { $0.value > $1.value }.map { "\($0.key) \(ConsoleHTML.count($0.value))" }.joined(separator: ", ")
            return "This will put \(ConsoleHTML.count(result.retried)) failed jobs\(only) back in the queue" + (codes.isEmpty ? "" : " (\(codes))")
                + "; \(ConsoleHTML.count(result.skippedExpired)) past their expiry are skipped. The dial-time gate checks each again."
        }
    }

    static func retryFilter(_ summary: CampaignSummary, _ filter: ConsoleFilter) -> RetryFilter {
        RetryFilter(errorCode: filter.code, tenantID: summary.counts.tenantID, campaignID: summary.counts.campaignID, since: filter.since)
    }

    static func campaignPath(_ summary: CampaignSummary) -> String {
        "/console/campaigns/\(ConsoleHTML.segment(summary.counts.tenantID))/\(ConsoleHTML.segment(summary.counts.campaignID))"
    }

    /// The confirmation step of `control` on what `path` names (a campaign, or a tenant: `back` is where "do nothing" goes).
    static func confirmHTML(_ control: Control, name: String, path: String, back: String? = nil, preview: String, filter: ConsoleFilter,
                            session: ConsoleSession) -> String
    {
        let reason = control == .pause
            ? #"<label for="reason">Reason (for the audit)</label><input id="reason" name="reason" maxlength="500">"# : ""
        return """
            <h1>\(control.verb): \(ConsoleHTML.escape(name))</h1>
            <p class="preview" role="status" data-preview="\(control.rawValue)">\(ConsoleHTML.escape(preview))</p>
            <form method="post" action="\(path)/\(control.rawValue)" class="confirm">
            \(ConsoleHTML.csrfField(session))<input type="hidden" name="confirm" value="yes">\(filter.hiddenFields)\(reason)
            <button type="submit" class="danger">Confirm: \(control.verb.lowercased())</button>
            <a href="\(back ?? path)">Back, do nothing</a>
            </form>
            """
    }

    /// The result line after a control as the page shows it (a status paragraph), or "" without one.
    static func doneNotice(_ done: String?) -> String {
        doneMessage(done).map { #"<p class="notice" role="status">\#($0)</p>"# } ?? ""
    }

    /// The result line after a control, from the fixed words of `done` (`cancel-1204`), never text from the URL.
    static func doneMessage(_ done: String?) -> String? {
        guard let done, let dash = done.firstIndex(of: "-"), let control = Control(rawValue: String(done[..<dash])),
              let count = Int(done[done.index(after: dash)...])
        else { return nil }
        let jobs = ConsoleHTML.count(count)
        return switch control {
        case .pause: "Paused: \(jobs) jobs parked."
        case .resume: "Resumed: \(jobs) jobs back in the queue."
        case .cancel: "Cancelled \(jobs) waiting jobs."
        case .retry: "Put \(jobs) failed jobs back in the queue."
        }
    }

    /// `POST /console/tenants/{tenant}/pause|resume` (from the Subaccounts page): the whole tenant, every campaign of it,
    /// through the same preview and confirmation.
    func tenantControl(_ request: Request, tenant: String, control name: String) async -> Response {
        await action(request, acting: true) { session, fields in
            guard let control = Control(rawValue: name), control == .pause || control == .resume else {
                throw OpenPhnError(.notFound, "A tenant can be paused or resumed; no tenant control is named '\(name.prefix(20))'.")
            }
            guard session.account.sees(tenant: tenant), try await store.subaccounts(tenant: tenant).first != nil else {
                throw OpenPhnError(.notFound, "No tenant '\(tenant.prefix(64))' is visible to you.")
            }
            let path = "/console/tenants/\(ConsoleHTML.segment(tenant))"
            guard fields["confirm"] == "yes" else {
                let campaigns = try await store.campaignOverview(tenant: tenant).map { CampaignSummary(counts: $0) }
                let waiting = campaigns.reduce(0) { $0 + $1.state("queued") + $1.heldByHours + $1.retriesPending }
                let parked = campaigns.reduce(0) { $0 + $1.state("paused") }
                let preview = control == .pause
                    ? "This will pause tenant \(tenant), every campaign of it: about \(ConsoleHTML.count(waiting)) waiting jobs are parked and no worker takes its jobs until it is resumed."
                    : "This will resume tenant \(tenant): about \(ConsoleHTML.count(parked)) parked jobs go back to the queue (a campaign paused on its own stays paused)."
                return Self.html(ConsoleHTML.page(title: "Confirm", session: session, current: "subaccounts",
                                                  body: Self.confirmHTML(control, name: "tenant \(tenant)", path: path, back: "/console/subaccounts",
                                                                         preview: preview, filter: ConsoleFilter(), session: session)))
            }
            let actor = session.account.actor
            let done = control == .pause
                ? try await store.pause(tenant: tenant, campaign: nil, reason: String((fields["reason"] ?? "").prefix(500)), by: actor).parked
                : try await store.resume(tenant: tenant, campaign: nil, by: actor).unparked
            logger.notice("console control", metadata: ["operator": "\(session.account.id)", "control": "\(control.rawValue)", "tenant": "\(tenant)", "jobs": "\(done)"])
            return Self.redirect("/console/subaccounts?done=\(control.rawValue)-\(done)")
        }
    }
}
