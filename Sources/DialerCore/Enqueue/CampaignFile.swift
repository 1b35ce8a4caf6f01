import Foundation

/// A campaign in CSV form: a header row naming the columns, one call per row.
///
/// Columns: `to` (required), and optionally `from`, `objective`, `outcome_schema` (JSON), `priority`, `run_at` and
/// `expires_at` (ISO-8601), `max_attempts`, `idempotency_key`, `campaign_id`. A column left out, or an empty cell, takes
/// the default given on the command line. Without an `idempotency_key` column each row's key is derived from the campaign
/// and the destination, so importing the same file twice creates no second job.
public struct CampaignFile: Sendable {
    /// A row that did not validate: its 1-based line in the file and the OpenPhn error.
    public struct RowError: Sendable, Hashable, CustomStringConvertible {
        public let line: Int
        public let error: OpenPhnError
        public var description: String { "line \(line): \(error.error.rawValue): \(error.message)" }
    }

    public var requests: [ValidatedCallRequest] = []
    /// The file line each request came from, in the same order.
    public var lines: [Int] = []
    public var errors: [RowError] = []

    static let columns: Set<String> = ["to", "from", "objective", "outcome_schema", "priority", "run_at", "expires_at", "max_attempts",
                                       "idempotency_key", "campaign_id"]

    /// Parses and validates every row; nothing is thrown for a bad row, it is listed in `errors`.
    /// - Parameter defaults: the values for columns a row leaves empty (tenant, campaign, objective, ...).
    public static func parse(_ text: String, defaults: CallRequest) throws(OpenPhnError) -> CampaignFile {
        let rows = CSV.rows(text)
        guard let header = rows.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }), header.contains("to") else {
            throw OpenPhnError(.invalidRequest, "The campaign file needs a header row with a 'to' column.")
        }
        if let unknown = header.first(where: { !columns.contains($0) }) {
            throw OpenPhnError(.invalidRequest, "Unknown column '\(unknown)' in the campaign file.", details: ["column": .string(unknown)])
        }
        var file = CampaignFile()
        let iso = ISO8601DateFormatter()
        for row in rows.dropFirst() where !(row.fields.count == 1 && row.fields[0].isEmpty) {
            var cells: [String: String] = [:]
            for (index, name) in header.enumerated() where index < row.fields.count {
                let value = row.fields[index].trimmingCharacters(in: .whitespaces)
                if !value.isEmpty { cells[name] = value }
            }
            do throws(OpenPhnError) {
                guard row.fields.count == header.count else {
                    throw OpenPhnError(.invalidRequest, "Row has \(row.fields.count) fields; the header has \(header.count).")
                }
                var request = defaults
                request.to = cells["to"] ?? ""
                if let v = cells["from"] { request.from = v }
                if let v = cells["objective"] { request.objective = v }
                if let v = cells["campaign_id"] { request.campaignID = v }
                if let v = cells["outcome_schema"] {
                    guard let schema = JSONValue.parse(v) else {
                        throw OpenPhnError(.outcomeSchemaInvalid, "outcome_schema is not valid JSON.", details: ["field": "outcome_schema"])
                    }
                    request.outcomeSchema = schema
                }
                if let v = cells["priority"] { request.priority = try integer(v, field: "priority") }
                if let v = cells["max_attempts"] { request.maxAttempts = try integer(v, field: "max_attempts") }
                if let v = cells["run_at"] { request.runAt = try date(v, field: "run_at", iso) }
                if let v = cells["expires_at"] { request.expiresAt = try date(v, field: "expires_at", iso) }
                request.idempotencyKey = cells["idempotency_key"] ?? request.campaignID.map { "campaign:\($0):\(request.to)" }
                file.requests.append(try request.validated())
                file.lines.append(row.line)
            } catch {
                file.errors.append(RowError(line: row.line, error: error))
            }
        }
        return file
    }

    private static func integer(_ text: String, field: String) throws(OpenPhnError) -> Int {
        guard let value = Int(text) else {
            throw OpenPhnError(.invalidRequest, "\(field) must be a whole number, got '\(text)'.", details: ["field": .string(field)])
        }
        return value
    }

    private static func date(_ text: String, field: String, _ iso: ISO8601DateFormatter) throws(OpenPhnError) -> Date {
        guard let value = iso.date(from: text) else {
            throw OpenPhnError(.invalidRequest, "\(field) must be an ISO-8601 instant such as 2026-11-25T15:00:00Z, got '\(text)'.",
                               details: ["field": .string(field)])
        }
        return value
    }
}

/// RFC 4180 CSV: commas, double-quoted fields with "" escapes and embedded newlines, CRLF or LF line ends.
enum CSV {
    struct Row {
        let line: Int
        let fields: [String]
    }

    static func rows(_ text: String) -> [Row] {
        var rows: [Row] = []
        var fields: [String] = []
        var field = ""
        var inQuotes = false
        var line = 1
        var rowStart = 1
        var iterator = Array(text.unicodeScalars).makeIterator()
        var pending: Unicode.Scalar? = nil
        func endRow() {
            fields.append(field)
            rows.append(Row(line: rowStart, fields: fields))
            fields = []
            field = ""
        }
        while let c = pending ?? iterator.next() {
            pending = nil
            if inQuotes {
                if c == "\"" {
                    if let next = iterator.next() {
                        if next == "\"" { field.unicodeScalars.append("\"") } else { inQuotes = false; pending = next }
                    } else { inQuotes = false }
                } else {
                    if c == "\n" { line += 1 }
                    field.unicodeScalars.append(c)
                }
                continue
            }
            switch c {
            case "\"" where field.isEmpty: inQuotes = true
            case ",":
                fields.append(field)
                field = ""
            case "\r": continue
            case "\n":
                endRow()
                line += 1
                rowStart = line
            default: field.unicodeScalars.append(c)
            }
        }
        if !field.isEmpty || !fields.isEmpty { endRow() }
        return rows
    }
}
