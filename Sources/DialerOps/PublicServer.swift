import DialerCore
import Foundation
import Hummingbird
import Logging
import NIOCore

/// The public HTTP face of `dialer serve`, behind the load balancer: Twilio's status callbacks at the path of
/// `DIALER_STATUS_CALLBACK_URL`, opt-outs (`POST /v1/opt-outs`: API keys, or the AI agent's token), the tenants' calls and campaigns (``CallsRoute``, ``CampaignsRoute``: API keys through ``APIGateway``), the operators' console under `/console` (``ConsoleRoute``), and `/healthz` and `/readyz` for the
/// load balancer. Metrics stay on the ops server (``OpsServer``), which is not public.
public struct PublicServer: Sendable {
    public let host: String
    /// 0 picks a free port; `onListening` reports the bound one.
    public let port: Int
    let route: StatusCallbackRoute
    let optOuts: OptOutRoute
    let calls: CallsRoute
    let campaigns: CampaignsRoute
    let console: ConsoleRoute
    let readiness: Readiness
    let logger: Logger

    /// - Parameters:
    ///   - callbackURL: the public status-callback URL exactly as Twilio is given it; its path is served, and signatures
    ///     are checked against it.
    ///   - keys: the auth tokens Twilio signs with: the platform's (never an API key secret) and the tenants' subaccounts'.
    ///   - writer: stores callbacks (group commit) and settles the final ones; a service of the same group, listed before
    ///     this server.
    ///   - agentToken: the AI agent's bearer token (`DIALER_AGENT_TOKEN`); `nil`: the opt-out route takes API keys only.
    ///   - secureCookies: the console's cookies carry `Secure` (the public URL is https, TLS ending at the load balancer).
    ///   - gateClockOffset: `DIALER_GATE_TIME`'s shift of the clock the `/v1` calls are checked by, as the workers' gate
    ///     shifts its own (demos and tests against the fake Twilio only; zero otherwise).
    public init(host: String, port: Int, store: JobStore, writer: CallbackWriter, callbackURL: String, keys: SigningKeys, agentToken: Secret? = nil,
                secureCookies: Bool = false, gateClockOffset: Duration = .zero, metrics: DialerMetrics,
                readiness: Readiness, logger: Logger)
    {
        self.host = host
        self.port = port
        self.route = StatusCallbackRoute(writer: writer, callbackURL: callbackURL, keys: keys, metrics: metrics, logger: logger)
        let gateway = APIGateway(store: store, authentication: APIAuthentication(store: store, logger: logger), logger: logger)
        self.optOuts = OptOutRoute(store: store, gateway: gateway, authentication: agentToken.map(AgentAuthentication.init), metrics: metrics,
                                   logger: logger)
        self.calls = CallsRoute(store: store, gateway: gateway, clockOffset: gateClockOffset.seconds, logger: logger)
        self.campaigns = CampaignsRoute(store: store, gateway: gateway, logger: logger)
        self.console = ConsoleRoute(store: store, secureCookies: secureCookies, logger: logger)
        self.readiness = readiness
        self.logger = logger
    }

    /// The OpenAPI 3.1 document of the `/v1` API, `Sources/DialerOps/OpenAPI/openapi.json` as checked in (a resource of
    /// this module), served at `GET /v1/openapi.json`.
    public static let openAPIDocument: String = {
        guard let directory = Bundle.module.url(forResource: "OpenAPI", withExtension: nil),
              let text = try? String(contentsOf: directory.appendingPathComponent("openapi.json"), encoding: .utf8)
        else { return #"{"error": "not_found", "message": "The OpenAPI document is missing from this build.", "details": {}}"# }
        return text
    }()

    /// The path callbacks are served at: the configured URL's.
    var callbackPath: String {
        let path = URLComponents(string: route.callbackURL)?.path ?? ""
        return path.isEmpty ? "/" : path
    }

    /// The Hummingbird application: a `Service` for `dialer serve`'s `ServiceGroup`.
    public func application(onListening: @escaping @Sendable (Int) async -> Void = { _ in }) -> some ApplicationProtocol {
        let router = Router()
        let route = self.route, optOuts = self.optOuts, readiness = self.readiness, calls = self.calls, campaigns = self.campaigns
        router.post(RouterPath(callbackPath)) { request, _ in await route.handle(request) }
        router.get(RouterPath(callbackPath)) { request, _ in await route.handle(request) }
        router.post(RouterPath(OptOutRoute.path)) { request, _ in await optOuts.handle(request) }
        router.post("/v1/calls") { request, _ in await calls.create(request) }
        router.get("/v1/openapi.json") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: Self.openAPIDocument)))
        }
        router.get("/v1/calls") { request, _ in await calls.list(request) }
        router.post("/v1/dnc") { request, _ in await calls.addDNC(request) }
        router.delete("/v1/dnc/:number") { request, context in await calls.removeDNC(request, number: context.parameters.get("number") ?? "") }
        router.get("/v1/calls/:id") { request, context in await calls.read(request, id: context.parameters.get("id") ?? "") }
        router.post("/v1/calls/:id/cancel") { request, context in await calls.cancel(request, id: context.parameters.get("id") ?? "") }
        router.get("/v1/campaigns/:campaign_id") { request, context in
            await campaigns.read(request, id: context.parameters.get("campaign_id") ?? "")
        }
        router.post("/v1/campaigns/:campaign_id/calls") { request, context in
            await calls.createMany(request, campaign: context.parameters.get("campaign_id") ?? "")
        }
        router.post("/v1/campaigns/:campaign_id/pause") { request, context in
            await campaigns.pause(request, id: context.parameters.get("campaign_id") ?? "", pausing: true)
        }
        router.post("/v1/campaigns/:campaign_id/resume") { request, context in
            await campaigns.pause(request, id: context.parameters.get("campaign_id") ?? "", pausing: false)
        }
        console.register(on: router)
        readiness.addProbes(to: router)
        let logger = self.logger, host = self.host, path = callbackPath, optOutsOn = optOuts.authentication != nil
        return Application(
            router: router,
            configuration: .init(address: .hostname(host, port: port), serverName: "openphn-dialer"),
            onServerRunning: { channel in
                let bound = channel.localAddress?.port ?? 0
                logger.info("public server listening", metadata: [
                    "address": "\(host):\(bound)", "status_callback_path": "\(path)", "agent_opt_outs": "\(optOutsOn ? "on" : "off")",
                ])
                await onListening(bound)
            },
            logger: logger)
    }
}
