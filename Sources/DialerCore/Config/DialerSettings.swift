import Foundation

/// A setting that is missing or malformed. The CLI prints `description` as one line and exits with status 2.
public struct SettingError: Error, Hashable, CustomStringConvertible {
    /// The environment variable's name (flags are named after it in the message).
    public let setting: String
    public let problem: String
    public var description: String { "\(setting) \(problem)" }

    public init(setting: String, problem: String) {
        self.setting = setting
        self.problem = problem
    }
}

/// The worker's configuration, read from environment variables; command-line flags override them by name.
///
/// Parsing is pure (a dictionary in, settings or a ``SettingError`` out) so every rule is unit-tested. The description
/// hides the database password and the Twilio secret.
public struct DialerSettings: Sendable, CustomStringConvertible {
    public var databaseURL: String
    public var twilio: TwilioConfiguration?
    public var worker: WorkerConfiguration
    public var operations: OperationsSettings
    /// The bearer token the AI agent presents to `dialer serve`'s `POST /v1/opt-outs` until tenants have API keys;
    /// `nil`: the route is off (404).
    public var agentToken: Secret? = nil
    /// Protocol-level prepared statements for the hot statements (DIALER_PREPARED_STATEMENTS, default on); off behind a
    /// pooler in transaction mode that keeps none (PgBouncer before 1.21).
    public var preparedStatements = true
    /// Where the worker LISTENs for wake-ups (DIALER_LISTEN_DATABASE_URL): a pool connection (unset), a direct
    /// connection of its own (a URL: behind PgBouncer in transaction mode, which cannot LISTEN), or nowhere (`off`:
    /// polling only).
    public var listen: ListenSource = .pool

    public var description: String {
        "DialerSettings(database: \(Self.redactingPassword(databaseURL)), twilio: \(twilio.map { "\($0)" } ?? "none"))"
    }

    /// `url` with the password of its user part, if any, replaced by `redacted`.
    public static func redactingPassword(_ url: String) -> String {
        guard var components = URLComponents(string: url), components.percentEncodedPassword != nil else { return url }
        components.percentEncodedPassword = "redacted"
        return components.string ?? "<redacted>"
    }

