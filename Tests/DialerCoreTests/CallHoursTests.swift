import Foundation
import Testing

@testable import DialerCore

@Suite("Calling hours in the callee's time zones")
struct CallHoursTests {
    struct Case: CustomTestStringConvertible, Sendable {
        let number: String
        let at: String
        /// nil: allowed now; otherwise the exact next legal instant.
        let next: String?
        let rule: String?
        let note: String
        var testDescription: String { "\(note): \(number) at \(at)" }
    }

    static let cases: [Case] = [
        Case(number: "+12125551234", at: "2026-12-02T13:00:00Z", next: nil, rule: "US-FED 08:00-21:00 America/New_York", note: "federal window opens at 08:00"),
        Case(number: "+12125551234", at: "2026-12-02T12:59:00Z", next: "2026-12-02T13:00:00Z", rule: nil, note: "07:59 is too early"),
        Case(number: "+12125551234", at: "2026-12-03T01:59:00Z", next: nil, rule: nil, note: "20:59 is still legal"),
        Case(number: "+12125551234", at: "2026-12-03T02:00:00Z", next: "2026-12-03T13:00:00Z", rule: nil, note: "21:00 is too late: next morning"),
        Case(number: "+12125551234", at: "2026-03-08T11:59:00Z", next: "2026-03-08T12:00:00Z", rule: nil, note: "DST start day: 08:00 EDT is 12:00Z"),
        Case(number: "+12125551234", at: "2026-03-08T12:00:00Z", next: nil, rule: nil, note: "DST start day: open at 08:00 EDT"),
        Case(number: "+12125551234", at: "2026-11-01T12:30:00Z", next: "2026-11-01T13:00:00Z", rule: nil, note: "DST end day: 12:30Z is 07:30 EST"),
        Case(number: "+12125551234", at: "2026-10-31T12:30:00Z", next: nil, rule: nil, note: "the day before DST ends: 12:30Z is 08:30 EDT"),
        Case(number: "+13055551234", at: "2026-12-03T01:30:00Z", next: "2026-12-03T13:00:00Z", rule: "FL 08:00-20:00 America/New_York", note: "Florida stops at 8 p.m."),
        Case(number: "+12065551234", at: "2026-12-03T04:30:00Z", next: "2026-12-03T16:00:00Z", rule: "WA 08:00-20:00", note: "Washington stops at 8 p.m."),
        Case(number: "+18505551234", at: "2026-12-02T13:30:00Z", next: "2026-12-02T14:00:00Z", rule: nil, note: "850 spans Eastern and Central: wait for Central"),
        Case(number: "+18505551234", at: "2026-12-03T00:30:00Z", next: nil, rule: nil, note: "850 at 19:30 ET / 18:30 CT"),
        Case(number: "+18505551234", at: "2026-12-03T01:00:00Z", next: "2026-12-03T14:00:00Z", rule: nil, note: "850: 8 p.m. Eastern closes it"),
        Case(number: "+12085551234", at: "2026-12-02T15:30:00Z", next: "2026-12-02T16:00:00Z", rule: nil, note: "208-5xx spans Mountain (Boise) and Pacific"),
        Case(number: "+12083851234", at: "2026-12-02T15:30:00Z", next: nil, rule: nil, note: "208-3xx is Mountain only (finer prefix)"),
        Case(number: "+15415551234", at: "2026-12-03T04:30:00Z", next: "2026-12-03T16:00:00Z", rule: nil, note: "541 spans Mountain and Pacific"),
        Case(number: "+16055551234", at: "2026-12-02T14:30:00Z", next: "2026-12-02T15:00:00Z", rule: nil, note: "605 spans Central and Mountain"),
        Case(number: "+19155551234", at: "2026-11-29T17:30:00Z", next: "2026-11-29T19:00:00Z", rule: "TX 12:00-21:00 America/Denver", note: "El Paso is Mountain; Texas Sunday starts at noon"),
        Case(number: "+15125551234", at: "2026-11-29T17:30:00Z", next: "2026-11-29T18:00:00Z", rule: nil, note: "Texas Sunday noon, Central"),
        Case(number: "+15125551234", at: "2026-11-28T14:30:00Z", next: "2026-11-28T15:00:00Z", rule: "TX 09:00-21:00", note: "Texas Saturday from 9 a.m."),
        Case(number: "+15045551234", at: "2026-11-29T18:00:00Z", next: "2026-11-30T14:00:00Z", rule: "LA no calls on Sunday", note: "Louisiana: no Sunday calls"),
        Case(number: "+18015551234", at: "2026-11-29T18:00:00Z", next: "2026-11-30T15:00:00Z", rule: nil, note: "Utah: no Sunday calls"),
        Case(number: "+12155551234", at: "2026-11-26T18:00:00Z", next: "2026-11-27T13:00:00Z", rule: "PA no calls on Thanksgiving Day", note: "Pennsylvania holiday"),
        Case(number: "+18015551234", at: "2026-07-24T18:00:00Z", next: "2026-07-25T14:00:00Z", rule: "UT no calls on Pioneer Day", note: "Utah holiday"),
        Case(number: "+14015551234", at: "2026-11-28T14:30:00Z", next: "2026-11-28T15:00:00Z", rule: "RI 10:00-17:00", note: "Rhode Island Saturday hours"),
        Case(number: "+12035551234", at: "2026-12-02T13:30:00Z", next: "2026-12-02T14:00:00Z", rule: nil, note: "Connecticut starts at 9 a.m."),
        Case(number: "+14165551234", at: "2026-11-28T14:30:00Z", next: "2026-11-28T15:00:00Z", rule: "CA-CRTC 10:00-18:00 America/Toronto", note: "Canada: weekend 10:00-18:00"),
        Case(number: "+14165551234", at: "2026-12-03T02:15:00Z", next: nil, rule: "CA-CRTC 09:00-21:30", note: "Canada: weekdays until 21:30"),
        Case(number: "+14745551234", at: "2026-07-15T13:30:00Z", next: "2026-07-15T15:00:00Z", rule: "CA-CRTC 09:00-21:30 America/Regina", note: "474 is Saskatchewan, UTC-6 all year (Winnipeg would say 14:00Z)"),
        Case(number: "+16715551234", at: "2026-11-29T17:30:00Z", next: "2026-11-29T22:00:00Z", rule: nil, note: "Guam is UTC+10"),
        Case(number: "+18005551234", at: "2026-12-02T14:30:00Z", next: "2026-12-02T16:00:00Z", rule: nil, note: "toll-free: legal only when legal coast to coast"),
    ]

