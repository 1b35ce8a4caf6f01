import DialerCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// The tenants' calls over `/v1`: `POST /v1/calls` (scope `calls:write`), `GET /v1/calls/{id}` (`calls:read`) and
/// `POST /v1/calls/{id}/cancel` (`calls:write`). The key names the tenant: a body never does, and another tenant's call
/// id is 404 `not_found`, exactly as an id that does not exist.
///
/// `POST /v1/calls` takes `to`, `from` (optional: the tenant's selected number, or the key's first pinned one),
/// `objective`, `outcome_schema`, `campaign_id`, `run_at`, `expires_at`, `max_attempts`, `priority`, `purpose` and
/// `consent` (`{type, at, source}`); `Idempotency-Key` makes a retry return the same call. The request is checked as the
/// gate would check it now (do-not-call lists, the number, the account, calling hours before `expires_at`); the
/// dial-time gate checks everything again when the call is placed.
struct CallsRoute: Sendable {
    let store: JobStore
    let gateway: APIGateway
    /// Seconds the gate's clock is shifted by (`DIALER_GATE_TIME`, demos and tests only): the calls are checked at the
    /// instant the workers will check them at.
    var clockOffset: TimeInterval = 0
    let logger: Logger

    /// The instant a call is checked at: now, shifted as the workers' gate is.
    var gateNow: Date { Date().addingTimeInterval(clockOffset) }

    func create(_ request: Request) async -> Response {
        await authorized(request, route: "POST /v1/calls", scope: .callsWrite) { key, body in
            try Self.requireApproved(key)
            let validated = try Self.validated(try Self.jsonObject(body), key: key, idempotencyKey: request.headers[APIGateway.idempotencyHeader])
            let now = gateNow
            let facts = try await store.checkFacts(validated.destination, tenant: key.tenantID)
            let nextAllowedAt = try Self.admit(validated, facts: facts, at: now)
            let result = try await store.enqueue([validated])[0]
            guard let job = try await store.job(result.jobID) else { throw OpenPhnError(.notFound, "The call was not found.") }
            var resource = Self.resource(job, shownTo: validated.request.to, runAt: validated.request.runAt ?? Date())
            if let nextAllowedAt, case .object(var fields) = resource {
                fields["next_allowed_at"] = .string(DialGate.iso(nextAllowedAt))
                resource = .object(fields)
            }
            self.logger.info("call created", metadata: ["job.id": "\(job.id)", "key.id": "\(key.id)", "to": "\(validated.destination.masked)",
                                                        "created": "\(result.created)"])
            return .json(resource, status: result.created ? .created : .ok)
        }
    }

    func read(_ request: Request, id: String) async -> Response {
        await authorized(request, route: "GET /v1/calls/{id}", scope: .callsRead) { key, body in
            let job = try await self.ownJob(id, tenant: key.tenantID)
            let attempts = try await store.attempts(jobID: job.id)
            var resource = Self.resource(job, shownTo: job.destination, runAt: nil)
            if case .object(var fields) = resource {
                fields["attempts"] = .array(attempts.map { attempt in
                    .object([
                        "attempt": .number(Double(attempt.attempt)), "kind": .string(attempt.kind), "outcome": .string(attempt.outcome),
                        "call_sid": attempt.callSID.map(JSONValue.string) ?? .null, "recorded_at": .string(DialGate.iso(attempt.recordedAt)),
                        "error": attempt.error.map { .string($0.error.rawValue) } ?? .null,
                    ])
                })
                resource = .object(fields)
            }
            return .json(resource, status: .ok)
        }
    }

    func cancel(_ request: Request, id: String) async -> Response {
        await authorized(request, route: "POST /v1/calls/{id}/cancel", scope: .callsWrite) { key, body in
            let job = try await self.ownJob(id, tenant: key.tenantID)
            let result = try await store.cancel(.jobs([job.id]), by: "api:\(key.id)")
            guard let after = try await store.job(job.id) else { throw OpenPhnError(.notFound, "No call has the id '\(id.prefix(40))'.") }
            var resource = Self.resource(after, shownTo: after.destination, runAt: nil)
            if case .object(var fields) = resource {
                fields["cancelled"] = .bool(result.cancelled == 1)
                if result.cancelled == 0 {
                    fields["reason"] = .string(result.inFlight > 0 ? "the call is being placed or reconciled; it finishes on its own" : "the call had ended already")
                }
                resource = .object(fields)
            }
            return .json(resource, status: .ok)
        }
    }

