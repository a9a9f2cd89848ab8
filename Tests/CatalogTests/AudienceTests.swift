import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Testing

/// `catalog check` says when a report shows a panel some of its readers may not see.
@Suite(.timeLimit(.minutes(10))) struct AudienceTests {
    @Test func aReportThatMixesAudiencesIsAWarningWithItsPlace() throws {
        let directory = try TemporaryDirectory()
        let catalog = try CatalogFixture.copyDemo(into: directory)
        #expect(!CatalogLoader.load(directory: catalog).warnings.contains { $0.message.contains("withheld") })
        try CatalogFixture.edit(
            catalog + "/metrics/mrr.yaml", replacing: "tags: [revenue, mrr, board]",
            with: "tags: [revenue, mrr, board]\naccess: [finance]")
        let result = CatalogLoader.load(directory: catalog)
        #expect(result.errors.isEmpty)
        let mixed = result.warnings.filter { $0.message.contains("withheld") }
        let revenue = try #require(mixed.first { $0.message.contains("report 'revenue-overview'") })
        #expect(revenue.location.file.hasSuffix("reports/revenue-overview.yaml"))
        #expect(revenue.location.line == 13, "the first panel")
        #expect(revenue.message.contains("shown to everyone"))
        #expect(revenue.message.contains("metric 'mrr', restricted to finance"))
        // One warning per panel; a report only finance reads does not mix audiences.
        #expect(mixed.filter { $0.message.contains("report 'revenue-overview'") }.count == 3)
        #expect(!mixed.contains { $0.message.contains("report 'finance-monthly-close'") })
    }
}

/// Text has limits, and bad bytes are found where they are.
@Suite(.timeLimit(.minutes(10))) struct CatalogLimitTests {
    func check(_ relative: String, _ contents: Data) throws -> [Diagnostic] {
        let directory = try TemporaryDirectory()
        let catalog = directory.file("cat")
        try FileManager.default.copyItem(atPath: BrokenCatalogTests.fixtures + "/minimal", toPath: catalog)
        try contents.write(to: URL(fileURLWithPath: catalog + "/" + relative))
        return CatalogLoader.load(directory: catalog).diagnostics.map { diagnostic in
            var copy = diagnostic
            copy.location.file = String(diagnostic.location.file.dropFirst(catalog.count + 1))
            return copy
        }
    }

    @Test func aTitleOverTheLimitIsAnErrorAtTheTitle() throws {
        let long = String(repeating: "x", count: TextLimits.title + 1)
        let diagnostics = try check("teams/growth.yaml", Data("id: growth\nname: \(long)\n".utf8))
        let error = try #require(diagnostics.first { $0.severity == .error })
        #expect(error.location.file == "teams/growth.yaml")
        #expect(error.location.line == 2)
        #expect(error.message.contains("'name' is 201 characters long; at most 200 are allowed"))
        // A title at the limit is fine.
        let fits = try check(
            "teams/growth.yaml", Data("id: growth\nname: \(String(repeating: "x", count: TextLimits.title))\n".utf8))
        #expect(!fits.contains { $0.severity == .error })
    }

    @Test func aHugeFileIsRefusedBeforeItIsParsed() throws {
        let huge =
            "id: growth\nname: Growth\ndescription: " + String(repeating: "y", count: TextLimits.fileBytes) + "\n"
        let diagnostics = try check("teams/growth.yaml", Data(huge.utf8))
        #expect(diagnostics.contains { $0.message.contains("catalog files may be at most") })
    }

    @Test func invalidUTF8IsLocatedAtItsByte() throws {
        var bytes = Data("id: growth\nname: Gro".utf8)
        bytes.append(0xFF)
        bytes.append(contentsOf: Data("wth\n".utf8))
        let diagnostics = try check("teams/growth.yaml", bytes)
        let error = try #require(diagnostics.first)
        #expect(error.message.hasPrefix("file is not valid UTF-8: byte 0xFF"))
        #expect((error.location.line, error.location.column) == (2, 10))
        // A multi-byte character before it counts as one column.
        var accented = Data("id: growth\nname: Grø".utf8)
        accented.append(contentsOf: [0xC3])  // a lead byte with nothing after it
        accented.append(contentsOf: Data("\n".utf8))
        let second = try #require(try check("teams/growth.yaml", accented).first)
        #expect((second.location.line, second.location.column) == (2, 10))
    }

    @Test func aControlCharacterIsLocatedAtItsPosition() throws {
        let diagnostics = try check("teams/growth.yaml", Data("id: growth\nname: Grow\u{01}th\n".utf8))
        let error = try #require(diagnostics.first)
        #expect(error.message.contains("control character U+0001"))
        #expect((error.location.line, error.location.column) == (2, 11))
    }
}

/// A trigger's task title may say only what a trigger knows: a typo is found by `catalog
/// check`, at its line, rather than left out of every task.
@Suite struct TriggerTitleCheckTests {
    @Test func anUnknownPlaceholderIsAnErrorAtItsLine() throws {
        let directory = try TemporaryDirectory()
        let catalog = try CatalogFixture.copyDemo(into: directory)
        #expect(CatalogLoader.load(directory: catalog).errors.isEmpty)
        try CatalogFixture.edit(
            catalog + "/triggers/upgrade-opportunity.yaml", replacing: "{{label}} grew {{change}}",
            with: "{{lable}} grew {{ change }}")
        let result = CatalogLoader.load(directory: catalog)
        let typo = try #require(result.errors.first { $0.message.contains("{{lable}}") })
        #expect(typo.location.file.hasSuffix("triggers/upgrade-opportunity.yaml"))
        #expect(typo.location.line == 28, "the title's line")
        #expect(typo.hint == "did you mean '{{label}}'?")
        #expect(result.errors.count == 1, "{{ change }} with spaces is fine")
        try CatalogFixture.edit(
            catalog + "/triggers/upgrade-opportunity.yaml", replacing: "{{lable}} grew {{ change }}",
            with: "{{label}} grew {{change")
        #expect(CatalogLoader.load(directory: catalog).errors.contains { $0.message.contains("without a closing") })
    }
}
