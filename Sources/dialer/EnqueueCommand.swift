import ArgumentParser
import DialerCore
import Foundation

struct EnqueueCommand: AsyncParsableCommand, JSONAnswering {
    static let configuration = CommandConfiguration(
        commandName: "enqueue",
        abstract: "Enqueue one call from flags, or a campaign from a CSV file (all rows in one transaction, or none).",
        discussion: """
            A number named twice in one enqueue is enqueued once: later rows repeat the first and are reported by line. \
            Every call needs consent evidence (an AI voice is an artificial voice, FCC 24-17): --consent-type and its evidence, or the \
            campaign file's consent columns; the flags are the defaults of rows that leave them empty.
            """)
    @OptionGroup var settings: SettingOptions
    @Option(help: "Tenant id.") var tenant: String
    @Option(help: "Destination in E.164 (one call).") var to: String?
    @Option(help: """
        Campaign CSV file: a header row with 'to' and optional from, objective, outcome_schema, priority, run_at, expires_at, max_attempts, \
        idempotency_key, campaign_id, purpose, consent_type, consent_at, consent_source.
        """)
    var csv: String?
    @Option(help: "Caller number in E.164 (default: the tenant's selected number).") var from: String?
    @Option(help: "Campaign id.") var campaign: String?
    @Option(help: "What the agent should achieve on the call.") var objective: String?
    @Option(help: "Outcome schema, a JSON object (default {}).") var outcomeSchema: String?
    // Read as text (a leading '-' included) so a bad value gets the same error as the same CSV cell.
    @Option(parsing: .unconditional, help: "0 dials first, 9 last (default 0).") var priority: String?
    @Option(help: "Not before this ISO-8601 instant with a zone (2026-11-25T15:00:00Z).") var runAt: String?
    @Option(help: "Not after this ISO-8601 instant with a zone; must be in the future.") var expiresAt: String?
    @Option(parsing: .unconditional, help: "Attempts before the job fails, 1 to 100 (default 4).") var maxAttempts: String?
    @Option(help: "Idempotency key (one call).") var idempotencyKey: String?
    @Option(help: "informational (default) or telemarketing; telemarketing with an AI voice needs prior_express_written consent.")
    var purpose: String?
    @Option(help: "The callee's consent: prior_express_written (pewc) or prior_express (pec). Without it a call is refused (consent_required).")
    var consentType: String?
    @Option(help: "When the callee consented, an ISO-8601 instant with a zone; not in the future.") var consentAt: String?
    @Option(help: "Where the consent is recorded (a form, a recording, a CRM id); at most 500 characters.") var consentSource: String?
    @Flag(help: "Enqueue the valid rows of a CSV and report the bad ones, instead of refusing the whole file.") var skipInvalid = false
    @Flag(help: "Print results (and any error) as one JSON object.") var json = false

    func run() async throws {
        let now = Date()
        guard !tenant.isEmpty, tenant.count <= 128 else { throw invalidFlag("--tenant", "--tenant must be 1 to 128 characters.") }
        let defaults = try flagRequest()
        guard (to == nil) != (csv == nil) else {
            throw invalidFlag("--to", "give exactly one of --to (one call) or --csv (a campaign file).")
        }
        var requests: [ValidatedCallRequest]
        var lines: [Int] = []
        var skipped: [CampaignFile.RowError] = []
        if let csv {
            guard idempotencyKey == nil else {
                throw invalidFlag("--idempotency-key", "--idempotency-key is for one call (--to); a campaign file takes an idempotency_key column.")
            }
            try defaults.validateDefaults(now: now, naming: .flags)
            let file = try readCampaign(csv, defaults: defaults, now: now)
            if !file.errors.isEmpty {
                if !json { for rowError in file.errors { printError("dialer: \(csv): \(rowError)") } }
                guard skipInvalid else {
                    throw OpenPhnError(.invalidRequest, "\(file.errors.count) invalid row(s) in \(csv); nothing was enqueued "
                                       + "(--skip-invalid enqueues the \(file.requests.count) valid ones).",
                                       details: ["file": .string(csv), "rows": .array(file.errors.map(Self.rowJSON))])
                }
            }
            (requests, lines, skipped) = (file.requests, file.lines, file.errors)
        } else {
            guard objective != nil else { throw invalidFlag("--objective", "--objective is required with --to.") }
            requests = [try defaults.validated(now: now, naming: .flags)]
        }
        let validated = requests
        let results: [EnqueueResult]
        do {
            results = try await settings.withStore { try await $0.enqueue(validated) }
        } catch let error as OpenPhnError {
            throw Self.located(error, lines: lines, file: csv)
        }
        report(results, lines: lines, skipped: skipped)
    }

