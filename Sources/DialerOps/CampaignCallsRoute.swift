import DialerCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// `POST /v1/campaigns/{campaign_id}/calls` (`calls:write`): many calls of one campaign in one request.
///
/// The body is `{"calls": [CALL, ...], "skip_invalid": false}`, each call as `POST /v1/calls` takes it (its
/// `campaign_id`, if given, must be the path's). At most ``maxBulkCalls`` calls. Each is checked as a single POST checks
/// it (fields, the key's numbers, consent, the do-not-call lists, the account, calling hours before `expires_at`; the
/// lists and hours in one statement for all of them), then all are created in one transaction:
/// - without `skip_invalid`, one bad call refuses the whole request: 422 `invalid_request` whose `details.errors` lists
///   every bad call, `{index, error, message, details}` (`index` counts from 0 in `calls`), and nothing is created;
/// - with `skip_invalid: true`, the good calls are created and the bad ones listed in `errors`.
///
/// The answer (201 when a call was created, else 200) lists `calls`, one per good call: `{index, id, created}`, with
/// `duplicate_of` (the index of an earlier call to the same person, whose job it shares: one person is called once)
/// and `next_allowed_at` when calling hours defer it. With an `Idempotency-Key`, each call's job carries a key made
/// from it and the call's index, so a retry after a 5xx finds the jobs already made instead of making them twice.
extension CallsRoute {
    static let maxBulkCalls = 10_000
    /// 10,000 calls of about 1.6 KiB each (a long objective, an outcome schema, consent evidence).
    static let maxBulkBody = 16 * 1024 * 1024

    func createMany(_ request: Request, campaign id: String) async -> Response {
        await gateway.handle(request, route: "POST /v1/campaigns/{campaign_id}/calls", scopes: [.callsWrite], maxBody: Self.maxBulkBody) {
            key, body in
            try Self.requireApproved(key)
            let campaign = try CampaignsRoute.campaignID(id)
            let (rows, skipInvalid) = try Self.bulkBody(body)
            let header = request.headers[APIGateway.idempotencyHeader]
            var accepted: [(index: Int, call: ValidatedCallRequest)] = []
            var errors: [(index: Int, error: OpenPhnError)] = []
            for (index, row) in rows.enumerated() {
                do throws(OpenPhnError) {
                    guard case .object(let fields) = row else {
                        throw OpenPhnError(.invalidRequest, "Each call must be a JSON object.", details: ["field": "calls"])
                    }
                    let rowKey = header.map { JobStore.rowIdempotencyKey($0, index: index) }
                    accepted.append((index, try Self.validated(fields, key: key, idempotencyKey: rowKey, campaign: campaign)))
                } catch {
                    errors.append((index, error))
                }
            }
            let now = gateNow
            let facts = try await store.checkFacts(accepted.map(\.call.destination), tenant: key.tenantID)
            var admitted: [(index: Int, call: ValidatedCallRequest, nextAllowedAt: Date?)] = []
            for (entry, fact) in zip(accepted, facts) {
                do throws(OpenPhnError) {
                    admitted.append((entry.index, entry.call, try Self.admit(entry.call, facts: fact, at: now)))
                } catch {
                    errors.append((entry.index, error))
                }
            }
            errors.sort { $0.index < $1.index }
            let listed = JSONValue.array(errors.map { Self.rowError($0.index, $0.error) })
            if !errors.isEmpty && !skipInvalid {
                let refusal = OpenPhnError(.invalidRequest, "\(errors.count) of \(rows.count) calls are invalid; none was created.",
                                           details: ["invalid": .number(Double(errors.count)), "errors": listed])
                return .json(refusal.json, status: .unprocessableContent)
            }
            let results: [EnqueueResult]
            do {
                results = try await store.enqueue(admitted.map(\.call))
            } catch var error as OpenPhnError {
                // The store names its row from 1 among the calls it was given; the caller counts from 0 in `calls`.
                if let row = error.details["row"]?.intValue, admitted.indices.contains(row - 1) {
                    error.details["row"] = nil
                    error.details["index"] = .number(Double(admitted[row - 1].index))
                }
                throw error
            }
            let calls: [JSONValue] = zip(admitted, results).map { entry, result in
                var fields: [String: JSONValue] = [
                    "index": .number(Double(entry.index)), "id": .string(String(result.jobID)), "created": .bool(result.created),
                    "links": .object(["self": .string("/v1/calls/\(result.jobID)")]),
                ]
                if let first = result.duplicateOf { fields["duplicate_of"] = .number(Double(admitted[first].index)) }
                if let next = entry.nextAllowedAt { fields["next_allowed_at"] = .string(DialGate.iso(next)) }
                return .object(fields)
            }
            let created = results.count(where: \.created)
            logger.info("calls created in bulk", metadata: [
                "key.id": "\(key.id)", "campaign": "\(campaign)", "received": "\(rows.count)", "created": "\(created)", "invalid": "\(errors.count)",
            ])
            return .json(.object([
                "campaign_id": .string(campaign), "received": .number(Double(rows.count)), "created": .number(Double(created)),
                "existing": .number(Double(results.count - created - results.duplicates)), "duplicates": .number(Double(results.duplicates)),
                "invalid": .number(Double(errors.count)), "calls": .array(calls), "errors": listed,
            ]), status: created > 0 ? .created : .ok)
        }
    }

    /// The calls of a bulk body and its `skip_invalid`, or `invalid_request` naming what is wrong.
    static func bulkBody(_ buffer: ByteBuffer) throws(OpenPhnError) -> (calls: [JSONValue], skipInvalid: Bool) {
        let body = try jsonObject(buffer, checkingText: false)
        for name in body.keys.sorted() where !["calls", "skip_invalid"].contains(name) {
            throw OpenPhnError(.invalidRequest, "Unknown field '\(name.prefix(40))'.", details: ["field": .string(String(name.prefix(40)))])
        }
        guard case .array(let calls)? = body["calls"], !calls.isEmpty else {
            throw OpenPhnError(.invalidRequest, "calls is required: an array of 1 to \(maxBulkCalls) calls.", details: ["field": "calls"])
        }
        guard calls.count <= maxBulkCalls else {
            throw OpenPhnError(.invalidRequest, "calls holds \(calls.count) calls; at most \(maxBulkCalls) are taken at once.",
                               details: ["field": "calls", "max": .number(Double(maxBulkCalls))])
        }
        var skipInvalid = false
        if let value = body["skip_invalid"] {
            guard case .bool(let flag) = value else {
                throw OpenPhnError(.invalidRequest, "skip_invalid must be true or false.", details: ["field": "skip_invalid"])
            }
            skipInvalid = flag
        }
        return (calls, skipInvalid)
    }

    /// A bad call of a bulk request, as `details.errors` lists it.
    static func rowError(_ index: Int, _ error: OpenPhnError) -> JSONValue {
        .object(["index": .number(Double(index)), "error": .string(error.error.rawValue), "message": .string(error.message),
                 "details": .object(error.details)])
    }
}
