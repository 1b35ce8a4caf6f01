import Foundation

/// The outcome of checking calling hours for one number at one instant.
public struct CallHoursDecision: Sendable, Hashable {
    public let allowed: Bool
    /// When not allowed: the exact start of the next instant legal in every zone (before any spread). `nil` when allowed,
    /// or when nothing is legal within the search horizon.
    public let nextAllowed: Date?
    /// For people and the audit log: the binding rule and zones, e.g. "FL 08:00-20:00 America/New_York".
    public let rule: String
    public let location: NumberLocation
    /// The callee's local time in each zone, e.g. "America/Chicago 2026-03-08 07:59 Sun".
    public let localTimes: [String]
    /// The strictest per-person cap of the applicable jurisdictions (FL, OK, MD: 3 per 24 h).
    public let maxCalls24h: Int?
}

/// Legal calling hours in the callee's local time: the federal window (47 CFR 64.1200(c)(1)), intersected with the
/// stricter state rules (windows per weekday, no-Sunday states, holiday bans), Canada's CRTC hours for Canadian numbers,
/// and the tenant's own window. Where a number may be in several zones, an instant is legal only when it is legal in all.
///
/// Pure: the instant is a parameter and DST comes from the time-zone database, so every rule is table-tested.
public struct CallHours: Sendable {
    public let plan: NumberPlan
    public let rules: CallWindowRules
    private let calendars: [String: Calendar]
    /// How far ahead the next legal instant is searched.
    static let horizonDays = 14

    public static let shipped = CallHours(plan: .shipped, rules: .shipped)

    public init(plan: NumberPlan, rules: CallWindowRules) {
        self.plan = plan
        self.rules = rules
        self.calendars = Dictionary(uniqueKeysWithValues: plan.allZones.map { ($0, Self.makeCalendar($0)) })
    }

    private static func makeCalendar(_ zone: String) -> Calendar {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: zone) ?? TimeZone(identifier: "America/New_York")!
        return calendar
    }

    private func calendar(_ zone: String) -> Calendar {
        calendars[zone] ?? Self.makeCalendar(zone)
    }

    /// The jurisdictions whose rules apply to a location: Canada's CRTC for Canadian numbers; otherwise the US federal
    /// floor (also for US territories and, conservatively, the other NANP countries) plus each state's own rule.
    func jurisdictions(_ location: NumberLocation) -> [JurisdictionRule] {
        if location.region == "CA" { return [rules["CA-CRTC"]].compactMap { $0 } }
        return ([rules["US-FED"]] + location.subdivisions.map { rules[$0] }).compactMap { $0 }
    }

    /// The legal window of one local date, or why it is closed.
    func window(on day: HolidayCalendar.Day, jurisdictions: [JurisdictionRule], tenant: DailyWindow?) -> (DailyWindow?, String) {
        var window: DailyWindow? = DailyWindow(start: 0, end: 24 * 60)
        var binding = "US-FED"
        var holidayCache: [HolidayCalendar.Name: [HolidayCalendar.Day: String]] = [:]
        for rule in jurisdictions {
            if let name = rule.holidayCalendar {
                let holidays = holidayCache[name] ?? HolidayCalendar.holidays(name, year: day.year)
                holidayCache[name] = holidays
                if let title = holidays[day] { return (nil, "\(rule.jurisdiction) no calls on \(title)") }
            }
            switch rule.day(weekday: day.weekday) {
            case .closed: return (nil, "\(rule.jurisdiction) no calls on \(Self.weekdayNames[day.weekday - 1])")
            case .noRule: continue
            case .window(let w):
                guard let current = window, let narrowed = current.intersection(w) else { return (nil, "\(rule.jurisdiction) closed") }
                if narrowed != current { binding = rule.jurisdiction }
                window = narrowed
            }
        }
        if let tenant, let current = window {
            guard let narrowed = current.intersection(tenant) else { return (nil, "tenant window \(tenant) outside legal hours") }
            if narrowed != current { binding = "tenant" }
            window = narrowed
        }
        return (window, binding)
    }

    static func twoDigits(_ n: Int) -> String { n < 10 ? "0\(n)" : "\(n)" }

    static let weekdayNames = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]

    /// Checks `number` at `instant`.
    /// - Parameter tenantWindow: the tenant's own daily window in the callee's local time, if it set a stricter one.
    public func evaluate(_ number: PhoneNumber, at instant: Date, tenantWindow: DailyWindow? = nil) -> CallHoursDecision {
        let location = plan.locate(number)
            ?? NumberLocation(timeZones: NumberPlan.continentalZones, region: "US", subdivisions: [], prefix: "", isGeographic: false)
        let applicable = jurisdictions(location)
        let cap = applicable.compactMap(\.maxCalls24h).min()

        // Local date and minute from the zone's UTC offset at that instant (cheaper than Calendar.dateComponents, and
        // exact: the offset already carries DST).
        func local(_ date: Date, _ zone: String) -> (HolidayCalendar.Day, Int) {
            let offset = calendar(zone).timeZone.secondsFromGMT(for: date)
            let seconds = Int((date.timeIntervalSince1970).rounded(.down)) + offset
            let days = seconds >= 0 ? seconds / 86_400 : (seconds - 86_399) / 86_400
            return (HolidayCalendar.Day.civil(days), (seconds - days * 86_400) / 60)
        }
        func allowed(_ date: Date) -> Bool {
            location.timeZones.allSatisfy { zone in
                let (day, minute) = local(date, zone)
                return window(on: day, jurisdictions: applicable, tenant: tenantWindow).0?.contains(minute: minute) ?? false
            }
        }

        var localTimes: [String] = []
        var ruleParts: [String] = []
        for zone in location.timeZones {
            let (day, minute) = local(instant, zone)
            localTimes.append("\(zone) \(day) \(Self.twoDigits(minute / 60)):\(Self.twoDigits(minute % 60)) \(Self.weekdayNames[day.weekday - 1].prefix(3))")
            let (w, binding) = window(on: day, jurisdictions: applicable, tenant: tenantWindow)
            ruleParts.append(w.map { "\(binding) \($0) \(zone)" } ?? "\(binding) (\(zone))")
        }
        let rule = ruleParts.joined(separator: "; ")

        if allowed(instant) {
            return CallHoursDecision(allowed: true, nextAllowed: nil, rule: rule, location: location, localTimes: localTimes, maxCalls24h: cap)
        }
        // The earliest legal instant is a window start in one of the zones: try them in order.
        var candidates: [Date] = []
        for zone in location.timeZones {
            let calendar = calendar(zone)
            let (today, _) = local(instant, zone)
            for offset in 0...Self.horizonDays {
                let day = today.adding(days: offset)
                guard let w = window(on: day, jurisdictions: applicable, tenant: tenantWindow).0,
                    let start = calendar.date(from: DateComponents(year: day.year, month: day.month, day: day.day, hour: w.start / 60, minute: w.start % 60)),
                    start > instant
                else { continue }
                candidates.append(start)
            }
        }
        let next = candidates.sorted().first(where: allowed)
        return CallHoursDecision(allowed: false, nextAllowed: next, rule: rule, location: location, localTimes: localTimes, maxCalls24h: cap)
    }
}
