import DialerCore
import Hummingbird
import NIOCore

extension Response {
    /// The one way `dialer serve` answers an error: OpenPhn's `{error, message, details}` as JSON, with the status the
    /// contract pairs with the code unless the route needs another (Twilio's callbacks are answered 503 so it retries).
    static func openPhn(_ error: OpenPhnError, status: Int? = nil) -> Response {
        Response(status: .init(code: status ?? error.httpStatus), headers: [.contentType: "application/json"],
                 body: .init(byteBuffer: ByteBuffer(string: error.jsonText)))
    }

    /// A JSON body with `status`.
    static func json(_ value: JSONValue, status: HTTPResponse.Status) -> Response {
        Response(status: status, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: value.jsonText)))
    }
}
