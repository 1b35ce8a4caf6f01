import Foundation

/// A strict reader of one JSON object's top-level fields (RFC 8259 grammar; nesting up to 64 levels).
struct JSONFieldReader {
    struct Malformed: Error {}
    enum Scalar {
        case string(String)
        case number(Int?)
        case other
    }

    let bytes: UnsafeBufferPointer<UInt8>
    var index = 0

    init(bytes: UnsafeBufferPointer<UInt8>) { self.bytes = bytes }

    mutating func readBody() throws -> TwilioErrorBody {
        var body = TwilioErrorBody()
        skipSpace()
        try expect(UInt8(ascii: "{"))
        skipSpace()
        if peek() == UInt8(ascii: "}") {
            index += 1
        } else {
            while true {
                skipSpace()
                let key = try readString()
                skipSpace()
                try expect(UInt8(ascii: ":"))
                skipSpace()
                switch key {
                case "code": body.code = Self.integer(try readScalar())
                case "queue_time": body.queueTime = Self.integer(try readScalar())
                case "message": body.message = Self.string(try readScalar())
                case "sid": body.sid = Self.string(try readScalar())
                default: try skipValue(depth: 1)
                }
                skipSpace()
                let separator = try nextByte()
                if separator == UInt8(ascii: "}") { break }
                guard separator == UInt8(ascii: ",") else { throw Malformed() }
            }
        }
        skipSpace()
        guard index == bytes.count else { throw Malformed() }
        return body
    }

    private static func integer(_ scalar: Scalar) -> Int? {
        switch scalar {
        case .number(let value): value
        case .string(let text): Int(text)
        case .other: nil
        }
    }

    private static func string(_ scalar: Scalar) -> String? {
        if case .string(let text) = scalar { text } else { nil }
    }

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private mutating func nextByte() throws -> UInt8 {
        guard index < bytes.count else { throw Malformed() }
        defer { index += 1 }
        return bytes[index]
    }

    private mutating func expect(_ byte: UInt8) throws {
        guard try nextByte() == byte else { throw Malformed() }
    }

    private mutating func skipSpace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x09, 0x0A, 0x0D: index += 1
            default: return
            }
        }
    }

    /// A string, a number, or anything else (skipped, validated).
    private mutating func readScalar() throws -> Scalar {
        switch peek() ?? 0 {
        case UInt8(ascii: "\""): return .string(try readString())
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return .number(try readNumber())
        default:
            try skipValue(depth: 1)
            return .other
        }
    }

    private mutating func skipValue(depth: Int) throws {
        guard depth <= 64 else { throw Malformed() }
        switch peek() ?? 0 {
        case UInt8(ascii: "\""): _ = try readString()
        case UInt8(ascii: "{"), UInt8(ascii: "["):
            let close = try nextByte() == UInt8(ascii: "{") ? UInt8(ascii: "}") : UInt8(ascii: "]")
            skipSpace()
            if peek() == close {
                index += 1
                return
            }
            while true {
                skipSpace()
                if close == UInt8(ascii: "}") {
                    _ = try readString()
                    skipSpace()
                    try expect(UInt8(ascii: ":"))
                    skipSpace()
                }
                try skipValue(depth: depth + 1)
                skipSpace()
                let separator = try nextByte()
                if separator == close { return }
                guard separator == UInt8(ascii: ",") else { throw Malformed() }
            }
        case UInt8(ascii: "t"): try literal("true")
        case UInt8(ascii: "f"): try literal("false")
        case UInt8(ascii: "n"): try literal("null")
        default: _ = try readNumber()
        }
    }

    private mutating func literal(_ word: StaticString) throws {
        let count = word.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw Malformed() }
        for k in 0..<count where bytes[index + k] != word.utf8Start[k] { throw Malformed() }
        index += count
    }

    /// A JSON number; its value when it is an integer that fits an `Int`.
    private mutating func readNumber() throws -> Int? {
        let start = index
        if peek() == UInt8(ascii: "-") { index += 1 }
        let digits = index
        while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
        guard index > digits, bytes[digits] != UInt8(ascii: "0") || index == digits + 1 else { throw Malformed() }
        var integral = true
        if peek() == UInt8(ascii: ".") {
            integral = false
            index += 1
            let fraction = index
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
            guard index > fraction else { throw Malformed() }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            integral = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            let exponent = index
            while let byte = peek(), byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") { index += 1 }
            guard index > exponent else { throw Malformed() }
        }
        guard integral else { return nil }
        return Int(String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self))
    }

    /// A JSON string, escapes decoded; runs without escapes are copied whole.
    private mutating func readString() throws -> String {
        try expect(UInt8(ascii: "\""))
        var out = ""
        var run = index
        while true {
            let byte = try nextByte()
            switch byte {
            case UInt8(ascii: "\""):
                out += String(decoding: UnsafeBufferPointer(rebasing: bytes[run..<(index - 1)]), as: UTF8.self)
                return out
            case UInt8(ascii: "\\"):
                out += String(decoding: UnsafeBufferPointer(rebasing: bytes[run..<(index - 1)]), as: UTF8.self)
                let escape = try nextByte()
                switch escape {
                case UInt8(ascii: "\""): out += "\""
                case UInt8(ascii: "\\"): out += "\\"
                case UInt8(ascii: "/"): out += "/"
                case UInt8(ascii: "b"): out += "\u{08}"
                case UInt8(ascii: "f"): out += "\u{0C}"
                case UInt8(ascii: "n"): out += "\n"
                case UInt8(ascii: "r"): out += "\r"
                case UInt8(ascii: "t"): out += "\t"
                case UInt8(ascii: "u"):
                    var scalar = try hex4()
                    if (0xD800..<0xDC00).contains(scalar) {
                        // A high surrogate must be followed by an escaped low one.
                        try expect(UInt8(ascii: "\\"))
                        try expect(UInt8(ascii: "u"))
                        let low = try hex4()
                        guard (0xDC00..<0xE000).contains(low) else { throw Malformed() }
                        scalar = 0x10000 + ((scalar - 0xD800) << 10) + (low - 0xDC00)
                    }
                    guard let decoded = Unicode.Scalar(scalar) else { throw Malformed() }
                    out.unicodeScalars.append(decoded)
                default: throw Malformed()
                }
                run = index
            case 0..<0x20: throw Malformed()
            default: continue
            }
        }
    }

    private mutating func hex4() throws -> UInt32 {
        var value: UInt32 = 0
        for _ in 0..<4 {
            let byte = try nextByte()
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw Malformed()
            }
            value = value << 4 | UInt32(digit)
        }
        return value
    }
}
