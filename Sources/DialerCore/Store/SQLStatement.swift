import PostgresNIO

/// A statement of the store whose text is written once, with numbered placeholders (`$1`, `$2`...): the store binds
/// its parameters, and `dialer sql NAME` prints the same text for benchmarks and DBAs (River keeps its queries in
/// named `.sql` files for the same reason), so no tool carries a copy that can drift.
public struct SQLStatement: Sendable, Hashable {
    /// What `dialer sql` calls it.
    public let name: String
    /// The statement, with `$n` for the n-th of ``parameters``.
    public let text: String
    /// The parameters' names, in placeholder order (`$1` is the first).
    public let parameters: [String]

    init(name: String, parameters: [String], text: String) {
        self.name = name
        self.parameters = parameters
        self.text = text
    }

    /// The statement with these values bound, in ``parameters`` order.
    func query(_ binds: PostgresBindings) -> PostgresQuery {
        precondition(binds.count == parameters.count, "\(name) takes \(parameters.count) parameters")
        return PostgresQuery(unsafeSQL: text, binds: binds)
    }

    /// The text with every `$n` replaced by `values[name]` (SQL text, inserted as is) or, for a parameter not given,
    /// by the pgbench variable `:name`.
    public func rendered(_ values: [String: String] = [:]) -> String {
        var out = ""
        var chars = text[...]
        while let dollar = chars.firstIndex(of: "$") {
            out += chars[..<dollar]
            let digits = chars[chars.index(after: dollar)...].prefix { $0.isASCII && $0.isNumber }
            guard let n = Int(digits), (1...parameters.count).contains(n) else {
                out.append("$")
                chars = chars[chars.index(after: dollar)...]
                continue
            }
            let name = parameters[n - 1]
            out += values[name] ?? ":\(name)"
            chars = chars[digits.endIndex...]
        }
        return out + chars
    }
}

extension JobStore {
    /// The statements `dialer sql` can print: the two every dial pays for, and the two after it (storing callbacks,
    /// applying an outcome).
    public static let namedStatements: [SQLStatement] = [claimStatement, recordStatement, recordCallbacksStatement, settledCallsStatement, settleStatement]
}
