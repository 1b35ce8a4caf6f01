import Foundation

/// Splits a SQL script into statements at top-level semicolons, skipping those inside quotes, dollar quotes and comments.
///
/// postgres-nio speaks only the extended query protocol, which takes one statement at a time, so a migration file a DBA
/// can run with psql is split here before it is sent.
public enum SQLScript {
    public static func statements(_ script: String) -> [String] {
        let chars = Array(script)
        var statements: [String] = []
        var start = 0
        var i = 0
        var hasCode = false
        // A statement starts at its first character of code, so comments between statements are dropped.
        func markCode(_ at: Int) {
            if !hasCode { start = at }
            hasCode = true
        }
        func flush(_ end: Int) {
            let text = String(chars[start..<end]).trimmingCharacters(in: .whitespacesAndNewlines)
            if hasCode, !text.isEmpty { statements.append(text) }
            hasCode = false
        }
        while i < chars.count {
            let c = chars[i]
            let next: Character? = i + 1 < chars.count ? chars[i + 1] : nil
            switch c {
            case "-" where next == "-":
                while i < chars.count, chars[i] != "\n" { i += 1 }
                continue
            case "/" where next == "*":
                var depth = 0
                repeat {
                    if chars[i] == "/", i + 1 < chars.count, chars[i + 1] == "*" { depth += 1; i += 2; continue }
                    if chars[i] == "*", i + 1 < chars.count, chars[i + 1] == "/" { depth -= 1; i += 2; continue }
                    i += 1
                } while i < chars.count && depth > 0
                continue
            case "'", "\"":
                markCode(i)
                i += 1
                while i < chars.count {
                    if chars[i] == c {
                        if i + 1 < chars.count, chars[i + 1] == c { i += 2; continue }
                        break
                    }
                    i += 1
                }
                i += 1
                continue
            case "$":
                markCode(i)
                // A dollar-quote tag is $$ or $identifier$.
                var j = i + 1
                while j < chars.count, chars[j].isLetter || chars[j].isNumber || chars[j] == "_" { j += 1 }
                if j < chars.count, chars[j] == "$", !(j > i + 1 && chars[i + 1].isNumber) {
                    let tag = String(chars[i...j])
                    let tagChars = Array(tag)
                    var k = j + 1
                    while k < chars.count {
                        if chars[k] == "$", k + tagChars.count <= chars.count, Array(chars[k..<(k + tagChars.count)]) == tagChars { break }
                        k += 1
                    }
                    i = min(chars.count, k + tagChars.count)
                    continue
                }
                i += 1
                continue
            case ";":
                flush(i)
                start = i + 1
            default:
                if !c.isWhitespace { markCode(i) }
            }
            i += 1
        }
        flush(chars.count)
        return statements
    }
}
