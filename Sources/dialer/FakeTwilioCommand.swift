import ArgumentParser
import DialerCore
import FakeTwilio
import Foundation
import Logging
import ServiceLifecycle
import UnixSignals

struct FakeTwilioCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "fake-twilio",
        abstract: "Run the fake Twilio Calls API on loopback (tests, demo, benchmark). Scripts faults per destination; GET /_fake/calls lists created calls.")
    @Option(help: "Port on 127.0.0.1 (0 picks one and prints it).") var port: Int = 0
    @Option(help: "Accepted Basic-auth user (default TWILIO_ACCOUNT_SID).") var username: String?
    @Option(help: "Accepted Basic-auth password (default TWILIO_AUTH_TOKEN).") var password: String?
    @Option(help: """
        JSON file of scripted answers: [{"to": "+1...", "responses": [{"status": 503}, {"status": 429, "retry_after": "2"}, \
        {"reset_connection": true, "create_first": true}], "outcome": {"status": "busy"}}].
        """)
    var script: String?
    @Option(help: "Simulated calls per second of each account: calls above it are queued, the 201's queue_time says how long (default: unlimited).")
    var callsPerSecond: Double?

    func run() async throws {
        let env = ProcessInfo.processInfo.environment
        guard let user = username ?? env["TWILIO_ACCOUNT_SID"], let secret = password ?? env["TWILIO_AUTH_TOKEN"] else {
            printError("dialer: TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN (or --username/--password) are needed for the fake's auth")
            throw ExitCode(2)
        }
        LoggingBootstrap.once(level: .warning)
        let logger = Logger(label: "fake-twilio")
        let ledger = FakeTwilioLedger()
        if let script {
            guard let data = FileManager.default.contents(atPath: script), let entries = try? JSONDecoder().decode([FakeScript].self, from: data)
            else {
                printError("dialer: --script \(script) is not a readable JSON list of {to, responses, outcome}")
                throw ExitCode(2)
            }
            for entry in entries { await ledger.apply(entry) }
        }
        if let callsPerSecond, !(callsPerSecond > 0) {
            printError("dialer: --calls-per-second must be a positive number")
            throw ExitCode(2)
        }
        let fake = FakeTwilio(configuration: .init(port: port, username: user, password: secret, callsPerSecond: callsPerSecond), ledger: ledger,
                              logger: logger)
        let app = fake.application { port in
            FileHandle.standardOutput.write(Data("fake-twilio: listening on http://127.0.0.1:\(port)\n".utf8))
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
