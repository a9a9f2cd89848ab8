import AlmanacCore
import AlmanacTestSupport
import Catalog
import Delivery
import Foundation
import HTTPTypes
import Hummingbird
import Portal
import Storage
import Testing

/// The portal runs the outbox: what it sends shows on /admin/deliveries and in /metrics.
@Suite(.timeLimit(.minutes(10))) struct DeliveryPagesTests {
    @Test func theAdminPageAndMetricsShowWhatThePortalSent() async throws {
        var portal = try await TestPortal.make(
            auth: AuthConfiguration(trustedProxies: ["127.0.0.1"], allowAnonymousLoopback: false), dashboards: true)
        let dashboards = try #require(portal.environment.dashboards)
        let outbox = portal.directory.file("outbox")
        let delivery = DeliveryService(
            catalog: portal.environment.catalog, state: portal.environment.state, warehouse: dashboards.warehouse,
            renderer: portal.environment.renderer,
            configuration: DeliveryConfiguration(
                baseURL: "https://reports.larkspur.io", from: "almanac@larkspur.io", mail: .folder(outbox)),
            logger: portal.environment.logger, asOf: TestWarehouse.asOf, clock: portal.clock)
        portal.environment.delivery = delivery
        let state = portal.environment.state
        let running = portal
        let admin = identity("dana.ops@larkspur.io", groups: ["data-platform"])
        let analyst = identity("priya.raman@larkspur.io", groups: ["growth"])
        try await running.test { client in
            // The 07:00 run of the sign-up email, composed as the scheduler would; the portal's
            // worker writes it to the outbox folder.
            let morning = Date(timeIntervalSince1970: 1_795_676_400)
            _ = try await delivery.run(job: "subscription/daily-signups", scheduledFor: morning, late: false)
            running.clock.advance(by: .seconds(2))  // the worker's next look at the outbox
            #expect(
                try await eventually {
                    try await state.deliveries(DeliveryQuery(status: .sent)).count == 9
                })
            let files = try FileManager.default.contentsOfDirectory(atPath: outbox).filter { $0.hasSuffix(".eml") }
            #expect(files.count == 9)

            let page = try await client.get("/admin/deliveries", headers: admin)
            #expect(page.status == .ok)
            let body = text(page)
            for needle in [
                "Deliveries", "subscription/daily-signups", "chloe.dubois@larkspur.io", "<strong>sent</strong>",
                "Scheduled jobs", "Daily sign-up email", "daily at 07:00 UTC", "trigger/upgrade-opportunity",
                "folder ", "lifecycle/retirement-review", "Retirement review",
            ] {
                #expect(body.contains(needle), "the admin page shows \(needle)")
            }
            let api = try json(try await client.get("/api/admin/deliveries?status=sent", headers: admin))
            #expect((api["deliveries"] as? [Any])?.count == 9)
            let bad = try await client.get("/api/admin/deliveries?status=lost", headers: admin)
            #expect(bad.status == .badRequest && text(bad).contains("Parameter 'status'"))
            #expect(try await client.get("/admin/deliveries", headers: analyst).status == .forbidden)
            #expect(try await client.get("/api/admin/deliveries", headers: analyst).status == .forbidden)

            // Prometheus scrapes without SSO.
            let metrics = try await client.get("/metrics")
            #expect(metrics.status == .ok)
            let exposition = text(metrics)
            #expect(exposition.contains("almanac_deliveries_sent_total{channel=\"email\"} 9"))
            #expect(exposition.contains("almanac_deliveries_retried_total{channel=\"webhook\"} 0"))
            #expect(exposition.contains("almanac_outbox_deliveries{status=\"sent\"} 9"))
        }
    }
}
