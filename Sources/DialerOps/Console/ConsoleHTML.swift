import DialerCore
import Foundation

/// The console's HTML: escaping, and the page every view sits in (header, navigation, sign-out form). Server-rendered,
/// no build step, no third-party script; the stylesheet and the little script are served by ``ConsoleRoute`` from
/// this module's own strings, so the Content-Security-Policy can forbid everything else.
enum ConsoleHTML {
    /// Text made safe for an HTML element's content and for a quoted attribute's value.
    static func escape(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        for character in text {
            switch character {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            default: out.append(character)
            }
        }
        return out
    }

    /// A path segment made safe inside a URL (ids are checked already; this keeps a hostile one inert anyway).
    static func segment(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .alphanumerics.union(CharacterSet(charactersIn: "-._~"))) ?? ""
    }

    /// `1,204`.
    static func count(_ value: Int) -> String {
        let digits = String(abs(value))
        var out = ""
        for (index, digit) in digits.enumerated() {
            if index > 0, (digits.count - index) % 3 == 0 { out += "," }
            out.append(digit)
        }
        return value < 0 ? "-" + out : out
    }

    /// A hidden field with the session's CSRF token: every form that changes something carries it.
    static func csrfField(_ session: ConsoleSession) -> String {
        #"<input type="hidden" name="csrf" value="\#(escape(session.csrfToken))">"#
    }

    /// A whole page. `live` names the server-sent events stream the page's script follows (nil: a static page).
    static func page(title: String, session: ConsoleSession?, current: String = "", live: String? = nil, body: String) -> String {
        var nav = ""
        if let session {
            var links = [("campaigns", "/console", "Campaigns"), ("subaccounts", "/console/subaccounts", "Subaccounts")]
            if session.account.tenantID == nil { links.append(("workers", "/console/workers", "Workers")) }
            links.append(("audit", "/console/audit", "Audit"))
            let items = links.map { key, href, label in
                #"<li><a href="\#(href)"\#(key == current ? #" aria-current="page""# : "")>\#(label)</a></li>"#
            }.joined()
            let scope = session.account.tenantID.map { "tenant " + escape($0) } ?? "all tenants"
            nav = """
                <nav aria-label="Console"><ul>\(items)</ul></nav>
                <div class="who"><span>\(escape(session.account.id)) · \(session.account.role.rawValue) · \(scope)</span>
                <form method="post" action="/console/logout">\(csrfField(session))<button type="submit">Sign out</button></form></div>
                """
        }
        let liveAttribute = live.map { #" data-live="\#(escape($0))""# } ?? ""
        return """
            <!doctype html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>\(escape(title)) · OpenPhn console</title>
            <link rel="stylesheet" href="/console/assets/console.css">
            <script src="/console/assets/console.js" defer></script>
            </head>
            <body\(liveAttribute)>
            <a class="skip" href="#main">Skip to content</a>
            <header><a class="brand" href="/console">OpenPhn console</a>\(nav)</header>
            <main id="main" tabindex="-1">
            \(body)
            </main>
            </body>
            </html>
            """
    }

    /// An error page: the contract's code, status and message, for a person (the JSON shape is for programs).
    static func errorPage(_ error: OpenPhnError, session: ConsoleSession?) -> String {
        page(title: "Error", session: session, body: """
            <h1>\(error.httpStatus == 403 ? "Not allowed" : "Something went wrong")</h1>
            <p class="error" role="alert" data-error="\(error.error.rawValue)"><strong>\(error.error.rawValue)</strong>: \(escape(error.message))</p>
            <p><a href="/console">Back to the campaigns</a></p>
            """)
    }
}
