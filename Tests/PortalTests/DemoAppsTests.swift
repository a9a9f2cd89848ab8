import AlmanacCore
import AlmanacTestSupport
import Delivery
import DemoApps
import DemoCompany
import Foundation
import GRDB
import Hummingbird
import Logging
import Portal
import Testing

extension RealSocketTests {
    /// What `almanac demo` runs beside its portal, each on a real socket: the experiment
    /// notebook and Datasette reached through the portal's `/x/{report}/`, the receiver of the
    /// demo's webhooks and tasks, and the live events that keep the demo's data fresh.
    @Suite(.timeLimit(.minutes(10))) struct DemoAppsTests {
        static let growth = identity("gina@larkspur.io", groups: ["growth"])
        static let support = identity("sid@larkspur.io", groups: ["support"])

        static var quiet: Logger {
            var logger = Logger(label: "demo-apps-test")
            logger.logLevel = .critical
            return logger
        }

        /// A portal that trusts loopback as its SSO proxy, with `backend`'s URL pointed at `port`.
        static func portal(backend: String, from original: String, port: Int) async throws -> TestPortal {
            try await TestPortal.make(
                auth: AuthConfiguration(trustedProxies: ["127.0.0.1"], allowAnonymousLoopback: false)
            ) { catalog in
                try CatalogFixture.edit(
                    catalog + "/backends/\(backend).yaml", replacing: "url: \(original)",
                    with: "url: http://127.0.0.1:\(port)/")
            }
        }

        @Test func theExperimentNotebookIsAReportAppThroughThePortal() async throws {
            let notebook = try ExperimentNotebook(warehouse: TestWarehouse.tinyDemo)
            let bound = BoundPort()
            let app = notebook.application(port: 0, logger: Self.quiet) { bound.set($0.localAddress?.port) }
            try await whileServing(app, port: bound) { port in
                let portal = try await Self.portal(
                    backend: "experiment-notebook", from: "http://127.0.0.1:8602/", port: port)
                try await portal.serve { client in
                    let index = try await client.get("/x/experiment-notebook/", headers: Self.growth)
                    #expect(index.status == .ok)
                    #expect(index.text.contains("Onboarding checklist"))
                    // Links carry the portal's prefix, so a click stays inside the frame.
                    #expect(index.text.contains("href=\"/x/experiment-notebook/experiments/onboarding-checklist\""))

                    let page = try await client.get(
                        "/x/experiment-notebook/experiments/onboarding-checklist?goal=activated&segment=country",
                        headers: Self.growth)
                    #expect(page.status == .ok)
                    for part in ["Result on activated", "Day by day", "Weekly looks", "By country", "<svg"] {
                        #expect(page.text.contains(part), "\(part)")
                    }
                    #expect(page.text.contains("<option value=\"country\" selected>"))
                    #expect(page.text.contains("action=\"/x/experiment-notebook/experiments/onboarding-checklist\""))

                    // Hostile input is escaped or ignored, never echoed into the page.
                    let hostile = try await client.get(
                        "/x/experiment-notebook/experiments/onboarding-checklist?segment=%3Cscript%3E&goal=%3Cb%3E",
                        headers: Self.growth)
                    #expect(hostile.status == .ok)
                    #expect(!hostile.text.contains("<script>") && !hostile.text.contains("<b>"))
                    #expect(hostile.text.contains("By platform"), "an unknown cut falls back to platform")
                    let missing = try await client.get(
                        "/x/experiment-notebook/experiments/%3Cimg%3E", headers: Self.growth)
                    #expect(missing.status == .notFound)
                    #expect(!missing.text.contains("<img>"))

                    // Only the report's audience reaches it, and each page read is a view.
                    let outsider = try await client.get("/x/experiment-notebook/", headers: Self.support)
                    #expect(outsider.status == .notFound || outsider.status == .forbidden)
                    await portal.environment.views.flush()
                    #expect(portal.environment.views.count(kind: "report", id: "experiment-notebook") >= 3)
                }
            }
        }

        @Test func datasetteServesOnlyTheSupportTeamsTablesThroughThePortal() async throws {
            let (port, datasette) = try Self.startDatasette()
            // SIGKILL: the test process ignores SIGTERM (its signal handling), and so would a
            // child started without ChildProcess's reset.
            defer { kill(datasette.processIdentifier, SIGKILL) }
            let portal = try await Self.portal(backend: "support-insights", from: "http://127.0.0.1:8601/", port: port)
            try await portal.serve { client in
                // Datasette starts in its own time: the proxy answers 502 until it listens.
                var index = try await client.get("/x/support-insights/", headers: Self.support)
                while index.status == .badGateway, datasette.isRunning {
                    try await Task.sleep(for: .milliseconds(100))
                    index = try await client.get("/x/support-insights/", headers: Self.support)
                }
                #expect(index.status == .ok, "\(index.status): \(index.text.prefix(300))")
                #expect(index.text.contains("Support insights"))
                let tickets = try await client.get(
                    "/x/support-insights/warehouse/support_tickets?queue=sync", headers: Self.support)
                #expect(tickets.status == .ok)
                let links = tickets.text.matches(of: /href="([^"]*)"/).map { String($0.output.1) }
                #expect(!links.isEmpty)
                for link in links where link.hasPrefix("/") {
                    #expect(link.hasPrefix("/x/support-insights/"), "\(link) leaves the portal")
                }
                #expect(!tickets.text.contains("127.0.0.1"), "no link names the backend's own address")
                let query = try await client.get(
                    "/x/support-insights/warehouse/customer_tickets?domain=globex.com", headers: Self.support)
                #expect(query.status == .ok, "\(query.text.prefix(300))")
                // The warehouse's other tables are not the support team's.
                for table in ["users", "billing_events", "mrr_monthly"] {
                    let denied = try await client.get("/x/support-insights/warehouse/\(table)", headers: Self.support)
                    #expect(denied.status == .forbidden, "\(table): \(denied.status)")
                }
                let sql = try await client.get(
                    "/x/support-insights/warehouse?sql=select+*+from+billing_events", headers: Self.support)
                #expect(sql.status != .ok || !sql.text.contains("mrr_delta_usd"))
            }
        }

