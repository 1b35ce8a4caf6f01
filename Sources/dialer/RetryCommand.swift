import ArgumentParser
import DialerCore
import Foundation

struct RetryCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "retry",
        abstract: "Put failed jobs back in the queue with a fresh attempt budget (never dialed ones). The gate re-checks each at dial time.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Only jobs whose last error has this OpenPhn code (e.g. upstream_unavailable).") var error: String?
    @Option(help: "Only this tenant's jobs.") var tenant: String?
    @Option(help: "Only this campaign's jobs.") var campaign: String?
    @Option(help: "Only jobs that failed at or after this ISO-8601 instant.") var since: String?
    @Option(help: "Only jobs that failed before this ISO-8601 instant.") var until: String?
    @Option(help: "Retry at most this many jobs.") var limit: Int = 100_000
    @Flag(help: "Print what would change; change nothing.") var dryRun = false
    @Flag(help: "One JSON object for scripts.") var json = false

    func run() async throws {
        if let error, ErrorCode(rawValue: error) == nil {
            let codes = ErrorCode.allCases.map(\.rawValue).joined(separator: ", ")
            throw invalidFlag("--error", "--error must be an OpenPhn error code (\(codes)), got '\(error)'.")
        }
        func instant(_ text: String?, _ flag: String) throws(OpenPhnError) -> Date? {
            guard let text else { return nil }
            return try ISO8601Instant.parse(text, name: flag, details: ["flag": .string(flag)])
        }
        let (from, to) = (try instant(since, "--since"), try instant(until, "--until"))
        guard limit > 0 else { throw invalidFlag("--limit", "--limit must be positive, got \(limit).") }
        let filter = RetryFilter(errorCode: error, tenantID: tenant, campaignID: campaign, since: from, until: to, limit: limit)
        let dryRun = dryRun
        let result = try await settings.withStore { try await $0.retryFailed(filter, by: operatorID, dryRun: dryRun) }
        if json {
            print(JSONValue.object([
                "dry_run": .bool(dryRun), "retried": .number(Double(result.retried)),
                "by_error": .object(result.byError.mapValues { .number(Double($0)) }),
                "skipped_expired": .number(Double(result.skippedExpired)), "sample_job_ids": .array(result.sample.map { .number(Double($0)) }),
            ]).jsonText)
            return
        }
        print("retry\(dryRun ? " (dry run)" : ""): \(result.retried) failed job(s) \(dryRun ? "would go" : "went") back to the queue"
            + (result.skippedExpired > 0 ? "; \(result.skippedExpired) skipped (past expires_at)" : ""))
        for (code, count) in result.byError.sorted(by: { $0.key < $1.key }) { print("retry:   \(code): \(count)") }
        if !result.sample.isEmpty { print("retry:   jobs: \(result.sample.map(String.init).joined(separator: ", "))\(result.retried > result.sample.count ? ", ..." : "")") }
    }
}