    /// Every variable the dialer reads, with its meaning. A test holds the README's configuration table and the sources to
    /// this list: every name read anywhere is here, and the README has a row for each.
    public static let variables: [(name: String, meaning: String)] = [
        ("DATABASE_URL", "postgres://user[:password]@host[:port]/database (required)"),
        ("TWILIO_ACCOUNT_SID", "platform account SID (AC...) or API key SID (SK...) for HTTP Basic auth (required to dial)"),
        ("TWILIO_AUTH_TOKEN", "auth token or API key secret (required to dial; never logged)"),
        ("TWILIO_BASE_URL", "Twilio API base URL (default https://api.twilio.com)"),
        ("DIALER_VOICE_URL", "TwiML URL fetched when a call connects (required to dial)"),
        ("DIALER_STATUS_CALLBACK_URL", "status callback URL (optional)"),
        ("DIALER_CONCURRENCY", "jobs in progress per process (default 32)"),
        ("DIALER_CLAIM_BATCH", "most jobs per claim statement (default 32)"),
        ("DIALER_LEASE_SECONDS", "lease on a claimed job, renewed by a heartbeat (default 30)"),
        ("DIALER_RECONCILE_DELAY_SECONDS", "wait before asking Twilio whether a possibly-dialed call exists (default 30)"),
        ("DIALER_RECONCILE_NOT_FOUND_AFTER_SECONDS", "how long after an in-doubt attempt's request Twilio's \"no such call\" is believed and the job retried (default 300): a request held in a cut-off host's TCP buffers or a proxy's can still reach Twilio when the link returns; before then the job stays in doubt"),
        ("DIALER_OUTCOME_GRACE_SECONDS", "added to a call's ring time and time limit: past that, a call with no final status callback is looked up at Twilio (default 120)"),
        ("DIALER_SWEEP_SECONDS", "how often each worker looks for calls past their outcome deadline, and how long a looked-up call still going waits before the next look (default 5; the recheck is 12 times it)"),
        ("DIALER_CALLS_PER_SECOND", "calls per second for a subaccount not yet in twilio_pacing (default 1, Twilio's default)"),
        ("DIALER_POLL_MS", "fallback poll interval when no NOTIFY arrives (default 1000)"),
        ("DIALER_RECOVERY_SECONDS", "how often expired leases are looked for (default 15)"),
        ("DIALER_BACKOFF_BASE_MS", "first retry delay (default 1000; doubles each attempt)"),
        ("DIALER_BACKOFF_CAP_SECONDS", "longest retry delay (default 300)"),
        ("DIALER_TWILIO_TIMEOUT_SECONDS", "whole Create Call request timeout (default 15)"),
        ("DIALER_SHUTDOWN_TIMEOUT_SECONDS", "time in-flight dials get after SIGTERM (default 30)"),
        ("DIALER_SERVE_ADDRESS", "host:port of `dialer serve`, the public process (Twilio's status callbacks at the path of DIALER_STATUS_CALLBACK_URL, /healthz, /readyz); port 0 picks one (default 127.0.0.1:8080)"),
        ("DIALER_OPS_ADDRESS", "host:port of the ops HTTP server of `dialer run` (/metrics, /healthz, /readyz); port 0 picks one; `off` disables (default 127.0.0.1:9464)"),
        ("DIALER_LOG_LEVEL", "trace, debug, info, notice, warning, error or critical (default info); no level prints a credential"),
        ("DIALER_LOG_FORMAT", "text (human lines, the default) or json (one JSON object per line)"),
        ("DIALER_RETENTION_DAYS", "finished jobs and their attempts older than this are pruned by the running worker (default 90; 0 turns it off). call_attempts is the dial-time compliance record: archive it first if you must keep it longer"),
        ("DIALER_RETENTION_INTERVAL_SECONDS", "how often the worker prunes (default 300; one process of the fleet at a time)"),
        ("DIALER_METRICS_REFRESH_SECONDS", "how often queue depth gauges are read from the database (default 15)"),
        ("DIALER_AGENT_TOKEN", "bearer token of the AI agent for `dialer serve`'s POST /v1/opt-outs (in-call opt-outs), at least 16 characters; unset: the route takes tenants' API keys only. Never logged"),
        ("DIALER_PREPARED_STATEMENTS", "on (default) or off: protocol-level prepared statements for the status-callback path; off behind a pooler in transaction mode that keeps none (PgBouncer before 1.21, Debian 12's 1.18)"),
        ("DIALER_LISTEN_DATABASE_URL", "where `dialer run` LISTENs for new jobs and pauses: unset, a pool connection of DATABASE_URL; a postgres:// URL straight to PostgreSQL (behind PgBouncer in transaction mode, which cannot LISTEN); off: polling only (DIALER_POLL_MS)"),
        ("DIALER_GATE_TIME", "demos and tests only: evaluate calling hours as if the clock had been this ISO-8601 instant at start; refused unless TWILIO_BASE_URL is loopback"),
    ]

