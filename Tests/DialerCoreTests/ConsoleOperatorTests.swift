import DialerCore
import Testing

@Suite("Operators: password hashes, roles, masked numbers")
struct ConsoleOperatorTests {
    static let cheap = PasswordHash(logN: 10, blockSize: 8, parallelism: 1)

    @Test("a scrypt PHC string verifies its password only, and a tampered or foreign string never matches")
    func passwordHash() throws {
        let stored = try Self.cheap.hash("correct horse battery")
        #expect(stored.hasPrefix("$scrypt$ln=10,r=8,p=1$"))
        #expect(PasswordHash.verify("correct horse battery", against: stored))
        #expect(!PasswordHash.verify("correct horse batterY", against: stored))
        #expect(try Self.cheap.hash("correct horse battery") != stored, "each hash has its own salt")
        var parts = stored.split(separator: "$", omittingEmptySubsequences: false).map(String.init)
        parts[4] = String(parts[4].reversed())
        #expect(!PasswordHash.verify("correct horse battery", against: parts.joined(separator: "$")))
        for foreign in ["", "$2b$12$abcdefghijklmnopqrstuv", "$scrypt$ln=30,r=8,p=1$c2FsdHNhbHQ$aGFzaA", "plain"] {
            #expect(!PasswordHash.verify("x", against: foreign))
        }
        #expect(PasswordHash.needsRehash(stored) && !PasswordHash.needsRehash("$scrypt$ln=17,r=8,p=1$" + parts[3] + "$" + parts[4]))
        #expect(throws: OpenPhnError.self) { try PasswordHash.validate(newPassword: "short") }
    }

    @Test("the current parameters are OWASP's scrypt minimum, and the decoy is a hash of the same cost")
    func currentCost() {
        #expect(PasswordHash.current == PasswordHash(logN: 17, blockSize: 8, parallelism: 1))
        #expect(PasswordHash.decoy.hasPrefix("$scrypt$ln=17,r=8,p=1$"))
    }

    @Test("roles are ordered; only operators and admins act; only admins see whole numbers; masks keep the area code")
    func roles() throws {
        let viewer = ConsoleOperator(id: "v", tenantID: "acme", role: .viewer)
        let admin = ConsoleOperator(id: "a", tenantID: nil, role: .admin)
        #expect(!viewer.mayAct && ConsoleOperator(id: "o", tenantID: nil, role: .operator).mayAct && admin.mayAct)
        #expect(viewer.shows(number: "+14155550123") == "+1415555****" && admin.shows(number: "+14155550123") == "+14155550123")
        #expect(viewer.sees(tenant: "acme") && !viewer.sees(tenant: "globex") && admin.sees(tenant: "globex"))
        #expect(throws: OpenPhnError.self) { try OperatorRole.parse("root") }
        #expect(throws: OpenPhnError.self) { try ConsoleOperator.validate(id: "a b") }
    }
}
