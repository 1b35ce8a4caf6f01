import DialerCore
@testable import FakeTwilio
import Foundation
import Testing

/// Status callbacks as Twilio may deliver them (after-the-dial.md section 1.4): late, twice, or never, drawn from the
/// seed or scripted per destination, seen by a receiving server on loopback.
@Suite("Fake Twilio: callback delivery faults")
struct FakeCallbackFaultsTests {
    static let allEvents = ["initiated", "ringing", "answered", "completed"].map { ("StatusCallbackEvent", $0) }

    /// A call to `to` subscribed to every event, its callbacks to `receiverURL/status?to=...`.
    static func call(_ baseURL: String, _ receiverURL: String, to: String) async throws -> String {
        try await StatusCallbackTests.createCall(baseURL, [("To", to), ("StatusCallback", receiverURL + "/status?to=\(to.dropFirst())")] + allEvents)
    }

    /// Waits (at most ten seconds) until the fake's ledger holds `count` callbacks, and returns them.
    static func ledger(_ fake: FakeTwilio, count: Int) async throws -> [FakeCallback] {
        let deadline = ContinuousClock.now + .seconds(10)
        while await fake.ledger.callbacks.count < count, ContinuousClock.now < deadline {
            try await Task.sleep(for: .milliseconds(20))
        }
        let callbacks = await fake.ledger.callbacks
        try #require(callbacks.count == count, "expected \(count) callbacks in the ledger, got \(callbacks.count)")
        return callbacks
    }

    static func sequence(_ received: [StatusCallbackTests.Received]) -> [String?] { received.map { $0.value("SequenceNumber") } }

