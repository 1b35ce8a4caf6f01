import AsyncHTTPClient
import DialerCore
import DialerOps
import FakeTwilio
import Foundation
import Logging
import NIOCore
import NIOHTTP1
import PostgresNIO
import Prometheus
import ServiceLifecycle
import Testing

/// What an on-call operator reads: `/metrics`, `/healthz`, `/readyz`, and the log lines.
@Suite("Observability: metrics, health, logs")
struct ObservabilityTests {
    static func get(_ url: String) async throws -> (status: Int, body: String, contentType: String?) {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: TestServer.clientTimeout)
        let body = try await response.body.collect(upTo: 4 << 20)
        return (Int(response.status.code), String(buffer: body), response.headers.first(name: "content-type"))
    }

    /// A strict reader of the Prometheus text format (0.0.4): every line is a comment, `# HELP`/`# TYPE`, or a sample
    /// `name{label="value",...} number`; histogram buckets are cumulative and end with `+Inf` equal to `_count`.
    struct Exposition {
        var samples: [String: Double] = [:]
        var types: [String: String] = [:]
        /// `# HELP` text by metric family.
        var helps: [String: String] = [:]
        static let empty = try! Exposition("")

        init(_ text: String) throws {
            let sample = try Regex(#"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*")*\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)$"#)
            for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
                if line.hasPrefix("# HELP ") {
                    let parts = line.split(separator: " ", maxSplits: 3)
                    #expect(parts.count == 4, "bad HELP line: \(line)")
                    if parts.count == 4 { helps[String(parts[2])] = String(parts[3]) }
                    continue
                }
                if line.hasPrefix("# TYPE ") {
                    let parts = line.split(separator: " ")
                    #expect(parts.count == 4, "bad TYPE line: \(line)")
                    #expect(["counter", "gauge", "histogram", "summary", "untyped"].contains(String(parts.last ?? "")), "bad type: \(line)")
                    if parts.count == 4 { types[String(parts[2])] = String(parts[3]) }
                    continue
                }
                if line.hasPrefix("#") { continue }
                guard try sample.wholeMatch(in: String(line)) != nil, let space = line.lastIndex(of: " ") else {
                    Issue.record("not a Prometheus sample line: \(line)")
                    continue
                }
                samples[String(line[..<space])] = Double(line[line.index(after: space)...]) ?? .nan
            }
        }

        func value(_ key: String) -> Double? { samples[key] }

        /// Every family with a `# TYPE` also has a non-empty `# HELP` (what `promtool check metrics` asks for), and it
        /// comes before the family's samples.
        func expectEveryFamilyDescribed(sourceLocation: SourceLocation = #_sourceLocation) {
            #expect(!types.isEmpty, "no metric families", sourceLocation: sourceLocation)
            for family in types.keys.sorted() {
                #expect(helps[family]?.isEmpty == false, "metric \(family) has no # HELP", sourceLocation: sourceLocation)
            }
        }
    }

    @Test("/metrics is Prometheus text that moves as jobs are dialed, failed and measured; no phone number in any label")
    func metricsMove() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, _ in
                try await Fixture.tenant(store)
                let registry = PrometheusCollectorRegistry()
                let metrics = DialerMetrics(factory: PrometheusMetrics.factory(registry))
                let stats = WorkerStats()
                let server = OpsServer(host: "127.0.0.1", port: 0, registry: registry, readiness: Readiness(store: store, stats: stats, metrics: metrics),
                                       logger: TestDatabase.logger)
                try await server.withRunning { ops in
                    // Six dialable numbers (the first meets one 429 first), one Twilio rejects, and one of a tenant still in
                    // review (deferred by the gate).
                    let destinations = Fixture.destinations(6, start: 300)
                    await fake.ledger.script(to: destinations[0], [FakeResponse(status: 429, retryAfter: "1")])
                    await fake.ledger.script(to: "+14155552199", [FakeResponse(status: 400, code: 21217)])
                    try await Fixture.tenant(store, id: "newco", verification: .pendingReview)
                    _ = try await store.enqueue(try destinations.map { try Fixture.request($0) } + [try Fixture.request("+14155552199"),
                                                                                                    try Fixture.request(destinations[1], tenant: "newco")])
                    metrics.queueDepth(try await store.queueDepth())
                    let before = try Exposition(try await Self.get(ops + "/metrics").body)
                    #expect(before.value(#"dialer_queue_jobs{state="queued"}"#) == 8)
                    #expect(before.value(#"dialer_jobs_dialed_total{path="dial"}"#) == nil)

                    try await TwilioClient.with(Fixture.twilio(baseURL), logger: TestDatabase.logger) { client in
                        try await DialWorker(store: store, twilio: client, configuration: Fixture.worker(), mode: .drain(waitForScheduled: .seconds(10)),
                                             stats: stats, metrics: metrics, logger: TestDatabase.logger).run()
                    }
                    metrics.queueDepth(try await store.queueDepth())
                    let scraped = try await Self.get(ops + "/metrics")
                    #expect(scraped.status == 200)
                    #expect(scraped.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
                    let after = try Exposition(scraped.body)
                    after.expectEveryFamilyDescribed()
                    #expect(after.value(#"dialer_jobs_claimed_total"#) == 9)
                    #expect(after.value(#"dialer_jobs_retried_total{class="rate_limited"}"#) == 1)
                    #expect(after.value(#"dialer_jobs_deferred_total{reason="verification_pending"}"#) == 1)
                    #expect(after.value(#"dialer_twilio_request_duration_seconds_count{status_class="429"}"#) == 1)
                    #expect(after.value(#"dialer_queue_jobs{state="deferred"}"#) == 1)
                    #expect(after.value(#"dialer_jobs_dialed_total{path="dial"}"#) == 6)
                    #expect(after.value(#"dialer_jobs_failed_total{error="invalid_phone"}"#) == 1)
                    #expect(after.value(#"dialer_twilio_request_duration_seconds_count{status_class="2xx"}"#) == 6)
                    #expect(after.value(#"dialer_twilio_request_duration_seconds_count{status_class="4xx"}"#) == 1)
                    #expect(after.value(#"dialer_twilio_request_duration_seconds_bucket{status_class="2xx",le="+Inf"}"#) == 6)
                    #expect(after.value(#"dialer_dials_in_flight"#) == 0)
                    #expect(after.value(#"dialer_queue_jobs{state="queued"}"#) == 0)
                    #expect(after.types["dialer_twilio_request_duration_seconds"] == "histogram")
                    #expect(after.types["dialer_jobs_dialed_total"] == "counter")
                    // Buckets are cumulative: in the order of their upper bounds, counts never go down.
                    let prefix = #"dialer_twilio_request_duration_seconds_bucket{status_class="2xx",le=""#
                    let buckets = after.samples.compactMap { key, count -> (Double, Double)? in
                        guard key.hasPrefix(prefix) else { return nil }
                        let bound = key.dropFirst(prefix.count).dropLast(2)
                        return (bound == "+Inf" ? .infinity : Double(bound) ?? .nan, count)
                    }.sorted { $0.0 < $1.0 }.map(\.1)
                    #expect(buckets.count > 2)
                    #expect(buckets == buckets.sorted())
                    for key in after.samples.keys {
                        #expect(key.range(of: #"\+?1?[2-9][0-9]{9}"#, options: .regularExpression) == nil, "a phone number in \(key)")
                        #expect(!key.contains("acme"), "a tenant id in \(key)")
                    }
                    let health = try await Self.get(ops + "/healthz")
                    #expect(health.status == 200)
                    #expect(health.body == "ok\n")
                    #expect(try await Self.get(ops + "/nope").status == 404)
                }
            }
        }
    }

    @Test("/readyz is 200 while the database answers and 503 with a reason when it goes away, when migrations are missing, or when stopping")
    func readinessFlips() async throws {
        try await TestDatabase.withStore { store, schema in
            // A role of its own for the probe, so the database can be taken away from it alone (NOLOGIN + its sessions
            // terminated) without disturbing the other tests sharing the cluster.
            let role = "probe_" + String(UInt32.random(in: 0...UInt32.max), radix: 36)
            let admin = try Self.superuserURL()
            try await Self.admin(admin, [
                "CREATE ROLE \(role) LOGIN", "GRANT USAGE ON SCHEMA \(schema) TO \(role)", "GRANT SELECT ON \(schema).schema_migrations TO \(role)",
            ])
            do {
                try await Self.probeReadiness(store: store, schema: schema, role: role, admin: admin)
            } catch {
                try? await Self.admin(admin, ["DROP OWNED BY \(role)", "DROP ROLE IF EXISTS \(role)"])
                throw error
            }
            try await Self.admin(admin, ["DROP OWNED BY \(role)", "DROP ROLE IF EXISTS \(role)"])
        }
    }

    static func probeReadiness(store: JobStore, schema: String, role: String, admin: String) async throws {
        do {
            var components = URLComponents(string: try TestDatabase.url)!
            components.user = role
            let probeConfig = try JobStore.configuration(url: components.string!, schema: schema, maxConnections: 2)
            try await JobStore.withStore(probeConfig, logger: TestDatabase.logger) { probe in
                let stats = WorkerStats()
                let registry = PrometheusCollectorRegistry()
                let metrics = DialerMetrics(factory: PrometheusMetrics.factory(registry))
                let server = OpsServer(host: "127.0.0.1", port: 0, registry: registry, readiness: Readiness(store: probe, stats: stats, metrics: metrics),
                                       logger: TestDatabase.logger)
                try await server.withRunning { ops in
                    // A probe has a 2 s budget; on a machine loaded by the rest of the suite the first may miss it.
                    var ready = try await Self.get(ops + "/readyz")
                    for _ in 0..<20 where ready.status != 200 {
                        try await Task.sleep(for: .milliseconds(250))
                        ready = try await Self.get(ops + "/readyz")
                    }
                    #expect(ready.status == 200, "\(ready.body)")
                    #expect(JSONValue.parse(ready.body)?["ready"] == .bool(true))
                    #expect(try Exposition(try await Self.get(ops + "/metrics").body).value("dialer_ready") == 1)

                    try await Self.admin(admin, [
                        "ALTER ROLE \(role) NOLOGIN", "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '\(role)'",
                    ])
                    let gone = try await Self.get(ops + "/readyz")
                    #expect(gone.status == 503)
                    let reasons = JSONValue.parse(gone.body)?["reasons"]?.arrayValue?.compactMap(\.stringValue) ?? []
                    #expect(reasons.contains { $0.hasPrefix("database unreachable") }, "\(gone.body)")
                    #expect(try await Self.get(ops + "/healthz").status == 200)

                    try await Self.admin(admin, ["ALTER ROLE \(role) LOGIN"])
                    var back = false
                    for _ in 0..<40 where !back {
                        back = try await Self.get(ops + "/readyz").status == 200
                        if !back { try await Task.sleep(for: .milliseconds(250)) }
                    }
                    #expect(back, "readiness did not come back after the database did")

                    try await store.client.query("DELETE FROM schema_migrations WHERE version = 4", logger: store.logger)
                    let behind = try await Self.get(ops + "/readyz")
                    #expect(behind.status == 503)
                    #expect(behind.body.contains("migrations pending: 0004_operations.sql"))

                    stats.markStopping()
                    #expect(try await Self.get(ops + "/readyz").body.contains("shutting down"))
                    #expect(try Exposition(try await Self.get(ops + "/metrics").body).value("dialer_ready") == 0)
                }
            }
        }
    }

    static func superuserURL() throws -> String {
        var components = URLComponents(string: try TestDatabase.url)!
        components.user = "postgres"
        return components.string!
    }

    static func admin(_ url: String, _ statements: [String]) async throws {
        try await JobStore.withStore(try JobStore.configuration(url: url, maxConnections: 1), logger: TestDatabase.logger) { store in
            for statement in statements { _ = try await store.client.query(PostgresQuery(unsafeSQL: statement), logger: store.logger).collect() }
        }
    }

    @Test("--log-format json: one JSON object per line with job metadata; destination numbers masked; no credentials")
    func jsonLogs() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, schema in
                try await Fixture.tenant(store)
                let destinations = Fixture.destinations(4, start: 700)
                _ = try await store.enqueue(try destinations.map { try Fixture.request($0) })
                var env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: baseURL)
                env["DIALER_LOG_LEVEL"] = "debug"
                let drained = try await TestProcess.run(["drain", "--log-format", "json"], environment: env)
                #expect(drained.status == 0)
                #expect(drained.stdout.contains("dialed=4"))
                let lines = drained.stderr.split(separator: "\n").map(String.init)
                var dialed: [JSONValue] = []
                for line in lines {
                    guard let object = JSONValue.parse(line), object["ts"]?.stringValue != nil, object["level"]?.stringValue != nil,
                        object["message"]?.stringValue != nil
                    else {
                        Issue.record("not a JSON log line: \(line)")
                        continue
                    }
                    if object["message"] == "dialed" { dialed.append(object) }
                }
                #expect(dialed.count == 4)
                for line in dialed {
                    #expect(line["job.id"]?.stringValue != nil)
                    #expect(line["tenant"] == "acme")
                    #expect(line["state"] == "awaiting_outcome")
                    #expect(line["call.sid"]?.stringValue?.hasPrefix("CA") == true)
                    #expect(line["to"]?.stringValue?.range(of: #"^\+1415[0-9]{3}\*{4}$"#, options: .regularExpression) != nil)
                }
                for to in destinations { #expect(!drained.stderr.contains(to), "full number \(to) in the logs") }
                #expect(!drained.stderr.contains(Fixture.password))
                let bad = try await TestProcess.run(["status", "--log-format", "xml"], environment: env)
                #expect(bad.status == 2)
                #expect(bad.stderr.contains("DIALER_LOG_FORMAT must be text or json"))
            }
        }
    }
}

