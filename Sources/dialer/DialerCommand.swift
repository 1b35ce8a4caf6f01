import ArgumentParser
import DialerCore
import DialerOps
import Foundation
import Logging
import PostgresNIO

@main
struct DialerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialer",
        abstract: "OpenPhn's outbound-call worker: claims call jobs from PostgreSQL and dials them through Twilio.",
        subcommands: [
            Migrate.self, Run.self, Drain.self, Status.self, Enqueue.self, Pause.self, Resume.self, Cancel.self, Retry.self, Prune.self,
            CheckCommand.self, ExplainCommand.self, DNCCommand.self, TenantCommand.self, FakeTwilioCommand.self, BenchHTTPCommand.self, SQLCommand.self,
        ])
}

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

    /// Loads the settings, or prints the one bad setting and exits with status 2.
    func load(requireTwilio: Bool) throws -> DialerSettings {
        do {
            return try DialerSettings.load(environment: environment, requireTwilio: requireTwilio)
        } catch {
            printError("dialer: \(error.description)")
            throw ExitCode(2)
        }
    }

    func logger(_ label: String = "dialer") throws -> Logger {
        let raw = environment["DIALER_LOG_LEVEL"] ?? "info"
        guard let level = Logger.Level(rawValue: raw) else {
            printError("dialer: DIALER_LOG_LEVEL must be one of trace, debug, info, notice, warning, error, critical; got '\(raw)'")
            throw ExitCode(2)
        }
        let rawFormat = (environment["DIALER_LOG_FORMAT"] ?? "text").lowercased()
        guard let format = LogFormat(rawValue: rawFormat) else {
            printError("dialer: DIALER_LOG_FORMAT must be text or json; got '\(rawFormat)'")
            throw ExitCode(2)
        }
        LoggingBootstrap.once(level: level, format: format)
        return Logger(label: label)
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

/// Who ran an operator command, for the audit rows: `operator:USER@HOST`.
var operatorID: String {
    let environment = ProcessInfo.processInfo.environment
    let user = environment["SUDO_USER"] ?? environment["USER"] ?? getpwuid(getuid()).flatMap { String(cString: $0.pointee.pw_name) } ?? "uid\(getuid())"
    return "operator:\(user)@\(ProcessInfo.processInfo.hostName)"
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Runs `body` against the database, failing fast with a clear line when it is unreachable.
func withDatabase<T: Sendable>(_ settings: DialerSettings, logger: Logger, _ body: @Sendable (JobStore) async throws -> T) async throws -> T {
    let configuration = try JobStore.configuration(url: settings.databaseURL)
    return try await JobStore.withStore(configuration, logger: logger) { store in
        do {
            try await store.ping(timeout: .seconds(10))
        } catch {
            printError("dialer: the database at \(configuration.host ?? "?"):\(configuration.port ?? 0) is unreachable (\(error))")
            throw ExitCode(1)
        }
        do {
            return try await body(store)
        } catch let error as OpenPhnError {
            printError("dialer: \(error.error.rawValue): \(error.message)")
            printError(error.jsonText)
            throw ExitCode(1)
        }
    }
}
