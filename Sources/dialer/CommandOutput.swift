import DialerCore
import Foundation

/// A command with a `--json` flag: with it, its answer, and any failure, is one JSON object on stdout.
protocol JSONAnswering: SendableMetatype {
    var json: Bool { get }
}

func printError(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

func printErrorNoNewline(_ text: String) {
    FileHandle.standardError.write(Data(text.utf8))
}

/// "campaign spring of tenant acme", or "tenant acme".
func describe(tenant: String, campaign: String?) -> String {
    campaign.map { "campaign \($0) of tenant \(tenant)" } ?? "tenant \(tenant)"
}

/// An `invalid_request` about a flag's value; `details.flag` names it.
func invalidFlag(_ flag: String, _ message: String) -> OpenPhnError {
    OpenPhnError(.invalidRequest, message, details: ["flag": .string(flag)])
}

/// Validates a number typed on the command line; an invalid one is `invalid_phone` naming the flag or argument.
func parsePhone(_ text: String, flag: String? = nil) throws(OpenPhnError) -> PhoneNumber {
    do { return try PhoneNumber(validating: text) } catch {
        guard let flag else { throw error }
        throw OpenPhnError(error.error, "\(flag): \(error.message)", details: error.details.merging(["flag": .string(flag)]) { $1 })
    }
}

/// Ends the process (`exit(3)` itself, which a command type's static `exit(withError:)` would shadow).
func terminate(_ status: Int32) -> Never {
    exit(status)
}