        /// Datasette over the tiny demo warehouse as the demo starts it, on a free port.
        static func startDatasette() throws -> (Int, Process) {
            guard let executable = ChildProcess.locate("datasette") else {
                throw FixtureError("Datasette is needed: scripts/install-prerequisites installs it (.ci/run does)")
            }
            let port = try freePort()
            let process = Process()
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = ChildProcess.withDefaultSignals(
                executable,
                DemoApps.datasetteArguments(warehouse: TestWarehouse.tinyDemo, web: Repository.web, port: port))
            process.standardOutput = FileHandle.nullDevice
            process.standardError = FileHandle.nullDevice
            try process.run()
            return (port, process)
        }

        /// A port nothing listens on now (the kernel's choice for a socket bound to port 0).
        static func freePort() throws -> Int {
            let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
            defer { close(socket) }
            var address = sockaddr_in()
            address.sin_family = sa_family_t(AF_INET)
            address.sin_addr.s_addr = inet_addr("127.0.0.1")
            address.sin_port = 0
            var length = socklen_t(MemoryLayout<sockaddr_in>.size)
            let bound = withUnsafeMutablePointer(to: &address) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    bind(socket, $0, length) == 0 && getsockname(socket, $0, &length) == 0
                }
            }
            guard bound else { throw FixtureError("no free port") }
            return Int(UInt16(bigEndian: address.sin_port))
        }

        @Test func theReceiverTakesTheDemosWebhooksAndTasksAndListsThem() async throws {
            let log = DemoReceiver.Log()
            let bound = BoundPort()
            let app = DemoReceiver.application(port: 0, log: log, logger: Self.quiet) {
                bound.set($0.localAddress?.port)
            }
            try await whileServing(app, port: bound) { port in
                let sender = WebhookSender()
                try await sender.post(
                    #"{"text":"Errors spiked for <globex.com>"}"#, to: "http://127.0.0.1:\(port)/hooks/errors",
                    idempotencyKey: "a")
                try await sender.post(
                    #"{"data":{"name":"Call Initech about engagement","notes":"…"}}"#,
                    to: "http://127.0.0.1:\(port)/tasks", idempotencyKey: "b")
                do {
                    try await sender.post("{}", to: "http://127.0.0.1:\(port)/elsewhere", idempotencyKey: "c")
                    Issue.record("an unknown path must be refused")
                } catch {}
            }
            let received = await log.received
            #expect(received.map(\.kind) == ["task", "webhook"])
            #expect(received.map(\.title) == ["Call Initech about engagement", "Errors spiked for <globex.com>"])
            let page = DemoReceiver.page(received)
            #expect(page.contains("Errors spiked for &lt;globex.com&gt;") && !page.contains("<globex.com>"))
        }

        @Test func liveEventsReplayAWeekEarlierUpToNowOnce() async throws {
            let directory = try TemporaryDirectory(prefix: "almanac-live")
            let path = directory.file("warehouse.sqlite")
            try FileManager.default.copyItem(atPath: TestWarehouse.tinyDemo, toPath: path)
            // The history ends on its as-of day; the demo runs at 15:30 the day after.
            let now = ISO8601DateFormatter().date(from: "2026-11-26T15:30:00Z")!
            let live = LiveEvents(warehouse: path, logger: Self.quiet)
            let before = try Self.counts(path)
            let added = try await live.catchUp(until: now)
            let after = try Self.counts(path)
            #expect(added["events", default: 0] > 0)
            #expect(after.events == before.events + added["events", default: 0])
            #expect(after.errors == before.errors + added["error_logs", default: 0])
            #expect(after.newestEvent <= "2026-11-26 15:30:00" && after.newestEvent > "2026-11-26 12:00:00")
            // Exactly the same hours of a week earlier, with new ids and their own dates.
            let database = try DatabaseQueue(path: path)
            try await database.read { db in
                let replayed = try Int.fetchOne(
                    db, sql: "SELECT count(*) FROM events WHERE occurred_at > ?", arguments: [before.newestEvent])
                let source = try Int.fetchOne(
                    db,
                    sql: """
                        SELECT count(*) FROM events
                        WHERE occurred_at > ? AND occurred_at <= '2026-11-19 15:30:00'
                        """, arguments: [Self.minusWeek(before.newestEvent)])
                #expect(replayed == source)
                #expect(try Int.fetchOne(db, sql: "SELECT count(*) - count(DISTINCT event_id) FROM events") == 0)
                #expect(
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE event_date <> date(occurred_at)") == 0)
                #expect(try String.fetchOne(db, sql: "PRAGMA journal_mode") == "wal")
            }
            // A second pass at the same time adds nothing: nothing is counted twice.
            #expect(try await live.catchUp(until: now).values.reduce(0, +) == 0)
        }

        /// A demo stopped hard leaves the live events' write-ahead log beside the warehouse; the
        /// next write of the warehouse must not have it applied to the new file.
        @Test func aWarehouseWrittenAgainIgnoresTheOldOnesWriteAheadLog() async throws {
            let directory = try TemporaryDirectory(prefix: "almanac-live-wal")
            let path = directory.file("warehouse.sqlite")
            try FileManager.default.copyItem(atPath: TestWarehouse.tinyDemo, toPath: path)
            let now = ISO8601DateFormatter().date(from: "2026-11-26T15:30:00Z")!
            // The log as a killed demo leaves it: copied aside while open, put back after.
            let database = try DatabaseQueue(path: path)
            try await database.writeWithoutTransaction { db in
                try db.execute(sql: "PRAGMA journal_mode = WAL")
                try db.execute(sql: "PRAGMA wal_autocheckpoint = 0")
            }
            _ = try await LiveEvents(warehouse: path, logger: Self.quiet).catchUp(until: now)
            try await database.write { db in try db.execute(sql: "DELETE FROM events WHERE event_id % 2 = 0") }
            try FileManager.default.copyItem(atPath: path + "-wal", toPath: directory.file("kept-wal"))
            try database.close()
            try? FileManager.default.removeItem(atPath: path + "-wal")
            try FileManager.default.copyItem(atPath: directory.file("kept-wal"), toPath: path + "-wal")

            _ = try DemoCompany.write(
                to: path, options: DemoCompanyOptions(asOf: TestWarehouse.asOf.description, size: .tiny),
                progress: SilentProgress())
            let written = try DatabaseQueue(path: path)
            try await written.read { db in
                #expect(try String.fetchOne(db, sql: "PRAGMA integrity_check") == "ok")
                let even = try Int.fetchOne(db, sql: "SELECT count(*) FROM events WHERE event_id % 2 = 0") ?? 0
                #expect(even > 0)
            }
        }

        static func counts(_ path: String) throws -> (events: Int, errors: Int, newestEvent: String) {
            try DatabaseQueue(path: path).read { db in
                (
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM events") ?? 0,
                    try Int.fetchOne(db, sql: "SELECT count(*) FROM error_logs") ?? 0,
                    try String.fetchOne(db, sql: "SELECT max(occurred_at) FROM events") ?? ""
                )
            }
        }

        static func minusWeek(_ timestamp: String) -> String {
            let formatter = DateFormatter()
            formatter.locale = Locale(identifier: "en_US_POSIX")
            formatter.timeZone = TimeZone(identifier: "UTC")
            formatter.dateFormat = "yyyy-MM-dd HH:mm:ss"
            return formatter.string(from: formatter.date(from: timestamp)!.addingTimeInterval(-7 * 86_400))
        }
    }
}
