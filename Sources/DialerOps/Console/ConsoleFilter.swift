import DialerCore
import Foundation

/// The filter of a control beyond its campaign, from the form's fields: which waiting states a cancel ends
/// (`only_queued=yes`, ...), which failures a retry puts back (`code`, `since`). Carried from the form to its preview
/// and on to the confirmation as hidden fields, so what is confirmed is what was previewed; recorded in the audit by the
/// store functions the CLI uses (`dialer cancel --state`, `dialer retry --error --since`).
struct ConsoleFilter: Sendable, Hashable {
    var states: Set<JobState>?
    var code: String?
    var since: Date?

    var isEmpty: Bool { states == nil && code == nil && since == nil }

    /// Reads the filter; a field that is there and wrong is `invalid_request` (nothing is done).
    init(_ fields: [String: String]) throws {
        let chosen = JobStore.cancellableStates.filter { fields["only_" + $0.rawValue] == "yes" }
        states = chosen.isEmpty ? nil : Set(chosen)
        if let raw = fields["code"]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
            // A failure group's code may carry Twilio's after a colon; the retry filter matches the contract's code.
            let base = String(raw.prefix { $0 != ":" })
            guard ErrorCode(rawValue: base) != nil else {
                throw OpenPhnError(.invalidRequest, "'\(base.prefix(40))' is not an OpenPhn error code.", details: ["field": "code"])
            }
            code = base
        }
        if let raw = fields["since"]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty {
            // <input type="datetime-local"> sends `2026-12-04T09:30` (read as UTC, as the page says); an ISO instant works too.
            let text = raw.count == 16 ? raw + ":00Z" : raw.count == 19 ? raw + "Z" : raw
            since = try ISO8601Instant.parse(text, name: "since")
        }
    }

    init() {}

    /// The same filter as hidden fields of the confirmation form.
    var hiddenFields: String {
        var out = ""
        for state in JobStore.cancellableStates where states?.contains(state) == true {
            out += #"<input type="hidden" name="only_\#(state.rawValue)" value="yes">"#
        }
        if let code { out += #"<input type="hidden" name="code" value="\#(ConsoleHTML.escape(code))">"# }
        if let since { out += #"<input type="hidden" name="since" value="\#(DialGate.iso(since))">"# }
        return out
    }

    /// "in states deferred, retrying", "with code carrier_rejected, failed since 2026-12-04T09:30:00Z"; "" without a filter.
    var words: String {
        var parts: [String] = []
        if let states { parts.append("in state " + JobStore.cancellableStates.filter(states.contains).map(\.rawValue).joined(separator: " or ")) }
        if let code { parts.append("with code \(code)") }
        if let since { parts.append("failed since \(DialGate.iso(since))") }
        return parts.joined(separator: ", ")
    }

    /// The campaign page's filtered controls: cancel by state, retry by code and time.
    static func formsHTML(path: String, codes: [String], session: ConsoleSession) -> String {
        let boxes = JobStore.cancellableStates.map { state in
            let label = state == .deferred ? "deferred (held by the gate)" : state.rawValue
            return #"<label><input type="checkbox" name="only_\#(state.rawValue)" value="yes"> \#(label)</label>"#
        }.joined(separator: " ")
        let options = (["<option value=\"\">any code</option>"] + Set(codes.map { String($0.prefix { $0 != ":" }) }).sorted().map {
            "<option value=\"\(ConsoleHTML.escape($0))\">\(ConsoleHTML.escape($0))</option>"
        }).joined()
        return """
            <details class="filters"><summary>Cancel or retry by filter</summary>
            <form method="post" action="\(path)/cancel" class="filter">\(ConsoleHTML.csrfField(session))
            <fieldset><legend>Cancel the waiting jobs in these states</legend>\(boxes)</fieldset>
            <button type="submit">Cancel these…</button></form>
            <form method="post" action="\(path)/retry" class="filter">\(ConsoleHTML.csrfField(session))
            <label for="retry-code">Retry failed jobs with code</label><select id="retry-code" name="code">\(options)</select>
            <label for="retry-since">that failed since (UTC)</label><input id="retry-since" name="since" type="datetime-local">
            <button type="submit">Retry these…</button></form>
            </details>
            """
    }
}
