/// A NANP destination or caller number in E.164 form (`+1NPANXXXXXX`), validated.
///
/// The rules checked here are structural (country code 1, ten digits, area code and exchange start with 2-9, no N11
/// service codes); the dial-time gate adds the number-plan checks (assigned area codes, fictional and premium ranges).
public struct PhoneNumber: Sendable, Hashable, CustomStringConvertible {
    /// `+1` followed by ten digits.
    public let e164: String

    /// Validates `text` as an E.164 NANP number. Spaces, dashes, dots and parentheses are not accepted: E.164 is exact.
    public init(validating text: String) throws(OpenPhnError) {
        let digits = Array(text.utf8)
        guard digits.count == 12, digits[0] == UInt8(ascii: "+"), digits[1] == UInt8(ascii: "1"),
            digits[2...].allSatisfy({ $0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9") })
        else {
            throw OpenPhnError(.invalidPhone, "'\(Self.preview(text))' is not a valid E.164 NANP number (+1 and ten digits).")
        }
        let d = digits[2...].map { Int($0 - UInt8(ascii: "0")) }
        let npa = d[0] * 100 + d[1] * 10 + d[2]
        let nxx = d[3] * 100 + d[4] * 10 + d[5]
        guard d[0] >= 2, d[3] >= 2 else {
            throw OpenPhnError(.invalidPhone, "\(text) is not a valid NANP number: area code and exchange start with 2-9.")
        }
        guard !(d[1] == 1 && d[2] == 1), !(d[4] == 1 && d[5] == 1) else {
            throw OpenPhnError(.invalidPhone, "\(text) is not a valid NANP number: N11 codes are service codes.",
                               details: ["area_code": .number(Double(npa)), "exchange": .number(Double(nxx))])
        }
        e164 = text
    }

    /// The ten national digits as an integer with the country code, as the do-not-call tables store it (14155551234).
    public var numeric: Int64 { Int64(e164.dropFirst())! }
    /// The three-digit area code.
    public var areaCode: Int { Int(e164.dropFirst(2).prefix(3))! }
    /// For logs: the last four digits masked (`+1415555****`).
    public var masked: String { Self.mask(e164) }
    public var description: String { masked }

    /// Masks the last four characters of anything that looks like a number, for logs.
    public static func mask(_ text: String) -> String {
        text.count > 4 ? String(text.dropLast(4)) + "****" : "****"
    }

    private static func preview(_ text: String) -> String {
        text.count > 24 ? String(text.prefix(24)) + "..." : text
    }
}
