import Foundation

/// Twilio-shaped JSON bodies (twilio.md sections 1.3 and 2.1).
enum TwilioBodies {
    /// `Tue, 31 Aug 2010 20:36:28 +0000`, built by hand: a DateFormatter per request would dominate the fake's CPU.
    static func rfc2822(_ date: Date) -> String {
        let seconds = Int(date.timeIntervalSince1970.rounded(.down))
        let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
        let time = seconds - days * 86_400
        // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        let day = doy - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yoe + era * 400 + (month <= 2 ? 1 : 0)
        let weekday = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"][((days % 7) + 7) % 7]
        let monthName = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][month - 1]
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(weekday), \(two(day)) \(monthName) \(year) \(two(time / 3600)):\(two(time / 60 % 60)):\(two(time % 60)) +0000"
    }

    /// `count` random lowercase hex digits (SIDs, request ids).
    static func hex(_ count: Int) -> String {
        let digits: StaticString = "0123456789abcdef"
        var bytes: [UInt8] = []
        bytes.reserveCapacity(count)
        var random = UInt64.random(in: 0...UInt64.max)
        for i in 0..<count {
            if i > 0, i % 16 == 0 { random = UInt64.random(in: 0...UInt64.max) }
            bytes.append(digits.utf8Start[Int(random & 0xF)])
            random >>= 4
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// `+` and 2 to 15 digits, the first not 0.
    static func isE164(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count >= 3, bytes.count <= 16, bytes[0] == UInt8(ascii: "+"), bytes[1] != UInt8(ascii: "0") else { return false }
        return bytes.dropFirst().allSatisfy { $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") }
    }

    /// `AC` and 32 hex digits.
    static func isAccountSID(_ text: String) -> Bool {
        let bytes = Array(text.utf8)
        guard bytes.count == 34, text.hasPrefix("AC") else { return false }
        return bytes.dropFirst(2).allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) || ($0 >= 65 && $0 <= 70) }
    }

    /// The Call resource as JSON text, written directly (the hot path of every benchmark and chaos run): as created
    /// (`queued`, the 201's body) when `instant` is nil, else as it stands at `instant` on the fake's clock.
    static func callJSON(_ call: FakeCall, at instant: Date? = nil) -> String {
        let created = rfc2822(call.createdAt)
        let status = instant.map { call.status(at: $0) } ?? "queued"
        let started = instant.map { $0 >= call.startTime } ?? false
        let ended = instant.map { $0 >= call.endTime } ?? false
        var out = "{"
        out.reserveCapacity(1_024)
        var first = true
        func field(_ key: String, _ value: String?) {
            if !first { out += "," }
            first = false
            quote(key, into: &out)
            out += ":"
            if let value { quote(value, into: &out) } else { out += "null" }
        }
        field("account_sid", call.accountSID)
        field("annotation", nil)
        field("answered_by", instant.flatMap { call.answeredBy(at: $0)?.rawValue })
        field("api_version", "2010-04-01")
        field("caller_name", nil)
        field("date_created", created)
        field("date_updated", instant.map { rfc2822(call.updatedAt($0)) } ?? created)
        field("direction", "outbound-api")
        field("duration", ended ? String(call.duration) : nil)
        field("end_time", ended ? rfc2822(call.endTime) : nil)
        field("forwarded_from", nil)
        field("from", call.from)
        field("from_formatted", formatted(call.from))
        field("group_sid", nil)
        field("parent_call_sid", nil)
        field("phone_number_sid", nil)
        field("price", nil)
        field("price_unit", "USD")
        field("queue_time", String(call.queueTime))
        field("sid", call.sid)
        field("start_time", started ? rfc2822(call.startTime) : nil)
        field("status", status)
        field("to", call.to)
        field("to_formatted", formatted(call.to))
        field("trunk_sid", nil)
        field("uri", "/2010-04-01/Accounts/\(call.accountSID)/Calls/\(call.sid).json")
        return out + "}"
    }

    static func error(code: Int, message: String, status: Int) -> [String: Any?] {
        var body: [String: Any?] = ["code": code, "message": message, "more_info": "https://www.twilio.com/docs/errors/\(code)", "status": status]
        if status == 401 { body["detail"] = "Your AccountSid or AuthToken was incorrect." }
        return body
    }

    /// Serializes the few shapes the fake answers with (strings, integers, null, arrays, objects), keys in byte order.
    /// Hand-written: Foundation's JSONSerialization sorts keys with a locale-aware compare that dominated the fake's CPU.
    static func json(_ object: [String: Any?]) -> String {
        var out = ""
        write(object, into: &out)
        return out
    }

    private static func write(_ value: Any?, into out: inout String) {
        switch value {
        case nil, is NSNull: out += "null"
        case let string as String: quote(string, into: &out)
        case let int as Int: out += String(int)
        case let bool as Bool: out += bool ? "true" : "false"
        case let array as [Any?]:
            out += "["
            for (i, element) in array.enumerated() {
                if i > 0 { out += "," }
                write(element, into: &out)
            }
            out += "]"
        case let object as [String: Any?]:
            out += "{"
            for (i, key) in object.keys.sorted(by: { $0.utf8.lexicographicallyPrecedes($1.utf8) }).enumerated() {
                if i > 0 { out += "," }
                quote(key, into: &out)
                out += ":"
                write(object[key] ?? nil, into: &out)
            }
            out += "}"
        default: out += "null"
        }
    }

    static func quote(_ string: String, into out: inout String) {
        out += "\""
        var string = string
        string.withUTF8 { bytes in
            // Runs of bytes that need no escape are appended whole; only the quote, the backslash and control characters are rewritten.
            var start = 0
            for i in 0..<bytes.count {
                let byte = bytes[i]
                guard byte < 0x20 || byte == 0x22 || byte == 0x5C else { continue }
                if start < i { out += String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<i]), as: UTF8.self) }
                switch byte {
                case 0x22: out += "\\\""
                case 0x5C: out += "\\\\"
                case 0x0A: out += "\\n"
                case 0x0D: out += "\\r"
                case 0x09: out += "\\t"
                default:
                    let hex = String(byte, radix: 16)
                    out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
                }
                start = i + 1
            }
            if start < bytes.count { out += String(decoding: UnsafeBufferPointer(rebasing: bytes[start...]), as: UTF8.self) }
        }
        out += "\""
    }

    /// `(415) 867-5309` for a NANP number, the input otherwise.
    static func formatted(_ e164: String) -> String {
        let digits = e164.utf8.dropFirst(2)
        guard e164.utf8.starts(with: "+1".utf8), digits.count == 10 else { return e164 }
        var out: [UInt8] = [UInt8(ascii: "(")]
        out.reserveCapacity(14)
        for (i, digit) in digits.enumerated() {
            out.append(digit)
            if i == 2 { out += [UInt8(ascii: ")"), UInt8(ascii: " ")] }
            if i == 5 { out.append(UInt8(ascii: "-")) }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The Twilio code and message of a scripted answer: the scripted code (default by status) with Twilio's message
    /// for it when the fake knows it.
    static func scripted(status: Int, code: Int?, to: String, from: String) -> (Int, String) {
        let code = code ?? {
            switch status {
            case 429: 20429
            case 500: 20500
            case 503: 20503
            case 401: 20003
            case 404: 20404
            default: status * 100
            }
        }()
        return (code, message(code: code, to: to, from: from))
    }

    /// Twilio's message for an error code (twilio.md section 2.2; verbatim where captured).
    static func message(code: Int, to: String, from: String) -> String {
        switch code {
        case 20003: "Authenticate"
        case 20404: "The requested resource was not found"
        case 20429: "Too Many Requests"
        case 20500: "An internal server error has occurred"
        case 20503: "Service Unavailable"
        case 21210:
            "The source phone number provided, \(from), is not yet verified for your account. "
                + "You may only make calls from phone numbers that you've verified or purchased from Twilio."
        case 21211: "The 'To' number \(to) is not a valid phone number."
        case 21212: "From is not a valid phone number: \(from)"
        case 21214: "'To' phone number cannot be reached"
        case 21215:
            "Account not authorized to call \(to). Perhaps you need to enable some international permissions: "
                + "https://www.twilio.com/console/voice/calls/geo-permissions/low-risk"
        case 21216: "Account not allowed to call \(to)"
        case 21217: "Phone number does not appear to be valid"
        default: "Scripted failure"
        }
    }

    /// An `application/x-www-form-urlencoded` body: everything but unreserved characters percent-encoded (`+` as `%2B`).
    static func formEncoded(_ fields: [(String, String)]) -> String {
        let hex = Array("0123456789ABCDEF".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(fields.reduce(0) { $0 + $1.0.utf8.count + $1.1.utf8.count + 2 } * 2)
        func escape(_ text: String) {
            for byte in text.utf8 {
                switch byte {
                case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                    UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"):
                    out.append(byte)
                default:
                    out += [UInt8(ascii: "%"), hex[Int(byte >> 4)], hex[Int(byte & 0xF)]]
                }
            }
        }
        for (index, (name, value)) in fields.enumerated() {
            if index > 0 { out.append(UInt8(ascii: "&")) }
            escape(name)
            out.append(UInt8(ascii: "="))
            escape(value)
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Parses an `application/x-www-form-urlencoded` body; repeated keys keep every value. Byte-level: Foundation's
    /// percent decoding was a tenth of the fake's CPU.
    static func form(_ body: String) -> [String: [String]] {
        var fields: [String: [String]] = [:]
        for pair in body.utf8.split(separator: UInt8(ascii: "&")) {
            let eq = pair.firstIndex(of: UInt8(ascii: "="))
            let key = decode(eq.map { pair[pair.startIndex..<$0] } ?? pair[...])
            let value = eq.map { decode(pair[pair.index(after: $0)...]) } ?? ""
            fields[key, default: []].append(value)
        }
        return fields
    }

    private static func decode(_ bytes: Substring.UTF8View.SubSequence) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(bytes.count)
        var i = bytes.startIndex
        while i < bytes.endIndex {
            let byte = bytes[i]
            if byte == UInt8(ascii: "+") {
                out.append(UInt8(ascii: " "))
            } else if byte == UInt8(ascii: "%"), bytes.distance(from: i, to: bytes.endIndex) >= 3,
                let high = hexValue(bytes[bytes.index(i, offsetBy: 1)]), let low = hexValue(bytes[bytes.index(i, offsetBy: 2)])
            {
                out.append(high << 4 | low)
                i = bytes.index(i, offsetBy: 3)
                continue
            } else {
                out.append(byte)
            }
            i = bytes.index(after: i)
        }
        return String(decoding: out, as: UTF8.self)
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
