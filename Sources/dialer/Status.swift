import ArgumentParser
import DialerCore
import Foundation

struct Status: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Jobs by tenant, campaign and state, and how late the oldest due job is.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Only this tenant.") var tenant: String?
    @Option(help: "Only this campaign.") var campaign: String?
    @Flag(help: "One JSON object for scripts.") var json = false

    func run() async throws {
        let loaded = try settings.load(requireTwilio: false)
        let logger = try settings.logger()
        let rows = try await withDatabase(loaded, logger: logger) { store in
            try await requireCurrentSchema(store)
            return try await store.status(tenant: tenant, campaign: campaign)
        }
        if json {
            print(StatusReport(rows: rows).jsonText)
            return
        }
        print(StatusReport(rows: rows).table)
    }
}

/// `dialer status` output: totals by state, then one line per tenant and campaign.
struct StatusReport {
    let rows: [QueueStatusRow]

    var totals: [JobState: Int] { rows.reduce(into: [:]) { $0[$1.state, default: 0] += $1.count } }
    var oldestDueAge: Double? { rows.compactMap(\.oldestDueAgeSeconds).max() }

    var table: String {
        var out = "state       jobs\n"
        for state in JobState.allCases { out += state.rawValue.padding(toLength: 12, withPad: " ", startingAt: 0) + "\(totals[state] ?? 0)\n" }
        out += "oldest due job: " + (oldestDueAge.map { String(format: "%.1fs behind", $0) } ?? "none due") + "\n\n"
        out += "tenant               campaign             " + JobState.allCases.map { $0.rawValue.padding(toLength: 10, withPad: " ", startingAt: 0) }.joined() + "oldest due\n"
        let groups = Dictionary(grouping: rows) { "\($0.tenantID)\u{0}\($0.campaignID ?? "")" }
        for key in groups.keys.sorted() {
            let group = groups[key]!
            let counts = Dictionary(group.map { ($0.state, $0.count) }, uniquingKeysWith: +)
            let age = group.compactMap(\.oldestDueAgeSeconds).max().map { String(format: "%.1fs", $0) } ?? "-"
            out += group[0].tenantID.padding(toLength: 21, withPad: " ", startingAt: 0)
                + (group[0].campaignID ?? "-").padding(toLength: 21, withPad: " ", startingAt: 0)
                + JobState.allCases.map { "\(counts[$0] ?? 0)".padding(toLength: 10, withPad: " ", startingAt: 0) }.joined() + age + "\n"
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
        return JSONValue.object([
            "totals": .object(totalsJSON), "oldest_due_age_seconds": oldestDueAge.map(JSONValue.number) ?? .null, "groups": .array(groups),
        ]).jsonText
    }
}
