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
        abstract:
            "Run the fake Twilio Calls API on loopback (tests, demo, benchmark). Scripts faults per destination; GET /_fake/calls lists created calls.",
        discussion: """
            The platform credentials reach only the --account (sub)accounts, and each calls only from its own numbers, as at \
            Twilio: another account is 404/20404, another From 400/21210. The magic numbers (+15005550001...) mean something \
            only with --test-account-sid/--test-auth-token. Calls leave the queue, ring, answer and end on the fake's clock \
            (--queued-ms, --ringing-ms, --in-progress-ms); Read Calls pages --page-size calls when PageSize is absent. \
            Create Call honours Timeout, TimeLimit, MachineDetection and AsyncAmd, their Twilio seconds lasting --time-scale \
            seconds each; calls without a scripted outcome draw one from --outcome-mix; callbacks suffer --callback-faults. \
            Every draw comes from --seed, the destination and its count of calls, so a rerun draws alike.
            """)
    @Option(help: "Port (0 picks one and prints it).") var port: Int = 0
    @Option(help: "Address to listen on (default 127.0.0.1; a network namespace's address for the fleet test).") var host = "127.0.0.1"
    @Option(help: "Accepted Basic-auth user (default TWILIO_ACCOUNT_SID).") var username: String?
    @Option(help: "Accepted Basic-auth password (default TWILIO_AUTH_TOKEN).") var password: String?
    @Option(help: """
        JSON file of scripted answers: [{"to": "+1...", "responses": [{"status": 503}, {"status": 429, "retry_after": "2"}, \
        {"reset_connection": true, "create_first": true}], "outcome": {"status": "busy"}}].
        """)
    var script: String?
    @Option(help: "Simulated calls per second of each account: calls above it are queued, the 201's queue_time says how long (default: unlimited).")
    var callsPerSecond: Double?
    @Option(help: ArgumentHelp("""
        A (sub)account the credentials reach and the numbers it owns (repeatable); with :TOKEN, its own auth token, which \
        signs its calls' callbacks and, with its SID, reaches it alone.
        """, valueName: "AC...[:TOKEN]=+1NUMBER,+1NUMBER"))
    var account: [String] = []
    @Option(help: "Test account SID: with it and --test-auth-token, Create Call honours Twilio's magic numbers and places no call.")
    var testAccountSid: String?
    @Option(help: "Test auth token (with --test-account-sid).") var testAuthToken: String?
    @Option(help: "Calls per Read Calls page when the request names no PageSize.") var pageSize: Int = 5
    @Option(help: "Milliseconds a call stays queued after its queue_time.") var queuedMs: Int = 50
    @Option(help: "Milliseconds a placed call rings before it is answered or ends busy, unanswered or failed.") var ringingMs: Int = 100
    @Option(help: "Milliseconds an answered call lasts when its outcome scripts no duration.") var inProgressMs: Int = 100
    @Option(help: """
        Seconds on the fake's clock one Twilio second lasts (0.01: a 60 s Timeout rings 0.6 s), for Timeout, TimeLimit, \
        AMD and the ring and talk seconds of scripts and the mix; durations are reported in Twilio seconds. The -ms \
        timings are not scaled.
        """)
    var timeScale: Double = 1
    @Option(help: ArgumentHelp("""
        How calls to destinations without a scripted outcome end, by weight: human, machine, fax, unknown, busy, no-answer, \
        failed (default: all complete).
        """, valueName: "human=0.55,machine=0.15,busy=0.1,no-answer=0.15,failed=0.05"))
    var outcomeMix: String?
    @Option(help: ArgumentHelp("Probability that each status callback is delivered after the next one, twice, or never (default: none).",
                               valueName: "reorder=0.2,duplicate=0.1,drop=0.05"))
    var callbackFaults: String?
    @Option(help: "Seed of the outcome mix and the callback faults.") var seed: UInt64 = FakeTwilio.Configuration.defaultSeed
    @Option(help: "Calls whose status callbacks are in flight at once (default 64; Twilio's is unbounded).") var callbackConcurrency: Int = 64

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
        var accounts: [FakeTwilio.Account] = []
        for value in account {
            let parts = value.split(separator: "=", maxSplits: 1)
            let credentials = (parts.first ?? "").split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
            let sid = String(credentials.first ?? "")
            let token = credentials.count > 1 ? String(credentials[1]) : nil
            let numbers = parts.count > 1 ? Set(parts[1].split(separator: ",").map { String($0) }) : []
            guard sid.count == 34, sid.hasPrefix("AC"), sid.dropFirst(2).allSatisfy(\.isHexDigit), token?.isEmpty != true,
                numbers.allSatisfy({ $0.wholeMatch(of: /\+[1-9][0-9]{1,14}/) != nil })
            else {
                printError("dialer: --account \(value) is not AC followed by 32 hex digits, an optional :TOKEN, then =+1NUMBER[,+1NUMBER...]")
                throw ExitCode(2)
            }
            accounts.append(FakeTwilio.Account(sid: sid, numbers: numbers, authToken: token))
        }
        guard timeScale > 0, timeScale.isFinite else {
            printError("dialer: --time-scale must be a positive number of seconds per Twilio second")
            throw ExitCode(2)
        }
        var mix: OutcomeMix?
        if let outcomeMix {
            do { mix = try OutcomeMix(parsing: outcomeMix) } catch {
                printError("dialer: --outcome-mix \(outcomeMix): \(error)")
                throw ExitCode(2)
            }
        }
        var faults = CallbackFaults.none
        if let callbackFaults {
            do { faults = try CallbackFaults(parsing: callbackFaults) } catch {
                printError("dialer: --callback-faults \(callbackFaults): \(error)")
                throw ExitCode(2)
            }
        }
        var testCredentials: FakeTwilio.TestCredentials?
        switch (testAccountSid, testAuthToken) {
        case (let sid?, let token?): testCredentials = FakeTwilio.TestCredentials(accountSID: sid, authToken: token)
        case (nil, nil): break
        default:
            printError("dialer: --test-account-sid and --test-auth-token go together")
            throw ExitCode(2)
        }
        guard pageSize > 0, pageSize <= 1000, queuedMs >= 0, ringingMs >= 0, inProgressMs >= 0 else {
            printError("dialer: --page-size must be 1 to 1000 and the timings 0 or more milliseconds")
            throw ExitCode(2)
        }
        let timings = FakeTwilio.Timings(queued: .milliseconds(queuedMs), ringing: .milliseconds(ringingMs), inProgress: .milliseconds(inProgressMs))
        var configuration = FakeTwilio.Configuration(host: host, port: port, username: user, password: secret, callsPerSecond: callsPerSecond, accounts: accounts,
                                                     testCredentials: testCredentials, timings: timings, defaultPageSize: pageSize,
                                                     timeScale: timeScale, outcomeMix: mix, callbackFaults: faults, seed: seed)
        configuration.callbackConcurrency = callbackConcurrency
        let fake = FakeTwilio(configuration: configuration, ledger: ledger, logger: logger)
        let host = host
        let app = fake.application { port in
            FileHandle.standardOutput.write(Data("fake-twilio: listening on http://\(host):\(port)\n".utf8))
        }
        let group = ServiceGroup(configuration: .init(services: [.init(service: app)], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await group.run()
    }
}
