@testable import DialerCore
import Testing

/// Expected signatures were computed independently with Python's hmac, hashlib and base64 (the algorithm of
/// twilio-python's `RequestValidator.compute_signature`), not with this code.
@Suite("X-Twilio-Signature")
struct TwilioSignatureTests {
    static let docURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
    static let docParameters = [
        ("CallSid", "CA1234567890ABCDE"), ("Caller", "+12349013030"), ("Digits", "1234"), ("From", "+12349013030"), ("To", "+18005551212"),
    ]

    @Test("Twilio's documented example signs to its documented signature")
    func documentedExample() {
        #expect(TwilioSignature.signature(url: Self.docURL, parameters: Self.docParameters, authToken: "12345") == "0/KCTR6DLpKmkAf8muzZqo1nDgQ=")
        #expect(TwilioSignature.isValid(signature: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: Self.docURL, parameters: Self.docParameters,
                                        authToken: "12345"))
    }

    @Test("parameter order does not matter; a repeated name contributes each distinct value once, in byte order")
    func repeatedNames() {
        let url = "http://127.0.0.1:8080/status?job=42&attempt=1"
        let parameters = [
            ("StatusCallbackEvent", "ringing"), ("CallStatus", "completed"), ("StatusCallbackEvent", "initiated"), ("StatusCallbackEvent", "ringing"),
            ("AccountSid", "AC0123"),
        ]
        #expect(TwilioSignature.signature(url: url, parameters: parameters, authToken: "s3cr3t") == "xjGlt4wTVGh0uWlXIblXNoCh/Ik=")
        #expect(TwilioSignature.signature(url: url, parameters: parameters.reversed(), authToken: "s3cr3t") == "xjGlt4wTVGh0uWlXIblXNoCh/Ik=")
    }

    @Test("names sort by bytes (upper case before '_' before lower case) and UTF-8 text is signed as UTF-8")
    func byteOrderAndUTF8() {
        let parameters = [("b", "1"), ("Z", "2"), ("a", "Zoë"), ("_", "x")]
        let signature = TwilioSignature.signature(url: "https://example.com/cb", parameters: parameters, authToken: "tökén")
        #expect(signature == "2ZiE+CE4OfhCiruYlGK2jbyjYlo=")
    }

    @Test("a GET callback signs the URL alone")
    func getSignsURLOnly() {
        let url = "http://localhost/status?CallSid=CA1&CallStatus=in-progress"
        #expect(TwilioSignature.signature(url: url, parameters: [], authToken: "tok") == "cwXI9V0gskGunopMt7Adnoj25+E=")
    }

    @Test("the URL is accepted with and without its default port, whichever way Twilio signed it")
    func defaultPort() {
        let withoutPort = "https://example.com/status?job=1", withPort = "https://example.com:443/status?job=1"
        let parameters = [("CallSid", "CA1")]
        #expect(TwilioSignature.signature(url: withoutPort, parameters: parameters, authToken: "tok") == "iTyWMcZ9dgpZBohpVHovAWE9DTQ=")
        #expect(TwilioSignature.signature(url: withPort, parameters: parameters, authToken: "tok") == "ZCVOMo04P8VqYIXy3zWG9E38urU=")
        for url in [withoutPort, withPort] {
            #expect(TwilioSignature.isValid(signature: "iTyWMcZ9dgpZBohpVHovAWE9DTQ=", url: url, parameters: parameters, authToken: "tok"))
            #expect(TwilioSignature.isValid(signature: "ZCVOMo04P8VqYIXy3zWG9E38urU=", url: url, parameters: parameters, authToken: "tok"))
        }
        // Another port is another URL.
        #expect(!TwilioSignature.isValid(signature: "iTyWMcZ9dgpZBohpVHovAWE9DTQ=", url: "https://example.com:8443/status?job=1",
                                         parameters: parameters, authToken: "tok"))
    }

    @Test("the default-port variants keep userinfo, IPv6 literals and non-default ports right")
    func urlVariants() {
        #expect(TwilioSignature.urlVariants("http://u:p@[::1]/cb?x=1") == ["http://u:p@[::1]/cb?x=1", "http://u:p@[::1]:80/cb?x=1"])
        #expect(TwilioSignature.urlVariants("http://[::1]:80") == ["http://[::1]:80", "http://[::1]"])
        #expect(TwilioSignature.urlVariants("http://127.0.0.1:8080/cb") == ["http://127.0.0.1:8080/cb"])
        #expect(TwilioSignature.urlVariants("https://example.com") == ["https://example.com", "https://example.com:443"])
    }

    @Test("a tampered parameter, URL, token or signature fails validation")
    func tampering() {
        let signature = "0/KCTR6DLpKmkAf8muzZqo1nDgQ="
        var tampered = Self.docParameters
        tampered[3] = ("From", "+12349013031")
        #expect(!TwilioSignature.isValid(signature: signature, url: Self.docURL, parameters: tampered, authToken: "12345"))
        #expect(!TwilioSignature.isValid(signature: signature, url: Self.docURL, parameters: Self.docParameters + [("Extra", "1")],
                                         authToken: "12345"))
        #expect(!TwilioSignature.isValid(signature: signature, url: Self.docURL + "&baz=3", parameters: Self.docParameters, authToken: "12345"))
        #expect(!TwilioSignature.isValid(signature: signature, url: Self.docURL, parameters: Self.docParameters, authToken: "12346"))
        #expect(!TwilioSignature.isValid(signature: "1/KCTR6DLpKmkAf8muzZqo1nDgQ=", url: Self.docURL, parameters: Self.docParameters,
                                         authToken: "12345"))
        #expect(!TwilioSignature.isValid(signature: "", url: Self.docURL, parameters: Self.docParameters, authToken: "12345"))
    }
}
