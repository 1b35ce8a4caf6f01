import ArgumentParser
import DialerCore

/// `dialer sql NAME` (hidden; used by `ops/bench`): prints one of the store's statements exactly as the worker sends
/// it, with its parameters replaced by pgbench variables (`:name`) or by the SQL given with `--set name=SQL`. The
/// benchmark measures the worker's own statements this way instead of keeping copies that drift.
struct SQLCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sql",
        abstract: "Print a statement of the store (claim, record) with pgbench variables for its parameters.",
        shouldDisplay: false)
    @Argument(help: "The statement: \(JobStore.namedStatements.map(\.name).joined(separator: ", ")).")
    var name: String
    @Option(name: .customLong("set"), help: "name=SQL: put this SQL text in place of a parameter (repeatable).")
    var values: [String] = []

    func run() throws {
        guard let statement = JobStore.namedStatements.first(where: { $0.name == name }) else {
            printError("dialer: invalid_request: no statement '\(name)'; known: \(JobStore.namedStatements.map(\.name).joined(separator: ", "))")
            throw ExitCode(2)
        }
        var substitutions: [String: String] = [:]
        for value in values {
            let parts = value.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, statement.parameters.contains(String(parts[0])) else {
                printError("dialer: invalid_request: --set takes name=SQL with name one of \(statement.parameters.joined(separator: ", "))")
                throw ExitCode(2)
            }
            substitutions[String(parts[0])] = String(parts[1])
        }
        print(statement.rendered(substitutions) + ";")
    }
}
