import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Logging
import Search
import SearchIndexing
import Testing
import Warehouse

/// The relevance suite: what people type, and what must be in the top 3, over the demo
/// catalog and the demo company's entity values (customers, campaigns, cities, apps,
/// experiments read from the tiny demo warehouse).
@Suite(.timeLimit(.minutes(10))) struct RelevanceTests {
    struct Case: CustomStringConvertible {
        var category: String
        var query: String
        /// Any of these in the top 3 passes: `kind/id` for catalog objects, `kind=title`
        /// for entity values and people.
        var expected: [String]
        var description: String { "[\(category)] \(query) → \(expected.joined(separator: " | "))" }
    }

    static let cases: [Case] = [
        // Typos
        Case(category: "typo", query: "retension", expected: ["report/user-retention"]),
        Case(category: "typo", query: "singups", expected: ["metric/signups"]),
        Case(
            category: "typo", query: "actve users",
            expected: ["metric/daily_active_users", "metric/weekly_active_users", "metric/monthly_active_users"]),
        Case(
            category: "typo", query: "churm",
            expected: ["metric/churned_mrr", "metric/churned_workspaces", "report/expansion-and-churn"]),
        Case(category: "typo", query: "revnue overview", expected: ["report/revenue-overview"]),
        Case(category: "typo", query: "activaton funnel", expected: ["report/activation-funnel"]),
        Case(category: "typo", query: "experiement", expected: ["report/experiments-overview", "template/experiment"]),
        Case(category: "typo", query: "engagment overview", expected: ["report/engagement-overview"]),
        Case(category: "typo", query: "stickness", expected: ["metric/stickiness"]),
        Case(category: "typo", query: "relability errors", expected: ["report/reliability-errors"]),
        Case(category: "typo", query: "globx", expected: ["customer=Globex Corporation"]),
        Case(
            category: "typo", query: "custmer success",
            expected: ["team/customer-success", "report/customer-success-portfolio"]),
        // Synonyms (metric synonyms and the catalog-wide list)
        Case(
            category: "synonym", query: "attrition",
            expected: ["metric/churned_mrr", "metric/churned_workspaces", "report/expansion-and-churn"]),
        Case(category: "synonym", query: "registrations", expected: ["metric/signups"]),
        Case(category: "synonym", query: "dau/mau", expected: ["metric/stickiness"]),
        Case(category: "synonym", query: "arpu", expected: ["metric/arpa"]),
        Case(category: "synonym", query: "a/b test", expected: ["report/experiments-overview", "template/experiment"]),
        Case(category: "synonym", query: "exceptions", expected: ["report/reliability-errors", "metric/errors"]),
        Case(category: "synonym", query: "income", expected: ["report/revenue-overview", "metric/mrr"]),
        Case(
            category: "synonym", query: "cancellations",
            expected: ["metric/churned_mrr", "metric/churned_workspaces", "report/expansion-and-churn"]),
        Case(category: "synonym", query: "monthly recurring revenue", expected: ["metric/mrr"]),
        // Prefixes, as typed
        Case(category: "prefix", query: "sig", expected: ["metric/signups"]),
        Case(category: "prefix", query: "weekly act", expected: ["metric/weekly_active_users"]),
        Case(category: "prefix", query: "exec", expected: ["report/executive-weekly"]),
        Case(
            category: "prefix", query: "mob",
            expected: ["report/mobile-adoption", "metric/mobile_active_users", "metric/mobile_signups"]),
        Case(category: "prefix", query: "expan", expected: ["report/expansion-and-churn", "metric/expansion_mrr"]),
        Case(category: "prefix", query: "timel", expected: ["report/timeline-adoption", "metric/timeline_adoption"]),
        Case(category: "prefix", query: "referr", expected: ["report/referral-programme", "metric/referral_signups"]),
        Case(category: "prefix", query: "pipel", expected: ["report/data-pipeline-health", "report/sales-pipeline"]),
        Case(category: "prefix", query: "ocean", expected: ["template/customer"]),
        // Entity values open their template
        Case(category: "entity", query: "globex", expected: ["customer=Globex Corporation"]),
        Case(category: "entity", query: "acme.com", expected: ["customer=Acme Corporation"]),
        Case(category: "entity", query: "initech", expected: ["customer=Initech"]),
        Case(category: "entity", query: "slack", expected: ["app=Slack"]),
        Case(category: "entity", query: "onboarding-checklist", expected: ["experiment=Onboarding checklist"]),
        Case(category: "entity", query: "brand search 2025", expected: ["campaign=Brand Search 2025"]),
        Case(category: "entity", query: "austin", expected: ["city=Austin"]),
        // Filters
        Case(category: "filter", query: "kind:metric signups", expected: ["metric/signups"]),
        Case(category: "filter", query: "kind:report churn", expected: ["report/expansion-and-churn"]),
        Case(category: "filter", query: "status:retired", expected: ["report/mobile-2-launch-tracker"]),
        Case(category: "filter", query: "status:deprecated signup", expected: ["report/legacy-signup-dashboard"]),
        Case(category: "filter", query: "tag:engagement stickiness", expected: ["metric/stickiness"]),
        Case(category: "filter", query: "owner:olivia accounts", expected: ["metric/accounts_at_risk"]),
        Case(category: "filter", query: "team:finance churned", expected: ["metric/churned_mrr"]),
        // Phrases
        Case(category: "phrase", query: "\"weekly active users\"", expected: ["metric/weekly_active_users"]),
        Case(category: "phrase", query: "\"net new mrr\"", expected: ["metric/net_new_mrr"]),
        // People, teams, plain words
        Case(category: "people", query: "olivia grant", expected: ["person=Olivia Grant"]),
        Case(category: "people", query: "data platform", expected: ["team/data-platform"]),
        Case(category: "filter", query: "status:draft board metrics", expected: ["report/board-metrics"]),
        Case(category: "plain", query: "monthly close", expected: ["report/finance-monthly-close"]),
        Case(category: "plain", query: "sync errors", expected: ["metric/sync_errors", "report/sync-health"]),
        // As new users type: extra words, questions, kinds (issue 18's misses first)
        Case(category: "entity+intent", query: "hooli ocean", expected: ["customer=Hooli"]),
        Case(category: "entity+intent", query: "hooli ocean chart", expected: ["customer=Hooli"]),
        Case(category: "entity+intent", query: "globex errors", expected: ["customer=Globex Corporation"]),
        Case(category: "entity+intent", query: "initech billing history", expected: ["customer=Initech"]),
        Case(category: "entity+intent", query: "berlin signups", expected: ["city=Berlin"]),
        Case(category: "entity+intent", query: "london signups", expected: ["city=London"]),
        Case(category: "entity+intent", query: "paris activation rate", expected: ["city=Paris"]),
        Case(category: "entity+intent", query: "slack weekly users", expected: ["app=Slack"]),
        Case(category: "entity+intent", query: "gantt pro usage", expected: ["app=Gantt Pro"]),
        Case(category: "entity+intent", query: "brand search 2025 spend", expected: ["campaign=Brand Search 2025"]),
        Case(
            category: "entity+intent", query: "invite nudge results",
            expected: ["experiment=Invite nudge after the first project"]),
        Case(category: "extra words", query: "stark industries dashboard", expected: ["customer=Stark Industries"]),
        Case(category: "extra words", query: "github app", expected: ["app=GitHub"]),
        Case(category: "extra words", query: "the zoom app", expected: ["app=Zoom"]),
        Case(category: "extra words", query: "marketing team", expected: ["team/marketing"]),
        Case(category: "extra words", query: "finance team", expected: ["team/finance"]),
        Case(
            category: "extra words", query: "support team dashboards",
            expected: ["team/support", "report/support-load", "report/support-insights"]),
        Case(category: "extra words", query: "revenue dashboard", expected: ["report/revenue-overview"]),
        Case(category: "extra words", query: "retention report", expected: ["report/user-retention"]),
        Case(
            category: "extra words", query: "churn chart",
            expected: ["report/expansion-and-churn", "metric/churned_mrr"]),
        Case(category: "extra words", query: "signups metric definition", expected: ["metric/signups"]),
        Case(category: "extra words", query: "acme customer", expected: ["customer=Acme Corporation"]),
        Case(
            category: "extra words", query: "onboarding checklist experiment",
            expected: ["experiment=Onboarding checklist"]),
        Case(category: "extra words", query: "london signups dashboard", expected: ["city=London"]),
        Case(category: "question", query: "how many signups", expected: ["metric/signups", "report/daily-signups"]),
        Case(
            category: "question", query: "how many people use the mobile app",
            expected: ["metric/mobile_active_users", "report/mobile-adoption"]),
        Case(category: "question", query: "what is arpa", expected: ["metric/arpa"]),
        Case(category: "question", query: "what is stickiness", expected: ["metric/stickiness"]),
        Case(category: "question", query: "who owns revenue overview", expected: ["report/revenue-overview"]),
        Case(category: "question", query: "mrr per customer", expected: ["metric/arpa", "metric/mrr"]),
        Case(
            category: "partial", query: "integration installs",
            expected: ["report/app-marketplace", "template/app", "metric/app_workspaces"]),
        Case(category: "partial", query: "gantt chart usage", expected: ["app=Gantt Pro"]),
        Case(category: "partial", query: "weekly active zebras", expected: ["metric/weekly_active_users"]),
        Case(category: "partial", query: "executive weekly summary", expected: ["report/executive-weekly"]),
        // Exact names and acronyms
        Case(category: "exact", query: "MRR", expected: ["metric/mrr"]),
        Case(category: "exact", query: "mrr", expected: ["metric/mrr"]),
        Case(category: "exact", query: "Net new MRR", expected: ["metric/net_new_mrr"]),
        Case(category: "exact", query: "net_new_mrr", expected: ["metric/net_new_mrr"]),
        Case(category: "exact", query: "signups", expected: ["metric/signups"]),
        Case(category: "exact", query: "errors", expected: ["metric/errors"]),
        Case(category: "exact", query: "upgrades", expected: ["metric/upgrades"]),
        Case(category: "exact", query: "DAU", expected: ["metric/daily_active_users"]),
        Case(category: "exact", query: "WAU", expected: ["metric/weekly_active_users"]),
        Case(category: "exact", query: "CTR", expected: ["metric/click_through_rate"]),
        Case(category: "exact", query: "Customer overview", expected: ["template/customer"]),
        Case(category: "exact", query: "growth", expected: ["team/growth", "report/growth-overview"]),
        Case(category: "exact", query: "Initech", expected: ["customer=Initech"]),
    ]

    /// Built once, by whichever test gets here first (never by blocking a cooperative thread).
    static let index = Task {
        let catalog = TestWarehouse.demoCatalog
        let warehouse = try TestWarehouse.open()
        let indexer = SearchIndexer(
            index: SearchIndex(), warehouse: warehouse, popularity: nil, state: nil, logger: Logger(label: "test"))
        indexer.indexCatalog(catalog)
        await indexer.loadEntities(catalog.entities, catalog: catalog)
        return indexer.index
    }

    static func key(_ hit: SearchHit) -> String {
        switch hit.document.target {
        case .item(let key): "\(key.kind.rawValue)/\(key.id)"
        case .person(_, let name): "person=\(name)"
        case .entityValue(let entity, _, _, _): "\(entity.rawValue)=\(hit.document.title)"
        }
    }

    @Test func theDemoCompanyHasEnoughEntityValuesToSearch() async throws {
        let index = try await Self.index.value
        #expect(Self.cases.count >= 80)
        #expect(index.statistics.entityValues >= 600, "the tiny demo has 600 customers alone")
    }

    @Test func everyCaseFindsItsAnswerInTheTopThree() async throws {
        let index = try await Self.index.value
        var failures: [String] = []
        var byCategory: [String: (hits: Int, total: Int)] = [:]
        for item in Self.cases {
            let results = index.search(item.query, viewer: .localDeveloper, options: SearchOptions(limit: 3))
            let top = results.hits.map(Self.key)
            let hit = top.contains { item.expected.contains($0) }
            byCategory[item.category, default: (0, 0)].total += 1
            if hit {
                byCategory[item.category, default: (0, 0)].hits += 1
            } else {
                failures.append("\(item) — got \(top)")
            }
        }
        let hits = Self.cases.count - failures.count
        print(
            "Relevance: \(hits)/\(Self.cases.count) = "
                + String(format: "%.1f%%", 100 * Double(hits) / Double(Self.cases.count)) + " top-3 hit rate; "
                + byCategory.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value.hits)/\($0.value.total)" }
                .joined(separator: ", "))
        for failure in failures { print("  miss: \(failure)") }
        #expect(failures.isEmpty, "\(failures.joined(separator: "\n"))")
    }

    /// Issue 18's target: no empty page for a query where at least one word matches an item.
    /// Words of two unrelated titles side by side (which no one item holds together), with a
    /// word that matches nothing, and with question and kind words around them.
    @Test func noEmptyPageWhenSomeWordMatchesAnItem() async throws {
        let index = try await Self.index.value
        let catalog = TestWarehouse.demoCatalog
        let titles = catalog.reports.map(\.title) + catalog.metrics.map(\.name) + catalog.teams.map(\.name)
        let words = titles.compactMap { Analyzer.words($0).first { $0.count >= 4 } }
        #expect(words.count >= 50)
        var empty: [String] = []
        for (offset, word) in words.enumerated() {
            let other = words[(offset * 7 + 3) % words.count]
            for query in [
                "\(word) \(other)", "\(word) qzxvbn \(other)", "how many \(word) per \(other) dashboard",
                "what is the \(other) of \(word)",
            ] where index.search(query, viewer: .localDeveloper, options: SearchOptions(limit: 3)).hits.isEmpty {
                empty.append(query)
            }
        }
        #expect(empty.isEmpty, "empty pages: \(empty.prefix(10))")
    }
}
