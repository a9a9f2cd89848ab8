import AlmanacCore
import AlmanacTestSupport
import Catalog
import Foundation
import Testing

@Suite(.timeLimit(.minutes(10))) struct DemoCatalogTests {
    let result = CatalogLoader.load(directory: Repository.demoCatalog)

    @Test func loadsWithoutErrorsOrWarnings() throws {
        #expect(result.diagnostics.map(\.description) == [])
        #expect(result.catalog != nil)
    }

    @Test func meetsTheSizeOfARealCompany() throws {
        let catalog = try #require(result.catalog)
        #expect(catalog.teams.count >= 8)
        #expect(catalog.metrics.count >= 40)
        #expect(catalog.reports.count >= 25)
        #expect(catalog.templates.count >= 5)
        #expect(catalog.metrics.contains { $0.certified })
        #expect(catalog.metrics.allSatisfy { !$0.description.isEmpty && catalog.team($0.owner) != nil })
        #expect(catalog.metrics.filter { !$0.synonyms.isEmpty }.count >= 30)
        for template in ["customer", "campaign", "city", "app", "experiment"] {
            #expect(catalog.template(TemplateID(template)) != nil, "template \(template)")
            #expect(catalog.entity(EntityID(template)) != nil, "entity \(template)")
        }
        #expect(catalog.annotations.contains { $0.tags.contains("launch") })
        #expect(catalog.subscriptions.count >= 3)
        #expect(catalog.subscriptions.contains { $0.id == "daily-signups" && $0.channel == .email })
        #expect(catalog.triggers.count >= 3)
        let engagement = try #require(catalog.triggers.first { $0.id == "major-customer-engagement-drop" })
        #expect(engagement.action.kind == .task)
        #expect(engagement.action.assignee == .column(SQLIdentifier("owner_email")!, source: "crm_accounts"))
        #expect(engagement.condition.minimumBase == 5)
        let upgrade = try #require(catalog.triggers.first { $0.id == "upgrade-opportunity" })
        #expect(upgrade.action.assignee == .team("sales"))
        #expect(catalog.metrics.first { $0.id == "fatal_errors" }?.higherIsBetter == false)
        #expect(catalog.subscriptions.first { $0.id == "daily-signups" }?.breakdown == "channel")
        #expect(!catalog.backends.isEmpty)
        for type in MetricType.allCases {
            #expect(catalog.metrics.contains { $0.type == type }, "a \(type.rawValue) metric")
        }
    }

    @Test func launchAnnotationsMatchTheDemoCompanysLaunchDates() throws {
        let catalog = try #require(result.catalog)
        let dates = Set(catalog.annotations.map(\.date.description))
        for launch in [
            "2025-03-11", "2025-06-17", "2025-09-09", "2026-01-20", "2026-04-14", "2026-07-07", "2026-09-15",
        ] {
            #expect(dates.contains(launch), "annotation on \(launch)")
        }
    }
}

@Suite(.timeLimit(.minutes(10))) struct BrokenCatalogTests {
    static let fixtures = Repository.root + "/Tests/CatalogTests/Fixtures"

    @Test func theMinimalFixtureIsValid() {
        let result = CatalogLoader.load(directory: Self.fixtures + "/minimal")
        #expect(result.diagnostics.map(\.description) == [])
    }

    /// Ten different mistakes give exactly ten messages, each with file:line:column.
    @Test func tenMistakesGiveTenPreciseMessages() throws {
        let directory = Self.fixtures + "/broken"
        let result = CatalogLoader.load(directory: directory)
        #expect(result.catalog == nil)
        #expect(result.errors.count == 10)
        #expect(result.warnings.isEmpty)
        let expected = try String(contentsOfFile: Self.fixtures + "/broken-expected.txt", encoding: .utf8)
            .split(separator: "\n").filter { !$0.contains(": 10 errors") }.joined(separator: "\n")
        let actual = result.diagnostics.map(\.description).joined(separator: "\n")
        // Paths in the golden file are relative to the repository root.
        #expect(actual.replacingOccurrences(of: Repository.root + "/", with: "") == expected)
    }
}

