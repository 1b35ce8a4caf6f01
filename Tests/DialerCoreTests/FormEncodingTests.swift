import Foundation
import Testing

@testable import DialerCore

@Suite("Form encoding")
struct FormEncodingTests {
    @Test("form encoding keeps the + of E.164 and round-trips")
    func form() {
        let encoded = FormEncoding.encode([("To", "+14155551234"), ("Url", "http://x/y?job=1&attempt=2"), ("Note", "a b")])
        #expect(encoded == "To=%2B14155551234&Url=http%3A%2F%2Fx%2Fy%3Fjob%3D1%26attempt%3D2&Note=a%20b")
        let decoded = FormEncoding.decode(encoded)
        #expect(decoded.map(\.0) == ["To", "Url", "Note"])
        #expect(decoded.map(\.1) == ["+14155551234", "http://x/y?job=1&attempt=2", "a b"])
        // Every other byte as two upper-case hex digits, UTF-8 byte by byte.
        #expect(FormEncoding.escape("é\n~-._*") == "%C3%A9%0A~-._%2A")
        #expect(FormEncoding.decode(FormEncoding.encode([("Ω", "\u{1F600}\t")])).map { [$0.0, $0.1] } == [["Ω", "\u{1F600}\t"]])
    }

    @Test("decoding: + is a space, a broken escape stays as it came, empty pairs are skipped, = after the first is the value's")
    func decodingEdges() {
        func pairs(_ body: String) -> [[String]] { FormEncoding.decode(body).map { [$0.0, $0.1] } }
        #expect(pairs("a=1+2&&b&=x&c=d=e") == [["a", "1 2"], ["b", ""], ["", "x"], ["c", "d=e"]])
        #expect(pairs("p=100%&q=%4&r=%zz1&s=%%41") == [["p", "100%"], ["q", "%4"], ["r", "%zz1"], ["s", "%A"]])
        #expect(pairs("%26=%3D&%C3%A9=%e2%82%ac") == [["&", "="], ["é", "€"]])
        #expect(pairs("") == [])
        #expect(pairs("&&") == [])
        // Bytes that are not UTF-8 become replacement characters rather than failing the request.
        #expect(pairs("x=%FF") == [["x", "\u{FFFD}"]])
    }
}
