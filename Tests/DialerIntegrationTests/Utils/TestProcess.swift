import Foundation
import Synchronization

/// A program a test runs as a child process: the built `dialer` as an operator or a deployment would run it, or a
/// tool such as psql. It is the kit's one way to run a program to its end, start one, signal it and wait for its exit.
///
/// Output goes to files, never pipes: a pipe nobody drains fills and stalls the child, and a grandchild (the postmaster
/// pg_ctl starts) would inherit it and hold it open. The exit is awaited through Foundation's termination handler, never
/// by blocking a thread of the cooperative pool: the in-process fake Twilio needs those threads to answer the child.
///
/// The output files are deleted with the `TestProcess`, unless DIALER_TEST_WORKER_LOGS names a directory to keep
/// them in. A child still running when its `TestProcess` goes away is SIGKILLed, so a failing test leaves none behind.
final class TestProcess: Sendable {
    /// What a program left behind when it ended.
    struct Output: Sendable {
        let status: Int32
        let stdout: String
        let stderr: String

        /// This output, or an error carrying it when the program did not exit 0.
        @discardableResult
        func checked() throws -> Output {
            guard status == 0 else { throw Failure(description: "exited \(status): \(stdout)\(stderr)") }
            return self
        }
    }

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// The `dialer` executable the test build put next to the test bundle.
    static var dialer: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("dialer")
    }

    /// The environment of a `dialer` pointed at a test schema and a fake Twilio, with the simulated gate time every test
    /// dials at (see `Fixture.legalInstant`) and an ops server on a free port.
    /// - Parameters:
    ///   - schema: the search path of DATABASE_URL; `nil` leaves DATABASE_URL unset.
    ///   - fakeURL: TWILIO_BASE_URL; `nil` leaves the default (real Twilio, which refuses the simulated gate time).
    static func dialerEnvironment(schema: String? = nil, fakeURL: String? = nil) throws -> [String: String] {
        var env = [
            "TWILIO_ACCOUNT_SID": Fixture.username, "TWILIO_AUTH_TOKEN": Fixture.password, "DIALER_VOICE_URL": "http://127.0.0.1:9/agent",
            "DIALER_LOG_LEVEL": "info", "DIALER_GATE_TIME": "2026-12-02T18:00:00Z", "DIALER_CALLS_PER_SECOND": "1000",
            // Many workers run at once in the tests: each takes a free port for its ops server.
            "DIALER_OPS_ADDRESS": "127.0.0.1:0",
            // No partitions here: a request Twilio does not know about never arrives later.
            "DIALER_RECONCILE_NOT_FOUND_AFTER_SECONDS": "0",
        ]
        if let schema { env["DATABASE_URL"] = try TestDatabase.url + "?search_path=\(schema)" }
        if let fakeURL { env["TWILIO_BASE_URL"] = fakeURL }
        return env
    }

    /// The `dialer enqueue` flags that give every row of a test's call or campaign the kit's default consent evidence
    /// (informational, prior express consent, the kit's source), as `Fixture.request` does for the store.
    static let consentFlags = ["--consent-type", "pec", "--consent-source", Fixture.consentSource]

    /// Runs a program to its end.
    /// - Parameters:
    ///   - program: the executable; the built `dialer` unless told otherwise.
    ///   - environment: the child's whole environment (PATH is added when missing); `nil` inherits the test's.
    ///   - timeout: a bound on a program that might hang (it is SIGKILLed and `Failure` thrown); not a timing assertion.
    static func run(_ arguments: [String], program: URL = dialer, environment: [String: String]? = nil, timeout: Duration? = nil)
        async throws -> Output
    {
        let process = try start(arguments, program: program, environment: environment)
        let status: Int32?
        if let timeout { status = await process.exitStatus(within: timeout) } else { status = await process.exitStatus() }
        guard let status else {
            try Task.checkCancellation()
            // Not awaited after the kill: a grandchild may hold what Foundation watches for the exit (see restartScript
            // in PostgresRestartTests).
            process.kill()
            throw Failure(description: "\(program.path) \(arguments.joined(separator: " ")) timed out: \(process.stdout)\(process.stderr)")
        }
        return Output(status: status, stdout: process.stdout, stderr: process.stderr)
    }

    /// Starts a program and returns at once; `terminate()`, `kill()` and `exitStatus()` act on it.
    static func start(_ arguments: [String], program: URL = dialer, environment: [String: String]? = nil) throws -> TestProcess {
        guard FileManager.default.isExecutableFile(atPath: program.path) else {
            throw Failure(description: "\(program.path) is not an executable: build with `swift build --build-tests` (ops/test does)")
        }
        return try TestProcess(program: program, arguments: arguments, environment: environment)
    }

    let process: Process
    let stdoutURL: URL
    let stderrURL: URL
    private let keepsLogs: Bool
    private let exit = ExitWatch()

    private init(program: URL, arguments: [String], environment: [String: String]?) throws {
        let kept = ProcessInfo.processInfo.environment["DIALER_TEST_WORKER_LOGS"]
        let directory = kept.map { URL(fileURLWithPath: $0) } ?? FileManager.default.temporaryDirectory
        let name = "\(program.lastPathComponent)-\(UUID().uuidString.prefix(8).lowercased())"
        keepsLogs = kept != nil
        stdoutURL = directory.appendingPathComponent(name + ".out")
        stderrURL = directory.appendingPathComponent(name + ".err")
        _ = FileManager.default.createFile(atPath: stdoutURL.path, contents: nil)
        _ = FileManager.default.createFile(atPath: stderrURL.path, contents: nil)
        process = Process()
        process.executableURL = program
        process.arguments = arguments
        if let environment { process.environment = environment.merging(["PATH": "/usr/bin:/bin"]) { given, _ in given } }
        process.standardInput = FileHandle.nullDevice
        process.standardOutput = try FileHandle(forWritingTo: stdoutURL)
        process.standardError = try FileHandle(forWritingTo: stderrURL)
        process.terminationHandler = { [exit] in exit.exited($0.terminationStatus) }
        try process.run()
    }

    deinit {
        if isRunning { deliver(SIGKILL, to: process.processIdentifier) }
        if !keepsLogs {
            try? FileManager.default.removeItem(at: stdoutURL)
            try? FileManager.default.removeItem(at: stderrURL)
        }
    }

    var isRunning: Bool { exit.status == nil && process.isRunning }

    /// What the program wrote to stdout so far.
    var stdout: String { Self.read(stdoutURL) }
    /// What the program wrote to stderr so far: the dialer's log lines.
    var stderr: String { Self.read(stderrURL) }

    /// SIGTERM: for the dialer, stop claiming, finish or release in-flight work, exit 0.
    func terminate() { signal(SIGTERM) }
    /// SIGKILL: the crash the exactly-once machinery must survive.
    func kill() { signal(SIGKILL) }

    func signal(_ signal: Int32) {
        // Never a pid that has been reaped (and may belong to another process by now).
        if isRunning { deliver(signal, to: process.processIdentifier) }
    }

    /// Waits for the program to exit and returns its status (the signal's number if a signal ended it); `nil` only if
    /// the waiting task is cancelled first.
    func exitStatus() async -> Int32? { await exit.wait() }

    /// Waits at most `limit` for the program to exit: a bound on a hang, not a timing assertion.
    func exitStatus(within limit: Duration) async -> Int32? {
        await withTaskGroup(of: Int32?.self) { group in
            group.addTask { await self.exitStatus() }
            group.addTask {
                try? await Task.sleep(for: limit)
                return nil
            }
            defer { group.cancelAll() }
            return await group.next() ?? nil
        }
    }

    /// Reads stderr until `found` finds something in it, the program exits, or `limit` passes.
    /// - Returns: what `found` found, or `nil` if it never did.
    func waitForStderr<T>(within limit: Duration = .seconds(30), _ found: (String) -> T?) async throws -> T? {
        let deadline = ContinuousClock.now + limit
        while true {
            let running = isRunning
            if let value = found(stderr) { return value }
            if !running || ContinuousClock.now >= deadline { return nil }
            try await Task.sleep(for: .milliseconds(50))
        }
    }

    /// Reads stderr until it contains `text`, the program exits, or `limit` passes; whether it was found.
    @discardableResult
    func waitForStderr(containing text: String, within limit: Duration = .seconds(30)) async throws -> Bool {
        try await waitForStderr(within: limit) { $0.contains(text) ? true : nil } ?? false
    }

    private static func read(_ url: URL) -> String {
        // Decoded leniently: a line may be half-written while the program runs.
        String(decoding: (try? Data(contentsOf: url)) ?? Data(), as: UTF8.self)
    }
}

private func deliver(_ signal: Int32, to pid: pid_t) {
    _ = kill(pid, signal)
}

/// The exit of a child, reported once by Foundation's termination handler and awaited by any number of tasks.
private final class ExitWatch: Sendable {
    private struct State {
        var status: Int32?
        var waiters: [Int: CheckedContinuation<Int32?, Never>] = [:]
        var nextWaiter = 0
    }

    private let state = Mutex(State())

    var status: Int32? { state.withLock { $0.status } }

    func exited(_ status: Int32) {
        let waiters = state.withLock { state in
            state.status = status
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume(returning: status) }
    }

    func wait() async -> Int32? {
        let id = state.withLock { state in
            state.nextWaiter += 1
            return state.nextWaiter
        }
        return await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let now: Int32?? = state.withLock { state in
                    if let status = state.status { return .some(status) }
                    if Task.isCancelled { return .some(nil) }
                    state.waiters[id] = continuation
                    return .none
                }
                if let now { continuation.resume(returning: now) }
            }
        } onCancel: {
            state.withLock { $0.waiters.removeValue(forKey: id) }?.resume(returning: nil)
        }
    }
}
