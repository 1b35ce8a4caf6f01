import Crypto
import Foundation

extension Secret {
    /// Whether `presented` is this secret, in time that does not depend on where or whether they differ, nor on their
    /// lengths: both are hashed (SHA-256) and the digests compared byte by byte without an early exit, so a client timing
    /// the answers learns nothing about the secret, not even its length.
    public func matches(_ presented: String) -> Bool {
        let expected = SHA256.hash(data: Data(value.utf8)), given = SHA256.hash(data: Data(presented.utf8))
        var difference: UInt8 = 0
        for (a, b) in zip(expected, given) { difference |= a ^ b }
        return difference == 0
    }
}
