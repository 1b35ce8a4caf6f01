import ArgumentParser
import DialerCore
import Foundation

/// `dialer campaign set|show`: what each call outcome makes of a campaign's jobs (retries, caps) and what Create Call
/// asks of Twilio (ring time, time limit, machine detection). Without `--campaign`, the tenant's defaults.
struct CampaignCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "campaign", abstract: "Set or show a campaign's call policy (retries after busy, no-answer, machine and failures; caps; ring time).",
        subcommands: [CampaignSetCommand.self, CampaignShowCommand.self])

    struct Scope: ParsableArguments {
        @Option(help: "Tenant id.") var tenant: String
        @Option(help: "Campaign id; without it, the tenant's defaults (every campaign without a value of its own).") var campaign: String?
        var campaignKey: String { campaign ?? "" }
    }

    /// The policy as `show` prints it (``PolicyReport``).
    static func report(_ stored: [StoredPolicy], tenant: String, campaign: String?) -> JSONValue {
        PolicyReport.json(stored, tenant: tenant, campaign: campaign)
    }

    static func text(_ report: JSONValue) -> String {
        var lines = ["policy of " + describe(tenant: report["tenant"]?.stringValue ?? "", campaign: report["campaign"]?.stringValue)]
        if case .object(let policy)? = report["policy"] {
            for key in policy.keys.sorted() {
                let value = policy[key].map { $0 == .null ? "none" : $0.jsonText } ?? "none"
                lines.append("  " + key.padding(toLength: 26, withPad: " ", startingAt: 0) + value.padding(toLength: 16, withPad: " ", startingAt: 0)
                    + (report["sources"]?[key]?.stringValue ?? ""))
            }
        }
        return lines.joined(separator: "\n")
    }
}

struct CampaignShowCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(commandName: "show", abstract: "Print the effective policy and where each value comes from.")
    @OptionGroup var settings: SettingOptions
    @OptionGroup var scope: CampaignCommand.Scope
    @Flag(help: "One JSON object.") var json = false

    func run() async throws {
        let tenant = scope.tenant
        let stored = try await settings.withStore { store in
            try await store.requireTenant(tenant)
            return try await store.policies(tenant: tenant)
        }
        let report = CampaignCommand.report(stored, tenant: tenant, campaign: scope.campaign)
        print(json ? report.jsonText : CampaignCommand.text(report))
    }
}

