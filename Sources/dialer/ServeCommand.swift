import ArgumentParser
import DialerCore
import DialerOps
import Foundation
import Logging
import PostgresNIO
import ServiceLifecycle
import UnixSignals

/// `dialer serve`: the public process, behind the load balancer and scaled apart from the workers. It answers
/// Twilio's status callbacks (stored once each, never moved backwards), the AI agent's opt-outs (`POST /v1/opt-outs`,
/// with DIALER_AGENT_TOKEN) and the load balancer's probes; its metrics are on the ops server (`DIALER_OPS_ADDRESS`),
/// not on the public port.
struct ServeCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: """
            Serve Twilio's status callbacks (the path of DIALER_STATUS_CALLBACK_URL), the agent's POST /v1/opt-outs (with DIALER_AGENT_TOKEN), \
            /healthz and /readyz on DIALER_SERVE_ADDRESS until SIGTERM.
            """)
    @OptionGroup var settings: SettingOptions

    func run() async throws {
        let setup = try settings.setup(requireTwilio: true)
        try await setup.withStore { _ in }
        guard let twilio = setup.settings.twilio, let callbackURL = twilio.statusCallbackURL else {
            throw FailureReport(code: "invalid_setting", message: "DIALER_STATUS_CALLBACK_URL is required by dialer serve: it is the URL Twilio is given and the one signatures are checked against",
                                details: ["setting": "DIALER_STATUS_CALLBACK_URL"], exitStatus: 2)
        }
        let logger = setup.logger
        let client = PostgresClient(configuration: try JobStore.configuration(url: setup.settings.databaseURL, maxConnections: 8), backgroundLogger: logger)
        let store = JobStore(client: client, logger: logger, preparedStatements: setup.settings.preparedStatements)
        let registry = PrometheusMetrics.bootstrap()
        let metrics = DialerMetrics()
        let stats = WorkerStats()
        let readiness = Readiness(store: store, stats: stats, metrics: metrics)
        let ops = setup.settings.operations
        var services: [ServiceGroupConfiguration.ServiceConfiguration] = [.init(service: client)]
        if let address = ops.opsAddress {
            services.append(.init(service: OpsServer(host: address.host, port: address.port, registry: registry, readiness: readiness, logger: logger)
                .application()))
        }
        let policies = PolicyBook(store: store, logger: logger)
        let processID = "serve:\(WorkerConfiguration.defaultWorkerID())"
        let activity = ActivityTally()
        let settler = OutcomeSettler(store: store, policies: policies, transition: SettleTransition(),
                                     metrics: metrics, actor: processID, activity: activity, logger: logger)
        let started = Date()
        // Stops after the callback writer (services stop in reverse order), so its last settlements are counted.
        let flusher = ActivityFlusher(store: store, tally: activity, logger: logger) {
            var beat = ProcessHeartbeat(id: processID, role: .serve, startedAt: started)
            if stats.isStopping { beat.state = .stopping }
            return beat
        }
        let writer = CallbackWriter(store: store, settler: settler, logger: logger)
        // The Twilio client only reads the tenants' subaccount tokens (what their callbacks are signed with).
        try await TwilioClient.with(twilio, logger: logger) { twilioClient in
            let keys = SigningKeys(platformToken: twilio.secret, store: store, twilio: twilioClient, logger: logger)
            let server = PublicServer(host: ops.serveAddress.host, port: ops.serveAddress.port, store: store, writer: writer, callbackURL: callbackURL,
                                      keys: keys, agentToken: setup.settings.agentToken,
                                      secureCookies: callbackURL.lowercased().hasPrefix("https://"), gateClockOffset: setup.settings.worker.gateClockOffset, metrics: metrics, readiness: readiness, logger: logger)
            services.append(.init(service: ServeLifecycle(stats: stats)))
            services.append(.init(service: flusher))
            services.append(.init(service: writer))
            services.append(.init(service: HousekeepingService(store: store, logger: logger)))
            services.append(.init(service: server.application(), successTerminationBehavior: .gracefullyShutdownGroup))
            var group = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
            group.maximumGracefulShutdownDuration = .seconds(20)
            try await ServiceGroup(configuration: group).run()
        }
    }
}

/// Turns readiness false as soon as shutdown begins, so the load balancer stops sending before the server stops.
struct ServeLifecycle: Service, CustomStringConvertible {
    let stats: WorkerStats
    var description: String { "ServeLifecycle" }

    func run() async throws {
        try? await gracefulShutdown()
        stats.markStopping()
    }
}
