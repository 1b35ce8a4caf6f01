import DialerCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging

/// Signing in and out. The sign-in form is protected against login CSRF by a double-submit token: a random value in a
/// short-lived cookie of its own (`HttpOnly`, `SameSite=Strict`) that the form must repeat.
extension ConsoleRoute {
    func loginPage(_ request: Request) async -> Response {
        if (try? await session(request)) != nil { return Self.redirect("/console") }
        let token = ConsoleToken.random()
        return Self.html(Self.loginHTML(token: token, error: nil), cookies: [cookie(Self.loginCookieName, token, maxAge: 900, path: "/console/login", request)])
    }

    func login(_ request: Request) async -> Response {
        let token = ConsoleToken.random()
        let fresh = cookie(Self.loginCookieName, token, maxAge: 900, path: "/console/login", request)
        do {
            let fields = try await Self.form(request)
            try Self.checkOrigin(request)
            guard let sent = fields["csrf"], let expected = Self.cookieValue(Self.loginCookieName, request), !expected.isEmpty,
                  ConsoleToken.matches(sent, expected)
            else {
                throw OpenPhnError(.csrfRejected, "The sign-in form was stale or sent from elsewhere; it has been reloaded, sign in again.")
            }
            let issued = try await signIns.signIn(name: fields["operator"] ?? "", password: fields["password"] ?? "",
                                                  userAgent: request.headers[.userAgent])
            let maxAge = Int(JobStore.consoleSessionLifetime.seconds)
            return Self.redirect("/console", cookies: [
                cookie(Self.cookieName, issued.cookie, maxAge: maxAge, request),
                cookie(Self.loginCookieName, "", maxAge: 0, path: "/console/login", request),
            ])
        } catch {
            let problem = problem(error, request)
            var response = Self.html(Self.loginHTML(token: token, error: problem), status: .init(code: problem.httpStatus), cookies: [fresh])
            if let retry = problem.details["retry_after_seconds"]?.intValue { response.headers[.retryAfter] = "\(retry)" }
            return response
        }
    }

    func logout(_ request: Request) async -> Response {
        await action(request, acting: false) { _, _ in
            if let value = Self.cookieValue(Self.cookieName, request) { try await store.endConsoleSession(cookie: value) }
            return Self.redirect("/console/login", cookies: [cookie(Self.cookieName, "", maxAge: 0, request)])
        }
    }

    static func loginHTML(token: String, error: OpenPhnError?) -> String {
        let message = error.map {
            #"<p class="error" role="alert" data-error="\#($0.error.rawValue)"><strong>\#($0.error.rawValue)</strong>: \#(ConsoleHTML.escape($0.message))</p>"#
        } ?? ""
        return ConsoleHTML.page(title: "Sign in", session: nil, body: """
            <h1>Sign in</h1>
            \(message)
            <form method="post" action="/console/login" class="signin">
            <input type="hidden" name="csrf" value="\(ConsoleHTML.escape(token))">
            <label for="operator">Operator name</label>
            <input id="operator" name="operator" autocomplete="username" required maxlength="64" autofocus>
            <label for="password">Password</label>
            <input id="password" name="password" type="password" autocomplete="current-password" required maxlength="256">
            <button type="submit">Sign in</button>
            </form>
            """)
    }
}
