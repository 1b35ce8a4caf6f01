import Foundation

/// Parses an HTTP `Retry-After` header (RFC 9110 section 10.2.3): delay-seconds or an HTTP-date.
public enum RetryAfter {
    /// The delay to wait from now, never negative; `nil` when the header is not understood.
    /// - Parameters:
    ///   - serverDate: the response's `Date`; an HTTP-date is measured against it so a skewed local clock does not matter.
    ///   - now: the local clock, used without a usable `Date`.
    public static func parse(_ value: String, serverDate: String? = nil, now: Date = Date()) -> Duration? {
        let text = value.trimmingCharacters(in: .whitespaces)
        if let seconds = Int(text) { return seconds >= 0 ? .seconds(seconds) : nil }
        if let seconds = Double(text), seconds.isFinite { return seconds >= 0 ? .milliseconds(Int64(seconds * 1000)) : nil }
        guard let until = httpDate(text) else { return nil }
        let reference = serverDate.flatMap(httpDate) ?? now
        let seconds = until.timeIntervalSince(reference)
        return .milliseconds(Int64(max(0, seconds) * 1000))
    }

    /// IMF-fixdate (read by hand), plus the obsolete RFC 850 and asctime forms that RFC 9110 says a recipient must accept.
    static func httpDate(_ text: String) -> Date? {
        if let date = InternetDate.parse(text) { return date }
        for format in ["EEE, dd MMM yyyy HH:mm:ss zzz", "EEEE, dd-MMM-yy HH:mm:ss zzz", "EEE MMM d HH:mm:ss yyyy"] {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "GMT")
            formatter.dateFormat = format
            if let date = formatter.date(from: text) { return date }
        }
        return nil
    }
}
