import AlmanacCore
import AlmanacTestSupport
import Composition
import Delivery
import Foundation
import Logging
import Portal
import Testing
import Warehouse

/// The one factory every portal is built by (`serve`, `demo`, `generator` and the tests):
/// what it builds from a setup, and how it says what it cannot open.
@Suite struct PortalSetupTests {
    @Test func aSetupWithDashboardsAndDeliveryBuildsThemAll() async throws {
        let directory = try TemporaryDirectory()
        var setup = PortalSetup(
            catalog: Repository.demoCatalog, state: directory.file("var/state.sqlite"), web: Repository.web,
            auth: AuthConfiguration(allowAnonymousLoopback: true))
        setup.dashboards = PortalSetup.Dashboards(
            warehouse: .location(TestWarehouse.tinyDemo), artifacts: directory.file("artifacts"),
            asOf: TestWarehouse.asOf, schedule: false,
            generators: PortalSetup.Generators(urls: ["http://127.0.0.1:9"], token: "t"))
        setup.delivery = PortalSetup.DeliverySetup(
            defaultBaseURL: "http://127.0.0.1:8080",
            settings: Settings(["ALMANAC_PUBLIC_URL": "https://reports.larkspur.io"]))
        let environment = try await PortalEnvironment.make(setup, logger: Logger(label: "test"), clock: ManualClock())
        let dashboards = try #require(environment.dashboards)
        #expect(dashboards.asOf() == TestWarehouse.asOf)
        #expect(dashboards.remote != nil && !dashboards.runsSchedule, "remote generators run the schedule")
        let delivery = try #require(environment.delivery)
        #expect(delivery.configuration.baseURL == "https://reports.larkspur.io")
        // Without ALMANAC_SMTP_URL, e-mail goes to outbox/ beside the state file.
        #expect(delivery.configuration.mail.displayName.contains(directory.file("var/outbox")))
        await dashboards.warehouse.close()
    }

    @Test func withoutDashboardsThereIsNoDeliveryEither() async throws {
        let directory = try TemporaryDirectory()
        var setup = PortalSetup(
            catalog: Repository.demoCatalog, state: directory.file("state.sqlite"), web: Repository.web,
            auth: AuthConfiguration())
        setup.delivery = PortalSetup.DeliverySetup(defaultBaseURL: "http://127.0.0.1:8080", settings: Settings([:]))
        let environment = try await PortalEnvironment.make(setup, logger: Logger(label: "test"))
        #expect(environment.dashboards == nil && environment.delivery == nil)
    }

    @Test func whatCannotBeOpenedIsNamed() async throws {
        let directory = try TemporaryDirectory()
        let broken = directory.file("catalog")
        try FileManager.default.createDirectory(atPath: broken + "/reports", withIntermediateDirectories: true)
        try "version: 1\nname: Broken\n".write(toFile: broken + "/almanac.yaml", atomically: true, encoding: .utf8)
        try "id: [unclosed\n".write(toFile: broken + "/reports/bad.yaml", atomically: true, encoding: .utf8)
        #expect {
            _ = try Stores.open(catalog: broken, state: nil, warehouse: nil)
        } throws: { error in
            let text = "\(error)"
            return text.contains("reports/bad.yaml:") && text.contains("almanac catalog check")
        }
        #expect {
            _ = try Stores.open(
                catalog: Repository.demoCatalog, state: nil, warehouse: .location("/nonexistent/warehouse.sqlite"))
        } throws: { error in
            "\(error)".contains("cannot open the warehouse '/nonexistent/warehouse.sqlite'")
        }
        var setup = PortalSetup(
            catalog: Repository.demoCatalog, state: directory.file("state.sqlite"), web: Repository.web,
            auth: AuthConfiguration())
        setup.dashboards = PortalSetup.Dashboards(
            warehouse: .location(TestWarehouse.tinyDemo), artifacts: directory.file("artifacts"))
        setup.delivery = PortalSetup.DeliverySetup(
            defaultBaseURL: "http://127.0.0.1:8080", settings: Settings(["ALMANAC_SMTP_URL": "mail.larkspur.io"]))
        await #expect {
            _ = try await PortalEnvironment.make(setup, logger: Logger(label: "test"))
        } throws: { error in
            "\(error)".contains("ALMANAC_SMTP_URL 'mail.larkspur.io' is not an smtp:// or smtps:// URL")
        }
    }
}