    enum iso {
        static func date(from text: String) -> Date? { ISO8601DateFormatter().date(from: text) }
        static func string(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
    }

    @Test("numbers x instants x expected decisions", arguments: cases)
    func table(_ c: Case) throws {
        let decision = CallHours.shipped.evaluate(try PhoneNumber(validating: c.number), at: Self.iso.date(from: c.at)!)
        #expect(decision.allowed == (c.next == nil))
        #expect(decision.nextAllowed.map { Self.iso.string($0) } == c.next)
        if let rule = c.rule { #expect(decision.rule.contains(rule), "\(decision.rule)") }
    }

    @Test("a multi-zone number reports every zone and its local time")
    func multiZone() throws {
        let decision = CallHours.shipped.evaluate(try PhoneNumber(validating: "+18505551234"), at: Self.iso.date(from: "2026-12-02T13:30:00Z")!)
        #expect(Set(decision.location.timeZones) == ["America/Chicago", "America/New_York"])
        #expect(decision.location.subdivisions == ["FL"])
        #expect(decision.localTimes.contains("America/Chicago 2026-12-02 07:30 Wed"))
        #expect(decision.maxCalls24h == 3)
    }

    @Test("a tenant window narrows the legal window but never widens it")
    func tenantWindow() throws {
        let ny = try PhoneNumber(validating: "+12125551234")
        let narrow = CallHours.shipped.evaluate(ny, at: Self.iso.date(from: "2026-12-02T14:30:00Z")!, tenantWindow: DailyWindow("10:00-18:00"))
        #expect(!narrow.allowed)
        #expect(narrow.nextAllowed == Self.iso.date(from: "2026-12-02T15:00:00Z"))
        #expect(narrow.rule.contains("tenant 10:00-18:00"))
        let wide = CallHours.shipped.evaluate(ny, at: Self.iso.date(from: "2026-12-03T02:30:00Z")!, tenantWindow: DailyWindow("06:00-23:00"))
        #expect(!wide.allowed)
    }

    @Test("holiday calendars: observed days, Easter-based days, nth weekdays")
    func holidays() {
        let pa2026 = HolidayCalendar.holidays(.pennsylvania, year: 2026)
        #expect(pa2026[.init(2026, 4, 3)] == "Good Friday")
        #expect(pa2026[.init(2026, 11, 3)] == "Election Day")
        #expect(pa2026[.init(2026, 11, 26)] == "Thanksgiving Day")
        #expect(pa2026[.init(2026, 6, 19)] == nil)
        let ri2026 = HolidayCalendar.holidays(.stateOrFederal, year: 2026)
        #expect(ri2026[.init(2026, 7, 3)] == "Independence Day (observed)")
        #expect(ri2026[.init(2026, 8, 10)] == "Victory Day")
        #expect(HolidayCalendar.holidays(.louisiana, year: 2027)[.init(2027, 2, 9)] == "Mardi Gras")
        #expect(HolidayCalendar.holidays(.alabama, year: 2026)[.init(2026, 5, 25)] == "Memorial Day")
        #expect(HolidayCalendar.Day(2026, 11, 25).weekday == 4)
    }

    @Test("number plan: unassigned, premium and fictional numbers are invalid_phone; corrected zones are used")
    func numberPlan() throws {
        for text in ["+19005551234", "+12125550150", "+13735551234", "+19295551234".replacingOccurrences(of: "929", with: "290")] {
            #expect(throws: OpenPhnError.self) { try NumberPlan.shipped.validate(try PhoneNumber(validating: text)) }
        }
        try NumberPlan.shipped.validate(try PhoneNumber(validating: "+12125550200"))
        #expect(NumberPlan.shipped.locate(try PhoneNumber(validating: "+16895551234"))?.timeZones == ["America/New_York"])
        #expect(NumberPlan.shipped.locate(try PhoneNumber(validating: "+19075811234"))?.timeZones == ["America/Anchorage"])
        #expect(NumberPlan.shipped.locate(try PhoneNumber(validating: "+18673931234"))?.timeZones == ["America/Whitehorse"])
        #expect(NumberPlan.shipped.locate(try PhoneNumber(validating: "+18005551234"))?.isGeographic == false)
    }
}
