import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Testing
import Warehouse

@Suite(.timeLimit(.minutes(10))) struct IngestTests {
    static var crm: Source { TestWarehouse.demoCatalog.source("crm_accounts")! }
    static let header =
        "account_id,workspace_id,account_name,account_owner,owner_email,segment,renewal_on,health,updated_at"

    @Test func csvWithQuotesCommasAndLineBreaksIsRead() throws {
        let csv = """
            \(Self.header)
            9001,12,"Acme, Inc.","Jo ""JJ"" Park",jo@larkspur.io,enterprise,2027-01-31,green,2026-11-26T08:00:00Z
            9002,13,"Beta
            Holdings",Jo,jo@larkspur.io,mid_market,,red,2026-11-26 08:00:00

            """
        let parsed = try Ingest.parse(Data(csv.utf8), file: "crm.csv", format: .csv, source: Self.crm)
        #expect(parsed.columns.count == 9)
        #expect(parsed.rows.count == 2)
        #expect(parsed.rows[0][2] == .text("Acme, Inc."))
        #expect(parsed.rows[0][3] == .text("Jo \"JJ\" Park"))
        #expect(parsed.rows[0][8] == .text("2026-11-26 08:00:00"))
        #expect(parsed.rows[1][2] == .text("Beta\nHoldings"))
        #expect(parsed.rows[1][6] == .null)
    }

    /// ISO 8601 with a zone is stored in UTC; without one it is taken as UTC.
    @Test(arguments: [
        ("2013-01-01T05:15:00-05:00", "2013-01-01 10:15:00"),
        ("2013-01-01T05:15:00Z", "2013-01-01 05:15:00"),
        ("2013-12-31T22:30:00-05:00", "2014-01-01 03:30:00"),
        ("2013-01-01T01:15:00+05:30", "2012-12-31 19:45:00"),
        ("2013-01-01T01:15:00+0530", "2012-12-31 19:45:00"),
        ("2013-01-01T01:15:00+09", "2012-12-31 16:15:00"),
        ("2013-03-10T01:59:59.123-08:00", "2013-03-10 09:59:59"),
        ("2013-01-01 05:15:00", "2013-01-01 05:15:00"),
        ("2013-01-01", "2013-01-01 00:00:00"),
    ])
    func timestampsWithAnOffsetAreStoredInUTC(_ written: String, _ stored: String) throws {
        let csv = "\(Self.header)\n9001,12,Acme,Jo,jo@x.io,enterprise,2027-02-28,green,\(written)\n"
        let parsed = try Ingest.parse(Data(csv.utf8), file: "crm.csv", format: .csv, source: Self.crm)
        #expect(parsed.rows[0][8] == .text(stored))
    }

    @Test(arguments: [
        "2013-01-01T05:15:00-25:00", "2013-01-01T05:15:00+05:3", "2013-01-01T05:15:00 EST", "2013-01-01T5:15:00Z",
    ])
    func aBadOffsetIsNamedWithItsPlace(_ written: String) {
        let csv = "\(Self.header)\n9001,12,Acme,Jo,jo@x.io,enterprise,2027-02-28,green,\(written)\n"
        #expect {
            try Ingest.parse(Data(csv.utf8), file: "crm.csv", format: .csv, source: Self.crm)
        } throws: { error in
            guard let error = error as? IngestError else { return false }
            return error.userMessage.hasPrefix("crm.csv:2: column 'updated_at': '\(written)' is not a timestamp")
        }
    }

    @Test(arguments: [
        (
            "9001,12,Acme,Jo,jo@x.io,enterprise,2027-02-30,green,2026-11-26", 2, "renewal_on",
            "'2027-02-30' is not a date (YYYY-MM-DD)"
        ),
        (
            "x9001,12,Acme,Jo,jo@x.io,enterprise,2027-02-28,green,2026-11-26", 2, "account_id",
            "'x9001' is not a whole number"
        ),
        (
            "9001,12,Acme,Jo,jo@x.io,enterprise,2027-02-28,green,yesterday", 2, "updated_at",
            "'yesterday' is not a timestamp"
        ),
    ])
    func theFirstBadValueIsNamedWithItsLineAndColumn(_ row: String, _ line: Int, _ column: String, _ problem: String) {
        let csv = "\(Self.header)\n\(row)\n"
        #expect {
            try Ingest.parse(Data(csv.utf8), file: "crm.csv", format: .csv, source: Self.crm)
        } throws: { error in
            guard let error = error as? IngestError else { return false }
            return error.line == line && error.column == column && error.userMessage.contains(problem)
                && error.userMessage.hasPrefix("crm.csv:\(line): column '\(column)': ")
        }
    }

    @Test func unknownColumnsSuggestTheDeclaredOne() {
        let csv = "account_id,acount_name\n1,Acme\n"
        #expect {
            try Ingest.parse(Data(csv.utf8), file: "crm.csv", format: .csv, source: Self.crm)
        } throws: { error in
            (error as? IngestError)?.userMessage
                == "crm.csv:1: column 'acount_name': is not a declared column of source 'crm_accounts'; did you mean 'account_name'?"
        }
    }

    @Test func shortRowsAreRefused() {
        let csv = "account_id,account_name\n1,Acme\n2\n"
        #expect {
            try Ingest.parse(Data(csv.utf8), file: "crm.csv", format: .csv, source: Self.crm)
        } throws: { error in
            (error as? IngestError)?.userMessage == "crm.csv:3: has 1 fields; the header has 2"
        }
    }

    @Test func jsonLinesAreTypedByTheCatalog() throws {
        let jsonl = """
            {"account_id": 7, "account_name": "Acme", "renewal_on": "2027-01-01", "health": "green"}
            {"account_id": 8, "account_name": null, "workspace_id": 3}
            """
        let parsed = try Ingest.parse(Data(jsonl.utf8), file: "crm.jsonl", format: .jsonl, source: Self.crm)
        #expect(parsed.rows.count == 2)
        let id = try #require(parsed.columns.firstIndex(of: "account_id"))
        let name = try #require(parsed.columns.firstIndex(of: "account_name"))
        let workspace = try #require(parsed.columns.firstIndex(of: "workspace_id"))
        #expect(parsed.rows[0][id] == .integer(7))
        #expect(parsed.rows[1][name] == .null)
        #expect(parsed.rows[0][workspace] == .null)
        #expect(parsed.rows[1][workspace] == .integer(3))
        #expect {
            try Ingest.parse(
                Data("{\"account_id\": \"seven\"}\n".utf8), file: "crm.jsonl", format: .jsonl, source: Self.crm)
        } throws: { error in
            (error as? IngestError)?.userMessage == "crm.jsonl:1: column 'account_id': 'seven' is not a whole number"
        }
    }

    @Test func rowsAreAppendedToASQLiteWarehouse() async throws {
        let directory = try TemporaryDirectory()
        let path = directory.file("warehouse.sqlite")
        try FileManager.default.copyItem(atPath: TestWarehouse.tinyDemo, toPath: path)
        let parsed = try Ingest.parse(
            Data("\(Self.header)\n9001,12,Acme,Jo,jo@x.io,enterprise,2027-01-31,green,2026-11-26\n".utf8),
            file: "crm.csv", format: .csv, source: Self.crm)
        let writer = try WarehouseWriters.open(path)
        let loaded = try await writer.load(Self.crm, columns: parsed.columns, rows: parsed.rows, replace: false)
        await writer.close()
        #expect(loaded == 1)
        let warehouse = try SQLiteWarehouse(path: path)
        let rows = try await warehouse.run(
            CompiledStatement(
                role: .value, sql: "SELECT account_name, updated_at FROM crm_accounts WHERE account_id = ?",
                parameters: [.integer(9001)], columns: []), timeout: noTimeLimit)
        #expect(rows == [[.text("Acme"), .text("2026-11-26 00:00:00")]])
    }

    @Test func rowsAreLoadedIntoPostgreSQLWithTheDeclaredTypes() async throws {
        let url = try await TestPostgres.makeDatabase(prefix: "ingest")
        let parsed = try Ingest.parse(
            Data("\(Self.header)\n9001,12,Acme,Jo,jo@x.io,enterprise,2027-01-31,green,2026-11-26T08:30:00Z\n".utf8),
            file: "crm.csv", format: .csv, source: Self.crm)
        let writer = try WarehouseWriters.open(url)
        #expect(try await writer.load(Self.crm, columns: parsed.columns, rows: parsed.rows, replace: false) == 1)
        await writer.close()
        // Text that could end a COPY field or row arrives intact.
        let awkward = "Back\\slash\tTab\nNew line\r\\N"
        let writer2 = try WarehouseWriters.open(url)
        _ = try await writer2.load(
            Self.crm, columns: ["account_id", "account_name", "renewal_on"],
            rows: [[.integer(9002), .text(awkward), .null]], replace: false)
        await writer2.close()
        let warehouse = try PostgresWarehouse(url: url, connectTimeout: TestPostgres.connectTimeout)
        let names = try await warehouse.run(
            CompiledStatement(
                role: .value, sql: "SELECT account_name, renewal_on FROM crm_accounts WHERE account_id = $1",
                parameters: [.integer(9002)], columns: []), timeout: noTimeLimit)
        #expect(names == [[.text(awkward), .null]])
        #expect(try await warehouse.columns(of: SQLIdentifier("crm_accounts")!)?["renewal_on"] == "date")
        #expect(
            try await warehouse.newest(
                SQLIdentifier("updated_at")!, in: SQLIdentifier("crm_accounts")!, timeout: noTimeLimit)
                == "2026-11-26 08:30:00")
    }
}
