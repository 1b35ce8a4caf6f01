import ArgumentParser
import DialerCore
import DialerOps
import Logging
import PostgresNIO
import ServiceLifecycle
import UnixSignals

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run the worker until SIGTERM or SIGINT: claim, gate, dial, record. On a signal it stops claiming, lets in-flight dials finish, hands back unstarted jobs and exits 0.")
    @OptionGroup var settings: SettingOptions

    func run() async throws {
        let setup = try settings.setup(requireTwilio: true)
        try await setup.withStore { _ in }
        try await setup.runWorker(mode: .service, withOperations: true)
    }
}

extension CommandSetup {
    /// Runs the worker in a ServiceGroup with the database client, so SIGTERM/SIGINT shut it down gracefully and the
    /// client outlives the worker.
    ///
    /// Beside the worker run lease recovery and reconciliation (both modes: a drain waits for in-doubt jobs to settle). With
    /// `withOperations` (`dialer run`), the group also holds the ops HTTP server (/metrics, /healthz, /readyz), the
    /// queue-depth gauges and automatic retention (idle when DIALER_RETENTION_DAYS=0). Services stop in reverse order: the
    /// worker first (readiness turns false at once and stays served while in-flight dials finish), the database client last.
    func runWorker(mode: DialWorker.Mode, stats: WorkerStats = WorkerStats(), withOperations: Bool = false) async throws {
        guard let twilio = settings.twilio else { return }
        let logger = self.logger
        let pgConfig = try JobStore.configuration(url: settings.databaseURL, maxConnections: 8)
        let client = PostgresClient(configuration: pgConfig, backgroundLogger: logger)
        let store = JobStore(client: client, logger: logger, preparedStatements: settings.preparedStatements)
        var operations: [ServiceGroupConfiguration.ServiceConfiguration] = []
        // Behind PgBouncer in transaction mode LISTEN needs a direct connection of its own (DIALER_LISTEN_DATABASE_URL).
        var listenClient: PostgresClient?
        if case .url(let url) = settings.listen {
            let listener = PostgresClient(configuration: try JobStore.configuration(url: url, maxConnections: 1), backgroundLogger: logger)
            operations.append(.init(service: listener))
            listenClient = listener
        }
        let metrics: DialerMetrics
        if withOperations {
            let registry = PrometheusMetrics.bootstrap()
            metrics = DialerMetrics()
            let ops = settings.operations
            let readiness = Readiness(store: store, stats: stats, metrics: metrics)
            if let address = ops.opsAddress {
                let server = OpsServer(host: address.host, port: address.port, registry: registry, readiness: readiness, logger: logger)
                operations.append(.init(service: server.application()))
            }
            operations.append(.init(service: QueueGaugeRefresher(store: store, metrics: metrics, readiness: readiness, interval: ops.metricsRefresh,
                                                                 logger: logger)))
            // With retention off the service logs so and waits for shutdown.
            operations.append(.init(service: RetentionService(store: store, metrics: metrics, retention: ops.retention,
                                                              interval: ops.retentionInterval, logger: logger)))
            operations.append(.init(service: HousekeepingService(store: store, logger: logger)))
        } else {
            metrics = DialerMetrics()
        }
        var worker = settings.worker
        worker.listens = settings.listen != .off
        try await TwilioClient.with(twilio, logger: logger) { twilioClient in
            let dialWorker = DialWorker(store: store, twilio: twilioClient, configuration: worker, mode: mode, stats: stats, metrics: metrics,
                                        listenClient: listenClient, logger: logger)
            var group = ServiceGroupConfiguration(
                services: [.init(service: client)] + operations + dialWorker.maintenanceServices().map { .init(service: $0) } + [
                    .init(service: dialWorker, successTerminationBehavior: .gracefullyShutdownGroup),
                ],
                gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger)
            group.maximumGracefulShutdownDuration = worker.shutdownTimeout + .seconds(15)
            try await ServiceGroup(configuration: group).run()
        }
    }
}
