import ArgumentParser
import DialerCore
import Foundation
import Logging

/// `dialer bench-http` (hidden; used by `ops/bench`): Create Call requests through the worker's own `TwilioClient`, with
/// no database, no gate and no outcome writes. It measures the HTTP half of a dial on its own: requests per second, and
/// this process's CPU per request (the fake's is read by `ops/bench`). Loopback targets only: it must never load Twilio.
struct BenchHTTPCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "bench-http",
        abstract: "Benchmark: Create Call requests through the worker's Twilio client against the fake Twilio on loopback (no database).",
        shouldDisplay: false)
    @OptionGroup var settings: SettingOptions
    @Option(help: "Requests to send.") var requests: Int = 20_000
    @Option(help: "Requests in flight at once.") var inFlight: Int = 256

    func run() async throws {
        guard requests > 0, inFlight > 0 else { throw invalidFlag("--requests", "--requests and --in-flight must be positive.") }
        guard let twilio = try settings.load(requireTwilio: true).twilio else {
            throw SettingError(setting: "TWILIO_BASE_URL", problem: "and TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN are needed")
        }
        guard twilio.isLoopback else {
            throw SettingError(setting: "TWILIO_BASE_URL", problem: "is not loopback: bench-http only targets a loopback TWILIO_BASE_URL (the fake Twilio), never Twilio itself")
        }
        let logger = Logger(label: "bench-http")
        let (requests, inFlight) = (requests, inFlight)
        let subaccount = "AC0123456789abcdef0123456789abcdef"
        let cpuBefore = processCPUSeconds()
        let started = ContinuousClock.now
        let dialed = try await TwilioClient.with(twilio, logger: logger) { client in
            await withTaskGroup(of: Bool.self) { group in
                var dialed = 0
                for i in 0..<requests {
                    if i >= inFlight, await group.next() == true { dialed += 1 }
                    group.addTask {
                        let to = "+1415" + String(2_000_000 + i % 8_000_000)
                        let outcome = await client.createCall(subaccountSID: subaccount, to: to, from: "+14155550100", jobID: Int64(i), attempt: 1,
                                                              logger: logger)
                        if case .dialed = outcome { return true }
                        return false
                    }
                }
                for await ok in group where ok { dialed += 1 }
                return dialed
            }
        }
        let elapsed = (ContinuousClock.now - started).seconds
        let cpu = processCPUSeconds() - cpuBefore
        print(String(format: "bench-http: %d requests (%d dialed) in %.2fs = %.0f requests/s; client CPU %.0f us per request",
                     requests, dialed, elapsed, Double(requests) / elapsed, cpu * 1e6 / Double(requests)))
        if dialed != requests { throw ExitCode(1) }
    }
}

/// User plus system CPU time of this process so far, in seconds.
private func processCPUSeconds() -> Double {
    var usage = rusage()
    getrusage(RUSAGE_SELF.rawValue, &usage)
    func seconds(_ t: timeval) -> Double { Double(t.tv_sec) + Double(t.tv_usec) / 1e6 }
    return seconds(usage.ru_utime) + seconds(usage.ru_stime)
}