    /// Reads the settings. `requireTwilio` is false for commands that never dial (status, enqueue, migrate).
    public static func load(environment: [String: String], requireTwilio: Bool) throws(SettingError) -> DialerSettings {
        func value(_ name: String) -> String? {
            guard let raw = environment[name]?.trimmingCharacters(in: .whitespaces), !raw.isEmpty else { return nil }
            return raw
        }
        func required(_ name: String) throws(SettingError) -> String {
            guard let v = value(name) else { throw SettingError(setting: name, problem: "is not set") }
            return v
        }
        func integer(_ name: String, default fallback: Int, range: ClosedRange<Int>) throws(SettingError) -> Int {
            guard let raw = value(name) else { return fallback }
            guard let v = Int(raw), range.contains(v) else {
                throw SettingError(setting: name, problem: "must be a whole number from \(range.lowerBound) to \(range.upperBound), got '\(raw)'")
            }
            return v
        }
        func url(_ name: String, _ raw: String) throws(SettingError) -> String {
            guard let scheme = raw.split(separator: ":").first, ["http", "https"].contains(scheme.lowercased()), raw.contains("://"),
                raw.count > 8
            else { throw SettingError(setting: name, problem: "must be an http(s) URL, got '\(raw)'") }
            return raw
        }

        let databaseURL = try required("DATABASE_URL")
        do { _ = try JobStore.configuration(url: databaseURL) } catch {
            throw SettingError(setting: "DATABASE_URL", problem: "must look like postgres://user@host:port/database")
        }

        let timeout = try integer("DIALER_TWILIO_TIMEOUT_SECONDS", default: 15, range: 1...120)
        let concurrency = try integer("DIALER_CONCURRENCY", default: 32, range: 1...4096)
        var twilio: TwilioConfiguration?
        if requireTwilio {
            let sid = try required("TWILIO_ACCOUNT_SID")
            guard sid.range(of: "^(AC|SK)[0-9a-fA-F]{32}$", options: .regularExpression) != nil else {
                throw SettingError(setting: "TWILIO_ACCOUNT_SID", problem: "must be AC or SK followed by 32 hex digits")
            }
            let token = try required("TWILIO_AUTH_TOKEN")
            let base = try url("TWILIO_BASE_URL", value("TWILIO_BASE_URL") ?? "https://api.twilio.com")
            let voice = try url("DIALER_VOICE_URL", try required("DIALER_VOICE_URL"))
            let callback = try value("DIALER_STATUS_CALLBACK_URL").map { raw throws(SettingError) in try url("DIALER_STATUS_CALLBACK_URL", raw) }
            twilio = TwilioConfiguration(baseURL: base, username: sid, secret: Secret(token), voiceURL: voice, statusCallbackURL: callback,
                                         requestTimeout: .seconds(timeout), maxConnections: min(concurrency, 256))
        }
        let backoff = Backoff(base: .milliseconds(try integer("DIALER_BACKOFF_BASE_MS", default: 1000, range: 1...3_600_000)),
                              cap: .seconds(try integer("DIALER_BACKOFF_CAP_SECONDS", default: 300, range: 1...86_400)))
        let lease = try integer("DIALER_LEASE_SECONDS", default: 30, range: 5...86_400)
        guard lease > timeout + 5 else {
            throw SettingError(setting: "DIALER_LEASE_SECONDS", problem: "must exceed DIALER_TWILIO_TIMEOUT_SECONDS by more than 5 (a lease must outlive a dial)")
        }
        var gateOffset = Duration.zero
        if requireTwilio, let raw = value("DIALER_GATE_TIME") {
            guard let instant = ISO8601DateFormatter().date(from: raw) else {
                throw SettingError(setting: "DIALER_GATE_TIME", problem: "must be an ISO-8601 instant such as 2026-12-02T18:00:00Z, got '\(raw)'")
            }
            guard twilio?.isLoopback == true else {
                throw SettingError(setting: "DIALER_GATE_TIME", problem: "is honoured only with a loopback TWILIO_BASE_URL (the fake Twilio): it would bypass calling hours")
            }
            gateOffset = .milliseconds(Int64(instant.timeIntervalSinceNow * 1000))
        }
        var worker = WorkerConfiguration(
            concurrency: concurrency,
            claimBatch: try integer("DIALER_CLAIM_BATCH", default: 32, range: 1...5000),
            lease: .seconds(lease),
            pollInterval: .milliseconds(try integer("DIALER_POLL_MS", default: 1000, range: 10...600_000)),
            recoveryInterval: .seconds(try integer("DIALER_RECOVERY_SECONDS", default: 15, range: 1...3600)),
            shutdownTimeout: .seconds(try integer("DIALER_SHUTDOWN_TIMEOUT_SECONDS", default: 30, range: 1...3600)),
            retryPolicy: RetryPolicy(backoff: backoff))
        worker.gateClockOffset = gateOffset
        worker.reconcileDelay = .seconds(try integer("DIALER_RECONCILE_DELAY_SECONDS", default: 30, range: 1...3600))
        worker.notFoundAfter = .seconds(try integer("DIALER_RECONCILE_NOT_FOUND_AFTER_SECONDS", default: 300, range: 0...86_400))
        worker.outcomeGrace = .seconds(try integer("DIALER_OUTCOME_GRACE_SECONDS", default: 120, range: 0...86_400))
        let sweep = try integer("DIALER_SWEEP_SECONDS", default: 5, range: 1...3600)
        worker.sweepInterval = .seconds(sweep)
        worker.sweepRecheck = .seconds(sweep * 12)
        worker.defaultCallsPerSecond = Double(try integer("DIALER_CALLS_PER_SECOND", default: 1, range: 1...10_000))
        let opsRaw = value("DIALER_OPS_ADDRESS") ?? "127.0.0.1:9464"
        guard let opsAddress = OperationsSettings.parseAddress(opsRaw) else {
            throw SettingError(setting: "DIALER_OPS_ADDRESS", problem: "must be host:port (port 0 picks a free one) or off, got '\(opsRaw)'")
        }
        let serveRaw = value("DIALER_SERVE_ADDRESS") ?? "127.0.0.1:8080"
        guard let serveParsed = OperationsSettings.parseAddress(serveRaw), let serveAddress = serveParsed else {
            throw SettingError(setting: "DIALER_SERVE_ADDRESS", problem: "must be host:port (port 0 picks a free one), got '\(serveRaw)'")
        }
        let logFormat = value("DIALER_LOG_FORMAT")?.lowercased() ?? "text"
        guard let format = LogFormat(rawValue: logFormat) else {
            throw SettingError(setting: "DIALER_LOG_FORMAT", problem: "must be text or json, got '\(logFormat)'")
        }
        var operations = OperationsSettings(
            opsAddress: opsAddress, logFormat: format,
            retention: .seconds(86_400 * (try integer("DIALER_RETENTION_DAYS", default: 90, range: 0...36_500))),
            retentionInterval: .seconds(try integer("DIALER_RETENTION_INTERVAL_SECONDS", default: 300, range: 1...86_400)),
            metricsRefresh: .seconds(try integer("DIALER_METRICS_REFRESH_SECONDS", default: 15, range: 1...3600)))
        operations.serveAddress = serveAddress
        var agentToken: Secret?
        if let token = value("DIALER_AGENT_TOKEN") {
            guard token.count >= 16, token.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F }) else {
                throw SettingError(setting: "DIALER_AGENT_TOKEN", problem: "must be at least 16 printable ASCII characters without spaces")
            }
            agentToken = Secret(token)
        }
        var settings = DialerSettings(databaseURL: databaseURL, twilio: twilio, worker: worker, operations: operations, agentToken: agentToken)
        switch value("DIALER_PREPARED_STATEMENTS")?.lowercased() ?? "on" {
        case "on": settings.preparedStatements = true
        case "off": settings.preparedStatements = false
        case let other: throw SettingError(setting: "DIALER_PREPARED_STATEMENTS", problem: "must be on or off, got '\(other.prefix(40))'")
        }
        if let raw = value("DIALER_LISTEN_DATABASE_URL") {
            if raw.lowercased() == "off" {
                settings.listen = .off
            } else {
                do { _ = try JobStore.configuration(url: raw) } catch {
                    throw SettingError(setting: "DIALER_LISTEN_DATABASE_URL", problem: "must be off or look like postgres://user@host:port/database")
                }
                settings.listen = .url(raw)
            }
        }
        return settings
    }
}

