import Foundation

/// The holiday calendars of the states that ban solicitation calls on holidays, computed per year.
///
/// Both a holiday's date and its observed weekday (Saturday -> Friday, Sunday -> Monday) are treated as closed: a ban
/// that costs one extra quiet day is cheap, a call on an observed holiday is not. County-only holidays (Mardi Gras in
/// two Alabama counties) are applied statewide for the same reason. Governor-declared days are not predictable and must
/// be added by compliance staff.
public enum HolidayCalendar {
    public enum Name: String, Sendable, Hashable {
        case alabama = "AL_state_holidays"
        case louisiana = "LA_state_holidays_per_LPSC"
        case pennsylvania = "PA_legal_holidays"
        case stateOrFederal = "state_or_federal_holidays"
        case utah = "UT_legal_holidays"
    }

    /// A calendar date.
    public struct Day: Sendable, Hashable, Comparable, CustomStringConvertible {
        public let year: Int
        public let month: Int
        public let day: Int
        public init(_ year: Int, _ month: Int, _ day: Int) {
            self.year = year
            self.month = month
            self.day = day
        }
        public static func < (a: Day, b: Day) -> Bool { (a.year, a.month, a.day) < (b.year, b.month, b.day) }
        public var description: String {
            func two(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }
            return "\(year)-\(two(month))-\(two(day))"
        }
        /// 1 = Sunday ... 7 = Saturday.
        public var weekday: Int { (Self.daysFromCivil(year, month, day) % 7 + 11) % 7 + 1 }
        func adding(days: Int) -> Day { Self.civil(Self.daysFromCivil(year, month, day) + days) }

        /// Days since 1970-01-01 (Howard Hinnant's algorithm).
        static func daysFromCivil(_ y0: Int, _ m: Int, _ d: Int) -> Int {
            let y = m <= 2 ? y0 - 1 : y0
            let era = (y >= 0 ? y : y - 399) / 400
            let yoe = y - era * 400
            let doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1
            let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
            return era * 146_097 + doe - 719_468
        }

        static func civil(_ z0: Int) -> Day {
            let z = z0 + 719_468
            let era = (z >= 0 ? z : z - 146_096) / 146_097
            let doe = z - era * 146_097
            let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
            let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
            let mp = (5 * doy + 2) / 153
            let d = doy - (153 * mp + 2) / 5 + 1
            let m = mp < 10 ? mp + 3 : mp - 9
            return Day(yoe + era * 400 + (m <= 2 ? 1 : 0), m, d)
        }
    }

    /// The closed days of `name` in `year`, each with the holiday's name.
    public static func holidays(_ name: Name, year: Int) -> [Day: String] {
        var days: [Day: String] = [:]
        func fixed(_ month: Int, _ day: Int, _ title: String) {
            let date = Day(year, month, day)
            days[date] = title
            switch date.weekday {
            case 7: days[date.adding(days: -1)] = title + " (observed)"
            case 1: days[date.adding(days: 1)] = title + " (observed)"
            default: break
            }
        }
        func nth(_ n: Int, _ weekday: Int, _ month: Int, _ title: String) { days[nthWeekday(n, weekday, month, year)] = title }
        let easter = easterSunday(year)
        func federal() {
            fixed(1, 1, "New Year's Day")
            nth(3, 2, 1, "Martin Luther King Jr. Day")
            nth(3, 2, 2, "Washington's Birthday")
            nth(-1, 2, 5, "Memorial Day")
            fixed(6, 19, "Juneteenth")
            fixed(7, 4, "Independence Day")
            nth(1, 2, 9, "Labor Day")
            nth(2, 2, 10, "Columbus Day")
            fixed(11, 11, "Veterans Day")
            nth(4, 5, 11, "Thanksgiving Day")
            fixed(12, 25, "Christmas Day")
        }
        switch name {
        case .alabama:
            federal()
            days[easter.adding(days: -47)] = "Mardi Gras"
            nth(4, 2, 4, "Confederate Memorial Day")
            nth(1, 2, 6, "Jefferson Davis' Birthday")
            fixed(12, 1, "Rosa Parks Day")
        case .louisiana:
            federal()
            days[easter.adding(days: -47)] = "Mardi Gras"
            days[easter.adding(days: -2)] = "Good Friday"
            fixed(11, 1, "All Saints' Day")
        case .pennsylvania:
            // 73 P.S. 2245(a)(10), Act 73 of 2019: its own list (no Juneteenth).
            fixed(1, 1, "New Year's Day")
            nth(3, 2, 1, "Martin Luther King Jr. Day")
            nth(3, 2, 2, "Presidents' Day")
            days[easter.adding(days: -2)] = "Good Friday"
            nth(-1, 2, 5, "Memorial Day")
            fixed(6, 14, "Flag Day")
            fixed(7, 4, "Independence Day")
            nth(1, 2, 9, "Labor Day")
            nth(2, 2, 10, "Columbus Day")
            fixed(11, 11, "Veterans Day")
            nth(4, 5, 11, "Thanksgiving Day")
            fixed(12, 25, "Christmas Day")
            days[nthWeekday(1, 2, 11, year).adding(days: 1)] = "Election Day"
        case .stateOrFederal:
            federal()
            fixed(5, 4, "Rhode Island Independence Day")
            nth(2, 2, 8, "Victory Day")
        case .utah:
            federal()
            fixed(7, 24, "Pioneer Day")
        }
        return days
    }

    /// The n-th `weekday` (1 = Sunday) of a month; n = -1 is the last one.
    static func nthWeekday(_ n: Int, _ weekday: Int, _ month: Int, _ year: Int) -> Day {
        if n > 0 {
            let first = Day(year, month, 1)
            return first.adding(days: (weekday - first.weekday + 7) % 7 + 7 * (n - 1))
        }
        let next = month == 12 ? Day(year + 1, 1, 1) : Day(year, month + 1, 1)
        let last = next.adding(days: -1)
        return last.adding(days: -((last.weekday - weekday + 7) % 7))
    }

    /// Western Easter (anonymous Gregorian algorithm).
    static func easterSunday(_ year: Int) -> Day {
        let a = year % 19, b = year / 100, c = year % 100, d = b / 4, e = b % 4
        let f = (b + 8) / 25, g = (b - f + 1) / 3, h = (19 * a + b - d - g + 15) % 30
        let i = c / 4, k = c % 4, l = (32 + 2 * e + 2 * i - h - k) % 7
        let m = (a + 11 * h + 22 * l) / 451
        return Day(year, (h + l - 7 * m + 114) / 31, (h + l - 7 * m + 114) % 31 + 1)
    }
}
