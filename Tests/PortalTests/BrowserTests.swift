import AlmanacCore
import AlmanacTestSupport
import Catalog
import Delivery
import DemoApps
import Foundation
import Hummingbird
import Portal
import Storage
import Testing

extension RealSocketTests {
    /// Headless Chromium renders the home page and a report page; screenshots are kept in
    /// `test-artifacts/` for people to look at.
    @Suite(.timeLimit(.minutes(10))) struct BrowserTests {
        static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }

        @Test func homeAndReportPagesRenderInChromium() async throws {
            let browser = try #require(
                Self.chromium,
                "headless Chromium is needed for the browser check: apt-get install chromium (.ci/run does)")
            let portal = try await TestPortal.make(dashboards: true)
            try await portal.serve { client in
                let port = try #require(client.port)
                try FileManager.default.createDirectory(atPath: Repository.artifacts, withIntermediateDirectories: true)
                let pages = [
                    ("home", "/", "Larkspur’s reporting portal"),
                    ("report", "/reports/growth-overview", "Growth overview"),
                    ("glossary", "/glossary/weekly_active_users", "Weekly active users"),
                    ("dashboard", "/reports/growth-overview", "Daily sign-ups"),
                ]
                for (name, path, title) in pages {
                    let url = "http://127.0.0.1:\(port)\(path)"
                    let dom = try await run(
                        browser, ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url])
                    #expect(dom.contains(title), "\(path) rendered in Chromium")
                    #expect(dom.contains("class=\"top\""))
                    let png = Repository.artifacts + "/\(name).png"
                    try? FileManager.default.removeItem(atPath: png)
                    _ = try await run(
                        browser,
                        [
                            "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                            "--window-size=1280,1600",
                            "--screenshot=\(png)", url,
                        ])
                    let size =
                        (try FileManager.default.attributesOfItem(atPath: png)[.size] as? NSNumber)?.intValue ?? 0
                    #expect(size > 20_000, "\(png) should be a real screenshot, got \(size) bytes")
                }
            }
        }

        /// The sign-up digest as a mail client shows it: the HTML part the outbox holds, rendered
        /// by Chromium; and the admin page that lists it.
        @Test func theDigestEmailRendersAndTheAdminPageListsIt() async throws {
            let browser = try #require(
                Self.chromium,
                "headless Chromium is needed for the browser check: apt-get install chromium (.ci/run does)")
            var portal = try await TestPortal.make(dashboards: true)
            let delivery = DeliveryService(
                catalog: portal.environment.catalog, state: portal.environment.state,
                warehouse: try #require(portal.environment.dashboards).warehouse, renderer: portal.environment.renderer,
                configuration: DeliveryConfiguration(
                    baseURL: "https://reports.larkspur.io", from: "almanac@larkspur.io",
                    mail: .folder(portal.directory.file("outbox"))),
                logger: portal.environment.logger, asOf: TestWarehouse.asOf, clock: portal.clock)
            portal.environment.delivery = delivery
            let plan = try await delivery.plan(
                job: "subscription/daily-signups", scheduledFor: Date(timeIntervalSince1970: 1_795_676_400), late: false
            )
            let payload = try #require(plan.deliveries.first { $0.status == .pending }?.payload)
            let message = try JSONDecoder().decode(MailMessage.self, from: Data(payload.utf8))
            try FileManager.default.createDirectory(atPath: Repository.artifacts, withIntermediateDirectories: true)
            let html = Repository.artifacts + "/digest-email.html"
            try #require(message.html).write(toFile: html, atomically: true, encoding: .utf8)
            // Mail clients run no scripts; the message has none (Chromium's --dump-dom needs them on).
            #expect(!(message.html ?? "").contains("<script"))
            let noScripts = ["--headless", "--no-sandbox", "--disable-gpu"]
            let dom = try await run(browser, noScripts + ["--dump-dom", "file://" + html])
            for needle in [
                "Daily sign-up email", "Sign-ups", "Invites sent", "By acquisition channel", "vs same day last week",
            ] {
                #expect(dom.contains(needle), "the e-mail shows \(needle)")
            }
            let png = Repository.artifacts + "/digest-email.png"
            try? FileManager.default.removeItem(atPath: png)
            _ = try await run(
                browser,
                noScripts + ["--hide-scrollbars", "--window-size=700,1300", "--screenshot=\(png)", "file://" + html])
            let size = (try FileManager.default.attributesOfItem(atPath: png)[.size] as? NSNumber)?.intValue ?? 0
            #expect(size > 20_000, "\(png) should be a real screenshot, got \(size) bytes")

            try await portal.environment.state.migrate()
            _ = try await delivery.run(
                job: "subscription/daily-signups", scheduledFor: Date(timeIntervalSince1970: 1_795_676_400), late: false
            )
            let running = portal
            try await running.serve { client in
                let port = try #require(client.port)
                let url = "http://127.0.0.1:\(port)/admin/deliveries"
                let page = try await run(browser, ["--headless", "--no-sandbox", "--disable-gpu", "--dump-dom", url])
                #expect(page.contains("subscription/daily-signups") && page.contains("chloe.dubois@larkspur.io"))
                let shot = Repository.artifacts + "/admin-deliveries.png"
                try? FileManager.default.removeItem(atPath: shot)
                _ = try await run(
                    browser,
                    [
                        "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1280,1400",
                        "--screenshot=\(shot)", url,
                    ])
                #expect(FileManager.default.fileExists(atPath: shot))
            }
        }

        /// The global search box as a keyboard user meets it, driven over the DevTools protocol
        /// by `Browser/suggestions.py`: type, ↓/↑ through suggestions, Escape, Enter.
        @Test func searchSuggestionsWorkFromTheKeyboard() async throws {
            let browser = try #require(
                Self.chromium,
                "headless Chromium is needed for the browser check: apt-get install chromium (.ci/run does)")
            let script = Repository.root + "/Tests/PortalTests/Browser/suggestions.py"
            let portal = try await TestPortal.make()
            try await portal.serve { client in
                let port = try #require(client.port)
                try FileManager.default.createDirectory(atPath: Repository.artifacts, withIntermediateDirectories: true)
                let png = Repository.artifacts + "/search-suggestions.png"
                let (status, report) = try await python(
                    script, ["--chromium", browser, "--url", "http://127.0.0.1:\(port)/", "--screenshot", png])
                #expect(status == 0, "\(report)")
                #expect(report.contains("ok   Enter opens the suggestion (/glossary/signups)"), "\(report)")
            }
        }

        /// An owner deprecates and restores a report through the page's forms in Chromium (the
        /// browser's own Origin and Sec-Fetch-Site pass the portal's check), and the same post
        /// from another origin changes nothing. Driven by `Browser/lifecycle.py`.
        @Test func anOwnerUsesTheLifecycleFormsAndOtherOriginsCannot() async throws {
            let browser = try #require(
                Self.chromium,
                "headless Chromium is needed for the browser check: apt-get install chromium (.ci/run does)")
            let script = Repository.root + "/Tests/PortalTests/Browser/lifecycle.py"
            let portal = try await TestPortal.make()
            try await portal.serve { client in
                let port = try #require(client.port)
                try FileManager.default.createDirectory(atPath: Repository.artifacts, withIntermediateDirectories: true)
                let (status, report) = try await python(
                    script,
                    [
                        "--chromium", browser, "--url", "http://127.0.0.1:\(port)", "--report", "activation-funnel",
                        "--screenshot", Repository.artifacts + "/lifecycle-deprecated.png",
                    ])
                #expect(status == 0, "\(report)")
                let history = try await portal.environment.state.lifecycleEvents(
                    kind: "report", id: "activation-funnel")
                #expect(history.prefix(2).map(\.action) == [.restored, .deprecated], "\(history.map(\.action))")
                #expect(!history.contains { $0.action == .retired }, "the cross-origin post changed nothing")
            }
        }

        /// An external report app's own script, in Chromium: its page is sandboxed into an
        /// opaque origin, so it can neither read the portal's cookies nor call the portal's API
        /// as the viewer; the report page frames it.
        @Test func anExternalReportsScriptCannotActAsThePortal() async throws {
            let browser = try #require(
                Self.chromium,
                "headless Chromium is needed for the browser check: apt-get install chromium (.ci/run does)")
            try await TestBackend.run { backendPort in
                let portal = try await TestPortal.make { catalog in
                    try CatalogFixture.edit(
                        catalog + "/backends/support-insights.yaml", replacing: "url: http://127.0.0.1:8601/",
                        with: "url: http://127.0.0.1:\(backendPort)/app/")
                }
                try await portal.serve { client in
                    let port = try #require(client.port)
                    let flags = ["--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=5000"]
                    let page = try await run(
                        browser, flags + ["--dump-dom", "http://127.0.0.1:\(port)/x/support-insights/"])
                    #expect(page.contains("Ticket volume"), "the app's page ran in Chromium")
                    #expect(page.contains("cookie: blocked (SecurityError)"), "\(page)")
                    #expect(page.contains("portal api: blocked (TypeError)"), "\(page)")
                    let report = try await run(
                        browser, flags + ["--dump-dom", "http://127.0.0.1:\(port)/reports/support-insights"])
                    #expect(report.contains("<iframe class=\"external-frame\" src=\"/x/support-insights/\""))
                    try FileManager.default.createDirectory(
                        atPath: Repository.artifacts, withIntermediateDirectories: true)
                    let png = Repository.artifacts + "/external-report.png"
                    _ = try await run(
                        browser,
                        flags + [
                            "--hide-scrollbars", "--window-size=1280,1100", "--screenshot=\(png)",
                            "http://127.0.0.1:\(port)/reports/support-insights",
                        ])
                }
            }
        }

        /// The demo's two report apps, the experiment notebook and the support team's Datasette,
        /// used inside their report pages' frames in Chromium: links, forms, pagination and
        /// facets work within the frame, and each report page opened is a view.
        @Test func theDemosReportAppsWorkInsideTheirFrames() async throws {
            let browser = try #require(
                Self.chromium,
                "headless Chromium is needed for the browser check: apt-get install chromium (.ci/run does)")
            let (datasettePort, datasette) = try DemoAppsTests.startDatasette()
            defer { kill(datasette.processIdentifier, SIGKILL) }
            let notebook = try ExperimentNotebook(warehouse: TestWarehouse.tinyDemo)
            let bound = BoundPort()
            let app = notebook.application(port: 0, logger: DemoAppsTests.quiet) { bound.set($0.localAddress?.port) }
            try await whileServing(app, port: bound) { notebookPort in
                let portal = try await TestPortal.make { catalog in
                    try CatalogFixture.edit(
                        catalog + "/backends/experiment-notebook.yaml", replacing: "url: http://127.0.0.1:8602/",
                        with: "url: http://127.0.0.1:\(notebookPort)/")
                    try CatalogFixture.edit(
                        catalog + "/backends/support-insights.yaml", replacing: "url: http://127.0.0.1:8601/",
                        with: "url: http://127.0.0.1:\(datasettePort)/")
                }
                try await portal.serve { client in
                    // Datasette starts in its own time: the proxy answers 502 until it listens.
                    while try await client.get("/x/support-insights/-/versions.json").status == .badGateway,
                        datasette.isRunning
                    {
                        try await Task.sleep(for: .milliseconds(100))
                    }
                    let port = try #require(client.port)
                    try FileManager.default.createDirectory(
                        atPath: Repository.artifacts, withIntermediateDirectories: true)
                    let (status, report) = try await python(
                        Repository.root + "/Tests/PortalTests/Browser/report_apps.py",
                        [
                            "--chromium", browser, "--url", "http://127.0.0.1:\(port)", "--screenshots",
                            Repository.artifacts,
                        ])
                    #expect(status == 0, "\(report)")
                    // Each report page was opened once: one view each. What the reader does inside the
                    // frame is that same visit (a page of the app opened on its own is a view).
                    await portal.environment.views.flush()
                    #expect(portal.environment.views.count(kind: "report", id: "experiment-notebook") == 1)
                    #expect(portal.environment.views.count(kind: "report", id: "support-insights") == 1)
                }
            }
        }

        /// Runs a browser script of `Browser/` and returns its exit status and everything it printed.
        func python(_ script: String, _ arguments: [String]) async throws -> (Int32, String) {
            let (status, output) = try await Self.capture(
                "/usr/bin/env", ["python3", script] + arguments, errors: true)
            return (status, output)
        }

        /// Runs `executable` and returns its standard output.
        func run(_ executable: String, _ arguments: [String]) async throws -> String {
            try await Self.capture(executable, arguments, errors: false).output
        }

        /// Runs a program to its end and returns its exit status and output. The waiting happens
        /// on a Dispatch thread, not on one of the few threads that run Swift concurrency: the
        /// browser asks the portal in this same process, whose handlers need those threads.
        static func capture(
            _ executable: String, _ arguments: [String], errors: Bool
        ) async throws -> (status: Int32, output: String) {
            let process = Process()
            process.executableURL = URL(fileURLWithPath: executable)
            process.arguments = arguments
            let output = Pipe()
            process.standardOutput = output
            process.standardError = errors ? output : FileHandle.nullDevice
            try process.run()
            let data = await offloaded {
                let data = output.fileHandleForReading.readDataToEndOfFile()
                process.waitUntilExit()
                return data
            }
            return (process.terminationStatus, String(decoding: data, as: UTF8.self))
        }
    }
}