/// How log lines are written.
public enum LogFormat: String, Sendable {
    /// Human lines (swift-log's stream format).
    case text
    /// One JSON object per line.
    case json
}

/// The worker's operations settings: the ops HTTP server, logs, retention and the queue gauges.
/// Where a worker LISTENs (``DialerSettings/listen``).
public enum ListenSource: Sendable, Hashable {
    case pool
    case url(String)
    case off
}

public struct OperationsSettings: Sendable {
    /// Where `dialer run` serves /metrics, /healthz and /readyz; `nil`: no ops server.
    public var opsAddress: (host: String, port: Int)?
    /// Where `dialer serve` answers the public: Twilio's status callbacks, `/healthz`, `/readyz`.
    public var serveAddress: (host: String, port: Int) = ("127.0.0.1", 8080)
    public var logFormat: LogFormat
    /// Finished jobs older than this are pruned automatically; zero: never.
    public var retention: Duration
    public var retentionInterval: Duration
    public var metricsRefresh: Duration

    /// Parses `host:port`, `[v6]:port` or `off` (`.some(nil)`); `nil` when malformed.
    public static func parseAddress(_ raw: String) -> (host: String, port: Int)?? {
        if raw.lowercased() == "off" { return .some(nil) }
        guard let colon = raw.lastIndex(of: ":"), let port = Int(raw[raw.index(after: colon)...]), (0...65535).contains(port) else { return nil }
        var host = String(raw[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        guard !host.isEmpty, !host.contains(" ") else { return nil }
        return .some((host, port))
    }
}