/// One test per kind of problem: each writes a small catalog with one mistake and checks
/// the message and its position.
@Suite(.timeLimit(.minutes(10))) struct LoaderErrorTests {
    /// The minimal valid fixture copied into a temp dir, with one file replaced.
    func check(_ relative: String, _ contents: String) throws -> [Diagnostic] {
        let directory = try TemporaryDirectory()
        let catalog = directory.file("cat")
        try FileManager.default.copyItem(atPath: BrokenCatalogTests.fixtures + "/minimal", toPath: catalog)
        try contents.write(toFile: catalog + "/" + relative, atomically: true, encoding: .utf8)
        return CatalogLoader.load(directory: catalog).diagnostics.map { diagnostic in
            var copy = diagnostic
            copy.location.file = String(diagnostic.location.file.dropFirst(catalog.count + 1))
            return copy
        }
    }

    func only(_ diagnostics: [Diagnostic]) throws -> Diagnostic {
        #expect(diagnostics.count == 1, "\(diagnostics.map(\.description))")
        return try #require(diagnostics.first)
    }

    @Test func yamlSyntaxErrorHasItsPosition() throws {
        let d = try only(check("teams/growth.yaml", "id: growth\nname: [unclosed\n"))
        #expect(d.location.file == "teams/growth.yaml")
        #expect(d.location.line == 3)
        #expect(d.message.hasPrefix("YAML syntax error"))
    }

    @Test func tabsAreNamed() throws {
        let d = try only(check("teams/growth.yaml", "id: growth\nname: Growth\nmembers:\n\t- name: x\n"))
        #expect(d.location.line == 4)
        #expect(d.message == "tab used for indentation")
    }

    @Test func unknownKeySuggestsTheClosestKnownOne() throws {
        let d = try only(check("teams/growth.yaml", "id: growth\nname: Growth\nemial: a@b.co\n"))
        #expect(d.message == "unknown key 'emial'")
        #expect(d.hint == "did you mean 'email'?")
        #expect((d.location.line, d.location.column) == (3, 1))
    }

    @Test func nestedUnknownKeyNamesItsPath() throws {
        let d = try only(
            check("teams/growth.yaml", "id: growth\nname: Growth\nmembers:\n  - name: A\n    rol: lead\n"))
        #expect(d.message == "unknown key 'rol' in 'members[0]'")
        #expect(d.hint == "did you mean 'role'?")
        #expect((d.location.line, d.location.column) == (5, 5))
    }

    @Test func idMustMatchFileName() throws {
        let d = try only(check("teams/growth.yaml", "id: grow\nname: Growth\n"))
        #expect(d.message == "id 'grow' does not match the file name 'growth'")
    }

    @Test func missingRequiredKey() throws {
        let diagnostics = try check("teams/growth.yaml", "id: growth\n")
        #expect(diagnostics.contains { $0.message == "missing required key 'name' (a text value)" })
    }

    @Test func badEnumValueListsTheChoices() throws {
        let d = try only(
            check(
                "metrics/signups.yaml",
                "id: signups\nname: S\ndescription: d\nowner: growth\nsource: users\ntype: countt\ndimensions: [channel]\n"
            ))
        #expect(
            d.message
                == "'type' is 'countt'; expected one of count | count_distinct | sum | avg | ratio | rolling_distinct")
        #expect(d.hint == "did you mean 'count'?")
        #expect(d.location.line == 6)
    }

    @Test func unknownReferenceSuggestsTheClosestId() throws {
        let d = try only(
            check(
                "metrics/signups.yaml",
                "id: signups\nname: S\ndescription: d\nowner: growht\nsource: users\ntype: count\ndimensions: [channel]\n"
            ))
        #expect(d.message == "metric 'signups' has owner 'growht', which is not a team")
        #expect(d.hint == "did you mean 'growth'?")
        #expect((d.location.line, d.location.column) == (4, 8))
    }

    @Test func undeclaredColumnIsAnError() throws {
        let d = try only(
            check(
                "metrics/signups.yaml",
                "id: signups\nname: S\ndescription: d\nowner: growth\nsource: users\ntype: count_distinct\ncolumn: user\ndimensions: [channel]\n"
            ))
        #expect(d.message == "column 'user' is not a declared column of source 'users'")
        #expect(d.hint == "did you mean 'user_id'?")
    }

    @Test func unsafeIdentifierIsRefused() throws {
        let diagnostics = try check(
            "metrics/signups.yaml",
            "id: signups\nname: S\ndescription: d\nowner: growth\nsource: users\ntype: sum\ncolumn: \"user_id) OR 1=1 --\"\ndimensions: [channel]\n"
        )
        #expect(diagnostics.first?.message == "'column' is 'user_id) OR 1=1 --', which is not a safe SQL identifier")
    }

    @Test func sqlKeywordIsRefusedAsIdentifier() throws {
        let diagnostics = try check(
            "metrics/signups.yaml",
            "id: signups\nname: S\ndescription: d\nowner: growth\nsource: users\ntype: sum\ncolumn: select\ndimensions: [channel]\n"
        )
        #expect(diagnostics.first?.hint?.contains("SQL keyword") == true)
    }

    @Test func cronErrorsNameTheField() throws {
        let d = try only(
            check(
                "subscriptions/daily.yaml",
                "id: daily\ntitle: D\nowner: growth\nschedule: \"0 7 * *\"\nrecipients: [team:growth]\nmetrics: [signups]\n"
            ))
        #expect(d.message.contains("has 4 fields; expected 5"))
        #expect(d.location.line == 4)
    }

    @Test func pushSettingsAreCheckedWhereTheyAreWritten() throws {
        let trigger = try String(
            contentsOfFile: BrokenCatalogTests.fixtures + "/minimal/triggers/drop.yaml", encoding: .utf8)
        var d = try only(
            check("triggers/drop.yaml", trigger.replacingOccurrences(of: "team:growth", with: "crm.owner_email")))
        #expect(d.message == "assignee source 'crm' is not in the catalog" && d.location.line == 14)
        d = try only(
            check("triggers/drop.yaml", trigger.replacingOccurrences(of: "team:growth", with: "users.nope")))
        #expect(d.message.contains("'nope'") && d.location.line == 14)
        d = try only(
            check(
                "triggers/drop.yaml",
                trigger.replacingOccurrences(of: "  measure: pct_change", with: "  measure: value\n  min_base: 5")))
        #expect(d.message.contains("'min_base' applies to change and pct_change") && d.location.line == 8)
        d = try only(
            check(
                "subscriptions/daily.yaml",
                "id: daily\ntitle: D\nowner: growth\nschedule: \"0 7 * * *\"\nrecipients: [team:growth]\nmetrics: [signups]\nbreakdown: country\n"
            ))
        #expect(
            d.message == "none of subscription 'daily''s metrics has the dimension 'country'" && d.location.line == 7)
        // Restricted numbers never go to a URL, which has no groups.
        d = try only(
            check(
                "subscriptions/daily.yaml",
                "id: daily\ntitle: D\nowner: growth\nschedule: \"0 7 * * *\"\nchannel: webhook\nrecipients: [http://127.0.0.1:9/hook]\nmetrics: [signups, revenue]\n"
            ))
        #expect(
            d.message == "subscription 'daily' posts metric 'revenue' to a webhook, but it is restricted to finance")
        #expect(d.location.line == 7)
        d = try only(
            check("triggers/drop.yaml", trigger.replacingOccurrences(of: "metric: signups", with: "metric: revenue")))
        #expect(d.message == "trigger 'drop' sends a task with numbers restricted to finance")
    }

    @Test func durationsMustHaveAUnit() throws {
        let d = try only(
            check(
                "annotations/launch.yaml", "id: launch\ndate: 2026-02-30\ntitle: T\n"))
        #expect(d.message == "'date' is '2026-02-30', which is not a date; write YYYY-MM-DD")
    }

    @Test func ratioPartsMustExistAndNotBeRatios() throws {
        let d = try only(
            check(
                "metrics/activation_rate.yaml",
                "id: activation_rate\nname: A\ndescription: d\nowner: growth\nsource: users\ntype: ratio\nnumerator: activation_rate\ndenominator: signups\n"
            ))
        #expect(d.message == "metric 'activation_rate' uses itself as its numerator")
    }

    @Test func bandsMustSuitTheMetricType() throws {
        let d = try only(
            check(
                "reports/growth.yaml",
                "id: growth\ntitle: G\nowner: growth\npanels:\n  - title: A\n    metric: activation_rate\n    bands: poisson\n"
            ))
        #expect(d.message == "poisson bands apply to counts; metric 'activation_rate' is ratio")
        #expect(d.hint == "use 'wilson' for ratios")
        #expect(d.location.line == 7)
    }

    @Test func filterValueMustFitTheColumnType() throws {
        let d = try only(
            check(
                "metrics/activated_users.yaml",
                "id: activated_users\nname: A\ndescription: d\nowner: growth\nsource: users\ntype: count\nfilters:\n  - column: user_id\n    op: eq\n    value: abc\n"
            ))
        #expect(d.message == "value 'abc' does not fit column 'user_id' of type integer")
    }

    @Test func listOperatorsNeedLists() throws {
        let d = try only(
            check(
                "metrics/activated_users.yaml",
                "id: activated_users\nname: A\ndescription: d\nowner: growth\nsource: users\ntype: count\nfilters:\n  - column: channel\n    op: in\n    value: twitter\n"
            ))
        #expect(d.message == "op 'in' needs a list value, e.g. [a, b]")
    }

    @Test func templatePanelAndParameterMistakesArePlaced() throws {
        let header = "id: probe\ntitle: C\nowner: growth\nparameters:\n"
        let filter = "    filters:\n      - {column: workspace_id, op: eq, parameter: id}\n"
        /// The diagnostic whose message starts with `prefix`.
        func find(_ diagnostics: [Diagnostic], _ prefix: String) throws -> Diagnostic {
            try #require(diagnostics.first { $0.message.hasPrefix(prefix) }, "\(diagnostics.map(\.description))")
        }
        var d = try only(
            check(
                "templates/probe.yaml",
                header + "  - name: id\n    type: entity\n    entity: customr\npanels:\n"
                    + "  - title: A\n    metric: signups\n" + filter))
        #expect(d.message == "parameter 'id' names unknown entity 'customr'")
        #expect(d.location.line == 7)
        d = try find(
            check(
                "templates/probe.yaml",
                header
                    + "  - name: span\n    type: date_range\n    default: 3q\npanels:\n  - title: A\n    metric: signups\n"
            ), "default '3q'")
        #expect(d.message == "default '3q' of parameter 'span' is not a date range")
        #expect(d.location.line == 7)
        d = try only(
            check(
                "templates/probe.yaml",
                header + "  - name: id\n    type: integer\npanels:\n  - title: Bills\n    chart: records\n"
                    + "    records:\n      source: users\n      columns: [signed_up_at, amount]\n" + filter))
        #expect(d.message == "column 'amount' is not a declared column of source 'users'")
        #expect(d.location.line == 12)
        let ocean = try check(
            "templates/probe.yaml",
            header + "  - name: id\n    type: integer\npanels:\n  - title: Ocean\n    chart: ocean\n"
                + "    metric: signups\n    depth:\n      population: signups\n      levels: [2, 1]\n" + filter)
        d = try find(ocean, "'levels' must be ascending")
        #expect(d.location.line == 13)
        d = try find(ocean, "an ocean panel needs a count_distinct metric of people")
        #expect(d.location.line == 10)
        d = try only(
            check(
                "templates/probe.yaml",
                header
                    + "  - name: id\n    type: integer\npanels:\n  - title: A\n    chart: line\n    metric: signups\n"
                    + "    depth:\n      population: signups\n" + filter))
        #expect(d.message == "'depth' only applies to ocean panels")
        #expect(d.location.line == 12)
    }

    @Test func theSameCatalogInTwoPlacesHasOneVersion() throws {
        let first = try TemporaryDirectory()
        let second = try TemporaryDirectory()
        let a = CatalogLoader.load(directory: try CatalogFixture.copyDemo(into: first)).catalog
        let b = CatalogLoader.load(directory: try CatalogFixture.copyDemo(into: second)).catalog
        #expect(a != nil && a?.version == b?.version, "a portal and a generator compare versions")
    }

    @Test func dateRangeValuesAndTheirDays() {
        let asOf = CalendarDay(parsing: "2026-03-31")!
        #expect(DateRangeValue(parsing: "90d")?.days(endingOn: asOf) == CalendarDay(parsing: "2026-01-01")!...asOf)
        #expect(DateRangeValue(parsing: "2w")?.days(endingOn: asOf) == CalendarDay(parsing: "2026-03-18")!...asOf)
        #expect(DateRangeValue(parsing: "1m")?.days(endingOn: asOf) == CalendarDay(parsing: "2026-03-01")!...asOf)
        #expect(DateRangeValue(parsing: "1y")?.days(endingOn: asOf) == CalendarDay(parsing: "2025-04-01")!...asOf)
        // 31 March minus one month is the last day of February, so the range starts on 1 March.
        #expect(
            DateRangeValue(parsing: "2026-01-01..2026-01-31")?.days(endingOn: asOf)
                == CalendarDay(parsing: "2026-01-01")!...CalendarDay(parsing: "2026-01-31")!)
        for bad in [
            "", "0d", "-3d", "11y", "3q", "d", "2026-02-01..2026-01-01", "2026-01-01..", "2000-01-01..2026-01-01",
        ] {
            #expect(DateRangeValue(parsing: bad) == nil, "\(bad)")
        }
    }

    @Test func backendHostMustBeAllowListed() throws {
        let d = try only(check("backends/app.yaml", "id: app\ntitle: A\nowner: growth\nurl: http://evil.example/\n"))
        #expect(d.message == "backend host 'evil.example' is not in backends.allowed_hosts")
    }

    @Test func duplicateKeysAreReported() throws {
        let d = try only(check("teams/growth.yaml", "id: growth\nname: Growth\nname: Again\n"))
        #expect(d.message.contains("duplicate key 'name'"))
    }

    @Test func unknownFolderSuggestsAKind() throws {
        let directory = try TemporaryDirectory()
        let catalog = directory.file("cat")
        try FileManager.default.copyItem(atPath: BrokenCatalogTests.fixtures + "/minimal", toPath: catalog)
        try FileManager.default.createDirectory(atPath: catalog + "/metric", withIntermediateDirectories: true)
        let diagnostics = CatalogLoader.load(directory: catalog).diagnostics
        #expect(diagnostics.count == 1)
        #expect(diagnostics.first?.message == "unknown catalog folder 'metric'")
        #expect(diagnostics.first?.hint == "did you mean 'metrics'?")
    }

    @Test func missingFolderIsOneClearError() {
        let result = CatalogLoader.load(directory: "/nonexistent/catalog")
        #expect(result.diagnostics.count == 1)
        #expect(result.diagnostics.first?.message.contains("does not exist") == true)
    }
}
