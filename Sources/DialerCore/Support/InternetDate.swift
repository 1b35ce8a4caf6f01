import Foundation

/// The date of an Internet message header: `Sun, 25 Mar 2018 09:53:19 +0000` (RFC 5322, Twilio's callback `Timestamp`)
/// and `Sun, 06 Nov 1994 08:49:37 GMT` (RFC 9110's IMF-fixdate). Read by hand: a `DateFormatter` built per call took
/// 40% of `dialer serve`'s CPU on the callbacks path (measured with perf), and one shared is not safe across threads.
enum InternetDate {
    /// The instant `text` names, or `nil` unless it is `[Day, ]D[D] Mon YYYY HH:MM:SS ZONE` with ZONE `GMT`, `UT`,
    /// `UTC`, `Z` or `+hhmm`/`-hhmm`, and every field in range. The weekday is not checked against the date.
    static func parse(_ text: String) -> Date? {
        var reader = Reader(bytes: Array(text.utf8))
        reader.skipSpaces()
        if let first = reader.peek, first >= UInt8(ascii: "A") {
            guard let name = reader.letters(), weekdays.contains(name), reader.take(UInt8(ascii: ",")) else { return nil }
            reader.skipSpaces()
        }
        guard let day = reader.number(digits: 1...2), reader.takeSpaces(),
              let monthName = reader.letters(), let month = months.firstIndex(of: monthName).map({ $0 + 1 }), reader.takeSpaces(),
              let year = reader.number(digits: 4...4), reader.takeSpaces(),
              let hour = reader.number(digits: 2...2), reader.take(UInt8(ascii: ":")),
              let minute = reader.number(digits: 2...2), reader.take(UInt8(ascii: ":")),
              let second = reader.number(digits: 2...2), reader.takeSpaces(),
              let offset = reader.zoneOffset()
        else { return nil }
        reader.skipSpaces()
        guard reader.atEnd, (1...daysIn(month, of: year)).contains(day), hour < 24, minute < 60, second < 61 else { return nil }
        let days = HolidayCalendar.Day.daysFromCivil(year, month, day)
        let seconds = days * 86_400 + hour * 3_600 + minute * 60 + second - offset
        return Date(timeIntervalSince1970: TimeInterval(seconds))
    }

    private static let weekdays = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
    private static let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

    private static func daysIn(_ month: Int, of year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    private struct Reader {
        let bytes: [UInt8]
        var at = 0

        var atEnd: Bool { at == bytes.count }
        var peek: UInt8? { at < bytes.count ? bytes[at] : nil }

        mutating func take(_ byte: UInt8) -> Bool {
            guard peek == byte else { return false }
            at += 1
            return true
        }

        mutating func skipSpaces() { while peek == UInt8(ascii: " ") { at += 1 } }

        /// At least one space.
        mutating func takeSpaces() -> Bool {
            guard peek == UInt8(ascii: " ") else { return false }
            skipSpaces()
            return true
        }

        mutating func letters() -> String? {
            let start = at
            while let byte = peek, (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte) || (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) {
                at += 1
            }
            return at > start ? String(decoding: bytes[start..<at], as: UTF8.self) : nil
        }

        mutating func number(digits: ClosedRange<Int>) -> Int? {
            var value = 0, count = 0
            while let byte = peek, (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(byte), count < digits.upperBound {
                value = value * 10 + Int(byte - UInt8(ascii: "0"))
                count += 1
                at += 1
            }
            return digits.contains(count) ? value : nil
        }

        /// Seconds east of UTC.
        mutating func zoneOffset() -> Int? {
            if let sign = peek, sign == UInt8(ascii: "+") || sign == UInt8(ascii: "-") {
                at += 1
                guard let hhmm = number(digits: 4...4), hhmm % 100 < 60 else { return nil }
                let seconds = (hhmm / 100) * 3_600 + (hhmm % 100) * 60
                return sign == UInt8(ascii: "+") ? seconds : -seconds
            }
            return ["GMT", "UT", "UTC", "Z"].contains(letters() ?? "") ? 0 : nil
        }
    }
}

/// `2026-11-25T15:00:00Z`: an instant in UTC to whole seconds, as the gate's and the policy's audit details and the
/// command line write it. Written by hand for the same reason as ``InternetDate``: an `ISO8601DateFormatter` made per
/// call took 6% of `dialer serve`'s CPU on the callbacks path (perf), where each settlement writes one.
enum UTCInstant {
    static func string(_ instant: Date) -> String {
        let seconds = Int(instant.timeIntervalSince1970.rounded(.down))
        let (days, second) = (seconds.floorDivided(by: 86_400), seconds.floorModulo(86_400))
        let day = HolidayCalendar.Day.civil(days)
        // Outside four-digit years (never a real call's), Foundation's formatter writes what it writes.
        guard (0...9999).contains(day.year) else { return ISO8601DateFormatter().string(from: instant) }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(20)
        func digits(_ value: Int, _ count: Int) {
            var divisor = 1
            for _ in 1..<count { divisor *= 10 }
            var rest = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(rest / divisor % 10))
                rest %= divisor
                divisor /= 10
            }
        }
        digits(day.year, 4)
        bytes.append(UInt8(ascii: "-")); digits(day.month, 2)
        bytes.append(UInt8(ascii: "-")); digits(day.day, 2)
        bytes.append(UInt8(ascii: "T")); digits(second / 3_600, 2)
        bytes.append(UInt8(ascii: ":")); digits(second / 60 % 60, 2)
        bytes.append(UInt8(ascii: ":")); digits(second % 60, 2)
        bytes.append(UInt8(ascii: "Z"))
        return String(decoding: bytes, as: UTF8.self)
    }
}

extension Int {
    fileprivate func floorDivided(by divisor: Int) -> Int { (self >= 0 ? self : self - divisor + 1) / divisor }
    fileprivate func floorModulo(_ divisor: Int) -> Int { ((self % divisor) + divisor) % divisor }
}
