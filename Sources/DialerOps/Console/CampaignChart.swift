import DialerCore
import Foundation

/// A campaign's dials and call outcomes over time, drawn on the server as SVG (no script, no stylesheet needed:
/// presentation attributes only, which the console's Content-Security-Policy allows), with the same numbers as a table
/// for screen readers and for copying. Pure: from the minutes of `campaign_activity`.
struct CampaignChart: Sendable {
    struct Bucket: Sendable, Hashable {
        let start: Date
        var counts: [String: Int] = [:]
        func n(_ event: String) -> Int { counts[event] ?? 0 }
        var outcomes: Int { CampaignChart.series.reduce(0) { $0 + n($1.event) } }
    }

    /// The outcomes stacked in each bar, bottom up, with their colours (each at least 3:1 against the white page).
    static let series: [(event: String, label: String, colour: String)] = [
        ("outcome_human", "person", "#1a7f37"), ("outcome_completed", "answered, no AMD", "#116329"), ("outcome_unknown", "answered, AMD unsure", "#4b8b3b"),
        ("outcome_machine", "machine", "#6f42c1"), ("outcome_busy", "busy", "#9a4d00"), ("outcome_no_answer", "no answer", "#57606a"),
        ("outcome_failed", "failed", "#cf222e"), ("outcome_canceled", "canceled", "#6e7781"),
    ]
    static let dialColour = "#0969da"
    static let axisColour = "#57606a"
    static let inkColour = "#24292f"
    static let maxBuckets = 48

    let buckets: [Bucket]
    let bucketMinutes: Int

    /// Buckets of whole minutes from the first minute with activity to `now`, at most ``maxBuckets`` of them.
    init(minutes: [(minute: Date, event: String, n: Int)], now: Date) {
        guard let first = minutes.map(\.minute).min() else {
            buckets = []
            bucketMinutes = 1
            return
        }
        let span = max(1, Int((now.timeIntervalSince(first) / 60).rounded(.up)))
        let size = max(1, (span + Self.maxBuckets - 1) / Self.maxBuckets)
        let count = max(1, (span + size - 1) / size)
        var buckets = (0..<count).map { Bucket(start: first.addingTimeInterval(Double($0 * size * 60))) }
        for row in minutes {
            let index = min(count - 1, max(0, Int(row.minute.timeIntervalSince(first) / 60) / size))
            buckets[index].counts[row.event, default: 0] += row.n
        }
        self.buckets = buckets
        self.bucketMinutes = size
    }

    /// The chart, or a sentence when nothing was dialed in the last 24 hours.
    var html: String {
        guard !buckets.isEmpty else { return "<p>No dials in the last 24 hours.</p>" }
        let width = 720.0, height = 220.0, left = 44.0, bottom = 24.0, top = 8.0
        let plotHeight = height - bottom - top, slot = (width - left) / Double(buckets.count)
        let peak = max(1, buckets.map { max($0.n("dial"), $0.outcomes) }.max() ?? 1)
        func y(_ value: Int) -> Double { top + plotHeight - plotHeight * Double(value) / Double(peak) }
        var shapes = ""
        for (index, bucket) in buckets.enumerated() {
            var base = 0
            let x = left + Double(index) * slot + slot * 0.15
            for series in Self.series where bucket.n(series.event) > 0 {
                let value = bucket.n(series.event)
                shapes += #"<rect x="\#(Self.f(x))" y="\#(Self.f(y(base + value)))" width="\#(Self.f(slot * 0.7))" height="\#(Self.f(y(base) - y(base + value)))" fill="\#(series.colour)"><title>\#(series.label): \#(value)</title></rect>"#
                base += value
            }
        }
        let points = buckets.enumerated().map { index, bucket in "\(Self.f(left + (Double(index) + 0.5) * slot)),\(Self.f(y(bucket.n("dial"))))" }
        let line = #"<polyline points="\#(points.joined(separator: " "))" fill="none" stroke="\#(Self.dialColour)" stroke-width="2"/>"#
        let axis = #"<line x1="\#(left)" y1="\#(top + plotHeight)" x2="\#(width)" y2="\#(top + plotHeight)" stroke="\#(Self.axisColour)"/>"#
            + #"<text x="\#(left - 6)" y="\#(top + 10)" text-anchor="end" font-size="11" fill="\#(Self.inkColour)">\#(ConsoleHTML.count(peak))</text>"#
            + #"<text x="\#(left - 6)" y="\#(top + plotHeight)" text-anchor="end" font-size="11" fill="\#(Self.inkColour)">0</text>"#
            + #"<text x="\#(left)" y="\#(height - 6)" font-size="11" fill="\#(Self.inkColour)">\#(Self.clock(buckets.first!.start)) UTC</text>"#
            + #"<text x="\#(width)" y="\#(height - 6)" text-anchor="end" font-size="11" fill="\#(Self.inkColour)">\#(Self.clock(buckets.last!.start)) UTC</text>"#
        let legend = ([(label: "dials", colour: Self.dialColour)] + Self.series.map { ($0.label, $0.colour) }).map { label, colour in
            #"<li><svg width="12" height="12" aria-hidden="true"><rect width="12" height="12" fill="\#(colour)"/></svg> \#(label)</li>"#
        }.joined()
        let header = "<tr><th scope=\"col\">From (UTC)</th><th scope=\"col\">dials</th>" + Self.series.map { "<th scope=\"col\">\($0.label)</th>" }.joined() + "</tr>"
        let rows = buckets.map { bucket in
            "<tr><th scope=\"row\">\(Self.clock(bucket.start))</th><td class=\"num\">\(bucket.n("dial"))</td>"
                + Self.series.map { "<td class=\"num\">\(bucket.n($0.event))</td>" }.joined() + "</tr>"
        }.joined()
        let total = buckets.reduce(0) { $0 + $1.n("dial") }
        return """
            <figure class="chart">
            <svg viewBox="0 0 \(Int(width)) \(Int(height))" role="img" aria-labelledby="chart-title chart-desc">
            <title id="chart-title">Dials and outcomes, \(bucketMinutes) minute\(bucketMinutes == 1 ? "" : "s") per bar</title>
            <desc id="chart-desc">\(ConsoleHTML.count(total)) dials from \(Self.clock(buckets.first!.start)) UTC; bars are the calls that ended, by outcome; the line is dials.</desc>
            \(axis)\(shapes)\(line)
            </svg>
            <figcaption><ul class="legend">\(legend)</ul></figcaption>
            </figure>
            <details><summary>The chart's numbers</summary><div class="scroll"><table class="chart-data"><thead>\(header)</thead><tbody>\(rows)</tbody></table></div></details>
            """
    }

    static func f(_ value: Double) -> String { String(format: "%.1f", value) }
    static func clock(_ date: Date) -> String { String(DialGate.iso(date).dropFirst(11).prefix(5)) }
}
