import Foundation

/// A campaign in CSV form: a header row naming the columns, one call per row.
///
/// Columns: `to` (required), and optionally `from`, `objective`, `outcome_schema` (JSON), `priority`, `run_at` and
/// `expires_at` (ISO-8601), `max_attempts`, `idempotency_key`, `campaign_id`, and the consent evidence: `purpose`
/// (informational or telemarketing), `consent_type` (prior_express_written or pewc, prior_express or pec), `consent_at`
/// (ISO-8601, not in the future) and `consent_source`. A column left out, or an empty cell, takes the default given on the
/// command line. A row without consent, or telemarketing without written consent, is a bad row (`consent_required`).
/// Without an `idempotency_key` column each row's key is derived from the campaign and the destination, so importing the
/// same file twice creates no second job.
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

    static let columns: [String: CallRequest.Field] = Dictionary(uniqueKeysWithValues: CallRequest.Field.allCases
        .filter { $0 != .tenantID }.map { ($0.rawValue, $0) })

    /// The text of a campaign file's bytes: UTF-8, with or without the byte-order mark spreadsheets write. Anything else
    /// is refused with where it stops being UTF-8, so the operator can find the cell (a Latin-1 "é" from an old export).
    public static func text(_ data: Data) throws(OpenPhnError) -> String {
        let bytes = [UInt8](data)
        if bytes.starts(with: [0xFF, 0xFE]) || bytes.starts(with: [0xFE, 0xFF]) {
            throw OpenPhnError(.invalidRequest, "is UTF-16, not UTF-8: save it as CSV UTF-8.", details: ["encoding": "utf-16"])
        }
        if let text = String(validating: bytes, as: UTF8.self) {
            return text.unicodeScalars.first == "\u{FEFF}" ? String(text.unicodeScalars.dropFirst()) : text
        }
        var parser = Unicode.UTF8.ForwardParser()
        var iterator = bytes.makeIterator()
        var offset = 0
        while case .valid(let scalar) = parser.parseScalar(from: &iterator) { offset += scalar.count }
        let line = bytes[..<offset].count { $0 == UInt8(ascii: "\n") } + 1
        throw OpenPhnError(.invalidRequest, "is not UTF-8: byte \(offset + 1) (line \(line)) is not valid UTF-8; save the file as CSV UTF-8.",
                           details: ["byte": .number(Double(offset + 1)), "line": .number(Double(line))])
    }

    /// Parses and validates every row; nothing is thrown for a bad row, it is listed in `errors`.
    ///
    /// A destination named again on a later row gets no derived key: the store collapses it onto the first row (one
    /// enqueue never rings a person twice), where a second copy of the first row's key with another objective would
    /// be refused as an idempotency conflict.
    /// - Parameters:
    ///   - defaults: the values for columns a row leaves empty (tenant, campaign, objective, ...).
    ///   - now: the clock at enqueue, for the expiry check.
    public static func parse(_ text: String, defaults: CallRequest, now: Date = Date()) throws(OpenPhnError) -> CampaignFile {
        let rows = CSV.rows(text)
        guard let header = rows.first?.fields.map({ $0.trimmingCharacters(in: .whitespaces).lowercased() }), header.contains("to") else {
            throw OpenPhnError(.invalidRequest, "The campaign file needs a header row with a 'to' column.")
        }
        if let unknown = header.first(where: { columns[$0] == nil }) {
            throw OpenPhnError(.invalidRequest, "Unknown column '\(unknown)' in the campaign file.", details: ["column": .string(unknown)])
        }
        var file = CampaignFile()
        var keyedDestinations: Set<String> = []
        for row in rows.dropFirst() where !(row.fields.count == 1 && row.fields[0].isEmpty) {
            do throws(OpenPhnError) {
                guard row.fields.count == header.count else {
                    throw OpenPhnError(.invalidRequest, "Row has \(row.fields.count) fields; the header has \(header.count).")
                }
                var request = defaults
                request.to = ""
                var keyed = false
                for (index, name) in header.enumerated() {
                    let value = row.fields[index].trimmingCharacters(in: .whitespaces)
                    guard !value.isEmpty, let field = columns[name] else { continue }
                    try request.set(field, text: value)
                    keyed = keyed || field == .idempotencyKey
                }
                if !keyed {
                    request.idempotencyKey = keyedDestinations.contains(request.to) ? nil : request.campaignID.map { "campaign:\($0):\(request.to)" }
                }
                file.requests.append(try request.validated(now: now))
                file.lines.append(row.line)
                if !keyed, request.idempotencyKey != nil { keyedDestinations.insert(request.to) }
            } catch {
                file.errors.append(RowError(line: row.line, error: error))
            }
        }
        return file
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
