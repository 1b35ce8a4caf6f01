import DialerCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The operator console under `/console` of `dialer serve`: who is signed in (one owner: ``session(_:)``), the CSRF
/// check every form passes (``form(_:session:)``), and the answers' shape (HTML pages with strict security headers;
/// errors carry the contract's code, as an HTML page for a person or, when asked for JSON, `{error, message, details}`).
/// The pages are in ``ConsolePages``, the controls in ``ConsoleControls``, the sign-in in ``ConsoleSignIn``.
struct ConsoleRoute: Sendable {
    static let cookieName = "openphn_console"
    static let loginCookieName = "openphn_login"
    let store: JobStore
    let signIns: ConsoleSignIn
    let feed: ConsoleFeed
    /// `Secure` on every cookie: set when the public URL is https (behind a TLS-terminating load balancer, the request
    /// itself is plain HTTP); a request whose `X-Forwarded-Proto` is `https` gets it too.
    let secureCookies: Bool
    let logger: Logger

    init(store: JobStore, secureCookies: Bool, logger: Logger) {
        self.store = store
        self.signIns = ConsoleSignIn(store: store, logger: logger)
        self.feed = ConsoleFeed(store: store)
        self.secureCookies = secureCookies
        self.logger = logger
    }

    /// The headers of every console answer: nothing but this origin's own stylesheet, script and forms; no framing; no
    /// caching of pages that hold callees' data; no referrer leaving the site.
    static let securityHeaders: [(HTTPField.Name, String)] = [
        (.contentSecurityPolicy, "default-src 'none'; style-src 'self'; script-src 'self'; connect-src 'self'; img-src 'self'; "
            + "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"),
        (HTTPField.Name("X-Content-Type-Options")!, "nosniff"),
        (HTTPField.Name("X-Frame-Options")!, "DENY"),
        (HTTPField.Name("Referrer-Policy")!, "same-origin"),
        (.cacheControl, "no-store"),
    ]

