import ArgumentParser
import DialerCore

struct DNCRemoveCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "remove", abstract: "Remove one number.")
    @OptionGroup var settings: SettingOptions
    @OptionGroup var list: DNCCommand.ListOptions
    @Argument(help: "E.164 number.") var number: String

    func run() async throws {
        let phone = try parsePhone(number)
        let target = list.list
        let removed = try await settings.withStore { try await $0.removeDNC(phone, from: target) }
        print(removed ? "removed \(phone.e164) from \(list.name)" : "\(phone.e164) was not on \(list.name)")
    }
}
