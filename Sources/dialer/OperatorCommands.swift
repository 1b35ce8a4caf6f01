import ArgumentParser
import DialerCore
import Foundation

struct Pause: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Pause a tenant or one of its campaigns: its waiting jobs are parked and not claimed until resumed; dials in flight finish.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "The tenant to pause (or whose campaign to pause).") var tenant: String
    @Option(help: "Pause only this campaign of the tenant.") var campaign: String?
    @Option(help: "Why (shown by `dialer status`).") var reason: String = ""

    func run() async throws {
        let loaded = try settings.load(requireTwilio: false)
        let logger = try settings.logger()
        let (tenant, campaign, reason) = (tenant, campaign, reason)
        let result = try await withDatabase(loaded, logger: logger) { store in
            try await requireCurrentSchema(store)
            return try await store.pause(tenant: tenant, campaign: campaign, reason: reason, by: operatorID)
        }
        print("pause: \(describe(tenant: tenant, campaign: campaign)) \(result.newlyPaused ? "paused" : "was already paused"); "
            + "\(result.parked) waiting job(s) parked")
    }
}

struct Resume: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Resume a paused tenant or campaign: its parked jobs go back to the queue.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "The tenant to resume.") var tenant: String
    @Option(help: "Resume only this campaign of the tenant.") var campaign: String?

    func run() async throws {
        let loaded = try settings.load(requireTwilio: false)
        let logger = try settings.logger()
        let (tenant, campaign) = (tenant, campaign)
        let result = try await withDatabase(loaded, logger: logger) { store in
            try await requireCurrentSchema(store)
            return try await store.resume(tenant: tenant, campaign: campaign)
        }
        print("resume: \(describe(tenant: tenant, campaign: campaign)) \(result.wasPaused ? "resumed" : "was not paused"); "
            + "\(result.unparked) job(s) back in the queue")
    }
}

struct Cancel: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Cancel waiting and paused jobs by id, tenant or campaign. Jobs being dialed or reconciled are left alone and counted.")
    @OptionGroup var settings: SettingOptions
    @Option(name: .customLong("job"), help: "A job id (repeatable).") var jobs: [Int64] = []
    @Option(help: "Every waiting job of this tenant.") var tenant: String?
    @Option(help: "Every waiting job of this campaign of the tenant.") var campaign: String?
    @Flag(help: "Print what would be cancelled; change nothing.") var dryRun = false
    @Flag(help: "One JSON object for scripts.") var json = false

    func validate() throws {
        guard !jobs.isEmpty || tenant != nil || campaign != nil else { throw ValidationError("Name what to cancel: --job, --tenant or --campaign.") }
        guard jobs.isEmpty || (tenant == nil && campaign == nil) else { throw ValidationError("Use --job alone, or --tenant/--campaign.") }
        // Campaign ids are the tenants' own and may repeat across tenants: a cancel names the tenant too.
        guard campaign == nil || tenant != nil else { throw ValidationError("--campaign needs --tenant (campaign ids are per tenant).") }
    }

    func run() async throws {
        let loaded = try settings.load(requireTwilio: false)
        let logger = try settings.logger()
        let selection: JobSelection = jobs.isEmpty ? .scope(tenant: tenant, campaign: campaign) : .jobs(jobs)
        let dryRun = dryRun
        let result = try await withDatabase(loaded, logger: logger) { store in
            try await requireCurrentSchema(store)
            return try await store.cancel(selection, by: operatorID, dryRun: dryRun)
        }
        if json {
            print(JSONValue.object([
                "dry_run": .bool(dryRun), "cancelled": .number(Double(result.cancelled)), "in_flight": .number(Double(result.inFlight)),
                "already_finished": .number(Double(result.alreadyFinished)), "not_found": .array(result.notFound.map { .number(Double($0)) }),
            ]).jsonText)
            return
        }
        print("cancel\(dryRun ? " (dry run)" : ""): \(result.cancelled) job(s) \(dryRun ? "would be cancelled" : "cancelled"); "
            + "\(result.inFlight) being dialed or in doubt left alone; \(result.alreadyFinished) already finished"
            + (result.notFound.isEmpty ? "" : "; not found: \(result.notFound.map(String.init).joined(separator: ", "))"))
    }
}

struct Retry: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
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

    func validate() throws {
        if let error, ErrorCode(rawValue: error) == nil {
            throw ValidationError("--error must be an OpenPhn error code (\(ErrorCode.allCases.map(\.rawValue).joined(separator: ", "))), got '\(error)'.")
        }
        for (name, value) in [("--since", since), ("--until", until)] {
            if let value, Self.instant(value) == nil { throw ValidationError("\(name) must be an ISO-8601 instant such as 2026-11-25T09:00:00Z, got '\(value)'.") }
        }
        guard limit > 0 else { throw ValidationError("--limit must be positive.") }
    }

    static func instant(_ raw: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let date = formatter.date(from: raw) { return date }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: raw)
    }

    func run() async throws {
        let loaded = try settings.load(requireTwilio: false)
        let logger = try settings.logger()
        let filter = RetryFilter(errorCode: error, tenantID: tenant, campaignID: campaign, since: since.flatMap(Self.instant),
                                 until: until.flatMap(Self.instant), limit: limit)
        let dryRun = dryRun
        let result = try await withDatabase(loaded, logger: logger) { store in
            try await requireCurrentSchema(store)
            return try await store.retryFailed(filter, by: operatorID, dryRun: dryRun)
        }
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

struct Prune: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Delete finished jobs (dialed, failed, cancelled) and their attempts older than the retention period, in small batches.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Retention in days (default: DIALER_RETENTION_DAYS, or 90).") var olderThanDays: Int?
    @Option(help: "Jobs per batch; each batch is one short transaction.") var batch: Int = 1_000
    @Flag(help: "Count what would be deleted; delete nothing.") var dryRun = false

    func validate() throws {
        if let olderThanDays, olderThanDays < 1 { throw ValidationError("--older-than-days must be at least 1.") }
        guard (1...50_000).contains(batch) else { throw ValidationError("--batch must be from 1 to 50000.") }
    }

    func run() async throws {
        let loaded = try settings.load(requireTwilio: false)
        let logger = try settings.logger()
        let configured = Int(loaded.operations.retention.seconds / 86_400)
        guard let days = olderThanDays ?? (configured > 0 ? configured : nil) else {
            printError("dialer: retention is off (DIALER_RETENTION_DAYS=0); name the age to prune with --older-than-days")
            throw ExitCode(2)
        }
        let (batch, dryRun) = (batch, dryRun)
        let result = try await withDatabase(loaded, logger: logger) { store in
            try await requireCurrentSchema(store)
            return try await store.prune(olderThan: .seconds(86_400 * days), batchSize: batch, dryRun: dryRun)
        }
        print("prune\(dryRun ? " (dry run)" : ""): \(result.jobs) finished job(s) and \(result.attempts) attempt row(s) older than \(days) day(s) "
            + (dryRun ? "would be deleted" : "deleted in \(result.batches) batch(es)"))
    }
}

func describe(tenant: String, campaign: String?) -> String {
    campaign.map { "campaign \($0) of tenant \(tenant)" } ?? "tenant \(tenant)"
}
