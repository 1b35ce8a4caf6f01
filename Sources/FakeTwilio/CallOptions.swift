/// The Create Call parameters the fake honours beside To, From and Url (twilio.md section 1.2, after-the-dial.md sections
/// 1.1 and 1.5), validated as Twilio validates them: a value Twilio refuses is a 400 with its code, before any call exists.
struct CallOptions: Sendable, Hashable {
    /// `StatusCallbackMethod`: `POST` (Twilio's default) or `GET`.
    var statusCallbackMethod = "POST"
    /// `StatusCallbackEvent`, lowercased, as sent (repeated keys, or several values in one separated by spaces).
    var statusCallbackEvents: [String] = []
    /// `Timeout`: seconds the call may ring before it ends `no-answer`; `nil` when not sent (Twilio's default is 60).
    var timeout: Int?
    /// `TimeLimit`: the most seconds an answered call lasts.
    var timeLimit: Int?
    /// `MachineDetection`; `nil` when not asked, or when `SendDigits` is set (Twilio then ignores it).
    var machineDetection: MachineDetection?
    /// `AsyncAmd=true`: the verdict also goes to `AsyncAmdStatusCallback` when it is known.
    var asyncAmd = false
    var asyncAmdStatusCallback: String?
    /// `AsyncAmdStatusCallbackMethod`: `POST` (Twilio's default) or `GET`.
    var asyncAmdStatusCallbackMethod = "POST"

    static let events: Set<String> = ["initiated", "ringing", "answered", "completed"]

    /// A parameter Twilio refuses: its error code and message.
    struct Refusal: Error, Hashable {
        let code: Int
        let message: String
    }

    /// The options of a Create Call form, or the first refusal in this order: StatusCallbackMethod, StatusCallbackEvent,
    /// Timeout, TimeLimit, MachineDetection, AsyncAmd, AsyncAmdStatusCallbackMethod (Twilio's own order among them is
    /// not documented). Codes: 21209 Invalid Method, 21626 Invalid 'StatusCallbackEvent', 21208 Invalid Timeout, 21234
    /// Invalid Machine Detection configuration value (AsyncAmd and its method too); Twilio documents no code for a bad
    /// `TimeLimit` on Create Call (13216 is `<Dial timeLimit>`'s warning), so it is 20422, Twilio's Invalid Parameter.
    static func parse(_ form: [String: [String]]) -> Result<CallOptions, Refusal> {
        var options = CallOptions()
        let amd = "Invalid Machine Detection configuration value"
        func first(_ name: String) -> String? { form[name]?.first.flatMap { $0.isEmpty ? nil : $0 } }

        if let method = first("StatusCallbackMethod") {
            guard let valid = httpMethod(method) else {
                return .failure(Refusal(code: 21209, message: "StatusCallbackMethod must be GET or POST, not '\(method)'"))
            }
            options.statusCallbackMethod = valid
        }
        for value in form["StatusCallbackEvent"] ?? [] {
            for event in value.split(separator: " ").map({ $0.lowercased() }) {
                guard events.contains(event) else {
                    let message = "Invalid 'StatusCallbackEvent' \(event): use initiated, ringing, answered or completed"
                    return .failure(Refusal(code: 21626, message: message))
                }
                options.statusCallbackEvents.append(event)
            }
        }
        if let text = first("Timeout") {
            // Twilio's documented range: "default is 60 ... maximum is 600".
            guard let timeout = Int(text), (1...600).contains(timeout) else {
                return .failure(Refusal(code: 21208, message: "Invalid Timeout '\(text)': a whole number of seconds from 1 to 600"))
            }
            options.timeout = timeout
        }
        if let text = first("TimeLimit") {
            // Positive, and at most the 24 hours Twilio allows any call.
            guard let limit = Int(text), (1...86_400).contains(limit) else {
                return .failure(Refusal(code: 20422, message: "Invalid TimeLimit '\(text)': a whole number of seconds from 1 to 86400"))
            }
            options.timeLimit = limit
        }
        if let text = first("MachineDetection") {
            guard let mode = MachineDetection(rawValue: text) else {
                return .failure(Refusal(code: 21234, message: "\(amd): MachineDetection '\(text)' (Enable or DetectMessageEnd)"))
            }
            options.machineDetection = first("SendDigits") == nil ? mode : nil
        }
        if let text = first("AsyncAmd") {
            guard text == "true" || text == "false" else {
                return .failure(Refusal(code: 21234, message: "\(amd): AsyncAmd '\(text)' (true or false)"))
            }
            options.asyncAmd = text == "true"
        }
        options.asyncAmdStatusCallback = first("AsyncAmdStatusCallback")
        if let method = first("AsyncAmdStatusCallbackMethod") {
            guard let valid = httpMethod(method) else {
                return .failure(Refusal(code: 21234, message: "\(amd): AsyncAmdStatusCallbackMethod '\(method)' (GET or POST)"))
            }
            options.asyncAmdStatusCallbackMethod = valid
        }
        return .success(options)
    }

    private static func httpMethod(_ text: String) -> String? {
        let upper = text.uppercased()
        return upper == "GET" || upper == "POST" ? upper : nil
    }
}