    @Test("reorder: each late callback arrives after the next one (a ringing after the completed), stamped with its own instant and validly signed")
    func reorder() async throws {
        let fake = Fixture.fake { $0.callbackFaults = CallbackFaults(reorder: 1) }
        try await fake.withRunning { baseURL in
            try await StatusCallbackTests.withReceiver { receiverURL, inbox in
                _ = try await Self.call(baseURL, receiverURL, to: "+14155558501")
                let received = try await StatusCallbackTests.waitFor(4, in: inbox)
                // Every callback but the last is late: each comes after its successor, so the final one comes first.
                #expect(Self.sequence(received) == ["3", "2", "1", "0"])
                #expect(received.map { $0.value("CallStatus") } == ["completed", "in-progress", "ringing", "initiated"])
                let call = try #require(await fake.ledger.calls.first)
                #expect(received.last?.value("Timestamp").flatMap(StatusCallbackTests.rfc2822)
                    == Date(timeIntervalSince1970: call.startTime.timeIntervalSince1970.rounded(.down)))
                for callback in received {
                    #expect(TwilioSignature.isValid(signature: callback.signature ?? "", url: callback.url, parameters: callback.parameters,
                                                    authToken: Fixture.password))
                }
            }
        }
    }

    @Test("duplicate: each callback arrives twice, the same request both times (SequenceNumber, parameters, idempotency token)")
    func duplicate() async throws {
        let fake = Fixture.fake { $0.callbackFaults = CallbackFaults(duplicate: 1) }
        try await fake.withRunning { baseURL in
            try await StatusCallbackTests.withReceiver { receiverURL, inbox in
                _ = try await Self.call(baseURL, receiverURL, to: "+14155558511")
                let received = try await StatusCallbackTests.waitFor(8, in: inbox)
                #expect(Self.sequence(received) == ["0", "0", "1", "1", "2", "2", "3", "3"])
                for pair in stride(from: 0, to: 8, by: 2) {
                    let (first, second) = (received[pair], received[pair + 1])
                    #expect(first.parameters.map { "\($0.0)=\($0.1)" } == second.parameters.map { "\($0.0)=\($0.1)" })
                    #expect(first.idempotencyToken != nil && first.idempotencyToken == second.idempotencyToken)
                    #expect(first.signature == second.signature)
                }
                #expect(try await Self.ledger(fake, count: 8).allSatisfy { $0.result == .delivered })
            }
        }
    }

    @Test("drop: a dropped callback never reaches the receiver; the ledger records it dropped")
    func drop() async throws {
        let fake = Fixture.fake { $0.callbackFaults = CallbackFaults(drop: 1) }
        try await fake.withRunning { baseURL in
            try await StatusCallbackTests.withReceiver { receiverURL, inbox in
                let sid = try await Self.call(baseURL, receiverURL, to: "+14155558521")
                // Each drop is recorded at the instant it would have been sent, in order: the fourth is the last delivery.
                let ledger = try await Self.ledger(fake, count: 4)
                #expect(ledger.map(\.result) == [.dropped, .dropped, .dropped, .dropped])
                #expect(ledger.map(\.sequenceNumber) == [0, 1, 2, 3] && ledger.allSatisfy { $0.callSID == sid && $0.httpStatus == nil })
                #expect(await inbox.received.isEmpty)
            }
        }
    }

    @Test("scripted per destination: normal, drop_all, drop_final, duplicate_all, reverse, whatever faults are configured")
    func scripted() async throws {
        let fake = Fixture.fake { $0.callbackFaults = CallbackFaults(reorder: 1, drop: 1) }
        try await fake.withRunning { baseURL in
            try await StatusCallbackTests.withReceiver { receiverURL, inbox in
                let destinations = Fixture.destinations(5, start: 8_600)
                for (to, script) in zip(destinations, CallbackScript.allCases) { await fake.ledger.scriptCallbacks(to: to, script) }
                for to in destinations { _ = try await Self.call(baseURL, receiverURL, to: to) }
                // 4 + 0 + 3 + 8 + 4 sent, and 4 + 1 dropped.
                let ledger = try await Self.ledger(fake, count: 24)
                let received = try await StatusCallbackTests.waitFor(19, in: inbox)
                func mine(_ i: Int) -> [StatusCallbackTests.Received] { received.filter { $0.query("to") == String(destinations[i].dropFirst()) } }
                #expect(Self.sequence(mine(0)) == ["0", "1", "2", "3"])
                #expect(mine(1).isEmpty)
                #expect(Self.sequence(mine(2)) == ["0", "1", "2"])
                #expect(Self.sequence(mine(3)) == ["0", "0", "1", "1", "2", "2", "3", "3"])
                #expect(Self.sequence(mine(4)) == ["3", "2", "1", "0"])
                #expect(ledger.filter { $0.result == .dropped }.count == 5)
                #expect(await fake.ledger.calls.compactMap(\.callbackScript) == CallbackScript.allCases)
            }
        }
    }

    @Test("faults are drawn from the seed: the same calls get the same faults, each in about its configured share")
    func drawnFromSeed() {
        let start = Date(timeIntervalSince1970: 1_800_000_000)
        let events: [(status: String, at: Date, final: Bool)] = ["initiated", "ringing", "in-progress", "completed"].enumerated().map {
            ($0.element, start.addingTimeInterval(Double($0.offset)), $0.offset == 3)
        }
        let faults = CallbackFaults(reorder: 0.2, duplicate: 0.1, drop: 0.05)
        func plan(_ seed: UInt64, _ i: Int) -> [CallbackSchedule.Delivery] {
            CallbackSchedule.statusDeliveries(events, script: nil, faults: faults, dice: FakeDice(seed: seed, to: "+14155550000", dialIndex: i))
        }
        let plans = (0..<2_000).map { plan(7, $0) }
        #expect((0..<2_000).map { plan(7, $0) } == plans)
        #expect((0..<2_000).map { plan(8, $0) } != plans)
        var late = 0, twice = 0, dropped = 0
        for deliveries in plans {
            // Every event once (its copies aside), never sent before it happened, never sent out of the fake's clock order.
            let sequences = deliveries.compactMap { delivery -> Int? in
                if case .status(let sequence, _, _) = delivery.kind { return sequence }
                return nil
            }
            #expect(sequences.sorted() == [0, 1, 2, 3])
            #expect(deliveries.allSatisfy { $0.sendAt >= $0.eventAt })
            #expect(zip(deliveries, deliveries.dropFirst()).allSatisfy { $0.sendAt <= $1.sendAt })
            late += deliveries.filter { $0.sendAt > $0.eventAt }.count
            twice += deliveries.filter { $0.copies == 2 }.count
            dropped += deliveries.filter { $0.copies == 0 }.count
        }
        // 2,000 calls: 6,000 callbacks that can be late, 8,000 that can be duplicated or dropped.
        #expect(abs(Double(late) / 6_000 - 0.2) < 0.02, "late \(late)")
        #expect(abs(Double(twice) / 8_000 - 0.1 * 0.95) < 0.015, "twice \(twice)")
        #expect(abs(Double(dropped) / 8_000 - 0.05) < 0.01, "dropped \(dropped)")
    }
}
