import Crypto
import Foundation

/// Twilio's `X-Twilio-Signature` on form-encoded webhooks such as status callbacks (twilio.md section 5.3), so whoever
/// receives them can tell Twilio's requests from forgeries.
///
/// The signed text is the full URL Twilio requested (query left encoded), then each POST parameter's name and value,
/// names in byte order and a repeated name's distinct values in byte order; the signature is the base64 HMAC-SHA1 of
/// it keyed by the account's auth token (never an API key secret). For a GET callback the parameters are in the URL and
/// nothing is appended.
public enum TwilioSignature {
    /// The signature Twilio sends for a request to `url` with form `parameters`.
    /// - Parameters:
    ///   - url: the URL exactly as configured in Twilio (scheme, host, port if any, path and query).
    ///   - parameters: the decoded form fields, repeated names included; empty for GET.
    ///   - authToken: the auth token of the account that owns the call.
    public static func signature(url: String, parameters: [(String, String)], authToken: String) -> String {
        signature(url: url, signedFields: signedFields(parameters), key: SymmetricKey(data: Data(authToken.utf8)))
    }

    /// The parameters' part of the signed text: each distinct (name, value) pair, name then value, in byte order of the
    /// name and then of the value (which is Twilio's order: names sorted, a repeated name's values sorted).
    public static func signedFields(_ parameters: [(String, String)]) -> [UInt8] {
        let pairs = parameters.map { (Array($0.0.utf8), Array($0.1.utf8)) }.sorted { a, b in
            a.0 == b.0 ? a.1.lexicographicallyPrecedes(b.1) : a.0.lexicographicallyPrecedes(b.0)
        }
        var text: [UInt8] = []
        text.reserveCapacity(pairs.reduce(0) { $0 + $1.0.count + $1.1.count })
        var previous: ([UInt8], [UInt8])?
        for pair in pairs where previous.map({ $0.0 != pair.0 || $0.1 != pair.1 }) ?? true {
            text += pair.0
            text += pair.1
            previous = pair
        }
        return text
    }

    static func signature(url: String, signedFields: [UInt8], key: SymmetricKey) -> String {
        var hmac = HMAC<Insecure.SHA1>(key: key)
        hmac.update(data: Array(url.utf8))
        hmac.update(data: signedFields)
        return Data(hmac.finalize()).base64EncodedString()
    }

    /// Whether `signature` is Twilio's for this request. The URL is tried as given and with its default port added or
    /// removed (`:443` for https, `:80` for http), as Twilio's own validators do, since Twilio is not consistent about
    /// it. The comparison takes the same time wherever the signatures differ.
    public static func isValid(signature: String, url: String, parameters: [(String, String)], authToken: String) -> Bool {
        isValid(signature: signature, url: url, signedFields: signedFields(parameters), authToken: authToken)
    }

    /// ``isValid(signature:url:parameters:authToken:)`` with the parameters' part of the signed text made already
    /// (``signedFields(_:)``), for a request checked against more than one token.
    public static func isValid(signature: String, url: String, signedFields fields: [UInt8], authToken: String) -> Bool {
        var valid = false
        let key = SymmetricKey(data: Data(authToken.utf8))
        for candidate in urlVariants(url) {
            // No early exit: every variant is compared.
            valid = constantTimeEqual(Self.signature(url: candidate, signedFields: fields, key: key), signature) || valid
        }
        return valid
    }

    /// `url`, and the same URL with its default port toggled when it has none or has the default one.
    static func urlVariants(_ url: String) -> [String] {
        guard let schemeEnd = url.range(of: "://") else { return [url] }
        let scheme = url[..<schemeEnd.lowerBound].lowercased()
        guard let defaultPort = ["https": "443", "http": "80"][scheme] else { return [url] }
        let authorityStart = schemeEnd.upperBound
        let authorityEnd = url[authorityStart...].firstIndex(where: { $0 == "/" || $0 == "?" || $0 == "#" }) ?? url.endIndex
        let authority = url[authorityStart..<authorityEnd]
        // The port follows the host: after the last ':' that is outside an IPv6 literal's brackets and after any userinfo.
        let hostStart = authority.lastIndex(of: "@").map { authority.index(after: $0) } ?? authority.startIndex
        let hostAndPort = authority[hostStart...]
        let searchFrom = hostAndPort.lastIndex(of: "]") ?? hostAndPort.startIndex
        let prefix = url[..<hostStart], suffix = url[authorityEnd...]
        if let colon = hostAndPort[searchFrom...].lastIndex(of: ":") {
            let port = hostAndPort[hostAndPort.index(after: colon)...]
            guard port == defaultPort else { return [url] }
            return [url, String(prefix) + String(hostAndPort[..<colon]) + String(suffix)]
        }
        return [url, String(prefix) + String(hostAndPort) + ":" + defaultPort + String(suffix)]
    }

    static func constantTimeEqual(_ a: String, _ b: String) -> Bool {
        let x = Array(a.utf8), y = Array(b.utf8)
        // The length of a signature is public (28 characters); only its bytes are compared in constant time.
        guard x.count == y.count else { return false }
        var difference: UInt8 = 0
        for i in x.indices { difference |= x[i] ^ y[i] }
        return difference == 0
    }

}
