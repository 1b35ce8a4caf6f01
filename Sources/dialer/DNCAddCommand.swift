import ArgumentParser
import DialerCore

struct DNCAddCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "add", abstract: "Add one number.")
    @OptionGroup var settings: SettingOptions
    @OptionGroup var list: DNCCommand.ListOptions
    @Argument(help: "E.164 number.") var number: String

    func run() async throws {
        let phone = try parsePhone(number)
        let target = list.list
        let added = try await settings.withStore { try await $0.addDNC(phone, to: target) }
        print(added ? "added \(phone.e164) to \(list.name)" : "\(phone.e164) was already on \(list.name)")
    }
}
