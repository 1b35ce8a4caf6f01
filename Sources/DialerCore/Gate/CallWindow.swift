import Foundation

/// A span of local wall-clock time within one day, `[start, end)` in minutes after midnight.
public struct DailyWindow: Sendable, Hashable, CustomStringConvertible {
    public let start: Int
    public let end: Int

    public init(start: Int, end: Int) {
        self.start = start
        self.end = end
    }

    /// Parses `HH:MM-HH:MM`.
    public init?(_ text: String) {
        let parts = text.split(separator: "-")
        guard parts.count == 2, let s = Self.minutes(parts[0]), let e = Self.minutes(parts[1]), s < e else { return nil }
        start = s
        end = e
    }

    static func minutes(_ text: Substring) -> Int? {
        let hm = text.split(separator: ":")
        guard hm.count == 2, let h = Int(hm[0]), let m = Int(hm[1]), (0...24).contains(h), (0..<60).contains(m) else { return nil }
        return h * 60 + m
    }

    public func contains(minute: Int) -> Bool { minute >= start && minute < end }

    /// The overlap of two windows; `nil` when they do not overlap.
    public func intersection(_ other: DailyWindow) -> DailyWindow? {
        let s = max(start, other.start), e = min(end, other.end)
        return s < e ? DailyWindow(start: s, end: e) : nil
    }

    public var description: String {
        func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
        return "\(two(start / 60)):\(two(start % 60))-\(two(end / 60)):\(two(end % 60))"
    }
}

/// One jurisdiction's calling-hour rule (a row of ComplianceData/state_call_windows.csv).
public struct JurisdictionRule: Sendable, Hashable {
    /// What a day allows: the federal window applies, a window of its own, or no calls at all.
    public enum Day: Sendable, Hashable {
        case noRule
        case window(DailyWindow)
        case closed
    }

    public let jurisdiction: String
    public let weekdays: Day
    public let saturday: Day
    public let sunday: Day
    /// The holiday calendar whose days are closed (`nil`: holidays are ordinary days).
    public let holidayCalendar: HolidayCalendar.Name?
    /// Calls per person per rolling 24 hours on one subject (FL, OK, MD: 3).
    public let maxCalls24h: Int?

    public func day(weekday: Int) -> Day {
        switch weekday {
        case 1: sunday
        case 7: saturday
        default: weekdays
        }
    }
}

/// The calling-hour rules of every jurisdiction the data names.
public struct CallWindowRules: Sendable {
    public let rules: [String: JurisdictionRule]

    public static let shipped: CallWindowRules = {
        guard let url = Bundle.module.url(forResource: "ComplianceData/state_call_windows", withExtension: "csv"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { fatalError("ComplianceData/state_call_windows.csv is missing from the DialerCore resources") }
        return CallWindowRules(csv: text)
    }()

    /// Parses the table. Rows whose hours apply only to prerecorded or automated calls (blank windows) add nothing
    /// for live AI calls and are kept as no-rule rows.
    public init(csv text: String) {
        let table = CSV.rows(text)
        guard let header = table.first?.fields else {
            rules = [:]
            return
        }
        func column(_ name: String) -> Int { header.firstIndex(of: name) ?? -1 }
        let cols = (j: column("jurisdiction"), mf: column("mon_fri"), sat: column("sat"), sun: column("sun"), hol: column("holidays"),
                    cap: column("max_calls_24h"))
        func day(_ text: String) -> JurisdictionRule.Day {
            if text == "none" { return .closed }
            return DailyWindow(text).map { .window($0) } ?? .noRule
        }
        var rules: [String: JurisdictionRule] = [:]
        for row in table.dropFirst() where row.fields.count == header.count {
            let f = row.fields
            let holidays = f[cols.hol].hasPrefix("none:") ? HolidayCalendar.Name(rawValue: String(f[cols.hol].dropFirst(5))) : nil
            rules[f[cols.j]] = JurisdictionRule(
                jurisdiction: f[cols.j], weekdays: day(f[cols.mf]), saturday: day(f[cols.sat]), sunday: day(f[cols.sun]),
                holidayCalendar: holidays, maxCalls24h: Int(f[cols.cap]))
        }
        self.rules = rules
    }

    public subscript(_ jurisdiction: String) -> JurisdictionRule? { rules[jurisdiction] }
}
