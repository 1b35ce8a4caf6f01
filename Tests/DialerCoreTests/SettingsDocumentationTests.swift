import Foundation
import Testing

@testable import DialerCore

/// The configuration table of the README is the operator's reference: it must list every setting the dialer reads.
@Suite("Settings are documented")
struct SettingsDocumentationTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

    /// Every `"DIALER_..."`, `"TWILIO_..."` and `"DATABASE_URL"` string literal in the sources.
    static func namesReadInSources() throws -> Set<String> {
        var names = Set<String>()
        let pattern = try Regex(#""((DIALER|TWILIO)_[A-Z_]+|DATABASE_URL)""#)
        let sources = root.appendingPathComponent("Sources")
        guard let files = FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil) else { return [] }
        for case let file as URL in files where file.pathExtension == "swift" {
            let text = try String(contentsOf: file, encoding: .utf8)
            for match in text.matches(of: pattern) { names.insert(String(text[match.range].dropFirst().dropLast())) }
        }
        return names
    }

    @Test("every setting the sources read is in DialerSettings.variables, and the README's table has a row for each")
    func everySettingDocumented() throws {
        let listed = Set(DialerSettings.variables.map { $0.name })
        let read = try Self.namesReadInSources()
        #expect(read.count > 10, "the scan found almost nothing: \(read)")
        #expect(read.subtracting(listed).isEmpty, "read but not in DialerSettings.variables: \(read.subtracting(listed).sorted())")
        #expect(listed.subtracting(read).isEmpty, "listed but never read: \(listed.subtracting(read).sorted())")
        let readme = try String(contentsOf: Self.root.appendingPathComponent("README.md"), encoding: .utf8)
        let rows = readme.split(separator: "\n").filter { $0.hasPrefix("| `") }
        for name in listed.sorted() {
            #expect(rows.contains { $0.contains("`\(name)`") }, "README's configuration table has no row for \(name)")
        }
    }
}
