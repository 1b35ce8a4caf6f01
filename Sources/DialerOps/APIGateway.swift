import DialerCore
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import NIOCore

/// What a `/v1` handler answers: a status and a JSON body (an ``OpenPhnError`` it throws is answered as the contract
/// says). Kept as a value, not a `Response`, so the gateway can store it for an `Idempotency-Key`.
struct APIReply: Sendable {
    let body: JSONValue
    let status: HTTPResponse.Status

    static func json(_ body: JSONValue, status: HTTPResponse.Status) -> APIReply { APIReply(body: body, status: status) }
}

/// The one path every `/v1` request takes: the key (``APIAuthentication``: scope and rate budget), the body (at most
/// `maxBody` bytes, else 413 `invalid_request`), the `Idempotency-Key` of a POST, the handler, and its errors in the
/// contract's shape (an ``OpenPhnError`` as itself; any other failure as 503, safe to retry with the same key, never a
/// stack trace).
///
/// Idempotency (``JobStore/beginIdempotent(tenant:key:request:keyID:)``): keys are the tenant's, kept 24 hours. The same
/// key with the same method, path and body gets the stored status and body again, with `Idempotent-Replayed: true`,
/// and the work is not done again; with another request it is 409 `idempotency_conflict`; while the first request
/// with it is still running, 409 too. An answer of 500 or more is not stored: the retry does the work, and every
/// handler's work is itself safe to redo (a call's job carries the key; cancelling, pausing and list changes are
/// idempotent).
struct APIGateway: Sendable {
    let store: JobStore
    let authentication: APIAuthentication
    let logger: Logger
    static let defaultMaxBody = 64 * 1024
    static let idempotencyHeader = HTTPField.Name("Idempotency-Key")!
    static let replayedHeader = HTTPField.Name("Idempotent-Replayed")!

    func handle(_ request: Request, route: String, scopes: [APIScope], maxBody: Int = defaultMaxBody,
                _ body: (AuthenticatedKey, ByteBuffer) async throws -> APIReply) async -> Response {
        let key: AuthenticatedKey
        switch await authentication.authorize(request, scopes: scopes) {
        case .refused(let refusal): return refusal
        case .allowed(let allowed): key = allowed
        }
        var response = await answer(request, route: route, key: key, maxBody: maxBody, body)
        APIAuthentication.addRateHeaders(key, to: &response)
        return response
    }

    private func answer(_ request: Request, route: String, key: AuthenticatedKey, maxBody: Int,
                        _ body: (AuthenticatedKey, ByteBuffer) async throws -> APIReply) async -> Response {
        var request = request
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: maxBody)
        } catch {
            return .openPhn(OpenPhnError(.invalidRequest, "The body is larger than \(maxBody / 1024) KiB.", details: ["field": "body"]), status: 413)
        }
        var idempotencyKey: String?
        if request.method == .post, let header = request.headers[Self.idempotencyHeader] {
            guard !header.isEmpty, header.count <= CallRequest.maxKeyLength else {
                return .openPhn(OpenPhnError(.invalidRequest, "Idempotency-Key must be 1 to \(CallRequest.maxKeyLength) characters.",
                                             details: ["field": "Idempotency-Key"]))
            }
            idempotencyKey = header
            let hash = JobStore.requestHash(method: request.method.rawValue, path: request.uri.path, body: buffer.readableBytesView)
            do {
                switch try await store.beginIdempotent(tenant: key.tenantID, key: header, request: hash, keyID: key.id) {
                case .proceed: break
                case .replay(let status, let stored):
                    var replay = Response(status: .init(code: status), headers: [.contentType: "application/json"],
                                          body: .init(byteBuffer: ByteBuffer(string: stored)))
                    replay.headers[Self.replayedHeader] = "true"
                    return replay
                case .conflict:
                    return .openPhn(OpenPhnError(.idempotencyConflict, "This Idempotency-Key was already used with a different request.",
                                                 details: ["idempotency_key": .string(String(header.prefix(255)))]))
                case .inProgress:
                    return .openPhn(OpenPhnError(.idempotencyConflict,
                                                 "A request with this Idempotency-Key is still being processed; retry it in a few seconds.",
                                                 details: ["idempotency_key": .string(String(header.prefix(255))), "in_progress": .bool(true)]))
                }
            } catch {
                return unavailable(error, route: route, key: key)
            }
        }
        let reply: APIReply
        do {
            reply = try await body(key, buffer)
        } catch let error as OpenPhnError {
            reply = APIReply(body: error.json, status: .init(code: error.httpStatus))
        } catch {
            if let idempotencyKey { try? await store.abandonIdempotent(tenant: key.tenantID, key: idempotencyKey) }
            return unavailable(error, route: route, key: key)
        }
        let text = reply.body.jsonText
        if let idempotencyKey {
            do {
                try await store.finishIdempotent(tenant: key.tenantID, key: idempotencyKey, status: reply.status.code, body: text)
            } catch {
                // The work is done but its answer is not stored: free the key, so a retry redoes the (idempotent) work
                // rather than waiting two minutes for the abandoned row.
                try? await store.abandonIdempotent(tenant: key.tenantID, key: idempotencyKey)
                logger.warning("storing an idempotent answer failed", metadata: ["key.id": "\(key.id)", "route": "\(route)",
                                                                                 "error": "\(String(reflecting: error))"])
            }
        }
        return Response(status: reply.status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: text)))
    }

    /// 503 for a failure that is not the client's: logged with the route's template (a path may hold a phone number).
    private func unavailable(_ error: any Error, route: String, key: AuthenticatedKey) -> Response {
        logger.error("a /v1 request failed", metadata: ["key.id": "\(key.id)", "route": "\(route)", "error": "\(String(reflecting: error))"])
        return .openPhn(OpenPhnError(.upstreamUnavailable, "The request could not be completed now; retry it with the same Idempotency-Key."),
                        status: 503)
    }
}
