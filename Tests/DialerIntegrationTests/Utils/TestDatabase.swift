import DialerCore
import FakeTwilio
import Foundation
import Logging
import PostgresNIO
import Prometheus
import ServiceLifecycle
import Testing

/// A private schema in the test database, migrated, for one test: tests run in parallel without seeing each other's rows.
enum TestDatabase {
    static let logger: Logger = {
        var logger = Logger(label: "test")
        logger.logLevel = ProcessInfo.processInfo.environment["DIALER_TEST_LOG_LEVEL"].flatMap(Logger.Level.init(rawValue:)) ?? .critical
        return logger
    }()

    struct MissingDatabase: Error, CustomStringConvertible {
        var description: String { "DIALER_TEST_DATABASE_URL is not set: run the tests with ops/test, which starts a private PostgreSQL" }
    }

    static var url: String {
        get throws {
            guard let url = ProcessInfo.processInfo.environment["DIALER_TEST_DATABASE_URL"] else { throw MissingDatabase() }
            return url
        }
    }

    /// Runs `body` with a store on a fresh, migrated schema, dropped afterwards.
    static func withStore<T: Sendable>(maxConnections: Int = 8, _ body: @Sendable (JobStore, String) async throws -> T) async throws -> T {
        let url = try url
        let schema = "t_" + String(UInt64.random(in: 0...UInt64.max), radix: 36)
        _ = try await JobStore.withStore(try JobStore.configuration(url: url), logger: logger) { admin in
            try await admin.client.query("CREATE SCHEMA \(unescaped: schema)", logger: logger)
        }
        do {
            let result = try await JobStore.withStore(try JobStore.configuration(url: url, schema: schema, maxConnections: maxConnections), logger: logger) {
                store in
                try await store.migrate(try Migration.bundled())
                return try await body(store, schema)
            }
            try await drop(schema)
            return result
        } catch {
            try? await drop(schema)
            throw error
        }
    }

    static func drop(_ schema: String) async throws {
        _ = try await JobStore.withStore(try JobStore.configuration(url: try url), logger: logger) { admin in
            try await admin.client.query("DROP SCHEMA \(unescaped: schema) CASCADE", logger: logger)
        }
    }
}

