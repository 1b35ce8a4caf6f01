import Foundation
import ServiceLifecycle
import Testing

@testable import DialerCore

@Suite("Failure reports: one line, a code, an exit status, no internals")
struct FailureReportTests {
    @Test("OpenPhn errors keep their code; input errors exit 2, the others 1")
    func openPhn() {
        let phone = FailureReport(OpenPhnError(.invalidPhone, "'+1415' is not a valid E.164 NANP number (+1 and ten digits)."))
        #expect(phone.line == "invalid_phone: '+1415' is not a valid E.164 NANP number (+1 and ten digits).")
        #expect(phone.exitStatus == 2)
        #expect(FailureReport(OpenPhnError(.notFound, "Tenant 'x' does not exist.")).exitStatus == 1)
        #expect(FailureReport(OpenPhnError(.idempotencyConflict, "...")).exitStatus == 1)
    }

    @Test("a setting error names the setting")
    func setting() {
        let report = FailureReport(SettingError(setting: "DATABASE_URL", problem: "is not set"))
        #expect(report.line == "DATABASE_URL is not set")
        #expect(report.code == "invalid_setting")
        #expect(report.details["setting"] == "DATABASE_URL")
        #expect(report.exitStatus == 2)
    }

    struct Opaque: Error {
        let store = "DialerCore.JobStore(client: PostgresNIO.PostgresClient(...))"
        let secret = "hunter2"
    }

    @Test("a service that stopped, or an error nobody knows, is internal_error without a reflection of its fields")
    func noInternals() {
        let dump = "RetentionService(store: DialerCore.JobStore(client: ...))"
        let service = FailureReport(ServiceGroupError.serviceFinishedUnexpectedly(service: dump))
        #expect(service.code == "internal_error")
        #expect(!service.line.contains("RetentionService("))
        #expect(!service.line.contains("DialerCore."))
        let unknown = FailureReport(Opaque())
        #expect(unknown.code == "internal_error")
        #expect(unknown.line.contains("Opaque"))
        #expect(!unknown.line.contains("hunter2") && !unknown.line.contains("JobStore"))
        #expect(!unknown.line.contains("\n"))
        #expect(FailureReport(TimeoutError(what: "database", after: .seconds(10))).line.contains("database did not answer"))
    }

    @Test("the JSON form is the contract's {error, message, details}")
    func json() {
        let json = FailureReport.migrationsPending(["0005_more.sql"]).json
        #expect(json["error"] == "migrations_pending")
        #expect(json["message"]?.stringValue?.contains("dialer migrate") == true)
        #expect(json["details"]?["migrations"] == .array(["0005_more.sql"]))
    }
}
