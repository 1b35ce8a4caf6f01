import Foundation

/// A credential that never prints: `description` and `debugDescription` are redacted, so it cannot leak into logs.
public struct Secret: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    public let value: String
    public init(_ value: String) { self.value = value }
    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
}

/// How the worker reaches Twilio's Create Call endpoint. Its description shows where and as whom, never the secret.
public struct TwilioConfiguration: Sendable, Hashable, CustomStringConvertible, CustomDebugStringConvertible {
    /// `https://api.twilio.com` in production; the fake's loopback address in tests and the demo. No trailing slash.
    public var baseURL: String
    /// HTTP Basic user: the platform's account SID (`AC...`) or an API key SID (`SK...`).
    public var username: String
    /// HTTP Basic password: the auth token or the API key secret.
    public var secret: Secret
    /// TwiML URL Twilio fetches when the call connects (the AI agent); `job` and `attempt` are appended to its query.
    public var voiceURL: String
    /// Status callback URL; `job` and `attempt` are appended so every callback traces back to its attempt.
    public var statusCallbackURL: String?
    public var connectTimeout: Duration
    /// The whole request, connect included. A request cut off by it may still have placed the call.
    public var requestTimeout: Duration
    /// Most connections kept open to Twilio.
    public var maxConnections: Int
    /// Calls per page when reconciliation reads Twilio's calls (`PageSize`; Twilio's default 50, its maximum 1,000).
    public var callListPageSize = 50
    /// Most pages one reconciliation reads; a window longer than that is asked about again later, never taken as empty.
    public var callListMaxPages = 20

    public init(
        baseURL: String = "https://api.twilio.com", username: String, secret: Secret, voiceURL: String, statusCallbackURL: String? = nil,
        connectTimeout: Duration = .seconds(5), requestTimeout: Duration = .seconds(15), maxConnections: Int = 64
    ) {
        self.baseURL = baseURL.hasSuffix("/") ? String(baseURL.dropLast()) : baseURL
        self.username = username
        self.secret = secret
        self.voiceURL = voiceURL
        self.statusCallbackURL = statusCallbackURL
        self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout
        self.maxConnections = maxConnections
    }

    public var description: String { "TwilioConfiguration(baseURL: \(baseURL), username: \(username), secret: \(secret))" }
    public var debugDescription: String { description }

    /// Whether `baseURL` points at this machine (the fake Twilio): what simulated clocks and benchmarks require.
    public var isLoopback: Bool {
        guard let host = URLComponents(string: baseURL)?.host else { return false }
        return ["127.0.0.1", "localhost", "::1", "[::1]"].contains(host)
    }
}

/// `application/x-www-form-urlencoded` as Twilio reads it: everything but unreserved characters is percent-encoded, so
/// the `+` of an E.164 number is sent as `%2B` and never turns into a space.
public enum FormEncoding {
    public static func encode(_ fields: [(String, String)]) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 } * 3 / 2)
        for (i, (name, value)) in fields.enumerated() {
            if i > 0 { bytes.append(UInt8(ascii: "&")) }
            append(name, to: &bytes)
            bytes.append(UInt8(ascii: "="))
            append(value, to: &bytes)
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    public static func escape(_ text: String) -> String {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(text.utf8.count * 3 / 2)
        append(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends `text` percent-encoded (one pass over its bytes: this runs for every field of every dial).
    private static func append(_ text: String, to bytes: inout [UInt8]) {
        let hex: StaticString = "0123456789ABCDEF"
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                bytes.append(byte)
            default:
                bytes.append(UInt8(ascii: "%"))
                bytes.append(hex.utf8Start[Int(byte >> 4)])
                bytes.append(hex.utf8Start[Int(byte & 0x0F)])
            }
        }
    }

    /// Decodes a form body into fields, in order (`+` is a space, `%XX` a byte; a `%` without two hex digits after it is
    /// kept as it is). One pass over the body's bytes: `dialer serve` decodes every status callback.
    public static func decode(_ body: String) -> [(String, String)] {
        var fields: [(String, String)] = []
        var name: [UInt8] = [], value: [UInt8] = []
        var inValue = false, any = false
        func finish() {
            if any { fields.append((String(decoding: name, as: UTF8.self), String(decoding: value, as: UTF8.self))) }
            name.removeAll(keepingCapacity: true)
            value.removeAll(keepingCapacity: true)
            inValue = false
            any = false
        }
        var utf8 = body.utf8.makeIterator()
        var lookahead: [UInt8] = []
        func next() -> UInt8? { lookahead.isEmpty ? utf8.next() : lookahead.removeFirst() }
        while let byte = next() {
            switch byte {
            case UInt8(ascii: "&"):
                finish()
                continue
            case UInt8(ascii: "=") where !inValue:
                inValue = true
                any = true
                continue
            default:
                break
            }
            any = true
            var decoded = byte
            if byte == UInt8(ascii: "+") {
                decoded = UInt8(ascii: " ")
            } else if byte == UInt8(ascii: "%") {
                let h = next(), l = h == nil ? nil : next()
                if let h, let l, let high = hexValue(h), let low = hexValue(l) {
                    decoded = high << 4 | low
                } else {
                    // Not an escape: the `%` stands, and the bytes read after it are read again as themselves.
                    lookahead = [h, l].compactMap { $0 } + lookahead
                }
            }
            if inValue { value.append(decoded) } else { name.append(decoded) }
        }
        finish()
        return fields
    }

    private static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }
}
