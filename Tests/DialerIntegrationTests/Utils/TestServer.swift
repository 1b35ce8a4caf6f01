import DialerOps
import NIOCore
import FakeTwilio
import ServiceLifecycle

/// A server on a free loopback port for the length of a test body, the kit's one way to run one (HummingbirdTesting's
/// `app.test(.live)`): port 0, the bound port reported by the server, the body run with the base URL, the server
/// cancelled when the body returns or throws.
enum TestServer {
    struct DidNotStart: Error, CustomStringConvertible {
        var description: String { "the server stopped before it listened" }
    }

    /// Runs the server `make` builds around `body`.
    /// - Parameters:
    ///   - host: the address the server binds, also the host of the base URL.
    ///   - make: builds the server, given the callback it calls with its bound port once it listens.
    ///   - body: runs with the base URL, `http://HOST:PORT`.
    static func withRunning<Server: Service, T: Sendable>(
        host: String = "127.0.0.1", _ make: (_ onListening: @escaping @Sendable (Int) async -> Void) -> Server,
        _ body: @Sendable (String) async throws -> T
    ) async throws -> T {
        let (ports, sink) = AsyncStream.makeStream(of: Int.self)
        let server = make { port in sink.yield(port) }
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                defer { sink.finish() }
                try await server.run()
            }
            defer { group.cancelAll() }
            var iterator = ports.makeAsyncIterator()
            guard let port = await iterator.next() else {
                // The server ended before listening: its error, if it threw one.
                try await group.waitForAll()
                throw DidNotStart()
            }
            return try await body("http://\(host):\(port)")
        }
    }
}

extension FakeTwilio {
    /// Starts the fake on a free port (or its configured one), runs `body` with its base URL, and stops it.
    func withRunning<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        try await TestServer.withRunning(host: configuration.host, { application(onListening: $0) }, body)
    }
}

extension OpsServer {
    /// Starts the ops server on a free port, runs `body` with its base URL, and stops it.
    func withRunning<T: Sendable>(_ body: @Sendable (String) async throws -> T) async throws -> T {
        try await TestServer.withRunning(host: host, { application(onListening: $0) }, body)
    }
}

extension TestServer {
    /// How long a test's HTTP request to a local server may take. No test asserts a wall-clock time, so this only
    /// separates a hang from a slow answer: the full suite runs its tests in parallel on two cores, and an answer that
    /// takes 2 ms alone has taken more than 10 s there (a CI run failed so on a /v1 POST).
    static let clientTimeout: TimeAmount = .seconds(60)
}
