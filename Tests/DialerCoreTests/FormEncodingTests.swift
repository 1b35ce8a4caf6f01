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
}
