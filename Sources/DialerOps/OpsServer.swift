import DialerCore
import Foundation
import Hummingbird
import Logging
import NIOCore
import Prometheus

/// The ops HTTP endpoints of a worker process, for Prometheus, Kubernetes probes and load balancers:
/// - `GET /metrics`: every metric in the Prometheus text format (0.0.4);
/// - `GET /healthz`: 200 while the process serves requests (liveness);
/// - `GET /readyz`: 200 `{"ready":true}` when the database answers, its migrations are current and the worker is not
///   shutting down; otherwise 503 `{"ready":false,"reasons":[...]}`.
///
/// Bind it to loopback or a private interface: it has no authentication (it exposes counts, never numbers or secrets).
public struct OpsServer: Sendable {
    public let host: String
    /// 0 picks a free port; `onListening` reports the bound one.
    public let port: Int
    public let registry: PrometheusCollectorRegistry
    public let readiness: Readiness
    let logger: Logger

    public init(host: String, port: Int, registry: PrometheusCollectorRegistry, readiness: Readiness, logger: Logger) {
        self.host = host
        self.port = port
        self.registry = registry
        self.readiness = readiness
        self.logger = logger
    }

    /// The Hummingbird application: a `Service` for the worker's `ServiceGroup`.
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        let registry = self.registry
        let readiness = self.readiness
        router.get("/metrics") { _, _ -> Response in
            var bytes: [UInt8] = []
            bytes.reserveCapacity(16_384)
            registry.emit(into: &bytes)
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                            body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
        }
        readiness.addProbes(to: router)
        let logger = self.logger
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "openphn-dialer-ops"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                logger.info("ops server listening", metadata: ["address": "\(host):\(bound)", "endpoints": "/metrics /healthz /readyz"])
                await onListening(bound)
            },
            logger: logger)
    }
}
