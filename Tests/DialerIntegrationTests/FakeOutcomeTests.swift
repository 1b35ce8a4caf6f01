import AsyncHTTPClient
import DialerCore
@testable import FakeTwilio
import Foundation
import Testing

/// How the fake's calls end (after-the-dial.md sections 1.5 and 1.6): the request's Timeout, TimeLimit and
/// MachineDetection honoured on a scaled clock, the asynchronous AMD callback, the seeded outcome mix, and the 400s
/// Twilio answers for values it refuses.
@Suite("Fake Twilio: call outcomes, Timeout, TimeLimit, answering-machine detection")
struct FakeOutcomeTests {
    static let calls = "/2010-04-01/Accounts/\(Fixture.subaccount)/Calls/"

    /// The Call resource of each SID, as Fetch Call answers now.
    static func fetch(_ baseURL: String, _ sids: [String]) async throws -> [JSONValue] {
        var bodies: [JSONValue] = []
        for sid in sids { bodies.append(try await FakeCallResourceTests.get(baseURL + calls + sid + ".json").body) }
        return bodies
    }

    @Test("Timeout: a call nobody answers rings for the scaled Timeout, then is no-answer with SIP 487; an answer due later never comes")
    func timeout() async throws {
        // One Twilio second is ten seconds on the fake's clock, which only the test moves: however slow the machine, the
        // test's own time is nothing beside the calls' minutes.
        let fake = Fixture.fake {
            $0.timeScale = 10
            $0.timings = FakeTwilio.Timings(queued: .zero, ringing: .seconds(6_000), inProgress: .seconds(6_000))
        }
        try await fake.withRunning { baseURL in
            let silent = "+14155558101", late = "+14155558102", prompt = "+14155558103"
            await fake.ledger.scriptOutcome(to: silent, FakeCallOutcome(status: .noAnswer))
            await fake.ledger.scriptOutcome(to: late, FakeCallOutcome(status: .completed, ringSeconds: 40))
            await fake.ledger.scriptOutcome(to: prompt, FakeCallOutcome(status: .completed, durationSeconds: 100, ringSeconds: 10))
            var sids: [String] = []
            for to in [silent, late, prompt] { sids.append(try await StatusCallbackTests.createCall(baseURL, [("To", to), ("Timeout", "30")])) }
            func statuses() async throws -> [String?] { try await Self.fetch(baseURL, sids).map { $0["status"]?.stringValue } }

            #expect(try await statuses() == ["ringing", "ringing", "ringing"])
            await fake.ledger.advanceClock(by: .seconds(150))
            #expect(try await statuses() == ["ringing", "ringing", "in-progress"])
            // 30 Twilio seconds = 300 s here.
            await fake.ledger.advanceClock(by: .seconds(160))
            #expect(try await statuses() == ["no-answer", "no-answer", "in-progress"])
            let bodies = try await Self.fetch(baseURL, sids)
            #expect(bodies.prefix(2).allSatisfy { $0["duration"]?.stringValue == "0" && $0["answered_by"] == .null })
            let ledger = await fake.ledger.calls
            for call in ledger.prefix(2) {
                #expect(call.timeout == 30 && call.answerTime == nil)
                #expect(abs(call.endTime.timeIntervalSince(call.startTime) - 300) < 1e-6)
                #expect(call.outcome.status == .noAnswer && call.outcome.sipResponseCode == 487)
            }
            #expect(ledger[2].answerTime.map { abs($0.timeIntervalSince(ledger[2].startTime) - 100) < 1e-6 } == true)
        }
    }

    @Test("Timeout: the no-answer callback carries SipResponseCode 487 and CallDuration 0, sent when the scaled Timeout elapsed")
    func timeoutCallback() async throws {
        let fake = Fixture.fake { $0.timeScale = 0.01 }
        try await fake.withRunning { baseURL in
            try await StatusCallbackTests.withReceiver { receiverURL, inbox in
                let to = "+14155558111"
                await fake.ledger.scriptOutcome(to: to, FakeCallOutcome(status: .noAnswer))
                let sid = try await StatusCallbackTests.createCall(baseURL, [("To", to), ("Timeout", "5"), ("StatusCallback", receiverURL + "/status")])
                let final = try #require(try await StatusCallbackTests.waitFor(1, in: inbox).first)
                #expect(final.value("CallSid") == sid && final.value("CallStatus") == "no-answer")
                #expect(final.value("SipResponseCode") == "487" && final.value("CallDuration") == "0")
                let call = try #require(await fake.ledger.calls.first)
                // 5 Twilio seconds at 0.01: 50 ms of ringing on the fake's clock; the callback is stamped with its end.
                #expect(abs(call.endTime.timeIntervalSince(call.startTime) - 0.05) < 1e-6)
                #expect(final.value("Timestamp").flatMap(StatusCallbackTests.rfc2822) == Date(timeIntervalSince1970: call.endTime.timeIntervalSince1970.rounded(.down)))
            }
        }
    }