    /// `GET /v1/calls?campaign_id=&state=&limit=&cursor=` (`calls:read`): the tenant's calls, newest first, a page at a
    /// time (`limit` 1 to 200, default 50); `next_cursor` (null on the last page) fetches the next one. Keyset on the
    /// job id: the same cost on page 1,000 as on page 1.
    func list(_ request: Request) async -> Response {
        await authorized(request, route: "GET /v1/calls", scope: .callsRead) { key, body in
            let query = request.uri.queryParameters
            let campaign = try query.get("campaign_id").map { text throws(OpenPhnError) in try CampaignsRoute.campaignID(String(text), percentEncoded: false) }
            var state: JobState?
            if let text = query.get("state") {
                guard let parsed = JobState(rawValue: String(text)) else {
                    throw OpenPhnError(.invalidRequest, "state must be one of \(JobState.allCases.map(\.rawValue).joined(separator: ", ")).",
                                       details: ["field": "state"])
                }
                state = parsed
            }
            var limit = 50
            if let text = query.get("limit") {
                guard let value = Int(String(text)), (1...200).contains(value) else {
                    throw OpenPhnError(.invalidRequest, "limit must be a whole number from 1 to 200.", details: ["field": "limit"])
                }
                limit = value
            }
            var before: Int64?
            if let text = query.get("cursor") {
                guard let value = Int64(String(text)), value > 0 else {
                    throw OpenPhnError(.invalidRequest, "cursor is not one this API returned.", details: ["field": "cursor"])
                }
                before = value
            }
            let page = try await store.jobs(tenant: key.tenantID, campaign: campaign, state: state, before: before, limit: limit)
            return .json(.object([
                "data": .array(page.jobs.map { Self.resource($0, shownTo: $0.destination, runAt: nil) }),
                "next_cursor": page.more ? page.jobs.last.map { .string(String($0.id)) } ?? .null : .null,
            ]), status: .ok)
        }
    }

    /// `POST /v1/dnc` (`dnc:write`): `{number, source}` goes on the tenant's do-not-call list (201; 200 when it was
    /// there already); `DELETE /v1/dnc/{number}` takes it off (200 `{removed}`). Each is audited with the key's id. The
    /// global list is not the tenants' to change.
    func addDNC(_ request: Request) async -> Response {
        await authorized(request, route: "POST /v1/dnc", scope: .dncWrite) { key, body in
            let body = try Self.jsonObject(body)
            for name in body.keys.sorted() where !["number", "source"].contains(name) {
                throw OpenPhnError(.invalidRequest, "Unknown field '\(name.prefix(40))'.", details: ["field": .string(String(name.prefix(40)))])
            }
            guard case .string(let text)? = body["number"] else {
                throw OpenPhnError(.invalidRequest, "number is required, as an E.164 string.", details: ["field": "number"])
            }
            var source = "api"
            if let value = body["source"] {
                guard case .string(let given) = value, !given.isEmpty, given.count <= 500 else {
                    throw OpenPhnError(.invalidRequest, "source must be a string of 1 to 500 characters.", details: ["field": "source"])
                }
                source = given
            }
            let number = try PhoneNumber(validating: text)
            let added = try await store.changeTenantDNC(add: true, number, tenant: key.tenantID, source: source, actor: "api:\(key.id)")
            return .json(.object(["number": .string(number.e164), "added": .bool(added), "source": .string(source)]), status: added ? .created : .ok)
        }
    }

    func removeDNC(_ request: Request, number text: String) async -> Response {
        await authorized(request, route: "DELETE /v1/dnc/{number}", scope: .dncWrite) { key, body in
            let number = try PhoneNumber(validating: text.removingPercentEncoding ?? text)
            let removed = try await store.changeTenantDNC(add: false, number, tenant: key.tenantID, source: "api", actor: "api:\(key.id)")
            return .json(.object(["number": .string(number.e164), "removed": .bool(removed)]), status: .ok)
        }
    }

