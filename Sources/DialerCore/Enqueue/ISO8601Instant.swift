import Foundation

/// An instant as requests, campaign files and the command line write it: ISO-8601 with a time zone (`Z` or an offset
/// such as `-05:00`), with or without fractional seconds. A time without a zone is refused, never guessed: whether a
/// call is legal depends on the hour it means.
public enum ISO8601Instant {
    /// Parses `text`, or throws `invalid_request` whose message names `name` (a field or a flag) and says what is wrong.
    /// - Parameter details: the error's details (which field or flag).
    public static func parse(_ text: String, name: String, details: [String: JSONValue] = [:]) throws(OpenPhnError) -> Date {
        if let instant = instant(text) { return instant }
        let shown = text.count > 40 ? String(text.prefix(40)) + "..." : text
        let problem = instant(text + "Z") != nil
            ? "has no time zone: add Z (UTC) or an offset such as -05:00"
            : "is not an ISO-8601 instant such as 2026-11-25T15:00:00Z"
        throw OpenPhnError(.invalidRequest, "\(name) '\(shown)' \(problem).", details: details)
    }

    /// The instant `text` names, or `nil`.
    public static func instant(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        if let instant = formatter.date(from: text) { return instant }
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter.date(from: text)
    }

    /// `2026-11-25T15:00:00Z`.
    public static func string(_ instant: Date) -> String { UTCInstant.string(instant) }
}
