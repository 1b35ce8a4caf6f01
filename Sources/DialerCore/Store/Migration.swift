import Foundation

/// One numbered SQL migration from `sql/` (shipped in the library as a resource).
public struct Migration: Sendable, Hashable {
    /// The number the file name starts with; migrations apply in this order.
    public let version: Int
    /// The file name, for the record and for people.
    public let name: String
    public let sql: String

    /// FNV-1a of the text, so a migration edited after it was applied is noticed.
    public var checksum: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in sql.utf8 { hash = (hash ^ UInt64(byte)) &* 0x100_0000_01b3 }
        return String(hash, radix: 16)
    }

    public init(version: Int, name: String, sql: String) {
        self.version = version
        self.name = name
        self.sql = sql
    }

    /// The migrations shipped with this build, in order.
    public static func bundled() throws -> [Migration] {
        guard let directory = Bundle.module.url(forResource: "Migrations", withExtension: nil) else {
            throw OpenPhnError(.invalidRequest, "The migrations resource is missing from this build.")
        }
        return try load(from: directory)
    }

    /// Reads `NNNN_name.sql` files from a directory.
    public static func load(from directory: URL) throws -> [Migration] {
        let files = try FileManager.default.contentsOfDirectory(atPath: directory.path).filter { $0.hasSuffix(".sql") }.sorted()
        return try files.map { file in
            guard let version = Int(file.prefix { $0.isNumber }) else {
                throw OpenPhnError(.invalidRequest, "Migration file \(file) does not start with its number.")
            }
            return Migration(version: version, name: file, sql: try String(contentsOf: directory.appendingPathComponent(file), encoding: .utf8))
        }
    }
}
