import Foundation
import Testing

@testable import DialerCore

@Suite("SQL scripts and the shipped migrations")
struct SQLScriptTests {
    @Test("migrations split at top-level semicolons only")
    func sqlSplit() {
        let script = """
            -- a comment; with a semicolon
            CREATE TABLE a (x text DEFAULT 'a;b');
            /* block; comment */ COMMENT ON TABLE a IS $$one; two$$;
            DO $body$ BEGIN PERFORM 1; END $body$;
            SELECT "we;ird" FROM a
            """
        let statements = SQLScript.statements(script)
        #expect(statements.count == 4)
        #expect(statements[0].hasSuffix("DEFAULT 'a;b')"))
        #expect(statements[1].contains("$$one; two$$"))
        #expect(statements[2].hasPrefix("DO $body$"))
        #expect(statements[3] == "SELECT \"we;ird\" FROM a")
    }

    @Test("the shipped migration splits into statements that all look like SQL")
    func shippedMigration() throws {
        let migrations = try Migration.bundled()
        #expect(migrations.first?.version == 1)
        // Numbered from 1, each number once, in order. A gap is allowed: a migration number is reserved by the branch that
        // writes it, and branches land in any order (0009 may be merged before 0008; both apply, in number order).
        let versions = migrations.map(\.version)
        #expect(Set(versions).count == versions.count && versions == versions.sorted())
        for migration in migrations {
            let statements = SQLScript.statements(migration.sql)
            #expect(statements.count >= 2, "\(migration.name)")
            #expect(statements.allSatisfy { $0.first?.isLetter == true })
        }
    }
}