struct CampaignSetCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "set",
        abstract: "Set some fields of a campaign's (or the tenant's default) policy; the others keep their value. Durations: 90s, 30m, 2h, 1d.")
    @OptionGroup var settings: SettingOptions
    @OptionGroup var scope: CampaignCommand.Scope
    @Option(help: "Delays before the 1st, 2nd... retry of a busy call (the last repeats), e.g. 30m; 'off': never retried.") var busyRetry: String?
    @Option(help: "At most this many retries of busy calls.") var busyMaxRetries: Int?
    @Option(help: "Delays before retries of unanswered calls, e.g. 2h,4h; 'off': never.") var noAnswerRetry: String?
    @Option(help: "At most this many retries of unanswered calls.") var noAnswerMaxRetries: Int?
    @Option(help: "Delays before retries of calls a machine answered; 'off' (the default): never.") var machineRetry: String?
    @Option(help: "At most this many retries of machine-answered calls.") var machineMaxRetries: Int?
    @Option(help: "Delays before retries of failed calls other than SIP 404/410/484/603, e.g. 1h; 'off': never.") var failedRetry: String?
    @Option(help: "At most this many retries of failed calls.") var failedMaxRetries: Int?
    @Option(help: "Dials per lead over its life (every call created, or possibly created).") var maxDials: Int?
    @Option(name: .customLong("max-dials-per-24h"), help: "Dials per lead in any 24 hours.") var maxDialsPer24h: Int?
    @Option(help: "Ring time before no-answer (Create Call's Timeout), 15s to 600s.") var ringTimeout: String?
    @Option(help: "The longest call (Create Call's TimeLimit), 30s to 4h.") var timeLimit: String?
    @Option(help: "off, Enable or DetectMessageEnd (always asynchronous AMD).") var machineDetection: String?
    @Option(help: "Who is changing it, for the record.") var by: String = ProcessInfo.processInfo.environment["USER"] ?? "cli"
    @Flag(help: "One JSON object.") var json = false

    func run() async throws {
        var overrides = CampaignPolicy.Overrides()
        overrides.busyDelaysSeconds = try busyRetry.map { try Self.delays($0, flag: "--busy-retry") }
        overrides.busyMaxRetries = busyMaxRetries
        overrides.noAnswerDelaysSeconds = try noAnswerRetry.map { try Self.delays($0, flag: "--no-answer-retry") }
        overrides.noAnswerMaxRetries = noAnswerMaxRetries
        overrides.machineDelaysSeconds = try machineRetry.map { try Self.delays($0, flag: "--machine-retry") }
        overrides.machineMaxRetries = machineMaxRetries
        overrides.failedDelaysSeconds = try failedRetry.map { try Self.delays($0, flag: "--failed-retry") }
        overrides.failedMaxRetries = failedMaxRetries
        overrides.maxDials = maxDials
        overrides.maxDialsPer24h = maxDialsPer24h
        overrides.ringTimeoutSeconds = try ringTimeout.map { try Self.seconds($0, flag: "--ring-timeout") }
        overrides.timeLimitSeconds = try timeLimit.map { try Self.seconds($0, flag: "--time-limit") }
        overrides.machineDetection = machineDetection
        guard !overrides.json.isEmpty else {
            throw OpenPhnError(.invalidRequest, "Nothing to set: name at least one field (see dialer campaign set --help).")
        }
        do {
            try overrides.validate()
        } catch {
            let field = error.details["field"]?.stringValue ?? ""
            throw invalidFlag("--" + Self.flag(forField: field), error.message)
        }
        let (tenant, campaign, by, changes) = (scope.tenant, scope.campaignKey, by, overrides)
        let stored = try await settings.withStore { store in
            try await store.setPolicy(tenant: tenant, campaign: campaign, changes, by: by)
            return try await store.policies(tenant: tenant)
        }
        let report = CampaignCommand.report(stored, tenant: tenant, campaign: scope.campaign)
        print(json ? report.jsonText : "set " + CampaignCommand.text(report))
    }

    /// `busy_max_retries` -> `busy-max-retries`, `busy_delays_seconds` -> `busy-retry`.
    static func flag(forField field: String) -> String {
        field.replacingOccurrences(of: "_delays_seconds", with: "_retry").replacingOccurrences(of: "_seconds", with: "")
            .replacingOccurrences(of: "_", with: "-")
    }

    /// `30m,1h` as seconds; `off` (or `none`) is no retry at all.
    static func delays(_ text: String, flag: String) throws(OpenPhnError) -> [Int] {
        if ["off", "none", "no"].contains(text.lowercased()) { return [] }
        var result: [Int] = []
        for part in text.split(separator: ",", omittingEmptySubsequences: false) { result.append(try seconds(String(part), flag: flag)) }
        return result
    }

    /// `90`, `90s`, `15m`, `2h`, `1d` as seconds.
    static func seconds(_ text: String, flag: String) throws(OpenPhnError) -> Int {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        let units: [Character: Int] = ["s": 1, "m": 60, "h": 3600, "d": 86_400]
        let (digits, unit) = trimmed.last.flatMap { units[$0] }.map { (String(trimmed.dropLast()), $0) } ?? (trimmed, 1)
        guard let value = Int(digits), value >= 0, value <= 365 * 86_400 / unit else {
            throw invalidFlag(flag, "\(flag) takes durations like 90s, 30m, 2h or 1d, got '\(text)'.")
        }
        return value * unit
    }
}
