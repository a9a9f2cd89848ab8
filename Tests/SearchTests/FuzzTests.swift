import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Pages
import Search
import Testing

/// Thousands of random and hostile strings through the query path: parsing, searching,
/// suggesting and building the page model. None may crash, break an invariant or show a
/// restricted object to someone outside its groups. (The HTTP twin of this test is in
/// PortalTests/SearchHTTPTests.)
@Suite struct FuzzTests {
    static let hostile = [
        "\"", "\"churn", "churn\"", "(mrr", "mrr)", "((( churn )))", "*", "**", "signup*", "*signup", "-churn",
        "churn -mrr", "AND", "OR", "NOT", "NOT churn", "churn AND", "NEAR(a b)", "churn NEAR/3 mrr", "title:churn",
        ":", "::", "kind:", "kind:\"", "owner:\"", "status:", "status:\u{0}", "tag:\"\"", "^", "mrr^2", "mrr~2",
        "[a TO b]", "{churn}", "churn\\", "\\", "'", "' OR 1=1 --", "'; DROP TABLE entries; --", "C++", "p&l",
        "50% churn", "#churn", "@churn", "$", "ARPU (€)", "A/B test", "k-factor", "sign-up", "Zu\u{308}rich", "東京",
        "📈 revenue", "👩‍👩‍👧‍👦", "naïve", "İstanbul", "ŁÓDŹ", "\u{202E}evil", "\u{0}", "\u{7}\u{8}\u{1B}[31m",
        "\u{FEFF}", "\u{200B}churn", "<script>alert(1)</script>", "&amp;", "%00", "%s%s%s", "{{page.query}}",
        "\u{D7FF}\u{E000}", "\u{10FFFF}", "ﷺ", "Ω≈ç√∫", String(repeating: "a", count: 10_000),
        String(repeating: "churn ", count: 2_000), String(repeating: "\"", count: 500),
        String(repeating: "(", count: 999),
        String(repeating: "é", count: 3_000), "", " ", "\t\n\r",
    ]

    /// A deterministic generator of nasty strings.
    struct Generator {
        var state: UInt64

        mutating func next() -> UInt64 {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return state >> 33
        }

        mutating func pick<T>(_ items: [T]) -> T { items[Int(next() % UInt64(items.count))] }

        mutating func scalar() -> Unicode.Scalar {
            let ranges: [ClosedRange<UInt32>] = [
                0x00...0x7F, 0x20...0x7E, 0x20...0x7E, 0x61...0x7A, 0x61...0x7A, 0x80...0x24F, 0x300...0x36F,
                0x590...0x6FF, 0x3040...0x30FF, 0x4E00...0x4FFF, 0x1F300...0x1FAFF, 0xFE00...0xFE0F, 0x2000...0x206F,
            ]
            let range = pick(ranges)
            while true {
                let value = range.lowerBound + UInt32(next() % UInt64(range.count))
                if let scalar = Unicode.Scalar(value) { return scalar }
            }
        }

        mutating func string() -> String {
            let words = [
                "churn", "mrr", "signups", "revenue", "kind:", "team:", "owner:", "status:", "tag:", "\"", "AND",
                "NOT", "(", ")", "*", ":", "globex", "retension", "customer", "-", "^", "~", "\\",
            ]
            var text = ""
            let parts = Int(next() % 12)
            for _ in 0..<parts {
                switch next() % 4 {
                case 0: text += pick(words)
                case 1: text += pick(FuzzTests.hostile).prefix(50)
                default:
                    var view = String.UnicodeScalarView()
                    for _ in 0..<Int(next() % 8) { view.append(scalar()) }
                    text += String(view)
                }
                if next() % 3 != 0 { text += " " }
            }
            return text
        }
    }

    @Test func tenThousandNastyQueriesNeverBreakAnything() async throws {
        let index = try await RelevanceTests.index.value
        let catalog = TestWarehouse.demoCatalog
        let outsider = Viewer(user: "intern@larkspur.io", groups: ["growth"])
        let restricted = Set(
            index.documents.filter { !$0.isVisible(to: outsider) }.map { document in
                if case .item(let key) = document.target { return key.id }
                return document.title
            })
        #expect(restricted.contains("board-metrics") && restricted.contains("finance-monthly-close"))
        var visibleByTeam: [String: Int] = [:]
        for document in index.documents where document.isVisible(to: outsider) {
            if let team = document.team { visibleByTeam[team, default: 0] += 1 }
        }
        let builder = PageBuilder(view: CatalogView(catalog, viewer: outsider))
        let encoder = JSONEncoder()
        var generator = Generator(state: 20_261_127)
        var queries = Self.hostile
        while queries.count < 10_500 { queries.append(generator.string()) }
        var withHits = 0
        for text in queries {
            let request = SearchRequest(text: text, limit: 10, debug: true)
            let results = index.search(
                request.query, viewer: outsider, options: SearchOptions(limit: 10, explain: true))
            #expect(results.hits.count <= 10)
            #expect(results.total >= results.hits.count)
            for hit in results.hits {
                #expect(hit.document.isVisible(to: outsider), "\(text.debugDescription) leaked \(hit.document.title)")
            }
            // Facets count only what the viewer may see: never more of a team than it has visible.
            for facet in results.facets where facet.name == "team" {
                for value in facet.values {
                    #expect(value.count <= visibleByTeam[value.value, default: 0], "\(text.debugDescription)")
                }
            }
            let model = builder.search(request, results: results)
            _ = try encoder.encode(model)
            for hit in model.hits {
                #expect(!hit.titleHTML.contains("<script"), "\(text.debugDescription)")
                #expect(
                    !hit.snippetHTML.replacingOccurrences(of: "<mark>", with: "").replacingOccurrences(
                        of: "</mark>", with: ""
                    ).contains("<"))
            }
            _ = builder.suggestions(text, hits: index.suggest(text, viewer: outsider))
            if !results.hits.isEmpty { withHits += 1 }
        }
        print("Fuzz: \(queries.count) queries, \(withHits) with results, 0 errors")
        #expect(queries.count >= 10_000)
    }
}
