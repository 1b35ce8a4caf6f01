import AsyncHTTPClient
import NIOCore
import NIOPosix

#if canImport(Glibc)
import Glibc
#endif

/// Classifies a request that got no HTTP response: did it possibly reach Twilio?
///
/// Only failures that certainly happened before the request was written (refused or unreachable connection, connect
/// timeout, no pooled connection) are "not sent". Everything else, including a cancelled request, is treated as possibly
/// dialed: Create Call has no idempotency key, so guessing "not sent" wrongly would ring someone twice.
public enum TransportFailure {
    public static func classify(_ error: any Error) -> DialFailure {
        if let kind = notSent(error) {
            return DialFailure(kind: .network,
                error: OpenPhnError(.upstreamUnavailable, "Could not connect to Twilio (\(kind)); the call was not placed.", details: ["transport": .string(kind)]),
                possiblyDialed: false)
        }
        let kind = describe(error)
        return DialFailure(kind: .timeout,
            error: OpenPhnError(.upstreamUnavailable, "No answer from Twilio (\(kind)); the call may or may not have been placed.",
                                details: ["transport": .string(kind)]),
            possiblyDialed: true)
    }

    /// A short tag when the error proves the request never left; `nil` otherwise.
    static func notSent(_ error: any Error) -> String? {
        if let error = error as? HTTPClientError {
            switch error {
            case .connectTimeout: return "connect_timeout"
            case .getConnectionFromPoolTimeout: return "no_connection"
            case .tlsHandshakeTimeout: return "tls_handshake_timeout"
            case .alreadyShutdown: return "client_shut_down"
            case .invalidURL, .emptyHost: return "invalid_url"
            default: return nil
            }
        }
        if error is NIOConnectionError { return "connection_failed" }
        if case ChannelError.connectTimeout = error { return "connect_timeout" }
        if let error = error as? IOError, [ECONNREFUSED, ENETUNREACH, EHOSTUNREACH, EADDRNOTAVAIL].contains(error.errnoCode) {
            return "connection_refused"
        }
        return nil
    }

    static func describe(_ error: any Error) -> String {
        if let error = error as? HTTPClientError {
            switch error {
            case .readTimeout, .deadlineExceeded: return "timeout"
            case .remoteConnectionClosed: return "connection_closed"
            default: return "http_client_error"
            }
        }
        if error is CancellationError { return "cancelled" }
        if let error = error as? IOError, [ECONNRESET, EPIPE].contains(error.errnoCode) { return "connection_reset" }
        return "transport_error"
    }
}
