import Foundation
import Hummingbird
import NIOCore

/// Hummingbird's request context plus the connection's channel, so a scripted fault can reset the TCP connection
/// instead of answering: a route handler cannot otherwise reach below HTTP.
struct FakeTwilioRequestContext: RequestContext {
    var coreContext: CoreRequestContextStorage
    let channel: any Channel

    init(source: ApplicationRequestContextSource) {
        coreContext = .init(source: source)
        channel = source.channel
    }

    /// Closes the connection with an RST and no bytes of a response: SO_LINGER with a zero timeout makes close(2)
    /// abort the connection instead of a graceful FIN.
    func resetConnection() async {
        if let socket = channel as? any SocketOptionProvider {
            try? await socket.setSoLinger(linger(l_onoff: 1, l_linger: 0)).get()
        }
        try? await channel.close()
    }
}

/// Thrown by a handler after it reset its connection: there is nobody left to answer.
struct ConnectionResetByFake: Error {}
