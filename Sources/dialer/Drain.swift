import ArgumentParser
import DialerCore
import Foundation
import Logging

struct Drain: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Process every job due now, then exit 0. A progress bar on a terminal, plain lines otherwise.")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Also wait for retries and deferrals that fall due within this many seconds.")
    var waitForRetries: Int = 0
    @Option(help: "Only this tenant's jobs.") var tenant: String?
    @Option(help: "Only this campaign's jobs.") var campaign: String?

    func run() async throws {
        var loaded = try settings.load(requireTwilio: true)
        loaded.worker.tenantScope = tenant
        loaded.worker.campaignScope = campaign
        let logger = try settings.logger()
        let (tenant, campaign) = (tenant, campaign)
        let due = try await withDatabase(loaded, logger: logger) { store in
            try await requireCurrentSchema(store)
            return try await store.dueCount(tenant: tenant, campaign: campaign)
        }
        let stats = WorkerStats()
        let started = ContinuousClock.now
        let progress = Progress(total: due, stats: stats, started: started)
        let slice = [tenant.map { "tenant \($0)" }, campaign.map { "campaign \($0)" }].compactMap { $0 }.joined(separator: ", ")
        print("drain: \(due) job(s) due now" + (slice.isEmpty ? "" : " (\(slice))"))
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { await progress.run() }
            try await runWorker(loaded, mode: .drain(waitForScheduled: waitForRetries > 0 ? .seconds(waitForRetries) : nil), stats: stats, logger: logger)
            group.cancelAll()
        }
        progress.finish()
        let counts = stats.snapshot
        let elapsed = (ContinuousClock.now - started).seconds
        print(String(format: "drain: done in %.1fs: claimed=%d dialed=%d retried=%d failed=%d deferred=%d released=%d",
                     elapsed, counts.claimed, counts.dialed, counts.retried, counts.failed, counts.deferred, counts.released))
        for (code, count) in counts.failedByCode.sorted(by: { $0.key < $1.key }) { print("drain:   failed \(code): \(count)") }
    }
}

/// Refuses to work against a database whose migrations are behind this build.
func requireCurrentSchema(_ store: JobStore) async throws {
    let pending = try await store.pendingMigrations(try Migration.bundled())
    guard pending.isEmpty else {
        printError("dialer: the database is missing migrations \(pending.map(\.name).joined(separator: ", ")); run `dialer migrate`")
        throw ExitCode(1)
    }
}

/// The drain's progress: a redrawn bar on a terminal, a plain line every few seconds otherwise.
struct Progress: Sendable {
    let total: Int
    let stats: WorkerStats
    let started: ContinuousClock.Instant
    let isTerminal = isatty(STDERR_FILENO) == 1

    func run() async {
        while !Task.isCancelled {
            do { try await Task.sleep(for: isTerminal ? .milliseconds(200) : .seconds(5)) } catch { return }
            draw()
        }
    }

    func draw() {
        let c = stats.snapshot
        let done = c.dialed + c.failed
        let rate = Double(c.settled) / max(0.001, (ContinuousClock.now - started).seconds)
        let summary = String(format: "%d/%d finished  dialed=%d failed=%d retrying=%d deferred=%d  %.0f jobs/s", done, total, c.dialed, c.failed,
                             c.retried, c.deferred, rate)
        if isTerminal {
            let width = 30
            let filled = total == 0 ? width : min(width, done * width / max(total, 1))
            printErrorNoNewline("\r[\(String(repeating: "#", count: filled))\(String(repeating: " ", count: width - filled))] \(summary)\u{1B}[K")
        } else {
            printError("drain: \(summary)")
        }
    }

    func finish() {
        if isTerminal {
            draw()
            printError("")
        }
    }
}

func printErrorNoNewline(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}
