import ArgumentParser
import DialerCore
import Foundation

@main
struct DialerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dialer",
        abstract: "OpenPhn's outbound-call worker: claims call jobs from PostgreSQL and dials them through Twilio.",
        subcommands: [
            MigrateCommand.self, RunCommand.self, DrainCommand.self, StatusCommand.self, EnqueueCommand.self, PauseCommand.self,
            ResumeCommand.self, CancelCommand.self, RetryCommand.self, PruneCommand.self, CheckCommand.self, ExplainCommand.self,
            DNCCommand.self, OptOutCommand.self, TenantCommand.self, KeysCommand.self, OperatorsCommand.self, CampaignCommand.self, ServeCommand.self, FakeTwilioCommand.self,
            BenchHTTPCommand.self, SQLCommand.self,
        ])

    /// ArgumentParser's `main()`, except that every failure, a parse error included, is reported one way: one line
    /// `dialer: <code>: <message>` on stderr, or under `--json` one `{error, message, details}` object on stdout, and the
    /// exit status of ``FailureReport`` (2: fix the input; 1: it failed). Help goes to stdout with status 0.
    static func main() async {
        let arguments = Array(CommandLine.arguments.dropFirst())
        // Until the arguments parse, `--json` anywhere before `--` asks for a JSON answer.
        var json = arguments.prefix { $0 != "--" }.contains("--json")
        do {
            var command = try parseAsRoot(arguments)
            json = (command as? any JSONAnswering)?.json ?? json
            if var asyncCommand = command as? any AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                try command.run()
            }
        } catch let code as ExitCode {
            terminate(code.rawValue)  // the command has already said why
        } catch {
            let parserStatus = exitCode(for: error)
            if parserStatus == .success {
                print(fullMessage(for: error))
                terminate(0)
            }
            let report = parserStatus == .validationFailure
                ? FailureReport.usage(message(for: error), command: commandPath(arguments)) : FailureReport(error)
            if json {
                print(report.json.jsonText)
            } else {
                printError("dialer: \(report.line)")
            }
            terminate(report.exitStatus)
        }
    }

    /// `dialer dnc import` for `["dnc", "import", "--full", ...]`: the subcommands named at the start of the arguments.
    static func commandPath(_ arguments: [String]) -> String {
        var path = ["dialer"]
        var command: any ParsableCommand.Type = DialerCommand.self
        for argument in arguments {
            guard let next = command.configuration.subcommands.first(where: { $0._commandName == argument }) else { break }
            path.append(argument)
            command = next
        }
        return path.joined(separator: " ")
    }
}