    @Test("TimeLimit: an answered call lasts at most TimeLimit seconds, and reports that duration")
    func timeLimit() async throws {
        let fake = Fixture.fake {
            $0.timeScale = 10
            $0.timings = FakeTwilio.Timings(queued: .zero, ringing: .seconds(1), inProgress: .seconds(1))
        }
        try await fake.withRunning { baseURL in
            let to = "+14155558201"
            await fake.ledger.scriptOutcome(to: to, FakeCallOutcome(status: .completed, durationSeconds: 300, ringSeconds: 40))
            var sids: [String] = []
            for limit in ["60", nil, "600"] {
                sids.append(try await StatusCallbackTests.createCall(baseURL, [("To", to)] + (limit.map { [("TimeLimit", $0)] } ?? [])))
            }
            #expect(try await Self.fetch(baseURL, sids).allSatisfy { $0["status"]?.stringValue == "ringing" && $0["duration"] == .null })
            await fake.ledger.advanceClock(by: .seconds(100_000))
            let bodies = try await Self.fetch(baseURL, sids)
            #expect(bodies.map { $0["status"]?.stringValue } == ["completed", "completed", "completed"])
            #expect(bodies.map { $0["duration"]?.stringValue } == ["60", "300", "300"])
            let ledger = await fake.ledger.calls
            #expect(ledger.map(\.timeLimit) == [60, nil, 600])
            let talked = ledger.compactMap { call in call.answerTime.map { call.endTime.timeIntervalSince($0) } }
            #expect(zip(talked, [600.0, 3_000, 3_000]).allSatisfy { abs($0 - $1) < 1e-6 }, "\(talked)")
        }
    }

