import Crypto
import CryptoExtras
import Foundation

/// Operators' passwords, hashed with scrypt (a memory-hard password hash: guessing costs an attacker 128 MiB and a
/// few hundred milliseconds per try) into a PHC string, `$scrypt$ln=17,r=8,p=1$SALT$HASH` (base64 without padding).
/// The parameters travel with each hash, so raising ``current`` later takes effect at each operator's next sign-in
/// (``needsRehash(_:)``). Pure: no database, no clock.
public struct PasswordHash: Sendable, Hashable {
    /// log2 of scrypt's N, its cost.
    public let logN: Int
    public let blockSize: Int
    public let parallelism: Int

    /// OWASP's minimum for scrypt: N = 2^17, r = 8, p = 1 (128 MiB per hash).
    public static let current = PasswordHash(logN: 17, blockSize: 8, parallelism: 1)
    /// Passwords shorter than this are refused (NIST SP 800-63B: at least 8; we ask 12 of people who can stop calls).
    public static let minimumLength = 12
    /// Longer ones are refused too: nobody types them, and they cost the hash nothing but the request a lot of bytes.
    public static let maximumLength = 256

    public init(logN: Int, blockSize: Int, parallelism: Int) {
        self.logN = logN
        self.blockSize = blockSize
        self.parallelism = parallelism
    }

    /// Checks a new password's length, or throws `invalid_request` (the password itself never appears in the message).
    public static func validate(newPassword password: String) throws(OpenPhnError) {
        let length = password.count
        guard length >= minimumLength, length <= maximumLength else {
            throw OpenPhnError(.invalidRequest, "A password is \(minimumLength) to \(maximumLength) characters (this one has \(length)).",
                               details: ["field": "password"], status: 422)
        }
    }

    /// Hashes `password` with a fresh 16-byte salt from the system's secure random generator.
    public func hash(_ password: String) throws -> String {
        var generator = SystemRandomNumberGenerator()
        let salt = (0..<16).map { _ in UInt8.random(in: 0...255, using: &generator) }
        return try hash(password, salt: salt)
    }

    func hash(_ password: String, salt: [UInt8]) throws -> String {
        "$scrypt$ln=\(logN),r=\(blockSize),p=\(parallelism)$\(Self.encode(salt))$\(Self.encode(try digest(password, salt: salt)))"
    }

    func digest(_ password: String, salt: [UInt8]) throws -> [UInt8] {
        let key = try KDF.Scrypt.deriveKey(from: Array(password.utf8), salt: salt, outputByteCount: 32, rounds: 1 << logN,
                                           blockSize: blockSize, parallelism: parallelism)
        return key.withUnsafeBytes { Array($0) }
    }

    /// Whether `password` is the one `stored` was made from, compared in constant time. A stored string that is not a
    /// hash this code makes (or asks more than 2^20 of N, which no sign-in should pay) never matches.
    public static func verify(_ password: String, against stored: String) -> Bool {
        guard let parsed = parse(stored), let computed = try? parsed.parameters.digest(password, salt: parsed.salt) else { return false }
        return constantTimeEqual(computed, parsed.digest)
    }

    /// Whether `stored` was made with parameters other than ``current`` (re-hash it at the next sign-in).
    public static func needsRehash(_ stored: String) -> Bool { parse(stored)?.parameters != current }

    /// Work for a sign-in by a name no operator has: a hash of the same cost, so the answer takes as long as a wrong
    /// password's and does not tell which names exist.
    public static let decoy: String = (try? current.hash("not-a-password-of-anyone")) ?? "$scrypt$"

    struct Parsed {
        let parameters: PasswordHash
        let salt: [UInt8]
        let digest: [UInt8]
    }

    static func parse(_ stored: String) -> Parsed? {
        let parts = stored.split(separator: "$", omittingEmptySubsequences: false)
        guard parts.count == 5, parts[0].isEmpty, parts[1] == "scrypt" else { return nil }
        var values: [Substring: Int] = [:]
        for pair in parts[2].split(separator: ",") {
            let kv = pair.split(separator: "=", maxSplits: 1)
            guard kv.count == 2, let value = Int(kv[1]) else { return nil }
            values[kv[0]] = value
        }
        guard let logN = values["ln"], let r = values["r"], let p = values["p"], (10...20).contains(logN), (1...32).contains(r), (1...16).contains(p),
              let salt = decode(parts[3]), salt.count >= 8, let digest = decode(parts[4]), digest.count == 32
        else { return nil }
        return Parsed(parameters: PasswordHash(logN: logN, blockSize: r, parallelism: p), salt: salt, digest: digest)
    }

    static func encode(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString().replacingOccurrences(of: "=", with: "") }

    static func decode(_ text: Substring) -> [UInt8]? {
        var padded = String(text)
        while padded.count % 4 != 0 { padded += "=" }
        return Data(base64Encoded: padded).map(Array.init)
    }

    /// Equal bytes, in a time that depends on their length only.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for (x, y) in zip(a, b) { difference |= x ^ y }
        return difference == 0
    }
}