    /// 403 `verification_pending` unless the key's tenant may place calls.
    static func requireApproved(_ key: AuthenticatedKey) throws(OpenPhnError) {
        guard key.verificationStatus == VerificationStatus.approved.rawValue else {
            throw OpenPhnError(.verificationPending, "The account has not been approved to place calls yet.",
                               details: ["verification_status": .string(key.verificationStatus)])
        }
    }

    /// One call of a request body, checked: its fields, the key's pinned numbers (a pinned key without `from` uses its
    /// first number), and the request's rules (``CallRequest/validated()``). `campaign`, when set, is the campaign of
    /// the route, which a body may repeat but not contradict.
    static func validated(_ body: [String: JSONValue], key: AuthenticatedKey, idempotencyKey: String?, campaign: String? = nil)
        throws(OpenPhnError) -> ValidatedCallRequest
    {
        // Text holding U+0000 is refused by CallRequest's own checks (and, for a whole body, by jsonObject).
        var call = try callRequest(body, tenant: key.tenantID)
        if let campaign {
            guard call.campaignID == nil || call.campaignID == campaign else {
                throw OpenPhnError(.invalidRequest, "campaign_id differs from the campaign of the path.", details: ["field": "campaign_id"])
            }
            call.campaignID = campaign
        }
        // The job carries the key too, so a retry after a 5xx finds the same job.
        call.idempotencyKey = idempotencyKey
        if let pinned = key.numbers {
            if call.from == nil { call.from = pinned.first }
            let from = try call.from.map { text throws(OpenPhnError) in try PhoneNumber(validating: text).e164 }
            guard let from, pinned.contains(from) else {
                throw OpenPhnError(.numberNotAllowed, "This API key may not place calls from that number.", details: ["field": "from"])
            }
        }
        return try call.validated()
    }

    /// The call as the dial-time gate would decide it now, from `facts`: a refusal is thrown (`dnc_blocked`,
    /// `no_active_number`, ...; `call_hours_violation` when no legal window opens before `expires_at`); a call the
    /// hours defer returns when it may first be dialed, `nil` when it may be dialed now.
    static func admit(_ validated: ValidatedCallRequest, facts: ClaimedCall, at now: Date) throws(OpenPhnError) -> Date? {
        let decision = DialGate().decide(facts, at: now)
        switch decision.verdict {
        case .allow: return nil
        case .block:
            if let error = decision.error { throw error }
            return nil
        case .deferred(let until):
            if let expires = validated.request.expiresAt, until >= expires {
                throw OpenPhnError(.callHoursViolation, "No legal calling window for this number opens before expires_at.",
                                   details: ["next_allowed_at": .string(DialGate.iso(until)), "expires_at": .string(DialGate.iso(expires))])
            }
            return until
        }
    }

    /// The tenant's job with this id, or `not_found` (for another tenant's job too: no hint that it exists).
    private func ownJob(_ id: String, tenant: String) async throws -> JobSnapshot {
        guard let number = Int64(id), number > 0, let job = try await store.job(number), job.tenantID == tenant else {
            throw OpenPhnError(.notFound, "No call has the id '\(id.prefix(40))'.")
        }
        return job
    }

    private func authorized(_ request: Request, route: String, scope: APIScope,
                            _ body: (AuthenticatedKey, ByteBuffer) async throws -> APIReply) async -> Response {
        await gateway.handle(request, route: route, scopes: [scope], body)
    }

    /// The body as a JSON object, or `invalid_request` (also for text holding U+0000, which no column can store; a bulk
    /// body checks each call on its own instead, so one such call is one bad call).
    static func jsonObject(_ buffer: ByteBuffer, checkingText: Bool = true) throws(OpenPhnError) -> [String: JSONValue] {
        guard case .object(let object)? = JSONValue.parse(String(buffer: buffer)) else {
            throw OpenPhnError(.invalidRequest, "The body must be a JSON object.", details: ["field": "body"])
        }
        if checkingText { try refuseNUL(.object(object)) }
        return object
    }