    @Test("AnsweredBy only with MachineDetection: in Enable's or DetectMessageEnd's words, on the final callback and the Call resource")
    func answeredBy() async throws {
        let fake = Fixture.fake { $0.timeScale = 0.01 }
        try await fake.withRunning { baseURL in
            try await StatusCallbackTests.withReceiver { receiverURL, inbox in
                let machine = "+14155558301", person = "+14155558302", busy = "+14155558303"
                await fake.ledger.scriptOutcome(to: machine, FakeCallOutcome(status: .completed, durationSeconds: 20, answeredBy: .machineEndBeep))
                await fake.ledger.scriptOutcome(to: person, FakeCallOutcome(status: .completed, durationSeconds: 20))
                await fake.ledger.scriptOutcome(to: busy, FakeCallOutcome(status: .busy))
                let cases: [(to: String, detection: String?, expected: String?)] = [
                    (machine, nil, nil), (machine, "Enable", "machine_start"), (machine, "DetectMessageEnd", "machine_end_beep"),
                    (person, "DetectMessageEnd", "human"), (busy, "Enable", nil),
                ]
                var sids: [String] = []
                for (i, test) in cases.enumerated() {
                    var fields = [("To", test.to), ("StatusCallback", receiverURL + "/status?case=\(i)")]
                    fields += ["initiated", "ringing", "answered", "completed"].map { ("StatusCallbackEvent", $0) }
                    if let detection = test.detection { fields.append(("MachineDetection", detection)) }
                    sids.append(try await StatusCallbackTests.createCall(baseURL, fields))
                }
                let received = try await StatusCallbackTests.waitFor(4 * 4 + 2, in: inbox)
                let bodies = try await Self.fetch(baseURL, sids)
                for (i, test) in cases.enumerated() {
                    let mine = received.filter { $0.query("case") == String(i) }
                    #expect(mine.last?.value("AnsweredBy") == test.expected, "case \(i)")
                    #expect(mine.dropLast().allSatisfy { $0.value("AnsweredBy") == nil }, "case \(i)")
                    #expect(bodies[i]["answered_by"]?.stringValue == test.expected, "case \(i)")
                    for callback in mine {
                        #expect(TwilioSignature.isValid(signature: callback.signature ?? "", url: callback.url, parameters: callback.parameters,
                                                        authToken: Fixture.password))
                    }
                }
                #expect(await fake.ledger.calls.map { $0.machineDetection?.rawValue } == [nil, "Enable", "DetectMessageEnd", "DetectMessageEnd", "Enable"])
            }
        }
    }

    @Test("AsyncAmd=true: the verdict is POSTed (or sent by GET) to AsyncAmdStatusCallback, signed, before the call ends; never with AsyncAmd=false")
    func asyncAMD() async throws {
        let fake = Fixture.fake { $0.timeScale = 0.01 }
        try await fake.withRunning { baseURL in
            try await StatusCallbackTests.withReceiver { receiverURL, inbox in
                let machine = "+14155558401", person = "+14155558402"
                await fake.ledger.scriptOutcome(to: machine, FakeCallOutcome(status: .completed, durationSeconds: 60, answeredBy: .machineEndSilence))
                await fake.ledger.scriptOutcome(to: person, FakeCallOutcome(status: .completed, durationSeconds: 20))
                let posted = try await StatusCallbackTests.createCall(baseURL, [
                    ("To", machine), ("MachineDetection", "DetectMessageEnd"), ("AsyncAmd", "true"),
                    ("AsyncAmdStatusCallback", receiverURL + "/status?tag=amd"), ("StatusCallback", receiverURL + "/status?tag=status"),
                ])
                let gotten = try await StatusCallbackTests.createCall(baseURL, [
                    ("To", person), ("MachineDetection", "Enable"), ("AsyncAmd", "true"), ("AsyncAmdStatusCallback", receiverURL + "/status?tag=get"),
                    ("AsyncAmdStatusCallbackMethod", "GET"),
                ])
                let blocking = try await StatusCallbackTests.createCall(baseURL, [
                    ("To", person), ("MachineDetection", "Enable"), ("AsyncAmd", "false"),
                    ("AsyncAmdStatusCallback", receiverURL + "/status?tag=never"), ("StatusCallback", receiverURL + "/status?tag=sync"),
                ])
                let received = try await StatusCallbackTests.waitFor(4, in: inbox)
                let ledger = await fake.ledger.calls

                let verdicts = received.filter { $0.query("tag") == "amd" }
                let verdict = try #require(verdicts.first)
                #expect(verdicts.count == 1 && verdict.method == "POST")
                let names: [String] = verdict.parameters.map { $0.0 }.sorted()
                #expect(names == ["AccountSid", "AnsweredBy", "CallSid", "MachineDetectionDuration"])
                #expect(verdict.value("CallSid") == posted && verdict.value("AccountSid") == Fixture.subaccount)
                #expect(verdict.value("AnsweredBy") == "machine_end_silence")
                let duration = try #require(verdict.value("MachineDetectionDuration").flatMap { Int($0) })
                #expect((8_000...25_000).contains(duration) && duration == ledger[0].machineDetectionDuration)
                #expect(TwilioSignature.isValid(signature: verdict.signature ?? "", url: verdict.url, parameters: verdict.parameters,
                                                authToken: Fixture.password))
                // The verdict comes while the call is still up, so before its completed callback.
                let tags: [String] = received.compactMap { $0.query("tag") }.filter { $0 == "amd" || $0 == "status" }
                #expect(tags == ["amd", "status"])
                #expect(received.first { $0.query("tag") == "status" }?.value("AnsweredBy") == "machine_end_silence")

                let get = try #require(received.first { $0.query("tag") == "get" })
                #expect(get.method == "GET" && get.query("CallSid") == gotten && get.query("AnsweredBy") == "human")
                #expect(TwilioSignature.isValid(signature: get.signature ?? "", url: get.url, parameters: [], authToken: Fixture.password))

                #expect(received.allSatisfy { $0.query("tag") != "never" })
                #expect(received.first { $0.query("tag") == "sync" }?.value("AnsweredBy") == "human")
                #expect(ledger.map(\.asyncAmd) == [true, true, false] && ledger[2].sid == blocking)
                // The fake notes an answer once it has read it, a moment after the receiver took the request.
                var amdLedger: [FakeCallback] = []
                for _ in 0..<200 {
                    amdLedger = await fake.ledger.callbacks.filter { $0.kind == .amd }
                    if amdLedger.count == 2 { break }
                    try await Task.sleep(for: .milliseconds(20))
                }
                #expect(Set(amdLedger.map(\.callSID)) == [posted, gotten])
                #expect(amdLedger.allSatisfy { $0.result == .delivered && $0.sequenceNumber == nil && $0.answeredBy != nil })
            }
        }
    }

    /// What a call drew from the mix, as the ledger has it.
    struct Drawn: Hashable {
        let status: FakeCallOutcome.Status
        let answeredBy: AnsweredBy?
        let sip: Int?
        let duration: Int
    }

    /// Creates a call to each destination with `fields` and returns what each drew, in order.
    static func draws(_ fake: FakeTwilio, _ destinations: [String], _ fields: [(String, String)] = []) async throws -> [Drawn] {
        try await fake.withRunning { baseURL in
            for to in destinations { _ = try await StatusCallbackTests.createCall(baseURL, [("To", to)] + fields) }
            return await fake.ledger.calls.map {
                Drawn(status: $0.outcome.status, answeredBy: $0.outcome.answeredBy, sip: $0.outcome.sipResponseCode, duration: $0.duration)
            }
        }
    }

    static let mix = try! OutcomeMix(parsing: "human=0.55,machine=0.15,busy=0.1,no-answer=0.15,failed=0.05")

    /// What the `dialIndex`th call to `to` reports, drawn from `mix` as the fake draws it (no Timeout or TimeLimit).
    static func predicted(seed: UInt64 = FakeTwilio.Configuration.defaultSeed, to: String, dialIndex: Int = 0,
                          detection: MachineDetection?) -> Drawn
    {
        let dice = FakeDice(seed: seed, to: to, dialIndex: dialIndex)
        var options = CallOptions()
        options.machineDetection = detection
        let timeline = FakeCall.timeline(createdAt: Date(), queueTime: 0, callee: mix.outcome(dice), options: options, timings: FakeTwilio.Timings(),
                                         timeScale: 1, dice: dice)
        return Drawn(status: timeline.outcome.status, answeredBy: timeline.outcome.answeredBy, sip: timeline.outcome.sipResponseCode,
                     duration: timeline.outcome.durationSeconds ?? 0)
    }

    @Test("the outcome mix draws each kind in its share (2,000 draws), failures with SIP 404/480/503/603, machines told apart only by AMD")
    func outcomeMixShares() {
        let destinations = Fixture.destinations(2_000, start: 8_000)
        let drawn = destinations.map { Self.predicted(to: $0, detection: .enable) }
        func share(_ matches: (Drawn) -> Bool) -> Double { Double(drawn.filter(matches).count) / Double(drawn.count) }
        let human = share { $0.status == .completed && $0.answeredBy == .human }
        let machine = share { $0.status == .completed && $0.answeredBy == .machineStart }
        let busy = share { $0.status == .busy }, noAnswer = share { $0.status == .noAnswer }, failed = share { $0.status == .failed }
        #expect(abs(human - 0.55) < 0.04 && abs(machine - 0.15) < 0.03, "human \(human), machine \(machine)")
        #expect(abs(busy - 0.1) < 0.025 && abs(noAnswer - 0.15) < 0.03 && abs(failed - 0.05) < 0.02, "busy \(busy), no-answer \(noAnswer), failed \(failed)")
        #expect(abs(human + machine + busy + noAnswer + failed - 1) < 1e-9)
        let failures = drawn.filter { $0.status == .failed }
        #expect(Set(failures.compactMap(\.sip)) == [404, 480, 503, 603])
        #expect(drawn.filter { $0.status == .busy }.allSatisfy { $0.sip == 486 && $0.duration == 0 })
        #expect(drawn.filter { $0.status == .noAnswer }.allSatisfy { $0.sip == 487 && $0.duration == 0 })
        #expect(drawn.filter { $0.status == .completed }.allSatisfy { (5...240).contains($0.duration) })
        // Without MachineDetection the same callees are the same calls, but nothing says who answered.
        let undetected = destinations.map { Self.predicted(to: $0, detection: nil) }
        #expect(undetected.map(\.status) == drawn.map(\.status) && undetected.allSatisfy { $0.answeredBy == nil })
    }

    @Test("the outcome mix over HTTP: each call reports its draw, the same seed draws alike on another fake and another seed not, a script wins")
    func outcomeMix() async throws {
        func fake(seed: UInt64 = FakeTwilio.Configuration.defaultSeed) -> FakeTwilio {
            Fixture.fake {
                $0.outcomeMix = Self.mix
                $0.seed = seed
            }
        }
        let destinations = Fixture.destinations(80, start: 8_000)
        let detected = [("MachineDetection", "Enable")]
        let first = try await Self.draws(fake(), destinations, detected)
        #expect(first == destinations.map { Self.predicted(to: $0, detection: .enable) })
        #expect(Set(first.map(\.status)) == [.completed, .busy, .noAnswer, .failed])
        #expect(try await Self.draws(fake(), destinations, detected) == first)
        #expect(try await Self.draws(fake(seed: 7), destinations, detected) != first)
        // A scripted outcome wins over the mix; the second call to a number draws afresh, as its dice say.
        let scripted = fake()
        await scripted.ledger.scriptOutcome(to: destinations[0], FakeCallOutcome(status: .busy))
        let again = try await Self.draws(scripted, [destinations[0], destinations[1], destinations[1]], detected)
        #expect(again[0].status == .busy && again[1] == first[1])
        #expect(again[2] == Self.predicted(to: destinations[1], dialIndex: 1, detection: .enable))
    }

    @Test("DetectMessageEnd reports the mix's machines by how their greeting ended")
    func mixWithMessageEnd() async throws {
        let fake = Fixture.fake { $0.outcomeMix = try? OutcomeMix(parsing: "machine=1") }
        let drawn = try await Self.draws(fake, Fixture.destinations(60, start: 9_000), [("MachineDetection", "DetectMessageEnd")])
        let seen = Set(drawn.compactMap(\.answeredBy))
        #expect(seen == [.machineEndBeep, .machineEndSilence, .machineEndOther], "\(seen)")
    }

    @Test("values Twilio refuses are 400 with its code and create no call: Timeout, TimeLimit, MachineDetection, AsyncAmd, StatusCallbackEvent, methods")
    func refusedValues() async throws {
        let fake = Fixture.fake()
        try await fake.withRunning { baseURL in
            let refused: [(String, String, Int)] = [
                ("Timeout", "0", 21208), ("Timeout", "601", 21208), ("Timeout", "ten", 21208), ("Timeout", "1.5", 21208),
                ("TimeLimit", "0", 20422), ("TimeLimit", "-5", 20422), ("TimeLimit", "86401", 20422),
                ("MachineDetection", "Yes", 21234), ("MachineDetection", "enable", 21234), ("AsyncAmd", "yes", 21234),
                ("AsyncAmdStatusCallbackMethod", "PUT", 21234), ("StatusCallbackEvent", "hangup", 21626), ("StatusCallbackMethod", "PUT", 21209),
            ]
            for (name, value, code) in refused {
                let answer = try await FakeAccountsTests.create(baseURL, [name: value])
                #expect(answer.status == 400 && answer.code == code, "\(name)=\(value): \(String(describing: answer.body))")
                #expect(answer.body?["more_info"]?.stringValue == "https://www.twilio.com/docs/errors/\(code)")
            }
            #expect(await fake.ledger.calls.isEmpty)
            let accepted: [[String: String?]] = [
                ["Timeout": "1"], ["Timeout": "600"], ["TimeLimit": "1"], ["MachineDetection": "Enable", "AsyncAmd": "false"],
                ["MachineDetection": "DetectMessageEnd", "SendDigits": "1234"], ["StatusCallbackEvent": "initiated ringing", "StatusCallbackMethod": "get"],
            ]
            for fields in accepted {
                let answer = try await FakeAccountsTests.create(baseURL, fields)
                #expect(answer.status == 201, "\(fields): \(String(describing: answer.body))")
            }
            let calls = await fake.ledger.calls
            #expect(calls.map(\.timeout) == [1, 600, nil, nil, nil, nil])
            // SendDigits makes Twilio ignore MachineDetection.
            #expect(calls[3].machineDetection == .enable && calls[4].machineDetection == nil)
            #expect(calls[5].statusCallbackEvents == ["initiated", "ringing"] && calls[5].statusCallbackMethod == "GET")
        }
    }

    @Test("dialer fake-twilio refuses a bad --time-scale, --outcome-mix or --callback-faults with exit status 2")
    func refusedFlags() async throws {
        let env = ["TWILIO_ACCOUNT_SID": Fixture.username, "TWILIO_AUTH_TOKEN": Fixture.password]
        for flags in [["--time-scale", "0"], ["--outcome-mix", "human=x"], ["--outcome-mix", "robot=1"], ["--outcome-mix", "busy=0"],
                      ["--callback-faults", "drop=2"], ["--callback-faults", "lose=0.1"], ["--account", "\(Fixture.subaccount):=+14155550100"]]
        {
            let output = try await TestProcess.run(["fake-twilio"] + flags, environment: env, timeout: .seconds(30))
            #expect(output.status == 2 && output.stderr.contains(flags[0]), "\(flags): \(output.stderr)")
        }
    }
}
