import AsyncHTTPClient
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// What Twilio says about one call it created.
public enum CallFetch: Sendable, Hashable {
    /// The call resource: its status, and for an ended call AnsweredBy (machine detection) and its length.
    case call(status: CallStatus, answeredBy: String?, durationSeconds: Int?)
    /// Twilio has no such call in that account.
    case notFound
    /// No usable answer; ask again later.
    case unreachable(String)
}

extension TwilioClient {
    /// `GET /2010-04-01/Accounts/{subaccount}/Calls/{sid}.json`: the sweeper's question about a call whose final status
    /// callback never came. The resource is eventually consistent, so a status that is not final is asked again later.
    public func fetchCall(subaccountSID: String, callSID: String, logger: Logger) async -> CallFetch {
        do {
            let (status, body) = try await get("/2010-04-01/Accounts/\(subaccountSID)/Calls/\(callSID).json", logger: logger)
            if status == .notFound { return .notFound }
            guard status == .ok else { return .unreachable("HTTP \(status.code)") }
            guard let call = try? JSONDecoder().decode(CallResource.self, from: Data(String(buffer: body).utf8)),
                let status = CallStatus(rawValue: call.status)
            else {
                return .unreachable("unreadable call resource")
            }
            return .call(status: status, answeredBy: call.answered_by.flatMap { $0.isEmpty ? nil : $0 },
                         durationSeconds: call.duration.flatMap { Int($0) })
        } catch {
            return .unreachable(TransportFailure.describe(error))
        }
    }

    /// A GET of one resource with the platform credentials: its status and body (at most 256 KiB).
    func get(_ path: String, logger: Logger) async throws -> (HTTPResponseStatus, ByteBuffer) {
        var request = HTTPClientRequest(url: configuration.baseURL + path)
        request.method = .GET
        request.headers.add(name: "Authorization", value: authorization.value)
        request.headers.add(name: "Accept", value: "application/json")
        let response = try await http.execute(request, timeout: .nanoseconds(configuration.requestTimeout.nanoseconds), logger: logger)
        return (response.status, try await response.body.collect(upTo: 256 * 1024))
    }

    struct CallResource: Decodable {
        let status: String
        let answered_by: String?
        /// Twilio sends the duration as a string ("32"), empty or null while the call is going.
        let duration: String?
    }
}