/// `dialer run` as deployed: its ops server, queue gauges and automatic retention, in the real process.
@Suite("dialer run operations")
struct RunOperationsTests {
    @Test("with retention off (DIALER_RETENTION_DAYS=0) dialer run stays up until SIGTERM and exits 0")
    func retentionOffKeepsRunning() async throws {
        try await TestDatabase.withStore { _, schema in
            var env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: "http://127.0.0.1:9")
            env["DIALER_RETENTION_DAYS"] = "0"
            let run = try TestProcess.start(["run"], environment: env)
            #expect(try await run.waitForStderr(containing: "retention is off"), "no 'retention is off' line")
            // Give a service that returns early time to take the group down with it.
            try await Task.sleep(for: .milliseconds(500))
            #expect(run.isRunning, "dialer run stopped by itself: \(run.stderr)")
            run.terminate()
            #expect(await run.exitStatus() == 0)
        }
    }

    @Test("dialer run serves /metrics and /readyz, refreshes the queue gauges, prunes old finished jobs by itself, and stops on SIGTERM")
    func runServesOperations() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            try await TestDatabase.withStore { store, schema in
                try await Fixture.tenant(store)
                let ids = try await store.enqueue(try Fixture.destinations(5, start: 800).map { try Fixture.request($0) }).map(\.jobID)
                // Three jobs finished long ago (retention prunes them), two wait for the worker.
                try await Fixture.jobs(store, Array(ids.prefix(3)), state: .completed, finishedAgo: .seconds(3 * 86_400))
                var env = try TestProcess.dialerEnvironment(schema: schema, fakeURL: baseURL)
                env.merge(["DIALER_RETENTION_DAYS": "1", "DIALER_RETENTION_INTERVAL_SECONDS": "1", "DIALER_METRICS_REFRESH_SECONDS": "1",
                           "DIALER_LOG_FORMAT": "json"]) { $1 }
                let worker = try TestProcess.start(["run"], environment: env)

                // The ops server logs the address it bound (port 0 in the tests).
                let address = try await worker.waitForStderr(within: .seconds(10)) { log in
                    log.split(separator: "\n").compactMap { line -> String? in
                        guard let object = JSONValue.parse(String(line)), object["message"] == "ops server listening" else { return nil }
                        return object["address"]?.stringValue
                    }.last
                }
                let base = "http://" + (try #require(address, "no ops server address in the log"))

                var scraped = ObservabilityTests.Exposition.empty
                for _ in 0..<100 {
                    scraped = try ObservabilityTests.Exposition(try await ObservabilityTests.get(base + "/metrics").body)
                    if scraped.value(#"dialer_retention_pruned_total{table="call_jobs"}"#) == 3, scraped.value(#"dialer_jobs_dialed_total{path="dial"}"#) == 2,
                        scraped.value(#"dialer_queue_jobs{state="queued"}"#) == 0
                    {
                        break
                    }
                    try await Task.sleep(for: .milliseconds(100))
                }
                #expect(scraped.value(#"dialer_retention_pruned_total{table="call_jobs"}"#) == 3)
                #expect(scraped.value(#"dialer_jobs_dialed_total{path="dial"}"#) == 2)
                #expect(scraped.value(#"dialer_queue_jobs{state="queued"}"#) == 0)
                #expect(scraped.value("dialer_retention_last_run_timestamp_seconds") ?? 0 > 0)
                #expect(scraped.value("dialer_ready") == 1)
                scraped.expectEveryFamilyDescribed()
                #expect(try await ObservabilityTests.get(base + "/readyz").status == 200)
                #expect(try await store.scalar("SELECT count(*)::bigint FROM call_jobs") == 2)

                worker.terminate()
                #expect(await worker.exitStatus() == 0)
                let lines = worker.stderr.split(separator: "\n")
                #expect(lines.allSatisfy { JSONValue.parse(String($0)) != nil }, "every log line is JSON")
                #expect(lines.contains { JSONValue.parse(String($0))?["message"] == "retention: pruned finished jobs" })
            }
        }
    }
}