    static func html(_ text: String, status: HTTPResponse.Status = .ok, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        for (name, value) in securityHeaders { headers[name] = value }
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    static func redirect(_ location: String, cookies: [String] = []) -> Response {
        var headers = HTTPFields()
        headers[.location] = location
        for (name, value) in securityHeaders { headers[name] = value }
        for cookie in cookies { headers.append(HTTPField(name: .setCookie, value: cookie)) }
        return Response(status: .seeOther, headers: headers)
    }

    /// An error as the console answers it: the contract's status and code, as a page (or JSON when the client asks).
    func failure(_ error: OpenPhnError, _ request: Request, session: ConsoleSession?) -> Response {
        if error.error == .rateLimited || error.error == .upstreamUnavailable || error.httpStatus >= 500 {
            logger.warning("console request failed", metadata: ["path": "\(request.uri.path)", "error.code": "\(error.error.rawValue)"])
        }
        if request.headers[.accept]?.contains("application/json") == true {
            var response = Response.openPhn(error)
            for (name, value) in Self.securityHeaders { response.headers[name] = value }
            if let retry = error.details["retry_after_seconds"]?.intValue { response.headers[.retryAfter] = "\(retry)" }
            return response
        }
        var response = Self.html(ConsoleHTML.errorPage(error, session: session), status: .init(code: error.httpStatus))
        if let retry = error.details["retry_after_seconds"]?.intValue { response.headers[.retryAfter] = "\(retry)" }
        return response
    }

    /// Adds the console's routes to the public server's router.
    func register(on router: Router<BasicRequestContext>) {
        let console = self
        router.get("/console/login") { request, _ in await console.loginPage(request) }
        router.post("/console/login") { request, _ in await console.login(request) }
        router.post("/console/logout") { request, _ in await console.logout(request) }
        router.get("/console") { request, _ in await console.campaignsPage(request) }
        router.get("/console/audit") { request, _ in await console.auditPage(request) }
        router.get("/console/subaccounts") { request, _ in await console.subaccountsPage(request) }
        router.get("/console/workers") { request, _ in await console.workersPage(request) }
        router.get("/console/live") { request, _ in await console.live(request) }
        router.get("/console/calls") { request, _ in
            let id = request.uri.queryParameters["id"].map { String($0) }.flatMap { Int64($0.trimmingCharacters(in: .whitespaces)) } ?? 0
            return Self.redirect("/console/calls/\(id)")
        }
        router.get("/console/calls/:id") { request, context in await console.callPage(request, id: context.parameters.get("id") ?? "") }
        // Path segments arrive percent-encoded (the pages encode every id they link to).
        @Sendable func decoded(_ name: String, _ context: BasicRequestContext) -> String {
            let raw = context.parameters.get(name) ?? ""
            return raw.removingPercentEncoding ?? raw
        }
        router.get("/console/campaigns/:tenant/:campaign") { request, context in
            await console.campaignPage(request, tenant: decoded("tenant", context), campaign: decoded("campaign", context))
        }
        router.post("/console/campaigns/:tenant/:campaign/:control") { request, context in
            await console.control(request, tenant: decoded("tenant", context), campaign: decoded("campaign", context), control: decoded("control", context))
        }
        router.post("/console/tenants/:tenant/:control") { request, context in
            await console.tenantControl(request, tenant: decoded("tenant", context), control: decoded("control", context))
        }
        router.get("/console/assets/console.css") { _, _ in Self.asset(ConsoleAssets.css, type: "text/css; charset=utf-8") }
        router.get("/console/assets/console.js") { _, _ in Self.asset(ConsoleAssets.js, type: "text/javascript; charset=utf-8") }
    }

    static func asset(_ text: String, type: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = type
        headers[.cacheControl] = "max-age=300"
        headers[HTTPField.Name("X-Content-Type-Options")!] = "nosniff"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// The contract's error for a failure: an `OpenPhnError` as it is, anything else (the database) a logged 503.
    func problem(_ error: any Error, _ request: Request) -> OpenPhnError {
        if let error = error as? OpenPhnError { return error }
        logger.error("console request failed", metadata: ["path": "\(request.uri.path)", "error": "\(String(reflecting: error))"])
        return OpenPhnError(.upstreamUnavailable, "The console could not reach its database; try again in a moment.")
    }

    /// A cookie for this console: `HttpOnly`, `SameSite=Strict`, scoped to `/console`, `Secure` behind TLS.
    func cookie(_ name: String, _ value: String, maxAge: Int, path: String = "/console", _ request: Request) -> String {
        let secure = secureCookies || request.headers[HTTPField.Name("X-Forwarded-Proto")!]?.lowercased() == "https"
        return "\(name)=\(value); Path=\(path); Max-Age=\(maxAge); HttpOnly; SameSite=Strict" + (secure ? "; Secure" : "")
    }

    static func cookieValue(_ name: String, _ request: Request) -> String? {
        for header in request.headers[values: .cookie] {
            for pair in header.split(separator: ";") {
                let trimmed = pair.trimmingCharacters(in: .whitespaces)
                if trimmed.hasPrefix(name + "=") { return String(trimmed.dropFirst(name.count + 1)) }
            }
        }
        return nil
    }

    /// The signed-in session of a request, or `nil`.
    func session(_ request: Request) async throws -> ConsoleSession? {
        guard let cookie = Self.cookieValue(Self.cookieName, request) else { return nil }
        return try await store.consoleSession(cookie: cookie)
    }

    /// A page for a signed-in operator: without a session, the sign-in page (a 303 there).
    func page(_ request: Request, _ body: @Sendable (ConsoleSession) async throws -> Response) async -> Response {
        var session: ConsoleSession?
        do {
            session = try await self.session(request)
            guard let session else { return Self.redirect("/console/login") }
            return try await body(session)
        } catch {
            return failure(problem(error, request), request, session: session)
        }
    }

    /// A form post by a signed-in operator: the session, then the same-origin and CSRF checks, then (when `acting`) the
    /// role; only then `body` with the form's fields. Each refusal changes nothing.
    func action(_ request: Request, acting: Bool, _ body: @Sendable (ConsoleSession, [String: String]) async throws -> Response) async -> Response {
        var session: ConsoleSession?
        do {
            session = try await self.session(request)
            guard let session else { throw OpenPhnError(.signinRequired, "Sign in to the console first (the session ended or never began).") }
            let fields = try await Self.form(request)
            try Self.checkOrigin(request)
            guard let token = fields["csrf"], ConsoleToken.matches(token, session.csrfToken) else {
                logger.warning("console form refused: CSRF token", metadata: ["operator": "\(session.account.id)", "path": "\(request.uri.path)"])
                throw OpenPhnError(.csrfRejected, "This form did not carry the session's CSRF token; reload the page and try again.")
            }
            if acting, !session.account.mayAct {
                throw OpenPhnError(.roleRequired, "A viewer cannot act on calls; an operator or an admin can.", details: ["role": "operator"])
            }
            return try await body(session, fields)
        } catch {
            return failure(problem(error, request), request, session: session)
        }
    }

    /// A form's fields (`application/x-www-form-urlencoded`, at most 16 KiB; a field twice keeps its first value).
    static func form(_ request: Request) async throws -> [String: String] {
        guard let body = try? await request.body.collect(upTo: 16 * 1024) else {
            throw OpenPhnError(.invalidRequest, "The form is larger than 16 KiB.")
        }
        var fields: [String: String] = [:]
        for (name, value) in FormEncoding.decode(String(buffer: body)) where fields[name] == nil { fields[name] = value }
        return fields
    }

    /// A form sent from another origin is refused even with a token (browsers send `Origin` on every POST): its host
    /// must be the request's own.
    static func checkOrigin(_ request: Request) throws {
        guard let origin = request.headers[.origin] else { return }
        let host = request.head.authority ?? ""
        guard let originHost = URLComponents(string: origin).map({ [$0.host, $0.port.map(String.init)].compactMap { $0 }.joined(separator: ":") }),
              !host.isEmpty, originHost.lowercased() == host.lowercased()
        else { throw OpenPhnError(.csrfRejected, "This form was sent from another site (Origin \(origin.prefix(80))).") }
    }
}
