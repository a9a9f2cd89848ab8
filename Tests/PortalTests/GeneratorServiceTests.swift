import AlmanacCore
import AlmanacTestSupport
import Artifacts
import Catalog
import Foundation
import HTTPTypes
import Hummingbird
import Logging
import Portal
import Proxy
import ServiceLifecycle
import Storage
import Synchronization
import Testing

extension RealSocketTests {
    /// `almanac generator` and a portal that uses it, over real HTTP. The portal's time limits on
    /// generators run on a manual clock: they pass when the test says, never because the machine
    /// is busy.
    @Suite(.timeLimit(.minutes(10))) struct GeneratorServiceTests {
        /// Runs a generator service (on the tiny demo) for the duration of `body`.
        static func withGenerator<T: Sendable>(
            token: String? = nil, _ body: @Sendable (_ url: String, _ generator: TestPortal) async throws -> T
        ) async throws -> T {
            let generator = try await TestPortal.make(dashboards: true)
            let port = BoundPort()
            let app = buildGeneratorApplication(
                generator.environment, server: ServerConfiguration(host: "127.0.0.1", port: 0), token: token,
                onServerRunning: { bound in port.set(bound) })
            return try await whileServing(app, port: port) { bound in
                try await body("http://127.0.0.1:\(bound)", generator)
            }
        }

        @Test func aPortalServesDashboardsAndRendersFromItsGenerator() async throws {
            let clock = ManualClock()
            let (portal, generator) = try await Self.withGenerator { url, generator in
                let portal = try await TestPortal.make(
                    generators: PortalSetup.Generators(urls: [url], checkInterval: .zero), clock: clock)
                try await portal.test { client in
                    let page = try await client.get("/reports/growth-overview")
                    #expect(page.status == .ok)
                    #expect(text(page).contains("<svg"), "the generator's dashboard is on the page")
                    #expect(!text(page).contains("Stale:"))
                    let csv = try await client.get("/reports/growth-overview/panels/panel-1.csv")
                    #expect(csv.status == .ok)
                    #expect(text(csv).hasPrefix("period,Sign-ups"))

                    let domain = try await TemplateRenderTests.domain(1)
                    let render = try await client.get("/templates/customer?domain=\(domain)")
                    #expect(render.status == .ok)
                    #expect(text(render).contains("Ocean chart") && text(render).contains("<dt>Account owner</dt>"))
                    let refused = try await client.get("/templates/customer?domain=nobody.example")
                    #expect(refused.status == .badRequest)
                    #expect(text(refused).contains("no customer has domain &#39;nobody.example&#39;"))
                }
                // Asked directly, the generator refuses in the portal's error shape, naming the parameter.
                do {
                    _ = try await GeneratorClient(baseURLs: [url], clock: clock).renderTemplate(
                        "customer", values: ["domain": "nobody.example"], title: "Customer", hiddenPanels: [],
                        catalogVersion: generator.environment.catalog.current.version)
                    Issue.record("the generator rendered a customer that does not exist")
                } catch GeneratorClientError.parameter(let name, let message, _) {
                    #expect(name == "domain" && message.contains("nobody.example") && !message.hasPrefix("Parameter"))
                }
                return (portal, generator)
            }
            // The portal generated nothing itself: the generator ran the report, the portal mirrored it.
            #expect(try await portal.environment.state.recentRuns(kind: "generation", limit: 10).isEmpty)
            #expect(try await generator.environment.state.recentRuns(kind: "generation", limit: 10).count == 1)
            #expect(portal.environment.dashboards?.artifacts.latest(id: "growth-overview") != nil)

            // With the generator gone: the last good dashboard, marked stale; a render is a clear 503.
            // "Gone" is a port that refuses connections and that no other test can take meanwhile,
            // with the same mirror of dashboards the portal kept.
            let gone = try ReservedPort()
            var after = try await TestPortal.make(
                generators: PortalSetup.Generators(urls: ["http://127.0.0.1:\(gone.port)"], checkInterval: .zero),
                clock: clock)
            after.environment.dashboards?.artifacts = try #require(portal.environment.dashboards?.artifacts)
            let afterwards = after
            try await afterwards.test { client in
                let page = try await client.get("/reports/growth-overview")
                #expect(page.status == .ok)
                let html = text(page)
                #expect(html.contains("<svg"), "the last good dashboard")
                #expect(html.contains("Stale:") && html.contains("no generator answered"))
                let never = try await client.get("/reports/revenue-overview")
                #expect(text(never).contains("no generator answered, and the portal has no earlier copy"))
                let render = try await client.get(
                    "/templates/customer?domain=\(try await TemplateRenderTests.domain(2))")
                #expect(render.status == .serviceUnavailable)
                #expect(
                    text(render).contains("Generator unavailable")
                        && text(render).contains("no generator could be reached")
                )
                #expect(!text(render).contains("127.0.0.1"), "no internal address on the page")
            }
            withExtendedLifetime(gone) {}
        }

        @Test func aSlowGeneratorIsCutOffAndTheNextOneAnswers() async throws {
            try await TestBackend.serve { backend in
                try await Self.withGenerator { url, _ in
                    let slow = "http://127.0.0.1:\(backend.port)/slow"
                    let domain = try await TemplateRenderTests.domain(1)
                    // Alone, the slow one (which never answers) gives a clear error when the render
                    // timeout passes: once the slow generator has the request, the test lets 1 s pass.
                    let clock = ManualClock()
                    let alone = try await TestPortal.make(
                        generators: PortalSetup.Generators(urls: [slow], renderTimeout: .seconds(1)),
                        clock: clock)
                    try await alone.test { client in
                        async let render = client.get("/templates/customer?domain=\(domain)")
                        await backend.events.hanging(atLeast: 1)
                        clock.advance(by: .seconds(1))
                        let response = try await render
                        #expect(response.status == .serviceUnavailable)
                        #expect(text(response).contains("no generator answered within 1.0 seconds"))
                    }
                    // With a working one beside it, every request is answered from the one that answers.
                    // Requests take turns at which generator they ask first: the first asks the slow one,
                    // which is cut off when its second passes; the second asks the working one first.
                    let both = try await TestPortal.make(
                        generators: PortalSetup.Generators(urls: [slow, url], renderTimeout: .seconds(1)),
                        clock: clock)
                    try await both.test { client in
                        async let first = client.get("/templates/customer?domain=\(domain)")
                        await backend.events.hanging(atLeast: 2)
                        clock.advance(by: .seconds(1))
                        #expect(try await first.status == .ok)
                        let second = try await client.get(
                            "/templates/customer?domain=\(try await TemplateRenderTests.domain(2))")
                        #expect(second.status == .ok)
                    }
                    #expect(backend.events.hungCount == 2, "the slow generator was asked twice, once by each portal")
                }
            }
        }

        @Test func aGeneratorWithATokenRefusesOthers() async throws {
            try await Self.withGenerator(token: "s3cret") { url, _ in
                let wrong = GeneratorClient(baseURLs: [url], token: "guess", clock: ManualClock())
                await #expect(throws: GeneratorClientError.self) {
                    _ = try await wrong.latest(report: "growth-overview")
                }
                let right = GeneratorClient(baseURLs: [url], token: "s3cret", clock: ManualClock())
                let version = try await right.latest(report: "growth-overview")
                #expect(version.files.contains("dashboard.html"))
                let html = try await right.file(
                    report: "growth-overview", version: version.name, name: "dashboard.html")
                #expect(String(decoding: html, as: UTF8.self).contains("<svg"))
            }
        }
    }
}
