import ArgumentParser
import DialerCore
import Logging
import PostgresNIO
import ServiceLifecycle
import UnixSignals

struct Run: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the worker until SIGTERM or SIGINT: claim, gate, dial, record. On a signal it stops claiming, lets in-flight dials finish, hands back unstarted jobs and exits 0.")
    @OptionGroup var settings: SettingOptions

    func run() async throws {
        let loaded = try settings.load(requireTwilio: true)
        let logger = try settings.logger()
        try await withDatabase(loaded, logger: logger) { try await requireCurrentSchema($0) }
        try await runWorker(loaded, mode: .service, logger: logger)
    }
}

/// Runs the worker in a ServiceGroup with the database client, so SIGTERM/SIGINT shut it down gracefully and the
/// client outlives the worker.
func runWorker(_ settings: DialerSettings, mode: DialWorker.Mode, stats: WorkerStats = WorkerStats(), logger: Logger) async throws {
    guard let twilio = settings.twilio else { return }
    let pgConfig = try JobStore.configuration(url: settings.databaseURL, maxConnections: 8)
    let client = PostgresClient(configuration: pgConfig, backgroundLogger: logger)
    let store = JobStore(client: client, logger: logger)
    try await TwilioClient.with(twilio, logger: logger) { twilioClient in
        let worker = DialWorker(store: store, twilio: twilioClient, configuration: settings.worker, mode: mode, stats: stats, logger: logger)
        var group = ServiceGroupConfiguration(
            services: [
                .init(service: client),
                .init(service: worker, successTerminationBehavior: .gracefullyShutdownGroup),
            ],
            gracefulShutdownSignals: [.sigterm, .sigint],
            logger: logger)
        group.maximumGracefulShutdownDuration = settings.worker.shutdownTimeout + .seconds(15)
        try await ServiceGroup(configuration: group).run()
    }
}
