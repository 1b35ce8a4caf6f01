import ArgumentParser
import DialerCore
import DialerOps
import Foundation
import Logging

/// Settings every command shares. Each flag overrides the environment variable of the same meaning.
struct SettingOptions: ParsableArguments {
    @Option(help: "PostgreSQL URL (overrides DATABASE_URL).")
    var databaseURL: String?
    @Option(help: "Twilio API base URL (overrides TWILIO_BASE_URL).")
    var twilioBaseURL: String?
    @Option(help: "Jobs in progress per process (overrides DIALER_CONCURRENCY).")
    var concurrency: Int?
    @Option(help: "Most jobs per claim (overrides DIALER_CLAIM_BATCH).")
    var claimBatch: Int?
    @Option(help: "First retry delay in milliseconds (overrides DIALER_BACKOFF_BASE_MS).")
    var backoffBaseMs: Int?
    @Option(help: "Fallback poll interval in milliseconds (overrides DIALER_POLL_MS).")
    var pollMs: Int?
    @Option(help: "Log level: trace, debug, info, notice, warning, error (overrides DIALER_LOG_LEVEL).")
    var logLevel: String?
    @Option(help: "Log lines: text or json (overrides DIALER_LOG_FORMAT).")
    var logFormat: String?
    @Option(help: "host:port of the ops HTTP server (/metrics, /healthz, /readyz), or off (overrides DIALER_OPS_ADDRESS).")
    var opsAddress: String?

    /// The environment with the flags laid over it.
    var environment: [String: String] {
        var env = ProcessInfo.processInfo.environment
        let overrides: [(String, String?)] = [
            ("DATABASE_URL", databaseURL), ("TWILIO_BASE_URL", twilioBaseURL), ("DIALER_CONCURRENCY", concurrency.map(String.init)),
            ("DIALER_CLAIM_BATCH", claimBatch.map(String.init)), ("DIALER_BACKOFF_BASE_MS", backoffBaseMs.map(String.init)),
            ("DIALER_POLL_MS", pollMs.map(String.init)), ("DIALER_LOG_LEVEL", logLevel), ("DIALER_LOG_FORMAT", logFormat),
            ("DIALER_OPS_ADDRESS", opsAddress),
        ]
        for case (let name, let value?) in overrides { env[name] = value }
        return env
    }

    /// The settings, or the one bad setting as a ``SettingError`` (reported as one line naming it, exit status 2).
    func load(requireTwilio: Bool) throws(SettingError) -> DialerSettings {
        try DialerSettings.load(environment: environment, requireTwilio: requireTwilio)
    }

    /// Bootstraps logging (once per process) at DIALER_LOG_LEVEL in DIALER_LOG_FORMAT.
    func logger(_ label: String = "dialer") throws(SettingError) -> Logger {
        let raw = environment["DIALER_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: raw) else {
            throw SettingError(setting: "DIALER_LOG_LEVEL", problem: "must be one of trace, debug, info, notice, warning, error, critical; got '\(raw)'")
        }
        let rawFormat = (environment["DIALER_LOG_FORMAT"] ?? "text").lowercased()
        guard let format = LogFormat(rawValue: rawFormat) else {
            throw SettingError(setting: "DIALER_LOG_FORMAT", problem: "must be text or json; got '\(rawFormat)'")
        }
        LoggingBootstrap.once(level: level, format: format)
        return Logger(label: label)
    }

    /// The preamble of a command: settings loaded and logging bootstrapped. ``CommandSetup/withStore(checkMigrations:_:)``
    /// then connects.
    func setup(requireTwilio: Bool = false) throws(SettingError) -> CommandSetup {
        CommandSetup(settings: try load(requireTwilio: requireTwilio), logger: try logger())
    }

    /// The whole preamble of most commands: settings, logging, a database that answers and whose schema is current.
    func withStore<T: Sendable>(_ body: @Sendable (JobStore) async throws -> T) async throws -> T {
        try await setup().withStore(body)
    }
}

enum LoggingBootstrap {
    nonisolated(unsafe) private static var done = false
    static func once(level: Logger.Level, format: LogFormat = .text) {
        guard !done else { return }
        done = true
        LoggingSystem.bootstrap { label in
            switch format {
            case .json:
                var handler = JSONLogHandler(label: label)
                handler.logLevel = level
                return handler
            case .text:
                var handler = StreamLogHandler.standardError(label: label)
                handler.logLevel = level
                return handler
            }
        }
    }
}
