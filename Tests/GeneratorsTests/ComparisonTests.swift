import AlmanacCore
import AlmanacTestSupport
import Artifacts
import Catalog
import Foundation
import Generators
import Storage
import Testing
import Warehouse

/// Comparisons put whole periods against whole periods, and an unfinished last period only
/// against the same elapsed days. Every figure is checked against SQL written here, on the
/// tiny demo company (its last day, 2026-11-25, is a Wednesday).
@Suite(.timeLimit(.minutes(10))) struct ComparisonTests {
    /// Sign-ups from `start` through `end`, counted by SQL written here (not the compiler's).
    static func signups(_ start: CalendarDay, _ end: CalendarDay) async throws -> Double {
        let warehouse = try TestWarehouse.open()
        let rows = try await warehouse.run(
            CompiledStatement(
                role: .value, sql: "SELECT COUNT(*) FROM users WHERE signed_up_at >= ? AND signed_up_at < ?",
                parameters: [.text(start.description), .text(end.adding(days: 1).description)], columns: ["value"]),
            timeout: .seconds(600))
        guard case .integer(let count)? = rows.first?.first else { return -1 }
        return Double(count)
    }

    /// The demo catalog with one more report: sign-ups at `grain` over `range`, as a line with
    /// the previous period and as a number.
    static func generate(
        grain: String, range: String, compare: String = "previous_period"
    ) async throws
        -> [[String: Any]]
    {
        let directory = try TemporaryDirectory()
        let folder = try CatalogFixture.copyDemo(into: directory)
        try """
        id: signups-check
        title: Sign-ups check
        owner: growth
        grain: \(grain)
        range: \(range)
        panels:
          - title: Sign-ups
            metric: signups
            chart: line
            compare: \(compare)
          - title: Sign-ups now
            metric: signups
            chart: number
        """.write(toFile: folder + "/reports/signups-check.yaml", atomically: true, encoding: .utf8)
        let catalog = try #require(CatalogLoader.load(directory: folder).catalog)
        let fixture = try await GeneratorFixture(catalog: catalog)
        let run = await fixture.generator.generate(try #require(catalog.report("signups-check")))
        #expect(run.error == nil)
        let version = try #require(fixture.artifacts.latest(id: "signups-check"))
        let data = try #require(
            fixture.artifacts.read(id: "signups-check", version: version.name, file: "dashboard.json"))
        let model = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        let csv = String(
            decoding: try #require(
                fixture.artifacts.read(id: "signups-check", version: version.name, file: "panel-1.csv")),
            as: UTF8.self)
        var panels = try #require(model["panels"] as? [[String: Any]])
        panels[0]["csv"] = csv
        return panels
    }

    /// The CSV's rows as (period start, value, comparison).
    static func rows(_ panel: [String: Any]) -> [(CalendarDay, Double?, Double?)] {
        let csv = panel["csv"] as? String ?? ""
        return csv.split(separator: "\n").dropFirst().map { line in
            let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
            return (CalendarDay(parsing: fields[0])!, Double(fields[1]), fields.count > 2 ? Double(fields[2]) : nil)
        }
    }

    static let asOf = TestWarehouse.asOf

    @Test func weeksMeetTheWeekExactlyNWeeksEarlierAndTheUnfinishedOneOnlyItsDays() async throws {
        #expect(Self.asOf.weekday == 3, "a Wednesday: the last week has 3 of 7 days")
        let panels = try await Self.generate(grain: "week", range: "91d")
        let rows = Self.rows(panels[0])
        let weeks = rows.count
        #expect(weeks == 14)
        for (start, value, previous) in rows {
            let end = min(start.adding(days: 6), Self.asOf)
            #expect(value == (try await Self.signups(start, end)), "week of \(start)")
            let back = 7 * weeks
            #expect(
                previous == (try await Self.signups(start.adding(days: -back), end.adding(days: -back))),
                "week of \(start) against the week \(weeks) weeks earlier, same days")
        }
        #expect(panels[0]["partial"] as? String == "3 of 7 days")
        #expect((panels[0]["notes"] as? [String])?.contains("The last week is not over: 3 of 7 days so far.") == true)
        #expect((panels[0]["svg"] as? String)?.contains("so far: 3 of 7 days") == true, "marked on the chart")

        // The number: Monday to Wednesday against Monday to Wednesday of the week before.
        let monday = Self.asOf.adding(days: -2)
        let now = try await Self.signups(monday, Self.asOf)
        let before = try await Self.signups(monday.adding(days: -7), Self.asOf.adding(days: -7))
        let headline = try #require(panels[1]["headline"] as? String)
        #expect(Double(headline.filter(\.isNumber)) == now)
        let change = try #require(panels[1]["headlineChange"] as? String)
        #expect(change.hasSuffix("on the same 3 days of the week before"))
        let shown = try #require(Double(change.prefix { $0 != "%" }.replacingOccurrences(of: "+", with: "")))
        #expect(abs(shown - (now - before) / before * 100) < 0.05, "\(change) against \(now) and \(before)")
    }

    @Test func monthsMeetTheMonthNMonthsEarlier() async throws {
        let panels = try await Self.generate(grain: "month", range: "120d")
        let rows = Self.rows(panels[0])
        let months = rows.count
        #expect(months == 5, "August to November")
        for (start, value, previous) in rows {
            let end = min(Periods.end(ofPeriodStarting: start, grain: .month), Self.asOf)
            #expect(value == (try await Self.signups(start, end)))
            let earlierStart = Periods.shift(start, months: -months)
            let earlierEnd =
                end == Self.asOf
                ? Periods.shift(end, months: -months) : Periods.end(ofPeriodStarting: earlierStart, grain: .month)
            #expect(previous == (try await Self.signups(earlierStart, earlierEnd)), "month of \(start)")
        }
        #expect(panels[0]["partial"] as? String == "25 of 30 days")
        let change = try #require(panels[1]["headlineChange"] as? String)
        #expect(change.hasSuffix("on the same 25 days of the month before"))
    }

    @Test func daysMeetTheSameWeekdayAWholeNumberOfWeeksEarlier() async throws {
        let panels = try await Self.generate(grain: "day", range: "30d")
        let rows = Self.rows(panels[0])
        #expect(rows.count == 30)
        for (day, value, previous) in rows {
            #expect(value == (try await Self.signups(day, day)))
            // 30 days round up to 5 weeks: 35 days back, the same weekday.
            #expect(previous == (try await Self.signups(day.adding(days: -35), day.adding(days: -35))), "\(day)")
        }
        #expect(panels[0]["partial"] == nil, "a day is never unfinished")
    }

    @Test func aYearEarlierIsWholePeriodsToo() async throws {
        let panels = try await Self.generate(grain: "week", range: "28d", compare: "previous_year")
        for (start, _, previous) in Self.rows(panels[0]) {
            let end = min(start.adding(days: 6), Self.asOf)
            #expect(previous == (try await Self.signups(start.adding(days: -364), end.adding(days: -364))))
        }
    }

    @Test func theRangesAreWholePeriodsBack() {
        // The cases from the issue: a 91-day weekly range ending on Tuesday 2013-12-31, and a
        // monthly range ending on 2013-12-15.
        let weekly = DateRange.ending(
            on: CalendarDay(parsing: "2013-12-31")!, covering: TimeSpan(91, .days), grain: .week)
        let previousWeekly = weekly.previous(grain: .week)
        #expect(weekly.start.description == "2013-09-30")
        #expect(previousWeekly.start.description == "2013-06-24", "the full week of 24–30 June, not 29–30 June")
        #expect(previousWeekly.end.description == "2013-09-24", "…and Monday–Tuesday of the last week only")
        let monthly = DateRange.ending(
            on: CalendarDay(parsing: "2013-12-15")!, covering: TimeSpan(120, .days), grain: .month)
        let previousMonthly = monthly.previous(grain: .month)
        #expect(monthly.start.description == "2013-08-01")
        #expect(previousMonthly.start.description == "2013-03-01", "August meets March whole")
        #expect(previousMonthly.end.description == "2013-07-15")
        let daily = DateRange.ending(
            on: CalendarDay(parsing: "2013-12-31")!, covering: TimeSpan(30, .days), grain: .day)
        #expect(daily.previous(grain: .day).start.weekday == daily.start.weekday)
    }

    /// "Data as of" reads a timestamp in the company's time zone.
    @Test func freshnessIsShownInTheCompanysZone() async throws {
        var catalog = TestWarehouse.demoCatalog
        catalog.settings.timezone = "America/New_York"
        let fixture = try await GeneratorFixture(catalog: catalog)
        _ = await fixture.generator.generate(try #require(catalog.report("growth-overview")))
        let version = try #require(fixture.artifacts.latest(id: "growth-overview"))
        let model = try DashboardModel(
            json: try #require(
                fixture.artifacts.read(id: "growth-overview", version: version.name, file: "dashboard.json")))
        let users = try #require(model.freshness.first { $0.sourceID == "users" })
        #expect(users.note.hasSuffix(" EST") || users.note.contains(" EST,"), "\(users.note)")
    }
}
