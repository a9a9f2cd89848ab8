import AlmanacCore
import AlmanacTestSupport
import Artifacts
import Catalog
import Charts
import Foundation
import Generators
import Storage
import Testing
import Warehouse

/// The template panels that are not one metric over time, checked against SQL written
/// independently here (other columns, other query shapes) on the tiny demo warehouse.
@Suite(.timeLimit(.minutes(10))) struct TemplatePanelsTests {
    let catalog = TestWarehouse.demoCatalog

    func warehouse() throws -> SQLiteWarehouse { try TestWarehouse.open() }

    func query(_ sql: String, _ parameters: [SQLValue] = []) async throws -> [[SQLValue]] {
        try await warehouse().run(
            CompiledStatement(role: .value, sql: sql, parameters: parameters, columns: []), timeout: .seconds(600))
    }

    /// The workspace with the most users, and its domain.
    func biggestCustomer() async throws -> (id: Int, domain: String) {
        let rows = try await query(
            """
            SELECT w.workspace_id, w.domain FROM workspaces w JOIN users u ON u.workspace_id = w.workspace_id
            GROUP BY w.workspace_id, w.domain ORDER BY COUNT(*) DESC, w.workspace_id LIMIT 1
            """)
        guard case .integer(let id) = rows[0][0], case .text(let domain) = rows[0][1] else {
            throw GenerationError("no workspace")
        }
        return (Int(id), domain)
    }

    /// Generates `template` for `values` (already resolved) as a report and returns its CSVs.
    func generate(
        _ templateID: String, _ values: [String: FilterValue]
    ) async throws -> (
        csv: [Int: String], html: String
    ) {
        let fixture = try await GeneratorFixture()
        let template = try #require(catalog.template(TemplateID(templateID)))
        let report = template.report(binding: values, asOf: TestWarehouse.asOf)
        let run = await fixture.generator.generate(report)
        #expect(run.error == nil, "\(run.error ?? "")")
        let version = try #require(fixture.artifacts.latest(id: templateID))
        var csv: [Int: String] = [:]
        for index in 1...report.panels.count {
            if let data = fixture.artifacts.read(id: templateID, version: version.name, file: "panel-\(index).csv") {
                csv[index] = String(decoding: data, as: UTF8.self)
            }
        }
        let html = fixture.artifacts.read(id: templateID, version: version.name, file: "dashboard.html")
        return (csv, String(decoding: html ?? Data(), as: UTF8.self))
    }

    static func rows(_ csv: String?) -> [[String]] {
        (csv ?? "").split(separator: "\n").dropFirst().map {
            $0.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        }
    }

    @Test func theOceanChartStacksEveryoneWhoJoinedByActiveDays() async throws {
        let customer = try await biggestCustomer()
        let (csv, html) = try await generate("customer", ["domain": .integer(customer.id)])
        let header = csv[1]?.split(separator: "\n").first
        #expect(header == "period,Power,Regular,Light,Dormant")
        let rows = Self.rows(csv[1])
        #expect(rows.count >= 52, "a year of weeks")
        // Independently: active days from event_date (not the timestamp), people from signup_date.
        let activity = try await query(
            """
            SELECT week, days, COUNT(*) FROM (
              SELECT date(event_date, '-6 days', 'weekday 1') AS week, user_id, COUNT(DISTINCT event_date) AS days
              FROM events WHERE workspace_id = ? AND event_date <= ? GROUP BY 1, 2
            ) GROUP BY 1, 2
            """, [.integer(Int64(customer.id)), .text(TestWarehouse.asOf.description)])
        var expected: [String: [Int]] = [:]  // week → [power, regular, light]
        for row in activity {
            guard case .text(let week) = row[0], case .integer(let days) = row[1], case .integer(let people) = row[2]
            else { continue }
            let slot = days >= 4 ? 0 : days >= 2 ? 1 : 2
            expected[week, default: [0, 0, 0]][slot] += Int(people)
        }
        var checkedActive = 0
        for row in rows {
            let week = row[0]
            let numbers = row.dropFirst().map { Int(Double($0) ?? -1) }
            #expect(Array(numbers.prefix(3)) == (expected[week] ?? [0, 0, 0]), "week \(week)")
            checkedActive += numbers.prefix(3).reduce(0, +)
            // The stack's top is everyone who had signed up by the end of the week (or of the data).
            let end = min(CalendarDay(parsing: week)!.adding(days: 6), TestWarehouse.asOf)
            let joined = try await query(
                "SELECT COUNT(*) FROM users WHERE workspace_id = ? AND signup_date <= ?",
                [.integer(Int64(customer.id)), .text(end.description)])
            guard case .integer(let total) = joined[0][0] else { continue }
            #expect(numbers.reduce(0, +) == Int(total), "week \(week): layers add up to everyone who joined")
        }
        #expect(checkedActive > 0, "the customer has active people in the year")
        #expect(html.contains("Active days per week: Light 1, Regular 2–3, Power 4+"))
    }

    @Test func factsAndRecordsShowTheCustomersRowsNewestFirst() async throws {
        let customer = try await biggestCustomer()
        let (csv, html) = try await generate("customer", ["domain": .integer(customer.id)])
        let owner = try await query(
            "SELECT account_owner FROM crm_accounts WHERE workspace_id = ?", [.integer(Int64(customer.id))])
        if case .text(let name)? = owner.first?.first {
            #expect(html.contains("<dt>Account owner</dt><dd>\(Markup.escape(name))</dd>"))
        }
        #expect(html.contains("<dt>Domain</dt><dd>\(Markup.escape(customer.domain))</dd>"))
        let billing = try await query(
            "SELECT occurred_on, kind FROM billing_events WHERE workspace_id = ? ORDER BY occurred_on DESC LIMIT 50",
            [.integer(Int64(customer.id))])
        let shown = Self.rows(csv[6]).map { [$0[0], $0[1]] }
        #expect(shown.map(\.[0]) == billing.map { if case .text(let t) = $0[0] { t } else { "" } })
        // Rows on the same day may come in either order; their kinds must match as a whole.
        #expect(shown.map(\.[1]).sorted() == billing.map { if case .text(let t) = $0[1] { t } else { "" } }.sorted())
        #expect(!shown.isEmpty)
    }

    @Test func experimentArmsMatchTheWarehouseAndTheStatistics() async throws {
        let (csv, html) = try await generate("experiment", ["experiment_id": .string("onboarding-checklist")])
        // Independently: exposed users per arm, and those with any conversion at or after assignment.
        let arms = try await query(
            """
            SELECT a.variant, COUNT(DISTINCT a.user_id),
                   COUNT(DISTINCT CASE WHEN EXISTS (
                     SELECT 1 FROM experiment_conversions c
                     WHERE c.experiment_id = a.experiment_id AND c.user_id = a.user_id AND c.converted_at >= a.assigned_at
                   ) THEN a.user_id END)
            FROM experiment_assignments a WHERE a.experiment_id = ? GROUP BY a.variant ORDER BY a.variant
            """, [.text("onboarding-checklist")])
        let rows = Self.rows(csv[1])
        #expect(rows.map(\.[0]) == ["control", "treatment"])
        var counts: [String: ArmCounts] = [:]
        for row in arms {
            guard case .text(let arm) = row[0], case .integer(let exposed) = row[1],
                case .integer(let converted) = row[2]
            else { continue }
            counts[arm] = ArmCounts(name: arm, exposures: Int(exposed), conversions: Int(converted))
        }
        for row in rows {
            #expect(Int(row[1]) == counts[row[0]]?.exposures, "\(row[0]) exposures")
            #expect(Int(row[2]) == counts[row[0]]?.conversions, "\(row[0]) conversions")
        }
        let control = try #require(counts["control"])
        let treatment = try #require(counts["treatment"])
        let comparison = try #require(ExperimentStatistics.compare(control: control, treatment: treatment))
        let treatmentRow = try #require(rows.last)
        #expect(abs(Double(treatmentRow[4])! - comparison.lift) < 1e-9)
        #expect(abs(Double(treatmentRow[7])! - comparison.pValue) < 1e-9)
        #expect(html.contains("Sample ratio check"))
        #expect(html.contains("<svg"), "the cumulative lift is drawn")
    }

    @Test func aDateRangeParameterSetsTheDays() async throws {
        let customer = try await biggestCustomer()
        let template = try #require(catalog.template("customer"))
        let values = try template.bind(["domain": customer.domain, "period": "2026-01-05..2026-02-01"])
        #expect(values["period"] == .string("2026-01-05..2026-02-01"))
        var resolved = values
        resolved["domain"] = .integer(customer.id)
        let (csv, _) = try await generate("customer", resolved)
        #expect(Self.rows(csv[1]).map(\.[0]) == ["2026-01-05", "2026-01-12", "2026-01-19", "2026-01-26"])
        let report = template.report(binding: ["period": .string("6m")], asOf: TestWarehouse.asOf)
        #expect(report.fixedRange == CalendarDay(parsing: "2026-05-26")!...TestWarehouse.asOf)
    }

    @Test func hiddenPanelsAreNotComputedAndSaySo() async throws {
        let fixture = try await GeneratorFixture()
        let customer = try await biggestCustomer()
        let template = try #require(catalog.template("customer"))
        let render = try await fixture.generator.renderTemplate(
            template, values: ["domain": .string(customer.domain)], title: "t", hiddenPanels: [3])
        let html = render.html
        #expect(!render.files.keys.contains { $0.hasPrefix("panel-3.") }, "no download of a hidden panel")
        #expect(
            html.contains("You do not have access to this panel&#39;s data.")
                || html.contains("You do not have access to this panel's data."))
        #expect(!html.contains("<dt>Account owner</dt>"))
        #expect(html.contains("<dt>Domain</dt>"), "the other panels are there")
    }

    @Test func anEntityValueThatNamesNothingIsAParameterError() async throws {
        let fixture = try await GeneratorFixture()
        let template = try #require(catalog.template("customer"))
        await #expect(throws: ParameterError.self) {
            _ = try await fixture.generator.renderTemplate(
                template, values: ["domain": .string("no-such-customer.example")], title: "t")
        }
        let app = try #require(catalog.template("app"))
        do {
            _ = try await fixture.generator.renderTemplate(app, values: ["app": .string("' OR 1=1 --")], title: "t")
            Issue.record("an injection attempt is not a slug")
        } catch let error as ParameterError {
            #expect(error.parameter == "app")
            #expect(error.userMessage.contains("no marketplace app has slug"))
        }
    }

    /// A render has the same data twins as a generated dashboard: its data at full precision
    /// and a CSV per panel, linked with the render's parameters.
    @Test func aRenderHasDataTwinsLinkedWithItsParameters() async throws {
        let fixture = try await GeneratorFixture()
        let customer = try await biggestCustomer()
        let template = try #require(catalog.template("customer"))
        let render = try await fixture.generator.renderTemplate(
            template, values: ["domain": .string(customer.domain)], title: "t",
            query: TemplateRender.query(["domain": customer.domain]))
        let model = try DashboardModel(json: try #require(render.files["dashboard.json"]))
        let withCSV = model.panels.filter { $0.csvFile != nil }
        #expect(!withCSV.isEmpty)
        for panel in withCSV {
            let csv = String(decoding: try #require(render.files[panel.csvFile!]), as: UTF8.self)
            let data = try #require(panel.data)
            #expect(data == DataTable(csv: csv), "the data API holds what the CSV holds")
            #expect(render.html.contains("/templates/customer/panels/\(panel.csvFile!)?domain="))
        }
    }
}
