import Foundation

/// Twilio-shaped JSON bodies (twilio.md sections 1.3 and 2.1).
enum TwilioBodies {
    static func rfc2822(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss Z"
        return formatter.string(from: date)
    }

    static func call(_ call: FakeCall) -> [String: Any?] {
        let created = rfc2822(call.createdAt)
        return [
            "sid": call.sid, "account_sid": call.accountSID, "to": call.to, "to_formatted": formatted(call.to), "from": call.from,
            "from_formatted": formatted(call.from), "status": "queued", "direction": "outbound-api", "api_version": "2010-04-01",
            "date_created": created, "date_updated": created, "start_time": nil, "end_time": nil, "duration": nil, "price": nil,
            "price_unit": "USD", "answered_by": nil, "queue_time": "0", "caller_name": nil, "group_sid": nil, "trunk_sid": nil,
            "forwarded_from": nil, "annotation": nil, "parent_call_sid": nil, "phone_number_sid": nil,
            "uri": "/2010-04-01/Accounts/\(call.accountSID)/Calls/\(call.sid).json",
        ]
    }

    static func error(code: Int, message: String, status: Int) -> [String: Any?] {
        var body: [String: Any?] = ["code": code, "message": message, "more_info": "https://www.twilio.com/docs/errors/\(code)", "status": status]
        if status == 401 { body["detail"] = "Your AccountSid or AuthToken was incorrect." }
        return body
    }

    static func json(_ object: [String: Any?]) -> String {
        let cleaned = object.mapValues { $0 ?? NSNull() }
        let data = (try? JSONSerialization.data(withJSONObject: cleaned, options: [.sortedKeys])) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self)
    }

    /// `(415) 867-5309` for a NANP number, the input otherwise.
    static func formatted(_ e164: String) -> String {
        let digits = Array(e164.dropFirst(2))
        guard e164.hasPrefix("+1"), digits.count == 10 else { return e164 }
        return "(\(String(digits[0..<3]))) \(String(digits[3..<6]))-\(String(digits[6..<10]))"
    }

    /// The default Twilio code and message for a scripted status.
    static func scripted(status: Int) -> (Int, String) {
        switch status {
        case 429: (20429, "Too Many Requests")
        case 500: (20500, "An internal server error has occurred")
        case 503: (20503, "Service Unavailable")
        case 401: (20003, "Authenticate")
        case 404: (20404, "The requested resource was not found")
        default: (status * 100, "Scripted failure")
        }
    }

    /// Parses an `application/x-www-form-urlencoded` body; repeated keys keep every value.
    static func form(_ body: String) -> [String: [String]] {
        var fields: [String: [String]] = [:]
        for pair in body.split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map {
                String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
            }
            fields[parts[0], default: []].append(parts.count > 1 ? parts[1] : "")
        }
        return fields
    }
}