/// Fixtures shared by the integration tests.
enum Fixture {
    /// What a Prometheus scrape of `registry` would read.
    static func scrape(_ registry: PrometheusCollectorRegistry) -> String {
        var bytes: [UInt8] = []
        registry.emit(into: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    static let subaccount = "AC0123456789abcdef0123456789abcdef"
    static let caller = "+14155550100"
    static let username = "AC" + String(repeating: "f", count: 32)
    static let password = "fake-auth-token-\(UInt32.random(in: 0...UInt32.max))"
    /// Twilio's test credentials, known to ``fake(_:)``: only with them do the magic numbers (+15005550001...) mean anything.
    static let testAccount = "AC" + String(repeating: "e", count: 32)
    static let testToken = "fake-test-token-\(UInt32.random(in: 0...UInt32.max))"

    /// An approved tenant with a subaccount and a selected caller number.
    static func tenant(_ store: JobStore, id: String = "acme", verification: VerificationStatus = .approved) async throws {
        try await store.upsertTenant(id: id, verification: verification, subaccountSID: subaccount)
        try await store.upsertPhoneNumber(tenantID: id, e164: caller, selected: true)
    }

    /// A validated request, by default an informational call with prior express consent (``consentSource``), so it
    /// dials; tests of the consent rule pass another purpose or consent (`nil` is refused by validation: to get a job
    /// without consent, enqueue one with consent and take it away with ``consent(_:_:purpose:type:)``).
    static func request(
        _ to: String, tenant: String = "acme", key: String? = nil, maxAttempts: Int = 4, objective: String = "Confirm the appointment",
        purpose: CallPurpose = .informational, consent: ConsentType? = .priorExpress, campaign: String? = nil
    ) throws -> ValidatedCallRequest {
        try CallRequest(tenantID: tenant, to: to, campaignID: campaign, objective: objective, maxAttempts: maxAttempts, idempotencyKey: key, purpose: purpose,
                        consentType: consent, consentAt: consentAt, consentSource: consentSource).validated()
    }

    /// The consent evidence the kit's requests carry by default.
    static let consentSource = "test kit: consent form"
    static let consentAt = ISO8601DateFormatter().date(from: "2025-06-15T12:00:00Z")!

    /// A 503 from Twilio, as the classifier reads it (for outcomes tests write by hand).
    static let serverError = DialFailure(kind: .serverError, error: OpenPhnError(.upstreamUnavailable, "Twilio answered 503."), httpStatus: 503)

    /// `n` distinct valid destinations.
    static func destinations(_ n: Int, start: Int = 0) -> [String] {
        (0..<n).map { "+1415\(String(format: "%07d", 2_000_000 + start + $0))" }
    }

    static func twilio(_ baseURL: String, timeout: Duration = .seconds(5)) -> TwilioConfiguration {
        TwilioConfiguration(baseURL: baseURL, username: username, secret: Secret(password), voiceURL: "http://127.0.0.1:9/agent",
                            statusCallbackURL: "http://127.0.0.1:9/status", requestTimeout: timeout)
    }

    /// The fake Twilio: the platform credentials reach `subaccount`, which owns `caller`; the test credentials too; its
    /// Twilio seconds run at 0.01 (see below).
    static func fake(_ configure: (inout FakeTwilio.Configuration) -> Void = { _ in }) -> FakeTwilio {
        var configuration = FakeTwilio.Configuration(username: username, password: password, accounts: [.init(sid: subaccount, numbers: [caller])],
                                                     testCredentials: .init(accountSID: testAccount, authToken: testToken))
        // Twilio seconds (a Timeout, a TimeLimit, a scripted duration) pass 100 times faster: the worker asks for a 30 s
        // ring, and an unanswered call must not hold a test for half a minute. Tests of the clock set their own scale.
        configuration.timeScale = 0.01
        configure(&configuration)
        return FakeTwilio(configuration: configuration, logger: TestDatabase.logger)
    }

    /// Wednesday 2026-12-02 18:00 UTC: inside calling hours for every continental US zone, so tests do not depend on
    /// the hour they run at. Tests of the hours themselves set their own instant.
    static let legalInstant = ISO8601DateFormatter().date(from: "2026-12-02T18:00:00Z")!

    static func worker(concurrency: Int = 16, backoffBase: Duration = .milliseconds(50), lease: Duration = .seconds(60), at instant: Date = legalInstant)
        -> WorkerConfiguration
    {
        var configuration = WorkerConfiguration(
            concurrency: concurrency, claimBatch: concurrency, lease: lease, pollInterval: .milliseconds(50), recoveryInterval: .seconds(1),
            shutdownTimeout: .seconds(10), retryPolicy: RetryPolicy(backoff: Backoff(base: backoffBase, cap: .seconds(2), jitter: 0.2)))
        configuration.gateClockOffset = .milliseconds(Int64(instant.timeIntervalSinceNow * 1000))
        configuration.reconcileDelay = .milliseconds(300)
        // No partitions in these tests: a request Twilio does not know about never arrives later.
        configuration.notFoundAfter = .zero
        configuration.reconcileInterval = .milliseconds(100)
        configuration.defaultCallsPerSecond = 1000
        return configuration
    }

    /// Drains the queue through a worker in drain mode, waiting for scheduled retries up to `wait`.
    @discardableResult
    static func drain(_ store: JobStore, twilio: TwilioConfiguration, worker: WorkerConfiguration = Fixture.worker(), wait: Duration? = .seconds(10))
        async throws -> WorkerCounts
    {
        let stats = WorkerStats()
        try await TwilioClient.with(twilio, logger: TestDatabase.logger) { client in
            let worker = DialWorker(store: store, twilio: client, configuration: worker, mode: .drain(waitForScheduled: wait), stats: stats,
                                    logger: TestDatabase.logger)
            // As `dialer drain` runs it: the worker ends the group when the drain is over, recovery and reconciliation beside it.
            let group = ServiceGroup(configuration: .init(
                services: worker.maintenanceServices().map { .init(service: $0) } + [.init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup)],
                logger: TestDatabase.logger))
            try await group.run()
        }
        return stats.snapshot
    }
}

extension CallRequest {
    /// This request with the kit's default consent evidence where it has none (informational, prior express consent).
    func withConsent() -> CallRequest {
        var request = self
        if request.consentType == nil {
            request.consentType = .priorExpress
            request.consentAt = Fixture.consentAt
            request.consentSource = Fixture.consentSource
        }
        return request
    }
}

extension JobStore {
    /// Runs a query returning one integer.
    func scalar(_ query: PostgresQuery) async throws -> Int {
        for try await value in try await client.query(query, logger: logger).decode(Int.self) { return value }
        return 0
    }
}
