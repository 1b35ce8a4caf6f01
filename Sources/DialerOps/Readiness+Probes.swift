import DialerCore
import Hummingbird
import NIOCore

extension Readiness {
    /// `GET /healthz` (200 `ok` while the process serves) and `GET /readyz` (200 `{"ready":true}`, or 503 with the
    /// reasons), the same on the ops server and on `dialer serve`'s public port.
    func addProbes(to router: Router<BasicRequestContext>) {
        router.get("/healthz") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/plain; charset=utf-8"], body: .init(byteBuffer: ByteBuffer(string: "ok\n")))
        }
        router.get("/readyz") { _, _ -> Response in
            let reasons = await self.check()
            let body: JSONValue = reasons.isEmpty ? .object(["ready": .bool(true)]) : .object(["ready": .bool(false), "reasons": .array(reasons.map(JSONValue.string))])
            return Response(status: reasons.isEmpty ? .ok : .serviceUnavailable, headers: [.contentType: "application/json"],
                            body: .init(byteBuffer: ByteBuffer(string: body.jsonText + "\n")))
        }
    }
}
