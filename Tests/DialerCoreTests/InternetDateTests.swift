import Foundation
import Testing

@testable import DialerCore

@Suite("Header dates read by hand")
struct InternetDateTests {
    static func formatter(_ format: String) -> DateFormatter {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = format
        return formatter
    }

    @Test("agrees with DateFormatter on Twilio's Timestamp and on IMF-fixdate", arguments: [
        "Sun, 25 Mar 2018 09:53:19 +0000", "Wed, 02 Dec 2026 18:00:00 -0500", "Mon, 29 Feb 2016 23:59:59 +1345",
        "Thu, 01 Jan 1970 00:00:00 +0000", "Tue, 31 Dec 2999 12:30:45 -0930",
    ])
    func twilio(_ text: String) throws {
        let expected = try #require(Self.formatter("EEE, dd MMM yyyy HH:mm:ss Z").date(from: text))
        #expect(InternetDate.parse(text) == expected)
        #expect(TwilioClient.rfc2822(text) == expected)
    }

    @Test("IMF-fixdate in GMT, and a one-digit day")
    func fixdate() throws {
        let expected = try #require(Self.formatter("EEE, dd MMM yyyy HH:mm:ss zzz").date(from: "Sun, 06 Nov 1994 08:49:37 GMT"))
        #expect(InternetDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == expected)
        #expect(InternetDate.parse("Sun, 6 Nov 1994 08:49:37 UT") == expected)
        #expect(InternetDate.parse("6 Nov 1994 08:49:37 Z") == expected, "the weekday is optional (RFC 5322)")
        #expect(RetryAfter.httpDate("Sun, 06 Nov 1994 08:49:37 GMT") == expected)
    }

    @Test("refuses what is not a date", arguments: [
        "", "Sun, 30 Feb 2018 09:53:19 +0000", "Sun, 25 Mar 2018 24:00:00 +0000", "Sun, 25 Mar 2018 09:60:19 +0000",
        "Sun, 25 Mar 18 09:53:19 +0000", "Sun, 25 Mrz 2018 09:53:19 +0000", "Sun, 25 Mar 2018 09:53:19 +0070", "Sun, 25 Mar 2018 09:53:19",
        "Sun, 25 Mar 2018 09:53:19 +0000 trailing", "Sunday, 25 Mar 2018 09:53:19 +0000", "Sun 25 Mar 2018 09:53:19 +0000",
        "1522000000", "Sun, 25 Mar 2018 09:53:19 PST",
    ])
    func refuses(_ text: String) {
        #expect(InternetDate.parse(text) == nil)
    }

    @Test("the obsolete forms still go through DateFormatter")
    func obsolete() {
        #expect(RetryAfter.httpDate("Sunday, 06-Nov-94 08:49:37 GMT") != nil)
        #expect(RetryAfter.httpDate("Sun Nov  6 08:49:37 1994") != nil)
    }

    @Test("UTC instants are written as Foundation's ISO 8601 formatter writes them, whole seconds, before and after 1970")
    func utcInstants() {
        let foundation = ISO8601DateFormatter()
        var instants: [Double] = [0, -1, 951_782_400, 951_868_799, 1_798_761_599, 4_107_542_399, -2_208_988_800, 253_402_300_799]
        var seed: UInt64 = 7
        for _ in 0..<2_000 {
            seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            instants.append(Double(Int64(bitPattern: seed >> 1) % 8_000_000_000) - 1_000_000_000)
        }
        for seconds in instants {
            let date = Date(timeIntervalSince1970: seconds)
            #expect(UTCInstant.string(date) == foundation.string(from: date), "\(seconds)")
        }
        #expect(UTCInstant.string(Date(timeIntervalSince1970: 1_764_600_000.9)) == "2025-12-01T14:40:00Z")
        #expect(DialGate.iso(Date(timeIntervalSince1970: 951_782_400)) == "2000-02-29T00:00:00Z")
    }
}
