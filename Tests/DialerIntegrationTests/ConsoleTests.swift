import AsyncHTTPClient
import DialerCore
import DialerOps
import Foundation
import NIOCore
import NIOHTTP1
import PostgresNIO
import Testing

/// The operator console of `dialer serve` over real HTTP against PostgreSQL: sign-in with the scrypt hash, session
/// cookies, CSRF, roles, the two-step controls and their audit. (The browser's view of it is `ops/console-test`.)
@Suite("Operator console")
struct ConsoleTests {
    /// A browser's worth of HTTP: keeps cookies, follows no redirect (the tests read each 303).
    final class Browser: @unchecked Sendable {
        let base: String
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))
        private let lock = NSLock()
        private var cookies: [String: String] = [:]

        init(base: String) { self.base = base }
        deinit { try? client.syncShutdown() }

        struct Page {
            let status: Int
            let body: String
            let headers: HTTPHeaders
            var location: String? { headers.first(name: "Location") }
            /// The value of the first hidden `csrf` field.
            var csrf: String? {
                guard let range = body.range(of: #"name="csrf" value=""#) else { return nil }
                return String(body[range.upperBound...].prefix { $0 != "\"" })
            }
            var errorCode: String? {
                guard let range = body.range(of: #"data-error=""#) else { return nil }
                return String(body[range.upperBound...].prefix { $0 != "\"" })
            }
        }

        func cookie(_ name: String) -> String? { lock.withLock { cookies[name] } }
        func setCookie(_ name: String, _ value: String) { lock.withLock { cookies[name] = value } }

        func get(_ path: String) async throws -> Page { try await send(.GET, path) }

        func post(_ path: String, _ fields: [(String, String)], origin: String? = nil) async throws -> Page {
            try await send(.POST, path, fields: fields, origin: origin)
        }

        func send(_ method: HTTPMethod, _ path: String, fields: [(String, String)]? = nil, origin: String? = nil) async throws -> Page {
            var request = HTTPClientRequest(url: base + path)
            request.method = method
            let jar = lock.withLock { cookies }
            if !jar.isEmpty { request.headers.add(name: "Cookie", value: jar.map { "\($0.key)=\($0.value)" }.joined(separator: "; ")) }
            if let origin { request.headers.add(name: "Origin", value: origin) }
            if let fields {
                request.headers.add(name: "Content-Type", value: "application/x-www-form-urlencoded")
                request.body = .bytes(ByteBuffer(string: FormEncoding.encode(fields)))
            }
            let response = try await client.execute(request, timeout: TestServer.clientTimeout)
            for header in response.headers["Set-Cookie"] {
                let pair = header.split(separator: ";")[0].split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                guard pair.count == 2 else { continue }
                let (name, value) = (String(pair[0]), String(pair[1]))
                lock.withLock { if value.isEmpty || header.contains("Max-Age=0") { cookies[name] = nil } else { cookies[name] = value } }
            }
            return Page(status: Int(response.status.code), body: String(buffer: try await response.body.collect(upTo: 1 << 22)), headers: response.headers)
        }

        /// Signs in through the form, as a person would.
        @discardableResult
        func signIn(_ name: String, _ password: String) async throws -> Page {
            let form = try await get("/console/login")
            return try await post("/console/login", [("csrf", form.csrf ?? ""), ("operator", name), ("password", password)])
        }
    }

    static let password = "correct horse battery"
    /// The session cookie's name (the console's `ConsoleRoute.cookieName`).
    static let cookieName = "openphn_console"

    /// An account whose hash is cheap (2^12): sign-in re-hashes it with the current parameters.
    static func account(_ store: JobStore, _ id: String, _ role: OperatorRole, tenant: String? = nil) async throws {
        try await store.addOperator(ConsoleOperator(id: id, tenantID: tenant, role: role),
                                    passwordHash: try PasswordHash(logN: 12, blockSize: 8, parallelism: 1).hash(password), by: "test")
    }

    static func withConsole(_ body: @Sendable (JobStore, String) async throws -> Void) async throws {
        try await TestDatabase.withStore { store, _ in
            try await Fixture.tenant(store)
            try await Fixture.tenant(store, id: "globex")
            _ = try await store.enqueue(try Fixture.destinations(4).map { try CallOutcomeTests.request($0, campaign: "spring") })
            try await StatusCallbackReceiverTests.withServer(store, callbackURL: "http://127.0.0.1/twilio/status") { base in
                try await body(store, base)
            }
        }
    }

    @Test("sign-in sets an HttpOnly SameSite=Strict session cookie scoped to /console, re-hashes an old hash, and is audited")
    func signIn() async throws {
        try await Self.withConsole { store, base in
            try await Self.account(store, "alice", .operator)
            let browser = Browser(base: base)
            #expect(try await browser.get("/console").location == "/console/login")
            let login = try await browser.get("/console/login")
            #expect(login.headers.first(name: "Content-Security-Policy")?.contains("default-src 'none'") == true)
            #expect(login.headers.first(name: "X-Frame-Options") == "DENY")
            let signedIn = try await browser.post("/console/login", [("csrf", login.csrf ?? ""), ("operator", "alice"), ("password", Self.password)])
            #expect(signedIn.status == 303 && signedIn.location == "/console")
            let cookie = try #require(signedIn.headers["Set-Cookie"].first { $0.hasPrefix(Self.cookieName + "=") })
            #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/console") && !cookie.contains("Secure"))
            let page = try await browser.get("/console")
            #expect(page.status == 200 && page.body.contains(#"data-campaign="acme/spring""#))
            #expect(page.body.contains(#"<td data-field="remaining">4</td>"#))
            // Only the cookie's SHA-256 is stored; the old 2^12 hash became a 2^17 one.
            let value = try #require(browser.cookie(Self.cookieName))
            #expect(try await store.scalar("SELECT count(*)::bigint FROM console_sessions s WHERE position(\(value) in s::text) > 0") == 0)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM operators WHERE id = 'alice' AND password_hash LIKE '$scrypt$ln=17,%'") == 1)
            #expect(try await store.auditLog(tenant: "acme").isEmpty)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM audit_log WHERE action = 'signin' AND actor = 'console:alice'") == 1)
        }
    }

    @Test("a wrong password and an unknown name get the same signin_failed; five wrong in a row lock the account (rate_limited)")
    func wrongPasswords() async throws {
        try await Self.withConsole { store, base in
            try await Self.account(store, "bob", .viewer)
            let browser = Browser(base: base)
            let unknown = try await browser.signIn("nobody", Self.password)
            #expect(unknown.status == 401 && unknown.errorCode == "signin_failed")
            for _ in 0..<5 {
                let wrong = try await browser.signIn("bob", "not the password at all")
                #expect(wrong.status == 401 && wrong.errorCode == "signin_failed" && wrong.body.contains(unknown.body.components(separatedBy: "data-error")[1].prefix(60)))
            }
            let locked = try await browser.signIn("bob", Self.password)
            #expect(locked.status == 429 && locked.errorCode == "rate_limited" && locked.headers.first(name: "Retry-After") != nil)
            #expect(browser.cookie(Self.cookieName) == nil)
            // The sign-in form itself needs its double-submit token.
            let forged = try await Browser(base: base).post("/console/login", [("csrf", "x"), ("operator", "bob"), ("password", Self.password)])
            #expect(forged.status == 403 && forged.errorCode == "csrf_rejected")
        }
    }

    @Test("pause goes through a dry-run preview and a confirmation, parks the campaign's jobs, and is audited with the operator")
    func pauseWithPreview() async throws {
        try await Self.withConsole { store, base in
            try await Self.account(store, "alice", .operator)
            let browser = Browser(base: base)
            try await browser.signIn("alice", Self.password)
            let page = try await browser.get("/console/campaigns/acme/spring")
            let csrf = try #require(page.csrf)
            let preview = try await browser.post("/console/campaigns/acme/spring/pause", [("csrf", csrf)])
            #expect(preview.status == 200 && preview.body.contains("about 4 waiting jobs are parked"))
            #expect(try await CampaignAPITests.counted(store, campaign: "spring")["queued"] == 4)
            let done = try await browser.post("/console/campaigns/acme/spring/pause", [("csrf", csrf), ("confirm", "yes"), ("reason", "carrier complaint")])
            #expect(done.status == 303 && done.location == "/console/campaigns/acme/spring?done=pause-4")
            #expect(try await CampaignAPITests.counted(store, campaign: "spring")["paused"] == 4)
            let entry = try #require(try await store.auditLog(tenant: "acme").first)
            #expect(entry.action == "pause" && entry.actor == "console:alice" && entry.affected == 4 && entry.source == "carrier complaint")
            let after = try await browser.get(try #require(done.location))
            #expect(after.body.contains("Paused: 4 jobs parked.") && after.body.contains(#"data-field="status">paused"#))
            // Cancel: the preview counts, the confirmation cancels, the audit names the operator.
            let cancelPreview = try await browser.post("/console/campaigns/acme/spring/cancel", [("csrf", csrf)])
            #expect(cancelPreview.body.contains("This will cancel 4 waiting jobs."))
            _ = try await browser.post("/console/campaigns/acme/spring/cancel", [("csrf", csrf), ("confirm", "yes")])
            #expect(try await CampaignAPITests.counted(store, campaign: "spring")["cancelled"] == 4)
            #expect(try await store.auditLog(tenant: "acme").first.map { [$0.action, $0.actor] } == ["cancel", "console:alice"])
        }
    }

    @Test("refused without changing anything: no session, no CSRF token, a wrong one, another origin, a viewer, another tenant's campaign")
    func refusals() async throws {
        try await Self.withConsole { store, base in
            try await Self.account(store, "alice", .operator)
            try await Self.account(store, "vic", .viewer, tenant: "acme")
            try await Self.account(store, "gina", .admin, tenant: "globex")
            let path = "/console/campaigns/acme/spring/pause"
            let anonymous = try await Browser(base: base).post(path, [("csrf", "x"), ("confirm", "yes")])
            #expect(anonymous.status == 401 && anonymous.errorCode == "signin_required")
            let alice = Browser(base: base)
            try await alice.signIn("alice", Self.password)
            let csrf = try #require(try await alice.get("/console/campaigns/acme/spring").csrf)
            for (fields, origin) in [([("confirm", "yes")], nil), ([("csrf", "wrong"), ("confirm", "yes")], nil),
                                     ([("csrf", csrf), ("confirm", "yes")], "https://evil.example")] as [([(String, String)], String?)] {
                let refused = try await alice.post(path, fields, origin: origin)
                #expect(refused.status == 403 && refused.errorCode == "csrf_rejected", "\(fields) \(String(describing: origin))")
            }
            let viewer = Browser(base: base)
            try await viewer.signIn("vic", Self.password)
            let viewerPage = try await viewer.get("/console/campaigns/acme/spring")
            #expect(viewerPage.status == 200 && !viewerPage.body.contains("/spring/pause"))
            let viewerPost = try await viewer.post(path, [("csrf", try #require(viewerPage.csrf)), ("confirm", "yes")])
            #expect(viewerPost.status == 403 && viewerPost.errorCode == "role_required")
            let other = Browser(base: base)
            try await other.signIn("gina", Self.password)
            #expect(try await other.get("/console/campaigns/acme/spring").status == 404)
            #expect(try await other.get("/console").body.contains("acme/spring") == false)
            #expect(try await CampaignAPITests.counted(store, campaign: "spring")["queued"] == 4)
            #expect(try await store.scalar("SELECT count(*)::bigint FROM queue_pauses") == 0)
        }
    }

    @Test("a call's page tells its story with the number masked, whole for an admin; another tenant's call is 404")
    func callPage() async throws {
        try await Self.withConsole { store, base in
            try await Self.account(store, "vic", .viewer, tenant: "acme")
            try await Self.account(store, "ada", .admin)
            try await Self.account(store, "gina", .admin, tenant: "globex")
            let job = try await store.enqueue([try CallOutcomeTests.request("+14155557788", campaign: "spring")])[0].jobID
            _ = try await store.cancel(.jobs([job]), by: "operator:test")
            let viewer = Browser(base: base)
            try await viewer.signIn("vic", Self.password)
            let page = try await viewer.get("/console/calls/\(job)")
            #expect(page.status == 200 && page.body.contains("+1415555****") && !page.body.contains("+14155557788"))
            #expect(page.body.contains("<td>operator</td><td>cancelled</td>"), "the operator's cancel is in the story")
            #expect(try await viewer.get("/console/calls?id=\(job)").location == "/console/calls/\(job)")
            let admin = Browser(base: base)
            try await admin.signIn("ada", Self.password)
            #expect(try await admin.get("/console/calls/\(job)").body.contains("+14155557788"))
            let other = Browser(base: base)
            try await other.signIn("gina", Self.password)
            #expect(try await other.get("/console/calls/\(job)").status == 404)
            #expect(try await viewer.get("/console/calls/abc").status == 404)
        }
    }

    @Test("logout ends the session: the same cookie opens nothing afterwards, and a disabled account's sessions end at once")
    func logout() async throws {
        try await Self.withConsole { store, base in
            try await Self.account(store, "alice", .operator)
            try await Self.account(store, "bob", .operator)
            let browser = Browser(base: base)
            try await browser.signIn("alice", Self.password)
            let stolen = try #require(browser.cookie(Self.cookieName))
            let page = try await browser.get("/console")
            let out = try await browser.post("/console/logout", [("csrf", try #require(page.csrf))])
            #expect(out.status == 303 && out.location == "/console/login" && browser.cookie(Self.cookieName) == nil)
            let replay = Browser(base: base)
            replay.setCookie(Self.cookieName, stolen)
            #expect(try await replay.get("/console").location == "/console/login")
            let bob = Browser(base: base)
            try await bob.signIn("bob", Self.password)
            #expect(try await bob.get("/console").status == 200)
            try await store.setOperator("bob", disabled: true, by: "test")
            #expect(try await bob.get("/console").location == "/console/login")
            #expect(try await bob.signIn("bob", Self.password).errorCode == "signin_failed")
        }
    }
}
