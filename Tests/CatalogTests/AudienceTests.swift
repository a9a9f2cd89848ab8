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
