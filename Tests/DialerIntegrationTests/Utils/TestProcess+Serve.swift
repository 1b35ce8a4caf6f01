import DialerCore
import Foundation

extension TestProcess {
    struct ServeDidNotListen: Error, CustomStringConvertible {
        let stderr: String
        var description: String { "dialer serve logged no address: \(stderr)" }
    }

    /// Starts `dialer serve` as deployed, on a free port (DIALER_SERVE_ADDRESS 127.0.0.1:0, JSON logs), and returns the
    /// process and its base URL (`http://127.0.0.1:PORT`) once it listens. The caller stops it (`terminate()`).
    static func serve(environment: [String: String]) async throws -> (process: TestProcess, baseURL: String) {
        var env = environment
        env["DIALER_SERVE_ADDRESS"] = "127.0.0.1:0"
        env["DIALER_LOG_FORMAT"] = "json"
        let serve = try start(["serve"], environment: env)
        let address = try await serve.waitForStderr { text in
            text.split(separator: "\n").lazy.compactMap { JSONValue.parse(String($0)) }
                .first { $0["message"] == "public server listening" }?["address"]?.stringValue
        }
        guard let address else { throw ServeDidNotListen(stderr: serve.stderr) }
        return (serve, "http://" + address)
    }
}
