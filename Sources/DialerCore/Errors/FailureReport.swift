import Foundation
import NIOCore
import NIOPosix
import PostgresNIO
import ServiceLifecycle

/// What an operator is told about a failure: a stable code, one line that says what went wrong and what to do, the
/// details, and the exit status of the command that failed. Every error a command can meet maps to one, so nothing
/// prints a library's reflection of its internals (a `ServiceGroupError` names the service by dumping its fields, and
/// `PSQLError` describes itself only as "Generic description").
///
/// Codes are the OpenPhn ones (reference/openphn-errors.txt) for request errors, plus four for the command line's own
/// failures: `invalid_setting`, `database_unavailable`, `migrations_pending` and `internal_error`.
public struct FailureReport: Error, Sendable, Hashable {
    public let code: String
    /// One line, without the program's name.
    public let message: String
    public let details: [String: JSONValue]
    /// 2: the input is wrong (flags, files, settings) and nothing was done; 1: the command failed.
    public let exitStatus: Int32

    public init(code: String, message: String, details: [String: JSONValue] = [:], exitStatus: Int32 = 1) {
        self.code = code
        self.message = message.split(whereSeparator: \.isNewline).joined(separator: " ")
        self.details = details
        self.exitStatus = exitStatus
    }

    /// The line printed on stderr after `dialer: `: `code: message`, or for a setting, its name and the problem.
    public var line: String { code == Self.invalidSetting ? message : "\(code): \(message)" }

    /// The contract's `{error, message, details}` object.
    public var json: JSONValue { .object(["error": .string(code), "message": .string(message), "details": .object(details)]) }

    static let invalidSetting = "invalid_setting"

    /// Codes whose errors mean the request itself is wrong: fixing the input is the only remedy (exit status 2).
    static let inputCodes: Set<ErrorCode> = [.invalidRequest, .invalidPhone, .outcomeSchemaInvalid, .consentRequired]

    /// The report for any error a command can meet.
    public init(_ error: any Error) {
        switch error {
        case let report as FailureReport:
            self = report
        case let error as OpenPhnError:
            self.init(code: error.error.rawValue, message: error.message, details: error.details,
                      exitStatus: Self.inputCodes.contains(error.error) ? 2 : 1)
        case let error as SettingError:
            self.init(code: Self.invalidSetting, message: error.description, details: ["setting": .string(error.setting)], exitStatus: 2)
        case let error as PSQLError where error.code == .server:
            let sqlState = error.serverInfo?[.sqlState] ?? "?"
            self.init(code: "internal_error",
                      message: "the database refused a statement: \(error.serverInfo?[.message] ?? "no message") (SQLSTATE \(sqlState)); "
                          + "if `dialer migrate` does not help, report it with the command that failed",
                      details: ["sqlstate": .string(sqlState)])
        case let error as PSQLError:
            self.init(code: "database_unavailable", message: "the database connection failed (\(Self.cause(of: error))); run the command again, "
                        + "and check PostgreSQL's log if it keeps failing",
                      details: ["cause": .string(error.code.description)])
        case let error as ServiceGroupError:
            let what = error.errorCode == .serviceFinishedUnexpectedly
                ? "a part of the worker stopped on its own, which is a bug; the worker shut down (the log lines above say which part)"
                : "the worker's services could not run: \(error.errorCode.description)"
            self.init(code: "internal_error", message: what)
        case let error as TimeoutError:
            self.init(code: "internal_error", message: "\(error.description); run the command again")
        case let error as PostgresDecodingError:
            self.init(code: "internal_error",
                      message: "a database value of column \(error.columnName) could not be read (\(error.code)); is this build older than the database?")
        case is CancellationError:
            self.init(code: "internal_error", message: "the command was cancelled before it finished")
        default:
            self.init(code: "internal_error", message: "unexpected \(Self.cause(of: error)); run it again with DIALER_LOG_LEVEL=debug and report it")
        }
    }

    /// A usage error of the command line (an unknown option, a missing value): `invalid_request`, exit 2.
    public static func usage(_ message: String, command: String) -> FailureReport {
        let text = message.hasSuffix(".") ? String(message.dropLast()) : message
        return FailureReport(code: ErrorCode.invalidRequest.rawValue, message: "\(text); `\(command) --help` lists the options",
                             details: ["command": .string(command)], exitStatus: 2)
    }

    /// The database did not answer the first query.
    public static func databaseUnavailable(host: String, port: Int, cause: any Error) -> FailureReport {
        FailureReport(code: "database_unavailable",
                      message: "the database at \(host):\(port) is unreachable (\(Self.cause(of: cause))); start PostgreSQL there or fix DATABASE_URL",
                      details: ["host": .string(host), "port": .number(Double(port))])
    }

    /// The database's schema is behind this build.
    public static func migrationsPending(_ names: [String]) -> FailureReport {
        FailureReport(code: "migrations_pending",
                      message: "the database is missing migrations \(names.joined(separator: ", ")); run `dialer migrate`",
                      details: ["migrations": .array(names.map(JSONValue.string))])
    }

    /// A short, reflection-free phrase for what went wrong below: "connection refused", "no answer within 10 seconds",
    /// the server's own message, or the error's type name.
    static func cause(of error: any Error) -> String {
        switch error {
        case let error as PSQLError:
            if let underlying = error.underlying { return cause(of: underlying) }
            if let message = error.serverInfo?[.message] { return message }
            return error.code.description
        case let error as IOError:
            return String(cString: strerror(error.errnoCode)).lowercased()
        case let error as NIOConnectionError:
            if let dns = error.dnsAError ?? error.dnsAAAAError { return "no address for \(error.host): \(cause(of: dns))" }
            return error.connectionErrors.first.map { cause(of: $0.error) } ?? "no connection to \(error.host):\(error.port)"
        case let error as ChannelError:
            return "\(error)"
        case let error as TimeoutError:
            return "no answer within \(error.after)"
        case let error as OpenPhnError:
            return error.message
        case let error as SettingError:
            return error.description
        default:
            return String(describing: type(of: error))
        }
    }
}
