import ArgumentParser
import DialerCore
import Foundation

struct Enqueue: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Enqueue one call from flags, or a campaign from a CSV file (all rows in one transaction, or none).")
    @OptionGroup var settings: SettingOptions
    @Option(help: "Tenant id.") var tenant: String
    @Option(help: "Destination in E.164 (one call).") var to: String?
    @Option(help: "Campaign CSV file: a header row with 'to' and optional from, objective, outcome_schema, priority, run_at, expires_at, max_attempts, idempotency_key, campaign_id.")
    var csv: String?
    @Option(help: "Caller number in E.164 (default: the tenant's selected number).") var from: String?
    @Option(help: "Campaign id.") var campaign: String?
    @Option(help: "What the agent should achieve on the call.") var objective: String?
    @Option(help: "Outcome schema, a JSON object.") var outcomeSchema: String = "{}"
    @Option(help: "0 dials first, 9 last.") var priority: Int = 0
    @Option(help: "Not before this ISO-8601 instant.") var runAt: String?
    @Option(help: "Not after this ISO-8601 instant.") var expiresAt: String?
    @Option(help: "Attempts before the job fails.") var maxAttempts: Int = 4
    @Option(help: "Idempotency key (one call).") var idempotencyKey: String?
    @Flag(help: "Enqueue the valid rows of a CSV and report the bad ones, instead of refusing the whole file.") var skipInvalid = false
    @Flag(help: "Print results as JSON.") var json = false

    func validate() throws {
        guard (to == nil) != (csv == nil) else { throw ValidationError("give exactly one of --to (one call) or --csv (a campaign file)") }
        if to != nil, objective == nil { throw ValidationError("--objective is required with --to") }
    }

    func run() async throws {
        let loaded = try settings.load(requireTwilio: false)
        let logger = try settings.logger()
        let defaults = try makeDefaults()
        var requests: [ValidatedCallRequest]
        var lines: [Int] = []
        if let csv {
            guard let text = try? String(contentsOfFile: csv, encoding: .utf8) else {
                printError("dialer: cannot read the campaign file \(csv)")
                throw ExitCode(1)
            }
            let file: CampaignFile
            do { file = try CampaignFile.parse(text, defaults: defaults) } catch { throw fail(error) }
            for rowError in file.errors { printError("dialer: \(csv): \(rowError)") }
            if !file.errors.isEmpty, !skipInvalid {
                printError("dialer: \(file.errors.count) invalid row(s); nothing was enqueued (use --skip-invalid to enqueue the \(file.requests.count) valid ones)")
                throw ExitCode(1)
            }
            requests = file.requests
            lines = file.lines
        } else {
            do { requests = [try defaults.validated()] } catch { throw fail(error) }
        }
        let validated = requests
        let results = try await withDatabase(loaded, logger: logger) { store in
            try await requireCurrentSchema(store)
            return try await store.enqueue(validated)
        }
        let created = results.filter(\.created).count
        if json {
            print(JSONValue.object([
                "created": .number(Double(created)), "existing": .number(Double(results.count - created)),
                "job_ids": .array(results.map { .number(Double($0.jobID)) }),
            ]).jsonText)
        } else if csv == nil, let result = results.first {
            print(result.created ? "enqueued job \(result.jobID)" : "job \(result.jobID) already exists for this idempotency key (same body)")
        } else {
            print("enqueued \(created) job(s); \(results.count - created) already existed" + (lines.isEmpty ? "" : " (from \(lines.count) rows)"))
        }
    }

    private func makeDefaults() throws -> CallRequest {
        let iso = ISO8601DateFormatter()
        func date(_ text: String?, _ flag: String) throws -> Date? {
            guard let text else { return nil }
            guard let value = iso.date(from: text) else { throw ValidationError("\(flag) must be an ISO-8601 instant such as 2026-11-25T15:00:00Z") }
            return value
        }
        guard let schema = JSONValue.parse(outcomeSchema) else {
            throw fail(OpenPhnError(.outcomeSchemaInvalid, "--outcome-schema is not valid JSON.", details: ["field": "outcome_schema"]))
        }
        return CallRequest(
            tenantID: tenant, to: to ?? "", from: from, campaignID: campaign, objective: objective ?? "", outcomeSchema: schema, priority: priority,
            runAt: try date(runAt, "--run-at"), maxAttempts: maxAttempts, expiresAt: try date(expiresAt, "--expires-at"), idempotencyKey: idempotencyKey)
    }

    private func fail(_ error: OpenPhnError) -> ExitCode {
        printError("dialer: \(error.error.rawValue): \(error.message)")
        printError(error.jsonText)
        return ExitCode(1)
    }
}