    /// `invalid_request` naming the first field whose text holds U+0000.
    static func refuseNUL(_ value: JSONValue) throws(OpenPhnError) {
        if let path = value.firstNULPath {
            let field = path.isEmpty ? "body" : String(path.prefix(80))
            throw OpenPhnError(.invalidRequest, "\(field) holds the NUL character (U+0000), which text here may not contain.",
                               details: ["field": .string(field)])
        }
    }

    /// A call request from a `POST /v1/calls` body: every field checked for its type, unknown fields refused.
    static func callRequest(_ body: [String: JSONValue], tenant: String) throws(OpenPhnError) -> CallRequest {
        var call = CallRequest(tenantID: tenant, to: "", objective: "")
        let allowed: Set<String> = ["to", "from", "objective", "outcome_schema", "campaign_id", "run_at", "expires_at", "max_attempts", "priority",
                                    "purpose", "consent"]
        for name in body.keys.sorted() where !allowed.contains(name) {
            throw OpenPhnError(.invalidRequest, "Unknown field '\(name.prefix(40))'.", details: ["field": .string(String(name.prefix(40)))])
        }
        for required in ["to", "objective"] where body[required] == nil {
            throw OpenPhnError(.invalidRequest, "\(required) is required.", details: ["field": .string(required)])
        }
        func text(_ value: JSONValue, _ field: String) throws(OpenPhnError) -> String {
            switch value {
            case .string(let text): return text
            case .number(let number) where ["max_attempts", "priority"].contains(field) && number == number.rounded() && abs(number) < 1e9:
                return String(Int(number))
            default:
                let kind = ["max_attempts", "priority"].contains(field) ? "a whole number" : "a string"
                throw OpenPhnError(.invalidRequest, "\(field) must be \(kind).", details: ["field": .string(field)])
            }
        }
        for (name, value) in body.sorted(by: { $0.key < $1.key }) {
            switch name {
            case "outcome_schema":
                guard case .object = value else {
                    throw OpenPhnError(.outcomeSchemaInvalid, "outcome_schema must be a JSON object.", details: ["field": "outcome_schema"])
                }
                call.outcomeSchema = value
            case "consent":
                guard case .object(let consent) = value else {
                    throw OpenPhnError(.invalidRequest, "consent must be an object {type, at, source}.", details: ["field": "consent"])
                }
                for (key, field) in [("type", CallRequest.Field.consentType), ("at", .consentAt), ("source", .consentSource)] {
                    guard let part = consent[key] else { continue }
                    if case .null = part { continue }
                    try call.set(field, text: try text(part, "consent.\(key)"))
                }
            case "from":
                if case .null = value { continue }
                try call.set(.from, text: try text(value, name))
            default:
                guard let field = CallRequest.Field(rawValue: name) else { continue }
                if case .null = value, !["to", "objective"].contains(name) { continue }
                try call.set(field, text: try text(value, name))
            }
        }
        return call
    }

    /// The call resource: `to` as the tenant sent it (the API's caller knows the number), state, times, links.
    static func resource(_ job: JobSnapshot, shownTo: String, runAt: Date?) -> JSONValue {
        var fields: [String: JSONValue] = [
            "id": .string(String(job.id)), "state": .string(job.state.rawValue), "to": .string(shownTo),
            "campaign_id": job.campaignID.map(JSONValue.string) ?? .null, "attempt": .number(Double(job.attempt)),
            "max_attempts": .number(Double(job.maxAttempts)), "purpose": .string(job.purpose.rawValue),
            "last_outcome": job.lastOutcome.map(JSONValue.string) ?? .null,
            "last_error": job.lastError.map { .object(["error": .string($0.error.rawValue), "message": .string($0.message)]) } ?? .null,
            "run_at": .string(DialGate.iso(runAt ?? Date().addingTimeInterval(job.runInSeconds))),
            "links": .object(["self": .string("/v1/calls/\(job.id)"), "cancel": .string("/v1/calls/\(job.id)/cancel")]),
        ]
        if let sid = job.callSID { fields["call_sid"] = .string(sid) }
        return .object(fields)
    }
}
