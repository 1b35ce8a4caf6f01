import Foundation

/// Where a NANP number rings, as far as its digits tell: the time zones it may be in, its country and its state or
/// province. From libphonenumber's data (ComplianceData/nanp_tz.csv), longest prefix wins.
public struct NumberLocation: Sendable, Hashable {
    /// IANA zones the callee may be in; a call must be legal in every one of them.
    public let timeZones: [String]
    /// ISO country of the number: US, CA, PR, DO, ...
    public let region: String
    /// USPS state or Canada Post province codes (usually one; 867 spans NT/NU/YT).
    public let subdivisions: [String]
    /// The data row that decided: an NPA, a finer prefix, or the non-geographic fallback.
    public let prefix: String
    /// Non-geographic numbers (toll-free, 5XX, 600) have no location; they get the continental zones.
    public let isGeographic: Bool
}

/// The North American Numbering Plan as the dialer needs it: which numbers are dialable and where they ring.
public struct NumberPlan: Sendable {
    struct Row: Sendable {
        let region: String
        let subdivisions: [String]
        let zones: [String]
        let geographic: Bool
    }

    private let rows: [String: Row]
    /// NPAs present in the data (assigned and in service).
    private let assignedNPAs: Set<Int>
    /// Every zone the plan can answer.
    public let allZones: Set<String>

    /// A non-geographic number may ring anywhere: a call is allowed only when it is legal in all of these.
    public static let continentalZones = ["America/New_York", "America/Chicago", "America/Denver", "America/Phoenix", "America/Los_Angeles"]

    /// Known errors of the upstream data, corrected here (ComplianceData/NOTICE lists them with reasons).
    static let corrections: [String: [String]] = [
        "689": ["America/New_York"],
        "474": ["America/Regina"],
        "257": ["America/Edmonton", "America/Vancouver"],
        "907581": ["America/Anchorage"],
    ]

    /// The plan shipped with this build.
    public static let shipped: NumberPlan = {
        guard let url = Bundle.module.url(forResource: "ComplianceData/nanp_tz", withExtension: "csv"),
            let text = try? String(contentsOf: url, encoding: .utf8)
        else { fatalError("ComplianceData/nanp_tz.csv is missing from the DialerCore resources") }
        return NumberPlan(csv: text)
    }()

    /// Parses the exporter's CSV (header: prefix, npa, level, region, subdivision, ..., tz_source, ..., recommended_time_zones, ...).
    public init(csv text: String) {
        let table = CSV.rows(text)
        guard let header = table.first?.fields else {
            rows = [:]
            assignedNPAs = []
            allZones = Set(Self.continentalZones)
            return
        }
        func column(_ name: String) -> Int { header.firstIndex(of: name) ?? -1 }
        let (prefixCol, npaCol, regionCol, subCol, sourceCol, zonesCol) =
            (column("prefix"), column("npa"), column("region"), column("subdivision"), column("tz_source"), column("recommended_time_zones"))
        var rows: [String: Row] = [:]
        var npas = Set<Int>()
        for row in table.dropFirst() where row.fields.count == header.count {
            let f = row.fields
            let prefix = f[prefixCol]
            var zones = f[zonesCol].split(separator: "|").map(String.init)
            let subdivisions = f[subCol].split(separator: "|").map(String.init)
            if let corrected = Self.corrections[prefix] { zones = corrected }
            // Yukon keeps UTC-7 all year (America/Whitehorse); the data files its exchanges under Vancouver.
            if f[npaCol] == "867", subdivisions.contains("YT") { zones = zones.map { $0 == "America/Vancouver" ? "America/Whitehorse" : $0 } }
            if f[npaCol] == "879" { zones.removeAll { $0 == "America/Puerto_Rico" } }
            rows[prefix] = Row(region: f[regionCol], subdivisions: subdivisions, zones: zones, geographic: f[sourceCol] != "country_fallback")
            if let npa = Int(f[npaCol]) { npas.insert(npa) }
        }
        self.rows = rows
        self.assignedNPAs = npas
        self.allZones = Set(rows.values.flatMap(\.zones) + Self.continentalZones)
    }

    /// Checks the number-plan rules beyond E.164 shape: an assigned area code, no premium 900, no fictional 555-01XX,
    /// no N9X expansion or 37X/96X reserved codes (those are never in the data, so "assigned" covers them).
    public func validate(_ number: PhoneNumber) throws(OpenPhnError) {
        let digits = Array(number.e164.dropFirst(2))
        let npa = number.areaCode
        let nxx = Int(String(digits[3..<6]))!
        let line = Int(String(digits[6..<10]))!
        if npa == 900 {
            throw OpenPhnError(.invalidPhone, "\(number.e164) is a premium-rate (900) number; OpenPhn does not call those.",
                               details: ["area_code": 900, "reason": "premium"])
        }
        if nxx == 555, (100...199).contains(line) {
            throw OpenPhnError(.invalidPhone, "\(number.e164) is in the fictional 555-0100 to 555-0199 range.",
                               details: ["reason": "fictional"])
        }
        guard assignedNPAs.contains(npa) else {
            throw OpenPhnError(.invalidPhone, "Area code \(npa) is not an assigned NANP area code.",
                               details: ["area_code": .number(Double(npa)), "reason": "unassigned_area_code"])
        }
    }

    /// The longest data row matching the number (NPA + up to 3 more digits).
    public func locate(_ number: PhoneNumber) -> NumberLocation? {
        let national = String(number.e164.dropFirst(2))
        for length in stride(from: 7, through: 3, by: -1) {
            let prefix = String(national.prefix(length))
            guard let row = rows[prefix] else { continue }
            if !row.geographic || row.zones.isEmpty {
                return NumberLocation(timeZones: Self.continentalZones, region: row.region, subdivisions: [], prefix: prefix, isGeographic: false)
            }
            // A finer row may lack the subdivision; inherit it from the NPA row.
            let subdivisions = row.subdivisions.isEmpty ? (rows[String(national.prefix(3))]?.subdivisions ?? []) : row.subdivisions
            return NumberLocation(timeZones: row.zones, region: row.region, subdivisions: subdivisions, prefix: prefix, isGeographic: true)
        }
        return nil
    }
}
