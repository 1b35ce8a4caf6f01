import Foundation

/// The lines of a file, read in 1 MiB chunks, so a registry file of any size streams through.
struct FileLines: AsyncSequence, Sendable {
    typealias Element = Substring
    let path: String

    struct AsyncIterator: AsyncIteratorProtocol {
        let handle: FileHandle?
        var pending: [Substring] = []
        var carry = ""
        var done = false

        mutating func next() async throws -> Substring? {
            while pending.isEmpty {
                if done { return nil }
                guard let handle, let data = try handle.read(upToCount: 1 << 20), !data.isEmpty else {
                    done = true
                    if !carry.isEmpty {
                        pending = [Substring(carry)]
                        carry = ""
                    }
                    continue
                }
                var text = carry + String(decoding: data, as: UTF8.self)
                if let lastNewline = text.lastIndex(of: "\n") {
                    carry = String(text[text.index(after: lastNewline)...])
                    text = String(text[..<lastNewline])
                    pending = text.split(separator: "\n", omittingEmptySubsequences: false).reversed()
                } else {
                    carry = text
                }
            }
            return pending.popLast()
        }
    }

    func makeAsyncIterator() -> AsyncIterator { AsyncIterator(handle: FileHandle(forReadingAtPath: path)) }
}