    /// The request the flags describe; for a campaign, the defaults of its rows. Values are parsed as a CSV cell is,
    /// with messages naming the flag.
    private func flagRequest() throws(OpenPhnError) -> CallRequest {
        var request = CallRequest(tenantID: tenant, to: "", objective: "")
        let flags: [(CallRequest.Field, String?)] = [
            (.to, to), (.from, from), (.campaignID, campaign), (.objective, objective), (.outcomeSchema, outcomeSchema), (.priority, priority),
            (.runAt, runAt), (.expiresAt, expiresAt), (.maxAttempts, maxAttempts), (.idempotencyKey, idempotencyKey),
            (.purpose, purpose), (.consentType, consentType), (.consentAt, consentAt), (.consentSource, consentSource),
        ]
        for case (let field, let text?) in flags { try request.set(field, text: text, naming: .flags) }
        return request
    }

    /// Reads and parses the campaign file; a file that cannot be read or is not UTF-8 says why.
    private func readCampaign(_ path: String, defaults: CallRequest, now: Date) throws(OpenPhnError) -> CampaignFile {
        let data = try InputFile.contents(of: path, what: "the campaign file")
        do {
            return try CampaignFile.parse(try CampaignFile.text(data), defaults: defaults, now: now)
        } catch {
            let message = error.message.hasPrefix("is ") ? "the campaign file \(path) \(error.message)" : "\(path): \(error.message)"
            throw OpenPhnError(error.error, message, details: error.details.merging(["file": .string(path)]) { $1 })
        }
    }

    /// A store error that names a row (1-based, in request order) names the CSV line too.
    static func located(_ error: OpenPhnError, lines: [Int], file: String?) -> OpenPhnError {
        guard let file, let row = error.details["row"]?.intValue, lines.indices.contains(row - 1) else { return error }
        let line = lines[row - 1]
        return OpenPhnError(error.error, error.message + " (\(file) line \(line))",
                            details: error.details.merging(["line": .number(Double(line))]) { $1 })
    }

    private func report(_ results: [EnqueueResult], lines: [Int], skipped: [CampaignFile.RowError]) {
        let created = results.count(where: \.created)
        let existing = results.count { !$0.created && $0.duplicateOf == nil }
        let line = { (index: Int) in lines.indices.contains(index) ? lines[index] : index + 1 }
        let repeats = results.enumerated().compactMap { index, result in result.duplicateOf.map { (line: line(index), repeats: line($0)) } }
        if json {
            print(JSONValue.object([
                "created": .number(Double(created)), "existing": .number(Double(existing)), "duplicates": .number(Double(repeats.count)),
                "duplicate_rows": .array(repeats.map { .object(["line": .number(Double($0.line)), "repeats_line": .number(Double($0.repeats))]) }),
                "invalid_rows": .array(skipped.map(Self.rowJSON)),
                "job_ids": .array(results.map { .number(Double($0.jobID)) }),
            ]).jsonText)
        } else if csv == nil, let result = results.first {
            print(result.created ? "enqueued job \(result.jobID)" : "job \(result.jobID) already exists for this idempotency key (same body)")
        } else {
            var summary = "enqueued \(created) job(s); \(existing) already existed (from \(results.count + skipped.count) rows)"
            if !repeats.isEmpty {
                let shown = repeats.prefix(20).map { "line \($0.line) repeats line \($0.repeats)" }.joined(separator: ", ")
                summary += "; \(repeats.count) duplicate row(s) enqueued once: \(shown)\(repeats.count > 20 ? ", ..." : "")"
            }
            if !skipped.isEmpty { summary += "; \(skipped.count) invalid row(s) skipped" }
            print(summary)
        }
    }

    static func rowJSON(_ rowError: CampaignFile.RowError) -> JSONValue {
        .object(["line": .number(Double(rowError.line)), "error": .string(rowError.error.error.rawValue), "message": .string(rowError.error.message),
                 "details": .object(rowError.error.details)])
    }
}
